"""Did a run converge before it was judged?

A run's history holds the validation score that picks its best epoch (``val_<monitor>``, the
``monitor`` parameter: Jaccard unless a paper says otherwise). The run counts as *converged* when
that score is flat over the last :data:`WINDOW` of its epochs: the best value inside the window
beats the best value before it by at most :data:`BAND`. So a run whose best epoch lies before the
window has converged, and so has one whose last epochs creep up by less than the band (a poly
schedule's annealing); one still climbing by more than the band at its end has not. An early stop
(no epoch better by more than ``early_stopping_min_delta`` for ``patience`` epochs) passes by
construction once the window is no longer than the patience (and the patience at least 2) and that
delta no wider than the band (:func:`skinseg.train.patience_count`). Runs of fewer than
:data:`MIN_EPOCHS` epochs cannot show a plateau and count as not converged.
"""
from __future__ import annotations

import math

import pandas as pd

WINDOW = 0.2  # the last 20 % of the epochs run (at least one epoch)
BAND = 0.005  # validation Jaccard: about the epoch-to-epoch noise on ~150-170 validation images
MIN_EPOCHS = 3


def window_epochs(epochs: int, window: float = WINDOW) -> int:
    """How many final epochs form the window: ``ceil(window * epochs)``, at least 1 (6 -> 2, 24 -> 5)."""
    return max(1, math.ceil(window * epochs - 1e-9))


def run_convergence(history: pd.DataFrame, monitor: str = "jaccard", window: float = WINDOW,
                    band: float = BAND) -> dict:
    """For one run's ``history`` (one line per epoch with ``epoch`` and ``val_<monitor>``): ``epochs``
    run, ``best epoch``, ``window`` (epochs in it), ``gain in window`` (best inside minus best before;
    NaN under :data:`MIN_EPOCHS`) and ``converged`` (gain ≤ ``band``)."""
    col = f"val_{monitor}"
    if history is None or not len(history) or col not in history:
        return {"epochs": 0, "best epoch": float("nan"), "window": 0, "gain in window": float("nan"),
                "converged": False}
    scores = history[col].to_numpy(dtype=float)
    n, w = len(scores), window_epochs(len(scores), window)
    best_epoch = int(history["epoch"].iloc[int(scores.argmax())])
    if n < MIN_EPOCHS:
        return {"epochs": n, "best epoch": best_epoch, "window": w, "gain in window": float("nan"),
                "converged": False}
    gain = float(scores[-w:].max() - scores[:-w].max())
    return {"epochs": n, "best epoch": best_epoch, "window": w, "gain in window": gain,
            "converged": bool(gain <= band + 1e-12)}


def converged_runs(exp, runs, outcomes=(), window: float = WINDOW, band: float = BAND) -> tuple[int, int]:
    """(converged, all) over ``runs``; an evaluation-only run has no history of its own and is judged
    by its trained row's run of the same partition and seed, looked up in ``outcomes``."""
    trained = {(o.variant, o.partition, o.seed): o for o in outcomes}
    flags = []
    for o in runs:
        source = o.variant
        v = exp.spec.variant(o.variant)
        if v.eval_of:
            source = v.eval_of
            o = trained.get((v.eval_of, o.partition, o.seed), o)
        flags.append(run_convergence(o.history, exp.variant_params(source)["monitor"], window, band)["converged"])
    return sum(flags), len(flags)


def converged_cell(done: int, total: int) -> str:
    """The verdict table's cell: "yes (3/3 runs)", "no (1/3 runs)", or "" without runs."""
    if not total:
        return ""
    return f"{'yes' if done == total else 'no'} ({done}/{total} runs)"

"""How far a batch of long runs has come, and how long the rest takes at the pace measured so far.

A ``cpu-real`` run set (e.g. ASNet's 30 runs) is trained over several sessions, run by run; this
answers "what is done, what converged, what is half-trained, and how many hours are left" from the
run folders alone, training nothing (``reproduce/train_runs.py --status``).
"""
from __future__ import annotations

import pandas as pd

from skinseg.convergence import run_convergence
from skinseg.results import training_seconds
from skinseg.train import checkpoint_epochs

COLUMNS = ["row", "partition", "seed", "status", "epochs", "planned epochs", "converged", "best epoch",
           "training s"]


def run_progress(exp, plan=None) -> pd.DataFrame:
    """One line per planned run of Experiment ``exp`` (``plan``: those of its :meth:`Experiment.plan`
    to list, default all; in the plan's order) with :data:`COLUMNS`:
    ``status`` as :meth:`Experiment.run_status`; ``epochs`` run: a finished run's ``history.csv``
    lines, an unfinished run's epochs in its ``last.pt`` (what it resumes after: 0 without one, when
    it starts over, even with history lines written since), else 0 (an evaluation-only row trains
    none and plans none); ``converged``/``best epoch`` from :func:`run_convergence` for a finished
    trained run (else None/NaN); ``training s`` the finished run's recorded training seconds (else
    NaN). May write the split file the runs use (as :meth:`Experiment.run_status` does); trains nothing."""
    lines = []
    for v, part, seed in exp.plan() if plan is None else plan:
        status, rd = exp.run_status(v, part, seed), exp.run_dir(v, part, seed)
        planned = 0 if v.eval_of else int(exp.variant_params(v)["epochs"])
        epochs, converged, best, seconds = 0, None, float("nan"), float("nan")
        if status == "finished":
            history = rd.history()
            epochs, seconds = len(history), training_seconds(rd.path)
            if not v.eval_of:
                c = run_convergence(history, exp.variant_params(v)["monitor"])
                converged, best = c["converged"], c["best epoch"]
        elif status == "unfinished" and not v.eval_of:
            epochs = checkpoint_epochs(rd.checkpoint_path)
        lines.append([v.label, part, seed, status, epochs, planned, converged, best, seconds])
    return pd.DataFrame(lines, columns=COLUMNS)


def epochs_to_run(progress: pd.DataFrame) -> pd.Series:
    """Per run of ``progress`` (:func:`run_progress`) not finished: its planned epochs minus those an
    unfinished run has already run (an absent run, or one held by another config, starts over)."""
    todo = progress[progress.status != "finished"]
    ran = todo.epochs.where(todo.status == "unfinished", 0)  # what last.pt holds
    return (todo["planned epochs"] - ran).clip(lower=0)


def time_left(progress: pd.DataFrame) -> tuple[float, list[str]]:
    """Seconds of training left for the runs of ``progress`` (:func:`run_progress`) that are not
    finished: :func:`epochs_to_run` times the row's pace (training seconds over epochs, summed over
    the row's finished runs with a recorded time). An upper bound where early stopping ends runs
    sooner. Also returns the rows with epochs left but no measured pace (not in the sum)."""
    done = progress[(progress.status == "finished") & progress["training s"].notna() & (progress.epochs > 0)]
    pace = done.groupby("row")["training s"].sum() / done.groupby("row")["epochs"].sum()
    todo = epochs_to_run(progress)
    rows = progress.loc[todo.index, "row"]
    known = rows.isin(pace.index)
    left = float((todo[known] * rows[known].map(pace)).sum())
    unknown = list(dict.fromkeys(rows[~known & (todo > 0)]))
    return left, unknown


def progress_summary(progress: pd.DataFrame) -> str:
    """One paragraph: runs finished (converged or not), unfinished, absent, held by another config,
    and the time left (:func:`time_left`)."""
    n = progress.status.value_counts()
    trained = progress[(progress.status == "finished") & progress.converged.notna()]
    conv = int(trained.converged.astype(bool).sum())
    parts = [f"{n.get('finished', 0)} of {len(progress)} runs finished ({conv} of {len(trained)} trained ones "
             "converged)", f"{n.get('unfinished', 0)} unfinished (resume from their last.pt, if any)",
             f"{n.get('absent', 0)} absent"]
    if n.get("other config", 0):
        parts.append(f"{n['other config']} folders held by another config (--overwrite, or another run_set)")
    text = "; ".join(parts) + "."
    todo = epochs_to_run(progress)
    if todo.sum():
        left, unknown = time_left(progress)
        text += f" Left: {int(todo.sum())} epochs"
        if len(unknown) < progress.loc[todo[todo > 0].index, "row"].nunique():  # some row with epochs left has a pace
            text += (f", about {left / 3600:.1f} h of training ({left:.0f} s) at each row's pace so far (at most: "
                     "early stops end sooner)")
        text += f"; no pace measured yet for {', '.join(unknown)}." if unknown else "."
    return text

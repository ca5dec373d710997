"""The one-protocol comparison of the summary notebook (06): per model its runs, Jaccard, costs and
convergence (:func:`one_protocol_table`), the same at every epoch budget with finished runs
(:func:`budget_table`), and the protocol's one-line description (:func:`protocol_note`); and two rows'
paired runs at whichever budget holds them (:func:`paired_at_a_budget`)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from skinseg import tables
from skinseg.convergence import converged_cell, converged_runs
from skinseg.results import metric_value, training_cpu_minutes, training_seconds


def _median_of_recorded(values) -> float:
    """Median over the runs that recorded the figure (NaN marks one that did not); NaN when none did."""
    return float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan")


def one_protocol_table(exp, outcomes) -> pd.DataFrame:
    """Per model of the one-protocol comparison: parameters, forward GFLOPs per image at the protocol's
    input size, finished and planned runs, per-image mean Jaccard and thresholded Jaccard at
    original resolution (mean ± sd over seeds, and the mean as a number; empty for a model with no
    finished run, which is listed all the same), and the training minutes per run, the median over
    its runs (wall time of the epochs on the run's device, from its provenance:
    :func:`skinseg.results.training_seconds`; a run that shared the CPU with other work or was paused
    took longer than alone, and the median keeps one such run from setting the figure) and, for runs on
    a CPU, the CPU-minutes (:func:`skinseg.results.training_cpu_minutes`: the process's CPU time where
    recorded, else wall minutes times threads; empty for runs with neither), median likewise;
    ``converged``: how many of its runs converged
    (:mod:`skinseg.convergence`)."""
    import torch

    from skinseg.bench import forward_flops
    from skinseg.models import build_model

    h, w = exp.size
    rows = []
    for v in exp.variants():
        model = build_model(v.model, **v.model_kwargs).eval()
        gflops = forward_flops(model, torch.zeros(1, 3, h, w)) / 1e9
        rows.append({"model": v.label, "parameters": sum(p.numel() for p in model.parameters()), "GFLOPs": gflops,
                     **_model_runs(exp, v, outcomes)})
    return pd.DataFrame(rows, columns=["model", "parameters", "GFLOPs", *_RUN_COLUMNS])


_RUN_COLUMNS = ("runs", "planned runs", "jaccard", "jaccard mean", "threshold_jaccard", "threshold_jaccard mean",
                "training minutes per run", "training CPU-minutes per run", "converged")


def _model_runs(exp, v, outcomes) -> dict:
    """The :data:`_RUN_COLUMNS` of variant ``v`` over its finished runs in ``outcomes`` (see
    :func:`one_protocol_table`)."""
    mine = [o for o in outcomes if o.variant == v.label]
    line = {"runs": len(mine), "planned runs": len(exp.partitions(v)) * len(exp.seeds(v))}
    for metric in ("jaccard", "threshold_jaccard"):
        vals = [metric_value(o.metrics, metric) for o in mine]
        line[metric] = tables.mean_sd(vals) if vals else ""
        line[f"{metric} mean"] = float(np.mean(vals)) if vals else float("nan")
    line["training minutes per run"] = _median_of_recorded([training_seconds(o.run.path) for o in mine]) / 60
    line["training CPU-minutes per run"] = _median_of_recorded([training_cpu_minutes(o.run.path) for o in mine])
    line["converged"] = converged_cell(*converged_runs(exp, mine, outcomes))
    return line


def run_sets(exp) -> list[tuple[str, int]]:
    """Every ``(run_set, epochs)`` of the run folders of ``exp``'s paper under its profile: the paper
    folder's own runs (run_set ``""``) and each run_set folder beside them (e.g. ``e48``), with the
    epochs each run's ``config.json`` names (finished or not; a folder of runs at several budgets gives
    one pair per budget), sorted by epochs, then run_set. Reads, never writes."""
    import json

    from skinseg.paths import display

    root = exp.results_root
    slugs = {v.slug for v in exp.spec.variants}
    found = set()
    for config in root.glob("**/config.json"):
        parts = config.relative_to(root).parts  # [run_set/]variant/partition/seed<k>/config.json
        if len(parts) not in (4, 5) or parts[-4] not in slugs:
            continue  # not a run folder (its depth tells the run_set apart, even one named like a variant)
        try:
            epochs = int(json.loads(config.read_text())["epochs"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{display(config)}: not a run's config ({err!r}); delete the folder or re-run it "
                             "(train_runs.py --overwrite)") from err
        found.add((parts[0] if len(parts) == 5 else "", epochs))
    return sorted(found, key=lambda pair: (pair[1], pair[0]))


def _finished_at(exp, run_set: str, epochs: int, **params):
    """``exp`` at another budget (``run_set``, ``epochs``; ``params`` override more) and its finished
    runs there, read, never trained or deleted (whatever ``exp``'s ``train_missing`` and ``overwrite``):
    ``(experiment, outcomes)``."""
    import contextlib
    import io

    from skinseg.experiment import Experiment

    budget = Experiment({**exp.params, "epochs": epochs, "run_set": run_set, "train_missing": False,
                         "overwrite": False, **params}, exp.spec)  # overwrite would delete a finished run
    with contextlib.redirect_stdout(io.StringIO()):  # a "reusing <folder>" line per run says nothing here
        return budget, budget.run_all(allow_none=True)


def paired_at_a_budget(exp, outcomes, a: str, b: str) -> tuple[list, str, int]:
    """The finished runs of rows ``a`` and ``b`` at one budget where they share a partition and seed:
    ``outcomes`` (``exp``'s own budget) where they do, else the budget of :func:`run_sets` with the most
    epochs where they do, its runs read with every other parameter equal to ``exp``'s (nothing trained
    or deleted). For a row run at one budget only because it is the same training as another at any
    budget (SLSDeep's as-published EPE, which passes no gradient: ``audit.identical_runs``). Returns
    ``(outcomes of a and b, run_set, epochs)``; LookupError naming the rows and the budgets searched
    when none holds such a pair."""
    def pairs(found):
        try:
            return [o for _, oa, ob in tables.paired_runs(found, a, b) for o in (oa, ob)]
        except KeyError:
            return []

    own = pairs(outcomes)
    if own:
        return own, exp.params["run_set"], exp.params["epochs"]
    searched = run_sets(exp)
    for run_set, epochs in sorted(searched, key=lambda pair: -pair[1]):
        _, found = _finished_at(exp, run_set, epochs, variants=f"{a},{b}")
        if there := pairs(found):
            return there, run_set, epochs
    budgets = ", ".join(f"{e} epochs ({r or 'the paper folder'})" for r, e in searched) or "none"
    raise LookupError(f"no finished runs of {a!r} and {b!r} share a partition and seed at any budget of "
                      f"{exp.spec.key} under profile {exp.params['profile']} (searched: {budgets}); train both "
                      f"at one budget (python reproduce/train_runs.py --notebook {exp.spec.notebook[:2]} "
                      f"--variants '{a},{b}')")


def budget_table(exp) -> pd.DataFrame:
    """``exp``'s models at every epoch budget with finished runs under its profile (:func:`run_sets`):
    per model and ``(run_set, epochs)``, the columns of :func:`one_protocol_table` but its costs of one
    forward pass and its planned runs (the profile plans one budget; a probe at another may hold one
    seed on purpose), over the finished runs of that budget whose every other setting equals ``exp``'s
    (a run of other settings is not counted). One line per model and ``(run_set, epochs)`` with a
    finished run, each model's budgets together, fewest epochs first; ``run_set`` names the folder
    (empty: the paper folder's own). Nothing is trained or deleted, whatever ``exp``'s
    ``overwrite``."""
    lines = []
    for run_set, epochs in run_sets(exp):
        budget, outcomes = _finished_at(exp, run_set, epochs)
        for order, v in enumerate(budget.variants()):
            line = _model_runs(budget, v, outcomes)
            if line["runs"]:
                lines.append({"model": v.label, "epochs": epochs, "run_set": run_set, **line, "_order": order})
    columns = [c for c in _RUN_COLUMNS if c != "planned runs"]
    table = pd.DataFrame(lines, columns=["model", "epochs", "run_set", *columns, "_order"])
    return table.sort_values(["_order", "epochs", "run_set"], kind="stable").drop(columns="_order").reset_index(drop=True)


def protocol_note(exp, one: pd.DataFrame) -> str:
    """One sentence for ``summary.md``: the one-protocol comparison's setup (data, input size, epochs,
    batch, seeds) and, where runs are missing, which models lack how many (pending or not run: the
    profile says which; :func:`budget_table` shows their runs at other budgets)."""
    p = exp.params
    seeds = {v.label: len(exp.seeds(v)) for v in exp.variants()}
    few = sorted({k for k, n in seeds.items() if n < max(seeds.values())})
    data = exp.data()
    split = data.counts().iloc[0]
    text = (f"Protocol: {data.label}; {split['train']:,} images train, {split['val']:,} validate (they select the best "
            f"epoch), {split['test']:,} test; {p['image_height']}×{p['image_width']} input, "
            f"{tables.counted(p['epochs'], 'epoch')}, batch {p['batch_size']}, {p['loss']} loss, {p['optimizer']} lr {p['lr']:g} "
            f"({p['lr_schedule']}), augmentation {p['augmentation']}, {p['precision']}"
            f"{' + channels_last' if p['channels_last'] else ''} on {p['device']}; "
            f"{tables.counted(max(seeds.values()), 'seed')} per model"
            + (f" ({', '.join(few)}: {tables.counted(min(seeds.values()), 'seed')})" if few else "") + ".")
    short = one[one["runs"] < one["planned runs"]]
    if len(short):
        text += " Runs missing at this budget: " + ", ".join(
            f"{m} {k} of {n}" for m, k, n in zip(short["model"], short["runs"], short["planned runs"])) + \
            " finished; a model's mean ± sd is over its finished runs, and its runs at other budgets are in the " \
            "budget table."
    return text

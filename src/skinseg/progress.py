"""How far a batch of long runs has come, and how long the rest takes at the pace measured so far.

A ``cpu-real`` run set (e.g. ASNet's 30 runs) is trained over several sessions, run by run; this
answers "what is done, what converged, what is half-trained, and how many hours are left" from the
run folders alone, training nothing (``reproduce/train_runs.py --status``).
"""
from __future__ import annotations

import pandas as pd

from skinseg.convergence import run_convergence
from skinseg.results import read_provenance, training_seconds
from skinseg.train import checkpoint_summary

COLUMNS = ["row", "partition", "seed", "status", "epochs", "planned epochs", "converged", "best epoch",
           "training s", "cpu"]


def run_progress(exp, plan=None) -> pd.DataFrame:
    """One line per planned run of Experiment ``exp`` (``plan``: those of its :meth:`Experiment.plan`
    to list, default all; in the plan's order) with :data:`COLUMNS`:
    ``status`` as :meth:`Experiment.run_status`; ``epochs`` run: a finished run's ``history.csv``
    lines, an unfinished run's epochs in its ``last.pt`` (what it resumes after: 0 without one, when
    it starts over, even with history lines written since; a run stopped in another clone has only its
    ``last.pt`` in the user's cache), else 0 (an evaluation-only row trains none and plans none);
    ``converged``/``best epoch`` from :func:`run_convergence` for a finished trained run (else
    None/NaN); ``training s`` the finished run's recorded training seconds, or the unfinished run's
    so far (its ``last.pt``'s; else NaN); ``cpu`` where that time was spent (the finished run's
    ``provenance.json``; the CPU of the checkpoint's last part; None: not recorded). May write the
    split file the runs use (as :meth:`Experiment.run_status` does); trains nothing."""
    lines = []
    for v, part, seed in exp.plan() if plan is None else plan:
        status, rd = exp.run_status(v, part, seed), exp.run_dir(v, part, seed)
        planned = 0 if v.eval_of else int(exp.variant_params(v)["epochs"])
        epochs, converged, best, seconds, cpu = 0, None, float("nan"), float("nan"), None
        if status == "finished":
            history = rd.history()
            epochs, seconds = len(history), training_seconds(rd.path)
            cpu = read_provenance(rd.path).get("cpu")
            if not v.eval_of:
                c = run_convergence(history, exp.variant_params(v)["monitor"])
                converged, best = c["converged"], c["best epoch"]
        elif status == "unfinished" and not v.eval_of:
            ck = checkpoint_summary(rd.checkpoint_path)
            epochs, seconds, cpu = ck["epochs"], ck["train_seconds"], ck["cpu"]
        lines.append([v.label, part, seed, status, epochs, planned, converged, best, seconds, cpu])
    return pd.DataFrame(lines, columns=COLUMNS)


def plan_progress(exp, plan=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``plan``'s lines of :func:`run_progress` (default: all of ``exp``'s runs) and all of ``exp``'s,
    each run read once (an unfinished run's ``last.pt`` is loaded): the second is ``paced_by`` for
    :func:`time_left` and the others, so a row's seeds outside ``plan`` set its pace too."""
    everyone = run_progress(exp)
    if plan is None:
        return everyone, everyone
    keys = {(v.label, part, seed) for v, part, seed in plan}
    listed = [(r.row, r.partition, r.seed) in keys for r in everyone.itertuples()]
    return everyone[listed].reset_index(drop=True), everyone


def _paced_by(progress: pd.DataFrame, paced_by: pd.DataFrame | None) -> pd.DataFrame:
    return progress if paced_by is None else paced_by


def epochs_to_run(progress: pd.DataFrame) -> pd.Series:
    """Per run of ``progress`` (:func:`run_progress`) not finished: its planned epochs minus those an
    unfinished run has already run (an absent run, or one held by another config, starts over)."""
    todo = progress[progress.status != "finished"]
    ran = todo.epochs.where(todo.status == "unfinished", 0)  # what last.pt holds
    return (todo["planned epochs"] - ran).clip(lower=0)


def row_pace(progress: pd.DataFrame, cpu: str | None = None) -> pd.DataFrame:
    """Training seconds per epoch of each row of ``progress`` and where that pace was measured
    (columns ``pace``, ``source``). With ``cpu`` (this machine's :func:`skinseg.cpuinfo.cpu_name`),
    a row's finished runs on that CPU, else its unfinished runs' epochs so far on it (or on a CPU their
    checkpoint does not name: written before that record), else its finished runs on other CPUs
    ("another CPU": the CPU sets the pace, bf16 above all); without ``cpu``, every finished run. A row with none of these has no line."""
    timed = progress[progress["training s"].notna() & (progress.epochs > 0)]
    done = timed[timed.status == "finished"]
    unfinished = timed[timed.status == "unfinished"]
    sources = [(done, "all runs")] if cpu is None else [
        (done[done.cpu == cpu], "this CPU"), (unfinished[unfinished.cpu == cpu], "this CPU, the unfinished runs so far"),
        (unfinished[unfinished.cpu.isna()], "the unfinished runs so far, CPU not recorded"), (done, "another CPU")]
    out = {}
    for runs, source in sources:
        pace = runs.groupby("row")["training s"].sum() / runs.groupby("row")["epochs"].sum()
        for row, value in pace.items():
            out.setdefault(row, (value, source))
    return pd.DataFrame.from_dict(out, orient="index", columns=["pace", "source"])


def time_left(progress: pd.DataFrame, cpu: str | None = None, paced_by: pd.DataFrame | None = None
              ) -> tuple[float, list[str]]:
    """Seconds of training left for the runs of ``progress`` (:func:`run_progress`) that are not
    finished: :func:`epochs_to_run` times the row's pace (:func:`row_pace`, on ``cpu`` where given, over
    the runs of ``paced_by``: default ``progress``; give the whole plan's lines where ``progress`` lists
    some seeds of it, so a row's other seeds set its pace). An upper bound where early stopping ends
    runs sooner. Also returns the rows with epochs left but no measured pace (not in the sum)."""
    pace = row_pace(_paced_by(progress, paced_by), cpu)["pace"]
    todo = epochs_to_run(progress)
    rows = progress.loc[todo.index, "row"]
    known = rows.isin(pace.index)
    left = float((todo[known] * rows[known].map(pace)).sum())
    unknown = list(dict.fromkeys(rows[~known & (todo > 0)]))
    return left, unknown


def hours_left(progress: pd.DataFrame, cpu: str | None = None, paced_by: pd.DataFrame | None = None) -> pd.Series:
    """Per run of ``progress``: hours of training left at its row's pace (:func:`row_pace` over
    ``paced_by``'s runs, as in :func:`time_left`; NaN without one; 0 for a finished run)."""
    pace = row_pace(_paced_by(progress, paced_by), cpu)["pace"]
    todo = epochs_to_run(progress).reindex(progress.index, fill_value=0)
    return todo * progress.row.map(pace) / 3600


def progress_summary(progress: pd.DataFrame, cpu: str | None = None, paced_by: pd.DataFrame | None = None) -> str:
    """One paragraph: runs finished (converged or not), unfinished, absent, held by another config,
    and the time left (:func:`time_left`, at the pace on ``cpu`` where given, set by ``paced_by``'s runs)."""
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
        left, unknown = time_left(progress, cpu, paced_by)
        text += f" Left: {int(todo.sum())} epochs"
        if len(unknown) < progress.loc[todo[todo > 0].index, "row"].nunique():  # some row with epochs left has a pace
            where = "" if cpu is None else f" on {cpu}"
            text += (f", about {left / 3600:.1f} h of training ({left:.0f} s){where} at each row's pace so far (at "
                     "most: early stops end sooner)")
            if cpu is not None:
                other = row_pace(_paced_by(progress, paced_by), cpu).query("source == 'another CPU'").index
                other = [r for r in other if r in set(progress.loc[todo[todo > 0].index, "row"])]
                if other:
                    text += f"; {', '.join(other)}: paced on another CPU (none of its runs ran on this one)"
        text += f"; no pace measured yet for {', '.join(unknown)}." if unknown else "."
    return text


def training_ahead(exp, plan=None) -> tuple[list[str], float, list[str]]:
    """What training ``exp``'s planned runs (``plan``: a part of them) would take: the unfinished
    ones (``row [partition, seed]: N epochs``), the hours at each row's pace on this CPU
    (:func:`time_left`, paced by all of ``exp``'s runs: the seeds outside ``plan`` too) and the rows
    without a measured pace. Nothing on synthetic data (seconds of training)."""
    from skinseg.cpuinfo import cpu_name

    if exp.params["data_root"] == "synthetic":
        return [], 0.0, []
    progress, everyone = plan_progress(exp, plan)
    todo = epochs_to_run(progress)
    todo = todo[todo > 0]
    if todo.empty:
        return [], 0.0, []
    lines = [f"{r.row} [{r.partition}, seed {r.seed}]: {int(todo[i])} epochs" for i, r in progress.loc[todo.index].iterrows()]
    seconds, unknown = time_left(progress, cpu_name(), everyone)
    return lines, seconds / 3600, unknown


def confirm_training(ahead: list[tuple[str, list[str], float, list[str]]], interactive: bool | None = None) -> None:
    """Before hours of training start unasked: print what would be trained (``ahead``: one ``(name, runs,
    hours, rows without a pace)`` per notebook, from :func:`training_ahead`) and for how long on this CPU,
    then ask on a terminal, or raise SystemExit naming ``--yes`` (and ``--set train_missing=false``, which
    renders from the finished runs alone). Nothing to train: returns at once."""
    import sys

    ahead = [a for a in ahead if a[1]]
    if not ahead:
        return
    print("This would train:")
    for name, lines, hours, unknown in ahead:
        later = ", whose pace is not measured yet" if unknown else ""
        pace = (f"about {hours:.1f} h of training on this CPU" + (f" plus {', '.join(unknown)}{later}" if unknown else "")
                if hours else f"the pace of {', '.join(unknown)} is not measured yet")
        print(f"  {name}: {len(lines)} runs, {pace}")
        for line in lines:
            print(f"    {line}")
    if sys.stdin.isatty() if interactive is None else interactive:
        if input("Train them? [y/N] ").strip().lower() in ("y", "yes"):
            return
        raise SystemExit("stopped: nothing trained")
    raise SystemExit("error: not interactive: pass --yes to train them (or, for notebooks, --set train_missing=false "
                     "to render them from the finished runs alone)")

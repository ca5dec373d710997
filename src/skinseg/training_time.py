"""What the finished runs of a profile spent training, by the processor they trained on.

A run stopped at a wall-clock limit may resume on another machine, so one run's epochs can fall on
several processors. Its provenance names where epoch 1 ran (``started_on``) and each resume
(``resumes``: ``after_epoch``, ``cpu``, ``date``; :func:`skinseg.train.fit`); its time is split
between those stretches in proportion to their epochs (the epochs of one run cost alike on one
processor; across processors they do not, so a mixed run's split is an estimate, said in the table).
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from skinseg.results import read_provenance, training_cpu_minutes_of, training_seconds_of

NOT_RECORDED = "a CPU (model not recorded)"

COLUMNS = ["processor", "runs", "epochs", "training hours", "CPU-hours", "split by epochs", "untimed runs"]


def processor_of(prov: dict) -> str:
    """The processor a run's provenance ``prov`` names: its GPU where it had one, else its CPU model;
    for runs from before provenance named the CPU model, :data:`NOT_RECORDED` on a CPU, else
    ``"not recorded"``."""
    return prov.get("gpu") or prov.get("cpu") or (NOT_RECORDED if prov.get("device") == "cpu" else "not recorded")


def stretches(prov: dict, epochs: int) -> list[tuple[str, int]]:
    """``(processor, epochs)`` for each stretch of one run's ``epochs`` between resumes, from its
    provenance ``prov``; one stretch where the run never resumed or its provenance predates the
    record (then on :func:`processor_of` the run). Stretches of no epoch (a
    resume of a finished checkpoint) are left out.

    >>> stretches({"started_on": {"cpu": "A"}, "resumes": [{"after_epoch": 7, "cpu": "B"}]}, 48)
    [('A', 7), ('B', 41)]
    """
    here = processor_of(prov)
    first = (prov.get("started_on") or {}).get("cpu") or here
    bounds = [(0, first)] + [(int(r["after_epoch"]), r.get("cpu") or here) for r in prov.get("resumes") or []]
    ends = [b for b, _ in bounds[1:]] + [epochs]
    return [(name, min(end, epochs) - start) for (start, name), end in zip(bounds, ends) if end > start]


def by_processor(results_root) -> pd.DataFrame:
    """One row per processor over every finished trained run under ``results_root`` (a run folder
    holds ``metrics.csv`` and a ``provenance.json`` with its training time; evaluation-only rows
    train nothing and are left out): *runs* with any epoch on it, *epochs*, *training hours* (wall
    time of the epochs), *CPU-hours* (the CPU time of those epochs, as
    :func:`skinseg.results.training_cpu_minutes` gives it; NaN on a GPU), and *split by epochs*:
    how many of its runs also ran elsewhere, whose time is divided by epochs; *untimed runs*: those
    whose provenance records no training time (made before that record, and resumed), counted in
    *runs* and *epochs* but not in the hours. Sorted by training
    hours, largest first; empty (with :data:`COLUMNS`) where no run is finished."""
    rows = []
    for metrics in sorted(Path(results_root).rglob("metrics.csv")):
        run = metrics.parent
        prov, history = read_provenance(run), run / "history.csv"
        if prov.get("train_seconds", 0) is None or not history.is_file():
            continue  # evaluation-only: its trained row's time is counted once, there
        with history.open() as f:
            epochs = sum(1 for _ in f) - 1  # rows under the header: the epochs it trained
        if epochs < 1:
            continue
        parts = stretches(prov, epochs)
        wall, cpu = training_seconds_of(prov) / 3600, training_cpu_minutes_of(prov) / 60
        for name, n in parts:
            share = n / epochs
            rows.append({"processor": name, "run": str(run), "epochs": n, "training hours": wall * share,
                         "CPU-hours": cpu * share, "mixed": len({p for p, _ in parts}) > 1,
                         "untimed": math.isnan(wall)})
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    df = pd.DataFrame(rows)
    out = df.groupby("processor").agg(**{
        "runs": ("run", "nunique"), "epochs": ("epochs", "sum"),
        # min_count: a sum over runs none of which recorded its time is unknown, not 0
        "training hours": ("training hours", lambda s: s.sum(min_count=1)),
        "CPU-hours": ("CPU-hours", lambda s: s.sum(min_count=1)),
        "split by epochs": ("mixed", "sum"), "untimed runs": ("untimed", "sum")}).reset_index()
    return out.sort_values("training hours", ascending=False, ignore_index=True)[COLUMNS]

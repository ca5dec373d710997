"""Training a paper's planned runs outside its notebook (``reproduce/train_runs.py``): one run at a
time in this process, or each run as a task on a Ray cluster (``--executor ray``).

Either way a run is :meth:`Experiment.run` (trained, resumed from its checkpoint, or reused), then,
for a row with an adaptive scale module, the module's figures measured on its checkpoint and kept in
its folder (:func:`train_one`). What lands goes to ``on_landed`` in the caller's process, where the
run folder is committed.

On Ray (:func:`run_on_ray`) each planned run that is not finished becomes one task asking for
``gpus`` GPUs (Ray then sets ``CUDA_VISIBLE_DEVICES``, so ``device: cuda`` is the task's own GPU) or,
on CPUs, ``cpus`` CPUs (and as many torch threads). Every node must see the same results folder and
checkpoint folder: a task that fails, or whose node is lost (preempted), is retried up to
``retries`` times and resumes from its ``last.pt`` as a run stopped at a wall-clock limit does. An
evaluation-only row waits for its trained row's task. A config clash (another config holds the
run's folder) is not retried: it is reported, as is a task that failed every try.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable

from skinseg.audit import asm_rows, run_asm_activity
from skinseg.experiment import Experiment, Outcome
from skinseg.paths import CHECKPOINTS_ENV, checkpoint_root
from skinseg.train import BATCH_ENV, StaleCheckpointError

RunKey = tuple  # (row label, partition, seed)


@dataclass
class Landed:
    """What one planned run gave: its outcome, or why it could not run (``refused``: another config holds
    its place; ``error``: it failed every try); for a row with an adaptive scale module, the module's
    figures (``asm``) or why they were not kept (``asm_error``)."""
    key: RunKey
    outcome: Outcome | None = None
    seconds: float = 0.0
    asm: dict | None = None
    asm_error: str = ""
    refused: str = ""
    error: str = ""
    measured_asm: bool = field(default=False)

    @property
    def name(self) -> str:
        label, part, seed = self.key
        return f"{label} [{part}, seed {seed}]"


def measured_rows(exp: Experiment) -> set[str]:
    """Trained rows whose runs get their adaptive scale module's figures measured as they land (those
    of :func:`skinseg.audit.asm_rows`, or the trained rows they score): measured with the trained run,
    so the file goes into that row's folder and commit, never into another row's."""
    return {exp.spec.trained(label).label for label in asm_rows(exp)}


def train_one(exp: Experiment, key: RunKey, measure_asm: bool) -> Landed:
    """Run one planned run (:meth:`Experiment.run`) and, when ``measure_asm`` and it did not merely reuse
    a finished run, measure its adaptive scale module (a failed measurement is reported, never raised:
    the run itself is done). A config clash comes back as ``refused``."""
    label, part, seed = key
    t = time.time()
    try:
        o = exp.run(label, part, seed)
    except (FileExistsError, StaleCheckpointError) as e:  # another config holds the place: not worth a retry
        return Landed(key, refused=str(e), seconds=time.time() - t)
    landed = Landed(key, o, time.time() - t)
    if measure_asm and o.status != "reuse":
        landed.measured_asm = True
        try:
            landed.asm = run_asm_activity(exp, label, part, seed)
        except Exception as e:  # noqa: BLE001 - reported by the caller, which goes on with the batch
            landed.asm_error = f"{type(e).__name__}: {e}"
        else:
            landed.asm_error = "" if landed.asm else "no finished run or checkpoint to measure"
    return landed


def run_serial(exp: Experiment, plan: list, on_landed: Callable[[Landed], None]) -> None:
    """Every planned run in this process, in plan order (trained rows before the rows that score them)."""
    measured = measured_rows(exp)
    for v, part, seed in plan:
        on_landed(train_one(exp, (v.label, part, seed), v.label in measured))


def ray_task(params: dict, paper: str, key: RunKey, measure_asm: bool, threads: int, checkpoints: str | None,
             *after) -> Landed:
    """One Ray task: :func:`train_one` on a fresh :class:`Experiment` of ``params`` in the worker's process.
    ``threads``: the CPUs the task asked for; ``checkpoints``: the driver's checkpoint folder for
    ``checkpoint_dir: user-cache`` (every node must use the same); ``after``: the trained row's
    :class:`Landed` an evaluation-only row waits for."""
    import torch

    torch.set_num_threads(threads)  # the CPUs Ray reserved for it (for a GPU run: loading and scoring)
    os.environ[BATCH_ENV] = "1"  # a line per epoch on the worker's stderr, which Ray shows in the driver's log
    if checkpoints:
        os.environ[CHECKPOINTS_ENV] = checkpoints
    for dep in after:
        if dep.outcome is None:  # its trained run was refused: nothing to score
            return Landed(key, refused=f"its trained run {dep.name} did not run ({dep.refused or dep.error})")
    return train_one(Experiment(params, paper), key, measure_asm)


def _slots(ray, gpus: float, cpus: float) -> int:
    """How many tasks of this size the cluster holds at once; a ValueError where it holds none (a GPU run
    on a cluster without GPUs would wait for ever)."""
    kind, each = ("GPU", gpus) if gpus else ("CPU", cpus)
    have = ray.cluster_resources().get(kind, 0)
    if have < each:
        raise ValueError(f"the Ray cluster has {have:g} {kind}s, and each run asks for {each:g}: give "
                         f"--{kind.lower()}s-per-run that fits, or set device: cpu for a cluster without GPUs")
    return int(have / each)


def eta_line(done: int, failed: int, left: int, slots: int, elapsed: float, run_seconds: list[float]) -> str:
    """The progress line printed as each task ends: runs done (and failed), how many run now (at most the
    cluster's ``slots``) and wait, and the time left: the mean of the landed runs' own ``run_seconds``
    times the rounds of ``slots`` runs still to come (the running ones count as a round)."""
    running = min(left, slots)
    line = f"ray: {done} of {done + failed + left} runs done"
    line += f", {failed} failed" if failed else ""
    line += f"; {running} running, {left - running} waiting"
    if run_seconds and left:
        mean = sum(run_seconds) / len(run_seconds)
        line += (f"; about {_hms(mean * math.ceil(left / slots))} left ({_hms(mean)} a run so far, "
                 f"{_hms(elapsed)} since the start)")
    return line


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def run_on_ray(exp: Experiment, plan: list, on_landed: Callable[[Landed], None], *, address: str | None = None,
               gpus: float = 0, cpus: float = 1, retries: int = 2, log=print, task=ray_task) -> list[Landed]:
    """Every planned run of ``exp`` that is not finished (all of them under ``overwrite``), as one Ray task
    each (see the module's text); ``on_landed`` gets each as it ends, in this process. Connects to the
    cluster at ``address`` (``"auto"``: the one started on this node; ``None``: ``$RAY_ADDRESS`` or a
    cluster started with ``ray start`` here, else a new local one), unless Ray is already initialised
    here. Returns the runs that did not land (refused, or failed every try), each with why; ``task`` is
    :func:`ray_task` or a function of the same arguments (tests)."""
    import ray

    if retries < 0:
        raise ValueError(f"retries={retries}: give 0 or more")
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=True)
    slots = _slots(ray, gpus, cpus)  # before anything is submitted
    ckpt = str(checkpoint_root(exp.params["checkpoint_dir"])) if exp.params["checkpoint_dir"] == "user-cache" else None
    threads = max(1, int(cpus))
    remote = ray.remote(task)
    size = {"num_gpus": gpus, "num_cpus": cpus, "max_retries": retries, "retry_exceptions": True}
    measured = measured_rows(exp)
    # --overwrite clears each run's folders here, once: a task retried after a lost node must resume from its
    # checkpoint, not clear it again
    params = {**exp.params, "overwrite": False}
    refs: dict = {}
    names: dict = {}
    trained_of: dict = {}  # an evaluation-only row's run -> its trained row's run, when that is a task too
    for v, part, seed in plan:
        key = (v.label, part, seed)
        if exp.params["overwrite"]:
            exp.run_dir(v, part, seed).clear()
        elif exp.run_status(v, part, seed) == "finished":
            log(f"reuse  {v.label} [{part}, seed {seed}]: finished already")
            continue
        trained = (v.eval_of, part, seed)
        after = []
        if v.eval_of and trained in refs:
            after, trained_of[key] = [refs[trained]], trained
        ref = remote.options(**size, name=f"{exp.spec.key}: {v.label} [{part}, seed {seed}]").remote(
            params, exp.spec.key, key, v.label in measured, threads, ckpt, *after)
        refs[key], names[ref] = ref, key
    start = time.time()
    each = f"{gpus:g} GPU" if gpus else f"{cpus:g} CPU"
    log(f"ray: {len(refs)} runs submitted ({each} each, {slots} at once on this cluster, {retries} retries each)")
    pending, done, lost, took = list(refs.values()), 0, [], []
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            key = names[ref]
            try:
                landed = ray.get(ref)
            except Exception as e:  # noqa: BLE001 - every try failed (or its trained row's did): named, batch goes on
                landed = Landed(key, error=_why(e))
                if key in trained_of:  # Ray fails a task whose argument failed: say which run that was
                    failed = next((x for x in lost if x.key == trained_of[key]), None) or _failed(ray, refs,
                                                                                                  trained_of[key])
                    if failed is not None:
                        landed.error = f"its trained run {failed.name} failed ({failed.error})"
            if landed.outcome is None:
                lost.append(landed)
            else:
                done += 1
                took.append(landed.seconds)
            on_landed(landed)
        log(eta_line(done, len(lost), len(pending), slots, time.time() - start, took))
    return lost


def _failed(ray, refs: dict, key: RunKey) -> Landed | None:
    """The failed :class:`Landed` of the task of ``key`` (finished), or None where it did not fail."""
    try:
        ray.get(refs[key], timeout=0)
    except Exception as e:  # noqa: BLE001 - its error, to name it
        return Landed(key, error=_why(e))
    return None


def _why(e: Exception) -> str:
    """A failed task's error in one line: for an exception raised in the task, its type and the first line of
    its message (Ray wraps it with the worker's traceback, and torch's CUDA errors end in hints); for
    Ray's own (a worker or node lost, out of memory), its type and first line."""
    cause = getattr(e, "cause", None)
    err = cause if isinstance(cause, BaseException) else e
    first = next((line.strip() for line in str(err).splitlines() if line.strip()), "")
    return f"{type(err).__name__}: {first}" if first else type(err).__name__

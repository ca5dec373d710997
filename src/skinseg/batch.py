"""The batch runner behind ``reproduce/run.py``: execute paper notebooks under a profile with
papermill, skip those already complete, run several at once, export HTML, report a table.

A notebook is *complete* for a profile when its executed copy exists, the marker beside it
(``<notebook>.run.json``) records the same resolved parameters and the same code version (a digest
of the notebook and of the package's source), and every run its parameters plan is finished. A
killed batch started again therefore re-executes only what did not finish, and the run that was
interrupted resumes from its last checkpoint (:mod:`skinseg.train`).
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from skinseg.paths import display, project_root
from skinseg.results import write_json, write_text


# the notebook that reads every other notebook's results: it runs after them, and is complete only
# while those results are unchanged
SUMMARY = "06_summary"
BENCHMARKS = "results/benchmarks"  # the committed `skinseg bench` files the summary reads
CHILD = "SKINSEG_BATCH_CHILD"  # set in a child runner's environment: its parent has confirmed the training


@dataclass
class Job:
    notebook: Path  # notebooks/NN_*.ipynb
    params: dict    # resolved parameters
    out: Path       # executed copy

    @property
    def marker(self) -> Path:
        return self.out.with_suffix(".run.json")


@dataclass
class Outcome:
    notebook: str
    status: str  # done | reused | failed | skipped (not started after a failure)
    seconds: float
    out: str
    error: str = ""


def code_version(notebook: Path) -> str:
    """Digest of what decides a notebook's outputs besides its parameters: the notebook itself and
    every source file of the package."""
    h = hashlib.sha256(Path(notebook).read_bytes())
    for f in sorted((project_root() / "src" / "skinseg").rglob("*.py")):
        h.update(f.relative_to(project_root()).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


# parameters that change nothing a complete notebook shows: ``train_missing`` only says whether missing runs
# are trained, and a notebook is complete only when none is missing (is_complete)
NOT_IN_DIGEST = frozenset({"train_missing"})


def params_digest(params: dict) -> str:
    shown = {k: v for k, v in params.items() if k not in NOT_IN_DIGEST}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, default=str).encode()).hexdigest()


def training_ahead(job: Job) -> tuple[list[str], float, list[str]]:
    """What executing ``job`` would train on real data (:func:`skinseg.progress.training_ahead`); nothing
    under ``train_missing=False``."""
    from skinseg.experiment import Experiment
    from skinseg.papers import paper_for_notebook
    from skinseg.progress import training_ahead as ahead

    if not job.params.get("train_missing", True):
        return [], 0.0, []
    try:
        return ahead(Experiment(job.params, paper_for_notebook(job.notebook.stem)))
    except Exception:  # noqa: BLE001 - data it cannot plan on: the notebook fails on it at once, training nothing,
        return [], 0.0, []  # and its executed copy keeps the error


def inputs_digest(job: Job) -> str:
    """For the summary: digest of every finished run's metrics under its profile's results and of the
    committed benchmark files (relative paths and contents), so that a re-run paper notebook or a
    new benchmark makes the summary run again; "" for a paper notebook."""
    if job.notebook.stem != SUMMARY:
        return ""
    from skinseg.paths import resolve

    h = hashlib.sha256()
    root = resolve(job.params["results_dir"]) / job.params["profile"]
    benchmarks = resolve(BENCHMARKS)
    files = [(root, f) for f in sorted(root.rglob("metrics.csv"))] + \
        [(benchmarks, f) for f in sorted(benchmarks.glob("*.csv"))]
    for base, f in files:  # relative paths and contents: the same on any clone
        h.update(f.relative_to(base).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def missing_runs(job: Job) -> list[str]:
    """The planned runs of the notebook's experiment that are not finished (``row [partition, seed]: status``)."""
    from skinseg.experiment import Experiment
    from skinseg.papers import paper_for_notebook

    runs = Experiment(job.params, paper_for_notebook(job.notebook.stem)).completeness()
    todo = runs[runs.status != "finished"]
    return [f"{r.row} [{r.partition}, seed {r.seed}]: {r.status}" for r in todo.itertuples()]


def is_complete(job: Job) -> bool:
    if not (job.out.is_file() and job.marker.is_file()):
        return False
    m = json.loads(job.marker.read_text())
    return (m.get("params_digest") == params_digest(job.params) and m.get("code_version") ==
            code_version(job.notebook) and m.get("inputs_digest", "") == inputs_digest(job) and not missing_runs(job))


def export_html(notebook: Path, dest: Path | None = None) -> Path:
    """The executed notebook as HTML, beside it or at ``dest`` (written atomically)."""
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    return write_text(dest or notebook.with_suffix(".html"), body)


def execute(job: Job) -> Outcome:
    """Run one notebook in this process (its kernel inherits this environment)."""
    import papermill as pm
    from traitlets.config import Config

    from skinseg.train import BATCH_ENV

    t = time.time()
    os.environ[BATCH_ENV] = "1"  # the kernel inherits it: a line per epoch to the runner's log, none in the notebook
    job.out.parent.mkdir(parents=True, exist_ok=True)
    job.marker.unlink(missing_ok=True)  # complete again only once this execution succeeds
    error = ""
    try:
        # paths relative to the project root: papermill records them in the executed notebook
        # the kernel manager hands the kernel CurveZMQ keys (its kernelspec declares "curve"): without
        # them ipykernel warns on the terminal, once per notebook, that it runs over TCP unencrypted
        pm.execute_notebook(display(job.notebook), display(job.out), parameters=job.params, kernel_name="python3",
                            cwd=str(project_root()), progress_bar=False, log_output=False,
                            config=Config(KernelManager={"transport_encryption": "auto"}))
    except pm.PapermillExecutionError as e:
        error = f"{e.ename}: {e.evalue}"
    except Exception as e:  # noqa: BLE001 (a dead kernel, a timeout: still a failed notebook in the table)
        error = f"{type(e).__name__}: {e}"
    if job.out.is_file():
        # the summary's HTML goes beside summary.md (one copy); a failed one stays beside its notebook
        if job.notebook.stem == SUMMARY and not error:  # a report: titled, code hidden but the parameters
            from skinseg.report import export_report_html

            export_report_html(job.out, job.out.parent.parent / "summary.html",
                               f"skinseg: summary of the reproductions (profile {job.params.get('profile', '')})")
        else:
            export_html(job.out)
    seconds = time.time() - t
    if error:
        return Outcome(job.notebook.name, "failed", seconds, display(job.out), error)
    write_json(job.marker, {"params_digest": params_digest(job.params), "code_version": code_version(job.notebook),
                            "inputs_digest": inputs_digest(job), "seconds": round(seconds, 1),
                            "params": _portable(job.params)})  # what the summary reads the paper's runs with
    return Outcome(job.notebook.name, "done", seconds, display(job.out))


def run_batch(jobs: list[Job], n_jobs: int = 1, child_args: list[str] | None = None,
              log=print) -> list[Outcome]:
    """The paper notebooks (see :func:`_run_jobs`), then the summary once they are all done."""
    papers = [j for j in jobs if j.notebook.stem != SUMMARY]
    outcomes = _run_jobs(papers, n_jobs, child_args, log)
    summary = [j for j in jobs if j.notebook.stem == SUMMARY]
    if summary and not any(o.status == "failed" for o in outcomes):
        outcomes += _run_jobs(summary, 1, child_args, log)
    else:
        outcomes += [_skipped(j) for j in summary]
    return outcomes


def _skipped(job: Job) -> Outcome:
    return Outcome(job.notebook.name, "skipped", 0.0, display(job.out), "not started: an earlier notebook failed")


def _run_jobs(jobs: list[Job], n_jobs: int = 1, child_args: list[str] | None = None,
              log=print) -> list[Outcome]:
    """Every job: reused when complete, else executed (in this process with ``n_jobs`` 1; else each
    in its own process, ``n_jobs`` at a time, with the CPU threads split between them; a notebook
    whose ``device`` is CUDA waits for a visible GPU of its own). After a failure no further
    notebook starts.
    ``child_args``: the runner's own arguments, to start a child for one notebook."""
    outcomes: list[Outcome] = []
    failed = False
    todo = []
    for job in jobs:
        if is_complete(job):
            log(f"reused {job.notebook.name}: complete for these parameters and this code ({display(job.out)})")
            outcomes.append(Outcome(job.notebook.name, "reused", 0.0, display(job.out)))
        else:
            todo.append(job)
    if n_jobs <= 1:
        for job in todo:
            if failed:
                outcomes.append(_skipped(job))
                continue
            log(f"run    {job.notebook.name} -> {display(job.out)}")
            o = execute(job)
            failed = o.status == "failed"
            log(f"{o.status:<6} {job.notebook.name} in {o.seconds:.0f} s" + (f" ({o.error})" if failed else ""))
            outcomes.append(o)
        return outcomes

    threads = max(1, len(os.sched_getaffinity(0)) // n_jobs)  # the cores this process may use
    free_gpus: queue.Queue = queue.Queue()
    n_gpus = _gpu_count()
    for g in range(n_gpus):
        free_gpus.put(g)
    started: dict[str, float] = {}

    def child(job):
        # a notebook on plain "cuda" waits for a GPU of its own (never two notebooks on one GPU);
        # "cuda:N" names its GPU itself and is left as it is
        uses_gpu = n_gpus and str(job.params.get("device", "cpu")) == "cuda"
        gpu = free_gpus.get() if uses_gpu and not failed else None
        try:
            return _child(job, gpu)
        finally:
            if gpu is not None:
                free_gpus.put(gpu)

    def _child(job, gpu):
        nonlocal failed
        if failed:  # checked again after waiting for a GPU: a notebook may have failed meanwhile
            return _skipped(job)
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), CHILD: "1"}
        if gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = str(gpu)
        log_file = job.out.with_suffix(".log")
        started[job.notebook.name] = time.time()
        log(f"run    {job.notebook.name} ({threads} threads{f', GPU {gpu}' if gpu is not None else ''}) -> "
            f"{display(job.out)}; its output: {display(log_file)}")
        cmd = [sys.executable, str(project_root() / "reproduce" / "run.py"), *(child_args or []),
               "--notebooks", job.notebook.stem, "--jobs", "1"]
        job.out.parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "w") as f:
            rc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, cwd=project_root()).returncode
        seconds = time.time() - started.pop(job.notebook.name)
        if rc == 0:
            o = Outcome(job.notebook.name, "done", seconds, display(job.out))
        else:
            failed = True
            tail = log_file.read_text().strip().splitlines()[-3:]
            o = Outcome(job.notebook.name, "failed", seconds, display(job.out), " | ".join(tail))
        log(f"{o.status:<6} {job.notebook.name} in {seconds:.0f} s" + (f" ({o.error})" if o.error else ""))
        return o

    with ThreadPoolExecutor(n_jobs) as pool:
        futures = [pool.submit(child, job) for job in todo]
        last = time.time()
        while not all(f.done() for f in futures):
            time.sleep(1)
            if started and time.time() - last >= 60:  # a progress line a minute while notebooks run
                last = time.time()
                log("running: " + ", ".join(f"{n} ({time.time() - t:.0f} s)" for n, t in list(started.items())))
        outcomes += [f.result() for f in futures]
    return outcomes


def _portable(params: dict) -> dict:
    """``params`` with its folder parameters relative to the project root where they are inside it
    (committed markers hold no machine paths)."""
    folders = ("data_root", "original_masks_root", "results_dir", "checkpoint_dir", "cache_dir", "ph2_root",
               "encoder_weights")
    return {k: (display(v) if k in folders and v and v != "synthetic" else v) for k, v in params.items()}


def _gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count()
    except Exception:  # noqa: BLE001 (no CUDA build: no GPU)
        return 0


def table(outcomes: list[Outcome]) -> str:
    """The batch's end-of-run table: notebook, status, minutes, executed copy."""
    lines = [f"{'notebook':<34} {'status':<7} {'time':>8}  executed copy"]
    for o in outcomes:
        lines.append(f"{o.notebook:<34} {o.status:<7} {o.seconds / 60:>6.1f} m  {o.out}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "reused", "failed", "skipped")}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines)

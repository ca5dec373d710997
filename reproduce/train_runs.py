"""Train (or reuse) every run of one paper notebook under a profile, without executing the
notebook: for long profiles, so each finished run folder can be committed as it lands
(``--commit`` does it: one commit per run, its message saying whether the run converged). The
notebook, run afterwards with the same profile, reuses these runs (same config). A run whose model
has an adaptive scale module (ASNet's rows) gets the module's figures measured on its checkpoint
and kept in its folder before the commit (``skinseg.audit.run_asm_activity``): the checkpoints are
not committed, so the notebook, run later or on another machine, prints them from there.

    python reproduce/train_runs.py --profile cpu-real --notebook 01 [--variants LinkNet-64] [--seeds 0] [--data DIR]
    python reproduce/train_runs.py --profile cpu-real --notebook 06 --set epochs=48 --set run_set=e48 --commit

``--executor ray [--address auto]`` runs each planned run as a task on a Ray cluster, one GPU each
(or ``--cpus-per-run`` CPUs), on results and checkpoint folders every node shares; a failed or
preempted task is retried and resumes from its checkpoint (:mod:`skinseg.campaign`).

    python reproduce/train_runs.py --profile paper --notebook 05 --executor ray --address auto --commit --yes

``--status`` (with the same options) trains nothing: it lists every planned run (finished,
unfinished, absent; epochs, those in an unfinished run's checkpoint; converged; the CPU it ran on) and
the hours left for each at its row's pace on this CPU (:func:`skinseg.progress.row_pace`).

Long profiles (``cpu-real``, ``paper``) keep checkpoints outside the checkout (``checkpoint_dir:
user-cache``: ``$SKINSEG_CHECKPOINTS``, else ``$XDG_CACHE_HOME/skinseg/checkpoints``, else
``~/.cache/skinseg/checkpoints``): a job killed at a wall-clock limit is started again, from a fresh
clone too, with the same command and resumes after the checkpoint's last epoch.
"""
from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

from skinseg.campaign import run_on_ray, run_serial
from skinseg.convergence import WINDOW, run_convergence
from skinseg.data.protocols import split_record
from skinseg.experiment import Experiment
from skinseg.papers import get_paper, list_papers
from skinseg.paths import display
from skinseg.cpuinfo import cpu_name
from skinseg.progress import confirm_training, hours_left, plan_progress, progress_summary, training_ahead
from skinseg.profiles import load_profile, parse_sets, resolve
from skinseg.results import metric_value, training_seconds
from skinseg.train import BATCH_ENV


def commit_message(exp: Experiment, o) -> str:
    """One line: where the run lies, its budget, whether it converged, its test Jaccard (per-image
    mean; at original resolution where scored) and its training seconds over every resume."""
    p = exp.params
    where = f"{p['profile']} run" + (f" (run_set {p['run_set']})" if p["run_set"] else "")
    res = "original"
    jac = metric_value(o.metrics, "jaccard")
    if math.isnan(jac):  # scored at the training resolution only
        res, jac = "training", metric_value(o.metrics, "jaccard", resolution="training")
    v = exp.spec.variant(o.variant)
    if v.eval_of:
        state = f"evaluation of {v.eval_of}'s weights"
    else:
        c = run_convergence(o.history, exp.variant_params(v)["monitor"])
        state = (f"{c['epochs']} epochs, {'converged' if c['converged'] else 'NOT converged'} (best epoch "
                 f"{c['best epoch']}, last-{WINDOW * 100:g} % gain {c['gain in window']:+.4f})")
    seconds = training_seconds(o.run.path)
    # an unfinished folder without a checkpoint (a new checkout, a stop before the first epoch) starts again at epoch 1
    after = o.history.attrs.get("resumed_after_epochs", 0) if o.status == "resume" else 0
    took = "" if math.isnan(seconds) else f"; {seconds:.0f} s of training" + (
        f" (resumed after epoch {after})" if after else "")
    return f"{where}: {o.variant} [{o.partition}, seed {o.seed}], {state}; test Jaccard {jac:.3f} ({res} resolution){took}"


def _git(path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True)


def check_committable(run_paths) -> None:
    """Fail before any training when ``--commit`` could not commit what lands in ``run_paths`` (the
    rows' folders: ``results_dir`` itself is mostly ignored, its tracked profiles re-included)."""
    where = Path(run_paths[0])
    # ask git from the nearest folder that exists: nothing is created before the checks pass
    existing = next(d for d in (where, *where.parents) if d.is_dir())
    if _git(existing, "rev-parse", "--is-inside-work-tree").stdout.strip() != "true":
        raise SystemExit(f"error: --commit: {display(where)} is not inside a git work tree")
    # a file inside each: what lands there is files, and "results/"-style patterns match only known folders
    r = _git(existing, "check-ignore", "-v", "--", *(str(Path(p).resolve() / "metrics.csv") for p in run_paths))
    if r.returncode not in (0, 1):
        raise SystemExit(f"error: --commit: git cannot tell whether it ignores {display(where)}: {r.stderr.strip()}")
    # -v also prints paths matched by a negated ("!") pattern, which are the ones git keeps
    ignored = [line.split("\t", 1) for line in r.stdout.splitlines() if not line.split(":", 2)[-1].startswith("!")]
    if ignored:
        rule, path = ignored[0]
        raise SystemExit(f"error: --commit: git ignores {display(Path(path).parent)} ({rule}); drop --commit, or "
                         "choose a profile (or results_dir) whose folder git does not ignore")


def committable_split(run_path, split_file) -> list:
    """``[split_file, its record]`` when they belong with the run's commit (a new split lands with
    the first run that uses it, with the record of what made it): in the run's repository and not
    ignored; else ``[]``."""
    top = Path(_git(run_path, "rev-parse", "--show-toplevel").stdout.strip())
    split = Path(split_file).resolve()
    if not split.is_file() or not split.is_relative_to(top.resolve()):
        return []
    if _git(top, "check-ignore", "-q", str(split)).returncode == 0:
        return []
    return [f for f in (split, split_record(split)) if f.is_file()]


def git_commit(paths, message: str, tries: int = 30) -> str:
    """Commit ``paths`` alone (other staged changes stay staged; the first path's repository);
    retried while another git holds the index. Returns "" or why it could not commit."""
    repo = Path(paths[0])
    for _ in range(tries):
        r = _git(repo, "add", "--", *map(str, paths))
        if r.returncode == 0:
            if _git(repo, "diff", "--cached", "--quiet", "--", *map(str, paths)).returncode == 0:
                return "nothing new to commit"
            r = _git(repo, "commit", "-q", "-m", message, "--", *map(str, paths))
            if r.returncode == 0:
                return ""
        err = (r.stderr + r.stdout).strip()
        if "index.lock" not in err:
            return err
        time.sleep(10)
    return "the git index stayed locked"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--notebook", required=True, help="notebook stem or prefix, e.g. 01")
    ap.add_argument("--data", help="override data_root")
    ap.add_argument("--variants", help="comma-separated row labels (default: the profile's)")
    ap.add_argument("--seeds", help="comma-separated training seeds: only the planned runs of these seeds (to train "
                    "paired runs seed by seed; a row whose `seeds`/`ablation_seeds` lack one skips it; to add seeds, "
                    "--set seeds=... / --set ablation_seeds=...)")
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override one parameter, e.g. --set epochs=24 --set run_set=e24-eq3 (runs of another budget "
                         "go to their own folder, beside the profile's)")
    ap.add_argument("--commit", action="store_true",
                    help="git-commit each run folder as soon as its run finishes (reused runs are left alone)")
    ap.add_argument("--status", action="store_true",
                    help="train nothing: list each planned run (finished / unfinished / absent, epochs, converged, "
                         "training seconds) and the time left at each row's pace so far (writes at most the split "
                         "file the runs use)")
    ap.add_argument("--yes", action="store_true",
                    help="train without asking (otherwise it says what it would train and for how long on this CPU, "
                         "then asks on a terminal, or stops)")
    cluster = ap.add_argument_group("on a Ray cluster (pip install -e '.[cluster]')")
    cluster.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="local: one run after another in this process; ray: each run a Ray task (finished runs "
                     "skipped; results and checkpoint folders must be shared by every node)")
    cluster.add_argument("--address", help="the Ray cluster to join ('auto': the one started on this node; default: "
                     "$RAY_ADDRESS, else one started here with `ray start`, else a new local cluster)")
    cluster.add_argument("--gpus-per-run", type=float, help="GPUs each run asks for (default: 1 with device cuda, else 0)")
    cluster.add_argument("--cpus-per-run", type=float,
                     help="CPUs each run asks for, and its torch threads (default: a GPU run its num_workers, for "
                     "its data loaders; a CPU run 1)")
    cluster.add_argument("--retries", type=int, default=2,
                     help="tries after the first for a run that fails or whose node is lost (resumes from its "
                     "checkpoint; default 2)")
    a = ap.parse_args(argv)
    specs = [get_paper(k) for k in list_papers() if get_paper(k).notebook.startswith(a.notebook)]
    if len(specs) != 1:
        raise SystemExit(f"error: --notebook {a.notebook!r} matches {len(specs)} papers' notebooks")
    spec = specs[0]
    try:
        params = resolve(spec, load_profile(a.profile), a.data, a.overwrite, parse_sets(a.set))
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    if a.variants:
        params["variants"] = a.variants
    exp = Experiment(params, spec)
    wanted = None
    if a.seeds:  # checked before anything is made (the plan needs the split)
        try:
            wanted = {int(x) for x in a.seeds.split(",")}
        except ValueError:
            raise SystemExit(f"error: --seeds {a.seeds!r}: give comma-separated integers, e.g. --seeds 0,1") from None
        if not any(wanted & set(exp.seeds(v)) for v in exp.variants()):
            planned = "; ".join(f"{v.label}: {','.join(map(str, exp.seeds(v)))}" for v in exp.variants())
            raise SystemExit(f"error: --seeds {a.seeds} selects none of the planned runs (seeds per row: {planned}); "
                             "to add seeds, --set seeds=... (main rows) or --set ablation_seeds=...")
    if a.commit and not a.status:  # each row's folder (its partitions and seeds below it need the split, not made yet)
        check_committable([exp.row_folder(v) for v in exp.variants()])
    plan = [run for run in exp.plan() if wanted is None or run[2] in wanted]
    if a.status:
        progress, everyone = plan_progress(exp, None if wanted is None else plan)  # other seeds pace a row too
        here = cpu_name()
        where = f" (run_set {params['run_set']})" if params["run_set"] else ""
        print(f"{spec.key} under profile {a.profile}{where}; checkpoints in {display(exp.checkpoint_root)}; "
              f"this CPU: {here}:")
        left = hours_left(progress, here, everyone)
        shown = progress.assign(converged=progress.converged.map({True: "yes", False: "NO"}),
                                **{"training s": progress["training s"].map(lambda x: "" if x != x else f"{x:.0f}"),
                                   "h left": left.map(lambda x: "" if x != x or not x else f"{x:.1f}"),
                                   "cpu": progress.cpu.fillna("")})
        print(shown.to_string(index=False, na_rep=""))
        print(progress_summary(progress, here, everyone))
        return 0
    # a line per epoch on stderr, serial or on Ray (there each worker's, shown in this log): a long batch's
    # log says how far each run is
    os.environ[BATCH_ENV] = "1"
    if not a.yes:
        confirm_training([(spec.notebook, *training_ahead(exp, plan))])
    print(f"{spec.key}: {len(plan)} runs under profile {a.profile}" + (", on Ray" if a.executor == "ray" else ""),
          flush=True)
    failed = 0

    def on_landed(landed):  # in this process, as each run ends (on Ray too): say it, then commit its folder
        nonlocal failed
        o = landed.outcome
        if o is None:  # refused (another config holds its place) or failed every try
            failed += 1
            why = landed.refused or landed.error
            if a.executor != "ray":
                raise SystemExit(f"error: {landed.name}: {why}")
            print(f"failed {landed.name}: {why}", file=sys.stderr, flush=True)
            return
        print(f"{o.status:<6} {landed.name} in {landed.seconds:.0f} s -> {display(o.run.path)}", flush=True)
        if landed.asm:
            print(f"adaptive scale module: beta {landed.asm['beta']:+.4f}, adds {landed.asm['activity_pct']:.2g} % "
                  "of the feature it refines", flush=True)
        elif landed.measured_asm:
            failed += 1
            print(f"warning: the adaptive scale module's figures not kept beside {display(o.run.path)} "
                  f"({landed.asm_error}); notebook 05 measures them while the checkpoint is on this machine",
                  file=sys.stderr, flush=True)
        if a.commit and o.status != "reuse":
            message = commit_message(exp, o)
            why = git_commit([o.run.path, *committable_split(o.run.path, exp.data(o.variant).split_file)], message)
            if why:  # the batch goes on (hours of training ahead); the exit status says a commit failed
                failed += 1
                print(f"warning: {display(o.run.path)} not committed: {why}", file=sys.stderr, flush=True)
            else:
                print(f"committed: {message}", flush=True)

    if a.executor == "ray":
        try:
            import ray  # noqa: F401 - the optional extra
        except ImportError:
            raise SystemExit("error: --executor ray needs Ray: pip install -e '.[cluster]'") from None
        gpus = a.gpus_per_run if a.gpus_per_run is not None else (1 if str(params["device"]).startswith("cuda") else 0)
        cpus = a.cpus_per_run or (max(1, int(params["num_workers"])) if gpus else 1)
        try:
            lost = run_on_ray(exp, plan, on_landed, address=a.address, gpus=gpus, cpus=cpus, retries=a.retries)
        except ValueError as e:  # a cluster that cannot hold one run, a negative --retries: before any task
            raise SystemExit(f"error: --executor ray: {e}") from None
        if lost:
            print(f"{len(lost)} runs did not land: " + "; ".join(f"{x.name} ({x.refused or x.error})" for x in lost),
                  file=sys.stderr, flush=True)
    else:
        run_serial(exp, plan, on_landed)
    return 1 if failed else 0  # a commit or a measurement failed (each warned above)


if __name__ == "__main__":
    sys.exit(main())

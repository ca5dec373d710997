"""Train (or reuse) every run of one paper notebook under a profile, without executing the
notebook: for long profiles, so each finished run folder can be committed as it lands
(``--commit`` does it: one commit per run, its message saying whether the run converged). The
notebook, run afterwards with the same profile, reuses these runs (same config).

    python reproduce/train_runs.py --profile cpu-real --notebook 01 [--variants LinkNet-64] [--seeds 0] [--data DIR]
    python reproduce/train_runs.py --profile cpu-real --notebook 05 --set epochs=24 --set run_set=e24-eq3 --set max_folds=1 --commit
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

from skinseg.convergence import run_convergence
from skinseg.experiment import Experiment
from skinseg.papers import get_paper, list_papers
from skinseg.paths import display
from skinseg.profiles import load_profile, parse_sets, resolve


def commit_message(exp: Experiment, o, seconds: float) -> str:
    """One line: where the run lies, its budget, whether it converged, its test Jaccard (per-image
    mean; at original resolution where scored) and how long it took."""
    p = exp.params
    where = f"{p['profile']} run" + (f" (run_set {p['run_set']})" if p["run_set"] else "")
    m = o.metrics[(o.metrics.target == "lesion") & (o.metrics.reduction == "macro") & (o.metrics.metric == "jaccard")]
    res = "original" if (m.resolution == "original").any() else "training"
    jac = float(m[m.resolution == res].value.iloc[0])
    v = exp.spec.variant(o.variant)
    if v.eval_of:
        state = f"evaluation of {v.eval_of}'s weights"
    else:
        c = run_convergence(o.history, exp.variant_params(v)["monitor"])
        state = (f"{c['epochs']} epochs, {'converged' if c['converged'] else 'NOT converged'} (best epoch "
                 f"{c['best epoch']}, last-20 % gain {c['gain in window']:+.3f})")
    took = f"{seconds:.0f} s" + (" (resumed)" if o.status == "resume" else "")
    return f"{where}: {o.variant} [{o.partition}, seed {o.seed}], {state}; test Jaccard {jac:.3f} ({res} resolution); {took}"


def git_commit(path, message: str, tries: int = 30) -> None:
    """Commit ``path`` alone (other staged changes stay staged); retried while another git holds the index."""
    for _ in range(tries):
        add = subprocess.run(["git", "-C", str(path), "add", "--", "."], capture_output=True, text=True)
        if add.returncode == 0:
            done = subprocess.run(["git", "-C", str(path), "commit", "-q", "-m", message, "--", "."],
                                  capture_output=True, text=True)
            if done.returncode == 0:
                return
            err = done.stderr
        else:
            err = add.stderr
        if "index.lock" not in err:
            raise SystemExit(f"error: could not commit {display(path)}: {err.strip()}")
        time.sleep(10)
    raise SystemExit(f"error: could not commit {display(path)}: the git index stayed locked")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", required=True)
    ap.add_argument("--notebook", required=True, help="notebook stem or prefix, e.g. 01")
    ap.add_argument("--data", help="override data_root")
    ap.add_argument("--variants", help="comma-separated row labels (default: the profile's)")
    ap.add_argument("--seeds", help="comma-separated training seeds, replacing both `seeds` and `ablation_seeds` "
                    "(to finish paired runs seed by seed; seeds do not enter a run's config)")
    ap.add_argument("--overwrite", action="store_true")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override one parameter, e.g. --set epochs=24 --set run_set=e24 (runs of another budget "
                         "go to their own folder, beside the profile's)")
    ap.add_argument("--commit", action="store_true",
                    help="git-commit each run folder as soon as its run finishes (reused runs are left alone)")
    a = ap.parse_args(argv)
    specs = [get_paper(k) for k in list_papers() if get_paper(k).notebook.startswith(a.notebook)]
    if len(specs) != 1:
        raise SystemExit(f"error: --notebook {a.notebook!r} matches {len(specs)} papers' notebooks")
    spec = specs[0]
    try:
        params = {**resolve(spec, load_profile(a.profile), a.data, a.overwrite), **parse_sets(a.set)}
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    if a.variants:
        params["variants"] = a.variants
    if a.seeds:
        params["seeds"] = params["ablation_seeds"] = a.seeds
    exp = Experiment(params, spec)
    plan = exp.plan()
    print(f"{spec.key}: {len(plan)} runs under profile {a.profile}", flush=True)
    for v, part, seed in plan:
        t = time.time()
        o = exp.run(v, part, seed)
        took = time.time() - t
        print(f"{o.status:<6} {v.label} [{part}, seed {seed}] in {took:.0f} s -> {display(o.run.path)}", flush=True)
        if a.commit and o.status != "reuse":
            message = commit_message(exp, o, took)
            git_commit(o.run.path, message)
            print(f"committed: {message}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

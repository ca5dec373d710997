"""Batch runner: execute paper notebooks with a profile through papermill.

    python reproduce/run.py --profile smoke [--notebooks 01 ...] [--data DIR] [--overwrite] [--jobs N]
                            [--set NAME=VALUE ...]

Executed notebooks go to ``results/<profile>/notebooks/`` with an HTML copy beside each. A notebook
already complete for the same parameters and code is reused, not re-executed, so a killed batch
continues where it stopped (the interrupted run resumes from its last checkpoint). ``--jobs N`` runs N
notebooks at once, the CPU threads split between them, starting first those the profile's ``start_order``
lists (its long ones, so that the streams end together). After a failure no further notebook starts;
the exit code is 1 and the failed notebook is named (its executed copy keeps the traceback). The
run ends with a table: done / reused / failed, with times.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from skinseg import params as P
from skinseg.batch import CHILD, Job, run_batch, table, training_ahead
from skinseg.progress import confirm_training
from skinseg.papers import paper_for_notebook
from skinseg.profiles import load_profile, parse_sets, resolve, start_order

ROOT = Path(__file__).resolve().parents[1]


def select(patterns: list[str] | None) -> list[Path]:
    nbs = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if patterns:
        nbs = [n for n in nbs if any(n.stem.startswith(p) or n.stem == p for p in patterns)]
        if not nbs:
            raise SystemExit(f"error: no notebook matches {patterns}; see notebooks/")
    return nbs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="smoke", help="smoke | cpu-real | paper, or a path to a profile YAML")
    ap.add_argument("--notebooks", nargs="*", help="stems or prefixes, e.g. 01 (default: all paper notebooks)")
    ap.add_argument("--data", help="override data_root for every notebook")
    ap.add_argument("--overwrite", action="store_true", help="replace finished runs whose config differs")
    ap.add_argument("--jobs", type=int, default=1, help="notebooks run at once (threads split between them)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override one parameter for every notebook, e.g. --set device=cpu --set max_images=8")
    ap.add_argument("--yes", action="store_true",
                    help="train what real-data notebooks need without asking (otherwise the batch says what it would "
                         "train and for how long, then asks on a terminal, or stops)")
    a = ap.parse_args(argv)
    argv = sys.argv[1:] if argv is None else list(argv)
    os.chdir(ROOT)  # notebook paths are given relative to the project root (papermill records them)
    try:
        profile = load_profile(a.profile)
        overrides = parse_sets(a.set)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    jobs = []
    notebooks = {nb.stem: nb for nb in select(a.notebooks)}
    for nb in (notebooks[s] for s in start_order(profile, list(notebooks))):
        if nb.stem not in profile:
            print(f"skip {nb.name}: profile {a.profile} has no entry for it")
            continue
        try:  # every notebook's parameters checked whole before the first one starts
            params = P.validate(resolve(paper_for_notebook(nb.stem), profile, a.data, a.overwrite, overrides))
        except (KeyError, ValueError) as e:
            raise SystemExit(f"error: {nb.name} under profile {a.profile}: {e}") from None
        # executed notebooks live beside the runs: <results_dir>/<profile>/notebooks/
        out_dir = ROOT / params.get("results_dir", "results") / params.get("profile", Path(a.profile).stem) / "notebooks"
        jobs.append(Job(nb, params, out_dir / nb.name))
    if not a.yes and not os.environ.get(CHILD):  # a child's parent has asked
        confirm_training([(job.notebook.stem, *training_ahead(job)) for job in jobs])
    # a child runs one notebook with this runner's own options (its --notebooks and --jobs replaced)
    child_args = _without(argv, ("--notebooks", "--jobs"))
    outcomes = run_batch(jobs, a.jobs, child_args, log=lambda line: print(line, flush=True))
    print(table(sorted(outcomes, key=lambda o: o.notebook)), flush=True)  # in notebook order, however started
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        print(f"FAILED {o.notebook} ({o.error}); executed copy with the traceback: {o.out}", file=sys.stderr)
    return 1 if failed else 0


def _without(argv: list[str], options: tuple[str, ...]) -> list[str]:
    """``argv`` less the given options and their values (``--opt v1 v2`` or ``--opt=v``)."""
    out, skipping = [], False
    for arg in argv:
        if arg.startswith("--"):
            skipping = arg.split("=", 1)[0] in options
            if skipping:
                continue
        elif skipping:
            continue
        out.append(arg)
    return out


if __name__ == "__main__":
    sys.exit(main())

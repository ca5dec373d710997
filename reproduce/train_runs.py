"""Train (or reuse) every run of one paper notebook under a profile, without executing the
notebook: for long profiles, so each finished run folder can be committed as it lands. The
notebook, run afterwards with the same profile, reuses these runs (same config).

    python reproduce/train_runs.py --profile cpu-real --notebook 01 [--variants LinkNet-64] [--seeds 0] [--data DIR]
    python reproduce/train_runs.py --profile cpu-real --notebook 05 --set epochs=24 --set run_set=e24-eq3 --set max_folds=1
"""
from __future__ import annotations

import argparse
import sys
import time

from skinseg.experiment import Experiment
from skinseg.papers import get_paper, list_papers
from skinseg.profiles import load_profile, parse_sets, resolve


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
        print(f"{o.status:<6} {v.label} [{part}, seed {seed}] in {time.time() - t:.0f} s -> {o.run.path}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

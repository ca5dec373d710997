"""Batch runner: execute paper notebooks with a profile through papermill.

    python reproduce/run.py --profile smoke [--notebooks 01 ...] [--data DIR] [--overwrite] [--set NAME=VALUE ...]

Executed notebooks go to ``results/<profile>/notebooks/``. The kernel is the
current Python environment. On the first failure the runner stops with exit
code 1 and names the notebook; its executed copy (with the traceback) is kept.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import papermill as pm
import yaml

from skinseg.papers import paper_for_notebook
from skinseg.params import check
from skinseg.paths import display
from skinseg.profiles import load_profile, resolve

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
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="override one parameter for every notebook, e.g. --set device=cpu --set max_images=8")
    a = ap.parse_args(argv)
    os.chdir(ROOT)  # notebook paths are given relative to the project root (papermill records them)
    try:
        profile = load_profile(a.profile)
        overrides = {}
        for item in a.set:
            name, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"--set {item!r}: expected NAME=VALUE")
            overrides[name] = yaml.safe_load(value)
            check(name, overrides[name])
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"error: {e}") from None
    for nb in select(a.notebooks):
        if nb.stem not in profile:
            print(f"skip {nb.name}: profile {a.profile} has no entry for it")
            continue
        try:
            params = {**resolve(paper_for_notebook(nb.stem), profile, a.data, a.overwrite), **overrides}
        except (KeyError, ValueError) as e:
            raise SystemExit(f"error: {nb.name} under profile {a.profile}: {e}") from None
        # executed notebooks live beside the runs: <results_dir>/<profile>/notebooks/
        out_dir = ROOT / params.get("results_dir", "results") / params.get("profile", Path(a.profile).stem) / "notebooks"
        out_dir.mkdir(parents=True, exist_ok=True)
        out = out_dir / nb.name
        print(f"run  {nb.name}  profile={a.profile}  -> {display(out)}", flush=True)
        t = time.time()
        try:
            # paths relative to the project root: papermill records them in the executed notebook
            pm.execute_notebook(display(nb), display(out), parameters=params, kernel_name="python3", cwd=str(ROOT),
                                progress_bar=False, log_output=False)
        except pm.PapermillExecutionError as e:
            print(f"FAILED {nb.name} ({e.ename}: {e.evalue}); executed copy with the traceback: "
                  f"{display(out)}", file=sys.stderr)
            return 1
        print(f"done {nb.name} in {time.time() - t:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

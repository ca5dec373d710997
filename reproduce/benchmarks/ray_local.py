"""Wall time of the same planned runs trained one after another and as Ray tasks on a local cluster,
and whether they give the same metrics.csv files (step 6c).

    python reproduce/benchmarks/ray_local.py [--notebook 01] [--seeds 0,1] [--set epochs=30] [--out results/benchmarks/ray-local-<date>.csv]

Each path trains into its own scratch folder (deleted afterwards): ``serial`` (one process, all the
cores' threads), ``serial-1-thread`` and ``ray`` (``--executor ray``, one task per run, 1 CPU and one
thread each, on a new local cluster of every core: its start-up is counted). Run it with nothing else on
the cores. The CSV names the CPU.
"""
from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from skinseg.cpuinfo import cpu_name
from skinseg.paths import display, project_root
from skinseg.results import write_csv


def _train(tmp: Path, name: str, args: list[str], threads: int | None) -> float:
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, str(project_root() / "reproduce" / "train_runs.py"), *args, "--yes",
           "--set", f"results_dir={tmp / name}", "--set", f"checkpoint_dir={tmp / ('ck-' + name)}"]
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{name} failed:\n{r.stderr[-3000:]}")
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notebook", default="01")
    ap.add_argument("--seeds", default="0,1", help="one run per seed (--set seeds=...)")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="passed on to train_runs.py, e.g. --set epochs=30 (runs long beside Ray's start-up)")
    ap.add_argument("--out", default=f"results/benchmarks/ray-local-{datetime.date.today():%Y-%m-%d}.csv")
    ap.add_argument("--overwrite", action="store_true")
    a = ap.parse_args(argv)
    out = project_root() / a.out
    if out.exists() and not a.overwrite:
        raise SystemExit(f"error: {display(out)} exists (a committed result is never overwritten by default); "
                         "give another --out, or --overwrite")
    cores = len(os.sched_getaffinity(0))
    base = ["--profile", "smoke", "--notebook", a.notebook, "--set", f"seeds={a.seeds}",
            *[x for s in a.set for x in ("--set", s)]]
    paths = {"serial": (base, cores), "serial-1-thread": (base, 1),
             "ray": ([*base, "--executor", "ray", "--cpus-per-run", "1"], None)}
    rows = []
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as d:
        tmp = Path(d)
        for name, (args, threads) in paths.items():
            seconds = _train(tmp, name, args, threads)
            print(f"{name}: {seconds:.1f} s", flush=True)
            rows.append({"path": name, "seconds": round(seconds, 1)})
        metrics = {name: sorted((tmp / name).rglob("metrics.csv")) for name in paths}
        runs = len(metrics["ray"])
        same = {name: all(f.read_bytes() == g.read_bytes() for f, g in zip(files, metrics["serial-1-thread"]))
                and len(files) == runs for name, files in metrics.items()}
    table = pd.DataFrame(rows).assign(
        runs=runs, speedup_vs_serial=lambda t: (t.seconds.iloc[0] / t.seconds).round(2),
        metrics_equal_serial_1_thread=[same[r["path"]] for r in rows], notebook=a.notebook, profile="smoke",
        sets=" ".join(a.set),
        cpu=cpu_name(), cores=cores, date=f"{datetime.date.today()}")
    print(table.to_string(index=False))
    write_csv(out, table)
    print(f"wrote {display(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

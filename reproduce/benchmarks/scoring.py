"""Original-resolution scoring: ``python -m skinseg score`` against the official
``isic-challenge-scoring`` segmentation scorer, same folders, same numbers.

    python reproduce/benchmarks/scoring.py [--truth DIR] [--out CSV]

Predictions are made from the truth masks in a temporary folder (shifted by
2-3 % of the size, then dilated, eroded (disk of radius 1 % of the size) or left as
they are, in turn, so the scores are not trivially 1) and written as 8-bit PNGs with Pillow, as
``skinseg.evaluate`` writes them. Each scorer then runs through its own command
line in a fresh subprocess, so its wall time includes interpreter start and
imports, and its peak memory (the child's ``ru_maxrss``) is its own. Exits 1 if
any shared macro metric differs by more than 1e-9; writes
``results/benchmarks/scoring.csv``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from skinseg.paths import display
from skinseg.results import write_csv
from skinseg.scoring import iter_masks_parallel, ordered_map

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TRUTH = ROOT.parent / "shared" / "data" / "isic2017-fullres-masks" / "ISIC-2017_Validation_Part1_GroundTruth"
METRICS = ("accuracy", "sensitivity", "specificity", "jaccard", "threshold_jaccard", "dice")
TOLERANCE = 1e-9


def perturb(mask: np.ndarray, i: int) -> np.ndarray:
    """A deterministic imperfect prediction (0/255 uint8) of a truth mask."""
    h, w = mask.shape
    dy, dx = int(0.03 * h) * (-1) ** i, int(0.02 * w)
    out = np.zeros_like(mask)
    out[max(dy, 0):h + min(dy, 0), dx:] = mask[max(-dy, 0):h - max(dy, 0), :w - dx]  # shift, zero fill
    op = (cv2.dilate, cv2.erode, None)[i % 3]
    fg = out > 128
    ys, xs = np.flatnonzero(fg.any(1)), np.flatnonzero(fg.any(0))
    if op is None or not len(ys):
        return out
    # a disk of radius 1 % of the size, applied to the lesion's bounding box plus a
    # margin only (same result as on the whole mask, many times faster)
    r = max(1, int(0.01 * min(h, w)))
    y0, y1, x0, x1 = max(ys[0] - r - 1, 0), ys[-1] + r + 2, max(xs[0] - r - 1, 0), xs[-1] + r + 2
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    out[y0:y1, x0:x1] = op(out[y0:y1, x0:x1], disk)
    return out


def write_predictions(truth_files: list[Path], dest: Path) -> None:
    def save(item):
        (i, mask), f = item
        Image.fromarray(perturb(mask, i), mode="L").save(dest / f.name)  # the ISIC ..._segmentation.png name

    masks = iter_masks_parallel(truth_files)
    for _ in ordered_map(save, zip(masks, truth_files)):
        pass


# A forked child starts with its parent's resident set counted in its ru_maxrss (and
# vfork/posix_spawn children with the parent's peak), so each scorer is started by
# this tiny launcher, a fresh ~10 MiB interpreter: the peak it reads is the scorer's.
_LAUNCHER = """import os, sys, time
t = time.perf_counter()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{time.perf_counter() - t} {usage.ru_utime + usage.ru_stime} {usage.ru_maxrss} "
            f"{os.waitstatus_to_exitcode(status)}")
"""


def run_child(cmd: list[str]) -> tuple[float, float, float, str]:
    """Wall seconds, CPU seconds (user + system, all threads), peak MiB (the scorer
    process's own ru_maxrss) and stdout of one command."""
    with tempfile.TemporaryDirectory() as tmp:
        report, out, err = Path(tmp) / "report", Path(tmp) / "out", Path(tmp) / "err"
        with out.open("wb") as o, err.open("wb") as e:
            subprocess.run([sys.executable, "-c", _LAUNCHER, str(report), *cmd],
                           stdout=o, stderr=e, cwd=ROOT, check=True)
        seconds, cpu_seconds, maxrss_kib, rc = report.read_text().split()
        if int(rc) != 0:
            sys.exit(f"error: {' '.join(cmd)} exited {rc}:\n{err.read_text()[-3000:]}")
        return float(seconds), float(cpu_seconds), int(maxrss_kib) / 1024, out.read_text()  # ru_maxrss: KiB


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--truth", type=Path, default=DEFAULT_TRUTH,
                    help="folder of ISIC truth masks (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "scoring.csv")
    a = ap.parse_args(argv)
    if not a.truth.is_dir():
        sys.exit(f"error: truth folder {a.truth} not found; pass --truth DIR with ISIC_nnnnnnn_segmentation.png masks "
                 "(the default is the full-resolution ISIC 2017 validation masks in ../shared/data)")
    truth_files = sorted(a.truth.glob("ISIC_*.png"))
    if not truth_files:
        sys.exit(f"error: no ISIC_*.png masks in {a.truth}")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0]
    print(f"{len(truth_files)} truth masks in {display(a.truth)}; {cpu_model()}, {cpus} CPUs, load {load:.2f}")
    if load > 0.5:
        print("warning: other processes are using the CPUs; the timings will be unreliable", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="skinseg-bench-") as tmp:
        pred = Path(tmp) / "pred"
        pred.mkdir()
        t0 = time.perf_counter()
        write_predictions(truth_files, pred)
        print(f"wrote {len(truth_files)} perturbed predictions in {time.perf_counter() - t0:.1f} s")
        runs = {
            "official": [sys.executable, "-m", "isic_challenge_scoring", "-o", "json", "segmentation",
                         str(a.truth), str(pred)],
            "skinseg": [sys.executable, "-m", "skinseg", "score", str(a.truth), str(pred), "--json"],
        }
        res = {}
        for name, cmd in runs.items():
            seconds, cpu_seconds, mib, out = run_child(cmd)
            res[name] = (seconds, cpu_seconds, mib, json.loads(out)["macro_average"])
            print(f"  {name:<9} {seconds:7.2f} s  {cpu_seconds:7.2f} CPU s  {mib:7.0f} MiB")
    load_after = os.getloadavg()[0]

    official, ours = res["official"][3], res["skinseg"][3]
    shared = [k for k in METRICS if k in official and k in ours]
    diffs = {k: abs(official[k] - ours[k]) for k in shared}
    missing = [k for k in METRICS if k not in shared]
    speedup = res["official"][0] / res["skinseg"][0]
    rows = [{"scorer": name, "threads": 1 if name == "official" else cpus, "n_images": len(truth_files),
             "seconds": s, "cpu_seconds": cpu, "peak_mib": mib,
             "speedup_vs_official": res["official"][0] / s, "memory_vs_official": mib / res["official"][2],
             "max_abs_metric_diff": max(diffs.values(), default=float("nan")),
             "machine": f"{platform.processor() or platform.machine()}, {cpus} CPUs", "cpu_model": cpu_model(),
             "load_avg_1min_before": round(load, 2), "load_avg_1min_after": round(load_after, 2),
             "truth": display(a.truth)}
            for name, (s, cpu, mib, _) in res.items()]
    table = pd.DataFrame(rows)
    print()
    print(table[["scorer", "threads", "n_images", "seconds", "cpu_seconds", "peak_mib", "speedup_vs_official",
                 "memory_vs_official"]]
          .to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"\nspeed-up official/skinseg: {speedup:.2f}x; macro metrics compared: {', '.join(shared)}")
    bad = {k: d for k, d in diffs.items() if not d <= TOLERANCE}
    if bad or missing:
        for k, d in bad.items():
            print(f"MISMATCH {k}: official {official[k]!r} vs skinseg {ours[k]!r} (|diff| {d:.3g})", file=sys.stderr)
        if missing:
            print(f"MISSING in one scorer's output: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"all {len(shared)} macro metrics agree to {TOLERANCE:g} (max |diff| {max(diffs.values()):.3g})")
    write_csv(a.out, table)
    print(f"wrote {display(a.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

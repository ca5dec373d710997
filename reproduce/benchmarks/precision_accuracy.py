"""Accuracy check of bf16 autocast: LinkNet-64 on the cpu-real data trained with fp32 (NCHW) and
with bf16 + channels_last, the same seeds, everything else equal; test macro Jaccard at original
resolution per seed, mean ± sd per precision, and whether the bf16 mean lies within the fp32
seed spread (min..max of the fp32 seeds).

    python reproduce/benchmarks/precision_accuracy.py [--seeds 0,1,2] [--size 128] [--epochs 12]

Runs go through skinseg.experiment under results/benchmarks/precision-accuracy/<precision>/
(reused when finished, so the check can be completed over several sessions); the table is
written to results/benchmarks/precision-accuracy.csv.
"""
from __future__ import annotations

import argparse

import pandas as pd

from skinseg.experiment import Experiment
from skinseg.papers import get_paper
from skinseg.profiles import load_profile, resolve
from skinseg.results import write_csv

ARMS = {"fp32": dict(precision="fp32", channels_last=False), "bf16": dict(precision="bf16", channels_last=True)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--arms", default="bf16,fp32")
    a = ap.parse_args(argv)
    spec = get_paper("delatorre2018")
    rows = []
    for arm in a.arms.split(","):
        p = resolve(spec, load_profile("cpu-real"))
        p.update(ARMS[arm], image_height=a.size, image_width=a.size, epochs=a.epochs, variants="LinkNet-64",
                 seeds=a.seeds, results_dir=f"results/benchmarks/precision-accuracy/{arm}",
                 checkpoint_dir=f"checkpoints/precision-accuracy/{arm}")
        for o in Experiment(p, spec).run_all():
            m = o.metrics.query("metric == 'jaccard' and reduction == 'macro' and target == 'lesion'")
            rows += [{"precision": arm, "seed": o.seed, "resolution": r, "jaccard": v}
                     for r, v in zip(m.resolution, m.value)]
            print(f"{arm} seed {o.seed} ({o.status}): " + ", ".join(f"{r} {v:.4f}" for r, v in zip(m.resolution, m.value)),
                  flush=True)
    df = pd.DataFrame(rows)
    write_csv("results/benchmarks/precision-accuracy.csv", df)
    summ = df.groupby(["resolution", "precision"]).jaccard.agg(["mean", "std", "min", "max", "count"])
    print(summ.to_string(float_format=lambda v: f"{v:.4f}"))
    if {"fp32", "bf16"} <= set(df.precision):
        for res in ("original", "training"):
            f, b = summ.loc[(res, "fp32")], summ.loc[(res, "bf16")]
            inside = f["min"] <= b["mean"] <= f["max"]
            print(f"{res} res.: bf16 mean {b['mean']:.4f} vs fp32 {f['mean']:.4f} ± {f['std']:.4f} "
                  f"(seeds {f['min']:.4f}..{f['max']:.4f}): {'within' if inside else 'OUTSIDE'} the fp32 seed spread")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

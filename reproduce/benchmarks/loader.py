"""Data-path benchmark: a training step fed by the real loader (in-memory uint8 split,
albumentations, DataLoader, per-batch normalisation) against the same step on batches already
in memory as normalised tensors. LinkNet-64, bf16 + channels_last, 128x128 by default.

    python reproduce/benchmarks/loader.py [--data ../shared/data/isic2017-256] [--steps 40]

Prints both step times and their ratio (target <= 1.10) and writes results/benchmarks/loader.csv.
Run it with nothing else on the CPU.
"""
from __future__ import annotations

import argparse
import platform
import time

import torch
from torch.utils.data import DataLoader

from skinseg.data import PreprocessCache, SegmentationDataset, discover
from skinseg.inference import autocast, prepare_images
from skinseg.losses import dice_loss
from skinseg.models import build_model
from skinseg.paths import display, resolve
from skinseg.results import write_csv
from skinseg.seed import seed_everything


def step_time(model, opt, batches, precision, channels_last, prepare) -> float:
    """Seconds per optimiser step over ``batches`` (after two warm-up steps)."""
    it = iter(batches)

    def one():
        b = next(it)
        x, y = prepare(b)
        with autocast("cpu", precision):
            out = model(x)
        loss = dice_loss(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    one(), one()
    n, t = 0, time.perf_counter()
    while True:
        try:
            one()
        except StopIteration:
            break
        n += 1
    return (time.perf_counter() - t) / n


def main(argv=None) -> int:
    import pandas as pd

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/isic2017-256")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--out", default="results/benchmarks/loader.csv")
    a = ap.parse_args(argv)
    root = resolve(a.data)
    if not root.is_dir():
        raise SystemExit(f"error: {a.data}: no such folder (pass --data with an ISIC tree)")
    idx = discover(root)
    samples = idx.samples("train")[: a.batch * (a.steps + 2)]
    ds = SegmentationDataset(samples, (a.size, a.size), PreprocessCache("cache"), idx.dataset, "flip_rot90", 0,
                             memory_budget_mb=4096)
    seed_everything(0)
    model = build_model("linknet64").to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    loader = DataLoader(ds, batch_size=a.batch, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(0))

    def real(b):
        return prepare_images(b["image"], "cpu", "imagenet", True), b["mask"]

    # the same batches, decoded, augmented, normalised and laid out beforehand
    ready = [real(b) for b in loader]
    t_real = step_time(model, opt, loader, "bf16", True, real)
    t_mem = step_time(model, opt, ready, "bf16", True, lambda b: b)
    ratio = t_real / t_mem
    print(f"LinkNet-64 bf16+channels_last {a.size}x{a.size}, batch {a.batch}, {a.steps} steps, "
          f"{torch.get_num_threads()} threads, data {display(root)}")
    print(f"  real loader      {t_real * 1000:8.1f} ms/step")
    print(f"  tensors in RAM   {t_mem * 1000:8.1f} ms/step")
    print(f"  ratio            {ratio:8.3f}  (target <= 1.10: {'met' if ratio <= 1.10 else 'NOT met'})")
    write_csv(resolve(a.out), pd.DataFrame([{
        "model": "linknet64", "size": f"{a.size}x{a.size}", "batch": a.batch, "steps": a.steps,
        "precision": "bf16", "channels_last": True, "real_loader_ms": t_real * 1000, "in_memory_ms": t_mem * 1000,
        "ratio": ratio, "threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine(),
        "data": display(root)}]))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

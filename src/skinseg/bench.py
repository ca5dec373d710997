"""Cost benchmark of every registered model: parameters, forward FLOPs per image
(``torch.utils.flop_counter``), inference and training images/s, peak memory.

Each model is measured in a fresh subprocess, so peak memory is its own: on CUDA
``torch.cuda.max_memory_allocated``; on CPU the growth of the process's peak
resident set (``ru_maxrss``) over its value before the model was built.
Precision (fp32, bf16 autocast on CPU or CUDA, fp16 autocast on CUDA) and
channels_last are arguments; with several precisions, the first is the
reference (measured in the default contiguous format) and each other one is
measured right after it on the same model and size, so each speed-up ratio pairs
two measurements taken one after the other. Figures are short measurements
(``repeats`` timed iterations after ``WARMUP`` untimed ones), for ranking and ratios,
not for a paper's table of record. Back-to-back processes on an idle 2-core machine
differ by up to ~35 % (the fp32 step most), so ``rounds`` > 1 measures the whole set
of precisions again, each in a fresh process, and a ratio is reported as the median
of the per-round ratios with their range. Training's allocator setting
(:mod:`skinseg.allocator`) applies here too.
"""
from __future__ import annotations

import multiprocessing as mp
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from skinseg.cpuinfo import cpu_name
from skinseg.results import write_csv

# Input size (H, W) each paper used; None where the paper does not say (256x256 then).
PAPER_INPUT_SIZE = {
    "linknet64": None, "linknet": None, "lesionseg": None,
    "slsdeep": (384, 384), "slsdeep_asc": (384, 384),
    "fpn": None, "fpn_resnet34": None,
    "asnet": (192, 256), "asnet_baseline": (192, 256), "asnet_wo_di": (192, 256), "asnet_wo_sa": (192, 256),
    "asnet_baseline_wide": (192, 256), "unet": (192, 256),
}
DEFAULT_SIZE = (256, 256)
COLUMNS = ["model", "height", "width", "batch", "device", "precision", "channels_last", "parameters",
           "gflops_per_image", "inference_img_s", "train_img_s", "peak_memory_mib", "memory_kind", "machine", "round"]


def forward_flops(model, x) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        model(x)
    return fc.get_total_flops()


# Two untimed calls: the first builds oneDNN primitives, the first optimiser step also
# allocates Adam's state, so steady state starts at the third call.
WARMUP = 2


def _time(fn, repeats: int, sync) -> float:
    for _ in range(WARMUP):
        fn()
    sync()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync()
    return time.perf_counter() - t


def model_and_batch(name: str, size, batch: int, device: str = "cpu", channels_last: bool = False):
    """The model ``name`` built after ``torch.manual_seed(0)`` and a fixed random batch on ``device``:
    images ``(N, 3, H, W)`` and a binary mask ``(N, 1, H, W)``, all in channels_last when asked."""
    from skinseg.models import build_model

    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = build_model(name).to(device).to(memory_format=fmt)
    x = torch.randn(batch, 3, *size, device=device).to(memory_format=fmt)
    y = (torch.rand(batch, 1, *size, device=device) > 0.5).float()
    return model, x, y


def training_step(model, x, y, device: str, precision: str):
    """A closure that runs one optimiser step of ``model`` on the fixed batch ``x``, ``y``: Adam
    1e-4, BCE, autocast at ``precision`` (loss scaling for fp16 on CUDA)."""
    from skinseg.inference import autocast
    from skinseg.losses import bce_loss

    opt = torch.optim.Adam(model.parameters(), 1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=device.startswith("cuda") and precision == "fp16")

    def step():
        with autocast(device, precision):
            out = model(x)
        loss = bce_loss(out.float(), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    return step


def measure(name: str, size, batch: int, device: str, repeats: int, precision: str = "fp32",
            channels_last: bool = False) -> dict:
    """Measure one model in this process (call through :func:`run` for a clean process), with the
    allocator settings training uses (:func:`skinseg.allocator.keep_freed_memory`)."""
    from skinseg.allocator import keep_freed_memory
    from skinseg.inference import autocast
    from skinseg.models import count_parameters

    keep_freed_memory()
    cuda = device.startswith("cuda")
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model, x, y = model_and_batch(name, size, batch, device, channels_last)
    flops = forward_flops(model.eval(), x[:1])
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    if cuda:
        torch.cuda.reset_peak_memory_stats()

    def infer():
        with torch.no_grad(), autocast(device, precision):
            model(x)

    model.eval()
    t_inf = _time(infer, repeats, sync)
    step = training_step(model, x, y, device, precision)
    model.train()
    t_train = _time(step, repeats, sync)
    if cuda:
        peak, kind = torch.cuda.max_memory_allocated() / 2**20, "cuda max allocated"
    else:
        peak, kind = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024, "cpu peak RSS growth"
    machine = torch.cuda.get_device_name() if cuda else f"{cpu_name()}, {torch.get_num_threads()} threads"
    return {"model": name, "height": size[0], "width": size[1], "batch": batch, "device": device,
            "precision": precision, "channels_last": channels_last, "parameters": count_parameters(model), "gflops_per_image": flops / 1e9,
            "inference_img_s": batch * repeats / t_inf, "train_img_s": batch * repeats / t_train,
            "peak_memory_mib": peak, "memory_kind": kind, "machine": machine}


def _child(queue, *args):
    try:
        queue.put(measure(*args))
    except BaseException as e:  # report, do not hang the parent
        queue.put({"error": f"{type(e).__name__}: {e}"})


def speedups(df: pd.DataFrame) -> pd.DataFrame:
    """Training and inference images/s of each precision over the reference (the first one
    measured), per model and size: each ratio is taken within one round (the two measured one
    after the other) and the table gives the median over rounds (images/s: their medians too),
    the smallest and largest training ratio, and the number of rounds."""
    df = df.assign(round=df["round"].fillna(0) if "round" in df else 0)
    ref_name = df.precision.iloc[0]
    keys = ["model", "height", "width"]
    ref = df[df.precision == ref_name].set_index(keys + ["round"])
    rows = []
    for (model, h, w, prec, cl), g in df[df.precision != ref_name].groupby(keys + ["precision", "channels_last"],
                                                                        sort=False):
        base = ref.loc[[(model, h, w, r) for r in g["round"]]]
        train = g.train_img_s.to_numpy() / base.train_img_s.to_numpy()
        infer = g.inference_img_s.to_numpy() / base.inference_img_s.to_numpy()
        rows.append({"model": model, "size": f"{h}x{w}", "device": g.device.iloc[0],
                     "reference": f"{ref_name}{' channels_last' if base.channels_last.iloc[0] else ''}",
                     "compared": f"{prec}{' channels_last' if cl else ''}",
                     "train_img_s_reference": base.train_img_s.median(), "train_img_s": g.train_img_s.median(),
                     "train_speedup": float(np.median(train)), "train_speedup_min": float(train.min()),
                     "train_speedup_max": float(train.max()), "inference_speedup": float(np.median(infer)),
                     "rounds": len(g), "machine": g.machine.iloc[0]})
    return pd.DataFrame(rows)


def run(models, size=None, batch: int = 2, device: str = "cpu", repeats: int = 3, out: Path | None = None,
        progress=print, precisions=("fp32",), channels_last: bool = False, sizes: dict | None = None,
        rounds: int = 1) -> pd.DataFrame:
    """Benchmark ``models`` (size: ``size``, else ``sizes[model]``, else the paper's input size)
    at each of ``precisions`` (the first is the reference, measured in the contiguous format;
    the others with ``channels_last``), all precisions in turn ``rounds`` times per model (column
    ``round``), and write ``out`` atomically."""
    from skinseg.models import list_models

    unknown = [m for m in models if m not in list_models()]
    if unknown:
        raise KeyError(f"unknown model(s) {unknown}; valid names: {', '.join(list_models())}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device=cuda but CUDA is not available here; use --device cpu")
    from skinseg.params import PRECISIONS

    bad = [p for p in precisions if p not in PRECISIONS]
    if bad or not precisions:
        raise ValueError(f"precision must be a list of {PRECISIONS}, got {list(precisions)}")
    if not device.startswith("cuda") and "fp16" in precisions:
        raise ValueError("fp16 autocast is CUDA-only; on the CPU compare fp32,bf16")
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if len(set(precisions)) != len(precisions):
        raise ValueError(f"each precision once, got {list(precisions)}; the first is the reference of the ratios")
    ctx = mp.get_context("spawn")
    rows = []
    for name in models:
        hw = size or (sizes or {}).get(name) or PAPER_INPUT_SIZE.get(name) or DEFAULT_SIZE
        for rnd, (i, prec) in ((r, ip) for r in range(rounds) for ip in enumerate(precisions)):
            cl = channels_last and (i > 0 or len(precisions) == 1)
            q = ctx.Queue()
            p = ctx.Process(target=_child, args=(q, name, hw, batch, device, repeats, prec, cl))
            p.start()
            row = q.get()
            p.join()
            if "error" in row:
                raise RuntimeError(f"benchmark of {name} at {hw[0]}x{hw[1]} ({prec}) failed: {row['error']}")
            rows.append({**row, "round": rnd})
            progress(f"{name:<20} {hw[0]}x{hw[1]} {prec}{'+CL' if cl else '   '} {row['parameters']:>12,} params  "
                     f"{row['gflops_per_image']:8.2f} GFLOP  infer {row['inference_img_s']:8.2f} img/s  "
                     f"train {row['train_img_s']:8.2f} img/s  peak {row['peak_memory_mib']:8.0f} MiB"
                     + (f"  round {rnd + 1}/{rounds}" if rounds > 1 else ""))
    df = pd.DataFrame(rows, columns=COLUMNS)
    if out is not None:
        write_csv(Path(out), df)
    return df

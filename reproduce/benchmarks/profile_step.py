"""Where a training step's time goes: the convolutions of one model's training step, forward and
backward, per input shape, at fp32 (contiguous) and bf16 autocast + channels_last, from
``torch.profiler``. This is how the README's "the backward pass of ASNet's 512-channel 3×4
convolutions is no faster in bf16 than in fp32" was measured.

    python reproduce/benchmarks/profile_step.py [--model asnet] [--size 96x128] [--batch 16] [--top 8]

Prints milliseconds per step for the ``--top`` costliest convolution shapes of each precision.
Run it with nothing else on the CPU; the figures are one profiled pair of steps, not a benchmark
of record.
"""
from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from skinseg.allocator import keep_freed_memory
from skinseg.bench import model_and_batch, training_step

CONV_OPS = ("aten::mkldnn_convolution", "aten::convolution_backward")


def conv_times(name: str, size: tuple[int, int], batch: int, precision: str, channels_last: bool) -> list[tuple]:
    """(op, ms per step, calls per step, input shapes) of every convolution op, costliest first, in
    the training step ``skinseg bench`` times."""
    model, x, y = model_and_batch(name, size, batch, "cpu", channels_last)
    step = training_step(model.train(), x, y, "cpu", precision)
    for _ in range(2):  # oneDNN primitives and Adam's state
        step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        step()
        step()
    rows = [(k.key, k.self_cpu_time_total / 1e3 / 2, k.count // 2, str(k.input_shapes[:3]))
            for k in prof.key_averages(group_by_input_shape=True) if k.key in CONV_OPS]
    return sorted(rows, key=lambda r: -r[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="asnet")
    ap.add_argument("--size", default="96x128", help="HxW")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--top", type=int, default=8)
    a = ap.parse_args()
    size = tuple(int(v) for v in a.size.lower().split("x"))
    keep_freed_memory()  # as in training
    for precision, cl in (("fp32", False), ("bf16", True)):
        print(f"{a.model} {a.size} batch {a.batch}, {precision}{' + channels_last' if cl else ''}: ms per step")
        for op, ms, calls, shapes in conv_times(a.model, size, a.batch, precision, cl)[:a.top]:
            print(f"  {op[6:]:<22} {ms:8.1f}  ({calls} calls)  {shapes}")


if __name__ == "__main__":
    main()

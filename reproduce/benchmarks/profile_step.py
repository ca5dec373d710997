"""Where a training step's time goes: the convolutions of one model's training step (or, with
``--all-ops``, every op), forward and backward, per input shape, at fp32 (contiguous) and bf16
autocast + channels_last, from ``torch.profiler``. This is how docs/reference.md's "the backward pass of
ASNet's 512-channel 3×4 convolutions is no faster in bf16 than in fp32" and "its full-resolution
BatchNorm backward and in-place ReLU are slower in bf16" were measured.

    python reproduce/benchmarks/profile_step.py [--model asnet] [--size 96x128] [--batch 16] [--top 8] [--all-ops]

Prints milliseconds per step for the ``--top`` costliest (op, input shape) pairs of each precision.
Run it with nothing else on the CPU; the figures are one profiled pair of steps, not a benchmark
of record.
"""
from __future__ import annotations

import argparse

from torch.profiler import ProfilerActivity, profile

from skinseg.allocator import keep_freed_memory
from skinseg.bench import model_and_batch, training_step

CONV_OPS = ("aten::mkldnn_convolution", "aten::convolution_backward")


def op_times(name: str, size: tuple[int, int], batch: int, precision: str, channels_last: bool,
             ops: tuple[str, ...] | None = CONV_OPS) -> list[tuple]:
    """(op, ms of self time per step, calls per step, input shapes) of every op in ``ops`` (None: all
    ops), costliest first, in the training step ``skinseg bench`` times."""
    model, x, y = model_and_batch(name, size, batch, "cpu", channels_last)
    step = training_step(model.train(), x, y, "cpu", precision)
    for _ in range(2):  # oneDNN primitives and Adam's state
        step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        step()
        step()
    rows = [(k.key, k.self_cpu_time_total / 1e3 / 2, k.count // 2, str(k.input_shapes[:3]))
            for k in prof.key_averages(group_by_input_shape=True) if ops is None or k.key in ops]
    return sorted(rows, key=lambda r: -r[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="asnet")
    ap.add_argument("--size", default="96x128", help="HxW")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--all-ops", action="store_true", help="every op, not only the convolutions")
    a = ap.parse_args()
    size = tuple(int(v) for v in a.size.lower().split("x"))
    keep_freed_memory()  # as in training
    for precision, cl in (("fp32", False), ("bf16", True)):
        print(f"{a.model} {a.size} batch {a.batch}, {precision}{' + channels_last' if cl else ''}: ms per step")
        rows = op_times(a.model, size, a.batch, precision, cl, None if a.all_ops else CONV_OPS)
        for op, ms, calls, shapes in rows[:a.top]:
            print(f"  {op.removeprefix('aten::'):<32} {ms:8.1f}  ({calls} calls)  {shapes}")


if __name__ == "__main__":
    main()

"""What the CPU can do fast: its model name and whether it has bf16 instructions.

On a CPU with AMX, bf16 autocast + channels_last trained 1.9-4.6x faster than fp32 (docs/reference.md,
"Models"; by model, size and batch). On one with neither AMX nor AVX512-BF16, PyTorch emulates bf16:
the same command trained at 0.45x fp32's speed for LinkNet-64 at 256x256 and for ASNet at 96x128
(batch 16, median of 3 rounds; ``results/benchmarks/cpu-fp32-bf16-noamx-rounds3-speedup.csv``,
2 threads, 2026-12-06). On an AMD EPYC with AVX512-BF16 and no AMX it trained 2.01-2.37x faster than fp32 (SLSDeep and
LinkNet-64 at 96x96, LesionSeg at 192x192; ``results/benchmarks/cpu-fp32-bf16-avx512bf16-rounds3-speedup.csv``,
2026-12-07): bf16 in hardware. The machine a run trained on is therefore part of its wall time:
:func:`skinseg.results.provenance` records :func:`cpu_name`, and :func:`skinseg.train.fit` warns
when bf16 is asked of a CPU that emulates it."""
from __future__ import annotations

import platform
from pathlib import Path

CPUINFO = "/proc/cpuinfo"
BF16_FLAGS = {"amx_bf16": "AMX", "avx512_bf16": "AVX512-BF16"}  # flag -> the tag cpu_name adds


def _cpuinfo_lines(cpuinfo: str) -> list[str] | None:
    try:
        return Path(cpuinfo).read_text().splitlines()
    except OSError:
        return None


def _flags(lines: list[str]) -> set[str] | None:
    line = next((ln for ln in lines if ln.startswith("flags")), None)
    return None if line is None else set(line.split(":", 1)[1].split())


def cpu_flags(cpuinfo: str = CPUINFO) -> set[str] | None:
    """The first processor's x86 flags (Linux ``/proc/cpuinfo``); None where the file or its
    ``flags`` line is absent (off Linux; an ARM CPU lists "Features" instead): unknown."""
    return _flags(_cpuinfo_lines(cpuinfo) or [])


def cpu_name(cpuinfo: str = CPUINFO) -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), tagged "(AMX)" when it has the AMX tile
    instructions that make bf16 fast (else "(AVX512-BF16)" when it has those); else the
    platform's processor or architecture string."""
    lines = _cpuinfo_lines(cpuinfo)
    if lines is None:
        return platform.processor() or platform.machine()
    name = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")
    name = name or platform.processor() or platform.machine()
    flags = _flags(lines) or set()
    tag = next((t for f, t in BF16_FLAGS.items() if f in flags), None)
    return f"{name} ({tag})" if tag else name


def emulates_bf16(cpuinfo: str = CPUINFO) -> bool:
    """True when the CPU's flags are known and hold none of :data:`BF16_FLAGS` (bf16 autocast was then
    slower than fp32); False when they hold one, or are unknown (no warning without evidence)."""
    flags = cpu_flags(cpuinfo)
    return flags is not None and not flags & set(BF16_FLAGS)


def bf16_in_hardware(machine: str) -> bool:
    """From a benchmark's ``machine`` label (:func:`cpu_name` and the threads): False for a named CPU
    without a bf16 tag; True for a tagged one and for a label without a CPU name (an architecture
    string such as "x86_64", written before the name was recorded: those files' bf16 speed-ups,
    1.9-4.6x, show bf16 in hardware)."""
    cpu = str(machine).split(",")[0].strip()
    unnamed = cpu in {"x86_64", "AMD64", "aarch64", "arm64", "i386", platform.machine()}
    return unnamed or any(f"({t})" in cpu for t in BF16_FLAGS.values())


def auto_precision(device: str = "cpu", cpuinfo: str = CPUINFO) -> str:
    """What ``precision: auto`` means on ``device``: "bf16" where bf16 runs in hardware (CUDA with
    bf16 support; a CPU whose flags hold AMX or AVX512-BF16), else "fp32" (a CPU that emulates
    bf16, where it trained at 0.45x fp32's speed, or whose flags are unknown)."""
    if str(device).startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    flags = cpu_flags(cpuinfo)
    return "bf16" if flags is not None and flags & set(BF16_FLAGS) else "fp32"

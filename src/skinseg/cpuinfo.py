"""What the CPU can do fast: its model name and whether it has bf16 instructions.

On a CPU with AMX (or AVX512-BF16) bf16 autocast + channels_last trains 1.4-5x faster than fp32
(README, "bf16 on the CPU"); without them PyTorch emulates bf16 and the same step is slower than fp32
(0.43x for LinkNet-64 at 256x256 and 0.46x for ASNet at 96x128, ``skinseg bench``, 2026-12-06, on a
2-core Xeon without either). The machine a run trained on is therefore part of its wall time:
:func:`skinseg.results.provenance` records :func:`cpu_name`, and :func:`skinseg.train.fit` warns
when bf16 is asked of a CPU that emulates it."""
from __future__ import annotations

import platform
from pathlib import Path

CPUINFO = "/proc/cpuinfo"
BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # either runs bf16 matrix products in hardware


def _cpuinfo_lines(cpuinfo: str) -> list[str] | None:
    try:
        return Path(cpuinfo).read_text().splitlines()
    except OSError:
        return None


def cpu_flags(cpuinfo: str = CPUINFO) -> set[str] | None:
    """The first processor's flags (Linux ``/proc/cpuinfo``); None where the file is not there."""
    lines = _cpuinfo_lines(cpuinfo)
    if lines is None:
        return None
    return set(next((ln.split(":", 1)[1].split() for ln in lines if ln.startswith("flags")), []))


def cpu_name(cpuinfo: str = CPUINFO) -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), with "AMX" when it has the AMX tile
    instructions that make bf16 fast; else the platform's processor or architecture string."""
    lines = _cpuinfo_lines(cpuinfo)
    if lines is None:
        return platform.processor() or platform.machine()
    name = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name")), "")
    name = name or platform.processor() or platform.machine()
    return f"{name} (AMX)" if "amx_bf16" in (cpu_flags(cpuinfo) or ()) else name


def emulates_bf16(cpuinfo: str = CPUINFO) -> bool:
    """True when the CPU has none of :data:`BF16_FLAGS` (bf16 autocast is then slower than fp32);
    False when it has one, or when its flags cannot be read (no /proc: nothing to warn about)."""
    flags = cpu_flags(cpuinfo)
    return flags is not None and not flags & set(BF16_FLAGS)

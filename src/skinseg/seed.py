"""The one place randomness is seeded.

Every random decision (splits, synthetic data, augmentation, data order, weight
init, dropout) derives from one integer seed, so the same seed gives the same
split files and, on CPU, bitwise-identical numbers.
"""
from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed python, numpy and torch (CPU and CUDA) and ask torch for determinism."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if deterministic:
        # warn_only: a few CUDA kernels (e.g. bilinear upsample backward) have no
        # deterministic version; CPU results are deterministic regardless.
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """A numpy Generator for one purpose, e.g. ``rng_for(seed, epoch, index)``.

    Derived from the keys alone (not from global state), so a sample's
    augmentation does not depend on worker count, order or resumption.
    """
    return np.random.default_rng(np.random.SeedSequence([seed, *keys]))


def torch_generator(seed: int, *keys: int) -> torch.Generator:
    """A torch Generator derived like :func:`rng_for` (for DataLoader shuffling)."""
    g = torch.Generator()
    g.manual_seed(int(rng_for(seed, *keys).integers(0, 2**63 - 1)))
    return g


def worker_init_fn(worker_id: int) -> None:
    """DataLoader worker seeding: numpy/python from torch's per-worker seed."""
    s = torch.initial_seed() % 2**32
    np.random.seed(s)
    random.seed(s)


def rng_state() -> dict:
    """Global RNG states, saved in checkpoints so a resumed run continues exactly."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])

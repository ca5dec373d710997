"""Augmentations (numpy, seeded per item) and tensor conversion."""
from __future__ import annotations

import numpy as np
import torch

# ImageNet statistics: used for every model so a torchvision checkpoint can be
# dropped in; from-scratch runs are indifferent to the choice.
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

AUGMENTATIONS = ("none", "flip", "flip_rot90", "flip_rot90_color")


def augment(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, kind: str):
    """Apply augmentation ``kind`` to ``img (H, W, 3) uint8`` and ``mask (H, W) bool``.

    flip: horizontal and vertical flips (p = 0.5 each); rot90: a random multiple
    of 90 degrees (square inputs only); color: brightness/contrast jitter +-10 %.
    """
    if kind not in AUGMENTATIONS:
        raise ValueError(f"augmentation must be one of {AUGMENTATIONS}, got {kind!r}")
    if kind == "none":
        return img, mask
    if rng.random() < 0.5:
        img, mask = img[:, ::-1], mask[:, ::-1]
    if rng.random() < 0.5:
        img, mask = img[::-1], mask[::-1]
    if "rot90" in kind and img.shape[0] == img.shape[1]:
        k = int(rng.integers(0, 4))
        img, mask = np.rot90(img, k), np.rot90(mask, k)
    if "color" in kind:
        b, c = rng.uniform(-0.1, 0.1), rng.uniform(0.9, 1.1)
        f = img.astype(np.float32)
        img = np.clip((f - f.mean()) * c + f.mean() + 255 * b, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img), np.ascontiguousarray(mask)


def to_tensor(img: np.ndarray, mask: np.ndarray | None = None):
    """``(H, W, 3) uint8`` -> normalised ``(3, H, W) float32``; mask -> ``(1, H, W) float32``."""
    x = torch.from_numpy(((img.astype(np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1).copy())
    if mask is None:
        return x
    return x, torch.from_numpy(mask.astype(np.float32)[None].copy())

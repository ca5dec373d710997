"""Augmentation pipelines (albumentations), seeded per sample, and per-batch normalisation (torch).

Augmentation works on ``(H, W, 3) uint8`` images and ``(H, W)`` bool masks and never changes the
size. It is deterministic per ``(seed, epoch, index, kind)``: the random state of the (cached)
albumentations pipeline is replaced before every call by generators derived from those keys alone
(:func:`skinseg.seed.rng_for`), so a sample's augmentation does not depend on call order, worker
count or resumption.

Normalisation happens on the batch in torch (:func:`normalize`), so the Dataset hands out uint8
tensors and the conversion to float runs once per batch, on whatever device the batch is on.
"""
from __future__ import annotations

import os
import random
import threading
from functools import lru_cache

import numpy as np
import torch

# albumentations asks PyPI for a newer version on import (2 s network timeout); runs must be offline
# and quiet, so switch that off unless the user set it explicitly.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402
import cv2  # noqa: E402

from skinseg.seed import rng_for  # noqa: E402

# ImageNet statistics (RGB, on [0, 1]): the default so a torchvision checkpoint can be dropped in.
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)

AUGMENTATIONS = ("none", "flip", "flip_rot90", "flip_rot90_color", "slsdeep", "fpn_code", "hflip")
NORMALIZATIONS = ("imagenet", "per_image")



class _Rotate0or180(A.RandomRotate90):
    """``RandomRotate90`` restricted to 0 or 180 degrees (p = 0.5 each), so the size never changes."""

    def get_params(self) -> dict[str, int]:
        return {"factor": 2 * self.py_random.randint(0, 1)}


def _constant0() -> dict:
    return {"border_mode": cv2.BORDER_CONSTANT, "fill": 0, "fill_mask": 0}


def _flip_rot90(h: int, w: int) -> list:
    rot = A.RandomRotate90(p=1.0) if h == w else _Rotate0or180(p=1.0)
    return [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5), rot]


def _transforms(kind: str, h: int, w: int) -> list:
    """The albumentations transforms of pipeline ``kind`` for an ``h x w`` input."""
    if kind == "none":
        return []
    if kind == "hflip":  # ASNet
        return [A.HorizontalFlip(p=0.5)]
    if kind == "flip":
        return [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)]
    if kind == "flip_rot90":  # LinkNet-64, LesionSeg
        return _flip_rot90(h, w)
    if kind == "flip_rot90_color":
        return _flip_rot90(h, w) + [A.RandomBrightnessContrast(brightness_limit=0.1, contrast_limit=0.1, p=1.0)]
    if kind == "slsdeep":  # SLSDeep: scale 0.5-1.5, rotation +-10 degrees, horizontal flip
        return [
            A.Affine(scale=(0.5, 1.5), rotate=(-10, 10), keep_ratio=True, fit_output=False, p=1.0, **_constant0()),
            A.HorizontalFlip(p=0.5),
        ]
    if kind == "fpn_code":  # the public FPN repository's training pipeline (see augment's docstring)
        return [
            A.Resize(h, w, interpolation=cv2.INTER_AREA, mask_interpolation=cv2.INTER_NEAREST),
            A.PadIfNeeded(min_height=h, min_width=w, **_constant0()),
            A.RandomCrop(h, w, p=0.3),  # a crop of the input size from an image of that size: a no-op, kept as in the code
            A.HorizontalFlip(p=0.5),
            A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, brightness_by_max=True, p=0.4),
            # ShiftScaleRotate(shift_limit=0.1, scale_limit=0.5, rotate_limit=0, border_mode=0), written as
            # the Affine it is; keep_ratio=True keeps the isotropic scale of albumentations < 2 (2.x's
            # ShiftScaleRotate draws x and y scales independently and warns that it is deprecated).
            A.Affine(
                scale=(0.5, 1.5), translate_percent=(-0.1, 0.1), rotate=0, keep_ratio=True, fit_output=False,
                p=1.0, **_constant0(),
            ),
        ]
    raise ValueError(f"augmentation must be one of {AUGMENTATIONS}, got {kind!r}")


@lru_cache(maxsize=64)
def _pipeline(kind: str, h: int, w: int) -> tuple[A.Compose, threading.Lock]:
    compose = A.Compose(_transforms(kind, h, w), p=1.0, mask_interpolation=cv2.INTER_NEAREST, strict=True)
    return compose, threading.Lock()


def augment(img: np.ndarray, mask: np.ndarray, kind: str, seed: int, epoch: int, index: int):
    """Apply augmentation pipeline ``kind`` to ``img (H, W, 3) uint8`` and ``mask (H, W)`` bool or 0/1.

    Returns a C-contiguous ``(H, W, 3) uint8`` image and ``(H, W) bool`` mask of the input's size.
    The same ``(seed, epoch, index, kind)`` always gives the same arrays.

    Pipelines (masks always use nearest-neighbour interpolation; borders are filled with 0):

    - ``none``: identity.
    - ``hflip`` (ASNet): horizontal flip, p = 0.5.
    - ``flip``: horizontal and vertical flips, p = 0.5 each.
    - ``flip_rot90`` (LinkNet-64, LesionSeg): the flips, then a random multiple of 90 degrees
      (0 or 180 only for non-square inputs, so the size never changes).
    - ``flip_rot90_color``: ``flip_rot90``, then brightness and contrast jitter +-10 %.
    - ``slsdeep`` (SLSDeep): isotropic scale 0.5-1.5 and rotation +-10 degrees about the centre at
      the same output size, then a horizontal flip p = 0.5.
    - ``fpn_code``: ``transformation.py`` of the public FPN repository (alberflor/semantic-segmentation-skin)
      at commit 2695bad (2020-11-21, the commit that adds the per-epoch logs behind the paper's Table 2):
      resize to the input size (``INTER_AREA``) and pad to it (no-ops here: the input already has the
      size the network sees), ``RandomCrop`` of the input size with p = 0.3 (a no-op on an image of that
      size, kept as written), horizontal flip p = 0.5, brightness/contrast limit 0.2 with p = 0.4 (0.3
      only from commit f1ea2f0, 2020-12-17), shift-scale-rotate (shift 0.1, scale 0.5, rotation 0, zero
      border) with p = 1.

    Seeding: one ``numpy.random.Generator`` from ``rng_for(seed, epoch, index)`` and one
    ``random.Random`` seeded from it are shared by all transforms of the pipeline for this call
    (``Compose.set_random_state``). ``Compose.set_random_seed`` is deliberately not used: in
    albumentations 2.0.8 it gives every transform its own generator with the *same* seed, so e.g.
    the horizontal and vertical flips would always be applied together or not at all.
    """
    if kind not in AUGMENTATIONS:
        raise ValueError(f"augmentation must be one of {AUGMENTATIONS}, got {kind!r}")
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {img.shape} {img.dtype}")
    if mask.shape != img.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} != image shape {img.shape[:2]}")
    if kind == "none":
        return np.ascontiguousarray(img), np.ascontiguousarray(mask, dtype=bool)
    h, w = img.shape[:2]
    compose, lock = _pipeline(kind, h, w)
    np_rng = rng_for(seed, epoch, index)
    py_rng = random.Random(int(np_rng.integers(0, 2**63 - 1)))
    with lock:  # the pipeline object is shared; its random state is per call
        compose.set_random_state(np_rng, py_rng)
        out = compose(image=np.ascontiguousarray(img), mask=np.ascontiguousarray(mask, dtype=np.uint8))
    img2, mask2 = out["image"], out["mask"]
    assert img2.shape == img.shape and mask2.shape == mask.shape, (kind, img.shape, img2.shape)
    return np.ascontiguousarray(img2, dtype=np.uint8), np.ascontiguousarray(mask2 > 0)


def to_tensor(img: np.ndarray, mask: np.ndarray | None = None):
    """``(H, W, 3) uint8`` -> ``(3, H, W) uint8`` tensor (not normalised: see :func:`normalize`);
    mask -> ``(1, H, W) float32`` (0/1)."""
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8, got {img.shape} {img.dtype}")
    x = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    if mask is None:
        return x
    return x, torch.from_numpy(np.asarray(mask, dtype=np.float32)[None].copy())


def normalize(x: torch.Tensor, mode: str = "imagenet") -> torch.Tensor:
    """``(N, 3, H, W) uint8`` batch -> ``float32`` network input, same device and memory format.

    - ``imagenet``: ``(x / 255 - MEAN) / STD`` per channel.
    - ``per_image``: each image minus its own mean over all pixels and channels, divided by its own
      (population) standard deviation, floored at ``1 / sqrt(3 * H * W)`` as in
      ``tf.image.per_image_standardization`` (LesionSeg). Computed on raw 0-255 values like
      TensorFlow, so the floor matches it exactly; a constant image gives zeros, never NaN.
    """
    if mode not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {mode!r}")
    if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected an (N, 3, H, W) uint8 tensor, got {tuple(x.shape)} {x.dtype}")
    fmt = (
        torch.channels_last
        if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        else torch.contiguous_format
    )
    f = x.to(torch.float32)
    if mode == "imagenet":
        mean = torch.as_tensor(MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.as_tensor(STD, device=x.device).view(1, 3, 1, 1)
        y = (f / 255 - mean) / std
    else:
        n = x.shape[1] * x.shape[2] * x.shape[3]
        std, mean = torch.std_mean(f, dim=(1, 2, 3), correction=0, keepdim=True)
        y = (f - mean) / std.clamp_min(1.0 / n**0.5)
    return y.contiguous(memory_format=fmt)


def image_batch(img: np.ndarray, mode: str = "imagenet") -> torch.Tensor:
    """One ``(H, W, 3) uint8`` image -> normalised ``(1, 3, H, W) float32`` batch (figures, inference)."""
    return normalize(to_tensor(img)[None], mode)

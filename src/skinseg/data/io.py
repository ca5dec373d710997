"""Decoding images and masks, with errors that name the file."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from skinseg.data.layouts import DataError


def _open(path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
            im.load()  # forces a full decode: truncated files fail here, not later
        return im
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except Exception as e:  # PIL raises several types for corrupt/truncated data
        raise DataError(f"{path}: corrupt or truncated image ({e}); re-download or remove it") from None


def image_size(path: Path) -> tuple[int, int]:
    """(H, W) from the header only."""
    try:
        with Image.open(path) as im:
            return im.size[1], im.size[0]
    except Exception as e:
        raise DataError(f"{path}: unreadable image header ({e}); re-download or remove it") from None


def load_image(path: Path) -> np.ndarray:
    """RGB ``(H, W, 3) uint8``."""
    return np.asarray(_open(path).convert("RGB"))


def load_mask(path: Path, dataset: str = "isic") -> np.ndarray:
    """Boolean lesion mask ``(H, W)``. ``dataset`` is a dataset name: ``"ph2"`` masks
    are binarised ``> 0`` (1-bit or RGB); every other (ISIC) ``> 128``, the scorer's rule."""
    im = _open(path)
    if dataset == "ph2":
        a = np.asarray(im.convert("L") if im.mode == "1" else im)
        return (a > 0) if a.ndim == 2 else (a > 0).any(-1)
    if im.mode == "1":
        im = im.convert("L")
    if im.mode not in ("L", "P"):
        raise DataError(f"{path}: mask has mode {im.mode}; ISIC masks are single-channel 8-bit PNGs")
    return np.asarray(im.convert("L")) > 128


def mask_values(path: Path) -> np.ndarray:
    im = _open(path)
    return np.unique(np.asarray(im.convert("L") if im.mode in ("1", "P") else im))

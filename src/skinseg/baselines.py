"""Non-learned baselines: Otsu thresholding (the floor any CNN must clear)."""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def otsu_threshold(gray: np.ndarray) -> float:
    """Otsu's threshold of a uint8 image (maximises between-class variance)."""
    hist = np.bincount(gray.ravel(), minlength=256).astype(np.float64)
    p = hist / hist.sum()
    omega = np.cumsum(p)
    mu = np.cumsum(p * np.arange(256))
    between = (mu[-1] * omega - mu) ** 2 / np.maximum(omega * (1 - omega), 1e-12)
    return float(np.argmax(between))


def otsu_segment(img: np.ndarray) -> np.ndarray:
    """Lesion mask of an RGB uint8 image: the darker Otsu class of the grey image,
    holes filled, largest connected component kept."""
    gray = (img.astype(np.float64) @ [0.299, 0.587, 0.114]).astype(np.uint8)
    mask = gray <= otsu_threshold(gray)
    mask = ndimage.binary_fill_holes(mask)
    lab, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum(mask, lab, range(1, n + 1))
        mask = lab == (1 + int(np.argmax(sizes)))
    return mask

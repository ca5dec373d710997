"""Non-learned baselines: Otsu thresholding (the floor any CNN must clear; the synthetic data's difficulty
test, ``tests/test_synth.py``, holds LinkNet-64 to it). scikit-image's ``threshold_otsu`` and
``label``; only the lesion's reading (the darker class, holes filled, the largest component) is ours."""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.color import rgb2gray
from skimage.filters import threshold_otsu
from skimage.measure import label


def otsu_segment(img: np.ndarray) -> np.ndarray:
    """Lesion mask ``(H, W)`` bool of an RGB uint8 image ``(H, W, 3)``: the darker Otsu class of its grey
    image (a lesion is darker than the skin around it), holes filled, the largest connected component
    kept. A flat image (one grey level) has no darker class: all False."""
    gray = rgb2gray(img)
    if gray.min() == gray.max():
        return np.zeros(gray.shape, bool)
    mask = ndimage.binary_fill_holes(gray <= threshold_otsu(gray))
    components = label(mask)
    if components.max() > 1:
        mask = components == 1 + int(np.argmax(np.bincount(components.ravel())[1:]))
    return mask

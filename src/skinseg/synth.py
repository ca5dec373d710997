"""Synthetic dermoscopy images: the embedded default dataset.

Deterministic from a seed; written in the ISIC 2018 Task 1 download layout so
the ordinary loader reads it. Each image is skin with an illumination gradient,
vignetting or a dark circular dermoscope field, sensor noise, and one or more
lesions of irregular, fuzzy border (tiny to border-touching, sometimes close to
skin in colour), with internal texture, over which hair strands and ruler marks
are drawn. The mask is the lesion region only (hair and rulers are not lesion).
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from skinseg.seed import rng_for

TRAIN_IMAGES = "ISIC2018_Task1-2_Training_Input"
TRAIN_MASKS = "ISIC2018_Task1_Training_GroundTruth"
VAL_IMAGES = "ISIC2018_Task1-2_Validation_Input"
VAL_MASKS = "ISIC2018_Task1_Validation_GroundTruth"


def _smooth_noise(rng, h, w, sigma):
    n = ndimage.gaussian_filter(rng.standard_normal((h, w)), sigma, mode="wrap")
    return n / (n.std() + 1e-8)


def _blob(rng, yy, xx, h, w):
    """Boolean mask of one irregular lesion (radial Fourier perturbation of an ellipse)."""
    scale = min(h, w)
    # ISIC lesions are mostly large; about one in seven is small
    lo, hi = (0.04, 0.12) if rng.random() < 0.15 else (0.12, 0.5)
    radius = scale * np.exp(rng.uniform(np.log(lo), np.log(hi)))
    margin = rng.uniform(-0.2, 0.25) * scale  # negative margins push lesions over the border
    cy = rng.uniform(margin, h - margin)
    cx = rng.uniform(margin, w - margin)
    if rng.random() < 0.6:  # most dermoscopy frames centre the lesion
        cy, cx = h / 2 + rng.normal(0, 0.12 * h), w / 2 + rng.normal(0, 0.12 * w)
    angle = rng.uniform(0, np.pi)
    aspect = rng.uniform(0.6, 1.0)
    dy, dx = yy - cy, xx - cx
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = (-dx * np.sin(angle) + dy * np.cos(angle)) / aspect
    theta = np.arctan2(v, u)
    r = np.hypot(u, v)
    boundary = np.ones_like(theta)
    irregularity = rng.uniform(0.03, 0.18)
    for k in range(2, 9):
        boundary += irregularity / k**0.7 * rng.standard_normal() * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    return r < radius * np.clip(boundary, 0.4, None)


def _curve_mask(rng, h, w, n_curves, thickness):
    """Thin dark curves (hair): quadratic Bezier strands rasterised by dense sampling."""
    m = np.zeros((h, w), bool)
    t = np.linspace(0, 1, 4 * (h + w))[:, None]
    for _ in range(n_curves):
        p = rng.uniform([-0.1 * h, -0.1 * w], [1.1 * h, 1.1 * w], size=(3, 2))
        pts = (1 - t) ** 2 * p[0] + 2 * (1 - t) * t * p[1] + t**2 * p[2]
        yi, xi = np.round(pts).astype(int).T
        ok = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        m[yi[ok], xi[ok]] = True
    if thickness > 1:
        m = ndimage.binary_dilation(m, iterations=thickness - 1)
    return m


def _ruler_mask(rng, h, w):
    """A ruler: a line near one (random) edge with ticks towards that edge."""
    transpose = rng.random() < 0.5  # along a vertical edge: draw on the transposed frame
    rows, cols = (w, h) if transpose else (h, w)
    m = np.zeros((rows, cols), bool)
    pos = int(rng.uniform(0.03, 0.12) * rows)
    step = max(3, int(rng.uniform(0.03, 0.06) * cols))
    m[pos, :] = True
    for x in range(rng.integers(0, step), cols, step):
        m[max(0, pos - step // 2): pos, x] = True
    if rng.random() < 0.5:
        m = m[::-1]  # the opposite edge
    return np.ascontiguousarray(m.T if transpose else m)


def make_sample(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic image ``(H, W, 3) uint8`` and its mask ``(H, W) uint8`` in {0, 255}."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    skin = np.array([0.86, 0.66, 0.56]) * rng.uniform(0.8, 1.1) + rng.normal(0, 0.04, 3)
    img = np.ones((h, w, 3)) * skin
    img *= (1 + 0.04 * _smooth_noise(rng, h, w, max(h, w) / 10))[..., None]  # skin mottling

    rr = np.hypot((yy - h / 2) / (h / 2), (xx - w / 2) / (w / 2))
    field_radius = rng.uniform(0.95, 1.25) if rng.random() < 0.3 else None  # dark dermoscope field
    n_blobs = 1 if rng.random() < 0.8 else int(rng.integers(2, 4))
    mask = np.zeros((h, w), bool)
    for _ in range(n_blobs):
        mask |= _blob(rng, yy, xx, h, w)
    if field_radius is not None:  # nothing outside the field is visible, so nothing there is lesion
        mask &= rr < field_radius - 0.05
    if mask.sum() < 0.003 * h * w:  # every ISIC image shows a lesion: never (almost) empty
        mask |= np.hypot(yy - h / 2, xx - w / 2) < 0.08 * min(h, w)

    low_contrast = rng.random() < 0.25
    if low_contrast:  # lesion close to skin: slightly darker and redder
        lesion = skin * np.array([0.88, 0.78, 0.74]) * rng.uniform(0.9, 1.0)
    else:
        lesion = np.array([0.45, 0.28, 0.18]) * rng.uniform(0.4, 1.2) + rng.normal(0, 0.03, 3)
    # texture inside the lesion: a darker core, blotches and globules
    dist_in = ndimage.distance_transform_edt(mask)
    core = np.clip(dist_in / (dist_in.max() + 1e-8), 0, 1)
    tex = 1 + 0.12 * _smooth_noise(rng, h, w, rng.uniform(1, 4)) - 0.15 * core * rng.uniform(0, 1)
    globules = ndimage.binary_dilation(rng.random((h, w)) < 0.004) & mask
    lesion_rgb = np.clip(lesion[None, None] * tex[..., None] - 0.08 * globules[..., None], 0, 1)
    # fuzzy border: alpha blurred by a per-image amount
    alpha = ndimage.gaussian_filter(mask.astype(float), rng.uniform(0.5, 2.5) * min(h, w) / 128)
    img = img * (1 - alpha[..., None]) + lesion_rgb * alpha[..., None]

    # illumination gradient
    ang = rng.uniform(0, 2 * np.pi)
    ramp = ((xx / w - 0.5) * np.cos(ang) + (yy / h - 0.5) * np.sin(ang))
    img *= (1 + rng.uniform(0.1, 0.45) * ramp)[..., None]
    # vignetting, and in some images the dark circular field of a dermoscope
    img *= (1 - rng.uniform(0.1, 0.4) * rr**2)[..., None]
    if field_radius is not None:
        field = ndimage.gaussian_filter((rr < field_radius).astype(float), 1.5)
        img *= (0.08 + 0.92 * field)[..., None]
    # hair strands and ruler marks over everything
    if rng.random() < 0.5:
        hair = _curve_mask(rng, h, w, int(rng.integers(1, 12)), int(rng.integers(1, 3)))
        img[hair] = img[hair] * 0.25 + np.array([0.12, 0.08, 0.05]) * 0.75
    if rng.random() < 0.15:
        ruler = _ruler_mask(rng, h, w)
        img[ruler] = rng.choice([0.1, 0.9])
    img += rng.normal(0, 0.015, img.shape)
    img_u8 = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
    return img_u8, (mask * 255).astype(np.uint8)


def write_dataset(dest, n: int, seed: int, size: tuple[int, int] = (128, 128), n_val: int | None = None,
                  overwrite: bool = False) -> Path:
    """Write ``n`` training and ``n_val`` validation pairs in the ISIC 2018 layout.

    Image ``i`` depends only on ``(seed, i)``; the folder appears complete or not
    at all (written beside ``dest`` and renamed into place).
    """
    dest = Path(dest)
    h, w = size
    if n < 1 or h < 16 or w < 16:
        raise ValueError(f"need n >= 1 and size >= 16x16, got n={n}, size={h}x{w}")
    n_val = max(1, n // 5) if n_val is None else n_val
    if dest.exists() and any(dest.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{dest} exists and is not empty; choose another DEST or pass overwrite")
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        for (img_dir, mask_dir), ids in (((TRAIN_IMAGES, TRAIN_MASKS), range(n)),
                                         ((VAL_IMAGES, VAL_MASKS), range(n, n + n_val))):
            (tmp / img_dir).mkdir()
            (tmp / mask_dir).mkdir()
            for i in ids:
                img, mask = make_sample(rng_for(seed, i), h, w)
                Image.fromarray(img).save(tmp / img_dir / f"ISIC_{i:07d}.jpg", quality=92)
                Image.fromarray(mask).save(tmp / mask_dir / f"ISIC_{i:07d}_segmentation.png")
            (tmp / mask_dir / "LICENSE.txt").write_text("Synthetic data generated by skinseg.synth (CC0).\n")
        (tmp / "README.txt").write_text(f"skinseg synthetic dermoscopy: n={n}, n_val={n_val}, seed={seed}, size={h}x{w}\n")
        if dest.exists():
            dest.rmdir()
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest

"""Evaluation at training resolution and at original mask resolution.

Training resolution: the thresholded probabilities at the network's input size
against the truth resized to that size (area average, >= 0.5), no
post-processing. Original resolution: the probabilities upsampled (``bilinear``
or ``bicubic``, ``align_corners=False``) to each original mask's size,
thresholded, post-processed, against the original mask: how the challenge
scores a submission. Post-processing runs at original resolution only, as the
papers describe it.

Scores are always of the *lesion*: a model trained on the background
(``target="background"``) has its lesion probability taken as ``1 - p``.
Background scores follow from the same counts (TP <-> TN, FP <-> FN).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage
from torch.utils.data import DataLoader
from tqdm import tqdm

from skinseg.data.io import load_mask
from skinseg.data.layouts import Sample
from skinseg.inference import predict
from skinseg.metrics import confusion, confusion_counts, per_image_table, summarize
from skinseg.params import OPENING_ELEMENTS, POSTPROCESSING, UPSAMPLING
from skinseg.scoring import ordered_map

COUNTS = ["TP", "TN", "FP", "FN"]


def structuring_element(kind: str = "disk", radius: int = 1) -> np.ndarray:
    """``(2r+1, 2r+1)`` bool: ``disk`` is ``x^2 + y^2 <= r^2`` (scikit-image's ``disk``;
    r = 1 is the plus-shaped 3x3), ``square`` is all ones."""
    if kind not in OPENING_ELEMENTS:
        raise ValueError(f"opening_element must be one of {OPENING_ELEMENTS}, got {kind!r}")
    if kind == "square":
        return np.ones((2 * radius + 1,) * 2, bool)
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return x**2 + y**2 <= radius**2


def postprocess(mask: np.ndarray, kind: str = "none", element: str = "disk", radius: int = 1) -> np.ndarray:
    """``"none"``, or ``"opening"``: morphological opening of the ``(H, W)`` bool mask
    with :func:`structuring_element` (removes specks and protrusions smaller than it)."""
    if kind not in POSTPROCESSING:
        raise ValueError(f"postprocess must be one of {POSTPROCESSING}, got {kind!r}")
    if kind == "none":
        return mask
    return ndimage.binary_opening(mask, structure=structuring_element(element, radius))


def upsample(prob: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """``(1, H, W)`` or ``(N, 1, H, W)`` probabilities to ``size`` (H, W), clamped to [0, 1]."""
    if mode not in UPSAMPLING:
        raise ValueError(f"upsampling must be one of {UPSAMPLING}, got {mode!r}")
    p = prob if prob.dim() == 4 else prob[None]
    out = F.interpolate(p, size=size, mode=mode, align_corners=False).clamp_(0, 1)
    return out if prob.dim() == 4 else out[0]


def background_counts(cm: np.ndarray) -> np.ndarray:
    """Confusion counts of the background class from the lesion's ``(N, 4)`` TP, TN, FP, FN."""
    return np.asarray(cm)[:, [1, 0, 3, 2]]


@dataclass
class Evaluation:
    """Per-image lesion tables keyed by resolution (``"training"``, ``"original"``)."""

    per_image: dict[str, pd.DataFrame]
    probs: torch.Tensor  # lesion probabilities (N, 1, h, w) at training resolution, for figures

    def summary(self, reduction: str = "macro", target: str = "lesion") -> dict[str, dict[str, float]]:
        out = {}
        for res, df in self.per_image.items():
            cm = df[COUNTS].to_numpy()
            out[res] = summarize(background_counts(cm) if target == "background" else cm, reduction)
        return out


@dataclass(frozen=True)
class EvalSettings:
    """How predictions are scored; names as in :mod:`skinseg.params`."""

    threshold: float = 0.5
    upsampling: str = "bilinear"
    postprocess: str = "none"
    opening_element: str = "disk"
    opening_radius: int = 1
    target: str = "lesion"

    @classmethod
    def from_params(cls, p: dict) -> "EvalSettings":
        return cls(**{k: p[k] for k in cls.__dataclass_fields__})


def lesion_probabilities(model, dataset, device="cpu", batch_size=8, precision="fp32", channels_last=False,
                         normalization="imagenet", target="lesion") -> tuple[torch.Tensor, torch.Tensor]:
    """``(probs, masks)`` at training resolution, each ``(N, 1, H, W)``; probs are of the lesion."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    probs, masks, _ = predict(model, loader, device, precision, channels_last, normalization)
    return (1 - probs if target == "background" else probs), masks


def score(probs: torch.Tensor, masks: torch.Tensor, samples: list[Sample], dataset: str, s: EvalSettings,
          original_masks: dict[str, Path] | None = None, original: bool = True,
          prediction_dir: Path | None = None, workers: int = 2, progress: bool = False) -> Evaluation:
    """Score lesion probabilities ``(N, 1, h, w)`` against ``masks`` (same size) and, with
    ``original``, against each sample's original mask (``original_masks[id]`` or its own
    mask file). ``prediction_dir``: write the original-resolution predictions there as
    ``ISIC_nnnnnnn_segmentation.png`` (0/255), scorable by ``python -m skinseg score``.
    ``progress``: a tqdm bar over the images scored at original resolution."""
    ids = [x.id for x in samples]
    tables = {"training": per_image_table(ids, confusion(probs > s.threshold, masks > 0.5).numpy())}
    if original:
        paths = [(original_masks or {}).get(x.id, x.mask) for x in samples]

        def one(i):
            truth = load_mask(paths[i], dataset)
            pred = upsample(probs[i], truth.shape, s.upsampling)[0].numpy() > s.threshold
            pred = postprocess(pred, s.postprocess, s.opening_element, s.opening_radius)
            if prediction_dir is not None:
                write_prediction(Path(prediction_dir), ids[i], pred)
            return confusion_counts(pred, truth)

        # decoding, interpolation and morphology release the GIL: a few threads overlap them. Each image in
        # flight holds ~8 bytes per original pixel (float map, bool masks, opening temporaries: ~230 MB at
        # 4288x6688), and at most workers + 1 are in flight, so keep workers small
        cms = list(tqdm(ordered_map(one, range(len(samples)), workers), total=len(samples), disable=not progress,
                        desc="scoring at original resolution", mininterval=2.0, leave=False))
        tables["original"] = per_image_table(ids, np.stack(cms))
    return Evaluation(tables, probs)


def evaluate(model, dataset, device: str = "cpu", batch_size: int = 8, settings: EvalSettings = EvalSettings(),
             precision: str = "fp32", channels_last: bool = False, normalization: str = "imagenet",
             original_masks: dict[str, Path] | None = None, original: bool = True,
             prediction_dir: Path | None = None) -> Evaluation:
    """Evaluate ``model`` on a lesion-target :class:`SegmentationDataset` (no augmentation)."""
    probs, masks = lesion_probabilities(model, dataset, device, batch_size, precision, channels_last, normalization,
                                        settings.target)
    return score(probs, masks, dataset.samples, dataset.dataset, settings, original_masks, original, prediction_dir)


def write_prediction(folder: Path, image_id: str, mask: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{image_id}_segmentation.png"
    tmp = folder / f".{image_id}.tmp.png"
    Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(tmp)
    tmp.replace(path)
    return path

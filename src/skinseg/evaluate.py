"""Evaluation at training resolution and at original mask resolution.

Training resolution: probabilities at the network's input size against the
truth resized to that size (area average, >= 0.5). Original resolution: the
probabilities upsampled (``bilinear`` or ``bicubic``, ``align_corners=False``)
to each original mask's size, thresholded, optionally post-processed, against
the original mask, which is how the challenge scores a submission.
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

from skinseg.data.io import load_mask
from skinseg.data.layouts import Sample
from skinseg.metrics import confusion, per_image_table, summarize
from skinseg.train import predict

UPSAMPLING = ("bilinear", "bicubic")
POSTPROCESSING = ("none", "opening")


def disk(radius: int) -> np.ndarray:
    """Disk structuring element of the given radius (``(2r+1, 2r+1)`` bool)."""
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return x**2 + y**2 <= radius**2


def postprocess(mask: np.ndarray, kind: str = "none", radius: int = 3) -> np.ndarray:
    """``"none"``, or ``"opening"``: morphological opening with :func:`disk(radius)`
    (removes specks and thin protrusions smaller than the disk)."""
    if kind not in POSTPROCESSING:
        raise ValueError(f"postprocess must be one of {POSTPROCESSING}, got {kind!r}")
    if kind == "none" or radius < 1:
        return mask
    return ndimage.binary_opening(mask, structure=disk(radius))


def upsample(prob: torch.Tensor, size: tuple[int, int], mode: str = "bilinear") -> torch.Tensor:
    """``(1, H, W)`` or ``(N, 1, H, W)`` probabilities to ``size`` (H, W)."""
    if mode not in UPSAMPLING:
        raise ValueError(f"upsampling must be one of {UPSAMPLING}, got {mode!r}")
    p = prob if prob.dim() == 4 else prob[None]
    out = F.interpolate(p, size=size, mode=mode, align_corners=False).clamp_(0, 1)
    return out if prob.dim() == 4 else out[0]


@dataclass
class Evaluation:
    """Per-image tables keyed by resolution (``"training"``, ``"original"``)."""

    per_image: dict[str, pd.DataFrame]
    probs: torch.Tensor  # (N, 1, h, w) at training resolution, for figures

    def summary(self, reduction: str = "macro") -> dict[str, dict[str, float]]:
        cols = ["TP", "TN", "FP", "FN"]
        return {res: summarize(df[cols].to_numpy(), reduction) for res, df in self.per_image.items()}


def evaluate(model, dataset, device: str = "cpu", batch_size: int = 8, threshold: float = 0.5,
             upsampling: str = "bilinear", post: str = "none", opening_radius: int = 3,
             original_masks: dict[str, Path] | None = None, original: bool = True,
             prediction_dir: Path | None = None) -> Evaluation:
    """Evaluate ``model`` on a :class:`SegmentationDataset` (no augmentation).

    ``original_masks`` maps image ids to full-resolution truth (default: each
    sample's own mask file). ``prediction_dir``: write the original-resolution
    predictions there as ``ISIC_nnnnnnn_segmentation.png`` (0/255), scorable by
    the official scorer and ``python -m skinseg score``.
    """
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False)
    probs, masks, _ = predict(model, loader, device)
    samples: list[Sample] = dataset.samples
    ids = [s.id for s in samples]
    pred_train = torch.from_numpy(np.stack([postprocess(p[0].numpy() > threshold, post, opening_radius)
                                            for p in probs]))[:, None]
    tables = {"training": per_image_table(ids, confusion(pred_train, masks > 0.5).numpy())}
    if original:
        cms = []
        for i, s in enumerate(samples):
            path = (original_masks or {}).get(s.id, s.mask)
            truth = load_mask(path, dataset.dataset)
            pred = postprocess(upsample(probs[i], truth.shape, upsampling)[0].numpy() > threshold, post, opening_radius)
            cms.append(confusion(torch.from_numpy(pred)[None], torch.from_numpy(truth)[None])[0].numpy())
            if prediction_dir is not None:
                write_prediction(Path(prediction_dir), s.id, pred)
        tables["original"] = per_image_table(ids, np.stack(cms))
    return Evaluation(tables, probs)


def write_prediction(folder: Path, image_id: str, mask: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{image_id}_segmentation.png"
    tmp = folder / f".{image_id}.tmp.png"
    Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(tmp)
    tmp.replace(path)
    return path

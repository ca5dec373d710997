"""ISIC 2016-2018 Task 1 metrics, computed as ``isic-challenge-scoring==5.6.0`` does.

Per image, from the binary confusion matrix (truth and prediction binarised
``> 128`` for 8-bit masks, ``> threshold`` for probabilities):

- accuracy    (TP+TN) / (TP+TN+FP+FN)
- sensitivity TP / (TP+FN), 1.0 when the truth has no positives
- specificity TN / (TN+FP), 1.0 when the truth has no negatives
- jaccard     TP / (TP+FP+FN), 1.0 when TP+FP+FN = 0
- threshold_jaccard  jaccard if jaccard >= 0.65 else 0.0
- dice        2TP / (2TP+FP+FN), 1.0 when TP+FP+FN = 0

Reductions: ``"macro"`` is the unweighted mean over images (the challenge's
number); ``"micro"`` pools the confusion counts of all images first (some papers
report this). ``threshold_jaccard`` is a per-image rule and has no pooled form,
so the micro reduction leaves it out. Every table in this project names the
reduction it shows.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import torch

# torch is imported inside the functions that need it: ``python -m skinseg score``
# uses only the numpy path, and importing torch costs ~1 s and ~200 MB there.

METRIC_NAMES = ("accuracy", "sensitivity", "specificity", "jaccard", "threshold_jaccard", "dice")
THRESHOLD_JACCARD = 0.65
REDUCTIONS = ("macro", "micro")


def _from_positives(tp, n_pred, n_truth, n):
    """TP, TN, FP, FN from the joint positives, each mask's positives and the pixel count.

    Shared by the numpy and torch counters, so both need one AND and three
    counts, never the negated masks."""
    fp = n_pred - tp
    fn = n_truth - tp
    return tp, n - tp - fp - fn, fp, fn


def confusion_counts(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Confusion counts of one boolean mask pair, without float copies.

    Args:
        pred: bool array ``(H, W)`` (any shape, same as ``truth``).
        truth: bool array ``(H, W)``.
    Returns:
        int64 array ``(4,)``: TP, TN, FP, FN.
    """
    if pred.shape != truth.shape:
        raise ValueError(f"prediction shape {pred.shape} != truth shape {truth.shape}")
    if pred.dtype != np.bool_ or truth.dtype != np.bool_:
        raise TypeError("confusion_counts() takes boolean arrays; binarise first (e.g. mask > 128)")
    tp = np.count_nonzero(pred & truth)  # the only temporary: one bool array
    return np.array(_from_positives(tp, np.count_nonzero(pred), np.count_nonzero(truth), pred.size), np.int64)


def confusion(pred: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """Per-image confusion counts of two boolean batches.

    Args:
        pred, truth: bool tensors of the same shape ``(N, H, W)`` or ``(N, 1, H, W)``.
    Returns:
        int64 tensor ``(N, 4)``: columns TP, TN, FP, FN.
    """
    import torch

    if pred.shape != truth.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} != truth shape {tuple(truth.shape)}")
    if pred.dtype != torch.bool or truth.dtype != torch.bool:
        raise TypeError("confusion() takes boolean tensors; binarise first (e.g. probs > 0.5, mask > 128)")
    p = pred.reshape(pred.shape[0], -1)
    t = truth.reshape(truth.shape[0], -1)
    counts = _from_positives((p & t).sum(1), p.sum(1), t.sum(1), p.shape[1])
    return torch.stack(counts, 1).to(torch.int64)


def _ratio(num: np.ndarray, den: np.ndarray, empty: float) -> np.ndarray:
    out = np.full(num.shape, empty, dtype=np.float64)
    ok = den != 0
    out[ok] = num[ok] / den[ok]
    return out


def metrics_from_confusion(cm) -> dict[str, np.ndarray]:
    """Per-image metrics (float64 arrays of length N) from ``(N, 4)`` TP, TN, FP, FN counts."""
    cm = np.asarray(cm, dtype=np.float64).reshape(-1, 4)
    tp, tn, fp, fn = cm.T
    jac = _ratio(tp, tp + fp + fn, 1.0)
    return {
        "accuracy": (tp + tn) / (tp + tn + fp + fn),
        "sensitivity": _ratio(tp, tp + fn, 1.0),
        "specificity": _ratio(tn, tn + fp, 1.0),
        "jaccard": jac,
        "threshold_jaccard": np.where(jac >= THRESHOLD_JACCARD, jac, 0.0),
        "dice": _ratio(2 * tp, 2 * tp + fp + fn, 1.0),
    }


def summarize(cm, reduction: str = "macro") -> dict[str, float]:
    """Dataset-level metrics from per-image counts ``(N, 4)``.

    ``reduction="macro"``: mean of per-image metrics (the official ISIC score).
    ``reduction="micro"``: metrics of the summed confusion matrix.
    """
    cm = np.asarray(cm, dtype=np.float64).reshape(-1, 4)
    if len(cm) == 0:
        raise ValueError("summarize() needs at least one image")
    if reduction == "macro":
        return {k: float(v.mean()) for k, v in metrics_from_confusion(cm).items()}
    if reduction == "micro":
        pooled = metrics_from_confusion(cm.sum(0, keepdims=True))
        return {k: float(v[0]) for k, v in pooled.items() if k != "threshold_jaccard"}
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def per_image_table(ids, cm) -> pd.DataFrame:
    """One row per image: id, TP, TN, FP, FN and every metric."""
    cm = np.asarray(cm).reshape(-1, 4)
    df = pd.DataFrame({"image_id": list(ids), "TP": cm[:, 0], "TN": cm[:, 1], "FP": cm[:, 2], "FN": cm[:, 3]})
    for k, v in metrics_from_confusion(cm).items():
        df[k] = v
    return df

"""Figures for the notebooks (matplotlib; each returns the Figure)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import torch

from skinseg.losses import foreground_prob
from skinseg.transforms import to_tensor


def _contour(ax, mask, color):
    if mask.any() and not mask.all():
        ax.contour(mask.astype(float), levels=[0.5], colors=[color], linewidths=1.2)


def overlays(samples, cache, size, n: int = 6, title: str = ""):
    """The first ``n`` samples at training size with their truth contour (green)."""
    n = min(n, len(samples))
    fig, axes = plt.subplots(1, n, figsize=(2.2 * n, 2.4), squeeze=False, dpi=72)
    for ax, s in zip(axes[0], samples[:n]):
        ax.imshow(cache.image(s.image, size))
        _contour(ax, cache.mask(s.mask, size), "lime")
        ax.set_title(s.id, fontsize=7)
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def curves(histories: dict[str, pd.DataFrame]):
    """Training loss and validation Jaccard per epoch, one line per variant."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3), dpi=72)
    for name, h in histories.items():
        a.plot(h.epoch, h.train_loss, marker=".", label=name)
        b.plot(h.epoch, h.val_jaccard, marker=".", label=name)
    a.set(xlabel="epoch", ylabel="training loss")
    b.set(xlabel="epoch", ylabel="validation Jaccard (macro)")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


@torch.no_grad()
def best_and_worst(model, samples, cache, size, per_image: pd.DataFrame, n: int = 3, metric: str = "jaccard"):
    """Test images with the highest and lowest per-image ``metric``: truth (green)
    and prediction (magenta) contours."""
    df = per_image.sort_values(metric)
    picks = list(df.tail(n).image_id[::-1]) + list(df.head(n).image_id)
    by_id = {s.id: s for s in samples}
    fig, axes = plt.subplots(1, len(picks), figsize=(2.2 * len(picks), 2.5), squeeze=False, dpi=72)
    for ax, i in zip(axes[0], picks):
        s = by_id[i]
        img = cache.image(s.image, size)
        prob = foreground_prob(model(to_tensor(img)[None]))[0, 0]
        ax.imshow(img)
        _contour(ax, cache.mask(s.mask, size), "lime")
        _contour(ax, prob.numpy() > 0.5, "magenta")
        ax.set_title(f"{i}\n{metric} {float(df.set_index('image_id').loc[i, metric]):.2f}", fontsize=7)
        ax.axis("off")
    fig.suptitle(f"best {n} and worst {n} test images (green: truth, magenta: prediction)", fontsize=9)
    fig.tight_layout()
    return fig

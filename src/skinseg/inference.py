"""Running a model: batch preparation (normalisation, memory format, autocast)
shared by training and prediction, and prediction over a loader."""
from __future__ import annotations

import contextlib

import torch

from skinseg.losses import foreground_prob
from skinseg.transforms import normalize

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: str, precision: str):
    """Autocast context for ``precision`` on ``device`` (fp32: none). fp16 is CUDA-only."""
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision not in _DTYPES:
        raise ValueError(f"precision must be fp32, bf16 or fp16, got {precision!r}")
    kind = "cuda" if str(device).startswith("cuda") else "cpu"
    if kind == "cpu" and precision == "fp16":
        raise ValueError("precision='fp16' autocast is CUDA-only; use 'bf16' on the CPU")
    return torch.autocast(kind, dtype=_DTYPES[precision])


def prepare_images(images: torch.Tensor, device: str, normalization: str, channels_last: bool) -> torch.Tensor:
    """``(N, 3, H, W)`` uint8 -> normalised float32 on ``device``, channels_last if asked."""
    x = images.to(device, non_blocking=True)
    if channels_last:  # re-laid out as uint8 (a quarter of the bytes); normalize keeps the layout
        x = x.contiguous(memory_format=torch.channels_last)
    return normalize(x, normalization)


@torch.no_grad()
def predict(model, loader, device: str = "cpu", precision: str = "fp32", channels_last: bool = False,
            normalization: str = "imagenet", loss_fn=None):
    """Lesion-class probabilities of the model's output ``(N, 1, H, W)`` float32 (CPU),
    the loader's masks ``(N, 1, H, W)`` in loader order, and the mean per-image
    ``loss_fn`` (NaN when not given)."""
    model.eval()
    probs, masks, losses = [], [], []
    for batch in loader:
        x = prepare_images(batch["image"], device, normalization, channels_last)
        with autocast(device, precision):
            logits = model(x)
        logits = logits.float()
        if loss_fn is not None:
            losses.append(loss_fn(logits, batch["mask"].to(device), reduction="none").cpu())
        probs.append(foreground_prob(logits).cpu())
        masks.append(batch["mask"])
    mean_loss = float(torch.cat(losses).mean()) if losses else float("nan")
    return torch.cat(probs), torch.cat(masks), mean_loss

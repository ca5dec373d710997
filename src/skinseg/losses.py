"""Segmentation losses of the five papers.

Shapes: ``logits`` is ``(N, 1, H, W)`` for sigmoid models or ``(N, 2, H, W)``
for two-class softmax models; ``target`` is ``(N, 1, H, W)`` (or ``(N, H, W)``)
with values in {0, 1}. Every loss returns a scalar (``reduction="mean"``) or a
per-image vector ``(N,)`` (``reduction="none"``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

REDUCTIONS = ("mean", "none")


def _target(target: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    t = target if target.dim() == 4 else target.unsqueeze(1)
    if t.shape[0] != like.shape[0] or t.shape[-2:] != like.shape[-2:]:
        raise ValueError(f"target shape {tuple(target.shape)} does not match logits {tuple(like.shape)}")
    return t.to(like.dtype)


def _reduce(per_image: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return per_image.mean()
    if reduction == "none":
        return per_image
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def foreground_prob(logits: torch.Tensor) -> torch.Tensor:
    """Lesion probability ``(N, 1, H, W)``: sigmoid for C=1, softmax channel 1 for C=2."""
    if logits.dim() != 4 or logits.shape[1] not in (1, 2):
        raise ValueError(f"logits must be (N, 1|2, H, W), got {tuple(logits.shape)}")
    if logits.shape[1] == 1:
        return torch.sigmoid(logits)
    return torch.softmax(logits, 1)[:, 1:2]


def dice_loss(logits, target, smooth: float = 1.0, reduction: str = "mean"):
    """Soft Dice loss ``1 - (2 sum(p t) + s) / (sum(p) + sum(t) + s)`` per image.

    ``smooth`` (s) keeps an empty truth with an empty prediction at loss 0.
    """
    p = foreground_prob(logits)
    t = _target(target, p)
    inter = (p * t).flatten(1).sum(1)
    denom = p.flatten(1).sum(1) + t.flatten(1).sum(1)
    return _reduce(1 - (2 * inter + smooth) / (denom + smooth), reduction)


def bce_loss(logits, target, reduction: str = "mean"):
    """Binary cross-entropy (C=1, on logits) or NLL of log-softmax (C=2), mean over pixels."""
    t = _target(target, logits)
    if logits.shape[1] == 1:
        px = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    else:
        px = F.cross_entropy(logits, t[:, 0].long(), reduction="none")
    return _reduce(px.flatten(1).mean(1), reduction)


nll_loss = bce_loss  # the two-class form of the same loss; SLSDeep calls it NLL


def bce_dice_loss(logits, target, ce_weight: float = 1.0, reduction: str = "mean"):
    """Joint loss ``ce_weight * BCE + soft Dice loss``. ASNet's eq. 3 (§2.4) weights the
    cross-entropy ½ (``ce_weight=0.5``); 1.0 weighs the two terms equally."""
    return ce_weight * bce_loss(logits, target, reduction) + dice_loss(logits, target, reduction=reduction)


def class_weights(fractions: torch.Tensor, c: float = 1.02) -> torch.Tensor:
    """LinkNet's (and ENet's) class weights ``1 / ln(c + p_class)``.

    ``fractions``: ``(C,)`` pixel frequency of each class (sums to 1).
    """
    return 1.0 / torch.log(c + fractions)


def weighted_ce_loss(logits, target, weights: torch.Tensor | None = None, reduction: str = "mean"):
    """Class-weighted cross-entropy, weights ``1/ln(1.02 + p_class)``.

    ``weights`` ``(2,)``: background, lesion. ``None`` computes them from the
    batch's pixel frequencies (the original LinkNet code uses the training
    set's histogram: pass that here for a faithful run).
    """
    t = _target(target, logits)[:, 0]
    if weights is None:
        frac_fg = t.mean()
        weights = class_weights(torch.stack([1 - frac_fg, frac_fg]).detach())
    w = weights.to(logits.dtype)[t.long()]
    if logits.shape[1] == 1:
        px = F.binary_cross_entropy_with_logits(logits[:, 0], t, reduction="none")
    else:
        px = F.cross_entropy(logits, t.long(), reduction="none")
    return _reduce((w * px).flatten(1).sum(1) / w.flatten(1).sum(1), reduction)


_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sobel gradients ``(Gx, Gy)`` of ``(N, 1, H, W)``, zero padding, same size."""
    kx = _SOBEL_X.to(x)[None, None]
    ky = kx.transpose(-1, -2)
    return F.conv2d(x, kx, padding=1), F.conv2d(x, ky, padding=1)


def epe_loss(logits, target, eps: float = 1e-6, reduction: str = "mean"):
    """End-point error between Sobel gradients, differentiable (SLSDeep, eq. 2 as written).

    ``mean_pixels sqrt((Mx - Gx)^2 + (My - Gy)^2 + eps)`` with ``(Mx, My)`` the
    Sobel gradients of the predicted lesion probability and ``(Gx, Gy)`` those of
    the truth. ``eps`` keeps the square root differentiable where both agree.
    Compare :func:`epe_loss_as_published`.
    """
    p = foreground_prob(logits)
    t = _target(target, p)
    mx, my = sobel(p)
    gx, gy = sobel(t)
    return _reduce(torch.sqrt((mx - gx) ** 2 + (my - gy) ** 2 + eps).flatten(1).mean(1), reduction)


def epe_loss_as_published(logits, target, reduction: str = "mean"):
    """EPE as the public SLSDeep code computes it (for the audit, not for training).

    xmichelleshihx/SLSDeep @9fd6153: ``train.py`` lines 48-51 take the *argmax* prediction and
    ``utils.getEdge`` (lines 115-129) runs ``skimage.filters.sobel`` on it in numpy, so both edge
    maps are constants: no gradient reaches the network and the term only shifts the loss value.
    ``utils.EPE`` (lines 106-113) is ``torch.norm(gt_edge - pred_edge, 2, 1).mean()`` on
    ``(N, H, W)`` edge magnitudes: an L2 norm over the row axis (H), not a per-pixel end-point
    length, then a mean over images and columns. Here: the same on ``(N, 1, H, W)`` maps, with the
    Sobel magnitude on skimage's scale (kernels / 4, magnitude / sqrt 2).
    """
    def magnitude(x):
        gx, gy = sobel(x)
        return torch.sqrt(gx ** 2 + gy ** 2) / (4 * 2 ** 0.5)

    with torch.no_grad():
        hard = (foreground_prob(logits) > 0.5).to(logits.dtype)
        d = magnitude(hard) - magnitude(_target(target, hard))  # (N, 1, H, W)
        per_image = torch.linalg.vector_norm(d, ord=2, dim=2).flatten(1).mean(1)  # norm over rows
    return _reduce(per_image, reduction)


def nll_epe_loss(logits, target, epe_weight: float = 0.5, as_published: bool = False, reduction: str = "mean"):
    """SLSDeep's loss ``NLL + epe_weight * EPE`` (paper: epe_weight = 0.5)."""
    epe = epe_loss_as_published if as_published else epe_loss
    return nll_loss(logits, target, reduction) + epe_weight * epe(logits, target, reduction=reduction)


def nll_epe_published_loss(logits, target, epe_weight: float = 0.5, reduction: str = "mean"):
    """``NLL + epe_weight * EPE`` with the public code's EPE (:func:`epe_loss_as_published`)."""
    return nll_epe_loss(logits, target, epe_weight, as_published=True, reduction=reduction)


LOSSES = {
    "dice": dice_loss,
    "bce": bce_loss,
    "nll": nll_loss,
    "bce_dice": bce_dice_loss,
    "weighted_ce": weighted_ce_loss,
    "epe": epe_loss,
    "nll_epe": nll_epe_loss,
    "nll_epe_published": nll_epe_published_loss,
}
# loss -> the flat parameters (skinseg.params) it takes as keyword arguments
LOSS_PARAMETERS = {"nll_epe": ("epe_weight",), "nll_epe_published": ("epe_weight",), "bce_dice": ("ce_weight",)}


def get_loss(name: str, **kwargs):
    """The loss registered as ``name``, with ``kwargs`` bound (e.g. ``epe_weight=0.5``).
    KeyError lists the valid names; a keyword the loss does not take is a TypeError."""
    try:
        fn = LOSSES[name]
    except KeyError:
        raise KeyError(f"unknown loss {name!r}; valid: {', '.join(sorted(LOSSES))}") from None
    if not kwargs:
        return fn
    import functools
    import inspect

    bad = set(kwargs) - set(inspect.signature(fn).parameters)
    if bad:
        raise TypeError(f"loss {name!r} takes no argument(s) {sorted(bad)}")
    return functools.partial(fn, **kwargs)


def loss_from_params(p: dict):
    """The loss a parameter set asks for, with its own parameters bound."""
    return get_loss(p["loss"], **{k: p[k] for k in LOSS_PARAMETERS.get(p["loss"], ())})

"""Common base of every model: input checks, and the (N, C, H, W) logits contract."""
from __future__ import annotations

import torch
from torch import nn


class SegmentationModel(nn.Module):
    """``encoder`` + ``decoder`` + ``head``; maps ``(N, 3, H, W)`` to logits ``(N, C, H, W)``.

    ``out_channels`` is 1 for sigmoid models and 2 for two-class softmax models.
    ``size_divisor``: H and W must be multiples of it.
    """

    out_channels: int = 1
    size_divisor: int = 32

    def check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"{type(self).__name__} takes (N, 3, H, W) images, got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        d = self.size_divisor
        if h % d or w % d or h < d or w < d:
            raise ValueError(f"{type(self).__name__} needs H and W to be positive multiples of {d}, got {h}x{w}; "
                             f"resize to e.g. {max(d, round(h / d) * d)}x{max(d, round(w / d) * d)}")


def conv_bn_relu(cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1, relu: bool = True,
                 padding_mode: str = "zeros") -> nn.Sequential:
    layers = [nn.Conv2d(cin, cout, k, stride, dilation * (k - 1) // 2, dilation, bias=False, padding_mode=padding_mode),
              nn.BatchNorm2d(cout)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)

"""LinkNet (Chaurasia & Culurciello, "LinkNet: Exploiting Encoder Representations
for Efficient Semantic Segmentation", VCIP 2017) and the narrowed LinkNet-64 of
de la Torre ("ISIC 2018 - Skin Lesion Segmentation using a LinkNet Derived Network")."""
from __future__ import annotations

import torch
from torch import nn

from skinseg.models.base import SegmentationModel
from skinseg.models.resnet import resnet_encoder


def _bn_relu(c):
    return [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]


class LinkNetDecoderBlock(nn.Sequential):
    """1x1 conv m -> m/4, BN, ReLU; 3x3 transposed conv (stride s), BN, ReLU; 1x1 conv m/4 -> n, BN, ReLU."""

    def __init__(self, m: int, n: int, stride: int):
        q = m // 4
        super().__init__(
            nn.Conv2d(m, q, 1, bias=False), *_bn_relu(q),
            nn.ConvTranspose2d(q, q, 3, stride, 1, output_padding=stride - 1, bias=False), *_bn_relu(q),
            nn.Conv2d(q, n, 1, bias=False), *_bn_relu(n),
        )


class LinkNet(SegmentationModel):
    """Encoder features ``e1..e4``; ``d4 = D4(e4) + e3``, ``d3 = D3(d4) + e2``,
    ``d2 = D2(d3) + e1``, ``d1 = D1(d2)``; head: 3x3 transposed conv /2 -> 32, BN,
    ReLU; 3x3 conv 32, BN, ReLU; 2x2 transposed conv /2 -> classes."""

    def __init__(self, widths=(64, 128, 256, 512), out_channels: int = 1, shortcut: str = "projection",
                 pretrained=None):
        super().__init__()
        self.out_channels = out_channels
        self.encoder = resnet_encoder("resnet18", widths=widths, shortcut=shortcut, pretrained=pretrained)
        c = self.encoder.out_channels[1:]  # e1..e4
        self.decoder = nn.ModuleList([
            LinkNetDecoderBlock(c[0], c[0], 1),  # D1: layer1 has no stride, so neither has its decoder
            LinkNetDecoderBlock(c[1], c[0], 2),
            LinkNetDecoderBlock(c[2], c[1], 2),
            LinkNetDecoderBlock(c[3], c[2], 2),
        ])
        self.head = nn.Sequential(
            nn.ConvTranspose2d(c[0], 32, 3, 2, 1, output_padding=1, bias=False), *_bn_relu(32),
            nn.Conv2d(32, 32, 3, 1, 1, bias=False), *_bn_relu(32),
            nn.ConvTranspose2d(32, out_channels, 2, 2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        _, e1, e2, e3, e4 = self.encoder(x)
        d = self.decoder[3](e4) + e3
        d = self.decoder[2](d) + e2
        d = self.decoder[1](d) + e1
        d = self.decoder[0](d)
        return self.head(d)

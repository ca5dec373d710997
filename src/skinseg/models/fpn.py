"""FPN for segmentation (Kirillov et al., "A Unified Architecture for Instance and
Semantic Segmentation" / Panoptic FPN), laid out as segmentation_models_pytorch's
``FPN``, which Flores Hernández used with the ``se_resnext50_32x4d`` encoder."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from skinseg.models.base import SegmentationModel
from skinseg.models.resnet import resnet_encoder
from skinseg.models.senet import SEResNeXtEncoder


class Conv3x3GNReLU(nn.Sequential):
    def __init__(self, cin, cout, upsample: bool):
        super().__init__(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.GroupNorm(32, cout), nn.ReLU(inplace=True))
        self.upsample = upsample

    def forward(self, x):
        x = super().forward(x)
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True) if self.upsample else x


class SegmentationBlock(nn.Sequential):
    """``n_upsamples`` times (conv 3x3 + GN + ReLU, x2 upsampling); one conv when 0."""

    def __init__(self, cin, cout, n_upsamples):
        blocks = [Conv3x3GNReLU(cin, cout, upsample=n_upsamples > 0)]
        blocks += [Conv3x3GNReLU(cout, cout, upsample=True) for _ in range(1, n_upsamples)]
        super().__init__(*blocks)


class FPNDecoder(nn.Module):
    """Lateral 1x1 convs to ``pyramid`` channels with top-down nearest x2 upsampling
    and addition (P5..P2); each level to ``segmentation`` channels at 1/4 scale;
    merged by sum; Dropout2d(``dropout``)."""

    def __init__(self, encoder_channels, pyramid: int = 256, segmentation: int = 128, dropout: float = 0.2):
        super().__init__()
        c2, c3, c4, c5 = encoder_channels[-4:]
        self.p5 = nn.Conv2d(c5, pyramid, 1)
        self.laterals = nn.ModuleList([nn.Conv2d(c, pyramid, 1) for c in (c4, c3, c2)])
        self.seg_blocks = nn.ModuleList([SegmentationBlock(pyramid, segmentation, n) for n in (3, 2, 1, 0)])
        self.dropout = nn.Dropout2d(dropout)

    def forward(self, c2, c3, c4, c5):
        ps = [self.p5(c5)]
        for lateral, c in zip(self.laterals, (c4, c3, c2)):
            ps.append(F.interpolate(ps[-1], scale_factor=2, mode="nearest") + lateral(c))
        return self.dropout(sum(block(p) for block, p in zip(self.seg_blocks, ps)))


class FPN(SegmentationModel):
    """Encoder -> FPN decoder (pyramid 256, segmentation 128, sum merge, dropout 0.2)
    -> 1x1 conv to classes -> x4 bilinear upsampling. Output ``(N, 1, H, W)`` sigmoid
    logits (Dice loss in the paper)."""

    def __init__(self, encoder: str = "se_resnext50_32x4d", out_channels: int = 1, pretrained=None):
        super().__init__()
        self.out_channels = out_channels
        if encoder == "se_resnext50_32x4d":
            self.encoder = SEResNeXtEncoder()
            if pretrained:
                self.encoder.load_pretrained(pretrained)
        elif encoder == "resnet34":
            self.encoder = resnet_encoder("resnet34", pretrained=pretrained)
        else:
            raise ValueError(f"encoder must be 'se_resnext50_32x4d' or 'resnet34', got {encoder!r}")
        self.decoder = FPNDecoder(self.encoder.out_channels)
        self.head = nn.Conv2d(128, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        _, c2, c3, c4, c5 = self.encoder(x)
        return F.interpolate(self.head(self.decoder(c2, c3, c4, c5)), scale_factor=4, mode="bilinear",
                             align_corners=True)

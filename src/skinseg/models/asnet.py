"""ASNet (Zhu et al., adaptive scale network for skin lesion segmentation) and its
ablations; U-Net (Ronneberger et al., MICCAI 2015) as the paper's comparison row."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from skinseg.models.base import SegmentationModel, conv_bn_relu
from skinseg.models.resnet import BasicBlock, resnet_encoder


class ScaleAwareModule(nn.Module):
    """SAM (paper eq. 1-2): fuse two feature maps by per-pixel attention.
    concat -> 1x1 conv (2C -> C) -> ReLU -> 3x3 conv (C -> C/2) -> ReLU -> 3x3 conv
    (C/2 -> 2) -> softmax over the two maps -> ``w0 * a + w1 * b``."""

    def __init__(self, c: int):
        super().__init__()
        self.conv1 = nn.Conv2d(2 * c, c, 1)
        self.conv2 = nn.Conv2d(c, c // 2, 3, padding=1)
        self.conv3 = nn.Conv2d(c // 2, 2, 3, padding=1)

    def attention(self, a, b):
        """``(N, 2, H, W)`` weights that sum to 1 at every pixel."""
        h = F.relu(self.conv2(F.relu(self.conv1(torch.cat([a, b], 1)))))
        return torch.softmax(self.conv3(h), 1)

    def forward(self, a, b):
        w = self.attention(a, b)
        return w[:, :1] * a + w[:, 1:] * b


class AdaptiveScaleModule(nn.Module):
    """ASM: **one** 3x3 convolution applied with dilations ``dilations`` (shared
    weights, each branch its own BN), fused by two cascaded SAMs (branch 1 with 2,
    then that with 3); output ``x + beta * fused`` with a learnable ``beta``
    initialised to 0 (CPFNet's SAPblock instead returns relu(beta*fused +
    (1-beta)*x) and reuses the first SAM's convolutions for the second fusion; the
    paper says two cascaded modules, so ours has two).

    ``fusion="attention"`` (ASNet) or ``"sum"`` (ASM_w/o_SA: branches summed).
    """

    def __init__(self, c: int, dilations=(1, 2, 4), fusion: str = "attention"):
        super().__init__()
        if fusion not in ("attention", "sum"):
            raise ValueError(f"fusion must be 'attention' or 'sum', got {fusion!r}")
        self.dilations, self.fusion = tuple(dilations), fusion
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.bns = nn.ModuleList(nn.BatchNorm2d(c) for _ in dilations)
        if fusion == "attention":
            self.sam = nn.ModuleList([ScaleAwareModule(c), ScaleAwareModule(c)])
        self.beta = nn.Parameter(torch.zeros(1))

    def branches(self, x):
        return [bn(F.conv2d(x, self.conv.weight, self.conv.bias, padding=d, dilation=d))
                for bn, d in zip(self.bns, self.dilations)]

    def forward(self, x):
        b1, b2, b3 = self.branches(x)
        fused = b1 + b2 + b3 if self.fusion == "sum" else self.sam[1](self.sam[0](b1, b2), b3)
        return x + self.beta * fused


class DecoderBlock(nn.Sequential):
    """3x3 conv + BN + ReLU, x2 bilinear upsampling, 1x1 conv + BN + ReLU (``cin -> cout``)."""

    def __init__(self, cin, cout):
        super().__init__(conv_bn_relu(cin, cin, 3), nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
                         conv_bn_relu(cin, cout, 1))


class ASNet(SegmentationModel):
    """ResNet-34 encoder; ASM on its last stage; U-shaped decoder whose blocks add
    the encoder feature of their scale (skip connections at 1/16, 1/8, 1/4, 1/2);
    head (as CPFNet's): x2 upsampling, 1x1 and 3x3 conv + BN + ReLU (64), 1x1
    conv to classes. ``asm``: None (Baseline) or an :class:`AdaptiveScaleModule`
    configuration. ``extra_blocks``: residual blocks added to the decoder
    (Baseline_Wide). Output ``(N, 1, H, W)`` sigmoid logits (BCE + Dice)."""

    def __init__(self, asm: dict | None = None, extra_blocks: bool = False, out_channels: int = 1, pretrained=None):
        super().__init__()
        self.out_channels = out_channels
        self.encoder = resnet_encoder("resnet34", pretrained=pretrained)
        self.asm = AdaptiveScaleModule(512, **asm) if asm is not None else nn.Identity()
        # Baseline_Wide: a residual block at 512 and one at 256 in the decoder, so that
        # the decoder gains about as many parameters as the ASM has
        self.extra = nn.ModuleList([BasicBlock(512, 512), BasicBlock(256, 256)] if extra_blocks else [])
        self.decoder = nn.ModuleList([DecoderBlock(512, 256), DecoderBlock(256, 128), DecoderBlock(128, 64),
                                      DecoderBlock(64, 64)])
        self.head = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
                                  conv_bn_relu(64, 64, 1), conv_bn_relu(64, 64, 3), nn.Conv2d(64, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        c1, c2, c3, c4, c5 = self.encoder(x)
        d = self.asm(c5)
        if self.extra:
            d = self.extra[0](d)
        d = F.relu(self.decoder[0](d) + c4)
        if self.extra:
            d = self.extra[1](d)
        d = F.relu(self.decoder[1](d) + c3)
        d = F.relu(self.decoder[2](d) + c2)
        d = self.decoder[3](d) + c1
        return self.head(d)


class UNet(SegmentationModel):
    """U-Net: widths 64, 128, 256, 512, 1024; two padded 3x3 conv + BN + ReLU per
    level (BN is not in the 2015 paper; it is in the common re-implementations
    comparison tables use); 2x2 max-pool down, 2x2 transposed conv up, concat skips.
    Output ``(N, 1, H, W)`` sigmoid logits."""

    size_divisor = 16

    def __init__(self, widths=(64, 128, 256, 512, 1024), out_channels: int = 1):
        super().__init__()
        self.out_channels = out_channels

        def double(cin, cout):
            return nn.Sequential(conv_bn_relu(cin, cout), conv_bn_relu(cout, cout))

        self.encoder = nn.ModuleList([double(3, widths[0])] + [double(a, b) for a, b in zip(widths, widths[1:])])
        self.ups = nn.ModuleList(nn.ConvTranspose2d(b, a, 2, 2) for a, b in zip(widths, widths[1:]))
        self.decoder = nn.ModuleList(double(2 * a, a) for a in widths[:-1])
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        skips = []
        for i, block in enumerate(self.encoder):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        for up, dec, skip in zip(reversed(self.ups), reversed(self.decoder), reversed(skips[:-1])):
            x = dec(torch.cat([up(x), skip], 1))
        return self.head(x)

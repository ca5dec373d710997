"""SLSDeep (Sarker et al., "SLSDeep: Skin Lesion Segmentation Based on Dilated
Residual and Pyramid Pooling Networks", MICCAI 2018)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from skinseg.models.base import SegmentationModel, conv_bn_relu
from skinseg.models.resnet import resnet_encoder

PPM_WIDTHS = {"paper": 1024, "code": 512}


class PyramidPooling(nn.Module):
    """Bins (1, 2, 3, 6): adaptive average pool, 1x1 conv + BN + ReLU to ``width``,
    bilinear upsampling back; concatenated with the input (the skip connection
    from the last encoder layer): ``cin + 4 * width`` channels."""

    def __init__(self, cin: int, width: int, bins=(1, 2, 3, 6)):
        super().__init__()
        self.bins = bins
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width),
                          nn.ReLU(inplace=True)) for b in bins)
        self.out_channels = cin + len(bins) * width

    def forward(self, x):
        size = x.shape[-2:]
        pooled = [F.interpolate(s(x), size=size, mode="bilinear", align_corners=False) for s in self.stages]
        return torch.cat([x, *pooled], 1)


class SLSDeep(SegmentationModel):
    """Dilated ResNet-50 (output stride 8: layer3 dilation 2, layer4 dilation 4,
    their strides removed) -> pyramid pooling (bins 1, 2, 3, 6) -> decoder:
    3x3 conv + BN + ReLU (512), x2 bilinear upsampling, 3x3 conv + BN + ReLU (256),
    dropout 0.5, x4 bilinear upsampling, 1x1 conv to 2 classes.

    ``ppm="paper"`` (default): each bin 2048 -> 1024, concatenated to 6144 channels
    as the paper states; ``ppm="code"``: 512 per bin (4096), as the public code.
    ``stem``: "deep" (the public code's MIT scene-parsing ResNet-50) or "standard"
    (torchvision's, so an ImageNet checkpoint loads).
    ``all_skips`` (SLSDeep+ASC): skip connections between every encoder and
    decoder level. Our wiring: layer2 and layer3 (both at 1/8) are concatenated
    to the PPM output before the first decoder conv; layer1 (1/4) is concatenated
    after the first upsampling, before the second conv. The paper gives no widths
    for the decoder convs; 512 and 256 are ours.
    Output: ``(N, 2, H, W)`` logits (log-softmax + NLL in the paper).
    """

    size_divisor = 8

    def __init__(self, ppm: str = "paper", stem: str = "deep", all_skips: bool = False, out_channels: int = 2,
                 pretrained=None):
        super().__init__()
        if ppm not in PPM_WIDTHS:
            raise ValueError(f"ppm must be one of {tuple(PPM_WIDTHS)}, got {ppm!r}")
        self.out_channels, self.all_skips = out_channels, all_skips
        self.encoder = resnet_encoder("resnet50", dilations=(1, 1, 2, 4), stem=stem, pretrained=pretrained)
        c = self.encoder.out_channels  # stem, 256, 512, 1024, 2048
        self.ppm = PyramidPooling(c[4], PPM_WIDTHS[ppm])
        cin1 = self.ppm.out_channels + (c[2] + c[3] if all_skips else 0)
        cin2 = 512 + (c[1] if all_skips else 0)
        self.decoder = nn.ModuleDict({"conv1": conv_bn_relu(cin1, 512), "conv2": conv_bn_relu(cin2, 256),
                                      "dropout": nn.Dropout2d(0.5)})
        self.head = nn.Conv2d(256, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        size = x.shape[-2:]
        _, l1, l2, l3, l4 = self.encoder(x)
        d = self.ppm(l4)
        if self.all_skips:
            d = torch.cat([d, l3, l2], 1)
        d = self.decoder["conv1"](d)
        d = F.interpolate(d, size=l1.shape[-2:], mode="bilinear", align_corners=False)
        if self.all_skips:
            d = torch.cat([d, l1], 1)
        d = self.decoder["dropout"](self.decoder["conv2"](d))
        return self.head(F.interpolate(d, size=size, mode="bilinear", align_corners=False))

"""LesionSeg (Ramachandram & DeVries, "LesionSeg: Semantic segmentation of skin
lesions using Deep Convolutional Neural Network", 2017): a from-scratch FCN of
atrous and 1x1 convolutions with sub-pixel upsampling."""
from __future__ import annotations

import torch
from torch import nn

from skinseg.models.base import SegmentationModel, conv_bn_relu


class LesionSeg(SegmentationModel):
    """Table 1 of the paper, in order (BN + ReLU after every conv but Conv3-3):

    ====== ===== ======= ====== =======================================
    layer  k     filters stride note
    ====== ===== ======= ====== =======================================
    1-1    5x5   64      2      mirror padding
    1-2    3x3   96      1      mirror padding
    1-3    1x1   96      1
    2-1    3x3   128     2      mirror padding
    2-2    3x3   256     1      mirror padding
    2-3    1x1   256     1
    3-1    3x3   256     1      atrous, rate 2, mirror padding
    3-2    3x3   256     1      atrous, rate 2, mirror padding
    3-3    3x3   128     1      atrous, rate 2, mirror padding, linear (BN, no ReLU)
    ====== ===== ======= ====== =======================================

    then sub-pixel convolution (PixelShuffle, factor 4) back to the input size.

    Readings (written down, as the table is ambiguous): the "2" in the Conv3 rows'
    stride/rate column is the dilation rate (the text says rate 2), so the total
    stride is 4; PixelShuffle(4) turns Conv3-3's 128 maps into 8 maps at full
    size, and a 1x1 convolution maps those to the 2 classes. Deviation: the
    table's last row, a 3x3x32 "Subpixel CNN Layer" (32 = 2 classes x 4^2, so a x4
    shuffle of it gives the 2 classes directly), is not built; the committed runs
    were trained without it. The table marks all three Conv3 rows atrous, the text
    (section 3.1) the last two; all three are dilated here. Mirror (reflect) padding
    on every conv larger than 1x1.
    Output: ``(N, 2, H, W)`` softmax logits (per-pixel cross-entropy).
    """

    size_divisor = 4

    def __init__(self, out_channels: int = 2):
        super().__init__()
        self.out_channels = out_channels
        r = dict(padding_mode="reflect")
        self.encoder = nn.Sequential(
            conv_bn_relu(3, 64, 5, stride=2, **r), conv_bn_relu(64, 96, 3, **r), conv_bn_relu(96, 96, 1),
            conv_bn_relu(96, 128, 3, stride=2, **r), conv_bn_relu(128, 256, 3, **r), conv_bn_relu(256, 256, 1),
        )
        self.decoder = nn.Sequential(
            conv_bn_relu(256, 256, 3, dilation=2, **r), conv_bn_relu(256, 256, 3, dilation=2, **r),
            conv_bn_relu(256, 128, 3, dilation=2, relu=False, **r),
            nn.PixelShuffle(4),
        )
        self.head = nn.Conv2d(128 // 16, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.head(self.decoder(self.encoder(x)))

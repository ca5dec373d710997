"""ResNet encoders with torchvision's parameter names (``conv1``, ``bn1``,
``layer1.0.conv1``, ``layer2.0.downsample.0`` ...), so a torchvision ImageNet
checkpoint given as a local file loads with ``load_state_dict``.

He et al., "Deep Residual Learning for Image Recognition", CVPR 2016.
Options beyond torchvision: per-stage ``widths`` (LinkNet-64 narrows every stage
to 64 filters) and per-stage ``dilations`` with stride removed (output stride 8).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, dilation=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, dilation, dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, dilation=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, dilation, dilation, bias=False)  # stride on 3x3 (v1.5)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class Subsample(nn.Module):
    """Parameter-free strided identity shortcut (fb.resnet.torch shortcut type B
    when only the stride changes): keeps every ``stride``-th pixel."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, :: self.stride, :: self.stride]


class ResNetEncoder(nn.Module):
    """Stem (7x7/2 conv, BN, ReLU, 3x3/2 max-pool) and four stages.

    ``stem="deep"``: the stem of the MIT scene-parsing ResNets (which the public
    SLSDeep code uses): three 3x3 convs (64/2, 64, 128, each BN + ReLU, named
    conv1/bn1, conv2/bn2, conv3/bn3), then the max-pool; stage 1 then takes 128
    channels.

    ``forward`` returns the feature list ``[stem (1/2), layer1 (1/4), layer2 (1/8),
    layer3 (1/16), layer4 (1/32)]`` (1/8 for the last two when dilated).
    ``out_channels`` lists their channel counts.
    """

    def __init__(self, block, layers, widths=(64, 128, 256, 512), dilations=(1, 1, 1, 1),
                 shortcut: str = "projection", stem: str = "standard"):
        super().__init__()
        if shortcut not in ("projection", "strided_identity"):
            raise ValueError(f"shortcut must be 'projection' or 'strided_identity', got {shortcut!r}")
        if stem not in ("standard", "deep"):
            raise ValueError(f"stem must be 'standard' or 'deep', got {stem!r}")
        self.shortcut, self.stem = shortcut, stem
        self.relu = nn.ReLU(inplace=True)
        if stem == "standard":
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
        else:
            self.inplanes = 128
            self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.conv2 = nn.Conv2d(64, 64, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(64)
            self.conv3 = nn.Conv2d(64, 128, 3, 1, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(128)
        stem_channels = self.inplanes
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        strides = [1] + [1 if d > 1 else 2 for d in dilations[1:]]
        for i, (n, w, s, d) in enumerate(zip(layers, widths, strides, dilations), 1):
            setattr(self, f"layer{i}", self._make_layer(block, w, n, s, d))
        self.out_channels = [stem_channels] + [w * block.expansion for w in widths]

    def _make_layer(self, block, planes, blocks, stride, dilation):
        downsample = None
        if self.shortcut == "strided_identity" and self.inplanes == planes * block.expansion and stride != 1:
            downsample = Subsample(stride)
        elif stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * block.expansion))
        # as in the dilated-ResNet segmentation code: the first block of a dilated
        # stage uses half the dilation, so receptive fields grow smoothly
        first = max(1, dilation // 2)
        layers = [block(self.inplanes, planes, stride, first, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, 1, dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x0 = self.relu(self.bn1(self.conv1(x)))
        if self.stem == "deep":
            x0 = self.relu(self.bn3(self.conv3(self.relu(self.bn2(self.conv2(x0))))))
        x1 = self.layer1(self.maxpool(x0))
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        x4 = self.layer4(x3)
        return [x0, x1, x2, x3, x4]

    def load_torchvision(self, path) -> None:
        """Load a torchvision ResNet checkpoint (a local file): strict on encoder keys,
        the classifier (``fc.*``) dropped."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"pretrained={path}: no such file (weights cannot be downloaded here; "
                                    "pass the path of a torchvision ResNet .pth)")
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        self.load_state_dict(state, strict=True)


_SPECS = {"resnet18": (BasicBlock, (2, 2, 2, 2)), "resnet34": (BasicBlock, (3, 4, 6, 3)),
          "resnet50": (Bottleneck, (3, 4, 6, 3))}


def resnet_encoder(name: str, *, widths=(64, 128, 256, 512), dilations=(1, 1, 1, 1), shortcut="projection",
                   stem="standard", pretrained=None) -> ResNetEncoder:
    """``name`` in resnet18/34/50; ``pretrained`` a local torchvision checkpoint path or None.

    ``shortcut="projection"`` (torchvision): 1x1 conv + BN whenever stride or width
    changes. ``"strided_identity"`` (fb.resnet.torch type B, which LinkNet's
    original code builds on): a projection only when the width changes."""
    if name not in _SPECS:
        raise KeyError(f"unknown encoder {name!r}; valid: {', '.join(_SPECS)}")
    block, layers = _SPECS[name]
    enc = ResNetEncoder(block, layers, widths, dilations, shortcut, stem)
    if pretrained:
        enc.load_torchvision(pretrained)
    return enc

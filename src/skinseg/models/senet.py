"""SE-ResNeXt50-32x4d encoder (Hu et al., "Squeeze-and-Excitation Networks",
CVPR 2018; Xie et al., ResNeXt), with the parameter names of Cadene's
``pretrainedmodels`` (``layer0.conv1``, ``layer1.0.se_module.fc1`` ...), which
segmentation_models_pytorch uses for ``se_resnext50_32x4d``, so such a
checkpoint given as a local file loads."""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn


class SEModule(nn.Module):
    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, 1)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x):
        return x * self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))


class SEResNeXtBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, groups=32, base_width=4, stride=1, downsample=None):
        super().__init__()
        width = (planes * base_width // 64) * groups
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.se_module = SEModule(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.se_module(self.bn3(self.conv3(out)))
        return self.relu(out + identity)


class SEResNeXtEncoder(nn.Module):
    """Features ``[layer0 (1/2, before pooling), layer1 (1/4) .. layer4 (1/32)]``."""

    def __init__(self, layers=(3, 4, 6, 3), groups=32, base_width=4):
        super().__init__()
        self.layer0 = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(3, 64, 7, 2, 3, bias=False)), ("bn1", nn.BatchNorm2d(64)),
            ("relu1", nn.ReLU(inplace=True)), ("pool", nn.MaxPool2d(3, 2, ceil_mode=True))]))
        self.inplanes = 64
        for i, (n, planes) in enumerate(zip(layers, (64, 128, 256, 512)), 1):
            stride = 1 if i == 1 else 2
            down = None
            if stride != 1 or self.inplanes != planes * 4:
                down = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False),
                                     nn.BatchNorm2d(planes * 4))
            blocks = [SEResNeXtBottleneck(self.inplanes, planes, groups, base_width, stride, down)]
            self.inplanes = planes * 4
            blocks += [SEResNeXtBottleneck(self.inplanes, planes, groups, base_width) for _ in range(1, n)]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.out_channels = [64, 256, 512, 1024, 2048]

    def forward(self, x):
        x0 = self.layer0[:3](x)
        x1 = self.layer1(self.layer0.pool(x0))
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        return [x0, x1, x2, x3, self.layer4(x3)]

    def load_pretrained(self, path) -> None:
        """A ``pretrainedmodels``/smp se_resnext50_32x4d checkpoint (local file); ``last_linear`` dropped."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"pretrained={path}: no such file (weights cannot be downloaded here)")
        state = torch.load(path, map_location="cpu", weights_only=True)
        self.load_state_dict({k: v for k, v in state.items() if not k.startswith("last_linear.")}, strict=True)

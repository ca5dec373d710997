"""Model registry: ``build_model(name, **kw)``, ``list_models()``, ``model_info(name)``.

Every model maps ``(N, 3, H, W)`` images to logits ``(N, C, H, W)`` at the input
size; C (``out_channels``) is 1 for sigmoid models and 2 for softmax models.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from skinseg.models.linknet import LinkNet


@dataclass(frozen=True)
class ModelInfo:
    name: str
    builder: Callable[..., nn.Module]
    paper: str


_REGISTRY: dict[str, ModelInfo] = {}


def register(name: str, paper: str):
    def deco(fn):
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelInfo(name, fn, paper)
        return fn
    return deco


def list_models() -> list[str]:
    return sorted(_REGISTRY)


def model_info(name: str) -> ModelInfo:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; valid names: {', '.join(list_models())}") from None


def build_model(name: str, **kwargs) -> nn.Module:
    """Build the registered model ``name``; KeyError lists the valid names."""
    return model_info(name).builder(**kwargs)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@register("linknet64", paper="de la Torre, ISIC 2018 - Skin Lesion Segmentation using a LinkNet Derived Network")
def linknet64(*, out_channels: int = 1, pretrained=None) -> LinkNet:
    """LinkNet-64 (de la Torre): LinkNet whose ResNet18-style encoder has 64 filters
    in every stage. Input ``(N, 3, H, W)``, H and W multiples of 32; output
    ``(N, 1, H, W)`` sigmoid logits. The paper reports "about 600,000 parameters";
    this build has 647,489. Reading: with every stage 64 wide no stage changes
    width, so the fb.resnet.torch shortcut rule that LinkNet's original code
    follows gives parameter-free strided-identity shortcuts (torchvision-style
    projections would add 12,672 parameters: 660,161). The paper (the author's
    ISIC 2018 challenge write-up) states no segmentation score of its own.
    ``pretrained``: no torchvision checkpoint has these widths."""
    if pretrained:
        raise ValueError("linknet64 has no pretrained weights: its 64-filter encoder matches no torchvision ResNet")
    return LinkNet(widths=(64, 64, 64, 64), out_channels=out_channels, shortcut="strided_identity")


@register("linknet", paper="Chaurasia & Culurciello 2017, LinkNet (original widths; ablation of de la Torre)")
def linknet(*, out_channels: int = 1, pretrained=None) -> LinkNet:
    """LinkNet with the original ResNet18 widths 64/128/256/512 (Chaurasia &
    Culurciello 2017, 11.5M parameters reported). Input ``(N, 3, H, W)``, H and
    W multiples of 32; output ``(N, 1, H, W)`` sigmoid logits. ``pretrained``:
    path of a torchvision resnet18 checkpoint."""
    return LinkNet(widths=(64, 128, 256, 512), out_channels=out_channels, pretrained=pretrained)

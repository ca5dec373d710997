"""Model registry: ``build_model(name, **kw)``, ``list_models()``, ``model_info(name)``.

Every model maps ``(N, 3, H, W)`` images to logits ``(N, C, H, W)`` at the input
size; C (``out_channels``) is 1 for sigmoid models and 2 for softmax models.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd
from torch import nn

from skinseg.models.asnet import ASNet, UNet
from skinseg.models.fpn import FPN
from skinseg.models.lesionseg import LesionSeg
from skinseg.models.linknet import LinkNet
from skinseg.models.slsdeep import SLSDeep


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


def loads_encoder_weights(name: str, path, **kwargs) -> bool:
    """Whether model ``name`` (built with ``kwargs``) loads the encoder checkpoint at ``path``: its
    builder takes ``pretrained`` and the encoder's parameters match the file's exactly (strict load)."""
    try:
        build_model(name, pretrained=str(path), **kwargs)
    except (TypeError, ValueError, RuntimeError, KeyError):  # no such argument, refused, or other shapes/names
        return False
    return True


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def model_table(names=None) -> pd.DataFrame:
    """Name, parameter count, output channels and paper of each model (default: all)."""
    rows = []
    for n in names or list_models():
        m = build_model(n)
        rows.append({"model": n, "parameters": count_parameters(m), "output channels": m.out_channels,
                     "paper": model_info(n).paper})
    return pd.DataFrame(rows)


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


@register("lesionseg", paper="Ramachandram & DeVries 2017, LesionSeg")
def lesionseg(*, out_channels: int = 2) -> LesionSeg:
    """LesionSeg (Ramachandram & DeVries, "LesionSeg: Semantic segmentation of skin
    lesions using Deep Convolutional Neural Network", 2017), Table 1, from scratch.
    Input ``(N, 3, H, W)``, H and W multiples of 4; output ``(N, 2, H, W)`` softmax
    logits (per-pixel cross-entropy). Reported: IoU 0.642 on the ISIC 2017
    validation set. See :class:`LesionSeg` for the readings of Table 1."""
    return LesionSeg(out_channels=out_channels)


@register("slsdeep", paper="Sarker et al. 2018, SLSDeep (MICCAI)")
def slsdeep(*, ppm: str = "paper", stem: str = "deep", out_channels: int = 2, pretrained=None) -> SLSDeep:
    """SLSDeep (Sarker et al., MICCAI 2018): dilated ResNet-50 (output stride 8) and
    pyramid pooling, one skip connection from the last encoder layer to the PPM
    output (the paper's final model). Input multiples of 8; output ``(N, 2, H, W)``
    logits; loss NLL + 0.5 EPE. The paper claims about 100 images/s at 384x384 on
    a TITAN X. ``ppm``: "paper" (1024 per bin, 6144 concatenated) or "code" (512,
    4096). ``stem``: "deep" (public code) or "standard" (torchvision-compatible, for
    ``pretrained`` = a torchvision resnet50 checkpoint path)."""
    return SLSDeep(ppm=ppm, stem=stem, out_channels=out_channels, pretrained=pretrained)


@register("slsdeep_asc", paper="Sarker et al. 2018, SLSDeep+ASC ablation")
def slsdeep_asc(*, ppm: str = "paper", stem: str = "deep", out_channels: int = 2, pretrained=None) -> SLSDeep:
    """SLSDeep+ASC (Sarker et al., ablation): skip connections between all encoder
    and decoder layers (wiring in :class:`SLSDeep`). Same shapes as ``slsdeep``."""
    return SLSDeep(ppm=ppm, stem=stem, all_skips=True, out_channels=out_channels, pretrained=pretrained)


@register("fpn", paper="Flores Hernández, FPN (smp) with SE-ResNeXt50-32x4d (the code's encoder)")
def fpn(*, out_channels: int = 1, pretrained=None) -> FPN:
    """FPN (Kirillov et al.) as segmentation_models_pytorch builds it, with the
    ``se_resnext50_32x4d`` encoder of Flores Hernández's code (the paper names none); Dice loss. Input multiples
    of 32; output ``(N, 1, H, W)`` sigmoid logits. ``pretrained``: a local
    pretrainedmodels/smp se_resnext50_32x4d checkpoint."""
    return FPN("se_resnext50_32x4d", out_channels=out_channels, pretrained=pretrained)


@register("fpn_resnet34", paper="Flores Hernández, FPN; ResNet-34 encoder option for cheap runs")
def fpn_resnet34(*, out_channels: int = 1, pretrained=None) -> FPN:
    """FPN with a ResNet-34 encoder (not the paper's; for CPU runs). Shapes as ``fpn``."""
    return FPN("resnet34", out_channels=out_channels, pretrained=pretrained)


@register("asnet", paper="Zhu et al., ASNet (adaptive scale network)")
def asnet(*, out_channels: int = 1, pretrained=None) -> ASNet:
    """ASNet (Zhu et al.): ResNet-34 U-shape with the adaptive scale module (shared
    3x3 conv at dilations 1, 2, 4; two cascaded scale-aware modules). Input
    multiples of 32 (the paper uses 192x256); output ``(N, 1, H, W)`` sigmoid
    logits; loss BCE + Dice; 5-fold cross-validation."""
    return ASNet(asm={}, out_channels=out_channels, pretrained=pretrained)


@register("asnet_baseline", paper="Zhu et al., ASNet ablation: Baseline (no ASM)")
def asnet_baseline(*, out_channels: int = 1, pretrained=None) -> ASNet:
    """ASNet without the adaptive scale module (the ablation's Baseline)."""
    return ASNet(asm=None, out_channels=out_channels, pretrained=pretrained)


@register("asnet_wo_di", paper="Zhu et al., ASNet ablation: ASM_w/o_DI (all dilations 1)")
def asnet_wo_di(*, out_channels: int = 1, pretrained=None) -> ASNet:
    """ASNet whose ASM branches all use dilation 1 (ASM_w/o_DI)."""
    return ASNet(asm={"dilations": (1, 1, 1)}, out_channels=out_channels, pretrained=pretrained)


@register("asnet_wo_sa", paper="Zhu et al., ASNet ablation: ASM_w/o_SA (branches summed)")
def asnet_wo_sa(*, out_channels: int = 1, pretrained=None) -> ASNet:
    """ASNet whose ASM sums the three branches instead of attention fusion (ASM_w/o_SA)."""
    return ASNet(asm={"fusion": "sum"}, out_channels=out_channels, pretrained=pretrained)


@register("asnet_baseline_wide", paper="Zhu et al., ASNet ablation: Baseline_Wide")
def asnet_baseline_wide(*, out_channels: int = 1, pretrained=None) -> ASNet:
    """Baseline with extra residual blocks in the decoder so that its parameter count
    is within 5 % of ASNet's (isolates the ASM's design from its size)."""
    return ASNet(asm=None, extra_blocks=True, out_channels=out_channels, pretrained=pretrained)


@register("unet", paper="Ronneberger et al. 2015, U-Net (ASNet's comparison row)")
def unet(*, out_channels: int = 1) -> UNet:
    """U-Net (Ronneberger et al., MICCAI 2015), widths 64..1024, padded convs, BN.
    Input multiples of 16; output ``(N, 1, H, W)`` sigmoid logits."""
    return UNet(out_channels=out_channels)

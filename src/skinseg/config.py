"""Validation of notebook (papermill) parameters: one clear error per bad value,
naming the parameter and how to fix it, before anything is written."""
from __future__ import annotations

import torch

from skinseg.data.layouts import DATASETS
from skinseg.evaluate import POSTPROCESSING, UPSAMPLING
from skinseg.losses import LOSSES
from skinseg.models import list_models
from skinseg.transforms import AUGMENTATIONS

PROFILES = ("smoke", "cpu-real", "paper")


def _fail(name, value, why):
    raise ValueError(f"parameter {name}={value!r}: {why}")


def validate(p: dict) -> dict:
    """Check the common parameters of the paper notebooks; returns ``p`` unchanged."""

    def pos_int(name, zero_ok=False):
        v = p[name]
        if not isinstance(v, int) or isinstance(v, bool) or v < (0 if zero_ok else 1):
            _fail(name, v, f"must be an int >= {0 if zero_ok else 1}")

    if p["profile"] not in PROFILES:
        _fail("profile", p["profile"], f"must be one of {PROFILES}")
    if p["dataset"] not in ("auto", *DATASETS):
        _fail("dataset", p["dataset"], f"must be 'auto' or one of {DATASETS}")
    for name in ("image_height", "image_width"):
        pos_int(name)
        if p[name] % 32:
            _fail(name, p[name], f"must be a multiple of 32 (e.g. {max(32, round(p[name] / 32) * 32)})")
    for name in ("epochs", "batch_size", "synthetic_n", "synthetic_size"):
        pos_int(name)
    for name in ("max_images", "seed", "num_workers", "early_stopping_patience"):
        pos_int(name, zero_ok=True)
    if not 0 < p["val_fraction"] < 1:
        _fail("val_fraction", p["val_fraction"], "must be between 0 and 1 (e.g. 0.1)")
    if not (isinstance(p["lr"], (int, float)) and p["lr"] > 0):
        _fail("lr", p["lr"], "must be a positive number")
    if p["loss"] not in LOSSES:
        _fail("loss", p["loss"], f"must be one of {sorted(LOSSES)}")
    if p["augmentation"] not in AUGMENTATIONS:
        _fail("augmentation", p["augmentation"], f"must be one of {AUGMENTATIONS}")
    if p["upsampling"] not in UPSAMPLING:
        _fail("upsampling", p["upsampling"], f"must be one of {UPSAMPLING}")
    if p["postprocess"] not in POSTPROCESSING:
        _fail("postprocess", p["postprocess"], f"must be one of {POSTPROCESSING}")
    for name in model_names(p):
        if name not in list_models():
            _fail("model_name/ablation_models", name, f"unknown model; valid: {', '.join(list_models())}")
    if not (p["device"] == "cpu" or str(p["device"]).startswith("cuda")):
        _fail("device", p["device"], "must be 'cpu' or 'cuda' (or 'cuda:N')")
    if str(p["device"]).startswith("cuda") and not torch.cuda.is_available():
        _fail("device", p["device"], "CUDA is not available on this machine; use device='cpu'")
    return p


def model_names(p: dict) -> list[str]:
    """The main model, then the ablation rows (comma-separated ``ablation_models``)."""
    extra = [m.strip() for m in str(p.get("ablation_models", "")).split(",") if m.strip()]
    return [p["model_name"], *[m for m in extra if m != p["model_name"]]]

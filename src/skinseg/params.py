"""The one list of notebook (papermill) parameters.

Every paper notebook's ``parameters`` cell defines exactly these names, with
these types; the cell's text is generated from this list
(:func:`parameters_cell`, ``python -m skinseg params-cell``) and a test checks
every notebook against it. Values resolve in one direction::

    schema defaults  <-  paper recipe (papers/)  <-  profile (reproduce/profiles/*.yaml)  <-  variant overrides

:func:`validate` gives one clear error per bad value, naming the parameter and
the fix, before anything is written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from skinseg.datasets import DATASETS
from skinseg.metrics import METRIC_NAMES


@dataclass(frozen=True)
class Param:
    name: str
    type: type
    default: Any
    help: str
    choices: tuple | None = None
    minimum: float | None = None
    run: bool = True  # False: selects or places runs, but never changes a run's numbers
    positive: bool = False  # must be > 0 (beyond `minimum`)


def _p(name, type_, default, help_, choices=None, minimum=None, run=True, positive=False):
    return Param(name, type_, default, help_, choices, minimum, run, positive)


PROTOCOLS = ("holdout", "official", "kfold", "ratio")
OPTIMIZERS = ("adam", "sgd")
OPTIMIZER_IMPLS = ("auto", "foreach", "fused")
SCHEDULES = ("constant", "poly", "step")
PRECISIONS = ("fp32", "bf16", "fp16", "auto")
TARGETS = ("lesion", "background")
UPSAMPLING = ("bilinear", "bicubic")
POSTPROCESSING = ("none", "opening")
OPENING_ELEMENTS = ("disk", "square")
MONITORS = METRIC_NAMES  # any ISIC metric can pick the best epoch


def _augmentations():
    from skinseg.transforms import AUGMENTATIONS

    return AUGMENTATIONS


def _normalizations():
    from skinseg.transforms import NORMALIZATIONS

    return NORMALIZATIONS


def _losses():
    from skinseg.losses import LOSSES

    return tuple(sorted(LOSSES))


# Grouped as the parameters cell shows them. ``choices`` given as a callable are read lazily
# (their modules import torch/albumentations).
SCHEMA: tuple[Param, ...] = (
    # -- where the run goes and what it reads
    _p("profile", str, "smoke", "smoke | cpu-real | paper | paper-gpu | gpu-convergence | gpu-proof: names the results "
       "folder", ("smoke", "cpu-real", "paper", "paper-gpu", "gpu-convergence", "gpu-proof")),
    _p("data_root", str, "synthetic", '"synthetic" (generated, ISIC 2018 layout) or a dataset folder'),
    _p("dataset", str, "auto", "layout of data_root: auto | " + " | ".join(DATASETS), ("auto", *DATASETS)),
    _p("original_masks_root", str, "", "folder of full-resolution truth masks (empty: the dataset's own masks)"),
    _p("synthetic_n", int, 160, "synthetic training images (data_root synthetic); validation: n/5", minimum=2),
    _p("synthetic_size", int, 96, "synthetic image side in pixels", minimum=32),
    _p("memory_budget_mb", int, 4096, "decoded splits held in RAM up to this; beyond it, read from the disk cache",
       minimum=0, run=False),
    # -- split
    _p("paper_dataset", str, "isic2018", "the dataset the paper reports on; a stand-in is derived when data_root "
       "holds another (isic2016 and isic2018 from ISIC 2017)", DATASETS),
    _p("protocol", str, "holdout", "holdout | official | kfold | ratio (see skinseg.data.protocols)", PROTOCOLS),
    _p("val_fraction", float, 0.1, "validation share carved from the training pool (ratio: the paper's val share)"),
    _p("folds", int, 5, "K of the kfold protocol", minimum=2),
    _p("max_folds", int, 0, "run only the first n folds (0: all); the table says how many ran", minimum=0, run=False),
    _p("max_images", int, 0, "use only the first n images of each split in file order (0: all)", minimum=0),
    _p("split_seed", int, 0, "seed of the split (hold-out, folds, ratio)", minimum=0),
    # -- rows and seeds
    _p("variants", str, "", "comma-separated row labels to run (empty: every row of the paper)", run=False),
    _p("seeds", str, "0", "training seeds of the paper's own model, comma-separated", run=False),
    _p("ablation_seeds", str, "0", "training seeds of the other rows", run=False),
    # -- input and training
    _p("image_height", int, 64, "network input height (a multiple of 32)", minimum=32),
    _p("image_width", int, 64, "network input width (a multiple of 32)", minimum=32),
    _p("epochs", int, 10, "training epochs", minimum=1),
    _p("batch_size", int, 16, "images per optimiser step", minimum=1),
    _p("optimizer", str, "adam", "adam | sgd", OPTIMIZERS),
    _p("optimizer_impl", str, "auto", "how the optimiser steps: auto (PyTorch's choice: one tensor at a time on the "
       "CPU, foreach on CUDA) | foreach | fused (PyTorch's fused kernels: Adam steps 3-4x faster on this CPU); the "
       "same update, different in the last bits", OPTIMIZER_IMPLS),
    _p("lr", float, 1e-3, "learning rate (the decoder's when encoder_lr is set)", positive=True),
    _p("encoder_lr", float, 0.0, "encoder learning rate (0: same as lr)", minimum=0),
    _p("momentum", float, 0.9, "SGD momentum", minimum=0),
    _p("weight_decay", float, 0.0, "L2 weight decay", minimum=0),
    _p("lr_schedule", str, "constant", "constant | poly (per iteration) | step (every lr_step_epochs)", SCHEDULES),
    _p("poly_power", float, 0.9, "power of the poly schedule", minimum=0),
    _p("lr_step_epochs", int, 30, "step schedule: epochs between drops", minimum=1),
    _p("lr_step_gamma", float, 0.1, "step schedule: factor per drop", positive=True),
    _p("early_stopping_patience", int, 0, "stop after n epochs without a better validation score (0: never)",
       minimum=0),
    _p("early_stopping_min_delta", float, 0.0, "early stopping: an epoch resets the patience count only when it beats "
       "the epoch that last reset it by more than this (0: any gain over the best so far); the best epoch's weights "
       "are kept either way", minimum=0),
    _p("monitor", str, "jaccard", "validation metric that picks the best epoch", MONITORS),
    _p("loss", str, "dice", "loss name (skinseg.losses.LOSSES)", _losses),
    _p("epe_weight", float, 0.5, "weight of the EPE term in nll_epe losses", minimum=0),
    _p("ce_weight", float, 1.0, "weight of the cross-entropy term in the bce_dice loss", minimum=0),
    _p("augmentation", str, "flip_rot90", "named albumentations pipeline (skinseg.transforms)", _augmentations),
    _p("normalization", str, "imagenet", "imagenet (fixed statistics) | per_image (standardisation)",
       _normalizations),
    _p("augment_validation", bool, False, "validation images go through the training augmentation too (the "
       "public FPN code does this)"),
    _p("target", str, "lesion", "class the model is trained to find: lesion | background", TARGETS),
    _p("precision", str, "fp32", "fp32 | bf16 (CPU or CUDA autocast) | fp16 (CUDA autocast) | auto: bf16 where "
       "the device runs it in hardware (CUDA with bf16; a CPU with AMX or AVX512-BF16), else fp32, fixed when a run "
       "starts (its config.json says which; a resume or reuse elsewhere keeps it)", PRECISIONS),
    _p("channels_last", bool, False, "channels_last memory format (fast with bf16 on AMX CPUs and on GPUs)"),
    _p("encoder_weights", str, "", "local encoder checkpoint (torchvision/Cadene names), loaded by the rows whose "
       "encoder it fits; the others train from scratch; empty: all from scratch (nothing is downloaded)", run=False),
    # -- evaluation
    _p("threshold", float, 0.5, "probability threshold of the lesion mask"),
    _p("upsampling", str, "bilinear", "probabilities to the original mask size: bilinear | bicubic", UPSAMPLING),
    _p("postprocess", str, "none", "none | opening (at original resolution)", POSTPROCESSING),
    _p("opening_element", str, "disk", "opening element: disk (radius r) | square (side 2r+1)", OPENING_ELEMENTS),
    _p("opening_radius", int, 1, "opening element radius r in pixels", minimum=1),
    # -- machine
    # where a run trains is not part of what it is (as the CPU model is not): a run trained on a GPU is reused
    # under a CPU profile of the same config, and the other way; its provenance.json says where it ran
    _p("device", str, "cpu", "cpu | cuda | cuda:N (not part of a run's identity: provenance.json records it)",
       run=False),
    _p("num_workers", int, 0, "DataLoader worker processes", minimum=0, run=False),
    _p("checkpoint_interval_s", float, 0.0, "seconds between checkpoint writes (last.pt, and best.pt when it "
       "changed); the last epoch's (or an early stop's) are always written; 0: after every epoch. A resumed run repeats the epochs "
       "since the last write", minimum=0, run=False),
    _p("progress", bool, False, "tqdm bars and per-epoch lines in the output; off keeps executed notebooks small: "
       "a notebook run by hand still shows a live bar, and the batch runner logs a line per epoch outside it",
       run=False),
    _p("results_dir", str, "results", "relative paths are relative to the project root", run=False),
    _p("run_set", str, "", "a folder under the paper's results for runs of another budget (e.g. e24), kept beside "
       "the paper folder's own runs instead of replacing them; empty: the paper folder", run=False),
    _p("checkpoint_dir", str, "checkpoints", "git-ignored; user-cache: outside the checkout ($SKINSEG_CHECKPOINTS, else "
       "$XDG_CACHE_HOME/skinseg/checkpoints, else ~/.cache/skinseg/checkpoints), where a run stopped at a wall-clock "
       "limit resumes from any clone (the long profiles' choice)", run=False),
    _p("cache_dir", str, "cache", "preprocessing cache, git-ignored", run=False),
    _p("overwrite", bool, False, "True replaces finished runs and splits made with another config", run=False),
    _p("ph2_root", str, "", "summary: the unzipped PH2Dataset folder for the cross-dataset test (empty: skipped)",
       run=False),
    _p("train_missing", bool, True, "False: read finished runs only and list the missing ones, training nothing "
       "(to look at a long profile before all its runs exist)", run=False),
)
BY_NAME = {p.name: p for p in SCHEMA}
NAMES = tuple(BY_NAME)
# names that place or select runs but never change a run's numbers
NON_RUN = frozenset(p.name for p in SCHEMA if not p.run)


def defaults() -> dict:
    return {p.name: p.default for p in SCHEMA}


def choices(p: Param) -> tuple | None:
    return p.choices() if callable(p.choices) else p.choices


def _fail(name, value, why):
    raise ValueError(f"parameter {name}={value!r}: {why}")


def check(name: str, value) -> None:
    """One parameter's type, choices and range; ValueError naming it and the fix."""
    if name not in BY_NAME:
        raise ValueError(f"unknown parameter {name!r}; valid: {', '.join(NAMES)}")
    p = BY_NAME[name]
    ok_type = (isinstance(value, bool) if p.type is bool else
               isinstance(value, (int, float)) and not isinstance(value, bool) if p.type is float else
               isinstance(value, int) and not isinstance(value, bool) if p.type is int else
               isinstance(value, p.type))
    if not ok_type:
        _fail(name, value, f"must be {p.type.__name__}")
    ch = choices(p)
    if ch is not None and value not in ch:
        _fail(name, value, f"must be one of {', '.join(map(str, ch))}")
    if p.minimum is not None and value < p.minimum:
        _fail(name, value, f"must be >= {p.minimum}")
    if p.positive and value <= 0:
        _fail(name, value, "must be a positive number")


def validate(params: dict) -> dict:
    """Check a full parameter set (every name, nothing extra); returns a copy."""
    missing = [n for n in NAMES if n not in params]
    extra = [n for n in params if n not in BY_NAME]
    if missing:
        raise ValueError(f"parameters missing: {', '.join(missing)} (the parameters cell must define every name "
                         "in skinseg.params.SCHEMA; regenerate it with `python -m skinseg params-cell`)")
    if extra:
        raise ValueError(f"unknown parameter(s): {', '.join(extra)}; valid: {', '.join(NAMES)}")
    for n in NAMES:
        check(n, params[n])
    # 1 and 1.0 are the same learning rate: one spelling in configs and their digests
    p = {n: float(v) if BY_NAME[n].type is float else v for n, v in params.items()}
    for name in ("image_height", "image_width"):
        if p[name] % 32:
            _fail(name, p[name], f"must be a multiple of 32 (e.g. {max(32, round(p[name] / 32) * 32)})")
    if not 0 < p["val_fraction"] < 1:
        _fail("val_fraction", p["val_fraction"], "must be between 0 and 1 (e.g. 0.1)")
    if not 0 < p["threshold"] < 1:
        _fail("threshold", p["threshold"], "must be between 0 and 1 (e.g. 0.5)")
    for name in ("seeds", "ablation_seeds"):
        seed_list(p[name], name)
    if not re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9_-]*)?", p["run_set"]):
        _fail("run_set", p["run_set"], "must be one folder name of letters, digits, '_' and '-' (e.g. e24), or empty")
    dev = p["device"]
    if not (dev == "cpu" or dev.startswith("cuda")):
        _fail("device", dev, "must be 'cpu' or 'cuda' (or 'cuda:N')")
    if dev.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            _fail("device", dev, "CUDA is not available on this machine; use device='cpu'")
    elif p["precision"] == "fp16":
        _fail("precision", "fp16", "fp16 autocast is CUDA-only; use bf16 on the CPU (or fp32)")
    return p


def seed_list(text: str, name: str = "seeds") -> list[int]:
    """``"0,1,2"`` -> ``[0, 1, 2]``; ValueError naming the parameter otherwise."""
    try:
        seeds = [int(s) for s in str(text).split(",") if s.strip()]
    except ValueError:
        _fail(name, text, 'must be comma-separated non-negative ints, e.g. "0,1,2"')
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        _fail(name, text, 'must list at least one seed, each once, e.g. "0,1,2"')
    return seeds


def csv_list(text: str) -> list[str]:
    return [t.strip() for t in str(text).split(",") if t.strip()]


def parameters_cell(values: dict) -> str:
    """The text of a notebook's parameters cell: one commented line per name, in schema order."""
    lines = ["# Parameters (papermill): every name of skinseg.params.SCHEMA, in its order; the values are the",
             "# smoke profile's (the paper's recipe with smoke overrides). `python -m skinseg params-cell NOTEBOOK`",
             "# prints this cell; reproduce/profiles/*.yaml override it for cpu-real and paper runs."]
    def assign(n):
        return f"{n}: {BY_NAME[n].type.__name__} = {values[n]!r}"

    width = max(len(assign(n)) for n in NAMES)
    for n in NAMES:
        lines.append(f"{assign(n):<{width}}  # {BY_NAME[n].help}")
    return "\n".join(lines)


def run_keys(params: dict) -> dict:
    """The parameters that can change a run's numbers."""
    return {k: v for k, v in params.items() if k not in NON_RUN}

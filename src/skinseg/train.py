"""One trainer for every paper.

Adam or SGD (momentum, weight decay); encoder/decoder parameter groups with
their own learning rates; per-iteration schedules (constant, poly with power 0.9
via ``torch.optim.lr_scheduler.PolynomialLR``, step drops via ``StepLR``);
early stopping on a validation metric; the best-on-validation weights kept;
a per-epoch history CSV; a tqdm bar per epoch; AMP and channels_last on CUDA.

Resume: ``last.pt`` (model, optimiser, scheduler, scaler, RNG states, history,
early-stopping state) is written atomically after every epoch. Data order and
augmentation depend only on (seed, epoch, index), so a run killed anywhere and
started again with the same config ends with the same numbers as an
uninterrupted one (bitwise on CPU).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from skinseg.losses import foreground_prob
from skinseg.metrics import METRIC_NAMES, confusion, summarize
from skinseg.results import save_torch, write_csv
from skinseg.seed import rng_state, set_rng_state, torch_generator, worker_init_fn

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "poly", "step")


@dataclass
class TrainSettings:
    epochs: int = 10
    batch_size: int = 8
    lr: float = 1e-4
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    encoder_lr: float | None = None      # None: same as lr
    lr_schedule: str = "constant"
    poly_power: float = 0.9
    lr_step_epochs: int = 30
    lr_step_gamma: float = 0.1
    early_stopping_patience: int = 0     # 0: never stop early
    monitor: str = "jaccard"             # validation metric to maximise (macro, training resolution)
    amp: bool = True                     # CUDA only
    channels_last: bool = True           # CUDA only
    num_workers: int = 0
    progress: bool = True

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be > 0, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {SCHEDULES}, got {self.lr_schedule!r}")
        if self.monitor not in METRIC_NAMES:
            raise ValueError(f"monitor must be one of {METRIC_NAMES}, got {self.monitor!r}")


def _param_groups(model, s: TrainSettings):
    enc = getattr(model, "encoder", None)
    if s.encoder_lr is None or enc is None:
        return [{"params": list(model.parameters()), "lr": s.lr}]
    enc_ids = {id(p) for p in enc.parameters()}
    return [{"params": [p for p in model.parameters() if id(p) in enc_ids], "lr": s.encoder_lr},
            {"params": [p for p in model.parameters() if id(p) not in enc_ids], "lr": s.lr}]


def make_optimizer(model, s: TrainSettings):
    groups = _param_groups(model, s)
    if s.optimizer == "adam":
        return torch.optim.Adam(groups, lr=s.lr, weight_decay=s.weight_decay)
    return torch.optim.SGD(groups, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)


def make_scheduler(opt, s: TrainSettings, steps_per_epoch: int):
    """Per-iteration schedule (``scheduler.step()`` after every optimiser step)."""
    total = s.epochs * steps_per_epoch
    if s.lr_schedule == "poly":
        return torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=total, power=s.poly_power)
    if s.lr_schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=s.lr_step_epochs * steps_per_epoch, gamma=s.lr_step_gamma)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


def _rng_to_safe(state: dict) -> dict:
    """RNG state in types ``torch.load(weights_only=True)`` accepts."""
    name, keys, pos, has_gauss, gauss = state["numpy"]
    return {"python": [state["python"][0], list(state["python"][1]), state["python"][2]],
            "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
            "torch": state["torch"], "cuda": state["cuda"]}


def _rng_from_safe(state: dict) -> dict:
    v, internal, gauss_next = state["python"]
    name, keys, pos, has_gauss, gauss = state["numpy"]
    return {"python": (v, tuple(internal), gauss_next),
            "numpy": (name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss),
            "torch": state["torch"], "cuda": state["cuda"]}


@torch.no_grad()
def predict(model, loader, device, amp: bool = False, channels_last: bool = False, loss_fn=None):
    """Lesion probabilities ``(N, 1, H, W)`` float32 (CPU), masks ``(N, 1, H, W)`` in
    loader order, and the mean per-image ``loss_fn`` (NaN when not given)."""
    model.eval()
    probs, masks, losses = [], [], []
    for batch in loader:
        x = batch["image"].to(device)
        if channels_last:
            x = x.to(memory_format=torch.channels_last)
        with torch.autocast("cuda", enabled=amp):
            logits = model(x).float()
        if loss_fn is not None:
            losses.append(loss_fn(logits, batch["mask"].to(device), reduction="none").cpu())
        probs.append(foreground_prob(logits).cpu())
        masks.append(batch["mask"])
    mean_loss = float(torch.cat(losses).mean()) if losses else float("nan")
    return torch.cat(probs), torch.cat(masks), mean_loss


def fit(model, train_ds, val_ds, loss_fn, settings: TrainSettings, checkpoint_dir, history_path,
        seed: int, device: str = "cpu", on_step: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Train ``model`` (resuming from ``checkpoint_dir/last.pt`` if present); keep
    the best-on-validation weights in ``checkpoint_dir/best.pt``. Returns the
    per-epoch history (also written to ``history_path``).

    ``on_step(epoch, step)`` is called after every optimiser step (tests use it to
    interrupt a run). A non-finite loss raises FloatingPointError naming the step.
    """
    s = settings
    ckdir = Path(checkpoint_dir)
    cuda = str(device).startswith("cuda")
    amp, cl = s.amp and cuda, s.channels_last and cuda
    model.to(device)
    if cl:
        model.to(memory_format=torch.channels_last)
    drop_last = len(train_ds) > s.batch_size  # avoid a final batch of one (BatchNorm)
    steps_per_epoch = len(train_ds) // s.batch_size if drop_last else 1
    opt = make_optimizer(model, s)
    sched = make_scheduler(opt, s, steps_per_epoch)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    history: list[dict] = []
    best, bad_epochs, start_epoch, stopped = -math.inf, 0, 0, False

    last = ckdir / "last.pt"
    if last.is_file():
        ck = torch.load(last, map_location=device, weights_only=True)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        scaler.load_state_dict(ck["scaler"])
        set_rng_state(_rng_from_safe(ck["rng"]))
        history, best, bad_epochs, stopped = ck["history"], ck["best"], ck["bad_epochs"], ck["stopped"]
        start_epoch = ck["epoch"] + 1

    val_loader = DataLoader(val_ds, batch_size=s.batch_size, shuffle=False, num_workers=s.num_workers,
                            worker_init_fn=worker_init_fn)
    for epoch in range(start_epoch, s.epochs):
        if stopped:
            break
        train_ds.set_epoch(epoch)
        loader = DataLoader(train_ds, batch_size=s.batch_size, shuffle=True, drop_last=drop_last,
                            num_workers=s.num_workers, generator=torch_generator(seed, epoch),
                            worker_init_fn=worker_init_fn)
        model.train()
        losses = []
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{s.epochs}", disable=not s.progress, leave=False,
                   mininterval=2.0)
        for step, batch in enumerate(bar):
            x, y = batch["image"].to(device), batch["mask"].to(device)
            if cl:
                x = x.to(memory_format=torch.channels_last)
            with torch.autocast("cuda", enabled=amp):
                loss = loss_fn(model(x).float(), y)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"loss is {loss.item()} at epoch {epoch + 1}, step {step + 1} (global step "
                    f"{epoch * steps_per_epoch + step + 1}); lower lr, or check the inputs of this batch")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses):.4f}")
            if on_step is not None:
                on_step(epoch, step)
        probs, masks, val_loss = predict(model, val_loader, device, amp, cl, loss_fn)
        val = summarize(confusion(probs > 0.5, masks > 0.5).numpy(), "macro")
        row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "val_loss": val_loss,
               **{f"val_{k}": v for k, v in val.items()}, "lr": opt.param_groups[-1]["lr"]}
        improved = val[s.monitor] > best
        if improved:
            best, bad_epochs = val[s.monitor], 0
            save_torch(ckdir / "best.pt", {"model": model.state_dict(), "epoch": epoch + 1, s.monitor: best})
        else:
            bad_epochs += 1
        row["best"] = improved
        history.append(row)
        stopped = bool(s.early_stopping_patience and bad_epochs >= s.early_stopping_patience)
        save_torch(last, {"model": model.state_dict(), "optimizer": opt.state_dict(),
                          "scheduler": sched.state_dict(), "scaler": scaler.state_dict(),
                          "rng": _rng_to_safe(rng_state()), "history": history, "best": best,
                          "bad_epochs": bad_epochs, "stopped": stopped, "epoch": epoch,
                          "settings": asdict(s)})
        write_csv(history_path, pd.DataFrame(history))
        if s.progress:
            print(f"epoch {epoch + 1}/{s.epochs}: train_loss {row['train_loss']:.4f}  "
                  f"val_{s.monitor} {val[s.monitor]:.4f}{'  *best' if improved else ''}", flush=True)
    return pd.DataFrame(history)


def load_best(model, checkpoint_dir, device: str = "cpu"):
    ck = torch.load(Path(checkpoint_dir) / "best.pt", map_location=device, weights_only=True)
    model.load_state_dict(ck["model"])
    return model

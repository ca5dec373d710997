"""One trainer for every paper.

Adam or SGD (momentum, weight decay); encoder/decoder parameter groups with
their own learning rates; per-iteration schedules (constant, poly with power 0.9
via ``torch.optim.lr_scheduler.PolynomialLR``, step drops via ``StepLR``);
early stopping on a validation metric; the best-on-validation weights kept;
a per-epoch history CSV (the training loss, the batch-pooled training Jaccard and
Dice loss that smp's training loop logs, and the validation scores); a tqdm bar per
epoch; autocast (bf16 on CPU and CUDA, fp16 on CUDA) and channels_last on either device.

Resume: ``last.pt`` (model, optimiser, scheduler, scaler, RNG states, history,
early-stopping state, and the digest of the run's config) is written
atomically after every epoch, or with ``checkpoint_interval_s`` at most that often (then the best
epoch's weights wait in memory and ``best.pt`` is written just before ``last.pt``; a killed run
repeats the epochs since the last write); the last epoch's (or the early stop's) leaves out the optimiser,
scheduler, scaler and RNG states, which a finished run never reads (for SLSDeep they are two thirds of
the file). Data order and augmentation depend only on
(seed, epoch, index), so a run killed anywhere and started again with the same
config ends with the same numbers as an uninterrupted one (bitwise on CPU). A
``last.pt`` of another config is refused, never resumed.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
import warnings
from datetime import datetime, timezone
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from skinseg import params as P
from skinseg.allocator import keep_freed_memory
from skinseg.cpuinfo import cpu_name, emulates_bf16
from skinseg.inference import autocast, predict, prepare_images
from skinseg.losses import foreground_prob
from skinseg.metrics import confusion, summarize
from skinseg.paths import display
from skinseg.results import comparable, config_diff, config_digest, same_run, save_torch, write_csv
from skinseg.seed import rng_state, set_rng_state, torch_generator, worker_init_fn


# set by the batch runner (skinseg.batch.execute) for the notebooks' kernels: a training run there prints one
# line per epoch to the kernel's stderr (the runner's console or its .log), never into the executed notebook
BATCH_ENV = "SKINSEG_BATCH_KERNEL"


class StaleCheckpointError(RuntimeError):
    """A checkpoint written by a run with another config."""


@dataclass
class TrainSettings:
    """Training settings; names and meanings as in :mod:`skinseg.params` (filled by name
    with :meth:`from_params`)."""

    epochs: int = 10
    batch_size: int = 8
    lr: float = 1e-4
    optimizer: str = "adam"
    optimizer_impl: str = "auto"
    momentum: float = 0.9
    weight_decay: float = 0.0
    encoder_lr: float = 0.0              # 0: same as lr
    lr_schedule: str = "constant"
    poly_power: float = 0.9
    lr_step_epochs: int = 30
    lr_step_gamma: float = 0.1
    early_stopping_patience: int = 0     # 0: never stop early
    early_stopping_min_delta: float = 0.0  # what counts as better for the patience count (the best epoch: any gain)
    monitor: str = "jaccard"             # validation metric to maximise (macro, training resolution)
    precision: str = "fp32"
    channels_last: bool = False
    normalization: str = "imagenet"
    num_workers: int = 0
    checkpoint_interval_s: float = 0.0   # 0: checkpoints after every epoch
    progress: bool = True

    def __post_init__(self):
        if self.encoder_lr is None:
            self.encoder_lr = 0.0
        for f in fields(self):
            P.check(f.name, getattr(self, f.name))

    @classmethod
    def from_params(cls, params: dict) -> "TrainSettings":
        return cls(**{f.name: params[f.name] for f in fields(cls)})


def patience_count(score: float, ref: float, bad_epochs: int, min_delta: float = 0.0) -> tuple[float, int]:
    """One epoch of the early-stopping count: ``(ref, bad_epochs)`` after an epoch scoring ``score``.
    Only a score above ``ref + min_delta`` resets the count and becomes the new ``ref`` (Keras's
    ``min_delta``); any other epoch adds one. With ``min_delta`` 0, ``ref`` is the best score so far.
    A run stopped after ``patience`` such epochs, with ``patience`` no shorter than
    :func:`skinseg.convergence.window_epochs` of its length (nor than 2: a run stopped at epoch 2 is
    too short to judge) and ``min_delta`` no wider than :data:`skinseg.convergence.BAND`, is converged
    by that module's criterion: ``ref`` lies before the window and nothing inside it beats ``ref`` by
    more than ``min_delta``."""
    if score > ref + min_delta:
        return score, 0
    return ref, bad_epochs + 1


def _param_groups(model, s: TrainSettings):
    enc = getattr(model, "encoder", None)
    if not s.encoder_lr:
        return [{"params": list(model.parameters()), "lr": s.lr}]
    if enc is None:
        raise ValueError(f"encoder_lr={s.encoder_lr}: {type(model).__name__} has no .encoder to give its own "
                         "learning rate; set encoder_lr=0")
    enc_ids = {id(p) for p in enc.parameters()}
    return [{"params": [p for p in model.parameters() if id(p) in enc_ids], "lr": s.encoder_lr},
            {"params": [p for p in model.parameters() if id(p) not in enc_ids], "lr": s.lr}]


def make_optimizer(model, s: TrainSettings):
    groups = _param_groups(model, s)
    # "auto" passes neither flag: PyTorch's per-device default, what every run before the option used
    impl = {} if s.optimizer_impl == "auto" else {s.optimizer_impl: True}
    if s.optimizer == "adam":
        return torch.optim.Adam(groups, lr=s.lr, weight_decay=s.weight_decay, **impl)
    return torch.optim.SGD(groups, lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay, **impl)


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


def _check_config(ck: dict, path: Path, run_config: dict | None) -> None:
    """Refuse a checkpoint written under another run config (see :func:`skinseg.results.same_run`)."""
    old = ck.get("config")
    if old is None and not ck.get("config_digest") and run_config is None:
        return  # both written outside any run folder (direct fit() calls)
    if old is not None and run_config is not None and same_run(old, run_config):
        return
    if old is None and run_config is not None and ck.get("config_digest") == config_digest(run_config):
        return  # a checkpoint of the first 3a commits: digest only
    diff = config_diff(old or {}, run_config or {})
    raise StaleCheckpointError(
        f"{display(path)} was written by a run with another config (differs in: {', '.join(diff) or 'unknown'}); "
        f"it cannot be used here. Delete {display(path.parent)} or run with overwrite=True")


def checkpoint_config(checkpoint_dir) -> dict | None:
    """The run config stored in ``checkpoint_dir/last.pt`` (its comparable part), or None without one.
    Read memory-mapped."""
    last = Path(checkpoint_dir) / "last.pt"
    return torch.load(last, map_location="cpu", weights_only=True, mmap=True).get("config") if last.is_file() else None


def check_checkpoint_folder(checkpoint_dir, run_config: dict) -> bool:
    """Before a run claims a new results folder: whether ``checkpoint_dir`` holds this run stopped part-way
    (``last.pt`` of the same config, e.g. written from another clone: the run resumes from it). A
    ``last.pt`` or ``best.pt`` of another config raises :class:`StaleCheckpointError` naming the file
    (it is never deleted silently: it may be another checkout's run)."""
    ckdir = Path(checkpoint_dir)
    for name in ("last.pt", "best.pt"):
        f = ckdir / name
        if f.is_file():
            _check_config(torch.load(f, map_location="cpu", weights_only=True, mmap=True), f, run_config)
    return (ckdir / "last.pt").is_file()


def processor_name(device: str) -> str:
    """The processor that trains on ``device``: the GPU's name on CUDA, else :func:`skinseg.cpuinfo.cpu_name`."""
    return torch.cuda.get_device_name(device) if str(device).startswith("cuda") else cpu_name()


def _batch_scores(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """``[Jaccard at 0.5, soft Dice loss]`` of one training batch, pixels pooled over the batch:
    Jaccard = |hit & truth| / |hit | truth| (1 when both are empty); Dice loss = 1 - (2 sum(p t) + 1)
    / (sum(p) + sum(t) + 1), p the probability of the trained target. These are smp's ``IoU`` and
    ``DiceLoss`` as its ``TrainEpoch`` logs them (what the FPN paper's code logged); the history's
    ``train_jaccard`` and ``train_dice_loss`` are their means over the epoch's batches. Returned as
    a tensor on the batch's device (no host sync per step). ``logits`` ``(N, C, H, W)``, ``masks``
    ``(N, 1, H, W)`` of the trained target."""
    p = foreground_prob(logits)
    hit, truth = p > 0.5, masks > 0.5
    inter, union = (hit & truth).sum(), (hit | truth).sum()
    jaccard = torch.where(union > 0, inter / union.clamp(min=1), torch.ones((), device=logits.device))
    dice_loss = 1 - (2 * (p * masks).sum() + 1) / (p.sum() + masks.sum() + 1)
    return torch.stack([jaccard.float(), dice_loss.float()])


def fit(model, train_ds, val_ds, loss_fn, settings: TrainSettings, checkpoint_dir, history_path,
        seed: int, device: str = "cpu", on_step: Callable[[int, int], None] | None = None,
        run_config: dict | None = None) -> pd.DataFrame:
    """Train ``model`` (resuming from ``checkpoint_dir/last.pt`` if present); keep
    the best-on-validation weights in ``checkpoint_dir/best.pt``. Returns the
    per-epoch history (also written to ``history_path``); its ``attrs["train_seconds"]`` is the wall
    time of all epochs (training and validation), summed over resumes (NaN after resuming a
    checkpoint written before this was recorded); ``attrs["train_cpu_seconds"]`` the CPU time used
    over those epochs (:func:`cpu_seconds`: this process's threads and its finished data-loader
    workers), summed over resumes (NaN likewise): unlike the wall time, it does not count a stopped
    process (SIGSTOP) or the time other work held the cores (threads spin-waiting for a pre-empted
    sibling still count); ``attrs["resumed_after_epochs"]`` the epochs in the
    ``last.pt`` this call started from (0: none); ``attrs["started_on"]`` where epoch 1 ran
    (``{"cpu", "date"}``, None in a checkpoint from before this record) and ``attrs["resumes"]`` one
    ``{"after_epoch", "cpu", "date"}`` per resume, in order: a run resumed on another machine keeps its
    config (its precision too), and these say where each part of it ran.

    ``run_config``: the run's config; its comparable part is stored in ``last.pt`` and
    ``best.pt``, and a ``last.pt`` of another config raises :class:`StaleCheckpointError`.
    Progress: ``settings.progress`` prints a bar and a line per epoch into the output; without it, a notebook
    run by hand still shows a live bar (closed at each epoch's end), and one run by the batch runner
    (:data:`BATCH_ENV`) logs a line per epoch to the kernel's stderr, outside the notebook.
    ``on_step(epoch, step)`` is called after every optimiser step (tests use it to
    interrupt a run). A non-finite loss raises FloatingPointError naming the step.
    """
    s = settings
    ckdir = Path(checkpoint_dir)
    # a notebook run by hand (an IPython kernel outside the batch runner): a live bar whatever `progress` says;
    # it closes when the epoch ends (leave=False), so a saved notebook keeps no bar
    interactive = not os.environ.get(BATCH_ENV) and "ipykernel" in sys.modules
    cuda = str(device).startswith("cuda")
    keep_freed_memory()  # 9-20 % faster bf16 steps on the CPU; changes no number (see skinseg.allocator)
    if not cuda and s.precision == "bf16" and emulates_bf16():
        warnings.warn(f"precision bf16 on a CPU without AMX or AVX512-BF16 ({cpu_name()}): PyTorch emulates it "
                      "(measured on such a CPU: 0.45x fp32's training speed, skinseg.cpuinfo); the run's config "
                      "is unchanged, its time is not comparable with runs on an AMX CPU (provenance.json 'cpu' "
                      "says which). precision=fp32 is likely faster here, but it is another config: finished "
                      "bf16 runs are not reused under it.",
                      stacklevel=2)
    model.to(device)
    if s.channels_last:
        model.to(memory_format=torch.channels_last)
    drop_last = len(train_ds) > s.batch_size  # avoid a final batch of one (BatchNorm)
    steps_per_epoch = len(train_ds) // s.batch_size if drop_last else 1
    opt = make_optimizer(model, s)
    sched = make_scheduler(opt, s, steps_per_epoch)
    # loss scaling only for fp16: bf16 has fp32's exponent range
    scaler = torch.amp.GradScaler("cuda", enabled=cuda and s.precision == "fp16")
    history: list[dict] = []
    best, bad_epochs, start_epoch, stopped = -math.inf, 0, 0, False
    stop_ref = -math.inf  # the score the patience count waits to beat by more than early_stopping_min_delta
    train_seconds = 0.0  # wall time of the epochs (training + validation), summed over resumes
    train_cpu_seconds = 0.0  # the process's CPU time over the same epochs

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    started_on, resumes = {"cpu": processor_name(device), "date": now}, []
    last = ckdir / "last.pt"
    if last.is_file():
        # to CPU first: RNG states must stay CPU tensors; weights and optimiser state are
        # copied onto the model's device by load_state_dict
        ck = torch.load(last, map_location="cpu", weights_only=True)
        _check_config(ck, last, run_config)
        model.load_state_dict(ck["model"])
        if "optimizer" in ck:  # absent from a finished run's checkpoint: nothing is left to train
            opt.load_state_dict(ck["optimizer"])
            sched.load_state_dict(ck["scheduler"])
            scaler.load_state_dict(ck["scaler"])
            set_rng_state(_rng_from_safe(ck["rng"]))
        history, best, bad_epochs, stopped = ck["history"], ck["best"], ck["bad_epochs"], ck["stopped"]
        stop_ref = ck.get("stop_ref", best)  # before min_delta existed the two were one (min_delta 0)
        start_epoch = ck["epoch"] + 1
        train_seconds = ck.get("train_seconds", math.nan)  # NaN: a checkpoint from before this record
        train_cpu_seconds = ck.get("train_cpu_seconds", math.nan)
        here = processor_name(device)
        started_on = ck.get("started_on")
        resumes = [*ck.get("resumes", []), {"after_epoch": start_epoch, "cpu": here, "date": now}]
        if ck["epoch"] + 1 < s.epochs and not ck["stopped"]:
            print(f"resuming {display(last)} after epoch {start_epoch} of {s.epochs} on {here} (precision "
                  f"{s.precision}, as the run started)", flush=True)

    stored = None if run_config is None else json.loads(json.dumps(comparable(run_config), default=str))
    last_written = time.perf_counter()
    best_unsaved = None  # the best epoch's checkpoint while it waits for the next write
    val_loader = DataLoader(val_ds, batch_size=s.batch_size, shuffle=False, num_workers=s.num_workers,
                            worker_init_fn=worker_init_fn)
    for epoch in range(start_epoch, s.epochs):
        if stopped:
            break
        epoch_started, epoch_cpu_started = time.perf_counter(), cpu_seconds()
        train_ds.set_epoch(epoch)
        if hasattr(val_ds, "set_epoch"):
            val_ds.set_epoch(epoch)  # matters only when validation is augmented too
        loader = DataLoader(train_ds, batch_size=s.batch_size, shuffle=True, drop_last=drop_last,
                            num_workers=s.num_workers, generator=torch_generator(seed, epoch),
                            worker_init_fn=worker_init_fn)
        model.train()
        losses, batch_scores = [], []
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{s.epochs}", disable=not (s.progress or interactive),
                   leave=False, mininterval=2.0)
        for step, batch in enumerate(bar):
            x = prepare_images(batch["image"], device, s.normalization, s.channels_last)
            y = batch["mask"].to(device)
            with autocast(device, s.precision):
                logits = model(x)
            loss = loss_fn(logits.float(), y)
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
            with torch.no_grad():
                batch_scores.append(_batch_scores(logits.detach().float(), y))
            bar.set_postfix(loss=f"{np.mean(losses):.4f}")
            if on_step is not None:
                on_step(epoch, step)
        probs, masks, val_loss = predict(model, val_loader, device, s.precision, s.channels_last, s.normalization,
                                         loss_fn)
        val = summarize(confusion(probs > 0.5, masks > 0.5).numpy(), "macro")
        train_jaccard, train_dice_loss = torch.stack(batch_scores).mean(0).tolist()
        row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "train_jaccard": train_jaccard,
               "train_dice_loss": train_dice_loss,
               "val_loss": val_loss,
               **{f"val_{k}": v for k, v in val.items()}, "lr": opt.param_groups[-1]["lr"]}
        improved = val[s.monitor] > best
        stop_ref, bad_epochs = patience_count(val[s.monitor], stop_ref, bad_epochs, s.early_stopping_min_delta)
        if improved:
            best = val[s.monitor]
            weights = model.state_dict()
            if s.checkpoint_interval_s:  # kept until written (later epochs change the model's tensors), off the GPU
                weights = {k: v.detach().to("cpu", copy=True) for k, v in weights.items()}
            best_unsaved = {"model": weights, "epoch": epoch + 1, s.monitor: best, "config": stored}
        row["best"] = improved
        history.append(row)
        train_seconds += time.perf_counter() - epoch_started
        train_cpu_seconds += cpu_seconds() - epoch_cpu_started
        stopped = bool(s.early_stopping_patience and bad_epochs >= s.early_stopping_patience)
        final = stopped or epoch + 1 == s.epochs
        if final or time.perf_counter() - last_written >= s.checkpoint_interval_s:
            # best.pt first: a last.pt never names a best epoch whose weights are not on disk
            if best_unsaved is not None:
                save_torch(ckdir / "best.pt", best_unsaved)
                best_unsaved = None
            resumable = {} if final else {
                "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "scaler": scaler.state_dict(),
                "rng": _rng_to_safe(rng_state())}
            save_torch(last, {"model": model.state_dict(), **resumable, "history": history, "best": best,
                              "stop_ref": stop_ref, "bad_epochs": bad_epochs, "stopped": stopped, "epoch": epoch,
                              "settings": asdict(s), "config": stored, "train_seconds": train_seconds,
                              "train_cpu_seconds": train_cpu_seconds, "started_on": started_on,
                              "resumes": resumes})
            last_written = time.perf_counter()
        write_csv(history_path, pd.DataFrame(history))
        line = (f"epoch {epoch + 1}/{s.epochs}: train_loss {row['train_loss']:.4f}  "
                f"val_{s.monitor} {val[s.monitor]:.4f}{'  *best' if improved else ''}")
        if s.progress:
            print(line, flush=True)
        elif os.environ.get(BATCH_ENV):  # the kernel's own stderr: the runner's console and log, not the notebook
            print(line, file=sys.__stderr__, flush=True)
    out = pd.DataFrame(history)
    out.attrs["train_seconds"] = train_seconds
    out.attrs["train_cpu_seconds"] = train_cpu_seconds
    out.attrs["resumed_after_epochs"] = start_epoch  # history.csv may be ahead of last.pt (checkpoint_interval_s)
    out.attrs["started_on"], out.attrs["resumes"] = started_on, resumes
    return out


def cpu_seconds() -> float:
    """CPU seconds used so far by this process (every thread: ``time.process_time``) and by its child
    processes that have ended and been waited for (data-loader workers, which end with each epoch;
    counted where the ``resource`` module exists, i.e. not on Windows)."""
    try:
        import resource
    except ImportError:
        return time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def checkpoint_summary(checkpoint_dir) -> dict:
    """What ``checkpoint_dir/last.pt`` holds of a run stopped part-way: ``epochs`` it resumes after (0
    without one), ``train_seconds`` over them (NaN: none, or not recorded) and ``cpu``, where its last
    part ran (None: not recorded). Read memory-mapped."""
    last = Path(checkpoint_dir) / "last.pt"
    if not last.is_file():
        return {"epochs": 0, "train_seconds": math.nan, "cpu": None}
    ck = torch.load(last, map_location="cpu", weights_only=True, mmap=True)
    parts = [ck.get("started_on") or {}, *ck.get("resumes", [])]
    return {"epochs": int(ck["epoch"]) + 1, "train_seconds": float(ck.get("train_seconds", math.nan)),
            "cpu": parts[-1].get("cpu")}


def checkpoint_epochs(checkpoint_dir) -> int:
    """Epochs a run resumes after: those in ``checkpoint_dir/last.pt`` (0 when it has none). Reads
    the file memory-mapped, so a large checkpoint costs little."""
    last = Path(checkpoint_dir) / "last.pt"
    if not last.is_file():
        return 0
    return int(torch.load(last, map_location="cpu", weights_only=True, mmap=True)["epoch"]) + 1


def load_best(model, checkpoint_dir, device: str = "cpu", run_config: dict | None = None):
    """Load ``best.pt`` into ``model`` (on ``device``); with ``run_config``, refuse a
    checkpoint of another config."""
    f = Path(checkpoint_dir) / "best.pt"
    ck = torch.load(f, map_location="cpu", weights_only=True)
    if run_config is not None:
        _check_config(ck, f, run_config)
    model.load_state_dict(ck["model"])
    return model.to(device)

"""Trainer: determinism, resume after an interruption, NaN stop, schedules, early stopping."""
import math
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from skinseg.data import PreprocessCache, SegmentationDataset, discover
from skinseg.losses import dice_loss
from skinseg.models import build_model
from skinseg.seed import seed_everything
from skinseg.train import TrainSettings, fit, make_optimizer, make_scheduler

SETTINGS = dict(epochs=3, batch_size=4, lr=1e-3, progress=False)
# A learning rate that pins LinkNet-64 here to all-lesion output: validation Jaccard is the same to the
# last bit at every epoch, so epoch 1 stays the best under any thread count (at 0.03 one thread let
# epoch 3 edge ahead by 5e-5 while two did not), and the weights still move every step.
FLAT_LR = 0.3


def _datasets(root, cache_dir):
    idx = discover(root)
    cache = PreprocessCache(cache_dir)
    return (SegmentationDataset(idx.samples("train"), (32, 32), cache, augmentation="flip_rot90_color", seed=5),
            SegmentationDataset(idx.samples("val"), (32, 32), cache))


def _train(root, tmp, name, on_step=None, freeze_bn=False, device="cpu", run_config=None, **kw):
    seed_everything(5)
    model = build_model("linknet64")
    for m in model.modules():
        if freeze_bn and isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = 0.0  # running statistics never move
    tr, va = _datasets(root, tmp / "cache")
    h = fit(model, tr, va, dice_loss, TrainSettings(**{**SETTINGS, **kw}), tmp / name, tmp / f"{name}.csv", 5,
            device=device, on_step=on_step, run_config=run_config)
    return model, h


@pytest.fixture
def checkpoint_writes(monkeypatch):
    """Every checkpoint ``fit`` writes, in order: (file name, epoch it holds: best.pt's best epoch,
    last.pt's epochs done)."""
    import skinseg.train as T

    written, real_save = [], T.save_torch

    def save(path, obj):
        written.append((path.name, obj["epoch"] if path.name == "best.pt" else obj["epoch"] + 1))
        return real_save(path, obj)

    monkeypatch.setattr(T, "save_torch", save)
    return written


def _same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


FAST = dict(precision="bf16", channels_last=True)


@pytest.mark.parametrize("fast", [False, True], ids=["fp32", "bf16-channels_last"])
def test_same_seed_bitwise_identical(synth_small, tmp_path, fast):
    kw = FAST if fast else {}
    a, ha = _train(synth_small, tmp_path, "a", **kw)
    b, hb = _train(synth_small, tmp_path, "b", **kw)
    assert _same_weights(a, b)
    pd.testing.assert_frame_equal(ha, hb)
    assert len(ha) == 3 and set(ha.columns) >= {"epoch", "train_loss", "val_loss", "val_jaccard", "lr", "best"}
    if fast:  # bf16 really ran: the numbers differ from fp32's
        _, h32 = _train(synth_small, tmp_path, "c")
        assert not h32.train_loss.equals(ha.train_loss)


@pytest.mark.parametrize("fast", [False, True], ids=["fp32", "bf16-channels_last"])
def test_interrupted_run_resumes_to_identical_numbers(synth_small, tmp_path, fast):
    kw = FAST if fast else {}
    full, h_full = _train(synth_small, tmp_path, "full", **kw)

    def crash(epoch, step):
        if epoch == 1 and step == 2:  # mid-epoch: the partial epoch is replayed on resume
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        _train(synth_small, tmp_path, "resumed", on_step=crash, **kw)
    assert (tmp_path / "resumed" / "last.pt").is_file()
    assert len(pd.read_csv(tmp_path / "resumed.csv")) == 1  # only epoch 1 was finished
    resumed, h_res = _train(synth_small, tmp_path, "resumed", **kw)
    assert _same_weights(full, resumed)
    pd.testing.assert_frame_equal(h_full, h_res)


def test_checkpoint_interval_writes_once_at_the_end_and_keeps_the_best_epoch(synth_small, tmp_path,
                                                                             checkpoint_writes):
    """``checkpoint_interval_s`` longer than the run: best.pt and last.pt are written once, after the
    last epoch, and hold what per-epoch checkpoints would have held; a run killed before its first
    write starts again from epoch 1 and ends on the same weights."""
    every, h_every = _train(synth_small, tmp_path, "every", lr=FLAT_LR)  # best at epoch 1, then no better
    assert h_every.best.tolist() == [True, False, False]  # so best.pt must keep epoch 1's weights aside
    assert [w[0] for w in checkpoint_writes] == ["best.pt", "last.pt", "last.pt", "last.pt"]  # interval 0
    written = checkpoint_writes
    written.clear()

    def crash(epoch, step):
        if epoch == 1 and step == 2:
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        _train(synth_small, tmp_path, "rare", on_step=crash, checkpoint_interval_s=1e6, lr=FLAT_LR)
    assert written == [] and len(pd.read_csv(tmp_path / "rare.csv")) == 1  # epoch 1 finished, nothing saved
    rare, h_rare = _train(synth_small, tmp_path, "rare", checkpoint_interval_s=1e6, lr=FLAT_LR)
    assert written == [("best.pt", 1), ("last.pt", 3)] and h_rare.attrs["resumed_after_epochs"] == 0
    assert _same_weights(every, rare)
    pd.testing.assert_frame_equal(h_every, h_rare)
    for name in ("best.pt", "last.pt"):
        a, b = (torch.load(tmp_path / run / name, weights_only=True) for run in ("every", "rare"))
        assert a["epoch"] == b["epoch"] and all(torch.equal(a["model"][k], v) for k, v in b["model"].items()), name


def test_checkpoint_interval_mid_run_resumes_from_the_last_write_and_early_stop_writes(synth_small, tmp_path,
                                                                                         monkeypatch,
                                                                                         checkpoint_writes):
    """A fake clock (60 s an epoch: 6 steps of 10 s) and a 100 s interval: checkpoints after epochs 2
    and 4 and the last; a kill in epoch 4 resumes from epoch 2's (history.csv, written every epoch,
    is ahead of it) and ends as the uninterrupted run does. An early stop writes too."""
    import types

    import skinseg.train as T

    plain, h_plain = _train(synth_small, tmp_path, "plain", epochs=5)
    clock = [0.0]
    monkeypatch.setattr(T, "time", types.SimpleNamespace(perf_counter=lambda: clock[0], process_time=lambda: clock[0]))
    written = checkpoint_writes
    written.clear()

    def tick(epoch, step, kill_at=None):
        clock[0] += 10.0
        if (epoch, step) == kill_at:
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        _train(synth_small, tmp_path, "timed", on_step=lambda e, s: tick(e, s, kill_at=(3, 2)), epochs=5,
               checkpoint_interval_s=100)
    assert [w for w in written if w[0] == "last.pt"] == [("last.pt", 2)]
    assert len(pd.read_csv(tmp_path / "timed.csv")) == 3 and written[0][0] == "best.pt"
    written.clear()
    timed, h_timed = _train(synth_small, tmp_path, "timed", on_step=tick, epochs=5, checkpoint_interval_s=100)
    assert h_timed.attrs["resumed_after_epochs"] == 2
    assert [w for w in written if w[0] == "last.pt"] == [("last.pt", 4), ("last.pt", 5)]  # 120 s after 2, then the end
    assert _same_weights(plain, timed)
    pd.testing.assert_frame_equal(h_plain, h_timed)
    assert torch.load(tmp_path / "timed" / "best.pt", weights_only=True)["epoch"] == \
        torch.load(tmp_path / "plain" / "best.pt", weights_only=True)["epoch"]

    written.clear()
    _, h_stop = _train(synth_small, tmp_path, "stop", on_step=tick, lr=FLAT_LR, epochs=5, early_stopping_patience=1,
                       checkpoint_interval_s=1e6)
    assert h_stop.best.tolist() == [True, False] and written == [("best.pt", 1), ("last.pt", 2)]
    assert "optimizer" not in torch.load(tmp_path / "stop" / "last.pt", weights_only=True)


def test_killed_process_resumes_to_identical_numbers(synth_small, tmp_path):
    """A real SIGKILL of a training process, then a restart with the same config."""
    script = tmp_path / "run.py"
    script.write_text(f"""
import sys, time, torch
sys.path.insert(0, {str(__file__.rsplit('/', 1)[0])!r})
from test_train import _train
from pathlib import Path
slow = lambda e, s: time.sleep(0.05)
m, h = _train(Path({str(synth_small)!r}), Path({str(tmp_path)!r}), "killed", on_step=slow, epochs=4)
torch.save(m.state_dict(), Path({str(tmp_path)!r}) / "final.pt")
""")
    p = subprocess.Popen([sys.executable, str(script)])
    last = tmp_path / "killed" / "last.pt"
    deadline = time.time() + 120
    while not last.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert last.exists(), "no checkpoint appeared"
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not (tmp_path / "final.pt").exists()
    # the checkpoint is the record of progress (history.csv is written just after it, so a kill
    # between the two leaves the CSV one epoch behind; resume rewrites it from the checkpoint)
    done = torch.load(last, weights_only=True)["epoch"] + 1
    assert 1 <= done < 4
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    ref, _ = _train(synth_small, tmp_path, "reference", epochs=4)
    final = torch.load(tmp_path / "final.pt", weights_only=True)
    assert all(torch.equal(final[k], v) for k, v in ref.state_dict().items())


def test_nan_loss_stops_with_step(synth_small, tmp_path):
    def nan_loss(logits, target, reduction="mean"):
        return dice_loss(logits, target, reduction=reduction) * float("nan")

    seed_everything(0)
    tr, va = _datasets(synth_small, tmp_path / "cache")
    with pytest.raises(FloatingPointError, match=r"loss is nan at epoch 1, step 1 \(global step 1\)"):
        fit(build_model("linknet64"), tr, va, nan_loss, TrainSettings(**SETTINGS), tmp_path / "ck", tmp_path / "h.csv", 0)


def test_best_checkpoint_loads_weights_only(synth_small, tmp_path):
    _train(synth_small, tmp_path, "w")
    ck = torch.load(tmp_path / "w" / "best.pt", weights_only=True)
    assert set(ck) == {"model", "epoch", "jaccard", "config"}
    last = torch.load(tmp_path / "w" / "last.pt", weights_only=True)
    assert last["epoch"] == 2 and len(last["history"]) == 3


def test_finished_checkpoint_drops_optimiser_state_and_trains_no_more(synth_small, tmp_path):
    """The last epoch's last.pt holds no optimiser/scheduler/RNG state (two thirds of SLSDeep's file);
    fitting again with it restores the final weights and history without a training step."""
    model, h = _train(synth_small, tmp_path, "done")
    ck = torch.load(tmp_path / "done" / "last.pt", weights_only=True)
    assert not {"optimizer", "scheduler", "scaler", "rng"} & set(ck) and ck["epoch"] == 2

    def never(epoch, step):
        raise AssertionError(f"trained again: epoch {epoch}, step {step}")

    again, h_again = _train(synth_small, tmp_path, "done", on_step=never)
    assert _same_weights(model, again)
    pd.testing.assert_frame_equal(h, h_again)


def test_early_stopping(synth_small, tmp_path):
    # lr ~0 and frozen BatchNorm statistics: nothing improves after epoch 1, so patience 1 stops after epoch 2
    _, h = _train(synth_small, tmp_path, "es", lr=1e-12, epochs=6, early_stopping_patience=1, freeze_bn=True)
    assert len(h) == 2 and h.best.tolist() == [True, False]


def test_min_delta_counts_patience_from_its_reference_and_survives_a_resume(synth_small, tmp_path):
    # min_delta 1: no epoch beats epoch 1 by a whole Jaccard, so patience 2 stops after epoch 3 whatever the
    # scores; best.pt still follows every gain
    kw = dict(epochs=6, early_stopping_patience=2, early_stopping_min_delta=1.0)
    full, h = _train(synth_small, tmp_path, "full", **kw)
    scores = h.val_jaccard.tolist()
    assert len(h) == 3
    assert h.best.tolist() == [True] + [scores[i] > max(scores[:i]) for i in (1, 2)]
    ck = torch.load(tmp_path / "full" / "last.pt", weights_only=True)
    assert ck["stopped"] and ck["stop_ref"] == scores[0] and ck["best"] == max(scores)

    def crash(epoch, step):
        if epoch == 1 and step == 2:
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        _train(synth_small, tmp_path, "resumed", on_step=crash, **kw)
    resumed, h_res = _train(synth_small, tmp_path, "resumed", **kw)
    assert _same_weights(full, resumed)
    pd.testing.assert_frame_equal(h, h_res)

    # the count goes on from the reference last.pt stores, not from the best score: killed after epoch 2, with
    # that reference replaced by -inf, epoch 3 resets the count and the run stops after epoch 5 instead of 3
    def crash_in_epoch_3(epoch, step):
        if epoch == 2 and step == 2:
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        _train(synth_small, tmp_path, "reference", on_step=crash_in_epoch_3, **kw)
    last = tmp_path / "reference" / "last.pt"
    ck = torch.load(last, weights_only=True)
    assert ck["epoch"] + 1 == 2 and ck["bad_epochs"] == 1 and ck["stop_ref"] == scores[0]
    torch.save({**ck, "stop_ref": -math.inf}, last)
    _, h_ref = _train(synth_small, tmp_path, "reference", **kw)
    assert len(h_ref) == 5 and h_ref.val_jaccard.tolist()[:3] == scores


def test_poly_schedule_and_param_groups():
    m = build_model("linknet")
    s = TrainSettings(epochs=2, lr=0.01, encoder_lr=0.001, lr_schedule="poly", optimizer="sgd", weight_decay=1e-4)
    opt = make_optimizer(m, s)
    assert [g["lr"] for g in opt.param_groups] == [0.001, 0.01]
    assert isinstance(opt, torch.optim.SGD) and opt.param_groups[0]["momentum"] == 0.9
    sched = make_scheduler(opt, s, steps_per_epoch=5)
    for _ in range(5):
        opt.step()
        sched.step()
    # halfway through 10 iterations: lr * (1 - 5/10) ** 0.9
    assert opt.param_groups[1]["lr"] == pytest.approx(0.01 * 0.5**0.9)
    step = make_scheduler(make_optimizer(m, TrainSettings(lr=1.0, lr_schedule="step", lr_step_epochs=1,
                                                          lr_step_gamma=0.1)), TrainSettings(lr_schedule="step", lr_step_epochs=1), 3)
    for _ in range(3):
        step.optimizer.step()
        step.step()
    assert step.optimizer.param_groups[0]["lr"] == pytest.approx(0.1)


def test_resume_loads_the_checkpoint_to_cpu_whatever_the_device(synth_small, tmp_path, monkeypatch):
    """Bug 3: last.pt was loaded with map_location=device, putting the saved RNG states on the GPU
    (where .numpy() fails). The device string here is 'cpu:0' so the old code's map_location differs."""
    import skinseg.train as T

    _train(synth_small, tmp_path, "r", epochs=1)
    seen = []
    real_load = torch.load
    monkeypatch.setattr(T.torch, "load", lambda *a, **k: seen.append(k.get("map_location")) or real_load(*a, **k))
    _train(synth_small, tmp_path, "r", epochs=2, device="cpu:0")
    assert seen and all(m == "cpu" for m in seen)


def test_checkpoint_of_another_config_is_refused(synth_small, tmp_path):
    from skinseg.train import StaleCheckpointError

    _train(synth_small, tmp_path, "s", epochs=1, run_config={"lr": 1e-3, "loss": "dice"})
    with pytest.raises(StaleCheckpointError, match="differs in: loss"):
        _train(synth_small, tmp_path, "s", epochs=2, run_config={"lr": 1e-3, "loss": "bce"})
    assert torch.load(tmp_path / "s" / "last.pt", weights_only=True)["config"]["loss"] == "dice"
    # a parameter added to the schema later, at its default, still resumes (as for run folders)
    _train(synth_small, tmp_path, "s", epochs=2, run_config={"lr": 1e-3, "loss": "dice", "augment_validation": False})


def test_in_memory_and_disk_items_are_identical(synth_small, tmp_path):
    idx = discover(synth_small)
    cache = PreprocessCache(tmp_path / "cache")
    mem = SegmentationDataset(idx.samples("train"), (32, 32), cache, augmentation="flip_rot90", seed=1,
                              memory_budget_mb=64)
    disk = SegmentationDataset(idx.samples("train"), (32, 32), cache, augmentation="flip_rot90", seed=1,
                               memory_budget_mb=0)
    assert mem.in_memory and not disk.in_memory
    for e in (0, 3):
        mem.set_epoch(e), disk.set_epoch(e)
        for i in range(len(mem)):
            assert torch.equal(mem[i]["image"], disk[i]["image"]) and torch.equal(mem[i]["mask"], disk[i]["mask"])
    assert mem[0]["image"].dtype == torch.uint8
    bg = SegmentationDataset(idx.samples("train"), (32, 32), cache, target="background", memory_budget_mb=64)
    plain = SegmentationDataset(idx.samples("train"), (32, 32), cache, memory_budget_mb=64)
    assert torch.equal(bg[0]["mask"], 1 - plain[0]["mask"])


@pytest.mark.parametrize("bad,match", [({"epochs": 0}, "epochs"), ({"lr": -1}, "lr"),
                                       ({"optimizer": "rmsprop"}, "optimizer"), ({"lr_schedule": "cosine"}, "lr_schedule"),
                                       ({"monitor": "iou"}, "monitor.*must be one of"),
                                       ({"precision": "fp8"}, "precision")])
def test_bad_settings_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainSettings(**bad)


def test_batch_scores_pool_pixels_of_the_batch():
    from skinseg.train import _batch_scores

    # two 1x2 images: predictions (logit > 0) [1, 0] and [1, 1]; truth [1, 1] and [0, 1]
    logits = torch.tensor([[[[3.0, -3.0]]], [[[2.0, 1.0]]]])
    masks = torch.tensor([[[[1.0, 1.0]]], [[[0.0, 1.0]]]])
    p = torch.sigmoid(logits)
    jaccard, dice_loss = _batch_scores(logits, masks).tolist()
    assert jaccard == pytest.approx(2 / 4)  # TP 2 (pooled), union 4
    pooled = 1 - (2 * (p * masks).sum() + 1) / (p.sum() + masks.sum() + 1)  # smp's DiceLoss, eps 1
    assert dice_loss == pytest.approx(float(pooled))
    two_class = torch.stack([torch.zeros_like(logits[:, 0]), logits[:, 0]], 1)  # softmax channel 1 = same p
    assert _batch_scores(two_class, masks).tolist() == pytest.approx([jaccard, dice_loss])
    assert _batch_scores(-torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2))[0] == 1.0  # both empty


def test_history_records_training_jaccard(synth_small, tmp_path):
    _, h = _train(synth_small, tmp_path, "h", epochs=1)
    assert h.train_jaccard.between(0, 1).all() and h.train_dice_loss.between(0, 1).all()


def test_training_wall_and_cpu_seconds_add_up_over_a_resume(synth_small, tmp_path, monkeypatch):
    import itertools
    from types import SimpleNamespace

    import skinseg.train as train

    # a wall clock that advances 1 s per reading: each epoch reads it twice, so it adds exactly 1 s; a
    # CPU clock that advances 2 s per reading (two busy threads), so 2 s an epoch
    clock, cpu_clock = itertools.count(), itertools.count(step=2)
    monkeypatch.setattr(train, "time", SimpleNamespace(perf_counter=lambda: float(next(clock))))
    monkeypatch.setattr(train, "cpu_seconds", lambda: float(next(cpu_clock)))

    def crash(epoch, step):
        if epoch == 1:  # epoch 1 finished and checkpointed
            raise KeyboardInterrupt("simulated kill")

    for name in ("resumed", "legacy"):
        with pytest.raises(KeyboardInterrupt):
            _train(synth_small, tmp_path, name, on_step=crash, epochs=3)
    ck = torch.load(tmp_path / "resumed" / "last.pt", weights_only=True)
    assert (ck["train_seconds"], ck["train_cpu_seconds"]) == (1.0, 2.0)
    _, h = _train(synth_small, tmp_path, "resumed", epochs=3)
    # 1 s before the kill + 2 s after it; the killed epoch is not counted
    assert (h.attrs["train_seconds"], h.attrs["train_cpu_seconds"]) == (3.0, 6.0)
    # a checkpoint written before the records: the totals are unknown, so NaN rather than partial figures
    ck = torch.load(tmp_path / "legacy" / "last.pt", weights_only=True)
    del ck["train_seconds"], ck["train_cpu_seconds"]
    torch.save(ck, tmp_path / "legacy" / "last.pt")
    _, h = _train(synth_small, tmp_path, "legacy", epochs=3)
    assert len(h) == 3 and math.isnan(h.attrs["train_seconds"]) and math.isnan(h.attrs["train_cpu_seconds"])


def test_cpu_seconds_count_finished_child_processes():
    """A data-loader worker is a child process: its CPU time counts once it has ended, as this
    process's own does (a child that burns ~0.5 s of CPU while this process waits)."""
    from skinseg.train import cpu_seconds

    before, own_before = cpu_seconds(), time.process_time()
    subprocess.run([sys.executable, "-c", "import time\nt = time.process_time()\n"
                    "while time.process_time() - t < 0.5: pass"], check=True)
    assert cpu_seconds() - before >= 0.45 and time.process_time() - own_before < 0.2


_STEP_FAULTS = """
import resource, sys, torch
from skinseg.allocator import keep_freed_memory
kept = keep_freed_memory() if sys.argv[1] == "keep" else False
from skinseg.models import build_model
torch.manual_seed(0)
model = build_model("linknet64")
opt = torch.optim.Adam(model.parameters())
x = torch.randn(4, 3, 96, 96)
def step():
    opt.zero_grad()
    model(x).square().mean().backward()
    opt.step()
for _ in range(3):  # warm-up: the first steps allocate Adam's state and oneDNN's primitives
    step()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(int(sys.argv[2])):
    step()
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
weights = torch.cat([p.detach().flatten() for p in model.parameters()])
print(kept, faults, weights.double().sum().item(), weights.abs().double().sum().item())
"""


_MEASURED_STEPS = 20


def _step_faults(mode: str, **env) -> tuple[bool, int, list[str]]:
    """(settings taken, minor page faults in ``_MEASURED_STEPS`` steps, weight checksums) of a fresh process."""
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES", "SKINSEG_MALLOC"))}
    out = subprocess.run([sys.executable, "-c", _STEP_FAULTS, mode, str(_MEASURED_STEPS)], capture_output=True,
                         text=True, check=True, env={**clean, **env}).stdout.split()
    return out[0] == "True", int(out[1]), out[2:]


@pytest.mark.skipif(__import__("platform").libc_ver()[0] != "glibc", reason="mallopt's settings are glibc's")
def test_keep_freed_memory_stops_each_training_step_faulting_its_buffers_in_again():
    """Under glibc's defaults one step's faults vary from process to process: 364 to 4,721 per step
    after the warm-up in 4 processes with 2 threads, 0 to 6,306 in 6 with one (the same figures
    every time only with address-space randomisation off, one thread and a fixed hash seed; glibc's
    adaptive mmap threshold sometimes climbs early and the faults then stop), and 5 steps once
    summed to 3,831 against the old bound of 5,000. So the test sums 20 steps: 52,805 to 76,708 in
    6 other processes with 2 threads, 22,236 to 87,228 in the 6 with one; the bound is 500 per step,
    and keeping freed memory must cut the faults five-fold (its 20 steps: 3 and 578 in two
    processes)."""
    default, keep, off = _step_faults("default"), _step_faults("keep"), _step_faults("keep", SKINSEG_MALLOC_DEFAULT="1")
    # glibc's defaults (also under the off-switch): the activations go back to the kernel every step
    assert not off[0] and min(default[1], off[1]) > 500 * _MEASURED_STEPS
    assert keep[0] and keep[1] < min(default[1], off[1]) / 5
    assert default[2] == keep[2] == off[2]  # where memory comes from changes no weight


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_foreach_and_fused_optimisers_make_the_same_steps_as_auto(optimizer):
    """``optimizer_impl`` picks PyTorch's implementation, not the update: three steps with the same
    gradients land on the same weights (to float32 rounding); the flag reaches the optimiser."""
    weights = {}
    for impl in ("auto", "foreach", "fused"):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3))
        s = TrainSettings(optimizer=optimizer, optimizer_impl=impl, lr=0.1, weight_decay=1e-2, progress=False)
        opt = make_optimizer(model, s)
        start = torch.cat([p.detach().flatten() for p in model.parameters()])
        assert opt.defaults["foreach"] is (True if impl == "foreach" else None)
        assert bool(opt.defaults["fused"]) is (impl == "fused")
        g = torch.Generator().manual_seed(1)
        for _ in range(3):
            for p in model.parameters():
                p.grad = torch.randn(p.shape, generator=g)
            opt.step()
        weights[impl] = torch.cat([p.detach().flatten() for p in model.parameters()])
        assert (weights[impl] - start).abs().min() > 1e-3  # every weight moved
    torch.testing.assert_close(weights["foreach"], weights["auto"], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(weights["fused"], weights["auto"], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("emulated", [True, False], ids=["no-bf16-instructions", "amx"])
def test_bf16_on_a_cpu_that_emulates_it_warns_and_trains_the_same(synth_small, tmp_path, monkeypatch, emulated):
    """bf16 on a CPU without AMX/AVX512-BF16 is slower than fp32 (skinseg.cpuinfo): fit says so, naming
    the CPU; the run itself is the same (same weights as with the warning off); fp32 never warns."""
    import warnings

    import skinseg.train as T

    monkeypatch.setattr(T, "emulates_bf16", lambda: emulated)
    monkeypatch.setattr(T, "cpu_name", lambda: "Test Xeon")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, _ = _train(synth_small, tmp_path, "bf16", epochs=1, **FAST)
        _train(synth_small, tmp_path, "fp32", epochs=1)
    said = [str(w.message) for w in caught if "AVX512-BF16" in str(w.message)]
    assert said == (["precision bf16 on a CPU without AMX or AVX512-BF16 (Test Xeon): PyTorch emulates it (measured "
                     "on such a CPU: 0.45x fp32's training speed, skinseg.cpuinfo); the run's config is unchanged, its "
                     "time is not comparable with runs on an AMX CPU (provenance.json 'cpu' says which). "
                     "precision=fp32 is likely faster here, but it is another config: finished bf16 runs are not "
                     "reused under it."] if emulated else [])
    monkeypatch.setattr(T, "emulates_bf16", lambda: not emulated)
    again, _ = _train(synth_small, tmp_path, "bf16-again", epochs=1, **FAST)
    assert _same_weights(model, again)


@pytest.mark.parametrize("where", ["batch", "plain", "progress"])
def test_progress_suits_where_a_run_trains(synth_small, tmp_path, monkeypatch, capfd, where):
    """Under the batch runner a line per epoch goes to the kernel's own stderr (the runner's log), never into
    the notebook's output; elsewhere, without `progress`, nothing is printed; with it, a line per epoch is."""
    import skinseg.train as T

    monkeypatch.delenv(T.BATCH_ENV, raising=False)
    if where == "batch":
        monkeypatch.setenv(T.BATCH_ENV, "1")
    written = []
    monkeypatch.setattr(T.sys, "__stderr__", type("Log", (), {"write": lambda self, t: written.append(t),
                                                              "flush": lambda self: None})())
    _train(synth_small, tmp_path, where, epochs=2, progress=where == "progress")
    out = capfd.readouterr().out
    logged = "".join(written)
    if where == "batch":
        assert logged.count("epoch ") == 2 and "epoch 2/2: train_loss" in logged and "epoch" not in out
    elif where == "plain":
        assert logged == "" and "epoch" not in out
    else:
        assert out.count("epoch 1/2: train_loss") == 1 and logged == ""

"""Run folders, atomic writes and provenance.

Layout of one run: ``results/<profile>/<paper>/<variant slug>/<partition>/seed<k>/`` with
``config.json`` (resolved), ``provenance.json``, ``history.csv``,
``metrics_per_image.csv`` and ``metrics.csv`` (tidy, written last: its presence
marks the run finished). Checkpoints go to a git-ignored mirror under
``checkpoints/``.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pandas as pd

from skinseg.allocator import kept_freed_memory
from skinseg.paths import checkpoint_root, display, project_root, resolve

METRICS_COLUMNS = ["paper", "variant", "dataset", "split", "seed", "resolution", "target", "reduction", "metric",
                   "value"]


def select_metrics(metrics: pd.DataFrame, **equal) -> pd.DataFrame:
    """Rows of a tidy metrics table (:data:`METRICS_COLUMNS`) whose columns equal the given values,
    e.g. ``select_metrics(m, metric="jaccard", reduction="macro", target="lesion")``."""
    keep = pd.Series(True, index=metrics.index)
    for column, value in equal.items():
        keep &= metrics[column] == value
    return metrics[keep]


def metric_value(metrics: pd.DataFrame, metric: str, *, target: str = "lesion", resolution: str = "original",
                 reduction: str = "macro") -> float:
    """One run's value of ``metric`` (default: the lesion's per-image mean at original resolution),
    NaN when its table does not have it."""
    m = select_metrics(metrics, metric=metric, target=target, resolution=resolution, reduction=reduction)
    return float(m.value.iloc[0]) if len(m) else float("nan")


def read_provenance(run_path: Path) -> dict:
    """A run's ``provenance.json``, or {} when it has none."""
    f = Path(run_path) / "provenance.json"
    return json.loads(f.read_text()) if f.is_file() else {}


def recorded_weights_sha256(run_path: Path) -> str | None:
    """sha256 of a trained run's best weights as its ``weights.json`` records it; None where the
    folder has none (an unfinished or evaluation-only run)."""
    f = Path(run_path) / "weights.json"
    return json.loads(f.read_text())["best_sha256"] if f.is_file() else None


def training_seconds(run_path: Path) -> float:
    """Wall seconds a finished run spent training, from its ``provenance.json``: ``train_seconds``
    (its epochs, summed over resumes) where recorded (NaN for an evaluation-only row); for runs made
    before that record, ``run_seconds`` (training *and* scoring) unless the run was resumed (then it
    covers only the time since the resume, so NaN); else NaN."""
    return training_seconds_of(read_provenance(run_path))


def training_seconds_of(prov: dict) -> float:
    """:func:`training_seconds` from a provenance already read."""
    if "train_seconds" in prov:  # recorded; None: an evaluation-only row, which trains nothing
        return float("nan") if prov["train_seconds"] is None else float(prov["train_seconds"])
    if prov.get("resumed_after_epochs") or prov.get("run_seconds") is None:
        return float("nan")
    return float(prov["run_seconds"])


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    return _atomic(path, lambda t: Path(t).write_text(text))


def write_json(path: Path, obj) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def write_csv(path: Path, df: pd.DataFrame) -> Path:
    return _atomic(path, lambda t: df.to_csv(t, index=False, float_format="%.10g"))


def save_torch(path: Path, obj) -> Path:
    """``torch.save`` of ``obj`` to ``path``, atomically, without the zip records' CRC-32.

    Computing the CRC-32 took 6x as long as writing the bytes (1.05 s against 0.17 s for 720 MB on
    this project's CPU), and it was half of the smoke SLSDeep notebook's time. ``torch.load`` reads
    the file either way, and the atomic write already rules out a half-written checkpoint. The
    process-wide option is restored afterwards."""
    import torch.serialization as ser

    def write(tmp):
        crc = ser.get_crc32_options()
        ser.set_crc32_options(False)
        try:
            ser.save(obj, tmp)
        finally:
            ser.set_crc32_options(crc)

    return _atomic(path, write)


def package_versions() -> dict:
    out = {}
    for name in ("torch", "numpy", "pillow", "scipy", "scikit-learn", "pandas", "skinseg"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state() -> dict:
    def git(*args):
        try:
            r = subprocess.run(["git", *args], cwd=project_root(), capture_output=True, text=True)
        except FileNotFoundError:  # no git on this machine (a bare device copy of the tree): state unknown
            return None
        return r.stdout.strip() if r.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    # dirty = uncommitted changes to code or inputs; results/ is excluded because a run
    # that rewrites committed results would otherwise always call itself dirty
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _gpu_name(device: str) -> str | None:
    """The GPU's name for a CUDA device (what timings and results on it are tied to), else None."""
    if not str(device).startswith("cuda"):
        return None
    import torch

    return torch.cuda.get_device_name(torch.device(device))


def _cpu_threads() -> int:
    import torch

    return torch.get_num_threads()


def training_cpu_minutes(run_path: Path) -> float:
    """CPU-minutes a finished run on a CPU spent training: the CPU time used over its epochs
    (``train_cpu_seconds`` in its provenance, where recorded: :func:`skinseg.train.fit`), which a
    paused process does not inflate, nor, but for spin-waiting threads, other work on the cores; for
    earlier runs, :func:`training_seconds` times the threads it trained with (``cpu_threads``). NaN
    for runs with neither, for evaluation-only rows, and for runs on a GPU, whose cost is not CPU time."""
    return training_cpu_minutes_of(read_provenance(run_path))


def training_cpu_minutes_of(prov: dict) -> float:
    """:func:`training_cpu_minutes` from a provenance already read."""
    if prov.get("device") != "cpu":
        return float("nan")
    if prov.get("train_cpu_seconds") is not None:
        return float(prov["train_cpu_seconds"]) / 60
    if not prov.get("cpu_threads"):
        return float("nan")
    return training_seconds_of(prov) * prov["cpu_threads"] / 60


def provenance(seed: int, device: str, dataset_fingerprint: str | None, git: dict | None = None) -> dict:
    """``git``: the state when the code that made the run was loaded (default: now)."""
    from skinseg.cpuinfo import cpu_name

    return {
        "git": git or git_state(),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "device": device,
        "gpu": _gpu_name(device),
        "cpu_threads": _cpu_threads(),  # wall time x threads: the CPU time of runs before train_cpu_seconds
        # "(AMX)" or not: bf16 wall times compare only between like CPUs (skinseg.cpuinfo); absent before e987c2c
        "cpu": cpu_name(),
        "keep_freed_memory": kept_freed_memory(),  # speed only (skinseg.allocator); absent before that setting
        "seed": seed,
        "dataset_fingerprint": dataset_fingerprint,
    }


# config keys that say where something lies, recorded for the reader but not part of a run: the split
# file follows results_dir (itself no part of a run), and its content is the config's split_sha256
LOCATION_KEYS = frozenset({"split_file"})


def comparable(config: dict) -> dict:
    """The keys of a run config that can change its numbers (not the parameters outside a run's
    identity, :data:`skinseg.params.NON_RUN`, nor :data:`LOCATION_KEYS`)."""
    from skinseg.params import NON_RUN

    return {k: v for k, v in config.items() if k not in NON_RUN and k not in LOCATION_KEYS}


def _aligned(old: dict, new: dict) -> tuple[dict, dict]:
    """The comparable parts of a recorded config ``old`` and of ``new``; a parameter added to the
    schema after ``old`` was written is filled in ``old`` where ``new`` holds its default (the default
    is what the old code did)."""
    from skinseg.params import BY_NAME

    a, b = comparable(old), comparable(new)
    for k in b.keys() - a.keys():
        if k in BY_NAME and b[k] == BY_NAME[k].default:
            a[k] = b[k]
    return a, b


def config_diff(old: dict, new: dict) -> list[str]:
    """Sorted names of the keys whose values differ between a recorded config ``old`` and ``new``
    (as :func:`same_run` compares them: a parameter added since, at its default, is no difference)."""
    a, b = _aligned(old, new)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def same_run(old: dict, new: dict) -> bool:
    """Whether a recorded config ``old`` describes the same run as ``new``. A parameter added to
    the schema after ``old`` was written counts as equal when ``new`` holds its default (the
    default is what the old code did)."""
    a, b = _aligned(old, new)
    return a == b


def config_digest(config: dict) -> str:
    """sha256 of :func:`comparable` ``config`` (stored in checkpoints)."""
    import hashlib

    text = json.dumps(comparable(config), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _layout(**parts) -> tuple[str, ...]:
    """The non-empty folder names of a run's path, in the order given; each checked (only ``run_set``
    may be empty)."""
    for name, value in parts.items():
        if (not value and name != "run_set") or "/" in str(value) or str(value).startswith("."):
            raise ValueError(f"{name}={value!r} is not a valid folder name")
    return tuple(str(v) for v in parts.values() if v)


@dataclass
class RunDir:
    """One run's result folder and its checkpoint folder."""

    path: Path
    checkpoint_path: Path

    @classmethod
    def for_run(cls, results_dir, profile, paper, variant, partition, seed: int = 0,
                checkpoint_dir="checkpoints", run_set: str = "") -> "RunDir":
        """``<results_dir>/<profile>/<paper>/[<run_set>/]<variant>/<partition>/seed<k>`` and the same
        path under ``checkpoint_dir`` (:func:`skinseg.paths.checkpoint_root`: ``user-cache`` lies outside
        the checkout, so the path is the same from every clone)."""
        parts = _layout(profile=profile, paper=paper, run_set=run_set, variant=variant, partition=partition,
                        seed=f"seed{seed}")
        return cls(resolve(results_dir).joinpath(*parts), checkpoint_root(checkpoint_dir).joinpath(*parts))

    @staticmethod
    def row_folder(results_dir, profile, paper, variant, run_set: str = "") -> Path:
        """``<results_dir>/<profile>/<paper>/[<run_set>/]<variant>``: every run of one row (all its
        partitions and seeds) lies below it."""
        return resolve(results_dir).joinpath(*_layout(profile=profile, paper=paper, run_set=run_set, variant=variant))

    @property
    def finished(self) -> bool:
        return (self.path / "metrics.csv").is_file()

    def history(self) -> pd.DataFrame:
        """The run's ``history.csv`` (one line per epoch), empty when it has none (an
        evaluation-only row)."""
        f = self.path / "history.csv"
        return pd.read_csv(f) if f.is_file() else pd.DataFrame()

    def existing_config(self) -> dict | None:
        f = self.path / "config.json"
        return json.loads(f.read_text()) if f.is_file() else None

    def prepare(self, config: dict, overwrite: bool = False) -> str:
        """Claim the folder for ``config``.

        Returns ``"reuse"`` when a finished run with the same config exists,
        ``"resume"`` when an unfinished one does, ``"new"`` otherwise. A folder
        holding a different config raises FileExistsError unless ``overwrite``.
        """
        old = self.existing_config()
        if old is not None and not same_run(old, config):
            if not overwrite:
                diff = config_diff(old, config)
                raise FileExistsError(
                    f"{display(self.path)} holds a run with a different config (differs in: {', '.join(diff)}). "
                    "Pass overwrite=True (or --overwrite / OVERWRITE=1) to replace it, or choose another results_dir."
                )
            self.clear()
            old = None
        elif old is not None and overwrite:
            self.clear()
            old = None
        if old is None:
            # a new results folder: its checkpoint folder may hold the same run stopped in another clone
            # (checkpoint_dir outside the checkout), which it resumes; the caller has refused one of another
            # config (Experiment.run: skinseg.train.check_checkpoint_folder)
            if self.path.exists():
                self.clear(checkpoint=False)
        if old is not None and self.finished:
            # a finished run is read, never rewritten: its config stays as it was recorded (an equal
            # config from newer code may hold parameters added since, at their defaults)
            return "reuse"
        self.path.mkdir(parents=True, exist_ok=True)
        write_json(self.path / "config.json", config)
        return "new" if old is None else "resume"

    def clear(self, checkpoint: bool = True) -> None:
        """Delete the run's folder and (``checkpoint``) its checkpoint folder."""
        for p in (self.path, self.checkpoint_path) if checkpoint else (self.path,):
            if p.exists():
                # rename first so a crash mid-delete never leaves a half-result under the real name
                trash = p.with_name(f".{p.name}.deleting")
                if trash.exists():
                    shutil.rmtree(trash)
                p.rename(trash)
                shutil.rmtree(trash)


def tidy_metrics(summary: dict, *, paper, variant, dataset, split, seed, resolution, target, reduction) -> pd.DataFrame:
    """Turn ``{metric: value}`` into rows of the tidy ``metrics.csv`` schema."""
    return pd.DataFrame(
        [dict(paper=paper, variant=variant, dataset=dataset, split=split, seed=seed, resolution=resolution,
              target=target, reduction=reduction, metric=k, value=float(v)) for k, v in summary.items()],
        columns=METRICS_COLUMNS,
    )

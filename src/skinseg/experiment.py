"""A paper's runs, from its spec: spec -> data -> train -> predict -> evaluate -> results.

Every row (variant) of the paper gets one run folder per partition (the
protocol's split or fold) and training seed:
``results/<profile>/<paper>/<variant slug>/<partition>/seed<k>/``. A finished run
with the same config is reused, never overwritten; one with another config is
refused unless ``overwrite``. Evaluation-only rows reuse their trained row's
weights and change only how the predictions are scored.
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from skinseg import params as P
from skinseg.cpuinfo import auto_precision
from skinseg.data import PreprocessCache, SegmentationDataset
from skinseg.data.fingerprint import file_sha256
from skinseg.data.protocols import partition_digest
from skinseg.data.sources import Data, load
from skinseg.evaluate import EvalSettings, lesion_probabilities, score
from skinseg.losses import loss_from_params
from skinseg.metrics import REDUCTIONS
from skinseg.models import build_model, count_parameters, loads_encoder_weights
from skinseg.papers import PaperSpec, Variant, get_paper
from skinseg.paths import checkpoint_root, display, resolve
from skinseg.results import (RunDir, git_state, provenance, recorded_weights_sha256, same_run, select_metrics,
                             tidy_metrics, write_csv, write_json)
from skinseg.seed import seed_everything
from skinseg.train import (BATCH_ENV, TrainSettings, check_checkpoint_folder, checkpoint_config, checkpoint_epochs, fit,
                           load_best)

TARGETS = ("lesion", "background")


@dataclass
class Outcome:
    variant: str
    partition: str
    seed: int
    run: RunDir
    status: str  # new | resume | reuse
    config: dict
    history: pd.DataFrame
    metrics: pd.DataFrame
    per_image: pd.DataFrame
    parameters: int


class Experiment:
    """One paper's reproduction under one set of notebook parameters."""

    def __init__(self, params: dict, paper: str | PaperSpec):
        self.params = P.validate(dict(params))
        self.spec = paper if isinstance(paper, PaperSpec) else get_paper(paper)
        self.cache = PreprocessCache(self.params["cache_dir"])
        self._data: dict[tuple, Data] = {}
        self._probs: dict[tuple, tuple] = {}  # trained run -> test (probs, masks), for evaluation-only rows
        self._n_params: dict[tuple, int] = {}
        self._encoder_files: dict[Path, tuple] = {}  # encoder_weights file -> (sha256, size and mtime, rows it fits)
        self._auto_precision: str | None = None  # what precision "auto" means here, read once
        # the code that trains is the code loaded now: record its git state, not the state at the end of a
        # long batch (the tree may have been committed or edited meanwhile)
        self.git = git_state()

    # -- what runs -------------------------------------------------------------------
    def variants(self) -> list[Variant]:
        return self.spec.select(self.params["variants"])

    def _raw_params(self, v: Variant) -> dict:
        base = self._raw_params(self.spec.variant(v.eval_of)) if v.eval_of else self.params
        return {**base, **v.overrides}

    def variant_params(self, v: Variant | str) -> dict:
        """Row ``v``'s parameters: the notebook's with the row's overrides (an evaluation-only row's: its
        trained row's, then its own); ``precision: auto`` resolved for this machine
        (:func:`skinseg.cpuinfo.auto_precision`). A run's own precision is :meth:`run_params`'."""
        p = self._raw_params(self.spec.variant(v))
        if p["precision"] == "auto":
            if self._auto_precision is None:
                self._auto_precision = auto_precision(p["device"])
            p["precision"] = self._auto_precision
        return p

    def run_params(self, v: Variant | str, partition: str, seed: int) -> dict:
        """:meth:`variant_params` for one run: under ``precision: auto``, a run that has started (its
        ``config.json``, or its ``last.pt`` from another clone) keeps the precision it started with, so it
        resumes and is reused on any machine; an evaluation-only row takes its trained run's."""
        v = self.spec.variant(v)
        p = self.variant_params(v)
        if self._raw_params(v)["precision"] == "auto":
            rd = self.run_dir(self.spec.trained(v), partition, seed)
            started = rd.existing_config() or checkpoint_config(rd.checkpoint_path) or {}
            p["precision"] = started.get("precision", p["precision"])
        return p

    def seeds(self, v: Variant) -> list[int]:
        v = self.spec.trained(v)
        name = "seeds" if v.seeds_from == "main" else "ablation_seeds"
        return P.seed_list(self.params[name], name)

    def partitions(self, v: Variant) -> list[str]:
        parts = self.data(v).partitions
        return parts[: self.params["max_folds"]] if self.params["max_folds"] else parts

    def plan(self) -> list[tuple[Variant, str, int]]:
        """Every (row, partition, seed) these parameters ask for, trained rows first."""
        return [(v, part, s) for v in self.variants() for part in self.partitions(v) for s in self.seeds(v)]

    # -- data ------------------------------------------------------------------------
    @property
    def results_root(self) -> Path:
        return resolve(self.params["results_dir"]) / self.params["profile"] / self.spec.key

    @property
    def checkpoint_root(self) -> Path:
        """Where this profile's checkpoints lie (:func:`skinseg.paths.checkpoint_root`)."""
        return checkpoint_root(self.params["checkpoint_dir"]) / self.params["profile"] / self.spec.key

    def data(self, v: Variant | str | None = None) -> Data:
        """The split of row ``v`` (default: the paper's recipe split), made once per split inputs."""
        p = self.params if v is None else self.variant_params(v)
        key = tuple(p[k] for k in ("data_root", "dataset", "paper_dataset", "protocol", "val_fraction", "folds",
                                   "split_seed", "max_images", "synthetic_n", "synthetic_size",
                                   "original_masks_root"))
        if key not in self._data:
            self._data[key] = load(p, self.results_root, self.params)
        return self._data[key]

    def prepare_data(self) -> Data:
        return self.data()

    @property
    def size(self) -> tuple[int, int]:
        return self.params["image_height"], self.params["image_width"]

    def dataset(self, data: Data, partition: str, split: str, p: dict, augmentation: str = "none",
                target: str = "lesion", seed: int = 0) -> SegmentationDataset:
        return SegmentationDataset(data.split(partition, split), (p["image_height"], p["image_width"]), self.cache,
                                   data.layout, augmentation, seed, target, p["memory_budget_mb"])

    # -- runs ------------------------------------------------------------------------
    def run_config(self, v: Variant, partition: str, seed: int) -> dict:
        p, data = self.run_params(v, partition, seed), self.data(v)
        paths = {k: display(p[k]) for k in ("data_root", "original_masks_root") if p[k] and p[k] != "synthetic"}
        trained = self.spec.trained(v)
        extra = {"trained_weights_sha256": self._weights_sha256(trained, partition, seed)} if v.eval_of else {}
        weights = self._encoder_weights(trained, p)
        if weights:  # the file's content makes the run, not where it lies (no machine path either)
            extra["encoder_weights_file"] = weights.name
            extra["encoder_weights_sha256"] = self._encoder_files[weights][0]
        return {**P.run_keys(p), **paths, **extra, "paper": self.spec.key, "variant": v.label, "model": trained.model,
                "model_kwargs": dict(trained.model_kwargs), "eval_of": v.eval_of, "partition": partition, "seed": seed,
                "dataset_label": data.label, "data_layout": data.layout, "resolved_data_root": display(data.root),
                "split_file": display(data.split_file), "split_sha256": partition_digest(data.table, partition),
                "data_fingerprint": data.fingerprint}

    def row_folder(self, v: Variant) -> Path:
        """Where every run of row ``v`` lands (all partitions and seeds); needs no split."""
        p = self.params
        return RunDir.row_folder(p["results_dir"], p["profile"], self.spec.key, v.slug, p["run_set"])

    def run_dir(self, v: Variant, partition: str, seed: int) -> RunDir:
        p = self.params
        return RunDir.for_run(p["results_dir"], p["profile"], self.spec.key, v.slug, partition, seed,
                              p["checkpoint_dir"], p["run_set"])

    def run(self, variant: Variant | str, partition: str | None = None, seed: int | None = None) -> Outcome:
        """Train (or resume, or reuse) and evaluate one row on one partition with one seed."""
        started = time.time()
        v = self.spec.variant(variant)
        partition = partition or self.partitions(v)[0]
        seed = self.seeds(v)[0] if seed is None else seed
        p, data = self.run_params(v, partition, seed), self.data(v)
        rd, config = self.run_dir(v, partition, seed), self.run_config(v, partition, seed)
        stopped_elsewhere = self._claim_checkpoint(rd, config)
        status = rd.prepare(config, self.params["overwrite"])
        if status == "new" and stopped_elsewhere:
            status = "resume"
        n_params = self._parameters(v)
        if status == "reuse":
            print(f"{v.label} [{partition}, seed {seed}]: reusing {display(rd.path)} (same config)")
            return Outcome(v.label, partition, seed, rd, status, config, rd.history(),
                           pd.read_csv(rd.path / "metrics.csv"), pd.read_csv(rd.path / "metrics_per_image.csv"),
                           n_params)
        history = pd.DataFrame()
        if v.eval_of:
            probs, masks = self._trained_predictions(self.spec.variant(v.eval_of), partition, seed)
        else:
            history, probs, masks = self._train(v, p, data, partition, seed, rd, config)
        test = data.split(partition, "test")
        ev = score(probs, masks, test, data.layout, EvalSettings.from_params(p), data.original_masks or None,
                   progress=p["progress"])
        per_image = pd.concat([df.assign(resolution=res) for res, df in ev.per_image.items()], ignore_index=True)
        metrics = pd.concat([tidy_metrics(summ, paper=self.spec.key, variant=v.label, dataset=data.label,
                                          split=f"{partition}/test", seed=seed, resolution=res, target=t,
                                          reduction=red)
                             for t in TARGETS for red in REDUCTIONS for res, summ in ev.summary(red, t).items()],
                            ignore_index=True)
        write_json(rd.path / "provenance.json", {**provenance(seed, p["device"], data.fingerprint, self.git),
                                                 # epochs in the last.pt it resumed from (0: none)
                                                 "resumed_after_epochs": history.attrs.get("resumed_after_epochs", 0),
                                                 # where epoch 1 ran and each resume (after_epoch, cpu, date): a run
                                                 # stopped at a wall-clock limit may go on on another machine
                                                 "started_on": history.attrs.get("started_on"),
                                                 "resumes": history.attrs.get("resumes", []),
                                                 # wall time of this call (training since the resume, if any)
                                                 "run_seconds": round(time.time() - started, 1),
                                                 # the epochs alone, over every resume (None: evaluation-only row)
                                                 "train_seconds": _rounded(history.attrs.get("train_seconds")),
                                                 # the process's CPU time over those epochs (None: not recorded)
                                                 "train_cpu_seconds": _rounded(history.attrs.get("train_cpu_seconds"))})
        write_csv(rd.path / "metrics_per_image.csv", per_image)
        write_csv(rd.path / "metrics.csv", metrics)  # last: marks the run finished
        # a finished run is reused from its folder, never resumed: only best.pt (evaluation-only rows,
        # re-scoring) is worth keeping; last.pt holds the optimiser state too (3x best.pt for SLSDeep)
        (rd.checkpoint_path / "last.pt").unlink(missing_ok=True)
        return Outcome(v.label, partition, seed, rd, status, config, history, metrics, per_image, n_params)

    def _claim_checkpoint(self, rd: RunDir, config: dict) -> bool:
        """Before :meth:`RunDir.prepare`: a run whose results folder is new resumes from a ``last.pt`` of its
        own config left in its checkpoint folder (stopped in another clone: ``checkpoint_dir: user-cache``)
        and says so; one of another config is refused (:func:`skinseg.train.check_checkpoint_folder`),
        or deleted under ``overwrite``. An unfinished run whose checkpoint is gone says it starts over.
        Returns whether a new results folder resumes such a checkpoint."""
        if config.get("eval_of"):
            return False  # trains nothing: no checkpoint of its own
        old, last = rd.existing_config(), rd.checkpoint_path / "last.pt"
        if self.params["overwrite"]:
            if old is None and rd.checkpoint_path.exists():
                rd.clear()  # overwrite: start over (a folder with a config is cleared by prepare)
            return False
        where = f"{config['variant']} [{config['partition']}, seed {config['seed']}]"
        if old is None:
            if check_checkpoint_folder(rd.checkpoint_path, config):
                print(f"{where}: resuming from {display(last)} ({checkpoint_epochs(rd.checkpoint_path)} epochs; "
                      "the same config, stopped in another checkout or with its results folder removed)", flush=True)
                return True
        elif not rd.finished and not last.is_file() and (done := len(rd.history())):
            print(f"{where}: no checkpoint at {display(last)} (another machine's, or removed): the run starts again at "
                  f"epoch 1; the {done} epochs in its history.csv are trained again", flush=True)
        return False

    def _parameters(self, v: Variant) -> int:
        """Parameter count of a row's model, built once per model and kwargs (reused runs build nothing else)."""
        key = (v.model, tuple(sorted(v.model_kwargs.items())))
        if key not in self._n_params:
            self._n_params[key] = count_parameters(build_model(v.model, **v.model_kwargs))
        return self._n_params[key]

    def run_all(self, *, allow_none: bool = False) -> list[Outcome]:
        """Every planned run (trained, resumed or reused); with ``train_missing=False``, only the
        finished ones (:meth:`completeness` lists the rest). When none of them is finished, a
        ValueError says so and how to get them, unless ``allow_none`` (then: ``[]``)."""
        plan = self.plan()
        if not self.params["train_missing"]:
            status = [self.run_status(v, part, s) for v, part, s in plan]
            if plan and "finished" not in status and not allow_none:
                counts = ", ".join(f"{n} {k}" for k, n in pd.Series(status).value_counts().items())
                raise ValueError(
                    f"train_missing=False, and none of the {len(plan)} planned runs of {self.spec.key} under "
                    f"{display(self.results_root)} (run_set {self.params['run_set'] or 'none'}) is finished "
                    f"({counts}; 'other config': a run of other parameters holds the folder). Train them "
                    f"(train_missing=True, or python reproduce/train_runs.py --notebook {self.spec.notebook[:2]} "
                    "with the same parameters), or check results_dir, run_set and the other parameters.")
            plan = [run for run, st in zip(plan, status) if st == "finished"]
        return [self.run(v, part, s) for v, part, s in plan]

    def run_status(self, v: Variant | str, partition: str, seed: int) -> str:
        """``finished`` (reusable as is), ``unfinished`` (resumes: its folder, or only its ``last.pt``, as
        a fresh clone finds a run stopped in another one), ``absent``, or ``other config`` (a run or
        checkpoint of another config holds the place); reads, never writes."""
        v = self.spec.variant(v)
        rd = self.run_dir(v, partition, seed)
        old = rd.existing_config()
        if old is None and not v.eval_of:  # a run stopped in another clone: its checkpoint alone (user-cache)
            stopped = checkpoint_config(rd.checkpoint_path)
            if stopped is not None:
                return "unfinished" if same_run(stopped, self.run_config(v, partition, seed)) else "other config"
        if old is None:
            return "absent"
        if v.eval_of and self.run_status(v.eval_of, partition, seed) != "finished":
            # its trained row's weights are not there yet: its own config cannot be compared
            return "other config" if old.get("eval_of") != v.eval_of else "unfinished"
        if not same_run(old, self.run_config(v, partition, seed)):
            return "other config"
        return "finished" if rd.finished else "unfinished"

    def completeness(self) -> pd.DataFrame:
        """One line per planned run: row, partition, seed and :meth:`run_status`."""
        return pd.DataFrame([{"row": v.label, "partition": part, "seed": s, "status": self.run_status(v, part, s)}
                             for v, part, s in self.plan()], columns=["row", "partition", "seed", "status"])

    def _encoder_weights(self, v: Variant, p: dict) -> Path | None:
        """The ``encoder_weights`` file if row ``v``'s model loads it (its encoder has exactly the
        file's parameters: :func:`skinseg.models.loads_encoder_weights`), else None: that row trains
        from scratch (e.g. U-Net beside ResNet-34 rows). A missing file, or a file that fits no row
        of the paper, is an error naming it."""
        if not p["encoder_weights"]:
            return None
        path = resolve(p["encoder_weights"])
        if not path.is_file():
            raise FileNotFoundError(f"encoder_weights: {display(path)} is not a file; give the path of a local "
                                    f"checkpoint, or leave it empty to train from scratch")
        stat = path.stat()
        known = self._encoder_files.get(path)
        if known is None or known[1] != (stat.st_size, stat.st_mtime_ns):  # hash and fit each model once
            trained = [w for w in self.variants() if not w.eval_of]
            fits = {w.label for w in trained if loads_encoder_weights(w.model, path, **w.model_kwargs)}
            if not fits:
                raise ValueError(f"encoder_weights: {display(path)} fits the encoder of none of this paper's models "
                                 f"({', '.join(sorted({w.model for w in trained}))}); give a checkpoint of one of "
                                 f"their encoders (`python -m skinseg models`), or leave it empty")
            known = self._encoder_files[path] = (file_sha256(path), (stat.st_size, stat.st_mtime_ns), fits)
        return path if v.label in known[2] else None

    def _train(self, v: Variant, p: dict, data: Data, partition: str, seed: int, rd: RunDir, config: dict):
        seed_everything(seed)
        weights = self._encoder_weights(v, p)
        weights = {"pretrained": str(weights)} if weights else {}
        # built after seeding: its initial weights depend on the seed (and the encoder file) alone
        model = build_model(v.model, **v.model_kwargs, **weights)
        val_aug = p["augmentation"] if p["augment_validation"] else "none"
        train_ds = self.dataset(data, partition, "train", p, p["augmentation"], p["target"], seed)
        val_ds = self.dataset(data, partition, "val", p, val_aug, p["target"], seed)
        if os.environ.get(BATCH_ENV):  # the runner's log says which run the epoch lines below belong to
            print(f"{v.label} [{partition}, seed {seed}]: {p['epochs']} epochs -> {display(rd.path)}", file=sys.__stderr__,
                  flush=True)
        history = fit(model, train_ds, val_ds, loss_from_params(p), TrainSettings.from_params(p), rd.checkpoint_path,
                      rd.path / "history.csv", seed, p["device"], run_config=config)
        load_best(model, rd.checkpoint_path, p["device"], config)
        probs, masks = self._predict_test(model, p, data, partition)
        if any(w.eval_of == v.label for w in self.variants()):  # kept only for this row's evaluation-only rows
            self._probs[(v.label, partition, seed)] = (probs, masks)
        write_json(rd.path / "weights.json", {"best_sha256": file_sha256(rd.checkpoint_path / "best.pt")})
        return history, probs, masks

    def _weights_sha256(self, trained: Variant, partition: str, seed: int) -> str:
        """sha256 of a trained run's best weights, as its run folder records it."""
        run_path = self.run_dir(trained, partition, seed).path
        sha = recorded_weights_sha256(run_path)
        if sha is None:
            raise FileNotFoundError(f"evaluation-only rows of {trained.label!r} need its finished run "
                                    f"({display(run_path)}); run {trained.label!r} first (it comes first in plan())")
        return sha

    def _predict_test(self, model, p, data, partition):
        test_ds = self.dataset(data, partition, "test", p)
        return lesion_probabilities(model, test_ds, p["device"], p["batch_size"], p["precision"], p["channels_last"],
                                    p["normalization"], p["target"])

    def _trained_predictions(self, trained: Variant, partition: str, seed: int):
        key = (trained.label, partition, seed)
        if key not in self._probs:
            model = self.best_model(trained, partition, seed)
            if model is None:
                raise FileNotFoundError(
                    f"evaluation-only rows of {trained.label!r} need its weights "
                    f"({display(self.run_dir(trained, partition, seed).checkpoint_path)}/best.pt), which are absent "
                    f"here; run {trained.label!r} again with overwrite=True to re-create them")
            self._probs[key] = self._predict_test(model, self.run_params(trained, partition, seed), self.data(trained),
                                                  partition)
        return self._probs[key]

    def best_model(self, variant: Variant | str, partition: str | None = None, seed: int | None = None):
        """The best-on-validation model of a finished run, or None when its checkpoint is absent
        (e.g. results reused from a committed run). Where the run folder records the sha256 of its
        best weights (``weights.json``), the checkpoint must be those weights: FileNotFoundError
        otherwise (e.g. a checkpoint left from before a re-training that git brought in)."""
        v = self.spec.trained(variant)
        partition = partition or self.partitions(v)[0]
        seed = self.seeds(v)[0] if seed is None else seed
        rd = self.run_dir(v, partition, seed)
        best = rd.checkpoint_path / "best.pt"
        if not best.is_file():
            return None
        recorded = recorded_weights_sha256(rd.path)
        if recorded is not None and file_sha256(best) != recorded:
            raise FileNotFoundError(
                f"{display(best)} is not the checkpoint that made {display(rd.path)} (its sha256 differs from the "
                f"one in weights.json): delete it (the run's results stay; what needs its weights then says so) "
                f"or run {v.label!r} again with overwrite=True")
        model = build_model(v.model, **v.model_kwargs)
        return load_best(model, rd.checkpoint_path, self.params["device"], self.run_config(v, partition, seed)).eval()


def metric_table(outcomes: list[Outcome], metric: str = "jaccard", reduction: str = "macro",
                 target: str = "lesion") -> pd.DataFrame:
    """One row per variant: parameters, number of runs (seeds x partitions), and the mean and
    sd over runs of ``metric`` at each resolution."""
    rows = []
    for label in dict.fromkeys(o.variant for o in outcomes):
        mine = [o for o in outcomes if o.variant == label]
        m = pd.concat([o.metrics for o in mine])
        m = select_metrics(m, metric=metric, reduction=reduction, target=target)
        row = {"variant": label, "parameters": mine[0].parameters, "runs": len(mine)}
        for res, vals in m.groupby("resolution", sort=False).value:
            row[f"{metric} {res} res. mean"] = vals.mean()
            row[f"{metric} {res} res. sd"] = vals.std(ddof=1) if len(vals) > 1 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def _rounded(seconds: float | None) -> float | None:
    """Seconds to 0.1 s for provenance; None stays None and NaN (not recorded) becomes None."""
    return None if seconds is None or math.isnan(seconds) else round(seconds, 1)

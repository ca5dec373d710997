"""A paper's run, in the steps its notebook shows: data and split, model,
training, evaluation, results. Each variant (ablation row) gets its own run
folder; a finished run with the same config is reused, never overwritten."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from skinseg import config as config_mod
from skinseg.data import PreprocessCache, SegmentationDataset, discover, find_masks, holdout_split, load_or_make_split
from skinseg.data.layouts import DataError, Sample
from skinseg.evaluate import evaluate
from skinseg.losses import get_loss
from skinseg.metrics import REDUCTIONS
from skinseg.models import build_model, count_parameters
from skinseg.paths import display, resolve
from skinseg.results import RunDir, provenance, tidy_metrics, write_csv, write_json
from skinseg.seed import seed_everything
from skinseg.synth import write_dataset
from skinseg.train import TrainSettings, fit, load_best


def synthetic_root(p: dict) -> Path:
    """Generate (once) and return the synthetic dataset these parameters ask for."""
    root = resolve("data") / f"synthetic-n{p['synthetic_n']}-s{p['synthetic_size']}-seed{p['seed']}"
    if not root.is_dir():
        write_dataset(root, p["synthetic_n"], p["seed"], (p["synthetic_size"],) * 2)
    return root


def fingerprint(samples: list[Sample]) -> str:
    """sha256 over the ids and bytes of every image and mask used."""
    h = hashlib.sha256()
    for s in sorted(samples, key=lambda s: s.id):
        h.update(s.id.encode())
        for f in (s.image, s.mask):
            if f is not None:
                h.update(f.read_bytes())
    return h.hexdigest()


@dataclass
class Data:
    dataset: str
    root: Path
    splits: dict[str, list[Sample]]
    split_table: pd.DataFrame
    original_masks: dict[str, Path] = field(default_factory=dict)
    synthetic: bool = False

    @property
    def label(self) -> str:
        """The dataset as tables name it, e.g. ``isic2017`` or ``isic2018 layout (synthetic)``."""
        return f"{self.dataset} layout (synthetic)" if self.synthetic else self.dataset

    def counts(self) -> pd.DataFrame:
        return pd.DataFrame({"split": list(self.splits), "images": [len(v) for v in self.splits.values()]})


@dataclass
class Outcome:
    variant: str
    run: RunDir
    status: str  # new | resume | reuse
    history: pd.DataFrame
    metrics: pd.DataFrame
    per_image: pd.DataFrame
    parameters: int


class Experiment:
    """One paper's reproduction with one set of notebook parameters ``params``."""

    def __init__(self, params: dict, paper: str, protocol: str = "holdout"):
        self.params = config_mod.validate(dict(params))
        self.paper, self.protocol = paper, protocol
        self.cache = PreprocessCache(self.params["cache_dir"])

    @property
    def size(self) -> tuple[int, int]:
        return self.params["image_height"], self.params["image_width"]

    def prepare_data(self) -> Data:
        """Index the data (stopping on any problem), and make or reuse the split CSV:
        a seeded ``val_fraction`` hold-out of the official training split for
        validation, the official validation split as the test set."""
        p = self.params
        root = synthetic_root(p) if p["data_root"] == "synthetic" else resolve(p["data_root"])
        idx = discover(root, None if p["dataset"] == "auto" else p["dataset"])
        idx.raise_problems()
        pool, test = idx.samples("train"), idx.samples("val")
        if any(s.mask is None for s in test):
            raise DataError(f"{root}: the official validation split has no masks, so it cannot serve as the test set")
        if p["max_images"]:
            pool, test = pool[: p["max_images"]], test[: p["max_images"]]
        split_csv = resolve(p["results_dir"]) / p["profile"] / self.paper / "splits.csv"

        def make():
            hold = holdout_split([s.id for s in pool], p["val_fraction"], p["seed"])
            rows = [(i, hold[i]) for i in sorted(hold)] + [(s.id, "test") for s in test]
            return pd.DataFrame(rows, columns=["image_id", "split"])

        table = load_or_make_split(split_csv, make)
        by_id = {s.id: s for s in pool + test}
        unknown = sorted(set(table.image_id) - set(by_id))
        if unknown:
            raise DataError(f"{display(split_csv)} names {len(unknown)} ids not in {display(root)} "
                            f"(e.g. {unknown[:3]}); it belongs to other data: delete it or use another results_dir")
        splits = {k: [by_id[i] for i in table.image_id[table.split == k]] for k in ("train", "val", "test")}
        originals = {}
        if p["original_masks_root"]:
            originals = find_masks(resolve(p["original_masks_root"]), idx.dataset, "val")
            missing = [s.id for s in splits["test"] if s.id not in originals]
            if missing:
                raise DataError(f"{p['original_masks_root']}: no full-resolution mask for {len(missing)} test images "
                                f"(e.g. {missing[:3]})")
        self.data = Data(idx.dataset, root, splits, table, originals, p["data_root"] == "synthetic")
        return self.data

    def dataset(self, split: str, augmentation: str = "none") -> SegmentationDataset:
        return SegmentationDataset(self.data.splits[split], self.size, self.cache, self.data.dataset, augmentation,
                                   self.params["seed"])

    def run_config(self, variant: str) -> dict:
        return {**self.params, "paper": self.paper, "variant": variant, "protocol": self.protocol,
                "resolved_data_root": display(self.data.root), "resolved_dataset": self.data.dataset}

    def run_dir(self, variant: str) -> RunDir:
        p = self.params
        return RunDir.for_run(p["results_dir"], p["profile"], self.paper, variant, self.protocol, p["checkpoint_dir"])

    def run(self, variant: str) -> Outcome:
        """Train (or resume, or reuse) and evaluate one variant; write its run folder."""
        p = self.params
        rd = self.run_dir(variant)
        status = rd.prepare(self.run_config(variant), p["overwrite"])
        if status == "reuse":
            print(f"{variant}: reusing the finished run in {display(rd.path)} (same config; overwrite=True re-runs it)")
            return Outcome(variant, rd, status, pd.read_csv(rd.path / "history.csv"),
                           pd.read_csv(rd.path / "metrics.csv"), pd.read_csv(rd.path / "metrics_per_image.csv"),
                           count_parameters(build_model(variant)))
        seed_everything(p["seed"])
        model = build_model(variant)  # built after seeding so its weights depend on the seed alone
        n_params = count_parameters(model)
        settings = TrainSettings(epochs=p["epochs"], batch_size=p["batch_size"], lr=p["lr"],
                                 early_stopping_patience=p["early_stopping_patience"],
                                 num_workers=p["num_workers"], progress=p.get("progress", True))
        history = fit(model, self.dataset("train", p["augmentation"]), self.dataset("val"), get_loss(p["loss"]),
                      settings, rd.checkpoint_path, rd.path / "history.csv", p["seed"], p["device"])
        load_best(model, rd.checkpoint_path, p["device"])
        ev = evaluate(model, self.dataset("test"), p["device"], p["batch_size"], upsampling=p["upsampling"],
                      post=p["postprocess"], opening_radius=p["opening_radius"],
                      original_masks=self.data.original_masks or None)
        per_image = pd.concat([df.assign(resolution=res) for res, df in ev.per_image.items()], ignore_index=True)
        metrics = pd.concat([tidy_metrics(summ, paper=self.paper, variant=variant, dataset=self.data.label, split="test",
                                          resolution=res, reduction=red)
                             for red in REDUCTIONS for res, summ in ev.summary(red).items()], ignore_index=True)
        write_json(rd.path / "provenance.json",
                   provenance(p["seed"], p["device"], fingerprint([s for v in self.data.splits.values() for s in v])))
        write_csv(rd.path / "metrics_per_image.csv", per_image)
        write_csv(rd.path / "metrics.csv", metrics)  # last: marks the run finished
        return Outcome(variant, rd, status, history, metrics, per_image, n_params)

    def best_model(self, variant: str):
        """The best-on-validation model of a run, or None when its checkpoint is absent."""
        rd = self.run_dir(variant)
        if not (rd.checkpoint_path / "best.pt").is_file():
            return None
        return load_best(build_model(variant), rd.checkpoint_path, self.params["device"]).eval()


def metric_table(outcomes: list[Outcome], metric: str = "jaccard", reduction: str = "macro") -> pd.DataFrame:
    """Variants x resolutions for one metric and reduction (the notebook's result table)."""
    rows = []
    for o in outcomes:
        m = o.metrics[(o.metrics.metric == metric) & (o.metrics.reduction == reduction)]
        row = {"variant": o.variant, "parameters": o.parameters}
        row.update({f"{metric} ({r} res., {reduction})": v for r, v in zip(m.resolution, m.value)})
        rows.append(row)
    return pd.DataFrame(rows)


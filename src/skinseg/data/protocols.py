"""Protocols: which images train, validate and test a run, written to a split file.

=========  ====================================================================
holdout    a seeded ``val_fraction`` of the training split validates; the
           dataset's validation split (or its test split) tests
official   the dataset's own train / val / test; a missing validation split is
           carved from training, and a test split without masks is replaced by
           the validation split (said in the split's label)
kfold      K seeded folds (scikit-learn ``KFold``) over every image with a mask;
           fold k tests, a seeded ``val_fraction`` of the rest validates
ratio      a seeded ``val_fraction`` of the training split validates (the
           number a paper reports on), the validation split tests
=========  ====================================================================

Stand-ins: when ``paper_dataset`` is not the layout found on disk, a stand-in is
derived and named in every table: **ISIC 2016** = a seeded 900 / 379 split of
the training images (scaled to the pool when it is smaller); **ISIC 2017** and
**ISIC 2018** = the training and validation splits of the ISIC data present
(2,000 + 150 for ISIC 2017).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, train_test_split

from skinseg.data.layouts import DataError, DatasetIndex, Sample
from skinseg.paths import display
from skinseg.results import write_csv, write_json

ISIC2016_SIZES = (900, 379)  # official ISBI 2016 train / test counts
DATASET_NAMES = {"isic2016": "ISIC 2016", "isic2017": "ISIC 2017", "isic2018": "ISIC 2018", "ph2": "PH2"}


@dataclass(frozen=True)
class SplitInputs:
    """Everything a split file depends on; recorded beside it and checked on reuse."""

    paper_dataset: str
    data_layout: str
    synthetic: bool
    protocol: str
    val_fraction: float
    folds: int
    split_seed: int
    max_images: int
    ids_sha256: str

    def name(self, reference: dict | None = None) -> str:
        """File stem, e.g. ``isic2016-official`` or ``isic2018-ratio-first300``; ``val_fraction``,
        ``folds`` and ``split_seed`` are added where they differ from ``reference`` (the paper's
        recipe), so rows of one paper that split differently never share a file."""
        out = f"{self.paper_dataset}-{self.protocol}" + (f"-first{self.max_images}" if self.max_images else "")
        for key, tag in (("val_fraction", "val"), ("folds", "k"), ("split_seed", "seed")):
            mine = getattr(self, key)
            if reference is not None and key in reference and mine and mine != reference[key]:
                out += f"-{tag}{mine:g}"
        return out


def holdout_split(ids, val_fraction: float, seed: int) -> dict[str, str]:
    """``{id: "train" | "val"}`` with ``round(val_fraction * n)`` (at least 1) ids in val."""
    ids = sorted(ids)
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if len(ids) < 2:
        raise DataError(f"a hold-out split needs at least 2 images, got {len(ids)}")
    n_val = min(len(ids) - 1, max(1, round(val_fraction * len(ids))))
    train, val = train_test_split(ids, test_size=n_val, random_state=seed, shuffle=True)
    return {**{i: "train" for i in train}, **{i: "val" for i in val}}


def ids_digest(splits: dict[str, list[Sample]]) -> str:
    h = hashlib.sha256()
    for name in sorted(splits):
        h.update(name.encode())
        for s in splits[name]:
            h.update(b"|" + s.id.encode())
    return h.hexdigest()


def stand_in(idx: DatasetIndex, paper_dataset: str, split_seed: int, synthetic: bool = False):
    """``(label, {split: samples with masks})`` for ``paper_dataset`` from the data in ``idx``."""
    with_masks = {k: [s for s in v if s.mask is not None] for k, v in idx.splits.items()}
    with_masks = {k: v for k, v in with_masks.items() if v}
    tag = " (synthetic)" if synthetic else ""
    if idx.dataset == paper_dataset:
        return DATASET_NAMES[paper_dataset] + tag, with_masks
    if idx.dataset == "ph2" or paper_dataset == "ph2":
        raise DataError(f"{display(idx.root)}: holds {idx.dataset}, and no stand-in for {paper_dataset} can be made from it; "
                        f"point data_root at {paper_dataset} data (or set paper_dataset={idx.dataset!r})")
    train = with_masks.get("train", [])
    if paper_dataset == "isic2016":
        n = len(train)
        total = sum(ISIC2016_SIZES)
        n_train = ISIC2016_SIZES[0] if n >= total else max(1, round(n * ISIC2016_SIZES[0] / total))
        n_test = ISIC2016_SIZES[1] if n >= total else n - n_train
        if n_test < 1:
            raise DataError(f"{display(idx.root)}: {n} training images cannot make an ISIC 2016 stand-in (needs >= 2)")
        order = np.random.default_rng(split_seed).permutation(n)
        picked = {"train": [train[i] for i in sorted(order[:n_train])],
                  "test": [train[i] for i in sorted(order[n_train:n_train + n_test])]}
        label = (f"ISIC 2016 stand-in ({DATASET_NAMES[idx.dataset]} training images, seeded "
                 f"{n_train}/{n_test}){tag}")
        return label, picked
    picked = {k: with_masks[k] for k in ("train", "val") if k in with_masks}
    counts = " + ".join(f"{len(v):,} {k}" for k, v in picked.items())
    return f"{DATASET_NAMES[paper_dataset]} stand-in ({DATASET_NAMES[idx.dataset]} {counts}){tag}", picked


def partitions(splits: dict[str, list[Sample]], protocol: str, val_fraction: float, folds: int,
               seed: int) -> tuple[dict[str, dict[str, list[str]]], str]:
    """``({partition: {"train"|"val"|"test": ids}}, note)``; partitions are ``protocol``
    itself, or ``fold0``..``fold{K-1}`` for kfold."""
    ids = {k: [s.id for s in v] for k, v in splits.items()}
    note = ""

    def carve(pool):
        hold = holdout_split(pool, val_fraction, seed)
        return sorted(i for i in pool if hold[i] == "train"), sorted(i for i in pool if hold[i] == "val")

    def held_out_test():
        for k in ("val", "test"):
            if ids.get(k):
                return k, ids[k]
        raise DataError("this protocol tests on the dataset's validation or test split, and the data has neither "
                        "with masks; use protocol='kfold' or another dataset")

    if "train" not in ids and protocol != "kfold":
        raise DataError(f"protocol {protocol!r} needs a training split; the data has: {', '.join(ids) or 'none'}")
    if protocol in ("holdout", "ratio"):
        tr, va = carve(ids["train"])
        src, te = held_out_test()
        note = f"test = the source's {src} split"
        out = {protocol: {"train": tr, "val": va, "test": te}}
    elif protocol == "official":
        if ids.get("test"):
            te, note = ids["test"], "test = the source's test split"
            tr, va = (ids["train"], ids["val"]) if ids.get("val") else carve(ids["train"])
        else:
            src, te = held_out_test()
            note = f"test = the source's {src} split (no test masks)"
            tr, va = carve(ids["train"])
        out = {"official": {"train": tr, "val": va, "test": te}}
    elif protocol == "kfold":
        pool = sorted(i for v in ids.values() for i in v)
        if not 2 <= folds <= len(pool):
            raise DataError(f"folds={folds}: must be in [2, {len(pool)}] for {len(pool)} images")
        out = {}
        for f, (rest, test) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(pool)):
            tr, va = carve([pool[i] for i in rest])
            out[f"fold{f}"] = {"train": tr, "val": va, "test": sorted(pool[i] for i in test)}
        note = f"{folds} folds over {len(pool)} images"
    else:
        raise ValueError(f"protocol must be holdout, official, kfold or ratio, got {protocol!r}")
    for name, part in out.items():
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            both = set(part[a]) & set(part[b])
            if both:
                raise AssertionError(f"{name}: {a} and {b} share {len(both)} images (e.g. {sorted(both)[:3]})")
    return out, note


def table(parts: dict[str, dict[str, list[str]]]) -> pd.DataFrame:
    rows = [(p, i, split) for p, part in parts.items() for split in ("train", "val", "test") for i in part[split]]
    return pd.DataFrame(rows, columns=["partition", "image_id", "split"])


def split_record(path: Path) -> Path:
    """Where the inputs that made the split file ``path`` are recorded: beside it, ``.json``."""
    return Path(path).with_suffix(".json")


def load_or_make(path: Path, inputs: SplitInputs, make, overwrite: bool = False) -> pd.DataFrame:
    """The split at ``path`` (CSV) with its inputs beside it (:func:`split_record`). Inputs that
    differ from the recorded ones raise DataError naming each, unless ``overwrite``
    (then it is rebuilt)."""
    path, meta = Path(path), split_record(path)
    want = asdict(inputs)
    if path.is_file() and not overwrite:
        if not meta.is_file():
            raise DataError(f"{display(path)} has no record of what made it ({meta.name} missing); delete it, or "
                            "pass overwrite=True to rebuild it")
        have = json.loads(meta.read_text())
        diff = [f"{k}: {have.get(k)!r} -> {want[k]!r}" for k in want if have.get(k) != want[k]]
        if diff:
            raise DataError(f"{display(path)} was made from other inputs ({'; '.join(diff)}). Pass overwrite=True "
                            "to rebuild it (runs made on the old split are then re-run), or choose another "
                            "results_dir")
        df = pd.read_csv(path, dtype=str)
        if list(df.columns) != ["partition", "image_id", "split"]:
            raise DataError(f"{display(path)}: not a split file (columns partition, image_id, split); "
                            "pass overwrite=True to rebuild it")
        return df
    df = make()
    write_json(meta, want)
    write_csv(path, df)
    return df


def partition_digest(df: pd.DataFrame, partition: str) -> str:
    """sha256 of one partition's rows: recorded in every run's config."""
    part = df[df.partition == partition]
    text = "\n".join(f"{i},{s}" for i, s in zip(part.image_id, part.split))
    return hashlib.sha256(text.encode()).hexdigest()

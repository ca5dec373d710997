"""From parameters to data: the dataset tree a run reads, its stand-in for the
paper's dataset, the split file and the original-resolution masks."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from skinseg.data import protocols
from skinseg.data.fingerprint import fingerprint
from skinseg.data.layouts import DataError, Sample, discover, find_masks
from skinseg.paths import display, resolve
from skinseg.synth import write_dataset


def synthetic_root(n: int, size: int, seed: int) -> Path:
    """Generate (once) and return the synthetic dataset with these settings under ``data/``."""
    root = resolve("data") / f"synthetic-n{n}-s{size}-seed{seed}"
    if not root.is_dir():
        try:
            write_dataset(root, n, seed, (size, size))
        except OSError:  # another process (runner --jobs) wrote the same dataset first: the same bytes
            if not root.is_dir():
                raise
    return root


@dataclass
class Data:
    """The split a set of runs shares: partitions of image ids, their samples, and where
    each came from."""

    label: str                  # the dataset as tables name it, e.g. "ISIC 2016 stand-in (...)"
    layout: str                 # what is on disk: isic2017, isic2018, ...
    root: Path
    split_file: Path
    table: pd.DataFrame         # partition, image_id, split
    note: str
    samples: dict[str, Sample]
    original_masks: dict[str, Path] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def partitions(self) -> list[str]:
        return list(dict.fromkeys(self.table.partition))

    def split(self, partition: str, name: str) -> list[Sample]:
        t = self.table
        return [self.samples[i] for i in t.image_id[(t.partition == partition) & (t.split == name)]]

    def counts(self) -> pd.DataFrame:
        c = self.table.groupby(["partition", "split"], sort=False).size().unstack("split")
        return c[[s for s in ("train", "val", "test") if s in c.columns]].reset_index()


def load(p: dict, results_root: Path, reference: dict | None = None) -> Data:
    """Index ``p["data_root"]`` (stopping on any problem), derive the stand-in of
    ``p["paper_dataset"]``, make or check the split file under ``results_root/splits/``
    (named against ``reference``, the paper's parameters: see :meth:`SplitInputs.name`),
    and find the original-resolution masks of the test images."""
    synthetic = p["data_root"] == "synthetic"
    # the synthetic data does not depend on split_seed: a paper's split seed (FPN: 35) splits the same images
    root = synthetic_root(p["synthetic_n"], p["synthetic_size"], 0) if synthetic else resolve(p["data_root"])
    idx = discover(root, None if p["dataset"] == "auto" else p["dataset"])
    idx.raise_problems()
    label, splits = protocols.stand_in(idx, p["paper_dataset"], p["split_seed"], synthetic)
    if p["max_images"]:
        splits = {k: v[: p["max_images"]] for k, v in splits.items()}
        label += f", first {p['max_images']} per split ({' + '.join(f'{len(v):,} {k}' for k, v in splits.items())})"
    inputs = protocols.SplitInputs(p["paper_dataset"], idx.dataset, synthetic, p["protocol"], p["val_fraction"],
                                   p["folds"] if p["protocol"] == "kfold" else 0, p["split_seed"], p["max_images"],
                                   protocols.ids_digest(splits))
    split_file = results_root / "splits" / f"{inputs.name(reference)}.csv"
    # cheap (seeded scikit-learn splits of ids); its note says where the test images come from
    parts, note = protocols.partitions(splits, p["protocol"], p["val_fraction"], p["folds"], p["split_seed"])
    table = protocols.load_or_make(split_file, inputs, lambda: protocols.table(parts), p["overwrite"])
    samples = {s.id: s for v in splits.values() for s in v}
    unknown = sorted(set(table.image_id) - set(samples))
    if unknown:
        raise DataError(f"{display(split_file)} names {len(unknown)} ids not in {display(root)} (e.g. {unknown[:3]}); "
                        "pass overwrite=True to rebuild it")
    test_ids = set(table.image_id[table.split == "test"])
    originals: dict[str, Path] = {}
    if p["original_masks_root"]:
        orig_root = resolve(p["original_masks_root"])
        for split in ("train", "val", "test"):
            try:
                originals.update(find_masks(orig_root, idx.dataset, split))
            except (DataError, KeyError):
                continue
        missing = sorted(test_ids - set(originals))
        if missing:
            raise DataError(f"{p['original_masks_root']}: no full-resolution mask for {len(missing)} test images "
                            f"(e.g. {missing[:3]}); point original_masks_root at the full-resolution masks of "
                            f"{display(root)}, or leave it empty to score against the dataset's own masks")
        originals = {i: originals[i] for i in test_ids}
    used = {i: [samples[i].image, samples[i].mask, originals.get(i)] for i in set(table.image_id)}
    fp = fingerprint(used, resolve(p["cache_dir"]))
    return Data(label, idx.dataset, root, split_file, table, note, samples, originals, fp)

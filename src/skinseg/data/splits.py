"""Splits as data: CSV files of image ids (``image_id, split``), written once
and reused. Official splits where a dataset has them; seeded hold-out and
seeded K-fold (scikit-learn) otherwise. Same ids and seed -> same file."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from sklearn.model_selection import KFold, train_test_split

from skinseg.data.layouts import DataError
from skinseg.results import write_csv


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


def kfold_split(ids, k: int, seed: int) -> dict[str, str]:
    """``{id: "fold0" .. "fold{k-1}"}``: the fold in which each id is the test image."""
    ids = sorted(ids)
    if k < 2 or k > len(ids):
        raise ValueError(f"k must be in [2, {len(ids)}] for {len(ids)} images, got {k}")
    out = {}
    for f, (_, test) in enumerate(KFold(k, shuffle=True, random_state=seed).split(ids)):
        out.update({ids[i]: f"fold{f}" for i in test})
    return out


def load_or_make_split(path, make) -> pd.DataFrame:
    """Read the split CSV at ``path``, or build it with ``make()`` (a DataFrame with
    columns image_id, split) and write it there. An existing file is reused as-is,
    so every variant of a paper trains on exactly the same ids."""
    path = Path(path)
    if path.is_file():
        df = pd.read_csv(path, dtype=str)
        if list(df.columns[:2]) != ["image_id", "split"]:
            raise DataError(f"{path}: not a split file (needs columns image_id, split); delete it to re-make")
        return df
    df = make()
    write_csv(path, df)
    return df

"""Small helpers the paper notebooks call, so that no cell holds more than a few lines."""
from __future__ import annotations

import pandas as pd

from skinseg.models import model_table  # noqa: F401  (the notebooks' model table)

# Every paper notebook's parameters cell defines these names (plus its own).
COMMON_PARAMETERS = (
    "profile", "data_root", "dataset", "original_masks_root", "synthetic_n", "synthetic_size",
    "image_height", "image_width", "max_images", "val_fraction", "model_name", "ablation_models",
    "epochs", "batch_size", "lr", "loss", "augmentation", "early_stopping_patience", "upsampling",
    "postprocess", "opening_radius", "seed", "device", "num_workers", "progress", "results_dir",
    "checkpoint_dir", "cache_dir", "overwrite",
)


def parameters(namespace: dict, names=COMMON_PARAMETERS) -> dict:
    """Collect the parameters cell's values from the notebook's globals."""
    missing = [n for n in names if n not in namespace]
    if missing:
        raise NameError(f"the parameters cell does not define: {', '.join(missing)}")
    return {n: namespace[n] for n in names}


def comparison(rows) -> pd.DataFrame:
    """Reported vs reproduced: rows of ``(quantity, reported, source, reproduced, note)``."""
    return pd.DataFrame(rows, columns=["quantity", "reported (paper)", "where reported", "reproduced (this run)", "note"])

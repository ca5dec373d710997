"""Cross-dataset test: models trained on ISIC, scored on another dataset in its official layout
(PH2 by default: ``PH2 Dataset images/IMDnnn/...``, masks 1-bit or RGB, sizes that vary).

Each trained run's best weights are used when its checkpoint is here; when it is not (results
reused from a committed run on a fresh clone), the run is trained again under the same config into
a separate folder (never over the committed results) — on one CPU that gives the same weights.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from skinseg.data import SegmentationDataset, discover
from skinseg.evaluate import EvalSettings, lesion_probabilities, score
from skinseg.tables import mean_sd


def external_samples(root, dataset: str = "ph2") -> tuple[list, str]:
    """Every sample with a mask of the dataset at ``root`` (any problem stops here, named), and its layout."""
    idx = discover(Path(root), dataset)
    idx.raise_problems()
    return [s for s in idx.samples() if s.mask is not None], idx.dataset


def trained_model(exp, variant, partition: str, seed: int, retrain_dir):
    """``(model, source)``: the run's best model, or the same run trained again under the same config
    in ``retrain_dir`` when its checkpoint is absent (on the committed split, copied there first; never
    over the committed results). The source says whether the re-trained run's ISIC test metrics equal
    the committed run's (they do on one CPU with the same threads; bf16 on other hardware may differ)."""
    from skinseg.experiment import Experiment

    model = exp.best_model(variant, partition, seed)
    if model is not None:
        return model, "checkpoint"
    retrain_dir = Path(retrain_dir)
    params = {**exp.params, "results_dir": str(retrain_dir / "results"),
              "checkpoint_dir": str(retrain_dir / "checkpoints"), "train_missing": True}
    splits = exp.results_root / "splits"
    if splits.is_dir():  # the committed split, not one made again by this code
        shutil.copytree(splits, retrain_dir / "results" / exp.params["profile"] / exp.spec.key / "splits",
                        dirs_exist_ok=True)
    again = Experiment(params, exp.spec)
    new = again.run(variant, partition, seed)
    committed = pd.read_csv(exp.run_dir(variant, partition, seed).path / "metrics.csv")
    ours, theirs = new.metrics.value.to_numpy(), committed.value.to_numpy()
    same = len(ours) == len(theirs) and np.allclose(ours, theirs, rtol=0, atol=1e-9)  # older code: other rows
    return again.best_model(variant, partition, seed), ("re-trained under the same config: ISIC test metrics "
                                                         + ("identical to the committed run" if same else
                                                            "DIFFER from the committed run"))


def evaluate_external(exp, outcomes, root, dataset: str = "ph2", retrain_dir="cache/retrain"):
    """Score every trained run in ``outcomes`` on the dataset at ``root`` at original resolution.
    Returns (per-image table: variant, seed, image_id, ISIC metrics; per-model table: runs, weights'
    source, per-image mean Jaccard / thresholded Jaccard / Dice as mean ± sd over runs)."""
    samples, layout = external_samples(root, dataset)
    ds = SegmentationDataset(samples, exp.size, exp.cache, layout)  # every run scores the same images
    per, sources = [], {}
    for o in outcomes:
        v = exp.spec.variant(o.variant)
        if v.eval_of:
            continue
        p = exp.variant_params(v)
        model, sources[(v.label, o.seed)] = trained_model(exp, v, o.partition, o.seed, retrain_dir)
        probs, masks = lesion_probabilities(model, ds, p["device"], p["batch_size"], p["precision"],
                                            p["channels_last"], p["normalization"], p["target"])
        ev = score(probs, masks, samples, layout, EvalSettings.from_params(p), progress=p["progress"])
        per.append(ev.per_image["original"].assign(variant=v.label, seed=o.seed))
    if not per:
        raise ValueError("no trained run to evaluate: run the one-protocol comparison first")
    per = pd.concat(per, ignore_index=True)
    rows = []
    for label, df in per.groupby("variant", sort=False):
        means = df.groupby("seed")[["jaccard", "threshold_jaccard", "dice"]].mean()
        rows.append({"model": label, "runs": len(means),
                     "weights": ", ".join(sorted({s for (lab, _), s in sources.items() if lab == label})),
                     **{f"{m} (mean over images)": mean_sd(means[m]) for m in means.columns}})
    return per, pd.DataFrame(rows)


SKIPPED = ("No PH2 folder given (ph2_root is empty): the cross-dataset test is skipped; "
           "`python -m skinseg download ph2 --dest data` says how to get it.")


def ph2_section(exp, outcomes, ph2_root: str, retrain_dir):
    """The summary's cross-dataset section: :func:`evaluate_external` on the PH2 folder ``ph2_root``
    (relative to the project root), or ``(None, SKIPPED)`` when ``ph2_root`` is empty. A ``ph2_root``
    that is not a folder is an error naming it: a typo must not pass for a skipped test."""
    from skinseg.paths import resolve

    if not ph2_root:
        return None, SKIPPED
    root = resolve(ph2_root)
    if not root.is_dir():
        raise FileNotFoundError(f"ph2_root={ph2_root!r} is not a folder: give the unzipped PH2Dataset folder, or "
                                "leave ph2_root empty to skip the cross-dataset test")
    return evaluate_external(exp, outcomes, root, retrain_dir=retrain_dir)

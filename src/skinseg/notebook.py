"""Small helpers the paper notebooks call, so that no cell holds more than a few lines."""
from __future__ import annotations

import pandas as pd
import torch

from skinseg import params as P
from skinseg.results import metric_value, training_seconds
from skinseg.models import model_table  # noqa: F401  (the notebooks' model table)
from skinseg.tables import (bootstrap_ci, dataset_used, epoch_table, mean_sd, ordering_verdict,  # noqa: F401
                            paired_difference)  # notebook.*


def paper_tables(exp, outcomes):
    """This paper's numbers in the shape of its own tables, "paper / ours" and a verdict mark per cell,
    numbered notes under each table and the claims after them (:mod:`skinseg.verdict_tables`), from the
    verdict lines the summary judges (:func:`skinseg.verdicts.verdict_table`); HTML for the notebook."""
    from IPython.display import HTML

    from skinseg.verdict_tables import paper_html
    from skinseg.verdicts import verdict_table

    return HTML(paper_html(verdict_table({exp.spec.key: (exp, outcomes)}), paper=exp.spec.key))


def parameters(namespace: dict) -> dict:
    """Collect the parameters cell's values (every name of :data:`skinseg.params.SCHEMA`)
    from the notebook's globals."""
    missing = [n for n in P.NAMES if n not in namespace]
    if missing:
        raise NameError(f"the parameters cell does not define: {', '.join(missing)} "
                        "(regenerate it with `python -m skinseg params-cell NOTEBOOK`)")
    return {n: namespace[n] for n in P.NAMES}


def deviations(params: dict, spec) -> pd.DataFrame:
    """Every parameter where this run differs from the paper's recipe, with what the paper says."""
    rows = [(k, str(spec.recipe[k]), str(params[k]), spec.recipe_sources.get(k, "")) for k in spec.recipe
            if params[k] != spec.recipe[k]]
    return pd.DataFrame(rows, columns=["parameter", "paper's recipe", "this run", "paper says"])


def histories(outcomes) -> dict:
    """``{"<row> s<seed>[ <partition>]": history}`` of the runs that trained."""
    many_parts = len({o.partition for o in outcomes}) > 1
    return {f"{o.variant} s{o.seed}" + (f" {o.partition}" if many_parts else ""): o.history
            for o in outcomes if len(o.history)}


def per_image(outcomes) -> pd.DataFrame:
    """Every run's per-image table, with its row, partition and seed."""
    return pd.concat([o.per_image.assign(variant=o.variant, partition=o.partition, seed=o.seed) for o in outcomes],
                     ignore_index=True)


def probability_map_figure(exp, variant, image_index: int = 0):
    """The checkerboard, shown: one test image's lesion probabilities at training resolution
    next to the same map upsampled to its original mask (None when the checkpoint is absent)."""
    from skinseg.data.io import load_mask
    from skinseg.evaluate import lesion_probabilities, upsample
    from skinseg.plots import probability_maps

    model = exp.best_model(variant)
    if model is None:
        return None
    v = exp.spec.variant(variant)
    p, data = exp.variant_params(v), exp.data(v)
    part = exp.partitions(v)[0]
    test = exp.dataset(data, part, "test", p)
    probs, _ = lesion_probabilities(model, torch.utils.data.Subset(test, [image_index]), p["device"], 1, p["precision"], p["channels_last"],
                                    p["normalization"], p["target"])
    s = test.samples[image_index]
    truth = load_mask(data.original_masks.get(s.id, s.mask), data.layout)
    up = upsample(probs[0], truth.shape, p["upsampling"])[0]
    return probability_maps(test.arrays(image_index)[0], probs[0, 0], up, truth, f"{v.label}, {s.id}")


# (name, how it is computed) of each reading of a paper's unqualified "IoU" / "Jaccard"
JACCARD_DEFINITIONS = (
    ("per-image mean Jaccard", "lesion Jaccard of each image, averaged over images (ISIC 2017 ranking)"),
    ("pooled (micro) Jaccard", "lesion Jaccard of all test pixels pooled"),
    ("thresholded Jaccard", "per-image Jaccard set to 0 below 0.65, averaged (ISIC 2018 ranking)"),
    ("class-mean IoU, pooled", "(lesion IoU + background IoU) / 2 over pooled pixels (FCN-style mean IoU)"),
    ("class-mean IoU, per image", "(lesion IoU + background IoU) / 2 per image, averaged"),
)


def jaccard_definitions(outcomes, variant: str, reported: float | None = None,
                        resolution: str = "original") -> pd.DataFrame:
    """The readings of "IoU" in :data:`JACCARD_DEFINITIONS` for one row's runs (mean ± sd over
    seeds), with each one's distance to the ``reported`` value; the nearest is marked."""
    mine = [o for o in outcomes if o.variant == variant]
    if not mine:
        raise KeyError(f"no runs of row {variant!r}; rows: {sorted({o.variant for o in outcomes})}")

    def metric(o, name, reduction, target="lesion"):
        return metric_value(o.metrics, name, reduction=reduction, target=target, resolution=resolution)

    def per_image_class_mean(o):
        t = o.per_image[o.per_image.resolution == resolution]
        bg = t.TN / (t.TN + t.FP + t.FN).where(lambda d: d > 0)
        return float(((t.jaccard + bg.fillna(1.0)) / 2).mean())

    values = {
        "per-image mean Jaccard": [metric(o, "jaccard", "macro") for o in mine],
        "pooled (micro) Jaccard": [metric(o, "jaccard", "micro") for o in mine],
        "thresholded Jaccard": [metric(o, "threshold_jaccard", "macro") for o in mine],
        "class-mean IoU, pooled": [(metric(o, "jaccard", "micro") + metric(o, "jaccard", "micro", "background")) / 2
                                   for o in mine],
        "class-mean IoU, per image": [per_image_class_mean(o) for o in mine],
    }
    rows = [{"definition": name, "computed as": how, "reproduced": mean_sd(values[name]),
             "mean": pd.Series(values[name]).mean()} for name, how in JACCARD_DEFINITIONS]
    df = pd.DataFrame(rows)
    if reported is not None:
        df["reported"] = reported
        df["difference"] = df["mean"] - reported
        df["nearest"] = (df["difference"].abs() == df["difference"].abs().min()).map({True: "◀", False: ""})
    return df


def postprocessing_effect(per_image: pd.DataFrame, reference: str, rows: list[str] | None = None,
                          resolution: str = "original") -> pd.DataFrame:
    """What each of ``rows`` (default: every other row) changes against the ``reference`` row,
    mask by mask (same seed, same image): masks whose prediction changed, pixels changed
    (|ΔTP| + |ΔFP|: exact when a change only removes or only adds pixels, as an opening does;
    a lower bound otherwise), as a share of the reference's predicted area, and the change of
    per-image Jaccard; with the size range of the masks, in megapixels."""
    t = per_image[per_image.resolution == resolution].assign(predicted=lambda d: d.TP + d.FP,
                                                             pixels=lambda d: d.TP + d.TN + d.FP + d.FN)
    ref = t[t.variant == reference].set_index(["seed", "image_id"])
    if ref.empty:
        raise KeyError(f"no per-image rows of reference {reference!r}; rows: {sorted(t.variant.unique())}")
    chosen = t[t.variant != reference] if rows is None else t[t.variant.isin(rows)]
    out = []
    for label, g in chosen.groupby("variant", sort=False):
        g = g.set_index(["seed", "image_id"])
        r = ref.loc[g.index]
        changed = (g.TP - r.TP).abs() + (g.FP - r.FP).abs()
        share = changed / r.predicted.where(r.predicted > 0)
        dj = g.jaccard - r.jaccard
        out.append({"row": label, "against": reference, "seeds": g.index.get_level_values(0).nunique(),
                    "masks (seed × image)": len(g), "masks changed": int((changed > 0).sum()),
                    "megapixels, min": r.pixels.min() / 1e6, "megapixels, max": r.pixels.max() / 1e6,
                    "pixels changed, mean": changed.mean(), "pixels changed, max": int(changed.max()),
                    "share of predicted area, mean": share.mean(), "share of predicted area, max": share.max(),
                    "Δ Jaccard, mean": dj.mean(), "Δ Jaccard, min": dj.min(), "Δ Jaccard, max": dj.max()})
    return pd.DataFrame(out)


def stopping(outcomes, epochs: int) -> pd.DataFrame:
    """Per trained run: epochs run, the best epoch, whether early stopping ended training or the
    ``epochs`` cap did, and its training minutes (:func:`skinseg.results.training_seconds`, on the
    device its provenance names; NaN where not recorded), the validation score's gain over the last
    20 % of its epochs and whether it converged (:func:`skinseg.convergence.run_convergence`, on the
    score the run monitored). A last row sums the minutes and says over how many runs when some have
    no recorded time."""
    from skinseg.convergence import WINDOW, run_convergence

    rows = []
    for o in outcomes:
        h = o.history
        if not len(h):
            continue
        best = h[h.best.astype(bool)].epoch.max()
        conv = run_convergence(h, (getattr(o, "config", None) or {}).get("monitor", "jaccard"))
        rows.append({"row": o.variant, "seed": o.seed, "partition": o.partition, "epochs run": int(h.epoch.max()),
                     "best epoch": int(best), "ended by": "early stopping" if h.epoch.max() < epochs else "epoch cap",
                     f"gain in last {WINDOW * 100:g} %": conv["gain in window"], "converged": conv["converged"],
                     "training minutes": training_seconds(o.run.path) / 60})
    df = pd.DataFrame(rows)
    if len(df):
        known = df["training minutes"].notna()
        label = "all runs" if known.all() else f"the {known.sum()} of {len(df)} runs with a recorded time"
        df["converged"] = df["converged"].astype(object)  # the total row's "" (pandas refuses it in a bool column)
        df.loc[len(df)] = {"row": label, "partition": "", "ended by": "", "converged": "",
                           "training minutes": df["training minutes"].sum(min_count=1)}
        df = df.astype({"seed": "Int64", "epochs run": "Int64", "best epoch": "Int64"})  # the total row's <NA>
    return df


def stopping_sentence(stops: pd.DataFrame) -> str:
    """One sentence on a :func:`stopping` table: in how many of the runs that the epoch cap ended
    the best validation epoch was the last one (those runs were still improving when training
    stopped, so a longer budget could move every number)."""
    from skinseg.convergence import BAND, WINDOW

    trained = stops[stops["ended by"] != ""]
    done = int(trained["converged"].astype(bool).sum())
    tail = (f" {done} of {len(trained)} runs converged (validation score flat within {BAND:g} over the last "
            f"{WINDOW * 100:g} % of epochs)"
            + (": verdicts on the others are labelled unconverged." if done < len(trained) else "."))
    runs = stops[stops["ended by"] == "epoch cap"]
    if runs.empty:
        return "No run was ended by the epoch cap." + tail
    last = int((runs["best epoch"] == runs["epochs run"]).sum())
    head = f"The best validation epoch is the last one in {last} of the {len(runs)} runs that the epoch cap ended"
    if last == 0:
        return head + ": every one had stopped improving before the cap." + tail
    return head + (": those runs were still improving when training stopped, so a longer budget could move their "
                   "numbers.") + tail


def benchmarks(models, folder: str = "results/benchmarks") -> pd.DataFrame:
    """Every committed ``skinseg bench`` figure of ``models`` (all files in ``folder``), with the
    file, size, batch, device, precision and machine that go with it; a file measured in several
    rounds gives the median images/s of each setting."""
    from skinseg.paths import resolve

    rows = []
    for f in sorted(resolve(folder).glob("*.csv")):
        df = pd.read_csv(f)
        if not {"model", "inference_img_s", "train_img_s"} <= set(df.columns):
            continue  # a speed-up or another benchmark's table
        df = df[df.model.isin(list(models))]
        if "precision" not in df:  # files written before precision was a column
            df = df.assign(precision="fp32", channels_last=df.get("amp_channels_last", False))
        if "round" in df and df["round"].nunique() > 1:  # several rounds: one row of medians per setting
            keys = ["model", "height", "width", "batch", "device", "precision", "channels_last", "machine"]
            df = df.groupby(keys, as_index=False, sort=False, dropna=False)[["inference_img_s", "train_img_s"]].median()
        rows.append(df.assign(file=f.name, size=df.height.astype(str) + "×" + df.width.astype(str)))
    cols = ["model", "size", "batch", "device", "precision", "channels_last", "inference_img_s", "train_img_s",
            "machine", "file"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)

"""Small helpers the paper notebooks call, so that no cell holds more than a few lines."""
from __future__ import annotations

import pandas as pd
import torch

from skinseg import params as P
from skinseg.results import select_metrics
from skinseg.models import model_table  # noqa: F401  (the notebooks' model table)


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


def dataset_used(exp, variant=None) -> str:
    """The data a row ran on, as a table cell: stand-in, source size, input size."""
    from skinseg.data.io import image_size

    data, p = exp.data(variant), exp.variant_params(variant) if variant else exp.params
    sizes = {image_size(s.image) for s in data.samples.values()}  # headers only
    src = f"{'×'.join(map(str, next(iter(sizes))))} source" if len(sizes) == 1 else "mixed-size source"
    return f"{data.label}; {src}, {p['image_height']}×{p['image_width']} input"


def mean_sd(values) -> str:
    v = pd.Series(values, dtype=float)
    return f"{v.mean():.4f}" if len(v) == 1 else f"{v.mean():.4f} ± {v.std(ddof=1):.4f} (n={len(v)})"


def reported_vs_reproduced(exp, outcomes, resolution: str = "original", reduction: str = "macro") -> pd.DataFrame:
    """Every number the paper reports next to ours: mean ± sd over the runs of the matching row
    (seeds or folds), the difference of the means, and the data actually used."""
    rows = []
    for r in exp.spec.reported:
        mine = [o for o in outcomes if exp.spec.variant(o.variant).paper_row == r.row
                and (r.paper_dataset is None or exp.variant_params(o.variant)["paper_dataset"] == r.paper_dataset)]
        vals = _reproduced(exp, r, mine, resolution, reduction)
        rows.append({"where": r.where, "row": r.row, "metric": r.metric,
                     "reported": r.value if r.sd is None else f"{r.value} ± {r.sd}",
                     "reproduced": "reported only" if r.reported_only else "not run" if not vals else
                     f"{vals[0]:,}" if r.metric == "parameters" else mean_sd(vals),
                     "difference": (pd.Series(vals, dtype=float).mean() - r.value) if vals else float("nan"),
                     "data used": dataset_used(exp, mine[0].variant) if mine else ""})
    return pd.DataFrame(rows)


def _reproduced(exp, r, outcomes, resolution, reduction) -> list:
    """Our values of reported number ``r``: parameter counts; per-epoch validation values from the
    history (``epoch`` set: ``val_loss`` for a loss, ``val_<metric>`` otherwise, on the trained target);
    else test metrics of the row's own target."""
    if r.metric == "parameters":
        return sorted({o.parameters for o in outcomes})
    out = []
    for o in outcomes:
        if r.epoch is not None:
            col = "val_loss" if r.metric.endswith("_loss") else f"val_{r.metric}"
            h = o.history[o.history.epoch == r.epoch] if len(o.history) else o.history
            if len(h) and col in h:
                out.append(float(h[col].iloc[0]))
            continue
        target = exp.variant_params(o.variant)["target"]
        m = select_metrics(o.metrics, metric=r.metric, resolution=resolution, reduction=reduction, target=target)
        if len(m):
            out.append(float(m.value.iloc[0]))
    return out


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
        return float(select_metrics(o.metrics, metric=name, reduction=reduction, target=target,
                                    resolution=resolution).value.iloc[0])

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


def bootstrap_ci(values, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (e.g. per-image Jaccard of one run)."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    means = v[np.random.default_rng(seed).integers(0, len(v), (n_boot, len(v)))].mean(1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def stopping(outcomes, epochs: int) -> pd.DataFrame:
    """Per trained run: epochs run, the best epoch, and whether early stopping ended training or
    the ``epochs`` cap did."""
    rows = []
    for o in outcomes:
        h = o.history
        if not len(h):
            continue
        best = h[h.best.astype(bool)].epoch.max()
        rows.append({"row": o.variant, "seed": o.seed, "partition": o.partition, "epochs run": int(h.epoch.max()),
                     "best epoch": int(best), "ended by": "early stopping" if h.epoch.max() < epochs else "epoch cap"})
    return pd.DataFrame(rows)


def _run_values(exp, outcomes, metric, resolution, reduction):
    """``{(paper_dataset, paper_row): [(value, per-image values) per run]}`` of a test metric, each
    row on its own target (per-image values only for the lesion target's macro reduction)."""
    out: dict[tuple, list] = {}
    for o in outcomes:
        v = exp.spec.variant(o.variant)
        if not v.paper_row:
            continue
        p = exp.variant_params(v)
        m = select_metrics(o.metrics, metric=metric, resolution=resolution, reduction=reduction, target=p["target"])
        per = o.per_image
        images = (per[per.resolution == resolution][metric].to_numpy()
                  if reduction == "macro" and p["target"] == "lesion" and metric in per else None)
        out.setdefault((p["paper_dataset"], v.paper_row), []).extend((float(x), images) for x in m.value)
    return out


def reproduced_cell(runs) -> str:
    """Ours, as a table cell: mean ± sd over runs, or for one run its value with a 95 % bootstrap
    interval over images (when its per-image values are at hand)."""
    values = [x for x, _ in runs]
    if len(runs) == 1 and runs[0][1] is not None and len(runs[0][1]) > 1:
        lo, hi = bootstrap_ci(runs[0][1])
        return f"{values[0]:.4f} [{lo:.4f}, {hi:.4f}] (1 run, 95 % CI over {len(runs[0][1])} images)"
    return mean_sd(values)


def paper_table(exp, outcomes, metrics: tuple[str, ...], extra_rows: tuple[tuple[str, str], ...] = (),
                resolution: str = "original", reduction: str = "macro", data_used: dict | None = None) -> pd.DataFrame:
    """A paper's results table in its own shape: one line per (dataset block, row), for each
    metric the reported value (or "not entered") and ours (:func:`reproduced_cell`), and the
    difference of the means. Rows come from the spec's reported numbers, its variants, and
    ``extra_rows``: (block, row) pairs of the paper's table that are reported only (competitors)
    and have no value entered. ``data_used``: {block: what our runs of that block used}."""
    ours = {m: _run_values(exp, outcomes, m, resolution, reduction) for m in metrics}
    reported = {(r.paper_dataset, r.row, r.metric): r for r in exp.spec.reported}
    quoted_only = set(extra_rows) | {(r.paper_dataset, r.row) for r in exp.spec.reported if r.reported_only}
    keys = list(dict.fromkeys([(r.paper_dataset, r.row) for r in exp.spec.reported if r.metric in metrics]
                              + [(exp.variant_params(v)["paper_dataset"], v.paper_row) for v in exp.variants()
                                 if v.paper_row and not v.eval_of] + list(extra_rows)))
    lines = []
    for block, row in keys:
        line = {("", "block"): block or "", ("", "row"): row}
        for m in metrics:
            r = reported.get((block, row, m)) or reported.get((None, row, m))
            runs = ours[m].get((block, row), [])
            line[(m, "reported")] = ("not entered" if r is None else r.value if r.sd is None else f"{r.value} ± {r.sd}")
            line[(m, "reproduced")] = (reproduced_cell(runs) if runs else
                                       "reported only" if (block, row) in quoted_only else "not run")
            line[(m, "difference")] = (pd.Series([x for x, _ in runs]).mean() - r.value) if runs and r else float("nan")
        if data_used is not None:
            line[("", "data used")] = "" if (block, row) in quoted_only else data_used.get(block, "")
        lines.append(line)
    df = pd.DataFrame(lines)
    df.columns = pd.MultiIndex.from_tuples(df.columns)
    return df


def paired_difference(outcomes, a: str, b: str, metrics: tuple[str, ...], resolution: str = "original",
                      reduction: str = "macro", target: str = "lesion") -> pd.DataFrame:
    """Row ``a`` minus row ``b``, seed by seed (runs paired on partition and seed), per metric:
    each row's mean ± sd over the paired runs, the per-pair differences and their mean and sd."""
    def values(label):
        rows = {}
        for o in outcomes:
            if o.variant == label:
                m = select_metrics(o.metrics, resolution=resolution, reduction=reduction, target=target)
                rows[(o.partition, o.seed)] = m.set_index("metric").value
        return rows
    va, vb = values(a), values(b)
    pairs = sorted(set(va) & set(vb))
    if not pairs:
        raise KeyError(f"no runs of {a!r} and {b!r} share a partition and seed")
    out = []
    for m in metrics:
        d = pd.Series([va[k][m] - vb[k][m] for k in pairs])
        out.append({"metric": m, "pairs": len(pairs), "row": a, "row value": mean_sd([va[k][m] for k in pairs]),
                    "against": b, "against value": mean_sd([vb[k][m] for k in pairs]),
                    "difference per pair": ", ".join(f"{x:+.4f}" for x in d),
                    "difference mean": d.mean(), "difference sd": d.std(ddof=1) if len(d) > 1 else float("nan")})
    return pd.DataFrame(out)


def benchmarks(models, folder: str = "results/benchmarks") -> pd.DataFrame:
    """Every committed ``skinseg bench`` figure of ``models`` (all files in ``folder``), with the
    file, size, batch, device, precision and machine that go with it."""
    from skinseg.paths import resolve

    rows = []
    for f in sorted(resolve(folder).glob("*.csv")):
        df = pd.read_csv(f)
        if not {"model", "inference_img_s", "train_img_s"} <= set(df.columns):
            continue  # a speed-up or another benchmark's table
        df = df[df.model.isin(list(models))]
        if "precision" not in df:  # files written before precision was a column
            df = df.assign(precision="fp32", channels_last=df.get("amp_channels_last", False))
        rows.append(df.assign(file=f.name, size=df.height.astype(str) + "×" + df.width.astype(str)))
    cols = ["model", "size", "batch", "device", "precision", "channels_last", "inference_img_s", "train_img_s",
            "machine", "file"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)

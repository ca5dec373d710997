"""Reported against reproduced: a paper's numbers beside ours, in the paper's own table shape
(mean ± sd over runs, or a bootstrap interval over images for one run), and paired comparisons of
rows run by run (seeds or folds) with t intervals."""
from __future__ import annotations

import numpy as np
import pandas as pd

from skinseg.results import metric_value, select_metrics


def dataset_used(exp, variant=None) -> str:
    """The data a row ran on, as a table cell: stand-in, the images its runs trained, selected and
    were scored on (:func:`split_sizes`) and which source split the test images are, source size,
    input size."""
    from skinseg.data.io import image_size

    data, p = exp.data(variant), exp.variant_params(variant) if variant else exp.params
    sizes = {image_size(s.image) for s in data.samples.values()}  # headers only
    src = f"{'×'.join(map(str, next(iter(sizes))))} source" if len(sizes) == 1 else "mixed-size source"
    # a held-out protocol's note says which source split the test images are; the K-fold note only repeats the counts
    tested = f", {data.note}" if data.note and p["protocol"] != "kfold" else ""
    return (f"{data.label}; {split_sizes(data, p['protocol'] == 'kfold')}{tested}; {src}, "
            f"{p['image_height']}×{p['image_width']} input")


def split_sizes(data, folds: bool = False) -> str:
    """Images per split as used, e.g. ``"210 train / 90 val / 150 test"``; over several partitions
    ``"5 folds of 1,547–1,549 train / ..."`` (a range where they differ). The dataset label names the
    source splits the images came from, which can differ (a test set carved from a training pool)."""
    c = data.counts()
    c = c.fillna(0).astype({s: int for s in ("train", "val", "test") if s in c})  # a partition without a split: 0
    span = {s: f"{c[s].min():,}" if c[s].min() == c[s].max() else f"{c[s].min():,}–{c[s].max():,}"
            for s in ("train", "val", "test") if s in c}
    sizes = " / ".join(f"{n} {s}" for s, n in span.items())
    return sizes if len(c) == 1 else f"{len(c)} {'folds' if folds else 'partitions'} of {sizes}"


def counted(n: int, word: str) -> str:
    """``"1 seed"``, ``"3 seeds"``: ``n`` and ``word``, plural unless ``n`` is 1."""
    return f"{n} {word}" + ("s" if n != 1 else "")


def mean_sd(values) -> str:
    """``"mean ± sd (n=k)"`` of ``values`` (sample sd, ddof 1; 4 decimals), or the value alone for one."""
    v = pd.Series(values, dtype=float)
    return f"{v.mean():.4f}" if len(v) == 1 else f"{v.mean():.4f} ± {v.std(ddof=1):.4f} (n={len(v)})"


def reproduced_values(exp, r, outcomes, resolution, reduction) -> list:
    """Our values of reported number ``r``: parameter counts; per-epoch values from the history
    (``epoch`` set: the column :func:`history_column` names, on the trained target); else test
    metrics of the row's own target."""
    if r.metric == "parameters":
        return sorted({o.parameters for o in outcomes})
    out = []
    for o in outcomes:
        if r.epoch is not None:
            h = o.history[o.history.epoch == r.epoch] if len(o.history) else o.history
            col = history_column(r.metric, r.split, h)
            if len(h) and col in h:
                out.append(float(h[col].iloc[0]))
            continue
        target = exp.variant_params(o.variant)["target"]
        m = select_metrics(o.metrics, metric=r.metric, resolution=resolution, reduction=reduction, target=target)
        if len(m):
            out.append(float(m.value.iloc[0]))
    return out


def bootstrap_ci(values, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (e.g. per-image Jaccard of one run)."""
    v = np.asarray(values, dtype=float)
    means = v[np.random.default_rng(seed).integers(0, len(v), (n_boot, len(v)))].mean(1)
    a = (1 - level) / 2
    return float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def bootstrap_pooled_ci(counts, metric: str, level: float = 0.95, n_boot: int = 2000,
                        seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of a pooled (micro) ``metric`` of one run: its test images are
    resampled, and their confusion counts ``(N, 4)``, TP, TN, FP, FN, summed anew each time."""
    from skinseg.metrics import metrics_from_confusion

    cm = np.asarray(counts, dtype=np.float64).reshape(-1, 4)
    idx = np.random.default_rng(seed).integers(0, len(cm), (n_boot, len(cm)))
    values = metrics_from_confusion(cm[idx].sum(1))[metric]
    a = (1 - level) / 2
    return float(np.quantile(values, a)), float(np.quantile(values, 1 - a))


def paired_runs(outcomes, a: str, b: str) -> list[tuple]:
    """The runs of rows ``a`` and ``b`` that share a partition and seed, as ``((partition, seed),
    run of a, run of b)`` in that order; KeyError when there is none."""
    def runs(label):
        return {(o.partition, o.seed): o for o in outcomes if o.variant == label}
    ra, rb = runs(a), runs(b)
    pairs = sorted(set(ra) & set(rb))
    if not pairs:
        raise KeyError(f"no runs of {a!r} and {b!r} share a partition and seed")
    return [(key, ra[key], rb[key]) for key in pairs]


def paired_values(outcomes, a: str, b: str, metric: str, *, resolution: str = "original",
                  reduction: str = "macro", target: str = "lesion") -> list[tuple]:
    """``((partition, seed), value of a, value of b)`` for each pair of :func:`paired_runs` whose
    two metrics tables both hold ``metric`` (a pair where either lacks it says nothing about the
    difference, so it is left out); KeyError when the rows share no run."""
    out = []
    for key, oa, ob in paired_runs(outcomes, a, b):
        va, vb = (metric_value(o.metrics, metric, target=target, resolution=resolution, reduction=reduction)
                  for o in (oa, ob))
        if np.isfinite(va) and np.isfinite(vb):
            out.append((key, va, vb))
    return out


def fold_correlation(outcomes, a: str, b: str, metric: str = "jaccard") -> float:
    """Pearson correlation of rows ``a`` and ``b``'s values of ``metric`` over their paired runs
    (:func:`paired_values`: folds or seeds); NaN with fewer than three pairs or no spread."""
    pairs = paired_values(outcomes, a, b, metric)
    if len(pairs) < 3:
        return float("nan")
    x, y = np.array([p[1] for p in pairs]), np.array([p[2] for p in pairs])
    if x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def paired_difference(outcomes, a: str, b: str, metrics: tuple[str, ...], resolution: str = "original",
                      reduction: str = "macro", target: str = "lesion",
                      test_train_ratio: float | None = None) -> pd.DataFrame:
    """Row ``a`` minus row ``b``, run by run (paired on partition and seed: seeds, or folds), per
    metric: each row's mean ± sd over the paired runs, the per-pair differences, their mean and
    sd, the 95 % confidence interval of the mean difference (Student t, pairs - 1 degrees of
    freedom) and the two-sided paired t-test's p (NaN with fewer than two pairs). Pairs are those
    of :func:`paired_values`, so ``pairs`` counts, per metric, the pairs that hold it.

    ``test_train_ratio``: for pairs that are cross-validation folds, whose training sets overlap
    so their differences are not independent, the corrected resampled t of Nadeau & Bengio (2003):
    the variance of the mean is sd² (1/pairs + n_test/n_train) instead of sd²/pairs (for K folds
    n_test/n_train is about 1/(K-1), more where part of the training folds validates:
    :func:`skinseg.verdicts.fold_test_train_ratio`). None: the plain paired t (independent seeds)."""
    out = []
    for m in metrics:
        pairs = paired_values(outcomes, a, b, m, resolution=resolution, reduction=reduction, target=target)
        va, vb = [x for _, x, _ in pairs], [y for _, _, y in pairs]
        d = pd.Series([x - y for x, y in zip(va, vb)], dtype=float)
        lo, hi, p = _paired_t(d.to_numpy(), test_train_ratio=test_train_ratio)
        out.append({"metric": m, "pairs": len(pairs), "row": a, "row value": mean_sd(va) if va else "–",
                    "against": b, "against value": mean_sd(vb) if vb else "–",
                    "difference per pair": ", ".join(f"{x:+.4f}" for x in d),
                    "difference mean": d.mean() if len(d) else float("nan"),
                    "difference sd": d.std(ddof=1) if len(d) > 1 else float("nan"),
                    "95 % CI low": lo, "95 % CI high": hi, "paired t p": p})
    return pd.DataFrame(out)


def _paired_t(d: np.ndarray, level: float = 0.95, test_train_ratio: float | None = None
              ) -> tuple[float, float, float]:
    """t interval of the mean of differences ``d`` and the two-sided p of the paired t-test
    (corrected resampled t with ``test_train_ratio``: see :func:`paired_difference`). NaN with
    fewer than two differences, and p NaN when all differences are equal (no spread to test)."""
    from scipy import stats

    n = len(d)
    if n < 2:
        return float("nan"), float("nan"), float("nan")
    se = d.std(ddof=1) * np.sqrt(1 / n + (test_train_ratio or 0.0))
    if se == 0:
        return float(d.mean()), float(d.mean()), float("nan")
    half = stats.t.ppf((1 + level) / 2, n - 1) * se
    p = 2 * stats.t.sf(abs(d.mean()) / se, n - 1)
    return float(d.mean() - half), float(d.mean() + half), float(p)


def ordering_verdict(diff: pd.DataFrame, claimed_sign: int = 1) -> pd.Series:
    """Per line of :func:`paired_difference`: does the paired 95 % interval say row > against
    (``claimed_sign`` 1) or row < against (-1), the opposite, or neither (interval covers 0)? A
    statement about our runs only, uncorrected for the number of rows compared."""
    def one(r):
        if r["pairs"] < 2:
            return "too few pairs to tell"
        if r["95 % CI low"] > 0 or r["95 % CI high"] < 0:
            sign = 1 if r["95 % CI low"] > 0 else -1
            held = "holds" if sign == claimed_sign else "reversed"
            return f"ordering {held} in our runs (95 % interval excludes 0)"
        return "not shown in our runs (95 % interval covers 0)"
    return pd.Series([one(r) for r in diff.to_dict("records")], index=diff.index, dtype=object)


def history_column(metric: str, split: str, history: pd.DataFrame | None = None) -> str:
    """The history column of a per-epoch ``metric`` on ``split`` (train | val): ``<split>_<metric>``
    (e.g. ``train_jaccard``, ``train_dice_loss``), or for a loss the history lacks, the split's
    training-objective loss ``<split>_loss``."""
    col = f"{split}_{metric}"
    if metric.endswith("_loss") and (history is None or col not in history):
        return f"{split}_loss"
    return col


def _epoch_values(histories, epoch: int, metric: str, split: str) -> list[float]:
    out = []
    for h in histories:
        col = history_column(metric, split, h)
        if (h.epoch == epoch).any() and col in h:
            out.append(float(h.loc[h.epoch == epoch, col].iloc[0]))
    return out


def epoch_table(exp, outcomes, metric: str, rows: dict[str, str], splits: tuple[str, ...] = ("train", "val")
                ) -> pd.DataFrame:
    """A paper's per-epoch column ``metric`` beside ours: one line per reported epoch; the paper's
    value; for each of our ``rows`` ({row label: short name}) and ``splits`` the history's column
    (:func:`history_column`; the row's trained target) as mean ± sd over seeds (strings; "not run"
    where no run has that epoch); and ``ours - paper`` for the paper's own row (the spec's main row)
    on the split the paper's number is on (floats; NaN where not run)."""
    reported = sorted((r for r in exp.spec.reported if r.epoch is not None and r.metric == metric),
                      key=lambda r: r.epoch)
    main = next(v.label for v in exp.spec.variants if v.main)
    runs = {label: [o.history for o in outcomes if o.variant == label and len(o.history)]
            for label in [*rows, main]}
    lines = []
    for r in reported:
        line = {"epoch": r.epoch, "paper": r.value}
        for label, name in rows.items():
            for split in splits:
                vals = _epoch_values(runs[label], r.epoch, metric, split)
                line[f"{name}·{split}"] = mean_sd(vals) if vals else "not run"
        own = _epoch_values(runs[main], r.epoch, metric, r.split)
        line[f"ours - paper ({rows.get(main, main)}·{r.split})"] = np.mean(own) - r.value if own else float("nan")
        lines.append(line)
    return pd.DataFrame(lines).set_index("epoch")

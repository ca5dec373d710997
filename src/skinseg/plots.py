"""Figures for the notebooks (matplotlib; each returns the Figure)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import pandas as pd
import torch

from skinseg.losses import foreground_prob
from skinseg.tables import history_column
from skinseg.transforms import image_batch


def _message(text: str):
    """A small figure that says why there is nothing to draw (e.g. no finished run yet)."""
    fig, ax = plt.subplots(figsize=(4.5, 1), dpi=72)
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True)
    ax.axis("off")
    return fig


def _contour(ax, mask, color):
    if mask.any() and not mask.all():
        ax.contour(mask.astype(float), levels=[0.5], colors=[color], linewidths=1.2)


def overlays(samples, cache, size, n: int = 6, title: str = ""):
    """The first ``n`` samples at training size with their truth contour (green)."""
    n = min(n, len(samples))
    fig, axes = plt.subplots(1, n, figsize=(2.2 * n, 2.4), squeeze=False, dpi=72)
    for ax, s in zip(axes[0], samples[:n]):
        ax.imshow(cache.image(s.image, size))
        _contour(ax, cache.mask(s.mask, size), "lime")
        ax.set_title(s.id, fontsize=7)
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def curves(histories: dict[str, pd.DataFrame]):
    """Training loss and validation Jaccard per epoch, one line per run (label -> history)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3), dpi=72)
    for name, h in histories.items():
        a.plot(h.epoch, h.train_loss, marker=".", label=name)
        b.plot(h.epoch, h.val_jaccard, marker=".", label=name)
    a.set(xlabel="epoch", ylabel="training loss")
    b.set(xlabel="epoch", ylabel="validation Jaccard (macro)")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


@torch.no_grad()
def _predicted_mask(model, img, normalization: str, target: str = "lesion"):
    """``model``'s mask of ``img`` (``(H, W, 3) uint8``) at probability 0.5, on the model's device,
    as a CPU ``(H, W)`` bool array; ``target="background"``: the model finds the background, so its
    lesion is the complement."""
    device = next(model.parameters()).device
    prob = foreground_prob(model(image_batch(img, normalization).to(device)).float())[0, 0].cpu()
    return ((1 - prob) if target == "background" else prob).numpy() > 0.5


def best_and_worst(model, samples, cache, size, per_image: pd.DataFrame, n: int = 3, metric: str = "jaccard",
                   normalization: str = "imagenet", target: str = "lesion"):
    """Test images with the highest and lowest per-image ``metric``: truth (green)
    and prediction (magenta) contours."""
    df = per_image.sort_values(metric)
    picks = list(df.tail(n).image_id[::-1]) + list(df.head(n).image_id)
    by_id = {s.id: s for s in samples}
    fig, axes = plt.subplots(1, len(picks), figsize=(2.2 * len(picks), 2.5), squeeze=False, dpi=72)
    for ax, i in zip(axes[0], picks):
        s = by_id[i]
        img = cache.image(s.image, size)
        ax.imshow(img)
        _contour(ax, cache.mask(s.mask, size), "lime")
        _contour(ax, _predicted_mask(model, img, normalization, target), "magenta")
        ax.set_title(f"{i}\n{metric} {float(df.set_index('image_id').loc[i, metric]):.2f}", fontsize=7)
        ax.axis("off")
    fig.suptitle(f"best {n} and worst {n} test images (green: truth, magenta: prediction)", fontsize=9)
    fig.tight_layout()
    return fig


def gallery(samples, models: dict, cache, size, scores: pd.DataFrame, normalization: str = "imagenet",
            target: str = "lesion"):
    """One row per image of ``scores`` (index: image id; one column per model label, its per-image
    Jaccard, mean over the model's seeds), one column per model of ``models`` ({label: model in
    eval mode, or None when its checkpoint is not here}): the image at network size with the truth
    (green) and that model's prediction (magenta: the given weights, e.g. its first seed's). A model
    without a checkpoint here gets no column (no panel without a prediction); none with one: a
    message saying so (the scores table beside the figure still lists every model)."""
    by_id = {s.id: s for s in samples}
    ids = [i for i in scores.index if i in by_id]
    if not ids or not models:
        return _message("no image or model to show")
    absent = [label for label, model in models.items() if model is None]
    models = {label: model for label, model in models.items() if model is not None}
    if not models:
        return _message("no model's checkpoint is on this machine (they are not committed): no prediction to draw; "
                        "the table lists each model's Jaccard on these images")
    fig, axes = plt.subplots(len(ids), len(models), figsize=(1.6 * len(models), 1.7 * len(ids)), squeeze=False,
                             dpi=72)
    for r, i in enumerate(ids):
        img, truth = cache.image(by_id[i].image, size), cache.mask(by_id[i].mask, size)
        for c, (label, model) in enumerate(models.items()):
            ax = axes[r, c]
            ax.imshow(img)
            _contour(ax, truth, "lime")
            if model is not None:
                _contour(ax, _predicted_mask(model, img, normalization, target), "magenta")
            score = scores.loc[i, label] if label in scores else float("nan")
            ax.set_title(f"{label}: J {score:.2f}", fontsize=6)
            ax.axis("off")
        axes[r, 0].text(-0.05, 0.5, i, transform=axes[r, 0].transAxes, rotation=90, ha="right", va="center",
                        fontsize=6)
    fig.suptitle("green: truth; magenta: the model's prediction (best-on-validation weights, first seed); "
                 "J: Jaccard at original resolution, mean over seeds"
                 + (f"\nnot drawn (no checkpoint here): {', '.join(absent)}" if absent else ""), fontsize=8)
    fig.tight_layout()
    return fig


def jaccard_distribution(per_image: pd.DataFrame, by: str = "variant", metric: str = "jaccard"):
    """Per-image ``metric`` at each resolution, one box per ``by`` value and resolution."""
    groups = [(f"{k}\n{res} res.", df[metric].to_numpy()) for (k, res), df in
              per_image.groupby([by, "resolution"], sort=False)]
    if not groups:
        return _message("no per-image scores yet")
    fig, ax = plt.subplots(figsize=(max(4, 1.6 * len(groups)), 3), dpi=72)
    ax.boxplot([g[1] for g in groups], showmeans=True)
    ax.set_xticks(range(1, len(groups) + 1), [g[0] for g in groups], fontsize=7)
    ax.set(ylabel=f"per-image {metric}", ylim=(-0.02, 1.02))
    fig.tight_layout()
    return fig


def resolution_gap(per_image: pd.DataFrame, metric: str = "jaccard"):
    """Histogram of per-image (original - training resolution) ``metric``, one series per variant."""
    fig, ax = plt.subplots(figsize=(5, 3), dpi=72)
    for label, df in per_image.groupby("variant", sort=False):
        wide = df.pivot_table(index=["seed", "image_id"], columns="resolution", values=metric)
        ax.hist(wide["original"] - wide["training"], bins=40, alpha=0.6, label=label)
    ax.axvline(0, color="k", lw=0.8)
    ax.set(xlabel=f"{metric}: original minus training resolution (per image)", ylabel="images")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def probability_maps(image, prob_train: torch.Tensor, prob_up: torch.Tensor, truth, title: str = ""):
    """One image: its probability map at training resolution, the same map upsampled to the
    original mask's size, and both thresholded at 0.5 against the truth (green)."""
    fig, axes = plt.subplots(1, 4, figsize=(11, 2.9), dpi=72)
    axes[0].imshow(image)
    axes[0].set_title("input (training size)", fontsize=8)
    for ax, p, name in ((axes[1], prob_train, "training res."), (axes[2], prob_up, "upsampled (original res.)")):
        ax.imshow(p, cmap="magma", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"p(lesion), {name}\n{float((p > 0.5).float().mean()):.3f} of pixels > 0.5", fontsize=8)
    crop = prob_train[: prob_train.shape[0] // 4, : prob_train.shape[1] // 4]
    axes[3].imshow(crop, cmap="magma", vmin=0, vmax=1, interpolation="nearest")
    axes[3].set_title("top-left 1/16 at training res.\n(pixel-level alternation)", fontsize=8)
    _contour(axes[2], truth, "lime")
    for ax in axes:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def epoch_curves(reported, histories: dict[str, list[pd.DataFrame]], paper_label: str = "paper"):
    """A paper's per-epoch numbers against ours on one figure, one panel per reported metric
    (``Reported`` with ``epoch``); ours per row (label -> histories over seeds): the mean over seeds
    of the training (solid) and validation (dashed) columns, with a min-max band over seeds."""
    metrics = list(dict.fromkeys(r.metric for r in reported if r.epoch is not None))
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), dpi=72, squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        pts = sorted((r.epoch, r.value) for r in reported if r.metric == metric and r.epoch is not None)
        ax.plot(*zip(*pts), "k-o", ms=4, lw=2, label=paper_label)
        for (label, hs), color in zip(histories.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"]):
            for split, style in (("train", "-"), ("val", "--")):
                hs_ok = [h.set_index("epoch")[history_column(metric, split, h)] for h in hs
                         if history_column(metric, split, h) in h]
                if not hs_ok:
                    continue
                wide = pd.concat(hs_ok, axis=1)
                ax.plot(wide.index, wide.mean(1), style, color=color, label=f"{label}, {split}")
                if wide.shape[1] > 1:
                    ax.fill_between(wide.index, wide.min(1), wide.max(1), color=color, alpha=0.15)
        ax.set(xlabel="epoch", ylabel=metric.replace("_", " "))
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return fig


def pareto(table: pd.DataFrame, score: str = "jaccard mean", costs=("GFLOPs", "training minutes per run")):
    """Score against each cost, one point per model (labelled), with the models on the Pareto front
    (no other model both cheaper and better) joined."""
    costs = [c for c in costs if c in table and table[c].notna().any()]
    if not costs or score not in table or table[score].isna().all():  # models listed, none finished
        return _message("no finished run to place")
    fig, axes = plt.subplots(1, len(costs), figsize=(4.5 * len(costs), 3.4), dpi=72, squeeze=False)
    for ax, cost in zip(axes[0], costs):
        t = table.dropna(subset=[cost, score]).sort_values(cost)
        ax.scatter(t[cost], t[score])
        for i, r in t.iterrows():
            ax.annotate(r["model"], (r[cost], r[score]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        front = t[t[score] >= t[score].cummax()]
        ax.plot(front[cost], front[score], "k--", lw=0.8, label="Pareto front")
        ax.set(xlabel=cost, ylabel=score.replace(" mean", " (mean over seeds)"), xscale="log")
        # within a decade matplotlib labels every minor tick, and they overlap: label 1-2-5 steps only
        ax.xaxis.set_major_locator(mticker.LogLocator(subs=(1, 2, 5)))
        ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda x, _: f"{x:g}"))
        ax.xaxis.set_minor_formatter(mticker.NullFormatter())
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def reported_vs_reproduced(verdicts: pd.DataFrame, max_value: float = 1.5, width_in: float = 12.0,
                           dpi: int = 100):
    """A forest plot per paper, the panels stacked (one column, ``width_in`` inches at ``dpi``: 1,200 px,
    shown unscaled in a page 1,300 px wide, so its 9-point labels stay 9 points): each reported number
    (red cross) beside our mean with the verdict's 95 % interval (error bar: the prediction interval over
    our runs; for one run, the bootstrap interval over its test images; none where nothing gives an
    interval), one line per table row and metric, each panel as tall as its lines.
    Lines whose reported value is text (claims) or outside ``[0, max_value]`` (counts, images per
    second: another scale) are left out, as are lines with no run of ours."""
    reported = pd.to_numeric(verdicts.reported, errors="coerce")
    t = verdicts.assign(reported=reported, ours_mean=reported + verdicts.difference)
    t = t[reported.between(0, max_value) & t.ours_mean.notna()].copy()
    if not len(t):
        return _message("no reported number has a run of ours yet")
    epoch = t.epoch.astype(str)
    t["line"] = t.row + " · " + t.metric + epoch.map(lambda e: f" (epoch {e})" if e else "")
    same = t.duplicated(["paper", "line"], keep=False)  # e.g. one row in two dataset blocks of a table
    if "where" in t:  # and the dataset block, where a table reports several
        block = t["block"].fillna("").astype(str) if "block" in t else pd.Series("", index=t.index)
        t.loc[same, "line"] = t["where"].astype(str) + block.map(lambda b: f" [{b}]" if b else "") + ": " + t["line"]
    papers = list(dict.fromkeys(t.paper))
    heights = [0.24 * (t.paper == p).sum() + 0.8 for p in papers]  # inches: the lines, plus title and axis
    legend = 0.5  # inches under the panels
    fig, axes = plt.subplots(len(papers), 1, figsize=(width_in, sum(heights) + legend), dpi=dpi, squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    for ax, paper in zip(axes[:, 0], papers):
        data = t[t.paper == paper]
        y = list(range(len(data)))
        lo = (data.ours_mean - data["interval low"]).clip(lower=0).fillna(0)
        hi = (data["interval high"] - data.ours_mean).clip(lower=0).fillna(0)
        ax.errorbar(data.ours_mean, y, xerr=[lo, hi], fmt="o", ms=4, color="tab:blue", capsize=2,
                    label="ours: mean, 95 % interval (see the verdicts)")
        ax.scatter(data.reported, y, marker="x", s=30, color="tab:red", zorder=3, label="reported")
        ax.set_yticks(y, data.line.tolist(), fontsize=9)
        ax.set_ylim(len(data) - 0.5, -0.5)  # the table's order, top down
        ax.tick_params(axis="x", labelsize=9)
        ax.grid(axis="x", alpha=0.3)
        ax.set_title(paper, fontsize=10, loc="left")
    axes[-1, 0].set_xlabel("value", fontsize=9)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False, fontsize=9)
    fig.tight_layout(rect=(0, legend / (sum(heights) + legend), 1, 1))
    return fig

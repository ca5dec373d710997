"""Checks of reported numbers against each other: which reduction can a table's Jaccard and
Dice columns come from?

Per image, Dice = 2·J / (1 + J). For pooled (micro) metrics the identity holds for the
pooled values exactly. For means over images it does not: f(J) = 2J / (1 + J) is concave, so by
Jensen's inequality mean Dice <= f(mean Jaccard), with a gap that grows with the spread of
per-image Jaccard. A printed row whose Dice sits below f(Jaccard) by more than rounding
allows is therefore a mean over images; one within rounding of f(Jaccard) is consistent with
pooled metrics (or with per-image means of a narrow spread); one above it is consistent with
neither (e.g. the columns come from different runs or image sets).
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from skinseg.paths import display
from skinseg.results import recorded_weights_sha256, select_metrics, write_json
from skinseg.tables import paired_runs

POOLED = "pooled (micro), or per-image mean with little spread"
PER_IMAGE = "per-image mean (macro); not pooled"
NEITHER = "neither: Dice above 2J/(1+J)"


def dice_from_jaccard(j):
    """Dice of a Jaccard value (elementwise): ``2 j / (1 + j)``."""
    return 2 * j / (1 + j)


def reduction_consistency(jaccard: float, dice: float, decimals: int) -> dict:
    """What a printed (Jaccard, Dice) pair with ``decimals`` decimals (of fractions: 0.784 has 3)
    is consistent with. Returns the interval of 2J/(1+J) that the rounded Jaccard allows, the
    gap ``dice - f(jaccard)`` and the verdict (:data:`POOLED`, :data:`PER_IMAGE`, :data:`NEITHER`)."""
    h = 0.5 * 10 ** -decimals
    lo, hi = dice_from_jaccard(jaccard - h), dice_from_jaccard(min(jaccard + h, 1.0))
    if dice + h < lo:
        verdict = PER_IMAGE
    elif dice - h > hi:
        verdict = NEITHER
    else:
        verdict = POOLED
    return {"f(J) low": lo, "f(J) high": hi, "DIC - f(JAC)": dice - dice_from_jaccard(jaccard), "consistent with": verdict}


def reported_reductions(reported, decimals: int) -> pd.DataFrame:
    """:func:`reduction_consistency` for every row of a paper's reported numbers that has both a
    Jaccard and a Dice value (per dataset block); ``reported`` is a spec's ``Reported`` tuple."""
    rows: dict[tuple, dict] = {}
    for r in reported:
        if r.metric in ("jaccard", "dice"):
            rows.setdefault((r.paper_dataset, r.where, r.row), {})[r.metric] = r
    out = []
    for (block, where, row), m in rows.items():
        if {"jaccard", "dice"} <= m.keys():
            j, d = m["jaccard"], m["dice"]
            out.append({"block": block, "where": where, "row": row, "reported only": j.reported_only,
                        "JAC": j.value, "DIC": d.value, "2·JAC/(1+JAC)": dice_from_jaccard(j.value),
                        **reduction_consistency(j.value, d.value, decimals)})
    return pd.DataFrame(out)


def jensen_gap(outcomes, variant: str | None = None, resolution: str = "original") -> pd.DataFrame:
    """On our own runs: per-image mean Jaccard and Dice, pooled Jaccard and Dice, f(mean J) -
    mean Dice (Jensen's gap) and pooled minus per-image mean Jaccard, one row per run."""
    rows = []
    for o in outcomes:
        if variant is not None and o.variant != variant:
            continue
        m = select_metrics(o.metrics, target="lesion", resolution=resolution).set_index(["reduction", "metric"]).value
        jm, dm, jp, dp = m["macro", "jaccard"], m["macro", "dice"], m["micro", "jaccard"], m["micro", "dice"]
        rows.append({"variant": o.variant, "seed": o.seed, "JAC per-image mean": jm, "DIC per-image mean": dm,
                     "JAC pooled": jp, "DIC pooled": dp, "f(mean JAC) - mean DIC": dice_from_jaccard(jm) - dm,
                     "pooled - per-image JAC": jp - jm})
    return pd.DataFrame(rows)



def stated_differences(claims, reported, tolerance: float, metric: str = "jaccard", n: int = 5) -> pd.DataFrame:
    """A paper's text against its own table, and what its spreads allow.

    ``claims``: ``(row, reference, stated)`` triples, the text saying ``row`` is ``stated``
    below ``reference`` (in the table's units), or ``stated`` None for two rows of the table the
    text gives no difference for (their spreads are checked alike); ``reported``: the spec's ``Reported`` tuple,
    mean ± sd over ``n`` runs (folds); ``tolerance``: how far the text may be from the table's
    difference (half the last printed digit). Per claim: the table's own difference, whether the
    text matches it, Welch's unpaired t-test from the printed means and sds (all a reader can do:
    per-fold values are not printed), and what a paired test over the same ``n`` folds would
    need for p < 0.05: the largest sd of the per-fold differences, and the fold-to-fold
    correlation of the two rows that this sd implies (above 1: no correlation is enough; below -1:
    any will do), for the plain paired t and for the corrected resampled t of Nadeau & Bengio that
    folds call for (their training sets overlap: variance of the mean sd² (1/n + 1/(n-1))). The
    printed sds are taken as sample sds (ddof 1) over the ``n`` folds; a paper that printed
    population sds (ddof 0) would make every p here slightly too small."""
    from scipy import stats

    table = {r.row: r for r in reported if r.metric == metric}
    out = []
    for row, ref, stated in claims:
        text = (f"{row} is {stated:g} below {ref}" if stated is not None
                else f"{row} below {ref} (the table's rows; the text states no number)")
        a, b = table[row], table[ref]
        diff, sa, sb = b.value - a.value, a.sd or 0.0, b.sd or 0.0
        va, vb = sa ** 2 / n, sb ** 2 / n
        se = (va + vb) ** 0.5
        dof = (va + vb) ** 2 / (va ** 2 / (n - 1) + vb ** 2 / (n - 1)) if se else float("nan")
        def correlation(sd_needed):  # var(a - b) = sa² + sb² - 2 rho sa sb
            return (sa ** 2 + sb ** 2 - sd_needed ** 2) / (2 * sa * sb) if sa and sb else float("nan")

        t_crit = stats.t.ppf(0.975, n - 1)
        plain = abs(diff) / (t_crit * (1 / n) ** 0.5)
        corrected = abs(diff) / (t_crit * (1 / n + 1 / (n - 1)) ** 0.5)
        out.append({"claim": text, "row": row, "reference": ref,
                    "stated": float("nan") if stated is None else stated, "table difference": diff,
                    "text matches table": None if stated is None else abs(diff - stated) <= tolerance,
                    "row sd": sa, "reference sd": sb,
                    "Welch t-test p (table's mean ± sd)": 2 * stats.t.sf(abs(diff) / se, dof) if se else float("nan"),
                    "paired: sd of differences needed": plain, "paired: fold correlation needed": correlation(plain),
                    "corrected paired: sd of differences needed": corrected,
                    "corrected paired: fold correlation needed": correlation(corrected)})
    return pd.DataFrame(out)


def needed_correlation(rho: float) -> str:
    """A "fold correlation needed" value of :func:`stated_differences` in words: below -1 any
    correlation will do, above 1 none is enough, else the value."""
    return "any (needed < −1)" if rho < -1 else "none suffices (needed > 1)" if rho > 1 else f"{rho:.2f}"


def claims_for_reading(claims: pd.DataFrame) -> pd.DataFrame:
    """:func:`stated_differences` with its fold-correlation columns in words (:func:`needed_correlation`):
    a "correlation" of -36 is only the arithmetic's way of saying that any correlation will do."""
    cols = [c for c in claims.columns if c.endswith("fold correlation needed")]
    return claims.assign(**{c: claims[c].map(needed_correlation) for c in cols})


def spread_sentence(claim: dict, our_correlation: float | None = None) -> str:
    """One sentence on whether a row of :func:`stated_differences` can be called an improvement:
    the table's difference (and whether the text's stated one matches it), Welch's p from the
    table's mean ± sd, the fold-to-fold correlation a corrected paired test
    would need, and, where given, the correlation of the same two rows' per-fold values in our own
    runs (:func:`skinseg.tables.fold_correlation`; another budget and stand-in data, so it only
    says whether such a correlation is plausible)."""
    p = claim["Welch t-test p (table's mean ± sd)"]
    rho = claim["corrected paired: fold correlation needed"]
    matches = claim["text matches table"]
    text = "" if matches is None else f" (the text's {100 * claim['stated']:.2f} {'matches' if matches else 'does NOT match'})"
    verdict = "the spreads alone would show it" if p < 0.05 else "the spreads alone are not enough to show it"
    head = (f"{claim['claim']}: {100 * claim['table difference']:.2f} points in the table{text}; from its mean ± sd, "
            f"Welch p = {p:.2g} (unpaired, as if the folds were independent), so {verdict}")
    if rho > 1:
        return head + "; no fold-to-fold correlation would let a corrected paired test over five folds reach p < 0.05."
    if rho < -1:
        return head + "; a corrected paired test over five folds reaches p < 0.05 whatever the folds' correlation."
    need = f"; a corrected paired test over five folds needs the rows to correlate at least {rho:.2f} from fold to fold"
    if our_correlation is None or not np.isfinite(our_correlation):
        return head + need + "."
    return (head + need + f"; in our runs the two rows correlate {our_correlation:.2f}, "
            + ("as much or more." if our_correlation >= rho else "less than that."))


def dilated_taps_inside(height: int, width: int, dilation: int, kernel: int = 3) -> float:
    """How many of a ``kernel`` × ``kernel`` convolution's taps at ``dilation`` land on a
    ``height`` × ``width`` feature map rather than on its zero padding, averaged over the output
    pixels: ``kernel**2`` when the map is large enough, 1 when every off-centre tap falls outside
    (the dilated convolution is then a 1×1 one). The product of the per-axis means (the axes are
    independent)."""
    offsets = (np.arange(kernel) - kernel // 2) * dilation

    def axis(n):
        pos = np.arange(n)[:, None] + offsets[None, :]
        return float(((pos >= 0) & (pos < n)).sum(axis=1).mean())
    return axis(height) * axis(width)


def dilation_reach(input_sizes: dict, dilations=(1, 2, 4), stride: int = 32, kernel: int = 3) -> pd.DataFrame:
    """Per dilation (rows) and named input size (columns, ``{name: (height, width)}``): the taps of a
    dilated ``kernel`` × ``kernel`` convolution on the encoder's last feature map (input / ``stride``)
    that see the map, of ``kernel**2`` (:func:`dilated_taps_inside`)."""
    cols = {}
    for name, (h, w) in input_sizes.items():
        fh, fw = h // stride, w // stride
        cols[f"{name}: {h}×{w} input, {fh}×{fw} map"] = [dilated_taps_inside(fh, fw, d, kernel) for d in dilations]
    return pd.DataFrame(cols, index=pd.Index(dilations, name=f"dilation (taps of {kernel * kernel} on the map)"))


ACTIVITY = "‖β·fused‖ / ‖x‖ (%)"
# kept in the run folder: the checkpoints are git-ignored, the run folders committed, so the
# figures of a measured run still print on a machine that never had its weights
ACTIVITY_FILE = "asm_activity.json"


def _measure_asm(model, images, device, normalization) -> tuple[float, float]:
    """``(β, 100·‖β·fused‖ / ‖x‖)`` of ``model.asm`` on ``images`` ``(N, 3, H, W)`` uint8, fp32."""
    import torch

    from skinseg.inference import prepare_images

    seen = {}
    hook = model.asm.register_forward_hook(lambda m, inp, out: seen.update(x=inp[0], added=out - inp[0]))
    try:
        with torch.no_grad():
            model.float()(prepare_images(images, device, normalization, False))
    finally:
        hook.remove()
    return float(model.asm.beta.detach().float()), 100 * float(seen["added"].norm() / seen["x"].norm())


def _kept_activity(run_path, n_images: int) -> tuple[dict, str | None]:
    """The run folder's :data:`ACTIVITY_FILE` as ``({n_images: {"beta", "activity_pct"}}, sha256
    of the weights they were measured on)``; empty when absent. Raises when it was measured on
    other weights than the folder's ``weights.json`` records (a re-trained run under an old file)."""
    f = run_path / ACTIVITY_FILE
    best = recorded_weights_sha256(run_path)
    if not f.is_file():
        return {}, best
    kept = json.loads(f.read_text())
    if kept.get("best_sha256") != best:
        raise ValueError(f"{display(f)} was measured on other weights than {display(run_path / 'weights.json')} "
                         f"records; delete it (its figures are measured again where the checkpoint is here, "
                         f"and print as NaN where it is not)")
    return {int(n): m for n, m in kept["by_n_images"].items()}, best


# the models with an adaptive scale module (ASNet and its two ablations inside the module)
ASM_MODELS = ("asnet", "asnet_wo_di", "asnet_wo_sa")
ASM_IMAGES = 16  # test images per measurement (the notebook's and train_runs' default)


def asm_rows(exp) -> list[str]:
    """Labels of ``exp``'s rows whose model has an adaptive scale module (:data:`ASM_MODELS`)."""
    return [v.label for v in exp.variants() if v.model in ASM_MODELS]


def run_asm_activity(exp, label: str, part: str, seed: int, n_images: int = ASM_IMAGES) -> dict | None:
    """One run's ``{"beta", "activity_pct"}`` (see :func:`asm_activity`): read from its run folder's
    :data:`ACTIVITY_FILE`, else measured on its best checkpoint and kept there with the sha256 of
    the weights measured (only where the folder's ``weights.json`` records one). ``None`` where the
    run is not finished under the current config, or neither the file nor the checkpoint is on this
    machine. Raises ``ValueError`` for a kept file of other weights and ``FileNotFoundError`` for a
    checkpoint that is not the run's (:meth:`Experiment.best_model`)."""
    from torch.utils.data import DataLoader, Subset

    trained = exp.spec.trained(label)  # an evaluation-only row: its trained row's weights
    if exp.run_status(trained, part, seed) != "finished":
        return None
    run_path = exp.run_dir(trained, part, seed).path
    kept, sha = _kept_activity(run_path, n_images)
    if n_images not in kept:
        model = exp.best_model(trained, part, seed)
        if model is None:
            return None
        p = exp.variant_params(trained)
        ds = exp.dataset(exp.data(trained), part, "test", p)
        images = next(iter(DataLoader(Subset(ds, range(min(n_images, len(ds)))), batch_size=n_images)))
        b, r = _measure_asm(model, images["image"], exp.params["device"], p["normalization"])
        kept[n_images] = {"beta": b, "activity_pct": r}
        if sha is not None:  # a measurement is kept only with the weights it belongs to
            write_json(run_path / ACTIVITY_FILE, {"best_sha256": sha, "by_n_images": kept})
    return kept[n_images]


def asm_activity(exp, rows, n_images: int = ASM_IMAGES) -> pd.DataFrame:
    """How much each run's adaptive scale module takes part, from its best checkpoint: the learned
    β (the module's output is ``x + β · fused``) and ``‖β · fused‖ / ‖x‖`` in %, the size of what
    the module adds relative to the encoder feature it refines (Frobenius norms over the
    partition's first ``n_images`` test images, fp32). One line per row of ``rows``; columns
    ``(quantity, partition)`` (first seed). β starts at 0, so the module adds nothing until
    training moves it, and rows that differ only inside the module (ASNet, w/o DI, w/o SA)
    compute the same function at the start: with a ratio near 0 their comparison says little
    about the module. Only finished runs of the current config count (``exp.run_status``). Each
    measurement is kept in the run folder (:data:`ACTIVITY_FILE`, per ``n_images``, with the
    sha256 of the weights it was measured on) and read from there where the checkpoint is gone
    (:func:`run_asm_activity`). NaN where neither is on this machine."""
    beta, ratio = {}, {}
    for label in rows:
        trained = exp.spec.trained(label)
        seed = exp.seeds(trained)[0]
        beta[label], ratio[label] = {}, {}
        for part in exp.partitions(trained):
            m = run_asm_activity(exp, label, part, seed, n_images) or {"beta": np.nan, "activity_pct": np.nan}
            beta[label][part], ratio[label][part] = m["beta"], m["activity_pct"]
    return pd.concat({"β": pd.DataFrame.from_dict(beta, orient="index"),
                      ACTIVITY: pd.DataFrame.from_dict(ratio, orient="index")}, axis=1).rename_axis("row")


def asm_activity_sentence(activity: pd.DataFrame, small: float = 5.0) -> str:
    """One sentence on an :func:`asm_activity` table: over the runs measured, the largest
    |β| and the median and largest ``‖β·fused‖ / ‖x‖``; when even the largest is below ``small``
    % (the module changes the feature it refines by less than that share of its size), it says
    the module hardly takes part, so the rows that differ only inside it say little about it."""
    ratio = activity[ACTIVITY].to_numpy().ravel()
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size == 0:
        return ("No run's checkpoint or kept measurement is on this machine: the module's part cannot be measured "
                "here.")
    beta = np.abs(activity["β"].to_numpy().ravel())
    head = (f"Over {ratio.size} runs, |β| is at most {np.nanmax(beta):.2g} and the module adds "
            f"{np.median(ratio):.2g} % of the size of the feature it refines (median; at most {ratio.max():.2g} %)")
    if ratio.max() < small:
        return (head + f": below {small:g} % in every run, so the module hardly takes part, and the differences "
                "between the rows that differ only inside it (ASNet, w/o DI, w/o SA) say little about what it does.")
    return head + "."


def match_log(reported, log: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """Where a per-epoch table comes from: for every reported number with an ``epoch``, the rows of
    ``log`` (columns ``row``, 0-based epoch, and one column per reported metric) whose value,
    truncated or rounded to ``decimals``, prints as the reported value; the offset of the matching
    row from the epoch's own row (epoch - 1; only for a unique truncated match, else <NA>); and the
    logged value of the epoch's own row."""
    import math

    scale = 10 ** decimals
    out = []
    for r in reported:
        if r.epoch is None or r.metric not in log:
            continue
        own = r.epoch - 1
        logged = log.set_index("row")[r.metric]
        trunc = [int(k) for k, v in logged.items() if math.floor(v * scale + 1e-9) == round(r.value * scale)]
        rnd = [int(k) for k, v in logged.items() if round(v * scale) == round(r.value * scale)]
        out.append({"epoch": r.epoch, "metric": r.metric, "reported": r.value,
                    "log rows (truncated)": trunc, "log rows (rounded)": rnd,
                    "offset": (trunc[0] - own) if len(trunc) == 1 else None,
                    "logged at own row": logged.get(own, float("nan"))})
    return pd.DataFrame(out).astype({"offset": "Int64"})


def all_background_iou(per_image: pd.DataFrame) -> float:
    """Mean background IoU over images of the trivial model that calls every pixel background: per
    image, the background's share of the mask, (TN + FP) / all pixels (``per_image`` from one run's
    lesion-target confusion counts; any run on the same test images gives the same value)."""
    n = per_image[["TP", "TN", "FP", "FN"]].sum(axis=1)
    return float(((per_image.TN + per_image.FP) / n).mean())


def identical_runs(outcomes, a: str, b: str) -> pd.DataFrame:
    """Whether rows ``a`` and ``b`` trained the same network, pair by pair (same partition and
    seed): the largest absolute difference over every per-image confusion count (pixels) and,
    separately, every per-image metric, at every resolution, and over the per-epoch history except
    the loss columns (a term without gradient still adds its value to the loss). NaN in the same
    place of both runs counts as equal. A loss term that passes no gradient leaves training
    bit-identical on one CPU, so its rows differ by exactly 0 wherever they are compared. Returns
    one row per pair: partition, seed, images, ``max |count difference|``, ``max |metric
    difference|``, ``max |history difference|`` and ``identical`` (all three exactly 0)."""
    counts = ["TP", "TN", "FP", "FN"]
    rows = []
    for key, oa, ob in paired_runs(outcomes, a, b):
        pa, pb = (o.per_image.set_index(["resolution", "image_id"]).sort_index() for o in (oa, ob))
        if not pa.index.equals(pb.index):
            raise ValueError(f"{a!r} and {b!r} seed {key[1]}: scored on different images")
        metrics = [c for c in pa.select_dtypes("number").columns if c not in counts]
        ha, hb = oa.history, ob.history
        hist = [c for c in ha.select_dtypes("number").columns if c in hb and c != "epoch" and "loss" not in c]
        rows.append({"partition": key[0], "seed": key[1], "images": len(pa) // pa.index.levels[0].size,
                     "max |count difference|": _max_abs_difference(pa, pb, [c for c in counts if c in pa]),
                     "max |metric difference|": _max_abs_difference(pa, pb, metrics),
                     "max |history difference|": (_max_abs_difference(ha, hb, hist) if len(ha) == len(hb)
                                                  else float("nan"))})
        rows[-1]["identical"] = all(rows[-1][k] == 0 for k in ("max |count difference|", "max |metric difference|",
                                                               "max |history difference|"))
    return pd.DataFrame(rows)


def _max_abs_difference(x: pd.DataFrame, y: pd.DataFrame, columns) -> float:
    """Largest |x - y| over ``columns`` (aligned rows), NaN in both places counting as 0; NaN
    when only one side is NaN (they differ) or there is nothing to compare."""
    if not len(columns):
        return float("nan")
    u, v = x[columns].to_numpy(float), y[columns].to_numpy(float)
    both = np.isnan(u) & np.isnan(v)
    if (np.isnan(u) ^ np.isnan(v)).any():
        return float("nan")
    d = np.abs(np.where(both, 0.0, u - v))
    return float(d.max()) if d.size else float("nan")


def text_against_table(claims, table: dict, metrics: tuple[str, ...], decimals: int = 3) -> pd.DataFrame:
    """A paper's sentences about its own table, checked against the table.

    ``table``: {block: {row: values in ``metrics`` order}}; ``claims``: ``(where, block, rows, metric, kind,
    references, stated)`` tuples (``metric``: one name, several comma-separated, or "all"), ``kind``:
    *difference*: each of ``rows`` minus the best of ``references`` is ``stated`` (a fraction) to the text's
    precision (half its last digit) plus the table's rounding (one printed digit of ``decimals`` per value);
    *at least*: each row's value is above ``stated``; *better*: each row is above every reference on each metric.
    One line per claim: the table's value(s), whether the text holds, and the exceptions where it does not."""
    def value(block, row, m):
        return table[block][row][metrics.index(m)]

    out = []
    for where, block, rows, metric, kind, refs, stated in claims:
        names = list(metrics) if metric == "all" else metric.split(",")
        if kind == "difference":
            text_digits = len(f"{stated * 100:g}".partition(".")[2]) + 2  # "3.5 %" -> 0.035: 3 decimals
            tol = 0.5 * 10 ** -text_digits + 10 ** -decimals
            diffs = {row: value(block, row, names[0]) - max(value(block, r, names[0]) for r in refs) for row in rows}
            bad = [f"{row}: {d:+.3f}" for row, d in diffs.items() if abs(d - stated) > tol + 1e-12]
            shown = "; ".join(f"{row} {d:+.3f} (relative {d / max(value(block, r, names[0]) for r in refs):+.1%})"
                              for row, d in diffs.items())
        elif kind == "at least":
            bad = [f"{row}: {value(block, row, names[0]):.3f}" for row in rows if value(block, row, names[0]) <= stated]
            shown = "; ".join(f"{row} {value(block, row, names[0]):.3f}" for row in rows)
        elif kind == "better":
            bad = [f"{row} {m.upper()[:3]} {value(block, row, m):.3f} ≤ {ref} {value(block, ref, m):.3f}"
                   for row in rows for m in names for ref in refs if value(block, row, m) <= value(block, ref, m)]
            shown = f"{len(rows) * len(refs) * len(names)} comparisons"
        else:
            raise ValueError(f"claim {where!r}: kind {kind!r} must be 'difference', 'at least' or 'better'")
        out.append({"where": where, "block": block, "stated": "" if stated is None else f"{stated * 100:g} %",
                    "table": shown, "text holds": not bad, "exceptions": "; ".join(bad)})
    return pd.DataFrame(out)

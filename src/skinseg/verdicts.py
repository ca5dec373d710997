"""The summary's verdicts: every number the five papers report, and every claim they make about
how two rows compare, against our runs under one profile (read, never re-trained).

A reported number is one run of the paper's (or the mean of ``Reported.runs`` runs, e.g. 5
folds), so it is compared with where such a number would fall if the paper's setup were ours: the
95 % *prediction* interval of our runs, mean ± t sd sqrt(1/n + 1/k) for n runs of ours and k of
theirs (over folds, the corrected resampled t adds the ratio n_test/n_train once per side: our
folds and the paper's are on different images, a stand-in, so the two means are independent).
The interval of our mean alone would be too narrow: with 3 seeds a faithful single run would fall
outside it about one time in six. So *reproduced* means "consistent with our runs' spread", not
"within the tolerance of our mean": with widely spread runs the two differ. A reported number is
  *reproduced*        when it lies inside that prediction interval and our mean is measured to
                      ±:data:`TOLERANCE` or better (the 95 % t interval of our mean is no wider);
                      for one run of ours, a bootstrap interval over its test images stands in
                      for both (it covers test-set sampling only and says so),
  *inconclusive*      when it lies inside the prediction interval but our mean is less precise
                      than that (too few or too spread runs),
  *within tolerance*  when outside the prediction interval but within the tolerance of our mean,
  *not reproduced*    otherwise,
  *not testable here* when we have no run for it, only one paired run for a difference, fewer
                      than all K folds of a K-fold row, a run of its row predicts (almost) no
                      lesion, or it needs what this project lacks (a GPU timing, a competitor's
                      method) — the cause is said.
A training-log number of one run (a per-epoch table) has no interval: it is judged by the
tolerance alone. Intervals are clipped to what the metric can take (a fraction to [0, 1], a
difference of fractions to [-1, 1], a count to >= 0): a t interval over two or three runs can
otherwise print an IoU above 1.
Every judged line also says whether the runs behind it converged (:mod:`skinseg.convergence`: validation
Jaccard flat over the last 20 % of epochs); where any did not, the verdict carries " (unconverged)": a
verdict on a model still improving is about the budget, never plain *reproduced*, and a value of ours
below the paper's says nothing against it: such a verdict reads *inconclusive (unconverged)*; only a
value already above the paper's may read *not reproduced (unconverged: ours already above)*
(:func:`unconverged_verdict`).
Like with like: a test score is compared with our runs under the reduction the paper's row shows
(:func:`compared_reductions`): pooled pixels where its Jaccard/Dice pair fits DIC = 2·JAC/(1+JAC), the
per-image mean where its Dice lies below that, and both where the pair fits neither or the row prints
none (the verdict then is theirs where they agree, else *inconclusive*, the cause naming both); the
*reduction* column says which, and the cause keeps the other in view.
A claim ("greater": row above the other; "close": within the tolerance) is checked run by run with
:func:`skinseg.tables.paired_difference` (a "greater" claim is *not shown* when the interval covers 0, a
"close" one when the interval is neither wholly within ± the tolerance nor wholly beyond it), and is not
testable when a run of either row predicts (almost) no lesion: then the comparison is about
convergence, not about the models.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from skinseg import audit, tables
from skinseg.convergence import converged_cell, converged_runs
from skinseg.results import metric_value

# Stated once, used everywhere: how far ours may be from a reported number and still count as
# "within tolerance". Fractions (Jaccard, Dice, accuracy, losses): 0.02 absolute; counts
# (parameters): 10 % of the reported value.
TOLERANCE = {"fraction": 0.02, "count (relative)": 0.10}
COUNT_METRICS = ("parameters",)
COLLAPSED = 0.05  # a run whose lesion Jaccard is below this predicts (almost) no lesion
NEEDS_GPU = ("images_per_second",)
UNCONVERGED = " (unconverged)"
UNCONVERGED_ABOVE = "not reproduced (unconverged: ours already above)"
CONTEXT = "context (reported only)"  # a competitor's number the paper quotes: shown, never judged


def tolerance(metric: str, reported: float) -> float:
    if metric in COUNT_METRICS:
        return TOLERANCE["count (relative)"] * abs(reported)
    return TOLERANCE["fraction"]


def interval(values: list[float], per_image=None, level: float = 0.95,
             test_train_ratio: float | None = None, predict_runs: int | None = None) -> tuple[float, float, float]:
    """(mean, low, high) of our runs' values: t interval of the mean for several runs (with
    ``test_train_ratio``, runs are cross-validation folds: the corrected resampled t, variance
    sd² (1/n + ratio)); with ``predict_runs`` = k, the prediction interval for the mean of k new
    runs of the same setup instead (variance sd² (1/n + ratio) + sd² (1/k + ratio)); for one run
    the bootstrap interval of the mean over ``per_image`` values if given, else the value itself."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if len(v) >= 2:
        ratio = test_train_ratio or 0.0
        theirs = 1 / predict_runs + ratio if predict_runs else 0.0
        se = v.std(ddof=1) * np.sqrt(1 / len(v) + ratio + theirs)
        half = stats.t.ppf((1 + level) / 2, len(v) - 1) * se
        return float(v.mean()), float(v.mean() - half), float(v.mean() + half)
    if per_image is not None and len(per_image) > 1:
        lo, hi = tables.bootstrap_ci(per_image, level)
        return float(v[0]), lo, hi
    return float(v[0]), float(v[0]), float(v[0])


def clip_to_range(low: float, high: float, metric: str, difference: bool = False) -> tuple[float, float]:
    """``(low, high)`` clipped to the values ``metric`` can take: a fraction's [0, 1] (a difference
    of two fractions: [-1, 1]), a count's [0, inf) (a difference of counts: unbounded)."""
    if metric in COUNT_METRICS:
        return (low, high) if difference else (max(low, 0.0), high)
    bound = -1.0 if difference else 0.0
    return min(max(low, bound), 1.0), max(min(high, 1.0), bound)


def judge(reported: float, mean: float, low: float, high: float, tol: float,
          precision: float | None = None) -> str:
    """The verdict on ``reported`` against our interval [low, high] around ``mean``;
    ``precision``: the half-width of our mean's own interval, where [low, high] is a prediction
    interval (default: half of [low, high])."""
    precision = (high - low) / 2 if precision is None else precision
    if low <= reported <= high:
        return "reproduced" if precision <= tol + 1e-12 else "inconclusive"
    if abs(mean - reported) <= tol + 1e-12:  # float noise at the boundary
        return "within tolerance"
    return "not reproduced"


def _folds(exp) -> int:
    """K of a K-fold protocol; 0 for any other protocol."""
    return exp.params["folds"] if exp.params.get("protocol") == "kfold" else 0


def fold_test_train_ratio(exp) -> float | None:
    """n_test/n_train of a K-fold protocol, for the corrected resampled t (Nadeau & Bengio 2003): per
    fold, its test images over the images it trains on, averaged over the folds; None for any other
    protocol. The validation share held out of the training folds for model selection is not trained
    on, so the ratio is a little above 1/(K-1) (ASNet's folds with ``val_fraction`` 0.1: 430/1,548,
    0.278 instead of 0.25) and the interval a little wider."""
    if not _folds(exp):
        return None
    counts = exp.data().counts()
    return float((counts["test"] / counts["train"]).mean())


def _row_runs(exp, r, outcomes, row: str) -> list:
    """Our runs of the paper's table row ``row`` in ``r``'s dataset block (all blocks when ``r``
    names none)."""
    return [o for o in outcomes if exp.spec.variant(o.variant).paper_row == row
            and (r.paper_dataset is None or exp.variant_params(o.variant)["paper_dataset"] == r.paper_dataset)]


def _too_few_folds(exp, done: int, what: str, judged: str) -> str:
    """The cause to give when only ``done`` of a K-fold protocol's folds are there (``what``:
    "finished", "paired") for the ``judged`` thing ("number", "claim"); "" when all are, or the
    protocol is not K-fold."""
    k = _folds(exp)
    if done >= k:
        return ""
    cap = exp.params.get("max_folds")
    return (f"{done} of {k} folds {what} under this profile; a {k}-fold {judged} needs all {k}"
            + (f" (this profile runs max_folds={cap})" if cap else ""))


def _our_interval(exp, r, outcomes, reduction: str = "macro") -> tuple[float, float, float, int, float] | None:
    """(mean, low, high, runs, precision) of our values of reported number ``r`` under ``reduction``
    (``macro``: per-image mean; ``micro``: pooled pixels), or None without enough runs: [low, high] is
    the prediction interval for a number like the reported one (see the module's docstring), precision
    the half-width of our mean's own 95 % interval; from the per-pair differences of two or more
    paired runs for a difference between rows, else from the row's runs (one run: the bootstrap
    interval over its test images, see :func:`interval`; pooled, the images' confusion counts are
    resampled and pooled anew)."""
    ratio = fold_test_train_ratio(exp)
    if r.difference_of:
        a, b, metric = r.difference_of
        try:
            diffs = [va - vb for _, va, vb in tables.paired_values(outcomes, a, b, metric)]
        except KeyError:
            return None
        if len(diffs) < 2:
            return None  # one paired run: no interval for a difference
        return _prediction(diffs, ratio, r.runs)
    mine = _row_runs(exp, r, outcomes, r.row)
    values = [v for v in tables.reproduced_values(exp, r, mine, "original", reduction) if np.isfinite(v)]
    if not values:
        return None
    per_image = None
    if (len(values) == 1 and r.epoch is None and len(mine) == 1 and r.metric in mine[0].per_image
            and exp.variant_params(mine[0].variant)["target"] == "lesion"):  # per-image tables score the lesion
        pi = mine[0].per_image
        per_image = pi[pi.resolution == "original"]
        if reduction == "micro" and {"TP", "TN", "FP", "FN"} <= set(per_image):
            lo, hi = tables.bootstrap_pooled_ci(per_image[["TP", "TN", "FP", "FN"]].to_numpy(), r.metric)
            return values[0], lo, hi, 1, (hi - lo) / 2
        per_image = per_image[r.metric].to_numpy() if reduction == "macro" else None
    if len(values) == 1:
        mean, lo, hi = interval(values, per_image)
        return mean, lo, hi, 1, (hi - lo) / 2
    return _prediction(values, ratio, r.runs)


def _prediction(values: list[float], ratio: float | None, k: int) -> tuple[float, float, float, int, float]:
    """(mean, low, high, runs, precision) over two or more values: the prediction interval for a
    mean of ``k`` runs, and the half-width of our mean's own interval."""
    mean, lo, hi = interval(values, test_train_ratio=ratio, predict_runs=k)
    _, mean_lo, mean_hi = interval(values, test_train_ratio=ratio)
    return mean, lo, hi, len(values), (mean_hi - mean_lo) / 2


# test metrics whose reduction matters (a per-epoch log number, a count or a timing has none)
REDUCED_METRICS = ("jaccard", "dice", "accuracy", "sensitivity", "specificity")
REDUCTION_NAMES = {"macro": "per-image", "micro": "pooled"}


def compared_reductions(exp, r) -> tuple[tuple[str, ...], str]:
    """Which of our reductions a reported test number is compared with, like with like, and why: the
    reduction that the paper's own Jaccard/Dice pair of that row shows (:func:`skinseg.audit.reduction_consistency`
    at the printed decimals): pooled pixels (``micro``) or the per-image mean (``macro``); both where the
    pair fits neither or the row prints no pair. ``((), "")`` for a number without a reduction (a
    count, a per-epoch log value, a timing, a difference between rows)."""
    if r.metric not in REDUCED_METRICS or r.epoch is not None or r.difference_of:
        return (), ""
    found = _pair_reduction(exp, r)
    if found is None:
        return ("macro", "micro"), "both: the row prints no Jaccard/Dice pair to tell its reduction"
    if found == audit.POOLED:
        return ("micro",), "pooled: the row's DIC = 2·JAC/(1+JAC), as pooled pixels give"
    if found == audit.PER_IMAGE:
        return ("macro",), "per-image: the row's DIC is below 2·JAC/(1+JAC), as per-image means give"
    return ("macro", "micro"), "both: the row's DIC is above 2·JAC/(1+JAC), which neither reduction gives"


def _pair_reduction(exp, r) -> str | None:
    """What the Jaccard/Dice pair the paper prints in ``r``'s row (same table, row and dataset block) is
    consistent with (:func:`skinseg.audit.reduction_consistency` at the printed decimals); None where the
    row prints no such pair."""
    pair = {x.metric: x.value for x in exp.spec.reported
            if (x.where, x.row, x.paper_dataset) == (r.where, r.row, r.paper_dataset) and x.metric in ("jaccard", "dice")}
    if len(pair) < 2:
        return None
    decimals = max(len(repr(v).partition(".")[2]) for v in pair.values())
    return audit.reduction_consistency(pair["jaccard"], pair["dice"], decimals)["consistent with"]


def _missing_folds(exp, r, outcomes) -> str:
    """Under a K-fold protocol, the cause to give while the row (or, for a difference, either row)
    has fewer than K folds finished: a cross-validation mean is over all K folds or it is not the
    protocol's number. "" otherwise."""
    if not _folds(exp):
        return ""
    rows = r.difference_of[:2] if r.difference_of else (r.row,)
    return _too_few_folds(exp, min(len({o.partition for o in _row_runs(exp, r, outcomes, row)}) for row in rows),
                          "finished", "number")


def number_rows(exp, outcomes, data_used: bool = True) -> list[dict]:
    """One verdict line per number ``exp``'s paper reports (``data_used``: fill the column from the
    data on disk)."""
    spec, rows = exp.spec, []
    for r in spec.reported:
        line = {"paper": spec.key, "where": r.where, "block": r.paper_dataset or "", "row": r.row, "metric": r.metric,
                "epoch": r.epoch if r.epoch is not None else "", "reported": r.value,
                "reported sd": r.sd if r.sd else float("nan"), "ours": "", "difference": float("nan"),
                "reduction": "", "data used": "", "verdict": "", "converged": "", "cause": "",
                "interval low": float("nan"), "interval high": float("nan")}
        if r.reported_only:
            line.update(verdict=CONTEXT, cause="a competitor's number, quoted by the paper; not run")
        elif r.metric in NEEDS_GPU:
            line.update(verdict="not testable here", cause="a GPU timing; our CPU figures are in the paper's notebook")
        elif missing := _missing_folds(exp, r, outcomes):
            line.update(verdict="not testable here", cause=missing)
        else:
            reductions, why = compared_reductions(exp, r)
            judged = {red: _judged(exp, r, outcomes, red) for red in reductions or ("macro",)}
            if any(j is None for j in judged.values()):
                line.update(verdict="not testable here", cause=_no_value_cause(exp, r, outcomes))
            else:
                first = next(iter(judged.values()))
                collapsed = _collapsed([o for o in outcomes if exp.spec.variant(o.variant).paper_row == r.row
                                        and exp.variant_params(o.variant)["target"] == "lesion"])
                line.update(first, reduction=why.partition(":")[0],
                            cause="; ".join(x for x in (spec.audit_summary, reduction_cause(exp, r, outcomes, why),
                                                        r.note) if x))
                if len(judged) > 1:  # the paper's reduction cannot be told: both, and the verdict says so
                    line["ours"] = "; ".join(f"{REDUCTION_NAMES[red]} {j['ours']}" for red, j in judged.items())
                    verdicts_ = {j["verdict"] for j in judged.values()}
                    if len(verdicts_) > 1:
                        line["verdict"] = "inconclusive"
                        line["cause"] = ("the reduction is unknown, and the verdict depends on it (" + ", ".join(
                            f"{REDUCTION_NAMES[red]}: {j['verdict']}" for red, j in judged.items()) + "); "
                            + line["cause"])
                    # the interval columns: the span both reductions' intervals cover
                    line["interval low"] = min(j["interval low"] for j in judged.values())
                    line["interval high"] = max(j["interval high"] for j in judged.values())
                if collapsed and r.metric not in COUNT_METRICS:  # its scores say it did not converge
                    line.update(verdict="not testable here", cause=collapsed)
                else:
                    _mark_convergence(line, exp, r, outcomes)
                row_variant = next((v for v in exp.variants() if v.paper_row == r.row and (
                    r.paper_dataset is None or exp.variant_params(v)["paper_dataset"] == r.paper_dataset)), None)
                if row_variant is not None and data_used:
                    line["data used"] = tables.dataset_used(exp, row_variant)
        rows.append(line)
    return rows


def _judged(exp, r, outcomes, reduction: str) -> dict | None:
    """The ``ours``, ``difference``, interval and ``verdict`` cells of reported number ``r`` against our
    runs' ``reduction`` (None without a value of ours)."""
    ours = _our_interval(exp, r, outcomes, reduction)
    if ours is None:
        return None
    mean, lo, hi, n, precision = ours
    lo, hi = clip_to_range(lo, hi, r.metric, difference=bool(r.difference_of))
    fmt = "{:,.0f}" if r.metric in COUNT_METRICS else "{:.4f}"
    theirs = "one run" if r.runs == 1 else f"a mean of {r.runs} runs"
    runs = ("1 run; bootstrap over its test images" if n == 1 else
            f"{n} paired runs" if r.difference_of else f"{n} runs") + ("" if n == 1 else f"; where {theirs} would fall")
    return {"ours": fmt.format(mean) if lo == hi else f"{fmt.format(mean)} [{fmt.format(lo)}, {fmt.format(hi)}] ({runs})",
            "difference": mean - r.value, "interval low": lo, "interval high": hi,
            "verdict": judge(r.value, mean, lo, hi, tolerance(r.metric, r.value), precision)}


def _judged_runs(exp, r, outcomes) -> list:
    """The runs a reported number's verdict stands on: both rows' for a difference, else its row's."""
    if r.difference_of:
        a, b, _ = r.difference_of
        return [o for o in outcomes if o.variant in (a, b)]
    return _row_runs(exp, r, outcomes, r.row)


def _mark_convergence(line: dict, exp, r, outcomes) -> None:
    """Fill a judged number's ``converged`` cell and label its verdict: a per-epoch log number or a
    parameter count does not depend on convergence ("n/a")."""
    if r.epoch is not None or r.metric in COUNT_METRICS:
        line["converged"] = "n/a"
        return
    # a single row's score, higher better: still climbing, ours can only come nearer the paper from below
    above = not r.difference_of and r.metric in REDUCED_METRICS and line["difference"] > 0
    _label_convergence(line, exp, _judged_runs(exp, r, outcomes), outcomes, above)


def unconverged_verdict(verdict: str, above: bool = False) -> str:
    """The verdict a line gets when a run behind it was still improving: the budget, not the paper, is
    judged. *reproduced* stays (labelled); a value already above the paper's may stay *not reproduced*
    (``above``: more training is not expected to bring it down); anything else against the paper (below
    it, outside the tolerance, a reversed ordering) says nothing and reads *inconclusive*; *not shown*
    stays (labelled)."""
    if verdict == "not reproduced" and above:
        return UNCONVERGED_ABOVE
    if verdict in ("not reproduced", "within tolerance", "inconclusive") or verdict.startswith("inconclusive"):
        return "inconclusive" + UNCONVERGED
    return verdict + UNCONVERGED


def _label_convergence(line: dict, exp, runs, outcomes, above: bool = False) -> None:
    done, total = converged_runs(exp, runs, outcomes)
    line["converged"] = converged_cell(done, total)
    if total and done < total:
        line["verdict"] = unconverged_verdict(line["verdict"], above)


def reduction_cause(exp, r, outcomes, compared: str = "") -> str:
    """For a Jaccard or Dice number of a table printing both: which reduction the paper's pair is
    consistent with (:func:`skinseg.audit.reduction_consistency`, at the printed decimals), which of
    ours the verdict compares (``compared``, :func:`compared_reductions`' why) and, on the row's own
    runs, how far pooled pixels move our Jaccard from the per-image mean: the other reduction, in view
    as context ("" otherwise)."""
    found = _pair_reduction(exp, r) if r.metric in ("jaccard", "dice") else None
    if found is None:  # no pair of the paper's to read: only what ours are compared on
        return f"compared: {compared}" if compared else ""
    text = f"{r.where}'s DIC/JAC pair: {found}" + (f"; compared: {compared}" if compared else "")
    runs = _row_runs(exp, r, outcomes, r.row)
    gaps = audit.jensen_gap([o for o in runs if exp.variant_params(o.variant)["target"] == "lesion"])
    if len(gaps):
        text += f"; ours pooled − per-image JAC {gaps['pooled - per-image JAC'].mean():+.4f} ({len(gaps)} runs)"
    return text


def _no_value_cause(exp, r, outcomes) -> str:
    """Why a reported number has no value of ours: too few paired runs for a difference, runs that
    stop before the table's epoch (a per-epoch table read under a shorter budget), or no run."""
    if r.difference_of:
        return "a difference needs two or more paired runs; fewer finished under this profile"
    trained = [int(o.history.epoch.max()) for o in _row_runs(exp, r, outcomes, r.row) if len(o.history)]
    if r.epoch is not None and trained and max(trained) < r.epoch:
        return f"this profile's runs train {max(trained)} epochs; the table's epoch {r.epoch} is beyond them"
    return "no finished run of this row under this profile"


def _collapsed(runs) -> str:
    """The cause to give when any of ``runs`` predicts (almost) no lesion (lesion Jaccard below
    :data:`COLLAPSED`), naming them; "" when none does."""
    names = [f"{o.variant} [{o.partition}, seed {o.seed}]" for o in runs if metric_value(o.metrics, "jaccard") < COLLAPSED]
    return f"predicts (almost) no lesion (Jaccard < {COLLAPSED}): " + ", ".join(names) if names else ""


def claim_row_label(row: str, than: str) -> str:
    """The *row* cell of a claim's verdict line (:func:`is_claim_line` reads it back)."""
    return f"{row} vs {than}"


def is_claim_line(table: pd.DataFrame) -> pd.Series:
    """Which lines of a verdict table are claims about two rows (the rest: reported numbers)."""
    return table.row.astype(str).str.contains(" vs ", regex=False)


def claim_rows(exp, outcomes, data_used: bool = True) -> list[dict]:
    """One verdict line per claim of ``exp``'s paper about two rows, from paired runs (over folds,
    the corrected resampled t); ``data_used``: fill the column from the data on disk (the claim's
    first row's data: both rows of a pair run on the same split)."""
    rows = []
    for c in exp.spec.claims:
        line = {"paper": exp.spec.key, "where": c.where, "block": "", "row": claim_row_label(c.row, c.than), "metric": c.metric,
                "epoch": "", "reported": c.text, "reported sd": float("nan"), "ours": "", "difference": float("nan"),
                "reduction": "per-image" if c.metric in REDUCED_METRICS else "", "data used": "", "verdict": "", "converged": "", "cause": "", "interval low": float("nan"),
                "interval high": float("nan")}
        try:
            d = tables.paired_difference(outcomes, c.row, c.than, (c.metric,),
                                         test_train_ratio=fold_test_train_ratio(exp)).iloc[0]
        except KeyError:
            line.update(verdict="not testable here", cause="the two rows have no paired runs under this profile")
            rows.append(line)
            continue
        lo, hi = clip_to_range(d["95 % CI low"], d["95 % CI high"], c.metric, difference=True)
        tol = TOLERANCE["fraction"]
        line.update(ours=(f"{d['difference mean']:+.4f} [{lo:+.4f}, {hi:+.4f}] ({d['pairs']} pairs)" if d["pairs"] > 1
                          else f"{d['difference mean']:+.4f} (1 pair: no interval)"),
                    difference=d["difference mean"], cause=exp.spec.audit_summary,
                    **{"interval low": lo, "interval high": hi})
        if data_used:
            line["data used"] = tables.dataset_used(exp, c.row)
        collapsed = _collapsed([o for o in outcomes if o.variant in (c.row, c.than)])
        too_few = _too_few_folds(exp, len({key[0] for key, _, _ in tables.paired_runs(outcomes, c.row, c.than)}),
                                 "paired", "claim")
        if too_few:
            line["verdict"] = "not testable here"
            line["cause"] = too_few
        elif collapsed:
            line["verdict"] = "not testable here"
            line["cause"] = collapsed
        elif d["pairs"] < 2:
            line["verdict"] = "not testable here"
            line["cause"] = "one paired run: no interval"
        elif c.kind == "greater":
            line["verdict"] = ("reproduced" if lo > 0 else "not reproduced" if hi < 0 else
                               "not shown (interval covers 0)")
        else:
            line["verdict"] = ("reproduced" if -tol <= lo and hi <= tol else
                               "not reproduced" if lo > tol or hi < -tol else
                               "not shown (interval not within ±tolerance)")
        if not line["verdict"].startswith("not testable"):
            _label_convergence(line, exp, [o for o in outcomes if o.variant in (c.row, c.than)], outcomes)
        rows.append(line)
    return rows


def verdict_table(loaded: dict) -> pd.DataFrame:
    """``loaded``: {paper key: (Experiment, outcomes)} -> one line per reported number, then one per
    claim, per paper."""
    out = []
    for key, (exp, outcomes) in loaded.items():
        out += number_rows(exp, outcomes) + claim_rows(exp, outcomes)
    return pd.DataFrame(out)


def load(key: str, profile: str, data: str | None = None, **overrides):
    """The Experiment of paper ``key`` under ``profile`` and the outcomes of its finished runs
    (``train_missing=False``: nothing is trained; split files are made if absent). The parameters
    are those the batch runner executed the paper's notebook with (the marker beside its executed
    copy under ``results_dir``), so a profile given as a file, ``--data`` or ``--set`` are honoured;
    without a marker, the profile ``reproduce/profiles/<profile>.yaml`` resolved as the runner would."""
    import json

    from skinseg import params as P
    from skinseg.experiment import Experiment
    from skinseg.papers import get_paper
    from skinseg.paths import resolve as resolve_path
    from skinseg.profiles import load_profile, resolve

    spec = get_paper(key)
    results_dir = overrides.get("results_dir", "results")
    marker = resolve_path(results_dir) / profile / "notebooks" / f"{spec.notebook}.run.json"
    ran = json.loads(marker.read_text()).get("params") if marker.is_file() else None
    # a marker written before a parameter existed ran with its default (as skinseg.results.same_run reads configs)
    params = {**P.defaults(), **ran} if ran else resolve(spec, load_profile(profile), data, overrides=overrides)
    exp = Experiment({**params, "train_missing": False}, spec)
    return exp, exp.run_all(allow_none=True)  # a paper without runs yet still gets its reported-only rows

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

import pandas as pd

from skinseg.results import select_metrics

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

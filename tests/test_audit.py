"""Which reduction can a printed (Jaccard, Dice) pair come from: hand-computed cases."""
from types import SimpleNamespace

import pandas as pd
import pytest

from skinseg import audit
from skinseg.papers.spec import Reported


@pytest.mark.parametrize("jac, dice, verdict", [
    (0.800, 0.889, audit.POOLED),      # 2*0.8/1.8 = 0.8889: the identity holds
    (0.800, 0.888, audit.PER_IMAGE),   # just beyond rounding: J in [0.7995, 0.8005] -> f >= 0.88858 > 0.8885
    (0.800, 0.870, audit.PER_IMAGE),   # well below: Jensen's gap of a mean over images
    (0.800, 0.900, audit.NEITHER),     # above f(J): no reduction gives that
])
def test_reduction_consistency(jac, dice, verdict):
    r = audit.reduction_consistency(jac, dice, decimals=3)
    assert r["consistent with"] == verdict
    assert r["f(J) low"] == pytest.approx(2 * 0.7995 / 1.7995)
    assert r["DIC - f(JAC)"] == pytest.approx(dice - 1.6 / 1.8)


def test_reported_reductions_pairs_rows_per_block():
    rep = (Reported("Table 1", "A", "jaccard", 0.8, paper_dataset="isic2016"),
           Reported("Table 1", "A", "dice", 0.87, paper_dataset="isic2016"),
           Reported("Table 1", "A", "jaccard", 0.8, paper_dataset="isic2017"),
           Reported("Table 1", "A", "dice", 0.889, paper_dataset="isic2017"),
           Reported("Table 1", "B", "jaccard", 0.7, paper_dataset="isic2017", reported_only=True),
           Reported("Table 1", "B", "accuracy", 0.9, paper_dataset="isic2017"))  # no Dice: not checkable
    t = audit.reported_reductions(rep, decimals=3)
    assert list(zip(t.block, t.row)) == [("isic2016", "A"), ("isic2017", "A")]
    assert list(t["consistent with"]) == [audit.PER_IMAGE, audit.POOLED]


def test_jensen_gap_on_a_run():
    rows = [("macro", "jaccard", 0.70), ("macro", "dice", 0.78), ("micro", "jaccard", 0.80), ("micro", "dice", 0.8889)]
    m = pd.DataFrame([dict(target="lesion", resolution="original", reduction=r, metric=k, value=v) for r, k, v in rows])
    t = audit.jensen_gap([SimpleNamespace(variant="X", seed=3, metrics=m)])
    row = t.iloc[0]
    assert row["f(mean JAC) - mean DIC"] == pytest.approx(1.4 / 1.7 - 0.78)
    assert row["pooled - per-image JAC"] == pytest.approx(0.10)
    assert row.seed == 3

"""Which reduction can a printed (Jaccard, Dice) pair come from: hand-computed cases."""
from types import SimpleNamespace

import numpy as np
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


def test_stated_differences_checks_the_text_and_what_the_spreads_allow():
    from scipy import stats

    rep = (Reported("Table 2", "A", "jaccard", 0.8215, 0.00328), Reported("Table 2", "B", "jaccard", 0.8179, 0.00425),
           Reported("Table 2", "A", "dice", 0.8888, 0.0039))
    t = audit.stated_differences([("B", "A", 0.0036), ("B", "A", 0.0046)], rep, tolerance=0.5e-4).iloc
    assert t[0]["table difference"] == pytest.approx(0.0036) and t[0]["text matches table"]
    assert not t[1]["text matches table"]  # a text 0.1 point off its own table
    welch = stats.ttest_ind_from_stats(0.8215, 0.00328, 5, 0.8179, 0.00425, 5, equal_var=False).pvalue
    assert t[0]["Welch t-test p (table's mean ± sd)"] == pytest.approx(welch)
    need = 0.0036 * 5 ** 0.5 / stats.t.ppf(0.975, 4)  # paired t over 5 folds at p = 0.05
    assert t[0]["paired: sd of differences needed"] == pytest.approx(need)
    rho = (0.00328 ** 2 + 0.00425 ** 2 - need ** 2) / (2 * 0.00328 * 0.00425)
    assert t[0]["paired: fold correlation needed"] == pytest.approx(rho) and 0.7 < rho < 0.75
    corrected = 0.0036 / (stats.t.ppf(0.975, 4) * (1 / 5 + 1 / 4) ** 0.5)  # folds: Nadeau-Bengio
    assert t[0]["corrected paired: sd of differences needed"] == pytest.approx(corrected) and corrected < need
    assert t[0]["corrected paired: fold correlation needed"] > rho  # a stricter test needs more correlation


def test_table_only_rows_and_the_spread_sentence():
    rep = (Reported("Table 2", "A", "jaccard", 0.8215, 0.00328), Reported("Table 2", "W", "jaccard", 0.8173, 0.00376),
           Reported("Table 2", "U", "jaccard", 0.7870, 0.00317))
    t = audit.stated_differences([("W", "A", None), ("U", "A", 0.0345)], rep, tolerance=0.5e-4).to_dict("records")
    assert t[0]["text matches table"] is None and t[0]["claim"].startswith("W below A (the table's rows")
    assert t[0]["table difference"] == pytest.approx(0.0042)
    rho = t[0]["corrected paired: fold correlation needed"]
    assert 0 < rho < 1  # 0.42 points with sds 0.33 and 0.38: a paired test needs correlated folds
    low = audit.spread_sentence(t[0], our_correlation=rho - 0.1)
    assert "Welch p = " in low and "are not enough to show it" in low and low.endswith("less than that.")
    assert "0.42 points in the table;" in low  # a table-only row: no text to match
    assert audit.spread_sentence(t[0], our_correlation=rho + 0.01).endswith("as much or more.")
    assert audit.spread_sentence(t[0]).endswith(f"at least {rho:.2f} from fold to fold.")
    big = audit.spread_sentence(t[1])  # 3.45 points with sds near 0.3: any correlation will do
    assert "the spreads alone would show it" in big and "whatever the folds' correlation" in big
    assert "3.45 points in the table (the text's 3.45 matches)" in big
    t[1]["text matches table"], t[1]["stated"] = False, 0.0359
    assert "(the text's 3.59 does NOT match)" in audit.spread_sentence(t[1])


def test_needed_correlations_outside_minus_one_to_one_read_as_words():
    claims = pd.DataFrame({"claim": ["a", "b", "c"], "paired: fold correlation needed": [-36.1, 0.573, 1.4],
                           "corrected paired: fold correlation needed": [-2.0, 0.9, 3.0], "table difference": [1, 2, 3]})
    t = audit.claims_for_reading(claims)
    assert t["paired: fold correlation needed"].tolist() == ["any (needed < −1)", "0.57", "none suffices (needed > 1)"]
    assert t["corrected paired: fold correlation needed"].tolist()[1] == "0.90"
    assert t["table difference"].tolist() == [1, 2, 3]  # other columns untouched


@pytest.mark.parametrize("h, w, d, taps", [
    (3, 4, 4, 1.0),  # every off-centre tap in the padding: a 1x1 convolution
    (3, 4, 2, (1 + 2 / 3) * 2),  # rows: 2, 1, 2 taps inside (mean 5/3); columns: 2 at every position
    (3, 4, 1, (7 / 3) * (10 / 4)),
    (6, 8, 4, (1 + 2 * 2 / 6) * 2),  # rows: offsets +-4 land inside for 2 of 6 positions each
    (64, 64, 1, 9 * (62 / 64 + 2) / 3 * (62 / 64 + 2) / 3),
])
def test_dilated_taps_inside_counts_taps_on_the_map(h, w, d, taps):
    assert audit.dilated_taps_inside(h, w, d) == pytest.approx(taps)


def test_dilation_reach_table():
    t = audit.dilation_reach({"ours": (96, 128), "paper": (192, 256)})
    assert list(t.columns) == ["ours: 96×128 input, 3×4 map", "paper: 192×256 input, 6×8 map"]
    assert t.loc[4].tolist() == pytest.approx([1.0, (1 + 2 * 2 / 6) * 2])


def test_asm_activity_reads_beta_and_the_modules_relative_contribution(tmp_path):
    import json
    import math

    import torch

    from skinseg.models.asnet import AdaptiveScaleModule
    from skinseg.papers.spec import PaperSpec, Variant

    spec = PaperSpec("t", "nb", "", "", {}, {}, variants=(Variant("ASNet", "asnet", main=True),
                                                           Variant("w/o SA", "asnet_wo_sa")))
    betas = {("ASNet", "fold0"): 0.25, ("ASNet", "fold1"): -0.5, ("w/o SA", "fold0"): 0.0}  # w/o SA fold1: absent

    class Net(torch.nn.Module):
        """The module refines a feature of ones (4 channels, 2x2), whatever the image."""

        def __init__(self, b):
            super().__init__()
            self.asm = AdaptiveScaleModule(4, fusion="sum")
            torch.nn.init.zeros_(self.asm.conv.weight)
            torch.nn.init.constant_(self.asm.conv.bias, 2.0)  # each branch: 2 / sqrt(1 + eps) after eval BN
            self.asm.beta.data.fill_(b)

        def forward(self, x):
            return self.asm(torch.ones(len(x), 4, 2, 2))

    loaded = []

    def best_model(v, part, seed):
        loaded.append((v.label, part))
        b = betas.get((v.label, part))
        return None if b is None else Net(b).to(torch.bfloat16).eval()

    def run_dir(v, part, seed):
        return SimpleNamespace(path=tmp_path / v.slug / part / f"seed{seed}")

    # w/o SA fold1 is finished without a checkpoint here; ASNet fold2 unfinished, fold3 of another config: neither
    # is measured (their checkpoints would say 1.0)
    status = {("ASNet", "fold2"): "unfinished", ("ASNet", "fold3"): "other config"}
    betas.update({k: 1.0 for k in status})
    for label, part in [*betas, ("w/o SA", "fold1")]:
        run_dir(spec.variant(label), part, 0).path.mkdir(parents=True)
        (run_dir(spec.variant(label), part, 0).path / "weights.json").write_text(
            json.dumps({"best_sha256": f"sha-{label}-{part}"}))
    images = [{"image": torch.zeros(3, 8, 8, dtype=torch.uint8)} for _ in range(5)]
    exp = SimpleNamespace(spec=spec, partitions=lambda v: ["fold0", "fold1", "fold2", "fold3"], seeds=lambda v: [0],
                          run_status=lambda v, part, seed: status.get((v.label, part), "finished"),
                          best_model=best_model, run_dir=run_dir,
                          variant_params=lambda v: {"normalization": "imagenet"}, data=lambda v: None,
                          dataset=lambda data, part, split, p: images, params={"device": "cpu"})
    t = audit.asm_activity(exp, ["ASNet", "w/o SA"], n_images=3)
    fused = 3 * 2 / math.sqrt(1 + 1e-5)  # three branches summed, per element; ‖x‖ per element is 1
    assert t.loc["ASNet", "β"].tolist()[:2] == [0.25, -0.5]
    assert t.loc["ASNet", audit.ACTIVITY].tolist()[:2] == pytest.approx([25 * fused, 50 * fused], rel=1e-5)  # in %
    assert t.loc["ASNet"].iloc[[2, 3, 6, 7]].isna().all() and not {("ASNet", "fold2"), ("ASNet", "fold3")} & set(loaded)
    assert t.loc["w/o SA", ("β", "fold0")] == 0.0 and t.loc["w/o SA", (audit.ACTIVITY, "fold0")] == 0.0
    assert pd.isna(t.loc["w/o SA", ("β", "fold1")]) and pd.isna(t.loc["w/o SA", (audit.ACTIVITY, "fold1")])
    kept_file = run_dir(spec.variant("ASNet"), "fold1", 0).path / audit.ACTIVITY_FILE
    assert json.loads(kept_file.read_text()) == {
        "best_sha256": "sha-ASNet-fold1", "by_n_images": {"3": {"beta": -0.5, "activity_pct": pytest.approx(50 * fused)}}}
    assert not (run_dir(spec.variant("ASNet"), "fold2", 0).path / audit.ACTIVITY_FILE).exists()

    # another number of images is another measurement, added beside the first
    audit.asm_activity(exp, ["ASNet"], n_images=2)
    assert set(json.loads(kept_file.read_text())["by_n_images"]) == {"2", "3"}
    # the checkpoints gone (another machine): the kept measurements print the same table
    betas.clear()
    loaded.clear()
    pd.testing.assert_frame_equal(audit.asm_activity(exp, ["ASNet", "w/o SA"], n_images=3), t)
    assert ("ASNet", "fold0") not in loaded and ("w/o SA", "fold0") not in loaded  # only those never measured look
    # a run trained again over its folder: the kept figures belong to other weights
    (kept_file.parent / "weights.json").write_text(json.dumps({"best_sha256": "new"}))
    with pytest.raises(ValueError, match=r"asm_activity\.json was measured on other weights than .*delete it"):
        audit.asm_activity(exp, ["ASNet"], n_images=3)


def test_asm_activity_sentence_says_when_the_module_hardly_takes_part():
    cols = pd.MultiIndex.from_product([["β", audit.ACTIVITY], ["fold0", "fold1"]])
    small = pd.DataFrame([[0.003, -0.004, 1.0, 3.0]], index=["ASNet"], columns=cols)  # module adds 1 % and 3 %
    s = audit.asm_activity_sentence(small)
    assert "Over 2 runs, |β| is at most 0.004" in s and "2 % of the size" in s and "at most 3 %" in s
    assert "hardly takes part" in s
    large = small.copy()
    large[(audit.ACTIVITY, "fold1")] = 30.0
    assert "hardly" not in audit.asm_activity_sentence(large)
    absent = small.copy() * np.nan
    assert audit.asm_activity_sentence(absent).startswith("No run's checkpoint or kept measurement is on this machine")


def test_match_log_finds_truncated_values_and_offsets():
    rep = (Reported("T2", "M", "dice_loss", 0.2968, epoch=1), Reported("T2", "M", "jaccard", 0.6389, epoch=1),
           Reported("T2", "M", "jaccard", 0.7777, epoch=2))
    log = pd.DataFrame({"row": [0, 1], "dice_loss": [0.29689, 0.25], "jaccard": [0.5584, 0.63896]})
    t = audit.match_log(rep, log, decimals=4).set_index(["epoch", "metric"])
    assert t.loc[(1, "dice_loss"), "log rows (truncated)"] == [0]
    assert t.loc[(1, "dice_loss"), "log rows (rounded)"] == []  # 0.29689 rounds to 0.2969
    assert t.loc[(1, "dice_loss"), "offset"] == 0
    assert t.loc[(1, "jaccard"), "log rows (truncated)"] == [1] and t.loc[(1, "jaccard"), "offset"] == 1
    assert t.loc[(1, "jaccard"), "logged at own row"] == pytest.approx(0.5584)
    assert t.loc[(2, "jaccard"), "log rows (truncated)"] == [] and pd.isna(t.loc[(2, "jaccard"), "offset"])


def test_all_background_iou_is_the_background_share_per_image():
    per_image = pd.DataFrame({"TP": [10, 0], "FN": [10, 5], "TN": [70, 90], "FP": [10, 5]})  # 100 pixels each
    assert audit.all_background_iou(per_image) == pytest.approx((0.8 + 0.95) / 2)


def _run(variant, seed, jaccard, train_loss, val_jaccard):
    per_image = pd.DataFrame({"image_id": ["a", "b"], "resolution": "original", "TP": [3, 5], "jaccard": jaccard})
    history = pd.DataFrame({"epoch": [1, 2], "train_loss": train_loss, "val_jaccard": val_jaccard})
    return SimpleNamespace(variant=variant, partition="official", seed=seed, per_image=per_image, history=history)


def test_identical_runs_ignores_the_loss_value_but_nothing_else():
    nan = float("nan")
    runs = [_run("nll", 0, [0.5, nan], [1.0, 0.5], [0.4, 0.6]),
            # a gradient-free term: the loss column differs, every metric is equal (NaN where NaN)
            _run("nll+const", 0, [0.5, nan], [1.7, 1.2], [0.4, 0.6]),
            _run("other", 0, [0.5, 0.375], [1.0, 0.5], [0.4, 0.65]),
            _run("other", 1, [0.5, 0.375], [1.0, 0.5], [0.4, 0.65])]
    same = audit.identical_runs(runs, "nll+const", "nll").iloc[0]
    assert bool(same.identical) and same["max |metric difference|"] == 0 and same.images == 2
    assert same["max |count difference|"] == 0
    differs = audit.identical_runs(runs, "other", "nll")
    assert len(differs) == 1  # seed 1 has no partner
    assert differs["max |metric difference|"].isna().iloc[0]  # NaN against a number: they differ
    assert differs["max |history difference|"].iloc[0] == pytest.approx(0.05)
    assert not differs.identical.iloc[0]
    with pytest.raises(KeyError, match="share a partition and seed"):
        audit.identical_runs(runs, "nll", "missing")

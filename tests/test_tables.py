"""Reported-against-reproduced tables: paired t intervals, ordering verdicts, one-block papers and
per-epoch tables, on tiny hand-made runs."""
from types import SimpleNamespace

import pandas as pd
import pytest
from scipy import stats

from skinseg import tables
from skinseg.papers.spec import PaperSpec, Reported, Variant


def _run(variant, partition, jaccard, seed=0, history=None):
    m = pd.DataFrame([dict(metric="jaccard", reduction="macro", target="lesion", resolution="original",
                           value=jaccard)])
    return SimpleNamespace(variant=variant, seed=seed, partition=partition, metrics=m, per_image=pd.DataFrame(),
                           history=pd.DataFrame() if history is None else history)


def test_paired_difference_over_folds_has_a_t_interval_and_p():
    # differences ASNet - B per fold: 1, 2, 3 (hundredths): mean 0.02, sd 0.01
    runs = [_run("ASNet", f"fold{k}", 0.80 + d) for k, d in enumerate((0.01, 0.02, 0.03))]
    runs += [_run("B", f"fold{k}", 0.80) for k in range(3)]
    row = tables.paired_difference(runs, "ASNet", "B", ("jaccard",)).iloc[0]
    half = stats.t.ppf(0.975, 2) * 0.01 / 3 ** 0.5  # 4.303 * 0.00577
    assert row["pairs"] == 3 and row["difference mean"] == pytest.approx(0.02)
    assert row["95 % CI low"] == pytest.approx(0.02 - half) and row["95 % CI high"] == pytest.approx(0.02 + half)
    assert row["paired t p"] == pytest.approx(stats.ttest_rel([0.81, 0.82, 0.83], [0.8] * 3).pvalue)


def test_paired_difference_leaves_out_a_pair_without_the_metric():
    # fold2 of B has no jaccard line (e.g. an evaluation that wrote another metric only): the pair
    # says nothing about the difference, so the interval is over folds 0 and 1 alone
    runs = [_run("A", f"fold{k}", 0.80 + d) for k, d in enumerate((0.01, 0.03, 0.50))]
    runs += [_run("B", f"fold{k}", 0.80) for k in range(3)]
    runs[-1].metrics = runs[-1].metrics.assign(metric="dice")
    row = tables.paired_difference(runs, "A", "B", ("jaccard",)).iloc[0]
    assert row["pairs"] == 2 and row["difference per pair"] == "+0.0100, +0.0300"
    assert row["difference mean"] == pytest.approx(0.02)
    assert [v for _, v, _ in tables.paired_values(runs, "A", "B", "jaccard")] == pytest.approx([0.81, 0.83])


def test_fold_correlation_over_paired_runs():
    a = (0.80, 0.82, 0.84, 0.81)
    runs = [_run("A", f"fold{k}", j) for k, j in enumerate(a)]
    runs += [_run("B", f"fold{k}", j - 0.01) for k, j in enumerate(a)]  # B follows A exactly: r = 1
    runs += [_run("C", f"fold{k}", j) for k, j in enumerate((0.80, 0.80, 0.80, 0.80))]  # no spread
    assert tables.fold_correlation(runs, "A", "B") == pytest.approx(1.0)
    assert pd.isna(tables.fold_correlation(runs, "A", "C"))
    assert pd.isna(tables.fold_correlation(runs[:2] + runs[4:6], "A", "B"))  # two pairs: no correlation


@pytest.mark.parametrize("diffs, sign, verdict", [
    ((0.02, 0.025, 0.03), 1, "ordering holds in our runs (95 % interval excludes 0)"),  # t interval [0.013, 0.037]
    ((0.02, 0.025, 0.03), -1, "ordering reversed in our runs (95 % interval excludes 0)"),
    ((0.01, 0.02, 0.03), 1, "not shown in our runs (95 % interval covers 0)"),  # [-0.005, 0.045]
    ((0.02,), 1, "too few pairs to tell"),
])
def test_ordering_verdict(diffs, sign, verdict):
    runs = [_run("A", f"f{k}", 0.5 + d) for k, d in enumerate(diffs)] + [_run("B", f"f{k}", 0.5)
                                                                         for k in range(len(diffs))]
    t = tables.paired_difference(runs, "A", "B", ("jaccard",))
    assert tables.ordering_verdict(t, claimed_sign=sign).iloc[0] == verdict


def _spec(reported, variants):
    return PaperSpec("t", "nb", "", "", {}, {}, variants=variants, reported=reported)


def _exp(spec, blocks=None):
    return SimpleNamespace(spec=spec, variants=lambda: list(spec.variants),
                           variant_params=lambda v: {"paper_dataset": (blocks or {}).get(spec.variant(v).label,
                                                                                          "isic2018"),
                                                     "target": "lesion"})


def test_epoch_table_sets_train_and_val_columns_beside_the_paper():
    spec = _spec((Reported("Table 2", "M", "dice_loss", 0.30, epoch=1, split="train"),
                  Reported("Table 2", "M", "jaccard", 0.56, epoch=1, split="train"),
                  Reported("Table 2", "M", "jaccard", 0.90, epoch=2, split="train")),
                 (Variant("M", "fpn", main=True), Variant("L", "fpn")))

    def h(tl, tj, vj, pooled=None):
        d = {"epoch": [1, 2], "train_loss": tl, "train_jaccard": tj, "val_loss": [0.5, 0.4], "val_jaccard": vj}
        return pd.DataFrame({**d, **({"train_dice_loss": pooled} if pooled else {})})
    runs = [_run("M", "r", 0, seed=0, history=h([0.4, 0.2], [0.5, 0.8], [0.4, 0.6], pooled=[0.35, 0.2])),
            _run("M", "r", 0, seed=1, history=h([0.2, 0.1], [0.7, 0.9], [0.5, 0.7], pooled=[0.25, 0.1])),
            _run("L", "r", 0, seed=0, history=h([0.6, 0.5], [0.3, 0.4], [0.2, 0.3]))]
    exp = _exp(spec)
    iou = tables.epoch_table(exp, runs, "jaccard", rows={"M": "bg", "L": "lesion"})
    assert list(iou.columns) == ["paper", "bg·train", "bg·val", "lesion·train", "lesion·val", "ours - paper (bg·train)"]
    assert iou.loc[1, "lesion·val"] == "0.2000" and iou.loc[1, "bg·train"] == "0.6000 ± 0.1414 (n=2)"
    assert iou.loc[1, "ours - paper (bg·train)"] == pytest.approx(0.6 - 0.56)
    assert iou.loc[2, "ours - paper (bg·train)"] == pytest.approx(0.85 - 0.90)
    dl = tables.epoch_table(exp, runs, "dice_loss", rows={"M": "bg", "L": "lesion"})
    assert list(dl.index) == [1] and dl.loc[1, "bg·train"] == "0.3000 ± 0.0707 (n=2)"  # the pooled column
    assert dl.loc[1, "lesion·train"] == "0.6000"  # no pooled column logged: the training loss
    assert dl.loc[1, "bg·val"] == "0.5000 ± 0.0000 (n=2)"


def test_corrected_resampled_t_widens_the_interval_over_folds():
    # five folds, differences 1..5 hundredths: plain se = sd/sqrt(5); corrected se = sd*sqrt(1/5 + 1/4)
    runs = [_run("A", f"fold{k}", 0.8 + d / 100) for k, d in enumerate(range(1, 6))]
    runs += [_run("B", f"fold{k}", 0.8) for k in range(5)]
    plain = tables.paired_difference(runs, "A", "B", ("jaccard",)).iloc[0]
    fixed = tables.paired_difference(runs, "A", "B", ("jaccard",), test_train_ratio=1 / 4).iloc[0]
    sd = pd.Series(range(1, 6)).std() / 100
    half = stats.t.ppf(0.975, 4) * sd * (1 / 5 + 1 / 4) ** 0.5
    assert fixed["95 % CI low"] == pytest.approx(0.03 - half) and fixed["95 % CI high"] == pytest.approx(0.03 + half)
    assert plain["paired t p"] == pytest.approx(stats.ttest_1samp([0.01, 0.02, 0.03, 0.04, 0.05], 0).pvalue)
    assert fixed["paired t p"] > plain["paired t p"]


def test_identical_differences_have_no_p():
    runs = [_run("A", f"f{k}", 0.9) for k in range(3)] + [_run("B", f"f{k}", 0.8) for k in range(3)]
    row = tables.paired_difference(runs, "A", "B", ("jaccard",)).iloc[0]
    assert row["95 % CI low"] == pytest.approx(0.1) and pd.isna(row["paired t p"])


def _data(rows):
    from pathlib import Path

    from skinseg.data.sources import Data

    table = pd.DataFrame([(part, f"{part}-{split}-{i}", split) for part, split, n in rows for i in range(n)],
                         columns=["partition", "image_id", "split"])
    return Data("label", "isic2017", Path("."), Path("split.csv"), table, "", {})


def test_split_sizes_counts_the_images_each_split_used():
    assert tables.split_sizes(_data([("p0", "train", 210), ("p0", "val", 90), ("p0", "test", 150)])) == \
        "210 train / 90 val / 150 test"
    folds = [(f"fold{k}", s, n + (k == 4 and s == "train")) for k in range(5)
             for s, n in (("train", 1548), ("val", 172), ("test", 430))]
    assert tables.split_sizes(_data(folds), folds=True) == "5 folds of 1,548–1,549 train / 172 val / 430 test"
    assert tables.split_sizes(_data(folds)).startswith("5 partitions of ")


def test_dataset_used_names_the_split_sizes_and_which_source_split_is_tested(monkeypatch):
    from skinseg.data import io

    data = _data([("official", "train", 1800), ("official", "val", 200), ("official", "test", 150)])
    data.samples, data.note = {"a": SimpleNamespace(image="a.jpg")}, "test = the source's val split (no test masks)"
    params = {"protocol": "official", "image_height": 96, "image_width": 128}
    exp = SimpleNamespace(data=lambda v: data, variant_params=lambda v: params, params=params)
    monkeypatch.setattr(io, "image_size", lambda path: (256, 256))
    assert tables.dataset_used(exp, "row") == ("label; 1,800 train / 200 val / 150 test, test = the source's val "
                                              "split (no test masks); 256×256 source, 96×128 input")
    data.note, params["protocol"] = "5 folds over 2150 images", "kfold"  # the K-fold note repeats the counts: left out
    assert tables.dataset_used(exp, "row") == "label; 1,800 train / 200 val / 150 test; 256×256 source, 96×128 input"

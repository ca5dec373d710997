"""The notebook helpers that turn run tables into a paper's audit tables, on tiny hand-made runs."""
import json
import warnings
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from skinseg import notebook


def _run(variant, seed, lesion_macro, lesion_micro, background_micro, thresholded, per_image):
    rows = [("jaccard", "macro", "lesion", lesion_macro), ("jaccard", "micro", "lesion", lesion_micro),
            ("jaccard", "micro", "background", background_micro), ("threshold_jaccard", "macro", "lesion", thresholded)]
    metrics = pd.DataFrame([dict(metric=m, reduction=r, target=t, value=v, resolution="original")
                            for m, r, t, v in rows])
    return SimpleNamespace(variant=variant, seed=seed, metrics=metrics,
                           per_image=pd.DataFrame(per_image).assign(resolution="original"))


def _image(image_id, tp, tn, fp, fn):
    return dict(image_id=image_id, TP=tp, TN=tn, FP=fp, FN=fn, jaccard=tp / (tp + fp + fn))


def test_jaccard_definitions_reads_each_reduction_and_marks_the_nearest():
    # image a: lesion J 6/10, background J 80/(80+4+0)=0.952...; image b: lesion J 1/4, background 90/93
    imgs = [_image("a", 6, 80, 4, 0), _image("b", 1, 90, 2, 1)]
    runs = [_run("M", 0, 0.40, 0.60, 0.90, 0.30, imgs), _run("M", 1, 0.50, 0.70, 0.92, 0.40, imgs)]
    t = notebook.jaccard_definitions(runs, "M", reported=0.45).set_index("definition")
    assert t.loc["per-image mean Jaccard", "mean"] == pytest.approx(0.45)
    assert t.loc["pooled (micro) Jaccard", "mean"] == pytest.approx(0.65)
    assert t.loc["thresholded Jaccard", "mean"] == pytest.approx(0.35)
    # class mean pooled: ((0.6+0.9)/2 + (0.7+0.92)/2) / 2
    assert t.loc["class-mean IoU, pooled", "mean"] == pytest.approx(0.78)
    per_image = ((0.6 + 80 / 84) / 2 + (0.25 + 90 / 93) / 2) / 2
    assert t.loc["class-mean IoU, per image", "mean"] == pytest.approx(per_image)
    assert t.loc["per-image mean Jaccard", "reproduced"] == "0.4500 ± 0.0707 (n=2)"
    assert list(t.index[t.nearest == "◀"]) == ["per-image mean Jaccard"]
    with pytest.raises(KeyError, match="rows: \\['M'\\]"):
        notebook.jaccard_definitions(runs, "other")


def test_postprocessing_effect_counts_changed_pixels_against_the_reference():
    ref = [_image("a", 10, 80, 10, 0), _image("b", 5, 90, 0, 5)]
    opened = [_image("a", 10, 88, 2, 0), _image("b", 5, 90, 0, 5)]  # 8 false-positive pixels removed on a
    per_image = pd.concat([pd.DataFrame(ref).assign(variant="none"), pd.DataFrame(opened).assign(variant="open")])
    per_image = per_image.assign(seed=0, resolution="original")
    row = notebook.postprocessing_effect(per_image, reference="none").set_index("row").loc["open"]
    assert row["masks (seed × image)"] == 2 and row["masks changed"] == 1 and row["seeds"] == 1
    assert row["megapixels, max"] == pytest.approx(100 / 1e6)
    assert row["pixels changed, max"] == 8 and row["pixels changed, mean"] == pytest.approx(4.0)
    assert row["share of predicted area, max"] == pytest.approx(8 / 20)
    assert row["Δ Jaccard, max"] == pytest.approx(10 / 12 - 0.5)
    assert row["Δ Jaccard, min"] == 0
    with pytest.raises(KeyError, match="reference 'missing'"):
        notebook.postprocessing_effect(per_image, reference="missing")


def _metric_run(variant, seed, jaccard, partition="p"):
    m = pd.DataFrame([dict(metric="jaccard", reduction="macro", target="lesion", resolution="original",
                           value=jaccard)])
    return SimpleNamespace(variant=variant, seed=seed, partition=partition, metrics=m, per_image=pd.DataFrame())


def test_paired_difference_pairs_runs_by_seed():
    runs = [_metric_run("A", 0, 0.70), _metric_run("A", 1, 0.74), _metric_run("A", 2, 0.90),
            _metric_run("B", 0, 0.60), _metric_run("B", 1, 0.70)]  # seed 2 of A has no partner
    row = notebook.paired_difference(runs, "A", "B", ("jaccard",)).iloc[0]
    assert row["pairs"] == 2
    assert row["difference per pair"] == "+0.1000, +0.0400"
    assert row["difference mean"] == pytest.approx(0.07)
    assert row["difference sd"] == pytest.approx(0.06 / 2 ** 0.5)
    assert row["row value"] == "0.7200 ± 0.0283 (n=2)"
    with pytest.raises(KeyError, match="share a partition and seed"):
        notebook.paired_difference(runs, "A", "C", ("jaccard",))


def test_bootstrap_ci_brackets_the_mean_and_narrows_with_more_images():
    rng = np.random.default_rng(1)
    small, large = rng.uniform(0, 1, 20), rng.uniform(0, 1, 2000)
    lo, hi = notebook.bootstrap_ci(small)
    assert lo < small.mean() < hi
    lo2, hi2 = notebook.bootstrap_ci(large)
    assert hi2 - lo2 < (hi - lo) / 4
    assert notebook.bootstrap_ci(small) == (lo, hi)  # seeded


def test_postprocessing_effect_counts_area_preserving_changes():
    ref = [_image("a", 10, 80, 10, 0)]
    moved = [_image("a", 8, 80, 12, 0)]  # 2 true positives became false positives elsewhere: same area
    per_image = pd.concat([pd.DataFrame(ref).assign(variant="r"), pd.DataFrame(moved).assign(variant="m")])
    row = notebook.postprocessing_effect(per_image.assign(seed=0, resolution="original"), "r", rows=["m"]).iloc[0]
    assert row["masks changed"] == 1 and row["pixels changed, max"] == 4 and row["against"] == "r"


def test_stopping_says_what_ended_training_and_sums_training_minutes(tmp_path):
    h = pd.DataFrame({"epoch": [1, 2, 3], "best": [True, True, False], "val_jaccard": [0.5, 0.7, 0.69]})
    for name, prov in (("a", {"train_seconds": 90.0}), ("c", {"train_seconds": 30.0}), ("d", {})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "provenance.json").write_text(json.dumps(prov))
    runs = [SimpleNamespace(variant="A", seed=0, partition="p", history=h, run=SimpleNamespace(path=tmp_path / "a")),
            SimpleNamespace(variant="B", seed=0, partition="p", history=pd.DataFrame()),
            SimpleNamespace(variant="C", seed=1, partition="p", history=h, run=SimpleNamespace(path=tmp_path / "c")),
            SimpleNamespace(variant="D", seed=0, partition="p", history=h, run=SimpleNamespace(path=tmp_path / "d"))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. pandas' incompatible-dtype warning on the total row
        t = notebook.stopping(runs, epochs=5)
    assert t.iloc[0].to_dict() == {"row": "A", "seed": 0, "partition": "p", "epochs run": 3, "best epoch": 2,
                                   "ended by": "early stopping", "gain in last 20 %": pytest.approx(-0.01),
                                   "converged": True, "training minutes": 1.5}
    assert t["row"].tolist() == ["A", "C", "D", "the 2 of 3 runs with a recorded time"] and np.isnan(t["training minutes"][2])
    assert t["training minutes"].iloc[-1] == 2.0  # 1.5 + 0.5; the unrecorded run adds nothing
    assert str(t["seed"].dtype) == "Int64" and t["seed"].isna().tolist() == [False, False, False, True]
    assert (notebook.stopping(runs, epochs=3)["ended by"].iloc[:3] == "epoch cap").all()
    assert notebook.stopping(runs[:3], epochs=5).iloc[-1][["row", "training minutes"]].tolist() == ["all runs", 2.0]


def test_stopping_sentence_counts_capped_runs_still_improving():
    t = pd.DataFrame({"row": ["A", "B", "C", "all runs"], "epochs run": [6, 6, 4, pd.NA], "best epoch": [6, 5, 2, pd.NA],
                      "ended by": ["epoch cap", "epoch cap", "early stopping", ""], "converged": [False, True, True, ""]})
    s = notebook.stopping_sentence(t)
    assert s.startswith("The best validation epoch is the last one in 1 of the 2 runs that the epoch cap ended")
    assert "still improving" in s and s.endswith("2 of 3 runs converged (validation score flat within 0.005 over the "
                                                 "last 20 % of epochs): verdicts on the others are labelled unconverged.")
    t.loc[0, "best epoch"] = 3
    assert "stopped improving before the cap" in notebook.stopping_sentence(t)
    assert notebook.stopping_sentence(t[t["ended by"] != "epoch cap"]).startswith("No run was ended by the epoch cap. 1 of 1")

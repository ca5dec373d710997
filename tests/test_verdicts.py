"""The summary's verdicts on tiny hand-made runs: intervals, tolerance, untestable numbers, claims."""
from types import SimpleNamespace

import pandas as pd
import pytest
from scipy import stats

from skinseg import verdicts
from skinseg.papers.spec import Claim, PaperSpec, Reported, Variant


# validation Jaccard per epoch: flat over the last 20 % (converged) and still climbing (not)
FLAT = pd.DataFrame({"epoch": range(1, 11), "val_jaccard": [.5, .6, .7, .75, .78, .80, .81, .81, .812, .811]})
CLIMBING = FLAT.assign(val_jaccard=[.5, .6, .7, .72, .74, .75, .76, .77, .79, .81])


def _run(variant, partition, jaccard, seed=0, per_image=None, history=FLAT, pooled=None):
    """A run's test lesion Jaccard: per-image mean ``jaccard``, pooled ``pooled`` (default: the same)."""
    m = pd.DataFrame([dict(metric=metric, reduction=red, target="lesion", resolution="original",
                           value=value if metric == "jaccard" else 2 * value / (1 + value))
                      for red, value in (("macro", jaccard), ("micro", jaccard if pooled is None else pooled))
                      for metric in ("jaccard", "dice")])
    pi = pd.DataFrame({"jaccard": per_image or [], "resolution": "original"})
    return SimpleNamespace(variant=variant, seed=seed, partition=partition, metrics=m, per_image=pi,
                           history=history, parameters=1000)


def _exp(reported, claims=(), variants=(Variant("A", "unet", main=True), Variant("B", "unet"))):
    spec = PaperSpec("t", "nb", "", "", {}, {}, variants=variants, reported=reported, claims=claims,
                     audit_summary="cause")
    # under "kfold", 5 folds of 25 test, 90 training and 10 validation images: n_test/n_train 25/90
    counts = pd.DataFrame({"partition": [f"fold{k}" for k in range(5)], "train": 90, "val": 10, "test": 25})
    return SimpleNamespace(spec=spec, variants=lambda: list(spec.variants),
                           variant_params=lambda v: {"paper_dataset": "isic2018", "target": "lesion",
                                                     "monitor": "jaccard"},
                           params={"folds": 5, "protocol": "holdout"},
                           data=lambda v=None: SimpleNamespace(counts=lambda: counts))


def test_interval_and_judge():
    mean, lo, hi = verdicts.interval([0.70, 0.72, 0.74])
    half = stats.t.ppf(0.975, 2) * 0.02 / 3 ** 0.5
    assert (mean, lo, hi) == pytest.approx((0.72, 0.72 - half, 0.72 + half))
    assert verdicts.judge(0.70, mean, lo, hi, 0.02) == "inconclusive"  # inside, but the interval is ±0.05
    assert verdicts.judge(0.72, 0.72, 0.71, 0.73, 0.02) == "reproduced"
    assert verdicts.judge(0.65, 0.72, 0.71, 0.73, 0.02) == "not reproduced"
    assert verdicts.judge(0.70, 0.72, 0.715, 0.725, 0.02) == "within tolerance"
    assert verdicts.interval([0.5], per_image=None) == (0.5, 0.5, 0.5)
    # where one more run would fall: sd sqrt(1/3 + 1) instead of sd sqrt(1/3)
    _, plo, phi = verdicts.interval([0.70, 0.72, 0.74], predict_runs=1)
    assert (plo, phi) == pytest.approx((0.72 - 2 * half, 0.72 + 2 * half))  # sqrt(4/3) / sqrt(1/3) = 2
    assert verdicts.judge(0.70, 0.72, 0.60, 0.84, 0.02, precision=0.015) == "reproduced"  # wide PI, precise mean
    assert verdicts.judge(0.70, 0.72, 0.60, 0.84, 0.02, precision=0.03) == "inconclusive"
    assert verdicts.tolerance("parameters", 600_000) == pytest.approx(60_000)


def test_number_rows_judge_each_reported_number_or_say_why_not():
    rep = (Reported("T1", "A", "jaccard", 0.80), Reported("T1", "B", "jaccard", 0.60),
           Reported("T1", "Q", "jaccard", 0.70, reported_only=True),
           Reported("Abs", "A", "images_per_second", 100), Reported("T1", "C", "jaccard", 0.5),
           Reported("T1", "A", "jaccard_gain", 0.10, difference_of=("A", "B", "jaccard")))
    runs = [_run("A", f"f{k}", j, per_image=[j]) for k, j in enumerate((0.799, 0.800, 0.801))]
    runs += [_run("B", f"f{k}", j) for k, j in enumerate((0.698, 0.700, 0.702))]
    rows = {(r["row"], r["metric"]): r for r in verdicts.number_rows(_exp(rep), runs, data_used=False)}
    assert rows[("A", "jaccard")]["verdict"] == "reproduced" and rows[("A", "jaccard")]["cause"] == (
        "cause; compared: both: the row prints no Jaccard/Dice pair to tell its reduction")
    assert rows[("B", "jaccard")]["verdict"] == "not reproduced"
    assert rows[("B", "jaccard")]["difference"] == pytest.approx(0.10)
    assert rows[("Q", "jaccard")]["verdict"] == "context (reported only)" and "competitor" in rows[("Q", "jaccard")]["cause"]
    assert rows[("A", "jaccard")]["converged"] == "yes (3/3 runs)"
    assert "GPU" in rows[("A", "images_per_second")]["cause"]
    assert rows[("C", "jaccard")]["cause"] == "no finished run of this row under this profile"
    gain = rows[("A", "jaccard_gain")]  # differences per pair: 0.101, 0.100, 0.099
    assert gain["difference"] == pytest.approx(0.0, abs=1e-9) and gain["verdict"] == "reproduced"
    assert gain["ours"] == "0.1000 [0.0950, 0.1050] (3 paired runs; where one run would fall)"  # ± t₂ 0.001 sqrt(4/3)
    one_pair = verdicts.number_rows(_exp(rep[-1:]), runs[:1] + runs[3:4], data_used=False)[0]
    assert one_pair["verdict"] == "not testable here" and "two or more paired runs" in one_pair["cause"]


def test_a_per_epoch_number_beyond_the_profiles_epochs_says_so_and_the_papers_sd_is_shown():
    rep = (Reported("T2", "A", "jaccard", 0.56, epoch=2, split="train"),
           Reported("T2", "A", "jaccard", 0.90, epoch=5, split="train"), Reported("T3", "A", "dice", 0.8, 0.004))
    runs = [_run("A", "holdout", 0.8, seed=s) for s in range(3)]
    for o, j in zip(runs, (0.55, 0.56, 0.57)):
        o.history = pd.DataFrame({"epoch": [1, 2, 3], "train_jaccard": [0.4, j, 0.6]})
    rows = verdicts.number_rows(_exp(rep), runs, data_used=False)
    assert rows[0]["difference"] == pytest.approx(0.0, abs=1e-9) and pd.isna(rows[0]["reported sd"])
    assert rows[1]["verdict"] == "not testable here"
    assert rows[1]["cause"] == "this profile's runs train 3 epochs; the table's epoch 5 is beyond them"
    assert rows[2]["reported sd"] == 0.004


def test_a_row_with_a_run_that_predicts_no_lesion_is_not_testable():
    rep = (Reported("T1", "A", "jaccard", 0.80), Reported("T1", "A", "parameters", 1000))
    runs = [_run("A", "f0", 0.78), _run("A", "f1", 0.01), _run("A", "f2", 0.79)]
    rows = {r["metric"]: r for r in verdicts.number_rows(_exp(rep), runs, data_used=False)}
    assert rows["jaccard"]["verdict"] == "not testable here"
    assert rows["jaccard"]["cause"] == "predicts (almost) no lesion (Jaccard < 0.05): A [f1, seed 0]"
    assert rows["parameters"]["verdict"] == "reproduced"  # a count does not depend on convergence


def test_two_runs_far_from_the_reported_value_are_inconclusive_not_reproduced():
    rep = (Reported("T2", "A", "jaccard", 0.81),)
    row = verdicts.number_rows(_exp(rep), [_run("A", "f0", 0.20), _run("A", "f1", 0.34)], data_used=False)[0]
    assert row["verdict"] == "inconclusive"  # 0.81 lies in [-0.62, 1.16]: nothing is shown either way
    # clipped to [0, 1]; the row prints no Jaccard/Dice pair, so both reductions are shown (here equal)
    assert row["ours"].startswith("per-image 0.2700 [0.0000, 1.0000] (2 runs; where one run would fall); pooled ")
    assert (row["interval low"], row["interval high"]) == (0.0, 1.0)
    assert row["reduction"] == "both"  # and the cause says why, as for a row whose pair fits neither
    assert row["cause"] == "cause; compared: both: the row prints no Jaccard/Dice pair to tell its reduction"  # after the audit


def test_intervals_are_clipped_to_what_the_metric_can_take():
    assert verdicts.clip_to_range(-0.3, 1.2, "jaccard") == (0.0, 1.0)
    assert verdicts.clip_to_range(-1.4, 0.2, "jaccard", difference=True) == (-1.0, 0.2)
    assert verdicts.clip_to_range(0.1, 0.3, "dice") == (0.1, 0.3)  # inside: unchanged
    assert verdicts.clip_to_range(-50.0, 900.0, "parameters") == (0.0, 900.0)
    assert verdicts.clip_to_range(-50.0, 900.0, "parameters", difference=True) == (-50.0, 900.0)


def test_kfold_numbers_use_the_corrected_resampled_t():
    rep = (Reported("T2", "A", "jaccard", 0.80, runs=5),)  # a 5-fold mean, like ASNet's Table 2
    runs = [_run("A", f"fold{k}", j) for k, j in enumerate((0.79, 0.80, 0.81, 0.80, 0.80))]
    exp = _exp(rep)
    plain = verdicts.number_rows(exp, runs, data_used=False)[0]["ours"]
    exp.params = {"folds": 5, "protocol": "kfold"}
    corrected = verdicts.number_rows(exp, runs, data_used=False)[0]["ours"]
    sd = pd.Series([0.79, 0.80, 0.81, 0.80, 0.80]).std()
    # our mean and theirs, each corrected by n_test/n_train = 25/90 (the trained-on images, not 1/(K-1) = 1/4)
    half = stats.t.ppf(0.975, 4) * sd * (1 / 5 + 25 / 90 + 1 / 5 + 25 / 90) ** 0.5
    assert plain != corrected
    assert corrected.startswith(
        f"per-image 0.8000 [{0.8 - half:.4f}, {0.8 + half:.4f}] (5 runs; where a mean of 5 runs would fall); pooled")


def test_a_kfold_row_is_judged_only_once_every_fold_has_run():
    rep = (Reported("T2", "A", "jaccard", 0.80, runs=5),)
    exp = _exp(rep)
    exp.params = {"folds": 5, "protocol": "kfold"}
    runs = [_run("A", f"fold{k}", 0.80) for k in range(5)]
    row = verdicts.number_rows(exp, runs[:2], data_used=False)[0]
    assert row["verdict"] == "not testable here" and row["cause"].startswith("2 of 5 folds finished")
    assert verdicts.number_rows(exp, runs, data_used=False)[0]["verdict"] == "reproduced"


def test_kfold_claims_count_folds_not_seed_pairs_and_say_when_the_profile_caps_folds():
    claims = (Claim("A beats B", "A", "B"),)
    runs = [_run(v, f"fold{k}", 0.80 + (0.01 if v == "A" else 0) + s / 1000, seed=s)
            for v in "AB" for k in range(3) for s in (0, 1)]  # 6 pairs over 3 folds
    exp = _exp((), claims)
    exp.params = {"folds": 5, "protocol": "kfold", "max_folds": 3}
    row = verdicts.claim_rows(exp, runs, data_used=False)[0]
    assert row["verdict"] == "not testable here"
    assert row["cause"] == ("3 of 5 folds paired under this profile; a 5-fold claim needs all 5 "
                            "(this profile runs max_folds=3)")


def test_runs_without_the_metric_are_left_out_not_judged_as_nan():
    rep = (Reported("T1", "A", "jaccard_gain", 0.0, difference_of=("A", "B", "jaccard")),
           Reported("T1", "A", "jaccard", 0.80))
    runs = [_run("A", f"f{k}", j) for k, j in enumerate((0.80, 0.80, float("nan")))]
    runs += [_run("B", f"f{k}", j) for k, j in enumerate((0.79, 0.81, 0.80))]
    rows = {r["metric"]: r for r in verdicts.number_rows(_exp(rep), runs, data_used=False)}
    assert rows["jaccard_gain"]["ours"].startswith("0.0000 [") and "(2 paired runs" in rows["jaccard_gain"]["ours"]
    assert (rows["jaccard"]["ours"], rows["jaccard"]["verdict"]) == ("per-image 0.8000; pooled 0.8000",
                                                                     "reproduced")  # two runs of 0.80


def test_reported_runs_must_be_a_positive_count():
    with pytest.raises(ValueError, match="runs=0"):
        Reported("T2", "A", "jaccard", 0.8, runs=0)


def test_a_faithful_single_run_outside_the_interval_of_our_mean_is_still_reproduced():
    # three seeds of sd 0.005 around 0.80; the paper's one run at 0.815: 3 sd off, outside our mean's
    # interval (± t₂ 0.005/sqrt(3) = ±0.0124) but inside where one run would fall (± 0.0248)
    rep = (Reported("T1", "A", "jaccard", 0.815),)
    runs = [_run("A", "p", j, seed=k) for k, j in enumerate((0.795, 0.800, 0.805))]
    row = verdicts.number_rows(_exp(rep), runs, data_used=False)[0]
    assert row["verdict"] == "reproduced"
    assert row["interval high"] == pytest.approx(0.80 + stats.t.ppf(0.975, 2) * 0.005 * (4 / 3) ** 0.5)


def test_one_run_uses_a_bootstrap_interval_over_images():
    rep = (Reported("T1", "A", "jaccard", 0.55),)
    run = _run("A", "p", 0.6, per_image=[0.2, 0.9, 0.5, 0.8, 0.6])
    row = verdicts.number_rows(_exp(rep), [run], data_used=False)[0]
    assert row["verdict"] == "inconclusive" and "1 run; bootstrap over its test images" in row["ours"]
    tight = _run("A", "p", 0.55, per_image=[0.54, 0.55, 0.56, 0.55, 0.55])
    assert verdicts.number_rows(_exp(rep), [tight], data_used=False)[0]["verdict"] == "reproduced"


def test_claims_greater_and_close():
    claims = (Claim("A beats B", "A", "B"), Claim("A is as good as B", "A", "B", kind="close"),
              Claim("B beats A", "B", "A"))
    runs = [_run("A", f"f{k}", 0.80 + d) for k, d in enumerate((0.002, 0.0025, 0.003))]
    runs += [_run("B", f"f{k}", 0.80) for k in range(3)]
    rows = {r["reported"]: r for r in verdicts.claim_rows(_exp((), claims), runs, data_used=False)}
    assert rows["A beats B"]["verdict"] == "reproduced"  # +0.0025, t interval [0.0013, 0.0037]
    assert rows["A is as good as B"]["verdict"] == "reproduced"  # inside ±0.02
    assert rows["B beats A"]["verdict"] == "not reproduced"
    close = claims[1:2]
    spread = [_run("A", f"f{k}", 0.80 + d) for k, d in enumerate((-0.03, 0.0, 0.03))] + runs[3:]
    row = verdicts.claim_rows(_exp((), close), spread, data_used=False)[0]  # mean 0, t interval ±0.0745
    assert row["verdict"] == "not shown (interval not within ±tolerance)"
    apart = [_run("A", f"f{k}", 0.85 + d) for k, d in enumerate((0.0, 0.001, 0.002))] + runs[3:]
    assert verdicts.claim_rows(_exp((), close), apart, data_used=False)[0]["verdict"] == "not reproduced"
    # narrower than ±0.02 altogether (0.035 wide) but off-centre: mean -0.005, t interval [-0.0224, +0.0124]
    off = [_run("A", f"f{k}", 0.80 + d) for k, d in enumerate((-0.012, -0.005, 0.002))] + runs[3:]
    row = verdicts.claim_rows(_exp((), close), off, data_used=False)[0]
    assert row["verdict"] == "not shown (interval not within ±tolerance)" and row["interval low"] < -0.02
    one = verdicts.claim_rows(_exp((), claims[:1]), runs[:1] + runs[3:4], data_used=False)[0]
    assert one["verdict"] == "not testable here" and one["cause"] == "one paired run: no interval"
    assert one["ours"] == "+0.0020 (1 pair: no interval)"
    collapsed = [_run("A", f"f{k}", 0.5 + k / 100) for k in range(3)] + [_run("B", f"f{k}", 0.0) for k in range(3)]
    row = verdicts.claim_rows(_exp((), claims[:1]), collapsed, data_used=False)[0]
    assert row["verdict"] == "not testable here" and "B [f0, seed 0]" in row["cause"]  # B predicts no lesion
    kfold = _exp((), claims[:1])
    kfold.params = {"folds": 5, "protocol": "kfold"}  # 3 of 5 folds paired: not the protocol's comparison yet
    row = verdicts.claim_rows(kfold, runs, data_used=False)[0]
    assert row["verdict"] == "not testable here" and row["cause"].startswith("3 of 5 folds paired")


def test_a_claim_must_name_two_rows_and_a_kind():
    with pytest.raises(ValueError, match="claim 'x' must compare two rows"):
        _exp((), (Claim("x", "A", "Z"),))
    with pytest.raises(ValueError, match="'greater' or 'close'"):
        _exp((), (Claim("x", "A", "B", kind="better"),))


def test_reported_vs_reproduced_draws_one_panel_per_paper_with_our_interval():
    import matplotlib

    matplotlib.use("Agg")
    from skinseg import plots

    nan = float("nan")
    lines = pd.DataFrame([
        dict(paper="p1", row="A", metric="jaccard", epoch="", reported=0.8, difference=-0.05,
             **{"interval low": 0.70, "interval high": 0.80}),
        dict(paper="p1", row="A", metric="parameters", epoch="", reported=600000, difference=100.0,
             **{"interval low": nan, "interval high": nan}),  # a count: another scale, left out
        dict(paper="p1", row="A vs B", metric="jaccard", epoch="", reported="A beats B", difference=0.01,
             **{"interval low": -0.01, "interval high": 0.03}),  # a claim: text, left out
        dict(paper="p2", row="C", metric="iou", epoch=3, reported=0.9, difference=-0.2,
             **{"interval low": nan, "interval high": nan}),  # one run without interval: a bare point
        dict(paper="p2", row="D", metric="iou", epoch="", reported=0.5, difference=nan,
             **{"interval low": nan, "interval high": nan}),  # not run: left out
    ]).assign(where="Table 1")
    two_blocks = lines.iloc[[0, 0]].assign(where=["Table 1 (2016)", "Table 1 (2017)"], paper="p3")
    two_blocks = pd.concat([two_blocks, lines.iloc[[0, 0]].assign(block=["isic2016", "isic2017"], paper="p4")])
    lines = pd.concat([lines, two_blocks], ignore_index=True)
    fig = plots.reported_vs_reproduced(lines)
    axes = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left") for ax in axes] == ["p1", "p2", "p3", "p4"]
    # readable at page width: 1,200 px wide (shown unscaled under 1,300 px), no label under 9 points
    assert fig.get_size_inches()[0] * fig.dpi == 1200
    assert min(t.get_fontsize() for ax in axes for t in [*ax.get_yticklabels(), *ax.get_xticklabels()]) >= 9
    p1, p2, p3 = axes[:3]
    # the same row and metric in two blocks of one table: told apart by where they are reported
    assert [t.get_text() for t in p3.get_yticklabels()] == ["Table 1 (2016): A · jaccard", "Table 1 (2017): A · jaccard"]
    # or by the dataset block, in one table reporting two
    assert [t.get_text() for t in axes[3].get_yticklabels()] == ["Table 1 [isic2016]: A · jaccard",
                                                                 "Table 1 [isic2017]: A · jaccard"]
    axes = axes[:2]
    assert [t.get_text() for t in p1.get_yticklabels()] == ["A · jaccard"]
    assert [t.get_text() for t in p2.get_yticklabels()] == ["C · iou (epoch 3)"]
    reported_x = [float(c.get_offsets()[0][0]) for ax in axes for c in ax.collections if c.get_offsets().size
                  and c.get_label() == "reported"]
    assert reported_x == [0.8, 0.9]
    bar = next(c for c in p1.collections if c.get_label() != "reported" and hasattr(c, "get_segments"))
    assert bar.get_segments()[0][:, 0].tolist() == pytest.approx([0.70, 0.80])  # the 95 % interval


def test_a_verdict_on_an_unconverged_run_is_labelled_so():
    rep = (Reported("T1", "A", "jaccard", 0.80),)
    runs = [_run("A", f"f{k}", j, per_image=[j]) for k, j in enumerate((0.799, 0.800, 0.801))]
    runs[1].history = CLIMBING  # its last two epochs gain 0.04 over the best before them
    row = verdicts.number_rows(_exp(rep), runs, data_used=False)[0]
    assert row["verdict"] == "reproduced (unconverged)" and row["converged"] == "no (2/3 runs)"
    claim = Claim("A beats B", "A", "B")
    pairs = runs + [_run("B", f"f{k}", 0.70) for k in range(3)]
    line = verdicts.claim_rows(_exp((), (claim,)), pairs, data_used=False)[0]
    assert line["verdict"] == "reproduced (unconverged)" and line["converged"] == "no (5/6 runs)"


def test_each_dataset_block_says_the_data_its_own_row_ran_on(monkeypatch):
    monkeypatch.setattr(verdicts.tables, "dataset_used", lambda exp, v: f"data of {v.label}")
    rows = (Variant("A", "unet", main=True), Variant("A [2016]", "unet", row="A", overrides={"paper_dataset": "isic2016"}))
    rep = (Reported("T1", "A", "jaccard", 0.8, paper_dataset="isic2017"),
           Reported("T1", "A", "jaccard", 0.8, paper_dataset="isic2016"))
    exp = _exp(rep, variants=rows)
    exp.variant_params = lambda v: {"paper_dataset": "isic2016" if "2016" in getattr(v, "label", v) else "isic2017",
                                    "target": "lesion", "monitor": "jaccard"}
    runs = [_run("A", "f0", 0.8, per_image=[0.8, 0.8]), _run("A [2016]", "f0", 0.8, per_image=[0.8, 0.8])]
    used = {r["block"]: r["data used"] for r in verdicts.number_rows(exp, runs)}
    assert used == {"isic2017": "data of A", "isic2016": "data of A [2016]"}


def test_an_evaluation_only_row_is_judged_by_its_trained_rows_history():
    rows = (Variant("A", "unet", main=True), Variant("A opened", "unet", eval_of="A", overrides={"postprocess": "opening"}))
    exp = _exp((Reported("T1", "A opened", "jaccard", 0.80),), variants=rows)
    trained = _run("A", "f0", 0.8, per_image=[0.8, 0.8])
    scored = _run("A opened", "f0", 0.8, per_image=[0.8, 0.8], history=pd.DataFrame())  # no history of its own
    assert verdicts.number_rows(exp, [trained, scored], data_used=False)[0]["converged"] == "yes (1/1 runs)"
    trained.history = CLIMBING
    assert verdicts.number_rows(exp, [trained, scored], data_used=False)[0]["converged"] == "no (0/1 runs)"


def test_a_marker_from_before_a_parameter_existed_loads_with_its_default(tmp_path, monkeypatch):
    """The summary reads each paper's runs with the parameters its notebook ran with (the runner's
    marker). A marker written before a parameter was added lacks it: that run used the default."""
    import json

    from skinseg import params as P
    from skinseg.experiment import Experiment
    from skinseg.papers import get_paper
    from skinseg.profiles import load_profile, resolve

    spec = get_paper("delatorre2018")
    old = {k: v for k, v in resolve(spec, load_profile("smoke")).items() if k not in ("optimizer_impl", "ce_weight")}
    marker = tmp_path / "smoke" / "notebooks" / f"{spec.notebook}.run.json"
    marker.parent.mkdir(parents=True)
    marker.write_text(json.dumps({"params": {**old, "results_dir": str(tmp_path)}}))
    monkeypatch.setattr(Experiment, "run_all", lambda self, **kw: [])
    exp, outcomes = verdicts.load("delatorre2018", "smoke", results_dir=str(tmp_path))
    assert exp.params["optimizer_impl"] == P.BY_NAME["optimizer_impl"].default == "auto"
    assert exp.params["ce_weight"] == 1.0 and exp.params["epochs"] == old["epochs"] and outcomes == []


def test_every_committed_notebook_marker_loads_under_the_current_schema():
    import json

    from conftest import ROOT
    from skinseg import params as P

    markers = sorted((ROOT / "results").glob("*/notebooks/*.run.json"))
    assert markers, "no committed notebook markers under results/"
    for m in markers:
        P.validate({**P.defaults(), **json.loads(m.read_text())["params"]})  # raises naming the parameter


def _pair_spec(jaccard, dice):
    return (Reported("T1", "A", "jaccard", jaccard), Reported("T1", "A", "dice", dice))


@pytest.mark.parametrize("dice, compared", [(0.8889, ("micro",)), (0.85, ("macro",)), (0.95, ("macro", "micro"))],
                         ids=["pair fits pooled", "dice below: per-image", "dice above: neither"])
def test_each_row_is_compared_on_the_reduction_its_own_pair_shows(dice, compared):
    """Like with like: DIC = 2·JAC/(1+JAC) (0.8 -> 0.8889) is what pooled pixels give; a per-image mean's
    Dice lies below it (Jensen); above it, neither fits, and both are compared."""
    r = _pair_spec(0.80, dice)[0]
    assert verdicts.compared_reductions(_exp(_pair_spec(0.80, dice)), r)[0] == compared
    assert verdicts.compared_reductions(_exp((r,)), r)[0] == ("macro", "micro")  # no pair: cannot tell
    # a per-epoch value, a count and a difference have no reduction
    assert verdicts.compared_reductions(_exp((r,)), Reported("T2", "A", "jaccard", 0.8, epoch=3))[0] == ()


def test_a_pooled_row_is_judged_on_our_pooled_value_and_the_other_stays_in_view():
    rep = _pair_spec(0.80, 0.8889)
    # per-image mean 0.75 (far below), pooled 0.80 (on the paper's number): three tight seeds each
    runs = [_run("A", "holdout", 0.75 + d, seed=k, pooled=0.80 + d) for k, d in enumerate((-0.001, 0, 0.001))]
    row = next(r for r in verdicts.number_rows(_exp(rep), runs, data_used=False) if r["metric"] == "jaccard")
    assert row["verdict"] == "reproduced" and row["reduction"] == "pooled"
    assert row["ours"].startswith("0.8000 [") and row["difference"] == pytest.approx(0.0)
    assert "compared: pooled" in row["cause"]


def test_where_the_reduction_cannot_be_told_both_are_judged_and_a_split_verdict_is_inconclusive():
    rep = (Reported("T1", "A", "jaccard", 0.80),)  # no Dice beside it
    runs = [_run("A", "holdout", 0.75 + d, seed=k, pooled=0.80 + d) for k, d in enumerate((-0.001, 0, 0.001))]
    row = verdicts.number_rows(_exp(rep), runs, data_used=False)[0]
    assert row["reduction"] == "both" and row["verdict"] == "inconclusive"
    assert row["cause"].startswith("the reduction is unknown, and the verdict depends on it (per-image: not "
                                   "reproduced, pooled: reproduced)")
    assert row["ours"].startswith("per-image 0.7500 [") and "; pooled 0.8000 [" in row["ours"]
    same = [_run("A", "holdout", 0.80 + d, seed=k, pooled=0.801 + d) for k, d in enumerate((-0.001, 0, 0.001))]
    assert verdicts.number_rows(_exp(rep), same, data_used=False)[0]["verdict"] == "reproduced"  # they agree


@pytest.mark.parametrize("ours, expected", [
    (0.70, "inconclusive (unconverged)"),      # below and still climbing: says nothing against the paper
    (0.79, "inconclusive (unconverged)"),      # within tolerance below: likewise
    (0.90, "not reproduced (unconverged: ours already above)"),
    (0.80, "reproduced (unconverged)"),
])
def test_an_unconverged_run_below_a_reported_number_says_nothing_against_it(ours, expected):
    rep = (Reported("T1", "A", "jaccard", 0.80), Reported("T1", "A", "dice", 0.8889))
    runs = [_run("A", "holdout", ours + d, seed=k, pooled=ours + d, history=CLIMBING)
            for k, d in enumerate((-0.001, 0, 0.001))]
    row = next(r for r in verdicts.number_rows(_exp(rep), runs, data_used=False) if r["metric"] == "jaccard")
    assert row["verdict"] == expected and row["converged"].startswith("no")
    converged = [_run("A", "holdout", 0.70 + d, seed=k, pooled=0.70 + d) for k, d in enumerate((-0.001, 0, 0.001))]
    row = next(r for r in verdicts.number_rows(_exp(rep), converged, data_used=False) if r["metric"] == "jaccard")
    assert row["verdict"] == "not reproduced"  # converged and below: a finding


def test_unconverged_verdict_rule():
    u = verdicts.unconverged_verdict
    assert u("not reproduced") == u("within tolerance") == u("inconclusive") == "inconclusive (unconverged)"
    assert u("not reproduced", above=True) == "not reproduced (unconverged: ours already above)"
    assert u("within tolerance", above=True) == "inconclusive (unconverged)"
    assert u("not shown (interval covers 0)") == "not shown (interval covers 0) (unconverged)"

"""The summary's helpers: markdown tables, hardest images, summary.md's order, and the runner
running the summary after the paper notebooks."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from skinseg import batch, comparison, summary, verdicts
from skinseg.results import metric_value


def test_markdown_table_formats_and_escapes():
    df = pd.DataFrame({"a": ["x|y", "z"], "b": [0.123456, np.nan], "c": [3, 4], "d": [47489.0, 12.5]})
    assert summary.markdown_table(df).splitlines() == [
        "| a | b | c | d |", "|---|---|---|---|", "| x\\|y | 0.1235 | 3 | 47,489 |", "| z |  | 4 | 12.5000 |"]


def test_hardest_images_are_those_most_models_fail_then_the_lowest_mean():
    def run(variant, seed, scores):
        return SimpleNamespace(variant=variant, seed=seed, partition="p", per_image=pd.DataFrame(
            {"image_id": ["a", "b", "c", "d"], "jaccard": scores, "resolution": "original"}))
    # per model, the mean over its runs: M (seeds 0, 1) a 0.8, b 0.2, c 0.0, d 0.6; N a 0.8, b 0.0, c 1.0, d 0.6
    outs = [run("M", 0, [0.9, 0.1, 0.0, 0.5]), run("M", 1, [0.7, 0.3, 0.0, 0.7]), run("N", 0, [0.8, 0.0, 1.0, 0.6])]
    hard = summary.hardest_images(outs, n=3)
    # b and d fail both models (below 0.65); c fails one, though its mean (0.5) is below d's (0.6)
    assert list(hard.index) == ["b", "d", "c"]
    assert hard.loc["b", "M"] == 0.2 and hard.loc["b", "all models"] == 0.1
    assert list(hard["models failing"]) == ["2 of 2", "2 of 2", "1 of 2"]


def test_summary_md_puts_the_verdicts_first(tmp_path):
    v = pd.DataFrame({"paper": ["p"], "verdict": ["reproduced"], "reported": [0.5], "data used": ["ISIC 2017"]})
    summary.write_summary(tmp_path / "s.md", "smoke", v, pd.DataFrame(), pd.DataFrame({"model": ["m"]}),
                          {"fraction": 0.02, "count (relative)": 0.1})
    text = (tmp_path / "s.md").read_text()
    assert text.index("## Verdicts") < text.index("## One protocol") < text.index("## Costs")
    assert "1 reproduced" in text and "| p | reproduced | 0.5000 | ISIC 2017 |" in text and "Synthetic" not in text
    assert "±0.02 absolute for fractions" in text and "±10% of the reported value for counts" in text
    assert "No finished run under this profile." in text and "Reference:" not in text  # no unverified figure
    assert "Reported-only context" not in text and "by processor" not in text  # no spent table given
    assert "## Cross-dataset test" in text and "Not run." in text
    spent = pd.DataFrame({"processor": ["AMD EPYC (AVX512-BF16)"], "runs": [2], "training hours": [5.25]})
    summary.write_summary(tmp_path / "s.md", "smoke", v, pd.DataFrame(), pd.DataFrame({"model": ["m"]}),
                          {"fraction": 0.02, "count (relative)": 0.1}, spent=spent)
    text = (tmp_path / "s.md").read_text()
    assert text.index("## Costs") < text.index("### Training time the finished runs spent, by processor")
    assert "| AMD EPYC (AVX512-BF16) | 2 | 5.25 |" in text
    one = pd.DataFrame({"model": ["U-Net", "FPN"], "runs": [1, 0], "planned runs": [3, 1], "jaccard": ["0.7000", ""]})
    summary.write_summary(tmp_path / "s.md", "smoke", v, one, pd.DataFrame({"model": ["m"]}),
                          {"fraction": 0.02, "count (relative)": 0.1}, cross_dataset="no PH2 folder here: skipped",
                          one_protocol_note="Protocol: 96×96 input.")
    text = (tmp_path / "s.md").read_text()
    assert "Protocol: 96×96 input.\n\n*jaccard* and *threshold_jaccard*: per-image means" in text
    assert "\n\n| model | runs |" in text and "| FPN | 0 | 1 |  |" in text
    assert "*difference*: ours − reported" in text and "No GPU benchmark is committed" in text
    assert "no PH2 folder here: skipped" in text and "No finished run" not in text
    summary.write_summary(tmp_path / "s.md", "smoke", v.assign(**{"data used": "ISIC 2018 (synthetic)"}),
                          pd.DataFrame(), pd.DataFrame({"model": ["m"]}), {"fraction": 0.02, "count (relative)": 0.1},
                          runs=pd.DataFrame({"paper": ["p"], "finished": [2], "planned": [3]}))
    text = (tmp_path / "s.md").read_text()
    assert "**Synthetic data" in text and "## Setup behind the verdicts" in text and "| p | 2 | 3 |" in text
    summary.write_summary(tmp_path / "s.md", "smoke", v, pd.DataFrame(), pd.DataFrame({"model": ["m"], "device": ["cuda"]}),
                          {"fraction": 0.02, "count (relative)": 0.1})
    assert "No GPU benchmark" not in (tmp_path / "s.md").read_text()


def test_setup_row_lists_what_the_profile_changes_from_the_recipe(tmp_path):
    from skinseg import params as P

    spec = SimpleNamespace(recipe={"epochs": 100, "lr": 0.01, "ce_weight": 0.5, "batch_size": 12, "image_height": 96,
                                   "image_width": 128},
                           recipe_sources={"lr": "§2.5", "ce_weight": "§2.4 eq. 3", "batch_size": "§2.5",
                                           "epochs": "not stated (100 is ours)",
                                           "encoder_weights": "§2.1: a pre-trained ResNet34"},
                           variant=lambda row: SimpleNamespace(eval_of="A" if row == "A+post" else None))
    # where the data lies and the machine it runs on are no recipe settings (data_root, device)
    params = {**P.defaults(), "epochs": 24, "lr": 0.01, "ce_weight": 1.0, "batch_size": 12, "image_height": 96,
              "image_width": 128, "lr_schedule": "poly", "data_root": "../data", "device": "cuda"}
    exp = SimpleNamespace(spec=spec, params=params, completeness=lambda: pd.DataFrame(
        {"row": ["A", "A", "A+post"], "partition": ["f0", "f1", "f0"], "seed": 0,
         "status": ["finished", "finished", "absent"]}), run_dir=lambda v, part, seed: SimpleNamespace(path=tmp_path / part))
    (tmp_path / "f0").mkdir()
    (tmp_path / "f0" / "provenance.json").write_text('{"device": "cuda", "gpu": "NVIDIA H200", "cpu": "x"}')
    row = summary.setup_row("asnet", exp)
    assert row == {"paper": "asnet", "finished": 2, "planned": 3, "evaluation-only": 1, "epochs": 24,
                   "input": "96×128", "ran on": "NVIDIA H200 1, not recorded 1", "differs from the recipe": (
                       "epochs 24 (recipe: 100, not stated in the paper); lr_schedule poly (recipe: constant, not "
                       "stated in the paper); ce_weight 1 (recipe: 0.5); encoder from scratch (recipe: §2.1: a "
                       "pre-trained ResNet34)")}
    exp.params = {**params, "epochs": 100, "ce_weight": 0.5, "lr_schedule": "constant", "encoder_weights": "r34.pt"}
    assert summary.setup_row("asnet", exp)["differs from the recipe"] == "nothing"
    exp.params = {**exp.params, "early_stopping_patience": 0}
    spec.recipe = {**spec.recipe, "early_stopping_patience": 20}
    assert summary.setup_row("asnet", exp)["differs from the recipe"] == \
        "early_stopping_patience 0 (off) (recipe: 20, not stated in the paper)"
    spec.recipe_sources = {"epochs": "ours: one protocol"}  # a recipe of ours (the one protocol): nothing to mark
    assert summary.setup_row("asnet", exp)["differs from the recipe"] == "early_stopping_patience 0 (off) (recipe: 20)"


def test_separation_notes_flag_a_table_whose_rows_our_intervals_cannot_tell_apart():
    def table(half, claim_metric="jaccard"):
        rows = ["A", "B", "C", "A vs B"]
        return pd.DataFrame({"paper": "p", "where": "Table 2", "block": [None, None, None, ""], "row": rows,
                             "metric": ["jaccard"] * 3 + [claim_metric], "reported": [0.80, 0.81, 0.82, "A beats B"],
                             "interval low": [0.80 - half, 0.81 - half, 0.82 - half, -0.5],
                             "interval high": [0.80 + half, 0.81 + half, 0.82 + half, 0.5]})
    notes = summary.separation_notes(table(0.02))  # intervals 0.04 wide against a 0.02 span; no block (NaN)
    assert notes == ["p, Table 2, jaccard: the reported rows span 0.8000–0.8200 (0.0200); our intervals are 0.0400 "
                     "wide (median of 3 rows): a verdict on each cell cannot tell these rows apart; the claims below "
                     "compare them run by run."]
    assert summary.separation_notes(table(0.02, claim_metric="dice"))[0].endswith(
        "no claim of the paper on this metric is judged run by run here.")
    assert summary.separation_notes(table(0.005)) == []  # 0.01 wide: narrower than the span
    assert summary.separation_notes(table(0.02).iloc[[0, 1, 3]]) == []  # two rows: no table to separate


def test_cost_spread_note_names_the_widest_repeat():
    costs = pd.DataFrame({"model": ["m", "m", "n", "n"], "size": ["96×96"] * 4, "batch": [16] * 4,
                          "device": ["cpu"] * 4, "precision": ["bf16"] * 4, "channels_last": [True] * 4,
                          "inference images/s": [100.0, 190.0, 50.0, 60.0], "file": ["a.csv", "b.csv", "a.csv", "a.csv"]})
    # n's two lines are one file (one session): not a repeat across sessions
    assert summary.cost_spread_note(costs).startswith(
        "1 setting was benchmarked in more than one session (file); their inference figures differ by up to 1.9× "
        "(m, 96×96, 16, cpu, bf16, True: 100.00–190.00 images/s)")
    assert summary.cost_spread_note(costs.iloc[[0, 2]]) == ""
    assert "(m: 100.00–190.00 images/s)" in summary.cost_spread_note(costs[["model", "inference images/s", "file"]])
    # the same setting on a CPU that emulates bf16 (a third file) is another setting, not a repeat 10x apart;
    # a file from before the CPU was named ("x86_64") still counts as a repeat of the AMX one
    other_cpu = pd.concat([costs.assign(machine=["Xeon (AMX), 2 threads", "x86_64, 2 threads"] * 2),
                           costs.iloc[[0]].assign(machine="Xeon, 2 threads", file="c.csv", **{"inference images/s": 19.0})])
    note = summary.cost_spread_note(other_cpu)
    assert "differ by up to 1.9× (m, 96×96, 16, cpu, bf16, True, bf16 in hardware: 100.00–190.00" in note
    assert note.endswith("is not counted as a repeat of one from a CPU with them.")


def test_competitor_numbers_are_context_beside_the_verdicts_not_counted_among_them(tmp_path):
    v = pd.DataFrame({"paper": ["p", "p", "p"], "where": ["T1"] * 3, "block": ["isic2017"] * 3,
                      "row": ["ours", "Yuan et al.", "Yuan et al."], "metric": ["jaccard", "jaccard", "dice"],
                      "reported": [0.78, 0.765, 0.849], "data used": "ISIC 2017",
                      "verdict": ["not reproduced", verdicts.CONTEXT, verdicts.CONTEXT]})
    summary.write_summary(tmp_path / "s.md", "smoke", v, pd.DataFrame(), pd.DataFrame({"model": ["m"]}),
                          {"fraction": 0.02, "count (relative)": 0.1})
    text = (tmp_path / "s.md").read_text()
    assert "Verdicts: 1 not reproduced." in text  # the two context numbers are not verdicts
    head, _, ctx = text.partition("### Reported-only context")
    assert "Yuan" not in head.partition("## Verdicts")[2] and "| p | T1 | isic2017 | Yuan et al. | 0.765 | 0.849 |" in ctx


def test_runner_runs_the_summary_after_every_paper_notebook(monkeypatch):
    order = []

    def fake(jobs, n_jobs, child_args, log):
        order.append(([j.notebook.stem for j in jobs], n_jobs))
        return [batch.Outcome(j.notebook.name, "done", 0.0, "") for j in jobs]
    monkeypatch.setattr(batch, "_run_jobs", fake)
    jobs = [batch.Job(Path(f"notebooks/{s}.ipynb"), {}, Path("x")) for s in ("06_summary", "01_a", "02_b")]
    batch.run_batch(jobs, n_jobs=2)
    assert order == [(["01_a", "02_b"], 2), (["06_summary"], 1)]


def test_after_a_failure_the_rest_is_listed_as_skipped(monkeypatch, tmp_path):
    monkeypatch.setattr(batch, "is_complete", lambda job: False)
    monkeypatch.setattr(batch, "execute", lambda job: batch.Outcome(job.notebook.name, "failed", 1.0, "", "boom")
                        if job.notebook.stem == "01_a" else batch.Outcome(job.notebook.name, "done", 1.0, ""))
    jobs = [batch.Job(Path(f"notebooks/{s}.ipynb"), {}, tmp_path / s) for s in ("01_a", "02_b", "06_summary")]
    out = batch.run_batch(jobs, log=lambda line: None)
    assert [(o.notebook, o.status) for o in out] == [("01_a.ipynb", "failed"), ("02_b.ipynb", "skipped"),
                                                     ("06_summary.ipynb", "skipped")]
    assert "1 failed, 2 skipped" in batch.table(out)


def test_a_failed_execution_leaves_no_marker(tmp_path):
    job = batch.Job(tmp_path / "99_missing.ipynb", {}, tmp_path / "out" / "99_missing.ipynb")
    job.out.parent.mkdir()
    job.marker.write_text("{}")  # from an earlier, complete execution
    o = batch.execute(job)
    assert o.status == "failed" and not job.marker.exists()


def test_gallery_draws_each_models_prediction_or_says_its_checkpoint_is_absent():
    import matplotlib
    import torch

    matplotlib.use("Agg")
    from skinseg import plots

    truth = np.zeros((8, 8), bool)
    truth[2:6, 2:6] = True
    cache = SimpleNamespace(image=lambda path, size: np.full((8, 8, 3), 128, np.uint8), mask=lambda path, size: truth)

    class LeftHalf(torch.nn.Module):  # lesion in the left half: a prediction unlike the truth
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, x):
            logits = torch.full((1, 1, 8, 8), -5.0, device=x.device)
            logits[..., :4] = 5.0
            return logits * self.scale

    model = LeftHalf()

    samples = [SimpleNamespace(id="x", image="x.jpg", mask="x.png"), SimpleNamespace(id="y", image="y.jpg", mask="")]
    scores = pd.DataFrame({"A": [0.5], "B": [0.3]}, index=["x"])  # y is not among the hardest: not drawn
    fig = plots.gallery(samples, {"A": model, "B": None}, cache, (8, 8), scores)
    a, = fig.axes  # B has no checkpoint here: no empty panel, named in the title instead
    assert a.get_title() == "A: J 0.50" and fig._suptitle.get_text().endswith("not drawn (no checkpoint here): B")
    assert len(a.collections) == 2  # truth + prediction
    none = plots.gallery(samples, {"A": None, "B": None}, cache, (8, 8), scores)
    assert none.axes[0].texts[0].get_text().startswith("no model's checkpoint is on this machine")
    assert plots._predicted_mask(model, np.zeros((8, 8, 3), np.uint8), "imagenet")[:, :4].all()
    assert not plots._predicted_mask(model, np.zeros((8, 8, 3), np.uint8), "imagenet", "background")[:, :4].any()
    empty = plots.gallery(samples, {"A": model}, cache, (8, 8), scores.rename(index={"x": "z"}))
    assert [t.get_text() for t in empty.axes[0].texts] == ["no image or model to show"]


def test_one_protocol_costs_are_the_median_run_so_a_paused_run_does_not_set_them(tmp_path):
    """Three seeds, one of them paused (SIGSTOP) for most of its wall time: the wall minutes per run are
    the median run's; the CPU-minutes come from the measured CPU time where a run recorded it and from
    wall time × threads where it did not."""
    import json

    provs = [{"device": "cpu", "cpu_threads": 2, "train_seconds": 600.0, "train_cpu_seconds": 1140.0},
             {"device": "cpu", "cpu_threads": 2, "train_seconds": 660.0},  # before train_cpu_seconds: 22 CPU-min
             {"device": "cpu", "cpu_threads": 2, "train_seconds": 6000.0, "train_cpu_seconds": 1200.0}]  # paused
    outcomes = []
    for seed, prov in enumerate(provs):
        (tmp_path / str(seed)).mkdir()
        (tmp_path / str(seed) / "provenance.json").write_text(json.dumps(prov))
        metrics = pd.DataFrame({"metric": ["jaccard", "threshold_jaccard"], "value": [0.7 + seed / 100, 0.6],
                                "target": "lesion", "resolution": "original", "reduction": "macro"})
        history = pd.DataFrame({"epoch": range(1, 11), "val_jaccard": [0.5] * 10})
        outcomes.append(SimpleNamespace(variant="U-Net", partition="holdout", seed=seed, metrics=metrics,
                                        history=history, run=SimpleNamespace(path=tmp_path / str(seed))))
    exp = SimpleNamespace(size=(32, 32), variants=lambda: [SimpleNamespace(label="U-Net", model="unet", model_kwargs={})],
                          partitions=lambda v: ["holdout"], seeds=lambda v: [0, 1, 2],
                          spec=SimpleNamespace(variant=lambda label: SimpleNamespace(eval_of=None)),
                          variant_params=lambda label: {"monitor": "jaccard"})
    row = comparison.one_protocol_table(exp, outcomes).iloc[0]
    assert row["training minutes per run"] == pytest.approx(11.0)  # median of 10, 11 and 100 (the mean: 40.3)
    assert row["training CPU-minutes per run"] == pytest.approx(20.0)  # median of 19, 22 and 20
    assert (row["runs"], row["jaccard mean"], row["converged"]) == (3, pytest.approx(0.71), "yes (3/3 runs)")


def test_figures_and_tables_say_so_when_no_run_has_finished():
    """The cpu-real summary runs before the one-protocol runs exist: every step says 'nothing yet'."""
    import matplotlib

    matplotlib.use("Agg")
    from skinseg import plots

    exp = SimpleNamespace(size=(32, 32), variants=lambda: [SimpleNamespace(label="U-Net", model="unet", model_kwargs={})],
                          partitions=lambda v: ["holdout"], seeds=lambda v: [0, 1, 2],
                          params=dict(paper_dataset="isic2017", image_height=32, image_width=32, epochs=2, batch_size=4,
                                      loss="bce_dice", optimizer="adam", lr=1e-3, lr_schedule="poly",
                                      augmentation="flip_rot90", precision="bf16", channels_last=True, device="cpu"),
                          data=lambda: SimpleNamespace(label="ISIC 2017 (synthetic)", counts=lambda: pd.DataFrame(
                              {"partition": ["holdout"], "train": [1800], "val": [200], "test": [150]})))
    empty_one = comparison.one_protocol_table(exp, [])  # the model is listed, with none of its 3 runs
    row = empty_one.iloc[0]
    assert (row["model"], row["runs"], row["planned runs"], row["jaccard"]) == ("U-Net", 0, 3, "")
    assert pd.isna(row["jaccard mean"]) and pd.isna(row["training minutes per run"]) and row["parameters"] > 1e6
    note = comparison.protocol_note(exp, empty_one)
    assert note.startswith("Protocol: ISIC 2017 (synthetic); 1,800 images train, 200 validate (they select the best "
                           "epoch), 150 test; 32×32 input, 2 epochs, batch 4")
    assert "augmentation flip_rot90, bf16 + channels_last on cpu; 3 seeds" in note
    assert note.endswith("3 seeds per model. Runs missing at this budget: U-Net 0 of 3 finished; a model's mean ± sd "
                         "is over its finished runs, and its runs at other budgets are in the budget table.")
    for fig, text in ((plots.pareto(empty_one), "no finished run to place"),
                      (plots.jaccard_distribution(summary.per_image_original([]).assign(resolution="original")),
                       "no per-image scores yet")):
        assert [t.get_text() for t in fig.axes[0].texts] == [text]
    assert summary.hardest_images([]).empty


@pytest.mark.parametrize("fails", [False, True], ids=["done", "failed"])
def test_the_summary_html_lies_beside_summary_md_once(tmp_path, fails):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 / 0" if fails else "print('summary')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    src = tmp_path / "06_summary.ipynb"
    nbformat.write(nb, src)
    out = tmp_path / "results" / "smoke" / "notebooks" / "06_summary.ipynb"
    job = batch.Job(src, {"results_dir": str(tmp_path / "results"), "profile": "smoke"}, out)
    assert batch.execute(job).status == ("failed" if fails else "done")
    # done: one HTML copy, beside summary.md; failed: beside the executed notebook, for its traceback
    assert (tmp_path / "results" / "smoke" / "summary.html").is_file() is not fails
    assert out.with_suffix(".html").is_file() is fails


def test_budget_table_lists_each_models_finished_runs_at_every_epoch_budget(tmp_path, monkeypatch):
    """The one protocol trained at 1 epoch (its own folder), at 2 (run_set e2), at 3 in a run_set named
    like a model, plus a run of another learning rate in run_set lr: the table shows the three budgets of
    the one model, each with its own run's Jaccard, and not the run of other settings; with
    ``overwrite`` set it still deletes and retrains nothing; summary.md prints it under the one-protocol
    table, and one budget alone prints no such section; a run folder's unreadable config.json is named."""
    import skinseg.data.sources as src
    from helpers_experiment import small_params
    from skinseg.experiment import Experiment

    real = src.resolve
    monkeypatch.setattr(src, "resolve", lambda p: tmp_path / "data" if p == "data" else real(p))
    base = small_params(tmp_path, variants="LinkNet-64", seeds="0")
    one, two, three = (Experiment({**base, **kw}, paper="one_protocol").run_all()[0]
                       for kw in ({"epochs": 1}, {"epochs": 2, "run_set": "e2"}, {"epochs": 3, "run_set": "linknet-64"}))
    Experiment({**base, "epochs": 2, "run_set": "lr", "lr": 5e-4}, paper="one_protocol").run_all()
    exp = Experiment({**base, "epochs": 2, "run_set": "e2", "train_missing": False, "overwrite": True},
                     paper="one_protocol")
    written = {p: p.stat().st_mtime_ns for p in (tmp_path / "results").rglob("metrics.csv")}

    assert comparison.run_sets(exp) == [("", 1), ("e2", 2), ("lr", 2), ("linknet-64", 3)]
    budgets = comparison.budget_table(exp)
    assert budgets[["model", "epochs", "run_set", "runs"]].values.tolist() == \
        [["LinkNet-64", 1, "", 1], ["LinkNet-64", 2, "e2", 1], ["LinkNet-64", 3, "linknet-64", 1]]
    assert budgets["jaccard mean"].tolist() == pytest.approx([metric_value(o.metrics, "jaccard") for o in (one, two, three)])
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "results").rglob("metrics.csv")} == written

    v = pd.DataFrame({"verdict": ["reproduced"], "data used": ["ISIC 2017"]})
    for table, shown in ((budgets, True), (budgets.iloc[:1], False)):
        summary.write_summary(tmp_path / "s.md", "smoke", v, pd.DataFrame(), pd.DataFrame({"model": ["m"]}),
                              verdicts.TOLERANCE, budgets=table)
        text = (tmp_path / "s.md").read_text()
        assert ("### The one protocol at each epoch budget" in text) is shown
        assert ("| LinkNet-64 | 2 | e2 | 1 |" in text) is shown

    broken = tmp_path / "results" / "smoke" / "one_protocol" / "e9" / "linknet-64" / "holdout" / "seed0"
    broken.mkdir(parents=True)
    (broken / "config.json").write_text("{")
    with pytest.raises(ValueError, match="e9/linknet-64/holdout/seed0/config.json: not a run's config"):
        comparison.run_sets(exp)


def test_paired_at_a_budget_reads_two_rows_where_they_ran_together(tmp_path, monkeypatch):
    """LinkNet-64 and LesionSeg trained together at 1 epoch (the paper folder) and at 2 (run_set e2),
    LinkNet-64 alone at 3 (e3): from the 3-epoch budget the pair is read at 2 epochs, the most epochs
    holding it, without training anything; a budget holding the pair itself gives its own runs; a pair
    never trained together is a LookupError naming the budgets searched."""
    import skinseg.data.sources as src
    from helpers_experiment import small_params
    from skinseg.experiment import Experiment

    real = src.resolve
    monkeypatch.setattr(src, "resolve", lambda p: tmp_path / "data" if p == "data" else real(p))
    base = small_params(tmp_path, variants="LinkNet-64,LesionSeg", seeds="0")
    one = Experiment({**base, "epochs": 1}, paper="one_protocol").run_all()
    two = Experiment({**base, "epochs": 2, "run_set": "e2"}, paper="one_protocol").run_all()
    alone = Experiment({**base, "variants": "LinkNet-64", "epochs": 3, "run_set": "e3"}, paper="one_protocol")
    mine = alone.run_all()
    written = sorted((tmp_path / "results").rglob("metrics.csv"))

    pair, run_set, epochs = comparison.paired_at_a_budget(alone, mine, "LinkNet-64", "LesionSeg")
    assert (run_set, epochs) == ("e2", 2)
    assert [o.variant for o in pair] == [o.variant for o in two]
    assert [metric_value(o.metrics, "jaccard") for o in pair] == \
        pytest.approx([metric_value(o.metrics, "jaccard") for o in two], abs=1e-9)  # metrics.csv keeps 10 digits
    assert sorted((tmp_path / "results").rglob("metrics.csv")) == written  # nothing trained

    own = Experiment({**base, "epochs": 1, "train_missing": False}, paper="one_protocol")
    pair, run_set, epochs = comparison.paired_at_a_budget(own, one, "LinkNet-64", "LesionSeg")
    assert (run_set, epochs, [o.variant for o in pair]) == ("", 1, ["LinkNet-64", "LesionSeg"])
    with pytest.raises(LookupError, match=r"'LinkNet-64' and 'U-Net'.*searched: 1 epochs \(the paper folder\), "
                                          r"2 epochs \(e2\), 3 epochs \(e3\)"):
        comparison.paired_at_a_budget(alone, mine, "LinkNet-64", "U-Net")


def test_the_headline_counts_verdicts_on_unconverged_runs_apart():
    v = pd.DataFrame({"verdict": ["reproduced", "not reproduced", "inconclusive (unconverged)",
                                  "not reproduced (unconverged: ours already above)", "inconclusive (unconverged)",
                                  "within tolerance"],
                      "converged": ["yes (3/3)", "yes (3/3)", "no (0/3 runs)", "no (1/3 runs)", "no (0/1 runs)", "n/a"]})
    assert summary.verdict_counts(v) == ("Verdicts: 1 reproduced, 1 not reproduced, 1 within tolerance; on runs still "
                                         "improving (our budget, not the paper): 2 inconclusive, 1 not reproduced "
                                         "(ours already above).")
    assert summary.verdict_counts(v.iloc[:2]) == "Verdicts: 1 reproduced, 1 not reproduced."

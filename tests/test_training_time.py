"""skinseg.training_time: the finished runs' training time by processor, on hand-made run folders."""
import json
import math

import pytest

from skinseg.training_time import COLUMNS, NOT_RECORDED, by_processor, processor_of, stretches


def _run(root, name, prov, epochs, finished=True):
    run = root / name
    run.mkdir(parents=True)
    (run / "provenance.json").write_text(json.dumps(prov))
    (run / "history.csv").write_text("epoch,val_jaccard\n" + "".join(f"{e},0.5\n" for e in range(1, epochs + 1)))
    if finished:
        (run / "metrics.csv").write_text("paper,value\nx,0.5\n")


def test_stretches_follow_the_resumes():
    prov = {"cpu": "C", "started_on": {"cpu": "A"},
            "resumes": [{"after_epoch": 7, "cpu": "B"}, {"after_epoch": 20, "cpu": "C"}]}
    assert stretches(prov, 48) == [("A", 7), ("B", 13), ("C", 28)]
    # a resume of a run whose checkpoint already held every epoch adds no stretch
    assert stretches({"started_on": {"cpu": "A"}, "resumes": [{"after_epoch": 5, "cpu": "B"}]}, 5) == [("A", 5)]
    # provenance from before the record: the run's own processor, its GPU first
    assert stretches({"cpu": "A"}, 3) == [("A", 3)]
    assert stretches({"cpu": "A", "gpu": "H100"}, 3) == [("H100", 3)]
    assert stretches({"device": "cpu"}, 3) == [(NOT_RECORDED, 3)]
    assert processor_of({"device": "cuda"}) == "not recorded"  # a GPU run whose GPU went unnamed: no CPU to blame


def test_by_processor_splits_a_resumed_run_by_its_epochs(tmp_path):
    cpu = {"device": "cpu", "cpu_threads": 2}
    # 10 epochs on X, 30 on Y: 4,000 s of wall time, 7,200 s of CPU time
    _run(tmp_path, "a", {**cpu, "cpu": "Y", "started_on": {"cpu": "X"}, "resumes": [{"after_epoch": 10, "cpu": "Y"}],
                         "train_seconds": 4000, "train_cpu_seconds": 7200}, 40)
    # resumed on the CPU it started on: one stretch's worth, not split
    _run(tmp_path, "g", {**cpu, "cpu": "X", "started_on": {"cpu": "X"}, "resumes": [{"after_epoch": 5, "cpu": "X"}],
                         "train_seconds": 1000, "train_cpu_seconds": 1800}, 10)
    # before the CPU model and CPU time were recorded: wall x threads
    _run(tmp_path, "b", {**cpu, "train_seconds": 3600}, 5)
    # before the training time was recorded, and resumed: untimed
    _run(tmp_path, "f", {**cpu, "resumed_after_epochs": 3, "run_seconds": 100}, 6)
    _run(tmp_path, "c", {**cpu, "train_seconds": None}, 5)  # evaluation-only: trains nothing
    _run(tmp_path, "d", {"device": "cuda", "gpu": "H100", "cpu": "Z", "train_seconds": 360}, 24)
    _run(tmp_path, "e", {**cpu, "cpu": "X", "train_seconds": 50}, 2, finished=False)  # still training

    got = by_processor(tmp_path).set_index("processor")
    assert list(got.reset_index().columns) == COLUMNS
    assert set(got.index) == {"X", "Y", NOT_RECORDED, "H100"}
    assert got.loc["X", "runs"] == 2 and got.loc["X", "epochs"] == 20
    assert got.loc["X", "training hours"] == pytest.approx((1000 + 1000) / 3600)
    assert got.loc["X", "CPU-hours"] == pytest.approx((1800 + 1800) / 3600)
    assert got.loc["X", "split by epochs"] == 1  # run a only
    assert got.loc["Y", "epochs"] == 30 and got.loc["Y", "training hours"] == pytest.approx(3000 / 3600)
    assert got.loc["Y", "CPU-hours"] == pytest.approx(5400 / 3600)
    assert got.loc[NOT_RECORDED, "runs"] == 2 and got.loc[NOT_RECORDED, "untimed runs"] == 1
    assert got.loc[NOT_RECORDED, "training hours"] == pytest.approx(1.0)
    assert got.loc[NOT_RECORDED, "CPU-hours"] == pytest.approx(2.0)
    assert got.loc["H100", "training hours"] == pytest.approx(0.1) and math.isnan(got.loc["H100", "CPU-hours"])
    assert got.index[0] == NOT_RECORDED  # largest training hours first


def test_by_processor_without_finished_runs(tmp_path):
    _run(tmp_path, "e", {"device": "cpu", "cpu": "X", "train_seconds": 50}, 2, finished=False)
    assert by_processor(tmp_path).empty and list(by_processor(tmp_path).columns) == COLUMNS

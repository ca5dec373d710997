"""Run folders: atomic writes, reuse of a finished run, refusal to overwrite a different one."""
import json

import pandas as pd
import pytest

from skinseg.results import RunDir, provenance, tidy_metrics, write_csv, write_json


def test_atomic_write_leaves_no_partial_file(tmp_path):
    class Boom(Exception):
        pass

    class BadFrame(pd.DataFrame):
        def to_csv(self, *a, **k):
            open(a[0], "w").write("half a row")
            raise Boom

    write_csv(tmp_path / "m.csv", pd.DataFrame({"a": [1]}))
    with pytest.raises(Boom):
        write_csv(tmp_path / "m.csv", BadFrame({"a": [2]}))
    assert (tmp_path / "m.csv").read_text() == "a\n1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.csv"]  # no temp file left behind


def test_prepare_new_resume_reuse_and_refuse(tmp_path):
    rd = RunDir.for_run(tmp_path, "smoke", "paper", "variant", "holdout", 0, tmp_path / "ck")
    cfg = {"lr": 1e-3, "seed": 0, "num_workers": 0}
    assert rd.prepare(cfg) == "new"
    assert json.loads((rd.path / "config.json").read_text()) == cfg
    assert rd.prepare(cfg) == "resume"  # not finished yet
    write_csv(rd.path / "metrics.csv", pd.DataFrame({"value": [0.5]}))
    assert rd.prepare({**cfg, "num_workers": 4}) == "reuse"  # workers do not change the numbers
    with pytest.raises(FileExistsError, match="differs in: lr.*overwrite=True"):
        rd.prepare({**cfg, "lr": 1e-4})
    assert (rd.path / "metrics.csv").is_file()  # untouched
    (rd.checkpoint_path).mkdir(parents=True)
    (rd.checkpoint_path / "last.pt").write_text("x")
    assert rd.prepare({**cfg, "lr": 1e-4}, overwrite=True) == "new"
    assert not (rd.path / "metrics.csv").exists() and not rd.checkpoint_path.exists()


def test_a_new_results_folder_leaves_the_checkpoint_folder_to_the_caller(tmp_path):
    """Step 6a: a run stopped in another clone leaves only its checkpoint (user-cache); claiming a new
    results folder must not delete it. Whether it is resumed or refused is the caller's check
    (Experiment: skinseg.train.check_checkpoint_folder; tests/test_experiment.py)."""
    rd = RunDir.for_run(tmp_path / "results", "smoke", "p", "v", "holdout", 0, tmp_path / "ck")
    rd.checkpoint_path.mkdir(parents=True)
    (rd.checkpoint_path / "last.pt").write_text("the other clone's")
    assert rd.prepare({"lr": 1.0}) == "new"
    assert (rd.checkpoint_path / "last.pt").read_text() == "the other clone's"


def test_a_parameter_added_later_at_its_default_keeps_old_runs_reusable(tmp_path):
    from skinseg.params import BY_NAME

    rd = RunDir.for_run(tmp_path, "smoke", "p", "v", "holdout", 0, tmp_path / "ck")
    rd.prepare({"lr": 1.0})
    write_csv(rd.path / "metrics.csv", pd.DataFrame({"value": [0.5]}))
    recorded = (rd.path / "config.json").read_bytes()
    assert rd.prepare({"lr": 1.0, "augment_validation": BY_NAME["augment_validation"].default}) == "reuse"
    assert (rd.path / "config.json").read_bytes() == recorded  # reading a finished run never rewrites it
    with pytest.raises(FileExistsError, match="augment_validation"):
        rd.prepare({"lr": 1.0, "augment_validation": True})


def test_a_moved_split_file_with_the_same_content_is_the_same_run(tmp_path):
    """results_dir is no part of a run, and the split file lies under it: the split's content
    (split_sha256) decides, not its path."""
    rd = RunDir.for_run(tmp_path, "smoke", "p", "v", "holdout", 0, tmp_path / "ck")
    rd.prepare({"lr": 1.0, "split_file": "results/smoke/p/splits/s.csv", "split_sha256": "aa"})
    write_csv(rd.path / "metrics.csv", pd.DataFrame({"value": [0.5]}))
    assert rd.prepare({"lr": 1.0, "split_file": "/elsewhere/smoke/p/splits/s.csv", "split_sha256": "aa"}) == "reuse"
    with pytest.raises(FileExistsError, match=r"differs in: split_sha256\)"):
        rd.prepare({"lr": 1.0, "split_file": "results/smoke/p/splits/s.csv", "split_sha256": "bb"})


def test_run_dir_names_are_validated(tmp_path):
    with pytest.raises(ValueError, match="variant"):
        RunDir.for_run(tmp_path, "smoke", "p", "../escape", "holdout")
    assert RunDir.for_run(tmp_path, "smoke", "p", "v", "fold3", 2).path == tmp_path / "smoke/p/v/fold3/seed2"


@pytest.mark.parametrize("run_set", ["", "e24"])
def test_row_folder_holds_every_run_of_the_row(tmp_path, run_set):
    run = RunDir.for_run(tmp_path, "smoke", "p", "v", "fold3", 2, run_set=run_set).path
    row = RunDir.row_folder(tmp_path, "smoke", "p", "v", run_set=run_set)
    assert run.parent.parent == row and row == tmp_path / "smoke/p" / run_set / "v"
    with pytest.raises(ValueError, match="variant='' is not a valid folder name"):
        RunDir.row_folder(tmp_path, "smoke", "p", "", run_set=run_set)


def test_tidy_metrics_and_provenance(tmp_path):
    df = tidy_metrics({"jaccard": 0.5, "dice": 0.6}, paper="p", variant="v", dataset="d", split="test", seed=1,
                      resolution="original", target="lesion", reduction="macro")
    assert list(df.columns) == ["paper", "variant", "dataset", "split", "seed", "resolution", "target", "reduction",
                                "metric", "value"]
    assert df.value.tolist() == [0.5, 0.6]
    prov = provenance(3, "cpu", "abc")
    assert prov["seed"] == 3 and prov["packages"]["torch"].startswith("2.13.0") and "commit" in prov["git"]
    write_json(tmp_path / "p.json", prov)
    assert json.loads((tmp_path / "p.json").read_text())["dataset_fingerprint"] == "abc"
    import torch

    assert prov["cpu_threads"] == torch.get_num_threads()
    from skinseg.cpuinfo import cpu_name

    assert prov["cpu"] == cpu_name() != ""
    from skinseg.allocator import kept_freed_memory

    assert prov["keep_freed_memory"] is kept_freed_memory()  # which allocator setting the run's speed came from


@pytest.mark.parametrize("prov, minutes", [
    ({"device": "cpu", "cpu_threads": 2, "train_seconds": 300.0}, 10.0),  # 5 wall minutes on 2 threads
    ({"device": "cpu", "train_seconds": 300.0}, float("nan")),  # made before threads were recorded
    ({"device": "cuda:0", "cpu_threads": 2, "train_seconds": 300.0}, float("nan")),  # GPU time is not CPU time
    ({"device": "cpu", "cpu_threads": 2, "train_seconds": None}, float("nan")),  # evaluation-only row
    # measured CPU time first: 5 wall minutes of which 2 stopped (SIGSTOP) or shared, 6 CPU-minutes used
    ({"device": "cpu", "cpu_threads": 2, "train_seconds": 300.0, "train_cpu_seconds": 360.0}, 6.0),
    ({"device": "cpu", "cpu_threads": 2, "train_seconds": 300.0, "train_cpu_seconds": None}, 10.0),  # resumed legacy
    ({"device": "cuda:0", "cpu_threads": 2, "train_seconds": 300.0, "train_cpu_seconds": 360.0}, float("nan")),
])
def test_training_cpu_minutes(tmp_path, prov, minutes):
    from skinseg.results import training_cpu_minutes

    write_json(tmp_path / "provenance.json", prov)
    assert training_cpu_minutes(tmp_path) == pytest.approx(minutes, nan_ok=True)


def test_git_dirty_flag_ignores_results_only(tmp_path, monkeypatch):
    import subprocess

    import skinseg.results as R

    repo = tmp_path / "repo"
    (repo / "results").mkdir(parents=True)
    (repo / "code.py").write_text("a = 1\n")
    (repo / "results" / "metrics.csv").write_text("v\n1\n")
    git = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(R, "project_root", lambda: repo)
    assert R.git_state()["dirty"] is False
    (repo / "results" / "metrics.csv").write_text("v\n2\n")  # a run rewriting committed results
    assert R.git_state()["dirty"] is False
    (repo / "code.py").write_text("a = 2\n")
    assert R.git_state()["dirty"] is True


def test_display_keeps_a_symlinked_sibling_relative(tmp_path, monkeypatch):
    """A linked ../shared became an absolute machine path in config.json."""
    import skinseg.paths as paths

    real = tmp_path / "elsewhere" / "data"
    real.mkdir(parents=True)
    proj = tmp_path / "work" / "proj"
    proj.mkdir(parents=True)
    (tmp_path / "work" / "shared").symlink_to(tmp_path / "elsewhere")
    monkeypatch.setattr(paths, "project_root", lambda: proj)
    assert paths.display("../shared/data") == "../shared/data"
    assert paths.display(proj / "results" / "x") == "results/x"


def test_committed_results_hold_no_machine_paths():
    import re

    from conftest import ROOT

    absolute = re.compile(r"(?<![\w.])/(?:work|root|home|tmp|Users|mnt|var)/")
    for f in (ROOT / "results").rglob("*"):
        if f.suffix in (".json", ".csv", ".md", ".ipynb", ".html") and "smoke" not in f.parts:
            text = f.read_text()
            assert not absolute.search(text), f"{f.relative_to(ROOT)}: {absolute.search(text).group(0)}"


def test_select_metrics_keeps_rows_equal_on_every_given_column():
    import pandas as pd

    from skinseg.results import select_metrics

    m = pd.DataFrame({"metric": ["jaccard", "jaccard", "dice"], "target": ["lesion", "background", "lesion"],
                      "value": [0.7, 0.9, 0.8]})
    assert select_metrics(m, metric="jaccard", target="lesion").value.tolist() == [0.7]
    assert select_metrics(m, metric="jaccard").value.tolist() == [0.7, 0.9]
    assert select_metrics(m).equals(m)
    assert select_metrics(m, metric="sensitivity").empty


def test_training_seconds_reads_the_record_or_an_unresumed_older_run(tmp_path):
    from skinseg.results import training_seconds

    def seconds(**prov):
        write_json(tmp_path / "provenance.json", prov)
        return training_seconds(tmp_path)

    assert seconds(train_seconds=120.5, run_seconds=130.0) == 120.5
    assert seconds(train_seconds=None, run_seconds=12.0) != seconds(train_seconds=None)  # evaluation only: NaN
    assert seconds(run_seconds=130.0, resumed_after_epochs=0) == 130.0  # older run: training and scoring
    assert seconds(run_seconds=30.0, resumed_after_epochs=3) != 30.0  # only since the resume: NaN
    assert training_seconds(tmp_path / "absent") != 0.0


def test_save_torch_skips_crc32_and_restores_the_option(tmp_path):
    import zipfile

    import torch
    import torch.serialization as ser

    from skinseg.results import save_torch

    obj = {"w": torch.arange(1000, dtype=torch.float32)}
    save_torch(tmp_path / "a.pt", obj)
    with zipfile.ZipFile(tmp_path / "a.pt") as z:
        data = [i for i in z.infolist() if "/data/" in i.filename]
    assert data and all(i.CRC == 0 for i in data)  # torch writes 0 when CRC-32 is off
    assert ser.get_crc32_options() is True
    assert torch.equal(torch.load(tmp_path / "a.pt")["w"], obj["w"])


def test_a_parameter_added_later_at_its_default_is_no_difference_in_the_message_either():
    """The README's ASNet budget command said 'differs in: ce_weight, optimizer_impl', though the run is
    reused once ce_weight matches: optimizer_impl was added after the run, at its default."""
    from skinseg.results import config_diff, same_run

    old = {"lr": 0.01, "ce_weight": 0.5}
    new = {"lr": 0.01, "ce_weight": 1.0, "optimizer_impl": "auto"}
    assert config_diff(old, new) == ["ce_weight"] and not same_run(old, new)
    assert config_diff(old, {**new, "ce_weight": 0.5}) == [] and same_run(old, {**new, "ce_weight": 0.5})
    assert config_diff(old, {**new, "ce_weight": 0.5, "optimizer_impl": "fused"}) == ["optimizer_impl"]

"""The batch runner stops on a failing notebook, names it, keeps its executed copy."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT


def test_runner_names_failed_notebook_and_keeps_traceback(tmp_path):
    profile = tmp_path / "broken.yaml"  # a data folder that is not there: found only once the notebook runs
    profile.write_text(f"default:\n  profile: smoke\n  data_root: {tmp_path / 'no-such-data'}\n"
                       f"  results_dir: {tmp_path / 'results'}\n01_linknet64_isic2018: {{}}\n")
    r = subprocess.run([sys.executable, str(ROOT / "reproduce" / "run.py"), "--profile", str(profile),
                        "--notebooks", "01"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    assert "FAILED 01_linknet64_isic2018.ipynb" in r.stderr and "no-such-data" in r.stderr
    out = tmp_path / "results" / "smoke" / "notebooks" / "01_linknet64_isic2018.ipynb"
    nb = json.loads(out.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors and "no-such-data" in errors[0]["evalue"]


@pytest.mark.parametrize("bad, named", [("image_height=100", "image_height=100"), ("epochs=many", "epochs"),
                                        ("run_set=a/b", "run_set")])
def test_a_bad_set_value_stops_the_batch_before_any_notebook_starts(tmp_path, bad, named):
    r = subprocess.run([sys.executable, str(ROOT / "reproduce" / "run.py"), "--profile", "smoke", "--notebooks", "01",
                        "02", "--set", f"results_dir={tmp_path / 'results'}", "--set", bad],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "error: " in r.stderr and named in r.stderr, r.stderr
    assert not (tmp_path / "results").exists()  # nothing started, nothing written


def test_set_values_are_read_by_the_schemas_type():
    from skinseg.profiles import parse_sets

    assert parse_sets(["seeds=0", "run_set=", "epochs=24", "lr=1e-3", "progress=true", "ablation_seeds=0,1"]) == {
        "seeds": "0", "run_set": "", "epochs": 24, "lr": 1e-3, "progress": True, "ablation_seeds": "0,1"}
    with pytest.raises(ValueError, match="epochs"):
        parse_sets(["epochs=0.5x"])
    with pytest.raises(ValueError, match="unknown parameter 'epoch'"):
        parse_sets(["epoch=3"])


def test_a_marker_made_with_train_missing_false_is_reused_without_it():
    """`run.py --profile cpu-real --notebooks 01`, as the README shows it, re-executed the committed notebook
    each time: its marker was made with train_missing=false, which changes nothing once every run is finished
    (the only case a marker counts as complete)."""
    from skinseg.batch import params_digest

    assert params_digest({"a": 1, "train_missing": False}) == params_digest({"a": 1, "train_missing": True})
    assert params_digest({"a": 1}) != params_digest({"a": 2})


def test_hours_of_training_are_said_and_need_yes_when_not_interactive(capsys, monkeypatch):
    from skinseg.progress import confirm_training

    ahead = [("06_summary", ["SLSDeep [holdout, seed 0]: 48 epochs"], 5.3, []), ("01", [], 0.0, [])]
    with pytest.raises(SystemExit, match="pass --yes"):
        confirm_training(ahead, interactive=False)
    out = capsys.readouterr().out
    assert "06_summary: 1 runs, about 5.3 h of training on this CPU" in out and "seed 0]: 48 epochs" in out
    assert "  01:" not in out  # nothing to train there
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    confirm_training(ahead, interactive=True)
    monkeypatch.setattr("builtins.input", lambda prompt: "")
    with pytest.raises(SystemExit, match="nothing trained"):
        confirm_training(ahead, interactive=True)
    confirm_training([("01", [], 0.0, [])], interactive=False)  # nothing to train: no question


def test_the_summary_notebook_writes_to_a_results_dir_outside_the_project(tmp_path):
    """Notebook 06 with --set results_dir=/another/dir trained and scored, then failed in its last cell
    (relative_to on a path outside the project)."""
    results = tmp_path / "elsewhere"
    r = subprocess.run([sys.executable, str(ROOT / "reproduce" / "run.py"), "--profile", "smoke", "--notebooks", "06",
                        "--set", f"results_dir={results}", "--set", f"checkpoint_dir={tmp_path / 'ck'}"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (results / "smoke" / "summary.md").is_file() and (results / "smoke" / "summary.html").is_file()
    import pandas as pd
    from test_report import _check_report

    # the report holds every verdict line of its verdicts.csv, nothing cut, code hidden
    _check_report((results / "smoke" / "summary.html").read_text(), pd.read_csv(results / "smoke" / "verdicts.csv"))


def test_unknown_profile_lists_known(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "reproduce" / "run.py"), "--profile", "fastest"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "known profiles: cpu-real, paper, smoke" in r.stderr


# each notebook's paper recipe, as its config must record it under the `paper` profile
PAPER_RECIPES = {
    "01": dict(lr=1e-4, early_stopping_patience=20, loss="dice"),
    "02": dict(early_stopping_patience=20, early_stopping_min_delta=0.005, lr=1e-3, loss="nll",
               normalization="per_image", upsampling="bicubic", postprocess="opening"),
    "03": dict(lr=0.01, encoder_lr=0.001, loss="nll_epe", epe_weight=0.5, augmentation="slsdeep"),
    "04": dict(lr=1e-4, loss="dice", target="background", augment_validation=True, lr_schedule="step",
               lr_step_epochs=11, protocol="ratio", split_seed=35, val_fraction=0.3, augmentation="fpn_code"),
    "05": dict(lr=0.01, optimizer="sgd", momentum=0.9, weight_decay=1e-4, lr_schedule="poly", loss="bce_dice",
               ce_weight=0.5, protocol="kfold", folds=5, augmentation="hflip"),
}
# where each notebook's config lands: results/paper-gpu/<its paper's key>/
PAPER_KEYS = {"01": "delatorre2018", "02": "lesionseg2017", "03": "slsdeep2018", "04": "flores_fpn", "05": "asnet2020"}


# what the test below overrides: a CPU, 8 synthetic 32x32 images, one epoch of one seed (one of ASNet's 5 folds)
PAPER_ON_CPU = ["device=cpu", "data_root=synthetic", "dataset=auto", "max_images=8", "epochs=1", "image_height=32",
                "image_width=32", "seeds=0", "ablation_seeds=0", "num_workers=0", "batch_size=4", "max_folds=1"]


def _check_paper_config(nb: str, cfg: dict, precision: str = "auto"):
    """``precision``: what the config holds: the profile's ``auto`` in resolved parameters; in a run's
    config.json, what auto meant on the CPU the run started on."""
    for name, value in PAPER_RECIPES[nb].items():
        assert cfg[name] == value, (nb, name)
    # resolved parameters name the device; a run's config.json does not (provenance.json does)
    assert cfg["precision"] == precision and cfg["epochs"] == 1 and cfg.get("device", "cpu") == "cpu", nb
    assert cfg["image_height"] == 32 and cfg["max_images"] == 8, nb


def test_paper_profile_starts_on_cpu_with_overrides(tmp_path):
    """The `paper` profile (GPU, real downloads) with --set overrides: every notebook's parameters hold
    its paper's recipe and the overrides; two notebooks (01, and 05 with its folds) run one small step
    here, two at a time (the threads split between them, as a user's --jobs 2 would), and each run's
    config records the same. The other three run under every other profile (nbval, `make reproduce`):
    executing them here too cost ~100 s of the suite for no path of their own."""
    from skinseg.papers import paper_for_notebook
    from skinseg.profiles import load_profile, parse_sets, resolve

    overrides = parse_sets(PAPER_ON_CPU)
    stems = {p.stem[:2]: p.stem for p in (ROOT / "notebooks").glob("0[1-5]_*.ipynb")}
    assert sorted(stems) == sorted(PAPER_RECIPES)
    for nb, stem in stems.items():  # what run.py hands each notebook
        _check_paper_config(nb, resolve(paper_for_notebook(stem), load_profile("paper"), overrides=overrides))

    run = ["01", "05"]
    sets = [a for item in PAPER_ON_CPU + [f"results_dir={tmp_path / 'results'}", f"checkpoint_dir={tmp_path / 'ck'}"]
            for a in ("--set", item)]
    r = subprocess.run([sys.executable, str(ROOT / "reproduce" / "run.py"), "--profile", "paper", "--jobs", "2",
                        "--notebooks", *run, *sets], capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    from skinseg.cpuinfo import auto_precision

    for nb in run:
        _check_paper_config(nb, json.loads(next((tmp_path / "results" / "paper-gpu" / PAPER_KEYS[nb])
                                                .rglob("config.json")).read_text()), auto_precision("cpu"))


def test_killed_batch_continues_where_it_stopped(tmp_path):
    """Kill the batch mid-notebook (02, mid-training) and start it again (with --jobs 2: each notebook
    in a child process): the finished notebook (01) is reused, not re-executed; the interrupted run
    resumes from its last epoch."""
    import os
    import signal
    import time

    profile = tmp_path / "tiny.yaml"
    profile.write_text(
        "default:\n  profile: smoke\n  synthetic_n: 16\n  image_height: 32\n  image_width: 32\n"
        f"  results_dir: {tmp_path / 'results'}\n  checkpoint_dir: {tmp_path / 'ck'}\n"
        "01_linknet64_isic2018:\n  epochs: 2\n02_lesionseg_isic2017:\n  epochs: 30\n")
    cmd = [sys.executable, str(ROOT / "reproduce" / "run.py"), "--profile", str(profile), "--notebooks", "01", "02"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    history = tmp_path / "results" / "smoke" / "lesionseg2017" / "lesionseg" / "holdout" / "seed0" / "history.csv"
    deadline = time.time() + 300
    while time.time() < deadline and not (history.is_file() and len(history.read_text().splitlines()) >= 2):
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the runner and its notebook kernel
    first.wait()
    done_epochs = len(history.read_text().splitlines()) - 1
    assert 1 <= done_epochs < 30, "02 was not caught mid-training"
    nb01 = tmp_path / "results" / "smoke" / "notebooks" / "01_linknet64_isic2018.ipynb"
    mtime = nb01.stat().st_mtime_ns
    assert nb01.with_suffix(".html").is_file()
    again = subprocess.run([*cmd, "--jobs", "2"], capture_output=True, text=True, timeout=600)  # 02 in a child
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert "reused 01_linknet64_isic2018.ipynb" in again.stdout and nb01.stat().st_mtime_ns == mtime
    assert "1 done, 1 reused, 0 failed" in again.stdout
    prov = json.loads((history.parent / "provenance.json").read_text())
    # the epochs in last.pt: history.csv, written after it, is at most the epoch being saved behind it
    assert prov["resumed_after_epochs"] >= done_epochs
    # finished after the kill (the recipe's early stopping may end it before epoch 30)
    assert (history.parent / "metrics.csv").is_file() and len(history.read_text().splitlines()) - 1 > done_epochs


def test_parallel_notebooks_on_cuda_never_share_a_gpu(tmp_path, monkeypatch):
    """Three CUDA notebooks, two jobs at once, one GPU: each gets GPU 0 to itself in turn; a CPU
    notebook takes none."""
    import threading
    import time
    from pathlib import Path

    from skinseg import batch

    monkeypatch.setattr(batch, "_gpu_count", lambda: 1)
    monkeypatch.setattr(batch, "is_complete", lambda job: False)
    holding, overlaps, seen, lock = set(), [], {}, threading.Lock()

    def fake_run(cmd, env, **kw):  # one child notebook: holds its GPU for a moment
        name, gpu = cmd[cmd.index("--notebooks") + 1], env.get("CUDA_VISIBLE_DEVICES")
        with lock:
            seen[name] = gpu
            if gpu is not None and gpu in holding:
                overlaps.append(name)
            if gpu is not None:
                holding.add(gpu)
        time.sleep(0.2)
        with lock:
            holding.discard(gpu)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(batch.subprocess, "run", fake_run)
    jobs = [batch.Job(Path(f"notebooks/0{i}_x.ipynb"), {"device": dev}, tmp_path / f"0{i}_x.ipynb")
            for i, dev in ((1, "cuda"), (2, "cuda"), (3, "cpu"), (4, "cuda"))]
    outcomes = batch._run_jobs(jobs, n_jobs=2, log=lambda *_: None)
    assert [o.status for o in outcomes] == ["done"] * 4
    assert seen == {"01_x": "0", "02_x": "0", "03_x": None, "04_x": "0"} and not overlaps


def test_a_notebook_waiting_for_the_gpu_is_skipped_when_another_fails(tmp_path, monkeypatch):
    import time
    from pathlib import Path

    from skinseg import batch

    monkeypatch.setattr(batch, "_gpu_count", lambda: 1)
    monkeypatch.setattr(batch, "is_complete", lambda job: False)
    started = []

    def fake_run(cmd, env, **kw):
        name = cmd[cmd.index("--notebooks") + 1]
        started.append(name)
        time.sleep(0.3)  # 02 is waiting for the GPU meanwhile
        return subprocess.CompletedProcess(cmd, 1 if name == "01_x" else 0)

    monkeypatch.setattr(batch.subprocess, "run", fake_run)
    jobs = [batch.Job(Path(f"notebooks/0{i}_x.ipynb"), {"device": "cuda"}, tmp_path / f"0{i}_x.ipynb")
            for i in (1, 2)]
    outcomes = batch._run_jobs(jobs, n_jobs=2, log=lambda *_: None)
    assert [o.status for o in outcomes] == ["failed", "skipped"] and started == ["01_x"]


def test_summary_inputs_digest_follows_run_metrics_and_benchmark_files(tmp_path, monkeypatch):
    from pathlib import Path

    from skinseg import batch

    bench = tmp_path / "benchmarks"
    bench.mkdir()
    monkeypatch.setattr(batch, "BENCHMARKS", str(bench))
    run = tmp_path / "results" / "p" / "paper" / "row" / "holdout" / "seed0"
    run.mkdir(parents=True)
    (run / "metrics.csv").write_text("metric,value\njaccard,0.7\n")
    job = batch.Job(Path("notebooks/06_summary.ipynb"), {"results_dir": str(tmp_path / "results"), "profile": "p"},
                    tmp_path / "out.ipynb")
    first = batch.inputs_digest(job)
    (bench / "cpu-bf16.csv").write_text("model,train_img_s\nunet,14.7\n")
    second = batch.inputs_digest(job)
    (run / "metrics.csv").write_text("metric,value\njaccard,0.71\n")
    assert len({first, second, batch.inputs_digest(job)}) == 3
    paper = batch.Job(Path("notebooks/01_linknet64_isic2018.ipynb"), job.params, tmp_path / "o.ipynb")
    assert batch.inputs_digest(paper) == ""  # a paper notebook's runs are checked one by one instead


def test_notebook_kernel_starts_without_the_plain_tcp_warning(tmp_path, capfd):
    """The runner's kernel gets CurveZMQ keys from its manager, so ipykernel does not warn (on the
    terminal, once per notebook) that it runs over TCP without encryption."""
    import nbformat

    from skinseg import batch

    nb = tmp_path / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), nb)
    outcome = batch.execute(batch.Job(nb, {}, tmp_path / "out" / "tiny.ipynb"))
    assert outcome.status == "done", outcome.error
    assert "without encryption" not in capfd.readouterr().err


def test_start_order_puts_the_listed_notebooks_first_and_keeps_the_rest():
    from skinseg.profiles import start_order

    prof = {"start_order": ["03_c", "01_a"], "default": {}, "01_a": {}, "02_b": {}, "03_c": {}, "04_d": {}}
    assert start_order(prof, ["01_a", "02_b", "03_c", "04_d"]) == ["03_c", "01_a", "02_b", "04_d"]
    assert start_order(prof, ["01_a", "04_d"]) == ["01_a", "04_d"]  # --notebooks picks a few: only those
    assert start_order({"01_a": {}}, ["01_a"]) == ["01_a"]


@pytest.mark.parametrize("order, error", [
    ("[03_c, 09_x]", r"names '09_x', not a notebook section of this profile \(sections: 03_c, 04_d\)"),
    ("[default]", r"names 'default', not a notebook section"),
    ("03_c", r"must be a list of notebook sections, e.g. \[03_c, 04_d\]; got '03_c'"),
    ("[03_c, 04_d, 03_c]", r"names '03_c' more than once"),
])
def test_a_start_order_that_names_no_notebook_of_the_profile_or_one_twice_is_refused(tmp_path, order, error):
    from skinseg.profiles import load_profile, start_order

    f = tmp_path / "p.yaml"
    f.write_text(f"start_order: {order}\ndefault:\n  epochs: 1\n03_c: {{}}\n04_d: {{}}\n")
    with pytest.raises(ValueError, match=r"p.yaml: \[start_order\] " + error):
        load_profile(str(f))
    f.write_text("start_order:\ndefault:\n  epochs: 1\n03_c: {}\n")  # empty: nothing starts first
    assert start_order(load_profile(str(f)), ["03_c"]) == ["03_c"]


def test_smoke_profile_starts_every_paper_notebook_in_its_order():
    """`make reproduce` runs two at a time: the smoke profile orders all five so the streams come out even
    (the order its comment derives from measured times)."""
    from skinseg.profiles import load_profile

    papers = sorted(p.stem for p in (ROOT / "notebooks").glob("0[1-5]_*.ipynb"))
    assert load_profile("smoke")["start_order"] == [papers[i] for i in (2, 1, 0, 4, 3)]  # 03, 02, 01, 05, 04


def test_runner_starts_notebooks_in_the_profile_start_order_and_tables_them_in_notebook_order(monkeypatch, capsys):
    import importlib.util

    from skinseg.batch import Outcome

    spec = importlib.util.spec_from_file_location("run_script", ROOT / "reproduce" / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)
    started = []

    def fake_batch(jobs, n_jobs, child_args, log):
        started.extend(j.notebook.stem for j in jobs)
        return [Outcome(j.notebook.name, "done", 1.0, str(j.out)) for j in jobs]

    monkeypatch.setattr(run, "run_batch", fake_batch)
    assert run.main(["--profile", "smoke", "--jobs", "2"]) == 0
    order = run.load_profile("smoke")["start_order"]
    assert started == [*order, "06_summary"]
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("0")]
    assert rows == sorted(rows) and len(rows) == 6

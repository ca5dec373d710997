"""A paper run through Experiment: run folders, reuse, refusal, stale state, eval-only rows."""
import json

import pandas as pd
import pytest
import torch

from helpers_experiment import small_params as params
from skinseg.data.layouts import DataError
from skinseg.experiment import Experiment, metric_table
from skinseg.notebook import parameters
from skinseg.papers import get_paper
from skinseg.train import StaleCheckpointError
from skinseg.results import training_seconds


@pytest.fixture(autouse=True)
def synthetic_in_tmp(tmp_path, monkeypatch):
    """Generated synthetic data goes to tmp_path, not the project's data/."""
    import skinseg.data.sources as src

    real = src.resolve
    monkeypatch.setattr(src, "resolve", lambda p: tmp_path / "data" if p == "data" else real(p))


def run_dir(tmp_path, variant="linknet-64", part="holdout", seed=0, profile="smoke", paper="delatorre2018"):
    return tmp_path / "results" / profile / paper / variant / part / f"seed{seed}"


def test_run_writes_complete_folder_then_reuses(tmp_path):
    exp = Experiment(params(tmp_path, variants="LinkNet-64"), paper="delatorre2018")
    data = exp.prepare_data()
    assert data.counts().iloc[0][["train", "val", "test"]].tolist() == [18, 2, 4]
    assert data.label == "ISIC 2018 (synthetic)"
    split_csv = tmp_path / "results" / "smoke" / "delatorre2018" / "splits" / "isic2018-holdout.csv"
    assert pd.read_csv(split_csv).split.value_counts().to_dict() == {"train": 18, "val": 2, "test": 4}
    assert json.loads(split_csv.with_suffix(".json").read_text())["protocol"] == "holdout"
    [o] = exp.run_all()
    run = run_dir(tmp_path)
    assert o.status == "new" and o.run.path == run
    for f in ("config.json", "provenance.json", "history.csv", "metrics_per_image.csv", "metrics.csv"):
        assert (run / f).is_file(), f
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["variant"] == "LinkNet-64" and cfg["model"] == "linknet64" and cfg["lr"] == 1e-3 and cfg["seed"] == 0
    assert len(cfg["split_sha256"]) == 64 and len(cfg["data_fingerprint"]) == 64
    assert "variants" not in cfg and "overwrite" not in cfg  # selection/placement keys never enter a run's config
    m = pd.read_csv(run / "metrics.csv")
    assert set(m.resolution) == {"training", "original"} and set(m.reduction) == {"macro", "micro"}
    assert set(m.target) == {"lesion", "background"}
    assert len(pd.read_csv(run / "metrics_per_image.csv")) == 8  # 4 test images x 2 resolutions
    again = Experiment(params(tmp_path, variants="LinkNet-64"), paper="delatorre2018")
    [o2] = again.run_all()
    assert o2.status == "reuse"
    pd.testing.assert_frame_equal(o2.metrics, o.metrics, check_exact=False, rtol=1e-9)
    t = metric_table([o2])
    assert t.runs.tolist() == [1] and "jaccard original res. mean" in t.columns


def test_seeds_make_one_folder_each_and_a_mean_sd(tmp_path):
    exp = Experiment(params(tmp_path, variants="LinkNet-64", seeds="0,1"), paper="delatorre2018")
    outs = exp.run_all()
    assert [o.seed for o in outs] == [0, 1] and run_dir(tmp_path, seed=1).joinpath("metrics.csv").is_file()
    t = metric_table(outs)
    assert t.runs.tolist() == [2] and t["jaccard training res. sd"].notna().all()


def test_different_config_is_refused_unless_overwrite(tmp_path):
    Experiment(params(tmp_path, variants="LinkNet-64"), paper="delatorre2018").run_all()
    before = (run_dir(tmp_path) / "metrics.csv").read_bytes()
    other = Experiment(params(tmp_path, variants="LinkNet-64", lr=5e-4), paper="delatorre2018")
    with pytest.raises(FileExistsError, match="differs in: lr"):
        other.run_all()
    assert (run_dir(tmp_path) / "metrics.csv").read_bytes() == before
    forced = Experiment(params(tmp_path, variants="LinkNet-64", lr=5e-4, overwrite=True), paper="delatorre2018")
    assert forced.run_all()[0].status == "new"


def interrupted_after_training(monkeypatch, exp: Experiment):
    """Run ``exp``'s first row and kill it between training and scoring: last.pt stays, metrics.csv never
    comes. Returns the run folder and the history of the interrupted run."""
    import skinseg.experiment as E

    class Killed(Exception):
        pass

    def killed(*a, **k):
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(E, "score", killed)
        with pytest.raises(Killed):
            exp.run_all()
    rd = exp.run_dir(*exp.plan()[0])
    assert (rd.checkpoint_path / "last.pt").is_file() and not (rd.path / "metrics.csv").exists()
    return rd, pd.read_csv(rd.path / "history.csv")


def test_finished_run_keeps_best_weights_only(tmp_path):
    o = Experiment(params(tmp_path, variants="LinkNet-64", epochs=2), paper="delatorre2018").run_all()[0]
    assert sorted(f.name for f in o.run.checkpoint_path.iterdir()) == ["best.pt"]
    again = Experiment(params(tmp_path, variants="LinkNet-64", epochs=2), paper="delatorre2018").run_all()[0]
    assert again.status == "reuse"
    pd.testing.assert_frame_equal(again.metrics, o.metrics, check_dtype=False)


def test_new_run_never_resumes_a_leftover_checkpoint_of_another_config(tmp_path, monkeypatch):
    """Bug 1: deleting a results folder left its checkpoints, and the 'new' run resumed them. Now such a
    checkpoint is refused by name (it may be another checkout's run, in the shared user-cache), and
    overwrite deletes it and trains anew."""
    p = params(tmp_path, variants="LinkNet-64", epochs=2)
    rd, first = interrupted_after_training(monkeypatch, Experiment(p, paper="delatorre2018"))
    import shutil

    shutil.rmtree(tmp_path / "results")
    # a different config now: lr changed; the old last.pt (epoch 2 of 2) must not be resumed or re-scored
    with pytest.raises(StaleCheckpointError, match=r"last.pt was written by a run with another config .differs in: lr"):
        Experiment({**p, "lr": 2e-3}, paper="delatorre2018").run_all()
    assert (rd.checkpoint_path / "last.pt").is_file() and not rd.path.exists()  # nothing deleted, nothing claimed
    again = Experiment({**p, "lr": 2e-3, "overwrite": True}, paper="delatorre2018").run_all()[0]
    assert again.status == "new" and len(again.history) == 2
    assert again.history.train_loss.iloc[0] != first.train_loss.iloc[0]


def _killed_after_epochs(monkeypatch, exp: Experiment, epochs: int):
    """Run ``exp``'s first row and kill it as epoch ``epochs + 1`` starts (a wall-clock limit): its
    ``last.pt`` holds ``epochs`` epochs."""
    import skinseg.experiment as E

    class Killed(Exception):
        pass

    def kill(epoch, step):
        if epoch == epochs:
            raise Killed

    real = E.fit
    with monkeypatch.context() as m:
        m.setattr(E, "fit", lambda *a, **k: real(*a, **k, on_step=kill))
        with pytest.raises(Killed):
            exp.run_all()


def test_run_killed_in_one_clone_resumes_in_a_fresh_clone_from_the_user_cache(tmp_path, monkeypatch, capsys):
    """Step 6a: long profiles keep checkpoints outside the checkout (checkpoint_dir: user-cache), so a
    run stopped in one clone resumes in a second, fresh one (its own results folder, nothing of the
    first but the cache) and ends with the numbers of an uninterrupted run; its provenance records
    the resume (epoch, CPU)."""
    from skinseg.cpuinfo import cpu_name
    from skinseg.train import checkpoint_epochs

    monkeypatch.setenv("SKINSEG_CHECKPOINTS", str(tmp_path / "cache-of-the-user"))
    run = dict(variants="LinkNet-64", epochs=3)
    whole = Experiment(params(tmp_path / "uninterrupted", **run), paper="delatorre2018").run_all()[0]
    clone_a = Experiment(params(tmp_path / "clone-a", **run, checkpoint_dir="user-cache"), paper="delatorre2018")
    _killed_after_epochs(monkeypatch, clone_a, 2)
    ck = clone_a.run_dir(*clone_a.plan()[0]).checkpoint_path
    assert ck.is_relative_to(tmp_path / "cache-of-the-user") and checkpoint_epochs(ck) == 2
    clone_b = Experiment(params(tmp_path / "clone-b", **run, checkpoint_dir="user-cache"), paper="delatorre2018")
    (v, part, seed), = clone_b.plan()
    assert not clone_b.run_dir(v, part, seed).path.exists() and clone_b.run_status(v, part, seed) == "unfinished"
    capsys.readouterr()
    o = clone_b.run_all()[0]
    assert "resuming from user-cache:smoke/delatorre2018/linknet-64/holdout/seed0/last.pt (2 epochs" in \
        capsys.readouterr().out
    assert o.status == "resume" and o.history.attrs["resumed_after_epochs"] == 2
    pd.testing.assert_frame_equal(o.metrics, whole.metrics)  # bitwise on one CPU
    pd.testing.assert_frame_equal(o.history.drop(columns="lr"), whole.history.drop(columns="lr"))
    prov = json.loads((o.run.path / "provenance.json").read_text())
    assert prov["started_on"]["cpu"] == cpu_name()
    assert [(r["after_epoch"], r["cpu"]) for r in prov["resumes"]] == [(2, cpu_name())]
    assert "cache-of-the-user" not in (o.run.path / "config.json").read_text()  # no machine path in results


def test_unfinished_run_whose_checkpoint_is_gone_says_it_starts_over(tmp_path, monkeypatch, capsys):
    p = params(tmp_path, variants="LinkNet-64", epochs=3)
    exp = Experiment(p, paper="delatorre2018")
    _killed_after_epochs(monkeypatch, exp, 2)
    rd = exp.run_dir(*exp.plan()[0])
    import shutil

    shutil.rmtree(rd.checkpoint_path)  # the results folder came along, the checkpoint did not (another machine)
    capsys.readouterr()
    o = Experiment(p, paper="delatorre2018").run_all()[0]
    assert "no checkpoint at " in capsys.readouterr().out
    assert o.history.attrs["resumed_after_epochs"] == 0 and len(o.history) == 3


def test_precision_auto_is_fixed_when_a_run_starts_and_kept_on_another_cpu(tmp_path, monkeypatch):
    """precision: auto resolves on the machine that starts a run and is stored in its config; on a CPU
    that resolves it otherwise, the finished run is reused and an unfinished one resumes at the stored
    precision (never switched mid-run); a new run there takes the new machine's answer."""
    import skinseg.experiment as E

    monkeypatch.setattr(E, "auto_precision", lambda device: "bf16")
    p = params(tmp_path, variants="LinkNet-64", seeds="0,1", epochs=2, precision="auto")
    exp = Experiment(p, paper="delatorre2018")
    (v, part, _), _ = exp.plan()
    done = exp.run(v, part, 0)
    assert done.config["precision"] == "bf16"
    _killed_after_epochs(monkeypatch, Experiment({**p, "seeds": "1"}, paper="delatorre2018"), 1)
    monkeypatch.setattr(E, "auto_precision", lambda device: "fp32")  # another machine
    there = Experiment(p, paper="delatorre2018")
    assert [there.run_status(v, part, s) for s in (0, 1)] == ["finished", "unfinished"]
    assert there.run(v, part, 0).status == "reuse"
    resumed = there.run(v, part, 1)
    assert resumed.status == "resume" and resumed.config["precision"] == "bf16"
    fresh = Experiment({**p, "seeds": "2"}, paper="delatorre2018").run(v, part, 2)
    assert fresh.config["precision"] == "fp32"


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path, monkeypatch):
    """Bug 1 (second half): fit resumed any last.pt it found."""
    p = params(tmp_path, variants="LinkNet-64", epochs=2)
    rd, _ = interrupted_after_training(monkeypatch, Experiment(p, paper="delatorre2018"))  # unfinished: resumes
    last = rd.checkpoint_path / "last.pt"
    ck = torch.load(last, weights_only=True)
    ck["config"]["lr"] = 0.5  # as if written by a run with another learning rate
    torch.save(ck, last)
    with pytest.raises(StaleCheckpointError, match="another config .differs in: lr"):
        Experiment(p, paper="delatorre2018").run_all()


@pytest.mark.parametrize("change", [{"val_fraction": 0.25}, {"split_seed": 1}, {"max_images": 12}])
def test_split_made_from_other_inputs_is_refused_then_rebuilt(tmp_path, change):
    """Bug 2: splits.csv was reused whatever made it."""
    Experiment(params(tmp_path, variants="LinkNet-64"), paper="delatorre2018").prepare_data()
    name = "isic2018-holdout" + (f"-first{change['max_images']}" if "max_images" in change else "")
    if "max_images" in change:  # another file: nothing stale to refuse; the cap is in its name
        d = Experiment(params(tmp_path, **change), paper="delatorre2018").prepare_data()
        assert d.split_file.stem == name and len(d.table) < 24
        return
    with pytest.raises(DataError, match=f"{list(change)[0]}: .* -> "):
        Experiment(params(tmp_path, **change), paper="delatorre2018").prepare_data()
    rebuilt = Experiment(params(tmp_path, overwrite=True, **change), paper="delatorre2018").prepare_data()
    assert json.loads(rebuilt.split_file.with_suffix(".json").read_text())[list(change)[0]] == list(change.values())[0]


def test_split_of_other_data_is_refused(tmp_path):
    Experiment(params(tmp_path), paper="delatorre2018").prepare_data()
    with pytest.raises(DataError, match="ids_sha256"):
        Experiment(params(tmp_path, synthetic_n=24), paper="delatorre2018").prepare_data()


def test_evaluation_only_rows_reuse_the_trained_weights(tmp_path):
    p = params(tmp_path, image_height=64, image_width=64, epochs=2, early_stopping_patience=0, postprocess="opening",
               opening_radius=1)
    exp = Experiment(p, paper="lesionseg2017")
    outs = {o.variant: o for o in exp.run_all()}
    assert list(outs) == ["LesionSeg", "no post-processing", "opening 3x3 square", "bilinear upsampling"]
    assert len(outs["LesionSeg"].history) == 2 and len(outs["no post-processing"].history) == 0
    train_res = {k: o.metrics.query("resolution == 'training'").value.tolist() for k, o in outs.items()}
    assert len({tuple(v) for v in train_res.values()}) == 1  # same weights, same training-resolution scores
    cfg = json.loads((outs["no post-processing"].run.path / "config.json").read_text())
    assert cfg["eval_of"] == "LesionSeg" and cfg["postprocess"] == "none" and cfg["model"] == "lesionseg"
    trained, scored = (json.loads((outs[k].run.path / "provenance.json").read_text())
                        for k in ("LesionSeg", "no post-processing"))
    assert trained["train_seconds"] > 0 and scored["train_seconds"] is None  # only the trained row trained
    assert trained["train_cpu_seconds"] > 0 and scored["train_cpu_seconds"] is None
    assert training_seconds(outs["LesionSeg"].run.path) == trained["train_seconds"]
    assert training_seconds(outs["no post-processing"].run.path) != training_seconds(outs["no post-processing"].run.path)


def test_bad_parameter_named_and_nothing_written(tmp_path):
    for bad, match in [({"image_height": 65}, r"image_height=65: must be a multiple of 32 \(e.g. 64\)"),
                       ({"loss": "focal"}, "loss='focal'"), ({"val_fraction": 0}, "val_fraction"),
                       ({"profile": "fast"}, "profile"), ({"device": "cuda"}, "device"),
                       ({"precision": "fp16"}, "fp16 autocast is CUDA-only"), ({"seeds": "0,x"}, "seeds"),
                       ({"protocol": "loo"}, "protocol")]:
        with pytest.raises(ValueError, match=match):
            Experiment(params(tmp_path, **bad), paper="delatorre2018")
    with pytest.raises(KeyError, match="rows: LinkNet-64, LinkNet"):
        Experiment(params(tmp_path, variants="LinkNet-32"), paper="delatorre2018").plan()
    assert not (tmp_path / "results").exists()


def test_missing_data_root_is_clear(tmp_path):
    exp = Experiment(params(tmp_path, data_root=str(tmp_path / "nowhere")), paper="delatorre2018")
    with pytest.raises(Exception, match="nowhere: no such folder"):
        exp.prepare_data()
    assert not (tmp_path / "results").exists()


def test_parameters_helper_names_missing():
    with pytest.raises(NameError, match="profile"):
        parameters({})


def test_evaluation_only_rows_refuse_weights_that_did_not_make_the_trained_row(tmp_path):
    p = params(tmp_path, image_height=64, image_width=64, epochs=1, variants="LesionSeg")
    trained = Experiment(p, paper="lesionseg2017").run_all()[0]
    assert (trained.run.path / "weights.json").is_file()
    best = trained.run.checkpoint_path / "best.pt"
    ck = torch.load(best, weights_only=True)
    ck["model"] = {k: v + 1 if v.is_floating_point() else v for k, v in ck["model"].items()}
    torch.save(ck, best)  # e.g. a local checkpoint from another machine under the same config
    with pytest.raises(FileNotFoundError, match="not the checkpoint that made"):
        Experiment({**p, "variants": "no post-processing"}, paper="lesionseg2017").run_all()
    # every reader of the weights (figures, audits, cross-dataset scores) goes through the same check
    exp = Experiment(p, paper="lesionseg2017")
    with pytest.raises(FileNotFoundError, match=r"best\.pt is not the checkpoint .* delete it .* overwrite=True"):
        exp.best_model("LesionSeg")
    best.unlink()
    assert exp.best_model("LesionSeg") is None


def test_max_images_is_named_in_the_dataset_label(tmp_path):
    d = Experiment(params(tmp_path, max_images=10), paper="delatorre2018").prepare_data()
    assert d.label == "ISIC 2018 (synthetic), first 10 per split (10 train + 4 val)"


def test_rows_that_split_differently_get_their_own_split_file(tmp_path):
    from skinseg.papers import PaperSpec, Variant

    spec = PaperSpec("twosplits", "99_x", "", "", {}, {}, (Variant("A", "linknet64", main=True),
                                                         Variant("B", "linknet64", overrides={"val_fraction": 0.25})))
    exp = Experiment(params(tmp_path), spec)
    a, b = exp.data(spec.variant("A")), exp.data(spec.variant("B"))
    assert a.split_file.name == "isic2018-holdout.csv" and b.split_file.name == "isic2018-holdout-val0.25.csv"
    assert len(a.split("holdout", "val")) == 2 and len(b.split("holdout", "val")) == 5  # 10 % and 25 % of 20


def test_train_missing_false_reads_finished_runs_and_lists_the_rest(tmp_path):
    p = params(tmp_path, variants="LinkNet-64,LinkNet", epochs=1)
    Experiment({**p, "variants": "LinkNet-64"}, paper="delatorre2018").run_all()
    reader = Experiment({**p, "train_missing": False}, paper="delatorre2018")
    assert dict(zip(reader.completeness().row, reader.completeness().status)) == {"LinkNet-64": "finished",
                                                                                 "LinkNet": "absent"}
    outs = reader.run_all()
    assert [(o.variant, o.status) for o in outs] == [("LinkNet-64", "reuse")]
    assert not run_dir(tmp_path, variant="linknet").exists()  # nothing trained, no folder claimed
    other = Experiment({**p, "lr": 5e-4, "train_missing": False}, paper="delatorre2018")
    assert other.completeness().status.tolist() == ["other config", "absent"]
    with pytest.raises(ValueError, match=r"train_missing=False, and none of the 2 planned runs of delatorre2018 "
                                         r"under .* is finished \(1 other config, 1 absent;"):
        other.run_all()  # not a notebook that fails further on, on an empty table
    assert other.run_all(allow_none=True) == []


def test_encoder_weights_reach_the_encoder_rows_only_and_enter_the_config(tmp_path, monkeypatch):
    import skinseg.experiment as experiment
    from skinseg.models.resnet import resnet_encoder

    state = resnet_encoder("resnet34").state_dict()
    state["conv1.weight"].fill_(0.125)  # recognisable after loading
    weights = tmp_path / "resnet34.pth"
    torch.save(state, weights)
    loaded = {}
    real = experiment.build_model

    def recording(name, **kw):
        model = real(name, **kw)
        if "pretrained" in kw:
            loaded[name] = bool((model.encoder.conv1.weight == 0.125).all())
        return model

    monkeypatch.setattr(experiment, "build_model", recording)
    p = params(tmp_path, get_paper("asnet2020"), variants="U-Net,Baseline", max_folds=1, encoder_weights=str(weights))
    outs = {o.variant: o for o in Experiment(p, paper="asnet2020").run_all()}
    assert loaded == {"asnet_baseline": True}  # U-Net has no ResNet-34 encoder: from scratch
    base, unet = (json.loads((outs[k].run.path / "config.json").read_text()) for k in ("Baseline", "U-Net"))
    assert base["encoder_weights_file"] == "resnet34.pth" and len(base["encoder_weights_sha256"]) == 64
    # where the file lies is not recorded (no machine path; moving it changes nothing)
    assert "encoder_weights" not in base and [k for k, v in base.items() if "resnet34.pth" in str(v)] == [
        "encoder_weights_file"]
    assert not {"encoder_weights_file", "encoder_weights_sha256"} & set(unet)
    # other weights at the same path: another run, refused rather than reused
    state["conv1.weight"].fill_(0.25)
    torch.save(state, weights)
    assert Experiment(p, paper="asnet2020").run_status("Baseline", "fold0", 0) == "other config"


@pytest.mark.parametrize("case", ["absent", "fits no model"])
def test_bad_encoder_weights_are_named_and_nothing_is_written(tmp_path, case):
    from skinseg.models.resnet import resnet_encoder

    path = tmp_path / "weights.pth"
    if case == "fits no model":
        torch.save(resnet_encoder("resnet18").state_dict(), path)  # ASNet's rows use ResNet-34
    p = params(tmp_path, get_paper("asnet2020"), variants="Baseline", max_folds=1, encoder_weights=str(path))
    error, match = ((FileNotFoundError, "encoder_weights: .*weights.pth is not a file") if case == "absent" else
                    (ValueError, "encoder_weights: .*weights.pth fits the encoder of none of this paper's models"))
    with pytest.raises(error, match=match):
        Experiment(p, paper="asnet2020").run_all()
    assert not list((tmp_path / "results").rglob("config.json"))


def test_a_run_trained_on_another_device_is_the_same_run(tmp_path):
    """Step 6a: a run a lent GPU trained counts under a CPU profile of the same config (and the other way):
    ``device`` is not part of a run's identity; its provenance says where it ran, and the summary's setup
    table counts the runs per processor."""
    from skinseg.summary import ran_on

    exp = Experiment(params(tmp_path, variants="LinkNet-64", epochs=1), paper="delatorre2018")
    (o,) = exp.run_all()
    config, prov = (json.loads((o.run.path / f).read_text()) for f in ("config.json", "provenance.json"))
    assert "device" not in config and prov["device"] == "cpu"  # where it ran: provenance only
    assert ran_on(exp) == f"{prov['cpu']} 1"
    # the same run trained on a GPU (its config recorded as the code before this change did, device named)
    (o.run.path / "config.json").write_text(json.dumps({**config, "device": "cuda"}))
    (o.run.path / "provenance.json").write_text(json.dumps({**prov, "device": "cuda", "gpu": "NVIDIA H100 80GB HBM3"}))
    (v, part, seed), = exp.plan()
    assert exp.run_status(v, part, seed) == "finished" and exp.run(v, part, seed).status == "reuse"
    assert ran_on(exp) == "NVIDIA H100 80GB HBM3 1"
    # a config that differs in anything else is still another run
    other = Experiment(params(tmp_path, variants="LinkNet-64", epochs=2), paper="delatorre2018")
    assert other.run_status(v, part, seed) == "other config"

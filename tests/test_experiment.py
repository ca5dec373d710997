"""A paper run through Experiment: run folder contents, reuse, refusal, parameter errors."""
import json

import pandas as pd
import pytest

from skinseg.experiment import Experiment, metric_table
from skinseg.notebook import COMMON_PARAMETERS, parameters


def params(tmp_path, **kw):
    p = dict(profile="smoke", data_root="synthetic", dataset="auto", original_masks_root="", synthetic_n=20,
             synthetic_size=64, image_height=32, image_width=32, max_images=0, val_fraction=0.2,
             model_name="linknet64", ablation_models="", epochs=1, batch_size=4, lr=1e-3, loss="dice",
             augmentation="flip", early_stopping_patience=0, upsampling="bilinear", postprocess="none",
             opening_radius=3, seed=0, device="cpu", num_workers=0, progress=False,
             results_dir=str(tmp_path / "results"), checkpoint_dir=str(tmp_path / "ck"),
             cache_dir=str(tmp_path / "cache"), overwrite=False)
    p.update(kw)
    assert set(p) == set(COMMON_PARAMETERS)
    return p


@pytest.fixture
def synthetic_in_tmp(tmp_path, monkeypatch):
    """Point the generated synthetic data at tmp_path instead of the project's data/."""
    import skinseg.experiment as ex

    real = ex.resolve
    monkeypatch.setattr(ex, "resolve", lambda p: tmp_path / "data" if p == "data" else real(p))


def test_run_writes_complete_folder_then_reuses(tmp_path, synthetic_in_tmp):
    exp = Experiment(params(tmp_path), paper="paper1")
    data = exp.prepare_data()
    assert data.counts().images.tolist() == [16, 4, 4] and data.label == "isic2018 layout (synthetic)"
    split_csv = tmp_path / "results" / "smoke" / "paper1" / "splits.csv"
    assert pd.read_csv(split_csv).split.value_counts().to_dict() == {"train": 16, "val": 4, "test": 4}
    o = exp.run("linknet64")
    run = tmp_path / "results" / "smoke" / "paper1" / "linknet64" / "holdout"
    assert o.status == "new" and o.run.path == run
    for f in ("config.json", "provenance.json", "history.csv", "metrics_per_image.csv", "metrics.csv"):
        assert (run / f).is_file(), f
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["variant"] == "linknet64" and cfg["lr"] == 1e-3 and cfg["resolved_dataset"] == "isic2018"
    m = pd.read_csv(run / "metrics.csv")
    assert set(m.resolution) == {"training", "original"} and set(m.reduction) == {"macro", "micro"}
    assert len(pd.read_csv(run / "metrics_per_image.csv")) == 8  # 4 test images x 2 resolutions
    assert len(json.loads((run / "provenance.json").read_text())["dataset_fingerprint"]) == 64
    again = Experiment(params(tmp_path), paper="paper1")
    again.prepare_data()
    o2 = again.run("linknet64")
    assert o2.status == "reuse"
    pd.testing.assert_frame_equal(o2.metrics, o.metrics, check_exact=False, rtol=1e-9)
    t = metric_table([o2])
    assert list(t.columns) == ["variant", "parameters", "jaccard (training res., macro)", "jaccard (original res., macro)"]


def test_different_config_is_refused_unless_overwrite(tmp_path, synthetic_in_tmp):
    exp = Experiment(params(tmp_path), paper="p")
    exp.prepare_data()
    exp.run("linknet64")
    before = (tmp_path / "results" / "smoke" / "p" / "linknet64" / "holdout" / "metrics.csv").read_bytes()
    other = Experiment(params(tmp_path, lr=5e-4), paper="p")
    other.prepare_data()
    with pytest.raises(FileExistsError, match="differs in: lr"):
        other.run("linknet64")
    assert (tmp_path / "results" / "smoke" / "p" / "linknet64" / "holdout" / "metrics.csv").read_bytes() == before
    forced = Experiment(params(tmp_path, lr=5e-4, overwrite=True), paper="p")
    forced.prepare_data()
    assert forced.run("linknet64").status == "new"


@pytest.mark.parametrize("bad,match", [
    ({"image_height": 65}, r"image_height=65: must be a multiple of 32 \(e.g. 64\)"),
    ({"model_name": "unet3"}, "unknown model; valid: "),
    ({"loss": "focal"}, "loss='focal'"),
    ({"val_fraction": 0}, "val_fraction"),
    ({"profile": "fast"}, "profile"),
    ({"device": "cuda"}, "device"),
])
def test_bad_parameter_named_and_nothing_written(tmp_path, bad, match):
    with pytest.raises(ValueError, match=match):
        Experiment(params(tmp_path, **bad), paper="p")
    assert not (tmp_path / "results").exists()


def test_missing_data_root_is_clear(tmp_path):
    exp = Experiment(params(tmp_path, data_root=str(tmp_path / "nowhere")), paper="p")
    with pytest.raises(Exception, match="nowhere: no such folder"):
        exp.prepare_data()
    assert not (tmp_path / "results").exists()


def test_parameters_helper_names_missing():
    with pytest.raises(NameError, match="profile"):
        parameters({})

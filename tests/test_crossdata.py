"""Cross-dataset test on a generated PH2 tree (1-bit and RGB masks, widths that vary): original-
resolution scoring of a trained run, and the same numbers when its checkpoint is gone and it is
trained again under the same config."""
import shutil

import pytest
from conftest import write_pair
from helpers_experiment import small_params

from skinseg.crossdata import evaluate_external
from skinseg.data import DataError
from skinseg.experiment import Experiment


@pytest.fixture(autouse=True)
def synthetic_in_tmp(tmp_path, monkeypatch):
    import skinseg.data.sources as src

    real = src.resolve
    monkeypatch.setattr(src, "resolve", lambda p: tmp_path / "data" if p == "data" else real(p))


def make_ph2(root, widths=(38, 39, 40, 40)):
    for i, w in enumerate(widths, start=1):
        c = f"IMD{i:03d}"
        case = root / "PH2 Dataset images" / c
        write_pair(case / f"{c}_Dermoscopic_Image" / f"{c}.bmp", case / f"{c}_lesion" / f"{c}_lesion.bmp",
                   h=30, w=w, seed=i, mask_mode="1" if i % 2 else "RGB")
    return root


def test_ph2_scored_at_original_size_and_retrained_when_the_checkpoint_is_gone(tmp_path):
    ph2 = make_ph2(tmp_path / "PH2Dataset")
    p = small_params(tmp_path, variants="LinkNet-64", epochs=1, image_height=32, image_width=32)
    exp = Experiment(p, paper="delatorre2018")
    outs = exp.run_all()
    per, table = evaluate_external(exp, outs, ph2, retrain_dir=tmp_path / "retrain")
    assert list(per.image_id) == ["IMD001", "IMD002", "IMD003", "IMD004"]
    assert (per[["TP", "TN", "FP", "FN"]].sum(axis=1) == [30 * 38, 30 * 39, 30 * 40, 30 * 40]).all()
    assert per.jaccard.between(0, 1).all() and table.weights.tolist() == ["checkpoint"]
    shutil.rmtree(tmp_path / "ck")  # a fresh clone: results committed, checkpoints absent
    again, table2 = evaluate_external(exp, outs, ph2, retrain_dir=tmp_path / "retrain")
    assert table2.weights.tolist() == ["re-trained under the same config: ISIC test metrics identical to the "
                                       "committed run"]
    assert again.jaccard.tolist() == per.jaccard.tolist()  # same config, one CPU: the same model


def test_a_broken_ph2_tree_is_named(tmp_path):
    ph2 = make_ph2(tmp_path / "PH2Dataset")
    shutil.rmtree(ph2 / "PH2 Dataset images" / "IMD002" / "IMD002_lesion")
    exp = Experiment(small_params(tmp_path, variants="LinkNet-64", epochs=1), paper="delatorre2018")
    with pytest.raises(DataError, match="IMD002"):
        evaluate_external(exp, [], ph2)
    shutil.copytree(make_ph2(tmp_path / "ok"), tmp_path / "ok2")
    with pytest.raises(ValueError, match="no trained run"):
        evaluate_external(exp, [], tmp_path / "ok2")


def test_ph2_section_skips_without_a_folder_and_names_a_wrong_one(tmp_path):
    from skinseg.crossdata import SKIPPED, ph2_section

    assert ph2_section(None, [], "", tmp_path) == (None, SKIPPED)
    with pytest.raises(FileNotFoundError, match="ph2_root='no/such/PH2Dataset' is not a folder"):
        ph2_section(None, [], "no/such/PH2Dataset", tmp_path)


def test_a_missing_or_wrong_ph2_folder_is_a_data_error_not_a_crash(tmp_path):
    from skinseg.data import discover

    with pytest.raises(DataError, match="no such folder"):
        discover(tmp_path / "absent", "ph2")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no PH2 Dataset images/ folder"):
        discover(tmp_path / "empty", "ph2").raise_problems()

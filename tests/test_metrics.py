"""Metrics against hand-computed values and against the official ISIC scorer."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import SHARED
from skinseg.metrics import confusion, metrics_from_confusion, per_image_table, summarize

isic = pytest.importorskip("isic_challenge_scoring", reason="isic-challenge-scoring is in the test pins")
from isic_challenge_scoring.segmentation import SegmentationScore  # noqa: E402


def test_confusion_and_metrics_hand_computed():
    # shape: (1, 2, 3) -> one image of 2x3 pixels
    pred = torch.tensor([[[1, 1, 0], [0, 1, 0]]], dtype=torch.bool)
    truth = torch.tensor([[[1, 0, 0], [1, 1, 0]]], dtype=torch.bool)
    cm = confusion(pred, truth)
    assert cm.tolist() == [[2, 2, 1, 1]]  # TP, TN, FP, FN
    m = metrics_from_confusion(cm)
    assert m["accuracy"][0] == pytest.approx(4 / 6)
    assert m["sensitivity"][0] == pytest.approx(2 / 3)
    assert m["specificity"][0] == pytest.approx(2 / 3)
    assert m["jaccard"][0] == pytest.approx(2 / 4)
    assert m["threshold_jaccard"][0] == 0.0  # 0.5 < 0.65
    assert m["dice"][0] == pytest.approx(4 / 6)


def test_empty_case_conventions():
    # rows: both empty; empty truth with false positives; full truth predicted empty
    cm = np.array([[0, 9, 0, 0], [0, 7, 2, 0], [0, 0, 0, 9]])
    m = metrics_from_confusion(cm)
    assert m["jaccard"].tolist() == [1.0, 0.0, 0.0]
    assert m["dice"].tolist() == [1.0, 0.0, 0.0]
    assert m["sensitivity"].tolist() == [1.0, 1.0, 0.0]  # no positives in truth -> 1.0
    assert m["specificity"].tolist() == [1.0, 7 / 9, 1.0]  # no negatives in truth -> 1.0


def test_macro_and_micro_differ_as_defined():
    cm = np.array([[1, 0, 0, 0], [1, 0, 1, 98]])  # a perfect tiny image, a bad large one
    assert summarize(cm, "macro")["jaccard"] == pytest.approx((1 + 1 / 100) / 2)
    assert summarize(cm, "micro")["jaccard"] == pytest.approx(2 / 101)
    assert "threshold_jaccard" not in summarize(cm, "micro")
    with pytest.raises(ValueError, match="reduction"):
        summarize(cm, "weighted")


def _mask_pairs(n_random=200):
    """(truth, prediction) uint8 masks including every edge case."""
    rng = np.random.default_rng(0)
    z, f = np.zeros((5, 7), np.uint8), np.full((5, 7), 255, np.uint8)
    one = z.copy()
    one[2, 3] = 255
    pairs = [(z, z), (z, f), (f, z), (f, f), (one, one), (one, z), (z, one),
             (np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.uint8)),
             (np.full((1, 1), 255, np.uint8), np.zeros((1, 1), np.uint8)),
             (np.full((1, 1), 255, np.uint8), np.full((1, 1), 255, np.uint8))]
    for _ in range(n_random):
        h, w = rng.integers(1, 40, 2)
        t = (rng.random((h, w)) < rng.random()).astype(np.uint8) * 255
        # prediction: noisy copy with grey levels around the > 128 boundary
        p = np.clip(t.astype(int) + rng.integers(-140, 140, (h, w)), 0, 255).astype(np.uint8)
        if rng.random() < 0.1:
            p = np.array([[128, 129]], np.uint8).repeat(h, 0)[:, :1].repeat(w, 1)  # exactly at the threshold
        pairs.append((t, p))
    return pairs


@pytest.fixture(scope="module")
def scored_folders(tmp_path_factory):
    d = tmp_path_factory.mktemp("score")
    (d / "truth").mkdir()
    (d / "pred").mkdir()
    for i, (t, p) in enumerate(_mask_pairs()):
        Image.fromarray(t).save(d / "truth" / f"ISIC_{i:07d}_segmentation.png")
        Image.fromarray(p).save(d / "pred" / f"ISIC_{i:07d}_prediction.png")
    (d / "truth" / "LICENSE.txt").write_text("ignored by both scorers")
    return d


def test_every_metric_equals_official_scorer(scored_folders):
    from skinseg.scoring import score_folders

    assert len(list((scored_folders / "truth").glob("*.png"))) >= 210
    ours_per_image, ours_macro = score_folders(scored_folders / "truth", scored_folders / "pred")
    official = SegmentationScore.from_dir(scored_folders / "truth", scored_folders / "pred")
    for k, v in official.macro_average.items():
        assert ours_macro[k] == pytest.approx(v, abs=1e-9), k


def test_score_cli_json_matches_official(scored_folders):
    r = subprocess.run([sys.executable, "-m", "skinseg", "score", str(scored_folders / "truth"),
                        str(scored_folders / "pred"), "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    official = SegmentationScore.from_dir(scored_folders / "truth", scored_folders / "pred")
    assert out["n_images"] == 210
    assert set(out["macro_average"]) == set(official.macro_average.index)
    for k, v in official.macro_average.items():
        assert out["macro_average"][k] == pytest.approx(v, abs=1e-9)


def test_score_cli_errors_name_the_file(tmp_path):
    from skinseg.scoring import ScoreInputError, score_folders

    (tmp_path / "t").mkdir()
    (tmp_path / "p").mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "t" / "ISIC_0000001_segmentation.png")
    with pytest.raises(ScoreInputError, match="No matching prediction.*ISIC_0000001_segmentation.png"):
        score_folders(tmp_path / "t", tmp_path / "p")
    Image.fromarray(np.zeros((5, 4), np.uint8)).save(tmp_path / "p" / "ISIC_0000001.png")
    with pytest.raises(ScoreInputError, match=r"ISIC_0000001.png: size \(5, 4\), expected \(4, 4\)"):
        score_folders(tmp_path / "t", tmp_path / "p")
    r = subprocess.run([sys.executable, "-m", "skinseg", "score", str(tmp_path / "t"), str(tmp_path / "p")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "expected (4, 4)" in r.stderr


def test_per_image_table_columns():
    df = per_image_table(["a", "b"], np.array([[1, 1, 0, 0], [0, 2, 0, 0]]))
    assert list(df.columns[:5]) == ["image_id", "TP", "TN", "FP", "FN"]
    assert df.jaccard.tolist() == [1.0, 1.0]


@pytest.mark.skipif(not (SHARED / "isic2017-fullres-masks").is_dir(),
                    reason="../shared/data/isic2017-fullres-masks absent (CI provides it)")
def test_score_equals_official_on_real_fullres_masks(tmp_path):
    """Predictions made from the official ISIC 2017 validation masks (eroded, dilated, shifted, emptied)."""
    from scipy import ndimage

    from skinseg.scoring import score_folders

    src = SHARED / "isic2017-fullres-masks" / "ISIC-2017_Validation_Part1_GroundTruth"
    truth_dir, pred_dir = tmp_path / "truth", tmp_path / "pred"
    truth_dir.mkdir()
    pred_dir.mkdir()
    for k, f in enumerate(sorted(src.glob("*.png"))[:24]):
        (truth_dir / f.name).write_bytes(f.read_bytes())
        m = np.asarray(Image.open(f)) > 128
        op = [lambda a: ndimage.binary_erosion(a, iterations=15), lambda a: ndimage.binary_dilation(a, iterations=25),
              lambda a: np.roll(a, 60, axis=1), lambda a: np.zeros_like(a)][k % 4]
        Image.fromarray(op(m).astype(np.uint8) * 255).save(pred_dir / f.name.replace("_segmentation", ""))
    _, ours = score_folders(truth_dir, pred_dir)
    official = SegmentationScore.from_dir(truth_dir, pred_dir)
    for k, v in official.macro_average.items():
        assert ours[k] == pytest.approx(v, abs=1e-9), k


def test_every_metric_equals_official_per_image():
    """Per image, not only on average: the scorer's own confusion matrix and metric functions."""
    from isic_challenge_scoring import metrics as official
    from isic_challenge_scoring.confusion import create_binary_confusion_matrix

    for t, p in _mask_pairs():
        cm = create_binary_confusion_matrix(truth_binary_values=t > 128, prediction_binary_values=p > 128)
        ours = metrics_from_confusion(confusion(torch.from_numpy(p > 128)[None], torch.from_numpy(t > 128)[None]))
        expected = {"accuracy": official.binary_accuracy(cm), "sensitivity": official.binary_sensitivity(cm),
                    "specificity": official.binary_specificity(cm), "jaccard": official.binary_jaccard(cm),
                    "threshold_jaccard": official.binary_threshold_jaccard(cm, threshold=0.65),
                    "dice": official.binary_dice(cm)}
        for k, v in expected.items():
            assert ours[k][0] == pytest.approx(v, abs=1e-9), (k, t.shape)

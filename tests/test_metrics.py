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


# --- fast numpy counts and the parallel, streaming scorer ----------------------------------------

FULLRES = SHARED / "isic2017-fullres-masks" / "ISIC-2017_Validation_Part1_GroundTruth"
needs_fullres = pytest.mark.skipif(not FULLRES.is_dir(),
                                   reason=f"full-resolution ISIC 2017 masks not found at {FULLRES} (CI provides them)")


def test_confusion_counts_hand_computed():
    from skinseg.metrics import confusion_counts

    # shape: (3, 4) -> one mask of 3x4 pixels
    pred = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]], bool)
    truth = np.array([[1, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0]], bool)
    # TP: (0,0) (1,1) (1,2); FP: (0,1) (2,3); FN: (1,0); TN: the other 6
    out = confusion_counts(pred, truth)
    assert out.dtype == np.int64 and out.shape == (4,)
    assert out.tolist() == [3, 6, 2, 1]
    with pytest.raises(TypeError, match="boolean"):
        confusion_counts(pred.astype(np.uint8), truth)
    with pytest.raises(ValueError, match="shape"):
        confusion_counts(pred, truth[:2])


def test_confusion_counts_equal_torch_confusion():
    from skinseg.metrics import confusion_counts

    for t, p in _mask_pairs(50):
        pb, tb = p > 128, t > 128
        expected = confusion(torch.from_numpy(pb)[None], torch.from_numpy(tb)[None])[0].tolist()
        assert confusion_counts(pb, tb).tolist() == expected, t.shape


def test_count_uint8_blocks_equal_whole_array(monkeypatch):
    import skinseg.scoring as scoring
    from skinseg.metrics import confusion_counts

    rng = np.random.default_rng(1)
    t = rng.integers(0, 256, (37, 29), dtype=np.uint8)
    p = rng.integers(0, 256, (37, 29), dtype=np.uint8)
    whole = confusion_counts(p > 128, t > 128).tolist()
    for block in (1, 29, 100, 1 << 18):  # one row per block, uneven last block, one block
        monkeypatch.setattr(scoring, "_BLOCK_PIXELS", block)
        assert scoring.count_uint8(p, t).tolist() == whole


def test_ordered_map_keeps_order_and_bounds_work_ahead():
    import threading
    import time

    from skinseg.scoring import ordered_map

    started, lock = [], threading.Lock()

    def work(i):
        with lock:
            started.append(i)
        time.sleep(0.002 * (i % 3))  # finish out of order
        return i * i

    for workers in (1, 2, 3):
        started.clear()
        for k, v in enumerate(ordered_map(work, range(20), workers)):
            assert v == k * k
            with lock:
                assert len(started) <= k + 1 + workers + 1  # never more than workers + 1 ahead
    with pytest.raises(ZeroDivisionError):
        list(ordered_map(lambda i: 1 // (i - 5), range(10), 2))


def _png_variants(tmp_path):
    """8-bit greyscale PNG variants (fast path) and others (Pillow path) of one mask."""
    from PIL import PngImagePlugin

    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (23, 31), dtype=np.uint8)
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "test")
    files = {}
    for name, im, kw in [("plain", Image.fromarray(a), {}), ("level1", Image.fromarray(a), {"compress_level": 1}),
                         ("text", Image.fromarray(a), {"pnginfo": info}),
                         ("trns", Image.fromarray(a), {"transparency": 7}),
                         ("bit1", Image.fromarray(a > 128), {}), ("tif", Image.fromarray(a), {})]:
        files[name] = tmp_path / f"{name}.{'tif' if name == 'tif' else 'png'}"
        im.save(files[name], **kw)
    return files


def test_load_mask_uint8_equals_official_loader(tmp_path):
    from isic_challenge_scoring.load_image import load_segmentation_image

    from skinseg.scoring import iter_masks_parallel, load_mask_uint8

    files = list(_png_variants(tmp_path).values())
    for f in files:
        ours, official = load_mask_uint8(f), load_segmentation_image(f)
        assert ours.dtype == official.dtype == np.uint8 and np.array_equal(ours, official), f.name
    got = list(iter_masks_parallel(files, workers=2))
    assert [i for i, _ in got] == list(range(len(files)))
    assert all(np.array_equal(m, load_segmentation_image(f)) for (_, m), f in zip(got, files))


@pytest.mark.parametrize("workers", [1, 2])
def test_parallel_score_equals_official_with_1bit_and_large_masks(tmp_path, workers):
    from isic_challenge_scoring.confusion import create_binary_confusion_matrix
    from isic_challenge_scoring.load_image import iter_image_pairs

    from skinseg.scoring import score_folders

    rng = np.random.default_rng(3)
    (tmp_path / "truth").mkdir()
    (tmp_path / "pred").mkdir()
    for i in range(9):
        h, w = (600, 700) if i % 3 == 0 else rng.integers(5, 60, 2)  # 420k px: several count blocks
        t = np.zeros((h, w), np.uint8)
        t[h // 4: 3 * h // 4, w // 5: 4 * w // 5] = 255
        p = np.clip(np.roll(t, i, 1).astype(int) + rng.integers(-140, 140, (h, w)), 0, 255).astype(np.uint8)
        Image.fromarray(t).save(tmp_path / "truth" / f"ISIC_{i:07d}_segmentation.png")
        pim = Image.fromarray(p > 128) if i % 2 else Image.fromarray(p)  # odd ids: 1-bit PNG predictions
        pim.save(tmp_path / "pred" / f"ISIC_{i:07d}.png")
    assert Image.open(tmp_path / "pred" / "ISIC_0000001.png").mode == "1"

    per_image, macro = score_folders(tmp_path / "truth", tmp_path / "pred", workers=workers)
    official = SegmentationScore.from_dir(tmp_path / "truth", tmp_path / "pred")
    for k, v in official.macro_average.items():
        assert macro[k] == pytest.approx(v, abs=1e-9), k
    for row, pair in zip(per_image.itertuples(), iter_image_pairs(tmp_path / "truth", tmp_path / "pred")):
        cm = create_binary_confusion_matrix(pair.truth_image > 128, pair.prediction_image > 128)
        assert row.image_id == pair.image_id
        assert [row.TP, row.TN, row.FP, row.FN] == cm[["TP", "TN", "FP", "FN"]].tolist()


def test_parallel_score_errors_name_the_first_bad_file(tmp_path):
    from skinseg.scoring import ScoreInputError, score_folders

    (tmp_path / "t").mkdir()
    (tmp_path / "p").mkdir()
    for i in range(6):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "t" / f"ISIC_{i:07d}_segmentation.png")
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "p" / f"ISIC_{i:07d}.png")
    (tmp_path / "p" / "ISIC_0000004.png").write_text("not an image")  # a later bad file...
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "p" / "ISIC_0000002.png")  # ...and the first one
    with pytest.raises(ScoreInputError, match=r"ISIC_0000002.png: mode RGB"):
        score_folders(tmp_path / "t", tmp_path / "p", workers=2)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "p" / "ISIC_0000002.png")
    with pytest.raises(ScoreInputError, match=r"ISIC_0000004.png: cannot decode image"):
        score_folders(tmp_path / "t", tmp_path / "p", workers=2)


@needs_fullres
def test_fast_loader_equals_official_loader_on_real_fullres_masks():
    from isic_challenge_scoring.load_image import load_segmentation_image

    from skinseg.scoring import iter_masks_parallel

    files = sorted(FULLRES.glob("*.png"))[::10]  # 15 of the 150, up to 4288x6688
    for (_, ours), f in zip(iter_masks_parallel(files), files):
        assert np.array_equal(ours, load_segmentation_image(f)), f.name

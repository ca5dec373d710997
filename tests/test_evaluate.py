"""Evaluation at both resolutions, post-processing, prediction PNGs the official scorer reads."""
import numpy as np
import pytest
import torch
from PIL import Image

from conftest import SHARED
from skinseg.data import PreprocessCache, SegmentationDataset, discover
from skinseg.evaluate import EvalSettings, background_counts, evaluate, postprocess, structuring_element, upsample
from skinseg.scoring import score_folders
from skinseg.transforms import normalize


class Oracle(torch.nn.Module):
    """Returns the truth mask of each batch image as logits (looked up by the normalised pixel sum)."""

    out_channels = 1

    def __init__(self, ds):
        super().__init__()
        self.table = {round(float(normalize(ds[i]["image"][None]).sum()), 2): ds[i]["mask"] for i in range(len(ds))}

    def forward(self, x):
        return torch.stack([(self.table[round(float(im.sum()), 2)] * 2 - 1) * 20 for im in x])


def test_structuring_elements_and_opening():
    assert structuring_element("disk", 1).astype(int).tolist() == [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    assert structuring_element("square", 1).all() and structuring_element("square", 2).shape == (5, 5)
    m = np.zeros((9, 9), bool)
    m[2:7, 2:7] = True
    m[0, 0] = True  # a speck
    out = postprocess(m, "opening", "disk", 1)
    assert not out[0, 0] and out[4, 4]
    assert out[2, 2] == 0 and postprocess(m, "opening", "square", 1)[2, 2] == 1  # the plus rounds corners, the square not
    assert (postprocess(m, "none") == m).all()
    with pytest.raises(ValueError, match="postprocess"):
        postprocess(m, "closing")
    with pytest.raises(ValueError, match="opening_element"):
        structuring_element("diamond", 1)


def test_background_counts_swap_classes():
    lesion = np.array([[5, 90, 3, 2]])  # TP, TN, FP, FN
    assert background_counts(lesion).tolist() == [[90, 5, 2, 3]]


def test_background_target_model_scored_as_lesion(synth_small, tmp_path):
    idx = discover(synth_small)
    ds = SegmentationDataset(idx.samples("val"), (64, 64), PreprocessCache(tmp_path / "c"))

    class Inverted(Oracle):
        def forward(self, x):
            return -super().forward(x)

    ev = evaluate(Inverted(ds), ds, settings=EvalSettings(target="background"))
    assert ev.summary()["training"]["jaccard"] == 1.0 and ev.summary(target="background")["original"]["jaccard"] == 1.0


def test_upsample_modes():
    p = torch.tensor([[[0.0, 1.0], [0.0, 1.0]]])  # shape: (1, 2, 2)
    up = upsample(p, (4, 4))
    assert up.shape == (1, 4, 4) and (up[:, :, 0] == 0).all() and (up[:, :, -1] == 1).all()
    assert upsample(p, (4, 4), "bicubic").max() <= 1
    with pytest.raises(ValueError, match="upsampling"):
        upsample(p, (4, 4), "nearest")


def test_perfect_model_scores_one_at_both_resolutions_and_writes_pngs(synth_small, tmp_path):
    idx = discover(synth_small)
    ds = SegmentationDataset(idx.samples("val"), (64, 64), PreprocessCache(tmp_path / "c"))
    ev = evaluate(Oracle(ds), ds, prediction_dir=tmp_path / "pred")
    s = ev.summary()
    assert s["training"]["jaccard"] == 1.0
    assert s["original"]["jaccard"] == 1.0  # 64x64 originals: upsampling is the identity
    per_image, macro = score_folders(idx.samples("val")[0].mask.parent, tmp_path / "pred")
    assert len(per_image) == 8 and macro["jaccard"] == 1.0


def test_original_resolution_differs_from_training(synth_small, tmp_path):
    idx = discover(synth_small)
    ds = SegmentationDataset(idx.samples("val"), (32, 32), PreprocessCache(tmp_path / "c"))
    s = evaluate(Oracle(ds), ds).summary()
    assert s["training"]["jaccard"] == 1.0
    assert 0.7 < s["original"]["jaccard"] < 1.0  # 32 -> 64 upsampling loses border detail


@pytest.mark.skipif(not (SHARED / "isic2017-val-fullres-sample").is_dir(), reason="../shared/data absent")
def test_large_originals_scored_against_fullres_masks(tmp_path):
    """The large-image path: full-resolution JPEGs and masks, evaluated at their own size."""
    idx = discover(SHARED / "isic2017-val-fullres-sample")
    samples = idx.samples("val")[:3]
    ds = SegmentationDataset(samples, (64, 64), PreprocessCache(tmp_path / "c"))
    ev = evaluate(Oracle(ds), ds, prediction_dir=tmp_path / "pred")
    sizes = [Image.open(tmp_path / "pred" / f"{s.id}_segmentation.png").size for s in samples]
    assert sizes == [Image.open(s.mask).size for s in samples] and min(w for w, h in sizes) >= 1024
    assert 0.85 < ev.summary()["original"]["jaccard"] < 1.0

"""Loaders on generated trees of each official layout, defects, cache, splits; ../shared/data when present."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageFilter

from conftest import ISIC2017_256, SHARED, needs_shared, write_pair
from skinseg.data import DataError, PreprocessCache, check_dataset, detect_layout, discover, holdout_split
from skinseg.data.io import load_mask


def make_isic2016(root, n=3):
    for split in ("Training", "Test"):
        for i in range(n):
            write_pair(root / f"ISBI2016_ISIC_Part1_{split}_Data" / f"ISIC_{i:07d}.jpg",
                       root / f"ISBI2016_ISIC_Part1_{split}_GroundTruth" / f"ISIC_{i:07d}_Segmentation.png", seed=i)


def make_isic2017(root, n=3, lower=False):
    for split in ("Training", "Validation", "Test_v2"):
        d = f"ISIC-2017_{split}_Data"
        g = f"ISIC-2017_{split}_Part1_GroundTruth"
        d, g = (d.lower(), g.lower()) if lower else (d, g)
        for i in range(n):
            write_pair(root / d / f"ISIC_{i:07d}.jpg", root / g / f"ISIC_{i:07d}_segmentation.png", seed=i)
            Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(root / d / f"ISIC_{i:07d}_superpixels.png")
        (root / d / f"ISIC-2017_{split}_Data_metadata.csv").write_text("image_id,age\n")


def make_isic2018(root, n=3):
    for split in ("Training", "Validation"):
        for i in range(n):
            write_pair(root / f"ISIC2018_Task1-2_{split}_Input" / f"ISIC_{i:07d}.jpg",
                       root / f"ISIC2018_Task1_{split}_GroundTruth" / f"ISIC_{i:07d}_segmentation.png", seed=i)
        (root / f"ISIC2018_Task1-2_{split}_Input" / "ATTRIBUTION.txt").write_text("x")
        (root / f"ISIC2018_Task1_{split}_GroundTruth" / "LICENSE.txt").write_text("x")


def make_ph2(root, n=3):
    for i in range(1, n + 1):
        c = f"IMD{i:03d}"
        case = root / "PH2Dataset" / "PH2 Dataset images" / c
        write_pair(case / f"{c}_Dermoscopic_Image" / f"{c}.bmp", case / f"{c}_lesion" / f"{c}_lesion.bmp",
                   seed=i, mask_mode=["1", "RGB", "L"][i % 3])
    return root / "PH2Dataset"


@pytest.mark.parametrize("make,name,splits", [
    (make_isic2016, "isic2016", {"train": 3, "test": 3}),
    (make_isic2017, "isic2017", {"train": 3, "val": 3, "test": 3}),
    (make_isic2018, "isic2018", {"train": 3, "val": 3}),
])
def test_isic_layouts_read_as_unzipped(tmp_path, make, name, splits):
    make(tmp_path)
    assert detect_layout(tmp_path) == name
    idx = check_dataset(tmp_path)
    assert idx.problems == []
    assert {k: len(v) for k, v in idx.splits.items()} == splits
    s = idx.samples("train")[0]
    assert s.id == "ISIC_0000000" and s.mask is not None and s.mask.name.lower() == "isic_0000000_segmentation.png"


def test_folder_names_match_case_insensitively(tmp_path):
    make_isic2017(tmp_path, lower=True)
    idx = discover(tmp_path)
    assert idx.dataset == "isic2017" and len(idx.samples("val")) == 3 and idx.problems == []


def test_ph2_masks_1bit_rgb_and_grey(tmp_path):
    root = make_ph2(tmp_path)
    idx = check_dataset(root)
    assert idx.dataset == "ph2" and idx.problems == [] and [s.id for s in idx.samples()] == ["IMD001", "IMD002", "IMD003"]
    for s in idx.samples():
        m = load_mask(s.mask, "ph2")
        assert m.dtype == bool and m.sum() == 16 * 20  # the 16x20 rectangle of write_pair, in every mode


def test_isic_mask_binarised_above_128(tmp_path):
    p = tmp_path / "m.png"
    Image.fromarray(np.array([[128, 129, 0, 255]], np.uint8)).save(p)
    assert load_mask(p).tolist() == [[False, True, False, True]]


def test_unknown_layout_and_missing_folder(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(DataError, match="unknown layout.*ISIC-2017_Training_Data"):
        detect_layout(tmp_path)
    with pytest.raises(DataError, match="no such folder"):
        detect_layout(tmp_path / "nope")


def plant_defects(root):
    """Plant one of each defect in an ISIC 2017 tree; return the substrings check must report."""
    tr, gt = root / "ISIC-2017_Training_Data", root / "ISIC-2017_Training_Part1_GroundTruth"
    (tr / "ISIC_0000000.jpg").write_bytes((tr / "ISIC_0000000.jpg").read_bytes()[:200])  # truncated
    (gt / "ISIC_0000001_segmentation.png").unlink()                                       # image without mask
    (tr / "ISIC_0000002.jpg").unlink()                                                    # mask without image
    write_pair(tr / "ISIC_0000003.jpg", None, 32, 40)
    Image.fromarray(np.zeros((31, 40), np.uint8)).save(gt / "ISIC_0000003_segmentation.png")  # size mismatch
    write_pair(tr / "ISIC_0000004.jpg", None, 32, 40)
    Image.fromarray(np.arange(32 * 40).reshape(32, 40).astype(np.uint8)).save(gt / "ISIC_0000004_segmentation.png")
    shutil.rmtree(root / "ISIC-2017_Validation_Data")
    (root / "ISIC-2017_Validation_Data").mkdir()                                         # empty folder
    return ["ISIC_0000000.jpg: corrupt or truncated", "ISIC_0000001.jpg: image without mask",
            "ISIC_0000002_segmentation.png: mask without image", "ISIC_0000003_segmentation.png: mask size 31x40",
            "ISIC_0000004_segmentation.png: non-binary mask", "ISIC-2017_Validation_Data: empty folder"]


def test_check_finds_every_planted_defect(tmp_path):
    make_isic2017(tmp_path, n=6)
    expected = plant_defects(tmp_path)
    idx = check_dataset(tmp_path)
    text = "\n".join(idx.problems)
    for e in expected:
        assert e in text, f"missing problem {e!r} in:\n{text}"
    with pytest.raises(DataError, match="problem"):
        idx.raise_problems()


def test_check_cli_exit_codes(tmp_path):
    make_isic2018(tmp_path / "ok")
    r = subprocess.run([sys.executable, "-m", "skinseg", "check", str(tmp_path / "ok")], capture_output=True, text=True)
    assert r.returncode == 0 and "layout: isic2018" in r.stdout and "train" in r.stdout
    make_isic2017(tmp_path / "bad", n=6)
    plant_defects(tmp_path / "bad")
    r = subprocess.run([sys.executable, "-m", "skinseg", "check", str(tmp_path / "bad")], capture_output=True, text=True)
    assert r.returncode == 1 and "6 problem(s)" in r.stdout
    r = subprocess.run([sys.executable, "-m", "skinseg", "check", str(tmp_path / "none")], capture_output=True, text=True)
    assert r.returncode == 2 and "no such folder" in r.stderr


@needs_shared
def test_check_reports_shared_isic2017_tree():
    r = subprocess.run([sys.executable, "-m", "skinseg", "check", "--quick", str(ISIC2017_256)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = {ln.split()[0]: ln.split()[1:] for ln in r.stdout.splitlines()[1:4]}
    assert lines["train"][:3] == ["2000", "images", "2000"]
    assert lines["val"][:3] == ["150", "images", "150"]
    assert lines["test"][:3] == ["600", "images", "0"]  # test images ship without masks


@needs_shared
def test_check_finds_defects_in_broken_copy_of_shared_data(tmp_path):
    src = ISIC2017_256
    for sub in ("ISIC-2017_Training_Data", "ISIC-2017_Training_Part1_GroundTruth", "ISIC-2017_Validation_Data",
                "ISIC-2017_Validation_Part1_GroundTruth"):
        (tmp_path / sub).mkdir()
        for f in sorted((src / sub).iterdir())[:8]:
            shutil.copy(f, tmp_path / sub / f.name)
    ids = sorted(p.stem for p in (tmp_path / "ISIC-2017_Training_Data").glob("*.jpg"))
    tr, gt = tmp_path / "ISIC-2017_Training_Data", tmp_path / "ISIC-2017_Training_Part1_GroundTruth"
    (tr / f"{ids[0]}.jpg").write_bytes((tr / f"{ids[0]}.jpg").read_bytes()[:500])
    (gt / f"{ids[1]}_segmentation.png").unlink()
    Image.open(gt / f"{ids[2]}_segmentation.png").resize((255, 256)).save(gt / f"{ids[2]}_segmentation.png")
    Image.open(gt / f"{ids[3]}_segmentation.png").filter(ImageFilter.GaussianBlur(3)).save(
        gt / f"{ids[3]}_segmentation.png")
    text = "\n".join(check_dataset(tmp_path).problems)
    assert f"{ids[0]}.jpg: corrupt or truncated" in text
    assert f"{ids[1]}.jpg: image without mask" in text
    assert f"{ids[2]}_segmentation.png: mask size 256x255" in text
    assert f"{ids[3]}_segmentation.png: non-binary mask" in text


def test_cache_decodes_once_and_remakes_on_change(tmp_path):
    write_pair(tmp_path / "ISIC_0000000.jpg", tmp_path / "m.png", 40, 40)
    cache = PreprocessCache(tmp_path / "cache")
    a = cache.image(tmp_path / "ISIC_0000000.jpg", (16, 16))
    b = cache.image(tmp_path / "ISIC_0000000.jpg", (16, 16))
    assert a.shape == (16, 16, 3) and (a == b).all() and (cache.misses, cache.hits) == (1, 1)
    cache.image(tmp_path / "ISIC_0000000.jpg", (32, 32))  # another size: another entry
    assert cache.misses == 2
    write_pair(tmp_path / "ISIC_0000000.jpg", None, 40, 40, seed=9)  # source changed
    st = os.stat(tmp_path / "ISIC_0000000.jpg")
    os.utime(tmp_path / "ISIC_0000000.jpg", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    c = cache.image(tmp_path / "ISIC_0000000.jpg", (16, 16))
    assert cache.misses == 3 and not (c == a).all()
    m = cache.mask(tmp_path / "m.png", (20, 20))
    assert m.dtype == bool and m.sum() == 100  # the centre 20x20 of 40x40, halved


def test_holdout_is_seeded():
    ids = [f"ISIC_{i:07d}" for i in range(50)]
    a, b, c = holdout_split(ids, 0.1, 0), holdout_split(list(reversed(ids)), 0.1, 0), holdout_split(ids, 0.1, 1)
    assert a == b and a != c and sum(v == "val" for v in a.values()) == 5
    with pytest.raises(ValueError, match="val_fraction"):
        holdout_split(ids, 1.5, 0)


@pytest.mark.skipif(not (SHARED / "isic2017-fullres-masks").is_dir(), reason="../shared/data full-resolution masks absent")
def test_fullres_masks_found_for_validation():
    from skinseg.data import find_masks

    m = find_masks(SHARED / "isic2017-fullres-masks", "isic2017", "val")
    assert len(m) == 150 and all(k.startswith("ISIC_") for k in m)


def test_masks_only_tree_is_a_valid_truth_tree(tmp_path):
    for i in range(2):
        write_pair(tmp_path / "img.jpg", tmp_path / "ISIC-2017_Validation_Part1_GroundTruth" / f"ISIC_{i:07d}_segmentation.png")
    (tmp_path / "img.jpg").unlink()
    idx = check_dataset(tmp_path)
    assert idx.dataset == "isic2017" and idx.masks_only and idx.problems == []
    assert [s.image for s in idx.samples("val")] == [None, None]
    # one image folder present: the same missing images are now problems
    (tmp_path / "ISIC-2017_Training_Data").mkdir()
    write_pair(tmp_path / "ISIC-2017_Training_Data" / "ISIC_0000009.jpg", None)
    assert any("masks without their image folder" in p for p in check_dataset(tmp_path).problems)


@needs_shared
def test_check_reports_fullres_masks_and_large_sample():
    r = subprocess.run([sys.executable, "-m", "skinseg", "check", "--quick", str(SHARED / "isic2017-fullres-masks")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "isic2017 (masks only)" in r.stdout, r.stdout
    assert "train       0 images    2000 masks" in r.stdout and "val         0 images     150 masks" in r.stdout
    r = subprocess.run([sys.executable, "-m", "skinseg", "check", str(SHARED / "isic2017-val-fullres-sample")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "val         8 images       8 masks" in r.stdout, r.stdout

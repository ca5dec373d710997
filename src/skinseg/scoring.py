"""Score a folder of predicted masks against a folder of truth masks, taking the
same inputs as the official scorer (``isic-challenge-scoring``'s segmentation
task): ISIC-named 8-bit PNGs, prediction matched by the 7-digit id, same size."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from skinseg.metrics import binarize_uint8, confusion, per_image_table, summarize

_ID = re.compile(r"ISIC_[0-9]{7}")
_IGNORED = {"ATTRIBUTION.txt", "LICENSE.txt"}


class ScoreInputError(ValueError):
    """A truth or prediction folder cannot be scored; the message names the file."""


def load_mask_uint8(path: Path) -> np.ndarray:
    """A single-channel 8-bit mask as the scorer reads it (1-bit images widened to 0/255)."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode == "1":
                im = im.convert("L")
            if im.mode != "L":
                raise ScoreInputError(f"{path}: mode {im.mode}, not a single-channel (greyscale) mask; save it as 8-bit 'L' PNG")
            return np.asarray(im)
    except (UnidentifiedImageError, OSError) as e:
        raise ScoreInputError(f"{path}: cannot decode image ({e}); re-export it as PNG") from e


def score_folders(truth_dir, pred_dir):
    """Returns ``(per_image DataFrame, macro dict)`` for two folders."""
    truth_dir, pred_dir = Path(truth_dir), Path(pred_dir)
    for d in (truth_dir, pred_dir):
        if not d.is_dir():
            raise ScoreInputError(f"{d}: not a folder")
    preds = [p for p in sorted(pred_dir.iterdir()) if p.is_file()]
    ids, cms = [], []
    for truth_file in sorted(truth_dir.iterdir()):
        if truth_file.name in _IGNORED or not truth_file.is_file():
            continue
        m = _ID.search(truth_file.stem)
        if not m:
            raise ScoreInputError(f"{truth_file}: no ISIC_nnnnnnn id in the file name")
        number = m.group(0).split("_")[1]
        cands = [p for p in preds if number in p.stem]
        if len(cands) != 1:
            what = "No" if not cands else "Multiple"
            raise ScoreInputError(f"{what} matching prediction in {pred_dir} for {truth_file.name}")
        truth = load_mask_uint8(truth_file)
        pred = load_mask_uint8(cands[0])
        if pred.shape[:2] != truth.shape[:2]:
            raise ScoreInputError(f"{cands[0]}: size {pred.shape[:2]}, expected {truth.shape[:2]} (the truth mask's)")
        ids.append(m.group(0))
        cms.append(confusion(binarize_uint8(pred)[None], binarize_uint8(truth)[None])[0])
    if not ids:
        raise ScoreInputError(f"{truth_dir}: no truth masks found")
    cm = np.stack([c.numpy() for c in cms])
    return per_image_table(ids, cm), summarize(cm, "macro")

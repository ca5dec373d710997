"""Score a folder of predicted masks against a folder of truth masks, taking the
same inputs as the official scorer (``isic-challenge-scoring``'s segmentation
task): ISIC-named 8-bit PNGs, prediction matched by the 7-digit id, same size.

Speed: PNG decoding dominates (zlib inflate of ~30 Mpx masks), so pairs are
decoded and counted in a small thread pool (OpenCV, Pillow, zlib and numpy all
release the GIL), streaming: at most ``workers + 1`` pairs are in flight."""
from __future__ import annotations

import os
import re
import struct
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

import cv2  # its libpng decodes these masks ~1.7x faster than Pillow (installed with albumentations)
import numpy as np
from PIL import Image, UnidentifiedImageError

from skinseg.metrics import confusion_counts, per_image_table, summarize

_ID = re.compile(r"ISIC_[0-9]{7}")
_IGNORED = {"ATTRIBUTION.txt", "LICENSE.txt"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Rows binarised and counted at a time: 256 kB blocks stay in cache (~2x faster than
# whole-array temporaries), and no full-size bool copy of a 30 Mpx mask is ever made.
_BLOCK_PIXELS = 1 << 18

T = TypeVar("T")
R = TypeVar("R")


class ScoreInputError(ValueError):
    """A truth or prediction folder cannot be scored; the message names the file."""


def _load_mask_pil(path: Path) -> np.ndarray:
    # The official scorer's loader (isic_challenge_scoring.load_image), with our messages.
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


def _png_gray8_size(data: bytes) -> tuple[int, int] | None:
    """``(H, W)`` if ``data`` is a well-formed 8-bit greyscale PNG, else None.

    Only such files take the OpenCV path: for them libpng and Pillow give the
    same array. Every chunk's CRC is checked because Pillow rejects a bad one
    that libpng would skip; anything unusual goes to Pillow, which decides."""
    if data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR" or len(data) < 33:
        return None
    w, h, depth, colour = struct.unpack(">IIBB", data[16:26])
    if depth != 8 or colour != 0:
        return None
    pos = 8
    while pos + 12 <= len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        end = pos + 8 + n
        if end + 4 > len(data) or zlib.crc32(data[pos + 4:end]) != struct.unpack(">I", data[end:end + 4])[0]:
            return None
        if data[pos + 4:pos + 8] == b"IEND":
            return h, w
        pos = end + 4
    return None


def load_mask_uint8(path: Path) -> np.ndarray:
    """A single-channel 8-bit mask as the scorer reads it (1-bit images widened to 0/255).

    Raises :class:`ScoreInputError` naming the file if it is not a greyscale
    image or cannot be decoded."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ScoreInputError(f"{path}: cannot read file ({e})") from e
    size = _png_gray8_size(data)
    if size is not None:
        a = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
        if a is not None and a.dtype == np.uint8 and a.shape == size:
            return a
    return _load_mask_pil(path)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int | None = None) -> Iterator[R]:
    """``fn(item)`` for each item, yielded in input order, ``workers`` threads at a time.

    While the consumer handles one result, ``workers`` more are being computed:
    no thread idles, and at most ``workers + 1`` results exist at once, so
    memory stays bounded however many items there are. An exception is raised
    at its item's turn, as a sequential loop would, and queued items are cancelled."""
    workers = workers or _cpu_count()
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="skinseg-decode") as pool:
        pending: deque = deque()
        try:
            for item in items:
                if len(pending) > workers:
                    yield pending.popleft().result()
                pending.append(pool.submit(fn, item))
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


def iter_masks_parallel(paths: Iterable[Path], workers: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, uint8 (H, W) mask)`` for each path, in order, decoded ``workers``
    (default: the CPUs this process may use) at a time by :func:`load_mask_uint8`.
    At most ``workers + 1`` decoded masks exist at once, counting the one yielded
    (if the caller does not keep it)."""
    return enumerate(ordered_map(load_mask_uint8, paths, workers))


def count_uint8(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """TP, TN, FP, FN (int64 ``(4,)``) of two uint8 ``(H, W)`` masks binarised as
    the scorer does (``> 128``), one cache-sized block of rows at a time."""
    rows = max(1, _BLOCK_PIXELS // max(1, truth.shape[1]))
    total = np.zeros(4, np.int64)
    for r in range(0, truth.shape[0], rows):
        total += confusion_counts(pred[r:r + rows] > 128, truth[r:r + rows] > 128)
    return total


def _score_one(truth_file: Path, preds: list[Path], pred_dir: Path) -> tuple[str, np.ndarray]:
    # Matching is done here, per truth file, so errors surface in the same order as
    # the official scorer's (sorted truth files; match, then truth, then prediction).
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
    return m.group(0), count_uint8(pred, truth)


def score_folders(truth_dir, pred_dir, workers: int | None = None):
    """Returns ``(per_image DataFrame, macro dict)`` for two folders.

    ``workers``: decoding threads (default: the CPUs this process may use)."""
    truth_dir, pred_dir = Path(truth_dir), Path(pred_dir)
    for d in (truth_dir, pred_dir):
        if not d.is_dir():
            raise ScoreInputError(f"{d}: not a folder")
    preds = [p for p in sorted(pred_dir.iterdir()) if p.is_file()]
    truths = [f for f in sorted(truth_dir.iterdir()) if f.name not in _IGNORED and f.is_file()]
    if not truths:
        raise ScoreInputError(f"{truth_dir}: no truth masks found")
    ids, cms = [], []
    for image_id, cm in ordered_map(lambda f: _score_one(f, preds, pred_dir), truths, workers):
        ids.append(image_id)
        cms.append(cm)
    cm = np.stack(cms)
    return per_image_table(ids, cm), summarize(cm, "macro")

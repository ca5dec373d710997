"""Preprocessing cache: each file decoded and resized once per target size.

Entries are ``.npy`` files keyed by the source's absolute path, size in bytes,
modification time and the target size, so a changed source file is re-made
(its old entry is simply never read again). Location is configurable
(``cache_dir``, default ``cache/`` in the project, git-ignored).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from skinseg.data.io import load_image, load_mask
from skinseg.paths import resolve


class PreprocessCache:
    def __init__(self, cache_dir="cache", enabled: bool = True):
        self.dir = resolve(cache_dir)
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    def _key(self, path: Path, kind: str, size: tuple[int, int] | None) -> Path:
        st = os.stat(path)
        raw = f"{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}|{kind}|{size}"
        h = hashlib.sha1(raw.encode()).hexdigest()
        sub = "orig" if size is None else f"{size[0]}x{size[1]}"
        return self.dir / sub / h[:2] / f"{h}.npy"

    def _get(self, path: Path, kind: str, size, make):
        if not self.enabled:
            return make()
        f = self._key(path, kind, size)
        if f.is_file():
            self.hits += 1
            return np.load(f)
        self.misses += 1
        arr = make()
        f.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=f.parent, suffix=".npy.tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, arr)
        os.replace(tmp, f)
        return arr

    def image(self, path: Path, size: tuple[int, int] | None) -> np.ndarray:
        """RGB ``(H, W, 3) uint8`` resized (bilinear, antialiased) to ``size`` = (H, W)."""
        def make():
            a = load_image(path)
            if size is None or a.shape[:2] == tuple(size):
                return a
            return np.asarray(Image.fromarray(a).resize((size[1], size[0]), Image.BILINEAR))
        return self._get(path, "image", size, make)

    def mask(self, path: Path, size: tuple[int, int] | None, dataset: str = "isic") -> np.ndarray:
        """Boolean mask (binarised as :func:`load_mask` does for ``dataset``) resized by
        area averaging then ``>= 0.5`` (no aliasing of thin borders)."""
        def make():
            m = load_mask(path, dataset)
            if size is None or m.shape == tuple(size):
                return m
            u8 = Image.fromarray(m.astype(np.uint8) * 255)
            return np.asarray(u8.resize((size[1], size[0]), Image.BOX)) >= 128
        return self._get(path, f"mask-{dataset}", size, make)

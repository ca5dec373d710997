"""Dataset fingerprints: sha256 over the ids and bytes of every file a run reads
(images, masks and the original-resolution masks it is scored against).

File hashes are cached by (absolute path, size, modification time) in
``<cache_dir>/file-sha256.json``, so a dataset is read once, not once per run;
a changed file gets a new hash.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from skinseg.results import write_text

_MEMO: dict[str, str] = {}


def _key(path: Path) -> str:
    st = os.stat(path)
    return f"{os.path.abspath(path)}|{st.st_size}|{st.st_mtime_ns}"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class FileHashes:
    """Persistent ``{path|size|mtime: sha256}`` cache."""

    def __init__(self, cache_dir):
        self.file = Path(cache_dir) / "file-sha256.json"
        self.table = json.loads(self.file.read_text()) if self.file.is_file() else {}
        self.dirty = False

    def __call__(self, path: Path) -> str:
        k = _key(path)
        if k not in self.table:
            self.table[k] = _MEMO.get(k) or file_sha256(path)
            self.dirty = True
        _MEMO[k] = self.table[k]
        return self.table[k]

    def save(self) -> None:
        if self.dirty:
            write_text(self.file, json.dumps(self.table, sort_keys=True))
            self.dirty = False


def fingerprint(files: dict[str, list[Path]], cache_dir) -> str:
    """sha256 over ``id`` and the hash of each of its files, ids in sorted order.

    ``files``: ``{image id: [image, mask, original mask, ...]}`` (None entries skipped).
    """
    hashes = FileHashes(cache_dir)
    h = hashlib.sha256()
    for i in sorted(files):
        h.update(i.encode())
        for f in files[i]:
            if f is not None:
                h.update(hashes(Path(f)).encode())
    hashes.save()
    return h.hexdigest()

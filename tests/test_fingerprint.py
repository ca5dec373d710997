"""Dataset fingerprints: cover the original-resolution masks, hashed once per file version."""
import os

import skinseg.data.fingerprint as F


def test_fingerprint_covers_original_masks_and_caches_hashes(tmp_path, monkeypatch):
    for name in ("a.jpg", "a.png", "a_full.png"):
        (tmp_path / name).write_bytes(name.encode())
    files = {"ISIC_0000001": [tmp_path / "a.jpg", tmp_path / "a.png", tmp_path / "a_full.png"]}
    calls = []
    real = F.file_sha256
    monkeypatch.setattr(F, "file_sha256", lambda p: calls.append(p) or real(p))
    first = F.fingerprint(files, tmp_path / "cache")
    assert len(calls) == 3
    F._MEMO.clear()  # a new process: the persistent table answers
    assert F.fingerprint(files, tmp_path / "cache") == first and len(calls) == 3
    (tmp_path / "a_full.png").write_bytes(b"another original mask")
    st = os.stat(tmp_path / "a_full.png")
    os.utime(tmp_path / "a_full.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert F.fingerprint(files, tmp_path / "cache") != first and len(calls) == 4
    without = {"ISIC_0000001": files["ISIC_0000001"][:2]}
    assert F.fingerprint(without, tmp_path / "cache") != F.fingerprint(files, tmp_path / "cache")

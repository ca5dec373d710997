"""`skinseg download` against a local HTTP server (127.0.0.1, started here) serving tiny archives
in the official ISIC 2017 layout: resume after an interrupted transfer, refuse a truncated archive
without unzipping anything, then the layout check."""
from __future__ import annotations

import http.server
import re
import threading
import zipfile
from pathlib import Path

import pytest
from conftest import write_pair

from skinseg.cli import main as cli
from skinseg.data import check_dataset
from skinseg.data.download import ARCHIVES, DownloadError, download

SPLITS = {"Training": 3, "Validation": 2, "Test_v2": 2}


def _isic2017_archives(folder: Path) -> Path:
    """The six ISIC 2017 segmentation archives, each zipping one top-level folder, under folder/2017/."""
    src = folder / "src"
    for split, n in SPLITS.items():
        for i in range(n):
            image_id = f"ISIC_{len(split) * 100 + i:07d}"
            write_pair(src / f"ISIC-2017_{split}_Data" / f"{image_id}.jpg",
                       src / f"ISIC-2017_{split}_Part1_GroundTruth" / f"{image_id}_segmentation.png", seed=i)
    served = folder / "served" / "2017"
    served.mkdir(parents=True)
    for a in ARCHIVES["isic2017"]:
        top = src / a.name.removesuffix(".zip")
        with zipfile.ZipFile(served / a.name, "w") as z:
            for f in sorted(top.iterdir()):
                z.write(f, f"{top.name}/{f.name}")
    return folder / "served"


class _Server:
    """Serves a folder with HTTP Range support (416 past the end); ``cut[name] = n`` sends only n bytes
    of that file once (announcing its full length, then closing: an interrupted transfer); files in
    ``no_range`` are always sent whole (200); ``ranges`` logs Range headers."""

    def __init__(self, root: Path):
        self.root, self.cut, self.ranges, self.no_range = root, {}, [], set()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                f = outer.root / self.path.lstrip("/")
                if not f.is_file():
                    self.send_error(404)
                    return
                data = f.read_bytes()
                rng = self.headers.get("Range")
                outer.ranges.append((f.name, rng))
                if f.name in outer.no_range:
                    rng = None
                start = int(re.match(r"bytes=(\d+)-", rng).group(1)) if rng else 0
                if rng and start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206 if rng else 200)
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                stop = outer.cut.pop(f.name, None)
                self.wfile.write(data[start:stop] if stop is not None else data[start:])
                if stop is not None:
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture
def server(tmp_path):
    s = _Server(_isic2017_archives(tmp_path))
    yield s
    s.close()


def test_interrupted_transfer_resumes_and_the_tree_checks(tmp_path, server):
    name = "ISIC-2017_Training_Data.zip"
    size = (server.root / "2017" / name).stat().st_size
    server.cut[name] = size // 2
    dest = tmp_path / "isic2017"
    # the short read shows as an interrupted stream or as a size below the server's: either way, resumable
    with pytest.raises(DownloadError, match="(interrupted after|bytes, but the server.s size).* again to resume"):
        download("isic2017", dest, server.url, progress=False)
    part = dest / "downloads" / f"{name}.part"
    assert part.stat().st_size == size // 2 and not (dest / "ISIC-2017_Training_Data").exists()
    download("isic2017", dest, server.url, progress=False)
    assert (name, f"bytes={size // 2}-") in server.ranges  # resumed, not restarted
    assert (dest / "downloads" / name).stat().st_size == size and not part.exists()
    idx = check_dataset(dest, "isic2017")
    assert {k: len(v) for k, v in idx.splits.items()} == {"train": 3, "val": 2, "test": 2} and not idx.problems
    assert not list(dest.glob(".extract-*"))
    n_requests = len(server.ranges)
    download("isic2017", dest, server.url, progress=False)  # everything there: nothing fetched again
    assert len(server.ranges) == n_requests


def test_truncated_archive_fails_clearly_and_unzips_nothing(tmp_path, server):
    gt = server.root / "2017" / "ISIC-2017_Validation_Part1_GroundTruth.zip"
    gt.write_bytes(gt.read_bytes()[:-40])  # the server now serves a short file as if complete
    dest = tmp_path / "isic2017"
    with pytest.raises(DownloadError, match="Validation_Part1_GroundTruth.zip: not a complete zip archive.*delete"):
        download("isic2017", dest, server.url, progress=False)
    assert not (dest / "ISIC-2017_Validation_Part1_GroundTruth").exists() and not list(dest.glob(".extract-*"))
    assert (dest / "ISIC-2017_Training_Data").is_dir()  # the archives before it are complete and unzipped


def test_cli_downloads_then_checks_and_explains_ph2(tmp_path, server, capsys):
    assert cli(["download", "isic2017", "--dest", str(tmp_path / "d"), "--base-url", server.url]) == 0
    out = capsys.readouterr().out
    assert "layout: isic2017" in out and "no problems found" in out
    assert cli(["download", "ph2", "--dest", str(tmp_path / "p")]) == 0
    assert "PH2 Dataset images/IMD002" in capsys.readouterr().out
    assert cli(["download", "isic2017", "--dest", str(tmp_path / "e"), "--base-url", server.url + "/nope"]) == 2
    assert "HTTP 404" in capsys.readouterr().err


@pytest.mark.parametrize("case", ["complete part", "part longer than the file", "server ignores Range"])
def test_resume_edge_cases_end_with_the_right_file(tmp_path, server, case):
    from skinseg.data.download import fetch

    name = "ISIC-2017_Validation_Data.zip"
    data = (server.root / "2017" / name).read_bytes()
    dest = tmp_path / "dl" / name
    dest.parent.mkdir()
    part = dest.with_name(name + ".part")
    part.write_bytes({"complete part": data, "part longer than the file": data + b"junk" * 10,
                      "server ignores Range": data[:100]}[case])
    if case == "server ignores Range":
        server.no_range.add(name)
    fetch(f"{server.url}/2017/{name}", dest, progress=False)
    assert dest.read_bytes() == data and not part.exists()


def test_an_archive_reaching_outside_dest_is_refused(tmp_path):
    from skinseg.data.download import extract

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../evil.txt", "x")
    with pytest.raises(DownloadError, match="would land outside"):
        extract(bad, tmp_path / "dest")
    assert not (tmp_path / "evil.txt").exists() and not list((tmp_path).glob("dest/.extract-*"))

"""Fetch the official ISIC challenge archives and unzip them into the layout the loaders read.

``python -m skinseg download {isic2016,isic2017,isic2018} --dest DIR``: every archive of the
dataset's segmentation task (images and masks of each split, as :data:`ARCHIVES` lists them) is
downloaded to ``DIR/downloads/`` (resumed with an HTTP ``Range`` request when a partial
``.part`` file is there), checked (the server's size, the table's size where it has one, the
zip's CRCs), unzipped into ``DIR`` through a temporary folder (a truncated or corrupt archive
leaves nothing half-unzipped), and the tree is then checked like ``skinseg check``.

PH2 cannot be downloaded by a script: it is given on request; ``download ph2`` says where.
"""
from __future__ import annotations

import http.client
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from skinseg.data.layouts import DataError

DEFAULT_BASE_URL = "https://isic-challenge-data.s3.amazonaws.com"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Archive:
    """One official archive: its path under the base URL and, where known, its size in bytes."""

    path: str
    size: int | None = None  # None: not verified offline; the server's Content-Length is checked instead

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name


# The segmentation task's archives (images and masks of every split). Sizes are left None: no
# size could be verified from this project (no network); a transfer is checked against the
# size the server announces, and each archive's CRCs are tested before it is unzipped.
ARCHIVES: dict[str, tuple[Archive, ...]] = {
    "isic2016": tuple(Archive(f"2016/ISBI2016_ISIC_Part1_{p}.zip") for p in (
        "Training_Data", "Training_GroundTruth", "Test_Data", "Test_GroundTruth")),
    "isic2017": tuple(Archive(f"2017/ISIC-2017_{p}.zip") for p in (
        "Training_Data", "Training_Part1_GroundTruth", "Validation_Data", "Validation_Part1_GroundTruth",
        "Test_v2_Data", "Test_v2_Part1_GroundTruth")),
    "isic2018": tuple(Archive(f"2018/ISIC2018_{p}.zip") for p in (
        "Task1-2_Training_Input", "Task1_Training_GroundTruth", "Task1-2_Validation_Input",
        "Task1_Validation_GroundTruth", "Task1-2_Test_Input", "Task1_Test_GroundTruth")),
}

PH2_HELP = """PH2 is distributed on request, not by a public URL:
  1. request it at https://www.fc.up.pt/addi/ph2%20database.html (ADDI project, Universidade do Porto);
  2. unzip the archive you receive (PH2Dataset.rar / .zip) into {dest}, so that
     {dest}/PH2 Dataset images/IMD002/IMD002_Dermoscopic_Image/IMD002.bmp exists;
  3. check it:  python -m skinseg check {dest}
  4. test the one-protocol models on it: the summary notebook with ph2_root={dest}"""


class DownloadError(RuntimeError):
    """A transfer or an archive that cannot be used; the message names the file and the fix."""


def fetch(url: str, dest: Path, expected_size: int | None = None, progress: bool = True) -> Path:
    """Download ``url`` to ``dest``, resuming ``dest.part`` with a ``Range`` request if it exists.
    Renames to ``dest`` only once complete and of the right size."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        resp = urllib.request.urlopen(req, timeout=60)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # nothing from `have` on: complete, or a .part longer than the file
            total = e.headers.get("Content-Range", "").rpartition("/")[2]
            if total.isdigit() and int(total) != have:
                part.unlink()  # not this file's bytes: start over
                return fetch(url, dest, expected_size, progress)
            resp = None
        else:
            raise DownloadError(f"{url}: HTTP {e.code} {e.reason}; check the URL in skinseg.data.download.ARCHIVES "
                                f"or the network, then run the command again (it resumes)") from None
    except urllib.error.URLError as e:
        raise DownloadError(f"{url}: {e.reason}; check the network, then run the command again (it resumes)") from None
    if resp is not None:
        with resp:
            if resp.status == 200 and have:  # the server ignored Range: start again
                have = 0
            start = resp.headers.get("Content-Range", "bytes 0-").split()[-1].partition("-")[0]
            if resp.status == 206 and start != str(have):  # not the bytes we asked for: start over
                resp.close()
                part.unlink()
                return fetch(url, dest, expected_size, progress)
            total = _total_size(resp, have)
            with open(part, "ab" if have else "wb") as f, tqdm(
                    total=total, initial=have, unit="B", unit_scale=True, desc=dest.name, disable=not progress,
                    mininterval=1.0) as bar:
                try:
                    while chunk := resp.read(CHUNK):
                        f.write(chunk)
                        bar.update(len(chunk))
                except (http.client.IncompleteRead, ConnectionError, TimeoutError) as e:
                    f.flush()
                    raise DownloadError(f"{url}: transfer interrupted after {part.stat().st_size:,} bytes "
                                        f"({type(e).__name__}); run the command again to resume") from None
    else:
        total = have
    got = part.stat().st_size
    for what, size in (("the server's size", total), ("the expected size", expected_size)):
        if size is not None and got != size:
            raise DownloadError(f"{part}: {got:,} bytes, but {what} is {size:,}; run the command again to resume "
                                f"(or delete {part.name} to start over)")
    part.replace(dest)
    return dest


def _total_size(resp, have: int) -> int | None:
    if resp.status == 206:  # Content-Range: bytes start-end/total
        total = resp.headers.get("Content-Range", "").rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = resp.headers.get("Content-Length")
    return int(length) if length and length.isdigit() else None


def extract(archive: Path, dest: Path) -> tuple[list[Path], list[Path]]:
    """Unzip ``archive`` into ``dest``: test every member's CRC first, unzip into a temporary
    folder, then move its top-level entries into place. A bad archive, or a failure while unzipping
    (a full disk), raises DownloadError and leaves ``dest`` as it was. Returns (placed, kept): an
    entry that already exists in ``dest`` is kept, not overwritten (delete it to unzip it again)."""
    try:
        with zipfile.ZipFile(archive) as z:
            bad = z.testzip()
            if bad is not None:
                raise DownloadError(f"{archive}: member {bad} fails its CRC check; delete {archive.name} and download "
                                    "again")
            for name in z.namelist():
                p = PurePosixPath(name)
                if p.is_absolute() or ".." in p.parts:
                    raise DownloadError(f"{archive}: member {name!r} would land outside {dest}; refusing this archive")
            tmp = dest / f".extract-{archive.stem}"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                z.extractall(tmp)
            except OSError as e:
                shutil.rmtree(tmp, ignore_errors=True)
                raise DownloadError(f"{archive}: unzipping into {dest} failed ({e}); nothing was placed; free "
                                    "space or choose another --dest, then run the command again") from None
    except (zipfile.BadZipFile, EOFError) as e:
        raise DownloadError(f"{archive}: not a complete zip archive ({e}); delete {archive.name} and run the command "
                            "again") from None
    placed, kept = [], []
    for entry in sorted(tmp.iterdir()):
        target = dest / entry.name
        if target.exists():
            kept.append(target)
        else:
            entry.replace(target)
            placed.append(target)
    shutil.rmtree(tmp)
    return placed, kept


def download(dataset: str, dest: Path, base_url: str = DEFAULT_BASE_URL, progress: bool = True
             ) -> tuple[list[Path], list[Path]]:
    """Fetch and unzip every archive of ``dataset`` (a key of :data:`ARCHIVES`) into ``dest``.
    Archives already downloaded are not fetched again; returns the top-level folders placed and
    those kept because they were already there."""
    if dataset not in ARCHIVES:
        raise DataError(f"dataset must be one of {', '.join([*ARCHIVES, 'ph2'])}, got {dataset!r}")
    dest = Path(dest)
    placed, kept = [], []
    for a in ARCHIVES[dataset]:
        zip_path = dest / "downloads" / a.name
        if not zip_path.is_file():
            fetch(f"{base_url.rstrip('/')}/{a.path}", zip_path, a.size, progress)
        new, old = extract(zip_path, dest)
        placed, kept = placed + new, kept + old
    return placed, kept

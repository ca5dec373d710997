"""The official download layouts, read as they unzip (no renaming).

=========  =====================================================================
dataset    folders (matched case-insensitively under ROOT)
=========  =====================================================================
isic2016   ISBI2016_ISIC_Part1_{Training,Test}_Data / _GroundTruth (``*_Segmentation.png``)
isic2017   ISIC-2017_{Training,Validation,Test_v2}_Data / _Part1_GroundTruth (``*_segmentation.png``)
isic2018   ISIC2018_Task1-2_{Training,Validation,Test}_Input / ISIC2018_Task1_{...}_GroundTruth
ph2        PH2 Dataset images/IMDnnn/IMDnnn_Dermoscopic_Image/IMDnnn.bmp + IMDnnn_lesion/IMDnnn_lesion.bmp
=========  =====================================================================

ISIC ids are ``ISIC_\\d{7}``; superpixel files, ``ATTRIBUTION.txt``,
``LICENSE.txt`` and metadata CSVs are ignored. ISIC masks are binarised
``> 128`` (as the official scorer does); PH2 masks ``> 0`` (1-bit or RGB).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from skinseg.datasets import DATASETS, ISIC

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp"}
ISIC_ID = re.compile(r"^(ISIC_\d{7})$", re.IGNORECASE)
ISIC_MASK = re.compile(r"^(ISIC_\d{7})_segmentation$", re.IGNORECASE)
IGNORED_SUFFIXES = ("_superpixels",)

# dataset -> split -> (image folder, mask folder or None)
ISIC_LAYOUTS: dict[str, dict[str, tuple[str, str | None]]] = {
    "isic2016": {
        "train": ("ISBI2016_ISIC_Part1_Training_Data", "ISBI2016_ISIC_Part1_Training_GroundTruth"),
        "test": ("ISBI2016_ISIC_Part1_Test_Data", "ISBI2016_ISIC_Part1_Test_GroundTruth"),
    },
    "isic2017": {
        "train": ("ISIC-2017_Training_Data", "ISIC-2017_Training_Part1_GroundTruth"),
        "val": ("ISIC-2017_Validation_Data", "ISIC-2017_Validation_Part1_GroundTruth"),
        "test": ("ISIC-2017_Test_v2_Data", "ISIC-2017_Test_v2_Part1_GroundTruth"),
    },
    "isic2018": {
        "train": ("ISIC2018_Task1-2_Training_Input", "ISIC2018_Task1_Training_GroundTruth"),
        "val": ("ISIC2018_Task1-2_Validation_Input", "ISIC2018_Task1_Validation_GroundTruth"),
        "test": ("ISIC2018_Task1-2_Test_Input", "ISIC2018_Task1_Test_GroundTruth"),
    },
}
PH2_ROOT = "PH2 Dataset images"
if tuple(ISIC_LAYOUTS) != ISIC:  # the schema's names (skinseg.datasets) and the layouts must be the same list
    raise ImportError(f"skinseg.datasets.ISIC {ISIC} differs from the layouts' {tuple(ISIC_LAYOUTS)}")


class DataError(ValueError):
    """Bad or unreadable data. The message names every offending file and the fix."""


@dataclass(frozen=True)
class Sample:
    id: str
    image: Path | None  # None only in a masks-only tree (truth for scoring)
    mask: Path | None
    split: str


@dataclass
class DatasetIndex:
    """What :func:`discover` found: samples per split, and every problem seen."""

    dataset: str
    root: Path
    splits: dict[str, list[Sample]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    masks_only: bool = False  # truth masks without images (e.g. full-resolution masks for scoring)

    def samples(self, split: str | None = None) -> list[Sample]:
        if split is None:
            return [s for ss in self.splits.values() for s in ss]
        if split not in self.splits:
            raise DataError(f"{self.root}: no '{split}' split in this {self.dataset} tree; found: {', '.join(self.splits) or 'none'}")
        return self.splits[split]

    def raise_problems(self) -> None:
        if self.problems:
            head = "\n  ".join(self.problems[:20])
            more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
            raise DataError(f"{len(self.problems)} problem(s) in {self.root} ({self.dataset}); "
                            f"run `python -m skinseg check {self.root}` for the full list:\n  {head}{more}")


def child_ci(parent: Path, name: str) -> Path | None:
    """The child of ``parent`` named ``name``, compared case-insensitively."""
    if not parent.is_dir():
        return None
    exact = parent / name
    if exact.exists():
        return exact
    low = name.lower()
    for c in parent.iterdir():
        if c.name.lower() == low:
            return c
    return None


def _folder(root) -> Path:
    """``root`` as a Path; DataError naming it when it is not a folder."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder. Pass the folder the dataset zips were unpacked into "
                        "(or generate one: python -m skinseg synth DEST)")
    return root


def detect_layout(root) -> str:
    """Which dataset's official layout ``root`` holds; DataError if none."""
    root = _folder(root)
    for name, splits in ISIC_LAYOUTS.items():
        if any(child_ci(root, img) for img, _ in splits.values()) or any(
                child_ci(root, m) for _, m in splits.values() if m):
            return name
    if child_ci(root, PH2_ROOT):
        return "ph2"
    expected = "; ".join(f"{n}: {splits['train'][0]}/" for n, splits in ISIC_LAYOUTS.items())
    raise DataError(f"{root}: unknown layout. Expected the official folders, e.g. {expected}; "
                    f"ph2: '{PH2_ROOT}/'. Unzip the official downloads into this folder without renaming.")


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXT)


def _index_folder(folder: Path, pattern: re.Pattern, expected: str, problems: list[str],
                  ignore: tuple[str, ...] = ()) -> dict[str, Path]:
    """``{ISIC id: file}`` of the files in ``folder`` whose stem matches ``pattern``;
    a problem for every other image file (stems ending in ``ignore`` are skipped),
    and for an empty folder. ``expected`` names the pattern in messages."""
    found: dict[str, Path] = {}
    for p in _image_files(folder):
        if ignore and p.stem.lower().endswith(ignore):
            continue
        m = pattern.match(p.stem)
        if not m:
            problems.append(f"{p}: file name is not {expected}; remove or rename it")
            continue
        found[m.group(1).upper()] = p
    if not found:
        problems.append(f"{folder}: empty folder (no {expected} files); re-extract the download")
    return found


def _isic_split(root: Path, split: str, img_name: str, mask_name: str | None,
                problems: list[str], masks_only: bool) -> list[Sample] | None:
    img_dir = child_ci(root, img_name)
    mask_dir = child_ci(root, mask_name) if mask_name else None
    if img_dir is None and mask_dir is None:
        return None
    images: dict[str, Path] = {}
    if img_dir is None and not masks_only:
        problems.append(f"{root / mask_name}: masks without their image folder {img_name}/; unzip the images too")
    elif img_dir is not None:
        images = _index_folder(img_dir, ISIC_ID, "ISIC_nnnnnnn", problems, ignore=IGNORED_SUFFIXES)
    if mask_dir is None:
        return [Sample(i, images[i], None, split) for i in sorted(images)]
    masks = _index_folder(mask_dir, ISIC_MASK, "ISIC_nnnnnnn_segmentation", problems)
    if masks_only:
        return [Sample(i, None, masks[i], split) for i in sorted(masks)]
    for i in sorted(set(masks) - set(images)):
        if images:
            problems.append(f"{masks[i]}: mask without image (no {i}.jpg in {img_dir.name}/); "
                            "restore the image or remove the mask")
    for i in sorted(set(images) - set(masks)):
        if masks:
            problems.append(f"{images[i]}: image without mask (no {i}_segmentation.png in {mask_dir.name}/); "
                            "restore the mask or remove the image")
    return [Sample(i, images[i], masks.get(i), split) for i in sorted(images)]


def _ph2(root: Path, problems: list[str]) -> list[Sample]:
    base = child_ci(root, PH2_ROOT)
    out = []
    if base is None:
        problems.append(f"{root}: no {PH2_ROOT}/ folder; point at the unzipped PH2Dataset folder that holds it")
        return out
    for case in sorted(p for p in base.iterdir() if p.is_dir()):
        cid = case.name.upper()
        img_dir, les_dir = child_ci(case, f"{cid}_Dermoscopic_Image"), child_ci(case, f"{cid}_lesion")
        img = child_ci(img_dir, f"{cid}.bmp") if img_dir else None
        mask = child_ci(les_dir, f"{cid}_lesion.bmp") if les_dir else None
        if img is None:
            problems.append(f"{case}: no {cid}_Dermoscopic_Image/{cid}.bmp; mask without image")
            continue
        if mask is None:
            problems.append(f"{img}: image without mask (no {cid}_lesion/{cid}_lesion.bmp)")
        out.append(Sample(cid, img, mask, "all"))
    if not out:
        problems.append(f"{base}: empty folder (no IMDnnn cases); re-extract PH2Dataset")
    return out


def discover(root, dataset: str | None = None) -> DatasetIndex:
    """Index a dataset tree. Problems are collected (not raised); see ``raise_problems``."""
    root = _folder(root)
    dataset = dataset or detect_layout(root)
    if dataset not in DATASETS:
        raise DataError(f"dataset={dataset!r} is not one of {', '.join(DATASETS)}")
    idx = DatasetIndex(dataset, root)
    if dataset == "ph2":
        idx.splits["all"] = _ph2(root, idx.problems)
        return idx
    layout = ISIC_LAYOUTS[dataset]
    idx.masks_only = not any(child_ci(root, img) for img, _ in layout.values())
    for split, (img, mask) in layout.items():
        samples = _isic_split(root, split, img, mask, idx.problems, idx.masks_only)
        if samples is not None:
            idx.splits[split] = samples
    return idx


def find_masks(root, dataset: str, split: str) -> dict[str, Path]:
    """Masks of one split in a tree that may hold only masks (e.g. full-resolution truth)."""
    root = Path(root)
    _, mask_name = ISIC_LAYOUTS[dataset][split]
    d = child_ci(root, mask_name)
    if d is None:
        raise DataError(f"{root}: no {mask_name}/ folder; point original_masks_root at the folder holding it")
    return {m.group(1).upper(): p for p in _image_files(d) if (m := ISIC_MASK.match(p.stem))}

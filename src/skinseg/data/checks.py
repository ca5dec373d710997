"""Deep checks of a dataset tree (``python -m skinseg check ROOT``)."""
from __future__ import annotations

from skinseg.data.io import image_size, load_image, mask_values
from skinseg.data.layouts import DataError, DatasetIndex, discover


def check_dataset(root, dataset: str | None = None, deep: bool = True) -> DatasetIndex:
    """Index ``root`` and add a problem for every unreadable image, mask whose size
    differs from its image, and non-binary mask (more than two grey values, or
    ISIC values other than 0/255). ``deep`` decodes every file fully."""
    idx = discover(root, dataset)
    for s in idx.samples():
        if s.image is not None:
            try:
                (load_image(s.image).shape[:2] if deep else image_size(s.image))
            except DataError as e:
                idx.problems.append(str(e))
                continue
        if s.mask is None:
            continue
        try:
            mh = image_size(s.mask)
            ih = image_size(s.image) if s.image is not None else mh
            if ih != mh:
                idx.problems.append(f"{s.mask}: mask size {mh[0]}x{mh[1]} differs from its image's {ih[0]}x{ih[1]} "
                                    f"({s.image.name}); use the mask that came with this image")
                continue
            if deep:
                vals = mask_values(s.mask)
                allowed = {0, 1, 255} if idx.dataset == "ph2" else {0, 255}
                if len(vals) > 2 or not set(vals.tolist()) <= allowed:
                    idx.problems.append(f"{s.mask}: non-binary mask ({len(vals)} grey values, e.g. "
                                        f"{vals[:5].tolist()}); masks must be 0/255 (ISIC) — re-export without "
                                        "anti-aliasing or JPEG compression")
        except DataError as e:
            idx.problems.append(str(e))
    return idx

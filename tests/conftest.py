from __future__ import annotations

import os
from pathlib import Path

# `make test` runs the suite in one worker process per core (pytest-xdist): each worker takes one
# thread, and so do the processes its tests start (but the runner's --jobs, which splits the cores
# itself), else the workers' thread pools would spin against each other on the same cores (`make
# test` beside a 2-thread training run: 41.6 min against 12.5 alone). Set before numpy and torch
# size their pools.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)

# the user's checkpoint cache (checkpoint_dir: user-cache, the long profiles'): a folder of this test
# session's, never the user's own, where a campaign's stopped runs wait to resume
if not os.environ.get("SKINSEG_TEST_KEEPS_CHECKPOINTS"):
    import tempfile

    os.environ["SKINSEG_CHECKPOINTS"] = tempfile.mkdtemp(prefix="skinseg-test-checkpoints-")

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
ISIC2017_256 = SHARED / "isic2017-256"

needs_shared = pytest.mark.skipif(
    not ISIC2017_256.is_dir(),
    reason=f"real ISIC 2017 data not found at {SHARED} (CI provides ../shared/data beside the checkout)",
)


def write_pair(img_path: Path, mask_path: Path | None, h=32, w=40, seed=0, mask_mode="L"):
    """A small random RGB image and a 0/255 rectangle mask of the same size."""
    rng = np.random.default_rng(seed)
    img_path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(img_path)
    if mask_path is not None:
        mask_path.parent.mkdir(parents=True, exist_ok=True)
        m = np.zeros((h, w), np.uint8)
        m[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 255
        im = Image.fromarray(m)
        if mask_mode == "1":
            im = im.convert("1")
        elif mask_mode == "RGB":
            im = im.convert("RGB")
        im.save(mask_path)


@pytest.fixture(scope="session")
def synth_small(tmp_path_factory):
    """A tiny synthetic dataset (ISIC 2018 layout): 24 training + 8 validation pairs at 64x64."""
    from skinseg.synth import write_dataset

    return write_dataset(tmp_path_factory.mktemp("synth") / "small", 24, seed=3, size=(64, 64), n_val=8)

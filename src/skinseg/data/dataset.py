"""The torch Dataset over a list of samples.

Images are decoded and resized once (through the disk cache) and, when they fit
``memory_budget_mb``, held in memory as one uint8 array per split; larger
splits are read from the disk cache item by item. Items are uint8: the trainer
normalises whole batches in torch (:func:`skinseg.transforms.normalize`).
"""
from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset

from skinseg.data.cache import PreprocessCache
from skinseg.data.layouts import Sample
from skinseg.transforms import augment, to_tensor


class SegmentationDataset(Dataset):
    """Items: ``{"image": (3, H, W) uint8, "mask": (1, H, W) float32 in {0, 1}, "index": int}``.

    ``target="background"`` inverts the mask before augmentation (as the public
    FPN code does: its padding then counts as "not background").
    Augmentation of item ``i`` in epoch ``e`` depends on ``(seed, e, i)`` only,
    so it is the same whatever the worker count, and a resumed run sees the same
    augmentations as an uninterrupted one. Call ``set_epoch`` before each epoch.
    """

    def __init__(self, samples: list[Sample], size: tuple[int, int], cache: PreprocessCache,
                 dataset: str = "isic", augmentation: str = "none", seed: int = 0, target: str = "lesion",
                 memory_budget_mb: int = 0):
        if any(s.mask is None for s in samples):
            missing = [s.id for s in samples if s.mask is None][:5]
            raise ValueError(f"samples without masks cannot be trained/evaluated on: {missing}")
        if target not in ("lesion", "background"):
            raise ValueError(f"target must be 'lesion' or 'background', got {target!r}")
        self.samples, self.size, self.cache = samples, tuple(size), cache
        self.dataset, self.augmentation, self.seed, self.target = dataset, augmentation, seed, target
        self.epoch = 0
        need_mb = len(samples) * self.size[0] * self.size[1] * 4 / 2**20
        self.images = self.masks = None
        if samples and need_mb <= memory_budget_mb:
            self.images = np.stack([cache.image(s.image, self.size) for s in samples])
            self.masks = np.stack([cache.mask(s.mask, self.size, dataset) for s in samples])

    @property
    def in_memory(self) -> bool:
        return self.images is not None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Image ``(H, W, 3) uint8`` and lesion mask ``(H, W) bool`` at input size, unaugmented."""
        if self.in_memory:
            return self.images[i], self.masks[i]
        s = self.samples[i]
        return self.cache.image(s.image, self.size), self.cache.mask(s.mask, self.size, self.dataset)

    def __getitem__(self, i: int) -> dict:
        img, mask = self.arrays(i)
        if self.target == "background":
            mask = ~mask
        if self.augmentation != "none":
            img, mask = augment(img, mask, self.augmentation, self.seed, self.epoch, i)
        image_t, mask_t = to_tensor(img, mask)
        return {"image": image_t, "mask": mask_t, "index": i}

"""The torch Dataset over a list of samples, through the preprocessing cache."""
from __future__ import annotations

from torch.utils.data import Dataset

from skinseg.data.cache import PreprocessCache
from skinseg.data.layouts import Sample
from skinseg.seed import rng_for
from skinseg.transforms import augment, to_tensor


class SegmentationDataset(Dataset):
    """Items: ``{"image": (3, H, W) float, "mask": (1, H, W) float, "index": int}``.

    Augmentation for item ``i`` in epoch ``e`` draws from ``rng_for(seed, e, i)``
    only, so it is identical whatever the worker count, and a resumed run sees
    the same augmentations as an uninterrupted one. Call ``set_epoch`` before
    each epoch (before the DataLoader iterator is created).
    """

    def __init__(self, samples: list[Sample], size: tuple[int, int], cache: PreprocessCache,
                 dataset: str = "isic", augmentation: str = "none", seed: int = 0):
        if any(s.mask is None for s in samples):
            missing = [s.id for s in samples if s.mask is None][:5]
            raise ValueError(f"samples without masks cannot be trained/evaluated on: {missing}")
        self.samples, self.size, self.cache = samples, tuple(size), cache
        self.dataset, self.augmentation, self.seed = dataset, augmentation, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict:
        s = self.samples[i]
        img = self.cache.image(s.image, self.size)
        mask = self.cache.mask(s.mask, self.size, self.dataset)
        if self.augmentation != "none":
            img, mask = augment(img, mask, rng_for(self.seed, self.epoch, i), self.augmentation)
        image_t, mask_t = to_tensor(img, mask)
        return {"image": image_t, "mask": mask_t, "index": i}

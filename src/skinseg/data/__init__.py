"""Datasets: official layouts, checks, preprocessing cache, splits, torch Dataset."""
from skinseg.data.layouts import DataError, DatasetIndex, Sample, detect_layout, discover, find_masks
from skinseg.data.checks import check_dataset
from skinseg.data.cache import PreprocessCache
from skinseg.data.splits import holdout_split, kfold_split, load_or_make_split
from skinseg.data.dataset import SegmentationDataset

__all__ = [
    "DataError", "DatasetIndex", "Sample", "detect_layout", "discover", "find_masks", "check_dataset",
    "PreprocessCache", "holdout_split", "kfold_split", "load_or_make_split", "SegmentationDataset",
]

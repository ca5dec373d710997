"""Datasets: official layouts, checks, preprocessing cache, protocols and splits, torch Dataset."""
from skinseg.data.layouts import DataError, DatasetIndex, Sample, detect_layout, discover, find_masks
from skinseg.data.checks import check_dataset
from skinseg.data.cache import PreprocessCache
from skinseg.data.protocols import holdout_split, partitions, stand_in
from skinseg.data.dataset import SegmentationDataset

__all__ = [
    "DataError", "DatasetIndex", "Sample", "detect_layout", "discover", "find_masks", "check_dataset",
    "PreprocessCache", "holdout_split", "partitions", "stand_in", "SegmentationDataset",
]

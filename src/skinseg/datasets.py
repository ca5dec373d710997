"""The names of the datasets the project reads, at the bottom of the package: the parameter schema
(:mod:`skinseg.params`) checks ``dataset`` and ``paper_dataset`` against them, and the data layer
(:mod:`skinseg.data.layouts`) maps each to its folder layout, without the schema importing the data
layer above it."""
from __future__ import annotations

ISIC = ("isic2016", "isic2017", "isic2018")
DATASETS = (*ISIC, "ph2")

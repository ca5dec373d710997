"""skinseg: shared package of the skin-lesion segmentation reproducibility study."""

__version__ = "0.1.0"

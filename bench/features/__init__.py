"""Multimodal feature stores (``data_cache/features/*.h5``): views, labels, splits.

>>> fs = bench.features.open("scene15")                       # doctest: +SKIP
>>> views, y = fs.arrays(split="holdout", part="train")       # doctest: +SKIP
"""

from bench.features.store import FeatureStore, open, stores  # noqa: A004

__all__ = ["FeatureStore", "open", "stores"]

"""MMNAS-Bench: tabular and trained benchmarks for multimodal and multi-task NAS.

Quick start::

    import bench
    o = bench.open("nb201", dataset="cifar10")
    o.query("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
"""

__version__ = "0.1.0"

# before anything imports torch: every training in this process and its children is pinned
from bench import numerics as _numerics  # noqa: E402

_numerics.pin()

from bench.registry import benchmarks, open  # noqa: E402,F401  (re-export)

__all__ = ["open", "benchmarks", "__version__"]

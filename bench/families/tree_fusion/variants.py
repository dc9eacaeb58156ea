"""Task variants of the multi-view stores: the same rows with extra views that carry no signal.

On the shipped stores the "all features fused by one operator" models are among the best
trees a search can meet, so CSG-NAS's operator ranking alone finds a near-optimal model
and the tables barely tell search algorithms apart (``benchmarks/tree_fusion_structure.py``).
A variant ``<store>+noise<k>`` adds ``k`` views of seeded Gaussian noise (``NOISE_DIM``
columns each, the same for every row split, seed ``NOISE_SEED + i``): fusing every view
then fuses noise too, and the best trees are proper subtrees that leave the noise views out
(measured in ``benchmarks/csgnas_task_pilot.py``). The variant is built in memory from the
verified base store; its checksum is derived from the base store's and the variant's
parameters, so cached results never mix with the base store's.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

import numpy as np

from bench.errors import BenchError

NOISE_DIM = 256
NOISE_SEED = 1000
_VARIANT = re.compile(r"^(?P<base>[A-Za-z0-9_]+)\+noise(?P<k>[1-9])$")


def parse_variant(name: str) -> tuple[str, int] | None:
    """``(base store, noise views)`` of a variant name such as ``mfeat+noise2``; None for a plain store."""
    m = _VARIANT.match(name)
    return (m["base"], int(m["k"])) if m else None


def is_variant(name: str) -> bool:
    return parse_variant(name) is not None


def open_variant(name: str, with_backbone: bool = False):
    """The base store with the variant's noise views added (see the module doc)."""
    from bench.features.store import open as open_store

    parsed = parse_variant(name)
    if parsed is None:
        raise BenchError(f"{name!r} is not a store variant (expected STORE+noiseK, K in 1..9, e.g. 'mfeat+noise2')")
    base_name, k = parsed
    base = open_store(base_name, with_backbone=with_backbone)
    n = len(base.labels)
    views = dict(base.views)
    scaling = {s: dict(v) for s, v in base.scaling.items()}
    for i in range(k):
        v = f"noise{i + 1}"
        if v in views:
            raise BenchError(f"store {base_name!r} already has a view named {v!r}")
        views[v] = np.random.default_rng(NOISE_SEED + i).standard_normal((n, NOISE_DIM)).astype(np.float32)
        for s in scaling:  # already standard normal: no rescaling
            scaling[s][v] = (np.zeros(NOISE_DIM, np.float32), np.ones(NOISE_DIM, np.float32))
    digest = hashlib.sha256(f"{base.content_sha256}|noise views {k} x {NOISE_DIM}, seed {NOISE_SEED}".encode()).hexdigest()
    return replace(base, name=name, views=views, scaling=scaling, content_sha256=digest,
                   description=f"{base.description} + {k} Gaussian noise views ({NOISE_DIM} columns each)",
                   provenance={**base.provenance, "variant": {"base": base_name, "noise_views": k,
                                                              "noise_dim": NOISE_DIM, "noise_seed": NOISE_SEED}})

"""The benchmark families, one line each. A new family is a folder beside these plus one
line here; nothing generic changes (``tests/test_family_contract.py`` checks every entry).
"""

from __future__ import annotations

from bench.core.family import Family
from bench.errors import UnknownBenchmarkError
from bench.families import cells, hfmnas, mro, rmnas, tree_fusion

FAMILIES: dict[str, Family] = {f.name: f for f in (
    cells.NB201,
    cells.TRANSNAS,
    tree_fusion.FAMILY,
    mro.FAMILY,
    rmnas.FAMILY,
    hfmnas.FAMILY,
)}


def get(name: str) -> Family:
    """The family named ``name`` (a benchmark name as users type it)."""
    family = FAMILIES.get(name) if isinstance(name, str) else None  # an unhashable name is unknown too
    if family is None:
        raise UnknownBenchmarkError(name, FAMILIES)
    return family

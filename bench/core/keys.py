"""Typed keys of cached results: ``RecordKey`` <-> the overlay's key text.

The text is ``<dataset>|<arch>|seed=<seed>|recipe=<recipe>[+from:<parent digest>]``, byte
for byte the format every overlay and the committed paper caches already use. ``parse``
reads the fields from both ends, so an architecture string may itself contain ``|`` (as
NAS-Bench-201 cells do); a dataset name may not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bench.errors import BenchError

_TAIL = re.compile(r"\|seed=(-?\d+)\|recipe=([^|]*)$")


class KeyFormatError(BenchError, ValueError):
    """Text that is not a record key."""


@dataclass(frozen=True)
class RecordKey:
    """Which model a cached result belongs to: dataset, architecture (canonical string), training
    seed, recipe key and, for a model fine-tuned from a parent's weights, the parent's digest."""

    dataset: str
    arch: str
    seed: int
    recipe: str
    parent: str | None = None  # sha256[:16] of the parent model's key text

    def __post_init__(self):
        if "|" in self.dataset or not self.dataset:
            raise KeyFormatError(f"a record key's dataset must be non-empty and contain no '|', got {self.dataset!r}")

    @property
    def lineage(self) -> str:
        """The key's recipe field as stored: the recipe key, and the parent's digest if any."""
        return self.recipe if self.parent is None else f"{self.recipe}+from:{self.parent}"

    @property
    def text(self) -> str:
        return f"{self.dataset}|{self.arch}|seed={self.seed}|recipe={self.lineage}"

    @classmethod
    def parse(cls, text: str) -> "RecordKey":
        m = _TAIL.search(text)
        head, sep, _ = text.partition("|")
        if m is None or not sep or m.start() < len(head):
            raise KeyFormatError(f"{text!r} is not a record key ('dataset|arch|seed=N|recipe=R')")
        arch = text[len(head) + 1:m.start()]
        recipe, _, parent = m.group(2).partition("+from:")
        return cls(head, arch, int(m.group(1)), recipe, parent or None)

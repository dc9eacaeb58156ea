"""RMNAS's search space (``003_ca6407ec0d2ea38c.txt``, Sec. 3, Fig. 3-4), scaled: per modality,
``blocks`` MetaFormer blocks each with a non-empty set of token mixers; a chain of BM-NAS
fusion steps over the modalities' global tokens; the local-sentiment-trend (LST) bias on or off.

* Mixers: ``att`` (RAttentionMixing), ``rand`` (RRandomMixing), ``pool`` (RPoolMixing),
  ``id`` (RIdentityMixing). The paper keeps every mixer whose softmax weight is at least 0.2,
  so a block may hold several (written ``att+pool``, members in :data:`MIXERS` order).
* Fusion: K-1 steps, step k fusing the running vector with modality k+1's global token by
  one of :data:`FUSION_OPS` (BM-NAS's step operations without Zero). BM-NAS also searches
  which block's output feeds the fusion; here it is always the last block (our scaling).
* ``lst``: LST only acts through the two softmax mixers (``att``, ``rand``); an architecture
  without either is written with ``lst=0`` (the same network).

Canonical string: ``audio=att.pool|video=id.id|F=concatfc|lst=1`` (modalities in store order,
blocks separated by ``.``, fusion steps by ``.``).

With ``tied=True`` (the tabulated slice, design 7.2 "RM-tab") :meth:`sample`,
:meth:`enumerate`, :meth:`mutate` and :meth:`crossover` stay in the slice: one mixer per
modality repeated over its blocks, the same operation at every fusion step, LST on - plus
the LST-off copies of the members whose every modality uses a softmax mixer. For two
modalities that is 4^2 x 4 = 64 + 16 = 80 members. :meth:`decode` accepts every string of the
full grammar either way, so a searched genotype outside the slice can still be queried (and
is trained on a table miss).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Iterator, Mapping

import numpy as np

from bench.core.space import Param, SearchSpace, active_values
from bench.errors import InvalidArchitectureError

MIXERS = ("att", "rand", "pool", "id")
SOFTMAX_MIXERS = ("att", "rand")
FUSION_OPS = ("sum", "attn", "glu", "concatfc")
#: every non-empty mixer set of a block, in a fixed order (singletons first)
MIXER_SETS: tuple[tuple[str, ...], ...] = tuple(
    c for k in range(1, len(MIXERS) + 1) for c in itertools.combinations(MIXERS, k))


@dataclass(frozen=True)
class RMArch:
    """mixers[m][b]: the mixer set of block b of modality m; fusion[k]: the op of step k."""

    mixers: tuple[tuple[tuple[str, ...], ...], ...]
    fusion: tuple[str, ...]
    lst: bool

    @property
    def uses_softmax_mixer(self) -> bool:
        return any(x in SOFTMAX_MIXERS for blocks in self.mixers for s in blocks for x in s)


class RMNASSpace(SearchSpace):
    """Token mixers per modality and block, BM-NAS fusion steps, LST on/off."""

    def __init__(self, modalities: list[str], blocks: int = 2, tied: bool = True):
        if len(modalities) < 2 or len(set(modalities)) != len(modalities):
            raise InvalidArchitectureError(f"RMNAS needs at least 2 distinct modalities, got {modalities}")
        if not 1 <= blocks <= 12:
            raise InvalidArchitectureError(f"blocks must be in 1..12, got {blocks}")
        bad = [m for m in modalities if not m.isidentifier()]
        if bad:
            raise InvalidArchitectureError(f"modality names must be identifiers, got {bad}")
        self.modalities, self.blocks, self.tied = list(modalities), blocks, tied
        self.n_steps = len(modalities) - 1
        self.space_id = f"rmnas[{','.join(self.modalities)};b{blocks}{';tied' if tied else ''}]"
        self.space_version = "1"
        self.indexable = tied
        self._slice = self._make_slice() if tied else None

    # -- strings ------------------------------------------------------------------------------
    def check(self, arch: RMArch) -> RMArch:
        if not isinstance(arch, RMArch):
            raise InvalidArchitectureError(f"{arch!r} is not an RMArch")
        if len(arch.mixers) != len(self.modalities) or any(len(b) != self.blocks for b in arch.mixers):
            raise InvalidArchitectureError(f"expected {self.blocks} blocks for each of {self.modalities}")
        for blocks in arch.mixers:
            for s in blocks:
                if not s or any(x not in MIXERS for x in s) or len(set(s)) != len(s):
                    raise InvalidArchitectureError(f"mixer set {s!r}: a non-empty set of {', '.join(MIXERS)}")
        if len(arch.fusion) != self.n_steps or any(op not in FUSION_OPS for op in arch.fusion):
            raise InvalidArchitectureError(f"fusion {arch.fusion!r}: {self.n_steps} step(s), each one of "
                                           f"{', '.join(FUSION_OPS)}")
        mixers = tuple(tuple(tuple(sorted(s, key=MIXERS.index)) for s in b) for b in arch.mixers)
        return RMArch(mixers, tuple(arch.fusion), bool(arch.lst) and RMArch(mixers, (), True).uses_softmax_mixer)

    def encode(self, arch) -> str:
        a = self.check(self.decode(arch) if isinstance(arch, str) else arch)
        mods = "|".join(f"{m}={'.'.join('+'.join(s) for s in b)}" for m, b in zip(self.modalities, a.mixers))
        return f"{mods}|F={'.'.join(a.fusion)}|lst={int(a.lst)}"

    def decode(self, text: str) -> RMArch:
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"{text!r} is not an RMNAS architecture string")
        fields = text.split("|")
        want = [*self.modalities, "F", "lst"]
        got = [f.split("=", 1)[0] for f in fields]
        if got != want or any("=" not in f for f in fields):
            raise InvalidArchitectureError(f"{text!r}: expected fields {'|'.join(w + '=...' for w in want)}, "
                                           f"e.g. {self.example()}")
        values = [f.split("=", 1)[1] for f in fields]
        mixers = tuple(tuple(tuple(s.split("+")) for s in v.split(".")) for v in values[:-2])
        if values[-1] not in ("0", "1"):
            raise InvalidArchitectureError(f"{text!r}: lst must be 0 or 1")
        try:
            return self.check(RMArch(mixers, tuple(values[-2].split(".")), values[-1] == "1"))
        except InvalidArchitectureError as exc:
            raise InvalidArchitectureError(f"{text!r}: {exc}") from None

    def example(self) -> str:
        return self.encode(RMArch(tuple((("att",),) * self.blocks for _ in self.modalities),
                                  ("concatfc",) * self.n_steps, True))

    # -- the tabulated slice ---------------------------------------------------------------------
    def tied_arch(self, mixers: tuple[str, ...], op: str, lst: bool = True) -> RMArch:
        """One mixer per modality over all its blocks, one op at every fusion step."""
        return self.check(RMArch(tuple(((m,),) * self.blocks for m in mixers), (op,) * self.n_steps, lst))

    def _make_slice(self) -> list[RMArch]:
        on = [self.tied_arch(mx, op) for mx in itertools.product(MIXERS, repeat=len(self.modalities))
              for op in FUSION_OPS]
        off = [self.tied_arch(mx, op, False) for mx in itertools.product(SOFTMAX_MIXERS, repeat=len(self.modalities))
               for op in FUSION_OPS]
        return on + off

    # -- search operators ------------------------------------------------------------------------
    @property
    def size(self) -> int:
        if self.tied:
            return len(self._slice)
        # LST on/off doubles every mixer assignment except those without a softmax mixer (lst=0 only)
        n_blocks = self.blocks * len(self.modalities)
        free = sum(1 for st in MIXER_SETS if not set(st) & set(SOFTMAX_MIXERS))
        return (2 * len(MIXER_SETS) ** n_blocks - free ** n_blocks) * len(FUSION_OPS) ** self.n_steps

    def enumerate(self) -> Iterator[RMArch]:
        if not self.tied:
            raise NotImplementedError("the untied RMNAS space is not enumerated (see RMNASSpace(tied=True))")
        return iter(self._slice)

    def from_index(self, index: int) -> RMArch:
        if not self.tied:
            raise NotImplementedError("the untied RMNAS space is not indexed")
        if not 0 <= index < len(self._slice):
            raise InvalidArchitectureError(f"index {index} is out of range 0..{len(self._slice) - 1}")
        return self._slice[index]

    def index(self, arch) -> int:
        a = self.check(self.decode(arch) if isinstance(arch, str) else arch)
        if not self.tied or a not in self._slice:
            raise InvalidArchitectureError(f"{self.encode(a)} is not in the tabulated slice")
        return self._slice.index(a)

    def sample(self, rng: np.random.Generator) -> RMArch:
        if self.tied:
            return self._slice[int(rng.integers(len(self._slice)))]
        mixers = tuple(tuple(MIXER_SETS[int(rng.integers(len(MIXER_SETS)))] for _ in range(self.blocks))
                       for _ in self.modalities)
        fusion = tuple(FUSION_OPS[int(rng.integers(len(FUSION_OPS)))] for _ in range(self.n_steps))
        return self.check(RMArch(mixers, fusion, bool(rng.integers(2))))

    def mutate(self, arch, rng: np.random.Generator) -> RMArch:
        """One modality's mixer, one fusion op or the LST flag changed (tied: slice members only)."""
        a = self.check(self.decode(arch) if isinstance(arch, str) else arch)
        if self.tied:
            near = [b for b in self._slice if self._distance(a, b) == 1]
            return near[int(rng.integers(len(near)))]
        while True:
            what = int(rng.integers(3))
            mixers, fusion, lst = [list(b) for b in a.mixers], list(a.fusion), a.lst
            if what == 0:
                m, b = int(rng.integers(len(self.modalities))), int(rng.integers(self.blocks))
                mixers[m][b] = MIXER_SETS[int(rng.integers(len(MIXER_SETS)))]
            elif what == 1:
                fusion[int(rng.integers(self.n_steps))] = FUSION_OPS[int(rng.integers(len(FUSION_OPS)))]
            else:
                lst = not lst
            child = self.check(RMArch(tuple(tuple(b) for b in mixers), tuple(fusion), lst))
            if child != a:
                return child

    @staticmethod
    def _distance(a: RMArch, b: RMArch) -> int:
        # LST only differs where both have a softmax mixer (elsewhere lst=0 is forced): counting it
        # would cut the slice in two for mutation
        lst = int(a.lst != b.lst and a.uses_softmax_mixer and b.uses_softmax_mixer)
        return sum(x != y for x, y in zip(a.mixers, b.mixers)) + int(a.fusion != b.fusion) + lst

    def crossover(self, a, b, rng: np.random.Generator) -> RMArch:
        """Each modality's mixers, the fusion and LST from either parent (tied: the nearest
        slice member if the mix leaves the slice)."""
        a = self.check(self.decode(a) if isinstance(a, str) else a)
        b = self.check(self.decode(b) if isinstance(b, str) else b)
        pick = rng.random(len(self.modalities) + 2) < 0.5
        mixers = tuple(x if p else y for x, y, p in zip(a.mixers, b.mixers, pick))
        child = self.check(RMArch(mixers, a.fusion if pick[-2] else b.fusion, a.lst if pick[-1] else b.lst))
        if self.tied and child not in self._slice:  # LST off on a modality without softmax mixer
            child = self.check(RMArch(child.mixers, child.fusion, True))
        return child

    # -- optimizer-facing description ----------------------------------------------------------
    def parameters(self) -> list[Param]:
        if self.tied:
            return ([Param(f"mixer_{m}", MIXERS) for m in self.modalities] + [Param("fusion", FUSION_OPS)]
                    + [Param("lst", ("1", "0"))])
        sets = tuple("+".join(s) for s in MIXER_SETS)
        return ([Param(f"mixer_{m}_{b}", sets) for m in self.modalities for b in range(self.blocks)]
                + [Param(f"fusion_{k}", FUSION_OPS) for k in range(self.n_steps)] + [Param("lst", ("1", "0"))])

    def from_parameters(self, values: Mapping[str, str]) -> RMArch:
        v = active_values(self.parameters(), values)
        if self.tied:
            mixers = tuple(v[f"mixer_{m}"] for m in self.modalities)
            lst = v["lst"] == "1" or not all(x in SOFTMAX_MIXERS for x in mixers)  # off only where it exists
            return self.tied_arch(mixers, v["fusion"], lst)
        mixers = tuple(tuple(tuple(v[f"mixer_{m}_{b}"].split("+")) for b in range(self.blocks))
                       for m in self.modalities)
        return self.check(RMArch(mixers, tuple(v[f"fusion_{k}"] for k in range(self.n_steps)), v["lst"] == "1"))

    def to_parameters(self, arch) -> dict[str, str]:
        a = self.check(self.decode(arch) if isinstance(arch, str) else arch)
        if self.tied:
            out = {f"mixer_{m}": b[0][0] for m, b in zip(self.modalities, a.mixers)}
            return {**out, "fusion": a.fusion[0], "lst": str(int(a.lst or not a.uses_softmax_mixer))}
        out = {f"mixer_{m}_{i}": "+".join(s) for m, b in zip(self.modalities, a.mixers) for i, s in enumerate(b)}
        return {**out, **{f"fusion_{k}": op for k, op in enumerate(a.fusion)}, "lst": str(int(a.lst))}

"""Search spaces: small classes with a canonical string form.

Algorithms use only the methods of :class:`SearchSpace`; they never reach into a
space's internals or into the tables.
"""

from bench.spaces.base import Param, SearchSpace
from bench.spaces.cell import Cell, CellSpace
from bench.spaces.nb201 import NB201Arch, NB201Space
from bench.spaces.transnas import RestrictedSpace, TransNASMicroSpace

__all__ = ["SearchSpace", "Param", "Cell", "CellSpace", "NB201Space", "NB201Arch", "TransNASMicroSpace", "RestrictedSpace"]

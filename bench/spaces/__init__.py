"""Search spaces: small classes with a canonical string form.

Algorithms use only the methods of :class:`SearchSpace`; they never reach into a
space's internals or into the tables.
"""

from bench.spaces.base import SearchSpace
from bench.spaces.nb201 import NB201Arch, NB201Space

__all__ = ["SearchSpace", "NB201Space", "NB201Arch"]

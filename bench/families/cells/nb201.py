"""The NAS-Bench-201 / NATS-Bench topology space (15,625 cells).

A cell has 4 nodes and 6 edges ``j -> i`` (j < i); each edge carries one of 5 ops.
The canonical string is the benchmark's own:
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (edges into node 1, then 2, then 3).
The index of a cell is its op indices read as a base-5 number, first edge most
significant, so index 0 is the all-``none`` cell.
"""

from __future__ import annotations

from bench.errors import InvalidArchitectureError
from bench.families.cells.cell import EDGES, Cell, CellSpace

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NB201Arch = Cell  # an NB201 architecture object is a plain cell
_OP_SET = frozenset(OPS)

__all__ = ["OPS", "EDGES", "NB201Arch", "NB201Space"]


class NB201Space(CellSpace):
    """The NB201 cell space: encode/decode, index, sample, mutate, crossover, enumerate."""

    space_id = "nb201-cell"
    space_version = "1"
    ops = OPS

    @staticmethod
    def to_string(ops: tuple[str, ...]) -> str:
        o = ops
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    @staticmethod
    def parse_ops(text: str) -> tuple[str, ...]:
        """Op tuple of a standard NB201 string; every malformation is named."""
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"an NB201 architecture string must be str, got {type(text).__name__}")
        if not (text.startswith("|") and text.endswith("|")):
            raise InvalidArchitectureError(
                f"bad separators in {text!r}: an NB201 string starts and ends with '|', "
                "e.g. |nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"
            )
        nodes = text.split("+")
        if len(nodes) != 3:
            raise InvalidArchitectureError(
                f"wrong number of nodes in {text!r}: found {len(nodes)} '+'-separated node groups, expected 3"
            )
        ops: list[str] = []
        for node_i, group in enumerate(nodes, start=1):
            if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
                raise InvalidArchitectureError(f"bad separators in node {node_i} group {group!r} of {text!r}")
            edges = group[1:-1].split("|")
            if len(edges) != node_i:
                raise InvalidArchitectureError(
                    f"wrong number of edges into node {node_i} in {text!r}: found {len(edges)}, expected {node_i}"
                )
            for src, edge in enumerate(edges):
                op, sep, idx = edge.partition("~")
                if not sep:
                    raise InvalidArchitectureError(f"bad separator in edge {edge!r} of {text!r}: expected 'op~source'")
                if op not in _OP_SET:
                    raise InvalidArchitectureError(f"unknown op {op!r} in {text!r}; valid ops: {', '.join(OPS)}")
                if idx != str(src):
                    raise InvalidArchitectureError(
                        f"edge {edge!r} into node {node_i} of {text!r} names source {idx!r}, expected {src}"
                    )
                ops.append(op)
        return tuple(ops)

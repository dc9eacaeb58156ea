"""Architecture embeddings for NB201-style cells, and the cosine distance of KTNAS Eq. 2.

Three embeddings share one interface, ``vectors(space) -> [space.size, dim]`` in
index order:

- ``node2vec`` (KTNAS's choice, 256 dims): each cell becomes a small undirected graph
  whose nodes are the cell's sum nodes ``n0..n3`` and one node per non-``none`` edge
  labelled ``op:src dst``. node2vec random walks (the ``node2vec`` package) on a seeded
  sample of cells train one skip-gram model, so every cell's nodes live in one shared
  vector space; a cell's embedding is the mean of its nodes' vectors. Training on a
  sample suffices because every token occurs in it; the result is cached in
  ``data_cache/embeddings/``.
- ``adjacency``: one-hot op per edge (30 dims).
- ``path``: counts of each input-to-output op sequence (BANANAS-style path encoding).

Every embedding, and :func:`cosine_distance` on it, gives the same bytes in any process on
any x86-64 machine with AVX2 (``tests/test_embedding_determinism.py`` checks committed
checksums). OpenBLAS picks its kernels by processor, which made two things CPU-dependent:
(1) gensim's skip-gram updates go through scipy's BLAS ``sdot``/``saxpy``, so node2vec now
trains on a pinned kernel in a child process (:data:`BLAS_PIN`); (2) a BLAS matrix product
sums in a kernel-dependent order, which broke the path encoding's many exact distance ties
differently per machine (KTNAS Table VIII's path row: 482.7 with OpenBLAS's Haswell kernel,
560.7 with its SkylakeX one), so :func:`cosine_distance` uses no BLAS.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from itertools import product
from pathlib import Path

import networkx as nx
import numpy as np

from bench.errors import UnknownChoiceError
from bench.paths import data_cache_dir
from bench.tablefile import atomic_write
from bench.core.space import SearchSpace


class UnknownEmbeddingError(UnknownChoiceError):
    what = "embedding"


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``1 - cos`` between rows of ``a`` and rows of ``b`` (KTNAS Eq. 2), in [0, 2].

    Computed in float64 with elementwise products and numpy's fixed-order sums instead of a
    BLAS matrix product, whose summation order depends on the CPU's kernel: ties in distance
    (common with count embeddings) must break the same way on every machine. For integer
    embeddings (path, adjacency) every dot product and squared norm is exact.
    """
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    b = np.atleast_2d(np.asarray(b, dtype=np.float64))
    dot = (a[:, None, :] * b[None, :, :]).sum(axis=-1)
    norms2 = (a * a).sum(axis=1)[:, None] * (b * b).sum(axis=1)[None, :]
    sim = np.divide(dot, np.sqrt(norms2), out=np.zeros_like(dot), where=norms2 > 0)
    return 1.0 - np.clip(sim, -1.0, 1.0)


def _cell_edges(space: SearchSpace, arch) -> list[tuple[int, int, str]]:
    """(src, dst, op) of every non-``none`` edge; NB201 and TransNAS cells share this form."""
    return [(src, dst, op) for op, (dst, src) in zip(arch.ops, space.edges) if op != "none"]


def cell_token_graph(space: SearchSpace, arch) -> nx.Graph:
    """The graph node2vec walks on: sum nodes and op nodes, edges along the data flow."""
    g = nx.Graph()
    n_nodes = 1 + max(dst for dst, _ in space.edges)
    g.add_nodes_from(f"n{i}" for i in range(n_nodes))
    for src, dst, op in _cell_edges(space, arch):
        tok = f"{op}:{src}{dst}"
        g.add_edge(f"n{src}", tok)
        g.add_edge(tok, f"n{dst}")
    return g


class AdjacencyEmbedding:
    """One-hot op per edge."""

    name = "adjacency"

    def vectors(self, space: SearchSpace) -> np.ndarray:
        n_edges, n_ops = len(space.edges), len(space.ops)
        out = np.zeros((space.size, n_edges * n_ops), dtype=np.float32)
        for i, arch in enumerate(space.enumerate()):
            for e, k in enumerate(space.op_indices(arch)):
                out[i, e * n_ops + k] = 1.0
        return out


class PathEmbedding:
    """Counts of each op sequence along the input-to-output paths (``none`` cuts a path)."""

    name = "path"

    def vectors(self, space: SearchSpace) -> np.ndarray:
        out_node = max(dst for dst, _ in space.edges)
        edge_of = {(src, dst): e for e, (dst, src) in enumerate(space.edges)}
        g = nx.DiGraph(list(edge_of))
        paths = [list(zip(p, p[1:])) for p in nx.all_simple_paths(g, 0, out_node)]
        ops = [o for o in space.ops if o != "none"]
        lengths = sorted({len(p) for p in paths})
        feats = {seq: j for j, seq in enumerate(s for L in lengths for s in product(ops, repeat=L))}
        out = np.zeros((space.size, len(feats)), dtype=np.float32)
        for i, arch in enumerate(space.enumerate()):
            for p in paths:
                seq = tuple(arch.ops[edge_of[hop]] for hop in p)
                if "none" not in seq:
                    out[i, feats[seq]] += 1.0
        return out


#: Bump when :meth:`Node2VecEmbedding._train` changes what it computes: the cache key holds
#: it, so a cache built by older code is never read.
NODE2VEC_CODE_VERSION = 2

#: OpenBLAS kernel node2vec trains on (the same AVX2 level as :mod:`bench.numerics`): measured
#: on one AVX-512 CPU, the default (SkylakeX), Haswell and Prescott kernels give three different
#: node2vec vectors for one seed.
BLAS_PIN = {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_NUM_THREADS": "1"}


def _cpu_has_avx2() -> bool:
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return bool(__cpu_features__.get("AVX2") and __cpu_features__.get("FMA3"))


def blas_pin() -> dict[str, str]:
    """Environment that pins OpenBLAS's kernel, or ``{}`` where the pinned kernel cannot run.

    Only x86-64 CPUs with AVX2 reach the pinned kernel (and the committed checksums); elsewhere
    node2vec trains on the native kernel, and its cache key says so.
    """
    if platform.machine().lower() in ("x86_64", "amd64") and _cpu_has_avx2():
        return dict(BLAS_PIN)
    return {}


def space_fingerprint(space: SearchSpace) -> str:
    """sha256 of the space's cells in index order: two spaces with one id but other members
    (e.g. another sample of a restricted space) never share a cache file."""
    h = hashlib.sha256()
    for arch in space.enumerate():
        h.update(space.encode(arch).encode())
        h.update(b"\n")
    return h.hexdigest()


def _library_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {lib: version(lib) for lib in ("gensim", "node2vec", "numpy", "scipy", "networkx")}


@dataclass(frozen=True)
class Node2VecEmbedding:
    """node2vec walks + one shared skip-gram model; see the module docstring."""

    dimensions: int = 256
    walk_length: int = 8
    num_walks: int = 10
    p: float = 1.0
    q: float = 1.0
    window: int = 3
    epochs: int = 5
    train_cells: int = 2000
    seed: int = 0
    name: str = "node2vec"

    def cache_key(self, space: SearchSpace) -> dict:
        """Everything the vectors depend on: settings, the space's cells, code and library
        versions and the BLAS kernel."""
        pin = blas_pin()
        return {**asdict(self), "space": space.space_id, "v": space.space_version,
                "cells": space_fingerprint(space), "code": NODE2VEC_CODE_VERSION, "libs": _library_versions(),
                "blas": pin.get("OPENBLAS_CORETYPE", f"native-{platform.machine()}")}

    def cache_path(self, space: SearchSpace) -> Path:
        key = hashlib.sha256(json.dumps(self.cache_key(space), sort_keys=True).encode()).hexdigest()[:16]
        return data_cache_dir() / "embeddings" / f"{space.space_id}__node2vec__{key}.npy"

    def vectors(self, space: SearchSpace) -> np.ndarray:
        path = self.cache_path(space)
        if path.exists():
            return np.load(path)
        vecs = self._compute(space)
        with atomic_write(path) as tmp:  # a killed process leaves no half-written cache
            np.save(tmp, vecs)
        return vecs

    def _compute(self, space: SearchSpace) -> np.ndarray:
        """:meth:`_train` in a child process whose OpenBLAS is pinned: the kernel is chosen
        when the library loads, which in this process has already happened."""
        env = {**os.environ, **blas_pin()}
        # the child imports this same bench, whichever way this process found it
        root = str(Path(__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "vectors.npy"
            subprocess.run([sys.executable, "-c", "from bench.families.cells.embeddings import _train_child; _train_child()", str(out)],
                           input=pickle.dumps((self, space)), env=env, check=True)
            return np.load(out)

    def _train(self, space: SearchSpace) -> np.ndarray:
        from gensim.models import Word2Vec
        from node2vec import Node2Vec

        rng = np.random.default_rng(self.seed)
        sample = rng.choice(space.size, size=min(self.train_cells, space.size), replace=False)
        walks: list[list[str]] = []
        for k, idx in enumerate(np.sort(sample)):
            g = cell_token_graph(space, space.from_index(int(idx)))
            n2v = Node2Vec(g, dimensions=self.dimensions, walk_length=self.walk_length, num_walks=self.num_walks,
                           p=self.p, q=self.q, workers=1, quiet=True, seed=self.seed * 1_000_003 + k)
            walks.extend(n2v.walks)
        # one worker and a fixed seed make gensim's update order and random draws fixed
        model = Word2Vec(walks, vector_size=self.dimensions, window=self.window, min_count=1, sg=1,
                         workers=1, seed=self.seed, epochs=self.epochs)
        out = np.zeros((space.size, self.dimensions), dtype=np.float32)
        for i, arch in enumerate(space.enumerate()):
            nodes = [n for n in cell_token_graph(space, arch).nodes if n in model.wv]
            out[i] = np.mean([model.wv[n] for n in nodes], axis=0)
        return out


EMBEDDINGS = {"node2vec": Node2VecEmbedding, "adjacency": AdjacencyEmbedding, "path": PathEmbedding}


def get_embedding(name: str, **kwargs):
    if name not in EMBEDDINGS:
        raise UnknownEmbeddingError(name, EMBEDDINGS)
    return EMBEDDINGS[name](**kwargs)


def _train_child() -> None:
    """Entry of :meth:`Node2VecEmbedding._compute`'s child: (embedding, space) pickled on
    stdin, the vectors saved to ``argv[1]``."""
    emb, space = pickle.load(sys.stdin.buffer)
    np.save(sys.argv[1], emb._train(space))

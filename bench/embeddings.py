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
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from itertools import product
from pathlib import Path

import networkx as nx
import numpy as np

from bench.errors import UnknownChoiceError
from bench.paths import data_cache_dir
from bench.tablefile import atomic_write
from bench.spaces.base import SearchSpace


class UnknownEmbeddingError(UnknownChoiceError):
    what = "embedding"


def cosine_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``1 - cos`` between rows of ``a`` and rows of ``b`` (KTNAS Eq. 2), in [0, 2]."""
    a = np.atleast_2d(a)
    b = np.atleast_2d(b)
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    sim = (a / np.where(na == 0, 1, na)) @ (b / np.where(nb == 0, 1, nb)).T
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

    def cache_path(self, space: SearchSpace) -> Path:
        key = hashlib.sha256(json.dumps({**asdict(self), "space": space.space_id,
                                         "v": space.space_version}, sort_keys=True).encode()).hexdigest()[:16]
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
        # one worker and a fixed seed make gensim deterministic across processes
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

"""Every embedding and the distance on it give committed bytes, in any process on any x86-64 CPU.

The checksums were computed once (x86-64, AVX2 OpenBLAS kernel pinned for node2vec) and are
committed here; a change in an embedding's code or libraries that alters a single bit fails
these tests. Before the fix, the path encoding's distances depended on the CPU's BLAS kernel
(KTNAS Table VIII: 482.7 vs 560.7 evaluations) and node2vec's vectors too.
"""

import hashlib
import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from bench.families.cells.embeddings import (AdjacencyEmbedding, Node2VecEmbedding, PathEmbedding, blas_pin, cosine_distance,
                              space_fingerprint)
from bench.families.cells.nb201 import NB201Space
from bench.families.cells.transnas import TransNASMicroSpace

NB201, TRANSNAS = NB201Space(), TransNASMicroSpace()
SMALL = dict(dimensions=16, train_cells=60, num_walks=4, epochs=2)

#: sha256 of the C-order bytes; (space, embedding) -> (shape, dtype, sha256)
CHECKSUMS = {
    ("nb201", "path"): ((15625, 84), "float32", "d751db77571f7b2024f35ecc935328bb7911e2bb1d9db01bd84c4c15a01f8003"),
    ("nb201", "adjacency"): ((15625, 30), "float32", "56827621faac763e7779e5cfb8d85f452bedf519f231e5fe1935fd3f9f378147"),
    ("transnas", "path"): ((4096, 39), "float32", "cbc9294650fbb6cd5f0325937594a8cb326ac1889e8d2a7f37aa1cf1d636fe96"),
    ("transnas", "adjacency"): ((4096, 24), "float32", "6912a858dd44745914400cb7eb1a8e95b8f2757834cfbf434f204cb5f5f80fe7"),
    ("nb201", "node2vec-small"): ((15625, 16), "float32", "44af2b293d1bea6f13b99f852a5f6872a3dc98fa1c48bf77e6511626842b5078"),
    ("nb201", "node2vec"): ((15625, 256), "float32", "8fc81609cefa9acb670039eeca252ec5cc6ad0230e70ed352ec213e6cdd34ce8"),
    # cosine_distance(path[::7], path[3::101]) on NB201: many exact ties, which must break alike everywhere
    ("nb201", "path-distance"): ((2233, 155), "float64", "a0b8857743932fbcbaa97ba8f216a39ec78a8e2978cac5315754a489f02001a9"),
}

pinned_only = pytest.mark.skipif(not blas_pin(), reason="checksums hold for the pinned x86-64 AVX2 OpenBLAS kernel")


def _sha(v: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()


def _check(v: np.ndarray, key) -> None:
    shape, dtype, sha = CHECKSUMS[key]
    assert (v.shape, str(v.dtype)) == (shape, dtype)
    assert _sha(v) == sha, f"{key} changed: {_sha(v)}"


@pytest.mark.parametrize("space_name,space", [("nb201", NB201), ("transnas", TRANSNAS)])
@pytest.mark.parametrize("cls", [PathEmbedding, AdjacencyEmbedding])
def test_count_embeddings_match_committed_checksum(space_name, space, cls):
    _check(cls().vectors(space), (space_name, cls.name))


def test_path_distance_matches_committed_checksum():
    p = PathEmbedding().vectors(NB201)
    _check(cosine_distance(p[::7], p[3::101]), ("nb201", "path-distance"))


@pinned_only
def test_node2vec_small_matches_committed_checksum():
    _check(Node2VecEmbedding(**SMALL)._compute(NB201), ("nb201", "node2vec-small"))


@pinned_only
@pytest.mark.slow
def test_node2vec_full_matches_committed_checksum():
    """The 256-dim vectors KTNAS uses by default (about 15 s)."""
    _check(Node2VecEmbedding()._compute(NB201), ("nb201", "node2vec"))


_CHILD = """
import hashlib, json, sys
import numpy as np
from bench.families.cells.embeddings import AdjacencyEmbedding, Node2VecEmbedding, PathEmbedding, cosine_distance
from bench.families.cells.nb201 import NB201Space
sha = lambda v: hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()
s = NB201Space()
p = PathEmbedding().vectors(s)
print(json.dumps({"path": sha(p), "adjacency": sha(AdjacencyEmbedding().vectors(s)),
                  "path-distance": sha(cosine_distance(p[::7], p[3::101])),
                  "node2vec-small": sha(Node2VecEmbedding(**json.loads(sys.argv[1]))._compute(s))}))
"""


def _child_checksums(**env) -> dict:
    full_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHASHSEED", "OPENBLAS_CORETYPE")}
    out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(SMALL)], env={**full_env, **env},
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="OpenBLAS core types of x86-64")
def test_same_bytes_under_other_hash_seeds_and_blas_kernels():
    """Processes with other PYTHONHASHSEEDs and OpenBLAS kernels (the parent's choice; node2vec's
    child pins its own) give identical bytes. Without the fix, the path distance differed
    between the Haswell and Prescott kernels, and node2vec between the native AVX-512 and AVX2 ones."""
    runs = [_child_checksums(PYTHONHASHSEED="1"),
            _child_checksums(PYTHONHASHSEED="987", OPENBLAS_CORETYPE="Prescott"),
            _child_checksums(PYTHONHASHSEED="31337", OPENBLAS_CORETYPE="Haswell")]
    assert runs[0] == runs[1] == runs[2]
    if blas_pin():
        assert runs[0] == {k: CHECKSUMS[("nb201", k)][2] for k in runs[0]}


def test_node2vec_cache_key_covers_code_libraries_kernel_and_cells(monkeypatch):
    """A cache written by other code, libraries, kernel or another sample of cells is never read."""
    import bench.families.cells.embeddings as emb

    e = Node2VecEmbedding(**SMALL)
    base = e.cache_path(NB201)
    monkeypatch.setattr(emb, "NODE2VEC_CODE_VERSION", emb.NODE2VEC_CODE_VERSION + 1)
    assert e.cache_path(NB201) != base
    monkeypatch.undo()
    monkeypatch.setattr(emb, "_library_versions", lambda: {"gensim": "0.0"})
    assert e.cache_path(NB201) != base
    monkeypatch.undo()
    monkeypatch.setattr(emb, "blas_pin", lambda: {})
    assert e.cache_path(NB201) != base
    monkeypatch.undo()
    assert e.cache_path(NB201) == base


def test_space_fingerprint_tells_restricted_samples_apart():
    from bench.families.cells.transnas import RestrictedSpace

    cells = [TRANSNAS.encode(TRANSNAS.from_index(i)) for i in range(12)]
    a, b = RestrictedSpace(TRANSNAS, cells[:6]), RestrictedSpace(TRANSNAS, cells[6:])
    assert a.space_id == b.space_id and space_fingerprint(a) != space_fingerprint(b)
    assert Node2VecEmbedding(**SMALL).cache_path(a) != Node2VecEmbedding(**SMALL).cache_path(b)


@pytest.mark.slow  # the committed table has 100 seeds
def test_committed_ktnas_table8_path_row_is_what_this_code_computes(repo_root):
    """The shipped path-encoding row (the one that differed between machines) equals a fresh run."""
    import pandas as pd

    from bench.families.cells.paper_ktnas import KTNAS_NB201, _multitask_records

    cols = ["C-10", "C-100", "ImageNet"]
    df = pd.read_csv(repo_root / "paper_repro" / "out" / "ktnas-table8.csv")
    seeds = int(df[df.row == "path encoding (ours)"].ours_n.iloc[0])
    recs = _multitask_records("ktnas", [KTNAS_NB201[c][0] for c in cols], seeds, False, embedding="path")
    per_seed = np.array([[r.evals_to(r.target) for r in mt.records] for mt in recs], dtype=float)
    fresh = dict(zip(cols + ["Total"], [*per_seed.mean(axis=0), per_seed.sum(axis=1).mean()]))
    shipped = df[df.row == "path encoding (ours)"].set_index("column").ours_mean
    assert fresh == pytest.approx({c: float(shipped[c]) for c in fresh}, abs=1e-9)

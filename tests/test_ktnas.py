import subprocess
import sys

import numpy as np
import pytest

from bench.families.cells.ktnas import PRESETS, KTNASSettings, _Task, ktnas, preset, select_transferred, transfer_rank
from bench.compare import seed_rng
from bench.families.cells.embeddings import AdjacencyEmbedding, Node2VecEmbedding, PathEmbedding, cosine_distance, get_embedding
from bench.multitask import MultiTaskRecord, MultiTaskRun
from bench.run import Run
from bench.families.cells.nb201 import NB201Space

TASKS = {"cifar10": "val_acc", "cifar100": "test_acc", "ImageNet16-120": "test_acc"}
SPACE = NB201Space()


def test_cosine_distance_is_eq2():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    d = cosine_distance(a, np.array([[3.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]))
    assert np.allclose(d, [[0, 2, 1], [1, 1, 0]])


def test_transfer_rank_reproduces_the_papers_figure_4_example():
    # candidates p1..p5 on the unit circle; s1, s2 nearest p1, s3 nearest p2, s4 nearest p4
    ang = np.deg2rad([0, 72, 144, 216, 288])
    p = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    s = p[[0, 0, 1, 3]] + 0.05
    labels = [1, -1, 1, -1]  # s1, s3 positive; s2, s4 negative
    phi = transfer_rank(s, labels, p)
    assert phi.tolist() == [0, 1, 0, -1, 0]
    picks = [tuple(sorted(select_transferred(phi, 2, np.random.default_rng(k)))) for k in range(60)]
    assert all(1 in pk for pk in picks)  # p2 always
    assert {pk[0] if pk[1] == 1 else pk[1] for pk in picks} == {0, 2, 4}  # plus one of p1, p3, p5 at random
    assert all(3 not in pk for pk in picks)  # never the negative p4


def test_select_transferred_takes_whole_groups_first():
    phi = np.array([2, 2, 1, 1, 1, 0, -1])
    for k in range(20):
        chosen = select_transferred(phi, 4, np.random.default_rng(k))
        assert {0, 1} <= set(chosen) and len(set(chosen)) == 4 and set(chosen) <= {0, 1, 2, 3, 4}


def test_hts_keeps_all_positives_and_the_last_m_negative_generations(nb201_oracles):
    t = _Task("x", Run(nb201_oracles["cifar10"]), KTNASSettings(saved_generations=2))
    for gen in range(4):
        t.positives.append(f"pos{gen}")
        t.negatives.append([f"neg{gen}a", f"neg{gen}b"])
    hts = dict(t.hts())
    assert {k for k, v in hts.items() if v == 1} == {"pos0", "pos1", "pos2", "pos3"}
    assert {k for k, v in hts.items() if v == -1} == {"neg2a", "neg2b", "neg3a", "neg3b"}


def test_settings_follow_table1_and_are_checked():
    s = PRESETS["ktnas"]
    assert (s.population_size, s.tournament_size, s.mutation_prob, s.ranking_ratio, s.saved_generations,
            s.transferred, s.embedding) == (10, 5, 1.0, 0.2, 5, 4, "node2vec")
    with pytest.raises(ValueError, match="transfer"):
        KTNASSettings(transfer="best")


def _run(algo, seed, **kw):
    m = MultiTaskRun.open("nb201", TASKS, algo=algo, seed=seed, until_optimum=True)
    ktnas(m, seed_rng(seed, algo), preset(algo, **kw))
    return m.finish()


@pytest.mark.parametrize("algo", sorted(PRESETS))
def test_multitask_runs_reach_every_optimum_and_count_per_task(algo):
    rec = _run(algo, 0, embedding="adjacency")
    assert rec.tasks == list(TASKS)
    per_task = rec.evals_to_targets()
    assert all(v is not None for v in per_task.values())
    assert rec.total_evals == sum(len(r.values) for r in rec.records)
    for r in rec.records:
        assert r.stop_reason == "target" and r.best_value == r.target
        assert len(set(r.archs)) == len(r.archs)  # each task counts distinct cells


def test_same_seed_same_result_different_seed_different():
    a, b, c = _run("ktnas", 1, embedding="path"), _run("ktnas", 1, embedding="path"), _run("ktnas", 2, embedding="path")
    assert [r.archs for r in a.records] == [r.archs for r in b.records]
    assert [r.archs for r in a.records] != [r.archs for r in c.records]


def test_multitask_record_round_trip(tmp_path):
    rec = _run("emt-nas", 0)
    rec.save(tmp_path / "mt.json")
    back = MultiTaskRecord.load(tmp_path / "mt.json")
    assert back.evals_to_targets() == rec.evals_to_targets() and back.traces == rec.traces


def test_plain_embeddings_shapes():
    adj = AdjacencyEmbedding().vectors(SPACE)
    path = PathEmbedding().vectors(SPACE)
    assert adj.shape == (15625, 30) and (adj.sum(axis=1) == 6).all()
    assert path.shape == (15625, 84)
    best = SPACE.index("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    assert path[best].sum() == 4  # all four input-output paths are live: 0-3, 0-1-3, 0-2-3, 0-1-2-3
    assert path[0].sum() == 0


SMALL = dict(dimensions=16, train_cells=60, num_walks=4, epochs=2)


def test_node2vec_is_cached_and_not_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv("MMNAS_DATA_CACHE", str(tmp_path))
    emb = Node2VecEmbedding(**SMALL)
    first = emb.vectors(SPACE)
    assert first.shape == (15625, 16) and np.isfinite(first).all()
    assert emb.cache_path(SPACE).exists() and emb.cache_path(SPACE).is_relative_to(tmp_path)

    def boom(*_):
        raise AssertionError("embedding recomputed")

    monkeypatch.setattr(Node2VecEmbedding, "_compute", boom)
    assert np.array_equal(emb.vectors(SPACE), first)
    assert Node2VecEmbedding(**{**SMALL, "seed": 1}).cache_path(SPACE) != emb.cache_path(SPACE)


def test_node2vec_is_identical_across_processes(tmp_path):
    code = ("import sys, numpy as np; from bench.families.cells.embeddings import Node2VecEmbedding; from bench.families.cells.nb201 import NB201Space;"
            f"v = Node2VecEmbedding(**{SMALL!r})._compute(NB201Space()); np.save(sys.argv[1], v)")
    outs = []
    for k, hashseed in enumerate(["1", "987"]):
        out = tmp_path / f"v{k}.npy"
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, env={"PYTHONHASHSEED": hashseed, "PATH": ""})
        outs.append(np.load(out))
    assert np.array_equal(outs[0], outs[1])


def test_ktnas_uses_the_embedding_cache(monkeypatch):
    """A second KTNAS run computes no embedding: the default node2vec vectors come from data_cache/."""
    get_embedding("node2vec").vectors(SPACE)  # first use computes and caches (once per checkout)

    def boom(*_):
        raise AssertionError("embedding recomputed")

    monkeypatch.setattr(Node2VecEmbedding, "_compute", boom)
    rec = _run("ktnas", 3)
    assert all(v is not None for v in rec.evals_to_targets().values())


def test_single_task_algorithms_run_on_the_multitask_api():
    from bench.algorithms.multitask import get, names

    assert {"rs", "rea", "ktnas", "ktnas-random", "emt-nas", "mtnas"} <= set(names("nb201"))
    m = MultiTaskRun.open("nb201", TASKS, algo="rea", seed=0, budget_evals=40)
    get("rea", "nb201")(m, seed_rng(0, "rea"))
    rec = m.finish()
    assert [len(r.values) for r in rec.records] == [40, 40, 40] and rec.total_evals == 120
    with pytest.raises(Exception, match="unknown algorithm 'no-such-algo'"):  # gcn exists since the Table II baselines
        get("no-such-algo", "nb201")

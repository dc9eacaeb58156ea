"""The single-task baselines of KTNAS Table II (GCN, LaNAS, WeakNAS, zero-cost warm-up) and the
Fig. 2 runner: repeatable, they find optima, they are reachable through the registry, and bad
input gets a clear error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bench
from bench import algorithms
from bench.cli import main
from bench.compare import seed_rng
from bench.families.cells import predictor_search as ps
from bench.repro.spec import get_spec
from bench.run import Run

SEARCHES = ["gcn", "lanas", "weaknas", "zero"]


def _run(name, bench_name, dataset, metric, seed, **kw):
    o = bench.open(bench_name, dataset=dataset)
    run = Run(o, metric, algo=name, seed=seed, **kw)
    ps.ALGORITHMS[name](run, seed_rng(seed, name, dataset))
    return run.finish()


@pytest.mark.parametrize("name", SEARCHES)
def test_same_seed_same_trace_other_seed_other_trace(name):
    a, b, c = (_run(name, "nb201", "cifar10", "val_acc", s, budget_evals=40) for s in (3, 3, 4))
    assert a.archs == b.archs and a.values == b.values and a.evals == b.evals
    assert len(a.archs) == 40 == len(set(a.archs))  # 40 distinct cells counted
    assert a.archs != c.archs


@pytest.mark.parametrize("name", ["gcn", "lanas", "weaknas"])
def test_finds_the_optimum_of_the_transnas_sample_faster_than_random_search(name):
    # random search needs (711 + 1) / 2 = 356 evaluations in expectation on the 711-cell sample
    rec = _run(name, "transnas101-micro", "class_object", "val_score", 0, stop_at_target=True, budget_evals=356)
    assert rec.stop_reason == "target" and rec.best_value == rec.target


def test_zero_cost_warm_up_finds_the_nb201_optimum():
    rec = _run("zero", "nb201", "cifar10", "val_acc", 0, stop_at_target=True, budget_evals=2000)
    assert rec.stop_reason == "target" and rec.evals_to(rec.target) == len(rec.archs)
    pool = rec.settings["zero_cost_pool"]
    assert 700 <= pool <= 730  # NASLib's sample: the cells with a zero-cost proxy
    # the first population is the proxy's top 10 of that sample
    o = bench.open("nb201", dataset="cifar10")
    proxy = o.query_many(rec.archs[:10], "zc_jacov")
    assert np.all(np.diff(proxy) <= 0)
    rest = o.query_many(range(o.n_arch), "zc_jacov", on_missing="nan")
    assert np.sum(rest > proxy[-1]) == 9


def test_registered_for_compare_and_the_table2_runner(tmp_path, capsys):
    for name in SEARCHES:
        assert algorithms.get(name, "nb201") is ps.ALGORITHMS[name]
        assert algorithms.get(name, "transnas101-micro") is ps.ALGORITHMS[name]
    assert main(["compare", "--bench", "nb201", "--dataset", "cifar10", "--algo", "lanas", "--seeds", "1",
                 "--budget", "30", "--out", str(tmp_path / "c"), "--no-progress"]) == 0
    runs = pd.read_csv(tmp_path / "c" / "runs.csv")
    assert list(runs.algo) == ["lanas"] and runs.evals.iloc[0] == 30


def test_the_table2_runner_fills_the_predictor_rows(monkeypatch):
    from bench.families.cells.paper_ktnas import ktnas_table2

    spec = get_spec("ktnas-table2")
    mine = {"GCN": "gcn", "LaNAS": "lanas", "WeakNAS": "weaknas", "Zero": "zero"}
    assert {r.name: r.key for r in spec.rows if r.name in mine} == mine
    assert all(r.status == "same-benchmark-protocol" and r.reason for r in spec.rows if r.name in mine)
    spec.rows = [r for r in spec.rows if r.name in ("LaNAS", "Zero")]  # the quick ones
    res = ktnas_table2(spec, seeds=1, progress=False)
    for name in ("LaNAS", "Zero"):
        cells = res.cells[name]
        assert all(c.n == 1 and 1 <= c.mean < 15625 for c in cells[:3])
        assert cells[3].mean == sum(c.mean for c in cells[:3])


def test_bad_settings_and_spaces_get_clear_errors():
    with pytest.raises(ps.PredictorSearchError, match=r"GCNSettings.batch must be an integer >= 1, got 0"):
        ps.GCNSettings(batch=0)
    with pytest.raises(ps.PredictorSearchError, match=r"LaNASSettings.cp must be a finite number >= 0"):
        ps.LaNASSettings(cp=float("nan"))
    with pytest.raises(ps.PredictorSearchError, match=r"batch \(20\) must be <= top \(10\)"):
        ps.WeakNASSettings(batch=20, top=10)
    with pytest.raises(ps.PredictorSearchError, match="warm_start must be true or false"):
        ps.GCNSettings(warm_start=1)
    with pytest.raises(ps.PredictorSearchError, match="enumerable cell space"):
        ps.cell_table(object())
    o = bench.open("nb201", dataset="cifar10")
    with pytest.raises(ps.PredictorSearchError, match=r"no zero-cost proxy 'synflow'; proxies in this table: .*jacov"):
        ps.zero_search(Run(o, "val_acc", budget_evals=5), np.random.default_rng(0), ps.ZeroSettings(proxy="synflow"))


def test_cli_names_the_predictor_searches_when_an_algorithm_is_misspelt(tmp_path, capsys):
    code = main(["compare", "--bench", "nb201", "--dataset", "cifar10", "--algo", "gcnn", "--seeds", "1",
                 "--budget", "5", "--out", str(tmp_path / "z"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "'gcnn'" in err and all(n in err for n in SEARCHES)


def test_cell_table_encodes_every_cell_in_index_order():
    o = bench.open("nb201", dataset="cifar10")
    t = ps.cell_table(o.space)
    assert t.ops.shape == (15625, 6) and t.onehot.shape == (15625, 30) and t.adj.shape == (15625, 8, 16)
    assert (t.onehot.sum(axis=1) == 6).all()
    i = o.space.index("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|")
    assert list(t.ops[i]) == [3, 0, 1, 0, 0, 4]
    fwd = t.adj[i, :, :8] * 2
    # the 'none' edges' op nodes (2, 4, 5) keep only their self-loop; rows sum to 1
    for node in (2, 4, 5):
        assert fwd[node, node] == 1 and fwd[node].sum() == 1 and fwd[:, node].sum() == 1
    assert np.allclose(fwd.sum(axis=1), 1)
    assert fwd[0, 1] > 0 and fwd[1, 3] > 0 and fwd[3, 6] > 0 and fwd[6, 7] > 0  # input -> e1 -> e3 -> e6 -> output
    assert ps.cell_table(o.space) is t  # cached per space


def test_fig2_runner_gives_the_correlation_matrices(tmp_path, monkeypatch, repo_root):
    import shutil

    from bench.repro.reproduce import reproduce

    shutil.copytree(repo_root / "paper_repro" / "specs", tmp_path / "specs")
    monkeypatch.setenv("MMNAS_PAPER_REPRO", str(tmp_path))
    md, csv = reproduce(get_spec("ktnas-fig2"), seeds=1, progress=False)
    df = pd.read_csv(csv)
    full = df[df.row.str.endswith("(all 711 cells)")].pivot(index="row", columns="column", values="ours_mean")
    assert full.shape == (7, 7) and np.allclose(np.diag(full.loc[[f"{c} (all 711 cells)" for c in full.columns]]), 1)
    m = full.loc[[f"{c} (all 711 cells)" for c in full.columns], list(full.columns)].to_numpy()
    assert np.allclose(m, m.T) and (np.abs(m) <= 1).all()
    top = df[df.row.str.endswith("(top 20% of source)")]
    assert len(top) == 49 and (top.ours_n == 142).all() and (df.status == "proxy").all()
    assert (tmp_path / "out" / "ktnas-fig2.png").stat().st_size > 10_000
    assert "711-cell sample" in md.read_text()


def test_fig2_refuses_a_bad_row_key(tmp_path):
    from bench.families.cells.paper_ktnas_fig2 import correlation_matrices, ktnas_fig2

    spec = get_spec("ktnas-fig2")
    spec.rows[0].key = "best:Object"
    with pytest.raises(ValueError, match="'best:Object' must be 'all:<column>' or 'top:<column>'"):
        ktnas_fig2(spec, 1, False)
    with pytest.raises(ValueError, match=r"ranking_ratio must be in \(0, 1\]"):
        correlation_matrices(np.zeros((10, 2)), 0.0, "spearman")

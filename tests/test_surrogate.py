"""Full-space surrogates (bench.core.surrogate, surrogate_report, outslice): deterministic fits that a
refit reproduces byte for byte, predictions that agree with LightGBM's and with themselves alone or
in a batch, seeded draws, a held-out split by architecture, and a report that calls a surrogate
fitted on shuffled labels invalid."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bench import registry
from bench.core import outslice
from bench.core import surrogate as S
from bench.core import surrogate_report as R
from bench.errors import BenchError, ChecksumError, UnknownDatasetError
from bench.families import FAMILIES
from bench.paths import REPO_ROOT, tables_dir

SMALL = [("mro", "mosi"), ("rmnas", "mosi"), ("tree-fusion", "scene15")]


@pytest.mark.parametrize("family,dataset", SMALL)
def test_refit_gives_the_shipped_file_byte_for_byte(family, dataset):
    shipped = (tables_dir() / S.surrogate_file(family, dataset)).read_bytes()
    assert S.fit(family, dataset).dumps() == shipped
    assert S.load(family, dataset).digest() == S.fit(family, dataset).digest()


def test_every_family_with_a_table_ships_a_surrogate_of_each_table():
    for name, fam in FAMILIES.items():
        if fam.kind != "trained":
            continue
        assert fam.surrogate is not None, name
        for ds in fam.surrogate.datasets:
            s = S.load(name, ds)
            assert s.metrics[0].startswith("val_") and s.fitted_on["n_arch"] >= 10, (name, ds)


def test_compiled_trees_agree_with_lightgbm_and_sum_exactly():
    import lightgbm as lgb

    rng = np.random.default_rng(3)
    X = rng.integers(0, 4, size=(120, 6)).astype(float)
    y = X[:, 0] * 2 - X[:, 3] + rng.normal(0, 0.1, 120)
    booster = lgb.train({**S.PARAMS, "seed": 0}, lgb.Dataset(X, y), num_boost_round=S.ROUNDS)
    trees = S.Trees.from_lightgbm(booster)
    forest = S.Forest([trees, trees])
    Xq = rng.integers(0, 4, size=(700, 6)).astype(float)
    batch = forest.predict(Xq)
    assert batch.shape == (2, 700)
    np.testing.assert_allclose(batch[0], booster.predict(Xq), atol=len(trees.roots) * S.QUANTUM)
    one = np.array([forest.predict_one(x) for x in Xq]).T
    assert np.array_equal(one, batch)  # exact: leaf values are multiples of QUANTUM
    assert np.array_equal(forest.predict(Xq[::-1])[:, ::-1], batch)  # order and chunking change nothing


def test_held_out_folds_never_fit_an_architecture_they_predict(monkeypatch):
    archs, values, _ = S.table_data("rmnas", "mosi")
    spec = outslice.spec_of("rmnas")
    X = S.design(spec, spec.impl().full_space("mosi"), archs)
    fitted_rows = []
    real = S.fit_models

    def spy(Xtr, vals, directions, seed=S.FIT_SEED):
        fitted_rows.append({tuple(r) for r in Xtr})
        return real(Xtr, vals, directions, seed)

    monkeypatch.setattr(S, "fit_models", spy)
    _, fold = R.held_out(X, values, {m: "min" for m in values})
    assert len(fitted_rows) == R.FOLDS and sorted(set(fold)) == list(range(R.FOLDS))
    for f, rows in enumerate(fitted_rows):
        held = {tuple(r) for r in X[fold == f]}
        assert held and not held & rows  # every seed of a held-out architecture is out of the fit
    # values are [n_arch, n_seed]: a fold is a set of architectures with all their seeds
    assert all(v.shape[0] == len(archs) for v in values.values())


def test_shuffled_labels_make_an_invalid_surrogate_and_real_ones_beat_one_seed():
    real = R.check("rmnas", "mosi", outslice=False)
    assert real.verdict == "valid"
    assert all(c.surrogate["kendall"] > c.one_seed["kendall"] for c in real.checks)
    shuffled = R.check("rmnas", "mosi", shuffle=True)
    assert shuffled.verdict == "invalid" and shuffled.shuffled
    assert all(c.surrogate["kendall"] < 0.3 for c in shuffled.checks)


def test_shipped_report_entry_matches_a_recomputation():
    shipped = R.shipped()[("rmnas", "mosi")]
    assert json.loads(json.dumps(R.check("rmnas", "mosi").to_json())) == shipped


def test_surrogate_oracle_answers_the_full_space_with_repeatable_seeded_draws():
    o = registry.open("rmnas", "mosi", oracle="surrogate")
    assert not o.space.tied and o.space.size == 404_676
    rng = np.random.default_rng(0)
    archs = [o.space.encode(o.space.sample(rng)) for _ in range(20)]
    first = [[o.query(a, "val_mae", seed=s) for s in range(3)] for a in archs]
    again = registry.open("rmnas", "mosi", oracle="surrogate")
    assert first == [[again.query(a, "val_mae", seed=s) for s in range(3)] for a in archs]
    assert all(len(set(row)) == 3 for row in first)  # seeds differ: the noise model draws per seed
    means = again.predict_many(archs)["val_mae"]
    assert np.allclose([np.mean(r) for r in first], means, atol=4 * S.load("rmnas", "mosi").models["val_mae"].noise_sd)
    sl = registry.open("rmnas", "mosi", oracle="surrogate-slice")
    assert sl.space.tied and sl.space.size == 80


def test_surrogate_answers_need_no_torch():
    code = ("import sys; from bench import registry; o = registry.open('hfmnas', 'landuse21', oracle='surrogate'); "
            "import numpy as np; a = o.space.sample(np.random.default_rng(1)); print(o.query(a, seed=2)); "
            "assert 'torch' not in sys.modules and 'lightgbm' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT, capture_output=True)


def test_bad_requests_are_named_errors():
    with pytest.raises(BenchError, match="no surrogate"):
        registry.open("nb201", "cifar10", oracle="surrogate")
    with pytest.raises(BenchError, match="never trains"):
        registry.open("rmnas", "mosi", oracle="surrogate", allow_train=True)
    with pytest.raises(UnknownDatasetError):
        registry.open("rmnas", "syn3-p2", oracle="surrogate")
    with pytest.raises(BenchError, match="oracle must be one of"):
        registry.open("rmnas", "mosi", oracle="live")
    with pytest.raises(BenchError, match="no surrogate"):
        outslice.spec_of("nb201")


def test_a_surrogate_of_another_table_version_or_edited_is_refused(tmp_path):
    src = tables_dir() / S.surrogate_file("mro", "mosi")
    d = json.loads(src.read_bytes())
    d["fitted_on"]["sha256"] = "0" * 64
    (tmp_path / src.name).write_text(json.dumps(d))
    (tmp_path / d["fitted_on"]["table"]).write_bytes((tables_dir() / d["fitted_on"]["table"]).read_bytes())
    with pytest.raises(ChecksumError, match="another version"):
        S.load("mro", "mosi", tmp_path / src.name)
    d["format"] = "something-else"
    (tmp_path / src.name).write_text(json.dumps(d))
    with pytest.raises(ChecksumError, match="format"):
        S.load("mro", "mosi", tmp_path / src.name)


def test_a_refit_that_differs_is_refused_unless_accepted(tmp_path, monkeypatch):
    target = tmp_path / S.surrogate_file("mro", "mosi")
    target.write_bytes(b'{"format": "old"}\n')
    from bench.builders.common import ReferenceChangedError

    with pytest.raises(ReferenceChangedError):
        S.build("mro", "mosi", out_dir=tmp_path)
    assert target.read_bytes() == b'{"format": "old"}\n'  # nothing replaced
    S.build("mro", "mosi", out_dir=tmp_path, accept_new_reference=True)
    assert target.read_bytes() == (tables_dir() / target.name).read_bytes()


def test_out_of_slice_draws_are_seeded_distinct_and_outside_the_table():
    for fam in ("tree-fusion", "rmnas", "hfmnas", "mro"):
        spec = outslice.spec_of(fam)
        a = outslice.sample_archs(fam, 12)
        assert a == outslice.sample_archs(fam, 12) and len(set(a)) == 12
        assert not set(a) & set(outslice.table_archs(fam, spec.sample_dataset))
    with pytest.raises(BenchError, match="whole space"):
        outslice.draw(registry.open("mro", "mosi").space, set(), 16, 0)  # 15 members


def test_shipped_out_of_slice_samples_hold_full_space_architectures_the_tables_do_not():
    from bench.tablefile import read_dataset

    for fam, f in FAMILIES.items():
        spec = f.surrogate
        if spec is None or not (tables_dir() / spec.outslice_file()).exists():
            continue
        archs, metrics, _ = read_dataset(tables_dir() / spec.outslice_file(), spec.sample_dataset)
        assert list(archs) == outslice.sample_archs(fam, len(archs)) and len(archs) >= 30
        assert metrics[spec.metrics[0]].values.shape == (len(archs), outslice.SEEDS)


def test_cli_query_and_compare_on_the_surrogate(capsys, tmp_path):
    from bench.cli import main

    assert main(["query", "--bench", "mro", "--dataset", "syn4-p3-planted", "--oracle", "surrogate",
                 "111111111111", "--metric", "val_mae", "--metric", "test_mae"]) == 0
    out = capsys.readouterr().out
    assert "answered from the surrogate" in out and "surrogate report:" in out
    assert main(["query", "--bench", "mro", "--dataset", "mosi", "--oracle", "surrogate", "--train", "33"]) == 2
    assert main(["compare", "--bench", "rmnas", "--dataset", "mosi", "--oracle", "surrogate", "--seeds", "2",
                 "--algo", "rs", "--algo", "rea", "--no-progress", "--out", str(tmp_path / "c")]) == 0
    assert "answered by the rmnas/mosi surrogate over the paper's full space" in capsys.readouterr().out
    assert main(["compare", "--bench", "nb201", "--oracle", "surrogate", "--seeds", "1"]) == 2


def test_readme_shows_the_shipped_surrogate_reports():
    from bench.core.surrogate_readme import render

    text = (REPO_ROOT / "README.md").read_text()
    assert render(text) == text, "run `python -m bench.core.surrogate_readme` after `surrogate report/claims --write`"


def test_cli_report_of_one_surrogate_matches_the_shipped_report(capsys):
    from bench.cli import main

    assert main(["surrogate", "report", "--bench", "mro", "--dataset", "syn3-p2-planted", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "mro/syn3-p2-planted: valid" in out and "matches tables/SURROGATES.json" in out
    assert "Kendall tau" in out and "same order" in out  # its search-level agreement (rs, rea; 20 seeds)
    assert "do the algorithms' regrets differ? on the table: " in out and "Kruskal-Wallis p = " in out
    assert main(["surrogate", "report", "--dataset", "mosi"]) == 2  # a dataset needs its family
    assert main(["surrogate", "claims", "--bench", "mro"]) == 2


def test_agreement_says_when_the_table_does_not_separate_the_algorithms():
    """A tau between two algorithm orders is only evidence where the table tells the algorithms apart."""
    from bench.core.surrogate_agreement import Agreement, AlgoAgreement, separation
    from bench.core.surrogate_report import _separated

    rows = [AlgoAgreement("rs", 1.0, 1.1, 0.1, (0.0, 0.2)), AlgoAgreement("rea", 0.5, 0.6, 0.1, (0.0, 0.2))]
    apart = Agreement("f", "d", 20, 10.0, "test_acc", rows, 1.0, True, 0.001, 0.002)
    noise = Agreement("f", "d", 20, 10.0, "test_acc", rows, 1.0, True, 0.4, 0.03)
    assert "on the table: they differ (Kruskal-Wallis p = 0.001, n = 20 seeds each)" in separation(apart)
    assert "does not separate" not in separation(apart)
    assert "on the table: inconclusive at 20 seeds (Kruskal-Wallis p = 0.4" in separation(noise)
    assert "on the surrogate: they differ (Kruskal-Wallis p = 0.03" in separation(noise)
    assert "the table does not separate them" in separation(noise)
    assert "they differ: Kruskal-Wallis p = 0.001" in _separated(apart.to_json())
    assert "inconclusive at 20 seeds: Kruskal-Wallis p = 0.4, so that order is noise" in _separated(noise.to_json())


@pytest.mark.slow
def test_the_whole_shipped_surrogate_report_and_claims_recompute(capsys):
    from bench.cli import main

    assert main(["surrogate", "report", "--no-progress"]) == 0
    assert main(["surrogate", "claims", "--no-progress"]) == 0


def test_the_noise_model_draws_the_fitted_sd_and_correlation():
    s = S.load("hfmnas", "landuse21")
    means = {m: 0.0 for m in s.metrics}
    draws = np.array([[s.draw(f"arch{i}", seed, means)[m] for m in s.metrics] for i in range(400) for seed in range(5)])
    assert np.isfinite(draws).all()
    for k, m in enumerate(s.metrics):
        assert abs(draws[:, k].std() / s.models[m].noise_sd - 1) < 0.08
        if k:
            assert abs(np.corrcoef(draws[:, 0], draws[:, k])[0, 1] - s.models[m].rho) < 0.08
    assert S.normal_draw("x", 1, 0) == S.normal_draw("x", 1, 0) != S.normal_draw("x", 2, 0)

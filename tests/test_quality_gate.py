"""The quality gate (issue #24): can each trained table rank architectures, and what do the CLI,
the paper outputs and searches say about it (``bench.core.quality``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.cli import main
from bench.core import quality


# ---- statistics ----------------------------------------------------------------------------------
def _table(n: int, k: int, arch_sd: float, seed_sd: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0, arch_sd, (n, 1)) + rng.normal(0, seed_sd, (n, k))


def test_icc_separates_architecture_spread_from_seed_noise():
    assert quality.icc1(_table(400, 3, 1.0, 0.0001)) > 0.99
    assert abs(quality.icc1(_table(400, 3, 0.0, 1.0))) < 0.1
    # variance components 1 : 1 -> ICC(1) about 0.5, and the 3-seed mean's reliability 0.75
    v = _table(4000, 3, 1.0, 1.0)
    assert quality.icc1(v) == pytest.approx(0.5, abs=0.05)
    assert quality.icc_of_mean(0.5, 3) == pytest.approx(0.75)


def test_icc_matches_the_anova_formula_by_hand():
    v = np.array([[1.0, 2.0], [3.0, 5.0], [8.0, 8.0]])
    means = v.mean(1)
    msb = 2 * ((means - v.mean()) ** 2).sum() / 2
    msw = ((v - means[:, None]) ** 2).sum() / 3
    assert quality.icc1(v) == pytest.approx((msb - msw) / (msb + msw))


def test_bootstrap_ci_is_seeded_and_brackets_the_estimate():
    v = _table(60, 3, 1.0, 0.7, seed=3)
    lo, hi = quality.icc_bootstrap_ci(v)
    assert (lo, hi) == quality.icc_bootstrap_ci(v)
    assert lo < quality.icc1(v) < hi


def test_split_half_agreement():
    ranks = np.tile(np.arange(30.0)[:, None], (1, 4))
    assert quality.split_half_spearman(ranks) == pytest.approx(1.0)
    assert abs(quality.split_half_spearman(_table(500, 4, 0.0, 1.0))) < 0.15
    assert np.isnan(quality.split_half_spearman(np.ones((5, 1))))


# ---- trivial predictors, checked against arithmetic by hand -------------------------------------
def test_majority_and_prior_classifiers():
    from bench.core.clsmetrics import label_scores

    y_train = np.array([0, 0, 0, 1, 2, 2])
    y_test = np.array([0, 1, 1, 2, 0, 0, 2, 1])
    t = quality.classification_trivial(y_train, y_test, 3, label_scores)
    assert t["majority"]["acc"] == pytest.approx(100 * 3 / 8)
    # random labels from the training prior: expected accuracy sum_c p_train(c) p_test(c)
    expected = 100 * (3 / 6 * 3 / 8 + 1 / 6 * 3 / 8 + 2 / 6 * 2 / 8)
    assert t["label prior"]["acc"] == pytest.approx(expected, abs=3)


def test_multilabel_all_positive_scores_2p_over_1_plus_p():
    from bench.core.clsmetrics import label_scores

    rng = np.random.default_rng(0)
    y = (rng.random((2000, 4)) < np.array([0.5, 0.4, 0.6, 0.3])).astype(int)
    t = quality.classification_trivial(y[:1000], y[1000:], 4, label_scores)
    p = y[1000:].mean(0)
    assert t["all-positive"]["f1m"] == pytest.approx(100 * np.mean(2 * p / (1 + p)))
    assert t["all-negative"]["f1m"] == 0.0


def test_constant_regressors():
    from bench.core.seqmetrics import regression_metrics

    y_train = np.array([[0.0], [1.0], [5.0]])
    y_test = np.array([[1.0], [2.0]])
    t = quality.regression_trivial(y_train, y_test, regression_metrics)
    assert t["training mean"]["mae"] == pytest.approx((1 + 0) / 2)
    assert t["training median"]["mae"] == pytest.approx((0 + 1) / 2)


# ---- verdicts -----------------------------------------------------------------------------------
def _verdict(values, trivial, direction="max"):
    return quality.metric_quality("m", "searched", direction, values, [f"a{i}" for i in range(len(values))], trivial)


def test_verdict_rules():
    strong = _table(100, 3, 5.0, 0.5) + 50
    assert _verdict(strong, {"constant": 0.0}).verdict == "discriminates"
    # below a constant predictor: a control, however reliable the ranks
    q = _verdict(strong, {"constant": 1e6})
    assert q.verdict == "control" and "does not beat the constant predictor" in q.why
    # for a 'min' metric the margin is measured downwards
    assert _verdict(strong, {"constant": 1e6}, "min").verdict == "discriminates"
    assert _verdict(_table(400, 3, 0.0, 1.0), {"constant": -100.0}).verdict == "control"  # noise-dominated
    mid = _table(2000, 3, 1.0, 0.85, seed=1)  # ICC(1) about 0.58: weak alone, reliable as a 3-seed mean
    q = _verdict(mid, {"constant": -100.0})
    assert q.verdict == "weak" and q.verdict_mean == "discriminates", (q.icc1, q.icc_mean)
    saturated = np.vstack([np.full((20, 3), 100.0), _table(80, 3, 5.0, 0.3) + 50])
    q = _verdict(saturated, {"constant": 0.0})
    assert q.verdict == "weak" and "saturated" in q.why and q.n_tied_best == 20


# ---- the shipped report ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def report():
    return quality.compute_report()


def test_shipped_report_is_what_the_gate_computes(report):
    assert quality.report_path().read_text() == quality.report_json(report), \
        "tables/QUALITY.json is stale: run `mmnas-bench tables quality --write`"


def test_every_shipped_trained_table_has_a_verdict(report):
    from bench.families import FAMILIES
    from bench.paths import tables_dir

    shipped = {t.file for f in FAMILIES.values() if f.kind == "trained" for t in f.tables
               if (tables_dir() / t.file).exists()}
    assert {q.file for q in report} == shipped


def test_discriminating_tables_beat_the_trivial_predictors_recomputed_from_the_labels(report):
    """Independently of the gate's helpers: the constant predictors recomputed from each store's raw
    labels, and every table said to discriminate (either way) beats all of them by > 2 seed sd."""
    from bench.families import FAMILIES
    from bench.tablefile import read_dataset
    from bench.paths import tables_dir

    specs = {g.file: g for f in FAMILIES.values() for g in f.gate()}
    checked = 0
    for q in report:
        g = specs[q.file]
        _, metrics, _ = read_dataset(tables_dir() / q.file, g.dataset)
        own = _raw_trivial(g)
        for m in q.metrics:
            if m.metric not in own:
                continue
            # the gate's predictor values agree with the ones recomputed here
            for name, v in own[m.metric].items():
                assert m.trivial[name] == pytest.approx(v, abs=1e-6), (q.file, m.metric, name)
            if "discriminates" in (q.verdict, q.verdict_mean):
                values = metrics[m.metric].values
                means = np.nanmean(values, axis=1)
                sign = 1 if m.direction == "max" else -1
                best = np.max(sign * means)
                assert all(best - sign * v > 2 * m.seed_sd for v in own[m.metric].values()), (q.file, m.metric)
                checked += 1
    assert checked >= 10


def _raw_trivial(g) -> dict:
    """Constant predictors written out by hand from the stores' labels (no gate helper)."""
    if g.family == "tree-fusion":
        from bench.features.store import open as open_store

        st = open_store(g.dataset)
        ytr, yte = (st.labels[st.rows("holdout", p)] for p in ("train", "test"))
        return {"test_acc": {"majority": 100.0 * np.mean(yte == np.bincount(ytr).argmax())}}
    if g.family in ("mro", "rmnas"):
        from bench.features import sequence

        st = sequence.open(g.dataset.split("@r")[0])  # a training rate drops frames, not labels
        name = next(n for n in ("sentiment", "y", "traits") if n in st.label_names)
        lab = st.arrays[f"labels/{name}"]
        ytr, yte = (lab[st.rows("standard", p)].reshape(-1, 1 if lab.ndim == 1 else lab.shape[1]) for p in ("train", "test"))
        return {"test_mae": {"training mean": float(np.abs(yte[:, 0] - ytr[:, 0].mean()).mean()),
                             "training median": float(np.abs(yte[:, 0] - np.median(ytr[:, 0])).mean())}}
    if g.family == "hfmnas":
        from bench.families.hfmnas.data import load

        d = load(g.dataset)
        if d.y["train"].ndim == 2:  # all labels on: per-label F1 = 2 TP / (TP + N), macro over labels
            y = d.y["test"].astype(bool)
            f1 = 2 * y.sum(0) / (y.sum(0) + len(y))
            return {"test_f1m": {"all-positive": 100.0 * float(f1.mean())}}
        return {"test_acc": {"majority": 100.0 * np.mean(d.y["test"] == np.bincount(d.y["train"]).argmax())}}
    return {}


def test_each_trained_family_has_a_real_data_table_that_discriminates(report):
    """Single-seed where the table allows it, else as k-seed means (--eval-seeds k); which is which is
    pinned here so a change of verdict is seen."""
    single = {q.family for q in report if q.real_data and q.verdict == "discriminates"}
    mean = {q.family for q in report if q.real_data and q.verdict_mean == "discriminates"}
    assert mean == {"tree-fusion", "mro", "rmnas", "hfmnas"}
    assert single == {"tree-fusion", "rmnas"}


def test_rmnas_has_a_discriminating_table_trained_and_tested_with_missing_data(report):
    q = next(q for q in report if q.file == "rmnas_mosi_r05.h5")
    assert q.dataset == "mosi@r0.5" and q.verdict == "discriminates"


def test_pom_ml17_is_a_control_because_the_all_positive_predictor_wins(report):
    q = next(q for q in report if q.file == "hfmnas_pom_ml17.h5")
    assert q.verdict == q.verdict_mean == "control"
    test = next(m for m in q.metrics if m.metric == "test_f1m")
    assert test.best_trivial == "all-positive" and test.trivial["all-positive"] > test.best


# ---- what users see ------------------------------------------------------------------------------
def test_tables_quality_prints_every_verdict_and_checks_the_shipped_file(capsys):
    assert main(["tables", "quality", "--no-progress"]) == 0
    out = capsys.readouterr().out
    for entry in quality.shipped().values():
        assert f"{entry['table']} (tables/{entry['file']}" in out
    assert "matches this computation" in out


def test_tables_quality_fails_when_the_shipped_report_differs(tmp_path, monkeypatch, capsys):
    import shutil

    from bench import paths

    tables = tmp_path / "tables"
    shutil.copytree(paths.tables_dir(), tables)
    data = json.loads((tables / "QUALITY.json").read_text())
    next(e for e in data["tables"] if e["file"] == "hfmnas_pom_ml17.h5")["verdict"] = "discriminates"
    (tables / "QUALITY.json").write_text(json.dumps(data))
    monkeypatch.setenv("MMNAS_TABLES_DIR", str(tables))
    assert paths.tables_dir() == tables
    assert main(["tables", "quality", "--no-progress"]) == 1
    assert "differs from this computation" in capsys.readouterr().out


def test_info_and_status_print_the_verdicts(capsys):
    assert main(["info", "--bench", "hfmnas", "--dataset", "pom-ml17"]) == 0
    assert "quality gate: control" in capsys.readouterr().out
    assert main(["info", "--bench", "mro", "--dataset", "mosi"]) == 0
    assert "quality gate: weak; discriminates with --eval-seeds 3" in capsys.readouterr().out
    assert main(["tables", "status"]) == 0
    out = capsys.readouterr().out
    assert "Quality gate of the trained tables" in out
    for entry in quality.shipped().values():
        assert f"{entry['table']}" in out


def test_a_changed_table_makes_its_verdict_stale(tmp_path, monkeypatch):
    import shutil

    from bench import paths

    tables = tmp_path / "tables"
    tables.mkdir()
    shutil.copyfile(paths.tables_dir() / "QUALITY.json", tables / "QUALITY.json")
    shutil.copyfile(paths.tables_dir() / "mro_mosi.h5", tables / "mro_mosi.h5")
    monkeypatch.setenv("MMNAS_TABLES_DIR", str(tables))
    assert quality.verdict_of("mro_mosi.h5")["stale"] is False
    with open(tables / "mro_mosi.h5", "ab") as fh:
        fh.write(b"\0")
    assert quality.verdict_of("mro_mosi.h5")["stale"] is True
    assert "STALE" in quality.summary(quality.verdict_of("mro_mosi.h5"))


def test_outputs_on_weak_or_control_tables_say_so_in_their_first_line(tmp_path):
    from bench.repro.output import TableResult, write_outputs
    from bench.repro.spec import load_specs

    spec = load_specs()["hfmnas-fig3"]
    md, _ = write_outputs(spec, TableResult(tables_read=["hfmnas_pom_ml17.h5", "nb201.h5"]), tmp_path)
    first = md.read_text().splitlines()[0]
    assert first.startswith("> **Quality gate: `tables/hfmnas_pom_ml17.h5` is control") and "all-positive" in first
    md, _ = write_outputs(spec, TableResult(tables_read=["rmnas_mosi.h5"]), tmp_path)
    lines = md.read_text().splitlines()
    assert lines[0].startswith("# ") and any("`tables/rmnas_mosi.h5` discriminates" in ln for ln in lines[:8])


def test_committed_outputs_that_read_a_weak_or_control_table_warn_first(repo_root):
    """Every committed output that names a non-discriminating trained table in its gate line opens
    with the warning (the runner's reads decide, bench.repro.reproduce)."""
    out = repo_root / "paper_repro" / "out"
    bad = {e["file"] for e in quality.shipped().values() if e["verdict"] != "discriminates"}
    warned = 0
    for md in sorted(out.glob("*.md")):
        text = md.read_text()
        gate = next((ln for ln in text.splitlines() if ln.startswith("- quality gate of the trained tables read")), "")
        if any(f"`tables/{f}`" in gate for f in bad):
            assert text.startswith("> **Quality gate:"), md.name
            warned += 1
    assert warned >= 10


def test_a_runner_reads_are_recorded(tmp_path):
    import bench

    quality.reset_reads()
    o = bench.open("mro", dataset="mosi")
    o.query(o.space.decode("13"), "test_mae", seed=0)
    assert "mro_mosi.h5" in quality.reads_since_reset()
    from bench.families import get

    quality.reset_reads()
    get("hfmnas").table_view("landuse21").optimum("test_f1m")
    bench.open("nb201", "cifar10").query(0, "test_acc")  # fixed tables have no verdict and are not noted
    assert quality.reads_since_reset() == ["hfmnas_landuse21.h5"]


# ---- k-seed evaluations --------------------------------------------------------------------------
def test_eval_seeds_average_the_table_seeds_and_charge_each():
    import bench
    from bench.trained_run import TrainedRun

    o = bench.open("mro", dataset="mosi")
    arch = o.space.decode("13")
    one = TrainedRun(o, seed=1, budget_evals=5)
    three = TrainedRun(o, seed=1, budget_evals=5, eval_seeds=3)
    v1, v3 = one.evaluate(arch), three.evaluate(arch)
    assert v1 == o.query(arch, "val_mae", seed=1)
    assert v3 == pytest.approx(np.mean([o.query(arch, "val_mae", seed=s) for s in range(3)]))
    assert three.record.test_values[0] == pytest.approx(np.mean([o.query(arch, "test_mae", seed=s) for s in range(3)]))
    assert three.record.sim_seconds[0] == pytest.approx(sum(o.charged_seconds(o.key(arch, s)) for s in range(3)))
    assert three.record.settings["eval_seeds"] == 3 and "eval_seeds" not in one.record.settings
    for bad in (0, -1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="eval_seeds"):
            TrainedRun(o, seed=0, budget_evals=5, eval_seeds=bad)
    with pytest.raises(ValueError, match="the table holds 3 seeds"):
        TrainedRun(o, seed=0, budget_evals=5, eval_seeds=4)


def test_compare_eval_seeds_on_the_cli(tmp_path, capsys):
    assert main(["compare", "--bench", "mro", "--dataset", "mosi", "--algo", "rs", "--seeds", "2",
                 "--budget-seconds", "200", "--eval-seeds", "3", "--no-progress", "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "each evaluation the mean of 3 seeds" in out and "quality gate of tables/mro_mosi.h5: weak" in out
    assert main(["compare", "--bench", "nb201", "--eval-seeds", "3", "--seeds", "1"]) == 2
    assert "--eval-seeds does not apply to --bench nb201" in capsys.readouterr().err


def test_readme_quotes_the_shipped_verdicts(repo_root):
    text = (repo_root / "README.md").read_text()
    start = text.index("## Can a table rank search algorithms? The quality gate")
    block = text[text.index("```text\n", start) + 8:text.index("```", text.index("```text\n", start) + 8)]
    assert block.splitlines() == quality.format_verdicts(quality.shipped_report()).splitlines()[1:]


def test_a_dialogue_seed_no_better_than_a_constant_is_flagged():
    from bench.families.rmnas.paper import _failed_seeds_note

    note = _failed_seeds_note([67.0, 38.7, 68.2], ("always negative", 42.3))
    assert "FAILED SEED: seed 1" in note and "without it: 67.60 over 2 seeds" in note
    assert _failed_seeds_note([67.0, 66.0, 68.2], ("always negative", 42.3)) == ""


def test_rmnas_table6_flags_its_failed_seed(repo_root):
    text = (repo_root / "paper_repro" / "out" / "rmnas-table6.md").read_text()
    assert "FAILED SEED: seed 0 scores test WAF 38.73" in text


# ---- ranking two search algorithms: every verdict with its test, effect size and seed count ---------
def test_compare_prints_a_verdict_with_its_statistic(capsys):
    assert main(["compare", "--bench", "nb201", "--dataset", "cifar10", "--algo", "rs", "--algo", "rea",
                 "--seeds", "20", "--budget", "300", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "cifar10, final regret: rea better than rs: Mann-Whitney p = " in out and "20 vs 20 seeds" in out
    assert main(["compare", "--bench", "nb201", "--dataset", "cifar10", "--algo", "rs", "--algo", "rea",
                 "--seeds", "2", "--budget", "20", "--no-progress"]) == 0
    assert "rea vs rs: inconclusive at 2 seeds" in capsys.readouterr().out


def test_opening_a_weak_or_control_table_warns_once_and_a_discriminating_one_does_not(tmp_path):
    import warnings

    import bench
    from bench.core import quality

    quality._WARNED.clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bench.open("tree-fusion", "mfeat", overlay=tmp_path / "o.sqlite")
        assert not [w for w in caught if issubclass(w.category, quality.QualityWarning)]
        bench.open("tree-fusion", "aloi", overlay=tmp_path / "o.sqlite")
        bench.open("tree-fusion", "aloi", overlay=tmp_path / "o.sqlite")
    got = [w for w in caught if issubclass(w.category, quality.QualityWarning)]
    assert len(got) == 1 and "tree-fusion-aloi" in str(got[0].message) and "saturated" in str(got[0].message)
    assert got[0].filename == __file__  # points at the caller, not inside the package

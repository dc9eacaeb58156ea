"""compare searches validation accuracy by default, reports the incumbent's test value, and
run records carry the code version and the sha256 of every table they read."""

import json
from dataclasses import asdict

import pandas as pd
import pytest

import bench
from bench.cli import main
from bench.compare import Budget, compare, run_one
from bench.paths import tables_dir
from bench.report import load_records
from bench.run import Run, RunRecord
from bench.tablefile import file_sha256


def _manifest_sha(name: str) -> str:
    rows = [line.split("\t") for line in (tables_dir() / "MANIFEST").read_text().splitlines()[1:]]
    return {r[0]: r[1] for r in rows}[name]


def test_default_search_metric_is_validation_where_the_table_has_it_everywhere():
    assert bench.open("nb201", "cifar10").search_metric()[0] == "val_acc"
    metric, why = bench.open("nb201", "cifar100").search_metric()
    assert metric == "test_acc" and "has no val_acc" in why and "not held out" in why
    metric, why = bench.open("nb201", "ImageNet16-120").search_metric()
    assert metric == "test_acc" and "9,445 of 15,625" in why
    assert bench.open("transnas101-micro", "class_object").search_metric()[0] == "val_score"
    # the API's Run and run_one default to it too
    o = bench.open("nb201", "cifar10")
    assert Run(o, budget_evals=1).metric == "val_acc"
    rec = run_one(o, "rs", 0, Budget(20))
    assert rec.metric == "val_acc" and rec.target == o.optimum("val_acc").value


def test_compare_cli_says_what_it_searched_and_reports_test_beside_it(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["compare", "--dataset", "cifar10", "--dataset", "cifar100", "--dataset", "ImageNet16-120",
                 "--algo", "rea", "--seeds", "2", "--budget", "60", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "nb201/cifar10: searched val_acc" in printed
    assert "nb201/cifar100 has no val_acc: searched test_acc" in printed
    assert "nb201/ImageNet16-120 has val_acc for only 9,445 of 15,625 architectures: searched test_acc" in printed
    runs = pd.read_csv(out / "runs.csv")
    assert list(runs.metric) == ["val_acc"] * 2 + ["test_acc"] * 4 and (runs.test_metric == "test_acc").all()
    for r in runs.itertuples():
        o = bench.open("nb201", r.dataset)
        assert r.best_value == pytest.approx(o.query(r.best_arch, r.metric))
        assert r.best_test == pytest.approx(o.query(r.best_arch, "test_acc"))
    c10 = runs[runs.dataset == "cifar10"]
    assert (c10.best_test != c10.best_value).all()  # a held-out value, not the searched one
    summary = pd.read_csv(out / "summary.csv")
    assert {"best_test_mean", "best_test_std", "test_metric"} <= set(summary.columns)


def test_explicit_metric_is_searched_and_named(capsys):
    assert main(["compare", "--dataset", "cifar10", "--algo", "rs", "--seeds", "1", "--budget", "10",
                 "--metric", "test_acc", "--no-progress"]) == 0
    assert "nb201/cifar10: searched test_acc (--metric)" in capsys.readouterr().out


def test_transnas_runs_have_no_test_value_and_say_so(tmp_path):
    recs = compare("transnas101-micro", ["class_object"], ["rs"], [0], Budget(10), out_dir=tmp_path, progress=False)
    assert recs[0].metric == "val_score" and recs[0].test_metric is None and recs[0].test_values == []
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert runs.best_test.isna().all() and runs.test_metric.isna().all()


def test_records_carry_version_and_table_sha256(tmp_path):
    recs = compare("nb201", ["cifar10"], ["rs"], [0], Budget(10), out_dir=tmp_path, progress=False)
    sha = file_sha256(tables_dir() / "nb201.h5")
    assert sha == _manifest_sha("nb201.h5")
    saved = load_records(tmp_path)[0]
    assert saved.version == bench.__version__ and saved.tables == {"nb201.h5": sha} == recs[0].tables


def test_tree_fusion_records_carry_their_table_sha256():
    from bench.compare import run_trained
    from bench.families.tree_fusion import open_for_search

    rec = run_trained(open_for_search("scene15"), "rs", 0, budget_evals=5)
    assert rec.version == bench.__version__ and rec.test_metric == "test_acc"
    assert rec.tables == {"tree_fusion_scene15.h5": _manifest_sha("tree_fusion_scene15.h5")}


def test_records_saved_by_the_previous_version_still_load_and_replot(tmp_path, capsys):
    out = tmp_path / "old"
    compare("nb201", ["cifar10"], ["rs"], [0, 1], Budget(15), metric="test_acc", out_dir=out, progress=False)
    for p in (out / "records").glob("*.json"):
        d = json.loads(p.read_text())
        for new in ("test_metric", "version", "tables", "test_values", "params", "parents"):
            d.pop(new)  # the fields a record of the previous version lacks
        p.write_text(json.dumps(d))
    old = load_records(out)
    assert old[0].version == "" and old[0].tables == {} and old[0].test_metric is None
    assert asdict(old[0])["values"] and old[0].best_value == old[0].best_value
    assert main(["plot", str(out)]) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert runs.best_test.isna().all() and (runs.metric == "test_acc").all()


def test_a_record_from_a_newer_version_is_refused_by_name(tmp_path):
    p = tmp_path / "r.json"
    rec = RunRecord("nb201", "cifar10", "val_acc", "max", "rs", 0, 10, None, 90.0)
    p.write_text(json.dumps({**asdict(rec), "from_the_future": 1}))
    with pytest.raises(ValueError, match="from_the_future"):
        RunRecord.load(p)

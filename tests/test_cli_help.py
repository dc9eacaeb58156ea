"""Issue #29 items 6 and 8: what ``--help`` says, and ``compare`` on trained benchmarks.

Help: no reST markup, every argument documented, ``fill --bench`` offers trained benchmarks only,
every ``tables`` flag is taken by the actions its help names. Compare: ``--metric`` on trained
benchmarks (a validation metric; the matching test metric reported), a default
``--budget-seconds`` per family (stated in ``--help``), and one seed gives a warning, not p = 1.
Everything runs in-process on shipped tables, with ``tmp_path`` for outputs and overlays.
"""

from __future__ import annotations

import argparse
import json
import math
import re

import numpy as np
import pytest

from bench import registry
from bench.cli import _TABLE_FLAGS, _check_table_flags, build_parser, main
from bench.families import FAMILIES

TRAINED = [n for n in registry.benchmarks() if registry.info(n).kind == "trained"]
REST = re.compile(r"``|:[a-z]+:`")  # ``literal`` and :func:`role`


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _help(argv, capsys) -> str:
    assert main(argv + ["--help"]) == 0
    return capsys.readouterr().out


# ---- help --------------------------------------------------------------------------------------------
def test_no_rest_markup_in_any_help(capsys):
    top = _help([], capsys)
    assert "mmnas-bench: query tables" in top and not REST.search(top), top
    for name in _subparsers(build_parser()):
        text = _help([name], capsys)
        assert not REST.search(text), (name, REST.search(text).group(0))


def test_every_argument_of_every_command_has_help():
    parser = build_parser()
    missing = [f"mmnas-bench {' '.join(a.option_strings) or a.dest}" for a in parser._actions
               if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    for name, sp in _subparsers(parser).items():
        missing += [f"{name} {'/'.join(a.option_strings) or a.dest}" for a in sp._actions
                    if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert not missing, f"arguments without help: {missing}"


def test_fill_offers_and_takes_only_trained_benchmarks(capsys):
    fill = _subparsers(build_parser())["fill"]
    bench = next(a for a in fill._actions if "--bench" in a.option_strings)
    assert list(bench.choices) == TRAINED and bench.default == TRAINED[0]
    assert main(["fill", "--bench", "nb201", "--dataset", "cifar10"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nb201'" in err and all(f"'{n}'" in err for n in TRAINED)


def _named_actions(text: str) -> set[str]:
    """The tables actions a flag's help names: ``build/verify: ...; reproduce: ...``."""
    return {w for part in re.findall(r"((?:\w+/)*\w+):", text) for w in part.split("/") if w in _TABLE_FLAGS}


def test_every_tables_flag_is_taken_by_the_actions_its_help_names():
    tables = _subparsers(build_parser())["tables"]
    flags = [a for a in tables._actions if a.option_strings and not isinstance(a, argparse._HelpAction)]
    assert {a.option_strings[0] for a in flags} == set().union(*_TABLE_FLAGS.values())
    for a in flags:
        flag = a.option_strings[0]
        named = _named_actions(a.help)
        assert named == {x for x, fl in _TABLE_FLAGS.items() if flag in fl}, (flag, a.help, named)
        value = [] if a.nargs == 0 else ["3"]
        for action in _TABLE_FLAGS:
            args = build_parser().parse_args(["tables", action, flag, *value])
            if action in named:
                _check_table_flags(args)  # accepted
            else:
                with pytest.raises(Exception, match=f"tables {action} does not take {flag}"):
                    _check_table_flags(args)


def test_tables_build_no_progress_reaches_trained_builders(monkeypatch, tmp_path, capsys):
    from bench.builders import registry as builders
    from bench.core.family import Table

    calls = []
    monkeypatch.setattr(builders, "build", lambda name, out, source, **kw: calls.append((name, kw)) or out / "x.h5")
    assert main(["tables", "build", "nb201", "--out", str(tmp_path), "--no-progress"]) == 0
    assert calls == [("nb201", {"accept_new_reference": False, "progress": False})]
    monkeypatch.undo()
    # bench.builders.registry.build passes it on to trained builders only (the others take no such keyword)
    seen = {}
    fake = {"t": Table("t", "t.h5", lambda **kw: seen.setdefault("t", kw) and tmp_path, trained=True),
            "f": Table("f", "f.h5", lambda **kw: seen.setdefault("f", kw) and tmp_path)}
    monkeypatch.setattr(builders, "tables", lambda: fake)
    builders.build("t", progress=False)
    builders.build("f", progress=False)
    assert seen["t"]["progress"] is False and "progress" not in seen["f"]


# ---- compare --budget-seconds: a default per family -----------------------------------------------------
def test_every_trained_family_declares_its_default_budget_by_the_stated_rule():
    """50 x the median recorded train_seconds (seed means) of the default dataset's table, one significant digit."""
    for f in FAMILIES.values():
        if f.kind != "trained":
            assert f.default_budget_seconds is None, f.name
            continue
        view = f.table_view(registry.default_dataset(f.name))
        median = float(np.nanmedian(view.query_many(view.archs(), "train_seconds")))
        assert f.default_budget_seconds == float(f"{50 * median:.1g}"), (f.name, median)


def test_compare_help_states_each_familys_default_budget(capsys):
    text = " ".join(_help(["compare"], capsys).split())
    assert "50 x the median recorded train_seconds" in text
    for name in TRAINED:
        assert f"{name} {registry.info(name).default_budget_seconds:g}" in text, name
    assert "(default 30)" not in text


def test_compare_without_budget_seconds_spends_the_familys_default(monkeypatch, tmp_path, capsys):
    import bench.compare

    real, got = bench.compare.compare_trained, []

    def spy(bench_name, dataset, algos, seeds, budget_seconds, **kw):
        got.append(budget_seconds)
        return real(bench_name, dataset, algos, seeds, 1.0, **kw)  # the run itself kept short

    monkeypatch.setattr(bench.compare, "compare_trained", spy)
    argv = ["compare", "--bench", "tree-fusion", "--dataset", "scene15", "--max-leaves", "3", "--algo", "rs",
            "--seeds", "1", "--no-progress", "--out", str(tmp_path / "c")]
    assert main(argv) == 0
    assert got == [30] and "30 charged training seconds per run (the tree-fusion default" in capsys.readouterr().out
    assert main(argv[:-1] + [str(tmp_path / "d"), "--budget-seconds", "2"]) == 0
    out = capsys.readouterr().out
    assert got == [30, 2.0] and "2 charged training seconds per run\n" in out


# ---- compare --metric on trained benchmarks ----------------------------------------------------------------
def test_trained_compare_searches_the_validation_metric_given(tmp_path, capsys):
    out = tmp_path / "rm"
    assert main(["compare", "--bench", "rmnas", "--dataset", "pom", "--algo", "rs", "--seeds", "1",
                 "--budget-seconds", "20", "--metric", "val_auilc_mae", "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rmnas/pom: searched val_auilc_mae (--metric); test_auilc_mae of the incumbent reported" in printed
    rec = json.loads(next((out / "records").glob("*.json")).read_text())
    assert rec["metric"] == "val_auilc_mae" and rec["test_metric"] == "test_auilc_mae" and rec["direction"] == "min"
    view = registry.info("rmnas").table_view("pom")
    i = int(np.argmin(rec["values"]))  # the incumbent by AUILC, its test AUILC reported (seed 0 of the table)
    assert rec["test_values"][i] == view.query(rec["archs"][i], "test_auilc_mae", seed=0)
    assert rec["values"][i] == view.query(rec["archs"][i], "val_auilc_mae", seed=0)


def test_trained_compare_default_search_names_the_alternatives(tmp_path, capsys):
    assert main(["compare", "--bench", "rmnas", "--dataset", "pom", "--algo", "rs", "--seeds", "1",
                 "--budget-seconds", "10", "--no-progress"]) == 0
    assert ("rmnas/pom: searched val_mae (the family's search fitness; --metric may name val_auilc_mae); "
            "test_mae of the incumbent reported") in capsys.readouterr().out


@pytest.mark.parametrize("name, dataset, metric, why, valid", [
    ("tree-fusion", "scene15", "test_acc", "is a test metric (reported, never searched)", "'val_acc'"),
    ("tree-fusion", "scene15", "nosuch_metric", "is not a metric", "'val_acc'"),
    ("rmnas", "pom", "test_auilc_mae", "is a test metric", "'val_mae', 'val_auilc_mae'"),
    ("rmnas", "pom", "val_waf", "is not recorded for this dataset", "'val_mae', 'val_auilc_mae'"),
    ("rmnas", "pom", "params", "is not a validation metric", "'val_mae', 'val_auilc_mae'"),
])
def test_trained_compare_refuses_a_metric_it_cannot_search(name, dataset, metric, why, valid, monkeypatch, capsys):
    import bench.compare

    monkeypatch.setattr(bench.compare, "compare_trained", lambda *a, **k: pytest.fail("ran before the check"))
    rc = main(["compare", "--bench", name, "--dataset", dataset, "--metric", metric, "--seeds", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and f"--metric {metric!r} {why}" in err and f"valid choices for {name}/{dataset}: {valid}" in err


def test_the_api_refuses_a_test_metric_before_any_run(tmp_path):
    from bench.compare import compare_trained
    from bench.errors import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="'test_acc' is a test metric"):
        compare_trained("tree-fusion", "scene15", ["rs"], [0], 1.0, metric="test_acc", overlay=tmp_path / "o.sqlite",
                        progress=False)


# ---- one seed: a warning, not p = 1 --------------------------------------------------------------------------
WARNING = "1 seed: no test can separate algorithms; use --seeds >= 5"


@pytest.mark.parametrize("paired", [False, True])
def test_one_seed_is_not_tested(paired):
    from bench.stats import compare, compare_text

    c = compare([70.0], [50.0], paired=paired)
    assert c.too_few and math.isnan(c.p) and math.isnan(c.effect) and c.verdict == "inconclusive" and c.diff == 20.0
    text = compare_text("A", [70.0], "B", [50.0], paired=paired)
    assert text.startswith(f"A vs B: {WARNING} (no ") and "p = " not in text and "+20.00" in text
    assert compare_text("A", [70.0], "B", [50.0], unit="runs").startswith("A vs B: 1 run: no test can separate")
    assert not compare([70.0, 71.0], [50.0, 51.0], paired=paired).too_few


def test_compare_with_one_seed_prints_the_warning_not_p_1(tmp_path, capsys):
    assert main(["compare", "--bench", "nb201", "--algo", "rs", "--algo", "rea", "--seeds", "1", "--budget", "20",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert WARNING in out and "p = 1" not in out
    assert main(["compare", "--bench", "tree-fusion", "--dataset", "scene15", "--algo", "rs", "--algo", "rea",
                 "--seeds", "1", "--budget-seconds", "1", "--no-progress", "--out", str(tmp_path / "t")]) == 0
    out = capsys.readouterr().out
    assert f"rea vs rs: {WARNING}" in out and "p = 1" not in out


def test_readme_states_the_trained_metric_the_default_budgets_and_the_one_seed_warning(repo_root):
    text = " ".join((repo_root / "README.md").read_text().split())
    assert "`--bench rmnas --metric val_auilc_mae` searches AUILC and reports `test_auilc_mae`" in text
    assert "50 x the median recorded `train_seconds` of its default dataset's table" in text
    for name in TRAINED:
        assert f"{name} {registry.info(name).default_budget_seconds:g}" in text, name
    assert f"the verdict reads `{WARNING}`" in text

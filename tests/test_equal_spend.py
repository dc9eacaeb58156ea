"""Equal-cost comparisons state what they spent (issue #29 item 3): the summary gives each algorithm's
charged seconds used of the budget and how its runs stopped, warns where the spends are unequal,
``--algo-setting`` sets an algorithm's settings (checked, recorded), and anytime curves end where the
runs stopped instead of running flat to the end. No test here trains: tree-fusion on scene15 with
``--max-leaves 3`` is answered by its shipped table (CSG-NAS without inheritance fine-tunes nothing)."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

import bench.compare
from bench.cli import main
from bench.run import RunRecord, how_stopped

SCENE = ["compare", "--bench", "tree-fusion", "--dataset", "scene15", "--max-leaves", "3", "--no-progress"]


@pytest.fixture
def own_overlays(tmp_path, monkeypatch):
    """Every default overlay of the test in a folder of its own; after it, none gained a record
    (nothing was trained)."""
    folder = tmp_path / "overlays"
    monkeypatch.setenv("MMNAS_OVERLAY_DIR", str(folder))
    yield folder
    assert list(folder.glob("*.sqlite"))  # the runs read (and would have trained into) this folder's overlay
    for db in folder.glob("*.sqlite"):
        assert sqlite3.connect(db).execute("SELECT count(*) FROM records").fetchone() == (0,), db


def test_unequal_spend_is_reported_and_warned(tmp_path, own_overlays, capsys):
    out = tmp_path / "c"
    assert main(SCENE + ["--algo", "csgnas", "--algo", "rs", "--seeds", "2", "--budget-seconds", "1000",
                         "--algo-setting", "csgnas.inherit=none", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = pd.read_csv(out / "summary.csv").set_index("algo")
    cs, rs = summary.loc["csgnas"], summary.loc["rs"]
    assert cs["budget_seconds"] == rs["budget_seconds"] == 1000
    assert cs["stopped_own_schedule"] == 2 and cs["stopped_at_budget"] == 0  # its schedule ended long before
    assert rs["stopped"] == "after every architecture of its space (2 of 2 runs)"  # 93 trees, all of them
    assert cs["used_share"] == pytest.approx(cs["charged_seconds_mean"] / 1000) and cs["used_share"] < 0.05
    used = f"used {cs['charged_seconds_mean']:.1f} of 1000 s ({cs['used_share']:.0%})"
    assert f"  csgnas: {used}; stopped at the end of its own schedule (2 of 2 runs)" in printed
    assert (f"unequal spend: csgnas used {cs['charged_seconds_mean']:.1f} s, rs {rs['charged_seconds_mean']:.1f} s of "
            "1000 s: its schedule ended first; set its settings (--algo-setting) to spend the budget, or compare at "
            "equal evaluations") in printed
    assert "unequal spend: rs" not in printed
    runs = pd.read_csv(out / "runs.csv")
    assert set(runs["stop_reason"]) == {"algorithm_stopped", "space_exhausted"}
    # `plot` re-reads the records and says the same
    assert main(["plot", str(out)]) == 0
    assert "unequal spend: csgnas used" in capsys.readouterr().out


def test_equal_spend_is_not_warned(tmp_path, own_overlays, capsys):
    assert main(SCENE + ["--algo", "rs", "--algo", "rea", "--seeds", "1", "--budget-seconds", "5",
                         "--out", str(tmp_path / "c")]) == 0
    printed = capsys.readouterr().out
    assert "unequal spend" not in printed and "stopped at the cap (1 of 1 runs)" in printed


def test_algo_setting_changes_the_run_and_is_recorded(tmp_path, own_overlays, capsys):
    evals = {}
    for pop in (10, 4):
        out = tmp_path / f"p{pop}"
        assert main(SCENE + ["--algo", "csgnas", "--seeds", "1", "--budget-seconds", "1000", "--algo-setting",
                             "csgnas.inherit=none", "--algo-setting", f"csgnas.population={pop}", "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        assert f"csgnas: settings given (--algo-setting): inherit=none, population={pop}" in printed
        rec = json.loads(next((out / "records").glob("*.json")).read_text())
        assert rec["settings"]["algo_setting"] == {"inherit": "none", "population": pop}
        assert rec["settings"]["population"] == pop  # what CSG-NAS ran with
        assert rec["settings"]["generations_expand"] is None  # the rest stays the equal-cost default
        assert pd.read_csv(out / "summary.csv")["settings"].tolist() == [f"inherit=none, population={pop}"]
        evals[pop] = len(rec["archs"])
    assert evals[4] < evals[10]


@pytest.mark.parametrize("setting, named", [
    ("edf.population=3", "'edf' is not compared here; algorithms: 'csgnas', 'rs'"),
    ("rs.population=3", "'rs' takes no settings"),
    ("csgnas.bogus=1", "has no setting 'bogus'; valid: population (int), generations_core (int)"),
    ("csgnas.population=abc", "csgnas.population=abc: expected int, got 'abc'"),
    ("csgnas.population=2.5", "expected int, got '2.5'"),
    ("csgnas.population=0", "must be >= 1"),
    ("csgnas.use_core=maybe", "expected bool, got 'maybe'"),
    ("csgnas.crossover_rate=nan", "expected float, got 'nan'"),
    ("csgnas.core_selection=odd", "core_selection must be 'top' or 'random'"),
    ("csgnas.selection_seed=-1", "selection_seed must be a whole number"),
    ("csgnas-population=3", "expected ALGO.KEY=VALUE"),
])
def test_bad_algo_settings_exit_2_before_any_run(setting, named, monkeypatch, capsys):
    def refuse(*a, **k):
        raise AssertionError("ran")

    monkeypatch.setattr(bench.compare, "compare_trained", refuse)
    assert main(SCENE + ["--algo", "csgnas", "--algo", "rs", "--seeds", "1", "--algo-setting", setting]) == 2
    err = capsys.readouterr().err
    assert named in err and "--algo-setting" in err and len(err.strip().splitlines()) == 1


def test_algo_setting_is_for_trained_benchmarks(capsys):
    assert main(["compare", "--bench", "nb201", "--algo", "rea", "--seeds", "1", "--no-progress",
                 "--algo-setting", "rea.population_size=3"]) == 2
    assert "--algo-setting does not apply to --bench nb201" in capsys.readouterr().err


def test_the_api_reads_typed_and_text_settings():
    settings, given = bench.compare.resolve_settings("tree-fusion", ["edf", "rea"], {"edf": {"generations": "4"},
                                                                                     "rea": {"population_size": 20}})
    assert settings["edf"].generations == 4 and given["edf"] == {"generations": 4}
    assert settings["rea"].population_size == 20 and settings["rea"].sample_size == 5
    with pytest.raises(bench.compare.InvalidArgumentError, match="expected int, got 2.5"):
        bench.compare.resolve_settings("tree-fusion", ["edf"], {"edf": {"population": 2.5}})
    # no settings given: the family's equal-cost settings, as before
    assert bench.compare.resolve_settings("tree-fusion", ["edf"], None)[0]["edf"].generations is None


def _record(stops_at: list[float], value: float = 50.0, budget: float | None = 20.0) -> RunRecord:
    r = RunRecord("tree-fusion", "d", "val_acc", "max", "a", 0, None, budget, None, {})
    r.sim_seconds = list(stops_at)
    r.values = [value + i for i in range(len(stops_at))]
    r.test_values = list(r.values)
    r.archs = [f"x{i}" for i in range(len(stops_at))]
    return r


def test_anytime_curves_end_where_the_runs_stopped():
    from bench.trained_report import anytime_curve, anytime_matrix

    grid = np.array([1.0, 2.0, 4.0, 5.0, 6.0, 10.0, 20.0])
    early, early2, late = _record([1.0, 4.0]), _record([2.0, 5.0], 60.0), _record([1.0, 20.0], 70.0)
    m = anytime_matrix([early, early2, late], grid)
    assert np.isnan(m[0, 3:]).all() and m[0, 2] == 51.0  # not held flat past its last evaluation (4 s)
    assert np.isnan(m[1, 0]) and m[1, 3] == 61.0 and np.isnan(m[1, 4:]).all()
    assert m[2, -1] == 71.0
    c = anytime_curve([early, early2, late], grid)
    assert c.running.tolist() == [3, 3, 3, 2, 1, 1, 1]
    assert c.end == 3  # at 6 s one run of three is left: the curve stops at 5 s
    assert c.mean[2] == pytest.approx((51.0 + 60.0 + 70.0) / 3)
    assert c.mean[3] == pytest.approx((61.0 + 70.0) / 2)  # the mean over the runs still running
    assert np.isnan(c.mean[4:]).all() and np.isnan(c.std[4:]).all()
    assert c.used == pytest.approx((4.0 + 5.0 + 20.0) / 3) and c.budget == 20.0
    # runs that all spend the budget are drawn to the end
    full = anytime_curve([_record([1.0, 20.0]), _record([2.0, 20.0])], grid)
    assert full.end == len(grid) - 1 and np.isfinite(full.mean[-1])


def test_the_plot_legend_names_the_seconds_used(tmp_path, own_overlays):
    import matplotlib.pyplot as plt

    from bench.report import load_records
    from bench.trained_report import anytime_figure

    out = tmp_path / "c"
    assert main(SCENE + ["--algo", "csgnas", "--algo", "rs", "--seeds", "1", "--budget-seconds", "1000",
                         "--algo-setting", "csgnas.inherit=none", "--out", str(out)]) == 0
    records = load_records(out)
    fig = anytime_figure(records)
    try:
        (ax,) = fig.axes
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        used = {r.algo: r.sim_seconds[-1] for r in records}
        assert labels == [f"CSG-NAS (1 seeds, used {used['csgnas']:.1f} of 1000 s)",
                          f"Random search (1 seeds, used {used['rs']:.1f} of 1000 s)"]
        curve = next(line for line in ax.get_lines() if line.get_label().startswith("CSG-NAS"))
        x = np.asarray(curve.get_xdata())[np.isfinite(np.asarray(curve.get_ydata(), float))]
        assert x.max() <= used["csgnas"] < ax.get_xlim()[1]  # it ends where the run stopped, not at the axis end
    finally:
        plt.close(fig)


def test_how_stopped_is_the_words_of_the_paper_runner():
    assert how_stopped(["budget_seconds", "algorithm_stopped", "budget_seconds"]) == (
        "at the cap (2 of 3 runs); at the end of its own schedule (1 of 3 runs)")

import subprocess
import sys

import pandas as pd

from bench.cli import main
from bench.report import RUNS_COLUMNS, load_records


def test_compare_writes_runs_summary_plot_and_records(tmp_path, capsys):
    out = tmp_path / "cmp"
    rc = main(["compare", "--bench", "nb201", "--dataset", "cifar10", "--dataset", "cifar100", "--algo", "rs",
               "--algo", "rea", "--seeds", "3", "--budget", "100", "--out", str(out), "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "evals to optimum" in printed and "rea" in printed
    runs = pd.read_csv(out / "runs.csv")
    assert list(runs.columns) == RUNS_COLUMNS
    assert len(runs) == 2 * 2 * 3 and (runs["evals"] == 100).all()
    summary = pd.read_csv(out / "summary.csv")
    assert {"best_mean", "best_std", "regret_mean", "evals_to_optimum_mean", "wall_seconds_mean"} <= set(summary.columns)
    assert (out / "anytime.png").stat().st_size > 10_000
    assert len(load_records(out)) == 12
    assert main(["plot", str(out)]) == 0


def test_budget_all_reaches_the_optimum(tmp_path):
    out = tmp_path / "cmp"
    assert main(["compare", "--dataset", "cifar100", "--algo", "rea", "--seeds", "2", "--budget", "all",
                 "--out", str(out), "--no-progress"]) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert runs["evals_to_optimum"].notna().all()
    assert (runs["best_value"] == runs["best_value"].max()).all()


def test_bad_input_exits_2_with_a_named_error(capsys):
    assert main(["compare", "--algo", "bogus", "--seeds", "1", "--no-progress"]) == 2
    assert "unknown algorithm 'bogus'" in capsys.readouterr().err
    assert main(["compare", "--dataset", "mnist", "--seeds", "1", "--no-progress"]) == 2
    assert "unknown dataset 'mnist'" in capsys.readouterr().err
    assert main(["query", "|bad|", "--dataset", "cifar10"]) == 2
    assert main(["compare", "--budget", "many", "--seeds", "1", "--no-progress"]) == 2


def test_console_script_entry_point_runs():
    r = subprocess.run([sys.executable, "-m", "bench", "query", "0", "--dataset", "cifar10", "--metric", "test_acc"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("test_acc = 10.0")

"""Multi-task comparisons from the command line and ``bench.compare.compare_multitask``."""

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.algorithms.regularized_evolution import regularized_evolution
from bench.cli import main
from bench.compare import Budget, compare_multitask, seed_rng
from bench.families.cells.ktnas import ktnas, preset
from bench.multitask import MultiTaskRecord, MultiTaskRun
from bench.registry import open as open_benchmark
from bench.report import MULTITASK_RUNS_COLUMNS
from bench.run import Run

DATASETS = ["cifar10", "cifar100", "ImageNet16-120"]
#: each dataset's default search metric (KTNAS Table II searches ImageNet16-120 on its partial val_acc instead)
METRICS = {"cifar10": "val_acc", "cifar100": "test_acc", "ImageNet16-120": "test_acc"}
SEEDS = 2


@pytest.fixture(scope="module")
def cli_folder(tmp_path_factory):
    """The issue's command with two seeds."""
    out = tmp_path_factory.mktemp("mt") / "cmp"
    argv = ["compare", "--bench", "nb201", *(x for d in DATASETS for x in ("--dataset", d)), "--algo", "ktnas",
            "--algo", "rea", "--seeds", str(SEEDS), "--budget", "all", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    return out


def _python_ktnas(seed: int) -> MultiTaskRecord:
    """KTNAS through the Python API, seeded as the KTNAS paper runners seed it."""
    m = MultiTaskRun.open("nb201", METRICS, algo="ktnas", seed=seed, until_optimum=True)
    ktnas(m, seed_rng(seed, "ktnas", *DATASETS), preset("ktnas"))
    return m.finish()


def _python_rea(seed: int) -> dict[str, Run]:
    """REA on each task alone, one stream per task spawned from the multi-task seed."""
    streams = seed_rng(seed, "rea", *DATASETS).spawn(len(DATASETS))
    out = {}
    for ds, rng in zip(DATASETS, streams):
        o = open_benchmark("nb201", ds, on_missing="nan")
        run = Run(o, METRICS[ds], algo="rea", seed=seed, stop_at_target=True, target=o.optimum(METRICS[ds]).value)
        regularized_evolution(run, rng)
        out[ds] = run.finish()
    return out


def test_cli_gives_the_python_apis_numbers(cli_folder, capsys):
    runs = pd.read_csv(cli_folder / "runs.csv")
    assert list(runs.columns) == MULTITASK_RUNS_COLUMNS
    assert len(runs) == 2 * SEEDS * (len(DATASETS) + 1)  # a total row per (algo, seed)
    for seed in range(SEEDS):
        expected = {("ktnas", ds): r for ds, r in zip(DATASETS, _python_ktnas(seed).records)}
        expected |= {("rea", ds): r for ds, r in _python_rea(seed).items()}
        for algo in ("ktnas", "rea"):
            mine = runs[(runs.algo == algo) & (runs.seed == seed)].set_index("dataset")
            for ds in DATASETS:
                r = expected[(algo, ds)]
                assert mine.loc[ds, "metric"] == METRICS[ds]
                assert mine.loc[ds, "evals_to_optimum"] == r.evals_to(r.target) == len(r.values)
                assert mine.loc[ds, "best_arch"] == r.best_arch
            assert mine.loc["total", "evals_to_optimum"] == sum(mine.loc[DATASETS, "evals_to_optimum"])
    assert set(runs.loc[runs.algo == "ktnas", "search"]) == {"together"}
    assert set(runs.loc[runs.algo == "rea", "search"]) == {"independent"}


def test_cli_matches_the_ktnas_paper_runner(cli_folder):
    """The table runner of KTNAS Table II and the CLI make the same runs."""
    from bench.families.cells.paper_ktnas import _multitask_records

    for algo in ("ktnas", "rea"):
        for paper in _multitask_records(algo, DATASETS, SEEDS, progress=False, metrics=METRICS):
            saved = MultiTaskRecord.load(cli_folder / "records" / f"{algo}__seed{paper.seed}.json")
            assert saved.tasks == paper.tasks
            assert [r.archs for r in saved.records] == [r.archs for r in paper.records]


def test_summary_has_median_and_iqr_per_task_and_in_total(cli_folder):
    runs = pd.read_csv(cli_folder / "runs.csv")
    summary = pd.read_csv(cli_folder / "summary.csv")
    assert list(summary.dataset[summary.algo == "ktnas"]) == [*DATASETS, "total"]
    for row in summary.itertuples():
        v = runs[(runs.algo == row.algo) & (runs.dataset == row.dataset)]["evals_to_optimum"].to_numpy(float)
        q25, med, q75 = np.percentile(v, [25, 50, 75])
        assert (row.evals_to_optimum_mean, row.evals_to_optimum_median, row.evals_to_optimum_iqr) == \
            pytest.approx((v.mean(), med, q75 - q25))
        assert row.reached == f"{SEEDS}/{SEEDS}"


def test_same_seed_same_records_and_records_round_trip(cli_folder, tmp_path):
    again = compare_multitask("nb201", DATASETS, ["ktnas", "rea"], [1], Budget(None, True), progress=False)
    for rec in again:
        saved = MultiTaskRecord.load(cli_folder / "records" / f"{rec.algo}__seed1.json")
        a, b = dataclasses.asdict(rec), dataclasses.asdict(saved)
        for d in (a, b):  # measured time differs between runs; everything else must not
            for r in d["records"]:
                r.pop("wall_seconds")
        assert a == json.loads(json.dumps(b))
        rec.save(tmp_path / "r.json")
        assert dataclasses.asdict(MultiTaskRecord.load(tmp_path / "r.json")) == dataclasses.asdict(rec)


def test_plot_replots_a_multitask_folder(cli_folder, capsys, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(cli_folder, folder)
    before = {n: (folder / n).read_bytes() for n in ("runs.csv", "summary.csv")}
    (folder / "anytime.png").unlink()
    capsys.readouterr()
    assert main(["plot", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert f"re-plotted {2 * SEEDS} runs" in printed and "total" in printed
    assert {n: (folder / n).read_bytes() for n in before} == before
    assert (folder / "anytime.png").stat().st_size > 10_000
    # a single-task record among multi-task ones is refused, and the folder is left as it was
    single = tmp_path / "single"
    assert main(["compare", "--dataset", "cifar10", "--algo", "rs", "--seeds", "1", "--budget", "5",
                 "--out", str(single), "--no-progress"]) == 0
    shutil.copy(next((single / "records").glob("*.json")), folder / "records")
    capsys.readouterr()
    assert main(["plot", str(folder)]) == 2 and "mixes multi-task records" in capsys.readouterr().err
    assert main(["plot", str(single)]) == 0  # the single-task path is unchanged


def test_fixed_budget_and_explicit_multitask_flag(tmp_path, capsys):
    out = tmp_path / "fixed"
    assert main(["compare", "--bench", "transnas101-micro", "--dataset", "class_object", "--dataset", "room_layout",
                 "--algo", "rs", "--multitask", "--seeds", "2", "--budget", "30", "--out", str(out),
                 "--no-progress"]) == 0
    runs = pd.read_csv(out / "runs.csv")
    assert (runs.loc[runs.dataset != "total", "evals"] == 30).all() and (runs.loc[runs.dataset == "total", "evals"] == 60).all()
    assert "searched val_score" in capsys.readouterr().out
    # --multitask with a single-task algorithm is its Python form with independent search
    again = compare_multitask("transnas101-micro", ["class_object", "room_layout"], ["rs"], [1], Budget(30),
                              progress=False)[0]
    assert runs[(runs.seed == 1) & (runs.dataset == "room_layout")]["best_arch"].item() == again.record("room_layout").best_arch
    # a user's single-task algorithm (module:function) runs on each task alone, beside KTNAS
    mine = "bench.algorithms.random_search:random_search"
    recs = compare_multitask("transnas101-micro", ["class_object", "room_layout"], [mine, "ktnas"], [0], Budget(20),
                             progress=False)
    assert [r.settings["search"] for r in recs] == ["independent", "together"]
    assert all(len(t.values) == 20 for r in recs for t in r.records)
    with pytest.raises(ValueError, match="compare_multitask"):
        from bench.compare import compare

        compare("nb201", ["cifar10"], ["ktnas"], [0], Budget(10), progress=False)


def test_multitask_algorithms_come_from_the_family_entry(capsys):
    from bench.algorithms import multitask
    from bench.families import get

    assert set(get("nb201").multitask_algorithms()) == {"ktnas", "ktnas-random", "emt-nas", "mtnas"}
    assert set(get("transnas101-micro").multitask_algorithms()) == set(get("nb201").multitask_algorithms())
    assert dict(get("tree-fusion").multitask_algorithms()) == {}
    # generic code names no family: it finds them through the family entry
    for mod in (multitask, __import__("bench.compare", fromlist=["x"]), __import__("bench.report", fromlist=["x"])):
        assert "families.cells" not in Path(mod.__file__).read_text(), mod.__file__
    assert main(["info", "--bench", "nb201"]) == 0
    assert "multi-task algorithms: ktnas, ktnas-random, emt-nas, mtnas" in capsys.readouterr().out


@pytest.mark.slow  # the committed table has 100 seeds
def test_reproduces_the_committed_ktnas_table2_rows(repo_root):
    """compare_multitask with KTNAS Table II's metrics gives the committed means."""
    from bench.families.cells.paper_ktnas import _nb201_metric

    table = pd.read_csv(repo_root / "paper_repro" / "out" / "ktnas-table2.csv")
    columns = {"C-10": "cifar10", "C-100": "cifar100", "ImageNet": "ImageNet16-120"}
    for name, algo in (("KTNAS", "ktnas"), ("REA", "rea")):
        rows = table[table.row == name].set_index("column")
        seeds = int(rows["ours_n"].iloc[0])
        recs = compare_multitask("nb201", DATASETS, [algo], range(seeds), Budget(None, True), metric=_nb201_metric,
                                 progress=False)
        for col, ds in columns.items():
            mean = np.mean([r.evals_to_targets()[ds] for r in recs])
            assert round(mean, 1) == pytest.approx(rows.loc[col, "ours_mean"], abs=0.051), (name, col)
        assert np.mean([sum(r.evals_to_targets().values()) for r in recs]) == pytest.approx(rows.loc["Total", "ours_mean"], abs=0.051)

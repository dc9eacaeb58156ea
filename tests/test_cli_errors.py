"""Every bad command line exits with status 2 and a message naming the bad value; no traceback.

The table below is driven through ``bench.cli.main`` in-process for every registered
benchmark, and a few cases through the installed ``mmnas-bench`` script.
"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bench import registry
from bench.cli import main

BENCHMARKS = registry.benchmarks()

#: an architecture each benchmark has in its table, and one tabular/fusion-specific detail
VALID_ARCH = {"nb201": "0", "transnas101-micro": "0", "tree-fusion": "add(v1,v2)", "mro": "100010",
              "rmnas": "audio=att.att|video=att.att|F=sum|lst=1",
              "hfmnas": "L(tl,il):n1=sum(skip@0,skip@1);keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp"}


def _bad_vectors(bench: str, a_file: str):
    """(argv, text the error must contain) for one benchmark; {FILE} is an existing plain file."""
    trained = registry.info(bench).kind == "trained"
    fusion = bench == "tree-fusion"  # its own options (--protocol, --max-leaves) get their own cases
    ds = registry.default_dataset(bench)
    arch = VALID_ARCH[bench]
    c = ["compare", "--bench", bench, "--no-progress"]
    q = ["query", arch, "--bench", bench]
    f = ["fill", "--bench", bench, "--dataset", ds, "--no-progress"]
    out = [
        (c + ["--seeds", "0"], "--seeds"), (c + ["--seeds", "0"], "'0'"),
        (c + ["--seeds", "-3"], "'-3'"), (c + ["--seeds", "ten"], "'ten'"),
        (c + ["--dataset", "nosuch-ds"], "'nosuch-ds'"),
        (c + ["--algo", "nosuch-algo", "--seeds", "1"], "'nosuch-algo'"),
        (c + ["--budget-seconds", "0"], "'0'"), (c + ["--budget-seconds", "nan"], "'nan'"),
        (c + ["--budget-seconds", "inf"], "'inf'"), (c + ["--budget-seconds", "-2"], "'-2'"),
        (c + ["--max-leaves", "0"], "'0'"),
        (c + ["--metric", ""], "--metric"),
        (c + ["--out", a_file, "--seeds", "1"], a_file),
        (q + ["--dataset", "nosuch-ds"], "'nosuch-ds'"),
        (q + ["--metric", "nosuch-metric"], "'nosuch-metric'"),
        (q + ["--metric", ""], "--metric"),
        (q + ["--seed", "-1"], "'-1'"),
        (["query", "nosuch-arch", "--bench", bench], "'nosuch-arch'"),
        (["info", "--bench", bench, "--dataset", "nosuch-ds"], "'nosuch-ds'"),
    ]
    if trained:  # fill --bench offers trained benchmarks only (a fixed table's is refused below)
        ds2 = registry.datasets(bench)[1]
        out += [
            (f + ["--seeds", "0"], "'0'"), (f + ["--workers", "0"], "'0'"), (f + ["--batch", "0"], "'0'"),
            (f + ["--epochs", "0"], "'0'"), (f + ["--max-leaves", "0"], "'0'"), (f + ["--device", "tpu"], "'tpu'"),
            (c + ["--budget", "100"], "--budget"), (c + ["--metric", "test_acc"], "--metric"),
            (c + ["--dataset", ds, "--dataset", ds2], ds2),
            (q + ["--seed", "99"], "seed 99"),  # not in the table, and training was not asked for
            (["query", "7", "--bench", bench], "'7'"),
            (f + ["--ray-address", "auto"], "--ray-address"),
        ]
    if fusion:
        out += [
            (c + ["--protocol", "nosuch-protocol", "--seeds", "1"], "'nosuch-protocol'"),
            (f + ["--max-leaves", "99"], "--max-leaves 99"),
        ]
    if not trained:
        out += [
            (c + ["--budget", "0"], "'0'"), (c + ["--budget", "-5"], "'-5'"), (c + ["--budget", "nan"], "'nan'"),
            (c + ["--budget", "inf"], "'inf'"), (c + ["--budget", "many"], "'many'"),
            (c + ["--metric", "nosuch-metric", "--seeds", "1"], "'nosuch-metric'"),
            (c + ["--budget-seconds", "5", "--seeds", "1"], "--budget-seconds"),
            (c + ["--protocol", "low-data", "--seeds", "1"], "--protocol"),
            (q + ["--seed", "99"], "99"),
            (q + ["--train"], "--train"),
            (["query", "99999999", "--bench", bench], "99999999"),
            (["query", "-1", "--bench", bench], "-1"),
            (["fill", "--bench", bench, "--dataset", ds], f"'{bench}'"),
            (f + ["--seeds", "0"], "invalid choice: '" + bench),
        ]
    return out + _multitask_vectors(bench, c, a_file)


def _multitask_vectors(bench: str, c: list[str], a_file: str):
    """Multi-task comparisons: a family's multi-task algorithms need two or more distinct datasets;
    another family's, or --multitask on a trained benchmark, are refused by name."""
    from bench.families import FAMILIES

    family = FAMILIES[bench]
    mine = list(family.multitask_algorithms())
    if not mine:
        other = next(n for f in FAMILIES.values() for n in f.multitask_algorithms())
        out = [(c + ["--algo", other, "--seeds", "1"], f"'{other}'"), (c + ["--algo", other, "--seeds", "1"], "has none")]
        if family.kind == "trained":
            out.append((c + ["--multitask", "--seeds", "1"], "--multitask"))
        return out
    ds, ds2 = registry.datasets(bench)[:2]
    mt = c + ["--algo", mine[0], "--seeds", "1"]
    return [
        (mt + ["--dataset", ds], f"--algo {mine[0]}"), (mt + ["--dataset", ds], "two or more --dataset"),
        (mt, "two or more --dataset"),  # the default is one dataset
        (mt + ["--dataset", ds, "--dataset", ds], f"--dataset '{ds}'"),
        (mt + ["--dataset", ds, "--dataset", ds2, "--algo", "nosuch-algo"], "'nosuch-algo'"),
        (mt + ["--dataset", ds, "--dataset", ds2, "--algo", "nosuch-algo"], f"'{mine[-1]}'"),  # in the valid choices
        (c + ["--multitask", "--seeds", "1", "--dataset", ds, "--dataset", ds2, "--algo", "nosuch-algo"], "'nosuch-algo'"),
        (mt + ["--dataset", ds, "--dataset", ds2, "--metric", "nosuch-metric"], "'nosuch-metric'"),
        (mt + ["--dataset", ds, "--dataset", ds2, "--budget-seconds", "5"], "--budget-seconds"),
        (mt + ["--dataset", ds, "--dataset", "nosuch-ds"], "'nosuch-ds'"),
        (mt + ["--dataset", ds, "--dataset", ds2, "--out", a_file], a_file),
    ]


def _cases():
    for b in BENCHMARKS:
        for k, (argv, expect) in enumerate(_bad_vectors(b, "{FILE}")):
            yield pytest.param(b, k, id=f"{b}-{k}-{'_'.join(argv[:1] + argv[3:5])}")


COMMON = [
    (["nosuch-command"], "'nosuch-command'"),
    (["compare", "--bench", "nosuch-bench"], "'nosuch-bench'"),
    (["info", "--dataset", "nosuch-ds"], "'nosuch-ds'"),
    (["plot", "{MISSING}"], "{MISSING}"),
    (["plot", "{EMPTY}"], "no run records"),
    (["tables", "reproduce", "nosuch-table"], "'nosuch-table'"),
    (["tables", "reproduce", "ktnas-table2", "--seeds", "0"], "'0'"),
    (["tables", "reproduce", "ktnas-table2", "--out", "{FILE}"], "{FILE}"),
    (["tables", "build", "nosuch-table"], "'nosuch-table'"),
    (["tables", "list", "extra-name"], "extra-name"),
    (["tables", "status", "--seeds", "3"], "--seeds"),
    (["tables", "verify", "--out", "{MISSING}"], "{MISSING}"),
    (["tables", "nosuch-action"], "'nosuch-action'"),
    (["features", "build", "nosuch-store"], "'nosuch-store'"),
]


@pytest.fixture
def paths(tmp_path):
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("not a folder")
    (tmp_path / "empty").mkdir()
    return {"{FILE}": str(a_file), "{MISSING}": str(tmp_path / "missing"), "{EMPTY}": str(tmp_path / "empty")}


def _fill(items, paths):
    return [paths.get(x, x) for x in items]


def _run_in_process(argv, capsys):
    rc = main(argv)
    got = capsys.readouterr()
    return rc, got.out, got.err


@pytest.mark.parametrize("bench, k", list(_cases()))
def test_bad_input_exits_2_naming_the_value(bench, k, paths, capsys):
    argv, expect = _bad_vectors(bench, paths["{FILE}"])[k]
    rc, out, err = _run_in_process(argv, capsys)
    assert rc == 2, (argv, out, err)
    assert "Traceback" not in out + err
    assert expect in err, (argv, err)


@pytest.mark.parametrize("argv, expect", COMMON, ids=[" ".join(a[:2]) for a, _ in COMMON])
def test_bad_input_of_any_benchmark_exits_2(argv, expect, paths, capsys):
    rc, out, err = _run_in_process(_fill(argv, paths), capsys)
    assert rc == 2 and "Traceback" not in out + err
    assert paths.get(expect, expect) in err, err


def _script() -> list[str]:
    exe = Path(sys.executable).with_name("mmnas-bench")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "bench"]


@pytest.mark.parametrize("argv, expect", [
    (["compare", "--seeds", "0"], "argument --seeds: must be an integer >= 1, got '0'"),
    (["query", "0", "--bench", "nb201", "--metric", "nosuch-metric"], "unknown metric 'nosuch-metric'"),
    (["compare", "--bench", "tree-fusion", "--budget-seconds", "inf"], "'inf'"),
    (["query", "add(v1,v2)", "--bench", "tree-fusion", "--dataset", "scene15", "--seed", "99"], "--train"),
])
def test_the_installed_script_shows_no_traceback(argv, expect):
    r = subprocess.run(_script() + argv, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stdout + r.stderr and expect in r.stderr


def test_the_issues_known_failures_now_answer():
    """The commands issue 10 lists as crashing, run as a user would."""
    r = subprocess.run(_script() + ["query", "add(v1,v2)", "--bench", "tree-fusion", "--dataset", "scene15"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("test_acc = ") and "shipped table" in r.stdout, r.stderr
    r = subprocess.run(_script() + ["query", "0", "--bench", "transnas101-micro"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("val_score = "), r.stderr  # its own first dataset
    r = subprocess.run(_script() + ["info"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert all(f"{b}:" in r.stdout for b in BENCHMARKS) and "[scene15] 93 trained architectures" in r.stdout


def test_version_flag(capsys):
    from bench import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"mmnas-bench {__version__}"


def test_empty_metric_is_refused_by_the_api():
    from bench.errors import UnknownMetricError

    o = registry.open("nb201", "cifar10")
    for call in (lambda: o.query(0, metric=""), lambda: o.query_many([0], metric=""), lambda: o.optimum("")):
        with pytest.raises(UnknownMetricError, match="unknown metric ''"):
            call()
    with pytest.raises(ValueError, match="on_missing"):
        o.query(0, "test_acc", on_missing="zero")  # refused even where the value exists


# ---- plot ----------------------------------------------------------------------------------------
def _files(folder: Path) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in ("runs.csv", "summary.csv", "anytime.png")}


def test_plot_replots_a_tree_fusion_folder_with_the_fusion_report(tmp_path, capsys):
    out = tmp_path / "fc"
    assert main(["compare", "--bench", "tree-fusion", "--dataset", "scene15", "--algo", "rea", "--algo", "rs",
                 "--seeds", "2", "--budget-seconds", "1", "--out", str(out), "--no-progress"]) == 0
    before = _files(out)
    capsys.readouterr()
    assert main(["plot", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rs vs rea: inconclusive at 2 seeds" in printed and "re-plotted 4 runs" in printed
    after = _files(out)
    # the same tables as compare wrote, rows in compare's order (reference first), and a fresh figure
    assert after["runs.csv"] == before["runs.csv"] and after["summary.csv"] == before["summary.csv"]
    assert len(after["anytime.png"]) > 10_000
    assert "best_test" in pd.read_csv(out / "runs.csv").columns
    # another reference is honoured; an unknown one is refused without touching the files
    assert main(["plot", str(out), "--reference", "rs"]) == 0
    assert "p_vs_rs" in pd.read_csv(out / "summary.csv").columns
    snapshot = _files(out)
    assert main(["plot", str(out), "--reference", "nosuch-algo"]) == 2
    assert "'nosuch-algo'" in capsys.readouterr().err and _files(out) == snapshot


def test_plot_that_cannot_succeed_leaves_the_folder_as_it_was(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["compare", "--algo", "rs", "--seeds", "2", "--budget", "20", "--out", str(out), "--no-progress"]) == 0
    snapshot = _files(out)
    bad = out / "records" / "zz_broken.json"
    for text in ("{not json", json.dumps({"algo": "rs"}), json.dumps([1, 2])):
        bad.write_text(text)
        capsys.readouterr()
        assert main(["plot", str(out)]) == 2
        err = capsys.readouterr().err
        assert "zz_broken.json" in err and "Traceback" not in err
        assert _files(out) == snapshot
    # tabular and tree-fusion records in one folder are refused, again before any write
    rec = json.loads(next((out / "records").glob("cifar10__rs__seed0.json")).read_text())
    bad.write_text(json.dumps({**rec, "benchmark": "tree-fusion"}))
    assert main(["plot", str(out)]) == 2 and "mixes" in capsys.readouterr().err
    assert _files(out) == snapshot
    bad.unlink()
    assert main(["plot", str(out)]) == 0


def test_errors_inside_a_command_are_not_tracebacks(monkeypatch, capsys):
    """A bug (not a bad input) is reported in one line with exit 1; MMNAS_DEBUG shows the traceback."""
    import bench.cli as cli

    def boom(a):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(cli, "_cmd_info", boom)
    monkeypatch.delenv("MMNAS_DEBUG", raising=False)
    assert cli.main(["info"]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: kaboom" in err and "Traceback" not in err
    monkeypatch.setenv("MMNAS_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli.main(["info"])


@pytest.mark.parametrize("flag, expected", [([], False), (["--accept-new-reference"], True)])
def test_tables_build_passes_accept_new_reference(flag, expected, monkeypatch, tmp_path, capsys):
    from bench.builders import registry as builders

    calls = []
    monkeypatch.setattr(builders, "build", lambda name, out, source, **kw: calls.append((name, kw)) or out / "x.h5")
    assert main(["tables", "build", "nb201", "--out", str(tmp_path)] + flag) == 0
    assert calls == [("nb201", {"accept_new_reference": expected})]

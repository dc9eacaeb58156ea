"""README numbers that the code decides are read back from the code."""

import re

import pytest


def test_every_fine_tune_epoch_count_in_the_readme_is_the_recipes(repo_root):
    from bench.families.tree_fusion.oracle import FINETUNE_FRACTION
    from bench.families.tree_fusion.trainer import PROTOCOLS

    epochs = PROTOCOLS["standard"].epochs
    text = " ".join((repo_root / "README.md").read_text().split())
    said = re.findall(r"fine-tunes? (?:for )?(\d+) of (?:the )?(\d+)\s+epochs", text)
    assert len(said) >= 2
    for part, whole in said:
        assert (int(part), int(whole)) == (max(1, round(epochs * FINETUNE_FRACTION)), epochs)


def _readme(repo_root) -> str:
    return (repo_root / "README.md").read_text()


def test_the_readme_query_lines_print_numbers_not_nan(repo_root, capsys):
    from bench.cli import main

    import shlex

    lines = [shlex.split(l.split("#")[0]) for l in _readme(repo_root).splitlines()
             if l.startswith(".venv/bin/mmnas-bench query ")]
    assert lines
    for argv in lines:
        assert main(argv[1:]) == 0, argv
        out = capsys.readouterr().out
        assert "nan" not in out, (argv, out)


def test_the_readme_trains_once_snippet_really_trains_and_its_fill_example_trains_something(repo_root, tmp_path):
    import bench
    from bench.errors import MissingValueError

    text = _readme(repo_root)
    m = re.search(r'o\.query\("([^"]+)", "test_acc", seed=(\d+), allow_train=True\)\s+# seed \d+ is not: trains once',
                  text)
    arch, seed = m.group(1), int(m.group(2))
    o = bench.open("tree-fusion", dataset="scene15", overlay=tmp_path / "o.sqlite")
    with pytest.raises(MissingValueError):  # neither the table nor an empty overlay has it: the line trains
        o.query(arch, "test_acc", seed=seed)
    o.query(arch, "test_acc", seed=0)  # the line before it is a table lookup
    fill = re.search(r"mmnas-bench fill --dataset (\w+) --max-leaves (\d) --seeds (\d+)", text)
    aloi = bench.open("tree-fusion", dataset=fill.group(1), max_leaves=int(fill.group(2)), overlay=tmp_path / "o.sqlite")
    assert aloi.n_seeds < int(fill.group(3))  # the table holds fewer seeds than the example fills


def test_python_and_cli_examples_write_different_run_folders(repo_root):
    outs = re.findall(r'--out (runs/[\w-]+)|out_dir="(runs/[\w-]+)"', _readme(repo_root))
    cli = {a for a, _ in outs if a}
    py = {b for _, b in outs if b}
    assert py and not (cli & py)


@pytest.mark.slow
def test_the_readme_tree_fusion_compare_gives_the_evaluations_it_states(repo_root, tmp_path, monkeypatch):
    """The command as printed, on an empty overlay (a fresh clone's): about 2 minutes."""
    import csv
    import shlex

    from bench.cli import main

    text = " ".join(_readme(repo_root).split())
    said = re.search(r"command gives ([\d.]+) / ([\d.]+) / ([\d.]+) / ([\d.]+) evaluations per run", text)
    cmd = re.search(r"\.venv/bin/mmnas-bench (compare --bench tree-fusion --dataset mfeat [^`]*?--out \S+)", text)
    argv = shlex.split(cmd.group(1).replace("\\ ", " "))
    argv[argv.index("--out") + 1] = str(tmp_path / "runs")
    monkeypatch.setenv("MMNAS_OVERLAY_DIR", str(tmp_path / "overlay"))
    assert main(argv + ["--no-progress"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "runs" / "summary.csv")))
    evals = {r["algo"]: float(r["evals_mean"]) for r in rows}
    assert [round(evals[a], 1) for a in ("csgnas", "edf", "rs", "rea")] == [float(x) for x in said.groups()]


@pytest.mark.slow
@pytest.mark.parametrize("row", ["tree-fusion mfeat", "MRO syn3-p2-planted", "RMNAS mosi", "HF-MNAS landuse21"])
def test_the_readme_multi_fidelity_rows_are_what_the_commands_print(repo_root, tmp_path, monkeypatch, row):
    """Each row of the epoch-fidelity table, from its command as printed (table answers only: 15 s to 11 min)."""
    import csv
    import shlex

    from bench.cli import main

    text = _readme(repo_root)
    common = re.search(r'^A="([^"]+)"$', text, re.M).group(1)
    bench_word, dataset = row.split()
    bench_name = {"tree-fusion": "tree-fusion", "MRO": "mro", "RMNAS": "rmnas", "HF-MNAS": "hfmnas"}[bench_word]
    line = next(l for l in text.splitlines()
                if l.startswith(f".venv/bin/mmnas-bench compare --bench {bench_name} --dataset {dataset} ") and "$A" in l)
    argv = shlex.split(line.split("#")[0].replace("$A", common))[1:]
    monkeypatch.setenv("MMNAS_OVERLAY_DIR", str(tmp_path / "overlay"))
    assert main(argv + ["--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    summary = {r["algo"]: r for r in csv.DictReader(open(tmp_path / "runs" / "summary.csv"))}
    cells = next(l for l in text.splitlines() if l.startswith(f"| {row}")).split(" | ")[1:]
    for algo, cell in zip(("rs", "rea", "asha", "hyperband", "tpe-hyperband"), cells):
        mean, sd = re.match(r"\s*([\d.]+) \+- ([\d.]+)", cell).groups()
        decimals = len(mean.split(".")[1])
        got = summary[algo]
        assert (f"{float(got['best_test_mean']):.{decimals}f}", f"{float(got['best_test_std']):.{decimals}f}") == (mean, sd), algo
        if algo != "rs":
            p = re.search(r"p = ([\d.e-]+)", cell).group(1)
            assert f"{float(got['p_vs_rs']):.2g}" == p, algo
            assert ("inconclusive" in cell) == ("inconclusive" in got["vs_rs"]), algo

"""README "Bring your own search algorithm": its three blocks (the module file, the Python
calls, the command line) run exactly as shown, name the algorithm in their output and repeat
their records for the same seeds."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from bench import algorithms
from bench.report import load_records

CLI = Path(sys.executable).parent / "mmnas-bench"


def _blocks(repo_root) -> tuple[str, str, str]:
    text = (repo_root / "README.md").read_text()
    start = text.index("### Bring your own search algorithm")
    end = min(i for i in (text.find("\n## ", start), text.find("\n### ", start + 1)) if i > 0)
    found = re.findall(r"```(python|bash)\n(.*?)```", text[start:end], re.S)
    assert [k for k, _ in found] == ["python", "python", "bash"], found
    return found[0][1], found[1][1], found[2][1]


def _seeded(records) -> list[str]:
    """What a seed determines: each record without the times measured on this machine."""
    out = []
    for r in records:
        d = asdict(r)
        d.pop("wall_seconds")
        d.pop("eval_wall_seconds")
        out.append(json.dumps(d, sort_keys=True))
    return out


@pytest.fixture
def user_folder(tmp_path, repo_root, monkeypatch):
    """tmp_path as the user's current folder, holding the README's my_search.py."""
    module, _, _ = _blocks(repo_root)
    (tmp_path / "my_search.py").write_text(module)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "my_search", raising=False)
    yield tmp_path
    sys.modules.pop("my_search", None)


def test_python_block_registers_and_compares_on_a_table_and_a_trained_benchmark(user_folder, repo_root, monkeypatch):
    _, code, _ = _blocks(repo_root)
    monkeypatch.syspath_prepend(str(user_folder))
    # tree-fusion answers from a private overlay, not the user's data_cache/overlay
    monkeypatch.setattr("bench.families.tree_fusion.oracle.overlay_path", lambda b: user_folder / "overlay.sqlite")
    runs = []
    for folder in (user_folder, user_folder / "again"):  # the block as shown, twice: same seeds, same records
        folder.mkdir(exist_ok=True)
        monkeypatch.chdir(folder)  # compare refuses an --out folder that already holds records
        monkeypatch.setattr(algorithms, "_REGISTERED", {})  # register() refuses a name twice
        ns: dict = {}
        exec(compile(code, "README.md", "exec"), ns)
        runs.append(ns)
    first, again = runs
    records, fusion = first["records"], first["fusion"]
    assert [(r.algo, r.seed) for r in records] == [(a, s) for a in ("local", "rea") for s in range(5)]
    assert all(r.benchmark == "nb201" and len(r.values) == 300 for r in records)
    assert [(r.algo, r.seed) for r in fusion] == [(a, s) for a in ("local", "rs") for s in range(3)]
    assert all(r.benchmark == "tree-fusion" and r.sim_seconds[-1] >= 10 for r in fusion)
    assert len(list((user_folder / "runs" / "local" / "records").glob("*.json"))) == 10
    assert _seeded(records) == _seeded(again["records"])
    assert _seeded(fusion) == _seeded(again["fusion"])
    # the hill climber is not a copy of REA: seeds repeat, algorithms differ
    assert records[0].archs != records[5].archs


def _run_cli(command: str, folder: Path, module: str) -> subprocess.CompletedProcess:
    folder.mkdir()
    (folder / "my_search.py").write_text(module)
    argv = shlex.split(command.replace("\\\n", " "))  # a shell joins continued lines
    assert argv[0] == ".venv/bin/mmnas-bench"  # the README's form; here the venv running the tests
    return subprocess.run([str(CLI), *argv[1:]], cwd=folder, capture_output=True, text=True, timeout=300)


def test_command_line_block_runs_a_module_function_from_the_current_folder(tmp_path, repo_root):
    module, _, command = _blocks(repo_root)
    results = {}
    for name in ("a", "b"):
        p = _run_cli(command, tmp_path / name, module)
        assert p.returncode == 0, p.stderr
        assert "my_search:local_search" in p.stdout and "rea" in p.stdout
        results[name] = tmp_path / name / "runs" / "mine"
    files = sorted(p.name for p in (results["a"] / "records").glob("*.json"))
    assert len(files) == 10 and not any(":" in f for f in files), files  # safe names on every file system
    a, b = load_records(results["a"]), load_records(results["b"])
    assert sorted({r.algo for r in a}) == ["my_search:local_search", "rea"]
    assert _seeded(a) == _seeded(b)
    assert "my_search:local_search" in (results["a"] / "summary.csv").read_text()


def test_an_unimportable_module_function_is_a_named_error(tmp_path):
    p = subprocess.run([str(CLI), "compare", "--algo", "no_such_module:fn", "--seeds", "1", "--no-progress"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "no_such_module" in p.stderr and "Traceback" not in p.stderr

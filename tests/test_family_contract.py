"""The contract every registered family meets (issue 11), checked by one suite for every entry
of :data:`bench.families.FAMILIES`: a family registered tomorrow is checked the day it is.

Also: the generic modules name no family, and a toy family registered at runtime is opened,
queried, searched and listed with no other change ("one folder plus one registry line").
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import bench
from bench import algorithms
from bench.cli import main
from bench.compare import Budget, compare, run_one, run_trained
from bench.core.family import KINDS, Family
from bench.core.space import SearchSpace
from bench.errors import (BenchError, InvalidArchitectureError, MissingValueError, UnknownDatasetError,
                          UnknownMetricError)
from bench.families import FAMILIES
from bench.manifest import read_manifest
from bench.paths import tables_dir
from bench.run import RunRecord

REPO = Path(__file__).resolve().parents[1]
CASES = [(f.name, ds) for f in FAMILIES.values() for ds in f.datasets()]
# what a record holds that depends on the machine, not on the seed
MEASURED = ("wall_seconds", "eval_wall_seconds")


def _id(case) -> str:
    return "/".join(case)


def _open(family: Family, dataset: str, tmp_path: Path):
    """The family's oracle; trained families get a private overlay so nothing outside tmp_path is written."""
    if family.kind == "trained":
        return bench.open(family.name, dataset, overlay=tmp_path / "overlay.sqlite")
    return bench.open(family.name, dataset)


def _table_archs(family: Family, dataset: str, oracle) -> list[str]:
    """Architectures the shipped table holds that are members of the opened oracle's space."""
    view = family.table_view(dataset)
    if view is None:
        return []
    out = []
    for a in view.archs():
        try:
            if oracle.space.encode(oracle.space.decode(a)) == a:
                out.append(a)
        except BenchError:  # in the table but outside this oracle's space (e.g. more leaves)
            pass
    return out


def _repeatable(rec: RunRecord) -> dict:
    d = asdict(rec)
    for k in MEASURED:
        d.pop(k)
    return json.dumps(d, sort_keys=True)  # as text, so that NaN equals NaN


# ---- the contract, as helpers so the toy family below runs the very same checks --------------------
def check_entry(family: Family) -> None:
    assert family.kind in KINDS
    assert FAMILIES[family.name] is family
    assert family.description.strip()
    datasets = family.datasets()
    assert datasets and len(set(datasets)) == len(datasets)
    assert set(family.default_algorithms) <= set(algorithms.names(family.name))
    for o in family.options:
        assert o.flag.startswith("--") and o.name.isidentifier()


def check_metrics(oracle) -> None:
    assert oracle.metrics
    for m in oracle.metrics:
        info = oracle.metric_info(m)
        assert isinstance(info.unit, str) and info.unit.strip(), m
        assert info.direction in ("max", "min"), m
    assert oracle.default_metric in oracle.metrics
    with pytest.raises(UnknownMetricError, match="no_such_metric"):
        oracle.metric_info("no_such_metric")


def check_space(space) -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        arch = space.sample(rng)
        text = space.encode(arch)
        assert isinstance(text, str)
        assert space.encode(space.decode(text)) == text
        child = space.encode(space.mutate(space.decode(text), rng))
        assert child != text, "mutate must return a different architecture"
        assert space.encode(space.decode(child)) == child
    with pytest.raises(InvalidArchitectureError):
        space.decode("not an architecture ((")


def check_query(family: Family, dataset: str, oracle) -> None:
    """Table families: a sampled architecture's value is a float; trained ones: a table row is
    answered without training, and a miss is an error when training is not allowed."""
    rng = np.random.default_rng(0)
    if family.kind == "table":
        arch = oracle.space.encode(oracle.space.sample(rng))
        v = oracle.query(arch, oracle.default_metric)
        assert isinstance(v, float)
        assert oracle.query(oracle.space.decode(arch), oracle.default_metric) == v  # object and string agree
        return
    view = family.table_view(dataset)
    held = _table_archs(family, dataset, oracle)
    if view is not None:
        assert held, f"{family.name}/{dataset}: the opened space holds no architecture of the shipped table"
        arch = held[int(rng.integers(len(held)))]
        for m in (oracle.default_metric, oracle.fitness_metric):
            v = oracle.query(arch, m, seed=0, allow_train=False)
            assert isinstance(v, float)
            assert v == view.query(arch, m, seed=0)  # the shipped table's seed-0 value, not a retrained one
    else:
        arch = oracle.space.encode(oracle.space.sample(rng))
    with pytest.raises(MissingValueError):  # a seed no table or (empty) overlay holds
        oracle.query(arch, oracle.default_metric, seed=oracle.n_seeds + 1, allow_train=False)


def check_search(family: Family, dataset: str, oracle, tmp_path: Path) -> None:
    """Seeded RS and REA through the generic path: same seed, same record; records round-trip."""
    held = set(_table_archs(family, dataset, oracle)) if family.kind == "trained" else None
    # under half the space: an evolution converged on a small space cannot reach every member,
    # and would spin on repeated queries up to the run's query limit
    budget = min(15, (oracle.space.size or 30) // 2)
    for algo in ("rs", "rea"):
        if family.kind == "table":
            runs = [run_one(oracle, algo, seed, Budget(budget)) for seed in (0, 0, 1)]
        else:
            runs = [run_trained(oracle, algo, seed, budget_evals=8) for seed in (0, 0, 1)]
            # every tree searched was answered from the shipped table: nothing was trained
            assert set(runs[0].archs) <= held
        a, b, other = runs
        assert a.algo == algo and a.benchmark == family.name and a.dataset == dataset
        assert len(a.archs) == len(set(a.archs)) > 0
        assert all(isinstance(v, float) for v in a.values)
        assert _repeatable(a) == _repeatable(b)
        assert other.archs != a.archs  # the seed matters
        path = tmp_path / f"{algo}.json"
        a.save(path)
        loaded = RunRecord.load(path)
        assert _repeatable(loaded) == _repeatable(a) and loaded.wall_seconds == a.wall_seconds
        loaded.save(tmp_path / "again.json")
        assert (tmp_path / "again.json").read_bytes() == path.read_bytes()


def check_cli(family: Family, dataset: str, arch: str, capsys) -> None:
    """``info`` and ``query`` exit 0; a bad dataset, metric or algorithm exits 2 naming it."""
    capsys.readouterr()
    assert main(["info", "--bench", family.name, "--dataset", dataset, "--metrics"]) == 0
    out = capsys.readouterr().out
    assert family.name in out and dataset in out
    assert main(["query", arch, "--bench", family.name, "--dataset", dataset]) == 0
    assert re.search(r"= -?\d", capsys.readouterr().out)
    for argv, bad in [
        (["query", arch, "--bench", family.name, "--dataset", "no-such-dataset"], "no-such-dataset"),
        (["query", arch, "--bench", family.name, "--dataset", dataset, "--metric", "no_such_metric"], "no_such_metric"),
        (["compare", "--bench", family.name, "--dataset", dataset, "--algo", "no-such-algo", "--seeds", "1",
          "--no-progress"], "no-such-algo"),
    ]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert bad in err and "Traceback" not in err, err


# ---- every registered family --------------------------------------------------------------------
@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_entry(name):
    check_entry(FAMILIES[name])


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_open_metrics_and_space(case, tmp_path):
    family = FAMILIES[case[0]]
    o = _open(family, case[1], tmp_path)
    assert o.benchmark == family.name and o.dataset == case[1]
    check_metrics(o)
    check_space(o.space)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_unknown_dataset_is_a_named_error(name):
    with pytest.raises(UnknownDatasetError, match="no-such-dataset"):
        bench.open(name, "no-such-dataset")


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_query(case, tmp_path):
    family = FAMILIES[case[0]]
    check_query(family, case[1], _open(family, case[1], tmp_path))


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_seeded_search_and_record_round_trip(case, tmp_path):
    family = FAMILIES[case[0]]
    if family.kind == "trained" and family.table_view(case[1]) is None:
        pytest.skip(f"{_id(case)} ships no table: a search would train every architecture it visits")
    oracle = _open(family, case[1], tmp_path)
    if family.kind == "trained" and oracle.space.size and len(family.table_view(case[1]).archs()) < oracle.space.size:
        pytest.skip(f"{_id(case)} ships a sample of its space ({len(family.table_view(case[1]).archs())} of "
                    f"{oracle.space.size}): a search would train outside it")
    check_search(family, case[1], oracle, tmp_path)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_cli_info_query_and_bad_inputs(name, tmp_path, capsys):
    """On the first dataset (trained families: the first with a shipped table, so ``query``
    answers without training)."""
    family = FAMILIES[name]
    if family.kind == "table":
        dataset = family.datasets()[0]
        o = _open(family, dataset, tmp_path)
        arch = o.space.encode(o.space.sample(np.random.default_rng(0)))
    else:
        dataset = next((d for d in family.datasets() if family.table_view(d) is not None), None)
        if dataset is None:
            pytest.skip(f"{name} ships no table: a CLI query would train")
        arch = _table_archs(family, dataset, _open(family, dataset, tmp_path))[0]
    check_cli(family, dataset, arch, capsys)


def test_every_shipped_table_belongs_to_one_family_and_every_fixed_table_ships():
    """MANIFEST's files are each declared by exactly one family's ``Table``; a fixed table
    (``trained=False``, what ``bench.open`` reads) ships; every builder is callable.

    A trained table may be declared without shipping (built on demand by real training):
    its family's ``table_view`` is then None, which the queries above handle."""
    shipped = set(read_manifest(tables_dir()))
    declared: dict[str, str] = {}
    for f in FAMILIES.values():
        assert f.tables or f.kind == "trained", f"{f.name}: a table family declares its table"
        if f.surrogate is not None:  # its fitted surrogates ship beside the tables (bench.core.surrogate)
            from bench.core.surrogate import surrogate_file

            declared.update((surrogate_file(f.name, ds), f.name) for ds in f.surrogate.datasets)
        for t in f.all_tables():
            assert callable(t.builder), t.name
            assert t.file not in declared, f"{t.file} is declared by {declared.get(t.file)} and {f.name}"
            declared[t.file] = f.name
            if not t.trained:
                assert t.file in shipped and (tables_dir() / t.file).is_file(), t.file
            elif t.file in shipped:
                assert (tables_dir() / t.file).is_file(), t.file
    assert shipped <= set(declared), f"shipped tables no family declares: {sorted(shipped - set(declared))}"
    names = [t.name for f in FAMILIES.values() for t in f.all_tables()]
    assert len(names) == len(set(names))


def test_runners_cover_every_spec_that_names_one():
    from bench.repro.spec import load_specs

    runners = {}
    for f in FAMILIES.values():
        for key, fn in f.runners().items():
            assert key not in runners, f"runner {key!r} is declared by two families"
            assert callable(fn)
            runners[key] = f.name
    named = {s.runner for s in load_specs().values() if s.runner}
    assert named, "no spec names a runner: the check would pass vacuously"
    assert named <= set(runners), f"specs name runners no family provides: {sorted(named - set(runners))}"


# ---- generic modules know no family -------------------------------------------------------------
GENERIC = [*sorted((REPO / "bench" / "core").rglob("*.py")), *sorted((REPO / "bench" / "repro").rglob("*.py")),
           *sorted((REPO / "bench" / "builders").rglob("*.py")),
           *(REPO / "bench" / p for p in ("algorithms/__init__.py", "compare.py", "registry.py", "cli.py", "report.py",
                                          "trained_report.py", "run.py", "trained_run.py", "overlay.py", "oracle.py",
                                          "adapters.py"))]
FOLDERS = sorted(p.name for p in (REPO / "bench" / "families").iterdir()
                 if p.is_dir() and (p / "__init__.py").exists())
# names that identify a family wherever they appear in a string (registered names, and the
# issue's list); folder names may be common words ("cells"), so they count as a whole string
# or as a module path under bench.families
DISTINCT = sorted({*FAMILIES, "tree-fusion", "nb201", "transnas", "tree_fusion"}, key=len, reverse=True)


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                out.add(id(first.value))
    return out


def family_references(path: Path) -> list[str]:
    """Family names in string constants (docstrings and comments excepted) and imports of a
    specific family's module, as ``file:line: what``."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _docstrings(tree)
    where = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
    found = []
    distinct = re.compile(r"(?<![A-Za-z])(" + "|".join(map(re.escape, DISTINCT)) + r")(?![A-Za-z])")
    folder = re.compile(r"families[./](" + "|".join(map(re.escape, FOLDERS)) + r")\b")
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            s = node.value
            hit = distinct.search(s) or folder.search(s) or (s if s in FOLDERS else None)
            if hit:
                found.append(f"{where}:{node.lineno}: string {s[:80]!r}")
        elif isinstance(node, ast.Import):
            found += [f"{where}:{node.lineno}: import {a.name}" for a in node.names
                      if a.name.startswith("bench.families.")]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("bench.families."):
                found.append(f"{where}:{node.lineno}: from {node.module} import ...")
            elif node.module == "bench.families":
                found += [f"{where}:{node.lineno}: from bench.families import {a.name}" for a in node.names
                          if a.name in FOLDERS]
    return found


def test_the_reference_finder_finds_what_it_should(tmp_path):
    """The check below is only as good as this finder: it must flag each kind of reference."""
    probe = tmp_path / "probe.py"
    probe.write_text('"""Docstring naming nb201 and tree-fusion is fine."""\n'
                     "import bench.families.cells\n"
                     "from bench.families.tree_fusion import FAMILY\n"
                     "from bench.families import cells, FAMILIES\n"
                     "from bench.families import get\n"
                     "x = 'nb201'  # flagged\n"
                     "y = f'--bench {x} tree-fusion'\n"
                     "z = 'bench.families.cells.ktnas'\n"
                     "w = 'cells'\n"
                     "ok = '3 cells differ'  # prose: not a family\n")
    found = family_references(probe)
    lines = sorted(int(f.split(":")[1]) for f in found)
    assert lines == [2, 3, 4, 6, 7, 8, 9], found


@pytest.mark.parametrize("path", GENERIC, ids=lambda p: str(p.relative_to(REPO)))
def test_generic_module_names_no_family(path):
    assert family_references(path) == []


# ---- one folder plus one registry line ----------------------------------------------------------
class BitSpace(SearchSpace):
    """Toy space: strings of 'o' and 'x' of one length (not digits: the CLI reads digits as a row
    index), each a member; mutation flips one letter."""

    space_id = "toy-bits"

    def __init__(self, archs):
        self.members = sorted(archs)
        self._set = set(self.members)

    def encode(self, arch) -> str:
        if arch not in self._set:
            raise InvalidArchitectureError(f"{arch!r} is not a bit string of this space")
        return arch

    def decode(self, text: str) -> str:
        return self.encode(text)

    def sample(self, rng) -> str:
        return self.members[int(rng.integers(len(self.members)))]

    def mutate(self, arch, rng) -> str:
        i = int(rng.integers(len(arch)))
        return arch[:i] + ("x" if arch[i] == "o" else "o") + arch[i + 1:]

    @property
    def size(self) -> int:
        return len(self.members)


def _toy_table(path: Path) -> Path:
    """A 2-dataset, 2-seed table over every 5-letter o/x string: score rises with the number of x."""
    from bench.tablefile import DatasetTable, Metric, ScoreTable, write_table

    archs = [format(i, "05b").replace("0", "o").replace("1", "x") for i in range(32)]
    ones = np.array([a.count("x") for a in archs], float)
    rng = np.random.default_rng(7)
    datasets = {}
    for ds, shift in (("easy", 0.0), ("hard", -20.0)):
        score = 50 + 8 * ones[:, None] + shift + rng.normal(0, 0.5, (32, 2))
        datasets[ds] = DatasetTable(archs, {
            "val_score": Metric(score + rng.normal(0, 0.5, (32, 2)), "%", "max", "validation score"),
            "score": Metric(score, "%", "max", "test score"),
            "latency": Metric(1 + ones[:, None] * np.ones((1, 2)), "ms", "min", "latency"),
        })
    write_table(ScoreTable("toy-bits", "toy-bits", "1", datasets, {"made_by": "tests/test_family_contract.py"}), path)
    return path


def test_a_family_registered_at_runtime_works_everywhere(tmp_path, monkeypatch, capsys):
    """A new family is one entry: opened, queried, searched by ``compare`` and listed by ``info``
    through the generic code, and it passes the same contract checks as the shipped ones."""
    from bench.core.table_family import table_family
    from bench.manifest import update_manifest
    from bench.tablefile import content_checksum

    import h5py

    tables = tmp_path / "tables"
    tables.mkdir()
    for p in tables_dir().iterdir():  # the shipped tables stay visible, so `info` lists every family
        if p.suffix == ".h5":
            (tables / p.name).symlink_to(p)
    (tables / "MANIFEST").write_text((tables_dir() / "MANIFEST").read_text())  # a copy: the toy's entry goes here
    toy_file = _toy_table(tables / "toy_bits.h5")
    with h5py.File(toy_file) as f:
        update_manifest(tables, toy_file, content_checksum(f))
    monkeypatch.setenv("MMNAS_TABLES_DIR", str(tables))

    family = table_family("toy-bits", "toy family made by a test", "toy_bits.h5", ("easy", "hard"), BitSpace, "score",
                          lambda **kw: _toy_table((kw.get("out_dir") or tables_dir()) / "toy_bits.h5"),
                          validation_metric="val_score", test_metric="score")
    monkeypatch.setitem(FAMILIES, family.name, family)  # the one registry line

    check_entry(family)
    for ds in family.datasets():
        o = bench.open("toy-bits", ds)
        check_metrics(o)
        check_space(o.space)
        check_query(family, ds, o)
        check_search(family, ds, o, tmp_path)
    o = bench.open("toy-bits", "easy")
    assert o.query("xxxxx", "score") == max(o.query(a, "score") for a in o.archs())
    assert o.search_metric()[0] == "val_score"

    records = compare("toy-bits", ["easy", "hard"], ["rs", "rea"], range(2), Budget.parse("all"),
                                    out_dir=tmp_path / "cmp", progress=False)
    assert len(records) == 8 and all(r.best_value == r.target for r in records)
    assert {(r.dataset, r.algo) for r in records} == {(d, a) for d in ("easy", "hard") for a in ("rs", "rea")}
    assert len((tmp_path / "cmp" / "runs.csv").read_text().splitlines()) == 9
    assert len(list((tmp_path / "cmp" / "records").glob("*.json"))) == 8

    check_cli(family, "easy", "xoxox", capsys)
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}:" in out for name in FAMILIES)  # every family, the toy among them
    assert "toy-bits: toy family made by a test" in out and "[hard] 32 architectures" in out
    assert main(["compare", "--bench", "toy-bits", "--dataset", "hard", "--seeds", "2", "--budget", "10",
                 "--no-progress"]) == 0
    assert "rea" in capsys.readouterr().out

    from bench.builders.registry import tables as all_tables

    assert all_tables()["toy-bits"].file == "toy_bits.h5"
    assert math.isclose(o.optimum("latency").value, 1.0)

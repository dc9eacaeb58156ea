"""Issue #28 item 2: ``mmnas-bench check``, a regression check for users' CI.

A user's module in tmp_path holds random search (``search``), the same search under another name
(``renamed``: other random streams, the same quality), a degraded copy that evaluates only a
twentieth of its budget (``degraded``) and one that raises (``broken``). A baseline written with
``search`` passes ``search`` (identical per-seed values) and ``renamed``, fails ``degraded`` naming
the benchmark, and refuses (exit 3) when the baseline's table checksum or settings differ. Seeded
runs on shipped tables, in-process (``bench.cli.main``); the quick suite runs in about a second.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import sys
import xml.etree.ElementTree as ET

import pytest

from bench import check
from bench.cli import build_parser, main
from bench.run import RunRecord

USER_MODULE = '''
def search(run, rng):
    """Random search: a fresh architecture until the budget is spent."""
    while not run.done:
        run.evaluate(run.space.sample(rng))


def renamed(run, rng):
    search(run, rng)


def degraded(run, rng):
    """The bug a check must catch: it stops after a twentieth of its budget."""
    while not run.done and run.n_evals < run.record.budget_evals // 20:
        run.evaluate(run.space.sample(rng))


def broken(run, rng):
    run.evaluate(run.space.sample(rng))
    raise RuntimeError("index out of range in my_update()")
'''
MODULE = "mmnas_check_user_algos"


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """The user's folder: their module and a baseline written with ``search`` (quick suite, 20 seeds)."""
    folder = tmp_path_factory.mktemp("user")
    (folder / f"{MODULE}.py").write_text(USER_MODULE)
    sys.path.insert(0, str(folder))
    sys.modules.pop(MODULE, None)
    try:
        rc = main(["check", "--algo", f"{MODULE}:search", "--write-baseline", str(folder / "baseline.json"),
                   "--no-progress"])
        assert rc == 0
        yield folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(MODULE, None)


def _check(user, tmp_path, algo: str, *extra: str, baseline=None) -> tuple[int, str, ET.Element]:
    junit, summary = tmp_path / "reports" / "check.xml", tmp_path / "reports" / "check.md"
    rc = main(["check", "--algo", f"{MODULE}:{algo}", "--baseline", str(baseline or user / "baseline.json"),
               "--junit", str(junit), "--summary", str(summary), "--no-progress", *extra])
    return rc, summary.read_text(), ET.parse(junit).getroot()


def _cases(root: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name"): c for c in root.iter("testcase")}


QUICK = [t.name for t in check.SUITES["quick"]]


def _verdicts(md: str) -> dict[str, str]:
    """The summary's table: benchmark -> verdict."""
    rows = [[c.strip() for c in r.strip("|").split("|")] for r in md.splitlines() if r.startswith("| ")]
    return {r[0]: r[-1] for r in rows[1:]}


def test_the_baseline_holds_per_seed_values_versions_and_table_checksums(user, repo_root):
    data = json.loads((user / "baseline.json").read_text())
    assert data["format"] == check.FORMAT and data["algo"] == f"{MODULE}:search" and data["suite"] == "quick"
    assert data["measure"] == "regret-area" and data["seeds"] == list(range(20))
    assert data["versions"]["mmnas-bench"] and data["versions"]["numpy"]
    manifest = dict(line.split("\t")[:2] for line in (repo_root / "tables" / "MANIFEST").read_text().splitlines()[1:])
    assert [f"{t['bench']}/{t['dataset']}" for t in data["targets"]] == QUICK
    for t, spec in zip(data["targets"], check.SUITES["quick"]):
        assert t["budget"] == spec.budget and len(t["values"]) == 20 and all(v >= 0 for v in t["values"])
        assert t["tables"] and all(manifest[f] == sha for f, sha in t["tables"].items())
    assert {t["metric"] for t in data["targets"]} == {"val_acc", "test_acc", "val_score"}


def test_an_unchanged_algorithm_passes_with_identical_values(user, tmp_path, capsys):
    rc, md, root = _check(user, tmp_path, "search")
    assert rc == 0, md
    assert root.get("tests") == "3" and root.get("failures") == "0" and root.get("errors") == "0"
    assert list(_cases(root)) == QUICK
    assert md.startswith("# mmnas-bench check: PASS (exit 0)")
    rows = [r for r in md.splitlines() if r.startswith("| ") and "/" in r.split("|")[1]]
    assert len(rows) == 3 and all(r.rstrip().endswith("| +0.00 | unchanged |") for r in rows), rows
    assert _verdicts(md) == dict.fromkeys(QUICK, "unchanged")
    assert "repeat bit for bit" in md and md in capsys.readouterr().out


def test_the_same_quality_with_other_random_streams_passes(user, tmp_path):
    """A neutral change (here a new name: other seeds' streams) draws new values from the same
    distribution; at alpha 0.01 and a minimum effect it passes, the same way on every run."""
    rc, md, root = _check(user, tmp_path, "renamed")
    assert rc == 0, md
    assert root.get("failures") == "0" and f"written for `{MODULE}:search`" in md
    assert {_verdicts(md)[n] for n in QUICK} <= {"no regression", "improved"}


def test_a_degraded_algorithm_fails_naming_the_benchmark(user, tmp_path, capsys):
    rc, md, root = _check(user, tmp_path, "degraded")
    assert rc == 1, md
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("- nb201/cifar10: regression"))
    assert re.search(r"one-sided Mann-Whitney p = [0-9.e-]+, Cliff's delta \+[01]\.\d\d, n = 20 vs 20 seeds", line)
    assert md.startswith("# mmnas-bench check: FAIL (exit 1)")
    cases = _cases(root)
    failed = [n for n, c in cases.items() if c.find("failure") is not None]
    assert failed == [n for n, v in _verdicts(md).items() if v == "regression"]
    assert "nb201/cifar10" in failed and root.get("failures") == str(len(failed)) and root.get("tests") == "3"
    assert "regression" in cases["nb201/cifar10"].find("failure").get("message")
    p = float(re.search(r"p = ([0-9.e-]+)", line).group(1))
    assert p < check.DEFAULT_ALPHA


def test_a_changed_table_checksum_exits_3_without_running(user, tmp_path, monkeypatch, capsys):
    import bench.compare

    data = json.loads((user / "baseline.json").read_text())
    data["targets"][0]["tables"]["nb201.h5"] = "0" * 64
    (tmp_path / "old.json").write_text(json.dumps(data))
    monkeypatch.setattr(bench.compare, "run_one", lambda *a, **k: pytest.fail("ran against changed tables"))
    rc, md, root = _check(user, tmp_path, "search", baseline=tmp_path / "old.json")
    assert rc == 3
    assert "nb201/cifar10: table nb201.h5 changed under the baseline: sha256 000000000000 (baseline)" in md
    assert md.startswith("# mmnas-bench check: TABLES OR SETTINGS CHANGED (exit 3)")
    cases = _cases(root)
    assert cases["nb201/cifar10"].find("error").get("type") == "tables-or-settings-changed"
    assert root.get("errors") == "1" and root.get("skipped") == "2"


def test_changed_settings_exit_3_naming_them(user, tmp_path, capsys):
    rc, md, _ = _check(user, tmp_path, "search", "--seeds", "10")
    assert rc == 3 and "- seeds: baseline 20, now 10" in md
    rc, md, _ = _check(user, tmp_path, "search", "--budget", "50")
    assert rc == 3 and "nb201/cifar10: budget: baseline 100, now 50" in md
    rc, md, _ = _check(user, tmp_path, "search", "--bench", "nb201", "--dataset", "cifar10")
    assert rc == 3 and "nb201/cifar100: in the baseline, not checked now" in md


def test_an_algorithm_that_raises_fails_with_an_error_per_benchmark(user, tmp_path, capsys):
    rc, md, root = _check(user, tmp_path, "broken")
    assert rc == 1 and root.get("errors") == "3" and root.get("failures") == "0"
    assert f"nb201/cifar10: {MODULE}:broken raised RuntimeError: index out of range in my_update() (seed 0)" in md


def test_write_baseline_refuses_an_existing_file_unless_forced(user, tmp_path, capsys):
    path = tmp_path / "b.json"
    argv = ["check", "--algo", f"{MODULE}:search", "--bench", "transnas101-micro", "--dataset", "class_object",
            "--seeds", "5", "--write-baseline", str(path), "--no-progress"]
    assert main(argv) == 0
    first = path.read_text()
    assert main(argv) == 2 and "exists; pass --force to replace it" in capsys.readouterr().err
    assert main(argv + ["--force"]) == 0 and path.read_text() == first  # seeded: the same file again


@pytest.mark.parametrize("argv, expect", [
    (["--seeds", "4"], "the check could never fail; use --seeds >= 5"),
    (["--budget", "all"], "--budget all runs until the optimum: it goes with --measure evals-to-optimum"),
    (["--algo", "ktnas"], "searches several tasks together"),
    (["--suite", "quick", "--bench", "nb201"], "give either --suite or --bench/--dataset, not both"),
    (["--alpha", "0"], "--alpha must be between 0 and 1"),
])
def test_bad_input_exits_2(argv, expect, tmp_path, capsys):
    base = ["check", "--algo", "rs", "--write-baseline", str(tmp_path / "b.json"), "--no-progress"]
    assert main(base + argv) == 2
    assert expect in capsys.readouterr().err and not (tmp_path / "b.json").exists()


def test_evals_to_optimum_runs_until_the_optimum(tmp_path, capsys):
    path = tmp_path / "e.json"
    assert main(["check", "--algo", "rs", "--bench", "transnas101-micro", "--dataset", "class_scene", "--seeds", "5",
                 "--measure", "evals-to-optimum", "--budget", "all", "--write-baseline", str(path),
                 "--no-progress"]) == 0
    t = json.loads(path.read_text())["targets"][0]
    assert t["budget"] == "all" and all(v == int(v) and 1 <= v <= 711 for v in t["values"])
    assert main(["check", "--algo", "rs", "--baseline", str(path), "--no-progress"]) == 0


def test_the_measures_as_defined():
    rec = RunRecord("b", "d", "m", "max", "a", 0, 5, None, 5.0, values=[1.0, 3.0, 2.0], evals=[1, 2, 3])
    assert check.regret_area(rec, 5, 10.0) == (4 + 2 + 2 + 2 + 2) / 5  # the last incumbent kept to the budget
    rec.values = [math.nan, 3.0]
    assert check.regret_area(rec, 4, 10.0) == (10 + 2 + 2 + 2) / 4  # no incumbent yet: the largest regret
    rec.values = []
    assert check.regret_area(rec, 3, 10.0) == 10.0
    rec.values, rec.evals = [1.0, 5.0], [1, 2]
    assert check.evals_to_optimum(rec, 100) == 2.0
    rec.values = [1.0, 4.0]
    assert check.evals_to_optimum(rec, 100) == 101.0  # missed: behind every run that reached it


def test_the_one_sided_test():
    from bench.stats import mann_whitney_one_sided

    a, b = [5.0, 6, 7, 8, 9], [1.0, 2, 3, 4, 5.5]
    assert mann_whitney_one_sided(a, b, "greater") < 0.01 < 0.99 < mann_whitney_one_sided(a, b, "less")
    assert mann_whitney_one_sided(a, b, "greater") == mann_whitney_one_sided(b, a, "less")
    assert math.isnan(mann_whitney_one_sided([1.0, 1.0], [1.0, 1.0]))
    assert math.isnan(mann_whitney_one_sided([1.0], [2.0, 3.0]))
    with pytest.raises(ValueError):
        mann_whitney_one_sided(a, b, "two-sided")


def test_the_ci_workflow_runs_check_with_flags_the_parser_accepts(repo_root):
    text = (repo_root / ".github" / "workflows" / "mmnas-check.yml").read_text()
    assert "\non:\n" in text and "runs-on:" in text and "actions/upload-artifact" in text
    found = re.search(r"run: >-\n((?:\s+.*\n)+?)\s+- name", text)
    command = " ".join(found.group(1).split())
    assert command.startswith("mmnas-bench check ")
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert args.command == "check" and args.baseline == "baseline.json" and args.algo == "mypkg.search:my_algo"
    assert args.junit and args.summary and args.no_progress
    written = re.search(r"#\s+(mmnas-bench check .*--write-baseline baseline\.json)", text).group(1)
    args = build_parser().parse_args(shlex.split(written)[1:])
    assert args.write_baseline == "baseline.json" and args.suite == "quick"
    for path in (args.junit, args.summary):
        assert path is None or path in text
    assert "reports/mmnas-check.xml" in text and "path: reports/" in text


def test_the_readme_commands_run_as_shown(repo_root, tmp_path, monkeypatch, capsys):
    """README "Regression checks for your CI": its two commands, with the module of "Bring your own
    search algorithm", write a baseline and pass it with every row unchanged (p 0.505, delta +0.00)."""
    text = (repo_root / "README.md").read_text()
    byo = text[text.index("### Bring your own search algorithm"):]
    (tmp_path / "my_search.py").write_text(re.search(r"```python\n(.*?)```", byo, re.S).group(1))
    section = text[text.index("### Regression checks for your CI"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1).replace("\\\n", " ")
    commands = [shlex.split(line) for line in block.splitlines() if line.startswith(".venv/bin/mmnas-bench check")]
    assert len(commands) == 2 and "--write-baseline" in commands[0] and "--baseline" in commands[1]
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_search", raising=False)
    try:
        assert main(commands[0][1:] + ["--no-progress"]) == 0
        assert main(commands[1][1:] + ["--no-progress"]) == 0
    finally:
        sys.modules.pop("my_search", None)
    md = (tmp_path / "reports" / "mmnas-check.md").read_text()
    assert _verdicts(md) == dict.fromkeys(QUICK, "unchanged") and md.count("| 0.505 | +0.00 | unchanged |") == 3
    assert ET.parse(tmp_path / "reports" / "mmnas-check.xml").getroot().get("tests") == "3"
    said = " ".join(section.split())
    for t in check.SUITES["quick"]:
        assert f"{t.budget}" in said
    assert "`--suite quick` (the default) is NB201 CIFAR-10 and CIFAR-100 at 100 counted evaluations per run and " \
           "TransNAS-Bench-101 micro `class_scene` at 50" in said


def test_a_damaged_baseline_is_a_bad_input(user, tmp_path, capsys):
    data = json.loads((user / "baseline.json").read_text())
    data["targets"][1]["values"].pop()
    del data["targets"][2]["tables"]
    (tmp_path / "damaged.json").write_text(json.dumps(data))
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    for name, expect in (("damaged.json", "is damaged: fields missing: targets[2].tables"),
                         ("other.json", "is not a check baseline")):
        assert main(["check", "--algo", "rs", "--baseline", str(tmp_path / name), "--no-progress"]) == 2
        assert expect in capsys.readouterr().err
    del data["targets"][2]
    (tmp_path / "damaged.json").write_text(json.dumps(data))
    assert main(["check", "--algo", "rs", "--baseline", str(tmp_path / "damaged.json"), "--no-progress"]) == 2
    assert "nb201/cifar100 holds 19 values for 20 seeds" in capsys.readouterr().err

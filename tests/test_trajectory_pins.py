"""The suite's own behaviour check (#28 item 3): every pinned search trajectory is what the code does
now; a change names the algorithm and the benchmark, and `make pin-trajectories` re-pins an intended one."""

import json
import warnings

import pytest

from bench import trajectory_pins as tp
from bench.core.quality import QualityWarning

PINNED = json.loads(tp.PIN_FILE.read_text())
_ORACLES: dict = {}


def test_every_case_is_pinned():
    assert sorted(PINNED) == sorted(c.name for c in tp.CASES)
    families = {c.bench for c in tp.CASES}
    assert families == {"nb201", "transnas101-micro", "tree-fusion", "mro", "rmnas", "hfmnas"}
    assert {c.algo for c in tp.CASES if c.fidelity == "epochs"} == {"asha", "hyperband"}


@pytest.mark.parametrize("case", tp.CASES, ids=lambda c: c.name)
def test_trajectory_is_as_pinned(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", QualityWarning)
        got = tp.digest(tp.run_case(case, _ORACLES))
    assert got == PINNED[case.name], (
        f"the search trajectory of {case.algo!r} on {case.bench}/{case.dataset} (seed {case.seed}) changed: "
        "if the change is intended, run `make pin-trajectories` and commit tests/trajectory_pins.json")


def test_a_changed_search_is_caught(monkeypatch):
    """The check can fail: a search that samples differently gives another digest."""
    case = next(c for c in tp.CASES if c.bench == "nb201" and c.algo == "rs")
    record = tp.run_case(case, _ORACLES)
    assert tp.digest(record) == PINNED[case.name]
    record.values[-1] = record.values[-1] + 1e-12  # one value, one ulp-sized step
    assert tp.digest(record) != PINNED[case.name]
    import bench.compare

    real = bench.compare.seed_rng  # another random stream for the same seed
    monkeypatch.setattr(bench.compare, "seed_rng", lambda seed, *salt: real(seed, "changed", *salt))
    assert tp.digest(tp.run_case(case, _ORACLES)) != PINNED[case.name]


def test_the_cli_reports_changed_trajectories(monkeypatch, capsys, tmp_path):
    pins = tmp_path / "pins.json"
    one = [c for c in tp.CASES if c.bench == "nb201"][:2]
    monkeypatch.setattr(tp, "CASES", one)
    monkeypatch.setattr(tp, "compute", lambda cases=None, _c=tp.compute: _c(one))
    monkeypatch.setattr(tp, "PIN_FILE", pins)
    assert tp.main(["--write"]) == 0 and len(json.loads(pins.read_text())) == 2
    assert tp.main([]) == 0
    pins.write_text(json.dumps({one[0].name: "0" * 64, one[1].name: PINNED[one[1].name]}))
    assert tp.main([]) == 1
    assert f"changed: {one[0].name}" in capsys.readouterr().out

"""#27 item 4: long seed sweeps are cached by parameters and code version; the committed ones are
valid for the committed code, so `make reproduce-table` reads them instead of rerunning the sweeps."""

import json

import pytest

from bench.errors import BenchError
from bench.repro import sweep_cache as sc
from bench.repro.cache import using_cache_dir

MODULES = ("bench.run", "bench.compare")


def test_stored_results_are_read_back_and_keyed_by_parameters_and_code(tmp_path, monkeypatch):
    calls = []

    def compute(v=1):
        calls.append(v)
        return {"per_seed": [v, 2.5, None]}

    with using_cache_dir(tmp_path):
        first = sc.cached_sweep("demo", {"seeds": 3}, MODULES, ["nb201.h5"], compute)
        again = sc.cached_sweep("demo", {"seeds": 3}, MODULES, ["nb201.h5"], compute)
        assert first == again == {"per_seed": [1, 2.5, None]} and len(calls) == 1
        sc.cached_sweep("demo", {"seeds": 4}, MODULES, ["nb201.h5"], compute)  # other parameters
        assert len(calls) == 2
        real = sc.code_digest
        monkeypatch.setattr(sc, "code_digest", lambda *a: {**real(*a), "bench.run": "edited"})
        sc.cached_sweep("demo", {"seeds": 3}, MODULES, ["nb201.h5"], compute)  # the algorithm's code changed
        assert len(calls) == 3
        stored = json.loads((tmp_path / "sweeps" / "demo.json").read_text())
        assert len(stored) == 1  # entries of the old code are dropped when the new one is stored
        assert not list((tmp_path / "sweeps").glob("*.tmp"))


def test_the_digest_follows_the_source_and_the_tables():
    d = sc.code_digest(MODULES, ["nb201.h5"])
    assert set(d) >= {"bench.run", "bench.compare", "tables/nb201.h5", "numpy", "node2vec"}
    assert sc.sweep_key({"a": 1}, d) != sc.sweep_key({"a": 2}, d)
    assert sc.sweep_key({"a": 1}, d) != sc.sweep_key({"a": 1}, {**d, "numpy": "0.0"})


def test_exploratory_runs_are_not_stored_and_recomputation_checks_determinism(tmp_path, monkeypatch):
    with using_cache_dir(tmp_path):
        sc.cached_sweep("demo", {}, MODULES, [], lambda: [1], store=False)
        assert not (tmp_path / "sweeps" / "demo.json").exists()
        sc.cached_sweep("demo", {}, MODULES, [], lambda: [1])
        monkeypatch.setenv("MMNAS_RECOMPUTE_SWEEPS", "1")
        assert sc.cached_sweep("demo", {}, MODULES, [], lambda: [1]) == [1]  # recomputed, the same
        with pytest.raises(sc.SweepMismatchError, match="not deterministic"):
            sc.cached_sweep("demo", {}, MODULES, [], lambda: [2])
        assert json.loads((tmp_path / "sweeps" / "demo.json").read_text())  # the stored result is kept
        (tmp_path / "sweeps" / "demo.json").write_text("{not json")
        with pytest.raises(BenchError, match="not readable JSON"):
            sc.cached_sweep("demo", {}, MODULES, [], lambda: [1])


@pytest.mark.parametrize("spec_id", ["ktnas-table2", "ktnas-table8", "ktnas-table3", "ktnas-table7"])
def test_the_committed_sweeps_are_valid_for_this_code(spec_id, monkeypatch):
    """Regenerating the spec reads every row from the committed cache: nothing is recomputed. Fails
    after a change of the KTNAS code until `make reproduce-table TABLE=<spec>` refreshes and the
    cache is committed."""
    from bench.families.cells import paper_ktnas
    from bench.repro.reproduce import reproduce
    from bench.repro.spec import get_spec

    def refuse(*a, **k):
        raise AssertionError(f"{spec_id}: a sweep is not in the committed cache for this code; run "
                             f"`make reproduce-table TABLE={spec_id}` and commit paper_repro/cache/sweeps/")

    monkeypatch.setattr(paper_ktnas, "_multitask_records", refuse)
    for name in ("ktnas_table3", "ktnas_table7"):  # whole-table sweeps (bench.repro.sweep_cache.cached_runner)
        monkeypatch.setitem(paper_ktnas.RUNNERS, name, refuse)
    import tempfile

    with tempfile.TemporaryDirectory() as out:
        _, csv = reproduce(get_spec(spec_id), None, False, out)
        from bench.repro.reproduce import default_out_dir

        assert csv.read_bytes() == (default_out_dir() / f"{spec_id}.csv").read_bytes()


def test_a_cached_runner_gives_back_the_result_it_stored(tmp_path):
    import math

    from bench.repro.output import Cell, TableResult
    from bench.repro.spec import get_spec

    spec = get_spec("ktnas-table7")
    calls = []

    def runner(spec, seeds, progress):
        calls.append(seeds)
        return TableResult(cells={"A": [Cell(1.5, 0.25, 3), None, Cell(math.nan)]}, row_notes={"A": "note"},
                           notes=["n1", "n2"])

    cached = sc.cached_runner(runner, MODULES, ["nb201.h5"])
    with using_cache_dir(tmp_path):
        first = cached(spec, int(spec.params["seeds"]), False)
        again = cached(spec, int(spec.params["seeds"]), False)
    assert calls == [int(spec.params["seeds"])]
    c = again.cells["A"][0]
    assert (c.mean, c.std, c.n) == (1.5, 0.25, 3) and math.isnan(c.median) and again.cells["A"][1] is None
    assert math.isnan(again.cells["A"][2].mean)
    assert (again.row_notes, again.notes) == (first.row_notes, first.notes) == ({"A": "note"}, ["n1", "n2"])

"""Cached results of long seed sweeps on fixed tables (KTNAS Tables II, VII and VIII: hundreds of seeded
multi-task searches), so `make reproduce-table` regenerates their outputs in seconds.

A sweep's result (what its table is made from: per-seed counts, not whole run records) is stored in
``<cache folder>/sweeps/<name>.json`` under a key that digests its parameters, the source files of
the code it runs, the sha256 of the tables it reads and the versions of the libraries that can move
its numbers. Any change of these recomputes the sweep: a changed algorithm invalidates its cache by
its code. The CPU vendor that computed an entry is stored beside it but is not in the key: a sweep that
trains torch predictors gives other counts on another vendor (see the README), and reading the
committed result keeps the outputs byte-identical on every machine. ``MMNAS_RECOMPUTE_SWEEPS=1`` recomputes even a valid entry and refuses to go on if the
result differs from the stored one (the sweep is not deterministic, or the key misses an input).

Only a sweep at the spec's own seed count is stored (``store=False`` otherwise), so exploratory runs
with other seeds never touch the committed cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Iterable

from bench.errors import BenchError
from bench.repro.cache import cache_dir

#: the libraries whose versions are part of every key (numerics, graph walks and embeddings)
LIBRARIES = ("numpy", "scipy", "networkx", "node2vec", "gensim")


class SweepMismatchError(BenchError):
    """A recomputed sweep differs from its stored result under the same key."""


def _package_root() -> Path:
    return Path(__file__).resolve().parent.parent


def code_digest(modules: Iterable[str], tables: Iterable[str] = ()) -> dict[str, str]:
    """``{what: sha256}`` of each module's source (``bench.x.y``), each table file under ``tables/`` and
    each library version: everything a key depends on besides the parameters."""
    import importlib.metadata

    from bench.paths import tables_dir

    out = {}
    for m in sorted(set(modules)):
        path = _package_root().parent / (m.replace(".", "/") + ".py")
        out[m] = hashlib.sha256(path.read_bytes()).hexdigest()
    for t in sorted(set(tables)):
        from bench.manifest import file_digest

        out[f"tables/{t}"] = file_digest(tables_dir() / t)
    for lib in LIBRARIES:
        try:
            out[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            out[lib] = "absent"
    return out


def sweep_key(params: dict, digest: dict[str, str]) -> str:
    text = json.dumps({"params": params, "code": digest}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def cached_sweep(name: str, params: dict, modules: Iterable[str], tables: Iterable[str],
                 compute: Callable[[], Any], store: bool = True) -> Any:
    """``compute()`` (a JSON-able result) for ``params``, from ``sweeps/<name>.json`` when stored under
    the same key; otherwise computed and, with ``store``, written there (entries of older keys dropped)."""
    digest = code_digest(modules, tables)
    key = sweep_key(params, digest)
    path = cache_dir() / "sweeps" / f"{name}.json"
    stored = _read(path)
    recompute = os.environ.get("MMNAS_RECOMPUTE_SWEEPS", "") not in ("", "0")
    what = f"[{name}] {params.get('row', 'sweep')}"
    if key in stored and not recompute:
        print(f"{what}: read from {path} (computed on {stored[key].get('cpu_vendor', '?')})", file=sys.stderr)
        return stored[key]["result"]
    print(f"{what}: computing ({'recomputation asked' if key in stored else 'not cached for this code'})",
          file=sys.stderr)
    result = json.loads(json.dumps(compute()))  # what a later read returns: JSON types only
    from bench.numerics import cpu_vendor

    vendor = cpu_vendor()
    if key in stored and stored[key]["result"] != result:
        theirs = stored[key].get("cpu_vendor", "?")
        why = (f"it was stored on a {theirs} CPU and recomputed on a {vendor} one: sweeps that train torch "
               "predictors (KTNAS Table II's GCN and WeakNAS rows) differ between CPU vendors" if theirs != vendor
               else "the sweep is not deterministic or its key misses an input")
        raise SweepMismatchError(f"sweep {name!r} recomputed to another result than the one stored in {path} under "
                                 f"the same key: {why}")
    if store:
        kept = {k: v for k, v in stored.items() if v.get("code") == digest}  # the current code's entries
        kept[key] = {"params": params, "code": digest, "cpu_vendor": vendor, "result": result}
        _write(path, kept)
    return result


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BenchError(f"sweep cache {path} is not readable JSON ({exc}); remove it to recompute") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "result" in v for v in data.values()):
        raise BenchError(f"sweep cache {path} is not a sweep cache; remove it to recompute")
    return data


def _write(path: Path, data: dict) -> None:
    """One writer, atomically (:func:`bench.tablefile.atomic_write`): a killed process leaves the old
    file or the new one."""
    from bench.tablefile import atomic_write

    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(data, sort_keys=True, indent=1) + "\n")


def cached_runner(runner: Callable, modules: Iterable[str], tables: Iterable[str]) -> Callable:
    """A paper-table runner ``runner(spec, seeds, progress) -> TableResult`` whose whole result (cells,
    row notes, notes: a table without figures) is a cached sweep named by the spec id, keyed besides
    the code by the spec file's text and the seed count."""
    from bench.repro.output import Cell, TableResult

    def run(spec, seeds: int, progress: bool = True):
        def compute() -> dict:
            r = runner(spec, seeds, progress)
            if r.figures:
                raise BenchError(f"{spec.id}: a runner with figures cannot be cached as a sweep")
            return {"by_row": {k: [None if c is None else c.__dict__ for c in v] for k, v in r.cells.items()},
                    "row_notes": r.row_notes, "notes": r.notes}

        params = {"row": "whole table", "runner": spec.runner or runner.__qualname__, "seeds": seeds,
                  "spec": hashlib.sha256(Path(spec.path).read_bytes() if spec.path else repr(spec).encode()).hexdigest()}
        got = cached_sweep(spec.id, params, modules, tables, compute,
                           store=seeds == int(spec.params.get("seeds", 10)))
        return TableResult(cells={k: [None if c is None else Cell(**c) for c in v] for k, v in got["by_row"].items()},
                           row_notes=dict(got["row_notes"]), notes=list(got["notes"]))

    run.__qualname__ = run.__name__ = getattr(runner, "__name__", "runner")
    return run

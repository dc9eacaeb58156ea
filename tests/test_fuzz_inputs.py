"""Fuzz (issue #26): a seeded generator draws >= 500 malformed inputs per run across every
benchmark's API (``bench.open`` and its options, ``query``/``result`` arch, metric, seed and
flags, run and comparison budgets) and the command line (``bench.cli.main`` in-process).

Each API input must raise a :class:`~bench.errors.BenchError` subclass; each command line must
exit 2 with one error line (after argparse's usage, where argparse speaks) and no traceback.
Nothing trains or runs: trainers, ``compare`` and ``fill`` raise :class:`Trained`, which is no
BenchError, so an input that gets past its checks fails the test. The generator's seed is fixed,
so a failure reproduces; the message lists the failing inputs.
"""

import math
import random
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

import bench
from bench import registry
from bench.errors import BenchError

SEED = 20_260_126
N_API = 420
N_CLI = 200
BENCHMARKS = registry.benchmarks()
TABLE = [b for b in BENCHMARKS if registry.info(b).kind == "table"]
TRAINED = [b for b in BENCHMARKS if registry.info(b).kind == "trained"]
#: an architecture of each trained benchmark's default dataset's table
ARCH = {"tree-fusion": "add(v1,v2)", "mro": "100010", "rmnas": "audio=att.att|video=att.att|F=sum|lst=1",
        "hfmnas": "L(tl,il):n1=sum(skip@0,skip@1);keep=n1|H(th,ih):n1=sum(skip@0,skip@1);keep=n1|s=1|imm=none|cm=mlp"}
UNTABLED_SEED = 7  # a seed the shipped tables do not hold: a lookup misses and would train
#: digits int() and float() accept that are not ASCII: Arabic-Indic, Persian, Devanagari, full-width, math bold
FOREIGN_DIGITS = [chr(base + d) for base in (0x660, 0x6F0, 0x966, 0xFF10, 0x1D7CE) for d in range(10)]
NEVER = "\u00a7"  # '§': in no architecture, metric, dataset or benchmark name, so a junk string is never valid
JUNK_CHARS = "abcxyz_-|@.,()=;:~+ 0123456789\t" + "".join(FOREIGN_DIGITS[::7]) + "\u00e9\u4e2d" + NEVER


class Trained(Exception):
    """An input reached training, a comparison or a fill: it should have been refused first."""


def _refuse(*args, **kwargs):
    raise Trained(f"work was reached with {args!r}")


# ---- malformed values ---------------------------------------------------------------------------
def junk(rng: random.Random) -> str:
    return "".join(rng.choice(JUNK_CHARS) for _ in range(rng.randint(0, 10))) + NEVER


def foreign_number(rng: random.Random) -> str:
    return "".join(rng.choice(FOREIGN_DIGITS) for _ in range(rng.randint(1, 4)))


def bad_int(rng: random.Random, none_ok: bool, zero_ok: bool = False) -> object:
    """Not a whole number >= 1 (nor >= 0 with ``zero_ok``: a seed)."""
    pool = [lambda: -rng.randint(1, 10**12), lambda: rng.uniform(-3, 40), lambda: float(rng.randint(1, 9)),
            lambda: math.nan, lambda: math.inf, lambda: -math.inf, lambda: str(rng.randint(1, 9)), lambda: foreign_number(rng),
            lambda: True, lambda: False, lambda: [1], lambda: (2,), lambda: {}, lambda: b"3", lambda: complex(2, 0),
            lambda: Fraction(5, 2), lambda: np.float64(3.0), lambda: junk(rng), lambda: object()]
    if not none_ok:
        pool.append(lambda: None)
    if not zero_ok:
        pool.append(lambda: 0)
    return rng.choice(pool)()


def bad_seed(rng: random.Random, none_ok: bool) -> object:
    return rng.choice([lambda: bad_int(rng, none_ok, zero_ok=True), lambda: rng.randint(2**32, 2**80), lambda: -1])()


def bad_real(rng: random.Random) -> object:
    """Not a finite number > 0."""
    return rng.choice([lambda: math.nan, lambda: math.inf, lambda: -math.inf, lambda: 0, lambda: 0.0,
                       lambda: -rng.uniform(0, 1e6), lambda: str(rng.uniform(1, 9)), lambda: foreign_number(rng),
                       lambda: True, lambda: [5.0], lambda: complex(1, 1), lambda: junk(rng), lambda: b"5"])()


def bad_flag(rng: random.Random, none_ok: bool) -> object:
    pool = ["no", "yes", "False", "true", "", 0, 1, 0.0, math.nan, [], [True], np.int64(1), junk(rng)]
    return rng.choice(pool + ([] if none_ok else [None]))


def bad_metric(rng: random.Random, valid: list[str]) -> object:
    m = rng.choice(valid)
    return rng.choice([lambda: "", lambda: " ", lambda: m.upper() + NEVER, lambda: m + " ", lambda: " " + m,
                       lambda: junk(rng), lambda: 5, lambda: 1.5, lambda: math.nan, lambda: [m], lambda: (m,),
                       lambda: {m: 1}, lambda: m.encode(), lambda: True, lambda: object()])()


def bad_arch(rng: random.Random, valid: str, n_arch: int | None) -> object:
    pool = [lambda: junk(rng), lambda: "", lambda: " ", lambda: valid + NEVER, lambda: valid[:-1] + NEVER,
            lambda: valid + "|" + junk(rng), lambda: foreign_number(rng), lambda: NEVER.join(valid),
            lambda: rng.uniform(-5, 5), lambda: math.nan, lambda: None, lambda: [], lambda: {}, lambda: valid.encode(),
            lambda: True, lambda: False, lambda: object(), lambda: (valid,), lambda: "x" * rng.randint(100, 5000)]
    if n_arch is not None:  # a table's row indices: out of range either side
        pool += [lambda: -rng.randint(1, 10**6), lambda: n_arch + rng.randint(0, 10**6), lambda: np.int64(-1)]
    else:  # no row indices in a trained space
        pool += [lambda: rng.randint(-5, 10**6)]
    return rng.choice(pool)()


def bad_overlay(rng: random.Random, folder) -> object:
    return rng.choice([lambda: "", lambda: " ", lambda: str(folder), lambda: folder, lambda: "/proc/" + junk(rng),
                       lambda: "/proc/self/status", lambda: "/sys/" + junk(rng) + ".sqlite",
                       lambda: str(folder / "a_file" / "o.sqlite"), lambda: 5, lambda: [], lambda: b"o.sqlite",
                       lambda: True, lambda: "o\0.sqlite"])()


# ---- the API ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Oracles of every benchmark's default dataset (trained: training allowed, trainer refusing,
    temporary overlay), a folder and a plain file for overlay paths."""
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "a_file").write_text("not a folder")
    oracles = {}
    for b in BENCHMARKS:
        if b in TRAINED:
            o = bench.open(b, registry.default_dataset(b), allow_train=True, overlay=folder / f"{b}.sqlite")
            o._train = _refuse
        else:
            o = bench.open(b, registry.default_dataset(b))
        oracles[b] = o
    return {"folder": folder, "oracles": oracles}


def _api_cases(rng: random.Random, world) -> list[tuple[str, str, object]]:
    """(category, description, call) for N_API malformed API inputs."""
    from bench.compare import Budget, compare, compare_trained, run_one
    from bench.run import Run
    from bench.trained_run import TrainedRun

    folder, oracles = world["folder"], world["oracles"]
    cases = []

    def add(category: str, what: str, fn):
        cases.append((category, what, fn))

    while len(cases) < N_API:
        b = rng.choice(BENCHMARKS)
        o = oracles[b]
        ds = registry.default_dataset(b)
        trained = b in TRAINED
        own = {"overlay": folder / f"{b}.sqlite"} if trained else {}
        valid = ARCH[b] if trained else o.archs()[rng.randrange(o.n_arch)]
        kind = rng.choice(["benchmark", "dataset", "option", "arch", "metric", "seed", "flag", "budget", "compare"])
        if kind == "benchmark":
            name = rng.choice([junk(rng), "", b.upper(), b + " ", 5, None, [b], b.encode()])
            add("open.benchmark", f"bench.open({name!r})", lambda name=name, ds=ds: bench.open(name, ds))
        elif kind == "dataset":
            name = rng.choice([junk(rng), "", ds.upper() + NEVER, ds + " ", 5, None, [ds], ds.encode(), foreign_number(rng),
                               *({"rmnas": ["pom@r0.55", "pom@r" + foreign_number(rng), "pom@r0", "pom@r1.5"],
                                  "hfmnas": ["landuse21@inc9", "landuse21@inc" + foreign_number(rng)],
                                  "tree-fusion": ["mfeat+noise" + foreign_number(rng)]}.get(b, []))])
            add("open.dataset", f"bench.open({b!r}, {name!r})", lambda b=b, name=name, own=own: bench.open(b, name, **own))
        elif kind == "option":
            opts = {"on_missing": rng.choice(["zero", "", "RAISE", None, 5, []]),
                    "verify": bad_flag(rng, none_ok=False),
                    junk(rng).replace(" ", "_") or "x": 1}
            if trained:
                opts.update({"allow_train": bad_flag(rng, none_ok=False), "overlay": bad_overlay(rng, folder),
                             "device": rng.choice(["tpu", "", "CPU", "cuda:" + foreign_number(rng), "cuda:", 5, []])})
            if b == "tree-fusion":
                opts.update({"max_leaves": rng.choice([math.nan, 2.5, "3", True, 0, -1, 10**6, [3], np.float64(2)]),
                             "protocol": rng.choice(["", "nosuch", "Standard", 5, [], None]),
                             "backbone": bad_flag(rng, none_ok=False), "repeatable": bad_flag(rng, none_ok=False)})
            k = rng.choice(sorted(opts))
            kw = {**own, k: opts[k]}
            add(f"open.option.{k if k in registry.open_options(b) + ['on_missing', 'verify'] else 'unknown'}",
                f"bench.open({b!r}, {ds!r}, {kw!r})", lambda b=b, ds=ds, kw=kw: bench.open(b, ds, **kw))
        elif kind == "arch":
            arch = bad_arch(rng, valid, None if trained else o.n_arch)
            call = rng.choice(["query", "result"] if trained else ["query", "row", "query_many"])
            seed = {"seed": UNTABLED_SEED} if trained and call == "query" else {}
            if call == "query_many":
                add("query.arch", f"{b}.query_many([{arch!r}])", lambda o=o, a=arch: o.query_many([o.archs()[0], a]))
            elif call == "result":
                add("query.arch", f"{b}.result({arch!r})", lambda o=o, a=arch: o.result(a, UNTABLED_SEED))
            else:
                add("query.arch", f"{b}.{call}({arch!r})", lambda o=o, a=arch, c=call, s=seed: getattr(o, c)(a, **s))
        elif kind == "metric":
            metric = bad_metric(rng, o.metrics)
            seed = UNTABLED_SEED if trained else None
            call = rng.choice(["query", "metric_info"] + ([] if trained else ["optimum", "query_many", "n_values"]))
            fn = {"query": lambda o=o, m=metric, v=valid, s=seed: o.query(v, m, seed=s),
                  "metric_info": lambda o=o, m=metric: o.metric_info(m),
                  "optimum": lambda o=o, m=metric: o.optimum(m),
                  "query_many": lambda o=o, m=metric, v=valid: o.query_many([v], m),
                  "n_values": lambda o=o, m=metric: o.n_values(m)}[call]
            add("query.metric", f"{b}.{call}(metric={metric!r})", fn)
        elif kind == "seed":
            seed = bad_seed(rng, none_ok=not trained)
            if trained:
                call = rng.choice(["query", "result", "keyed_result", "cached"])
                fn = {"query": lambda o=o, s=seed, v=valid: o.query(v, seed=s),
                      "result": lambda o=o, s=seed, v=valid: o.result(v, s),
                      "keyed_result": lambda o=o, s=seed, v=valid: o.keyed_result(v, s),
                      "cached": lambda o=o, s=seed: o.cached("fuzz-label", s, "fuzz-recipe", _refuse)}[call]
            else:
                call = rng.choice(["query", "query_many"])
                fn = (lambda o=o, s=seed, v=valid: o.query(v, seed=s)) if call == "query" else \
                     (lambda o=o, s=seed, v=valid: o.query_many([v], seed=s))
            add("query.seed", f"{b}.{call}(seed={seed!r})", fn)
        elif kind == "flag":
            if trained:
                flag = bad_flag(rng, none_ok=True)
                add("query.allow_train", f"{b}.query(allow_train={flag!r})",
                    lambda o=o, f=flag, v=valid: o.query(v, seed=UNTABLED_SEED, allow_train=f))
            else:
                flag = rng.choice(["zero", "", "NaN", 5, [], True])
                add("query.on_missing", f"{b}.query(on_missing={flag!r})",
                    lambda o=o, f=flag, v=valid: o.query(v, on_missing=f))
        elif kind == "budget":
            if trained:
                key, value = rng.choice([("budget_seconds", bad_real(rng)), ("budget_evals", bad_int(rng, none_ok=True)),
                                         ("eval_seeds", bad_int(rng, none_ok=False)),
                                         ("seed", bad_seed(rng, none_ok=False)), ("train_seed", bad_seed(rng, True))])
                add(f"run.{key}", f"TrainedRun({b}, {key}={value!r})",
                    lambda o=o, kw={key: value}: TrainedRun(o, **kw))
            else:
                key, value = rng.choice([("budget_evals", bad_int(rng, none_ok=True)), ("budget_seconds", bad_real(rng)),
                                         ("max_queries", bad_int(rng, none_ok=False)),
                                         ("seconds_per_eval", rng.choice([math.nan, -1.0, math.inf, "1", None])),
                                         ("target", rng.choice([math.nan, "90", [90]])), ("seed", bad_seed(rng, True)),
                                         ("stop_at_target", bad_flag(rng, none_ok=False))])
                add(f"run.{key}", f"Run({b}, {key}={value!r})", lambda o=o, kw={key: value}: Run(o, **kw))
        else:  # compare
            if trained:
                algos = list(registry.info(b).default_algorithms)
                what, args = rng.choice([
                    ("budget_seconds", (["rs"], [0], bad_real(rng))),
                    ("seeds", (["rs"], [bad_seed(rng, none_ok=False)], 5.0)),
                    ("repeated algorithm", ([a := rng.choice(algos), a], [0], 5.0)),
                    ("repeated seed", (["rs"], [1, 1], 5.0)),
                    ("algos", (rng.choice(["rs", None, 5, [5]]), [0], 5.0)),
                ])
                add(f"compare.{what}", f"compare_trained({b}, {args!r})",
                    lambda b=b, ds=ds, args=args, own=own: compare_trained(b, ds, *args, progress=False, **own))
            else:
                what, args, kw = rng.choice([
                    ("budget", (["rs"], [0], rng.choice([bad_int(rng, none_ok=False), "0", "-5", foreign_number(rng),
                                                         junk(rng)])), {}),
                    ("seeds", (["rs"], [bad_seed(rng, none_ok=False)], Budget(5)), {}),
                    ("repeated algorithm", (["rea", "rs", "rea"], [0], Budget(5)), {}),
                    ("repeated dataset", (["rs"], [0], Budget(5)), {"datasets": [ds, ds]}),
                    ("out_dir", (["rs"], [0], Budget(5)), {"out_dir": rng.choice(["", " "])}),
                    ("run_one seed", None, {}),
                ])
                if args is None:
                    add("compare.run_one seed", f"run_one({b}, seed=...)",
                        lambda o=o, s=bad_seed(rng, none_ok=False): run_one(o, "rs", s, Budget(5)))
                else:
                    dsets = kw.pop("datasets", [ds])
                    add(f"compare.{what}", f"compare({b}, {dsets!r}, {args!r}, {kw!r})",
                        lambda b=b, d=dsets, args=args, kw=kw: compare(b, d, *args, progress=False, **kw))
    return cases


def test_malformed_api_inputs_raise_named_errors(world, monkeypatch):
    import bench.core.fill

    monkeypatch.setattr(bench.core.fill, "fill", _refuse)
    rng = random.Random(SEED)
    cases = _api_cases(rng, world)
    failures, categories = [], Counter()
    for category, what, fn in cases:
        categories[category.split(".")[0] + "." + category.split(".")[1]] += 1
        try:
            got = fn()
        except BenchError:
            continue
        except Exception as exc:  # a raw error, or Trained: the input reached work
            failures.append(f"{category}: {what} -> {type(exc).__name__}: {str(exc)[:160]}")
            continue
        failures.append(f"{category}: {what} -> accepted, returned {str(got)[:80]}")
    assert len(cases) >= N_API
    assert len(categories) >= 10, categories
    assert not failures, f"{len(failures)} of {len(cases)} malformed inputs were not refused by name:\n" + "\n".join(
        failures[:40])
    for o in world["oracles"].values():
        assert getattr(o, "n_trained", 0) == 0


# ---- the command line ---------------------------------------------------------------------------
def _bad_int_text(rng: random.Random, low: int) -> str:
    pool = ["", " ", foreign_number(rng), "1.5", "1e3", "1_0", "nan", "inf", "0x1F", " 7", "7 ", "ten", junk(rng),
            str(rng.randint(1, 9)) + foreign_number(rng), "-" + str(rng.randint(1, 10**6))]
    if low >= 1:
        pool.append("0")
    return rng.choice(pool)


def _bad_seconds_text(rng: random.Random) -> str:
    return rng.choice(["", " ", "nan", "NaN", "inf", "-inf", "infinity", "-1", "0", "0.0", "-0", "1e999",
                       foreign_number(rng), "1_0", "0x10", junk(rng), "5" + foreign_number(rng)])


def _cli_cases(rng: random.Random, folder) -> list[tuple[str, list[str]]]:
    cases = []
    while len(cases) < N_CLI:
        b = rng.choice(BENCHMARKS)
        ds = registry.default_dataset(b)
        trained = b in TRAINED
        c = ["compare", "--bench", b, "--no-progress", "--seeds", "1"]
        fill = ["fill", "--bench", b, "--dataset", ds, "--no-progress"]
        kind = rng.choice(["int", "seconds", "out", "overlay", "algo", "dataset", "device", "flag", "bench", "query"])
        if kind == "int":
            argv_flag_low = rng.choice([(c[:4], "--seeds", 1), (c, "--eval-seeds", 1), (c, "--budget", 1),
                                        (c, "--max-leaves", 1), (["query", "0", "--bench", "nb201"], "--seed", 0),
                                        (fill, "--seeds", 1), (fill, "--workers", 1), (fill, "--batch", 1),
                                        (fill, "--epochs", 1), (["tables", "reproduce", "ktnas-table2"], "--seeds", 1)])
            argv, flag, low = argv_flag_low
            cases.append((f"int {flag}", argv + [f"{flag}={_bad_int_text(rng, low)}"]))
        elif kind == "seconds":
            cases.append(("seconds", c + [f"--budget-seconds={_bad_seconds_text(rng)}"]))
        elif kind == "out":
            base = rng.choice([c, ["tables", "reproduce", "ktnas-table2"], ["tables", "build", "nb201"]])
            cases.append(("out", base + [f"--out={rng.choice(['', ' ', '  ', chr(9)])}"]))
        elif kind == "overlay":
            path = rng.choice(["", " ", str(folder), "/proc/" + junk(rng).replace("\t", "_"), "/proc/self/status",
                               "/sys/x.sqlite", str(folder / "a_file" / "o.sqlite")])
            cases.append(("overlay", fill + [f"--overlay={path}"]))
        elif kind == "algo":
            a = rng.choice(registry.info(b).default_algorithms)
            extra = ["--budget", "5"] if not trained else ["--budget-seconds", "1"]
            cases.append(("algo repeated", c + extra + ["--algo", a, "--algo", "rs" if a != "rs" else "rea", "--algo", a]))
        elif kind == "dataset":
            if trained:
                name = rng.choice([junk(rng), ds + NEVER, foreign_number(rng)])
                cases.append(("dataset", c + ["--dataset", name]))
            else:
                cases.append(("dataset repeated", c + ["--budget", "5", "--dataset", ds, "--dataset", ds]))
        elif kind == "device":
            cases.append(("device", fill + ["--device", rng.choice(["tpu", "", "CPU", "cuda:" + foreign_number(rng),
                                                                    "cuda:", "cuda:-1", junk(rng)])]))
        elif kind == "flag":
            cmd = rng.choice([c, fill, ["query", "0", "--bench", "nb201"], ["info"], ["tables", "list"]])
            cases.append(("unknown flag", cmd + ["--" + junk(rng).strip("-").replace(" ", "") + "zz", "1"]))
        elif kind == "bench":
            cmd = rng.choice(["compare", "query", "info", "fill"])
            cases.append(("bench", [cmd] + (["0"] if cmd == "query" else []) + ["--bench", rng.choice([junk(rng), "",
                                                                                                    b.upper()])]))
        else:  # query a fixed table (opened once, cached): a malformed architecture, metric or seed
            t = rng.choice(TABLE)
            what = rng.choice(["arch", "metric", "seed"])
            arch = foreign_number(rng) if what == "arch" and rng.random() < 0.5 else junk(rng) if what == "arch" else "0"
            extra = {"arch": [], "metric": ["--metric", rng.choice(["", " ", junk(rng), "TEST_ACC"])],
                     "seed": ["--seed", _bad_int_text(rng, 0)]}[what]
            cases.append((f"query {what}", ["query", arch, "--bench", t] + extra))
    return cases


def _one_error_line(err: str) -> bool:
    """argparse's usage (if any), then exactly one 'mmnas-bench...: error: ...' line."""
    lines = err.rstrip("\n").splitlines()
    if not lines or not (lines[-1].startswith("mmnas-bench") and ": error: " in lines[-1]):
        return False
    head = lines[:-1]
    return not head or (head[0].startswith("usage: ") and all(x.startswith(" ") for x in head[1:]))


def test_malformed_command_lines_exit_2_with_one_line(world, monkeypatch, capsys):
    import bench.compare
    import bench.core.fill
    from bench.cli import main

    for name in ("compare", "compare_trained", "compare_multitask"):
        monkeypatch.setattr(bench.compare, name, _refuse)
    monkeypatch.setattr(bench.core.fill, "fill", _refuse)
    monkeypatch.delenv("MMNAS_DEBUG", raising=False)
    monkeypatch.chdir(world["folder"])  # an --out '' that slipped through would write here, not into the repo
    rng = random.Random(SEED + 1)
    cases = _cli_cases(rng, world["folder"])
    failures, categories = [], Counter()
    for category, argv in cases:
        categories[category] += 1
        rc = main(argv)
        out, err = capsys.readouterr()
        if rc != 2 or "Traceback" in out + err or not _one_error_line(err):
            failures.append(f"{category}: {argv!r} -> exit {rc}, stderr {err.strip()[-200:]!r}")
    assert len(cases) >= N_CLI and len(categories) >= 10, categories
    assert not failures, f"{len(failures)} of {len(cases)} malformed command lines:\n" + "\n".join(failures[:40])


def test_the_fuzz_covers_at_least_500_inputs_per_run(world):
    assert len(_api_cases(random.Random(SEED), world)) + len(_cli_cases(random.Random(SEED + 1), world["folder"])) >= 500

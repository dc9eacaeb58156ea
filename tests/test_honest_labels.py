"""Labels that say what is true: row statuses and reasons of the HF-MNAS, RMNAS and MRO specs,
the papers' internal inconsistencies (``paper_errors``) checked by arithmetic on the transcribed
values, committed outputs in step with their specs, and plots whose axes, titles and legends
can be read (issue #13, items 9-11).

The ``check:`` named in a spec's ``paper_errors`` entry is a test of this module; the values it
uses are the specs' transcriptions of the papers in ``../shared/papers/`` (file and table named
in each spec), so a wrong transcription fails here too.
"""

from __future__ import annotations

import ast
import math
import re
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.repro.spec import load_specs

SPECS = load_specs()
THIS = Path(__file__)
OWN = sorted(i for i in SPECS if i.startswith(("hfmnas-", "rmnas-")) or i == "mro-table2")


def value(spec_id: str, row: str, column: str) -> float:
    spec = SPECS[spec_id]
    r = next((r for r in spec.rows if r.name == row), None)
    assert r is not None, f"{spec_id}: no row {row!r}"
    return r.paper[spec.columns.index(column)]


def col(spec_id: str, row: str) -> list[float]:
    return next(r.paper for r in SPECS[spec_id].rows if r.name == row)


# ---- statuses and reasons ------------------------------------------------------------------------
def test_every_named_check_is_a_test_of_this_module():
    names = {n.name for n in ast.parse(THIS.read_text()).body if isinstance(n, ast.FunctionDef)}
    cited = []
    for spec in SPECS.values():
        for e in spec.paper_errors:
            for m in re.finditer(r"check: tests/test_honest_labels\.py::(\w+)", e):
                cited.append(m.group(1))
                assert m.group(1) in names, f"{spec.id}: paper_errors cites a check that does not exist: {m.group(1)}"
    assert len(cited) >= 8, cited


def test_pending_rows_name_their_issue_and_proxy_and_not_offline_rows_plan_none():
    issue = {"hfmnas": "#15", "rmnas": "#14"}
    counts = {"pending": 0, "not-offline": 0}
    for sid in OWN:
        if sid == "mro-table2":
            continue
        for r in SPECS[sid].rows:
            if sid.startswith(("rmnas-", "hfmnas-")) and r.status in ("proxy", "added"):
                # built (#14, #15 in part): a regenerated row says what it computes and on what
                assert SPECS[sid].runner and r.key and len(r.reason) > 40, (sid, r.name)
                continue
            assert r.status in ("pending", "not-offline"), (sid, r.name, r.status)  # nothing is built for them yet
            counts[r.status] += 1
            if r.status == "pending":
                assert issue[sid.split("-")[0]] in r.reason and "proxy" in r.reason, (sid, r.name, r.reason)
            else:
                assert "Planned as a proxy" not in r.reason, (sid, r.name, r.reason)
                assert re.search(r"\bno\b.*\bplanned\b|plans none|nothing to regenerate", r.reason), (sid, r.name)
    assert counts["pending"] > 0 and counts["not-offline"] > 40, counts  # exact counts: the README test below


def test_no_reason_says_the_text_has_no_numbers_where_the_spec_transcribes_some():
    denial = re.compile(r"none to transcribe|text has no|has no numbers|no numbers in", re.I)
    for spec in SPECS.values():
        has_values = any(v == v for r in spec.rows for v in r.paper)
        for r in spec.rows:
            assert not (has_values and denial.search(r.reason)), (spec.id, r.name, r.reason)


def test_hfmnas_fig10_transcribes_the_value_its_text_gives():
    # 001_6b80f99565a0cbd2.txt Sec. V-D-2: F1-M 91.74 for LFBC (tl, il) / HFBC (th, ih) on HARM_P 3-class,
    # the full model's value in Table II and Table VII
    v = value("hfmnas-fig10", "LFBC (tl, il), HFBC (th, ih)", "F1-M")
    assert v == 91.74
    assert v == value("hfmnas-table2", "HF-MNAS (I+T)", "P3 F1-M") == value("hfmnas-table7", "Base +DCCA +MHA +LSTM",
                                                                            "HARM_P F1-M")


def test_mro_table2_transcribes_two_full_distributions():
    spec = SPECS["mro-table2"]
    assert len(spec.rows) == 7
    for j, c in enumerate(spec.columns):
        assert sum(r.paper[j] for r in spec.rows) == pytest.approx(100.0, abs=1e-9), c


def test_committed_outputs_match_their_specs(tmp_path, monkeypatch, repo_root):
    """Regenerating the specs whose rows are all pending or not-offline (no training) gives the
    committed markdown and CSV byte for byte, so statuses, reasons and paper_errors shown are the specs'."""
    import shutil

    from bench.repro.reproduce import reproduce_ids

    untrained = [s for s in OWN if not any(r.status in ("proxy", "added") for r in SPECS[s].rows)]
    shutil.copytree(repo_root / "paper_repro" / "specs", tmp_path / "specs")
    monkeypatch.setenv("MMNAS_PAPER_REPRO", str(tmp_path))
    reproduce_ids(untrained, progress=False)
    committed = repo_root / "paper_repro" / "out"
    for sid in untrained:
        for ext in (".md", ".csv"):
            assert (tmp_path / "out" / f"{sid}{ext}").read_bytes() == (committed / f"{sid}{ext}").read_bytes(), \
                f"paper_repro/out/{sid}{ext} is stale: run `mmnas-bench tables reproduce {sid}`"
        for e in SPECS[sid].paper_errors:
            assert e in (committed / f"{sid}.md").read_text()


# ---- the papers' internal inconsistencies, by arithmetic -----------------------------------------
def test_hfmnas_table9_test_column_is_table3_f1w():
    pairs = {"MFAS": "MFAS", "BM-NAS": "BM-NAS (reproduced by the authors)", "HF-MNAS": "HF-MNAS (I+T)"}
    for t9, t3 in pairs.items():
        assert value("hfmnas-table9", t9, "Test F1-M") == value("hfmnas-table3", t3, "F1-W")
        assert value("hfmnas-table9", t9, "Test F1-M") != value("hfmnas-table3", t3, "F1-M")
    assert [value("hfmnas-table3", t3, "F1-M") for t3 in pairs.values()] == [55.68, 61.69, 62.67]
    # Sec. V-D-4's "F1-M" gains are the F1-W gaps
    hf = value("hfmnas-table3", "HF-MNAS (I+T)", "F1-W")
    assert (round(hf - value("hfmnas-table3", "MFAS", "F1-W"), 2),
            round(hf - value("hfmnas-table3", "BM-NAS (reproduced by the authors)", "F1-W"), 2)) == (1.67, 1.60)


def test_hfmnas_table2_improvement_row_is_against_bmnas():
    cols = SPECS["hfmnas-table2"].columns
    printed = [1.87, 1.61, 5.32, 3.37, 2.35, 1.76, 4.03, 2.01]  # Table II's "Improvement" row (not a spec row)
    hf = col("hfmnas-table2", "HF-MNAS (I+T)")
    bm = col("hfmnas-table2", "BM-NAS (reproduced by the authors)")
    assert [round(a - b, 2) for a, b in zip(hf, bm)] == printed
    others = [r.paper for r in SPECS["hfmnas-table2"].rows if r.name != "HF-MNAS (I+T)"]
    best = [max(o[j] for o in others if o[j] == o[j]) for j in range(len(cols))]
    assert [round(a - b, 2) for a, b in zip(hf, best)] == [0.82, 0.50, 2.10, 1.83, 1.36, 1.59, 4.03, 2.01]


def test_hfmnas_harmc_bert_gaps_in_text_are_not_table2s():
    f1 = value("hfmnas-table2", "HF-MNAS (T)", "C3 F1-M") - value("hfmnas-table2", "BERT (T)", "C3 F1-M")
    acc = value("hfmnas-table2", "HF-MNAS (T)", "C3 Acc") - value("hfmnas-table2", "BERT (T)", "C3 Acc")
    assert (round(f1, 2), round(acc, 2)) == (15.80, 3.43)
    assert (round(f1, 2), round(acc, 2)) != (2.87, 3.51)  # the text's figures
    # the other gaps the same paragraph quotes do match (ResNeXt-101 and BM-NAS, HARM_C 3-class)
    assert round(value("hfmnas-table2", "HF-MNAS (I)", "C3 F1-M") - value("hfmnas-table2", "ResNeXt-101 (I)", "C3 F1-M"), 2) == 7.17
    assert round(value("hfmnas-table2", "HF-MNAS (I+T)", "C3 Acc")
                 - value("hfmnas-table2", "BM-NAS (reproduced by the authors)", "C3 Acc"), 2) == 2.01


def test_hfmnas_table2_prompt_approach_repeats_momenta_on_harmc():
    for c in ("C3 F1-M", "C3 Acc"):
        assert value("hfmnas-table2", "Prompt Approach", c) == value("hfmnas-table2", "MOMENTA", c)
    assert value("hfmnas-table2", "Prompt Approach", "P3 F1-M") != value("hfmnas-table2", "MOMENTA", "P3 F1-M")


def test_hfmnas_egogesture_split_percentages():
    text_split = (40, 20, 20)  # 001_6b80f99565a0cbd2.txt Sec. V-A, "55/40% ... 5/20% ... 40/20%" (NTU/EgoGesture)
    assert sum(text_split) == 80
    counts = col("hfmnas-table1", "EgoGesture (R+D)")
    shares = [round(100 * c / sum(counts), 1) for c in counts]
    assert shares == [59.7, 19.7, 20.6]
    ntu = col("hfmnas-table1", "NTU RGB-D (V+P)")  # NTU's 55/5/40 is close to its counts
    assert [round(100 * c / sum(ntu)) for c in ntu] == [55, 6, 39]


def test_hfmnas_edge_count_formula():
    def edges(n_nodes: int) -> int:
        # two input nodes, n_nodes - 3 intermediate nodes each fed by every earlier node, one output node
        preds = 2
        total = 0
        for _ in range(n_nodes - 3):
            total += preds
            preds += 1
        return total

    assert edges(7) == 14 == 7 * 4 // 2
    assert math.factorial(7 - 2) - 1 == 119
    agree = [n for n in range(4, 12) if edges(n) == math.factorial(n - 2) - 1]
    assert agree == [5]


def test_rmnas_iemocap_gains_in_text_are_table6s():
    t3 = [round(value("rmnas-table3", "RMNAS", c) - value("rmnas-table3", "GCNet", c), 2)
          for c in ("IEMOCAP 4-class", "IEMOCAP 6-class")]
    t6 = [round(value("rmnas-table6", "RMNAS", c) - value("rmnas-table6", "GCNet", c), 2)
          for c in ("IEMOCAP 4-class", "IEMOCAP 6-class")]
    assert t3 == [0.73, 1.14] and t6 == [1.90, 2.33]


def test_rmnas_table5_misa_f1_is_an_outlier():
    gaps = {r.name: round(value("rmnas-table5", r.name, "F1") - value("rmnas-table5", r.name, "Acc-2"), 1)
            for r in SPECS["rmnas-table5"].rows}
    assert gaps.pop("MISA") == 12.0
    assert max(abs(g) for g in gaps.values()) == 1.2


def test_mro_table5_ablations_repeat_table4_rows():
    metrics = ("Acc-7", "Acc-2", "F1")
    pairs = {("CMU_MOSEI MRO w/o MRG Prior [1,1,1,0,1,1]", "CMU_MOSEI Linf [1,1,1,0,1,1]"),
             ("MELD MRO w/o Rank Regularization [0,1,1,1,1,1]", "MELD L1 [0,1,1,1,1,1]")}
    for t5, t4 in pairs:
        assert t5[-13:] == t4[-13:]  # the same mask
        assert [value("mro-table5", t5, m) for m in metrics] == [value("mro-table4", t4, m) for m in metrics]
    # CMU-MOSEI's L1 and L2 rows: one mask, the same metrics, different rank correlation
    l1, l2 = "CMU_MOSEI L1 [0,1,1,0,1,1]", "CMU_MOSEI L2 [0,1,1,0,1,1]"
    assert [value("mro-table4", l1, m) for m in metrics] == [value("mro-table4", l2, m) for m in metrics]
    assert (value("mro-table4", l1, "Rank corr"), value("mro-table4", l2, "Rank corr")) == (0.613, 0.482)


def test_mro_meld_flops_are_not_additive_over_paths():
    flops = {r.name.split("[")[1].rstrip("]").replace(",", ""): value("mro-table5", r.name, "MFLOPs")
             for r in SPECS["mro-table5"].rows if r.name.startswith("MELD") and "[" in r.name}
    # the last mask digit is V->A (mask order T->A, T->V, A->T, A->V, V->T, V->A; 002_... Sec. 3)
    va = [round(flops[m + "1"] - flops[m + "0"], 2) for m in ("11111", "01111")]
    assert va == [47.29, 18.43]



# ---- plots that can be read (`mmnas-bench plot`, compare's anytime.png) ------------------------
LONG_TITLE = ("CSG-NAS against EDF, random search and regularized evolution at an equal budget of charged training "
              "seconds on the low-data multi-view proxy, ten seeds each")


def _inside(extent, fig_bbox, tol: float = 1.0) -> bool:
    return (extent.x0 >= fig_bbox.x0 - tol and extent.x1 <= fig_bbox.x1 + tol
            and extent.y0 >= fig_bbox.y0 - tol and extent.y1 <= fig_bbox.y1 + tol)


def _check_readable(fig, keys_named: dict[str, str], title: str = "") -> None:
    """Every axis labelled with a unit in parentheses, titles and labels inside the figure,
    a long title shown whole, legends by method name (``keys_named``: key -> published name)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = []
    for ax in fig.axes:
        for label in (ax.get_xlabel(), ax.get_ylabel()):
            assert re.search(r"\([^()]+\)", label), f"axis label without a unit: {label!r}"
            assert "unit not recorded" not in label, label
        texts += [ax.title, ax.xaxis.label, ax.yaxis.label]
        legend = ax.get_legend()
        if legend is not None:
            shown = [t.get_text() for t in legend.get_texts()]
            for key, name in keys_named.items():
                assert not any(s == key or s.startswith(key + " (") for s in shown), (key, shown)
                assert any(s.startswith(name) for s in shown), (name, shown)
    if title:
        sup = fig._suptitle
        assert sup is not None and " ".join(sup.get_text().split()) == title  # whole, only wrapped
        texts.append(sup)
    for t in texts:
        if t.get_text():
            assert _inside(t.get_window_extent(renderer), fig.bbox), f"clipped: {t.get_text()!r}"


@contextmanager
def _compared_figure(out, args: list[str], draw):
    """Run ``compare`` with ``args`` into ``out`` and yield ``draw(out)``'s figure, closed after."""
    import matplotlib.pyplot as plt

    from bench.cli import main

    assert main(["compare", *args, "--out", str(out), "--no-progress"]) == 0
    fig = draw(out)
    try:
        yield fig
    finally:
        plt.close(fig)


def test_table_benchmark_plot_is_readable(tmp_path):
    from bench.report import anytime_figure, load_records

    with _compared_figure(tmp_path / "c", ["--dataset", "cifar10", "--dataset", "ImageNet16-120", "--algo", "rs",
                                           "--algo", "rea", "--seeds", "2", "--budget", "40"],
                          lambda out: anytime_figure(load_records(out), LONG_TITLE)) as fig:
        _check_readable(fig, {"rs": "Random search", "rea": "Regularized evolution"}, LONG_TITLE)
        for ax in fig.axes:
            assert ax.get_xscale() == "log" and ax.get_yscale() == "symlog"  # flat tails stay apart
            assert "percentage points" in ax.get_ylabel()  # a difference of accuracies


def test_trained_benchmark_plot_is_readable(tmp_path):
    from bench.report import load_records
    from bench.trained_report import anytime_figure

    with _compared_figure(tmp_path / "f", ["--bench", "tree-fusion", "--dataset", "scene15", "--algo", "rea",
                                           "--algo", "csgnas", "--seeds", "2", "--budget-seconds", "5"],
                          lambda out: anytime_figure(load_records(out), LONG_TITLE)) as fig:
        _check_readable(fig, {"rea": "Regularized evolution", "csgnas": "CSG-NAS"}, LONG_TITLE)
        (ax,) = fig.axes
        assert ax.get_xscale() == "log" and "(s," in ax.get_xlabel() and "(%)" in ax.get_ylabel()


def test_multitask_plot_is_readable(tmp_path):
    from bench.multitask import MultiTaskRecord
    from bench.report import multitask_figure

    def draw(out):
        return multitask_figure([MultiTaskRecord.load(p) for p in sorted((out / "records").glob("*.json"))])

    with _compared_figure(tmp_path / "m", ["--multitask", "--dataset", "cifar10", "--dataset", "cifar100", "--algo",
                                           "rea", "--seeds", "1", "--budget", "30"], draw) as fig:
        _check_readable(fig, {"rea": "Regularized evolution"})


def test_a_key_no_family_names_is_shown_as_given():
    from bench.report import method_name

    assert method_name("rea", "nb201") == "Regularized evolution"
    assert method_name("mymodule:search", "nb201") == "mymodule:search"  # a user's own algorithm
    assert method_name("csgnas-noki", "tree-fusion").startswith("CSG-NAS2")
    assert method_name("csgnas", "no-such-benchmark") == "csgnas"


# ---- the README says what the outputs show -------------------------------------------------------
def _expected_status_rows() -> dict[str, dict[str, int]]:
    """Per paper and in all: rows per status and rows without a paper value, as `tables status` counts them."""
    from bench.repro.reproduce import scoreboard, scoreboard_totals
    from bench.repro.spec import STATUSES

    cols = [*STATUSES, "no-paper-value"]
    df = scoreboard()
    per = df.groupby("paper", sort=False)[cols].sum()
    out = {paper: {s: int(r[s]) for s in cols} for paper, r in per.iterrows()}
    totals = scoreboard_totals(df)
    out["all"] = {s: totals[s] for s in cols}
    return out


def test_readme_status_counts_match_the_specs(repo_root):
    from bench.repro.reproduce import scoreboard, scoreboard_totals
    from bench.repro.spec import STATUSES

    text = (repo_root / "README.md").read_text()
    assert not re.search(r"regenerates every paper table|every (paper )?table is regenerated", text, re.I)
    block = text.split("<!-- status-counts:")[1].split("\n\n")[0]
    rows = [[c.strip().strip("*") for c in line.strip("|").split("|")] for line in block.splitlines()[1:]
            if line.startswith("|") and not line.startswith("|---")]
    header, body = rows[0], rows[1:]
    cols = [*STATUSES, "no-paper-value"]
    assert header[1:] == [*cols, "rows"]
    shown = {r[0]: {s: int(v) for s, v in zip(cols, r[1:-1])} for r in body}
    expected = _expected_status_rows()
    hint = ("README's status table is stale: update it from `.venv/bin/mmnas-bench tables status` "
            f"(expected {expected})")
    assert shown == expected, hint
    for r in body:
        assert int(r[-1]) == sum(int(v) for v in r[1:1 + len(STATUSES)]), r
    # the sentence counts as `tables status` does: rows without a paper value are the suite's own
    t = scoreboard_totals(scoreboard())
    assert f"regenerates {t['regenerated']} of the papers' {t['paper-rows']} result rows" in text, hint
    assert f"plus {t['own']} rows of its own" in text, hint
    assert f"so the {t['own']} rows of its own are {t['added']} `added` ones" in text, hint
    hf = expected["HF-MNAS"]
    flat = " ".join(text.split())
    assert f"HF-MNAS (issue #15) has {hf['proxy']} rows regenerated on proxies" in flat, hint
    assert f"and {'none' if hf['pending'] == 0 else hf['pending']} pending; its {hf['not-offline']} not-offline rows" in flat, hint


def test_rows_without_a_paper_value_are_not_counted_as_the_papers():
    """A row of a spec that transcribes the paper, with no paper value of its own (all NaN, no
    paper_text), is the suite's own: `tables status` counts it under no-paper-value, not among
    the papers' result rows, nor among the regenerated ones (MRO's syn3-p2-planted stand-ins)."""
    from bench.repro.reproduce import REGENERATED, scoreboard, scoreboard_totals, spec_counts
    from bench.repro.spec import STATUSES

    mro = [(sid, r.name) for sid in ("mro-table4", "mro-table5", "mro-fig2") for r in SPECS[sid].rows
           if r.name.startswith("syn3-p2-planted") and r.status != "added"]
    assert len(mro) == 13
    for sid, name in mro:
        r = next(r for r in SPECS[sid].rows if r.name == name)
        assert all(v != v for v in r.paper) and not r.paper_text and not SPECS[sid].is_paper_row(r), (sid, name)
    paper_rows = regenerated = own = 0
    for spec in SPECS.values():
        transcribes = any(any(v == v for v in r.paper) or r.paper_text for r in spec.rows)
        for r in spec.rows:
            has_value = any(v == v for v in r.paper) or bool(r.paper_text) or (spec.kind == "figure" and not transcribes)
            if r.status == "added" or (not has_value and r.status in REGENERATED):
                own += 1
            if has_value and r.status not in ("added", "settings"):
                paper_rows += 1
                regenerated += r.status in REGENERATED
        c = spec_counts(spec)
        assert sum(c[s] for s in STATUSES) == len(spec.rows), spec.id
    t = scoreboard_totals(scoreboard())
    assert (t["paper-rows"], t["regenerated"], t["own"]) == (paper_rows, regenerated, own)
    assert t["no-paper-value"] >= 13
    # every row is the paper's result row, added, settings (each with the paper's setting) or without a paper value
    assert t["paper-rows"] + t["added"] + t["settings"] + t["no-paper-value"] == sum(t[s] for s in STATUSES)


def test_a_figure_without_transcribed_values_counts_its_series_as_the_papers():
    for sid in ("ktnas-fig5", "ktnas-fig6"):
        spec = SPECS[sid]
        assert spec.kind == "figure" and all(spec.is_paper_row(r) for r in spec.rows)
    # the rule reaches figures only: a table whose rows carry no paper value holds none of the paper's
    specs_without_values = [s for s in SPECS.values() if not any(r.transcribed for r in s.rows)]
    assert all(s.kind == "figure" or all(r.status == "added" for r in s.rows) for s in specs_without_values)


def test_settings_tables_label_their_rows_settings_and_show_ours(repo_root):
    """A table of hyper-parameters holds settings, not results: no row of it is pending, and the
    output shows the suite's own settings beside the paper's (ktnas-table1, mro-table3)."""
    import pandas as pd

    tables = [s for s in SPECS.values() if re.search(r"hyper-?parameters", s.title, re.I)]
    assert {s.id for s in tables} >= {"ktnas-table1", "mro-table3"}
    for spec in tables:
        assert spec.runner and all(r.status == "settings" for r in spec.rows), spec.id
        df = pd.read_csv(repo_root / "paper_repro" / "out" / f"{spec.id}.csv")
        assert (df.status == "settings").all() and df.note.str.len().min() > 40, spec.id
    df = pd.read_csv(repo_root / "paper_repro" / "out" / "ktnas-table1.csv")
    ours = df.pivot(index="row", columns="column", values="ours_mean")
    from bench.families.cells.ktnas import KTNASSettings

    s = KTNASSettings()
    assert (ours.loc["Population size", "NAS201"], ours.loc["Tournament size", "Trans101"]) == (s.population_size,
                                                                                              s.tournament_size)
    assert ours.loc["Ranking ratio (%)", "NAS201"] == 100 * s.ranking_ratio
    assert ours["DARTs"].isna().all()  # no DARTS space in the suite: nothing of ours to show
    assert "KTNASSettings" in df.note.iloc[0] and "DARTS" in df.note.iloc[0]


def test_ktnas_table3_weaknas_row_is_the_suites_weaknas_run(repo_root):
    """WeakNAS runs on TransNAS here, so its Table III row is regenerated, with the other searched rows'
    seeds and budget; only rows whose algorithm the suite lacks stay pending."""
    import pandas as pd

    from bench import algorithms

    spec = SPECS["ktnas-table3"]
    have = set(algorithms.names("transnas101-micro"))
    assert "weaknas" in have
    weak = next(r for r in spec.rows if r.name == "WeakNAS")
    assert weak.status == "proxy" and weak.key == "weaknas" and "not implemented" not in weak.reason.lower()
    for r in spec.rows:
        if r.status == "pending":
            assert r.name.lower().replace("-", "") not in {a.replace("-", "") for a in have}, r.name
            assert "WeakNAS" not in r.reason, r.name
    df = pd.read_csv(repo_root / "paper_repro" / "out" / "ktnas-table3.csv")
    n = df.groupby("row").ours_n.first()
    assert n["WeakNAS"] == n["RS"] == n["REA"] == int(spec.params["seeds"])
    assert (df[df.row == "WeakNAS"].status == "proxy").all() and df[df.row == "WeakNAS"].ours_mean.notna().all()
    assert f"{spec.params['budget']} evaluations per task" in df[df.row == "WeakNAS"].note.iloc[0]


#: runners that fill their rows by position and ignore the rows' keys
POSITIONAL_RUNNERS = {"hfmnas_inputs"}


def test_no_search_result_is_counted_as_two_regenerated_rows(repo_root):
    """Two regenerated rows of one spec that read the same key show one result twice, and the
    scoreboard would count it twice (hfmnas-table3's BM-NAS rows once did)."""
    import pandas as pd

    for spec in SPECS.values():
        if spec.runner in POSITIONAL_RUNNERS:
            continue
        keys = [r.key for r in spec.rows if r.key and r.status not in ("pending", "not-offline")]
        assert len(keys) == len(set(keys)), (spec.id, sorted(k for k in keys if keys.count(k) > 1))
    spec = SPECS["hfmnas-table3"]
    bm = {r.name: r for r in spec.rows if r.name.startswith("BM-NAS")}
    assert bm["BM-NAS (reproduced by the authors)"].status == "proxy"
    assert bm["BM-NAS"].status == "not-offline" and "BM-NAS (reproduced by the authors)" in bm["BM-NAS"].reason
    assert bm["BM-NAS"].paper[0] == 62.92  # the paper's value is still shown
    df = pd.read_csv(repo_root / "paper_repro" / "out" / "hfmnas-table3.csv")
    ran = df[df.ours_mean.notna()].row.unique()
    assert "BM-NAS" not in ran and "BM-NAS (reproduced by the authors)" in ran


def test_every_family_names_each_of_its_algorithms():
    """Legends show published names: every registered algorithm of every family has one."""
    from bench import families
    from bench.report import GENERIC_METHOD_NAMES

    for name in families.FAMILIES:
        fam = families.get(name)
        named = {**GENERIC_METHOD_NAMES, **fam.method_names()}
        keys = set(fam.algorithms()) | set(fam.multitask_algorithms())
        missing = sorted(k for k in keys if k not in named)
        assert not missing, (name, missing)

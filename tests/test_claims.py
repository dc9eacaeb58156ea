"""Claims follow statistics (issue #24 item 4): every sentence of README.md and of the committed paper
outputs (``paper_repro/out/*.md``, written by the runners' notes and row notes) that compares results
(beats, outperforms, better or worse than, matches, does not reach, the highest, ...) carries the
statistic it rests on - a named test (Mann-Whitney, Wilcoxon, bootstrap, ...), its p-value and the
number of seeds or runs - or says ``inconclusive``. :mod:`bench.stats` writes such sentences."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: a comparison of results: a verb or phrase that ranks one result against another
CLAIM = re.compile(
    r"\b(?:beats?|beaten|beating|outperform\w*|surpass\w*|exceeds?|better|worse|matches|match|"
    r"(?:does|do|did) not reach|reach(?:es)?\b(?=[^.;]*\b(?:against|than)\b)|highest|lowest|"
    r"best settings?|(?:is|are|stays?|remains?) the best|wins?|win over|loses?|trails?|trailing|edges(?-i:(?= [A-Z]))|"
    r"leads?\b(?! to)|stays? (?:above|below)|above at|below at|helps?|hurts?|catch(?:es)? up|"
    r"(?:higher|lower|fewer|more|less|larger|smaller|greater|faster|slower)\b[^.;:]{0,60}?\bthan)\b",
    re.IGNORECASE)

#: what a sentence needs beside its claim: a named test with its p-value and the seed or run counts
TEST = re.compile(r"\b(?:Mann-Whitney|Wilcoxon|bootstrap|Kruskal-Wallis|permutation|sign test|binomial)\b", re.I)
P_VALUE = re.compile(r"\bp\s*(?:=|<|>|>=|<=|\u2264|\u2265)\s*[0-9.]")
N_SEEDS = re.compile(r"\b(?:n = \d+|\d[\d,]* (?:vs|against|and) \d[\d,]* (?:seeds|runs|searches)|"
                     r"\d[\d,]* (?:paired )?(?:seeds|runs|searches))\b")
INCONCLUSIVE = re.compile(r"\binconclusive\b", re.I)

#: phrases that use a comparison word without comparing results, each with why: a phrase is blanked
#: before the search for claims, so the rest of its sentence is still checked
ALLOW: list[tuple[str, str]] = [
    (r"\((?:lower|higher) is better\)|(?:lower|higher) (?:values? )?(?:is|are) better",
     "a metric's direction, not a result"),
    (r"\b(?:whose|with the|the one (?:whose|with)|by) [^.;]{0,80}?\b(?:is the )?(?:highest|lowest|best)\b|"
     r"then lowest index|the highest (?:rate )?two views allow",
     "a selection rule or tie-break (which architecture, rate or cell a row shows), not a finding"),
    (r"(?:[Tt]he (?:paper's |results )?text|Sec\. [A-Z\d-]+|[Tt]he paper|[Tt]he Figure \d caption) (?:says|claims|"
     r"names|reports).*|neither matches Table [IVX]+'s|best setting \([^)]*\) is none of",
     "what the paper says or how its own numbers disagree (an inconsistency, a row's reason), not our result"),
    (r"differ by more than seed noise|beats? (?:a|every) (?:trivial )?predictor[^.;]*?(?:inputs|by more than 2 seed sd)|"
     r"does not beat (?:predicting every label positive|the all-positive predictor)[^.;]*?by more than 2 seed sd|"
     r"more than \d+%[^.;]*|and more than \d+, tie|no better than the constant [\w ]+ predictor",
     "the quality gate's rules and verdicts (documented thresholds in seed sd; a failed-seed flag), not tests"),
    (r"(?:similarity to its parent|clearly) exceeds|read one edge or more than two|smaller than one batch",
     "a threshold, count or size in a definition of the setup"),
    (r"\bkey match\b|matches one-by-one training to 1e-\d+|never matches the shipped tables|bit for bit",
     "numerical identity (a check passes or not), not a comparison of results"),
    (r"\bshould (?:not )?(?:beat|help)\b", "an expectation stated in a row's reason before the result"),
    (r"\bbest settings? \((?:paper|ours)\)", "a column header"),
    (r"cannot beat its parents.*", "a property of the algorithm (KTNAS's floor), derived, not measured"),
    (r"no more than seed noise does", "how to read a column (a definition)"),
]
_ALLOW = [(re.compile(p), why) for p, why in ALLOW]
_ABBREV = {"e.g.", "i.e.", "sec.", "fig.", "figs.", "vs.", "ref.", "cf.", "no.", "al.", "eq.", "approx."}


def blocks(text: str) -> list[str]:
    """Markdown without fenced code and HTML comments, as blocks: a paragraph, a list item (with
    its continuation lines) or one table row."""
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    out: list[list[str]] = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            out.append([])
            continue
        starts = s.startswith(("- ", "* ", "|", ">")) or re.match(r"\d+\. ", s) or not out or not out[-1]
        if starts or out[-1][0].startswith("|"):
            out.append([s])
        else:
            out[-1].append(s)
    return [re.sub(r"^(?:[-*>] |\d+\. )", "", " ".join(b)) for b in out if b]


def sentences(block: str) -> list[str]:
    """A block split at sentence ends (not after e.g., Sec., Fig., vs. and the like)."""
    out, start = [], 0
    for m in re.finditer(r"[.!?](?=\s+[A-Z(`*\[])", block):
        word = block[:m.end()].rsplit(None, 1)[-1].lower().lstrip("(")
        if word in _ABBREV or re.fullmatch(r"[a-z]\.", word):
            continue
        out.append(block[start:m.end()].strip())
        start = m.end()
    out.append(block[start:].strip())
    return [s for s in out if s]


def supported(text: str) -> bool:
    """Whether ``text`` carries a statistic (named test, p-value, seed or run counts) or says inconclusive."""
    return bool(INCONCLUSIVE.search(text) or (TEST.search(text) and P_VALUE.search(text) and N_SEEDS.search(text)))


def claims(sentence: str) -> list[str]:
    """The comparison phrases of ``sentence`` that no allow-list entry covers."""
    for pattern, _why in _ALLOW:
        sentence = pattern.sub(" ", sentence)
    return [m.group(0) for m in CLAIM.finditer(sentence)]


def unsupported(text: str, whole_block: bool = False) -> list[str]:
    """The sentences of markdown ``text`` that state a comparison without its statistic. With
    ``whole_block`` a statistic anywhere in the sentence's block (an output's note line or row
    note) supports it; otherwise it must be in the sentence itself."""
    bad = []
    for block in blocks(text):
        for s in sentences(block):
            if claims(s) and not supported(block if whole_block else s):
                bad.append(s)
    return bad


# ---- the scanner can fail -------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "As in the paper, L1 gives the highest rank correlation between prior and sub-network performance.",
    "- the DARTS search does worse than a lookup in the slice.",
    "HF-MNAS beats BM-NAS (55.1 against 53.6, p = 1.0).",  # a p-value without its test and seeds
    "Figs. 11-16: the paper's best settings are not ours.",
    "CSG-NAS outperforms EDF at 10 seeds (Mann-Whitney).",  # no p-value
    "Audio alone (58.7) matches the multimodal models.",
])
def test_a_bare_claim_fails(text):
    assert unsupported(text) == [text.removeprefix("- ")]


@pytest.mark.parametrize("text", [
    "A better than B: Mann-Whitney p = 0.012, difference of means +1.30 (95% bootstrap CI +0.40..+2.10), "
    "Cliff's delta +0.62, n = 20 vs 20 seeds.",
    "HF-MNAS vs BM-NAS: inconclusive at 3 seeds (Mann-Whitney p = 0.4, n = 3 vs 3 seeds).",
    "Room layout is the L2 loss x100 (lower is better).",
    "A trained table is worth searching only if its best architecture beats a predictor that ignores the inputs.",
    "The tabulated architecture with IMM whose validation F1-M is the highest, retrained.",
])
def test_a_supported_or_allowed_sentence_passes(text):
    assert unsupported(text) == []


def test_the_statistic_must_be_in_the_sentence_unless_the_block_is_one_note():
    text = "- X beats Y on every rate. Mann-Whitney p = 0.01, n = 10 vs 10 seeds."
    assert unsupported(text) == ["X beats Y on every rate."]
    assert unsupported(text, whole_block=True) == []


def test_sentences_do_not_split_at_abbreviations():
    assert sentences("See Sec. V-C and Fig. 3, e.g. Table II. Then more.") == \
        ["See Sec. V-C and Fig. 3, e.g. Table II.", "Then more."]


def test_bench_stats_sentences_pass_the_scanner():
    from bench.stats import compare_text

    for a, b in (([1, 2, 3], [1.5, 2.5, 9]), (list(range(20)), [x + 30 for x in range(20)])):
        for paired in (False, True):
            s = compare_text("A", a, "B", b, paired=paired) + "."
            assert supported(s), s


# ---- the committed texts --------------------------------------------------------------------------
def test_readme_claims_carry_their_statistic():
    bad = unsupported((ROOT / "README.md").read_text())
    assert not bad, "README.md states comparisons without their statistic (test, p, seeds) or 'inconclusive':\n" + \
        "\n".join(f"  - {s[:300]}" for s in bad)


@pytest.mark.parametrize("path", sorted((ROOT / "paper_repro" / "out").glob("*.md")), ids=lambda p: p.name)
def test_paper_output_claims_carry_their_statistic(path):
    bad = unsupported(path.read_text(), whole_block=True)
    assert not bad, f"{path.name} states comparisons without their statistic; fix the runner's notes:\n" + \
        "\n".join(f"  - {s[:300]}" for s in bad)


def test_every_allow_list_entry_is_still_needed():
    """An entry that matches nothing in README.md or the outputs any more is dropped, so the list stays short."""
    texts = [(ROOT / "README.md").read_text()] + [p.read_text() for p in (ROOT / "paper_repro" / "out").glob("*.md")]
    unused = [p for p, (_why) in ALLOW if not any(re.search(p, t) for t in texts)]
    assert not unused, f"allow-list entries that match nothing: {unused}"


# ---- bench.stats -----------------------------------------------------------------------------------
def test_compare_text_verdicts_and_determinism():
    from bench.stats import compare, compare_text

    few = compare_text("A", [70.0, 71.0, 72.0], "B", [50.0, 51.0, 52.0])
    assert few.startswith("A vs B: inconclusive at 3 seeds (Mann-Whitney p = 0.1,")  # 3 vs 3 can never reach 0.05
    assert "Cliff's delta +1.00, n = 3 vs 3 seeds)" in few
    many_a, many_b = [float(x) for x in range(20, 40)], [float(x) for x in range(20)]
    assert compare_text("A", many_a, "B", many_b).startswith("A better than B: Mann-Whitney p = ")
    assert compare_text("A", many_a, "B", many_b, higher_is_better=False).startswith("A worse than B: ")
    assert compare_text("A", many_a, "B", many_b, means=True, unit="runs").startswith("A 29.50 better than B 9.50")
    assert compare_text("A", many_a, "B", many_b) == compare_text("A", many_a, "B", many_b)  # seeded bootstrap
    paired = compare(many_a, many_b, paired=True)
    assert paired.test == "Wilcoxon" and paired.effect == 1.0 and paired.verdict == "better"
    assert "n = 20 searches, paired" in compare_text("A", many_a, "B", many_b, paired=True, unit="searches")
    # the direction is the rank effect's: a heavy tail can pull the mean the other way
    heavy = compare([1.0, 2.0, 3.0, 4.0, 5.0, 1000.0] * 5, [6.0, 7.0, 8.0, 9.0, 10.0, 11.0] * 5, higher_is_better=False)
    assert heavy.diff > 0 and heavy.effect < 0 and heavy.verdict == "better"
    assert heavy.text("A", "B").startswith("A better than B by ranks (the means disagree): Mann-Whitney p = ")
    same = compare([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert same.verdict == "inconclusive" and same.p != same.p

"""Typed record keys read and write exactly the overlay's key text."""

import sqlite3

import pytest

from bench.core.keys import KeyFormatError, RecordKey
from bench.paths import paper_repro_dir


def test_every_key_of_the_committed_paper_cache_round_trips_byte_for_byte():
    keys = [k for (k,) in sqlite3.connect(paper_repro_dir() / "cache" / "tree-fusion.sqlite").execute(
        "SELECT key FROM records")]
    assert len(keys) > 1000
    parsed = [RecordKey.parse(k) for k in keys]
    assert [p.text for p in parsed] == keys
    assert any(p.parent for p in parsed) and any(p.parent is None for p in parsed)  # inherited and from scratch


def test_an_architecture_may_contain_the_separator():
    arch = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"
    k = RecordKey("cifar10", arch, 2, "abc123", "0123456789abcdef")
    assert k.text == f"cifar10|{arch}|seed=2|recipe=abc123+from:0123456789abcdef"
    assert RecordKey.parse(k.text) == k


@pytest.mark.parametrize("bad", ["", "scene15", "scene15|v1", "scene15|v1|seed=x|recipe=r", "|v1|seed=0|recipe=r"])
def test_text_that_is_not_a_key_is_a_named_error(bad):
    with pytest.raises(KeyFormatError, match="record key"):
        RecordKey.parse(bad)

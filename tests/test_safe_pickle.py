"""Data pickles are read by a restricted unpickler: a crafted file cannot run code (issue #26)."""

import builtins
import codecs
import collections
import os
import pickle
import re
import struct
import subprocess

import numpy as np
import pytest

from bench.features import loaders as L
from bench.features.sequence import SequenceFormatError
from bench.features.sequence_build import read_mosi_audio, read_mosi_meta
from tests.conftest import SHARED, needs_shared


class Call:
    """Pickles as ``f(*args)``; nests, so a payload can sit anywhere in a valid structure."""

    def __init__(self, f, *args):
        self.f, self.args = f, args

    def __call__(self):  # the pickler only checks that a reduce target is callable
        raise AssertionError("never called here")

    def __reduce__(self):
        return self.f, self.args


def _payloads(pwned):
    """name -> (payload, regex of the global the loader must name: the first one in the stream)."""
    shell = f"touch {pwned}"
    return {
        "os.system": (Call(os.system, shell), re.escape(f"{os.system.__module__}.system")),
        "eval": (Call(builtins.eval, f"__import__('os').system({shell!r})"), r"builtins\.eval"),
        "subprocess.Popen": (Call(subprocess.Popen, ["touch", str(pwned)]), r"subprocess\.Popen"),
        # getattr(__import__('os'), 'system')(shell): no dangerous name is pickled directly
        "getattr": (Call(Call(getattr, Call(builtins.__import__, "os"), "system"), shell),
                    r"builtins\.getattr"),
    }


def _arr(*shape):
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape)


def _mmsa(evil):
    part = {"text": _arr(2, 3, 4), "audio": evil, "vision": _arr(2, 3, 2), "regression_labels": _arr(2)}
    return {"train": part, "valid": dict(part), "test": dict(part)}, 4


def _dialoguernn(evil):
    d = {"v0": [0, 1]}
    return (d, d, d, {"v0": [_arr(3)] * 2}, {"v0": [evil, _arr(3)]}, d, d, ["v0"], ["v0"]), 2


def _gcnet(evil):
    return [{"va": ["va_1"]}, {"va": [evil]}, {"va": [""]}, {"va": np.array(["A"])}, {"va"}, set(), set()], 2


def _mosi_audio(evil):
    return (_arr(1, 2, 3), np.ones((1, 2)), _arr(1, 2, 3), np.ones((1, 2)), 2, [2], [evil]), 2


def _mosi_meta(evil):
    return [{"va": ["va_1"]}, {"va": [0.5]}, {"va": [""]}, {"va": [evil]}, ["va"], [], []], 4


READERS = {
    "load_mmsa": (L.load_mmsa, _mmsa),
    "load_dialoguernn": (L.load_dialoguernn, _dialoguernn),
    "load_gcnet": (lambda p: L.load_gcnet(p, {"audio": p.parent}), _gcnet),
    "read_mosi_audio": (read_mosi_audio, _mosi_audio),
    "read_mosi_meta": (read_mosi_meta, _mosi_meta),
}


@pytest.mark.parametrize("where", ["top", "nested"])
@pytest.mark.parametrize("payload", ["os.system", "eval", "subprocess.Popen", "getattr"])
@pytest.mark.parametrize("reader", list(READERS))
def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, reader, payload, where):
    pwned = tmp_path / "pwned"
    evil, glob = _payloads(pwned)[payload]
    read, fmt = READERS[reader]
    obj, protocol = fmt(evil)  # the format's own protocol: 2 for the Python 2 era files
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps(evil if where == "top" else obj, protocol=protocol))
    with pytest.raises(SequenceFormatError, match=rf"data\.pkl refuses to load global '{glob}'"):
        read(path)
    assert not pwned.exists()


def test_persistent_ids_and_other_codecs_are_not_read(tmp_path):
    path = tmp_path / "p.pkl"
    path.write_bytes(b"\x80\x02Vx\nQ.")  # BINPERSID: would hand "x" to persistent_load
    with pytest.raises(SequenceFormatError, match="not a readable pickle"):
        L.read_pickle(path)
    path.write_bytes(pickle.dumps(Call(codecs.encode, "abc", "rot13"), protocol=2))
    with pytest.raises(SequenceFormatError, match="not a readable pickle.*rot13"):
        L.read_pickle(path)


# -- legitimate files --------------------------------------------------------------------
def _py2(obj) -> bytes:
    """Protocol-2 opcodes as Python 2 wrote them (str as BINSTRING, numpy arrays via
    numpy.core.multiarray._reconstruct with BINSTRING buffers), which Python 3 cannot write."""
    if isinstance(obj, bytes):  # a Python 2 str
        return b"T" + struct.pack("<i", len(obj)) + obj
    if isinstance(obj, bool):
        return b"\x88" if obj else b"\x89"
    if isinstance(obj, int):
        return b"J" + struct.pack("<i", obj)
    if isinstance(obj, float):
        return b"G" + struct.pack(">d", obj)
    if obj is None:
        return b"N"
    if isinstance(obj, tuple):
        return b"(" + b"".join(map(_py2, obj)) + b"t"
    if isinstance(obj, list):
        return b"](" + b"".join(map(_py2, obj)) + b"e"
    if isinstance(obj, dict):
        return b"}(" + b"".join(_py2(k) + _py2(v) for k, v in obj.items()) + b"u"
    if isinstance(obj, np.ndarray):
        dt = obj.dtype
        dtype = (b"cnumpy\ndtype\n" + _py2((dt.kind.encode() + str(dt.itemsize).encode(), 0, 1)) + b"R"
                 + _py2((3, dt.byteorder.replace("=", "<").encode(), None, None, None, -1, -1, 0)) + b"b")
        return (b"cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\n" + _py2((0,)) + _py2(b"b") + b"tR"
                + b"(" + _py2(1) + _py2(obj.shape) + dtype + _py2(False) + _py2(obj.tobytes()) + b"tb")
    raise TypeError(type(obj))


def _same(a, b):
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    else:
        assert a == b and getattr(a, "dtype", None) == getattr(b, "dtype", None)
    return True


def test_python2_pickle_with_arrays_loads_as_plain_pickle_does(tmp_path):
    x = np.arange(12, dtype=np.float64).reshape(2, 2, 3) / 7
    obj = (x, np.array([[1, 0], [0, 1]], dtype=np.int64), x, np.ones((2, 2), dtype=np.int64), 2, [2, 1], [1, 2])
    path = tmp_path / "audio.pickle"
    path.write_bytes(b"\x80\x02" + _py2(obj) + b".")
    got = L.read_pickle(path)
    _same(got, pickle.loads(path.read_bytes(), encoding="latin1"))
    assert got[0].flags.writeable and np.array_equal(got[0], x)
    audio = read_mosi_audio(path)
    assert [(p, i, len(f)) for p, i, f, _ in audio] == [("train", 0, 2), ("train", 1, 1),
                                                         ("test", 0, 1), ("test", 1, 2)]
    path.write_bytes(b"\x80\x02" + _py2({b"caf\xe9": [1.5, None, True], b"a": x[0]}) + b".")  # latin1 str keys
    got = L.read_pickle(path)
    assert list(got) == ["caf\xe9", "a"] and np.array_equal(got["a"], x[0])


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_python3_pickles_of_arrays_and_containers_still_load(tmp_path, protocol):
    obj = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.array(["x", "yz"]),
           "o": np.array([1, "b"], object), "scalars": [np.float64(0.5), np.int64(3), np.str_("u")], "set": {1, 2}, "fs": frozenset("ab"),
           "od": collections.OrderedDict(b=1), "dd": collections.defaultdict(list, k=[1]), "t": (b"raw", b"", 1 + 2j),
           "ba": bytearray(b"xy"), "big": 2**70, "range": range(3), "slice": slice(1, 2)}
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    got = L.read_pickle(path)
    _same(got, pickle.loads(path.read_bytes()))
    assert got["dd"]["missing"] == []  # the factory came through as list


@needs_shared
@pytest.mark.parametrize("name", ["mosi_audio_utterance.pickle", "mosi_meta_transcripts_labels.pkl"])
def test_the_real_python2_pickles_load_as_plain_pickle_does(name):
    path = SHARED / "sequence" / "mosi" / name
    with open(path, "rb") as fh:
        _same(L.read_pickle(path), pickle.load(fh, encoding="latin1"))

"""Garbage through every constructor and reader: a Python exception of an ordinary kind, never a Rust panic
(pyo3's PanicException is a BaseException) and never a crash."""

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byteshelf.mapbuffer import IntMap, MapBuffer
from byteshelf.roxxel import Roxxel
from byteshelf.sparse_buffer import SparseBuffer
from byteshelf.stream_buffer import StreamBuffer

ORDINARY = (ValueError, OSError, TypeError, KeyError, IndexError, OverflowError)


def exercise_map(m):
    len(m)
    for k in list(m.keys())[:20]:
        try:
            m[k]
        except ORDINARY:
            pass
    for probe in (0, 1, 2**64 - 1):
        probe in m  # noqa: B015
    try:
        m.validate()
    except ORDINARY:
        pass


def headed(prefix):
    return st.binary(max_size=200).map(lambda b: prefix + b)


@given(st.one_of(st.binary(max_size=200), headed(b"mapbufr\x01"), headed(b"mapbufr\x00none"), headed(b"mapbufr\x01zstd")))
def test_mapbuffer_garbage(data):
    try:
        m = MapBuffer(data)
    except ORDINARY:
        return
    exercise_map(m)


@given(st.one_of(st.binary(max_size=200), headed(b"intm\x00\x03")))
def test_intmap_garbage(data):
    try:
        m = IntMap(data)
    except ORDINARY:
        return
    exercise_map(m)


@given(st.binary(max_size=300))
def test_roxxel_garbage(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("g") / "g.rox"
    path.write_bytes(data)
    try:
        ds = Roxxel(str(path))
        for i in range(min(len(ds), 20)):
            bytes(ds[i])
        ds.verify()
    except ORDINARY:
        pass
    # A valid footer over garbage: the index is checked.
    import struct

    n, raw = len(data) // 16, len(data) // 2
    path.write_bytes(data + struct.pack("<qq8s8s", n, raw, b"uint8", b"ROXXEL02"))
    try:
        ds = Roxxel(str(path))
        for i in range(min(len(ds), 20)):
            bytes(ds[i])
        ds.verify()
    except ORDINARY:
        pass


@pytest.mark.parametrize(
    "make",
    [
        lambda: MapBuffer(None),
        lambda: MapBuffer(12),
        lambda: MapBuffer("a string"),
        lambda: MapBuffer({-1: b"x"}),
        lambda: MapBuffer({"k": b"x"}),
        lambda: MapBuffer({1: b"x"}, compress=object()),
        lambda: MapBuffer(io.BytesIO(b"not a file with a descriptor")),
        lambda: IntMap({1: -1}),
        lambda: IntMap({1: 2**64}),
        lambda: IntMap(3.5),
        lambda: Roxxel(12),
        lambda: Roxxel([b"bytes path"]).open(),
        lambda: Roxxel("/").open(),
        lambda: Roxxel("/dev/null").open(),
        lambda: Roxxel("x.rox").write([1, 2, 3]),
        lambda: Roxxel("x.rox").write([b"a"], block_size=0),
        lambda: Roxxel("x.rox").write([b"a"], block_size=-5),
        lambda: Roxxel("x.rox").write([b"a"], separator="not bytes"),
        lambda: Roxxel("x.rox").write([b"a"], max_shard_bytes=-1),
        lambda: SparseBuffer(-1),
        lambda: SparseBuffer("big"),
        lambda: SparseBuffer(10).add_region(0, 5),
        lambda: SparseBuffer(10).find_region(-1, 2),
        lambda: StreamBuffer(5),
        lambda: StreamBuffer(b"abc", -1),
        lambda: StreamBuffer(b"abc", 3, -1),
        lambda: StreamBuffer(iter([object()])).read(0, 1),
    ],
)
def test_constructors_refuse_garbage(make, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ORDINARY):
        make()

"""byteshelf.mapbuffer against mapbuffer 1.2.0: same bytes written, same values read, both ways."""

import mmap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byteshelf import DecompressionError, ValidationError
from byteshelf.mapbuffer import IntMap, MapBuffer

from conftest import reference

CODECS = [None, "gzip", "br", "zstd", "lzma"]
# mapbuffer 1.2.0 cannot look keys >= 2**63 up (OverflowError): compare on the range it supports.
maps = st.dictionaries(st.integers(0, 2**63 - 1), st.binary(max_size=60), max_size=60)


@given(data=maps, compress=st.sampled_from(CODECS), compute_crc=st.booleans())
def test_same_map_both_ways(data, compress, compute_crc):
    mapbuffer = reference("mapbuffer")
    ours = MapBuffer(data, compress=compress, compute_crc=compute_crc)
    theirs = mapbuffer.MapBuffer(data, compress=compress, compute_crc=compute_crc)
    if compress is None:
        assert ours.tobytes() == theirs.tobytes()  # uncompressed maps are byte-identical
    # Each reads the other's bytes.
    for buf in (ours.tobytes(), theirs.tobytes()):
        a, b = MapBuffer(buf), mapbuffer.MapBuffer(buf)
        assert len(a) == len(b) == len(data)
        assert a.keys() == [int(k) for k in b.keys()]  # slot order, as Python's
        assert a.todict() == b.todict() == data
        assert a.compress == b.compress
        assert a.format_version == b.format_version
        assert a.validate() and b.validate()
        for key in list(data)[:10] + [0, 7, 2**40 + 3]:
            assert (key in a) == (key in b)
            assert a.get(key, b"default") == b.get(key, b"default")
            if key in data and compress is None:
                assert a.size(key) == b.size(key)
        assert a.datasize() == b.datasize()
        assert a.header == b.header


@given(data=st.dictionaries(st.integers(0, 2**63 - 1), st.integers(0, 2**64 - 1), max_size=80))
def test_intmap_same_bytes(data):
    mapbuffer = reference("mapbuffer")
    ours, theirs = IntMap(data), mapbuffer.IntMap(data)
    assert ours.tobytes() == theirs.tobytes()
    back = IntMap(theirs.tobytes())
    assert back.todict() == {int(k): int(v) for k, v in theirs.todict().items()} == data
    for key in list(data)[:5] + [3]:
        assert back.get(key) == (None if key not in data else data[key])


def test_keys_over_the_whole_u64_range():
    mapbuffer = reference("mapbuffer")
    data = {0: b"zero", 2**63 - 1: b"a", 2**63: b"b", 2**64 - 1: b"max"}
    ours = MapBuffer(data)
    assert ours[2**63] == b"b" and ours[2**64 - 1] == b"max"
    assert ours.tobytes() == mapbuffer.MapBuffer(data).tobytes()
    # Deliberate difference: mapbuffer 1.2.0 cannot look these keys up, and wraps negative ones.
    theirs = mapbuffer.MapBuffer(ours.tobytes())
    with pytest.raises(OverflowError):
        theirs[2**63]
    assert theirs[-1] == b"max"
    assert -1 not in ours and ours.get(-1) is None and 2**64 not in ours
    with pytest.raises(KeyError):
        ours[-1]


@pytest.mark.parametrize("compress", CODECS)
def test_crc_damage_is_a_validation_error(compress):
    mapbuffer = reference("mapbuffer")
    buf = bytearray(MapBuffer({1: b"hello", 2: b"world"}, compress=compress).tobytes())
    at = buf.index(b"hello") if b"hello" in buf else len(buf) - 6
    buf[at] ^= 0xFF
    with pytest.raises(ValidationError, match="key 1|slot"):
        MapBuffer(bytes(buf))[1]
    with pytest.raises(mapbuffer.ValidationError):
        mapbuffer.MapBuffer(bytes(buf))[1]
    assert issubclass(ValidationError, ValueError)  # deliberate: an Exception, not a BaseException


def test_files_mmap_and_sliceable_objects(tmp_path):
    data = {i: bytes([i]) * i for i in range(1, 50)}
    path = tmp_path / "m.mb"
    path.write_bytes(MapBuffer(data, compress="br").tobytes())
    with open(path, "rb") as f:
        from_file = MapBuffer(f)
    assert from_file.todict() == data  # the file may be closed: the map holds its own descriptor
    with open(path, "rb") as f:
        assert MapBuffer(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)).todict() == data

    class Sliceable:
        def __init__(self, b):
            self.b = b

        def __getitem__(self, s):
            return self.b[s]

    assert MapBuffer(Sliceable(path.read_bytes())).todict() == data


def test_tobytesfn_frombytesfn_and_setitem():
    mb = MapBuffer({1: "un", 2: "deux"}, tobytesfn=str.encode, frombytesfn=bytes.decode)
    assert mb[2] == "deux" and mb.values() == ["deux", "un"]
    mb[1] = "UN"
    assert mb[1] == "UN"
    with pytest.raises(ValueError):
        mb[1] = "longer"
    im = IntMap(bytearray(IntMap({1: 2, 3: 4}).tobytes()))
    im[1] = 8
    assert im[1] == 8
    with pytest.raises(TypeError):
        IntMap(IntMap({1: 2}).tobytes()).__setitem__(1, 5)  # bytes are immutable


def test_unknown_codec_and_bad_data():
    with pytest.raises(ValueError):
        MapBuffer({1: b"x"}, compress="snappy")
    with pytest.raises(TypeError):
        MapBuffer()
    with pytest.raises(TypeError):
        MapBuffer({1: 5})
    with pytest.raises(ValidationError):
        MapBuffer(b"mapbufr\x01none\x05\x00\x00\x00")
    buf = bytearray(MapBuffer({1: b"x" * 100}, compress="zstd").tobytes())
    buf[33] ^= 0xFF  # inside the zstd frame header
    with pytest.raises(DecompressionError, match="key 1"):
        MapBuffer(bytes(buf), check_crc=False)[1]


def test_readers_and_a_writer_in_threads():
    import threading

    mb = MapBuffer({i: bytes([i % 256]) * 2000 for i in range(200)}, compress="zstd")
    stop = threading.Event()
    errors = []

    def reader():
        while not stop.is_set():
            for k in range(0, 200, 7):
                if mb[k][:1] not in (bytes([k % 256]), bytes([(k + 1) % 256])):
                    errors.append(k)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for round_ in range(200):
            for k in (0, 7, 14):
                mb[k] = bytes([(k + round_ % 2) % 256]) * 2000
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []

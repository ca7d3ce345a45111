"""byteshelf.sparse_buffer.SparseBuffer against roboto 0.62.0's SparseBuffer: the same operations give the same
results, except where ours differs on purpose (a gap raises NotCachedError; negative positions are refused)."""

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byteshelf import NotCachedError
from byteshelf.sparse_buffer import SparseBuffer

from conftest import reference

SIZE = 200

ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, SIZE - 1), st.binary(min_size=0, max_size=50)),
        st.tuples(st.just("seek"), st.integers(0, SIZE + 20), st.sampled_from([0, 1, 2])),
        st.tuples(st.just("read"), st.integers(-1, 80)),
        st.tuples(st.just("find"), st.integers(0, SIZE + 10), st.integers(0, 60)),
        st.tuples(st.just("clear")),
    ),
    max_size=40,
)


@given(ops=ops)
def test_same_results_as_roboto(ops):
    roboto = reference("roboto.storage.sparse_buffer")
    ours, theirs = SparseBuffer(SIZE), roboto.SparseBuffer(SIZE)
    for op in ops:
        kind = op[0]
        if kind == "add":
            _, offset, data = op
            data = data[: SIZE - offset]  # ours refuses regions past the end (a deliberate difference)
            ours.add_region(offset, data)
            theirs.add_region(offset, data)
        elif kind == "seek":
            _, offset, whence = op
            if whence != 0:
                offset -= SIZE // 2
            target = {0: 0, 1: theirs.tell(), 2: SIZE}[whence] + offset
            if target < 0:
                with pytest.raises(ValueError):  # ours refuses a negative position, roboto stores it
                    ours.seek(offset, whence)
                continue
            assert ours.seek(offset, whence) == theirs.seek(offset, whence)
        elif kind == "read":
            _, n = op
            pos = theirs.tell()
            want = theirs.read(n)
            in_gap = want == b"" and n != 0 and pos < SIZE
            if in_gap:
                with pytest.raises(NotCachedError) as err:
                    ours.read(n)
                assert err.value.offset == pos
                assert isinstance(err.value, OSError)
            else:
                assert ours.read(n) == want
        elif kind == "find":
            _, start, n = op
            assert ours.find_region(start, n) == theirs.find_region(start, n)
        else:
            ours.clear()
            theirs.clear()
        assert ours.regions == theirs.regions
        assert ours.tell() == theirs.tell()
        assert ours.size == theirs.size


def test_is_a_raw_io_base():
    sb = SparseBuffer(100)
    assert isinstance(sb, io.RawIOBase) and sb.readable() and sb.seekable() and not sb.writable()
    sb.add_region(0, b"line one\nline two\n")
    sb.add_region(18, b"end")
    assert sb.read(None) == b"line one\nline two\nend"
    sb.seek(0)
    buf = bytearray(4)
    assert sb.readinto(buf) == 4 and buf == b"line"
    sb.seek(-3, io.SEEK_END)
    with pytest.raises(NotCachedError) as err:
        sb.read()
    assert (err.value.offset, err.value.next_cached) == (97, None)
    with pytest.raises(ValueError):
        sb.seek(-1)
    with pytest.raises(ValueError):
        sb.seek(0, 3)
    with pytest.raises(ValueError):
        sb.add_region(99, b"xy")  # past the end of the file
    with pytest.raises(ValueError):
        sb.add_region(-1, b"x")
    with sb:
        pass
    assert sb.closed
    with pytest.raises(ValueError):
        sb.read(1)


def test_many_regions_any_order():
    sb = SparseBuffer(1 << 20)
    for i in reversed(range(0, 1 << 20, 4096)):
        sb.add_region(i, bytes([i // 4096 % 256]) * 2048)
    assert len(sb.regions) == 256
    sb.add_region(0, b"\x01" * (1 << 20))
    assert sb.regions == [(0, 1 << 20)]

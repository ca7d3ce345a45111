"""byteshelf.stream_buffer.StreamBuffer against the data itself and the `buffer` package's StreamBuffer (0.2.1),
which returns wrong bytes for skip-ahead reads: ours is compared with it wherever it is right."""

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from byteshelf import StreamError
from byteshelf.stream_buffer import StreamBuffer

from conftest import reference


def chunked(data, sizes):
    out, at, i = [], 0, 0
    while at < len(data):
        n = sizes[i % len(sizes)]
        out.append(data[at : at + n])
        at += n
        i += 1
    return out


@given(
    data=st.binary(max_size=300),
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=5),
    reads=st.lists(st.tuples(st.integers(0, 320), st.integers(0, 60)), max_size=20),
    max_size=st.sampled_from([0, 7, 5 * 1024 * 1024]),
)
def test_reads_return_the_data_and_agree_with_buffer_where_it_is_right(data, sizes, reads, max_size):
    buffer = reference("buffer")
    ours = StreamBuffer(iter(chunked(data, sizes)), len(data), max_size)
    theirs = buffer.StreamBuffer(iter(chunked(data, sizes)), len(data), max_size or 1)
    for offset, size in reads:
        want = data[offset : offset + size]
        skip_ahead = offset > theirs.stream_index
        got_theirs = theirs.read(offset, size)
        assert ours.read(offset, size) == want
        if not skip_ahead:
            assert got_theirs == want
    assert ours[:] == data
    assert len(ours) == len(data)
    assert ours.is_exhausted()


def test_buffers_skip_ahead_bug_is_fixed():
    buffer = reference("buffer")
    data = b"abcdefgh"
    theirs = buffer.StreamBuffer(iter([data[:4], data[4:]]), 8)
    assert theirs.read(5, 2) == b"ef"  # wrong: the chunk start, not offset 5
    ours = StreamBuffer(iter([data[:4], data[4:]]), 8)
    assert ours.read(5, 2) == b"fg"
    assert ours[1:3] == b"bc"
    assert ours[(2, 4)] == b"cd"


def test_lists_are_taken_once_and_errors_propagate():
    sb = StreamBuffer([b"abcd", b"efgh"])  # buffer 0.2.1 restarts a list on every pull
    assert sb.read(4, 4) == b"efgh" and sb.read(0, 8) == b"abcdefgh"

    def failing():
        yield b"1234"
        raise ConnectionError("peer went away")

    sb = StreamBuffer(failing())
    assert sb.read(0, 4) == b"1234"
    with pytest.raises(ConnectionError, match="peer went away"):
        sb.read(2, 10)
    assert sb.read(0, 2) == b"12"  # what was pulled stays readable
    with pytest.raises(ValueError):
        sb.read(-1, 2)
    with pytest.raises(ValueError):
        sb.read(0, -2)
    with pytest.raises(TypeError):
        sb[3]
    with pytest.raises(StreamError):
        StreamBuffer(iter([b"ab"]), 5).read(0, 10)  # shorter than its declared size
    with pytest.raises(TypeError):
        StreamBuffer(iter([1, 2])).read(0, 1)


def test_many_threads_read_one_stream():
    data = bytes(range(256)) * 2000
    sb = StreamBuffer(iter(chunked(data, [1000, 333, 4096])), len(data), 64 * 1024)
    errors = []

    def reader(seed):
        import random

        rng = random.Random(seed)
        for _ in range(300):
            off, n = rng.randrange(len(data)), rng.randrange(5000)
            if sb.read(off, n) != data[off : off + n]:
                errors.append((off, n))

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sb.spilled

"""byteshelf.roxxel.Roxxel against roxxel 0.9.14: same files written, same records read."""

import os
import sys
import threading
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from byteshelf import RoxxelError
from byteshelf.roxxel import Roxxel

from conftest import quiet, reference


def rox_files(d):
    """The visible shard files of a directory, name -> bytes."""
    return {
        name: open(os.path.join(d, name), "rb").read()
        for name in sorted(os.listdir(d))
        if name.endswith(".rox") and not name.startswith(".")
    }


items_st = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.text(max_size=20),
        st.binary(max_size=20).map(bytearray),
    ),
    max_size=30,
)


@given(
    first=items_st,
    second=items_st,
    block=st.integers(1, 64),
    separator=st.one_of(st.none(), st.binary(max_size=3)),
    limit=st.one_of(st.none(), st.integers(40, 400)),
)
def test_write_is_byte_identical_to_roxxel_0914(tmp_path_factory, first, second, block, separator, limit):
    roxxel = reference("roxxel")
    ours, theirs = tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("theirs")
    for items in (first, second):  # a fresh write, then an append
        before = rox_files(ours)
        Roxxel(str(ours / "ds.rox")).write(iter(items), separator=separator, block_size=block, max_shard_bytes=limit)
        if sum(len(i) for i in items) + len(separator or b"") * len(items) == 0:
            # No block at all. Deliberate difference: ours changes nothing, roxxel 0.9.14 leaves a 0-byte file, or
            # strips the index and footer of the file it appends to (which no reader opens again).
            assert rox_files(ours) == before
            return
        with quiet():
            roxxel.Roxxel(str(theirs / "ds.rox")).write(
                iter(items), separator=separator, block_size=block, max_shard_bytes=limit
            )
        assert rox_files(ours) == rox_files(theirs)


def test_numpy_items_set_the_dtype(tmp_path):
    roxxel = reference("roxxel")
    items = [np.arange(i, i + 7, dtype=np.int32) for i in range(9)]
    Roxxel(str(tmp_path / "ours.rox")).write(iter(items), block_size=16)
    with quiet():
        roxxel.Roxxel(str(tmp_path / "theirs.rox")).write(iter(items), block_size=16)
    assert (tmp_path / "ours.rox").read_bytes() == (tmp_path / "theirs.rox").read_bytes()
    with Roxxel(str(tmp_path / "ours.rox")) as ds:
        assert ds.dtype == "int32"
        assert np.array_equal(ds.typed_raw_data[:7], np.arange(7, dtype=np.int32))
        assert ds.raw_data.dtype == np.uint8  # as roxxel: raw_data is bytes; typed_raw_data has the footer's dtype


def dataset(tmp_path, n=50, limit=None, seed=1):
    rng = np.random.default_rng(seed)
    records = [bytes(rng.integers(0, 256, rng.integers(0, 60), dtype=np.uint8)) for _ in range(n)]
    Roxxel(str(tmp_path / "ds.rox")).write_records(iter(records), max_shard_bytes=limit)
    return records


@pytest.mark.parametrize("limit", [None, 300])
def test_reads_like_roxxel_0914(tmp_path, limit):
    roxxel = reference("roxxel")
    records = dataset(tmp_path, limit=limit)
    spec = str(tmp_path / "ds.rox")  # a sharded dataset opens by its write path, as roxxel >= 0.7
    with quiet():
        ref = roxxel.Roxxel(spec)
        ref.open()
    with Roxxel(spec) as ds:
        assert len(ds) == len(ref) == len(records)
        for i in list(range(len(records))) + [-1, -len(records)]:
            assert bytes(ds[i]) == bytes(ref[i]) == records[i]
        for s in [slice(None), slice(3, 40, 7), slice(None, None, -3), slice(-5, None), slice(10, 2)]:
            assert [bytes(r) for r in ds[s]] == [bytes(r) for r in ref[s]]
        for bad in [len(records), -len(records) - 1]:
            with pytest.raises(IndexError):
                ds[bad]
            with pytest.raises(IndexError):
                ref[bad]
        assert [bytes(r) for r in ds] == records
        assert ds.dtype == ref.dtype == "uint8"
        if limit is None:
            assert np.array_equal(ds.raw_data, ref.raw_data)
            assert np.array_equal(ds.index_table, ref.index_table)
        else:
            assert ds.raw_data is None and ref.raw_data is None
            assert len(ds.filepaths) == len(ref.filepaths) > 1
        assert ds[np.int64(3)].tobytes() == records[3]


def test_records_are_read_only_views_that_outlive_close(tmp_path):
    records = dataset(tmp_path)
    ds = Roxxel(str(tmp_path / "ds.rox"))
    view = ds[5]
    assert not view.flags.writeable and not view.flags.owndata
    with pytest.raises(ValueError):
        view[:1] = 0
    ds.close()
    assert view.tobytes() == records[5]


def test_write_records_appends_and_is_read_by_roxxel_0914(tmp_path):
    roxxel = reference("roxxel")
    path = str(tmp_path / "r.rox")
    assert Roxxel(path).write_records([b"one", "two", b""]) == 3
    assert Roxxel(path).write_records([bytearray(b"three")]) == 1
    with quiet():
        ref = roxxel.Roxxel(path)
        assert [bytes(r) for r in ref[:]] == [b"one", b"two", b"", b"three"]


def test_gather_copies_blocks_into_one_array(tmp_path):
    path = str(tmp_path / "b.rox")
    Roxxel(path).write([bytes(range(i, i + 8)) for i in range(10)], block_size=8)
    with Roxxel(path) as ds:
        batch = ds.gather([0, -1, 3])
        assert batch.shape == (3, 8)
        assert batch[2].tobytes() == bytes(range(3, 11))
        assert ds.gather([]).shape[0] == 0
        # A range is read from its bounds: the same records as the list of its indices, negatives included.
        for r in (range(10), range(2, 9, 3), range(-1, -11, -1), range(-3, 10), range(5, 5), range(9, 0, -4)):
            assert ds.gather(r).tobytes() == ds.gather(list(r)).tobytes()
        with pytest.raises(IndexError):
            ds.gather(range(5, 11))
        with pytest.raises(IndexError):
            ds.gather(range(-11, 0))
        # Ranges far longer than the dataset are refused by their first bad index, not by a reservation that
        # cannot be made (their step keeps them off the contiguous path).
        for huge in (range(0, 10**18, 2), range(-1, -(10**18), -1)):
            with pytest.raises(IndexError):
                ds.gather(huge)
    Roxxel(str(tmp_path / "v.rox")).write_records([b"a", b"bc"])
    with pytest.raises(ValueError, match="one size"):
        Roxxel(str(tmp_path / "v.rox")).gather([0, 1])


def test_gather_of_a_range_crosses_shards_and_names_a_ragged_record(tmp_path):
    blocks = [bytes(range(i, i + 8)) for i in range(20)]
    Roxxel(str(tmp_path / "s.rox")).write_records(blocks, max_shard_bytes=100)
    assert len(rox_files(tmp_path)) >= 3
    with Roxxel(str(tmp_path / "s.rox")) as ds:
        raw = ds.raw_data
        ranges = (range(20), range(3, 17), range(-15, -2), range(6, 7), range(0, 20, 2), range(19, -1, -1))
        # Empty ranges, at the end and outside the dataset: no index to check, as for an empty list.
        for r in ranges + (range(20, 20), range(30, 30), range(-30, -30)):
            batch = ds.gather(r)
            assert batch.shape == ((len(r), 8) if len(r) else (0, 0))
            assert batch.tobytes() == b"".join(blocks[i] for i in r) == ds.gather(list(r)).tobytes()
            assert not np.shares_memory(batch, raw)  # a copy, not a view of the map
        with pytest.raises(IndexError):
            ds.gather(range(15, 21))
        with pytest.raises(IndexError):
            ds.gather(range(-21, -3))

    # A record of another size, in the second shard: the same error from a range as from the list of its indices.
    sizes = [8] * 11 + [3] + [8] * 8
    Roxxel(str(tmp_path / "r.rox")).write_records([bytes(n) for n in sizes], max_shard_bytes=100)
    with Roxxel(str(tmp_path / "r.rox")) as ds:
        for r, message in (
            (range(0, 20), "record 11 has 3 bytes, the first has 8"),
            (range(4, 13), "record 11 has 3 bytes, the first has 8"),
            (range(11, 14), "record 12 has 8 bytes, the first has 3"),
            (range(-9, -6), "record 12 has 8 bytes, the first has 3"),
        ):
            for indices in (r, list(r)):
                with pytest.raises(ValueError, match=message):
                    ds.gather(indices)
        assert ds.gather(range(12, 20)).tobytes() == bytes(64)
    Roxxel(str(tmp_path / "e.rox")).write_records([b"", b"", b""])
    with Roxxel(str(tmp_path / "e.rox")) as ds:
        assert ds.gather(range(3)).shape == ds.gather([0, 1, 2]).shape == (3, 0)


# --- deliberate differences ------------------------------------------------------------------------------------


def test_an_empty_write_changes_nothing(tmp_path):
    path = tmp_path / "e.rox"
    assert Roxxel(str(path)).write(iter([])) == 0
    assert not path.exists()  # roxxel 0.9.14 leaves a 0-byte file that no reader opens


def test_an_invalid_file_is_refused_not_overwritten(tmp_path):
    path = tmp_path / "bad.rox"
    path.write_bytes(b"not a roxxel file, definitely")
    with pytest.raises(RoxxelError, match="bad.rox"):
        Roxxel(str(path)).write([b"x"])
    assert path.read_bytes() == b"not a roxxel file, definitely"  # roxxel 0.9.14 truncates it
    Roxxel(str(path)).write([b"x"], block_size=1, overwrite_invalid=True)
    assert [bytes(r) for r in Roxxel(str(path))] == [b"x"]


def test_a_failing_generator_rolls_back(tmp_path):
    path = str(tmp_path / "g.rox")
    Roxxel(path).write_records([b"keep", b"these"])

    def items():
        yield b"new"
        raise RuntimeError("source died")

    with pytest.raises(RuntimeError, match="source died"):
        Roxxel(path).write_records(items())
    assert [bytes(r) for r in Roxxel(path)] == [b"keep", b"these"]


def test_long_dtype_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="complex128"):
        Roxxel(str(tmp_path / "c.rox")).write([np.zeros(2, dtype=np.complex128)])


def test_errors_name_the_file(tmp_path):
    path = tmp_path / "trunc.rox"
    Roxxel(str(path)).write_records([b"abc"] * 10)
    data = path.read_bytes()
    path.write_bytes(data[:-1])
    with pytest.raises(RoxxelError, match="trunc.rox"):
        Roxxel(str(path)).open()
    with pytest.raises(FileNotFoundError):
        Roxxel(str(tmp_path / "missing.rox")).open()
    with pytest.raises(FileNotFoundError):
        Roxxel(str(tmp_path / "nothing_*.rox")).open()


def run_while_counting(call):
    """How far another Python thread counted while `call` ran. With a 1 s switch interval, a call that held the
    GIL throughout would leave the counter exactly where it was."""
    counter = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counter[0] += 1

    old = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    thread = threading.Thread(target=count)
    thread.start()
    try:
        time.sleep(0.05)  # let the counter start
        before = counter[0]
        call()
        after = counter[0]
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(old)
    return after - before


def test_gather_and_validate_release_the_gil(tmp_path):
    path = str(tmp_path / "big.rox")
    block = 1 << 20
    Roxxel(path).write((bytes([i]) * block for i in range(32)), block_size=block)
    ds = Roxxel(path)
    ds.verify()
    assert run_while_counting(lambda: ds.gather(range(32))) > 0
    from byteshelf.mapbuffer import MapBuffer

    big = MapBuffer({i: bytes([i % 256]) * 50_000 for i in range(400)}, compress="zstd")
    assert run_while_counting(big.validate) > 0  # CRC-32C and decompression of 20 MB

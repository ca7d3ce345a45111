"""Remote reading: `Roxxel(url)` and `MapBuffer.open_url(url)` against moto (S3), nginx (HTTP) and file:// URLs,
compared record by record and key by key with the same data read locally."""

import os
import threading

import numpy as np
import pytest

from byteshelf import ObjectChangedError, RemoteError
from byteshelf.mapbuffer import MapBuffer, RemoteMapBuffer
from byteshelf.roxxel import Roxxel, RoxxelError

RECORDS = [bytes([i % 251]) * (i % 97) + f"record {i}".encode() for i in range(3000)]


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Three shards (about 70 KB each) written locally, in order."""
    root = tmp_path_factory.mktemp("shards")
    Roxxel(str(root / "ds.rox")).write_records(iter(RECORDS), max_shard_bytes=70_000)
    found = sorted(root.glob("ds_*.rox"))
    assert len(found) == 3, found
    return found


def assert_reads_like_local(ds):
    assert len(ds) == len(RECORDS)
    assert ds.dtype == "uint8"
    for i in (0, 1, 999, 1000, 2999, -1, -3000):
        record = ds[i]
        assert isinstance(record, np.ndarray) and not record.flags.writeable
        assert record.tobytes() == RECORDS[i]
    assert [r.tobytes() for r in ds[5:2990:7]] == RECORDS[5:2990:7]
    assert [r.tobytes() for r in ds[::-1]] == RECORDS[::-1]
    assert [r.tobytes() for r in ds] == RECORDS
    with pytest.raises(IndexError):
        ds[3000]
    with pytest.raises(IndexError):
        ds[-3001]
    same = [i for i, r in enumerate(RECORDS) if len(r) == len(RECORDS[0])][:50]
    assert ds.gather(same).tobytes() == b"".join(RECORDS[i] for i in same)
    ds.verify()


def test_s3_glob_lists_the_shards_in_shard_number_order(moto, monkeypatch, shards):
    moto.env(monkeypatch)
    # Names whose byte order is not their number order: ds_9 < ds_10 < ds_11 only as numbers.
    for shard, name in zip(shards, ["ds_9.rox", "ds_10.rox", "ds_11.rox"]):
        moto.put(f"glob/{name}", shard.read_bytes())
    moto.put("glob/other.rox", shards[0].read_bytes())  # not matched by the pattern
    with Roxxel(f"s3://{moto.bucket}/glob/ds_*.rox") as ds:
        assert ds.filepaths == [f"s3://{moto.bucket}/glob/ds_{n}.rox" for n in (9, 10, 11)]
        assert_reads_like_local(ds)
    assert "remote shards" not in repr(ds)


def test_s3_prefix_and_single_object(moto, monkeypatch, shards):
    moto.env(monkeypatch)
    for shard in shards:
        moto.put(f"prefix/{shard.name}", shard.read_bytes())
    assert_reads_like_local(Roxxel(f"s3://{moto.bucket}/prefix/"))
    one = Roxxel(f"s3://{moto.bucket}/prefix/{shards[1].name}")
    local = Roxxel(str(shards[1]))
    assert len(one) == len(local) > 0
    assert [r.tobytes() for r in one] == [r.tobytes() for r in local]


def test_https_object_and_file_url(nginx, shards, tmp_path):
    single = tmp_path / "one.rox"
    Roxxel(str(single)).write_records(iter(RECORDS))
    (nginx.root / "one.rox").write_bytes(single.read_bytes())
    assert_reads_like_local(Roxxel(f"{nginx.url}/one.rox"))
    assert_reads_like_local(Roxxel(f"file://{single}"))
    glob = Roxxel(f"file://{shards[0].parent}/ds_*.rox")
    assert_reads_like_local(glob)
    assert glob.filepaths == [f"file://{s}" for s in shards]


def test_remote_records_outlive_the_dataset(nginx, shards):
    (nginx.root / "keep.rox").write_bytes(shards[0].read_bytes())
    ds = Roxxel(f"{nginx.url}/keep.rox")
    records = ds[0:10]
    ds.close()
    del ds
    assert [r.tobytes() for r in records] == RECORDS[:10]


def test_reads_from_many_threads(moto, monkeypatch, shards):
    moto.env(monkeypatch)
    for shard in shards:
        moto.put(f"threads/{shard.name}", shard.read_bytes())
    ds = Roxxel(f"s3://{moto.bucket}/threads/")
    failures = []

    def work(seed):
        rng = np.random.default_rng(seed)
        for i in rng.integers(0, len(RECORDS), 100):
            if ds[int(i)].tobytes() != RECORDS[i]:
                failures.append(int(i))

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_replaced_object_raises_object_changed(nginx, moto, monkeypatch, shards):
    # HTTP: the file is replaced under nginx after open; the next read is refused, naming both versions.
    path = nginx.root / "replaced.rox"
    path.write_bytes(shards[0].read_bytes())
    ds = Roxxel(f"{nginx.url}/replaced.rox")
    assert ds[-1].tobytes() == RECORDS[len(Roxxel(str(shards[0]))) - 1]
    replacement = path.with_name("new.rox")
    replacement.write_bytes(shards[1].read_bytes())
    os.utime(replacement, (1, 1))  # another mtime, so another ETag
    replacement.replace(path)
    with pytest.raises(ObjectChangedError) as caught:
        ds[0]
    err = caught.value
    assert isinstance(err, RemoteError) and isinstance(err, OSError)
    assert "replaced.rox" in err.name and "replaced.rox" in str(err)
    assert err.expected and err.expected in str(err)
    assert err.start < err.end
    # Opened again, the new version reads.
    assert Roxxel(f"{nginx.url}/replaced.rox")[0].tobytes() == RECORDS[len(Roxxel(str(shards[0])))]

    # S3: a new object under the same key after open.
    moto.env(monkeypatch)
    moto.put("replaced/map.mb", MapBuffer({k: b"old %d" % k for k in range(5000)}).tobytes())
    mb = MapBuffer.open_url(f"s3://{moto.bucket}/replaced/map.mb")
    moto.put("replaced/map.mb", MapBuffer({k: b"new %d" % k for k in range(5000)}).tobytes())
    with pytest.raises(ObjectChangedError) as caught:
        mb[0]
    assert "replaced/map.mb" in caught.value.name
    assert caught.value.expected != caught.value.found


MAP = {k * 7919 % 100_003: (b"value %d " % k) * (k % 5) for k in range(2000)}
MAP[2**64 - 1] = b"max"


@pytest.mark.parametrize("compress", [None, "gzip", "zstd"])
def test_mapbuffer_open_url_reads_like_local(nginx, moto, monkeypatch, compress):
    moto.env(monkeypatch)
    data = MapBuffer(MAP, compress=compress).tobytes()
    local = MapBuffer(data)
    (nginx.root / f"map-{compress}.mb").write_bytes(data)
    moto.put(f"maps/map-{compress}.mb", data)
    for url in (f"{nginx.url}/map-{compress}.mb", f"s3://{moto.bucket}/maps/map-{compress}.mb"):
        mb = MapBuffer.open_url(url)
        assert isinstance(mb, RemoteMapBuffer)
        assert len(mb) == len(local) and mb.compress == local.compress and mb.nbytes == len(data)
        for key in list(MAP)[::37] + [2**64 - 1]:
            assert mb[key] == local[key] == MAP[key]
            assert key in mb
        assert 1 not in mb and -1 not in mb and 2**64 not in mb
        with pytest.raises(KeyError):
            mb[1]
        assert mb.get(1, b"default") == b"default"
        assert mb.get_many([0, 1, 2**64 - 1]) == [MAP.get(0), None, b"max"]
        assert dict(mb.items()) == MAP
        assert sorted(mb.keys()) == sorted(MAP)
        assert mb.validate()
    decoded = MapBuffer.open_url(f"{nginx.url}/map-{compress}.mb", frombytesfn=len)
    assert decoded[2**64 - 1] == 3


def test_remote_errors(nginx, moto, monkeypatch, shards):
    moto.env(monkeypatch)
    with pytest.raises(FileNotFoundError, match="missing.rox"):
        Roxxel(f"{nginx.url}/missing.rox").open()
    with pytest.raises(FileNotFoundError, match="no object matches"):
        len(Roxxel(f"s3://{moto.bucket}/nothing/ds_*.rox"))
    with pytest.raises(FileNotFoundError):
        MapBuffer.open_url(f"s3://{moto.bucket}/missing.mb")
    with pytest.raises(ValueError):
        Roxxel("nosuchscheme://x/y.rox")
    with pytest.raises(ValueError, match="not a list"):
        Roxxel([f"{nginx.url}/a.rox"])
    (nginx.root / "ro.rox").write_bytes(shards[0].read_bytes())
    with pytest.raises(ValueError, match="read-only"):
        Roxxel(f"{nginx.url}/ro.rox").write_records([b"x"])
    (nginx.root / "garbage.rox").write_bytes(b"not a roxxel file" * 100)
    with pytest.raises(ValueError):  # RoxxelError, naming the object
        Roxxel(f"{nginx.url}/garbage.rox").open()
    (nginx.root / "garbage.mb").write_bytes(b"not a mapbuffer" * 100)
    with pytest.raises(ValueError, match="garbage.mb"):  # ValidationError
        MapBuffer.open_url(f"{nginx.url}/garbage.mb")


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_CRC32C = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli), bit-reflected, as the `.crc` sidecars store it."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def sidecar(records):
    """The `.crc` sidecar of a shard holding `records` (docs/formats/roxxel.md): magic, count, payload end, header
    CRC, one CRC-32C per record, CRC of all of it. Written here, since the Python writer writes none."""
    import struct

    head = b"ROXXCRC1" + struct.pack("<QQ", len(records), sum(map(len, records)) if records else 0)
    body = head + struct.pack("<I", crc32c(head)) + b"".join(struct.pack("<I", crc32c(r)) for r in records)
    return body + struct.pack("<I", crc32c(body))


def test_verify_checksums_checks_remote_reads_against_sidecar_objects(nginx, moto, monkeypatch, shards, tmp_path):
    assert crc32c(b"123456789") == 0xE3069283
    per_shard = [[r.tobytes() for r in Roxxel(str(shard))] for shard in shards]
    assert sum(per_shard, []) == RECORDS
    first = len(per_shard[0])
    # Record 5 of the second shard gets a flipped byte; the first two shards have sidecars, the third has none.
    flipped = shards[1].read_bytes()
    at = sum(map(len, per_shard[1][:5]))
    flipped = flipped[:at] + bytes([flipped[at] ^ 0x20]) + flipped[at + 1 :]
    objects = {
        shards[0].name: shards[0].read_bytes(),
        shards[0].name + ".crc": sidecar(per_shard[0]),
        shards[1].name: flipped,
        shards[1].name + ".crc": sidecar(per_shard[1]),
        shards[2].name: shards[2].read_bytes(),
    }
    local = tmp_path / "local"
    local.mkdir()
    for name, body in objects.items():
        (local / name).write_bytes(body)
        (nginx.root / name).write_bytes(body)
    moto.env(monkeypatch)
    for name, body in objects.items():
        moto.put(f"crc/{name}", body)
    wrong = bytes([RECORDS[first + 5][0] ^ 0x20]) + RECORDS[first + 5][1:]

    local_error = None
    for url in (
        str(local / "ds_*.rox"),
        f"s3://{moto.bucket}/crc/ds_*.rox",
        f"{nginx.url}/{shards[1].name}",
    ):
        one = not url.endswith("*.rox")
        index = 5 if one else first + 5
        # Without the option, the flipped record is read as it is.
        assert Roxxel(url)[index].tobytes() == wrong
        ds = Roxxel(url, verify_checksums=True)
        with pytest.raises(RoxxelError) as caught:
            ds[index]
        message = str(caught.value)
        assert shards[1].name in message and "record 5 (payload offset %d)" % at in message, message
        if local_error is None:
            local_error = message.replace(str(local) + "/", "")
        else:
            # The remote error is the local one, naming the object instead of the file.
            assert message.replace("crc/", "") == local_error, (message, local_error)
        with pytest.raises(RoxxelError):
            ds[index - 2 : index + 2]
        with pytest.raises(RoxxelError):
            ds.verify()
        assert ds[index + 1].tobytes() == RECORDS[first + 6]
        if not one:
            # The third shard has no sidecar: read unchecked, as locally.
            assert [r.tobytes() for r in ds[first + len(per_shard[1]) :]] == RECORDS[first + len(per_shard[1]) :]
            assert ds[0].tobytes() == RECORDS[0]
    # Sound objects with their sidecars read and verify with the option on, over HTTP too.
    good = Roxxel(f"{nginx.url}/{shards[0].name}", verify_checksums=True)
    assert [r.tobytes() for r in good] == per_shard[0]
    good.verify()

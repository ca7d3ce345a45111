"""The Python side of the mapbuffer conformance suite, run in the venv that has mapbuffer==1.2.0.

Usage:
  py_helper.py write <manifest> <dir>      build every case of the manifest with MapBuffer/IntMap into <dir>/<name>.bin
  py_helper.py read <manifest> <dir>       read <dir>/<name>.bin, validate, dump to <dir>/<name>.py.txt
  py_helper.py special <dir>               hand-made payloads Python writes but does not all read (see run.py)

Manifest lines: `<name> <kind> <codec> <version>` with kind `map` or `intmap`; the entries of a case are in
`<name>.in.txt` next to the manifest, one `<key> <hex value>` per line (IntMap values are decimal).
A dump is `HEADER <version> <codec> <len>` then one `<key> <hex>` line per entry in ascending key order.
"""
import os
import sys

import crc32c
from mapbuffer import IntMap, MapBuffer

LOOKUP_LIMIT = 2**63  # Python mapbuffer cannot look up larger keys


def load_entries(path, kind):
    entries = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition(" ")
            entries[int(key)] = int(value) if kind == "intmap" else bytes.fromhex(value)
    return entries


def manifest(path):
    with open(path) as f:
        for line in f:
            name, kind, codec, version = line.split()
            yield name, kind, (None if codec == "none" else codec), int(version)


def write(manifest_path, out_dir):
    base = os.path.dirname(manifest_path)
    for name, kind, codec, version in manifest(manifest_path):
        entries = load_entries(os.path.join(base, name + ".in.txt"), kind)
        if kind == "intmap":
            data = IntMap(entries).tobytes()
        else:
            data = MapBuffer(entries, compress=codec, compute_crc=(version == 1)).tobytes()
        with open(os.path.join(out_dir, name + ".bin"), "wb") as f:
            f.write(bytes(data))


def dump_map(data):
    mb = MapBuffer(data)
    mb.validate()
    lines = ["HEADER %d %s %d" % (mb.format_version, mb.compress or "none", len(mb))]
    items = {int(k): bytes(v) for k, v in mb.items()}
    if len(items) != len(mb):
        raise AssertionError("items() gave %d entries for %d keys" % (len(items), len(mb)))
    for key, value in items.items():
        if key < LOOKUP_LIMIT:
            if bytes(mb[key]) != value or key not in mb:
                raise AssertionError("lookup of key %d disagrees with items()" % key)
    for key in sorted(items):
        lines.append("%d %s" % (key, items[key].hex()))
    return lines


def dump_intmap(data):
    im = IntMap(data)
    im.validate()
    lines = ["HEADER 0 none %d" % len(im)]
    items = {int(k): int(v) for k, v in im.items()}
    for key, value in items.items():
        if key < LOOKUP_LIMIT and int(im[key]) != value:
            raise AssertionError("lookup of key %d disagrees with items()" % key)
    for key in sorted(items):
        lines.append("%d %d" % (key, items[key]))
    return lines


def read(manifest_path, in_dir):
    for name, kind, _, _ in manifest(manifest_path):
        with open(os.path.join(in_dir, name + ".bin"), "rb") as f:
            data = f.read()
        try:
            lines = dump_intmap(data) if kind == "intmap" else dump_map(data)
        except BaseException as err:  # mapbuffer's errors derive from BaseException
            lines = ["ERROR %s: %s" % (type(err).__name__, err)]
        with open(os.path.join(in_dir, name + ".py.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")


def handmade(tag, payloads, version=1):
    """A map {1: payloads[0], 2: payloads[1], ...} with the given stored payloads, laid out by hand."""
    import mapbufferaccel

    n = len(payloads)
    layout = list(mapbufferaccel.eytzinger_sort_indices(n))
    keys = [int(rank) + 1 for rank in layout]
    stored = []
    for key in keys:
        payload = payloads[key - 1]
        if version == 1:
            payload += crc32c.crc32c(payload).to_bytes(4, "little")
        stored.append(payload)
    out = b"mapbufr" + bytes([version]) + tag + n.to_bytes(4, "little")
    offset = 16 + 16 * n
    for key, value in zip(keys, stored):
        out += key.to_bytes(8, "little") + offset.to_bytes(8, "little")
        offset += len(value)
    return out + b"".join(stored)


def special(out_dir):
    """Payloads other encoders produce, which Rust must read (Python reads only some), and a corrupted CRC.

    Writes <name>.bin and <name>.expected.txt (the dump Rust must produce) and prints the case names.
    """
    import gzip
    import io
    import lzma

    import zstandard

    one, two = b"hello " * 50, b"world"
    zstd, zstd_bare = zstandard.ZstdCompressor(), zstandard.ZstdCompressor(write_content_size=False)
    bio = io.BytesIO()
    with gzip.GzipFile(filename="x.txt", mode="wb", fileobj=bio, mtime=1) as f:
        f.write(one)
    # name: (tag, [(stored payload, decoded value), ...])
    cases = {
        "zstd-no-content-size": (b"zstd", [(zstd_bare.compress(one), one), (zstd_bare.compress(b""), b"")]),
        "zstd-two-frames": (b"zstd", [(zstd.compress(one) + zstd.compress(two), one + two), (zstd.compress(two), two)]),
        "zstd-checksum": (b"zstd", [(zstandard.ZstdCompressor(write_checksum=True).compress(one), one)]),
        "gzip-two-members": (b"gzip", [(gzip.compress(one) + gzip.compress(two), one + two), (gzip.compress(b""), b"")]),
        "gzip-mtime": (b"gzip", [(gzip.compress(one, mtime=12345), one)]),
        "gzip-fname": (b"gzip", [(bio.getvalue(), one)]),
        "lzma-two-streams": (b"lzma", [(lzma.compress(one) + lzma.compress(two), one + two)]),
        "lzma-alone": (b"lzma", [(lzma.compress(one, format=lzma.FORMAT_ALONE), one)]),
        "lzma-check-none": (b"lzma", [(lzma.compress(one, check=lzma.CHECK_NONE), one)]),
    }
    for name, (tag, pairs) in cases.items():
        with open(os.path.join(out_dir, name + ".bin"), "wb") as f:
            f.write(handmade(tag, [payload for payload, _ in pairs]))
        codec = {b"00br": "br"}.get(tag, tag.decode())
        lines = ["HEADER 1 %s %d" % (codec, len(pairs))]
        lines += ["%d %s" % (i + 1, value.hex()) for i, (_, value) in enumerate(pairs)]
        with open(os.path.join(out_dir, name + ".expected.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    # A flipped payload byte under a correct header: the CRC check must catch it.
    good = bytearray(MapBuffer({1: b"hello", 2: b"world"}).tobytes())
    good[good.index(b"hello")] = ord("H")
    with open(os.path.join(out_dir, "crc-corrupt.bin"), "wb") as f:
        f.write(good)
    with open(os.path.join(out_dir, "crc-corrupt.expected.txt"), "w") as f:
        f.write("ERROR CrcMismatch\n")
    print("\n".join(list(cases) + ["crc-corrupt"]))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "write":
        write(sys.argv[2], sys.argv[3])
    elif command == "read":
        read(sys.argv[2], sys.argv[3])
    elif command == "special":
        special(sys.argv[2])
    else:
        sys.exit("unknown command " + command)

#!/usr/bin/env python3
"""Conformance of the `byteshelf` command with the Python references, roxxel 0.1.0 and 0.9.14 and mapbuffer 1.2.0.

Run by `cargo xtask conformance byteshelf-cli` as

    run.py --bin-dir <dir with byteshelf> --work <empty dir> --python r01=<python> --python r09=<python>
           --python mapbuffer=<python>

(with the system python3, stdlib only). Both directions are covered: Python writes datasets and maps and
`byteshelf rox info/get/cat/verify` and `byteshelf map info/get/dump/verify` must report what Python reads;
`byteshelf rox pack` and `byteshelf map build` write files that Python must read back, byte for byte identical to
Python's own where the format is deterministic. Prints one row per case (`ok   <case>` / `FAIL <case>: <why>`)
and exits non-zero on any mismatch.
"""
import argparse
import base64
import json
import os
import random
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CODECS = ["none", "gzip", "br", "zstd", "lzma"]


class Mismatch(Exception):
    pass


class Suite:
    def __init__(self, bin_dir, work, pythons):
        self.byteshelf = os.path.join(os.path.abspath(bin_dir), "byteshelf")
        self.work = work
        self.pythons = pythons
        self.failures = 0
        self.cases = 0

    # -- running things ------------------------------------------------------------------------------------------

    def cli(self, *args, expect=0, stdin=None):
        """Runs byteshelf in the work directory; returns stdout bytes. Checks the exit status."""
        proc = subprocess.run(
            [self.byteshelf, *args], cwd=self.work, input=stdin, capture_output=True
        )
        if proc.returncode != expect:
            raise Mismatch(
                "byteshelf %s exited %d (expected %d): %s"
                % (" ".join(args), proc.returncode, expect, proc.stderr.decode(errors="replace").strip())
            )
        stderr = proc.stderr.decode(errors="replace")
        if expect != 0:
            lines = stderr.splitlines()
            if len(lines) != 1 or not lines[0].startswith("error: ") or "panicked" in stderr:
                raise Mismatch("expected one error line, got %r" % stderr)
        return proc.stdout, stderr

    def py(self, env, script, *args):
        """Runs a helper script under the venv python of `env`; returns its stdout as text."""
        proc = subprocess.run(
            [self.pythons[env], os.path.join(HERE, script), *args],
            cwd=self.work,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise Mismatch("%s %s failed: %s" % (script, " ".join(args), proc.stderr.strip()[-800:]))
        return proc.stdout

    def path(self, name):
        return os.path.join(self.work, name)

    def write_json(self, name, value):
        with open(self.path(name), "w") as f:
            json.dump(value, f)
        return self.path(name)

    def case(self, name, fn):
        self.cases += 1
        try:
            fn()
        except Mismatch as err:
            self.failures += 1
            print("FAIL %s: %s" % (name, err), flush=True)
        except Exception as err:  # a crash of the driver is a failure of the case, reported as such
            self.failures += 1
            print("FAIL %s: %s: %s" % (name, type(err).__name__, err), flush=True)
        else:
            print("ok   %s" % name, flush=True)

    # -- roxxel --------------------------------------------------------------------------------------------------

    def py_rox_write(self, path, records, limit=None):
        spec = self.write_json(os.path.basename(path) + ".records.json", [r.hex() for r in records])
        self.py("r01", "py_rox.py", "write", path, spec, "none" if limit is None else str(limit))

    def py_rox_read(self, spec, env="r01"):
        out = json.loads(self.py(env, "py_rox.py", "read", spec))
        return [bytes.fromhex(r) for r in out["records"]], out["shards"]

    def check_cli_reads(self, spec, records, shards):
        """byteshelf rox info/get/cat/verify on `spec` agree with `records` in `shards` shard files."""
        info = json.loads(self.cli("rox", "info", spec, "--json")[0])
        expect(info["records"], len(records), "records in rox info")
        expect(len(info["shards"]), shards, "shards in rox info")
        expect({s["footer"] for s in info["shards"]}, {"ROXXEL01"}, "footers")
        expect(info["payload_bytes"], sum(map(len, records)), "payload bytes")
        if records:
            sizes = sorted(map(len, records))
            expect(info["record_size"], {"min": sizes[0], "median": sizes[(len(sizes) - 1) // 2], "max": sizes[-1]}, "record sizes")
        rng = random.Random(len(records))
        for index in rng.sample(range(len(records)), min(20, len(records))) + [-1, -len(records)] if records else []:
            got = self.cli("rox", "get", spec, str(index))[0]
            expect(got, records[index], "rox get %d" % index)
        framed = self.cli("rox", "cat", spec, "--sep", "u32le")[0]
        expect(unframe(framed), records, "rox cat --sep u32le")
        expect(self.cli("rox", "cat", spec, "--sep", "none")[0], b"".join(records), "rox cat --sep none")
        self.cli("rox", "verify", spec)
        if len(records) > 4:
            got = unframe(self.cli("rox", "cat", spec, "--sep", "u32le", "--range", "2..-1")[0])
            expect(got, records[2:-1], "rox cat --range 2..-1")

    def python_wrote(self, spec, records):
        """What Python reads back from the dataset it wrote from `records`: roxxel 0.1.0 drops empty records."""
        got, shards = self.py_rox_read(spec)
        expect(got, [r for r in records if r], "records Python reads back from its own dataset")
        return got, shards

    def rox_python_writes_single(self):
        records = sample_records(200, seed=1)
        self.py_rox_write(self.path("py_single.rox"), records)
        got, _ = self.python_wrote("py_single.rox", records)
        self.check_cli_reads("py_single.rox", got, 1)

    def rox_python_writes_empty_records(self):
        records = [b"", b"x", b"", b"", b"\n\r\x00", b""]
        self.py_rox_write(self.path("py_empties.rox"), records)
        got, _ = self.python_wrote("py_empties.rox", records)
        self.check_cli_reads("py_empties.rox", got, 1)

    def rox_python_writes_sharded(self):
        records = sample_records(300, seed=2)
        self.py_rox_write(self.path("py_sharded.rox"), records, limit=2000)
        got, shards = self.python_wrote("py_sharded_*.rox", records)
        if shards < 3:
            raise Mismatch("expected several shards, Python wrote %d" % shards)
        self.check_cli_reads("py_sharded_*.rox", got, shards)

    def pack_dir(self, name, records):
        os.makedirs(self.path(name))
        for i, record in enumerate(records):
            with open(self.path("%s/%04d" % (name, i)), "wb") as f:
                f.write(record)

    def rox_cli_packs_files(self):
        # Empty files are records too (roxxel 0.1.0 would drop them); Python reads them back as empty records.
        records = sample_records(150, seed=3)
        if b"" not in records:
            raise Mismatch("the sample has no empty record")
        self.pack_dir("pack_in", records)
        self.cli("rox", "pack", "cli_files.rox", "pack_in", "--footer", "01")
        got, shards = self.py_rox_read("cli_files.rox")
        expect(got, records, "records Python reads")
        expect(shards, 1, "shards")

    def rox_cli_bytes_equal_python(self):
        records = [r for r in sample_records(150, seed=8) if r]
        self.pack_dir("same_in", records)
        self.cli("rox", "pack", "cli_same.rox", "same_in", "--footer", "01")
        self.py_rox_write(self.path("py_same.rox"), records)
        expect(read(self.path("cli_same.rox")), read(self.path("py_same.rox")), "bytes of the shard (CLI vs Python)")

    def rox_cli_packs_lines_sharded(self):
        records = [("line %d %s" % (i, "x" * (i % 37))).encode() for i in range(400)]
        text = b"".join(r + b"\n" for r in records)
        self.cli("rox", "pack", "cli_lines.rox", "--lines", "-", "--max-shard-bytes", "1500", "--footer", "01", stdin=text)
        got, shards = self.py_rox_read("cli_lines_*.rox")
        expect(got, records, "records Python reads")
        self.py_rox_write(self.path("py_lines.rox"), records, limit=1500)
        _, py_shards = self.py_rox_read("py_lines_*.rox")
        expect(shards, py_shards, "shard count (CLI vs Python)")
        for i in range(shards):
            ours, theirs = "cli_lines_%04d.rox" % i, "py_lines_%04d.rox" % i
            expect(read(self.path(ours)), read(self.path(theirs)), "bytes of shard %d" % i)

    def rox_cli_appends_like_python(self):
        first = [r for r in sample_records(40, seed=4) if r]
        second = [r for r in sample_records(30, seed=5) if r]
        self.py_rox_write(self.path("append.rox"), first)
        # The CLI appends records given as files; Python appends to its own copy.
        self.pack_dir("append_in", second)
        self.cli("rox", "pack", "append.rox", "--append", "append_in")
        self.py_rox_write(self.path("py_append.rox"), first)
        self.py_rox_write(self.path("py_append.rox"), second)
        expect(read(self.path("append.rox")), read(self.path("py_append.rox")), "bytes after an append")
        got, _ = self.py_rox_read("append.rox")
        expect(got, first + second, "records Python reads after the CLI appended")

    def rox_cli_default_is_read_by_newest_roxxel(self):
        # Every roxxel from 0.6 to 0.9.14 reads only ROXXEL02: the CLI's default footer must be one of them, and a
        # sharded dataset opens by the path it was written to in both.
        records = [("rec %d %s" % (i, "y" * (i % 29))).encode() for i in range(300)]
        text = b"".join(r + b"\n" for r in records)
        self.cli("rox", "pack", "new.rox", "--lines", "-", "--max-shard-bytes", "1200", stdin=text)
        got, shards = self.py_rox_read("new.rox", env="r09")
        expect(got, records, "records roxxel 0.9.14 reads by the write path")
        if shards < 3:
            raise Mismatch("expected several shards, got %d" % shards)
        info = json.loads(self.cli("rox", "info", "new.rox", "--json")[0])
        expect({s["footer"] for s in info["shards"]}, {"ROXXEL02"}, "footers of the CLI's default")
        expect(len(info["shards"]), shards, "shards the CLI opens by the write path")

    def rox_damage_is_reported(self):
        records = sample_records(10, seed=6)
        self.py_rox_write(self.path("damaged.rox"), records)
        data = bytearray(read(self.path("damaged.rox")))
        payload = sum(map(len, records))
        data[payload + 8 * 3 + 7] ^= 0x40  # an index entry's top byte: far past the payload
        with open(self.path("damaged.rox"), "wb") as f:
            f.write(data)
        _, stderr = self.cli("rox", "verify", "damaged.rox", expect=1)
        if "damaged.rox" not in stderr or "offset" not in stderr:
            raise Mismatch("the error does not name the file and offset: %r" % stderr)
        with open(self.path("cut.rox"), "wb") as f:
            f.write(read(self.path("py_single.rox"))[:-5])
        self.cli("rox", "info", "cut.rox", expect=1)

    # -- mapbuffer -----------------------------------------------------------------------------------------------

    def py_map_write(self, name, entries, codec, crc):
        spec = self.write_json(name + ".entries.json", [[k, v.hex()] for k, v in entries.items()])
        self.py("mapbuffer", "py_map.py", "write", self.path(name), spec, codec, "1" if crc else "0")

    def py_map_read(self, name):
        return json.loads(self.py("mapbuffer", "py_map.py", "read", self.path(name)))

    def check_cli_reads_map(self, name, entries, codec, version):
        info = json.loads(self.cli("map", "info", name, "--json")[0])
        expect((info["keys"], info["codec"], info["format_version"]), (len(entries), codec, version), "map info")
        if entries:
            expect((info["min_key"], info["max_key"]), (min(entries), max(entries)), "key range")
        for key in sorted(entries)[:: max(1, len(entries) // 25)]:
            expect(self.cli("map", "get", name, str(key))[0], entries[key], "map get %d" % key)
        dump = [json.loads(line) for line in self.cli("map", "dump", name, "--json")[0].splitlines()]
        expect([d["key"] for d in dump], sorted(entries), "keys in map dump")
        expect([d["value_bytes"] for d in dump], [len(entries[k]) for k in sorted(entries)], "value lengths in map dump")
        expect({d["crc"] for d in dump} - {"ok" if version == 1 else "none"}, set(), "crc states in map dump")
        self.cli("map", "verify", name)
        absent = next(k for k in range(1, 10**6) if k not in entries)
        self.cli("map", "get", name, str(absent), expect=1)

    def map_python_writes(self, codec, crc):
        entries = sample_entries(120, seed=hash((codec, crc)) & 0xFFFF)
        name = "py_%s_%d.mb" % (codec, crc)
        self.py_map_write(name, entries, codec, crc)
        self.check_cli_reads_map(name, entries, codec, 1 if crc else 0)

    def map_cli_builds(self, codec, version):
        entries = sample_entries(150, seed=100 + CODECS.index(codec) * 2 + version)
        lines = "".join(
            json.dumps({"key": k, "value": base64.b64encode(v).decode()}) + "\n" for k, v in entries.items()
        )
        name = "cli_%s_%d.mb" % (codec, version)
        self.cli("map", "build", name, "--jsonl", "-", "--compress", codec, "--format-version", str(version), stdin=lines.encode())
        got = self.py_map_read(name)
        if "error" in got:
            raise Mismatch("Python cannot read the map: %s" % got["error"])
        expect((got["format_version"], got["compress"]), (version, codec), "header Python reads")
        expect({k: bytes.fromhex(v) for k, v in got["entries"]}, entries, "entries Python reads")
        if codec == "none":
            py_name = "py_same_%d.mb" % version
            self.py_map_write(py_name, entries, codec, version == 1)
            expect(read(self.path(name)), read(self.path(py_name)), "bytes of the map (CLI vs Python)")

    def map_cli_builds_from_files(self):
        entries = sample_entries(60, seed=7)
        os.makedirs(self.path("map_in"))
        for key, value in entries.items():
            with open(self.path("map_in/%d" % key), "wb") as f:
                f.write(value)
        self.cli("map", "build", "cli_files.mb", "map_in")
        self.py_map_write("py_files.mb", entries, "none", True)
        expect(read(self.path("cli_files.mb")), read(self.path("py_files.mb")), "bytes of the map (CLI vs Python)")

    def map_damage_agrees(self):
        entries = {1: b"hello", 2: b"world", 3: b"again"}
        self.py_map_write("damaged.mb", entries, "none", True)
        data = bytearray(read(self.path("damaged.mb")))
        data[data.index(b"world")] = ord("W")
        with open(self.path("damaged.mb"), "wb") as f:
            f.write(data)
        _, stderr = self.cli("map", "verify", "damaged.mb", expect=1)
        if "damaged.mb" not in stderr or "key 2" not in stderr:
            raise Mismatch("the error does not name the file and key: %r" % stderr)
        self.cli("map", "get", "damaged.mb", "2", expect=1)
        expect(self.cli("map", "get", "damaged.mb", "1")[0], b"hello", "an undamaged value")
        if "error" not in self.py_map_read("damaged.mb"):
            raise Mismatch("Python's validate() accepts the damaged map")


def expect(got, want, what):
    if got != want:
        g, w = repr(got), repr(want)
        raise Mismatch("%s: got %s, expected %s" % (what, g[:300], w[:300]))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def unframe(data):
    records, at = [], 0
    while at < len(data):
        (n,) = struct.unpack_from("<I", data, at)
        records.append(data[at + 4 : at + 4 + n])
        at += 4 + n
    return records


def sample_records(n, seed):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.randrange(4)
        if kind == 0:
            out.append(b"")
        elif kind == 1:
            out.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))))
        elif kind == 2:
            out.append(("record %d\nwith a newline" % i).encode())
        else:
            out.append(bytes([i % 256]) * rng.randrange(50, 300))
    return out


def sample_entries(n, seed):
    rng = random.Random(seed)
    keys = {0, 2**64 - 1, 2**63} | {rng.randrange(2**40) for _ in range(n)}
    return {k: bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64))) * rng.randrange(1, 4) for k in keys}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--python", action="append", default=[], metavar="ENV=PYTHON")
    parser.add_argument("--rust", help="unused: this suite drives the byteshelf binary")
    args = parser.parse_args()
    pythons = dict(p.split("=", 1) for p in args.python)
    for env in ("r01", "r09", "mapbuffer"):
        if env not in pythons:
            sys.exit("run.py: --python %s=<venv python> is required" % env)
    os.makedirs(args.work, exist_ok=True)
    suite = Suite(args.bin_dir, os.path.abspath(args.work), pythons)

    suite.case("rox: Python writes one shard; CLI info/get/cat/verify", suite.rox_python_writes_single)
    suite.case("rox: Python writes empty and binary records; CLI reads", suite.rox_python_writes_empty_records)
    suite.case("rox: Python writes shards; CLI reads the glob", suite.rox_python_writes_sharded)
    suite.case("rox: CLI packs files (empty ones too); Python reads them", suite.rox_cli_packs_files)
    suite.case("rox: CLI packs files; bytes equal Python's", suite.rox_cli_bytes_equal_python)
    suite.case("rox: CLI packs lines into shards; bytes equal Python's", suite.rox_cli_packs_lines_sharded)
    suite.case("rox: CLI appends to Python's file like Python does", suite.rox_cli_appends_like_python)
    suite.case("rox: damaged and truncated files: exit 1, one line", suite.rox_damage_is_reported)
    suite.case(
        "rox: CLI packs with its default footer; roxxel 0.9.14 reads it by the write path",
        suite.rox_cli_default_is_read_by_newest_roxxel,
    )
    for codec in CODECS:
        for crc in (True, False):
            suite.case(
                "map: Python writes %s crc=%s; CLI info/get/dump/verify" % (codec, crc),
                lambda codec=codec, crc=crc: suite.map_python_writes(codec, crc),
            )
    for codec in CODECS:
        for version in (1, 0):
            suite.case(
                "map: CLI builds %s v%d; Python reads and validates" % (codec, version),
                lambda codec=codec, version=version: suite.map_cli_builds(codec, version),
            )
    suite.case("map: CLI builds from key-named files; bytes equal Python's", suite.map_cli_builds_from_files)
    suite.case("map: a damaged value: CLI and Python both refuse it", suite.map_damage_agrees)

    print("%d cases, %d failed" % (suite.cases, suite.failures))
    sys.exit(1 if suite.failures else 0)


if __name__ == "__main__":
    main()

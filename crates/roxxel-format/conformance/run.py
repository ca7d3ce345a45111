#!/usr/bin/env python3
"""Conformance of roxxel-format against the Python roxxel package (stdlib only; run by `cargo xtask conformance`).

    run.py --rust <conformance example> --work <empty dir> --python r01=<venv python> --python r05=<venv python>

r01 is roxxel 0.1.0 (ROXXEL01 footers), r05 is roxxel 0.5.0 (ROXXEL02 footers), r09 is roxxel 0.9.14, the newest
release (ROXXEL02 only; opens a sharded dataset by the path it was written to). Each case prints
`ok   <case>` or `FAIL <case>: <why>`; the exit status is non-zero on any failure.
"""
import argparse
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HELPER = os.path.join(HERE, "py_roxxel.py")


class Mismatch(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Mismatch(why)


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise Mismatch("{} failed: {}".format(" ".join(cmd[:3]), proc.stderr.strip()[-800:]))
    return proc.stdout


class Suite:
    def __init__(self, rust, work, pythons):
        self.rust = rust
        self.work = work
        self.pythons = pythons
        self.failures = 0
        self.count = 0

    def case(self, name, fn):
        self.count += 1
        d = os.path.join(self.work, "case{:02d}".format(self.count))
        os.makedirs(d)
        try:
            fn(d)
        except Mismatch as err:
            self.failures += 1
            print("FAIL {}: {}".format(name, err))
        except Exception as err:  # noqa: BLE001 - any crash is a failed case
            self.failures += 1
            print("FAIL {}: {}: {}".format(name, type(err).__name__, err))
        else:
            print("ok   {}".format(name))
        sys.stdout.flush()

    # --- the two implementations -------------------------------------------------------------------------

    def records_file(self, d, records):
        path = os.path.join(d, "records-{}.txt".format(len(os.listdir(d))))
        with open(path, "w") as f:
            for r in records:
                f.write(r.hex() + "\n")
        return path

    def rust_write(self, path, records, limit=None, footer=None):
        cmd = [self.rust, "write", path, self.records_file(os.path.dirname(path), records)]
        if limit is not None:
            cmd += ["--max-shard-bytes", str(limit)]
        if footer is not None:
            cmd += ["--footer", footer]
        run(cmd)

    def rust_dump(self, spec):
        shards, records = [], []
        for line in run([self.rust, "dump", spec]).split("\n")[:-1]:
            kind, _, rest = line.partition("\t")
            if kind == "shard":
                shards.append(rest.split("\t"))
            else:
                records.append(bytes.fromhex(rest))
        return shards, records

    def py_write(self, env, path, records, limit=None):
        rec_file = self.records_file(os.path.dirname(path), records)
        run([self.pythons[env], HELPER, "write", path, rec_file, "none" if limit is None else str(limit)])

    def py_read(self, env, spec):
        dtype, records = None, []
        for line in run([self.pythons[env], HELPER, "read", spec]).split("\n")[:-1]:
            if line.startswith("dtype\t"):
                dtype = line[6:]
            else:
                records.append(bytes.fromhex(line))
        return dtype, records


def visible_files(d):
    out = {}
    for name in sorted(os.listdir(d)):
        if name.startswith(".") or not name.endswith(".rox"):
            continue
        with open(os.path.join(d, name), "rb") as f:
            out[name] = f.read()
    return out


def same_files(a, b, what):
    fa, fb = visible_files(a), visible_files(b)
    check(sorted(fa) == sorted(fb), "{}: python wrote {}, rust wrote {}".format(what, sorted(fa), sorted(fb)))
    for name in fa:
        if fa[name] != fb[name]:
            n = next((i for i, (x, y) in enumerate(zip(fa[name], fb[name])) if x != y), min(len(fa[name]), len(fb[name])))
            raise Mismatch("{}: {} differs at byte {} (python {} B, rust {} B)".format(what, name, n, len(fa[name]), len(fb[name])))


def records(seed, n, max_len=200, empty=False):
    rng = random.Random(seed)
    out = [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, max_len))) for _ in range(n)]
    if empty:
        out[1:1] = [b""]
        out.append(b"")
    return out


def ten_by_ten(tag):
    return [bytes([tag + i]) * 10 for i in range(10)]


def same_records(got, want, what):
    if got != want:
        i = next((i for i, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))
        raise Mismatch("{}: {} records vs {} expected, first difference at record {}".format(what, len(got), len(want), i))


def cases_for(s, env, footer, kind):
    """Cases that hold for one Python version. `footer` is the Rust --footer flag that matches its writer."""

    def py_single_rust_reads(d):
        recs = records(1, 300, empty=True)
        path = os.path.join(d, "a.rox")
        s.py_write(env, path, recs)
        _, py = s.py_read(env, path)
        shards, rust = s.rust_dump(path)
        same_records(rust, py, "rust vs python reading a python file")
        if kind == "ROXXEL01":
            same_records(rust, [r for r in recs if r], "0.1.0 drops empty records")
        else:
            same_records(rust, recs, "0.5 keeps empty records")
        check(shards[0][1] == kind, "footer kind {}".format(shards[0][1]))

    def py_sharded_rust_reads(d):
        recs = records(2, 400)
        base = os.path.join(d, "ds.rox")
        s.py_write(env, base, recs, limit=2000)
        pattern = os.path.join(d, "ds_*.rox")
        _, py = s.py_read(env, pattern)
        shards, rust = s.rust_dump(pattern)
        same_records(rust, py, "rust vs python reading python shards")
        check(len(shards) > 5, "expected many shards, got {}".format(len(shards)))
        check([sh[0] for sh in shards] == sorted(visible_files(d)), "shard order")
        shards_dir, rust_dir = s.rust_dump(d)
        same_records(rust_dir, py, "rust reading the directory")

    def rust_single_py_reads(d):
        recs = records(3, 300, empty=True)
        path = os.path.join(d, "a.rox")
        s.rust_write(path, recs, footer=footer)
        _, py = s.py_read(env, path)
        same_records(py, recs, "python reading a rust file (empty records kept)")

    def rust_sharded_py_reads(d):
        recs = records(4, 500, empty=True)
        s.rust_write(os.path.join(d, "ds"), recs, limit=3000, footer=footer)
        _, py = s.py_read(env, os.path.join(d, "ds_*.rox"))
        same_records(py, recs, "python reading rust shards")

    def identical_single_and_append(d):
        first, second = records(5, 200), records(6, 50)
        for who in ("py", "rust"):
            os.makedirs(os.path.join(d, who))
        py_path, rust_path = os.path.join(d, "py", "a.rox"), os.path.join(d, "rust", "a.rox")
        s.py_write(env, py_path, first)
        s.rust_write(rust_path, first, footer=footer)
        same_files(os.path.join(d, "py"), os.path.join(d, "rust"), "fresh write")
        s.py_write(env, py_path, second)
        s.rust_write(rust_path, second, footer=footer)
        same_files(os.path.join(d, "py"), os.path.join(d, "rust"), "append")

    def identical_sharded_and_append(d):
        scenarios = [
            ("notes 10x10 B, max 100", ten_by_ten(0x30), [b"x" * 10] * 3, 100, "t.rox"),
            ("random, max 1000", records(7, 120), records(8, 40), 1000, "r.rox"),
            ("base without .rox", records(9, 60), records(10, 7), 700, "big"),
            ("records larger than the limit", records(11, 30, max_len=600), records(12, 5, max_len=900), 300, "l.rox"),
        ]
        for what, first, second, limit, name in scenarios:
            sub = os.path.join(d, name.replace(".", "_"))
            for who in ("py", "rust"):
                os.makedirs(os.path.join(sub, who))
            s.py_write(env, os.path.join(sub, "py", name), first, limit=limit)
            s.rust_write(os.path.join(sub, "rust", name), first, limit=limit, footer=footer)
            same_files(os.path.join(sub, "py"), os.path.join(sub, "rust"), what + ", fresh")
            s.py_write(env, os.path.join(sub, "py", name), second, limit=limit)
            s.rust_write(os.path.join(sub, "rust", name), second, limit=limit, footer=footer)
            same_files(os.path.join(sub, "py"), os.path.join(sub, "rust"), what + ", append")

    def notes_shard_sizes(d):
        s.rust_write(os.path.join(d, "t.rox"), ten_by_ten(0x41), limit=100, footer=footer)
        extra = 8 if kind == "ROXXEL02" else 0
        sizes = [len(v) for v in visible_files(d).values()]
        if kind == "ROXXEL01":
            check(sizes == [96, 96, 60], "shard sizes {}".format(sizes))
        else:
            check(sum(sizes) == 10 * 10 + 10 * 8 + len(sizes) * (24 + extra), "shard sizes {}".format(sizes))
        s.rust_write(os.path.join(d, "t.rox"), [b"y" * 10] * 3, limit=100, footer=footer)
        _, py = s.py_read(env, os.path.join(d, "t_*.rox"))
        same_records(py, ten_by_ten(0x41) + [b"y" * 10] * 3, "python reading after a rust append")

    def each_appends_to_the_other(d):
        a, b, c = records(13, 80), records(14, 20), records(15, 20)
        path = os.path.join(d, "x.rox")
        s.rust_write(path, a, footer=footer)
        s.py_write(env, path, b)
        s.rust_write(path, c, footer=footer)
        _, py = s.py_read(env, path)
        _, rust = s.rust_dump(path)
        same_records(py, a + b + c, "python reading")
        same_records(rust, a + b + c, "rust reading")

    tag = "{} ({})".format(env, kind)
    s.case(tag + ": python writes one file, rust reads it record for record", py_single_rust_reads)
    s.case(tag + ": python writes shards, rust reads the glob and the directory", py_sharded_rust_reads)
    s.case(tag + ": rust writes one file, python reads it record for record", rust_single_py_reads)
    s.case(tag + ": rust writes shards, python reads the glob", rust_sharded_py_reads)
    s.case(tag + ": byte-identical single file, then identical append", identical_single_and_append)
    s.case(tag + ": byte-identical shards (4 layouts), then identical sharded append", identical_sharded_and_append)
    s.case(tag + ": 10 x 10 B with max 100 gives the documented shards; python reads a rust append", notes_shard_sizes)
    s.case(tag + ": rust and python append to each other's file", each_appends_to_the_other)


def r05_only(s):
    def dtype_int32(d):
        path = os.path.join(d, "tok.rox")
        run([s.pythons["r05"], HELPER, "write-int32", path, "25"])
        shards, rust = s.rust_dump(path)
        dtype, py = s.py_read("r05", path)
        check(dtype == "int32", "python dtype {}".format(dtype))
        check(shards[0][1:3] == ["ROXXEL02", "int32"], "rust footer/dtype {}".format(shards[0][2:4]))
        same_records(rust, py, "int32 blocks")

    def reads_rust_roxxel01(d):
        recs = records(16, 100)
        path = os.path.join(d, "v1.rox")
        s.rust_write(path, recs, footer="01")
        dtype, py = s.py_read("r05", path)
        check(dtype == "uint8", "0.5 reports dtype {} for ROXXEL01".format(dtype))
        same_records(py, recs, "0.5 reading a rust ROXXEL01 file")

    s.case("r05: python 0.5 writes int32 arrays, rust reports dtype int32 and the same records", dtype_int32)
    s.case("r05: python 0.5 reads a rust ROXXEL01 file (dtype uint8)", reads_rust_roxxel01)


def r09_only(s):
    def default_is_readable(d):
        recs = records(20, 120)
        path = os.path.join(d, "plain.rox")
        s.rust_write(path, recs)  # no --footer: the default must be what the newest roxxel reads
        dtype, py = s.py_read("r09", path)
        check(dtype == "uint8", "0.9.14 reports dtype {}".format(dtype))
        same_records(py, recs, "0.9.14 reading a rust file written with the defaults")

    def opened_by_write_path(d):
        a, b = records(21, 300), records(22, 300)
        os.makedirs(os.path.join(d, "py"))
        os.makedirs(os.path.join(d, "rust"))
        py_base, rust_base = os.path.join(d, "py", "ds.rox"), os.path.join(d, "rust", "ds.rox")
        s.py_write("r09", py_base, a, limit=2500)
        s.rust_write(rust_base, b, limit=2500)
        check(not os.path.exists(py_base) and not os.path.exists(rust_base), "the base path is not a file")
        _, rust = s.rust_dump(py_base)
        same_records(rust, a, "rust opening python shards by their write path")
        _, py = s.py_read("r09", rust_base)
        same_records(py, b, "0.9.14 opening rust shards by their write path")

    def packed_blocks_identical(d):
        # roxxel 0.9.14's write() packs items into blocks; BlockPacker + Writer must give the same bytes, sharded
        # or not, fresh and appended.
        scenarios = [
            ("no separator, block 64", records(30, 150), records(31, 20), 64, None, None),
            ("separator ff, block 100", records(32, 150), records(33, 30), 100, b"\xff", None),
            ("3-byte separator as padding, block 7", records(34, 40, max_len=20), records(35, 9), 7, b"\x00\n\xfe", None),
            ("sharded, block 128, max 1000", records(36, 200), records(37, 25), 128, b"\n", 1000),
            ("sharded, blocks larger than the limit", records(38, 30), records(39, 5), 900, None, 500),
        ]
        for what, first, second, block, sep, limit in scenarios:
            sub = os.path.join(d, what.replace(" ", "_").replace(",", ""))
            for who in ("py", "rust"):
                os.makedirs(os.path.join(sub, who))
            for items in (first, second):
                items_file = s.records_file(sub, items)
                run([s.pythons["r09"], HELPER, "pack", os.path.join(sub, "py", "p.rox"), items_file, str(block),
                     "none" if sep is None else sep.hex(), "none" if limit is None else str(limit)])
                cmd = [s.rust, "pack", os.path.join(sub, "rust", "p.rox"), items_file, "--block-size", str(block)]
                if sep is not None:
                    cmd += ["--separator", sep.hex()]
                if limit is not None:
                    cmd += ["--max-shard-bytes", str(limit)]
                run(cmd)
                same_files(os.path.join(sub, "py"), os.path.join(sub, "rust"), what)

    s.case("r09: 0.9.14 reads a rust file written with the default footer", default_is_readable)
    s.case("r09: BlockPacker writes byte-identical blocks to 0.9.14's write() (5 layouts, then appends)",
           packed_blocks_identical)
    s.case("r09: each opens the other's sharded dataset by the path it was written to", opened_by_write_path)


def cross_versions(s):
    def converted_by_05(d):
        a, b, c = records(17, 40), records(18, 10), records(19, 10)
        path = os.path.join(d, "m.rox")
        s.py_write("r01", path, a)
        s.py_write("r05", path, b)  # 0.5 rewrites the footer as ROXXEL02
        shards, rust = s.rust_dump(path)
        check(shards[0][1] == "ROXXEL02", "0.5 append should convert the file, got {}".format(shards[0][1]))
        s.rust_write(path, c)  # keeps ROXXEL02
        _, py = s.py_read("r05", path)
        shards, rust = s.rust_dump(path)
        check(shards[0][1] == "ROXXEL02", "rust append kept {}".format(shards[0][1]))
        same_records(rust, a + b + c, "rust reading")
        same_records(py, a + b + c, "0.5 reading")

    s.case("r01+r05: 0.1.0 writes, 0.5 appends (ROXXEL02), rust appends and reads", converted_by_05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rust", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--python", action="append", default=[])
    args = ap.parse_args()
    pythons = dict(p.split("=", 1) for p in args.python)
    s = Suite(os.path.abspath(args.rust), os.path.abspath(args.work), pythons)
    if "r01" in pythons:
        cases_for(s, "r01", "01", "ROXXEL01")
    if "r05" in pythons:
        cases_for(s, "r05", "02", "ROXXEL02")
        r05_only(s)
    if "r09" in pythons:
        cases_for(s, "r09", "02", "ROXXEL02")
        r09_only(s)
    if "r01" in pythons and "r05" in pythons:
        cross_versions(s)
    if s.count == 0:
        print("FAIL setup: no python environments given")
        return 1
    print("{} of {} cases agree".format(s.count - s.failures, s.count))
    return 1 if s.failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""mapbuffer conformance: the Rust crate against Python mapbuffer 1.2.0, in both directions.

Run by `cargo xtask conformance mapbuffer` as
    run.py --rust <mapbuffer-conformance binary> --work <empty dir> --python py=<venv python>
System python3, stdlib only; the reference runs in the venv through py_helper.py.

Cases: N in {0, 1, 2, 3, 7, 8, 9, 1000, 100000} x codecs {none, gzip, br, zstd, lzma} x format versions {0, 1},
keys including 0, 2^63-1, 2^63 and 2^64-1 (as many as N allows), empty values, plus IntMaps. For every case:
  py->rs   Python writes, Rust validates and reads every value (compared with the input);
  rs->py   Rust writes, Python validates, reads every value via items() and looks up every key below 2^63;
  bytes    uncompressed maps and IntMaps are byte-identical between the two writers.
Plus `special` cases: payloads Python's encoders can produce but its reader partly rejects (zstd without content
size, several zstd frames or gzip members, legacy .lzma, ...) that Rust must decode, and a corrupted CRC that Rust
must report.

lzma is skipped at N = 100000: both encoders spend about 1 ms per value setting up an xz preset-6 encoder, which
would make this suite take minutes; N = 1000 covers the same code paths.
"""
import argparse
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [0, 1, 2, 3, 7, 8, 9, 1000, 100000]
CODECS = ["none", "gzip", "br", "zstd", "lzma"]
VERSIONS = [0, 1]
EXTREME_KEYS = [0, 2**63 - 1, 2**63, 2**64 - 1]
INTMAP_SIZES = [0, 1, 2, 3, 7, 8, 9, 1000, 100000]


def keys_for(rng, n):
    """n distinct keys: the extreme keys first (rotated so small maps get different ones), then random ones."""
    extremes = EXTREME_KEYS[n % 4:] + EXTREME_KEYS[: n % 4]
    keys = set(extremes[: min(n, 4)])
    while len(keys) < n:
        if rng.random() < 0.5:
            keys.add(rng.randrange(0, 10 * n + 10))  # dense small keys, like segment ids
        else:
            keys.add(rng.randrange(0, 2**64))
    keys = list(keys)
    rng.shuffle(keys)
    return keys


def value_for(rng, n):
    if rng.random() < 0.1:
        return b""
    longest = 24 if n > 1000 else 200
    length = rng.randrange(0, longest)
    if rng.random() < 0.5:
        return bytes(rng.getrandbits(8) for _ in range(length))
    return (b"abc%d-" % rng.randrange(100)) * (length // 5 + 1)


def generate(cases_dir):
    rng = random.Random(20240601)
    cases = []  # (name, kind, codec, version, entries)
    for n in SIZES:
        keys = keys_for(rng, n)
        entries = [(key, value_for(rng, n)) for key in keys]
        for codec in CODECS:
            if codec == "lzma" and n > 1000:
                continue
            for version in VERSIONS:
                cases.append(("map-n%d-%s-v%d" % (n, codec, version), "map", codec, version, entries))
    for n in INTMAP_SIZES:
        keys = keys_for(rng, n)
        values = [rng.choice([0, 2**64 - 1, rng.randrange(2**64), rng.randrange(1000)]) for _ in keys]
        cases.append(("intmap-n%d" % n, "intmap", "none", 0, list(zip(keys, values))))
    with open(os.path.join(cases_dir, "manifest.txt"), "w") as manifest:
        for name, kind, codec, version, entries in cases:
            manifest.write("%s %s %s %d\n" % (name, kind, codec, version))
            with open(os.path.join(cases_dir, name + ".in.txt"), "w") as f:
                for key, value in entries:
                    f.write("%d %s\n" % (key, value if kind == "intmap" else value.hex()))
    return cases


def expected_dump(kind, codec, version, entries):
    lines = ["HEADER %d %s %d" % (version, codec, len(entries))]
    for key, value in sorted(entries):
        lines.append("%d %s" % (key, value if kind == "intmap" else value.hex()))
    return "\n".join(lines) + "\n"


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as err:
        return "MISSING %s" % err


def first_difference(got, want):
    got_lines, want_lines = got.splitlines(), want.splitlines()
    for i, (g, w) in enumerate(zip(got_lines, want_lines)):
        if g != w:
            return "line %d: got %r, want %r" % (i + 1, g[:120], w[:120])
    return "got %d lines, want %d" % (len(got_lines), len(want_lines))


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stdout.write("FAIL command %s: %s%s\n" % (" ".join(command[:2]), result.stdout, result.stderr))
        sys.exit(1)
    return result.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rust", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--python", action="append", required=True)
    args = parser.parse_args()
    pythons = dict(item.split("=", 1) for item in args.python)
    python = pythons["py"]
    helper = os.path.join(HERE, "py_helper.py")

    dirs = {name: os.path.join(args.work, name) for name in ["cases", "py", "rs", "special"]}
    for path in dirs.values():
        os.makedirs(path, exist_ok=True)
    manifest = os.path.join(dirs["cases"], "manifest.txt")
    cases = generate(dirs["cases"])

    run([python, helper, "write", manifest, dirs["py"]])
    run([args.rust, "write", manifest, dirs["rs"]])
    run([python, helper, "read", manifest, dirs["rs"]])
    run([args.rust, "read", manifest, dirs["py"]])

    failures = 0

    def row(ok, name, why=""):
        nonlocal failures
        if ok:
            print("ok   %s" % name)
        else:
            failures += 1
            print("FAIL %s: %s" % (name, why))

    for name, kind, codec, version, entries in cases:
        want = expected_dump(kind, codec, version, entries)
        got = read_text(os.path.join(dirs["py"], name + ".rs.txt"))
        row(got == want, "py->rs %s" % name, first_difference(got, want))
        got = read_text(os.path.join(dirs["rs"], name + ".py.txt"))
        row(got == want, "rs->py %s" % name, first_difference(got, want))
        if codec == "none":
            with open(os.path.join(dirs["py"], name + ".bin"), "rb") as f:
                py_bytes = f.read()
            with open(os.path.join(dirs["rs"], name + ".bin"), "rb") as f:
                rs_bytes = f.read()
            same = py_bytes == rs_bytes
            where = next((i for i, (a, b) in enumerate(zip(py_bytes, rs_bytes)) if a != b), min(len(py_bytes), len(rs_bytes)))
            row(same, "bytes  %s" % name, "first difference at byte %d (lengths %d, %d)" % (where, len(py_bytes), len(rs_bytes)))

    special = run([python, helper, "special", dirs["special"]]).split()
    special_manifest = os.path.join(dirs["special"], "manifest.txt")
    with open(special_manifest, "w") as f:
        for name in special:
            f.write("%s map none 1\n" % name)
    run([args.rust, "read", special_manifest, dirs["special"]])
    for name in special:
        want = read_text(os.path.join(dirs["special"], name + ".expected.txt"))
        got = read_text(os.path.join(dirs["special"], name + ".rs.txt"))
        if want.startswith("ERROR "):
            row(got.startswith(want.strip()), "special %s" % name, "got %r" % got[:200])
        else:
            row(got == want, "special %s" % name, first_difference(got, want))

    print("%d rows, %d failed" % (sum(1 for _ in cases) * 2 + sum(1 for c in cases if c[2] == "none") + len(special), failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

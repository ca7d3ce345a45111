#!/usr/bin/env python3
"""Conformance of the `sparse-index` crate with the Python reference's encoding and bisect semantics.

Run by `cargo xtask conformance sparse-index` as `run.py --rust <example binary> --work <dir> [--python env=path]`.
The reference has no pip package, so `reference.py` (next to this file) models it from its documented behaviour;
this driver needs only the system python3. One row per case, `ok   <case>` or `FAIL <case>: <why>`; exit status 1
on any failure.
"""

import argparse
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import CorruptRecordError, SparseIndex  # noqa: E402

failures = 0


def report(case, problem=None):
    global failures
    if problem is None:
        print(f"ok   {case}")
    else:
        failures += 1
        print(f"FAIL {case}: {problem}")


def hexkey(key):
    return key.hex() if key else "-"


def write_entries(path, keys, offsets):
    with open(path, "w") as f:
        for key, offset in zip(keys, offsets):
            f.write(f"{hexkey(key)} {offset}\n")


def read_entries(path):
    keys, offsets = [], []
    with open(path) as f:
        for line in f.read().splitlines():
            key, offset = line.split(" ")
            keys.append(b"" if key == "-" else bytes.fromhex(key))
            offsets.append(int(offset))
    return keys, offsets


class Rust:
    def __init__(self, binary, work):
        self.binary, self.work = binary, work

    def path(self, name):
        return os.path.join(self.work, name)

    def run(self, *args):
        """Runs the Rust CLI; returns (accepted, stderr). A crash (not exit status 0 or 2) raises."""
        proc = subprocess.run([self.binary, *args], capture_output=True, text=True)
        if proc.returncode not in (0, 2):
            raise RuntimeError(f"rust exited with {proc.returncode}: {proc.stderr.strip()}")
        return proc.returncode == 0, proc.stderr.strip()


def random_key(rng, prefix):
    alphabet = [0x00, 0x01, 0x41, 0x7F, 0x80, 0xFE, 0xFF]
    body = bytes(rng.choice(alphabet) if rng.random() < 0.7 else rng.randrange(256) for _ in range(rng.randrange(0, 10)))
    return prefix + body


def random_index(rng):
    prefix = bytes(rng.randrange(256) for _ in range(rng.choice([0, 0, 0, 3, 12])))
    keys = sorted({random_key(rng, prefix) for _ in range(rng.choice([0, 1, 2, 5, 30, 120]))})
    if keys and rng.random() < 0.3:
        keys = sorted(set(keys) | {b""})
    offsets, offset = [], rng.randrange(0, 3)
    for _ in keys:
        offsets.append(offset)
        offset += rng.choice([1, 7, 4096, 65536, 1 << 33])
    return keys, offsets


def probes(rng, keys, offsets):
    queries = []
    candidates = [b"", b"\x00", b"\xff", b"\xff" * 12, b"\x00" * 3]
    for key in keys:
        candidates += [key, key + b"\x00", key + b"\xff", key[:-1]]
    candidates += [random_key(rng, keys[0][:rng.randrange(0, 13)] if keys else b"") for _ in range(20)]
    for key in candidates:
        queries += [("floor", key), ("ceil", key)]
    numbers = [0, 1, 2**64 - 1] + [o + d for o in offsets for d in (-1, 0, 1) if o + d >= 0]
    queries += [("next", n) for n in numbers]
    return queries


def reference_answers(index, queries):
    out = []
    for op, operand in queries:
        if op == "floor":
            value = index.floor_offset(operand)
        elif op == "ceil":
            value = index.ceil_offset(operand)
        else:
            value = index.next_offset_after(operand)
        out.append("none" if value is None else str(value))
    return out


def check_index(rust, rng, case, keys, offsets):
    reference = SparseIndex()
    for key, offset in zip(keys, offsets):
        reference.add(key, offset)
    legacy_py = reference.to_bytes()
    py_file, entries, rust_file = rust.path(f"{case}.py.bin"), rust.path(f"{case}.txt"), rust.path(f"{case}.rs.bin")
    with open(py_file, "wb") as f:
        f.write(legacy_py)

    # Python writes, Rust reads.
    ok, err = rust.run("decode", py_file, rust.path(f"{case}.decoded"))
    if not ok:
        report(f"{case} python-writes-rust-reads", err)
    elif read_entries(rust.path(f"{case}.decoded")) != (keys, offsets):
        report(f"{case} python-writes-rust-reads", "entries differ")
    else:
        report(f"{case} python-writes-rust-reads")

    # Rust writes, Python reads: byte for byte the same encoding.
    write_entries(entries, keys, offsets)
    ok, err = rust.run("legacy-encode", entries, rust_file)
    if not ok:
        report(f"{case} rust-writes-python-reads", err)
    else:
        with open(rust_file, "rb") as f:
            legacy_rs = f.read()
        back = SparseIndex.from_bytes(legacy_rs)
        if legacy_rs != legacy_py:
            report(f"{case} rust-writes-python-reads", "encodings differ")
        elif (back.keys, back.offsets) != (keys, offsets):
            report(f"{case} rust-writes-python-reads", "entries differ")
        else:
            report(f"{case} rust-writes-python-reads")

    # Bisect semantics: the reference's answers, from the legacy file and from both byteshelf layouts.
    queries = probes(rng, keys, offsets)
    probe_file = rust.path(f"{case}.probes")
    with open(probe_file, "w") as f:
        for op, operand in queries:
            f.write(f"{op} {hexkey(operand) if op != 'next' else operand}\n")
    expected = reference_answers(reference, queries)
    problems = []
    sources = [("legacy", py_file)]
    for version in ("v1", "v2", "v3"):
        converted = rust.path(f"{case}.{version}")
        ok, err = rust.run("convert", py_file, converted, version)
        if not ok:
            problems.append(f"convert {version}: {err}")
        sources.append((version, converted))
    for name, source in sources:
        answers_file = rust.path(f"{case}.{name}.answers")
        ok, err = rust.run("query", source, probe_file, answers_file)
        if not ok:
            problems.append(f"{name}: {err}")
            continue
        with open(answers_file) as f:
            got = f.read().splitlines()
        for (op, operand), want, have in zip(queries, expected, got):
            if want != have:
                problems.append(f"{name}: {op}({operand!r}) = {have}, reference says {want}")
                break
        if len(got) != len(expected):
            problems.append(f"{name}: {len(got)} answers for {len(expected)} probes")
    report(f"{case} bisect-semantics ({len(keys)} entries, {len(queries)} probes)", "; ".join(problems) or None)


def edge_cases(rust):
    empty = SparseIndex().to_bytes()
    report("empty index encodes as 00000000", None if empty == b"\x00\x00\x00\x00" else empty.hex())
    write_entries(rust.path("empty.txt"), [], [])
    ok, err = rust.run("legacy-encode", rust.path("empty.txt"), rust.path("empty.rs.bin"))
    with open(rust.path("empty.rs.bin"), "rb") as f:
        report("rust encodes the empty index as 00000000", None if ok and f.read() == empty else err or "differs")
    for name, data in [("00000000", empty), ("empty input", b"")]:
        path = rust.path("empty-input.bin")
        with open(path, "wb") as f:
            f.write(data)
        ok, err = rust.run("decode", path, rust.path("empty.decoded"))
        py = SparseIndex.from_bytes(data)
        good = ok and read_entries(rust.path("empty.decoded")) == ([], []) and not py.keys
        report(f"both read {name} as the empty index", None if good else err or "not empty")

    def both_reject(case, data):
        path = rust.path("reject.bin")
        with open(path, "wb") as f:
            f.write(data)
        ok, _ = rust.run("decode", path, rust.path("reject.decoded"))
        try:
            SparseIndex.from_bytes(data)
            py_rejects = False
        except CorruptRecordError:
            py_rejects = True
        report(case, None if (not ok and py_rejects) else f"rust accepts={ok}, python rejects={py_rejects}")

    for n in (1, 2, 3):
        both_reject(f"both reject {n}-byte input", b"\x00" * n)
    good = SparseIndex()
    good.add(b"a", 1)
    good.add(b"b\x00", 99)
    data = bytearray(good.to_bytes())
    for at in range(len(data)):
        damaged = bytearray(data)
        damaged[at] ^= 0x10
        both_reject(f"both reject a flipped bit at byte {at}", bytes(damaged))

    # Deliberate differences (docs/formats/sparse-index.md): the reference accepts these, the crate refuses them.
    import binascii
    import struct

    def framed(payload):
        return payload + struct.pack(">I", binascii.crc32(payload) & 0xFFFFFFFF)

    differences = [
        ("truncated trailing entry", framed(struct.pack(">IQ", 1, 5) + b"a" + b"\x00\x00\x00")),
        ("key running past the entries", framed(struct.pack(">IQ", 9, 5) + b"abc")),
        ("offsets not ascending", framed(struct.pack(">IQ", 1, 9) + b"a" + struct.pack(">IQ", 1, 3) + b"b")),
    ]
    for name, data in differences:
        path = rust.path("difference.bin")
        with open(path, "wb") as f:
            f.write(data)
        ok, _ = rust.run("decode", path, rust.path("difference.decoded"))
        SparseIndex.from_bytes(data)  # accepted by the reference
        report(f"documented difference: reference accepts, crate rejects a {name}", "crate accepted it" if ok else None)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rust", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--python", action="append", default=[], help="unused: the reference is modelled in-process")
    parser.add_argument("--cases", type=int, default=80)
    args = parser.parse_args()
    rust = Rust(args.rust, args.work)
    edge_cases(rust)
    rng = random.Random(20261121)
    for i in range(args.cases):
        keys, offsets = random_index(rng)
        check_index(rust, rng, f"random-{i:03}", keys, offsets)
    print(f"\n{failures} failure(s)" if failures else "\nall cases agree with the reference")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

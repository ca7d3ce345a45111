#!/usr/bin/env python3
"""Conformance of sparse-buffer's SparseBuffer with roboto's (roboto.storage.sparse_buffer).

Run by `cargo xtask conformance sparse-buffer` as
    run.py --rust <sparse-buffer-conformance binary> --work <empty dir> --python roboto=<venv python>
Both sides replay the same operation scripts (scripted cases, then seeded random sequences) and print one line
per operation: result, cursor and regions. Every line must agree, where a Rust gap (`gap:<next>`) agrees with
roboto's `b''` at the same position when the next region it names is the one roboto holds. The cases that
exercise a deliberate difference (negative seek, region past the file size; see the crate docs) must show
exactly that difference; the states diverge after it, so the rest of such a case is not compared.
Stdlib only.
"""

import argparse
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def h(data):
    return data.hex()


# (name, file size, operations, deliberate difference expected or None)
SCRIPTED = [
    ("basic-partial-reads", 20,
     ["add 0 " + h(b"0123456789"), "read 4", "read 10", "read 5", "tell", "seek 2 0", "read -1", "read -1"], None),
    ("newest-wins-right-overlap", 20, ["add 0 " + h(b"A" * 10), "add 5 " + h(b"B" * 10), "seek 0 0", "read -1"], None),
    ("newest-wins-left-overlap", 20, ["add 5 " + h(b"A" * 10), "add 0 " + h(b"B" * 8), "seek 0 0", "read -1"], None),
    ("newest-wins-inside", 20, ["add 0 " + h(b"A" * 10), "add 3 " + h(b"bb"), "seek 0 0", "read -1"], None),
    ("newest-wins-covering", 20, ["add 3 " + h(b"aa"), "add 0 " + h(b"B" * 10), "seek 0 0", "read -1"], None),
    ("bridge-two-regions", 30,
     ["add 0 " + h(b"AAAAA"), "add 10 " + h(b"CCCCC"), "add 3 " + h(b"b" * 9), "seek 0 0", "read -1"], None),
    ("adjacent-append", 20, ["add 0 " + h(b"abc"), "add 3 " + h(b"def"), "seek 0 0", "read -1"], None),
    ("adjacent-prepend", 20, ["add 3 " + h(b"def"), "add 0 " + h(b"abc"), "seek 0 0", "read -1"], None),
    ("fill-the-gap", 20, ["add 0 " + h(b"abc"), "add 6 " + h(b"ghi"), "add 3 " + h(b"def"), "seek 0 0", "read -1"],
     None),
    ("disjoint-sorted", 40, ["add 30 " + h(b"zz"), "add 10 " + h(b"yy"), "add 0 " + h(b"xx"), "size"], None),
    ("empty-add-is-a-no-op", 10, ["add 5", "add 0"], None),
    ("reads-at-gaps", 20,
     ["add 5 " + h(b"hello"), "read 0", "read -1", "read 3", "seek 5 0", "read 0", "read -1", "read -1"], None),
    ("read-rest-stops-at-region-end", 20,
     ["add 0 " + h(b"abc"), "add 10 " + h(b"xyz"), "read -1", "read -1", "seek 10 0", "read -1"], None),
    ("past-eof", 10, ["add 0 " + h(b"0123456789"), "seek 10 0", "read 5", "seek 100 0", "read -1", "tell"], None),
    ("seek-whence", 10,
     ["add 0 " + h(b"0123456789"), "seek 3 0", "seek 2 1", "read 2", "seek -4 1", "seek 0 2", "read -1",
      "seek -1 2", "read -1"], None),
    ("find-region", 30,
     ["add 0 " + h(b"0123456789"), "add 20 " + h(b"abcde"), "find 0 10", "find 2 3", "find 5 10", "find 15 2",
      "find 10 0", "find 15 0", "find 25 0", "find 22 100", "find 0 11"], None),
    ("find-region-keeps-cursor", 10, ["add 0 " + h(b"0123456789"), "seek 1 0", "find 6 3", "tell"], None),
    ("clear-keeps-cursor-and-size", 10,
     ["add 0 " + h(b"0123456789"), "seek 4 0", "clear", "tell", "read 2", "size"], None),
    ("read-at", 30,
     ["add 5 " + h(b"hello"), "add 20 " + h(b"world"), "read_at 6 3", "read_at 8 10", "read_at 0 4",
      "read_at 12 4", "read_at 30 4", "read_at 27 4", "tell"], None),
    # Deliberate differences: the Rust side refuses, roboto goes on.
    ("negative-seek", 10, ["add 0 " + h(b"0123456789"), "seek 4 0", "seek -3 0", "read 5"], "negative-seek"),
    ("negative-seek-from-end", 10, ["add 0 " + h(b"0123456789"), "seek -100 2", "read 1"], "negative-seek"),
    ("negative-seek-from-cursor", 10, ["add 0 " + h(b"0123456789"), "seek 2 0", "seek -5 1"], "negative-seek"),
    ("region-past-file-size", 10, ["add 5 " + h(b"ABCDEFGHIJ"), "seek 5 0", "read 100"], "out-of-bounds"),
]


def random_case(seed):
    rng = random.Random(seed)
    size = rng.randint(1, 300)
    ops = []
    for _ in range(rng.randint(10, 60)):
        kind = rng.choices(
            ["add", "read", "read_at", "seek", "tell", "find", "clear", "size"],
            weights=[8, 5, 3, 4, 1, 3, 0.3, 0.3],
        )[0]
        if kind == "add":
            offset = rng.randrange(size)
            length = rng.choice([0, 1, rng.randint(1, 8), rng.randint(1, 60)])
            length = min(length, size - offset)
            ops.append(("add %d %s" % (offset, h(rng.randbytes(length)))).strip())
        elif kind == "read":
            ops.append("read %d" % rng.choice([-1, 0, 1, rng.randint(1, 10), rng.randint(1, 80)]))
        elif kind == "read_at":
            ops.append("read_at %d %d" % (rng.randrange(size + 10), rng.choice([0, 1, rng.randint(1, 80)])))
        elif kind == "seek":
            whence = rng.randrange(3)
            if whence == 0:
                ops.append("seek %d 0" % rng.randrange(size + 20))
            elif whence == 1:
                ops.append("seek %d 1" % rng.randrange(0, 30))
            else:
                ops.append("seek %d 2" % rng.randint(-size, 20))
        elif kind == "find":
            ops.append("find %d %d" % (rng.randrange(size + 5), rng.choice([0, 1, rng.randint(1, 60)])))
        else:
            ops.append(kind)
    return ("random-%04d" % seed, size, ops, None)


def script(cases):
    lines = []
    for name, size, ops, _ in cases:
        lines.append("case %s %d" % (name, size))
        lines.extend(ops)
    return "\n".join(lines) + "\n"


def split_cases(output):
    cases = {}
    current = None
    for line in output.splitlines():
        if line.startswith("case "):
            current = line.split()[1]
            cases[current] = []
        elif current is not None:
            cases[current].append(line)
    return cases


def parse(line):
    op, rest = line.split(" -> ", 1)
    result, state = rest.split(" | ", 1)
    pos_field, regions_field = state.split(" regions=", 1)
    return op, result, int(pos_field[len("pos="):]), regions_field


def parse_regions(text):
    text = text.strip("[]")
    if not text:
        return []
    out = []
    for part in text.split("), ("):
        a, b = part.strip("()").split(", ")
        out.append((int(a), int(b)))
    return out


def classify(rust_line, py_line, size):
    """'same', 'gap', a deliberate difference's name, or a mismatch message."""
    r_op, r_res, r_pos, r_regions = parse(rust_line)
    p_op, p_res, p_pos, p_regions = parse(py_line)
    if r_op != p_op:
        return "mismatch: different operations %r / %r" % (r_op, p_op)
    state_same = r_pos == p_pos and r_regions == p_regions
    if r_res == p_res and state_same:
        return "same"
    fields = r_op.split()
    if r_res.startswith("gap:") and p_res == "bytes:" and state_same:
        at = int(fields[1]) if fields[0] == "read_at" else p_pos
        nexts = [a for a, _ in parse_regions(p_regions) if a > at]
        want = "gap:%s" % (min(nexts) if nexts else "none")
        covered = any(a <= at < b for a, b in parse_regions(p_regions))
        if 0 <= at < size and not covered and r_res == want:
            return "gap"
        return "mismatch: rust %s, roboto b'' at %d (regions %s)" % (r_res, at, p_regions)
    if fields[0] == "seek" and r_res == "err:InvalidInput" and p_res.startswith("int:-"):
        return "negative-seek"
    if fields[0] == "add" and r_res == "err:OutOfBounds" and p_res == "none":
        if any(b > size for _, b in parse_regions(p_regions)) and r_regions != p_regions:
            return "out-of-bounds"
    return "mismatch: rust `%s -> %s | pos=%d regions=%s`, roboto `%s -> %s | pos=%d regions=%s`" % (
        r_op, r_res, r_pos, r_regions, p_op, p_res, p_pos, p_regions)


def compare(case, rust_lines, py_lines):
    name, size, ops, expected = case
    if len(rust_lines) != len(ops) or len(py_lines) != len(ops):
        return False, "%d operations, rust printed %d lines, roboto %d" % (len(ops), len(rust_lines), len(py_lines))
    gaps = 0
    for i, (r, p) in enumerate(zip(rust_lines, py_lines)):
        verdict = classify(r, p, size)
        if verdict == "same":
            continue
        if verdict == "gap":
            gaps += 1
            continue
        if expected is not None and verdict == expected:
            return True, "differs on purpose (%s) at operation %d: rust `%s`, roboto `%s`" % (
                expected, i + 1, r.split(" | ")[0], p.split(" | ")[0])
        return False, "operation %d: %s" % (i + 1, verdict)
    if expected is not None:
        return False, "the documented difference %s did not show" % expected
    return True, "%d operations agree (%d gaps signalled as typed gaps)" % (len(ops), gaps)


def run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit("command failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stderr))
    return proc.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rust", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--python", action="append", default=[], help="env=path to the venv python")
    ap.add_argument("--random", type=int, default=400, help="number of random sequences")
    args = ap.parse_args()
    pythons = dict(p.split("=", 1) for p in args.python)
    if "roboto" not in pythons:
        raise SystemExit("needs --python roboto=<venv python>")

    suites = [("scripted", SCRIPTED), ("random", [random_case(seed) for seed in range(args.random)])]
    failures = 0
    for suite, cases in suites:
        path = os.path.join(args.work, "%s.ops" % suite)
        with open(path, "w") as f:
            f.write(script(cases))
        rust = split_cases(run([args.rust, path]))
        py = split_cases(run([pythons["roboto"], os.path.join(HERE, "roboto_driver.py"), path]))
        agreed_ops = 0
        gap_rows = 0
        suite_failures = 0
        for case in cases:
            ok, why = compare(case, rust.get(case[0], []), py.get(case[0], []))
            if not ok:
                suite_failures += 1
                print("FAIL %s/%s: %s" % (suite, case[0], why))
            elif suite == "scripted":
                print("ok   %s/%s: %s" % (suite, case[0], why))
            else:
                agreed_ops += len(case[2])
                gap_rows += int(why.split("(")[1].split()[0])
        if suite == "random":
            print("ok   random: %d seeded sequences, %d operations agree (%d gaps signalled as typed gaps)"
                  % (len(cases), agreed_ops, gap_rows) if suite_failures == 0 else
                  "FAIL random: %d of %d sequences disagree" % (suite_failures, len(cases)))
        failures += suite_failures
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

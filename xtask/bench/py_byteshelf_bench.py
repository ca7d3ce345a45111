"""The byteshelf Python classes side by side with the Python references, on the same data in the same run.

Run by `cargo xtask bench-python [--quick]` in the test venv of `cargo xtask python` (release wheel; roxxel
0.9.14, mapbuffer 1.2.0, roboto 0.62.0 and buffer 0.2.1 importable). Writes a Markdown table to --out.
Figures are the best of a few repetitions on a shared machine: compare ratios rather than absolute values.

    py_byteshelf_bench.py --work DIR --out FILE [--quick] [--array-record-site DIR]

Google's array-record (`ArrayRecordDataSource`) is measured when its site-packages directory is given: it lives
in a venv of its own so that its dependencies do not mix with the references'.
"""

import argparse
import contextlib
import io
import os
import platform
import random
import sys
import threading
import time

import numpy as np

ROWS = []


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def row(group, name, ours, theirs=None, unit="ns/op", reference=""):
    if theirs is None:
        ratio = ""
    elif unit == "MB/s":
        ratio = f"{ours / theirs:.1f}x"
    else:
        ratio = f"{theirs / ours:.1f}x" if theirs >= ours else f"{theirs / ours:.2f}x"
    ROWS.append((group, name, ours, theirs, unit, reference, ratio))
    shown = "—" if theirs is None else f"{theirs:,.0f}"
    print(f"{group:14s} {name:58s} {ours:>10,.0f} {shown:>12s} {unit:6s} {ratio}", flush=True)


def quiet_import(name):
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return __import__(name, fromlist=["*"])
    except Exception as err:  # noqa: BLE001
        print(f"  ({name} unavailable: {err})", flush=True)
        return None


def bench_roxxel(work, n):
    from byteshelf.roxxel import Roxxel

    ref = quiet_import("roxxel")
    rng = random.Random(1)
    payload = os.urandom(100 * n)
    items = [payload[i * 100 : (i + 1) * 100] for i in range(n)]
    path = os.path.join(work, "r.rox")

    def ours_write():
        for f in os.listdir(work):
            if f.startswith("r"):
                os.remove(os.path.join(work, f))
        Roxxel(path).write(iter(items), block_size=100)

    t_ours = best(ours_write, 2)
    t_ref = None
    if ref:
        ref_path = os.path.join(work, "ref.rox")

        def ref_write():
            if os.path.exists(ref_path):
                os.remove(ref_path)
            with contextlib.redirect_stdout(io.StringIO()):
                ref.Roxxel(ref_path).write(iter(items), block_size=100)

        t_ref = best(ref_write, 2)
        assert open(ref_path, "rb").read() == open(path, "rb").read()
    row("roxxel", f"write {n:,} x 100 B items, block_size=100 (per item)", t_ours / n * 1e9,
        None if t_ref is None else t_ref / n * 1e9, reference="roxxel 0.9.14")

    ds = Roxxel(path)
    ds.open()
    idx = [rng.randrange(n) for _ in range(n)]
    theirs = None
    if ref:
        with contextlib.redirect_stdout(io.StringIO()):
            theirs = ref.Roxxel(path)
            theirs.open()
    ops = [
        ("random ds[i] (zero-copy NumPy view)", lambda d: [d[i] for i in idx]),
        ("random bytes(ds[i])", lambda d: [bytes(d[i]) for i in idx]),
        ("sequential for r in ds", lambda d: [r for r in d]),
    ]
    for name, fn in ops:
        t = best(lambda: fn(ds)) / n * 1e9
        r = best(lambda: fn(theirs)) / n * 1e9 if theirs is not None else None
        row("roxxel", name, t, r, reference="roxxel 0.9.14")
    batch = [rng.randrange(n) for _ in range(1024)]
    t = best(lambda: [ds.gather(batch) for _ in range(20)]) / (20 * 1024) * 1e9
    r = None
    if theirs is not None:
        r = best(lambda: [np.stack([theirs[i] for i in batch]) for _ in range(20)]) / (20 * 1024) * 1e9
    row("roxxel", "batch of 1024 random records into one array (per record)", t, r,
        reference="roxxel 0.9.14 np.stack")
    # The choice behind ds[i]: NumPy C API from Rust vs NumPy slicing / np.frombuffer in Python.
    raw, ends = ds.raw_data, ds.index_table.tolist()
    starts = [0] + ends[:-1]
    t_slice = best(lambda: [raw[starts[i]:ends[i]] for i in idx]) / n * 1e9
    t_frombuffer = best(lambda: [np.frombuffer(raw, np.uint8, ends[i] - starts[i], starts[i]) for i in idx]) / n * 1e9
    row("roxxel", "record view in Python: raw_data[s:e] (vs ours, C API)", t_slice, None)
    row("roxxel", "record view in Python: np.frombuffer(raw, count, offset)", t_frombuffer, None)


def bench_scan(work, rust_scan, n_small, n_blocks):
    """A full sequential pass over a dataset from Python against the Rust crate's own pass over the same file, in
    the same run (the `scan` example of the byteshelf crate). Both read every byte: each record is copied out of
    the map (Python `bytes(r)` for r in ds, or batches of 1,024 records copied into one array by `gather`; Rust
    `for record in &dataset`, copied into a reused buffer)."""
    import json
    import subprocess

    from byteshelf.roxxel import Roxxel

    for label, size, n in (("100 B", 100, n_small), ("4 KiB", 4096, n_blocks)):
        path = os.path.join(work, f"scan-{size}.rox")
        payload = os.urandom(size * n)
        Roxxel(path).write_records(payload[i * size : (i + 1) * size] for i in range(n))
        ds = Roxxel(path)
        ds.open()
        def python_pass():
            # Nothing kept, as the Rust pass keeps nothing: each copy is dropped before the next.
            for r in ds:
                bytes(r)

        t = best(python_pass) / n * 1e9
        rust = None
        if rust_scan:
            out = subprocess.run([rust_scan, path, "3"], check=True, capture_output=True, text=True).stdout
            figures = json.loads(out)
            assert figures["records"] == n and figures["bytes"] == size * n, figures
            rust = figures["seconds"] / n * 1e9
        row("scan", f"full sequential pass, {n:,} x {label}, bytes(r) for r in ds (per record)", t, rust,
            reference="Rust: the same file, for record in &dataset")

        def batched_pass():
            for start in range(0, n, 1024):
                ds.gather(range(start, min(start + 1024, n)))

        t = best(batched_pass) / n * 1e9
        row("scan", f"full sequential pass, {n:,} x {label}, ds.gather(range(i, i + 1024)) (per record)", t, rust,
            reference="Rust: the same file, for record in &dataset")
        os.remove(path)


def bench_array_record(work, n):
    """Random record reads: ArrayRecordDataSource (group_size:1, uncompressed) against Roxxel on the same
    records."""
    from byteshelf.roxxel import Roxxel

    try:
        from array_record.python import array_record_module
        from array_record.python.array_record_data_source import ArrayRecordDataSource
    except ImportError as err:
        print(f"  (array-record unavailable: {err})", flush=True)
        return False
    rng = random.Random(5)
    records = [os.urandom(100) for _ in range(n)]
    ar_path = os.path.join(work, "a.array_record")
    writer = array_record_module.ArrayRecordWriter(ar_path, "group_size:1,uncompressed")
    for rec in records:
        writer.write(rec)
    writer.close()
    rox_path = os.path.join(work, "a.rox")
    Roxxel(rox_path).write_records(records)
    source = ArrayRecordDataSource([ar_path])
    ds = Roxxel(rox_path)
    ds.open()
    assert source[7] == bytes(ds[7]) == records[7]
    idx = [rng.randrange(n) for _ in range(n // 2)]
    # A single read through ArrayRecordDataSource costs more the larger the file (tens to hundreds of µs here):
    # time a few thousand of them.
    few = idx[:2000]
    t = best(lambda: [bytes(ds[i]) for i in idx]) / len(idx) * 1e9
    r = best(lambda: [source[i] for i in few]) / len(few) * 1e9
    row("array-record", "random record as bytes: bytes(ds[i]) vs source[i]", t, r,
        reference="array-record 0.8.6")
    t = best(lambda: [ds[i] for i in idx]) / len(idx) * 1e9
    row("array-record", "random record as a zero-copy view: ds[i] vs source[i]", t, r,
        reference="array-record 0.8.6")
    batches = [idx[j : j + 256] for j in range(0, len(idx), 256)]
    t = best(lambda: [ds.gather(b) for b in batches]) / len(idx) * 1e9
    r = best(lambda: [source.__getitems__(b) for b in batches]) / len(idx) * 1e9
    row("array-record", "batches of 256: ds.gather(b) vs source.__getitems__(b) (per record)", t, r,
        reference="array-record 0.8.6")
    return True


def bench_mapbuffer(n):
    from byteshelf.mapbuffer import MapBuffer

    ref = quiet_import("mapbuffer")
    rng = random.Random(2)
    keys = rng.sample(range(10**9), n)
    data = {k: os.urandom(100) for k in keys}
    t = best(lambda: MapBuffer(data).tobytes()) / n * 1e9
    r = best(lambda: ref.MapBuffer(data).tobytes()) / n * 1e9 if ref else None
    row("mapbuffer", f"build {n:,} x 100 B, CRC (per key)", t, r, reference="mapbuffer 1.2.0")
    buf = MapBuffer(data).tobytes()
    order = keys[:]
    rng.shuffle(order)

    def lookups(cls):
        m = cls(buf)
        for k in order:
            m[k]

    t = best(lambda: lookups(MapBuffer)) / n * 1e9
    r = best(lambda: lookups(ref.MapBuffer)) / n * 1e9 if ref else None
    row("mapbuffer", "open + random mb[k], CRC checked (per lookup)", t, r, reference="mapbuffer 1.2.0")
    ours, theirs = MapBuffer(buf), ref.MapBuffer(buf) if ref else None
    t = best(lambda: [k in ours for k in order]) / n * 1e9
    r = best(lambda: [k in theirs for k in order]) / n * 1e9 if ref else None
    row("mapbuffer", "k in mb (per probe)", t, r, reference="mapbuffer 1.2.0")
    zdata = {k: bytes([k % 251]) * 1000 for k in keys[: n // 10]}
    zbuf = MapBuffer(zdata, compress="zstd").tobytes()
    zkeys = list(zdata)
    zours = MapBuffer(zbuf)
    ztheirs = ref.MapBuffer(zbuf) if ref else None
    t = best(lambda: [zours[k] for k in zkeys]) / len(zkeys) * 1e9
    r = best(lambda: [ztheirs[k] for k in zkeys]) / len(zkeys) * 1e9 if ref else None
    row("mapbuffer", "zstd 1 KB values: mb[k] with decompression (per lookup)", t, r, reference="mapbuffer 1.2.0")


def bench_sparse(n):
    from byteshelf.sparse_buffer import SparseBuffer

    mod = quiet_import("roboto.storage.sparse_buffer")
    size = 64 << 20
    rng = random.Random(3)
    slots = rng.sample(range(size // 4096), n)
    regions = [(s * 4096, os.urandom(64)) for s in slots]

    def fill(cls):
        b = cls(size)
        for off, data in regions:
            b.add_region(off, data)
        return b

    t = best(lambda: fill(SparseBuffer), 2) / n * 1e9
    r = best(lambda: fill(mod.SparseBuffer), 1) / n * 1e9 if mod else None
    row("sparse_buffer", f"add_region, {n:,} disjoint 64 B regions, random order (per add)", t, r,
        reference="roboto 0.62.0")
    ours, theirs = fill(SparseBuffer), fill(mod.SparseBuffer) if mod else None
    probes = [regions[rng.randrange(n)][0] + 8 for _ in range(2000)]

    def reads(b):
        for p in probes:
            b.seek(p)
            b.read(32)

    t = best(lambda: reads(ours)) / len(probes) * 1e9
    r = best(lambda: reads(theirs)) / len(probes) * 1e9 if theirs is not None else None
    row("sparse_buffer", "seek + read(32) among those regions (per read)", t, r, reference="roboto 0.62.0")
    t = best(lambda: [ours.find_region(p, 16) for p in probes]) / len(probes) * 1e9
    r = best(lambda: [theirs.find_region(p, 16) for p in probes]) / len(probes) * 1e9 if theirs else None
    row("sparse_buffer", "find_region(p, 16) (per call)", t, r, reference="roboto 0.62.0")


def bench_stream(mib):
    from byteshelf.stream_buffer import StreamBuffer

    mod = quiet_import("buffer")
    data = os.urandom(mib << 20)
    chunks = [data[i : i + 65536] for i in range(0, len(data), 65536)]

    def sequential(cls):
        sb = cls(iter(chunks), len(data))
        for off in range(0, len(data), 4096):
            sb.read(off, 4096)
        return sb

    t = best(lambda: sequential(StreamBuffer), 2)
    r = best(lambda: sequential(mod.StreamBuffer), 2) if mod else None
    row("stream_buffer", f"sequential 4 KiB reads of a {mib} MiB stream (MB/s)", len(data) / t / 1e6,
        None if r is None else len(data) / r / 1e6, unit="MB/s", reference="buffer 0.2.1")
    ours = sequential(StreamBuffer)
    theirs = sequential(mod.StreamBuffer) if mod else None
    rng = random.Random(4)
    offs = [rng.randrange(len(data) - 4096) for _ in range(5000)]
    t = best(lambda: [ours.read(o, 4096) for o in offs]) / len(offs) * 1e9
    r = best(lambda: [theirs.read(o, 4096) for o in offs]) / len(offs) * 1e9 if theirs else None
    row("stream_buffer", "random 4 KiB re-reads, spooled to disk (per read)", t, r, reference="buffer 0.2.1")


def threads(work, seconds):
    """Aggregate throughput of 1, 2 and 4 Python threads sharing one object."""
    from byteshelf.mapbuffer import MapBuffer
    from byteshelf.roxxel import Roxxel

    path = os.path.join(work, "t.rox")
    Roxxel(path).write((os.urandom(4096) for _ in range(16384)), block_size=4096)
    ds = Roxxel(path)
    ds.open()
    zmap = MapBuffer({i: bytes([i % 7]) * 16384 for i in range(2000)}, compress="zstd")
    workloads = {
        "Roxxel.gather(256 random 4 KiB blocks)": lambda rng: ds.gather([rng.randrange(16384) for _ in range(256)]),
        "MapBuffer zstd 16 KB value lookup": lambda rng: zmap[rng.randrange(2000)],
        "Roxxel ds[i] views (GIL-bound)": lambda rng: [ds[rng.randrange(16384)] for _ in range(256)],
    }
    out = {}
    for name, op in workloads.items():
        rates = {}
        for n in (1, 2, 4):
            counts = [0] * n
            stop = threading.Event()

            def work_loop(k):
                rng = random.Random(k)
                while not stop.is_set():
                    op(rng)
                    counts[k] += 1

            ts = [threading.Thread(target=work_loop, args=(k,)) for k in range(n)]
            t0 = time.perf_counter()
            for t in ts:
                t.start()
            time.sleep(seconds)
            stop.set()
            for t in ts:
                t.join()
            rates[n] = sum(counts) / (time.perf_counter() - t0)
        out[name] = rates
        print(f"threads        {name:58s} " + "  ".join(f"{n}: {rates[n]:,.0f}/s ({rates[n] / rates[1]:.2f}x)" for n in rates),
              flush=True)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--array-record-site")
    ap.add_argument("--rust-scan", help="the byteshelf crate's `scan` example, for the sequential-pass row")
    args = ap.parse_args()
    if args.array_record_site:
        sys.path.append(args.array_record_site)
    os.makedirs(args.work, exist_ok=True)
    q = args.quick
    print(f"{'group':14s} {'figure':58s} {'byteshelf':>10s} {'reference':>12s}", flush=True)
    bench_roxxel(args.work, 50_000 if q else 200_000)
    bench_mapbuffer(20_000 if q else 100_000)
    bench_scan(args.work, args.rust_scan, 100_000 if q else 1_000_000, 10_000 if q else 50_000)
    bench_sparse(2_000 if q else 10_000)
    bench_stream(8 if q else 32)
    array_record = bench_array_record(args.work, 50_000 if q else 200_000)
    scaling = threads(args.work, 0.5 if q else 1.5)

    lines = [
        "# Benchmarks: the Python classes",
        "",
        f"Generated by `cargo xtask bench-python{' --quick' if q else ''}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; regenerate it rather than editing it by hand.",
        "",
        f"**Machine:** {platform.processor() or platform.machine()}, {os.cpu_count()} cores, CPython "
        f"{platform.python_version()}, NumPy {np.__version__}. Shared and noisy: best of a few repetitions, compare "
        "ratios rather than absolute values.",
        "",
        "| module | figure | byteshelf | reference | ratio |",
        "|---|---|---|---|---|",
    ]
    for group, name, ours, theirs, unit, reference, ratio in ROWS:
        if unit == "MB/s":
            fmt = lambda v: f"{v:,.0f} MB/s"  # noqa: E731
        else:
            fmt = lambda v: f"{v:,.0f} ns"  # noqa: E731
        ref_text = "—" if theirs is None else f"{fmt(theirs)} ({reference})"
        lines.append(f"| {group} | {name} | {fmt(ours)} | {ref_text} | {('**' + ratio + '**') if ratio else '—'} |")
    lines += [
        "",
        "Ratios are how many times faster byteshelf is. Per-operation figures include the Python call. The scan "
        "rows compare the Python classes with the Rust crate itself (its `scan` example, on the same file, in the "
        "same run): there the ratio is Rust's time over Python's, so 0.5x means Python takes twice as long.",
        "",
        "## Threads",
        "",
        "Aggregate operations per second of 1, 2 and 4 Python threads sharing one object. The first two release "
        "the GIL around the copy, CRC check and decompression, so they scale with free cores (this machine has "
        f"{os.cpu_count()}, shared); a view is a few hundred nanoseconds of Python object creation under the GIL and "
        "does not scale.",
        "",
        "| workload | 1 thread | 2 threads | 4 threads |",
        "|---|---|---|---|",
    ]
    for name, rates in scaling.items():
        lines.append(
            f"| {name} | {rates[1]:,.0f}/s | {rates[2]:,.0f}/s ({rates[2] / rates[1]:.2f}x) | "
            f"{rates[4]:,.0f}/s ({rates[4] / rates[1]:.2f}x) |"
        )
    if not array_record:
        lines += ["", "array-record (`ArrayRecordDataSource`): not installed, not measured."]
    lines.append("")
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

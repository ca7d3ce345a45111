"""Shared helpers of the Python halves of `cargo xtask bench`: reading the work directory, timing, reporting."""
import array
import json
import statistics
import sys
import time
from pathlib import Path


def load(work):
    """The parameters and the data that the Rust half wrote to `work`."""
    work = Path(work)
    params = {}
    for line in (work / "params.txt").read_text().splitlines():
        key, value = line.split("=")
        params[key] = int(value)
    return work, params


def u64s(path):
    values = array.array("Q")
    values.frombytes(Path(path).read_bytes())
    if sys.byteorder != "little":
        values.byteswap()
    return values


def median_time(repetitions, fn):
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(figure_id, reference_name, value):
    print(json.dumps({"id": figure_id, "reference_name": reference_name, "reference": value}), flush=True)

"""roxxel 0.1.0 on the data of the Rust half: write, random get, sequential scan (`cargo xtask bench`)."""
import contextlib
import io
import sys

from common import load, median_time, report, u64s
from roxxel import Roxxel

work, params = load(sys.argv[1])
n, size = params["records"], params["record_len"]
reps = min(params["repetitions"], 3)
data = (work / "records.bin").read_bytes()
records = [data[i * size:(i + 1) * size] for i in range(n)]
path = str(work / "python.rox")


def write():
    (work / "python.rox").unlink(missing_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per shard
        Roxxel(path).write(iter(records))


report("roxxel.write", "roxxel 0.1.0", len(data) / 1e6 / median_time(reps, write))

indices = u64s(work / "indices.u64").tolist()
ds = Roxxel(path)
ds.open()


def get():
    for i in indices:
        ds[i]


report("roxxel.get", "roxxel 0.1.0", median_time(reps, get) * 1e9 / len(indices))


def scan():
    for _ in ds:
        pass


report("roxxel.scan", "roxxel 0.1.0", len(data) / 1e6 / median_time(reps, scan))

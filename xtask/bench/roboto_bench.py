"""roboto's SparseBuffer on the data of the Rust half: add_region, 4 KiB reads, reverse appends (`cargo xtask bench`)."""
import sys

from common import load, median_time, report, u64s
from roboto.storage.sparse_buffer import SparseBuffer

work, params = load(sys.argv[1])
region, chunk = params["region_len"], params["stream_chunk"]
reps = min(params["repetitions"], 3)
data = (work / "records.bin").read_bytes()
offsets = u64s(work / "sparse_offsets.u64").tolist()
file_size = 2 * len(offsets) * region
piece = data[:region]
state = {}


def add():
    buf = SparseBuffer(file_size)
    for offset in offsets:
        buf.add_region(offset, piece)
    state["buf"] = buf


report("sparse.add", "roboto 0.62.0", median_time(reps, add) * 1e9 / len(offsets))
buf = state["buf"]


def read():
    for offset in offsets:
        buf.seek(offset)
        if len(buf.read(region)) != region:
            raise SystemExit(f"short read at {offset}")


report("sparse.read", "roboto 0.62.0", median_time(reps, read) * 1e9 / len(offsets))

total = params["reverse_bytes"]
limit = min(total, len(data)) - chunk


def reverse():
    rev = SparseBuffer(total)
    for start in reversed(range(0, total, chunk)):
        source = start % limit
        rev.add_region(start, data[source:source + chunk])


report("sparse.reverse", "roboto 0.62.0", total / 1e6 / median_time(1, reverse))

"""The `buffer` package's StreamBuffer on the data of the Rust half: sequential and random reads (`cargo xtask bench`)."""
import sys

from buffer import StreamBuffer
from common import load, median_time, report, u64s

work, params = load(sys.argv[1])
chunk, read_len = params["stream_chunk"], params["stream_read"]
reps = min(params["repetitions"], 3)
data = (work / "records.bin").read_bytes()
offsets = u64s(work / "stream_offsets.u64").tolist()
state = {}


def chunks():
    for start in range(0, len(data), chunk):
        yield data[start:start + chunk]


def sequential():
    sb = StreamBuffer(chunks(), len(data))
    offset = 0
    while offset < len(data):
        got = sb.read(offset, chunk)
        if not got:
            break
        offset += len(got)
    if offset != len(data):
        raise SystemExit(f"streamed {offset} of {len(data)} bytes")
    state["sb"] = sb


report("stream.sequential", "buffer 0.2.1", len(data) / 1e6 / median_time(reps, sequential))
sb = state["sb"]


def random_reads():
    for offset in offsets:
        sb.read(offset, read_len)


report("stream.random", "buffer 0.2.1", median_time(reps, random_reads) * 1e9 / len(offsets))

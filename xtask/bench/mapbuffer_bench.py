"""mapbuffer 1.2.0 on the data of the Rust half: build and random get (`cargo xtask bench`)."""
import sys

from common import load, median_time, report, u64s
from mapbuffer import MapBuffer

work, params = load(sys.argv[1])
size, records = params["record_len"], params["records"]
reps = min(params["repetitions"], 3)
data = (work / "records.bin").read_bytes()
keys = u64s(work / "map_keys.u64").tolist()
values = {}
for i, key in enumerate(keys):
    j = i % records
    values[key] = data[j * size:(j + 1) * size]
built = {}


def build():
    built["buf"] = MapBuffer(values).tobytes()


report("mapbuffer.build", "mapbuffer 1.2.0", len(keys) * size / 1e6 / median_time(reps, build))

lookups = u64s(work / "map_lookups.u64").tolist()
mb = MapBuffer(built["buf"])


def get():
    for key in lookups:
        mb[key]


per_get = median_time(reps, get) * 1e9 / len(lookups)
report("mapbuffer.get", "mapbuffer 1.2.0", per_get)
# Python mapbuffer has no batch lookup: a batch is the same loop.
report("mapbuffer.get_many", "mapbuffer 1.2.0, one get per key", per_get)

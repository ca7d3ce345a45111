"""Runs inside the venv with mapbuffer==1.2.0, for run.py.

    py_map.py write <path> <entries.json> <codec|none> <crc 0|1>   write a map (entries: JSON [[key, hex], ...])
    py_map.py read <path>     validate, then print {"format_version", "compress", "entries": [[key, hex], ...]}
                              (entries in ascending key order) as JSON, or {"error": "..."} when it does not read
"""
import json
import sys

from mapbuffer import MapBuffer


def main():
    command = sys.argv[1]
    if command == "write":
        path, entries_file, codec, crc = sys.argv[2:6]
        with open(entries_file) as f:
            entries = {int(k): bytes.fromhex(v) for k, v in json.load(f)}
        mb = MapBuffer(entries, compress=None if codec == "none" else codec, compute_crc=crc == "1")
        with open(path, "wb") as f:
            f.write(bytes(mb.tobytes()))
        return
    if command == "read":
        with open(sys.argv[2], "rb") as f:
            data = f.read()
        try:
            mb = MapBuffer(data)
            mb.validate()
            items = sorted((int(k), bytes(v)) for k, v in mb.items())
            out = {
                "format_version": int(mb.format_version),
                "compress": mb.compress or "none",
                "entries": [[k, v.hex()] for k, v in items],
            }
        except BaseException as err:  # mapbuffer's errors are not all Exceptions
            out = {"error": "%s: %s" % (type(err).__name__, err)}
        json.dump(out, sys.stdout)
        return
    sys.exit("unknown command " + command)


main()

"""Runs inside a venv with roxxel==0.1.0 (read and write) or roxxel==0.9.14 (read only), for run.py.

    py_rox.py write <path> <records.json> <max_shard_bytes|none>   write a dataset (records: a JSON list of hex)
    py_rox.py read <spec>                                           print {"records": [hex, ...]} as JSON

roxxel prints progress on stdout; it is sent to stderr so stdout carries only the JSON.
"""
import contextlib
import json
import sys

from roxxel import Roxxel


def main():
    command = sys.argv[1]
    if command == "write":
        path, records_file, limit = sys.argv[2], sys.argv[3], sys.argv[4]
        with open(records_file) as f:
            records = [bytes.fromhex(r) for r in json.load(f)]
        with contextlib.redirect_stdout(sys.stderr):
            Roxxel(path).write(iter(records), max_shard_bytes=None if limit == "none" else int(limit))
        return
    if command == "read":
        with contextlib.redirect_stdout(sys.stderr):
            rox = Roxxel(sys.argv[2])
            rox.open()
            records = [bytes(rox[i]).hex() for i in range(len(rox))]
            shards = len(rox.filepaths)
            rox.close()
        json.dump({"records": records, "shards": shards}, sys.stdout)
        return
    sys.exit("unknown command " + command)


main()

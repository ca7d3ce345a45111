"""Runs inside a venv with a pinned roxxel: writes or reads a dataset for run.py.

    py_roxxel.py write <path> <records-file> <max_shard_bytes|none>
    py_roxxel.py write-int32 <path> <count>
    py_roxxel.py pack <path> <items-file> <block_size> <separator-hex|none> <max_shard_bytes|none>   (roxxel >= 0.9)
    py_roxxel.py read <spec>            (a path or glob pattern)

Records files hold one record per line as hex. `read` prints `dtype<TAB>name` (roxxel >= 0.4), then one hex
line per record. Progress messages of roxxel go to stderr.
"""
import contextlib
import sys

import numpy as np
from roxxel import Roxxel


def load(path):
    with open(path) as f:
        return [bytes.fromhex(line) for line in f.read().split("\n")[:-1]]


def main():
    cmd = sys.argv[1]
    with contextlib.redirect_stdout(sys.stderr):
        if cmd == "write":
            path, records, limit = sys.argv[2], load(sys.argv[3]), sys.argv[4]
            limit = None if limit == "none" else int(limit)
            rox = Roxxel(path)
            if hasattr(rox, "_write_orchestrator"):
                # roxxel 0.4+: write() packs fixed-size blocks; the orchestrator below it writes records as given.
                rox._write_orchestrator(iter(records), limit, lambda: "uint8")
            else:
                rox.write(iter(records), max_shard_bytes=limit)
            return
        if cmd == "pack":
            path, items, block = sys.argv[2], load(sys.argv[3]), int(sys.argv[4])
            separator = None if sys.argv[5] == "none" else bytes.fromhex(sys.argv[5])
            limit = None if sys.argv[6] == "none" else int(sys.argv[6])
            Roxxel(path).write(iter(items), separator=separator, block_size=block, max_shard_bytes=limit)
            return
        if cmd == "write-int32":
            path, count = sys.argv[2], int(sys.argv[3])
            items = [np.arange(i, i + 4, dtype=np.int32) for i in range(count)]
            Roxxel(path).write(iter(items), block_size=16, separator=b"")
            return
    if cmd == "read":
        rox = Roxxel(sys.argv[2])
        rox.open()
        lines = []
        if getattr(rox, "dtype", None) is not None:
            lines.append("dtype\t" + str(rox.dtype))
        for i in range(len(rox)):
            lines.append(bytes(rox[i]).hex())
        rox.close()
        sys.stdout.write("".join(line + "\n" for line in lines))
        return
    raise SystemExit("unknown command " + cmd)


main()

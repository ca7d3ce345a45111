"""Replays an operation script on roboto's SparseBuffer (the Python side of the sparse-buffer conformance).

Usage: python roboto_driver.py <script>. Same script and output format as examples/conformance.rs.
"""

import sys

from roboto.storage.sparse_buffer import SparseBuffer


def regions(buf):
    return "[%s]" % ", ".join("(%d, %d)" % (a, b) for a, b in buf.regions)


def apply(buf, fields):
    op = fields[0]
    if op == "add":
        buf.add_region(int(fields[1]), bytes.fromhex(fields[2] if len(fields) > 2 else ""))
        return "none"
    if op == "read":
        return "bytes:" + buf.read(int(fields[1])).hex()
    if op == "read_at":
        pos = buf.tell()
        buf.seek(int(fields[1]))
        got = buf.read(int(fields[2]))
        buf.seek(pos)
        return "bytes:" + got.hex()
    if op == "seek":
        return "int:%d" % buf.seek(int(fields[1]), int(fields[2]))
    if op == "tell":
        return "int:%d" % buf.tell()
    if op == "size":
        return "int:%d" % buf.size
    if op == "clear":
        buf.clear()
        return "none"
    if op == "find":
        got = buf.find_region(int(fields[1]), int(fields[2]))
        return "none" if got is None else "bytes:" + bytes(got).hex()
    raise ValueError("unknown operation %r" % " ".join(fields))


def main():
    buf = None
    out = []
    with open(sys.argv[1]) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("case "):
                buf = SparseBuffer(int(line.rsplit(" ", 1)[1]))
                out.append(line)
                continue
            try:
                result = apply(buf, line.split())
            except Exception as e:  # the reference's exception is its result
                result = "exc:%s" % type(e).__name__
            out.append("%s -> %s | pos=%d regions=%s" % (line, result, buf.tell(), regions(buf)))
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()

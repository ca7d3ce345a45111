"""A from-the-facts model of the Python reference's SparseIndex (lsm-kv `app/index/sparse.py`).

Written from the documented behaviour, not from its code: entries are `>IQ` (key length, block offset) followed by
the key; the payload is followed by a big-endian CRC-32 (`binascii.crc32`, IEEE). The empty index encodes as four
zero bytes and empty input decodes as an empty index; 1-3 bytes and CRC mismatches are errors. Decoding stops
silently at a truncated trailing entry (the reference's behaviour, which the Rust crate deliberately rejects).
Lookups are `bisect` based: floor = bisect_right - 1, ceil = bisect_left, next_offset_after = bisect_right over the
offsets.
"""

import binascii
import bisect
import struct

ENTRY = struct.Struct(">IQ")
CRC = struct.Struct(">I")


class CorruptRecordError(Exception):
    """The reference's error for damaged index bytes."""


class SparseIndex:
    def __init__(self):
        self.keys = []
        self.offsets = []

    def add(self, key, offset):
        if self.keys and key <= self.keys[-1]:
            raise ValueError("keys must ascend")
        self.keys.append(key)
        self.offsets.append(offset)

    def to_bytes(self):
        payload = b"".join(ENTRY.pack(len(k), o) + k for k, o in zip(self.keys, self.offsets))
        return payload + CRC.pack(binascii.crc32(payload) & 0xFFFFFFFF)

    @classmethod
    def from_bytes(cls, data):
        index = cls()
        if len(data) == 0:
            return index
        if len(data) < CRC.size:
            raise CorruptRecordError("too short for CRC")
        payload, (stored,) = data[: -CRC.size], CRC.unpack(data[-CRC.size :])
        if binascii.crc32(payload) & 0xFFFFFFFF != stored:
            raise CorruptRecordError("CRC mismatch")
        pos = 0
        while pos + ENTRY.size <= len(payload):
            key_len, offset = ENTRY.unpack_from(payload, pos)
            pos += ENTRY.size
            key = payload[pos : pos + key_len]  # may be short: the reference does not check
            pos += key_len
            index.keys.append(key)
            index.offsets.append(offset)
        return index

    def floor_offset(self, key):
        i = bisect.bisect_right(self.keys, key) - 1
        return None if i < 0 else self.offsets[i]

    def ceil_offset(self, key):
        i = bisect.bisect_left(self.keys, key)
        return None if i >= len(self.keys) else self.offsets[i]

    def next_offset_after(self, offset):
        i = bisect.bisect_right(self.offsets, offset)
        return self.offsets[i] if i < len(self.offsets) else None

"""SparseBuffer: ``from byteshelf.sparse_buffer import SparseBuffer`` in place of
``from roboto.storage.sparse_buffer import SparseBuffer``.

An ``io.RawIOBase`` over the Rust ``sparse_buffer::SparseBuffer``. Differences from roboto's, on purpose:

- a read at bytes that are not cached raises ``NotCachedError`` (an ``OSError``) with ``offset`` (the first
  missing byte) and ``next_cached`` (where the next region starts, or None), instead of returning ``b""``, which
  means the end of the file; the cursor does not move;
- seeking before 0, an invalid ``whence``, negative offsets and regions past ``size`` raise ``ValueError``;
- ``read(None)`` is ``read(-1)``, as for every ``io.RawIOBase``; the buffer has ``close()``, ``closed``,
  ``readinto()``, iteration and the context-manager protocol from ``io.RawIOBase``.
"""

import io

from ._native import NotCachedError
from ._native import SparseBuffer as _Native

__all__ = ["NotCachedError", "SparseBuffer"]


class SparseBuffer(io.RawIOBase):
    """A seekable, read-only file of ``file_size`` bytes of which only the regions added are held in memory."""

    def __init__(self, file_size: int) -> None:
        super().__init__()
        self._native = _Native(file_size)
        # Bound methods of the native buffer, so that these calls cost one native call.
        self.add_region = self._native.add_region
        self.find_region = self._native.find_region
        self.clear = self._native.clear
        self.tell = self._native.tell

    @property
    def size(self) -> int:
        """The size of the file."""
        return self._native.size

    @property
    def regions(self) -> "list[tuple[int, int]]":
        """The cached regions as sorted ``(start, end)`` pairs, end exclusive."""
        return self._native.regions

    def read(self, size: "int | None" = -1) -> bytes:
        """Up to ``size`` bytes at the cursor (to the end of the file when negative or None), stopping at the end
        of the cursor's region; ``b""`` at or past the end of the file; ``NotCachedError`` in a gap."""
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        return self._native.read(size)

    def readinto(self, buffer) -> int:  # noqa: ANN001 - any writable bytes-like object
        data = self.read(len(memoryview(buffer).cast("B")))
        n = len(data)
        memoryview(buffer).cast("B")[:n] = data
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        return self._native.seek(offset, whence)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

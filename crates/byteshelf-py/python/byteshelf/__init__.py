"""byteshelf: random access to bytes, in Rust.

Drop-in replacements for the Python packages they read and write the formats of:

- ``byteshelf.roxxel.Roxxel`` for ``roxxel.Roxxel`` (0.9.14's core API; Roxxel datasets, zero-copy records)
- ``byteshelf.mapbuffer.MapBuffer`` / ``IntMap`` for ``mapbuffer`` 1.2.0

Remote reading: ``Roxxel("s3://bucket/ds_*.rox")`` (or ``https://``, ``file://``) and
``MapBuffer.open_url(url)`` fetch only what they read; ``ObjectChangedError`` (a ``RemoteError``, an ``OSError``)
when an object is replaced after it was opened.
- ``byteshelf.sparse_buffer.SparseBuffer`` for roboto's ``SparseBuffer``
- ``byteshelf.stream_buffer.StreamBuffer`` for the ``buffer`` package's ``StreamBuffer``
"""

from ._native import (
    DecompressionError,
    NotCachedError,
    ObjectChangedError,
    RemoteError,
    RoxxelError,
    StreamError,
    ValidationError,
    __version__,
)

__all__ = [
    "DecompressionError",
    "NotCachedError",
    "ObjectChangedError",
    "RemoteError",
    "RoxxelError",
    "StreamError",
    "ValidationError",
    "__version__",
]

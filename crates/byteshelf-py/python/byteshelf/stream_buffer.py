"""StreamBuffer: ``from byteshelf.stream_buffer import StreamBuffer`` in place of ``from buffer import
StreamBuffer``."""

from ._native import StreamBuffer, StreamError

__all__ = ["StreamBuffer", "StreamError"]

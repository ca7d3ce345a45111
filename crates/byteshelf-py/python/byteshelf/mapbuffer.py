"""MapBuffer and IntMap: ``from byteshelf.mapbuffer import MapBuffer, IntMap`` in place of ``mapbuffer``."""

from ._native import DecompressionError, IntMap, MapBuffer, RemoteMapBuffer, ValidationError

#: The header length of a MapBuffer, as ``mapbuffer.HEADER_LENGTH``.
HEADER_LENGTH = 16
#: The magic bytes of a MapBuffer, as ``mapbuffer.MAGIC_NUMBERS``.
MAGIC_NUMBERS = b"mapbufr"
#: The format version written by default, as ``mapbuffer.FORMAT_VERSION``.
FORMAT_VERSION = 1

__all__ = [
    "DecompressionError",
    "FORMAT_VERSION",
    "HEADER_LENGTH",
    "IntMap",
    "MAGIC_NUMBERS",
    "MapBuffer",
    "RemoteMapBuffer",
    "ValidationError",
]

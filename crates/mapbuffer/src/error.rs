//! The one error type of the crate: every malformed buffer, failed checksum, codec failure and misuse is a variant
//! here, never a panic.
//!
//! Corruption variants name the key and slot involved and the byte offset in the buffer where the problem is.

use std::io;
use std::path::PathBuf;

use crate::format::Codec;

/// Everything that can go wrong reading, writing or validating a MapBuffer or IntMap.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the underlying stream failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),

    /// A file could not be opened or mapped.
    #[error("cannot open {}: {source}", file.display())]
    Open {
        /// The file.
        file: PathBuf,
        /// Why.
        source: io::Error,
    },

    /// The path names something other than a regular file (a directory, a FIFO, a device, a socket). It is
    /// refused before it is opened for reading, so a FIFO without a writer cannot block the open and an endless
    /// device such as `/dev/zero` is never read.
    #[error("{}: not a regular file ({kind})", file.display())]
    NotRegularFile {
        /// The path.
        file: PathBuf,
        /// What it is instead: `"a directory"`, `"a FIFO"`, `"a character device"`, ...
        kind: &'static str,
    },

    /// The buffer ends before a fixed-size part of the format does.
    #[error("buffer too short for its {what}: needs {needed} bytes, has {len}")]
    Truncated {
        /// `"header"` or `"index"`.
        what: &'static str,
        /// Bytes needed from the start of the buffer.
        needed: u64,
        /// Bytes present.
        len: u64,
    },

    /// The buffer does not start with the magic bytes (`mapbufr` or `intm`), at byte 0.
    #[error(
        "bad magic at byte 0: expected {:?}, found {:?}",
        Bytes(expected),
        Bytes(found)
    )]
    BadMagic {
        /// The expected magic.
        expected: &'static [u8],
        /// What the buffer holds instead.
        found: Vec<u8>,
    },

    /// The format version byte is not one this crate reads (MapBuffer 0 or 1 at byte 7, IntMap 0 at byte 4).
    #[error("unsupported format version {version}")]
    UnsupportedVersion {
        /// The version byte.
        version: u8,
    },

    /// The version byte (byte 7) says 0 (no checksums), but the values end with the CRC-32C of their other bytes,
    /// as version 1 values do: most likely a version 1 map whose version byte lost its bit 0. Read as version 0,
    /// every value would come back with its 4 CRC bytes appended, silently. See [`MapBuffer::from_bytes`] and
    /// [`MapBuffer::verify`] for which values are checked.
    ///
    /// [`MapBuffer::from_bytes`]: crate::MapBuffer::from_bytes
    /// [`MapBuffer::verify`]: crate::MapBuffer::verify
    #[error(
        "the version byte at byte {at} says 0 (no checksums) but the {checked} values checked all end with a valid \
         CRC-32C of their other bytes, as version 1 values do: a version 1 map with a damaged header?"
    )]
    VersionContradicted {
        /// Byte offset of the version byte (7).
        at: u64,
        /// How many values were checked (all of them carry a valid CRC-32C tail).
        checked: u64,
    },

    /// The codec tag (bytes 8..12) is not `none`, `gzip`, `00br`, `zstd` or `lzma`.
    #[error("unknown codec tag {:?} at byte 8", Bytes(tag))]
    UnknownCodec {
        /// The four tag bytes.
        tag: [u8; 4],
    },

    /// A codec name given to [`Codec::from_name`] is not known.
    #[error("unknown codec name {name:?} (expected none, gzip, br, zstd or lzma)")]
    UnknownCodecName {
        /// The name.
        name: String,
    },

    /// The codec is known but this build was compiled without its cargo feature.
    #[error("codec `{}` (tag {:?}) is not available: enable the `{}` feature of mapbuffer", codec.name(), Bytes(&codec.tag()), feature_of(*codec))]
    CodecDisabled {
        /// The codec.
        codec: Codec,
    },

    /// The IntMap dtype byte (byte 5) is not 3 (`uint64`), the only one Python writes.
    #[error("unsupported IntMap dtype {dtype} at byte 5 (expected 3, uint64)")]
    UnsupportedIntMapDtype {
        /// The dtype byte.
        dtype: u8,
    },

    /// The buffer is longer than its contents (an empty MapBuffer must be exactly its header, an IntMap exactly its
    /// header and index); the extra bytes start at `expected`.
    #[error("{} trailing bytes after the end of the map at byte {expected}", len - expected)]
    TrailingBytes {
        /// Where the map ends.
        expected: u64,
        /// The buffer length.
        len: u64,
    },

    /// A value offset in the index is impossible.
    #[error(
        "corrupt offset {offset} of key {key} (slot {slot}, index entry field at byte {at}): {reason}"
    )]
    CorruptOffset {
        /// The key of the slot.
        key: u64,
        /// The slot in the index.
        slot: usize,
        /// The offset read.
        offset: u64,
        /// Byte offset of the offset field.
        at: u64,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A version 1 value is shorter than its 4-byte CRC.
    #[error(
        "value of key {key} (slot {slot}) at byte {offset} is {len} bytes, too short to hold its CRC-32C"
    )]
    MissingCrc {
        /// The key.
        key: u64,
        /// The slot in the index.
        slot: usize,
        /// Byte offset of the stored value.
        offset: u64,
        /// Stored length including the CRC.
        len: u64,
    },

    /// A version 1 value does not match its CRC-32C.
    #[error(
        "CRC-32C mismatch for key {key} (slot {slot}) at byte {offset}: stored {stored:#010x}, computed {computed:#010x}"
    )]
    CrcMismatch {
        /// The key.
        key: u64,
        /// The slot in the index.
        slot: usize,
        /// Byte offset of the stored value.
        offset: u64,
        /// The CRC in the buffer.
        stored: u32,
        /// The CRC of the stored bytes.
        computed: u32,
    },

    /// A stored value does not decompress.
    #[error(
        "cannot decompress the {codec} value of key {key} (slot {slot}) at byte {offset}: {source}"
    )]
    Decompress {
        /// The key.
        key: u64,
        /// The slot in the index.
        slot: usize,
        /// Byte offset of the stored value.
        offset: u64,
        /// The codec of the map.
        codec: Codec,
        /// The decoder's error.
        source: io::Error,
    },

    /// A value could not be compressed while writing.
    #[error("cannot compress the value of key {key} with {codec}: {source}")]
    Compress {
        /// The key.
        key: u64,
        /// The codec.
        codec: Codec,
        /// The encoder's error.
        source: io::Error,
    },

    /// The same key was given twice to the writer.
    #[error("duplicate key {key}")]
    DuplicateKey {
        /// The key.
        key: u64,
    },

    /// The index holds the same key in two slots.
    #[error(
        "key {key} appears twice in the index (slots {first_slot} and {slot}, second at byte {at})"
    )]
    DuplicateKeyInIndex {
        /// The key.
        key: u64,
        /// The slot of its first occurrence in sorted order.
        first_slot: usize,
        /// The slot of the repeat.
        slot: usize,
        /// Byte offset of the repeat's index entry.
        at: u64,
    },

    /// The index keys are not in Eytzinger order of the sorted keys.
    #[error(
        "index out of Eytzinger order: key {key} (slot {slot}, byte {at}) sorts after {previous}"
    )]
    UnsortedIndex {
        /// The misplaced key.
        key: u64,
        /// Its slot.
        slot: usize,
        /// Byte offset of its index entry.
        at: u64,
        /// The key before it in the in-order walk, which is larger.
        previous: u64,
    },

    /// More keys than the `u32` key count can hold.
    #[error("{count} keys do not fit in the u32 key count of the format")]
    TooManyKeys {
        /// How many keys were given.
        count: usize,
    },

    /// A slot number given to a by-slot accessor is not below the key count.
    #[error("slot {slot} is out of range for a map of {len} keys")]
    SlotOutOfRange {
        /// The slot asked for.
        slot: usize,
        /// The number of slots.
        len: usize,
    },

    /// An in-place update names a key that is not in the map.
    #[error("key {key} is not in the map")]
    KeyNotFound {
        /// The key.
        key: u64,
    },

    /// An in-place update would change the stored length of a value.
    #[error(
        "in-place update of key {key} needs a stored length of {stored} bytes, the new value encodes to {new}"
    )]
    LengthMismatch {
        /// The key.
        key: u64,
        /// The current stored length (payload, without CRC).
        stored: u64,
        /// The stored length of the new value.
        new: u64,
    },

    /// Reading a remote map failed (feature `object-store`): the request or the store's answer, naming the
    /// object.
    #[cfg(feature = "object-store")]
    #[error(transparent)]
    Remote(sparse_buffer::Error),

    /// The index cache file of a remote map could not be read or written.
    #[cfg(feature = "object-store")]
    #[error("index cache {}: {source}", file.display())]
    IndexCache {
        /// The cache file.
        file: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// The cargo feature that enables a codec.
const fn feature_of(codec: Codec) -> &'static str {
    match codec {
        Codec::None => "(none)",
        Codec::Gzip => "gzip",
        Codec::Brotli => "brotli",
        Codec::Zstd => "zstd",
        Codec::Lzma => "lzma",
    }
}

/// Shows bytes as an escaped byte string, e.g. `b"ab\x00c"`.
struct Bytes<'a>(&'a [u8]);

impl std::fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

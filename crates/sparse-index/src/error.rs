//! The crate's one error type: misuse of the builders, I/O failures and corrupt input, each with enough context
//! (entry index, byte offset) to find the problem.

use std::fmt;
use std::io;

/// A specialised `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while building, encoding or decoding a sparse index.
///
/// Variants whose name starts with `Corrupt` (and [`Error::Truncated`], [`Error::BadMagic`],
/// [`Error::UnsupportedVersion`], [`Error::ChecksumMismatch`], [`Error::NotAnIndex`]) describe bytes that are not a
/// valid index; they carry the byte offset in the input where the problem was found (the input's length for
/// [`Error::NotAnIndex`]) and, where it applies, the entry index. The other variants describe a caller's mistake
/// (keys or offsets out of order, an index too large for the format) or an I/O failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `add` was given a key that is not strictly greater (in byte order) than the previous one.
    #[error("key {key} of entry {index} is not greater than the previous key {previous}")]
    KeyNotAscending {
        /// Index the entry would have had.
        index: usize,
        /// The rejected key.
        key: Key,
        /// The previous (last accepted) key.
        previous: Key,
    },
    /// `add` was given an offset that is not strictly greater than the previous one.
    #[error("offset {offset} of entry {index} is not greater than the previous offset {previous}")]
    OffsetNotAscending {
        /// Index the entry would have had.
        index: usize,
        /// The rejected offset.
        offset: u64,
        /// The previous (last accepted) offset.
        previous: u64,
    },
    /// The data end is not after the last block's offset, or a block was added at or after a known data end.
    #[error("data end {data_end} is not after the last block offset {last_offset}")]
    DataEndNotAfterLastOffset {
        /// The data end.
        data_end: u64,
        /// The offset of the last block.
        last_offset: u64,
    },
    /// `u64::MAX` as a data end: the format stores "unknown" that way, so it cannot be a real end.
    #[error(
        "data end {} is reserved (the format stores an unknown data end as u64::MAX)",
        u64::MAX
    )]
    ReservedDataEnd,
    /// The index would not fit the format: more than `u32::MAX` entries or more than `u32::MAX` bytes of keys.
    #[error("the index is too large for the format: {what} exceeds u32::MAX")]
    TooLarge {
        /// Which quantity overflowed ("entries" or "key bytes").
        what: &'static str,
    },
    /// Writing the index failed.
    #[error("I/O error while writing the sparse index")]
    Io(#[from] io::Error),

    /// The input ends before the structure it announces is complete.
    #[error("truncated sparse index: {len} bytes, at least {needed} needed")]
    Truncated {
        /// Length of the input.
        len: usize,
        /// Length the header, trailer or length fields require.
        needed: usize,
    },
    /// A magic number is missing.
    #[error("not a byteshelf sparse index: bad magic at byte {offset}")]
    BadMagic {
        /// Byte offset of the expected magic.
        offset: usize,
    },
    /// The version byte names a format this crate does not know.
    #[error("unsupported sparse index version {version} (this crate reads versions 1 and 2)")]
    UnsupportedVersion {
        /// The version byte found at byte 4.
        version: u8,
    },
    /// A reserved header field is not zero, or the v2 restart interval is zero.
    #[error("corrupt sparse index header: {field} is {value} at byte {offset}")]
    CorruptHeader {
        /// Name of the field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// Byte offset of the field.
        offset: usize,
    },
    /// The input length disagrees with the lengths recorded in the trailer.
    #[error(
        "corrupt sparse index: the trailer describes {expected} bytes but the input has {actual}"
    )]
    CorruptLength {
        /// Length implied by the trailer.
        expected: u64,
        /// Actual input length.
        actual: usize,
    },
    /// The stored CRC-32 does not match the bytes it protects.
    #[error(
        "sparse index checksum mismatch at byte {offset}: stored {stored:#010x}, computed {computed:#010x}"
    )]
    ChecksumMismatch {
        /// Byte offset of the stored checksum.
        offset: usize,
        /// Checksum stored in the input.
        stored: u32,
        /// Checksum computed over the input.
        computed: u32,
    },
    /// A key is out of bounds or not strictly greater than the previous key.
    #[error("corrupt sparse index: key of entry {index} (byte {offset}) {reason}")]
    CorruptKey {
        /// Entry index.
        index: usize,
        /// Byte offset of the field that describes the key.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A block offset is not strictly greater than the previous one.
    #[error(
        "corrupt sparse index: offset {value} of entry {index} (byte {offset}) is not after the previous offset"
    )]
    CorruptOffset {
        /// Entry index.
        index: usize,
        /// Byte offset of the field.
        offset: usize,
        /// The offending block offset.
        value: u64,
    },
    /// The recorded data end is not after the last block offset.
    #[error(
        "corrupt sparse index: data end {data_end} (byte {offset}) is not after the last block offset"
    )]
    CorruptDataEnd {
        /// Byte offset of the field.
        offset: usize,
        /// The recorded data end.
        data_end: u64,
    },
    /// A varint or a restart point of a prefix-compressed (v2) index is malformed.
    #[error("corrupt prefix-compressed sparse index at byte {offset} (entry {index}): {reason}")]
    CorruptEncoding {
        /// Entry index being decoded.
        index: usize,
        /// Byte offset of the problem.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// Legacy (reference) input of 1 to 3 bytes: too short to hold its CRC.
    #[error("legacy sparse index too short for its CRC: {len} bytes")]
    LegacyTooShort {
        /// Length of the input.
        len: usize,
    },
    /// Neither a byteshelf index (no `SPIX` frame) nor a legacy one: read as the legacy layout, which has no magic
    /// number, not even its first entry fits in it, and its CRC-32 does not match either (up to 16 MiB; above,
    /// the CRC is not computed for it). Typically a text file or another format. A legacy index damaged after its
    /// first entry header is a [`Error::ChecksumMismatch`] instead.
    #[error(
        "not a sparse index: no byteshelf magic (SPIX), and not the legacy (Python reference) layout either: its \
         first entry does not fit in its {len} bytes"
    )]
    NotAnIndex {
        /// Length of the input.
        len: usize,
    },
    /// A legacy entry's header or key runs past the end of the entries.
    #[error("corrupt legacy sparse index: entry {index} at byte {offset} is truncated")]
    LegacyTruncatedEntry {
        /// Entry index.
        index: usize,
        /// Byte offset where the entry starts.
        offset: usize,
    },
}

/// A key quoted in an error message: printed with `\xNN` escapes for bytes that are not printable ASCII.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Key(pub Vec<u8>);

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for &byte in &self.0 {
            for c in std::ascii::escape_default(byte) {
                fmt::Write::write_char(f, char::from(c))?;
            }
        }
        f.write_str("\"")
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

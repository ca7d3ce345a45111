//! The one error type of this crate.
//!
//! Every corruption variant names the file and the byte offset where the problem was found, so a report such as
//! `data_0003.rox: index entry for record 17 at byte 4242 ...` points straight at the bad bytes.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while reading, writing or recovering a Roxxel dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error on a file.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file being read, written, locked or renamed.
        file: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The path names something other than a regular file (a directory, a FIFO, a device): shards are memory-mapped
    /// files, and a FIFO would block a reader forever.
    #[error("{}: not a regular file ({kind})", file.display())]
    NotRegularFile {
        /// The path.
        file: PathBuf,
        /// What it is instead: "a directory", "a FIFO", "a character device", ...
        kind: &'static str,
    },

    /// The file is shorter than the smallest footer (24 bytes), e.g. a zero-byte file.
    #[error("{}: {size} bytes is too small to be a roxxel shard (the footer alone is 24 bytes)", file.display())]
    TooSmall {
        /// The shard file.
        file: PathBuf,
        /// Its size in bytes.
        size: u64,
    },

    /// The last 8 bytes of the file are neither `ROXXEL01` nor `ROXXEL02`.
    #[error(
        "{}: no roxxel footer: the 8 bytes at offset {offset} are {found:?}, expected \"ROXXEL01\" or \"ROXXEL02\"",
        file.display(),
        found = String::from_utf8_lossy(found)
    )]
    BadMagic {
        /// The shard file.
        file: PathBuf,
        /// Byte offset of the 8 magic bytes.
        offset: u64,
        /// The bytes found there.
        found: [u8; 8],
    },

    /// A footer field (record count or payload size) is negative.
    #[error("{}: footer field {field} at offset {offset} is negative ({value})", file.display())]
    NegativeFooterField {
        /// The shard file.
        file: PathBuf,
        /// Byte offset of the field.
        offset: u64,
        /// `"record count"` or `"raw data size"`.
        field: &'static str,
        /// The value read.
        value: i64,
    },

    /// The file size does not equal `raw_data_size + 8 * records + footer length`.
    #[error(
        "{}: footer at offset {footer_offset} says {records} records and {raw_data_size} payload bytes, \
         so the file should be {expected} bytes, but it is {actual}",
        file.display()
    )]
    SizeMismatch {
        /// The shard file.
        file: PathBuf,
        /// Byte offset of the footer.
        footer_offset: u64,
        /// Record count from the footer.
        records: u64,
        /// Payload size from the footer.
        raw_data_size: u64,
        /// The size the footer implies (`None` when it overflows 64 bits).
        expected: ExpectedSize,
        /// The actual file size.
        actual: u64,
    },

    /// An index entry is out of order or points past the payload.
    #[error(
        "{}: index entry for record {record} at offset {offset} ends the record at {end}, \
         but the record starts at {start} and the payload is {raw_data_size} bytes",
        file.display()
    )]
    BadIndexEntry {
        /// The shard file.
        file: PathBuf,
        /// Record number within the shard.
        record: u64,
        /// Byte offset of the index entry in the file.
        offset: u64,
        /// Start of the record (end of the previous one, or 0).
        start: i64,
        /// End stored in the index entry.
        end: i64,
        /// Payload size from the footer.
        raw_data_size: u64,
    },

    /// The last index entry does not end at the payload size (found by [`verify`](crate::Shard::verify)).
    #[error(
        "{}: last index entry at offset {offset} ends at {last_end}, but the footer says the payload is {raw_data_size} bytes",
        file.display()
    )]
    IndexEndMismatch {
        /// The shard file.
        file: PathBuf,
        /// Byte offset of the last index entry.
        offset: u64,
        /// The end it stores.
        last_end: u64,
        /// Payload size from the footer.
        raw_data_size: u64,
    },

    /// The shard was created by a write session that has not finished (its journal is still there); it is not
    /// part of the dataset yet.
    #[error("{}: belongs to an unfinished write (journal {}); it is not part of the dataset yet", file.display(), journal.display())]
    Uncommitted {
        /// The shard file.
        file: PathBuf,
        /// The journal of the unfinished session.
        journal: PathBuf,
    },

    /// A record index past the end of the dataset or shard.
    #[error("record index {index} out of range for {len} records")]
    IndexOutOfRange {
        /// The index asked for (as given, possibly negative).
        index: i128,
        /// The number of records.
        len: u64,
    },

    /// A dataset specification matched no shard file.
    #[error("no roxxel shard files found for {spec}")]
    NoShards {
        /// The specification as given (pattern, directory).
        spec: String,
    },

    /// Writers kept changing the dataset while it was being opened, so no consistent state could be read.
    #[error("{spec} kept changing while it was opened (concurrent writers); try again")]
    Unstable {
        /// The specification as given.
        spec: String,
    },

    /// A glob pattern could not be parsed.
    #[error("invalid glob pattern {pattern:?}: {message}")]
    BadPattern {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        message: String,
    },

    /// A dtype name does not fit the 8-byte ASCII footer field.
    #[error("invalid dtype {dtype:?}: {reason}")]
    InvalidDtype {
        /// The name given.
        dtype: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// The payload cannot be viewed as a slice of the requested element type.
    #[error(
        "{}: the {len}-byte payload cannot be viewed as {type_name} (size {size}, alignment {align}): {reason}",
        file.display()
    )]
    TypedView {
        /// The shard file.
        file: PathBuf,
        /// Payload length in bytes.
        len: usize,
        /// Rust name of the element type.
        type_name: &'static str,
        /// Element size in bytes.
        size: usize,
        /// Element alignment in bytes.
        align: usize,
        /// `"length is not a multiple of the element size"` or `"payload is not aligned"`.
        reason: &'static str,
    },

    /// A write would replace an existing file that is not a valid shard.
    #[error(
        "refusing to overwrite {}: it exists but is not a valid roxxel shard ({reason}); \
         nothing was written (set `overwrite_invalid` to replace it)",
        file.display()
    )]
    WouldOverwrite {
        /// The existing file.
        file: PathBuf,
        /// Why it was not accepted as a shard.
        #[source]
        reason: Box<Error>,
    },

    /// Another writer holds the lock on this shard.
    #[error("{}: locked by another writer", file.display())]
    Locked {
        /// The locked file.
        file: PathBuf,
    },

    /// The writer already rolled its session back after an earlier error; start a new writer.
    #[error("the writer rolled back after an earlier error and accepts no more records")]
    RolledBack,

    /// The writer options contradict each other (e.g. a dtype with a ROXXEL01 footer).
    #[error("invalid writer options: {0}")]
    InvalidOptions(&'static str),

    /// Appending with a dtype that differs from the one the shard already records.
    #[error("{}: the shard records dtype {existing:?}, refusing to append with dtype {requested:?}", file.display())]
    DtypeMismatch {
        /// The shard file.
        file: PathBuf,
        /// The dtype in its footer.
        existing: String,
        /// The dtype asked for.
        requested: String,
    },

    /// The record source (the iterator handed to the writer) returned an error; the append was rolled back.
    #[error(
        "the record source failed after {records_written} new records; the shard was rolled back"
    )]
    Source {
        /// New records accepted before the failure (all discarded).
        records_written: u64,
        /// The error it returned.
        #[source]
        source: io::Error,
    },

    /// A record or shard is too large for the 63-bit offsets of the format.
    #[error("{}: the shard would exceed the format's 63-bit size limit", file.display())]
    TooLarge {
        /// The shard file.
        file: PathBuf,
    },

    /// An append journal exists but is damaged, so the interrupted append cannot be rolled back automatically.
    #[error("{}: damaged append journal at offset {offset}: {reason}", file.display())]
    BadJournal {
        /// The journal file.
        file: PathBuf,
        /// Byte offset of the problem.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },

    /// A record's bytes do not match the CRC-32C its `.crc` sidecar stores: the payload or the index entries that
    /// delimit the record changed after it was written (or the sidecar is stale; see
    /// [`StaleChecksums`](Self::StaleChecksums)).
    #[error(
        "{}: record {record} (payload offset {offset}) has CRC-32C {actual:#010x}, but its .crc sidecar says \
         {expected:#010x}: the record's bytes or index entries changed after they were written",
        file.display()
    )]
    ChecksumMismatch {
        /// The shard file.
        file: PathBuf,
        /// Record number within the shard.
        record: u64,
        /// Byte offset of the record's first byte (its start in the payload).
        offset: u64,
        /// The CRC-32C stored in the sidecar.
        expected: u32,
        /// The CRC-32C of the bytes read.
        actual: u32,
    },

    /// A `.crc` sidecar is damaged or not a sidecar at all (bad magic, header or contents CRC, a length that does
    /// not match its record count).
    #[error("{}: damaged checksum sidecar at offset {offset}: {reason}", file.display())]
    BadChecksums {
        /// The sidecar file.
        file: PathBuf,
        /// Byte offset of the problem in the sidecar.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },

    /// A `.crc` sidecar does not describe its shard: where it says its last covered record ends disagrees with the
    /// shard's index. The shard was rewritten by a tool that does not update sidecars (delete the sidecar).
    #[error(
        "{}: the checksum sidecar {} covers {records} records ending at payload byte {sidecar_end}, but the index \
         entry at offset {offset} ends the shard's records at {shard_end}: the shard was rewritten without its \
         sidecar; delete the sidecar",
        file.display(),
        sidecar.display()
    )]
    StaleChecksums {
        /// The shard file.
        file: PathBuf,
        /// The sidecar file.
        sidecar: PathBuf,
        /// Records the sidecar covers.
        records: u64,
        /// Byte offset (in the shard) of the index entry compared.
        offset: u64,
        /// Where the sidecar says the covered records end.
        sidecar_end: u64,
        /// Where the shard's index says they end (or its payload size, for a sidecar covering more records).
        shard_end: i64,
    },

    /// A [`Sampler`](crate::Sampler) for a rank outside its world.
    #[error("sampler rank {rank} is not below the world size {world_size}")]
    InvalidSampler {
        /// The rank asked for.
        rank: u64,
        /// The number of ranks.
        world_size: u64,
    },

    /// Reading a shard from object storage failed (feature `object-store`): the request, or the store's answer.
    #[cfg(feature = "object-store")]
    #[error("{}: {source}", file.display())]
    Remote {
        /// The object's path.
        file: PathBuf,
        /// What the range reader or the store reported.
        #[source]
        source: sparse_buffer::Error,
    },
}

/// The file size a footer implies, or a note that it overflows (shown in [`Error::SizeMismatch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedSize {
    /// `raw_data_size + 8 * records + footer length`.
    Bytes(u64),
    /// The sum overflows 64 bits, so no file can match.
    Overflow,
}

impl std::fmt::Display for ExpectedSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bytes(n) => write!(f, "{n}"),
            Self::Overflow => f.write_str("more than 2^64"),
        }
    }
}

/// Shorthand for `Result<T, roxxel_format::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the file it happened on.
    #[cfg(feature = "object-store")]
    pub(crate) fn remote(file: &std::path::Path, source: sparse_buffer::Error) -> Self {
        Self::Remote {
            file: file.to_path_buf(),
            source,
        }
    }

    pub(crate) fn io(file: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            file: file.into(),
            source,
        }
    }

    /// Whether this error says the shard bytes (or their checksum sidecar) are damaged or not a shard at all (as
    /// opposed to I/O, locking, or a bad argument).
    #[must_use]
    pub fn is_corruption(&self) -> bool {
        matches!(
            self,
            Self::TooSmall { .. }
                | Self::BadMagic { .. }
                | Self::NegativeFooterField { .. }
                | Self::SizeMismatch { .. }
                | Self::BadIndexEntry { .. }
                | Self::IndexEndMismatch { .. }
                | Self::BadJournal { .. }
                | Self::ChecksumMismatch { .. }
                | Self::BadChecksums { .. }
                | Self::StaleChecksums { .. }
        )
    }
}

//! The one error type of the crate.
//!
//! Every variant that comes from the stream or the spool names the byte offset where it happened. Errors are
//! cheap to clone (the underlying [`io::Error`]s sit behind an [`Arc`]) because a failed stream reports the same
//! failure to every later read that reaches past it.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while pulling, spooling, reading or persisting a stream.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The source returned an error after yielding `offset` bytes. Bytes before `offset` stay readable; every
    /// read that reaches `offset` or beyond reports this error.
    #[error("the stream failed after {offset} bytes: {source}")]
    Source {
        /// Number of bytes the source had yielded before it failed.
        offset: u64,
        /// The error the source returned.
        source: Arc<io::Error>,
    },
    /// The source panicked while being pulled after `offset` bytes. The panic itself went to the thread that
    /// was pulling; everyone else sees this error.
    #[error("the stream panicked after {offset} bytes")]
    SourcePanicked {
        /// Number of bytes the source had yielded before it panicked.
        offset: u64,
    },
    /// The stream's length disagrees with the length declared through
    /// [`StreamBufferBuilder::known_len`](crate::StreamBufferBuilder::known_len).
    #[error("the stream was declared as {declared} bytes but {}", describe_mismatch(*declared, *actual))]
    LengthMismatch {
        /// The declared length.
        declared: u64,
        /// Where the stream really ended, or `None` when it yielded more than `declared` bytes.
        actual: Option<u64>,
    },
    /// Writing pulled bytes to the spool file, or reading them back, failed at byte `offset` of the stream.
    #[error("the spool file failed at stream offset {offset}: {source}")]
    Spool {
        /// Stream offset of the bytes being written or read.
        offset: u64,
        /// The I/O error.
        source: Arc<io::Error>,
    },
    /// Saving the stream to `file` failed; `file` is left untouched.
    #[error("could not persist the stream to {}: {source}", file.display())]
    Persist {
        /// The destination that was asked for.
        file: PathBuf,
        /// The I/O error.
        source: Arc<io::Error>,
    },
    /// [`remove_stale_parts`](crate::remove_stale_parts) could not list its directory (`file` is the directory)
    /// or remove a stale part file (`file` is the part file).
    #[error("could not remove stale part files: {}: {source}", file.display())]
    StalePart {
        /// The directory or part file.
        file: PathBuf,
        /// The I/O error.
        source: Arc<io::Error>,
    },
}

fn describe_mismatch(declared: u64, actual: Option<u64>) -> String {
    match actual {
        Some(actual) => format!("it ended after {actual}"),
        None => format!("it yielded more than {declared}"),
    }
}

impl Error {
    /// The stream offset the error refers to, when it refers to one.
    #[must_use]
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Source { offset, .. }
            | Error::SourcePanicked { offset }
            | Error::Spool { offset, .. } => Some(*offset),
            Error::LengthMismatch { declared, actual } => Some(actual.unwrap_or(*declared)),
            Error::Persist { .. } | Error::StalePart { .. } => None,
        }
    }
}

impl From<Error> for io::Error {
    /// Keeps the kind of the underlying I/O error where there is one; a length mismatch becomes
    /// [`io::ErrorKind::UnexpectedEof`] or [`io::ErrorKind::InvalidData`].
    fn from(error: Error) -> io::Error {
        let kind = match &error {
            Error::Source { source, .. }
            | Error::Spool { source, .. }
            | Error::Persist { source, .. }
            | Error::StalePart { source, .. } => source.kind(),
            Error::LengthMismatch {
                actual: Some(_), ..
            } => io::ErrorKind::UnexpectedEof,
            Error::LengthMismatch { actual: None, .. } => io::ErrorKind::InvalidData,
            Error::SourcePanicked { .. } => io::ErrorKind::Other,
        };
        io::Error::new(kind, error)
    }
}

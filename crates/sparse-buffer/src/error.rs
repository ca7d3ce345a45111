//! The one error type of this crate, and how it maps onto [`std::io::Error`].

use std::io;

/// A specialised `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a [`SparseBuffer`](crate::SparseBuffer), a
/// [`RangeSource`](crate::RangeSource) or a [`RangeReader`](crate::RangeReader).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes at `offset` are not cached: a gap, not the end of the file.
    ///
    /// [`SparseBuffer`](crate::SparseBuffer)'s [`io::Read`] returns this inside an [`io::Error`] of kind
    /// [`io::ErrorKind::Other`]; get it back with [`Error::from_io`] or [`io::Error::downcast`].
    #[error("byte {offset} is not cached (next cached byte: {})", display_next(*.next_cached))]
    NotCached {
        /// The first byte that is missing.
        offset: u64,
        /// Where the next cached region starts, if there is one before the end of the file.
        next_cached: Option<u64>,
    },

    /// A region, or a range asked of a source, does not fit inside the file.
    #[error("bytes {start}..{end} of {name} lie outside the file ({size} bytes)")]
    OutOfBounds {
        /// What was addressed (the source's name, or `sparse buffer`).
        name: String,
        /// First byte of the range.
        start: u64,
        /// End of the range (exclusive).
        end: u64,
        /// Size of the file.
        size: u64,
    },

    /// A range whose end comes before its start, or too long to hold in memory on this platform.
    #[error("invalid range {start}..{end}")]
    InvalidRange {
        /// First byte of the range.
        start: u64,
        /// End of the range (exclusive).
        end: u64,
    },

    /// A source answered a fetch with a different number of bytes than was asked for.
    #[error("{name} returned {got} bytes for bytes {start}..{end} ({} asked)", .end - .start)]
    ShortFetch {
        /// The source's name (for a file source, its path).
        name: String,
        /// First byte asked for.
        start: u64,
        /// End of the range asked for (exclusive).
        end: u64,
        /// How many bytes came back.
        got: u64,
    },

    /// A source answered a fetch of `asked` ranges with `got` buffers.
    #[error("{name} returned {got} buffers for {asked} ranges")]
    FetchCount {
        /// The source's name.
        name: String,
        /// How many ranges were asked for.
        asked: usize,
        /// How many buffers came back.
        got: usize,
    },

    /// An I/O error of a source (for a file source, the path is in `name`).
    #[error("I/O error reading {name}: {source}")]
    Io {
        /// The source's name.
        name: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The object changed after it was opened: a ranged read conditional on the version seen at open (its ETag
    /// or object version) was refused, or the store answered with another version. No byte of the new version
    /// is ever returned mixed with bytes of the old one; open the object again to read the new version.
    #[error(
        "{name} changed since it was opened: reading bytes {start}..{end}, expected {expected}, found {}",
        .found.as_deref().unwrap_or("another version (the store refused the read's condition)")
    )]
    ObjectChanged {
        /// The object (store and path).
        name: String,
        /// First byte of the read that found the change.
        start: u64,
        /// End of that read (exclusive).
        end: u64,
        /// The version pinned at open: `etag "..."`, `version ...`, and the size.
        expected: String,
        /// The version the store reported instead, when it said (a refused condition does not say which).
        found: Option<String>,
    },

    /// A blocking method was called on a thread that runs async tasks (a tokio worker, or the thread inside a
    /// runtime's `block_on`), where blocking would stall the other tasks or deadlock. Await the async API there,
    /// or move the blocking call into `tokio::task::spawn_blocking`.
    #[error(
        "a blocking read was called on a thread that runs async tasks: await the async API, or call it inside spawn_blocking"
    )]
    BlockingInRuntime,

    /// Any other error of a source (e.g. an object store's client error).
    #[error("{name}: {source}")]
    Source {
        /// The source's name.
        name: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

fn display_next(next: Option<u64>) -> String {
    next.map_or_else(|| "none".to_owned(), |offset| offset.to_string())
}

impl Error {
    /// Takes this crate's error back out of an [`io::Error`] produced by one of its `io::Read` or `io::Seek`
    /// implementations; `Err` returns the `io::Error` unchanged when it holds something else.
    pub fn from_io(err: io::Error) -> Result<Self, io::Error> {
        if err.get_ref().is_some_and(|inner| inner.is::<Self>()) {
            err.downcast::<Self>()
        } else {
            Err(err)
        }
    }

    /// The [`io::ErrorKind`] this error maps to when it crosses an `io::Read` or `io::Seek` boundary.
    #[must_use]
    pub fn io_kind(&self) -> io::ErrorKind {
        match self {
            Self::NotCached { .. }
            | Self::Source { .. }
            | Self::ObjectChanged { .. }
            | Self::BlockingInRuntime => io::ErrorKind::Other,
            Self::OutOfBounds { .. } | Self::InvalidRange { .. } => io::ErrorKind::InvalidInput,
            Self::ShortFetch { .. } | Self::FetchCount { .. } => io::ErrorKind::UnexpectedEof,
            Self::Io { source, .. } => source.kind(),
        }
    }
}

impl From<Error> for io::Error {
    fn from(err: Error) -> Self {
        Self::new(err.io_kind(), err)
    }
}

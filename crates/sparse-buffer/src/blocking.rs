//! [`BlockingRangeReader`]: the blocking facade of a [`RangeReader`], and a `Read + Seek + Clone` cursor.
//!
//! Each method is the async method of the same name, run to completion on the facade's
//! [`BlockingRuntime`]. Clones share the reader (its cache, its requests in flight, its counters) and each keeps
//! its own cursor, as `StreamCursor`s share a `StreamBuffer`.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;

use crate::buffer::{SparseBuffer, len_u64};
use crate::error::Result;
use crate::io::seek_target;
use crate::reader::{RangeReader, ReaderOptions, Stats};
use crate::runtime::BlockingRuntime;
use crate::source::{AsyncRangeSource, RangeSource};

/// A blocking cursor over a shared [`RangeReader`]: `Read + Seek + Clone`, and positional reads on `&self`.
///
/// Every blocking method runs the reader's async method on an explicit [`BlockingRuntime`]; on a thread that
/// runs async tasks it fails with [`Error::BlockingInRuntime`](crate::Error::BlockingInRuntime) instead of
/// blocking it. Over a synchronous [`RangeSource`] the constructors [`new`](Self::new),
/// [`with_options`](Self::with_options) and [`with_size`](Self::with_size) use [`BlockingRuntime::inline`]; over
/// an object store, [`from_reader`](Self::from_reader) (or [`RangeReader::blocking`]) takes a tokio runtime.
///
/// ```
/// use std::io::{Read, Seek, SeekFrom};
/// use sparse_buffer::{BlockingRangeReader, MemorySource};
///
/// let file: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
/// let mut first = BlockingRangeReader::new(MemorySource::new(file.clone()))?;
/// let mut second = first.clone(); // the same cache, its own cursor
/// first.seek(SeekFrom::Start(1000))?;
/// let mut out = [0; 4];
/// first.read_exact(&mut out)?;
/// assert_eq!(out[..], file[1000..1004]);
/// second.read_exact(&mut out)?;
/// assert_eq!(out[..], file[..4]);
/// assert_eq!((first.position(), second.position()), (1004, 4));
/// assert_eq!(first.stats().requests, 1); // the first read fetched 1 MiB of read-ahead for both
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct BlockingRangeReader<S> {
    reader: Arc<RangeReader<S>>,
    runtime: BlockingRuntime,
    position: u64,
}

impl<S> Clone for BlockingRangeReader<S> {
    /// Another cursor over the same reader, at the same position.
    fn clone(&self) -> Self {
        Self {
            reader: Arc::clone(&self.reader),
            runtime: self.runtime.clone(),
            position: self.position,
        }
    }
}

impl<S: AsyncRangeSource> fmt::Debug for BlockingRangeReader<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingRangeReader")
            .field("reader", &self.reader)
            .field("runtime", &self.runtime)
            .field("position", &self.position)
            .finish()
    }
}

impl<S: RangeSource> BlockingRangeReader<S> {
    /// A reader over the synchronous `source` with the default options, driven inline; asks the source for its
    /// size.
    ///
    /// # Errors
    ///
    /// When the source cannot tell its size.
    pub fn new(source: S) -> Result<Self> {
        Self::with_options(source, ReaderOptions::default())
    }

    /// A reader over the synchronous `source` with `options`, driven inline; asks the source for its size.
    ///
    /// # Errors
    ///
    /// When the source cannot tell its size.
    pub fn with_options(source: S, options: ReaderOptions) -> Result<Self> {
        let size = RangeSource::size(&source)?;
        Ok(Self::with_size(source, size, options))
    }

    /// A reader over the synchronous `source` of known `size`, driven inline.
    pub fn with_size(source: S, size: u64, options: ReaderOptions) -> Self {
        Self::from_reader(
            Arc::new(RangeReader::with_size(source, size, options)),
            BlockingRuntime::inline(),
        )
    }
}

impl<S: AsyncRangeSource> BlockingRangeReader<S> {
    /// A cursor at position 0 over `reader`, whose futures run on `runtime`.
    pub fn from_reader(reader: Arc<RangeReader<S>>, runtime: BlockingRuntime) -> Self {
        Self {
            reader,
            runtime,
            position: 0,
        }
    }

    /// The shared async reader (for the async API, or to make more cursors).
    #[must_use]
    pub fn reader(&self) -> &Arc<RangeReader<S>> {
        &self.reader
    }

    /// The runtime the blocking methods run on.
    #[must_use]
    pub fn runtime(&self) -> &BlockingRuntime {
        &self.runtime
    }

    /// The cursor of the [`io::Read`] and [`io::Seek`] implementations.
    #[must_use]
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The size of the file.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.reader.size()
    }

    /// The options of the reader.
    #[must_use]
    pub fn options(&self) -> &ReaderOptions {
        self.reader.options()
    }

    /// The source.
    #[must_use]
    pub fn source(&self) -> &S {
        self.reader.source()
    }

    /// The reader's counters so far (shared by every clone).
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.reader.stats()
    }

    /// How many bytes are cached.
    #[must_use]
    pub fn cached_bytes(&self) -> u64 {
        self.reader.cached_bytes()
    }

    /// The cached regions, sorted, end-exclusive.
    #[must_use]
    pub fn regions(&self) -> Vec<Range<u64>> {
        self.reader.regions()
    }

    /// Drops everything cached.
    pub fn clear_cache(&self) {
        self.reader.clear_cache();
    }

    /// The source and the cache, taken apart, when this is the reader's last cursor (else `None`).
    pub fn into_parts(self) -> Option<(S, SparseBuffer)> {
        Arc::into_inner(self.reader).map(RangeReader::into_parts)
    }

    /// [`RangeReader::read_at`], blocking.
    ///
    /// # Errors
    ///
    /// As [`RangeReader::read_at`], and [`Error::BlockingInRuntime`](crate::Error::BlockingInRuntime).
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        self.runtime.block_on(self.reader.read_at(offset, buf))?
    }

    /// [`RangeReader::read_exact_at`], blocking.
    ///
    /// # Errors
    ///
    /// As [`RangeReader::read_exact_at`], and [`Error::BlockingInRuntime`](crate::Error::BlockingInRuntime).
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.runtime
            .block_on(self.reader.read_exact_at(offset, buf))?
    }

    /// [`RangeReader::read_range`], blocking: zero-copy when one cached chunk holds the range.
    ///
    /// # Errors
    ///
    /// As [`RangeReader::read_range`], and [`Error::BlockingInRuntime`](crate::Error::BlockingInRuntime).
    pub fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        self.runtime.block_on(self.reader.read_range(range))?
    }

    /// [`RangeReader::prefetch`], blocking.
    ///
    /// # Errors
    ///
    /// As [`RangeReader::prefetch`], and [`Error::BlockingInRuntime`](crate::Error::BlockingInRuntime).
    pub fn prefetch(&self, ranges: &[Range<u64>]) -> Result<()> {
        self.runtime.block_on(self.reader.prefetch(ranges))?
    }

    /// [`RangeReader::plan`]: the requests a prefetch of `ranges` would send now.
    ///
    /// # Errors
    ///
    /// As [`RangeReader::plan`].
    pub fn plan(&self, ranges: &[Range<u64>]) -> Result<Vec<Range<u64>>> {
        self.reader.plan(ranges)
    }

    /// [`RangeReader::add_region`].
    ///
    /// # Errors
    ///
    /// As [`RangeReader::add_region`].
    pub fn add_region(&self, offset: u64, bytes: Bytes) -> Result<()> {
        self.reader.add_region(offset, bytes)
    }
}

/// Reads from the cursor, fetching what is missing; `Ok(0)` only at the end of the file.
impl<S: AsyncRangeSource> Read for BlockingRangeReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_at(self.position, buf)?;
        self.position += len_u64(n);
        Ok(n)
    }
}

/// Moves the cursor; before 0 is an [`io::ErrorKind::InvalidInput`] error, past the end is allowed.
impl<S: AsyncRangeSource> Seek for BlockingRangeReader<S> {
    fn seek(&mut self, from: SeekFrom) -> io::Result<u64> {
        self.position = seek_target(from, self.position, self.reader.size())?;
        Ok(self.position)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.position)
    }
}

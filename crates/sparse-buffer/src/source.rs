//! Where a [`RangeReader`](crate::RangeReader) fetches byte ranges from: [`AsyncRangeSource`] (what the reader
//! needs), [`RangeSource`] (the synchronous form, for sources that answer at once), an in-memory source and a
//! local-file source that uses positional reads.

use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;

use crate::buffer::len_u64;
use crate::error::{Error, Result};

/// Something of known size that answers requests for byte ranges at once, without waiting on a network:
/// memory, a local file, a test double.
///
/// Every `RangeSource` is an [`AsyncRangeSource`] too (a blanket implementation whose futures are ready at once),
/// so a [`RangeReader`](crate::RangeReader) reads it directly: the fetch runs synchronously inside the reader's
/// future, which is the fast path for memory and the page cache. A source that waits on a network implements
/// [`AsyncRangeSource`] instead (as `ObjectStoreSource` does with the `object-store`
/// feature), so that no thread is blocked while it waits.
///
/// Both methods take `&self` and the trait requires `Send + Sync`, so one source serves many tasks and threads
/// at once. Errors of the source itself are [`Error::Source`] (I/O errors [`Error::Io`]).
///
/// ```
/// use std::ops::Range;
/// use bytes::Bytes;
/// use sparse_buffer::{RangeSource, Result};
///
/// /// A file of `size` bytes where byte `i` is `i % 251`.
/// struct Pattern { size: u64 }
///
/// impl RangeSource for Pattern {
///     fn size(&self) -> Result<u64> {
///         Ok(self.size)
///     }
///     fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
///         Ok(ranges.iter().map(|r| r.clone().map(|i| (i % 251) as u8).collect()).collect())
///     }
/// }
///
/// let source = Pattern { size: 1000 };
/// assert_eq!(source.fetch(&[250..253])?, [Bytes::from_static(&[250, 0, 1])]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RangeSource: Send + Sync {
    /// The size of the whole file in bytes.
    ///
    /// # Errors
    ///
    /// When the source cannot tell (e.g. the file is gone).
    fn size(&self) -> Result<u64>;

    /// The bytes of each range, in the order asked. Every range lies inside `0..size()` and is not empty.
    ///
    /// A [`RangeReader`](crate::RangeReader) checks the answer: a wrong number of buffers is
    /// [`Error::FetchCount`], a buffer of the wrong length [`Error::ShortFetch`].
    ///
    /// # Errors
    ///
    /// When the source fails; out-of-bounds ranges are [`Error::OutOfBounds`].
    fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>>;

    /// A name for error messages: a path, a URL, an object key.
    fn name(&self) -> String {
        "range source".to_owned()
    }
}

/// `RangeSource` for pointers to a source: each method forwards to the source.
macro_rules! forward_range_source {
    ($($pointer:ty),+) => {$(
        impl<S: RangeSource + ?Sized> RangeSource for $pointer {
            fn size(&self) -> Result<u64> {
                (**self).size()
            }
            fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
                (**self).fetch(ranges)
            }
            fn name(&self) -> String {
                (**self).name()
            }
        }
    )+};
}

forward_range_source!(&S, Box<S>, Arc<S>);

/// Something of known size that answers requests for byte ranges asynchronously: what a
/// [`RangeReader`](crate::RangeReader) reads.
///
/// The futures are `Send` and run on the caller's executor (the reader never spawns): an object-store client
/// awaits its requests there. Every synchronous [`RangeSource`] implements this trait through a blanket
/// implementation whose futures are ready as soon as they are created, so implement [`RangeSource`] for a source
/// that answers at once, and this trait for one that waits (the two cannot both be implemented for one type).
///
/// ```
/// use std::ops::Range;
/// use bytes::Bytes;
/// use sparse_buffer::{AsyncRangeSource, RangeReader, ReaderOptions, Result};
///
/// /// A file of `size` bytes where byte `i` is `i % 251`, served after a yield to the executor.
/// struct Pattern { size: u64 }
///
/// impl AsyncRangeSource for Pattern {
///     async fn size(&self) -> Result<u64> {
///         Ok(self.size)
///     }
///     async fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
///         Ok(ranges.iter().map(|r| r.clone().map(|i| (i % 251) as u8).collect()).collect())
///     }
///     fn name(&self) -> String {
///         "pattern".to_owned()
///     }
/// }
///
/// # sparse_buffer::BlockingRuntime::inline().block_on(async {
/// let reader = RangeReader::new(Pattern { size: 1000 }).await?;
/// assert_eq!(reader.read_range(250..253).await?[..], [250, 0, 1]);
/// # Ok::<(), sparse_buffer::Error>(())
/// # })??;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait AsyncRangeSource: Send + Sync {
    /// The size of the whole file in bytes.
    ///
    /// # Errors
    ///
    /// When the source cannot tell (e.g. the file is gone).
    fn size(&self) -> impl Future<Output = Result<u64>> + Send;

    /// The bytes of each range, in the order asked. Every range lies inside `0..size()` and is not empty.
    ///
    /// A [`RangeReader`](crate::RangeReader) checks the answer: a wrong number of buffers is
    /// [`Error::FetchCount`], a buffer of the wrong length [`Error::ShortFetch`].
    ///
    /// # Errors
    ///
    /// When the source fails; out-of-bounds ranges are [`Error::OutOfBounds`].
    fn fetch(&self, ranges: &[Range<u64>]) -> impl Future<Output = Result<Vec<Bytes>>> + Send;

    /// A name for error messages: a path, a URL, an object key.
    fn name(&self) -> String;
}

/// The adapter from a synchronous source: each future is ready when created (the work is done by the call).
impl<S: RangeSource + ?Sized> AsyncRangeSource for S {
    fn size(&self) -> impl Future<Output = Result<u64>> + Send {
        std::future::ready(RangeSource::size(self))
    }

    fn fetch(&self, ranges: &[Range<u64>]) -> impl Future<Output = Result<Vec<Bytes>>> + Send {
        std::future::ready(RangeSource::fetch(self, ranges))
    }

    fn name(&self) -> String {
        RangeSource::name(self)
    }
}

/// Checks that `range` is well-formed and inside a file of `size` bytes.
fn check_range(name: impl FnOnce() -> String, range: &Range<u64>, size: u64) -> Result<()> {
    if range.start > range.end {
        return Err(Error::InvalidRange {
            start: range.start,
            end: range.end,
        });
    }
    if range.end > size {
        return Err(Error::OutOfBounds {
            name: name(),
            start: range.start,
            end: range.end,
            size,
        });
    }
    Ok(())
}

/// A source over bytes in memory; fetches are zero-copy slices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemorySource {
    data: Bytes,
}

impl MemorySource {
    /// A source serving `data`.
    pub fn new(data: impl Into<Bytes>) -> Self {
        Self { data: data.into() }
    }

    /// The bytes served.
    #[must_use]
    pub fn bytes(&self) -> &Bytes {
        &self.data
    }
}

impl RangeSource for MemorySource {
    fn size(&self) -> Result<u64> {
        Ok(len_u64(self.data.len()))
    }

    fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let size = len_u64(self.data.len());
        ranges
            .iter()
            .map(|range| {
                check_range(|| RangeSource::name(self), range, size)?;
                // Both ends are at most `data.len()`, so they fit in usize.
                let start = usize::try_from(range.start).unwrap_or(usize::MAX);
                let end = usize::try_from(range.end).unwrap_or(usize::MAX);
                Ok(self.data.slice(start..end))
            })
            .collect()
    }

    fn name(&self) -> String {
        "memory".to_owned()
    }
}

/// A source over a local file, read with positional reads (`pread` on Unix, `seek_read` on Windows), so
/// concurrent fetches share one open file without a cursor.
pub struct FileSource {
    file: PositionalFile,
    name: String,
}

impl fmt::Debug for FileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSource")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl FileSource {
    /// Opens the file at `path` for reading.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when it cannot be opened.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let name = path.display().to_string();
        match File::open(path) {
            Ok(file) => Ok(Self::from_file(file, name)),
            Err(source) => Err(Error::Io { name, source }),
        }
    }

    /// A source over an already open file, called `name` in errors.
    pub fn from_file(file: File, name: impl Into<String>) -> Self {
        Self {
            file: PositionalFile::new(file),
            name: name.into(),
        }
    }

    fn io_error(&self, source: io::Error) -> Error {
        Error::Io {
            name: self.name.clone(),
            source,
        }
    }

    /// Reads the checked `range` whole; a file that ends early (it shrank) is [`Error::ShortFetch`].
    fn fetch_one(&self, range: &Range<u64>) -> Result<Bytes> {
        let len = usize::try_from(range.end - range.start).map_err(|_| Error::InvalidRange {
            start: range.start,
            end: range.end,
        })?;
        let mut buf = vec![0; len];
        let mut filled = 0;
        while filled < len {
            match self
                .file
                .read_at(&mut buf[filled..], range.start + len_u64(filled))
            {
                Ok(0) => {
                    return Err(Error::ShortFetch {
                        name: self.name.clone(),
                        start: range.start,
                        end: range.end,
                        got: len_u64(filled),
                    });
                }
                Ok(n) => filled += n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(self.io_error(err)),
            }
        }
        Ok(Bytes::from(buf))
    }
}

impl RangeSource for FileSource {
    fn size(&self) -> Result<u64> {
        self.file.metadata_len().map_err(|err| self.io_error(err))
    }

    fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let size = RangeSource::size(self)?;
        for range in ranges {
            check_range(|| self.name.clone(), range, size)?;
        }
        ranges.iter().map(|range| self.fetch_one(range)).collect()
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

/// A file read at explicit offsets, with no shared cursor where the platform allows it.
struct PositionalFile {
    #[cfg(any(unix, windows))]
    file: File,
    #[cfg(not(any(unix, windows)))]
    file: std::sync::Mutex<File>,
}

impl PositionalFile {
    #[cfg(any(unix, windows))]
    fn new(file: File) -> Self {
        Self { file }
    }

    #[cfg(not(any(unix, windows)))]
    fn new(file: File) -> Self {
        Self {
            file: std::sync::Mutex::new(file),
        }
    }

    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.file, buf, offset)
    }

    #[cfg(windows)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(&self.file, buf, offset)
    }

    #[cfg(not(any(unix, windows)))]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.seek(SeekFrom::Start(offset))?;
        file.read(buf)
    }

    #[cfg(any(unix, windows))]
    fn metadata_len(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    #[cfg(not(any(unix, windows)))]
    fn metadata_len(&self) -> io::Result<u64> {
        let file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(file.metadata()?.len())
    }
}

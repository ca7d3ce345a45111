//! [`StreamBuffer`]: random reads into a forward-only stream, and its [`StreamBufferBuilder`].
//!
//! # How threads cooperate
//!
//! - `pulled` is the watermark: every byte below it is in the spool and stays there. The puller publishes it
//!   only after the bytes are written, so a reader that needs bytes below the watermark reads them straight
//!   from the spool without taking any lock the puller holds while it waits on the source.
//! - One thread pulls at a time (`pulling` under a mutex). A reader that needs bytes beyond the watermark
//!   either becomes the puller, or waits on a condition variable that the puller signals after each chunk it
//!   publishes, and wakes as soon as its own range is in.
//! - The end of the stream and the first failure are written once (`end`, `failure`); the source is dropped at
//!   either.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

use crate::cursor::StreamCursor;
use bytes::Bytes;

use crate::error::{Error, Result};
use crate::persist;
use crate::source::{IterSource, READ_CHUNK, ReadSource, Source};
use crate::spool::Spool;

/// Largest piece of a chunk spooled before it is published to readers.
const PUBLISH_STEP: usize = 1024 * 1024;

/// Default memory threshold: the first 5 MiB of a stream stay in memory, the rest goes to a temporary file.
pub const DEFAULT_MEMORY_THRESHOLD: usize = 5 * 1024 * 1024;

/// Random access into a forward-only stream.
///
/// Reads pull from the source only as far as they need and keep every pulled byte: the first
/// [`memory_threshold`](StreamBufferBuilder::memory_threshold) bytes in memory, the rest in a temporary file.
/// All methods take `&self` and the buffer is `Send + Sync`: share it with `Arc` or scoped threads. Readers of
/// bytes already pulled never wait for a thread that is pulling.
///
/// ```
/// use byteshelf_stream_buffer::StreamBuffer;
///
/// let chunks = ["abcd", "efgh"].into_iter().map(|c| Ok(c.as_bytes()));
/// let buffer = StreamBuffer::from_chunks(chunks);
/// assert_eq!(buffer.read(5, 2)?, &b"fg"[..]); // pulls both chunks, keeps both
/// assert_eq!(buffer.read(1, 2)?, &b"bc"[..]); // already pulled: no pull
/// assert_eq!(buffer.read(8, 1)?, &b""[..]);   // past the end
/// assert_eq!(buffer.len(), Some(8));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct StreamBuffer {
    spool: Spool,
    declared_len: Option<u64>,
    /// Bytes pulled, spooled and readable.
    pulled: AtomicU64,
    /// The stream's length, set once the stream has ended cleanly.
    end: OnceLock<u64>,
    /// The first failure; set at most once, after which nothing more is pulled.
    failure: OnceLock<Error>,
    /// The source; `None` once it has ended or failed. Only the puller locks it.
    source: Mutex<Option<Box<dyn Source>>>,
    /// Memory held by the source adapter (the scratch buffer of a reader).
    source_memory: AtomicUsize,
    /// Whether a thread is pulling. Waiters sleep on `pull_progress` with this mutex.
    pulling: Mutex<bool>,
    pull_progress: Condvar,
    /// Threads sleeping on `pull_progress`; the puller only signals after a chunk when there are some.
    waiters: AtomicUsize,
}

/// Configures and creates a [`StreamBuffer`].
///
/// ```
/// use byteshelf_stream_buffer::StreamBuffer;
///
/// let file = std::io::Cursor::new(vec![7u8; 100_000]); // any `impl Read + Send + 'static`
/// let buffer = StreamBuffer::builder()
///     .memory_threshold(64 * 1024)         // then spill to disk
///     .spill_dir(std::env::temp_dir())    // where the spool file goes
///     .known_len(100_000)                 // checked against the stream
///     .build_from_reader(file);
/// assert_eq!(buffer.read(99_990, 100)?, &[7u8; 10][..]);
/// assert!(buffer.is_spilled());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct StreamBufferBuilder {
    memory_threshold: usize,
    spill_dir: Option<PathBuf>,
    known_len: Option<u64>,
}

impl Default for StreamBufferBuilder {
    fn default() -> Self {
        StreamBufferBuilder {
            memory_threshold: DEFAULT_MEMORY_THRESHOLD,
            spill_dir: None,
            known_len: None,
        }
    }
}

impl StreamBufferBuilder {
    /// A builder with the defaults: a 5 MiB memory threshold, the system temporary directory, unknown length.
    pub fn new() -> Self {
        StreamBufferBuilder::default()
    }

    /// Keeps stream bytes `[0, bytes)` in memory and spools everything after them to a temporary file.
    /// `0` sends every byte to the file.
    pub fn memory_threshold(mut self, bytes: usize) -> Self {
        self.memory_threshold = bytes;
        self
    }

    /// Creates the spool file in `dir` instead of [`std::env::temp_dir`] (which is often a RAM-backed tmpfs).
    /// The file has no name and disappears when the buffer is dropped, even after a crash.
    pub fn spill_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spill_dir = Some(dir.into());
        self
    }

    /// Declares the stream's length. [`StreamBuffer::len`] reports it at once, reads are clamped to it, and
    /// pulling stops once it is reached (the source is not polled again for an end it may never send).
    ///
    /// The stream is checked against it: one that ends early fails with [`Error::LengthMismatch`] at the
    /// offset where it ended, like any source error. One that yields more keeps its first `len` bytes readable
    /// (reads are clamped to them anyway) but is refused as a whole: [`StreamBuffer::failure`],
    /// [`pull_all`](StreamBuffer::pull_all), [`persist`](StreamBuffer::persist) and
    /// [`into_file`](StreamBuffer::into_file) report the mismatch.
    pub fn known_len(mut self, len: u64) -> Self {
        self.known_len = Some(len);
        self
    }

    /// A buffer over an iterator of chunks of any size. The iterator is taken once and never restarted.
    pub fn build_from_chunks<I, T>(self, chunks: I) -> StreamBuffer
    where
        I: IntoIterator<Item = io::Result<T>>,
        I::IntoIter: Send + 'static,
        T: AsRef<[u8]>,
    {
        self.build(Box::new(IterSource::new(chunks.into_iter())), 0)
    }

    /// A buffer over a reader, read in chunks of up to 64 KiB.
    pub fn build_from_reader<R: Read + Send + 'static>(self, reader: R) -> StreamBuffer {
        let chunk = self.known_len.map_or(READ_CHUNK, |len| {
            usize::try_from(len).unwrap_or(usize::MAX).min(READ_CHUNK)
        });
        self.build(Box::new(ReadSource::new(reader, chunk)), chunk)
    }

    fn build(self, source: Box<dyn Source>, source_memory: usize) -> StreamBuffer {
        StreamBuffer {
            spool: Spool::new(self.memory_threshold, self.spill_dir),
            declared_len: self.known_len,
            pulled: AtomicU64::new(0),
            end: OnceLock::new(),
            failure: OnceLock::new(),
            source: Mutex::new(Some(source)),
            source_memory: AtomicUsize::new(source_memory),
            pulling: Mutex::new(false),
            pull_progress: Condvar::new(),
            waiters: AtomicUsize::new(0),
        }
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (a flag, or a source that is never
/// pulled again after a panic because the panic is recorded as the failure).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StreamBuffer {
    /// A builder, to set the memory threshold, the spill directory or the known length.
    pub fn builder() -> StreamBufferBuilder {
        StreamBufferBuilder::new()
    }

    /// A buffer with default settings over an iterator of `io::Result` chunks of any size (`Vec<u8>`, `&[u8]`,
    /// `bytes::Bytes`, …). Empty chunks are skipped; [`io::ErrorKind::Interrupted`] errors are skipped too.
    #[must_use]
    pub fn from_chunks<I, T>(chunks: I) -> StreamBuffer
    where
        I: IntoIterator<Item = io::Result<T>>,
        I::IntoIter: Send + 'static,
        T: AsRef<[u8]>,
    {
        StreamBufferBuilder::new().build_from_chunks(chunks)
    }

    /// A buffer with default settings over a reader.
    #[must_use]
    pub fn from_reader<R: Read + Send + 'static>(reader: R) -> StreamBuffer {
        StreamBufferBuilder::new().build_from_reader(reader)
    }

    /// Returns `data[offset .. min(offset + len, end)]`: exactly `len` bytes unless the stream ends first,
    /// and empty when `offset` is at or past the end. Pulls only as far as needed.
    ///
    /// # Errors
    ///
    /// When the stream failed (now or earlier) before `min(offset + len, end)`, that failure; never a short
    /// `Ok`. [`Error::Spool`] when the spool file cannot be read back.
    pub fn read(&self, offset: u64, len: usize) -> Result<Bytes> {
        let want = self.clamp(offset, len);
        if want <= offset {
            return Ok(Bytes::new());
        }
        let available = self.ensure(want)?;
        let len = available.saturating_sub(offset);
        let mut out = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        self.copy_out(offset, &mut out)?;
        Ok(Bytes::from(out))
    }

    /// Fills `out` with the bytes at `offset` and returns how many there were: `out.len()` unless the stream
    /// ends first. Errors as for [`read`](Self::read).
    ///
    /// # Errors
    ///
    /// As for [`read`](Self::read).
    pub fn read_into(&self, offset: u64, out: &mut [u8]) -> Result<usize> {
        let want = self.clamp(offset, out.len());
        if want <= offset {
            return Ok(0);
        }
        let available = self.ensure(want)?;
        let len = usize::try_from(available.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(out.len());
        self.copy_out(offset, &mut out[..len])?;
        Ok(len)
    }

    /// The bytes in `range`, clamped to the end of the stream; an open end (`a..`) pulls the whole stream.
    ///
    /// # Errors
    ///
    /// As for [`read`](Self::read).
    pub fn slice(&self, range: impl RangeBounds<u64>) -> Result<Bytes> {
        let start = match range.start_bound() {
            Bound::Included(&start) => start,
            Bound::Excluded(&start) => start.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&end) => end.saturating_add(1),
            Bound::Excluded(&end) => end,
            Bound::Unbounded => u64::MAX,
        };
        let len = usize::try_from(end.saturating_sub(start)).unwrap_or(usize::MAX);
        self.read(start, len)
    }

    /// Pulls the rest of the stream and returns its length.
    ///
    /// # Errors
    ///
    /// The stream's failure, if it fails.
    pub fn pull_all(&self) -> Result<u64> {
        let len = self.ensure(self.declared_len.unwrap_or(u64::MAX))?;
        match self.failure.get() {
            // A stream longer than declared fails at the declared length, after all the wanted bytes.
            Some(failure) => Err(failure.clone()),
            None => Ok(len),
        }
    }

    /// Number of bytes pulled from the source so far; they are all readable without pulling.
    #[must_use]
    pub fn pulled(&self) -> u64 {
        self.pulled.load(Ordering::Acquire)
    }

    /// Whether the stream has ended cleanly (every byte is pulled). Never pulls, so it cannot block.
    #[must_use]
    pub fn is_exhausted(&self) -> bool {
        self.end.get().is_some()
    }

    /// The stream's length once known: after it ended, or as declared with
    /// [`known_len`](StreamBufferBuilder::known_len). `None` while unknown, and after a failure.
    #[must_use]
    pub fn len(&self) -> Option<u64> {
        if let Some(&end) = self.end.get() {
            return Some(end);
        }
        if self.failure.get().is_some() {
            None
        } else {
            self.declared_len
        }
    }

    /// Whether the stream is known to be empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// The failure that stopped the stream, if any.
    #[must_use]
    pub fn failure(&self) -> Option<&Error> {
        self.failure.get()
    }

    /// The memory threshold this buffer was built with.
    #[must_use]
    pub fn memory_threshold(&self) -> usize {
        self.spool.threshold()
    }

    /// Whether some pulled bytes have gone to the spool file.
    #[must_use]
    pub fn is_spilled(&self) -> bool {
        self.spool.is_spilled()
    }

    /// Bytes of memory the buffer itself holds: the memory tier's allocations plus a reader source's scratch
    /// buffer. It never exceeds `memory_threshold()` plus 64 KiB, however long the stream.
    #[must_use]
    pub fn memory_bytes(&self) -> usize {
        self.spool.memory_bytes() + self.source_memory.load(Ordering::Relaxed)
    }

    /// A [`Read`] + [`Seek`](std::io::Seek) cursor at offset 0. It borrows the buffer; for an owned cursor use
    /// [`StreamCursor::new`] with an `Arc<StreamBuffer>`.
    #[must_use]
    pub fn cursor(&self) -> StreamCursor<&StreamBuffer> {
        StreamCursor::new(self)
    }

    /// Pulls the rest of the stream and saves the whole of it to `path` atomically: it is written to a
    /// temporary file in the same directory, flushed to disk, then renamed over `path`. Returns the length.
    /// The buffer stays usable.
    ///
    /// The temporary file (`.stream-buffer-XXXXXX.part`) is locked (an exclusive advisory lock) while it is
    /// written, so that the part file of a process killed meanwhile can be told from a live one: before writing,
    /// `persist` removes such stale part files from the directory (see [`remove_stale_parts`](crate::remove_stale_parts)).
    ///
    /// # Errors
    ///
    /// The stream's failure (then `path` is untouched), or [`Error::Persist`] when writing fails.
    pub fn persist(&self, path: impl AsRef<Path>) -> Result<u64> {
        let len = self.pull_all()?;
        persist::persist(&self.spool, len, path.as_ref())?;
        Ok(len)
    }

    /// Pulls the rest of the stream and hands over the spool as one unnamed temporary file holding the whole
    /// stream, positioned at its start. The file is deleted when closed.
    ///
    /// # Errors
    ///
    /// The stream's failure, or [`Error::Spool`] when the spool cannot be completed.
    pub fn into_file(self) -> Result<File> {
        let len = self.pull_all()?;
        self.spool.into_file(len).map_err(|source| Error::Spool {
            offset: 0,
            source: Arc::new(source),
        })
    }

    /// The end of the bytes a read of `len` bytes at `offset` wants, clamped to the declared length.
    fn clamp(&self, offset: u64, len: usize) -> u64 {
        let want = offset.saturating_add(len as u64);
        match self.declared_len {
            Some(declared) => want.min(declared),
            None => want,
        }
    }

    fn copy_out(&self, offset: u64, out: &mut [u8]) -> Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        self.spool
            .read_at(offset, out)
            .map_err(|source| Error::Spool {
                offset,
                source: Arc::new(source),
            })
    }

    /// Makes stream bytes `[.., want)` readable, pulling or waiting for them. Returns `want`, or the end of the
    /// stream if it is shorter. Every byte below the returned offset is pulled.
    fn ensure(&self, want: u64) -> Result<u64> {
        loop {
            if self.pulled.load(Ordering::SeqCst) >= want {
                return Ok(want);
            }
            if let Some(&end) = self.end.get() {
                return Ok(want.min(end));
            }
            if let Some(failure) = self.failure.get() {
                return Err(failure.clone());
            }
            let mut pulling = lock(&self.pulling);
            if *pulling {
                self.waiters.fetch_add(1, Ordering::SeqCst);
                while *pulling && self.pulled.load(Ordering::SeqCst) < want {
                    pulling = self
                        .pull_progress
                        .wait(pulling)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                self.waiters.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            *pulling = true;
            drop(pulling);
            let turn = PullTurn { buffer: self };
            self.pull_until(want);
            drop(turn);
        }
    }

    /// Pulls chunks until `want` bytes are in, or the stream ends or fails (recorded in `end` / `failure`).
    /// Called only by the thread whose turn it is.
    fn pull_until(&self, want: u64) {
        let mut source = lock(&self.source);
        let Some(stream) = source.as_mut() else {
            return;
        };
        let mut pulled = self.pulled.load(Ordering::SeqCst);
        while pulled < want {
            if self.declared_len == Some(pulled) {
                self.finish(&mut source, Ok(pulled));
                return;
            }
            let room = self
                .declared_len
                .map_or(u64::MAX, |declared| declared - pulled);
            let mut outcome = Ok(pulled);
            let mut overflow = false;
            let more = stream.pull(&mut |mut bytes: &[u8]| {
                if bytes.len() as u64 > room {
                    // `room` is smaller than a slice length here, so it fits in usize.
                    bytes = &bytes[..usize::try_from(room).unwrap_or(0)];
                    overflow = true;
                }
                // A huge chunk is published piece by piece, so readers can start before it is all spooled.
                let mut at = pulled;
                for piece in bytes.chunks(PUBLISH_STEP) {
                    if let Err(source) = self.spool.append(at, piece) {
                        outcome = Err(Error::Spool {
                            offset: at,
                            source: Arc::new(source),
                        });
                        return;
                    }
                    at += piece.len() as u64;
                    self.publish(at);
                }
                outcome = Ok(at);
            });
            match (more, outcome) {
                (Ok(true), Ok(now)) => {
                    pulled = now;
                    if overflow {
                        let declared = self.declared_len.unwrap_or(now);
                        self.finish(
                            &mut source,
                            Err(Error::LengthMismatch {
                                declared,
                                actual: None,
                            }),
                        );
                        return;
                    }
                    if self.declared_len == Some(now) {
                        self.finish(&mut source, Ok(now));
                        return;
                    }
                }
                (Ok(true), Err(spool)) => {
                    self.finish(&mut source, Err(spool));
                    return;
                }
                (Ok(false), _) => {
                    let ended = match self.declared_len {
                        Some(declared) if declared != pulled => Err(Error::LengthMismatch {
                            declared,
                            actual: Some(pulled),
                        }),
                        _ => Ok(pulled),
                    };
                    self.finish(&mut source, ended);
                    return;
                }
                (Err(error), _) => {
                    self.finish(
                        &mut source,
                        Err(Error::Source {
                            offset: pulled,
                            source: Arc::new(error),
                        }),
                    );
                    return;
                }
            }
        }
    }

    /// Makes bytes `[.., pulled)` visible to readers and wakes waiters, if any.
    fn publish(&self, pulled: u64) {
        self.pulled.store(pulled, Ordering::SeqCst);
        // A waiter registers before it re-checks `pulled` under the lock, so either it sees the new value or
        // we see it registered; taking the lock before notifying means it is already asleep when we do.
        if self.waiters.load(Ordering::SeqCst) > 0 {
            drop(lock(&self.pulling));
            self.pull_progress.notify_all();
        }
    }

    /// Records how the stream ended and drops the source.
    fn finish(&self, source: &mut Option<Box<dyn Source>>, ended: Result<u64>) {
        match ended {
            Ok(len) => {
                let _ = self.end.set(len);
            }
            Err(error) => {
                let _ = self.failure.set(error);
            }
        }
        *source = None;
        self.source_memory.store(0, Ordering::Relaxed);
    }
}

/// The pulling turn of one thread. Ends the turn when dropped, also when the source panics (which is then
/// recorded as the stream's failure so that nobody pulls from it again).
struct PullTurn<'a> {
    buffer: &'a StreamBuffer,
}

impl Drop for PullTurn<'_> {
    fn drop(&mut self) {
        let buffer = self.buffer;
        if thread::panicking() {
            let offset = buffer.pulled.load(Ordering::SeqCst);
            let _ = buffer.failure.set(Error::SourcePanicked { offset });
        }
        let mut pulling = lock(&buffer.pulling);
        *pulling = false;
        // Waiters register under this lock, so the count is exact here; waking nobody costs a syscall.
        if buffer.waiters.load(Ordering::SeqCst) > 0 {
            buffer.pull_progress.notify_all();
        }
        drop(pulling);
    }
}

impl fmt::Debug for StreamBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamBuffer")
            .field("pulled", &self.pulled())
            .field("len", &self.len())
            .field("exhausted", &self.is_exhausted())
            .field("failure", &self.failure())
            .field("memory_threshold", &self.memory_threshold())
            .field("spilled", &self.is_spilled())
            .field("spill_dir", &self.spool.spill_dir())
            .finish_non_exhaustive()
    }
}

//! [`RangeReader`]: reads a [`RangeSource`] like a file, fetching only the byte ranges it needs and caching them
//! in a [`SparseBuffer`].
//!
//! All state sits behind one mutex that is never held while a source is fetching. A thread that needs bytes
//! plans requests for what is neither cached nor in flight, marks them in flight, fetches them (several at once
//! on scoped threads), then stores them and wakes the threads that wait for bytes it brought.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use crate::buffer::{ReadAt, SparseBuffer, len_u64};
use crate::error::{Error, Result};
use crate::io::seek_target;
use crate::plan::{InFlight, normalize, plan};
use crate::source::RangeSource;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// How a [`RangeReader`] turns reads into requests, and how much it keeps.
///
/// ```
/// use sparse_buffer::ReaderOptions;
///
/// let options = ReaderOptions::default()
///     .read_ahead(8 << 20) // what roboto's HttpRangeReader uses
///     .coalesce_gap(1 << 20) // what object_store's get_ranges uses
///     .cache_budget(Some(256 << 20));
/// assert_eq!(options.concurrency, 8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ReaderOptions {
    /// On a miss, fetch at least this many bytes from the first missing byte on (default 1 MiB).
    pub read_ahead: u64,
    /// A miss in the last `tail_read` bytes fetches all of them, footer and index together (default 128 KiB,
    /// roboto's read-behind; 0 turns it off).
    pub tail_read: u64,
    /// Missing spans at most this far apart are fetched as one request, the bytes between included
    /// (default 64 KiB, as roboto).
    pub coalesce_gap: u64,
    /// Longer spans are cut into equal requests of at most this many bytes (default 8 MiB; 0 = no limit).
    /// Every request costs a round trip and a cached buffer of its own, so a limit far below what the source
    /// delivers in one round trip only multiplies requests (a few bytes turn one miss into thousands).
    pub max_request: u64,
    /// At most this many requests run at once (default 8; at least 1). A plan of several requests runs them on
    /// scoped threads started for that plan: nothing next to a network round trip, but more than the fetch itself
    /// for a [`MemorySource`](crate::MemorySource) or a file in the page cache, where 1 is faster.
    pub concurrency: usize,
    /// Keep at most this many cached bytes, evicting the least recently used fetched spans first
    /// (default `None`: keep everything, as roboto does). The budget counts cached bytes; a fetched buffer
    /// that was partly overwritten or evicted stays allocated until none of its bytes is cached.
    pub cache_budget: Option<u64>,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            read_ahead: MIB,
            tail_read: 128 * KIB,
            coalesce_gap: 64 * KIB,
            max_request: 8 * MIB,
            concurrency: 8,
            cache_budget: None,
        }
    }
}

impl ReaderOptions {
    /// Sets [`read_ahead`](Self::read_ahead).
    #[must_use]
    pub fn read_ahead(mut self, bytes: u64) -> Self {
        self.read_ahead = bytes;
        self
    }

    /// Sets [`tail_read`](Self::tail_read).
    #[must_use]
    pub fn tail_read(mut self, bytes: u64) -> Self {
        self.tail_read = bytes;
        self
    }

    /// Sets [`coalesce_gap`](Self::coalesce_gap).
    #[must_use]
    pub fn coalesce_gap(mut self, bytes: u64) -> Self {
        self.coalesce_gap = bytes;
        self
    }

    /// Sets [`max_request`](Self::max_request).
    #[must_use]
    pub fn max_request(mut self, bytes: u64) -> Self {
        self.max_request = bytes;
        self
    }

    /// Sets [`concurrency`](Self::concurrency) (0 counts as 1).
    #[must_use]
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// Sets [`cache_budget`](Self::cache_budget).
    #[must_use]
    pub fn cache_budget(mut self, bytes: Option<u64>) -> Self {
        self.cache_budget = bytes;
        self
    }
}

/// A snapshot of a [`RangeReader`]'s counters, from [`RangeReader::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stats {
    /// Ranges asked of the source (one per request, failed ones included).
    pub requests: u64,
    /// Bytes the source returned.
    pub bytes_fetched: u64,
    /// Reads served from the cache alone.
    pub hits: u64,
    /// Reads that had to fetch, or wait for another thread's fetch.
    pub misses: u64,
    /// Times a thread waited for bytes another thread was fetching instead of fetching them again.
    pub waits: u64,
    /// Bytes dropped to stay within the cache budget.
    pub bytes_evicted: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    bytes_fetched: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    waits: AtomicU64,
    bytes_evicted: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// Fetched spans by recency, so that the least recently used can be evicted.
#[derive(Debug, Default)]
struct Lru {
    clock: u64,
    /// start → (end, last use)
    spans: BTreeMap<u64, (u64, u64)>,
    /// last use → start
    by_use: BTreeMap<u64, u64>,
    /// The longest span ever recorded: no span starting further back than this can reach a given byte.
    longest: u64,
}

impl Lru {
    fn record(&mut self, range: &Range<u64>) {
        self.clock += 1;
        if let Some((_, used)) = self.spans.insert(range.start, (range.end, self.clock)) {
            self.by_use.remove(&used);
        }
        self.by_use.insert(self.clock, range.start);
        self.longest = self.longest.max(range.end - range.start);
    }

    fn touch(&mut self, range: Range<u64>) {
        self.clock += 1;
        let from = range.start.saturating_sub(self.longest);
        for (&start, (end, used)) in self.spans.range_mut(from..range.end) {
            if *end > range.start {
                self.by_use.remove(used);
                *used = self.clock;
                self.by_use.insert(self.clock, start);
                self.clock += 1;
            }
        }
    }

    fn pop_least_recent(&mut self) -> Option<Range<u64>> {
        let (_, start) = self.by_use.pop_first()?;
        let (end, _) = self.spans.remove(&start)?;
        Some(start..end)
    }

    fn clear(&mut self) {
        self.spans.clear();
        self.by_use.clear();
    }
}

/// What the threads of one reader share.
#[derive(Debug)]
struct Shared {
    buffer: SparseBuffer,
    in_flight: InFlight,
    lru: Lru,
}

/// Reads a [`RangeSource`] like a file, caching what it fetched in a [`SparseBuffer`].
///
/// - [`read_at`](Self::read_at) (`&self`, any number of threads) and [`io::Read`] + [`io::Seek`] (`&mut self`,
///   with a cursor) fill the whole buffer unless the file ends first: a gap is fetched, never returned short.
/// - On a miss it fetches from the first missing byte on, at least [`read_ahead`](ReaderOptions::read_ahead)
///   bytes (all of the [`tail_read`](ReaderOptions::tail_read) when the miss falls in it), skipping what is
///   cached.
/// - [`prefetch`](Self::prefetch) fetches a whole set of ranges with one plan: what is cached is skipped, gaps
///   up to [`coalesce_gap`](ReaderOptions::coalesce_gap) are merged, spans over
///   [`max_request`](ReaderOptions::max_request) are split, and up to
///   [`concurrency`](ReaderOptions::concurrency) requests run at once.
/// - Bytes that one thread is fetching are never fetched by another: it waits for them instead.
/// - With a [`cache_budget`](ReaderOptions::cache_budget), the least recently used fetched spans are dropped.
/// - Every answer of the source is checked: a short one is [`Error::ShortFetch`].
///
/// ```
/// use sparse_buffer::{MemorySource, RangeReader, ReaderOptions};
///
/// let file: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
/// let options = ReaderOptions::default().read_ahead(0).coalesce_gap(64 * 1024);
/// let reader = RangeReader::with_options(MemorySource::new(file.clone()), options)?;
///
/// // 100 scattered 1 KiB reads within 64 KiB of each other: one request after a prefetch.
/// let ranges: Vec<_> = (0..100u64).map(|i| 10_000 + i * 5_000..10_000 + i * 5_000 + 1024).collect();
/// reader.prefetch(&ranges)?;
/// let mut out = [0; 1024];
/// for range in &ranges {
///     reader.read_exact_at(range.start, &mut out)?;
///     assert_eq!(out[..], file[range.start as usize..range.end as usize]);
/// }
/// assert_eq!(reader.stats().requests, 1);
/// assert_eq!(reader.stats().hits, 100);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RangeReader<S> {
    source: S,
    size: u64,
    options: ReaderOptions,
    shared: Mutex<Shared>,
    landed: Condvar,
    counters: Counters,
    position: u64,
}

impl<S: RangeSource> fmt::Debug for RangeReader<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeReader")
            .field("source", &self.source.name())
            .field("size", &self.size)
            .field("position", &self.position)
            .field("options", &self.options)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<S: RangeSource> RangeReader<S> {
    /// A reader over `source` with the default options; asks the source for its size.
    ///
    /// # Errors
    ///
    /// When the source cannot tell its size.
    pub fn new(source: S) -> Result<Self> {
        Self::with_options(source, ReaderOptions::default())
    }

    /// A reader over `source` with `options`; asks the source for its size.
    ///
    /// # Errors
    ///
    /// When the source cannot tell its size.
    pub fn with_options(source: S, options: ReaderOptions) -> Result<Self> {
        let size = source.size()?;
        Ok(Self::with_size(source, size, options))
    }

    /// A reader over `source`, whose size is already known (e.g. from a listing), so none is asked.
    pub fn with_size(source: S, size: u64, options: ReaderOptions) -> Self {
        Self {
            source,
            size,
            options: options.concurrency(options.concurrency),
            shared: Mutex::new(Shared {
                buffer: SparseBuffer::new(size),
                in_flight: InFlight::default(),
                lru: Lru::default(),
            }),
            landed: Condvar::new(),
            counters: Counters::default(),
            position: 0,
        }
    }

    /// The size of the file.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The options this reader runs with.
    #[must_use]
    pub fn options(&self) -> &ReaderOptions {
        &self.options
    }

    /// The source.
    #[must_use]
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The cursor of the [`io::Read`] and [`io::Seek`] implementations.
    #[must_use]
    pub fn position(&self) -> u64 {
        self.position
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            requests: c.requests.load(Ordering::Relaxed),
            bytes_fetched: c.bytes_fetched.load(Ordering::Relaxed),
            hits: c.hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            waits: c.waits.load(Ordering::Relaxed),
            bytes_evicted: c.bytes_evicted.load(Ordering::Relaxed),
        }
    }

    /// How many bytes are cached.
    #[must_use]
    pub fn cached_bytes(&self) -> u64 {
        self.lock().buffer.cached_bytes()
    }

    /// The cached regions, sorted, end-exclusive.
    #[must_use]
    pub fn regions(&self) -> Vec<Range<u64>> {
        self.lock().buffer.regions().collect()
    }

    /// Drops everything cached (bytes being fetched still land when they arrive).
    pub fn clear_cache(&self) {
        let mut shared = self.lock();
        shared.buffer.clear();
        shared.lru.clear();
    }

    /// The source and the cache, taken apart.
    pub fn into_parts(self) -> (S, SparseBuffer) {
        let shared = self
            .shared
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        (self.source, shared.buffer)
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&'a self, shared: MutexGuard<'a, Shared>) -> MutexGuard<'a, Shared> {
        bump(&self.counters.waits, 1);
        self.landed
            .wait(shared)
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Fills `buf` with the bytes at `offset`, fetching what is not cached; fewer bytes only at the end of the
    /// file (`Ok(0)` at or past it).
    ///
    /// # Errors
    ///
    /// When the source fails or returns the wrong number of bytes; `buf` may hold some of the bytes then.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(len_u64(buf.len()).min(self.size - offset)).unwrap_or(buf.len());
        let buf = &mut buf[..want];
        let end = offset + len_u64(want);
        let mut filled = 0;
        let mut missed = false;
        let mut shared = self.lock();
        loop {
            filled += self.copy_cached(&mut shared, offset + len_u64(filled), &mut buf[filled..]);
            self.evict(&mut shared);
            if filled == want {
                break;
            }
            missed = true;
            let at = offset + len_u64(filled);
            let wanted = self.wanted_on_miss(at, end);
            let requests = plan(
                &[wanted],
                &shared.buffer,
                &shared.in_flight,
                self.options.coalesce_gap,
                self.options.max_request,
            );
            shared = if requests.is_empty() {
                // Every missing byte of the read is in flight: wait for it rather than fetch it twice.
                self.wait(shared)
            } else {
                self.fetch_and_store(shared, &requests)?
            };
        }
        drop(shared);
        bump(
            if missed {
                &self.counters.misses
            } else {
                &self.counters.hits
            },
            1,
        );
        Ok(want)
    }

    /// Fills `buf` with the bytes at `offset`.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfBounds`] when the file ends before `buf` is full (nothing is fetched then); as
    /// [`read_at`](Self::read_at) otherwise.
    pub fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = offset.saturating_add(len_u64(buf.len()));
        if end > self.size {
            return Err(Error::OutOfBounds {
                name: self.source.name(),
                start: offset,
                end,
                size: self.size,
            });
        }
        self.read_at(offset, buf).map(drop)
    }

    /// The bytes of `range`, fetched as needed.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRange`] or [`Error::OutOfBounds`] for a range that is not inside the file; as
    /// [`read_at`](Self::read_at) otherwise.
    pub fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        let len = usize::try_from(range.end.checked_sub(range.start).ok_or(
            Error::InvalidRange {
                start: range.start,
                end: range.end,
            },
        )?)
        .map_err(|_| Error::InvalidRange {
            start: range.start,
            end: range.end,
        })?;
        if range.end > self.size {
            return Err(Error::OutOfBounds {
                name: self.source.name(),
                start: range.start,
                end: range.end,
                size: self.size,
            });
        }
        let mut out = vec![0; len];
        self.read_at(range.start, &mut out)?;
        Ok(Bytes::from(out))
    }

    /// Caches `bytes` as the file's bytes at `offset`, obtained without this reader: e.g. the tail that came
    /// with the object's size in one request. Counts as neither a request nor a fetched byte.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfBounds`] when the bytes do not fit inside the file.
    pub fn add_region(&self, offset: u64, bytes: Bytes) -> Result<()> {
        let end = offset.saturating_add(len_u64(bytes.len()));
        let mut shared = self.lock();
        shared.buffer.add_region(offset, bytes)?;
        if self.options.cache_budget.is_some() {
            shared.lru.record(&(offset..end));
        }
        self.evict(&mut shared);
        Ok(())
    }

    /// Fetches every byte of `ranges` (clipped to the file) that is not cached yet, with one plan; returns once
    /// they are all cached, including those other threads were fetching.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRange`] for a range whose start is after its end; when the source fails.
    pub fn prefetch(&self, ranges: &[Range<u64>]) -> Result<()> {
        let wanted = normalize(ranges, self.size)?;
        let mut shared = self.lock();
        let requests = plan(
            &wanted,
            &shared.buffer,
            &shared.in_flight,
            self.options.coalesce_gap,
            self.options.max_request,
        );
        if !requests.is_empty() {
            shared = self.fetch_and_store(shared, &requests)?;
            self.evict(&mut shared);
        }
        while wanted
            .iter()
            .any(|range| shared.in_flight.overlaps(range.clone()))
        {
            shared = self.wait(shared);
        }
        Ok(())
    }

    /// The requests [`prefetch`](Self::prefetch) would send for `ranges` now (without sending them).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRange`] for a range whose start is after its end.
    pub fn plan(&self, ranges: &[Range<u64>]) -> Result<Vec<Range<u64>>> {
        let wanted = normalize(ranges, self.size)?;
        let shared = self.lock();
        Ok(plan(
            &wanted,
            &shared.buffer,
            &shared.in_flight,
            self.options.coalesce_gap,
            self.options.max_request,
        ))
    }

    /// What to fetch when byte `at` of a read ending at `end` is missing.
    fn wanted_on_miss(&self, at: u64, end: u64) -> Range<u64> {
        let tail_start = self.size.saturating_sub(self.options.tail_read);
        if self.options.tail_read > 0 && at >= tail_start {
            return tail_start..self.size;
        }
        at..at
            .saturating_add(self.options.read_ahead)
            .max(end)
            .min(self.size)
    }

    /// Copies the cached bytes at `offset` into `buf` (up to the first gap) and marks them used.
    fn copy_cached(&self, shared: &mut Shared, offset: u64, buf: &mut [u8]) -> usize {
        let copied = match shared.buffer.read_at(offset, buf) {
            ReadAt::Data(n) => n,
            ReadAt::Gap { .. } | ReadAt::End => 0,
        };
        if copied > 0 && self.options.cache_budget.is_some() {
            shared.lru.touch(offset..offset + len_u64(copied));
        }
        copied
    }

    fn evict(&self, shared: &mut Shared) {
        let Some(budget) = self.options.cache_budget else {
            return;
        };
        while shared.buffer.cached_bytes() > budget {
            let Some(span) = shared.lru.pop_least_recent() else {
                break;
            };
            let dropped = shared.buffer.remove(span);
            bump(&self.counters.bytes_evicted, dropped);
        }
    }

    /// Marks `requests` in flight, fetches them without holding the lock, stores what came back and wakes the
    /// waiting threads.
    fn fetch_and_store<'a>(
        &'a self,
        mut shared: MutexGuard<'a, Shared>,
        requests: &[Range<u64>],
    ) -> Result<MutexGuard<'a, Shared>> {
        for request in requests {
            shared.in_flight.insert(request);
        }
        drop(shared);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| self.fetch_all(requests)));
        let mut shared = self.lock();
        for request in requests {
            shared.in_flight.remove(request);
        }
        let results = match outcome {
            Ok(results) => results,
            Err(payload) => {
                drop(shared);
                self.landed.notify_all();
                panic::resume_unwind(payload);
            }
        };
        let mut first_error = None;
        for (request, result) in requests.iter().zip(results) {
            let stored = result.and_then(|bytes| shared.buffer.add_region(request.start, bytes));
            match stored {
                Ok(()) if self.options.cache_budget.is_some() => shared.lru.record(request),
                Ok(()) => {}
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        self.landed.notify_all();
        match first_error {
            Some(err) => Err(err),
            None => Ok(shared),
        }
    }

    /// Runs `requests`, up to `concurrency` at once; the results are in the order of `requests`.
    fn fetch_all(&self, requests: &[Range<u64>]) -> Vec<Result<Bytes>> {
        let workers = self.options.concurrency.min(requests.len());
        if workers <= 1 {
            return requests.iter().map(|r| self.fetch_checked(r)).collect();
        }
        // Each worker takes the next request until none is left; sorting by index restores the order.
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(request) = requests.get(index) else {
                    break;
                };
                done.push((index, self.fetch_checked(request)));
            }
            done
        };
        let mut all = std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
            let mut all = work();
            for helper in helpers {
                match helper.join() {
                    Ok(done) => all.extend(done),
                    Err(payload) => panic::resume_unwind(payload),
                }
            }
            all
        });
        all.sort_unstable_by_key(|&(index, _)| index);
        all.into_iter().map(|(_, result)| result).collect()
    }

    /// Fetches one request and checks the answer.
    fn fetch_checked(&self, request: &Range<u64>) -> Result<Bytes> {
        bump(&self.counters.requests, 1);
        let mut answer = self.source.fetch(std::slice::from_ref(request))?;
        if answer.len() != 1 {
            return Err(Error::FetchCount {
                name: self.source.name(),
                asked: 1,
                got: answer.len(),
            });
        }
        let bytes = answer.swap_remove(0);
        let got = len_u64(bytes.len());
        if got != request.end - request.start {
            return Err(Error::ShortFetch {
                name: self.source.name(),
                start: request.start,
                end: request.end,
                got,
            });
        }
        bump(&self.counters.bytes_fetched, got);
        Ok(bytes)
    }
}

/// Reads from the cursor, fetching what is missing; `Ok(0)` only at the end of the file.
impl<S: RangeSource> Read for RangeReader<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.read_at(self.position, buf)?;
        self.position += len_u64(n);
        Ok(n)
    }
}

/// Moves the cursor; before 0 is an [`io::ErrorKind::InvalidInput`] error, past the end is allowed.
impl<S: RangeSource> Seek for RangeReader<S> {
    fn seek(&mut self, from: SeekFrom) -> io::Result<u64> {
        self.position = seek_target(from, self.position, self.size)?;
        Ok(self.position)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.position)
    }
}

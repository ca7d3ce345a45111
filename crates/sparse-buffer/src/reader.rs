//! [`RangeReader`]: reads an [`AsyncRangeSource`] by position, fetching only the byte ranges it needs and
//! caching them in a [`SparseBuffer`].
//!
//! All state sits behind one mutex that is never held across an `.await`. A task that needs bytes plans requests
//! for what is neither cached nor in flight (a pure function, [`crate::plan`]), marks them in flight, awaits
//! them (several at once, polled by that task), then stores them and wakes the tasks that wait for bytes it
//! brought.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use bytes::Bytes;
use futures_util::StreamExt as _;

use crate::blocking::BlockingRangeReader;
use crate::buffer::{SparseBuffer, len_u64};
use crate::error::{Error, Result};
use crate::plan::{InFlight, normalize, plan};
use crate::runtime::BlockingRuntime;
use crate::source::AsyncRangeSource;

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
    /// On a miss, fetch whole aligned blocks of this many bytes: the request runs from the start of the block
    /// holding the first missing byte to the end of the block holding the last byte wanted (default 64 KiB; 0
    /// turns it off). Whatever `read_ahead` is, and in whatever order bytes are read (forwards, backwards, at
    /// random), a reader then sends at most one request per block it touches: a byte-at-a-time reader of `n`
    /// bytes costs `n / min_request` requests, not `n`. [`prefetch`](RangeReader::prefetch) fetches what it is
    /// given, unrounded.
    pub min_request: u64,
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
    /// At most this many requests run at once (default 8; at least 1), polled concurrently by the task that
    /// needs them (no task or thread is spawned). A synchronous [`RangeSource`](crate::RangeSource) (memory, a
    /// local file) answers each request as it is made, so for it requests run one after another whatever this is.
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
            min_request: 64 * KIB,
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

    /// Sets [`min_request`](Self::min_request).
    #[must_use]
    pub fn min_request(mut self, bytes: u64) -> Self {
        self.min_request = bytes;
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

/// What the tasks of one reader share, behind one mutex that is never held across an `.await`.
#[derive(Debug, Default)]
struct Shared {
    buffer: SparseBuffer,
    in_flight: InFlight,
    lru: Lru,
    /// Bumped whenever fetched bytes land (or a fetch ends without landing): a waiter waits for a change.
    generation: u64,
    /// The tasks waiting for the generation to change.
    waiters: Vec<Waker>,
}

/// Reads an [`AsyncRangeSource`] by position, fetching only the byte ranges it needs and caching them in a
/// [`SparseBuffer`]; every method takes `&self`, so one reader (in an `Arc`) serves any number of tasks.
///
/// - [`read_range`](Self::read_range) returns [`Bytes`]: a slice of the cached chunk, without a copy, when one
///   fetched chunk holds the range; [`read_at`](Self::read_at) fills a buffer. A gap is fetched, never returned
///   short.
/// - On a miss it fetches from the first missing byte on, at least [`read_ahead`](ReaderOptions::read_ahead)
///   bytes, rounded out to whole [`min_request`](ReaderOptions::min_request) blocks (all of the
///   [`tail_read`](ReaderOptions::tail_read) when the miss falls in it), skipping what is cached.
/// - [`prefetch`](Self::prefetch) fetches a whole set of ranges with one plan: what is cached is skipped, gaps
///   up to [`coalesce_gap`](ReaderOptions::coalesce_gap) are merged, spans over
///   [`max_request`](ReaderOptions::max_request) are split, and up to
///   [`concurrency`](ReaderOptions::concurrency) requests run at once, polled by the caller's task (no task or
///   thread is spawned).
/// - Bytes that one task is fetching are never fetched by another: it waits for them instead. A read whose
///   future is dropped mid-fetch (cancelled) releases what it had in flight.
/// - With a [`cache_budget`](ReaderOptions::cache_budget), the least recently used fetched spans are dropped.
/// - Every answer of the source is checked: a short one is [`Error::ShortFetch`].
///
/// For synchronous code, [`BlockingRangeReader`](crate::BlockingRangeReader) is a `Read + Seek + Clone` cursor
/// over a shared reader, driven by an explicit [`BlockingRuntime`](crate::BlockingRuntime).
///
/// ```
/// use sparse_buffer::{BlockingRuntime, MemorySource, RangeReader, ReaderOptions};
///
/// # BlockingRuntime::inline().block_on(async {
/// let file: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
/// let options = ReaderOptions::default().read_ahead(0).coalesce_gap(64 * 1024);
/// let reader = RangeReader::with_options(MemorySource::new(file.clone()), options).await?;
///
/// // 100 scattered 1 KiB reads within 64 KiB of each other: one request after a prefetch.
/// let ranges: Vec<_> = (0..100u64).map(|i| 10_000 + i * 5_000..10_000 + i * 5_000 + 1024).collect();
/// reader.prefetch(&ranges).await?;
/// for range in &ranges {
///     let bytes = reader.read_range(range.clone()).await?; // a slice of the cached chunk, not a copy
///     assert_eq!(bytes[..], file[range.start as usize..range.end as usize]);
/// }
/// assert_eq!(reader.stats().requests, 1);
/// assert_eq!(reader.stats().hits, 100);
/// # Ok::<(), sparse_buffer::Error>(())
/// # })??;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct RangeReader<S> {
    source: S,
    size: u64,
    options: ReaderOptions,
    shared: Mutex<Shared>,
    counters: Counters,
}

impl<S: AsyncRangeSource> fmt::Debug for RangeReader<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RangeReader")
            .field("source", &self.source.name())
            .field("size", &self.size)
            .field("options", &self.options)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// Requests that were fetched, with what came back for each, not stored yet.
type Fetched = (Vec<Range<u64>>, Vec<Result<Bytes>>);

/// What a read does next, decided under the lock.
enum Step<T> {
    Done(T),
    Wait(u64),
    Fetch(Vec<Range<u64>>),
}

/// Releases requests marked in flight when the future that fetches them is dropped before they land (a
/// cancelled read), so that no other task waits for them forever.
struct InFlightGuard<'a, S> {
    reader: &'a RangeReader<S>,
    requests: Option<Vec<Range<u64>>>,
}

impl<S> Drop for InFlightGuard<'_, S> {
    fn drop(&mut self) {
        if let Some(requests) = self.requests.take() {
            let mut shared = self.reader.lock();
            for request in &requests {
                shared.in_flight.remove(request);
            }
            notify(shared);
        }
    }
}

/// Bumps the generation and wakes every waiter (after releasing the lock).
fn notify(mut shared: MutexGuard<'_, Shared>) {
    shared.generation += 1;
    let waiters = std::mem::take(&mut shared.waiters);
    drop(shared);
    for waker in waiters {
        waker.wake();
    }
}

impl<S> RangeReader<S> {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<S: AsyncRangeSource> RangeReader<S> {
    /// A reader over `source` with the default options; asks the source for its size.
    ///
    /// # Errors
    ///
    /// When the source cannot tell its size.
    pub async fn new(source: S) -> Result<Self> {
        Self::with_options(source, ReaderOptions::default()).await
    }

    /// A reader over `source` with `options`; asks the source for its size.
    ///
    /// # Errors
    ///
    /// When the source cannot tell its size.
    pub async fn with_options(source: S, options: ReaderOptions) -> Result<Self> {
        let size = source.size().await?;
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
                ..Shared::default()
            }),
            counters: Counters::default(),
        }
    }

    /// A blocking `Read + Seek + Clone` cursor over this reader, driven by `runtime`.
    pub fn blocking(self, runtime: BlockingRuntime) -> BlockingRangeReader<S> {
        BlockingRangeReader::from_reader(Arc::new(self), runtime)
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

    /// The bytes of `range`, fetched as needed: a slice of the cached chunk (no copy) when one fetched chunk
    /// holds the whole range, else one copy joining the chunks.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRange`] or [`Error::OutOfBounds`] for a range that is not inside the file (nothing is
    /// fetched then); when the source fails or returns the wrong number of bytes.
    pub async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        let len = range
            .end
            .checked_sub(range.start)
            .ok_or(Error::InvalidRange {
                start: range.start,
                end: range.end,
            })?;
        if usize::try_from(len).is_err() {
            return Err(Error::InvalidRange {
                start: range.start,
                end: range.end,
            });
        }
        if range.end > self.size {
            return Err(Error::OutOfBounds {
                name: self.source.name(),
                start: range.start,
                end: range.end,
                size: self.size,
            });
        }
        if len == 0 {
            return Ok(Bytes::new());
        }
        let mut missed = false;
        let mut landed: Option<Fetched> = None;
        loop {
            let step = {
                let mut shared = self.lock();
                if let Some((requests, results)) = landed.take() {
                    self.land(&mut shared, &requests, results)?;
                }
                if let Some(bytes) = shared.buffer.find_region(range.start, len) {
                    if self.options.cache_budget.is_some() {
                        shared.lru.touch(range.clone());
                    }
                    self.evict(&mut shared);
                    Step::Done(bytes)
                } else {
                    missed = true;
                    let at = shared
                        .buffer
                        .missing(range.clone())
                        .first()
                        .map_or(range.start, |gap| gap.start);
                    self.plan_miss(&mut shared, at, range.end)
                }
            };
            match step {
                Step::Done(bytes) => {
                    self.count_read(missed);
                    return Ok(bytes);
                }
                Step::Wait(generation) => self.wait(generation).await,
                Step::Fetch(requests) => landed = Some(self.fetch_guarded(requests).await),
            }
        }
    }

    /// The bytes of `range` if they are all cached, without fetching or waiting (`None` otherwise, and for a
    /// range outside the file). Zero-copy within one cached chunk. Lets a synchronous search over cached bytes
    /// (an index walk) stop at the first missing piece, fetch it, and run again.
    #[must_use]
    pub fn read_cached(&self, range: Range<u64>) -> Option<Bytes> {
        let len = range.end.checked_sub(range.start)?;
        if range.end > self.size {
            return None;
        }
        let mut shared = self.lock();
        let bytes = shared.buffer.find_region(range.start, len)?;
        if self.options.cache_budget.is_some() {
            shared.lru.touch(range);
        }
        Some(bytes)
    }

    /// Fills `buf` with the bytes at `offset`, fetching what is not cached; fewer bytes only at the end of the
    /// file (`Ok(0)` at or past it).
    ///
    /// # Errors
    ///
    /// When the source fails or returns the wrong number of bytes.
    pub async fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if offset >= self.size || buf.is_empty() {
            return Ok(0);
        }
        let want = len_u64(buf.len()).min(self.size - offset);
        let bytes = self.read_range(offset..offset + want).await?;
        buf[..bytes.len()].copy_from_slice(&bytes);
        Ok(bytes.len())
    }

    /// Fills `buf` with the bytes at `offset`.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfBounds`] when the file ends before `buf` is full (nothing is fetched then); as
    /// [`read_at`](Self::read_at) otherwise.
    pub async fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let end = offset.saturating_add(len_u64(buf.len()));
        if end > self.size {
            return Err(Error::OutOfBounds {
                name: self.source.name(),
                start: offset,
                end,
                size: self.size,
            });
        }
        self.read_at(offset, buf).await.map(drop)
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
    /// they are all cached, including those other tasks were fetching.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRange`] for a range whose start is after its end; when the source fails.
    pub async fn prefetch(&self, ranges: &[Range<u64>]) -> Result<()> {
        let wanted = normalize(ranges, self.size)?;
        let requests = {
            let mut shared = self.lock();
            let requests = self.plan_locked(&shared, &wanted);
            for request in &requests {
                shared.in_flight.insert(request);
            }
            requests
        };
        if !requests.is_empty() {
            let (requests, results) = self.fetch_guarded(requests).await;
            let mut shared = self.lock();
            self.land(&mut shared, &requests, results)?;
            self.evict(&mut shared);
        }
        loop {
            let generation = {
                let shared = self.lock();
                if !wanted
                    .iter()
                    .any(|range| shared.in_flight.overlaps(range.clone()))
                {
                    return Ok(());
                }
                shared.generation
            };
            self.wait(generation).await;
        }
    }

    /// The requests [`prefetch`](Self::prefetch) would send for `ranges` now (without sending them).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRange`] for a range whose start is after its end.
    pub fn plan(&self, ranges: &[Range<u64>]) -> Result<Vec<Range<u64>>> {
        let wanted = normalize(ranges, self.size)?;
        let shared = self.lock();
        Ok(self.plan_locked(&shared, &wanted))
    }

    fn plan_locked(&self, shared: &Shared, wanted: &[Range<u64>]) -> Vec<Range<u64>> {
        plan(
            wanted,
            &shared.buffer,
            &shared.in_flight,
            self.options.coalesce_gap,
            self.options.max_request,
        )
    }

    /// The step of a read whose byte `at` (before `end`) is missing: fetch what is neither cached nor in flight
    /// (marking it in flight), or wait for bytes in flight.
    fn plan_miss<T>(&self, shared: &mut Shared, at: u64, end: u64) -> Step<T> {
        let wanted = self.wanted_on_miss(at, end);
        let requests = self.plan_locked(shared, std::slice::from_ref(&wanted));
        if requests.is_empty() {
            // Every missing byte of the read is in flight: wait for it rather than fetch it twice.
            return Step::Wait(shared.generation);
        }
        for request in &requests {
            shared.in_flight.insert(request);
        }
        Step::Fetch(requests)
    }

    /// What to fetch when byte `at` of a read ending at `end` is missing: the tail, or `read_ahead` bytes from
    /// `at` (at least up to `end`) rounded out to whole `min_request` blocks.
    fn wanted_on_miss(&self, at: u64, end: u64) -> Range<u64> {
        let tail_start = self.size.saturating_sub(self.options.tail_read);
        if self.options.tail_read > 0 && at >= tail_start {
            return tail_start..self.size;
        }
        let stop = at.saturating_add(self.options.read_ahead).max(end);
        let block = self.options.min_request;
        if block == 0 {
            return at..stop.min(self.size);
        }
        let start = at - at % block;
        let stop = stop.div_ceil(block).saturating_mul(block);
        start..stop.min(self.size)
    }

    fn count_read(&self, missed: bool) {
        bump(
            if missed {
                &self.counters.misses
            } else {
                &self.counters.hits
            },
            1,
        );
    }

    /// Waits until the generation moves past `generation` (bytes landed, or a fetch ended).
    async fn wait(&self, generation: u64) {
        bump(&self.counters.waits, 1);
        std::future::poll_fn(|cx| {
            let mut shared = self.lock();
            if shared.generation != generation {
                return Poll::Ready(());
            }
            if !shared.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                shared.waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await;
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

    /// Fetches `requests` (already marked in flight); if this future is dropped first, they are released.
    async fn fetch_guarded(&self, requests: Vec<Range<u64>>) -> Fetched {
        let mut guard = InFlightGuard {
            reader: self,
            requests: Some(requests),
        };
        let results = self
            .fetch_all(guard.requests.as_deref().unwrap_or_default())
            .await;
        let requests = guard.requests.take().unwrap_or_default();
        (requests, results)
    }

    /// Stores what came back for `requests`, releases them from in flight and wakes the waiters; the first
    /// error, after storing everything else.
    fn land(
        &self,
        shared: &mut MutexGuard<'_, Shared>,
        requests: &[Range<u64>],
        results: Vec<Result<Bytes>>,
    ) -> Result<()> {
        let mut first_error = None;
        for (request, result) in requests.iter().zip(results) {
            shared.in_flight.remove(request);
            let stored = result.and_then(|bytes| shared.buffer.add_region(request.start, bytes));
            match stored {
                Ok(()) if self.options.cache_budget.is_some() => shared.lru.record(request),
                Ok(()) => {}
                Err(err) => {
                    first_error.get_or_insert(err);
                }
            }
        }
        shared.generation += 1;
        for waker in std::mem::take(&mut shared.waiters) {
            waker.wake();
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// Runs `requests`, up to `concurrency` at once on this task; the results are in the order of `requests`.
    async fn fetch_all(&self, requests: &[Range<u64>]) -> Vec<Result<Bytes>> {
        if self.options.concurrency <= 1 || requests.len() <= 1 {
            let mut results = Vec::with_capacity(requests.len());
            for request in requests {
                results.push(self.fetch_checked(request.clone()).await);
            }
            return results;
        }
        futures_util::stream::iter(requests.iter().cloned())
            .map(|request| self.fetch_checked(request))
            .buffered(self.options.concurrency)
            .collect()
            .await
    }

    /// Fetches one request and checks the answer.
    async fn fetch_checked(&self, request: Range<u64>) -> Result<Bytes> {
        bump(&self.counters.requests, 1);
        let mut answer = self.source.fetch(std::slice::from_ref(&request)).await?;
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

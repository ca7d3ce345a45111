//! The async `RangeReader` itself: requests run concurrently on the caller's task, waiters share a fetch, a
//! cancelled read releases what it had in flight, `read_range` slices the cached chunk without copying, the
//! futures are `Send`, and (property) its blocking facade answers exactly as the async API over random read
//! patterns.

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::FutureExt as _;
use proptest::prelude::*;
use sparse_buffer::{
    AsyncRangeSource, BlockingRangeReader, BlockingRuntime, Error, MemorySource, RangeReader,
    ReaderOptions, Result, Stats,
};

use crate::reader::file_bytes;
use crate::reader_model::{Op, case};

/// Returns `Pending` (waking itself) `n` times, then `Ready`: an answer that takes a few turns of the executor,
/// without any runtime.
struct Turns(usize);

impl Future for Turns {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// An async source over memory: each fetch takes a few executor turns; records what it served and how many
/// fetches were in progress at once; can be told to never answer.
#[derive(Default)]
struct Slow {
    data: Bytes,
    fetched: Mutex<Vec<Range<u64>>>,
    running: AtomicUsize,
    most_running: AtomicUsize,
    hang: AtomicBool,
}

impl Slow {
    fn new(data: Bytes) -> Self {
        Self {
            data,
            ..Self::default()
        }
    }

    fn fetched(&self) -> Vec<Range<u64>> {
        let mut all = self.fetched.lock().unwrap().clone();
        all.sort_by_key(|r| r.start);
        all
    }
}

impl AsyncRangeSource for Slow {
    async fn size(&self) -> Result<u64> {
        Ok(self.data.len() as u64)
    }

    async fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(now, Ordering::SeqCst);
        if self.hang.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        Turns(3).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.fetched.lock().unwrap().extend(ranges.iter().cloned());
        Ok(ranges
            .iter()
            .map(|r| self.data.slice(r.start as usize..r.end as usize))
            .collect())
    }

    fn name(&self) -> String {
        "slow".to_owned()
    }
}

fn exact() -> ReaderOptions {
    ReaderOptions::default()
        .read_ahead(0)
        .min_request(0)
        .tail_read(0)
        .coalesce_gap(0)
        .max_request(0)
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::test(flavor = "current_thread")]
async fn a_plan_runs_its_requests_concurrently_on_one_task() -> Result<()> {
    let data = file_bytes(1 << 20);
    let options = exact().max_request(64 << 10).concurrency(4);
    let reader = RangeReader::with_options(Slow::new(data.clone()), options).await?;
    // 1 MiB in 64 KiB requests: 16 requests, at most 4 (and more than 1) in progress at once, no thread.
    reader.prefetch(&[0..1 << 20]).await?;
    assert_eq!(reader.stats().requests, 16);
    let most = reader.source().most_running.load(Ordering::SeqCst);
    assert!((2..=4).contains(&most), "{most} requests at once");
    assert_eq!(reader.read_range(1000..2000).await?, data[1000..2000]);
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn two_reads_of_the_same_missing_bytes_share_one_request() -> Result<()> {
    let data = file_bytes(100_000);
    let reader = RangeReader::with_options(Slow::new(data.clone()), exact()).await?;
    let (a, b) = futures_util::join!(reader.read_range(10..5000), reader.read_range(100..4000));
    assert_eq!((a?, b?), (data.slice(10..5000), data.slice(100..4000)));
    let stats = reader.stats();
    assert_eq!((stats.requests, stats.misses, stats.waits), (1, 2, 1));
    assert_eq!(reader.source().fetched(), [10..5000]);
    Ok(())
}

#[test]
fn a_cancelled_read_releases_its_bytes_in_flight() -> Result<()> {
    let data = file_bytes(10_000);
    let source = Slow::new(data.clone());
    source.hang.store(true, Ordering::SeqCst);
    let reader = RangeReader::with_size(source, 10_000, exact());
    // Polled once, then dropped mid-fetch (a timeout, a select! that chose another branch).
    assert!(reader.read_range(0..100).now_or_never().is_none());
    assert!(
        reader.plan(&[0..100])? == [0..100],
        "nothing left in flight"
    );
    reader.source().hang.store(false, Ordering::SeqCst);
    let bytes = BlockingRuntime::inline().block_on(reader.read_range(0..100))??;
    assert_eq!(bytes, data[..100]);
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn read_range_inside_one_chunk_is_a_slice_not_a_copy() -> Result<()> {
    let data = file_bytes(4 << 20);
    let reader = RangeReader::new(MemorySource::new(data.clone())).await?;
    let first = reader.read_range(5000..6000).await?;
    let second = reader.read_range(70_000..70_100).await?;
    // MemorySource answers with slices of `data`; the reader stores them as they are and slices them again.
    assert_eq!(first.as_ptr(), data[5000..].as_ptr());
    assert_eq!(second.as_ptr(), data[70_000..].as_ptr());
    assert_eq!(reader.stats().requests, 1);
    // read_cached: the same slice without a request; nothing for bytes not cached.
    let cached = reader.read_cached(5000..5100).expect("cached");
    assert_eq!(cached.as_ptr(), data[5000..].as_ptr());
    assert_eq!(reader.read_cached(3 << 20..(3 << 20) + 100), None);
    assert_eq!(reader.stats().requests, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_futures_are_send_and_the_reader_is_shared_by_spawned_tasks() -> Result<()> {
    let data = file_bytes(1 << 20);
    let reader = Arc::new(RangeReader::with_options(Slow::new(data.clone()), exact()).await?);
    let tasks: Vec<_> = (0..8u64)
        .map(|i| {
            let reader = Arc::clone(&reader);
            tokio::spawn(assert_send(async move {
                reader.read_range(i * 1000..i * 1000 + 3000).await
            }))
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.await.unwrap()?, data[i * 1000..i * 1000 + 3000]);
    }
    // Overlapping reads never fetched a byte twice.
    let fetched = reader.source().fetched();
    assert!(
        fetched.windows(2).all(|w| w[0].end <= w[1].start),
        "{fetched:?}"
    );
    Ok(())
}

/// What one op returned, comparable across the two APIs.
#[derive(Debug, PartialEq)]
enum Outcome {
    Bytes(Vec<u8>),
    Prefetched,
    Error(String),
}

fn outcome<T>(result: Result<T>, ok: impl FnOnce(T) -> Outcome) -> Outcome {
    match result {
        Ok(value) => ok(value),
        Err(err) => Outcome::Error(err.to_string()),
    }
}

/// Runs `ops` through the async API (awaited on a tokio runtime) and returns each op's outcome.
async fn run_async(reader: &RangeReader<Slow>, ops: &[Op]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for op in ops {
        out.push(match op {
            Op::ReadAt { offset, len } | Op::SeekRead { offset, len } => {
                let mut buf = vec![0; *len];
                let result = reader.read_at(*offset, &mut buf).await;
                outcome(result, |n| Outcome::Bytes(buf[..n].to_vec()))
            }
            Op::Prefetch(ranges) => {
                let ranges: Vec<Range<u64>> = ranges.iter().map(|&(s, l)| s..s + l).collect();
                outcome(reader.prefetch(&ranges).await, |()| Outcome::Prefetched)
            }
        });
        if let Op::SeekRead { offset, len } = op {
            let end = offset.saturating_add(*len as u64).min(reader.size());
            let range = (*offset).min(end)..end;
            out.push(outcome(reader.read_range(range).await, |b| {
                Outcome::Bytes(b.to_vec())
            }));
        }
    }
    out
}

/// The same through the blocking facade, driven inline.
fn run_blocking(reader: &BlockingRangeReader<Slow>, ops: &[Op]) -> Vec<Outcome> {
    let mut out = Vec::new();
    for op in ops {
        out.push(match op {
            Op::ReadAt { offset, len } | Op::SeekRead { offset, len } => {
                let mut buf = vec![0; *len];
                let result = reader.read_at(*offset, &mut buf);
                outcome(result, |n| Outcome::Bytes(buf[..n].to_vec()))
            }
            Op::Prefetch(ranges) => {
                let ranges: Vec<Range<u64>> = ranges.iter().map(|&(s, l)| s..s + l).collect();
                outcome(reader.prefetch(&ranges), |()| Outcome::Prefetched)
            }
        });
        if let Op::SeekRead { offset, len } = op {
            let end = offset.saturating_add(*len as u64).min(reader.size());
            let range = (*offset).min(end)..end;
            out.push(outcome(reader.read_range(range), |b| {
                Outcome::Bytes(b.to_vec())
            }));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The blocking facade and the async API give the same bytes, the same errors, the same requests and the
    /// same counters for any read pattern and any options.
    #[test]
    fn blocking_and_async_apis_answer_alike((size, options, ops) in case()) {
        let data = file_bytes(size);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let async_reader = RangeReader::with_size(Slow::new(data.clone()), size, options);
        let async_out = rt.block_on(run_async(&async_reader, &ops));
        let blocking = RangeReader::with_size(Slow::new(data.clone()), size, options)
            .blocking(BlockingRuntime::inline());
        let blocking_out = run_blocking(&blocking, &ops);
        prop_assert_eq!(&async_out, &blocking_out);
        let stats = |s: Stats| (s.requests, s.bytes_fetched, s.hits, s.misses, s.bytes_evicted);
        prop_assert_eq!(stats(async_reader.stats()), stats(blocking.stats()));
        prop_assert_eq!(async_reader.source().fetched(), blocking.source().fetched());
        for outcome in &async_out {
            prop_assert!(!matches!(outcome, Outcome::Error(_)), "{:?}", outcome);
        }
    }
}

#[test]
fn errors_cross_both_apis_unchanged() {
    let reader = RangeReader::with_size(Slow::new(file_bytes(100)), 100, exact());
    let err = BlockingRuntime::inline()
        .block_on(reader.read_range(50..200))
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::OutOfBounds { .. }), "{err}");
}

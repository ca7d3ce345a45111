//! `RangeReader` (through its blocking facade): request counts for scripted patterns, validation of the source's answers, in-flight
//! deduplication, bounded concurrency, the cache budget, and the file-like interface.

use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sparse_buffer::{
    BlockingRangeReader, Error, FileSource, MemorySource, RangeSource, ReaderOptions, Result,
};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// Deterministic file contents.
pub(crate) fn file_bytes(len: u64) -> Bytes {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 9)) as u8)
        .collect()
}

/// A memory source that records every range it serves, how many fetches ran at once, and can be slow.
#[derive(Default)]
pub(crate) struct Recorder {
    data: Bytes,
    delay: Duration,
    pub(crate) fetched: Mutex<Vec<Range<u64>>>,
    running: AtomicUsize,
    pub(crate) most_running: AtomicUsize,
}

impl Recorder {
    pub(crate) fn new(data: Bytes) -> Self {
        Self {
            data,
            ..Self::default()
        }
    }

    fn slow(data: Bytes, delay: Duration) -> Self {
        Self {
            data,
            delay,
            ..Self::default()
        }
    }

    pub(crate) fn fetched(&self) -> Vec<Range<u64>> {
        let mut all = self.fetched.lock().expect("lock").clone();
        all.sort_by_key(|r| r.start);
        all
    }
}

impl RangeSource for Recorder {
    fn size(&self) -> Result<u64> {
        Ok(self.data.len() as u64)
    }

    fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_running.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        self.fetched
            .lock()
            .expect("lock")
            .extend(ranges.iter().cloned());
        let out = ranges
            .iter()
            .map(|r| self.data.slice(r.start as usize..r.end as usize))
            .collect();
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(out)
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

#[test]
fn scattered_reads_cost_one_request_after_prefetch() -> Result<()> {
    let data = file_bytes(8 * MIB);
    // 100 scattered 1 KiB reads, each within 64 KiB of the previous one.
    let ranges: Vec<Range<u64>> = (0..100u64)
        .map(|i| {
            let start = MIB + i * 40 * KIB + (i * 7919) % (20 * KIB);
            start..start + KIB
        })
        .collect();
    let reader = BlockingRangeReader::with_options(
        Recorder::new(data.clone()),
        exact().coalesce_gap(64 * KIB),
    )?;
    assert_eq!(reader.plan(&ranges)?, [ranges[0].start..ranges[99].end]);
    reader.prefetch(&ranges)?;
    let mut out = vec![0; KIB as usize];
    for r in ranges.iter().rev() {
        reader.read_exact_at(r.start, &mut out)?;
        assert_eq!(out, data[r.start as usize..r.end as usize]);
    }
    let stats = reader.stats();
    assert_eq!((stats.requests, stats.hits, stats.misses), (1, 100, 0));
    assert_eq!(stats.bytes_fetched, ranges[99].end - ranges[0].start);

    // Without the plan and without read-ahead, every read is a request of its own.
    let reader = BlockingRangeReader::with_options(Recorder::new(data.clone()), exact())?;
    for r in &ranges {
        reader.read_exact_at(r.start, &mut out)?;
    }
    assert_eq!((reader.stats().requests, reader.stats().misses), (100, 100));

    // With 5 MiB of read-ahead, the first miss brings them all.
    let reader =
        BlockingRangeReader::with_options(Recorder::new(data), exact().read_ahead(5 * MIB))?;
    for r in &ranges {
        reader.read_exact_at(r.start, &mut out)?;
    }
    assert_eq!(
        (
            reader.stats().requests,
            reader.stats().misses,
            reader.stats().hits
        ),
        (1, 1, 99)
    );
    Ok(())
}

#[test]
fn prefetch_sends_exactly_the_plan() -> Result<()> {
    let data = file_bytes(64 * MIB);
    let options = ReaderOptions::default()
        .coalesce_gap(64 * KIB)
        .max_request(MIB)
        .concurrency(4);
    let reader = BlockingRangeReader::with_options(Recorder::new(data), options)?;
    // Already cached: skipped; gaps over 64 KiB: separate; 20 MiB: 20 requests of 1 MiB.
    reader.prefetch(&[10 * MIB..10 * MIB + 100])?;
    let wanted = [
        10 * MIB - 50 * KIB..10 * MIB + 50 * KIB,
        12 * MIB..12 * MIB + 10,
        12 * MIB + 100 * KIB..12 * MIB + 110 * KIB,
        20 * MIB..40 * MIB,
    ];
    let plan = reader.plan(&wanted)?;
    assert_eq!(
        plan[..3],
        [
            10 * MIB - 50 * KIB..10 * MIB + 50 * KIB,
            12 * MIB..12 * MIB + 10,
            12 * MIB + 100 * KIB..12 * MIB + 110 * KIB,
        ]
    );
    assert_eq!(plan.len(), 23);
    assert!(plan[3..].iter().all(|r| r.end - r.start == MIB));
    let before = reader.stats().requests;
    reader.prefetch(&wanted)?;
    assert_eq!(reader.stats().requests - before, plan.len() as u64);
    let fetched = reader.source().fetched();
    assert!(fetched.iter().all(|r| r.end - r.start <= MIB));
    assert!(reader.source().most_running.load(Ordering::SeqCst) <= 4);
    // Everything asked is cached now: the same prefetch plans nothing.
    assert!(reader.plan(&wanted)?.is_empty());
    reader.prefetch(&wanted)?;
    assert_eq!(reader.stats().requests - before, plan.len() as u64);
    Ok(())
}

#[test]
fn a_read_skips_the_cached_regions_inside_its_read_ahead() -> Result<()> {
    let data = file_bytes(16 * MIB);
    let options = exact().read_ahead(8 * MIB).coalesce_gap(64 * KIB);
    let reader = BlockingRangeReader::with_options(Recorder::new(data.clone()), options)?;
    reader.prefetch(&[2 * MIB..3 * MIB, 5 * MIB..5 * MIB + 10])?;
    let mut out = [0; 100];
    reader.read_exact_at(MIB, &mut out)?;
    assert_eq!(out[..], data[MIB as usize..MIB as usize + 100]);
    // roboto downloads all of 1..9 MiB; here the cached 2..3 MiB is skipped, while the 10 cached bytes at
    // 5 MiB sit between gaps under 64 KiB apart and are fetched over rather than splitting the request.
    let fetched = reader.source().fetched();
    assert_eq!(
        fetched,
        [
            MIB..2 * MIB,
            2 * MIB..3 * MIB,
            3 * MIB..9 * MIB,
            5 * MIB..5 * MIB + 10
        ]
    );
    Ok(())
}

#[test]
fn a_miss_in_the_tail_fetches_the_whole_tail() -> Result<()> {
    let data = file_bytes(10 * MIB);
    let reader = BlockingRangeReader::with_options(
        Recorder::new(data),
        ReaderOptions::default().tail_read(100 * KIB),
    )?;
    let mut footer = [0; 8];
    reader.read_exact_at(10 * MIB - 8, &mut footer)?;
    reader.read_exact_at(10 * MIB - 90 * KIB, &mut [0; 1000])?;
    assert_eq!(reader.source().fetched(), [10 * MIB - 100 * KIB..10 * MIB]);
    assert_eq!((reader.stats().misses, reader.stats().hits), (1, 1));
    Ok(())
}

/// A source that answers every fetch wrongly, in one of two ways.
struct Liar {
    short: bool,
}

impl RangeSource for Liar {
    fn size(&self) -> Result<u64> {
        Ok(1000)
    }
    fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        if self.short {
            Ok(ranges
                .iter()
                .map(|r| Bytes::from(vec![0; (r.end - r.start) as usize - 1]))
                .collect())
        } else {
            Ok(Vec::new())
        }
    }
    fn name(&self) -> String {
        "liar".to_owned()
    }
}

#[test]
fn wrong_answers_are_typed_errors_not_short_data() {
    let reader = BlockingRangeReader::with_options(Liar { short: true }, exact()).expect("size");
    let mut out = [0; 10];
    match reader.read_at(100, &mut out) {
        Err(Error::ShortFetch {
            name,
            start: 100,
            end: 110,
            got: 9,
        }) => assert_eq!(name, "liar"),
        other => panic!("{other:?}"),
    }
    // Nothing was stored, nothing stays in flight: the next read asks again (and fails again).
    assert!(reader.regions().is_empty());
    assert!(matches!(
        reader.prefetch(&[0..10, 500..510]),
        Err(Error::ShortFetch { .. })
    ));
    assert_eq!(reader.stats().requests, 3);

    let mut reader =
        BlockingRangeReader::with_options(Liar { short: false }, exact()).expect("size");
    assert!(matches!(
        reader.read_at(0, &mut out),
        Err(Error::FetchCount {
            asked: 1,
            got: 0,
            ..
        })
    ));
    let err = reader.read(&mut out).expect_err("through io::Read");
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    assert!(matches!(Error::from_io(err), Ok(Error::FetchCount { .. })));
}

#[test]
fn concurrent_readers_never_fetch_the_same_bytes_twice() -> Result<()> {
    let data = file_bytes(4 * MIB);
    let source = Recorder::slow(data.clone(), Duration::from_millis(30));
    let options = exact()
        .read_ahead(256 * KIB)
        .max_request(128 * KIB)
        .concurrency(2);
    let reader = BlockingRangeReader::with_options(source, options)?;
    std::thread::scope(|scope| {
        for t in 0..8u64 {
            let (reader, data) = (&reader, &data);
            scope.spawn(move || {
                // All threads read the same first MiB, each in its own order, plus a prefetch.
                let mut out = vec![0; 10_000];
                for i in 0..20u64 {
                    let offset = ((i * 7 + t * 3) % 20) * 50_000;
                    reader.read_at(offset, &mut out).expect("read");
                    assert_eq!(out, data[offset as usize..offset as usize + 10_000]);
                    if i == 5 {
                        reader.prefetch(&[0..MIB]).expect("prefetch");
                    }
                }
            });
        }
    });
    let fetched = reader.source().fetched();
    for pair in fetched.windows(2) {
        assert!(pair[0].end <= pair[1].start, "fetched twice: {pair:?}");
    }
    let stats = reader.stats();
    assert_eq!(
        stats.bytes_fetched,
        fetched.iter().map(|r| r.end - r.start).sum::<u64>()
    );
    assert_eq!(stats.hits + stats.misses, 160);
    Ok(())
}

/// A source whose fetches start only when the test lets them, and that says when one is asked.
struct Gated {
    inner: MemorySource,
    asked: std::sync::mpsc::SyncSender<Range<u64>>,
    go: Mutex<std::sync::mpsc::Receiver<()>>,
}

impl RangeSource for Gated {
    fn size(&self) -> Result<u64> {
        self.inner.size()
    }
    fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.asked.send(ranges[0].clone()).expect("test alive");
        self.go.lock().expect("lock").recv().expect("test alive");
        self.inner.fetch(ranges)
    }
}

#[test]
fn a_reader_waits_for_bytes_in_flight_instead_of_fetching_them() -> Result<()> {
    let (asked_tx, asked) = std::sync::mpsc::sync_channel(8);
    let (go, go_rx) = std::sync::mpsc::sync_channel(8);
    let source = Gated {
        inner: MemorySource::new(file_bytes(1000)),
        asked: asked_tx,
        go: Mutex::new(go_rx),
    };
    let reader = BlockingRangeReader::with_options(source, exact())?;
    std::thread::scope(|scope| {
        let first = scope.spawn(|| reader.read_range(0..100));
        assert_eq!(asked.recv().expect("first fetch"), 0..100);
        let second = scope.spawn(|| reader.read_range(50..60));
        // The second read finds 50..60 in flight and waits: no request of its own.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while reader.stats().waits == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the second read never waited"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        go.send(()).expect("release");
        let data = file_bytes(1000);
        assert_eq!(
            first.join().expect("first").expect("read"),
            data.slice(0..100)
        );
        assert_eq!(
            second.join().expect("second").expect("read"),
            data.slice(50..60)
        );
    });
    assert!(asked.try_recv().is_err(), "a second request was sent");
    let stats = reader.stats();
    assert_eq!((stats.requests, stats.misses), (1, 2));
    assert!(stats.waits >= 1, "{stats:?}");
    Ok(())
}

#[test]
fn the_cache_budget_evicts_the_least_recently_used() -> Result<()> {
    let data = file_bytes(MIB);
    let options = exact().cache_budget(Some(250 * KIB));
    let reader = BlockingRangeReader::with_options(Recorder::new(data), options)?;
    let span = |i: u64| i * 200 * KIB..i * 200 * KIB + 100 * KIB;
    reader.prefetch(&[span(0)])?;
    reader.prefetch(&[span(1)])?;
    reader.read_exact_at(span(0).start + 10, &mut [0; 10])?; // A is now more recent than B
    reader.prefetch(&[span(2)])?; // over budget: B goes
    assert_eq!(reader.regions(), [span(0), span(2)]);
    assert_eq!(reader.stats().bytes_evicted, 100 * KIB);
    assert!(reader.cached_bytes() <= 250 * KIB);
    // A read larger than the whole budget still returns every byte.
    let all = reader.read_range(0..MIB)?;
    assert_eq!(all, file_bytes(MIB));
    assert!(reader.cached_bytes() <= 250 * KIB);
    Ok(())
}

#[test]
fn read_and_seek_like_a_file() -> Result<(), Box<dyn std::error::Error>> {
    let data = file_bytes(3 * MIB + 17);
    let mut reader = BlockingRangeReader::new(MemorySource::new(data.clone()))?;
    let mut all = Vec::new();
    reader.read_to_end(&mut all)?;
    assert_eq!(all, data);
    assert_eq!(reader.read(&mut [0; 10])?, 0);
    assert_eq!(reader.seek(SeekFrom::End(-17))?, 3 * MIB);
    let mut tail = [0; 17];
    reader.read_exact(&mut tail)?;
    assert_eq!(tail[..], data[3 * MIB as usize..]);
    let err = reader
        .seek(SeekFrom::Current(-(4 * MIB as i64)))
        .expect_err("negative");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(reader.position(), 3 * MIB + 17);
    assert_eq!(reader.stream_position()?, 3 * MIB + 17);
    assert_eq!(reader.seek(SeekFrom::Start(10 * MIB))?, 10 * MIB);
    assert_eq!(reader.read(&mut [0; 10])?, 0);
    assert_eq!(reader.read_at(10 * MIB, &mut [0; 10])?, 0);
    Ok(())
}

#[test]
fn bounds_are_checked_before_fetching() -> Result<()> {
    let reader = BlockingRangeReader::with_options(Recorder::new(file_bytes(1000)), exact())?;
    assert!(matches!(
        reader.read_exact_at(995, &mut [0; 10]),
        Err(Error::OutOfBounds {
            start: 995,
            end: 1005,
            size: 1000,
            ..
        })
    ));
    assert!(matches!(
        reader.read_range(10..2000),
        Err(Error::OutOfBounds { .. })
    ));
    let reversed = Range { start: 10, end: 5 };
    assert!(matches!(
        reader.read_range(reversed.clone()),
        Err(Error::InvalidRange { .. })
    ));
    assert!(matches!(
        reader.prefetch(&[reversed]),
        Err(Error::InvalidRange { .. })
    ));
    reader.prefetch(&[2000..3000, 7..7])?;
    assert_eq!(reader.stats().requests, 0);
    // A read running past the end returns what there is.
    assert_eq!(reader.read_at(990, &mut [0; 100])?, 10);
    assert_eq!(reader.read_range(1000..1000)?, Bytes::new());
    Ok(())
}

/// A source that panics on its first fetch.
struct PanicsOnce {
    inner: MemorySource,
    panicked: AtomicUsize,
}

impl RangeSource for PanicsOnce {
    fn size(&self) -> Result<u64> {
        self.inner.size()
    }
    fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        if self.panicked.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("source bug");
        }
        self.inner.fetch(ranges)
    }
}

#[test]
fn a_panicking_source_leaves_nothing_in_flight() {
    let source = PanicsOnce {
        inner: MemorySource::new(file_bytes(1000)),
        panicked: AtomicUsize::new(0),
    };
    let reader = Arc::new(BlockingRangeReader::with_options(source, exact()).expect("size"));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        reader.read_at(0, &mut [0; 10])
    }));
    assert!(caught.is_err());
    let mut out = [0; 10];
    assert_eq!(reader.read_at(0, &mut out).ok(), Some(10));
    assert_eq!(out[..], file_bytes(10)[..]);
}

#[test]
fn a_file_source_behind_a_reader() -> Result<(), Box<dyn std::error::Error>> {
    let data = file_bytes(2 * MIB);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("data.bin");
    std::fs::write(&path, &data)?;
    let reader = BlockingRangeReader::with_options(
        FileSource::open(&path)?,
        ReaderOptions::default().concurrency(3),
    )?;
    reader.prefetch(&[0..2 * MIB])?;
    assert_eq!(
        reader.read_range(MIB..MIB + 5000)?,
        data[MIB as usize..MIB as usize + 5000]
    );
    assert_eq!(reader.stats().requests, 1);
    assert!(format!("{reader:?}").contains("data.bin"));
    let (_, buffer) = reader.into_parts().expect("the only cursor");
    assert_eq!(buffer.regions().collect::<Vec<_>>(), [0..2 * MIB]);
    Ok(())
}

#[test]
fn clear_cache_forgets_everything() -> Result<()> {
    let reader = BlockingRangeReader::with_options(Recorder::new(file_bytes(1000)), exact())?;
    reader.prefetch(&[0..1000])?;
    assert_eq!(reader.cached_bytes(), 1000);
    reader.clear_cache();
    assert_eq!(reader.cached_bytes(), 0);
    reader.read_at(0, &mut [0; 10])?;
    assert_eq!(reader.stats().requests, 2);
    assert_eq!(reader.size(), 1000);
    assert_eq!(reader.options().read_ahead, 0);
    Ok(())
}

#[test]
fn buffers_and_readers_are_shared_across_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<sparse_buffer::SparseBuffer>();
    send_sync::<BlockingRangeReader<FileSource>>();
    send_sync::<BlockingRangeReader<MemorySource>>();
    send_sync::<BlockingRangeReader<Box<dyn RangeSource>>>();
    send_sync::<Error>();
}

/// A source that fails the way an object-store client would.
struct Unreachable;

impl RangeSource for Unreachable {
    fn size(&self) -> Result<u64> {
        Ok(100)
    }
    fn fetch(&self, _: &[Range<u64>]) -> Result<Vec<Bytes>> {
        Err(Error::Source {
            name: "s3://bucket/key".to_owned(),
            source: "connection refused".into(),
        })
    }
}

#[test]
fn a_source_error_reaches_the_caller_unchanged() {
    let mut reader = BlockingRangeReader::new(Unreachable).expect("size");
    let err = reader.read_range(0..10).expect_err("fails");
    assert_eq!(err.to_string(), "s3://bucket/key: connection refused");
    let io_err = reader.read(&mut [0; 4]).expect_err("fails");
    assert_eq!(io_err.kind(), io::ErrorKind::Other);
    assert!(matches!(Error::from_io(io_err), Ok(Error::Source { .. })));
    assert_eq!(reader.stats().bytes_fetched, 0);
}

#[test]
fn min_request_bounds_the_requests_of_any_byte_at_a_time_pattern() -> Result<()> {
    let data = file_bytes(MIB);
    let options = exact().min_request(64 * KIB);
    // Forwards, backwards and in a scattered order: one request per 64 KiB block touched, whatever the order.
    let orders: [Vec<u64>; 3] = [
        (0..MIB).collect(),
        (0..MIB).rev().collect(),
        (0..MIB).map(|i| (i * 7919) % MIB).collect(),
    ];
    for order in orders {
        let reader = BlockingRangeReader::with_options(Recorder::new(data.clone()), options)?;
        let mut byte = [0; 1];
        for &i in order.iter().step_by(61) {
            reader.read_exact_at(i, &mut byte)?;
            assert_eq!(byte[0], data[i as usize]);
        }
        assert_eq!(reader.stats().requests, 16);
        let fetched = reader.source().fetched();
        assert!(
            fetched
                .iter()
                .all(|r| r.start % (64 * KIB) == 0 && r.end - r.start == 64 * KIB)
        );
    }
    // With read-ahead, the blocks are whole too: a miss at 100 fetches 0..128 KiB for 100 KiB of read-ahead.
    let reader = BlockingRangeReader::with_options(
        Recorder::new(data.clone()),
        options.read_ahead(100 * KIB),
    )?;
    reader.read_exact_at(100, &mut [0; 1])?;
    assert_eq!(reader.source().fetched(), [0..128 * KIB]);
    Ok(())
}

/// Clones of a `BlockingRangeReader` are cursors: each has its own position, all share one reader (cache,
/// requests in flight, counters), and reading needs no `&mut` on the reader itself.
#[test]
fn clones_are_cursors_with_their_own_positions_over_one_cache()
-> Result<(), Box<dyn std::error::Error>> {
    let data = file_bytes(4 * MIB);
    let reader = BlockingRangeReader::with_options(
        Recorder::new(data.clone()),
        exact().min_request(64 * KIB),
    )?;
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..4u64)
            .map(|part| {
                // Each thread reads a quarter through its own cursor, 1,000 bytes per read.
                let mut cursor = reader.clone();
                let data = &data;
                scope.spawn(move || -> io::Result<()> {
                    cursor.seek(SeekFrom::Start(part * MIB))?;
                    let mut chunk = [0; 1000];
                    let mut at = part * MIB;
                    while at + 1000 <= (part + 1) * MIB {
                        cursor.read_exact(&mut chunk)?;
                        assert_eq!(chunk[..], data[at as usize..at as usize + 1000]);
                        at += 1000;
                    }
                    assert_eq!(cursor.position(), at);
                    Ok(())
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("no panic").expect("reads");
        }
    });
    assert_eq!(reader.position(), 0, "the original cursor did not move");
    // 4 MiB in 64 KiB blocks, each fetched once by whichever cursor needed it first.
    let fetched = reader.source().fetched();
    assert!(
        fetched.windows(2).all(|w| w[0].end <= w[1].start),
        "{fetched:?}"
    );
    assert!(reader.stats().requests <= 64, "{:?}", reader.stats());
    // Two cursors over bytes already cached: no request.
    let before = reader.stats().requests;
    let (mut a, mut b) = (reader.clone(), reader.clone());
    b.seek(SeekFrom::End(-10))?;
    let (mut x, mut y) = ([0; 10], [0; 10]);
    a.read_exact(&mut x)?;
    b.read_exact(&mut y)?;
    assert_eq!(
        (x[..] == data[..10], y[..] == data[data.len() - 10..]),
        (true, true)
    );
    assert_eq!((a.position(), b.position()), (10, 4 * MIB));
    assert_eq!(reader.stats().requests, before);
    Ok(())
}

//! Fault injection: a source that fails, answers short or wrong, or stalls, at chosen calls. Every fault is an
//! error for the read that met it, the cache only ever holds the file's bytes, and the next read succeeds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use fault_injection::{FaultySource, SourceFault};
use sparse_buffer::{BlockingRangeReader, Error, MemorySource, ReaderOptions};

use crate::reader::file_bytes;

const SIZE: u64 = 200_000;

/// The faults a fetch can answer with (stalls are tested on their own).
const DATA_FAULTS: [SourceFault; 3] = [
    SourceFault::Fail,
    SourceFault::Short,
    SourceFault::WrongCount,
];

fn options() -> ReaderOptions {
    ReaderOptions::default()
        .read_ahead(4_000)
        .tail_read(0)
        .coalesce_gap(1_000)
        .max_request(10_000)
        .concurrency(3)
}

fn assert_cache_is_the_file<S: sparse_buffer::RangeSource>(reader: &BlockingRangeReader<S>) {
    let file = file_bytes(SIZE);
    for region in reader.regions() {
        let mut out = vec![0; (region.end - region.start) as usize];
        reader.read_exact_at(region.start, &mut out).unwrap();
        assert_eq!(
            out[..],
            file[region.start as usize..region.end as usize],
            "cached {region:?}"
        );
    }
}

#[test]
fn each_fault_fails_its_read_and_the_retry_succeeds() {
    let file = file_bytes(SIZE);
    for fault in DATA_FAULTS {
        for call in 0..3 {
            let source = FaultySource::new(MemorySource::new(file.clone())).on_call(call, fault);
            let reader = BlockingRangeReader::with_size(source, SIZE, options());
            // Each read needs several requests (max_request 10 000); the fault lands in one of the first reads.
            let mut failures = 0;
            for i in 0..5u64 {
                let range = i * 30_000..(i + 1) * 30_000;
                match reader.read_range(range.clone()) {
                    Ok(bytes) => {
                        assert_eq!(bytes[..], file[range.start as usize..range.end as usize])
                    }
                    Err(err) => {
                        failures += 1;
                        assert!(
                            matches!(
                                err,
                                Error::Io { .. }
                                    | Error::ShortFetch { .. }
                                    | Error::FetchCount { .. }
                            ),
                            "{fault:?} at call {call}: {err}"
                        );
                        let retry = reader.read_range(range.clone()).expect("a retry succeeds");
                        assert_eq!(retry[..], file[range.start as usize..range.end as usize]);
                    }
                }
            }
            assert_eq!(failures, 1, "{fault:?} at call {call}");
            assert_cache_is_the_file(&reader);
        }
    }
}

#[test]
fn periodic_faults_never_give_wrong_bytes() {
    let file = file_bytes(SIZE);
    for fault in DATA_FAULTS {
        let source = FaultySource::new(MemorySource::new(file.clone())).every(3, fault);
        let reader = Arc::new(BlockingRangeReader::with_size(
            source,
            SIZE,
            options().cache_budget(Some(60_000)),
        ));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let reader = Arc::clone(&reader);
                let file = file.clone();
                thread::spawn(move || {
                    let (mut ok, mut failed) = (0, 0);
                    for i in 0..40u64 {
                        let start = (i * 7_919 + t * 31_337) % (SIZE - 9_000);
                        let len = 1 + (i * 613 + t) % 9_000;
                        match reader.read_range(start..start + len) {
                            Ok(bytes) => {
                                assert_eq!(bytes[..], file[start as usize..(start + len) as usize]);
                                ok += 1;
                            }
                            Err(_) => failed += 1,
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        let (mut ok, mut failed) = (0, 0);
        for thread in threads {
            let (o, f) = thread.join().unwrap();
            ok += o;
            failed += f;
        }
        assert!(
            ok > 0 && failed > 0,
            "{fault:?}: {ok} reads succeeded, {failed} failed"
        );
        // Healed first: checking a cached region may still fetch (read-ahead, rounding to `min_request`), and a fault
        // there would fail the check for a reason other than the one it is about (what the cache holds).
        reader.source().heal();
        assert_cache_is_the_file(&reader);
        let mut all = vec![0; SIZE as usize];
        reader.read_exact_at(0, &mut all).unwrap();
        assert_eq!(all[..], file[..]);
    }
}

#[test]
fn a_stalled_fetch_holds_back_only_the_reads_of_its_bytes() {
    let file = file_bytes(SIZE);
    let source = FaultySource::new(MemorySource::new(file.clone()))
        .on_call(0, SourceFault::Stall(Duration::from_secs(2)));
    let reader = Arc::new(BlockingRangeReader::with_size(source, SIZE, options()));
    let stalled_done = Arc::new(AtomicBool::new(false));
    let stalled = {
        let (reader, done) = (Arc::clone(&reader), Arc::clone(&stalled_done));
        thread::spawn(move || {
            let bytes = reader.read_range(0..1_000);
            done.store(true, Ordering::SeqCst);
            bytes
        })
    };
    while reader.source().calls() == 0 {
        thread::yield_now();
    }
    // Another range: fetched and returned while the first fetch still sleeps.
    assert_eq!(
        reader.read_range(150_000..151_000).unwrap()[..],
        file[150_000..151_000]
    );
    assert!(
        !stalled_done.load(Ordering::SeqCst),
        "the other read waited for the stalled fetch"
    );
    assert_eq!(stalled.join().unwrap().unwrap()[..], file[..1_000]);
}

#[test]
fn a_source_that_cannot_tell_its_size_fails_to_open() {
    let source = FaultySource::new(MemorySource::new(file_bytes(10))).fail_size();
    assert!(matches!(
        BlockingRangeReader::new(source),
        Err(Error::Io { .. })
    ));
}

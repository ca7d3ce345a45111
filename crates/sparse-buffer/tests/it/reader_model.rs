//! `RangeReader` (through its blocking facade) under random fetch parameters and random read patterns: every read equals the source.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;

use proptest::prelude::*;
use sparse_buffer::{BlockingRangeReader, ReaderOptions};

use crate::reader::{Recorder, file_bytes};

#[derive(Debug, Clone)]
pub(crate) enum Op {
    ReadAt { offset: u64, len: usize },
    Prefetch(Vec<(u64, u64)>),
    SeekRead { offset: u64, len: usize },
}

fn options() -> impl Strategy<Value = ReaderOptions> {
    (
        0..40_000u64,
        0..20_000u64,
        0..20_000u64,
        prop_oneof![Just(0u64), 1..30_000u64],
        1..4usize,
        prop_oneof![Just(None), (1..100_000u64).prop_map(Some)],
        prop_oneof![Just(0u64), 1..40_000u64],
    )
        .prop_map(
            |(read_ahead, tail, gap, max_request, concurrency, budget, min_request)| {
                ReaderOptions::default()
                    .read_ahead(read_ahead)
                    .min_request(min_request)
                    .tail_read(tail)
                    .coalesce_gap(gap)
                    .max_request(max_request)
                    .concurrency(concurrency)
                    .cache_budget(budget)
            },
        )
}

fn op(size: u64) -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..size + 100, 0..20_000usize).prop_map(|(offset, len)| Op::ReadAt { offset, len }),
        1 => prop::collection::vec((0..size + 100, 0..30_000u64), 0..6).prop_map(Op::Prefetch),
        2 => (0..size + 100, 0..5_000usize).prop_map(|(offset, len)| Op::SeekRead { offset, len }),
    ]
}

pub(crate) fn case() -> impl Strategy<Value = (u64, ReaderOptions, Vec<Op>)> {
    (1..150_000u64, options()).prop_flat_map(|(size, options)| {
        (
            Just(size),
            Just(options),
            prop::collection::vec(op(size), 1..25),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn reads_equal_the_source((size, options, ops) in case()) {
        let data = file_bytes(size);
        let mut reader = BlockingRangeReader::with_options(Recorder::new(data.clone()), options)?;
        let expect = |offset: u64, len: usize| -> &[u8] {
            let start = offset.min(size) as usize;
            let end = offset.saturating_add(len as u64).min(size) as usize;
            &data[start..end]
        };
        for op in ops {
            match op {
                Op::ReadAt { offset, len } => {
                    let mut out = vec![0; len];
                    let n = reader.read_at(offset, &mut out)?;
                    prop_assert_eq!(&out[..n], expect(offset, len));
                }
                Op::Prefetch(ranges) => {
                    let ranges: Vec<Range<u64>> = ranges.iter().map(|&(s, l)| s..s + l).collect();
                    reader.prefetch(&ranges)?;
                    if options.cache_budget.is_none() {
                        for r in &ranges {
                            prop_assert!(reader.plan(std::slice::from_ref(r))?.is_empty());
                        }
                    }
                }
                Op::SeekRead { offset, len } => {
                    reader.seek(SeekFrom::Start(offset))?;
                    let mut out = vec![0; len];
                    let n = reader.read(&mut out)?;
                    prop_assert_eq!(&out[..n], expect(offset, len));
                    prop_assert_eq!(reader.position(), offset + n as u64);
                }
            }
            if let Some(budget) = options.cache_budget {
                prop_assert!(reader.cached_bytes() <= budget);
            }
        }
        let stats = reader.stats();
        let fetched = reader.source().fetched();
        prop_assert_eq!(stats.requests, fetched.len() as u64);
        prop_assert!(fetched.iter().all(|r| r.end <= size && r.start < r.end));
        if options.max_request > 0 {
            prop_assert!(fetched.iter().all(|r| r.end - r.start <= options.max_request));
        }
        // Without coalescing and eviction, no byte is ever fetched twice.
        if options.coalesce_gap == 0 && options.cache_budget.is_none() {
            for pair in fetched.windows(2) {
                prop_assert!(pair[0].end <= pair[1].start, "fetched twice: {:?}", pair);
            }
        }
        let (_, buffer) = reader.into_parts().expect("the only cursor");
        for region in buffer.regions() {
            let got = buffer.find_region(region.start, region.end - region.start).expect("a region");
            prop_assert_eq!(&got[..], &data[region.start as usize..region.end as usize]);
        }
    }
}

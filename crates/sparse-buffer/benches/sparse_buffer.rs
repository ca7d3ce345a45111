//! Speed of `SparseBuffer` with many regions and of whole-file appends in both orders.
//!
//! Targets (issue 5): with 100,000 disjoint regions, `add_region` and a 4 KiB `read_at` ≤ 1 µs median each;
//! 128 MiB appended as 64 KiB regions ≥ 2 GB/s in order, and within 2× of that in reverse order (measured with
//! owned chunks, the path a `RangeReader` takes, and with copied slices next to the cost of the copy alone).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sparse_buffer::{BlockingRangeReader, MemorySource, ReadAt, ReaderOptions, SparseBuffer};

const REGIONS: u64 = 100_000;
const REGION_LEN: u64 = 8 * 1024;
const STRIDE: u64 = 2 * REGION_LEN;
const CHUNK: usize = 64 * 1024;
const TOTAL: usize = 128 * 1024 * 1024;

/// 100,000 disjoint 8 KiB regions with 8 KiB gaps between them.
fn many_regions() -> SparseBuffer {
    let mut buffer = SparseBuffer::new(REGIONS * STRIDE + STRIDE);
    let region = Bytes::from(vec![7u8; REGION_LEN as usize]);
    for i in 0..REGIONS {
        buffer
            .add_region(i * STRIDE, region.clone())
            .expect("region inside the file");
    }
    buffer
}

/// Random reads per run through the probe sequence: a power of two at least `REGIONS`.
const PROBES: usize = 1 << 17;

/// Offsets 1 KiB into random regions: a random sequence longer than the buffer has regions, consumed in order, so
/// that every read lands anywhere in the buffer.
fn random_probes() -> Vec<u64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..PROBES)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % REGIONS) * STRIDE + 1024
        })
        .collect()
}

/// A cheap, well-spread sequence of region indexes.
fn scatter(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % REGIONS
}

fn many_regions_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("100k_regions");
    let base = many_regions();
    let mut i = 0u64;
    let probes = random_probes();
    let mut next = 0;
    let buffer = base.clone();
    group.bench_function("read_at_4k", |b| {
        let mut out = vec![0u8; 4096];
        b.iter(|| {
            next = (next + 1) & (PROBES - 1);
            black_box(buffer.read_at(black_box(probes[next]), &mut out))
        });
    });
    // Overwrites 1 KiB inside a region: a lookup, a carve of the old chunk into two slices, an insert.
    // (After the first pass over the regions, each add replaces the 1 KiB the previous pass put there.)
    let small = Bytes::from(vec![9u8; 1024]);
    let mut buffer = base.clone();
    group.bench_function("add_region_overwrite_1k", |b| {
        b.iter(|| {
            i += 1;
            let offset = scatter(i) * STRIDE + 2048;
            buffer.add_region(black_box(offset), small.clone())
        });
    });
    assert!(matches!(buffer.read_at(0, &mut [0; 16]), ReadAt::Data(16)));
    // A disjoint 1 KiB region in one of the 100,000 gaps (after the first pass over the gaps, each add
    // replaces the region the previous pass put there; the buffer holds up to 200,000 regions).
    let mut buffer = base.clone();
    group.bench_function("add_region_disjoint_1k", |b| {
        b.iter(|| {
            i += 1;
            let offset = scatter(i) * STRIDE + REGION_LEN + 1024;
            buffer.add_region(black_box(offset), small.clone())
        });
    });
    // The floor on this machine: one lookup in a bare std BTreeMap with as many keys, no bytes copied.
    let bare: std::collections::BTreeMap<u64, u64> =
        (0..REGIONS).map(|i| (i * STRIDE, i)).collect();
    group.bench_function("bare_btreemap_lookup_baseline", |b| {
        b.iter(|| {
            next = (next + 1) & (PROBES - 1);
            bare.range(..=black_box(probes[next]))
                .next_back()
                .map(|(_, &v)| v)
        });
    });
    group.finish();
}

fn append_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("append_128MiB_64KiB");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.sample_size(10);
    let count = TOTAL / CHUNK;
    // Owned chunks, as a RangeReader stores what its source returned: taken over without copying.
    let owned: Vec<Bytes> = (0..count)
        .map(|i| Bytes::from(vec![i as u8; CHUNK]))
        .collect();
    for (name, reverse) in [("in_order_owned", false), ("reverse_order_owned", true)] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || SparseBuffer::new(TOTAL as u64),
                |mut buffer| {
                    let mut add = |i: usize| {
                        buffer
                            .add_region((i * CHUNK) as u64, owned[i].clone())
                            .expect("inside the file");
                    };
                    if reverse {
                        (0..count).rev().for_each(&mut add);
                    } else {
                        (0..count).for_each(&mut add);
                    }
                    assert_eq!(buffer.regions().count(), 1);
                    buffer
                },
                BatchSize::SmallInput,
            );
        });
    }
    // Borrowed slices, copied once each, as roboto copies into its bytearray.
    let chunk = vec![5u8; CHUNK];
    for (name, reverse) in [("in_order_copied", false), ("reverse_order_copied", true)] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || SparseBuffer::new(TOTAL as u64),
                |mut buffer| {
                    let mut add = |i: usize| {
                        buffer
                            .add_region_from_slice((i * CHUNK) as u64, &chunk)
                            .expect("inside the file");
                    };
                    if reverse {
                        (0..count).rev().for_each(&mut add);
                    } else {
                        (0..count).for_each(&mut add);
                    }
                    assert_eq!(buffer.regions().count(), 1);
                    buffer
                },
                BatchSize::PerIteration,
            );
        });
    }
    // The floor of the copied variants: allocating and copying the same chunks, with no buffer at all.
    group.bench_function("copy_only_baseline", |b| {
        b.iter_batched(
            || (),
            |()| {
                (0..count)
                    .map(|_| Bytes::copy_from_slice(&chunk))
                    .collect::<Vec<_>>()
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// A `RangeReader` over 64 MiB in memory: the cost of a cached read (lock, lookup, copy) and of a cold
/// prefetch of scattered ranges (planning, coalescing, concurrent fetches, storing).
fn reader_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("range_reader_64MiB");
    let size = 64 * 1024 * 1024u64;
    let data = Bytes::from(vec![3u8; size as usize]);
    let reader = BlockingRangeReader::new(MemorySource::new(data.clone())).expect("in memory");
    let whole = 0..size;
    reader
        .prefetch(std::slice::from_ref(&whole))
        .expect("in memory");
    let mut out = vec![0u8; 4096];
    let mut i = 0u64;
    group.bench_function("read_at_4k_cached", |b| {
        b.iter(|| {
            i += 1;
            let offset = (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % (size - 4096)) & !7;
            reader.read_at(black_box(offset), &mut out)
        });
    });
    // 1,000 scattered 1 KiB ranges, 64 KiB apart: coalesced into 8 MiB requests.
    let ranges: Vec<_> = (0..1000u64)
        .map(|i| i * 65_536..i * 65_536 + 1024)
        .collect();
    group.throughput(Throughput::Elements(ranges.len() as u64));
    group.bench_function("prefetch_1000_scattered_cold", |b| {
        b.iter_batched(
            || {
                BlockingRangeReader::with_options(
                    MemorySource::new(data.clone()),
                    ReaderOptions::default(),
                )
                .expect("in memory")
            },
            |reader| {
                reader.prefetch(&ranges).expect("in memory");
                reader
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(
    benches,
    many_regions_benches,
    append_benches,
    reader_benches
);
criterion_main!(benches);

//! Speed on the reference workload: 1,000,000 records × 100 B, warm page cache.
//!
//! - `get/random`: one random `Dataset::get` (target ≤ 50 ns; Python roxxel 0.1.0: 4.2 µs). Each iteration takes
//!   the next batch of a random sequence of indices longer than the dataset, so the records read are anywhere in
//!   the file, never a small set that stays in cache.
//! - `iter/sequential`: the whole dataset in order, reading every byte (target ≥ 2 GB/s of record bytes);
//!   `iter/sequential_slices_only` yields the records without reading them.
//! - `write/*`: the same file bytes written by `Writer` (with its fsyncs and rename) and by a plain `BufWriter`
//!   followed by `sync_all`, in the same run (target: roxxel ≥ 80% of the plain throughput).

use std::fs::File;
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use roxxel_format::{Dataset, FooterKind, WriterOptions};

const RECORDS: u64 = 1_000_000;
const RECORD_LEN: usize = 100;
const BATCH: usize = 4096;
/// Random indices per run through the sequence: a power of two at least `RECORDS`, a multiple of `BATCH`.
const PROBES: usize = 1 << 20;

/// Record `i`: cheap to make, distinct, 100 bytes.
fn record(i: u64, buf: &mut [u8; RECORD_LEN]) -> &[u8] {
    buf[..8].copy_from_slice(&i.to_le_bytes());
    buf[8] = i as u8;
    &buf[..]
}

fn write_dataset(path: &Path) {
    // ROXXEL01, the footer the plain-writer baseline below writes, so both write the same bytes.
    let mut writer = WriterOptions::new()
        .footer(FooterKind::Roxxel01)
        .open(path)
        .expect("open writer");
    let mut buf = [0x5a; RECORD_LEN];
    for i in 0..RECORDS {
        writer.push(record(i, &mut buf)).expect("push");
    }
    writer.finish().expect("finish");
}

fn random_indices(n: usize) -> Vec<u64> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % RECORDS
        })
        .collect()
}

/// Reads every byte of a record (8 at a time): what a consumer that looks at the data costs at least.
#[inline]
fn checksum(record: &[u8]) -> u64 {
    let mut chunks = record.chunks_exact(8);
    let mut acc = 0u64;
    for chunk in &mut chunks {
        acc = acc.wrapping_add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
    }
    for &byte in chunks.remainder() {
        acc = acc.wrapping_add(u64::from(byte));
    }
    acc
}

fn reading(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.rox");
    write_dataset(&path);
    let ds = Dataset::open(&path).expect("open");
    let indices = random_indices(PROBES);
    let mut at = 0;
    let mut next_batch = || {
        at = (at + BATCH) & (PROBES - 1);
        &indices[at..at + BATCH]
    };

    let mut group = c.benchmark_group("get");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("random", |b| {
        b.iter(|| {
            for &i in next_batch() {
                black_box(ds.get(black_box(i)).expect("record"));
            }
        });
    });
    group.bench_function("random_read_first_byte", |b| {
        b.iter(|| {
            let mut acc = 0u8;
            for &i in next_batch() {
                acc ^= ds.get(i).expect("record")[0];
            }
            black_box(acc)
        });
    });
    group.finish();

    let mut group = c.benchmark_group("iter");
    group.throughput(Throughput::Bytes(RECORDS * RECORD_LEN as u64));
    group.sample_size(20);
    group.bench_function("sequential", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for record in &ds {
                let record = record.expect("record");
                acc = acc.wrapping_add(checksum(record));
            }
            black_box(acc)
        });
    });
    group.bench_function("sequential_slices_only", |b| {
        b.iter(|| {
            for record in &ds {
                black_box(record.expect("record"));
            }
        });
    });
    group.finish();
}

fn writing(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ours = dir.path().join("ours.rox");
    let plain = dir.path().join("plain.rox");
    let file_len = RECORDS * (RECORD_LEN as u64 + 8) + 24;

    let mut group = c.benchmark_group("write");
    group.throughput(Throughput::Bytes(file_len));
    group.sample_size(10);
    group.bench_function("roxxel_writer", |b| {
        b.iter(|| {
            let _ = std::fs::remove_file(&ours);
            write_dataset(&ours);
        });
    });
    group.bench_function("plain_bufwriter_sync_all", |b| {
        b.iter(|| {
            // The same file bytes: payload, index, footer.
            let mut out = BufWriter::new(File::create(&plain).expect("create"));
            let mut buf = [0x5a; RECORD_LEN];
            for i in 0..RECORDS {
                out.write_all(record(i, &mut buf)).expect("write");
            }
            for i in 1..=RECORDS {
                out.write_all(&(i * RECORD_LEN as u64).to_le_bytes())
                    .expect("write");
            }
            out.write_all(&RECORDS.to_le_bytes()).expect("write");
            out.write_all(&(RECORDS * RECORD_LEN as u64).to_le_bytes())
                .expect("write");
            out.write_all(b"ROXXEL01").expect("write");
            out.into_inner().expect("flush").sync_all().expect("sync");
        });
    });
    group.finish();
    if let (Ok(a), Ok(b)) = (std::fs::read(&ours), std::fs::read(&plain)) {
        assert_eq!(a, b, "both benchmarks write the same bytes");
    }
}

/// A rank's order for one epoch of 1M records over 8 ranks: the per-index cost of the Feistel permutation.
fn sampling(c: &mut Criterion) {
    let mut group = c.benchmark_group("sampler");
    let sampler = roxxel_format::Sampler::new(1_000_000, 42, 3, 8).expect("rank below world size");
    group.throughput(Throughput::Elements(sampler.rank_len()));
    group.bench_function("epoch_1M_records_rank_of_8", |b| {
        b.iter(|| sampler.epoch(7).fold(0u64, |acc, i| acc ^ i))
    });
    group.finish();
}

criterion_group!(benches, reading, writing, sampling);
criterion_main!(benches);

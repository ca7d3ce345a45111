//! Criterion benchmarks: 1,000,000 entries with 16-byte keys.
//!
//! - `floor/*`: one `floor` lookup of a random key (targets: ≤ 150 ns median on the zero-copy v1 view). The probes
//!   are a random sequence longer than the index, consumed in order: every lookup lands anywhere in the index, as
//!   in use, rather than in the few cache lines a small cycled set of probes keeps warm;
//! - `from_bytes/*`: open with full verification, CRC included (target: ≥ 5 GB/s on v1);
//! - `build/*`: stream the index through `SparseIndexWriter` into a reused buffer (target: ≥ 500 MB/s on v1).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sparse_index::{Format, SparseIndex, SparseIndexRef, SparseIndexWriter};

const ENTRIES: usize = 1_000_000;
const BLOCK: u64 = 4096;
/// Random probes per run through the sequence: a power of two at least `ENTRIES`.
const PROBES: usize = 1 << 20;

/// A xorshift generator: deterministic and dependency-free.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn key(&mut self) -> [u8; 16] {
        let mut key = [0; 16];
        key[..8].copy_from_slice(&self.next().to_be_bytes());
        key[8..].copy_from_slice(&self.next().to_be_bytes());
        key
    }
}

fn sorted_keys(rng: &mut XorShift) -> Vec<[u8; 16]> {
    let mut keys: Vec<[u8; 16]> = (0..ENTRIES).map(|_| rng.key()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Streams the index into `out` (cleared first): a sink whose pages are already mapped, like a file.
fn build_into(out: &mut Vec<u8>, keys: &[[u8; 16]], format: Format) {
    out.clear();
    let mut writer = SparseIndexWriter::with_format(out, format);
    for (i, key) in keys.iter().enumerate() {
        writer.add(key, i as u64 * BLOCK).unwrap();
    }
    writer.finish(keys.len() as u64 * BLOCK).unwrap();
}

fn build(keys: &[[u8; 16]], format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    build_into(&mut out, keys, format);
    out
}

fn benches(c: &mut Criterion) {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let keys = sorted_keys(&mut rng);
    let probes: Vec<[u8; 16]> = (0..PROBES).map(|_| rng.key()).collect();
    let v1 = build(&keys, Format::Plain);
    let v2 = build(&keys, Format::prefix_compressed());
    let v3 = build(&keys, Format::Sampled);
    let owned = SparseIndex::from_bytes(&v1).unwrap();

    let mut group = c.benchmark_group("floor");
    let view1 = SparseIndexRef::from_bytes_verified(v1.as_slice()).unwrap();
    let view2 = SparseIndexRef::from_bytes_verified(v2.as_slice()).unwrap();
    let view3 = SparseIndexRef::from_bytes_verified(v3.as_slice()).unwrap();
    let mut i = 0;
    group.bench_function("v1_view", |b| {
        b.iter(|| {
            i = (i + 1) & (PROBES - 1);
            view1.floor(black_box(&probes[i]))
        })
    });
    group.bench_function("v2_view", |b| {
        b.iter(|| {
            i = (i + 1) & (PROBES - 1);
            view2.floor(black_box(&probes[i]))
        })
    });
    group.bench_function("v3_view", |b| {
        b.iter(|| {
            i = (i + 1) & (PROBES - 1);
            view3.floor(black_box(&probes[i]))
        })
    });
    group.bench_function("owned", |b| {
        b.iter(|| {
            i = (i + 1) & (PROBES - 1);
            owned.floor(black_box(&probes[i]))
        })
    });
    group.finish();

    let mut group = c.benchmark_group("from_bytes");
    group.sample_size(20);
    for (name, bytes) in [("v1", &v1), ("v2", &v2), ("v3", &v3)] {
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), bytes, |b, bytes| {
            b.iter(|| {
                SparseIndexRef::from_bytes_verified(black_box(bytes.as_slice()))
                    .unwrap()
                    .len()
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("build");
    group.sample_size(20);
    for (name, format, len) in [
        ("v1", Format::Plain, v1.len()),
        ("v2", Format::prefix_compressed(), v2.len()),
        ("v3", Format::Sampled, v3.len()),
    ] {
        group.throughput(Throughput::Bytes(len as u64));
        let mut out = Vec::with_capacity(len);
        group.bench_function(name, |b| {
            b.iter(|| build_into(&mut out, black_box(&keys), format))
        });
    }
    group.finish();
}

criterion_group!(sparse_index, benches);
criterion_main!(sparse_index);

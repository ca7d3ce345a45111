//! MapBuffer speed on the workload: 1,000,000 random keys × 100-byte values, format version 1, no
//! compression, lookups of random present keys. The lookups are a random sequence longer than the map has keys,
//! consumed in order, so that every lookup lands anywhere in the map (except in the bench named "in cache").
//!
//! Targets: `get` (search and CRC) ≤ 100 ns, `contains` ≤ 60 ns, open + one `get` ≤ 5 µs, build ≥ 500 MB/s.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mapbuffer::{Codec, FormatVersion, IntMap, MapBuffer, MapBufferBuilder, format};

const KEYS: usize = 1_000_000;
const VALUE_LEN: usize = 100;
/// Random lookups per run through the sequence: a power of two at least `KEYS`.
const LOOKUPS: usize = 1 << 20;
/// Keys per batch in the `get_many` and `contains_many` benches.
const BATCH: usize = 64;

/// A small, fast deterministic generator (SplitMix64), so the benches need no RNG crate.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// `KEYS` distinct random keys with random values, and a shuffled list of lookups among them.
fn workload() -> (Vec<(u64, Vec<u8>)>, Vec<u64>) {
    let mut rng = SplitMix(42);
    let mut keys: Vec<u64> = (0..KEYS * 11 / 10).map(|_| rng.next()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys.truncate(KEYS);
    let entries: Vec<(u64, Vec<u8>)> = keys
        .iter()
        .map(|&key| {
            let value = (0..VALUE_LEN).map(|_| rng.next() as u8).collect();
            (key, value)
        })
        .collect();
    let lookups = (0..LOOKUPS)
        .map(|_| keys[(rng.next() % keys.len() as u64) as usize])
        .collect();
    // Present the input unsorted, as a real caller would.
    let mut shuffled = entries;
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    (shuffled, lookups)
}

fn benches(c: &mut Criterion) {
    let (entries, lookups) = workload();
    let input_bytes: u64 = entries.iter().map(|(_, v)| v.len() as u64 + 8).sum();
    let bytes = MapBufferBuilder::new()
        .to_vec(entries.iter().map(|(k, v)| (*k, v)))
        .expect("building the benchmark map");

    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(input_bytes));
    for version in [FormatVersion::V1, FormatVersion::V0] {
        group.bench_function(BenchmarkId::new("1M x 100B", format!("v{version}")), |b| {
            b.iter(|| {
                MapBufferBuilder::new()
                    .format_version(version)
                    .to_vec(entries.iter().map(|(k, v)| (*k, v)))
                    .unwrap()
            })
        });
    }
    group.finish();

    let map = MapBuffer::from_bytes(&bytes[..]).unwrap();
    let unchecked = MapBuffer::from_bytes(&bytes[..])
        .unwrap()
        .with_crc_check(false);
    let mut group = c.benchmark_group("lookup 1M x 100B v1");
    let mut i = 0;
    group.bench_function("get", |b| {
        b.iter(|| {
            i = (i + 1) & (lookups.len() - 1);
            black_box(map.get(black_box(lookups[i])).unwrap());
        })
    });
    group.bench_function("get without CRC check", |b| {
        b.iter(|| {
            i = (i + 1) & (lookups.len() - 1);
            black_box(unchecked.get(black_box(lookups[i])).unwrap());
        })
    });
    group.bench_function("contains", |b| {
        b.iter(|| {
            i = (i + 1) & (lookups.len() - 1);
            black_box(map.contains(black_box(lookups[i])));
        })
    });
    group.bench_function("contains via slot-reader closure (no prefetch)", |b| {
        let index = &bytes[16..16 + 16 * KEYS];
        b.iter(|| {
            i = (i + 1) & (lookups.len() - 1);
            let key = black_box(lookups[i]);
            let found = format::eytzinger_find(KEYS, key, |slot| {
                let at = slot * 16;
                Ok::<_, ()>(u64::from_le_bytes(index[at..at + 8].try_into().unwrap()))
            });
            black_box(found.unwrap());
        })
    });
    // Batches: the searches of a batch run side by side, so their memory accesses overlap. Time per batch of 64.
    group.throughput(Throughput::Elements(BATCH as u64));
    let mut batch_at = 0;
    let mut next_batch = || {
        batch_at = (batch_at + BATCH) & (lookups.len() - 1);
        black_box(&lookups[batch_at..batch_at + BATCH])
    };
    group.bench_function("get_many (64 keys)", |b| {
        b.iter(|| black_box(map.get_many(next_batch()).unwrap()))
    });
    group.bench_function("contains_many (64 keys)", |b| {
        b.iter(|| black_box(map.contains_many(next_batch())))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("get absent", |b| {
        b.iter(|| {
            i = (i + 1) & (lookups.len() - 1);
            black_box(map.get(black_box(lookups[i] ^ 1)).unwrap());
        })
    });
    group.bench_function("open + get", |b| {
        b.iter(|| {
            i = (i + 1) & (lookups.len() - 1);
            let map = MapBuffer::from_bytes(black_box(&bytes[..])).unwrap();
            black_box(map.get(lookups[i]).unwrap().map(|v| v.len()));
        })
    });
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bytes).unwrap();
    group.bench_function("open file (mmap) + get", |b| {
        b.iter(|| {
            i = (i + 1) & (lookups.len() - 1);
            let map = MapBuffer::open(file.path()).unwrap();
            black_box(map.get(lookups[i]).unwrap().map(|v| v.len()));
        })
    });

    // A cache-resident map: the cost of the code itself, without memory latency.
    let small: Vec<(u64, Vec<u8>)> = entries[..1000].to_vec();
    let small_bytes = MapBufferBuilder::new()
        .to_vec(small.iter().map(|(k, v)| (*k, v)))
        .unwrap();
    let small_map = MapBuffer::from_bytes(&small_bytes[..]).unwrap();
    group.bench_function("get (1k-key map, in cache)", |b| {
        b.iter(|| {
            i = (i + 1) % small.len();
            black_box(small_map.get(black_box(small[i].0)).unwrap());
        })
    });
    group.finish();

    let mut group = c.benchmark_group("scan 1M x 100B v1");
    group.sample_size(10);
    group.throughput(Throughput::Elements(KEYS as u64));
    group.bench_function("iter_slot_order", |b| {
        b.iter(|| {
            map.iter_slot_order()
                .map(|e| e.unwrap().1.len())
                .sum::<usize>()
        })
    });
    group.bench_function("iter (key order)", |b| {
        b.iter(|| map.iter().map(|e| e.unwrap().1.len()).sum::<usize>())
    });
    group.bench_function("verify", |b| b.iter(|| map.verify().unwrap()));
    group.finish();

    let zstd_entries = &entries[..100_000];
    let zstd = MapBufferBuilder::new()
        .codec(Codec::Zstd)
        .to_vec(zstd_entries.iter().map(|(k, v)| (*k, v)))
        .unwrap();
    let zstd_map = MapBuffer::from_bytes(&zstd[..]).unwrap();
    let mut group = c.benchmark_group("zstd 100k x 100B v1");
    group.bench_function("get", |b| {
        b.iter(|| {
            i = (i + 1) % zstd_entries.len();
            black_box(zstd_map.get(black_box(zstd_entries[i].0)).unwrap());
        })
    });
    group.sample_size(10);
    group.bench_function("build", |b| {
        b.iter(|| {
            MapBufferBuilder::new()
                .codec(Codec::Zstd)
                .to_vec(zstd_entries.iter().map(|(k, v)| (*k, v)))
                .unwrap()
        })
    });
    group.finish();

    let intmap = IntMap::build(entries.iter().map(|(k, v)| (*k, v.len() as u64))).unwrap();
    let intmap = IntMap::from_bytes(&intmap[..]).unwrap();
    c.bench_function("intmap 1M get", |b| {
        b.iter(|| {
            i = (i + 1) & (lookups.len() - 1);
            black_box(intmap.get(black_box(lookups[i])));
        })
    });
    drop(bytes);

    // The machine's floor: one random read that depends on the previous one, in a buffer the size of the index
    // (16 MB) and of the whole map (116 MB). A lookup makes at least one such read in the index and one in the data.
    let mut group = c.benchmark_group("memory latency baseline");
    for (name, len) in [
        ("16 MiB", 16 << 20),
        ("116 MiB", 16 + KEYS * (16 + VALUE_LEN + 4)),
    ] {
        let chain = random_cycle(len / 64, &mut SplitMix(7));
        let mut at = 0;
        group.bench_function(BenchmarkId::new("dependent random read", name), |b| {
            b.iter(|| {
                at = chain[at];
                at
            })
        });
    }
    group.finish();
}

/// A buffer of `lines` cache lines (64 bytes) whose first word in each line is the index of the next line to
/// read, in a random order that visits every line once before repeating.
fn random_cycle(lines: usize, rng: &mut SplitMix) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lines).collect();
    for i in (1..lines).rev() {
        order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    let words = 64 / size_of::<usize>();
    let mut chain = vec![0; lines * words];
    for (i, &line) in order.iter().enumerate() {
        chain[line * words] = order[(i + 1) % lines] * words;
    }
    chain
}

criterion_group!(mapbuffer_benches, benches);
criterion_main!(mapbuffer_benches);

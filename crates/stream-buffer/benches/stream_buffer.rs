//! StreamBuffer speed: sequential 64 KiB reads through the buffer (in memory and spilled), random 4 KiB reads,
//! and readers of pulled bytes on one and two threads while another thread pulls.
//!
//! - `sequential_64k/stream_through/*` reads a fresh buffer front to back, so every byte is pulled, spooled and
//!   read; `sequential_64k/reread/*` reads bytes already pulled.
//! - `baseline_64k/*`, `random_4k/baseline_pread` and `concurrent_4k_reads_while_pulling/plain_slice/*` do the
//!   same work without the buffer (a `Vec`, fresh memory, a plain file), so that figures from the shared, noisy
//!   2-core machine can be read against what the machine gave at the time.
//!
//! The figure is for 1 GiB; here the sequential benches stream 256 MiB per iteration (throughput is set,
//! so criterion reports bytes per second). Before the benches, a probe streams 512 MiB through a buffer with the
//! default 5 MiB threshold and prints the process's peak RSS.

use std::hint::black_box;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use byteshelf_stream_buffer::{DEFAULT_MEMORY_THRESHOLD, StreamBuffer};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
const CHUNK: usize = 64 * KIB;
/// Bytes streamed per iteration of the sequential benches.
const STREAM: usize = 256 * MIB;

/// One 64 KiB chunk shared by every item of a source, so producing the stream costs nothing.
#[derive(Clone)]
struct Shared(Arc<[u8]>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

fn pattern() -> Shared {
    Shared((0..CHUNK).map(|i| (i * 7 + i / 251) as u8).collect())
}

/// `total` bytes in 64 KiB chunks (`total` a multiple of 64 KiB), or an endless stream whose chunks after the
/// first `fast` bytes each take `pause` to arrive, as from a network.
fn source(
    total: Option<usize>,
    fast: usize,
    pause: Duration,
) -> impl Iterator<Item = io::Result<Shared>> + Send {
    let chunk = pattern();
    let count = total.map_or(usize::MAX, |total| total / CHUNK);
    (0..count).map(move |i| {
        if i * CHUNK >= fast {
            thread::sleep(pause);
        }
        Ok(chunk.clone())
    })
}

fn buffer(total: usize, threshold: usize) -> StreamBuffer {
    StreamBuffer::builder()
        .memory_threshold(threshold)
        .build_from_chunks(source(Some(total), total, Duration::ZERO))
}

/// Reads the whole buffer front to back in 64 KiB reads, pulling as it goes.
fn read_sequentially(buffer: &StreamBuffer, out: &mut [u8]) -> u64 {
    let mut offset = 0;
    loop {
        let n = buffer.read_into(offset, out).unwrap();
        if n == 0 {
            return offset;
        }
        black_box(&out[..n]);
        offset += n as u64;
    }
}

fn sequential(c: &mut Criterion) {
    let mut group = c.benchmark_group("sequential_64k");
    group
        .sample_size(10)
        .throughput(Throughput::Bytes(STREAM as u64));
    let mut out = vec![0; CHUNK];
    for (tier, threshold) in [("in_memory", STREAM), ("spilled", DEFAULT_MEMORY_THRESHOLD)] {
        // Stream through a fresh buffer: every byte is pulled, spooled and read once.
        group.bench_function(BenchmarkId::new("stream_through", tier), |b| {
            b.iter(|| read_sequentially(&buffer(STREAM, threshold), &mut out));
        });
        // Read again what is already pulled.
        let pulled = buffer(STREAM, threshold);
        pulled.pull_all().unwrap();
        group.bench_function(BenchmarkId::new("reread", tier), |b| {
            b.iter(|| read_sequentially(&pulled, &mut out))
        });
    }
    group.finish();
}

/// What the hardware does without the buffer, to read the figures below on a noisy machine: 64 KiB copies out
/// of a 256 MiB `Vec`, 64 KiB copies into fresh memory, and 64 KiB positional reads of a 256 MiB file in the
/// page cache.
fn baseline(c: &mut Criterion) {
    let mut group = c.benchmark_group("baseline_64k");
    group
        .sample_size(10)
        .throughput(Throughput::Bytes(STREAM as u64));
    let chunk = pattern();
    let memory: Vec<u8> = chunk.0.iter().copied().cycle().take(STREAM).collect();
    let mut out = vec![0; CHUNK];
    group.bench_function("memcpy", |b| {
        b.iter(|| {
            for piece in memory.chunks(CHUNK) {
                out.copy_from_slice(piece);
                black_box(&out);
            }
        })
    });
    drop(memory);
    // The floor for streaming into memory: copying the stream into freshly allocated 64 KiB blocks, whose
    // first touch costs a page fault per 4 KiB.
    group.bench_function("copy_into_fresh_memory", |b| {
        b.iter(|| {
            let blocks: Vec<Box<[u8]>> = (0..STREAM / CHUNK)
                .map(|_| Box::from(&chunk.0[..]))
                .collect();
            black_box(blocks)
        })
    });
    let file = tempfile::tempfile().unwrap();
    for i in 0..STREAM / CHUNK {
        file.write_all_at(&chunk.0, (i * CHUNK) as u64).unwrap();
    }
    group.bench_function("pread", |b| {
        b.iter(|| {
            for i in 0..STREAM / CHUNK {
                file.read_exact_at(&mut out, (i * CHUNK) as u64).unwrap();
                black_box(&out);
            }
        })
    });
    group.finish();
}

/// Random offsets in `[from, to - 4 KiB)`, from a fixed xorshift sequence.
fn offsets(from: usize, to: usize, count: usize, seed: u64) -> Vec<u64> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            from as u64 + state % (to - from - 4 * KIB) as u64
        })
        .collect()
}

fn random_4k(c: &mut Criterion) {
    let mut group = c.benchmark_group("random_4k");
    group.throughput(Throughput::Elements(1));
    for (tier, threshold) in [("in_memory", STREAM), ("spilled", DEFAULT_MEMORY_THRESHOLD)] {
        let buffer = buffer(STREAM, threshold);
        buffer.pull_all().unwrap();
        let from = if threshold < STREAM { threshold } else { 0 };
        let offsets = offsets(from, STREAM, 1 << 16, 0x9E37_79B9_7F4A_7C15);
        let mut out = [0u8; 4 * KIB];
        let mut next = 0;
        group.bench_function(tier, |b| {
            b.iter(|| {
                next = (next + 1) % offsets.len();
                black_box(buffer.read_into(offsets[next], &mut out).unwrap())
            })
        });
    }
    // The floor for the spilled case: the same positional reads on a plain file in the page cache.
    let file = tempfile::tempfile().unwrap();
    let chunk = pattern();
    for i in 0..STREAM / CHUNK {
        file.write_all_at(&chunk.0, (i * CHUNK) as u64).unwrap();
    }
    let offsets = offsets(0, STREAM, 1 << 16, 0x9E37_79B9_7F4A_7C15);
    let mut out = [0u8; 4 * KIB];
    let mut next = 0;
    group.bench_function("baseline_pread", |b| {
        b.iter(|| {
            next = (next + 1) % offsets.len();
            file.read_exact_at(&mut out, offsets[next]).unwrap();
            black_box(&out);
        })
    });
    group.finish();
}

/// Wall time for `iters` batches of 4 KiB reads at `offsets`, split among `readers` threads.
fn timed_batches(
    iters: u64,
    readers: usize,
    offsets: &[u64],
    read: &(dyn Fn(u64, &mut [u8]) + Sync),
) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        thread::scope(|scope| {
            for part in offsets.chunks(offsets.len().div_ceil(readers)) {
                scope.spawn(move || {
                    let mut out = [0u8; 4 * KIB];
                    for &offset in part {
                        read(offset, &mut out);
                        black_box(&out);
                    }
                });
            }
        });
    }
    start.elapsed()
}

/// Readers of pulled bytes on 1 and 2 threads while a third thread is pulling (from a slow source, as from a
/// network: it holds the pulling turn almost all the time). Each iteration is a fixed batch of reads split
/// among the readers, so with scaling the two-reader time is half the one-reader time. `plain_slice` does the
/// same reads from a `Vec` with no buffer and no puller: what the machine allows at the moment.
fn concurrent_readers(c: &mut Criterion) {
    const PULLED: usize = 64 * MIB;
    const BATCH: usize = 20_000;
    let mut group = c.benchmark_group("concurrent_4k_reads_while_pulling");
    group.throughput(Throughput::Elements(BATCH as u64));
    let plain: Vec<u8> = pattern().0.iter().copied().cycle().take(PULLED).collect();
    let plain_offsets = offsets(0, PULLED, BATCH, 0xD1B5_4A32_D192_ED03);
    for readers in [1, 2] {
        group.bench_function(
            BenchmarkId::new("plain_slice", format!("{readers}_readers")),
            |b| {
                b.iter_custom(|iters| {
                    timed_batches(iters, readers, &plain_offsets, &|offset, out| {
                        let at = offset as usize;
                        out.copy_from_slice(&plain[at..at + out.len()]);
                    })
                });
            },
        );
    }
    drop(plain);
    for (tier, threshold) in [
        ("in_memory", 2 * PULLED),
        ("spilled", DEFAULT_MEMORY_THRESHOLD),
    ] {
        let buffer = StreamBuffer::builder()
            .memory_threshold(threshold)
            .build_from_chunks(source(None, PULLED, Duration::from_millis(2)));
        buffer.read(PULLED as u64 - 1, 1).unwrap();
        let from = if threshold < PULLED { threshold } else { 0 };
        let offsets = offsets(from, PULLED, BATCH, 0xD1B5_4A32_D192_ED03);
        let stop = AtomicBool::new(false);
        thread::scope(|scope| {
            let puller = scope.spawn(|| {
                let mut pulls = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    buffer.read(buffer.pulled(), 1).unwrap();
                    pulls += 1;
                }
                pulls
            });
            for readers in [1, 2] {
                group.bench_function(BenchmarkId::new(tier, format!("{readers}_readers")), |b| {
                    b.iter_custom(|iters| {
                        timed_batches(iters, readers, &offsets, &|offset, out| {
                            assert_eq!(buffer.read_into(offset, out).unwrap(), out.len());
                        })
                    });
                });
            }
            stop.store(true, Ordering::Relaxed);
            black_box(puller.join().unwrap());
        });
    }
    group.finish();
}

/// Streams 512 MiB through a buffer with the default threshold and prints the process's peak RSS.
fn report_peak_rss() {
    let before = peak_rss_kib();
    let buffer = buffer(512 * MIB, DEFAULT_MEMORY_THRESHOLD);
    let start = Instant::now();
    let streamed = read_sequentially(&buffer, &mut vec![0; CHUNK]);
    let elapsed = start.elapsed();
    eprintln!(
        "memory bound: streamed {} MiB with a {} MiB threshold in {elapsed:.2?}: memory_bytes() = {} KiB, peak RSS \
         {} MiB before, {} MiB after",
        streamed / MIB as u64,
        DEFAULT_MEMORY_THRESHOLD / MIB,
        buffer.memory_bytes() / KIB,
        before.map_or("?".into(), |kib| (kib / 1024).to_string()),
        peak_rss_kib().map_or("?".into(), |kib| (kib / 1024).to_string()),
    );
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

criterion_group!(benches, baseline, sequential, random_4k, concurrent_readers);

fn main() {
    report_peak_rss();
    benches();
    Criterion::default().configure_from_args().final_summary();
}

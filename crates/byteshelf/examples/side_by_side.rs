//! The Rust half of `cargo xtask bench`: measures byteshelf and the physical baselines on generated data, and
//! writes that data to a work directory so that the Python references can be measured on the same bytes.
//!
//! Usage: `side_by_side --work DIR [--quick]`. Prints one JSON object per line:
//! `{"id": "...", "group": "...", "name": "...", "unit": "...", "ours": x, "baseline": y, "baseline_name": "..."}`,
//! where `baseline` is optional and `id` is what the Python scripts of `xtask/bench/` report their figures under. Units ending in `/s` are throughputs (higher is better), the others are times
//! (lower is better). Every figure is the median of several repetitions.
//!
//! Files written to DIR (all integers little-endian): `params.txt` (sizes), `records.bin` (N records of
//! `RECORD_LEN` bytes back to back), `indices.u64` (N random record indices), `map_keys.u64` (map keys, below 2^63
//! so that Python can look them up), `map_lookups.u64`, `sparse_offsets.u64` (region offsets in insertion order),
//! `stream_offsets.u64` (offsets of random 4 KiB reads).

use std::fs::{self, File};
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use byteshelf::mapbuffer::{MapBuffer, MapBufferBuilder};
use byteshelf::roxxel::{Dataset, WriterOptions};
use byteshelf::sparse_buffer::{ReadAt, SparseBuffer};
use byteshelf::stream_buffer::StreamBuffer;

const RECORD_LEN: usize = 100;
const REGION_LEN: usize = 4096;
const STREAM_CHUNK: usize = 64 * 1024;
const STREAM_READ: usize = 4096;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Sizes of one run.
struct Params {
    records: usize,
    map_keys: usize,
    regions: usize,
    reverse_bytes: usize,
    stream_reads: usize,
    repetitions: usize,
}

impl Params {
    fn new(quick: bool) -> Self {
        if quick {
            Params {
                records: 200_000,
                map_keys: 100_000,
                regions: 2_000,
                reverse_bytes: 8 << 20,
                stream_reads: 10_000,
                repetitions: 3,
            }
        } else {
            Params {
                records: 1_000_000,
                map_keys: 1_000_000,
                regions: 10_000,
                reverse_bytes: 32 << 20,
                stream_reads: 100_000,
                repetitions: 5,
            }
        }
    }
}

/// A small deterministic generator (xorshift64*), so that runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One measured figure, printed as a JSON line.
struct Figure<'a> {
    id: &'a str,
    group: &'a str,
    name: String,
    unit: &'a str,
    ours: f64,
    baseline: Option<(&'a str, f64)>,
}

impl Figure<'_> {
    fn print(&self) {
        let mut line = format!(
            "{{\"id\": \"{}\", \"group\": \"{}\", \"name\": \"{}\", \"unit\": \"{}\", \"ours\": {:.6}",
            self.id, self.group, self.name, self.unit, self.ours
        );
        if let Some((name, value)) = self.baseline {
            line.push_str(&format!(
                ", \"baseline_name\": \"{name}\", \"baseline\": {value:.6}"
            ));
        }
        line.push('}');
        println!("{line}");
    }
}

/// Runs `f` `repetitions` times and returns the median duration.
fn median(repetitions: usize, mut f: impl FnMut() -> BoxResult<()>) -> BoxResult<Duration> {
    let mut times = Vec::with_capacity(repetitions);
    for _ in 0..repetitions {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn per_op_ns(time: Duration, ops: usize) -> f64 {
    time.as_secs_f64() * 1e9 / ops as f64
}

fn mb_per_s(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / 1e6 / time.as_secs_f64()
}

fn write_u64s(path: &Path, values: impl IntoIterator<Item = u64>) -> BoxResult<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for value in values {
        out.write_all(&value.to_le_bytes())?;
    }
    out.into_inner()?.sync_all()?;
    Ok(())
}

fn main() -> BoxResult<()> {
    let mut work = None;
    let mut quick = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--work" => work = args.next().map(PathBuf::from),
            "--quick" => quick = true,
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: side_by_side --work DIR [--quick]"
                )
                .into());
            }
        }
    }
    let work = work.ok_or("usage: side_by_side --work DIR [--quick]")?;
    fs::create_dir_all(&work)?;
    let params = Params::new(quick);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let mut records = vec![0u8; params.records * RECORD_LEN];
    for chunk in records.chunks_mut(8) {
        let word = rng.next().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    fs::write(work.join("records.bin"), &records)?;
    fs::write(
        work.join("params.txt"),
        format!(
            "records={}\nrecord_len={RECORD_LEN}\nmap_keys={}\nregions={}\nregion_len={REGION_LEN}\n\
             reverse_bytes={}\nstream_chunk={STREAM_CHUNK}\nstream_read={STREAM_READ}\nstream_reads={}\n\
             repetitions={}\n",
            params.records,
            params.map_keys,
            params.regions,
            params.reverse_bytes,
            params.stream_reads,
            params.repetitions
        ),
    )?;

    roxxel(&work, &params, &records, &mut rng)?;
    mapbuffer(&work, &params, &records, &mut rng)?;
    sparse_buffer(&work, &params, &records, &mut rng)?;
    stream_buffer(&work, &params, &records, &mut rng)?;
    memcpy(&params, &records)?;
    Ok(())
}

fn record(records: &[u8], i: usize) -> &[u8] {
    &records[i * RECORD_LEN..(i + 1) * RECORD_LEN]
}

fn roxxel(work: &Path, params: &Params, records: &[u8], rng: &mut Rng) -> BoxResult<()> {
    let n = params.records;
    let path = work.join("ours.rox");
    let write = median(params.repetitions, || {
        let _ = fs::remove_file(&path);
        let mut writer = WriterOptions::new().open(&path)?;
        for i in 0..n {
            writer.push(record(records, i))?;
        }
        writer.finish()?;
        Ok(())
    })?;
    // The same bytes (payload, index, footer) through a plain BufWriter, then sync_all: the disk's own speed.
    let plain = work.join("plain.bin");
    let baseline = median(params.repetitions, || {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&plain)?);
        out.write_all(records)?;
        for i in 1..=n {
            out.write_all(&((i * RECORD_LEN) as i64).to_le_bytes())?;
        }
        out.write_all(&(n as i64).to_le_bytes())?;
        out.write_all(&((n * RECORD_LEN) as i64).to_le_bytes())?;
        out.write_all(b"ROXXEL01")?;
        out.into_inner()?.sync_all()?;
        Ok(())
    })?;
    fs::remove_file(&plain)?;
    Figure {
        id: "roxxel.write",
        group: "roxxel",
        name: format!("write {n} x {RECORD_LEN} B"),
        unit: "MB/s",
        ours: mb_per_s(records.len(), write),
        baseline: Some(("BufWriter + sync_all", mb_per_s(records.len(), baseline))),
    }
    .print();

    let indices: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
    write_u64s(&work.join("indices.u64"), indices.iter().map(|&i| i as u64))?;
    let dataset = Dataset::open(path.as_path())?;
    let get = median(params.repetitions, || {
        let mut sum = 0usize;
        for &i in &indices {
            sum += dataset.get(i as u64)?[0] as usize;
        }
        black_box(sum);
        Ok(())
    })?;
    let mapped = fs::read(&path)?;
    let raw = median(params.repetitions, || {
        let mut sum = 0usize;
        for &i in &indices {
            sum += black_box(&mapped[i * RECORD_LEN..(i + 1) * RECORD_LEN])[0] as usize;
        }
        black_box(sum);
        Ok(())
    })?;
    Figure {
        id: "roxxel.get",
        group: "roxxel",
        name: format!("random get ({n} records)"),
        unit: "ns/op",
        ours: per_op_ns(get, n),
        baseline: Some(("raw slice of the payload", per_op_ns(raw, n))),
    }
    .print();

    let scan = median(params.repetitions, || {
        let mut sum = 0usize;
        for rec in dataset.iter() {
            let rec = rec?;
            sum += rec[0] as usize + rec.len();
        }
        black_box(sum);
        Ok(())
    })?;
    Figure {
        id: "roxxel.scan",
        group: "roxxel",
        name: format!("sequential scan ({n} records)"),
        unit: "MB/s",
        ours: mb_per_s(records.len(), scan),
        baseline: None,
    }
    .print();
    Ok(())
}

fn mapbuffer(work: &Path, params: &Params, records: &[u8], rng: &mut Rng) -> BoxResult<()> {
    let n = params.map_keys;
    let mut keys: Vec<u64> = (0..n).map(|_| rng.next() >> 1).collect();
    keys.sort_unstable();
    keys.dedup();
    while keys.len() < n {
        keys.push(rng.next() >> 1);
        keys.sort_unstable();
        keys.dedup();
    }
    // Insertion order is shuffled, as a dict built from a random source would be.
    for i in (1..keys.len()).rev() {
        keys.swap(i, rng.below(i + 1));
    }
    write_u64s(&work.join("map_keys.u64"), keys.iter().copied())?;
    let value_bytes = n * RECORD_LEN;
    let builder = MapBufferBuilder::new();
    let mut built = Vec::new();
    let build = median(params.repetitions, || {
        built = builder.to_vec(
            keys.iter()
                .enumerate()
                .map(|(i, &key)| (key, record(records, i % params.records))),
        )?;
        Ok(())
    })?;
    Figure {
        id: "mapbuffer.build",
        group: "mapbuffer",
        name: format!("build {n} keys x {RECORD_LEN} B (v1, crc32c)"),
        unit: "MB/s",
        ours: mb_per_s(value_bytes, build),
        baseline: None,
    }
    .print();

    let lookups: Vec<u64> = (0..n).map(|_| keys[rng.below(n)]).collect();
    write_u64s(&work.join("map_lookups.u64"), lookups.iter().copied())?;
    let map = MapBuffer::from_bytes(built.as_slice())?;
    let get = median(params.repetitions, || {
        let mut sum = 0usize;
        for &key in &lookups {
            sum += map.get(key)?.ok_or("a present key was not found")?.len();
        }
        black_box(sum);
        Ok(())
    })?;
    // The machine's floor for one lookup: a random read that depends on the previous one, in a buffer the size of
    // the map. A lookup makes at least one in the index and, depending on it, one in the values.
    let chain = random_cycle(built.len() / 64, rng);
    let mut at = 0;
    let latency = median(params.repetitions, || {
        for _ in 0..n {
            at = chain[at];
        }
        black_box(at);
        Ok(())
    })?;
    let latency = (
        "one dependent random read in a buffer of the map's size",
        per_op_ns(latency, n),
    );
    Figure {
        id: "mapbuffer.get",
        group: "mapbuffer",
        name: format!("random get ({n} keys, crc checked)"),
        unit: "ns/op",
        ours: per_op_ns(get, n),
        baseline: Some(latency),
    }
    .print();

    let get_many = median(params.repetitions, || {
        let mut sum = 0usize;
        for batch in lookups.chunks(GET_MANY_BATCH) {
            for value in map.get_many(batch)? {
                sum += value.ok_or("a present key was not found")?.len();
            }
        }
        black_box(sum);
        Ok(())
    })?;
    Figure {
        id: "mapbuffer.get_many",
        group: "mapbuffer",
        name: format!("random get in batches of {GET_MANY_BATCH} (get_many), per key"),
        unit: "ns/op",
        ours: per_op_ns(get_many, n),
        baseline: Some(latency),
    }
    .print();
    Ok(())
}

/// Keys per `get_many` call in the batched MapBuffer figure.
const GET_MANY_BATCH: usize = 64;

/// `lines` cache lines whose first word is the index of the next word to read, in a random order that visits every
/// line once before repeating: a chain of dependent reads that no prefetcher can guess.
fn random_cycle(lines: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..lines).collect();
    for i in (1..lines).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let words = 64 / size_of::<usize>();
    let mut chain = vec![0; lines * words];
    for (i, &line) in order.iter().enumerate() {
        chain[line * words] = order[(i + 1) % lines] * words;
    }
    chain
}

fn sparse_buffer(work: &Path, params: &Params, records: &[u8], rng: &mut Rng) -> BoxResult<()> {
    let n = params.regions;
    let file_size = (2 * n * REGION_LEN) as u64;
    // Disjoint regions with a gap after each, inserted in random order.
    let mut offsets: Vec<u64> = (0..n).map(|i| (2 * i * REGION_LEN) as u64).collect();
    for i in (1..n).rev() {
        offsets.swap(i, rng.below(i + 1));
    }
    write_u64s(&work.join("sparse_offsets.u64"), offsets.iter().copied())?;
    let data = &records[..REGION_LEN];
    let mut buffer = SparseBuffer::new(file_size);
    let add = median(params.repetitions, || {
        buffer = SparseBuffer::new(file_size);
        for &offset in &offsets {
            buffer.add_region_from_slice(offset, data)?;
        }
        Ok(())
    })?;
    Figure {
        id: "sparse.add",
        group: "sparse-buffer",
        name: format!("add_region ({n} disjoint 4 KiB regions, random order)"),
        unit: "ns/op",
        ours: per_op_ns(add, n),
        baseline: None,
    }
    .print();

    let mut out = vec![0u8; REGION_LEN];
    let read = median(params.repetitions, || {
        for &offset in &offsets {
            match buffer.read_at(offset, &mut out) {
                ReadAt::Data(len) if len == REGION_LEN => {}
                other => return Err(format!("read_at({offset}) gave {other:?}").into()),
            }
        }
        Ok(())
    })?;
    Figure {
        id: "sparse.read",
        group: "sparse-buffer",
        name: format!("4 KiB read ({n} regions)"),
        unit: "ns/op",
        ours: per_op_ns(read, n),
        baseline: None,
    }
    .print();

    let total = params.reverse_bytes;
    let chunk = STREAM_CHUNK;
    let source = &records[..total.min(records.len())];
    let reverse = median(params.repetitions, || {
        let mut buffer = SparseBuffer::new(total as u64);
        for start in (0..total).step_by(chunk).rev() {
            let from = start % (source.len() - chunk);
            buffer.add_region_from_slice(start as u64, &source[from..from + chunk])?;
        }
        black_box(buffer.cached_bytes());
        Ok(())
    })?;
    Figure {
        id: "sparse.reverse",
        group: "sparse-buffer",
        name: format!(
            "append {} MiB as 64 KiB regions, reverse order",
            total >> 20
        ),
        unit: "MB/s",
        ours: mb_per_s(total, reverse),
        baseline: None,
    }
    .print();
    Ok(())
}

fn stream_buffer(work: &Path, params: &Params, records: &[u8], rng: &mut Rng) -> BoxResult<()> {
    let len = records.len();
    let offsets: Vec<u64> = (0..params.stream_reads)
        .map(|_| rng.below(len - STREAM_READ) as u64)
        .collect();
    write_u64s(&work.join("stream_offsets.u64"), offsets.iter().copied())?;
    // The stream hands out owned chunks, as a network body does.
    let shared = Arc::new(records.to_vec());
    let chunks = || {
        let shared = Arc::clone(&shared);
        (0..len).step_by(STREAM_CHUNK).map(move |start| {
            Ok::<_, std::io::Error>(shared[start..(start + STREAM_CHUNK).min(len)].to_vec())
        })
    };
    let mut buffer = StreamBuffer::from_chunks(chunks());
    let sequential = median(params.repetitions, || {
        buffer = StreamBuffer::from_chunks(chunks());
        let mut out = vec![0u8; STREAM_CHUNK];
        let mut offset = 0u64;
        loop {
            let got = buffer.read_into(offset, &mut out)?;
            if got == 0 {
                break;
            }
            offset += got as u64;
        }
        if offset != len as u64 {
            return Err(format!("streamed {offset} bytes of {len}").into());
        }
        Ok(())
    })?;
    Figure {
        id: "stream.sequential",
        group: "stream-buffer",
        name: format!(
            "sequential 64 KiB reads while pulling, {} MB spilled past 5 MiB",
            len / 1_000_000
        ),
        unit: "MB/s",
        ours: mb_per_s(len, sequential),
        baseline: None,
    }
    .print();

    let mut out = vec![0u8; STREAM_READ];
    let random = median(params.repetitions, || {
        for &offset in &offsets {
            if buffer.read_into(offset, &mut out)? != STREAM_READ {
                return Err(format!("short read at {offset}").into());
            }
        }
        Ok(())
    })?;
    Figure {
        id: "stream.random",
        group: "stream-buffer",
        name: "random 4 KiB read of spilled data".into(),
        unit: "ns/op",
        ours: per_op_ns(random, offsets.len()),
        baseline: None,
    }
    .print();
    Ok(())
}

fn memcpy(params: &Params, records: &[u8]) -> BoxResult<()> {
    let mut copy = vec![0u8; records.len()];
    let time = median(params.repetitions, || {
        copy.copy_from_slice(black_box(records));
        black_box(&copy);
        Ok(())
    })?;
    Figure {
        id: "baseline.memcpy",
        group: "baseline",
        name: format!("memcpy of {} MB", records.len() / 1_000_000),
        unit: "MB/s",
        ours: mb_per_s(records.len(), time),
        baseline: None,
    }
    .print();
    Ok(())
}

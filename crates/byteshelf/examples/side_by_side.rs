//! The Rust half of `cargo xtask bench`: measures byteshelf and the physical baselines on generated data, and
//! writes that data to a work directory so that the Python references can be measured on the same bytes.
//!
//! Usage: `side_by_side --work DIR [--quick]`. Prints one JSON object per line:
//! `{"id": "...", "group": "...", "name": "...", "unit": "...", "ours": x, "peer_name": "...", "peer": y,
//! "baseline_name": "...", "baseline": z}`, where `peer` (the best Rust crate for the job, measured on the same
//! data) and `baseline` (the machine's limit for the same work: a plain mmap, a plain pread, a dependent memory
//! read...) are optional, and `id` is what the Python scripts of `xtask/bench/` report their figures under. Units
//! ending in `/s` are throughputs (higher is better), the others are times or sizes (lower is better). Every figure
//! is the median of several repetitions.
//!
//! Every lookup draws its probes at random over the whole structure: a random sequence at least as long as the
//! structure has entries, consumed in order, never a small set cycled in cache.
//!
//! Files written to DIR (all integers little-endian): `params.txt` (sizes), `records.bin` (N records of
//! `RECORD_LEN` bytes back to back), `indices.u64` (N random record indices), `map_keys.u64` (map keys, below 2^63
//! so that Python can look them up), `map_lookups.u64`, `sparse_offsets.u64` (region offsets in insertion order),
//! `stream_offsets.u64` (offsets of random 4 KiB reads). It also holds byteshelf's and the peers' files
//! (`ours.rox`, `ours.spix`, `fst.map`).

use std::collections::HashMap;
use std::fs::{self, File};
use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use byteshelf::mapbuffer::{Codec, MapBuffer, MapBufferBuilder};
use byteshelf::roxxel::{Dataset, WriterOptions};
use byteshelf::sparse_buffer::{ReadAt, SparseBuffer};
use byteshelf::sparse_index::{Format, SparseIndexRef, SparseIndexWriter};
use byteshelf::stream_buffer::StreamBuffer;
use fst::{IntoStreamer, Streamer};
use memmap2::Mmap;
use rangemap::RangeMap;

const RECORD_LEN: usize = 100;
const REGION_LEN: usize = 4096;
const STREAM_CHUNK: usize = 64 * 1024;
const STREAM_READ: usize = 4096;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Sizes of one run.
struct Params {
    records: usize,
    map_keys: usize,
    index_keys: usize,
    regions: usize,
    many_regions: usize,
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
                index_keys: 200_000,
                regions: 2_000,
                many_regions: 20_000,
                reverse_bytes: 8 << 20,
                stream_reads: 10_000,
                repetitions: 3,
            }
        } else {
            Params {
                records: 1_000_000,
                map_keys: 1_000_000,
                index_keys: 1_000_000,
                regions: 10_000,
                many_regions: 100_000,
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
    /// The best Rust crate for the same job, on the same data: its name (and what of it is measured), its figure.
    peer: Option<(&'a str, f64)>,
    /// The machine's limit for the same work: exactly what it does, its figure.
    baseline: Option<(&'a str, f64)>,
}

impl Figure<'_> {
    fn print(&self) {
        let mut line = format!(
            "{{\"id\": \"{}\", \"group\": \"{}\", \"name\": \"{}\", \"unit\": \"{}\", \"ours\": {:.6}",
            self.id, self.group, self.name, self.unit, self.ours
        );
        for (kind, figure) in [("peer", self.peer), ("baseline", self.baseline)] {
            if let Some((name, value)) = figure {
                line.push_str(&format!(
                    ", \"{kind}_name\": \"{name}\", \"{kind}\": {value:.6}"
                ));
            }
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
    Ok(middle(times))
}

/// The median of `times` (not empty).
fn middle(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Runs `ours` and `theirs` alternately, `repetitions` times each, and returns the median duration of each: on a
/// shared, noisy machine a slow spell then falls on both sides alike instead of on whichever ran during it. Each
/// timed run follows an untimed run of the same side, so each side is measured with its own data as warm in the
/// caches as in repetitions back to back.
fn median_pair(
    repetitions: usize,
    mut ours: impl FnMut() -> BoxResult<()>,
    mut theirs: impl FnMut() -> BoxResult<()>,
) -> BoxResult<(Duration, Duration)> {
    let mut times = (
        Vec::with_capacity(repetitions),
        Vec::with_capacity(repetitions),
    );
    for _ in 0..repetitions {
        ours()?;
        let start = Instant::now();
        ours()?;
        times.0.push(start.elapsed());
        theirs()?;
        let start = Instant::now();
        theirs()?;
        times.1.push(start.elapsed());
    }
    Ok((middle(times.0), middle(times.1)))
}

/// Repetitions of the short rows measured with [`median_pair`] (a few milliseconds to a few hundred each).
fn paired_repetitions(params: &Params) -> usize {
    4 * params.repetitions + 1
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

/// Maps `path` read-only: the memmap2 map the baselines and peers read, as byteshelf's own readers map files.
fn map_file(path: &Path) -> BoxResult<Mmap> {
    let file = File::open(path)?;
    // SAFETY: the file was written by this process in its work directory and nothing writes to it, truncates it
    // or removes it while the map lives.
    let map = unsafe { Mmap::map(&file)? };
    Ok(map)
}

/// The sum of every byte: what reading all the bytes costs at least (the same function on both sides).
fn sum_bytes(bytes: &[u8]) -> u64 {
    bytes.iter().map(|&b| u64::from(b)).sum()
}

/// The wrapping sum of the 8-byte words (and trailing bytes): reading every byte at the memory's speed.
fn sum_words(bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    let mut sum = 0u64;
    for word in &mut words {
        sum = sum.wrapping_add(u64::from_le_bytes(word.try_into().unwrap_or_default()));
    }
    words
        .remainder()
        .iter()
        .fold(sum, |sum, &b| sum.wrapping_add(u64::from(b)))
}

/// A positional read of exactly `buf.len()` bytes (`pread` on Unix).
#[cfg(unix)]
fn pread(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// A positional read of exactly `buf.len()` bytes (`seek_read` on Windows).
#[cfg(windows)]
fn pread(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        match std::os::windows::fs::FileExt::seek_read(
            file,
            &mut buf[done..],
            offset + done as u64,
        )? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => done += n,
        }
    }
    Ok(())
}

fn main() -> BoxResult<()> {
    let mut work = None;
    let mut quick = false;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--work" => work = args.next().map(PathBuf::from),
            "--quick" => quick = true,
            "--only" => only = args.next(),
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: side_by_side --work DIR [--quick] [--only GROUP]"
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

    // `--only GROUP` runs one group's rows (roxxel, mapbuffer, sparse_index, sparse, stream, baseline), for working
    // on one of them; `cargo xtask bench` always runs them all.
    let wanted = |group: &str| only.as_deref().is_none_or(|only| only == group);
    if wanted("roxxel") {
        roxxel(&work, &params, &records, &mut rng)?;
    }
    if wanted("mapbuffer") {
        mapbuffer(&work, &params, &records, &mut rng)?;
    }
    if wanted("sparse_index") {
        sparse_index(&work, &params, &mut rng)?;
    }
    if wanted("sparse") {
        sparse_buffer(&work, &params, &records, &mut rng)?;
    }
    if wanted("stream") {
        stream_buffer(&work, &params, &records, &mut rng)?;
    }
    if wanted("baseline") {
        memcpy(&params, &records)?;
    }
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
        peer: None,
        baseline: Some(("BufWriter + sync_all", mb_per_s(records.len(), baseline))),
    }
    .print();

    let indices: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
    write_u64s(&work.join("indices.u64"), indices.iter().map(|&i| i as u64))?;
    let dataset = Dataset::open(path.as_path())?;
    // The plain way to read the same file: a memmap2 map, the index decoded once into a Vec<u64> of record ends,
    // records sliced straight out of the map (Rust's bounds checks only).
    let (map, ends) = map_and_decode_index(&path)?;
    // One closure for both rows below, so both compare with the very same machine code.
    let raw_get = || {
        let mut sum = 0usize;
        for &i in &indices {
            let start = if i == 0 { 0 } else { ends[i - 1] as usize };
            sum += map[start..ends[i] as usize][0] as usize;
        }
        black_box(sum);
        Ok(())
    };
    let (get, raw) = median_pair(
        paired_repetitions(params),
        || {
            let mut sum = 0usize;
            for &i in &indices {
                sum += dataset.get(i as u64)?[0] as usize;
            }
            black_box(sum);
            Ok(())
        },
        raw_get,
    )?;
    Figure {
        id: "roxxel.get",
        group: "roxxel",
        name: format!("random get, first byte ({n} x {RECORD_LEN} B)"),
        unit: "ns/op",
        ours: per_op_ns(get, n),
        peer: None,
        baseline: Some((
            "memmap2 + index copied into a Vec<u64>, slicing directly",
            per_op_ns(raw, n),
        )),
    }
    .print();
    // The same gets through `Dataset::records()`, the handle for loops of gets: it holds the payload and offsets
    // by value, so the loop keeps them in registers as the hand-written loop does (`get` on `&Dataset` reloads
    // them on every call, see `Dataset::records`).
    let (get_records, raw) = median_pair(
        paired_repetitions(params),
        || {
            let records = dataset.records();
            let mut sum = 0usize;
            for &i in &indices {
                sum += records.get(i as u64)?[0] as usize;
            }
            black_box(sum);
            Ok(())
        },
        raw_get,
    )?;
    Figure {
        id: "roxxel.get_records",
        group: "roxxel",
        name: format!("random get through records(), first byte ({n} x {RECORD_LEN} B)"),
        unit: "ns/op",
        ours: per_op_ns(get_records, n),
        peer: None,
        baseline: Some((
            "memmap2 + index copied into a Vec<u64>, slicing directly",
            per_op_ns(raw, n),
        )),
    }
    .print();

    let (scan, loop_scan) = median_pair(
        paired_repetitions(params),
        || {
            let mut sum = 0usize;
            for rec in dataset.iter() {
                let rec = rec?;
                sum += rec[0] as usize + rec.len();
            }
            black_box(sum);
            Ok(())
        },
        || {
            let mut sum = 0usize;
            let mut start = 0;
            for &end in &ends {
                let rec = &map[start..end as usize];
                sum += rec[0] as usize + rec.len();
                start = end as usize;
            }
            black_box(sum);
            Ok(())
        },
    )?;
    Figure {
        id: "roxxel.scan",
        group: "roxxel",
        name: format!("iter, first byte + len ({n} x {RECORD_LEN} B)"),
        unit: "MB/s",
        ours: mb_per_s(records.len(), scan),
        peer: None,
        baseline: Some((
            "hand-written loop over the same memmap2 map and Vec<u64> index",
            mb_per_s(records.len(), loop_scan),
        )),
    }
    .print();

    let payload = records.len();
    let scan_dataset_sum = || {
        let mut sum = 0u64;
        for rec in dataset.iter() {
            sum += sum_bytes(rec?);
        }
        black_box(sum);
        Ok(())
    };
    let (scan_sum, plain_sum) = median_pair(paired_repetitions(params), scan_dataset_sum, || {
        black_box(sum_bytes(&map[..payload]));
        Ok(())
    })?;
    Figure {
        id: "roxxel.scan_sum",
        group: "roxxel",
        name: format!("iter, every byte summed ({n} x {RECORD_LEN} B)"),
        unit: "MB/s",
        ours: mb_per_s(records.len(), scan_sum),
        peer: None,
        baseline: Some((
            "one sum over the memmap2-mapped payload",
            mb_per_s(records.len(), plain_sum),
        )),
    }
    .print();
    // The same per-record sums by hand: what summing record by record costs, whatever walks the records (the one
    // sum above runs across record boundaries, which no reader of separate records can).
    let (scan_sum_records, loop_sum) =
        median_pair(paired_repetitions(params), scan_dataset_sum, || {
            let mut sum = 0u64;
            let mut start = 0;
            for &end in &ends {
                sum += sum_bytes(&map[start..end as usize]);
                start = end as usize;
            }
            black_box(sum);
            Ok(())
        })?;
    Figure {
        id: "roxxel.scan_sum_loop",
        group: "roxxel",
        name: format!("iter, every byte summed record by record ({n} x {RECORD_LEN} B)"),
        unit: "MB/s",
        ours: mb_per_s(records.len(), scan_sum_records),
        peer: None,
        baseline: Some((
            "hand-written loop summing each record of the same memmap2 map and Vec<u64> index",
            mb_per_s(records.len(), loop_sum),
        )),
    }
    .print();
    Ok(())
}

/// Maps a one-shard Roxxel file with memmap2 and decodes its index (record end offsets, after the payload) into a
/// Vec<u64>, reading the footer (ROXXEL01: 24 bytes, ROXXEL02: 32; record count then payload size) by hand.
fn map_and_decode_index(path: &Path) -> BoxResult<(Mmap, Vec<u64>)> {
    let map = map_file(path)?;
    let footer_len = match map.get(map.len().saturating_sub(8)..) {
        Some(b"ROXXEL01") => 24,
        Some(b"ROXXEL02") => 32,
        _ => return Err("not a Roxxel file".into()),
    };
    let footer = map.len() - footer_len;
    let word =
        |at: usize| -> BoxResult<u64> { Ok(u64::from_le_bytes(map[at..at + 8].try_into()?)) };
    let records = usize::try_from(word(footer)?)?;
    let payload = usize::try_from(word(footer + 8)?)?;
    if payload + 8 * records != footer {
        return Err("Roxxel footer does not match the file size".into());
    }
    let ends = map[payload..footer]
        .chunks_exact(8)
        .map(|chunk| chunk.try_into().map(u64::from_le_bytes))
        .collect::<Result<Vec<u64>, _>>()?;
    Ok((map, ends))
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
        peer: None,
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
        name: format!("random get ({n} keys x {RECORD_LEN} B, v1, crc checked)"),
        unit: "ns/op",
        ours: per_op_ns(get, n),
        peer: None,
        baseline: Some(latency),
    }
    .print();
    // The floor of this format: a value's place is known only once its index entry is read, so a lookup makes at
    // least two dependent random reads (the index entry, then the value), however the search reaches the entry.
    let latency2 = median(params.repetitions, || {
        for _ in 0..2 * n {
            at = chain[at];
        }
        black_box(at);
        Ok(())
    })?;
    Figure {
        id: "mapbuffer.get_two_reads",
        group: "mapbuffer",
        name: format!(
            "random get ({n} keys x {RECORD_LEN} B, v1, crc checked) vs this format's floor"
        ),
        unit: "ns/op",
        ours: per_op_ns(get, n),
        peer: None,
        baseline: Some((
            "two dependent random reads (index entry, then value) in a buffer of the map's size",
            per_op_ns(latency2, n),
        )),
    }
    .print();
    // What software prefetching buys: the same lookups on the same map with it off.
    let unprefetched = map.clone().with_prefetch(false);
    let get_no_prefetch = median(params.repetitions, || {
        let mut sum = 0usize;
        for &key in &lookups {
            sum += unprefetched
                .get(key)?
                .ok_or("a present key was not found")?
                .len();
        }
        black_box(sum);
        Ok(())
    })?;
    Figure {
        id: "mapbuffer.get_no_prefetch",
        group: "mapbuffer",
        name: format!(
            "random get with prefetching off ({n} keys x {RECORD_LEN} B, v1, crc checked)"
        ),
        unit: "ns/op",
        ours: per_op_ns(get_no_prefetch, n),
        peer: None,
        baseline: Some(latency),
    }
    .print();

    // The same keys and values in memory, in the standard library's map (SipHash), one get per key.
    let hash_map: HashMap<u64, Vec<u8>> = keys
        .iter()
        .enumerate()
        .map(|(i, &key)| (key, record(records, i % params.records).to_vec()))
        .collect();
    let (get_many, hash_get) = median_pair(
        paired_repetitions(params),
        || {
            let mut sum = 0usize;
            for batch in lookups.chunks(GET_MANY_BATCH) {
                for value in map.get_many(batch)? {
                    let value = value.ok_or("a present key was not found")?;
                    sum += value[0] as usize + value.len();
                }
            }
            black_box(sum);
            Ok(())
        },
        || {
            let mut sum = 0usize;
            for key in &lookups {
                let value = hash_map.get(key).ok_or("a present key was not found")?;
                sum += value[0] as usize + value.len();
            }
            black_box(sum);
            Ok(())
        },
    )?;
    drop(hash_map);
    Figure {
        id: "mapbuffer.get_many",
        group: "mapbuffer",
        name: format!(
            "random get in batches of {GET_MANY_BATCH} (get_many), first byte + len, per key ({n} keys)"
        ),
        unit: "ns/op",
        ours: per_op_ns(get_many, n),
        peer: Some((
            "std HashMap<u64, Vec<u8>> in memory, one get per key",
            per_op_ns(hash_get, n),
        )),
        baseline: Some(latency),
    }
    .print();
    let get_many_no_prefetch = median(params.repetitions, || {
        let mut sum = 0usize;
        for batch in lookups.chunks(GET_MANY_BATCH) {
            for value in unprefetched.get_many(batch)? {
                let value = value.ok_or("a present key was not found")?;
                sum += value[0] as usize + value.len();
            }
        }
        black_box(sum);
        Ok(())
    })?;
    Figure {
        id: "mapbuffer.get_many_no_prefetch",
        group: "mapbuffer",
        name: format!(
            "random get in batches of {GET_MANY_BATCH} (get_many) with prefetching off, first byte + len, per key \
             ({n} keys)"
        ),
        unit: "ns/op",
        ours: per_op_ns(get_many_no_prefetch, n),
        peer: None,
        baseline: Some(latency),
    }
    .print();
    // The uncompressed map's memory is given back before the compressed one is built.
    drop(built);

    // Compressed values: every get decompresses one zstd frame.
    let zstd_map = MapBuffer::from_bytes(
        MapBufferBuilder::new().codec(Codec::Zstd).to_vec(
            keys.iter()
                .enumerate()
                .map(|(i, &key)| (key, record(records, i % params.records))),
        )?,
    )?;
    let get_zstd = median(params.repetitions, || {
        let mut sum = 0usize;
        for &key in &lookups {
            sum += zstd_map
                .get(key)?
                .ok_or("a present key was not found")?
                .len();
        }
        black_box(sum);
        Ok(())
    })?;
    Figure {
        id: "mapbuffer.get_zstd",
        group: "mapbuffer",
        name: format!("random get ({n} keys x {RECORD_LEN} B, zstd, v1, crc checked)"),
        unit: "ns/op",
        ours: per_op_ns(get_zstd, n),
        peer: None,
        baseline: None,
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

/// Bytes between consecutive block offsets of the sparse index.
const INDEX_BLOCK: u64 = 4096;

/// A random 16-byte key.
fn key16(rng: &mut Rng) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&rng.next().to_be_bytes());
    key[8..].copy_from_slice(&rng.next().to_be_bytes());
    key
}

fn sparse_index(work: &Path, params: &Params, rng: &mut Rng) -> BoxResult<()> {
    let mut keys: Vec<[u8; 16]> = (0..params.index_keys).map(|_| key16(rng)).collect();
    keys.sort_unstable();
    keys.dedup();
    let n = keys.len();
    let data_end = n as u64 * INDEX_BLOCK;

    let ours_path = work.join("ours.spix");
    let mut writer =
        SparseIndexWriter::with_format(BufWriter::new(File::create(&ours_path)?), Format::Sampled);
    for (i, key) in keys.iter().enumerate() {
        writer.add(key, i as u64 * INDEX_BLOCK)?;
    }
    writer.finish(data_end)?.into_inner()?.sync_all()?;
    let fst_path = work.join("fst.map");
    let mut builder = fst::MapBuilder::new(BufWriter::new(File::create(&fst_path)?))?;
    for (i, key) in keys.iter().enumerate() {
        builder.insert(key, i as u64 * INDEX_BLOCK)?;
    }
    builder.into_inner()?.into_inner()?.sync_all()?;
    let mb = |path: &Path| -> BoxResult<f64> { Ok(fs::metadata(path)?.len() as f64 / 1e6) };
    Figure {
        id: "sparse_index.size",
        group: "sparse-index",
        name: format!("size, {n} x 16 B keys -> u64 offsets (v3, the default)"),
        unit: "MB",
        ours: mb(&ours_path)?,
        peer: Some(("fst 0.4 Map of the same keys -> offsets", mb(&fst_path)?)),
        baseline: None,
    }
    .print();

    // Open + full verify of the file as it is on disk: map it, check everything (frame, CRC-32, key order).
    let open_reps = params.repetitions.max(11);
    let open = median(open_reps, || {
        let index = SparseIndexRef::from_bytes_verified(map_file(&ours_path)?)?;
        black_box(index.len());
        Ok(())
    })?;
    let fst_open = median(open_reps, || {
        let map = fst::Map::new(map_file(&fst_path)?)?;
        map.as_fst().verify()?;
        black_box(map.len());
        Ok(())
    })?;
    let read_all = median(open_reps, || {
        black_box(sum_words(&map_file(&ours_path)?));
        Ok(())
    })?;
    Figure {
        id: "sparse_index.open_verify",
        group: "sparse-index",
        name: format!("open (memmap2) + full verify, {n} keys (v3)"),
        unit: "ns/op",
        ours: per_op_ns(open, 1),
        peer: Some((
            "fst 0.4: memmap2 + Map::new + Fst::verify (checksum only)",
            per_op_ns(fst_open, 1),
        )),
        baseline: Some((
            "memmap2 map of the same file + wrapping sum of its 8-byte words",
            per_op_ns(read_all, 1),
        )),
    }
    .print();

    // Probes: fresh random keys, as many as the index has entries.
    let probes: Vec<[u8; 16]> = (0..n).map(|_| key16(rng)).collect();
    let index = SparseIndexRef::from_bytes_verified(map_file(&ours_path)?)?;
    let floor = median(params.repetitions, || {
        let mut sum = 0u64;
        for probe in &probes {
            sum = sum.wrapping_add(index.floor_offset(probe).unwrap_or(0));
        }
        black_box(sum);
        Ok(())
    })?;
    let fst_map = fst::Map::new(map_file(&fst_path)?)?;
    let fst_lower_bound = median(params.repetitions, || {
        let mut sum = 0u64;
        for probe in &probes {
            let mut stream = fst_map.range().ge(probe).into_stream();
            sum = sum.wrapping_add(stream.next().map_or(0, |(_, offset)| offset));
        }
        black_box(sum);
        Ok(())
    })?;
    let search = median(params.repetitions, || {
        let mut sum = 0u64;
        for probe in &probes {
            let at = keys.partition_point(|key| key <= probe);
            sum = sum.wrapping_add(at.checked_sub(1).map_or(0, |i| i as u64 * INDEX_BLOCK));
        }
        black_box(sum);
        Ok(())
    })?;
    Figure {
        id: "sparse_index.floor",
        group: "sparse-index",
        name: format!("floor_offset, random probes ({n} x 16 B keys, v3, memmap2)"),
        unit: "ns/op",
        ours: per_op_ns(floor, n),
        peer: Some((
            "fst 0.4 Map (memmap2): first entry of range().ge(probe), its lower bound (fst has no floor)",
            per_op_ns(fst_lower_bound, n),
        )),
        baseline: Some((
            "binary search (partition_point) in a Vec<[u8; 16]> of the keys in memory",
            per_op_ns(search, n),
        )),
    }
    .print();
    Ok(())
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
        peer: None,
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
        name: format!("4 KiB read_at ({n} regions)"),
        unit: "ns/op",
        ours: per_op_ns(read, n),
        peer: None,
        baseline: None,
    }
    .print();

    many_regions(params, records, rng)?;

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
        peer: None,
        baseline: None,
    }
    .print();
    Ok(())
}

/// 4 KiB reads among many regions (more than the Python reference can hold in reasonable time), against a
/// `RangeMap` of `Bytes` and against the copy alone. Every region is a distinct slice of one shared buffer.
fn many_regions(params: &Params, records: &[u8], rng: &mut Rng) -> BoxResult<()> {
    let n = params.many_regions;
    let stride = 2 * REGION_LEN as u64;
    let shared = Bytes::copy_from_slice(records);
    let slices = shared.len() / REGION_LEN;
    let region = |i: usize| {
        let at = (i % slices) * REGION_LEN;
        shared.slice(at..at + REGION_LEN)
    };
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut buffer = SparseBuffer::new(n as u64 * stride);
    let mut range_map = RangeMap::new();
    for &i in &order {
        let offset = i as u64 * stride;
        buffer.add_region(offset, region(i))?;
        range_map.insert(offset..offset + REGION_LEN as u64, region(i));
    }
    let plain: Vec<Bytes> = (0..n).map(region).collect();
    // Probes: random regions, as many as there are regions.
    let probes: Vec<u64> = (0..n).map(|_| rng.below(n) as u64 * stride).collect();
    let mut out = vec![0u8; REGION_LEN];
    let ours = median(params.repetitions, || {
        for &offset in &probes {
            match buffer.read_at(offset, &mut out) {
                ReadAt::Data(len) if len == REGION_LEN => {}
                other => return Err(format!("read_at({offset}) gave {other:?}").into()),
            }
        }
        black_box(&out);
        Ok(())
    })?;
    let peer = median(params.repetitions, || {
        for &offset in &probes {
            let (range, bytes) = range_map
                .get_key_value(&offset)
                .ok_or("a region was not found")?;
            let at = (offset - range.start) as usize;
            let len = out.len().min(bytes.len() - at);
            out[..len].copy_from_slice(&bytes[at..at + len]);
            if len != REGION_LEN {
                return Err(format!("short read at {offset}").into());
            }
        }
        black_box(&out);
        Ok(())
    })?;
    let copy = median(params.repetitions, || {
        for &offset in &probes {
            out.copy_from_slice(&plain[(offset / stride) as usize]);
        }
        black_box(&out);
        Ok(())
    })?;
    Figure {
        id: "sparse.read_many",
        group: "sparse-buffer",
        name: format!("4 KiB read_at, random regions ({n} regions)"),
        unit: "ns/op",
        ours: per_op_ns(ours, n),
        peer: Some((
            "rangemap 1 RangeMap<u64, Bytes>: get_key_value + copy",
            per_op_ns(peer, n),
        )),
        baseline: Some((
            "4 KiB copy from a Vec<Bytes> indexed by offset / stride (no search)",
            per_op_ns(copy, n),
        )),
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
            Ok::<_, io::Error>(shared[start..(start + STREAM_CHUNK).min(len)].to_vec())
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
        peer: None,
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
    // The same reads from a file holding the whole stream (records.bin, in the page cache), as the spilled part of
    // the buffer is.
    let file = File::open(work.join("records.bin"))?;
    let plain = median(params.repetitions, || {
        for &offset in &offsets {
            pread(&file, &mut out, offset)?;
        }
        black_box(&out);
        Ok(())
    })?;
    Figure {
        id: "stream.random",
        group: "stream-buffer",
        name: format!(
            "random 4 KiB read of spilled data ({} reads over {} MB)",
            offsets.len(),
            len / 1_000_000
        ),
        unit: "ns/op",
        ours: per_op_ns(random, offsets.len()),
        peer: None,
        baseline: Some((
            "pread from a file holding the stream (page cache)",
            per_op_ns(plain, offsets.len()),
        )),
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
        peer: None,
        baseline: None,
    }
    .print();
    Ok(())
}

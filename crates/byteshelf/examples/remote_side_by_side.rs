//! The remote half of `cargo xtask bench`: reads from a loopback nginx through byteshelf's remote readers, next
//! to the same reads written directly against object_store (`get_range`, `get_ranges`) on the same server.
//!
//! - Roxxel: open a 100-byte-record shard and `get_many` 1,000 random records. object_store: a suffix GET for
//!   the footer, `get_ranges` of the records' index entries, `get_ranges` of the records.
//! - MapBuffer: open a map and `get_many` 1,000 random keys. object_store: a GET of the header, a GET of the
//!   whole index, an Eytzinger search of it, `get_ranges` of the values.
//!
//! Each repetition opens afresh (nothing cached). Requests and bytes come from nginx's access log (the bytes it
//! sent), the time is the median wall time. Usage: `remote_side_by_side [--quick]`; prints the JSON lines of
//! `side_by_side` (`ours` is byteshelf, `baseline` object_store).

#[path = "../../sparse-buffer/tests/it/servers.rs"]
mod servers;

use std::sync::Arc;
use std::time::{Duration, Instant};

use byteshelf::mapbuffer::format::{HEADER_LEN, INDEX_ENTRY_LEN, eytzinger_find};
use byteshelf::mapbuffer::{
    BlockingRemoteMapBuffer, Header, MapBufferBuilder, RemoteOptions as MapOptions,
};
use byteshelf::roxxel::format::{Footer, decode_index};
use byteshelf::roxxel::{BlockingRemoteDataset, RemoteOptions, WriterOptions};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const RECORD_LEN: usize = 100;
const READS: usize = 1000;

/// xorshift64*, as `side_by_side`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// What one way of reading cost: nginx requests and bytes sent, median time.
struct Cost {
    requests: usize,
    bytes: u64,
    time: Duration,
}

/// Runs `read` `repetitions` times on a fresh open, counting its requests and bytes in nginx's log.
fn measure(
    nginx: &servers::Nginx,
    repetitions: usize,
    mut read: impl FnMut() -> BoxResult<()>,
) -> BoxResult<Cost> {
    let mut times = Vec::new();
    let mut requests = 0;
    let mut bytes = 0;
    for _ in 0..repetitions {
        let before = nginx.requests().len();
        let start = Instant::now();
        read()?;
        times.push(start.elapsed());
        let log = nginx.requests();
        let new = &log[before.min(log.len())..];
        requests = new.len();
        bytes = new
            .iter()
            .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
            .sum();
    }
    times.sort();
    Ok(Cost {
        requests,
        bytes,
        time: times[times.len() / 2],
    })
}

fn print(id: &str, group: &str, what: &str, ours: &Cost, theirs: &Cost) {
    let figures = [
        (
            "requests",
            "requests",
            ours.requests as f64,
            theirs.requests as f64,
        ),
        (
            "bytes",
            "MB",
            ours.bytes as f64 / 1e6,
            theirs.bytes as f64 / 1e6,
        ),
        (
            "time",
            "ns/op",
            ours.time.as_secs_f64() * 1e9,
            theirs.time.as_secs_f64() * 1e9,
        ),
    ];
    for (suffix, unit, ours, theirs) in figures {
        println!(
            "{{\"id\": \"{id}_{suffix}\", \"group\": \"{group}\", \"name\": \"{what}: {suffix}\", \"unit\": \"{unit}\", \
             \"ours\": {ours:.6}, \"baseline_name\": \"object_store get_ranges\", \"baseline\": {theirs:.6}}}"
        );
    }
}

fn store_error(err: object_store::Error) -> Box<dyn std::error::Error> {
    Box::new(err)
}

fn main() -> BoxResult<()> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (records, keys, repetitions) = if quick {
        (200_000, 200_000, 3)
    } else {
        (1_000_000, 1_000_000, 5)
    };
    let nginx = servers::Nginx::start();
    let store: Arc<dyn ObjectStore> = nginx.store();
    let runtime = servers::runtime();
    let mut rng = Rng(0x5eed_0bec_7a11_0001);

    // The files, written straight into nginx's root.
    let mut writer = WriterOptions::new().open(nginx.root().join("big.rox"))?;
    let mut record = [0u8; RECORD_LEN];
    for i in 0..records {
        record.fill((i % 251) as u8);
        writer.push(&record)?;
    }
    writer.finish()?;
    let map_keys: Vec<u64> = (0..keys as u64).map(|k| k * 3).collect();
    let map = MapBufferBuilder::new()
        .to_vec(map_keys.iter().map(|&k| (k, [(k % 251) as u8; RECORD_LEN])))?;
    std::fs::write(nginx.root().join("big.mb"), map)?;

    // Roxxel: 1,000 random records.
    let indices: Vec<u64> = (0..READS).map(|_| rng.next() % records as u64).collect();
    let path = Path::from("big.rox");
    let ours = measure(&nginx, repetitions, || {
        let dataset = BlockingRemoteDataset::open(
            runtime.clone(),
            Arc::clone(&store),
            path.clone(),
            &RemoteOptions::default(),
        )?;
        let got = dataset.get_many(&indices)?;
        assert!(
            got.iter()
                .zip(&indices)
                .all(|(r, &i)| r[0] == (i % 251) as u8)
        );
        Ok(())
    })?;
    let theirs = measure(&nginx, repetitions, || {
        runtime.block_on(async {
            let options = GetOptions {
                range: Some(GetRange::Suffix(64 << 10)),
                ..GetOptions::default()
            };
            let tail = store.get_opts(&path, options).await.map_err(store_error)?;
            let size = tail.meta.size;
            let tail = tail.bytes().await.map_err(store_error)?;
            let footer = Footer::parse(&tail, size, std::path::Path::new("big.rox"))?;
            let index = footer.index_offset();
            let entries: Vec<_> = indices
                .iter()
                .map(|&i| index + i.saturating_sub(1) * 8..index + (i + 1) * 8)
                .collect();
            let entries = store
                .get_ranges(&path, &entries)
                .await
                .map_err(store_error)?;
            let ranges: Vec<_> = indices
                .iter()
                .zip(&entries)
                .map(|(&i, bytes)| {
                    let ends = decode_index(bytes);
                    let end = *ends.last().unwrap_or(&0) as u64;
                    let start = if i == 0 { 0 } else { ends[0] as u64 };
                    start..end
                })
                .collect();
            let got = store
                .get_ranges(&path, &ranges)
                .await
                .map_err(store_error)?;
            assert!(
                got.iter()
                    .zip(&indices)
                    .all(|(r, &i)| r[0] == (i % 251) as u8)
            );
            Ok::<_, Box<dyn std::error::Error>>(())
        })?
    })?;
    let what =
        format!("remote get_many of {READS} random records ({records} x {RECORD_LEN} B, nginx)");
    print(
        "remote_roxxel_get_many",
        "roxxel-format",
        &what,
        &ours,
        &theirs,
    );

    // MapBuffer: 1,000 random keys.
    let wanted: Vec<u64> = (0..READS).map(|_| (rng.next() % keys as u64) * 3).collect();
    let path = Path::from("big.mb");
    let ours = measure(&nginx, repetitions, || {
        let map = BlockingRemoteMapBuffer::open(
            runtime.clone(),
            Arc::clone(&store),
            path.clone(),
            MapOptions::default(),
        )?;
        let got = map.get_many(&wanted)?;
        assert!(
            got.iter()
                .zip(&wanted)
                .all(|(v, &k)| v.as_ref().is_some_and(|v| v[0] == (k % 251) as u8))
        );
        Ok(())
    })?;
    let theirs = measure(&nginx, repetitions, || {
        runtime.block_on(async {
            let options = GetOptions {
                range: Some(GetRange::Bounded(0..64 << 10)),
                ..GetOptions::default()
            };
            let head = store.get_opts(&path, options).await.map_err(store_error)?;
            let size = head.meta.size;
            let head = head.bytes().await.map_err(store_error)?;
            let header = Header::parse(&head)?;
            let n = header.len as usize;
            let index = store
                .get_range(&path, HEADER_LEN as u64..header.data_start())
                .await
                .map_err(store_error)?;
            let field = |slot: usize, at: usize| {
                let from = slot * INDEX_ENTRY_LEN + at;
                u64::from_le_bytes(index[from..from + 8].try_into().unwrap_or([0; 8]))
            };
            let ranges: Vec<_> = wanted
                .iter()
                .map(|&key| {
                    let slot = eytzinger_find(n, key, |slot| Ok::<_, ()>(field(slot, 0)))
                        .ok()
                        .flatten()
                        .unwrap_or(0);
                    let end = if slot + 1 < n {
                        field(slot + 1, 8)
                    } else {
                        size
                    };
                    field(slot, 8)..end
                })
                .collect();
            let got = store
                .get_ranges(&path, &ranges)
                .await
                .map_err(store_error)?;
            assert!(
                got.iter()
                    .zip(&wanted)
                    .all(|(v, &k)| v[0] == (k % 251) as u8)
            );
            Ok::<_, Box<dyn std::error::Error>>(())
        })?
    })?;
    let what = format!("remote get_many of {READS} random keys ({keys} keys, nginx)");
    print(
        "remote_mapbuffer_get_many",
        "mapbuffer",
        &what,
        &ours,
        &theirs,
    );
    Ok(())
}

//! RangeReader under any options and any sequence of reads, seeks and prefetches, over a source that fails or
//! answers short when the input says so: every successful read equals the file, and every fault is an error.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use sparse_buffer::{BlockingRangeReader, Error, RangeSource, ReaderOptions, Result};

use crate::input::{Input, pattern};

/// A file of `size` [`pattern`] bytes whose fetches fail (bit 2k of `faults`) or come
/// back one byte short (bit 2k+1) for the k-th call.
struct Faulty {
    file: &'static [u8],
    size: u64,
    faults: u64,
    calls: AtomicU64,
}

impl RangeSource for Faulty {
    fn size(&self) -> Result<u64> {
        Ok(self.size)
    }
    fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed) % 32;
        if self.faults >> (2 * call) & 1 == 1 {
            return Err(Error::Io {
                name: self.name(),
                source: std::io::Error::other("injected fault"),
            });
        }
        let short = self.faults >> (2 * call + 1) & 1 == 1;
        Ok(ranges
            .iter()
            .map(|r| {
                assert!(
                    r.start < r.end && r.end <= self.size,
                    "fetch of {r:?} outside 0..{}",
                    self.size
                );
                let end = if short { r.end - 1 } else { r.end };
                // A fresh buffer per range, as a network or file source returns.
                Bytes::copy_from_slice(&self.file[r.start as usize..end as usize])
            })
            .collect())
    }
    fn name(&self) -> String {
        "faulty".to_owned()
    }
}

/// The `range_reader` target.
pub fn range_reader(data: &[u8]) {
    let mut input = Input::new(data);
    let size = input.u16() * 4;
    let faults = input.u64();
    let read_ahead = input.u16();
    let tail_read = input.u16() % 4096;
    let coalesce_gap = input.u16() % 4096;
    // At most ~64 requests per span: one miss may want read_ahead (up to 64 KiB) or a tail or a read of up to
    // 4 KiB, and a tiny max_request would split it into tens of thousands of requests (each fetched, stored and
    // joined to its neighbour), which made one input take up to 2 s. Splitting works the same with 64 pieces.
    let max_request = input.u16().max(read_ahead.max(4096) / 64);
    // Several requests in flight only for one input in eight: a path (concurrent fetches, their results put back
    // in order) that a few inputs cover.
    let concurrency = match input.byte() {
        workers @ 224.. => usize::from(workers % 3) + 2,
        _ => 1,
    };
    let options = ReaderOptions::default()
        .read_ahead(read_ahead)
        .tail_read(tail_read)
        .coalesce_gap(coalesce_gap)
        .max_request(max_request)
        .concurrency(concurrency)
        .cache_budget(match input.u16() {
            0 => None,
            n => Some(n * 8),
        });
    let file = &pattern()[..size as usize];
    let source = Faulty {
        file,
        size,
        faults,
        calls: AtomicU64::new(0),
    };
    // The blocking facade, driven inline: the same reader core as the async API, with `Read + Seek`.
    let mut reader = BlockingRangeReader::with_size(source, size, options);
    // The file's bytes in `range` (none for an empty range, wherever it is), or `None` past its end.
    let truth = |range: Range<u64>| {
        if range.is_empty() {
            Some(&[][..])
        } else {
            file.get(range.start as usize..range.end as usize)
        }
    };
    while !input.is_empty() {
        let op = input.byte() % 6;
        let offset = input.u16() * 2;
        let len = input.u16() % 3000;
        match op {
            0 => {
                let mut buf = vec![0; len as usize];
                if let Ok(n) = reader.read_at(offset, &mut buf) {
                    let end = (offset + len).min(size).max(offset);
                    assert_eq!(n as u64, end - offset, "read_at({offset}, {len}) of {size}");
                    assert_eq!(Some(&buf[..n]), truth(offset..end));
                }
            }
            1 => {
                let mut buf = vec![0; len as usize];
                if reader.read_exact_at(offset, &mut buf).is_ok() {
                    assert_eq!(Some(&buf[..]), truth(offset..offset + len));
                }
                if offset + len > size {
                    assert!(reader.read_exact_at(offset, &mut buf).is_err());
                }
            }
            2 => {
                if let Ok(bytes) = reader.read_range(offset..offset + len) {
                    assert!(offset + len <= size);
                    assert_eq!(Some(&bytes[..]), truth(offset..offset + len));
                }
            }
            3 => {
                let ranges = [offset..offset + len, offset / 3..offset / 3 + len / 2];
                let _ = reader.prefetch(&ranges);
                let _ = reader.plan(&ranges);
            }
            4 => {
                assert_eq!(reader.seek(SeekFrom::Start(offset)).expect("seek"), offset);
                let mut buf = vec![0; len as usize];
                if let Ok(n) = reader.read(&mut buf) {
                    let end = (offset + len).min(size).max(offset);
                    assert_eq!(n as u64, end - offset);
                    assert_eq!(Some(&buf[..n]), truth(offset..end));
                }
            }
            _ => reader.clear_cache(),
        }
        // Whatever is cached is the file's bytes.
        let (_, _) = (reader.cached_bytes(), reader.stats());
        for region in reader.regions() {
            assert!(region.end <= size);
        }
    }
    let (_, buffer) = reader.into_parts().expect("the only cursor");
    for region in buffer.regions() {
        let mut out = vec![0; (region.end - region.start) as usize];
        let _ = buffer.read_at(region.start, &mut out);
        assert_eq!(
            Some(&out[..]),
            truth(region.clone()),
            "cached bytes of {region:?}"
        );
    }
}

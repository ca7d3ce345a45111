//! RangeReader under any options and any sequence of reads, seeks and prefetches, over a source that fails or
//! answers short when the input says so: every successful read equals the file, and every fault is an error.
#![no_main]

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sparse_buffer::{Error, RangeReader, RangeSource, ReaderOptions, Result};

/// Reads the fuzzer's bytes as a stream of small numbers (zero once exhausted).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }
    fn u16(&mut self) -> u64 {
        u64::from(u16::from_le_bytes([self.byte(), self.byte()]))
    }
}

fn byte_at(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

/// A file of `size` pattern bytes whose fetches fail (bit 2k of `faults`) or come back one byte short (bit 2k+1)
/// for the k-th call.
struct Faulty {
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
                (r.start..end).map(byte_at).collect::<Vec<u8>>().into()
            })
            .collect())
    }
    fn name(&self) -> String {
        "faulty".to_owned()
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let size = input.u16() * 4;
    let faults = u64::from_le_bytes(std::array::from_fn(|_| input.byte()));
    let options = ReaderOptions::default()
        .read_ahead(input.u16())
        .tail_read(input.u16() % 4096)
        .coalesce_gap(input.u16() % 4096)
        .max_request(input.u16())
        .concurrency(usize::from(input.byte() % 4) + 1)
        .cache_budget(match input.u16() {
            0 => None,
            n => Some(n * 8),
        });
    let source = Faulty {
        size,
        faults,
        calls: AtomicU64::new(0),
    };
    let mut reader = RangeReader::with_size(source, size, options);
    let truth = |r: Range<u64>| r.map(byte_at).collect::<Vec<u8>>();
    while !input.0.is_empty() {
        let op = input.byte() % 6;
        let offset = input.u16() * 2;
        let len = input.u16() % 3000;
        match op {
            0 => {
                let mut buf = vec![0; len as usize];
                if let Ok(n) = reader.read_at(offset, &mut buf) {
                    let end = (offset + len).min(size).max(offset);
                    assert_eq!(n as u64, end - offset, "read_at({offset}, {len}) of {size}");
                    assert_eq!(buf[..n], truth(offset..end)[..]);
                }
            }
            1 => {
                let mut buf = vec![0; len as usize];
                match reader.read_exact_at(offset, &mut buf) {
                    Ok(()) => assert_eq!(buf, truth(offset..offset + len)),
                    Err(_) => {}
                }
                if offset + len > size {
                    assert!(reader.read_exact_at(offset, &mut buf).is_err());
                }
            }
            2 => {
                if let Ok(bytes) = reader.read_range(offset..offset + len) {
                    assert!(offset + len <= size);
                    assert_eq!(bytes[..], truth(offset..offset + len)[..]);
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
                    assert_eq!(buf[..n], truth(offset..end)[..]);
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
    let (_, buffer) = reader.into_parts();
    for region in buffer.regions() {
        let mut out = vec![0; (region.end - region.start) as usize];
        let _ = buffer.read_at(region.start, &mut out);
        assert_eq!(out, truth(region.clone()), "cached bytes of {region:?}");
    }
});

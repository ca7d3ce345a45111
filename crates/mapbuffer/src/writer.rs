//! [`MapBufferBuilder`]: writes a MapBuffer from `(key, value)` pairs to any [`io::Write`], the way Python mapbuffer
//! 1.2.0 lays it out (byte-identical for uncompressed maps).

use std::io::{self, BufWriter, Write};
use std::num::NonZeroUsize;
use std::thread;

use crate::codec;
use crate::error::{Error, Result};
use crate::format::{
    CRC_LEN, Codec, FormatVersion, HEADER_LEN, Header, INDEX_ENTRY_LEN, eytzinger_layout,
};

/// Below this many input bytes, compression runs on the calling thread only.
const PARALLEL_THRESHOLD: usize = 1 << 20;

/// Writes MapBuffers: chooses the codec and format version, then [`write`](MapBufferBuilder::write)s any number of
/// maps.
///
/// Keys may come in any order; they are sorted, and a key given twice is [`Error::DuplicateKey`]. Values are
/// written straight from the input when uncompressed (no copy is made); compressed values are encoded first, in
/// parallel for large inputs, because the index that precedes them needs their sizes.
///
/// ```
/// use mapbuffer::{Codec, FormatVersion, MapBuffer, MapBufferBuilder};
///
/// let entries = vec![(7u64, b"seven".to_vec()), (3, b"three".to_vec()), (u64::MAX, Vec::new())];
/// let bytes = MapBufferBuilder::new()
///     .codec(Codec::None)
///     .format_version(FormatVersion::V0)
///     .to_vec(entries)?;
/// let map = MapBuffer::from_bytes(&bytes[..])?;
/// assert_eq!(map.keys().collect::<Vec<_>>(), [3, 7, u64::MAX]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapBufferBuilder {
    codec: Codec,
    version: FormatVersion,
    threads: Option<NonZeroUsize>,
}

impl Default for MapBufferBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl MapBufferBuilder {
    /// A builder for version 1 (CRC-32C per value), uncompressed maps: Python's defaults.
    #[must_use]
    pub fn new() -> Self {
        Self {
            codec: Codec::None,
            version: FormatVersion::V1,
            threads: None,
        }
    }

    /// Compresses values with `codec` (default [`Codec::None`]).
    #[must_use]
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }

    /// Writes format `version` (default [`FormatVersion::V1`]; V0 stores no CRC, like Python `compute_crc=False`).
    #[must_use]
    pub fn format_version(mut self, version: FormatVersion) -> Self {
        self.version = version;
        self
    }

    /// Uses at most `threads` threads to compress values, and for [`to_vec`](Self::to_vec) to copy them into place
    /// (default: the available parallelism). 1 does everything on the calling thread; small maps always are.
    /// [`write`](Self::write) streams from the calling thread.
    #[must_use]
    pub fn threads(mut self, threads: NonZeroUsize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// Writes the map of `entries` to `out` and returns the number of bytes written. `out` is wrapped in a buffer,
    /// so a bare [`std::fs::File`] is fine.
    pub fn write<V, W>(&self, entries: impl IntoIterator<Item = (u64, V)>, out: W) -> Result<u64>
    where
        V: AsRef<[u8]>,
        W: Write,
    {
        self.with_plan(entries, |plan| {
            let mut out = BufWriter::with_capacity(1 << 16, out);
            plan.write_to(&mut out)?;
            out.flush()?;
            Ok(plan.total)
        })
    }

    /// Builds the map of `entries` in memory. Values are copied into place by up to [`threads`](Self::threads)
    /// threads when there are many.
    pub fn to_vec<V>(&self, entries: impl IntoIterator<Item = (u64, V)>) -> Result<Vec<u8>>
    where
        V: AsRef<[u8]>,
    {
        self.with_plan(entries, |plan| plan.to_vec(self.thread_count()))
    }

    /// Sorts and checks the entries, lays them out and compresses them, then hands the result to `emit`.
    fn with_plan<V, R>(
        &self,
        entries: impl IntoIterator<Item = (u64, V)>,
        emit: impl FnOnce(&Plan<'_>) -> Result<R>,
    ) -> Result<R>
    where
        V: AsRef<[u8]>,
    {
        let mut entries: Vec<(u64, V)> = entries.into_iter().collect();
        let count = u32::try_from(entries.len()).map_err(|_| Error::TooManyKeys {
            count: entries.len(),
        })?;
        if !entries.is_sorted_by_key(|entry| entry.0) {
            entries.sort_unstable_by_key(|entry| entry.0);
        }
        if let Some(pair) = entries.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(Error::DuplicateKey { key: pair[0].0 });
        }
        // An empty map is only its header, which needs no codec.
        if count > 0 && !self.codec.is_available() {
            return Err(Error::CodecDisabled { codec: self.codec });
        }
        let header = Header {
            version: self.version,
            codec: self.codec,
            len: count,
        };
        // Slot j of the index holds the entry of sorted rank layout[j].
        let layout = eytzinger_layout(count);
        let slots: Vec<(u64, &[u8])> = layout
            .iter()
            .map(|&rank| {
                let (key, value) = &entries[rank as usize];
                (*key, value.as_ref())
            })
            .collect();
        drop(layout);
        let compressed;
        let payloads: Vec<&[u8]> = if self.codec == Codec::None {
            slots.iter().map(|slot| slot.1).collect()
        } else {
            compressed = self.compress_all(&slots)?;
            compressed.iter().map(Vec::as_slice).collect()
        };
        let suffix = self.version.suffix_len() as u64;
        let total = payloads
            .iter()
            .try_fold(header.data_start(), |total, payload| {
                total.checked_add(payload.len() as u64 + suffix)
            })
            .ok_or(Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "map larger than u64::MAX bytes",
            )))?;
        emit(&Plan {
            header,
            slots: &slots,
            payloads: &payloads,
            total,
        })
    }

    fn thread_count(&self) -> usize {
        self.threads
            .or_else(|| thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }

    /// Compresses every value, in slot order, on up to `threads` scoped threads.
    fn compress_all(&self, slots: &[(u64, &[u8])]) -> Result<Vec<Vec<u8>>> {
        let codec = self.codec;
        let compress_chunk = |chunk: &[(u64, &[u8])]| -> Result<Vec<Vec<u8>>> {
            chunk
                .iter()
                .map(|&(key, value)| {
                    codec::compress(codec, value).map_err(|err| err.on_encode(codec, key))
                })
                .collect()
        };
        let input_bytes: usize = slots.iter().map(|slot| slot.1.len()).sum();
        let threads = self.thread_count().min(slots.len());
        if threads <= 1 || input_bytes < PARALLEL_THRESHOLD {
            return compress_chunk(slots);
        }
        let chunk_len = slots.len().div_ceil(threads);
        thread::scope(|scope| {
            let handles: Vec<_> = slots
                .chunks(chunk_len)
                .map(|chunk| scope.spawn(move || compress_chunk(chunk)))
                .collect();
            let mut all = Vec::with_capacity(slots.len());
            for handle in handles {
                match handle.join() {
                    Ok(chunk) => all.extend(chunk?),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Ok(all)
        })
    }
}

/// A laid-out map, ready to be emitted: the header, and per index slot its key and stored payload.
struct Plan<'a> {
    header: Header,
    slots: &'a [(u64, &'a [u8])],
    payloads: &'a [&'a [u8]],
    /// Total byte length of the map.
    total: u64,
}

impl Plan<'_> {
    /// Streams the map to `out`.
    fn write_to(&self, out: &mut impl Write) -> Result<()> {
        out.write_all(&self.header.to_bytes())?;
        let suffix = self.header.version.suffix_len() as u64;
        let mut index = Vec::with_capacity(INDEX_ENTRY_LEN * self.payloads.len().min(1 << 12));
        let mut offset = self.header.data_start();
        for ((key, _), payload) in self.slots.iter().zip(self.payloads) {
            index.extend_from_slice(&key.to_le_bytes());
            index.extend_from_slice(&offset.to_le_bytes());
            offset += payload.len() as u64 + suffix;
            if index.len() == index.capacity() {
                out.write_all(&index)?;
                index.clear();
            }
        }
        out.write_all(&index)?;
        let with_crc = self.header.version.has_crc();
        for payload in self.payloads {
            out.write_all(payload)?;
            if with_crc {
                out.write_all(&crc32c::crc32c(payload).to_le_bytes())?;
            }
        }
        Ok(())
    }

    /// Builds the map in memory, the data region filled by up to `threads` threads.
    fn to_vec(&self, threads: usize) -> Result<Vec<u8>> {
        let too_large = || {
            Error::Io(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "map larger than the address space",
            ))
        };
        let total = usize::try_from(self.total).map_err(|_| too_large())?;
        let data_start = usize::try_from(self.header.data_start()).map_err(|_| too_large())?;
        // Zeroed allocation: fresh pages, first touched by the (parallel) fill below.
        let mut out = vec![0u8; total];
        let (head, data) = out.split_at_mut(data_start);
        head[..HEADER_LEN].copy_from_slice(&self.header.to_bytes());
        let suffix = self.header.version.suffix_len();
        let mut offset = self.header.data_start();
        let entries = head[HEADER_LEN..].chunks_exact_mut(INDEX_ENTRY_LEN);
        for (entry, ((key, _), payload)) in entries.zip(self.slots.iter().zip(self.payloads)) {
            entry[..8].copy_from_slice(&key.to_le_bytes());
            entry[8..].copy_from_slice(&offset.to_le_bytes());
            offset += (payload.len() + suffix) as u64;
        }
        let with_crc = self.header.version.has_crc();
        if threads <= 1 || data.len() < PARALLEL_THRESHOLD {
            fill(data, self.payloads, with_crc);
            return Ok(out);
        }
        let chunk_len = self.payloads.len().div_ceil(threads);
        thread::scope(|scope| {
            let mut rest = data;
            for chunk in self.payloads.chunks(chunk_len) {
                let len: usize = chunk.iter().map(|payload| payload.len() + suffix).sum();
                let (mine, tail) = rest.split_at_mut(len);
                rest = tail;
                scope.spawn(move || fill(mine, chunk, with_crc));
            }
        });
        Ok(out)
    }
}

/// Copies `payloads` (and their CRCs) back to back into `out`, which has exactly their stored size.
fn fill(out: &mut [u8], payloads: &[&[u8]], with_crc: bool) {
    let mut at = 0;
    for payload in payloads {
        let end = at + payload.len();
        out[at..end].copy_from_slice(payload);
        at = end;
        if with_crc {
            out[at..at + CRC_LEN].copy_from_slice(&crc32c::crc32c(payload).to_le_bytes());
            at += CRC_LEN;
        }
    }
}

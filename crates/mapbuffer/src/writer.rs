//! [`MapBufferBuilder`]: writes a MapBuffer from `(key, value)` pairs to any [`io::Write`], the way Python mapbuffer
//! 1.2.0 lays it out (byte-identical for uncompressed maps).

use std::io::{self, BufWriter, Write};
use std::num::NonZeroUsize;
use std::thread;

use crate::codec;
use crate::error::{Error, Result};
use crate::format::{Codec, FormatVersion, HEADER_LEN, Header, INDEX_ENTRY_LEN, eytzinger_layout};

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

    /// Uses at most `threads` threads to compress values (default: the available parallelism). 1 compresses on the
    /// calling thread. Uncompressed maps are always written by the calling thread.
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
        let mut out = BufWriter::with_capacity(1 << 16, out);
        let written = self.write_unbuffered(entries, &mut out)?;
        out.flush()?;
        Ok(written)
    }

    /// Builds the map of `entries` in memory.
    pub fn to_vec<V>(&self, entries: impl IntoIterator<Item = (u64, V)>) -> Result<Vec<u8>>
    where
        V: AsRef<[u8]>,
    {
        let mut out = Vec::new();
        self.write_unbuffered(entries, &mut out)?;
        Ok(out)
    }

    fn write_unbuffered<V, W>(
        &self,
        entries: impl IntoIterator<Item = (u64, V)>,
        out: &mut W,
    ) -> Result<u64>
    where
        V: AsRef<[u8]>,
        W: Write + Reserve,
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
        let in_slot_order = layout.iter().map(|&rank| &entries[rank as usize]);
        let slots: Vec<(u64, &[u8])> = in_slot_order
            .map(|(key, value)| (*key, value.as_ref()))
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
        out.reserve_total(total);

        out.write_all(&header.to_bytes())?;
        let mut index = Vec::with_capacity(INDEX_ENTRY_LEN * payloads.len().min(1 << 16));
        let mut offset = header.data_start();
        for ((key, _), payload) in slots.iter().zip(&payloads) {
            index.extend_from_slice(&key.to_le_bytes());
            index.extend_from_slice(&offset.to_le_bytes());
            offset += payload.len() as u64 + suffix;
            if index.len() == index.capacity() {
                out.write_all(&index)?;
                index.clear();
            }
        }
        out.write_all(&index)?;
        for payload in &payloads {
            out.write_all(payload)?;
            if self.version.has_crc() {
                out.write_all(&crc32c::crc32c(payload).to_le_bytes())?;
            }
        }
        debug_assert_eq!(offset, total);
        debug_assert!(HEADER_LEN as u64 <= total);
        Ok(total)
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
        let threads = self
            .threads
            .or_else(|| thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
            .min(slots.len());
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

/// Lets the in-memory path reserve the exact output size; other writers ignore it.
trait Reserve {
    fn reserve_total(&mut self, _total: u64) {}
}

impl Reserve for Vec<u8> {
    fn reserve_total(&mut self, total: u64) {
        if let Ok(total) = usize::try_from(total) {
            self.reserve_exact(total.saturating_sub(self.len()));
        }
    }
}

impl<W: Write> Reserve for BufWriter<W> {}

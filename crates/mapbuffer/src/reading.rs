//! The one copy of the MapBuffer reading logic, shared by the in-memory [`MapBuffer`](crate::MapBuffer) and the
//! remote reader (feature `object-store`): parsing and checking the header against the object's size, the index
//! entries' end offsets, a value's bounds, the split and check of its CRC-32C, and the codec step.
//!
//! It is not generic and holds no bytes: each reader gets the bytes its own way (a slice of a buffer, a fetched
//! range) and hands them here, so every check and every error reason exists once (the shape of `fst`'s `Fst<D>`
//! around its non-generic core).

use std::borrow::Cow;
use std::ops::Range;

use crate::codec;
use crate::error::{Error, Result};
use crate::format::{CRC_LEN, Codec, HEADER_LEN, Header, INDEX_ENTRY_LEN, read_u64};
use crate::reader::RawEntry;

/// How many cache lines of a stored value a lookup requests at once before reading it (the CRC and the codec
/// then read it front to back); longer values are left to the hardware prefetcher.
pub(crate) const VALUE_LINES: usize = 16;

/// A parsed and size-checked MapBuffer header, and the reading options.
#[derive(Debug, Clone)]
pub(crate) struct Core {
    /// The decoded header.
    pub(crate) header: Header,
    /// The byte length of the whole map (buffer or object).
    pub(crate) size: u64,
    /// Whether version 1 values are CRC-checked.
    pub(crate) check_crc: bool,
    /// Whether index searches and value reads prefetch.
    pub(crate) prefetch: bool,
}

impl Core {
    /// Parses the header at the start of `head` (at least its first 16 bytes) of a map of `size` bytes, and checks
    /// that the map can hold its index and that an empty map is exactly its header.
    pub(crate) fn open(head: &[u8], size: u64) -> Result<Self> {
        let header = Header::parse(head)?;
        let data_start = header.data_start();
        if size < data_start {
            return Err(Error::Truncated {
                what: "index",
                needed: data_start,
                len: size,
            });
        }
        if header.len == 0 && size != HEADER_LEN as u64 {
            return Err(Error::TrailingBytes {
                expected: HEADER_LEN as u64,
                len: size,
            });
        }
        Ok(Self {
            header,
            size,
            check_crc: true,
            prefetch: true,
        })
    }

    /// The number of keys.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.header.len as usize
    }

    /// `16 + 16·N`: where the index ends and the first value starts (checked at open to fit in `size`).
    #[inline]
    pub(crate) fn data_start(&self) -> u64 {
        self.header.data_start()
    }

    /// The byte range of the index in the map.
    #[cfg(feature = "object-store")]
    pub(crate) fn index_range(&self) -> Range<u64> {
        HEADER_LEN as u64..self.data_start()
    }

    /// The checks of the whole index at open, O(1): the first value starts right after the index and the last
    /// offset is inside the map. `index` is the whole index (the map's bytes `16..16 + 16·N`).
    pub(crate) fn check_index(&self, index: &[u8]) -> Result<()> {
        let n = self.len();
        if n == 0 {
            return Ok(());
        }
        if offset_in(index, 0) != self.data_start() {
            return Err(corrupt_offset(
                index,
                0,
                "the first value does not start right after the index",
            ));
        }
        if offset_in(index, n - 1) > self.size {
            return Err(corrupt_offset(index, n - 1, "past the end of the buffer"));
        }
        Ok(())
    }

    /// The slot of `key` in `index` (the whole index), if present.
    #[inline]
    pub(crate) fn find(&self, index: &[u8], key: u64) -> Option<usize> {
        self.search(index, key, None)
    }

    /// [`find`](Self::find) for a lookup that reads the value next: with prefetching on, the value's first lines
    /// are requested as soon as the search meets the key. `map` is the whole map, `index` its index.
    #[inline]
    pub(crate) fn find_for_read(&self, map: &[u8], index: &[u8], key: u64) -> Option<usize> {
        self.search(index, key, self.prefetch.then_some(map))
    }

    /// The one search of the index, `values` as in [`eytzinger_find_in`](crate::format::eytzinger_find_in).
    #[inline]
    fn search(&self, index: &[u8], key: u64, values: Option<&[u8]>) -> Option<usize> {
        let n = self.len();
        crate::format::eytzinger_find_in(index, INDEX_ENTRY_LEN, n, key, self.prefetch, values)
    }

    /// The checked byte range of the stored value (payload and CRC) of `slot`, whose index entry is
    /// `(key, start)`; `next` is the entry `(key, offset)` of slot `slot + 1` (`None` for the last slot, whose
    /// value ends the map). An error names the slot whose offset is wrong, and that slot's key.
    pub(crate) fn stored_range(
        &self,
        slot: usize,
        (key, start): (u64, u64),
        next: Option<(u64, u64)>,
    ) -> Result<Range<u64>> {
        let (next_key, end) = next.unwrap_or((key, self.size));
        let corrupt = |key: u64, slot: usize, offset: u64, reason| Error::CorruptOffset {
            key,
            slot,
            offset,
            at: offset_field_at(slot),
            reason,
        };
        if start < self.data_start() {
            return Err(corrupt(key, slot, start, "points into the header or index"));
        }
        if end > self.size {
            return Err(corrupt(
                next_key,
                slot + 1,
                end,
                "past the end of the buffer",
            ));
        }
        if start > end {
            return Err(if next.is_some() {
                corrupt(
                    next_key,
                    slot + 1,
                    end,
                    "smaller than the offset of the previous slot",
                )
            } else {
                corrupt(key, slot, start, "past the end of the buffer")
            });
        }
        Ok(start..end)
    }

    /// [`stored_range`](Self::stored_range) of `slot < len()`, its entries read from `index` (the whole index).
    #[inline]
    pub(crate) fn stored_range_in(&self, index: &[u8], slot: usize) -> Result<Range<u64>> {
        let entry = |slot| (key_in(index, slot), offset_in(index, slot));
        let next = (slot + 1 < self.len()).then(|| entry(slot + 1));
        self.stored_range(slot, entry(slot), next)
    }

    /// Splits the stored bytes of `slot` (at byte `offset` of the map) into payload and CRC (version 1): a
    /// version 1 value shorter than its CRC is [`Error::MissingCrc`]. The CRC is not checked.
    pub(crate) fn split<'a>(
        &self,
        key: u64,
        slot: usize,
        offset: u64,
        stored: &'a [u8],
    ) -> Result<RawEntry<'a>> {
        let (payload, stored_crc) = if self.header.version.has_crc() {
            let Some((payload, crc)) = stored.split_last_chunk::<CRC_LEN>() else {
                return Err(Error::MissingCrc {
                    key,
                    slot,
                    offset,
                    len: stored.len() as u64,
                });
            };
            (payload, Some(u32::from_le_bytes(*crc)))
        } else {
            (stored, None)
        };
        Ok(RawEntry {
            slot,
            key,
            offset,
            payload,
            stored_crc,
        })
    }

    /// The value of a stored entry: its CRC checked (unless checking is off), then decompressed; borrowed from
    /// the payload when the map is not compressed.
    pub(crate) fn decode<'a>(&self, entry: &RawEntry<'a>) -> Result<Cow<'a, [u8]>> {
        self.check_crc(entry)?;
        self.decompress(entry)
    }

    /// Checks the CRC of a stored entry, unless checking is off (a version 0 entry has none).
    #[inline]
    pub(crate) fn check_crc(&self, entry: &RawEntry<'_>) -> Result<()> {
        if self.check_crc {
            entry.check_crc()?;
        }
        Ok(())
    }

    /// The codec step alone (no CRC check), as [`decode`](Self::decode) and `verify` run it.
    pub(crate) fn decompress<'a>(&self, entry: &RawEntry<'a>) -> Result<Cow<'a, [u8]>> {
        match self.header.codec {
            Codec::None => Ok(Cow::Borrowed(entry.payload)),
            codec => codec::decompress(codec, entry.payload)
                .map(Cow::Owned)
                .map_err(|err| err.on_decode(codec, entry.key, entry.slot, entry.offset)),
        }
    }

    /// Requests the first [`VALUE_LINES`] cache lines of `bytes[range]` when prefetching is on.
    #[inline]
    pub(crate) fn prefetch_value(&self, bytes: &[u8], range: &Range<u64>) {
        if self.prefetch {
            let start = usize::try_from(range.start).unwrap_or(usize::MAX);
            let len = usize::try_from(range.end - range.start).unwrap_or(usize::MAX);
            crate::prefetch::prefetch_range(bytes, start, len, VALUE_LINES);
        }
    }
}

/// The key of `slot` in `index`; 0 when the slot is outside it (callers check `slot < N` first).
#[inline]
pub(crate) fn key_in(index: &[u8], slot: usize) -> u64 {
    read_u64(index, slot * INDEX_ENTRY_LEN).unwrap_or(0)
}

/// The value offset of `slot` in `index`; 0 when the slot is outside it.
#[inline]
pub(crate) fn offset_in(index: &[u8], slot: usize) -> u64 {
    read_u64(index, slot * INDEX_ENTRY_LEN + 8).unwrap_or(0)
}

/// [`Error::CorruptOffset`] for the offset field of `slot` in `index`.
pub(crate) fn corrupt_offset(index: &[u8], slot: usize, reason: &'static str) -> Error {
    Error::CorruptOffset {
        key: key_in(index, slot),
        slot,
        offset: offset_in(index, slot),
        at: offset_field_at(slot),
        reason,
    }
}

/// Byte offset of the offset field of index entry `slot`.
pub(crate) fn offset_field_at(slot: usize) -> u64 {
    (HEADER_LEN + 8) as u64 + (slot as u64) * INDEX_ENTRY_LEN as u64
}

//! [`SparseIndex`]: the owned, growable index, built entry by entry and serialised in any [`Format`].

use std::fmt;
use std::io::Write;
use std::iter::FusedIterator;
use std::ops::{Range, RangeBounds};

use crate::error::{Error, Key, Result};
use crate::format::{self, Format, UNKNOWN_DATA_END};
use crate::search::{self, Entries};
use crate::stats::{KeyStats, common_prefix_len};
use crate::writer::SparseIndexWriter;

/// An owned sparse index: block first keys (strictly ascending, byte order) mapped to block offsets (strictly
/// ascending), plus the end of the last block.
///
/// Build it with [`add`](Self::add), query it, and serialise it with [`to_bytes`](Self::to_bytes). To search
/// serialised bytes without decoding them use [`SparseIndexRef`](crate::SparseIndexRef); to write a large index
/// without holding it in memory use [`SparseIndexWriter`].
///
/// ```
/// use sparse_index::SparseIndex;
///
/// let mut index = SparseIndex::new();
/// index.add(b"apple", 0)?;
/// index.add(b"mango", 4096)?;
/// index.set_data_end(8192)?;
///
/// assert_eq!(index.floor(b"banana"), Some(0)); // "apple" <= "banana" < "mango"
/// assert_eq!(index.ceil(b"banana"), Some(1));
/// assert_eq!(index.block_range(0), Some(0..4096));
/// assert_eq!(index.block_range(1), Some(4096..8192));
/// assert!(index.add(b"kiwi", 9000).is_err()); // keys must ascend
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct SparseIndex {
    offsets: Vec<u64>,
    /// `key_ends[i]` is where key `i` ends in `heap`; it starts where key `i - 1` ends (or at 0).
    key_ends: Vec<u32>,
    heap: Vec<u8>,
    data_end: Option<u64>,
}

impl SparseIndex {
    /// An empty index with an unknown data end.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty index with room for `entries` entries and `key_bytes` bytes of keys.
    #[must_use]
    pub fn with_capacity(entries: usize, key_bytes: usize) -> Self {
        Self {
            offsets: Vec::with_capacity(entries),
            key_ends: Vec::with_capacity(entries),
            heap: Vec::with_capacity(key_bytes),
            data_end: None,
        }
    }

    /// Appends a block whose first key is `first_key` and which starts at byte `offset`.
    ///
    /// # Errors
    ///
    /// [`Error::KeyNotAscending`] or [`Error::OffsetNotAscending`] unless both are strictly greater than the
    /// previous entry's; [`Error::DataEndNotAfterLastOffset`] if a data end is set and `offset` is not before it;
    /// [`Error::TooLarge`] past `u32::MAX` entries or key bytes. The index is unchanged on error.
    pub fn add(&mut self, first_key: impl AsRef<[u8]>, offset: u64) -> Result<()> {
        let key = first_key.as_ref();
        check_next(self.last_entry(), self.len(), key, offset)?;
        if let Some(data_end) = self.data_end
            && offset >= data_end
        {
            return Err(Error::DataEndNotAfterLastOffset {
                data_end,
                last_offset: offset,
            });
        }
        if self.len() >= u32::MAX as usize {
            return Err(Error::TooLarge { what: "entries" });
        }
        let end = u32::try_from(self.heap.len() + key.len())
            .map_err(|_| Error::TooLarge { what: "key bytes" })?;
        self.heap.extend_from_slice(key);
        self.key_ends.push(end);
        self.offsets.push(offset);
        Ok(())
    }

    /// Records where the last block ends, so that [`block_range`](Self::block_range) can answer for it;
    /// [`clear_data_end`](Self::clear_data_end) makes it unknown again.
    ///
    /// # Errors
    ///
    /// [`Error::DataEndNotAfterLastOffset`] if `data_end` is not greater than the last block's offset.
    pub fn set_data_end(&mut self, data_end: u64) -> Result<()> {
        if data_end == UNKNOWN_DATA_END {
            return Err(Error::ReservedDataEnd);
        }
        if let Some(&last_offset) = self.offsets.last()
            && data_end <= last_offset
        {
            return Err(Error::DataEndNotAfterLastOffset {
                data_end,
                last_offset,
            });
        }
        self.data_end = Some(data_end);
        Ok(())
    }

    /// Forgets where the last block ends.
    pub fn clear_data_end(&mut self) {
        self.data_end = None;
    }

    /// The end of the last block, if known.
    #[must_use]
    pub fn data_end(&self) -> Option<u64> {
        self.data_end
    }

    /// Number of entries (blocks).
    #[must_use]
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Whether the index has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Entry `i`: the first key and offset of block `i`.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<(&[u8], u64)> {
        Some((self.key(i)?, *self.offsets.get(i)?))
    }

    /// The first key of block `i`.
    #[must_use]
    pub fn key(&self, i: usize) -> Option<&[u8]> {
        let end = *self.key_ends.get(i)? as usize;
        let start = match i.checked_sub(1) {
            Some(prev) => self.key_ends[prev] as usize,
            None => 0,
        };
        Some(&self.heap[start..end])
    }

    /// The offset of block `i`.
    #[must_use]
    pub fn offset(&self, i: usize) -> Option<u64> {
        self.offsets.get(i).copied()
    }

    /// The first key of the first block.
    #[must_use]
    pub fn first_key(&self) -> Option<&[u8]> {
        self.key(0)
    }

    /// The first key of the last block.
    #[must_use]
    pub fn last_key(&self) -> Option<&[u8]> {
        self.key(self.len().checked_sub(1)?)
    }

    /// The entry with the greatest first key `<= key`: the only block that may hold `key`.
    #[must_use]
    pub fn floor(&self, key: impl AsRef<[u8]>) -> Option<usize> {
        search::floor(self, key.as_ref())
    }

    /// The entry with the least first key `>= key`.
    #[must_use]
    pub fn ceil(&self, key: impl AsRef<[u8]>) -> Option<usize> {
        search::ceil(self, key.as_ref())
    }

    /// The offset of the [`floor`](Self::floor) entry (the reference's `floor_offset`).
    #[must_use]
    pub fn floor_offset(&self, key: impl AsRef<[u8]>) -> Option<u64> {
        self.offset(self.floor(key)?)
    }

    /// The offset of the [`ceil`](Self::ceil) entry (the reference's `ceil_offset`).
    #[must_use]
    pub fn ceil_offset(&self, key: impl AsRef<[u8]>) -> Option<u64> {
        self.offset(self.ceil(key)?)
    }

    /// The least block offset strictly greater than `offset` (the reference's `next_offset_after`).
    #[must_use]
    pub fn next_offset_after(&self, offset: u64) -> Option<u64> {
        search::next_offset_after(self, offset)
    }

    /// The bytes of block `i`: from its offset to the next block's, or to the data end for the last block (`None`
    /// if `i` is out of range, or it is the last block and the data end is unknown).
    #[must_use]
    pub fn block_range(&self, i: usize) -> Option<Range<u64>> {
        search::block_range(self, i)
    }

    /// The entries whose blocks may hold keys in `range`: those whose key interval (from their first key up to the
    /// next block's first key) meets the range.
    ///
    /// ```
    /// # use sparse_index::SparseIndex;
    /// let mut index = SparseIndex::new();
    /// for (i, key) in [b"b", b"d", b"f"].iter().enumerate() {
    ///     index.add(key, i as u64 * 100)?;
    /// }
    /// assert_eq!(index.blocks_for(&b"c"[..]..=&b"d"[..]), 0..2);
    /// assert_eq!(index.blocks_for(&b"a"[..]..&b"b"[..]), 0..0); // before the first key
    /// assert_eq!(index.blocks_for(&b"e"[..]..), 1..3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn blocks_for<K: AsRef<[u8]>>(&self, range: impl RangeBounds<K>) -> Range<usize> {
        search::blocks_for(self, &range)
    }

    /// The entries in key order; reversible with `.rev()`.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            index: self,
            front: 0,
            back: self.len(),
        }
    }

    /// Statistics about the keys.
    #[must_use]
    pub fn key_stats(&self) -> KeyStats {
        KeyStats::collect(self.iter().map(|(key, _)| key))
    }

    /// Serialises the index in the default layout, [`Format::Sampled`] (format version 3): about 12.8 bytes plus
    /// the key per entry. [`to_bytes_with`](Self::to_bytes_with) writes the others.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_plain_bytes(Format::Sampled, format::FANOUT)
    }

    /// The plain layouts: version 1 (`group` 1) or 3 (`group` 16, a head for every 16th key).
    fn to_plain_bytes(&self, format: Format, group: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(format::MIN_LEN + self.heap.len() + 22 * self.len());
        out.extend_from_slice(&format::encode_header(format));
        out.extend_from_slice(&self.heap);
        for offset in &self.offsets {
            out.extend_from_slice(&offset.to_le_bytes());
        }
        for end in &self.key_ends {
            out.extend_from_slice(&end.to_le_bytes());
        }
        if group > 1 {
            // v3: where every group's first key starts in the heap.
            for g in 0..self.len().div_ceil(group) {
                let start = match (g * group).checked_sub(1) {
                    Some(before) => self.key_ends[before],
                    None => 0,
                };
                out.extend_from_slice(&start.to_le_bytes());
            }
        }
        let prefix_len = match (self.first_key(), self.last_key()) {
            (Some(first), Some(last)) => common_prefix_len(first, last),
            _ => 0,
        };
        let heads: Vec<u64> = self
            .iter()
            .step_by(group)
            .map(|(key, _)| format::key_head(&key[prefix_len..]))
            .collect();
        let level1: Vec<u64> = heads.iter().copied().step_by(format::FANOUT).collect();
        for head in heads
            .iter()
            .copied()
            .chain(format::upper_level_heads(&level1, heads.len()))
        {
            out.extend_from_slice(&head.to_be_bytes());
        }
        // `add` keeps all three quantities within u32.
        out.extend_from_slice(&format::encode_trailer_fields(
            self.len() as u32,
            self.heap.len() as u32,
            self.data_end.unwrap_or(UNKNOWN_DATA_END),
            prefix_len as u32,
        ));
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&format::MAGIC);
        out
    }

    /// Serialises the index in `format`.
    ///
    /// # Errors
    ///
    /// [`Error::TooLarge`] if a prefix-compressed entry stream would exceed `u32::MAX` bytes.
    pub fn to_bytes_with(&self, format: Format) -> Result<Vec<u8>> {
        match format {
            Format::Plain => return Ok(self.to_plain_bytes(format, 1)),
            Format::Sampled => return Ok(self.to_bytes()),
            Format::PrefixCompressed { .. } => {}
        }
        let mut out = Vec::with_capacity(format::MIN_LEN + self.heap.len() / 2 + 8 * self.len());
        self.write_to(&mut out, format)?;
        Ok(out)
    }

    /// Writes the index to `out` in `format`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if writing fails, [`Error::TooLarge`] as for [`to_bytes_with`](Self::to_bytes_with).
    pub fn write_to(&self, out: impl Write, format: Format) -> Result<()> {
        let mut writer = SparseIndexWriter::with_format(out, format);
        for (key, offset) in self {
            writer.add(key, offset)?;
        }
        writer.finish(self.data_end)?;
        Ok(())
    }

    /// Decodes and fully checks a byteshelf index (either version) into an owned index.
    ///
    /// # Errors
    ///
    /// As [`SparseIndexRef::from_bytes`](crate::SparseIndexRef::from_bytes_verified).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(crate::SparseIndexRef::from_bytes_verified(bytes)?.to_index())
    }

    fn last_entry(&self) -> Option<(&[u8], u64)> {
        self.get(self.len().checked_sub(1)?)
    }
}

/// Checks that (`key`, `offset`) may follow `last`: both strictly greater.
#[inline]
pub(crate) fn check_next(
    last: Option<(&[u8], u64)>,
    index: usize,
    key: &[u8],
    offset: u64,
) -> Result<()> {
    if let Some((last_key, last_offset)) = last {
        if search::compare_keys(key, last_key).is_le() {
            return Err(Error::KeyNotAscending {
                index,
                key: Key(key.to_vec()),
                previous: Key(last_key.to_vec()),
            });
        }
        if offset <= last_offset {
            return Err(Error::OffsetNotAscending {
                index,
                offset,
                previous: last_offset,
            });
        }
    }
    Ok(())
}

impl Entries for SparseIndex {
    fn entry_count(&self) -> usize {
        self.len()
    }

    fn count_keys_below(&self, key: &[u8], strict: bool) -> usize {
        search::partition_point(self.len(), |i| {
            let start = match i.checked_sub(1) {
                Some(prev) => self.key_ends[prev] as usize,
                None => 0,
            };
            search::is_below(&self.heap[start..self.key_ends[i] as usize], key, strict)
        })
    }

    fn count_offsets_up_to(&self, offset: u64) -> usize {
        self.offsets.partition_point(|&o| o <= offset)
    }

    fn offset_of(&self, i: usize) -> Option<u64> {
        self.offset(i)
    }

    fn end_of_data(&self) -> Option<u64> {
        self.data_end
    }
}

impl fmt::Debug for SparseIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SparseIndex")
            .field("len", &self.len())
            .field("data_end", &self.data_end)
            .field(
                "entries",
                &DebugEntries(self.iter().map(|(key, offset)| (Key(key.to_vec()), offset))),
            )
            .finish()
    }
}

/// Prints at most 8 entries of an iterator, then an ellipsis.
pub(crate) struct DebugEntries<I>(pub(crate) I);

impl<I: Iterator<Item = (Key, u64)> + Clone> fmt::Debug for DebugEntries<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        let mut entries = self.0.clone();
        for entry in entries.by_ref().take(8) {
            list.entry(&entry);
        }
        if entries.next().is_some() {
            list.finish_non_exhaustive()
        } else {
            list.finish()
        }
    }
}

impl<'a> IntoIterator for &'a SparseIndex {
    type Item = (&'a [u8], u64);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Iterator over the entries of a [`SparseIndex`], from [`SparseIndex::iter`].
#[derive(Clone, Debug)]
pub struct Iter<'a> {
    index: &'a SparseIndex,
    front: usize,
    back: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], u64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        let entry = self.index.get(self.front);
        self.front += 1;
        entry
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.back - self.front;
        (left, Some(left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.index.get(self.back)
    }
}

impl ExactSizeIterator for Iter<'_> {}
impl FusedIterator for Iter<'_> {}

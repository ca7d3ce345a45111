//! [`SparseIndexRef`]: a zero-copy view that searches a serialised index (either version) in place, over any
//! `D: AsRef<[u8]>` (a `Vec<u8>`, a slice, a memory map).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::iter::FusedIterator;
use std::ops::{Range, RangeBounds};

use crate::error::{Error, Key, Result};
use crate::format::{
    FANOUT, FileFormat, Layout, UNKNOWN_DATA_END, VERSION_PLAIN, detect_format, key_head, read_u32,
};
use crate::index::{DebugEntries, SparseIndex};
use crate::prefix::Prefixed;
use crate::search::{self, Entries};
use crate::stats::{KeyStats, common_prefix_len};

/// A serialised sparse index searched in place: nothing is decoded up front, lookups are binary searches over the
/// bytes.
///
/// Open it with [`from_bytes`](Self::from_bytes), which checks everything (frame, CRC-32, key and offset order,
/// every length) in one pass, or with [`from_bytes_unverified`](Self::from_bytes_unverified), which checks only the
/// frame in O(1), for bytes already verified (e.g. a trusted cache); [`verify`](Self::verify) does the rest later.
///
/// Keys are returned as [`Cow`]: borrowed from the bytes in format version 1 (and for the restart points of
/// version 2), rebuilt for the other entries of version 2.
///
/// ```
/// use sparse_index::{SparseIndex, SparseIndexRef};
///
/// let mut index = SparseIndex::new();
/// index.add(b"apple", 0)?;
/// index.add(b"mango", 4096)?;
/// index.set_data_end(8192)?;
/// let bytes = index.to_bytes(); // or a memory map of the index file
///
/// let view = SparseIndexRef::from_bytes(&bytes[..])?;
/// assert_eq!(view.floor_offset(b"banana"), Some(0));
/// assert_eq!(view.ceil_offset(b"banana"), Some(4096));
/// assert_eq!(view.get(1), Some((b"mango".as_slice().into(), 4096)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SparseIndexRef<D> {
    data: D,
    layout: Layout,
}

impl<D: AsRef<[u8]>> SparseIndexRef<D> {
    /// Opens `data` after checking all of it: the frame, the CRC-32 and the structure (ascending keys and offsets,
    /// consistent lengths, data end after the last block). O(size of the index).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`], [`Error::BadMagic`], [`Error::UnsupportedVersion`], [`Error::CorruptHeader`],
    /// [`Error::CorruptLength`], [`Error::ChecksumMismatch`], or a `Corrupt*` variant naming the entry and byte
    /// offset of the first inconsistency.
    pub fn from_bytes(data: D) -> Result<Self> {
        let index = Self::from_bytes_unverified(data)?;
        index.verify()?;
        Ok(index)
    }

    /// Opens `data` after checking only the frame (size, magics, version, header fields, lengths): O(1).
    ///
    /// Meant for bytes that were verified before (a trusted cache). If they are corrupt nonetheless, lookups return
    /// unspecified results (but never panic or read out of bounds); call [`verify`](Self::verify) to find out.
    ///
    /// # Errors
    ///
    /// The frame errors of [`from_bytes`](Self::from_bytes).
    pub fn from_bytes_unverified(data: D) -> Result<Self> {
        let layout = Layout::parse(data.as_ref())?;
        Ok(Self { data, layout })
    }

    /// Checks the CRC-32 and the whole structure, as [`from_bytes`](Self::from_bytes) does. O(size of the index).
    ///
    /// # Errors
    ///
    /// As [`from_bytes`](Self::from_bytes).
    pub fn verify(&self) -> Result<()> {
        let bytes = self.data.as_ref();
        match self.prefixed() {
            Some(prefixed) => {
                self.layout.check_crc(bytes)?;
                prefixed.verify()
            }
            None => {
                let mut crc = SectionCrcs::default();
                let structure = self.verify_plain(&mut crc);
                if structure.is_ok() {
                    crc.check(&self.layout, bytes)
                } else {
                    // A damaged checksum explains a broken structure best.
                    self.layout.check_crc(bytes)?;
                    structure
                }
            }
        }
    }

    /// The format version (1 or 2).
    #[must_use]
    pub fn version(&self) -> u8 {
        self.layout.version
    }

    /// The format, as [`detect_format`] names it.
    #[must_use]
    pub fn file_format(&self) -> FileFormat {
        if self.layout.version == VERSION_PLAIN {
            FileFormat::V1
        } else {
            FileFormat::V2
        }
    }

    /// The v2 restart interval (entries per restart point), or 1 for version 1.
    #[must_use]
    pub fn restart_interval(&self) -> usize {
        self.layout.restart_interval
    }

    /// The serialised bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// The underlying storage.
    #[must_use]
    pub fn into_inner(self) -> D {
        self.data
    }

    /// The end of the last block, if recorded.
    #[must_use]
    pub fn data_end(&self) -> Option<u64> {
        (self.layout.data_end != UNKNOWN_DATA_END).then_some(self.layout.data_end)
    }

    /// Number of entries (blocks).
    #[must_use]
    pub fn len(&self) -> usize {
        self.layout.len
    }

    /// Whether the index has no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.layout.len == 0
    }

    /// Entry `i`: the first key and offset of block `i`.
    #[must_use]
    pub fn get(&self, i: usize) -> Option<(Cow<'_, [u8]>, u64)> {
        match self.prefixed() {
            Some(prefixed) => prefixed.entry(i),
            None => (i < self.len()).then(|| {
                let bytes = self.data.as_ref();
                (
                    Cow::Borrowed(plain_key(&self.layout, bytes, i)),
                    self.layout.offset_slot(bytes, i),
                )
            }),
        }
    }

    /// The first key of block `i`.
    #[must_use]
    pub fn key(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        self.get(i).map(|(key, _)| key)
    }

    /// The offset of block `i`.
    #[must_use]
    pub fn offset(&self, i: usize) -> Option<u64> {
        match self.prefixed() {
            Some(prefixed) => prefixed.offset(i),
            None => (i < self.len()).then(|| self.layout.offset_slot(self.data.as_ref(), i)),
        }
    }

    /// The first key of the first block.
    #[must_use]
    pub fn first_key(&self) -> Option<Cow<'_, [u8]>> {
        self.key(0)
    }

    /// The first key of the last block.
    #[must_use]
    pub fn last_key(&self) -> Option<Cow<'_, [u8]>> {
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

    /// The entries whose blocks may hold keys in `range`, as [`SparseIndex::blocks_for`].
    #[must_use]
    pub fn blocks_for<K: AsRef<[u8]>>(&self, range: impl RangeBounds<K>) -> Range<usize> {
        search::blocks_for(self, &range)
    }

    /// The entries in key order; reversible with `.rev()`.
    pub fn iter(&self) -> RefIter<'_, D> {
        RefIter {
            index: self,
            front: 0,
            back: self.len(),
        }
    }

    /// Statistics about the keys (decodes every key once).
    #[must_use]
    pub fn key_stats(&self) -> KeyStats {
        match self.prefixed() {
            Some(prefixed) => {
                let mut keys = Vec::new();
                let mut stats = KeyStats::default();
                let mut first = None;
                prefixed.for_each(|key, _| {
                    if first.is_none() {
                        first = Some(key.to_vec());
                    }
                    keys.clear();
                    keys.extend_from_slice(key);
                    stats = fold(stats, key.len());
                });
                if let Some(first) = first {
                    stats.common_prefix_len = common_prefix_len(&first, &keys);
                }
                stats
            }
            None => KeyStats::collect(self.iter().map(|(key, _)| key)),
        }
    }

    /// Decodes the whole index into an owned [`SparseIndex`].
    #[must_use]
    pub fn to_index(&self) -> SparseIndex {
        let mut index = SparseIndex::with_capacity(self.len(), 0);
        let mut add = |key: &[u8], offset| {
            // A verified view holds ascending entries; an unverified corrupt one stops at the first bad entry.
            let _ = index.add(key, offset);
        };
        match self.prefixed() {
            Some(prefixed) => prefixed.for_each(add),
            None => self.iter().for_each(|(key, offset)| add(&key, offset)),
        }
        if let Some(data_end) = self.data_end() {
            let _ = index.set_data_end(data_end);
        }
        index
    }

    fn prefixed(&self) -> Option<Prefixed<'_>> {
        (self.layout.version != VERSION_PLAIN).then(|| Prefixed {
            layout: &self.layout,
            bytes: self.data.as_ref(),
        })
    }

    /// The structural checks of a plain (v1) index, in one pass over its sections, feeding the bytes of every
    /// batch of entries to `crc` while they are still in cache (so the index is read from memory once).
    fn verify_plain(&self, crc: &mut SectionCrcs) -> Result<()> {
        let layout = &self.layout;
        let bytes = self.data.as_ref();
        let n = layout.len;
        let heap = layout.body(bytes);
        let ends = &bytes[layout.ends_start..layout.ends_start + 4 * n];
        let offsets = &bytes[layout.offsets_start..layout.offsets_start + 8 * n];
        let heads = &bytes[layout.heads_start..layout.heads_start + 8 * n];
        // The prefix length must be that of the first and last keys (hence of all keys, as they ascend).
        let first_key = heap.get(
            ..(ends
                .first_chunk::<4>()
                .map_or(0, |e| u32::from_le_bytes(*e) as usize)),
        );
        let last_key = match ends.last_chunk::<4>() {
            Some(end) => heap.get(
                ends.len()
                    .checked_sub(8)
                    .map_or(0, |at| read_u32(ends, at) as usize)
                    ..u32::from_le_bytes(*end) as usize,
            ),
            None => Some(&[][..]),
        };
        let expected_prefix = match (first_key, last_key) {
            (Some(first), Some(last)) if n > 0 => common_prefix_len(first, last),
            _ => 0,
        };
        let prefix_len = layout.prefix_len;
        let bad_prefix = Error::CorruptHeader {
            field: "prefix length",
            value: prefix_len as u64,
            offset: layout.prefix_len_at(),
        };
        if prefix_len != expected_prefix {
            return Err(bad_prefix);
        }
        // (A bad first key end is reported by the loop below.)
        let prefix = match first_key {
            Some(first) => first.get(..prefix_len).ok_or(bad_prefix)?,
            None => &[],
        };
        let (ends, _) = ends.as_chunks::<4>();
        let (offsets, _) = offsets.as_chunks::<8>();
        let (heads, _) = heads.as_chunks::<8>();
        // Level 1 of the head levels (every 16th head), checked batch by batch while the heads are in cache.
        let level1 = match layout.levels[..layout.depth] {
            [_, (start, len), ..] => bytes[start..start + 8 * len].as_chunks::<8>().0,
            _ => &[],
        };
        // Key i spans heap[start..end]; the previous key heap[last_start..start].
        let (mut start, mut last_start) = (0usize, 0usize);
        let (mut last_offset, mut last_head) = (0u64, 0u64);
        for batch_start in (0..n).step_by(CRC_BATCH) {
            let batch = batch_start..(batch_start + CRC_BATCH).min(n);
            let heap_start = start;
            for i in batch.clone() {
                let end = u32::from_le_bytes(ends[i]) as usize;
                let Some(key) = heap.get(start..end) else {
                    return Err(Error::CorruptKey {
                        index: i,
                        offset: layout.ends_start + 4 * i,
                        reason: "ends before the previous key or past the key heap",
                    });
                };
                let offset = u64::from_le_bytes(offsets[i]);
                let head = u64::from_be_bytes(heads[i]);
                let suffix = if prefix.is_empty() {
                    Some(key)
                } else {
                    key.strip_prefix(prefix)
                };
                let Some(suffix) = suffix else {
                    return Err(Error::CorruptKey {
                        index: i,
                        offset: layout.ends_start + 4 * i,
                        reason: "does not start with the prefix of the first and last keys",
                    });
                };
                if key_head(suffix) != head {
                    return Err(Error::CorruptKey {
                        index: i,
                        offset: layout.heads_start + 8 * i,
                        reason: "head does not match the key",
                    });
                }
                if i > 0 {
                    // Heads are monotone in the keys, so a smaller head proves a smaller key.
                    if head <= last_head
                        && (head < last_head
                            || search::compare_keys(&heap[last_start..start], key).is_ge())
                    {
                        return Err(Error::CorruptKey {
                            index: i,
                            offset: layout.ends_start + 4 * i,
                            reason: "is not greater than the previous key",
                        });
                    }
                    if offset <= last_offset {
                        return Err(Error::CorruptOffset {
                            index: i,
                            offset: layout.offsets_start + 8 * i,
                            value: offset,
                        });
                    }
                }
                (last_start, start) = (start, end);
                (last_offset, last_head) = (offset, head);
            }
            for j in batch.start.div_ceil(FANOUT)..batch.end.div_ceil(FANOUT).min(level1.len()) {
                if level1[j] != heads[j * FANOUT] {
                    return Err(Error::CorruptKey {
                        index: j * FANOUT,
                        offset: layout.levels[1].0 + 8 * j,
                        reason: "head level entry does not match the level below",
                    });
                }
            }
            crc.heap.update(&heap[heap_start..start]);
            crc.offsets.update(offsets[batch.clone()].as_flattened());
            crc.ends.update(ends[batch.clone()].as_flattened());
            crc.heads.update(heads[batch].as_flattened());
        }
        let last_end = start;
        if last_end != heap.len() {
            return Err(Error::CorruptKey {
                index: n.saturating_sub(1),
                offset: layout.ends_start + 4 * n.saturating_sub(1),
                reason: "does not end where the key heap ends",
            });
        }
        // Each higher level holds every 16th entry of the level below (level 1 was checked with the heads).
        let mut stride = FANOUT;
        for pair in layout.levels[..layout.depth].windows(2).skip(1) {
            let [(below_start, _), (start, len)] = [pair[0], pair[1]];
            stride *= FANOUT;
            for j in 0..len {
                let at = start + 8 * j;
                if bytes[at..at + 8]
                    != bytes[below_start + 8 * FANOUT * j..below_start + 8 * FANOUT * j + 8]
                {
                    return Err(Error::CorruptKey {
                        index: j * stride,
                        offset: at,
                        reason: "head level entry does not match the level below",
                    });
                }
            }
        }
        if n > 0 && layout.data_end != UNKNOWN_DATA_END && layout.data_end <= last_offset {
            return Err(Error::CorruptDataEnd {
                offset: layout.data_end_at(),
                data_end: layout.data_end,
            });
        }
        Ok(())
    }
}

/// Entries whose bytes are checksummed together during verification (~150 KB with 16-byte keys: cache-resident).
const CRC_BATCH: usize = 4096;

/// The CRC-32s of the four per-entry sections of a plain index, computed side by side and combined at the end.
#[derive(Default)]
struct SectionCrcs {
    heap: crc32fast::Hasher,
    offsets: crc32fast::Hasher,
    ends: crc32fast::Hasher,
    heads: crc32fast::Hasher,
}

impl SectionCrcs {
    /// Combines the section CRCs with those of the header, head levels and trailer, and checks the stored CRC.
    fn check(self, layout: &Layout, bytes: &[u8]) -> Result<()> {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes[..layout.body_start]);
        for section in [&self.heap, &self.offsets, &self.ends, &self.heads] {
            crc.combine(section);
        }
        let levels_start = layout.heads_start + 8 * layout.len;
        crc.update(&bytes[levels_start..layout.crc_at]);
        let computed = crc.finalize();
        let stored = read_u32(bytes, layout.crc_at);
        if computed == stored {
            Ok(())
        } else {
            Err(Error::ChecksumMismatch {
                offset: layout.crc_at,
                stored,
                computed,
            })
        }
    }
}

fn fold(mut stats: KeyStats, len: usize) -> KeyStats {
    stats.min_len = if stats.count == 0 {
        len
    } else {
        stats.min_len.min(len)
    };
    stats.max_len = stats.max_len.max(len);
    stats.count += 1;
    stats.total_len += len as u64;
    stats
}

impl<'a> SparseIndexRef<Cow<'a, [u8]>> {
    /// Opens an index in any format this crate reads, for tools that accept whatever file they are given.
    ///
    /// byteshelf indexes (v1 and v2) are checked and borrowed; a legacy (Python reference) index is decoded,
    /// checked and re-encoded as v1, with an unknown data end. Returns the view and the format found.
    ///
    /// ```
    /// use sparse_index::{FileFormat, SparseIndex, SparseIndexRef};
    ///
    /// let mut index = SparseIndex::new();
    /// index.add(b"k", 7)?;
    /// let legacy = index.to_legacy_bytes();
    /// let (view, format) = SparseIndexRef::from_any_bytes(&legacy)?;
    /// assert_eq!(format, FileFormat::Legacy);
    /// assert_eq!(view.floor_offset(b"z"), Some(7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`from_bytes`](Self::from_bytes) or [`SparseIndex::from_legacy_bytes`].
    pub fn from_any_bytes(bytes: &'a [u8]) -> Result<(Self, FileFormat)> {
        match detect_format(bytes) {
            FileFormat::Legacy => {
                let index = SparseIndex::from_legacy_bytes(bytes)?;
                let view = Self::from_bytes_unverified(Cow::Owned(index.to_bytes()))?;
                Ok((view, FileFormat::Legacy))
            }
            _ => {
                let view = Self::from_bytes(Cow::Borrowed(bytes))?;
                let format = view.file_format();
                Ok((view, format))
            }
        }
    }
}

impl<D: AsRef<[u8]>> Entries for SparseIndexRef<D> {
    fn entry_count(&self) -> usize {
        self.layout.len
    }

    #[inline]
    fn count_keys_below(&self, key: &[u8], strict: bool) -> usize {
        match self.prefixed() {
            Some(prefixed) => prefixed.count_keys_below(key, strict),
            None => plain_count_keys_below(&self.layout, self.data.as_ref(), key, strict),
        }
    }

    fn count_offsets_up_to(&self, offset: u64) -> usize {
        match self.prefixed() {
            Some(prefixed) => prefixed.count_offsets_up_to(offset),
            None => {
                let bytes = self.data.as_ref();
                search::partition_point(self.layout.len, |i| {
                    self.layout.offset_slot(bytes, i) <= offset
                })
            }
        }
    }

    fn offset_of(&self, i: usize) -> Option<u64> {
        self.offset(i)
    }

    fn end_of_data(&self) -> Option<u64> {
        self.data_end()
    }
}

/// Number of keys `<= key` (`strict`: `< key`) in a plain index.
///
/// All keys share `prefix_len` bytes, so the key is first compared with that prefix once; then a binary search over
/// the heads (8 bytes after the prefix) decides almost every probe with one integer comparison. Only keys whose
/// head equals the key's are compared in full.
#[inline]
fn plain_count_keys_below(layout: &Layout, bytes: &[u8], key: &[u8], strict: bool) -> usize {
    let n = layout.len;
    if n == 0 {
        return 0;
    }
    let prefix = plain_key(layout, bytes, 0)
        .get(..layout.prefix_len)
        .unwrap_or_default();
    let shared = &key[..key.len().min(prefix.len())];
    match shared.cmp(&prefix[..shared.len()]) {
        Ordering::Less => return 0,
        Ordering::Greater => return n,
        // A proper prefix of the common prefix is below every key.
        Ordering::Equal if shared.len() < prefix.len() => return 0,
        Ordering::Equal => {}
    }
    let head = key_head(&key[prefix.len()..]);
    let below = layout.count_heads_below(bytes, head);
    // Keys with an equal head (usually none) are ordered by comparing them in full.
    let mut ties = 0;
    while below + ties < n && layout.head(bytes, below + ties) == head && ties < 8 {
        ties += 1;
    }
    if ties == 8 {
        ties += search::partition_point(n - below - ties, |i| {
            layout.head(bytes, below + 8 + i) == head
        });
    }
    below
        + search::partition_point(ties, |i| {
            search::is_below(plain_key(layout, bytes, below + i), key, strict)
        })
}

/// Key `i` (`i < len`) of a plain index; empty if the (unverified) key ends are inconsistent.
#[inline]
fn plain_key<'a>(layout: &Layout, bytes: &'a [u8], i: usize) -> &'a [u8] {
    let end = layout.end_slot(bytes, i) as usize;
    let start = match i.checked_sub(1) {
        Some(prev) => layout.end_slot(bytes, prev) as usize,
        None => 0,
    };
    layout.body(bytes).get(start..end).unwrap_or_default()
}

impl<D: AsRef<[u8]>> fmt::Debug for SparseIndexRef<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SparseIndexRef")
            .field("version", &self.layout.version)
            .field("len", &self.len())
            .field("data_end", &self.data_end())
            .field(
                "entries",
                &DebugEntries(
                    self.iter()
                        .map(|(key, offset)| (Key(key.into_owned()), offset)),
                ),
            )
            .finish()
    }
}

impl<'a, D: AsRef<[u8]>> IntoIterator for &'a SparseIndexRef<D> {
    type Item = (Cow<'a, [u8]>, u64);
    type IntoIter = RefIter<'a, D>;

    fn into_iter(self) -> RefIter<'a, D> {
        self.iter()
    }
}

/// Iterator over the entries of a [`SparseIndexRef`], from [`SparseIndexRef::iter`].
pub struct RefIter<'a, D> {
    index: &'a SparseIndexRef<D>,
    front: usize,
    back: usize,
}

impl<D> fmt::Debug for RefIter<'_, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefIter")
            .field("front", &self.front)
            .field("back", &self.back)
            .finish_non_exhaustive()
    }
}

impl<D> Clone for RefIter<'_, D> {
    fn clone(&self) -> Self {
        Self { ..*self }
    }
}

impl<'a, D: AsRef<[u8]>> Iterator for RefIter<'a, D> {
    type Item = (Cow<'a, [u8]>, u64);

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

impl<D: AsRef<[u8]>> DoubleEndedIterator for RefIter<'_, D> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.index.get(self.back)
    }
}

impl<D: AsRef<[u8]>> ExactSizeIterator for RefIter<'_, D> {}
impl<D: AsRef<[u8]>> FusedIterator for RefIter<'_, D> {}

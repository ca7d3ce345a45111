//! [`SparseIndexRef`]: a zero-copy view that searches a serialised index (either version) in place, over any
//! `D: AsRef<[u8]>` (a `Vec<u8>`, a slice, a memory map).

use std::borrow::Cow;
use std::fmt;
use std::iter::FusedIterator;
use std::ops::{Range, RangeBounds};

use crate::error::{Error, Key, Result};
use crate::format::{
    FileFormat, Layout, MAGIC, UNKNOWN_DATA_END, VERSION_PLAIN, VERSION_PREFIX, detect_format,
};
use crate::index::{DebugEntries, SparseIndex};
use crate::plain::Plain;
use crate::prefix::{Prefixed, Walk};
use crate::search::{self, Entries};
use crate::stats::{KeyStats, common_prefix_len};

/// A serialised sparse index searched in place: nothing is decoded up front, lookups are binary searches over the
/// bytes.
///
/// Open it with [`from_bytes`](Self::from_bytes), which checks only the frame in O(1), and check everything else
/// (CRC-32, key and offset order, every length) with [`verify`](Self::verify); or do both at once with
/// [`from_bytes_verified`](Self::from_bytes_verified), the right choice for bytes from outside.
///
/// Keys are returned as [`Cow`]: borrowed from the bytes in format versions 1 and 3 (and for the restart points of
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
/// let view = SparseIndexRef::from_bytes_verified(&bytes[..])?;
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
    pub fn from_bytes_verified(data: D) -> Result<Self> {
        let index = Self::from_bytes(data)?;
        index.verify()?;
        Ok(index)
    }

    /// Opens `data` after checking only the frame (size, magics, version, header fields, lengths): O(1).
    ///
    /// If the rest is corrupt, lookups return unspecified results (but never panic or read out of bounds); call
    /// [`verify`](Self::verify) to find out, or open with [`from_bytes_verified`](Self::from_bytes_verified).
    ///
    /// # Errors
    ///
    /// The frame errors of [`from_bytes_verified`](Self::from_bytes_verified).
    pub fn from_bytes(data: D) -> Result<Self> {
        let layout = Layout::parse(data.as_ref())?;
        Ok(Self { data, layout })
    }

    /// Checks the CRC-32 and the whole structure, as [`from_bytes_verified`](Self::from_bytes_verified) does.
    /// O(size of the index).
    ///
    /// # Errors
    ///
    /// As [`from_bytes_verified`](Self::from_bytes_verified).
    pub fn verify(&self) -> Result<()> {
        let bytes = self.data.as_ref();
        match self.prefixed() {
            Some(prefixed) => {
                self.layout.check_crc(bytes)?;
                prefixed.verify()
            }
            None => self.plain().verify(),
        }
    }

    /// The format version (1, 2 or 3).
    #[must_use]
    pub fn version(&self) -> u8 {
        self.layout.version
    }

    /// The format, as [`detect_format`] names it.
    #[must_use]
    pub fn file_format(&self) -> FileFormat {
        match self.layout.version {
            VERSION_PLAIN => FileFormat::V1,
            VERSION_PREFIX => FileFormat::V2,
            _ => FileFormat::V3,
        }
    }

    /// The v2 restart interval (entries per restart point), or 1 for versions 1 and 3.
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
                let plain = self.plain();
                (Cow::Borrowed(plain.key(i)), plain.offset(i))
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
            None => (i < self.len()).then(|| self.plain().offset(i)),
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
            walk: self.prefixed().map(Walk::new),
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

    fn plain(&self) -> Plain<'_> {
        Plain {
            layout: &self.layout,
            bytes: self.data.as_ref(),
        }
    }

    fn prefixed(&self) -> Option<Prefixed<'_>> {
        (self.layout.version == VERSION_PREFIX).then(|| Prefixed {
            layout: &self.layout,
            bytes: self.data.as_ref(),
        })
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
    /// byteshelf indexes (v1, v2 and v3) are checked and borrowed; a legacy (Python reference) index is decoded,
    /// checked and re-encoded in the default layout (v3), with an unknown data end. Returns the view and the
    /// format found.
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
    /// As [`from_bytes_verified`](Self::from_bytes_verified) or [`SparseIndex::from_legacy_bytes`]: [`Error::NotAnIndex`] for bytes
    /// in neither format, except that bytes starting with the byteshelf magic get the error of
    /// [`from_bytes_verified`](Self::from_bytes_verified) (e.g. [`Error::Truncated`] for a byteshelf index cut short).
    pub fn from_any_bytes(bytes: &'a [u8]) -> Result<(Self, FileFormat)> {
        match detect_format(bytes) {
            FileFormat::Legacy => {
                let index = match SparseIndex::from_legacy_bytes(bytes) {
                    Ok(index) => index,
                    // It starts like a byteshelf index but is not framed as one (cut short, say): its own checks
                    // say more than "not an index".
                    Err(err @ Error::NotAnIndex { .. }) if bytes.starts_with(&MAGIC) => {
                        return Err(Self::from_bytes_verified(Cow::Borrowed(bytes))
                            .err()
                            .unwrap_or(err));
                    }
                    Err(err) => return Err(err),
                };
                let view = Self::from_bytes(Cow::Owned(index.to_bytes()))?;
                Ok((view, FileFormat::Legacy))
            }
            _ => {
                let view = Self::from_bytes_verified(Cow::Borrowed(bytes))?;
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
            None => self.plain().count_keys_below(key, strict),
        }
    }

    fn count_offsets_up_to(&self, offset: u64) -> usize {
        match self.prefixed() {
            Some(prefixed) => prefixed.count_offsets_up_to(offset),
            None => self.plain().count_offsets_up_to(offset),
        }
    }

    fn offset_of(&self, i: usize) -> Option<u64> {
        self.offset(i)
    }

    fn end_of_data(&self) -> Option<u64> {
        self.data_end()
    }
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
    /// Version 2: decodes the front entries incrementally.
    walk: Option<Walk<'a>>,
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
        Self {
            walk: self.walk.clone(),
            ..*self
        }
    }
}

impl<'a, D: AsRef<[u8]>> Iterator for RefIter<'a, D> {
    type Item = (Cow<'a, [u8]>, u64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        let entry = match &mut self.walk {
            Some(walk) => walk.entry(self.front),
            None => self.index.get(self.front),
        };
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

//! The reader logic that local ([`Shard`](crate::Shard), [`Dataset`](crate::Dataset)) and remote
//! (`RemoteShard`, `RemoteDataset`) readers share, so that no check exists twice: the footer checked against the
//! file's size, the file bytes of the index entries a record needs, the one check of a record's two entries,
//! the whole-index check of `verify`, and the map from a dataset's record index to (shard, index in shard).
//!
//! The readers are shells around these non-generic cores: they only differ in where bytes come from (a memory
//! map or an async range reader) and in what a record is (`&[u8]` or `Bytes`).

use std::ops::{Bound, Range, RangeBounds};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::format::{Footer, INDEX_ENTRY_LEN};

/// A shard's footer, checked against its file's size, and every check made of its index entries.
#[derive(Debug, Clone)]
pub(crate) struct ShardCore {
    /// The file (or object) named in errors.
    pub(crate) path: PathBuf,
    pub(crate) footer: Footer,
    /// The payload size, as a `usize`.
    pub(crate) raw_len: usize,
    /// The number of records, as a `usize`.
    pub(crate) records: usize,
}

impl ShardCore {
    /// Parses the footer at the end of `tail`, the last bytes of a file of `file_len` bytes ([`Footer::parse`]),
    /// and checks that its sizes are addressable here.
    pub(crate) fn parse(tail: &[u8], file_len: u64, path: PathBuf) -> Result<Self> {
        let footer = Footer::parse(tail, file_len, &path)?;
        Self::new(footer, path)
    }

    /// A footer already checked (a journal's saved state, or [`Footer::parse`]).
    pub(crate) fn new(footer: Footer, path: PathBuf) -> Result<Self> {
        Ok(Self {
            raw_len: to_usize(footer.raw_data_size, &path)?,
            records: to_usize(footer.records, &path)?,
            path,
            footer,
        })
    }

    /// Number of records.
    #[inline]
    pub(crate) fn len(&self) -> u64 {
        self.footer.records
    }

    /// `index` as an index into this shard, or [`Error::IndexOutOfRange`].
    #[inline]
    pub(crate) fn check_index(&self, index: u64) -> Result<usize> {
        match usize::try_from(index) {
            Ok(i) if i < self.records => Ok(i),
            _ => Err(out_of_range(i128::from(index), self.len())),
        }
    }

    /// The file bytes of the index entries record `i` (`< len()`) needs: the end of the previous record (unless
    /// it is the first) and its own.
    #[cfg(feature = "object-store")]
    pub(crate) fn entries_range(&self, i: u64) -> Range<u64> {
        let index = self.footer.index_offset();
        let end = index + (i + 1) * INDEX_ENTRY_LEN as u64;
        if i == 0 {
            index..end
        } else {
            end - 2 * INDEX_ENTRY_LEN as u64..end
        }
    }

    /// The file bytes of the whole index.
    #[cfg(feature = "object-store")]
    pub(crate) fn whole_index(&self) -> Range<u64> {
        let index = self.footer.index_offset();
        index..index + self.len() * INDEX_ENTRY_LEN as u64
    }

    /// The start and end of record `i` from the bytes of [`entries_range(i)`](Self::entries_range), unchecked.
    #[cfg(feature = "object-store")]
    pub(crate) fn entries(i: u64, bytes: &[u8]) -> (i64, i64) {
        let entry = |at: usize| {
            bytes
                .get(at..at + INDEX_ENTRY_LEN)
                .and_then(|b| b.try_into().ok())
                .map_or(0, i64::from_le_bytes)
        };
        if i == 0 {
            (0, entry(0))
        } else {
            (entry(0), entry(INDEX_ENTRY_LEN))
        }
    }

    /// The one check of a record's entries: `0 <= start <= end <= raw_data_size`, giving its payload range, or
    /// [`Error::BadIndexEntry`].
    #[inline]
    pub(crate) fn record_range(&self, i: usize, start: i64, end: i64) -> Result<Range<usize>> {
        match (usize::try_from(start), usize::try_from(end)) {
            (Ok(s), Ok(e)) if s <= e && e <= self.raw_len => Ok(s..e),
            _ => Err(self.bad_entry(i, start, end)),
        }
    }

    /// [`Error::BadIndexEntry`] for record `i` with entries `start`, `end`.
    #[cold]
    #[inline(never)]
    pub(crate) fn bad_entry(&self, i: usize, start: i64, end: i64) -> Error {
        Error::BadIndexEntry {
            file: self.path.clone(),
            record: i as u64,
            offset: self.footer.raw_data_size + (i as u64) * INDEX_ENTRY_LEN as u64,
            start,
            end,
            raw_data_size: self.footer.raw_data_size,
        }
    }

    /// Checks a whole index (all `len()` end offsets, in order): every end non-negative, not before the previous
    /// one, not past the payload, and the last equal to the payload size.
    pub(crate) fn verify_ends(&self, ends: impl IntoIterator<Item = i64>) -> Result<()> {
        let raw = self.footer.raw_data_size;
        let mut prev = 0i64;
        for (i, end) in ends.into_iter().enumerate() {
            if end < prev || u64::try_from(end).map_or(true, |end| end > raw) {
                return Err(self.bad_entry(i, prev, end));
            }
            prev = end;
        }
        if u64::try_from(prev).ok() != Some(raw) {
            let offset = match self.len() {
                0 => raw,
                n => raw + (n - 1) * INDEX_ENTRY_LEN as u64,
            };
            return Err(Error::IndexEndMismatch {
                file: self.path.clone(),
                offset,
                last_end: u64::try_from(prev).unwrap_or(0),
                raw_data_size: raw,
            });
        }
        Ok(())
    }
}

/// Where each shard of a dataset starts: maps a record index of the dataset to (shard, index in shard).
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    /// Global index of each shard's first record.
    starts: Vec<u64>,
    len: u64,
}

impl Layout {
    /// The layout of shards of these lengths, in order.
    pub(crate) fn new(lens: impl IntoIterator<Item = u64>) -> Self {
        let mut starts = Vec::new();
        let mut len = 0u64;
        for shard_len in lens {
            starts.push(len);
            len = len.saturating_add(shard_len);
        }
        Self { starts, len }
    }

    /// Total number of records.
    #[inline]
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Which shard holds record `index`, and its index within that shard.
    #[inline]
    pub(crate) fn locate(&self, index: u64) -> Option<(usize, u64)> {
        if index >= self.len {
            return None;
        }
        if self.starts.len() == 1 {
            return Some((0, index));
        }
        let shard = self.starts.partition_point(|&start| start <= index) - 1;
        Some((shard, index - self.starts[shard]))
    }

    /// [`locate`](Self::locate), or [`Error::IndexOutOfRange`].
    #[inline]
    pub(crate) fn locate_or_err(&self, index: u64) -> Result<(usize, u64)> {
        self.locate(index)
            .ok_or_else(|| out_of_range(i128::from(index), self.len))
    }

    /// A Python-style index (negative counts from the end) as a position.
    pub(crate) fn resolve_index(&self, index: i64) -> Result<u64> {
        resolve_index(self.len, index)
    }

    /// `range` as `start..end`, checked to lie within the dataset.
    pub(crate) fn bounds(&self, range: impl RangeBounds<u64>) -> Result<Range<u64>> {
        range_bounds(range, self.len)
    }
}

/// `range` as `start..end` over `len` records, checked to lie within them.
pub(crate) fn range_bounds(range: impl RangeBounds<u64>, len: u64) -> Result<Range<u64>> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.saturating_add(1),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => len,
    };
    if end > len {
        return Err(out_of_range(i128::from(end) - 1, len));
    }
    if start > end {
        return Err(out_of_range(i128::from(start), len));
    }
    Ok(start..end)
}

/// A Python-style index (negative counts from the end) of `len` records, as a position.
pub(crate) fn resolve_index(len: u64, index: i64) -> Result<u64> {
    let resolved = if index < 0 {
        i128::from(len) + i128::from(index)
    } else {
        i128::from(index)
    };
    u64::try_from(resolved)
        .ok()
        .filter(|&i| i < len)
        .ok_or_else(|| out_of_range(i128::from(index), len))
}

/// [`Error::IndexOutOfRange`].
#[cold]
pub(crate) fn out_of_range(index: i128, len: u64) -> Error {
    Error::IndexOutOfRange { index, len }
}

fn to_usize(n: u64, path: &Path) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::TooLarge {
        file: path.to_path_buf(),
    })
}

//! [`SparseIndexWriter`]: builds an index straight into an [`io::Write`](std::io::Write), streaming the keys and
//! buffering only the fixed-width arrays (20 bytes per entry in v1, 12.75 in v3, 12 bytes per restart point in
//! v2).

use std::fmt;
use std::io::Write;

use crate::error::{Error, Result};
use crate::format::{self, Format, UNKNOWN_DATA_END};
use crate::index::check_next;
use crate::prefix;
use crate::stats::common_prefix_len;

/// Bytes gathered before they are checksummed and handed to the underlying writer.
const FLUSH_AT: usize = 64 * 1024;

/// Streams a sparse index to an [`io::Write`](std::io::Write): [`add`](Self::add) the blocks in order, then
/// [`finish`](Self::finish) with the end offset of the data.
///
/// The writer buffers its own output (no `BufWriter` needed) and computes the CRC as it goes. After an I/O error
/// the partly written output is unusable: drop the writer. Order errors leave it unchanged and usable.
///
/// ```
/// use sparse_index::{Format, SparseIndexRef, SparseIndexWriter};
///
/// let mut writer = SparseIndexWriter::with_format(Vec::new(), Format::prefix_compressed());
/// writer.add(b"user:0001", 0)?;
/// writer.add(b"user:0042", 4096)?;
/// let bytes = writer.finish(6000)?;
///
/// let index = SparseIndexRef::from_bytes_verified(&bytes)?;
/// assert_eq!(index.floor_offset(b"user:0010"), Some(0));
/// assert_eq!(index.block_range(1), Some(4096..6000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SparseIndexWriter<W> {
    out: W,
    format: Format,
    /// Restart interval (v2) or 1 (v1, v3).
    interval: usize,
    /// Entries per head: 1 (v1), 16 (v3), 0 (v2: no heads).
    group: usize,
    buf: Vec<u8>,
    crc: crc32fast::Hasher,
    /// Bytes of body written so far (flushed or still in `buf`).
    body_len: u64,
    len: usize,
    /// v1, v3: every block offset; v2: the offset of every restart entry.
    offsets: Vec<u64>,
    /// v1, v3: every key end; v2: the stream position of every restart entry.
    ends: Vec<u32>,
    /// v1 (v3): the head of every (16th) key relative to the prefix shared by the keys added before it. The shared
    /// prefix only shrinks as keys are added; `finish` widens the heads of earlier epochs with bytes of the first
    /// key.
    heads: Vec<u64>,
    /// v3: where every 16th key starts in the key heap.
    group_starts: Vec<u32>,
    /// v1, v3: (first entry, shared prefix length) of every epoch, in order; the prefix length decreases.
    epochs: Vec<(usize, usize)>,
    first_key: Vec<u8>,
    last_key: Vec<u8>,
    last_offset: u64,
}

impl<W: Write> SparseIndexWriter<W> {
    /// A writer of the default layout, [`Format::Sampled`] (format version 3).
    pub fn new(out: W) -> Self {
        Self::with_format(out, Format::default())
    }

    /// A writer of `format`.
    pub fn with_format(out: W, format: Format) -> Self {
        let (interval, group) = match format {
            Format::Plain => (1, 1),
            Format::Sampled => (1, format::FANOUT),
            Format::PrefixCompressed { restart_interval } => {
                (usize::from(restart_interval.get()), 0)
            }
        };
        let mut buf = Vec::with_capacity(FLUSH_AT + 1024);
        buf.extend_from_slice(&format::encode_header(format));
        Self {
            out,
            format,
            interval,
            group,
            buf,
            crc: crc32fast::Hasher::new(),
            body_len: 0,
            len: 0,
            offsets: Vec::new(),
            ends: Vec::new(),
            heads: Vec::new(),
            group_starts: Vec::new(),
            epochs: Vec::new(),
            first_key: Vec::new(),
            last_key: Vec::new(),
            last_offset: 0,
        }
    }

    /// Reserves room for `entries` more entries in the buffered fixed-width arrays (20 bytes per entry in v1,
    /// 12.75 in v3, 12 bytes per restart point in v2), sparing reallocations when the number of blocks is roughly
    /// known.
    pub fn reserve(&mut self, entries: usize) {
        let slots = entries.div_ceil(self.interval);
        self.offsets.reserve(slots);
        self.ends.reserve(slots);
        if self.group > 0 {
            self.heads.reserve(entries.div_ceil(self.group));
        }
        if self.group > 1 {
            self.group_starts.reserve(entries.div_ceil(self.group));
        }
    }

    /// Number of entries added so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no entry was added yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a block whose first key is `first_key` and which starts at byte `offset`.
    ///
    /// # Errors
    ///
    /// [`Error::KeyNotAscending`] or [`Error::OffsetNotAscending`] unless both are strictly greater than the
    /// previous entry's, [`Error::TooLarge`] past `u32::MAX` entries or body bytes (nothing is written in these
    /// cases), [`Error::Io`] if writing fails.
    pub fn add(&mut self, first_key: impl AsRef<[u8]>, offset: u64) -> Result<()> {
        let key = first_key.as_ref();
        let last = (self.len > 0).then_some((self.last_key.as_slice(), self.last_offset));
        check_next(last, self.len, key, offset)?;
        if self.len >= u32::MAX as usize {
            return Err(Error::TooLarge { what: "entries" });
        }
        let start = self.buf.len();
        let restart = self.len.is_multiple_of(self.interval);
        match self.format {
            Format::Plain | Format::Sampled => self.buf.extend_from_slice(key),
            Format::PrefixCompressed { .. } if restart => {
                prefix::put_varint(&mut self.buf, key.len() as u64);
                self.buf.extend_from_slice(key);
            }
            Format::PrefixCompressed { .. } => {
                let shared = common_prefix_len(&self.last_key, key);
                prefix::put_varint(&mut self.buf, shared as u64);
                prefix::put_varint(&mut self.buf, (key.len() - shared) as u64);
                prefix::put_varint(&mut self.buf, offset - self.last_offset);
                self.buf.extend_from_slice(&key[shared..]);
            }
        }
        let position = self.body_len;
        let body_len = position + (self.buf.len() - start) as u64;
        let Ok(end) = u32::try_from(body_len) else {
            self.buf.truncate(start);
            return Err(Error::TooLarge {
                what: if self.group > 0 {
                    "key bytes"
                } else {
                    "entry stream bytes"
                },
            });
        };
        match self.format {
            Format::Plain | Format::Sampled => {
                self.offsets.push(offset);
                self.ends.push(end);
                if self.len == 0 {
                    self.first_key.extend_from_slice(key);
                    self.epochs.push((0, key.len()));
                }
                let shared = self.epochs.last().map_or(0, |&(_, shared)| shared);
                let common = common_prefix_len(&self.first_key, key);
                if common < shared {
                    self.epochs.push((self.len, common));
                }
                if self.len.is_multiple_of(self.group) {
                    self.heads
                        .push(format::key_head(&key[common.min(shared)..]));
                    if self.group > 1 {
                        // `position <= body_len`, which fits a u32.
                        self.group_starts.push(position as u32);
                    }
                }
            }
            Format::PrefixCompressed { .. } if restart => {
                self.offsets.push(offset);
                // `position <= body_len`, which fits a u32.
                self.ends.push(position as u32);
            }
            Format::PrefixCompressed { .. } => {}
        }
        self.body_len = body_len;
        self.len += 1;
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        self.last_offset = offset;
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    /// Writes the fixed-width arrays and the trailer, flushes, and returns the underlying writer.
    ///
    /// `data_end` is where the last block ends (the length of the data the index describes), or `None` when it
    /// is not known: `finish(6000)` and `finish(None)` both work.
    ///
    /// # Errors
    ///
    /// [`Error::DataEndNotAfterLastOffset`] if `data_end` is not greater than the last block's offset (nothing is
    /// written then, and the writer is dropped), [`Error::Io`] if writing fails.
    pub fn finish(mut self, data_end: impl Into<Option<u64>>) -> Result<W> {
        let data_end = data_end.into();
        if data_end == Some(UNKNOWN_DATA_END) {
            return Err(Error::ReservedDataEnd);
        }
        if let Some(data_end) = data_end
            && self.len > 0
            && data_end <= self.last_offset
        {
            return Err(Error::DataEndNotAfterLastOffset {
                data_end,
                last_offset: self.last_offset,
            });
        }
        let offsets = std::mem::take(&mut self.offsets);
        self.put_words(&offsets, |offset| offset.to_le_bytes())?;
        let ends = std::mem::take(&mut self.ends);
        self.put_words(&ends, |end| end.to_le_bytes())?;
        let group_starts = std::mem::take(&mut self.group_starts);
        self.put_words(&group_starts, |start| start.to_le_bytes())?;
        let prefix_len = self.epochs.last().map_or(0, |&(_, shared)| shared);
        let mut heads = std::mem::take(&mut self.heads);
        let epochs = std::mem::take(&mut self.epochs);
        // Epochs start at entries; entry `i` has head `i / group` if `group` divides `i`.
        let group = self.group.max(1);
        for (e, &(start, shared)) in epochs.iter().enumerate() {
            let start = start.div_ceil(group);
            let end = epochs
                .get(e + 1)
                .map_or(heads.len(), |&(next, _)| next.div_ceil(group));
            let widen = shared - prefix_len;
            if widen > 0 {
                let from_first = format::key_head(&self.first_key[prefix_len..shared]);
                for head in &mut heads[start..end] {
                    // The head's first `widen` bytes now come from the first key (all keys share them).
                    *head = if widen >= 8 {
                        from_first
                    } else {
                        from_first | (*head >> (8 * widen))
                    };
                }
            }
        }
        let level1: Vec<u64> = heads.iter().copied().step_by(format::FANOUT).collect();
        self.put_words(&heads, |head| head.to_be_bytes())?;
        let upper: Vec<u64> = format::upper_level_heads(&level1, heads.len()).collect();
        self.put_words(&upper, |head| head.to_be_bytes())?;
        // `add` keeps all three within u32.
        self.buf.extend_from_slice(&format::encode_trailer_fields(
            self.len as u32,
            self.body_len as u32,
            data_end.unwrap_or(UNKNOWN_DATA_END),
            prefix_len as u32,
        ));
        self.crc.update(&self.buf);
        let crc = self.crc.clone().finalize();
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.buf.extend_from_slice(&format::MAGIC);
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Appends fixed-width encodings of `items`, a chunk at a time, flushing between chunks.
    fn put_words<T: Copy, const N: usize>(
        &mut self,
        items: &[T],
        encode: impl Fn(T) -> [u8; N],
    ) -> Result<()> {
        for chunk in items.chunks(FLUSH_AT / N) {
            let start = self.buf.len();
            self.buf.resize(start + N * chunk.len(), 0);
            for (word, &item) in self.buf[start..].chunks_exact_mut(N).zip(chunk) {
                word.copy_from_slice(&encode(item));
            }
            if self.buf.len() >= FLUSH_AT {
                self.flush_buf()?;
            }
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<()> {
        self.crc.update(&self.buf);
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

impl<W> fmt::Debug for SparseIndexWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SparseIndexWriter")
            .field("format", &self.format)
            .field("len", &self.len)
            .field("body_len", &self.body_len)
            .finish_non_exhaustive()
    }
}

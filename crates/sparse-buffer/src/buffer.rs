//! [`SparseBuffer`]: the byte regions of a file fetched so far, in an ordered map of shared chunks.
//!
//! The bytes are kept as [`Bytes`] chunks keyed by their first offset in a `BTreeMap`. Chunks never overlap; two
//! chunks whose ends touch form one logical region. Adding bytes carves the old chunks they overwrite (a
//! [`Bytes::slice`], never a copy) and inserts the new chunk as it is, so whatever order the regions arrive in,
//! their bytes are not copied. (The one exception is bounded: a region of at most 256 bytes is joined with the
//! short chunks it touches into one chunk of at most 4 KiB, so that byte-by-byte adds are not stored and read
//! byte by byte.) Adding a region costs O((k + 1) log n) for the k chunks it covers entirely, and at most
//! two descents of the map when it covers none; since each add inserts at most two chunks, and a chunk is
//! removed at most once, that is amortised O(log n) per add. A lookup costs one descent plus one step per
//! chunk it reads.
//!
//! Reads that follow many other reads without a change in between search a flat copy of the map instead
//! ([`Flat`]): sorted arrays of chunk starts and chunks, built once as many reads as there are chunks have gone
//! by since the last change (so it costs at most about one array push per read), and dropped by the next change.
//! A lookup there is two short binary searches over arrays that mostly stay in cache, where a `BTreeMap` descent
//! misses the cache at almost every node.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Bound, Range};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};

use crate::error::{Error, Result};

/// What a positional read ([`SparseBuffer::read_at`]) found at its offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub enum ReadAt {
    /// This many bytes were copied: as many as fit in the buffer, up to the end of the cached region and never
    /// past the end of the file. Zero only when the buffer is empty.
    Data(usize),
    /// The offset is inside the file but not cached.
    Gap {
        /// Where the next cached region starts, if any region starts after the offset.
        next_cached: Option<u64>,
    },
    /// The offset is at or past the end of the file.
    End,
}

/// A region this short is joined with the short chunks it touches when it is added.
const COMPACT_TRIGGER: usize = 256;
/// Chunks joined that way stay at most this long.
const COMPACT_LIMIT: usize = 4096;

/// Starts per block of [`Flat::starts`]: [`Flat::fences`] holds the first start of every block.
const FENCE_EVERY: usize = 32;
/// Reads without a change before the flat copy is built, at the least (more when there are more chunks).
const MIN_READS_BEFORE_FLAT: usize = 32;

/// A sorted, flat copy of the chunk map for lookups: a read finds its chunk with a binary search over
/// [`fences`](Self::fences) (small enough to stay in cache), then over one block of [`FENCE_EVERY`] starts.
#[derive(Clone, Default)]
struct Flat {
    /// The first offset of every chunk, ascending.
    starts: Vec<u64>,
    /// `starts[FENCE_EVERY * j]` for every block `j`.
    fences: Vec<u64>,
    /// The chunks, in the order of `starts`.
    chunks: Vec<Bytes>,
}

impl Flat {
    fn new(map: &BTreeMap<u64, Bytes>) -> Self {
        let starts: Vec<u64> = map.keys().copied().collect();
        let fences = starts.iter().copied().step_by(FENCE_EVERY).collect();
        Self {
            starts,
            fences,
            chunks: map.values().cloned().collect(),
        }
    }

    /// Number of chunks starting at or before `offset`.
    #[inline]
    fn count_up_to(&self, offset: u64) -> usize {
        let blocks = count_le(&self.fences, offset);
        let Some(block) = blocks.checked_sub(1) else {
            return 0;
        };
        let first = block * FENCE_EVERY;
        let end = (first + FENCE_EVERY).min(self.starts.len());
        first + count_le(&self.starts[first..end], offset)
    }
}

/// Number of leading values `<= x` in ascending `values`: a binary search whose loop runs ⌈log2 n⌉ times
/// whatever the comparisons find, so it has no branch to mispredict.
#[inline]
fn count_le(values: &[u64], x: u64) -> usize {
    let Some(&first) = values.first() else {
        return 0;
    };
    if first > x {
        return 0;
    }
    // Invariant: values[base] <= x.
    let mut base = 0;
    let mut size = values.len();
    while size > 1 {
        let half = size / 2;
        let mid = base + half;
        base = if values[mid] <= x { mid } else { base };
        size -= half;
    }
    base + 1
}

/// The lazily built [`Flat`] copy of a buffer's chunks, and the reads counted while there is none.
#[derive(Default)]
struct ReadIndex {
    flat: OnceLock<Flat>,
    reads: AtomicUsize,
}

impl Clone for ReadIndex {
    fn clone(&self) -> Self {
        Self {
            flat: self.flat.clone(),
            reads: AtomicUsize::new(self.reads.load(Ordering::Relaxed)),
        }
    }
}

/// How a new region meets the chunks already stored (see [`SparseBuffer::add_region`]).
enum Overlap {
    /// No chunk starts before its end.
    None,
    /// The chunk before it was trimmed (by this many bytes, possibly 0); nothing else overlaps.
    Trimmed(u64),
    /// A chunk starts exactly where it does and nothing else starts inside it: that chunk is replaced (this
    /// many of its bytes are overwritten).
    Replaced(u64),
    /// Several chunks start inside it: the general path.
    Several,
}

/// The cached byte regions of a file of known size, readable like the file itself.
///
/// Regions that overlap or touch merge into one; where new bytes overlap old ones, the new bytes win. A region
/// must lie inside `0..size`. Reads never cross a gap: [`read_at`](Self::read_at) returns [`ReadAt::Gap`]
/// there, and the [`io::Read`](std::io::Read) implementation an error holding [`Error::NotCached`], so that a
/// gap is never mistaken for the end of the file.
///
/// Lookups descend an ordered map of the stored chunks. Once there have been as many reads as chunks since the
/// last change, [`read_at`](Self::read_at) switches to a flat sorted copy of the map (about 40 bytes per chunk,
/// sharing the chunks' bytes), which is faster to search and is dropped by the next change.
///
/// ```
/// use sparse_buffer::{ReadAt, SparseBuffer};
///
/// let mut buffer = SparseBuffer::new(1000);
/// buffer.add_region(0, &b"MAGIC"[..])?;
/// buffer.add_region(990, &b"footer.123"[..])?;
/// assert_eq!(buffer.regions().collect::<Vec<_>>(), [0..5, 990..1000]);
/// assert_eq!(buffer.missing(0..1000), [5..990]);
///
/// let mut out = [0; 8];
/// assert_eq!(buffer.read_at(2, &mut out), ReadAt::Data(3)); // partial: the region ends at 5
/// assert_eq!(&out[..3], b"GIC");
/// assert_eq!(buffer.read_at(5, &mut out), ReadAt::Gap { next_cached: Some(990) });
/// assert_eq!(buffer.read_at(1000, &mut out), ReadAt::End);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct SparseBuffer {
    /// Disjoint chunks keyed by their first offset; touching chunks belong to one region.
    chunks: BTreeMap<u64, Bytes>,
    /// A flat copy of `chunks` for reads, once enough reads came without a change; every change drops it.
    index: ReadIndex,
    size: u64,
    cached: u64,
    /// The cursor of the `io::Read` and `io::Seek` implementations.
    pub(crate) position: u64,
}

impl fmt::Debug for SparseBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SparseBuffer")
            .field("size", &self.size)
            .field("position", &self.position)
            .field("cached_bytes", &self.cached)
            .field("chunks", &self.chunks.len())
            .finish()
    }
}

pub(crate) fn len_u64(len: usize) -> u64 {
    // usize is at most 64 bits on every platform Rust supports.
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// Converts a length known to be at most some slice's length back to `usize`.
fn to_usize(len: u64) -> usize {
    usize::try_from(len).unwrap_or(usize::MAX)
}

impl SparseBuffer {
    /// An empty buffer for a file of `size` bytes, its cursor at 0.
    #[must_use]
    pub fn new(size: u64) -> Self {
        Self {
            chunks: BTreeMap::new(),
            index: ReadIndex::default(),
            size,
            cached: 0,
            position: 0,
        }
    }

    /// The size of the file.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The cursor of the [`io::Read`](std::io::Read) and [`io::Seek`](std::io::Seek) implementations.
    #[must_use]
    pub fn position(&self) -> u64 {
        self.position
    }

    /// How many bytes are cached.
    #[must_use]
    pub fn cached_bytes(&self) -> u64 {
        self.cached
    }

    /// Whether no byte is cached.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    /// Drops every cached byte; the size and the cursor stay.
    pub fn clear(&mut self) {
        self.changed();
        self.chunks.clear();
        self.cached = 0;
    }

    /// Drops the flat copy of the chunks: called before every change to them.
    fn changed(&mut self) {
        if self.index.flat.get().is_some() {
            self.index.flat = OnceLock::new();
        }
        *self.index.reads.get_mut() = 0;
    }

    /// The flat copy of the chunks, built now if enough reads came without a change.
    #[inline]
    fn flat(&self) -> Option<&Flat> {
        if let Some(flat) = self.index.flat.get() {
            return Some(flat);
        }
        let reads = self.index.reads.fetch_add(1, Ordering::Relaxed);
        (reads >= self.chunks.len().max(MIN_READS_BEFORE_FLAT))
            .then(|| self.index.flat.get_or_init(|| Flat::new(&self.chunks)))
    }

    /// Stores `data` as the bytes at `offset..offset + data.len()`, taking ownership without copying.
    ///
    /// The region merges with every region it overlaps or touches, and overwrites the bytes it overlaps. Empty
    /// `data` is a no-op.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfBounds`] when the region ends past [`size`](Self::size); the buffer is unchanged then.
    pub fn add_region(&mut self, offset: u64, data: impl Into<Bytes>) -> Result<()> {
        let data = data.into();
        if data.is_empty() {
            return Ok(());
        }
        let end = self.region_end(offset, data.len())?;
        self.changed();
        // The last chunk starting before `end` tells which case this is, in one descent of the map.
        let mut tail = None;
        let case = match self.chunks.range_mut(..end).next_back() {
            None => Overlap::None,
            Some((&start, chunk)) => {
                let chunk_end = start + len_u64(chunk.len());
                if chunk_end > end {
                    tail = Some(chunk.slice(to_usize(end - start)..));
                }
                if start < offset {
                    // Nothing starts inside the new region; this chunk alone may overlap it: keep its head.
                    if chunk_end > offset {
                        chunk.truncate(to_usize(offset - start));
                    }
                    Overlap::Trimmed(chunk_end.clamp(offset, end) - offset)
                } else if start == offset {
                    // The insert below replaces this chunk; chunks never overlap, so the one before it ends
                    // at or before `offset`.
                    Overlap::Replaced(chunk_end.min(end) - offset)
                } else {
                    Overlap::Several
                }
            }
        };
        let removed = match case {
            Overlap::None => 0,
            Overlap::Trimmed(removed) | Overlap::Replaced(removed) => removed,
            Overlap::Several => {
                tail = None;
                self.carve(offset, end)
            }
        };
        if let Some(tail) = tail {
            self.chunks.insert(end, tail);
        }
        self.cached -= removed;
        self.cached += len_u64(data.len());
        let small = data.len() <= COMPACT_TRIGGER;
        self.chunks.insert(offset, data);
        if small {
            self.compact_around(offset, end);
        }
        Ok(())
    }

    /// Joins the small chunk at `start..end` with the small chunks touching it, so that regions built from many
    /// tiny adds are not kept (and read) a few bytes at a time. Copies at most [`COMPACT_LIMIT`] bytes.
    fn compact_around(&mut self, start: u64, end: u64) {
        let Some(middle) = self.chunks.get(&start) else {
            return;
        };
        let mut total = middle.len();
        let left = self
            .chunks
            .range(..start)
            .next_back()
            .filter(|&(&left_start, left)| {
                left_start + len_u64(left.len()) == start && total + left.len() <= COMPACT_LIMIT
            })
            .map(|(&left_start, _)| left_start);
        if let Some(left_start) = left {
            total += to_usize(start - left_start);
        }
        let right = self
            .chunks
            .get(&end)
            .is_some_and(|right| total + right.len() <= COMPACT_LIMIT);
        if left.is_none() && !right {
            return;
        }
        let first = left.unwrap_or(start);
        let mut joined = BytesMut::new();
        for key in [left, Some(start), right.then_some(end)]
            .into_iter()
            .flatten()
        {
            if let Some(chunk) = self.chunks.remove(&key) {
                joined.extend_from_slice(&chunk);
            }
        }
        self.chunks.insert(first, joined.freeze());
    }

    /// Cuts `start..end` out of the chunk that starts before `start`, if it reaches past `start`: its head stays
    /// in place (truncated), its tail past `end` becomes a chunk of its own. Returns how many bytes it lost.
    fn trim_left_neighbour(&mut self, start: u64, end: u64) -> u64 {
        let Some((&chunk_start, chunk)) = self.chunks.range_mut(..start).next_back() else {
            return 0;
        };
        let chunk_end = chunk_start + len_u64(chunk.len());
        if chunk_end <= start {
            return 0;
        }
        let tail = (chunk_end > end).then(|| chunk.slice(to_usize(end - chunk_start)..));
        chunk.truncate(to_usize(start - chunk_start));
        if let Some(tail) = tail {
            self.chunks.insert(end, tail);
        }
        chunk_end.min(end) - start
    }

    /// Like [`add_region`](Self::add_region), copying `data` once.
    ///
    /// # Errors
    ///
    /// [`Error::OutOfBounds`] when the region ends past [`size`](Self::size).
    pub fn add_region_from_slice(&mut self, offset: u64, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.region_end(offset, data.len())?;
        self.add_region(offset, Bytes::copy_from_slice(data))
    }

    fn region_end(&self, offset: u64, len: usize) -> Result<u64> {
        offset
            .checked_add(len_u64(len))
            .filter(|&end| end <= self.size)
            .ok_or_else(|| Error::OutOfBounds {
                name: "sparse buffer".to_owned(),
                start: offset,
                end: offset.saturating_add(len_u64(len)),
                size: self.size,
            })
    }

    /// Drops the cached bytes inside `range` (clipped to the file); returns how many were cached.
    pub fn remove(&mut self, range: Range<u64>) -> u64 {
        let end = range.end.min(self.size);
        if range.start >= end {
            return 0;
        }
        self.changed();
        let removed = self.carve(range.start, end);
        self.cached -= removed;
        removed
    }

    /// Removes the stored bytes of `start..end` (start < end), slicing the chunks that straddle its edges.
    /// Returns how many bytes were removed.
    fn carve(&mut self, start: u64, end: u64) -> u64 {
        let mut removed = self.trim_left_neighbour(start, end);
        while let Some((&chunk_start, _)) = self.chunks.range(start..end).next() {
            let Some(chunk) = self.chunks.remove(&chunk_start) else {
                break;
            };
            let chunk_end = chunk_start + len_u64(chunk.len());
            if chunk_end > end {
                self.chunks
                    .insert(end, chunk.slice(to_usize(end - chunk_start)..));
                removed += end - chunk_start;
                break;
            }
            removed += chunk_end - chunk_start;
        }
        removed
    }

    /// The stored chunk holding byte `offset`, with its first offset.
    fn chunk_at(&self, offset: u64) -> Option<(u64, &Bytes)> {
        let (&start, chunk) = self.chunks.range(..=offset).next_back()?;
        (offset < start + len_u64(chunk.len())).then_some((start, chunk))
    }

    /// The first cached byte after `offset` that starts a region, if any.
    fn next_region_after(&self, offset: u64) -> Option<u64> {
        self.chunks
            .range((Bound::Excluded(offset), Bound::Unbounded))
            .next()
            .map(|(&start, _)| start)
    }

    /// The cached regions, sorted, each an end-exclusive range; touching chunks are reported as one region.
    pub fn regions(&self) -> Regions<'_> {
        Regions {
            chunks: self.chunks.iter().peekable(),
        }
    }

    /// Whether every byte of `range` is cached (an empty range always is).
    #[must_use]
    pub fn contains(&self, range: Range<u64>) -> bool {
        range.start >= range.end || self.missing_raw(range.start, range.end).next().is_none()
    }

    /// The gaps inside `range` (clipped to the file), sorted: what to fetch to have all of `range`.
    #[must_use]
    pub fn missing(&self, range: Range<u64>) -> Vec<Range<u64>> {
        let end = range.end.min(self.size);
        if range.start >= end {
            return Vec::new();
        }
        self.missing_raw(range.start, end).collect()
    }

    fn missing_raw(&self, start: u64, end: u64) -> impl Iterator<Item = Range<u64>> + '_ {
        let mut cursor = match self.chunk_at(start) {
            Some((chunk_start, chunk)) => chunk_start + len_u64(chunk.len()),
            None => start,
        };
        let mut chunks = self
            .chunks
            .range((Bound::Excluded(start), Bound::Excluded(end)));
        let mut done = false;
        std::iter::from_fn(move || {
            while !done && cursor < end {
                match chunks.next() {
                    Some((&chunk_start, chunk)) => {
                        let chunk_end = chunk_start + len_u64(chunk.len());
                        let gap = cursor..chunk_start;
                        cursor = cursor.max(chunk_end);
                        if !gap.is_empty() {
                            return Some(gap);
                        }
                    }
                    None => {
                        done = true;
                        return Some(cursor..end);
                    }
                }
            }
            None
        })
    }

    /// The bytes of `start..start + len` when one region holds all of them, else `None`.
    ///
    /// Zero-copy when a single stored chunk holds them; copied once when they span touching chunks. As in the
    /// reference, `len == 0` gives empty bytes when `start` is inside a region or at its end, and `None` in a gap.
    #[must_use]
    pub fn find_region(&self, start: u64, len: u64) -> Option<Bytes> {
        if len == 0 {
            let (&chunk_start, chunk) = self.chunks.range(..=start).next_back()?;
            return (start <= chunk_start + len_u64(chunk.len())).then(Bytes::new);
        }
        let end = start.checked_add(len)?;
        let (chunk_start, chunk) = self.chunk_at(start)?;
        let chunk_end = chunk_start + len_u64(chunk.len());
        let from = to_usize(start - chunk_start);
        if end <= chunk_end {
            return Some(chunk.slice(from..to_usize(end - chunk_start)));
        }
        if !self.contains(chunk_end..end) {
            return None;
        }
        let mut joined = BytesMut::with_capacity(to_usize(len));
        joined.extend_from_slice(&chunk[from..]);
        for (&next_start, next) in self.chunks.range(chunk_end..end) {
            let take = to_usize((end - next_start).min(len_u64(next.len())));
            joined.extend_from_slice(&next[..take]);
        }
        Some(joined.freeze())
    }

    /// Copies the cached bytes at `offset` into `buf`, up to the end of their region and of the file.
    ///
    /// Needs only `&self`, so any number of threads can read one buffer at once.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> ReadAt {
        if offset >= self.size {
            return ReadAt::End;
        }
        // Never past the end of the file.
        let want = to_usize(len_u64(buf.len()).min(self.size - offset));
        let buf = &mut buf[..want];
        if let Some(flat) = self.flat() {
            return self.read_flat(flat, offset, buf);
        }
        let Some((chunk_start, chunk)) = self.chunk_at(offset) else {
            return ReadAt::Gap {
                next_cached: self.next_region_after(offset),
            };
        };
        let next = self
            .chunks
            .range((Bound::Excluded(chunk_start), Bound::Unbounded));
        ReadAt::Data(copy_region((chunk_start, chunk), next, offset, buf))
    }

    /// [`read_at`](Self::read_at) through the flat copy of the chunks (`offset < size`, `buf` cut at the file's end).
    #[inline]
    fn read_flat(&self, flat: &Flat, offset: u64, buf: &mut [u8]) -> ReadAt {
        let at = flat.count_up_to(offset);
        let found = at.checked_sub(1).and_then(|i| {
            let start = flat.starts[i];
            let chunk = &flat.chunks[i];
            (offset < start + len_u64(chunk.len())).then_some((start, chunk))
        });
        let Some((chunk_start, chunk)) = found else {
            return ReadAt::Gap {
                next_cached: flat.starts.get(at).copied(),
            };
        };
        let next = flat.starts[at..].iter().zip(&flat.chunks[at..]);
        ReadAt::Data(copy_region((chunk_start, chunk), next, offset, buf))
    }
}

/// Copies into `buf` the bytes from `offset` of the chunk at `start`, then of the chunks after it (`next`, in
/// order) while they touch: one region. Returns how many bytes it copied.
#[inline]
fn copy_region<'a>(
    (start, chunk): (u64, &Bytes),
    next: impl Iterator<Item = (&'a u64, &'a Bytes)>,
    offset: u64,
    buf: &mut [u8],
) -> usize {
    let from = to_usize(offset - start);
    let first = buf.len().min(chunk.len() - from);
    buf[..first].copy_from_slice(&chunk[from..from + first]);
    let mut filled = first;
    let mut cursor = start + len_u64(chunk.len());
    for (&next_start, next) in next {
        if next_start != cursor || filled == buf.len() {
            break;
        }
        let take = (buf.len() - filled).min(next.len());
        buf[filled..filled + take].copy_from_slice(&next[..take]);
        filled += take;
        cursor += len_u64(next.len());
    }
    filled
}

/// The cached regions of a [`SparseBuffer`], from [`SparseBuffer::regions`].
#[derive(Clone)]
pub struct Regions<'a> {
    chunks: std::iter::Peekable<std::collections::btree_map::Iter<'a, u64, Bytes>>,
}

impl fmt::Debug for Regions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.clone()).finish()
    }
}

impl Iterator for Regions<'_> {
    type Item = Range<u64>;

    fn next(&mut self) -> Option<Range<u64>> {
        let (&start, chunk) = self.chunks.next()?;
        let mut end = start + len_u64(chunk.len());
        while let Some(&(&next_start, next)) = self.chunks.peek() {
            if next_start != end {
                break;
            }
            end += len_u64(next.len());
            self.chunks.next();
        }
        Some(start..end)
    }
}

impl std::iter::FusedIterator for Regions<'_> {}

//! Sequential iteration over the records of one or more shards.

use std::iter::FusedIterator;

use memmap2::Mmap;

use crate::core::out_of_range;
use crate::error::{Error, Result};
use crate::shard::Shard;

/// Records in order, across shard boundaries; each item is checked against the index as it is read.
///
/// In a shard whose index was checked when it was copied at open (see [`Shard`]), and that has no checksums
/// attached, records are sliced from the payload without any further check; `next` is small enough to be inlined
/// into the caller's loop.
///
/// Made by [`Dataset::iter`](crate::Dataset::iter), [`Dataset::range`](crate::Dataset::range) and
/// [`Shard::iter`].
pub struct Iter<'a, D = Mmap> {
    /// The payload of the shard `offsets` belong to.
    payload: &'a [u8],
    /// Record boundaries still to read without checks: the next record is `payload[offsets[0]..offsets[1]]`
    /// (used up when fewer than two are left).
    offsets: &'a [usize],
    shards: &'a [Shard<D>],
    /// Where the checked reads continue once `offsets` is used up.
    shard: usize,
    pos: usize,
    prev: i64,
    /// Records left, those in `offsets` included.
    remaining: u64,
}

impl<D> std::fmt::Debug for Iter<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter")
            .field("shard", &self.shard)
            .field("pos", &self.pos)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

impl<D> Clone for Iter<'_, D> {
    fn clone(&self) -> Self {
        Self { ..*self }
    }
}

impl<'a, D: AsRef<[u8]>> Iter<'a, D> {
    /// Iterates `count` records starting at record `pos` of `shards[shard]` (the caller checks the bounds).
    pub(crate) fn new(shards: &'a [Shard<D>], shard: usize, pos: usize, count: u64) -> Self {
        let prev = match (shards.get(shard), pos) {
            (Some(s), p) if p > 0 => s.end(p - 1),
            _ => 0,
        };
        Self {
            payload: &[],
            offsets: &[],
            shards,
            shard,
            pos,
            prev,
            remaining: count,
        }
    }

    /// The error for a window entry outside the payload, which the check at open rules out.
    #[cold]
    #[inline(never)]
    fn window_error(&self, start: usize, end: usize) -> Error {
        let record = self.pos - self.offsets.len();
        let (start, end) = (start as i64, end as i64);
        match self.shards.get(self.shard) {
            Some(shard) => shard.bad_entry(record, start, end),
            None => out_of_range(record as i128, 0),
        }
    }

    /// `next` when the unchecked window is used up: moves to the next shard when this one is done, opens a new
    /// window when the shard's index was checked at open, else reads one record with its entries checked.
    #[inline(never)]
    fn next_checked(&mut self) -> Option<Result<&'a [u8]>> {
        if self.remaining == 0 {
            return None;
        }
        let mut shard = self.shards.get(self.shard)?;
        while self.pos >= shard.records() {
            self.shard += 1;
            self.pos = 0;
            self.prev = 0;
            shard = self.shards.get(self.shard)?;
        }
        if let Some((payload, offsets)) = shard.checked_offsets(self.pos) {
            let count = usize::try_from(self.remaining)
                .unwrap_or(usize::MAX)
                .min(shard.records() - self.pos);
            if let Some(window) = offsets.get(..=count) {
                self.payload = payload;
                self.offsets = window;
                self.pos += count;
                self.prev = shard.end(self.pos - 1);
                return self.next();
            }
        }
        let end = shard.end(self.pos);
        let start = std::mem::replace(&mut self.prev, end);
        let i = self.pos;
        self.pos += 1;
        self.remaining -= 1;
        Some(shard.record(i, start, end))
    }
}

impl<'a, D: AsRef<[u8]>> Iterator for Iter<'a, D> {
    type Item = Result<&'a [u8]>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if let [start, end, ..] = *self.offsets {
            self.offsets = &self.offsets[1..];
            self.remaining -= 1;
            // The window was checked at open (`start <= end <= payload.len()`), so `get` always answers.
            return Some(match self.payload.get(start..end) {
                Some(record) => Ok(record),
                None => Err(self.window_error(start, end)),
            });
        }
        self.next_checked()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (n, usize::try_from(self.remaining).ok())
    }
}

impl<D: AsRef<[u8]>> ExactSizeIterator for Iter<'_, D> {}
impl<D: AsRef<[u8]>> FusedIterator for Iter<'_, D> {}

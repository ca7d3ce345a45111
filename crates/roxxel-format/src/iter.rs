//! Sequential iteration over the records of one or more shards.

use std::iter::FusedIterator;

use memmap2::Mmap;

use crate::error::Result;
use crate::shard::Shard;

/// Records in order, across shard boundaries; each item is checked against the index as it is read.
///
/// Made by [`Dataset::iter`](crate::Dataset::iter), [`Dataset::range`](crate::Dataset::range) and
/// [`Shard::iter`].
pub struct Iter<'a, D = Mmap> {
    shards: &'a [Shard<D>],
    shard: usize,
    pos: usize,
    prev: i64,
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
            shards,
            shard,
            pos,
            prev,
            remaining: count,
        }
    }
}

impl<'a, D: AsRef<[u8]>> Iterator for Iter<'a, D> {
    type Item = Result<&'a [u8]>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let mut shard = &self.shards[self.shard];
        while self.pos >= shard.records() {
            self.shard += 1;
            self.pos = 0;
            self.prev = 0;
            shard = &self.shards[self.shard];
        }
        let end = shard.end(self.pos);
        let start = std::mem::replace(&mut self.prev, end);
        let i = self.pos;
        self.pos += 1;
        self.remaining -= 1;
        Some(shard.record(i, start, end))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (n, usize::try_from(self.remaining).ok())
    }
}

impl<D: AsRef<[u8]>> ExactSizeIterator for Iter<'_, D> {}
impl<D: AsRef<[u8]>> FusedIterator for Iter<'_, D> {}

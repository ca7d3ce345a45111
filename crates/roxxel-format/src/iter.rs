//! Sequential iteration over the records of one or more shards.

use std::iter::FusedIterator;

use memmap2::Mmap;

use crate::core::out_of_range;
use crate::error::Result;
use crate::shard::Shard;

/// Records in order, across shard boundaries; each item is checked against the index as it is read.
///
/// In a shard whose index was checked when it was copied at open (see [`Shard`]), and that has no checksums
/// attached, records are sliced from the payload without any further check; `next` is small enough to be inlined
/// into the caller's loop.
///
/// Made by [`Dataset::iter`](crate::Dataset::iter), [`Dataset::range`](crate::Dataset::range),
/// [`Shard::iter`] and [`Shard::range`].
pub struct Iter<'a, D = Mmap> {
    /// Records read without checks. Only `next` writes it, so that it can live in registers in the caller's
    /// loop; the slow path returns a new one.
    window: Window<'a>,
    /// Where the reads continue once the window is used up.
    rest: Rest<'a, D>,
}

/// Records of one shard whose index was checked at open: the next record is `payload[offsets[0]..offsets[1]]`
/// (used up when fewer than two offsets are left).
#[derive(Clone, Copy)]
struct Window<'a> {
    payload: &'a [u8],
    offsets: &'a [usize],
}

impl Window<'_> {
    const EMPTY: Self = Window {
        payload: &[],
        offsets: &[],
    };

    /// Records in the window.
    fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

/// The position after the window.
struct Rest<'a, D> {
    shards: &'a [Shard<D>],
    shard: usize,
    /// The next record of `shards[shard]` after the window.
    pos: usize,
    /// The end of the record before `pos`.
    prev: i64,
    /// Records left after those in the window.
    remaining: u64,
}

impl<D> Clone for Rest<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}

// Passed and returned by value, so that no pointer into the iterator escapes from `next`.
impl<D> Copy for Rest<'_, D> {}

impl<D> Iter<'_, D> {
    /// Records left: those in the window and those after it.
    fn left(&self) -> u64 {
        self.rest.remaining + self.window.len() as u64
    }
}

impl<D> std::fmt::Debug for Iter<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iter")
            .field("shard", &self.rest.shard)
            .field("pos", &(self.rest.pos - self.window.len()))
            .field("remaining", &self.left())
            .finish_non_exhaustive()
    }
}

impl<D> Clone for Iter<'_, D> {
    fn clone(&self) -> Self {
        Self {
            window: self.window,
            rest: self.rest,
        }
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
            window: Window::EMPTY,
            rest: Rest {
                shards,
                shard,
                pos,
                prev,
                remaining: count,
            },
        }
    }
}

impl<'a, D: AsRef<[u8]>> Rest<'a, D> {
    /// The next item once the window is used up, and the new window: moves to the next shard when this one is
    /// done, opens a window when the shard's index was checked at open, else reads one record with its entries
    /// checked.
    #[inline(never)]
    fn next(mut self) -> (Option<Result<&'a [u8]>>, Window<'a>, Self) {
        if self.remaining == 0 {
            return (None, Window::EMPTY, self);
        }
        let Some(mut shard) = self.shards.get(self.shard) else {
            return (None, Window::EMPTY, self);
        };
        while self.pos >= shard.records() {
            self.shard += 1;
            self.pos = 0;
            self.prev = 0;
            match self.shards.get(self.shard) {
                Some(next) => shard = next,
                None => return (None, Window::EMPTY, self),
            }
        }
        if let Some((payload, offsets)) = shard.checked_offsets(self.pos) {
            let count = usize::try_from(self.remaining)
                .unwrap_or(usize::MAX)
                .min(shard.records() - self.pos);
            if let Some(offsets) = offsets.get(..=count) {
                self.remaining -= count as u64;
                self.pos += count;
                self.prev = shard.end(self.pos - 1);
                let window = Window { payload, offsets };
                if let [start, end, ..] = *offsets {
                    let window = Window {
                        payload,
                        offsets: &offsets[1..],
                    };
                    return (self.window_item(&window, start, end), window, self);
                }
                return (None, window, self);
            }
        }
        let end = shard.end(self.pos);
        let start = std::mem::replace(&mut self.prev, end);
        let i = self.pos;
        self.pos += 1;
        self.remaining -= 1;
        (Some(shard.record(i, start, end)), Window::EMPTY, self)
    }

    /// The window's record `payload[start..end]`, which the check at open guarantees lies within the payload
    /// (an error naming the entry if it did not). `window` is the window after this record.
    fn window_item(
        &self,
        window: &Window<'a>,
        start: usize,
        end: usize,
    ) -> Option<Result<&'a [u8]>> {
        match window.payload.get(start..end) {
            Some(record) => Some(Ok(record)),
            None => self.window_error(window.offsets.len(), start, end),
        }
    }

    #[cold]
    #[inline(never)]
    fn window_error(
        self,
        offsets_left: usize,
        start: usize,
        end: usize,
    ) -> Option<Result<&'a [u8]>> {
        let record = self.pos - offsets_left;
        let (start, end) = (start as i64, end as i64);
        Some(Err(match self.shards.get(self.shard) {
            Some(shard) => shard.bad_entry(record, start, end),
            None => out_of_range(record as i128, 0),
        }))
    }
}

impl<'a, D: AsRef<[u8]>> Iterator for Iter<'a, D> {
    type Item = Result<&'a [u8]>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if let [start, end, ..] = *self.window.offsets {
            self.window.offsets = &self.window.offsets[1..];
            return match self.window.payload.get(start..end) {
                Some(record) => Some(Ok(record)),
                None => self
                    .rest
                    .window_error(self.window.offsets.len(), start, end),
            };
        }
        let (item, window, rest) = self.rest.next();
        self.window = window;
        self.rest = rest;
        item
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.left();
        (
            usize::try_from(left).unwrap_or(usize::MAX),
            usize::try_from(left).ok(),
        )
    }
}

impl<D: AsRef<[u8]>> ExactSizeIterator for Iter<'_, D> {}
impl<D: AsRef<[u8]>> FusedIterator for Iter<'_, D> {}

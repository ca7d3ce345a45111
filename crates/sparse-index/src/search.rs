//! The lookup semantics shared by every representation: binary search, key comparison, and the derived queries
//! (`floor`, `ceil`, `block_range`, `blocks_for`, `next_offset_after`) written once over [`Entries`].

use std::cmp::Ordering;
use std::ops::{Bound, Range, RangeBounds};

/// The primitive queries each representation answers; everything public is derived from them.
pub(crate) trait Entries {
    /// Number of entries.
    fn entry_count(&self) -> usize;
    /// Number of entries whose first key is `<= key` (`strict`: `< key`).
    fn count_keys_below(&self, key: &[u8], strict: bool) -> usize;
    /// Number of entries whose offset is `<= offset`.
    fn count_offsets_up_to(&self, offset: u64) -> usize;
    /// Offset of entry `i`, if it exists.
    fn offset_of(&self, i: usize) -> Option<u64>;
    /// The recorded end of the last block.
    fn end_of_data(&self) -> Option<u64>;
}

/// Number of leading indices of `0..n` for which `pred` holds; `pred` must hold on a prefix and fail on the rest.
///
/// A branch-free binary search: the loop runs ⌈log2 n⌉ times whatever the outcome of each probe.
#[inline]
pub(crate) fn partition_point(n: usize, mut pred: impl FnMut(usize) -> bool) -> usize {
    if n == 0 {
        return 0;
    }
    let mut base = 0;
    let mut size = n;
    while size > 1 {
        let half = size / 2;
        let mid = base + half;
        base = if pred(mid) { mid } else { base };
        size -= half;
    }
    base + usize::from(pred(base))
}

/// Byte-order comparison with a fast path: when both keys have 8 bytes, their first 8 are compared as one integer.
#[inline]
pub(crate) fn compare_keys(a: &[u8], b: &[u8]) -> Ordering {
    if let (Some(head_a), Some(head_b)) = (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        let x = u64::from_be_bytes(*head_a);
        let y = u64::from_be_bytes(*head_b);
        if x != y {
            return x.cmp(&y);
        }
        return a[8..].cmp(&b[8..]);
    }
    a.cmp(b)
}

/// Whether `key` belongs left of the partition point: `key <= probe` (`strict`: `key < probe`).
#[inline]
pub(crate) fn is_below(key: &[u8], probe: &[u8], strict: bool) -> bool {
    match compare_keys(key, probe) {
        Ordering::Less => true,
        Ordering::Equal => !strict,
        Ordering::Greater => false,
    }
}

pub(crate) fn floor(entries: &impl Entries, key: &[u8]) -> Option<usize> {
    entries.count_keys_below(key, false).checked_sub(1)
}

pub(crate) fn ceil(entries: &impl Entries, key: &[u8]) -> Option<usize> {
    let i = entries.count_keys_below(key, true);
    (i < entries.entry_count()).then_some(i)
}

pub(crate) fn next_offset_after(entries: &impl Entries, offset: u64) -> Option<u64> {
    entries.offset_of(entries.count_offsets_up_to(offset))
}

pub(crate) fn block_range(entries: &impl Entries, i: usize) -> Option<Range<u64>> {
    let start = entries.offset_of(i)?;
    let end = match entries.offset_of(i + 1) {
        Some(next) => next,
        None => entries.end_of_data()?,
    };
    Some(start..end)
}

pub(crate) fn blocks_for<K: AsRef<[u8]>>(
    entries: &impl Entries,
    range: &impl RangeBounds<K>,
) -> Range<usize> {
    // The least key in the range, if it is bounded below: the successor of an excluded bound is that bound
    // followed by a zero byte.
    let least: Option<Vec<u8>> = match range.start_bound() {
        Bound::Included(lo) => Some(lo.as_ref().to_vec()),
        Bound::Excluded(lo) => {
            let mut successor = lo.as_ref().to_vec();
            successor.push(0);
            Some(successor)
        }
        Bound::Unbounded => None,
    };
    if let Some(least) = &least {
        let empty = match range.end_bound() {
            Bound::Included(hi) => least.as_slice() > hi.as_ref(),
            Bound::Excluded(hi) => least.as_slice() >= hi.as_ref(),
            Bound::Unbounded => false,
        };
        if empty {
            return 0..0;
        }
    }
    let start = least.map_or(0, |least| {
        entries.count_keys_below(&least, false).saturating_sub(1)
    });
    let end = match range.end_bound() {
        Bound::Included(hi) => entries.count_keys_below(hi.as_ref(), false),
        Bound::Excluded(hi) => entries.count_keys_below(hi.as_ref(), true),
        Bound::Unbounded => entries.entry_count(),
    };
    start..end.max(start)
}

//! Fetch planning: from the byte ranges a reader wants to the requests it sends.
//!
//! 1. Normalise: clip to the file, drop empty ranges, sort and merge.
//! 2. Subtract what is cached and what another thread is already fetching (in flight).
//! 3. Coalesce: two spans whose gap is at most `coalesce_gap` become one request (the gap is fetched too),
//!    unless bytes in flight lie in the gap, which are never fetched twice.
//! 4. Split: a span longer than `max_request` becomes equal requests of at most `max_request` bytes.

use std::collections::BTreeMap;
use std::ops::{Bound, Range};

use crate::buffer::SparseBuffer;
use crate::error::{Error, Result};

/// Clips `ranges` to `0..size`, drops empty ones, sorts and merges overlapping or touching ones.
///
/// # Errors
///
/// [`Error::InvalidRange`] for a range whose start is after its end.
pub(crate) fn normalize(ranges: &[Range<u64>], size: u64) -> Result<Vec<Range<u64>>> {
    let mut out = Vec::with_capacity(ranges.len());
    for range in ranges {
        if range.start > range.end {
            return Err(Error::InvalidRange {
                start: range.start,
                end: range.end,
            });
        }
        let end = range.end.min(size);
        if range.start < end {
            out.push(range.start..end);
        }
    }
    out.sort_unstable_by_key(|range| range.start);
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(out.len());
    for range in out {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    Ok(merged)
}

/// The disjoint byte ranges being fetched right now, by whichever thread.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    /// start → end; never overlapping, because nothing in flight is planned again.
    ranges: BTreeMap<u64, u64>,
}

impl InFlight {
    pub(crate) fn insert(&mut self, range: &Range<u64>) {
        self.ranges.insert(range.start, range.end);
    }

    pub(crate) fn remove(&mut self, range: &Range<u64>) {
        self.ranges.remove(&range.start);
    }

    /// The in-flight ranges that overlap `range`, in order.
    fn overlapping(&self, range: Range<u64>) -> impl Iterator<Item = Range<u64>> + '_ {
        let before = self
            .ranges
            .range(..range.start)
            .next_back()
            .filter(|&(_, &end)| end > range.start);
        let inside = self
            .ranges
            .range((Bound::Included(range.start), Bound::Excluded(range.end)));
        before
            .into_iter()
            .chain(inside)
            .map(|(&start, &end)| start..end)
    }

    /// Whether any byte of `range` is in flight.
    pub(crate) fn overlaps(&self, range: Range<u64>) -> bool {
        range.start < range.end && self.overlapping(range).next().is_some()
    }
}

/// The requests that fetch the missing, not-in-flight bytes of `wanted` (normalised).
pub(crate) fn plan(
    wanted: &[Range<u64>],
    buffer: &SparseBuffer,
    in_flight: &InFlight,
    coalesce_gap: u64,
    max_request: u64,
) -> Vec<Range<u64>> {
    let mut spans: Vec<Range<u64>> = Vec::new();
    for range in wanted {
        for gap in buffer.missing(range.clone()) {
            let mut cursor = gap.start;
            for flying in in_flight.overlapping(gap.clone()) {
                if flying.start > cursor {
                    spans.push(cursor..flying.start);
                }
                cursor = cursor.max(flying.end);
            }
            if cursor < gap.end {
                spans.push(cursor..gap.end);
            }
        }
    }
    let mut merged: Vec<Range<u64>> = Vec::with_capacity(spans.len());
    for span in spans {
        match merged.last_mut() {
            Some(last)
                if span.start - last.end <= coalesce_gap
                    && !in_flight.overlaps(last.end..span.start) =>
            {
                last.end = span.end;
            }
            _ => merged.push(span),
        }
    }
    let mut requests = Vec::with_capacity(merged.len());
    for span in merged {
        split(span, max_request, &mut requests);
    }
    requests
}

/// Cuts `span` into the fewest equal pieces of at most `max_request` bytes (0 means no limit).
fn split(span: Range<u64>, max_request: u64, out: &mut Vec<Range<u64>>) {
    let len = span.end - span.start;
    if max_request == 0 || len <= max_request {
        out.push(span);
        return;
    }
    let pieces = len.div_ceil(max_request);
    let piece = len.div_ceil(pieces);
    let mut start = span.start;
    while start < span.end {
        let end = span.end.min(start + piece);
        out.push(start..end);
        start = end;
    }
}

#[cfg(test)]
// One-element lists of ranges are what these tests pass and expect.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    #[test]
    fn normalize_clips_sorts_and_merges() {
        let got = normalize(&[50..70, 0..10, 5..20, 20..25, 90..200, 30..30], 100);
        assert_eq!(got.ok(), Some(vec![0..25, 50..70, 90..100]));
        let reversed = Range { start: 5, end: 4 };
        assert!(matches!(
            normalize(&[reversed], 100),
            Err(Error::InvalidRange { start: 5, end: 4 })
        ));
    }

    #[test]
    fn plan_skips_cached_coalesces_and_splits() {
        let mut buffer = SparseBuffer::new(1000);
        buffer.add_region(100, vec![0; 10]).ok();
        let in_flight = InFlight::default();
        // Cached 100..110 is skipped; the 10-byte hole it leaves is coalesced over with gap 10, not with 9.
        let requests = plan(&[0..200], &buffer, &in_flight, 10, 0);
        assert_eq!(requests, [0..200]);
        let requests = plan(&[0..200], &buffer, &in_flight, 9, 0);
        assert_eq!(requests, [0..100, 110..200]);
        // 250 bytes with at most 100 per request: three equal pieces.
        let requests = plan(&[300..550], &buffer, &in_flight, 0, 100);
        assert_eq!(requests, [300..384, 384..468, 468..550]);
    }

    #[test]
    fn plan_never_refetches_or_bridges_bytes_in_flight() {
        let buffer = SparseBuffer::new(1000);
        let mut in_flight = InFlight::default();
        in_flight.insert(&(40..60));
        let requests = plan(&[0..100], &buffer, &in_flight, 1000, 0);
        assert_eq!(requests, [0..40, 60..100]);
        assert!(in_flight.overlaps(0..100) && !in_flight.overlaps(60..100));
        let requests = plan(&[0..10, 70..80], &buffer, &in_flight, 1000, 0);
        assert_eq!(requests, [0..10, 70..80]);
        in_flight.remove(&(40..60));
        let requests = plan(&[0..10, 70..80], &buffer, &in_flight, 1000, 0);
        assert_eq!(requests, [0..80]);
    }
}

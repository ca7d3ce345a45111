//! Software prefetch: asking the CPU to start loading a cache line without waiting for it. The only `unsafe` of
//! the crate besides mapping a file (`reader::map_file`) lives here.
//!
//! A prefetch is a hint: it never faults, even on an address outside any mapping, never changes memory and returns
//! nothing, so it cannot make a program wrong, only faster or slower. Addresses are still computed inside (or one
//! line past) the slice given, with `wrapping_add`, and lines outside the slice are not requested.
//!
//! On x86_64 this is `prefetcht0`. Elsewhere (aarch64's prefetch intrinsic is not stable yet) it falls back to a
//! plain load of one byte of the line, passed to [`std::hint::black_box`] so it stays: it fetches the line too,
//! but the CPU must wait for it before retiring the load, so fewer misses overlap.
#![allow(unsafe_code)]

/// Bytes in a cache line (64 on every CPU this is tuned for).
pub(crate) const LINE: usize = 64;

/// Requests the cache line holding `bytes[at]`; nothing when `at` is outside `bytes`.
#[inline(always)]
pub(crate) fn prefetch(bytes: &[u8], at: usize) {
    if at < bytes.len() {
        prefetch_ptr(bytes.as_ptr().wrapping_add(at));
    }
}

/// Requests every cache line that holds a byte of `bytes[start..start + len]` (clipped to `bytes`), at most
/// `max_lines` of them from the start.
#[inline(always)]
pub(crate) fn prefetch_range(bytes: &[u8], start: usize, len: usize, max_lines: usize) {
    let end = start.saturating_add(len).min(bytes.len());
    if start >= end {
        return;
    }
    // The first line's start may lie before `start` (and before `bytes`): count lines by address, prefetch
    // addresses inside the range.
    let base = bytes.as_ptr() as usize;
    let first_line = (base + start) / LINE;
    let last_line = (base + end - 1) / LINE;
    let lines = (last_line - first_line + 1).min(max_lines);
    prefetch(bytes, start);
    for line in 1..lines {
        // The first byte of line `first_line + line`, which is inside `start..end`.
        prefetch(bytes, (first_line + line) * LINE - base);
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_ptr(ptr: *const u8) {
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // SAFETY: `prefetcht0` is a hint that never faults and never writes, whatever the address (Intel SDM and
    // AMD APM: "PREFETCHh does not cause a fault"); `ptr` is moreover inside a live slice. SSE, which the
    // instruction needs, is part of the x86_64 baseline.
    unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.cast::<i8>()) }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn prefetch_ptr(ptr: *const u8) {
    // SAFETY: the callers pass only pointers to bytes inside a live `&[u8]` (`prefetch` checks `at < len`), so
    // the read is of an initialised byte that is borrowed for the whole call.
    let byte = unsafe { ptr.read() };
    std::hint::black_box(byte);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_anywhere_is_harmless() {
        let bytes = vec![7u8; 1000];
        for start in [0, 1, 63, 64, 999, 1000, 5000, usize::MAX] {
            for len in [0, 1, 64, 65, 4096, usize::MAX] {
                prefetch_range(&bytes, start, len, 16);
            }
            prefetch(&bytes, start);
        }
        prefetch_range(&[], 0, 10, 4);
        assert_eq!(bytes, vec![7u8; 1000]);
    }
}

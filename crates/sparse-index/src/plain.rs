//! Format versions 1 and 3, plain: every key whole in a heap, found through heads (v1: one per key; v3: one per
//! group of 16 keys) and a static B+-tree of them; lookups and the one-pass verification (structure and CRC
//! together).

use std::cmp::Ordering;

use crate::error::{Error, Result};
use crate::format::{FANOUT, Layout, UNKNOWN_DATA_END, key_head, read_u32};
use crate::search;
use crate::stats::common_prefix_len;

/// A plain index seen through its layout.
#[derive(Clone, Copy)]
pub(crate) struct Plain<'a> {
    pub(crate) layout: &'a Layout,
    pub(crate) bytes: &'a [u8],
}

impl<'a> Plain<'a> {
    /// Key `i` (`i < len`), borrowed.
    #[inline]
    pub(crate) fn key(&self, i: usize) -> &'a [u8] {
        key_at(self.layout, self.bytes, i)
    }

    /// Offset of entry `i` (`i < len`).
    #[inline]
    pub(crate) fn offset(&self, i: usize) -> u64 {
        self.layout.offset_slot(self.bytes, i)
    }

    /// Number of keys `<= key` (`strict`: `< key`).
    #[inline]
    pub(crate) fn count_keys_below(&self, key: &[u8], strict: bool) -> usize {
        count_keys_below(self.layout, self.bytes, key, strict)
    }

    /// Number of offsets `<= offset`.
    pub(crate) fn count_offsets_up_to(&self, offset: u64) -> usize {
        search::partition_point(self.layout.len, |i| self.offset(i) <= offset)
    }

    /// Checks the CRC-32 and the whole structure in one pass; a CRC mismatch is reported in preference to a
    /// structural error (it explains it best).
    pub(crate) fn verify(&self) -> Result<()> {
        let mut crc = SectionCrcs::default();
        let structure = self.verify_structure(&mut crc);
        if structure.is_ok() {
            crc.check(self.layout, self.bytes)
        } else {
            self.layout.check_crc(self.bytes)?;
            structure
        }
    }

    /// The structural checks of a plain (v1) index, in one pass over its sections, feeding the bytes of every
    /// batch of entries to `crc` while they are still in cache (so the index is read from memory once).
    fn verify_structure(&self, crc: &mut SectionCrcs) -> Result<()> {
        let layout = self.layout;
        let bytes = self.bytes;
        let n = layout.len;
        let heap = layout.body(bytes);
        let ends = &bytes[layout.ends_start..layout.ends_start + 4 * n];
        let offsets = &bytes[layout.offsets_start..layout.offsets_start + 8 * n];
        let group = layout.group;
        let (heads_start, heads_len) = layout.levels[0];
        let heads = &bytes[heads_start..heads_start + 8 * heads_len];
        // v3: the heap start of every group (empty in v1).
        let group_starts = &bytes[layout.starts_start..heads_start];
        // The prefix length must be that of the first and last keys (hence of all keys, as they ascend).
        let first_key = heap.get(
            ..(ends
                .first_chunk::<4>()
                .map_or(0, |e| u32::from_le_bytes(*e) as usize)),
        );
        let last_key = match ends.last_chunk::<4>() {
            Some(end) => heap.get(
                ends.len()
                    .checked_sub(8)
                    .map_or(0, |at| read_u32(ends, at) as usize)
                    ..u32::from_le_bytes(*end) as usize,
            ),
            None => Some(&[][..]),
        };
        let expected_prefix = match (first_key, last_key) {
            (Some(first), Some(last)) if n > 0 => common_prefix_len(first, last),
            _ => 0,
        };
        let prefix_len = layout.prefix_len;
        let bad_prefix = Error::CorruptHeader {
            field: "prefix length",
            value: prefix_len as u64,
            offset: layout.prefix_len_at(),
        };
        if prefix_len != expected_prefix {
            return Err(bad_prefix);
        }
        // (A bad first key end is reported by the loop below.)
        let prefix = match first_key {
            Some(first) => first.get(..prefix_len).ok_or(bad_prefix)?,
            None => &[],
        };
        let (ends, _) = ends.as_chunks::<4>();
        let (offsets, _) = offsets.as_chunks::<8>();
        let (heads, _) = heads.as_chunks::<8>();
        let (group_starts, _) = group_starts.as_chunks::<4>();
        // v1: level 1 of the head levels (every 16th head), checked batch by batch while the heads are in cache.
        let level1 = match layout.levels[..layout.depth] {
            [_, (start, len), ..] if group == 1 => bytes[start..start + 8 * len].as_chunks::<8>().0,
            _ => &[],
        };
        // Key i spans heap[start..end]; the previous key heap[last_start..start].
        let (mut start, mut last_start) = (0usize, 0usize);
        let (mut last_offset, mut last_head) = (0u64, 0u64);
        for batch_start in (0..n).step_by(CRC_BATCH) {
            let batch = batch_start..(batch_start + CRC_BATCH).min(n);
            let heap_start = start;
            for i in batch.clone() {
                let end = u32::from_le_bytes(ends[i]) as usize;
                let Some(key) = heap.get(start..end) else {
                    return Err(Error::CorruptKey {
                        index: i,
                        offset: layout.ends_start + 4 * i,
                        reason: "ends before the previous key or past the key heap",
                    });
                };
                let offset = u64::from_le_bytes(offsets[i]);
                let suffix = if prefix.is_empty() {
                    Some(key)
                } else {
                    key.strip_prefix(prefix)
                };
                let Some(suffix) = suffix else {
                    return Err(Error::CorruptKey {
                        index: i,
                        offset: layout.ends_start + 4 * i,
                        reason: "does not start with the prefix of the first and last keys",
                    });
                };
                let head = key_head(suffix);
                // v1 stores every key's head, v3 every 16th, with where it starts.
                if i % group == 0 {
                    if u64::from_be_bytes(heads[i / group]) != head {
                        return Err(Error::CorruptKey {
                            index: i,
                            offset: layout.heads_start + 8 * (i / group),
                            reason: "head does not match the key",
                        });
                    }
                    if group > 1 && u32::from_le_bytes(group_starts[i / group]) as usize != start {
                        return Err(Error::CorruptKey {
                            index: i,
                            offset: layout.starts_start + 4 * (i / group),
                            reason: "group start does not match the key ends",
                        });
                    }
                }
                if i > 0 {
                    // Heads are monotone in the keys, so a smaller head proves a smaller key.
                    if head <= last_head
                        && (head < last_head
                            || search::compare_keys(&heap[last_start..start], key).is_ge())
                    {
                        return Err(Error::CorruptKey {
                            index: i,
                            offset: layout.ends_start + 4 * i,
                            reason: "is not greater than the previous key",
                        });
                    }
                    if offset <= last_offset {
                        return Err(Error::CorruptOffset {
                            index: i,
                            offset: layout.offsets_start + 8 * i,
                            value: offset,
                        });
                    }
                }
                (last_start, start) = (start, end);
                (last_offset, last_head) = (offset, head);
            }
            for j in batch.start.div_ceil(FANOUT)..batch.end.div_ceil(FANOUT).min(level1.len()) {
                if level1[j] != heads[j * FANOUT] {
                    return Err(Error::CorruptKey {
                        index: j * FANOUT,
                        offset: layout.levels[1].0 + 8 * j,
                        reason: "head level entry does not match the level below",
                    });
                }
            }
            crc.heap.update(&heap[heap_start..start]);
            crc.offsets.update(offsets[batch.clone()].as_flattened());
            crc.ends.update(ends[batch.clone()].as_flattened());
            // Batches start at multiples of 16, so each group's head belongs to the batch of its first key.
            let groups = batch.start / group..batch.end.div_ceil(group);
            if group > 1 {
                crc.starts
                    .update(group_starts[groups.clone()].as_flattened());
            }
            crc.heads.update(heads[groups].as_flattened());
        }
        let last_end = start;
        if last_end != heap.len() {
            return Err(Error::CorruptKey {
                index: n.saturating_sub(1),
                offset: layout.ends_start + 4 * n.saturating_sub(1),
                reason: "does not end where the key heap ends",
            });
        }
        // Each higher level holds every 16th entry of the level below (in v1, level 1 was checked with the heads).
        let mut stride = if group == 1 { FANOUT } else { group };
        for pair in layout.levels[..layout.depth]
            .windows(2)
            .skip(usize::from(group == 1))
        {
            let [(below_start, _), (start, len)] = [pair[0], pair[1]];
            stride *= FANOUT;
            for j in 0..len {
                let at = start + 8 * j;
                if bytes[at..at + 8]
                    != bytes[below_start + 8 * FANOUT * j..below_start + 8 * FANOUT * j + 8]
                {
                    return Err(Error::CorruptKey {
                        index: j * stride,
                        offset: at,
                        reason: "head level entry does not match the level below",
                    });
                }
            }
        }
        if n > 0 && layout.data_end != UNKNOWN_DATA_END && layout.data_end <= last_offset {
            return Err(Error::CorruptDataEnd {
                offset: layout.data_end_at(),
                data_end: layout.data_end,
            });
        }
        Ok(())
    }
}

/// Entries whose bytes are checksummed together during verification (~150 KB with 16-byte keys: cache-resident).
const CRC_BATCH: usize = 4096;

/// The CRC-32s of the four per-entry sections of a plain index, computed side by side and combined at the end.
#[derive(Default)]
struct SectionCrcs {
    heap: crc32fast::Hasher,
    offsets: crc32fast::Hasher,
    ends: crc32fast::Hasher,
    /// v3 only.
    starts: crc32fast::Hasher,
    heads: crc32fast::Hasher,
}

impl SectionCrcs {
    /// Combines the section CRCs with those of the header, head levels and trailer, and checks the stored CRC.
    fn check(self, layout: &Layout, bytes: &[u8]) -> Result<()> {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&bytes[..layout.body_start]);
        for section in [
            &self.heap,
            &self.offsets,
            &self.ends,
            &self.starts,
            &self.heads,
        ] {
            crc.combine(section);
        }
        let (heads_start, heads_len) = layout.levels[0];
        let levels_start = heads_start + 8 * heads_len;
        crc.update(&bytes[levels_start..layout.crc_at]);
        let computed = crc.finalize();
        let stored = read_u32(bytes, layout.crc_at);
        if computed == stored {
            Ok(())
        } else {
            Err(Error::ChecksumMismatch {
                offset: layout.crc_at,
                stored,
                computed,
            })
        }
    }
}

/// Bytes of a v3 group's keys requested at once, before their ends are known: 16 keys of 16 bytes.
const PREFETCH: usize = 256;

/// Number of keys `<= key` (`strict`: `< key`) in a plain index.
///
/// All keys share `prefix_len` bytes, so the key is first compared with that prefix once; then a binary search over
/// the heads (8 bytes after the prefix) decides almost every probe with one integer comparison. Only keys whose
/// head equals the key's are compared in full.
#[inline]
fn count_keys_below(layout: &Layout, bytes: &[u8], key: &[u8], strict: bool) -> usize {
    let n = layout.len;
    if n == 0 {
        return 0;
    }
    let prefix = key_at(layout, bytes, 0)
        .get(..layout.prefix_len)
        .unwrap_or_default();
    let shared = &key[..key.len().min(prefix.len())];
    match shared.cmp(&prefix[..shared.len()]) {
        Ordering::Less => return 0,
        Ordering::Greater => return n,
        // A proper prefix of the common prefix is below every key.
        Ordering::Equal if shared.len() < prefix.len() => return 0,
        Ordering::Equal => {}
    }
    let head = key_head(&key[prefix.len()..]);
    let group = layout.group;
    let heads = layout.levels[0].1;
    let below = layout.count_heads_below(bytes, head);
    // Heads equal to the key's (usually none) are ordered by comparing their keys in full.
    let mut ties = 0;
    while below + ties < heads && layout.head(bytes, below + ties) == head && ties < 8 {
        ties += 1;
    }
    if ties == 8 {
        ties += search::partition_point(heads - below - ties, |i| {
            layout.head(bytes, below + 8 + i) == head
        });
    }
    let headed = below
        + search::partition_point(ties, |i| {
            search::is_below(key_at(layout, bytes, group * (below + i)), key, strict)
        });
    if group == 1 {
        return headed;
    }
    // v3: `headed` groups start with a key below `key`; the answer lies in the last of them, whose first key is
    // below `key`: scan its other keys, contiguous in the heap, until one is not.
    let Some(last) = headed.checked_sub(1) else {
        return 0;
    };
    let first = group * last;
    let end = (first + group).min(n);
    // The group's offsets are where `floor_offset` reads next: ask for them now, so that their cache misses
    // overlap those of the keys instead of following them.
    std::hint::black_box((
        layout.offset_slot(bytes, first),
        layout.offset_slot(bytes, end - 1),
    ));
    let heap = layout.body(bytes);
    // The group's keys start here: fetch their first cache lines now, alongside their ends.
    let group_start = read_u32(bytes, layout.starts_start + 4 * last) as usize;
    for line in (group_start..heap.len().min(group_start + PREFETCH)).step_by(64) {
        std::hint::black_box(heap[line]);
    }
    let ends = &bytes[layout.ends_start + 4 * first..layout.ends_start + 4 * end];
    let (ends, _) = ends.as_chunks::<4>();
    let mut start = u32::from_le_bytes(ends[0]) as usize;
    let mut count = 1;
    for end in &ends[1..] {
        let end = u32::from_le_bytes(*end) as usize;
        let candidate = heap.get(start..end).unwrap_or_default();
        if !search::is_below(candidate, key, strict) {
            break;
        }
        count += 1;
        start = end;
    }
    first + count
}

/// Key `i` (`i < len`) of a plain index; empty if the (unverified) key ends are inconsistent.
#[inline]
fn key_at<'a>(layout: &Layout, bytes: &'a [u8], i: usize) -> &'a [u8] {
    let end = layout.end_slot(bytes, i) as usize;
    let start = match i.checked_sub(1) {
        Some(prev) => layout.end_slot(bytes, prev) as usize,
        None => 0,
    };
    layout.body(bytes).get(start..end).unwrap_or_default()
}

//! The on-disk layout: header fields, codec tags, format versions and the Eytzinger index order, as constants and
//! pure functions that never touch a whole buffer.
//!
//! The Eytzinger helpers take a "read the key of slot `i`" closure instead of a slice, so the same search runs over
//! an in-memory index, a memory map, or an index fetched piecewise from a remote store.

use std::fmt;

use crate::error::Error;

/// The seven magic bytes at the start of every MapBuffer.
pub const MAGIC: &[u8; 7] = b"mapbufr";

/// Byte offset of the format version byte in the header.
pub const VERSION_AT: usize = 7;

/// Length of the MapBuffer header: magic (7), version (1), codec tag (4), key count (4).
pub const HEADER_LEN: usize = 16;

/// Length of one index entry: key `u64` LE, then absolute value offset `u64` LE.
pub const INDEX_ENTRY_LEN: usize = 16;

/// Length of the CRC-32C that follows every stored value in format version 1.
pub const CRC_LEN: usize = 4;

/// The format version, byte 7 of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum FormatVersion {
    /// Version 0: values are stored without a checksum (Python `compute_crc=False`, and every writer before 0.5.0).
    V0,
    /// Version 1: each stored value is followed by the CRC-32C of its stored (compressed) bytes, `u32` LE.
    /// This is what Python mapbuffer writes by default, and so do we.
    #[default]
    V1,
}

impl FormatVersion {
    /// The header byte of this version.
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::V0 => 0,
            Self::V1 => 1,
        }
    }

    /// The version of a header byte; any other byte is [`Error::UnsupportedVersion`].
    pub const fn from_byte(byte: u8) -> Result<Self, Error> {
        match byte {
            0 => Ok(Self::V0),
            1 => Ok(Self::V1),
            version => Err(Error::UnsupportedVersion { version }),
        }
    }

    /// Whether stored values carry a trailing CRC-32C.
    #[must_use]
    pub const fn has_crc(self) -> bool {
        matches!(self, Self::V1)
    }

    /// The number of bytes the format adds after each stored payload (4 for version 1, else 0).
    #[must_use]
    pub const fn suffix_len(self) -> usize {
        if self.has_crc() { CRC_LEN } else { 0 }
    }
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_byte())
    }
}

/// How values are compressed, bytes 8..12 of the header.
///
/// Every tag is known to every build; decoding or encoding with a codec whose cargo feature is off is
/// [`Error::CodecDisabled`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[non_exhaustive]
pub enum Codec {
    /// `none`: values are stored as they are.
    #[default]
    None,
    /// `gzip`: each value is one gzip member (feature `gzip`).
    Gzip,
    /// `00br`: each value is a Brotli stream (feature `brotli`).
    Brotli,
    /// `zstd`: each value is one Zstandard frame with its content size (feature `zstd`).
    Zstd,
    /// `lzma`: each value is an xz stream (feature `lzma`).
    Lzma,
}

impl Codec {
    /// All codecs, in tag order of the Python package.
    pub const ALL: [Self; 5] = [Self::None, Self::Gzip, Self::Brotli, Self::Zstd, Self::Lzma];

    /// The 4-byte header tag.
    #[must_use]
    pub const fn tag(self) -> [u8; 4] {
        match self {
            Self::None => *b"none",
            Self::Gzip => *b"gzip",
            Self::Brotli => *b"00br",
            Self::Zstd => *b"zstd",
            Self::Lzma => *b"lzma",
        }
    }

    /// The codec of a header tag; an unknown tag is [`Error::UnknownCodec`].
    pub const fn from_tag(tag: [u8; 4]) -> Result<Self, Error> {
        match &tag {
            b"none" => Ok(Self::None),
            b"gzip" => Ok(Self::Gzip),
            b"00br" => Ok(Self::Brotli),
            b"zstd" => Ok(Self::Zstd),
            b"lzma" => Ok(Self::Lzma),
            _ => Err(Error::UnknownCodec { tag }),
        }
    }

    /// The name the Python package uses for it (`compress=` argument): `none`, `gzip`, `br`, `zstd`, `lzma`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Brotli => "br",
            Self::Zstd => "zstd",
            Self::Lzma => "lzma",
        }
    }

    /// The codec of a name, case-insensitive: the Python names (`none`, `gzip`, `br`, `zstd`, `lzma`), the header
    /// tags, and `brotli`/`xz` as aliases.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name.to_ascii_lowercase().as_str() {
            "none" | "" => Ok(Self::None),
            "gzip" | "gz" => Ok(Self::Gzip),
            "br" | "00br" | "brotli" => Ok(Self::Brotli),
            "zstd" => Ok(Self::Zstd),
            "lzma" | "xz" => Ok(Self::Lzma),
            _ => Err(Error::UnknownCodecName {
                name: name.to_owned(),
            }),
        }
    }

    /// Whether this build can encode and decode the codec (its cargo feature is on; `None` always is).
    #[must_use]
    pub const fn is_available(self) -> bool {
        match self {
            Self::None => true,
            Self::Gzip => cfg!(feature = "gzip"),
            Self::Brotli => cfg!(feature = "brotli"),
            Self::Zstd => cfg!(feature = "zstd"),
            Self::Lzma => cfg!(feature = "lzma"),
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Codec {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        Self::from_name(name)
    }
}

/// The decoded 16-byte MapBuffer header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// Byte 7.
    pub version: FormatVersion,
    /// Bytes 8..12.
    pub codec: Codec,
    /// Bytes 12..16: the number of keys, `u32` LE.
    pub len: u32,
}

impl Header {
    /// Parses the first 16 bytes of `bytes`: magic, a known version and a known codec tag.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let Some(header) = bytes.first_chunk::<HEADER_LEN>() else {
            return Err(Error::Truncated {
                what: "header",
                needed: HEADER_LEN as u64,
                len: bytes.len() as u64,
            });
        };
        let (magic, rest) = header.split_at(MAGIC.len());
        if magic != MAGIC {
            return Err(Error::BadMagic {
                expected: MAGIC,
                found: magic.to_vec(),
            });
        }
        let version = FormatVersion::from_byte(rest[0])?;
        let codec = Codec::from_tag([rest[1], rest[2], rest[3], rest[4]])?;
        let len = u32::from_le_bytes([rest[5], rest[6], rest[7], rest[8]]);
        Ok(Self {
            version,
            codec,
            len,
        })
    }

    /// The 16 header bytes.
    #[must_use]
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[..7].copy_from_slice(MAGIC);
        out[7] = self.version.to_byte();
        out[8..12].copy_from_slice(&self.codec.tag());
        out[12..16].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    /// Where the data region starts: `16 + 16·N`, which is also the offset of the first value.
    #[must_use]
    pub const fn data_start(&self) -> u64 {
        HEADER_LEN as u64 + INDEX_ENTRY_LEN as u64 * self.len as u64
    }
}

/// The Eytzinger permutation for `n` sorted keys: slot `j` of the index holds the key of sorted rank `layout[j]`.
///
/// The slots are the nodes of the implicit 1-based binary tree (children of node `k` are `2k` and `2k+1`) in
/// breadth-first order, and an in-order walk of that tree visits the keys sorted. Same permutation as Python
/// `mapbufferaccel.eytzinger_sort_indices(n)`. Runs in O(n) without recursion.
#[must_use]
pub fn eytzinger_layout(n: u32) -> Vec<u32> {
    let mut layout = vec![0; n as usize];
    for (rank, slot) in SortedSlots::new(n as usize).enumerate() {
        // `rank < n <= u32::MAX`.
        layout[slot] = rank as u32;
    }
    layout
}

/// The slots of an `n`-key Eytzinger index in sorted-key order (an in-order walk of the implicit tree).
#[derive(Debug, Clone)]
pub struct SortedSlots {
    n: u64,
    /// Current node, 1-based; 0 when done.
    node: u64,
    remaining: usize,
}

impl SortedSlots {
    /// The in-order walk of an index of `n` slots.
    #[must_use]
    pub fn new(n: usize) -> Self {
        let n64 = n as u64;
        let mut node = if n == 0 { 0 } else { 1 };
        if node != 0 {
            while node * 2 <= n64 {
                node *= 2;
            }
        }
        Self {
            n: n64,
            node,
            remaining: n,
        }
    }
}

impl Iterator for SortedSlots {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        if self.node == 0 {
            return None;
        }
        let slot = (self.node - 1) as usize;
        let right = self.node * 2 + 1;
        if right <= self.n {
            // Leftmost node of the right subtree.
            let mut node = right;
            while node * 2 <= self.n {
                node *= 2;
            }
            self.node = node;
        } else {
            // Climb while we are a right child, then once more to the parent we are the left child of.
            self.node >>= self.node.trailing_ones() + 1;
        }
        self.remaining -= 1;
        Some(slot)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for SortedSlots {}

impl std::iter::FusedIterator for SortedSlots {}

/// Lower-bound search of an `n`-slot Eytzinger index: the slot holding the smallest key `>= key`, or `None` when
/// every key is smaller.
///
/// `key_at(slot)` reads the key of a slot; it is only called with `slot < n`, at most `⌊log2 n⌋ + 1` times, on one
/// root-to-leaf path. Errors from it are passed through, which lets a caller read slots from fallible storage.
/// With duplicate keys the result is the first of them in sorted order, as in Python mapbuffer.
pub fn eytzinger_lower_bound<E>(
    n: usize,
    key: u64,
    mut key_at: impl FnMut(usize) -> Result<u64, E>,
) -> Result<Option<usize>, E> {
    // u128: `2·node + 1` cannot overflow for any `n: usize`.
    let n = n as u128;
    let mut node: u128 = 1;
    while node <= n {
        let below = key_at((node - 1) as usize)? < key;
        node = 2 * node + u128::from(below);
    }
    // Undo the trailing right turns and the final left turn: what is left is the last node where we went left.
    node >>= node.trailing_ones() + 1;
    Ok(node.checked_sub(1).map(|slot| slot as usize))
}

/// Exact-match search of an `n`-slot Eytzinger index: the slot whose key is `key`, if any. See
/// [`eytzinger_lower_bound`] for `key_at`; it is called once more to compare the found key.
pub fn eytzinger_find<E>(
    n: usize,
    key: u64,
    mut key_at: impl FnMut(usize) -> Result<u64, E>,
) -> Result<Option<usize>, E> {
    match eytzinger_lower_bound(n, key, &mut key_at)? {
        Some(slot) if key_at(slot)? == key => Ok(Some(slot)),
        _ => Ok(None),
    }
}

/// Levels of the tree above this one (the top 6, 1 KiB of a MapBuffer index) are assumed to be in cache: the
/// single search prefetches only below it.
const PREFETCH_FROM_LEVEL: u32 = 6;

/// The number of complete levels of an `n`-node Eytzinger tree (`⌊log2(n + 1)⌋`); the level below them, if any,
/// is partial. `None` only for `n == usize::MAX`.
#[inline]
fn complete_levels(n: usize) -> Option<u32> {
    Some(n.checked_add(1)?.ilog2())
}

/// Exact-match search of an Eytzinger index held in memory: `entries` is `n` entries of `entry_len` bytes, each
/// starting with its key as `u64` LE. Same result as [`eytzinger_find`] over those keys; `None` also when
/// `entries` is shorter than `n` entries.
///
/// Written for speed on indexes much larger than the cache, where every level below the cached top costs a memory
/// round trip:
/// - no data-dependent branch: each step is `node = 2·node + (key_at(node) < key)` over the complete levels (a
///   fixed trip count for a given `n`), then one conditional step for the partial bottom level, so the CPU never
///   mispredicts a turn and can start the next lookup while this one waits for memory;
/// - with `prefetch`, below the cached top levels each step also requests the cache lines of the 16 descendants
///   four levels down (they are contiguous in the index), so four levels' misses are in flight at once instead
///   of following one another (the prefetching of Khuong and Morin, "Array layouts for comparison-based
///   searching").
///
/// With `values` (the whole map, whose index entries end with the `u64` LE offset of their value in it), a step
/// that meets `key` itself also requests the first two lines of that entry's value: keys are unique, so that node
/// is the answer, and its value then loads while the search walks down to the bottom level (it always walks the
/// same number of steps) instead of after it.
#[inline]
pub(crate) fn eytzinger_find_in(
    entries: &[u8],
    entry_len: usize,
    n: usize,
    key: u64,
    prefetch: bool,
    values: Option<&[u8]>,
) -> Option<usize> {
    let entries = entries.get(..n.checked_mul(entry_len)?)?;
    let key_of = |node: usize| read_u64(entries, (node - 1) * entry_len);
    let levels = complete_levels(n)?;
    let mut node: usize = 1;
    if !prefetch {
        for _ in 0..levels {
            node = 2 * node + usize::from(key_of(node)? < key);
        }
        return finish_search(entries, entry_len, n, key, node);
    }
    for _ in 0..levels.min(PREFETCH_FROM_LEVEL) {
        node = 2 * node + usize::from(key_of(node)? < key);
    }
    for _ in PREFETCH_FROM_LEVEL..levels {
        // Node `16·node` is the first of the 16 descendants four levels down; past the end nothing is requested.
        let ahead = (node.saturating_mul(16) - 1).saturating_mul(entry_len);
        crate::prefetch::prefetch_range(entries, ahead, 16 * entry_len, 8);
        let here = key_of(node)?;
        if here == key
            && let Some(values) = values
        {
            // The entry's last 8 bytes: where its value starts. A wild offset requests nothing.
            let at = read_u64(entries, node * entry_len - 8)?;
            let at = usize::try_from(at).unwrap_or(usize::MAX);
            crate::prefetch::prefetch(values, at);
            crate::prefetch::prefetch(values, at.saturating_add(crate::prefetch::LINE));
        }
        node = 2 * node + usize::from(here < key);
    }
    finish_search(entries, entry_len, n, key, node)
}

/// The partial bottom level of an Eytzinger search, the lower bound and the exact-match check, from the `node`
/// reached after the complete levels (`2^levels <= node < 2^(levels+1)`).
#[inline]
fn finish_search(
    entries: &[u8],
    entry_len: usize,
    n: usize,
    key: u64,
    node: usize,
) -> Option<usize> {
    // Reading a clamped node keeps this step free of a data-dependent branch: the result is used only when the
    // node exists.
    let below = read_u64(entries, (node.min(n).max(1) - 1) * entry_len)? < key;
    let stepped = 2 * node + usize::from(below);
    let mut node = if node <= n { stepped } else { node };
    // Undo the trailing right turns and the final left turn: what is left is the last node where we went left.
    node >>= node.trailing_ones() + 1;
    let slot = node.checked_sub(1)?;
    (read_u64(entries, slot * entry_len)? == key).then_some(slot)
}

/// Levels above this one (the top 10, 16 KiB of a MapBuffer index) are assumed to be in cache: the batched
/// search prefetches only below it.
const GROUP_PREFETCH_FROM_LEVEL: u32 = 10;

/// How many searches [`eytzinger_find_groups_in`] runs side by side. Eight, each with its next two levels
/// requested ahead, keep enough misses in flight; `get_many` reads a group's values during the next group's
/// search, so smaller groups overlap more of that work (measured: 8 beat 4, 12, 16 and 32 on a 1M-key map).
pub(crate) const BATCH: usize = 8;

/// [`eytzinger_find_in`] for many keys: `slots[i]` is the slot of `keys[i]`. See [`eytzinger_find_groups_in`].
pub(crate) fn eytzinger_find_many_in(
    entries: &[u8],
    n: usize,
    keys: &[u64],
    prefetch: bool,
) -> Vec<Option<usize>> {
    let mut slots = Vec::with_capacity(keys.len());
    eytzinger_find_groups_in(entries, n, keys, prefetch, |event| {
        if let Search::Found(group) = event {
            slots.extend_from_slice(group);
        }
    });
    slots
}

/// What [`eytzinger_find_groups_in`] tells its caller while it searches.
pub(crate) enum Search<'a> {
    /// A group's searches took one more step down the tree below the cached top levels and are waiting for
    /// memory; `left` more such steps follow in this group. Work done now overlaps with those memory accesses.
    Step {
        /// The steps still to come in this group.
        left: u32,
    },
    /// A group's searches are done: the slots of its keys, in order.
    Found(&'a [Option<usize>]),
}

/// The key of an index entry: its first 8 bytes, little-endian.
#[inline(always)]
fn entry_key(entry: &[u8; INDEX_ENTRY_LEN]) -> u64 {
    let [a, b, c, d, e, f, g, h, ..] = *entry;
    u64::from_le_bytes([a, b, c, d, e, f, g, h])
}

/// [`eytzinger_find_in`] for many keys, in groups of [`BATCH`] keys, over an index of `n` entries of
/// [`INDEX_ENTRY_LEN`] bytes. The searches of a group run level by level across the group, so the memory accesses
/// of different keys overlap (8 searches, each with two levels requested ahead, instead of one); with `prefetch`, each step also
/// requests the line of the node's four grandchildren, so each key's next two levels are on their way while the
/// other keys step. This is what makes a batch of lookups several times cheaper per key than lookups one by one
/// on an index much larger than the cache.
///
/// `events` hears of each group's slots ([`Search::Found`]) and, before that, of each step of the group below the
/// cached top levels ([`Search::Step`]): a caller that reads the values of the previous group a few at a time on
/// those steps does that work while the CPU would otherwise wait for the index.
pub(crate) fn eytzinger_find_groups_in(
    entries: &[u8],
    n: usize,
    keys: &[u64],
    prefetch: bool,
    mut events: impl FnMut(Search<'_>),
) {
    let (entries, _) = entries.as_chunks::<INDEX_ENTRY_LEN>();
    let index = entries.get(..n).zip(complete_levels(n));
    let bytes = entries.as_flattened();
    // The four grandchildren `4·node .. 4·node + 3` of a node are 64 contiguous bytes starting at entry
    // `4·node - 1`: one cache line when the entries start 16 bytes past a line boundary (a map read from a file
    // mapping, or any page-aligned buffer, with its 16-byte header), two otherwise.
    let one_line = (bytes.as_ptr() as usize) % 64 == 16;
    for group in keys.chunks(BATCH) {
        let mut slots = [None; BATCH];
        if let Some((entries, levels)) = index {
            // Full-width arrays (a short last group is padded with its first key, whose results are dropped), so
            // every loop below runs a constant number of times and unrolls.
            let mut probes = [group[0]; BATCH];
            probes[..group.len()].copy_from_slice(group);
            let mut nodes = [1usize; BATCH];
            // The top levels are in cache: prefetching there would only cost instructions.
            let quiet = if prefetch {
                levels.min(GROUP_PREFETCH_FROM_LEVEL)
            } else {
                levels
            };
            // Complete levels: `node <= n`, so `entries.get(node - 1)` always finds the entry.
            for _ in 0..quiet {
                for (node, &key) in nodes.iter_mut().zip(&probes) {
                    let below = entries.get(*node - 1).is_some_and(|e| entry_key(e) < key);
                    *node = 2 * *node + usize::from(below);
                }
            }
            for level in quiet..levels {
                for (node, &key) in nodes.iter_mut().zip(&probes) {
                    let below = entries.get(*node - 1).is_some_and(|e| entry_key(e) < key);
                    *node = 2 * *node + usize::from(below);
                    // A wrapped product only makes the hint miss: nothing outside `bytes` is requested.
                    let ahead = node
                        .wrapping_mul(4 * INDEX_ENTRY_LEN)
                        .wrapping_sub(INDEX_ENTRY_LEN);
                    crate::prefetch::prefetch(bytes, ahead);
                    if !one_line {
                        crate::prefetch::prefetch(
                            bytes,
                            ahead.wrapping_add(4 * INDEX_ENTRY_LEN - 1),
                        );
                    }
                }
                events(Search::Step {
                    left: levels - level - 1,
                });
            }
            let flat = entries.as_flattened();
            for ((slot, &node), &key) in slots.iter_mut().zip(&nodes).zip(group) {
                *slot = finish_search(flat, INDEX_ENTRY_LEN, n, key, node);
            }
        }
        events(Search::Found(&slots[..group.len()]));
    }
}

/// Reads a little-endian `u64` at `at`, or `None` when it does not fit in `bytes`.
#[inline]
pub(crate) fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let end = at.checked_add(8)?;
    let chunk: [u8; 8] = bytes.get(at..end)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_model(n: usize) -> Vec<u32> {
        fn fill(out: &mut [u32], n: usize, mut i: u32, k: usize) -> u32 {
            if k <= n {
                i = fill(out, n, i, 2 * k);
                out[k - 1] = i;
                i += 1;
                i = fill(out, n, i, 2 * k + 1);
            }
            i
        }
        let mut out = vec![0; n];
        fill(&mut out, n, 0, 1);
        out
    }

    #[test]
    fn layout_matches_recursive_model_and_python_examples() {
        for n in 0..600 {
            assert_eq!(eytzinger_layout(n), layout_model(n as usize), "n = {n}");
        }
        assert_eq!(eytzinger_layout(9), [5, 3, 7, 1, 4, 6, 8, 0, 2]);
        assert_eq!(eytzinger_layout(10), [6, 3, 8, 1, 5, 7, 9, 0, 2, 4]);
    }

    #[test]
    fn sorted_slots_is_the_inverse_of_the_layout() {
        for n in 0..300u32 {
            let layout = eytzinger_layout(n);
            let ranks: Vec<u32> = SortedSlots::new(n as usize).map(|s| layout[s]).collect();
            assert_eq!(ranks, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn lower_bound_matches_a_sorted_model() {
        for n in 0..130u32 {
            let layout = eytzinger_layout(n);
            // Keys 10, 20, 30, ... with a duplicate pair at the start when n >= 2.
            let sorted: Vec<u64> = (0..u64::from(n))
                .map(|i| if i == 1 { 10 } else { 10 * (i + 1) })
                .collect();
            let slots: Vec<u64> = layout.iter().map(|&r| sorted[r as usize]).collect();
            for key in 0..(10 * u64::from(n) + 20) {
                let got = eytzinger_lower_bound(slots.len(), key, |s| {
                    assert!(s < slots.len());
                    Ok::<_, ()>(slots[s])
                })
                .unwrap();
                let rank = sorted.partition_point(|&k| k < key);
                let expected = (rank < sorted.len())
                    .then(|| layout.iter().position(|&r| r as usize == rank).unwrap());
                assert_eq!(got, expected, "n = {n}, key = {key}");
            }
        }
    }

    #[test]
    fn in_memory_search_matches_the_generic_one() {
        for n in [0u32, 1, 2, 1023, 1024, 1025, 5000, 20_000] {
            let layout = eytzinger_layout(n);
            // Even keys 0, 2, 4, ...; entries of 16 bytes (key, then a filler).
            let mut entries = Vec::new();
            for &rank in &layout {
                entries.extend_from_slice(&(2 * u64::from(rank)).to_le_bytes());
                entries.extend_from_slice(&[0xAB; 8]);
            }
            let keys: Vec<u64> = (0..2 * u64::from(n) + 3)
                .step_by(7)
                .chain([u64::MAX])
                .collect();
            let many = eytzinger_find_many_in(&entries, n as usize, &keys, true);
            let many_off = eytzinger_find_many_in(&entries, n as usize, &keys, false);
            assert_eq!(many, many_off);
            assert_eq!(many.len(), keys.len());
            for (&key, batched) in keys.iter().zip(many) {
                let generic = eytzinger_find(n as usize, key, |slot| {
                    Ok::<_, ()>(read_u64(&entries, slot * 16).unwrap())
                })
                .unwrap();
                let in_memory = eytzinger_find_in(&entries, 16, n as usize, key, true, None);
                assert_eq!(
                    eytzinger_find_in(&entries, 16, n as usize, key, false, None),
                    in_memory
                );
                assert_eq!(in_memory, generic, "n = {n}, key = {key}");
                assert_eq!(batched, generic, "batched, n = {n}, key = {key}");
                assert_eq!(in_memory.is_some(), key % 2 == 0 && key < 2 * u64::from(n));
            }
            // An index shorter than `n` entries finds nothing, and never reads past its end.
            if n > 0 {
                let short = &entries[..entries.len() - 1];
                assert_eq!(
                    eytzinger_find_in(short, 16, n as usize, 0, true, None),
                    None
                );
                assert_eq!(
                    eytzinger_find_many_in(short, n as usize, &[0, 2], true),
                    [None, None]
                );
            }
        }
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn generic_search_does_not_overflow_for_any_slot_count() {
        // Every key is larger: the search goes left down to the leftmost leaf, slot 2^63 - 1.
        let found = eytzinger_lower_bound(usize::MAX, 5, |_| Ok::<_, ()>(u64::MAX));
        assert_eq!(found, Ok(Some((1 << 63) - 1)));
        let found = eytzinger_lower_bound(usize::MAX, u64::MAX, |_| Ok::<_, ()>(0));
        assert_eq!(found, Ok(None));
    }

    #[test]
    fn extreme_keys() {
        let sorted = [0, (1 << 63) - 1, 1 << 63, u64::MAX];
        let layout = eytzinger_layout(4);
        let slots: Vec<u64> = layout.iter().map(|&r| sorted[r as usize]).collect();
        assert_eq!(slots, [1 << 63, (1 << 63) - 1, u64::MAX, 0]);
        for key in sorted {
            let slot = eytzinger_find(4, key, |s| Ok::<_, ()>(slots[s])).unwrap();
            assert_eq!(slot.map(|s| slots[s]), Some(key));
        }
        assert_eq!(eytzinger_find(4, 1, |s| Ok::<_, ()>(slots[s])), Ok(None));
        assert_eq!(
            eytzinger_find(0, 1, |_| -> Result<u64, ()> { unreachable!() }),
            Ok(None)
        );
    }

    #[test]
    fn header_round_trip() {
        let header = Header {
            version: FormatVersion::V1,
            codec: Codec::Brotli,
            len: 0x0102_0304,
        };
        let bytes = header.to_bytes();
        assert_eq!(&bytes, b"mapbufr\x0100br\x04\x03\x02\x01");
        assert_eq!(Header::parse(&bytes).unwrap(), header);
        for codec in Codec::ALL {
            assert_eq!(Codec::from_tag(codec.tag()).unwrap(), codec);
            assert_eq!(Codec::from_name(codec.name()).unwrap(), codec);
        }
    }
}

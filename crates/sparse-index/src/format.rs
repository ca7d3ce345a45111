//! The byteshelf sparse-index byte layout: constants, the fixed header and trailer, format detection and the pure
//! helpers that read little-endian integers out of untrusted bytes.
//!
//! Both versions share one frame (integers little-endian unless noted, no alignment assumed):
//!
//! ```text
//! 0        4  magic "SPIX"
//! 4        1  version (1 = plain, 2 = prefix-compressed, 3 = plain with sampled heads)
//! 5        1  flags = 0
//! 6        2  v1, v3: reserved = 0; v2: restart interval K (≥ 1)
//! 8        B  body: v1, v3 the key heap, v2 the entry stream (B = body_len)
//! 8+B      8m u64 offsets: v1, v3 every block offset (m = n), v2 the offset of every restart entry (m = ⌈n/K⌉)
//! 8+B+8m   4m u32 ends: v1, v3 the end of every key in the heap, v2 the position of every restart entry
//! v3 only: 4g u32 group starts: where key 16j starts in the heap (= ends[16j-1], 0 for j = 0), so that a lookup
//!             can fetch a group's keys and their ends at once
//! v1, v3:  8g heads: for every key (v1, g = n) or every 16th key (v3, g = ⌈n/16⌉), the 8 bytes after the
//!             common prefix of all keys, zero-padded (compared as big-endian u64s, so most probes touch one array)
//! v1, v3:  8h head levels: every 16th head, then every 16th of those, … until a level has at most 16 heads
//!             (a static B+-tree over the heads: a lookup reads one block of 16 heads per level)
//! end-28   4  n           u32 entry count
//! end-24   4  body_len    u32
//! end-20   8  data_end    u64 end of the last block (u64::MAX: unknown)
//! end-12   4  prefix_len  u32 v1, v3: length of the prefix every key shares; v2: 0
//! end-8    4  crc32       u32 CRC-32 (IEEE, crc32fast) of every byte before it
//! end-4    4  magic "SPIX"
//! ```
//!
//! The key heap (v1) or entry stream (v2) comes first so that [`SparseIndexWriter`](crate::SparseIndexWriter) can
//! stream it and buffer only the fixed-width arrays. The full description is in `docs/formats/sparse-index.md`.

use std::num::NonZeroU16;

use crate::error::{Error, Result};

/// The magic number at both ends of a byteshelf sparse index.
pub const MAGIC: [u8; 4] = *b"SPIX";
/// Length of the fixed header: magic, version, flags, and the reserved field or restart interval.
pub const HEADER_LEN: usize = 8;
/// Length of the fixed trailer: entry count, body length, data end, prefix length, CRC-32 and magic.
pub const TRAILER_LEN: usize = 28;
/// The smallest valid index (no entries).
pub const MIN_LEN: usize = HEADER_LEN + TRAILER_LEN;
/// The data end recorded when it is not known (e.g. after importing a legacy index).
pub(crate) const UNKNOWN_DATA_END: u64 = u64::MAX;
/// The restart interval of [`Format::prefix_compressed`]: one full key every 16 entries.
pub const DEFAULT_RESTART_INTERVAL: NonZeroU16 = match NonZeroU16::new(16) {
    Some(interval) => interval,
    None => unreachable!(),
};

/// Version byte of the plain layout.
pub(crate) const VERSION_PLAIN: u8 = 1;
/// Version byte of the prefix-compressed layout.
pub(crate) const VERSION_PREFIX: u8 = 2;
/// Version byte of the plain layout with a head for every 16th key only.
pub(crate) const VERSION_SAMPLED: u8 = 3;

/// How [`SparseIndexWriter`](crate::SparseIndexWriter) and [`SparseIndex::to_bytes_with`](crate::SparseIndex::to_bytes_with)
/// lay out an index.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Version 1: every key stored in full, with an 8-byte head per key; lookups borrow keys straight from the
    /// bytes. 20 bytes plus the key per entry, plus 8 bytes per 15 entries for the head levels.
    Plain,
    /// Version 3, the default: every key stored in full as in version 1, but a head (and where its keys start)
    /// for every 16th key only, so a lookup descends the head levels to a group of 16 keys and compares those.
    /// 12 bytes plus the key per entry, plus about 0.8 bytes for the group heads, starts and levels: smaller than
    /// an `fst::Map` of random 16-byte keys, and about as fast to search as version 1.
    #[default]
    Sampled,
    /// Version 2: LevelDB-style prefix compression. Every `restart_interval`-th key is stored in full (a restart
    /// point), the others as the length shared with the previous key plus the rest, and their offsets as deltas.
    /// Lookups binary-search the restart points, then scan at most `restart_interval` entries.
    PrefixCompressed {
        /// Entries per restart point.
        restart_interval: NonZeroU16,
    },
}

impl Format {
    /// Prefix compression with the [`DEFAULT_RESTART_INTERVAL`].
    #[must_use]
    pub const fn prefix_compressed() -> Self {
        Self::PrefixCompressed {
            restart_interval: DEFAULT_RESTART_INTERVAL,
        }
    }

    /// The version byte this format writes.
    #[must_use]
    pub const fn version(self) -> u8 {
        match self {
            Self::Plain => VERSION_PLAIN,
            Self::PrefixCompressed { .. } => VERSION_PREFIX,
            Self::Sampled => VERSION_SAMPLED,
        }
    }
}

/// What [`detect_format`] recognises in a file's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileFormat {
    /// byteshelf format version 1 (plain).
    V1,
    /// byteshelf format version 2 (prefix-compressed).
    V2,
    /// byteshelf format version 3 (plain, a head for every 16th key).
    V3,
    /// byteshelf frame (`SPIX` at both ends) with a version this crate does not know.
    UnknownVersion(u8),
    /// No byteshelf frame: the Python reference's own layout (see [`SparseIndex::from_legacy_bytes`](crate::SparseIndex::from_legacy_bytes)),
    /// which has no magic number.
    Legacy,
}

impl FileFormat {
    /// A short human-readable name, e.g. for a CLI's `info` output.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::V1 => "byteshelf v1 (plain)",
            Self::V2 => "byteshelf v2 (prefix-compressed)",
            Self::V3 => "byteshelf v3 (plain, sampled heads)",
            Self::UnknownVersion(_) => "byteshelf (unknown version)",
            Self::Legacy => "legacy (Python reference)",
        }
    }
}

/// Tells which encoding `bytes` use, from the magic numbers alone (O(1), nothing is validated).
///
/// Input that starts and ends with `SPIX` and is at least [`MIN_LEN`] bytes long is a byteshelf index; anything
/// else is taken to be the reference's legacy layout, which has no magic number. (A legacy index is misdetected
/// only if its first key is 1.4 GB long and its CRC happens to spell `SPIX`.)
///
/// ```
/// use sparse_index::{detect_format, FileFormat, Format, SparseIndex};
///
/// let mut index = SparseIndex::new();
/// index.add(b"apple", 0)?;
/// assert_eq!(detect_format(&index.to_bytes()), FileFormat::V3);
/// assert_eq!(detect_format(&index.to_bytes_with(Format::Plain)?), FileFormat::V1);
/// assert_eq!(detect_format(&index.to_legacy_bytes()), FileFormat::Legacy);
/// assert_eq!(detect_format(b""), FileFormat::Legacy); // the reference's other empty index
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn detect_format(bytes: &[u8]) -> FileFormat {
    if bytes.len() >= MIN_LEN && bytes.starts_with(&MAGIC) && bytes.ends_with(&MAGIC) {
        match bytes[4] {
            VERSION_PLAIN => FileFormat::V1,
            VERSION_PREFIX => FileFormat::V2,
            VERSION_SAMPLED => FileFormat::V3,
            other => FileFormat::UnknownVersion(other),
        }
    } else {
        FileFormat::Legacy
    }
}

/// The sections of a framed index, located in O(1) from its header and trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// 1, 2 or 3.
    pub(crate) version: u8,
    /// v1, v3: entries per head (1 in v1, [`FANOUT`] in v3); 0 in v2, which has no heads.
    pub(crate) group: usize,
    /// v2 restart interval (1 for v1 and v3, where every entry stands alone).
    pub(crate) restart_interval: usize,
    /// Number of entries.
    pub(crate) len: usize,
    /// Start of the body (the key heap or entry stream).
    pub(crate) body_start: usize,
    /// Length of the body.
    pub(crate) body_len: usize,
    /// Number of slots in the two fixed-width arrays (n for v1 and v3, ⌈n/K⌉ for v2).
    pub(crate) slots: usize,
    /// Start of the u64 offsets array.
    pub(crate) offsets_start: usize,
    /// Start of the u32 ends (v1) or restart positions (v2) array.
    pub(crate) ends_start: usize,
    /// v3: start of the u32 array of group starts, where the keys of every group begin in the heap (the end
    /// of the ends array in v1 and v2, which have none).
    pub(crate) starts_start: usize,
    /// Start of the v1 and v3 heads array (its end for v2, which has none).
    pub(crate) heads_start: usize,
    /// v1, v3: length of the prefix every key shares (0 for v2).
    pub(crate) prefix_len: usize,
    /// v1, v3: (start, length) of the heads (level 0) and of every level above them, bottom up.
    pub(crate) levels: [(usize, usize); MAX_LEVELS],
    /// Number of levels in use (1 when there are at most 16 heads).
    pub(crate) depth: usize,
    /// Recorded data end ([`UNKNOWN_DATA_END`] when unknown).
    pub(crate) data_end: u64,
    /// Byte offset of the stored CRC.
    pub(crate) crc_at: usize,
}

/// Heads per block of the head levels (16 heads: two or three cache lines, fetched together).
pub(crate) const FANOUT: usize = 16;
/// Levels needed for u32::MAX heads with a fanout of 16, with room to spare.
const MAX_LEVELS: usize = 12;

/// Lengths of the head levels above the heads themselves, bottom up: every 16th entry of the level below, until a
/// level has at most 16 entries.
pub(crate) fn upper_level_lens(n: usize) -> impl Iterator<Item = usize> {
    std::iter::successors(Some(n), |&len| (len > FANOUT).then(|| len.div_ceil(FANOUT))).skip(1)
}

/// The entries of the head levels above `n` heads, bottom up, given the first of them (`level1`: every 16th
/// head): entry `j` of level `k ≥ 1` is head `j · 16^k`, that is entry `j · 16^(k-1)` of level 1.
pub(crate) fn upper_level_heads(level1: &[u64], n: usize) -> impl Iterator<Item = u64> + '_ {
    let mut stride = 1;
    upper_level_lens(n).enumerate().flat_map(move |(k, len)| {
        if k > 0 {
            stride *= FANOUT;
        }
        let stride = stride;
        (0..len).map(move |j| level1[j * stride])
    })
}

/// Byte offset of the field within the trailer.
const TRAILER_N: usize = 0;
const TRAILER_BODY_LEN: usize = 4;
const TRAILER_DATA_END: usize = 8;
const TRAILER_PREFIX_LEN: usize = 16;
const TRAILER_CRC: usize = 20;

impl Layout {
    /// Checks the frame (size, both magics, version, flags, header field, lengths) in O(1).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self> {
        let total = bytes.len();
        if total < MIN_LEN {
            return Err(Error::Truncated {
                len: total,
                needed: MIN_LEN,
            });
        }
        if !bytes.starts_with(&MAGIC) {
            return Err(Error::BadMagic { offset: 0 });
        }
        if !bytes.ends_with(&MAGIC) {
            return Err(Error::BadMagic { offset: total - 4 });
        }
        let version = bytes[4];
        if !matches!(version, VERSION_PLAIN | VERSION_PREFIX | VERSION_SAMPLED) {
            return Err(Error::UnsupportedVersion { version });
        }
        let group = match version {
            VERSION_PLAIN => 1,
            VERSION_SAMPLED => FANOUT,
            _ => 0,
        };
        if bytes[5] != 0 {
            return Err(Error::CorruptHeader {
                field: "flags",
                value: u64::from(bytes[5]),
                offset: 5,
            });
        }
        let field = u16::from_le_bytes([bytes[6], bytes[7]]);
        let restart_interval = if version != VERSION_PREFIX {
            if field != 0 {
                return Err(Error::CorruptHeader {
                    field: "reserved",
                    value: u64::from(field),
                    offset: 6,
                });
            }
            1
        } else {
            if field == 0 {
                return Err(Error::CorruptHeader {
                    field: "restart interval",
                    value: 0,
                    offset: 6,
                });
            }
            usize::from(field)
        };
        let trailer = total - TRAILER_LEN;
        let n = read_u32(bytes, trailer + TRAILER_N);
        let body_len = read_u32(bytes, trailer + TRAILER_BODY_LEN);
        let data_end = read_u64(bytes, trailer + TRAILER_DATA_END);
        let prefix_len = read_u32(bytes, trailer + TRAILER_PREFIX_LEN);
        if version == VERSION_PREFIX && prefix_len != 0 {
            return Err(Error::CorruptHeader {
                field: "v2 prefix length",
                value: u64::from(prefix_len),
                offset: trailer + TRAILER_PREFIX_LEN,
            });
        }
        // Every quantity is at most u32::MAX, so this arithmetic cannot overflow a u64.
        let slots = u64::from(n).div_ceil(restart_interval as u64);
        let heads = if group > 0 {
            let level0 = (n as usize).div_ceil(group);
            let upper: usize = upper_level_lens(level0).sum();
            // v3 also stores where each group's keys start in the heap (4 bytes per group).
            let starts = if group > 1 { 4 * level0 as u64 } else { 0 };
            8 * (level0 as u64 + upper as u64) + starts
        } else {
            0
        };
        let expected = (HEADER_LEN + TRAILER_LEN) as u64 + u64::from(body_len) + 12 * slots + heads;
        if expected != total as u64 {
            return Err(Error::CorruptLength {
                expected,
                actual: total,
            });
        }
        // `expected == total` fits a usize, hence so does every part of it.
        let len = n as usize;
        let body_len = body_len as usize;
        let slots = slots as usize;
        let body_start = HEADER_LEN;
        let offsets_start = body_start + body_len;
        let ends_start = offsets_start + 8 * slots;
        let starts_start = ends_start + 4 * slots;
        let heads_start = if group > 1 {
            starts_start + 4 * len.div_ceil(group)
        } else {
            starts_start
        };
        let mut levels = [(0, 0); MAX_LEVELS];
        let mut depth = 0;
        if group > 0 {
            let mut start = heads_start;
            let level0 = len.div_ceil(group);
            for len in std::iter::once(level0).chain(upper_level_lens(level0)) {
                levels[depth] = (start, len);
                start += 8 * len;
                depth += 1;
            }
        }
        Ok(Self {
            version,
            group,
            restart_interval,
            len,
            body_start,
            body_len,
            slots,
            offsets_start,
            ends_start,
            starts_start,
            heads_start,
            prefix_len: prefix_len as usize,
            levels,
            depth,
            data_end,
            crc_at: trailer + TRAILER_CRC,
        })
    }

    /// Checks the CRC-32 over everything before it.
    pub(crate) fn check_crc(&self, bytes: &[u8]) -> Result<()> {
        let stored = read_u32(bytes, self.crc_at);
        let computed = crc32fast::hash(&bytes[..self.crc_at]);
        if stored == computed {
            Ok(())
        } else {
            Err(Error::ChecksumMismatch {
                offset: self.crc_at,
                stored,
                computed,
            })
        }
    }

    /// The body (key heap or entry stream).
    #[inline]
    pub(crate) fn body<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        &bytes[self.body_start..self.offsets_start]
    }

    /// Slot `i` of the u64 offsets array (`i < slots`).
    #[inline]
    pub(crate) fn offset_slot(&self, bytes: &[u8], i: usize) -> u64 {
        read_u64(bytes, self.offsets_start + 8 * i)
    }

    /// Slot `i` of the u32 ends array (`i < slots`).
    #[inline]
    pub(crate) fn end_slot(&self, bytes: &[u8], i: usize) -> u32 {
        read_u32(bytes, self.ends_start + 4 * i)
    }

    /// Head `i` of a v1 or v3 index (`i` below the number of heads: `len` in v1, `⌈len/16⌉` in v3).
    #[inline]
    pub(crate) fn head(&self, bytes: &[u8], i: usize) -> u64 {
        let at = self.heads_start + 8 * i;
        let mut word = [0; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        u64::from_be_bytes(word)
    }

    /// Number of heads below `head` in a v1 or v3 index: a descent through the head levels, reading one block of at
    /// most 16 heads per level.
    #[inline]
    pub(crate) fn count_heads_below(&self, bytes: &[u8], head: u64) -> usize {
        let Some(top) = self.depth.checked_sub(1) else {
            return 0;
        };
        let count_block = |(start, len): (usize, usize), from: usize| {
            let to = (from + FANOUT).min(len);
            bytes[start + 8 * from..start + 8 * to]
                .chunks_exact(8)
                .map(|h| {
                    usize::from(
                        u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]]) < head,
                    )
                })
                .sum::<usize>()
        };
        let mut below = count_block(self.levels[top], 0);
        for level in self.levels[..top].iter().rev() {
            // Heads below `head` on the level above end inside block `below - 1` of this level.
            let Some(block) = below.checked_sub(1) else {
                return 0;
            };
            let from = block * FANOUT;
            below = from + count_block(*level, from);
        }
        below
    }

    /// Byte offset of the prefix length field.
    pub(crate) fn prefix_len_at(&self) -> usize {
        self.crc_at - TRAILER_CRC + TRAILER_PREFIX_LEN
    }

    /// Byte offset of the data end field.
    pub(crate) fn data_end_at(&self) -> usize {
        self.crc_at - TRAILER_CRC + TRAILER_DATA_END
    }
}

/// Writes the header of `format` into `out`.
pub(crate) fn encode_header(format: Format) -> [u8; HEADER_LEN] {
    let field = match format {
        Format::Plain | Format::Sampled => 0,
        Format::PrefixCompressed { restart_interval } => restart_interval.get(),
    };
    let [lo, hi] = field.to_le_bytes();
    [
        MAGIC[0],
        MAGIC[1],
        MAGIC[2],
        MAGIC[3],
        format.version(),
        0,
        lo,
        hi,
    ]
}

/// The trailer up to (not including) the CRC: n, body length, data end, prefix length.
pub(crate) fn encode_trailer_fields(
    n: u32,
    body_len: u32,
    data_end: u64,
    prefix_len: u32,
) -> [u8; TRAILER_CRC] {
    let mut out = [0; TRAILER_CRC];
    out[TRAILER_N..TRAILER_N + 4].copy_from_slice(&n.to_le_bytes());
    out[TRAILER_BODY_LEN..TRAILER_BODY_LEN + 4].copy_from_slice(&body_len.to_le_bytes());
    out[TRAILER_DATA_END..TRAILER_DATA_END + 8].copy_from_slice(&data_end.to_le_bytes());
    out[TRAILER_PREFIX_LEN..TRAILER_PREFIX_LEN + 4].copy_from_slice(&prefix_len.to_le_bytes());
    out
}

/// The head of a key's suffix (the key after the common prefix): its first 8 bytes, zero-padded, as a big-endian
/// integer. Heads are monotone in the suffix: a smaller head means a smaller key, a greater head a greater key;
/// equal heads decide nothing.
#[inline]
pub(crate) fn key_head(suffix: &[u8]) -> u64 {
    match suffix.first_chunk::<8>() {
        Some(head) => u64::from_be_bytes(*head),
        None => {
            let mut head = [0; 8];
            head[..suffix.len()].copy_from_slice(suffix);
            u64::from_be_bytes(head)
        }
    }
}

/// Reads a little-endian u32 at `at`; the caller guarantees `at + 4 <= bytes.len()`.
#[inline]
pub(crate) fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// Reads a little-endian u64 at `at`; the caller guarantees `at + 8 <= bytes.len()`.
#[inline]
pub(crate) fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

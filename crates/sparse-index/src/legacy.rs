//! The Python reference's own `index.bin` layout, read and written so that existing files can be migrated and the
//! two implementations cross-checked.
//!
//! ```text
//! repeat n:  key_len u32 BE | block_offset u64 BE | key[key_len]
//! then:      crc u32 BE = CRC-32 (IEEE) of all the entries
//! ```
//!
//! The empty index is `00 00 00 00` (the CRC of nothing); empty input is accepted as an empty index too. The format
//! has no magic, version, count or data end.

use crate::error::{Error, Result};
use crate::index::SparseIndex;
use crate::search::compare_keys;

/// Length of an entry's fixed part: key length and offset.
const ENTRY_HEADER_LEN: usize = 12;
/// Length of the CRC footer.
const CRC_LEN: usize = 4;
/// Up to this many bytes of entries, the CRC-32 is checked before the entries are read.
const CRC_FIRST_MAX: usize = 16 << 20;

impl SparseIndex {
    /// Decodes the Python reference's layout (see [`to_legacy_bytes`](Self::to_legacy_bytes)). The data end is
    /// unknown afterwards (the layout does not record it): set it with [`set_data_end`](Self::set_data_end).
    ///
    /// Stricter than the reference: a truncated entry, and keys or offsets that do not strictly ascend, are errors
    /// (the reference stops silently at a truncated entry and never checks offsets).
    ///
    /// # Errors
    ///
    /// [`Error::LegacyTooShort`] for 1 to 3 bytes, [`Error::NotAnIndex`] when not even the first entry fits (and
    /// the CRC does not match), [`Error::ChecksumMismatch`], [`Error::LegacyTruncatedEntry`], [`Error::CorruptKey`]
    /// / [`Error::CorruptOffset`] for entries out of order, [`Error::TooLarge`]. Up to 16 MiB the CRC-32 is checked
    /// first, so damage is reported as a checksum mismatch (or as not an index, when the first entry does not
    /// fit); above that the entries are read first, so that a large file that is not a legacy index at all fails
    /// at its first bad entry instead of after a CRC over all of it.
    pub fn from_legacy_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            return Ok(Self::new());
        }
        let Some(crc_at) = bytes.len().checked_sub(CRC_LEN) else {
            return Err(Error::LegacyTooShort { len: bytes.len() });
        };
        let (payload, crc) = bytes.split_at(crc_at);
        let stored = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let check_crc = || {
            let computed = crc32fast::hash(payload);
            if stored == computed {
                Ok(())
            } else {
                Err(Error::ChecksumMismatch {
                    offset: crc_at,
                    stored,
                    computed,
                })
            }
        };
        // Without a magic number, "not an index at all" (a text file, another format) is told from "a damaged
        // index" by the first entry: the reference never writes one that does not fit, and any text gives it a key
        // length of at least 0x20202020 bytes (538 MB).
        let not_an_index = || Error::NotAnIndex { len: bytes.len() };
        if payload.len() <= CRC_FIRST_MAX {
            if let Err(err) = check_crc() {
                return Err(if first_entry_fits(payload) {
                    err
                } else {
                    not_an_index()
                });
            }
            return Self::parse_legacy_entries(payload);
        }
        // Large: whatever is not a legacy index (say a sparse file of zeros, or another format) usually fails at
        // its first entries, long before its CRC-32 would be computed over all of it.
        if !first_entry_fits(payload) {
            return Err(not_an_index());
        }
        let index = Self::parse_legacy_entries(payload)?;
        check_crc()?;
        Ok(index)
    }

    /// The entries of a legacy index, `payload` being everything before its CRC.
    fn parse_legacy_entries(payload: &[u8]) -> Result<Self> {
        // Checked first without copying anything: a bad entry, e.g. one whose key length claims gigabytes of a
        // sparse file, is found before any key is copied.
        walk_legacy_entries(payload, |_, _| Ok(()))?;
        let mut index = Self::new();
        walk_legacy_entries(payload, |key, offset| index.add(key, offset))?;
        Ok(index)
    }

    /// Encodes the index in the Python reference's layout: per entry `key_len u32 BE | offset u64 BE | key`, then a
    /// big-endian CRC-32 of the entries. The data end is not part of that layout and is dropped.
    #[must_use]
    pub fn to_legacy_bytes(&self) -> Vec<u8> {
        let key_bytes = self.key_stats().total_len as usize;
        let mut out = Vec::with_capacity(self.len() * ENTRY_HEADER_LEN + key_bytes + CRC_LEN);
        for (key, offset) in self {
            // `add` keeps every key within u32::MAX bytes.
            out.extend_from_slice(&(key.len() as u32).to_be_bytes());
            out.extend_from_slice(&offset.to_be_bytes());
            out.extend_from_slice(key);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }
}

/// Whether `payload` (everything before the CRC of a legacy index) holds a first entry, header and key. Asked only
/// when the CRC does not match: 4 bytes that are not the empty index's `00 00 00 00` have none.
fn first_entry_fits(payload: &[u8]) -> bool {
    let Some(header) = payload.get(..ENTRY_HEADER_LEN) else {
        return false;
    };
    let key_len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    key_len <= payload.len() - ENTRY_HEADER_LEN
}

/// Walks the entries of a legacy index (`payload`, everything before the CRC), checking that each is whole, that
/// keys and offsets strictly ascend and that the index fits the limits of [`SparseIndex`], and calls `each` with
/// the key and offset of every entry. Nothing is copied: a key is compared where it lies.
fn walk_legacy_entries<'a>(
    payload: &'a [u8],
    mut each: impl FnMut(&'a [u8], u64) -> Result<()>,
) -> Result<()> {
    let mut previous: Option<(&[u8], u64)> = None;
    let mut key_bytes = 0u64;
    let mut pos = 0;
    let mut i = 0;
    while pos < payload.len() {
        let truncated = Error::LegacyTruncatedEntry {
            index: i,
            offset: pos,
        };
        let Some(header) = payload.get(pos..pos + ENTRY_HEADER_LEN) else {
            return Err(truncated);
        };
        let key_len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let mut word = [0; 8];
        word.copy_from_slice(&header[4..]);
        let offset = u64::from_be_bytes(word);
        let key_start = pos + ENTRY_HEADER_LEN;
        let Some(key) = key_start
            .checked_add(key_len)
            .and_then(|key_end| payload.get(key_start..key_end))
        else {
            return Err(truncated);
        };
        if let Some((previous_key, previous_offset)) = previous {
            if compare_keys(key, previous_key).is_le() {
                return Err(Error::CorruptKey {
                    index: i,
                    offset: pos,
                    reason: "is not greater than the previous key",
                });
            }
            if offset <= previous_offset {
                return Err(Error::CorruptOffset {
                    index: i,
                    offset: pos + 4,
                    value: offset,
                });
            }
        }
        if i >= u32::MAX as usize {
            return Err(Error::TooLarge { what: "entries" });
        }
        key_bytes += key.len() as u64;
        if key_bytes > u64::from(u32::MAX) {
            return Err(Error::TooLarge { what: "key bytes" });
        }
        each(key, offset)?;
        previous = Some((key, offset));
        pos = key_start + key_len;
        i += 1;
    }
    Ok(())
}

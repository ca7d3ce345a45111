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

/// Length of an entry's fixed part: key length and offset.
const ENTRY_HEADER_LEN: usize = 12;
/// Length of the CRC footer.
const CRC_LEN: usize = 4;

impl SparseIndex {
    /// Decodes the Python reference's layout (see [`to_legacy_bytes`](Self::to_legacy_bytes)). The data end is
    /// unknown afterwards (the layout does not record it): set it with [`set_data_end`](Self::set_data_end).
    ///
    /// Stricter than the reference: a truncated entry, and keys or offsets that do not strictly ascend, are errors
    /// (the reference stops silently at a truncated entry and never checks offsets).
    ///
    /// # Errors
    ///
    /// [`Error::LegacyTooShort`] for 1 to 3 bytes, [`Error::ChecksumMismatch`], [`Error::LegacyTruncatedEntry`],
    /// [`Error::CorruptKey`] / [`Error::CorruptOffset`] for entries out of order, [`Error::TooLarge`].
    pub fn from_legacy_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            return Ok(Self::new());
        }
        let Some(crc_at) = bytes.len().checked_sub(CRC_LEN) else {
            return Err(Error::LegacyTooShort { len: bytes.len() });
        };
        let (payload, crc) = bytes.split_at(crc_at);
        let stored = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let computed = crc32fast::hash(payload);
        if stored != computed {
            return Err(Error::ChecksumMismatch {
                offset: crc_at,
                stored,
                computed,
            });
        }
        let mut index = Self::new();
        let mut pos = 0;
        while pos < payload.len() {
            let i = index.len();
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
            index.add(key, offset).map_err(|err| match err {
                Error::KeyNotAscending { .. } => Error::CorruptKey {
                    index: i,
                    offset: pos,
                    reason: "is not greater than the previous key",
                },
                Error::OffsetNotAscending { .. } => Error::CorruptOffset {
                    index: i,
                    offset: pos + 4,
                    value: offset,
                },
                other => other,
            })?;
            pos = key_start + key_len;
        }
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

//! Full validation of a [`MapBuffer`]: everything the format lets us check, in one pass over the index and one over
//! the values.

use crate::error::{Error, Result};
use crate::format::{Codec, HEADER_LEN, INDEX_ENTRY_LEN, SortedSlots};
use crate::reader::{MapBuffer, offset_field_at};

impl<D: AsRef<[u8]>> MapBuffer<D> {
    /// Checks the whole map, and returns the first problem found:
    ///
    /// - the header (magic, version 0 or 1, known codec tag) and that the buffer holds the whole index (already
    ///   checked when opening);
    /// - an empty map is exactly its 16-byte header;
    /// - the first value starts at `16 + 16·N`, offsets never decrease, and every value lies inside the buffer;
    /// - the keys are in Eytzinger order of the sorted keys, with no key twice;
    /// - in version 1, every value holds its 4-byte CRC-32C and matches it (whatever [`MapBuffer::crc_check`] says);
    /// - in version 0, not every value ends with the CRC-32C of its other bytes: if they all do, the map is a
    ///   version 1 map whose version byte was damaged, and it is [`Error::VersionContradicted`]. A real version 0
    ///   map passes unless each of its values ends with its own CRC-32C, which for values of random bytes has
    ///   probability 2^-32 per value (so 2^-32k for k values), and which any value shorter than 4 bytes rules out
    ///   (values of exactly `00 00 00 00`, an empty version 1 value or a zero `u32`, count neither way);
    /// - with a codec, every value decompresses (which needs that codec's feature).
    ///
    /// Errors name the key, its slot, and the byte offset of the bad field or value.
    pub fn verify(&self) -> Result<()> {
        let n = self.len();
        let len = self.as_bytes().len() as u64;
        if n == 0 {
            return if len == HEADER_LEN as u64 {
                Ok(())
            } else {
                Err(Error::TrailingBytes {
                    expected: HEADER_LEN as u64,
                    len,
                })
            };
        }
        self.validate_key_order()?;
        let codec = self.codec();
        if !codec.is_available() {
            return Err(Error::CodecDisabled { codec });
        }
        if !self.format_version().has_crc() {
            // A real version 0 map usually stops this at its first value.
            self.check_v0_tails(n, usize::MAX)?;
        }
        for slot in 0..n {
            // Checks this slot's offset against the next one and the buffer end, and the CRC's presence.
            let entry = self.raw_entry(slot)?;
            entry.check_crc()?;
            if codec != Codec::None {
                self.core.decompress(&entry)?;
            }
        }
        Ok(())
    }

    /// Keys strictly increase along the in-order walk of the Eytzinger tree.
    fn validate_key_order(&self) -> Result<()> {
        let mut previous: Option<(usize, u64)> = None;
        for slot in SortedSlots::new(self.len()) {
            let key = self.key_at(slot).unwrap_or_default();
            if let Some((previous_slot, previous_key)) = previous {
                let at = offset_field_at(slot) - INDEX_ENTRY_LEN as u64 / 2;
                if key == previous_key {
                    return Err(Error::DuplicateKeyInIndex {
                        key,
                        first_slot: previous_slot,
                        slot,
                        at,
                    });
                }
                if key < previous_key {
                    return Err(Error::UnsortedIndex {
                        key,
                        slot,
                        at,
                        previous: previous_key,
                    });
                }
            }
            previous = Some((slot, key));
        }
        Ok(())
    }
}

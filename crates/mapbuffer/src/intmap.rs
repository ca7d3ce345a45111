//! [`IntMap`]: the companion `u64 → u64` format of Python mapbuffer (`b"intm"`), an Eytzinger-ordered index with
//! the values in place of offsets and no data region. Its 10-byte header leaves the index unaligned, so every
//! read is an unaligned little-endian load.
//!
//! ```text
//! b"intm" | version u8 = 0 | dtype u8 = 3 (uint64) | N u32 LE | N × (key u64 LE, value u64 LE)
//! ```

use std::fmt;
use std::io::{BufWriter, Write};
use std::path::Path;

use memmap2::Mmap;

use crate::error::{Error, Result};
use crate::format::{
    SortedSlots, eytzinger_find_in, eytzinger_find_many_in, eytzinger_layout, read_u64,
};

/// The four magic bytes of an IntMap.
pub const INTMAP_MAGIC: &[u8; 4] = b"intm";

/// Length of the IntMap header; the index starts here, unaligned.
pub const INTMAP_HEADER_LEN: usize = 10;

/// The only IntMap format version.
pub const INTMAP_VERSION: u8 = 0;

/// The dtype byte Python writes: numpy `uint64`.
pub const INTMAP_DTYPE_U64: u8 = 3;

const ENTRY_LEN: usize = 16;

/// An IntMap: `u64` keys to `u64` values, read in place from `D`.
///
/// ```
/// use mapbuffer::IntMap;
///
/// let bytes = IntMap::build([(1, 2), (3, 4)])?;
/// assert_eq!(bytes.len(), 10 + 2 * 16);
/// let map = IntMap::from_bytes(bytes)?;
/// assert_eq!(map.get(3), Some(4));
/// assert_eq!(map.get(2), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct IntMap<D> {
    data: D,
    len: u32,
}

impl IntMap<Vec<u8>> {
    /// Builds the IntMap bytes of `entries` (any order; a repeated key is [`Error::DuplicateKey`]).
    pub fn build(entries: impl IntoIterator<Item = (u64, u64)>) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        Self::write(entries, &mut out)?;
        Ok(out)
    }

    /// Writes the IntMap of `entries` to `out`, returning the number of bytes written.
    pub fn write(entries: impl IntoIterator<Item = (u64, u64)>, out: impl Write) -> Result<u64> {
        let mut entries: Vec<(u64, u64)> = entries.into_iter().collect();
        let count = u32::try_from(entries.len()).map_err(|_| Error::TooManyKeys {
            count: entries.len(),
        })?;
        entries.sort_unstable_by_key(|entry| entry.0);
        if let Some(pair) = entries.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(Error::DuplicateKey { key: pair[0].0 });
        }
        let mut out = BufWriter::with_capacity(1 << 16, out);
        out.write_all(INTMAP_MAGIC)?;
        out.write_all(&[INTMAP_VERSION, INTMAP_DTYPE_U64])?;
        out.write_all(&count.to_le_bytes())?;
        for rank in eytzinger_layout(count) {
            let (key, value) = entries[rank as usize];
            out.write_all(&key.to_le_bytes())?;
            out.write_all(&value.to_le_bytes())?;
        }
        out.flush()?;
        Ok(INTMAP_HEADER_LEN as u64 + ENTRY_LEN as u64 * u64::from(count))
    }
}

impl IntMap<Mmap> {
    /// Memory-maps the file at `path` and opens it as an IntMap. The file must not change while the map is alive.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_bytes(crate::reader::map_file(path.as_ref())?)
    }
}

impl<D: AsRef<[u8]>> IntMap<D> {
    /// Opens an IntMap held in `data`: magic `intm`, version 0, dtype 3, and a length of exactly `10 + 16·N`.
    pub fn from_bytes(data: D) -> Result<Self> {
        let bytes = data.as_ref();
        let Some(header) = bytes.first_chunk::<INTMAP_HEADER_LEN>() else {
            return Err(Error::Truncated {
                what: "header",
                needed: INTMAP_HEADER_LEN as u64,
                len: bytes.len() as u64,
            });
        };
        if &header[..4] != INTMAP_MAGIC {
            return Err(Error::BadMagic {
                expected: INTMAP_MAGIC,
                found: header[..4].to_vec(),
            });
        }
        if header[4] != INTMAP_VERSION {
            return Err(Error::UnsupportedVersion { version: header[4] });
        }
        if header[5] != INTMAP_DTYPE_U64 {
            return Err(Error::UnsupportedIntMapDtype { dtype: header[5] });
        }
        let len = u32::from_le_bytes([header[6], header[7], header[8], header[9]]);
        let expected = INTMAP_HEADER_LEN as u64 + ENTRY_LEN as u64 * u64::from(len);
        let actual = bytes.len() as u64;
        if actual < expected {
            return Err(Error::Truncated {
                what: "index",
                needed: expected,
                len: actual,
            });
        }
        if actual > expected {
            return Err(Error::TrailingBytes {
                expected,
                len: actual,
            });
        }
        Ok(Self { data, len })
    }

    /// The number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether the map has no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The whole buffer.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// Gives back the container.
    #[must_use]
    pub fn into_inner(self) -> D {
        self.data
    }

    fn entries(&self) -> &[u8] {
        &self.data.as_ref()[INTMAP_HEADER_LEN..]
    }

    /// The key and value of index slot `slot`, or `None` when `slot >= len()`.
    #[must_use]
    pub fn entry_at(&self, slot: usize) -> Option<(u64, u64)> {
        let at = slot.checked_mul(ENTRY_LEN)?;
        Some((
            read_u64(self.entries(), at)?,
            read_u64(self.entries(), at + 8)?,
        ))
    }

    /// The index slot of `key`, if present.
    #[must_use]
    pub fn slot_of(&self, key: u64) -> Option<usize> {
        eytzinger_find_in(self.entries(), ENTRY_LEN, self.len(), key, true, None)
    }

    /// The value of `key`, if present.
    #[must_use]
    pub fn get(&self, key: u64) -> Option<u64> {
        self.slot_of(key)
            .and_then(|slot| read_u64(self.entries(), slot * ENTRY_LEN + 8))
    }

    /// Whether `key` is in the map.
    #[must_use]
    pub fn contains(&self, key: u64) -> bool {
        self.slot_of(key).is_some()
    }

    /// The values of `keys`, in order (`None` for an absent key): [`get`](Self::get) for a batch, with the
    /// searches run side by side so that their memory accesses overlap (see [`MapBuffer::slots_of`]).
    ///
    /// [`MapBuffer::slots_of`]: crate::MapBuffer::slots_of
    #[must_use]
    pub fn get_many(&self, keys: &[u64]) -> Vec<Option<u64>> {
        eytzinger_find_many_in(self.entries(), self.len(), keys, true)
            .into_iter()
            .map(|slot| slot.and_then(|slot| read_u64(self.entries(), slot * ENTRY_LEN + 8)))
            .collect()
    }

    /// `(key, value)` pairs in ascending key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (u64, u64)> + '_ {
        SortedSlots::new(self.len()).map(|slot| self.entry_at(slot).unwrap_or_default())
    }

    /// `(key, value)` pairs in index-slot order (Python's `items()` order).
    pub fn iter_slot_order(&self) -> impl ExactSizeIterator<Item = (u64, u64)> + '_ {
        (0..self.len()).map(|slot| self.entry_at(slot).unwrap_or_default())
    }

    /// Checks what opening does not: that the keys are in Eytzinger order of the sorted keys, with no key twice.
    pub fn verify(&self) -> Result<()> {
        let mut previous: Option<(usize, u64)> = None;
        for slot in SortedSlots::new(self.len()) {
            let (key, _) = self.entry_at(slot).unwrap_or_default();
            let at = (INTMAP_HEADER_LEN + slot * ENTRY_LEN) as u64;
            match previous {
                Some((first_slot, previous)) if key == previous => {
                    return Err(Error::DuplicateKeyInIndex {
                        key,
                        first_slot,
                        slot,
                        at,
                    });
                }
                Some((_, previous)) if key < previous => {
                    return Err(Error::UnsortedIndex {
                        key,
                        slot,
                        at,
                        previous,
                    });
                }
                _ => previous = Some((slot, key)),
            }
        }
        Ok(())
    }
}

impl<D: AsRef<[u8]> + AsMut<[u8]>> IntMap<D> {
    /// Replaces the value of `key` in place; [`Error::KeyNotFound`] when it is absent.
    pub fn set(&mut self, key: u64, value: u64) -> Result<()> {
        let slot = self.slot_of(key).ok_or(Error::KeyNotFound { key })?;
        let at = INTMAP_HEADER_LEN + slot * ENTRY_LEN + 8;
        self.data.as_mut()[at..at + 8].copy_from_slice(&value.to_le_bytes());
        Ok(())
    }
}

impl<D: AsRef<[u8]>> fmt::Debug for IntMap<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntMap")
            .field("len", &self.len)
            .field("bytes", &self.data.as_ref().len())
            .finish()
    }
}

//! The on-disk layout of one Roxxel shard, as pure functions over byte slices.
//!
//! ```text
//! offset 0            raw_data_size                raw_data_size + 8·N
//! | payload: records | index: N × i64 LE end offset | footer                                              |
//!                                                    ROXXEL01 (24 B): N i64 LE | raw_data_size i64 LE | "ROXXEL01"
//!                                                    ROXXEL02 (32 B): N | raw_data_size | dtype 8 B | "ROXXEL02"
//! ```
//!
//! Record `i` is `payload[end[i-1]..end[i]]` with `end[-1] = 0`. The index starts at `raw_data_size`, which need
//! not be a multiple of 8, so every entry is decoded from bytes (little-endian, no alignment assumed). The last
//! 8 bytes of the file select the footer kind. Nothing here touches a file: a remote reader can fetch the last
//! [`MAX_FOOTER_LEN`] bytes and call [`Footer::parse`] on them.

use std::fmt;
use std::path::Path;

use crate::error::{Error, ExpectedSize, Result};

/// Magic of the 24-byte footer written by roxxel 0.1.0 – 0.3.x.
pub const MAGIC_ROXXEL01: [u8; 8] = *b"ROXXEL01";
/// Magic of the 32-byte footer (with dtype) written by roxxel 0.4 and later.
pub const MAGIC_ROXXEL02: [u8; 8] = *b"ROXXEL02";
/// Size of one index entry (an `i64` end offset).
pub const INDEX_ENTRY_LEN: usize = 8;
/// Size of the smaller footer; no valid shard is shorter than this.
pub const MIN_FOOTER_LEN: usize = 24;
/// Size of the larger footer; fetching this many trailing bytes is always enough to parse a footer.
pub const MAX_FOOTER_LEN: usize = 32;

/// Which of the two footers a shard ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum FooterKind {
    /// 24 bytes: record count, payload size, `ROXXEL01`. What roxxel 0.1.0 writes; the default.
    #[default]
    Roxxel01,
    /// 32 bytes: record count, payload size, an 8-byte dtype name, `ROXXEL02`. What roxxel ≥ 0.4 writes.
    Roxxel02,
}

impl FooterKind {
    /// The footer length in bytes (24 or 32).
    #[must_use]
    pub const fn size(self) -> usize {
        match self {
            Self::Roxxel01 => 24,
            Self::Roxxel02 => 32,
        }
    }

    /// The 8 magic bytes that end the footer.
    #[must_use]
    pub const fn magic(self) -> [u8; 8] {
        match self {
            Self::Roxxel01 => MAGIC_ROXXEL01,
            Self::Roxxel02 => MAGIC_ROXXEL02,
        }
    }

    /// The kind whose magic these 8 bytes are.
    #[must_use]
    pub fn from_magic(magic: &[u8; 8]) -> Option<Self> {
        match magic {
            m if *m == MAGIC_ROXXEL01 => Some(Self::Roxxel01),
            m if *m == MAGIC_ROXXEL02 => Some(Self::Roxxel02),
            _ => None,
        }
    }

    /// The magic as text (`"ROXXEL01"` / `"ROXXEL02"`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Roxxel01 => "ROXXEL01",
            Self::Roxxel02 => "ROXXEL02",
        }
    }
}

impl fmt::Display for FooterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The dtype name stored in a ROXXEL02 footer: up to 8 ASCII bytes, NUL-padded (numpy names such as `uint8`,
/// `int32`, `float16`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dtype([u8; 8]);

impl Dtype {
    /// `uint8`, what roxxel records for plain bytes and what a ROXXEL01 shard implicitly holds.
    pub const UINT8: Self = Self(*b"uint8\0\0\0");

    /// A dtype from its name.
    ///
    /// # Errors
    /// [`Error::InvalidDtype`] when the name is empty, longer than 8 bytes (Python roxxel silently truncates,
    /// e.g. `complex128` → `complex1`), or holds a byte that is not printable ASCII.
    pub fn new(name: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidDtype {
            dtype: name.to_owned(),
            reason,
        };
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if name.len() > 8 {
            return Err(invalid("the footer field holds at most 8 bytes"));
        }
        if !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("only printable ASCII without spaces is allowed"));
        }
        let mut field = [0u8; 8];
        field[..name.len()].copy_from_slice(name.as_bytes());
        Ok(Self(field))
    }

    /// The dtype from the raw 8-byte footer field, exactly as stored.
    #[must_use]
    pub const fn from_field(field: [u8; 8]) -> Self {
        Self(field)
    }

    /// The raw 8-byte footer field.
    #[must_use]
    pub const fn to_field(self) -> [u8; 8] {
        self.0
    }

    /// The name bytes, without the trailing NUL padding.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        let end = self.0.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        &self.0[..end]
    }

    /// The name as text, or `None` when the stored bytes are not UTF-8.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// Bytes per element for the numpy names roxxel uses, `None` for any other name.
    #[must_use]
    pub fn element_size(&self) -> Option<usize> {
        Some(match self.as_bytes() {
            b"uint8" | b"int8" | b"bool" => 1,
            b"uint16" | b"int16" | b"float16" => 2,
            b"uint32" | b"int32" | b"float32" => 4,
            b"uint64" | b"int64" | b"float64" => 8,
            _ => return None,
        })
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(self.as_bytes()))
    }
}

impl fmt::Debug for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dtype({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl std::str::FromStr for Dtype {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::new(s)
    }
}

/// A decoded footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Footer {
    /// Which footer it is.
    pub kind: FooterKind,
    /// Number of records (`N`).
    pub records: u64,
    /// Payload size in bytes; also the file offset where the index starts.
    pub raw_data_size: u64,
    /// The dtype field (ROXXEL02 only).
    pub dtype: Option<Dtype>,
}

impl Footer {
    /// Parses and checks the footer at the end of `tail`, the last bytes of a file of `file_len` bytes (pass at
    /// least [`MAX_FOOTER_LEN`] bytes, or the whole file when it is shorter). `file` only names the file in errors.
    ///
    /// Checks, all in O(1): the magic, non-negative fields, and
    /// `file_len == raw_data_size + 8·N + footer length`.
    ///
    /// # Errors
    /// [`Error::TooSmall`], [`Error::BadMagic`], [`Error::NegativeFooterField`] or [`Error::SizeMismatch`].
    pub fn parse(tail: &[u8], file_len: u64, file: &Path) -> Result<Self> {
        let too_small = || Error::TooSmall {
            file: file.to_path_buf(),
            size: file_len,
        };
        if tail.len() < MIN_FOOTER_LEN || file_len < MIN_FOOTER_LEN as u64 {
            return Err(too_small());
        }
        let magic: [u8; 8] = tail[tail.len() - 8..].try_into().expect("8 bytes");
        let kind = FooterKind::from_magic(&magic).ok_or_else(|| Error::BadMagic {
            file: file.to_path_buf(),
            offset: file_len - 8,
            found: magic,
        })?;
        if tail.len() < kind.size() || file_len < kind.size() as u64 {
            return Err(too_small());
        }
        let footer = &tail[tail.len() - kind.size()..];
        let footer_offset = file_len - kind.size() as u64;
        let field = |at: usize| i64::from_le_bytes(footer[at..at + 8].try_into().expect("8 bytes"));
        let non_negative = |at: usize, name: &'static str| {
            let value = field(at);
            u64::try_from(value).map_err(|_| Error::NegativeFooterField {
                file: file.to_path_buf(),
                offset: footer_offset + at as u64,
                field: name,
                value,
            })
        };
        let records = non_negative(0, "record count")?;
        let raw_data_size = non_negative(8, "raw data size")?;
        let dtype = match kind {
            FooterKind::Roxxel01 => None,
            FooterKind::Roxxel02 => Some(Dtype::from_field(
                footer[16..24].try_into().expect("8 bytes"),
            )),
        };
        let parsed = Self {
            kind,
            records,
            raw_data_size,
            dtype,
        };
        match parsed.file_len() {
            Some(expected) if expected == file_len => Ok(parsed),
            expected => Err(Error::SizeMismatch {
                file: file.to_path_buf(),
                footer_offset,
                records,
                raw_data_size,
                expected: expected.map_or(ExpectedSize::Overflow, ExpectedSize::Bytes),
                actual: file_len,
            }),
        }
    }

    /// The file size this footer implies: `raw_data_size + 8·N + footer length`, `None` on overflow.
    #[must_use]
    pub fn file_len(&self) -> Option<u64> {
        self.records
            .checked_mul(INDEX_ENTRY_LEN as u64)?
            .checked_add(self.raw_data_size)?
            .checked_add(self.kind.size() as u64)
    }

    /// File offset of the index (equal to the payload size).
    #[must_use]
    pub const fn index_offset(&self) -> u64 {
        self.raw_data_size
    }

    /// The dtype this shard declares: its footer field for ROXXEL02, `uint8` for ROXXEL01 (as Python roxxel
    /// ≥ 0.4 reports it).
    #[must_use]
    pub fn effective_dtype(&self) -> Dtype {
        self.dtype.unwrap_or(Dtype::UINT8)
    }

    /// The footer bytes (24 or 32, see [`FooterKind::size`]).
    ///
    /// The writer keeps both fields below `i64::MAX`; larger values would read back as negative.
    #[must_use]
    pub fn to_bytes(&self) -> FooterBytes {
        let mut bytes = [0u8; MAX_FOOTER_LEN];
        bytes[0..8].copy_from_slice(&self.records.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.raw_data_size.to_le_bytes());
        let len = self.kind.size();
        if self.kind == FooterKind::Roxxel02 {
            bytes[16..24].copy_from_slice(&self.effective_dtype().to_field());
        }
        bytes[len - 8..len].copy_from_slice(&self.kind.magic());
        FooterBytes { bytes, len }
    }
}

/// The encoded bytes of a [`Footer`]; derefs to a 24- or 32-byte slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FooterBytes {
    bytes: [u8; MAX_FOOTER_LEN],
    len: usize,
}

impl std::ops::Deref for FooterBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl AsRef<[u8]> for FooterBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

/// Decodes an index region (`8·N` bytes, any alignment) into end offsets, exactly as stored (possibly negative
/// or out of order: [`Shard`](crate::Shard) checks each entry when it is used).
///
/// Only whole 8-byte entries are decoded: pass exactly the `8·N` bytes of the region (bytes after the last whole
/// entry are not an entry, and never make this panic).
#[must_use]
pub fn decode_index(index: &[u8]) -> Vec<i64> {
    index
        .chunks_exact(INDEX_ENTRY_LEN)
        .filter_map(|entry| entry.try_into().ok().map(i64::from_le_bytes))
        .collect()
}

/// Encodes end offsets as the index region (little-endian `i64`), appending to `out`.
pub fn encode_index(ends: &[u64], out: &mut Vec<u8>) {
    out.reserve(ends.len() * 8);
    for &end in ends {
        out.extend_from_slice(&end.to_le_bytes());
    }
}

//! Optional checksum sidecars: `<shard>.crc` next to a shard (`ds_0003.rox.crc`, `data.rox.crc`) holds a CRC-32C
//! of every record, so that a flipped bit in the payload or the index is a typed error instead of a different
//! record. Python roxxel never reads or writes them, and shard listings never pick them up (`*.rox` globs and
//! directory listings look for the `.rox` extension; patterns such as `ds_*` leave `.rox.crc` names out).
//!
//! ```text
//! offset 0   "ROXXCRC1"                         magic
//!        8   u64 k                              records covered: the shard's first k records
//!       16   u64 payload_end                    where record k-1 ends (0 when k = 0)
//!       24   u32 CRC-32C of bytes 0..24         so a damaged header is never trusted
//!       28   k × u32 CRC-32C of record i        record i = payload[end[i-1]..end[i]]
//!   28+4k    u32 CRC-32C of bytes 0..28+4k      so a damaged entry is told apart from a damaged record
//! ```
//!
//! All integers are little-endian; a sidecar is exactly `32 + 4·k` bytes.
//!
//! **Prefix rule.** Records are only ever appended and committed payload bytes never change, so a sidecar
//! covering the first `k` records stays valid when records are appended without updating it (by Python roxxel,
//! or by a [`Writer`](crate::Writer) without [`checksums`](crate::WriterOptions::checksums)): the records past
//! `k` are simply not checked ([`Verification::short_sidecars`] lists such shards). A sidecar covering *more*
//! records than its shard (left by an interrupted session) is valid too: only the first `n` entries are used.
//! `payload_end` ties a sidecar to its shard: when it disagrees with the shard's index ([`Error::StaleChecksums`])
//! the shard was rewritten by a tool that does not know about sidecars, and the sidecar should be deleted.
//!
//! **Why CRC-32C.** It is computed by a dedicated instruction on x86-64 (SSE 4.2) and ARMv8, so checking costs a
//! small fraction of reading the bytes; the Castagnoli polynomial detects more error patterns than IEEE CRC-32 at
//! record lengths up to kilobytes; and it is what TFRecord and this workspace's MapBuffer values use.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::journal;
use crate::naming;

/// The 8 bytes a sidecar starts with.
pub const SIDECAR_MAGIC: [u8; 8] = *b"ROXXCRC1";
/// Bytes before the first entry: magic, record count, payload end, header CRC.
const HEADER_LEN: usize = 28;
/// Header plus the trailing CRC: the size of a sidecar covering no record.
const MIN_LEN: u64 = HEADER_LEN as u64 + 4;

/// The sidecar file of the shard at `shard`: `shard` with `.crc` appended (`ds_0003.rox` → `ds_0003.rox.crc`).
#[must_use]
pub fn sidecar_path(shard: &Path) -> PathBuf {
    naming::sidecar_path(shard)
}

/// The contents of a checksum sidecar (see the module docs of `roxxel_format::checksums`): one CRC-32C per record
/// of a shard's first [`records`](Self::records) records.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Checksums {
    /// The whole sidecar file, checked.
    bytes: Box<[u8]>,
    records: u64,
    payload_end: u64,
    path: PathBuf,
}

impl std::fmt::Debug for Checksums {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checksums")
            .field("path", &self.path)
            .field("records", &self.records)
            .field("payload_end", &self.payload_end)
            .finish_non_exhaustive()
    }
}

impl Checksums {
    /// Parses and checks a sidecar's bytes (magic, header CRC, length, whole-file CRC). `name` only names it in
    /// errors.
    ///
    /// # Errors
    /// [`Error::BadChecksums`] naming the byte offset of the problem.
    pub fn from_bytes(bytes: impl Into<Box<[u8]>>, name: impl Into<PathBuf>) -> Result<Self> {
        let bytes = bytes.into();
        let path = name.into();
        let (records, payload_end) = parse_header(&bytes, bytes.len() as u64, &path)?;
        let body = bytes.len() - 4;
        if crc32c::crc32c(&bytes[..body]) != read_u32(&bytes[body..]) {
            return Err(bad(
                &path,
                body as u64,
                "the CRC of the sidecar does not match its contents",
            ));
        }
        Ok(Self {
            bytes,
            records,
            payload_end,
            path,
        })
    }

    /// Encodes the sidecar of records with these CRCs, the last of which ends at `payload_end`.
    #[must_use]
    pub fn new(crcs: &[u32], payload_end: u64, name: impl Into<PathBuf>) -> Self {
        let bytes = encode(crcs, payload_end).into_boxed_slice();
        Self {
            bytes,
            records: crcs.len() as u64,
            payload_end: if crcs.is_empty() { 0 } else { payload_end },
            path: name.into(),
        }
    }

    /// Reads the sidecar at `path`; `Ok(None)` when there is none.
    ///
    /// # Errors
    /// [`Error::BadChecksums`] for a damaged sidecar, [`Error::NotRegularFile`], [`Error::Io`].
    pub fn read(path: impl AsRef<Path>) -> Result<Option<Self>> {
        let path = path.as_ref();
        let Some(mut file) = open_sidecar(path)? else {
            return Ok(None);
        };
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        // The header's count is checked against the real length before the rest is read.
        let mut header = [0u8; HEADER_LEN];
        let head = &mut header[..usize::try_from(len.min(HEADER_LEN as u64)).unwrap_or(0)];
        file.read_exact(head).map_err(|e| Error::io(path, e))?;
        parse_header(head, len, path)?;
        let len = usize::try_from(len).map_err(|_| Error::TooLarge { file: path.into() })?;
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(len).map_err(|_| {
            let message = format!("cannot hold the {len}-byte checksum sidecar");
            Error::io(path, io::Error::new(io::ErrorKind::OutOfMemory, message))
        })?;
        bytes.extend_from_slice(head);
        bytes.resize(len, 0);
        file.read_exact(&mut bytes[HEADER_LEN..])
            .map_err(|e| Error::io(path, e))?;
        Self::from_bytes(bytes, path).map(Some)
    }

    /// How many records the sidecar covers: the shard's first `records()` records.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Where the last covered record ends in the shard's payload (0 when it covers no record).
    #[must_use]
    pub fn payload_end(&self) -> u64 {
        self.payload_end
    }

    /// The stored CRC-32C of record `index`, `None` past [`records`](Self::records).
    #[must_use]
    #[inline]
    pub fn get(&self, index: u64) -> Option<u32> {
        if index >= self.records {
            return None;
        }
        let at = HEADER_LEN + usize::try_from(index).ok()? * 4;
        Some(read_u32(&self.bytes[at..at + 4]))
    }

    /// The sidecar's bytes, as written to disk.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The file the sidecar was read from (or the name given to [`from_bytes`](Self::from_bytes)).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first `n` stored CRCs (all of them when `n` is larger).
    pub(crate) fn prefix(&self, n: u64) -> Vec<u32> {
        (0..self.records.min(n))
            .filter_map(|i| self.get(i))
            .collect()
    }

    /// Checks record `index` (`record` = its bytes, starting at payload offset `start`) of the shard `file`.
    #[inline]
    pub(crate) fn check(&self, file: &Path, index: u64, start: u64, record: &[u8]) -> Result<()> {
        match self.get(index) {
            Some(expected) => {
                let actual = crc32c::crc32c(record);
                if actual == expected {
                    Ok(())
                } else {
                    Err(mismatch(file, index, start, expected, actual))
                }
            }
            None => Ok(()),
        }
    }

    /// Checks that this sidecar can describe a shard whose index ends are `end(i)` for `i < records`, paying one
    /// index lookup: a sidecar covering `k ≤ n` records must end where record `k-1` ends, one covering more must
    /// end at or after the payload.
    pub(crate) fn check_pairing(
        &self,
        shard: &Path,
        records: u64,
        raw_data_size: u64,
        end: impl Fn(u64) -> i64,
    ) -> Result<()> {
        let k = self.records;
        let (ok, shard_end, entry) = if k == 0 {
            (true, 0, 0)
        } else if k <= records {
            let e = end(k - 1);
            (e >= 0 && e as u64 == self.payload_end, e, k - 1)
        } else {
            let ok = self.payload_end >= raw_data_size;
            (ok, raw_data_size as i64, records.saturating_sub(1))
        };
        if ok {
            return Ok(());
        }
        Err(Error::StaleChecksums {
            file: shard.to_path_buf(),
            sidecar: self.path.clone(),
            records: k,
            offset: raw_data_size + entry * crate::format::INDEX_ENTRY_LEN as u64,
            sidecar_end: self.payload_end,
            shard_end,
        })
    }

    /// Writes the sidecar to `path` crash-safely: a hidden temporary file, synced, renamed into place. The caller
    /// syncs the directory (`sync_dir` says whether to do it here).
    pub(crate) fn write_durably(
        crcs: &[u32],
        payload_end: u64,
        path: &Path,
        sync_dir: bool,
    ) -> Result<()> {
        let tmp = naming::temp_path(path);
        let result = (|| {
            let mut file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
            file.write_all(&encode(crcs, payload_end))
                .and_then(|()| file.sync_all())
                .map_err(|e| Error::io(&tmp, e))?;
            drop(file);
            fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result?;
        if sync_dir {
            journal::sync_dir(path)?;
        }
        Ok(())
    }
}

/// The records covered by the sidecar at `path`, reading only its header (magic, header CRC, and the length the
/// count implies); `Ok(None)` when there is none. The entries are checked by [`Checksums::read`].
pub(crate) fn read_header(path: &Path) -> Result<Option<u64>> {
    let Some(mut file) = open_sidecar(path)? else {
        return Ok(None);
    };
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut header = [0u8; HEADER_LEN];
    let head = &mut header[..usize::try_from(len.min(HEADER_LEN as u64)).unwrap_or(0)];
    file.read_exact(head).map_err(|e| Error::io(path, e))?;
    parse_header(head, len, path).map(|(records, _)| Some(records))
}

/// After a rollback cut a shard back to `records` records: a sidecar covering more is cut back too, so that a
/// later append that does not update it (Python roxxel) is not checked against the entries of discarded records.
/// A damaged sidecar is left alone (verification reports it).
pub(crate) fn truncate_to(shard: &Path, records: u64, raw_data_size: u64) -> Result<bool> {
    let path = naming::sidecar_path(shard);
    let sums = match Checksums::read(&path) {
        Ok(Some(sums)) => sums,
        Ok(None) | Err(Error::BadChecksums { .. }) => return Ok(false),
        Err(err) => return Err(err),
    };
    if sums.records <= records {
        return Ok(false);
    }
    let crcs = sums.prefix(records);
    // The old records' payload ends at the old payload size.
    Checksums::write_durably(&crcs, raw_data_size, &path, true)?;
    Ok(true)
}

fn open_sidecar(path: &Path) -> Result<Option<File>> {
    match fs::metadata(path) {
        Ok(_) => {}
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Error::io(path, err)),
    }
    crate::shard::open_regular(path).map(Some)
}

/// Checks the header in `head` (the first up to 28 bytes) of a sidecar of `len` bytes: (records, payload end).
fn parse_header(head: &[u8], len: u64, path: &Path) -> Result<(u64, u64)> {
    if len < MIN_LEN || head.len() < HEADER_LEN {
        return Err(bad(
            path,
            0,
            "shorter than the 32 bytes of an empty sidecar",
        ));
    }
    if head[..8] != SIDECAR_MAGIC {
        return Err(bad(
            path,
            0,
            "not a roxxel checksum sidecar (no \"ROXXCRC1\" magic)",
        ));
    }
    if crc32c::crc32c(&head[..24]) != read_u32(&head[24..28]) {
        return Err(bad(path, 24, "the CRC of the header does not match it"));
    }
    let records = read_u64(&head[8..16]);
    let payload_end = read_u64(&head[16..24]);
    let expected = records.checked_mul(4).and_then(|n| n.checked_add(MIN_LEN));
    if expected != Some(len) {
        return Err(bad(
            path,
            8,
            "the record count does not match the file length",
        ));
    }
    if records == 0 && payload_end != 0 {
        return Err(bad(path, 16, "covers no record but a non-zero payload end"));
    }
    Ok((records, payload_end))
}

fn encode(crcs: &[u32], payload_end: u64) -> Vec<u8> {
    let payload_end = if crcs.is_empty() { 0 } else { payload_end };
    let mut out = Vec::with_capacity(HEADER_LEN + 4 * crcs.len() + 4);
    out.extend_from_slice(&SIDECAR_MAGIC);
    out.extend_from_slice(&(crcs.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload_end.to_le_bytes());
    let header_crc = crc32c::crc32c(&out);
    out.extend_from_slice(&header_crc.to_le_bytes());
    for crc in crcs {
        out.extend_from_slice(&crc.to_le_bytes());
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn bad(path: &Path, offset: u64, reason: &'static str) -> Error {
    Error::BadChecksums {
        file: path.to_path_buf(),
        offset,
        reason,
    }
}

#[cold]
#[inline(never)]
fn mismatch(file: &Path, record: u64, offset: u64, expected: u32, actual: u32) -> Error {
    Error::ChecksumMismatch {
        file: file.to_path_buf(),
        record,
        offset,
        expected,
        actual,
    }
}

fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes[..4].try_into().unwrap_or_default())
}

fn read_u64(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default())
}

/// What [`Shard::verify_detailed`](crate::Shard::verify_detailed) and
/// [`Dataset::verify_detailed`](crate::Dataset::verify_detailed) checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Verification {
    /// Shards checked.
    pub shards: u64,
    /// Records whose index entries were checked (all of them).
    pub records: u64,
    /// Records whose bytes were also checked against a `.crc` sidecar.
    pub checksummed: u64,
    /// Shards that have a sidecar.
    pub sidecars: u64,
    /// Shards whose sidecar covers fewer records than they hold (records appended without checksums, e.g. by
    /// Python roxxel): the records past the sidecar were not checked. Not an error: see the prefix rule.
    pub short_sidecars: Vec<ShortSidecar>,
}

impl Verification {
    /// Adds another report (of more shards) to this one.
    pub fn absorb(&mut self, other: Self) {
        self.shards += other.shards;
        self.records += other.records;
        self.checksummed += other.checksummed;
        self.sidecars += other.sidecars;
        self.short_sidecars.extend(other.short_sidecars);
    }
}

/// A shard whose sidecar covers only its first records; see [`Verification::short_sidecars`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ShortSidecar {
    /// The shard file.
    pub shard: PathBuf,
    /// Records the sidecar covers.
    pub covered: u64,
    /// Records the shard holds.
    pub records: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_and_parse() {
        let sums = Checksums::new(&[1, 2, 0xdead_beef], 99, "x.rox.crc");
        assert_eq!(sums.as_bytes().len(), 32 + 12);
        let parsed = Checksums::from_bytes(sums.as_bytes().to_vec(), "x.rox.crc").unwrap();
        assert_eq!(parsed, sums);
        assert_eq!(parsed.records(), 3);
        assert_eq!(parsed.payload_end(), 99);
        assert_eq!(parsed.get(2), Some(0xdead_beef));
        assert_eq!(parsed.get(3), None);
        assert_eq!(parsed.prefix(2), [1, 2]);
        let empty = Checksums::new(&[], 5, "e");
        assert_eq!(empty.as_bytes().len(), 32);
        assert_eq!(
            Checksums::from_bytes(empty.as_bytes().to_vec(), "e")
                .unwrap()
                .payload_end(),
            0
        );
    }

    #[test]
    fn every_flip_and_truncation_is_an_error() {
        let bytes = Checksums::new(&[7, 8], 10, "s").as_bytes().to_vec();
        for bit in 0..bytes.len() * 8 {
            let mut copy = bytes.clone();
            copy[bit / 8] ^= 1 << (bit % 8);
            assert!(matches!(
                Checksums::from_bytes(copy, "s"),
                Err(Error::BadChecksums { .. })
            ));
        }
        for len in 0..bytes.len() {
            assert!(Checksums::from_bytes(bytes[..len].to_vec(), "s").is_err());
        }
    }
}

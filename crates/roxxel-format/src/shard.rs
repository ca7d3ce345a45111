//! One shard file, checked at open and read without copying records.
//!
//! [`Shard::open`] memory-maps the payload of a file. An index of up to [`COPY_INDEX_LIMIT`] bytes (2 Mi records)
//! is copied into memory (8 bytes per record, decoded little-endian from unaligned bytes). The copy is what makes
//! concurrent appends safe: an append writes new payload over the old index, but never touches the old payload,
//! so a reader holding the old index and a map of the old payload keeps reading exactly the bytes it opened.
//! The copy is checked as it is decoded (every entry non-negative, not before the previous one, within the
//! payload): when it passes, `get` and [`Iter`] slice records from it with no further check; when an entry is bad,
//! every read checks the two entries it uses, so the other records stay readable.
//!
//! A larger index is not copied (its size is only bounded by the file's, and a footer may claim 2^37 records of
//! a sparse file): it is mapped with the payload and read in place, and the reader keeps a shared lock on the
//! file for as long as the shard is open. Appends by this crate's writers take an exclusive lock, so they wait
//! for such readers (and report [`Error::Locked`] after a while) instead of overwriting an index in use.
//!
//! [`Shard::from_bytes`] reads a whole file image already in memory (a `Vec`, a slice, a map), index in place.

use std::fs::{self, File, TryLockError};
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::{Range, RangeBounds};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use memmap2::{Mmap, MmapOptions};

use crate::checksums::{self, Checksums, ShortSidecar, Verification};
use crate::core::{ShardCore, range_bounds};
use crate::error::{Error, Result};
use crate::format::{Dtype, Footer, FooterKind, INDEX_ENTRY_LEN, MAX_FOOTER_LEN, decode_index};
use crate::iter::Iter;
use crate::journal::{AppendedShard, Journal, JournalRole};

/// One Roxxel shard: payload, index and footer, validated in O(1) at open.
///
/// `D` holds the file's bytes from offset 0 (at least the payload): a [`Mmap`] for [`Shard::open`], or any
/// `AsRef<[u8]>` for [`Shard::from_bytes`].
pub struct Shard<D = Mmap> {
    data: D,
    /// The file, its footer and the checks shared with the remote reader.
    core: ShardCore,
    /// The index checked at open ([`Ends::Checked`]'s offsets) while reads need no other check: `get` and
    /// [`Iter`] slice records straight from it. Empty otherwise.
    fast: Box<[usize]>,
    ends: Ends,
    rolled_back: bool,
    /// Whether `path` is a real file (so its `.crc` sidecar can be looked up).
    on_disk: bool,
    /// The sidecar every read is checked against ([`Shard::with_checksums`], [`Shard::with_sidecar`]).
    checksums: Option<Checksums>,
    /// The open file, holding a shared lock while the index is read in place (see the module docs).
    _lock: Option<File>,
}

/// The largest index [`Shard::open`] copies into memory; larger ones are read in place from the map.
pub const COPY_INDEX_LIMIT: u64 = 16 << 20;

/// Where a shard's end offsets are read from.
#[derive(Debug)]
enum Ends {
    /// [`Ends::Checked`], its offsets moved to [`Shard::fast`] (no checksums attached).
    Fast,
    /// Decoded into memory and checked once while copying (small indexes, and old states saved in a journal):
    /// `offsets[0]` is 0 and `offsets[i + 1]` the end of record `i`, never decreasing and never past the payload,
    /// so a record is located with two loads and no check that can fail.
    Checked(Box<[usize]>),
    /// Decoded into memory, with some entry negative, out of order or past the payload: every read checks the
    /// two entries it uses, so the other records stay readable.
    Copied(Box<[i64]>),
    /// In the shard's bytes right after the payload: 8 little-endian bytes per record.
    InPlace,
}

impl<D> std::fmt::Debug for Shard<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("path", &self.core.path)
            .field("footer", &self.core.footer)
            .field("rolled_back", &self.rolled_back)
            .field(
                "checksums",
                &self.checksums.as_ref().map(Checksums::records),
            )
            .finish_non_exhaustive()
    }
}

impl Shard<Mmap> {
    /// Opens a shard file: checks its footer and size, copies its index (or, above [`COPY_INDEX_LIMIT`], maps
    /// it; see the module docs), and maps its payload.
    ///
    /// If an append to this shard was interrupted (its journal is still there), the shard opens in the state
    /// from before that append, without modifying anything; [`recover`](crate::recover) or the next
    /// [`Writer`](crate::Writer) makes that state permanent.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read, [`Error::NotRegularFile`] for a directory, FIFO or device, the
    /// corruption variants of [`Error`] when it is not a valid shard, and [`Error::Uncommitted`] for a shard that
    /// an unfinished write session created.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let journals = Journal::read_for(path)?;
        Self::open_with_journals(path, &journals)
    }

    /// Opens `path` given the journals read before (see [`Dataset`](crate::Dataset) for why they are read once
    /// per dataset).
    pub(crate) fn open_with_journals(path: &Path, journals: &[Journal]) -> Result<Self> {
        if let Some(shard) = Self::open_by_journal(path, journals)? {
            return Ok(shard);
        }
        let file = open_regular(path)?;
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match file.try_lock_shared() {
                Ok(()) => {
                    // A writer that crashed after we read the journals may have left a new one.
                    return match Self::open_by_journal(path, &Journal::read_for(path)?)? {
                        Some(shard) => {
                            let _ = file.unlock();
                            Ok(shard)
                        }
                        None => Self::read_quiescent(file, path),
                    };
                }
                Err(TryLockError::WouldBlock) => {
                    // A writer holds the shard. Once its journal is durable the old state is readable from it.
                    if let Some(shard) = Self::open_by_journal(path, &Journal::read_for(path)?)? {
                        return Ok(shard);
                    }
                    if Instant::now() >= deadline {
                        file.lock_shared().map_err(|e| Error::io(path, e))?;
                        return Self::read_quiescent(file, path);
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TryLockError::Error(err)) if err.kind() == io::ErrorKind::Unsupported => {
                    return Self::read_quiescent(file, path);
                }
                Err(TryLockError::Error(err)) => return Err(Error::io(path, err)),
            }
        }
    }

    fn open_by_journal(path: &Path, journals: &[Journal]) -> Result<Option<Self>> {
        for journal in journals {
            match journal.role(path) {
                Some(JournalRole::Appended(old)) => {
                    return Self::open_old_state(path, old).map(Some);
                }
                Some(JournalRole::Uncommitted) => {
                    return Err(Error::Uncommitted {
                        file: path.to_path_buf(),
                        journal: journal.path.clone(),
                    });
                }
                None => {}
            }
        }
        Ok(None)
    }

    /// Reads a shard no writer is changing; `file` holds a shared lock, which is released unless the index is
    /// read in place.
    fn read_quiescent(file: File, path: &Path) -> Result<Self> {
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let tail_len = file_len.min(MAX_FOOTER_LEN as u64);
        let mut tail = [0u8; MAX_FOOTER_LEN];
        let tail = &mut tail[..tail_len as usize];
        read_at(&file, file_len - tail_len, tail).map_err(|e| Error::io(path, e))?;
        // The footer's counts are checked against the real file length here, before anything is allocated.
        let core = ShardCore::parse(tail, file_len, path.to_path_buf())?;
        let footer = core.footer;
        let index_len = footer.records * INDEX_ENTRY_LEN as u64;
        if index_len > COPY_INDEX_LIMIT {
            let map_len = to_usize(footer.raw_data_size + index_len, path)?;
            let data = map(&file, path, map_len)?;
            return Ok(Self {
                data,
                core,
                fast: Box::default(),
                ends: Ends::InPlace,
                rolled_back: false,
                on_disk: true,
                checksums: None,
                _lock: Some(file),
            });
        }
        let mut index = vec![0u8; to_usize(index_len, path)?];
        read_at(&file, footer.index_offset(), &mut index).map_err(|e| Error::io(path, e))?;
        let ends = copy_index(&index, footer.raw_data_size);
        let shard = Self::with_copied_index(&file, core, ends, false);
        let _ = file.unlock();
        shard
    }

    /// The state saved in a journal: old index and footer from the journal, old payload from the file (an
    /// append never rewrites it).
    fn open_old_state(path: &Path, old: &AppendedShard) -> Result<Self> {
        let file = open_regular(path)?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let footer = old.footer;
        if file_len < footer.raw_data_size {
            return Err(Error::TooSmall {
                file: path.to_path_buf(),
                size: file_len,
            });
        }
        let index_len = to_usize(footer.records * INDEX_ENTRY_LEN as u64, path)?;
        let ends = copy_index(&old.tail[..index_len], footer.raw_data_size);
        Self::with_copied_index(
            &file,
            ShardCore::new(footer, path.to_path_buf())?,
            ends,
            true,
        )
    }

    fn with_copied_index(
        file: &File,
        core: ShardCore,
        ends: Ends,
        rolled_back: bool,
    ) -> Result<Self> {
        let (fast, ends) = match ends {
            Ends::Checked(offsets) => (offsets, Ends::Fast),
            ends => (Box::default(), ends),
        };
        Ok(Self {
            data: map(file, &core.path, core.raw_len)?,
            core,
            fast,
            ends,
            rolled_back,
            on_disk: true,
            checksums: None,
            _lock: None,
        })
    }
}

/// Decodes a copied index (`8·N` bytes) and checks it in the same pass: [`Ends::Checked`] when every entry is
/// non-negative, not before the previous one and within the `raw_data_size` bytes of payload, else
/// [`Ends::Copied`], whose reads check their entries one by one.
fn copy_index(index: &[u8], raw_data_size: u64) -> Ends {
    let mut offsets = Vec::with_capacity(index.len() / INDEX_ENTRY_LEN + 1);
    offsets.push(0usize);
    let mut prev = 0u64;
    for entry in index.chunks_exact(INDEX_ENTRY_LEN) {
        let end = i64::from_le_bytes(entry.try_into().unwrap_or_default());
        match (u64::try_from(end), usize::try_from(end)) {
            (Ok(e), Ok(at)) if prev <= e && e <= raw_data_size => {
                offsets.push(at);
                prev = e;
            }
            _ => return Ends::Copied(decode_index(index).into_boxed_slice()),
        }
    }
    Ends::Checked(offsets.into_boxed_slice())
}

/// Maps the first `len` bytes of a shard: the payload, and the index when it is read in place.
fn map(file: &File, path: &Path, len: usize) -> Result<Mmap> {
    // SAFETY: the map covers only bytes this crate's writers never change while a reader may map them. The payload
    // `[0, raw_data_size)` is never rewritten (an append writes only past it) and no shard is ever cut below its
    // committed length (a rollback restores the old index and cuts the file back to its old length, which ends
    // after the old index). The index after it is mapped only while this reader holds a shared lock on the file,
    // and appends, which overwrite the old index, need an exclusive one. Another program truncating or rewriting
    // the file could still raise SIGBUS or change the bytes; that is outside what any mmap reader can prevent.
    unsafe { MmapOptions::new().len(len).map(file) }.map_err(|e| Error::io(path, e))
}

/// Opens `path` for reading if it is a regular file. The check comes first, so a FIFO without a writer is refused
/// instead of blocking the open; the opened file is checked again, in case the path was replaced in between.
pub(crate) fn open_regular(path: &Path) -> Result<File> {
    check_regular(path, &fs::metadata(path).map_err(|e| Error::io(path, e))?)?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    check_regular(path, &file.metadata().map_err(|e| Error::io(path, e))?)?;
    Ok(file)
}

fn check_regular(path: &Path, meta: &fs::Metadata) -> Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    let kind = meta.file_type();
    let kind = if kind.is_dir() {
        "a directory"
    } else {
        file_kind(kind)
    };
    Err(Error::NotRegularFile {
        file: path.to_path_buf(),
        kind,
    })
}

#[cfg(unix)]
fn file_kind(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn file_kind(_: fs::FileType) -> &'static str {
    "not a file"
}

impl<D: AsRef<[u8]>> Shard<D> {
    /// Reads a whole shard file image held in memory. `name` only names it in errors.
    ///
    /// # Errors
    /// The corruption variants of [`Error`] when the bytes are not a valid shard.
    pub fn from_bytes(data: D, name: impl Into<PathBuf>) -> Result<Self> {
        let bytes = data.as_ref();
        let file_len = bytes.len() as u64;
        let tail = &bytes[bytes.len().saturating_sub(MAX_FOOTER_LEN)..];
        let core = ShardCore::parse(tail, file_len, name.into())?;
        Ok(Self {
            data,
            core,
            fast: Box::default(),
            ends: Ends::InPlace,
            rolled_back: false,
            on_disk: false,
            checksums: None,
            _lock: None,
        })
    }

    /// Number of records.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.core.footer.records
    }

    /// Whether the shard holds no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.core.records == 0
    }

    /// The record at `index` (0-based), without copying.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`], or [`Error::BadIndexEntry`] when the two index entries it uses are negative,
    /// out of order or past the payload.
    #[inline(always)]
    pub fn get(&self, index: u64) -> Result<&[u8]> {
        if let Some(record) = self.get_checked_index(index) {
            return Ok(record);
        }
        self.get_slow(index)
    }

    /// Record `index` located in an index checked at open, when the shard has one and no checksums to check
    /// reads against: `None` when out of range or when the slow path has to decide.
    #[inline(always)]
    fn get_checked_index(&self, index: u64) -> Option<&[u8]> {
        checked_record(self.data.as_ref(), &self.fast, index)
    }

    /// The payload and, from record `pos` on, its offsets (`offsets[0]` the start of record `pos`) when the
    /// shard's index was checked at open and no checksums are attached: what [`Iter`] reads without checks.
    #[inline]
    pub(crate) fn checked_offsets(&self, pos: usize) -> Option<(&[u8], &[usize])> {
        match self.fast.get(pos..) {
            Some(offsets) if !offsets.is_empty() => Some((self.data.as_ref(), offsets)),
            _ => None,
        }
    }

    #[inline(never)]
    fn get_slow(&self, index: u64) -> Result<&[u8]> {
        let i = self.core.check_index(index)?;
        let start = if i == 0 { 0 } else { self.end(i - 1) };
        self.record(i, start, self.end(i))
    }

    /// The number of records, as a `usize`.
    #[inline]
    pub(crate) fn records(&self) -> usize {
        self.core.records
    }

    /// The end offset of record `i` as stored (`i < self.records()`).
    #[inline]
    pub(crate) fn end(&self, i: usize) -> i64 {
        match &self.ends {
            Ends::Fast => self.fast[i + 1] as i64,
            Ends::Checked(offsets) => offsets[i + 1] as i64,
            Ends::Copied(ends) => ends[i],
            Ends::InPlace => {
                let at = self.core.raw_len + i * INDEX_ENTRY_LEN;
                let bytes = &self.data.as_ref()[at..at + INDEX_ENTRY_LEN];
                i64::from_le_bytes(<[u8; 8]>::try_from(bytes).unwrap_or_default())
            }
        }
    }

    #[inline]
    pub(crate) fn record(&self, i: usize, start: i64, end: i64) -> Result<&[u8]> {
        let range = self.core.record_range(i, start, end)?;
        let record = &self.raw_data()[range];
        if let Some(sums) = &self.checksums {
            sums.check(&self.core.path, i as u64, start as u64, record)?;
        }
        Ok(record)
    }

    pub(crate) fn bad_entry(&self, i: usize, start: i64, end: i64) -> Error {
        self.core.bad_entry(i, start, end)
    }

    /// Many records at once, in the order asked.
    ///
    /// # Errors
    /// The first index that fails, as [`get`](Self::get).
    pub fn get_many(&self, indices: &[u64]) -> Result<Vec<&[u8]>> {
        indices.iter().map(|&i| self.get(i)).collect()
    }

    /// All records in order, each checked as it is read.
    #[must_use]
    pub fn iter(&self) -> Iter<'_, D> {
        Iter::new(std::slice::from_ref(self), 0, 0, self.len())
    }

    /// The records in `range`, in order.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when the range does not lie within `0..len()`.
    pub fn range(&self, range: impl RangeBounds<u64>) -> Result<Iter<'_, D>> {
        let Range { start, end } = range_bounds(range, self.len())?;
        // `start <= len()`, which fits a usize.
        let start_at = usize::try_from(start).unwrap_or(usize::MAX);
        Ok(Iter::new(
            std::slice::from_ref(self),
            0,
            start_at,
            end - start,
        ))
    }

    /// The payload bytes of the records in `range`, as one slice: records lie back to back (each starts where the
    /// one before it ends), so a run of consecutive records is one span of the payload, from the start of its
    /// first record to the end of its last. For copying a run in one go.
    ///
    /// Only the two entries that bound the span are checked (as [`get`](Self::get) checks a record's two), not
    /// those between them nor a `.crc` sidecar: read the records with [`range`](Self::range) first to check each.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when the range does not lie within `0..len()`; [`Error::BadIndexEntry`], naming
    /// the last record of the range, when the span's bounds are negative, out of order or past the payload.
    pub fn range_bytes(&self, range: impl RangeBounds<u64>) -> Result<&[u8]> {
        let Range { start, end } = range_bounds(range, self.len())?;
        if start == end {
            return Ok(&[]);
        }
        // `start < end <= len()`, which fits a usize.
        let (first, last) = (start as usize, (end - 1) as usize);
        let from = if first == 0 { 0 } else { self.end(first - 1) };
        let to = self.end(last);
        match (usize::try_from(from), usize::try_from(to)) {
            (Ok(from), Ok(to)) if from <= to && to <= self.core.raw_len => {
                Ok(&self.raw_data()[from..to])
            }
            _ => Err(self.bad_entry(last, from, to)),
        }
    }

    /// Checks the whole index in O(N): every end non-negative, not before the previous one, and the last equal to
    /// the payload size. When the shard has a `.crc` sidecar (attached with [`with_checksums`](Self::with_checksums),
    /// or next to a file opened with [`Shard::open`]), also checks every record it covers against its CRC-32C:
    /// O(payload). A sidecar covering fewer records than the shard is not an error (see
    /// [`verify_detailed`](Self::verify_detailed) to learn how many were checked).
    ///
    /// # Errors
    /// [`Error::BadIndexEntry`] for the first bad entry, [`Error::IndexEndMismatch`] for a last end short of the
    /// payload; [`Error::ChecksumMismatch`] for the first record that does not match its CRC,
    /// [`Error::BadChecksums`] for a damaged sidecar, [`Error::StaleChecksums`] for one of another version of the
    /// shard.
    pub fn verify(&self) -> Result<()> {
        self.verify_detailed().map(drop)
    }

    /// [`verify`](Self::verify), saying what was checked: how many records were checked against a sidecar, and
    /// whether the sidecar covers fewer records than the shard holds.
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_detailed(&self) -> Result<Verification> {
        self.verify_index()?;
        let loaded;
        let sums = match &self.checksums {
            Some(sums) => Some(sums),
            None => {
                loaded = self.read_sidecar()?;
                loaded.as_ref()
            }
        };
        let mut report = Verification {
            shards: 1,
            records: self.len(),
            ..Verification::default()
        };
        let Some(sums) = sums else {
            return Ok(report);
        };
        self.check_pairing(sums)?;
        let covered = sums.records().min(self.len());
        let mut start = 0i64;
        for i in 0..covered as usize {
            let end = self.end(i);
            let record = &self.raw_data()[start as usize..end as usize];
            sums.check(&self.core.path, i as u64, start as u64, record)?;
            start = end;
        }
        report.checksummed = covered;
        report.sidecars = 1;
        if covered < self.len() {
            report.short_sidecars.push(ShortSidecar {
                shard: self.core.path.clone(),
                covered,
                records: self.len(),
            });
        }
        Ok(report)
    }

    fn verify_index(&self) -> Result<()> {
        self.core
            .verify_ends((0..self.core.records).map(|i| self.end(i)))
    }

    /// Checks every later [`get`](Self::get) and [`iter`](Self::iter) item against these checksums (the records
    /// they cover; later ones are read unchecked).
    ///
    /// # Errors
    /// [`Error::StaleChecksums`] when the checksums cannot describe this shard (see the `checksums` module).
    pub fn with_checksums(mut self, checksums: Checksums) -> Result<Self> {
        self.check_pairing(&checksums)?;
        self.checksums = Some(checksums);
        if let Ends::Fast = self.ends {
            // Reads are checked against the checksums from now on.
            self.ends = Ends::Checked(std::mem::take(&mut self.fast));
        }
        Ok(self)
    }

    /// [`with_checksums`](Self::with_checksums) with the shard's `.crc` sidecar, if it has one (a shard opened from
    /// a file). Without a sidecar the shard is returned unchanged.
    ///
    /// # Errors
    /// As [`read_sidecar`](Self::read_sidecar) and [`with_checksums`](Self::with_checksums).
    pub fn with_sidecar(self) -> Result<Self> {
        match self.read_sidecar()? {
            Some(sums) => self.with_checksums(sums),
            None => Ok(self),
        }
    }

    /// Reads the shard's `.crc` sidecar (`{path}.crc`), `Ok(None)` when it has none or was not opened from a file.
    ///
    /// # Errors
    /// [`Error::BadChecksums`] for a damaged sidecar, [`Error::Io`], [`Error::NotRegularFile`].
    pub fn read_sidecar(&self) -> Result<Option<Checksums>> {
        if !self.on_disk {
            return Ok(None);
        }
        Checksums::read(checksums::sidecar_path(&self.core.path))
    }

    /// How many records the shard's `.crc` sidecar covers, reading only its header (the entries are checked by
    /// [`verify`](Self::verify)); `Ok(None)` without a sidecar. May exceed [`len`](Self::len) (see the
    /// `checksums` module).
    ///
    /// # Errors
    /// [`Error::BadChecksums`] for a damaged header, [`Error::Io`], [`Error::NotRegularFile`].
    pub fn sidecar_records(&self) -> Result<Option<u64>> {
        if let Some(sums) = &self.checksums {
            return Ok(Some(sums.records()));
        }
        if !self.on_disk {
            return Ok(None);
        }
        checksums::read_header(&checksums::sidecar_path(&self.core.path))
    }

    /// The checksums every read is checked against, if any.
    #[must_use]
    pub fn checksums(&self) -> Option<&Checksums> {
        self.checksums.as_ref()
    }

    fn check_pairing(&self, sums: &Checksums) -> Result<()> {
        sums.check_pairing(
            &self.core.path,
            self.len(),
            self.core.footer.raw_data_size,
            |i| self.end(i as usize),
        )
    }

    /// The whole payload, all records back to back.
    #[must_use]
    #[inline]
    pub fn raw_data(&self) -> &[u8] {
        &self.data.as_ref()[..self.core.raw_len]
    }

    /// The payload as a slice of `T` (e.g. `u16` tokens), without copying.
    ///
    /// # Errors
    /// [`Error::TypedView`] when the payload length is not a multiple of `size_of::<T>()` or its address is not
    /// aligned for `T` (a mapped payload always starts page-aligned; an in-memory one may not).
    pub fn raw_data_as<T: bytemuck::Pod>(&self) -> Result<&[T]> {
        bytemuck::try_cast_slice(self.raw_data()).map_err(|err| Error::TypedView {
            file: self.core.path.clone(),
            len: self.core.raw_len,
            type_name: std::any::type_name::<T>(),
            size: size_of::<T>(),
            align: align_of::<T>(),
            reason: match err {
                bytemuck::PodCastError::OutputSliceWouldHaveSlop
                | bytemuck::PodCastError::SizeMismatch => {
                    "length is not a multiple of the element size"
                }
                _ => "payload is not aligned",
            },
        })
    }
}

impl<D> Shard<D> {
    /// The file this shard was read from.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.core.path
    }

    /// The decoded footer.
    #[must_use]
    pub fn footer(&self) -> &Footer {
        &self.core.footer
    }

    /// Which footer the shard ends with.
    #[must_use]
    pub fn footer_kind(&self) -> FooterKind {
        self.core.footer.kind
    }

    /// The dtype field of a ROXXEL02 footer (`None` for ROXXEL01; see [`Footer::effective_dtype`]).
    #[must_use]
    pub fn dtype(&self) -> Option<Dtype> {
        self.core.footer.dtype
    }

    /// Payload size in bytes.
    #[must_use]
    pub fn raw_data_size(&self) -> u64 {
        self.core.footer.raw_data_size
    }

    /// Whether this shard was opened in its state from before an interrupted append (its journal is pending).
    #[must_use]
    pub fn is_rolled_back_view(&self) -> bool {
        self.rolled_back
    }

    /// The underlying bytes.
    #[must_use]
    pub fn as_inner(&self) -> &D {
        &self.data
    }
}

fn to_usize(n: u64, path: &Path) -> Result<usize> {
    usize::try_from(n).map_err(|_| Error::TooLarge {
        file: path.to_path_buf(),
    })
}

fn read_at(mut file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

/// Record `index` of a payload whose record offsets were checked at open (`offsets[i]..offsets[i + 1]` is record
/// `i`): `None` when `index` is out of range. The one place the unchecked-index fast path of [`Shard::get`] and
/// [`Records::get`](crate::Records::get) slices a record.
#[inline(always)]
pub(crate) fn checked_record<'a>(
    payload: &'a [u8],
    offsets: &[usize],
    index: u64,
) -> Option<&'a [u8]> {
    let i = usize::try_from(index).ok()?;
    let &[start, end] = offsets.get(i..)?.get(..2)? else {
        return None;
    };
    payload.get(start..end)
}

//! Writing and appending: byte-identical to Python roxxel 0.1.0 for the same non-empty records, and crash-safe.
//!
//! - A new file is written under a hidden temporary name and renamed into place once it is complete and synced,
//!   so an interrupted write never leaves a half-file that a glob would pick up.
//! - An append first makes a journal of the old index and footer durable (see the `journal` module), then
//!   writes new payload over the old index (the file only grows), syncs it, writes the new index and footer,
//!   syncs, and removes the journal. Until that removal every reader sees the old records, and an interrupted
//!   append is rolled back (by the writer itself on error or drop, by [`recover`](crate::recover) or the next
//!   writer after a crash).
//! - A sharded write is one session: shards it creates stay invisible to readers until the journal is removed
//!   at [`Writer::finish`], and are deleted by a rollback. The dataset therefore holds either the old records or
//!   the old plus all the new ones.
//! - With [`WriterOptions::checksums`], every shard finalized also gets its `.crc` sidecar (see the `checksums`
//!   module), written under a hidden temporary name, synced and renamed into place after the shard's bytes are
//!   durable and before the shard is renamed into place or the session commits.
//! - Memory is bounded by the index (8 bytes per record of the shard being written, 12 with checksums), never by
//!   the payload.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::checksums::Checksums;
use crate::error::{Error, Result};
use crate::format::{Dtype, Footer, FooterKind, INDEX_ENTRY_LEN, MAX_FOOTER_LEN, decode_index};
use crate::journal::{self, AppendedShard, Journal, SessionLock};
use crate::naming;

#[cfg(test)]
mod tests;

const BUFFER: usize = 256 * 1024;

/// Options for a [`Writer`]; [`WriterOptions::open`] starts writing.
///
/// The defaults write what every roxxel from 0.6 to the newest (0.9.14) reads and writes: ROXXEL02 footers with
/// dtype `uint8`, one file, appending when the file exists (an existing shard keeps its footer kind). Choose
/// [`FooterKind::Roxxel01`] for roxxel 0.1.0–0.3, which know no other.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct WriterOptions {
    max_shard_bytes: Option<u64>,
    footer: Option<FooterKind>,
    dtype: Option<Dtype>,
    overwrite_invalid: bool,
    skip_empty: bool,
    convert_existing: bool,
    checksums: bool,
}

impl WriterOptions {
    /// The defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Split the records over shards `{base}_{idx:04}.rox` (`base` = the path minus `.rox`) of at most this many
    /// bytes each, with Python roxxel's rule: a record starts a new shard when the current one holds at least one
    /// record and `payload + len + 8·(n+1) + footer > max`. A record larger than the limit gets a shard of its
    /// own. An existing last shard smaller than the limit is appended to.
    #[must_use]
    pub fn max_shard_bytes(mut self, max: u64) -> Self {
        self.max_shard_bytes = Some(max);
        self
    }

    /// The footer of new shards. Default: ROXXEL02, or in sharded mode the kind of the existing last shard.
    #[must_use]
    pub fn footer(mut self, kind: FooterKind) -> Self {
        self.footer = Some(kind);
        self
    }

    /// The dtype recorded in ROXXEL02 footers (default `uint8`); implies ROXXEL02 unless a footer is chosen.
    #[must_use]
    pub fn dtype(mut self, dtype: Dtype) -> Self {
        self.dtype = Some(dtype);
        self
    }

    /// Replace an existing file that is not a valid shard instead of refusing with [`Error::WouldOverwrite`].
    #[must_use]
    pub fn overwrite_invalid(mut self, overwrite: bool) -> Self {
        self.overwrite_invalid = overwrite;
        self
    }

    /// Drop zero-length records as Python roxxel does (by default they are stored).
    #[must_use]
    pub fn skip_empty_records(mut self, skip: bool) -> Self {
        self.skip_empty = skip;
        self
    }

    /// When appending to an existing shard, rewrite its footer as the [`footer`](Self::footer) kind (as roxxel
    /// 0.5 turns ROXXEL01 files into ROXXEL02). By default an appended shard keeps its footer kind.
    #[must_use]
    pub fn convert_existing(mut self, convert: bool) -> Self {
        self.convert_existing = convert;
        self
    }

    /// Write a `.crc` checksum sidecar (a CRC-32C per record; see the `checksums` module) next to every shard this
    /// writer finalizes, so that [`Shard::verify`](crate::Shard::verify) and
    /// [`OpenOptions::verify_checksums`](crate::OpenOptions::verify_checksums) catch damaged records. The shards
    /// themselves are unchanged (still byte-identical to Python roxxel's). Default: off.
    ///
    /// Appending to a shard extends its sidecar; when it has none, or one covering fewer records (records
    /// appended by Python roxxel), the missing CRCs are computed by reading those records from the file. A
    /// sidecar that does not match the shard ([`Error::StaleChecksums`], [`Error::BadChecksums`]) stops the
    /// write before anything changes: delete it to have it rebuilt. Shards the session does not write to keep
    /// what they have. Without this option, appending leaves an existing sidecar as it is: it stays valid for
    /// the records it covers.
    #[must_use]
    pub fn checksums(mut self, checksums: bool) -> Self {
        self.checksums = checksums;
        self
    }

    /// Starts writing to `path`: appends if it is an existing shard (or, sharded, the last shard has room),
    /// otherwise creates it. An interrupted earlier write to the same dataset is rolled back first.
    ///
    /// # Errors
    /// [`Error::Locked`] when another writer is active, [`Error::WouldOverwrite`] for an existing file that is not
    /// a shard, [`Error::InvalidOptions`], [`Error::DtypeMismatch`], or I/O errors.
    pub fn open(&self, path: impl AsRef<Path>) -> Result<Writer> {
        Writer::open(self.clone(), path.as_ref())
    }
}

/// What a [`Writer`] wrote, returned by [`Writer::finish`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct WriteSummary {
    /// Every shard written to, in order.
    pub shards: Vec<ShardSummary>,
    /// Records written in this session.
    pub records_written: u64,
}

/// One shard touched by a [`Writer`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ShardSummary {
    /// The shard file.
    pub path: PathBuf,
    /// Its footer now.
    pub footer: Footer,
    /// Records it held before this session (non-zero only for the shard appended to).
    pub previous_records: u64,
    /// The checksum sidecar written for it ([`WriterOptions::checksums`]).
    pub sidecar: Option<PathBuf>,
}

/// Streams records into a new or existing dataset; see [`WriterOptions`].
///
/// Nothing is visible to readers until [`finish`](Self::finish). Dropping the writer without finishing, or any
/// error, rolls the dataset back to its state before [`WriterOptions::open`].
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use roxxel_format::{Dataset, WriterOptions};
///
/// let path = dir.path().join("a.rox");
/// let mut writer = WriterOptions::new().open(&path)?;
/// writer.push(b"hello")?;
/// writer.push_all([&b"wo"[..], b"rld!"])?;
/// writer.finish()?;
/// assert_eq!(std::fs::read(&path)?.len(), 11 + 3 * 8 + 32); // payload, index, ROXXEL02 footer
/// assert_eq!(Dataset::open(&path)?.get(2)?, b"rld!");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use = "dropping a Writer without calling finish() rolls the write back"]
pub struct Writer {
    opts: WriterOptions,
    base: PathBuf,
    new_kind: FooterKind,
    new_dtype: Option<Dtype>,
    next_index: u64,
    current: Option<ShardOut>,
    journal: Option<Journal>,
    /// The appended shard once its new tail is written: kept (and locked) until the session commits.
    appended_done: Option<(ShardOut, AppendedShard)>,
    summary: WriteSummary,
    finished: bool,
    _session: SessionLock,
}

/// The shard being written.
#[derive(Debug)]
struct ShardOut {
    path: PathBuf,
    /// `Some` for a new shard, written under this name until it is complete.
    temp: Option<PathBuf>,
    out: BufWriter<Sink>,
    kind: FooterKind,
    dtype: Option<Dtype>,
    ends: Vec<u64>,
    raw: u64,
    /// For an appended shard: its old state (also in the journal).
    old: Option<AppendedShard>,
    /// With [`WriterOptions::checksums`]: the CRC-32C of every record of the shard, old and new.
    crcs: Option<Vec<u32>>,
}

impl Writer {
    fn open(opts: WriterOptions, path: &Path) -> Result<Self> {
        if opts.dtype.is_some() && opts.footer == Some(FooterKind::Roxxel01) {
            return Err(Error::InvalidOptions(
                "a dtype needs a ROXXEL02 footer; ROXXEL01 has no dtype field",
            ));
        }
        if path.to_string_lossy().contains(['*', '?']) {
            return Err(Error::InvalidOptions(
                "the writer takes a file path or a shard base, not a glob pattern",
            ));
        }
        let base = naming::shard_base(path);
        let session = SessionLock::acquire(&base)?;
        let journal_path = naming::journal_path(&base);
        // A dead writer's session is rolled back and its temporary files removed before anything is written.
        crate::recover::recover_locked(&base, path)?;
        let mut writer = Self {
            new_kind: opts.footer.unwrap_or(FooterKind::Roxxel02),
            new_dtype: opts.dtype,
            opts,
            base,
            next_index: 0,
            current: None,
            journal: None,
            appended_done: None,
            summary: WriteSummary::default(),
            finished: false,
            _session: session,
        };
        let mut current = match writer.opts.max_shard_bytes {
            None => writer.open_single(path)?,
            Some(max) => writer.open_sharded(max)?,
        };
        if writer.opts.checksums && current.old.is_some() {
            // Before the journal: a sidecar that does not fit the shard stops the write with nothing changed.
            current.crcs = Some(existing_crcs(&current)?);
        }
        let journal = Journal {
            path: journal_path,
            appended: current.old.clone(),
            new_shards: writer.opts.max_shard_bytes.map(|_| {
                let base_name = writer.base.file_name().unwrap_or_default().to_os_string();
                let first = if current.old.is_some() {
                    writer.next_index
                } else {
                    writer.next_index - 1
                };
                (base_name, first)
            }),
        };
        if journal.appended.is_some() || journal.new_shards.is_some() {
            journal.write_durably()?;
            writer.journal = Some(journal);
        }
        if let Some(raw) = current.old.as_ref().map(|old| old.footer.raw_data_size) {
            // Only now, with the journal durable, may the old index be overwritten.
            let path = current.path.clone();
            current
                .out
                .get_mut()
                .file
                .seek(SeekFrom::Start(raw))
                .map_err(|e| Error::io(path, e))?;
        }
        writer.current = Some(current);
        Ok(writer)
    }

    fn open_single(&mut self, path: &Path) -> Result<ShardOut> {
        match fs::metadata(path) {
            Ok(meta) if meta.len() > 0 => match self.open_existing(path) {
                Ok(out) => return Ok(out),
                Err(err) if err.is_corruption() => {
                    if !self.opts.overwrite_invalid {
                        return Err(Error::WouldOverwrite {
                            file: path.to_path_buf(),
                            reason: Box::new(err),
                        });
                    }
                }
                Err(err) => return Err(err),
            },
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(Error::io(path, err)),
        }
        self.create_shard(path.to_path_buf())
    }

    fn open_sharded(&mut self, max: u64) -> Result<ShardOut> {
        let mut idx = 0;
        while naming::shard_path(&self.base, idx).exists() {
            idx += 1;
        }
        if idx > 0 {
            let last = naming::shard_path(&self.base, idx - 1);
            let size = fs::metadata(&last).map_err(|e| Error::io(&last, e))?.len();
            // New shards follow the kind and dtype of the last one unless told otherwise.
            let inherit = self.opts.footer.is_none() && self.opts.dtype.is_none();
            if let Some(footer) = read_footer(&last).filter(|_| inherit) {
                self.new_kind = footer.kind;
                self.new_dtype = footer.dtype;
            }
            if size == 0 {
                // An empty file holds nothing to lose (Python roxxel leaves these behind): write over it.
                self.next_index = idx;
                return self.create_shard(last);
            }
            if size < max {
                match self.open_existing(&last) {
                    Ok(out) => {
                        self.next_index = idx;
                        return Ok(out);
                    }
                    Err(err) if err.is_corruption() => {
                        if !self.opts.overwrite_invalid {
                            return Err(Error::WouldOverwrite {
                                file: last,
                                reason: Box::new(err),
                            });
                        }
                        self.next_index = idx;
                        return self.create_shard(last);
                    }
                    Err(err) => return Err(err),
                }
            }
        }
        self.next_index = idx + 1;
        self.create_shard(naming::shard_path(&self.base, idx))
    }

    /// Opens an existing, valid shard for appending (locked; nothing is modified yet).
    fn open_existing(&mut self, path: &Path) -> Result<ShardOut> {
        let file = File::options()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        journal::lock_shard_exclusive(&file, path)?;
        let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let tail_len = file_len.min(MAX_FOOTER_LEN as u64);
        let mut tail = [0u8; MAX_FOOTER_LEN];
        let tail = &mut tail[..tail_len as usize];
        read_at(&file, file_len - tail_len, tail).map_err(|e| Error::io(path, e))?;
        let footer = Footer::parse(tail, file_len, path)?;
        let saved_len = usize::try_from(file_len - footer.raw_data_size)
            .map_err(|_| Error::TooLarge { file: path.into() })?;
        // The old index and footer are saved in the journal, so they are held in memory: fallibly, since a large
        // shard's index can exceed what this machine has.
        let mut saved = Vec::new();
        saved.try_reserve_exact(saved_len).map_err(|_| {
            let message =
                format!("cannot hold the {saved_len}-byte index of the shard to append to");
            Error::io(path, io::Error::new(io::ErrorKind::OutOfMemory, message))
        })?;
        saved.resize(saved_len, 0);
        read_at(&file, footer.raw_data_size, &mut saved).map_err(|e| Error::io(path, e))?;
        let index_len = saved_len - footer.kind.size();
        let ends = decode_index(&saved[..index_len]);
        check_index(&ends, &footer, path)?;
        let kind = if self.opts.convert_existing {
            self.new_kind
        } else {
            footer.kind
        };
        let dtype = match (footer.dtype, self.opts.dtype) {
            (Some(existing), Some(requested))
                if existing != requested && !self.opts.convert_existing =>
            {
                return Err(Error::DtypeMismatch {
                    file: path.to_path_buf(),
                    existing: existing.to_string(),
                    requested: requested.to_string(),
                });
            }
            (_, Some(requested)) => Some(requested),
            (existing, None) => existing,
        };
        let ends = ends.into_iter().map(|e| e as u64).collect();
        Ok(ShardOut {
            path: path.to_path_buf(),
            temp: None,
            out: BufWriter::with_capacity(BUFFER, Sink::new(file)),
            kind,
            dtype,
            ends,
            raw: footer.raw_data_size,
            crcs: None,
            old: Some(AppendedShard {
                name: path.file_name().unwrap_or_default().to_os_string(),
                old_len: file_len,
                tail: saved,
                footer,
            }),
        })
    }

    /// Starts a new shard under its temporary name.
    fn create_shard(&mut self, path: PathBuf) -> Result<ShardOut> {
        let temp = naming::temp_path(&path);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&temp)
            .map_err(|e| Error::io(&temp, e))?;
        journal::try_lock_for(&file, &temp, Duration::from_millis(200))?;
        // A leftover from a crashed writer: nobody maps temporary files, so emptying it is safe.
        file.set_len(0).map_err(|e| Error::io(&temp, e))?;
        // Whatever is at `path` is replaced (it is missing, empty or not a valid shard), so a sidecar next to it
        // describes nothing we keep: it must be gone before the new shard is renamed into place.
        let sidecar = naming::sidecar_path(&path);
        for stale in [naming::temp_path(&sidecar), sidecar] {
            match fs::remove_file(&stale) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(Error::io(&stale, err)),
            }
        }
        Ok(ShardOut {
            path,
            temp: Some(temp),
            out: BufWriter::with_capacity(BUFFER, Sink::new(file)),
            kind: self.new_kind,
            dtype: match self.new_kind {
                FooterKind::Roxxel01 => None,
                FooterKind::Roxxel02 => Some(self.new_dtype.unwrap_or(Dtype::UINT8)),
            },
            ends: Vec::new(),
            raw: 0,
            old: None,
            crcs: self.opts.checksums.then(Vec::new),
        })
    }

    /// Appends one record.
    ///
    /// # Errors
    /// I/O errors (after which the writer has rolled back and refuses further records), [`Error::TooLarge`].
    pub fn push(&mut self, record: &[u8]) -> Result<()> {
        if record.is_empty() && self.opts.skip_empty {
            return Ok(());
        }
        let result = self.push_inner(record);
        if result.is_err() {
            self.roll_back_quietly();
        }
        result
    }

    fn push_inner(&mut self, record: &[u8]) -> Result<()> {
        let Some(current) = self.current.as_mut() else {
            return Err(Error::RolledBack);
        };
        let len = record.len() as u64;
        if let Some(max) = self.opts.max_shard_bytes {
            let n = current.ends.len() as u128;
            let estimate = u128::from(current.raw)
                + u128::from(len)
                + (n + 1) * INDEX_ENTRY_LEN as u128
                + current.kind.size() as u128;
            if estimate > u128::from(max) && n > 0 {
                self.roll_over()?;
            }
        }
        let current = self.current.as_mut().expect("a shard is open");
        let raw = current
            .raw
            .checked_add(len)
            .filter(|&r| r <= i64::MAX as u64 / 2)
            .ok_or_else(|| Error::TooLarge {
                file: current.path.clone(),
            })?;
        current
            .out
            .write_all(record)
            .map_err(|e| Error::io(current.write_path(), e))?;
        current.raw = raw;
        current.ends.push(raw);
        if let Some(crcs) = &mut current.crcs {
            crcs.push(crc32c::crc32c(record));
        }
        self.summary.records_written += 1;
        Ok(())
    }

    /// Appends every record of `records`.
    ///
    /// # Errors
    /// As [`push`](Self::push).
    pub fn push_all<I>(&mut self, records: I) -> Result<()>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        records
            .into_iter()
            .try_for_each(|record| self.push(record.as_ref()))
    }

    /// Appends every record of a fallible source. If the source returns an error, the whole session is rolled
    /// back (the dataset keeps exactly its old records) and [`Error::Source`] is returned.
    ///
    /// # Errors
    /// [`Error::Source`], or as [`push`](Self::push).
    pub fn try_push_all<I, B>(&mut self, records: I) -> Result<()>
    where
        I: IntoIterator<Item = io::Result<B>>,
        B: AsRef<[u8]>,
    {
        for record in records {
            match record {
                Ok(record) => self.push(record.as_ref())?,
                Err(source) => {
                    let records_written = self.summary.records_written;
                    self.roll_back_quietly();
                    return Err(Error::Source {
                        records_written,
                        source,
                    });
                }
            }
        }
        Ok(())
    }

    /// Number of records pushed so far in this session.
    #[must_use]
    pub fn records_written(&self) -> u64 {
        self.summary.records_written
    }

    fn roll_over(&mut self) -> Result<()> {
        let done = self.current.take().expect("a shard is open");
        self.finalize(done)?;
        let path = naming::shard_path(&self.base, self.next_index);
        self.next_index += 1;
        self.current = Some(self.create_shard(path)?);
        Ok(())
    }

    /// Writes the index and footer of a shard and makes it durable (renaming a new shard into place). On error
    /// the shard goes back to `self.current`, so a rollback can remove its temporary file or restore it.
    fn finalize(&mut self, mut shard: ShardOut) -> Result<()> {
        let footer = match write_tail(&mut shard) {
            Ok(footer) => footer,
            Err(err) => {
                self.current = Some(shard);
                return Err(err);
            }
        };
        self.summary.shards.push(ShardSummary {
            path: shard.path.clone(),
            footer,
            previous_records: shard.old.as_ref().map_or(0, |o| o.footer.records),
            sidecar: shard
                .crcs
                .is_some()
                .then(|| naming::sidecar_path(&shard.path)),
        });
        // Keep the lock of an appended shard until the session commits; new shards are invisible until then.
        if let Some(old) = shard.old.take() {
            self.appended_done = Some((shard, old));
        }
        Ok(())
    }

    /// Completes the session: finalizes the last shard and commits (removes the journal).
    ///
    /// # Errors
    /// I/O errors; the dataset is then rolled back to its old records.
    pub fn finish(mut self) -> Result<WriteSummary> {
        let result = self.finish_inner();
        if result.is_err() {
            self.roll_back_quietly();
        }
        result
    }

    fn finish_inner(&mut self) -> Result<WriteSummary> {
        let Some(current) = self.current.take() else {
            return Err(Error::RolledBack);
        };
        self.finalize(current)?;
        if let Some(journal) = &self.journal {
            journal.remove()?;
        }
        self.journal = None;
        self.appended_done = None;
        self.finished = true;
        Ok(std::mem::take(&mut self.summary))
    }

    /// Abandons the session, restoring the dataset to its state before [`WriterOptions::open`].
    ///
    /// # Errors
    /// I/O errors while restoring; the journal then stays and [`recover`](crate::recover) finishes the job.
    pub fn abort(mut self) -> Result<()> {
        self.roll_back()
    }

    fn roll_back_quietly(&mut self) {
        let _ = self.roll_back();
    }

    fn roll_back(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let mut appended_file = None;
        if let Some(current) = self.current.take() {
            if let Some(temp) = &current.temp {
                let _ = fs::remove_file(temp);
            }
            if current.old.is_some() {
                appended_file = Some(current.out.into_parts().0.file);
            }
        }
        if let Some((shard, _)) = self.appended_done.take() {
            appended_file = Some(shard.out.into_parts().0.file);
        }
        match self.journal.take() {
            Some(journal) => crate::recover::roll_back(&journal, appended_file.as_ref()).map(drop),
            None => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.roll_back_quietly();
    }
}

impl ShardOut {
    fn write_path(&self) -> &Path {
        self.temp.as_deref().unwrap_or(&self.path)
    }
}

/// Writes the index and footer after the payload, syncs, and renames a new shard into place.
fn write_tail(shard: &mut ShardOut) -> Result<Footer> {
    let path = shard.path.clone();
    let write_path = shard.write_path().to_path_buf();
    let footer = Footer {
        kind: shard.kind,
        records: shard.ends.len() as u64,
        raw_data_size: shard.raw,
        dtype: shard.dtype,
    };
    let new_len = footer
        .file_len()
        .ok_or_else(|| Error::TooLarge { file: path.clone() })?;
    let io_err = |e| Error::io(&write_path, e);
    let unchanged = shard.old.as_ref().is_some_and(|old| old.footer == footer);
    if !unchanged {
        if shard.old.is_some() {
            // The new payload must be durable before an index that points into it.
            shard.out.flush().map_err(io_err)?;
            shard.out.get_ref().file.sync_data().map_err(io_err)?;
        }
        for end in &shard.ends {
            shard.out.write_all(&end.to_le_bytes()).map_err(io_err)?;
        }
        shard.out.write_all(&footer.to_bytes()).map_err(io_err)?;
        shard.out.flush().map_err(io_err)?;
        let file = &shard.out.get_ref().file;
        // Only shrinks when converting a ROXXEL02 footer to ROXXEL01 without new records; never below the payload.
        file.set_len(new_len).map_err(io_err)?;
        file.sync_all().map_err(io_err)?;
    }
    // The sidecar goes in place after the shard's bytes are durable and before the shard is renamed into place
    // or the session commits, so any crash leaves the old sidecar or one covering old + new records.
    let sidecar = naming::sidecar_path(&path);
    if let Some(crcs) = &shard.crcs {
        Checksums::write_durably(crcs, shard.raw, &sidecar, shard.temp.is_none())?;
    }
    if let Some(temp) = shard.temp.take() {
        if let Err(err) = fs::rename(&temp, &path) {
            shard.temp = Some(temp);
            if shard.crcs.is_some() {
                let _ = fs::remove_file(&sidecar);
            }
            return Err(Error::io(&path, err));
        }
        journal::sync_dir(&path)?;
    }
    Ok(footer)
}

/// The CRC-32C of every record of a shard about to be appended to: those its sidecar covers, and the others
/// (a missing or short sidecar) computed by reading them from the file.
fn existing_crcs(shard: &ShardOut) -> Result<Vec<u32>> {
    let path = &shard.path;
    let n = shard.ends.len();
    let mut crcs = Vec::new();
    // `n` entries of the index were read from the file, so this is bounded by its length.
    crcs.try_reserve_exact(n).map_err(|_| {
        let message = format!("cannot hold the checksums of {n} records");
        Error::io(path, io::Error::new(io::ErrorKind::OutOfMemory, message))
    })?;
    if let Some(sums) = Checksums::read(naming::sidecar_path(path))? {
        sums.check_pairing(path, n as u64, shard.raw, |i| {
            shard.ends.get(i as usize).map_or(-1, |&e| e as i64)
        })?;
        crcs.extend(sums.prefix(n as u64));
    }
    if crcs.len() == n {
        return Ok(crcs);
    }
    let mut start = crcs.len().checked_sub(1).map_or(0, |i| shard.ends[i]);
    let mut file = &shard.out.get_ref().file;
    let io_err = |e| Error::io(path, e);
    file.seek(SeekFrom::Start(start)).map_err(io_err)?;
    let mut reader = io::BufReader::with_capacity(BUFFER, file);
    let mut chunk = vec![0u8; BUFFER];
    for &end in &shard.ends[crcs.len()..] {
        let mut crc = 0;
        while start < end {
            let len = (end - start).min(BUFFER as u64) as usize;
            reader.read_exact(&mut chunk[..len]).map_err(io_err)?;
            crc = crc32c::crc32c_append(crc, &chunk[..len]);
            start += len as u64;
        }
        crcs.push(crc);
    }
    Ok(crcs)
}

/// Checks an index before appending to it, so a damaged shard is never extended.
fn check_index(ends: &[i64], footer: &Footer, path: &Path) -> Result<()> {
    let mut prev = 0;
    for (i, &end) in ends.iter().enumerate() {
        if end < prev || end as u64 > footer.raw_data_size {
            return Err(Error::BadIndexEntry {
                file: path.to_path_buf(),
                record: i as u64,
                offset: footer.raw_data_size + (i * INDEX_ENTRY_LEN) as u64,
                start: prev,
                end,
                raw_data_size: footer.raw_data_size,
            });
        }
        prev = end;
    }
    if prev as u64 != footer.raw_data_size {
        return Err(Error::IndexEndMismatch {
            file: path.to_path_buf(),
            offset: footer.raw_data_size,
            last_end: prev as u64,
            raw_data_size: footer.raw_data_size,
        });
    }
    Ok(())
}

/// The footer of `path`, if it has a valid one.
fn read_footer(path: &Path) -> Option<Footer> {
    let file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let tail_len = len.min(MAX_FOOTER_LEN as u64);
    let mut tail = [0u8; MAX_FOOTER_LEN];
    let tail = &mut tail[..tail_len as usize];
    read_at(&file, len - tail_len, tail).ok()?;
    Footer::parse(tail, len, path).ok()
}

pub(crate) fn read_at(mut file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

/// The file a shard is written through. In unit tests it can be told to fail like a full disk.
#[derive(Debug)]
struct Sink {
    file: File,
}

impl Sink {
    fn new(file: File) -> Self {
        Self { file }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(test)]
        tests::disk_full_check(buf.len())?;
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

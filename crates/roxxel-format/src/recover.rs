//! Rolling back interrupted writes.
//!
//! A write session that was killed leaves its journal behind (see the `journal` module). Readers already see
//! the old state while it is there; [`recover`] makes that state permanent: it restores the old index and
//! footer of the shard that was being appended to, cuts the file back to its old length, deletes the shards the
//! session created, and removes the journal. [`Writer`](crate::Writer) does the same when it opens a dataset
//! with a pending journal.
//!
//! Every step is idempotent and the journal goes last, so a rollback that is itself killed at any system call
//! is completed by the next one:
//!
//! 1. the appended shard gets its old index and footer back (the same bytes at the same offset, then the old
//!    length), synced;
//!    A checksum sidecar the session extended is cut back to the old record count (temporary file, rename);
//! 2. every file of the dataset's directory that the journal marks as the session's (`{base}_{idx}.rox` with
//!    `idx` at or above the session's first new index, their `.crc` sidecars, and the hidden temporary files of
//!    both) is deleted: the directory is listed, so a gap left by an earlier, interrupted rollback does not stop
//!    the sweep;
//! 3. the directory is synced and the journal removed.
//!
//! With the session lock held no writer is active, so hidden temporary files of the dataset (a fresh file or
//! sidecar that was never renamed into place, a journal that was never renamed into place) belong to dead writers
//! and are removed as well, and so are sidecars of the dataset whose shard does not exist.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::checksums;
use crate::error::{Error, Result};
use crate::journal::{self, Journal, SessionLock};
use crate::naming;

/// What [`recover`] did.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub struct Recovery {
    /// Journals of interrupted sessions that were rolled back.
    pub journals: Vec<PathBuf>,
    /// Shards whose old index and footer were restored.
    pub restored: Vec<PathBuf>,
    /// Shards (and leftover temporary files) of interrupted sessions that were deleted.
    pub removed: Vec<PathBuf>,
}

impl Recovery {
    /// Whether there was nothing to repair: no journal rolled back and no leftover file removed.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.journals.is_empty() && self.removed.is_empty()
    }

    fn absorb(&mut self, other: Self) {
        self.journals.extend(other.journals);
        self.restored.extend(other.restored);
        self.removed.extend(other.removed);
    }
}

/// Repairs an interrupted write to the dataset that `path` belongs to: a shard file, a single-file dataset, or
/// the path a sharded [`Writer`](crate::Writer) was given. It rolls back a pending journal and removes the hidden
/// temporary files that dead writers of this dataset left behind. On a clean dataset it changes nothing.
///
/// # Errors
/// [`Error::Locked`] while a writer is active on that dataset, [`Error::BadJournal`], or I/O errors.
pub fn recover(path: impl AsRef<Path>) -> Result<Recovery> {
    let path = path.as_ref();
    let mut bases = vec![naming::shard_base(path)];
    if let Some((base, _)) = path.file_name().and_then(naming::parse_shard_name) {
        bases.push(path.with_file_name(base));
    }
    let mut report = Recovery::default();
    for base in bases {
        if !has_leftovers(&base, path)? {
            continue;
        }
        let _session = SessionLock::acquire(&base)?;
        report.absorb(recover_locked(&base, path)?);
    }
    Ok(report)
}

/// [`recover`] for one shard base, with the session lock already held (by `recover` or a writer opening the
/// dataset). `path` is the file the caller named (its temporary file is a leftover too).
pub(crate) fn recover_locked(base: &Path, path: &Path) -> Result<Recovery> {
    let mut report = Recovery::default();
    if let Some(journal) = Journal::read(&naming::journal_path(base))? {
        report.absorb(roll_back(&journal, None)?);
    }
    let mut removed = false;
    for leftover in leftovers(base, path)? {
        if remove_if_present(&leftover)? {
            report.removed.push(leftover);
            removed = true;
        }
    }
    if removed {
        journal::sync_dir(base)?;
    }
    Ok(report)
}

/// Whether `base` has a journal or a leftover temporary file (so that a clean dataset is not even locked).
fn has_leftovers(base: &Path, path: &Path) -> Result<bool> {
    Ok(naming::journal_path(base).exists() || !leftovers(base, path)?.is_empty())
}

/// Hidden temporary files of dead writers of the dataset with shard base `base`: `.{path}.tmp`,
/// `.{base}.roxjournal.tmp`, `.{base}.rox.tmp` and `.{base}_{idx}.rox.tmp`, the same with `.crc` before `.tmp`
/// (checksum sidecars), and sidecars `{base}.rox.crc` / `{base}_{idx}.rox.crc` whose shard does not exist.
fn leftovers(base: &Path, path: &Path) -> Result<Vec<PathBuf>> {
    let journal_temp = naming::temp_path(&naming::journal_path(base));
    let mut single = base.as_os_str().to_os_string();
    single.push(naming::EXTENSION);
    let mut found: Vec<PathBuf> = [
        journal_temp,
        naming::temp_path(Path::new(&single)),
        naming::temp_path(path),
    ]
    .into_iter()
    .filter(|p| p.exists())
    .collect();
    let base_name = base.file_name().unwrap_or_default();
    let single_name = Path::new(&single).file_name().unwrap_or_default();
    let ours = |shard: &OsStr| {
        shard == single_name || naming::parse_shard_name(shard).is_some_and(|(b, _)| b == base_name)
    };
    for (name, file) in list_dir(base)? {
        // Temporary shards and sidecars, and sidecars whose shard is gone (a fresh write killed between renaming
        // its sidecar and its shard into place).
        let is_temp = naming::temp_target(&name).is_some() && ours(naming::owning_shard(&name));
        let is_orphan = naming::sidecar_target(&name)
            .is_some_and(|shard| ours(shard) && !file.with_file_name(shard).exists());
        if (is_temp || is_orphan) && !found.contains(&file) {
            found.push(file);
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The entries of the directory holding `path`: (file name, path).
fn list_dir(path: &Path) -> Result<Vec<(std::ffi::OsString, PathBuf)>> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(err) => return Err(Error::io(dir, err)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        out.push((entry.file_name(), path.with_file_name(entry.file_name())));
    }
    Ok(out)
}

fn remove_if_present(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(Error::io(path, err)),
    }
}

/// Rolls `journal`'s session back and removes the journal. `appended` is the already locked handle of the
/// appended shard when the caller (the writer) has one.
pub(crate) fn roll_back(journal: &Journal, appended: Option<&File>) -> Result<Recovery> {
    let mut report = Recovery::default();
    let dir = journal.path.parent().unwrap_or(Path::new(""));
    if let Some(old) = &journal.appended {
        let path = dir.join(&old.name);
        let opened;
        let file = match appended {
            Some(file) => file,
            None => {
                opened = File::options()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(|e| Error::io(&path, e))?;
                journal::lock_shard_exclusive(&opened, &path)?;
                &opened
            }
        };
        restore(file, old.footer.raw_data_size, &old.tail, old.old_len)
            .map_err(|e| Error::io(&path, e))?;
        // A sidecar the session extended covers records that no longer exist: cut it back too.
        checksums::truncate_to(&path, old.footer.records, old.footer.raw_data_size)?;
        report.restored.push(path);
    }
    if let Some((base, first)) = &journal.new_shards {
        // Every file the session may have made, found by listing: an earlier rollback killed half-way may have
        // left any subset of them, so no sweep may stop at the first missing index.
        let base_path = dir.join(base);
        let session_file = |name: &OsStr| {
            naming::parse_shard_name(naming::owning_shard(name))
                .is_some_and(|(b, idx)| b == *base && idx >= *first)
        };
        let mut doomed: Vec<PathBuf> = list_dir(&base_path)?
            .into_iter()
            .filter(|(name, _)| session_file(name))
            .map(|(_, path)| path)
            .collect();
        doomed.sort_by(|a, b| naming::numeric_order(a, b));
        for file in doomed {
            if remove_if_present(&file)? {
                report.removed.push(file);
            }
        }
        journal::sync_dir(&base_path)?;
    }
    journal.remove()?;
    report.journals.push(journal.path.clone());
    Ok(report)
}

/// Puts the old index and footer back and cuts the file to its old length. Payload before `raw` was never
/// changed, so this is the exact old file. Readers map at most `[0, raw)`, so cutting the grown tail is safe.
fn restore(mut file: &File, raw: u64, tail: &[u8], old_len: u64) -> io::Result<()> {
    file.seek(SeekFrom::Start(raw))?;
    file.write_all(tail)?;
    file.set_len(old_len)?;
    file.sync_all()
}

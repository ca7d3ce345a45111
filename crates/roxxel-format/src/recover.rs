//! Rolling back interrupted writes.
//!
//! A write session that was killed leaves its journal behind (see the `journal` module). Readers already see
//! the old state while it is there; [`recover`] makes that state permanent: it restores the old index and
//! footer of the shard that was being appended to, cuts the file back to its old length, deletes the shards the
//! session created, and removes the journal. [`Writer`](crate::Writer) does the same when it opens a dataset
//! with a pending journal.

use std::fs::{self, File};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

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
    /// Whether there was nothing to repair.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.journals.is_empty()
    }
}

/// Repairs an interrupted write to the dataset that `path` belongs to: a shard file, a single-file dataset, or
/// the path a sharded [`Writer`](crate::Writer) was given. Without a pending journal it changes nothing.
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
        let journal_path = naming::journal_path(&base);
        if !journal_path.exists() {
            continue;
        }
        let _session = SessionLock::acquire(&base)?;
        if let Some(journal) = Journal::read(&journal_path)? {
            let done = roll_back(&journal, None)?;
            report.journals.push(journal_path);
            report.restored.extend(done.restored);
            report.removed.extend(done.removed);
        }
    }
    Ok(report)
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
        report.restored.push(path);
    }
    if let Some((base, first)) = &journal.new_shards {
        let base = dir.join(base);
        let mut idx = *first;
        loop {
            let shard = naming::shard_path(&base, idx);
            let temp = naming::temp_path(&shard);
            let mut any = false;
            for file in [shard, temp] {
                match fs::remove_file(&file) {
                    Ok(()) => {
                        any = true;
                        report.removed.push(file);
                    }
                    Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                    Err(err) => return Err(Error::io(&file, err)),
                }
            }
            if !any {
                break;
            }
            idx += 1;
        }
        journal::sync_dir(&base)?;
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

//! The append journal and the writer session lock.
//!
//! A write session that changes an existing shard or adds shards to a sharded dataset first makes a journal
//! durable next to the dataset (`.{base}.roxjournal`, hidden). It records what "before" looked like:
//!
//! - the shard being appended to (if any): its name, its old length, and its old index + footer bytes, which
//!   the append overwrites with new payload (the payload before them is never touched);
//! - the first shard index the session creates (if sharded): every `{base}_{idx}.rox` with `idx` at or above
//!   it belongs to the uncommitted session.
//!
//! Removing the journal is the commit. While it exists, readers see the old state (old index from the journal,
//! new shards excluded) and [`recover`](crate::recover) rolls the dataset back to it. The journal is written
//! under a temporary name, synced, and renamed into place, so it is either complete or absent; a CRC-32 guards
//! it anyway.
//!
//! ```text
//! "ROXXJNL1"
//! u8 1 | u64 name_len | name | u64 old_len | u64 tail_len | tail      (or u8 0: no appended shard)
//! u8 1 | u64 name_len | base name | u64 first_new_index              (or u8 0: not sharded)
//! u32 CRC-32 of everything above                                     (all integers little-endian)
//! ```
//!
//! Writers exclude each other with an advisory lock on `.{base}.roxlock` (created on first use, left in place:
//! removing a lock file is racy) and with exclusive locks on the shard they append to.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::format::Footer;
use crate::naming;

const MAGIC: &[u8; 8] = b"ROXXJNL1";

/// The shard an uncommitted session appends to, as it was before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppendedShard {
    /// File name (no directory).
    pub(crate) name: OsString,
    /// File length before the append.
    pub(crate) old_len: u64,
    /// The old index and footer (the last `tail.len()` bytes of the old file).
    pub(crate) tail: Vec<u8>,
    /// The old footer, parsed from `tail`.
    pub(crate) footer: Footer,
}

/// A decoded journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Journal {
    /// Where it lives.
    pub(crate) path: PathBuf,
    pub(crate) appended: Option<AppendedShard>,
    /// Shard base name (no directory) and the first index the session creates.
    pub(crate) new_shards: Option<(OsString, u64)>,
}

/// How a journal relates to one shard file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum JournalRole<'a> {
    /// The journal saved this shard's old state.
    Appended(&'a AppendedShard),
    /// The shard was created by the uncommitted session.
    Uncommitted,
}

impl Journal {
    /// Reads the journal at `path`, `None` when there is none.
    pub(crate) fn read(path: &Path) -> Result<Option<Self>> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(Error::io(path, err)),
        };
        Self::decode(&bytes, path).map(Some)
    }

    /// Reads the journals that may describe `shard` (see [`naming::candidate_journals`]).
    pub(crate) fn read_for(shard: &Path) -> Result<Vec<Self>> {
        let mut out = Vec::new();
        for path in naming::candidate_journals(shard) {
            if let Some(journal) = Self::read(&path)? {
                out.push(journal);
            }
        }
        Ok(out)
    }

    /// What this journal says about the shard at `shard`.
    pub(crate) fn role(&self, shard: &Path) -> Option<JournalRole<'_>> {
        if self.path.parent() != shard.parent() {
            return None;
        }
        let name = shard.file_name()?;
        if let Some(appended) = self.appended.as_ref().filter(|a| a.name == name) {
            return Some(JournalRole::Appended(appended));
        }
        let (base, first) = self.new_shards.as_ref()?;
        let (shard_base, idx) = naming::parse_shard_name(name)?;
        (shard_base == *base && idx >= *first).then_some(JournalRole::Uncommitted)
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        let put_name = |out: &mut Vec<u8>, name: &OsStr| {
            let bytes = name.as_encoded_bytes();
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(bytes);
        };
        match &self.appended {
            Some(a) => {
                out.push(1);
                put_name(&mut out, &a.name);
                out.extend_from_slice(&a.old_len.to_le_bytes());
                out.extend_from_slice(&(a.tail.len() as u64).to_le_bytes());
                out.extend_from_slice(&a.tail);
            }
            None => out.push(0),
        }
        match &self.new_shards {
            Some((base, first)) => {
                out.push(1);
                put_name(&mut out, base);
                out.extend_from_slice(&first.to_le_bytes());
            }
            None => out.push(0),
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8], path: &Path) -> Result<Self> {
        let bad = |offset: usize, reason| Error::BadJournal {
            file: path.to_path_buf(),
            offset: offset as u64,
            reason,
        };
        if bytes.len() < MAGIC.len() + 2 + 4 || &bytes[..8] != MAGIC {
            return Err(bad(0, "not a roxxel journal"));
        }
        let body = bytes.len() - 4;
        let stored = u32::from_le_bytes(bytes[body..].try_into().expect("4 bytes"));
        if crc32fast::hash(&bytes[..body]) != stored {
            return Err(bad(body, "checksum mismatch"));
        }
        let mut reader = Cursor {
            bytes: &bytes[..body],
            at: 8,
        };
        let appended = match reader.byte().ok_or_else(|| bad(reader.at, "truncated"))? {
            0 => None,
            1 => {
                let name = reader
                    .name()
                    .ok_or_else(|| bad(reader.at, "truncated name"))?;
                let old_len = reader.u64().ok_or_else(|| bad(reader.at, "truncated"))?;
                let tail_at = reader.at;
                let tail = reader
                    .chunk()
                    .ok_or_else(|| bad(tail_at, "truncated tail"))?;
                let footer = Footer::parse(tail, old_len, &path.with_file_name(&name))
                    .map_err(|_| bad(tail_at, "saved footer does not describe the saved state"))?;
                if footer.file_len() != Some(old_len)
                    || old_len - footer.raw_data_size != tail.len() as u64
                {
                    return Err(bad(tail_at, "saved index length does not match its footer"));
                }
                Some(AppendedShard {
                    name,
                    old_len,
                    tail: tail.to_vec(),
                    footer,
                })
            }
            _ => return Err(bad(8, "bad flag")),
        };
        let flag_at = reader.at;
        let new_shards = match reader.byte().ok_or_else(|| bad(flag_at, "truncated"))? {
            0 => None,
            1 => {
                let base = reader
                    .name()
                    .ok_or_else(|| bad(reader.at, "truncated name"))?;
                let first = reader.u64().ok_or_else(|| bad(reader.at, "truncated"))?;
                Some((base, first))
            }
            _ => return Err(bad(flag_at, "bad flag")),
        };
        if reader.at != body {
            return Err(bad(reader.at, "trailing bytes"));
        }
        Ok(Self {
            path: path.to_path_buf(),
            appended,
            new_shards,
        })
    }

    /// Makes the journal durable: temporary file, sync, rename, sync the directory.
    pub(crate) fn write_durably(&self) -> Result<()> {
        let tmp = naming::temp_path(&self.path);
        let mut file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        file.write_all(&self.encode())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
        drop(file);
        fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        sync_dir(&self.path)
    }

    /// Commits (or finishes a rollback): removes the journal durably.
    pub(crate) fn remove(&self) -> Result<()> {
        match fs::remove_file(&self.path) {
            Ok(()) => sync_dir(&self.path),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(Error::io(&self.path, err)),
        }
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let out = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(out)
    }
    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn chunk(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u64()?).ok()?;
        self.take(len)
    }
    fn name(&mut self) -> Option<OsString> {
        let bytes = self.chunk()?;
        Some(naming::os_from_bytes(bytes))
    }
}

/// Syncs the directory holding `path`, so a rename or removal in it is durable (a no-op off Unix).
pub(crate) fn sync_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// The exclusive lock one writer session holds on `.{base}.roxlock`; released on drop.
#[derive(Debug)]
pub(crate) struct SessionLock {
    _file: File,
}

impl SessionLock {
    /// Takes the session lock of the dataset with shard base `base`, failing fast when another writer has it.
    pub(crate) fn acquire(base: &Path) -> Result<Self> {
        let mut name = OsString::from(".");
        name.push(base.file_name().unwrap_or_else(|| OsStr::new("dataset")));
        name.push(".roxlock");
        let path = base.with_file_name(name);
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        try_lock_for(&file, &path, Duration::from_millis(200))?;
        Ok(Self { _file: file })
    }
}

/// Takes an exclusive lock on a shard being appended to. Readers hold shared locks only for the moment they
/// open a shard, so this retries for a short while before reporting [`Error::Locked`].
pub(crate) fn lock_shard_exclusive(file: &File, path: &Path) -> Result<()> {
    try_lock_for(file, path, Duration::from_secs(2))
}

/// Takes an exclusive lock, retrying for `patience`: besides real contention, a lock can be held for a moment
/// by a process this one is spawning (its copy of our descriptors lives until it executes), or by a reader
/// opening a shard.
pub(crate) fn try_lock_for(file: &File, path: &Path, patience: Duration) -> Result<()> {
    let deadline = Instant::now() + patience;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(1));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    file: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(err)) if err.kind() == io::ErrorKind::Unsupported => {
                return Ok(());
            }
            Err(TryLockError::Error(err)) => return Err(Error::io(path, err)),
        }
    }
}

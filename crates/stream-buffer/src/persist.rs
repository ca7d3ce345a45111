//! Saving a whole stream to a named file atomically, and removing the temporary files of writers that died.
//!
//! The bytes go to a temporary file (a *part file*, `.stream-buffer-XXXXXX.part`) created in the destination's
//! directory (so the final rename never crosses a file system), which is flushed to disk and then renamed over the
//! destination; the directory is flushed too, so after `persist` returns the file survives a crash. If anything
//! fails, the temporary file is removed and the destination is left as it was.
//!
//! A process killed while persisting cannot remove its part file. The writer therefore holds an exclusive advisory
//! lock (`flock`) on its part file for as long as it writes: the operating system releases it when the process
//! dies, so a part file whose lock can be taken belongs to a dead writer and can be removed safely.
//! [`remove_stale_parts`] does that, and `persist` does it in the destination's directory before it starts.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tempfile::NamedTempFile;

use crate::error::{Error, Result};
use crate::spool::Spool;

/// The start of the name of every part file `persist` writes.
const PART_PREFIX: &str = ".stream-buffer-";
/// The end of the name of every part file `persist` writes.
const PART_SUFFIX: &str = ".part";
/// How many times creating a locked part file is tried when a concurrent [`remove_stale_parts`] takes a new part
/// file for a stale one (it can only happen in the instant between creating the file and locking it).
const CREATE_ATTEMPTS: usize = 8;

/// Writes stream bytes `[0, len)` from `spool` to `path`. The whole stream must have been pulled.
pub(crate) fn persist(spool: &Spool, len: u64, path: &Path) -> Result<()> {
    write_then_rename(spool, len, path).map_err(|source| Error::Persist {
        file: path.to_owned(),
        source: Arc::new(source),
    })
}

fn write_then_rename(spool: &Spool, len: u64, path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // Best effort: a stale part file that cannot be removed (permissions, a vanished directory) is no reason to
    // fail this write; creating the new part file reports a real problem with the directory.
    let _ = remove_stale_parts(dir);
    let mut temporary = create_locked_part(dir)?;
    spool.copy_to(len, temporary.as_file_mut())?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    File::open(dir)?.sync_all()
}

/// Creates a part file in `dir` and takes the exclusive lock on it that marks its writer as alive.
fn create_locked_part(dir: &Path) -> io::Result<NamedTempFile> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut builder = tempfile::Builder::new();
        builder.prefix(PART_PREFIX).suffix(PART_SUFFIX);
        #[cfg(unix)]
        {
            // 0o666 before the umask, like any newly created file (temporary files default to 0o600).
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o666));
        }
        let temporary = builder.tempfile_in(dir)?;
        match temporary.as_file().try_lock() {
            Ok(()) => {}
            // Without advisory locks nothing can tell a live writer from a dead one, and nothing is removed.
            Err(fs::TryLockError::Error(err)) if err.kind() == io::ErrorKind::Unsupported => {
                return Ok(temporary);
            }
            Err(fs::TryLockError::Error(err)) => return Err(err),
            // A concurrent `remove_stale_parts` took the lock in the instant before ours and will remove the
            // file: leave the file to it and start again.
            Err(fs::TryLockError::WouldBlock) => {
                let _ = temporary.keep();
                if attempt >= CREATE_ATTEMPTS {
                    return Err(io::Error::other(
                        "a concurrent cleanup kept removing the new temporary file",
                    ));
                }
                continue;
            }
        }
        // The lock is ours, but a cleanup may have locked, removed and released the file just before: then the
        // name no longer leads to this file.
        if same_file(temporary.path(), temporary.as_file())? {
            return Ok(temporary);
        }
        let _ = temporary.keep();
        if attempt >= CREATE_ATTEMPTS {
            return Err(io::Error::other(
                "a concurrent cleanup kept removing the new temporary file",
            ));
        }
    }
}

/// Whether `path` (not followed if a symbolic link) names the file open as `file`.
#[cfg(unix)]
fn same_file(path: &Path, file: &File) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let named = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    let open = file.metadata()?;
    Ok(named.dev() == open.dev() && named.ino() == open.ino())
}

/// Elsewhere a file's identity is not in stable std; Windows does not let a cleanup remove an open file anyway.
#[cfg(not(unix))]
fn same_file(path: &Path, _file: &File) -> io::Result<bool> {
    Ok(path.is_file())
}

/// Whether `name` is the name of a part file of [`StreamBuffer::persist`](crate::StreamBuffer::persist).
fn is_part_name(name: &str) -> bool {
    name.len() > PART_PREFIX.len() + PART_SUFFIX.len()
        && name.starts_with(PART_PREFIX)
        && name.ends_with(PART_SUFFIX)
}

/// Removes the part files (`.stream-buffer-*.part`) that [`StreamBuffer::persist`](crate::StreamBuffer::persist)
/// left in `dir` when its process died, and returns their paths.
///
/// A writer holds an exclusive advisory lock on its part file while it writes, which the operating system releases
/// when the process ends; so only part files whose lock this function can take are removed, and a persist running
/// now (in this or any other process) keeps its file. Only regular files are considered (no symbolic links,
/// FIFOs or directories), and they are opened without blocking. `persist` calls this on the destination's
/// directory before it writes. A part file of a version of this crate that did not lock its part files cannot be
/// told from a dead writer's and is removed too: do not run such a version's `persist` into the same directory at
/// the same time.
///
/// On a file system without advisory locks, and off Unix, nothing is removed.
///
/// # Errors
///
/// [`Error::StalePart`] when `dir` cannot be listed, or a stale part file cannot be removed; the files removed
/// before that stay removed.
pub fn remove_stale_parts(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    let stale = |path: &Path, source: io::Error| Error::StalePart {
        file: path.to_owned(),
        source: Arc::new(source),
    };
    let mut removed = Vec::new();
    let entries = fs::read_dir(dir).map_err(|err| stale(dir, err))?;
    for entry in entries {
        let entry = entry.map_err(|err| stale(dir, err))?;
        let name = entry.file_name();
        if !name.to_str().is_some_and(is_part_name) {
            continue;
        }
        let path = entry.path();
        if remove_if_stale(&path).map_err(|err| stale(&path, err))? {
            removed.push(path);
        }
    }
    Ok(removed)
}

/// Off Unix nothing is removed (see [`remove_stale_parts`]).
#[cfg(not(unix))]
fn remove_if_stale(_path: &Path) -> io::Result<bool> {
    Ok(false)
}

/// Removes `path` if it is a regular file whose exclusive lock can be taken; whether it was removed.
#[cfg(unix)]
fn remove_if_stale(path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::OpenOptionsExt;
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => {}
        Ok(_) => return Ok(false),
        // Renamed into place or removed by its writer meanwhile.
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    }
    // Non-blocking and not following links: whatever replaced the file since the check cannot block or redirect
    // the open.
    let file = match fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(err),
    };
    if !file.metadata()?.file_type().is_file() {
        return Ok(false);
    }
    match file.try_lock() {
        Ok(()) => {}
        // Its writer is alive, or locks are not supported here: keep it.
        Err(fs::TryLockError::WouldBlock) => return Ok(false),
        Err(fs::TryLockError::Error(err)) if err.kind() == io::ErrorKind::Unsupported => {
            return Ok(false);
        }
        Err(fs::TryLockError::Error(err)) => return Err(err),
    }
    // Locked by us: it is stale, unless the name was meanwhile given to another file.
    if !same_file(path, &file)? {
        return Ok(false);
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names() {
        assert!(is_part_name(".stream-buffer-a1B2c3.part"));
        assert!(!is_part_name(".stream-buffer-.part"));
        assert!(!is_part_name(".stream-buffer-a1B2c3"));
        assert!(!is_part_name("stream-buffer-a1B2c3.part"));
        assert!(!is_part_name(".byteshelf-map-a1B2c3.part"));
    }
}

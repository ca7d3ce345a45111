//! Saving a whole stream to a named file atomically.
//!
//! The bytes go to a temporary file created in the destination's directory (so the final rename never crosses
//! a file system), which is flushed to disk and then renamed over the destination; the directory is flushed
//! too, so after `persist` returns the file survives a crash. If anything fails, the temporary file is removed
//! and the destination is left as it was.

use std::fs::{File, Permissions};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use crate::error::Error;
use crate::spool::Spool;

/// Writes stream bytes `[0, len)` from `spool` to `path`. The whole stream must have been pulled.
pub(crate) fn persist(spool: &Spool, len: u64, path: &Path) -> Result<(), Error> {
    write_then_rename(spool, len, path).map_err(|source| Error::Persist {
        path: path.to_owned(),
        source: Arc::new(source),
    })
}

fn write_then_rename(spool: &Spool, len: u64, path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // 0o666 before the umask, like any newly created file (temporary files default to 0o600).
    let mut temporary = tempfile::Builder::new()
        .prefix(".stream-buffer-")
        .suffix(".part")
        .permissions(Permissions::from_mode(0o666))
        .tempfile_in(dir)?;
    spool.copy_to(len, temporary.as_file_mut())?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|error| error.error)?;
    File::open(dir)?.sync_all()
}

//! Where records and entries come from: files and directories walked in sorted order, and text read from a file
//! or stdin (`-`).

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The files `paths` name, directories walked recursively with their entries in byte order of their names.
pub(crate) fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        walk(path, &mut files)?;
    }
    Ok(files)
}

fn walk(path: &Path, files: &mut Vec<PathBuf>) -> Result {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if !meta.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<(OsString, PathBuf)> = Vec::new();
    for entry in fs::read_dir(path).map_err(|e| Error::io(path, &e))? {
        let entry = entry.map_err(|e| Error::io(path, &e))?;
        entries.push((entry.file_name(), entry.path()));
    }
    entries.sort();
    for (_, entry) in entries {
        walk(&entry, files)?;
    }
    Ok(())
}

/// A buffered reader of `path`, or of stdin for `-`, with the name to use in errors (`<stdin>` for stdin).
pub(crate) fn open_text(path: &Path) -> Result<(PathBuf, Box<dyn BufRead>)> {
    if path.as_os_str() == "-" {
        Ok((
            PathBuf::from("<stdin>"),
            Box::new(BufReader::with_capacity(1 << 16, io::stdin().lock())),
        ))
    } else {
        let file = File::open(path).map_err(|e| Error::io(path, &e))?;
        Ok((
            path.to_path_buf(),
            Box::new(BufReader::with_capacity(1 << 16, file)),
        ))
    }
}

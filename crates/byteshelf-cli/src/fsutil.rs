//! Bounded, non-blocking access to the files a command is given, shared by the commands:
//!
//! - [`check_regular`] and [`map_regular`] refuse anything that is not a regular file (a FIFO, a device such as
//!   `/dev/zero`, a directory, a socket) with one clear error, without blocking on a FIFO that has no writer and
//!   without reading an endless device; [`map_regular`] memory-maps the file, so a large file costs address space
//!   and page cache, not memory;
//! - [`read_limited`] reads a whole input (which may be a FIFO or a device) as one value, and [`LineReader`] reads
//!   lines, both refusing more than a limit of bytes (`--max-record-bytes`, [`DEFAULT_MAX_RECORD_BYTES`] unless
//!   raised) with an error naming the input and the byte offset;
//! - [`create_locked_part`] and [`remove_stale_parts`] write a temporary "part" file under an exclusive advisory
//!   lock, which the system drops when the writer dies, so that the part files of killed writers can be told from
//!   live ones and removed.

use std::fs::{self, File, FileType, OpenOptions};
use std::io::{self, BufRead, Read};
use std::ops::Deref;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The default of `--max-record-bytes`: the largest record, value or line read from an input, 64 MiB.
pub(crate) const DEFAULT_MAX_RECORD_BYTES: u64 = 64 << 20;

/// What a file that is not a regular file is, in words.
pub(crate) fn file_kind(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        } else if file_type.is_char_device() {
            return "a character device";
        } else if file_type.is_block_device() {
            return "a block device";
        } else if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "an unknown kind of file"
    }
}

fn not_regular(path: &Path, file_type: FileType) -> Error {
    Error::data(
        path,
        format!(
            "cannot open {}: not a regular file ({})",
            path.display(),
            file_kind(file_type)
        ),
    )
}

/// The metadata of `path` (symbolic links followed) if it is a regular file, else a one-line error naming it and
/// what it is. Never opens the file, so it cannot block on a FIFO.
pub(crate) fn check_regular(path: &Path) -> Result<fs::Metadata> {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if meta.is_file() {
        Ok(meta)
    } else {
        Err(not_regular(path, meta.file_type()))
    }
}

/// Opens `path` for reading if it is a regular file: checked before the open, which is non-blocking in case the
/// path was replaced by a FIFO meanwhile, and again on the open file.
pub(crate) fn open_regular(path: &Path) -> Result<File> {
    check_regular(path)?;
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| Error::io(path, &e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, &e))?;
    if !meta.is_file() {
        return Err(not_regular(path, meta.file_type()));
    }
    Ok(file)
}

/// The bytes of a regular file, memory-mapped (see [`map_regular`]).
#[derive(Debug)]
pub(crate) struct Mapped(Option<Mmap>);

impl Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.0.as_deref().unwrap_or_default()
    }
}

/// Memory-maps the regular file `path` read-only ([`open_regular`] first): reading it costs no memory of its
/// own, whatever its size.
#[allow(unsafe_code)]
pub(crate) fn map_regular(path: &Path) -> Result<Mapped> {
    let file = open_regular(path)?;
    if file.metadata().map_err(|e| Error::io(path, &e))?.len() == 0 {
        return Ok(Mapped(None));
    }
    // SAFETY: the map is read-only and private to this process, and every access to it goes through a bounds-checked
    // slice of its fixed length. Another process truncating the file while a command reads it could make a read
    // fault (SIGBUS), as for every memory-mapped reader; changing it only changes the bytes read, which the
    // formats' checks then see.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, &e))?;
    Ok(Mapped(Some(map)))
}

/// The error for an input with more than `limit` bytes in one record: `what` says where.
fn too_large(name: &Path, what: &str, limit: u64) -> Error {
    Error::data(
        name,
        format!("{what}: more than the limit of {limit} bytes (raise it with --max-record-bytes)"),
    )
}

/// The whole content of the input `path` (a regular file, or a FIFO or device read to its end), or an error when
/// it holds more than `limit` bytes: a regular file's length is checked before reading, anything else is read
/// only up to the limit. Memory never exceeds `limit` (plus one byte).
pub(crate) fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let meta = fs::metadata(path).map_err(|e| Error::io(path, &e))?;
    if meta.is_dir() {
        return Err(not_regular(path, meta.file_type()));
    }
    if meta.is_file() && meta.len() > limit {
        return Err(too_large(
            path,
            &format!("the value is {} bytes", meta.len()),
            limit,
        ));
    }
    let file = File::open(path).map_err(|e| Error::io(path, &e))?;
    // A regular file's length is known (and fits under the limit); a stream grows its buffer as it comes.
    let expected = if meta.is_file() { meta.len() } else { 0 };
    let mut value = Vec::new();
    value
        .try_reserve_exact(usize::try_from(expected).unwrap_or(usize::MAX))
        .map_err(|e| Error::data(path, format!("cannot allocate {expected} bytes: {e}")))?;
    file.take(limit.saturating_add(1))
        .read_to_end(&mut value)
        .map_err(|e| Error::io(path, &e))?;
    if value.len() as u64 > limit {
        return Err(too_large(
            path,
            &format!("the value goes on past byte {limit}"),
            limit,
        ));
    }
    Ok(value)
}

/// Reads the lines of a text input, each at most a limit of bytes: an input without a newline (e.g. `/dev/zero`)
/// fails at the limit instead of filling memory.
pub(crate) struct LineReader<R> {
    name: PathBuf,
    reader: R,
    limit: u64,
    /// Byte offset in the input of the next line.
    offset: u64,
    /// 1-based number of the next line.
    number: u64,
    /// Whether a `\r` before the `\n` is dropped too.
    strip_cr: bool,
}

/// One line read by [`LineReader::next_line`]: where it is in the input. Its bytes are in the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineAt {
    /// 1-based line number.
    pub(crate) number: u64,
    /// Byte offset of the line's first byte in the input.
    pub(crate) offset: u64,
}

impl<R: BufRead> LineReader<R> {
    /// Lines of `reader`, named `name` in errors, of at most `limit` bytes each (without the line break).
    pub(crate) fn new(name: PathBuf, reader: R, limit: u64) -> Self {
        Self {
            name,
            reader,
            limit,
            offset: 0,
            number: 1,
            strip_cr: true,
        }
    }

    /// Keeps a `\r` before a line's `\n` as part of the line (for records, whose bytes are stored as they are).
    pub(crate) fn keep_carriage_returns(mut self) -> Self {
        self.strip_cr = false;
        self
    }

    /// The name of the input in errors.
    pub(crate) fn name(&self) -> &Path {
        &self.name
    }

    /// Reads the next line into `line` (cleared first) without its `\n` (or `\r\n`, unless told to keep `\r`),
    /// and says where it is; `None`
    /// at the end of the input. A last line without a newline counts; an empty input has no lines.
    pub(crate) fn next_line(&mut self, line: &mut Vec<u8>) -> Result<Option<LineAt>> {
        line.clear();
        let at = LineAt {
            number: self.number,
            offset: self.offset,
        };
        let mut consumed = 0u64;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io(&self.name, &e)),
            };
            if available.is_empty() {
                if consumed == 0 {
                    return Ok(None);
                }
                break;
            }
            let (chunk, found) = match available.iter().position(|&b| b == b'\n') {
                Some(end) => (&available[..end], true),
                None => (available, false),
            };
            if (line.len() + chunk.len()) as u64 > self.limit {
                return Err(too_large(
                    &self.name,
                    &format!(
                        "line {} (from byte {}) goes on past byte {}",
                        at.number,
                        at.offset,
                        at.offset + self.limit
                    ),
                    self.limit,
                ));
            }
            line.extend_from_slice(chunk);
            let used = chunk.len() + usize::from(found);
            self.reader.consume(used);
            consumed += used as u64;
            if found {
                break;
            }
        }
        if self.strip_cr && line.last() == Some(&b'\r') {
            line.pop();
        }
        self.offset += consumed;
        self.number += 1;
        Ok(Some(at))
    }
}

/// How many times [`create_locked_part`] tries again when a concurrent [`remove_stale_parts`] takes its brand-new
/// file for a stale one (possible only in the instant between creating the file and locking it).
const CREATE_ATTEMPTS: usize = 8;

/// Creates a temporary part file `PREFIX` + 6 random letters and digits + `.part` in `dir`, holding an exclusive
/// advisory lock on it for as long as the returned file is open, which marks its writer as alive to
/// [`remove_stale_parts`]. Where the file system has no advisory locks the file is returned unlocked.
pub(crate) fn create_locked_part(dir: &Path, prefix: &str) -> io::Result<NamedTempFile> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let part = tempfile::Builder::new()
            .prefix(prefix)
            .rand_bytes(PART_RANDOM_LEN)
            .suffix(PART_SUFFIX)
            .tempfile_in(dir)?;
        let ours = match part.as_file().try_lock() {
            // A cleanup may have locked, removed and released the file just before: then the name no longer
            // leads to this file.
            Ok(()) => same_file(part.path(), part.as_file())?,
            Err(fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => true,
            Err(fs::TryLockError::Error(e)) => return Err(e),
            // A concurrent cleanup holds the lock and is about to remove the file.
            Err(fs::TryLockError::WouldBlock) => false,
        };
        if ours {
            return Ok(part);
        }
        // Not ours to remove any more.
        let _ = part.keep();
        if attempt >= CREATE_ATTEMPTS {
            return Err(io::Error::other(
                "a concurrent cleanup kept removing the new temporary file",
            ));
        }
    }
}

/// At most this many bytes of the output's name go into the name of its part file, which must stay under the
/// usual 255-byte limit of a file name.
const PART_NAME_MAX: usize = 200;

/// The prefix of the part files of a build of `out`: `kind` (e.g. `.byteshelf-map-`) and the output's file name
/// (its first 200 bytes), then `-`. The part file of a build is the prefix, 6 random letters and digits, and
/// `.part`.
pub(crate) fn part_prefix(kind: &str, out: &Path) -> String {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut end = name.len().min(PART_NAME_MAX);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{kind}{}-", &name[..end])
}

/// The directory `out` is written in.
pub(crate) fn out_dir(out: &Path) -> &Path {
    match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// The end of every part file's name.
pub(crate) const PART_SUFFIX: &str = ".part";
/// How many random letters and digits a part file's name has between its prefix and `.part`.
pub(crate) const PART_RANDOM_LEN: usize = 6;

/// Whether `name` is the name of a part file made by [`create_locked_part`] with exactly `prefix`.
pub(crate) fn is_part_name(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(PART_SUFFIX))
        .is_some_and(|random| {
            random.len() == PART_RANDOM_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// Whether `path` (not followed if a symbolic link) names the file open as `file`.
#[cfg(unix)]
fn same_file(path: &Path, file: &File) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let named = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let open = file.metadata()?;
    Ok(named.dev() == open.dev() && named.ino() == open.ino())
}

/// Elsewhere a file's identity is not in stable std; Windows does not let a cleanup remove an open file anyway.
#[cfg(not(unix))]
fn same_file(path: &Path, _file: &File) -> io::Result<bool> {
    Ok(path.is_file())
}

/// A part file removed by [`remove_stale_parts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemovedPart {
    /// Its path.
    pub(crate) path: PathBuf,
    /// Its length when it was removed.
    pub(crate) bytes: u64,
}

/// Removes the part files in `dir` whose names `is_part` accepts and whose writers are dead: regular files (not
/// symbolic links, FIFOs or directories, opened without blocking or following links) whose exclusive lock can be
/// taken. A part file whose writer is alive, in any process, is locked and left alone.
pub(crate) fn remove_stale_parts(
    dir: &Path,
    is_part: impl Fn(&str) -> bool,
) -> Result<Vec<RemovedPart>> {
    let mut removed = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| Error::io(dir, &e))? {
        let entry = entry.map_err(|e| Error::io(dir, &e))?;
        if !entry.file_name().to_str().is_some_and(&is_part) {
            continue;
        }
        let path = entry.path();
        if let Some(bytes) = remove_if_stale(&path).map_err(|e| Error::io(&path, &e))? {
            removed.push(RemovedPart { path, bytes });
        }
    }
    removed.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(removed)
}

/// Off Unix nothing is removed: advisory locks there do not tell a dead writer's file from a live one's.
#[cfg(not(unix))]
fn remove_if_stale(_path: &Path) -> io::Result<Option<u64>> {
    Ok(None)
}

/// Removes `path` if it is a regular file whose exclusive lock can be taken; its length if it was removed.
#[cfg(unix)]
fn remove_if_stale(path: &Path) -> io::Result<Option<u64>> {
    use std::os::unix::fs::OpenOptionsExt;
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_file() => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Ok(None);
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Ok(None),
        Err(fs::TryLockError::Error(e)) if e.kind() == io::ErrorKind::Unsupported => {
            return Ok(None);
        }
        Err(fs::TryLockError::Error(e)) => return Err(e),
    }
    if !same_file(path, &file)? {
        return Ok(None);
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(Some(meta.len())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn lines(input: &[u8], limit: u64) -> Result<Vec<(Vec<u8>, LineAt)>> {
        let mut reader = LineReader::new(PathBuf::from("in"), Cursor::new(input), limit);
        let mut out = Vec::new();
        let mut line = Vec::new();
        while let Some(at) = reader.next_line(&mut line)? {
            out.push((line.clone(), at));
        }
        Ok(out)
    }

    #[test]
    fn lines_are_split_and_located() {
        let got = lines(b"ab\r\n\ncd", 10).unwrap();
        let at = |number, offset| LineAt { number, offset };
        assert_eq!(
            got,
            [
                (b"ab".to_vec(), at(1, 0)),
                (b"".to_vec(), at(2, 4)),
                (b"cd".to_vec(), at(3, 5)),
            ]
        );
        assert!(lines(b"", 10).unwrap().is_empty());
        assert_eq!(lines(b"x\n", 1).unwrap().len(), 1);
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_naming_it() {
        let err = lines(b"ok\n0123456789\n", 5).unwrap_err();
        assert_eq!(
            err.to_string(),
            "in: line 2 (from byte 3) goes on past byte 8: more than the limit of 5 bytes (raise it with \
             --max-record-bytes)"
        );
    }

    #[test]
    fn part_names_match_their_prefix_only() {
        assert!(is_part_name(
            ".byteshelf-map-out.mb-a1B2c3.part",
            ".byteshelf-map-out.mb-"
        ));
        assert!(!is_part_name(
            ".byteshelf-map-out.mb-x-a1B2c3.part",
            ".byteshelf-map-out.mb-"
        ));
        assert!(!is_part_name(
            ".byteshelf-map-out.mb-a1B2c.part",
            ".byteshelf-map-out.mb-"
        ));
        assert!(!is_part_name(
            ".byteshelf-map-out.mb-a1B2c3",
            ".byteshelf-map-out.mb-"
        ));
    }
}

//! `io::Read` and `io::Seek` for [`SparseBuffer`], with the reference's cursor semantics and a gap that is an
//! error, never an end-of-file.

use std::io::{self, Read, Seek, SeekFrom};

use crate::buffer::{ReadAt, SparseBuffer, len_u64};
use crate::error::Error;

/// The position `from` leads to for a file of `size` bytes at cursor `position`.
///
/// A position before 0 (or past `u64::MAX`) is an [`io::ErrorKind::InvalidInput`] error, as for `std::fs::File`.
pub(crate) fn seek_target(from: SeekFrom, position: u64, size: u64) -> io::Result<u64> {
    let target = match from {
        SeekFrom::Start(offset) => Some(offset),
        SeekFrom::Current(delta) => position.checked_add_signed(delta),
        SeekFrom::End(delta) => size.checked_add_signed(delta),
    };
    target.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid seek to a negative or overflowing position",
        )
    })
}

/// Reads from the cursor up to the end of the cached region it is in, and advances the cursor.
///
/// `Ok(0)` means the end of the file (or an empty `buf`). In a gap the read fails with an error of kind
/// [`io::ErrorKind::Other`] holding [`Error::NotCached`] (take it back with [`Error::from_io`]), and the cursor
/// stays where it was.
impl Read for SparseBuffer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match self.read_at(self.position, buf) {
            ReadAt::Data(n) => {
                self.position += len_u64(n);
                Ok(n)
            }
            ReadAt::End => Ok(0),
            ReadAt::Gap { next_cached } => Err(Error::NotCached {
                offset: self.position,
                next_cached,
            }
            .into()),
        }
    }
}

/// Moves the cursor. Seeking past the end is allowed (reads there return `Ok(0)`); seeking before 0 is an
/// [`io::ErrorKind::InvalidInput`] error that leaves the cursor unchanged.
impl Seek for SparseBuffer {
    fn seek(&mut self, from: SeekFrom) -> io::Result<u64> {
        self.position = seek_target(from, self.position, self.size())?;
        Ok(self.position)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.position)
    }
}

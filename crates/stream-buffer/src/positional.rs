//! Positional reads and writes of the spool file, which need no lock and no shared cursor: `pread`/`pwrite` on
//! Unix, `seek_read`/`seek_write` on Windows (which move the handle's cursor, but the spool never uses the
//! cursor, so that is unobservable).

use std::fs::File;
use std::io;

/// Fills `buf` from `offset`, like Unix `FileExt::read_exact_at`.
pub(crate) fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "spool file ended early",
                ));
            }
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Writes all of `buf` at `offset`, like Unix `FileExt::write_all_at`.
pub(crate) fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match write_at(file, buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(unix)]
fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::write_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(windows)]
fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_write(file, buf, offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_at_offsets_past_a_hole() {
        let file = tempfile::tempfile().unwrap();
        write_all_at(&file, b"world", 1 << 20).unwrap();
        write_all_at(&file, b"hello", 3).unwrap();
        let mut buf = [0u8; 5];
        read_exact_at(&file, &mut buf, 1 << 20).unwrap();
        assert_eq!(&buf, b"world");
        read_exact_at(&file, &mut buf, 3).unwrap();
        assert_eq!(&buf, b"hello");
        let mut hole = [1u8; 3];
        read_exact_at(&file, &mut hole, 100).unwrap();
        assert_eq!(hole, [0; 3]);
        let err = read_exact_at(&file, &mut buf, (1 << 20) + 2).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}

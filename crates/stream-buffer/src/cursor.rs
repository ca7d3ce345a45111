//! [`StreamCursor`]: a [`Read`] + [`Seek`] view of a [`StreamBuffer`], for code that wants a file.

use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Deref;

use crate::buffer::StreamBuffer;

/// A reading position over a [`StreamBuffer`], implementing [`Read`] and [`Seek`].
///
/// `B` is anything that derefs to the buffer: `&StreamBuffer` (from [`StreamBuffer::cursor`]) or
/// `Arc<StreamBuffer>` for a cursor that owns its share. Each cursor has its own position, so any number of
/// cursors can read one buffer at once. Reads pull from the stream as needed; seeking never pulls, except
/// [`SeekFrom::End`] when the length is not known yet, which pulls the whole stream.
///
/// ```
/// use std::io::{Read, Seek, SeekFrom};
/// use byteshelf_stream_buffer::StreamBuffer;
///
/// let buffer = StreamBuffer::from_reader(&b"hello, stream"[..]);
/// let mut cursor = buffer.cursor();
/// cursor.seek(SeekFrom::End(-6))?;
/// let mut tail = String::new();
/// cursor.read_to_string(&mut tail)?;
/// assert_eq!(tail, "stream");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct StreamCursor<B> {
    buffer: B,
    position: u64,
}

impl<B: Deref<Target = StreamBuffer>> StreamCursor<B> {
    /// A cursor at offset 0.
    pub fn new(buffer: B) -> Self {
        StreamCursor {
            buffer,
            position: 0,
        }
    }

    /// The current offset.
    #[must_use]
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Moves to `position`, which may be past the end (reads there return 0 bytes).
    pub fn set_position(&mut self, position: u64) {
        self.position = position;
    }

    /// The buffer this cursor reads.
    #[must_use]
    pub fn get_ref(&self) -> &StreamBuffer {
        &self.buffer
    }

    /// Gives back the buffer handle.
    #[must_use]
    pub fn into_inner(self) -> B {
        self.buffer
    }
}

impl<B: Deref<Target = StreamBuffer>> Read for StreamCursor<B> {
    /// Reads like a file: when the stream fails inside the requested range, the bytes before the failure are
    /// returned first (a short read, as [`Read`] allows) and the failure on the next call.
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = match self.buffer.read_into(self.position, out) {
            Ok(n) => n,
            Err(error) => {
                let before_failure = self.buffer.pulled().saturating_sub(self.position);
                if before_failure == 0 {
                    return Err(error.into());
                }
                let len = usize::try_from(before_failure)
                    .unwrap_or(usize::MAX)
                    .min(out.len());
                self.buffer.read_into(self.position, &mut out[..len])?
            }
        };
        self.position += n as u64;
        Ok(n)
    }
}

impl<B: Deref<Target = StreamBuffer>> Seek for StreamCursor<B> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let (base, delta) = match to {
            SeekFrom::Start(position) => {
                self.position = position;
                return Ok(position);
            }
            SeekFrom::Current(delta) => (self.position, delta),
            SeekFrom::End(delta) => {
                let len = match self.buffer.len() {
                    Some(len) => len,
                    None => self.buffer.pull_all()?,
                };
                (len, delta)
            }
        };
        let position = base.checked_add_signed(delta).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )
        })?;
        self.position = position;
        Ok(position)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.position)
    }
}

//! Adapters that turn an iterator of chunks or an [`io::Read`] into the one kind of source the buffer pulls from.
//!
//! A source hands each non-empty chunk to a sink and then forgets it, so the buffer never holds on to the
//! caller's chunk after copying it into the spool.

use std::fmt;
use std::io::{self, Read};

/// Scratch buffer size for [`io::Read`] sources.
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// A forward-only stream of bytes, pulled one chunk at a time.
pub(crate) trait Source: Send {
    /// Pulls the next non-empty chunk and passes it to `sink`. Returns `Ok(false)` once the stream has ended.
    /// [`io::ErrorKind::Interrupted`] is retried here, never returned.
    fn pull(&mut self, sink: &mut dyn FnMut(&[u8])) -> io::Result<bool>;
}

/// Any iterator of `io::Result` chunks. Empty chunks are skipped.
pub(crate) struct IterSource<I> {
    chunks: I,
}

impl<I> IterSource<I> {
    pub(crate) fn new(chunks: I) -> Self {
        IterSource { chunks }
    }
}

impl<I, T> Source for IterSource<I>
where
    I: Iterator<Item = io::Result<T>> + Send,
    T: AsRef<[u8]>,
{
    fn pull(&mut self, sink: &mut dyn FnMut(&[u8])) -> io::Result<bool> {
        loop {
            match self.chunks.next() {
                None => return Ok(false),
                Some(Ok(chunk)) => {
                    let bytes = chunk.as_ref();
                    if !bytes.is_empty() {
                        sink(bytes);
                        return Ok(true);
                    }
                }
                Some(Err(error)) if error.kind() == io::ErrorKind::Interrupted => {}
                Some(Err(error)) => return Err(error),
            }
        }
    }
}

impl<I> fmt::Debug for IterSource<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IterSource")
    }
}

/// Any [`io::Read`], read through a scratch buffer of `capacity` bytes that is allocated on the first pull.
pub(crate) struct ReadSource<R> {
    reader: R,
    scratch: Vec<u8>,
    capacity: usize,
}

impl<R> ReadSource<R> {
    pub(crate) fn new(reader: R, capacity: usize) -> Self {
        ReadSource {
            reader,
            scratch: Vec::new(),
            capacity: capacity.max(1),
        }
    }
}

impl<R: Read + Send> Source for ReadSource<R> {
    fn pull(&mut self, sink: &mut dyn FnMut(&[u8])) -> io::Result<bool> {
        if self.scratch.is_empty() {
            self.scratch = vec![0; self.capacity];
        }
        loop {
            match self.reader.read(&mut self.scratch) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    // A reader that claims more than it was given is broken; never index past the buffer.
                    let Some(bytes) = self.scratch.get(..n) else {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "the reader claimed {n} bytes into a {}-byte buffer",
                                self.scratch.len()
                            ),
                        ));
                    };
                    sink(bytes);
                    return Ok(true);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
}

impl<R> fmt::Debug for ReadSource<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadSource")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

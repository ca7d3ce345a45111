//! [`FaultyReader`]: an `io::Read` that fails at a chosen byte, reads short, or is interrupted.

use std::io::{self, ErrorKind, Read};

/// An `io::Read` wrapper that misbehaves on purpose.
///
/// - [`fail_at`](Self::fail_at): delivers the bytes before `offset`, then every read fails with the given kind;
/// - [`max_per_read`](Self::max_per_read): returns at most `n` bytes per call;
/// - [`interrupt_every`](Self::interrupt_every): every `k`-th call fails with [`ErrorKind::Interrupted`] (which
///   readers are expected to retry).
#[derive(Debug, Clone)]
pub struct FaultyReader<R> {
    inner: R,
    read: u64,
    fail_at: Option<(u64, ErrorKind)>,
    max_per_read: usize,
    interrupt_every: Option<u64>,
    calls: u64,
}

impl<R: Read> FaultyReader<R> {
    /// A reader that passes everything through until told otherwise.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            read: 0,
            fail_at: None,
            max_per_read: usize::MAX,
            interrupt_every: None,
            calls: 0,
        }
    }

    /// Delivers bytes `0..offset`, then fails every read with `kind`.
    #[must_use]
    pub fn fail_at(mut self, offset: u64, kind: ErrorKind) -> Self {
        self.fail_at = Some((offset, kind));
        self
    }

    /// Returns at most `n` bytes per read (at least 1).
    #[must_use]
    pub fn max_per_read(mut self, n: usize) -> Self {
        self.max_per_read = n.max(1);
        self
    }

    /// Fails every `k`-th read call (from the `k`-th on) with [`ErrorKind::Interrupted`].
    #[must_use]
    pub fn interrupt_every(mut self, k: u64) -> Self {
        self.interrupt_every = Some(k.max(1));
        self
    }

    /// Bytes delivered so far.
    pub fn delivered(&self) -> u64 {
        self.read
    }
}

impl<R: Read> Read for FaultyReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self
            .interrupt_every
            .is_some_and(|k| self.calls.is_multiple_of(k))
        {
            return Err(io::Error::new(
                ErrorKind::Interrupted,
                "injected fault: interrupted",
            ));
        }
        let mut take = buf.len().min(self.max_per_read);
        if let Some((offset, kind)) = self.fail_at {
            let left = offset.saturating_sub(self.read);
            if left == 0 && !buf.is_empty() {
                return Err(io::Error::new(kind, "injected fault: read failed"));
            }
            take = take.min(usize::try_from(left).unwrap_or(usize::MAX));
        }
        let n = self.inner.read(&mut buf[..take])?;
        self.read += n as u64;
        Ok(n)
    }
}

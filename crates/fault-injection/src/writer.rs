//! [`FaultyWriter`]: an `io::Write` that fails like a full disk, writes short, or fails to flush.

use std::io::{self, ErrorKind, Write};

/// An `io::Write` wrapper that misbehaves on purpose.
///
/// - [`fail_after`](Self::fail_after): accepts `budget` bytes in total (the last write partially, as a full disk
///   does), then every write fails with the given kind;
/// - [`max_per_write`](Self::max_per_write): accepts at most `n` bytes per call (short writes, which are legal);
/// - [`zero_after`](Self::zero_after): answers `Ok(0)` once `budget` bytes are in (a sink that stopped taking bytes);
/// - [`fail_flush`](Self::fail_flush): `flush` fails.
#[derive(Debug, Clone)]
pub struct FaultyWriter<W> {
    inner: W,
    written: u64,
    fail_after: Option<(u64, ErrorKind)>,
    zero_after: Option<u64>,
    max_per_write: usize,
    fail_flush: Option<ErrorKind>,
    calls: u64,
}

impl<W: Write> FaultyWriter<W> {
    /// A writer that passes everything through until told otherwise.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            written: 0,
            fail_after: None,
            zero_after: None,
            max_per_write: usize::MAX,
            fail_flush: None,
            calls: 0,
        }
    }

    /// Accepts `budget` bytes in total, then fails every write with `kind` (e.g. [`ErrorKind::StorageFull`]).
    #[must_use]
    pub fn fail_after(mut self, budget: u64, kind: ErrorKind) -> Self {
        self.fail_after = Some((budget, kind));
        self
    }

    /// Answers `Ok(0)` to every write once `budget` bytes are in.
    #[must_use]
    pub fn zero_after(mut self, budget: u64) -> Self {
        self.zero_after = Some(budget);
        self
    }

    /// Accepts at most `n` bytes per `write` call (at least 1).
    #[must_use]
    pub fn max_per_write(mut self, n: usize) -> Self {
        self.max_per_write = n.max(1);
        self
    }

    /// Makes `flush` fail with `kind`.
    #[must_use]
    pub fn fail_flush(mut self, kind: ErrorKind) -> Self {
        self.fail_flush = Some(kind);
        self
    }

    /// Bytes accepted so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Number of `write` calls so far.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// The wrapped writer, holding every accepted byte.
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }
}

impl<W: Write> Write for FaultyWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        let mut take = buf.len().min(self.max_per_write);
        if let Some(budget) = self.zero_after {
            let left = budget.saturating_sub(self.written);
            if left == 0 && !buf.is_empty() {
                return Ok(0);
            }
            take = take.min(usize::try_from(left).unwrap_or(usize::MAX));
        }
        if let Some((budget, kind)) = self.fail_after {
            let left = budget.saturating_sub(self.written);
            if left == 0 && !buf.is_empty() {
                return Err(io::Error::new(kind, "injected fault: the disk is full"));
            }
            take = take.min(usize::try_from(left).unwrap_or(usize::MAX));
        }
        let n = self.inner.write(&buf[..take])?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.fail_flush {
            Some(kind) => Err(io::Error::new(kind, "injected fault: flush failed")),
            None => self.inner.flush(),
        }
    }
}

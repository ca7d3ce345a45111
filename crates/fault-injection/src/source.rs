//! [`FaultySource`]: a `RangeSource` whose chosen fetch calls fail, come back short or wrong, or stall.

use std::collections::BTreeMap;
use std::io;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use sparse_buffer::{Error, RangeSource, Result};

/// What one fetch call of a [`FaultySource`] does instead of answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceFault {
    /// Fails with an I/O error ([`Error::Io`]).
    Fail,
    /// Answers every range one byte short (or empty for a 1-byte range).
    Short,
    /// Answers one buffer fewer than ranges asked (or one more when a single range was asked).
    WrongCount,
    /// Sleeps this long, then answers correctly (a slow network).
    Stall(Duration),
}

/// A [`RangeSource`] wrapper: the fetch calls chosen with [`on_call`](Self::on_call) misbehave, the others pass
/// through; [`fail_size`](Self::fail_size) makes `size()` fail. Calls are numbered from 0 across all threads.
#[derive(Debug)]
pub struct FaultySource<S> {
    inner: S,
    faults: Mutex<BTreeMap<usize, SourceFault>>,
    every: Mutex<Option<(usize, SourceFault)>>,
    calls: AtomicUsize,
    fail_size: AtomicBool,
}

impl<S: RangeSource> FaultySource<S> {
    /// A source that passes everything through until told otherwise.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            faults: Mutex::new(BTreeMap::new()),
            every: Mutex::new(None),
            calls: AtomicUsize::new(0),
            fail_size: AtomicBool::new(false),
        }
    }

    /// Fetch call number `call` (from 0) misbehaves as `fault`.
    #[must_use]
    pub fn on_call(self, call: usize, fault: SourceFault) -> Self {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(call, fault);
        self
    }

    /// Every `k`-th fetch call (calls `k - 1`, `2k - 1`, ...) misbehaves as `fault`.
    #[must_use]
    pub fn every(self, k: usize, fault: SourceFault) -> Self {
        *self.every.lock().unwrap_or_else(|e| e.into_inner()) = Some((k.max(1), fault));
        self
    }

    /// Makes `size()` fail (or work again).
    pub fn set_fail_size(&self, fail: bool) {
        self.fail_size.store(fail, Ordering::SeqCst);
    }

    /// `size()` fails.
    #[must_use]
    pub fn fail_size(self) -> Self {
        self.set_fail_size(true);
        self
    }

    /// Fetch calls so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Stops all injected faults: every later call passes through.
    pub fn heal(&self) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        *self.every.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.set_fail_size(false);
    }

    /// The wrapped source.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn fault_of(&self, call: usize) -> Option<SourceFault> {
        let every = *self.every.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, fault)) = every
            && (call + 1).is_multiple_of(k)
        {
            return Some(fault);
        }
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&call)
            .copied()
    }
}

impl<S: RangeSource> RangeSource for FaultySource<S> {
    fn size(&self) -> Result<u64> {
        if self.fail_size.load(Ordering::SeqCst) {
            return Err(Error::Io {
                name: self.name(),
                source: io::Error::other("injected fault: size unavailable"),
            });
        }
        self.inner.size()
    }

    fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        match self.fault_of(call) {
            None => self.inner.fetch(ranges),
            Some(SourceFault::Fail) => Err(Error::Io {
                name: self.name(),
                source: io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "injected fault: fetch failed",
                ),
            }),
            Some(SourceFault::Short) => Ok(self
                .inner
                .fetch(ranges)?
                .into_iter()
                .map(|b| b.slice(..b.len().saturating_sub(1)))
                .collect()),
            Some(SourceFault::WrongCount) => {
                let mut answer = self.inner.fetch(ranges)?;
                match answer.len() {
                    1 => answer.push(Bytes::new()),
                    _ => drop(answer.pop()),
                }
                Ok(answer)
            }
            Some(SourceFault::Stall(time)) => {
                std::thread::sleep(time);
                self.inner.fetch(ranges)
            }
        }
    }

    fn name(&self) -> String {
        format!("faulty({})", self.inner.name())
    }
}

//! [`BlockingRuntime`]: what the blocking facades run their futures on, chosen by the caller.
//!
//! The async API runs on the caller's executor. The blocking facades ([`BlockingRangeReader`] and the blocking
//! readers of the format crates) need something to drive those futures, and say which:
//!
//! - [`BlockingRuntime::inline`]: polls the future on the calling thread and parks it between wake-ups. No I/O
//!   driver: for sources that answer at once (every [`RangeSource`](crate::RangeSource): memory, local files).
//! - [`BlockingRuntime::handle`] (feature `tokio`): a handle to a multi-thread tokio runtime you own, whose worker
//!   threads drive the I/O (object stores).
//! - [`BlockingRuntime::current_thread`] (feature `tokio`): a current-thread tokio runtime owned by the facade
//!   (and its clones), driven by whichever thread is blocked on it.
//!
//! Blocking on a thread that runs async tasks (a tokio worker, or inside `Runtime::block_on`) would stall every
//! task of that thread, or deadlock: there every blocking call returns
//! [`Error::BlockingInRuntime`] instead
//! (with the `tokio` feature, which is what can see that). Inside `tokio::task::spawn_blocking` blocking is
//! what the thread is for, and works.
//!
//! [`BlockingRangeReader`]: crate::BlockingRangeReader

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

// `Error` is used by the tokio checks, and by the docs in any build.
#[cfg_attr(not(feature = "tokio"), allow(unused_imports))]
use crate::error::{Error, Result};

/// What a blocking facade drives its futures with (see the [module docs](self)).
///
/// Cheap to clone: clones share the runtime.
///
/// ```
/// use sparse_buffer::BlockingRuntime;
///
/// let runtime = BlockingRuntime::inline();
/// assert_eq!(runtime.block_on(async { 6 * 7 })?, 42);
/// # Ok::<(), sparse_buffer::Error>(())
/// ```
#[derive(Clone)]
pub struct BlockingRuntime {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Inline,
    #[cfg(feature = "tokio")]
    Handle(tokio::runtime::Handle),
    #[cfg(feature = "tokio")]
    Owned(Arc<OwnedRuntime>),
}

impl fmt::Debug for BlockingRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.inner {
            Inner::Inline => "inline",
            #[cfg(feature = "tokio")]
            Inner::Handle(_) => "tokio handle",
            #[cfg(feature = "tokio")]
            Inner::Owned(_) => "owned current-thread tokio runtime",
        };
        f.debug_tuple("BlockingRuntime").field(&kind).finish()
    }
}

impl Default for BlockingRuntime {
    /// [`BlockingRuntime::inline`].
    fn default() -> Self {
        Self::inline()
    }
}

/// A current-thread runtime that never blocks when dropped (so a facade may be dropped inside async code).
#[cfg(feature = "tokio")]
struct OwnedRuntime(Option<tokio::runtime::Runtime>);

#[cfg(feature = "tokio")]
impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

impl BlockingRuntime {
    /// Polls futures on the calling thread, parking it between wake-ups; there is no I/O or timer driver. For
    /// sources that answer at once (every [`RangeSource`](crate::RangeSource)), and other futures that need no
    /// runtime.
    #[must_use]
    pub fn inline() -> Self {
        Self {
            inner: Inner::Inline,
        }
    }

    /// Runs futures on the tokio runtime of `handle`, whose worker threads drive the I/O: a multi-thread runtime
    /// (a current-thread runtime drives its I/O only inside its own `Runtime::block_on`).
    #[cfg(feature = "tokio")]
    #[must_use]
    pub fn handle(handle: tokio::runtime::Handle) -> Self {
        Self {
            inner: Inner::Handle(handle),
        }
    }

    /// Starts a current-thread tokio runtime (I/O and timers enabled) owned by this value and its clones; the
    /// thread that blocks on it drives it, and several threads may block on it at once (one drives, the others
    /// wait for their futures).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the runtime cannot start.
    #[cfg(feature = "tokio")]
    pub fn current_thread() -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                name: "a current-thread tokio runtime".to_owned(),
                source,
            })?;
        Ok(Self {
            inner: Inner::Owned(Arc::new(OwnedRuntime(Some(runtime)))),
        })
    }

    /// Runs `future` to completion, blocking the calling thread.
    ///
    /// # Errors
    ///
    /// [`Error::BlockingInRuntime`] on a thread that runs async tasks (see the
    /// [module docs](self)); the future is not polled then.
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output> {
        check_blocking_allowed()?;
        match &self.inner {
            Inner::Inline => Ok(park_on(future)),
            #[cfg(feature = "tokio")]
            Inner::Handle(handle) => Ok(handle.block_on(future)),
            #[cfg(feature = "tokio")]
            Inner::Owned(owned) => match &owned.0 {
                Some(runtime) => Ok(runtime.block_on(future)),
                None => Ok(park_on(future)),
            },
        }
    }
}

/// [`Error::BlockingInRuntime`] on a tokio worker thread, or on a thread inside `Runtime::block_on`; `Ok` on other
/// threads, `spawn_blocking`'s included (whose closures run inside a task, outside the runtime's scheduler).
fn check_blocking_allowed() -> Result<()> {
    #[cfg(feature = "tokio")]
    {
        let on_worker = tokio::runtime::worker_index().is_some();
        // A thread that entered a runtime's context but runs no task: the thread inside a multi-thread
        // runtime's `block_on` (or one that called `Handle::enter`, which is refused too).
        let in_block_on =
            tokio::runtime::Handle::try_current().is_ok() && tokio::task::try_id().is_none();
        if on_worker || in_block_on {
            return Err(Error::BlockingInRuntime);
        }
    }
    Ok(())
}

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread until it is ready, parking between wake-ups (a spurious unpark only costs a poll).
fn park_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        thread::park();
    }
}

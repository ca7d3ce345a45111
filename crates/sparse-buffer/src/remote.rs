//! [`ObjectStoreSource`]: a [`RangeSource`] over one object of any [`object_store::ObjectStore`] (S3, GCS,
//! Azure, HTTP, memory, local files), with a blocking API for synchronous callers and an async one.
//!
//! The blocking methods run the store's futures on a runtime: a shared one this crate starts on first use (two
//! worker threads), or yours ([`ObjectStoreSource::with_runtime`]). They are for synchronous callers: async code
//! awaits the `*_async` methods, or moves blocking readers into `tokio::task::spawn_blocking` (where the
//! blocking methods work), so that no executor thread waits on the network.

use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt};
use tokio::runtime::{Handle, Runtime};

use crate::error::{Error, Result};
use crate::source::RangeSource;

/// Ranges of one [`ObjectStoreSource::fetch`] at most this far apart are fetched as one request (1 MiB, as
/// `object_store::ObjectStore::get_ranges`).
pub const DEFAULT_COALESCE_GAP: u64 = object_store::OBJECT_STORE_COALESCE_DEFAULT;

/// The runtime the blocking methods use unless given another.
fn shared_runtime() -> Result<&'static Runtime> {
    static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("sparse-buffer-io")
                .enable_all()
                .build()
                .map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|message| Error::Source {
            name: "object store runtime".to_owned(),
            source: message.clone().into(),
        })
}

/// Runs `future` to completion on `handle` (the shared runtime when `None`), from synchronous code.
///
/// On a thread that belongs to a tokio runtime (e.g. inside `tokio::task::spawn_blocking`), where tokio refuses
/// to start another `block_on`, the future runs on a short-lived helper thread instead, so this never panics.
/// It still blocks the calling thread until the future is done: from async code, await the future instead.
///
/// # Errors
///
/// [`Error::Source`] when the shared runtime cannot start; otherwise whatever `future` returns.
pub fn block_on<T: Send>(
    handle: Option<&Handle>,
    future: impl Future<Output = Result<T>> + Send,
) -> Result<T> {
    let handle = match handle {
        Some(handle) => handle.clone(),
        None => shared_runtime()?.handle().clone(),
    };
    if Handle::try_current().is_err() {
        return handle.block_on(future);
    }
    std::thread::scope(|scope| {
        scope
            .spawn(|| handle.block_on(future))
            .join()
            .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
    })
}

/// A [`RangeSource`] over the object at `path` in `store`.
///
/// Opening asks the object's size and ETag once (one `HEAD`, or with
/// [`open_reading`](Self::open_reading) the first `GET`, which brings bytes too); [`size`](RangeSource::size)
/// never asks again. Each [`fetch`](RangeSource::fetch) of one range is one ranged `GET`; a fetch of several
/// ranges merges those at most [`coalesce_gap`](Self::with_coalesce_gap) apart and runs the requests
/// concurrently (at most 10 at once, object_store's `coalesce_ranges`). [`requests`](Self::requests) counts every
/// request sent, `HEAD` included.
///
/// ```
/// use std::sync::Arc;
/// use object_store::{ObjectStoreExt, memory::InMemory, path::Path};
/// use sparse_buffer::{ObjectStoreSource, RangeReader, RangeSource, ReaderOptions};
///
/// let store = Arc::new(InMemory::new());
/// let path = Path::from("data/blob.bin");
/// let bytes: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
/// sparse_buffer::block_on(None, async {
///     store.put(&path, bytes.clone().into()).await.map_err(|e| sparse_buffer::Error::Source {
///         name: path.to_string(),
///         source: Box::new(e),
///     })
/// })?;
///
/// let source = ObjectStoreSource::open(store, path)?; // one HEAD
/// assert_eq!(source.size()?, 100_000);
/// let reader = RangeReader::with_size(source, 100_000, ReaderOptions::default().read_ahead(0).tail_read(0));
/// assert_eq!(reader.read_range(1000..1004)?[..], bytes[1000..1004]);
/// assert_eq!(reader.source().requests(), 2); // the HEAD and one GET
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ObjectStoreSource {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    e_tag: Option<String>,
    runtime: Option<Handle>,
    coalesce_gap: u64,
    requests: AtomicU64,
    name: String,
}

impl fmt::Debug for ObjectStoreSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreSource")
            .field("name", &self.name)
            .field("size", &self.size)
            .field("e_tag", &self.e_tag)
            .field("coalesce_gap", &self.coalesce_gap)
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl ObjectStoreSource {
    /// A source over an object whose size (and ETag, if known) the caller already has: sends no request.
    pub fn from_meta(
        store: Arc<dyn ObjectStore>,
        path: Path,
        size: u64,
        e_tag: Option<String>,
    ) -> Self {
        let name = format!("{store}/{path}");
        Self {
            store,
            path,
            size,
            e_tag,
            runtime: None,
            coalesce_gap: DEFAULT_COALESCE_GAP,
            requests: AtomicU64::new(0),
            name,
        }
    }

    /// Opens the object at `path` with one `HEAD` request, blocking.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] when the request fails (e.g. no such object).
    pub fn open(store: Arc<dyn ObjectStore>, path: Path) -> Result<Self> {
        block_on(None, Self::open_async(store, path))
    }

    /// Opens the object at `path` with one `HEAD` request.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] when the request fails.
    pub async fn open_async(store: Arc<dyn ObjectStore>, path: Path) -> Result<Self> {
        let source = Self::from_meta(store, path, 0, None);
        source.requests.fetch_add(1, Ordering::Relaxed);
        let meta = source
            .store
            .head(&source.path)
            .await
            .map_err(|err| source.error(err))?;
        Ok(source.with_object_meta(&meta))
    }

    /// Opens the object at `path` with one `GET` of `range` (e.g. [`GetRange::Suffix`] for a footer, or
    /// [`GetRange::Bounded`]`(0..n)` for a header), blocking: the source and the bytes, with the file range they
    /// hold (a suffix longer than the object gives the whole object).
    ///
    /// # Errors
    ///
    /// [`Error::Source`] when the request fails.
    pub fn open_reading(
        store: Arc<dyn ObjectStore>,
        path: Path,
        range: GetRange,
    ) -> Result<(Self, Range<u64>, Bytes)> {
        block_on(None, Self::open_reading_async(store, path, range))
    }

    /// The async form of [`open_reading`](Self::open_reading).
    ///
    /// # Errors
    ///
    /// [`Error::Source`] when the request fails; [`Error::ShortFetch`] when the answer is not as long as the
    /// range it claims.
    pub async fn open_reading_async(
        store: Arc<dyn ObjectStore>,
        path: Path,
        range: GetRange,
    ) -> Result<(Self, Range<u64>, Bytes)> {
        let source = Self::from_meta(store, path, 0, None);
        source.requests.fetch_add(1, Ordering::Relaxed);
        let options = GetOptions {
            range: Some(range),
            ..GetOptions::default()
        };
        let result = source
            .store
            .get_opts(&source.path, options)
            .await
            .map_err(|err| source.error(err))?;
        let meta = result.meta.clone();
        let got = result.range.clone();
        let bytes = result.bytes().await.map_err(|err| source.error(err))?;
        let source = source.with_object_meta(&meta);
        if got.end > source.size || got.end - got.start != crate::buffer::len_u64(bytes.len()) {
            return Err(Error::ShortFetch {
                name: source.name.clone(),
                start: got.start,
                end: got.end,
                got: crate::buffer::len_u64(bytes.len()),
            });
        }
        Ok((source, got, bytes))
    }

    fn with_object_meta(mut self, meta: &ObjectMeta) -> Self {
        self.size = meta.size;
        self.e_tag.clone_from(&meta.e_tag);
        self
    }

    /// Runs the blocking methods on `runtime` instead of the shared one: a multi-thread runtime (a current-thread
    /// one drives its I/O only inside its own `Runtime::block_on`).
    #[must_use]
    pub fn with_runtime(mut self, runtime: Handle) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Sets how far apart the ranges of one multi-range fetch may be and still be fetched as one request
    /// (default [`DEFAULT_COALESCE_GAP`]).
    #[must_use]
    pub fn with_coalesce_gap(mut self, bytes: u64) -> Self {
        self.coalesce_gap = bytes;
        self
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object's path in the store.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The object's ETag when it was opened, if the store reports one.
    #[must_use]
    pub fn e_tag(&self) -> Option<&str> {
        self.e_tag.as_deref()
    }

    /// Requests sent so far (`HEAD` and `GET`, failed ones included).
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn error(&self, err: object_store::Error) -> Error {
        Error::Source {
            name: self.name.clone(),
            source: Box::new(err),
        }
    }

    fn check(&self, range: &Range<u64>) -> Result<()> {
        if range.start > range.end {
            return Err(Error::InvalidRange {
                start: range.start,
                end: range.end,
            });
        }
        if range.end > self.size {
            return Err(Error::OutOfBounds {
                name: self.name.clone(),
                start: range.start,
                end: range.end,
                size: self.size,
            });
        }
        Ok(())
    }

    /// The bytes of each range, in the order asked: one request for a single range, coalesced concurrent
    /// requests for several.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRange`] or [`Error::OutOfBounds`] for a range outside the object (no request is sent);
    /// [`Error::Source`] when a request fails.
    pub async fn fetch_async(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        for range in ranges {
            self.check(range)?;
        }
        let get = |range: Range<u64>| async move {
            if range.is_empty() {
                return Ok(Bytes::new());
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            self.store.get_range(&self.path, range).await
        };
        let fetched = match ranges {
            [] => Ok(Vec::new()),
            [range] => get(range.clone()).await.map(|bytes| vec![bytes]),
            _ => object_store::coalesce_ranges(ranges, get, self.coalesce_gap).await,
        };
        fetched.map_err(|err| self.error(err))
    }
}

impl RangeSource for ObjectStoreSource {
    fn size(&self) -> Result<u64> {
        Ok(self.size)
    }

    fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        block_on(self.runtime.as_ref(), self.fetch_async(ranges))
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

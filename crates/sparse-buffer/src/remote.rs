//! [`ObjectStoreSource`]: an [`AsyncRangeSource`] over one object of any [`object_store::ObjectStore`] (S3, GCS,
//! Azure, HTTP, memory, local files).
//!
//! Its futures run on the caller's tokio runtime (object_store's clients need one). Synchronous callers read it
//! through a [`BlockingRangeReader`](crate::BlockingRangeReader) with an explicit
//! [`BlockingRuntime`](crate::BlockingRuntime).

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt};

use crate::buffer::len_u64;
use crate::error::{Error, Result};
use crate::reader::{RangeReader, ReaderOptions};
use crate::source::AsyncRangeSource;

/// Ranges of one [`ObjectStoreSource`] fetch at most this far apart are fetched as one request (1 MiB, as
/// `object_store::ObjectStore::get_ranges`).
pub const DEFAULT_COALESCE_GAP: u64 = object_store::OBJECT_STORE_COALESCE_DEFAULT;

/// An [`AsyncRangeSource`] over the object at `path` in `store`, pinned to the version seen when it was opened.
///
/// Opening learns the object's size, ETag and version (if the store keeps versions) from one request: a `HEAD`
/// ([`open`](Self::open)), or a `GET` that brings bytes too ([`open_reading`](Self::open_reading);
/// [`open_reader`](Self::open_reader) reads the tail of the object that way and caches it in a new
/// [`RangeReader`]). Every later `GET` is conditional on that version (`If-Match: <ETag>`, and the version id
/// when there is one), and its answer's ETag and size are checked again: an object replaced since the open is
/// [`Error::ObjectChanged`], never bytes of two versions mixed. A store that reports neither ETag nor version
/// can only be checked by size.
///
/// Each fetch of one range is one ranged `GET`; a fetch of several ranges merges those at most
/// [`coalesce_gap`](Self::with_coalesce_gap) apart and runs the requests concurrently (at most 10 at once,
/// object_store's `coalesce_ranges`). [`requests`](Self::requests) counts every request sent, `HEAD` included.
///
/// ```
/// use std::sync::Arc;
/// use object_store::{ObjectStoreExt, memory::InMemory, path::Path};
/// use sparse_buffer::{ObjectStoreSource, ReaderOptions};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(InMemory::new());
/// let path = Path::from("data/blob.bin");
/// let bytes: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
/// store.put(&path, bytes.clone().into()).await?;
///
/// // One suffix GET: the size, the ETag and the last 128 KiB (the default tail_read), cached.
/// let reader = ObjectStoreSource::open_reader(store, path, ReaderOptions::default()).await?;
/// assert_eq!(reader.size(), 1_000_000);
/// assert_eq!(reader.read_range(999_000..999_004).await?[..], bytes[999_000..999_004]);
/// assert_eq!(reader.source().requests(), 1);
/// assert_eq!(reader.read_range(1000..1004).await?[..], bytes[1000..1004]);
/// assert_eq!(reader.source().requests(), 2); // a GET with If-Match: the ETag of the open
/// # Ok(())
/// # }
/// ```
pub struct ObjectStoreSource {
    store: Arc<dyn ObjectStore>,
    path: Path,
    size: u64,
    e_tag: Option<String>,
    version: Option<String>,
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
            .field("version", &self.version)
            .field("coalesce_gap", &self.coalesce_gap)
            .field("requests", &self.requests())
            .finish_non_exhaustive()
    }
}

impl ObjectStoreSource {
    /// A source over the object `meta` describes (e.g. from a listing), pinned to its ETag and version: sends
    /// no request.
    pub fn from_meta(store: Arc<dyn ObjectStore>, meta: &ObjectMeta) -> Self {
        Self::unopened(store, meta.location.clone()).with_object_meta(meta)
    }

    fn unopened(store: Arc<dyn ObjectStore>, path: Path) -> Self {
        let name = format!("{store}/{path}");
        Self {
            store,
            path,
            size: 0,
            e_tag: None,
            version: None,
            coalesce_gap: DEFAULT_COALESCE_GAP,
            requests: AtomicU64::new(0),
            name,
        }
    }

    /// Opens the object at `path` with one `HEAD` request.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] when the request fails (e.g. no such object).
    pub async fn open(store: Arc<dyn ObjectStore>, path: Path) -> Result<Self> {
        let source = Self::unopened(store, path);
        source.requests.fetch_add(1, Ordering::Relaxed);
        let meta = source
            .store
            .head(&source.path)
            .await
            .map_err(|err| source.error(err))?;
        Ok(source.with_object_meta(&meta))
    }

    /// Opens the object at `path` with one `GET` of `range` (e.g. [`GetRange::Suffix`] for a footer, or
    /// [`GetRange::Bounded`]`(0..n)` for a header): the source and the bytes, with the file range they hold (a
    /// suffix longer than the object gives the whole object). The size comes from the answer's range.
    ///
    /// # Errors
    ///
    /// [`Error::Source`] when the request fails; [`Error::ShortFetch`] when the answer is not as long as the
    /// range it claims.
    pub async fn open_reading(
        store: Arc<dyn ObjectStore>,
        path: Path,
        range: GetRange,
    ) -> Result<(Self, Range<u64>, Bytes)> {
        let source = Self::unopened(store, path);
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
        if got.end > source.size || got.end - got.start != len_u64(bytes.len()) {
            return Err(Error::ShortFetch {
                name: source.name.clone(),
                start: got.start,
                end: got.end,
                got: len_u64(bytes.len()),
            });
        }
        Ok((source, got, bytes))
    }

    /// Opens the object at `path` and a [`RangeReader`] over it with one suffix `GET` of
    /// [`tail_read`](ReaderOptions::tail_read) bytes (a `HEAD` when that is 0): the size, ETag and version come
    /// with the tail, which is cached, so a footer read costs no further request.
    ///
    /// # Errors
    ///
    /// As [`open_reading`](Self::open_reading).
    pub async fn open_reader(
        store: Arc<dyn ObjectStore>,
        path: Path,
        options: ReaderOptions,
    ) -> Result<RangeReader<Self>> {
        if options.tail_read == 0 {
            let source = Self::open(store, path).await?;
            let size = source.size;
            return Ok(RangeReader::with_size(source, size, options));
        }
        let (source, at, tail) =
            Self::open_reading(store, path, GetRange::Suffix(options.tail_read)).await?;
        let size = source.size;
        let reader = RangeReader::with_size(source, size, options);
        reader.add_region(at.start, tail)?;
        Ok(reader)
    }

    fn with_object_meta(mut self, meta: &ObjectMeta) -> Self {
        self.size = meta.size;
        self.e_tag.clone_from(&meta.e_tag);
        self.version.clone_from(&meta.version);
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

    /// The object's size when it was opened (every read is checked against it).
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The object's ETag when it was opened, if the store reports one: every read is conditional on it.
    #[must_use]
    pub fn e_tag(&self) -> Option<&str> {
        self.e_tag.as_deref()
    }

    /// The object's version when it was opened, if the store keeps versions: every read asks for it.
    #[must_use]
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
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

    /// The version pinned at open, for [`Error::ObjectChanged`].
    fn pinned(&self) -> String {
        describe(self.e_tag.as_deref(), self.version.as_deref(), self.size)
    }

    fn changed(&self, range: &Range<u64>, found: Option<String>) -> Error {
        Error::ObjectChanged {
            name: self.name.clone(),
            start: range.start,
            end: range.end,
            expected: self.pinned(),
            found,
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

    /// One ranged `GET` conditional on the pinned version; the answer's version and size checked again.
    async fn get_pinned(&self, range: Range<u64>) -> Result<Bytes> {
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let options = GetOptions {
            range: Some(GetRange::Bounded(range.clone())),
            if_match: self.e_tag.clone(),
            version: self.version.clone(),
            ..GetOptions::default()
        };
        let result = match self.store.get_opts(&self.path, options).await {
            Ok(result) => result,
            Err(object_store::Error::Precondition { .. }) => {
                return Err(self.changed(&range, None));
            }
            Err(object_store::Error::NotFound { .. }) => {
                return Err(self.changed(&range, Some("no object (deleted)".to_owned())));
            }
            Err(err) => return Err(self.error(err)),
        };
        let meta = &result.meta;
        let tag_differs = matches!((&self.e_tag, &meta.e_tag), (Some(a), Some(b)) if a != b);
        let version_differs =
            matches!((&self.version, &meta.version), (Some(a), Some(b)) if a != b);
        if tag_differs || version_differs || meta.size != self.size {
            return Err(self.changed(
                &range,
                Some(describe(
                    meta.e_tag.as_deref(),
                    meta.version.as_deref(),
                    meta.size,
                )),
            ));
        }
        if result.range != range {
            return Err(Error::ShortFetch {
                name: self.name.clone(),
                start: range.start,
                end: range.end,
                got: result.range.end.saturating_sub(result.range.start),
            });
        }
        result.bytes().await.map_err(|err| self.error(err))
    }

    /// The bytes of each range, in the order asked: one request for a single range, coalesced concurrent
    /// requests for several; each conditional on the version pinned at open.
    async fn fetch_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        for range in ranges {
            self.check(range)?;
        }
        match ranges {
            [] => Ok(Vec::new()),
            [range] => self
                .get_pinned(range.clone())
                .await
                .map(|bytes| vec![bytes]),
            _ => {
                // coalesce_ranges wants object_store errors: carry ours through one and take it back out.
                let get = |range: Range<u64>| async move {
                    self.get_pinned(range)
                        .await
                        .map_err(|err| object_store::Error::Generic {
                            store: "sparse-buffer",
                            source: Box::new(err),
                        })
                };
                object_store::coalesce_ranges(ranges, get, self.coalesce_gap)
                    .await
                    .map_err(|err| match err {
                        object_store::Error::Generic { source, .. } => {
                            match source.downcast::<Error>() {
                                Ok(ours) => *ours,
                                Err(other) => Error::Source {
                                    name: self.name.clone(),
                                    source: other,
                                },
                            }
                        }
                        other => self.error(other),
                    })
            }
        }
    }
}

/// `etag "…", version …, N bytes`, as much as is known.
fn describe(e_tag: Option<&str>, version: Option<&str>, size: u64) -> String {
    let mut out = String::new();
    if let Some(tag) = e_tag {
        out.push_str("etag ");
        out.push_str(tag);
        out.push_str(", ");
    }
    if let Some(version) = version {
        out.push_str("version ");
        out.push_str(version);
        out.push_str(", ");
    }
    out.push_str(&size.to_string());
    out.push_str(" bytes");
    out
}

impl AsyncRangeSource for ObjectStoreSource {
    async fn size(&self) -> Result<u64> {
        Ok(self.size)
    }

    async fn fetch(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.fetch_ranges(ranges).await
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

//! [`RemoteMapBuffer`]: a MapBuffer in object storage (S3, GCS, Azure, HTTP, ...), read through an async
//! [`RangeReader`] (feature `object-store`), and [`BlockingRemoteMapBuffer`], its blocking facade with the local
//! [`MapBuffer`](crate::MapBuffer)'s method names (`len`, `get`, `get_many`, `contains`, `iter`, `verify`).
//!
//! Every read is conditional on the object's version seen at open: a map replaced since is [`Error::Remote`]
//! holding [`sparse_buffer::Error::ObjectChanged`], never a value of the new map found through the old index.
//!
//! Opening reads the header (and the first 64 KiB with it) in one request. With the default
//! [`IndexMode::Whole`], the first lookup fetches the whole index in one request and keeps it, so a cold lookup
//! costs at most 3 requests (header, index, value) and every later one 1 (the value). [`IndexMode::OnDemand`]
//! fetches only the index entries a search visits instead (one request per Eytzinger level past the first
//! 64 KiB: fewer bytes, more round trips). An optional [index cache file](RemoteOptions::index_cache) keeps the
//! index on local disk between runs; unlike Python mapbuffer 1.2.0's, it records the remote object's size and
//! ETag (and a CRC of itself) and is refused and rebuilt when they no longer match.

use std::collections::VecDeque;
use std::io::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::stream::{self, Stream};
use object_store::path::Path as ObjectPath;
use object_store::{GetRange, ObjectStore};
use sparse_buffer::{BlockingRuntime, ObjectStoreSource, RangeReader, ReaderOptions};

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::format::{CRC_LEN, HEADER_LEN, Header, INDEX_ENTRY_LEN, eytzinger_find, read_u64};
use crate::reader::MapBuffer;
use crate::reading::{Core, key_in, offset_in};

/// How a [`RemoteMapBuffer`] reads its index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IndexMode {
    /// Fetch the whole index (16 bytes per key) in one request at the first lookup and keep it in memory: every
    /// lookup after that costs one request.
    #[default]
    Whole,
    /// Fetch only the index entries each search visits, cached in the reader: the first 64 KiB come with the
    /// header, deeper levels cost a request each until cached.
    OnDemand,
}

/// Options of a [`RemoteMapBuffer`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteOptions {
    /// How the index is read (default [`IndexMode::Whole`]).
    pub index: IndexMode,
    /// A local file that keeps the index between runs (implies [`IndexMode::Whole`]); default none.
    pub index_cache: Option<PathBuf>,
    /// Whether version 1 values are CRC-checked (default true).
    pub check_crc: bool,
    /// Options of the [`RangeReader`]; the default has no read-ahead and no minimum request (a value is fetched
    /// exactly: the map knows its byte range), merges values up to 1 MiB apart into one request (object_store's
    /// choice: on a network a megabyte costs less than a round trip) and has no request-size limit (the index
    /// comes in one request).
    pub reader: ReaderOptions,
    /// Entries fetched per plan while iterating ([`RemoteMapBuffer::iter`]); default 1,024.
    pub batch: usize,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            index: IndexMode::Whole,
            index_cache: None,
            check_crc: true,
            reader: ReaderOptions::default()
                .read_ahead(0)
                .min_request(0)
                .tail_read(0)
                .coalesce_gap(1 << 20)
                .max_request(0),
            batch: 1024,
        }
    }
}

impl RemoteOptions {
    /// Sets [`index`](Self::index).
    #[must_use]
    pub fn index(mut self, mode: IndexMode) -> Self {
        self.index = mode;
        self
    }

    /// Sets [`index_cache`](Self::index_cache).
    #[must_use]
    pub fn index_cache(mut self, path: impl Into<PathBuf>) -> Self {
        self.index_cache = Some(path.into());
        self
    }

    /// Sets [`check_crc`](Self::check_crc).
    #[must_use]
    pub fn check_crc(mut self, check: bool) -> Self {
        self.check_crc = check;
        self
    }

    /// Sets [`reader`](Self::reader).
    #[must_use]
    pub fn reader(mut self, options: ReaderOptions) -> Self {
        self.reader = options;
        self
    }

    /// Sets [`batch`](Self::batch) (0 counts as 1).
    #[must_use]
    pub fn batch(mut self, entries: usize) -> Self {
        self.batch = entries.max(1);
        self
    }
}

/// What happened to the [index cache file](RemoteOptions::index_cache) when the map was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IndexCacheUse {
    /// No cache file was asked for.
    None,
    /// The cache matched the object (size, ETag, header, its own CRC): the index came from it.
    Loaded,
    /// There was no cache file: the index was fetched and the file written.
    Created,
    /// The cache did not match (or was damaged): it was refused, the index fetched and the file rewritten.
    Rebuilt,
    /// The store reports no ETag for the object, so no cache could be trusted: the index was fetched and no
    /// file written.
    Unverifiable,
}

/// Bytes read with the header at open: the header and the first 4,095 index entries (the top 12 levels).
const HEAD_READ: u64 = 64 * 1024;

/// A MapBuffer read from object storage, async. Lookups are `&self` and thread-safe;
/// [`blocking`](Self::blocking) makes it a [`BlockingRemoteMapBuffer`].
///
/// ```
/// use std::sync::Arc;
/// use mapbuffer::{MapBufferBuilder, RemoteMapBuffer, RemoteOptions};
/// use object_store::{ObjectStoreExt, memory::InMemory, path::Path};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bytes = MapBufferBuilder::new().to_vec((0..1000u64).map(|k| (k * 3, k.to_le_bytes())))?;
/// let store = Arc::new(InMemory::new());
/// store.put(&Path::from("maps/m.mb"), bytes.into()).await?;
///
/// let map = RemoteMapBuffer::open(store, Path::from("maps/m.mb"), RemoteOptions::default()).await?;
/// assert_eq!(map.get(30).await?.as_deref(), Some(&10u64.to_le_bytes()[..]));
/// assert_eq!(map.get(31).await?, None);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RemoteMapBuffer {
    reader: RangeReader<ObjectStoreSource>,
    /// The header, the object's size and the CRC option; every check of the format (shared with [`MapBuffer`]).
    core: Core,
    mode: IndexMode,
    index: Mutex<Option<Bytes>>,
    cache_use: IndexCacheUse,
    batch: usize,
}

fn remote(source: sparse_buffer::Error) -> Error {
    Error::Remote(source)
}

impl RemoteMapBuffer {
    /// Opens the MapBuffer at `path` in `store`: one request for the header (none more for the index when a
    /// matching [index cache](RemoteOptions::index_cache) exists, one when it is built; the cache file is read
    /// and written with blocking file I/O).
    ///
    /// # Errors
    /// [`Error::Remote`] when a request fails; the header errors of [`Header::parse`]; [`Error::Truncated`]
    /// when the object cannot hold its index; [`Error::IndexCache`] when the cache file cannot be written.
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        options: RemoteOptions,
    ) -> Result<Self> {
        let (source, at, head) =
            ObjectStoreSource::open_reading(store, path, GetRange::Bounded(0..HEAD_READ))
                .await
                .map_err(remote)?;
        let size = source.size();
        let mut core = Core::open(&head, size)?;
        core.check_crc = options.check_crc;
        let e_tag = source.e_tag().map(str::to_owned);
        let reader = RangeReader::with_size(source, size, options.reader);
        reader.add_region(at.start, head).map_err(remote)?;
        let mut map = Self {
            reader,
            core,
            mode: if options.index_cache.is_some() {
                IndexMode::Whole
            } else {
                options.index
            },
            index: Mutex::new(None),
            cache_use: IndexCacheUse::None,
            batch: options.batch.max(1),
        };
        if let Some(cache) = &options.index_cache {
            map.cache_use = map.use_index_cache(cache, e_tag.as_deref()).await?;
        }
        Ok(map)
    }

    /// The blocking facade over this map, running on `runtime`.
    #[must_use]
    pub fn blocking(self, runtime: BlockingRuntime) -> BlockingRemoteMapBuffer {
        BlockingRemoteMapBuffer {
            map: Arc::new(self),
            runtime,
        }
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// Whether the map has no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.core.len() == 0
    }

    /// The header.
    #[must_use]
    pub fn header(&self) -> Header {
        self.core.header
    }

    /// The size of the remote object.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.core.size
    }

    /// What happened to the index cache file at open.
    #[must_use]
    pub fn index_cache_use(&self) -> IndexCacheUse {
        self.cache_use
    }

    /// The reader (for its [`stats`](RangeReader::stats) and source).
    #[must_use]
    pub fn reader(&self) -> &RangeReader<ObjectStoreSource> {
        &self.reader
    }

    /// The whole index, fetched (one request) unless already held; checked like a local map's at open.
    async fn whole_index(&self) -> Result<Bytes> {
        if let Some(index) = &*self.index.lock().unwrap_or_else(PoisonError::into_inner) {
            return Ok(index.clone());
        }
        // Two first lookups at once fetch it once: the reader never fetches bytes already in flight.
        let index = self
            .reader
            .read_range(self.core.index_range())
            .await
            .map_err(remote)?;
        self.core.check_index(&index)?;
        *self.index.lock().unwrap_or_else(PoisonError::into_inner) = Some(index.clone());
        Ok(index)
    }

    /// Fetches the whole index now (one request), so that every lookup after it costs one request.
    ///
    /// # Errors
    /// [`Error::Remote`], [`Error::CorruptOffset`].
    pub async fn fetch_index(&self) -> Result<()> {
        self.whole_index().await.map(drop)
    }

    fn entry_range(slot: usize) -> Range<u64> {
        let at = HEADER_LEN as u64 + slot as u64 * INDEX_ENTRY_LEN as u64;
        at..at + INDEX_ENTRY_LEN as u64
    }

    fn decode_entry(entry: &[u8]) -> (u64, u64) {
        (key_in(entry, 0), offset_in(entry, 0))
    }

    /// Reads the `(key, offset)` entry of `slot < len()` in on-demand mode, fetching it unless cached.
    async fn entry_on_demand(&self, slot: usize) -> Result<(u64, u64)> {
        let entry = self
            .reader
            .read_range(Self::entry_range(slot))
            .await
            .map_err(remote)?;
        Ok(Self::decode_entry(&entry))
    }

    /// The slot of `key` in on-demand mode: the synchronous search of [`eytzinger_find`] over the cached entries,
    /// fetching the entry it stops at and searching again (a fetch per uncached level, as a search that awaited
    /// each level would cost; the repeated walks over cached levels cost nanoseconds).
    async fn find_on_demand(&self, key: u64) -> Result<Option<usize>> {
        loop {
            let search = eytzinger_find(self.len(), key, |slot| {
                self.reader
                    .read_cached(Self::entry_range(slot))
                    .map(|entry| Self::decode_entry(&entry).0)
                    .ok_or(slot)
            });
            match search {
                Ok(found) => return Ok(found),
                Err(missing) => {
                    self.entry_on_demand(missing).await?;
                }
            }
        }
    }

    /// The slot of `key` and the checked byte range of its stored value.
    async fn locate(&self, key: u64) -> Result<Option<(usize, Range<u64>)>> {
        let n = self.len();
        if n == 0 {
            return Ok(None);
        }
        match self.mode {
            IndexMode::Whole => {
                let index = self.whole_index().await?;
                let Some(slot) = self.core.find(&index, key) else {
                    return Ok(None);
                };
                Ok(Some((slot, self.core.stored_range_in(&index, slot)?)))
            }
            IndexMode::OnDemand => {
                let Some(slot) = self.find_on_demand(key).await? else {
                    return Ok(None);
                };
                let entry = self.entry_on_demand(slot).await?;
                let next = if slot + 1 < n {
                    Some(self.entry_on_demand(slot + 1).await?)
                } else {
                    None
                };
                Ok(Some((slot, self.core.stored_range(slot, entry, next)?)))
            }
        }
    }

    /// Splits off and checks the CRC (version 1), then decompresses: the local map's steps, on fetched bytes.
    fn decode(&self, key: u64, slot: usize, offset: u64, stored: &Bytes) -> Result<Bytes> {
        let entry = self.core.split(key, slot, offset, stored)?;
        Ok(match self.core.decode(&entry)? {
            Cow::Borrowed(payload) => stored.slice_ref(payload),
            Cow::Owned(value) => Bytes::from(value),
        })
    }

    /// The value of `key` (decompressed, CRC-checked), or `None` when absent. With the index held, one request
    /// (none when the value is cached).
    ///
    /// # Errors
    /// [`Error::Remote`] when a request fails; [`Error::CorruptOffset`], [`Error::MissingCrc`],
    /// [`Error::CrcMismatch`] or [`Error::Decompress`] for a corrupt value.
    pub async fn get(&self, key: u64) -> Result<Option<Bytes>> {
        let Some((slot, range)) = self.locate(key).await? else {
            return Ok(None);
        };
        let stored = self
            .reader
            .read_range(range.clone())
            .await
            .map_err(remote)?;
        self.decode(key, slot, range.start, &stored).map(Some)
    }

    /// The values of `keys`, in order (`None` for absent keys): every value range is fetched in one plan
    /// (cached ranges skipped, close ones coalesced).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn get_many(&self, keys: &[u64]) -> Result<Vec<Option<Bytes>>> {
        let mut found = Vec::with_capacity(keys.len());
        for &key in keys {
            found.push(
                self.locate(key)
                    .await?
                    .map(|(slot, range)| (key, slot, range)),
            );
        }
        let ranges: Vec<Range<u64>> = found
            .iter()
            .flatten()
            .map(|(_, _, range)| range.clone())
            .collect();
        self.reader.prefetch(&ranges).await.map_err(remote)?;
        let mut values = Vec::with_capacity(found.len());
        for hit in found {
            values.push(match hit {
                Some((key, slot, range)) => {
                    let stored = self
                        .reader
                        .read_range(range.clone())
                        .await
                        .map_err(remote)?;
                    Some(self.decode(key, slot, range.start, &stored)?)
                }
                None => None,
            });
        }
        Ok(values)
    }

    /// Whether `key` is in the map (an index search; no value is read).
    ///
    /// # Errors
    /// [`Error::Remote`] when a request fails.
    pub async fn contains(&self, key: u64) -> Result<bool> {
        Ok(self.locate(key).await?.is_some())
    }

    /// Entries `(key, value)` in ascending key order, as the local [`MapBuffer::iter`]: a stream that fetches the
    /// whole index, then the values [`batch`](RemoteOptions::batch) entries at a time (each batch one plan). A
    /// corrupt value is an error item and the stream goes on; a failed request ends it.
    pub fn iter(&self) -> impl Stream<Item = Result<(u64, Bytes)>> + Send + '_ {
        let state = (KeyOrder::new(self.len()), VecDeque::new(), false);
        stream::unfold(state, move |(mut order, mut ready, mut done)| async move {
            if ready.is_empty() && !done {
                let slots: Vec<usize> = order.by_ref().take(self.batch).collect();
                if !slots.is_empty() {
                    match self.entries(&slots).await {
                        Ok(entries) => ready.extend(entries),
                        Err(err) => {
                            done = true;
                            ready.push_back(Err(err));
                        }
                    }
                }
            }
            let item = ready.pop_front()?;
            Some((item, (order, ready, done)))
        })
    }

    /// The entries of `slots`: their value ranges fetched in one plan, then each value checked and decoded.
    async fn entries(&self, slots: &[usize]) -> Result<Vec<Result<(u64, Bytes)>>> {
        let index = self.whole_index().await?;
        let located: Vec<_> = slots
            .iter()
            .map(|&slot| {
                let key = key_in(&index, slot);
                (key, slot, self.core.stored_range_in(&index, slot))
            })
            .collect();
        let ranges: Vec<Range<u64>> = located
            .iter()
            .filter_map(|(_, _, range)| range.as_ref().ok().cloned())
            .collect();
        self.reader.prefetch(&ranges).await.map_err(remote)?;
        let mut out = Vec::with_capacity(located.len());
        for (key, slot, range) in located {
            out.push(match range {
                Ok(range) => {
                    let stored = self
                        .reader
                        .read_range(range.clone())
                        .await
                        .map_err(remote)?;
                    self.decode(key, slot, range.start, &stored)
                        .map(|value| (key, value))
                }
                Err(err) => Err(err),
            });
        }
        Ok(out)
    }

    /// Checks the whole map as the local [`MapBuffer::verify`] does (header, index order, every offset, every
    /// value's CRC and codec): fetches the whole object (in requests of at most the reader's `max_request`).
    ///
    /// # Errors
    /// The first problem found, as [`MapBuffer::verify`]; [`Error::Remote`] when a request fails.
    pub async fn verify(&self) -> Result<()> {
        let whole = self
            .reader
            .read_range(0..self.core.size)
            .await
            .map_err(remote)?;
        MapBuffer::from_bytes(whole)?.verify()
    }

    /// Loads the index from `cache` when it matches the object, else fetches it and (re)writes the file.
    async fn use_index_cache(&self, cache: &Path, e_tag: Option<&str>) -> Result<IndexCacheUse> {
        let Some(e_tag) = e_tag else {
            self.fetch_index().await?;
            return Ok(IndexCacheUse::Unverifiable);
        };
        let existing = match std::fs::read(cache) {
            Ok(bytes) => Some(bytes),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(Error::IndexCache {
                    file: cache.to_path_buf(),
                    source,
                });
            }
        };
        if let Some(bytes) = &existing
            && let Some(index) = self.parse_cache(bytes, e_tag)
        {
            self.core.check_index(&index)?;
            *self.index.lock().unwrap_or_else(PoisonError::into_inner) = Some(index);
            return Ok(IndexCacheUse::Loaded);
        }
        let index = self.whole_index().await?;
        write_cache(cache, &self.cache_bytes(e_tag, &index)).map_err(|source| {
            Error::IndexCache {
                file: cache.to_path_buf(),
                source,
            }
        })?;
        Ok(if existing.is_some() {
            IndexCacheUse::Rebuilt
        } else {
            IndexCacheUse::Created
        })
    }

    /// The cache file: magic, object size, ETag, header, index, then a CRC-32C of all that.
    fn cache_bytes(&self, e_tag: &str, index: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + e_tag.len() + index.len());
        out.extend_from_slice(CACHE_MAGIC);
        out.extend_from_slice(&self.core.size.to_le_bytes());
        out.extend_from_slice(&(e_tag.len() as u64).to_le_bytes());
        out.extend_from_slice(e_tag.as_bytes());
        out.extend_from_slice(&self.core.header.to_bytes());
        out.extend_from_slice(index);
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// The index held in a cache file, when the file is intact and belongs to this object as it is now.
    fn parse_cache(&self, bytes: &[u8], e_tag: &str) -> Option<Bytes> {
        let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(CRC_LEN)?)?;
        if crc32c::crc32c(body) != read_u32(crc) {
            return None;
        }
        let rest = body.strip_prefix(CACHE_MAGIC.as_slice())?;
        let size = read_u64(rest, 0)?;
        let tag_len = usize::try_from(read_u64(rest, 8)?).ok()?;
        let rest = rest.get(16..)?;
        let (tag, rest) = rest.split_at_checked(tag_len)?;
        let (header, index) = rest.split_at_checked(HEADER_LEN)?;
        let matches = size == self.core.size
            && tag == e_tag.as_bytes()
            && header == self.core.header.to_bytes()
            && index.len() as u64 == self.core.index_range().end - self.core.index_range().start;
        matches.then(|| Bytes::copy_from_slice(index))
    }
}

/// The blocking facade of a [`RemoteMapBuffer`]: the method names and arguments of the local
/// [`MapBuffer`](crate::MapBuffer), each running the async method on an explicit [`BlockingRuntime`] (values
/// are owned [`Bytes`]). Cheap to clone: clones share the map and its caches.
///
/// ```no_run
/// use std::sync::Arc;
/// use mapbuffer::{BlockingRemoteMapBuffer, RemoteOptions};
/// use object_store::{aws::AmazonS3Builder, path::Path};
/// use sparse_buffer::BlockingRuntime;
///
/// let store = Arc::new(AmazonS3Builder::from_env().with_bucket_name("maps").build()?);
/// let runtime = BlockingRuntime::current_thread()?; // or BlockingRuntime::handle(your_runtime_handle)
/// let map = BlockingRemoteMapBuffer::open(runtime, store, Path::from("m.mb"), RemoteOptions::default())?;
/// println!("{:?}", map.get(42)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BlockingRemoteMapBuffer {
    map: Arc<RemoteMapBuffer>,
    runtime: BlockingRuntime,
}

impl BlockingRemoteMapBuffer {
    /// [`RemoteMapBuffer::open`] on `runtime`, which the map keeps for its blocking methods.
    ///
    /// # Errors
    /// As [`RemoteMapBuffer::open`]; [`Error::Remote`] holding [`sparse_buffer::Error::BlockingInRuntime`] on a
    /// thread that runs async tasks.
    pub fn open(
        runtime: BlockingRuntime,
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        options: RemoteOptions,
    ) -> Result<Self> {
        let map = block(&runtime, RemoteMapBuffer::open(store, path, options))?;
        Ok(map.blocking(runtime))
    }

    /// The async map.
    #[must_use]
    pub fn map(&self) -> &Arc<RemoteMapBuffer> {
        &self.map
    }

    /// The runtime the blocking methods run on.
    #[must_use]
    pub fn runtime(&self) -> &BlockingRuntime {
        &self.runtime
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the map has no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The header.
    #[must_use]
    pub fn header(&self) -> Header {
        self.map.header()
    }

    /// The size of the remote object.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.map.size()
    }

    /// What happened to the index cache file at open.
    #[must_use]
    pub fn index_cache_use(&self) -> IndexCacheUse {
        self.map.index_cache_use()
    }

    /// The reader (for its [`stats`](RangeReader::stats) and source).
    #[must_use]
    pub fn reader(&self) -> &RangeReader<ObjectStoreSource> {
        self.map.reader()
    }

    /// [`RemoteMapBuffer::get`], blocking.
    ///
    /// # Errors
    /// As [`RemoteMapBuffer::get`].
    pub fn get(&self, key: u64) -> Result<Option<Bytes>> {
        block(&self.runtime, self.map.get(key))
    }

    /// [`RemoteMapBuffer::get_many`], blocking.
    ///
    /// # Errors
    /// As [`RemoteMapBuffer::get_many`].
    pub fn get_many(&self, keys: &[u64]) -> Result<Vec<Option<Bytes>>> {
        block(&self.runtime, self.map.get_many(keys))
    }

    /// [`RemoteMapBuffer::contains`], blocking.
    ///
    /// # Errors
    /// As [`RemoteMapBuffer::contains`].
    pub fn contains(&self, key: u64) -> Result<bool> {
        block(&self.runtime, self.map.contains(key))
    }

    /// [`RemoteMapBuffer::fetch_index`], blocking.
    ///
    /// # Errors
    /// As [`RemoteMapBuffer::fetch_index`].
    pub fn fetch_index(&self) -> Result<()> {
        block(&self.runtime, self.map.fetch_index())
    }

    /// Entries `(key, value)` in ascending key order, as the local [`MapBuffer::iter`](crate::MapBuffer::iter),
    /// fetched [`batch`](RemoteOptions::batch) entries at a time.
    #[must_use]
    pub fn iter(&self) -> RemoteIter<'_> {
        RemoteIter {
            map: self,
            order: KeyOrder::new(self.len()),
            ready: VecDeque::new(),
            done: false,
        }
    }

    /// [`RemoteMapBuffer::verify`], blocking.
    ///
    /// # Errors
    /// As [`RemoteMapBuffer::verify`].
    pub fn verify(&self) -> Result<()> {
        block(&self.runtime, self.map.verify())
    }
}

/// Runs `future` on `runtime`.
fn block<T>(runtime: &BlockingRuntime, future: impl Future<Output = Result<T>>) -> Result<T> {
    runtime.block_on(future).map_err(remote)?
}

/// The slots of an `n`-slot Eytzinger index in ascending key order: an in-order walk of the implicit tree
/// (children of slot `i` at `2i + 1` and `2i + 2`), in O(log n) memory.
#[derive(Debug)]
struct KeyOrder {
    n: usize,
    stack: Vec<usize>,
    next: Option<usize>,
}

impl KeyOrder {
    fn new(n: usize) -> Self {
        Self {
            n,
            stack: Vec::new(),
            next: Some(0),
        }
    }
}

impl Iterator for KeyOrder {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while let Some(node) = self.next.filter(|&node| node < self.n) {
            self.stack.push(node);
            self.next = node.checked_mul(2).and_then(|n| n.checked_add(1));
        }
        let node = self.stack.pop()?;
        self.next = node.checked_mul(2).and_then(|n| n.checked_add(2));
        Some(node)
    }
}

/// The entries of a [`BlockingRemoteMapBuffer`] in ascending key order, fetched a batch at a time.
#[derive(Debug)]
pub struct RemoteIter<'a> {
    map: &'a BlockingRemoteMapBuffer,
    order: KeyOrder,
    ready: VecDeque<Result<(u64, Bytes)>>,
    done: bool,
}

impl Iterator for RemoteIter<'_> {
    type Item = Result<(u64, Bytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.ready.is_empty() && !self.done {
            let slots: Vec<usize> = self.order.by_ref().take(self.map.map.batch).collect();
            if !slots.is_empty() {
                match block(&self.map.runtime, self.map.map.entries(&slots)) {
                    Ok(entries) => self.ready.extend(entries),
                    Err(err) => {
                        self.done = true;
                        self.ready.push_back(Err(err));
                    }
                }
            }
        }
        self.ready.pop_front()
    }
}

const CACHE_MAGIC: &[u8; 8] = b"mbidxc01";

fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`: a reader never sees half a
/// cache.
fn write_cache(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let temp = path.with_file_name(name);
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, path)
}

//! [`RemoteDataset`]: a dataset whose shards live in object storage (S3, GCS, Azure, HTTP, ...), read through an
//! async [`RangeReader`] per shard (feature `object-store`), and [`BlockingRemoteDataset`], its blocking facade
//! with the reading API of the local [`Dataset`](crate::Dataset) (`len`, `get`, `get_signed`, `get_many`, `iter`,
//! `range`, `verify`).
//!
//! A remote dataset is its own type, opened by its own constructor ([`RemoteDataset::open`], or
//! [`BlockingRemoteDataset::open`] with an explicit runtime): its records are owned [`Bytes`] fetched on demand,
//! where a local dataset lends `&[u8]` from a memory map, and its methods are async.
//!
//! Opening costs one suffix request per shard (footer, size and the end of the index come together; the shards
//! are opened concurrently), plus one listing for a prefix. After that, index entries are fetched when needed
//! and cached sparsely in the shard's reader, and [`get_many`](RemoteDataset::get_many) plans every index entry
//! it needs, then every record, into coalesced requests, all shards at once. Every read is conditional on the
//! shard's version seen at open: a shard replaced since is [`Error::Remote`] holding
//! [`sparse_buffer::Error::ObjectChanged`].

use std::collections::VecDeque;
use std::ops::{Range, RangeBounds};
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt as _, TryStreamExt as _};
use object_store::path::Path as ObjectPath;
use object_store::{GetRange, ObjectStore};
use sparse_buffer::{BlockingRuntime, ObjectStoreSource, RangeReader, ReaderOptions, Stats};

use crate::error::{Error, Result};
use crate::format::{Footer, INDEX_ENTRY_LEN, MAX_FOOTER_LEN, decode_index};
use crate::naming;
use crate::shard::out_of_range;

/// Which objects form a remote dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteSpec {
    /// These objects, in this order.
    Paths(Vec<ObjectPath>),
    /// Every `*.rox` object directly under this prefix (not hidden, not in sub-directories), in shard-number
    /// order, as a local directory is opened.
    Prefix(ObjectPath),
}

impl From<ObjectPath> for RemoteSpec {
    fn from(path: ObjectPath) -> Self {
        Self::Paths(vec![path])
    }
}

impl From<Vec<ObjectPath>> for RemoteSpec {
    fn from(paths: Vec<ObjectPath>) -> Self {
        Self::Paths(paths)
    }
}

/// Options of a [`RemoteDataset`].
///
/// The default reader coalesces gaps up to 1 MiB (object_store's choice: on a network, a megabyte costs less
/// than a round trip) and sends requests of up to 8 MiB, 8 at once; the suffix read at open is
/// [`tail_read`](ReaderOptions::tail_read) bytes (64 KiB: the footer and the last 8,000 index entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteOptions {
    /// Options of each shard's [`RangeReader`].
    pub reader: ReaderOptions,
    /// Records fetched per [`get_many`](RemoteDataset::get_many) while iterating ([`RemoteDataset::iter`],
    /// [`RemoteDataset::range`]); default 1,024.
    pub batch: usize,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            reader: ReaderOptions::default()
                .coalesce_gap(1 << 20)
                .tail_read(64 << 10),
            batch: 1024,
        }
    }
}

impl RemoteOptions {
    /// Sets [`reader`](Self::reader).
    #[must_use]
    pub fn reader(mut self, options: ReaderOptions) -> Self {
        self.reader = options;
        self
    }

    /// Sets [`batch`](Self::batch) (0 counts as 1).
    #[must_use]
    pub fn batch(mut self, records: usize) -> Self {
        self.batch = records.max(1);
        self
    }
}

/// One shard of a [`RemoteDataset`]: its footer and a reader over its object.
#[derive(Debug)]
pub struct RemoteShard {
    reader: RangeReader<ObjectStoreSource>,
    footer: Footer,
    name: PathBuf,
}

impl RemoteShard {
    /// Opens the shard at `path` with one suffix request; checks the footer against the object's size (which
    /// comes from the same answer).
    ///
    /// # Errors
    /// [`Error::Remote`] when the request fails; the corruption variants of [`Footer::parse`].
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        options: &RemoteOptions,
    ) -> Result<Self> {
        let name = PathBuf::from(path.as_ref());
        let tail_len = options.reader.tail_read.max(MAX_FOOTER_LEN as u64);
        let (source, at, tail) =
            ObjectStoreSource::open_reading(store, path, GetRange::Suffix(tail_len))
                .await
                .map_err(|source| Error::remote(&name, source))?;
        let size = at.end;
        let footer = Footer::parse(&tail, size, &name)?;
        let reader = RangeReader::with_size(source, size, options.reader);
        reader
            .add_region(at.start, tail)
            .map_err(|source| Error::remote(&name, source))?;
        Ok(Self {
            reader,
            footer,
            name,
        })
    }

    /// Number of records.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.footer.records
    }

    /// Whether the shard holds no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.footer.records == 0
    }

    /// The footer.
    #[must_use]
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// The object's path, as named in errors.
    #[must_use]
    pub fn path(&self) -> &std::path::Path {
        &self.name
    }

    /// The reader (for its [`stats`](RangeReader::stats), cache and source).
    #[must_use]
    pub fn reader(&self) -> &RangeReader<ObjectStoreSource> {
        &self.reader
    }

    /// The bytes of the index entries record `local` needs: the end of the previous record (unless it is the
    /// first) and its own.
    fn entries_range(&self, local: u64) -> Range<u64> {
        let index = self.footer.index_offset();
        let end = index + (local + 1) * INDEX_ENTRY_LEN as u64;
        if local == 0 {
            index..end
        } else {
            end - 2 * INDEX_ENTRY_LEN as u64..end
        }
    }

    fn bad_entry(&self, local: u64, start: i64, end: i64) -> Error {
        let raw = self.footer.raw_data_size;
        Error::BadIndexEntry {
            file: self.name.clone(),
            record: local,
            offset: raw + local * INDEX_ENTRY_LEN as u64,
            start,
            end,
            raw_data_size: raw,
        }
    }

    /// The byte range of record `local` (`< len()`), from its index entries (fetched unless cached).
    async fn record_range(&self, local: u64) -> Result<Range<u64>> {
        let entries = self.read(self.entries_range(local)).await?;
        let ends = decode_index(&entries);
        let end = ends.last().copied().unwrap_or(0);
        let start = if local == 0 {
            0
        } else {
            ends.first().copied().unwrap_or(0)
        };
        match (u64::try_from(start), u64::try_from(end)) {
            (Ok(s), Ok(e)) if s <= e && e <= self.footer.raw_data_size => Ok(s..e),
            _ => Err(self.bad_entry(local, start, end)),
        }
    }

    /// Record `local`, fetched unless cached (zero-copy from the cached chunk).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`], [`Error::BadIndexEntry`], [`Error::Remote`].
    pub async fn get(&self, local: u64) -> Result<Bytes> {
        if local >= self.len() {
            return Err(out_of_range(i128::from(local), self.len()));
        }
        let range = self.record_range(local).await?;
        self.read(range).await
    }

    async fn read(&self, range: Range<u64>) -> Result<Bytes> {
        self.reader
            .read_range(range)
            .await
            .map_err(|source| Error::remote(&self.name, source))
    }

    async fn prefetch(&self, ranges: &[Range<u64>]) -> Result<()> {
        self.reader
            .prefetch(ranges)
            .await
            .map_err(|source| Error::remote(&self.name, source))
    }

    fn whole_index(&self) -> Range<u64> {
        let index = self.footer.index_offset();
        index..index + self.len() * INDEX_ENTRY_LEN as u64
    }

    /// Fetches the whole index (in as few requests as the reader's `max_request` allows), so that every
    /// [`get`](Self::get) after it costs one request at most.
    ///
    /// # Errors
    /// [`Error::Remote`].
    pub async fn fetch_index(&self) -> Result<()> {
        self.prefetch(std::slice::from_ref(&self.whole_index()))
            .await
    }

    /// Checks the whole index, as [`Shard::verify`](crate::Shard::verify) does: every end non-negative, not
    /// before the previous one, and the last equal to the payload size. Fetches the index (not the records).
    ///
    /// # Errors
    /// [`Error::BadIndexEntry`] for the first bad entry, [`Error::IndexEndMismatch`] for a last end short of the
    /// payload, [`Error::Remote`].
    pub async fn verify(&self) -> Result<()> {
        let index = self.read(self.whole_index()).await?;
        let raw = self.footer.raw_data_size;
        let mut prev = 0i64;
        for (i, end) in decode_index(&index).into_iter().enumerate() {
            if end < prev || u64::try_from(end).map_or(true, |end| end > raw) {
                return Err(self.bad_entry(i as u64, prev, end));
            }
            prev = end;
        }
        if u64::try_from(prev).ok() != Some(raw) {
            let offset = match self.len() {
                0 => raw,
                n => raw + (n - 1) * INDEX_ENTRY_LEN as u64,
            };
            return Err(Error::IndexEndMismatch {
                file: self.name.clone(),
                offset,
                last_end: u64::try_from(prev).unwrap_or(0),
                raw_data_size: raw,
            });
        }
        Ok(())
    }
}

/// A Roxxel dataset in object storage: the reading API of
/// [`Dataset`](crate::Dataset), async, with owned [`Bytes`] records. [`blocking`](Self::blocking) makes it a
/// [`BlockingRemoteDataset`].
///
/// Not supported remotely: append journals (a remote dataset is read as it is: shards being written must not
/// be listed), typed views and the raw payload (fetch ranges through [`RemoteShard::reader`]).
///
/// ```
/// use std::sync::Arc;
/// use futures_util::TryStreamExt;
/// use object_store::{ObjectStoreExt, memory::InMemory, path::Path};
/// use roxxel_format::{RemoteDataset, RemoteOptions, RemoteSpec, WriterOptions};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Write a dataset locally and upload its shard.
/// let dir = tempfile::tempdir()?;
/// let local = dir.path().join("data.rox");
/// let mut writer = WriterOptions::new().open(&local)?;
/// for i in 0..1000u32 {
///     writer.push(format!("record {i}").as_bytes())?;
/// }
/// writer.finish()?;
/// let store = Arc::new(InMemory::new());
/// store.put(&Path::from("ds/data.rox"), std::fs::read(&local)?.into()).await?;
///
/// let spec = RemoteSpec::Prefix(Path::from("ds"));
/// let dataset = RemoteDataset::open(store, spec, &RemoteOptions::default()).await?;
/// assert_eq!(dataset.len(), 1000);
/// assert_eq!(&dataset.get(7).await?[..], b"record 7");
/// let batch = dataset.get_many(&[999, 3, 500]).await?;
/// assert_eq!(&batch[0][..], b"record 999");
/// let tail: Vec<_> = dataset.range(998..)?.try_collect().await?;
/// assert_eq!(tail.len(), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct RemoteDataset {
    shards: Vec<RemoteShard>,
    starts: Vec<u64>,
    len: u64,
    batch: u64,
    /// At most this many shards are opened, planned or verified at once (the reader's `concurrency`).
    concurrency: usize,
}

impl RemoteDataset {
    /// Opens the shards `spec` names in `store` with `options`: one suffix request per shard, up to the reader's
    /// [`concurrency`](ReaderOptions::concurrency) at once (and one listing for a prefix).
    ///
    /// # Errors
    /// [`Error::NoShards`] for a prefix without shards, [`Error::Remote`] when a request fails, the corruption
    /// variants of [`Footer::parse`] for a shard that is not one.
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        spec: impl Into<RemoteSpec>,
        options: &RemoteOptions,
    ) -> Result<Self> {
        let paths = match spec.into() {
            RemoteSpec::Paths(paths) => paths,
            RemoteSpec::Prefix(prefix) => list_shards(&store, &prefix).await?,
        };
        let opens: Vec<_> = paths
            .into_iter()
            .map(|path| RemoteShard::open(Arc::clone(&store), path, options))
            .collect();
        let shards = stream::iter(opens)
            .buffered(options.reader.concurrency.max(1))
            .try_collect()
            .await?;
        Ok(Self::from_shards(shards)
            .with_batch(options.batch)
            .with_concurrency(options.reader.concurrency))
    }

    /// A dataset of these shards, in this order.
    #[must_use]
    pub fn from_shards(shards: Vec<RemoteShard>) -> Self {
        let mut starts = Vec::with_capacity(shards.len());
        let mut len = 0u64;
        for shard in &shards {
            starts.push(len);
            len = len.saturating_add(shard.len());
        }
        Self {
            shards,
            starts,
            len,
            batch: RemoteOptions::default().batch as u64,
            concurrency: RemoteOptions::default().reader.concurrency,
        }
    }

    fn with_batch(mut self, batch: usize) -> Self {
        self.batch = u64::try_from(batch.max(1)).unwrap_or(u64::MAX);
        self
    }

    fn with_concurrency(mut self, shards: usize) -> Self {
        self.concurrency = shards.max(1);
        self
    }

    /// Awaits the work of several shards, at most `concurrency` at once on this task; the first error. (The
    /// futures are made before the first await: a stream of closures over borrowed shards would not be `Send`.)
    async fn each_shard(&self, work: Vec<impl Future<Output = Result<()>>>) -> Result<()> {
        stream::iter(work)
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<()>>()
            .await
            .map(drop)
    }

    /// The blocking facade over this dataset, running on `runtime`.
    #[must_use]
    pub fn blocking(self, runtime: BlockingRuntime) -> BlockingRemoteDataset {
        BlockingRemoteDataset {
            dataset: Arc::new(self),
            runtime,
        }
    }

    /// Total number of records.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the dataset holds no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The shards, in dataset order.
    #[must_use]
    pub fn shards(&self) -> &[RemoteShard] {
        &self.shards
    }

    /// Which shard holds record `index`, and its index within that shard.
    #[must_use]
    pub fn locate(&self, index: u64) -> Option<(usize, u64)> {
        crate::dataset::locate(&self.starts, self.len, index)
    }

    /// Turns a Python-style index (negative counts from the end) into a position.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when it falls outside the dataset.
    pub fn resolve_index(&self, index: i64) -> Result<u64> {
        crate::dataset::resolve_index(self.len, index)
    }

    /// Record `index`: its index entries (unless cached), then the record; at most two requests.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`], [`Error::BadIndexEntry`], [`Error::Remote`].
    pub async fn get(&self, index: u64) -> Result<Bytes> {
        match self.locate(index) {
            Some((shard, local)) => self.shards[shard].get(local).await,
            None => Err(out_of_range(i128::from(index), self.len)),
        }
    }

    /// Record `index` with Python's negative indexing.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn get_signed(&self, index: i64) -> Result<Bytes> {
        self.get(self.resolve_index(index)?).await
    }

    /// Many records at once, in the order asked: every index entry they need is fetched in one plan per shard
    /// (skipping what is cached, coalescing the rest), then every record likewise; the plans of up to the
    /// reader's `concurrency` shards run at the same time.
    ///
    /// # Errors
    /// The first index out of range (before any request), then as [`get`](Self::get).
    pub async fn get_many(&self, indices: &[u64]) -> Result<Vec<Bytes>> {
        let located = indices
            .iter()
            .map(|&index| {
                self.locate(index)
                    .ok_or_else(|| out_of_range(i128::from(index), self.len))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut wanted: Vec<Vec<Range<u64>>> = vec![Vec::new(); self.shards.len()];
        for &(shard, local) in &located {
            wanted[shard].push(self.shards[shard].entries_range(local));
        }
        self.prefetch_all(&wanted).await?;
        let mut records = Vec::with_capacity(located.len());
        for &(shard, local) in &located {
            records.push(self.shards[shard].record_range(local).await?);
        }
        for ranges in &mut wanted {
            ranges.clear();
        }
        for (&(shard, _), range) in located.iter().zip(&records) {
            wanted[shard].push(range.clone());
        }
        self.prefetch_all(&wanted).await?;
        let mut out = Vec::with_capacity(located.len());
        for (&(shard, _), range) in located.iter().zip(records) {
            out.push(self.shards[shard].read(range).await?);
        }
        Ok(out)
    }

    /// One plan per shard, up to `concurrency` shards' plans at once on this task.
    async fn prefetch_all(&self, wanted: &[Vec<Range<u64>>]) -> Result<()> {
        let work: Vec<_> = self
            .shards
            .iter()
            .zip(wanted)
            .filter(|(_, ranges)| !ranges.is_empty())
            .map(|(shard, ranges)| shard.prefetch(ranges))
            .collect();
        self.each_shard(work).await
    }

    /// The records in `range`, in order, as a stream fetched [`batch`](RemoteOptions::batch) records at a time
    /// (each batch one [`get_many`](Self::get_many)).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when `range` does not lie within `0..len()`; each item as
    /// [`get_many`](Self::get_many).
    pub fn range(
        &self,
        range: impl RangeBounds<u64>,
    ) -> Result<impl Stream<Item = Result<Bytes>> + Send + '_> {
        let range = self.bounds(range)?;
        Ok(self.stream(range))
    }

    /// All records in order, as a stream fetched [`batch`](RemoteOptions::batch) records at a time.
    pub fn iter(&self) -> impl Stream<Item = Result<Bytes>> + Send + '_ {
        self.stream(0..self.len)
    }

    fn stream(&self, range: Range<u64>) -> impl Stream<Item = Result<Bytes>> + Send + '_ {
        let batch = self.batch;
        let state = (range.start, range.end, VecDeque::<Bytes>::new());
        stream::try_unfold(state, move |(next, end, mut ready)| async move {
            if let Some(record) = ready.pop_front() {
                return Ok(Some((record, (next, end, ready))));
            }
            if next >= end {
                return Ok(None);
            }
            let until = end.min(next.saturating_add(batch));
            let indices: Vec<u64> = (next..until).collect();
            ready.extend(self.get_many(&indices).await?);
            Ok(ready
                .pop_front()
                .map(|record| (record, (until, end, ready))))
        })
    }

    /// `range` as `start..end`, checked against the dataset, as the local `Dataset::range` does.
    fn bounds(&self, range: impl RangeBounds<u64>) -> Result<Range<u64>> {
        crate::dataset::range_bounds(range, self.len)
    }

    /// Checks every shard's whole index, as the local [`Dataset::verify`](crate::Dataset::verify): the indexes
    /// are fetched (several shards at once), the records are not.
    ///
    /// # Errors
    /// The first problem found, as [`RemoteShard::verify`].
    pub async fn verify(&self) -> Result<()> {
        self.each_shard(self.shards.iter().map(RemoteShard::verify).collect())
            .await
    }

    /// Fetches every shard's whole index, so that each [`get`](Self::get) after it costs one request at most.
    ///
    /// # Errors
    /// [`Error::Remote`].
    pub async fn fetch_index(&self) -> Result<()> {
        self.each_shard(self.shards.iter().map(RemoteShard::fetch_index).collect())
            .await
    }

    /// The counters of all shards' readers, summed (the suffix requests of the open are not included: one per
    /// shard).
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut total = Stats::default();
        for shard in &self.shards {
            let stats = shard.reader.stats();
            total.requests += stats.requests;
            total.bytes_fetched += stats.bytes_fetched;
            total.hits += stats.hits;
            total.misses += stats.misses;
            total.waits += stats.waits;
            total.bytes_evicted += stats.bytes_evicted;
        }
        total
    }
}

/// The blocking facade of a [`RemoteDataset`]: the method names and arguments of the local
/// [`Dataset`](crate::Dataset), each running the async method on an explicit [`BlockingRuntime`] (records are
/// owned [`Bytes`]). Cheap to clone: clones share the dataset and its caches.
///
/// ```no_run
/// use std::sync::Arc;
/// use object_store::{aws::AmazonS3Builder, path::Path};
/// use roxxel_format::{BlockingRemoteDataset, RemoteOptions, RemoteSpec};
/// use sparse_buffer::BlockingRuntime;
///
/// let store = Arc::new(AmazonS3Builder::from_env().with_bucket_name("datasets").build()?);
/// let runtime = BlockingRuntime::current_thread()?; // or BlockingRuntime::handle(your_runtime_handle)
/// let spec = RemoteSpec::Prefix(Path::from("train"));
/// let dataset = BlockingRemoteDataset::open(runtime, store, spec, &RemoteOptions::default())?;
/// for record in dataset.range(0..100)? {
///     println!("{} bytes", record?.len());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BlockingRemoteDataset {
    dataset: Arc<RemoteDataset>,
    runtime: BlockingRuntime,
}

impl BlockingRemoteDataset {
    /// [`RemoteDataset::open`] on `runtime`, which the dataset keeps for its blocking methods.
    ///
    /// # Errors
    /// As [`RemoteDataset::open`]; [`Error::Remote`] holding
    /// [`sparse_buffer::Error::BlockingInRuntime`] on a thread that runs async tasks.
    pub fn open(
        runtime: BlockingRuntime,
        store: Arc<dyn ObjectStore>,
        spec: impl Into<RemoteSpec>,
        options: &RemoteOptions,
    ) -> Result<Self> {
        let spec = spec.into();
        let name = spec.name();
        let dataset = block(&runtime, &name, RemoteDataset::open(store, spec, options))?;
        Ok(dataset.blocking(runtime))
    }

    /// The async dataset.
    #[must_use]
    pub fn dataset(&self) -> &Arc<RemoteDataset> {
        &self.dataset
    }

    /// The runtime the blocking methods run on.
    #[must_use]
    pub fn runtime(&self) -> &BlockingRuntime {
        &self.runtime
    }

    fn block<T>(&self, future: impl Future<Output = Result<T>>) -> Result<T> {
        let name = self
            .dataset
            .shards
            .first()
            .map(|shard| shard.name.clone())
            .unwrap_or_default();
        block(&self.runtime, &name, future)
    }

    /// Total number of records.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.dataset.len()
    }

    /// Whether the dataset holds no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.dataset.is_empty()
    }

    /// The shards, in dataset order.
    #[must_use]
    pub fn shards(&self) -> &[RemoteShard] {
        self.dataset.shards()
    }

    /// Which shard holds record `index`, and its index within that shard.
    #[must_use]
    pub fn locate(&self, index: u64) -> Option<(usize, u64)> {
        self.dataset.locate(index)
    }

    /// Turns a Python-style index into a position.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`].
    pub fn resolve_index(&self, index: i64) -> Result<u64> {
        self.dataset.resolve_index(index)
    }

    /// [`RemoteDataset::get`], blocking.
    ///
    /// # Errors
    /// As [`RemoteDataset::get`].
    pub fn get(&self, index: u64) -> Result<Bytes> {
        self.block(self.dataset.get(index))
    }

    /// [`RemoteDataset::get_signed`], blocking.
    ///
    /// # Errors
    /// As [`RemoteDataset::get`].
    pub fn get_signed(&self, index: i64) -> Result<Bytes> {
        self.block(self.dataset.get_signed(index))
    }

    /// [`RemoteDataset::get_many`], blocking.
    ///
    /// # Errors
    /// As [`RemoteDataset::get_many`].
    pub fn get_many(&self, indices: &[u64]) -> Result<Vec<Bytes>> {
        self.block(self.dataset.get_many(indices))
    }

    /// All records in order, fetched [`batch`](RemoteOptions::batch) records at a time.
    #[must_use]
    pub fn iter(&self) -> RemoteIter<'_> {
        RemoteIter::new(self, 0..self.len())
    }

    /// The records in `range`, in order, fetched [`batch`](RemoteOptions::batch) records at a time.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when `range` does not lie within `0..len()`.
    pub fn range(&self, range: impl RangeBounds<u64>) -> Result<RemoteIter<'_>> {
        Ok(RemoteIter::new(self, self.dataset.bounds(range)?))
    }

    /// [`RemoteDataset::verify`], blocking.
    ///
    /// # Errors
    /// As [`RemoteDataset::verify`].
    pub fn verify(&self) -> Result<()> {
        self.block(self.dataset.verify())
    }

    /// [`RemoteDataset::fetch_index`], blocking.
    ///
    /// # Errors
    /// As [`RemoteDataset::fetch_index`].
    pub fn fetch_index(&self) -> Result<()> {
        self.block(self.dataset.fetch_index())
    }

    /// [`RemoteDataset::stats`].
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.dataset.stats()
    }
}

impl<'a> IntoIterator for &'a BlockingRemoteDataset {
    type Item = Result<Bytes>;
    type IntoIter = RemoteIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Runs `future` on `runtime`; a refusal to block names `name`.
fn block<T>(
    runtime: &BlockingRuntime,
    name: &std::path::Path,
    future: impl Future<Output = Result<T>>,
) -> Result<T> {
    runtime
        .block_on(future)
        .map_err(|source| Error::remote(name, source))?
}

impl RemoteSpec {
    /// What errors about the whole spec name: the prefix, or the first path.
    fn name(&self) -> PathBuf {
        match self {
            Self::Paths(paths) => paths
                .first()
                .map(|path| PathBuf::from(path.as_ref()))
                .unwrap_or_default(),
            Self::Prefix(prefix) => PathBuf::from(prefix.as_ref()),
        }
    }
}

/// The records of a [`BlockingRemoteDataset`] in order, fetched a batch at a time.
#[derive(Debug)]
pub struct RemoteIter<'a> {
    dataset: &'a BlockingRemoteDataset,
    next: u64,
    end: u64,
    ready: VecDeque<Bytes>,
}

impl<'a> RemoteIter<'a> {
    fn new(dataset: &'a BlockingRemoteDataset, range: Range<u64>) -> Self {
        Self {
            dataset,
            next: range.start,
            end: range.end,
            ready: VecDeque::new(),
        }
    }
}

impl Iterator for RemoteIter<'_> {
    type Item = Result<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(record) = self.ready.pop_front() {
            return Some(Ok(record));
        }
        if self.next >= self.end {
            return None;
        }
        let until = self
            .end
            .min(self.next.saturating_add(self.dataset.dataset.batch));
        let indices: Vec<u64> = (self.next..until).collect();
        self.next = until;
        match self.dataset.get_many(&indices) {
            Ok(records) => {
                self.ready.extend(records);
                self.ready.pop_front().map(Ok)
            }
            Err(err) => {
                self.next = self.end;
                Some(Err(err))
            }
        }
    }
}

/// The `*.rox` objects directly under `prefix`, not hidden, in shard-number order.
async fn list_shards(store: &Arc<dyn ObjectStore>, prefix: &ObjectPath) -> Result<Vec<ObjectPath>> {
    let listing = store
        .list_with_delimiter(Some(prefix))
        .await
        .map_err(|err| sparse_buffer::Error::Source {
            name: format!("{store}/{prefix}"),
            source: Box::new(err),
        })
        .map_err(|source| Error::remote(&PathBuf::from(prefix.as_ref()), source))?;
    let mut found: Vec<(PathBuf, ObjectPath)> = listing
        .objects
        .into_iter()
        .map(|meta| (PathBuf::from(meta.location.as_ref()), meta.location))
        .filter(|(path, _)| {
            path.file_name().is_some_and(|name| {
                !naming::is_hidden(name)
                    && std::path::Path::new(name).extension() == Some(std::ffi::OsStr::new("rox"))
            })
        })
        .collect();
    if found.is_empty() {
        return Err(Error::NoShards {
            spec: prefix.to_string(),
        });
    }
    found.sort_by(|(a, _), (b, _)| naming::numeric_order(a, b));
    Ok(found.into_iter().map(|(_, location)| location).collect())
}

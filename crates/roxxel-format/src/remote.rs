//! [`RemoteDataset`]: a dataset whose shards live in object storage (S3, GCS, Azure, HTTP, ...), read through an
//! async [`RangeReader`] per shard (feature `object-store`), and [`BlockingRemoteDataset`], its blocking facade
//! with the reading API of the local [`Dataset`](crate::Dataset) (`len`, `get`, `get_signed`, `get_many`, `iter`,
//! `range`, `verify`); [`BlockingRemoteShard`] is the same for one [`RemoteShard`].
//!
//! With [`RemoteOptions::verify_checksums`], each shard's `.crc` sidecar object is fetched at open and every
//! record read is checked against it, with the local reader's checks (see the `checksums` module).
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
use object_store::{GetOptions, GetRange, ObjectStore};
use sparse_buffer::{BlockingRuntime, ObjectStoreSource, RangeReader, ReaderOptions, Stats};

use crate::checksums::Checksums;
use crate::core::{Layout, ShardCore, out_of_range, range_bounds};
use crate::error::{Error, Result};
use crate::format::{Footer, MAX_FOOTER_LEN, decode_index};
use crate::naming;

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
/// The default reader coalesces gaps up to 1 MiB and does not cut long spans into smaller requests, as
/// object_store's `get_ranges` does (on a network, a megabyte costs less than a round trip, and a plan of
/// scattered records costs no more requests than `get_ranges` would send); up to 8 requests run at once. The
/// suffix read at open is [`tail_read`](ReaderOptions::tail_read) bytes (64 KiB: the footer and the last 8,000
/// index entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteOptions {
    /// Options of each shard's [`RangeReader`].
    pub reader: ReaderOptions,
    /// Records fetched per [`get_many`](RemoteDataset::get_many) while iterating ([`RemoteDataset::iter`],
    /// [`RemoteDataset::range`]); default 1,024.
    pub batch: usize,
    /// Whether every record read is checked against its shard's `.crc` sidecar object; see
    /// [`verify_checksums`](Self::verify_checksums). Default: off.
    pub verify_checksums: bool,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            reader: ReaderOptions::default()
                .coalesce_gap(1 << 20)
                .max_request(0)
                .tail_read(64 << 10),
            batch: 1024,
            verify_checksums: false,
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

    /// Check every record read ([`get`](RemoteDataset::get), [`get_many`](RemoteDataset::get_many),
    /// [`iter`](RemoteDataset::iter), [`range`](RemoteDataset::range)) against the CRC-32C in its shard's `.crc`
    /// sidecar, as the local [`OpenOptions::verify_checksums`](crate::OpenOptions::verify_checksums) does
    /// ([`Error::ChecksumMismatch`] on a mismatch), and make [`verify`](RemoteDataset::verify) check every record
    /// a sidecar covers. Opening a shard `key` also fetches the object `key.crc` (at the same time as the shard's
    /// suffix): a missing object means no sidecar (the shard is read unchecked), a damaged one is
    /// [`Error::BadChecksums`], one of another version of the shard [`Error::StaleChecksums`], and any other
    /// store error fails the open. Records appended after their sidecar was written are read unchecked. Default:
    /// off.
    #[must_use]
    pub fn verify_checksums(mut self, verify: bool) -> Self {
        self.verify_checksums = verify;
        self
    }
}

/// One shard of a [`RemoteDataset`]: its footer and a reader over its object, with the reading methods of the
/// local [`Shard`](crate::Shard) (`len`, `get`, `get_many`, `iter`, `range`, `verify`), async.
///
/// Its checks (footer, index entries, record bounds, the whole index in `verify`, and with
/// [`RemoteOptions::verify_checksums`] each record's CRC-32C) are the local shard's: both are shells around one
/// core. [`blocking`](Self::blocking) makes it a [`BlockingRemoteShard`].
#[derive(Debug)]
pub struct RemoteShard {
    reader: RangeReader<ObjectStoreSource>,
    core: ShardCore,
    /// Records fetched per `get_many` while iterating.
    batch: u64,
    /// The `.crc` sidecar every read is checked against ([`RemoteOptions::verify_checksums`]).
    checksums: Option<Checksums>,
}

impl RemoteShard {
    /// Opens the shard at `path` with one suffix request; checks the footer against the object's size (which
    /// comes from the same answer). With [`RemoteOptions::verify_checksums`], also fetches its sidecar object
    /// `{path}.crc` at the same time (see there).
    ///
    /// # Errors
    /// [`Error::Remote`] when a request fails; the corruption variants of [`Footer::parse`]; with
    /// [`verify_checksums`](RemoteOptions::verify_checksums), [`Error::BadChecksums`] for a damaged sidecar and
    /// [`Error::StaleChecksums`] for one of another version of the shard.
    pub async fn open(
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        options: &RemoteOptions,
    ) -> Result<Self> {
        let name = PathBuf::from(path.as_ref());
        let tail_len = options.reader.tail_read.max(MAX_FOOTER_LEN as u64);
        let sidecar = async {
            if options.verify_checksums {
                read_sidecar(&store, &path).await
            } else {
                Ok(None)
            }
        };
        let shard = ObjectStoreSource::open_reading(
            Arc::clone(&store),
            path.clone(),
            GetRange::Suffix(tail_len),
        );
        // The shard's error comes first: a missing shard is reported as such, not as its sidecar's problem.
        let (opened, sidecar) = futures_util::future::join(shard, sidecar).await;
        let (source, at, tail) = opened.map_err(|source| Error::remote(&name, source))?;
        let size = at.end;
        let core = ShardCore::parse(&tail, size, name)?;
        let reader = RangeReader::with_size(source, size, options.reader);
        reader
            .add_region(at.start, tail)
            .map_err(|source| Error::remote(&core.path, source))?;
        let mut shard = Self {
            reader,
            core,
            batch: batch_len(options.batch),
            checksums: None,
        };
        if let Some(sums) = sidecar? {
            shard.check_pairing(&sums).await?;
            shard.checksums = Some(sums);
        }
        Ok(shard)
    }

    /// The blocking facade over this shard, running on `runtime`.
    #[must_use]
    pub fn blocking(self, runtime: BlockingRuntime) -> BlockingRemoteShard {
        BlockingRemoteShard {
            shard: Arc::new(self),
            runtime,
        }
    }

    /// Checks that `sums` describes this shard, with the local shard's check ([`Error::StaleChecksums`]): the
    /// one index entry it compares (where the sidecar's last record ends) costs a request unless it is cached,
    /// which it is when the sidecar covers all records (the end of the index comes with the open's suffix).
    async fn check_pairing(&self, sums: &Checksums) -> Result<()> {
        let covered = sums.records();
        let end = if covered == 0 || covered > self.len() {
            // The pairing check needs no entry then.
            0
        } else {
            let last = covered - 1;
            let entries = self.read(self.core.entries_range(last)).await?;
            ShardCore::entries(last, &entries).1
        };
        sums.check_pairing(
            &self.core.path,
            self.len(),
            self.core.footer.raw_data_size,
            |_| end,
        )
    }

    /// The `.crc` sidecar every read is checked against: `Some` when the shard was opened with
    /// [`RemoteOptions::verify_checksums`] and has one.
    #[must_use]
    pub fn checksums(&self) -> Option<&Checksums> {
        self.checksums.as_ref()
    }

    /// Number of records.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.core.len()
    }

    /// Whether the shard holds no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The footer.
    #[must_use]
    pub fn footer(&self) -> &Footer {
        &self.core.footer
    }

    /// The object's path, as named in errors.
    #[must_use]
    pub fn path(&self) -> &std::path::Path {
        &self.core.path
    }

    /// The reader (for its [`stats`](RangeReader::stats), cache and source).
    #[must_use]
    pub fn reader(&self) -> &RangeReader<ObjectStoreSource> {
        &self.reader
    }

    /// The byte range of record `i` (`< len()`), from its index entries (fetched unless cached).
    async fn record_range(&self, i: usize) -> Result<Range<u64>> {
        let entries = self.read(self.core.entries_range(i as u64)).await?;
        let (start, end) = ShardCore::entries(i as u64, &entries);
        let range = self.core.record_range(i, start, end)?;
        Ok(range.start as u64..range.end as u64)
    }

    /// Record `index`: its index entries (unless cached), then the record (zero-copy from the cached chunk); at
    /// most two requests.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`], [`Error::BadIndexEntry`], [`Error::Remote`]; [`Error::ChecksumMismatch`] when
    /// checked against a sidecar ([`RemoteOptions::verify_checksums`]).
    pub async fn get(&self, index: u64) -> Result<Bytes> {
        let i = self.core.check_index(index)?;
        let range = self.record_range(i).await?;
        let start = range.start;
        self.checked(i, start, self.read(range).await?)
    }

    /// `record`, the bytes of record `i` from payload offset `start`, after the local shard's check against the
    /// sidecar (if any).
    #[inline]
    fn checked(&self, i: usize, start: u64, record: Bytes) -> Result<Bytes> {
        if let Some(sums) = &self.checksums {
            sums.check(&self.core.path, i as u64, start, &record)?;
        }
        Ok(record)
    }

    /// Many records at once, in the order asked: every index entry they need is fetched in one plan (skipping
    /// what is cached, coalescing the rest), then every record likewise.
    ///
    /// # Errors
    /// The first index out of range (before any request), then as [`get`](Self::get).
    pub async fn get_many(&self, indices: &[u64]) -> Result<Vec<Bytes>> {
        let checked = indices
            .iter()
            .map(|&index| self.core.check_index(index))
            .collect::<Result<Vec<usize>>>()?;
        let entries: Vec<_> = indices
            .iter()
            .map(|&index| self.core.entries_range(index))
            .collect();
        self.prefetch(&entries).await?;
        let mut ranges = Vec::with_capacity(checked.len());
        for &i in &checked {
            ranges.push(self.record_range(i).await?);
        }
        self.prefetch(&ranges).await?;
        let mut records = Vec::with_capacity(ranges.len());
        for (&i, range) in checked.iter().zip(ranges) {
            let start = range.start;
            records.push(self.checked(i, start, self.read(range).await?)?);
        }
        Ok(records)
    }

    /// All records in order, as a stream fetched [`batch`](RemoteOptions::batch) records at a time (each batch
    /// one [`get_many`](Self::get_many)).
    pub fn iter(&self) -> impl Stream<Item = Result<Bytes>> + Send + '_ {
        batched(self, 0..self.len())
    }

    /// The records in `range`, in order, as a stream fetched [`batch`](RemoteOptions::batch) records at a time.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when `range` does not lie within `0..len()`; each item as
    /// [`get_many`](Self::get_many).
    pub fn range(
        &self,
        range: impl RangeBounds<u64>,
    ) -> Result<impl Stream<Item = Result<Bytes>> + Send + '_> {
        Ok(batched(self, range_bounds(range, self.len())?))
    }

    async fn read(&self, range: Range<u64>) -> Result<Bytes> {
        self.reader
            .read_range(range)
            .await
            .map_err(|source| Error::remote(&self.core.path, source))
    }

    async fn prefetch(&self, ranges: &[Range<u64>]) -> Result<()> {
        self.reader
            .prefetch(ranges)
            .await
            .map_err(|source| Error::remote(&self.core.path, source))
    }

    /// Fetches the whole index (in as few requests as the reader's `max_request` allows), so that every
    /// [`get`](Self::get) after it costs one request at most.
    ///
    /// # Errors
    /// [`Error::Remote`].
    pub async fn fetch_index(&self) -> Result<()> {
        self.prefetch(std::slice::from_ref(&self.core.whole_index()))
            .await
    }

    /// Checks the whole index, with the local [`Shard::verify`](crate::Shard::verify)'s check: every end
    /// non-negative, not before the previous one, and the last equal to the payload size. Fetches the index; the
    /// records only when the shard was opened with [`RemoteOptions::verify_checksums`] and has a sidecar: then
    /// every record it covers is checked against its CRC-32C, as locally ([`batch`](RemoteOptions::batch)
    /// records per read).
    ///
    /// # Errors
    /// [`Error::BadIndexEntry`] for the first bad entry, [`Error::IndexEndMismatch`] for a last end short of the
    /// payload, [`Error::ChecksumMismatch`] for the first record that does not match its CRC, [`Error::Remote`].
    pub async fn verify(&self) -> Result<()> {
        let index = self.read(self.core.whole_index()).await?;
        let ends = decode_index(&index);
        self.core.verify_ends(ends.iter().copied())?;
        let Some(sums) = &self.checksums else {
            return Ok(());
        };
        // The ends passed the check above: non-negative, in order, within the payload.
        let covered = usize::try_from(sums.records().min(self.len())).unwrap_or(usize::MAX);
        let batch = usize::try_from(self.batch).unwrap_or(usize::MAX);
        let (mut index, mut start) = (0u64, 0u64);
        for chunk in ends[..covered.min(ends.len())].chunks(batch) {
            let span_start = start;
            let span_end = chunk.last().map_or(start, |&end| end as u64);
            let span = self.read(span_start..span_end).await?;
            for &end in chunk {
                let end = end as u64;
                let record = &span[(start - span_start) as usize..(end - span_start) as usize];
                sums.check(&self.core.path, index, start, record)?;
                (index, start) = (index + 1, end);
            }
        }
        Ok(())
    }
}

impl Batches for RemoteShard {
    fn batch(&self) -> u64 {
        self.batch
    }

    fn fetch<'a>(
        &'a self,
        indices: &'a [u64],
    ) -> impl Future<Output = Result<Vec<Bytes>>> + Send + 'a {
        self.get_many(indices)
    }
}

/// A remote shard or dataset, read in batches by [`batched`].
trait Batches: Sync {
    /// Records per batch (at least 1).
    fn batch(&self) -> u64;
    /// `get_many`.
    fn fetch<'a>(
        &'a self,
        indices: &'a [u64],
    ) -> impl Future<Output = Result<Vec<Bytes>>> + Send + 'a;
}

/// The records of `reader` in `range` (checked by the caller), fetched a batch at a time.
fn batched<R: Batches>(
    reader: &R,
    range: Range<u64>,
) -> impl Stream<Item = Result<Bytes>> + Send + '_ {
    let batch = reader.batch();
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
        ready.extend(reader.fetch(&indices).await?);
        Ok(ready
            .pop_front()
            .map(|record| (record, (until, end, ready))))
    })
}

fn batch_len(batch: usize) -> u64 {
    u64::try_from(batch.max(1)).unwrap_or(u64::MAX)
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
    layout: Layout,
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
        Self {
            layout: Layout::new(shards.iter().map(RemoteShard::len)),
            shards,
            batch: batch_len(RemoteOptions::default().batch),
            concurrency: RemoteOptions::default().reader.concurrency,
        }
    }

    fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch_len(batch);
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
        self.layout.len()
    }

    /// Whether the dataset holds no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shards, in dataset order.
    #[must_use]
    pub fn shards(&self) -> &[RemoteShard] {
        &self.shards
    }

    /// Which shard holds record `index`, and its index within that shard.
    #[must_use]
    pub fn locate(&self, index: u64) -> Option<(usize, u64)> {
        self.layout.locate(index)
    }

    /// Turns a Python-style index (negative counts from the end) into a position.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when it falls outside the dataset.
    pub fn resolve_index(&self, index: i64) -> Result<u64> {
        self.layout.resolve_index(index)
    }

    /// Record `index`: its index entries (unless cached), then the record; at most two requests.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`], [`Error::BadIndexEntry`], [`Error::Remote`].
    pub async fn get(&self, index: u64) -> Result<Bytes> {
        let (shard, local) = self.layout.locate_or_err(index)?;
        self.shards[shard].get(local).await
    }

    /// Record `index` with Python's negative indexing.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub async fn get_signed(&self, index: i64) -> Result<Bytes> {
        self.get(self.resolve_index(index)?).await
    }

    /// Many records at once, in the order asked: each shard's share is one [`RemoteShard::get_many`] (every
    /// index entry in one plan, skipping what is cached and coalescing the rest, then every record likewise); up
    /// to the reader's `concurrency` shards are read at the same time.
    ///
    /// # Errors
    /// The first index out of range (before any request), then as [`get`](Self::get).
    pub async fn get_many(&self, indices: &[u64]) -> Result<Vec<Bytes>> {
        let located = indices
            .iter()
            .map(|&index| self.layout.locate_or_err(index))
            .collect::<Result<Vec<_>>>()?;
        let mut wanted: Vec<Vec<u64>> = vec![Vec::new(); self.shards.len()];
        for &(shard, local) in &located {
            wanted[shard].push(local);
        }
        let work: Vec<_> = self
            .shards
            .iter()
            .zip(&wanted)
            .enumerate()
            .filter(|(_, (_, locals))| !locals.is_empty())
            .map(|(at, (shard, locals))| async move { Ok((at, shard.get_many(locals).await?)) })
            .collect();
        let fetched: Vec<(usize, Vec<Bytes>)> = stream::iter(work)
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        let mut records: Vec<std::vec::IntoIter<Bytes>> =
            self.shards.iter().map(|_| Vec::new().into_iter()).collect();
        for (at, shard_records) in fetched {
            records[at] = shard_records.into_iter();
        }
        indices
            .iter()
            .zip(&located)
            .map(|(&index, &(shard, _))| {
                // Each shard answered one record per index asked of it.
                records[shard]
                    .next()
                    .ok_or_else(|| out_of_range(i128::from(index), self.len()))
            })
            .collect()
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
        Ok(batched(self, self.bounds(range)?))
    }

    /// All records in order, as a stream fetched [`batch`](RemoteOptions::batch) records at a time.
    pub fn iter(&self) -> impl Stream<Item = Result<Bytes>> + Send + '_ {
        batched(self, 0..self.len())
    }

    /// `range` as `start..end`, checked against the dataset, as the local `Dataset::range` does.
    fn bounds(&self, range: impl RangeBounds<u64>) -> Result<Range<u64>> {
        self.layout.bounds(range)
    }

    /// Checks every shard's whole index, as the local [`Dataset::verify`](crate::Dataset::verify): the indexes
    /// are fetched (several shards at once); the records only with [`RemoteOptions::verify_checksums`], to check
    /// every record a sidecar covers ([`RemoteShard::verify`]).
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
            .map(|shard| shard.core.path.clone())
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

impl Batches for RemoteDataset {
    fn batch(&self) -> u64 {
        self.batch
    }

    fn fetch<'a>(
        &'a self,
        indices: &'a [u64],
    ) -> impl Future<Output = Result<Vec<Bytes>>> + Send + 'a {
        self.get_many(indices)
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

/// The records of a [`BlockingRemoteDataset`] or a [`BlockingRemoteShard`] in order, fetched a batch at a time.
#[derive(Debug)]
pub struct RemoteIter<'a> {
    reader: &'a dyn BlockingBatches,
    next: u64,
    end: u64,
    ready: VecDeque<Bytes>,
}

impl<'a> RemoteIter<'a> {
    fn new(reader: &'a dyn BlockingBatches, range: Range<u64>) -> Self {
        Self {
            reader,
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
        let until = self.end.min(self.next.saturating_add(self.reader.batch()));
        let indices: Vec<u64> = (self.next..until).collect();
        self.next = until;
        match self.reader.fetch(&indices) {
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

/// A blocking facade read in batches by [`RemoteIter`]: [`BlockingRemoteDataset`] or [`BlockingRemoteShard`].
trait BlockingBatches: std::fmt::Debug + Sync {
    /// Records per batch (at least 1).
    fn batch(&self) -> u64;
    /// `get_many`, blocking.
    fn fetch(&self, indices: &[u64]) -> Result<Vec<Bytes>>;
}

impl BlockingBatches for BlockingRemoteDataset {
    fn batch(&self) -> u64 {
        self.dataset.batch
    }

    fn fetch(&self, indices: &[u64]) -> Result<Vec<Bytes>> {
        self.get_many(indices)
    }
}

impl BlockingBatches for BlockingRemoteShard {
    fn batch(&self) -> u64 {
        self.shard.batch
    }

    fn fetch(&self, indices: &[u64]) -> Result<Vec<Bytes>> {
        self.get_many(indices)
    }
}

/// The blocking facade of a [`RemoteShard`]: the method names and arguments of the local [`Shard`](crate::Shard)
/// (`len`, `get`, `get_many`, `iter`, `range`, `verify`), each running the async method on an explicit
/// [`BlockingRuntime`], as [`BlockingRemoteDataset`] does for a dataset (records are owned [`Bytes`]). Cheap to
/// clone: clones share the shard and its cache.
///
/// ```no_run
/// use std::sync::Arc;
/// use object_store::{aws::AmazonS3Builder, path::Path};
/// use roxxel_format::{BlockingRemoteShard, RemoteOptions};
/// use sparse_buffer::BlockingRuntime;
///
/// let store = Arc::new(AmazonS3Builder::from_env().with_bucket_name("datasets").build()?);
/// let runtime = BlockingRuntime::current_thread()?;
/// let options = RemoteOptions::default().verify_checksums(true);
/// let shard = BlockingRemoteShard::open(runtime, store, Path::from("train/ds_0000.rox"), &options)?;
/// let record = shard.get(7)?; // checked against train/ds_0000.rox.crc, if there is one
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct BlockingRemoteShard {
    shard: Arc<RemoteShard>,
    runtime: BlockingRuntime,
}

impl BlockingRemoteShard {
    /// [`RemoteShard::open`] on `runtime`, which the shard keeps for its blocking methods.
    ///
    /// # Errors
    /// As [`RemoteShard::open`]; [`Error::Remote`] holding [`sparse_buffer::Error::BlockingInRuntime`] on a
    /// thread that runs async tasks.
    pub fn open(
        runtime: BlockingRuntime,
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        options: &RemoteOptions,
    ) -> Result<Self> {
        let name = PathBuf::from(path.as_ref());
        let shard = block(&runtime, &name, RemoteShard::open(store, path, options))?;
        Ok(shard.blocking(runtime))
    }

    /// The async shard.
    #[must_use]
    pub fn shard(&self) -> &Arc<RemoteShard> {
        &self.shard
    }

    /// The runtime the blocking methods run on.
    #[must_use]
    pub fn runtime(&self) -> &BlockingRuntime {
        &self.runtime
    }

    fn block<T>(&self, future: impl Future<Output = Result<T>>) -> Result<T> {
        block(&self.runtime, &self.shard.core.path, future)
    }

    /// Number of records.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.shard.len()
    }

    /// Whether the shard holds no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.shard.is_empty()
    }

    /// [`RemoteShard::get`], blocking.
    ///
    /// # Errors
    /// As [`RemoteShard::get`].
    pub fn get(&self, index: u64) -> Result<Bytes> {
        self.block(self.shard.get(index))
    }

    /// [`RemoteShard::get_many`], blocking.
    ///
    /// # Errors
    /// As [`RemoteShard::get_many`].
    pub fn get_many(&self, indices: &[u64]) -> Result<Vec<Bytes>> {
        self.block(self.shard.get_many(indices))
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
        Ok(RemoteIter::new(self, range_bounds(range, self.len())?))
    }

    /// [`RemoteShard::verify`], blocking.
    ///
    /// # Errors
    /// As [`RemoteShard::verify`].
    pub fn verify(&self) -> Result<()> {
        self.block(self.shard.verify())
    }

    /// [`RemoteShard::fetch_index`], blocking.
    ///
    /// # Errors
    /// As [`RemoteShard::fetch_index`].
    pub fn fetch_index(&self) -> Result<()> {
        self.block(self.shard.fetch_index())
    }

    /// The counters of the shard's reader (the suffix request of the open is not included).
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.shard.reader.stats()
    }
}

impl<'a> IntoIterator for &'a BlockingRemoteShard {
    type Item = Result<Bytes>;
    type IntoIter = RemoteIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The `.crc` sidecar object of the shard at `path` (`{path}.crc`), `Ok(None)` when the store has no such object.
async fn read_sidecar(
    store: &Arc<dyn ObjectStore>,
    path: &ObjectPath,
) -> Result<Option<Checksums>> {
    let key = format!("{path}.crc");
    let name = PathBuf::from(&key);
    let failed = |err: Box<dyn std::error::Error + Send + Sync>| {
        let source = sparse_buffer::Error::Source {
            name: format!("{store}/{key}"),
            source: err,
        };
        Error::remote(&name, source)
    };
    let location = ObjectPath::parse(&key).map_err(|err| failed(Box::new(err)))?;
    let answer = match store.get_opts(&location, GetOptions::default()).await {
        Ok(answer) => answer,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(err) => return Err(failed(Box::new(err))),
    };
    // As the local reader does, a size the machine cannot hold is an error, not an abort.
    let len =
        usize::try_from(answer.meta.size).map_err(|_| Error::TooLarge { file: name.clone() })?;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len).map_err(|_| {
        let message = format!("cannot hold the {len}-byte checksum sidecar");
        Error::io(
            &name,
            std::io::Error::new(std::io::ErrorKind::OutOfMemory, message),
        )
    })?;
    let mut chunks = answer.into_stream();
    while let Some(chunk) = chunks
        .try_next()
        .await
        .map_err(|err| failed(Box::new(err)))?
    {
        bytes.extend_from_slice(&chunk);
    }
    Checksums::from_bytes(bytes, name).map(Some)
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

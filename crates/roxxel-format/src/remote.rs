//! [`RemoteDataset`]: a dataset whose shards live in object storage (S3, GCS, Azure, HTTP, ...), read through a
//! [`RangeReader`] per shard (feature `object-store`).
//!
//! Opening costs one suffix request per shard (footer, size and the end of the index come together). After
//! that, index entries are fetched when needed and cached sparsely in the shard's reader, and
//! [`get_many`](RemoteDataset::get_many) plans every index entry it needs, then every record, into coalesced
//! requests. Records come back as owned [`Bytes`].

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{GetRange, ObjectStore};
use sparse_buffer::{ObjectStoreSource, RangeReader, ReaderOptions, Stats};

use crate::dataset::Dataset;
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

/// Options of a [`RemoteDataset`]: the [`ReaderOptions`] of each shard's reader.
///
/// The default coalesces gaps up to 1 MiB (object_store's choice: on a network, a megabyte costs less than a
/// round trip) and sends requests of up to 8 MiB, 8 at once; the suffix read at open is
/// [`tail_read`](ReaderOptions::tail_read) bytes (64 KiB: the footer and the last 8,000 index entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteOptions {
    /// Options of each shard's [`RangeReader`].
    pub reader: ReaderOptions,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        Self {
            reader: ReaderOptions::default()
                .coalesce_gap(1 << 20)
                .tail_read(64 << 10),
        }
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
    /// Opens the shard at `path` with one suffix request; checks the footer against the object's size.
    ///
    /// # Errors
    /// [`Error::Remote`] when the request fails; the corruption variants of [`Footer::parse`].
    pub fn open(
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        options: &RemoteOptions,
    ) -> Result<Self> {
        let name = PathBuf::from(path.as_ref());
        let tail_len = options.reader.tail_read.max(MAX_FOOTER_LEN as u64);
        let (source, at, tail) =
            ObjectStoreSource::open_reading(store, path, GetRange::Suffix(tail_len))
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

    /// The byte range of record `local` (`< len()`), from its index entries (fetched unless cached).
    fn record_range(&self, local: u64) -> Result<Range<u64>> {
        let entries = self
            .reader
            .read_range(self.entries_range(local))
            .map_err(|source| Error::remote(&self.name, source))?;
        let ends = decode_index(&entries);
        let end = ends.last().copied().unwrap_or(0);
        let start = if local == 0 {
            0
        } else {
            ends.first().copied().unwrap_or(0)
        };
        let raw = self.footer.raw_data_size;
        match (u64::try_from(start), u64::try_from(end)) {
            (Ok(s), Ok(e)) if s <= e && e <= raw => Ok(s..e),
            _ => Err(Error::BadIndexEntry {
                file: self.name.clone(),
                record: local,
                offset: raw + local * INDEX_ENTRY_LEN as u64,
                start,
                end,
                raw_data_size: raw,
            }),
        }
    }

    /// Record `local`, fetched unless cached.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`], [`Error::BadIndexEntry`], [`Error::Remote`].
    pub fn get(&self, local: u64) -> Result<Bytes> {
        if local >= self.len() {
            return Err(out_of_range(i128::from(local), self.len()));
        }
        let range = self.record_range(local)?;
        self.read(range)
    }

    fn read(&self, range: Range<u64>) -> Result<Bytes> {
        self.reader
            .read_range(range)
            .map_err(|source| Error::remote(&self.name, source))
    }

    fn prefetch(&self, ranges: &[Range<u64>]) -> Result<()> {
        self.reader
            .prefetch(ranges)
            .map_err(|source| Error::remote(&self.name, source))
    }

    /// Fetches the whole index (in as few requests as the reader's `max_request` allows), so that every
    /// [`get`](Self::get) after it costs one request at most.
    ///
    /// # Errors
    /// [`Error::Remote`].
    pub fn fetch_index(&self) -> Result<()> {
        let index = self.footer.index_offset();
        let whole = index..index + self.len() * INDEX_ENTRY_LEN as u64;
        self.prefetch(std::slice::from_ref(&whole))
    }
}

/// A Roxxel dataset in object storage, from [`Dataset::open_remote`]: the reading API of [`Dataset`], with owned
/// [`Bytes`] records.
///
/// Not supported remotely: append journals (a remote dataset is read as it is: shards being written must not
/// be listed), typed views and the raw payload (fetch ranges through [`RemoteShard::reader`]).
#[derive(Debug)]
pub struct RemoteDataset {
    shards: Vec<RemoteShard>,
    starts: Vec<u64>,
    len: u64,
}

impl Dataset {
    /// Opens the shards `spec` names in `store` (one suffix request each, plus one listing for a prefix), with
    /// the default [`RemoteOptions`]. Blocking; call it outside async code (e.g. in `spawn_blocking`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use object_store::{ObjectStoreExt, memory::InMemory, path::Path};
    /// use roxxel_format::{Dataset, RemoteSpec, WriterOptions};
    ///
    /// // Write a dataset locally and upload its shard.
    /// let dir = tempfile::tempdir()?;
    /// let local = dir.path().join("data.rox");
    /// let mut writer = WriterOptions::new().open(&local)?;
    /// for i in 0..1000u32 {
    ///     writer.push(format!("record {i}").as_bytes())?;
    /// }
    /// writer.finish()?;
    /// let store = Arc::new(InMemory::new());
    /// let bytes = std::fs::read(&local)?;
    /// sparse_buffer::block_on(None, async {
    ///     store.put(&Path::from("ds/data.rox"), bytes.into()).await.map_err(|e| sparse_buffer::Error::Source {
    ///         name: "ds/data.rox".into(),
    ///         source: Box::new(e),
    ///     })
    /// })?;
    ///
    /// let dataset = Dataset::open_remote(store, RemoteSpec::Prefix(Path::from("ds")))?;
    /// assert_eq!(dataset.len(), 1000);
    /// assert_eq!(&dataset.get(7)?[..], b"record 7");
    /// let batch = dataset.get_many(&[999, 3, 500])?;
    /// assert_eq!(&batch[0][..], b"record 999");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::NoShards`] for a prefix without shards, [`Error::Remote`] when a request fails, the corruption
    /// variants of [`Footer::parse`] for a shard that is not one.
    pub fn open_remote(
        store: Arc<dyn ObjectStore>,
        spec: impl Into<RemoteSpec>,
    ) -> Result<RemoteDataset> {
        RemoteDataset::open(store, spec, &RemoteOptions::default())
    }
}

impl RemoteDataset {
    /// Opens the shards `spec` names in `store` with `options`. Blocking.
    ///
    /// # Errors
    /// As [`Dataset::open_remote`].
    pub fn open(
        store: Arc<dyn ObjectStore>,
        spec: impl Into<RemoteSpec>,
        options: &RemoteOptions,
    ) -> Result<Self> {
        let paths = match spec.into() {
            RemoteSpec::Paths(paths) => paths,
            RemoteSpec::Prefix(prefix) => list_shards(&store, &prefix)?,
        };
        let shards = paths
            .into_iter()
            .map(|path| RemoteShard::open(Arc::clone(&store), path, options))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::from_shards(shards))
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

    /// Record `index`: its index entries (unless cached), then the record; at most two requests.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`], [`Error::BadIndexEntry`], [`Error::Remote`].
    pub fn get(&self, index: u64) -> Result<Bytes> {
        match self.locate(index) {
            Some((shard, local)) => self.shards[shard].get(local),
            None => Err(out_of_range(i128::from(index), self.len)),
        }
    }

    /// Turns a Python-style index (negative counts from the end) into a position.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when it falls outside the dataset.
    pub fn resolve_index(&self, index: i64) -> Result<u64> {
        crate::dataset::resolve_index(self.len, index)
    }

    /// Record `index` with Python's negative indexing.
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn get_signed(&self, index: i64) -> Result<Bytes> {
        self.get(self.resolve_index(index)?)
    }

    /// Many records at once, in the order asked: every index entry they need is fetched in one plan per shard
    /// (skipping what is cached, coalescing the rest), then every record likewise.
    ///
    /// # Errors
    /// The first index out of range (before any request), then as [`get`](Self::get).
    pub fn get_many(&self, indices: &[u64]) -> Result<Vec<Bytes>> {
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
        self.prefetch_all(&wanted)?;
        let records = located
            .iter()
            .map(|&(shard, local)| self.shards[shard].record_range(local))
            .collect::<Result<Vec<_>>>()?;
        for ranges in &mut wanted {
            ranges.clear();
        }
        for (&(shard, _), range) in located.iter().zip(&records) {
            wanted[shard].push(range.clone());
        }
        self.prefetch_all(&wanted)?;
        located
            .iter()
            .zip(records)
            .map(|(&(shard, _), range)| self.shards[shard].read(range))
            .collect()
    }

    /// One plan per shard; shards with something to fetch run at the same time.
    fn prefetch_all(&self, wanted: &[Vec<Range<u64>>]) -> Result<()> {
        let busy: Vec<_> = self
            .shards
            .iter()
            .zip(wanted)
            .filter(|(_, ranges)| !ranges.is_empty())
            .collect();
        match busy[..] {
            [] => Ok(()),
            [(shard, ranges)] => shard.prefetch(ranges),
            _ => std::thread::scope(|scope| {
                let handles: Vec<_> = busy
                    .iter()
                    .map(|(shard, ranges)| scope.spawn(move || shard.prefetch(ranges)))
                    .collect();
                // Every thread is joined (a later error is dropped once one is found, as `get` would report
                // only the first).
                let results: Vec<Result<()>> = handles
                    .into_iter()
                    .map(|handle| {
                        handle
                            .join()
                            .unwrap_or_else(|payload| std::panic::resume_unwind(payload))
                    })
                    .collect();
                results.into_iter().collect()
            }),
        }
    }

    /// The records in `range`, in order, fetched in batches of `batch` records (each batch one
    /// [`get_many`](Self::get_many)).
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when `range` does not lie within `0..len()`; each item as
    /// [`get_many`](Self::get_many).
    pub fn range(&self, range: Range<u64>, batch: usize) -> Result<RemoteIter<'_>> {
        if range.end > self.len || range.start > range.end {
            return Err(out_of_range(i128::from(range.end) - 1, self.len));
        }
        Ok(RemoteIter {
            dataset: self,
            next: range.start,
            end: range.end,
            batch: u64::try_from(batch.max(1)).unwrap_or(u64::MAX),
            ready: std::collections::VecDeque::new(),
        })
    }

    /// All records in order, in batches of `batch` records.
    #[must_use]
    pub fn iter(&self, batch: usize) -> RemoteIter<'_> {
        RemoteIter {
            dataset: self,
            next: 0,
            end: self.len,
            batch: u64::try_from(batch.max(1)).unwrap_or(u64::MAX),
            ready: std::collections::VecDeque::new(),
        }
    }

    /// Fetches every shard's whole index, so that each [`get`](Self::get) after it costs one request at most.
    ///
    /// # Errors
    /// [`Error::Remote`].
    pub fn fetch_index(&self) -> Result<()> {
        self.shards.iter().try_for_each(RemoteShard::fetch_index)
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

/// The records of a [`RemoteDataset`] in order, fetched a batch at a time.
#[derive(Debug)]
pub struct RemoteIter<'a> {
    dataset: &'a RemoteDataset,
    next: u64,
    end: u64,
    batch: u64,
    ready: std::collections::VecDeque<Bytes>,
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
        let until = self.end.min(self.next.saturating_add(self.batch));
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
fn list_shards(store: &Arc<dyn ObjectStore>, prefix: &ObjectPath) -> Result<Vec<ObjectPath>> {
    let listing = sparse_buffer::block_on(None, async {
        store
            .list_with_delimiter(Some(prefix))
            .await
            .map_err(|err| sparse_buffer::Error::Source {
                name: format!("{store}/{prefix}"),
                source: Box::new(err),
            })
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

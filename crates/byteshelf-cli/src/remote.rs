//! Files named by URL: `s3://bucket/key`, `http(s)://host/path` and `file:///path`, besides local paths.
//!
//! [`open_source`] turns a spec into a store and an object path with `byteshelf::remote::ObjectUrl` (shared
//! with the Python wheel); an S3 store takes its credentials, region and endpoint from the standard `AWS_*` environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`,
//! `AWS_ALLOW_HTTP`, ...). Every remote read runs on one current-thread runtime owned by the process.
//!
//! - `rox info/get/cat/verify` read a remote dataset through `BlockingRemoteDataset`: only the footers, the
//!   index entries and the records they need. The spec is one object, a prefix ending in `/` (every `*.rox`
//!   directly under it), or a glob in the last path segment (`s3://bucket/ds_*.rox`, by listing, in shard-number
//!   order as locally).
//! - `map get` reads through `BlockingRemoteMapBuffer` (header, index, the values asked for).
//! - `map info/dump/verify` and `index info/lookup` read every byte anyway: they fetch the whole object (in
//!   one request) and run the local code on it.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use byteshelf::mapbuffer::{BlockingRemoteMapBuffer, RemoteOptions as MapOptions};
use byteshelf::remote::{ObjectUrl, UrlError};
use byteshelf::roxxel::format::decode_index;
use byteshelf::roxxel::{BlockingRemoteDataset, RemoteOptions};
use byteshelf::sparse_buffer::BlockingRuntime;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::cli::{CatArgs, MapGetArgs, RoxGetArgs, Separator, SpecJsonArgs};
use crate::error::{Error, Result};
use crate::output::{Problem, Stdout, size};
use crate::rox::{DatasetInfo, ShardInfo, size_sample_runs};

/// An object (or a set of objects, for a prefix or a glob) in a store.
pub(crate) struct Remote {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    spec: String,
    url: ObjectUrl,
}

/// The store and object path of `spec` when it is a URL (`scheme://...`); `None` for a local path.
///
/// # Errors
/// A usage error for a URL object_store cannot open (unknown scheme, bad bucket).
pub(crate) fn open_source(spec: &str) -> Result<Option<Remote>> {
    let Some(url) = ObjectUrl::parse(spec).map_err(|e| Error::usage(e.to_string()))? else {
        return Ok(None);
    };
    Ok(Some(Remote {
        store: Arc::clone(url.store()),
        path: url.path().clone(),
        spec: spec.to_owned(),
        url,
    }))
}

/// The runtime every remote read of this process runs on.
fn runtime() -> Result<BlockingRuntime> {
    static RUNTIME: OnceLock<std::result::Result<BlockingRuntime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| BlockingRuntime::current_thread().map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| Error::data(Path::new("<runtime>"), e))
}

fn lib_error(spec: &str, err: &(dyn std::error::Error + 'static)) -> Error {
    Error::from_lib(Path::new(spec), err)
}

/// The whole object `file` names, when it is a URL (one GET).
pub(crate) fn read_all(file: &Path) -> Result<Option<Bytes>> {
    let Some(spec) = file.to_str() else {
        return Ok(None);
    };
    let Some(remote) = open_source(spec)? else {
        return Ok(None);
    };
    let runtime = runtime()?;
    let got = runtime
        .block_on(async {
            match remote.store.get(&remote.path).await {
                Ok(result) => result.bytes().await,
                Err(err) => Err(err),
            }
        })
        .map_err(|e| lib_error(spec, &e))?
        .map_err(|e| lib_error(spec, &e))?;
    Ok(Some(got))
}

/// Memory-mapped bytes of a local file, or the fetched bytes of a remote one.
#[derive(Debug)]
pub(crate) enum Data {
    /// A local file, memory-mapped.
    Mapped(byteshelf::roxxel::Mmap),
    /// A remote object, fetched whole.
    Fetched(Bytes),
}

impl AsRef<[u8]> for Data {
    fn as_ref(&self) -> &[u8] {
        match self {
            Self::Mapped(map) => map,
            Self::Fetched(bytes) => bytes,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// rox

/// The remote dataset `spec` names: a glob in its last segment (listed), a prefix ending in `/`, or one object.
fn dataset(remote: &Remote) -> Result<BlockingRemoteDataset> {
    let runtime = runtime()?;
    let spec = runtime
        .block_on(remote.url.dataset_spec())
        .map_err(|e| lib_error(&remote.spec, &e))?
        .map_err(|e| match e {
            UrlError::Pattern { .. } => Error::usage(e.to_string()),
            UrlError::NoMatch { .. } => {
                Error::data(Path::new(&remote.spec), "no object matches this pattern")
            }
            other => lib_error(&remote.spec, &other),
        })?;
    BlockingRemoteDataset::open(
        runtime,
        Arc::clone(&remote.store),
        spec,
        &RemoteOptions::default(),
    )
    .map_err(|e| lib_error(&remote.spec, &e))
}

/// `rox info` for a URL; `None` for a local spec.
pub(crate) fn rox_info(args: &SpecJsonArgs) -> Option<Result> {
    let remote = open_source(&args.spec).transpose()?;
    Some(remote.and_then(|remote| {
        let dataset = dataset(&remote)?;
        let shards: Vec<ShardInfo> = dataset
            .shards()
            .iter()
            .map(|shard| ShardInfo::of_footer(shard.path(), shard.footer()))
            .collect();
        let mut sizes = Vec::new();
        for run in size_sample_runs(dataset.len()) {
            record_sizes(&dataset, run.start, run.end, &mut sizes)
                .map_err(|e| lib_error(&args.spec, &e))?;
        }
        DatasetInfo::new(&args.spec, shards, sizes).print(args.json)
    }))
}

/// The sizes of records `start..end`, from their index entries alone (no record is fetched).
fn record_sizes(
    dataset: &BlockingRemoteDataset,
    start: u64,
    end: u64,
    sizes: &mut Vec<u64>,
) -> byteshelf::roxxel::Result<()> {
    let mut at = start;
    while at < end {
        let Some((shard_index, local)) = dataset.locate(at) else {
            break;
        };
        let shard = &dataset.shards()[shard_index];
        let count = (shard.len() - local).min(end - at);
        let index = shard.footer().index_offset();
        // The end of the record before the first (unless it is the shard's first), then each record's end.
        let from = index + local.saturating_sub(1) * 8;
        let to = index + (local + count) * 8;
        let entries = dataset
            .runtime()
            .block_on(shard.reader().read_range(from..to))
            .and_then(|read| read)
            .map_err(|source| byteshelf::roxxel::Error::Remote {
                file: shard.path().to_path_buf(),
                source,
            })?;
        let ends = decode_index(&entries);
        let mut previous = if local == 0 { 0 } else { ends[0] };
        for &end in &ends[usize::from(local > 0)..] {
            sizes.push(end.saturating_sub(previous).max(0) as u64);
            previous = end;
        }
        at += count;
    }
    Ok(())
}

/// `rox get` for a URL: the records asked for, fetched in one plan; `None` for a local spec.
pub(crate) fn rox_get(args: &RoxGetArgs) -> Option<Result> {
    let remote = open_source(&args.spec).transpose()?;
    Some(remote.and_then(|remote| {
        let dataset = dataset(&remote)?;
        let indices = args
            .indexes
            .iter()
            .map(|&index| dataset.resolve_index(index))
            .collect::<byteshelf::roxxel::Result<Vec<u64>>>()
            .map_err(|e| lib_error(&args.spec, &e))?;
        let records = dataset
            .get_many(&indices)
            .map_err(|e| lib_error(&args.spec, &e))?;
        crate::rox::print_got(args, &records)
    }))
}

/// `rox cat` for a URL: the records in batches; `None` for a local spec.
pub(crate) fn rox_cat(args: &CatArgs) -> Option<Result> {
    let remote = open_source(&args.spec).transpose()?;
    Some(remote.and_then(|remote| {
        let dataset = dataset(&remote)?;
        let (start, end) = match &args.range {
            Some(text) => crate::rox::parse_range(&args.spec, text, dataset.len())?,
            None => (0, dataset.len()),
        };
        let records = dataset
            .range(start..end)
            .map_err(|e| lib_error(&args.spec, &e))?;
        let mut stdout = Stdout::new();
        for record in records {
            let record = record.map_err(|e| lib_error(&args.spec, &e))?;
            match args.sep {
                Separator::Newline => {
                    stdout.bytes(&record)?;
                    stdout.bytes(b"\n")?;
                }
                Separator::None => stdout.bytes(&record)?,
                Separator::U32le => {
                    let len = u32::try_from(record.len()).map_err(|_| {
                        Error::data(
                            Path::new(&args.spec),
                            format!(
                                "a record of {} bytes does not fit a u32 length prefix",
                                record.len()
                            ),
                        )
                    })?;
                    stdout.bytes(&len.to_le_bytes())?;
                    stdout.bytes(&record)?;
                }
            }
        }
        stdout.flush()
    }))
}

/// `rox verify` for a URL: every shard's index checked (the records are not fetched); `None` for a local spec.
/// With `--json`, the object of a local `rox verify --json` (no sidecars or pending recoveries remotely).
pub(crate) fn rox_verify(args: &SpecJsonArgs) -> Option<Result> {
    let remote = open_source(&args.spec).transpose()?;
    Some(remote.and_then(|remote| {
        let dataset = dataset(&remote)?;
        let checked = dataset.verify().map_err(|e| lib_error(&args.spec, &e));
        let shards = dataset.shards().len();
        let index_bytes: u64 = dataset.shards().iter().map(|s| s.len() * 8).sum();
        let mut stdout = Stdout::new();
        if args.json {
            let errors: Vec<Problem> = checked
                .as_ref()
                .err()
                .map(|err| Problem::new(Path::new(&args.spec), None, err))
                .into_iter()
                .collect();
            stdout.json(&serde_json::json!({
                "ok": checked.is_ok(),
                "spec": args.spec,
                "shards": shards,
                "records": dataset.len(),
                "bytes": dataset.shards().iter().map(|s| s.footer().file_len().unwrap_or(0)).sum::<u64>(),
                "checksummed_records": 0,
                "sidecars": 0,
                "short_sidecars": [],
                "pending_recovery": [],
                "errors": errors,
            }))?;
            stdout.flush()?;
            return checked;
        }
        checked?;
        stdout.line(format!(
            "ok: {}: {} records in {} shard{}, {} of index checked",
            args.spec,
            dataset.len(),
            shards,
            if shards == 1 { "" } else { "s" },
            size(index_bytes)
        ))?;
        stdout.flush()
    }))
}

// ---------------------------------------------------------------------------------------------------------------
// map

/// `map get` for a URL: the header, the index and the values asked for; `None` for a local file.
pub(crate) fn map_get(args: &MapGetArgs) -> Option<Result> {
    let spec = args.file.to_str()?;
    let remote = open_source(spec).transpose()?;
    Some(remote.and_then(|remote| {
        let map = BlockingRemoteMapBuffer::open(
            runtime()?,
            Arc::clone(&remote.store),
            remote.path.clone(),
            MapOptions::default(),
        )
        .map_err(|e| lib_error(spec, &e))?;
        let values = map.get_many(&args.keys).map_err(|e| lib_error(spec, &e))?;
        let values = values
            .into_iter()
            .zip(&args.keys)
            .map(|(value, key)| {
                value.ok_or_else(|| Error::data(&args.file, format!("key {key} is not in the map")))
            })
            .collect::<Result<Vec<_>>>()?;
        crate::map::print_got(args, &values)
    }))
}

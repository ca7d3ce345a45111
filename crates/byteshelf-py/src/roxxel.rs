//! `byteshelf.roxxel.Roxxel`: roxxel 0.9.14's core API over `roxxel_format::Dataset`, records as read-only NumPy
//! views of the memory map.

use std::collections::VecDeque;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use byteshelf::remote::ObjectUrl;
use numpy::npyffi::NPY_TYPES;
use numpy::{PyArray1, PyArrayMethods, PyUntypedArray};
use pyo3::exceptions::{PyAttributeError, PyIndexError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyByteArray, PyBytes, PyList, PyRange, PyRangeMethods, PySlice, PyString, PyTuple,
};
use roxxel_format::{
    BlockPacker, BlockingRemoteDataset, Dataset, DatasetSpec, Dtype, OpenOptions, RemoteOptions,
    Writer, WriterOptions,
};

use crate::view::{numpy_type, readonly_array};
use crate::{errors, remote};

/// What one `open()` produced: the dataset, shared with every view handed out (their NumPy base).
#[pyclass(frozen, module = "byteshelf.roxxel")]
pub(crate) struct Mapping {
    _dataset: Arc<Dataset>,
}

struct Open {
    mapping: Py<Mapping>,
    dataset: Arc<Dataset>,
    raw_data: Option<Py<PyAny>>,
    index_table: Option<Py<PyAny>>,
    dtype: String,
}

/// An open remote dataset (`Roxxel("s3://...")`): records are fetched on demand, with the GIL released.
pub(crate) struct RemoteOpen {
    dataset: Arc<BlockingRemoteDataset>,
    dtype: String,
}

struct State {
    filepaths: Vec<String>,
    raw_filepath: Option<String>,
    open: Option<Arc<Open>>,
    remote: Option<Arc<RemoteOpen>>,
}

/// A Roxxel dataset: one or more shards read as one sequence of records (roxxel 0.9.14's `Roxxel`).
#[pyclass(frozen, module = "byteshelf.roxxel")]
pub(crate) struct Roxxel {
    state: Mutex<State>,
    verify_checksums: bool,
    /// The URL the dataset was created with (`s3://...`, `https://...`, `file://...`): read remotely.
    url: Option<String>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A path-like argument (`str`, `os.PathLike`) as a string.
fn path_text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(text) = obj.cast::<PyString>() {
        return Ok(text.to_cow()?.into_owned());
    }
    let fspath = obj.py().import("os")?.getattr("fspath")?.call1((obj,))?;
    match fspath.cast::<PyString>() {
        Ok(text) => Ok(text.to_cow()?.into_owned()),
        Err(_) => Err(PyTypeError::new_err(
            "paths must be str or os.PathLike[str]",
        )),
    }
}

/// A resolved record index: negative counts from the end; out of range is IndexError.
fn resolve(index: i64, len: u64) -> PyResult<u64> {
    let resolved = if index < 0 {
        i128::from(len) + i128::from(index)
    } else {
        i128::from(index)
    };
    if resolved < 0 || resolved >= i128::from(len) {
        return Err(PyIndexError::new_err("Record index out of range."));
    }
    Ok(resolved as u64)
}

/// The records a `range(start, start + count * step, step)` asks for, as one ascending run of positions, when it is
/// one (`step` 1, its indices all of one sign); `None` when it is empty or not such a run. An index outside the
/// dataset raises the `IndexError` that resolving it one by one would.
fn contiguous_run(start: i64, step: i64, count: usize, len: u64) -> PyResult<Option<Range<u64>>> {
    if step != 1 || count == 0 {
        return Ok(None);
    }
    let Some(last) = i64::try_from(count - 1)
        .ok()
        .and_then(|back| start.checked_add(back))
    else {
        return Ok(None);
    };
    let (first, last) = (resolve(start, len)?, resolve(last, len)?);
    Ok((first <= last && last - first + 1 == count as u64).then_some(first..last + 1))
}

/// `gather` of the consecutive records `run` of a local dataset: each shard's part of the run is one span of its
/// payload, copied in one go once every record in it has been read (checked as [`Dataset::range`] checks them) and
/// found to be the size of the run's first record. Returns the bytes and that size.
fn gather_run(dataset: &Dataset, run: Range<u64>) -> Result<(Vec<u8>, usize), PyErrState> {
    // Each shard's part: the shard, and the run's records in it, by position in the shard.
    let mut parts = Vec::new();
    if let Some((first, mut local)) = dataset.locate(run.start) {
        let mut left = run.end - run.start;
        for shard in dataset.shards().get(first..).unwrap_or_default() {
            if left == 0 {
                break;
            }
            let take = shard.len().saturating_sub(local).min(left);
            parts.push((shard, local..local + take));
            left -= take;
            local = 0;
        }
    }
    // The bytes the spans hold (within the map, so never more than the files): the reservation. A bad span is
    // left to the reads below, which name the first bad record.
    let bytes = parts
        .iter()
        .map(|(shard, part)| shard.range_bytes(part.clone()).map_or(0, <[u8]>::len))
        .sum();
    let mut out = Vec::with_capacity(bytes);
    let mut width = None;
    let mut index = run.start;
    for (shard, part) in parts {
        for record in shard.range(part.clone()).map_err(PyErrState::Roxxel)? {
            let len = record.map_err(PyErrState::Roxxel)?.len();
            match width {
                None => width = Some(len),
                Some(w) if w != len => return Err(PyErrState::Ragged(index, len, w)),
                Some(_) => {}
            }
            index += 1;
        }
        out.extend_from_slice(shard.range_bytes(part).map_err(PyErrState::Roxxel)?);
    }
    Ok((out, width.unwrap_or(0)))
}

/// The bytes of `gather`'s records, `width` each, as a 2-D array; `rows` when the records are empty.
fn into_rows(
    py: Python<'_>,
    data: Vec<u8>,
    width: usize,
    rows: usize,
) -> PyResult<Bound<'_, PyAny>> {
    let rows = data.len().checked_div(width).unwrap_or(rows);
    PyArray1::from_vec(py, data)
        .reshape([rows, width])
        .map(Bound::into_any)
}

/// The URL of each shard of a remote dataset: the scheme and host of `spec`, then the object path.
fn shard_urls(spec: &str, dataset: &BlockingRemoteDataset) -> Vec<String> {
    let base = spec.find("://").map_or("", |at| {
        let after = &spec[at + 3..];
        &spec[..at + 3 + after.find('/').unwrap_or(after.len())]
    });
    dataset
        .shards()
        .iter()
        .map(|shard| format!("{base}/{}", shard.path().display()))
        .collect()
}

/// Records fetched per request plan when iterating over a remote dataset.
const REMOTE_BATCH: u64 = 1024;

impl Roxxel {
    fn opened(&self, py: Python<'_>) -> PyResult<Arc<Open>> {
        if let Some(open) = lock(&self.state).open.clone() {
            return Ok(open);
        }
        self.open_now(py)
    }

    /// The open remote dataset, when the dataset was created from a URL (opened now if needed).
    fn remote(&self, py: Python<'_>) -> PyResult<Option<Arc<RemoteOpen>>> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        if let Some(open) = lock(&self.state).remote.clone() {
            return Ok(Some(open));
        }
        let parsed = remote::parse(url)?;
        let runtime = remote::runtime()?;
        // `verify_checksums=True` fetches each shard's `.crc` sidecar object, as it reads local sidecars.
        let options = RemoteOptions::default().verify_checksums(self.verify_checksums);
        let dataset = py.detach(move || -> PyResult<BlockingRemoteDataset> {
            let spec = runtime
                .block_on(parsed.dataset_spec())
                .map_err(errors::sparse)?
                .map_err(|e| errors::url(&e))?;
            BlockingRemoteDataset::open(runtime, Arc::clone(parsed.store()), spec, &options)
                .map_err(errors::roxxel)
        })?;
        let dtype = dataset
            .shards()
            .first()
            .map(|shard| shard.footer().effective_dtype().to_string())
            .unwrap_or_else(|| "uint8".to_owned());
        let filepaths = shard_urls(url, &dataset);
        let open = Arc::new(RemoteOpen {
            dataset: Arc::new(dataset),
            dtype,
        });
        let mut state = lock(&self.state);
        state.filepaths = filepaths;
        state.remote = Some(open.clone());
        Ok(Some(open))
    }

    /// Records `indices` of a remote dataset, fetched in one plan without the GIL, as read-only uint8 arrays.
    fn remote_records<'py>(
        py: Python<'py>,
        open: &RemoteOpen,
        indices: Vec<u64>,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let dataset = open.dataset.clone();
        let records = py
            .detach(move || dataset.get_many(&indices))
            .map_err(errors::roxxel)?;
        remote::arrays(py, records)
    }

    /// `ds[i]` / `ds[a:b:c]` of a remote dataset: a slice's records come in one request plan.
    fn remote_getitem<'py>(
        py: Python<'py>,
        open: &RemoteOpen,
        idx: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let len = open.dataset.len();
        if let Ok(slice) = idx.cast::<PySlice>() {
            let len =
                isize::try_from(len).map_err(|_| PyValueError::new_err("too many records"))?;
            let ind = slice.indices(len)?;
            let indices: Vec<u64> = (0..ind.slicelength)
                .map(|n| (ind.start + n as isize * ind.step) as u64)
                .collect();
            return PyList::new(py, Self::remote_records(py, open, indices)?).map(Bound::into_any);
        }
        let index: i64 = idx
            .extract()
            .map_err(|_| PyTypeError::new_err("record indices must be integers or slices"))?;
        let index = resolve(index, len)?;
        let mut records = Self::remote_records(py, open, vec![index])?;
        records
            .pop()
            .ok_or_else(|| PyIndexError::new_err("Record index out of range."))
    }

    fn read_only(&self) -> PyResult<()> {
        match &self.url {
            Some(url) => Err(PyValueError::new_err(format!(
                "{url}: a remote dataset is read-only (write locally, then upload the shards)"
            ))),
            None => Ok(()),
        }
    }

    fn open_now(&self, py: Python<'_>) -> PyResult<Arc<Open>> {
        let (paths, raw) = {
            let state = lock(&self.state);
            if let Some(open) = &state.open {
                return Ok(open.clone());
            }
            (state.filepaths.clone(), state.raw_filepath.clone())
        };
        if paths.is_empty() {
            return Err(pyo3::exceptions::PyFileNotFoundError::new_err(
                "No matching files found for the specified dataset path/pattern.",
            ));
        }
        let verify = self.verify_checksums;
        let dataset = py
            .detach(move || -> roxxel_format::Result<Dataset> {
                let options = OpenOptions::new().verify_checksums(verify);
                match (&raw, paths.as_slice()) {
                    // One path as given: a file, a directory, or the path a sharded dataset was written to.
                    (Some(raw), [only]) if raw == only => {
                        options.open(DatasetSpec::from(raw.as_str()))
                    }
                    // A list, or the files a pattern matched: each entry resolved as roxxel 0.9.14 does, in order.
                    _ => {
                        let mut files = Vec::new();
                        for path in &paths {
                            match DatasetSpec::Path(PathBuf::from(path)).resolve() {
                                Ok(found) => files.extend(found),
                                Err(roxxel_format::Error::NoShards { .. }) => {}
                                Err(err) => return Err(err),
                            }
                        }
                        options.open(DatasetSpec::Paths(files))
                    }
                }
            })
            .map_err(errors::roxxel)?;
        let dataset = Arc::new(dataset);
        let mapping = Py::new(
            py,
            Mapping {
                _dataset: dataset.clone(),
            },
        )?;
        let shards = dataset.shards();
        let dtype = shards
            .first()
            .map(|shard| shard.footer().effective_dtype().to_string())
            .unwrap_or_else(|| "uint8".to_owned());
        let (raw_data, index_table) = if shards.len() == 1 {
            let raw = shards[0].raw_data();
            // SAFETY: the payload lives in the map owned by `dataset`, which the mapping keeps alive.
            let array = unsafe {
                readonly_array(
                    py,
                    mapping.bind(py).as_any(),
                    raw.as_ptr(),
                    raw.len(),
                    NPY_TYPES::NPY_UBYTE,
                )?
            };
            let ends = index_ends(&dataset)?;
            let table = PyArray1::from_vec(py, ends);
            table.readwrite().make_nonwriteable();
            (Some(array.unbind()), Some(table.into_any().unbind()))
        } else {
            (None, None)
        };
        let open = Arc::new(Open {
            mapping,
            dataset,
            raw_data,
            index_table,
            dtype,
        });
        let mut state = lock(&self.state);
        // Python's glob keeps a leading `./` of the pattern; so do we, so that the paths compare equal.
        let dot = state
            .raw_filepath
            .as_deref()
            .or(state.filepaths.first().map(String::as_str))
            .is_some_and(|p| p.starts_with("./"));
        state.filepaths = open
            .dataset
            .shards()
            .iter()
            .map(|s| {
                let path = s.path().to_string_lossy().into_owned();
                if dot && !path.starts_with("./") && !path.starts_with('/') {
                    format!("./{path}")
                } else {
                    path
                }
            })
            .collect();
        state.open = Some(open.clone());
        Ok(open)
    }

    fn view<'py>(py: Python<'py>, open: &Open, index: u64) -> PyResult<Bound<'py, PyAny>> {
        let record = if open
            .dataset
            .shards()
            .iter()
            .any(|s| s.checksums().is_some())
        {
            // A CRC-32C check per read: without the GIL.
            let dataset = open.dataset.clone();
            let (ptr, len) = py
                .detach(move || dataset.get(index).map(|r| (r.as_ptr() as usize, r.len())))
                .map_err(errors::roxxel)?;
            (ptr as *const u8, len)
        } else {
            let r = open.dataset.get(index).map_err(errors::roxxel)?;
            (r.as_ptr(), r.len())
        };
        // SAFETY: the record lies in the map owned by the dataset, which the mapping (the array's base) keeps.
        unsafe {
            readonly_array(
                py,
                open.mapping.bind(py).as_any(),
                record.0,
                record.1,
                NPY_TYPES::NPY_UBYTE,
            )
        }
    }

    fn write_path(&self, sharded: bool) -> PyResult<String> {
        let state = lock(&self.state);
        let base = match (state.filepaths.first(), &state.raw_filepath) {
            (Some(first), _) => first.clone(),
            (None, Some(raw)) => raw.clone(),
            (None, None) => {
                return Err(PyValueError::new_err("No filepath specified to write to."));
            }
        };
        let base = if sharded {
            base.strip_suffix(".rox").unwrap_or(&base).to_owned()
        } else {
            base
        };
        Ok(base.replace(['*', '?'], "base"))
    }

    fn close_now(&self) {
        let mut state = lock(&self.state);
        state.open = None;
        state.remote = None;
    }
}

/// The end offset of every record of a one-shard dataset, from the records' places in the payload.
fn index_ends(dataset: &Dataset) -> PyResult<Vec<i64>> {
    let Some(shard) = dataset.shards().first() else {
        return Ok(Vec::new());
    };
    let base = shard.raw_data().as_ptr() as usize;
    (0..shard.len())
        .map(|i| {
            let record = shard.get(i).map_err(errors::roxxel)?;
            Ok((record.as_ptr() as usize - base + record.len()) as i64)
        })
        .collect()
}

/// One item of a write: its bytes.
enum Item<'py> {
    Py(Bound<'py, PyBytes>),
    Owned(Vec<u8>),
}

impl Item<'_> {
    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::Py(bytes) => bytes.as_bytes(),
            Self::Owned(bytes) => bytes,
        }
    }
}

/// The bytes of one item of a write, and the dtype it implies (NumPy arrays only).
fn item_bytes<'py>(item: &Bound<'py, PyAny>) -> PyResult<(Item<'py>, Option<String>)> {
    if let Ok(bytes) = item.cast::<PyBytes>() {
        return Ok((Item::Py(bytes.clone()), None));
    }
    if let Ok(text) = item.cast::<PyString>() {
        return Ok((Item::Py(text.encode_utf8()?), None));
    }
    if let Ok(array) = item.cast::<PyByteArray>() {
        return Ok((Item::Owned(array.to_vec()), None));
    }
    if item.is_instance_of::<PyUntypedArray>() {
        let dtype = item.getattr("dtype")?.str()?.to_cow()?.into_owned();
        let bytes = item.call_method0("tobytes")?.cast_into::<PyBytes>()?;
        return Ok((Item::Py(bytes), Some(dtype)));
    }
    Err(PyTypeError::new_err(
        "Data generator items must be strings, raw bytes/bytearrays, or numpy arrays.",
    ))
}

/// Items are handed to the writer (without the GIL) in batches of about this many bytes.
const BATCH_BYTES: usize = 1 << 20;

/// Writes `items` through `push` (with the GIL released), opening the writer once the first item gives the
/// dtype.
fn write_items(
    py: Python<'_>,
    items: &Bound<'_, PyAny>,
    dtype: Option<String>,
    options: WriterOptions,
    path: &str,
    mut push: impl FnMut(&mut Writer, &[u8]) -> roxxel_format::Result<()> + Send,
    finish: impl FnOnce(&mut Writer) -> roxxel_format::Result<()> + Send,
) -> PyResult<u64> {
    let mut writer: Option<Writer> = None;
    let mut dtype = dtype;
    let mut batch: Vec<u8> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut flush = |writer: &mut Writer, batch: &mut Vec<u8>, ends: &mut Vec<usize>| {
        let result = py.detach(|| {
            let mut start = 0;
            for &end in ends.iter() {
                push(writer, &batch[start..end])?;
                start = end;
            }
            Ok(())
        });
        batch.clear();
        ends.clear();
        result.map_err(errors::roxxel)
    };
    for item in items.try_iter()? {
        let item = item?;
        let (bytes, item_dtype) = item_bytes(&item)?;
        if writer.is_none() {
            let name = dtype.get_or_insert_with(|| item_dtype.unwrap_or_else(|| "uint8".into()));
            let dtype = Dtype::new(name).map_err(errors::roxxel)?;
            let options = options.clone().dtype(dtype);
            let path = path.to_owned();
            writer = Some(
                py.detach(move || options.open(path))
                    .map_err(errors::roxxel)?,
            );
        }
        batch.extend_from_slice(bytes.as_bytes());
        ends.push(batch.len());
        if batch.len() >= BATCH_BYTES
            && let Some(writer) = writer.as_mut()
        {
            flush(writer, &mut batch, &mut ends)?;
        }
    }
    let Some(mut writer) = writer else {
        // Nothing to write: the dataset is left exactly as it was.
        return Ok(0);
    };
    flush(&mut writer, &mut batch, &mut ends)?;
    py.detach(move || {
        finish(&mut writer)?;
        if writer.records_written() == 0 {
            // Only empty items: nothing to add, so nothing changes (not even a new empty file).
            return writer.abort().map(|()| 0);
        }
        writer.finish().map(|summary| summary.records_written)
    })
    .map_err(errors::roxxel)
}

#[pymethods]
impl Roxxel {
    /// The footer magic of the shards this class writes.
    #[classattr]
    const MAGIC_SIGNATURE: &'static [u8] = b"ROXXEL02";

    #[new]
    #[pyo3(signature = (filepath = None, *, verify_checksums = false))]
    fn new(filepath: Option<&Bound<'_, PyAny>>, verify_checksums: bool) -> PyResult<Self> {
        let (filepaths, raw_filepath) = match filepath {
            None => (
                vec!["./stream_reservoir.rox".to_owned()],
                Some("./stream_reservoir.rox".to_owned()),
            ),
            Some(obj) if obj.is_instance_of::<PyList>() => {
                let mut paths = Vec::new();
                for entry in obj.try_iter()? {
                    let path = path_text(&entry?)?;
                    if ObjectUrl::is_url(&path) {
                        return Err(PyValueError::new_err(format!(
                            "{path}: a remote dataset is opened from one URL (an object, a prefix ending in `/`, \
                             or a glob such as s3://bucket/ds_*.rox), not a list"
                        )));
                    }
                    paths.push(path);
                }
                (paths, None)
            }
            Some(obj) => {
                let text = path_text(obj).map_err(|_| {
                    PyTypeError::new_err(
                        "filepath must be a string (file/pattern), os.PathLike, or a list of strings.",
                    )
                })?;
                if ObjectUrl::is_url(&text) {
                    // Checked now (a URL naming no store is a ValueError here), opened on first use.
                    remote::parse(&text)?;
                    return Ok(Self {
                        state: Mutex::new(State {
                            filepaths: vec![text.clone()],
                            raw_filepath: Some(text.clone()),
                            open: None,
                            remote: None,
                        }),
                        verify_checksums,
                        url: Some(text),
                    });
                }
                let paths = if text.contains(['*', '?']) {
                    let dot = text.starts_with("./");
                    match DatasetSpec::Pattern(text.clone()).resolve() {
                        Ok(found) => found
                            .iter()
                            .map(|p| {
                                let p = p.to_string_lossy();
                                if dot && !p.starts_with("./") {
                                    format!("./{p}")
                                } else {
                                    p.into_owned()
                                }
                            })
                            .collect(),
                        Err(_) => Vec::new(),
                    }
                } else {
                    vec![text.clone()]
                };
                (paths, Some(text))
            }
        };
        Ok(Self {
            state: Mutex::new(State {
                filepaths,
                raw_filepath,
                open: None,
                remote: None,
            }),
            verify_checksums,
            url: None,
        })
    }

    /// The shard files (resolved by `open()`).
    #[getter]
    fn filepaths(&self) -> Vec<String> {
        lock(&self.state).filepaths.clone()
    }

    #[setter]
    fn set_filepaths(&self, paths: Vec<String>) {
        lock(&self.state).filepaths = paths;
    }

    /// The string the dataset was created with (None for a list).
    #[getter]
    fn raw_filepath(&self) -> Option<String> {
        lock(&self.state).raw_filepath.clone()
    }

    /// Maps every shard (checked: footer, sizes, index bounds). Idempotent.
    fn open(&self, py: Python<'_>) -> PyResult<()> {
        if self.remote(py)?.is_some() {
            return Ok(());
        }
        self.open_now(py).map(drop)
    }

    /// Drops the maps. Arrays handed out earlier stay valid (they keep their map alive).
    fn close(&self) {
        self.close_now();
    }

    fn __enter__(slf: Py<Self>, py: Python<'_>) -> PyResult<Py<Self>> {
        slf.get().open(py)?;
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) {
        self.close_now();
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let len = match self.remote(py)? {
            Some(remote) => remote.dataset.len(),
            None => self.opened(py)?.dataset.len(),
        };
        usize::try_from(len).map_err(|_| PyValueError::new_err("too many records"))
    }

    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        idx: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if let Some(remote) = self.remote(py)? {
            return Self::remote_getitem(py, &remote, idx);
        }
        let open = self.opened(py)?;
        let len = open.dataset.len();
        if let Ok(slice) = idx.cast::<PySlice>() {
            let len =
                isize::try_from(len).map_err(|_| PyValueError::new_err("too many records"))?;
            let ind = slice.indices(len)?;
            let list = PyList::empty(py);
            let mut i = ind.start;
            for _ in 0..ind.slicelength {
                list.append(Self::view(py, &open, i as u64)?)?;
                i += ind.step;
            }
            return Ok(list.into_any());
        }
        let index: i64 = idx.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "record indices must be integers or slices, not {}",
                idx.get_type()
                    .name()
                    .map_or_else(|_| "?".into(), |n| n.to_string())
            ))
        })?;
        Self::view(py, &open, resolve(index, len)?)
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<RecordIter> {
        if let Some(remote) = self.remote(py)? {
            let end = remote.dataset.len();
            return Ok(RecordIter {
                source: Source::Remote(remote, Mutex::new(VecDeque::new())),
                next: Mutex::new(0),
                end,
            });
        }
        let open = self.opened(py)?;
        let end = open.dataset.len();
        Ok(RecordIter {
            source: Source::Local(open),
            next: Mutex::new(0),
            end,
        })
    }

    /// The payload of a one-shard dataset as a read-only uint8 array over the map (None otherwise, or before
    /// `open()`), as in roxxel.
    #[getter]
    fn raw_data(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let open = lock(&self.state).open.clone()?;
        open.raw_data.as_ref().map(|a| a.clone_ref(py))
    }

    /// The end offset of every record of a one-shard dataset (int64; a read-only copy: the index is copied at
    /// open), None otherwise.
    #[getter]
    fn index_table(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        let open = lock(&self.state).open.clone()?;
        open.index_table.as_ref().map(|a| a.clone_ref(py))
    }

    /// The dtype recorded in the (first) shard's footer; set by `open()`.
    #[getter]
    fn dtype(&self) -> PyResult<String> {
        let state = lock(&self.state);
        if let Some(remote) = &state.remote {
            return Ok(remote.dtype.clone());
        }
        match &state.open {
            Some(open) => Ok(open.dtype.clone()),
            None => Err(PyAttributeError::new_err(
                "'Roxxel' object has no attribute 'dtype' (it is set by open())",
            )),
        }
    }

    /// The payload of a one-shard dataset as a read-only array of the footer's dtype (zero-copy).
    #[getter]
    fn typed_raw_data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if self.remote(py)?.is_some() {
            return Err(PyValueError::new_err(
                "typed_raw_data needs a local dataset (a remote one is not mapped)",
            ));
        }
        let open = self.opened(py)?;
        let [shard] = open.dataset.shards() else {
            return Err(PyValueError::new_err(
                "typed_raw_data needs a dataset of exactly one shard",
            ));
        };
        let (ty, size) = numpy_type(&open.dtype)
            .ok_or_else(|| PyValueError::new_err(format!("unsupported dtype {:?}", open.dtype)))?;
        let raw = shard.raw_data();
        if !raw.len().is_multiple_of(size) || !(raw.as_ptr() as usize).is_multiple_of(size) {
            return Err(errors::roxxel(roxxel_format::Error::TypedView {
                file: shard.path().to_path_buf(),
                len: raw.len(),
                type_name: "dtype",
                size,
                align: size,
                reason: "length is not a multiple of the element size",
            }));
        }
        // SAFETY: the payload lives in the map owned by the dataset, which the mapping keeps alive.
        unsafe {
            readonly_array(
                py,
                open.mapping.bind(py).as_any(),
                raw.as_ptr(),
                raw.len() / size,
                ty,
            )
        }
    }

    /// Records copied into one 2-D uint8 array `[len(indices), record_size]` (every record must have the same
    /// size, as blocks do). Negative indices count from the end. The copy runs without the GIL. A `range` is read
    /// from its bounds (no Python int per index): `gather(range(i, i + 1024))` is the fast sequential pass.
    fn gather<'py>(
        &self,
        py: Python<'py>,
        indices: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let remote = self.remote(py)?;
        let open = match &remote {
            Some(_) => None,
            None => Some(self.opened(py)?),
        };
        let len = match (&remote, &open) {
            (Some(remote), _) => remote.dataset.len(),
            (None, Some(open)) => open.dataset.len(),
            (None, None) => 0,
        };
        let mut wanted = Vec::new();
        if let Ok(range) = indices.cast::<PyRange>() {
            // A `range` (a sequential pass in batches): its indices come from its bounds, not one Python int each.
            let (start, step) = (range.start()? as i64, range.step()? as i64);
            let count = range.len()?;
            // Consecutive records of a local dataset: copied shard by shard, one span of the payload each.
            if let Some(open) = &open
                && let Some(run) = contiguous_run(start, step, count, len)?
            {
                let dataset = open.dataset.clone();
                let (data, width) = py
                    .detach(move || gather_run(&dataset, run))
                    .map_err(PyErrState::into_py)?;
                return into_rows(py, data, width, count);
            }
            // A range has distinct indices, so more than `len` of them cannot all be valid: `resolve` refuses
            // the first bad one; nothing is reserved from the caller's number alone.
            wanted.reserve(count.min(usize::try_from(len).unwrap_or(usize::MAX)));
            for k in 0..count as i64 {
                wanted.push(resolve(start + k * step, len)?);
            }
        } else {
            for index in indices.try_iter()? {
                wanted.push(resolve(index?.extract()?, len)?);
            }
        }
        let local = open.map(|open| open.dataset.clone());
        let remote = remote.map(|remote| remote.dataset.clone());
        let (data, width) = py
            .detach(move || -> Result<(Vec<u8>, usize), PyErrState> {
                let fetched = match &remote {
                    Some(remote) => remote.get_many(&wanted).map_err(PyErrState::Roxxel)?,
                    None => Vec::new(),
                };
                let mut width = None;
                let mut out = Vec::new();
                for (n, &i) in wanted.iter().enumerate() {
                    let record: &[u8] = match (&local, fetched.get(n)) {
                        (Some(local), _) => local.get(i).map_err(PyErrState::Roxxel)?,
                        (None, Some(record)) => record,
                        (None, None) => &[],
                    };
                    match width {
                        None => {
                            width = Some(record.len());
                            // Grows past 64 MiB as records arrive: a huge first record asks for no more.
                            out.reserve(record.len().saturating_mul(wanted.len()).min(64 << 20));
                        }
                        Some(w) if w != record.len() => {
                            return Err(PyErrState::Ragged(i, record.len(), w));
                        }
                        Some(_) => {}
                    }
                    out.extend_from_slice(record);
                }
                Ok((out, width.unwrap_or(0)))
            })
            .map_err(PyErrState::into_py)?;
        into_rows(py, data, width, indices.len().unwrap_or(0))
    }

    /// Checks every shard's whole index, and the records covered by `.crc` sidecars (without the GIL).
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(remote) = self.remote(py)? {
            let dataset = remote.dataset.clone();
            return py.detach(move || dataset.verify()).map_err(errors::roxxel);
        }
        let open = self.opened(py)?;
        let dataset = open.dataset.clone();
        py.detach(move || dataset.verify()).map_err(errors::roxxel)
    }

    /// roxxel 0.9.14's `write()`: packs the items (str as UTF-8, bytes, bytearray, NumPy arrays) into records of
    /// exactly `block_size` bytes, `separator` after each item and as padding (zero bytes without one), into one
    /// file or, with `max_shard_bytes`, shards `{base}_{NNNN}.rox`; appends to an existing dataset. The dtype is
    /// `dtype`, else the first item's. Returns the number of records written. Crash-safe: on any error (the
    /// generator's included) the dataset keeps exactly its old records. An existing file that is not a valid
    /// shard is refused (RoxxelError) unless `overwrite_invalid`.
    #[pyo3(signature = (data_generator, separator = None, block_size = 4096, max_shard_bytes = None, dtype = None, *, overwrite_invalid = false))]
    #[allow(clippy::too_many_arguments)] // Python's signature
    fn write(
        &self,
        py: Python<'_>,
        data_generator: &Bound<'_, PyAny>,
        separator: Option<&Bound<'_, PyAny>>,
        block_size: i64,
        max_shard_bytes: Option<u64>,
        dtype: Option<String>,
        overwrite_invalid: bool,
    ) -> PyResult<u64> {
        self.read_only()?;
        self.close_now();
        let separator: Vec<u8> = match separator {
            None => Vec::new(),
            Some(sep) => {
                if let Ok(b) = sep.cast::<PyBytes>() {
                    b.as_bytes().to_vec()
                } else if let Ok(b) = sep.cast::<PyByteArray>() {
                    b.to_vec()
                } else {
                    return Err(PyTypeError::new_err("separator must be bytes or bytearray"));
                }
            }
        };
        let block_size = usize::try_from(block_size)
            .ok()
            .filter(|&b| b > 0)
            .ok_or_else(|| {
                PyValueError::new_err("block_size must be a positive number of bytes")
            })?;
        let packer = BlockPacker::new(block_size)
            .map_err(errors::roxxel)?
            .separator(separator);
        let mut options = WriterOptions::new().overwrite_invalid(overwrite_invalid);
        if let Some(max) = max_shard_bytes {
            options = options.max_shard_bytes(max);
        }
        let path = self.write_path(max_shard_bytes.is_some())?;
        let packer = Mutex::new(Some(packer));
        write_items(
            py,
            data_generator,
            dtype,
            options,
            &path,
            |writer, item| match lock(&packer).as_mut() {
                Some(packer) => packer.push_to(item, writer),
                None => Ok(()),
            },
            |writer| match lock(&packer).take() {
                Some(packer) => packer.finish_to(writer).map(drop),
                None => Ok(()),
            },
        )
    }

    /// One record per item, as roxxel 0.1.0's `write()` (but empty items are kept unless `skip_empty`), into one
    /// file or shards; appends to an existing dataset. ROXXEL02 footers with `dtype` (default: the first item's).
    /// Returns the number of records written.
    #[pyo3(signature = (data_generator, max_shard_bytes = None, *, dtype = None, skip_empty = false, overwrite_invalid = false))]
    fn write_records(
        &self,
        py: Python<'_>,
        data_generator: &Bound<'_, PyAny>,
        max_shard_bytes: Option<u64>,
        dtype: Option<String>,
        skip_empty: bool,
        overwrite_invalid: bool,
    ) -> PyResult<u64> {
        self.read_only()?;
        self.close_now();
        let mut options = WriterOptions::new()
            .skip_empty_records(skip_empty)
            .overwrite_invalid(overwrite_invalid);
        if let Some(max) = max_shard_bytes {
            options = options.max_shard_bytes(max);
        }
        let path = self.write_path(max_shard_bytes.is_some())?;
        write_items(
            py,
            data_generator,
            dtype,
            options,
            &path,
            |writer, item| writer.push(item),
            |_| Ok(()),
        )
    }

    fn __repr__(&self) -> String {
        let state = lock(&self.state);
        if let Some(remote) = &state.remote {
            return format!(
                "Roxxel({} records in {} remote shards, dtype {})",
                remote.dataset.len(),
                remote.dataset.shards().len(),
                remote.dtype
            );
        }
        match &state.open {
            Some(open) => format!(
                "Roxxel({} records in {} shards, dtype {})",
                open.dataset.len(),
                open.dataset.shards().len(),
                open.dtype
            ),
            None => format!("Roxxel({:?}, closed)", state.filepaths),
        }
    }
}

/// Errors of `gather`'s GIL-free part.
enum PyErrState {
    Roxxel(roxxel_format::Error),
    Ragged(u64, usize, usize),
}

impl PyErrState {
    fn into_py(self) -> PyErr {
        match self {
            Self::Roxxel(err) => errors::roxxel(err),
            Self::Ragged(i, len, width) => PyValueError::new_err(format!(
                "gather needs records of one size: record {i} has {len} bytes, the first has {width}"
            )),
        }
    }
}

/// What a `RecordIter` reads: a local dataset's map, or a remote dataset with the batch fetched ahead.
enum Source {
    Local(Arc<Open>),
    Remote(Arc<RemoteOpen>, Mutex<VecDeque<Py<PyAny>>>),
}

/// Iterator over the records of an open dataset (views, in order; a remote dataset's in batches of
/// `REMOTE_BATCH` records, each batch one request plan).
#[pyclass(frozen, module = "byteshelf.roxxel")]
pub(crate) struct RecordIter {
    source: Source,
    next: Mutex<u64>,
    end: u64,
}

#[pymethods]
impl RecordIter {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let open = match &self.source {
            Source::Local(open) => open,
            Source::Remote(remote, ready) => {
                if let Some(record) = lock(ready).pop_front() {
                    return Ok(Some(record.into_bound(py)));
                }
                let indices: Vec<u64> = {
                    let mut next = lock(&self.next);
                    let until = self.end.min(next.saturating_add(REMOTE_BATCH));
                    let indices = (*next..until).collect();
                    *next = until;
                    indices
                };
                if indices.is_empty() {
                    return Ok(None);
                }
                let records = Roxxel::remote_records(py, remote, indices)?;
                let mut ready = lock(ready);
                ready.extend(records.into_iter().map(Bound::unbind));
                return Ok(ready.pop_front().map(|record| record.into_bound(py)));
            }
        };
        let index = {
            let mut next = lock(&self.next);
            if *next >= self.end {
                return Ok(None);
            }
            *next += 1;
            *next - 1
        };
        Roxxel::view(py, open, index).map(Some)
    }
}

//! Reading from object storage: `Roxxel("s3://bucket/ds_*.rox")` (in `roxxel.rs`) and
//! `MapBuffer.open_url(url)` (the `RemoteMapBuffer` class here), through the Rust remote readers.
//!
//! A URL is turned into a store by `byteshelf::remote::ObjectUrl` (the byteshelf command does the same): S3
//! credentials, region and endpoint come from the standard `AWS_*` environment variables. Every remote read runs
//! on one multi-thread tokio runtime owned by the module, with the GIL released, so Python threads read in
//! parallel.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use byteshelf::mapbuffer::{BlockingRemoteMapBuffer, RemoteOptions as MapOptions};
use byteshelf::remote::ObjectUrl;
use numpy::npyffi::NPY_TYPES;
use pyo3::exceptions::{PyKeyError, PyOSError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use sparse_buffer::BlockingRuntime;

use crate::errors;
use crate::view::readonly_array;

/// The runtime every remote read of the process runs on: two worker threads drive the I/O; the Python threads
/// block on their own futures with the GIL released.
pub(crate) fn runtime() -> PyResult<BlockingRuntime> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    match RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("byteshelf-io")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    }) {
        Ok(runtime) => Ok(BlockingRuntime::handle(runtime.handle().clone())),
        Err(err) => Err(PyOSError::new_err(format!(
            "cannot start the I/O runtime: {err}"
        ))),
    }
}

/// The store and path of `spec`, a URL (`ObjectUrl::is_url(spec)` holds).
pub(crate) fn parse(spec: &str) -> PyResult<ObjectUrl> {
    ObjectUrl::parse(spec)
        .map_err(|e| errors::url(&e))?
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err(format!("{spec} is not a URL")))
}

/// Fetched records, the base of the NumPy arrays handed out over them (the bytes never change or move).
#[pyclass(frozen, module = "byteshelf")]
pub(crate) struct Fetched {
    records: Vec<Bytes>,
}

/// Read-only uint8 arrays over `records`, without copying (their base keeps the bytes alive).
pub(crate) fn arrays<'py>(
    py: Python<'py>,
    records: Vec<Bytes>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let owner = Bound::new(py, Fetched { records })?;
    let fetched = owner.get();
    fetched
        .records
        .iter()
        .map(|record| {
            // SAFETY: `Bytes` is immutable and does not move its contents; `owner`, the array's base, holds it.
            unsafe {
                readonly_array(
                    py,
                    owner.as_any(),
                    record.as_ptr(),
                    record.len(),
                    NPY_TYPES::NPY_UBYTE,
                )
            }
        })
        .collect()
}

/// A MapBuffer in object storage, read through the remote reader: the header and index are fetched when needed,
/// each value on demand (one request, or one coalesced plan for `get_many`); every value's CRC-32C is checked.
/// Made by `MapBuffer.open_url(url)`; read-only.
#[pyclass(frozen, module = "byteshelf.mapbuffer")]
pub(crate) struct RemoteMapBuffer {
    map: Arc<BlockingRemoteMapBuffer>,
    url: String,
    #[pyo3(get)]
    frombytesfn: Option<Py<PyAny>>,
}

impl RemoteMapBuffer {
    /// Opens `url` (header and index checked) with the GIL released.
    pub(crate) fn open(
        py: Python<'_>,
        url: &str,
        check_crc: bool,
        frombytesfn: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        let parsed = parse(url)?;
        let runtime = runtime()?;
        let map = py
            .detach(move || {
                BlockingRemoteMapBuffer::open(
                    runtime,
                    Arc::clone(parsed.store()),
                    parsed.path().clone(),
                    MapOptions::default().check_crc(check_crc),
                )
            })
            .map_err(|e| errors::mapbuffer_at(url, e))?;
        Ok(Self {
            map: Arc::new(map),
            url: url.to_owned(),
            frombytesfn,
        })
    }

    fn finish(&self, py: Python<'_>, value: &[u8]) -> PyResult<Py<PyAny>> {
        let bytes = PyBytes::new(py, value).into_any();
        match &self.frombytesfn {
            Some(f) => f.call1(py, (bytes,)),
            None => Ok(bytes.unbind()),
        }
    }

    fn fetch(&self, py: Python<'_>, key: u64) -> PyResult<Option<Bytes>> {
        let map = Arc::clone(&self.map);
        py.detach(move || map.get(key))
            .map_err(|e| errors::mapbuffer_at(&self.url, e))
    }

    /// The value of `label` as Python sees it (through `frombytesfn`), or None for a missing key or a label that
    /// is not a key.
    fn value_of(&self, py: Python<'_>, label: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
        match crate::mapbuffer::key_of(label)? {
            Some(key) => self
                .fetch(py, key)?
                .map(|value| self.finish(py, &value))
                .transpose(),
            None => Ok(None),
        }
    }

    fn all(&self, py: Python<'_>) -> PyResult<Vec<(u64, Bytes)>> {
        let map = Arc::clone(&self.map);
        py.detach(move || map.iter().collect::<Result<Vec<_>, _>>())
            .map_err(|e| errors::mapbuffer_at(&self.url, e))
    }
}

#[pymethods]
impl RemoteMapBuffer {
    fn __len__(&self) -> usize {
        self.map.len()
    }

    /// The URL the map was opened from.
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// The object's size in bytes.
    #[getter]
    fn nbytes(&self) -> u64 {
        self.map.size()
    }

    /// The format version (0 or 1) from the header.
    #[getter]
    fn format_version(&self) -> u8 {
        self.map.header().version.to_byte()
    }

    /// The codec name (`gzip`, `br`, `zstd`, `lzma`) or None.
    #[getter]
    fn compress(&self) -> Option<&'static str> {
        match self.map.header().codec {
            mapbuffer::Codec::None => None,
            other => Some(other.name()),
        }
    }

    fn __getitem__(&self, py: Python<'_>, label: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.value_of(py, label)?
            .ok_or_else(|| PyKeyError::new_err(format!("{label} was not found.")))
    }

    #[pyo3(signature = (label, default = None))]
    fn get(
        &self,
        py: Python<'_>,
        label: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        Ok(self
            .value_of(py, label)?
            .unwrap_or_else(|| default.unwrap_or_else(|| py.None())))
    }

    /// The values of `keys` (None for a missing key), fetched in one coalesced plan.
    fn get_many<'py>(&self, py: Python<'py>, keys: Vec<u64>) -> PyResult<Bound<'py, PyList>> {
        let map = Arc::clone(&self.map);
        let values = py
            .detach(move || map.get_many(&keys))
            .map_err(|e| errors::mapbuffer_at(&self.url, e))?;
        let list = PyList::empty(py);
        for value in values {
            match value {
                Some(value) => list.append(self.finish(py, &value)?)?,
                None => list.append(py.None())?,
            }
        }
        Ok(list)
    }

    fn __contains__(&self, py: Python<'_>, label: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Some(key) = crate::mapbuffer::key_of(label)? else {
            return Ok(false);
        };
        let map = Arc::clone(&self.map);
        py.detach(move || map.contains(key))
            .map_err(|e| errors::mapbuffer_at(&self.url, e))
    }

    /// The keys in key order (fetches the index).
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let keys: Vec<u64> = self.all(py)?.into_iter().map(|(k, _)| k).collect();
        PyList::new(py, keys)
    }

    /// The values in key order (fetches the whole map).
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (_, value) in self.all(py)? {
            list.append(self.finish(py, &value)?)?;
        }
        Ok(list)
    }

    /// `(key, value)` pairs in key order (fetches the whole map).
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for (key, value) in self.all(py)? {
            let key = key.into_pyobject(py)?.into_any().unbind();
            list.append(PyTuple::new(py, [key, self.finish(py, &value)?])?)?;
        }
        Ok(list)
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.keys(py)?.try_iter().map(Bound::into_any)
    }

    /// Checks the whole map (header, offsets, key order, every CRC-32C), fetching it; True or ValidationError.
    fn validate(&self, py: Python<'_>) -> PyResult<bool> {
        let map = Arc::clone(&self.map);
        py.detach(move || map.verify())
            .map_err(|e| errors::mapbuffer_at(&self.url, e))?;
        Ok(true)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) {}

    fn __repr__(&self) -> String {
        format!("RemoteMapBuffer({:?}, {} keys)", self.url, self.map.len())
    }
}

//! `byteshelf.stream_buffer.StreamBuffer`: the `buffer` package's `StreamBuffer(stream, size, max_size)` over
//! `byteshelf_stream_buffer::StreamBuffer`: correct skip-ahead reads, thread-safe, the GIL released while it
//! pulls, spools and reads.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList, PySlice, PyTuple};
use stream_buffer::{StreamBuffer as RustStreamBuffer, StreamBufferBuilder};

use crate::errors;

/// The first Python exception the stream raised, re-raised by every read that reaches it.
type Raised = Arc<Mutex<Option<PyErr>>>;

/// A Python iterator of bytes-like chunks, pulled with the GIL taken for each `next()`.
struct PyChunks {
    iterator: Py<PyAny>,
    raised: Raised,
}

impl Iterator for PyChunks {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        Python::attach(|py| {
            let result = (|| -> PyResult<Option<Vec<u8>>> {
                let iterator = self.iterator.bind(py);
                let Some(item) = iterator.try_iter()?.next() else {
                    return Ok(None);
                };
                let item = item?;
                if let Ok(b) = item.cast::<PyBytes>() {
                    return Ok(Some(b.as_bytes().to_vec()));
                }
                if let Ok(b) = item.cast::<PyByteArray>() {
                    return Ok(Some(b.to_vec()));
                }
                let converted = py
                    .import("builtins")?
                    .getattr("memoryview")?
                    .call1((&item,))
                    .and_then(|view| view.call_method0("tobytes"))
                    .map_err(|_| {
                        PyTypeError::new_err(format!(
                            "stream chunks must be bytes-like, got {}",
                            item.get_type()
                                .name()
                                .map_or_else(|_| "?".into(), |n| n.to_string())
                        ))
                    })?;
                Ok(Some(converted.cast::<PyBytes>()?.as_bytes().to_vec()))
            })();
            match result {
                Ok(Some(chunk)) => Some(Ok(chunk)),
                Ok(None) => None,
                Err(err) => {
                    let message = err.to_string();
                    let mut slot = self.raised.lock().unwrap_or_else(PoisonError::into_inner);
                    slot.get_or_insert(err);
                    Some(Err(io::Error::other(message)))
                }
            }
        })
    }
}

/// Random access into a forward-only stream of bytes (the `buffer` package's `StreamBuffer`, with correct
/// skip-ahead reads): every byte pulled is kept, the first `max_size` bytes in memory, the rest in a temporary
/// file. Thread-safe; reads of bytes already pulled never wait for a pull.
#[pyclass(frozen, module = "byteshelf.stream_buffer")]
pub(crate) struct StreamBuffer {
    inner: Arc<RustStreamBuffer>,
    raised: Raised,
    #[pyo3(get)]
    size: Option<u64>,
    #[pyo3(get)]
    max_size: usize,
}

impl StreamBuffer {
    fn read_range(&self, py: Python<'_>, offset: u64, len: usize) -> PyResult<Vec<u8>> {
        let inner = self.inner.clone();
        match py.detach(move || inner.read(offset, len)) {
            Ok(bytes) => Ok(bytes.to_vec()),
            Err(err) => Err(self.error(py, err)),
        }
    }

    fn error(&self, py: Python<'_>, err: stream_buffer::Error) -> PyErr {
        let raised = self.raised.lock().unwrap_or_else(PoisonError::into_inner);
        match raised.as_ref() {
            Some(original) if matches!(err, stream_buffer::Error::Source { .. }) => {
                original.clone_ref(py)
            }
            _ => errors::stream(err),
        }
    }

    fn end(&self, py: Python<'_>) -> PyResult<u64> {
        let inner = self.inner.clone();
        py.detach(move || inner.pull_all())
            .map_err(|e| self.error(py, e))
    }
}

#[pymethods]
impl StreamBuffer {
    #[new]
    #[pyo3(signature = (stream, size = None, max_size = 5 * 1024 * 1024))]
    fn new(stream: &Bound<'_, PyAny>, size: Option<i64>, max_size: i64) -> PyResult<Self> {
        let size = size
            .map(|s| {
                u64::try_from(s).map_err(|_| PyValueError::new_err(format!("negative size {s}")))
            })
            .transpose()?;
        let max_size = usize::try_from(max_size)
            .map_err(|_| PyValueError::new_err(format!("negative max_size {max_size}")))?;
        // As Python's SpooledTemporaryFile: max_size 0 never spills to disk.
        let mut builder = StreamBufferBuilder::new().memory_threshold(if max_size == 0 {
            usize::MAX
        } else {
            max_size
        });
        if let Some(size) = size {
            builder = builder.known_len(size);
        }
        let raised: Raised = Arc::new(Mutex::new(None));
        let inner = if let Ok(b) = stream.cast::<PyBytes>() {
            builder.build_from_chunks(std::iter::once(Ok::<_, io::Error>(b.as_bytes().to_vec())))
        } else if let Ok(b) = stream.cast::<PyByteArray>() {
            builder.build_from_chunks(std::iter::once(Ok::<_, io::Error>(b.to_vec())))
        } else {
            let iterator = stream.try_iter().map_err(|_| {
                PyTypeError::new_err("stream must be bytes or an iterable of bytes-like chunks")
            })?;
            builder.build_from_chunks(PyChunks {
                iterator: iterator.into_any().unbind(),
                raised: raised.clone(),
            })
        };
        Ok(Self {
            inner: Arc::new(inner),
            raised,
            size,
            max_size,
        })
    }

    /// `size` bytes from `offset` (fewer at the end of the stream, b"" past it), pulling as far as needed.
    fn read<'py>(&self, py: Python<'py>, offset: i64, size: i64) -> PyResult<Bound<'py, PyBytes>> {
        let offset = u64::try_from(offset)
            .map_err(|_| PyValueError::new_err(format!("negative offset {offset}")))?;
        let size = usize::try_from(size)
            .map_err(|_| PyValueError::new_err(format!("negative size {size}")))?;
        let bytes = self.read_range(py, offset, size)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// `sb[a:b]` is `sb.read(a, b - a)`; an omitted start is 0 and an omitted stop the end of the stream. A
    /// 2-item tuple or list `(a, b)` works too, as in `buffer`.
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (start, stop): (Option<i64>, Option<i64>) = if let Ok(slice) = key.cast::<PySlice>() {
            let step: Option<i64> = slice.getattr("step")?.extract()?;
            if step.is_some_and(|s| s != 1) {
                return Err(PyValueError::new_err("StreamBuffer slices take no step"));
            }
            (
                slice.getattr("start")?.extract()?,
                slice.getattr("stop")?.extract()?,
            )
        } else if key.is_instance_of::<PyTuple>() || key.is_instance_of::<PyList>() {
            let (a, b): (i64, i64) = key.extract()?;
            (Some(a), Some(b))
        } else {
            return Err(PyTypeError::new_err(
                "StreamBuffer indices must be slices or (start, stop) pairs",
            ));
        };
        let start = start.unwrap_or(0);
        if start < 0 || stop.is_some_and(|s| s < 0) {
            return Err(PyValueError::new_err(
                "StreamBuffer slices take non-negative bounds",
            ));
        }
        let stop = match stop {
            Some(stop) => stop,
            None => i64::try_from(self.end(py)?).unwrap_or(i64::MAX),
        };
        self.read(py, start, (stop - start).max(0))
    }

    /// Bytes pulled from the stream so far.
    #[getter]
    fn stream_index(&self) -> u64 {
        self.inner.pulled()
    }

    /// Whether the stream has no more bytes (pulls one more chunk to find out, keeping it).
    fn is_exhausted(&self, py: Python<'_>) -> PyResult<bool> {
        if self.size.is_some_and(|size| self.inner.pulled() >= size) {
            return Ok(true);
        }
        if !self.inner.is_exhausted() {
            let inner = self.inner.clone();
            py.detach(move || inner.read(inner.pulled(), 1))
                .map_err(|e| self.error(py, e))?;
        }
        Ok(self.inner.is_exhausted())
    }

    /// The stream's length once it has ended (or the declared `size`), else None.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        let end = self.end(py)?;
        usize::try_from(end).map_err(|_| PyValueError::new_err("stream too long"))
    }

    /// Whether pulled bytes beyond `max_size` went to the temporary file.
    #[getter]
    fn spilled(&self) -> bool {
        self.inner.is_spilled()
    }

    /// Pulls the whole stream and writes it to `path` (atomically); returns its length.
    fn persist(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<u64> {
        let inner = self.inner.clone();
        py.detach(move || inner.persist(path))
            .map_err(|e| self.error(py, e))
    }

    fn __repr__(&self) -> String {
        format!(
            "StreamBuffer({} bytes pulled, size {:?})",
            self.inner.pulled(),
            self.size
        )
    }
}

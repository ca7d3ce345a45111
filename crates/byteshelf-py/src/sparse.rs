//! `byteshelf._native.SparseBuffer`: roboto's `SparseBuffer` over `sparse_buffer::SparseBuffer`; the Python
//! class `byteshelf.sparse_buffer.SparseBuffer` (an `io.RawIOBase`) wraps it.

use std::io::SeekFrom;
use std::sync::{Mutex, MutexGuard, PoisonError};

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};
use sparse_buffer::{ReadAt, SparseBuffer as RustSparseBuffer};

use crate::errors;

/// Copies above this size run without the GIL.
const DETACH_BYTES: usize = 64 * 1024;
/// A read allocates at most this much at a time (it stops early at the end of a region).
const READ_STEP: usize = 1 << 20;

#[pyclass(frozen, module = "byteshelf._native", name = "SparseBuffer")]
pub(crate) struct SparseBuffer {
    inner: Mutex<RustSparseBuffer>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn offset_of(value: i64, what: &str) -> PyResult<u64> {
    u64::try_from(value).map_err(|_| PyValueError::new_err(format!("negative {what} {value}")))
}

fn bytes_of(data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = data.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = data.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    let converted = data
        .py()
        .import("builtins")?
        .getattr("memoryview")?
        .call1((data,))
        .and_then(|view| view.call_method0("tobytes"))
        .map_err(|_| PyTypeError::new_err("data must be a bytes-like object"))?;
    Ok(converted.cast::<PyBytes>()?.as_bytes().to_vec())
}

#[pymethods]
impl SparseBuffer {
    #[new]
    fn new(file_size: i64) -> PyResult<Self> {
        Ok(Self {
            inner: Mutex::new(RustSparseBuffer::new(offset_of(file_size, "file_size")?)),
        })
    }

    #[getter]
    fn size(&self) -> u64 {
        lock(&self.inner).size()
    }

    /// Stores `data` at `offset`; merges with touching or overlapping regions, the new bytes winning.
    fn add_region(&self, py: Python<'_>, offset: i64, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let offset = offset_of(offset, "offset")?;
        let data = bytes_of(data)?;
        let add = |data: Vec<u8>| lock(&self.inner).add_region(offset, data);
        if data.len() > DETACH_BYTES {
            py.detach(|| add(data))
        } else {
            add(data)
        }
        .map_err(errors::sparse)
    }

    /// The bytes of `[start, start + size)` if one region holds them all, else None.
    fn find_region<'py>(
        &self,
        py: Python<'py>,
        start: i64,
        size: i64,
    ) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let (Ok(start), Ok(size)) = (u64::try_from(start), u64::try_from(size)) else {
            return Err(PyValueError::new_err(format!(
                "find_region needs a non-negative start and size, got {start}, {size}"
            )));
        };
        let found = lock(&self.inner).find_region(start, size);
        Ok(found.map(|b| PyBytes::new(py, &b)))
    }

    #[getter]
    fn regions(&self) -> Vec<(u64, u64)> {
        lock(&self.inner)
            .regions()
            .map(|r| (r.start, r.end))
            .collect()
    }

    fn clear(&self) {
        lock(&self.inner).clear();
    }

    fn tell(&self) -> u64 {
        lock(&self.inner).position()
    }

    #[pyo3(signature = (offset, whence = 0))]
    fn seek(&self, offset: i64, whence: i32) -> PyResult<u64> {
        let from = match whence {
            0 => SeekFrom::Start(offset_of(offset, "seek position")?),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => {
                return Err(PyValueError::new_err(format!(
                    "invalid whence ({whence}, should be 0, 1 or 2)"
                )));
            }
        };
        use std::io::Seek;
        lock(&self.inner)
            .seek(from)
            .map_err(|e| PyValueError::new_err(format!("{e} (offset {offset}, whence {whence})")))
    }

    /// Up to `size` bytes at the cursor (all up to the end of the file when negative), stopping at the end of the
    /// cursor's region; advances the cursor. A gap raises NotCachedError; at or past the end returns b"".
    #[pyo3(signature = (size = -1))]
    fn read<'py>(&self, py: Python<'py>, size: Option<i64>) -> PyResult<Bound<'py, PyBytes>> {
        let mut inner = lock(&self.inner);
        let position = inner.position();
        let left = inner.size().saturating_sub(position);
        let want = match size.unwrap_or(-1) {
            n if n < 0 => left,
            n => (n as u64).min(left),
        };
        let mut out = Vec::new();
        let mut at = position;
        while (out.len() as u64) < want {
            let step = (want - out.len() as u64).min(READ_STEP as u64) as usize;
            let start = out.len();
            out.resize(start + step, 0);
            match inner.read_at(at, &mut out[start..]) {
                ReadAt::Data(n) => {
                    out.truncate(start + n);
                    at += n as u64;
                    if n < step {
                        break;
                    }
                }
                ReadAt::End => {
                    out.truncate(start);
                    break;
                }
                ReadAt::Gap { next_cached } => {
                    out.truncate(start);
                    if start == 0 {
                        return Err(errors::not_cached(at, next_cached));
                    }
                    break;
                }
            }
        }
        use std::io::Seek;
        inner
            .seek(SeekFrom::Start(at))
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        drop(inner);
        Ok(PyBytes::new(py, &out))
    }
}

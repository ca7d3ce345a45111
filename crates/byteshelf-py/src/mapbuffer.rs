//! `byteshelf.mapbuffer.MapBuffer` and `IntMap`: mapbuffer 1.2.0's API over the `mapbuffer` crate.

use std::borrow::Cow;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use mapbuffer::{
    Codec, FormatVersion, IntMap as RustIntMap, MapBuffer as RustMapBuffer, MapBufferBuilder,
};
use memmap2::Mmap;
use numpy::{PyArray1, PyArrayMethods, PyUntypedArray};
use pyo3::exceptions::{PyKeyError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::errors;

/// The bytes a map is read from.
pub(crate) enum Data {
    /// Built here, or copied from a mutable Python buffer.
    Owned(Vec<u8>),
    /// A file, mapped read-only.
    Mapped(Mmap),
    /// An immutable Python `bytes` object, read in place.
    Bytes {
        _owner: Py<PyBytes>,
        ptr: usize,
        len: usize,
    },
}

impl AsRef<[u8]> for Data {
    fn as_ref(&self) -> &[u8] {
        match self {
            Self::Owned(v) => v,
            Self::Mapped(m) => m,
            // SAFETY: `ptr`/`len` are the contents of `_owner`, an immutable bytes object this value keeps alive.
            Self::Bytes { ptr, len, .. } => unsafe {
                std::slice::from_raw_parts(*ptr as *const u8, *len)
            },
        }
    }
}

/// Reads the buffer argument of `MapBuffer(...)`/`IntMap(...)`: bytes (in place), a file object (mapped),
/// anything else with the buffer protocol or slicing (copied once).
fn data_from(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Data> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        let slice = bytes.as_bytes();
        return Ok(Data::Bytes {
            ptr: slice.as_ptr() as usize,
            len: slice.len(),
            _owner: bytes.clone().unbind(),
        });
    }
    if let Ok(array) = data.cast::<PyByteArray>() {
        return Ok(Data::Owned(array.to_vec()));
    }
    let io = py.import("io")?;
    if data.is_instance(&io.getattr("IOBase")?)? {
        let fd: i32 = data.call_method0("fileno")?.extract()?;
        return map_fd(py, fd).map(Data::Mapped);
    }
    if data.is_instance_of::<PyString>() || data.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "data must be a dict, bytes, file, mmap, or otherwise support __getitem__ with slice support for byte \
             ranges. Got: {}",
            data.get_type().name()?
        )));
    }
    // mmap, memoryview, NumPy arrays, and objects that only support slicing: read once into memory.
    let whole = if data.is_instance_of::<PyUntypedArray>() {
        data.call_method0("tobytes")?
    } else if data.hasattr("__buffer__")?
        || py
            .import("mmap")?
            .getattr("mmap")
            .and_then(|m| data.is_instance(&m))?
    {
        py.import("builtins")?.getattr("bytes")?.call1((data,))?
    } else if data.hasattr("__getitem__")? {
        data.get_item(pyo3::types::PySlice::full(py))?
    } else {
        return Err(PyTypeError::new_err(format!(
            "data must be a dict, bytes, file, mmap, or otherwise support __getitem__ with slice support for byte \
             ranges. Got: {}",
            data.get_type().name()?
        )));
    };
    if let Ok(bytes) = whole.cast::<PyBytes>() {
        return Ok(Data::Owned(bytes.as_bytes().to_vec()));
    }
    let bytes = py.import("builtins")?.getattr("bytes")?.call1((whole,))?;
    Ok(Data::Owned(bytes.cast::<PyBytes>()?.as_bytes().to_vec()))
}

/// Maps the file behind a file descriptor (duplicated, so the Python file may be closed afterwards).
fn map_fd(py: Python<'_>, fd: i32) -> PyResult<Mmap> {
    #[cfg(unix)]
    {
        use std::os::fd::BorrowedFd;
        // SAFETY: `fd` is the descriptor of an open Python file object, valid for this call; it is duplicated
        // before use, so closing the Python file later does not affect the map.
        let owned = unsafe { BorrowedFd::borrow_raw(fd) }
            .try_clone_to_owned()
            .map_err(|e| {
                errors::os_error(&e, format!("cannot duplicate file descriptor {fd}: {e}"))
            })?;
        let file = std::fs::File::from(owned);
        py.detach(move || {
            // SAFETY: a read-only private map; as with mapbuffer, the file must not be modified while mapped.
            unsafe { Mmap::map(&file) }
        })
        .map_err(|e| errors::os_error(&e, format!("cannot map file descriptor {fd}: {e}")))
    }
    #[cfg(not(unix))]
    {
        let _ = (py, fd);
        Err(PyTypeError::new_err(
            "file objects are supported on Unix only",
        ))
    }
}

/// A key argument: any int in 0..2^64 (the whole u64 range; Python mapbuffer stops at 2^63).
pub(crate) fn key_of(label: &Bound<'_, PyAny>) -> PyResult<Option<u64>> {
    if let Ok(key) = label.extract::<u64>() {
        return Ok(Some(key));
    }
    if label.is_instance_of::<pyo3::types::PyInt>() {
        // Negative, or 2^64 and above: no such key.
        return Ok(None);
    }
    let as_int = match label.call_method0("__index__") {
        Ok(i) => i,
        Err(_) => label
            .py()
            .import("builtins")?
            .getattr("int")?
            .call1((label,))
            .map_err(|_| PyTypeError::new_err("keys must be integers"))?,
    };
    Ok(as_int.extract::<u64>().ok())
}

fn normalize_codec(compress: Option<&Bound<'_, PyAny>>) -> PyResult<Codec> {
    let Some(value) = compress else {
        return Ok(Codec::None);
    };
    if value.is_none() {
        return Ok(Codec::None);
    }
    if let Ok(flag) = value.extract::<bool>() {
        return Ok(if flag { Codec::Gzip } else { Codec::None });
    }
    if let Ok(n) = value.extract::<i64>() {
        return match n {
            0 => Ok(Codec::None),
            1 => Ok(Codec::Gzip),
            _ => Err(PyValueError::new_err(format!("unknown compression {n}"))),
        };
    }
    let name = value
        .extract::<String>()
        .map_err(|_| PyTypeError::new_err("compress must be a codec name, a bool or None"))?;
    Codec::from_name(&name).map_err(errors::mapbuffer)
}

fn codec_name(codec: Codec) -> Option<&'static str> {
    match codec {
        Codec::None => None,
        other => Some(other.name()),
    }
}

fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

/// Values up to this size of an uncompressed map are read with the GIL held (see `MapBuffer::lookup`): the
/// CRC-32C of 4 KiB takes a few hundred nanoseconds, about what releasing and taking back the GIL costs.
const INLINE_VALUE_MAX: usize = 4 << 10;

/// A map of integer keys (0..2^64) to byte values, read in place (mapbuffer 1.2.0's `MapBuffer`).
#[pyclass(frozen, module = "byteshelf.mapbuffer")]
pub(crate) struct MapBuffer {
    map: RwLock<RustMapBuffer<Data>>,
    /// The object given to the constructor (or assigned to `buffer`) when it was a buffer (returned by
    /// `tobytes()`).
    source: RwLock<Option<Py<PyAny>>>,
    #[pyo3(get)]
    tobytesfn: Option<Py<PyAny>>,
    #[pyo3(get)]
    frombytesfn: Option<Py<PyAny>>,
    #[pyo3(get)]
    check_crc: bool,
    #[pyo3(get)]
    compute_crc: bool,
}

impl MapBuffer {
    fn finish_value(&self, py: Python<'_>, value: Cow<'_, [u8]>) -> PyResult<Py<PyAny>> {
        let bytes = PyBytes::new(py, &value).into_any();
        match &self.frombytesfn {
            Some(f) => Ok(f.call1(py, (bytes,))?),
            None => Ok(bytes.unbind()),
        }
    }

    /// The decoded value of `slot`, copied out without the GIL (CRC check and decompression happen there).
    fn value_at(&self, py: Python<'_>, slot: usize) -> PyResult<Py<PyAny>> {
        // The lock is taken and dropped without the GIL: a writer (`__setitem__`) waits for it holding the GIL.
        let value = py
            .detach(|| read(&self.map).value_at(slot).map(Cow::into_owned))
            .map_err(errors::mapbuffer)?;
        self.finish_value(py, Cow::Owned(value))
    }

    /// The value of `key` (None when absent). A small value of an uncompressed map is checked (CRC-32C) and
    /// copied straight into a new `bytes` with the GIL held: releasing it would cost more than the work. Larger
    /// or compressed values go through [`value_at`](Self::value_at), without the GIL.
    fn lookup(&self, py: Python<'_>, key: u64) -> PyResult<Option<Py<PyAny>>> {
        let map = read(&self.map);
        let Some(slot) = map.slot_of(key) else {
            return Ok(None);
        };
        let small = map.codec() == Codec::None
            && map
                .raw_entry(slot)
                .is_ok_and(|entry| entry.payload.len() <= INLINE_VALUE_MAX);
        if !small {
            drop(map);
            return self.value_at(py, slot).map(Some);
        }
        let bytes = {
            let value = map.value_at(slot).map_err(errors::mapbuffer)?;
            PyBytes::new(py, &value)
        };
        drop(map);
        match &self.frombytesfn {
            Some(f) => f.call1(py, (bytes,)).map(Some),
            None => Ok(Some(bytes.into_any().unbind())),
        }
    }

    fn slot(&self, label: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        Ok(key_of(label)?.and_then(|key| read(&self.map).slot_of(key)))
    }
}

#[pymethods]
impl MapBuffer {
    #[new]
    #[pyo3(signature = (data = None, compress = None, tobytesfn = None, frombytesfn = None, check_crc = true, compute_crc = true))]
    fn new(
        py: Python<'_>,
        data: Option<&Bound<'_, PyAny>>,
        compress: Option<&Bound<'_, PyAny>>,
        tobytesfn: Option<Py<PyAny>>,
        frombytesfn: Option<Py<PyAny>>,
        check_crc: bool,
        compute_crc: bool,
    ) -> PyResult<Self> {
        let Some(data) = data else {
            return Err(PyTypeError::new_err(
                "data must be a dict, bytes, file, mmap, or otherwise support __getitem__ with slice support for \
                 byte ranges. Got: <class 'NoneType'>",
            ));
        };
        let (bytes, source) = if let Ok(dict) = data.cast::<PyDict>() {
            let codec = normalize_codec(compress)?;
            let mut entries = Vec::with_capacity(dict.len());
            for (key, value) in dict.iter() {
                let key = key_of(&key)?.ok_or_else(|| {
                    pyo3::exceptions::PyOverflowError::new_err("keys must be in 0..2**64")
                })?;
                let value = match &tobytesfn {
                    Some(f) => f.call1(py, (value,))?.into_bound(py),
                    None => value,
                };
                let value: Vec<u8> = if let Ok(b) = value.cast::<PyBytes>() {
                    b.as_bytes().to_vec()
                } else if let Ok(b) = value.cast::<PyByteArray>() {
                    b.to_vec()
                } else {
                    return Err(PyTypeError::new_err(format!(
                        "values must be bytes or bytearray (or give tobytesfn), got {}",
                        value.get_type().name()?
                    )));
                };
                entries.push((key, value));
            }
            let version = if compute_crc {
                FormatVersion::V1
            } else {
                FormatVersion::V0
            };
            let built = py
                .detach(move || {
                    MapBufferBuilder::new()
                        .codec(codec)
                        .format_version(version)
                        .to_vec(entries)
                })
                .map_err(errors::mapbuffer)?;
            (Data::Owned(built), None)
        } else {
            (data_from(py, data)?, Some(data.clone().unbind()))
        };
        let map = py
            .detach(move || RustMapBuffer::from_bytes(bytes))
            .map_err(errors::mapbuffer)?
            .with_crc_check(check_crc);
        Ok(Self {
            map: RwLock::new(map),
            source: RwLock::new(source),
            tobytesfn,
            frombytesfn,
            check_crc,
            compute_crc,
        })
    }

    /// A MapBuffer in object storage (`s3://bucket/map.mb`, `https://host/map.mb`, `file:///path/map.mb`), read
    /// on demand through the remote reader: a `RemoteMapBuffer` with the reading half of this class's API. S3
    /// credentials, region and endpoint come from the `AWS_*` environment variables.
    #[staticmethod]
    #[pyo3(signature = (url, *, check_crc = true, frombytesfn = None))]
    fn open_url(
        py: Python<'_>,
        url: &str,
        check_crc: bool,
        frombytesfn: Option<Py<PyAny>>,
    ) -> PyResult<crate::remote::RemoteMapBuffer> {
        crate::remote::RemoteMapBuffer::open(py, url, check_crc, frombytesfn)
    }

    fn __len__(&self) -> usize {
        read(&self.map).len()
    }

    /// The codec name (`gzip`, `br`, `zstd`, `lzma`) or None.
    #[getter]
    fn compress(&self) -> Option<&'static str> {
        codec_name(read(&self.map).codec())
    }

    #[getter]
    fn format_version(&self) -> u8 {
        read(&self.map).format_version().to_byte()
    }

    /// The 16 header bytes.
    #[getter]
    fn header<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &read(&self.map).header().to_bytes())
    }

    /// The index as an N x 2 uint64 array (key, offset) in slot order (a copy).
    fn index<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let map = read(&self.map);
        let n = map.len();
        // `from_bytes` checked that the buffer holds the whole index.
        let bytes = map.as_bytes().get(16..16 + 16 * n).unwrap_or_default();
        let values: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        drop(map);
        PyArray1::from_vec(py, values)
            .reshape([n, 2])
            .map(Bound::into_any)
    }

    /// Size of the data region in bytes.
    fn datasize(&self) -> usize {
        read(&self.map).data_len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.keys(py)?.try_iter().map(Bound::into_any)
    }

    /// The keys, in slot order (as Python mapbuffer), as ints.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let keys: Vec<u64> = read(&self.map).keys_slot_order().collect();
        PyList::new(py, keys)
    }

    /// The values, in slot order.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let n = read(&self.map).len();
        let list = PyList::empty(py);
        for slot in 0..n {
            list.append(self.value_at(py, slot)?)?;
        }
        Ok(list)
    }

    /// `(key, value)` pairs, in slot order.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let keys: Vec<u64> = read(&self.map).keys_slot_order().collect();
        let list = PyList::empty(py);
        for (slot, key) in keys.into_iter().enumerate() {
            list.append(PyTuple::new(
                py,
                [
                    key.into_pyobject(py)?.into_any().unbind(),
                    self.value_at(py, slot)?,
                ],
            )?)?;
        }
        Ok(list)
    }

    fn todict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for item in self.items(py)?.iter() {
            let (k, v): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item.extract()?;
            dict.set_item(k, v)?;
        }
        Ok(dict)
    }

    /// The value in index slot `i`.
    fn getindex(&self, py: Python<'_>, i: usize) -> PyResult<Py<PyAny>> {
        self.value_at(py, i)
    }

    /// The index slot of `label`, or None.
    fn find_index_position(&self, label: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        self.slot(label)
    }

    #[pyo3(signature = (label, default = None))]
    fn get(
        &self,
        py: Python<'_>,
        label: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let found = match key_of(label)? {
            Some(key) => self.lookup(py, key)?,
            None => None,
        };
        Ok(found.unwrap_or_else(|| default.unwrap_or_else(|| py.None())))
    }

    /// The stored size of the value of `label` (compressed, without the CRC).
    fn size(&self, label: &Bound<'_, PyAny>) -> PyResult<usize> {
        let key =
            key_of(label)?.ok_or_else(|| PyKeyError::new_err(format!("{label} was not found.")))?;
        read(&self.map)
            .size_of(key)
            .map_err(errors::mapbuffer)?
            .ok_or_else(|| PyKeyError::new_err(format!("{label} was not found.")))
    }

    fn __contains__(&self, label: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.slot(label)?.is_some())
    }

    fn __getitem__(&self, py: Python<'_>, label: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match key_of(label)? {
            Some(key) => match self.lookup(py, key)? {
                Some(value) => Ok(value),
                // Formatted from the u64: no call back into Python to print the key.
                None => Err(PyKeyError::new_err(format!("{key} was not found."))),
            },
            None => Err(PyKeyError::new_err(format!("{label} was not found."))),
        }
    }

    /// Replaces a value in place; the new value must store to the same length (its CRC is recomputed). Only maps
    /// held in memory (built from a dict, or read from a bytearray, mmap or similar) can be changed.
    fn __setitem__(
        &self,
        py: Python<'_>,
        label: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let key = key_of(label)?
            .filter(|&key| read(&self.map).contains(key))
            .ok_or_else(|| PyKeyError::new_err(format!("{label} was not found.")))?;
        let value = match &self.tobytesfn {
            Some(f) => f.call1(py, (value,))?.into_bound(py),
            None => value.clone(),
        };
        let value: Vec<u8> = value.extract()?;
        let mut guard = write(&self.map);
        let placeholder = RustMapBuffer::from_bytes(Data::Owned(
            MapBufferBuilder::new()
                .to_vec(std::iter::empty::<(u64, Vec<u8>)>())
                .map_err(errors::mapbuffer)?,
        ))
        .map_err(errors::mapbuffer)?;
        let old = std::mem::replace(&mut *guard, placeholder);
        let check = old.crc_check();
        let bytes = match old.into_inner() {
            Data::Owned(bytes) => bytes,
            other => {
                *guard = RustMapBuffer::from_bytes(other)
                    .map_err(errors::mapbuffer)?
                    .with_crc_check(check);
                return Err(PyTypeError::new_err(
                    "this MapBuffer is read-only (it reads bytes or a file in place)",
                ));
            }
        };
        let mut owned = RustMapBuffer::from_bytes(bytes).map_err(errors::mapbuffer)?;
        let result = owned.set(key, &value);
        *guard = RustMapBuffer::from_bytes(Data::Owned(owned.into_inner()))
            .map_err(errors::mapbuffer)?
            .with_crc_check(check);
        result.map_err(|err| match err {
            mapbuffer::Error::KeyNotFound { .. } => {
                PyKeyError::new_err(format!("{label} was not found."))
            }
            other => errors::mapbuffer(other),
        })
    }

    /// The serialized map: the object it was read from, or `bytes` for a map built here or read from a file.
    fn tobytes(&self, py: Python<'_>) -> Py<PyAny> {
        if let Some(source) = read(&self.source).as_ref()
            && source.bind(py).is_instance_of::<PyBytes>()
        {
            return source.clone_ref(py);
        }
        PyBytes::new(py, read(&self.map).as_bytes())
            .into_any()
            .unbind()
    }

    /// The serialized map, as `tobytes()`; assigning a buffer reads the map from it instead.
    #[getter]
    fn buffer(&self, py: Python<'_>) -> Py<PyAny> {
        self.tobytes(py)
    }

    #[setter]
    fn set_buffer(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = data_from(py, data)?;
        let check = self.check_crc;
        let map = py
            .detach(move || RustMapBuffer::from_bytes(bytes))
            .map_err(errors::mapbuffer)?
            .with_crc_check(check);
        *write(&self.map) = map;
        *write(&self.source) = Some(data.clone().unbind());
        Ok(())
    }

    /// Checks the whole map (header, offsets, key order, every CRC-32C, every value decompresses), without the
    /// GIL; returns True or raises ValidationError naming the key, slot and offset.
    fn validate(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| read(&self.map).verify())
            .map_err(errors::mapbuffer)?;
        Ok(true)
    }

    /// `MapBuffer(buf).validate()`.
    #[staticmethod]
    fn validate_buffer(py: Python<'_>, buf: &Bound<'_, PyAny>) -> PyResult<bool> {
        let map = Self::new(py, Some(buf), None, None, None, true, true)?;
        map.validate(py)
    }

    fn __repr__(&self) -> String {
        let map = read(&self.map);
        format!(
            "MapBuffer({} keys, format {}, {})",
            map.len(),
            map.format_version(),
            codec_name(map.codec()).unwrap_or("uncompressed")
        )
    }
}

/// A map of integer keys to integer values, both 0..2^64 (mapbuffer 1.2.0's `IntMap`).
#[pyclass(frozen, module = "byteshelf.mapbuffer")]
pub(crate) struct IntMap {
    map: RwLock<Option<RustIntMap<Data>>>,
    source: RwLock<Option<Py<PyAny>>>,
}

impl IntMap {
    fn with<T>(&self, f: impl FnOnce(&RustIntMap<Data>) -> T) -> PyResult<T> {
        read(&self.map)
            .as_ref()
            .map(f)
            .ok_or_else(|| PyValueError::new_err("the IntMap was lost in a failed update"))
    }
}

#[pymethods]
impl IntMap {
    #[new]
    fn new(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (bytes, source) = if let Ok(dict) = data.cast::<PyDict>() {
            let mut entries = Vec::with_capacity(dict.len());
            for (key, value) in dict.iter() {
                let key = key_of(&key)?.ok_or_else(|| {
                    pyo3::exceptions::PyOverflowError::new_err("keys must be in 0..2**64")
                })?;
                let value: u64 = value.extract()?;
                entries.push((key, value));
            }
            let built = py
                .detach(move || RustIntMap::build(entries))
                .map_err(errors::mapbuffer)?;
            (Data::Owned(built), None)
        } else {
            (data_from(py, data)?, Some(data.clone().unbind()))
        };
        let map = RustIntMap::from_bytes(bytes).map_err(errors::mapbuffer)?;
        Ok(Self {
            map: RwLock::new(Some(map)),
            source: RwLock::new(source),
        })
    }

    fn __len__(&self) -> PyResult<usize> {
        self.with(RustIntMap::len)
    }

    #[getter]
    fn format_version(&self) -> u8 {
        0
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.keys(py)?.try_iter().map(Bound::into_any)
    }

    /// The keys, in slot order, as ints.
    fn keys<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let keys: Vec<u64> = self.with(|m| m.iter_slot_order().map(|(k, _)| k).collect())?;
        PyList::new(py, keys)
    }

    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let values: Vec<u64> = self.with(|m| m.iter_slot_order().map(|(_, v)| v).collect())?;
        PyList::new(py, values)
    }

    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items: Vec<(u64, u64)> = self.with(|m| m.iter_slot_order().collect())?;
        PyList::new(py, items)
    }

    fn todict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (k, v) in self.with(|m| m.iter_slot_order().collect::<Vec<_>>())? {
            dict.set_item(k, v)?;
        }
        Ok(dict)
    }

    fn getindex(&self, i: usize) -> PyResult<u64> {
        self.with(|m| m.entry_at(i))?
            .map(|(_, v)| v)
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err("slot out of range"))
    }

    fn find_index_position(&self, label: &Bound<'_, PyAny>) -> PyResult<Option<usize>> {
        let Some(key) = key_of(label)? else {
            return Ok(None);
        };
        self.with(|m| m.slot_of(key))
    }

    #[pyo3(signature = (label, default = None))]
    fn get(
        &self,
        py: Python<'_>,
        label: &Bound<'_, PyAny>,
        default: Option<Py<PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let found = match key_of(label)? {
            Some(key) => self.with(|m| m.get(key))?,
            None => None,
        };
        match found {
            Some(v) => Ok(v.into_pyobject(py)?.into_any().unbind()),
            None => Ok(default.unwrap_or_else(|| py.None())),
        }
    }

    fn __contains__(&self, label: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.find_index_position(label)?.is_some())
    }

    fn __getitem__(&self, label: &Bound<'_, PyAny>) -> PyResult<u64> {
        let found = match key_of(label)? {
            Some(key) => self.with(|m| m.get(key))?,
            None => None,
        };
        found.ok_or_else(|| PyKeyError::new_err(format!("{label} was not found.")))
    }

    /// Sets the value of an existing key in place (maps held in memory only).
    fn __setitem__(&self, label: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let key = key_of(label)?
            .filter(|&key| self.with(|m| m.contains(key)).unwrap_or(false))
            .ok_or_else(|| PyKeyError::new_err(format!("{label} was not found.")))?;
        let value: u64 = value.extract()?;
        let mut guard = write(&self.map);
        let Some(old) = guard.take() else {
            return Err(PyValueError::new_err(
                "the IntMap was lost in a failed update",
            ));
        };
        let bytes = match old.into_inner() {
            Data::Owned(bytes) => bytes,
            other => {
                *guard = Some(RustIntMap::from_bytes(other).map_err(errors::mapbuffer)?);
                return Err(PyTypeError::new_err(
                    "this IntMap is read-only (it reads bytes or a file in place)",
                ));
            }
        };
        let mut owned = RustIntMap::from_bytes(bytes).map_err(errors::mapbuffer)?;
        let result = owned.set(key, value);
        *guard = Some(
            RustIntMap::from_bytes(Data::Owned(owned.into_inner())).map_err(errors::mapbuffer)?,
        );
        result.map_err(|err| match err {
            mapbuffer::Error::KeyNotFound { .. } => {
                PyKeyError::new_err(format!("{label} was not found."))
            }
            other => errors::mapbuffer(other),
        })
    }

    fn tobytes(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if let Some(source) = read(&self.source).as_ref()
            && source.bind(py).is_instance_of::<PyBytes>()
        {
            return Ok(source.clone_ref(py));
        }
        let bytes = self.with(|m| m.as_bytes().to_vec())?;
        Ok(PyBytes::new(py, &bytes).into_any().unbind())
    }

    /// The serialized map, as `tobytes()`; assigning a buffer reads the map from it instead.
    #[getter]
    fn buffer(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.tobytes(py)
    }

    #[setter]
    fn set_buffer(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let map = RustIntMap::from_bytes(data_from(py, data)?).map_err(errors::mapbuffer)?;
        *write(&self.map) = Some(map);
        *write(&self.source) = Some(data.clone().unbind());
        Ok(())
    }

    /// Checks the whole map (header, size, key order); True or ValidationError.
    fn validate(&self, py: Python<'_>) -> PyResult<bool> {
        py.detach(|| read(&self.map).as_ref().map(RustIntMap::verify))
            .ok_or_else(|| PyValueError::new_err("the IntMap was lost in a failed update"))?
            .map_err(errors::mapbuffer)?;
        Ok(true)
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(format!("IntMap({} keys)", self.with(RustIntMap::len)?))
    }
}

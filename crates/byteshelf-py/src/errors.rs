//! Python exceptions for the crates' errors. Every message is the Rust error's, which names the file and the
//! byte offset where there is one.

use std::io;

use pyo3::exceptions::{PyFileNotFoundError, PyIndexError, PyKeyError, PyOSError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    byteshelf,
    RoxxelError,
    PyValueError,
    "A Roxxel dataset is damaged, or the operation is refused (the message names the file and offset)."
);
pyo3::create_exception!(
    byteshelf,
    ValidationError,
    PyValueError,
    "A MapBuffer or IntMap is damaged: bad header, offsets, key order or CRC-32C (the message names the key, slot \
     and byte offset)."
);
pyo3::create_exception!(
    byteshelf,
    DecompressionError,
    ValidationError,
    "A MapBuffer value does not decompress with the map's codec."
);
pyo3::create_exception!(
    byteshelf,
    NotCachedError,
    PyOSError,
    "A SparseBuffer read at bytes that are not cached (a gap, not the end of the file). Attributes: `offset`, \
     the first missing byte, and `next_cached`, where the next cached region starts (or None)."
);
pyo3::create_exception!(
    byteshelf,
    RemoteError,
    PyOSError,
    "A read from object storage (S3, HTTP, file://) failed: the store's or the network's error, with the URL."
);
pyo3::create_exception!(
    byteshelf,
    ObjectChangedError,
    RemoteError,
    "An object was replaced after it was opened: no byte of the new version is ever mixed with the old. \
     Attributes: `name` (the object), `expected` (the version pinned at open), `found` (the version the store \
     reported, or None when it only refused the read's condition), `start` and `end` (the read that found it). \
     Open the dataset or map again to read the new version."
);
pyo3::create_exception!(
    byteshelf,
    StreamError,
    PyOSError,
    "A StreamBuffer's stream or spool failed; the message gives the stream offset."
);

/// An `io::Error` as the matching `OSError` subclass (`FileNotFoundError` for ENOENT, ...), with `message`.
pub(crate) fn os_error(err: &io::Error, message: String) -> PyErr {
    match err.raw_os_error() {
        Some(errno) => PyOSError::new_err((errno, message)),
        None if err.kind() == io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
        None => PyOSError::new_err(message),
    }
}

/// A remote read's error (`message` is the whole error's, naming the object): `ObjectChangedError` with its
/// attributes, `FileNotFoundError` for a missing object, `RemoteError` otherwise.
pub(crate) fn remote(source: &sparse_buffer::Error, message: String) -> PyErr {
    match source {
        sparse_buffer::Error::ObjectChanged {
            name,
            start,
            end,
            expected,
            found,
        } => Python::attach(|py| {
            let err = ObjectChangedError::new_err(message);
            let value = err.value(py);
            let set = value
                .setattr("name", name)
                .and_then(|()| value.setattr("expected", expected))
                .and_then(|()| value.setattr("found", found.as_deref()))
                .and_then(|()| value.setattr("start", start))
                .and_then(|()| value.setattr("end", end));
            match set {
                Ok(()) => err,
                Err(other) => other,
            }
        }),
        sparse_buffer::Error::Source { source, .. }
            if source
                .downcast_ref::<object_store::Error>()
                .is_some_and(|e| matches!(e, object_store::Error::NotFound { .. })) =>
        {
            PyFileNotFoundError::new_err(message)
        }
        _ => RemoteError::new_err(message),
    }
}

/// An error of `byteshelf::remote` (a URL that names no store, a glob that matches nothing).
pub(crate) fn url(err: &byteshelf::remote::UrlError) -> PyErr {
    use byteshelf::remote::UrlError as E;
    let message = err.to_string();
    match err {
        E::NoMatch { .. } => PyFileNotFoundError::new_err(message),
        E::List { .. } => RemoteError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

pub(crate) fn roxxel(err: roxxel_format::Error) -> PyErr {
    use roxxel_format::Error as E;
    let message = err.to_string();
    match &err {
        E::Remote { source, .. } => remote(source, message),
        E::Io { source, .. } => os_error(source, message),
        E::NotRegularFile { .. } => PyOSError::new_err(message),
        E::NoShards { .. } => PyFileNotFoundError::new_err(message),
        E::IndexOutOfRange { .. } => PyIndexError::new_err(message),
        E::InvalidDtype { .. } | E::InvalidOptions(_) => PyValueError::new_err(message),
        _ => RoxxelError::new_err(message),
    }
}

pub(crate) fn mapbuffer(err: mapbuffer::Error) -> PyErr {
    let message = err.to_string();
    mapbuffer_with(&err, message)
}

/// A remote map's error, its message starting with the map's URL (unless it names the object already).
pub(crate) fn mapbuffer_at(url: &str, err: mapbuffer::Error) -> PyErr {
    let message = err.to_string();
    let message = if message.contains(url) {
        message
    } else {
        format!("{url}: {message}")
    };
    mapbuffer_with(&err, message)
}

fn mapbuffer_with(err: &mapbuffer::Error, message: String) -> PyErr {
    use mapbuffer::Error as E;
    match err {
        E::Remote(source) => remote(source, message),
        E::Io(source) | E::Open { source, .. } => os_error(source, message),
        E::NotRegularFile { .. } => PyOSError::new_err(message),
        E::KeyNotFound { .. } => PyKeyError::new_err(message),
        E::UnknownCodecName { .. } => PyValueError::new_err(message),
        E::Decompress { .. } => DecompressionError::new_err(message),
        _ => ValidationError::new_err(message),
    }
}

pub(crate) fn sparse(err: sparse_buffer::Error) -> PyErr {
    match err {
        sparse_buffer::Error::NotCached {
            offset,
            next_cached,
        } => not_cached(offset, next_cached),
        other => PyValueError::new_err(other.to_string()),
    }
}

pub(crate) fn not_cached(offset: u64, next_cached: Option<u64>) -> PyErr {
    let message = sparse_buffer::Error::NotCached {
        offset,
        next_cached,
    }
    .to_string();
    Python::attach(|py| {
        let err = NotCachedError::new_err(message);
        let value = err.value(py);
        let set = value
            .setattr("offset", offset)
            .and_then(|()| value.setattr("next_cached", next_cached));
        match set {
            Ok(()) => err,
            Err(other) => other,
        }
    })
}

pub(crate) fn stream(err: stream_buffer::Error) -> PyErr {
    StreamError::new_err(err.to_string())
}

/// Registers the exception classes in `module`.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("RoxxelError", py.get_type::<RoxxelError>())?;
    module.add("ValidationError", py.get_type::<ValidationError>())?;
    module.add("DecompressionError", py.get_type::<DecompressionError>())?;
    module.add("NotCachedError", py.get_type::<NotCachedError>())?;
    module.add("StreamError", py.get_type::<StreamError>())?;
    module.add("RemoteError", py.get_type::<RemoteError>())?;
    module.add("ObjectChangedError", py.get_type::<ObjectChangedError>())?;
    Ok(())
}

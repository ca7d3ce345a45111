//! Zero-copy NumPy arrays over memory that a Python object keeps alive.

use std::os::raw::{c_int, c_void};

use numpy::npyffi::{
    NPY_ARRAY_C_CONTIGUOUS, NPY_TYPES, NpyTypes, PY_ARRAY_API, get_type_object, npy_intp,
};
use pyo3::prelude::*;
use pyo3::types::PyAny;

/// A read-only 1-D array of `len` elements of NumPy type `ty` (itemsize `itemsize`) at `data`, whose base is
/// `owner`: the array keeps `owner` alive, and `owner` must keep the memory alive and unchanged.
///
/// # Safety
/// `data` must point to `len * itemsize` readable bytes that stay valid and unmodified for as long as `owner`
/// lives.
pub(crate) unsafe fn readonly_array<'py>(
    py: Python<'py>,
    owner: &Bound<'py, PyAny>,
    data: *const u8,
    len: usize,
    ty: NPY_TYPES,
) -> PyResult<Bound<'py, PyAny>> {
    let mut dims = [npy_intp::try_from(len)
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err("array too large"))?];
    // SAFETY: the NumPy C API is called with the GIL held (`py`); the descriptor reference is stolen by
    // PyArray_NewFromDescr; `data` outlives the array because the array's base (`owner`) keeps it alive (the
    // caller's contract). Flags without NPY_ARRAY_WRITEABLE make the array read-only.
    unsafe {
        let descr = PY_ARRAY_API.PyArray_DescrFromType(py, ty as c_int);
        if descr.is_null() {
            return Err(PyErr::fetch(py));
        }
        let array = PY_ARRAY_API.PyArray_NewFromDescr(
            py,
            get_type_object(py, NpyTypes::PyArray_Type),
            descr,
            1,
            dims.as_mut_ptr(),
            std::ptr::null_mut(),
            data.cast_mut().cast::<c_void>(),
            NPY_ARRAY_C_CONTIGUOUS,
            std::ptr::null_mut(),
        );
        if array.is_null() {
            return Err(PyErr::fetch(py));
        }
        let array = Bound::from_owned_ptr(py, array);
        // SetBaseObject steals a reference to the base.
        let base = owner.clone().into_ptr();
        if PY_ARRAY_API.PyArray_SetBaseObject(py, array.as_ptr().cast(), base) != 0 {
            return Err(PyErr::fetch(py));
        }
        Ok(array)
    }
}

/// The NumPy type number for a dtype name roxxel stores (`uint8`, `int32`, ...), with its item size.
pub(crate) fn numpy_type(name: &str) -> Option<(NPY_TYPES, usize)> {
    Some(match name {
        "uint8" => (NPY_TYPES::NPY_UBYTE, 1),
        "int8" => (NPY_TYPES::NPY_BYTE, 1),
        "bool" => (NPY_TYPES::NPY_BOOL, 1),
        "uint16" => (NPY_TYPES::NPY_USHORT, 2),
        "int16" => (NPY_TYPES::NPY_SHORT, 2),
        "float16" => (NPY_TYPES::NPY_HALF, 2),
        "uint32" => (NPY_TYPES::NPY_UINT, 4),
        "int32" => (NPY_TYPES::NPY_INT, 4),
        "float32" => (NPY_TYPES::NPY_FLOAT, 4),
        "uint64" => (NPY_TYPES::NPY_ULONGLONG, 8),
        "int64" => (NPY_TYPES::NPY_LONGLONG, 8),
        "float64" => (NPY_TYPES::NPY_DOUBLE, 8),
        _ => return None,
    })
}

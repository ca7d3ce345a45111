//! The native module of the `byteshelf` Python package (`byteshelf._native`): thin PyO3 bindings over the
//! byteshelf crates. The Python-facing modules (`byteshelf.roxxel`, `byteshelf.mapbuffer`,
//! `byteshelf.sparse_buffer`, `byteshelf.stream_buffer`) re-export these classes; see `README.md` of this crate.
//!
//! Every call that does I/O, decompression or CRC work runs with the GIL released. Records of a Roxxel dataset
//! are read-only NumPy arrays whose base keeps the memory map alive.

use pyo3::prelude::*;

mod errors;
mod mapbuffer;
mod remote;
mod roxxel;
mod sparse;
mod stream;
mod view;

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::register(module)?;
    module.add_class::<roxxel::Roxxel>()?;
    module.add_class::<roxxel::RecordIter>()?;
    module.add_class::<roxxel::Mapping>()?;
    module.add_class::<mapbuffer::MapBuffer>()?;
    module.add_class::<mapbuffer::IntMap>()?;
    module.add_class::<remote::RemoteMapBuffer>()?;
    module.add_class::<remote::Fetched>()?;
    module.add_class::<sparse::SparseBuffer>()?;
    module.add_class::<stream::StreamBuffer>()?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

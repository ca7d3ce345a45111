//! Integration tests of `sparse-buffer`: the buffer against a byte model, roboto's recorded cases, the sources
//! and the range reader.

// Lists of one range (`[0..10]`) are what many of these tests pass and expect, not mistaken `(0..10)`.
#![allow(clippy::single_range_in_vec_init)]

mod async_reader;
mod buffer_cases;
mod buffer_model;
mod containers;
mod faults;
mod reader;
mod reader_model;
#[cfg(feature = "object-store")]
mod remote;
#[cfg(feature = "object-store")]
mod servers;
mod source;

//! Test-only wrappers that fail, answer short or stall on purpose, at chosen points: [`FaultyWriter`]
//! (`io::Write`), [`FaultyReader`] (`io::Read`) and [`FaultySource`] (`sparse_buffer::RangeSource`).
//!
//! Used as a dev-dependency by the byteshelf crates' fault-injection tests; never published, never re-exported.
#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod reader;
mod source;
mod writer;

pub use reader::FaultyReader;
pub use source::{FaultySource, SourceFault};
pub use writer::FaultyWriter;

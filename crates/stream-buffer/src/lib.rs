//! Random access into a forward-only stream: every pulled byte is kept, in memory up to a threshold and then in a
//! temporary file, and many threads can read at once.
//!
#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod buffer;
mod cursor;
mod error;
mod persist;
mod positional;
mod source;
mod spool;

pub use buffer::{DEFAULT_MEMORY_THRESHOLD, StreamBuffer, StreamBufferBuilder};
pub use cursor::StreamCursor;
pub use error::{Error, Result};
pub use persist::remove_stale_parts;

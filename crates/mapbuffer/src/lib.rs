//! The MapBuffer format: a map of `u64` keys to byte values that can be read one value at a time without parsing
//! the rest, byte-compatible with the Python [`mapbuffer`](https://github.com/seung-lab/mapbuffer) package 1.2.0.
//!
//! - [`MapBuffer`] reads a map in place from a `Vec<u8>`, a slice or a memory map ([`MapBuffer::open`]); opening is
//!   O(1), a lookup is one Eytzinger search (branch-free, prefetching four levels ahead) plus, in format version 1,
//!   a CRC-32C check of the value read. [`MapBuffer::verify`] checks everything.
//! - [`MapBufferBuilder`] writes maps to any [`std::io::Write`], in format version 1 (default) or 0, with any codec.
//! - [`IntMap`] reads and writes the companion `u64 → u64` format.
//! - [`format`](mod@format) has the layout constants and the Eytzinger helpers as pure functions over a "key of slot `i`"
//!   closure, for readers that fetch the index piecewise.
//! - `RemoteMapBuffer` (feature `object-store`) reads a map in object storage (S3, GCS, Azure, HTTP) through
//!   an async `sparse_buffer::RangeReader`: a cold lookup in at most 3 requests, a warm one in 1, reads pinned
//!   to the object's version at open, and an optional index cache file checked against the object's size and
//!   ETag. `BlockingRemoteMapBuffer` is its blocking facade. See `docs/remote.md`.
//!
//! Codecs are cargo features, all on by default: `gzip` (flate2), `zstd`, `brotli` (pure Rust) and `lzma` (xz via
//! liblzma). The format is specified, with every deliberate difference from the Python package, in
//! `docs/formats/mapbuffer.md` of the byteshelf repository.
//!
//! ```
//! use mapbuffer::{Codec, MapBuffer, MapBufferBuilder};
//!
//! let entries = [(1u64, b"hello".to_vec()), (2, b"world".to_vec())];
//! let bytes = MapBufferBuilder::new().codec(Codec::None).to_vec(entries)?;
//! let map = MapBuffer::from_bytes(bytes)?;
//! assert_eq!(map.get(2)?.as_deref(), Some(&b"world"[..]));
//! map.verify()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

mod codec;
mod error;
pub mod format;
mod intmap;
mod prefetch;
mod reader;
mod reading;
#[cfg(feature = "object-store")]
mod remote;
mod verify;
mod writer;

pub use error::{Error, Result};
pub use format::{Codec, FormatVersion, Header};
pub use intmap::{INTMAP_DTYPE_U64, INTMAP_HEADER_LEN, INTMAP_MAGIC, INTMAP_VERSION, IntMap};
pub use reader::{Iter, Keys, MapBuffer, RawEntry, Values};
#[cfg(feature = "object-store")]
pub use remote::{
    BlockingRemoteMapBuffer, IndexCacheUse, IndexMode, RemoteMapBuffer, RemoteOptions,
};
pub use writer::MapBufferBuilder;

/// The examples of the README, run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

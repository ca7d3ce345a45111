//! A sorted block first-key → offset index for sorted-block storage (SSTables): zero-copy searchable and
//! CRC-protected.
//!
//! A sorted file is cut into blocks; the index maps the first key of every block to the block's byte offset and
//! records where the data ends. A lookup finds the one block that may hold a key, so a reader fetches a single
//! block per key.
//!
//! - [`SparseIndex`]: owned and growable; [`add`](SparseIndex::add) entries, query, serialise.
//! - [`SparseIndexRef`]: a zero-copy view over serialised bytes (`Vec<u8>`, `&[u8]`, a memory map), searched in
//!   place with no decoding up front. [`from_bytes`](SparseIndexRef::from_bytes) checks the frame in O(1) and
//!   [`verify`](SparseIndexRef::verify) the CRC and the structure (the byteshelf convention: a cheap open and an
//!   explicit full check); [`from_bytes_verified`](SparseIndexRef::from_bytes_verified) does both.
//! - [`SparseIndexWriter`]: streams an index to any [`std::io::Write`], finished with the data end.
//! - Lookups on both: [`floor`](SparseIndexRef::floor) / [`ceil`](SparseIndexRef::ceil) (entry indexes),
//!   `floor_offset`, `ceil_offset`, `next_offset_after` (as the Python reference), `get`, `block_range`,
//!   `blocks_for(key_range)`, `first_key`, `last_key`, `iter` (both directions).
//! - Three layouts ([`Format`]): version 3, the default, stores keys whole with a head for every 16th key; version
//!   1 stores keys whole with a head for every key; version 2 prefix-compresses them with restart points.
//! - The Python reference's own layout: [`SparseIndex::from_legacy_bytes`] and [`SparseIndex::to_legacy_bytes`];
//!   [`detect_format`] and [`SparseIndexRef::from_any_bytes`] open whatever they are given.
//!
//! # Reading one block of an SSTable
//!
//! The writer of a sorted file records each block's first key and offset as it goes and finishes the index with the
//! length of the data. A reader then needs one binary search and one read per key:
//!
//! ```
//! use std::io::{Read, Seek, SeekFrom};
//! use sparse_index::{SparseIndexRef, SparseIndexWriter};
//!
//! // Writing: blocks of "key=value\n" records, at most 3 records per block.
//! let records: Vec<(String, String)> =
//!     (0..10).map(|i| (format!("key{i:02}"), format!("value{i}"))).collect();
//! let mut data = Vec::new();
//! let mut index = SparseIndexWriter::new(Vec::new());
//! for block in records.chunks(3) {
//!     index.add(block[0].0.as_bytes(), data.len() as u64)?;
//!     for (key, value) in block {
//!         data.extend_from_slice(format!("{key}={value}\n").as_bytes());
//!     }
//! }
//! let index_bytes = index.finish(data.len() as u64)?;
//!
//! // Reading: find the one block that may hold the key, read just that block, scan it.
//! fn lookup(
//!     index: &SparseIndexRef<&[u8]>,
//!     file: &mut (impl Read + Seek),
//!     key: &str,
//! ) -> Result<Option<String>, Box<dyn std::error::Error>> {
//!     let Some(block) = index.floor(key) else {
//!         return Ok(None); // before the first key: not in the file
//!     };
//!     let range = index.block_range(block).ok_or("data end unknown")?;
//!     let mut bytes = vec![0; usize::try_from(range.end - range.start)?];
//!     file.seek(SeekFrom::Start(range.start))?;
//!     file.read_exact(&mut bytes)?;
//!     for line in std::str::from_utf8(&bytes)?.lines() {
//!         if let Some((k, v)) = line.split_once('=') && k == key {
//!             return Ok(Some(v.to_owned()));
//!         }
//!     }
//!     Ok(None)
//! }
//!
//! let index = SparseIndexRef::from_bytes_verified(index_bytes.as_slice())?; // checks CRC and structure
//! let mut file = std::io::Cursor::new(data); // a std::fs::File in real life
//! assert_eq!(lookup(&index, &mut file, "key07")?.as_deref(), Some("value7"));
//! assert_eq!(lookup(&index, &mut file, "key05x")?, None);
//! assert_eq!(lookup(&index, &mut file, "a")?, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Compatibility with the Python reference
//!
//! `floor_offset`, `ceil_offset` and `next_offset_after` answer exactly as the reference's `bisect`-based methods
//! (checked by `cargo xtask conformance sparse-index` on random indexes). Differences, all deliberate: offsets
//! must ascend strictly (the reference checks only keys), truncated legacy entries are errors (the reference stops
//! silently), and the native format adds a data end, a version, a count and a trailer. The byte layouts are in
//! `docs/formats/sparse-index.md`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod format;
mod index;
mod legacy;
mod plain;
mod prefix;
mod reader;
mod search;
mod stats;
mod writer;

pub use error::{Error, Key, Result};
pub use format::{
    DEFAULT_RESTART_INTERVAL, FileFormat, Format, HEADER_LEN, MAGIC, MIN_LEN, TRAILER_LEN,
    detect_format,
};
pub use index::{Iter, SparseIndex};
pub use reader::{RefIter, SparseIndexRef};
pub use stats::KeyStats;
pub use writer::SparseIndexWriter;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

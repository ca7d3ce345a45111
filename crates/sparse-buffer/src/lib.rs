//! Sparse cached byte regions of a large file, read like a file, and a range reader that plans, coalesces and
//! caches range fetches from a source (memory, a local file, object storage).
//!
//! Formats with a footer and an index (MCAP, Parquet, Roxxel, MapBuffer) can be read from remote storage by
//! fetching only the byte ranges the reader touches. This crate provides the two pieces for that:
//!
//! - [`SparseBuffer`]: the regions of a file fetched so far, kept as shared [`bytes::Bytes`] chunks in an
//!   ordered map. Overlapping or touching regions merge and the newest bytes win; adding a region costs
//!   amortised O(log n) and looking one up O(log n + k), whatever order the regions come in. It reads like a
//!   file ([`std::io::Read`] + [`std::io::Seek`], with the cursor semantics of roboto's `SparseBuffer`) and
//!   by position ([`SparseBuffer::read_at`] on `&self`, so many threads share one buffer). A gap is never mistaken for the
//!   end of the file.
//! - [`RangeReader`]: the async core. It reads an [`AsyncRangeSource`] (`ObjectStoreSource` over any
//!   `object_store` store with the `object-store` feature, your own, or any synchronous [`RangeSource`]:
//!   [`MemorySource`], [`FileSource`]) through a `SparseBuffer`, fetching on a miss with read-ahead, planning
//!   whole sets of ranges with [`prefetch`](RangeReader::prefetch) (skip what is cached, merge small gaps, split
//!   large spans, run requests concurrently on the caller's task), never fetching bytes that are already in
//!   flight, optionally within a cache budget, and counting what it did ([`Stats`]).
//!   [`read_range`](RangeReader::read_range) returns [`bytes::Bytes`], a slice of the cached chunk (no copy)
//!   when one fetched chunk holds the range. Every method takes `&self`: share it in an `Arc`.
//! - [`BlockingRangeReader`]: the blocking facade, with the same method names, and a `Read + Seek + Clone`
//!   cursor (each clone has its own position over the shared reader). It runs the async methods on an explicit
//!   [`BlockingRuntime`]: inline for synchronous sources, a tokio handle you own, or a current-thread runtime it
//!   owns; on a thread that runs async tasks it returns [`Error::BlockingInRuntime`] instead of blocking it.
//!
//! # Async and blocking
//!
//! | you have | use |
//! |---|---|
//! | async code (an object store, or many reads at once) | `RangeReader::new(source).await`, `ObjectStoreSource::open_reader(store, path, options).await`, then `read_range(..).await` |
//! | synchronous code over memory or a local file | `BlockingRangeReader::new(source)` (runs inline, no runtime needed) |
//! | synchronous code over an object store | `reader.blocking(BlockingRuntime::handle(handle))` with your multi-thread runtime, or `BlockingRuntime::current_thread()?` |
//! | several cursors over one cache | clone the `BlockingRangeReader`, or share the `Arc<RangeReader>` |
//!
//! # Reading a footer and an index through a `RangeReader`
//!
//! A file made of 64 blocks of 64 KiB, then an index (offset and length of each block), then a 24-byte footer
//! (where the index starts, how long it is, a magic number): the usual layout of MCAP, Parquet or Roxxel. To
//! read block 10, a reader needs the footer, the index and the block; with the default options that costs two
//! requests, and a [`prefetch`](RangeReader::prefetch) of ten more blocks costs one.
//!
//! ```
//! use std::io::{Read, Seek, SeekFrom};
//! use sparse_buffer::{BlockingRangeReader, FileSource};
//!
//! // Write the file.
//! const BLOCK: u64 = 64 * 1024;
//! let mut file = Vec::new();
//! let mut index = Vec::new();
//! for block in 0..64u64 {
//!     index.extend_from_slice(&(block * BLOCK).to_le_bytes());
//!     index.extend_from_slice(&BLOCK.to_le_bytes());
//!     file.extend((0..BLOCK).map(|i| (block + i) as u8));
//! }
//! let index_offset = file.len() as u64;
//! file.extend_from_slice(&index);
//! file.extend_from_slice(&index_offset.to_le_bytes());
//! file.extend_from_slice(&(index.len() as u64).to_le_bytes());
//! file.extend_from_slice(b"SHELF\0\0\x01");
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("blocks.bin");
//! std::fs::write(&path, &file)?;
//!
//! // Read the footer: the miss falls in the last 128 KiB (`tail_read`), which come in one request.
//! let mut reader = BlockingRangeReader::new(FileSource::open(&path)?)?;
//! let mut footer = [0; 24];
//! reader.seek(SeekFrom::End(-24))?;
//! reader.read_exact(&mut footer)?;
//! assert_eq!(&footer[16..], b"SHELF\0\0\x01");
//! let index_offset = u64::from_le_bytes(footer[..8].try_into()?);
//! let index_len = u64::from_le_bytes(footer[8..16].try_into()?);
//! assert_eq!(reader.stats().requests, 1);
//! assert_eq!(reader.stats().bytes_fetched, 128 * 1024);
//!
//! // Read the index: already cached with the footer, no request.
//! let index = reader.read_range(index_offset..index_offset + index_len)?;
//! assert_eq!(reader.stats().requests, 1);
//! assert_eq!(reader.stats().hits, 1);
//!
//! // Read block 10: one request (with 1 MiB of read-ahead, which also brings blocks 11 to 25).
//! let entry = |block: usize| -> Result<(u64, u64), Box<dyn std::error::Error>> {
//!     let at = block * 16;
//!     Ok((
//!         u64::from_le_bytes(index[at..at + 8].try_into()?),
//!         u64::from_le_bytes(index[at + 8..at + 16].try_into()?),
//!     ))
//! };
//! let (offset, len) = entry(10)?;
//! let block = reader.read_range(offset..offset + len)?;
//! assert_eq!(block[..], file[offset as usize..(offset + len) as usize]);
//! assert_eq!(reader.stats().requests, 2);
//!
//! // Blocks 30 to 39, planned together: contiguous, so one request.
//! let wanted: Vec<_> = (30..40)
//!     .map(|block| entry(block).map(|(offset, len)| offset..offset + len))
//!     .collect::<Result<_, _>>()?;
//! reader.prefetch(&wanted)?;
//! assert_eq!(reader.stats().requests, 3);
//! assert_eq!(reader.read_range(wanted[5].clone())?, file[wanted[5].start as usize..wanted[5].end as usize]);
//! assert_eq!(reader.stats().requests, 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Compatibility with roboto's `SparseBuffer`
//!
//! The behaviour of [`SparseBuffer`] follows `roboto.storage.sparse_buffer.SparseBuffer` (roboto 0.49 and
//! later; checked against roboto 0.62.0 by `cargo xtask conformance sparse-buffer`, which replays scripted and
//! random operation sequences against both and compares every result):
//!
//! - merging: regions that overlap or touch become one, and where they overlap the newest bytes win;
//! - [`regions`](SparseBuffer::regions): sorted, end-exclusive, touching regions reported as one;
//! - reads at the cursor return what the cursor's region holds, up to the size of the read, the end of the
//!   region and the end of the file (so a read is partial at a region end), and advance the cursor;
//! - [`find_region`](SparseBuffer::find_region): the bytes only when one region holds the whole range;
//!   a zero-length range gives empty bytes inside a region or at its end, and nothing in a gap;
//! - seeking from the start, the cursor or the end, past the end included; [`clear`](SparseBuffer::clear)
//!   keeps the cursor and the size; empty regions are ignored.
//!
//! ## Deliberate differences
//!
//! | roboto 0.62 | this crate | why |
//! |---|---|---|
//! | `read` in a gap returns `b''`, as at the end of the file | [`io::Read`](std::io::Read) fails with an error holding [`Error::NotCached`] (offset, next cached byte; [`Error::from_io`] gets it back), the cursor unchanged; [`read_at`](SparseBuffer::read_at) returns [`ReadAt::Gap`]. `Ok(0)` means end of file (or an empty buffer) only | In Rust `Ok(0)` is end-of-file: `read_exact` and every parser would take a gap for a truncated file. roboto's own `mcap` consumer silently accepts short reads |
//! | `seek` to a negative position is accepted (`seek(-3)` gives -3, reads there give `b''`) | [`std::io::ErrorKind::InvalidInput`], the cursor unchanged | the convention of `std::fs::File` and `std::io::Cursor`; roboto's `HttpRangeReader` sends a malformed `Range: bytes=-3-…` header from there |
//! | an invalid `whence` (3, 99) is silently ignored | cannot be expressed ([`std::io::SeekFrom`]) | the type system rules it out |
//! | regions with a negative offset or past `file_size` are stored; reads clamp to `file_size`, `find_region` does not | [`Error::OutOfBounds`], the buffer unchanged; offsets are `u64` | bytes outside the file cannot come from it; storing them hides a caller's bug |
//! | `read(-1)` reads up to the end of the region; `read(None)` raises `TypeError` | a read is sized by its buffer (one as long as the rest of the file gives `read(-1)`'s result) | Rust's `Read` |
//! | `find_region(start, n)` with a negative `n` returns `b''` | lengths are `u64` | |
//! | a list scanned on every call: O(n) per read and add, quadratic prepends (512 × 64 KiB in 5.5 s) | amortised O(log n) per add, O(log n + k) per lookup; regions merged logically as shared chunks, so their bytes are not copied | 100,000 regions and more |
//! | one cursor, not thread-safe | [`read_at`](SparseBuffer::read_at) on `&self`; `Send + Sync` | many readers, one cache |
//!
//! [`RangeReader`] differs from roboto's `HttpRangeReader` on purpose too:
//!
//! - Opening it fetches no bytes; it only asks the size (not even that with [`RangeReader::with_size`]); over an
//!   object store, `ObjectStoreSource::open_reader` learns the size from one suffix GET of the tail. A miss
//!   in the last [`tail_read`](ReaderOptions::tail_read) bytes (128 KiB) fetches all of them. roboto fetches
//!   the first 8 bytes and the last 128 KiB when it opens, and a whole file of up to 2 MiB.
//! - Its [`read_ahead`](ReaderOptions::read_ahead) defaults to 1 MiB (roboto: 8 MiB).
//! - The requests of a read skip the cached regions inside it (only gaps up to
//!   [`coalesce_gap`](ReaderOptions::coalesce_gap) are fetched over); roboto downloads them again.
//! - [`prefetch`](RangeReader::prefetch) plans all its ranges together and coalesces across them; roboto plans
//!   each `prefetch_range` call alone, so per-chunk calls cost a round trip each.
//! - At most [`concurrency`](ReaderOptions::concurrency) requests run at once, as futures of the caller's task
//!   (roboto starts a thread per piece), and bytes in flight are never requested twice.
//! - Object reads are conditional on the ETag (and version) seen at open: a replaced object is
//!   [`Error::ObjectChanged`], never a mix of two versions (roboto reads whatever is there).
//! - An optional [`cache_budget`](ReaderOptions::cache_budget) evicts the least recently used spans; roboto
//!   never evicts.
//! - It is thread-safe and async, and a source's short answer is [`Error::ShortFetch`] (roboto raises on a wrong HTTP
//!   status or `Content-Range` start, and on a read still short after its fetch).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod blocking;
mod buffer;
mod error;
mod io;
mod plan;
mod reader;
#[cfg(feature = "object-store")]
mod remote;
pub mod runtime;
mod source;

pub use blocking::BlockingRangeReader;
pub use buffer::{ReadAt, Regions, SparseBuffer};
pub use error::{Error, Result};
/// The `object_store` crate this crate's [`ObjectStoreSource`] is built on (feature `object-store`).
#[cfg(feature = "object-store")]
pub use object_store;
pub use reader::{RangeReader, ReaderOptions, Stats};
#[cfg(feature = "object-store")]
pub use remote::{DEFAULT_COALESCE_GAP, ObjectStoreSource};
pub use runtime::BlockingRuntime;
pub use source::{AsyncRangeSource, FileSource, MemorySource, RangeSource};
/// The tokio crate behind [`BlockingRuntime::handle`] and [`BlockingRuntime::current_thread`] (feature `tokio`).
#[cfg(feature = "tokio")]
pub use tokio;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

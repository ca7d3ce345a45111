//! Random access to bytes that are not all in memory.
//!
//! `byteshelf` gathers five small crates under one name, each behind a Cargo feature of the same name. Depend on
//! this crate for all of them, or on one of the crates directly when that is all you need.
//!
//! | module | crate | what it does | compatible with |
//! |---|---|---|---|
//! | [`sparse_buffer`] | `sparse-buffer` | sparse cached byte regions read like a file; range fetches planned, coalesced and cached | roboto's `SparseBuffer` |
//! | [`sparse_index`] | `sparse-index` | sorted block first-key → offset index, zero-copy, CRC-protected | an LSM-tree `SparseIndex` |
//! | [`mapbuffer`] | `mapbuffer` | u64 → bytes maps read without parsing | Python `mapbuffer` |
//! | [`roxxel`] | `roxxel-format` | sharded, memory-mapped, crash-safe record datasets | Python `roxxel` |
//! | [`stream_buffer`] | `stream-buffer` | random access into a forward-only stream, spooled to memory then disk | Python `buffer` |
//!
//! # Crate features
//!
//! Everything is enabled by default. With `default-features = false`, enable only what you use:
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `sparse-buffer` | yes | [`sparse_buffer`] |
//! | `sparse-index` | yes | [`sparse_index`] |
//! | `mapbuffer` | yes | [`mapbuffer`] |
//! | `roxxel` | yes | [`roxxel`] |
//! | `stream-buffer` | yes | [`stream_buffer`] |
//! | `mapbuffer-codecs` | yes | all four MapBuffer codecs below |
//! | `gzip` | via `mapbuffer-codecs` | gzip-compressed MapBuffer values (flate2) |
//! | `zstd` | via `mapbuffer-codecs` | Zstandard-compressed MapBuffer values (libzstd, built from C) |
//! | `brotli` | via `mapbuffer-codecs` | Brotli-compressed MapBuffer values (pure Rust) |
//! | `lzma` | via `mapbuffer-codecs` | xz-compressed MapBuffer values (liblzma, built from C) |
//! | `object-store` | no | reading from object storage (S3, GCS, Azure, HTTP) in each enabled crate: `ObjectStoreSource`, `RemoteDataset`, `RemoteMapBuffer` (async, with blocking facades) (see `docs/remote.md`), and the module `remote`: a URL as a store and an object path |
//!
//! A codec feature does nothing without `mapbuffer`; without a codec, reading a value compressed with it is a
//! typed error naming the codec. `object-store` likewise acts only on the crates enabled beside it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "mapbuffer")]
#[doc(inline)]
pub use mapbuffer;
#[cfg(feature = "object-store")]
pub mod remote;
#[cfg(feature = "roxxel")]
#[doc(inline)]
pub use roxxel_format as roxxel;
#[cfg(feature = "sparse-buffer")]
#[doc(inline)]
pub use sparse_buffer;
#[cfg(feature = "sparse-index")]
#[doc(inline)]
pub use sparse_index;
#[cfg(feature = "stream-buffer")]
#[doc(inline)]
pub use stream_buffer;

/// The workspace README's examples, run as doctests so that they cannot go stale.
#[cfg(all(doctest, feature = "mapbuffer", feature = "roxxel"))]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

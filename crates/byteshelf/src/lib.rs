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
//! All five modules are enabled by default. With `default-features = false`, enable only the ones you use:
//!
//! | feature | enables |
//! |---|---|
//! | `sparse-buffer` | [`sparse_buffer`] |
//! | `sparse-index` | [`sparse_index`] |
//! | `mapbuffer` | [`mapbuffer`] |
//! | `roxxel` | [`roxxel`] |
//! | `stream-buffer` | [`stream_buffer`] |
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "mapbuffer")]
#[doc(inline)]
pub use mapbuffer;
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

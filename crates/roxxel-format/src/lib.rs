//! Roxxel datasets: records stored back to back, an end-offset index and a footer, in one or more shard files,
//! compatible with the Python `roxxel` package.
//!
//! - [`Shard`] / [`Dataset`]: memory-mapped, validated at open, zero-copy `get`, fast iteration, typed views.
//! - [`Writer`] ([`WriterOptions`]): byte-identical to roxxel 0.1.0 by default, sharding and appending like it,
//!   but crash-safe: an interrupted write leaves the old records intact ([`recover`] makes that permanent).
//! - [`BlockPacker`]: items packed into fixed-size blocks, one record each, as Python roxxel ≥ 0.3 `write()` does.
//! - [`format`](mod@format): the footer and index layout as pure functions over byte slices.
//! - [`checksums`]: optional `.crc` sidecars (a CRC-32C per record) that turn silent bit flips into typed
//!   errors, written with [`WriterOptions::checksums`], checked by [`Shard::verify`] and, with
//!   [`OpenOptions::verify_checksums`], on every read.
//! - [`Sampler`]: a deterministic, resumable order of record indices for data-parallel training (epoch, seed,
//!   rank, world size), for any dataset, local or remote.
//! - `RemoteDataset` (feature `object-store`): the shards in object storage (S3, GCS, Azure, HTTP), read through
//!   an async `sparse_buffer::RangeReader` per shard, with reads pinned to each shard's version at open;
//!   `BlockingRemoteDataset` is its blocking facade with the local `Dataset`'s method names
//!   (`BlockingRemoteShard` for one shard), and `RemoteOptions::verify_checksums` checks reads against `.crc`
//!   sidecar objects. See `docs/remote.md`.
//!
//! The format and every deliberate difference from Python roxxel are described in `docs/formats/roxxel.md`.
#![deny(missing_docs)]
#![doc = include_str!("../README.md")]

pub mod checksums;
mod core;
mod dataset;
mod error;
pub mod format;
mod iter;
mod journal;
mod naming;
mod packer;
mod recover;
#[cfg(feature = "object-store")]
mod remote;
mod sampler;
mod shard;
mod writer;

pub use checksums::{Checksums, ShortSidecar, Verification, sidecar_path};
pub use dataset::{Dataset, DatasetSpec, OpenOptions, Records, SkippedShard};
pub use error::{Error, ExpectedSize, Result};
pub use format::{Dtype, Footer, FooterKind};
pub use iter::Iter;
pub use memmap2::Mmap;
pub use packer::BlockPacker;
pub use recover::{Recovery, recover};
#[cfg(feature = "object-store")]
pub use remote::{
    BlockingRemoteDataset, BlockingRemoteShard, RemoteDataset, RemoteIter, RemoteOptions,
    RemoteShard, RemoteSpec,
};
pub use sampler::{Sampler, SamplerIter, SamplerState};
pub use shard::{COPY_INDEX_LIMIT, Shard};
pub use writer::{ShardSummary, WriteSummary, Writer, WriterOptions};

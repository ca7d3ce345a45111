//! The bodies of byteshelf's fuzz targets, one function per target, shared by the cargo-fuzz binaries
//! (`fuzz_targets/<target>.rs`, two lines each) and by the replay test (`tests/replay.rs`), which runs every
//! committed input of `seeds/<target>/` and `regressions/<target>/` through the same function in `cargo test`.
//!
//! Each function takes any bytes and panics only when a decoder breaks its contract (a panic inside a decoder,
//! an out-of-bounds access, a wrong answer); libFuzzer reports such a panic as a crash. The library does not
//! depend on libFuzzer, so the test binary links with libtest's `main`.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod input;
mod intmap;
mod mapbuffer;
mod range_reader;
mod roxxel_shard;
mod sparse_buffer;
mod sparse_index;
mod stream_buffer;

pub use intmap::intmap;
pub use mapbuffer::mapbuffer;
pub use range_reader::range_reader;
pub use roxxel_shard::roxxel_shard;
pub use sparse_buffer::sparse_buffer;
pub use sparse_index::sparse_index;
pub use stream_buffer::stream_buffer;

/// A fuzz target's body: any bytes in, a panic on a broken contract.
pub type Harness = fn(&[u8]);

/// Every target, by the name of its binary and of its `seeds/` and `regressions/` directories.
pub const TARGETS: [(&str, Harness); 7] = [
    ("roxxel_shard", roxxel_shard),
    ("mapbuffer", mapbuffer),
    ("intmap", intmap),
    ("sparse_index", sparse_index),
    ("sparse_buffer", sparse_buffer),
    ("range_reader", range_reader),
    ("stream_buffer", stream_buffer),
];

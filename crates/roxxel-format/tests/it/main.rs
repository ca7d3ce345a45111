//! Integration tests of roxxel-format: reading, validation, writing, crash safety, concurrency, golden bytes
//! and property tests against a Vec-of-records model.

#[cfg(unix)]
mod bounded;
mod checksums;
mod common;
mod concurrency;
mod golden;
mod kill;
mod model;
mod packer;
mod read;
mod recovery;
#[cfg(feature = "object-store")]
mod remote;
#[cfg(feature = "object-store")]
mod remote_checksums;
mod sampler;
#[cfg(feature = "object-store")]
#[path = "../../../sparse-buffer/tests/it/servers.rs"]
mod servers;
mod write;

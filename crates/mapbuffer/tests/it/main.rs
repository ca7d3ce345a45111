//! Integration tests of the mapbuffer crate: round trips, golden bytes, corruption handling, property tests against
//! a `BTreeMap` model, and IntMap.

mod corrupt;
mod faults;
mod golden;
mod intmap;
mod props;
mod roundtrip;

use mapbuffer::{Codec, FormatVersion, MapBufferBuilder};

/// Builds a map of `entries` with `codec` and `version`.
pub(crate) fn build(codec: Codec, version: FormatVersion, entries: &[(u64, &[u8])]) -> Vec<u8> {
    MapBufferBuilder::new()
        .codec(codec)
        .format_version(version)
        .to_vec(entries.iter().copied())
        .expect("building a valid map")
}

/// Every codec this build has.
pub(crate) fn codecs() -> impl Iterator<Item = Codec> {
    Codec::ALL.into_iter().filter(|codec| codec.is_available())
}

/// Both format versions.
pub(crate) const VERSIONS: [FormatVersion; 2] = [FormatVersion::V0, FormatVersion::V1];

#[cfg(feature = "object-store")]
mod remote;
#[cfg(feature = "object-store")]
#[path = "../../../sparse-buffer/tests/it/servers.rs"]
mod servers;

//! The streaming writer produces exactly what the owned index serialises, for every format.

use std::num::NonZeroU16;

use proptest::prelude::*;
use sparse_index::{Format, SparseIndex, SparseIndexRef, SparseIndexWriter};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn writer_and_owned_index_agree(
        keys in prop::collection::btree_set(prop::collection::vec(any::<u8>(), 0..40), 0..300),
        interval in 1u16..40,
        gap in 1u64..100_000,
        prefix in prop::collection::vec(any::<u8>(), 0..12),
    ) {
        // A shared prefix exercises the heads, which the writer rebuilds once it knows what all keys share.
        let mut index = SparseIndex::new();
        for (i, key) in keys.iter().enumerate() {
            index.add([prefix.as_slice(), key].concat(), i as u64 * gap).unwrap();
        }
        let data_end = keys.len() as u64 * gap + 1;
        index.set_data_end(data_end).unwrap();
        for format in [Format::Plain, Format::Sampled, Format::PrefixCompressed { restart_interval: NonZeroU16::new(interval).unwrap() }] {
            let mut writer = SparseIndexWriter::with_format(Vec::new(), format);
            for (key, offset) in &index {
                writer.add(key, offset).unwrap();
            }
            let bytes = writer.finish(data_end).unwrap();
            prop_assert_eq!(&bytes, &index.to_bytes_with(format).unwrap());
            let view = SparseIndexRef::from_bytes_verified(&bytes[..]).unwrap();
            prop_assert_eq!(view.to_index(), index.clone());
        }
    }
}

#[test]
fn a_large_index_streams_through_the_buffer() {
    let mut writer = SparseIndexWriter::new(Vec::new());
    for i in 0..50_000u64 {
        writer.add(i.to_be_bytes(), i * 3).unwrap();
    }
    let bytes = writer.finish(None).unwrap();
    let view = SparseIndexRef::from_bytes_verified(bytes).unwrap();
    assert_eq!(view.len(), 50_000);
    assert_eq!(view.data_end(), None);
    assert_eq!(view.block_range(49_999), None);
    assert_eq!(view.block_range(49_998), Some(149_994..149_997));
    assert_eq!(view.floor_offset(40_000u64.to_be_bytes()), Some(120_000));
}

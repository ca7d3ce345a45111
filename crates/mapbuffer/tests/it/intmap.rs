//! IntMap: round trips, unaligned reads, in-place updates and files.

use mapbuffer::{Error, IntMap};

#[test]
fn round_trip_with_extreme_keys_and_values() {
    let entries = [
        (0, u64::MAX),
        (u64::MAX, 0),
        (1 << 63, 7),
        ((1 << 63) - 1, 1 << 63),
        (5, 5),
    ];
    let bytes = IntMap::build(entries).unwrap();
    assert_eq!(bytes.len(), 10 + 16 * entries.len());
    let map = IntMap::from_bytes(&bytes[..]).unwrap();
    map.verify().unwrap();
    for (key, value) in entries {
        assert_eq!(map.get(key), Some(value));
        assert!(map.contains(key));
    }
    assert_eq!(map.get(6), None);
    let mut sorted = entries.to_vec();
    sorted.sort_unstable();
    assert_eq!(map.iter().collect::<Vec<_>>(), sorted);
    assert_eq!(map.iter_slot_order().len(), 5);
    assert_eq!(map.entry_at(5), None);
}

#[test]
fn unaligned_buffers_read_the_same() {
    let bytes = IntMap::build((0..100u64).map(|k| (k * k, k))).unwrap();
    for shift in 0..8 {
        let mut shifted = vec![0u8; shift];
        shifted.extend_from_slice(&bytes);
        let map = IntMap::from_bytes(&shifted[shift..]).unwrap();
        assert_eq!(map.get(81), Some(9));
    }
}

#[test]
fn in_place_set() {
    let mut map = IntMap::from_bytes(IntMap::build([(1, 2), (3, 4)]).unwrap()).unwrap();
    map.set(1, 8).unwrap();
    assert_eq!(map.get(1), Some(8));
    assert!(matches!(map.set(2, 1), Err(Error::KeyNotFound { key: 2 })));
    assert!(matches!(
        IntMap::build([(1, 1), (1, 2)]),
        Err(Error::DuplicateKey { key: 1 })
    ));
}

#[test]
fn empty_and_file() {
    let empty = IntMap::from_bytes(IntMap::build([]).unwrap()).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.get(0), None);
    let file = tempfile::NamedTempFile::new().unwrap();
    IntMap::write([(10, 20)], file.as_file()).unwrap();
    let map = IntMap::open(file.path()).unwrap();
    assert_eq!(map.get(10), Some(20));
}

//! An IntMap image of any bytes: opening, lookups and validation never panic, and a map that validates answers
//! every lookup of its own keys with its own values.

use mapbuffer::IntMap;

/// The `intmap` target.
pub fn intmap(data: &[u8]) {
    let Ok(map) = IntMap::from_bytes(data) else {
        return;
    };
    let len = map.len();
    let _ = map.entry_at(len);
    let _ = map.get(0);
    let _ = map.get(u64::MAX);
    let valid = map.verify().is_ok();
    let entries: Vec<_> = map.iter().take(100_000).collect();
    for &(key, value) in &entries {
        let found = map.get(key);
        if valid {
            assert_eq!(found, Some(value), "a valid map finds its own key {key}");
        }
    }
    // The batched lookups answer as the single ones.
    let keys: Vec<u64> = entries.iter().map(|&(key, _)| key).collect();
    let probes = crate::mapbuffer::probes(&keys);
    let values = map.get_many(&probes);
    assert_eq!(values.len(), probes.len());
    for (&key, &value) in probes.iter().zip(&values) {
        assert_eq!(value, map.get(key), "get_many vs get({key})");
        assert_eq!(map.contains(key), map.slot_of(key).is_some());
    }
    if valid {
        assert!(
            entries.windows(2).all(|w| w[0].0 < w[1].0),
            "a valid map iterates keys in order"
        );
    }
}

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
    let valid = map.validate().is_ok();
    let entries: Vec<_> = map.iter().take(100_000).collect();
    for &(key, value) in &entries {
        let found = map.get(key);
        if valid {
            assert_eq!(found, Some(value), "a valid map finds its own key {key}");
        }
    }
    if valid {
        assert!(
            entries.windows(2).all(|w| w[0].0 < w[1].0),
            "a valid map iterates keys in order"
        );
    }
}

//! A MapBuffer image of any bytes (every codec: the features are on): opening, lookups, iteration and validation
//! never panic, and a buffer that validates decodes every value it lists.

use mapbuffer::MapBuffer;

/// The `mapbuffer` target.
pub fn mapbuffer(data: &[u8]) {
    let Ok(map) = MapBuffer::from_bytes(data) else {
        return;
    };
    let _ = (
        map.header(),
        map.codec(),
        map.format_version(),
        map.index_end(),
        map.data_len(),
    );
    let len = map.len();
    let _ = map.key_at(len);
    let _ = map.raw_entry(len);
    let _ = map.value_at(len);
    let _ = map.get(u64::MAX);
    let valid = map.verify().is_ok();
    let keys: Vec<u64> = map.keys().take(10_000).collect();
    for (slot, &key) in keys.iter().enumerate() {
        let got = map.get(key);
        let stored = map.get_stored(key);
        let size = map.size_of(key);
        let raw = map.raw_entry(slot);
        if valid {
            got.expect("a valid map decodes every value")
                .expect("its own key is present");
            let stored = stored.expect("valid").expect("present");
            assert_eq!(size.expect("valid"), Some(stored.len()));
            assert!(raw.is_ok());
        }
    }
    for entry in map.iter().take(10_000) {
        let _ = entry;
    }
    for entry in map.raw_entries().take(10_000) {
        let _ = entry;
    }
    // The batched lookups answer as the single ones, for keys present and absent, in any order (reversed here, so
    // that the groups the batch searches together are not sorted).
    let probes = probes(&keys);
    let slots = map.slots_of(&probes);
    assert_eq!(slots.len(), probes.len());
    for (&key, &slot) in probes.iter().zip(&slots) {
        assert_eq!(slot, map.slot_of(key), "slots_of vs slot_of({key})");
    }
    let contains = map.contains_many(&probes);
    assert!(contains.iter().zip(&slots).all(|(c, s)| *c == s.is_some()));
    match map.get_many(&probes) {
        Ok(values) => {
            assert_eq!(values.len(), probes.len());
            for (&key, value) in probes.iter().zip(&values) {
                let single = map
                    .get(key)
                    .expect("get_many decoded every value, so does get");
                assert_eq!(
                    value.as_deref(),
                    single.as_deref(),
                    "get_many vs get({key})"
                );
            }
        }
        Err(_) => assert!(!valid, "a valid map decodes every value of get_many"),
    }
    // The same checks without the CRC: no panic either.
    let unchecked = map.with_crc_check(false);
    for &key in keys.iter().take(64) {
        let _ = unchecked.get(key);
    }
}

/// Keys to look up in a batch: each of `keys` and its neighbours, the extremes, in reverse order.
pub(crate) fn probes(keys: &[u64]) -> Vec<u64> {
    let mut probes = vec![0, u64::MAX];
    for &key in keys.iter().take(2_000) {
        probes.extend([key, key.wrapping_add(1), key.wrapping_sub(1)]);
    }
    probes.reverse();
    probes
}

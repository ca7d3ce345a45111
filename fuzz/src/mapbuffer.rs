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
    let valid = map.validate().is_ok();
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
    // The same checks without the CRC: no panic either.
    let unchecked = map.with_crc_check(false);
    for &key in keys.iter().take(64) {
        let _ = unchecked.get(key);
    }
}

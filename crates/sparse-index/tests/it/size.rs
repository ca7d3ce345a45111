//! Format version 2 is at least 40% smaller than version 1 on keys that share a 12-byte prefix.

use sparse_index::{Format, SparseIndex, SparseIndexRef};

#[test]
fn prefix_compression_saves_at_least_40_percent_on_shared_prefixes() {
    let mut index = SparseIndex::new();
    for i in 0..100_000u32 {
        let mut key = b"tenant-0042/".to_vec(); // 12 shared bytes
        key.extend_from_slice(&(i * 7).to_be_bytes()); // 16-byte keys
        index.add(&key, u64::from(i) * 4096).unwrap();
    }
    index.set_data_end(100_000 * 4096).unwrap();
    let v1 = index.to_bytes_with(Format::Plain).unwrap();
    let v2 = index.to_bytes_with(Format::prefix_compressed()).unwrap();
    // 20 bytes + key per entry, plus the head levels (6,250 + 391 + 25 + 2 heads).
    assert_eq!(v1.len(), 36 + 100_000 * (20 + 16) + 8 * 6_668);
    let saving = 1.0 - v2.len() as f64 / v1.len() as f64;
    assert!(
        saving >= 0.40,
        "v2 is {} bytes, v1 {}: only {:.1}% smaller",
        v2.len(),
        v1.len(),
        saving * 100.0
    );
    // Also against the reference's layout (12 bytes plus the key per entry), the smallest uncompressed one.
    let legacy = index.to_legacy_bytes().len();
    assert!(
        v2.len() as f64 <= 0.6 * legacy as f64,
        "v2 {} bytes, legacy {legacy}",
        v2.len()
    );
    // The compressed view answers the same.
    let view = SparseIndexRef::from_bytes_verified(&v2[..]).unwrap();
    assert_eq!(view.len(), index.len());
    for i in (0..100_000).step_by(997) {
        let (key, offset) = index.get(i).unwrap();
        assert_eq!(view.floor(key), Some(i));
        assert_eq!(view.get(i).unwrap(), (key.into(), offset));
    }
}

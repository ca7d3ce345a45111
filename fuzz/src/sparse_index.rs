//! A sparse index of any bytes, in any format (v1, v2, legacy): opening and lookups never panic, and every view of
//! one file gives the same answers: the zero-copy view, the owned index, and a linear scan over its entries.

use std::borrow::Cow;

use sparse_index::{SparseIndex, SparseIndexRef};

/// The `sparse_index` target.
pub fn sparse_index(data: &[u8]) {
    let owned = SparseIndex::from_bytes(data);
    let _ = SparseIndex::from_legacy_bytes(data);
    let _ = SparseIndexRef::from_bytes(data).map(|view| {
        // Unverified views may hold nonsense, but must not panic on lookups.
        let _ = view.len();
        let _ = view.first_key();
        let _ = view.last_key();
        let _ = view.floor(b"m");
        let _ = view.ceil(b"m");
        let _ = view.next_offset_after(0);
        let _ = view.block_range(0);
        let _ = view.verify();
    });
    let Ok((view, _format)) = SparseIndexRef::from_any_bytes(data) else {
        return;
    };
    let entries: Vec<(Cow<'_, [u8]>, u64)> = view.iter().take(50_000).collect();
    if entries.len() != view.len() {
        return;
    }
    for (i, (key, offset)) in entries.iter().enumerate() {
        assert_eq!(
            view.get(i).as_ref().map(|(k, o)| (&k[..], *o)),
            Some((&key[..], *offset))
        );
    }
    assert!(
        entries.windows(2).all(|w| w[0].0 < w[1].0),
        "a checked index has strictly increasing keys"
    );
    assert!(
        entries.windows(2).all(|w| w[0].1 <= w[1].1),
        "a checked index has non-decreasing offsets"
    );
    // The owned index agrees with the view wherever both open the same bytes.
    let owned = owned.ok();
    if let Some(owned) = &owned {
        assert_eq!(owned.len(), view.len());
        assert_eq!(owned.data_end(), view.data_end());
    }
    let mut probes: Vec<Vec<u8>> = vec![Vec::new(), vec![0], vec![0xff; 4]];
    for (key, _) in entries.iter().take(64) {
        probes.push(key.to_vec());
        let mut below = key.to_vec();
        match below.last_mut() {
            Some(0) | None => {
                below.pop();
            }
            Some(last) => *last -= 1,
        }
        probes.push(below);
        let mut above = key.to_vec();
        above.push(0);
        probes.push(above);
    }
    for probe in &probes {
        // Linear model: floor = last key <= probe, ceil = first key >= probe.
        let floor = entries.iter().rposition(|(k, _)| k[..] <= probe[..]);
        let ceil = entries.iter().position(|(k, _)| k[..] >= probe[..]);
        assert_eq!(view.floor(probe), floor, "floor of {probe:?}");
        assert_eq!(view.ceil(probe), ceil, "ceil of {probe:?}");
        assert_eq!(view.floor_offset(probe), floor.map(|i| entries[i].1));
        assert_eq!(view.ceil_offset(probe), ceil.map(|i| entries[i].1));
        if let Some(owned) = &owned {
            assert_eq!(owned.floor(probe), floor);
            assert_eq!(owned.ceil(probe), ceil);
        }
    }
    for (_, offset) in entries.iter().take(64) {
        let expected = entries.iter().map(|e| e.1).find(|&o| o > *offset);
        assert_eq!(view.next_offset_after(*offset), expected);
        if let Some(owned) = &owned {
            assert_eq!(owned.next_offset_after(*offset), expected);
        }
    }
    for i in 0..entries.len().min(64) + 1 {
        let range = view.block_range(i);
        if let Some(owned) = &owned {
            assert_eq!(owned.block_range(i), range);
        }
    }
    // What the view holds re-encodes to bytes that open again with the same entries.
    let again = view.to_index().to_bytes();
    let reopened = SparseIndexRef::from_bytes_verified(&again[..]).expect("re-encoded index opens");
    assert!(
        reopened
            .iter()
            .map(|(k, o)| (k.into_owned(), o))
            .eq(entries.iter().map(|(k, o)| (k.to_vec(), *o)))
    );
}

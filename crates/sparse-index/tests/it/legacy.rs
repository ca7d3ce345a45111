//! The Python reference's layout: known vectors, its edge cases, and where this crate is deliberately stricter.

use sparse_index::{Error, FileFormat, SparseIndex, SparseIndexRef, detect_format};

/// Hand-assembled from the reference's rules: `>IQ` + key per entry, then `>I` CRC-32 of the entries.
fn reference_encoding(entries: &[(&[u8], u64)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, offset) in entries {
        out.extend_from_slice(&(key.len() as u32).to_be_bytes());
        out.extend_from_slice(&offset.to_be_bytes());
        out.extend_from_slice(key);
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

#[test]
fn empty_index_has_two_encodings() {
    assert_eq!(SparseIndex::new().to_legacy_bytes(), [0, 0, 0, 0]);
    assert!(
        SparseIndex::from_legacy_bytes(&[0, 0, 0, 0])
            .unwrap()
            .is_empty()
    );
    assert!(SparseIndex::from_legacy_bytes(b"").unwrap().is_empty());
    for len in 1..4 {
        let err = SparseIndex::from_legacy_bytes(&[0; 3][..len]).unwrap_err();
        assert!(matches!(err, Error::LegacyTooShort { len: l } if l == len));
    }
    insta::assert_snapshot!(
        SparseIndex::from_legacy_bytes(&[0; 2]).unwrap_err(),
        @"legacy sparse index too short for its CRC: 2 bytes"
    );
}

#[test]
fn known_vector_round_trips() {
    let entries: [(&[u8], u64); 3] = [(b"", 0), (b"\x00\xff", 4096), (b"key", 1 << 40)];
    let bytes = reference_encoding(&entries);
    // "crc32(b'') == 0"; this vector's CRC, as Python's binascii.crc32 computes it.
    assert_eq!(&bytes[..12], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let index = SparseIndex::from_legacy_bytes(&bytes).unwrap();
    assert_eq!(index.iter().collect::<Vec<_>>(), entries);
    assert_eq!(index.data_end(), None);
    assert_eq!(index.to_legacy_bytes(), bytes);
    assert_eq!(detect_format(&bytes), FileFormat::Legacy);
    let (view, format) = SparseIndexRef::from_any_bytes(&bytes).unwrap();
    assert_eq!(format, FileFormat::Legacy);
    assert_eq!(view.ceil_offset(b"\x00"), Some(4096));
}

#[test]
fn damage_is_rejected() {
    let bytes = reference_encoding(&[(b"a", 1), (b"b", 2)]);
    let mut flipped = bytes.clone();
    flipped[13] ^= 1;
    assert!(matches!(
        SparseIndex::from_legacy_bytes(&flipped),
        Err(Error::ChecksumMismatch { offset: 26, .. })
    ));
    // A truncated entry behind a valid CRC: the reference stops silently, this crate says so.
    let truncated = reference_encoding(&[(b"a", 1)]);
    let mut payload = truncated[..truncated.len() - 4].to_vec();
    payload.extend_from_slice(&[0, 0, 0, 9, 0, 0]);
    let crc = crc32fast::hash(&payload);
    payload.extend_from_slice(&crc.to_be_bytes());
    let err = SparseIndex::from_legacy_bytes(&payload).unwrap_err();
    insta::assert_snapshot!(err, @"corrupt legacy sparse index: entry 1 at byte 13 is truncated");
    // A key that runs past the entries.
    let long_key = {
        let mut p = vec![0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 1, b'a'];
        let crc = crc32fast::hash(&p);
        p.extend_from_slice(&crc.to_be_bytes());
        p
    };
    assert!(matches!(
        SparseIndex::from_legacy_bytes(&long_key),
        Err(Error::LegacyTruncatedEntry {
            index: 0,
            offset: 0
        })
    ));
    // Offsets that do not ascend (the reference never checks them).
    let unordered = reference_encoding(&[(b"a", 10), (b"b", 10)]);
    assert!(matches!(
        SparseIndex::from_legacy_bytes(&unordered),
        Err(Error::CorruptOffset {
            index: 1,
            offset: 17,
            value: 10
        })
    ));
    let unordered = reference_encoding(&[(b"b", 1), (b"a", 2)]);
    assert!(matches!(
        SparseIndex::from_legacy_bytes(&unordered),
        Err(Error::CorruptKey {
            index: 1,
            offset: 13,
            ..
        })
    ));
}

/// Zeros are not a legacy index: small, the CRC-32 says so first; large (over 16 MiB), the second entry does (an
/// empty key after an empty key), without a CRC over all of it, which for a huge sparse file would take minutes.
#[test]
fn large_junk_fails_at_its_first_bad_entry() {
    let small = vec![0u8; 1024];
    assert!(matches!(
        SparseIndex::from_legacy_bytes(&small),
        Err(Error::ChecksumMismatch { offset: 1020, .. })
    ));
    let large = vec![0u8; (16 << 20) + 100];
    assert!(matches!(
        SparseIndex::from_legacy_bytes(&large),
        Err(Error::CorruptKey {
            index: 1,
            offset: 12,
            ..
        })
    ));
    // A large valid index still has its CRC checked after its entries.
    let mut index = SparseIndex::new();
    let key = vec![b'k'; 1 << 20];
    for i in 0..17u8 {
        let mut key = key.clone();
        key.push(i);
        index.add(&key, u64::from(i)).unwrap();
    }
    let mut bytes = index.to_legacy_bytes();
    assert!(bytes.len() > 16 << 20);
    assert_eq!(SparseIndex::from_legacy_bytes(&bytes).unwrap().len(), 17);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert!(matches!(
        SparseIndex::from_legacy_bytes(&bytes),
        Err(Error::ChecksumMismatch { .. })
    ));
}

/// Without a magic number, anything not framed as a byteshelf index is read as the legacy layout: a file whose first
/// entry does not even fit (any text does: its first 4 bytes make a key length of at least 538 MB) and whose CRC
/// does not match is not an index at all, while a legacy index damaged further on is a checksum mismatch.
#[test]
fn text_is_not_an_index() {
    let text = b"apple\t0\nmango\t4096\n";
    let err = SparseIndex::from_legacy_bytes(text).unwrap_err();
    assert!(matches!(err, Error::NotAnIndex { len: 19 }), "{err:?}");
    insta::assert_snapshot!(
        err,
        @"not a sparse index: no byteshelf magic (SPIX), and not the legacy (Python reference) layout either: its first entry does not fit in its 19 bytes"
    );
    assert!(matches!(
        SparseIndexRef::from_any_bytes(text),
        Err(Error::NotAnIndex { .. })
    ));
    // Shorter than an entry header, but longer than a CRC.
    assert!(matches!(
        SparseIndex::from_legacy_bytes(b"hello\n"),
        Err(Error::NotAnIndex { len: 6 })
    ));
    // Large: refused at once, without a CRC over all of it.
    let mut large = vec![b'x'; (16 << 20) + 100];
    large[..4].copy_from_slice(b"abcd");
    assert!(matches!(
        SparseIndex::from_legacy_bytes(&large),
        Err(Error::NotAnIndex { .. })
    ));
    // A legacy index with a flipped bit in a key, a CRC byte or the second entry's header: still a checksum
    // mismatch, the first entry fitting.
    let bytes = reference_encoding(&[(b"apple", 0), (b"mango", 4096)]);
    for at in [12, 17, bytes.len() - 1] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x80;
        let err = SparseIndex::from_legacy_bytes(&flipped).unwrap_err();
        assert!(matches!(err, Error::ChecksumMismatch { .. }), "{at}: {err}");
    }
    // A flipped bit in the first key length makes that entry run past the end: not recognisable any more.
    let mut flipped = bytes.clone();
    flipped[0] ^= 0x01;
    assert!(matches!(
        SparseIndex::from_legacy_bytes(&flipped),
        Err(Error::NotAnIndex { .. })
    ));
}

/// A byteshelf index cut short (no magic at its end) is read as legacy, whose first "entry" does not fit; it is
/// reported by the byteshelf checks instead, which say what is wrong.
#[test]
fn a_cut_byteshelf_index_is_not_called_not_an_index() {
    let mut index = SparseIndex::new();
    index.add(b"apple", 0).unwrap();
    index.add(b"mango", 4096).unwrap();
    let bytes = index.to_bytes();
    for len in 4..bytes.len() {
        let err = SparseIndexRef::from_any_bytes(&bytes[..len]).unwrap_err();
        assert!(
            matches!(err, Error::Truncated { .. } | Error::BadMagic { .. }),
            "{len}: {err}"
        );
    }
}

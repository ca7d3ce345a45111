//! Malformed buffers: every defect is a typed error naming where it is, and no byte sequence panics.

use mapbuffer::{Codec, Error, FormatVersion, IntMap, MapBuffer};

use crate::{VERSIONS, build, codecs};

fn two_keys(version: FormatVersion) -> Vec<u8> {
    build(Codec::None, version, &[(1, b"hello"), (2, b"world")])
}

/// Opens, validates, and reads everything; returns whether validation passed. Must never panic.
fn exercise(bytes: &[u8]) -> bool {
    let Ok(map) = MapBuffer::from_bytes(bytes) else {
        return false;
    };
    let valid = map.verify().is_ok();
    for key in map.keys().collect::<Vec<_>>() {
        let _ = map.get(key);
        let _ = map.size_of(key);
    }
    for key in [0, 1, 2, 3, u64::MAX] {
        let _ = map.get(key);
    }
    let _ = map.iter().count();
    let _ = map.iter_slot_order().count();
    for slot in 0..map.len() + 1 {
        let _ = map.raw_entry(slot);
    }
    valid
}

#[test]
fn header_errors() {
    let good = two_keys(FormatVersion::V1);
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(matches!(
        MapBuffer::from_bytes(&bad),
        Err(Error::BadMagic { .. })
    ));
    let mut bad = good.clone();
    bad[7] = 2;
    assert!(matches!(
        MapBuffer::from_bytes(&bad),
        Err(Error::UnsupportedVersion { version: 2 })
    ));
    let mut bad = good.clone();
    bad[8..12].copy_from_slice(b"abcd");
    let err = MapBuffer::from_bytes(&bad).unwrap_err();
    assert!(matches!(err, Error::UnknownCodec { tag } if &tag == b"abcd"));
    assert_eq!(err.to_string(), "unknown codec tag b\"abcd\" at byte 8");
    let mut bad = good.clone();
    bad[12] = 5;
    assert!(matches!(
        MapBuffer::from_bytes(&bad),
        Err(Error::Truncated {
            what: "index",
            needed: 96,
            ..
        })
    ));
    assert!(matches!(
        MapBuffer::from_bytes(&good[..10]),
        Err(Error::Truncated { what: "header", .. })
    ));
    let mut empty = build(Codec::None, FormatVersion::V1, &[]);
    empty.push(b'x');
    assert!(matches!(
        MapBuffer::from_bytes(&empty),
        Err(Error::TrailingBytes {
            expected: 16,
            len: 17
        })
    ));
}

#[test]
fn offset_errors_name_the_slot_and_byte() {
    let good = two_keys(FormatVersion::V1);
    // First offset (byte 24) must be 16 + 16 * 2 = 48.
    let mut bad = good.clone();
    bad[24] = 49;
    let err = MapBuffer::from_bytes(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CorruptOffset {
                slot: 0,
                key: 2,
                offset: 49,
                at: 24,
                ..
            }
        ),
        "{err}"
    );
    // Second offset past the end of the buffer.
    let mut bad = good.clone();
    bad[40] = 200;
    let err = MapBuffer::from_bytes(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CorruptOffset {
                slot: 1,
                key: 1,
                offset: 200,
                at: 40,
                ..
            }
        ),
        "{err}"
    );
    // Second offset before the first: found on access and by validate.
    let mut bad = good.clone();
    bad[40] = 47;
    let map = MapBuffer::from_bytes(&bad).unwrap();
    assert!(matches!(
        map.get(1),
        Err(Error::CorruptOffset {
            slot: 1,
            at: 40,
            ..
        })
    ));
    assert!(matches!(
        map.get(2),
        Err(Error::CorruptOffset { slot: 1, .. })
    ));
    assert!(map.verify().is_err());
}

#[test]
fn truncated_and_extended_buffers() {
    let good = two_keys(FormatVersion::V1);
    // Truncated by one byte: the last value loses a CRC byte.
    let map = MapBuffer::from_bytes(&good[..good.len() - 1]).unwrap();
    assert!(matches!(map.get(1), Err(Error::CrcMismatch { key: 1, .. })));
    assert!(map.verify().is_err());
    // One byte appended: it becomes part of the last value, which then fails its CRC.
    let mut longer = good.clone();
    longer.push(0);
    assert!(MapBuffer::from_bytes(&longer).unwrap().verify().is_err());
    // A version 1 value shorter than its CRC.
    let short = &good[..good.len() - 7];
    let err = MapBuffer::from_bytes(short).unwrap().get(1).unwrap_err();
    assert!(
        matches!(err, Error::MissingCrc { key: 1, len: 2, .. }),
        "{err}"
    );
}

#[test]
fn key_order_and_duplicates_in_the_index() {
    // Python can produce a duplicate key (two objects with the same int()); reads use lower-bound semantics.
    let mut bytes = build(
        Codec::None,
        FormatVersion::V1,
        &[(4, b"int5"), (5, b"int5")],
    );
    bytes[16] = 5; // slot 0 held key 5, slot 1 key 4: make both 5.
    bytes[32] = 5;
    let map = MapBuffer::from_bytes(&bytes).unwrap();
    assert_eq!(&*map.get(5).unwrap().unwrap(), b"int5");
    assert_eq!(map.slot_of(5), Some(1), "the first in sorted order");
    let err = map.verify().unwrap_err();
    assert!(
        matches!(
            err,
            Error::DuplicateKeyInIndex {
                key: 5,
                first_slot: 1,
                slot: 0,
                at: 16
            }
        ),
        "{err}"
    );
    // Out of order: slot 1 (the left child) larger than slot 0.
    let mut bytes = build(Codec::None, FormatVersion::V1, &[(1, b"a"), (2, b"b")]);
    bytes[32] = 9;
    let err = MapBuffer::from_bytes(&bytes).unwrap().verify().unwrap_err();
    assert!(
        matches!(
            err,
            Error::UnsortedIndex {
                key: 2,
                previous: 9,
                slot: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn corrupt_compressed_values_are_errors() {
    for codec in codecs().filter(|&codec| codec != Codec::None) {
        let mut bytes = build(codec, FormatVersion::V0, &[(1, &[7; 300]), (2, b"x")]);
        // Slot 0 is key 2; damage the middle of key 1's payload (slot 1).
        let map = MapBuffer::from_bytes(&bytes).unwrap();
        let raw = map.raw_entry(1).unwrap();
        let start = raw.offset as usize;
        let end = start + raw.payload.len();
        for byte in &mut bytes[start + 2..end] {
            *byte ^= 0x55;
        }
        let map = MapBuffer::from_bytes(&bytes).unwrap();
        // Twice, with a good value read in between: a failed decode leaves nothing behind in a decoder that
        // is reused (zstd keeps one context per thread).
        for _ in 0..2 {
            let err = map.get(1).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Decompress {
                        key: 1,
                        slot: 1,
                        ..
                    }
                ),
                "{codec}: {err}"
            );
            assert_eq!(map.get(2).unwrap().as_deref(), Some(&b"x"[..]), "{codec}");
        }
        assert!(map.verify().is_err());
    }
}

#[test]
fn every_truncation_and_byte_flip_is_handled() {
    for codec in codecs() {
        for version in VERSIONS {
            let good = build(
                codec,
                version,
                &[(1, b"hello"), (2, b""), (300, b"world"), (u64::MAX, b"!")],
            );
            assert!(exercise(&good));
            for len in 0..good.len() {
                exercise(&good[..len]);
            }
            let data_start = 16 + 4 * 16;
            for at in 0..good.len() {
                for flip in [0x01, 0x80, 0xff] {
                    let mut bad = good.clone();
                    bad[at] ^= flip;
                    let valid = exercise(&bad);
                    if at >= data_start && version == FormatVersion::V1 {
                        assert!(
                            !valid,
                            "{codec} v1: flip {flip:#x} at byte {at} not detected"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn intmap_errors() {
    let good = IntMap::build([(1, 2), (3, 4)]).unwrap();
    let mut bad = good.clone();
    bad[0] = b'x';
    assert!(matches!(
        IntMap::from_bytes(&bad),
        Err(Error::BadMagic { .. })
    ));
    let mut bad = good.clone();
    bad[4] = 1;
    assert!(matches!(
        IntMap::from_bytes(&bad),
        Err(Error::UnsupportedVersion { version: 1 })
    ));
    let mut bad = good.clone();
    bad[5] = 2;
    assert!(matches!(
        IntMap::from_bytes(&bad),
        Err(Error::UnsupportedIntMapDtype { dtype: 2 })
    ));
    assert!(matches!(
        IntMap::from_bytes(&good[..good.len() - 1]),
        Err(Error::Truncated { .. })
    ));
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(
        IntMap::from_bytes(&longer),
        Err(Error::TrailingBytes {
            expected: 42,
            len: 43
        })
    ));
    assert!(matches!(
        IntMap::from_bytes(&good[..3]),
        Err(Error::Truncated { what: "header", .. })
    ));
    let mut unsorted = good.clone();
    unsorted[26] = 9; // slot 1 (left child) key 1 -> 9
    assert!(matches!(
        IntMap::from_bytes(&unsorted).unwrap().verify(),
        Err(Error::UnsortedIndex {
            key: 3,
            previous: 9,
            ..
        })
    ));
}

/// Version 0 maps stay readable when their values cannot be, or are not, version 1 values with a damaged version
/// byte: empty and short values, values without a CRC-32C tail, and a map where only some values have one. A map
/// whose values all end with their own CRC-32C is refused (the documented false positive, 2^-32 per value for
/// random values).
#[test]
fn version_0_maps_with_and_without_crc_tails() {
    let tailed = |payload: &[u8]| -> Vec<u8> {
        let mut value = payload.to_vec();
        value.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
        value
    };
    let v0 = |entries: &[(u64, &[u8])]| build(Codec::None, FormatVersion::V0, entries);
    let readable: [Vec<u8>; 6] = [
        v0(&[(1, b""), (2, b""), (3, b"")]),
        v0(&[(1, b"abc"), (2, b"x")]),
        v0(&[(1, b"hello"), (2, b"world")]),
        // A tail on the first value only: the second one shows a real version 0 map.
        v0(&[(1, &tailed(b"first")), (2, b"second")]),
        // An empty value first (in buffer order, slot 0 holds the middle key of three).
        v0(&[(1, &tailed(b"a")), (2, b""), (3, &tailed(b"c"))]),
        // Zero `u32`s: four zero bytes are also an empty version 1 value, and prove nothing.
        v0(&[(1, &[0; 4]), (2, &[0; 4]), (3, &[0; 4])]),
    ];
    for bytes in &readable {
        let map = MapBuffer::from_bytes(&bytes[..]).expect("a real version 0 map opens");
        map.verify().expect("and validates");
        assert!(map.iter().all(|e| e.is_ok()));
    }
    // Every value with a tail: refused at open, whatever the number of values.
    for n in [1u64, 2, 3, 4, 9] {
        let values: Vec<Vec<u8>> = (0..n).map(|k| tailed(&k.to_le_bytes())).collect();
        let entries: Vec<(u64, &[u8])> = (0..n).zip(values.iter().map(Vec::as_slice)).collect();
        let bytes = v0(&entries);
        let err = MapBuffer::from_bytes(&bytes[..]).unwrap_err();
        assert!(
            matches!(err, Error::VersionContradicted { at: 7, checked } if checked == n.min(4)),
            "{n}: {err:?}"
        );
    }
}

/// Only regular files are opened: a directory, a device and a FIFO (without a writer, which would block a plain
/// open forever) are refused at once, naming the path and what it is.
#[cfg(unix)]
#[test]
fn open_refuses_what_is_not_a_regular_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let cases = [
        (dir.path().to_path_buf(), "a directory"),
        (std::path::PathBuf::from("/dev/null"), "a character device"),
        (std::path::PathBuf::from("/dev/zero"), "a character device"),
        (fifo, "a FIFO"),
    ];
    for (path, kind) in cases {
        let err = MapBuffer::open(&path).unwrap_err();
        assert!(
            matches!(&err, Error::NotRegularFile { file: p, kind: k } if *p == path && *k == kind),
            "{}: {err:?}",
            path.display()
        );
        assert_eq!(
            err.to_string(),
            format!("{}: not a regular file ({kind})", path.display())
        );
        assert!(matches!(
            IntMap::open(&path),
            Err(Error::NotRegularFile { .. })
        ));
    }
}

//! Untrusted bytes: `from_bytes` returns an index or a typed error, never panics, and never accepts a damaged index.

use proptest::prelude::*;
use sparse_index::{Error, Format, SparseIndex, SparseIndexRef};

fn sample() -> SparseIndex {
    let mut index = SparseIndex::new();
    for (i, key) in [&b""[..], b"\x00", b"ab", b"abc", b"abd", b"b\xff", b"c"]
        .iter()
        .enumerate()
    {
        index.add(key, 100 * i as u64 + 3).unwrap();
    }
    index.set_data_end(1000).unwrap();
    index
}

/// 40 entries: three v3 groups, so that a flip can hit a group head and the head level above them.
fn sample_of_groups() -> SparseIndex {
    let mut index = SparseIndex::new();
    for i in 0..40u8 {
        index.add([b'k', i / 3, i], 10 * u64::from(i)).unwrap();
    }
    index
}

fn encodings() -> Vec<Vec<u8>> {
    let index = sample();
    let groups = sample_of_groups();
    vec![
        index.to_bytes_with(Format::Plain).unwrap(),
        index.to_bytes_with(Format::Sampled).unwrap(),
        groups.to_bytes_with(Format::Sampled).unwrap(),
        groups.to_bytes_with(Format::Plain).unwrap(),
        index.to_bytes_with(Format::prefix_compressed()).unwrap(),
        index
            .to_bytes_with(Format::PrefixCompressed {
                restart_interval: 2.try_into().unwrap(),
            })
            .unwrap(),
    ]
}

/// Whatever happens, no panic; an accepted input behaves like an index all the way through.
fn exercise(bytes: &[u8]) {
    let _ = SparseIndex::from_legacy_bytes(bytes);
    let _ = SparseIndexRef::from_any_bytes(bytes);
    if let Ok(index) = SparseIndexRef::from_bytes(bytes) {
        // Unverified views of corrupt bytes give unspecified answers, but never panic.
        for probe in [&b""[..], b"abc", b"\xff\xff"] {
            let _ = (
                index.floor(probe),
                index.ceil(probe),
                index.blocks_for(probe..),
            );
        }
        let _ = (
            index.next_offset_after(150),
            index.first_key(),
            index.last_key(),
            index.key_stats(),
        );
        let _ = index.iter().rev().count() + index.iter().count();
        let _ = (index.to_index(), format!("{index:?}"));
    }
    if let Ok(index) = SparseIndexRef::from_bytes_verified(bytes) {
        let owned = index.to_index();
        assert_eq!(owned.len(), index.len());
        let format = if index.version() == 1 {
            Format::Plain
        } else if index.version() == 3 {
            Format::Sampled
        } else {
            Format::PrefixCompressed {
                restart_interval: u16::try_from(index.restart_interval())
                    .unwrap()
                    .try_into()
                    .unwrap(),
            }
        };
        // Every accepted encoding is canonical: decoding and re-encoding gives the same bytes.
        assert_eq!(owned.to_bytes_with(format).unwrap(), bytes);
    }
}

#[test]
fn every_single_bit_flip_is_rejected() {
    for bytes in encodings() {
        SparseIndexRef::from_bytes_verified(&bytes[..]).unwrap();
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[at] ^= 1 << bit;
                assert!(
                    SparseIndexRef::from_bytes_verified(&damaged[..]).is_err(),
                    "flip of bit {bit} at {at} accepted"
                );
                exercise(&damaged);
            }
        }
    }
}

#[test]
fn every_truncation_is_rejected() {
    for bytes in encodings() {
        for len in 0..bytes.len() {
            assert!(SparseIndexRef::from_bytes_verified(&bytes[..len]).is_err());
            assert!(SparseIndexRef::from_bytes_verified(&bytes[bytes.len() - len..]).is_err());
            exercise(&bytes[..len]);
        }
    }
}

/// Structure errors behind a valid CRC (a buggy writer): recompute the CRC after damaging a field.
fn with_valid_crc(mut bytes: Vec<u8>, damage: impl FnOnce(&mut [u8])) -> Vec<u8> {
    damage(&mut bytes);
    let crc_at = bytes.len() - 8;
    let crc = crc32fast::hash(&bytes[..crc_at]);
    bytes[crc_at..crc_at + 4].copy_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn structure_is_checked_behind_a_valid_crc() {
    let index = sample();
    let v1 = index.to_bytes_with(Format::Plain).unwrap();
    let n = index.len();
    let heap_len = 12;
    let offsets_at = 8 + heap_len;
    let ends_at = offsets_at + 8 * n;
    // Swap two offsets: offsets no longer ascend.
    let swapped = with_valid_crc(v1.clone(), |b| {
        let (first, second) = (offsets_at + 8, offsets_at + 16);
        let tmp: [u8; 8] = b[first..first + 8].try_into().unwrap();
        b.copy_within(second..second + 8, first);
        b[second..second + 8].copy_from_slice(&tmp);
    });
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&swapped[..]),
        Err(Error::CorruptOffset { index: 2, offset, .. }) if offset == offsets_at + 16
    ));
    // Keys that ascend in their heads but not in their prefixes ("ax", "by", "az" share only "a").
    let mut tricky = SparseIndex::new();
    for (i, key) in [b"ax", b"bx", b"bz"].iter().enumerate() {
        tricky.add(key, i as u64).unwrap();
    }
    let mut bytes = tricky.to_bytes_with(Format::Plain).unwrap();
    assert_eq!(&bytes[8..14], b"axbxbz");
    bytes[12] = b'a'; // the last key becomes "az": the prefix "a" is now shared by the first and last keys
    let prefix_at = bytes.len() - 12;
    let tricky = with_valid_crc(bytes, |b| b[prefix_at] = 1);
    assert!(SparseIndexRef::from_bytes_verified(&tricky[..]).is_err());
    // A key end past the heap.
    let past = with_valid_crc(v1.clone(), |b| b[ends_at + 4] = 200);
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&past[..]),
        Err(Error::CorruptKey { index: 1, .. })
    ));
    // Keys out of order: swap two heap bytes ("ab" -> "ba" then "abc" is smaller).
    let heads_at = ends_at + 4 * n;
    let unordered = with_valid_crc(v1.clone(), |b| {
        b.swap(8 + 1, 8 + 2);
        // Keep the heads (8 bytes of each key, zero-padded; no common prefix here) consistent with the keys.
        let mut start = 0;
        for i in 0..n {
            let end =
                u32::from_le_bytes(b[ends_at + 4 * i..ends_at + 4 * i + 4].try_into().unwrap())
                    as usize;
            let mut head = [0; 8];
            head[..end - start].copy_from_slice(&b[8 + start..8 + end]);
            b[heads_at + 8 * i..heads_at + 8 * i + 8].copy_from_slice(&head);
            start = end;
        }
    });
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&unordered[..]),
        Err(Error::CorruptKey {
            index: 3,
            reason: "is not greater than the previous key",
            ..
        })
    ));
    // A data end before the last block.
    let end_at = v1.len() - 20;
    let early = with_valid_crc(v1.clone(), |b| {
        b[end_at..end_at + 8].copy_from_slice(&5u64.to_le_bytes())
    });
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&early[..]),
        Err(Error::CorruptDataEnd { data_end: 5, offset }) if offset == end_at
    ));
    // The unverified open accepts it all (only the frame is checked) and `verify` finds the problem.
    let view = SparseIndexRef::from_bytes(&early[..]).unwrap();
    assert!(matches!(view.verify(), Err(Error::CorruptDataEnd { .. })));

    let v2 = index.to_bytes_with(Format::prefix_compressed()).unwrap();
    // The first restart position must be 0.
    let positions_at = v2.len() - 28 - 4;
    let moved = with_valid_crc(v2.clone(), |b| b[positions_at] = 1);
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&moved[..]),
        Err(Error::CorruptEncoding {
            index: 0,
            reason: "restart position does not match the entry stream",
            ..
        })
    ));
    // Entry 1 ("\0" after ""): shared 0, unshared 1, delta 100, key 0x00. A zero delta is an offset error.
    let entry1 = 8 + 1; // after the restart entry `varint 0`
    assert_eq!(&v2[entry1..entry1 + 4], &[0, 1, 100, 0]);
    let zero_delta = with_valid_crc(v2.clone(), |b| b[entry1 + 2] = 0);
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&zero_delta[..]),
        Err(Error::CorruptEncoding {
            index: 1,
            reason: "offset is not greater than the previous offset",
            ..
        })
    ));
    // An overlong varint (0x80 0x00 for 0) is not canonical.
    let mut overlong = v2.clone();
    overlong.splice(entry1..entry1 + 1, [0x80, 0x00]);
    let body_len_at = overlong.len() - 24;
    let body_len =
        u32::from_le_bytes(overlong[body_len_at..body_len_at + 4].try_into().unwrap()) + 1;
    let overlong = with_valid_crc(overlong, |b| {
        b[body_len_at..body_len_at + 4].copy_from_slice(&body_len.to_le_bytes())
    });
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&overlong[..]),
        Err(Error::CorruptEncoding {
            index: 1,
            reason: "malformed shared length",
            ..
        })
    ));
}

#[test]
fn frame_errors_name_the_problem() {
    let bytes = sample().to_bytes_with(Format::Plain).unwrap();
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&bytes[..35]),
        Err(Error::Truncated {
            len: 35,
            needed: 36
        })
    ));
    let mut bad = bytes.clone();
    bad[4] = 4;
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&bad[..]),
        Err(Error::UnsupportedVersion { version: 4 })
    ));
    let mut bad = bytes.clone();
    bad[5] = 1;
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&bad[..]),
        Err(Error::CorruptHeader { field: "flags", .. })
    ));
    let mut bad = bytes.clone();
    bad.insert(20, 0);
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&bad[..]),
        Err(Error::CorruptLength { .. })
    ));
    let mut bad = bytes.clone();
    let at = bytes.len() - 1;
    bad[at] = b'Y';
    assert!(
        matches!(SparseIndexRef::from_bytes_verified(&bad[..]), Err(Error::BadMagic { offset }) if offset == at - 3)
    );
    let mut bad = bytes.clone();
    bad[10] ^= 0x40;
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&bad[..]),
        Err(Error::ChecksumMismatch { offset, .. }) if offset == bytes.len() - 8
    ));
    let mut v2 = sample().to_bytes_with(Format::prefix_compressed()).unwrap();
    v2[6] = 0;
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&v2[..]),
        Err(Error::CorruptHeader {
            field: "restart interval",
            ..
        })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        exercise(&bytes);
    }

    #[test]
    fn framed_noise_never_panics(
        version in 1u8..4,
        interval in 0u16..4,
        body in prop::collection::vec(any::<u8>(), 0..120),
        n in 0u32..40,
        data_end in any::<u64>(),
        prefix_len in 0u32..3,
    ) {
        // A correct frame and CRC around random contents, so the structural checks are what is tested.
        let fixed_len = if version == 1 {
            20 * n as usize
        } else if version == 3 {
            12 * n as usize + 8 * (n as usize).div_ceil(16)
        } else {
            12 * (n as usize).div_ceil(usize::from(interval.max(1)))
        };
        let (body, fixed) = body.split_at(body.len().saturating_sub(fixed_len));
        let mut bytes = b"SPIX".to_vec();
        bytes.push(version);
        bytes.push(0);
        bytes.extend_from_slice(&if version == 2 { interval } else { 0 }.to_le_bytes());
        bytes.extend_from_slice(body);
        bytes.extend_from_slice(fixed);
        bytes.resize(8 + body.len() + fixed_len, 0);
        bytes.extend_from_slice(&n.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&data_end.to_le_bytes());
        bytes.extend_from_slice(&if version == 2 { 0 } else { prefix_len }.to_le_bytes());
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes.extend_from_slice(b"SPIX");
        exercise(&bytes);
    }
}

#[test]
fn head_levels_are_checked() {
    let mut index = SparseIndex::new();
    for i in 0..5000u32 {
        index.add(i.to_be_bytes(), u64::from(i) * 64).unwrap();
    }
    let v1 = index.to_bytes_with(Format::Plain).unwrap();
    // v1: levels after the heads: 313 entries (level 1), then 20, then 2.
    let v1_levels_at = v1.len() - 28 - 8 * (313 + 20 + 2);
    // v3: the 313 group heads are level 0; above them 20, then 2.
    let v3 = index.to_bytes();
    let v3_levels_at = v3.len() - 28 - 8 * (20 + 2);
    for (bytes, at, index_named) in [
        (&v1, v1_levels_at + 8 * 5, 5 * 16),
        (&v1, v1_levels_at + 8 * (313 + 3), 3 * 256),
        (&v1, v1_levels_at + 8 * (313 + 20 + 1), 4096),
        (&v3, v3_levels_at + 8 * 3, 3 * 256),
        (&v3, v3_levels_at + 8 * (20 + 1), 4096),
    ] {
        let damaged = with_valid_crc(bytes.clone(), |b| b[at + 7] ^= 1);
        match SparseIndexRef::from_bytes_verified(&damaged[..]) {
            Err(Error::CorruptKey {
                index,
                offset,
                reason: "head level entry does not match the level below",
            }) => {
                assert_eq!((index, offset), (index_named, at));
            }
            other => panic!("level entry at {at}: {other:?}"),
        }
    }
}

#[test]
fn v3_group_starts_and_heads_are_checked() {
    let mut index = SparseIndex::new();
    for i in 0..40u32 {
        index.add(i.to_be_bytes(), u64::from(i) * 64).unwrap();
    }
    let bytes = index.to_bytes();
    // 160 bytes of keys, 40 offsets and ends, then 3 group starts and 3 group heads (no level above them).
    let starts_at = 8 + 160 + 12 * 40;
    let heads_at = starts_at + 4 * 3;
    assert_eq!(bytes.len(), heads_at + 8 * 3 + 28);
    let damaged = with_valid_crc(bytes.clone(), |b| b[starts_at + 4] ^= 1);
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&damaged[..]),
        Err(Error::CorruptKey {
            index: 16,
            offset,
            reason: "group start does not match the key ends",
        }) if offset == starts_at + 4
    ));
    let damaged = with_valid_crc(bytes, |b| b[heads_at + 8 * 2 + 3] ^= 1);
    assert!(matches!(
        SparseIndexRef::from_bytes_verified(&damaged[..]),
        Err(Error::CorruptKey {
            index: 32,
            offset,
            reason: "head does not match the key",
        }) if offset == heads_at + 16
    ));
}

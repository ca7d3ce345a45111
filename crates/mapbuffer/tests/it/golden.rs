//! Golden bytes: small maps compared byte for byte with what Python mapbuffer 1.2.0 wrote (hex recorded in the
//! reference notes), and insta snapshots (hexdump plus decoded fields) of small maps of every kind.

use std::fmt::Write as _;

use mapbuffer::{Codec, FormatVersion, IntMap, MapBuffer};

use crate::build;

/// Parses whitespace-separated hex bytes.
fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|byte| u8::from_str_radix(byte, 16).unwrap())
        .collect()
}

/// An xxd-style hexdump.
fn hexdump(bytes: &[u8]) -> String {
    let mut out = String::new();
    for (row, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        writeln!(out, "{:08x}: {:<47}  {ascii}", row * 16, hex.join(" ")).unwrap();
    }
    out
}

/// Hexdump, then every field of the map decoded.
fn describe(bytes: &[u8]) -> String {
    let map = MapBuffer::from_bytes(bytes).unwrap();
    map.verify().unwrap();
    let mut out = hexdump(bytes);
    let header = map.header();
    writeln!(
        out,
        "header: version {} codec {} ({}) keys {}",
        header.version,
        header.codec,
        String::from_utf8_lossy(&header.codec.tag()),
        header.len
    )
    .unwrap();
    for slot in 0..map.len() {
        let raw = map.raw_entry(slot).unwrap();
        let value = map.value_at(slot).unwrap();
        writeln!(
            out,
            "slot {slot}: key {} offset {:#x} stored {} B crc {} value {:?}",
            raw.key,
            raw.offset,
            raw.payload.len(),
            raw.stored_crc
                .map_or_else(|| "-".to_owned(), |crc| format!("{crc:#010x}")),
            String::from_utf8_lossy(&value)
        )
        .unwrap();
    }
    out
}

#[test]
fn python_empty_map() {
    let v1 = build(Codec::None, FormatVersion::V1, &[]);
    assert_eq!(v1, hex("6d 61 70 62 75 66 72 01 6e 6f 6e 65 00 00 00 00"));
    let v0 = build(Codec::None, FormatVersion::V0, &[]);
    assert_eq!(v0, hex("6d 61 70 62 75 66 72 00 6e 6f 6e 65 00 00 00 00"));
    let br = build(Codec::Brotli, FormatVersion::V1, &[]);
    assert_eq!(br, hex("6d 61 70 62 75 66 72 01 30 30 62 72 00 00 00 00"));
    insta::assert_snapshot!("empty_v1", describe(&v1));
}

#[test]
fn python_one_key() {
    let v1 = build(Codec::None, FormatVersion::V1, &[(5, b"hello")]);
    let python_v1 = hex("6d 61 70 62 75 66 72 01 6e 6f 6e 65 01 00 00 00
         05 00 00 00 00 00 00 00 20 00 00 00 00 00 00 00
         68 65 6c 6c 6f 4c bb 71 9a");
    assert_eq!(v1, python_v1);
    let v0 = build(Codec::None, FormatVersion::V0, &[(5, b"hello")]);
    let mut python_v0 = python_v1;
    python_v0[7] = 0;
    python_v0.truncate(37);
    assert_eq!(v0, python_v0);
    insta::assert_snapshot!("one_key_v1", describe(&v1));
    insta::assert_snapshot!("one_key_v0", describe(&v0));
}

#[test]
fn python_empty_values() {
    let v1 = build(Codec::None, FormatVersion::V1, &[(1, b""), (2, b"")]);
    let python_v1 = hex("6d 61 70 62 75 66 72 01 6e 6f 6e 65 02 00 00 00
         02 00 00 00 00 00 00 00 30 00 00 00 00 00 00 00
         01 00 00 00 00 00 00 00 34 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00");
    assert_eq!(v1, python_v1);
    let v0 = build(Codec::None, FormatVersion::V0, &[(1, b""), (2, b"")]);
    let python_v0 = hex("6d 61 70 62 75 66 72 00 6e 6f 6e 65 02 00 00 00
         02 00 00 00 00 00 00 00 30 00 00 00 00 00 00 00
         01 00 00 00 00 00 00 00 30 00 00 00 00 00 00 00");
    assert_eq!(v0, python_v0);
    insta::assert_snapshot!("empty_values_v1", describe(&v1));
    insta::assert_snapshot!("empty_values_v0", describe(&v0));
}

#[cfg(feature = "zstd")]
#[test]
fn python_two_keys_zstd() {
    // Same libzstd (1.5.7), same level: the same bytes as Python's zstandard.
    let bytes = build(
        Codec::Zstd,
        FormatVersion::V1,
        &[(1, b"hello"), (2, b"world")],
    );
    let python = hex("6d 61 70 62 75 66 72 01 7a 73 74 64 02 00 00 00
         02 00 00 00 00 00 00 00 30 00 00 00 00 00 00 00
         01 00 00 00 00 00 00 00 42 00 00 00 00 00 00 00
         28 b5 2f fd 20 05 29 00 00 77 6f 72 6c 64 60 1a
         1c e4 28 b5 2f fd 20 05 29 00 00 68 65 6c 6c 6f
         62 20 c7 4f");
    assert_eq!(bytes, python);
    insta::assert_snapshot!("two_keys_zstd", describe(&bytes));
}

#[cfg(feature = "gzip")]
#[test]
fn python_two_keys_gzip_is_read() {
    // libdeflate's output; ours differs (another deflate encoder) but each reads the other's.
    let python = hex("6d 61 70 62 75 66 72 01 67 7a 69 70 02 00 00 00
         02 00 00 00 00 00 00 00 30 00 00 00 00 00 00 00
         01 00 00 00 00 00 00 00 50 00 00 00 00 00 00 00
         1f 8b 08 00 00 00 00 00 02 ff 01 05 00 fa ff 77
         6f 72 6c 64 43 11 77 3a 05 00 00 00 a2 7f d4 24
         1f 8b 08 00 00 00 00 00 02 ff 01 05 00 fa ff 68
         65 6c 6c 6f 86 a6 10 36 05 00 00 00 0c ed 53 d0");
    insta::assert_snapshot!("two_keys_gzip_python", describe(&python));
    let ours = build(
        Codec::Gzip,
        FormatVersion::V1,
        &[(1, b"hello"), (2, b"world")],
    );
    // Same gzip header: no flags, mtime 0, best compression, OS unknown.
    assert_eq!(ours[0x30..0x3a], python[0x30..0x3a]);
}

#[cfg(feature = "brotli")]
#[test]
fn python_two_keys_brotli_is_read() {
    let python = hex("6d 61 70 62 75 66 72 01 30 30 62 72 02 00 00 00
         02 00 00 00 00 00 00 00 30 00 00 00 00 00 00 00
         01 00 00 00 00 00 00 00 3d 00 00 00 00 00 00 00
         0b 02 80 77 6f 72 6c 64 03 92 b6 1a 86 0b 02 80
         68 65 6c 6c 6f 03 5f 1d 8a 67");
    insta::assert_snapshot!("two_keys_brotli_python", describe(&python));
}

#[test]
fn extreme_keys() {
    let bytes = build(
        Codec::None,
        FormatVersion::V1,
        &[
            (0, b"a"),
            ((1 << 63) - 1, b"b"),
            (1 << 63, b"c"),
            (u64::MAX, b"d"),
        ],
    );
    let map = MapBuffer::from_bytes(&bytes).unwrap();
    // The order Python's index has: [2^63, 2^63-1, 2^64-1, 0].
    assert_eq!(
        map.keys_slot_order().collect::<Vec<_>>(),
        [1 << 63, (1 << 63) - 1, u64::MAX, 0]
    );
    insta::assert_snapshot!("extreme_keys", describe(&bytes));
}

#[test]
fn python_intmap() {
    let bytes = IntMap::build([(1, 2), (3, 4)]).unwrap();
    let python = hex("69 6e 74 6d 00 03 02 00 00 00 03 00 00 00 00 00
         00 00 04 00 00 00 00 00 00 00 01 00 00 00 00 00
         00 00 02 00 00 00 00 00 00 00");
    assert_eq!(bytes, python);
    assert_eq!(
        IntMap::build([]).unwrap(),
        hex("69 6e 74 6d 00 03 00 00 00 00")
    );
    let map = IntMap::from_bytes(&bytes).unwrap();
    let decoded: Vec<String> = map
        .iter_slot_order()
        .map(|(key, value)| format!("{key} -> {value}"))
        .collect();
    insta::assert_snapshot!(
        "intmap",
        format!("{}slots: {}", hexdump(&bytes), decoded.join(", "))
    );
}

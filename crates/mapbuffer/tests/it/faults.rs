//! Fault injection into the writers (a full disk at every byte, short writes, a sink that stops, a failing
//! flush), and every bit flip of a CRC-protected value region.

use std::io::ErrorKind;

use fault_injection::FaultyWriter;
use mapbuffer::{Codec, Error, FormatVersion, IntMap, MapBuffer, MapBufferBuilder};

fn entries() -> Vec<(u64, Vec<u8>)> {
    (0..12u64)
        .map(|k| (k * k * 1_000 + 7, vec![b'a' + k as u8; k as usize * 5]))
        .collect()
}

fn codecs() -> impl Iterator<Item = Codec> {
    Codec::ALL.into_iter().filter(|c| c.is_available())
}

fn assert_io(result: mapbuffer::Result<u64>, kind: ErrorKind, context: &str) {
    match result {
        Err(Error::Io(err)) => assert_eq!(err.kind(), kind, "{context}"),
        other => panic!("{context}: expected an I/O error of kind {kind:?}, got {other:?}"),
    }
}

#[test]
fn a_full_disk_at_any_byte_is_an_error_and_what_fitted_is_a_prefix() {
    for codec in codecs() {
        let builder = MapBufferBuilder::new().codec(codec);
        let full = builder.to_vec(entries()).unwrap();
        // Every byte for raw values; every 5th for compressed ones (each write compresses again, slow in debug).
        let stride = if codec == Codec::None { 1 } else { 5 };
        for budget in (0..full.len() as u64).step_by(stride) {
            let mut sink = FaultyWriter::new(Vec::new()).fail_after(budget, ErrorKind::StorageFull);
            let context = format!(
                "{codec:?}, disk full after {budget} of {} bytes",
                full.len()
            );
            assert_io(
                builder.write(entries(), &mut sink),
                ErrorKind::StorageFull,
                &context,
            );
            assert_eq!(sink.get_ref()[..], full[..budget as usize], "{context}");
        }
        let mut sink =
            FaultyWriter::new(Vec::new()).fail_after(full.len() as u64, ErrorKind::StorageFull);
        assert_eq!(
            builder.write(entries(), &mut sink).unwrap(),
            full.len() as u64
        );
        assert_eq!(sink.into_inner(), full);
    }
}

#[test]
fn short_writes_give_the_same_bytes_and_a_stopped_sink_or_flush_is_an_error() {
    let builder = MapBufferBuilder::new();
    let full = builder.to_vec(entries()).unwrap();
    for per_write in [1, 3, 7, 64] {
        let mut sink = FaultyWriter::new(Vec::new()).max_per_write(per_write);
        assert_eq!(
            builder.write(entries(), &mut sink).unwrap(),
            full.len() as u64
        );
        assert_eq!(sink.into_inner(), full, "{per_write} bytes per write");
    }
    assert_io(
        builder.write(entries(), FaultyWriter::new(Vec::new()).zero_after(100)),
        ErrorKind::WriteZero,
        "a sink that stops taking bytes",
    );
    assert_io(
        builder.write(
            entries(),
            FaultyWriter::new(Vec::new()).fail_flush(ErrorKind::Other),
        ),
        ErrorKind::Other,
        "a failing flush",
    );
}

#[test]
fn intmap_writes_fail_at_any_byte_and_survive_short_writes() {
    let pairs: Vec<(u64, u64)> = (0..20u64).map(|k| (k * 7_919, k)).collect();
    let full = IntMap::<Vec<u8>>::build(pairs.iter().copied()).unwrap();
    for budget in 0..full.len() as u64 {
        let mut sink = FaultyWriter::new(Vec::new()).fail_after(budget, ErrorKind::StorageFull);
        assert_io(
            IntMap::<Vec<u8>>::write(pairs.iter().copied(), &mut sink),
            ErrorKind::StorageFull,
            "intmap",
        );
        assert_eq!(sink.get_ref()[..], full[..budget as usize]);
    }
    let mut sink = FaultyWriter::new(Vec::new()).max_per_write(5);
    IntMap::<Vec<u8>>::write(pairs.iter().copied(), &mut sink).unwrap();
    assert_eq!(sink.into_inner(), full);
}

/// Every bit flip inside the values of a version-1 map is a typed error (the CRC-32C of each value), never
/// different data.
#[test]
fn every_bit_flip_in_v1_values_is_an_error() {
    for codec in codecs() {
        let bytes = MapBufferBuilder::new()
            .codec(codec)
            .format_version(FormatVersion::V1)
            .to_vec(entries())
            .unwrap();
        let decode = |bytes: &[u8]| -> Option<Vec<(u64, Vec<u8>)>> {
            let map = MapBuffer::from_bytes(bytes).ok()?;
            map.verify().ok()?;
            map.iter()
                .map(|e| e.map(|(k, v)| (k, v.into_owned())))
                .collect::<Result<_, _>>()
                .ok()
        };
        let original = decode(&bytes).unwrap();
        let index_end = MapBuffer::from_bytes(&bytes[..]).unwrap().index_end();
        let mut copy = bytes.clone();
        for byte in index_end..bytes.len() {
            for bit in 0..8 {
                copy[byte] ^= 1 << bit;
                let decoded = decode(&copy);
                assert!(
                    decoded.is_none() || decoded.as_ref() == Some(&original),
                    "{codec:?}: flipping bit {bit} of byte {byte} gave different data without an error"
                );
                // A lookup (not just validate) refuses it too.
                let map = MapBuffer::from_bytes(&copy[..]).unwrap();
                for (key, value) in &original {
                    if let Ok(Some(got)) = map.get(*key) {
                        assert_eq!(
                            &got[..],
                            &value[..],
                            "{codec:?}: byte {byte} bit {bit}, key {key}"
                        );
                    }
                }
                copy[byte] ^= 1 << bit;
            }
        }
    }
}

/// Opens, validates and reads every value; `None` at the first error.
fn decode_all(bytes: &[u8]) -> Option<Vec<(u64, Vec<u8>)>> {
    let map = MapBuffer::from_bytes(bytes).ok()?;
    map.verify().ok()?;
    map.iter()
        .map(|e| e.map(|(k, v)| (k, v.into_owned())))
        .collect::<Result<_, _>>()
        .ok()
}

/// Every single-bit flip of the 16-byte header of a version 1 map is a typed error as soon as the map is opened.
/// Bit 0 of the version byte (byte 7) turns it into version 0, whose values then all end with a valid CRC-32C:
/// `VersionContradicted` at byte 7, which `verify` reports as well. Any other bit of it gives an unsupported
/// version; magic, codec tag and key count flips break the magic, the tag or the start of the values.
#[test]
fn every_bit_flip_of_a_v1_header_is_an_error_at_open() {
    for codec in codecs() {
        let bytes = MapBufferBuilder::new()
            .codec(codec)
            .format_version(FormatVersion::V1)
            .to_vec(entries())
            .unwrap();
        let mut copy = bytes.clone();
        for byte in 0..16 {
            for bit in 0..8 {
                copy[byte] ^= 1 << bit;
                let err = MapBuffer::from_bytes(&copy[..]).expect_err(&format!(
                    "{codec:?}: flipping bit {bit} of header byte {byte} opens"
                ));
                if byte == 7 && bit == 0 {
                    assert!(
                        matches!(err, Error::VersionContradicted { at: 7, checked: 4 }),
                        "{codec:?}: {err:?}"
                    );
                    assert!(err.to_string().contains("at byte 7 says 0"), "{err}");
                } else if byte == 7 {
                    assert!(
                        matches!(err, Error::UnsupportedVersion { .. }),
                        "{codec:?}: bit {bit}: {err:?}"
                    );
                }
                copy[byte] ^= 1 << bit;
            }
        }
        assert_eq!(copy, bytes);
    }
}

/// A version 1 map read as version 0 (bit 0 of byte 7 cleared) is refused by `verify` too, which checks every
/// value, also when the map is too large for the check at open to have looked at them: here every value is over
/// its 64 KiB limit.
#[test]
fn validate_refuses_a_v1_map_whose_version_byte_says_0() {
    let big: Vec<(u64, Vec<u8>)> = (0..3u64)
        .map(|k| (k, vec![k as u8; 70_000 + k as usize]))
        .collect();
    let mut bytes = MapBufferBuilder::new()
        .format_version(FormatVersion::V1)
        .to_vec(big)
        .unwrap();
    bytes[7] = 0;
    let map = MapBuffer::from_bytes(&bytes[..]).expect("no value small enough to check at open");
    assert!(matches!(
        map.verify(),
        Err(Error::VersionContradicted { at: 7, checked: 3 })
    ));
}

/// Every single-bit flip of the version byte of a version 0 map is a typed error somewhere between opening and
/// reading every value: as version 1 its values fail their CRC-32C (or are too short to hold one), any other
/// version is unsupported.
#[test]
fn every_bit_flip_of_a_v0_version_byte_is_an_error() {
    for codec in codecs() {
        let mut bytes = MapBufferBuilder::new()
            .codec(codec)
            .format_version(FormatVersion::V0)
            .to_vec(entries())
            .unwrap();
        assert!(decode_all(&bytes).is_some(), "{codec:?}: the v0 map reads");
        for bit in 0..8 {
            bytes[7] ^= 1 << bit;
            assert!(
                decode_all(&bytes).is_none(),
                "{codec:?}: flipping bit {bit} of the version byte gave data without an error"
            );
            bytes[7] ^= 1 << bit;
        }
    }
}

/// In the header and index of a version 1 map, which no checksum covers, every single-bit flip except in a key is
/// a typed error: the header's at open (see above), an offset's by `verify` (the values it moves fail their
/// CRC-32C or their bounds). A flipped key bit that keeps the keys in order is the only silent change left.
#[test]
fn every_bit_flip_in_v1_offsets_is_an_error() {
    for codec in codecs() {
        let bytes = MapBufferBuilder::new()
            .codec(codec)
            .format_version(FormatVersion::V1)
            .to_vec(entries())
            .unwrap();
        let map = MapBuffer::from_bytes(&bytes[..]).unwrap();
        let mut copy = bytes.clone();
        for slot in 0..map.len() {
            let offset_field = 16 + 16 * slot + 8;
            for byte in offset_field..offset_field + 8 {
                for bit in 0..8 {
                    copy[byte] ^= 1 << bit;
                    assert!(
                        decode_all(&copy).is_none(),
                        "{codec:?}: flipping bit {bit} of byte {byte} (offset of slot {slot}) went unnoticed"
                    );
                    copy[byte] ^= 1 << bit;
                }
            }
        }
    }
}

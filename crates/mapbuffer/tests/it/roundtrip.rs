//! Writing and reading back: every codec and version, extreme keys, empty values, both iteration orders, the
//! accessors, in-place updates and memory-mapped files.

use std::borrow::Cow;
use std::io::Write;

use mapbuffer::{Codec, Error, FormatVersion, MapBuffer, MapBufferBuilder};

use crate::{VERSIONS, build, codecs};

const EXTREMES: [u64; 4] = [0, (1 << 63) - 1, 1 << 63, u64::MAX];

fn sample() -> Vec<(u64, Vec<u8>)> {
    let mut entries: Vec<(u64, Vec<u8>)> = EXTREMES
        .iter()
        .map(|&key| (key, key.to_le_bytes().to_vec()))
        .collect();
    entries.push((17, Vec::new()));
    entries.extend((100..140u64).map(|key| (key * 7919, vec![key as u8; key as usize % 37])));
    entries
}

#[test]
fn every_codec_and_version_round_trips() {
    let entries = sample();
    let borrowed: Vec<(u64, &[u8])> = entries.iter().map(|(k, v)| (*k, v.as_slice())).collect();
    let mut sorted = entries.clone();
    sorted.sort();
    for codec in codecs() {
        for version in VERSIONS {
            let bytes = build(codec, version, &borrowed);
            let map = MapBuffer::from_bytes(&bytes[..]).unwrap();
            assert_eq!(map.len(), entries.len());
            assert_eq!((map.codec(), map.format_version()), (codec, version));
            map.verify().unwrap();
            for (key, value) in &entries {
                let got = map.get(*key).unwrap().unwrap();
                assert_eq!(&*got, &value[..], "{codec} v{version} key {key}");
                assert_eq!(matches!(got, Cow::Borrowed(_)), codec == Codec::None);
                assert!(map.contains(*key));
            }
            for absent in [1, 2, 18, u64::MAX - 1, 1 << 62] {
                assert_eq!(map.get(absent).unwrap(), None);
                assert!(!map.contains(absent));
                assert_eq!(map.size_of(absent).unwrap(), None);
            }
            let iterated: Vec<(u64, Vec<u8>)> = map
                .iter()
                .map(|entry| entry.map(|(k, v)| (k, v.into_owned())))
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(iterated, sorted);
            let keys: Vec<u64> = map.keys().collect();
            assert_eq!(keys, sorted.iter().map(|e| e.0).collect::<Vec<_>>());
            let values: Vec<Vec<u8>> = map.values().map(|v| v.unwrap().into_owned()).collect();
            assert_eq!(
                values,
                sorted.iter().map(|e| e.1.clone()).collect::<Vec<_>>()
            );
        }
    }
}

#[test]
fn slot_order_iteration_follows_the_index() {
    let bytes = build(
        Codec::None,
        FormatVersion::V1,
        &[(1, b"a"), (2, b"b"), (3, b"c"), (4, b"d")],
    );
    let map = MapBuffer::from_bytes(bytes).unwrap();
    // Eytzinger layout of 4 keys: ranks [2, 1, 3, 0].
    assert_eq!(map.keys_slot_order().collect::<Vec<_>>(), [3, 2, 4, 1]);
    let values: Vec<Vec<u8>> = map
        .values_slot_order()
        .map(|v| v.unwrap().into_owned())
        .collect();
    assert_eq!(values, [b"c", b"b", b"d", b"a"]);
    assert_eq!(map.iter_slot_order().len(), 4);
    assert_eq!(map.key_at(0), Some(3));
    assert_eq!(map.key_at(4), None);
    assert_eq!(map.slot_of(1), Some(3));
    assert_eq!(&*map.value_at(2).unwrap(), b"d");
    assert!(matches!(
        map.value_at(4),
        Err(Error::SlotOutOfRange { slot: 4, len: 4 })
    ));
}

#[test]
fn sizes_and_raw_entries() {
    let entries: [(u64, &[u8]); 3] = [(1, b"hello"), (2, b"world!"), (3, b"")];
    for version in VERSIONS {
        let bytes = build(Codec::None, version, &entries);
        let map = MapBuffer::from_bytes(&bytes).unwrap();
        assert_eq!(map.size_of(1).unwrap(), Some(5));
        assert_eq!(map.size_of(2).unwrap(), Some(6));
        assert_eq!(map.size_of(3).unwrap(), Some(0));
        assert_eq!(map.index_end(), 16 + 3 * 16);
        assert_eq!(map.data_len(), 11 + 3 * version.suffix_len());
        let slot = map.slot_of(1).unwrap();
        let raw = map.raw_entry(slot).unwrap();
        assert_eq!((raw.key, raw.payload), (1, &b"hello"[..]));
        assert_eq!(raw.stored_crc, version.has_crc().then_some(0x9a71_bb4c));
        assert_eq!(raw.computed_crc(), 0x9a71_bb4c);
        raw.check_crc().unwrap();
        assert_eq!(map.get_stored(2).unwrap(), Some(&b"world!"[..]));
        let dump: Vec<(u64, usize, bool)> = map
            .raw_entries()
            .map(|raw| raw.map(|raw| (raw.key, raw.payload.len(), raw.check_crc().is_ok())))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(dump, [(1, 5, true), (2, 6, true), (3, 0, true)]);
    }
    #[cfg(feature = "zstd")]
    {
        let bytes = build(Codec::Zstd, FormatVersion::V1, &[(1, &[b'x'; 500])]);
        let map = MapBuffer::from_bytes(&bytes).unwrap();
        let stored = map.size_of(1).unwrap().unwrap();
        assert!(stored < 50, "500 equal bytes compress to {stored}");
        assert_eq!(map.get_stored(1).unwrap().unwrap().len(), stored);
        assert_eq!(map.get(1).unwrap().unwrap().len(), 500);
    }
}

#[test]
fn empty_maps() {
    for codec in Codec::ALL {
        for version in VERSIONS {
            let bytes = MapBufferBuilder::new()
                .codec(codec)
                .format_version(version)
                .to_vec(Vec::<(u64, Vec<u8>)>::new());
            // An empty map is its header alone, so even a codec whose feature is off can write it.
            let bytes = bytes.unwrap();
            assert_eq!(bytes.len(), 16);
            let map = MapBuffer::from_bytes(bytes).unwrap();
            assert!(map.is_empty());
            assert_eq!(map.get(0).unwrap(), None);
            assert_eq!(map.iter().count(), 0);
            map.verify().unwrap();
        }
    }
}

#[test]
fn duplicate_keys_are_rejected() {
    let result = MapBufferBuilder::new().to_vec([(5u64, b"a"), (1, b"b"), (5, b"c")]);
    assert!(
        matches!(result, Err(Error::DuplicateKey { key: 5 })),
        "{result:?}"
    );
}

#[test]
fn crc_checking_can_be_turned_off() {
    let mut bytes = build(
        Codec::None,
        FormatVersion::V1,
        &[(1, b"hello"), (2, b"world")],
    );
    let at = bytes.windows(5).position(|w| w == b"hello").unwrap();
    bytes[at] = b'H';
    let map = MapBuffer::from_bytes(&bytes).unwrap();
    assert!(map.crc_check());
    let err = map.get(1).unwrap_err();
    assert!(
        matches!(err, Error::CrcMismatch { key: 1, offset, .. } if offset == at as u64),
        "{err}"
    );
    assert_eq!(&*map.get(2).unwrap().unwrap(), b"world");
    let map = map.with_crc_check(false);
    assert_eq!(&*map.get(1).unwrap().unwrap(), b"Hello");
    assert!(map.verify().is_err(), "validate checks CRCs regardless");
}

#[test]
fn in_place_update_recomputes_the_crc() {
    for version in VERSIONS {
        let bytes = build(Codec::None, version, &[(1, b"hello"), (2, b"world")]);
        let mut map = MapBuffer::from_bytes(bytes).unwrap();
        map.set(1, b"HELLO").unwrap();
        assert_eq!(&*map.get(1).unwrap().unwrap(), b"HELLO");
        assert_eq!(&*map.get(2).unwrap().unwrap(), b"world");
        map.verify().unwrap();
        assert!(matches!(
            map.set(1, b"hi"),
            Err(Error::LengthMismatch {
                key: 1,
                stored: 5,
                new: 2
            })
        ));
        assert!(matches!(
            map.set(3, b"hello"),
            Err(Error::KeyNotFound { key: 3 })
        ));
        let expected = build(Codec::None, version, &[(1, b"HELLO"), (2, b"world")]);
        assert_eq!(map.into_inner(), expected);
    }
}

#[cfg(feature = "zstd")]
#[test]
fn in_place_update_of_a_compressed_value_needs_the_same_compressed_size() {
    let bytes = build(
        Codec::Zstd,
        FormatVersion::V1,
        &[(1, b"aaaa"), (2, b"bbbb")],
    );
    let mut map = MapBuffer::from_bytes(bytes).unwrap();
    map.set(1, b"cccc").unwrap();
    assert_eq!(&*map.get(1).unwrap().unwrap(), b"cccc");
    assert!(matches!(
        map.set(1, b"cc"),
        Err(Error::LengthMismatch { .. })
    ));
    map.verify().unwrap();
}

#[test]
fn files_are_memory_mapped() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    let entries: Vec<(u64, Vec<u8>)> = (0..1000u64)
        .map(|k| (k * 3, k.to_string().into_bytes()))
        .collect();
    let written = MapBufferBuilder::new()
        .codec(Codec::None)
        .write(entries.iter().map(|(k, v)| (*k, v)), file.as_file_mut())
        .unwrap();
    file.flush().unwrap();
    assert_eq!(written, file.as_file().metadata().unwrap().len());
    let map = MapBuffer::open(file.path()).unwrap();
    assert_eq!(map.len(), 1000);
    assert_eq!(&*map.get(2997).unwrap().unwrap(), b"999");
    map.verify().unwrap();
    let empty = tempfile::NamedTempFile::new().unwrap();
    let err = MapBuffer::open(empty.path()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Truncated {
                what: "header",
                len: 0,
                ..
            }
        ),
        "{err}"
    );
    let missing = MapBuffer::open(file.path().with_extension("missing")).unwrap_err();
    assert!(matches!(missing, Error::Open { .. }), "{missing}");
}

#[test]
fn parallel_serial_and_streamed_output_agree() {
    let entries: Vec<(u64, Vec<u8>)> = (0..20_000u64)
        .map(|k| {
            (
                k.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                vec![(k % 251) as u8; (k % 200) as usize],
            )
        })
        .collect();
    for version in VERSIONS {
        let builder = MapBufferBuilder::new().format_version(version);
        let input = || entries.iter().map(|(k, v)| (*k, v));
        let serial = builder
            .clone()
            .threads(std::num::NonZeroUsize::MIN)
            .to_vec(input())
            .unwrap();
        assert!(serial.len() > 2 << 20, "large enough to run in parallel");
        let parallel = builder
            .clone()
            .threads(std::num::NonZeroUsize::new(3).unwrap())
            .to_vec(input())
            .unwrap();
        let mut streamed = Vec::new();
        let written = builder.write(input(), &mut streamed).unwrap();
        assert_eq!(written, streamed.len() as u64);
        assert_eq!(serial, parallel);
        assert_eq!(serial, streamed);
        MapBuffer::from_bytes(&parallel).unwrap().verify().unwrap();
    }
}

#[cfg(feature = "zstd")]
#[test]
fn parallel_and_serial_compression_agree() {
    let entries: Vec<(u64, Vec<u8>)> = (0..3000u64)
        .map(|k| {
            (
                k.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                vec![(k % 251) as u8; 600],
            )
        })
        .collect();
    let serial = MapBufferBuilder::new()
        .codec(Codec::Zstd)
        .threads(std::num::NonZeroUsize::MIN)
        .to_vec(entries.iter().map(|(k, v)| (*k, v)))
        .unwrap();
    let parallel = MapBufferBuilder::new()
        .codec(Codec::Zstd)
        .threads(std::num::NonZeroUsize::new(4).unwrap())
        .to_vec(entries.iter().map(|(k, v)| (*k, v)))
        .unwrap();
    assert_eq!(serial, parallel);
    MapBuffer::from_bytes(&parallel).unwrap().verify().unwrap();
}

#[test]
fn codec_names_and_tags() {
    assert_eq!("BR".parse::<Codec>().unwrap(), Codec::Brotli);
    assert_eq!("xz".parse::<Codec>().unwrap(), Codec::Lzma);
    assert_eq!(Codec::Brotli.tag(), *b"00br");
    assert!(matches!(
        "foo".parse::<Codec>(),
        Err(Error::UnknownCodecName { .. })
    ));
    assert_eq!(Codec::Zstd.to_string(), "zstd");
    assert_eq!(FormatVersion::default(), FormatVersion::V1);
}

#[cfg(not(feature = "zstd"))]
#[test]
fn a_disabled_codec_is_a_typed_error() {
    let err = MapBufferBuilder::new()
        .codec(Codec::Zstd)
        .to_vec([(1u64, b"x")])
        .unwrap_err();
    assert!(
        matches!(err, Error::CodecDisabled { codec: Codec::Zstd }),
        "{err}"
    );
    assert!(err.to_string().contains("`zstd` feature"), "{err}");
    // A zstd map written elsewhere: keys and stored bytes are readable, values are not.
    let mut bytes = build(Codec::None, FormatVersion::V1, &[(1, b"x")]);
    bytes[8..12].copy_from_slice(b"zstd");
    let map = MapBuffer::from_bytes(&bytes).unwrap();
    assert_eq!(map.keys().collect::<Vec<_>>(), [1]);
    assert_eq!(map.get_stored(1).unwrap(), Some(&b"x"[..]));
    assert!(matches!(
        map.get(1),
        Err(Error::CodecDisabled { codec: Codec::Zstd })
    ));
    assert!(matches!(
        map.verify(),
        Err(Error::CodecDisabled { codec: Codec::Zstd })
    ));
}

/// A version 1 map `{1: payloads[0], 2: payloads[1], ...}` with the given stored payloads, laid out by hand.
#[cfg(any(feature = "zstd", feature = "gzip"))]
fn handmade(codec: Codec, payloads: &[Vec<u8>]) -> Vec<u8> {
    let n = payloads.len() as u32;
    let layout = mapbuffer::format::eytzinger_layout(n);
    let header = mapbuffer::Header {
        version: FormatVersion::V1,
        codec,
        len: n,
    };
    let mut out = header.to_bytes().to_vec();
    let mut data = Vec::new();
    let mut offset = header.data_start();
    for &rank in &layout {
        let payload = &payloads[rank as usize];
        out.extend_from_slice(&(u64::from(rank) + 1).to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        data.extend_from_slice(payload);
        data.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
        offset += payload.len() as u64 + 4;
    }
    out.extend_from_slice(&data);
    out
}

#[cfg(feature = "zstd")]
#[test]
fn zstd_decoding_is_tolerant() {
    let frame = |data: &[u8]| zstd::bulk::compress(data, 3).unwrap();
    let mut streamed = Vec::new();
    let mut encoder = zstd::stream::write::Encoder::new(&mut streamed, 3).unwrap();
    encoder.write_all(b"no content size").unwrap();
    encoder.finish().unwrap();
    assert!(
        zstd::zstd_safe::get_frame_content_size(&streamed)
            .unwrap()
            .is_none()
    );
    let two_frames = [frame(b"hello "), frame(b"world")].concat();
    let bytes = handmade(Codec::Zstd, &[streamed, two_frames, frame(b"")]);
    let map = MapBuffer::from_bytes(&bytes).unwrap();
    map.verify().unwrap();
    assert_eq!(&*map.get(1).unwrap().unwrap(), b"no content size");
    assert_eq!(&*map.get(2).unwrap().unwrap(), b"hello world");
    assert_eq!(&*map.get(3).unwrap().unwrap(), b"");
}

/// A zstd frame whose header declares one byte more or less than it holds is an error, never a short or padded
/// value: values with a content size are decoded in one call into a buffer of exactly that size.
#[cfg(feature = "zstd")]
#[test]
fn zstd_frames_that_lie_about_their_size_are_errors() {
    let good = zstd::bulk::compress(b"twenty-four bytes of text", 3).unwrap();
    // Frame header descriptor: single segment, 1-byte content size right after it.
    assert_eq!(good[4], 0x20);
    assert_eq!(usize::from(good[5]), b"twenty-four bytes of text".len());
    let mut more = good.clone();
    more[5] += 1;
    let mut less = good.clone();
    less[5] -= 1;
    let bytes = handmade(Codec::Zstd, &[more, less, good]);
    let map = MapBuffer::from_bytes(&bytes).unwrap();
    for key in [1, 2] {
        let err = map.get(key).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decompress {
                    codec: Codec::Zstd,
                    ..
                }
            ),
            "{key}: {err}"
        );
    }
    assert_eq!(&*map.get(3).unwrap().unwrap(), b"twenty-four bytes of text");
    assert!(map.verify().is_err());
}

#[cfg(feature = "gzip")]
#[test]
fn gzip_decoding_is_tolerant() {
    let member = |data: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    };
    let two_members = [member(b"hello "), member(b"world")].concat();
    let bytes = handmade(Codec::Gzip, &[two_members, member(b""), Vec::new()]);
    let map = MapBuffer::from_bytes(&bytes).unwrap();
    assert_eq!(&*map.get(1).unwrap().unwrap(), b"hello world");
    assert_eq!(&*map.get(2).unwrap().unwrap(), b"");
    // An empty payload is not a gzip member.
    let err = map.get(3).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decompress {
                key: 3,
                codec: Codec::Gzip,
                ..
            }
        ),
        "{err}"
    );
}

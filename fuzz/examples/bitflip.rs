//! Flips every bit of a small file of each format, one at a time, and counts what the decoder makes of it: a typed
//! error, the same data, or different data without an error. Prints a markdown table (`cargo xtask bitflip` puts it
//! in docs/reliability.md). For the CRC-protected regions (sparse-index files, MapBuffer v1 values, roxxel shards with
//! a `.crc` sidecar, except a ROXXEL02 footer's dtype field) the last column must be 0; the crates' own tests assert
//! that too.

use std::num::NonZeroU16;
use std::panic::{AssertUnwindSafe, catch_unwind};

use mapbuffer::{Codec, FormatVersion, IntMap, MapBuffer, MapBufferBuilder};
use roxxel_format::{Checksums, FooterKind, Shard, WriterOptions, sidecar_path};
use sparse_index::{Format, SparseIndex, SparseIndexRef};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// What a decoder makes of a file: all its data, in a comparable form.
type Decoded = Vec<(Vec<u8>, Vec<u8>)>;

#[derive(Default)]
struct Counts {
    error: usize,
    same: usize,
    different: usize,
    panic: usize,
}

/// Flips each bit of `bytes[range]` and decodes; the original must decode.
fn flip_all(
    bytes: &[u8],
    range: std::ops::Range<usize>,
    decode: &dyn Fn(&[u8]) -> Option<Decoded>,
) -> Counts {
    let original = decode(bytes).expect("the original decodes");
    let mut counts = Counts::default();
    let mut copy = bytes.to_vec();
    for byte in range {
        for bit in 0..8 {
            copy[byte] ^= 1 << bit;
            match catch_unwind(AssertUnwindSafe(|| decode(&copy))) {
                Err(_) => counts.panic += 1,
                Ok(None) => counts.error += 1,
                Ok(Some(decoded)) if decoded == original => counts.same += 1,
                Ok(Some(_)) => counts.different += 1,
            }
            copy[byte] ^= 1 << bit;
        }
    }
    counts
}

/// A small shard and, with `checksums`, its `.crc` sidecar (empty without).
fn roxxel(footer: FooterKind, checksums: bool) -> Result<(Vec<u8>, Vec<u8>)> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("small.rox");
    let mut writer = WriterOptions::new()
        .footer(footer)
        .checksums(checksums)
        .open(&path)?;
    for record in [&b"alpha"[..], b"", b"beta", b"gamma delta"] {
        writer.push(record)?;
    }
    writer.finish()?;
    let sidecar = if checksums {
        std::fs::read(sidecar_path(&path))?
    } else {
        Vec::new()
    };
    Ok((std::fs::read(&path)?, sidecar))
}

/// Decodes a shard checked against a sidecar: `bytes` is the shard followed by its sidecar, `split` bytes of
/// shard. Records are read with the checksums attached, so the decoder is what `verify_checksums` readers see.
fn decode_roxxel_checksummed(bytes: &[u8], split: usize) -> Option<Decoded> {
    let sums = Checksums::from_bytes(bytes[split..].to_vec(), "flip.rox.crc").ok()?;
    let shard = Shard::from_bytes(&bytes[..split], "flip.rox")
        .ok()?
        .with_checksums(sums)
        .ok()?;
    shard.verify().ok()?;
    let records: Vec<_> = shard
        .iter()
        .map(|r| r.map(|r| (Vec::new(), r.to_vec())))
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    let dtype = shard
        .dtype()
        .map(|d| format!("{d:?}").into_bytes())
        .unwrap_or_default();
    Some([vec![(b"dtype".to_vec(), dtype)], records].concat())
}

fn decode_roxxel(bytes: &[u8]) -> Option<Decoded> {
    let shard = Shard::from_bytes(bytes, "flip.rox").ok()?;
    shard.verify().ok()?;
    let records: Vec<_> = shard
        .iter()
        .map(|r| r.map(|r| (Vec::new(), r.to_vec())))
        .collect::<std::result::Result<_, _>>()
        .ok()?;
    let dtype = shard
        .dtype()
        .map(|d| format!("{d:?}").into_bytes())
        .unwrap_or_default();
    Some([vec![(b"dtype".to_vec(), dtype)], records].concat())
}

fn decode_mapbuffer(bytes: &[u8]) -> Option<Decoded> {
    let map = MapBuffer::from_bytes(bytes).ok()?;
    map.verify().ok()?;
    map.iter()
        .map(|e| e.map(|(k, v)| (k.to_le_bytes().to_vec(), v.to_vec())))
        .collect::<std::result::Result<_, _>>()
        .ok()
}

fn decode_intmap(bytes: &[u8]) -> Option<Decoded> {
    let map = IntMap::from_bytes(bytes).ok()?;
    map.verify().ok()?;
    Some(
        map.iter()
            .map(|(k, v)| (k.to_le_bytes().to_vec(), v.to_le_bytes().to_vec()))
            .collect(),
    )
}

fn decode_sparse_index(bytes: &[u8]) -> Option<Decoded> {
    let (view, _) = SparseIndexRef::from_any_bytes(bytes).ok()?;
    let mut out: Decoded = view
        .iter()
        .map(|(k, o)| (k.into_owned(), o.to_le_bytes().to_vec()))
        .collect();
    out.push((
        b"data_end".to_vec(),
        format!("{:?}", view.data_end()).into_bytes(),
    ));
    Some(out)
}

/// One row of the table: the file's name, its bytes, the bytes to flip, and how to decode it.
type Row<'a> = (
    String,
    Vec<u8>,
    std::ops::Range<usize>,
    &'a dyn Fn(&[u8]) -> Option<Decoded>,
);

fn main() -> Result<()> {
    let entries: [(u64, &[u8]); 4] = [
        (3, b"three"),
        (10, b"ten"),
        (42, b""),
        (1000, b"one thousand"),
    ];
    let mut index = SparseIndex::new();
    for (i, key) in ["apple", "banana", "cherry", "date"].iter().enumerate() {
        index.add(key, i as u64 * 100)?;
    }
    index.set_data_end(400)?;
    let v2 = Format::PrefixCompressed {
        restart_interval: NonZeroU16::new(2).ok_or("zero")?,
    };

    // Roxxel with a .crc sidecar: the shard and its sidecar are flipped as one image (shard, then sidecar).
    let (shard01, sidecar01) = roxxel(FooterKind::Roxxel01, true)?;
    let (shard02, sidecar02) = roxxel(FooterKind::Roxxel02, true)?;
    let (split01, split02) = (shard01.len(), shard02.len());
    let decode01 = move |bytes: &[u8]| decode_roxxel_checksummed(bytes, split01);
    let decode02 = move |bytes: &[u8]| decode_roxxel_checksummed(bytes, split02);
    let image01 = [shard01, sidecar01].concat();
    let image02 = [shard02, sidecar02].concat();
    let len01 = image01.len();

    let mut rows: Vec<Row<'_>> = Vec::new();
    for footer in [FooterKind::Roxxel01, FooterKind::Roxxel02] {
        let (bytes, _) = roxxel(footer, false)?;
        let len = bytes.len();
        rows.push((
            format!("roxxel shard, {footer} footer (4 records)"),
            bytes,
            0..len,
            &decode_roxxel,
        ));
    }
    rows.push((
        "roxxel shard + .crc sidecar, ROXXEL01 (4 records): shard".to_owned(),
        image01.clone(),
        0..split01,
        &decode01,
    ));
    rows.push((
        "roxxel shard + .crc sidecar, ROXXEL01 (4 records): sidecar".to_owned(),
        image01,
        split01..len01,
        &decode01,
    ));
    rows.push((
        "roxxel shard + .crc sidecar, ROXXEL02 (4 records): shard (its dtype field is not covered)"
            .to_owned(),
        image02,
        0..split02,
        &decode02,
    ));
    for (version, codec) in [
        (FormatVersion::V1, Codec::None),
        (FormatVersion::V1, Codec::Zstd),
        (FormatVersion::V0, Codec::None),
    ] {
        let bytes = MapBufferBuilder::new()
            .codec(codec)
            .format_version(version)
            .to_vec(entries)?;
        let map = MapBuffer::from_bytes(&bytes[..])?;
        let index_end = map.index_end();
        let len = bytes.len();
        let name = format!("MapBuffer {version:?} {codec:?} (4 entries)");
        rows.push((
            format!("{name}: header + index"),
            bytes.clone(),
            0..index_end,
            &decode_mapbuffer,
        ));
        rows.push((
            format!("{name}: values"),
            bytes,
            index_end..len,
            &decode_mapbuffer,
        ));
    }
    let intmap = IntMap::<Vec<u8>>::build([(1, 10), (2, 20), (3, 30), (99, 990)])?;
    let len = intmap.len();
    rows.push((
        "IntMap (4 entries)".to_owned(),
        intmap,
        0..len,
        &decode_intmap,
    ));
    for (name, bytes) in [
        (
            "sparse index v1 (4 entries)",
            index.to_bytes_with(Format::Plain)?,
        ),
        ("sparse index v3 (4 entries)", index.to_bytes()),
        (
            "sparse index v2, restart 2 (4 entries)",
            index.to_bytes_with(v2)?,
        ),
        ("sparse index legacy (4 entries)", index.to_legacy_bytes()),
    ] {
        let len = bytes.len();
        rows.push((name.to_owned(), bytes, 0..len, &decode_sparse_index));
    }

    std::panic::set_hook(Box::new(|_| {}));
    println!(
        "| file | bytes flipped | bit flips | typed error | same data | different data, no error | panic |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, bytes, range, decode) in rows {
        let flips = range.len() * 8;
        let counts = flip_all(&bytes, range.clone(), decode);
        println!(
            "| {name} | {}..{} of {} | {flips} | {} | {} | {} | {} |",
            range.start,
            range.end,
            bytes.len(),
            counts.error,
            counts.same,
            counts.different,
            counts.panic
        );
    }
    Ok(())
}

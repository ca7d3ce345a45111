//! Reading: footers, validation of every bad input from the reference notes, datasets, specs, typed views.

use std::path::{Path, PathBuf};

use roxxel_format::{Dataset, DatasetSpec, Dtype, Error, FooterKind, Shard};

use crate::common::read_all;

/// A shard built by hand from the format description (independent of the writer).
pub(crate) fn build(records: &[&[u8]], kind: FooterKind, dtype: &[u8; 8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ends = Vec::new();
    for r in records {
        out.extend_from_slice(r);
        ends.push(out.len() as i64);
    }
    let raw = out.len() as i64;
    for e in ends {
        out.extend_from_slice(&e.to_le_bytes());
    }
    out.extend_from_slice(&(records.len() as i64).to_le_bytes());
    out.extend_from_slice(&raw.to_le_bytes());
    if kind == FooterKind::Roxxel02 {
        out.extend_from_slice(dtype);
        out.extend_from_slice(b"ROXXEL02");
    } else {
        out.extend_from_slice(b"ROXXEL01");
    }
    out
}

fn v1(records: &[&[u8]]) -> Vec<u8> {
    build(records, FooterKind::Roxxel01, &[0; 8])
}

fn sample() -> Vec<u8> {
    v1(&[b"hello", b"wo", b"rld!"])
}

fn open_bytes(bytes: Vec<u8>) -> Result<Shard<Vec<u8>>, Error> {
    Shard::from_bytes(bytes, "c.rox")
}

fn put_i64(bytes: &mut [u8], at: usize, value: i64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

#[test]
fn reads_both_footers() {
    let one = open_bytes(sample()).unwrap();
    assert_eq!(one.footer_kind(), FooterKind::Roxxel01);
    assert_eq!(one.dtype(), None);
    assert_eq!(one.footer().effective_dtype(), Dtype::UINT8);
    assert_eq!(one.len(), 3);
    assert_eq!(one.get(0).unwrap(), b"hello");
    assert_eq!(one.get(2).unwrap(), b"rld!");
    assert_eq!(one.raw_data(), b"helloworld!");

    let two = open_bytes(build(
        &[b"ab", b"cdef"],
        FooterKind::Roxxel02,
        b"int16\0\0\0",
    ))
    .unwrap();
    assert_eq!(two.footer_kind(), FooterKind::Roxxel02);
    assert_eq!(two.dtype().unwrap().as_str(), Some("int16"));
    assert_eq!(two.dtype().unwrap().element_size(), Some(2));
    assert_eq!(two.get(1).unwrap(), b"cdef");
    two.verify().unwrap();
}

#[test]
fn index_is_read_unaligned() {
    // Payload of 11 bytes puts the index at offset 11: every entry is misaligned.
    let shard = open_bytes(sample()).unwrap();
    assert_eq!(shard.footer().index_offset(), 11);
    let all: Vec<&[u8]> = shard.iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(all, [&b"hello"[..], b"wo", b"rld!"]);
}

#[test]
fn empty_and_tiny_files_are_too_small() {
    for len in [0, 1, 23] {
        let err = open_bytes(vec![b'R'; len]).unwrap_err();
        assert!(
            matches!(err, Error::TooSmall { size, .. } if size == len as u64),
            "{err}"
        );
        assert!(err.to_string().contains("c.rox"), "{err}");
    }
    // A ROXXEL02 magic on a 24..31-byte file cannot hold its 32-byte footer.
    let mut bytes = vec![0u8; 28];
    bytes[20..].copy_from_slice(b"ROXXEL02");
    assert!(matches!(
        open_bytes(bytes),
        Err(Error::TooSmall { size: 28, .. })
    ));
}

#[test]
fn truncated_wrong_magic_and_trailing_garbage_are_bad_magic() {
    let mut truncated = sample();
    truncated.pop();
    let mut wrong = sample();
    let n = wrong.len();
    wrong[n - 1] = b'9';
    let mut garbage = sample();
    garbage.extend_from_slice(b"junk");
    for (bytes, offset) in [(truncated, 50), (wrong, 51), (garbage, 55)] {
        let err = open_bytes(bytes).unwrap_err();
        match &err {
            Error::BadMagic {
                file, offset: at, ..
            } => {
                assert_eq!(file, Path::new("c.rox"));
                assert_eq!(*at, offset);
            }
            other => panic!("expected BadMagic, got {other}"),
        }
        assert!(
            err.to_string().contains(&format!("offset {offset}")),
            "{err}"
        );
    }
}

#[test]
fn footer_counts_that_do_not_match_the_size_are_rejected() {
    let base = sample();
    let footer = base.len() - 24;
    // N far too large, N one too large (Python opens this silently), N = 0 with data, payload size too large.
    for (at, value) in [
        (footer, 1000),
        (footer, 4),
        (footer, 0),
        (footer + 8, 1 << 40),
    ] {
        let mut bytes = base.clone();
        put_i64(&mut bytes, at, value);
        let err = open_bytes(bytes).unwrap_err();
        assert!(
            matches!(err, Error::SizeMismatch { footer_offset, actual: 59, .. } if footer_offset == footer as u64),
            "{err}"
        );
    }
    let mut huge = base.clone();
    put_i64(&mut huge, footer, i64::MAX);
    let err = open_bytes(huge).unwrap_err();
    assert!(err.to_string().contains("more than 2^64"), "{err}");
}

#[test]
fn negative_footer_fields_are_rejected() {
    let base = sample();
    let footer = base.len() - 24;
    for (at, field) in [(footer, "record count"), (footer + 8, "raw data size")] {
        let mut bytes = base.clone();
        put_i64(&mut bytes, at, -1);
        match open_bytes(bytes).unwrap_err() {
            Error::NegativeFooterField {
                field: f,
                offset,
                value: -1,
                ..
            } => {
                assert_eq!(f, field);
                assert_eq!(offset, at as u64);
            }
            other => panic!("{other}"),
        }
    }
}

#[test]
fn bad_index_entries_are_errors_not_silent_data() {
    // Entry 1 points past the payload: records 1 and 2 fail, record 0 still reads.
    let mut past = sample();
    put_i64(&mut past, 11 + 8, 500);
    let shard = open_bytes(past).unwrap();
    assert_eq!(shard.get(0).unwrap(), b"hello");
    for i in [1, 2] {
        let err = shard.get(i).unwrap_err();
        assert!(matches!(err, Error::BadIndexEntry { .. }), "{err}");
    }
    let err = shard.verify().unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadIndexEntry {
                record: 1,
                offset: 19,
                end: 500,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("c.rox") && err.to_string().contains("offset 19"));

    // Non-monotonic: entry 0 = 9 > entry 1 = 7.
    let mut inverted = sample();
    put_i64(&mut inverted, 11, 9);
    let shard = open_bytes(inverted).unwrap();
    assert_eq!(shard.get(0).unwrap(), b"helloworl");
    assert!(matches!(
        shard.get(1),
        Err(Error::BadIndexEntry {
            record: 1,
            start: 9,
            end: 7,
            ..
        })
    ));
    assert_eq!(shard.get(2).unwrap(), b"rld!");
    assert!(shard.verify().is_err());
    let collected: Vec<_> = shard.iter().collect();
    assert!(collected[1].is_err() && collected[0].is_ok() && collected[2].is_ok());

    // Negative entry.
    let mut negative = sample();
    put_i64(&mut negative, 11, -3);
    let shard = open_bytes(negative).unwrap();
    assert!(shard.get(0).is_err() && shard.get(1).is_err());

    // Last end short of the payload: only verify() can tell.
    let mut short = sample();
    put_i64(&mut short, 11 + 16, 10);
    let shard = open_bytes(short).unwrap();
    assert_eq!(shard.get(2).unwrap(), b"rld");
    assert!(matches!(
        shard.verify(),
        Err(Error::IndexEndMismatch {
            last_end: 10,
            raw_data_size: 11,
            offset: 27,
            ..
        })
    ));
}

#[test]
fn out_of_range_and_negative_indices() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    std::fs::write(&path, sample()).unwrap();
    let ds = Dataset::open(&path).unwrap();
    assert!(matches!(
        ds.get(3),
        Err(Error::IndexOutOfRange { index: 3, len: 3 })
    ));
    assert_eq!(ds.get_signed(-1).unwrap(), b"rld!");
    assert_eq!(ds.get_signed(-3).unwrap(), b"hello");
    assert!(matches!(
        ds.get_signed(-4),
        Err(Error::IndexOutOfRange { index: -4, .. })
    ));
    assert_eq!(ds.resolve_index(-2).unwrap(), 1);
    assert!(ds.resolve_index(i64::MIN).is_err());
    assert_eq!(
        ds.get_many(&[2, 0, 2]).unwrap(),
        [&b"rld!"[..], b"hello", b"rld!"]
    );
    assert!(ds.get_many(&[0, 9]).is_err());
    assert_eq!(ds.range(1..).unwrap().count(), 2);
    assert_eq!(ds.range(3..3).unwrap().count(), 0);
    assert!(ds.range(2..4).is_err());
    #[allow(clippy::reversed_empty_ranges)] // the point of the test: a reversed range is an error
    let reversed = ds.range(2..1);
    assert!(reversed.is_err());
    assert_eq!(ds.range(..=0).unwrap().next().unwrap().unwrap(), b"hello");
}

fn write_shard(dir: &Path, name: &str, records: &[&[u8]]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, v1(records)).unwrap();
    path
}

#[test]
fn shards_read_as_one_sequence_in_numeric_order() {
    let dir = tempfile::tempdir().unwrap();
    write_shard(dir.path(), "ds_9999.rox", &[b"b", b"c"]);
    write_shard(dir.path(), "ds_10000.rox", &[b"d"]);
    write_shard(dir.path(), "ds_0000.rox", &[b"a"]);
    write_shard(dir.path(), "ds_10001.rox", &[]);
    write_shard(dir.path(), "ds_10002.rox", &[b"e", b"f"]);
    std::fs::write(dir.path().join(".ds_0001.rox.tmp"), b"half a file").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"not a shard").unwrap();

    let want: Vec<Vec<u8>> = [b"a", b"b", b"c", b"d", b"e", b"f"]
        .map(|r| r.to_vec())
        .to_vec();
    let pattern = dir.path().join("ds_*.rox");
    for spec in [DatasetSpec::from(&pattern), DatasetSpec::from(dir.path())] {
        let ds = Dataset::open(spec).unwrap();
        let names: Vec<String> = ds
            .shards()
            .iter()
            .map(|s| s.path().file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "ds_0000.rox",
                "ds_9999.rox",
                "ds_10000.rox",
                "ds_10001.rox",
                "ds_10002.rox"
            ]
        );
        assert_eq!(read_all(&ds), want);
        for (i, r) in want.iter().enumerate() {
            assert_eq!(ds.get(i as u64).unwrap(), r);
        }
        assert_eq!(ds.locate(3), Some((2, 0)));
        assert_eq!(ds.locate(4), Some((4, 0)));
        let mid: Vec<&[u8]> = ds.range(2..5).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(mid, [&b"c"[..], b"d", b"e"]);
        assert_eq!(ds.range(2..5).unwrap().len(), 3);
    }

    // A list keeps its order.
    let list = vec![
        dir.path().join("ds_10000.rox"),
        dir.path().join("ds_0000.rox"),
    ];
    assert_eq!(
        read_all(&Dataset::open(list).unwrap()),
        [b"d".to_vec(), b"a".to_vec()]
    );
    // `?` is a pattern too.
    assert_eq!(
        Dataset::open(dir.path().join("ds_999?.rox")).unwrap().len(),
        2
    );
}

#[test]
fn a_broken_shard_in_a_pattern_is_named_or_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write_shard(dir.path(), "ds_0000.rox", &[b"a"]);
    std::fs::write(dir.path().join("ds_0001.rox"), b"").unwrap();
    let mut no_footer = b"payload without footer".to_vec();
    no_footer.extend_from_slice(&[0; 8]);
    std::fs::write(dir.path().join("ds_0002.rox"), no_footer).unwrap();
    write_shard(dir.path(), "ds_0003.rox", &[b"b"]);

    let pattern = dir.path().join("ds_*.rox");
    let err = Dataset::open(&pattern).unwrap_err();
    assert!(
        matches!(&err, Error::TooSmall { file, size: 0 } if file.ends_with("ds_0001.rox")),
        "{err}"
    );
    assert!(err.to_string().contains("ds_0001.rox"));

    let ds = Dataset::options()
        .skip_invalid(true)
        .open(&pattern)
        .unwrap();
    assert_eq!(read_all(&ds), [b"a".to_vec(), b"b".to_vec()]);
    let skipped: Vec<_> = ds
        .skipped()
        .iter()
        .map(|s| {
            (
                s.path.file_name().unwrap().to_string_lossy().into_owned(),
                s.error.is_corruption(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [("ds_0001.rox".into(), true), ("ds_0002.rox".into(), true)]
    );
}

#[test]
fn missing_files_and_empty_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.rox");
    assert!(matches!(Dataset::open(&missing), Err(Error::Io { file, .. }) if file == missing));
    assert!(matches!(
        Dataset::open(dir.path().join("*.rox")),
        Err(Error::NoShards { .. })
    ));
    assert!(matches!(
        Dataset::open(dir.path()),
        Err(Error::NoShards { .. })
    ));
    assert!(matches!(
        Dataset::open(dir.path().join("[*.rox")),
        Err(Error::BadPattern { .. })
    ));
}

#[test]
fn typed_views_of_the_payload() {
    let dir = tempfile::tempdir().unwrap();
    let tokens: Vec<u16> = (0..100).collect();
    let bytes: Vec<u8> = tokens.iter().flat_map(|t| t.to_le_bytes()).collect();
    let path = write_shard(dir.path(), "tok.rox", &[&bytes[..60], &bytes[60..]]);
    let shard = Shard::open(&path).unwrap();
    if cfg!(target_endian = "little") {
        assert_eq!(shard.raw_data_as::<u16>().unwrap(), &tokens[..]);
    }
    let err = shard.raw_data_as::<[u8; 3]>().unwrap_err();
    assert!(
        matches!(err, Error::TypedView { reason, .. } if reason.contains("multiple")),
        "{err}"
    );

    // An in-memory image at an odd address cannot be viewed as u32.
    let mut image = vec![0u8];
    image.extend_from_slice(&v1(&[&[1, 0, 0, 0, 2, 0, 0, 0]]));
    let shard = Shard::from_bytes(&image[1..], "odd.rox").unwrap();
    let misaligned = !(shard.raw_data().as_ptr() as usize).is_multiple_of(4);
    if misaligned {
        let err = shard.raw_data_as::<u32>().unwrap_err();
        assert!(
            matches!(err, Error::TypedView { reason, .. } if reason.contains("aligned")),
            "{err}"
        );
    }
}

#[test]
fn dtype_names() {
    assert_eq!(Dtype::new("int32").unwrap().to_field(), *b"int32\0\0\0");
    assert!(matches!(
        Dtype::new("complex128"),
        Err(Error::InvalidDtype { .. })
    ));
    assert!(Dtype::new("").is_err());
    assert!(Dtype::new("a b").is_err());
    assert_eq!("float16".parse::<Dtype>().unwrap().element_size(), Some(2));
    assert_eq!(Dtype::from_field(*b"weird\0\0\0").element_size(), None);
    assert_eq!(format!("{:?}", Dtype::UINT8), "Dtype(\"uint8\")");
}

#[test]
fn dataset_is_send_and_sync_and_reads_from_many_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Dataset>();
    assert_send_sync::<Shard>();

    let dir = tempfile::tempdir().unwrap();
    let recs: Vec<Vec<u8>> = crate::common::records(2_000, 50, 3);
    let refs: Vec<&[u8]> = recs.iter().map(Vec::as_slice).collect();
    write_shard(dir.path(), "m_0000.rox", &refs[..700]);
    write_shard(dir.path(), "m_0001.rox", &refs[700..]);
    let ds = Dataset::open(dir.path().join("m_*.rox")).unwrap();
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            let (ds, recs) = (&ds, &recs);
            scope.spawn(move || {
                for i in (t..recs.len() as u64).step_by(4) {
                    assert_eq!(ds.get(i).unwrap(), recs[i as usize]);
                }
            });
        }
    });
}

/// roxxel ≥ 0.7 opens a sharded dataset by the path it was written to; so do we, with its two patterns.
#[test]
fn a_sharded_dataset_opens_by_the_path_it_was_written_to() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("ds.rox");
    let recs: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 30]).collect();
    crate::common::write(
        &base,
        &roxxel_format::WriterOptions::new().max_shard_bytes(200),
        &recs,
    );
    assert!(!base.exists());
    let ds = Dataset::open(&base).unwrap();
    assert!(ds.shards().len() > 3);
    assert_eq!(read_all(&ds), recs);
    // Without `.rox`, as Python's stem rule allows.
    assert_eq!(Dataset::open(dir.path().join("ds")).unwrap().len(), 40);
    // The second pattern, `{stem}*.rox`, when no `{stem}_*.rox` exists.
    std::fs::write(dir.path().join("other-a.rox"), v1(&[b"a"])).unwrap();
    std::fs::write(dir.path().join("other-b.rox"), v1(&[b"b"])).unwrap();
    let ds = Dataset::open(dir.path().join("other.rox")).unwrap();
    assert_eq!(read_all(&ds), [b"a".to_vec(), b"b".to_vec()]);
    // Nothing by that name: the missing file is reported.
    let err = Dataset::open(dir.path().join("nothing.rox")).unwrap_err();
    assert!(
        matches!(&err, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound),
        "{err}"
    );
}

#[test]
fn range_bytes_is_the_span_of_consecutive_records() {
    let shard = open_bytes(sample()).unwrap();
    // Model: the records of the range, read one by one and joined.
    for start in 0..=3u64 {
        for end in start..=3u64 {
            let joined: Vec<u8> = shard
                .range(start..end)
                .unwrap()
                .flat_map(|record| record.unwrap().to_vec())
                .collect();
            assert_eq!(
                shard.range_bytes(start..end).unwrap(),
                joined,
                "{start}..{end}"
            );
        }
    }
    assert_eq!(shard.range_bytes(..).unwrap(), b"helloworld!");
    assert!(matches!(
        shard.range_bytes(2..4),
        Err(Error::IndexOutOfRange { index: 3, len: 3 })
    ));

    // Entry 1 points past the payload: a span ending at record 1 or starting at record 2 fails, naming the last
    // record of the span; one that only passes over the bad entry is bounded by good ones (not checked).
    let mut past = sample();
    put_i64(&mut past, 11 + 8, 500);
    let shard = open_bytes(past).unwrap();
    assert_eq!(shard.range_bytes(0..1).unwrap(), b"hello");
    assert!(matches!(
        shard.range_bytes(0..2),
        Err(Error::BadIndexEntry {
            record: 1,
            start: 0,
            end: 500,
            ..
        })
    ));
    assert!(matches!(
        shard.range_bytes(2..3),
        Err(Error::BadIndexEntry {
            record: 2,
            start: 500,
            end: 11,
            ..
        })
    ));
    assert_eq!(shard.range_bytes(0..3).unwrap(), b"helloworld!");
}

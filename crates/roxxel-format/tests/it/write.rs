//! Writing: Python-identical bytes, sharding and append rules, and the deliberate differences.

use std::io;

use roxxel_format::{Dataset, Dtype, Error, FooterKind, WriterOptions, recover};

use crate::common::{read_all, records, shard_files, write};

/// The 0.1.0 file of the reference notes: `write([b"hello", b"", b"wo", b"rld!"])`.
const NOTES_V1: &[u8] = b"helloworld!\
\x05\0\0\0\0\0\0\0\x07\0\0\0\0\0\0\0\x0b\0\0\0\0\0\0\0\
\x03\0\0\0\0\0\0\0\x0b\0\0\0\0\0\0\0ROXXEL01";

fn notes_records() -> Vec<Vec<u8>> {
    [&b"hello"[..], b"", b"wo", b"rld!"]
        .map(<[u8]>::to_vec)
        .to_vec()
}

#[test]
fn skipping_empty_records_reproduces_the_python_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    write(
        &path,
        &WriterOptions::new()
            .footer(FooterKind::Roxxel01)
            .skip_empty_records(true),
        &notes_records(),
    );
    assert_eq!(std::fs::read(&path).unwrap(), NOTES_V1);
}

#[test]
fn empty_records_are_stored_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    write(&path, &WriterOptions::new(), &notes_records());
    let ds = Dataset::open(&path).unwrap();
    assert_eq!(read_all(&ds), notes_records());
    assert_eq!(std::fs::read(&path).unwrap().len(), 11 + 4 * 8 + 32);
}

/// Every roxxel from 0.6 to 0.9.14 reads only ROXXEL02, so that is what a writer makes unless told otherwise.
#[test]
fn the_default_footer_is_roxxel02_uint8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.rox");
    write(&path, &WriterOptions::new(), &records(3, 9, 1));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[bytes.len() - 16..], b"uint8\0\0\0ROXXEL02");
    let ds = Dataset::open(&path).unwrap();
    let shard = &ds.shards()[0];
    assert_eq!(shard.footer_kind(), FooterKind::Roxxel02);
    assert_eq!(shard.dtype(), Some(Dtype::UINT8));
}

#[test]
fn roxxel02_with_dtype() {
    // The 0.9.14 example of the notes: records hell, owor, ld!\0 with dtype uint8.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    let recs = [&b"hell"[..], b"owor", b"ld!\0"].map(<[u8]>::to_vec);
    write(
        &path,
        &WriterOptions::new().footer(FooterKind::Roxxel02),
        &recs,
    );
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 12 + 24 + 32);
    assert_eq!(&bytes[bytes.len() - 16..], b"uint8\0\0\0ROXXEL02");

    let path = dir.path().join("t.rox");
    write(
        &path,
        &WriterOptions::new().dtype(Dtype::new("int32").unwrap()),
        &recs,
    );
    let ds = Dataset::open(&path).unwrap();
    assert_eq!(ds.shards()[0].footer_kind(), FooterKind::Roxxel02);
    assert_eq!(ds.shards()[0].dtype().unwrap().as_str(), Some("int32"));

    let err = WriterOptions::new()
        .open(dir.path().join("ds_*.rox"))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidOptions(_)), "{err}");

    let err = WriterOptions::new()
        .footer(FooterKind::Roxxel01)
        .dtype(Dtype::UINT8)
        .open(dir.path().join("x.rox"))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidOptions(_)), "{err}");
}

#[test]
fn sharding_follows_the_python_rules() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("t.rox");
    let ten: Vec<Vec<u8>> = (0..10u8).map(|i| vec![b'0' + i; 10]).collect();
    let opts = WriterOptions::new()
        .footer(FooterKind::Roxxel01)
        .max_shard_bytes(100);
    write(&base, &opts, &ten);
    let sizes = |d| {
        shard_files(d)
            .into_iter()
            .map(|(n, b)| (n, b.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        sizes(dir.path()),
        [
            ("t_0000.rox".into(), 96),
            ("t_0001.rox".into(), 96),
            ("t_0002.rox".into(), 60)
        ]
    );
    // A second write appends 2 records to t_0002 (now 96 B) and 1 to a new t_0003.
    write(&base, &opts, &vec![b"x".repeat(10); 3]);
    assert_eq!(
        sizes(dir.path()),
        [
            ("t_0000.rox".into(), 96),
            ("t_0001.rox".into(), 96),
            ("t_0002.rox".into(), 96),
            ("t_0003.rox".into(), 42)
        ]
    );
    let ds = Dataset::open(dir.path().join("t_*.rox")).unwrap();
    assert_eq!(ds.len(), 13);

    // A record above the limit gets a shard of its own; a base without `.rox` is used as is.
    let big = dir.path().join("big");
    write(
        &big,
        &WriterOptions::new()
            .footer(FooterKind::Roxxel01)
            .max_shard_bytes(100),
        &[vec![7; 500], vec![8; 5]],
    );
    let ds = Dataset::open(dir.path().join("big_*.rox")).unwrap();
    let lens: Vec<u64> = ds
        .shards()
        .iter()
        .map(|s| std::fs::metadata(s.path()).unwrap().len())
        .collect();
    assert_eq!(lens, [532, 37]);
}

#[test]
fn appending_keeps_the_footer_kind_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    let (a, b, c) = (records(20, 30, 1), records(5, 30, 2), records(5, 30, 3));
    write(
        &path,
        &WriterOptions::new().footer(FooterKind::Roxxel01),
        &a,
    );
    write(
        &path,
        &WriterOptions::new().footer(FooterKind::Roxxel02),
        &b,
    );
    let ds = Dataset::open(&path).unwrap();
    assert_eq!(ds.shards()[0].footer_kind(), FooterKind::Roxxel01);
    drop(ds);
    write(
        &path,
        &WriterOptions::new()
            .footer(FooterKind::Roxxel02)
            .convert_existing(true),
        &c,
    );
    let ds = Dataset::open(&path).unwrap();
    assert_eq!(ds.shards()[0].footer_kind(), FooterKind::Roxxel02);
    assert_eq!(read_all(&ds), [a, b, c].concat());
    ds.verify().unwrap();

    // Appending a different dtype to a ROXXEL02 shard is refused, the file untouched.
    let before = std::fs::read(&path).unwrap();
    let err = WriterOptions::new()
        .dtype(Dtype::new("int32").unwrap())
        .open(&path)
        .unwrap_err();
    assert!(matches!(err, Error::DtypeMismatch { .. }), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn sharded_appends_inherit_the_footer_of_the_last_shard() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("s.rox");
    let v2 = WriterOptions::new()
        .max_shard_bytes(200)
        .dtype(Dtype::new("int16").unwrap());
    write(&base, &v2, &records(10, 40, 1));
    write(
        &base,
        &WriterOptions::new().max_shard_bytes(200),
        &records(30, 40, 2),
    );
    let ds = Dataset::open(dir.path().join("s_*.rox")).unwrap();
    assert!(ds.shards().len() > 3);
    for shard in ds.shards() {
        assert_eq!(shard.footer_kind(), FooterKind::Roxxel02);
        assert_eq!(shard.dtype().unwrap().as_str(), Some("int16"));
    }
}

#[test]
fn a_file_with_a_bad_footer_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    let precious = b"someone else's data, not a roxxel file at all".to_vec();
    std::fs::write(&path, &precious).unwrap();
    let err = WriterOptions::new().open(&path).unwrap_err();
    assert!(
        matches!(&err, Error::WouldOverwrite { file, .. } if *file == path),
        "{err}"
    );
    assert!(err.to_string().contains("overwrite_invalid"));
    assert_eq!(std::fs::read(&path).unwrap(), precious);

    write(
        &path,
        &WriterOptions::new().overwrite_invalid(true),
        &records(3, 10, 1),
    );
    assert_eq!(Dataset::open(&path).unwrap().len(), 3);

    // Same for the last shard of a sharded dataset.
    let base = dir.path().join("s.rox");
    std::fs::write(dir.path().join("s_0000.rox"), &precious).unwrap();
    let err = WriterOptions::new()
        .max_shard_bytes(1000)
        .open(&base)
        .unwrap_err();
    assert!(matches!(err, Error::WouldOverwrite { .. }), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join("s_0000.rox")).unwrap(),
        precious
    );
}

#[test]
fn zero_byte_files_are_replaced_and_empty_writes_give_valid_shards() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.rox");
    std::fs::write(&path, b"").unwrap();
    write(&path, &WriterOptions::new(), &records(2, 5, 1));
    assert_eq!(Dataset::open(&path).unwrap().len(), 2);

    let empty = dir.path().join("e.rox");
    write(&empty, &WriterOptions::new(), &[]);
    assert_eq!(std::fs::read(&empty).unwrap().len(), 32);
    assert_eq!(Dataset::open(&empty).unwrap().len(), 0);
}

#[test]
fn a_failing_record_source_rolls_everything_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    let old = records(100, 60, 1);
    write(&path, &WriterOptions::new(), &old);
    let before = std::fs::read(&path).unwrap();

    let failing = (0..1000).map(|i| {
        if i == 700 {
            Err(io::Error::other("upstream broke"))
        } else {
            Ok(vec![i as u8; 100])
        }
    });
    let mut writer = WriterOptions::new().open(&path).unwrap();
    let err = writer.try_push_all(failing).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Source {
                records_written: 700,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        writer.push(b"more").is_err(),
        "a rolled-back writer refuses records"
    );
    drop(writer);
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // Sharded: shards created by the failed session disappear, the appended last shard is restored.
    let base = dir.path().join("s.rox");
    let opts = WriterOptions::new().max_shard_bytes(2_000);
    write(&base, &opts, &records(30, 60, 2));
    let files = shard_files(dir.path());
    let mut writer = opts.open(&base).unwrap();
    let err = writer
        .try_push_all((0..500).map(|i| {
            if i < 400 {
                Ok(vec![1u8; 50])
            } else {
                Err(io::Error::other("x"))
            }
        }))
        .unwrap_err();
    assert!(matches!(err, Error::Source { .. }));
    drop(writer);
    assert_eq!(shard_files(dir.path()), files);

    // A fresh write that fails leaves nothing behind.
    let fresh = dir.path().join("fresh.rox");
    let mut writer = WriterOptions::new().open(&fresh).unwrap();
    assert!(
        writer
            .try_push_all([Ok(vec![1u8]), Err(io::Error::other("x"))])
            .is_err()
    );
    drop(writer);
    assert!(!fresh.exists());
    assert!(!dir.path().join(".fresh.rox.tmp").exists());
}

#[test]
fn dropping_or_aborting_a_writer_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    write(&path, &WriterOptions::new(), &records(10, 20, 1));
    let before = std::fs::read(&path).unwrap();
    let mut writer = WriterOptions::new().open(&path).unwrap();
    writer.push_all(records(1000, 200, 2)).unwrap();
    writer.abort().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let mut writer = WriterOptions::new().open(&path).unwrap();
    writer.push_all(records(1000, 200, 3)).unwrap();
    drop(writer);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(recover(&path).unwrap().is_clean());
}

#[test]
fn two_writers_are_kept_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    write(&path, &WriterOptions::new(), &records(3, 5, 1));
    let first = WriterOptions::new().open(&path).unwrap();
    let err = WriterOptions::new().open(&path).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    let err = WriterOptions::new()
        .max_shard_bytes(100)
        .open(&path)
        .unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    first.finish().unwrap();
    WriterOptions::new().open(&path).unwrap().finish().unwrap();
}

#[test]
fn summary_lists_the_shards_written() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("s");
    let opts = WriterOptions::new().max_shard_bytes(500);
    write(&base, &opts, &records(5, 50, 1));
    let mut writer = opts.open(&base).unwrap();
    writer.push_all(records(20, 50, 2)).unwrap();
    assert_eq!(writer.records_written(), 20);
    let summary = writer.finish().unwrap();
    assert_eq!(summary.records_written, 20);
    assert!(summary.shards.len() >= 2);
    assert!(summary.shards[0].previous_records > 0);
    assert_eq!(summary.shards[1].previous_records, 0);
    let total: u64 = summary
        .shards
        .iter()
        .map(|s| s.footer.records - s.previous_records)
        .sum();
    assert_eq!(total, 20);
}

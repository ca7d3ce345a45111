//! Misuse is a typed error, never a panic, and leaves the index or writer as it was.

use sparse_index::{Error, Format, SparseIndex, SparseIndexWriter};

#[test]
fn keys_and_offsets_must_strictly_ascend() {
    let mut index = SparseIndex::new();
    index.add(b"b", 10).unwrap();
    let err = index.add(b"b", 20).unwrap_err();
    insta::assert_snapshot!(err, @r#"key "b" of entry 1 is not greater than the previous key "b""#);
    let err = index.add(b"a\xff\n", 20).unwrap_err();
    insta::assert_snapshot!(err, @r#"key "a\xff\n" of entry 1 is not greater than the previous key "b""#);
    let err = index.add(b"c", 10).unwrap_err();
    insta::assert_snapshot!(err, @"offset 10 of entry 1 is not greater than the previous offset 10");
    assert!(matches!(
        err,
        Error::OffsetNotAscending {
            index: 1,
            offset: 10,
            previous: 10
        }
    ));
    assert_eq!(index.len(), 1);
    index.add(b"c", 11).unwrap();
    assert_eq!(index.len(), 2);
}

#[test]
fn the_data_end_must_follow_the_last_block() {
    let mut index = SparseIndex::new();
    index.add(b"a", 0).unwrap();
    index.add(b"b", 100).unwrap();
    let err = index.set_data_end(100).unwrap_err();
    insta::assert_snapshot!(err, @"data end 100 is not after the last block offset 100");
    index.set_data_end(101).unwrap();
    assert_eq!(index.data_end(), Some(101));
    assert!(matches!(
        index.add(b"c", 101),
        Err(Error::DataEndNotAfterLastOffset { .. })
    ));
    assert!(matches!(
        index.set_data_end(u64::MAX),
        Err(Error::ReservedDataEnd)
    ));
    index.clear_data_end();
    assert_eq!(index.data_end(), None);
    assert_eq!(index.block_range(1), None);
    index.add(b"c", 101).unwrap();

    let mut writer = SparseIndexWriter::new(Vec::new());
    writer.add(b"a", 50).unwrap();
    assert!(matches!(
        writer.finish(50),
        Err(Error::DataEndNotAfterLastOffset {
            data_end: 50,
            last_offset: 50
        })
    ));
}

#[test]
fn the_writer_rejects_misuse_and_stays_usable() {
    for format in [Format::Plain, Format::Sampled, Format::prefix_compressed()] {
        let mut writer = SparseIndexWriter::with_format(Vec::new(), format);
        writer.add(b"m", 5).unwrap();
        assert!(matches!(
            writer.add(b"a", 6),
            Err(Error::KeyNotAscending { index: 1, .. })
        ));
        assert!(matches!(
            writer.add(b"n", 5),
            Err(Error::OffsetNotAscending { index: 1, .. })
        ));
        writer.add(b"n", 6).unwrap();
        assert_eq!(writer.len(), 2);
        let bytes = writer.finish(7).unwrap();
        let mut expected = SparseIndex::new();
        expected.add(b"m", 5).unwrap();
        expected.add(b"n", 6).unwrap();
        expected.set_data_end(7).unwrap();
        assert_eq!(bytes, expected.to_bytes_with(format).unwrap());
    }
}

/// A writer that fails after `budget` bytes.
struct Failing {
    budget: usize,
}

impl std::io::Write for Failing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() > self.budget {
            return Err(std::io::Error::other("disk full"));
        }
        self.budget -= buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn io_errors_are_reported() {
    let mut index = SparseIndex::new();
    for i in 0..20_000u32 {
        index.add(format!("key{i:08}"), u64::from(i) * 10).unwrap();
    }
    let err = index
        .write_to(Failing { budget: 1000 }, Format::Plain)
        .unwrap_err();
    assert!(matches!(err, Error::Io(_)));
    insta::assert_snapshot!(err, @"I/O error while writing the sparse index");
    let err = index
        .write_to(Failing { budget: 100_000 }, Format::prefix_compressed())
        .unwrap_err();
    assert!(matches!(err, Error::Io(_)));
    index
        .write_to(Failing { budget: 1 << 20 }, Format::Plain)
        .unwrap();
}

//! `MemorySource`, `FileSource` and the forwarding implementations of `RangeSource`.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;
use sparse_buffer::{Error, FileSource, MemorySource, RangeSource};

#[test]
fn memory_source_slices_without_copying() -> Result<(), Error> {
    let data = Bytes::from_static(b"0123456789");
    let source = MemorySource::new(data.clone());
    assert_eq!(source.size()?, 10);
    let got = source.fetch(&[2..5, 0..10, 7..7])?;
    assert_eq!(got, [&b"234"[..], &b"0123456789"[..], &b""[..]]);
    assert_eq!(got[0].as_ptr(), data[2..].as_ptr());
    assert_eq!(source.bytes(), &data);
    assert_eq!(source.name(), "memory");
    Ok(())
}

#[test]
fn memory_source_rejects_ranges_outside_the_file() {
    let source = MemorySource::new(vec![0; 10]);
    assert!(matches!(
        source.fetch(&[0..5, 8..11]),
        Err(Error::OutOfBounds {
            start: 8,
            end: 11,
            size: 10,
            ..
        })
    ));
    #[allow(clippy::reversed_empty_ranges)] // the point of the test
    let reversed = source.fetch(&[6..5]);
    assert!(matches!(
        reversed,
        Err(Error::InvalidRange { start: 6, end: 5 })
    ));
}

#[test]
fn file_source_reads_at_positions() -> Result<(), Box<dyn std::error::Error>> {
    let mut file = tempfile::NamedTempFile::new()?;
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    file.write_all(&data)?;
    file.flush()?;
    let source = FileSource::open(file.path())?;
    assert_eq!(source.size()?, 100_000);
    let got = source.fetch(&[99_990..100_000, 0..3, 50_000..60_000])?;
    assert_eq!(got[0], data[99_990..]);
    assert_eq!(got[1], data[..3]);
    assert_eq!(got[2], data[50_000..60_000]);
    assert_eq!(source.name(), file.path().display().to_string());
    assert!(matches!(
        source.fetch(&[99_999..100_001]),
        Err(Error::OutOfBounds {
            end: 100_001,
            size: 100_000,
            ..
        })
    ));
    assert!(format!("{source:?}").starts_with("FileSource { name: "));
    // Shared by threads without a cursor.
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            let (source, data) = (&source, &data);
            scope.spawn(move || {
                for i in 0..50u64 {
                    let start = (t * 20_000 + i * 397) % 90_000;
                    let got = source.fetch(&[start..start + 1000]).expect("fetch");
                    assert_eq!(got[0], data[start as usize..start as usize + 1000]);
                }
            });
        }
    });
    Ok(())
}

#[test]
fn file_source_names_the_path_in_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("absent.bin");
    match FileSource::open(&path) {
        Err(err @ Error::Io { .. }) => {
            assert!(err.to_string().contains("absent.bin"), "{err}");
            assert_eq!(
                std::io::Error::from(err).kind(),
                std::io::ErrorKind::NotFound
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn references_boxes_and_arcs_are_sources() -> Result<(), Error> {
    fn size_of(source: impl RangeSource) -> Result<(u64, String, usize), Error> {
        Ok((source.size()?, source.name(), source.fetch(&[0..2])?.len()))
    }
    let source = MemorySource::new(vec![1; 4]);
    let want = (4, "memory".to_owned(), 1);
    assert_eq!(size_of(&source)?, want);
    assert_eq!(size_of(Arc::new(source.clone()))?, want);
    let boxed: Box<dyn RangeSource> = Box::new(source);
    assert_eq!(size_of(boxed)?, want);
    Ok(())
}

//! Failures: they reach the read that needed the bytes, are remembered, and never hide earlier bytes.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};

use byteshelf_stream_buffer::{Error, StreamBuffer};

fn failing_midway() -> StreamBuffer {
    let items: Vec<io::Result<&'static [u8]>> = vec![
        Ok(b"abcd"),
        Ok(b"efgh"),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "peer went away",
        )),
        Ok(b"ijkl"),
    ];
    StreamBuffer::from_chunks(items)
}

fn assert_source_error(result: Result<bytes::Bytes, Error>, offset: u64) {
    match result {
        Err(Error::Source { offset: at, source }) => {
            assert_eq!(at, offset);
            assert_eq!(source.kind(), io::ErrorKind::ConnectionReset);
        }
        other => panic!("expected a source error at {offset}, got {other:?}"),
    }
}

#[test]
fn the_error_surfaces_and_earlier_bytes_stay_readable() {
    let buffer = failing_midway();
    assert_eq!(&buffer.read(0, 4).unwrap()[..], b"abcd");
    // The read that triggers the failing pull gets the error, not a short Ok("gh").
    assert_source_error(buffer.read(6, 4), 8);
    assert_eq!(buffer.pulled(), 8);
    assert_eq!(&buffer.read(0, 8).unwrap()[..], b"abcdefgh");
    assert_eq!(&buffer.read(5, 3).unwrap()[..], b"fgh");
    // Remembered: later reads past the failure report it too, and the source is never resumed.
    assert_source_error(buffer.read(7, 2), 8);
    assert_source_error(buffer.read(8, 1), 8);
    assert_source_error(buffer.read(100, 1), 8);
    assert_source_error(buffer.slice(..), 8);
    assert!(matches!(
        buffer.pull_all(),
        Err(Error::Source { offset: 8, .. })
    ));
    assert!(!buffer.is_exhausted());
    assert_eq!(buffer.len(), None);
    assert_eq!(buffer.failure().and_then(Error::offset), Some(8));
    let message = buffer.failure().unwrap().to_string();
    assert!(
        message.contains("after 8 bytes") && message.contains("peer went away"),
        "{message}"
    );
}

#[test]
fn a_failing_reader_is_reported_through_the_cursor_with_its_kind() {
    struct Failing(u8);
    impl io::Read for Failing {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "slow network"));
            }
            self.0 -= 1;
            out[0] = b'x';
            Ok(1)
        }
    }
    let buffer = StreamBuffer::from_reader(Failing(3));
    let mut all = Vec::new();
    let error = io::Read::read_to_end(&mut buffer.cursor(), &mut all).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(all, b"xxx");
    assert_eq!(&buffer.read(0, 3).unwrap()[..], b"xxx");
}

#[test]
fn a_short_stream_mismatches_its_declared_length() {
    let buffer = StreamBuffer::builder()
        .known_len(10)
        .build_from_chunks([Ok::<_, io::Error>(b"abcdef")]);
    assert_eq!(buffer.len(), Some(10));
    assert_eq!(&buffer.read(0, 6).unwrap()[..], b"abcdef");
    let error = buffer.read(4, 4).unwrap_err();
    assert!(
        matches!(
            error,
            Error::LengthMismatch {
                declared: 10,
                actual: Some(6)
            }
        ),
        "{error:?}"
    );
    assert_eq!(io::Error::from(error).kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(&buffer.read(0, 6).unwrap()[..], b"abcdef");
    assert_eq!(buffer.len(), None);
}

#[test]
fn a_long_stream_mismatches_its_declared_length() {
    let buffer = StreamBuffer::builder()
        .known_len(6)
        .build_from_chunks([Ok::<_, io::Error>(b"abcd"), Ok(b"efgh")]);
    assert_eq!(&buffer.read(0, 2).unwrap()[..], b"ab");
    // Reads are clamped to the declared length, and the declared prefix is what the stream said it was.
    assert_eq!(&buffer.read(4, 10).unwrap()[..], b"ef");
    assert_eq!(&buffer.read(0, 6).unwrap()[..], b"abcdef");
    // The stream as a whole is refused.
    let error = buffer.failure().cloned().unwrap();
    assert!(
        matches!(
            error,
            Error::LengthMismatch {
                declared: 6,
                actual: None
            }
        ),
        "{error:?}"
    );
    assert_eq!(io::Error::from(error).kind(), io::ErrorKind::InvalidData);
    assert_eq!(buffer.len(), None);
    assert!(!buffer.is_exhausted());
    assert!(matches!(
        buffer.pull_all(),
        Err(Error::LengthMismatch { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    assert!(buffer.persist(dir.path().join("refused")).is_err());
    assert!(buffer.into_file().is_err());
}

#[test]
fn a_panicking_source_panics_the_puller_and_fails_everyone_else() {
    let mut calls = 0;
    let chunks = std::iter::from_fn(move || {
        calls += 1;
        match calls {
            1 => Some(Ok::<_, io::Error>(b"abcd".to_vec())),
            _ => panic!("source bug"),
        }
    });
    let buffer = StreamBuffer::from_chunks(chunks);
    assert_eq!(&buffer.read(0, 2).unwrap()[..], b"ab");
    let panicked = catch_unwind(AssertUnwindSafe(|| buffer.read(2, 4)));
    assert!(panicked.is_err());
    assert!(matches!(
        buffer.read(2, 4),
        Err(Error::SourcePanicked { offset: 4 })
    ));
    assert_eq!(&buffer.read(0, 4).unwrap()[..], b"abcd");
}

#[test]
fn a_spool_that_cannot_be_created_is_a_spool_error_at_the_offset() {
    let missing = std::env::temp_dir()
        .join("stream-buffer-no-such-dir")
        .join("nested");
    let data = crate::common::data(100);
    let buffer = StreamBuffer::builder()
        .memory_threshold(40)
        .spill_dir(&missing)
        .build_from_chunks(crate::common::chunks(&data, &[30]));
    assert_eq!(buffer.read(0, 30).unwrap(), &data[..30]);
    let error = buffer.read(0, 50).unwrap_err();
    assert!(
        matches!(error, Error::Spool { offset: 30, .. }),
        "{error:?}"
    );
    assert_eq!(buffer.read(0, 30).unwrap(), &data[..30]);
    assert!(matches!(
        buffer.read(35, 1),
        Err(Error::Spool { offset: 30, .. })
    ));
}

#[test]
fn messages_name_the_offset_or_path() {
    let short = Error::LengthMismatch {
        declared: 10,
        actual: Some(6),
    };
    assert_eq!(
        short.to_string(),
        "the stream was declared as 10 bytes but it ended after 6"
    );
    assert_eq!(short.offset(), Some(6));
    let long = Error::LengthMismatch {
        declared: 10,
        actual: None,
    };
    assert_eq!(
        long.to_string(),
        "the stream was declared as 10 bytes but it yielded more than 10"
    );
    assert_eq!(long.offset(), Some(10));
    let panicked = Error::SourcePanicked { offset: 3 };
    assert_eq!(panicked.to_string(), "the stream panicked after 3 bytes");
    let persist = Error::Persist {
        file: "/x/y.bin".into(),
        source: std::sync::Arc::new(io::Error::from(io::ErrorKind::PermissionDenied)),
    };
    assert!(
        persist
            .to_string()
            .starts_with("could not persist the stream to /x/y.bin: "),
        "{persist}"
    );
    assert_eq!(persist.offset(), None);
    assert_eq!(
        io::Error::from(persist).kind(),
        io::ErrorKind::PermissionDenied
    );
}

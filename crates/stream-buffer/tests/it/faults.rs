//! Fault injection: a reader that reads short, is interrupted, or fails at any chosen byte (in memory and past
//! the spill threshold), and a destination that cannot take the stream. Every error surfaces at its offset, the
//! bytes before it stay readable, and an existing destination is never damaged.

use std::fs;
use std::io::ErrorKind;

use byteshelf_stream_buffer::{Error, StreamBuffer};
use fault_injection::FaultyReader;

const LEN: usize = 5_000;
const THRESHOLD: usize = 1_000;

fn stream() -> Vec<u8> {
    (0..LEN).map(|i| (i * 13 + i / 256) as u8).collect()
}

fn buffer(reader: FaultyReader<std::io::Cursor<Vec<u8>>>) -> StreamBuffer {
    StreamBuffer::builder()
        .memory_threshold(THRESHOLD)
        .build_from_reader(reader)
}

#[test]
fn short_and_interrupted_reads_give_the_whole_stream() {
    for per_read in [1, 7, 999, 4_096] {
        let reader = FaultyReader::new(std::io::Cursor::new(stream()))
            .max_per_read(per_read)
            .interrupt_every(3);
        let buffer = buffer(reader);
        assert_eq!(buffer.read(4_000, 1_000).unwrap(), stream()[4_000..]);
        assert_eq!(buffer.read(0, LEN).unwrap(), stream());
        assert_eq!(buffer.pull_all().unwrap(), LEN as u64);
        assert!(buffer.is_spilled());
    }
}

#[test]
fn a_reader_failing_at_any_byte_keeps_the_bytes_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.bin");
    fs::write(&saved, b"old").unwrap();
    for fail_at in [
        0,
        1,
        THRESHOLD - 1,
        THRESHOLD,
        THRESHOLD + 1,
        3_333,
        LEN - 1,
    ] {
        let reader = FaultyReader::new(std::io::Cursor::new(stream()))
            .max_per_read(700)
            .fail_at(fail_at as u64, ErrorKind::ConnectionReset);
        let buffer = buffer(reader);
        let source_error_at = |result: Result<bytes::Bytes, Error>| match result {
            Err(Error::Source { offset, source }) => {
                assert_eq!(offset, fail_at as u64);
                assert_eq!(source.kind(), ErrorKind::ConnectionReset);
            }
            other => panic!("fail at {fail_at}: expected the source error, got {other:?}"),
        };
        source_error_at(buffer.read(fail_at as u64, 1));
        source_error_at(buffer.read(0, LEN));
        assert_eq!(
            buffer.read(0, fail_at).unwrap(),
            stream()[..fail_at],
            "fail at {fail_at}"
        );
        assert!(buffer.pull_all().is_err());
        assert!(buffer.persist(&saved).is_err());
        assert_eq!(
            fs::read(&saved).unwrap(),
            b"old",
            "fail at {fail_at}: the destination was touched"
        );
        assert!(buffer.failure().is_some() && buffer.len().is_none());
        // The failure is sticky: asking again does not poll the source again or change the answer.
        source_error_at(buffer.slice(fail_at as u64..));
    }
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left behind"
    );
}

#[test]
fn persist_onto_a_directory_fails_and_leaves_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("occupied");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("inside.txt"), b"keep me").unwrap();
    let buffer = StreamBuffer::builder()
        .memory_threshold(THRESHOLD)
        .build_from_chunks([std::io::Result::Ok(stream())]);
    match buffer.persist(&target) {
        Err(Error::Persist { file, .. }) => assert_eq!(file, target),
        other => panic!("expected a persist error, got {other:?}"),
    }
    assert_eq!(fs::read(target.join("inside.txt")).unwrap(), b"keep me");
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left behind"
    );
    // The buffer is still whole and can be saved elsewhere.
    let elsewhere = dir.path().join("saved.bin");
    assert_eq!(buffer.persist(&elsewhere).unwrap(), LEN as u64);
    assert_eq!(fs::read(&elsewhere).unwrap(), stream());
}

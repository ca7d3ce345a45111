//! The wrappers misbehave exactly as configured, and pass everything through otherwise.

// Lists of one range (`[0..4]`) are fetch requests of one range, not mistaken `(0..4)`.
#![allow(clippy::single_range_in_vec_init)]

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use fault_injection::{FaultyReader, FaultySource, FaultyWriter, SourceFault};
use sparse_buffer::{Error, MemorySource, RangeSource};

#[test]
fn writer_budget_short_writes_zero_and_flush() {
    let mut w = FaultyWriter::new(Vec::new()).fail_after(5, ErrorKind::StorageFull);
    assert_eq!(w.write(b"abc").unwrap(), 3);
    assert_eq!(w.write(b"defg").unwrap(), 2);
    assert_eq!(w.write(b"x").unwrap_err().kind(), ErrorKind::StorageFull);
    assert_eq!(w.write(b"").unwrap(), 0);
    assert_eq!((w.written(), w.calls()), (5, 4));
    assert_eq!(w.into_inner(), b"abcde");

    let mut w = FaultyWriter::new(Vec::new()).max_per_write(2);
    w.write_all(b"hello").unwrap();
    assert_eq!(w.calls(), 3);
    assert_eq!(w.get_ref(), b"hello");

    let mut w = FaultyWriter::new(Vec::new()).zero_after(2);
    assert_eq!(
        w.write_all(b"abc").unwrap_err().kind(),
        ErrorKind::WriteZero
    );

    let mut w = FaultyWriter::new(Vec::new()).fail_flush(ErrorKind::Other);
    w.write_all(b"ok").unwrap();
    assert!(w.flush().is_err());
}

#[test]
fn reader_failure_short_reads_and_interruptions() {
    let data: Vec<u8> = (0..100).collect();
    let mut r = FaultyReader::new(&data[..])
        .fail_at(10, ErrorKind::BrokenPipe)
        .max_per_read(3);
    let mut buf = [0; 8];
    assert_eq!(r.read(&mut buf).unwrap(), 3);
    let mut rest = Vec::new();
    let err = r.read_to_end(&mut rest).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    assert_eq!(rest, (3..10).collect::<Vec<u8>>());
    assert_eq!(r.delivered(), 10);

    let mut r = FaultyReader::new(&data[..])
        .interrupt_every(2)
        .max_per_read(7);
    let mut all = Vec::new();
    r.read_to_end(&mut all).unwrap(); // read_to_end retries Interrupted
    assert_eq!(all, data);
}

#[test]
fn source_faults_on_chosen_calls() {
    let source = FaultySource::new(MemorySource::new((0..=255u8).collect::<Vec<u8>>()))
        .on_call(1, SourceFault::Fail)
        .on_call(2, SourceFault::Short)
        .on_call(3, SourceFault::WrongCount)
        .on_call(4, SourceFault::Stall(Duration::from_millis(30)));
    assert_eq!(source.fetch(&[0..4]).unwrap()[0][..], [0, 1, 2, 3]);
    assert!(matches!(source.fetch(&[0..4]), Err(Error::Io { .. })));
    assert_eq!(
        source
            .fetch(&[0..4, 10..12])
            .unwrap()
            .iter()
            .map(|b| b.len())
            .collect::<Vec<_>>(),
        [3, 1]
    );
    assert_eq!(source.fetch(&[0..4, 10..12]).unwrap().len(), 1);
    let start = Instant::now();
    assert_eq!(source.fetch(&[5..6]).unwrap()[0][..], [5]);
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(source.calls(), 5);
    assert!(source.name().contains("faulty"));

    let source = FaultySource::new(MemorySource::new(vec![7; 10]))
        .every(2, SourceFault::Fail)
        .fail_size();
    assert!(source.size().is_err());
    assert!(source.fetch(&[0..1]).is_ok());
    assert!(source.fetch(&[0..1]).is_err());
    source.heal();
    assert_eq!(source.size().unwrap(), 10);
    assert!(source.fetch(&[0..1]).is_ok());
    assert_eq!(source.inner().size().unwrap(), 10);
}

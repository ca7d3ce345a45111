//! Exact read semantics, including the cases where the reference implementations return wrong bytes.

use std::io;

use byteshelf_stream_buffer::StreamBuffer;

use crate::common::{chunks, data, expected};

fn abcdefgh() -> StreamBuffer {
    StreamBuffer::from_chunks(["abcd", "efgh"].map(|c| Ok::<_, io::Error>(c.as_bytes())))
}

#[test]
fn reads_ahead_of_the_pulled_part_start_at_the_offset() {
    // Each case on a fresh buffer: the Python package gets all but the last wrong.
    let cases: [(u64, usize, &[u8]); 6] = [
        (5, 2, b"fg"),
        (4, 2, b"ef"),
        (1, 2, b"bc"),
        (6, 5, b"gh"),
        (8, 1, b""),
        (20, 3, b""),
    ];
    for (offset, len, want) in cases {
        let buffer = abcdefgh();
        assert_eq!(
            buffer.read(offset, len).unwrap(),
            want,
            "read({offset}, {len})"
        );
        assert_eq!(
            &buffer.read(0, 8).unwrap()[..],
            b"abcdefgh",
            "after read({offset}, {len})"
        );
    }
}

#[test]
fn pulls_only_as_far_as_needed() {
    let buffer = abcdefgh();
    assert_eq!(buffer.pulled(), 0);
    assert_eq!(&buffer.read(1, 2).unwrap()[..], b"bc");
    assert_eq!(buffer.pulled(), 4);
    assert!(!buffer.is_exhausted());
    assert_eq!(buffer.len(), None);
    assert_eq!(&buffer.read(2, 4).unwrap()[..], b"cdef"); // straddles the pulled part
    assert_eq!(buffer.pulled(), 8);
    assert!(!buffer.is_exhausted()); // the end has not been seen yet
    assert_eq!(&buffer.read(6, 10).unwrap()[..], b"gh");
    assert!(buffer.is_exhausted());
    assert_eq!(buffer.len(), Some(8));
    assert!(!buffer.is_empty());
}

#[test]
fn zero_length_reads_pull_nothing() {
    let buffer = abcdefgh();
    assert_eq!(&buffer.read(0, 0).unwrap()[..], b"");
    assert_eq!(&buffer.read(3, 0).unwrap()[..], b"");
    assert_eq!(buffer.read_into(3, &mut []).unwrap(), 0);
    assert_eq!(buffer.pulled(), 0);
}

#[test]
fn extreme_offsets_and_lengths_are_clamped() {
    let buffer = abcdefgh();
    assert_eq!(&buffer.read(u64::MAX, usize::MAX).unwrap()[..], b"");
    assert_eq!(&buffer.read(7, usize::MAX).unwrap()[..], b"h");
    assert_eq!(&buffer.slice(u64::MAX..).unwrap()[..], b"");
}

#[test]
fn read_into_fills_what_exists() {
    let buffer = abcdefgh();
    let mut out = [0u8; 5];
    assert_eq!(buffer.read_into(5, &mut out).unwrap(), 3);
    assert_eq!(&out[..3], b"fgh");
    assert_eq!(buffer.read_into(2, &mut out).unwrap(), 5);
    assert_eq!(&out, b"cdefg");
    assert_eq!(buffer.read_into(9, &mut out).unwrap(), 0);
}

#[test]
fn slices_take_any_range() {
    let buffer = abcdefgh();
    assert_eq!(&buffer.slice(2..5).unwrap()[..], b"cde");
    assert_eq!(&buffer.slice(..3).unwrap()[..], b"abc");
    assert_eq!(&buffer.slice(..=3).unwrap()[..], b"abcd");
    assert_eq!(&buffer.slice(5..).unwrap()[..], b"fgh");
    assert_eq!(&buffer.slice(..).unwrap()[..], b"abcdefgh");
    assert_eq!(&buffer.slice(6..100).unwrap()[..], b"gh");
    let (start, end) = (5, 2);
    assert_eq!(&buffer.slice(start..end).unwrap()[..], b"");
    assert_eq!(
        &buffer
            .slice((std::ops::Bound::Excluded(1), std::ops::Bound::Included(3)))
            .unwrap()[..],
        b"cd"
    );
}

#[test]
fn a_list_of_chunks_is_taken_once_never_restarted() {
    // Python restarts a re-iterable stream on every pull and spools `abcdabcd`.
    let buffer = StreamBuffer::from_chunks(vec![
        Ok::<_, io::Error>(b"abcd".to_vec()),
        Ok(b"efgh".to_vec()),
    ]);
    assert_eq!(&buffer.read(0, 4).unwrap()[..], b"abcd");
    assert_eq!(&buffer.read(4, 4).unwrap()[..], b"efgh");
    assert_eq!(&buffer.read(0, 8).unwrap()[..], b"abcdefgh");
}

#[test]
fn empty_chunks_and_interruptions_are_skipped() {
    let items: Vec<io::Result<&'static [u8]>> = vec![
        Ok(b""),
        Ok(b"ab"),
        Err(io::ErrorKind::Interrupted.into()),
        Ok(b""),
        Ok(b"c"),
        Ok(b""),
    ];
    let buffer = StreamBuffer::from_chunks(items);
    assert_eq!(&buffer.slice(..).unwrap()[..], b"abc");
    assert_eq!(buffer.len(), Some(3));
}

#[test]
fn empty_streams() {
    let buffer = StreamBuffer::from_chunks(std::iter::empty::<io::Result<Vec<u8>>>());
    assert_eq!(&buffer.read(0, 10).unwrap()[..], b"");
    assert!(buffer.is_exhausted());
    assert!(buffer.is_empty());
    let buffer = StreamBuffer::from_reader(io::empty());
    assert_eq!(buffer.pull_all().unwrap(), 0);
}

#[test]
fn readers_are_read_in_chunks() {
    let data = data(300_000);
    let buffer = StreamBuffer::builder()
        .memory_threshold(100_000)
        .build_from_reader(io::Cursor::new(data.clone()));
    assert_eq!(buffer.read(250_000, 10).unwrap(), &data[250_000..250_010]);
    assert!(
        buffer.pulled() < 300_000,
        "a reader is pulled in 64 KiB chunks, not to the end"
    );
    assert_eq!(buffer.slice(..).unwrap(), data);
}

#[test]
fn every_threshold_from_zero_up() {
    let data = data(50);
    for threshold in 0..=60 {
        let buffer = StreamBuffer::builder()
            .memory_threshold(threshold)
            .build_from_chunks(chunks(&data, &[3, 1, 7]));
        for (offset, len) in [
            (10, 5),
            (48, 9),
            (0, 3),
            (2, 40),
            (49, 1),
            (50, 1),
            (0, 50),
            (5, 0),
        ] {
            assert_eq!(
                buffer.read(offset, len).unwrap(),
                expected(&data, offset, len),
                "threshold {threshold}, read({offset}, {len})"
            );
        }
        assert_eq!(buffer.is_spilled(), threshold < 50, "threshold {threshold}");
        assert!(
            buffer.memory_bytes() <= threshold.max(1),
            "threshold {threshold}"
        );
    }
}

#[test]
fn known_len_is_reported_and_clamps_reads() {
    let data = data(1000);
    let buffer = StreamBuffer::builder()
        .known_len(1000)
        .build_from_chunks(chunks(&data, &[300]));
    assert_eq!(buffer.len(), Some(1000));
    assert_eq!(&buffer.read(1000, 5).unwrap()[..], b"");
    assert_eq!(
        buffer.pulled(),
        0,
        "a read past the declared length pulls nothing"
    );
    assert_eq!(buffer.read(990, 50).unwrap(), &data[990..]);
    assert!(
        buffer.is_exhausted(),
        "pulling stops at the declared length"
    );
}

#[test]
fn known_len_stops_pulling_without_polling_for_the_end() {
    // A source that would block forever after the declared bytes (like a kept-alive connection).
    let chunks =
        std::iter::once(Ok::<_, io::Error>(b"abcd".to_vec())).chain(std::iter::from_fn(|| {
            panic!("polled past the declared length");
        }));
    let buffer = StreamBuffer::builder()
        .known_len(4)
        .build_from_chunks(chunks);
    assert_eq!(&buffer.slice(..).unwrap()[..], b"abcd");
    assert_eq!(buffer.pull_all().unwrap(), 4);
}

#[test]
fn debug_output_shows_the_state() {
    let buffer = abcdefgh();
    buffer.read(0, 1).unwrap();
    let shown = format!("{buffer:?}");
    assert!(shown.contains("pulled: 4"), "{shown}");
    assert!(shown.contains("spilled: false"), "{shown}");
}

#[test]
fn one_huge_chunk_spans_blocks_pieces_and_both_tiers() {
    let data = data(5 * 1024 * 1024 + 77);
    for threshold in [0, 300_000, 2_500_001, 6 << 20] {
        let buffer = StreamBuffer::builder()
            .memory_threshold(threshold)
            .build_from_chunks([Ok::<_, io::Error>(data.clone())]);
        for (offset, len) in [
            (3_000_000, 10),
            (0, 5),
            (262_140, 10),
            (1_048_570, 2_000_000),
            (5_242_800, 1000),
        ] {
            assert_eq!(
                buffer.read(offset, len).unwrap(),
                expected(&data, offset, len),
                "threshold {threshold}, read({offset}, {len})"
            );
        }
        assert_eq!(buffer.slice(..).unwrap(), data);
        assert!(buffer.memory_bytes() <= threshold);
    }
}

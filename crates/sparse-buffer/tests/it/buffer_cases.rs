//! The cases recorded against roboto 0.62.0 (`sparse_buffer_cases.py`), where both behave alike, and the
//! deliberate differences.

use std::io::{self, Read, Seek, SeekFrom};

use sparse_buffer::{Error, ReadAt, SparseBuffer};

fn read(buffer: &mut SparseBuffer, len: usize) -> io::Result<Vec<u8>> {
    let mut out = vec![0; len];
    let n = buffer.read(&mut out)?;
    out.truncate(n);
    Ok(out)
}

/// Python's `read(-1)`: a read as long as the rest of the file.
fn read_rest(buffer: &mut SparseBuffer) -> io::Result<Vec<u8>> {
    let rest = buffer.size().saturating_sub(buffer.position());
    read(buffer, rest as usize)
}

fn regions(buffer: &SparseBuffer) -> Vec<(u64, u64)> {
    buffer.regions().map(|r| (r.start, r.end)).collect()
}

fn not_cached(result: io::Result<Vec<u8>>) -> (u64, Option<u64>) {
    match result.map_err(Error::from_io) {
        Err(Ok(Error::NotCached {
            offset,
            next_cached,
        })) => (offset, next_cached),
        other => panic!("expected NotCached, got {other:?}"),
    }
}

#[test]
fn basic_reads_are_partial_at_region_end() -> io::Result<()> {
    let mut b = SparseBuffer::new(20);
    b.add_region(0, &b"0123456789"[..])?;
    assert_eq!(read(&mut b, 4)?, b"0123");
    assert_eq!(read(&mut b, 10)?, b"456789");
    // roboto: b'' with pos unchanged; here a typed gap.
    assert_eq!(not_cached(read(&mut b, 5)), (10, None));
    assert_eq!(b.position(), 10);
    assert_eq!(b.seek(SeekFrom::Start(2))?, 2);
    assert_eq!(read_rest(&mut b)?, b"23456789");
    Ok(())
}

#[test]
fn newest_bytes_win() -> Result<(), Error> {
    type Adds<'a> = &'a [(u64, &'a [u8])];
    let cases: [(Adds<'_>, &[u8]); 6] = [
        (
            &[(0, b"AAAAAAAAAA"), (5, b"BBBBBBBBBB")],
            b"AAAAABBBBBBBBBB",
        ),
        (&[(5, b"AAAAAAAAAA"), (0, b"BBBBBBBB")], b"BBBBBBBBAAAAAAA"),
        (&[(0, b"AAAAAAAAAA"), (3, b"bb")], b"AAAbbAAAAA"),
        (&[(3, b"aa"), (0, b"BBBBBBBBBB")], b"BBBBBBBBBB"),
        (
            &[(0, b"AAAAA"), (10, b"CCCCC"), (3, b"bbbbbbbbb")],
            b"AAAbbbbbbbbbCCC",
        ),
        (&[(0, b"abc"), (6, b"ghi"), (3, b"def")], b"abcdefghi"),
    ];
    for (adds, want) in cases {
        let mut b = SparseBuffer::new(30);
        for &(offset, data) in adds {
            b.add_region_from_slice(offset, data)?;
        }
        assert_eq!(regions(&b), [(0, want.len() as u64)]);
        assert_eq!(b.find_region(0, want.len() as u64).as_deref(), Some(want));
    }
    Ok(())
}

#[test]
fn disjoint_regions_stay_sorted_and_empty_adds_do_nothing() -> Result<(), Error> {
    let mut b = SparseBuffer::new(40);
    b.add_region(30, &b"zz"[..])?;
    b.add_region(10, &b"yy"[..])?;
    b.add_region(0, &b"xx"[..])?;
    b.add_region(5, Vec::new())?;
    b.add_region(1000, Vec::new())?;
    assert_eq!(regions(&b), [(0, 2), (10, 12), (30, 32)]);
    assert_eq!(b.size(), 40);
    Ok(())
}

#[test]
fn reads_at_gaps_and_past_the_end() -> io::Result<()> {
    let mut b = SparseBuffer::new(20);
    b.add_region(5, &b"hello"[..])?;
    assert_eq!(read(&mut b, 0)?, b"");
    assert_eq!(not_cached(read(&mut b, 3)), (0, Some(5)));
    b.seek(SeekFrom::Start(5))?;
    assert_eq!(read_rest(&mut b)?, b"hello");
    assert_eq!(not_cached(read_rest(&mut b)), (10, None));
    b.seek(SeekFrom::Start(20))?;
    assert_eq!(read(&mut b, 5)?, b"");
    assert_eq!(b.seek(SeekFrom::Start(100))?, 100);
    assert_eq!(read(&mut b, 5)?, b"");
    assert_eq!(b.read_at(100, &mut [0; 4]), ReadAt::End);
    Ok(())
}

#[test]
fn seek_arithmetic_and_negative_positions() -> io::Result<()> {
    let mut b = SparseBuffer::new(10);
    b.add_region(0, &b"0123456789"[..])?;
    assert_eq!(b.seek(SeekFrom::Start(3))?, 3);
    assert_eq!(b.seek(SeekFrom::Current(2))?, 5);
    assert_eq!(read(&mut b, 2)?, b"56");
    assert_eq!(b.seek(SeekFrom::Current(-4))?, 3);
    assert_eq!(b.seek(SeekFrom::End(0))?, 10);
    assert_eq!(b.seek(SeekFrom::End(-1))?, 9);
    assert_eq!(read(&mut b, 10)?, b"9");
    // roboto accepts -3 and -90; here they are errors and the cursor stays.
    for from in [
        SeekFrom::Current(-13),
        SeekFrom::End(-100),
        SeekFrom::Current(i64::MIN),
    ] {
        let err = b.seek(from).expect_err("negative position");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(b.stream_position()?, 10);
    }
    b.seek(SeekFrom::Start(u64::MAX))?;
    assert_eq!(
        b.seek(SeekFrom::Current(1)).map_err(|e| e.kind()).err(),
        Some(io::ErrorKind::InvalidInput)
    );
    Ok(())
}

#[test]
fn regions_outside_the_file_are_rejected() {
    let mut b = SparseBuffer::new(10);
    for (offset, len) in [(5u64, 10usize), (10, 1), (u64::MAX, 2)] {
        match b.add_region(offset, vec![1; len]) {
            Err(Error::OutOfBounds {
                start, size: 10, ..
            }) => assert_eq!(start, offset),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            b.add_region_from_slice(offset, &vec![1; len]),
            Err(Error::OutOfBounds { .. })
        ));
    }
    assert!(b.is_empty());
    let message = b
        .add_region(5, vec![0; 10])
        .expect_err("past the end")
        .to_string();
    assert_eq!(
        message,
        "bytes 5..15 of sparse buffer lie outside the file (10 bytes)"
    );
}

#[test]
fn find_region_semantics() -> Result<(), Error> {
    let mut b = SparseBuffer::new(30);
    b.add_region(0, &b"0123456789"[..])?;
    b.add_region(20, &b"abcde"[..])?;
    assert_eq!(b.find_region(0, 10).as_deref(), Some(&b"0123456789"[..]));
    assert_eq!(b.find_region(2, 3).as_deref(), Some(&b"234"[..]));
    assert_eq!(b.find_region(5, 10), None);
    assert_eq!(b.find_region(15, 2), None);
    assert_eq!(b.find_region(10, 0).as_deref(), Some(&b""[..]));
    assert_eq!(b.find_region(15, 0), None);
    assert_eq!(b.find_region(25, 0).as_deref(), Some(&b""[..]));
    assert_eq!(b.find_region(22, 100), None);
    assert_eq!(b.find_region(0, 11), None);
    assert_eq!(b.find_region(u64::MAX, 2), None);
    // The cursor does not move.
    assert_eq!(b.position(), 0);
    Ok(())
}

#[test]
fn find_region_across_touching_chunks_and_zero_copy_inside_one() -> Result<(), Error> {
    let mut b = SparseBuffer::new(3000);
    let first: bytes::Bytes = (0..1000u32).map(|i| i as u8).collect();
    let second: bytes::Bytes = (0..1000u32).map(|i| (i * 3) as u8).collect();
    b.add_region(0, first.clone())?;
    b.add_region(1000, second.clone())?;
    let inside = b.find_region(2, 500).expect("cached");
    assert_eq!(
        inside.as_ptr(),
        first[2..].as_ptr(),
        "a slice of the stored chunk"
    );
    let across = b.find_region(900, 200).expect("cached");
    assert_eq!(across[..100], first[900..]);
    assert_eq!(across[100..], second[..100]);
    Ok(())
}

#[test]
fn tiny_touching_adds_are_joined_into_few_chunks() -> Result<(), Error> {
    let mut b = SparseBuffer::new(20_000);
    for i in 0..10_000u64 {
        b.add_region(i, vec![i as u8])?;
    }
    for i in (10_000..20_000u64).rev() {
        b.add_region(i, vec![i as u8])?;
    }
    assert_eq!(b.regions().collect::<Vec<_>>(), [0..20_000]);
    // Joined chunks of up to 4 KiB: 20,000 bytes in 5 or 6 chunks, not 20,000.
    let debug = format!("{b:?}");
    let chunks: usize = debug
        .rsplit("chunks: ")
        .next()
        .and_then(|rest| rest.trim_end_matches(" }").parse().ok())
        .expect("chunk count in Debug");
    assert!((5..=6).contains(&chunks), "{debug}");
    let all = b.find_region(0, 20_000).expect("one region");
    assert!(all.iter().enumerate().all(|(i, &byte)| byte == i as u8));
    Ok(())
}

#[test]
fn clear_keeps_position_and_size() -> io::Result<()> {
    let mut b = SparseBuffer::new(10);
    b.add_region(0, &b"0123456789"[..])?;
    b.seek(SeekFrom::Start(4))?;
    b.clear();
    assert_eq!(b.position(), 4);
    assert_eq!(b.size(), 10);
    assert_eq!(not_cached(read(&mut b, 2)), (4, None));
    assert!(b.is_empty());
    Ok(())
}

#[test]
fn read_at_stops_at_the_file_end_and_crosses_touching_chunks() -> Result<(), Error> {
    let mut b = SparseBuffer::new(12);
    b.add_region(0, &b"abcd"[..])?;
    b.add_region(4, &b"efgh"[..])?;
    b.add_region(8, &b"ijkl"[..])?;
    let mut out = [0; 20];
    assert_eq!(b.read_at(2, &mut out), ReadAt::Data(10));
    assert_eq!(&out[..10], b"cdefghijkl");
    assert_eq!(b.read_at(2, &mut []), ReadAt::Data(0));
    assert_eq!(b.read_at(12, &mut out), ReadAt::End);
    Ok(())
}

#[test]
fn errors_cross_io_and_back() {
    let err: io::Error = Error::NotCached {
        offset: 7,
        next_cached: None,
    }
    .into();
    assert_eq!(err.kind(), io::ErrorKind::Other);
    assert_eq!(
        err.to_string(),
        "byte 7 is not cached (next cached byte: none)"
    );
    assert!(matches!(
        Error::from_io(err),
        Ok(Error::NotCached { offset: 7, .. })
    ));
    let plain = io::Error::new(io::ErrorKind::NotFound, "plain");
    assert_eq!(
        Error::from_io(plain).map_err(|e| e.kind()).err(),
        Some(io::ErrorKind::NotFound)
    );
    let short: io::Error = Error::ShortFetch {
        name: "f".into(),
        start: 0,
        end: 10,
        got: 3,
    }
    .into();
    assert_eq!(short.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(
        short.to_string(),
        "f returned 3 bytes for bytes 0..10 (10 asked)"
    );
}

#[test]
fn debug_shows_the_shape_not_the_bytes() -> Result<(), Error> {
    let mut b = SparseBuffer::new(1 << 20);
    b.add_region(0, vec![0; 1000])?;
    assert_eq!(
        format!("{b:?}"),
        "SparseBuffer { size: 1048576, position: 0, cached_bytes: 1000, chunks: 1 }"
    );
    b.add_region(1000, vec![1; 10])?;
    b.add_region(2000, vec![2; 10])?;
    assert_eq!(format!("{:?}", b.regions()), "[0..1010, 2000..2010]");
    Ok(())
}

#[test]
fn many_reads_without_a_change_then_a_change() -> Result<(), Error> {
    // 100 chunks of 10 bytes with gaps; 1,000 reads switch the buffer to its flat copy of the chunks, and the
    // changes after them must be seen by the reads that follow.
    let mut buffer = SparseBuffer::new(2_000);
    for i in 0..100u8 {
        buffer.add_region(20 * u64::from(i), vec![i; 10])?;
    }
    let mut out = [0; 16];
    for round in 0..10u64 {
        for i in 0..100u8 {
            let at = 20 * u64::from(i) + round;
            assert_eq!(
                buffer.read_at(at, &mut out),
                ReadAt::Data(10 - round as usize)
            );
            assert!(out[..10 - round as usize].iter().all(|&b| b == i));
            assert_eq!(
                buffer.read_at(at + 10 - round, &mut out),
                ReadAt::Gap {
                    next_cached: (i < 99).then(|| 20 * u64::from(i) + 20)
                }
            );
        }
    }
    // Bridge the gap after chunk 0: a read at 5 now runs through three touching chunks.
    buffer.add_region(10, vec![0xaa; 10])?;
    assert_eq!(buffer.read_at(5, &mut out), ReadAt::Data(16));
    assert_eq!(
        &out[..],
        &[[0u8; 5].as_slice(), &[0xaa; 10], &[1]].concat()[..]
    );
    for _ in 0..300 {
        assert_eq!(buffer.read_at(5, &mut out), ReadAt::Data(16));
    }
    assert_eq!(buffer.remove(0..15), 15);
    assert_eq!(
        buffer.read_at(5, &mut out),
        ReadAt::Gap {
            next_cached: Some(15)
        }
    );
    buffer.clear();
    assert_eq!(
        buffer.read_at(25, &mut out),
        ReadAt::Gap { next_cached: None }
    );
    Ok(())
}

//! The `Read + Seek` cursor.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use byteshelf_stream_buffer::{StreamBuffer, StreamCursor};

use crate::common::{chunks, data};

#[test]
fn reads_and_seeks_like_a_file() {
    let data = data(10_000);
    let buffer = StreamBuffer::builder()
        .memory_threshold(3000)
        .build_from_chunks(chunks(&data, &[777]));
    let mut cursor = buffer.cursor();
    let mut head = [0u8; 100];
    cursor.read_exact(&mut head).unwrap();
    assert_eq!(head, data[..100]);
    assert_eq!(cursor.stream_position().unwrap(), 100);
    assert_eq!(cursor.seek(SeekFrom::Current(-50)).unwrap(), 50);
    cursor.read_exact(&mut head).unwrap();
    assert_eq!(head, data[50..150]);
    assert_eq!(cursor.seek(SeekFrom::Start(9_950)).unwrap(), 9_950);
    let mut tail = Vec::new();
    cursor.read_to_end(&mut tail).unwrap();
    assert_eq!(tail, data[9_950..]);
    assert_eq!(cursor.seek(SeekFrom::End(-10)).unwrap(), 9_990);
    assert_eq!(cursor.seek(SeekFrom::End(5)).unwrap(), 10_005);
    assert_eq!(cursor.read(&mut head).unwrap(), 0);
}

#[test]
fn seek_from_end_pulls_the_stream_when_the_length_is_unknown() {
    let buffer = StreamBuffer::from_chunks(chunks(&data(500), &[64]));
    let mut cursor = buffer.cursor();
    assert_eq!(cursor.seek(SeekFrom::End(0)).unwrap(), 500);
    assert!(buffer.is_exhausted());
}

#[test]
fn negative_positions_are_invalid_input() {
    let buffer = StreamBuffer::from_chunks(chunks(&data(10), &[4]));
    let mut cursor = buffer.cursor();
    cursor.set_position(3);
    assert_eq!(
        cursor.seek(SeekFrom::Current(-4)).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    assert_eq!(
        cursor.seek(SeekFrom::End(-11)).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    assert_eq!(
        cursor.position(),
        3,
        "a failed seek does not move the cursor"
    );
}

#[test]
fn owned_cursors_share_one_buffer() {
    let data = data(4096);
    let buffer = Arc::new(StreamBuffer::from_chunks(chunks(&data, &[100])));
    let mut first = StreamCursor::new(Arc::clone(&buffer));
    let mut second = StreamCursor::new(Arc::clone(&buffer));
    second.seek(SeekFrom::Start(4000)).unwrap();
    let mut a = [0u8; 96];
    let mut b = [0u8; 96];
    second.read_exact(&mut b).unwrap();
    first.read_exact(&mut a).unwrap();
    assert_eq!(a, data[..96]);
    assert_eq!(b, data[4000..]);
    assert!(Arc::ptr_eq(&first.into_inner(), &buffer));
}

#[derive(Debug, Clone)]
enum Op {
    Read(usize),
    Start(u64),
    Current(i64),
    End(i64),
}

fn op() -> impl proptest::strategy::Strategy<Value = Op> {
    use proptest::prelude::*;
    prop_oneof![
        (0..3000usize).prop_map(Op::Read),
        (0..2500u64).prop_map(Op::Start),
        (-2500..2500i64).prop_map(Op::Current),
        (-2500..200i64).prop_map(Op::End),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

    /// The cursor behaves like `std::io::Cursor` over the whole stream, whatever has been pulled.
    #[test]
    fn behaves_like_std_cursor(len in 0..2000usize, chunk in 1..300usize, threshold in 0..2500usize,
                               ops in proptest::collection::vec(op(), 1..30)) {
        let data = data(len);
        let buffer = StreamBuffer::builder().memory_threshold(threshold).build_from_chunks(chunks(&data, &[chunk]));
        let mut ours = buffer.cursor();
        let mut model = io::Cursor::new(data.clone());
        for op in ops {
            match op {
                Op::Read(n) => {
                    let (mut a, mut b) = (vec![0; n], vec![0; n]);
                    let got = ours.read(&mut a).unwrap();
                    let want = model.read(&mut b).unwrap();
                    proptest::prop_assert_eq!(got, want);
                    proptest::prop_assert_eq!(&a[..got], &b[..want]);
                }
                Op::Start(to) => proptest::prop_assert_eq!(
                    ours.seek(SeekFrom::Start(to)).unwrap(), model.seek(SeekFrom::Start(to)).unwrap()),
                Op::Current(by) | Op::End(by) => {
                    let whence = if matches!(op, Op::Current(_)) { SeekFrom::Current(by) } else { SeekFrom::End(by) };
                    match (ours.seek(whence), model.seek(whence)) {
                        (Ok(a), Ok(b)) => proptest::prop_assert_eq!(a, b),
                        (Err(a), Err(b)) => proptest::prop_assert_eq!(a.kind(), b.kind()),
                        (a, b) => proptest::prop_assert!(false, "{:?} vs {:?}", a, b),
                    }
                }
            }
            proptest::prop_assert_eq!(ours.position(), model.position());
        }
    }
}

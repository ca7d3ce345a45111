//! The `Read + Seek` cursor.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use stream_buffer::{StreamBuffer, StreamCursor};

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

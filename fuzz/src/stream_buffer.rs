//! StreamBuffer over a stream cut into any chunks, with any memory threshold, maybe failing at a chosen byte:
//! every read before the failure equals the stream, and every read that needs a byte past it is an error.

use std::io::{self, Read, Seek, SeekFrom};

use stream_buffer::StreamBuffer;

use crate::input::{Input, pattern};

/// The `stream_buffer` target.
pub fn stream_buffer(data: &[u8]) {
    let mut input = Input::new(data);
    let total = input.u16() % 8192;
    let threshold = input.u16() as usize % 4096;
    let fail_at = match input.byte() % 4 {
        0 => Some(input.u16() % (total + 1)),
        _ => None,
    };
    let stream = &pattern()[..total as usize];
    let mut chunks: Vec<io::Result<Vec<u8>>> = Vec::new();
    let mut at = 0u64;
    while at < total {
        let len = (input.u16() % 1500).min(total - at);
        let end = at + len;
        if let Some(fail) = fail_at
            && fail < end.max(at + 1)
        {
            if fail > at {
                chunks.push(Ok(stream[at as usize..fail as usize].to_vec()));
            }
            chunks.push(Err(io::Error::other("injected fault")));
            break;
        }
        chunks.push(Ok(stream[at as usize..end as usize].to_vec()));
        at = end;
        if len == 0 {
            chunks.push(Err(io::Error::from(io::ErrorKind::Interrupted)));
            if input.is_empty() {
                // Finish the stream in one chunk so that it always ends.
                chunks.push(Ok(stream[at as usize..].to_vec()));
                at = total;
            }
        }
    }
    // Bytes that can ever be read: the whole stream, or what precedes the fault.
    let failed = fail_at.is_some_and(|f| f < total);
    let good = if failed {
        fail_at.unwrap_or(total)
    } else {
        total
    };
    let buffer = StreamBuffer::builder()
        .memory_threshold(threshold)
        .build_from_chunks(chunks);
    let check = |offset: u64, len: u64, got: Result<Vec<u8>, stream_buffer::Error>| {
        let from = offset.min(total) as usize;
        let to = (offset + len).min(total) as usize;
        match got {
            Ok(bytes) if len == 0 => assert!(bytes.is_empty()),
            Err(_) if len == 0 => assert!(failed, "empty read failed without a fault"),
            Ok(bytes) => {
                assert!(
                    !failed || offset + len <= good,
                    "read {offset}+{len} past the fault at {good} succeeded"
                );
                assert_eq!(bytes, stream[from..to.max(from)], "read {offset}+{len}");
            }
            Err(_) => assert!(
                failed && offset + len > good,
                "read {offset}+{len} failed before the fault"
            ),
        }
    };
    while !input.is_empty() {
        let op = input.byte() % 5;
        let offset = input.u16() % (total + 64);
        let len = input.u16() % 2000;
        match op {
            0 => check(
                offset,
                len,
                buffer.read(offset, len as usize).map(Vec::from),
            ),
            1 => {
                let mut out = vec![0; len as usize];
                let got = buffer
                    .read_into(offset, &mut out)
                    .map(|n| out[..n].to_vec());
                check(offset, len, got);
            }
            2 => check(
                offset,
                len,
                buffer.slice(offset..offset + len).map(Vec::from),
            ),
            3 => {
                let mut cursor = buffer.cursor();
                cursor.seek(SeekFrom::Start(offset)).expect("seek");
                let mut out = vec![0; len as usize];
                let got = cursor.read(&mut out).map(|n| out[..n].to_vec());
                if let Ok(bytes) = &got {
                    // A cursor may return fewer bytes than asked; what it returns is the stream.
                    let from = offset.min(total) as usize;
                    assert_eq!(bytes[..], stream[from..from + bytes.len()]);
                    assert!(
                        !bytes.is_empty()
                            || len == 0
                            || offset >= total
                            || (failed && offset >= good)
                    );
                } else {
                    assert!(failed, "cursor read failed without a fault");
                }
            }
            _ => match buffer.pull_all() {
                Ok(n) => {
                    assert!(!failed);
                    assert_eq!(n, total);
                }
                Err(_) => assert!(failed),
            },
        }
        assert!(buffer.pulled() <= good);
    }
}

//! StreamBuffer over a stream cut into any chunks, with any memory threshold, maybe failing at a chosen byte:
//! every read before the failure equals the stream, and every read that needs a byte past it is an error.
#![no_main]

use std::io::{self, Read, Seek, SeekFrom};

use libfuzzer_sys::fuzz_target;
use stream_buffer::StreamBuffer;

/// Reads the fuzzer's bytes as a stream of small numbers (zero once exhausted).
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }
    fn u16(&mut self) -> u64 {
        u64::from(u16::from_le_bytes([self.byte(), self.byte()]))
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let total = input.u16() % 8192;
    let threshold = input.u16() as usize % 4096;
    let fail_at = match input.byte() % 4 {
        0 => Some(input.u16() % (total + 1)),
        _ => None,
    };
    let stream: Vec<u8> = (0..total).map(|i| (i * 7 + i / 251) as u8).collect();
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
            if input.0.is_empty() {
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
    while !input.0.is_empty() {
        let op = input.byte() % 5;
        let offset = input.u16() % (total + 64);
        let len = input.u16() % 2000;
        match op {
            0 => check(offset, len, buffer.read(offset, len as usize)),
            1 => {
                let mut out = vec![0; len as usize];
                let got = buffer
                    .read_into(offset, &mut out)
                    .map(|n| out[..n].to_vec());
                check(offset, len, got);
            }
            2 => check(offset, len, buffer.slice(offset..offset + len)),
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
});

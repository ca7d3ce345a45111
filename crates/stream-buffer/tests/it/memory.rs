//! Bounded memory: streaming 512 MiB through a 5 MiB threshold keeps the buffer's own memory near 5 MiB.

use std::io;
use std::sync::Arc;

use byteshelf_stream_buffer::{DEFAULT_MEMORY_THRESHOLD, StreamBuffer};

/// Chunk length: odd, so chunk boundaries fall everywhere relative to memory blocks and pages.
const CHUNK: usize = 1_048_573;
const TOTAL: u64 = 512 * 1024 * 1024;

fn pattern(j: usize) -> u8 {
    (j.wrapping_mul(31) ^ (j >> 9)) as u8
}

/// Byte `i` of the stream: every chunk is the same pattern, except the last, which is cut short.
fn byte_at(i: u64) -> u8 {
    pattern((i % CHUNK as u64) as usize)
}

#[test]
fn streaming_512_mib_with_a_5_mib_threshold_stays_near_the_threshold() {
    let chunk: Arc<[u8]> = (0..CHUNK).map(pattern).collect();
    let mut left = TOTAL;
    // The source hands out the same shared chunk again and again, so the test itself holds 1 MiB.
    let chunks = std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let take = left.min(CHUNK as u64) as usize;
        left -= take as u64;
        Some(Ok::<_, io::Error>(SharedPrefix(Arc::clone(&chunk), take)))
    });
    let buffer = StreamBuffer::from_chunks(chunks);
    let limit = DEFAULT_MEMORY_THRESHOLD + 64 * 1024;
    let mut peak = 0;
    for step in 1..=8u64 {
        let offset = TOTAL / 8 * step - 4000;
        let got = buffer.read(offset, 8000).unwrap();
        let want: Vec<u8> = (offset..(offset + 8000).min(TOTAL)).map(byte_at).collect();
        assert_eq!(got, want, "read at {offset}");
        peak = peak.max(buffer.memory_bytes());
        assert!(
            buffer.memory_bytes() <= limit,
            "{} bytes after {offset}",
            buffer.memory_bytes()
        );
    }
    assert_eq!(buffer.len(), Some(TOTAL));
    assert!(
        peak >= DEFAULT_MEMORY_THRESHOLD,
        "the memory tier is used up to the threshold: {peak}"
    );
    // Spot checks across the memory tier, its edge, and the spool file.
    for offset in [
        0,
        1,
        5 * 1024 * 1024 - 3,
        5 * 1024 * 1024,
        77_777_777,
        300_000_001,
        TOTAL - 9,
    ] {
        let got = buffer.read(offset, 9).unwrap();
        let want: Vec<u8> = (offset..(offset + 9).min(TOTAL)).map(byte_at).collect();
        assert_eq!(got, want, "read at {offset}");
    }
}

/// The first `.1` bytes of a shared chunk.
struct SharedPrefix(Arc<[u8]>, usize);

impl AsRef<[u8]> for SharedPrefix {
    fn as_ref(&self) -> &[u8] {
        &self.0[..self.1]
    }
}

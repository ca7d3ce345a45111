//! Property tests: random chunkings, thresholds and read sequences against ground truth.

use std::io;

use byteshelf_stream_buffer::StreamBuffer;
use proptest::collection::vec;
use proptest::prelude::*;

use crate::common::{chunks, data, expected};

const MIB: usize = 1024 * 1024;

/// Chunk sizes from 1 byte to 1 MiB, and a stream length that keeps the number of chunks moderate.
fn chunking() -> impl Strategy<Value = (Vec<usize>, usize)> {
    prop_oneof![
        vec(1..=8usize, 1..6),
        vec(1..=4096usize, 1..6),
        vec(1..=MIB, 1..4)
    ]
    .prop_flat_map(|sizes| {
        let largest = sizes.iter().copied().max().unwrap_or(1);
        let len = (largest * 12).min(3 * MIB);
        (Just(sizes), 0..=len)
    })
}

/// A threshold from 0 up: none, tiny, somewhere inside the stream, exactly its length, or the default.
fn threshold(len: usize, kind: u8, fraction: f64) -> usize {
    match kind {
        0 => 0,
        1 => 1,
        2 => (len as f64 * fraction) as usize,
        3 => len,
        4 => len + 1,
        _ => byteshelf_stream_buffer::DEFAULT_MEMORY_THRESHOLD,
    }
}

/// End of the chunk that holds byte `want - 1`: as far as the buffer may pull to serve a read ending at `want`.
fn pull_limit(sizes: &[usize], len: usize, want: u64) -> u64 {
    let mut at = 0u64;
    let mut i = 0;
    while at < want.min(len as u64) {
        at = (at + sizes[i % sizes.len()] as u64).min(len as u64);
        i += 1;
    }
    at
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn reads_in_any_order_match_ground_truth(
        (sizes, len) in chunking(),
        threshold_kind in 0..6u8,
        threshold_fraction in 0.0..1.0f64,
        reads in vec((0.0..1.2f64, prop_oneof![0..64usize, 0..4 * MIB], any::<bool>()), 1..24),
    ) {
        let data = data(len);
        let threshold = threshold(len, threshold_kind, threshold_fraction);
        let buffer = StreamBuffer::builder().memory_threshold(threshold).build_from_chunks(chunks(&data, &sizes));
        let mut furthest = 0u64;
        for (offset_fraction, read_len, into) in reads {
            let offset = (len as f64 * offset_fraction) as u64;
            let want = expected(&data, offset, read_len);
            if into {
                let mut out = vec![0xEE; read_len.min(len + 8)];
                let n = buffer.read_into(offset, &mut out).unwrap();
                prop_assert_eq!(&out[..n], expected(&data, offset, out.len()));
            } else {
                let got = buffer.read(offset, read_len).unwrap();
                prop_assert_eq!(got.len(), want.len());
                prop_assert!(got == want, "read({}, {}) differs", offset, read_len);
            }
            furthest = furthest.max(offset.saturating_add(read_len as u64));
            prop_assert!(buffer.pulled() <= pull_limit(&sizes, len, furthest), "pulled more than needed");
            prop_assert!(buffer.memory_bytes() <= threshold);
        }
        prop_assert_eq!(buffer.slice(..).unwrap(), data);
        prop_assert_eq!(buffer.len(), Some(len as u64));
        prop_assert_eq!(buffer.is_spilled(), len > threshold);
    }

    #[test]
    fn readers_match_ground_truth(
        len in 0..300_000usize,
        threshold in prop_oneof![Just(0usize), 0..300_000usize],
        reads in vec((0..320_000u64, 0..100_000usize), 1..12),
    ) {
        let data = data(len);
        let buffer = StreamBuffer::builder().memory_threshold(threshold).build_from_reader(io::Cursor::new(data.clone()));
        for (offset, read_len) in reads {
            prop_assert!(buffer.read(offset, read_len).unwrap() == expected(&data, offset, read_len));
        }
    }
}

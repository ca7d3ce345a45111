//! What the scripted targets share: the fuzzer's bytes read as small numbers, and the byte pattern of their
//! synthetic files and streams.

use std::sync::OnceLock;

/// Reads the fuzzer's bytes as a stream of small numbers (zero once exhausted).
#[derive(Debug)]
pub(crate) struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self(data)
    }

    /// Whether every byte has been read (the scripts run until then).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }

    pub(crate) fn u16(&mut self) -> u64 {
        u64::from(u16::from_le_bytes([self.byte(), self.byte()]))
    }

    pub(crate) fn u64(&mut self) -> u64 {
        u64::from_le_bytes(std::array::from_fn(|_| self.byte()))
    }
}

/// How many bytes of the pattern [`pattern`] holds: enough for every synthetic file and stream.
const PATTERN_LEN: usize = 1 << 18;

/// The bytes of the synthetic files and streams: byte `i` is `(i * 2654435761) >> 13`, truncated, a pattern in
/// which a shifted or misplaced run of bytes shows. Computed once per process, so that a fuzz input does not pay
/// for it (the harness code is instrumented too).
pub(crate) fn pattern() -> &'static [u8] {
    static PATTERN: OnceLock<Vec<u8>> = OnceLock::new();
    PATTERN.get_or_init(|| {
        (0..PATTERN_LEN as u64)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect()
    })
}

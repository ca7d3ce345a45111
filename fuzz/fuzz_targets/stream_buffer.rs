//! The `stream_buffer` fuzz target: its body is `byteshelf_fuzz::stream_buffer` (src/stream_buffer.rs), replayed by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| byteshelf_fuzz::stream_buffer(data));

//! The `sparse_buffer` fuzz target: its body is `byteshelf_fuzz::sparse_buffer` (src/sparse_buffer.rs), replayed by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| byteshelf_fuzz::sparse_buffer(data));

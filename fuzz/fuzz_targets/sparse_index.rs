//! The `sparse_index` fuzz target: its body is `byteshelf_fuzz::sparse_index` (src/sparse_index.rs), replayed by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| byteshelf_fuzz::sparse_index(data));

//! The `range_reader` fuzz target: its body is `byteshelf_fuzz::range_reader` (src/range_reader.rs), replayed by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| byteshelf_fuzz::range_reader(data));

//! The `intmap` fuzz target: its body is `byteshelf_fuzz::intmap` (src/intmap.rs), replayed by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| byteshelf_fuzz::intmap(data));

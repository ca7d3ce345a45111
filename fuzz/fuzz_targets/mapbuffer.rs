//! The `mapbuffer` fuzz target: its body is `byteshelf_fuzz::mapbuffer` (src/mapbuffer.rs), replayed by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| byteshelf_fuzz::mapbuffer(data));

//! The `roxxel_shard` fuzz target: its body is `byteshelf_fuzz::roxxel_shard` (src/roxxel_shard.rs), replayed by `cargo test`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| byteshelf_fuzz::roxxel_shard(data));

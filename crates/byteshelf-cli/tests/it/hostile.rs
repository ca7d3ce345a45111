//! Hostile files: random bytes and crafted headers with huge counts and lengths. Every command either succeeds or
//! fails with status 1 and one error line; none panics, hangs or tries to allocate what a header claims.

use std::path::Path;

use crate::{run_in, tempdir};

/// SplitMix64, for reproducible garbage.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

fn every_reader(d: &Path, file: &str) {
    let commands: [&[&str]; 9] = [
        &["rox", "info", file, "--json"],
        &["rox", "verify", file],
        &["rox", "get", file, "0", "-1"],
        &["map", "info", file],
        &["map", "verify", file],
        &["map", "dump", file, "--json"],
        &["map", "get", file, "1"],
        &["index", "info", file, "--json"],
        &["index", "lookup", file, "k"],
    ];
    for command in commands {
        let run = run_in(d, command);
        if run.code != 0 {
            run.fails(1, &[file]);
        }
    }
}

#[test]
fn random_bytes() {
    let dir = tempdir();
    let d = dir.path();
    for (seed, len) in [
        (1, 0),
        (2, 1),
        (3, 7),
        (4, 16),
        (5, 24),
        (6, 31),
        (7, 32),
        (8, 100),
        (9, 4096),
    ] {
        std::fs::write(d.join("random.bin"), garbage(seed, len)).unwrap();
        every_reader(d, "random.bin");
    }
}

#[test]
fn crafted_headers_with_huge_counts() {
    let dir = tempdir();
    let d = dir.path();
    let mut cases: Vec<Vec<u8>> = Vec::new();
    // Roxxel footers claiming i64::MAX records or payload bytes, or sizes whose sum overflows.
    for (records, raw) in [
        (i64::MAX, 0i64),
        (0, i64::MAX),
        (i64::MAX, i64::MAX),
        (-1, 5),
        (1, -1),
    ] {
        let mut file = b"payload!".to_vec();
        file.extend_from_slice(&records.to_le_bytes());
        file.extend_from_slice(&raw.to_le_bytes());
        file.extend_from_slice(b"ROXXEL01");
        cases.push(file);
        let mut file = b"payload!".to_vec();
        file.extend_from_slice(&records.to_le_bytes());
        file.extend_from_slice(&raw.to_le_bytes());
        file.extend_from_slice(b"int32\0\0\0ROXXEL02");
        cases.push(file);
    }
    // MapBuffers claiming u32::MAX keys, and an index whose offsets point anywhere.
    for version in [0u8, 1] {
        let mut file = b"mapbufr".to_vec();
        file.push(version);
        file.extend_from_slice(b"none");
        file.extend_from_slice(&u32::MAX.to_le_bytes());
        file.extend_from_slice(&garbage(10, 64));
        cases.push(file);
        let mut file = b"mapbufr".to_vec();
        file.push(version);
        file.extend_from_slice(b"zstd");
        file.extend_from_slice(&2u32.to_le_bytes());
        for (key, offset) in [(1u64, u64::MAX), (2, 48)] {
            file.extend_from_slice(&key.to_le_bytes());
            file.extend_from_slice(&offset.to_le_bytes());
        }
        file.extend_from_slice(&garbage(11, 16));
        cases.push(file);
    }
    // Legacy sparse indexes (length-prefixed keys) with huge key lengths.
    for len in [u32::MAX, 1 << 30, 5] {
        let mut file = 1u32.to_le_bytes().to_vec();
        file.extend_from_slice(&len.to_le_bytes());
        file.extend_from_slice(b"k");
        cases.push(file);
    }
    // A byteshelf sparse-index frame around garbage.
    let mut framed = b"SPIX\x01\0\0\0".to_vec();
    framed.extend_from_slice(&garbage(12, 40));
    framed.extend_from_slice(b"SPIX");
    cases.push(framed);
    for (i, case) in cases.iter().enumerate() {
        let name = format!("crafted-{i}.bin");
        std::fs::write(d.join(&name), case).unwrap();
        every_reader(d, &name);
    }
}

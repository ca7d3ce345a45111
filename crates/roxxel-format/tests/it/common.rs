//! Helpers shared by the test modules.

use std::path::Path;

use roxxel_format::{Dataset, WriterOptions};

/// Writes `records` to `path` with `options` and returns nothing; panics on error.
pub(crate) fn write(path: &Path, options: &WriterOptions, records: &[Vec<u8>]) {
    let mut writer = options.open(path).expect("open writer");
    writer.push_all(records).expect("write");
    writer.finish().expect("finish");
}

/// Every record of a dataset, copied.
pub(crate) fn read_all<D: AsRef<[u8]>>(dataset: &Dataset<D>) -> Vec<Vec<u8>> {
    dataset
        .iter()
        .map(|r| r.expect("valid record").to_vec())
        .collect()
}

/// `n` records of varied lengths (1..=max) filled with a pattern that depends on `seed`.
pub(crate) fn records(n: usize, max: usize, seed: u8) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = 1 + (i * 7919 + usize::from(seed) * 31) % max;
            (0..len).map(|j| (i + j) as u8 ^ seed).collect()
        })
        .collect()
}

/// Visible `.rox` files of a directory with their bytes, sorted by name.
pub(crate) fn shard_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            !name.starts_with('.') && name.ends_with(".rox")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).expect("read"),
            )
        })
        .collect();
    out.sort();
    out
}

/// A small deterministic pseudo-random generator (xorshift64*), enough for picking test timings and indices.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

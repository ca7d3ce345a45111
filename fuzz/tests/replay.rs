//! Replays every committed input of every fuzz target through its harness (the same function the cargo-fuzz
//! binary runs): the seeds (`seeds/<target>/`) and the regressions (`regressions/<target>/`: each crash input
//! ever found, and a minimized corpus that covers what the fuzzer reached). A failure names the file.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use byteshelf_fuzz::{Harness, TARGETS};

/// How many files of each directory run under Miri (`cargo xtask miri`), whose interpreter is thousands of times
/// slower: the first ones in name order. `cargo test` runs them all.
const UNDER_MIRI: usize = if cfg!(miri) { 3 } else { usize::MAX };

/// Every file under `seeds/<target>/` and `regressions/<target>/`, sorted.
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut in_dir = Vec::new();
        for entry in entries {
            let path = entry.expect("a readable directory entry").path();
            if path.is_file() {
                in_dir.push(path);
            }
        }
        in_dir.sort();
        files.extend(in_dir.into_iter().take(UNDER_MIRI));
    }
    files
}

fn harness(target: &str) -> Harness {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|&(_, harness)| harness)
        .expect("a known target")
}

/// Runs every input of `target`; panics naming each input whose run panicked.
fn replay(target: &str) {
    let harness = harness(target);
    let files = inputs(target);
    assert!(!files.is_empty(), "no seeds or regressions for `{target}`");
    let mut failed = Vec::new();
    for file in &files {
        let data = fs::read(file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        if panic::catch_unwind(AssertUnwindSafe(|| harness(&data))).is_err() {
            eprintln!("^ the panic above: `{target}` on {}", file.display());
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "`{target}` failed on {} of {} inputs:\n  {}",
        failed.len(),
        files.len(),
        failed.join("\n  ")
    );
}

/// The `[[bin]]` names of fuzz/Cargo.toml: the targets `cargo fuzz` runs.
fn targets_in_manifest() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let manifest =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let Some(name) = line.strip_prefix("name = ").filter(|_| in_bin) {
            names.push(name.trim_matches('"').to_owned());
        }
    }
    names
}

#[test]
fn every_fuzz_target_has_a_harness() {
    let harnessed: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        targets_in_manifest(),
        harnessed,
        "fuzz/Cargo.toml's targets and byteshelf_fuzz::TARGETS differ"
    );
}

#[test]
fn every_target_is_replayed() {
    let names: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "roxxel_shard",
            "mapbuffer",
            "intmap",
            "sparse_index",
            "sparse_buffer",
            "range_reader",
            "stream_buffer"
        ],
        "a new target needs its #[test] below"
    );
}

#[test]
fn roxxel_shard() {
    replay("roxxel_shard");
}

#[test]
fn mapbuffer() {
    replay("mapbuffer");
}

#[test]
fn intmap() {
    replay("intmap");
}

#[test]
fn sparse_index() {
    replay("sparse_index");
}

#[test]
fn sparse_buffer() {
    replay("sparse_buffer");
}

#[test]
fn range_reader() {
    replay("range_reader");
}

#[test]
fn stream_buffer() {
    replay("stream_buffer");
}

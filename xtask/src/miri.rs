//! `cargo xtask miri`: the tests that touch neither memory maps nor files, under Miri.
//!
//! Miri needs a nightly toolchain with the `miri` component (`rustup +nightly component add miri rust-src`); the
//! project itself builds on stable. Each suite names a package, a test target and libtest filters: the unit tests
//! of pure modules and the integration-test modules that work on in-memory data and are small enough for Miri's
//! interpreter (thousands of times slower than native code). Isolation stays on (no host clock, files or
//! environment) except for the fuzz replay, which reads its inputs from files (and whose `stream_buffer` target
//! spills to a temporary file). Each suite's time and test count are printed at the end, for docs/reliability.md.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::cmd::{self, Result};

/// Proptest cases per property under Miri (for the properties without a case count of their own: those run their
/// own count), and no failure files (isolation forbids them).
const PROPTEST: &str =
    "-Zmiri-env-set=PROPTEST_CASES=4 -Zmiri-env-set=PROPTEST_DISABLE_FAILURE_PERSISTENCE=1";

/// One `cargo +nightly miri test` run.
struct Suite {
    /// The package (`-p`), or the fuzz workspace's manifest when `fuzz` is set.
    package: &'static str,
    /// Cargo arguments after `-p`: the test target (`--lib`, `--test it`) and features.
    target: &'static [&'static str],
    /// libtest arguments: filters and `--skip`s.
    filters: &'static [&'static str],
    /// The fuzz workspace (`--manifest-path fuzz/Cargo.toml`), whose replay reads files: isolation off.
    fuzz: bool,
}

/// What runs. Left out: tests that write or map files (tempfile, `Mmap`, the spool of stream-buffer, insta's
/// snapshot files and its inline snapshots, which run `cargo metadata`), the remote tests (servers), and tests whose data is too large for the interpreter (exhaustive
/// bit flips and truncations of whole files, 10 000- to 100 000-entry indexes, 200 KB reader scripts); what those
/// check is covered natively by `cargo test` and the fuzz targets. mapbuffer's zstd and lzma codecs are C libraries,
/// which Miri cannot call: its integration suite runs with the pure-Rust codecs (gzip via miniz_oxide, brotli).
const SUITES: &[Suite] = &[
    // The sorted-model search test walks ~85 000 searches with a linear model each: more than 10 minutes under
    // Miri, for nothing the other search tests do not cover.
    Suite {
        package: "mapbuffer",
        target: &["--lib"],
        filters: &["format::", "--skip", "lower_bound_matches_a_sorted_model"],
        fuzz: false,
    },
    Suite {
        package: "mapbuffer",
        target: &[
            "--test",
            "it",
            "--no-default-features",
            "--features",
            "gzip,brotli",
        ],
        filters: &[
            "corrupt::",
            "props::arbitrary_bytes_never_panic",
            "props::intmap_reads_back_the_model",
            "--skip",
            "every_truncation",
            "--skip",
            "corrupt_compressed",
        ],
        fuzz: false,
    },
    Suite {
        package: "sparse-buffer",
        target: &["--lib"],
        filters: &[],
        fuzz: false,
    },
    Suite {
        package: "sparse-buffer",
        target: &["--test", "it"],
        filters: &[
            "buffer_cases::",
            "buffer_model::",
            "source::memory",
            "faults::a_source_that_cannot_tell_its_size",
            "faults::a_stalled_fetch",
            "--skip",
            "tiny_touching_adds",
        ],
        fuzz: false,
    },
    Suite {
        package: "sparse-index",
        target: &["--test", "it"],
        filters: &[
            "corrupt::frame_errors",
            "corrupt::framed_noise",
            "errors::the_writer_rejects_misuse",
            "legacy::known_vector_round_trips",
            "model::key_stats",
        ],
        fuzz: false,
    },
    Suite {
        package: "roxxel-format",
        target: &["--lib"],
        filters: &["naming::"],
        fuzz: false,
    },
    // The first 3 seeds and 3 regressions of each target (tests/replay.rs under cfg(miri)); not mapbuffer (its
    // zstd and lzma seeds call C) nor range_reader (a 256 KiB file per input).
    Suite {
        package: "byteshelf-fuzz",
        target: &["--test", "replay"],
        filters: &["--skip", "mapbuffer", "--skip", "range_reader"],
        fuzz: true,
    },
];

/// Runs every suite; a failing suite stops the run.
pub(crate) fn run() -> Result<()> {
    if !cmd::available("cargo", &["+nightly", "miri", "--version"]) {
        return Err(
            "Miri is not available: install a nightly toolchain with `rustup toolchain install nightly \
             --component miri rust-src`"
                .to_owned(),
        );
    }
    // Miri keeps its own sysroot and build; a separate target dir keeps it from invalidating stable builds.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| cmd::root().join("target"), std::path::PathBuf::from)
        .join("miri");
    let started = Instant::now();
    let mut done: Vec<(String, Duration, u64)> = Vec::new();
    for suite in SUITES {
        let mut command = cmd::new("cargo", ["+nightly", "miri", "test"]);
        if suite.fuzz {
            command.args(["--manifest-path", "fuzz/Cargo.toml"]);
        } else {
            command.args(["-p", suite.package]);
        }
        command.args(suite.target).arg("--").args(suite.filters);
        let flags = if suite.fuzz {
            format!("{PROPTEST} -Zmiri-disable-isolation")
        } else {
            PROPTEST.to_owned()
        };
        command
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("MIRIFLAGS", flags)
            .env_remove("CARGO")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let name = format!("{} {}", suite.package, suite.target.join(" "));
        eprintln!("$ {}", cmd::Shown(&command));
        let start = Instant::now();
        let mut child = command
            .spawn()
            .map_err(|e| format!("could not start cargo miri: {e}"))?;
        // Echo libtest's lines as they come (a suite runs for minutes) and keep them for the count.
        let mut stdout = String::new();
        if let Some(out) = child.stdout.take() {
            for line in BufReader::new(out).lines() {
                let line = line.map_err(|e| format!("reading cargo miri's output: {e}"))?;
                println!("{line}");
                stdout.push_str(&line);
                stdout.push('\n');
            }
        }
        let status = child
            .wait()
            .map_err(|e| format!("waiting for cargo miri: {e}"))?;
        if !status.success() {
            return Err(format!("Miri suite `{name}` failed ({status})"));
        }
        done.push((name, start.elapsed(), passed(&stdout)));
    }
    eprintln!("\nMiri suites (build included):");
    for (name, time, tests) in &done {
        eprintln!(
            "  {name:<40} {tests:>4} tests  {:>6.0} s",
            time.as_secs_f64()
        );
    }
    let total: u64 = done.iter().map(|(_, _, tests)| tests).sum();
    eprintln!(
        "  {:<40} {total:>4} tests  {:>6.0} s",
        "all",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The tests libtest reports as passed (`test result: ok. N passed; ...`), summed over the binaries run.
fn passed(stdout: &str) -> u64 {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_passed_tests() {
        let out = "running 3 tests\ntest a ... ok\ntest result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; \
                   2 filtered out; finished in 1.2s\n\ntest result: ok. 0 passed; 0 failed\n";
        assert_eq!(passed(out), 3);
    }
}

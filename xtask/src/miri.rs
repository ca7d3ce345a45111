//! `cargo xtask miri`: the crates' unit tests that touch neither memory maps nor files, under Miri.
//!
//! Miri needs a nightly toolchain with the `miri` component (`rustup +nightly component add miri rust-src`); the
//! project itself builds on stable. Each entry names a package and a test filter: the unit tests of pure modules.

use crate::cmd::{self, Result};

/// `(package, libtest arguments)`: unit tests with no mmap and no file I/O.
const SUITES: [(&str, &[&str]); 3] = [
    // The sorted-model search test walks ~85 000 searches with a linear model each: more than 10 minutes under
    // Miri's interpreter, for nothing the other search tests do not cover.
    (
        "mapbuffer",
        &["format::", "--skip", "lower_bound_matches_a_sorted_model"],
    ),
    ("sparse-buffer", &["plan::"]),
    ("roxxel-format", &["naming::"]),
];

/// Runs every suite under `cargo +nightly miri test --lib`.
pub(crate) fn run() -> Result<()> {
    if !cmd::available("cargo", &["+nightly", "miri", "--version"]) {
        return Err(
            "Miri is not available: install a nightly toolchain with `rustup toolchain install nightly \
             --component miri rust-src`"
                .to_owned(),
        );
    }
    for (package, test_args) in SUITES {
        let mut command = cmd::new(
            "cargo",
            ["+nightly", "miri", "test", "-p", package, "--lib", "--"],
        );
        command.args(test_args);
        // Miri keeps its own sysroot and build; a separate target dir keeps it from invalidating stable builds.
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| cmd::root().join("target"), std::path::PathBuf::from)
            .join("miri");
        command.env("CARGO_TARGET_DIR", target).env_remove("CARGO");
        cmd::run(&mut command)?;
    }
    Ok(())
}

//! `cargo xtask`: the project's automation, one binary with subcommands (see `cargo xtask help`).
//!
//! It depends on nothing but std so that it builds in seconds on a fresh machine, and it shells out to cargo,
//! python3 and pip for the real work.

mod bench;
mod ci;
mod cmd;
mod conformance;
mod fuzz;
mod miri;
mod msrv;
mod python;
mod release;
mod servers;
mod windows;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <command>

commands:
  ci                    every check CI runs: fmt, clippy, msrv, test, doc, feature checks, a Windows build check,
                        the fuzz replay, conformance, the Python wheel's suite, deny
  conformance [CRATE..] cross-implementation cases against the pinned Python references (all crates, or these)
  python                build the byteshelf wheel (maturin) and run its pytest suite against the references
  bench-python [--quick]
                        the Python classes against the Python references: docs/benchmarks-python.md
  bench [--quick]       criterion benches, then byteshelf side by side with the Python references: docs/benchmarks.md
  fuzz [--seconds N] [--jobs N] [--seeds] [TARGET..]
                        cargo-fuzz targets (stable, -s none), N s each (60): docs/reliability.md
  bitflip               flip every bit of a small file of each format: docs/reliability.md
  miri                  the in-memory tests and the fuzz replay under Miri (needs a nightly with miri)
  msrv                  every resolved dependency's rust-version is within the workspace's
  servers               install the programs tests run (nginx, moto, strace), when missing
  release [--dry-run]   check versions, changelog, deny and a publish dry run; without --dry-run publish and tag
  help                  this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["ci"] => ci::run(),
        ["bench"] => bench::run(false),
        ["bench", "--quick"] => bench::run(true),
        ["conformance", only @ ..] => conformance::run(only),
        ["python"] => python::run(),
        ["bench-python"] => python::bench(false),
        ["bench-python", "--quick"] => python::bench(true),
        ["servers"] => servers::ensure(),
        ["fuzz", args @ ..] => fuzz::run(args),
        ["bitflip"] => fuzz::bitflip(),
        ["miri"] => miri::run(),
        ["msrv"] => msrv::run(),
        ["release"] => release::run(release::Mode::Publish),
        ["release", "--dry-run"] => release::run(release::Mode::DryRun),
        [] | ["help" | "--help" | "-h"] => {
            print!("{HELP}");
            Ok(())
        }
        _ => {
            eprint!("error: unknown arguments {args:?}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

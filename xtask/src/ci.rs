//! `cargo xtask ci`: every check, in the order that fails fastest, with a summary table of steps and times.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::cmd::{self, Result, Shown};
use crate::conformance;

/// The umbrella's features, each of which must build alone.
const UMBRELLA_FEATURES: &[&str] = &[
    "sparse-buffer",
    "sparse-index",
    "mapbuffer",
    "roxxel",
    "stream-buffer",
    "mapbuffer-codecs",
    "roxxel,mapbuffer,object-store",
];

/// One step of the run: a name and what it does.
enum Action {
    Cargo(Command),
    Conformance,
    Deny,
    Msrv,
    Python,
    Servers,
    Windows,
}

struct Step {
    name: String,
    action: Action,
}

fn cargo(name: &str, args: &[&str]) -> Step {
    let mut command = cmd::cargo();
    command.args(args);
    Step {
        name: name.to_owned(),
        action: Action::Cargo(command),
    }
}

fn steps() -> Vec<Step> {
    let mut steps = vec![
        cargo("fmt", &["fmt", "--all", "--check"]),
        cargo(
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
        ),
    ];
    steps.push(Step {
        name: "msrv: dependencies".into(),
        action: Action::Msrv,
    });
    // The remote-storage tests start nginx and moto, the kill-point tests run strace; they fail when these are
    // missing.
    steps.push(Step {
        name: "servers".into(),
        action: Action::Servers,
    });
    steps.push(cargo("test", &["test", "--workspace", "--all-features"]));
    let mut doc = cmd::cargo();
    doc.args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", "-D warnings");
    steps.push(Step {
        name: "doc".into(),
        action: Action::Cargo(doc),
    });
    steps.push(cargo(
        "umbrella: no features",
        &["check", "-p", "byteshelf", "--no-default-features"],
    ));
    for feature in UMBRELLA_FEATURES {
        steps.push(cargo(
            &format!("umbrella: {feature}"),
            &[
                "check",
                "-p",
                "byteshelf",
                "--no-default-features",
                "--features",
                feature,
            ],
        ));
    }
    steps.push(Step {
        name: format!("windows: check ({})", crate::windows::TARGET),
        action: Action::Windows,
    });
    // The fuzz targets are a detached workspace: build them here so that an API change cannot silently break them,
    // and replay every committed input (seeds, crash inputs, the minimized corpus) through the targets' harnesses.
    steps.push(cargo(
        "fuzz targets build",
        &[
            "check",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--bins",
            "--examples",
        ],
    ));
    steps.push(cargo(
        "fuzz replay",
        &[
            "test",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--test",
            "replay",
        ],
    ));
    steps.push(Step {
        name: "conformance".into(),
        action: Action::Conformance,
    });
    // After conformance, whose reference venvs the Python suite links in.
    steps.push(Step {
        name: "python".into(),
        action: Action::Python,
    });
    steps.push(Step {
        name: "deny".into(),
        action: Action::Deny,
    });
    steps
}

/// Runs every step; stops at the first failure, which it names with its command.
pub(crate) fn run() -> Result<()> {
    cmd::one_shot_builds();
    let free_at_start = free_disk();
    if let Some(free) = free_at_start {
        eprintln!("disk: {} free for target/", gib(free));
        if free < LOW_DISK {
            eprintln!(
                "warning: a clean run needs about {} in target/ (builds, Python venvs, test servers); \
                 it may stop with `No space left on device`",
                gib(LOW_DISK)
            );
        }
    }
    let mut done: Vec<(String, Duration, bool)> = Vec::new();
    let mut failure = None;
    for mut step in steps() {
        eprintln!("\n==> {}", step.name);
        let start = Instant::now();
        let result = match &mut step.action {
            Action::Cargo(command) => cmd::run(command),
            Action::Conformance => conformance::run(&[]),
            Action::Deny => deny_check(),
            Action::Msrv => crate::msrv::run(),
            Action::Python => crate::python::run(),
            Action::Servers => crate::servers::ensure(),
            Action::Windows => crate::windows::check(),
        };
        done.push((step.name.clone(), start.elapsed(), result.is_ok()));
        if let Err(err) = result {
            failure = Some(format!("step `{}` failed: {err}", step.name));
            break;
        }
    }
    summary(&done);
    if let (Some(start), Some(end)) = (free_at_start, free_disk()) {
        eprintln!(
            "disk: {} free for target/ (down {} since the start, this run's use unless other work freed or took space)",
            gib(end),
            gib(start.saturating_sub(end))
        );
    }
    match failure {
        Some(failure) => Err(failure),
        None => Ok(()),
    }
}

fn summary(done: &[(String, Duration, bool)]) {
    let width = done
        .iter()
        .map(|(name, ..)| name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    eprintln!("\n{:<width$}  result  time", "step");
    for (name, elapsed, ok) in done {
        let result = if *ok { "pass" } else { "FAIL" };
        eprintln!(
            "{name:<width$}  {result:<6}  {:>6.1}s",
            elapsed.as_secs_f64()
        );
    }
    let total: Duration = done.iter().map(|(_, elapsed, _)| *elapsed).sum();
    eprintln!("{:<width$}          {:>6.1}s", "total", total.as_secs_f64());
}

/// Below this much free space a clean run is likely to fill the disk (it peaks at about 2.5 GiB).
const LOW_DISK: u64 = 3 << 30;

/// Free bytes on the file system that holds `target/`, as `df` reports them; `None` where `df` is unavailable.
fn free_disk() -> Option<u64> {
    let target = conformance::target_dir();
    let probe = if target.exists() { target } else { cmd::root() };
    let out = cmd::new("df", ["-Pk"]).arg(&probe).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    // POSIX format: a header line, then `filesystem blocks used available capacity mount`.
    let kib: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// `cargo deny check`, installing cargo-deny first when it is missing.
///
/// The advisory database is a git repository on GitHub. Where it cannot be fetched (a machine that reaches only
/// the package registries), the advisories check is skipped with a warning and the other checks still run; the
/// GitHub workflow runs all of them.
pub(crate) fn deny_check() -> Result<()> {
    ensure_cargo_deny()?;
    let mut fetch = cmd::cargo();
    fetch.args(["deny", "fetch", "db"]);
    if fetch.output().is_ok_and(|out| out.status.success()) {
        return cmd::run(cmd::cargo().args(["deny", "check"]));
    }
    eprintln!(
        "warning: the RustSec advisory database cannot be fetched from here: checking bans, licenses and sources \
         only (advisories are checked by the GitHub workflow)"
    );
    cmd::run(cmd::cargo().args(["deny", "check", "bans", "licenses", "sources"]))
}

fn ensure_cargo_deny() -> Result<()> {
    let mut probe = cmd::cargo();
    probe.args(["deny", "--version"]);
    if probe.output().is_ok_and(|out| out.status.success()) {
        return Ok(());
    }
    eprintln!("cargo-deny is missing: installing it from crates.io (once per machine)");
    let mut install = cmd::cargo();
    install.args(["install", "cargo-deny", "--locked"]);
    cmd::run(&mut install).map_err(|err| {
        format!(
            "{err}\n(could not install cargo-deny: `{}`)",
            Shown(&install)
        )
    })
}

//! `cargo xtask fuzz`: runs the cargo-fuzz targets of `fuzz/` and records what they did in docs/reliability.md;
//! `cargo xtask bitflip`: flips every bit of a small file of each format and records the outcomes there too.
//!
//! The toolchain here is stable, so the targets are built with `cargo fuzz build -O -a -s none`: libFuzzer and its
//! coverage instrumentation need no nightly flag; only the sanitizers do. The crates under test are safe Rust
//! (memory maps aside, which the targets do not use), so bounds and overflow checks (`-a`) catch what AddressSanitizer
//! would. With a nightly toolchain, `cargo +nightly fuzz run <target>` adds AddressSanitizer on top.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::cmd::{self, Result};

/// Every target of `fuzz/Cargo.toml` (its `[[bin]]` sections), in the order they are listed and run.
fn targets() -> Result<Vec<String>> {
    let manifest = fuzz_dir().join("Cargo.toml");
    let text = fs::read_to_string(&manifest)
        .map_err(|err| format!("cannot read {}: {err}", manifest.display()))?;
    Ok(bin_names(&text))
}

/// The `name` of each `[[bin]]` section of a manifest.
fn bin_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == "name"
        {
            names.push(value.trim().trim_matches('"').to_owned());
        }
    }
    names
}

const DEFAULT_SECONDS: u64 = 60;
const REPORT: &str = "docs/reliability.md";
const FUZZ_BEGIN: &str = "<!-- BEGIN fuzz table (cargo xtask fuzz) -->";
const FUZZ_END: &str = "<!-- END fuzz table -->";
const FLIP_BEGIN: &str = "<!-- BEGIN bit-flip table (cargo xtask bitflip) -->";
const FLIP_END: &str = "<!-- END bit-flip table -->";

/// What `cargo xtask fuzz` was asked to do.
#[derive(Debug)]
struct Plan {
    seconds: u64,
    jobs: usize,
    seeds: bool,
    targets: Vec<String>,
}

fn parse(args: &[&str]) -> Result<Plan> {
    let mut plan = Plan {
        seconds: DEFAULT_SECONDS,
        jobs: 1,
        seeds: false,
        targets: Vec::new(),
    };
    let targets = targets()?;
    let mut args = args.iter();
    while let Some(&arg) = args.next() {
        let mut number = |name: &str| -> Result<u64> {
            args.next()
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match arg {
            "--seconds" => plan.seconds = number("--seconds")?,
            "--jobs" => plan.jobs = number("--jobs")?.max(1) as usize,
            "--seeds" => plan.seeds = true,
            target if targets.iter().any(|known| known == target) => {
                plan.targets.push(target.to_owned());
            }
            other => {
                return Err(format!(
                    "unknown fuzz argument or target `{other}` (targets: {})",
                    targets.join(", ")
                ));
            }
        }
    }
    if plan.targets.is_empty() {
        plan.targets = targets;
    }
    Ok(plan)
}

fn fuzz_dir() -> PathBuf {
    cmd::root().join("fuzz")
}

/// `cargo fuzz` with the fuzz workspace's own target directory (never an inherited `CARGO_TARGET_DIR`).
fn cargo_fuzz(args: &[&str]) -> Command {
    let mut command = cmd::cargo();
    command
        .arg("fuzz")
        .args(args)
        .current_dir(fuzz_dir())
        .env_remove("CARGO_TARGET_DIR");
    command
}

fn ensure_cargo_fuzz() -> Result<()> {
    if cargo_fuzz(&["--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        return Ok(());
    }
    cmd::run(cmd::cargo().args(["install", "cargo-fuzz", "--locked"]))
}

/// The outcome of one target's run.
#[derive(Debug)]
struct Outcome {
    target: String,
    seconds: u64,
    executions: u64,
    corpus: usize,
    findings: Vec<PathBuf>,
}

fn stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.trim_start_matches(':').trim().parse().ok())
}

fn count_files(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |entries| entries.filter(|e| e.is_ok()).count())
}

/// Runs one built target for `seconds` over its corpus and seeds; the log goes to fuzz/target/logs.
fn run_target(target: &str, seconds: u64) -> Result<std::process::Child> {
    let fuzz = fuzz_dir();
    let binary = fuzz
        .join("target/x86_64-unknown-linux-gnu/release")
        .join(target);
    let corpus = fuzz.join("corpus").join(target);
    let artifacts = fuzz.join("artifacts").join(target);
    let logs = fuzz.join("target/logs");
    for dir in [&corpus, &artifacts, &logs] {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    let log = fs::File::create(logs.join(format!("{target}.log")))
        .map_err(|e| format!("log of {target}: {e}"))?;
    // New inputs go into the first directory (the grown corpus); seeds and committed regressions are read only.
    let regressions = fuzz.join("regressions").join(target);
    let mut command = cmd::new(
        &binary,
        [
            corpus.as_os_str().to_owned(),
            fuzz.join("seeds").join(target).into_os_string(),
        ],
    );
    if regressions.is_dir() {
        command.arg(regressions);
    }
    command.args([
        format!("-max_total_time={seconds}"),
        format!("-artifact_prefix={}/", artifacts.display()),
        "-print_final_stats=1".to_owned(),
        "-timeout=20".to_owned(),
        "-rss_limit_mb=2048".to_owned(),
    ]);
    command
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);
    eprintln!("$ {}", cmd::Shown(&command));
    command
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", binary.display()))
}

fn finish_target(
    target: &str,
    started: Instant,
    mut child: std::process::Child,
) -> Result<Outcome> {
    child
        .wait()
        .map_err(|e| format!("waiting for {target}: {e}"))?;
    let seconds = started.elapsed().as_secs();
    let fuzz = fuzz_dir();
    let log = fs::read_to_string(fuzz.join("target/logs").join(format!("{target}.log")))
        .unwrap_or_default();
    let findings: Vec<PathBuf> = log
        .lines()
        .filter_map(|line| line.split("Test unit written to ").nth(1))
        .map(|path| PathBuf::from(path.trim()))
        .collect();
    let outcome = Outcome {
        target: target.to_owned(),
        seconds,
        executions: stat(&log, "stat::number_of_executed_units").unwrap_or(0),
        corpus: count_files(&fuzz.join("corpus").join(target)),
        findings,
    };
    eprintln!(
        "{target}: {} executions in {} s, corpus {}, findings {}",
        outcome.executions,
        outcome.seconds,
        outcome.corpus,
        outcome.findings.len()
    );
    for finding in &outcome.findings {
        eprintln!("  finding: {}", finding.display());
    }
    Ok(outcome)
}

/// `cargo xtask fuzz [--seconds N] [--jobs N] [--seeds] [TARGET..]`.
pub(crate) fn run(args: &[&str]) -> Result<()> {
    let plan = parse(args)?;
    ensure_cargo_fuzz()?;
    if plan.seeds {
        let mut seeds = cmd::cargo();
        seeds
            .args(["run", "--quiet", "--example", "make_seeds"])
            .current_dir(fuzz_dir())
            .env_remove("CARGO_TARGET_DIR");
        cmd::run(&mut seeds)?;
    }
    cmd::run(&mut cargo_fuzz(&["build", "-O", "-a", "-s", "none"]))?;
    let mut outcomes = Vec::new();
    for batch in plan.targets.chunks(plan.jobs) {
        let running = batch
            .iter()
            .map(|target| Ok((target, Instant::now(), run_target(target, plan.seconds)?)))
            .collect::<Result<Vec<_>>>()?;
        for (target, started, child) in running {
            outcomes.push(finish_target(target, started, child)?);
        }
    }
    record_fuzz(&outcomes)?;
    let open: usize = outcomes.iter().map(|o| o.findings.len()).sum();
    if open > 0 {
        return Err(format!(
            "{open} finding(s): reproduce with `cargo fuzz run -O -a -s none <target> <file>` in fuzz/, fix, and save \
             the input as fuzz/regressions/<target>/<descriptive name> (replayed by `cargo test` in fuzz/)"
        ));
    }
    Ok(())
}

/// One row of the fuzz table: totals over every recorded run of a target.
#[derive(Debug, Default, Clone)]
struct Row {
    seconds: u64,
    executions: u64,
    runs: u64,
    last: String,
    corpus: usize,
    findings: u64,
    fixed: String,
}

fn number(cell: &str) -> u64 {
    cell.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

fn parse_rows(table: &str) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if let [
            target,
            seconds,
            executions,
            runs,
            last,
            corpus,
            findings,
            fixed,
        ] = cells[..]
        {
            rows.insert(
                target.trim_matches('`').to_owned(),
                Row {
                    seconds: number(seconds),
                    executions: number(executions),
                    runs: number(runs),
                    last: last.to_owned(),
                    corpus: number(corpus) as usize,
                    findings: number(findings),
                    fixed: fixed.to_owned(),
                },
            );
        }
    }
    rows
}

fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The table, one row per target in `order` that has one.
fn render_rows(order: &[String], rows: &BTreeMap<String, Row>) -> String {
    let mut out = String::from(
        "| target | time fuzzed (total) | executions (total) | runs | last run | corpus | findings | fixed |\n\
         |---|---:|---:|---:|---|---:|---:|---|\n",
    );
    for target in order {
        let Some(row) = rows.get(target) else {
            continue;
        };
        out.push_str(&format!(
            "| `{target}` | {} s | {} | {} | {} | {} | {} | {} |\n",
            row.seconds,
            grouped(row.executions),
            row.runs,
            row.last,
            row.corpus,
            row.findings,
            if row.fixed.is_empty() {
                "-"
            } else {
                &row.fixed
            },
        ));
    }
    out
}

/// Replaces the text between `begin` and `end` in docs/reliability.md.
fn replace_section(begin: &str, end: &str, body: &str) -> Result<()> {
    let path = cmd::root().join(REPORT);
    let text = fs::read_to_string(&path).map_err(|e| format!("reading {REPORT}: {e}"))?;
    let (Some(start), Some(stop)) = (text.find(begin), text.find(end)) else {
        return Err(format!("{REPORT} lacks the markers {begin} / {end}"));
    };
    let updated = format!("{}{begin}\n{body}{}", &text[..start], &text[stop..]);
    fs::write(&path, updated).map_err(|e| format!("writing {REPORT}: {e}"))?;
    eprintln!("updated {REPORT}");
    Ok(())
}

fn section(begin: &str, end: &str) -> Result<String> {
    let text = fs::read_to_string(cmd::root().join(REPORT))
        .map_err(|e| format!("reading {REPORT}: {e}"))?;
    match (text.find(begin), text.find(end)) {
        (Some(start), Some(stop)) => Ok(text[start + begin.len()..stop].to_owned()),
        _ => Err(format!("{REPORT} lacks the markers {begin} / {end}")),
    }
}

fn record_fuzz(outcomes: &[Outcome]) -> Result<()> {
    let mut rows = parse_rows(&section(FUZZ_BEGIN, FUZZ_END)?);
    for outcome in outcomes {
        let row = rows.entry(outcome.target.clone()).or_default();
        row.seconds += outcome.seconds;
        row.executions += outcome.executions;
        row.runs += 1;
        row.last = format!(
            "{} s, {} execs",
            outcome.seconds,
            grouped(outcome.executions)
        );
        row.corpus = outcome.corpus;
        row.findings += outcome.findings.len() as u64;
    }
    replace_section(FUZZ_BEGIN, FUZZ_END, &render_rows(&targets()?, &rows))
}

/// `cargo xtask bitflip`: runs the fuzz workspace's `bitflip` example and puts its table in docs/reliability.md.
pub(crate) fn bitflip() -> Result<()> {
    let mut command = cmd::cargo();
    command
        .args(["run", "--quiet", "--release", "--example", "bitflip"])
        .current_dir(fuzz_dir())
        .env_remove("CARGO_TARGET_DIR")
        .stderr(Stdio::inherit());
    eprintln!("$ {}", cmd::Shown(&command));
    let output = command
        .output()
        .map_err(|e| format!("could not run the bitflip example: {e}"))?;
    if !output.status.success() {
        return Err(format!("the bitflip example failed ({})", output.status));
    }
    let table = String::from_utf8(output.stdout).map_err(|e| e.to_string())?;
    print!("{table}");
    replace_section(FLIP_BEGIN, FLIP_END, &table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_survive_a_render_and_parse() {
        let mut rows = BTreeMap::new();
        rows.insert(
            "mapbuffer".to_owned(),
            Row {
                seconds: 605,
                executions: 12_345_678,
                runs: 2,
                last: "600 s, 12,000,000 execs".to_owned(),
                corpus: 812,
                findings: 1,
                fixed: "1 (see below)".to_owned(),
            },
        );
        let parsed = parse_rows(&render_rows(&["mapbuffer".to_owned()], &rows));
        let row = &parsed["mapbuffer"];
        assert_eq!(
            (
                row.seconds,
                row.executions,
                row.runs,
                row.corpus,
                row.findings
            ),
            (605, 12_345_678, 2, 812, 1)
        );
        assert_eq!(row.fixed, "1 (see below)");
        assert_eq!(row.last, "600 s, 12,000,000 execs");
    }

    #[test]
    fn targets_come_from_the_fuzz_manifest() {
        let manifest = "[package]\nname = \"byteshelf-fuzz\"\n\n[[bin]]\nname = \"a\"\npath = \"a.rs\"\n\n\
                        [[example]]\nname = \"seeds\"\n\n[[bin]]\nname=\"b\"\n";
        assert_eq!(bin_names(manifest), ["a", "b"]);
        let targets = targets().unwrap();
        assert!(targets.len() >= 7 && targets.contains(&"range_reader".to_owned()));
    }

    #[test]
    fn arguments() {
        let plan = parse(&["--seconds", "5", "--jobs", "2", "intmap"]).unwrap();
        assert_eq!((plan.seconds, plan.jobs, plan.targets.len()), (5, 2, 1));
        assert_eq!(parse(&[]).unwrap().targets, targets().unwrap());
        assert!(parse(&["nope"]).is_err());
    }

    #[test]
    fn libfuzzer_stats() {
        let log = "INFO: x\nstat::number_of_executed_units: 4242\nstat::new_units_added: 3\n";
        assert_eq!(stat(log, "stat::number_of_executed_units"), Some(4242));
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}

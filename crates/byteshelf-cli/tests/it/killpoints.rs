//! Kill points (issue 14): the real `byteshelf` binary killed with SIGKILL at each of its mutating system calls
//! during `rox pack` (appends and fresh writes) and `rox recover`, and what readers, `rox recover` and the next
//! writer find afterwards.
//!
//! A kill point is the Nth call of one syscall of [`SYSCALLS`]: the binary runs under
//! `strace -f -e trace=NAME -e inject=NAME:signal=KILL:when=N`, which kills it on entry to that call, before the
//! call takes effect. For each name N goes 1, 2, ... until the run goes through without being killed, so every
//! call of every mutating syscall is tried, whichever way strace counts. strace counts per thread: the CLI does
//! all of this on its main thread (`cli_mutates_from_one_thread` asserts it), so the per-thread count is the
//! process's, and `-f` would trace any thread it ever started anyway.
//!
//! After every kill, readers must see the old records or the old plus all the new ones (a fresh dataset: none or
//! all), `rox recover` must keep exactly that and leave no hidden files behind but the lock, and `rox verify` must
//! pass. Failures are collected per scenario and name the scenario, the kill point(s) and the expected and found
//! record counts. strace is installed by `cargo xtask servers`; without it these tests fail and say so.

use std::fmt;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use tempfile::TempDir;

use crate::{Run, run_in, tempdir};

/// The syscalls that change files, one kill-point series each.
const SYSCALLS: [&str; 11] = [
    "write",
    "pwrite64",
    "writev",
    "fsync",
    "fdatasync",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "ftruncate",
];

/// Shard size limit of the sharded scenarios: a handful of records per shard, so an append makes several shards.
const MAX_SHARD: &str = "200";

/// A series is cut off (and reported) if the run is still killed at this N.
const MAX_N: u32 = 2000;

/// Sharded runs (b) and (c) start from at most this many of (a)'s kill points that leave a journal.
const PENDING_FOR_RECOVERY: usize = 20;
const PENDING_FOR_NEXT_WRITER: usize = 4;

// ---------------------------------------------------------------------------------------------------------------
// running under strace

/// The strace to use (`$BYTESHELF_STRACE` or `strace`), checked once: it runs and it can kill the binary.
fn strace() -> &'static str {
    static STRACE: OnceLock<String> = OnceLock::new();
    STRACE.get_or_init(|| {
        let strace = std::env::var("BYTESHELF_STRACE").unwrap_or_else(|_| "strace".into());
        let version = Command::new(&strace).arg("-V").output();
        assert!(
            version.as_ref().is_ok_and(|out| out.status.success()),
            "the kill-point tests need strace, and `{strace} -V` does not run ({version:?}): \
             run `cargo xtask servers` to install it (or point $BYTESHELF_STRACE at one)"
        );
        let probe = tempdir();
        let run = run_killed(
            &strace,
            probe.path(),
            &["--version"],
            Point {
                syscall: "write",
                n: 1,
            },
        );
        assert!(
            run.is_none(),
            "`{strace}` did not kill `byteshelf --version` at its first write (is ptrace allowed here?): {run:?}"
        );
        strace
    })
}

/// A kill point: the `n`th call of `syscall`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Point {
    syscall: &'static str,
    n: u32,
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{}", self.syscall, self.n)
    }
}

/// Runs `byteshelf args` in `dir` under `strace`, killed at `point`: `None` when it was killed, else how it ended.
fn run_killed(strace: &str, dir: &Path, args: &[&str], point: Point) -> Option<Run> {
    let output = Command::new(strace)
        .args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("trace={}", point.syscall))
        .arg("-e")
        .arg(format!(
            "inject={}:signal=KILL:when={}",
            point.syscall, point.n
        ))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_byteshelf"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("{strace} starts: {err}"));
    // strace ends itself with the signal that killed the traced process.
    if output.status.signal() == Some(9) {
        return None;
    }
    Some(Run {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Kill points per syscall.
#[derive(Debug, Default)]
struct Tally(Vec<(&'static str, u32)>);

impl Tally {
    fn total(&self) -> u32 {
        self.0.iter().map(|(_, n)| n).sum()
    }

    fn of(&self, syscall: &str) -> u32 {
        self.0
            .iter()
            .filter(|(name, _)| *name == syscall)
            .map(|(_, n)| n)
            .sum()
    }

    fn add(&mut self, other: &Self) {
        for &(name, n) in &other.0 {
            match self.0.iter_mut().find(|(own, _)| *own == name) {
                Some((_, count)) => *count += n,
                None => self.0.push((name, n)),
            }
        }
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        write!(f, "{}", parts.join(", "))
    }
}

/// Runs `byteshelf args` on a fresh copy of `template` per kill point, for every kill point in turn.
/// `killed(point, dir, failures)` gets each killed run's directory; `finished(run, dir, failures)` gets, per
/// syscall, the run that was not killed. Returns the number of kill points per syscall.
fn enumerate(
    template: &Path,
    args: &[&str],
    failures: &mut Failures,
    mut killed: impl FnMut(Point, TempDir, &mut Failures),
    mut finished: impl FnMut(Run, &Path, &mut Failures),
) -> Tally {
    let strace = strace();
    let mut tally = Tally::default();
    for syscall in SYSCALLS {
        let mut n = 1;
        loop {
            let dir = tempdir();
            copy_dir(template, dir.path());
            let point = Point { syscall, n };
            match run_killed(strace, dir.path(), args, point) {
                None if n >= MAX_N => {
                    failures.add(
                        format!("`byteshelf {}` at {point}", args.join(" ")),
                        "still killed: is it looping?",
                    );
                    break;
                }
                None => killed(point, dir, failures),
                Some(run) if run.code == 1 && run.stderr.contains("invalid system call") => {
                    // This architecture has no such syscall (e.g. `rename` on aarch64): nothing to kill.
                    break;
                }
                Some(run) => {
                    finished(run, dir.path(), failures);
                    break;
                }
            }
            n += 1;
        }
        tally.0.push((syscall, n - 1));
    }
    tally
}

/// Copies the files of `from` (flat, hidden ones included) into `to`.
fn copy_dir(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).expect("template directory") {
        let entry = entry.expect("directory entry");
        if entry.file_type().expect("file type").is_file() {
            fs::copy(entry.path(), to.join(entry.file_name())).expect("file copied");
        }
    }
}

/// At most `max` of `items`, spread evenly from the first to the last.
fn spread<T>(items: Vec<T>, max: usize) -> Vec<T> {
    let len = items.len();
    if len <= max {
        return items;
    }
    let keep: Vec<usize> = (0..max).map(|i| i * (len - 1) / (max - 1)).collect();
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, item)| item)
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// data, datasets and what readers see

type Records = Vec<Vec<u8>>;

/// `count` text records of varying lengths, tagged.
fn records(tag: &str, count: usize) -> Records {
    (0..count)
        .map(|i| format!("{tag} {i:02} {}", "#".repeat(i * 7 % 11)).into_bytes())
        .collect()
}

/// The record batches: the dataset's old records, an append's new ones, and the next writer's second batch.
struct Data {
    old: Records,
    new: Records,
    second: Records,
}

impl Data {
    fn new() -> Self {
        Self {
            old: records("old", 12),
            new: records("new", 30),
            second: records("second", 15),
        }
    }

    fn old_new(&self) -> Records {
        [self.old.clone(), self.new.clone()].concat()
    }

    fn old_second(&self) -> Records {
        [self.old.clone(), self.second.clone()].concat()
    }
}

/// A directory holding `old.txt`, `new.txt` and `second.txt` (one record a line) and whatever `setup` commands
/// make of them.
fn template(data: &Data, setup: &[&[&str]]) -> TempDir {
    let dir = tempdir();
    for (name, records) in [
        ("old.txt", &data.old),
        ("new.txt", &data.new),
        ("second.txt", &data.second),
    ] {
        let text: Vec<u8> = records
            .iter()
            .flat_map(|r| [&r[..], b"\n"].concat())
            .collect();
        fs::write(dir.path().join(name), text).expect("input written");
    }
    for command in setup {
        run_in(dir.path(), command).ok();
    }
    dir
}

/// How commands name one dataset.
#[derive(Debug, Clone, Copy)]
struct Dataset {
    /// What readers are given (`rox cat`, `rox verify`).
    spec: &'static str,
    /// What `rox pack` and `rox recover` are given.
    target: &'static str,
    /// Its hidden journal.
    journal: &'static str,
}

const SHARDED: Dataset = Dataset {
    spec: "ds_*.rox",
    target: "ds",
    journal: ".ds.roxjournal",
};
const SINGLE: Dataset = Dataset {
    spec: "one.rox",
    target: "one.rox",
    journal: ".one.roxjournal",
};
const FRESH_SINGLE: Dataset = Dataset {
    spec: "fresh.rox",
    target: "fresh.rox",
    journal: ".fresh.roxjournal",
};
const FRESH_SHARDED: Dataset = Dataset {
    spec: "fs_*.rox",
    target: "fs",
    journal: ".fs.roxjournal",
};

/// What readers see of `ds` in `dir` (`rox cat --sep u32le`); a dataset that does not exist reads as no records.
fn read(dir: &Path, ds: Dataset) -> Result<Records, String> {
    let run = run_in(dir, &["rox", "cat", ds.spec, "--sep", "u32le"]);
    if run.code == 1
        && (run.stderr.contains("No such file") || run.stderr.contains("no roxxel shard files"))
    {
        return Ok(Vec::new());
    }
    if run.code != 0 {
        return Err(format!(
            "`rox cat {}` failed ({}): {}",
            ds.spec,
            run.code,
            run.stderr.trim()
        ));
    }
    let mut out = Vec::new();
    let mut rest = &run.stdout[..];
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_at_checked(4)
            .ok_or("`rox cat` output cut short")?;
        let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
        let (record, tail) = tail
            .split_at_checked(len)
            .ok_or("`rox cat` output cut short")?;
        out.push(record.to_vec());
        rest = tail;
    }
    Ok(out)
}

/// `Ok` when `found` is one of the `allowed` states, else what was expected and what was found.
fn one_of(found: &Records, allowed: &[(&str, &Records)]) -> Result<(), String> {
    if allowed.iter().any(|(_, records)| *records == found) {
        return Ok(());
    }
    let expected: Vec<String> = allowed
        .iter()
        .map(|(name, records)| format!("{name} ({} records)", records.len()))
        .collect();
    let detail = allowed
        .iter()
        .find(|(_, records)| records.len() == found.len())
        .map(|(name, records)| {
            let at = records.iter().zip(found).position(|(a, b)| a != b);
            format!(
                " (as many as {name}, but record {} differs)",
                at.unwrap_or(0)
            )
        })
        .unwrap_or_default();
    Err(format!(
        "expected {}, found {} records{detail}",
        expected.join(" or "),
        found.len()
    ))
}

/// Hidden files in `dir` other than writer lock files (which stay by design).
fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("dataset directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.starts_with('.') && !name.ends_with(".roxlock"))
        .collect();
    names.sort();
    names
}

/// The failures of one scenario, reported together at its end.
struct Failures {
    scenario: &'static str,
    list: Vec<String>,
}

impl Failures {
    fn new(scenario: &'static str) -> Self {
        Self {
            scenario,
            list: Vec::new(),
        }
    }

    fn add(&mut self, context: impl fmt::Display, what: impl fmt::Display) {
        self.list
            .push(format!("scenario {}: {context}: {what}", self.scenario));
    }

    #[track_caller]
    fn check(self) {
        const SHOWN: usize = 40;
        if self.list.is_empty() {
            return;
        }
        let more = self.list.len().saturating_sub(SHOWN);
        let mut text = self.list[..self.list.len().min(SHOWN)].join("\n");
        if more > 0 {
            text.push_str(&format!("\n... and {more} more"));
        }
        panic!(
            "{} kill-point failure(s) in scenario {}:\n{text}",
            self.list.len(),
            self.scenario
        );
    }
}

/// Prints the one-line summary of a scenario.
fn summary(scenario: &str, tally: &Tally, extra: &str, start: Instant) {
    eprintln!(
        "killpoints {scenario}: {} kill points ({tally}){extra} in {:.1} s",
        tally.total(),
        start.elapsed().as_secs_f64()
    );
}

/// The checks after a killed run in `dir`: readers see one of the `allowed` states; a complete `rox recover`
/// succeeds and keeps what they saw, leaves no hidden files but the lock, and `rox verify` passes. Returns what
/// readers saw before the recover.
fn after_kill(
    dir: &Path,
    ds: Dataset,
    allowed: &[(&str, &Records)],
    context: &str,
    failures: &mut Failures,
) -> Option<Records> {
    let before = match read(dir, ds) {
        Ok(before) => before,
        Err(err) => {
            failures.add(context, format!("before recover: {err}"));
            return None;
        }
    };
    if let Err(err) = one_of(&before, allowed) {
        failures.add(context, format!("before recover: {err}"));
    }
    let recover = run_in(dir, &["rox", "recover", ds.target]);
    if recover.code != 0 || !recover.stderr.is_empty() {
        failures.add(
            context,
            format!(
                "`rox recover {}` failed ({}): {}",
                ds.target,
                recover.code,
                recover.stderr.trim()
            ),
        );
        return Some(before);
    }
    let when = "after a complete recover";
    let after = check_settled(dir, ds, allowed, context, when, failures);
    // Recover makes permanent what readers saw: it must not turn one allowed state into another.
    if let Some(after) = after.filter(|after| *after != before && one_of(after, allowed).is_ok()) {
        failures.add(
            context,
            format!(
                "readers saw {} records before recover and {} after it",
                before.len(),
                after.len()
            ),
        );
    }
    Some(before)
}

/// The checks of a dataset no write is pending on: readers see one of the `allowed` states, no hidden files but
/// the lock are left, and `rox verify` passes. Returns what readers see.
fn check_settled(
    dir: &Path,
    ds: Dataset,
    allowed: &[(&str, &Records)],
    context: &str,
    when: &str,
    failures: &mut Failures,
) -> Option<Records> {
    let found = match read(dir, ds) {
        Ok(found) => found,
        Err(err) => {
            failures.add(context, format!("{when}: {err}"));
            return None;
        }
    };
    if let Err(err) = one_of(&found, allowed) {
        failures.add(context, format!("{when}: {err}"));
    }
    let left = leftovers(dir);
    if !left.is_empty() {
        failures.add(
            context,
            format!("{when}: hidden files left behind: {}", left.join(" ")),
        );
    }
    if !found.is_empty() {
        let verify = run_in(dir, &["rox", "verify", ds.spec]);
        let text = verify.text();
        if verify.code != 0 || !text.starts_with("ok: ") {
            failures.add(
                context,
                format!(
                    "{when}: `rox verify {}` ({}): {}{}",
                    ds.spec,
                    verify.code,
                    text.trim(),
                    verify.stderr.trim()
                ),
            );
        }
    }
    Some(found)
}

/// The checks of a run that was not killed: it succeeded, and the dataset is `complete` and settled.
fn after_finish(
    run: &Run,
    dir: &Path,
    ds: Dataset,
    complete: (&str, &Records),
    context: &str,
    failures: &mut Failures,
) {
    if run.code != 0 || !run.stderr.is_empty() {
        failures.add(
            context,
            format!(
                "the run that was not killed failed ({}): {}",
                run.code,
                run.stderr.trim()
            ),
        );
        return;
    }
    check_settled(dir, ds, &[complete], context, "after it", failures);
}

// ---------------------------------------------------------------------------------------------------------------
// the scenarios

const SHARDED_OLD: [&str; 7] = [
    "rox",
    "pack",
    "ds",
    "--lines",
    "old.txt",
    "--max-shard-bytes",
    MAX_SHARD,
];
const SHARDED_APPEND: [&str; 8] = [
    "rox",
    "pack",
    "ds",
    "--append",
    "--lines",
    "new.txt",
    "--max-shard-bytes",
    MAX_SHARD,
];
const SHARDED_SECOND: [&str; 8] = [
    "rox",
    "pack",
    "ds",
    "--append",
    "--lines",
    "second.txt",
    "--max-shard-bytes",
    MAX_SHARD,
];

const SHARDED_OLD_CRC: [&str; 8] = [
    "rox",
    "pack",
    "ds",
    "--lines",
    "old.txt",
    "--max-shard-bytes",
    MAX_SHARD,
    "--checksums",
];
const SHARDED_APPEND_CRC: [&str; 9] = [
    "rox",
    "pack",
    "ds",
    "--append",
    "--lines",
    "new.txt",
    "--max-shard-bytes",
    MAX_SHARD,
    "--checksums",
];

/// The kill points of (a)'s append that leave a pending journal, with the state each leaves.
fn pending_states(template: &Path) -> Vec<(Point, TempDir)> {
    let mut states = Vec::new();
    let mut failures = Failures::new("a (sharded append), collecting pending journals");
    enumerate(
        template,
        &SHARDED_APPEND,
        &mut failures,
        |point, dir, _| {
            if dir.path().join(SHARDED.journal).exists() {
                states.push((point, dir));
            }
        },
        |_, _, _| {},
    );
    failures.check();
    states
}

/// The CLI makes its changes from one thread, so strace's per-thread counts are the process's.
#[test]
fn cli_mutates_from_one_thread() {
    let data = Data::new();
    let t = template(&data, &[&SHARDED_OLD]);
    let strace = strace();
    // An append, then the recovery of an append killed at its 4th rename (the journal was the 1st, then the new
    // shards): several shards to delete.
    let killed_at = Point {
        syscall: "rename",
        n: 4,
    };
    let pending = tempdir();
    copy_dir(t.path(), pending.path());
    assert!(run_killed(strace, pending.path(), &SHARDED_APPEND, killed_at).is_none());
    assert!(pending.path().join(SHARDED.journal).exists());
    for (dir, args) in [
        (t.path(), &SHARDED_APPEND[..]),
        (pending.path(), &["rox", "recover", "ds"]),
    ] {
        let log = dir.join("strace.log");
        let status = Command::new(strace)
            .args(["-f", "-qq", "-o"])
            .arg(&log)
            .arg("-e")
            .arg(format!(
                "trace={},clone,clone3,fork,vfork",
                SYSCALLS.join(",")
            ))
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_byteshelf"))
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .expect("strace starts");
        assert!(status.success(), "`byteshelf {}`: {status}", args.join(" "));
        let log = fs::read_to_string(&log).expect("strace log");
        let mut pids: Vec<&str> = log
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .collect();
        pids.dedup();
        assert_eq!(
            pids.len(),
            1,
            "`byteshelf {}` traced from more than one thread:\n{log}",
            args.join(" ")
        );
        for spawn in ["clone(", "clone3(", "fork(", "vfork("] {
            assert!(
                !log.contains(spawn),
                "`byteshelf {}` starts a thread or process:\n{log}",
                args.join(" ")
            );
        }
    }
}

/// (a) A sharded append, onto a last shard with room and on into new shards, killed at every point.
#[test]
fn killpoints_a_sharded_append() {
    let start = Instant::now();
    let data = Data::new();
    let (old, old_new) = (&data.old, &data.old_new());
    let t = template(&data, &[&SHARDED_OLD]);
    let mut failures = Failures::new("a (sharded append)");
    let mut pending = 0;
    let tally = enumerate(
        t.path(),
        &SHARDED_APPEND,
        &mut failures,
        |point, dir, failures| {
            pending += usize::from(dir.path().join(SHARDED.journal).exists());
            let context = format!("append killed at {point}");
            let allowed = [("old", old), ("old+new", old_new)];
            after_kill(dir.path(), SHARDED, &allowed, &context, failures);
        },
        |run, dir, failures| {
            let context = "append not killed";
            after_finish(&run, dir, SHARDED, ("old+new", old_new), context, failures);
        },
    );
    // The scenario must exercise what it is about: the appended shard's payload sync, several new shards.
    assert!(
        tally.of("fdatasync") >= 1 && tally.of("rename") >= 4,
        "the append no longer appends to the last shard and makes several new ones: {tally}"
    );
    summary(
        "a (sharded append)",
        &tally,
        &format!(", {pending} leaving a journal"),
        start,
    );
    failures.check();
}

/// (b) `rox recover` of (a)'s pending journals, itself killed at every point, then a complete recover.
#[test]
fn killpoints_b_recovery_killed() {
    let start = Instant::now();
    let data = Data::new();
    let old = &data.old;
    let t = template(&data, &[&SHARDED_OLD]);
    let all = pending_states(t.path());
    let pending_total = all.len();
    assert!(
        pending_total >= 10,
        "few appends leave a journal: {pending_total}"
    );
    let mut failures = Failures::new("b (recovery killed)");
    let mut tally = Tally::default();
    let chosen = spread(all, PENDING_FOR_RECOVERY);
    let starts = chosen.len();
    for (append_point, state) in chosen {
        let recovery = enumerate(
            state.path(),
            &["rox", "recover", SHARDED.target],
            &mut failures,
            |point, dir, failures| {
                let context = format!(
                    "append killed at {append_point}, then `rox recover` killed at {point}"
                );
                after_kill(dir.path(), SHARDED, &[("old", old)], &context, failures);
            },
            |run, dir, failures| {
                let context = format!("append killed at {append_point}, recover not killed");
                after_finish(&run, dir, SHARDED, ("old", old), &context, failures);
            },
        );
        tally.add(&recovery);
    }
    summary(
        "b (recovery killed)",
        &tally,
        &format!(" after {starts} of the {pending_total} append kill points that leave a journal"),
        start,
    );
    failures.check();
}

/// (c) The next append onto a dataset with (a)'s pending journal, killed at every point: it rolls the stale session
/// back when it opens, then appends its own records.
#[test]
fn killpoints_c_next_writer_rolls_back() {
    let start = Instant::now();
    let data = Data::new();
    let (old, old_second) = (&data.old, &data.old_second());
    let t = template(&data, &[&SHARDED_OLD]);
    let all = pending_states(t.path());
    let pending_total = all.len();
    let mut failures = Failures::new("c (next writer rolls back)");
    let mut tally = Tally::default();
    let chosen = spread(all, PENDING_FOR_NEXT_WRITER);
    let starts = chosen.len();
    for (append_point, state) in chosen {
        let next = enumerate(
            state.path(),
            &SHARDED_SECOND,
            &mut failures,
            |point, dir, failures| {
                let context = format!(
                    "append killed at {append_point}, then the next append killed at {point}"
                );
                let allowed = [("old", old), ("old+second", old_second)];
                after_kill(dir.path(), SHARDED, &allowed, &context, failures);
            },
            |run, dir, failures| {
                let context =
                    format!("append killed at {append_point}, the next append not killed");
                let complete = ("old+second", old_second);
                after_finish(&run, dir, SHARDED, complete, &context, failures);
            },
        );
        tally.add(&next);
    }
    summary(
        "c (next writer rolls back)",
        &tally,
        &format!(" after {starts} of the {pending_total} append kill points that leave a journal"),
        start,
    );
    failures.check();
}

/// (d1) An append to a single-file dataset, killed at every point.
#[test]
fn killpoints_d_single_file_append() {
    let start = Instant::now();
    let data = Data::new();
    let (old, old_new) = (&data.old, &data.old_new());
    let t = template(&data, &[&["rox", "pack", "one.rox", "--lines", "old.txt"]]);
    let append = ["rox", "pack", "one.rox", "--append", "--lines", "new.txt"];
    let mut failures = Failures::new("d (single-file append)");
    let tally = enumerate(
        t.path(),
        &append,
        &mut failures,
        |point, dir, failures| {
            let context = format!("append killed at {point}");
            let allowed = [("old", old), ("old+new", old_new)];
            after_kill(dir.path(), SINGLE, &allowed, &context, failures);
        },
        |run, dir, failures| {
            let context = "append not killed";
            after_finish(&run, dir, SINGLE, ("old+new", old_new), context, failures);
        },
    );
    assert!(
        tally.of("fdatasync") >= 1,
        "the append syncs the new payload before the index: {tally}"
    );
    summary("d (single-file append)", &tally, "", start);
    failures.check();
}

/// (d2) A fresh single-file dataset written and killed at every point: absent or complete.
#[test]
fn killpoints_d_fresh_single_file() {
    let start = Instant::now();
    let data = Data::new();
    let (none, new) = (&Records::new(), &data.new);
    let t = template(&data, &[]);
    let pack = ["rox", "pack", "fresh.rox", "--lines", "new.txt"];
    let mut failures = Failures::new("d (fresh single file)");
    let tally = enumerate(
        t.path(),
        &pack,
        &mut failures,
        |point, dir, failures| {
            let context = format!("write killed at {point}");
            let allowed = [("absent", none), ("new", new)];
            after_kill(dir.path(), FRESH_SINGLE, &allowed, &context, failures);
        },
        |run, dir, failures| {
            after_finish(
                &run,
                dir,
                FRESH_SINGLE,
                ("new", new),
                "write not killed",
                failures,
            );
        },
    );
    assert!(
        tally.of("rename") >= 1,
        "written under a temporary name: {tally}"
    );
    summary("d (fresh single file)", &tally, "", start);
    failures.check();
}

/// (d3) A fresh sharded dataset written and killed at every point: absent or complete, and the very same command
/// run again (no `recover` first) completes it.
#[test]
fn killpoints_d_fresh_sharded() {
    let start = Instant::now();
    let data = Data::new();
    let (none, new) = (&Records::new(), &data.new);
    let t = template(&data, &[]);
    let pack = [
        "rox",
        "pack",
        "fs",
        "--lines",
        "new.txt",
        "--max-shard-bytes",
        MAX_SHARD,
    ];
    let mut failures = Failures::new("d (fresh sharded)");
    let tally = enumerate(
        t.path(),
        &pack,
        &mut failures,
        |point, dir, failures| {
            let context = format!("write killed at {point}");
            let again = tempdir();
            copy_dir(dir.path(), again.path());
            let allowed = [("absent", none), ("new", new)];
            let seen = after_kill(dir.path(), FRESH_SHARDED, &allowed, &context, failures);
            if seen.is_some_and(|seen| seen.is_empty()) {
                let context = format!("write killed at {point}, then run again");
                let run = run_in(again.path(), &pack);
                after_finish(
                    &run,
                    again.path(),
                    FRESH_SHARDED,
                    ("new", new),
                    &context,
                    failures,
                );
            }
        },
        |run, dir, failures| {
            after_finish(
                &run,
                dir,
                FRESH_SHARDED,
                ("new", new),
                "write not killed",
                failures,
            );
        },
    );
    assert!(tally.of("rename") >= 4, "several shards: {tally}");
    summary("d (fresh sharded)", &tally, "", start);
    failures.check();
}

/// (e) (a) with checksum sidecars: the append extends the last shard's sidecar and writes one per new shard. After
/// every kill the dataset is old or old + new, `rox verify` (which checks every record a sidecar covers) passes,
/// and no sidecar is left describing records that a rollback removed.
#[test]
fn killpoints_e_sharded_append_with_checksums() {
    let start = Instant::now();
    let data = Data::new();
    let (old, old_new) = (&data.old, &data.old_new());
    let t = template(&data, &[&SHARDED_OLD_CRC]);
    let mut failures = Failures::new("e (sharded append with checksums)");
    let check_sidecars = |dir: &Path, context: &str, failures: &mut Failures| {
        let verify = run_in(dir, &["rox", "verify", SHARDED.spec]);
        let text = verify.text();
        if !text.contains("checked against") {
            failures.add(
                context,
                format!(
                    "`rox verify` checked nothing against sidecars: {}",
                    text.trim()
                ),
            );
        }
    };
    let tally = enumerate(
        t.path(),
        &SHARDED_APPEND_CRC,
        &mut failures,
        |point, dir, failures| {
            let context = format!("append killed at {point}");
            let allowed = [("old", old), ("old+new", old_new)];
            after_kill(dir.path(), SHARDED, &allowed, &context, failures);
            check_sidecars(dir.path(), &context, failures);
        },
        |run, dir, failures| {
            let context = "append not killed";
            after_finish(&run, dir, SHARDED, ("old+new", old_new), context, failures);
            check_sidecars(dir, context, failures);
        },
    );
    assert!(
        tally.of("rename") >= 8,
        "the append no longer renames shards and sidecars into place: {tally}"
    );
    summary("e (sharded append with checksums)", &tally, "", start);
    failures.check();
}

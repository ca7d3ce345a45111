//! Crash safety: an appending child process is killed at random points; nothing old may be lost.
//!
//! The test binary re-runs itself as the child (selected by an environment variable), so no extra binary is
//! needed. The child prints `started`, appends one batch, commits and exits; the parent kills it after a random
//! delay spread over the time a full append takes, then checks that the dataset opens and holds exactly the
//! old records or the old plus the whole batch, both before and after `recover()`.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use roxxel_format::{Dataset, Error, WriterOptions, recover};

use crate::common::{Rng, read_all, records};

const CHILD: &str = "ROXXEL_FORMAT_KILL_TEST_CHILD";
const TRIALS: u64 = 60;

fn batch(trial: u64) -> Vec<Vec<u8>> {
    records(40 + (trial as usize * 37) % 200, 400, trial as u8)
}

fn options(sharded: bool) -> WriterOptions {
    if sharded {
        WriterOptions::new().max_shard_bytes(8_000)
    } else {
        WriterOptions::new()
    }
}

/// The child: append one batch to the dataset at `path`, then exit.
fn child(spec: &str) -> ! {
    let mut parts = spec.split('|');
    let sharded = parts.next() == Some("sharded");
    let path = PathBuf::from(parts.next().expect("path"));
    let trial: u64 = parts.next().expect("trial").parse().expect("number");
    // Straight to the file descriptor: the test harness may capture `println!`.
    let mut out = std::io::stdout().lock();
    writeln!(out, "started")
        .and_then(|()| out.flush())
        .expect("child: stdout");
    let mut writer = options(sharded).open(&path).expect("child: open");
    writer.push_all(batch(trial)).expect("child: write");
    writer.finish().expect("child: finish");
    std::process::exit(0);
}

fn read_dataset(path: &Path, sharded: bool) -> Vec<Vec<u8>> {
    let opened = if sharded {
        Dataset::open(path.with_file_name("h_*.rox"))
    } else {
        Dataset::open(path)
    };
    match opened {
        Ok(ds) => {
            ds.verify().expect("a reopened dataset verifies");
            read_all(&ds)
        }
        // Before the first commit there is nothing (a fresh write is renamed into place only when complete).
        Err(Error::NoShards { .. }) => Vec::new(),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Vec::new()
        }
        Err(err) => panic!("dataset does not open after a kill: {err}"),
    }
}

fn run_child(path: &Path, sharded: bool, trial: u64, kill_after: Option<Duration>) -> Duration {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "kill::appends_survive_being_killed",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            CHILD,
            format!(
                "{}|{}|{trial}",
                if sharded { "sharded" } else { "single" },
                path.display()
            ),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    loop {
        match lines.next() {
            // The harness prints `test ... ... ` without a newline, so `started` ends that line.
            Some(Ok(line)) if line.ends_with("started") => break,
            Some(_) => {}
            None => break,
        }
    }
    let started = Instant::now();
    if let Some(delay) = kill_after {
        std::thread::sleep(delay);
        let _ = child.kill();
    }
    let status = child.wait().expect("wait");
    if kill_after.is_none() {
        assert!(
            status.success(),
            "an undisturbed child append failed: {status}"
        );
    }
    started.elapsed()
}

#[test]
fn appends_survive_being_killed() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec);
    }
    let dir = tempfile::tempdir().unwrap();
    let paths = [dir.path().join("s.rox"), dir.path().join("h.rox")];
    let mut state: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
    let mut rng = Rng::new(0x5eed);
    // Undisturbed runs first: they create the datasets and measure how long an append takes.
    let mut longest = Duration::ZERO;
    for (i, path) in paths.iter().enumerate() {
        let sharded = i == 1;
        for trial in [1000, 1001] {
            let took = run_child(path, sharded, trial, None);
            longest = longest.max(took);
            state[i].extend(batch(trial));
            assert_eq!(read_dataset(path, sharded), state[i]);
        }
    }
    let window = (longest.as_micros() as u64 * 3 / 2).max(1_000);
    let (mut kept_old, mut got_new, mut rolled_back) = (0, 0, 0);
    for trial in 0..TRIALS {
        let i = (trial % 2) as usize;
        let sharded = i == 1;
        let path = &paths[i];
        let delay = Duration::from_micros(rng.below(window));
        run_child(path, sharded, trial, Some(delay));

        let old = state[i].clone();
        let mut new = old.clone();
        new.extend(batch(trial));
        let seen = read_dataset(path, sharded);
        assert!(
            seen == old || seen == new,
            "trial {trial}: {} records after the kill, expected {} (old) or {} (old + new)",
            seen.len(),
            old.len(),
            new.len()
        );
        let recovery = recover(if sharded {
            path.with_file_name("h_0000.rox")
        } else {
            path.clone()
        })
        .unwrap();
        if !recovery.is_clean() {
            rolled_back += 1;
        }
        assert_eq!(
            read_dataset(path, sharded),
            seen,
            "trial {trial}: recover changed the visible records"
        );
        if seen == old {
            kept_old += 1;
        } else {
            got_new += 1;
        }
        state[i] = seen;
    }
    eprintln!(
        "{TRIALS} kills: old records kept {kept_old} times ({rolled_back} mid-append, rolled back), \
         new batch committed {got_new} times"
    );
    // Both outcomes should occur; otherwise the kills all landed outside the append and tested nothing.
    assert!(
        rolled_back > 0 && got_new > 0,
        "{rolled_back} kills landed mid-append, {got_new} appends completed"
    );
}

//! Integration tests of the `byteshelf` binary: the real executable on real files in temporary directories.

mod hostile;
mod index;
#[cfg(target_os = "linux")]
mod killpoints;
mod map;
mod remote;
mod rox;
#[path = "../../../sparse-buffer/tests/it/servers.rs"]
mod servers;
mod tour;
mod usage;

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// What one run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

impl Run {
    /// Stdout as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub(crate) fn ok(&self) -> &[u8] {
        assert_eq!(
            self.code, 0,
            "expected success, got {}; stderr: {}",
            self.code, self.stderr
        );
        assert!(self.stderr.is_empty(), "stderr on success: {}", self.stderr);
        &self.stdout
    }

    /// Asserts failure with `code`: exactly one `error: ` line on stderr mentioning every one of `needles`,
    /// and nothing that looks like a panic.
    #[track_caller]
    pub(crate) fn fails(&self, code: i32, needles: &[&str]) {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}; stderr: {}",
            self.code, self.stderr
        );
        assert_no_panic(&self.stderr);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one error line, got: {:?}",
            self.stderr
        );
        assert!(
            lines[0].starts_with("error: "),
            "not an error line: {:?}",
            lines[0]
        );
        for needle in needles {
            assert!(
                lines[0].contains(needle),
                "error line {:?} does not mention {needle:?}",
                lines[0]
            );
        }
    }
}

#[track_caller]
pub(crate) fn assert_no_panic(stderr: &str) {
    for marker in [
        "panicked",
        "RUST_BACKTRACE",
        "stack backtrace",
        "thread 'main'",
    ] {
        assert!(!stderr.contains(marker), "panic output on stderr: {stderr}");
    }
}

/// Runs `byteshelf args...` in `dir`.
pub(crate) fn run_in<S: AsRef<OsStr>>(dir: &Path, args: &[S]) -> Run {
    run_with_stdin(dir, args, None)
}

/// Runs `byteshelf args...` in `dir`, with `stdin` as its standard input.
pub(crate) fn run_with_stdin<S: AsRef<OsStr>>(dir: &Path, args: &[S], stdin: Option<&[u8]>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_byteshelf"));
    command
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "1")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the byteshelf binary starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input).expect("stdin accepts the input");
    }
    let output = child
        .wait_with_output()
        .expect("the byteshelf binary finishes");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A fresh temporary directory.
pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// Writes `bytes` to `dir/name`, creating parent directories.
pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("parent directory");
    }
    std::fs::write(path, bytes).expect("file written");
}

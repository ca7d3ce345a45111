//! Bad command lines exit 2 with one error line; help and version exit 0; a closed stdout is not an error.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::{assert_no_panic, run_in, run_with_stdin, tempdir};

#[test]
fn bad_usage_exits_2() {
    let dir = tempdir();
    let d = dir.path();
    run_with_stdin(
        d,
        &["rox", "pack", "ds.rox", "--lines", "-"],
        Some(b"a\nb\n"),
    )
    .ok();
    let cases: &[&[&str]] = &[
        &["frobnicate"],
        &["rox", "get", "ds.rox"],
        &["rox", "get", "ds.rox", "x"],
        &["rox", "cat", "ds.rox", "--range", "1-2"],
        &["rox", "cat", "ds.rox", "--sep", "tab"],
        &["rox", "pack", "new.rox"],
        &["rox", "pack", "new.rox", "--lines", "-", "in"],
        &["rox", "pack", "new.rox", "--lines", "-", "--footer", "03"],
        &[
            "rox", "pack", "new.rox", "--lines", "-", "--footer", "01", "--dtype", "int32",
        ],
        &[
            "rox",
            "pack",
            "new.rox",
            "--lines",
            "-",
            "--dtype",
            "complex128",
        ],
        &[
            "rox",
            "pack",
            "new.rox",
            "--lines",
            "-",
            "--max-shard-bytes",
            "0",
        ],
        &[
            "map",
            "build",
            "m.mb",
            "--jsonl",
            "-",
            "--format-version",
            "2",
        ],
        &[
            "map",
            "build",
            "m.mb",
            "--jsonl",
            "-",
            "--compress",
            "snappy",
        ],
        &["map", "get", "m.mb", "-1"],
        &["map", "get", "m.mb", "18446744073709551616"],
        &["index", "lookup", "x.spix"],
        &["tour", "--records", "1"],
        &["rox", "info", "ds.rox", "--jsn"],
    ];
    for args in cases {
        let run = run_with_stdin(d, args, Some(b""));
        run.fails(2, &[]);
        assert!(run.stdout.is_empty(), "{args:?} wrote to stdout");
    }
    assert!(!d.join("new.rox").exists());
    assert!(!d.join("m.mb").exists());
    // No command at all: the help, on stderr, and exit 2.
    let none = run_in(d, &[] as &[&str]);
    assert_eq!(none.code, 2);
    assert!(none.stderr.contains("Usage"), "{}", none.stderr);
}

#[test]
fn help_and_version_exit_0() {
    let dir = tempdir();
    let help = run_in(dir.path(), &["--help"]);
    assert!(help.text().contains("rox"), "{}", help.text());
    help.ok();
    for command in ["rox", "map", "index"] {
        run_in(dir.path(), &[command, "--help"]).ok();
    }
    let version = run_in(dir.path(), &["--version"]);
    assert!(version.text().starts_with("byteshelf "));
}

#[test]
fn closed_stdout_is_not_an_error() {
    let dir = tempdir();
    let d = dir.path();
    let lines: String = (0..50_000).map(|i| format!("record {i}\n")).collect();
    run_with_stdin(
        d,
        &["rox", "pack", "big.rox", "--lines", "-"],
        Some(lines.as_bytes()),
    )
    .ok();
    let mut child = Command::new(env!("CARGO_BIN_EXE_byteshelf"))
        .args(["rox", "cat", "big.rox"])
        .current_dir(d)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // stdout is closed now, like `byteshelf rox cat big.rox | head -c 100`.
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_no_panic(&stderr);
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(output.status.code(), Some(0));
    assert!(head.starts_with(b"record 0\nrecord 1\n"));
}

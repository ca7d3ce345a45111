//! `byteshelf tour` runs every part and succeeds.

use crate::{run_in, tempdir};

#[test]
fn tour_runs_every_part() {
    let dir = tempdir();
    let run = run_in(dir.path(), &["tour", "--records", "2000"]);
    let text = run.text();
    run.ok();
    for part in [
        "1. Roxxel",
        "2. MapBuffer",
        "3. Sparse index",
        "4. StreamBuffer",
        "5. RangeReader",
        "requests",
        "done in",
    ] {
        assert!(
            text.contains(part),
            "the tour output lacks {part:?}:\n{text}"
        );
    }
    // The temporary directory is gone.
    let first = text.lines().next().unwrap();
    let tmp = first.rsplit(" in ").next().unwrap();
    assert!(!std::path::Path::new(tmp).exists(), "{tmp} still exists");
    // ... and nothing was left in the current directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // The closing lines say how to make an index to try `index info` on: their commands work as printed.
    let printf = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("printf '"))
        .expect("a printf line");
    let (content, redirect) = printf.split_once("' > ").unwrap();
    let content = content.replace("\\t", "\t").replace("\\n", "\n");
    std::fs::write(dir.path().join(redirect.trim()), content).unwrap();
    let commands: Vec<Vec<&str>> = text
        .lines()
        .filter_map(|line| line.strip_prefix("  byteshelf "))
        .map(|command| command.split_whitespace().collect())
        .collect();
    assert_eq!(commands.len(), 3, "{text}");
    for command in &commands {
        run_in(dir.path(), command).ok();
    }
    let lookup = run_in(dir.path(), commands.last().unwrap());
    assert_eq!(
        lookup.text(),
        "entry 0: first key \"apple\", block 0..4096\n"
    );
}

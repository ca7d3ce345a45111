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
}

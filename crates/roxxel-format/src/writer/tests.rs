//! Fault injection for the writer: a sink that fails like a full disk after a byte budget.

use std::cell::Cell;
use std::io;

use crate::{Dataset, Error, WriterOptions};

thread_local! {
    static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Called by the writer's sink before every write in test builds.
pub(super) fn disk_full_check(len: usize) -> io::Result<()> {
    BUDGET.with(|budget| match budget.get() {
        Some(left) if left < len => Err(io::Error::new(
            io::ErrorKind::StorageFull,
            "simulated full disk",
        )),
        Some(left) => {
            budget.set(Some(left - len));
            Ok(())
        }
        None => Ok(()),
    })
}

fn with_budget<T>(bytes: usize, f: impl FnOnce() -> T) -> T {
    BUDGET.with(|b| b.set(Some(bytes)));
    let out = f();
    BUDGET.with(|b| b.set(None));
    out
}

fn records(n: usize, tag: u8) -> Vec<Vec<u8>> {
    (0..n).map(|i| vec![tag; 1 + i % 300]).collect()
}

#[test]
fn disk_full_during_append_keeps_old_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    let old = records(50, 1);
    let mut w = WriterOptions::new().open(&path).unwrap();
    w.push_all(&old).unwrap();
    w.finish().unwrap();
    let before = std::fs::read(&path).unwrap();

    for budget in [0, 1, 100, 5_000, 20_000, 300_000] {
        let result = with_budget(budget, || {
            let mut w = WriterOptions::new().open(&path)?;
            w.push_all(records(2_000, 2))?;
            w.finish()
        });
        let err = result.expect_err("the simulated disk is full");
        assert!(
            matches!(&err, Error::Io { source, .. } if source.kind() == io::ErrorKind::StorageFull),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), before, "budget {budget}");
        let ds = Dataset::open(&path).unwrap();
        let got: Vec<&[u8]> = ds.iter().collect::<Result<_, _>>().unwrap();
        assert_eq!(got, old.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }
}

#[test]
fn disk_full_during_sharded_write_leaves_no_new_shards() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.rox");
    let mut w = WriterOptions::new()
        .max_shard_bytes(1_000)
        .open(&path)
        .unwrap();
    w.push_all(records(10, 1)).unwrap();
    w.finish().unwrap();
    let listing = |d: &std::path::Path| {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| !n.to_string_lossy().ends_with(".roxlock"))
            .collect();
        v.sort();
        v
    };
    let files_before = listing(dir.path());
    let bytes_before: Vec<Vec<u8>> = files_before
        .iter()
        .map(|n| std::fs::read(dir.path().join(n)).unwrap())
        .collect();
    for budget in [10, 900, 5_000] {
        let err = with_budget(budget, || {
            let mut w = WriterOptions::new().max_shard_bytes(1_000).open(&path)?;
            w.push_all(records(100, 2))?;
            w.finish()
        })
        .expect_err("full disk");
        assert!(matches!(err, Error::Io { .. }), "{err}");
        assert_eq!(listing(dir.path()), files_before);
        let bytes_after: Vec<Vec<u8>> = files_before
            .iter()
            .map(|n| std::fs::read(dir.path().join(n)).unwrap())
            .collect();
        assert_eq!(bytes_after, bytes_before);
    }
}

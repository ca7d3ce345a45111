//! Interrupted sessions, frozen: the files of a dataset are copied while a writer is in the middle of a session,
//! which is exactly what a crash at that moment leaves on disk (minus the locks, which die with the process).

use std::path::Path;

use roxxel_format::{Dataset, Error, Shard, WriterOptions, recover};

use crate::common::{read_all, records, write};

/// Copies every file of `from` (hidden ones included) into `to`.
fn freeze(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn an_interrupted_single_file_append_reads_old_and_recovers_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let path = live.join("a.rox");
    let old = records(300, 200, 1);
    write(&path, &WriterOptions::new(), &old);
    let before = std::fs::read(&path).unwrap();

    let mut writer = WriterOptions::new().open(&path).unwrap();
    // More than the writer's buffer, so new payload has overwritten the old index on disk.
    writer.push_all(records(4_000, 300, 2)).unwrap();
    let crashed = dir.path().join("crashed");
    freeze(&live, &crashed);
    // While the writer is alive, other readers in this process see the old records too.
    assert_eq!(read_all(&Dataset::open(&path).unwrap()), old);
    writer.finish().unwrap();

    let copy = crashed.join("a.rox");
    assert_ne!(
        std::fs::read(&copy).unwrap(),
        before,
        "the frozen file is mid-append"
    );
    let ds = Dataset::open(&copy).unwrap();
    assert!(ds.shards()[0].is_rolled_back_view());
    assert_eq!(read_all(&ds), old);
    drop(ds);

    let report = recover(&copy).unwrap();
    assert!(!report.is_clean());
    assert_eq!(report.restored, std::slice::from_ref(&copy));
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        before,
        "rollback restores the exact old bytes"
    );
    assert!(!crashed.join(".a.roxjournal").exists());
    assert!(recover(&copy).unwrap().is_clean());
}

#[test]
fn the_next_writer_repairs_an_interrupted_append_first() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let path = live.join("a.rox");
    let old = records(50, 100, 3);
    write(&path, &WriterOptions::new(), &old);
    let mut writer = WriterOptions::new().open(&path).unwrap();
    writer.push_all(records(5_000, 100, 4)).unwrap();
    let crashed = dir.path().join("crashed");
    freeze(&live, &crashed);
    writer.abort().unwrap();

    let copy = crashed.join("a.rox");
    let more = records(10, 100, 5);
    write(&copy, &WriterOptions::new(), &more);
    let ds = Dataset::open(&copy).unwrap();
    assert!(!ds.shards()[0].is_rolled_back_view());
    assert_eq!(read_all(&ds), [old, more].concat());
}

#[test]
fn an_interrupted_sharded_session_is_invisible_and_removed_by_recover() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let base = live.join("s.rox");
    let opts = WriterOptions::new().max_shard_bytes(20_000);
    let old = records(100, 250, 6);
    write(&base, &opts, &old);
    let shards_before = crate::common::shard_files(&live);

    let mut writer = opts.open(&base).unwrap();
    writer.push_all(records(1_000, 250, 7)).unwrap();
    let crashed = dir.path().join("crashed");
    freeze(&live, &crashed);
    // The live session: new shards already renamed into place stay invisible to readers of the pattern.
    let pattern = live.join("s_*.rox");
    assert_eq!(read_all(&Dataset::open(&pattern).unwrap()), old);
    writer.finish().unwrap();
    assert_eq!(Dataset::open(&pattern).unwrap().len(), 1_100);

    let frozen_pattern = crashed.join("s_*.rox");
    let visible = crate::common::shard_files(&crashed);
    assert!(
        visible.len() > shards_before.len(),
        "the session had renamed new shards"
    );
    assert_eq!(read_all(&Dataset::open(&frozen_pattern).unwrap()), old);
    let (newest, _) = visible.last().unwrap();
    let err = Shard::open(crashed.join(newest)).unwrap_err();
    assert!(matches!(err, Error::Uncommitted { .. }), "{err}");
    assert!(err.to_string().contains(newest.as_str()));

    let report = recover(crashed.join("s.rox")).unwrap();
    assert!(!report.removed.is_empty());
    assert_eq!(crate::common::shard_files(&crashed), shards_before);
    assert_eq!(read_all(&Dataset::open(&frozen_pattern).unwrap()), old);
}

/// A rollback killed after deleting some of the session's shards (here: the first one, then also every other
/// one) leaves a gap; the next recovery must still delete the rest instead of publishing them.
#[test]
fn a_rollback_interrupted_after_deleting_some_shards_is_completed() {
    for keep_every_other in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("live");
        std::fs::create_dir(&live).unwrap();
        let base = live.join("s.rox");
        let old = records(60, 250, 8);
        write(&base, &WriterOptions::new().max_shard_bytes(4_096), &old);
        let shards_before = crate::common::shard_files(&live);

        let mut writer = WriterOptions::new()
            .max_shard_bytes(600)
            .open(&base)
            .unwrap();
        writer.push_all(records(80, 250, 9)).unwrap();
        let crashed = dir.path().join("crashed");
        freeze(&live, &crashed);
        writer.abort().unwrap();

        let new: Vec<String> = crate::common::shard_files(&crashed)
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| !shards_before.iter().any(|(old, _)| old == name))
            .collect();
        assert!(new.len() >= 4, "the session made several shards: {new:?}");
        for (i, name) in new.iter().enumerate() {
            if i == 0 || (keep_every_other && i % 2 == 0) {
                std::fs::remove_file(crashed.join(name)).unwrap();
            }
        }
        let pattern = crashed.join("s_*.rox");
        assert_eq!(read_all(&Dataset::open(&pattern).unwrap()), old);
        let report = recover(crashed.join("s.rox")).unwrap();
        assert_eq!(report.journals.len(), 1);
        assert_eq!(crate::common::shard_files(&crashed), shards_before);
        assert_eq!(read_all(&Dataset::open(&pattern).unwrap()), old);
        assert!(recover(crashed.join("s.rox")).unwrap().is_clean());
    }
}

/// A fresh sharded write that dies before its commit leaves no dataset: opening says so, and recovery removes
/// every file it made.
#[test]
fn an_interrupted_fresh_sharded_write_is_no_dataset_and_recovers_to_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let base = live.join("f.rox");
    let mut writer = WriterOptions::new()
        .max_shard_bytes(1_000)
        .open(&base)
        .unwrap();
    writer.push_all(records(50, 200, 10)).unwrap();
    let crashed = dir.path().join("crashed");
    freeze(&live, &crashed);
    writer.abort().unwrap();
    assert!(!crate::common::shard_files(&crashed).is_empty());

    let err = Dataset::open(crashed.join("f_*.rox")).unwrap_err();
    assert!(matches!(err, Error::NoShards { .. }), "{err}");
    let err = Dataset::open(&crashed).unwrap_err();
    assert!(matches!(err, Error::NoShards { .. }), "{err}");

    let report = recover(crashed.join("f.rox")).unwrap();
    assert!(!report.is_clean());
    assert!(crate::common::shard_files(&crashed).is_empty());
    let left: Vec<_> = std::fs::read_dir(&crashed)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != ".f.roxlock")
        .collect();
    assert!(left.is_empty(), "leftovers: {left:?}");
    // And the same write, run again, just works.
    let again = records(50, 200, 10);
    write(
        &crashed.join("f.rox"),
        &WriterOptions::new().max_shard_bytes(1_000),
        &again,
    );
    assert_eq!(
        read_all(&Dataset::open(crashed.join("f_*.rox")).unwrap()),
        again
    );
}

/// Temporary files of dead writers (a fresh file never renamed into place, a journal never renamed into place)
/// are removed by `recover` and by the next writer; a clean dataset is left alone.
#[test]
fn leftover_temporary_files_of_dead_writers_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let path = live.join("t.rox");
    let mut writer = WriterOptions::new().open(&path).unwrap();
    writer.push_all(records(400, 300, 11)).unwrap();
    let crashed = dir.path().join("crashed");
    freeze(&live, &crashed);
    writer.abort().unwrap();
    let temp = crashed.join(".t.rox.tmp");
    assert!(
        temp.exists(),
        "a fresh write happens under a temporary name"
    );
    let journal_temp = crashed.join("..t.roxjournal.tmp");
    std::fs::write(&journal_temp, b"half a journal").unwrap();
    let other = crashed.join(".other.rox.tmp");
    std::fs::write(&other, b"someone else's").unwrap();

    let report = recover(crashed.join("t.rox")).unwrap();
    assert!(!report.is_clean());
    assert!(report.journals.is_empty());
    let mut removed = report.removed.clone();
    removed.sort();
    assert_eq!(removed, [journal_temp.clone(), temp.clone()]);
    assert!(!temp.exists() && !journal_temp.exists());
    assert!(other.exists(), "files of other datasets stay");
    assert!(recover(crashed.join("t.rox")).unwrap().is_clean());

    // The next writer removes them too.
    std::fs::write(&journal_temp, b"half a journal").unwrap();
    write(
        &crashed.join("t.rox"),
        &WriterOptions::new(),
        &records(3, 10, 12),
    );
    assert!(!journal_temp.exists());
}

//! Hostile and huge inputs: nothing is allocated from a count in a footer, a large index is read in place, and
//! paths that are not regular files are refused without blocking.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use roxxel_format::{COPY_INDEX_LIMIT, Dataset, Error, Shard, WriterOptions};

/// A shard of `records` empty records as a sparse file: no payload, an index of zeros (every record ends at 0)
/// left as a hole, and a ROXXEL01 footer. It is a valid shard of `8 · records + 24` bytes that takes no disk.
fn sparse_empty_shard(path: &Path, records: u64) {
    let file = File::create(path).unwrap();
    let index_len = records * 8;
    file.set_len(index_len).unwrap();
    let mut footer = Vec::new();
    footer.extend_from_slice(&(records as i64).to_le_bytes());
    footer.extend_from_slice(&0i64.to_le_bytes());
    footer.extend_from_slice(b"ROXXEL01");
    std::os::unix::fs::FileExt::write_all_at(&file, &footer, index_len).unwrap();
}

#[test]
fn a_terabyte_shard_of_empty_records_opens_in_constant_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.rox");
    let records = 1u64 << 37;
    sparse_empty_shard(&path, records);
    let started = Instant::now();
    let shard = Shard::open(&path).unwrap();
    assert_eq!(shard.len(), records);
    assert_eq!(shard.get(0).unwrap(), b"");
    assert_eq!(shard.get(records - 1).unwrap(), b"");
    assert!(matches!(
        shard.get(records),
        Err(Error::IndexOutOfRange { .. })
    ));
    let dataset = Dataset::open(&path).unwrap();
    assert_eq!(dataset.len(), records);
    assert_eq!(dataset.get(records / 2).unwrap(), b"");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "opening is O(1): {:?}",
        started.elapsed()
    );
}

#[test]
fn a_large_index_is_read_in_place_and_appends_wait_for_its_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.rox");
    let records = COPY_INDEX_LIMIT / 8 + 1;
    sparse_empty_shard(&path, records);
    let shard = Shard::open(&path).unwrap();
    shard.verify().unwrap();
    assert_eq!(shard.iter().count() as u64, records);
    // The reader holds a shared lock while its map of the index lives: an append would overwrite that index.
    let err = WriterOptions::new().open(&path).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    drop(shard);
    let mut writer = WriterOptions::new().open(&path).unwrap();
    writer.push(b"after").unwrap();
    writer.finish().unwrap();
    let shard = Shard::open(&path).unwrap();
    assert_eq!(shard.len(), records + 1);
    assert_eq!(shard.get(records).unwrap(), b"after");
    assert_eq!(shard.get(records - 1).unwrap(), b"");
}

#[test]
fn a_small_index_is_copied_so_appends_do_not_wait_for_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.rox");
    sparse_empty_shard(&path, 1_000);
    let shard = Shard::open(&path).unwrap();
    let mut writer = WriterOptions::new().open(&path).unwrap();
    writer.push(b"x").unwrap();
    writer.finish().unwrap();
    assert_eq!(shard.len(), 1_000, "the open reader keeps its state");
    assert_eq!(Shard::open(&path).unwrap().len(), 1_001);
}

#[test]
fn paths_that_are_not_regular_files_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.rox");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let started = Instant::now();
    for path in [
        fifo.as_path(),
        Path::new("/dev/zero"),
        Path::new("/dev/null"),
    ] {
        let err = Shard::open(path).unwrap_err();
        assert!(matches!(err, Error::NotRegularFile { .. }), "{err}");
        assert!(err.to_string().contains("not a regular file"), "{err}");
        let err = Dataset::open(path).unwrap_err();
        assert!(matches!(err, Error::NotRegularFile { .. }), "{err}");
    }
    let err = Shard::open(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("not a regular file (a directory)"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

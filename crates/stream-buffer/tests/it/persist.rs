//! Saving the whole stream: `persist(path)` and `into_file()`.

use std::fs;
use std::io::{self, Read};

use byteshelf_stream_buffer::{Error, StreamBuffer};

use crate::common::{chunks, data};

#[test]
fn persist_drains_the_stream_and_saves_all_of_it() {
    let dir = tempfile::tempdir().unwrap();
    for threshold in [0, 1, 999, 5000, 1 << 20] {
        let data = data(5000);
        let buffer = StreamBuffer::builder()
            .memory_threshold(threshold)
            .spill_dir(dir.path())
            .build_from_chunks(chunks(&data, &[333, 1, 4096]));
        assert_eq!(buffer.read(100, 10).unwrap(), &data[100..110]);
        let path = dir.path().join(format!("saved-{threshold}.bin"));
        assert_eq!(buffer.persist(&path).unwrap(), 5000);
        assert_eq!(fs::read(&path).unwrap(), data, "threshold {threshold}");
        // The buffer stays usable, and persisting again overwrites atomically.
        assert_eq!(buffer.read(4990, 100).unwrap(), &data[4990..]);
        assert_eq!(buffer.persist(&path).unwrap(), 5000);
        assert_eq!(fs::read(&path).unwrap(), data);
    }
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names.len(),
        5,
        "no temporary files are left behind: {names:?}"
    );
}

#[test]
fn persist_of_a_failed_stream_leaves_the_destination_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.bin");
    fs::write(&path, b"old contents").unwrap();
    let items: Vec<io::Result<&'static [u8]>> = vec![Ok(b"new"), Err(io::Error::other("cut"))];
    let buffer = StreamBuffer::from_chunks(items);
    assert!(matches!(
        buffer.persist(&path),
        Err(Error::Source { offset: 3, .. })
    ));
    assert_eq!(fs::read(&path).unwrap(), b"old contents");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn persist_into_a_missing_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("saved.bin");
    let buffer = StreamBuffer::from_chunks([Ok::<_, io::Error>(b"abc")]);
    match buffer.persist(&path) {
        Err(Error::Persist {
            file: reported,
            source,
        }) => {
            assert_eq!(reported, path);
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("expected a persist error, got {other:?}"),
    }
}

#[test]
fn into_file_hands_over_the_whole_stream() {
    let dir = tempfile::tempdir().unwrap();
    for threshold in [0, 700, 2999, 3000, 10_000] {
        let data = data(3000);
        let buffer = StreamBuffer::builder()
            .memory_threshold(threshold)
            .spill_dir(dir.path())
            .build_from_chunks(chunks(&data, &[512]));
        buffer.read(1000, 1).unwrap();
        let mut file = buffer.into_file().unwrap();
        let mut all = Vec::new();
        file.read_to_end(&mut all).unwrap();
        assert_eq!(all, data, "threshold {threshold}");
    }
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the spool file has no name"
    );
}

/// A part file whose writer died (nobody holds its lock) is removed, by `remove_stale_parts` and by `persist`;
/// one whose writer is alive (its lock is held) is left alone, and so are files that only look like parts.
#[test]
fn stale_part_files_are_removed_and_live_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let stale = d.join(".stream-buffer-dead01.part");
    let live = d.join(".stream-buffer-alive1.part");
    fs::write(&stale, b"left by a killed writer").unwrap();
    fs::write(&live, b"being written").unwrap();
    let writer = fs::File::open(&live).unwrap();
    writer.try_lock().unwrap();
    // Not part files: another prefix, a directory, a symbolic link to a stale-looking file elsewhere.
    fs::write(d.join(".other-x.part"), b"").unwrap();
    fs::create_dir(d.join(".stream-buffer-dir000.part")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("target.bin");
    fs::write(&target, b"not ours").unwrap();
    std::os::unix::fs::symlink(&target, d.join(".stream-buffer-link00.part")).unwrap();

    let removed = byteshelf_stream_buffer::remove_stale_parts(d).unwrap();
    assert_eq!(removed, std::slice::from_ref(&stale));
    assert!(!stale.exists());
    assert_eq!(fs::read(&live).unwrap(), b"being written");
    assert!(d.join(".stream-buffer-dir000.part").is_dir());
    assert_eq!(fs::read(&target).unwrap(), b"not ours");
    assert!(
        byteshelf_stream_buffer::remove_stale_parts(d)
            .unwrap()
            .is_empty()
    );

    // `persist` cleans up too, before it writes, and still leaves the live part alone.
    fs::write(&stale, b"left by another killed writer").unwrap();
    let buffer = StreamBuffer::from_chunks([Ok::<_, io::Error>(&b"abc"[..])]);
    assert_eq!(buffer.persist(d.join("saved.bin")).unwrap(), 3);
    assert!(!stale.exists());
    assert_eq!(fs::read(&live).unwrap(), b"being written");
    // Once its writer is gone, the live part is stale too.
    drop(writer);
    assert_eq!(
        byteshelf_stream_buffer::remove_stale_parts(d).unwrap(),
        std::slice::from_ref(&live)
    );
}

#[test]
fn remove_stale_parts_of_a_missing_directory_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    match byteshelf_stream_buffer::remove_stale_parts(&missing) {
        Err(err @ Error::StalePart { .. }) => {
            assert!(err.to_string().contains("missing"), "{err}");
            assert_eq!(io::Error::from(err).kind(), io::ErrorKind::NotFound);
        }
        other => panic!("expected a StalePart error, got {other:?}"),
    }
}

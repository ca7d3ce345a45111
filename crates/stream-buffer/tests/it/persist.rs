//! Saving the whole stream: `persist(path)` and `into_file()`.

use std::fs;
use std::io::{self, Read};

use stream_buffer::{Error, StreamBuffer};

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
            path: reported,
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

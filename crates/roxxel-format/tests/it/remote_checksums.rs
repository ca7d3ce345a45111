//! `.crc` sidecar objects read by the remote readers (`RemoteOptions::verify_checksums`), against the local
//! reader with `OpenOptions::verify_checksums` on the same files: the same bytes, or the same error (same record,
//! offset and CRCs; the object's key where the local reader names the file). And `BlockingRemoteShard`, the
//! blocking facade of one remote shard, against the local `Shard`.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;
use roxxel_format::{
    BlockingRemoteDataset, BlockingRemoteShard, Checksums, Dataset, Error, RemoteOptions,
    RemoteShard, RemoteSpec, Shard, WriterOptions, sidecar_path,
};

use crate::common::{records, write};
use crate::servers::{Nginx, put, runtime};

/// Checksums on, `batch` records per iteration batch.
fn checked(batch: usize) -> RemoteOptions {
    RemoteOptions::default().verify_checksums(true).batch(batch)
}

fn open_ds(
    store: &Arc<dyn ObjectStore>,
    options: &RemoteOptions,
) -> roxxel_format::Result<BlockingRemoteDataset> {
    BlockingRemoteDataset::open(
        runtime(),
        Arc::clone(store),
        RemoteSpec::Prefix(Path::from("ds")),
        options,
    )
}

/// Every record of `remote` reads as `recs` says, in order, and the whole dataset verifies.
fn assert_reads_and_verifies(remote: &BlockingRemoteDataset, recs: &[Vec<u8>]) {
    let all: Vec<Vec<u8>> = remote.iter().map(|r| r.unwrap().to_vec()).collect();
    assert_eq!(all, recs);
    remote.verify().unwrap();
}

/// Writes `recs` into `dir` as `train_NNNN.rox` shards of at most `max_shard_bytes`, with sidecars when
/// `checksums`.
fn write_train(dir: &FsPath, recs: &[Vec<u8>], max_shard_bytes: u64, checksums: bool) {
    let options = WriterOptions::new()
        .checksums(checksums)
        .max_shard_bytes(max_shard_bytes);
    write(&dir.join("train"), &options, recs);
}

/// Every visible file of `dir` (shards and sidecars), sorted by name.
fn files(dir: &FsPath) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| !path.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    found.sort();
    found
}

/// An in-memory store holding every visible file of `dir` under `ds/`.
fn upload(dir: &FsPath) -> Arc<dyn ObjectStore> {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for path in files(dir) {
        let name = path.file_name().unwrap().to_string_lossy();
        put(&store, &format!("ds/{name}"), std::fs::read(&path).unwrap());
    }
    store
}

/// Flips the bits of `mask` at byte `at` of the file `dir/name` and of the object `ds/name`.
fn flip_both(dir: &FsPath, store: &Arc<dyn ObjectStore>, name: &str, at: u64, mask: u8) {
    let path = dir.join(name);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at as usize] ^= mask;
    std::fs::write(&path, &bytes).unwrap();
    put(store, &format!("ds/{name}"), bytes);
}

fn file_name(path: &FsPath) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// An error with the directory part of its file names left out, so that a local and a remote error compare: the
/// fields of the checksum errors in full, the variant of the others.
fn describe(err: &Error) -> String {
    match err {
        Error::ChecksumMismatch {
            file,
            record,
            offset,
            expected,
            actual,
        } => format!(
            "mismatch {} record {record} offset {offset} expected {expected:#x} actual {actual:#x}",
            file_name(file)
        ),
        Error::StaleChecksums {
            file,
            sidecar,
            records,
            offset,
            sidecar_end,
            shard_end,
        } => format!(
            "stale {} {} records {records} offset {offset} ends {sidecar_end} {shard_end}",
            file_name(file),
            file_name(sidecar)
        ),
        Error::BadChecksums { file, offset, .. } => {
            format!("bad sidecar {} offset {offset}", file_name(file))
        }
        other => format!("{:?}", std::mem::discriminant(other)),
    }
}

/// A record, or a described error.
fn outcome<T: AsRef<[u8]>>(result: roxxel_format::Result<T>) -> Result<Vec<u8>, String> {
    result
        .map(|r| r.as_ref().to_vec())
        .map_err(|e| describe(&e))
}

/// Where record `index` of a local shard starts in its payload.
fn start_of(shard: &Shard, index: u64) -> u64 {
    shard.range_bytes(0..index).unwrap().len() as u64
}

#[test]
fn a_flipped_payload_byte_is_a_checksum_mismatch_naming_the_object_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(300, 200, 3);
    write_train(dir.path(), &recs, 10_000, true);
    let store = upload(dir.path());
    let spec = dir.path().join("train_*.rox");
    let local = Dataset::open(&spec).unwrap();
    assert!(local.shards().len() >= 3);
    let (first_len, start) = (local.shards()[0].len(), start_of(&local.shards()[1], 3));
    assert!(start > 0);
    drop(local);
    let global = first_len + 3;
    flip_both(dir.path(), &store, "train_0001.rox", start, 0x10);
    let mut flipped = recs[global as usize].clone();
    flipped[0] ^= 0x10;

    // Without the option, the flipped bytes are read, remotely as locally.
    let plain = open_ds(&store, &RemoteOptions::default()).unwrap();
    assert!(plain.shards().iter().all(|s| s.checksums().is_none()));
    assert_eq!(plain.get(global).unwrap()[..], flipped[..]);
    assert_eq!(
        Dataset::open(&spec).unwrap().get(global).unwrap(),
        &flipped[..]
    );

    let remote = open_ds(&store, &checked(16)).unwrap();
    for (shard, sidecar) in remote
        .shards()
        .iter()
        .zip(files(dir.path()).iter().skip(1).step_by(2))
    {
        let sums = shard.checksums().expect("every shard has its sidecar");
        assert_eq!(sums.records(), shard.len());
        assert_eq!(
            sums.path(),
            FsPath::new(&format!("ds/{}", file_name(sidecar)))
        );
    }
    let err = remote.get(global).unwrap_err();
    match &err {
        Error::ChecksumMismatch {
            file,
            record,
            offset,
            expected,
            actual,
        } => {
            assert_eq!(file, FsPath::new("ds/train_0001.rox"));
            assert_eq!((*record, *offset), (3, start));
            assert_eq!(*expected, crc32c::crc32c(&recs[global as usize]));
            assert_eq!(*actual, crc32c::crc32c(&flipped));
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("ds/train_0001.rox"), "{err}");
    // Exactly the local reader's error.
    let local = Dataset::options()
        .verify_checksums(true)
        .open(&spec)
        .unwrap();
    let local_err = local.get(global).unwrap_err();
    assert_eq!(describe(&err), describe(&local_err));
    assert_eq!(
        local_err
            .to_string()
            .replace(&dir.path().display().to_string(), "ds"),
        err.to_string()
    );

    // Every read of the record fails alike; the others read.
    assert_eq!(
        describe(&remote.get_many(&[0, global]).unwrap_err()),
        describe(&err)
    );
    assert_eq!(
        remote.get(global + 1).unwrap()[..],
        recs[global as usize + 1][..]
    );
    assert_eq!(
        remote.get_many(&[global - 1, 0]).unwrap()[1][..],
        recs[0][..]
    );
    let results: Vec<_> = remote.iter().collect();
    let failed = results.iter().position(Result::is_err).unwrap();
    assert_eq!(
        failed as u64,
        global / 16 * 16,
        "the batch holding the record fails"
    );
    assert_eq!(results.len(), failed + 1, "iteration stops at the error");
    assert_eq!(
        describe(results[failed].as_ref().unwrap_err()),
        describe(&err)
    );
    let mut range = remote.range(global..global + 2).unwrap();
    assert_eq!(
        describe(&range.next().unwrap().unwrap_err()),
        describe(&err)
    );
    let after: Vec<Vec<u8>> = remote
        .range(global + 1..)
        .unwrap()
        .map(|r| r.unwrap().to_vec())
        .collect();
    assert_eq!(after, recs[global as usize + 1..]);
    assert_eq!(describe(&remote.verify().unwrap_err()), describe(&err));
    assert_eq!(describe(&local.verify().unwrap_err()), describe(&err));
    // The options' plain verify checks the index only, as before.
    plain.verify().unwrap();

    // The async shard, and its blocking facade.
    let shard = &remote.shards()[1];
    runtime()
        .block_on(async {
            use futures_util::TryStreamExt as _;
            assert_eq!(describe(&shard.get(3).await.unwrap_err()), describe(&err));
            assert_eq!(
                shard.get(2).await.unwrap()[..],
                recs[global as usize - 1][..]
            );
            let streamed: Result<Vec<_>, _> = shard.range(2..5).unwrap().try_collect().await;
            assert_eq!(describe(&streamed.unwrap_err()), describe(&err));
            assert_eq!(describe(&shard.verify().await.unwrap_err()), describe(&err));
        })
        .unwrap();
    let blocking = BlockingRemoteShard::open(
        runtime(),
        Arc::clone(&store),
        Path::from("ds/train_0001.rox"),
        &checked(2),
    )
    .unwrap();
    assert_eq!(describe(&blocking.get(3).unwrap_err()), describe(&err));
    assert_eq!(describe(&blocking.verify().unwrap_err()), describe(&err));

    // Flipped back: everything reads and verifies.
    flip_both(dir.path(), &store, "train_0001.rox", start, 0x10);
    let remote = open_ds(&store, &checked(16)).unwrap();
    assert_reads_and_verifies(&remote, &recs);
}

#[test]
fn shards_without_a_sidecar_object_read_unchecked_with_the_option_on() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(200, 150, 8);
    write_train(dir.path(), &recs, 8_000, true);
    // Only the first shard keeps its sidecar.
    for path in files(dir.path()).iter().skip(2) {
        if path.extension().is_some_and(|ext| ext == "crc") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let store = upload(dir.path());
    let remote = open_ds(&store, &checked(32)).unwrap();
    let has: Vec<bool> = remote
        .shards()
        .iter()
        .map(|s| s.checksums().is_some())
        .collect();
    assert!(
        has.len() >= 3 && has[0] && !has[1..].iter().any(|&h| h),
        "{has:?}"
    );
    assert_reads_and_verifies(&remote, &recs);

    // A flip in a shard without a sidecar is read as it is; in the shard with one, it is caught.
    let (first_len, second_start) = {
        let local = Dataset::open(dir.path().join("train_*.rox")).unwrap();
        (local.shards()[0].len(), start_of(&local.shards()[1], 1))
    };
    flip_both(dir.path(), &store, "train_0001.rox", second_start, 1);
    flip_both(dir.path(), &store, "train_0000.rox", 0, 1);
    let remote = open_ds(&store, &checked(32)).unwrap();
    let mut second = recs[first_len as usize + 1].clone();
    second[0] ^= 1;
    assert_eq!(remote.get(first_len + 1).unwrap()[..], second[..]);
    let err = remote.get(0).unwrap_err();
    assert!(
        matches!(&err, Error::ChecksumMismatch { file, record: 0, offset: 0, .. } if file == FsPath::new("ds/train_0000.rox")),
        "{err}"
    );

    // No sidecar anywhere: the option changes nothing.
    let bare = tempfile::tempdir().unwrap();
    write_train(bare.path(), &recs, 8_000, false);
    let store = upload(bare.path());
    let remote = open_ds(&store, &checked(1024)).unwrap();
    assert!(remote.shards().iter().all(|s| s.checksums().is_none()));
    assert_eq!(remote.get_many(&[199, 0]).unwrap()[0][..], recs[199][..]);
    remote.verify().unwrap();
}

#[test]
fn stale_and_damaged_sidecar_objects_fail_the_open_as_locally() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(120, 100, 4);
    write_train(dir.path(), &recs, 4_000, true);
    let shard_path = dir.path().join("train_0000.rox");
    let shard = Shard::open(&shard_path).unwrap();
    let (n, raw) = (shard.len(), shard.raw_data_size());
    drop(shard);
    let spec = dir.path().join("train_*.rox");
    let sidecar = sidecar_path(&shard_path);
    let good = std::fs::read(&sidecar).unwrap();

    // A sidecar of another version of the shard: same count, another payload end.
    let stale = Checksums::new(&vec![0; n as usize], raw + 1, "stale");
    for bytes in [
        stale.as_bytes().to_vec(),
        Checksums::new(&[7], 1, "x").as_bytes().to_vec(),
    ] {
        std::fs::write(&sidecar, &bytes).unwrap();
        let store = upload(dir.path());
        let err = open_ds(&store, &checked(8)).unwrap_err();
        match &err {
            Error::StaleChecksums { file, sidecar, .. } => {
                assert_eq!(file, FsPath::new("ds/train_0000.rox"));
                assert_eq!(sidecar, FsPath::new("ds/train_0000.rox.crc"));
            }
            other => panic!("{other:?}"),
        }
        let local = Dataset::options()
            .verify_checksums(true)
            .open(&spec)
            .unwrap_err();
        assert_eq!(describe(&err), describe(&local));
        // Without the option the sidecar is not even fetched.
        assert_eq!(
            open_ds(&store, &RemoteOptions::default()).unwrap().len(),
            120
        );
    }

    // A damaged sidecar.
    let mut damaged = good.clone();
    damaged[30] ^= 4;
    std::fs::write(&sidecar, &damaged).unwrap();
    let store = upload(dir.path());
    let err = open_ds(&store, &checked(8)).unwrap_err();
    assert!(
        matches!(&err, Error::BadChecksums { file, .. } if file == FsPath::new("ds/train_0000.rox.crc")),
        "{err}"
    );
    let local = Dataset::options()
        .verify_checksums(true)
        .open(&spec)
        .unwrap_err();
    assert_eq!(describe(&err), describe(&local));

    // A sidecar covering more records than the shard (left by an interrupted local session) is valid.
    std::fs::write(&sidecar, &good).unwrap();
    let mut longer: Vec<u32> = (0..n).map(|i| crc32c::crc32c(&recs[i as usize])).collect();
    longer.push(12345);
    std::fs::write(&sidecar, Checksums::new(&longer, raw + 9, "l").as_bytes()).unwrap();
    let store = upload(dir.path());
    let remote = open_ds(&store, &checked(8)).unwrap();
    assert_eq!(remote.shards()[0].checksums().unwrap().records(), n + 1);
    assert_eq!(remote.get(n - 1).unwrap()[..], recs[n as usize - 1][..]);
    remote.verify().unwrap();
}

/// A sidecar covering only the first records of a shard whose index is larger than the open's suffix read: the
/// pairing check fetches the one entry it compares; records past the sidecar are read unchecked.
#[test]
fn a_sidecar_covering_a_prefix_is_paired_with_a_fetched_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.rox");
    let first = records(100, 20, 1);
    let rest = records(19_900, 6, 2);
    write(&path, &WriterOptions::new().checksums(true), &first);
    write(&path, &WriterOptions::new(), &rest);
    let all = [first.clone(), rest].concat();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let bytes = std::fs::read(&path).unwrap();
    let raw_first: usize = first.iter().map(Vec::len).sum();
    put(&store, "ds/big.rox", bytes.clone());
    let sidecar = std::fs::read(sidecar_path(&path)).unwrap();
    put(&store, "ds/big.rox.crc", sidecar.clone());
    let open = |store: &Arc<dyn ObjectStore>| {
        BlockingRemoteShard::open(
            runtime(),
            Arc::clone(store),
            Path::from("ds/big.rox"),
            &checked(4096),
        )
    };

    let shard = open(&store).unwrap();
    assert_eq!(shard.len(), 20_000);
    assert_eq!(shard.shard().checksums().unwrap().records(), 100);
    assert_eq!(
        shard.stats().requests,
        1,
        "the pairing fetched the entry of record 99"
    );
    let read: Vec<Vec<u8>> = shard.iter().map(|r| r.unwrap().to_vec()).collect();
    assert_eq!(read, all);
    shard.verify().unwrap();

    // A flip past the sidecar goes unnoticed, one within it does not.
    let mut copy = bytes.clone();
    copy[raw_first] ^= 0x80; // the first byte of record 100
    put(&store, "ds/big.rox", copy);
    let shard = open(&store).unwrap();
    shard.verify().unwrap();
    assert_ne!(shard.get(100).unwrap()[..], all[100][..]);
    let mut copy = bytes.clone();
    copy[raw_first - 1] ^= 0x80;
    put(&store, "ds/big.rox", copy);
    let shard = open(&store).unwrap();
    let err = shard.verify().unwrap_err();
    let last_start = (raw_first - first[99].len()) as u64;
    assert!(
        matches!(err, Error::ChecksumMismatch { record: 99, offset, .. } if offset == last_start),
        "{err}"
    );

    // The same prefix sidecar with another payload end is stale, found through the fetched entry.
    put(&store, "ds/big.rox", bytes);
    let crcs: Vec<u32> = first.iter().map(|r| crc32c::crc32c(r)).collect();
    put(
        &store,
        "ds/big.rox.crc",
        Checksums::new(&crcs, raw_first as u64 + 1, "s")
            .as_bytes()
            .to_vec(),
    );
    let err = open(&store).unwrap_err();
    match err {
        Error::StaleChecksums {
            records,
            sidecar_end,
            shard_end,
            ..
        } => assert_eq!(
            (records, sidecar_end, shard_end),
            (100, raw_first as u64 + 1, raw_first as i64)
        ),
        other => panic!("{other:?}"),
    }
}

/// Over nginx (object_store's HTTP store): a sidecar is found and checked, a missing one (404) means none, and
/// any other answer fails the open.
#[test]
fn sidecar_objects_over_http() {
    let nginx = Nginx::start();
    let dir = tempfile::tempdir().unwrap();
    let recs = records(150, 120, 6);
    write_train(dir.path(), &recs, 3_000, true);
    assert!(
        files(dir.path()).len() >= 6,
        "three shards and their sidecars"
    );
    let root = nginx.root().join("ds");
    std::fs::create_dir(&root).unwrap();
    for path in files(dir.path()) {
        std::fs::copy(&path, root.join(file_name(&path))).unwrap();
    }
    let store = nginx.store();
    let open = |name: &str| {
        BlockingRemoteShard::open(
            runtime(),
            Arc::clone(&store),
            Path::from(format!("ds/{name}")),
            &checked(64),
        )
    };
    let shard = open("train_0000.rox").unwrap();
    assert!(shard.shard().checksums().is_some());
    let n = shard.len();
    assert_eq!(
        shard
            .iter()
            .map(|r| r.unwrap().to_vec())
            .collect::<Vec<_>>(),
        recs[..n as usize]
    );
    shard.verify().unwrap();
    let log = nginx.requests();
    assert!(
        log.iter()
            .any(|line| line.starts_with("GET /ds/train_0000.rox.crc - 200")),
        "{log:#?}"
    );

    // Flipped on the server: caught.
    let mut bytes = std::fs::read(root.join("train_0000.rox")).unwrap();
    bytes[5] ^= 1;
    std::fs::write(root.join("train_0000.rox"), &bytes).unwrap();
    let err = open("train_0000.rox").unwrap().get(0).unwrap_err();
    assert!(
        matches!(&err, Error::ChecksumMismatch { file, record: 0, offset: 0, .. } if file == FsPath::new("ds/train_0000.rox")),
        "{err}"
    );

    // No sidecar: a 404, read unchecked.
    std::fs::remove_file(root.join("train_0001.rox.crc")).unwrap();
    let shard = open("train_0001.rox").unwrap();
    assert!(shard.shard().checksums().is_none());
    shard.verify().unwrap();
    assert!(
        nginx
            .requests()
            .iter()
            .any(|line| line.starts_with("GET /ds/train_0001.rox.crc - 404")),
        "{:#?}",
        nginx.requests()
    );

    // Another answer than the sidecar or a 404 (here a directory where the sidecar should be) fails the open.
    std::fs::remove_file(root.join("train_0002.rox.crc")).unwrap();
    std::fs::create_dir(root.join("train_0002.rox.crc")).unwrap();
    let err = open("train_0002.rox").unwrap_err();
    assert!(
        matches!(&err, Error::Remote { file, .. } if file == FsPath::new("ds/train_0002.rox.crc")),
        "{err}"
    );
    // Without the option the shard opens.
    BlockingRemoteShard::open(
        runtime(),
        Arc::clone(&store),
        Path::from("ds/train_0002.rox"),
        &RemoteOptions::default(),
    )
    .unwrap()
    .verify()
    .unwrap();
}

/// Property: on random datasets written with checksums (some shards losing their sidecar, some bytes flipped),
/// the remote dataset with `verify_checksums` answers every read and `verify` exactly as the local dataset with
/// `verify_checksums` does: the same bytes, or the same error (record, offset, CRCs).
#[test]
fn remote_with_checksums_answers_like_local_with_checksums() {
    use proptest::prelude::*;

    let dataset = (
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..80),
        60..400u64,
        prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                1..=255u8,
            ),
            0..3,
        ),
        prop::collection::vec(any::<prop::sample::Index>(), 0..2),
        1..20usize,
    );
    proptest!(ProptestConfig::with_cases(24), |((recs, max_shard_bytes, flips, unsidecared, batch) in dataset)| {
        let dir = tempfile::tempdir().unwrap();
        write_train(dir.path(), &recs, max_shard_bytes, true);
        let shards: Vec<PathBuf> = files(dir.path())
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "rox"))
            .collect();
        for pick in &unsidecared {
            let _ = std::fs::remove_file(sidecar_path(pick.get::<PathBuf>(&shards)));
        }
        let store = upload(dir.path());
        for (shard, byte, mask) in &flips {
            let shard = shard.get::<PathBuf>(&shards);
            let raw = Shard::open(shard).unwrap().raw_data_size();
            if raw > 0 {
                flip_both(dir.path(), &store, &file_name(shard), byte.index(raw as usize) as u64, *mask);
            }
        }
        let local = Dataset::options()
            .verify_checksums(true)
            .open(dir.path().join("train_*.rox"))
            .unwrap();
        let remote = open_ds(&store, &checked(batch)).unwrap();
        prop_assert_eq!(local.len(), remote.len());
        for (near, far) in local.shards().iter().zip(remote.shards()) {
            prop_assert_eq!(
                near.checksums().map(Checksums::records),
                far.checksums().map(Checksums::records)
            );
        }
        for i in 0..local.len() {
            prop_assert_eq!(outcome(local.get(i)), outcome(remote.get(i)));
        }
        // A read of many records fails if one of them does; the local reader reports the first in the order
        // asked, the remote one the first of the shards it reads at once: one of the local errors.
        let errors = |indices: &mut dyn Iterator<Item = u64>| -> Vec<String> {
            indices.filter_map(|i| local.get(i).err()).map(|e| describe(&e)).collect()
        };
        let wanted: Vec<u64> = (0..local.len()).rev().step_by(3).collect();
        match (local.get_many(&wanted), remote.get_many(&wanted)) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a.len(), b.len());
                for (a, b) in a.iter().zip(&b) {
                    prop_assert_eq!(*a, &b[..]);
                }
            }
            (Err(_), Err(b)) => {
                prop_assert!(errors(&mut wanted.iter().copied()).contains(&describe(&b)));
            }
            (a, b) => prop_assert!(false, "local ok {}, remote ok {}", a.is_ok(), b.is_ok()),
        }
        // Iteration: the same records up to the batch (one `get_many`) holding the first bad record, which fails
        // with one of its records' errors, and ends there.
        let near: Vec<_> = local.iter().map(outcome).collect();
        let far: Vec<_> = remote.iter().map(outcome).collect();
        match near.iter().position(Result::is_err) {
            None => prop_assert_eq!(&far, &near),
            Some(at) => {
                let start = at / batch * batch;
                prop_assert_eq!(far.len(), start + 1);
                prop_assert_eq!(&far[..start], &near[..start]);
                let end = (start + batch).min(near.len());
                let failed = far[start].clone().unwrap_err();
                prop_assert!(errors(&mut (start as u64..end as u64)).contains(&failed));
            }
        }
        // `verify`: both fail or neither; the remote one (several shards at once) with one of the local shards'.
        let shard_errors: Vec<String> = local
            .shards()
            .iter()
            .filter_map(|s| s.verify().err())
            .map(|e| describe(&e))
            .collect();
        match (local.verify(), remote.verify()) {
            (Ok(()), Ok(())) => {}
            (Err(a), Err(b)) => {
                prop_assert_eq!(&shard_errors[0], &describe(&a));
                prop_assert!(shard_errors.contains(&describe(&b)));
            }
            (a, b) => prop_assert!(false, "local {a:?}, remote {b:?}"),
        }
    });
}

/// `BlockingRemoteShard` answers like the local `Shard`: `len`, `is_empty`, `get`, `get_many`, `iter` (and
/// `for record in &shard`), `range`, `verify`, `fetch_index`, `stats`; and `RemoteShard::blocking` gives the same
/// facade over a shard opened with the async API.
#[test]
fn the_blocking_shard_facade_reads_like_the_local_shard() {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(500, 90, 2);
    write_train(dir.path(), &recs, 1 << 30, true);
    write(&dir.path().join("empty.rox"), &WriterOptions::new(), &[]);
    let store = upload(dir.path());
    let local = Shard::open(dir.path().join("train_0000.rox")).unwrap();
    let options = RemoteOptions::default().batch(64);
    let remote = BlockingRemoteShard::open(
        runtime(),
        Arc::clone(&store),
        Path::from("ds/train_0000.rox"),
        &options,
    )
    .unwrap();
    assert_eq!(remote.len(), local.len());
    assert_eq!(remote.len(), 500);
    assert!(!remote.is_empty());
    assert_eq!(remote.shard().path(), FsPath::new("ds/train_0000.rox"));
    assert!(remote.shard().checksums().is_none(), "option off");
    for index in [0, 1, 250, 499] {
        assert_eq!(remote.get(index).unwrap()[..], *local.get(index).unwrap());
    }
    let kind = |err: Error| std::mem::discriminant(&err);
    assert_eq!(
        kind(remote.get(500).unwrap_err()),
        kind(local.get(500).unwrap_err())
    );
    let wanted = [499, 0, 7, 7, 300];
    let many: Vec<Vec<u8>> = remote
        .get_many(&wanted)
        .unwrap()
        .iter()
        .map(|r| r.to_vec())
        .collect();
    let expected: Vec<Vec<u8>> = local
        .get_many(&wanted)
        .unwrap()
        .iter()
        .map(|r| r.to_vec())
        .collect();
    assert_eq!(many, expected);
    assert!(matches!(
        remote.get_many(&[0, 500]),
        Err(Error::IndexOutOfRange { .. })
    ));
    let all: Vec<Vec<u8>> = remote.iter().map(|r| r.unwrap().to_vec()).collect();
    assert_eq!(all, recs);
    let mut looped = 0;
    for record in &remote {
        assert_eq!(record.unwrap()[..], recs[looped][..]);
        looped += 1;
    }
    assert_eq!(looped, 500);
    for (start, end) in [(0, 500), (63, 130), (500, 500), (499, 500)] {
        let some: Vec<Vec<u8>> = remote
            .range(start..end)
            .unwrap()
            .map(|r| r.unwrap().to_vec())
            .collect();
        let near: Vec<Vec<u8>> = local
            .range(start..end)
            .unwrap()
            .map(|r| r.unwrap().to_vec())
            .collect();
        assert_eq!(some, near);
    }
    assert_eq!(
        kind(remote.range(0..501).unwrap_err()),
        kind(local.range(0..501).unwrap_err())
    );
    assert!(remote.range(3..=500).is_err());
    remote.verify().unwrap();

    // The facade's counters are the reader's: with the whole index fetched, a cold record costs one request.
    let fresh = BlockingRemoteShard::open(
        runtime(),
        Arc::clone(&store),
        Path::from("ds/train_0000.rox"),
        &RemoteOptions::default().reader(
            sparse_buffer::ReaderOptions::default()
                .read_ahead(0)
                .min_request(0)
                .tail_read(0),
        ),
    )
    .unwrap();
    assert_eq!(fresh.stats().requests, 0);
    fresh.fetch_index().unwrap();
    let after_index = fresh.stats().requests;
    assert!(after_index >= 1);
    assert_eq!(fresh.get(123).unwrap()[..], recs[123][..]);
    assert_eq!(fresh.stats().requests, after_index + 1);
    assert_eq!(fresh.stats(), fresh.shard().reader().stats());
    // Clones share the shard and its cache.
    let clone = fresh.clone();
    assert_eq!(clone.get(123).unwrap()[..], recs[123][..]);
    assert_eq!(fresh.stats().requests, after_index + 1);
    assert!(Arc::ptr_eq(clone.shard(), fresh.shard()));

    // `RemoteShard::blocking` over an async open; an empty shard.
    let shard = runtime()
        .block_on(RemoteShard::open(
            Arc::clone(&store),
            Path::from("ds/empty.rox"),
            &options,
        ))
        .unwrap()
        .unwrap();
    let empty = shard.blocking(runtime());
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
    assert_eq!(empty.iter().count(), 0);
    assert_eq!(empty.range(..).unwrap().count(), 0);
    assert!(matches!(empty.get(0), Err(Error::IndexOutOfRange { .. })));
    empty.verify().unwrap();
    empty.fetch_index().unwrap();

    // A missing object names itself.
    let err = BlockingRemoteShard::open(runtime(), store, Path::from("ds/missing.rox"), &options)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Remote { file, .. } if file == FsPath::new("ds/missing.rox")),
        "{err}"
    );
}

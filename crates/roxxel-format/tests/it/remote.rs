//! `RemoteDataset` (through its blocking facade, and async) over object_store's in-memory store (against the local reader), over nginx through
//! the HTTP store (request counts of the targets, from the counters and from nginx's access log), and
//! over moto through the S3 store.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;
use roxxel_format::format::{Footer, FooterKind, encode_index};
use roxxel_format::{
    BlockingRemoteDataset, Error, RemoteDataset, RemoteOptions, RemoteSpec, WriterOptions,
};

use crate::common::{records, write};
use crate::servers::{Moto, Nginx, put, runtime};

/// The blocking facade with the default options, on the test binary's runtime.
fn open_remote(
    store: Arc<dyn ObjectStore>,
    spec: impl Into<RemoteSpec>,
) -> roxxel_format::Result<BlockingRemoteDataset> {
    open_batched(store, spec, RemoteOptions::default().batch)
}

/// As [`open_remote`], iterating `batch` records at a time.
fn open_batched(
    store: Arc<dyn ObjectStore>,
    spec: impl Into<RemoteSpec>,
    batch: usize,
) -> roxxel_format::Result<BlockingRemoteDataset> {
    BlockingRemoteDataset::open(
        runtime(),
        store,
        spec,
        &RemoteOptions::default().batch(batch),
    )
}

/// Shard files: (name, bytes).
type Files = Vec<(String, Vec<u8>)>;

/// A sharded dataset written locally: its shard files and its records.
fn sharded(n: usize) -> (Files, Vec<Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let recs = records(n, 300, 5);
    write(
        &dir.path().join("train"),
        &WriterOptions::new().max_shard_bytes(20_000),
        &recs,
    );
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "rox"))
        .map(|path| {
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 3, "several shards: {}", files.len());
    (files, recs)
}

#[test]
fn in_memory_store_reads_like_the_local_dataset() {
    let (files, recs) = sharded(600);
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for (name, bytes) in &files {
        put(&store, &format!("ds/{name}"), bytes.clone());
    }
    put(&store, "ds/.train_0009.rox.tmp", b"not a shard".to_vec());
    put(&store, "ds/notes.txt", b"not a shard".to_vec());

    let dataset = open_remote(Arc::clone(&store), RemoteSpec::Prefix(Path::from("ds"))).unwrap();
    assert_eq!(dataset.shards().len(), files.len());
    assert_eq!(dataset.len(), recs.len() as u64);
    for index in [0, 1, 17, 299, 599] {
        assert_eq!(dataset.get(index).unwrap()[..], recs[index as usize][..]);
    }
    assert_eq!(dataset.get_signed(-1).unwrap()[..], recs[599][..]);
    let wanted = [598, 3, 3, 250, 0, 431];
    let got = dataset.get_many(&wanted).unwrap();
    for (index, record) in wanted.iter().zip(&got) {
        assert_eq!(record[..], recs[*index as usize][..]);
    }
    let all: Vec<_> = dataset.iter().map(|r| r.unwrap().to_vec()).collect();
    assert_eq!(all, recs);
    let batched =
        open_batched(Arc::clone(&store), RemoteSpec::Prefix(Path::from("ds")), 7).unwrap();
    let some: Vec<_> = batched
        .range(100..130)
        .unwrap()
        .map(|r| r.unwrap().to_vec())
        .collect();
    assert_eq!(some, recs[100..130]);
    let tail: Vec<_> = batched
        .range(590..)
        .unwrap()
        .map(|r| r.unwrap().to_vec())
        .collect();
    assert_eq!(tail, recs[590..]);
    assert!(matches!(
        batched.range(590..601),
        Err(Error::IndexOutOfRange { .. })
    ));
    dataset.verify().unwrap();
    assert!(matches!(
        dataset.get(600),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        dataset.get_many(&[1, 600]),
        Err(Error::IndexOutOfRange { .. })
    ));

    // Paths in an explicit order.
    let paths: Vec<Path> = files
        .iter()
        .rev()
        .map(|(name, _)| Path::from(format!("ds/{name}")))
        .collect();
    let reversed = open_remote(Arc::clone(&store), paths).unwrap();
    assert_eq!(reversed.len(), 600);

    assert!(matches!(
        open_remote(Arc::clone(&store), RemoteSpec::Prefix(Path::from("empty"))),
        Err(Error::NoShards { .. })
    ));
}

#[test]
fn corrupt_remote_shards_are_typed_errors() {
    let (files, recs) = sharded(600);
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let mut bytes = files[0].1.clone();
    let footer =
        Footer::parse(&bytes[bytes.len() - 32..], bytes.len() as u64, "x".as_ref()).unwrap();
    // Record 5's end points past the payload.
    let at = (footer.raw_data_size + 5 * 8) as usize;
    bytes[at..at + 8].copy_from_slice(&(footer.raw_data_size + 1).to_le_bytes());
    put(&store, "bad.rox", bytes.clone());
    let dataset = open_remote(Arc::clone(&store), Path::from("bad.rox")).unwrap();
    let err = dataset.get(5).unwrap_err();
    assert!(
        matches!(err, Error::BadIndexEntry { record: 5, offset, .. } if offset == at as u64),
        "{err}"
    );
    assert!(matches!(
        dataset.get_many(&[1, 5]),
        Err(Error::BadIndexEntry { .. })
    ));
    // Its neighbours' entries are sound: record 4 reads.
    assert_eq!(dataset.get(4).unwrap()[..], recs[4][..]);

    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    put(&store, "badmagic.rox", bytes);
    assert!(matches!(
        open_remote(Arc::clone(&store), Path::from("badmagic.rox")),
        Err(Error::BadMagic { .. })
    ));
    let missing = open_remote(store, Path::from("missing.rox")).unwrap_err();
    assert!(matches!(missing, Error::Remote { .. }), "{missing}");
    assert!(missing.to_string().contains("missing.rox"), "{missing}");
}

/// A shard of `n` records of 100 bytes (record `i` is byte `i % 251` repeated), built directly from the format
/// functions (a debug-mode writer would take seconds for a million records).
fn hundred_byte_shard(n: u64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(n as usize * 108 + 32);
    for i in 0..n {
        bytes.extend_from_slice(&[(i % 251) as u8; 100]);
    }
    let ends: Vec<u64> = (1..=n).map(|i| i * 100).collect();
    encode_index(&ends, &mut bytes);
    let footer = Footer {
        kind: FooterKind::Roxxel02,
        records: n,
        raw_data_size: n * 100,
        dtype: Some(roxxel_format::Dtype::UINT8),
    };
    bytes.extend_from_slice(&footer.to_bytes());
    bytes
}

fn expect_record(record: &[u8], index: u64) {
    assert_eq!(record, [(index % 251) as u8; 100], "record {index}");
}

/// The targets on a 1M × 100 B dataset served by nginx: a cold `get` in ≤ 3 requests, a warm one in 1,
/// `get_many` of 1,000 random records in ≤ 3 (as many as object_store's `get_ranges`) — counted by the reader,
/// the source and nginx's access log.
#[test]
fn million_record_dataset_over_http_meets_the_request_targets() {
    const N: u64 = 1_000_000;
    let nginx = Nginx::start();
    std::fs::write(nginx.root().join("big.rox"), hundred_byte_shard(N)).unwrap();
    let store = nginx.store();

    // Cold get: the footer's suffix request, the index entries, the record.
    let dataset = open_remote(Arc::clone(&store), Path::from("big.rox")).unwrap();
    assert_eq!(dataset.len(), N);
    expect_record(&dataset.get(123_456).unwrap(), 123_456);
    assert_eq!(dataset.stats().requests, 2);
    assert_eq!(dataset.shards()[0].reader().source().requests(), 3);
    let log = nginx.requests();
    assert_eq!(log.len(), 3, "{log:#?}");
    assert!(
        log[0].starts_with("GET /big.rox bytes=-65536 206"),
        "{log:#?}"
    );

    // get_many of 1,000 random records on a fresh open: the index entries in one plan, the records in another.
    let before = nginx.request_count();
    let dataset = open_remote(Arc::clone(&store), Path::from("big.rox")).unwrap();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let indices: Vec<u64> = (0..1000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % N
        })
        .collect();
    let got = dataset.get_many(&indices).unwrap();
    for (record, &index) in got.iter().zip(&indices) {
        expect_record(record, index);
    }
    let requests = dataset.shards()[0].reader().source().requests();
    let logged = nginx.request_count() - before;
    assert_eq!(requests as usize, logged);
    // object_store's get_ranges needs as many: the suffix, one coalesced span of entries, one of records.
    assert!(
        requests <= 3,
        "get_many of 1,000 random records took {requests} requests (get_ranges: 3)"
    );
    eprintln!(
        "get_many(1000 random of 1M x 100 B): {requests} requests (open included), {} bytes fetched",
        dataset.stats().bytes_fetched
    );

    // Warm: with the index cached, a get anywhere is one request.
    let dataset = open_remote(Arc::clone(&store), Path::from("big.rox")).unwrap();
    dataset.fetch_index().unwrap();
    let before = nginx.request_count();
    for index in [7, 500_000, 999_999] {
        expect_record(&dataset.get(index).unwrap(), index);
    }
    assert_eq!(
        nginx.request_count() - before,
        3,
        "one request per warm get"
    );
}

/// The example of docs/remote.md: a sharded dataset uploaded to S3 (moto) and read back by prefix.
#[test]
fn sharded_dataset_from_s3() {
    let moto = Moto::start();
    let store = moto.store();
    let (files, recs) = sharded(600);
    for (name, bytes) in &files {
        put(&store, &format!("datasets/train/{name}"), bytes.clone());
    }
    let dataset = open_remote(
        Arc::clone(&store),
        RemoteSpec::Prefix(Path::from("datasets/train")),
    )
    .unwrap();
    assert_eq!(dataset.len(), 600);
    assert_eq!(dataset.shards().len(), files.len());
    let got = dataset.get_many(&[599, 0, 300]).unwrap();
    assert_eq!(
        [&got[0][..], &got[1][..], &got[2][..]],
        [&recs[599][..], &recs[0][..], &recs[300][..]]
    );
    let all: Vec<_> = dataset.iter().map(|r| r.unwrap().to_vec()).collect();
    assert_eq!(all, recs);
}

/// The async API on the caller's runtime: the same answers as the blocking facade, from a multi-thread test
/// runtime, with the record stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_dataset_on_the_callers_runtime() {
    use futures_util::TryStreamExt as _;
    use object_store::ObjectStoreExt as _;

    let (files, recs) = sharded(600);
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for (name, bytes) in &files {
        store
            .put(&Path::from(format!("ds/{name}")), bytes.clone().into())
            .await
            .unwrap();
    }
    let options = RemoteOptions::default().batch(50);
    let dataset = RemoteDataset::open(
        Arc::clone(&store),
        RemoteSpec::Prefix(Path::from("ds")),
        &options,
    )
    .await
    .unwrap();
    assert_eq!(dataset.len(), 600);
    assert_eq!(dataset.get(17).await.unwrap()[..], recs[17][..]);
    assert_eq!(dataset.get_signed(-1).await.unwrap()[..], recs[599][..]);
    let all: Vec<_> = dataset.iter().try_collect().await.unwrap();
    assert_eq!(all.len(), 600);
    assert!(all.iter().zip(&recs).all(|(a, b)| a[..] == b[..]));
    let some: Vec<_> = dataset.range(10..=20).unwrap().try_collect().await.unwrap();
    assert_eq!(some.len(), 11);
    dataset.verify().await.unwrap();
    // The futures are Send: the dataset can be shared with spawned tasks.
    let dataset = Arc::new(dataset);
    let task = tokio::spawn({
        let dataset = Arc::clone(&dataset);
        async move { dataset.get_many(&[599, 0]).await }
    });
    let got = task.await.unwrap().unwrap();
    assert_eq!((&got[0][..], &got[1][..]), (&recs[599][..], &recs[0][..]));
    // The blocking facade refuses to block a worker thread.
    let err =
        open_remote(Arc::clone(&store), Path::from(format!("ds/{}", files[0].0))).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Remote {
                source: sparse_buffer::Error::BlockingInRuntime,
                ..
            }
        ),
        "{err}"
    );
}

/// Checks that a dataset whose shard is replaced by `replace` after the open refuses to read the new version, and
/// that a new open through `fresh` (another client, so no pooled connection the server may have dropped after
/// refusing a read: the tests' stores do not retry) reads the new one.
fn shard_replaced_mid_read(
    store: Arc<dyn ObjectStore>,
    fresh: Arc<dyn ObjectStore>,
    replace: impl FnOnce(),
) {
    let dataset = open_remote(Arc::clone(&store), Path::from("v.rox")).unwrap();
    // Record 5 and 1 MiB of read-ahead: records 25,000 on are 2.5 MB further.
    expect_record(&dataset.get(5).unwrap(), 5);
    replace();
    let err = dataset.get(25_000).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Remote {
                source: sparse_buffer::Error::ObjectChanged { .. },
                file,
            } if file.ends_with("v.rox")
        ),
        "{err}"
    );
    eprintln!("{err}");
    // The records read before are still served, from the cache of the old version.
    expect_record(&dataset.get(5).unwrap(), 5);
    // A new open reads the new version.
    drop(store);
    let reopened = open_remote(fresh, Path::from("v.rox")).unwrap();
    assert_eq!(reopened.len(), 30_001);
    expect_record(&reopened.get(25_000).unwrap(), 25_000);
}

#[test]
fn a_shard_replaced_on_nginx_is_refused_not_mixed() {
    let nginx = Nginx::start();
    std::fs::write(nginx.root().join("v.rox"), hundred_byte_shard(30_000)).unwrap();
    let root = nginx.root();
    // Replaced atomically (a new file renamed over the old), as an object store replaces an object: a file cut short
    // while nginx sends it would fail that response for a reason other than the one tested.
    shard_replaced_mid_read(nginx.store(), nginx.store(), || {
        std::fs::write(root.join(".v.rox.new"), hundred_byte_shard(30_001)).unwrap();
        std::fs::rename(root.join(".v.rox.new"), root.join("v.rox")).unwrap();
    });
}

#[test]
fn a_shard_replaced_on_s3_is_refused_not_mixed() {
    let moto = Moto::start();
    let store = moto.store();
    put(&store, "v.rox", hundred_byte_shard(30_000));
    let replacement = Arc::clone(&store);
    shard_replaced_mid_read(store, moto.store(), move || {
        put(&replacement, "v.rox", hundred_byte_shard(30_001));
    });
}

/// One read of the parity property.
#[derive(Debug, Clone)]
enum Read {
    Get(i64),
    GetMany(Vec<u64>),
    Range(u64, u64),
}

/// A sharded dataset of `n` records written locally, and its shards copied to `ds/` in an in-memory store.
fn sharded_in_store(
    n: usize,
    seed: u8,
) -> (
    tempfile::TempDir,
    roxxel_format::Dataset,
    Arc<dyn ObjectStore>,
) {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("train"),
        &WriterOptions::new().max_shard_bytes(20_000),
        &records(n, 300, seed),
    );
    let local = roxxel_format::Dataset::open(dir.path().to_str().unwrap()).unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for shard in local.shards() {
        let name = shard.path().file_name().unwrap().to_string_lossy();
        put(
            &store,
            &format!("ds/{name}"),
            std::fs::read(shard.path()).unwrap(),
        );
    }
    (dir, local, store)
}

/// Property: over random reads (in range or not, negative indices, repeated and unordered batches, ranges), the
/// remote dataset (blocking facade, in-memory store) gives exactly what the local `Dataset` gives: the same
/// bytes, or an error of the same kind.
#[test]
fn remote_reads_answer_like_local_reads() {
    use proptest::prelude::*;

    let (_dir, local, store) = sharded_in_store(600, 5);
    let remote =
        open_batched(Arc::clone(&store), RemoteSpec::Prefix(Path::from("ds")), 37).unwrap();
    assert!(remote.shards().len() >= 3);
    let len = local.len();
    let read = prop_oneof![
        (-700..700i64).prop_map(Read::Get),
        prop::collection::vec(0..len + 3, 0..40).prop_map(Read::GetMany),
        (0..len + 3, 0..len + 3).prop_map(|(a, b)| Read::Range(a, b)),
    ];
    let kind = |err: &Error| std::mem::discriminant(err);
    proptest!(ProptestConfig::with_cases(64), |(reads in prop::collection::vec(read, 1..12))| {
        for read in reads {
            match read {
                Read::Get(index) => match (local.get_signed(index), remote.get_signed(index)) {
                    (Ok(a), Ok(b)) => prop_assert_eq!(a, &b[..]),
                    (Err(a), Err(b)) => prop_assert_eq!(kind(&a), kind(&b)),
                    (a, b) => prop_assert!(false, "{index}: local {a:?}, remote {b:?}"),
                },
                Read::GetMany(indices) => match (local.get_many(&indices), remote.get_many(&indices)) {
                    (Ok(a), Ok(b)) => {
                        prop_assert_eq!(a.len(), b.len());
                        for (a, b) in a.iter().zip(&b) {
                            prop_assert_eq!(*a, &b[..]);
                        }
                    }
                    (Err(a), Err(b)) => prop_assert_eq!(kind(&a), kind(&b)),
                    (a, b) => prop_assert!(false, "{indices:?}: local {:?}, remote {:?}", a.map(|v| v.len()), b.map(|v| v.len())),
                },
                Read::Range(start, end) => match (local.range(start..end), remote.range(start..end)) {
                    (Ok(a), Ok(b)) => {
                        let a: Vec<Vec<u8>> = a.map(|r| r.unwrap().to_vec()).collect();
                        let b: Vec<Vec<u8>> = b.map(|r| r.unwrap().to_vec()).collect();
                        prop_assert_eq!(a, b);
                    }
                    (Err(a), Err(b)) => prop_assert_eq!(kind(&a), kind(&b)),
                    (a, b) => prop_assert!(false, "{start}..{end}: local ok {}, remote ok {}", a.is_ok(), b.is_ok()),
                },
            }
        }
    });
}

/// Each `RemoteShard` offers the local `Shard`'s reads (`len`, `get`, `get_many`, `iter`, `range`, `verify`) and
/// answers them alike: the same bytes, or an error of the same kind.
#[test]
fn remote_shards_answer_like_local_shards() {
    use futures_util::TryStreamExt as _;

    let (_dir, local, store) = sharded_in_store(400, 9);
    let remote = open_batched(Arc::clone(&store), RemoteSpec::Prefix(Path::from("ds")), 5).unwrap();
    assert_eq!(remote.shards().len(), local.shards().len());
    assert!(local.shards().len() >= 3);
    let kind = |err: &Error| std::mem::discriminant(err);
    let to_vecs = |records: Vec<bytes::Bytes>| -> Vec<Vec<u8>> {
        records.iter().map(|r| r.to_vec()).collect()
    };
    for (near, far) in local.shards().iter().zip(remote.shards()) {
        let n = near.len();
        assert_eq!(far.len(), n);
        let wanted = [n - 1, 0, n / 2, 0];
        runtime()
            .block_on(async {
                for index in [0, n / 3, n - 1] {
                    assert_eq!(near.get(index).unwrap(), &far.get(index).await.unwrap()[..]);
                }
                let (a, b) = (near.get(n).unwrap_err(), far.get(n).await.unwrap_err());
                assert_eq!(kind(&a), kind(&b));
                let many: Vec<Vec<u8>> = near
                    .get_many(&wanted)
                    .unwrap()
                    .iter()
                    .map(|r| r.to_vec())
                    .collect();
                assert_eq!(many, to_vecs(far.get_many(&wanted).await.unwrap()));
                let (a, b) = (
                    near.get_many(&[0, n]).unwrap_err(),
                    far.get_many(&[0, n]).await.unwrap_err(),
                );
                assert_eq!(kind(&a), kind(&b));
                let all: Vec<Vec<u8>> = near.iter().map(|r| r.unwrap().to_vec()).collect();
                assert_eq!(all, to_vecs(far.iter().try_collect().await.unwrap()));
                for (start, end) in [(0, n), (1, n / 2 + 3), (n, n)] {
                    let some: Vec<Vec<u8>> = near
                        .range(start..end)
                        .unwrap()
                        .map(|r| r.unwrap().to_vec())
                        .collect();
                    let got = far.range(start..end).unwrap().try_collect().await.unwrap();
                    assert_eq!(some, to_vecs(got));
                }
                assert!(near.range(0..n + 1).is_err() && far.range(0..n + 1).is_err());
                near.verify().unwrap();
                far.verify().await.unwrap();
            })
            .unwrap();
    }
}

//! `RemoteMapBuffer` over object_store's in-memory store (against the local reader, both index modes, corrupt
//! values, the index cache file), over nginx through the HTTP store (the request targets on 1M keys, from
//! the counters and the access log), and over moto through the S3 store.

use std::sync::Arc;

use mapbuffer::{
    BlockingRemoteMapBuffer, Codec, Error, FormatVersion, IndexCacheUse, IndexMode, MapBuffer,
    MapBufferBuilder, RemoteMapBuffer, RemoteOptions,
};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;

use crate::servers::{Moto, Nginx, put, runtime};

fn entries(n: u64) -> Vec<(u64, Vec<u8>)> {
    (0..n)
        .map(|i| {
            (
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 3,
                format!("value {i}")
                    .repeat((i % 5) as usize + 1)
                    .into_bytes(),
            )
        })
        .collect()
}

fn open(
    store: &Arc<dyn ObjectStore>,
    path: &str,
    options: RemoteOptions,
) -> BlockingRemoteMapBuffer {
    BlockingRemoteMapBuffer::open(runtime(), Arc::clone(store), Path::from(path), options)
        .expect("open remote map")
}

#[test]
fn in_memory_store_answers_like_the_local_map() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for codec in crate::codecs() {
        // Past 64 KiB of index for one codec (the index is not all read with the header); small for the others,
        // whose debug-mode compressors are slow.
        let n = if codec == Codec::None { 5000 } else { 300 };
        let all = entries(n);
        for version in crate::VERSIONS {
            let bytes = MapBufferBuilder::new()
                .codec(codec)
                .format_version(version)
                .to_vec(all.clone())
                .unwrap();
            let local = MapBuffer::from_bytes(bytes.clone()).unwrap();
            let name = format!("m-{codec}-{version}.mb");
            put(&store, &name, bytes);
            for mode in [IndexMode::Whole, IndexMode::OnDemand] {
                let remote = open(&store, &name, RemoteOptions::default().index(mode));
                assert_eq!(remote.len(), n as usize);
                for (key, value) in all.iter().step_by(37) {
                    assert_eq!(remote.get(*key).unwrap().as_deref(), Some(&value[..]));
                    assert_eq!(local.get(*key).unwrap().as_deref(), Some(&value[..]));
                }
                assert_eq!(remote.get(u64::MAX).unwrap(), None);
                assert_eq!(remote.contains(1).unwrap(), local.contains(1));
                let keys = [all[10].0, 12345, all[n as usize - 1].0, all[0].0];
                let many = remote.get_many(&keys).unwrap();
                for (key, got) in keys.iter().zip(many) {
                    assert_eq!(got.as_deref(), local.get(*key).unwrap().as_deref());
                }
            }
        }
    }
    // An empty map.
    put(
        &store,
        "empty.mb",
        MapBufferBuilder::new()
            .to_vec(Vec::<(u64, Vec<u8>)>::new())
            .unwrap(),
    );
    let empty = open(&store, "empty.mb", RemoteOptions::default());
    assert!(empty.is_empty());
    assert_eq!(empty.get(1).unwrap(), None);
}

#[test]
fn corrupt_remote_maps_are_typed_errors() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let all = entries(100);
    let bytes = MapBufferBuilder::new()
        .codec(Codec::None)
        .format_version(FormatVersion::V1)
        .to_vec(all.clone())
        .unwrap();
    let local = MapBuffer::from_bytes(bytes.clone()).unwrap();
    let slot = local.slot_of(all[7].0).unwrap();
    let entry = local.raw_entry(slot).unwrap();

    // A flipped payload byte: the CRC catches it.
    let mut flipped = bytes.clone();
    flipped[entry.offset as usize] ^= 1;
    put(&store, "flipped.mb", flipped);
    for mode in [IndexMode::Whole, IndexMode::OnDemand] {
        let map = open(&store, "flipped.mb", RemoteOptions::default().index(mode));
        assert!(matches!(map.get(all[7].0), Err(Error::CrcMismatch { .. })));
        let unchecked = open(
            &store,
            "flipped.mb",
            RemoteOptions::default().index(mode).check_crc(false),
        );
        assert!(unchecked.get(all[7].0).unwrap().is_some());
    }

    // An offset pointing into the index.
    let mut bad_offset = bytes.clone();
    let at = 16 + slot * 16 + 8;
    bad_offset[at..at + 8].copy_from_slice(&20u64.to_le_bytes());
    put(&store, "offset.mb", bad_offset);
    let map = open(
        &store,
        "offset.mb",
        RemoteOptions::default().index(IndexMode::OnDemand),
    );
    assert!(
        matches!(map.get(all[7].0), Err(Error::CorruptOffset { at: field, .. }) if field == at as u64)
    );

    // Truncated: the object cannot hold its index.
    put(&store, "short.mb", bytes[..100].to_vec());
    assert!(matches!(
        BlockingRemoteMapBuffer::open(
            runtime(),
            Arc::clone(&store),
            Path::from("short.mb"),
            RemoteOptions::default()
        ),
        Err(Error::Truncated { .. })
    ));
    put(&store, "magic.mb", b"notamapbuffer!!!".to_vec());
    assert!(matches!(
        BlockingRemoteMapBuffer::open(
            runtime(),
            Arc::clone(&store),
            Path::from("magic.mb"),
            RemoteOptions::default()
        ),
        Err(Error::BadMagic { .. })
    ));
    let missing = BlockingRemoteMapBuffer::open(
        runtime(),
        store,
        Path::from("missing.mb"),
        RemoteOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(missing, Error::Remote(_)), "{missing}");
    assert!(missing.to_string().contains("missing.mb"), "{missing}");
}

#[test]
fn the_index_cache_is_refused_and_rebuilt_when_the_object_changes() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("m.mbi");
    // 6,000 keys: 96 KB of index, more than comes with the header.
    let first = entries(6000);
    put(
        &store,
        "m.mb",
        MapBufferBuilder::new().to_vec(first.clone()).unwrap(),
    );
    let options = RemoteOptions::default().index_cache(&cache);

    let map = open(&store, "m.mb", options.clone());
    assert_eq!(map.index_cache_use(), IndexCacheUse::Created);
    assert_eq!(map.reader().source().requests(), 2, "header, index");

    // Loaded: no index request; a lookup is one request.
    let map = open(&store, "m.mb", options.clone());
    assert_eq!(map.index_cache_use(), IndexCacheUse::Loaded);
    assert_eq!(
        map.get(first[5].0).unwrap().as_deref(),
        Some(&first[5].1[..])
    );
    assert_eq!(map.reader().source().requests(), 2, "header, value");

    // The object is replaced by another map of the same size (same keys, other values of equal length): the
    // ETag differs, the cache is refused and rebuilt, and the answers are the new map's.
    let second: Vec<_> = first
        .iter()
        .map(|(k, v)| (*k, v.iter().map(|b| b ^ 0x20).collect::<Vec<u8>>()))
        .collect();
    put(
        &store,
        "m.mb",
        MapBufferBuilder::new().to_vec(second.clone()).unwrap(),
    );
    let map = open(&store, "m.mb", options.clone());
    assert_eq!(map.index_cache_use(), IndexCacheUse::Rebuilt);
    assert_eq!(
        map.get(first[5].0).unwrap().as_deref(),
        Some(&second[5].1[..])
    );
    assert_eq!(
        open(&store, "m.mb", options.clone()).index_cache_use(),
        IndexCacheUse::Loaded
    );

    // A damaged cache file: refused and rebuilt.
    let mut damaged = std::fs::read(&cache).unwrap();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    std::fs::write(&cache, damaged).unwrap();
    assert_eq!(
        open(&store, "m.mb", options.clone()).index_cache_use(),
        IndexCacheUse::Rebuilt
    );

    // Another object's cache: refused.
    put(
        &store,
        "other.mb",
        MapBufferBuilder::new().to_vec(first).unwrap(),
    );
    let other = open(&store, "other.mb", options);
    assert_eq!(other.index_cache_use(), IndexCacheUse::Rebuilt);
}

/// A map of `n` keys (key `3·i`, value the 8 bytes of `i`), format 1, no codec.
fn big_map(n: u64) -> Vec<u8> {
    MapBufferBuilder::new()
        .codec(Codec::None)
        .to_vec((0..n).map(|i| (3 * i, i.to_le_bytes())))
        .unwrap()
}

/// The targets on a 1M-key map served by nginx: a cold `get` in ≤ 3 requests, a warm one in 1;
/// with an index cache file, a cold `get` in 2.
#[test]
fn million_key_map_over_http_meets_the_request_targets() {
    const N: u64 = 1_000_000;
    let nginx = Nginx::start();
    std::fs::write(nginx.root().join("big.mb"), big_map(N)).unwrap();
    let store = nginx.store();
    let dir = tempfile::tempdir().unwrap();

    let map = open(&store, "big.mb", RemoteOptions::default());
    assert_eq!(
        map.get(3 * 123_456).unwrap().as_deref(),
        Some(&123_456u64.to_le_bytes()[..])
    );
    assert_eq!(map.reader().source().requests(), 3, "header, index, value");
    assert_eq!(nginx.request_count(), 3);
    for i in [0, 999_999, 500_000] {
        let before = nginx.request_count();
        assert_eq!(
            map.get(3 * i).unwrap().as_deref(),
            Some(&i.to_le_bytes()[..])
        );
        assert_eq!(
            nginx.request_count() - before,
            1,
            "a warm get is one request"
        );
    }
    let before = nginx.request_count();
    assert_eq!(map.get(1).unwrap(), None);
    assert_eq!(
        nginx.request_count(),
        before,
        "an absent key costs no request once the index is held"
    );

    // With the index cache file: header and value.
    let options = RemoteOptions::default().index_cache(dir.path().join("big.mbi"));
    assert_eq!(
        open(&store, "big.mb", options.clone()).index_cache_use(),
        IndexCacheUse::Created
    );
    let before = nginx.request_count();
    let map = open(&store, "big.mb", options);
    assert_eq!(map.index_cache_use(), IndexCacheUse::Loaded);
    assert_eq!(
        map.get(3 * 77).unwrap().as_deref(),
        Some(&77u64.to_le_bytes()[..])
    );
    assert_eq!(
        nginx.request_count() - before,
        2,
        "a cold get with the cache: header and value"
    );

    // On demand: fewer bytes, one request per index level below the first 64 KiB.
    let map = open(
        &store,
        "big.mb",
        RemoteOptions::default().index(IndexMode::OnDemand),
    );
    let before = nginx.request_count();
    assert_eq!(
        map.get(3 * 654_321).unwrap().as_deref(),
        Some(&654_321u64.to_le_bytes()[..])
    );
    let cold = nginx.request_count() - before + 1;
    let bytes = map.reader().stats().bytes_fetched;
    assert!(cold <= 12, "on-demand cold get: {cold} requests");
    eprintln!(
        "on-demand cold get on 1M keys: {cold} requests (header included), {bytes} bytes after the header"
    );
}

#[test]
fn s3_store_through_moto() {
    let moto = Moto::start();
    let store = moto.store();
    let all = entries(2000);
    put(
        &store,
        "maps/m.mb",
        MapBufferBuilder::new()
            .codec(Codec::None)
            .to_vec(all.clone())
            .unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let options = RemoteOptions::default().index_cache(dir.path().join("m.mbi"));
    assert_eq!(
        open(&store, "maps/m.mb", options.clone()).index_cache_use(),
        IndexCacheUse::Created
    );
    let map = open(&store, "maps/m.mb", options);
    assert_eq!(map.index_cache_use(), IndexCacheUse::Loaded);
    for (key, value) in all.iter().step_by(101) {
        assert_eq!(map.get(*key).unwrap().as_deref(), Some(&value[..]));
    }
}

/// The async API on the caller's runtime, both index modes, and the blocking facade's refusal on a worker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_map_on_the_callers_runtime() {
    use futures_util::{StreamExt as _, TryStreamExt as _};
    use object_store::ObjectStoreExt as _;

    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let all = entries(5000);
    let bytes = MapBufferBuilder::new().to_vec(all.clone()).unwrap();
    store.put(&Path::from("a.mb"), bytes.into()).await.unwrap();
    for mode in [IndexMode::Whole, IndexMode::OnDemand] {
        let map = Arc::new(
            RemoteMapBuffer::open(
                Arc::clone(&store),
                Path::from("a.mb"),
                RemoteOptions::default().index(mode),
            )
            .await
            .unwrap(),
        );
        assert_eq!(map.len(), 5000);
        let (key, value) = &all[4321];
        assert_eq!(map.get(*key).await.unwrap().as_deref(), Some(&value[..]));
        assert!(!map.contains(u64::MAX).await.unwrap());
        let keys: Vec<u64> = all.iter().step_by(97).map(|(k, _)| *k).collect();
        let task = tokio::spawn({
            let map = Arc::clone(&map);
            let keys = keys.clone();
            async move { map.get_many(&keys).await }
        });
        let got = task.await.unwrap().unwrap();
        for (value, (_, expected)) in got.iter().zip(all.iter().step_by(97)) {
            assert_eq!(value.as_deref(), Some(&expected[..]));
        }
        map.verify().await.unwrap();
        // iter: every entry in ascending key order, like the local map's.
        let local =
            MapBuffer::from_bytes(MapBufferBuilder::new().to_vec(all.clone()).unwrap()).unwrap();
        let remote: Vec<(u64, Vec<u8>)> = map
            .iter()
            .map(|entry| entry.map(|(k, v)| (k, v.to_vec())))
            .try_collect()
            .await
            .unwrap();
        let expected: Vec<(u64, Vec<u8>)> = local
            .iter()
            .map(|e| e.map(|(k, v)| (k, v.to_vec())).unwrap())
            .collect();
        assert_eq!(remote, expected);
    }
    let err = BlockingRemoteMapBuffer::open(
        runtime(),
        Arc::clone(&store),
        Path::from("a.mb"),
        RemoteOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Remote(sparse_buffer::Error::BlockingInRuntime)),
        "{err}"
    );
}

/// Checks that a map replaced by `replace` after the open refuses to read a value of the new version through
/// the old index.
/// The blocking iterator in batches: every entry in key order, in `ceil(n / batch)` value plans after the index.
#[test]
fn blocking_iter_matches_the_local_map_in_batches() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let all = entries(3000);
    let bytes = MapBufferBuilder::new().to_vec(all.clone()).unwrap();
    let local = MapBuffer::from_bytes(bytes.clone()).unwrap();
    put(&store, "it.mb", bytes);
    let map = open(&store, "it.mb", RemoteOptions::default().batch(500));
    let remote: Vec<(u64, Vec<u8>)> = map
        .iter()
        .map(|e| e.map(|(k, v)| (k, v.to_vec())).unwrap())
        .collect();
    let expected: Vec<(u64, Vec<u8>)> = local
        .iter()
        .map(|e| e.map(|(k, v)| (k, v.to_vec())).unwrap())
        .collect();
    assert_eq!(remote, expected);
    // The index, then six batches of values, each one plan (the values of a batch are within 64 KiB of each
    // other here, so each plan is one request).
    assert!(
        map.reader().stats().requests <= 1 + 6 * 500,
        "{:?}",
        map.reader().stats()
    );
    map.verify().unwrap();
}

/// A new open goes through `fresh`, another client: no pooled connection the server may have dropped after
/// refusing a read (the tests' stores do not retry).
fn map_replaced_mid_read(
    store: &Arc<dyn ObjectStore>,
    fresh: &Arc<dyn ObjectStore>,
    replace: impl FnOnce(),
) {
    let map = open(store, "v.mb", RemoteOptions::default());
    let value = |i: u64| Some(i.to_le_bytes().to_vec());
    assert_eq!(map.get(3 * 10).unwrap().map(|v| v.to_vec()), value(10));
    replace();
    let err = map.get(3 * 49_000).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Remote(sparse_buffer::Error::ObjectChanged { name, .. }) if name.ends_with("v.mb")
        ),
        "{err}"
    );
    eprintln!("{err}");
    // A new open reads the new version.
    let reopened = open(fresh, "v.mb", RemoteOptions::default());
    assert_eq!(reopened.len(), 50_001);
    assert_eq!(
        reopened.get(3 * 49_000).unwrap().map(|v| v.to_vec()),
        value(49_000)
    );
}

#[test]
fn a_map_replaced_on_nginx_is_refused_not_mixed() {
    let nginx = Nginx::start();
    std::fs::write(nginx.root().join("v.mb"), big_map(50_000)).unwrap();
    let root = nginx.root();
    map_replaced_mid_read(&nginx.store(), &nginx.store(), || {
        // Replaced atomically, as an object store replaces an object (see roxxel-format's test of the same).
        std::fs::write(root.join(".v.mb.new"), big_map(50_001)).unwrap();
        std::fs::rename(root.join(".v.mb.new"), root.join("v.mb")).unwrap();
    });
}

#[test]
fn a_map_replaced_on_s3_is_refused_not_mixed() {
    let moto = Moto::start();
    let store = moto.store();
    put(&store, "v.mb", big_map(50_000));
    let replacement = Arc::clone(&store);
    map_replaced_mid_read(&store, &moto.store(), move || {
        put(&replacement, "v.mb", big_map(50_001));
    });
}

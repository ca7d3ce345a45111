//! `ObjectStoreSource` over object_store's in-memory and local stores, and over real servers on loopback:
//! nginx through the HTTP store (bytes, request counts from the counters and from the access log) and moto
//! through the S3 store.

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{GetRange, ObjectStore, ObjectStoreExt};
use sparse_buffer::{
    AsyncRangeSource, BlockingRangeReader, BlockingRuntime, Error, ObjectStoreSource, RangeReader,
    ReaderOptions,
};

use crate::servers::{Moto, Nginx, put, runtime};

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// The checks every store must pass: size and ETag from one HEAD, single and coalesced multi-range fetches,
/// a suffix open, out-of-bounds ranges refused without a request.
async fn exercise(store: Arc<dyn ObjectStore>, path: Path, data: &[u8]) {
    let source = ObjectStoreSource::open(Arc::clone(&store), path.clone())
        .await
        .expect("open");
    assert_eq!(source.size(), data.len() as u64);
    assert_eq!(source.requests(), 1);

    let one = source.fetch(&[1000..1100]).await.unwrap();
    assert_eq!(one, [&data[1000..1100]]);
    assert_eq!(source.requests(), 2);

    // Three ranges within 1 MiB of each other: one request; a far one: a second.
    let far = data.len() as u64 - 10;
    let ranges = [10..20, 5000..5100, 200_000..200_010, far..far + 10];
    let many = source.fetch(&ranges).await.unwrap();
    for (range, bytes) in ranges.iter().zip(&many) {
        assert_eq!(bytes[..], data[range.start as usize..range.end as usize]);
    }
    assert_eq!(source.requests(), 4);

    let err = source.fetch(&[0..data.len() as u64 + 1]).await.unwrap_err();
    assert!(matches!(err, Error::OutOfBounds { .. }), "{err}");
    assert_eq!(source.requests(), 4);

    let (tail_source, at, tail) =
        ObjectStoreSource::open_reading(Arc::clone(&store), path.clone(), GetRange::Suffix(32))
            .await
            .unwrap();
    assert_eq!(tail_source.size(), data.len() as u64);
    assert_eq!(at, data.len() as u64 - 32..data.len() as u64);
    assert_eq!(tail[..], data[data.len() - 32..]);
    assert_eq!(tail_source.requests(), 1);
    assert_eq!(tail_source.e_tag(), source.e_tag());

    // Through a RangeReader: the tail given by the open costs no request.
    let reader = RangeReader::with_size(tail_source, data.len() as u64, ReaderOptions::default());
    reader.add_region(at.start, tail).unwrap();
    assert_eq!(
        reader.read_range(at.clone()).await.unwrap()[..],
        data[at.start as usize..]
    );
    assert_eq!(reader.stats().requests, 0);
    assert_eq!(reader.source().requests(), 1);

    // open_reader: the same in one call.
    let reader = ObjectStoreSource::open_reader(
        Arc::clone(&store),
        path.clone(),
        ReaderOptions::default().tail_read(32),
    )
    .await
    .unwrap();
    assert_eq!(reader.size(), data.len() as u64);
    assert_eq!(
        reader.read_range(at.clone()).await.unwrap()[..],
        data[at.start as usize..]
    );
    assert_eq!(
        (reader.stats().requests, reader.source().requests()),
        (0, 1)
    );

    let missing = ObjectStoreSource::open(store, Path::from("no/such/object"))
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::Source { .. }), "{missing}");
}

#[test]
fn in_memory_store() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let path = Path::from("a/b.bin");
    let data = pattern(2 << 20);
    put(&store, path.as_ref(), data.clone());
    runtime().block_on(exercise(store, path, &data)).unwrap();
}

#[test]
fn local_file_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = pattern(2 << 20);
    std::fs::write(dir.path().join("b.bin"), &data).unwrap();
    let store: Arc<dyn ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    runtime()
        .block_on(exercise(store, Path::from("b.bin"), &data))
        .unwrap();
}

#[test]
fn http_store_through_nginx() {
    let nginx = Nginx::start();
    let data = pattern(3 << 20);
    std::fs::write(nginx.root().join("blob.bin"), &data).unwrap();
    let rt = runtime();
    rt.block_on(exercise(nginx.store(), Path::from("blob.bin"), &data))
        .unwrap();
    // HEAD, GET, 2 GETs, suffix GET, the suffix GET of open_reader, the failed HEAD: seven requests, as the
    // counters said.
    let log = nginx.requests();
    assert_eq!(log.len(), 7, "{log:#?}");
    assert!(log[0].starts_with("HEAD /blob.bin - 200"), "{log:#?}");
    assert!(
        log[1].starts_with("GET /blob.bin bytes=1000-1099 206 100"),
        "{log:#?}"
    );
    assert!(
        log[4].starts_with("GET /blob.bin bytes=-32 206 32"),
        "{log:#?}"
    );
    assert!(log[6].starts_with("HEAD /no/such/object - 404"), "{log:#?}");

    // A suffix longer than the object brings the whole object (a small shard's footer read).
    std::fs::write(nginx.root().join("small.bin"), &data[..1000]).unwrap();
    let (small, at, bytes) = rt
        .block_on(ObjectStoreSource::open_reading(
            nginx.store(),
            Path::from("small.bin"),
            GetRange::Suffix(65536),
        ))
        .unwrap()
        .unwrap();
    assert_eq!((small.size(), at), (1000, 0..1000));
    assert_eq!(bytes[..], data[..1000]);
    // And a bounded range past the end (a small map's header read) stops at the end.
    let (_, at, bytes) = rt
        .block_on(ObjectStoreSource::open_reading(
            nginx.store(),
            Path::from("small.bin"),
            GetRange::Bounded(0..65536),
        ))
        .unwrap()
        .unwrap();
    assert_eq!((at, bytes.len()), (0..1000, 1000));
}

#[test]
fn range_reader_over_nginx_counts_match_the_access_log() {
    let nginx = Nginx::start();
    let data = pattern(20 << 20);
    std::fs::write(nginx.root().join("big.bin"), &data).unwrap();
    let rt = runtime();
    let source = rt
        .block_on(ObjectStoreSource::open(
            nginx.store(),
            Path::from("big.bin"),
        ))
        .unwrap()
        .unwrap();
    let options = ReaderOptions::default()
        .coalesce_gap(1 << 20)
        .max_request(4 << 20);
    let reader = RangeReader::with_size(source, data.len() as u64, options).blocking(rt);
    // 200 ranges spread over 16 MiB: one span, cut into four 4 MiB requests run concurrently.
    let ranges: Vec<_> = (0..200u64).map(|i| i * 80_000..i * 80_000 + 100).collect();
    reader.prefetch(&ranges).unwrap();
    for range in &ranges {
        assert_eq!(
            reader.read_range(range.clone()).unwrap()[..],
            data[range.start as usize..range.end as usize]
        );
    }
    assert_eq!(reader.stats().requests, 4);
    assert_eq!(reader.source().requests(), 5); // and the HEAD
    assert_eq!(nginx.request_count(), 5);
}

#[test]
fn s3_store_through_moto() {
    let moto = Moto::start();
    let store = moto.store();
    let path = Path::from("dir/blob.bin");
    let data = pattern(3 << 20);
    put(&store, path.as_ref(), data.clone());
    let rt = runtime();
    rt.block_on(exercise(Arc::clone(&store), path, &data))
        .unwrap();

    // Ranges past the end of a small object stop at its end.
    let small = Path::from("small.bin");
    put(&store, small.as_ref(), data[..1000].to_vec());
    for range in [GetRange::Suffix(65536), GetRange::Bounded(0..65536)] {
        let (source, at, bytes) = rt
            .block_on(ObjectStoreSource::open_reading(
                Arc::clone(&store),
                small.clone(),
                range,
            ))
            .unwrap()
            .unwrap();
        assert_eq!((source.size(), at), (1000, 0..1000));
        assert_eq!(bytes[..], data[..1000]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_api_on_the_callers_runtime_and_blocking_api_only_off_its_workers() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let path = Path::from("x");
    let data = pattern(100_000);
    store.put(&path, data.clone().into()).await.unwrap();
    let source = ObjectStoreSource::open(Arc::clone(&store), path.clone())
        .await
        .unwrap();
    assert_eq!(source.fetch(&[5..10]).await.unwrap(), [&data[5..10]]);
    assert_eq!(source.requests(), 2);
    let reader = Arc::new(RangeReader::with_size(
        source,
        100_000,
        ReaderOptions::default().read_ahead(0),
    ));

    // On a worker thread the blocking facade refuses, whatever runtime it was given, and sends nothing.
    let handle = tokio::runtime::Handle::current();
    for runtime in [
        BlockingRuntime::handle(handle.clone()),
        BlockingRuntime::inline(),
    ] {
        let cursor = BlockingRangeReader::from_reader(Arc::clone(&reader), runtime);
        let err = cursor.read_range(0..10).unwrap_err();
        assert!(matches!(err, Error::BlockingInRuntime), "{err}");
    }
    assert_eq!(reader.source().requests(), 2);

    // In spawn_blocking, the facade over the caller's runtime handle works.
    let expected = data[50_000..50_100].to_vec();
    let cursor =
        BlockingRangeReader::from_reader(Arc::clone(&reader), BlockingRuntime::handle(handle));
    let got = tokio::task::spawn_blocking(move || cursor.read_range(50_000..50_100))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got[..], expected[..]);
    assert_eq!(reader.source().requests(), 3);
}

#[test]
fn blocking_inside_a_current_thread_runtime_is_refused() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let reader = BlockingRangeReader::new(sparse_buffer::MemorySource::new(pattern(1000))).unwrap();
    let err = rt.block_on(async { reader.read_range(0..10).unwrap_err() });
    assert!(matches!(err, Error::BlockingInRuntime), "{err}");
    // Outside it, the same reader works.
    assert_eq!(reader.read_range(0..10).unwrap()[..], pattern(1000)[..10]);
}

/// Opens `path` with one suffix request, reads, lets `replace` swap the object for another version, then reads
/// bytes that are not cached: the read fails with `ObjectChanged` and never returns the new bytes; what was read
/// before stays readable from the cache (it is all of the old version).
fn replaced_mid_read(store: Arc<dyn ObjectStore>, path: &str, data: &[u8], replace: impl FnOnce()) {
    let rt = runtime();
    let options = ReaderOptions::default().read_ahead(0).tail_read(4096);
    let reader = rt
        .block_on(ObjectStoreSource::open_reader(
            store,
            Path::from(path),
            options,
        ))
        .unwrap()
        .unwrap()
        .blocking(rt);
    assert!(
        reader.source().e_tag().is_some(),
        "the store reports an ETag"
    );
    assert_eq!(reader.read_range(1000..2000).unwrap()[..], data[1000..2000]);
    replace();
    let err = reader.read_range(500_000..500_100).unwrap_err();
    match &err {
        Error::ObjectChanged {
            name,
            start,
            end,
            expected,
            ..
        } => {
            assert!(name.ends_with(path), "{err}");
            // The request that found the change: the 64 KiB block (min_request) holding the bytes read.
            assert_eq!((*start, *end), (458_752, 524_288), "{err}");
            assert!(expected.contains(reader.source().e_tag().unwrap()), "{err}");
        }
        other => panic!("expected ObjectChanged, got {other}"),
    }
    eprintln!("{err}");
    assert_eq!(reader.read_range(1000..2000).unwrap()[..], data[1000..2000]);
    assert_eq!(
        reader
            .read_range(data.len() as u64 - 10..data.len() as u64)
            .unwrap()[..],
        data[data.len() - 10..]
    );
}

#[test]
fn an_object_replaced_on_nginx_is_object_changed_not_mixed_bytes() {
    let nginx = Nginx::start();
    let data = pattern(1 << 20);
    std::fs::write(nginx.root().join("v.bin"), &data).unwrap();
    let root = nginx.root();
    replaced_mid_read(nginx.store(), "v.bin", &data, || {
        // Another version: nginx's ETag is the modification time and the size, so a different size changes it.
        // Replaced atomically, as an object store replaces an object: a file cut short while nginx sends it would
        // fail that response for a reason other than the one tested.
        std::fs::write(root.join(".v.bin.new"), pattern((1 << 20) + 1)).unwrap();
        std::fs::rename(root.join(".v.bin.new"), root.join("v.bin")).unwrap();
    });
    let log = nginx.requests();
    // One suffix GET opened it (no HEAD); the refused read got 412.
    assert!(log[0].starts_with("GET /v.bin bytes=-4096 206"), "{log:#?}");
    assert!(log.iter().all(|line| !line.starts_with("HEAD")), "{log:#?}");
    assert!(
        log.iter()
            .any(|line| line.starts_with("GET /v.bin bytes=458752-524287 412")),
        "{log:#?}"
    );
}

#[test]
fn an_object_replaced_on_s3_is_object_changed_not_mixed_bytes() {
    let moto = Moto::start();
    let store = moto.store();
    let data = pattern(1 << 20);
    put(&store, "v.bin", data.clone());
    let replacement = Arc::clone(&store);
    replaced_mid_read(store, "v.bin", &data, move || {
        let mut other = pattern(1 << 20);
        other[0] ^= 1; // same size, other bytes: another ETag
        put(&replacement, "v.bin", other);
    });
}

#[test]
fn an_object_replaced_in_memory_is_object_changed() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let data = pattern(1 << 20);
    put(&store, "v.bin", data.clone());
    let replacement = Arc::clone(&store);
    replaced_mid_read(store, "v.bin", &data, move || {
        put(&replacement, "v.bin", pattern(1 << 20));
    });
}

/// The finding: with `read_ahead(0)`, a byte-at-a-time reader sent one GET per byte (89 one-byte GETs
/// for 89 bytes). With `min_request` (64 KiB by default) it costs one request per 64 KiB block it touches,
/// forwards or backwards, as nginx's access log shows.
#[test]
fn a_byte_at_a_time_reader_costs_one_request_per_min_request_block() {
    use std::io::{Read, Seek, SeekFrom};

    let nginx = Nginx::start();
    let data = pattern(1 << 20);
    std::fs::write(nginx.root().join("bytes.bin"), &data).unwrap();
    let rt = runtime();
    let options = ReaderOptions::default().read_ahead(0).tail_read(0);
    let mut reader = rt
        .block_on(ObjectStoreSource::open_reader(
            nginx.store(),
            Path::from("bytes.bin"),
            options,
        ))
        .unwrap()
        .unwrap()
        .blocking(rt);
    // Forwards, one byte per read() call: the whole first 256 KiB.
    let mut byte = [0; 1];
    for &expected in &data[..256 * 1024] {
        reader.read_exact(&mut byte).unwrap();
        assert_eq!(byte[0], expected);
    }
    assert_eq!(reader.stats().requests, 4, "256 KiB forwards: 4 blocks");
    // Backwards from the end, one byte at a time: 256 KiB more.
    for i in (768 * 1024..1 << 20).rev() {
        reader.seek(SeekFrom::Start(i as u64)).unwrap();
        reader.read_exact(&mut byte).unwrap();
        assert_eq!(byte[0], data[i]);
    }
    assert_eq!(reader.stats().requests, 8, "256 KiB backwards: 4 blocks");
    // A clone reading the same bytes costs nothing more.
    let mut other = reader.clone();
    other.seek(SeekFrom::Start(1000)).unwrap();
    other.read_exact(&mut byte).unwrap();
    assert_eq!(reader.stats().requests, 8);
    eprintln!(
        "byte-at-a-time over nginx: 524,288 one-byte reads, {} requests, {} bytes fetched",
        reader.stats().requests,
        reader.stats().bytes_fetched
    );
    // And the access log agrees: the HEAD of the open (tail_read 0) and 8 ranged GETs of 64 KiB.
    let log = nginx.requests();
    assert_eq!(log.len(), 9, "{log:#?}");
    assert!(
        log[1..].iter().all(|line| line.ends_with(" 206 65536")),
        "{log:#?}"
    );

    // Without min_request, the same reader costs one request per byte.
    let rt = runtime();
    let reader = rt
        .block_on(ObjectStoreSource::open_reader(
            nginx.store(),
            Path::from("bytes.bin"),
            options.min_request(0),
        ))
        .unwrap()
        .unwrap()
        .blocking(rt);
    for i in 0..89 {
        assert_eq!(reader.read_range(i..i + 1).unwrap()[0], data[i as usize]);
    }
    assert_eq!(reader.stats().requests, 89);
}

/// A store that ignores the conditions of a read (`If-Match`, the version), as some HTTP servers do, but reports
/// the object's ETag with its answer.
#[derive(Debug)]
struct IgnoresConditions(InMemory);

impl std::fmt::Display for IgnoresConditions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IgnoresConditions")
    }
}

#[async_trait::async_trait]
impl ObjectStore for IgnoresConditions {
    async fn put_opts(
        &self,
        location: &Path,
        payload: object_store::PutPayload,
        opts: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.0.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.0.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        let options = object_store::GetOptions {
            if_match: None,
            version: None,
            ..options
        };
        self.0.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: futures_util::stream::BoxStream<'static, object_store::Result<Path>>,
    ) -> futures_util::stream::BoxStream<'static, object_store::Result<Path>> {
        self.0.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&Path>,
    ) -> futures_util::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>>
    {
        self.0.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&Path>,
    ) -> object_store::Result<object_store::ListResult> {
        self.0.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.0.copy_opts(from, to, options).await
    }
}

/// The second line of defence: a store that ignores `If-Match` but answers with the new version's ETag is still
/// caught, by the check of the answer's ETag, and the new bytes are not returned.
#[tokio::test(flavor = "current_thread")]
async fn a_store_that_ignores_if_match_is_caught_by_the_answers_etag() {
    let store: Arc<dyn ObjectStore> = Arc::new(IgnoresConditions(InMemory::new()));
    let path = Path::from("v.bin");
    let data = pattern(1 << 20);
    store.put(&path, data.clone().into()).await.unwrap();
    let options = ReaderOptions::default().read_ahead(0).tail_read(4096);
    let reader = ObjectStoreSource::open_reader(Arc::clone(&store), path.clone(), options)
        .await
        .unwrap();
    assert_eq!(reader.read_range(0..10).await.unwrap()[..], data[..10]);
    let mut other = data.clone();
    other[600_000] ^= 0xff;
    store.put(&path, other.into()).await.unwrap();
    let err = reader.read_range(600_000..600_001).await.unwrap_err();
    match &err {
        Error::ObjectChanged {
            expected, found, ..
        } => {
            assert!(expected.contains(reader.source().e_tag().unwrap()), "{err}");
            let found = found.as_deref().expect("the answer's version");
            assert!(!found.contains(reader.source().e_tag().unwrap()), "{err}");
        }
        other => panic!("expected ObjectChanged, got {other}"),
    }
}

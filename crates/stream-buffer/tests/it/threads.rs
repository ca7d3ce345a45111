//! Concurrency: many readers while the stream is being pulled, and readers of pulled bytes never waiting for
//! the puller.

use std::io;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use byteshelf_stream_buffer::StreamBuffer;

use crate::common::{byte_at, data, expected};

#[test]
fn the_buffer_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<StreamBuffer>();
    assert_send_sync::<byteshelf_stream_buffer::StreamCursor<std::sync::Arc<StreamBuffer>>>();
    assert_send_sync::<byteshelf_stream_buffer::Error>();
}

/// A small deterministic generator, so each thread has its own reproducible request sequence.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn eight_threads_read_random_ranges_while_the_stream_is_pulled() {
    const LEN: usize = 3 << 20;
    let data = data(LEN);
    // Chunks of varying size, generated lazily and yielding now and then so that pulls interleave with reads.
    let mut at = 0usize;
    let mut state = 0x5EED_u64;
    let chunks = std::iter::from_fn(move || {
        if at >= LEN {
            return None;
        }
        let size = 1 + (next(&mut state) % 20_000) as usize;
        let end = (at + size).min(LEN);
        let chunk: Vec<u8> = (at as u64..end as u64).map(byte_at).collect();
        at = end;
        if state.is_multiple_of(4) {
            thread::yield_now();
        }
        Some(Ok::<_, io::Error>(chunk))
    });
    let buffer = StreamBuffer::builder()
        .memory_threshold(1 << 20)
        .build_from_chunks(chunks);
    thread::scope(|scope| {
        for t in 0..8u64 {
            let (buffer, data) = (&buffer, &data);
            scope.spawn(move || {
                let mut state = 0x1234_5678 + t;
                for _ in 0..300 {
                    let offset = next(&mut state) % (LEN as u64 + 1000);
                    let len = (next(&mut state) % 70_000) as usize;
                    if next(&mut state).is_multiple_of(2) {
                        assert_eq!(
                            buffer.read(offset, len).unwrap(),
                            expected(data, offset, len)
                        );
                    } else {
                        let mut out = vec![0; len];
                        let n = buffer.read_into(offset, &mut out).unwrap();
                        assert_eq!(&out[..n], expected(data, offset, len));
                    }
                }
            });
        }
    });
    assert_eq!(buffer.slice(..).unwrap(), data);
}

/// A source fed through a channel: it reports each time it is polled, then blocks until the test sends the next
/// chunk.
fn gated() -> (mpsc::Sender<Vec<u8>>, Receiver<()>, StreamBuffer) {
    let (feed, chunks) = mpsc::channel::<Vec<u8>>();
    let (polled, polls) = mpsc::channel();
    let source = std::iter::from_fn(move || {
        let _ = polled.send(());
        chunks.recv().ok().map(Ok::<_, io::Error>)
    });
    (
        feed,
        polls,
        StreamBuffer::builder()
            .memory_threshold(8)
            .build_from_chunks(source),
    )
}

const PATIENCE: Duration = Duration::from_secs(10);

#[test]
fn readers_of_pulled_bytes_do_not_wait_for_a_blocked_puller() {
    let (feed, polls, buffer) = gated();
    feed.send(b"0123456789abcdef".to_vec()).unwrap(); // 8 bytes in memory, 8 on disk
    assert_eq!(&buffer.read(0, 16).unwrap()[..], b"0123456789abcdef");
    polls.recv_timeout(PATIENCE).unwrap();
    thread::scope(|scope| {
        // This reader needs bytes that are not there: it becomes the puller and blocks in the source.
        let puller = scope.spawn(|| buffer.read(14, 6));
        polls
            .recv_timeout(PATIENCE)
            .expect("the puller polls the source");
        // Reads of pulled bytes, from both tiers, complete while the puller is blocked.
        let (done, result) = mpsc::channel();
        let buffer = &buffer;
        scope.spawn(move || done.send(buffer.read(4, 10).unwrap()).unwrap());
        let got = result
            .recv_timeout(PATIENCE)
            .expect("a reader of pulled bytes waited for the puller");
        assert_eq!(&got[..], b"456789abcd");
        assert!(!puller.is_finished());
        // Another reader that needs unpulled bytes waits for the puller rather than failing or returning short.
        let waiter = scope.spawn(|| buffer.read(16, 8));
        feed.send(b"ghij".to_vec()).unwrap();
        assert_eq!(&puller.join().unwrap().unwrap()[..], b"efghij");
        feed.send(b"klmn".to_vec()).unwrap();
        assert_eq!(&waiter.join().unwrap().unwrap()[..], b"ghijklmn");
    });
    drop(feed);
    assert_eq!(&buffer.slice(..).unwrap()[..], b"0123456789abcdefghijklmn");
}

#[test]
fn a_failure_wakes_every_waiter() {
    let (send, receive) = mpsc::channel::<io::Result<Vec<u8>>>();
    let chunks = std::iter::from_fn(move || receive.recv().ok());
    let buffer = StreamBuffer::from_chunks(chunks);
    send.send(Ok(data(10))).unwrap();
    thread::scope(|scope| {
        let buffer = &buffer;
        let readers: Vec<_> = (0..4)
            .map(|i| scope.spawn(move || buffer.read(5 + i, 100)))
            .collect();
        thread::sleep(Duration::from_millis(20));
        send.send(Err(io::Error::other("gone"))).unwrap();
        for reader in readers {
            assert!(matches!(
                reader.join().unwrap(),
                Err(byteshelf_stream_buffer::Error::Source { offset: 10, .. })
            ));
        }
    });
    assert_eq!(buffer.read(0, 10).unwrap(), data(10));
}

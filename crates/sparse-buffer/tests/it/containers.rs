//! Real container readers over a [`BlockingRangeReader`] cursor: an MCAP summary and one zip member are read
//! lazily, fetching a small part of the file. docs/remote.md shows the same code against object storage.

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Seek, Write};

use sparse_buffer::{BlockingRangeReader, MemorySource, ReaderOptions};

/// Deterministic, poorly compressible bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Reads an MCAP file's summary section (statistics, channels, chunk indexes) from any `Read + Seek`: the
/// sans-I/O reader of the `mcap` crate asks for the seeks and reads it needs.
fn read_mcap_summary(source: &mut (impl Read + Seek)) -> mcap::McapResult<Option<mcap::Summary>> {
    use mcap::sans_io::{SummaryReadEvent, SummaryReader};
    let mut reader = SummaryReader::new();
    while let Some(event) = reader.next_event() {
        match event? {
            SummaryReadEvent::SeekRequest(to) => {
                let at = source.seek(to)?;
                reader.notify_seeked(at);
            }
            SummaryReadEvent::ReadRequest(need) => {
                let read = source.read(reader.insert(need))?;
                reader.notify_read(read);
            }
        }
    }
    Ok(reader.finish())
}

#[test]
fn an_mcap_summary_is_read_without_fetching_the_messages() {
    const MESSAGES: u32 = 8_000;
    let mut file = Cursor::new(Vec::new());
    {
        let mut writer = mcap::Writer::new(&mut file).unwrap();
        let schema = writer.add_schema("Blob", "jsonschema", b"{}").unwrap();
        let channel = writer
            .add_channel(schema, "/camera", "cdr", &BTreeMap::new())
            .unwrap();
        for sequence in 0..MESSAGES {
            let header = mcap::records::MessageHeader {
                channel_id: channel,
                sequence,
                log_time: u64::from(sequence) * 1_000,
                publish_time: u64::from(sequence) * 1_000,
            };
            writer
                .write_to_known_channel(&header, &noise(u64::from(sequence), 1_024))
                .unwrap();
        }
        writer.finish().unwrap();
    }
    let bytes = file.into_inner();
    let size = bytes.len() as u64;
    assert!(size > 8 << 20, "{size}");

    let mut cursor = BlockingRangeReader::with_options(
        MemorySource::new(bytes.clone()),
        ReaderOptions::default(),
    )
    .unwrap();
    let summary = read_mcap_summary(&mut cursor).unwrap().unwrap();
    let expected = mcap::Summary::read(&bytes).unwrap().unwrap();

    let stats = summary.stats.as_ref().unwrap();
    assert_eq!(stats.message_count, u64::from(MESSAGES));
    assert_eq!(stats.message_end_time, u64::from(MESSAGES - 1) * 1_000);
    assert_eq!(summary.chunk_indexes, expected.chunk_indexes);
    assert_eq!(summary.channels.len(), 1);
    assert_eq!(summary.channels[&1].topic, "/camera");

    // The summary is at the end of the file: the one tail read at open covers it.
    let fetched = cursor.stats();
    assert_eq!(fetched.requests, 1, "{fetched:?}");
    assert_eq!(fetched.bytes_fetched, ReaderOptions::default().tail_read);
    assert!(fetched.bytes_fetched * 20 < size, "{fetched:?} of {size}");
}

#[test]
fn one_zip_member_is_read_without_fetching_the_others() {
    const MEMBERS: usize = 120;
    const MEMBER_LEN: usize = 96 << 10;
    let mut file = Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut file);
        for member in 0..MEMBERS {
            let method = if member % 2 == 0 {
                zip::CompressionMethod::Stored
            } else {
                zip::CompressionMethod::Deflated
            };
            let options = zip::write::SimpleFileOptions::default().compression_method(method);
            zip.start_file(format!("shard-{member:03}.bin"), options)
                .unwrap();
            zip.write_all(&noise(member as u64, MEMBER_LEN)).unwrap();
        }
        zip.finish().unwrap();
    }
    let bytes = file.into_inner();
    let size = bytes.len() as u64;

    // With the default options, and with read-ahead off (for a client that jumps between members).
    for options in [
        ReaderOptions::default(),
        ReaderOptions::default().read_ahead(0),
    ] {
        let reader =
            BlockingRangeReader::with_options(MemorySource::new(bytes.clone()), options).unwrap();
        // One cursor reads the central directory, a clone of it (the same cache) one stored and one deflated
        // member.
        let mut archive = zip::ZipArchive::new(reader.clone()).unwrap();
        assert_eq!(archive.len(), MEMBERS);
        // The directory is at the end: the one tail read at open covers it.
        assert_eq!(reader.stats().requests, 1);
        assert_eq!(reader.stats().bytes_fetched, options.tail_read);
        for member in [77, 78] {
            let mut out = Vec::new();
            archive
                .by_name(&format!("shard-{member:03}.bin"))
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert!(out == noise(member as u64, MEMBER_LEN), "member {member}");
        }
        // The two adjacent members (96 KiB each, the deflated one barely smaller, plus their local headers) cost
        // their bytes, rounded up to `min_request`, plus the read-ahead: with the default 1 MiB read-ahead one
        // request, without it at most one per `min_request` (64 KiB) of each member.
        let fetched = reader.stats();
        let members = fetched.bytes_fetched - options.tail_read;
        let most = if options.read_ahead >= 2 * MEMBER_LEN as u64 {
            1
        } else {
            2 * (MEMBER_LEN as u64).div_ceil(options.min_request)
        };
        assert!(fetched.requests <= 1 + most, "{fetched:?} with {options:?}");
        assert!(
            members <= 2 * MEMBER_LEN as u64 + 2 * options.min_request + options.read_ahead,
            "{members} bytes for two members with {options:?}"
        );
        assert!(fetched.bytes_fetched * 8 < size, "{fetched:?} of {size}");
    }
}

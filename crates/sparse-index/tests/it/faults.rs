//! Fault injection into the writer (a full disk at every byte, short writes, a stopped sink), and every bit flip
//! of a small index in each format: always a typed error or the same entries, never different ones.

use std::io::ErrorKind;
use std::num::NonZeroU16;

use fault_injection::FaultyWriter;
use sparse_index::{Error, Format, SparseIndex, SparseIndexRef};

fn index() -> SparseIndex {
    let mut index = SparseIndex::new();
    for (i, key) in [
        "apple",
        "apricot",
        "banana",
        "cherry",
        "date",
        "elderberry",
        "fig",
    ]
    .iter()
    .enumerate()
    {
        index.add(key, i as u64 * 1_000).unwrap();
    }
    index.set_data_end(7_500).unwrap();
    index
}

fn formats() -> [Format; 4] {
    [
        Format::Plain,
        Format::Sampled,
        Format::PrefixCompressed {
            restart_interval: NonZeroU16::new(1).unwrap(),
        },
        Format::PrefixCompressed {
            restart_interval: NonZeroU16::new(3).unwrap(),
        },
    ]
}

#[test]
fn a_full_disk_at_any_byte_is_an_error_and_what_fitted_is_a_prefix() {
    let index = index();
    for format in formats() {
        let full = index.to_bytes_with(format).unwrap();
        for budget in 0..full.len() as u64 {
            let mut sink = FaultyWriter::new(Vec::new()).fail_after(budget, ErrorKind::StorageFull);
            match index.write_to(&mut sink, format) {
                Err(Error::Io(err)) => assert_eq!(err.kind(), ErrorKind::StorageFull),
                other => {
                    panic!("{format:?}, budget {budget}: expected a full-disk error, got {other:?}")
                }
            }
            assert_eq!(sink.get_ref()[..], full[..budget as usize]);
            assert!(
                SparseIndexRef::from_bytes_verified(sink.get_ref()).is_err(),
                "a truncated index never opens"
            );
        }
        for per_write in [1, 5, 64] {
            let mut sink = FaultyWriter::new(Vec::new()).max_per_write(per_write);
            index.write_to(&mut sink, format).unwrap();
            assert_eq!(sink.into_inner(), full);
        }
        let stopped = index.write_to(FaultyWriter::new(Vec::new()).zero_after(10), format);
        assert!(matches!(stopped, Err(Error::Io(err)) if err.kind() == ErrorKind::WriteZero));
    }
}

type Entries = (Vec<(Vec<u8>, u64)>, Option<u64>);

fn decode(bytes: &[u8]) -> Option<Entries> {
    let (view, _) = SparseIndexRef::from_any_bytes(bytes).ok()?;
    Some((
        view.iter().map(|(k, o)| (k.into_owned(), o)).collect(),
        view.data_end(),
    ))
}

/// v1 and v2 carry a CRC-32 of every byte; a flip anywhere is an error. The legacy layout has no checksum, so it
/// only has to give a typed error or the same entries, never a panic; what it gives is counted, not asserted.
#[test]
fn every_bit_flip_of_a_checksummed_index_is_an_error() {
    let index = index();
    for format in formats() {
        let bytes = index.to_bytes_with(format).unwrap();
        let mut copy = bytes.clone();
        for byte in 0..bytes.len() {
            for bit in 0..8 {
                copy[byte] ^= 1 << bit;
                assert!(
                    decode(&copy).is_none(),
                    "{format:?}: bit {bit} of byte {byte} went unnoticed"
                );
                copy[byte] ^= 1 << bit;
            }
        }
    }
    let legacy = index.to_legacy_bytes();
    assert!(decode(&legacy).is_some());
    let mut copy = legacy.clone();
    for byte in 0..legacy.len() {
        for bit in 0..8 {
            copy[byte] ^= 1 << bit;
            if let Some(decoded) = decode(&copy) {
                assert!(
                    decoded.0.windows(2).all(|w| w[0] < w[1]),
                    "legacy flip {byte}/{bit}: unsorted entries"
                );
            }
            copy[byte] ^= 1 << bit;
        }
    }
}

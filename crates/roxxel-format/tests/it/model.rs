//! Property tests against a `Vec<Vec<u8>>` model, and robustness on mutated bytes.

use proptest::collection::vec;
use proptest::prelude::*;
use roxxel_format::{Dataset, FooterKind, Shard, WriterOptions};

use crate::common::{read_all, write};
use crate::read::build;

/// A read's answer, comparable across readers: the record, or the error's message.
fn answer(read: Result<&[u8], roxxel_format::Error>) -> Result<Vec<u8>, String> {
    read.map(<[u8]>::to_vec).map_err(|e| e.to_string())
}

fn all<D: AsRef<[u8]>>(shard: &Shard<D>) -> Vec<Result<Vec<u8>, String>> {
    shard.iter().map(answer).collect()
}

fn many<D: AsRef<[u8]>>(shard: &Shard<D>, indices: &[u64]) -> Result<Vec<u8>, String> {
    shard
        .get_many(indices)
        .map(|records| records.concat())
        .map_err(|e| e.to_string())
}

fn options(limit: Option<u64>, v2: bool) -> WriterOptions {
    let mut opts = WriterOptions::new();
    if let Some(limit) = limit {
        opts = opts.max_shard_bytes(limit);
    }
    if v2 {
        opts = opts.footer(FooterKind::Roxxel02);
    }
    opts
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn dataset_matches_the_model(
        first in vec(vec(any::<u8>(), 0..40), 0..40),
        second in vec(vec(any::<u8>(), 0..40), 0..20),
        limit in proptest::option::of(30u64..400),
        v2 in any::<bool>(),
        probes in vec(any::<i64>(), 0..16),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.rox");
        let opts = options(limit, v2);
        write(&path, &opts, &first);
        write(&path, &opts, &second);
        let model: Vec<Vec<u8>> = [first, second].concat();

        let ds = match limit {
            None => Dataset::open(&path).unwrap(),
            Some(_) => Dataset::open(dir.path().join("p_*.rox")).unwrap(),
        };
        ds.verify().unwrap();
        prop_assert_eq!(ds.len(), model.len() as u64);
        prop_assert_eq!(read_all(&ds), model.clone());
        // The `records()` handle answers every position as `get` does, one shard or several, past the end too.
        let records = ds.records();
        prop_assert_eq!(records.len(), ds.len());
        for i in 0..ds.len() + 3 {
            prop_assert_eq!(answer(records.get(i)), answer(ds.get(i)));
        }
        prop_assert_eq!(answer(records.get(u64::MAX)), answer(ds.get(u64::MAX)));
        let n = model.len() as i64;
        for p in probes {
            let i = if n == 0 { p } else { p % (n + 1) };
            match ds.get_signed(i) {
                Ok(got) => {
                    let at = if i < 0 { n + i } else { i };
                    prop_assert_eq!(got, &model[at as usize][..]);
                }
                Err(_) => prop_assert!(i >= n || i < -n),
            }
            if n > 0 {
                let a = p.unsigned_abs() % (n as u64 + 1);
                let got: Vec<&[u8]> = ds.range(a..).unwrap().collect::<Result<_, _>>().unwrap();
                let want: Vec<&[u8]> = model[a as usize..].iter().map(Vec::as_slice).collect();
                prop_assert_eq!(got, want);
            }
        }
        if let Some(limit) = limit {
            for shard in ds.shards() {
                let size = std::fs::metadata(shard.path()).unwrap().len();
                prop_assert!(size <= limit || shard.len() == 1, "{} B with {} records", size, shard.len());
            }
        }
    }

    #[test]
    fn mutated_files_never_panic_or_read_out_of_bounds(
        records in vec(vec(any::<u8>(), 0..12), 0..8),
        v2 in any::<bool>(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        let kind = if v2 { FooterKind::Roxxel02 } else { FooterKind::Roxxel01 };
        let mut bytes = build(&refs, kind, b"uint8\0\0\0");
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        if let Ok(shard) = Shard::from_bytes(bytes, "m.rox") {
            let raw = shard.raw_data().len();
            let mut total = 0usize;
            for i in 0..shard.len() {
                if let Ok(r) = shard.get(i) {
                    prop_assert!(r.len() <= raw);
                    total += r.len();
                }
            }
            if shard.verify().is_ok() {
                let all: Vec<&[u8]> = shard.iter().collect::<Result<_, _>>().unwrap();
                prop_assert_eq!(all.concat(), shard.raw_data().to_vec());
                prop_assert_eq!(total, raw);
            }
        }
    }

    /// A shard file opened from disk copies its index and checks it once, then slices records without checks
    /// (or, when an entry is bad, checks every read); the same bytes read in place check every entry on every
    /// read. Whatever the index entries are, both answer every read alike: the same records, the same errors.
    #[test]
    fn a_copied_index_reads_as_the_checked_one_whatever_its_entries(
        records in vec(vec(any::<u8>(), 0..12), 0..10),
        entries in vec((any::<prop::sample::Index>(), -3i64..80), 0..3),
        ranges in vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..4),
        probes in vec(0u64..14, 0..8),
    ) {
        let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        let mut bytes = build(&refs, FooterKind::Roxxel01, b"uint8\0\0\0");
        let raw: usize = records.iter().map(Vec::len).sum();
        if !records.is_empty() {
            for (at, value) in entries {
                let entry = raw + 8 * at.index(records.len());
                bytes[entry..entry + 8].copy_from_slice(&value.to_le_bytes());
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.rox");
        std::fs::write(&path, &bytes).unwrap();
        let copied = Shard::open(&path).unwrap();
        let in_place = Shard::from_bytes(bytes, &path).unwrap();
        // A dataset of that file: its `records()` handle slices without checks only when the index was good.
        let dataset = Dataset::open(path.as_path()).unwrap();
        let handle = dataset.records();
        for i in probes {
            prop_assert_eq!(answer(copied.get(i)), answer(in_place.get(i)));
            prop_assert_eq!(answer(handle.get(i)), answer(in_place.get(i)));
        }
        prop_assert_eq!(all(&copied), all(&in_place));
        let n = records.len();
        for (a, b) in ranges {
            let (a, b) = (a.index(n + 1) as u64, b.index(n + 1) as u64);
            let (a, b) = (a.min(b), a.max(b));
            let got: Vec<_> = copied.range(a..b).unwrap().map(answer).collect();
            let want: Vec<_> = in_place.range(a..b).unwrap().map(answer).collect();
            prop_assert_eq!(got.len() as u64, b - a);
            prop_assert_eq!(got, want);
            let indices: Vec<u64> = (a..b).collect();
            prop_assert_eq!(many(&copied, &indices), many(&in_place, &indices));
        }
        prop_assert_eq!(copied.verify().map_err(|e| e.to_string()), in_place.verify().map_err(|e| e.to_string()));
    }
}

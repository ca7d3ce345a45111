//! Every lookup of every representation (owned, v1 view, v2 views) against a `BTreeMap` model.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU16;
use std::ops::Bound;

use proptest::prelude::*;
use sparse_index::{Format, SparseIndex, SparseIndexRef, SparseIndexWriter};

/// The answers of one representation, owned so that all can be compared with one model.
trait Lookups {
    fn len(&self) -> usize;
    fn get(&self, i: usize) -> Option<(Vec<u8>, u64)>;
    fn floor(&self, key: &[u8]) -> Option<usize>;
    fn ceil(&self, key: &[u8]) -> Option<usize>;
    fn floor_offset(&self, key: &[u8]) -> Option<u64>;
    fn ceil_offset(&self, key: &[u8]) -> Option<u64>;
    fn next_offset_after(&self, offset: u64) -> Option<u64>;
    fn block_range(&self, i: usize) -> Option<std::ops::Range<u64>>;
    fn blocks_for(&self, range: (Bound<&[u8]>, Bound<&[u8]>)) -> std::ops::Range<usize>;
    fn forward(&self) -> Vec<(Vec<u8>, u64)>;
    fn backward(&self) -> Vec<(Vec<u8>, u64)>;
    fn first_key(&self) -> Option<Vec<u8>>;
    fn last_key(&self) -> Option<Vec<u8>>;
    fn data_end(&self) -> Option<u64>;
}

macro_rules! impl_lookups {
    ($ty:ty, $key:expr) => {
        impl Lookups for $ty {
            fn len(&self) -> usize {
                self.len()
            }
            fn get(&self, i: usize) -> Option<(Vec<u8>, u64)> {
                self.get(i).map(|(k, o)| ($key(k), o))
            }
            fn floor(&self, key: &[u8]) -> Option<usize> {
                self.floor(key)
            }
            fn ceil(&self, key: &[u8]) -> Option<usize> {
                self.ceil(key)
            }
            fn floor_offset(&self, key: &[u8]) -> Option<u64> {
                self.floor_offset(key)
            }
            fn ceil_offset(&self, key: &[u8]) -> Option<u64> {
                self.ceil_offset(key)
            }
            fn next_offset_after(&self, offset: u64) -> Option<u64> {
                self.next_offset_after(offset)
            }
            fn block_range(&self, i: usize) -> Option<std::ops::Range<u64>> {
                self.block_range(i)
            }
            fn blocks_for(&self, range: (Bound<&[u8]>, Bound<&[u8]>)) -> std::ops::Range<usize> {
                self.blocks_for::<&[u8]>(range)
            }
            fn forward(&self) -> Vec<(Vec<u8>, u64)> {
                self.iter().map(|(k, o)| ($key(k), o)).collect()
            }
            fn backward(&self) -> Vec<(Vec<u8>, u64)> {
                self.iter().rev().map(|(k, o)| ($key(k), o)).collect()
            }
            fn first_key(&self) -> Option<Vec<u8>> {
                self.first_key().map($key)
            }
            fn last_key(&self) -> Option<Vec<u8>> {
                self.last_key().map($key)
            }
            fn data_end(&self) -> Option<u64> {
                self.data_end()
            }
        }
    };
}

impl_lookups!(SparseIndex, |k: &[u8]| k.to_vec());
impl_lookups!(SparseIndexRef<Vec<u8>>, |k: Cow<'_, [u8]>| k.into_owned());

/// A sorted model of an index.
#[derive(Debug, Clone)]
struct Model {
    entries: Vec<(Vec<u8>, u64)>,
    data_end: Option<u64>,
}

impl Model {
    fn map(&self) -> BTreeMap<&[u8], u64> {
        self.entries
            .iter()
            .map(|(k, o)| (k.as_slice(), *o))
            .collect()
    }
    /// The rank of `key` in the map.
    fn rank(map: &BTreeMap<&[u8], u64>, key: &[u8]) -> usize {
        map.range::<[u8], _>((Bound::Unbounded, Bound::Excluded(key)))
            .count()
    }
    fn floor(&self, key: &[u8]) -> Option<usize> {
        let map = self.map();
        let (&found, _) = map
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
            .next_back()?;
        Some(Self::rank(&map, found))
    }
    fn ceil(&self, key: &[u8]) -> Option<usize> {
        let map = self.map();
        let (&found, _) = map
            .range::<[u8], _>((Bound::Included(key), Bound::Unbounded))
            .next()?;
        Some(Self::rank(&map, found))
    }
    fn next_offset_after(&self, offset: u64) -> Option<u64> {
        self.entries.iter().map(|&(_, o)| o).find(|&o| o > offset)
    }
    fn block_range(&self, i: usize) -> Option<std::ops::Range<u64>> {
        let start = self.entries.get(i)?.1;
        let end = match self.entries.get(i + 1) {
            Some(next) => next.1,
            None => self.data_end?,
        };
        Some(start..end)
    }
    /// Blocks whose key interval [first_i, first_{i+1}) meets the range.
    fn blocks_for(&self, range: (Bound<&[u8]>, Bound<&[u8]>)) -> std::ops::Range<usize> {
        let hits: Vec<usize> = (0..self.entries.len())
            .filter(|&i| {
                let lo = self.entries[i].0.clone();
                let least = match range.0 {
                    Bound::Included(b) => lo.clone().max(b.to_vec()),
                    Bound::Excluded(b) => {
                        let mut succ = b.to_vec();
                        succ.push(0);
                        lo.clone().max(succ)
                    }
                    Bound::Unbounded => lo.clone(),
                };
                let below_next = self
                    .entries
                    .get(i + 1)
                    .is_none_or(|(next, _)| least < *next);
                let in_range = match range.1 {
                    Bound::Included(b) => least.as_slice() <= b,
                    Bound::Excluded(b) => least.as_slice() < b,
                    Bound::Unbounded => true,
                };
                below_next && in_range
            })
            .collect();
        match (hits.first(), hits.last()) {
            (Some(&a), Some(&b)) => {
                assert_eq!(hits.len(), b - a + 1, "blocks of a range are contiguous");
                a..b + 1
            }
            _ => 0..0,
        }
    }
}

fn check(model: &Model, index: &impl Lookups, probes: &[Vec<u8>], offsets: &[u64]) {
    let n = model.entries.len();
    assert_eq!(index.len(), n);
    assert_eq!(index.data_end(), model.data_end);
    assert_eq!(index.forward(), model.entries);
    let mut reversed = model.entries.clone();
    reversed.reverse();
    assert_eq!(index.backward(), reversed);
    assert_eq!(
        index.first_key(),
        model.entries.first().map(|e| e.0.clone())
    );
    assert_eq!(index.last_key(), model.entries.last().map(|e| e.0.clone()));
    for i in 0..=n + 1 {
        assert_eq!(index.get(i), model.entries.get(i).cloned(), "get({i})");
        assert_eq!(
            index.block_range(i),
            model.block_range(i),
            "block_range({i})"
        );
    }
    for probe in probes {
        let floor = model.floor(probe);
        let ceil = model.ceil(probe);
        assert_eq!(index.floor(probe), floor, "floor({probe:?})");
        assert_eq!(index.ceil(probe), ceil, "ceil({probe:?})");
        assert_eq!(index.floor_offset(probe), floor.map(|i| model.entries[i].1));
        assert_eq!(index.ceil_offset(probe), ceil.map(|i| model.entries[i].1));
    }
    for &offset in offsets {
        assert_eq!(
            index.next_offset_after(offset),
            model.next_offset_after(offset),
            "next_offset_after({offset})"
        );
    }
    let bounds = |key: Option<&Vec<u8>>, kind: u8| -> Bound<Vec<u8>> {
        match (key, kind % 3) {
            (Some(k), 0) => Bound::Included(k.clone()),
            (Some(k), 1) => Bound::Excluded(k.clone()),
            _ => Bound::Unbounded,
        }
    };
    for (i, lo) in probes.iter().enumerate().take(12) {
        for (j, hi) in probes.iter().enumerate().take(12) {
            let start = bounds(Some(lo), (i + j) as u8);
            let end = bounds(Some(hi), (i * 7 + j) as u8);
            let range = (as_ref(&start), as_ref(&end));
            assert_eq!(
                index.blocks_for(range),
                model.blocks_for(range),
                "blocks_for({range:?})"
            );
        }
    }
    assert_eq!(index.blocks_for((Bound::Unbounded, Bound::Unbounded)), 0..n);
}

fn as_ref(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// Keys over a tiny alphabet with 0x00 and 0xff, so that prefixes, empty keys and extremes collide often.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![0x00u8, 0x01, 0x61, 0x7f, 0xff]),
        0..7,
    )
}

fn model() -> impl Strategy<Value = Model> {
    (
        prop::collection::btree_set(key(), 0..150),
        prop::collection::vec(1u64..5000, 150),
        0u64..3,
        prop::option::of(1u64..5000),
    )
        .prop_map(|(keys, gaps, start, end_gap)| {
            let mut offset = start;
            let entries: Vec<_> = keys
                .into_iter()
                .zip(&gaps)
                .map(|(key, gap)| {
                    let entry = (key, offset);
                    offset += gap;
                    entry
                })
                .collect();
            let last = entries.last().map_or(0, |e| e.1);
            Model {
                data_end: end_gap.map(|gap| last + gap),
                entries,
            }
        })
}

fn build(model: &Model) -> SparseIndex {
    let mut index = SparseIndex::new();
    for (key, offset) in &model.entries {
        index.add(key, *offset).unwrap();
    }
    if let Some(end) = model.data_end {
        index.set_data_end(end).unwrap();
    }
    index
}

fn probes(model: &Model, extra: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut probes: BTreeSet<Vec<u8>> = extra.into_iter().collect();
    for (key, _) in &model.entries {
        probes.insert(key.clone());
        let mut longer = key.clone();
        longer.push(0);
        probes.insert(longer);
        if let Some((_, shorter)) = key.split_last() {
            probes.insert(shorter.to_vec());
        }
    }
    probes.insert(Vec::new());
    probes.insert(vec![0xff; 8]);
    probes.into_iter().collect()
}

fn offset_probes(model: &Model) -> Vec<u64> {
    let mut offsets = vec![0, 1, u64::MAX];
    for &(_, o) in &model.entries {
        offsets.extend([o.saturating_sub(1), o, o + 1]);
    }
    offsets
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_representation_matches_the_model(
        model in model(),
        extra in prop::collection::vec(key(), 0..8),
        interval in 1u16..6,
    ) {
        let probes = probes(&model, extra);
        let offsets = offset_probes(&model);
        let owned = build(&model);
        check(&model, &owned, &probes, &offsets);

        let v1 = SparseIndexRef::from_bytes_verified(owned.to_bytes_with(Format::Plain).unwrap()).unwrap();
        prop_assert_eq!(v1.version(), 1);
        check(&model, &v1, &probes, &offsets);

        let v3_bytes = owned.to_bytes_with(Format::Sampled).unwrap();
        let v3 = SparseIndexRef::from_bytes_verified(v3_bytes.clone()).unwrap();
        prop_assert_eq!(v3.version(), 3);
        check(&model, &v3, &probes, &offsets);
        prop_assert_eq!(SparseIndex::from_bytes(&v3_bytes).unwrap(), owned.clone());
        // The streaming writer (its default layout) writes the same bytes as the owned index.
        let mut writer = SparseIndexWriter::new(Vec::new());
        for (key, offset) in &owned {
            writer.add(key, offset).unwrap();
        }
        prop_assert_eq!(writer.finish(owned.data_end()).unwrap(), v3_bytes);

        let formats = [
            Format::prefix_compressed(),
            Format::PrefixCompressed { restart_interval: NonZeroU16::new(interval).unwrap() },
        ];
        for format in formats {
            let bytes = owned.to_bytes_with(format).unwrap();
            let v2 = SparseIndexRef::from_bytes_verified(bytes.clone()).unwrap();
            prop_assert_eq!(v2.version(), 2);
            check(&model, &v2, &probes, &offsets);
            // Decoding and re-encoding gives the same bytes.
            prop_assert_eq!(SparseIndex::from_bytes(&bytes).unwrap().to_bytes_with(format).unwrap(), bytes);
        }
        prop_assert_eq!(SparseIndex::from_bytes(&owned.to_bytes()).unwrap(), owned.clone());
        let from_legacy = SparseIndex::from_legacy_bytes(&owned.to_legacy_bytes()).unwrap();
        prop_assert_eq!(from_legacy.iter().collect::<Vec<_>>(), owned.iter().collect::<Vec<_>>());
    }
}

#[test]
fn key_stats_agree_across_representations() {
    let mut index = SparseIndex::new();
    for (i, key) in [&b"user:0001"[..], b"user:0002x", b"user:01", b"user:1"]
        .iter()
        .enumerate()
    {
        index.add(key, i as u64 * 10).unwrap();
    }
    let stats = index.key_stats();
    assert_eq!(stats.count, 4);
    assert_eq!(stats.total_len, 9 + 10 + 7 + 6);
    assert_eq!((stats.min_len, stats.max_len), (6, 10));
    assert_eq!(stats.common_prefix_len, 5);
    assert_eq!(stats.mean_len(), 8.0);
    for bytes in [
        index.to_bytes_with(Format::Plain).unwrap(),
        index.to_bytes_with(Format::Sampled).unwrap(),
        index.to_bytes_with(Format::prefix_compressed()).unwrap(),
    ] {
        assert_eq!(
            SparseIndexRef::from_bytes_verified(bytes)
                .unwrap()
                .key_stats(),
            stats
        );
    }
    assert_eq!(SparseIndex::new().key_stats().count, 0);
}

#[test]
fn long_runs_of_equal_heads_are_searched_by_full_keys() {
    // The middle keys agree on the 8 bytes after the (empty) common prefix, so only full keys tell them apart.
    let mut entries = vec![(b"a".to_vec(), 0)];
    for i in 0..40u8 {
        let mut key = b"b1234567".to_vec();
        key.extend_from_slice(&[i, 0xff - i]);
        entries.push((key, 10 + u64::from(i)));
    }
    entries.push((b"c".to_vec(), 100));
    let model = Model {
        entries,
        data_end: Some(200),
    };
    let index = build(&model);
    let probes = probes(&model, vec![b"b1234567".to_vec(), b"b12345670".to_vec()]);
    let offsets = offset_probes(&model);
    check(&model, &index, &probes, &offsets);
    check(
        &model,
        &SparseIndexRef::from_bytes_verified(index.to_bytes_with(Format::Plain).unwrap()).unwrap(),
        &probes,
        &offsets,
    );
    check(
        &model,
        &SparseIndexRef::from_bytes_verified(index.to_bytes_with(Format::Sampled).unwrap())
            .unwrap(),
        &probes,
        &offsets,
    );
}

#[test]
fn groups_whose_first_keys_share_a_head_are_searched_by_full_keys() {
    // v3 keeps one head per 16 keys: 200 keys agreeing on their first 8 bytes make 13 groups with equal heads,
    // around groups with other heads.
    let mut entries: Vec<(Vec<u8>, u64)> =
        (0..20u8).map(|i| (vec![b'a', i], u64::from(i))).collect();
    for i in 0..200u16 {
        let mut key = b"b1234567".to_vec();
        key.extend_from_slice(&i.to_be_bytes());
        entries.push((key, 100 + u64::from(i)));
    }
    entries.extend((0..20u8).map(|i| (vec![b'c', i], 1000 + u64::from(i))));
    let model = Model {
        entries,
        data_end: None,
    };
    let index = build(&model);
    let mut extra = vec![
        b"b1234567".to_vec(),
        b"b12345670".to_vec(),
        b"b1234567\xff".to_vec(),
    ];
    for i in (0..200u16).step_by(7) {
        let mut key = b"b1234567".to_vec();
        key.extend_from_slice(&i.to_be_bytes());
        key.push(0);
        extra.push(key);
    }
    let probes = probes(&model, extra);
    let offsets = offset_probes(&model);
    let view =
        SparseIndexRef::from_bytes_verified(index.to_bytes_with(Format::Sampled).unwrap()).unwrap();
    check(&model, &view, &probes, &offsets);
}

#[test]
fn deep_head_levels_agree_with_a_btreemap() {
    // 20,000 entries give the plain layout three levels above the heads; keys share a 3-byte prefix.
    let mut map = BTreeMap::new();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    while map.len() < 20_000 {
        let len = (next() % 12) as usize;
        let mut key = b"k/\x00".to_vec();
        key.extend((0..len).map(|_| [0x00, 0x01, 0x80, 0xff][(next() % 4) as usize]));
        map.insert(key, ());
    }
    let mut index = SparseIndex::new();
    for (i, key) in map.keys().enumerate() {
        index.add(key, i as u64 * 7).unwrap();
    }
    let view =
        SparseIndexRef::from_bytes_verified(index.to_bytes_with(Format::Plain).unwrap()).unwrap();
    let v3 =
        SparseIndexRef::from_bytes_verified(index.to_bytes_with(Format::Sampled).unwrap()).unwrap();
    let v2 = SparseIndexRef::from_bytes_verified(
        index.to_bytes_with(Format::prefix_compressed()).unwrap(),
    )
    .unwrap();
    let rank = |key: &Vec<u8>| map.range::<Vec<u8>, _>(..key).count();
    for probe in map.keys().step_by(97).cloned().chain((0..300).map(|_| {
        let mut key = b"k/\x00".to_vec();
        key.extend(
            (0..(next() % 14)).map(|_| [0x00, 0x01, 0x7f, 0x80, 0xff][(next() % 5) as usize]),
        );
        key
    })) {
        let below = rank(&probe);
        let floor = map
            .range::<Vec<u8>, _>(..=&probe)
            .next_back()
            .map(|(k, _)| rank(k));
        let ceil = (below < map.len()).then_some(below);
        assert_eq!(view.floor(&probe), floor, "{probe:?}");
        assert_eq!(view.ceil(&probe), ceil, "{probe:?}");
        assert_eq!(v2.floor(&probe), floor, "{probe:?}");
        assert_eq!(v2.ceil(&probe), ceil, "{probe:?}");
        assert_eq!(v3.floor(&probe), floor, "{probe:?}");
        assert_eq!(v3.ceil(&probe), ceil, "{probe:?}");
    }
    for probe in [&b""[..], b"k", b"k/", b"k0", b"\xff"] {
        assert_eq!(view.floor(probe), index.floor(probe));
        assert_eq!(view.ceil(probe), index.ceil(probe));
    }
}

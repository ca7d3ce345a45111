//! Property tests against a `BTreeMap` model, and arbitrary bytes that must never panic.

use std::collections::BTreeMap;

use mapbuffer::{Codec, FormatVersion, IntMap, MapBuffer, MapBufferBuilder, format};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..64u64,
        any::<u64>(),
        Just(u64::MAX),
        Just(1 << 63),
        Just((1 << 63) - 1)
    ]
}

fn model() -> impl Strategy<Value = BTreeMap<u64, Vec<u8>>> {
    prop::collection::btree_map(key(), prop::collection::vec(any::<u8>(), 0..40), 0..80)
}

fn codec() -> impl Strategy<Value = Codec> {
    prop::sample::select(
        Codec::ALL
            .into_iter()
            .filter(|codec| codec.is_available() && *codec != Codec::Lzma)
            .collect::<Vec<_>>(),
    )
}

fn version() -> impl Strategy<Value = FormatVersion> {
    prop_oneof![Just(FormatVersion::V0), Just(FormatVersion::V1)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn reads_back_the_model(model in model(), codec in codec(), version in version(), probes in prop::collection::vec(key(), 0..40)) {
        // Shuffled input order must not matter.
        let mut input: Vec<(u64, &Vec<u8>)> = model.iter().map(|(k, v)| (*k, v)).collect();
        input.reverse();
        let bytes = MapBufferBuilder::new().codec(codec).format_version(version).to_vec(input).unwrap();
        let map = MapBuffer::from_bytes(&bytes).unwrap();
        map.verify().unwrap();
        prop_assert_eq!(map.len(), model.len());
        for (key, value) in &model {
            let got = map.get(*key).unwrap();
            prop_assert_eq!(got.as_deref(), Some(&value[..]));
        }
        for &probe in &probes {
            let got = map.get(probe).unwrap();
            prop_assert_eq!(got.as_deref(), model.get(&probe).map(Vec::as_slice));
            prop_assert_eq!(map.contains(probe), model.contains_key(&probe));
        }
        // The batched lookups answer exactly what the single ones do, whatever the batch length.
        let batch: Vec<u64> = model.keys().copied().chain(probes).collect();
        let many = map.get_many(&batch).unwrap();
        prop_assert_eq!(many.len(), batch.len());
        for (key, got) in batch.iter().zip(&many) {
            prop_assert_eq!(got.as_deref(), model.get(key).map(Vec::as_slice));
        }
        let contained: Vec<bool> = batch.iter().map(|key| model.contains_key(key)).collect();
        prop_assert_eq!(map.contains_many(&batch), contained);
        let slots: Vec<Option<usize>> = batch.iter().map(|&key| map.slot_of(key)).collect();
        prop_assert_eq!(map.slots_of(&batch), slots.clone());
        // Prefetching is a hint: off, every answer is the same.
        let unprefetched = map.clone().with_prefetch(false);
        prop_assert!(map.prefetch() && !unprefetched.prefetch());
        prop_assert_eq!(unprefetched.get_many(&batch).unwrap(), many);
        prop_assert_eq!(unprefetched.slots_of(&batch), slots.clone());
        for (&key, slot) in batch.iter().zip(&slots) {
            prop_assert_eq!(unprefetched.slot_of(key), *slot);
            prop_assert_eq!(unprefetched.get(key).unwrap(), map.get(key).unwrap());
        }
        let iterated: Vec<(u64, Vec<u8>)> = map.iter().map(|e| e.map(|(k, v)| (k, v.into_owned()))).collect::<Result<_, _>>().unwrap();
        let expected: Vec<(u64, Vec<u8>)> = model.into_iter().collect();
        prop_assert_eq!(iterated, expected);
    }

    #[test]
    fn lower_bound_agrees_with_a_sorted_vec(keys in prop::collection::btree_set(key(), 0..200), probes in prop::collection::vec(key(), 1..50)) {
        let sorted: Vec<u64> = keys.into_iter().collect();
        let layout = format::eytzinger_layout(sorted.len() as u32);
        let slots: Vec<u64> = layout.iter().map(|&rank| sorted[rank as usize]).collect();
        for probe in probes {
            let found = format::eytzinger_lower_bound(slots.len(), probe, |slot| Ok::<_, ()>(slots[slot])).unwrap();
            let rank = sorted.partition_point(|&k| k < probe);
            prop_assert_eq!(found.map(|slot| slots[slot]), sorted.get(rank).copied());
        }
    }

    #[test]
    fn intmap_reads_back_the_model(model in prop::collection::btree_map(key(), any::<u64>(), 0..100), probes in prop::collection::vec(key(), 0..20)) {
        let bytes = IntMap::build(model.iter().map(|(k, v)| (*k, *v))).unwrap();
        let map = IntMap::from_bytes(&bytes).unwrap();
        map.verify().unwrap();
        prop_assert_eq!(map.iter().collect::<Vec<_>>(), model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
        for &probe in &probes {
            prop_assert_eq!(map.get(probe), model.get(&probe).copied());
        }
        let batch: Vec<u64> = model.keys().copied().chain(probes).collect();
        let expected: Vec<Option<u64>> = batch.iter().map(|key| model.get(key).copied()).collect();
        prop_assert_eq!(map.get_many(&batch), expected);
    }

    #[test]
    fn arbitrary_bytes_never_panic(tail in prop::collection::vec(any::<u8>(), 0..200), n in 0u32..6, version in 0u8..3, codec in 0usize..6) {
        let mut bytes = b"mapbufr".to_vec();
        bytes.push(version);
        bytes.extend_from_slice(&Codec::ALL.get(codec).map_or(*b"junk", |c| c.tag()));
        bytes.extend_from_slice(&n.to_le_bytes());
        bytes.extend_from_slice(&tail);
        if let Ok(map) = MapBuffer::from_bytes(&bytes) {
            let _ = map.verify();
            for slot in 0..map.len() {
                let _ = map.value_at(slot);
                let _ = map.get(map.key_at(slot).unwrap());
            }
            let _ = map.iter().count();
        }
        let mut intmap = b"intm\x00\x03".to_vec();
        intmap.extend_from_slice(&n.to_le_bytes());
        intmap.extend_from_slice(&tail);
        if let Ok(map) = IntMap::from_bytes(&intmap) {
            let _ = map.verify();
            let _ = map.iter().count();
        }
    }

    #[test]
    fn mutated_maps_never_panic(model in model(), codec in codec(), version in version(), edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut bytes = MapBufferBuilder::new().codec(codec).format_version(version).to_vec(model.iter().map(|(k, v)| (*k, v))).unwrap();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        if let Ok(map) = MapBuffer::from_bytes(&bytes) {
            let _ = map.verify();
            let keys: Vec<u64> = model.keys().copied().collect();
            let single: Result<Vec<_>, _> = keys.iter().map(|&key| map.get(key)).collect();
            // A batch fails exactly when one of its lookups does, and otherwise answers the same.
            match (map.get_many(&keys), single) {
                (Ok(many), Ok(single)) => prop_assert_eq!(many, single),
                // The same error: the first corrupt value in key order.
                (Err(many), Err(single)) => prop_assert_eq!(many.to_string(), single.to_string()),
                (many, single) => prop_assert!(false, "get_many {many:?} but get {single:?}"),
            }
            let _ = map.iter_slot_order().count();
        }
    }
}

/// `bytes` copied to a fresh buffer at `shift` bytes past a 64-byte boundary: the batched search takes one or two
/// prefetches per step depending on where the index falls relative to cache lines.
fn shifted(bytes: &[u8], shift: usize) -> (Vec<u8>, usize) {
    let mut buffer = vec![0u8; bytes.len() + 128];
    let start = (64 - buffer.as_ptr() as usize % 64) % 64 + shift;
    buffer[start..start + bytes.len()].copy_from_slice(bytes);
    (buffer, start)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Maps large enough for the batched search to run below its cached top levels, where `get_many` reads the
    /// previous group's values between the steps of the next group's search: every batch length, every alignment
    /// of the buffer, prefetching on and off, and one corrupt value, all answer as `get` does, the error included.
    #[test]
    fn large_batches_answer_as_single_gets(
        len in 2_100usize..9_000,
        seed in any::<u64>(),
        batch_len in 1usize..300,
        shift in prop::sample::select(vec![0usize, 16, 24, 48]),
        corrupt in any::<prop::sample::Index>(),
    ) {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let model: BTreeMap<u64, Vec<u8>> = (0..len).map(|i| (next(), vec![i as u8; 1 + i % 150])).collect();
        let bytes = MapBufferBuilder::new().to_vec(model.iter().map(|(k, v)| (*k, v))).unwrap();
        let (buffer, start) = shifted(&bytes, shift);
        let map = MapBuffer::from_bytes(&buffer[start..start + bytes.len()]).unwrap();
        // Present keys in random order, and absent ones.
        let keys: Vec<u64> = (0..3 * batch_len + 40)
            .map(|i| {
                let r = next();
                if i % 5 == 4 { r } else { *model.keys().nth(r as usize % model.len()).unwrap() }
            })
            .collect();
        for prefetch in [true, false] {
            let map = map.clone().with_prefetch(prefetch);
            for batch in keys.chunks(batch_len) {
                let single: Vec<_> = batch.iter().map(|&key| map.get(key).unwrap()).collect();
                prop_assert_eq!(map.get_many(batch).unwrap(), single);
            }
        }
        // One value's byte flipped: the batch fails with the error the first failing single get reports.
        let victim = corrupt.index(model.len());
        let slot = map.slot_of(*model.keys().nth(victim).unwrap()).unwrap();
        let at = map.raw_entry(slot).unwrap().offset as usize;
        let mut damaged = buffer.clone();
        damaged[start + at] ^= 0x40;
        let map = MapBuffer::from_bytes(&damaged[start..start + bytes.len()]).unwrap();
        for batch in keys.chunks(batch_len) {
            let single: Result<Vec<_>, _> = batch.iter().map(|&key| map.get(key)).collect();
            match (map.get_many(batch), single) {
                (Ok(many), Ok(single)) => prop_assert_eq!(many, single),
                (Err(many), Err(single)) => prop_assert_eq!(many.to_string(), single.to_string()),
                (many, single) => prop_assert!(false, "get_many {many:?} but get {single:?}"),
            }
        }
    }
}

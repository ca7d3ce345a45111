//! The sampler against its contract: disjoint ranks covering every record, the same order on every run, resume
//! equal to an uninterrupted run, and a different shuffle per epoch and seed.

use std::collections::HashSet;

use proptest::prelude::*;
use roxxel_format::{Error, Sampler, SamplerState};

fn order(len: u64, seed: u64, rank: u64, world: u64, epoch: u64, drop: bool) -> Vec<u64> {
    Sampler::new(len, seed, rank, world)
        .unwrap()
        .drop_remainder(drop)
        .epoch(epoch)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn ranks_are_disjoint_and_cover_every_record(
        len in 0u64..3000, seed: u64, world in 1u64..9, epoch in 0u64..4,
    ) {
        let mut seen = HashSet::new();
        for rank in 0..world {
            let indices = order(len, seed, rank, world, epoch, false);
            prop_assert_eq!(indices.len() as u64, Sampler::new(len, seed, rank, world).unwrap().rank_len());
            for index in indices {
                prop_assert!(index < len);
                prop_assert!(seen.insert(index), "index {} dealt twice", index);
            }
        }
        prop_assert_eq!(seen.len() as u64, len);
    }

    #[test]
    fn drop_remainder_gives_every_rank_the_same_count(
        len in 0u64..3000, seed: u64, world in 1u64..9,
    ) {
        let mut seen = HashSet::new();
        for rank in 0..world {
            let indices = order(len, seed, rank, world, 0, true);
            prop_assert_eq!(indices.len() as u64, len / world);
            for index in indices {
                prop_assert!(seen.insert(index));
            }
        }
    }

    #[test]
    fn resuming_mid_epoch_equals_the_uninterrupted_run(
        len in 0u64..3000, seed: u64, world in 1u64..9, rank_pick: u64, epoch in 0u64..100, cut in 0u64..4000,
    ) {
        let rank = rank_pick % world;
        let sampler = Sampler::new(len, seed, rank, world).unwrap();
        let whole: Vec<u64> = sampler.epoch(epoch).collect();
        let mut first = sampler.epoch(epoch);
        let head: Vec<u64> = first.by_ref().take(cut as usize).collect();
        let saved = first.state();
        prop_assert_eq!(saved, SamplerState { epoch, position: head.len() as u64 });
        // A fresh sampler (another process) resumes from the saved state alone.
        let tail: Vec<u64> = Sampler::new(len, seed, rank, world).unwrap().resume(saved).collect();
        prop_assert_eq!([head, tail].concat(), whole.clone());
        for (position, &index) in whole.iter().enumerate() {
            prop_assert_eq!(sampler.index_at(epoch, position as u64), Some(index));
        }
        prop_assert_eq!(sampler.index_at(epoch, whole.len() as u64), None);
    }
}

/// The order is a fixed function of its inputs: these values must never change between runs, machines or
/// releases (a checkpoint written by one version resumes on the next).
#[test]
fn the_same_order_on_every_run() {
    assert_eq!(
        order(10, 42, 0, 1, 0, false),
        [0, 2, 1, 8, 9, 6, 7, 5, 4, 3]
    );
    assert_eq!(order(10, 42, 1, 3, 0, false), [2, 9, 5]);
    assert_eq!(
        order(10, 42, 0, 1, 1, false),
        [8, 7, 2, 5, 6, 9, 0, 1, 4, 3]
    );
    assert_eq!(
        order(1_000_000, 7, 3, 8, 5, false)[..4],
        [91808, 851838, 679545, 684255]
    );
}

#[test]
fn epochs_and_seeds_shuffle_differently() {
    let a = order(1000, 1, 0, 1, 0, false);
    assert_ne!(a, order(1000, 1, 0, 1, 1, false));
    assert_ne!(a, order(1000, 2, 0, 1, 0, false));
    assert_ne!(a, (0..1000).collect::<Vec<_>>());
    let unshuffled: Vec<u64> = Sampler::new(10, 1, 1, 3)
        .unwrap()
        .shuffle(false)
        .epoch(0)
        .collect();
    assert_eq!(unshuffled, [1, 4, 7]);
}

#[test]
fn a_rank_outside_the_world_is_an_error() {
    assert!(matches!(
        Sampler::new(10, 0, 2, 2),
        Err(Error::InvalidSampler {
            rank: 2,
            world_size: 2
        })
    ));
    assert!(matches!(
        Sampler::new(10, 0, 0, 0),
        Err(Error::InvalidSampler { .. })
    ));
}

//! [`Sampler`]: the order in which each rank of a data-parallel job visits the records of a dataset, as a pure
//! function of (dataset length, seed, epoch, rank, world size), resumable from a saved [`SamplerState`].
//!
//! Each epoch is a pseudo-random permutation of `0..len`, computed element by element (a Feistel network over
//! the next power of four, cycle-walked into range), so it needs no memory and any position is reached in O(1):
//! resuming mid-epoch costs nothing. Rank `r` of `W` takes positions `r, r + W, r + 2W, ...` of that
//! permutation, so the ranks are disjoint and together cover every record once per epoch. The arithmetic is
//! fixed here (no external RNG whose stream could change between versions), so every machine, platform and
//! release computes the same order.

use crate::error::{Error, Result};

/// Where a rank is in its order: the epoch and how many indices of it were consumed. Save it with a checkpoint
/// and pass it to [`Sampler::resume`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SamplerState {
    /// The epoch.
    pub epoch: u64,
    /// How many indices of this rank's order for `epoch` were already consumed.
    pub position: u64,
}

/// A deterministic, resumable, sharded order of record indices for one rank.
///
/// ```
/// use roxxel_format::{Sampler, SamplerState};
///
/// // 10 records, 3 ranks: disjoint orders that together cover every record.
/// let ranks: Vec<Vec<u64>> = (0..3)
///     .map(|rank| Sampler::new(10, 42, rank, 3).map(|s| s.epoch(0).collect()))
///     .collect::<Result<_, _>>()?;
/// let mut all: Vec<u64> = ranks.concat();
/// all.sort();
/// assert_eq!(all, (0..10).collect::<Vec<_>>());
///
/// // Resume rank 1 after 2 indices: the rest of the same order.
/// let sampler = Sampler::new(10, 42, 1, 3)?;
/// let resumed: Vec<u64> = sampler.resume(SamplerState { epoch: 0, position: 2 }).collect();
/// assert_eq!(resumed, ranks[1][2..]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sampler {
    len: u64,
    seed: u64,
    rank: u64,
    world_size: u64,
    shuffle: bool,
    drop_remainder: bool,
}

impl Sampler {
    /// The sampler of rank `rank` (0-based) of `world_size` over a dataset of `len` records, shuffling with `seed`.
    ///
    /// # Errors
    /// [`Error::InvalidSampler`] when `world_size` is 0 or `rank >= world_size`.
    pub fn new(len: u64, seed: u64, rank: u64, world_size: u64) -> Result<Self> {
        if rank >= world_size {
            return Err(Error::InvalidSampler { rank, world_size });
        }
        Ok(Self {
            len,
            seed,
            rank,
            world_size,
            shuffle: true,
            drop_remainder: false,
        })
    }

    /// Whether each epoch is shuffled (the default); without, the order is `0..len` dealt round-robin.
    #[must_use]
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Leave out the last `len % world_size` positions of each epoch's permutation, so that every rank gets the
    /// same number of indices (the ranks stay in step); by default they are dealt, and ranks differ by one.
    #[must_use]
    pub fn drop_remainder(mut self, drop: bool) -> Self {
        self.drop_remainder = drop;
        self
    }

    /// How many indices this rank gets per epoch.
    #[must_use]
    pub fn rank_len(&self) -> u64 {
        let total = if self.drop_remainder {
            self.len - self.len % self.world_size
        } else {
            self.len
        };
        // Positions rank, rank + W, ... below `total`.
        total.saturating_sub(self.rank).div_ceil(self.world_size)
    }

    /// The `position`-th index of this rank's order in `epoch`, or `None` past [`rank_len`](Self::rank_len).
    #[must_use]
    pub fn index_at(&self, epoch: u64, position: u64) -> Option<u64> {
        if position >= self.rank_len() {
            return None;
        }
        // `position < rank_len` keeps this below `len`.
        let global = position * self.world_size + self.rank;
        Some(if self.shuffle {
            Permutation::new(self.len, self.seed, epoch).apply(global)
        } else {
            global
        })
    }

    /// This rank's order for `epoch`, from the start.
    #[must_use]
    pub fn epoch(&self, epoch: u64) -> SamplerIter {
        self.resume(SamplerState { epoch, position: 0 })
    }

    /// This rank's order from a saved state: the same indices an uninterrupted run would have produced next.
    #[must_use]
    pub fn resume(&self, state: SamplerState) -> SamplerIter {
        SamplerIter {
            sampler: *self,
            permutation: Permutation::new(self.len, self.seed, state.epoch),
            state,
            end: self.rank_len(),
        }
    }
}

/// One rank's indices for one epoch, from [`Sampler::epoch`] or [`Sampler::resume`].
#[derive(Debug, Clone)]
pub struct SamplerIter {
    sampler: Sampler,
    permutation: Permutation,
    state: SamplerState,
    end: u64,
}

impl SamplerIter {
    /// Where the iterator is: save this to resume after the indices returned so far.
    #[must_use]
    pub fn state(&self) -> SamplerState {
        self.state
    }
}

impl Iterator for SamplerIter {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.state.position >= self.end {
            return None;
        }
        let global = self.state.position * self.sampler.world_size + self.sampler.rank;
        self.state.position += 1;
        Some(if self.sampler.shuffle {
            self.permutation.apply(global)
        } else {
            global
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left =
            usize::try_from(self.end.saturating_sub(self.state.position)).unwrap_or(usize::MAX);
        (left, Some(left))
    }
}

impl ExactSizeIterator for SamplerIter {}
impl std::iter::FusedIterator for SamplerIter {}

/// A keyed pseudo-random permutation of `0..len`: a 6-round balanced Feistel network on `2·half_bits` bits (the
/// smallest power of four that holds `len`, so fewer than 4 steps of cycle walking on average).
#[derive(Debug, Clone, Copy)]
struct Permutation {
    len: u64,
    key: u64,
    half_bits: u32,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;
const ROUNDS: u64 = 6;

/// The SplitMix64 finaliser: a bijective 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Permutation {
    fn new(len: u64, seed: u64, epoch: u64) -> Self {
        let bits = u64::BITS - len.saturating_sub(1).leading_zeros();
        Self {
            len,
            key: mix(seed ^ mix(epoch.wrapping_add(GOLDEN))),
            half_bits: bits.div_ceil(2),
        }
    }

    /// The image of `x < len`.
    fn apply(&self, x: u64) -> u64 {
        if self.len <= 1 {
            return x;
        }
        let mut y = self.feistel(x);
        // Cycle walking: the network permutes the whole domain, so following it from `x` reaches a value below
        // `len` again, and the map stays a bijection of `0..len`.
        while y >= self.len {
            y = self.feistel(y);
        }
        y
    }

    fn feistel(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let (mut left, mut right) = (x >> self.half_bits, x & mask);
        for round in 0..ROUNDS {
            let f = mix(self.key.wrapping_add(round.wrapping_mul(GOLDEN)) ^ right) & mask;
            (left, right) = (right, left ^ f);
        }
        (left << self.half_bits) | right
    }
}

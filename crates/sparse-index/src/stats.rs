//! Summary figures about an index's keys, for tools that describe an index (e.g. a CLI's `info`).

/// Key statistics of an index, from [`SparseIndex::key_stats`](crate::SparseIndex::key_stats) or
/// [`SparseIndexRef::key_stats`](crate::SparseIndexRef::key_stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct KeyStats {
    /// Number of keys (entries).
    pub count: usize,
    /// Sum of the key lengths.
    pub total_len: u64,
    /// Length of the shortest key (0 for an empty index).
    pub min_len: usize,
    /// Length of the longest key (0 for an empty index).
    pub max_len: usize,
    /// Length of the prefix every key shares (that of the first and last keys, as the keys are sorted).
    pub common_prefix_len: usize,
}

impl KeyStats {
    /// Mean key length (0.0 for an empty index).
    #[must_use]
    pub fn mean_len(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.total_len as f64 / self.count as f64
        }
    }

    /// Folds keys, given in ascending order, into statistics.
    pub(crate) fn collect<K: AsRef<[u8]>>(keys: impl IntoIterator<Item = K>) -> Self {
        let mut stats = Self::default();
        let mut first: Option<Vec<u8>> = None;
        let mut last: Option<K> = None;
        for key in keys {
            let len = key.as_ref().len();
            if stats.count == 0 {
                stats.min_len = len;
                first = Some(key.as_ref().to_vec());
            }
            stats.count += 1;
            stats.total_len += len as u64;
            stats.min_len = stats.min_len.min(len);
            stats.max_len = stats.max_len.max(len);
            last = Some(key);
        }
        if let (Some(first), Some(last)) = (first, last) {
            stats.common_prefix_len = common_prefix_len(&first, last.as_ref());
        }
        stats
    }
}

/// Length of the longest common prefix of `a` and `b`, 8 bytes at a time.
pub(crate) fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    let (words_a, _) = a.as_chunks::<8>();
    let (words_b, _) = b.as_chunks::<8>();
    let mut len = 0;
    for (x, y) in words_a.iter().zip(words_b) {
        let diff = u64::from_be_bytes(*x) ^ u64::from_be_bytes(*y);
        if diff != 0 {
            return len + (diff.leading_zeros() / 8) as usize;
        }
        len += 8;
    }
    len + a[len..]
        .iter()
        .zip(&b[len..])
        .take_while(|(x, y)| x == y)
        .count()
}

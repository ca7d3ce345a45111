//! [`BlockPacker`]: items packed into fixed-size blocks, each block one record, as Python roxxel ≥ 0.3 `write()`
//! does (the newest release, 0.9.14, included).
//!
//! roxxel 0.3 and later no longer store one record per item: `write(items, separator, block_size)` concatenates
//! the items' bytes, each followed by the separator, cuts the stream into records of exactly `block_size` bytes,
//! and pads the last one, with repetitions of the separator cut to length, or with zero bytes when there is no
//! separator (an empty separator counts as none). Fed the same items, a [`Writer`] behind a `BlockPacker` writes
//! byte-identical files to roxxel 0.9.14's `write` (with the matching dtype, see
//! [`WriterOptions::dtype`](crate::WriterOptions::dtype)).
//!
//! Memory stays below one block: whole blocks inside an item are handed on without being copied.

use crate::error::{Error, Result};
use crate::writer::Writer;

/// Packs a stream of items into records of exactly `block_size` bytes (see the module docs).
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// use roxxel_format::{BlockPacker, Dataset, WriterOptions};
///
/// let path = dir.path().join("blocks.rox");
/// let mut writer = WriterOptions::new().open(&path)?;
/// let mut packer = BlockPacker::new(4)?;
/// for item in [&b"hello"[..], b"", b"wo", b"rld!"] {
///     packer.push_to(item, &mut writer)?;
/// }
/// packer.finish_to(&mut writer)?;
/// writer.finish()?;
///
/// let dataset = Dataset::open(&path)?;
/// let blocks: Vec<&[u8]> = dataset.iter().collect::<Result<_, _>>()?;
/// assert_eq!(blocks, [&b"hell"[..], b"owor", b"ld!\0"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockPacker {
    block_size: usize,
    separator: Vec<u8>,
    /// The start of the next block: always shorter than `block_size`.
    pending: Vec<u8>,
    blocks: u64,
}

impl BlockPacker {
    /// A packer of `block_size`-byte blocks, without a separator.
    ///
    /// # Errors
    /// [`Error::InvalidOptions`] for a block size of 0 (Python roxxel loops forever on it).
    pub fn new(block_size: usize) -> Result<Self> {
        if block_size == 0 {
            return Err(Error::InvalidOptions(
                "the block size must be at least 1 byte",
            ));
        }
        Ok(Self {
            block_size,
            separator: Vec::new(),
            pending: Vec::new(),
            blocks: 0,
        })
    }

    /// Appends `separator` after every item, and pads the last block with it (an empty separator is none).
    #[must_use]
    pub fn separator(mut self, separator: impl Into<Vec<u8>>) -> Self {
        self.separator = separator.into();
        self
    }

    /// The size of every block.
    #[must_use]
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// The bytes waiting for the next block (fewer than [`block_size`](Self::block_size)).
    #[must_use]
    pub fn pending(&self) -> &[u8] {
        &self.pending
    }

    /// How many blocks were emitted so far.
    #[must_use]
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Adds one item (followed by the separator), handing every block it completes to `emit`.
    ///
    /// # Errors
    /// The first error of `emit`; the packer then holds an unspecified part of the item.
    pub fn push<E>(
        &mut self,
        item: &[u8],
        mut emit: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.feed(item, &mut emit)?;
        if !self.separator.is_empty() {
            let separator = std::mem::take(&mut self.separator);
            let fed = self.feed(&separator, &mut emit);
            self.separator = separator;
            fed?;
        }
        Ok(())
    }

    fn feed<E>(
        &mut self,
        mut bytes: &[u8],
        emit: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if !self.pending.is_empty() {
            let take = (self.block_size - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() < self.block_size {
                return Ok(());
            }
            emit(&self.pending)?;
            self.pending.clear();
            self.blocks += 1;
        }
        while bytes.len() >= self.block_size {
            let (block, rest) = bytes.split_at(self.block_size);
            emit(block)?;
            self.blocks += 1;
            bytes = rest;
        }
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    /// Pads the pending bytes, if any, to a last block and hands it to `emit`. Returns how many blocks were
    /// emitted in all.
    ///
    /// # Errors
    /// The error of `emit`.
    pub fn finish<E>(mut self, mut emit: impl FnMut(&[u8]) -> Result<(), E>) -> Result<u64, E> {
        if !self.pending.is_empty() {
            let mut fill = self.separator.iter().copied().cycle();
            while self.pending.len() < self.block_size {
                self.pending.push(fill.next().unwrap_or(0));
            }
            emit(&self.pending)?;
            self.blocks += 1;
        }
        Ok(self.blocks)
    }

    /// [`push`](Self::push) into a [`Writer`], one record per block.
    ///
    /// # Errors
    /// As [`Writer::push`].
    pub fn push_to(&mut self, item: &[u8], writer: &mut Writer) -> Result<()> {
        self.push(item, |block| writer.push(block))
    }

    /// [`finish`](Self::finish) into a [`Writer`]; the writer still needs its own [`Writer::finish`].
    ///
    /// # Errors
    /// As [`Writer::push`].
    pub fn finish_to(self, writer: &mut Writer) -> Result<u64> {
        self.finish(|block| writer.push(block))
    }
}

#[cfg(test)]
mod tests {
    use super::BlockPacker;

    fn pack(block: usize, separator: &[u8], items: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut packer = BlockPacker::new(block).unwrap().separator(separator);
        for item in items {
            packer
                .push::<()>(item, |b| {
                    out.push(b.to_vec());
                    Ok(())
                })
                .unwrap();
        }
        let n = packer
            .finish::<()>(|b| {
                out.push(b.to_vec());
                Ok(())
            })
            .unwrap();
        assert_eq!(n, out.len() as u64);
        out
    }

    /// What roxxel 0.9.14's generator does, written plainly: concatenate, cut, pad.
    fn model(block: usize, separator: &[u8], items: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut all = Vec::new();
        for item in items {
            all.extend_from_slice(item);
            all.extend_from_slice(separator);
        }
        if all.len() % block != 0 {
            let pad = block - all.len() % block;
            if separator.is_empty() {
                all.extend(std::iter::repeat_n(0, pad));
            } else {
                all.extend(separator.iter().cycle().take(pad));
            }
        }
        all.chunks(block).map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn zero_block_size_is_refused() {
        assert!(BlockPacker::new(0).is_err());
    }

    #[test]
    fn packs_and_pads() {
        assert_eq!(
            pack(4, b"", &[b"hello", b"", b"wo", b"rld!"]),
            [b"hell", b"owor", b"ld!\0"]
        );
        // The last block is padded with the separator repeated and cut.
        assert_eq!(pack(5, b"\xff\xfe", &[b"ab"]), [b"ab\xff\xfe\xff".to_vec()]);
        // Nothing pushed, or only empty items without a separator: no block at all.
        assert!(pack(4, b"", &[]).is_empty());
        assert!(pack(4, b"", &[b"", b""]).is_empty());
        // An exact fit needs no padding block.
        assert_eq!(pack(3, b"", &[b"abcdef"]), [b"abc", b"def"]);
    }

    #[test]
    fn matches_the_model() {
        let items: Vec<Vec<u8>> = (0..60u8)
            .map(|i| (0..(i % 23) * 7 % 23).map(|j| i ^ j).collect())
            .collect();
        let items: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
        for block in [1, 2, 3, 7, 16, 64, 1000] {
            for separator in [&b""[..], b"\n", b"\xff\xfe\xfd"] {
                assert_eq!(
                    pack(block, separator, &items),
                    model(block, separator, &items),
                    "block {block}, separator {separator:?}"
                );
            }
        }
    }

    #[test]
    fn stops_at_the_first_emit_error() {
        let mut packer = BlockPacker::new(2).unwrap();
        let mut calls = 0;
        let result = packer.push(b"abcdef", |_| {
            calls += 1;
            if calls == 2 { Err("full") } else { Ok(()) }
        });
        assert_eq!(result, Err("full"));
        assert_eq!(calls, 2);
    }
}

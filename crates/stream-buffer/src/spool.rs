//! Where pulled bytes live: the first `threshold` bytes of the stream in memory, everything after in a temporary
//! file.
//!
//! The rollover rule is positional and never moves data: stream bytes `[0, threshold)` go to the memory tier,
//! bytes `[threshold, ..)` go to the spool file **at their own stream offset** (the file starts with a hole the
//! size of the memory tier, which sparse-file systems do not store). Nothing is ever copied from memory to disk
//! while the stream is being pulled, so a reader never sees bytes move under it; [`Spool::into_file`] fills the
//! hole once, at the end.
//!
//! Only one thread (the puller) appends. Readers copy out of the memory tier under a read lock; the puller
//! builds each new block, filled with as much of the chunk as fits, outside the lock (page faults included) and
//! holds the write lock only to install it, or to copy the rest of a chunk into a partly filled block (less
//! than one 64 KiB block). The file is read with positional reads ([`positional::read_exact_at`](crate::positional::read_exact_at)) that need no
//! lock at all. Callers only read bytes that were published as pulled, which happens after [`Spool::append`]
//! returns.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard};

use crate::positional;

/// Size of one memory block; a block never moves once allocated at full size.
const BLOCK: usize = 64 * 1024;
/// First allocation of block 0, which doubles up to [`BLOCK`] so that tiny streams stay tiny.
const FIRST_ALLOCATION: usize = 4 * 1024;

/// The memory tier: `blocks[i]` holds stream bytes from `i * BLOCK`; the first `stored` bytes are filled in.
#[derive(Debug, Default)]
struct MemoryTier {
    blocks: Vec<Box<[u8]>>,
    stored: usize,
}

/// Both tiers of the spool.
#[derive(Debug)]
pub(crate) struct Spool {
    threshold: usize,
    memory: RwLock<MemoryTier>,
    /// Sum of the memory blocks' sizes, readable without the lock.
    memory_bytes: AtomicUsize,
    file: OnceLock<File>,
    spill_dir: Option<PathBuf>,
}

impl Spool {
    pub(crate) fn new(threshold: usize, spill_dir: Option<PathBuf>) -> Self {
        Spool {
            threshold,
            memory: RwLock::new(MemoryTier::default()),
            memory_bytes: AtomicUsize::new(0),
            file: OnceLock::new(),
            spill_dir,
        }
    }

    pub(crate) fn threshold(&self) -> usize {
        self.threshold
    }

    pub(crate) fn spill_dir(&self) -> Option<&Path> {
        self.spill_dir.as_deref()
    }

    /// Bytes allocated for the memory tier.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.memory_bytes.load(Ordering::Relaxed)
    }

    /// Whether any byte has gone to the spool file.
    pub(crate) fn is_spilled(&self) -> bool {
        self.file.get().is_some()
    }

    /// Number of stream bytes `[at, at + len)` that fall in the memory tier.
    fn memory_part(&self, at: u64, len: usize) -> usize {
        match usize::try_from(at) {
            Ok(at) if at < self.threshold => len.min(self.threshold - at),
            _ => 0,
        }
    }

    /// Appends `bytes` at stream offset `at`, which must be the number of bytes appended so far. Only the puller
    /// calls this, never concurrently with itself.
    pub(crate) fn append(&self, at: u64, bytes: &[u8]) -> io::Result<()> {
        let (in_memory, on_disk) = bytes.split_at(self.memory_part(at, bytes.len()));
        if !in_memory.is_empty() {
            // `memory_part` is non-zero only when `at < threshold`, so `at` fits in usize.
            let at = usize::try_from(at).map_err(|_| missing("memory"))?;
            self.append_to_memory(at, in_memory);
        }
        if !on_disk.is_empty() {
            let file_offset = at + in_memory.len() as u64;
            positional::write_all_at(self.file_or_create()?, on_disk, file_offset)?;
        }
        Ok(())
    }

    /// Copies `bytes` into the memory tier at `at`, which is below the threshold.
    fn append_to_memory(&self, mut at: usize, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let (index, offset) = (at / BLOCK, at % BLOCK);
            let capacity = self
                .read_memory_tier()
                .blocks
                .get(index)
                .map_or(0, |block| block.len());
            let take = if offset == capacity {
                let limit = BLOCK.min(self.threshold - index * BLOCK);
                self.enlarge_block(index, capacity, bytes, limit)
            } else {
                let take = bytes.len().min(capacity - offset);
                let mut memory = self.memory.write().unwrap_or_else(PoisonError::into_inner);
                memory.blocks[index][offset..offset + take].copy_from_slice(&bytes[..take]);
                memory.stored = at + take;
                take
            };
            at += take;
            bytes = &bytes[take..];
        }
    }

    /// Adds block `index`, or grows it when it is block 0 and full at `capacity`, filled with as much of `bytes`
    /// as fits; returns how much that is. The block is built outside the write lock (including its page faults:
    /// the unused rest is written with zeros) and only installed under it.
    fn enlarge_block(&self, index: usize, capacity: usize, bytes: &[u8], limit: usize) -> usize {
        // Block 0 starts small and doubles, so that tiny streams stay tiny; a later block is only needed by a
        // stream that is already BLOCK long.
        let size = if index == 0 {
            (capacity + bytes.len())
                .max(capacity * 2)
                .max(FIRST_ALLOCATION)
                .min(limit)
        } else {
            limit
        };
        let mut fresh = Vec::with_capacity(size);
        if capacity > 0 {
            // The old block is full, so all of it is stream bytes.
            fresh.extend_from_slice(&self.read_memory_tier().blocks[index]);
        }
        let take = bytes.len().min(size - capacity);
        fresh.extend_from_slice(&bytes[..take]);
        fresh.resize(size, 0);
        let fresh = fresh.into_boxed_slice();
        let mut memory = self.memory.write().unwrap_or_else(PoisonError::into_inner);
        if index < memory.blocks.len() {
            memory.blocks[index] = fresh;
        } else {
            memory.blocks.push(fresh);
        }
        memory.stored = index * BLOCK + capacity + take;
        drop(memory);
        self.memory_bytes
            .fetch_add(size - capacity, Ordering::Relaxed);
        take
    }

    fn read_memory_tier(&self) -> RwLockReadGuard<'_, MemoryTier> {
        self.memory.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn file_or_create(&self) -> io::Result<&File> {
        if let Some(file) = self.file.get() {
            return Ok(file);
        }
        let file = match &self.spill_dir {
            Some(dir) => tempfile::tempfile_in(dir)?,
            None => tempfile::tempfile()?,
        };
        // Only the puller gets here, so the cell is still empty.
        Ok(self.file.get_or_init(|| file))
    }

    /// Copies stream bytes `[at, at + out.len())` into `out`. The caller guarantees that they have been appended.
    pub(crate) fn read_at(&self, at: u64, out: &mut [u8]) -> io::Result<()> {
        let (in_memory, on_disk) = out.split_at_mut(self.memory_part(at, out.len()));
        if !in_memory.is_empty() {
            // `memory_part` is non-zero only when `at < threshold`, so `at` fits in usize.
            let at = usize::try_from(at).map_err(|_| missing("memory"))?;
            self.read_memory(at, in_memory)?;
        }
        if !on_disk.is_empty() {
            let file = self.file.get().ok_or_else(|| missing("spool file"))?;
            positional::read_exact_at(file, on_disk, at + in_memory.len() as u64)?;
        }
        Ok(())
    }

    fn read_memory(&self, mut at: usize, mut out: &mut [u8]) -> io::Result<()> {
        let memory = self.read_memory_tier();
        if at.saturating_add(out.len()) > memory.stored {
            return Err(missing("memory bytes"));
        }
        while !out.is_empty() {
            let block = memory
                .blocks
                .get(at / BLOCK)
                .ok_or_else(|| missing("memory block"))?;
            let available = block
                .get(at % BLOCK..)
                .ok_or_else(|| missing("memory bytes"))?;
            let take = available.len().min(out.len());
            if take == 0 {
                return Err(missing("memory bytes"));
            }
            let (head, tail) = out.split_at_mut(take);
            head.copy_from_slice(&available[..take]);
            out = tail;
            at += take;
        }
        Ok(())
    }

    /// Writes stream bytes `[0, len)` to `out`. The caller guarantees that the whole stream has been appended.
    pub(crate) fn copy_to(&self, len: u64, out: &mut File) -> io::Result<()> {
        let head = self.memory_part(0, usize::try_from(len).unwrap_or(usize::MAX));
        {
            let memory = self.read_memory_tier();
            if memory.stored < head {
                return Err(missing("memory bytes"));
            }
            let mut left = head;
            for block in &memory.blocks {
                let take = left.min(block.len());
                out.write_all(&block[..take])?;
                left -= take;
            }
        }
        let tail = len - head as u64;
        if tail > 0 {
            let mut file = self
                .file
                .get()
                .ok_or_else(|| missing("spool file"))?
                .try_clone()?;
            // The clone shares the file position, which nothing else uses: every other access is positional.
            file.seek(SeekFrom::Start(head as u64))?;
            let copied = io::copy(&mut file.take(tail), out)?;
            if copied != tail {
                return Err(missing("spool file bytes"));
            }
        }
        Ok(())
    }

    /// Turns the spool into one file holding stream bytes `[0, len)`, positioned at its start.
    pub(crate) fn into_file(self, len: u64) -> io::Result<File> {
        let head = self.memory_part(0, usize::try_from(len).unwrap_or(usize::MAX));
        let memory = self
            .memory
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        if memory.stored < head {
            return Err(missing("memory bytes"));
        }
        let mut file = match self.file.into_inner() {
            Some(file) => file,
            None => match &self.spill_dir {
                Some(dir) => tempfile::tempfile_in(dir)?,
                None => tempfile::tempfile()?,
            },
        };
        // Fill the hole at the start of the file with the memory tier.
        let mut at = 0;
        for block in &memory.blocks {
            let take = (head - at).min(block.len());
            positional::write_all_at(&file, &block[..take], at as u64)?;
            at += take;
        }
        file.seek(SeekFrom::Start(0))?;
        Ok(file)
    }
}

/// An internal invariant failed: bytes that were published as pulled are not where they should be.
fn missing(what: &str) -> io::Error {
    io::Error::other(format!(
        "stream-buffer internal error: {what} missing for pulled bytes"
    ))
}

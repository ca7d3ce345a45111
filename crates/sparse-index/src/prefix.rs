//! Format version 2: LevelDB-style prefix compression with restart points.
//!
//! The entry stream holds, for entry `i`:
//!
//! - when `i % K == 0` (a restart point): `varint key_len | key` (its offset is in the restart offsets array);
//! - otherwise: `varint shared | varint unshared | varint offset_delta | key[shared..]`, where `shared` is the
//!   length of the longest common prefix with the previous key and `offset_delta ≥ 1` the distance from the
//!   previous block's offset.
//!
//! Varints are canonical unsigned LEB128. A lookup binary-searches the restart keys (stored whole, so borrowed from
//! the bytes), then decodes at most `K` entries of one group: O(log(n/K) + K).

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::format::{Layout, UNKNOWN_DATA_END};
use crate::search;

/// Appends `value` as an unsigned LEB128 varint.
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Decodes a canonical unsigned LEB128 varint at `*pos`, advancing it. `None` if the varint is truncated, longer
/// than needed (a trailing zero group), or does not fit a u64.
#[inline]
pub(crate) fn get_varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    let mut shift = 0u32;
    loop {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        let group = u64::from(byte & 0x7f);
        if shift == 63 && group > 1 {
            return None;
        }
        value |= group << shift;
        if byte & 0x80 == 0 {
            if byte == 0 && shift > 0 {
                return None;
            }
            return Some(value);
        }
        shift += 7;
        if shift > 63 {
            return None;
        }
    }
}

/// A prefix-compressed index seen through its layout.
#[derive(Clone, Copy)]
pub(crate) struct Prefixed<'a> {
    pub(crate) layout: &'a Layout,
    pub(crate) bytes: &'a [u8],
}

/// Why decoding a v2 entry failed, and where in the stream.
struct DecodeError {
    at: usize,
    reason: &'static str,
}

/// Decodes the entries of one restart group in order, rebuilding each key.
#[derive(Clone)]
struct Cursor<'a> {
    stream: &'a [u8],
    pos: usize,
    /// Whether the next entry is the group's restart entry.
    at_restart: bool,
    key: Vec<u8>,
    offset: u64,
}

impl Cursor<'_> {
    /// Decodes the next entry into `key` and `offset`.
    fn advance(&mut self) -> std::result::Result<(), DecodeError> {
        let at = self.pos;
        let bad = |reason| DecodeError { at, reason };
        if self.at_restart {
            self.at_restart = false;
            let len = get_varint(self.stream, &mut self.pos).ok_or(bad("malformed key length"))?;
            let key = take(self.stream, &mut self.pos, len)
                .ok_or(bad("key runs past the entry stream"))?;
            self.key.clear();
            self.key.extend_from_slice(key);
            return Ok(());
        }
        let shared =
            get_varint(self.stream, &mut self.pos).ok_or(bad("malformed shared length"))?;
        let unshared =
            get_varint(self.stream, &mut self.pos).ok_or(bad("malformed unshared length"))?;
        let delta = get_varint(self.stream, &mut self.pos).ok_or(bad("malformed offset delta"))?;
        let suffix = take(self.stream, &mut self.pos, unshared)
            .ok_or(bad("key runs past the entry stream"))?;
        let shared = usize::try_from(shared)
            .ok()
            .filter(|&shared| shared <= self.key.len())
            .ok_or(bad("shared prefix longer than the previous key"))?;
        if shared < self.key.len() && suffix.first() == Some(&self.key[shared]) {
            return Err(bad("shared prefix is not the longest common prefix"));
        }
        let ascending = match suffix.first() {
            None => false,
            Some(&first) => shared == self.key.len() || first > self.key[shared],
        };
        if !ascending {
            return Err(bad("key is not greater than the previous key"));
        }
        if delta == 0 {
            return Err(bad("offset is not greater than the previous offset"));
        }
        self.offset = self
            .offset
            .checked_add(delta)
            .ok_or(bad("offset overflows u64"))?;
        self.key.truncate(shared);
        self.key.extend_from_slice(suffix);
        Ok(())
    }
}

/// Takes `len` bytes at `*pos`, advancing it.
fn take<'a>(bytes: &'a [u8], pos: &mut usize, len: u64) -> Option<&'a [u8]> {
    let end = pos.checked_add(usize::try_from(len).ok()?)?;
    let slice = bytes.get(*pos..end)?;
    *pos = end;
    Some(slice)
}

impl<'a> Prefixed<'a> {
    fn interval(&self) -> usize {
        self.layout.restart_interval
    }

    fn stream(&self) -> &'a [u8] {
        self.layout.body(self.bytes)
    }

    /// The key of restart entry `j` (`j < slots`), borrowed; `None` only for corrupt (unverified) input.
    fn restart_key(&self, j: usize) -> Option<&'a [u8]> {
        let stream = self.stream();
        let mut pos = self.layout.end_slot(self.bytes, j) as usize;
        let len = get_varint(stream, &mut pos)?;
        take(stream, &mut pos, len)
    }

    fn restart_offset(&self, j: usize) -> u64 {
        self.layout.offset_slot(self.bytes, j)
    }

    /// Number of entries in group `j`.
    fn group_len(&self, j: usize) -> usize {
        self.interval().min(self.layout.len - j * self.interval())
    }

    fn cursor(&self, j: usize) -> Cursor<'a> {
        Cursor {
            stream: self.stream(),
            pos: self.layout.end_slot(self.bytes, j) as usize,
            at_restart: true,
            key: Vec::new(),
            offset: self.restart_offset(j),
        }
    }

    pub(crate) fn count_keys_below(&self, key: &[u8], strict: bool) -> usize {
        let groups = search::partition_point(self.layout.slots, |j| {
            self.restart_key(j)
                .is_some_and(|restart| search::is_below(restart, key, strict))
        });
        let Some(j) = groups.checked_sub(1) else {
            return 0;
        };
        let mut cursor = self.cursor(j);
        let mut count = 0;
        while count < self.group_len(j)
            && cursor.advance().is_ok()
            && search::is_below(&cursor.key, key, strict)
        {
            count += 1;
        }
        j * self.interval() + count
    }

    pub(crate) fn count_offsets_up_to(&self, offset: u64) -> usize {
        let groups =
            search::partition_point(self.layout.slots, |j| self.restart_offset(j) <= offset);
        let Some(j) = groups.checked_sub(1) else {
            return 0;
        };
        let mut cursor = self.cursor(j);
        let mut count = 0;
        while count < self.group_len(j) && cursor.advance().is_ok() && cursor.offset <= offset {
            count += 1;
        }
        j * self.interval() + count
    }

    /// Entry `i`: its key (borrowed for restart entries, rebuilt otherwise) and offset.
    pub(crate) fn entry(&self, i: usize) -> Option<(Cow<'a, [u8]>, u64)> {
        if i >= self.layout.len {
            return None;
        }
        let (j, within) = (i / self.interval(), i % self.interval());
        if within == 0 {
            return Some((Cow::Borrowed(self.restart_key(j)?), self.restart_offset(j)));
        }
        let mut cursor = self.cursor(j);
        for _ in 0..=within {
            cursor.advance().ok()?;
        }
        Some((Cow::Owned(cursor.key), cursor.offset))
    }

    /// Offset of entry `i`.
    pub(crate) fn offset(&self, i: usize) -> Option<u64> {
        if i >= self.layout.len {
            return None;
        }
        let (j, within) = (i / self.interval(), i % self.interval());
        let mut cursor = self.cursor(j);
        for _ in 0..=within {
            cursor.advance().ok()?;
        }
        Some(cursor.offset)
    }

    /// Calls `each` with every entry in order, decoding the stream once (O(n)).
    pub(crate) fn for_each(&self, mut each: impl FnMut(&[u8], u64)) {
        for j in 0..self.layout.slots {
            let mut cursor = self.cursor(j);
            for _ in 0..self.group_len(j) {
                if cursor.advance().is_err() {
                    return;
                }
                each(&cursor.key, cursor.offset);
            }
        }
    }

    /// Checks the whole entry stream: every varint, restart position, key order, offset order and the data end.
    pub(crate) fn verify(&self) -> Result<()> {
        let layout = self.layout;
        let stream = self.stream();
        let mut pos = 0;
        let mut last: Option<(Vec<u8>, u64)> = None;
        for j in 0..layout.slots {
            let first = j * self.interval();
            let recorded = layout.end_slot(self.bytes, j) as usize;
            if recorded != pos {
                return Err(Error::CorruptEncoding {
                    index: first,
                    offset: layout.ends_start + 4 * j,
                    reason: "restart position does not match the entry stream",
                });
            }
            let mut cursor = Cursor {
                stream,
                pos,
                at_restart: true,
                key: Vec::new(),
                offset: self.restart_offset(j),
            };
            for within in 0..self.group_len(j) {
                let index = first + within;
                let entry_at = layout.body_start + cursor.pos;
                cursor
                    .advance()
                    .map_err(|DecodeError { at, reason }| Error::CorruptEncoding {
                        index,
                        offset: layout.body_start + at,
                        reason,
                    })?;
                if within == 0
                    && let Some((last_key, last_offset)) = &last
                {
                    if search::compare_keys(last_key, &cursor.key).is_ge() {
                        return Err(Error::CorruptKey {
                            index,
                            offset: entry_at,
                            reason: "is not greater than the previous key",
                        });
                    }
                    if cursor.offset <= *last_offset {
                        return Err(Error::CorruptOffset {
                            index,
                            offset: layout.offsets_start + 8 * j,
                            value: cursor.offset,
                        });
                    }
                }
            }
            pos = cursor.pos;
            last = Some((cursor.key, cursor.offset));
        }
        if pos != layout.body_len {
            return Err(Error::CorruptEncoding {
                index: layout.len,
                offset: layout.body_start + pos,
                reason: "bytes after the last entry",
            });
        }
        if let Some((_, last_offset)) = last
            && layout.data_end != UNKNOWN_DATA_END
            && layout.data_end <= last_offset
        {
            return Err(Error::CorruptDataEnd {
                offset: layout.data_end_at(),
                data_end: layout.data_end,
            });
        }
        Ok(())
    }
}

/// Decodes entries front to back, group after group, for iteration in O(1) amortised per entry (instead of
/// decoding from the restart point for every entry).
#[derive(Clone)]
pub(crate) struct Walk<'a> {
    prefixed: Prefixed<'a>,
    cursor: Option<Cursor<'a>>,
}

impl<'a> Walk<'a> {
    pub(crate) fn new(prefixed: Prefixed<'a>) -> Self {
        Self {
            prefixed,
            cursor: None,
        }
    }

    /// Entry `i`; successive calls must ask for successive entries, starting at a restart point.
    pub(crate) fn entry(&mut self, i: usize) -> Option<(Cow<'a, [u8]>, u64)> {
        if i >= self.prefixed.layout.len {
            return None;
        }
        let interval = self.prefixed.interval();
        let (j, within) = (i / interval, i % interval);
        if within == 0 {
            self.cursor = Some(self.prefixed.cursor(j));
        }
        let cursor = self.cursor.as_mut()?;
        cursor.advance().ok()?;
        if within == 0 {
            Some((Cow::Borrowed(self.prefixed.restart_key(j)?), cursor.offset))
        } else {
            Some((Cow::Owned(cursor.key.clone()), cursor.offset))
        }
    }
}

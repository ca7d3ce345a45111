//! [`MapBuffer`]: zero-copy, O(1)-open reading of a MapBuffer held in any byte container (a `Vec<u8>`, a slice, a
//! memory map), plus same-length in-place updates when the container is mutable.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::ops::Range;
use std::path::Path;

use memmap2::Mmap;

use crate::codec;
use crate::error::{Error, Result};
use crate::format::{
    BATCH, CRC_LEN, Codec, FormatVersion, HEADER_LEN, Header, Search, SortedSlots, VERSION_AT,
    eytzinger_find_groups_in, eytzinger_find_many_in,
};
use crate::reading::{Core, key_in};

/// How many cache lines of each value [`MapBuffer::get_many`] requests ahead of reading the values.
const VALUE_LINES_AHEAD: usize = 4;

/// A MapBuffer: `u64` keys to byte values, read in place from `D` (`Vec<u8>`, `&[u8]`, [`Mmap`], ...).
///
/// Opening checks only the header and the sizes, so it costs the same for ten keys or a billion; a lookup is an
/// Eytzinger search of the index and, in format version 1, a CRC-32C check of the one value read. Corruption found
/// on the way is an [`Error`], never a panic or an out-of-bounds read. [`MapBuffer::verify`] checks everything.
///
/// ```
/// use mapbuffer::{MapBuffer, MapBufferBuilder};
///
/// let bytes = MapBufferBuilder::new().to_vec([(2848, &b"abc"[..]), (12939, b"123")])?;
/// let map = MapBuffer::from_bytes(bytes)?;
/// assert_eq!(map.get(2848)?.as_deref(), Some(&b"abc"[..]));
/// assert!(!map.contains(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct MapBuffer<D> {
    data: D,
    /// The header, the buffer's size and the options; every check of the format (shared with the remote reader).
    pub(crate) core: Core,
    /// `16 + 16·N`, checked to fit in the buffer.
    data_start: usize,
}

impl MapBuffer<Mmap> {
    /// Memory-maps the file at `path` and opens it as a MapBuffer (the checks of [`from_bytes`](Self::from_bytes)).
    ///
    /// The file must not be modified or truncated while the map is alive: the values are read in place. A path
    /// that is not a regular file (a directory, FIFO, device, socket) is [`Error::NotRegularFile`]; it is refused
    /// before it is opened for reading, so a FIFO without a writer does not block and `/dev/zero` is never read.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::from_bytes(map_file(path.as_ref())?)
    }
}

/// Memory-maps the file at `path` read-only, for [`MapBuffer::open`] and [`IntMap::open`](crate::IntMap::open).
///
/// Anything but a regular file (a directory, FIFO, device, socket) is [`Error::NotRegularFile`], found before the
/// file is opened for reading; on Unix the open itself does not block either (`O_NONBLOCK`), in case the path is
/// replaced by a FIFO in between, and the opened file is checked again.
// Mapping a file is `unsafe` in memmap2; the crate's only other `unsafe` is in the `prefetch` module.
#[allow(unsafe_code)]
pub(crate) fn map_file(path: &Path) -> Result<Mmap> {
    let open_error = |source| Error::Open {
        file: path.to_owned(),
        source,
    };
    let not_regular = |file_type: std::fs::FileType| Error::NotRegularFile {
        file: path.to_owned(),
        kind: file_kind(file_type),
    };
    let meta = std::fs::metadata(path).map_err(open_error)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file: File = options.open(path).map_err(open_error)?;
    let meta = file.metadata().map_err(open_error)?;
    if !meta.is_file() {
        return Err(not_regular(meta.file_type()));
    }
    // SAFETY: the map is read-only and private to this process; reading a file that another process modifies
    // concurrently is outside what this API supports (documented on the `open` functions). Even then every read is
    // bounds-checked against the map's length, which cannot change.
    unsafe { Mmap::map(&file) }.map_err(open_error)
}

/// What a file that is not a regular file is, in words.
pub(crate) fn file_kind(file_type: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "an unknown kind of file"
    }
}

/// How many values, in buffer order from the first, opening a version 0 map looks at for CRC-32C tails.
const OPEN_TAIL_VALUES: usize = 4;
/// Values longer than this are skipped by the check at open, which must stay cheap.
const OPEN_TAIL_MAX_LEN: usize = 64 * 1024;

impl<D: AsRef<[u8]>> MapBuffer<D> {
    /// Opens a MapBuffer held in `data`, checking the header (magic, version, codec tag), that the buffer holds the
    /// whole index, that the first value starts right after it and the last offset is inside the buffer, and that
    /// an empty map is exactly its header. O(1): nothing else is read, except in version 0 (below).
    ///
    /// A version 0 map is also checked for a damaged version byte: a version 1 map whose byte 7 lost its bit 0
    /// reads as version 0, and every value would come back with its 4 CRC bytes appended. So the first values in
    /// the buffer (the first 4, skipping any longer than 64 KiB and any that is exactly `00 00 00 00`, which is
    /// both an empty version 1 value and a plausible version 0 one) are looked at: a value shorter than 4 bytes, or
    /// one whose last 4 bytes are not the CRC-32C of the others, shows a real version 0 map; when every value
    /// looked at has such a tail, the map is refused with [`Error::VersionContradicted`]. A real version 0 value of
    /// random bytes ends with its own CRC-32C with probability 2^-32, so one value checked (a one-key map) refuses
    /// a real version 0 map with probability 2^-32, and 4 values with 2^-128. Only values made to end with their
    /// own CRC-32C (e.g. the stored bytes of another version 1 map, copied as values) are refused for sure.
    /// [`verify`](Self::verify) checks every value the same way.
    pub fn from_bytes(data: D) -> Result<Self> {
        let bytes = data.as_ref();
        let core = Core::open(bytes, bytes.len() as u64)?;
        // Fits: `Core::open` checked it is at most the buffer length.
        let data_start = core.data_start() as usize;
        let map = Self {
            data,
            core,
            data_start,
        };
        map.core.check_index(map.index())?;
        if !map.is_empty() && !map.core.header.version.has_crc() {
            map.check_v0_tails(OPEN_TAIL_VALUES, OPEN_TAIL_MAX_LEN)?;
        }
        Ok(map)
    }

    /// For a version 0 map: [`Error::VersionContradicted`] when the first `values` values (in buffer order) that
    /// are at most `max_len` bytes long all end with the CRC-32C of their other bytes, as version 1 values do, and
    /// at least one of them is not `00 00 00 00` (which is an empty version 1 value as much as a zero `u32`).
    ///
    /// A value shorter than 4 bytes, or one without such a tail, shows the map is a real version 0 map (a version 1
    /// value is never shorter than its CRC), and ends the check. So does an impossible offset, which is reported
    /// where the value is read.
    pub(crate) fn check_v0_tails(&self, values: usize, max_len: usize) -> Result<()> {
        let mut checked = 0u64;
        for slot in 0..self.len().min(values) {
            let Ok(range) = self.stored_range(slot) else {
                return Ok(());
            };
            let stored = &self.data.as_ref()[range];
            // Four zero bytes are the version 1 form of an empty value (the CRC-32C of nothing is 0), but just as
            // likely a version 0 value such as a zero `u32`: no evidence either way.
            if stored.len() > max_len || stored == [0; CRC_LEN] {
                continue;
            }
            if !has_crc_tail(stored) {
                return Ok(());
            }
            checked += 1;
        }
        if checked == 0 {
            Ok(())
        } else {
            Err(Error::VersionContradicted {
                at: VERSION_AT as u64,
                checked,
            })
        }
    }

    /// Turns CRC checking of version 1 values on (the default) or off for this map. Off, the 4 CRC bytes are still
    /// stripped but not compared. Version 0 maps have no CRC to check.
    #[must_use]
    pub fn with_crc_check(mut self, check: bool) -> Self {
        self.core.check_crc = check;
        self
    }

    /// Whether reads check the CRC of version 1 values.
    #[must_use]
    pub fn crc_check(&self) -> bool {
        self.core.check_crc
    }

    /// Turns software prefetching on (the default) or off for this map's lookups. On, an index search requests
    /// the cache lines of the nodes four levels below the one it compares (two levels in a batch), and a lookup
    /// requests all lines of the value it found before checking it, so memory misses overlap instead of waiting
    /// for one another. Off is only useful to measure what that buys; results are the same either way.
    #[must_use]
    pub fn with_prefetch(mut self, prefetch: bool) -> Self {
        self.core.prefetch = prefetch;
        self
    }

    /// Whether lookups prefetch (see [`with_prefetch`](Self::with_prefetch)).
    #[must_use]
    pub fn prefetch(&self) -> bool {
        self.core.prefetch
    }

    /// The decoded header.
    #[must_use]
    pub fn header(&self) -> Header {
        self.core.header
    }

    /// The format version (0: no CRC, 1: CRC-32C per value).
    #[must_use]
    pub fn format_version(&self) -> FormatVersion {
        self.core.header.version
    }

    /// How values are compressed.
    #[must_use]
    pub fn codec(&self) -> Codec {
        self.core.header.codec
    }

    /// The number of keys (N in the header).
    #[must_use]
    pub fn len(&self) -> usize {
        self.core.header.len as usize
    }

    /// Whether the map has no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.core.header.len == 0
    }

    /// The whole buffer.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.data.as_ref()
    }

    /// The byte length of the header and index, `16 + 16·N`: where the data region starts.
    #[must_use]
    pub fn index_end(&self) -> usize {
        self.data_start
    }

    /// The byte length of the data region (stored values and their CRCs).
    #[must_use]
    pub fn data_len(&self) -> usize {
        self.data.as_ref().len() - self.data_start
    }

    /// Gives back the container.
    #[must_use]
    pub fn into_inner(self) -> D {
        self.data
    }

    /// The index bytes: N entries of (key, offset).
    #[inline]
    fn index(&self) -> &[u8] {
        // `data_start <= len` was checked at open.
        &self.data.as_ref()[HEADER_LEN..self.data_start]
    }

    /// The key of `slot`, which must be `< len()` (the index was checked to hold N entries).
    #[inline]
    fn raw_key_at(&self, slot: usize) -> u64 {
        key_in(self.index(), slot)
    }

    /// The key stored in index slot `slot`, or `None` when `slot >= len()`.
    #[must_use]
    pub fn key_at(&self, slot: usize) -> Option<u64> {
        (slot < self.len()).then(|| self.raw_key_at(slot))
    }

    /// The index slot of `key`, if present. Slots are positions in the index (Eytzinger order), not ranks.
    #[inline]
    #[must_use]
    pub fn slot_of(&self, key: u64) -> Option<usize> {
        self.core.find(self.index(), key)
    }

    /// Whether `key` is in the map (an index search; no value is read).
    #[inline]
    #[must_use]
    pub fn contains(&self, key: u64) -> bool {
        self.slot_of(key).is_some()
    }

    /// The index slots of `keys`, in order ([`slot_of`](Self::slot_of) for each). The searches run side by side,
    /// so on a map much larger than the CPU cache a batch costs several times less per key than one search at a
    /// time.
    #[must_use]
    pub fn slots_of(&self, keys: &[u64]) -> Vec<Option<usize>> {
        eytzinger_find_many_in(self.index(), self.len(), keys, self.core.prefetch)
    }

    /// Whether each of `keys` is in the map, in order: [`contains`](Self::contains) for a batch, with the searches
    /// run side by side (see [`slots_of`](Self::slots_of)).
    #[must_use]
    pub fn contains_many(&self, keys: &[u64]) -> Vec<bool> {
        self.slots_of(keys).iter().map(Option::is_some).collect()
    }

    /// The byte range of the stored value of `slot` (payload and CRC), checked against its neighbours and the buffer.
    #[inline]
    fn stored_range(&self, slot: usize) -> Result<Range<usize>> {
        let range = self.core.stored_range_in(self.index(), slot)?;
        // Both are at most the buffer's length, so they fit in usize.
        Ok(range.start as usize..range.end as usize)
    }

    /// The stored bytes of index slot `slot` without decoding: payload, and the CRC in version 1 (not checked).
    /// Offsets are checked; a slot `>= len()` is [`Error::SlotOutOfRange`].
    pub fn raw_entry(&self, slot: usize) -> Result<RawEntry<'_>> {
        let key = self.key_at(slot).ok_or(Error::SlotOutOfRange {
            slot,
            len: self.len(),
        })?;
        let range = self.stored_range(slot)?;
        let offset = range.start as u64;
        self.core
            .split(key, slot, offset, &self.data.as_ref()[range])
    }

    /// The stored payload of `slot` (compressed bytes, CRC removed), CRC-checked unless checking is off.
    fn payload_at(&self, slot: usize) -> Result<RawEntry<'_>> {
        let entry = self.raw_entry(slot)?;
        self.core.check_crc(&entry)?;
        Ok(entry)
    }

    /// The value of `key`: borrowed from the buffer when the map is not compressed, decompressed otherwise.
    /// `Ok(None)` when the key is absent; an error when its value is corrupt (bad offsets, CRC, compressed data).
    #[inline]
    pub fn get(&self, key: u64) -> Result<Option<Cow<'_, [u8]>>> {
        match self
            .core
            .find_for_read(self.data.as_ref(), self.index(), key)
        {
            Some(slot) => self.value_at(slot).map(Some),
            None => Ok(None),
        }
    }

    /// The values of `keys`, in order (`None` for an absent key): [`get`](Self::get) for a batch. The index
    /// searches run side by side, 8 at a time (see [`slots_of`](Self::slots_of)). The values found by one group
    /// are requested from memory as soon as their slots are known, and read (CRC check, codec) a few at a time
    /// between the steps of the next group's search, while that search waits for the index: the memory accesses
    /// of searches and values overlap, and so does the work on the values.
    ///
    /// # Errors
    /// The first corrupt value met, as [`get`](Self::get) reports it.
    pub fn get_many(&self, keys: &[u64]) -> Result<Vec<Option<Cow<'_, [u8]>>>> {
        let mut values = Vec::with_capacity(keys.len());
        // The slots found by the previous group, whose values are read while the next group searches.
        let mut pending = [None; BATCH];
        let mut pending_len: usize = 0;
        let mut next: usize = 0;
        let mut first_error = None;
        let prefetch = self.core.prefetch;
        let read = |slot: Option<usize>, values: &mut Vec<_>, first_error: &mut Option<Error>| {
            if first_error.is_some() {
                return;
            }
            // The value's lines were requested when its slot was found (when prefetching is on).
            let value = slot.map(|slot| self.decode_at(slot, false)).transpose();
            match value {
                Ok(value) => values.push(value),
                Err(err) => *first_error = Some(err),
            }
        };
        eytzinger_find_groups_in(
            self.index(),
            self.len(),
            keys,
            prefetch,
            |event| match event {
                Search::Step { left } => {
                    // Spread the previous group's values over the steps left.
                    let share = (pending_len - next).div_ceil(left as usize + 1);
                    for _ in 0..share {
                        read(pending[next], &mut values, &mut first_error);
                        next += 1;
                    }
                }
                Search::Found(found) => {
                    for &slot in &pending[next..pending_len] {
                        read(slot, &mut values, &mut first_error);
                    }
                    if prefetch {
                        self.request_values(found);
                    }
                    pending[..found.len()].copy_from_slice(found);
                    pending_len = found.len();
                    next = 0;
                }
            },
        );
        for &slot in &pending[next..pending_len] {
            read(slot, &mut values, &mut first_error);
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(values),
        }
    }

    /// Loads the cache lines of the values of `slots` (at most [`VALUE_LINES_AHEAD`] each) without waiting for
    /// them, so that reading them later finds them in the cache. A slot whose offsets are bad requests nothing
    /// (reading its value reports them).
    fn request_values(&self, slots: &[Option<usize>]) {
        let data = self.data.as_ref();
        for &slot in slots.iter().flatten() {
            if let Ok(range) = self.stored_range(slot) {
                crate::prefetch::prefetch_range(data, range.start, range.len(), VALUE_LINES_AHEAD);
            }
        }
    }

    /// The stored payload of `key` (still compressed, CRC checked and removed), if present.
    pub fn get_stored(&self, key: u64) -> Result<Option<&[u8]>> {
        match self.slot_of(key) {
            Some(slot) => self.payload_at(slot).map(|entry| Some(entry.payload)),
            None => Ok(None),
        }
    }

    /// The stored length of the value of `key` (compressed size, without the CRC), if present. Reads no value bytes.
    pub fn size_of(&self, key: u64) -> Result<Option<usize>> {
        match self.slot_of(key) {
            Some(slot) => Ok(Some(
                self.stored_range(slot)?
                    .len()
                    .saturating_sub(self.core.header.version.suffix_len()),
            )),
            None => Ok(None),
        }
    }

    /// The value in index slot `slot`, decoded as by [`MapBuffer::get`]; a slot `>= len()` is
    /// [`Error::SlotOutOfRange`].
    #[inline]
    pub fn value_at(&self, slot: usize) -> Result<Cow<'_, [u8]>> {
        self.decode_at(slot, true)
    }

    /// [`value_at`](Self::value_at); with `request`, all lines of the value are requested at once (when
    /// prefetching is on) instead of one after the other as the CRC reads them.
    #[inline]
    fn decode_at(&self, slot: usize, request: bool) -> Result<Cow<'_, [u8]>> {
        let entry = self.raw_entry(slot)?;
        if request {
            let stored_len = entry.payload.len() + self.core.header.version.suffix_len();
            let stored = entry.offset..entry.offset + stored_len as u64;
            self.core.prefetch_value(self.data.as_ref(), &stored);
        }
        self.core.decode(&entry)
    }

    /// Entries `(key, value)` in ascending key order.
    #[must_use]
    pub fn iter(&self) -> Iter<'_, D> {
        Iter {
            map: self,
            slots: Slots::Sorted(SortedSlots::new(self.len())),
        }
    }

    /// Keys in ascending order.
    #[must_use]
    pub fn keys(&self) -> Keys<'_, D> {
        Keys {
            map: self,
            slots: Slots::Sorted(SortedSlots::new(self.len())),
        }
    }

    /// Values in ascending key order.
    #[must_use]
    pub fn values(&self) -> Values<'_, D> {
        Values {
            map: self,
            slots: Slots::Sorted(SortedSlots::new(self.len())),
        }
    }

    /// The raw stored entries ([`RawEntry`]: key, slot, offset, payload, stored CRC) in ascending key order,
    /// without CRC checks or decompression: what a dump or a repair tool needs. Each item is an error only when the
    /// entry's offsets are impossible.
    pub fn raw_entries(&self) -> impl ExactSizeIterator<Item = Result<RawEntry<'_>>> + '_ {
        SortedSlots::new(self.len()).map(|slot| self.raw_entry(slot))
    }

    /// Entries in index-slot order, which is the order of the values in the buffer (the fastest full scan, and the
    /// order of Python's `items()`).
    #[must_use]
    pub fn iter_slot_order(&self) -> Iter<'_, D> {
        Iter {
            map: self,
            slots: Slots::InOrder(0..self.len()),
        }
    }

    /// Keys in index-slot order (Python's `keys()` order).
    #[must_use]
    pub fn keys_slot_order(&self) -> Keys<'_, D> {
        Keys {
            map: self,
            slots: Slots::InOrder(0..self.len()),
        }
    }

    /// Values in index-slot order (Python's `values()` order).
    #[must_use]
    pub fn values_slot_order(&self) -> Values<'_, D> {
        Values {
            map: self,
            slots: Slots::InOrder(0..self.len()),
        }
    }
}

impl<D: AsRef<[u8]> + AsMut<[u8]>> MapBuffer<D> {
    /// Replaces the value of `key` in place with `value`, which must encode (with the map's codec) to exactly the
    /// stored length of the old one; in version 1 the CRC is recomputed. Nothing else moves.
    ///
    /// For uncompressed maps this means the same length as the old value. For compressed maps the new value is
    /// compressed with the crate's settings, and the update only succeeds if that gives the same size.
    pub fn set(&mut self, key: u64, value: &[u8]) -> Result<()> {
        let slot = self.slot_of(key).ok_or(Error::KeyNotFound { key })?;
        let range = self.stored_range(slot)?;
        let suffix = self.core.header.version.suffix_len();
        let Some(payload_len) = range.len().checked_sub(suffix) else {
            return Err(Error::MissingCrc {
                key,
                slot,
                offset: range.start as u64,
                len: range.len() as u64,
            });
        };
        let codec = self.core.header.codec;
        let encoded = match codec {
            Codec::None => Cow::Borrowed(value),
            _ => {
                Cow::Owned(codec::compress(codec, value).map_err(|err| err.on_encode(codec, key))?)
            }
        };
        if encoded.len() != payload_len {
            return Err(Error::LengthMismatch {
                key,
                stored: payload_len as u64,
                new: encoded.len() as u64,
            });
        }
        let stored = &mut self.data.as_mut()[range];
        let (payload, crc) = stored.split_at_mut(payload_len);
        payload.copy_from_slice(&encoded);
        if suffix > 0 {
            crc.copy_from_slice(&crc32c::crc32c(&encoded).to_le_bytes());
        }
        Ok(())
    }
}

impl<D: AsRef<[u8]>> fmt::Debug for MapBuffer<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapBuffer")
            .field("version", &self.core.header.version)
            .field("codec", &self.core.header.codec)
            .field("len", &self.core.header.len)
            .field("bytes", &self.data.as_ref().len())
            .field("check_crc", &self.core.check_crc)
            .field("prefetch", &self.core.prefetch)
            .finish()
    }
}

impl<'a, D: AsRef<[u8]>> IntoIterator for &'a MapBuffer<D> {
    type Item = Result<(u64, Cow<'a, [u8]>)>;
    type IntoIter = Iter<'a, D>;

    fn into_iter(self) -> Iter<'a, D> {
        self.iter()
    }
}

/// Whether `stored` ends with the CRC-32C (`u32` LE) of the bytes before it, as a version 1 stored value does.
pub(crate) fn has_crc_tail(stored: &[u8]) -> bool {
    match stored.split_last_chunk::<CRC_LEN>() {
        Some((payload, tail)) => u32::from_le_bytes(*tail) == crc32c::crc32c(payload),
        None => false,
    }
}

pub(crate) use crate::reading::offset_field_at;

/// One stored value as it is in the buffer, from [`MapBuffer::raw_entry`]: for inspection and dumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawEntry<'a> {
    /// The index slot.
    pub slot: usize,
    /// The key.
    pub key: u64,
    /// Byte offset of the stored value in the buffer.
    pub offset: u64,
    /// The stored payload (compressed when the map is), without the CRC.
    pub payload: &'a [u8],
    /// The CRC-32C stored after the payload (version 1), `None` in version 0.
    pub stored_crc: Option<u32>,
}

impl RawEntry<'_> {
    /// The CRC-32C of the payload.
    #[must_use]
    pub fn computed_crc(&self) -> u32 {
        crc32c::crc32c(self.payload)
    }

    /// Checks the stored CRC, if any: [`Error::CrcMismatch`] when it differs.
    pub fn check_crc(&self) -> Result<()> {
        match self.stored_crc {
            Some(stored) => {
                let computed = self.computed_crc();
                if stored == computed {
                    Ok(())
                } else {
                    Err(Error::CrcMismatch {
                        key: self.key,
                        slot: self.slot,
                        offset: self.offset,
                        stored,
                        computed,
                    })
                }
            }
            None => Ok(()),
        }
    }
}

/// The order an iterator visits slots in.
#[derive(Debug, Clone)]
enum Slots {
    InOrder(Range<usize>),
    Sorted(SortedSlots),
}

impl Iterator for Slots {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            Self::InOrder(range) => range.next(),
            Self::Sorted(sorted) => sorted.next(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self {
            Self::InOrder(range) => range.size_hint(),
            Self::Sorted(sorted) => sorted.size_hint(),
        }
    }
}

/// Iterator over `(key, value)` entries of a [`MapBuffer`], from [`MapBuffer::iter`] or
/// [`MapBuffer::iter_slot_order`]. A corrupt value yields an error and iteration continues with the next.
pub struct Iter<'a, D> {
    map: &'a MapBuffer<D>,
    slots: Slots,
}

impl<'a, D: AsRef<[u8]>> Iterator for Iter<'a, D> {
    type Item = Result<(u64, Cow<'a, [u8]>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let slot = self.slots.next()?;
        Some(
            self.map
                .value_at(slot)
                .map(|value| (self.map.raw_key_at(slot), value)),
        )
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
    }
}

impl<D: AsRef<[u8]>> ExactSizeIterator for Iter<'_, D> {}

/// Iterator over the keys of a [`MapBuffer`], from [`MapBuffer::keys`] or [`MapBuffer::keys_slot_order`].
pub struct Keys<'a, D> {
    map: &'a MapBuffer<D>,
    slots: Slots,
}

impl<D: AsRef<[u8]>> Iterator for Keys<'_, D> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.slots.next().map(|slot| self.map.raw_key_at(slot))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
    }
}

impl<D: AsRef<[u8]>> ExactSizeIterator for Keys<'_, D> {}

/// Iterator over the values of a [`MapBuffer`], from [`MapBuffer::values`] or [`MapBuffer::values_slot_order`].
pub struct Values<'a, D> {
    map: &'a MapBuffer<D>,
    slots: Slots,
}

impl<'a, D: AsRef<[u8]>> Iterator for Values<'a, D> {
    type Item = Result<Cow<'a, [u8]>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.slots.next().map(|slot| self.map.value_at(slot))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.slots.size_hint()
    }
}

impl<D: AsRef<[u8]>> ExactSizeIterator for Values<'_, D> {}

/// `Clone` and `Debug` for the iterators without requiring them of `D`.
macro_rules! iterator_common_traits {
    ($($name:ident),*) => {$(
        impl<D> Clone for $name<'_, D> {
            fn clone(&self) -> Self {
                Self {
                    map: self.map,
                    slots: self.slots.clone(),
                }
            }
        }

        impl<D: AsRef<[u8]>> fmt::Debug for $name<'_, D> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("map", self.map)
                    .field("remaining", &self.slots.size_hint().0)
                    .finish()
            }
        }
    )*};
}

iterator_common_traits!(Iter, Keys, Values);

//! `byteshelf map ...`: MapBuffer files (build, get, info, verify, dump).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use byteshelf::mapbuffer::format::{HEADER_LEN, INDEX_ENTRY_LEN, SortedSlots};
use byteshelf::mapbuffer::{self, Codec, FormatVersion, MapBuffer, MapBufferBuilder};
use serde::{Deserialize, Serialize};

use crate::cli::{BuildArgs, Compress, FileJsonArgs, MapCommand, MapGetArgs};
use crate::error::{Error, Result};
use crate::fsutil::{self, LineReader};
use crate::input::{collect_files, open_text};
use crate::output::{self, Problem, SizeSummary, Stdout, size};
use crate::progress::Progress;

/// Runs one `map` command.
pub(crate) fn run(command: MapCommand) -> Result {
    match command {
        MapCommand::Build(args) => build(&args),
        MapCommand::Get(args) => get(&args),
        MapCommand::Info(args) => info(&args),
        MapCommand::Verify(args) => verify(&args),
        MapCommand::Dump(args) => dump(&args),
    }
}

fn map_error(file: &Path, err: &mapbuffer::Error) -> Error {
    Error::from_lib(file, err)
}

/// Opens (memory-maps) a MapBuffer, or fetches a remote one whole: header and size checks only.
pub(crate) fn open(file: &Path) -> Result<MapBuffer<crate::remote::Data>> {
    open_map(file)?.map_err(|e| map_error(file, &e))
}

/// The map at `file` (a path or a URL), or the library's error when the bytes are not one (the outer error is
/// about reaching a remote object at all).
fn open_map(
    file: &Path,
) -> Result<std::result::Result<MapBuffer<crate::remote::Data>, mapbuffer::Error>> {
    let data = match crate::remote::read_all(file)? {
        Some(bytes) => crate::remote::Data::Fetched(bytes),
        None => match MapBuffer::open(file) {
            Ok(map) => crate::remote::Data::Mapped(map.into_inner()),
            Err(err) => return Ok(Err(err)),
        },
    };
    Ok(MapBuffer::from_bytes(data))
}

// ---------------------------------------------------------------------------------------------------------------
// build

/// One line of `--jsonl` input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEntry {
    key: u64,
    value: String,
}

/// The start of the name of every temporary file `map build` writes (then `OUT-XXXXXX.part`).
const PART_PREFIX: &str = ".byteshelf-map-";

/// Whether `name` is the name of a `map build` part file, of any output and any version of the command.
fn is_any_part(name: &str) -> bool {
    name.len() > PART_PREFIX.len() + fsutil::PART_SUFFIX.len()
        && name.starts_with(PART_PREFIX)
        && name.ends_with(fsutil::PART_SUFFIX)
}

/// `map build --clean`: removes the stale part files of every output in OUT's directory.
fn clean(out: &Path) -> Result {
    let dir = fsutil::out_dir(out);
    let removed = fsutil::remove_stale_parts(dir, is_any_part)?;
    let mut stdout = Stdout::new();
    for part in &removed {
        stdout.line(format!(
            "removed {} ({}, its writer is gone)",
            part.path.display(),
            size(part.bytes)
        ))?;
    }
    stdout.line(match removed.len() {
        0 => format!("no stale part files in {}", dir.display()),
        1 => format!("removed 1 stale part file from {}", dir.display()),
        n => format!("removed {n} stale part files from {}", dir.display()),
    })?;
    stdout.flush()
}

fn build(args: &BuildArgs) -> Result {
    let out = args.out.as_path();
    if args.clean {
        return clean(out);
    }
    let codec = match args.compress {
        Compress::None => Codec::None,
        Compress::Gzip => Codec::Gzip,
        Compress::Br => Codec::Brotli,
        Compress::Zstd => Codec::Zstd,
        Compress::Lzma => Codec::Lzma,
    };
    let version = if args.format_version == 0 {
        FormatVersion::V0
    } else {
        FormatVersion::V1
    };
    let dir = fsutil::out_dir(out);
    let prefix = fsutil::part_prefix(PART_PREFIX, out);
    // Part files of earlier builds of this output whose writers were killed. Best effort: one that cannot be
    // removed is no reason not to build, and `--clean` reports it.
    let _ = fsutil::remove_stale_parts(dir, |name| fsutil::is_part_name(name, &prefix));
    let limit = args.max_record_bytes;
    let (entries, input) = match &args.jsonl {
        Some(path) => (read_jsonl(path, limit)?, path.clone()),
        None => (
            read_key_files(&args.paths, limit)?,
            PathBuf::from("<inputs>"),
        ),
    };
    let keys = entries.len();
    let value_bytes: u64 = entries.iter().map(|(_, v)| v.len() as u64).sum();
    // Locked while it is written, so that `--clean` and later builds can tell it from the part of a killed build.
    let mut temporary = fsutil::create_locked_part(dir, &prefix).map_err(|e| Error::io(out, &e))?;
    let builder = MapBufferBuilder::new().codec(codec).format_version(version);
    let written = builder
        .write(entries, temporary.as_file_mut())
        .map_err(|e| match e {
            mapbuffer::Error::Io(io) => Error::io(out, &io),
            other => map_error(&input, &other),
        })?;
    temporary
        .as_file()
        .sync_all()
        .map_err(|e| Error::io(out, &e))?;
    temporary
        .persist(out)
        .map_err(|e| Error::io(out, &e.error))?;
    let mut stdout = Stdout::new();
    stdout.line(format!(
        "built {}: {keys} keys, {} of values, {written} bytes (format version {version}, codec {})",
        out.display(),
        size(value_bytes),
        codec.name()
    ))?;
    stdout.flush()
}

fn read_key_files(paths: &[PathBuf], limit: u64) -> Result<Vec<(u64, Vec<u8>)>> {
    let files = collect_files(paths)?;
    let progress = Progress::new("reading", Some(files.len() as u64));
    let mut entries = Vec::new();
    entries
        .try_reserve_exact(files.len())
        .map_err(|e| Error::data(Path::new("<inputs>"), e))?;
    let mut bytes = 0;
    for file in &files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let key: u64 = name.parse().map_err(|_| {
            Error::data(
                file,
                "the file name is not a decimal u64 key (map build takes files named by their key)",
            )
        })?;
        let value = fsutil::read_limited(file, limit)?;
        bytes += value.len() as u64;
        entries.push((key, value));
        progress.advance(1, bytes);
    }
    progress.finish();
    Ok(entries)
}

fn read_jsonl(path: &Path, limit: u64) -> Result<Vec<(u64, Vec<u8>)>> {
    let (name, reader) = open_text(path)?;
    let mut lines = LineReader::new(name, reader, limit);
    let progress = Progress::new("reading", None);
    let mut entries = Vec::new();
    let mut bytes = 0;
    let mut line = Vec::new();
    while let Some(at) = lines.next_line(&mut line)? {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let fail = |reason: String| {
            Error::data(
                lines.name(),
                format!("line {} (byte {}): {reason}", at.number, at.offset),
            )
        };
        let entry: JsonEntry = serde_json::from_slice(&line).map_err(|e| {
            fail(format!(
                "expected {{\"key\": <u64>, \"value\": \"<base64>\"}}: {e}"
            ))
        })?;
        let value = BASE64
            .decode(entry.value.as_bytes())
            .map_err(|e| fail(format!("the value of key {} is not base64: {e}", entry.key)))?;
        bytes += value.len() as u64;
        entries.push((entry.key, value));
        progress.advance(1, bytes);
    }
    progress.finish();
    Ok(entries)
}

// ---------------------------------------------------------------------------------------------------------------
// get

fn get(args: &MapGetArgs) -> Result {
    if let Some(done) = crate::remote::map_get(args) {
        return done;
    }
    let map = open(&args.file)?;
    let mut values = Vec::with_capacity(args.keys.len());
    for &key in &args.keys {
        match map.get(key).map_err(|e| map_error(&args.file, &e))? {
            Some(value) => values.push(value),
            None => {
                return Err(Error::data(
                    &args.file,
                    format!("key {key} is not in the map"),
                ));
            }
        }
    }
    print_got(args, &values)
}

/// Prints what `map get` read (from a local or a remote map): JSON, hex dumps, or the values separated.
pub(crate) fn print_got<V: AsRef<[u8]>>(args: &MapGetArgs, values: &[V]) -> Result {
    let mut stdout = Stdout::new();
    if args.json {
        let values: Vec<GetJson> = values
            .iter()
            .zip(&args.keys)
            .map(|(value, &key)| GetJson {
                key,
                value: output::base64(value.as_ref()),
            })
            .collect();
        stdout.json(&values)?;
        return stdout.flush();
    }
    let sep = output::default_separator(args.sep, values.len());
    for (value, key) in values.iter().zip(&args.keys) {
        let value = value.as_ref();
        if args.hex {
            stdout.line(format!("key {key}: {} bytes", value.len()))?;
            stdout.hexdump(value)?;
        } else {
            stdout.separated(value, sep, &args.file)?;
        }
    }
    stdout.flush()
}

/// One value of `map get --json`: the shape of a `map build --jsonl` line.
#[derive(Debug, Serialize)]
struct GetJson {
    key: u64,
    /// The value, in base64.
    value: String,
}

// ---------------------------------------------------------------------------------------------------------------
// info, verify

/// `map info --json`.
#[derive(Debug, Serialize)]
struct MapInfo {
    path: String,
    format_version: u8,
    codec: &'static str,
    keys: usize,
    bytes: u64,
    index_bytes: u64,
    data_bytes: u64,
    min_key: Option<u64>,
    max_key: Option<u64>,
    stored_value_size: Option<SizeSummary>,
}

/// The stored size (payload, without CRC) of the value in `slot`; its offsets are checked.
fn stored_size<D: AsRef<[u8]>>(map: &MapBuffer<D>, file: &Path, slot: usize) -> Result<u64> {
    map.raw_entry(slot)
        .map(|entry| entry.payload.len() as u64)
        .map_err(|e| map_error(file, &e))
}

/// Min, lower median and max of the stored value sizes, in memory that does not grow with the key count: a first
/// pass over the index (in buffer order) finds min and max and stops at the first impossible offset, then the
/// median is selected 16 bits at a time, one pass per 16 bits of the largest size (one pass for sizes under
/// 64 KiB).
fn stored_size_summary<D: AsRef<[u8]>>(
    map: &MapBuffer<D>,
    file: &Path,
) -> Result<Option<SizeSummary>> {
    const DIGIT_BITS: u32 = 16;
    let n = map.len();
    if n == 0 {
        return Ok(None);
    }
    let (mut min, mut max) = (u64::MAX, 0);
    for slot in 0..n {
        let size = stored_size(map, file, slot)?;
        min = min.min(size);
        max = max.max(size);
    }
    // The size of sorted rank `rank`, found digit by digit from the top: `prefix` holds the digits found so far.
    let mut rank = ((n - 1) / 2) as u64;
    let top_bits = 64 - max.leading_zeros();
    let mut shift = top_bits.saturating_sub(1) / DIGIT_BITS * DIGIT_BITS;
    let mut prefix = 0u64;
    let mut counts = vec![0u64; 1 << DIGIT_BITS];
    let median = if min == max {
        min
    } else {
        loop {
            counts.fill(0);
            for slot in 0..n {
                let size = stored_size(map, file, slot)?;
                let above = size.checked_shr(shift + DIGIT_BITS).unwrap_or(0);
                if above == prefix {
                    counts[((size >> shift) & 0xffff) as usize] += 1;
                }
            }
            let mut digit = 0;
            for (d, &count) in counts.iter().enumerate() {
                if rank < count {
                    digit = d as u64;
                    break;
                }
                rank -= count;
            }
            prefix = (prefix << DIGIT_BITS) | digit;
            if shift == 0 {
                break prefix;
            }
            shift -= DIGIT_BITS;
        }
    };
    Ok(Some(SizeSummary { min, median, max }))
}

/// The slot of the largest key: the last node of an in-order walk of the `n`-node implicit tree (keep going right).
fn last_sorted_slot(n: usize) -> Option<usize> {
    if n == 0 {
        return None;
    }
    let mut node = 1usize;
    while let Some(right) = node.checked_mul(2).and_then(|left| left.checked_add(1))
        && right <= n
    {
        node = right;
    }
    Some(node - 1)
}

fn info(args: &FileJsonArgs) -> Result {
    let map = open(&args.file)?;
    let stored_value_size = stored_size_summary(&map, &args.file)?;
    let bytes = map.as_bytes().len() as u64;
    let index_end = map.index_end() as u64;
    let info = MapInfo {
        path: args.file.display().to_string(),
        format_version: map.format_version().to_byte(),
        codec: map.codec().name(),
        keys: map.len(),
        bytes,
        index_bytes: index_end.saturating_sub(16),
        data_bytes: bytes - index_end.min(bytes),
        min_key: map.keys().next(),
        max_key: last_sorted_slot(map.len()).and_then(|slot| map.key_at(slot)),
        stored_value_size,
    };
    let mut stdout = Stdout::new();
    if args.json {
        stdout.json(&info)?;
    } else {
        stdout.line(format!("mapbuffer {}", info.path))?;
        stdout.line(format!(
            "format version  {}{}",
            info.format_version,
            if info.format_version == 1 {
                " (CRC-32C after each value)"
            } else {
                " (no checksums)"
            }
        ))?;
        stdout.line(format!("codec           {}", info.codec))?;
        stdout.line(format!("keys            {}", info.keys))?;
        stdout.line(format!(
            "bytes           {} (header 16, index {}, values {})",
            info.bytes, info.index_bytes, info.data_bytes
        ))?;
        match (info.min_key, info.max_key) {
            (Some(min), Some(max)) => stdout.line(format!("key range       {min} ..= {max}"))?,
            _ => stdout.line("key range       (empty)")?,
        }
        match info.stored_value_size {
            Some(s) => stdout.line(format!(
                "stored values   min {}, median {}, max {} bytes",
                s.min, s.median, s.max
            ))?,
            None => stdout.line("stored values   (none)")?,
        }
    }
    stdout.flush()
}

/// `map verify --json`.
#[derive(Debug, Serialize)]
struct VerifyJson {
    ok: bool,
    path: String,
    /// File size; `null` when it cannot be opened.
    bytes: Option<u64>,
    /// Key count from the header; `null` when the header cannot be read.
    keys: Option<usize>,
    format_version: Option<u8>,
    codec: Option<&'static str>,
    errors: Vec<Problem>,
}

/// The byte offset a mapbuffer error is about, when it says.
fn error_offset(err: &mapbuffer::Error) -> Option<u64> {
    use mapbuffer::Error as E;
    match err {
        E::CorruptOffset { at, .. }
        | E::VersionContradicted { at, .. }
        | E::DuplicateKeyInIndex { at, .. }
        | E::UnsortedIndex { at, .. } => Some(*at),
        E::MissingCrc { offset, .. }
        | E::CrcMismatch { offset, .. }
        | E::Decompress { offset, .. } => Some(*offset),
        E::TrailingBytes { expected, .. } => Some(*expected),
        E::BadMagic { .. } => Some(0),
        E::UnsupportedVersion { .. } => Some(7),
        E::UnknownCodec { .. } => Some(8),
        _ => None,
    }
}

fn verify(args: &FileJsonArgs) -> Result {
    let file = args.file.as_path();
    let opened = open_map(file)?;
    let checked = match &opened {
        Ok(map) => map.verify(),
        Err(_) => Ok(()),
    }
    .map_err(|e| (map_error(file, &e), error_offset(&e)));
    let (opened, checked) = match opened {
        Ok(map) => (Some(map), checked),
        Err(e) => (None, Err((map_error(file, &e), error_offset(&e)))),
    };
    let mut stdout = Stdout::new();
    if args.json {
        let map = opened.as_ref();
        stdout.json(&VerifyJson {
            ok: checked.is_ok(),
            path: file.display().to_string(),
            bytes: map.map(|m| m.as_bytes().len() as u64),
            keys: map.map(MapBuffer::len),
            format_version: map.map(|m| m.format_version().to_byte()),
            codec: map.map(|m| m.codec().name()),
            errors: match &checked {
                Ok(()) => Vec::new(),
                Err((err, offset)) => vec![Problem::new(file, *offset, err)],
            },
        })?;
        stdout.flush()?;
    }
    checked.map_err(|(err, _)| err)?;
    if let Some(map) = opened.filter(|_| !args.json) {
        stdout.line(format!(
            "ok: {}: {} keys, format version {}, codec {}, {} checked",
            file.display(),
            map.len(),
            map.format_version(),
            map.codec().name(),
            size(map.as_bytes().len() as u64)
        ))?;
    }
    stdout.flush()
}

// ---------------------------------------------------------------------------------------------------------------
// dump

/// One line of `map dump --json` (JSON Lines).
#[derive(Debug, Serialize)]
struct DumpEntry {
    key: u64,
    slot: usize,
    offset: Option<u64>,
    stored_bytes: Option<u64>,
    value_bytes: Option<u64>,
    crc: &'static str,
    error: Option<String>,
}

/// The dump line of `slot`, or the error that makes its offsets impossible (which ends the dump).
fn dump_entry<D: AsRef<[u8]>>(
    map: &MapBuffer<D>,
    file: &Path,
    slot: usize,
) -> Result<DumpEntry, mapbuffer::Error> {
    let raw = map.raw_entry(slot)?;
    let mut entry = DumpEntry {
        key: raw.key,
        slot,
        offset: Some(raw.offset),
        stored_bytes: Some(raw.payload.len() as u64),
        value_bytes: None,
        crc: "none",
        error: None,
    };
    if raw.stored_crc.is_some() {
        match raw.check_crc() {
            Ok(()) => entry.crc = "ok",
            Err(err) => {
                entry.crc = "mismatch";
                entry.error = Some(map_error(file, &err).to_string());
            }
        }
    }
    // The CRC has been judged above; decode without checking it again.
    match map.value_at(slot) {
        Ok(value) => entry.value_bytes = Some(value.len() as u64),
        Err(err) => {
            if entry.error.is_none() {
                entry.error = Some(map_error(file, &err).to_string());
            }
        }
    }
    Ok(entry)
}

/// Whether `key` in `slot` may follow `previous` (slot, key) in sorted order: keys strictly increase, or the
/// index is damaged.
fn check_order(
    previous: Option<(usize, u64)>,
    slot: usize,
    key: u64,
) -> Result<(), mapbuffer::Error> {
    let Some((previous_slot, previous_key)) = previous else {
        return Ok(());
    };
    // The key field of index entry `slot`.
    let at = (HEADER_LEN + slot * INDEX_ENTRY_LEN) as u64;
    if key == previous_key {
        Err(mapbuffer::Error::DuplicateKeyInIndex {
            key,
            first_slot: previous_slot,
            slot,
            at,
        })
    } else if key < previous_key {
        Err(mapbuffer::Error::UnsortedIndex {
            key,
            slot,
            at,
            previous: previous_key,
        })
    } else {
        Ok(())
    }
}

/// Lists the entries in key order. A damaged value (CRC, compressed data) is listed with its error and the dump goes
/// on; a damaged index (a key out of order or twice, an impossible offset) ends it at once with that error, so a
/// file whose header claims billions of keys it does not have fails at its first bad entry instead of walking
/// them all.
fn dump(args: &FileJsonArgs) -> Result {
    let map = open(&args.file)?.with_crc_check(false);
    let mut stdout = Stdout::new();
    if !args.json {
        stdout.line(format!(
            "{:>20}  {:>12}  {:>12}  crc",
            "key", "stored", "value"
        ))?;
    }
    let mut damaged = 0usize;
    let mut previous = None;
    for slot in SortedSlots::new(map.len()) {
        let key = map.key_at(slot).unwrap_or_default();
        let entry =
            check_order(previous, slot, key).and_then(|()| dump_entry(&map, &args.file, slot));
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                stdout.flush()?;
                return Err(Error::data(
                    &args.file,
                    format!("{err} (the index is damaged: the dump stops here)"),
                ));
            }
        };
        previous = Some((slot, key));
        if entry.error.is_some() {
            damaged += 1;
        }
        if args.json {
            stdout.json_line(&entry)?;
        } else {
            let number = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
            stdout.line(format!(
                "{:>20}  {:>12}  {:>12}  {}",
                entry.key,
                number(entry.stored_bytes),
                number(entry.value_bytes),
                entry.crc
            ))?;
        }
    }
    stdout.flush()?;
    if damaged > 0 {
        return Err(Error::data(
            &args.file,
            format!(
                "{damaged} of {} values are damaged (see the dump; `byteshelf map verify` names the first)",
                map.len()
            ),
        ));
    }
    Ok(())
}

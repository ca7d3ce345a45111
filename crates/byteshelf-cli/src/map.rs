//! `byteshelf map ...`: MapBuffer files (build, get, info, verify, dump).

use std::io::BufRead;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use byteshelf::mapbuffer::format::SortedSlots;
use byteshelf::mapbuffer::{self, Codec, FormatVersion, MapBuffer, MapBufferBuilder};
use serde::{Deserialize, Serialize};

use crate::cli::{BuildArgs, Compress, FileArgs, FileJsonArgs, MapCommand, MapGetArgs};
use crate::error::{Error, Result};
use crate::input::{collect_files, open_text};
use crate::output::{SizeSummary, Stdout, size};
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
    let data = match crate::remote::read_all(file)? {
        Some(bytes) => crate::remote::Data::Fetched(bytes),
        None => crate::remote::Data::Mapped(
            MapBuffer::open(file)
                .map_err(|e| map_error(file, &e))?
                .into_inner(),
        ),
    };
    MapBuffer::from_bytes(data).map_err(|e| map_error(file, &e))
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

fn build(args: &BuildArgs) -> Result {
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
    let (entries, input) = match &args.jsonl {
        Some(path) => (read_jsonl(path)?, path.clone()),
        None => (read_key_files(&args.paths)?, PathBuf::from("<inputs>")),
    };
    let keys = entries.len();
    let value_bytes: u64 = entries.iter().map(|(_, v)| v.len() as u64).sum();
    let out = args.out.as_path();
    let dir = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".byteshelf-map-")
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|e| Error::io(out, &e))?;
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

fn read_key_files(paths: &[PathBuf]) -> Result<Vec<(u64, Vec<u8>)>> {
    let files = collect_files(paths)?;
    let progress = Progress::new("reading", Some(files.len() as u64));
    let mut entries = Vec::with_capacity(files.len());
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
        let value = std::fs::read(file).map_err(|e| Error::io(file, &e))?;
        bytes += value.len() as u64;
        entries.push((key, value));
        progress.advance(1, bytes);
    }
    progress.finish();
    Ok(entries)
}

fn read_jsonl(path: &Path) -> Result<Vec<(u64, Vec<u8>)>> {
    let (name, reader) = open_text(path)?;
    let progress = Progress::new("reading", None);
    let mut entries = Vec::new();
    let mut bytes = 0;
    for (number, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Error::io(&name, &e))?;
        if line.trim().is_empty() {
            continue;
        }
        let at = |reason: String| Error::data(&name, format!("line {}: {reason}", number + 1));
        let entry: JsonEntry = serde_json::from_str(&line).map_err(|e| {
            at(format!(
                "expected {{\"key\": <u64>, \"value\": \"<base64>\"}}: {e}"
            ))
        })?;
        let value = BASE64
            .decode(entry.value.as_bytes())
            .map_err(|e| at(format!("the value of key {} is not base64: {e}", entry.key)))?;
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
    let mut stdout = Stdout::new();
    for (value, key) in values.iter().zip(&args.keys) {
        if args.hex {
            stdout.line(format!("key {key}: {} bytes", value.len()))?;
            stdout.hexdump(value)?;
        } else {
            stdout.bytes(value)?;
        }
    }
    stdout.flush()
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

fn info(args: &FileJsonArgs) -> Result {
    let map = open(&args.file)?;
    let mut sizes = Vec::with_capacity(map.len());
    for slot in 0..map.len() {
        let entry = map.raw_entry(slot).map_err(|e| map_error(&args.file, &e))?;
        sizes.push(entry.payload.len() as u64);
    }
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
        max_key: map.keys().last(),
        stored_value_size: SizeSummary::of(&mut sizes),
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

fn verify(args: &FileArgs) -> Result {
    let map = open(&args.file)?;
    map.validate().map_err(|e| map_error(&args.file, &e))?;
    let mut stdout = Stdout::new();
    stdout.line(format!(
        "ok: {}: {} keys, format version {}, codec {}, {} checked",
        args.file.display(),
        map.len(),
        map.format_version(),
        map.codec().name(),
        size(map.as_bytes().len() as u64)
    ))?;
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

fn dump_entry<D: AsRef<[u8]>>(map: &MapBuffer<D>, file: &Path, slot: usize) -> DumpEntry {
    let key = map.key_at(slot).unwrap_or_default();
    let mut entry = DumpEntry {
        key,
        slot,
        offset: None,
        stored_bytes: None,
        value_bytes: None,
        crc: "none",
        error: None,
    };
    let raw = match map.raw_entry(slot) {
        Ok(raw) => raw,
        Err(err) => {
            entry.crc = "unknown";
            entry.error = Some(map_error(file, &err).to_string());
            return entry;
        }
    };
    entry.offset = Some(raw.offset);
    entry.stored_bytes = Some(raw.payload.len() as u64);
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
    entry
}

fn dump(args: &FileJsonArgs) -> Result {
    let mut map = open(&args.file)?;
    map.set_crc_check(false);
    let mut stdout = Stdout::new();
    if !args.json {
        stdout.line(format!(
            "{:>20}  {:>12}  {:>12}  crc",
            "key", "stored", "value"
        ))?;
    }
    let mut damaged = 0usize;
    for slot in SortedSlots::new(map.len()) {
        let entry = dump_entry(&map, &args.file, slot);
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

//! `byteshelf index ...`: sparse-index files, in byteshelf's format (v1, v2) or the Python reference's legacy
//! layout (info, lookup, build, verify).

use std::borrow::Cow;
use std::path::Path;

use byteshelf::sparse_index::{self, FileFormat, Format, SparseIndexRef, SparseIndexWriter};
use serde::Serialize;

use crate::cli::{FileJsonArgs, IndexBuildArgs, IndexCommand, IndexFormatArg, LookupArgs};
use crate::error::{Error, Result};
use crate::fsutil::{self, DEFAULT_MAX_RECORD_BYTES, LineReader, Mapped};
use crate::input::open_text;
use crate::output::{Problem, Stdout, hex, quoted, size};
use crate::progress::Progress;

/// Runs one `index` command.
pub(crate) fn run(command: IndexCommand) -> Result {
    match command {
        IndexCommand::Info(args) => info(&args),
        IndexCommand::Lookup(args) => lookup(&args),
        IndexCommand::Build(args) => build(&args),
        IndexCommand::Verify(args) => verify(&args),
    }
}

/// Reads and checks an index file in any format.
fn open<'a>(file: &Path, bytes: &'a [u8]) -> Result<(SparseIndexRef<Cow<'a, [u8]>>, FileFormat)> {
    SparseIndexRef::from_any_bytes(bytes).map_err(|e| Error::from_lib(file, &e))
}

/// The bytes of an index: fetched whole for a URL; for a path memory-mapped, so a large file costs no memory of
/// its own, and anything but a regular file (a FIFO, `/dev/zero`, a directory) is refused without being read.
fn read(file: &Path) -> Result<IndexBytes> {
    if let Some(bytes) = crate::remote::read_all(file)? {
        return Ok(IndexBytes::Fetched(bytes));
    }
    fsutil::map_regular(file).map(IndexBytes::Mapped)
}

/// The bytes [`read`] returns.
enum IndexBytes {
    Mapped(Mapped),
    Fetched(bytes::Bytes),
}

impl std::ops::Deref for IndexBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Self::Mapped(mapped) => mapped,
            Self::Fetched(bytes) => bytes,
        }
    }
}

/// The short, stable name of a format in JSON output.
fn format_id(format: FileFormat) -> String {
    match format {
        FileFormat::V1 => "v1".to_owned(),
        FileFormat::V2 => "v2".to_owned(),
        FileFormat::V3 => "v3".to_owned(),
        FileFormat::Legacy => "legacy".to_owned(),
        FileFormat::UnknownVersion(version) => format!("unknown-v{version}"),
        _ => "unknown".to_owned(),
    }
}

/// A key in JSON output: escaped text and hex.
#[derive(Debug, Serialize)]
struct KeyJson {
    text: String,
    hex: String,
}

impl KeyJson {
    fn new(key: &[u8]) -> Self {
        Self {
            text: key.escape_ascii().to_string(),
            hex: hex(key),
        }
    }
}

/// Key length figures in [`IndexInfo`].
#[derive(Debug, Serialize)]
struct KeyLengths {
    min: usize,
    mean: f64,
    max: usize,
    total: u64,
    common_prefix: usize,
}

/// `index info --json`.
#[derive(Debug, Serialize)]
struct IndexInfo {
    path: String,
    format: String,
    format_name: &'static str,
    bytes: u64,
    entries: usize,
    data_end: Option<u64>,
    restart_interval: Option<usize>,
    first_key: Option<KeyJson>,
    last_key: Option<KeyJson>,
    first_offset: Option<u64>,
    last_offset: Option<u64>,
    key_lengths: KeyLengths,
}

fn info(args: &FileJsonArgs) -> Result {
    let bytes = read(&args.file)?;
    let (index, format) = open(&args.file, &bytes)?;
    let stats = index.key_stats();
    let info = IndexInfo {
        path: args.file.display().to_string(),
        format: format_id(format),
        format_name: format.name(),
        bytes: bytes.len() as u64,
        entries: index.len(),
        data_end: index.data_end(),
        restart_interval: (format == FileFormat::V2).then(|| index.restart_interval()),
        first_key: index.first_key().map(|k| KeyJson::new(&k)),
        last_key: index.last_key().map(|k| KeyJson::new(&k)),
        first_offset: index.offset(0),
        last_offset: index.len().checked_sub(1).and_then(|i| index.offset(i)),
        key_lengths: KeyLengths {
            min: stats.min_len,
            mean: (stats.mean_len() * 100.0).round() / 100.0,
            max: stats.max_len,
            total: stats.total_len,
            common_prefix: stats.common_prefix_len,
        },
    };
    let mut stdout = Stdout::new();
    if args.json {
        stdout.json(&info)?;
        return stdout.flush();
    }
    let key = |k: &Option<KeyJson>| {
        k.as_ref()
            .map_or_else(|| "-".to_owned(), |k| format!("\"{}\"", k.text))
    };
    let number = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    stdout.line(format!("sparse index {}", info.path))?;
    stdout.line(format!("format        {}", info.format_name))?;
    if let Some(interval) = info.restart_interval {
        stdout.line(format!("restarts      every {interval} entries"))?;
    }
    stdout.line(format!("bytes         {}", info.bytes))?;
    stdout.line(format!("entries       {}", info.entries))?;
    stdout.line(format!(
        "data end      {}",
        info.data_end
            .map_or_else(|| "unknown".to_owned(), |n| n.to_string())
    ))?;
    stdout.line(format!(
        "first entry   key {} at offset {}",
        key(&info.first_key),
        number(info.first_offset)
    ))?;
    stdout.line(format!(
        "last entry    key {} at offset {}",
        key(&info.last_key),
        number(info.last_offset)
    ))?;
    let lengths = &info.key_lengths;
    stdout.line(format!(
        "key lengths   min {}, mean {:.2}, max {}, {} bytes in all, common prefix {}",
        lengths.min, lengths.mean, lengths.max, lengths.total, lengths.common_prefix
    ))?;
    stdout.flush()
}

/// `index lookup --json`.
#[derive(Debug, Serialize)]
struct LookupJson {
    entry: usize,
    key: KeyJson,
    offset: u64,
    block_end: Option<u64>,
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn lookup(args: &LookupArgs) -> Result {
    let key = if args.key_hex {
        parse_hex(&args.key).ok_or_else(|| {
            Error::usage(format!(
                "--key-hex: {:?} is not an even number of hex digits",
                args.key
            ))
        })?
    } else {
        args.key.as_bytes().to_vec()
    };
    let bytes = read(&args.file)?;
    let (index, _) = open(&args.file, &bytes)?;
    let found = if args.ceil {
        index.ceil(&key)
    } else {
        index.floor(&key)
    };
    let Some(entry) = found else {
        let reason = match (args.ceil, index.first_key(), index.last_key()) {
            (_, None, _) => "the index has no entries".to_owned(),
            (false, Some(first), _) => format!(
                "no block can hold key {}: it sorts before the first key {}",
                quoted(&key),
                quoted(&first)
            ),
            (true, _, Some(last)) => format!(
                "no entry has a key >= {}: the last key is {}",
                quoted(&key),
                quoted(&last)
            ),
            (true, _, None) => "the index has no entries".to_owned(),
        };
        return Err(Error::data(&args.file, reason));
    };
    let (first_key, offset) = index
        .get(entry)
        .ok_or_else(|| Error::data(&args.file, format!("entry {entry} cannot be read")))?;
    let block_end = index.block_range(entry).map(|range| range.end);
    let mut stdout = Stdout::new();
    if args.json {
        stdout.json(&LookupJson {
            entry,
            key: KeyJson::new(&first_key),
            offset,
            block_end,
        })?;
    } else {
        stdout.line(format!(
            "entry {entry}: first key {}, block {offset}..{}",
            quoted(&first_key),
            block_end.map_or_else(|| "(end unknown)".to_owned(), |end| end.to_string())
        ))?;
    }
    stdout.flush()
}

// ---------------------------------------------------------------------------------------------------------------
// build

/// The start of the name of every temporary file `index build` writes (then `OUT-XXXXXX.part`).
const PART_PREFIX: &str = ".byteshelf-index-";

/// One `KEY<TAB>OFFSET` line: the key (its bytes before the last tab, or their hex with `hex_keys`) and the offset.
fn parse_tsv_line(line: &[u8], hex_keys: bool) -> Result<(Vec<u8>, u64), String> {
    let tab = line
        .iter()
        .rposition(|&b| b == b'\t')
        .ok_or_else(|| "expected KEY<TAB>OFFSET, found no tab".to_owned())?;
    let (key, offset) = (&line[..tab], &line[tab + 1..]);
    let offset = std::str::from_utf8(offset)
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| {
            format!(
                "the offset {} is not a decimal u64",
                quoted(offset.trim_ascii())
            )
        })?;
    let key = if hex_keys {
        std::str::from_utf8(key)
            .ok()
            .and_then(parse_hex)
            .ok_or_else(|| {
                format!(
                    "the key {} is not an even number of hex digits (--hex-keys)",
                    quoted(key)
                )
            })?
    } else {
        key.to_vec()
    };
    Ok((key, offset))
}

/// The reason a line's entry cannot follow the previous line's: the writer's order errors, said for a file.
fn order_error(err: &sparse_index::Error) -> Option<String> {
    match err {
        sparse_index::Error::KeyNotAscending { key, previous, .. } if key == previous => Some(
            format!("key {key} is the previous line's key again: each key may appear once"),
        ),
        sparse_index::Error::KeyNotAscending { key, previous, .. } => Some(format!(
            "key {key} sorts before the previous line's key {previous}: the lines must be sorted by key (byte \
             order)"
        )),
        sparse_index::Error::OffsetNotAscending {
            offset, previous, ..
        } => Some(format!(
            "offset {offset} is not greater than the previous line's offset {previous}: block offsets must ascend \
             with the keys"
        )),
        _ => None,
    }
}

fn build(args: &IndexBuildArgs) -> Result {
    let out = args.out.as_path();
    let format = match args.format {
        IndexFormatArg::V1 => Format::Plain,
        IndexFormatArg::V2 => Format::prefix_compressed(),
        IndexFormatArg::V3 => Format::Sampled,
    };
    let dir = fsutil::out_dir(out);
    let prefix = fsutil::part_prefix(PART_PREFIX, out);
    // Part files of earlier builds of this output whose writers were killed (best effort, as `map build`).
    let _ = fsutil::remove_stale_parts(dir, |name| fsutil::is_part_name(name, &prefix));
    let (name, reader) = open_text(&args.from_tsv)?;
    let mut lines = LineReader::new(name, reader, DEFAULT_MAX_RECORD_BYTES);
    // Locked while it is written, so that later builds can tell it from the part of a killed build.
    let mut temporary = fsutil::create_locked_part(dir, &prefix).map_err(|e| Error::io(out, &e))?;
    let write_error = |e: sparse_index::Error| match e {
        sparse_index::Error::Io(io) => Error::io(out, &io),
        other => Error::from_lib(out, &other),
    };
    let mut writer = SparseIndexWriter::with_format(temporary.as_file_mut(), format);
    let progress = Progress::new("indexing", None);
    let mut line = Vec::new();
    let mut bytes = 0;
    let mut last_line = 0;
    while let Some(at) = lines.next_line(&mut line)? {
        if line.is_empty() {
            continue;
        }
        let fail = |reason: String| {
            Error::data(
                lines.name(),
                format!("line {} (byte {}): {reason}", at.number, at.offset),
            )
        };
        let (key, offset) = parse_tsv_line(&line, args.hex_keys).map_err(fail)?;
        writer
            .add(&key, offset)
            .map_err(|e| match order_error(&e) {
                Some(reason) => fail(reason),
                None => write_error(e),
            })?;
        bytes += line.len() as u64 + 1;
        last_line = at.number;
        progress.advance(1, bytes);
    }
    progress.finish();
    let entries = writer.len();
    writer
        .finish(args.data_end)
        .map_err(|e| match e {
            sparse_index::Error::DataEndNotAfterLastOffset {
                data_end,
                last_offset,
            } => Error::data(
                lines.name(),
                format!(
                    "--data-end {data_end} is not after the offset {last_offset} of the last block (line \
                     {last_line})"
                ),
            ),
            other => write_error(other),
        })?;
    temporary
        .as_file()
        .sync_all()
        .map_err(|e| Error::io(out, &e))?;
    let written = temporary
        .as_file()
        .metadata()
        .map_err(|e| Error::io(out, &e))?
        .len();
    temporary
        .persist(out)
        .map_err(|e| Error::io(out, &e.error))?;
    let mut stdout = Stdout::new();
    stdout.line(format!(
        "built {}: {entries} entries, data end {}, {written} bytes ({})",
        out.display(),
        args.data_end
            .map_or_else(|| "unknown".to_owned(), |end| end.to_string()),
        match args.format {
            IndexFormatArg::V1 => FileFormat::V1.name(),
            IndexFormatArg::V2 => FileFormat::V2.name(),
            IndexFormatArg::V3 => FileFormat::V3.name(),
        }
    ))?;
    stdout.flush()
}

// ---------------------------------------------------------------------------------------------------------------
// verify

/// `index verify --json`.
#[derive(Debug, Serialize)]
struct VerifyJson {
    ok: bool,
    path: String,
    /// `"v1"`, `"v2"`, `"v3"` or `"legacy"`; `null` when the file is not a valid index.
    format: Option<String>,
    /// File size; `null` when it cannot be read.
    bytes: Option<u64>,
    /// `null` when the file is not a valid index.
    entries: Option<usize>,
    errors: Vec<Problem>,
}

/// The byte offset a sparse-index error is about, when it says.
fn error_offset(err: &sparse_index::Error) -> Option<u64> {
    use sparse_index::Error as E;
    let offset = match err {
        E::BadMagic { offset }
        | E::CorruptHeader { offset, .. }
        | E::ChecksumMismatch { offset, .. }
        | E::CorruptKey { offset, .. }
        | E::CorruptOffset { offset, .. }
        | E::CorruptDataEnd { offset, .. }
        | E::CorruptEncoding { offset, .. }
        | E::LegacyTruncatedEntry { offset, .. } => *offset,
        E::UnsupportedVersion { .. } => 4,
        _ => return None,
    };
    Some(offset as u64)
}

fn verify(args: &FileJsonArgs) -> Result {
    let file = args.file.as_path();
    let bytes = read(file);
    let checked = match &bytes {
        Ok(bytes) => SparseIndexRef::from_any_bytes(bytes)
            .map(|(index, format)| (index.len(), format))
            .map_err(|e| (Error::from_lib(file, &e), error_offset(&e))),
        Err(err) => Err((Error::data(file, err), None)),
    };
    let mut stdout = Stdout::new();
    if args.json {
        stdout.json(&VerifyJson {
            ok: checked.is_ok(),
            path: file.display().to_string(),
            format: checked.as_ref().ok().map(|&(_, format)| format_id(format)),
            bytes: bytes.as_ref().ok().map(|b| b.len() as u64),
            entries: checked.as_ref().ok().map(|&(entries, _)| entries),
            errors: match &checked {
                Ok(_) => Vec::new(),
                Err((err, offset)) => vec![Problem::new(file, *offset, err)],
            },
        })?;
        stdout.flush()?;
    }
    let len = bytes.as_ref().map_or(0, |b| b.len() as u64);
    let (entries, format) = match (checked, bytes) {
        (Ok(checked), _) => checked,
        // The read error itself, not its copy.
        (Err(_), Err(err)) => return Err(err),
        (Err((err, _)), Ok(_)) => return Err(err),
    };
    if !args.json {
        stdout.line(format!(
            "ok: {}: {entries} entries, format {}, {} checked",
            file.display(),
            format.name(),
            size(len)
        ))?;
    }
    stdout.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_keys() {
        assert_eq!(parse_hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(parse_hex(""), Some(vec![]));
        assert_eq!(parse_hex("abc"), None);
        assert_eq!(parse_hex("zz"), None);
    }

    #[test]
    fn tsv_lines() {
        assert_eq!(
            parse_tsv_line(b"apple\t0", false),
            Ok((b"apple".to_vec(), 0))
        );
        // The last tab separates: keys may hold tabs.
        assert_eq!(parse_tsv_line(b"a\tb\t7", false), Ok((b"a\tb".to_vec(), 7)));
        assert_eq!(parse_tsv_line(b"\t9", false), Ok((Vec::new(), 9)));
        assert_eq!(parse_tsv_line(b"00ff\t1", true), Ok((vec![0, 255], 1)));
        assert!(parse_tsv_line(b"apple 0", false).is_err());
        assert!(parse_tsv_line(b"apple\t-1", false).is_err());
        assert!(parse_tsv_line(b"apple\t", false).is_err());
        assert!(parse_tsv_line(b"0f0\t1", true).is_err());
    }
}

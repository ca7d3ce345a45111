//! `byteshelf index ...`: sparse-index files, in byteshelf's format (v1, v2) or the Python reference's legacy
//! layout (info, lookup).

use std::borrow::Cow;
use std::path::Path;

use byteshelf::sparse_index::{FileFormat, SparseIndexRef};
use serde::Serialize;

use crate::cli::{FileJsonArgs, IndexCommand, LookupArgs};
use crate::error::{Error, Result};
use crate::output::{Stdout, hex, quoted};

/// Runs one `index` command.
pub(crate) fn run(command: IndexCommand) -> Result {
    match command {
        IndexCommand::Info(args) => info(&args),
        IndexCommand::Lookup(args) => lookup(&args),
    }
}

/// Reads and checks an index file in any format.
fn open<'a>(file: &Path, bytes: &'a [u8]) -> Result<(SparseIndexRef<Cow<'a, [u8]>>, FileFormat)> {
    SparseIndexRef::from_any_bytes(bytes).map_err(|e| Error::from_lib(file, &e))
}

fn read(file: &Path) -> Result<Vec<u8>> {
    if let Some(bytes) = crate::remote::read_all(file)? {
        return Ok(bytes.into());
    }
    std::fs::read(file).map_err(|e| Error::io(file, &e))
}

/// The short, stable name of a format in JSON output.
fn format_id(format: FileFormat) -> String {
    match format {
        FileFormat::V1 => "v1".to_owned(),
        FileFormat::V2 => "v2".to_owned(),
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
}

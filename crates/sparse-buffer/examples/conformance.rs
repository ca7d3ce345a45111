//! The Rust side of `cargo xtask conformance sparse-buffer`: replays operation scripts on a `SparseBuffer`.
//!
//! Usage: `sparse-buffer-conformance <script>`. The script has one operation per line (numbers in decimal,
//! bytes in hex), the same that `conformance/roboto_driver.py` replays on roboto's `SparseBuffer`:
//!
//! ```text
//! case <name> <file size>     start a new buffer
//! add <offset> <hex>          add_region
//! read <n>                    read n bytes at the cursor (-1: the rest of the file)
//! read_at <offset> <n>        positional read (roboto: seek, read, seek back)
//! seek <offset> <whence>      0 = start, 1 = cursor, 2 = end
//! tell | size | clear
//! find <start> <len>          find_region
//! ```
//!
//! Each operation prints `<op line> -> <result> | pos=<cursor> regions=<[(start, end), ...]>` where the result
//! is `none`, `int:<n>`, `bytes:<hex>`, `gap:<next cached byte or none>` or `err:<kind>`.

use std::io::{Read, Seek, SeekFrom};
use std::process::ExitCode;

use sparse_buffer::{Error, ReadAt, SparseBuffer};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd hex length: {text}"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16).map_err(|e| format!("bad hex {text}: {e}"))
        })
        .collect()
}

fn num<T: std::str::FromStr>(field: Option<&str>, line: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let field = field.ok_or_else(|| format!("missing field in `{line}`"))?;
    field
        .parse()
        .map_err(|e| format!("bad number `{field}` in `{line}`: {e}"))
}

fn gap(next: Option<u64>) -> String {
    next.map_or_else(|| "gap:none".to_owned(), |n| format!("gap:{n}"))
}

fn regions(buffer: &SparseBuffer) -> String {
    let list: Vec<String> = buffer
        .regions()
        .map(|r| format!("({}, {})", r.start, r.end))
        .collect();
    format!("[{}]", list.join(", "))
}

fn read(buffer: &mut SparseBuffer, n: i64) -> String {
    let len = if n < 0 {
        buffer.size().saturating_sub(buffer.position())
    } else {
        n.unsigned_abs()
    };
    let mut out = vec![0; usize::try_from(len).unwrap_or(0)];
    match buffer.read(&mut out) {
        Ok(got) => format!("bytes:{}", hex(&out[..got])),
        Err(err) => match Error::from_io(err) {
            Ok(Error::NotCached { next_cached, .. }) => gap(next_cached),
            Ok(other) => format!("err:{other:?}"),
            Err(io) => format!("err:{:?}", io.kind()),
        },
    }
}

fn apply(buffer: &mut SparseBuffer, line: &str) -> Result<String, String> {
    let mut fields = line.split_whitespace();
    let op = fields.next().unwrap_or_default();
    Ok(match op {
        "add" => {
            let offset: u64 = num(fields.next(), line)?;
            let data = unhex(fields.next().unwrap_or_default())?;
            match buffer.add_region(offset, data) {
                Ok(()) => "none".to_owned(),
                Err(Error::OutOfBounds { .. }) => "err:OutOfBounds".to_owned(),
                Err(other) => format!("err:{other:?}"),
            }
        }
        "read" => {
            let n: i64 = num(fields.next(), line)?;
            read(buffer, n)
        }
        "read_at" => {
            let offset: u64 = num(fields.next(), line)?;
            let n: usize = num(fields.next(), line)?;
            let mut out = vec![0; n];
            match buffer.read_at(offset, &mut out) {
                ReadAt::Data(got) => format!("bytes:{}", hex(&out[..got])),
                ReadAt::End => "bytes:".to_owned(),
                ReadAt::Gap { next_cached } => gap(next_cached),
            }
        }
        "seek" => {
            let offset: i64 = num(fields.next(), line)?;
            let whence: u8 = num(fields.next(), line)?;
            let from = match whence {
                0 if offset >= 0 => SeekFrom::Start(offset.unsigned_abs()),
                0 => {
                    SeekFrom::Current(offset - i64::try_from(buffer.position()).unwrap_or(i64::MAX))
                }
                1 => SeekFrom::Current(offset),
                2 => SeekFrom::End(offset),
                _ => {
                    return Err(format!(
                        "whence {whence} cannot be expressed in Rust: `{line}`"
                    ));
                }
            };
            match buffer.seek(from) {
                Ok(position) => format!("int:{position}"),
                Err(err) => format!("err:{:?}", err.kind()),
            }
        }
        "tell" => format!("int:{}", buffer.position()),
        "size" => format!("int:{}", buffer.size()),
        "clear" => {
            buffer.clear();
            "none".to_owned()
        }
        "find" => {
            let start: u64 = num(fields.next(), line)?;
            let len: u64 = num(fields.next(), line)?;
            buffer.find_region(start, len).map_or_else(
                || "none".to_owned(),
                |bytes| format!("bytes:{}", hex(&bytes)),
            )
        }
        _ => return Err(format!("unknown operation `{line}`")),
    })
}

fn run(script: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut buffer = None;
    for line in script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if let Some(rest) = line.strip_prefix("case ") {
            let size = rest.rsplit(' ').next().unwrap_or_default();
            buffer = Some(SparseBuffer::new(num(Some(size), line)?));
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let buffer = buffer
            .as_mut()
            .ok_or("an operation before the first `case`")?;
        let result = apply(buffer, line)?;
        out.push_str(&format!(
            "{line} -> {result} | pos={} regions={}\n",
            buffer.position(),
            regions(buffer)
        ));
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, path] = args.as_slice() else {
        eprintln!("usage: sparse-buffer-conformance <script>");
        return ExitCode::from(2);
    };
    let result = std::fs::read_to_string(path)
        .map_err(|e| format!("{path}: {e}"))
        .and_then(|s| run(&s));
    match result {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("sparse-buffer-conformance: {err}");
            ExitCode::FAILURE
        }
    }
}

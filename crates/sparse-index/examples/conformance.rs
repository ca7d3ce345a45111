//! The Rust side of `cargo xtask conformance sparse-index`: a small CLI that `conformance/run.py` drives.
//!
//! Entries files hold one entry per line, `<key hex> <offset>` (an empty key is `-`). Probe files hold one query
//! per line: `floor <key hex>`, `ceil <key hex>` or `next <offset>`; answers are one line each, a number or `none`.
//!
//! ```text
//! conformance legacy-encode <entries> <out>        write the reference's layout
//! conformance decode <in> <entries>                read any layout (detected) and list its entries
//! conformance convert <in> <out> v1|v2|v3          read any layout, write a byteshelf one
//! conformance query <in> <probes> <answers>        answer probes on any layout, through the zero-copy view
//! ```
//!
//! Errors go to stderr with exit status 2, so run.py can tell a rejected input from a crash.

use std::fs;
use std::process::ExitCode;

use sparse_index::{Format, SparseIndex, SparseIndexRef};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".to_owned();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>> {
    if text == "-" {
        return Ok(Vec::new());
    }
    if !text.len().is_multiple_of(2) {
        return Err(format!("odd-length hex {text:?}").into());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| Ok(u8::from_str_radix(&text[i..i + 2], 16)?))
        .collect()
}

fn read_entries(path: &str) -> Result<SparseIndex> {
    let mut index = SparseIndex::new();
    for line in fs::read_to_string(path)?.lines().filter(|l| !l.is_empty()) {
        let (key, offset) = line.split_once(' ').ok_or("entry line without a space")?;
        index.add(unhex(key)?, offset.parse()?)?;
    }
    Ok(index)
}

fn answer(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

fn run(args: &[String]) -> Result<()> {
    let arg = |i: usize| -> Result<&str> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("missing argument {i}").into())
    };
    match arg(0)? {
        "legacy-encode" => fs::write(arg(2)?, read_entries(arg(1)?)?.to_legacy_bytes())?,
        "decode" => {
            let bytes = fs::read(arg(1)?)?;
            let (index, _) = SparseIndexRef::from_any_bytes(&bytes)?;
            let lines: String = index
                .iter()
                .map(|(key, offset)| format!("{} {offset}\n", hex(&key)))
                .collect();
            fs::write(arg(2)?, lines)?;
        }
        "convert" => {
            let bytes = fs::read(arg(1)?)?;
            let (index, _) = SparseIndexRef::from_any_bytes(&bytes)?;
            let format = match arg(3)? {
                "v1" => Format::Plain,
                "v2" => Format::prefix_compressed(),
                "v3" => Format::Sampled,
                other => return Err(format!("unknown format {other}").into()),
            };
            fs::write(arg(2)?, index.to_index().to_bytes_with(format)?)?;
        }
        "query" => {
            let bytes = fs::read(arg(1)?)?;
            let (index, _) = SparseIndexRef::from_any_bytes(&bytes)?;
            let mut out = String::new();
            for line in fs::read_to_string(arg(2)?)?
                .lines()
                .filter(|l| !l.is_empty())
            {
                let (op, operand) = line.split_once(' ').ok_or("probe line without a space")?;
                let value = match op {
                    "floor" => answer(index.floor_offset(unhex(operand)?)),
                    "ceil" => answer(index.ceil_offset(unhex(operand)?)),
                    "next" => answer(index.next_offset_after(operand.parse()?)),
                    other => return Err(format!("unknown probe {other}").into()),
                };
                out.push_str(&value);
                out.push('\n');
            }
            fs::write(arg(3)?, out)?;
        }
        other => return Err(format!("unknown command {other}").into()),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

//! The Rust side of the conformance suite (`cargo xtask conformance roxxel-format`), driven by
//! `conformance/run.py`.
//!
//! ```text
//! conformance write <path> <records-file> [--max-shard-bytes N] [--footer 01|02] [--dtype NAME] [--skip-empty]
//! conformance dump <spec> [<more paths>...]
//! conformance pack <path> <items-file> --block-size N [--separator HEX] [--max-shard-bytes N] [--dtype NAME]
//! ```
//!
//! A records file holds one record per line as lowercase hex (an empty line is an empty record). `dump` prints
//! one `shard<TAB>name<TAB>kind<TAB>dtype<TAB>records<TAB>payload bytes` line per shard, then one
//! `rec<TAB>hex` line per record, after checking every shard with `verify()`. `pack` writes the items through a
//! `BlockPacker`, as roxxel 0.9.14's `write()` packs them into blocks.

use std::error::Error;
use std::process::ExitCode;

use roxxel_format::{BlockPacker, Dataset, DatasetSpec, Dtype, FooterKind, WriterOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), Box<dyn Error>> {
    match args.first().map(String::as_str) {
        Some("write") => write(&args[1..]),
        Some("dump") => dump(&args[1..]),
        Some("pack") => pack(&args[1..]),
        _ => Err(
            "usage: conformance write <path> <records> [options] | dump <spec>... | pack <path> <items> [options]"
                .into(),
        ),
    }
}

fn write(args: &[String]) -> Result<(), Box<dyn Error>> {
    let [path, records, rest @ ..] = args else {
        return Err("write needs <path> <records-file>".into());
    };
    let mut options = WriterOptions::new();
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        let mut value = || rest.next().ok_or_else(|| format!("{flag} needs a value"));
        options = match flag.as_str() {
            "--max-shard-bytes" => options.max_shard_bytes(value()?.parse()?),
            "--footer" => options.footer(match value()?.as_str() {
                "01" => FooterKind::Roxxel01,
                "02" => FooterKind::Roxxel02,
                other => return Err(format!("unknown footer {other}").into()),
            }),
            "--dtype" => options.dtype(Dtype::new(value()?)?),
            "--skip-empty" => options.skip_empty_records(true),
            other => return Err(format!("unknown option {other}").into()),
        };
    }
    let text = std::fs::read_to_string(records)?;
    let mut writer = options.open(path)?;
    for line in text.split_terminator('\n') {
        writer.push(&from_hex(line)?)?;
    }
    writer.finish()?;
    Ok(())
}

fn pack(args: &[String]) -> Result<(), Box<dyn Error>> {
    let [path, items, rest @ ..] = args else {
        return Err("pack needs <path> <items-file>".into());
    };
    let mut options = WriterOptions::new();
    let (mut block_size, mut separator) = (None, Vec::new());
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        let mut value = || rest.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--block-size" => block_size = Some(value()?.parse()?),
            "--separator" => separator = from_hex(value()?)?,
            "--max-shard-bytes" => options = options.max_shard_bytes(value()?.parse()?),
            "--dtype" => options = options.dtype(Dtype::new(value()?)?),
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    let mut packer =
        BlockPacker::new(block_size.ok_or("--block-size is required")?)?.separator(separator);
    let text = std::fs::read_to_string(items)?;
    let mut writer = options.open(path)?;
    for line in text.split_terminator('\n') {
        packer.push_to(&from_hex(line)?, &mut writer)?;
    }
    packer.finish_to(&mut writer)?;
    writer.finish()?;
    Ok(())
}

fn dump(args: &[String]) -> Result<(), Box<dyn Error>> {
    let spec = match args {
        [] => return Err("dump needs a spec".into()),
        [one] => DatasetSpec::from(one.as_str()),
        many => DatasetSpec::from(many),
    };
    let dataset = Dataset::open(spec)?;
    dataset.verify()?;
    let mut out = String::new();
    for shard in dataset.shards() {
        let name = shard
            .path()
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let dtype = shard
            .dtype()
            .map_or_else(|| "-".to_owned(), |d| d.to_string());
        out.push_str(&format!(
            "shard\t{name}\t{}\t{dtype}\t{}\t{}\n",
            shard.footer_kind(),
            shard.len(),
            shard.raw_data_size()
        ));
    }
    for record in &dataset {
        out.push_str("rec\t");
        for byte in record? {
            out.push_str(&format!("{byte:02x}"));
        }
        out.push('\n');
    }
    print!("{out}");
    Ok(())
}

fn from_hex(line: &str) -> Result<Vec<u8>, Box<dyn Error>> {
    if !line.len().is_multiple_of(2) {
        return Err(format!("odd-length hex line {line:?}").into());
    }
    (0..line.len())
        .step_by(2)
        .map(|i| Ok(u8::from_str_radix(&line[i..i + 2], 16)?))
        .collect()
}

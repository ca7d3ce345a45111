//! The Rust side of the mapbuffer conformance suite (`cargo xtask conformance mapbuffer`), driven by
//! `conformance/run.py`.
//!
//! ```text
//! mapbuffer-conformance write <manifest> <dir>   build every case into <dir>/<name>.bin
//! mapbuffer-conformance read <manifest> <dir>    validate and dump <dir>/<name>.bin to <dir>/<name>.rs.txt
//! ```
//!
//! Manifest lines are `<name> <kind> <codec> <version>` (kind `map` or `intmap`); the entries of a case are in
//! `<name>.in.txt` next to the manifest, one `<key> <hex value>` per line (IntMap values in decimal). A dump is
//! `HEADER <version> <codec> <len>` and one `<key> <value>` line per entry in ascending key order, or
//! `ERROR <variant>: <message>`.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mapbuffer::{Codec, FormatVersion, IntMap, MapBuffer, MapBufferBuilder};

type Result<T> = std::result::Result<T, Box<dyn StdError>>;

struct Case {
    name: String,
    kind: String,
    codec: Codec,
    version: FormatVersion,
}

fn manifest(path: &Path) -> Result<Vec<Case>> {
    let text = fs::read_to_string(path)?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [name, kind, codec, version] = fields[..] else {
                return Err(format!("bad manifest line {line:?}").into());
            };
            Ok(Case {
                name: name.to_owned(),
                kind: kind.to_owned(),
                codec: codec.parse()?,
                version: FormatVersion::from_byte(version.parse()?)?,
            })
        })
        .collect()
}

fn entries(path: &Path) -> Result<Vec<(u64, String)>> {
    fs::read_to_string(path)?
        .lines()
        .map(|line| {
            let (key, value) = line.split_once(' ').ok_or("missing value")?;
            Ok((key.parse()?, value.to_owned()))
        })
        .collect()
}

fn from_hex(hex: &str) -> Result<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|i| Ok(u8::from_str_radix(hex.get(i..i + 2).ok_or("odd hex")?, 16)?))
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

fn write(manifest_path: &Path, dir: &Path) -> Result<()> {
    let base = manifest_path.parent().unwrap_or(Path::new("."));
    for case in manifest(manifest_path)? {
        let input = entries(&base.join(format!("{}.in.txt", case.name)))?;
        let out = fs::File::create(dir.join(format!("{}.bin", case.name)))?;
        if case.kind == "intmap" {
            let pairs = input
                .into_iter()
                .map(|(key, value)| Ok((key, value.parse::<u64>()?)))
                .collect::<Result<Vec<_>>>()?;
            IntMap::write(pairs, out)?;
        } else {
            let pairs = input
                .into_iter()
                .map(|(key, value)| Ok((key, from_hex(&value)?)))
                .collect::<Result<Vec<_>>>()?;
            MapBufferBuilder::new()
                .codec(case.codec)
                .format_version(case.version)
                .write(pairs, out)?;
        }
    }
    Ok(())
}

fn dump_map(bytes: &[u8]) -> mapbuffer::Result<Vec<String>> {
    let map = MapBuffer::from_bytes(bytes)?;
    map.verify()?;
    let mut lines = vec![format!(
        "HEADER {} {} {}",
        map.format_version(),
        map.codec(),
        map.len()
    )];
    // Keys in ascending order, each value read through a lookup (`verify` already decoded them all once).
    for key in map.keys() {
        let value = map.get(key)?.ok_or(mapbuffer::Error::KeyNotFound { key })?;
        lines.push(format!("{key} {}", to_hex(&value)));
    }
    Ok(lines)
}

fn dump_intmap(bytes: &[u8]) -> mapbuffer::Result<Vec<String>> {
    let map = IntMap::from_bytes(bytes)?;
    map.verify()?;
    let mut lines = vec![format!("HEADER 0 none {}", map.len())];
    for (key, value) in map.iter() {
        if map.get(key) != Some(value) {
            return Err(mapbuffer::Error::KeyNotFound { key });
        }
        lines.push(format!("{key} {value}"));
    }
    Ok(lines)
}

fn read(manifest_path: &Path, dir: &Path) -> Result<()> {
    for case in manifest(manifest_path)? {
        let bytes = fs::read(dir.join(format!("{}.bin", case.name)))?;
        let dumped = if case.kind == "intmap" {
            dump_intmap(&bytes)
        } else {
            dump_map(&bytes)
        };
        let lines = dumped.unwrap_or_else(|err| {
            let debug = format!("{err:?}");
            let variant = debug
                .split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap_or_default()
                .to_owned();
            vec![format!("ERROR {variant}: {err}")]
        });
        fs::write(
            dir.join(format!("{}.rs.txt", case.name)),
            lines.join("\n") + "\n",
        )?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match &args[..] {
        [command, manifest, dir] if command == "write" => {
            write(&PathBuf::from(manifest), &PathBuf::from(dir))
        }
        [command, manifest, dir] if command == "read" => {
            read(&PathBuf::from(manifest), &PathBuf::from(dir))
        }
        _ => Err("usage: mapbuffer-conformance (write|read) <manifest> <dir>".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mapbuffer-conformance: {err}");
            ExitCode::FAILURE
        }
    }
}

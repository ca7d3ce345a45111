//! Golden bytes of small files (hexdump plus decoded fields), reviewed once and committed.

use std::fmt::Write as _;
use std::path::Path;

use roxxel_format::{FooterKind, Shard, WriterOptions};

use crate::common::{shard_files, write};

fn describe(name: &str, bytes: &[u8]) -> String {
    let mut out = format!("{name}: {} bytes\n", bytes.len());
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let ascii: String = chunk
            .iter()
            .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
            .collect();
        writeln!(out, "{:08x}: {:<47}  {ascii}", line * 16, hex.join(" ")).unwrap();
    }
    let shard = Shard::from_bytes(bytes, name).unwrap();
    shard.verify().unwrap();
    let f = shard.footer();
    writeln!(
        out,
        "footer: {} records={} raw_data_size={} dtype={} index_offset={}",
        f.kind,
        f.records,
        f.raw_data_size,
        f.dtype.map_or_else(|| "-".to_owned(), |d| d.to_string()),
        f.index_offset()
    )
    .unwrap();
    for (i, r) in shard.iter().enumerate() {
        writeln!(out, "record {i}: {:?}", String::from_utf8_lossy(r.unwrap())).unwrap();
    }
    out
}

fn recs(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| s.as_bytes().to_vec()).collect()
}

fn snapshot_dir(dir: &Path) -> String {
    shard_files(dir)
        .iter()
        .map(|(name, bytes)| describe(name, bytes))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn golden_roxxel01_python_example() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.rox");
    let opts = WriterOptions::new()
        .footer(FooterKind::Roxxel01)
        .skip_empty_records(true);
    write(&path, &opts, &recs(&["hello", "", "wo", "rld!"]));
    insta::assert_snapshot!(describe("a.rox", &std::fs::read(&path).unwrap()));
}

#[test]
fn golden_roxxel01_with_empty_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.rox");
    let opts = WriterOptions::new().footer(FooterKind::Roxxel01);
    write(&path, &opts, &recs(&["", "ab", "", "c"]));
    insta::assert_snapshot!(describe("e.rox", &std::fs::read(&path).unwrap()));
}

#[test]
fn golden_roxxel02_uint8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.rox");
    let opts = WriterOptions::new().footer(FooterKind::Roxxel02);
    write(&path, &opts, &recs(&["hell", "owor", "ld!\0"]));
    insta::assert_snapshot!(describe("b.rox", &std::fs::read(&path).unwrap()));
}

#[test]
fn golden_sharded_then_appended() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("t.rox");
    let opts = WriterOptions::new()
        .footer(FooterKind::Roxxel01)
        .max_shard_bytes(64);
    write(
        &base,
        &opts,
        &recs(&["alpha", "bravo", "charlie", "delta", "echo"]),
    );
    write(&base, &opts, &recs(&["fox", "golf"]));
    insta::assert_snapshot!(snapshot_dir(dir.path()));
}

//! `byteshelf index ...`: byteshelf v1 and v2 indexes and the reference's legacy layout.

use std::path::Path;

use byteshelf::sparse_index::{Format, SparseIndex};

use crate::{run_in, tempdir};

/// Writes the same index (keys `key00`, `key10`, ... at offsets 0, 100, ...; data end 1000) in every format.
fn write_indexes(d: &Path) -> Vec<u8> {
    let mut index = SparseIndex::new();
    for i in 0..10u64 {
        index.add(format!("key{:02}", i * 10), i * 100).unwrap();
    }
    index.set_data_end(1000).unwrap();
    std::fs::write(d.join("v1.spix"), index.to_bytes()).unwrap();
    std::fs::write(
        d.join("v2.spix"),
        index.to_bytes_with(Format::prefix_compressed()).unwrap(),
    )
    .unwrap();
    std::fs::write(d.join("legacy.idx"), index.to_legacy_bytes()).unwrap();
    index.to_bytes()
}

#[test]
fn lookups_agree_in_every_format() {
    let dir = tempdir();
    let d = dir.path();
    write_indexes(d);
    for file in ["v1.spix", "v2.spix", "legacy.idx"] {
        let floor = run_in(d, &["index", "lookup", file, "key25"]);
        let text = floor.text();
        assert!(
            text.starts_with("entry 2: first key \"key20\", block 200..300"),
            "{file}: {text}"
        );
        let ceil = run_in(d, &["index", "lookup", file, "key25", "--ceil", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(ceil.ok()).unwrap();
        assert_eq!(json["entry"], 3);
        assert_eq!(json["offset"], 300);
        assert_eq!(json["key"]["text"], "key30");
        let hex = run_in(
            d,
            &["index", "lookup", file, "6b65793930", "--key-hex", "--json"],
        );
        let json: serde_json::Value = serde_json::from_slice(hex.ok()).unwrap();
        assert_eq!(json["entry"], 9);
        run_in(d, &["index", "lookup", file, "a"]).fails(1, &[file, "before the first key"]);
        run_in(d, &["index", "lookup", file, "z", "--ceil"]).fails(1, &[file, "last key"]);
    }
    // v1 and v2 know where the last block ends; the legacy layout does not record it.
    let last = run_in(d, &["index", "lookup", "v2.spix", "zzz"]);
    assert!(last.text().contains("block 900..1000"), "{}", last.text());
    let last = run_in(d, &["index", "lookup", "legacy.idx", "zzz"]);
    assert!(
        last.text().contains("block 900..(end unknown)"),
        "{}",
        last.text()
    );
    run_in(d, &["index", "lookup", "v1.spix", "zz", "--key-hex"]).fails(2, &["--key-hex"]);
}

#[test]
fn info_snapshots() {
    let dir = tempdir();
    let d = dir.path();
    write_indexes(d);
    insta::assert_snapshot!(
        "index_info_v1_text",
        run_in(d, &["index", "info", "v1.spix"]).text()
    );
    insta::assert_snapshot!(
        "index_info_v2_json",
        run_in(d, &["index", "info", "v2.spix", "--json"]).text()
    );
    insta::assert_snapshot!(
        "index_info_legacy_text",
        run_in(d, &["index", "info", "legacy.idx"]).text()
    );
}

#[test]
fn corrupt_and_truncated_indexes_fail_cleanly() {
    let dir = tempdir();
    let d = dir.path();
    let good = write_indexes(d);
    for len in 0..good.len() {
        std::fs::write(d.join("bad.spix"), &good[..len]).unwrap();
        let run = run_in(d, &["index", "info", "bad.spix"]);
        // A prefix may happen to be a valid legacy index; anything else is one error line.
        if run.code != 0 {
            run.fails(1, &["bad.spix"]);
        }
    }
    for at in 0..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        std::fs::write(d.join("bad.spix"), &bad).unwrap();
        for command in [
            &["index", "info", "bad.spix", "--json"][..],
            &["index", "lookup", "bad.spix", "key55"],
        ] {
            let run = run_in(d, command);
            if run.code != 0 {
                run.fails(1, &["bad.spix"]);
            }
        }
    }
    // A byte changed inside the framed v1 index is caught by its CRC.
    let mut bad = good.clone();
    let middle = good.len() / 2;
    bad[middle] ^= 0x01;
    std::fs::write(d.join("bad.spix"), &bad).unwrap();
    run_in(d, &["index", "info", "bad.spix"]).fails(1, &["bad.spix"]);
    run_in(d, &["index", "info", "missing.spix"]).fails(1, &["missing.spix"]);
}

/// A text file is neither byteshelf's format nor the magic-less legacy layout: one line saying so, not a checksum
/// mismatch; a real legacy index with a flipped bit still reports its checksum.
#[test]
fn a_text_file_is_not_a_sparse_index() {
    let dir = tempdir();
    let d = dir.path();
    write_indexes(d);
    std::fs::write(d.join("lines.txt"), "apple\t0\nmango\t4096\n").unwrap();
    let run = run_in(d, &["index", "info", "lines.txt"]);
    run.fails(1, &["lines.txt: not a sparse index"]);
    assert!(!run.stderr.contains("checksum"), "{}", run.stderr);
    let mut legacy = std::fs::read(d.join("legacy.idx")).unwrap();
    legacy[20] ^= 0x01;
    std::fs::write(d.join("legacy.idx"), &legacy).unwrap();
    run_in(d, &["index", "info", "legacy.idx"]).fails(1, &["legacy.idx", "checksum mismatch"]);
    // A byteshelf index cut short says so rather than "not a sparse index".
    let v1 = std::fs::read(d.join("v1.spix")).unwrap();
    std::fs::write(d.join("cut.spix"), &v1[..v1.len() - 1]).unwrap();
    let run = run_in(d, &["index", "info", "cut.spix"]);
    run.fails(1, &["cut.spix", "bad magic"]);
}

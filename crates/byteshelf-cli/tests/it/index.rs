//! `byteshelf index ...`: byteshelf v1, v2 and v3 indexes and the reference's legacy layout.

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
    std::fs::write(
        d.join("v1.spix"),
        index.to_bytes_with(Format::Plain).unwrap(),
    )
    .unwrap();
    std::fs::write(
        d.join("v2.spix"),
        index.to_bytes_with(Format::prefix_compressed()).unwrap(),
    )
    .unwrap();
    std::fs::write(d.join("v3.spix"), index.to_bytes()).unwrap();
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

/// `index build --from-tsv` writes what the crate's own writer writes, in both layouts; the result reads back in
/// every command.
#[test]
fn build_from_tsv_matches_the_crate() {
    let dir = tempdir();
    let d = dir.path();
    let default = write_indexes(d);
    let tsv: String = (0..10)
        .map(|i| format!("key{:02}\t{}\n", i * 10, i * 100))
        .collect();
    // Windows line ends and blank lines are fine.
    let tsv = tsv.replacen('\n', "\r\n\n", 1);
    std::fs::write(d.join("keys.tsv"), &tsv).unwrap();
    let built = run_in(
        d,
        &[
            "index",
            "build",
            "out.spix",
            "--from-tsv",
            "keys.tsv",
            "--data-end",
            "1000",
        ],
    );
    insta::assert_snapshot!(
        built.text(),
        @"built out.spix: 10 entries, data end 1000, 218 bytes (byteshelf v3 (plain, sampled heads))"
    );
    assert_eq!(std::fs::read(d.join("out.spix")).unwrap(), default);
    run_in(
        d,
        &[
            "index",
            "build",
            "out1.spix",
            "--from-tsv",
            "keys.tsv",
            "--data-end",
            "1000",
            "--format",
            "v1",
        ],
    )
    .ok();
    assert_eq!(
        std::fs::read(d.join("out1.spix")).unwrap(),
        std::fs::read(d.join("v1.spix")).unwrap()
    );
    let built = crate::run_with_stdin(
        d,
        &[
            "index",
            "build",
            "out2.spix",
            "--from-tsv",
            "-",
            "--data-end",
            "1000",
            "--format",
            "v2",
        ],
        Some(tsv.as_bytes()),
    );
    built.ok();
    assert_eq!(
        std::fs::read(d.join("out2.spix")).unwrap(),
        std::fs::read(d.join("v2.spix")).unwrap()
    );
    // Hex keys, binary ones included, and no data end.
    std::fs::write(d.join("hex.tsv"), "00\t0\n00ff\t10\nff\t20\n").unwrap();
    run_in(
        d,
        &[
            "index",
            "build",
            "hex.spix",
            "--from-tsv",
            "hex.tsv",
            "--hex-keys",
        ],
    )
    .ok();
    let found = run_in(
        d,
        &["index", "lookup", "hex.spix", "00fe", "--key-hex", "--json"],
    );
    let json: serde_json::Value = serde_json::from_slice(found.ok()).unwrap();
    assert_eq!(json["key"]["hex"], "00");
    assert_eq!(json["block_end"], 10);
    let last = run_in(
        d,
        &["index", "lookup", "hex.spix", "ff", "--key-hex", "--json"],
    );
    let json: serde_json::Value = serde_json::from_slice(last.ok()).unwrap();
    assert!(json["block_end"].is_null());
    // An empty input is an empty index.
    std::fs::write(d.join("empty.tsv"), "").unwrap();
    run_in(
        d,
        &["index", "build", "empty.spix", "--from-tsv", "empty.tsv"],
    )
    .ok();
    assert!(
        run_in(d, &["index", "verify", "empty.spix"])
            .text()
            .starts_with("ok: empty.spix: 0 entries")
    );
}

/// Unsorted, repeated or malformed lines are refused with their line number, and leave OUT as it was and no
/// temporary file behind.
#[test]
fn build_refuses_bad_input_by_line() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::write(d.join("out.spix"), "precious").unwrap();
    for (tsv, needles, extra) in [
        (
            "a\t0\nc\t20\nb\t30\n",
            &["line 3", "key \"b\" sorts before", "\"c\""][..],
            &[][..],
        ),
        (
            "a\t0\na\t10\n",
            &["line 2", "key \"a\" is the previous line's key again"],
            &[],
        ),
        (
            "a\t10\nb\t10\n",
            &["line 2", "offset 10 is not greater"],
            &[],
        ),
        ("a\t0\nb 10\n", &["line 2", "no tab"], &[]),
        (
            "a\t0\nb\t-3\n",
            &["line 2", "offset \"-3\" is not a decimal u64"],
            &[],
        ),
        (
            "6\t0\n",
            &["line 1", "not an even number of hex digits"],
            &["--hex-keys"],
        ),
        (
            "a\t0\nb\t10\n",
            &["--data-end 10 is not after the offset 10", "line 2"],
            &["--data-end", "10"],
        ),
    ] {
        std::fs::write(d.join("in.tsv"), tsv).unwrap();
        let mut args = vec!["index", "build", "out.spix", "--from-tsv", "in.tsv"];
        args.extend_from_slice(extra);
        let run = run_in(d, &args);
        let mut needles = needles.to_vec();
        needles.push("in.tsv");
        run.fails(1, &needles);
        assert_eq!(std::fs::read(d.join("out.spix")).unwrap(), b"precious");
    }
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");
    run_in(
        d,
        &["index", "build", "x.spix", "--from-tsv", "missing.tsv"],
    )
    .fails(1, &["missing.tsv"]);
    run_in(d, &["index", "build", "x.spix"]).fails(2, &["--from-tsv"]);
    run_in(
        d,
        &[
            "index",
            "build",
            "x.spix",
            "--from-tsv",
            "in.tsv",
            "--format",
            "v4",
        ],
    )
    .fails(2, &["v4"]);
}

#[test]
fn verify_text_and_json() {
    let dir = tempdir();
    let d = dir.path();
    let good = write_indexes(d);
    for (file, format) in [
        ("v1.spix", "v1"),
        ("v2.spix", "v2"),
        ("v3.spix", "v3"),
        ("legacy.idx", "legacy"),
    ] {
        let text = run_in(d, &["index", "verify", file]);
        assert!(
            text.text()
                .starts_with(&format!("ok: {file}: 10 entries, format ")),
            "{}",
            text.text()
        );
        let json = run_in(d, &["index", "verify", file, "--json"]);
        let json: serde_json::Value = serde_json::from_slice(json.ok()).unwrap();
        assert_eq!(json["ok"], true);
        assert_eq!(json["format"], format);
        assert_eq!(json["entries"], 10);
        assert_eq!(json["errors"], serde_json::json!([]));
    }
    let mut bad = good.clone();
    bad[good.len() / 2] ^= 1;
    std::fs::write(d.join("bad.spix"), &bad).unwrap();
    run_in(d, &["index", "verify", "bad.spix"]).fails(1, &["bad.spix", "checksum mismatch"]);
    let json = run_in(d, &["index", "verify", "bad.spix", "--json"]);
    json.fails(1, &["bad.spix", "checksum mismatch"]);
    insta::assert_snapshot!(json.text(), @r#"
    {
      "ok": false,
      "path": "bad.spix",
      "format": null,
      "bytes": 218,
      "entries": null,
      "errors": [
        {
          "file": "bad.spix",
          "offset": 210,
          "message": "bad.spix: sparse index checksum mismatch at byte 210: stored 0xc71d3a57, computed 0x49d64a68"
        }
      ]
    }
    "#);
    // Every damaged or truncated copy: status 1, one error line, a JSON report.
    for len in 0..good.len() {
        std::fs::write(d.join("cut.spix"), &good[..len]).unwrap();
        let run = run_in(d, &["index", "verify", "cut.spix", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        if run.code == 0 {
            assert_eq!(json["format"], "legacy", "{len}");
        } else {
            run.fails(1, &["cut.spix"]);
            assert_eq!(json["ok"], false);
            assert_eq!(json["errors"][0]["file"], "cut.spix");
        }
    }
    let missing = run_in(d, &["index", "verify", "missing.spix", "--json"]);
    missing.fails(1, &["missing.spix"]);
    let json: serde_json::Value = serde_json::from_slice(&missing.stdout).unwrap();
    assert!(json["bytes"].is_null());
}

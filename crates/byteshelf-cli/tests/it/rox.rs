//! `byteshelf rox ...`: round trips, output formats, corrupt and truncated shards, interrupted writes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{run_in, run_with_stdin, tempdir, write};

/// Packs `records` (one file each) into `dir/name` and returns the records.
fn pack_files(dir: &Path, name: &str, records: &[&[u8]], extra: &[&str]) {
    for (i, record) in records.iter().enumerate() {
        write(dir, &format!("in-{name}/{i:03}"), record);
    }
    let mut args = vec!["rox", "pack", name];
    args.extend_from_slice(extra);
    let input = format!("in-{name}");
    args.push(&input);
    run_in(dir, &args).ok();
}

const RECORDS: [&[u8]; 5] = [
    b"alpha",
    b"",
    b"gamma\ngamma",
    b"\x00\x01\x02\xff",
    b"epsilon",
];

#[test]
fn pack_get_cat_unpack_round_trip() {
    let dir = tempdir();
    let d = dir.path();
    pack_files(d, "ds.rox", &RECORDS, &[]);
    for (i, record) in RECORDS.iter().enumerate() {
        let out = run_in(d, &["rox", "get", "ds.rox", &i.to_string()]);
        assert_eq!(out.ok(), *record, "record {i}");
    }
    // Several records: one per line unless told otherwise; one record stays byte-exact (above).
    let last = run_in(d, &["rox", "get", "ds.rox", "-1", "0"]);
    assert_eq!(last.ok(), b"epsilon\nalpha\n");
    let last = run_in(d, &["rox", "get", "ds.rox", "-1", "0", "--sep", "none"]);
    assert_eq!(last.ok(), b"epsilonalpha");
    let one = run_in(d, &["rox", "get", "ds.rox", "2", "--sep", "newline"]);
    assert_eq!(one.ok(), b"gamma\ngamma\n");
    let framed = run_in(d, &["rox", "get", "ds.rox", "3", "1", "--sep", "u32le"]);
    assert_eq!(
        framed.ok(),
        b"\x04\x00\x00\x00\x00\x01\x02\xff\x00\x00\x00\x00"
    );
    let json = run_in(d, &["rox", "get", "ds.rox", "3", "-1", "1", "--json"]);
    insta::assert_snapshot!(json.text(), @r#"
    [
      {
        "index": 3,
        "value": "AAEC/w=="
      },
      {
        "index": -1,
        "value": "ZXBzaWxvbg=="
      },
      {
        "index": 1,
        "value": ""
      }
    ]
    "#);
    for conflict in [
        &["rox", "get", "ds.rox", "0", "--json", "--sep", "none"][..],
        &["rox", "get", "ds.rox", "0", "--hex", "--json"],
        &["rox", "get", "ds.rox", "0", "--hex", "--sep", "newline"],
    ] {
        run_in(d, conflict).fails(2, &["cannot be used with"]);
    }

    let cat = run_in(d, &["rox", "cat", "ds.rox", "--sep", "none"]);
    assert_eq!(cat.ok(), RECORDS.concat());
    let cat = run_in(d, &["rox", "cat", "ds.rox"]);
    let expected: Vec<u8> = RECORDS.iter().flat_map(|r| [*r, b"\n"].concat()).collect();
    assert_eq!(cat.ok(), expected);
    let cat = run_in(
        d,
        &["rox", "cat", "ds.rox", "--sep", "u32le", "--range", "2..4"],
    );
    let mut framed = Vec::new();
    for record in &RECORDS[2..4] {
        framed.extend_from_slice(&(record.len() as u32).to_le_bytes());
        framed.extend_from_slice(record);
    }
    assert_eq!(cat.ok(), framed);
    let tail = run_in(
        d,
        &["rox", "cat", "ds.rox", "--sep", "none", "--range", "-2.."],
    );
    assert_eq!(tail.ok(), [RECORDS[3], RECORDS[4]].concat());

    let unpacked = run_in(d, &["rox", "unpack", "ds.rox", "out"]);
    assert!(unpacked.text().contains("unpacked 5 records"));
    for (i, record) in RECORDS.iter().enumerate() {
        assert_eq!(
            std::fs::read(d.join("out").join(i.to_string())).unwrap(),
            *record
        );
    }
    // Unpacked files pack back into the same bytes.
    run_in(d, &["rox", "pack", "again.rox", "out"]).ok();
    assert_eq!(
        std::fs::read(d.join("again.rox")).unwrap(),
        std::fs::read(d.join("ds.rox")).unwrap()
    );
    // Unpacking again never overwrites.
    run_in(d, &["rox", "unpack", "ds.rox", "out"]).fails(1, &["out/0"]);

    let verify = run_in(d, &["rox", "verify", "ds.rox"]);
    assert!(
        verify
            .text()
            .starts_with("ok: ds.rox: 5 records in 1 shard"),
        "{}",
        verify.text()
    );
}

#[test]
fn hexdump_of_records() {
    let dir = tempdir();
    pack_files(dir.path(), "ds.rox", &RECORDS, &[]);
    let out = run_in(dir.path(), &["rox", "get", "ds.rox", "--hex", "3", "-5"]);
    assert_eq!(
        String::from_utf8_lossy(out.ok()),
        "record 3: 4 bytes\n\
         00000000  00 01 02 ff                                       |....|\n\
         record -5: 5 bytes\n\
         00000000  61 6c 70 68 61                                    |alpha|\n"
    );
}

#[test]
fn directories_are_walked_in_sorted_order() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "in/b/2", b"b2");
    write(d, "in/a", b"a");
    write(d, "in/b/10", b"b10");
    write(d, "in/c", b"c");
    run_in(d, &["rox", "pack", "ds.rox", "in"]).ok();
    let cat = run_in(d, &["rox", "cat", "ds.rox"]);
    // Byte order of names: "10" sorts before "2".
    assert_eq!(cat.ok(), b"a\nb10\nb2\nc\n");
}

#[test]
fn lines_sharding_and_append() {
    let dir = tempdir();
    let d = dir.path();
    let lines: Vec<String> = (0..200).map(|i| format!("line number {i}")).collect();
    let text = lines.join("\n") + "\n";
    write(d, "lines.txt", text.as_bytes());
    let out = run_in(
        d,
        &[
            "rox",
            "pack",
            "sharded.rox",
            "--lines",
            "lines.txt",
            "--max-shard-bytes",
            "1000",
        ],
    );
    let summary = out.text();
    assert!(summary.starts_with("packed 200 records"), "{summary}");
    assert!(d.join("sharded_0000.rox").exists() && d.join("sharded_0003.rox").exists());
    for spec in ["sharded_*.rox", "."] {
        let cat = run_in(d, &["rox", "cat", spec]);
        assert_eq!(cat.text(), text, "spec {spec}");
    }
    let info = run_in(d, &["rox", "info", "sharded_*.rox", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(info.ok()).unwrap();
    assert_eq!(json["records"], 200);
    assert!(json["shards"].as_array().unwrap().len() > 3);
    assert_eq!(json["shards"][0]["footer"], "ROXXEL02");
    assert_eq!(json["shards"][0]["dtype"], "uint8");
    // roxxel ≥ 0.7's rule: the path the dataset was written to opens its shards.
    let by_base = run_in(d, &["rox", "cat", "sharded.rox"]);
    assert_eq!(by_base.text(), text);

    // An existing dataset is refused without --append, extended with it.
    run_in(
        d,
        &[
            "rox",
            "pack",
            "sharded.rox",
            "--lines",
            "lines.txt",
            "--max-shard-bytes",
            "1000",
        ],
    )
    .fails(2, &["sharded_0000.rox", "--append"]);
    run_with_stdin(
        d,
        &["rox", "pack", "one.rox", "--lines", "-"],
        Some(b"x\ny"),
    )
    .ok();
    run_in(d, &["rox", "pack", "one.rox", "--lines", "lines.txt"])
        .fails(2, &["one.rox", "--append"]);
    run_with_stdin(
        d,
        &["rox", "pack", "one.rox", "--append", "--lines", "-"],
        Some(b"z\n\n"),
    )
    .ok();
    let cat = run_in(d, &["rox", "cat", "one.rox"]);
    assert_eq!(cat.ok(), b"x\ny\nz\n\n");
}

#[test]
fn dtype_and_footer() {
    let dir = tempdir();
    let d = dir.path();
    let ints: Vec<u8> = (0..16i32).flat_map(|i| i.to_le_bytes()).collect();
    write(d, "in/0", &ints[..32]);
    write(d, "in/1", &ints[32..]);
    run_in(d, &["rox", "pack", "ints.rox", "--dtype", "int32", "in"]).ok();
    run_in(d, &["rox", "pack", "plain02.rox", "--footer", "02", "in"]).ok();
    let info = run_in(d, &["rox", "info", "ints.rox", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(info.ok()).unwrap();
    assert_eq!(json["shards"][0]["footer"], "ROXXEL02");
    assert_eq!(json["shards"][0]["dtype"], "int32");
    let info = run_in(d, &["rox", "info", "plain02.rox", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(info.ok()).unwrap();
    assert_eq!(json["shards"][0]["footer"], "ROXXEL02");
    assert_eq!(
        run_in(d, &["rox", "get", "ints.rox", "1"]).ok(),
        &ints[32..]
    );
}

#[test]
fn info_snapshots() {
    let dir = tempdir();
    let d = dir.path();
    let lines: String = (0..30)
        .map(|i| format!("{}\n", "r".repeat(i % 7 + 1)))
        .collect();
    write(d, "lines.txt", lines.as_bytes());
    run_in(
        d,
        &[
            "rox",
            "pack",
            "ds",
            "--lines",
            "lines.txt",
            "--max-shard-bytes",
            "200",
            "--checksums",
        ],
    )
    .ok();
    run_in(d, &["rox", "pack", "empty.rox", "--lines", "-"]).ok();
    insta::assert_snapshot!(
        "rox_info_text",
        run_in(d, &["rox", "info", "ds_*.rox"]).text()
    );
    insta::assert_snapshot!(
        "rox_info_json",
        run_in(d, &["rox", "info", ".", "--json"]).text()
    );
    insta::assert_snapshot!(
        "rox_info_empty",
        run_in(d, &["rox", "info", "empty.rox"]).text()
    );
}

#[test]
fn checksums_end_to_end() {
    let dir = tempdir();
    let d = dir.path();
    pack_files(d, "plain.rox", &RECORDS, &[]);
    pack_files(d, "ds.rox", &RECORDS, &["--checksums"]);
    assert_eq!(
        std::fs::read(d.join("ds.rox")).unwrap(),
        std::fs::read(d.join("plain.rox")).unwrap(),
        "the shard is the same with or without --checksums"
    );
    assert!(d.join("ds.rox.crc").exists() && !d.join("plain.rox.crc").exists());

    let verify = run_in(d, &["rox", "verify", "ds.rox"]);
    assert!(
        verify
            .text()
            .ends_with("5 of 5 records checked against .crc sidecars (1 of 1 shards have one)\n"),
        "{}",
        verify.text()
    );
    let verify = run_in(d, &["rox", "verify", "plain.rox"]);
    assert!(
        verify.text().contains("no .crc sidecars"),
        "{}",
        verify.text()
    );
    let info = run_in(d, &["rox", "info", "ds.rox", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(info.ok()).unwrap();
    assert_eq!(json["shards"][0]["sidecar"]["records"], 5);
    let info = run_in(d, &["rox", "info", "plain.rox", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(info.ok()).unwrap();
    assert!(json["shards"][0]["sidecar"].is_null());

    // A flipped payload bit: `get` returns what is there, `verify` names the shard, record and offset.
    let clean = std::fs::read(d.join("ds.rox")).unwrap();
    let mut bytes = clean.clone();
    bytes[6] ^= 0x10; // in record 2, "gamma\ngamma", which starts at payload offset 5
    std::fs::write(d.join("ds.rox"), &bytes).unwrap();
    run_in(d, &["rox", "verify", "ds.rox"])
        .fails(1, &["ds.rox", "record 2", "payload offset 5", "CRC-32C"]);
    // With --json: the same error line on stderr and status, and the report on stdout.
    let json = run_in(d, &["rox", "verify", "ds.rox", "--json"]);
    json.fails(1, &["ds.rox", "record 2"]);
    insta::assert_snapshot!(json.text(), @r#"
    {
      "ok": false,
      "spec": "ds.rox",
      "shards": 1,
      "records": 5,
      "bytes": 99,
      "checksummed_records": 0,
      "sidecars": 0,
      "short_sidecars": [],
      "pending_recovery": [],
      "errors": [
        {
          "file": "ds.rox",
          "offset": 5,
          "message": "ds.rox: record 2 (payload offset 5) has CRC-32C 0x3ed7208f, but its .crc sidecar says 0xb362f693: the record's bytes or index entries changed after they were written"
        }
      ]
    }
    "#);
    std::fs::write(d.join("ds.rox"), &clean).unwrap();
    let json = run_in(d, &["rox", "verify", "ds.rox", "--json"]);
    insta::assert_snapshot!(String::from_utf8_lossy(json.ok()), @r#"
    {
      "ok": true,
      "spec": "ds.rox",
      "shards": 1,
      "records": 5,
      "bytes": 99,
      "checksummed_records": 5,
      "sidecars": 1,
      "short_sidecars": [],
      "pending_recovery": [],
      "errors": []
    }
    "#);

    // A damaged sidecar.
    let sidecar = std::fs::read(d.join("ds.rox.crc")).unwrap();
    let mut broken = sidecar.clone();
    broken[30] ^= 1;
    std::fs::write(d.join("ds.rox.crc"), &broken).unwrap();
    run_in(d, &["rox", "verify", "ds.rox"]).fails(1, &["ds.rox.crc", "damaged checksum sidecar"]);
    let json = run_in(d, &["rox", "verify", "ds.rox", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["errors"][0]["file"], "ds.rox.crc");
    assert!(json["errors"][0]["offset"].is_u64(), "{json}");
    std::fs::write(d.join("ds.rox.crc"), &sidecar).unwrap();

    // Sharded, then appended without checksums (as Python roxxel would): the sidecar covers a prefix.
    let lines: String = (0..60).map(|i| format!("record {i}\n")).collect();
    write(d, "lines.txt", lines.as_bytes());
    let sharded = ["--lines", "lines.txt", "--max-shard-bytes", "300"];
    let pack = run_in(
        d,
        &[&["rox", "pack", "sh", "--checksums"][..], &sharded].concat(),
    );
    assert!(
        pack.text().contains("checksums in sh_0000.rox.crc"),
        "{}",
        pack.text()
    );
    run_in(
        d,
        &[&["rox", "pack", "sh", "--append"][..], &sharded].concat(),
    )
    .ok();
    let verify = run_in(d, &["rox", "verify", "sh_*.rox"]);
    let text = verify.text();
    assert!(text.contains("note: sh_"), "{text}");
    assert!(text.contains("covers only the first"), "{text}");
    let json = run_in(d, &["rox", "verify", "sh_*.rox", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(json.ok()).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["records"], 120);
    let short = &json["short_sidecars"][0];
    assert!(
        short["covered"].as_u64() < short["records"].as_u64(),
        "{json}"
    );
    let info = run_in(d, &["rox", "info", "sh_*.rox"]).text();
    assert!(info.contains(" all") && info.contains("  -"), "{info}");
    assert!(
        info.lines()
            .any(|l| l.split_whitespace().last().is_some_and(|c| c.contains('/'))),
        "{info}"
    );
    // Appending with checksums gives the shards it writes to sidecars; full shards keep what they have.
    run_in(
        d,
        &[
            &["rox", "pack", "sh", "--append", "--checksums"][..],
            &sharded,
        ]
        .concat(),
    )
    .ok();
    let verify = run_in(d, &["rox", "verify", "sh_*.rox"]).text();
    assert!(
        verify.contains("of 180 records checked against .crc sidecars"),
        "{verify}"
    );
    let mut last = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("sh_") && n.ends_with(".rox"))
        .collect::<Vec<_>>();
    last.sort();
    assert!(d.join(format!("{}.crc", last.last().unwrap())).exists());
}

/// A valid shard of three records and its bytes.
fn small_shard(d: &Path) -> Vec<u8> {
    run_with_stdin(
        d,
        &["rox", "pack", "good.rox", "--lines", "-", "--footer", "01"],
        Some(b"one\ntwo\nthree\n"),
    )
    .ok();
    std::fs::read(d.join("good.rox")).unwrap()
}

#[test]
fn truncated_shards_fail_cleanly() {
    let dir = tempdir();
    let d = dir.path();
    let good = small_shard(d);
    for len in 0..good.len() {
        std::fs::write(d.join("bad.rox"), &good[..len]).unwrap();
        for command in [
            &["rox", "verify", "bad.rox"][..],
            &["rox", "info", "bad.rox"],
            &["rox", "cat", "bad.rox"],
            &["rox", "get", "bad.rox", "0"],
        ] {
            run_in(d, command).fails(1, &["bad.rox"]);
        }
    }
}

#[test]
fn corrupt_shards_fail_cleanly() {
    let dir = tempdir();
    let d = dir.path();
    let good = small_shard(d);
    // Every single-byte change: whatever the command says, it is one line and never a panic; verify flags
    // every change to the index and footer.
    let payload = 3 + 3 + 5;
    for at in 0..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0x80;
        std::fs::write(d.join("bad.rox"), &bad).unwrap();
        let verify = run_in(d, &["rox", "verify", "bad.rox"]);
        if at >= payload {
            verify.fails(1, &["bad.rox"]);
        } else {
            verify.ok();
        }
        for command in [
            &["rox", "info", "bad.rox", "--json"][..],
            &["rox", "cat", "bad.rox"],
            &["rox", "get", "bad.rox", "-1"],
        ] {
            let run = run_in(d, command);
            if run.code != 0 {
                run.fails(1, &["bad.rox"]);
            }
        }
    }
    // The index entry of record 1 made to point backwards: verify names the shard and the byte offset.
    let mut bad = good.clone();
    bad[payload + 8..payload + 16].copy_from_slice(&1i64.to_le_bytes());
    std::fs::write(d.join("bad.rox"), &bad).unwrap();
    run_in(d, &["rox", "verify", "bad.rox"])
        .fails(1, &["bad.rox", &format!("offset {}", payload + 8)]);
    // Random garbage and an empty file.
    std::fs::write(
        d.join("garbage.rox"),
        b"this is not a roxxel shard at all, honestly",
    )
    .unwrap();
    run_in(d, &["rox", "info", "garbage.rox"]).fails(1, &["garbage.rox", "ROXXEL01"]);
    // A directory with one bad shard among good ones: verify names the bad one.
    std::fs::create_dir(d.join("mixed")).unwrap();
    std::fs::write(d.join("mixed/a.rox"), &good).unwrap();
    std::fs::write(d.join("mixed/b.rox"), &good[..good.len() - 1]).unwrap();
    run_in(d, &["rox", "verify", "mixed"]).fails(1, &["b.rox"]);
}

#[test]
fn missing_things() {
    let dir = tempdir();
    let d = dir.path();
    small_shard(d);
    run_in(d, &["rox", "info", "nope.rox"]).fails(1, &["nope.rox"]);
    run_in(d, &["rox", "info", "nothing_*.rox"]).fails(1, &["nothing_*.rox"]);
    run_in(d, &["rox", "get", "good.rox", "3"]).fails(1, &["good.rox", "3"]);
    run_in(d, &["rox", "get", "good.rox", "-4"]).fails(1, &["good.rox"]);
    run_in(d, &["rox", "cat", "good.rox", "--range", "1..9"]).fails(1, &["good.rox", "1..9"]);
    run_in(d, &["rox", "pack", "new.rox", "missing-input"]).fails(1, &["missing-input"]);
    assert!(
        !d.join("new.rox").exists(),
        "a failed pack leaves no dataset"
    );
}

#[test]
fn recover_rolls_back_an_interrupted_append() {
    let dir = tempdir();
    let d = dir.path();
    let good = small_shard(d);
    assert_eq!(
        run_in(d, &["rox", "recover", "good.rox"]).text(),
        "good.rox: nothing to recover\n"
    );

    // An append killed while it waits for more input leaves its journal behind.
    let mut child = Command::new(env!("CARGO_BIN_EXE_byteshelf"))
        .args(["rox", "pack", "good.rox", "--append", "--lines", "-"])
        .current_dir(d)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"four\nfive\n").unwrap();
    stdin.flush().unwrap();
    let journal = d.join(".good.roxjournal");
    let journal_exists = || journal.exists();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !journal_exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(journal_exists(), "the writer has started its session");
    // The journal is renamed into place complete; give the writer a moment to take the records in.
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);

    // Readers still see the old records; recover makes that permanent and removes the journal.
    assert_eq!(
        run_in(d, &["rox", "cat", "good.rox"]).ok(),
        b"one\ntwo\nthree\n"
    );
    let verify = run_in(d, &["rox", "verify", "good.rox"]);
    assert!(
        verify
            .text()
            .starts_with("note: good.rox: an interrupted write is pending"),
        "{}",
        verify.text()
    );
    let info = run_in(d, &["rox", "info", "good.rox", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(info.ok()).unwrap();
    assert_eq!(json["shards"][0]["pending_recovery"], true);
    assert_eq!(json["records"], 3);
    let recovered = run_in(d, &["rox", "recover", "good.rox"]);
    assert!(
        recovered.text().contains("rolled back"),
        "{}",
        recovered.text()
    );
    assert!(!journal_exists());
    assert_eq!(std::fs::read(d.join("good.rox")).unwrap(), good);
    let verify = run_in(d, &["rox", "verify", "good.rox"]);
    assert!(verify.text().starts_with("ok: "), "{}", verify.text());
    let info = run_in(d, &["rox", "info", "good.rox", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(info.ok()).unwrap();
    assert_eq!(json["shards"][0]["pending_recovery"], false);
    assert_eq!(
        run_in(d, &["rox", "recover", "."]).text(),
        ".: nothing to recover\n"
    );
}

/// Readers refuse what is not a regular file at once (a FIFO without a writer would block an open forever), and
/// a valid shard whose footer claims 2^37 empty records of a sparse terabyte is described in constant memory.
#[cfg(unix)]
#[test]
fn hostile_paths_and_a_terabyte_of_empty_records() {
    let dir = tempdir();
    let d = dir.path();
    let made = Command::new("mkfifo")
        .arg(d.join("pipe.rox"))
        .status()
        .unwrap();
    assert!(made.success());
    for path in ["pipe.rox", "/dev/zero", "/dev/null"] {
        for command in [
            &["rox", "info", path][..],
            &["rox", "get", path, "0"],
            &["rox", "cat", path],
            &["rox", "verify", path],
        ] {
            let started = Instant::now();
            run_in(d, command).fails(1, &[path, "not a regular file"]);
            assert!(started.elapsed() < Duration::from_secs(5), "{command:?}");
        }
    }

    // Endless inputs fail at the record limit, in bounded memory, and leave no dataset behind.
    for command in [
        &[
            "rox",
            "pack",
            "zero.rox",
            "/dev/zero",
            "--max-record-bytes",
            "1000000",
        ][..],
        &["rox", "pack", "zero.rox", "--lines", "/dev/zero"],
    ] {
        let started = Instant::now();
        run_in(d, command).fails(1, &["/dev/zero", "max-record-bytes"]);
        assert!(started.elapsed() < Duration::from_secs(10), "{command:?}");
        assert!(!d.join("zero.rox").exists());
    }

    let records = 1u64 << 37;
    let file = std::fs::File::create(d.join("huge.rox")).unwrap();
    file.set_len(records * 8).unwrap();
    let mut footer = (records as i64).to_le_bytes().to_vec();
    footer.extend_from_slice(&0i64.to_le_bytes());
    footer.extend_from_slice(b"ROXXEL01");
    std::os::unix::fs::FileExt::write_all_at(&file, &footer, records * 8).unwrap();
    let started = Instant::now();
    let info = run_in(d, &["rox", "info", "huge.rox", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(info.ok()).unwrap();
    assert_eq!(json["records"], records);
    assert_eq!(json["record_size_sample"], 1 << 20);
    assert_eq!(json["record_size"]["max"], 0);
    let text = run_in(d, &["rox", "info", "huge.rox"]).text();
    assert!(
        text.contains("record size (1048576 records sampled in 256 evenly spaced runs)"),
        "{text}"
    );
    assert!(
        run_in(d, &["rox", "get", "huge.rox", "0", "-1", "--sep", "none"])
            .ok()
            .is_empty()
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

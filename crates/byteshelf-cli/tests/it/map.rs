//! `byteshelf map ...`: building from files and JSON lines with every codec, reading back, corrupt maps.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::{run_in, run_with_stdin, tempdir, write};

const ENTRIES: [(u64, &[u8]); 4] = [
    (7, b"seven"),
    (0, b""),
    (18_446_744_073_709_551_615, b"the largest key"),
    (42, b"\x00binary\xff"),
];

fn jsonl() -> String {
    ENTRIES
        .iter()
        .map(|(key, value)| {
            format!(
                "{{\"key\": {key}, \"value\": \"{}\"}}\n",
                BASE64.encode(value)
            )
        })
        .collect()
}

fn build_from_files(d: &Path, out: &str, extra: &[&str]) {
    for (key, value) in ENTRIES {
        write(d, &format!("values/{key}"), value);
    }
    let mut args = vec!["map", "build", out];
    args.extend_from_slice(extra);
    args.push("values");
    run_in(d, &args).ok();
}

#[test]
fn build_get_every_codec_and_version() {
    let dir = tempdir();
    let d = dir.path();
    for codec in ["none", "gzip", "br", "zstd", "lzma"] {
        for version in ["0", "1"] {
            let name = format!("{codec}-{version}.mb");
            build_from_files(
                d,
                &name,
                &["--compress", codec, "--format-version", version],
            );
            for (key, value) in ENTRIES {
                let got = run_in(d, &["map", "get", &name, &key.to_string()]);
                assert_eq!(got.ok(), value, "{name} key {key}");
            }
            let info = run_in(d, &["map", "info", &name, "--json"]);
            let json: serde_json::Value = serde_json::from_slice(info.ok()).unwrap();
            assert_eq!(json["codec"], codec);
            assert_eq!(json["format_version"], version.parse::<u8>().unwrap());
            assert_eq!(json["keys"], 4);
            let verify = run_in(d, &["map", "verify", &name]);
            assert!(
                verify.text().starts_with(&format!("ok: {name}: 4 keys")),
                "{}",
                verify.text()
            );
            let verify = run_in(d, &["map", "verify", &name, "--json"]);
            let json: serde_json::Value = serde_json::from_slice(verify.ok()).unwrap();
            assert_eq!(json["ok"], true);
            assert_eq!(json["keys"], 4);
            assert_eq!(json["codec"], codec);
            assert_eq!(json["errors"], serde_json::json!([]));
        }
    }
    // Several values: one per line unless told otherwise; one value stays byte-exact (above).
    let two = run_in(d, &["map", "get", "none-1.mb", "42", "7"]);
    assert_eq!(two.ok(), b"\x00binary\xff\nseven\n");
    let two = run_in(d, &["map", "get", "none-1.mb", "42", "7", "--sep", "none"]);
    assert_eq!(two.ok(), b"\x00binary\xffseven");
    let framed = run_in(d, &["map", "get", "gzip-0.mb", "7", "--sep", "u32le"]);
    assert_eq!(framed.ok(), b"\x05\x00\x00\x00seven");
    let json = run_in(d, &["map", "get", "zstd-1.mb", "42", "7", "--json"]);
    insta::assert_snapshot!(json.text(), @r#"
    [
      {
        "key": 42,
        "value": "AGJpbmFyef8="
      },
      {
        "key": 7,
        "value": "c2V2ZW4="
      }
    ]
    "#);
    run_in(d, &["map", "get", "none-1.mb", "7", "--json", "--hex"]).fails(2, &["--hex"]);
    // Its objects are `map build --jsonl` lines.
    let entries: Vec<serde_json::Value> = serde_json::from_slice(json.ok()).unwrap();
    let lines: String = entries.iter().map(|e| format!("{e}\n")).collect();
    write(d, "again.jsonl", lines.as_bytes());
    run_in(d, &["map", "build", "again.mb", "--jsonl", "again.jsonl"]).ok();
    assert_eq!(
        run_in(d, &["map", "get", "again.mb", "42"]).ok(),
        b"\x00binary\xff"
    );
    let hex = run_in(d, &["map", "get", "zstd-1.mb", "--hex", "7"]);
    assert_eq!(
        String::from_utf8_lossy(hex.ok()),
        "key 7: 5 bytes\n00000000  73 65 76 65 6e                                    |seven|\n"
    );
}

#[test]
fn jsonl_from_file_and_stdin_match_files() {
    let dir = tempdir();
    let d = dir.path();
    build_from_files(d, "files.mb", &[]);
    write(d, "entries.jsonl", jsonl().as_bytes());
    run_in(d, &["map", "build", "file.mb", "--jsonl", "entries.jsonl"]).ok();
    run_with_stdin(
        d,
        &["map", "build", "stdin.mb", "--jsonl", "-"],
        Some(jsonl().as_bytes()),
    )
    .ok();
    let files = std::fs::read(d.join("files.mb")).unwrap();
    assert_eq!(std::fs::read(d.join("file.mb")).unwrap(), files);
    assert_eq!(std::fs::read(d.join("stdin.mb")).unwrap(), files);
    // Rebuilding replaces the file.
    run_with_stdin(
        d,
        &["map", "build", "files.mb", "--jsonl", "-"],
        Some(b"{\"key\": 1, \"value\": \"eA==\"}\n"),
    )
    .ok();
    assert_eq!(run_in(d, &["map", "get", "files.mb", "1"]).ok(), b"x");
}

#[test]
fn dump_lists_every_key() {
    let dir = tempdir();
    let d = dir.path();
    build_from_files(d, "m.mb", &["--compress", "gzip"]);
    let dump = run_in(d, &["map", "dump", "m.mb", "--json"]);
    let lines: Vec<serde_json::Value> = dump
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let keys: Vec<u64> = lines.iter().map(|l| l["key"].as_u64().unwrap()).collect();
    assert_eq!(keys, [0, 7, 42, u64::MAX]);
    assert_eq!(lines[1]["value_bytes"], 5);
    assert!(
        lines
            .iter()
            .all(|l| l["crc"] == "ok" && l["error"].is_null())
    );
    insta::assert_snapshot!("map_dump_text", run_in(d, &["map", "dump", "m.mb"]).text());
}

#[test]
fn info_snapshots() {
    let dir = tempdir();
    let d = dir.path();
    build_from_files(d, "m.mb", &[]);
    run_in(d, &["map", "build", "empty.mb", "--jsonl", "-"]).ok();
    insta::assert_snapshot!("map_info_text", run_in(d, &["map", "info", "m.mb"]).text());
    insta::assert_snapshot!(
        "map_info_json",
        run_in(d, &["map", "info", "m.mb", "--json"]).text()
    );
    insta::assert_snapshot!(
        "map_info_empty",
        run_in(d, &["map", "info", "empty.mb"]).text()
    );
}

#[test]
fn bad_inputs() {
    let dir = tempdir();
    let d = dir.path();
    write(d, "vals/12", b"x");
    write(d, "vals/notakey", b"y");
    run_in(d, &["map", "build", "m.mb", "vals"]).fails(1, &["notakey", "decimal u64"]);
    write(
        d,
        "bad.jsonl",
        b"{\"key\": 1, \"value\": \"eA==\"}\n{\"key\": -1, \"value\": \"\"}\n",
    );
    run_in(d, &["map", "build", "m.mb", "--jsonl", "bad.jsonl"]).fails(1, &["bad.jsonl", "line 2"]);
    write(d, "bad64.jsonl", b"{\"key\": 1, \"value\": \"!!\"}\n");
    run_in(d, &["map", "build", "m.mb", "--jsonl", "bad64.jsonl"])
        .fails(1, &["bad64.jsonl", "line 1", "base64"]);
    write(
        d,
        "dup.jsonl",
        b"{\"key\": 1, \"value\": \"\"}\n{\"key\": 1, \"value\": \"\"}\n",
    );
    run_in(d, &["map", "build", "m.mb", "--jsonl", "dup.jsonl"])
        .fails(1, &["dup.jsonl", "duplicate key 1"]);
    assert!(
        !d.join("m.mb").exists(),
        "failed builds leave nothing behind"
    );
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn missing_keys_and_files() {
    let dir = tempdir();
    let d = dir.path();
    build_from_files(d, "m.mb", &[]);
    run_in(d, &["map", "get", "m.mb", "7", "8"]).fails(1, &["m.mb", "key 8"]);
    run_in(d, &["map", "info", "nope.mb"]).fails(1, &["nope.mb"]);
}

#[test]
fn truncated_and_corrupt_maps_fail_cleanly() {
    let dir = tempdir();
    let d = dir.path();
    build_from_files(d, "m.mb", &["--compress", "zstd"]);
    let good = std::fs::read(d.join("m.mb")).unwrap();
    for len in 0..good.len() {
        std::fs::write(d.join("bad.mb"), &good[..len]).unwrap();
        run_in(d, &["map", "verify", "bad.mb"]).fails(1, &["bad.mb"]);
        let json = run_in(d, &["map", "verify", "bad.mb", "--json"]);
        json.fails(1, &["bad.mb"]);
        let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert_eq!(json["ok"], false);
        assert_eq!(json["errors"][0]["file"], "bad.mb");
        for command in [
            &["map", "info", "bad.mb"][..],
            &["map", "get", "bad.mb", "42"],
            &["map", "dump", "bad.mb"],
        ] {
            let run = run_in(d, command);
            if run.code != 0 {
                run.fails(1, &["bad.mb"]);
            }
        }
    }
    for at in 0..good.len() {
        let mut bad = good.clone();
        bad[at] ^= 0x04;
        std::fs::write(d.join("bad.mb"), &bad).unwrap();
        for command in [
            &["map", "verify", "bad.mb"][..],
            &["map", "info", "bad.mb", "--json"],
            &["map", "get", "bad.mb", "7"],
        ] {
            let run = run_in(d, command);
            if run.code != 0 {
                run.fails(1, &["bad.mb"]);
            }
        }
    }
}

#[test]
fn crc_damage_is_named_by_key() {
    let dir = tempdir();
    let d = dir.path();
    build_from_files(d, "m.mb", &[]);
    let mut bad = std::fs::read(d.join("m.mb")).unwrap();
    let at = bad.windows(5).position(|w| w == b"seven").unwrap();
    bad[at] = b'S';
    std::fs::write(d.join("m.mb"), &bad).unwrap();
    run_in(d, &["map", "verify", "m.mb"]).fails(1, &["m.mb", "key 7", "CRC"]);
    let json = run_in(d, &["map", "verify", "m.mb", "--json"]);
    json.fails(1, &["m.mb", "key 7", "CRC"]);
    insta::assert_snapshot!(json.text(), @r#"
    {
      "ok": false,
      "path": "m.mb",
      "bytes": 124,
      "keys": 4,
      "format_version": 1,
      "codec": "none",
      "errors": [
        {
          "file": "m.mb",
          "offset": 92,
          "message": "m.mb: CRC-32C mismatch for key 7 (slot 1) at byte 92: stored 0xe346a874, computed 0xf8ee1d23"
        }
      ]
    }
    "#);
    run_in(d, &["map", "get", "m.mb", "7"]).fails(1, &["m.mb", "key 7"]);
    assert_eq!(
        run_in(d, &["map", "get", "m.mb", "42"]).ok(),
        b"\x00binary\xff"
    );
    let dump = run_in(d, &["map", "dump", "m.mb"]);
    dump.fails(1, &["m.mb", "1 of 4 values are damaged"]);
    assert!(dump.text().contains("mismatch"), "{}", dump.text());
}

/// The version byte of a version 1 map with bit 0 cleared says 0: the map is refused by every reader (it used to
/// pass `verify` and `get` returned each value with its CRC bytes appended), naming the file and byte 7.
#[test]
fn a_v1_map_whose_version_byte_says_0_is_refused() {
    let dir = tempdir();
    let d = dir.path();
    build_from_files(d, "m.mb", &[]);
    let mut bytes = std::fs::read(d.join("m.mb")).unwrap();
    assert_eq!(bytes[7], 1);
    bytes[7] = 0;
    std::fs::write(d.join("m.mb"), &bytes).unwrap();
    for command in [
        &["map", "verify", "m.mb"][..],
        &["map", "get", "m.mb", "7"],
        &["map", "info", "m.mb"],
        &["map", "dump", "m.mb"],
    ] {
        run_in(d, command).fails(1, &["m.mb", "byte 7 says 0", "CRC-32C"]);
    }
    // A real version 0 map of the same entries reads as before.
    build_from_files(d, "v0.mb", &["--format-version", "0"]);
    run_in(d, &["map", "verify", "v0.mb"]).ok();
    assert_eq!(run_in(d, &["map", "get", "v0.mb", "7"]).ok(), b"seven");
}

/// `info` finds the median stored size without a list of all sizes (16 bits per pass): the same figures as sorting
/// them, for sizes that need one, two and three passes.
#[test]
fn info_sizes_match_a_sort() {
    let dir = tempdir();
    let d = dir.path();
    for (name, sizes) in [
        ("small", vec![5usize, 0, 9, 3, 3, 7]),
        (
            "two-pass",
            vec![70_000, 3, 65_536, 65_535, 131_072, 200_000, 1],
        ),
        ("same", vec![4, 4, 4]),
    ] {
        let values = d.join(format!("values-{name}"));
        for (key, len) in sizes.iter().enumerate() {
            write(&values, &key.to_string(), &vec![b'v'; *len]);
        }
        let out = format!("{name}.mb");
        run_in(d, &["map", "build", &out, values.to_str().unwrap()]).ok();
        let info = run_in(d, &["map", "info", &out, "--json"]);
        let json: serde_json::Value = serde_json::from_slice(info.ok()).unwrap();
        let mut sorted = sizes.clone();
        sorted.sort_unstable();
        let summary = &json["stored_value_size"];
        assert_eq!(summary["min"], sorted[0], "{name}");
        assert_eq!(summary["median"], sorted[(sorted.len() - 1) / 2], "{name}");
        assert_eq!(summary["max"], sorted[sorted.len() - 1], "{name}");
        assert_eq!(json["max_key"], sizes.len() - 1, "{name}");
    }
}

/// A killed build leaves its part file; the next build of the same output removes it, `--clean` removes those of
/// every output, and neither touches the part file of a build still running (its lock is held).
#[test]
fn stale_part_files_are_removed_and_live_ones_kept() {
    let dir = tempdir();
    let d = dir.path();
    let stale_same = d.join(".byteshelf-map-m.mb-dead01.part");
    let stale_other = d.join(".byteshelf-map-other.mb-dead02.part");
    let stale_old = d.join(".byteshelf-map-Ab3dE9.part");
    let live = d.join(".byteshelf-map-m.mb-live01.part");
    for part in [&stale_same, &stale_other, &stale_old, &live] {
        std::fs::write(part, b"half a map").unwrap();
    }
    let writer = std::fs::File::open(&live).unwrap();
    writer.try_lock().unwrap();
    // Looks like a part but is a directory: never removed.
    std::fs::create_dir(d.join(".byteshelf-map-m.mb-adir01.part")).unwrap();

    build_from_files(d, "m.mb", &[]);
    assert!(
        !stale_same.exists(),
        "the build removes its output's stale part"
    );
    assert!(stale_other.exists() && stale_old.exists(), "and only those");
    assert!(live.exists());

    let clean = run_in(d, &["map", "build", "m.mb", "--clean"]);
    let text = clean.text();
    assert!(
        text.contains(".byteshelf-map-other.mb-dead02.part"),
        "{text}"
    );
    assert!(text.contains(".byteshelf-map-Ab3dE9.part"), "{text}");
    assert!(
        text.ends_with("removed 2 stale part files from .\n"),
        "{text}"
    );
    clean.ok();
    assert!(!stale_other.exists() && !stale_old.exists());
    assert!(live.exists(), "a live build's part stays");
    assert!(d.join(".byteshelf-map-m.mb-adir01.part").is_dir());
    assert_eq!(run_in(d, &["map", "get", "m.mb", "7"]).ok(), b"seven");

    drop(writer);
    let clean = run_in(d, &["map", "build", "m.mb", "--clean"]);
    assert!(clean.text().contains("live01"), "{}", clean.text());
    assert!(!live.exists());
    let clean = run_in(d, &["map", "build", "m.mb", "--clean"]);
    assert_eq!(clean.ok(), b"no stale part files in .\n");
    run_in(d, &["map", "build", "m.mb", "--clean", "values"]).fails(2, &["--clean"]);
}

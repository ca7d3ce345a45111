//! Remote specs: `s3://` (moto), `http://` (nginx) and `file://` URLs give the output the same files give
//! locally, for `rox info/get/cat/verify`, `map info/get/dump/verify` and `index info/lookup`, including a remote
//! glob (`s3://bucket/ds_*.rox`, by listing).

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine as _;
use byteshelf::sparse_index::SparseIndex;

use crate::servers::{Moto, Nginx, put};
use crate::{Run, assert_no_panic, run_in, tempdir};

/// Runs `byteshelf args...` in `dir` with `envs` added to the environment.
fn run_env<S: AsRef<OsStr>>(dir: &Path, args: &[S], envs: &[(&str, String)]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_byteshelf"))
        .args(args)
        .current_dir(dir)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .expect("the byteshelf binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Local files: a sharded dataset `ds_*.rox`, a one-shard dataset `one.rox`, a map `m.mb`, an index `i.spix`.
/// Returns the file names.
fn make_files(d: &Path) -> Vec<String> {
    let lines: String = (0..400)
        .map(|i| format!("record {i} {}\n", "x".repeat(i % 37)))
        .collect();
    std::fs::write(d.join("lines.txt"), lines).unwrap();
    let pack = [
        "rox",
        "pack",
        "ds",
        "--lines",
        "lines.txt",
        "--max-shard-bytes",
        "3000",
    ];
    run_in(d, &pack).ok();
    run_in(d, &["rox", "pack", "one.rox", "--lines", "lines.txt"]).ok();
    let jsonl: String = (0..300u64)
        .map(|k| {
            let value = base64::engine::general_purpose::STANDARD.encode(format!("value {k}"));
            format!("{{\"key\": {}, \"value\": \"{value}\"}}\n", k * 7)
        })
        .collect();
    std::fs::write(d.join("m.jsonl"), jsonl).unwrap();
    run_in(d, &["map", "build", "m.mb", "--jsonl", "m.jsonl"]).ok();
    let mut index = SparseIndex::new();
    for i in 0..10u64 {
        index.add(format!("key{:02}", i * 10), i * 100).unwrap();
    }
    index.set_data_end(1000).unwrap();
    std::fs::write(d.join("i.spix"), index.to_bytes()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rox") || n.ends_with(".mb") || n.ends_with(".spix"))
        .collect();
    names.sort();
    assert!(
        names.iter().filter(|n| n.starts_with("ds_")).count() >= 3,
        "{names:?}"
    );
    names
}

/// Removes what differs between a local and a remote spec of the same dataset from `rox info --json`: the
/// spec and the shard paths.
fn without_paths(mut json: serde_json::Value) -> serde_json::Value {
    json["spec"] = serde_json::Value::Null;
    for shard in json["shards"].as_array_mut().unwrap() {
        shard["path"] = serde_json::Value::Null;
    }
    json
}

/// The commands that read one file or dataset, with `{}` for the spec.
const COMMANDS: &[&[&str]] = &[
    &["rox", "get", "{one.rox}", "0", "399", "-7", "123"],
    &["rox", "get", "{one.rox}", "5", "--hex"],
    &["rox", "cat", "{one.rox}", "--range", "10..20"],
    &["rox", "cat", "{one.rox}", "--sep", "u32le"],
    &["map", "get", "{m.mb}", "0", "7", "2093"],
    &["map", "info", "{m.mb}", "--json"],
    &["map", "dump", "{m.mb}", "--json"],
    &["index", "info", "{i.spix}", "--json"],
    &["index", "lookup", "{i.spix}", "key25"],
];

/// Runs every command on the local files of `d` and on `base` + name, expecting the same stdout.
fn same_output(d: &Path, base: &str, envs: &[(&str, String)]) {
    for command in COMMANDS {
        let local: Vec<String> = command
            .iter()
            .map(|a| a.trim_start_matches('{').trim_end_matches('}').to_owned())
            .collect();
        let remote: Vec<String> = command
            .iter()
            .map(
                |a| match a.strip_prefix('{').and_then(|a| a.strip_suffix('}')) {
                    Some(name) => format!("{base}{name}"),
                    None => (*a).to_owned(),
                },
            )
            .collect();
        let expected = run_in(d, &local);
        let got = run_env(d, &remote, envs);
        assert_eq!(got.code, 0, "{remote:?}: {}", got.stderr);
        assert_no_panic(&got.stderr);
        if command[1] == "info" || command[1] == "dump" {
            // JSON naming the file: compare everything else.
            // `info` prints one document, `dump` one per line.
            let documents = |bytes: &[u8]| -> Vec<Vec<u8>> {
                if command[1] == "info" {
                    return vec![bytes.to_vec()];
                }
                bytes
                    .split(|&b| b == b'\n')
                    .filter(|line| !line.is_empty())
                    .map(<[u8]>::to_vec)
                    .collect()
            };
            let strip = |bytes: &[u8]| -> Vec<serde_json::Value> {
                documents(bytes)
                    .into_iter()
                    .map(|line| {
                        let mut value: serde_json::Value = serde_json::from_slice(&line).unwrap();
                        if let Some(object) = value.as_object_mut() {
                            object.remove("path");
                        }
                        value
                    })
                    .collect()
            };
            assert_eq!(strip(&got.stdout), strip(expected.ok()), "{remote:?}");
        } else {
            assert_eq!(got.stdout, expected.ok(), "{remote:?}");
        }
    }
    // rox info and verify of one shard.
    let local = run_in(d, &["rox", "info", "one.rox", "--json"]);
    let remote = run_env(
        d,
        &["rox", "info", &format!("{base}one.rox"), "--json"],
        envs,
    );
    assert_eq!(
        without_paths(serde_json::from_slice(remote.ok()).unwrap()),
        without_paths(serde_json::from_slice(local.ok()).unwrap())
    );
    let verify = run_env(d, &["rox", "verify", &format!("{base}one.rox")], envs);
    assert!(verify.text().starts_with("ok: "), "{}", verify.text());
    assert!(
        verify.text().contains("400 records in 1 shard"),
        "{}",
        verify.text()
    );
    let verify = run_env(d, &["map", "verify", &format!("{base}m.mb")], envs);
    assert!(verify.text().contains("300 keys"), "{}", verify.text());
    // A missing object: one error line naming it, exit 1.
    run_env(d, &["rox", "get", &format!("{base}missing.rox"), "0"], envs)
        .fails(1, &["missing.rox"]);
    run_env(d, &["map", "get", &format!("{base}m.mb"), "1"], envs).fails(1, &["key 1"]);
}

#[test]
fn http_urls_read_like_local_files() {
    let nginx = Nginx::start();
    let dir = tempdir();
    let d = dir.path();
    for name in make_files(d) {
        std::fs::copy(d.join(&name), nginx.root().join(&name)).unwrap();
    }
    same_output(d, &format!("{}/", nginx.url()), &[]);
    // `rox get` of a remote shard read only what it needed: the suffix GET and the records' index entries and
    // bytes, never the whole shard.
    assert!(
        nginx
            .requests()
            .iter()
            .all(|line| !line.starts_with("GET /one.rox - ")),
        "{:#?}",
        nginx.requests()
    );
}

#[test]
fn s3_urls_and_a_remote_glob_read_like_local_files() {
    let moto = Moto::start();
    let store = moto.store();
    let dir = tempdir();
    let d = dir.path();
    for name in make_files(d) {
        put(
            &store,
            &format!("data/{name}"),
            std::fs::read(d.join(&name)).unwrap(),
        );
    }
    let envs = [
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ALLOW_HTTP", "true".to_owned()),
    ];
    let base = format!("s3://{}/data/", moto.bucket);
    same_output(d, &base, &envs);

    // The sharded dataset by glob, remotely and locally: the same records, the same info.
    let glob = format!("{base}ds_*.rox");
    let local = run_in(d, &["rox", "cat", "ds_*.rox"]);
    let remote = run_env(d, &["rox", "cat", &glob], &envs);
    assert_eq!(remote.ok(), local.ok());
    let local = run_in(d, &["rox", "info", "ds_*.rox", "--json"]);
    let remote = run_env(d, &["rox", "info", &glob, "--json"], &envs);
    let remote_json: serde_json::Value = serde_json::from_slice(remote.ok()).unwrap();
    assert!(remote_json["shards"].as_array().unwrap().len() >= 3);
    assert_eq!(
        without_paths(remote_json),
        without_paths(serde_json::from_slice(local.ok()).unwrap())
    );
    let remote = run_env(d, &["rox", "get", &glob, "0", "-1", "200"], &envs);
    let local = run_in(d, &["rox", "get", "ds_*.rox", "0", "-1", "200"]);
    assert_eq!(remote.ok(), local.ok());
    let verify = run_env(d, &["rox", "verify", &glob], &envs);
    assert!(
        verify.text().contains("400 records in"),
        "{}",
        verify.text()
    );
    // A glob that matches nothing: one error line.
    run_env(d, &["rox", "info", &format!("{base}nothing_*.rox")], &envs)
        .fails(1, &["nothing_*.rox", "no object matches"]);
}

#[test]
fn file_urls_read_like_local_files() {
    let dir = tempdir();
    let d = dir.path();
    make_files(d);
    let base = format!("file://{}/", d.canonicalize().unwrap().display());
    same_output(d, &base, &[]);
}

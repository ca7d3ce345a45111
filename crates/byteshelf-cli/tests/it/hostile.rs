//! Hostile files: random bytes and crafted headers with huge counts and lengths. Every command either succeeds or
//! fails with status 1 and one error line; none panics, hangs or tries to allocate what a header claims.

use std::path::Path;

use crate::{run_in, tempdir, write};

/// SplitMix64, for reproducible garbage.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            (z ^ (z >> 31)) as u8
        })
        .collect()
}

fn every_reader(d: &Path, file: &str) {
    let commands: [&[&str]; 9] = [
        &["rox", "info", file, "--json"],
        &["rox", "verify", file],
        &["rox", "get", file, "0", "-1"],
        &["map", "info", file],
        &["map", "verify", file],
        &["map", "dump", file, "--json"],
        &["map", "get", file, "1"],
        &["index", "info", file, "--json"],
        &["index", "lookup", file, "k"],
    ];
    for command in commands {
        let run = run_in(d, command);
        if run.code != 0 {
            run.fails(1, &[file]);
        }
    }
}

#[test]
fn random_bytes() {
    let dir = tempdir();
    let d = dir.path();
    for (seed, len) in [
        (1, 0),
        (2, 1),
        (3, 7),
        (4, 16),
        (5, 24),
        (6, 31),
        (7, 32),
        (8, 100),
        (9, 4096),
    ] {
        std::fs::write(d.join("random.bin"), garbage(seed, len)).unwrap();
        every_reader(d, "random.bin");
    }
}

#[test]
fn crafted_headers_with_huge_counts() {
    let dir = tempdir();
    let d = dir.path();
    let mut cases: Vec<Vec<u8>> = Vec::new();
    // Roxxel footers claiming i64::MAX records or payload bytes, or sizes whose sum overflows.
    for (records, raw) in [
        (i64::MAX, 0i64),
        (0, i64::MAX),
        (i64::MAX, i64::MAX),
        (-1, 5),
        (1, -1),
    ] {
        let mut file = b"payload!".to_vec();
        file.extend_from_slice(&records.to_le_bytes());
        file.extend_from_slice(&raw.to_le_bytes());
        file.extend_from_slice(b"ROXXEL01");
        cases.push(file);
        let mut file = b"payload!".to_vec();
        file.extend_from_slice(&records.to_le_bytes());
        file.extend_from_slice(&raw.to_le_bytes());
        file.extend_from_slice(b"int32\0\0\0ROXXEL02");
        cases.push(file);
    }
    // MapBuffers claiming u32::MAX keys, and an index whose offsets point anywhere.
    for version in [0u8, 1] {
        let mut file = b"mapbufr".to_vec();
        file.push(version);
        file.extend_from_slice(b"none");
        file.extend_from_slice(&u32::MAX.to_le_bytes());
        file.extend_from_slice(&garbage(10, 64));
        cases.push(file);
        let mut file = b"mapbufr".to_vec();
        file.push(version);
        file.extend_from_slice(b"zstd");
        file.extend_from_slice(&2u32.to_le_bytes());
        for (key, offset) in [(1u64, u64::MAX), (2, 48)] {
            file.extend_from_slice(&key.to_le_bytes());
            file.extend_from_slice(&offset.to_le_bytes());
        }
        file.extend_from_slice(&garbage(11, 16));
        cases.push(file);
    }
    // Legacy sparse indexes (length-prefixed keys) with huge key lengths.
    for len in [u32::MAX, 1 << 30, 5] {
        let mut file = 1u32.to_le_bytes().to_vec();
        file.extend_from_slice(&len.to_le_bytes());
        file.extend_from_slice(b"k");
        cases.push(file);
    }
    // A byteshelf sparse-index frame around garbage.
    let mut framed = b"SPIX\x01\0\0\0".to_vec();
    framed.extend_from_slice(&garbage(12, 40));
    framed.extend_from_slice(b"SPIX");
    cases.push(framed);
    for (i, case) in cases.iter().enumerate() {
        let name = format!("crafted-{i}.bin");
        std::fs::write(d.join(&name), case).unwrap();
        every_reader(d, &name);
    }
}

/// Runs `byteshelf args...` in `dir` with `stdin` (or nothing) as its input, and fails the test if it has not
/// finished within `limit`: a hang is killed, not waited for. Returns the run and how long it took.
fn run_within(
    dir: &Path,
    args: &[&str],
    stdin: Option<std::fs::File>,
    limit: std::time::Duration,
) -> (crate::Run, std::time::Duration) {
    use std::io::Read;
    use std::process::{Command, Stdio};
    use std::time::Instant;

    let mut child = Command::new(env!("CARGO_BIN_EXE_byteshelf"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "1")
        .stdin(stdin.map_or_else(Stdio::null, Stdio::from))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the byteshelf binary starts");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout is piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr is piped")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be waited for") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`byteshelf {}` did not finish within {limit:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let run = crate::Run {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().expect("stdout is read"),
        stderr: String::from_utf8_lossy(&stderr.join().expect("stderr is read")).into_owned(),
    };
    (run, elapsed)
}

/// Generous for a debug build on a busy machine; what is measured is "at once", not "after reading gigabytes".
const QUICK: std::time::Duration = std::time::Duration::from_secs(5);
/// Past this, a run counts as a hang and is killed.
const HANG: std::time::Duration = std::time::Duration::from_secs(30);

/// The map and index reader commands on `file`.
fn map_and_index_readers(file: &str) -> [Vec<&str>; 8] {
    [
        vec!["map", "info", file],
        vec!["map", "info", file, "--json"],
        vec!["map", "get", file, "1"],
        vec!["map", "dump", file],
        vec!["map", "dump", file, "--json"],
        vec!["map", "verify", file],
        vec!["index", "info", file, "--json"],
        vec!["index", "lookup", file, "k"],
    ]
}

/// A FIFO without a writer (which a plain open(2) waits on forever), endless and empty devices, and a directory:
/// every map and index reader refuses them at once, with one line naming the path and what it is.
#[test]
fn readers_refuse_fifos_devices_and_directories_at_once() {
    let dir = tempdir();
    let d = dir.path();
    let made = std::process::Command::new("mkfifo")
        .arg(d.join("fifo"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo failed");
    std::fs::create_dir(d.join("a-directory")).unwrap();
    for (file, kind) in [
        ("fifo", "(a FIFO)"),
        ("/dev/zero", "(a character device)"),
        ("/dev/null", "(a character device)"),
        ("a-directory", "(a directory)"),
    ] {
        for command in map_and_index_readers(file) {
            let (run, elapsed) = run_within(d, &command, None, HANG);
            run.fails(1, &[file, "not a regular file", kind]);
            assert!(elapsed < QUICK, "{command:?} took {elapsed:?}");
        }
    }
}

/// A 64 GiB sparse MapBuffer (a few real bytes) whose header claims 2^32 - 1 keys: the first value starts where it
/// should and the last offset is inside the file, so it opens; the rest of the index is zeros. `info` must not
/// allocate per key (it used to abort allocating 34 GB) and `dump` must not walk 4 billion slots: both stop at the
/// first impossible offset or key out of order, like `verify` and `get`.
#[test]
fn a_sparse_map_claiming_u32_max_keys_fails_at_once() {
    let dir = tempdir();
    let d = dir.path();
    let n = u64::from(u32::MAX);
    let data_start = 16 + 16 * n;
    for version in [0u8, 1] {
        let name = format!("sparse-v{version}.mb");
        let mut head = b"mapbufr".to_vec();
        head.push(version);
        head.extend_from_slice(b"none");
        head.extend_from_slice(&u32::MAX.to_le_bytes());
        head.extend_from_slice(&1u64.to_le_bytes());
        head.extend_from_slice(&data_start.to_le_bytes());
        std::fs::write(d.join(&name), &head).unwrap();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(d.join(&name))
            .unwrap();
        file.set_len(data_start + 1000).unwrap();
        drop(file);
        for command in map_and_index_readers(&name) {
            let (run, elapsed) = run_within(d, &command, None, HANG);
            run.fails(1, &[&name]);
            assert!(elapsed < QUICK, "{command:?} took {elapsed:?}");
        }
        for command in [
            vec!["map", "info", name.as_str()],
            vec!["map", "dump", name.as_str()],
        ] {
            let (run, _) = run_within(d, &command, None, HANG);
            run.fails(1, &["corrupt offset 0"]);
        }
        let (run, _) = run_within(d, &["map", "verify", &name], None, HANG);
        run.fails(1, &["appears twice in the index"]);
    }
}

/// Endless inputs to `map build`: a value file that is `/dev/zero`, and `/dev/zero` as JSON lines from a file or
/// stdin. Each stops at the record limit (64 MiB unless `--max-record-bytes` says otherwise) with one line naming
/// the input and the byte offset, and leaves nothing behind.
#[test]
fn endless_inputs_to_map_build_stop_at_the_record_limit() {
    let dir = tempdir();
    let d = dir.path();
    std::fs::create_dir(d.join("values")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("values/5")).unwrap();
    let cases: [(Vec<&str>, Option<&str>, &[&str]); 5] = [
        (
            vec!["map", "build", "out.mb", "values"],
            None,
            &["values/5", "past byte 67108864", "--max-record-bytes"],
        ),
        (
            vec![
                "map",
                "build",
                "out.mb",
                "values/5",
                "--max-record-bytes",
                "1000",
            ],
            None,
            &["values/5", "past byte 1000", "limit of 1000 bytes"],
        ),
        (
            vec!["map", "build", "out.mb", "--jsonl", "/dev/zero"],
            None,
            &["/dev/zero", "line 1 (from byte 0)", "past byte 67108864"],
        ),
        (
            vec!["map", "build", "out.mb", "--jsonl", "-"],
            Some("/dev/zero"),
            &["<stdin>", "line 1 (from byte 0)", "past byte 67108864"],
        ),
        (
            vec![
                "map",
                "build",
                "out.mb",
                "--jsonl",
                "-",
                "--max-record-bytes",
                "10",
            ],
            Some("/dev/zero"),
            &["<stdin>", "line 1", "past byte 10", "limit of 10 bytes"],
        ),
    ];
    for (command, stdin, needles) in cases {
        let stdin = stdin.map(|path| std::fs::File::open(path).unwrap());
        let (run, elapsed) = run_within(d, &command, stdin, HANG);
        run.fails(1, needles);
        assert!(elapsed < QUICK, "{command:?} took {elapsed:?}");
        let left: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["values"], "{command:?} left files behind");
    }
    // A regular file over the limit is refused by its length, before it is read; a later line over the limit names
    // its line number and offset.
    write(d, "big/7", &[b'x'; 2000]);
    run_in(
        d,
        &[
            "map",
            "build",
            "out.mb",
            "big",
            "--max-record-bytes",
            "1999",
        ],
    )
    .fails(1, &["big/7", "is 2000 bytes", "limit of 1999 bytes"]);
    write(
        d,
        "lines.jsonl",
        b"{\"key\": 1, \"value\": \"\"}\n{\"key\": 2, \"value\": \"AAAAAAAA\"}\n",
    );
    run_in(
        d,
        &[
            "map",
            "build",
            "out.mb",
            "--jsonl",
            "lines.jsonl",
            "--max-record-bytes",
            "30",
        ],
    )
    .fails(1, &["lines.jsonl", "line 2 (from byte 24)", "past byte 54"]);
    run_in(
        d,
        &[
            "map",
            "build",
            "out.mb",
            "--jsonl",
            "lines.jsonl",
            "--max-record-bytes",
            "40",
        ],
    )
    .ok();
}

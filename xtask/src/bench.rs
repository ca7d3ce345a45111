//! `cargo xtask bench [--quick]`: the criterion benches, then byteshelf side by side with the Python references on
//! the same data in the same run, written to docs/benchmarks.md.
//!
//! The Rust half is the umbrella's `side_by_side` example: it generates the data, measures byteshelf, the best Rust
//! peer and the machine's limit for each figure, and leaves the data in a work directory. The Python halves in `xtask/bench/` measure the
//! references on that data, in the venvs that conformance uses. `--quick` skips criterion and uses smaller data, so
//! that it finishes in well under two minutes once built.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::cmd::{self, Result};
use crate::conformance::{self, Packages};

/// A Python reference: its script in `xtask/bench/` and what its venv holds (the conformance suite's requirements
/// file, whose venv it shares, or pip arguments).
struct Reference {
    script: &'static str,
    requirements: Option<PathBuf>,
    pip_args: &'static [&'static str],
}

/// `buffer` 0.2.1 pins wrapt 1.11.2, which does not import on Python >= 3.11; wrapt 1.16 works with it.
const BUFFER_PACKAGES: &[&str] = &["--no-deps", "buffer==0.2.1", "wrapt==1.16.0"];

fn references(root: &Path) -> Vec<Reference> {
    let shared = |script, krate: &str, env: &str| Reference {
        script,
        requirements: Some(
            root.join("crates")
                .join(krate)
                .join("conformance")
                .join(format!("requirements-{env}.txt")),
        ),
        pip_args: &[],
    };
    vec![
        shared("roxxel_bench.py", "roxxel-format", "r01"),
        shared("mapbuffer_bench.py", "mapbuffer", "py"),
        shared("roboto_bench.py", "sparse-buffer", "roboto"),
        Reference {
            script: "buffer_bench.py",
            requirements: None,
            pip_args: BUFFER_PACKAGES,
        },
    ]
}

/// One figure of the side-by-side table.
#[derive(Default)]
struct Figure {
    group: String,
    name: String,
    unit: String,
    ours: f64,
    /// The best Rust crate for the job, measured by the example on the same data.
    peer: Option<(String, f64)>,
    /// The machine's limit for the same work (a plain mmap, pread, memory read...), measured by the example.
    baseline: Option<(String, f64)>,
    reference: Option<(String, f64)>,
}

pub(crate) fn run(quick: bool) -> Result<()> {
    let root = cmd::root();
    let started = SystemTime::now();
    let target = conformance::target_dir();

    if !quick {
        eprintln!("\n==> criterion benches");
        cmd::run(cmd::cargo().args([
            "bench",
            "--workspace",
            "--bench",
            "*",
            "--",
            "--warm-up-time",
            "1",
            "--measurement-time",
            "3",
        ]))?;
    }

    eprintln!(
        "\n==> byteshelf side by side with the Python references{}",
        if quick { " (quick)" } else { "" }
    );
    cmd::run(cmd::cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "byteshelf",
        "--example",
        "side_by_side",
    ]))?;
    let work = target.join("bench").join("work");
    let mut side = cmd::new(
        target.join("release").join("examples").join("side_by_side"),
        ["--work"],
    );
    side.arg(&work);
    if quick {
        side.arg("--quick");
    }
    eprintln!("$ {}", cmd::Shown(&side));
    let out = side
        .output()
        .map_err(|err| format!("cannot run the side_by_side example: {err}"))?;
    if !out.status.success() {
        return Err(format!(
            "side_by_side failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut stdout = String::from_utf8_lossy(&out.stdout).into_owned();

    // The remote rows: byteshelf's remote readers next to object_store's get_ranges, on a loopback nginx.
    crate::servers::ensure_nginx()?;
    cmd::run(cmd::cargo().args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "byteshelf",
        "--features",
        "object-store",
        "--example",
        "remote_side_by_side",
    ]))?;
    let mut remote = cmd::new(
        target
            .join("release")
            .join("examples")
            .join("remote_side_by_side"),
        [] as [&str; 0],
    );
    if quick {
        remote.arg("--quick");
    }
    eprintln!("$ {}", cmd::Shown(&remote));
    let out = remote
        .output()
        .map_err(|err| format!("cannot run the remote_side_by_side example: {err}"))?;
    if !out.status.success() {
        return Err(format!(
            "remote_side_by_side failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    stdout.push_str(&String::from_utf8_lossy(&out.stdout));

    let mut figures: BTreeMap<String, Figure> = BTreeMap::new();
    let mut order = Vec::new();
    for line in stdout.lines() {
        let fields = parse_flat_json(line);
        let id = fields.get("id").cloned().unwrap_or_default();
        let number = |key: &str| fields.get(key).and_then(|v| v.parse::<f64>().ok());
        let figure = Figure {
            group: fields.get("group").cloned().unwrap_or_default(),
            name: fields.get("name").cloned().unwrap_or_default(),
            unit: fields.get("unit").cloned().unwrap_or_default(),
            ours: number("ours").unwrap_or(f64::NAN),
            peer: fields.get("peer_name").cloned().zip(number("peer")),
            baseline: fields.get("baseline_name").cloned().zip(number("baseline")),
            reference: None,
        };
        eprintln!(
            "  {:<70} {}",
            figure.name,
            format_value(&figure.unit, figure.ours)
        );
        order.push(id.clone());
        figures.insert(id, figure);
    }

    let python = conformance::find_python()?;
    let mut unavailable = Vec::new();
    for reference in references(&root) {
        eprintln!("  running {}", reference.script);
        let packages = match &reference.requirements {
            Some(requirements) => Packages::Requirements(requirements),
            None => Packages::Args(reference.pip_args),
        };
        let venv_python = match conformance::ensure_venv(&python, packages) {
            Ok(venv_python) => venv_python,
            Err(err) => {
                unavailable.push(format!("{}: could not install ({err})", reference.script));
                continue;
            }
        };
        let mut script = cmd::new(
            &venv_python,
            [root.join("xtask").join("bench").join(reference.script)],
        );
        script
            .arg(&work)
            .current_dir(root.join("xtask").join("bench"));
        let out = script
            .output()
            .map_err(|err| format!("cannot run {}: {err}", reference.script))?;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let fields = parse_flat_json(line);
            let (Some(id), Some(name), Some(value)) = (
                fields.get("id"),
                fields.get("reference_name"),
                fields.get("reference").and_then(|v| v.parse::<f64>().ok()),
            ) else {
                continue;
            };
            if let Some(figure) = figures.get_mut(id) {
                eprintln!(
                    "  {:<70} {} ({name})",
                    figure.name,
                    format_value(&figure.unit, value)
                );
                figure.reference = Some((name.clone(), value));
            }
        }
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr
                .lines()
                .last()
                .unwrap_or("no output")
                .trim()
                .to_owned();
            unavailable.push(format!("{}: {last}", reference.script));
        }
    }

    let criterion = if quick {
        Vec::new()
    } else {
        criterion_results(&target.join("criterion"), started)
    };
    let doc = render(quick, &order, &figures, &unavailable, &criterion)?;
    let path = root.join("docs").join("benchmarks.md");
    fs::write(&path, doc).map_err(|err| format!("cannot write {}: {err}", path.display()))?;
    eprintln!("\nwrote {}", path.display());
    Ok(())
}

/// The fields of a flat JSON object of strings and numbers (all the side-by-side lines are), as strings.
fn parse_flat_json(line: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let body = line.trim().trim_start_matches('{').trim_end_matches('}');
    let mut rest = body;
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let key = after[..end].to_owned();
        let after = after[end + 1..]
            .trim_start()
            .trim_start_matches(':')
            .trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let close = quoted.find('"').unwrap_or(quoted.len());
            (
                quoted[..close].to_owned(),
                quoted.get(close + 1..).unwrap_or(""),
            )
        } else {
            let close = after.find(',').unwrap_or(after.len());
            (after[..close].trim().to_owned(), &after[close..])
        };
        fields.insert(key, value);
        rest = tail.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
    }
    fields
}

fn format_value(unit: &str, value: f64) -> String {
    match unit {
        "ns/op" if value >= 1e6 => format!("{:.1} ms", value / 1e6),
        "ns/op" if value >= 1e3 => format!("{:.1} µs", value / 1e3),
        "ns/op" => format!("{value:.0} ns"),
        "MB/s" if value >= 1e3 => format!("{:.2} GB/s", value / 1e3),
        "MB/s" => format!("{value:.0} MB/s"),
        "requests" => format!("{value:.0} requests"),
        "MB" => format!("{value:.1} MB"),
        _ => format!("{value:.3} {unit}"),
    }
}

/// How many times better ours is: throughputs divide ours by theirs, times and sizes theirs by ours.
fn ratio(unit: &str, ours: f64, theirs: f64) -> f64 {
    if unit.ends_with("/s") {
        ours / theirs
    } else {
        theirs / ours
    }
}

/// One criterion benchmark: its id, median time in ns and its throughput declaration.
struct CriterionResult {
    id: String,
    median_ns: f64,
    throughput: Option<(String, f64)>,
}

fn criterion_results(dir: &Path, since: SystemTime) -> Vec<CriterionResult> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "estimates.json")
                && path.parent().is_some_and(|p| p.ends_with("new"))
            {
                let fresh = fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .is_ok_and(|m| m >= since);
                if let (true, Some(result)) = (fresh, read_criterion(&path)) {
                    found.push(result);
                }
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found
}

fn read_criterion(estimates: &Path) -> Option<CriterionResult> {
    let estimates_text = fs::read_to_string(estimates).ok()?;
    let benchmark = fs::read_to_string(estimates.with_file_name("benchmark.json")).ok()?;
    let median_at = estimates_text.find("\"median\"")?;
    let median = &estimates_text[median_at..];
    let point = &median[median.find("\"point_estimate\"")? + "\"point_estimate\"".len()..];
    let point = point.trim_start_matches([':', ' ']);
    let median_ns = point[..point.find([',', '}'])?].trim().parse().ok()?;
    let id_at = benchmark.find("\"full_id\"")? + "\"full_id\"".len();
    let id_rest = benchmark[id_at..]
        .trim_start_matches([':', ' '])
        .strip_prefix('"')?;
    let id = id_rest[..id_rest.find('"')?].to_owned();
    let throughput = ["Bytes", "BytesDecimal", "Elements"]
        .iter()
        .find_map(|kind| {
            let at = benchmark.find(&format!("\"{kind}\""))? + kind.len() + 2;
            let rest = benchmark[at..].trim_start_matches([':', ' ']);
            let value: f64 = rest[..rest.find(|c: char| !c.is_ascii_digit())?]
                .parse()
                .ok()?;
            Some(((*kind).to_owned(), value))
        });
    Some(CriterionResult {
        id,
        median_ns,
        throughput,
    })
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(str::trim)
                .map(String::from)
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let kib: f64 = info
                .lines()
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some(format!("{:.0} GiB", kib / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let rustc = cmd::new("rustc", ["-V"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let python = cmd::new("python3", ["-V"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    format!(
        "{cpu}, {cores} cores, {memory} memory, Linux {kernel}; {}; {} (references). Shared and noisy: figures are \
         medians of one run, compare ratios rather than absolute values.",
        rustc.unwrap_or_default(),
        python.unwrap_or_default()
    )
}

fn today() -> String {
    cmd::new("date", ["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn render(
    quick: bool,
    order: &[String],
    figures: &BTreeMap<String, Figure>,
    unavailable: &[String],
    criterion: &[CriterionResult],
) -> Result<String> {
    let mut doc = String::new();
    let w = |doc: &mut String, text: String| {
        doc.push_str(&text);
        doc.push('\n');
    };
    w(&mut doc, "# Benchmarks".into());
    w(&mut doc, String::new());
    w(
        &mut doc,
        format!(
            "Generated by `cargo xtask bench{}` on {}; regenerate it rather than editing it by hand.",
            if quick { " --quick" } else { "" },
            today()
        ),
    );
    w(&mut doc, String::new());
    w(&mut doc, format!("**Machine:** {}", machine()));
    w(&mut doc, String::new());
    w(
        &mut doc,
        "## Side by side with the Python references, the best Rust peer and the machine's limit"
            .into(),
    );
    w(&mut doc, String::new());
    w(
        &mut doc,
        "The same data, generated once, measured in the same run: byteshelf, the Rust peer and the machine's limit \
         (baseline) by the umbrella's `side_by_side` example (release build, median of several repetitions), the \
         Python references by the scripts in `xtask/bench/` in their pinned venvs. Each × is how many times faster \
         (for sizes: smaller) byteshelf is than that column; below 1× it is slower. Lookups draw their probes at \
         random over the whole structure (a random sequence at least as long as the structure has entries). \
         Compare ratios rather than absolute values."
            .into(),
    );
    w(&mut doc, String::new());
    w(
        &mut doc,
        "| crate | figure | byteshelf | Python reference | × | Rust peer | × | baseline (machine's limit) | × |".into(),
    );
    w(&mut doc, "|---|---|---|---|---|---|---|---|---|".into());
    for id in order {
        let Some(f) = figures.get(id) else { continue };
        let mut row = format!(
            "| {} | {} | {} |",
            f.group,
            f.name,
            format_value(&f.unit, f.ours)
        );
        for other in [&f.reference, &f.peer, &f.baseline] {
            match other {
                Some((name, value)) => write!(
                    row,
                    " {} ({name}) | **{:.2}×** |",
                    format_value(&f.unit, *value),
                    ratio(&f.unit, f.ours, *value)
                ),
                None => write!(row, " — | — |"),
            }
            .map_err(|err| err.to_string())?;
        }
        w(&mut doc, row);
    }
    w(&mut doc, String::new());
    w(
        &mut doc,
        "Notes: roxxel 0.1.0 neither fsyncs nor renames, byteshelf's writer does both (and journals appends), so the \
         write row compares a durable write with an unsynced one; the baseline is the same bytes through a plain \
         `BufWriter` followed by `sync_all`. Python's random `get` returns a view without touching the bytes; ours \
         reads the first byte of each record. fst has no floor lookup: its row measures fst's nearest one, the first \
         entry of `range().ge(probe)` (a lower bound), which walks the same depth. `buffer` 0.2.1 runs with wrapt \
         1.16 (its own pin, wrapt 1.11.2, does not import on Python 3.11). The remote rows read from nginx on \
         loopback, each repetition on a fresh open: requests and bytes are what nginx's access log records, and their \
         baseline is the same reads written directly against object_store (a suffix or header GET, then `get_ranges`). \
         The Roxxel read rows and `mapbuffer.get_many` run byteshelf and its baseline or peer alternately, 21 times \
         each, every timed run right after an untimed one of the same side, so a slow spell of the shared machine \
         falls on both; the other rows run each side's repetitions back to back."
            .into(),
    );
    if !unavailable.is_empty() {
        w(&mut doc, String::new());
        w(
            &mut doc,
            "References that could not be measured in this run:".into(),
        );
        w(&mut doc, String::new());
        for line in unavailable {
            w(&mut doc, format!("- {line}"));
        }
    }
    if !criterion.is_empty() {
        w(&mut doc, String::new());
        w(&mut doc, "## Criterion benchmarks".into());
        w(&mut doc, String::new());
        w(
            &mut doc,
            "Medians from `cargo bench --workspace --bench '*' -- --warm-up-time 1 --measurement-time 3`; the \
             benches live in each crate's `benches/`."
                .into(),
        );
        w(&mut doc, String::new());
        w(&mut doc, "| benchmark | median | throughput |".into());
        w(&mut doc, "|---|---|---|".into());
        for result in criterion {
            let throughput = match &result.throughput {
                Some((kind, amount)) if kind.starts_with("Bytes") => {
                    format_value("MB/s", amount / result.median_ns * 1e3)
                }
                Some((_, amount)) => format!("{:.1} M elements/s", amount / result.median_ns * 1e3),
                None => "—".to_owned(),
            };
            let mut row = String::new();
            write!(
                row,
                "| `{}` | {} | {throughput} |",
                result.id,
                format_value("ns/op", result.median_ns)
            )
            .map_err(|err| err.to_string())?;
            w(&mut doc, row);
        }
    }
    Ok(doc)
}

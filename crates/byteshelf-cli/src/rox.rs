//! `byteshelf rox ...`: Roxxel datasets (pack, info, get, cat, verify, recover, unpack).

use std::fs::{self, File};
use std::path::Path;

use byteshelf::roxxel::{
    self, Dataset, DatasetSpec, Dtype, FooterKind, Recovery, Shard, Verification, WriteSummary,
    WriterOptions,
};
use serde::Serialize;

use crate::cli::{
    CatArgs, FooterArg, PackArgs, RoxCommand, RoxGetArgs, SpecArgs, SpecJsonArgs, UnpackArgs,
};
use crate::error::{Error, Result};
use crate::fsutil::{self, LineReader};
use crate::input::{collect_files, open_text};
use crate::output::{Problem, SizeSummary, Stdout, base64, default_separator, size};
use crate::progress::Progress;

/// Runs one `rox` command.
pub(crate) fn run(command: RoxCommand) -> Result {
    match command {
        RoxCommand::Pack(args) => pack(&args),
        RoxCommand::Info(args) => info(&args),
        RoxCommand::Get(args) => get(&args),
        RoxCommand::Cat(args) => cat(&args),
        RoxCommand::Verify(args) => verify(&args),
        RoxCommand::Recover(args) => recover(&args),
        RoxCommand::Unpack(args) => unpack(&args),
    }
}

/// A roxxel error about the dataset `spec`.
fn rox_error(spec: &str, err: &roxxel::Error) -> Error {
    Error::from_lib(Path::new(spec), err)
}

fn open(spec: &str) -> Result<Dataset> {
    Dataset::open(spec).map_err(|e| rox_error(spec, &e))
}

// ---------------------------------------------------------------------------------------------------------------
// pack

fn pack(args: &PackArgs) -> Result {
    let dtype = args
        .dtype
        .as_deref()
        .map(|name| Dtype::new(name).map_err(|e| Error::usage(format!("--dtype: {e}"))))
        .transpose()?;
    let footer = match (args.footer, dtype) {
        (Some(FooterArg::V01), Some(_)) => {
            return Err(Error::usage(
                "--dtype needs a ROXXEL02 footer: drop --footer 01",
            ));
        }
        (Some(FooterArg::V01), None) => Some(FooterKind::Roxxel01),
        (Some(FooterArg::V02), _) | (None, Some(_)) => Some(FooterKind::Roxxel02),
        (None, None) => None,
    };
    if !args.append {
        // A killed earlier run of this same command leaves an unfinished session (shards no reader counts) or a
        // temporary file: roll it back first, so that re-running the command just works.
        roxxel::recover(&args.out).map_err(|e| Error::from_lib(&args.out, &e))?;
        refuse_existing(&args.out, args.max_shard_bytes.is_some())?;
    }
    let mut options = WriterOptions::new();
    if let Some(max) = args.max_shard_bytes {
        options = options.max_shard_bytes(max);
    }
    if let Some(kind) = footer {
        options = options.footer(kind);
    }
    if let Some(dtype) = dtype {
        options = options.dtype(dtype);
    }
    options = options.checksums(args.checksums);
    // The inputs are listed before the dataset is opened, so a missing file leaves nothing behind.
    let files = match &args.lines {
        Some(_) => Vec::new(),
        None => collect_files(&args.paths)?,
    };
    let out = args.out.as_path();
    let mut writer = options.open(out).map_err(|e| Error::from_lib(out, &e))?;
    let mut bytes = 0u64;
    let mut push = |record: &[u8], progress: &Progress| {
        writer.push(record).map_err(|e| Error::from_lib(out, &e))?;
        bytes += record.len() as u64;
        progress.advance(1, bytes);
        Ok::<_, Error>(())
    };
    // Records are bounded: an endless input (`/dev/zero`) fails at the limit instead of filling memory.
    let limit = args.max_record_bytes;
    if let Some(lines) = &args.lines {
        let progress = Progress::new("packing", None);
        let (name, reader) = open_text(lines)?;
        let mut lines = LineReader::new(name, reader, limit).keep_carriage_returns();
        let mut line = Vec::new();
        while lines.next_line(&mut line)?.is_some() {
            push(&line, &progress)?;
        }
        progress.finish();
    } else {
        let progress = Progress::new("packing", Some(files.len() as u64));
        for file in &files {
            let record = fsutil::read_limited(file, limit)?;
            push(&record, &progress)?;
        }
        progress.finish();
    }
    let summary = writer.finish().map_err(|e| Error::from_lib(out, &e))?;
    print_pack_summary(&summary, bytes)
}

fn print_pack_summary(summary: &WriteSummary, bytes: u64) -> Result {
    let mut stdout = Stdout::new();
    let shards = summary.shards.len();
    stdout.line(format!(
        "packed {} records ({}) into {} shard{}",
        summary.records_written,
        size(bytes),
        shards,
        if shards == 1 { "" } else { "s" }
    ))?;
    for shard in &summary.shards {
        let sidecar = match &shard.sidecar {
            Some(path) => format!(", checksums in {}", path.display()),
            None => String::new(),
        };
        stdout.line(format!(
            "  {}  {}  {} records{sidecar}",
            shard.path.display(),
            shard.footer.kind,
            shard.footer.records
        ))?;
    }
    stdout.flush()
}

/// Fails when the dataset exists: `out`, or with sharding any `{base}_NNNN.rox` next to it (`base` is `out` minus
/// `.rox`). Pack creates; `--append` adds.
fn refuse_existing(out: &Path, sharded: bool) -> Result {
    let exists = |path: &Path| {
        Error::usage(format!(
            "{} already exists: pass --append to add records to it, or choose another name",
            path.display()
        ))
    };
    if !sharded {
        return if out.exists() {
            Err(exists(out))
        } else {
            Ok(())
        };
    }
    let Some(name) = out.file_name() else {
        return Ok(());
    };
    let name = name.to_string_lossy();
    let base = name.strip_suffix(".rox").unwrap_or(&name);
    let prefix = format!("{base}_");
    let dir = match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut shards: Vec<String> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|entry_name| {
            entry_name
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".rox"))
                .is_some_and(|digits| {
                    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
                })
        })
        .collect();
    shards.sort();
    if let Some(first) = shards.first() {
        return Err(exists(&out.with_file_name(first)));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// info

/// `rox info --json` (of a local or a remote dataset).
#[derive(Debug, Serialize)]
pub(crate) struct DatasetInfo {
    spec: String,
    shards: Vec<ShardInfo>,
    records: u64,
    bytes: u64,
    payload_bytes: u64,
    record_size: Option<SizeSummary>,
    /// How many records `record_size` summarizes: all of them, or [`SIZE_SAMPLE`] evenly spaced ones.
    record_size_sample: u64,
}

impl DatasetInfo {
    /// The info of `shards`, whose records' sizes (of the runs [`size_sample_runs`] names) are `sizes`.
    pub(crate) fn new(spec: &str, shards: Vec<ShardInfo>, mut sizes: Vec<u64>) -> Self {
        Self {
            spec: spec.to_owned(),
            records: shards.iter().map(|s| s.records).sum(),
            bytes: shards.iter().map(|s| s.bytes).sum(),
            payload_bytes: shards.iter().map(|s| s.payload_bytes).sum(),
            record_size_sample: sizes.len() as u64,
            record_size: SizeSummary::of(&mut sizes),
            shards,
        }
    }

    /// Prints it as `rox info` does, as text or (`json`) as JSON.
    pub(crate) fn print(&self, json: bool) -> Result {
        let mut stdout = Stdout::new();
        if json {
            stdout.json(self)?;
        } else {
            print_info(&mut stdout, self)?;
        }
        stdout.flush()
    }
}

/// The most records whose sizes `rox info` reads, in this many runs of consecutive records.
const SIZE_SAMPLE: u64 = 1 << 20;
const SAMPLE_RUNS: u64 = 256;

/// The runs of records whose sizes `rox info` summarizes: every record up to [`SIZE_SAMPLE`] records, else
/// [`SAMPLE_RUNS`] evenly spaced runs of consecutive records (runs read a few index pages each, where single
/// records spread over a huge index would each fault in pages, or cost requests, of their own), so that `info`
/// stays fast and small whatever the record count.
pub(crate) fn size_sample_runs(len: u64) -> impl Iterator<Item = std::ops::Range<u64>> {
    let sample = len.min(SIZE_SAMPLE);
    let runs = if sample == len { 1 } else { SAMPLE_RUNS };
    (0..runs).map(move |run| {
        let start = (u128::from(run) * u128::from(len) / u128::from(runs)) as u64;
        start..start + sample / runs
    })
}

/// One shard in [`DatasetInfo`].
#[derive(Debug, Serialize)]
pub(crate) struct ShardInfo {
    pub(crate) path: String,
    pub(crate) footer: &'static str,
    pub(crate) dtype: Option<String>,
    pub(crate) records: u64,
    pub(crate) bytes: u64,
    pub(crate) payload_bytes: u64,
    pub(crate) pending_recovery: bool,
    /// The shard's `.crc` checksum sidecar: `null` without one (remote shards: never read).
    pub(crate) sidecar: Option<SidecarInfo>,
}

impl ShardInfo {
    /// What a footer says of a shard, without its sidecar or pending recovery.
    pub(crate) fn of_footer(path: &Path, footer: &roxxel::Footer) -> Self {
        Self {
            path: path.display().to_string(),
            footer: footer.kind.as_str(),
            dtype: footer.dtype.map(|dtype| dtype.to_string()),
            records: footer.records,
            bytes: footer.file_len().unwrap_or(u64::MAX),
            payload_bytes: footer.raw_data_size,
            pending_recovery: false,
            sidecar: None,
        }
    }
}

/// A shard's checksum sidecar in [`ShardInfo`]: `{"records": n}` (how many records it covers, from its header; may
/// be fewer than the shard holds, or more), or `{"error": "..."}` for a damaged one.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SidecarInfo {
    Records(u64),
    Error(String),
}

fn shard_info(shard: &Shard) -> ShardInfo {
    ShardInfo {
        pending_recovery: shard.is_rolled_back_view(),
        sidecar: match shard.sidecar_records() {
            Ok(None) => None,
            Ok(Some(records)) => Some(SidecarInfo::Records(records)),
            Err(err) => Some(SidecarInfo::Error(err.to_string())),
        },
        ..ShardInfo::of_footer(shard.path(), shard.footer())
    }
}

/// The `sidecar` column of `rox info`: `-`, `all`, `<covered>/<records>`, or `damaged`.
fn sidecar_column(shard: &ShardInfo) -> String {
    match &shard.sidecar {
        None => "-".to_owned(),
        Some(SidecarInfo::Records(n)) if *n >= shard.records => "all".to_owned(),
        Some(SidecarInfo::Records(n)) => format!("{n}/{}", shard.records),
        Some(SidecarInfo::Error(_)) => "damaged".to_owned(),
    }
}

fn info(args: &SpecJsonArgs) -> Result {
    if let Some(done) = crate::remote::rox_info(args) {
        return done;
    }
    let dataset = open(&args.spec)?;
    let shards: Vec<ShardInfo> = dataset.shards().iter().map(shard_info).collect();
    let mut sizes = Vec::new();
    for run in size_sample_runs(dataset.len()) {
        let records = dataset.range(run).map_err(|e| rox_error(&args.spec, &e))?;
        for record in records {
            sizes.push(record.map_err(|e| rox_error(&args.spec, &e))?.len() as u64);
        }
    }
    DatasetInfo::new(&args.spec, shards, sizes).print(args.json)
}

fn print_info(stdout: &mut Stdout, info: &DatasetInfo) -> Result {
    let total = format!(
        "total ({} shard{})",
        info.shards.len(),
        if info.shards.len() == 1 { "" } else { "s" }
    );
    let width = info
        .shards
        .iter()
        .map(|s| s.path.chars().count())
        .chain([total.len()])
        .max()
        .unwrap_or(5);
    stdout.line(format!("dataset {}", info.spec))?;
    stdout.line(format!(
        "{:<width$}  {:<8}  {:<8}  {:>12}  {:>14}  {}",
        "shard", "footer", "dtype", "records", "bytes", "sidecar"
    ))?;
    for shard in &info.shards {
        stdout.line(format!(
            "{:<width$}  {:<8}  {:<8}  {:>12}  {:>14}  {}",
            shard.path,
            shard.footer,
            shard.dtype.as_deref().unwrap_or("-"),
            shard.records,
            shard.bytes,
            sidecar_column(shard)
        ))?;
    }
    stdout.line(format!(
        "{total:<width$}  {:<8}  {:<8}  {:>12}  {:>14}",
        "", "", info.records, info.bytes
    ))?;
    stdout.line(format!(
        "payload {} bytes, index and footers {} bytes",
        info.payload_bytes,
        info.bytes - info.payload_bytes
    ))?;
    for shard in info.shards.iter().filter(|s| s.pending_recovery) {
        stdout.line(pending_note(&shard.path, &info.spec))?;
    }
    for shard in &info.shards {
        if let Some(SidecarInfo::Error(err)) = &shard.sidecar {
            stdout.line(format!("note: {err}"))?;
        }
    }
    match info.record_size {
        Some(s) if info.record_size_sample < info.records => stdout.line(format!(
            "record size ({} records sampled in {SAMPLE_RUNS} evenly spaced runs): min {}, median {}, max {} bytes",
            info.record_size_sample, s.min, s.median, s.max
        )),
        Some(s) => stdout.line(format!(
            "record size: min {}, median {}, max {} bytes",
            s.min, s.median, s.max
        )),
        None => stdout.line("record size: no records"),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// get, cat

fn get(args: &RoxGetArgs) -> Result {
    if let Some(done) = crate::remote::rox_get(args) {
        return done;
    }
    let dataset = open(&args.spec)?;
    let records = args
        .indexes
        .iter()
        .map(|&index| {
            dataset
                .get_signed(index)
                .map_err(|e| rox_error(&args.spec, &e))
        })
        .collect::<Result<Vec<&[u8]>>>()?;
    print_got(args, &records)
}

/// Prints what `rox get` read (from a local or a remote dataset): JSON, hex dumps, or the values separated.
pub(crate) fn print_got<R: AsRef<[u8]>>(args: &RoxGetArgs, records: &[R]) -> Result {
    let mut stdout = Stdout::new();
    if args.json {
        let values: Vec<GetJson> = records
            .iter()
            .zip(&args.indexes)
            .map(|(record, &index)| GetJson {
                index,
                value: base64(record.as_ref()),
            })
            .collect();
        stdout.json(&values)?;
        return stdout.flush();
    }
    let sep = default_separator(args.sep, records.len());
    for (record, &index) in records.iter().zip(&args.indexes) {
        let record = record.as_ref();
        if args.hex {
            stdout.line(format!("record {index}: {} bytes", record.len()))?;
            stdout.hexdump(record)?;
        } else {
            stdout.separated(record, sep, Path::new(&args.spec))?;
        }
    }
    stdout.flush()
}

/// One record of `rox get --json`.
#[derive(Debug, Serialize)]
struct GetJson {
    /// The index as given (negative counts from the end).
    index: i64,
    /// The record, in base64.
    value: String,
}

/// Parses `A..B` (either end optional, negative counts from the end) against `len` records.
/// A malformed range is a usage error; a range outside the dataset is about the data (exit 1, as for `get`).
pub(crate) fn parse_range(spec: &str, text: &str, len: u64) -> Result<(u64, u64)> {
    let bad = || {
        Error::usage(format!(
            "--range {text:?}: expected A..B, A.., ..B (integers)"
        ))
    };
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    let end_of = |part: &str, default: u64| -> Result<Option<u64>> {
        if part.is_empty() {
            return Ok(Some(default));
        }
        let value: i64 = part.trim().parse().map_err(|_| bad())?;
        Ok(if value < 0 {
            len.checked_sub(value.unsigned_abs())
        } else {
            Some(value.unsigned_abs())
        })
    };
    match (end_of(a, 0)?, end_of(b, len)?) {
        (Some(start), Some(end)) if start <= end && end <= len => Ok((start, end)),
        _ => Err(Error::data(
            Path::new(spec),
            format!(
                "--range {text} is not within its {len} records (A <= B <= {len}, negative ends count from the end)"
            ),
        )),
    }
}

fn cat(args: &CatArgs) -> Result {
    if let Some(done) = crate::remote::rox_cat(args) {
        return done;
    }
    let dataset = open(&args.spec)?;
    let (start, end) = match &args.range {
        Some(text) => parse_range(&args.spec, text, dataset.len())?,
        None => (0, dataset.len()),
    };
    let records = dataset
        .range(start..end)
        .map_err(|e| rox_error(&args.spec, &e))?;
    let mut stdout = Stdout::new();
    for record in records {
        let record = record.map_err(|e| rox_error(&args.spec, &e))?;
        stdout.separated(record, args.sep, Path::new(&args.spec))?;
    }
    stdout.flush()
}

// ---------------------------------------------------------------------------------------------------------------
// verify, recover, unpack

/// `rox verify --json`.
#[derive(Debug, Serialize)]
struct VerifyJson {
    ok: bool,
    spec: String,
    /// Shards found, damaged ones included.
    shards: u64,
    /// Records in the shards that could be opened.
    records: u64,
    /// Bytes of the shards that could be opened.
    bytes: u64,
    /// Records whose bytes were checked against a `.crc` sidecar.
    checksummed_records: u64,
    /// Shards with a `.crc` sidecar.
    sidecars: u64,
    short_sidecars: Vec<ShortSidecarJson>,
    /// Shards with an interrupted write pending (checked as they were before it).
    pending_recovery: Vec<String>,
    errors: Vec<Problem>,
}

/// A sidecar that covers only the first records of its shard, in [`VerifyJson`].
#[derive(Debug, Serialize)]
struct ShortSidecarJson {
    shard: String,
    covered: u64,
    records: u64,
}

/// The file and byte offset a roxxel error is about, when it says.
fn location(err: &roxxel::Error) -> (Option<&Path>, Option<u64>) {
    use roxxel::Error as E;
    match err {
        E::BadMagic { file, offset, .. }
        | E::NegativeFooterField { file, offset, .. }
        | E::BadIndexEntry { file, offset, .. }
        | E::IndexEndMismatch { file, offset, .. }
        | E::BadJournal { file, offset, .. }
        | E::ChecksumMismatch { file, offset, .. }
        | E::BadChecksums { file, offset, .. }
        | E::StaleChecksums { file, offset, .. } => (Some(file), Some(*offset)),
        E::SizeMismatch {
            file,
            footer_offset,
            ..
        } => (Some(file), Some(*footer_offset)),
        E::Io { file, .. }
        | E::NotRegularFile { file, .. }
        | E::TooSmall { file, .. }
        | E::Uncommitted { file, .. }
        | E::TooLarge { file, .. } => (Some(file), None),
        _ => (None, None),
    }
}

/// A roxxel error about `file` as a line for stderr and an entry of `errors`.
fn problem(file: &Path, err: &roxxel::Error) -> (Error, Problem) {
    let (at, offset) = location(err);
    let error = Error::from_lib(file, err);
    let problem = Problem::new(at.unwrap_or(file), offset, &error);
    (error, problem)
}

/// Prints the errors of a failed verify, one line each on stderr, and returns the last one (printed by `main`).
fn fail(mut bad: Vec<(Error, Problem)>) -> Result {
    let Some((last, _)) = bad.pop() else {
        return Ok(());
    };
    for (err, _) in &bad {
        eprintln!("error: {err}");
    }
    Err(last)
}

fn verify(args: &SpecJsonArgs) -> Result {
    if let Some(done) = crate::remote::rox_verify(args) {
        return done;
    }
    let opened = Dataset::options()
        .skip_invalid(true)
        .open(args.spec.as_str());
    let dataset = match opened {
        Ok(dataset) => dataset,
        Err(err) => {
            let bad = problem(Path::new(&args.spec), &err);
            if args.json {
                let mut stdout = Stdout::new();
                stdout.json(&VerifyJson {
                    ok: false,
                    spec: args.spec.clone(),
                    shards: 0,
                    records: 0,
                    bytes: 0,
                    checksummed_records: 0,
                    sidecars: 0,
                    short_sidecars: Vec::new(),
                    pending_recovery: Vec::new(),
                    errors: vec![bad.1.clone()],
                })?;
                stdout.flush()?;
            }
            return fail(vec![bad]);
        }
    };
    let mut bad = Vec::new();
    for skipped in dataset.skipped() {
        bad.push(problem(&skipped.path, &skipped.error));
    }
    let total_bytes: u64 = dataset
        .shards()
        .iter()
        .map(|s| s.footer().file_len().unwrap_or(0))
        .sum();
    let progress = Progress::new("verifying", Some(dataset.shards().len() as u64));
    let mut done = 0;
    let mut checked = Verification::default();
    for shard in dataset.shards() {
        match shard.verify_detailed() {
            Ok(report) => checked.absorb(report),
            Err(err) => bad.push(problem(shard.path(), &err)),
        }
        done += shard.footer().file_len().unwrap_or(0);
        progress.advance(1, done.min(total_bytes));
    }
    progress.finish();
    let shards = dataset.shards().len() + dataset.skipped().len();
    let pending: Vec<String> = dataset
        .shards()
        .iter()
        .filter(|s| s.is_rolled_back_view())
        .map(|s| s.path().display().to_string())
        .collect();
    let mut stdout = Stdout::new();
    if args.json {
        stdout.json(&VerifyJson {
            ok: bad.is_empty(),
            spec: args.spec.clone(),
            shards: shards as u64,
            records: dataset.len(),
            bytes: total_bytes,
            checksummed_records: checked.checksummed,
            sidecars: checked.sidecars,
            short_sidecars: checked
                .short_sidecars
                .iter()
                .map(|short| ShortSidecarJson {
                    shard: short.shard.display().to_string(),
                    covered: short.covered,
                    records: short.records,
                })
                .collect(),
            pending_recovery: pending,
            errors: bad.iter().map(|(_, problem)| problem.clone()).collect(),
        })?;
        stdout.flush()?;
        return fail(bad);
    }
    if !bad.is_empty() {
        return fail(bad);
    }
    for shard in &pending {
        stdout.line(pending_note(shard, &args.spec))?;
    }
    for short in &checked.short_sidecars {
        stdout.line(format!(
            "note: {}: its .crc sidecar covers only the first {} of its {} records (the others were appended \
             without checksums, e.g. by Python roxxel); they were checked against the index only",
            short.shard.display(),
            short.covered,
            short.records
        ))?;
    }
    let sidecars = if checked.sidecars == 0 {
        "no .crc sidecars, so record bytes were not checksummed".to_owned()
    } else {
        format!(
            "{} of {} records checked against .crc sidecars ({} of {} shards have one)",
            checked.checksummed, checked.records, checked.sidecars, checked.shards
        )
    };
    stdout.line(format!(
        "ok: {}: {} records in {} shard{}, {} checked; {sidecars}",
        args.spec,
        dataset.len(),
        shards,
        if shards == 1 { "" } else { "s" },
        size(total_bytes)
    ))?;
    stdout.flush()
}

/// The note shown for a shard whose interrupted append has not been rolled back on disk yet.
fn pending_note(shard: &str, spec: &str) -> String {
    format!(
        "note: {shard}: an interrupted write is pending; it is read as it was before that write, and \
         `byteshelf rox recover {spec}` makes that permanent"
    )
}

fn recover(args: &SpecArgs) -> Result {
    let spec = DatasetSpec::from(args.spec.as_str());
    // A plain path that is not a directory may name a file that no longer exists (the base of a sharded
    // dataset, a shard whose creation was interrupted): recover it as it is.
    let targets = match &spec {
        DatasetSpec::Path(path) if !path.is_dir() => vec![path.clone()],
        _ => spec.resolve().map_err(|e| rox_error(&args.spec, &e))?,
    };
    let mut total = Recovery::default();
    for target in &targets {
        let done = roxxel::recover(target).map_err(|e| Error::from_lib(target, &e))?;
        for (from, to) in [
            (done.journals, &mut total.journals),
            (done.restored, &mut total.restored),
            (done.removed, &mut total.removed),
        ] {
            for path in from {
                if !to.contains(&path) {
                    to.push(path);
                }
            }
        }
    }
    let mut stdout = Stdout::new();
    if total.is_clean() {
        stdout.line(format!("{}: nothing to recover", args.spec))?;
    } else {
        for journal in &total.journals {
            stdout.line(format!(
                "rolled back the interrupted write of journal {}",
                journal.display()
            ))?;
        }
        for path in &total.restored {
            stdout.line(format!("restored {}", path.display()))?;
        }
        for path in &total.removed {
            stdout.line(format!("removed {}", path.display()))?;
        }
    }
    stdout.flush()
}

fn unpack(args: &UnpackArgs) -> Result {
    let dataset = open(&args.spec)?;
    fs::create_dir_all(&args.dir).map_err(|e| Error::io(&args.dir, &e))?;
    let width = dataset.len().saturating_sub(1).to_string().len();
    let progress = Progress::new("unpacking", Some(dataset.len()));
    let mut bytes = 0u64;
    for (index, record) in dataset.iter().enumerate() {
        let record = record.map_err(|e| rox_error(&args.spec, &e))?;
        let path = args.dir.join(format!("{index:0width$}"));
        write_new(&path, record)?;
        bytes += record.len() as u64;
        progress.advance(1, bytes);
    }
    progress.finish();
    let mut stdout = Stdout::new();
    stdout.line(format!(
        "unpacked {} records ({}) into {}",
        dataset.len(),
        size(bytes),
        args.dir.display()
    ))?;
    stdout.flush()
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, bytes: &[u8]) -> Result {
    use std::io::Write as _;
    let mut file = File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::io(path, &e))?;
    file.write_all(bytes).map_err(|e| Error::io(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("d", "2..5", 10).ok(), Some((2, 5)));
        assert_eq!(parse_range("d", "..", 10).ok(), Some((0, 10)));
        assert_eq!(parse_range("d", "-3..", 10).ok(), Some((7, 10)));
        assert_eq!(parse_range("d", "..-1", 10).ok(), Some((0, 9)));
        assert!(parse_range("d", "5..2", 10).is_err());
        assert!(parse_range("d", "0..11", 10).is_err());
        assert!(parse_range("d", "-11..", 10).is_err());
        assert!(parse_range("d", "x..2", 10).is_err());
        assert!(parse_range("d", "3", 10).is_err());
    }
}

//! The command line, as clap derive definitions. Command, argument and option names are stable: scripts
//! depend on them (see `docs/cli.md`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::fsutil::DEFAULT_MAX_RECORD_BYTES;

/// Create, inspect, check and repair byteshelf files: Roxxel datasets, MapBuffers and sparse indexes.
///
/// Exit status: 0 on success, 1 when a file is bad, unreadable or lacks what was asked for, 2 for a bad command
/// line.
#[derive(Debug, Parser)]
#[command(name = "byteshelf", version, about, long_about = None)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Roxxel datasets: pack, inspect, read, check, repair, unpack.
    #[command(subcommand)]
    Rox(RoxCommand),
    /// MapBuffer files (u64 key → bytes): build, inspect, read, check.
    #[command(subcommand)]
    Map(MapCommand),
    /// Sparse-index files (block first key → offset), byteshelf's format or the Python reference's.
    #[command(subcommand)]
    Index(IndexCommand),
    /// Walk through every byteshelf crate on generated data in a temporary directory, with measured figures.
    Tour(TourArgs),
}

/// `byteshelf rox ...`. `SPEC` is a shard file, a directory of `*.rox` shards, or a glob pattern (quote it).
#[derive(Debug, Subcommand)]
pub(crate) enum RoxCommand {
    /// Write a new dataset: one record per input file, or per line of `--lines`.
    Pack(PackArgs),
    /// Shards, footers, dtypes, record counts, sizes; totals; record size min/median/max.
    Info(SpecJsonArgs),
    /// Write records to stdout, one per line when several are asked (negative indexes count from the end).
    Get(RoxGetArgs),
    /// Write records to stdout, separated as `--sep` says.
    Cat(CatArgs),
    /// Check every shard completely, and its records against its `.crc` sidecar if it has one; exit 1 naming the
    /// file and byte offset of the first problem in each.
    Verify(SpecJsonArgs),
    /// Complete the rollback of an interrupted write, leaving the dataset as it was before that write.
    Recover(SpecArgs),
    /// Write each record to its own file in DIR, named by its zero-padded index.
    Unpack(UnpackArgs),
}

/// `byteshelf rox pack`.
#[derive(Debug, Args)]
pub(crate) struct PackArgs {
    /// The dataset to write: a shard file, or with `--max-shard-bytes` the base of `OUT_0000.rox`, ... (a
    /// trailing `.rox` is dropped).
    pub(crate) out: PathBuf,
    /// Files to store, one record each; directories are walked recursively in sorted order.
    #[arg(conflicts_with = "lines", required_unless_present = "lines")]
    pub(crate) paths: Vec<PathBuf>,
    /// Split the dataset into shards of at most this many bytes each (Python roxxel's rule).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_shard_bytes: Option<u64>,
    /// The footer of new shards: `02` (the default; what roxxel 0.4 to 0.9.14 read) or `01` (roxxel 0.1.0 to
    /// 0.3, which know no other). Appends keep the footer a shard already has.
    #[arg(long, value_enum)]
    pub(crate) footer: Option<FooterArg>,
    /// The dtype recorded in a ROXXEL02 footer, e.g. `uint8`, `float32` (implies `--footer 02`).
    #[arg(long, value_name = "T")]
    pub(crate) dtype: Option<String>,
    /// Read records from the lines of FILE (`-` for stdin), each without its newline.
    #[arg(long, value_name = "FILE")]
    pub(crate) lines: Option<PathBuf>,
    /// Add the records to an existing dataset instead of refusing to touch it.
    #[arg(long)]
    pub(crate) append: bool,
    /// The largest record read (an input file, or a line of `--lines`), in bytes (default 64 MiB).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_RECORD_BYTES,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_record_bytes: u64,
    /// Also write a checksum sidecar `<shard>.crc` (a CRC-32C per record) next to every shard written, so that
    /// `rox verify` catches flipped bits; the shards stay as Python roxxel writes them, and it ignores the sidecars.
    #[arg(long)]
    pub(crate) checksums: bool,
}

/// The footer kinds `--footer` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FooterArg {
    /// ROXXEL01: record count and payload size.
    #[value(name = "01")]
    V01,
    /// ROXXEL02: record count, payload size and dtype.
    #[value(name = "02")]
    V02,
}

/// A dataset spec alone.
#[derive(Debug, Args)]
pub(crate) struct SpecArgs {
    /// A shard file, a directory of shards, a glob pattern, or the path a sharded dataset was written to
    /// (`ds.rox` for `ds_*.rox`).
    pub(crate) spec: String,
}

/// A dataset spec and `--json`.
#[derive(Debug, Args)]
pub(crate) struct SpecJsonArgs {
    /// A shard file, a directory of shards, a glob pattern, or the path a sharded dataset was written to.
    pub(crate) spec: String,
    /// Print one JSON document instead of text (fields in docs/cli.md).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `byteshelf rox get`.
#[derive(Debug, Args)]
pub(crate) struct RoxGetArgs {
    /// A shard file, a directory of shards, a glob pattern, or the path a sharded dataset was written to.
    pub(crate) spec: String,
    /// Record indexes; -1 is the last record.
    #[arg(required = true, allow_negative_numbers = true)]
    pub(crate) indexes: Vec<i64>,
    /// Print a hexdump of each record instead of its raw bytes.
    #[arg(long, conflicts_with_all = ["sep", "json"])]
    pub(crate) hex: bool,
    /// What follows or precedes each record (default: `none` for one index, so that `> file` is byte-exact,
    /// `newline` for several).
    #[arg(long, value_enum, conflicts_with = "json")]
    pub(crate) sep: Option<Separator>,
    /// Print a JSON array of `{"index", "value"}` objects, values in base64 (fields in docs/cli.md).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `byteshelf rox cat`.
#[derive(Debug, Args)]
pub(crate) struct CatArgs {
    /// A shard file, a directory of shards, a glob pattern, or the path a sharded dataset was written to.
    pub(crate) spec: String,
    /// Only records A (included) to B (excluded); either end may be left out or negative (from the end).
    #[arg(long, value_name = "A..B", allow_hyphen_values = true)]
    pub(crate) range: Option<String>,
    /// What follows or precedes each record.
    #[arg(long, value_enum, default_value_t = Separator::Newline)]
    pub(crate) sep: Separator,
}

/// How `rox cat`, `rox get` and `map get` separate records or values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Separator {
    /// Each record followed by a newline.
    Newline,
    /// Records back to back.
    None,
    /// Each record preceded by its length as a u32, little-endian.
    U32le,
}

/// `byteshelf rox unpack`.
#[derive(Debug, Args)]
pub(crate) struct UnpackArgs {
    /// A shard file, a directory of shards, a glob pattern, or the path a sharded dataset was written to.
    pub(crate) spec: String,
    /// The directory to write to (created if missing; existing files are never overwritten).
    pub(crate) dir: PathBuf,
}

/// `byteshelf map ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum MapCommand {
    /// Write a MapBuffer from files named by their decimal key, or from JSON lines.
    Build(BuildArgs),
    /// Write the values of keys to stdout, one per line when several are asked.
    Get(MapGetArgs),
    /// Format version, codec, key count, sizes, key range, stored value sizes.
    Info(FileJsonArgs),
    /// Check the whole file (header, index order, offsets, every CRC and compressed value).
    Verify(FileJsonArgs),
    /// Every key with its stored and value length and its CRC state.
    Dump(FileJsonArgs),
}

/// `byteshelf map build`.
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The MapBuffer file to write (replaced atomically if it exists).
    pub(crate) out: PathBuf,
    /// Files named by their decimal u64 key, holding the value; directories are walked recursively.
    #[arg(conflicts_with = "jsonl", required_unless_present_any = ["jsonl", "clean"])]
    pub(crate) paths: Vec<PathBuf>,
    /// How values are compressed.
    #[arg(long, value_enum, default_value_t = Compress::None)]
    pub(crate) compress: Compress,
    /// 1 stores a CRC-32C after each value (Python mapbuffer's default), 0 does not.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1), default_value_t = 1)]
    pub(crate) format_version: u8,
    /// Read entries from JSON lines `{"key": <u64>, "value": "<base64>"}` in FILE (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub(crate) jsonl: Option<PathBuf>,
    /// The largest input file (one value) or `--jsonl` line read, in bytes (default 64 MiB).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_RECORD_BYTES,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_record_bytes: u64,
    /// Only remove the temporary files (`.byteshelf-map-*.part`) that killed builds left next to OUT, and say
    /// which; the part files of builds still running are kept. Builds nothing.
    #[arg(long, conflicts_with_all = ["paths", "jsonl"])]
    pub(crate) clean: bool,
}

/// The codecs `--compress` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Compress {
    /// Stored as they are.
    None,
    /// gzip.
    Gzip,
    /// Brotli.
    Br,
    /// Zstandard.
    Zstd,
    /// xz (lzma).
    Lzma,
}

/// A file and `--json`.
#[derive(Debug, Args)]
pub(crate) struct FileJsonArgs {
    /// The file.
    pub(crate) file: PathBuf,
    /// Print JSON instead of text (fields in docs/cli.md).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `byteshelf map get`.
#[derive(Debug, Args)]
pub(crate) struct MapGetArgs {
    /// The MapBuffer file.
    pub(crate) file: PathBuf,
    /// Keys (decimal u64).
    #[arg(required = true)]
    pub(crate) keys: Vec<u64>,
    /// Print a hexdump of each value instead of its raw bytes.
    #[arg(long, conflicts_with_all = ["sep", "json"])]
    pub(crate) hex: bool,
    /// What follows or precedes each value (default: `none` for one key, so that `> file` is byte-exact,
    /// `newline` for several).
    #[arg(long, value_enum, conflicts_with = "json")]
    pub(crate) sep: Option<Separator>,
    /// Print a JSON array of `{"key", "value"}` objects, values in base64 (fields in docs/cli.md).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `byteshelf index ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum IndexCommand {
    /// Format, entry count, data end, first and last keys, key lengths.
    Info(FileJsonArgs),
    /// The block that may hold KEY: the last entry whose first key is <= KEY (with --ceil: the first >= KEY).
    Lookup(LookupArgs),
    /// Write an index from `KEY<TAB>OFFSET` lines, one per block, sorted by key.
    Build(IndexBuildArgs),
    /// Check the whole file (CRC and structure: keys and offsets ascending, lengths, data end).
    Verify(FileJsonArgs),
}

/// `byteshelf index build`.
#[derive(Debug, Args)]
pub(crate) struct IndexBuildArgs {
    /// The index file to write (replaced atomically if it exists).
    pub(crate) out: PathBuf,
    /// Read the entries from the lines of FILE (`-` for stdin): `KEY<TAB>OFFSET`, a block's first key and its
    /// decimal byte offset, keys strictly ascending in byte order, offsets too.
    #[arg(long, value_name = "FILE", required = true)]
    pub(crate) from_tsv: PathBuf,
    /// Each KEY is hex (e.g. `00ff10`), for binary keys; otherwise it is the line's bytes before the last tab.
    #[arg(long, alias = "key-hex")]
    pub(crate) hex_keys: bool,
    /// Where the last block ends (the length of the data), recorded so that lookups know the last block's end;
    /// unknown if not given.
    #[arg(long, value_name = "N")]
    pub(crate) data_end: Option<u64>,
    /// The layout: `v3` (the library's default: whole keys, a search head per 16 keys), `v1` (a head per key, for
    /// readers older than 0.2) or `v2` (prefix-compressed keys, smallest when keys share prefixes, slower to search).
    #[arg(long, value_enum, default_value_t = IndexFormatArg::V3)]
    pub(crate) format: IndexFormatArg,
}

/// The layouts `index build --format` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum IndexFormatArg {
    /// Version 1: keys stored whole.
    V1,
    /// Version 2: keys prefix-compressed, with a restart point every 16 entries.
    V2,
    /// Version 3: keys stored whole, a head for every 16th key (the library's default; smaller than v1).
    V3,
}

/// `byteshelf index lookup`.
#[derive(Debug, Args)]
pub(crate) struct LookupArgs {
    /// The sparse-index file.
    pub(crate) file: PathBuf,
    /// The key (its UTF-8 bytes, or hex with --key-hex).
    pub(crate) key: String,
    /// Find the first entry whose key is >= KEY instead.
    #[arg(long)]
    pub(crate) ceil: bool,
    /// KEY is hex (e.g. `00ff10`), for binary keys.
    #[arg(long)]
    pub(crate) key_hex: bool,
    /// Print JSON instead of text (fields in docs/cli.md).
    #[arg(long)]
    pub(crate) json: bool,
}

/// `byteshelf tour`.
#[derive(Debug, Args)]
pub(crate) struct TourArgs {
    /// How many records, keys and index blocks to generate.
    #[arg(long, default_value_t = 200_000, value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
    pub(crate) records: u64,
}

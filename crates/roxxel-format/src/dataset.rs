//! A dataset: one or more shards read as one sequence of records.

use std::ffi::OsStr;
use std::ops::{Range, RangeBounds};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::checksums::Verification;
use crate::core::Layout;
use crate::error::{Error, Result};
use crate::iter::Iter;
use crate::journal::Journal;
use crate::naming;
use crate::shard::Shard;

/// Which files make up a dataset.
///
/// Converting a string or path follows Python roxxel: text containing `*` or `?` is a glob pattern, anything
/// else one path. A path that is a directory means its `*.rox` files. A path that does not exist is taken as the
/// path a sharded dataset was written to, as roxxel ≥ 0.7 does: `ds.rox` means `ds_*.rox`, or else `ds*.rox`. A list of paths is used as given, in its
/// order. Files matched by a pattern or found in a directory are ordered by value of their digit runs, so
/// `ds_10000.rox` follows `ds_9999.rox`; hidden files (journals, temporary files) and checksum sidecars
/// (`*.rox.crc`) never match.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DatasetSpec {
    /// One shard file, or a directory of them.
    Path(PathBuf),
    /// A glob pattern (`*`, `?`, `[...]`), matched within path components.
    Pattern(String),
    /// These shard files in this order.
    Paths(Vec<PathBuf>),
}

impl DatasetSpec {
    fn from_text(text: &str) -> Self {
        if text.contains(['*', '?']) {
            Self::Pattern(text.to_owned())
        } else {
            Self::Path(PathBuf::from(text))
        }
    }

    /// The shard files this spec names, in dataset order.
    ///
    /// # Errors
    /// [`Error::NoShards`] when a pattern or directory yields no shard file, [`Error::BadPattern`] for a pattern
    /// that does not parse, [`Error::Io`] when a directory cannot be listed.
    pub fn resolve(&self) -> Result<Vec<PathBuf>> {
        let mut found = match self {
            Self::Paths(paths) => return Ok(paths.clone()),
            Self::Path(path) if path.exists() && !path.is_dir() => return Ok(vec![path.clone()]),
            Self::Path(path) if !path.exists() => match write_path_shards(path)? {
                Some(found) => found,
                // Nothing by that name: the open reports the missing file.
                None => return Ok(vec![path.clone()]),
            },
            Self::Path(dir) => {
                let mut found = Vec::new();
                for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
                    let entry = entry.map_err(|e| Error::io(dir, e))?;
                    let name = entry.file_name();
                    let is_shard = !naming::is_hidden(&name)
                        && Path::new(&name).extension() == Some(OsStr::new("rox"));
                    if is_shard && entry.path().is_file() {
                        found.push(entry.path());
                    }
                }
                found
            }
            Self::Pattern(pattern) => {
                let options = glob::MatchOptions {
                    case_sensitive: true,
                    require_literal_separator: true,
                    require_literal_leading_dot: true,
                };
                let paths = glob::glob_with(pattern, options).map_err(|e| Error::BadPattern {
                    pattern: pattern.clone(),
                    message: e.to_string(),
                })?;
                let mut found = Vec::new();
                for path in paths {
                    let path = path.map_err(|e| {
                        let file = e.path().to_path_buf();
                        Error::io(file, e.into())
                    })?;
                    // A pattern such as `ds_*` also matches the shards' checksum sidecars, which are not shards.
                    let is_sidecar = path.file_name().and_then(naming::sidecar_target).is_some();
                    if path.is_file() && !is_sidecar {
                        found.push(path);
                    }
                }
                found
            }
        };
        if found.is_empty() {
            return Err(Error::NoShards {
                spec: self.to_string(),
            });
        }
        found.sort_by(|a, b| naming::numeric_order(a, b));
        Ok(found)
    }

    fn excludes_uncommitted(&self) -> bool {
        match self {
            Self::Pattern(_) => true,
            Self::Path(path) => path.is_dir() || !path.exists(),
            Self::Paths(_) => false,
        }
    }
}

/// The shards of a dataset named by the path it was written to, as roxxel ≥ 0.7 finds them when that path does
/// not exist: `{stem}_*.rox`, else `{stem}*.rox` (`stem` is the path minus `.rox`), hidden files never included.
/// `None` when neither matches.
fn write_path_shards(path: &Path) -> Result<Option<Vec<PathBuf>>> {
    let stem = naming::shard_base(path);
    let Some(stem) = stem.to_str() else {
        return Ok(None);
    };
    let escaped = glob::Pattern::escape(stem);
    for suffix in ["_*.rox", "*.rox"] {
        let pattern = DatasetSpec::Pattern(format!("{escaped}{suffix}"));
        match pattern.resolve() {
            Ok(found) => return Ok(Some(found)),
            Err(Error::NoShards { .. }) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(None)
}

impl std::fmt::Display for DatasetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Path(path) => write!(f, "{}", path.display()),
            Self::Pattern(pattern) => write!(f, "pattern {pattern:?}"),
            Self::Paths(paths) => write!(f, "a list of {} paths", paths.len()),
        }
    }
}

impl From<&str> for DatasetSpec {
    fn from(text: &str) -> Self {
        Self::from_text(text)
    }
}

impl From<String> for DatasetSpec {
    fn from(text: String) -> Self {
        Self::from_text(&text)
    }
}

impl From<&Path> for DatasetSpec {
    fn from(path: &Path) -> Self {
        match path.to_str() {
            Some(text) => Self::from_text(text),
            None => Self::Path(path.to_path_buf()),
        }
    }
}

impl From<PathBuf> for DatasetSpec {
    fn from(path: PathBuf) -> Self {
        Self::from(path.as_path())
    }
}

impl From<&PathBuf> for DatasetSpec {
    fn from(path: &PathBuf) -> Self {
        Self::from(path.as_path())
    }
}

impl<P: AsRef<Path>> From<&[P]> for DatasetSpec {
    fn from(paths: &[P]) -> Self {
        Self::Paths(paths.iter().map(|p| p.as_ref().to_path_buf()).collect())
    }
}

impl<P: AsRef<Path>> From<Vec<P>> for DatasetSpec {
    fn from(paths: Vec<P>) -> Self {
        Self::from(paths.as_slice())
    }
}

/// How [`Dataset`]s are opened; see [`Dataset::options`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct OpenOptions {
    skip_invalid: bool,
    verify_checksums: bool,
}

impl OpenOptions {
    /// Default options: every shard must open.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Leave out shards that fail to open (zero-byte, footer-less, damaged, unreadable) instead of failing; they
    /// are listed in [`Dataset::skipped`].
    #[must_use]
    pub fn skip_invalid(mut self, skip: bool) -> Self {
        self.skip_invalid = skip;
        self
    }

    /// Check every record read ([`Dataset::get`], [`Dataset::iter`], ...) against the CRC-32C in its shard's `.crc`
    /// sidecar, when the shard has one ([`Error::ChecksumMismatch`] on a mismatch). The sidecars are read at open
    /// (4 bytes per record); a damaged or stale sidecar fails the open of its shard. Shards without a sidecar, and
    /// records appended after their sidecar was written, are read unchecked. Default: off.
    #[must_use]
    pub fn verify_checksums(mut self, verify: bool) -> Self {
        self.verify_checksums = verify;
        self
    }

    /// Opens the dataset `spec` names.
    ///
    /// # Errors
    /// See [`Dataset::open`].
    pub fn open(&self, spec: impl Into<DatasetSpec>) -> Result<Dataset> {
        let spec = spec.into();
        // Journals are read once for all shards, and again at the end: a writer that changed state in between
        // (committed, rolled back, crashed) could otherwise give some shards their old and some their new state.
        // A writer that commits, rolls back or crashes mid-open could otherwise give some shards their old and
        // some their new state, so the open is repeated until the listing and the journals are the same before
        // and after.
        for attempt in 0..OPEN_ATTEMPTS {
            if attempt > 2 {
                std::thread::sleep(std::time::Duration::from_millis(attempt.into()));
            }
            let paths = spec.resolve()?;
            let journals = read_journals(&paths)?;
            let mut shards = Vec::with_capacity(paths.len());
            let mut skipped = Vec::new();
            for path in &paths {
                let opened = Shard::open_with_journals(path, &journals).and_then(|shard| {
                    if self.verify_checksums {
                        shard.with_sidecar()
                    } else {
                        Ok(shard)
                    }
                });
                match opened {
                    Ok(shard) => shards.push(shard),
                    Err(Error::Uncommitted { .. }) if spec.excludes_uncommitted() => {}
                    Err(error) if self.skip_invalid => skipped.push(SkippedShard {
                        path: path.clone(),
                        error,
                    }),
                    Err(error) => return Err(error),
                }
            }
            if spec.resolve()? == paths && read_journals(&paths)? == journals {
                if shards.is_empty() && skipped.is_empty() {
                    // Every file belongs to an unfinished write: there is no dataset yet.
                    return Err(Error::NoShards {
                        spec: spec.to_string(),
                    });
                }
                let mut dataset = Dataset::from_shards(shards);
                dataset.skipped = skipped;
                return Ok(dataset);
            }
        }
        Err(Error::Unstable {
            spec: spec.to_string(),
        })
    }
}

/// How often [`OpenOptions::open`] tries to catch a consistent state while writers keep changing it.
const OPEN_ATTEMPTS: u32 = 40;

fn read_journals(paths: &[PathBuf]) -> Result<Vec<Journal>> {
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut journals = Vec::new();
    for path in paths {
        for candidate in naming::candidate_journals(path) {
            if seen.contains(&candidate) {
                continue;
            }
            if let Some(journal) = Journal::read(&candidate)? {
                journals.push(journal);
            }
            seen.push(candidate);
        }
    }
    Ok(journals)
}

/// A shard left out by [`OpenOptions::skip_invalid`], with the reason.
#[derive(Debug)]
pub struct SkippedShard {
    /// The file.
    pub path: PathBuf,
    /// Why it did not open.
    pub error: Error,
}

/// One or more shards read as one sequence of records.
///
/// Reading takes `&self` and the type is `Send + Sync`: share one dataset between threads with an `Arc` or
/// scoped threads.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("ds.rox");
/// use roxxel_format::{Dataset, WriterOptions};
///
/// let mut writer = WriterOptions::new().max_shard_bytes(64).open(&path)?;
/// writer.push_all(["alpha", "beta", "gamma", "delta"].iter().map(|s| s.as_bytes()))?;
/// writer.finish()?;
///
/// let dataset = Dataset::open(dir.path().join("ds_*.rox"))?;
/// assert_eq!(dataset.len(), 4);
/// assert_eq!(dataset.get(1)?, b"beta");
/// assert_eq!(dataset.get_signed(-1)?, b"delta");
/// let middle: Vec<&[u8]> = dataset.range(1..3)?.collect::<Result<_, _>>()?;
/// assert_eq!(middle, [&b"beta"[..], b"gamma"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Dataset<D = Mmap> {
    shards: Shards<D>,
    layout: Layout,
    skipped: Vec<SkippedShard>,
}

/// A dataset's shards. A lone shard is held inline, so [`Dataset::get`] finds its fields in the dataset itself,
/// one pointer hop fewer than through a `Vec`.
enum Shards<D> {
    One(Shard<D>),
    Many(Vec<Shard<D>>),
}

impl<D> Shards<D> {
    fn new(mut shards: Vec<Shard<D>>) -> Self {
        if shards.len() == 1
            && let Some(shard) = shards.pop()
        {
            return Self::One(shard);
        }
        Self::Many(shards)
    }

    #[inline]
    fn as_slice(&self) -> &[Shard<D>] {
        match self {
            Self::One(shard) => std::slice::from_ref(shard),
            Self::Many(shards) => shards,
        }
    }
}

impl<D> std::fmt::Debug for Dataset<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("len", &self.layout.len())
            .field("shards", &self.shards.as_slice())
            .field("skipped", &self.skipped)
            .finish()
    }
}

impl Dataset<Mmap> {
    /// Opens every shard `spec` names (a path, a directory, a glob pattern, or a list; see [`DatasetSpec`]).
    ///
    /// # Errors
    /// The first shard that fails to open, with its file name ([`OpenOptions::skip_invalid`] skips them
    /// instead), or [`Error::NoShards`] / [`Error::BadPattern`] from resolving the spec.
    pub fn open(spec: impl Into<DatasetSpec>) -> Result<Self> {
        OpenOptions::new().open(spec)
    }

    /// Options for opening, e.g. `Dataset::options().skip_invalid(true).open("data/*.rox")` or
    /// `Dataset::options().verify_checksums(true).open("data/*.rox")`.
    #[must_use]
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }
}

impl<D: AsRef<[u8]>> Dataset<D> {
    /// A dataset of these shards, in this order.
    #[must_use]
    pub fn from_shards(shards: Vec<Shard<D>>) -> Self {
        Self {
            layout: Layout::new(shards.iter().map(Shard::len)),
            shards: Shards::new(shards),
            skipped: Vec::new(),
        }
    }

    /// Total number of records.
    #[must_use]
    pub fn len(&self) -> u64 {
        self.layout.len()
    }

    /// Whether the dataset holds no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shards, in dataset order.
    #[must_use]
    pub fn shards(&self) -> &[Shard<D>] {
        self.shards.as_slice()
    }

    /// Shards left out by [`OpenOptions::skip_invalid`].
    #[must_use]
    pub fn skipped(&self) -> &[SkippedShard] {
        &self.skipped
    }

    /// Which shard holds record `index`, and its index within that shard.
    #[must_use]
    #[inline]
    pub fn locate(&self, index: u64) -> Option<(usize, u64)> {
        self.layout.locate(index)
    }

    /// Record `index`, zero-copy: O(1) within a shard, O(log shards) to find the shard.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`], or [`Error::BadIndexEntry`] naming the shard and offset of a bad entry.
    #[inline(always)]
    pub fn get(&self, index: u64) -> Result<&[u8]> {
        if let Shards::One(shard) = &self.shards {
            // One shard: its own range check is the dataset's.
            return shard.get(index);
        }
        self.get_sharded(index)
    }

    /// A `Copy` handle for reading many records by position in a loop: [`Records::get`] is [`get`](Self::get),
    /// but the handle holds a one-shard dataset's payload and checked offsets by value.
    ///
    /// Why it is faster: `get` on `&Dataset` reads the shard's payload and offsets from the dataset on every call,
    /// because a failed read's out-of-line error path could, as far as the compiler knows, change them. A handle
    /// kept in a local variable is the caller's own, so a loop keeps its fields in registers, as a hand-written
    /// loop over a map and an index does (`cargo xtask bench`, row `roxxel.get_records`).
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("data.rox");
    /// # let mut writer = roxxel_format::WriterOptions::new().open(&path)?;
    /// # for i in 0..10u8 { writer.push(&[i; 3])?; }
    /// # writer.finish()?;
    /// let dataset = roxxel_format::Dataset::open(path.as_path())?;
    /// let records = dataset.records();
    /// let mut sum = 0u64;
    /// for i in [3, 1, 4, 1, 5] {
    ///     sum += u64::from(records.get(i)?[0]);
    /// }
    /// assert_eq!(sum, 14);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn records(&self) -> Records<'_, D> {
        let fast = match self.shards.as_slice() {
            [shard] => shard.checked_offsets(0),
            _ => None,
        };
        Records {
            fast,
            dataset: self,
        }
    }

    /// [`get`](Self::get) in a dataset of several shards (out of line, so that `get` stays small enough to be
    /// inlined into the caller's loop).
    #[inline(never)]
    fn get_sharded(&self, index: u64) -> Result<&[u8]> {
        let (shard, local) = self.layout.locate_or_err(index)?;
        self.shards()[shard].get(local)
    }

    /// Turns a Python-style index (negative counts from the end: `-1` is the last record) into a position.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when it falls outside the dataset.
    pub fn resolve_index(&self, index: i64) -> Result<u64> {
        self.layout.resolve_index(index)
    }

    /// Record `index` with Python's negative indexing (`-1` is the last record).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    pub fn get_signed(&self, index: i64) -> Result<&[u8]> {
        self.get(self.resolve_index(index)?)
    }

    /// Many records at once, in the order asked.
    ///
    /// # Errors
    /// The first index that fails, as [`get`](Self::get).
    pub fn get_many(&self, indices: &[u64]) -> Result<Vec<&[u8]>> {
        indices.iter().map(|&i| self.get(i)).collect()
    }

    /// All records in order.
    #[must_use]
    pub fn iter(&self) -> Iter<'_, D> {
        Iter::new(self.shards(), 0, 0, self.len())
    }

    /// The records in `range`, in order.
    ///
    /// # Errors
    /// [`Error::IndexOutOfRange`] when the range does not lie within `0..len()`.
    pub fn range(&self, range: impl RangeBounds<u64>) -> Result<Iter<'_, D>> {
        let Range { start, end } = self.layout.bounds(range)?;
        Ok(match self.locate(start) {
            Some((shard, local)) => Iter::new(
                self.shards(),
                shard,
                usize::try_from(local).unwrap_or(usize::MAX),
                end - start,
            ),
            None => Iter::new(self.shards(), self.shards().len(), 0, 0),
        })
    }

    /// Checks every shard's whole index, and every record covered by a `.crc` sidecar against its CRC-32C
    /// ([`Shard::verify`]).
    ///
    /// # Errors
    /// The first problem found.
    pub fn verify(&self) -> Result<()> {
        self.shards().iter().try_for_each(Shard::verify)
    }

    /// [`verify`](Self::verify), saying how many records were checked against sidecars and which shards have a
    /// sidecar covering fewer records than they hold ([`Shard::verify_detailed`]).
    ///
    /// # Errors
    /// The first problem found.
    pub fn verify_detailed(&self) -> Result<Verification> {
        let mut report = Verification::default();
        for shard in self.shards() {
            report.absorb(shard.verify_detailed()?);
        }
        Ok(report)
    }
}

/// Records of a [`Dataset`] by position, from [`Dataset::records`]: a `Copy` handle for loops of many gets.
pub struct Records<'a, D = Mmap> {
    /// A one-shard dataset's payload and offsets, when they were checked at open (no per-read check left).
    fast: Option<(&'a [u8], &'a [usize])>,
    dataset: &'a Dataset<D>,
}

impl<D> Clone for Records<'_, D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D> Copy for Records<'_, D> {}

impl<D> std::fmt::Debug for Records<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("checked_at_open", &self.fast.is_some())
            .field("dataset", self.dataset)
            .finish()
    }
}

impl<'a, D: AsRef<[u8]>> Records<'a, D> {
    /// Record `index`, zero-copy: exactly [`Dataset::get`].
    ///
    /// # Errors
    /// As [`Dataset::get`].
    #[inline(always)]
    pub fn get(&self, index: u64) -> Result<&'a [u8]> {
        if let Some((payload, offsets)) = self.fast
            && let Some(record) = crate::shard::checked_record(payload, offsets, index)
        {
            return Ok(record);
        }
        get_outside_fast_path(self.dataset, index)
    }

    /// The number of records, as [`Dataset::len`].
    #[must_use]
    pub fn len(&self) -> u64 {
        self.dataset.len()
    }

    /// Whether there are no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.dataset.is_empty()
    }
}

/// [`Records::get`] past the fast path (several shards, an index that needs checks, attached checksums, or an
/// index out of range), out of line so the caller's loop stays small and keeps its registers.
#[cold]
#[inline(never)]
fn get_outside_fast_path<D: AsRef<[u8]>>(dataset: &Dataset<D>, index: u64) -> Result<&[u8]> {
    dataset.get(index)
}

impl<'a, D: AsRef<[u8]>> IntoIterator for &'a Dataset<D> {
    type Item = Result<&'a [u8]>;
    type IntoIter = Iter<'a, D>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

//! File names: shards (`{base}_{idx:04}.rox`), temporary files and journals (hidden, so no `*.rox` glob or
//! directory listing ever picks them up), and the numeric shard ordering.

use std::cmp::Ordering;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// The extension of shard files.
pub(crate) const EXTENSION: &str = ".rox";

/// `base` as Python roxxel derives it for sharding: the path minus a trailing `.rox`.
pub(crate) fn shard_base(path: &Path) -> PathBuf {
    let bytes = path.as_os_str().as_encoded_bytes();
    match bytes.strip_suffix(EXTENSION.as_bytes()) {
        Some(stem) => PathBuf::from(os_from_bytes(stem)),
        None => path.to_path_buf(),
    }
}

/// `{base}_{idx:04}.rox`, Python's `f"{base}_{idx:04d}.rox"`.
pub(crate) fn shard_path(base: &Path, idx: u64) -> PathBuf {
    let mut name = base.as_os_str().to_os_string();
    name.push(format!("_{idx:04}{EXTENSION}"));
    PathBuf::from(name)
}

/// Splits a shard file name `{base}_{digits}.rox` into `base` and the index.
pub(crate) fn parse_shard_name(name: &OsStr) -> Option<(OsString, u64)> {
    let bytes = name.as_encoded_bytes();
    let stem = bytes.strip_suffix(EXTENSION.as_bytes())?;
    let underscore = stem.iter().rposition(|&b| b == b'_')?;
    let digits = &stem[underscore + 1..];
    if digits.len() < 4 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let idx = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((os_from_bytes(&stem[..underscore]), idx))
}

/// The suffix of checksum sidecars, appended to the shard's name.
pub(crate) const SIDECAR_SUFFIX: &str = ".crc";

/// The checksum sidecar of a shard: `{shard}.crc` (`ds_0003.rox.crc`).
pub(crate) fn sidecar_path(shard: &Path) -> PathBuf {
    let mut name = shard.as_os_str().to_os_string();
    name.push(SIDECAR_SUFFIX);
    PathBuf::from(name)
}

/// The shard a sidecar name stands for: `X.rox` for `X.rox.crc`, `None` for other names.
pub(crate) fn sidecar_target(name: &OsStr) -> Option<&OsStr> {
    let bytes = name.as_encoded_bytes();
    let shard = bytes.strip_suffix(SIDECAR_SUFFIX.as_bytes())?;
    shard.ends_with(EXTENSION.as_bytes()).then_some(())?;
    os_str_slice(name, 0, shard.len())
}

/// The shard file a directory entry belongs to: a shard name itself, or the shard of a sidecar, a temporary
/// shard or a temporary sidecar (`.X.rox.tmp`, `X.rox.crc`, `.X.rox.crc.tmp` all give `X.rox`).
pub(crate) fn owning_shard(name: &OsStr) -> &OsStr {
    let name = temp_target(name).unwrap_or(name);
    sidecar_target(name).unwrap_or(name)
}

/// The hidden temporary name a new file is written under before it is renamed to `path`.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    hidden_sibling(path, ".tmp")
}

/// The file a temporary file name stands for: `X` for `.X.tmp` (see [`temp_path`]), `None` for other names.
pub(crate) fn temp_target(name: &OsStr) -> Option<&OsStr> {
    let bytes = name.as_encoded_bytes();
    let inner = bytes.strip_prefix(b".")?.strip_suffix(b".tmp")?;
    os_str_slice(name, 1, 1 + inner.len())
}

/// `name[start..end]` by encoded bytes, where both ends are next to ASCII bytes (off Unix, only for UTF-8 names).
fn os_str_slice(name: &OsStr, start: usize, end: usize) -> Option<&OsStr> {
    let text = name.to_str();
    match text {
        Some(text) => text.get(start..end).map(OsStr::new),
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::ffi::OsStrExt;
                Some(OsStr::from_bytes(&name.as_encoded_bytes()[start..end]))
            }
            #[cfg(not(unix))]
            {
                None
            }
        }
    }
}

/// The hidden journal of writes to the dataset whose shard base (or single file minus `.rox`) is `base`.
pub(crate) fn journal_path(base: &Path) -> PathBuf {
    hidden_sibling(base, ".roxjournal")
}

/// The journals that may describe `shard`: the one of its own stem (single-file writes) and, for a name
/// `{b}_{idx}.rox`, the one of `b` (sharded writes).
pub(crate) fn candidate_journals(shard: &Path) -> Vec<PathBuf> {
    let mut out = vec![journal_path(&shard_base(shard))];
    if let Some((base, _)) = shard.file_name().and_then(parse_shard_name) {
        out.push(journal_path(&shard.with_file_name(base)));
    }
    out
}

fn hidden_sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_else(|| OsStr::new("dataset")));
    name.push(suffix);
    path.with_file_name(name)
}

pub(crate) fn os_from_bytes(bytes: &[u8]) -> OsString {
    // `as_encoded_bytes` of an OsStr, cut at an ASCII boundary, is valid for `from_encoded_bytes_unchecked`,
    // but that is `unsafe`; going through a lossless platform conversion keeps this module safe.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        OsStr::from_bytes(bytes).to_os_string()
    }
    #[cfg(not(unix))]
    {
        OsString::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// Orders paths so that runs of digits compare by value: `ds_9999.rox` < `ds_10000.rox`, `a2` < `a10`.
/// Equal values with different zero padding fall back to plain byte order, so the order is total.
pub(crate) fn numeric_order(a: &Path, b: &Path) -> Ordering {
    let (x, y) = (
        a.as_os_str().as_encoded_bytes(),
        b.as_os_str().as_encoded_bytes(),
    );
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        if x[i].is_ascii_digit() && y[j].is_ascii_digit() {
            let run = |s: &[u8], mut k: usize| {
                let start = k;
                while k < s.len() && s[k].is_ascii_digit() {
                    k += 1;
                }
                (start, k)
            };
            let ((xs, xe), (ys, ye)) = (run(x, i), run(y, j));
            let trim = |s: &[u8]| {
                let zeros = s.iter().take_while(|&&d| d == b'0').count();
                s[zeros..].to_vec()
            };
            let (xv, yv) = (trim(&x[xs..xe]), trim(&y[ys..ye]));
            let by_value = xv.len().cmp(&yv.len()).then_with(|| xv.cmp(&yv));
            if by_value != Ordering::Equal {
                return by_value;
            }
            i = xe;
            j = ye;
        } else {
            match x[i].cmp(&y[j]) {
                Ordering::Equal => {
                    i += 1;
                    j += 1;
                }
                other => return other,
            }
        }
    }
    (x.len() - i).cmp(&(y.len() - j)).then_with(|| x.cmp(y))
}

/// Whether a file name is hidden (starts with `.`), as temporary files and journals are.
pub(crate) fn is_hidden(name: &OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_order_puts_10000_after_9999() {
        let mut v: Vec<PathBuf> = [
            "d/ds_10000.rox",
            "d/ds_9999.rox",
            "d/ds_0001.rox",
            "d/ds_0000.rox",
        ]
        .into_iter()
        .map(PathBuf::from)
        .collect();
        v.sort_by(|a, b| numeric_order(a, b));
        assert_eq!(
            v,
            [
                "d/ds_0000.rox",
                "d/ds_0001.rox",
                "d/ds_9999.rox",
                "d/ds_10000.rox"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn names() {
        assert_eq!(shard_base(Path::new("a/ds.rox")), Path::new("a/ds"));
        assert_eq!(shard_base(Path::new("a/big")), Path::new("a/big"));
        assert_eq!(shard_path(Path::new("a/ds"), 3), Path::new("a/ds_0003.rox"));
        assert_eq!(
            shard_path(Path::new("ds"), 12345),
            Path::new("ds_12345.rox")
        );
        assert_eq!(
            parse_shard_name(OsStr::new("ds_x_0012.rox")),
            Some((OsString::from("ds_x"), 12))
        );
        assert_eq!(parse_shard_name(OsStr::new("ds_12.rox")), None);
        assert_eq!(temp_path(Path::new("a/ds.rox")), Path::new("a/.ds.rox.tmp"));
        assert_eq!(
            temp_target(OsStr::new(".ds_0003.rox.tmp")),
            Some(OsStr::new("ds_0003.rox"))
        );
        assert_eq!(temp_target(OsStr::new("ds_0003.rox")), None);
        assert_eq!(temp_target(OsStr::new(".tmp")), None);
        assert_eq!(
            sidecar_path(Path::new("a/ds_0003.rox")),
            Path::new("a/ds_0003.rox.crc")
        );
        assert_eq!(
            sidecar_target(OsStr::new("ds_0003.rox.crc")),
            Some(OsStr::new("ds_0003.rox"))
        );
        assert_eq!(sidecar_target(OsStr::new("notes.crc")), None);
        for name in [
            ".ds_0003.rox.crc.tmp",
            "ds_0003.rox.crc",
            ".ds_0003.rox.tmp",
            "ds_0003.rox",
        ] {
            assert_eq!(owning_shard(OsStr::new(name)), OsStr::new("ds_0003.rox"));
        }
        assert_eq!(
            candidate_journals(Path::new("a/ds_0002.rox")),
            [
                Path::new("a/.ds_0002.roxjournal"),
                Path::new("a/.ds.roxjournal")
            ]
        );
    }
}

//! Writing results to stdout: a buffered writer that turns a closed pipe into a quiet stop, JSON documents,
//! hexdumps, and the small formatting helpers (sizes, rates, escaped keys) shared by the commands.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Serialize;

use crate::cli::Separator;
use crate::error::{Error, Result};

/// Buffered stdout. Every write reports a closed pipe as [`Error::stdout`], which ends the command quietly.
#[derive(Debug)]
pub(crate) struct Stdout {
    inner: BufWriter<io::StdoutLock<'static>>,
}

impl Stdout {
    /// Locks stdout for the rest of the command.
    pub(crate) fn new() -> Self {
        Self {
            inner: BufWriter::with_capacity(1 << 16, io::stdout().lock()),
        }
    }

    /// Writes raw bytes.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> Result {
        self.inner.write_all(bytes).map_err(|e| Error::stdout(&e))
    }

    /// Writes `text` and a newline.
    pub(crate) fn line(&mut self, text: impl AsRef<str>) -> Result {
        self.bytes(text.as_ref().as_bytes())?;
        self.bytes(b"\n")
    }

    /// Writes `value` as pretty-printed JSON and a newline.
    pub(crate) fn json(&mut self, value: &impl Serialize) -> Result {
        serde_json::to_writer_pretty(&mut self.inner, value)
            .map_err(|e| Error::stdout(&e.into()))?;
        self.bytes(b"\n")
    }

    /// Writes `value` as one line of compact JSON (JSON Lines).
    pub(crate) fn json_line(&mut self, value: &impl Serialize) -> Result {
        serde_json::to_writer(&mut self.inner, value).map_err(|e| Error::stdout(&e.into()))?;
        self.bytes(b"\n")
    }

    /// Writes `value` as `sep` says: followed by a newline, alone, or after its length as a little-endian u32 (a
    /// value of 4 GiB or more is an error about `file`, where it comes from).
    pub(crate) fn separated(&mut self, value: &[u8], sep: Separator, file: &Path) -> Result {
        match sep {
            Separator::Newline => {
                self.bytes(value)?;
                self.bytes(b"\n")
            }
            Separator::None => self.bytes(value),
            Separator::U32le => {
                let len = u32::try_from(value.len()).map_err(|_| {
                    Error::data(
                        file,
                        format!(
                            "a value of {} bytes does not fit a u32 length prefix",
                            value.len()
                        ),
                    )
                })?;
                self.bytes(&len.to_le_bytes())?;
                self.bytes(value)
            }
        }
    }

    /// Writes a hexdump of `bytes` (see [`hexdump`]).
    pub(crate) fn hexdump(&mut self, bytes: &[u8]) -> Result {
        self.bytes(hexdump(bytes).as_bytes())
    }

    /// Flushes what is buffered; call once at the end of a command.
    pub(crate) fn flush(&mut self) -> Result {
        self.inner.flush().map_err(|e| Error::stdout(&e))
    }
}

/// The separator of `get` when `--sep` is not given: none for one value, so that `get FILE X > out` writes exactly
/// the value, a newline after each when there are several.
pub(crate) fn default_separator(sep: Option<Separator>, values: usize) -> Separator {
    sep.unwrap_or(if values == 1 {
        Separator::None
    } else {
        Separator::Newline
    })
}

/// Bytes as standard base64 with padding, as `map build --jsonl` reads them.
pub(crate) fn base64(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

/// The canonical hexdump (as `hexdump -C`): offset, 16 bytes in two groups of eight, and their printable ASCII,
/// one line per 16 bytes; an empty input gives no lines.
pub(crate) fn hexdump(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(16) * 78);
    for (row, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "{:08x} ", row * 16);
        for i in 0..16 {
            if i == 8 {
                out.push(' ');
            }
            match chunk.get(i) {
                Some(byte) => {
                    let _ = write!(out, " {byte:02x}");
                }
                None => out.push_str("   "),
            }
        }
        out.push_str("  |");
        out.extend(chunk.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            }
        }));
        out.push_str("|\n");
    }
    out
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// `bytes` as a quoted string with non-printable bytes escaped (`"key\x00"`), for showing binary keys.
pub(crate) fn quoted(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

/// A byte count for people: `512 B`, `1.5 KiB`, `10.0 MiB`, `2.3 GiB`.
pub(crate) fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Throughput of `bytes` in `elapsed`, e.g. `812.4 MiB/s`.
pub(crate) fn rate(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-9);
    let per_sec = bytes as f64 / secs;
    format!("{}/s", size(per_sec.min(u64::MAX as f64) as u64))
}

/// A count per second for people: `812/s`, `12.3 k/s`, `5.1 M/s`, `2.0 G/s` (decimal units, as counts are; `0/s`
/// for anything that is not a finite positive rate).
pub(crate) fn count_rate(per_sec: f64) -> String {
    const UNITS: [&str; 4] = ["k", "M", "G", "T"];
    if !per_sec.is_finite() || per_sec <= 0.0 {
        return "0/s".to_owned();
    }
    if per_sec < 999.5 {
        return format!("{per_sec:.0}/s");
    }
    let mut value = per_sec / 1000.0;
    let mut unit = 0;
    // 999.96 k would print as "1000.0 k": move up a unit before rounding can reach 1000.
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}/s", UNITS[unit])
}

/// Time per operation, e.g. `143 ns/op` or `2.1 µs/op`.
pub(crate) fn per_op(ops: u64, elapsed: Duration) -> String {
    let ns = elapsed.as_nanos() as f64 / ops.max(1) as f64;
    if ns < 10_000.0 {
        format!("{ns:.0} ns/op")
    } else if ns < 10_000_000.0 {
        format!("{:.1} µs/op", ns / 1000.0)
    } else {
        format!("{:.1} ms/op", ns / 1_000_000.0)
    }
}

/// A duration for people: `850 µs`, `12.3 ms`, `1.52 s`.
pub(crate) fn duration(elapsed: Duration) -> String {
    let us = elapsed.as_micros();
    if us < 1000 {
        format!("{us} µs")
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{:.2} s", elapsed.as_secs_f64())
    }
}

/// One problem in the `errors` list of `verify --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Problem {
    /// The file it is in.
    pub(crate) file: String,
    /// The byte offset in that file, when the check knows it.
    pub(crate) offset: Option<u64>,
    /// The error line (without `error: `), as printed on stderr.
    pub(crate) message: String,
}

impl Problem {
    /// The problem `err` in `file`, at `offset`.
    pub(crate) fn new(file: &Path, offset: Option<u64>, err: &Error) -> Self {
        Self {
            file: file.display().to_string(),
            offset,
            message: err.to_string(),
        }
    }
}

/// Minimum, lower median and maximum of some sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct SizeSummary {
    /// The smallest.
    pub(crate) min: u64,
    /// The lower median: element `(n - 1) / 2` in sorted order.
    pub(crate) median: u64,
    /// The largest.
    pub(crate) max: u64,
}

impl SizeSummary {
    /// The summary of `sizes` (reordered in place), `None` when there are none.
    pub(crate) fn of(sizes: &mut [u64]) -> Option<Self> {
        if sizes.is_empty() {
            return None;
        }
        let mid = (sizes.len() - 1) / 2;
        let (_, median, _) = sizes.select_nth_unstable(mid);
        let median = *median;
        let min = sizes.iter().copied().min()?;
        let max = sizes.iter().copied().max()?;
        Some(Self { min, median, max })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hexdump_layout() {
        let dump = hexdump(b"hello world\n\x00\xff and more");
        assert_eq!(
            dump,
            "00000000  68 65 6c 6c 6f 20 77 6f  72 6c 64 0a 00 ff 20 61  |hello world... a|\n\
             00000010  6e 64 20 6d 6f 72 65                              |nd more|\n"
        );
        assert_eq!(hexdump(b""), "");
    }

    #[test]
    fn sizes_and_summaries() {
        assert_eq!(size(512), "512 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(10 * 1024 * 1024), "10.0 MiB");
        let mut sizes = [5, 1, 9, 3];
        assert_eq!(
            SizeSummary::of(&mut sizes),
            Some(SizeSummary {
                min: 1,
                median: 3,
                max: 9
            })
        );
        assert_eq!(SizeSummary::of(&mut []), None);
        assert_eq!(quoted(b"a\x00\""), "\"a\\x00\\\"\"");
        assert_eq!(hex(b"\x01\xab"), "01ab");
    }

    #[test]
    fn rates_are_human() {
        assert_eq!(count_rate(5_055_721.585), "5.1 M/s");
        assert_eq!(count_rate(812.4), "812/s");
        assert_eq!(count_rate(999.4), "999/s");
        assert_eq!(count_rate(999.6), "1.0 k/s");
        assert_eq!(count_rate(12_345.0), "12.3 k/s");
        assert_eq!(count_rate(999_960.0), "1.0 M/s");
        assert_eq!(count_rate(2.0e9), "2.0 G/s");
        assert_eq!(count_rate(3.0e15), "3000.0 T/s");
        assert_eq!(count_rate(0.0), "0/s");
        assert_eq!(count_rate(f64::NAN), "0/s");
        assert_eq!(count_rate(f64::INFINITY), "0/s");
        assert_eq!(rate(12_900_000, Duration::from_secs(1)), "12.3 MiB/s");
        assert_eq!(rate(512, Duration::from_secs(1)), "512 B/s");
        assert_eq!(rate(3 << 30, Duration::from_secs(2)), "1.5 GiB/s");
    }
}

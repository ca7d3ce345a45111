//! The one error type of the command: what went wrong, in one line, and which exit status it means.
//!
//! Every failure ends as a single `error: ...` line on stderr that names the file and the reason, and an exit
//! status: 1 when a file is bad or cannot be read or written (or does not hold what was asked for), 2 when the
//! command line itself is wrong. A closed stdout (`byteshelf rox cat ... | head`) is not an error at all.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::Path;

/// Exit status for bad data, I/O failures and missing records or keys.
pub(crate) const EXIT_DATA: u8 = 1;
/// Exit status for a bad command line.
pub(crate) const EXIT_USAGE: u8 = 2;

/// What kind of failure an [`Error`] is, which decides the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A file is corrupt, unreadable or unwritable, or lacks the record or key asked for: exit 1.
    Data,
    /// The arguments are wrong: exit 2.
    Usage,
    /// The reader of stdout went away: stop quietly with exit 0.
    ClosedPipe,
}

/// A failure of a `byteshelf` command.
#[derive(Debug)]
pub(crate) struct Error {
    kind: Kind,
    message: String,
}

/// The result of a command.
pub(crate) type Result<T = (), E = Error> = std::result::Result<T, E>;

impl Error {
    /// A bad command line, described by `message`.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Usage,
            message: message.into(),
        }
    }

    /// A problem with `file`: `reason` is said after the file name.
    pub(crate) fn data(file: &Path, reason: impl fmt::Display) -> Self {
        Self {
            kind: Kind::Data,
            message: with_file(file, &reason.to_string()),
        }
    }

    /// A library error about `file`, with its whole chain of causes on one line.
    ///
    /// Library errors usually name the file themselves; the file is put in front only when they do not.
    pub(crate) fn from_lib(file: &Path, err: &(dyn StdError + 'static)) -> Self {
        Self {
            kind: Kind::Data,
            message: with_file(file, &chain(err)),
        }
    }

    /// An I/O error on `file`; a broken pipe on stdout becomes [`Kind::ClosedPipe`].
    pub(crate) fn io(file: &Path, err: &io::Error) -> Self {
        Self::from_lib(file, err)
    }

    /// An error writing to stdout: a closed pipe ends the command quietly, anything else is an I/O failure.
    pub(crate) fn stdout(err: &io::Error) -> Self {
        if err.kind() == io::ErrorKind::BrokenPipe {
            Self {
                kind: Kind::ClosedPipe,
                message: String::new(),
            }
        } else {
            Self {
                kind: Kind::Data,
                message: format!("<stdout>: {}", chain(err)),
            }
        }
    }

    /// The kind of failure.
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// The exit status this error ends the process with.
    pub(crate) fn exit_status(&self) -> u8 {
        match self.kind {
            Kind::Data => EXIT_DATA,
            Kind::Usage => EXIT_USAGE,
            Kind::ClosedPipe => 0,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// `err` and its sources, joined with `": "`, leaving out a source whose text the message already contains
/// (many errors print their source themselves). Line breaks become spaces: an error is one line.
fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    one_line(&message)
}

/// `reason` prefixed with `file` unless it names it already: at its start (also a file inside it, when `file` is a
/// directory: `data/a.rox: ...` for `data`), or as a word of its own (`cannot open data/a.rox: ...`), or quoted.
fn with_file(file: &Path, reason: &str) -> String {
    let name = file.display().to_string();
    let at_start = reason
        .strip_prefix(&name)
        .is_some_and(|rest| rest.starts_with([':', '/']));
    let as_word = [
        format!(" {name}:"),
        format!(" {name} "),
        format!("\"{name}\""),
    ]
    .iter()
    .any(|word| reason.contains(word.as_str()))
        || reason.ends_with(&format!(" {name}"));
    if !name.is_empty() && (at_start || as_word) {
        one_line(reason)
    } else {
        one_line(&format!("{name}: {reason}"))
    }
}

fn one_line(text: &str) -> String {
    if text.contains(['\n', '\r']) {
        text.split(['\n', '\r'])
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_is_named_once() {
        let file = Path::new("data/a.rox");
        let named = Error::data(file, "data/a.rox: bad footer");
        assert_eq!(named.to_string(), "data/a.rox: bad footer");
        let unnamed = Error::data(file, "bad footer");
        assert_eq!(unnamed.to_string(), "data/a.rox: bad footer");
        let inside = Error::data(Path::new("data"), "data/a.rox: bad footer");
        assert_eq!(inside.to_string(), "data/a.rox: bad footer");
        let lookalike = Error::data(Path::new("data"), "database gone");
        assert_eq!(lookalike.to_string(), "data: database gone");
        let within = Error::data(Path::new("/etc"), "cannot open /etc: not a map");
        assert_eq!(within.to_string(), "cannot open /etc: not a map");
        let last = Error::data(Path::new("x*.rox"), "no shards found for x*.rox");
        assert_eq!(last.to_string(), "no shards found for x*.rox");
        let quoted = Error::data(Path::new("x*.rox"), "no shards for pattern \"x*.rox\"");
        assert_eq!(quoted.to_string(), "no shards for pattern \"x*.rox\"");
    }

    #[test]
    fn sources_are_joined_without_repeats() {
        let inner = io::Error::other("disk on fire");
        let err = Error::io(Path::new("x"), &inner);
        assert_eq!(err.to_string(), "x: disk on fire");
        assert_eq!(err.exit_status(), EXIT_DATA);
    }

    #[test]
    fn messages_are_one_line() {
        let err = Error::data(Path::new("f"), "first\nsecond\r\n");
        assert_eq!(err.to_string(), "f: first second");
    }

    #[test]
    fn closed_pipe_is_quiet_success() {
        let err = Error::stdout(&io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(err.kind(), Kind::ClosedPipe);
        assert_eq!(err.exit_status(), 0);
        assert_eq!(Error::usage("bad").exit_status(), EXIT_USAGE);
    }
}

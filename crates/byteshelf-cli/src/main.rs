//! The `byteshelf` command: create, inspect, check and repair byteshelf files (Roxxel datasets, MapBuffers,
//! sparse indexes), and a tour of every byteshelf crate on generated data.
//!
//! Every failure is one `error: ...` line on stderr naming the file and the reason; the exit status is 0 on
//! success, 1 for bad data (or a missing record or key), 2 for a bad command line. The commands, their output and
//! their JSON fields are documented in `docs/cli.md`.
#![deny(missing_docs)]
// Denied, not forbidden: `fsutil::map_regular` memory-maps files (one `unsafe` call, with its SAFETY comment).
#![deny(unsafe_code)]

mod cli;
mod error;
mod fsutil;
mod index;
mod input;
mod map;
mod output;
mod progress;
mod remote;
mod rox;
mod tour;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::error::{EXIT_USAGE, Error, Kind};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if err.kind() != Kind::ClosedPipe {
                eprintln!("error: {err}");
            }
            ExitCode::from(err.exit_status())
        }
    }
}

fn run(command: Command) -> Result<(), Error> {
    match command {
        Command::Rox(command) => rox::run(command),
        Command::Map(command) => map::run(command),
        Command::Index(command) => index::run(command),
        Command::Tour(args) => tour::run(&args),
    }
}

/// Help and version go to stdout in full (exit 0); a missing command shows the help on stderr (exit 2); any
/// other usage error is one line (clap's first) with a pointer to `--help` (exit 2).
fn usage_error(err: &clap::Error) -> ExitCode {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        // Nothing useful can be done when printing help itself fails.
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    // clap's message is a first paragraph (what is wrong, possibly over several lines) and then tips and usage.
    let rendered = err.render().to_string();
    let first = rendered
        .trim_start()
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let first = first.strip_prefix("error: ").unwrap_or(&first);
    let first = if first.is_empty() {
        "bad command line"
    } else {
        first
    };
    if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // `byteshelf` or `byteshelf rox` alone: the help of that level, on stderr.
        let _ = err.print();
    } else {
        eprintln!("error: {first} (see `byteshelf --help`)");
    }
    ExitCode::from(EXIT_USAGE)
}

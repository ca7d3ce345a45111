//! The `byteshelf` command.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use clap::Parser;

/// Create, inspect, check and repair byteshelf files.
#[derive(Debug, Parser)]
#[command(name = "byteshelf", version, about)]
struct Cli {}

fn main() {
    let Cli {} = Cli::parse();
}

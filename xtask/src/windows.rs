//! The Windows build check of `cargo xtask ci`: `cargo check --target x86_64-pc-windows-gnu` of the default
//! umbrella and the CLI, so that no Unix-only API slips into code every platform builds. The target's standard
//! library comes from rustup and the C compiler the compression crates' build scripts need from Debian's
//! `gcc-mingw-w64-x86-64`; both are installed when missing. (The GitHub workflow also tests on Windows.)

use crate::cmd::{self, Result};
use crate::servers;

/// The target checked: the GNU ABI, since its C toolchain is a Debian package.
pub(crate) const TARGET: &str = "x86_64-pc-windows-gnu";

/// The MinGW C compiler the `cc` crate looks for when building for [`TARGET`].
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

/// Installs the target's standard library and the MinGW C compiler when missing, then checks the umbrella (with
/// its default features) and the CLI for [`TARGET`].
pub(crate) fn check() -> Result<()> {
    let installed = cmd::new("rustup", ["target", "list", "--installed"])
        .output()
        .map_err(|err| {
            format!("cannot run rustup (needed for the {TARGET} standard library): {err}")
        })?;
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == TARGET)
    {
        eprintln!(
            "the {TARGET} standard library is missing: installing it with rustup (once per machine)"
        );
        cmd::run(&mut cmd::new("rustup", ["target", "add", TARGET]))?;
    }
    if !cmd::available(MINGW_GCC, &["--version"]) {
        eprintln!("{MINGW_GCC} is missing: installing the Debian package (once per machine)");
        servers::apt(&["update", "-qq"])?;
        servers::apt(&["install", "-y", "-qq", "gcc-mingw-w64-x86-64"])?;
    }
    cmd::run(cmd::cargo().args([
        "check",
        "--target",
        TARGET,
        "-p",
        "byteshelf",
        "-p",
        "byteshelf-cli",
    ]))
}

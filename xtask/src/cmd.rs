//! Running commands: finding the workspace root and cargo, echoing and checking each command.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};

/// Errors of xtask: a human-readable line, with the failing command when there is one.
pub(crate) type Result<T> = std::result::Result<T, String>;

/// The workspace root (the parent of this crate's directory).
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Set by `cargo xtask ci`: every cargo it starts builds without incremental state (see [`one_shot_builds`]).
static ONE_SHOT: AtomicBool = AtomicBool::new(false);

/// From now on, cargo builds skip incremental compilation unless `CARGO_INCREMENTAL` says otherwise. A CI run
/// builds each crate once, so the incremental caches (close to a gigabyte for this workspace) only cost disk.
pub(crate) fn one_shot_builds() {
    ONE_SHOT.store(true, Ordering::Relaxed);
}

/// The cargo that runs us (`$CARGO`), so that toolchain overrides are honoured.
pub(crate) fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root());
    if ONE_SHOT.load(Ordering::Relaxed) && std::env::var_os("CARGO_INCREMENTAL").is_none() {
        command.env("CARGO_INCREMENTAL", "0");
    }
    command
}

/// A command built from a program and its arguments, run in the workspace root.
pub(crate) fn new<I, S>(program: impl AsRef<OsStr>, args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args).current_dir(root());
    command
}

/// A command as a shell-like line, for logs and error messages.
pub(crate) struct Shown<'a>(pub(crate) &'a Command);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (key, value) in self.0.get_envs() {
            if let Some(value) = value {
                write!(f, "{}={} ", key.to_string_lossy(), value.to_string_lossy())?;
            }
        }
        write!(f, "{}", Path::new(self.0.get_program()).display())?;
        for arg in self.0.get_args() {
            let arg = arg.to_string_lossy();
            if arg.contains(' ') {
                write!(f, " '{arg}'")?;
            } else {
                write!(f, " {arg}")?;
            }
        }
        Ok(())
    }
}

/// Runs a command with inherited stdio; an error names the command and its exit status.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    eprintln!("$ {}", Shown(command));
    let status = command
        .status()
        .map_err(|err| format!("could not start `{}`: {err}", Shown(command)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", Shown(command)))
    }
}

/// Whether a program can be started (`program --version` succeeds).
pub(crate) fn available(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|out| out.status.success())
}

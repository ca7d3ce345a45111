//! `cargo xtask servers`: installs the outside programs the tests run, once per machine.
//!
//! - nginx (Debian package) for object_store's HTTP store: installed with apt-get when `nginx` is missing.
//! - moto in server mode (pinned below) for object_store's S3 store: a venv at `target/remote/venv`.
//! - strace (Debian package) for the kill-point tests of the byteshelf CLI (`tests/it/killpoints.rs`), which
//!   kill `byteshelf rox pack` and `rox recover` at each of their writes, syncs, renames and unlinks: installed
//!   with apt-get when `strace` (or `$BYTESHELF_STRACE`) does not run.
//!
//! The remote tests (sparse-buffer, roxxel-format, mapbuffer, feature `object-store`) start and stop the servers
//! themselves on free ports; they look for them at these well-known places and fail with a pointer here when they
//! are missing, as do the kill-point tests without strace. Every step is skipped when already done, so
//! `cargo xtask ci` pays for them once.

use std::path::PathBuf;

use crate::cmd::{self, Result};
use crate::conformance::{self, Packages};

/// The S3-compatible server, pinned exactly: moto with its S3 backend and the Flask app behind `moto_server`.
/// (`moto[server]` would also pull every other AWS service's dependencies: 344 MB instead of 137 MB.)
const MOTO: &[&str] = &["moto[s3]==5.1.22", "flask==3.1.3", "flask-cors==6.0.5"];

/// Where the tests look for the nginx binary when `BYTESHELF_NGINX` is not set.
const NGINX: &str = "/usr/sbin/nginx";

/// `target/remote`, fixed (not `$CARGO_TARGET_DIR`): the tests find it from their manifest directory.
fn remote_dir() -> PathBuf {
    cmd::root().join("target").join("remote")
}

/// Installs nginx, moto and strace when missing.
pub(crate) fn ensure() -> Result<()> {
    ensure_nginx()?;
    ensure_moto()?;
    ensure_strace()
}

/// Runs `apt-get args...` non-interactively, through sudo unless we are root.
pub(crate) fn apt(args: &[&str]) -> Result<()> {
    let mut command = if is_root() {
        cmd::new("apt-get", [] as [&str; 0])
    } else {
        cmd::new("sudo", ["apt-get"])
    };
    command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    cmd::run(&mut command)
}

pub(crate) fn ensure_nginx() -> Result<()> {
    let nginx =
        std::env::var_os("BYTESHELF_NGINX").map_or_else(|| PathBuf::from(NGINX), PathBuf::from);
    if nginx.is_file() {
        return Ok(());
    }
    eprintln!("nginx is missing: installing the Debian package (once per machine)");
    apt(&["update", "-qq"])?;
    apt(&[
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "nginx-light",
    ])
    .or_else(|_| apt(&["install", "-y", "-qq", "--no-install-recommends", "nginx"]))
    .map_err(|err| {
        format!("{err}\n(the remote tests need nginx at {NGINX} or $BYTESHELF_NGINX)")
    })?;
    if nginx.is_file() {
        Ok(())
    } else {
        Err(format!(
            "nginx was installed but {} is not there",
            nginx.display()
        ))
    }
}

/// The strace the kill-point tests run: `$BYTESHELF_STRACE`, else `strace` on the `PATH`.
fn ensure_strace() -> Result<()> {
    let strace = std::env::var("BYTESHELF_STRACE").unwrap_or_else(|_| "strace".into());
    if cmd::available(&strace, &["-V"]) {
        return Ok(());
    }
    eprintln!("{strace} does not run: installing the strace Debian package (once per machine)");
    apt(&["update", "-qq"])?;
    apt(&["install", "-y", "-qq", "--no-install-recommends", "strace"]).map_err(|err| {
        format!("{err}\n(the kill-point tests of byteshelf-cli need strace on the PATH or $BYTESHELF_STRACE)")
    })?;
    if cmd::available(&strace, &["-V"]) {
        Ok(())
    } else {
        Err(format!(
            "strace was installed but `{strace} -V` does not run"
        ))
    }
}

fn is_root() -> bool {
    cmd::new("id", ["-u"])
        .output()
        .is_ok_and(|out| out.status.success() && out.stdout.trim_ascii() == b"0")
}

fn ensure_moto() -> Result<()> {
    let venv = remote_dir().join("venv");
    let python = conformance::find_python()?;
    conformance::ensure_venv_at(&python, &venv, Packages::Args(MOTO))?;
    let server = venv.join("bin").join("moto_server");
    if server.is_file() {
        Ok(())
    } else {
        Err(format!(
            "{} installed no {}",
            MOTO.join(" "),
            server.display()
        ))
    }
}

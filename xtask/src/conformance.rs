//! `cargo xtask conformance`: cross-implementation cases against the pinned Python reference packages.
//!
//! Each crate that has cases keeps them in `crates/<crate>/conformance/`:
//!
//! - `requirements-<env>.txt`: the pinned packages of one Python environment (a crate may need several, e.g. two
//!   releases of the same package). Each becomes a venv under `target/conformance/venvs/`, named for its first pin
//!   and a hash of all of them (suites with the same pins share it), created once.
//! - `run.py`: the driver, run with the system `python3` as
//!   `run.py --rust <example binary> --work <empty dir> --python <env>=<venv python> ...`.
//!   It prints one row per case (`ok   <case>` or `FAIL <case>: <why>`) and exits non-zero on any mismatch.
//! - the Rust side is the crate's example `<crate>-conformance`, built here and handed to `run.py` as `--rust`;
//!   a binary crate (`src/main.rs`) is built too and its directory handed over as `--bin-dir`.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::{self, Result};

/// A crate's conformance suite, found on disk.
struct Suite {
    krate: String,
    dir: PathBuf,
    envs: Vec<(String, PathBuf)>,
}

/// Runs the suites of the named crates, or of every crate that has one when `only` is empty.
pub(crate) fn run(only: &[&str]) -> Result<()> {
    let mut suites = discover()?;
    if !only.is_empty() {
        if let Some(unknown) = only
            .iter()
            .find(|name| !suites.iter().any(|suite| suite.krate == **name))
        {
            return Err(format!(
                "no conformance suite for `{unknown}` (crates/{unknown}/conformance/run.py)"
            ));
        }
        suites.retain(|suite| only.contains(&suite.krate.as_str()));
    }
    if suites.is_empty() {
        eprintln!("no conformance suites yet (crates/*/conformance/run.py)");
        return Ok(());
    }
    let python = find_python()?;
    let root = cmd::root();
    let target = target_dir();
    let mut failed = Vec::new();
    for suite in &suites {
        eprintln!("\n--- conformance: {}", suite.krate);
        let mut driver = cmd::new(&python, [suite.dir.join("run.py")]);
        let example = format!("{}-conformance", suite.krate);
        if root
            .join("crates")
            .join(&suite.krate)
            .join("examples")
            .join("conformance.rs")
            .is_file()
        {
            cmd::run(cmd::cargo().args([
                "build",
                "--quiet",
                "-p",
                &suite.krate,
                "--example",
                &example,
            ]))?;
            driver
                .arg("--rust")
                .arg(target.join("debug").join("examples").join(&example));
        }
        let crate_dir = root.join("crates").join(&suite.krate);
        if crate_dir.join("src").join("main.rs").is_file() {
            cmd::run(cmd::cargo().args(["build", "--quiet", "-p", &suite.krate, "--bins"]))?;
            driver.arg("--bin-dir").arg(target.join("debug"));
        }
        let work = target.join("conformance").join("work").join(&suite.krate);
        if work.exists() {
            fs::remove_dir_all(&work)
                .map_err(|err| format!("cannot clear {}: {err}", work.display()))?;
        }
        fs::create_dir_all(&work)
            .map_err(|err| format!("cannot create {}: {err}", work.display()))?;
        driver.arg("--work").arg(&work);
        for (env, requirements) in &suite.envs {
            let venv_python = ensure_venv(&python, Packages::Requirements(requirements))?;
            driver
                .arg("--python")
                .arg(format!("{env}={}", venv_python.display()));
        }
        match cmd::run(&mut driver) {
            // The files the cases wrote matter only when a case fails; they take ~200 MB in all.
            Ok(()) => fs::remove_dir_all(&work)
                .map_err(|err| format!("cannot clear {}: {err}", work.display()))?,
            Err(err) => {
                eprintln!(
                    "{err}\n(the files the cases wrote are kept in {})",
                    work.display()
                );
                failed.push(suite.krate.clone());
            }
        }
    }
    if failed.is_empty() {
        eprintln!(
            "\nconformance: all {} suites agree with their references",
            suites.len()
        );
        Ok(())
    } else {
        Err(format!("conformance mismatches in: {}", failed.join(", ")))
    }
}

fn discover() -> Result<Vec<Suite>> {
    let crates = cmd::root().join("crates");
    let mut suites = Vec::new();
    let entries =
        fs::read_dir(&crates).map_err(|err| format!("cannot list {}: {err}", crates.display()))?;
    for entry in entries {
        let entry = entry.map_err(|err| err.to_string())?;
        let dir = entry.path().join("conformance");
        if !dir.join("run.py").is_file() {
            continue;
        }
        let mut envs = Vec::new();
        for file in
            fs::read_dir(&dir).map_err(|err| format!("cannot list {}: {err}", dir.display()))?
        {
            let path = file.map_err(|err| err.to_string())?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            if let Some(env) = name
                .strip_prefix("requirements-")
                .and_then(|n| n.strip_suffix(".txt"))
            {
                envs.push((env.to_owned(), path));
            }
        }
        envs.sort();
        suites.push(Suite {
            krate: entry.file_name().to_string_lossy().into_owned(),
            dir,
            envs,
        });
    }
    suites.sort_by(|a, b| a.krate.cmp(&b.krate));
    Ok(suites)
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| cmd::root().join("target"), PathBuf::from)
}

/// The system Python 3, with a clear line on what to install when it is missing.
pub(crate) fn find_python() -> Result<String> {
    for candidate in ["python3", "python"] {
        if cmd::available(
            candidate,
            &["-c", "import sys, venv; assert sys.version_info >= (3, 9)"],
        ) {
            return Ok(candidate.to_owned());
        }
    }
    Err("python3 (3.9 or newer, with the venv module) is needed for the conformance cases: install it, \
         e.g. `apt-get install python3 python3-venv python3-pip`"
        .to_owned())
}

/// A venv's name from what it holds, so that suites and benchmarks pinning the same packages share one: the first
/// package (the reference) and a hash of the whole list, e.g. `mapbuffer-1.2.0-5f0c2a91`.
fn venv_name(wanted: &str) -> String {
    let items: Vec<&str> = wanted
        .lines()
        .flat_map(|line| {
            line.split('#')
                .next()
                .unwrap_or_default()
                .split_whitespace()
        })
        .collect();
    let first = items
        .iter()
        .find(|item| !item.starts_with('-'))
        .copied()
        .unwrap_or("venv");
    let mut label = String::new();
    for c in first.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '.' {
            c
        } else {
            '-'
        };
        if !(c == '-' && label.ends_with('-')) {
            label.push(c);
        }
    }
    // FNV-1a over the items alone: comments, blank lines and spacing do not split a venv.
    let hash = items.join(" ").bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    format!("{label}-{hash:08x}")
}

/// What to pip-install into a venv.
pub(crate) enum Packages<'a> {
    /// The exact pins of a requirements file.
    Requirements(&'a Path),
    /// pip arguments, e.g. `--no-deps pkg==1.0 dep==2.0` where a package's own pins are broken.
    Args(&'a [&'a str]),
}

/// Creates (once) the venv that holds `packages`, named for them (see [`venv_name`]); returns its python.
pub(crate) fn ensure_venv(python: &str, packages: Packages<'_>) -> Result<PathBuf> {
    let wanted = wanted(&packages)?;
    let venv = target_dir()
        .join("conformance")
        .join("venvs")
        .join(venv_name(&wanted));
    set_up_venv(python, &venv, packages, wanted)
}

/// Creates (once) the venv at `venv` with `packages`; returns its python.
pub(crate) fn ensure_venv_at(python: &str, venv: &Path, packages: Packages<'_>) -> Result<PathBuf> {
    let wanted = wanted(&packages)?;
    set_up_venv(python, venv, packages, wanted)
}

fn wanted(packages: &Packages<'_>) -> Result<String> {
    match packages {
        Packages::Requirements(path) => {
            fs::read_to_string(path).map_err(|err| format!("cannot read {}: {err}", path.display()))
        }
        Packages::Args(args) => Ok(args.join(" ")),
    }
}

/// Sets up the venv at `venv` with `packages` (`wanted` is what they say) unless it already holds them: a stamp file
/// records what was installed, so that a venv left half-built, or holding other packages, is set up again.
fn set_up_venv(
    python: &str,
    venv: &Path,
    packages: Packages<'_>,
    wanted: String,
) -> Result<PathBuf> {
    let venv_python = venv.join("bin").join("python");
    let stamp = venv.join("installed-requirements.txt");
    if venv_python.is_file() && fs::read_to_string(&stamp).is_ok_and(|had| had == wanted) {
        return Ok(venv_python);
    }
    eprintln!("setting up the Python environment {}", venv.display());
    cmd::run(cmd::new(python, ["-m", "venv", "--clear"]).arg(venv)).map_err(|err| {
        format!("{err}\n(python3 needs the venv module: `apt-get install python3-venv`)")
    })?;
    if !cmd::available(&venv_python.to_string_lossy(), &["-m", "pip", "--version"]) {
        return Err(format!(
            "pip is missing in {}: install it (`apt-get install python3-pip python3-venv`)",
            venv.display()
        ));
    }
    let mut install = cmd::new(
        &venv_python,
        [
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ],
    );
    match packages {
        Packages::Requirements(path) => install.arg("-r").arg(path),
        Packages::Args(args) => install.args(args),
    };
    cmd::run(&mut install)?;
    fs::write(&stamp, wanted).map_err(|err| format!("cannot write {}: {err}", stamp.display()))?;
    Ok(venv_python)
}

#[cfg(test)]
mod tests {
    use super::venv_name;

    #[test]
    fn venvs_are_named_for_their_pins() {
        let plain = venv_name("mapbuffer==1.2.0\nnumpy==2.4.6\n");
        assert!(plain.starts_with("mapbuffer-1.2.0-"), "{plain}");
        // Comments, blank lines and spacing do not matter; a different pin does.
        assert_eq!(
            venv_name("# pinned\nmapbuffer==1.2.0\n\n  numpy==2.4.6  # for mapbuffer\n"),
            plain
        );
        assert_ne!(venv_name("mapbuffer==1.2.0\nnumpy==2.4.7\n"), plain);
        assert!(venv_name("--no-deps buffer==0.2.1 wrapt==1.16.0").starts_with("buffer-0.2.1-"));
    }
}

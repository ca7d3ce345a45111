//! `cargo xtask python` (and the CI step "python"): builds the `byteshelf` wheel with maturin, installs it in a
//! fresh venv with the pinned references, and runs the pytest suite of `crates/byteshelf-py/tests`.
//!
//! - maturin (pinned) lives in its own venv, `target/py/maturin`, created when missing.
//! - The test venv, `target/py/test-venv`, holds pytest, hypothesis and `buffer` 0.2.1
//!   (`crates/byteshelf-py/tests/requirements.txt`, installed `--no-deps`) and the wheel. The other references
//!   (roxxel 0.9.14 with jax, mapbuffer 1.2.0, roboto 0.62.0) are not installed again: the venvs that
//!   `cargo xtask conformance` makes for them are linked in with a `.pth` file, after the test venv's own packages.
//! - `BYTESHELF_REQUIRE_REFERENCES=1` makes a reference that does not import an error instead of a skip.
//! - The remote tests start nginx and moto (installed by `cargo xtask servers`, which this runs first) and fail,
//!   never skip, when they are missing.
//!
//! [`bench()`] runs `xtask/bench/py_byteshelf_bench.py` in the same venv with a release wheel, and the
//! `byteshelf` crate's `scan` example (release) for the Rust side of the sequential-pass row.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::{self, Result};
use crate::conformance::{self, Packages};

/// The maturin that builds the wheel.
const MATURIN: &str = "maturin==1.16.0";

/// Google's array-record and its dependencies, for the benchmarks only (a venv of their own, `--no-deps`).
const ARRAY_RECORD: &[&str] = &[
    "--no-deps",
    "array-record==0.8.6",
    "absl-py==2.5.1",
    "etils==1.15.0",
    "fsspec==2026.9.0",
    "typing_extensions==4.16.0",
    "zipp==4.1.2",
];

/// The conformance requirement files whose venvs hold the references (crate, env).
const REFERENCES: &[(&str, &str)] = &[
    ("roxxel-format", "r09"),
    ("mapbuffer", "py"),
    ("sparse-buffer", "roboto"),
];

/// Builds the wheel (`release` or debug), sets up the test venv with it, and returns the venv's python.
fn prepare(release: bool) -> Result<PathBuf> {
    let root = cmd::root();
    let python = conformance::find_python()?;
    let py_dir = conformance::target_dir().join("py");
    let maturin_python =
        conformance::ensure_venv_at(&python, &py_dir.join("maturin"), Packages::Args(&[MATURIN]))?;

    let wheels = py_dir.join(if release { "wheels-release" } else { "wheels" });
    if wheels.exists() {
        fs::remove_dir_all(&wheels)
            .map_err(|err| format!("cannot clear {}: {err}", wheels.display()))?;
    }
    let mut build = cmd::new(&maturin_python, ["-m", "maturin", "build", "--quiet"]);
    if release {
        build.arg("--release");
    }
    build
        .arg("--manifest-path")
        .arg(root.join("crates/byteshelf-py/Cargo.toml"))
        .arg("--out")
        .arg(&wheels)
        .env("CARGO_TARGET_DIR", conformance::target_dir());
    cmd::run(&mut build)?;
    let wheel = fs::read_dir(&wheels)
        .map_err(|err| format!("cannot list {}: {err}", wheels.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .ok_or_else(|| format!("maturin left no wheel in {}", wheels.display()))?;

    let mut linked = Vec::new();
    for (krate, env) in REFERENCES {
        let requirements = root
            .join("crates")
            .join(krate)
            .join("conformance")
            .join(format!("requirements-{env}.txt"));
        let venv_python = conformance::ensure_venv(&python, Packages::Requirements(&requirements))?;
        linked.push(purelib(&venv_python)?);
    }

    let requirements = root.join("crates/byteshelf-py/tests/requirements.txt");
    let requirements_arg = requirements.to_string_lossy().into_owned();
    let test_python = conformance::ensure_venv_at(
        &python,
        &py_dir.join("test-venv"),
        Packages::Args(&["--no-deps", "-r", &requirements_arg]),
    )?;
    let site = purelib(&test_python)?;
    let pth = site.join("zz-byteshelf-references.pth");
    let lines: String = linked
        .iter()
        .map(|dir| format!("{}\n", dir.display()))
        .collect();
    fs::write(&pth, lines).map_err(|err| format!("cannot write {}: {err}", pth.display()))?;
    cmd::run(
        cmd::new(
            &test_python,
            [
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--force-reinstall",
            ],
        )
        .arg(&wheel),
    )?;
    Ok(test_python)
}

/// The `purelib` directory (site-packages) of a venv's python.
fn purelib(python: &Path) -> Result<PathBuf> {
    let out = cmd::new(
        python,
        [
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
    )
    .output()
    .map_err(|err| format!("cannot run {}: {err}", python.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} cannot tell its site-packages",
            python.display()
        ));
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
    ))
}

/// The CI step: a debug wheel (it builds faster; the suite checks behaviour, not speed) and the pytest suite.
pub(crate) fn run() -> Result<()> {
    // The remote tests (tests/test_remote.py) start nginx and moto, and fail without them.
    crate::servers::ensure()?;
    let python = prepare(false)?;
    cmd::run(
        cmd::new(
            &python,
            [
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-W",
                "ignore::DeprecationWarning",
                "tests",
            ],
        )
        .current_dir(cmd::root().join("crates/byteshelf-py"))
        .env("BYTESHELF_REQUIRE_REFERENCES", "1"),
    )
}

/// The Python half of the benchmarks: our classes against the references, with a release wheel, written to
/// `docs/benchmarks-python.md`.
pub(crate) fn bench(quick: bool) -> Result<()> {
    let python = prepare(true)?;
    let root = cmd::root();
    let work = conformance::target_dir().join("bench").join("py");
    if work.exists() {
        fs::remove_dir_all(&work)
            .map_err(|err| format!("cannot clear {}: {err}", work.display()))?;
    }
    fs::create_dir_all(&work).map_err(|err| format!("cannot create {}: {err}", work.display()))?;
    let mut script = cmd::new(
        &python,
        [root
            .join("xtask")
            .join("bench")
            .join("py_byteshelf_bench.py")],
    );
    script
        .arg("--work")
        .arg(&work)
        .arg("--out")
        .arg(root.join("docs").join("benchmarks-python.md"));
    if quick {
        script.arg("--quick");
    }
    // The Rust half of the sequential-pass row: a full pass over the same file, in the same run.
    cmd::run(
        cmd::new(
            "cargo",
            [
                "build",
                "--quiet",
                "--release",
                "-p",
                "byteshelf",
                "--example",
                "scan",
            ],
        )
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", conformance::target_dir()),
    )?;
    script.arg("--rust-scan").arg(
        conformance::target_dir()
            .join("release")
            .join("examples")
            .join("scan"),
    );
    let python3 = conformance::find_python()?;
    match conformance::ensure_venv_at(
        &python3,
        &conformance::target_dir().join("py").join("array-record"),
        Packages::Args(ARRAY_RECORD),
    )
    .and_then(|venv_python| purelib(&venv_python))
    {
        Ok(site) => {
            script.arg("--array-record-site").arg(site);
        }
        Err(err) => eprintln!("array-record is not measured: {err}"),
    }
    cmd::run(&mut script)
}

//! `cargo xtask release [--dry-run]`: pre-flight checks, then `cargo publish --workspace` and a tag.
//!
//! The checks: every crate's version is the workspace version (and so is every local crate's entry in
//! `[workspace.dependencies]`), CHANGELOG.md has an entry for it, no crate name is already taken on crates.io by
//! someone else's crate, `cargo deny check`, `cargo semver-checks` against the previous release's source, and
//! `cargo publish --workspace --dry-run`.

use std::fs;

use crate::ci;
use crate::cmd::{self, Result};

/// Whether to publish for real.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    DryRun,
    Publish,
}

/// A publishable package of the workspace.
struct Package {
    name: String,
    manifest: String,
}

pub(crate) fn run(mode: Mode) -> Result<()> {
    let root = cmd::root();
    let manifest = read(&root.join("Cargo.toml"))?;
    let version = workspace_version(&manifest)?;
    eprintln!(
        "release {version} ({})",
        if mode == Mode::DryRun {
            "dry run"
        } else {
            "publish"
        }
    );
    let packages = packages()?;

    let mut problems = Vec::new();
    check_versions(&manifest, &version, &packages, &mut problems);
    check_changelog(&read(&root.join("CHANGELOG.md"))?, &version, &mut problems);
    check_names(&packages, &mut problems);
    report("versions, changelog and names", &problems);

    let deny = ci::deny_check();
    report(
        "cargo deny check",
        deny.as_ref()
            .err()
            .map(std::slice::from_ref)
            .unwrap_or_default(),
    );
    let semver = semver_check(&version);
    report(
        "cargo semver-checks against the previous release",
        semver
            .as_ref()
            .err()
            .map(std::slice::from_ref)
            .unwrap_or_default(),
    );
    problems.extend(semver.err());

    let mut dry_run = cmd::cargo();
    dry_run.args(["publish", "--workspace", "--dry-run", "--allow-dirty"]);
    let publish = cmd::run(&mut dry_run);
    report(
        "cargo publish --workspace --dry-run",
        publish
            .as_ref()
            .err()
            .map(std::slice::from_ref)
            .unwrap_or_default(),
    );
    problems.extend(deny.err());
    problems.extend(publish.err());

    if !problems.is_empty() {
        return Err(format!(
            "release {version} is not ready: {} problem(s) above",
            problems.len()
        ));
    }
    if mode == Mode::DryRun {
        eprintln!("release {version}: every check passed (dry run: nothing published)");
        return Ok(());
    }
    cmd::run(cmd::cargo().args(["publish", "--workspace"]))?;
    let tag = format!("v{version}");
    cmd::run(&mut cmd::new(
        "git",
        ["tag", "-a", &tag, "-m", &format!("byteshelf {version}")],
    ))?;
    eprintln!("published {version} and tagged {tag}: push the tag with `git push origin {tag}`");
    Ok(())
}

/// `cargo semver-checks` of every package against the previous release's source, found in git: the newest `v*` tag
/// of another version, else the newest commit whose workspace version differs from `version` (the crates were
/// never published, so there is no registry baseline). A breaking change is fine across a 0.x minor bump and an
/// error in a patch release, which is the point. cargo-semver-checks is installed when missing (a long build).
fn semver_check(version: &str) -> Result<()> {
    if !cmd::available("cargo", &["semver-checks", "--version"]) {
        eprintln!(
            "cargo-semver-checks is missing: installing it (once per machine; a build of several minutes)"
        );
        cmd::run(cmd::cargo().args(["install", "--locked", "cargo-semver-checks"]))?;
    }
    let baseline = previous_release(version)?;
    eprintln!("semver baseline: {baseline}");
    cmd::run(cmd::cargo().args(["semver-checks", "--workspace", "--baseline-rev", &baseline]))
}

/// The git revision of the release before `version` (see [`semver_check`]).
fn previous_release(version: &str) -> Result<String> {
    let git = |args: &[&str]| -> Result<String> {
        let out = cmd::new("git", args)
            .current_dir(cmd::root())
            .output()
            .map_err(|err| format!("cannot run git: {err}"))?;
        if !out.status.success() {
            return Err(format!("git {} failed", args.join(" ")));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let current = format!("v{version}");
    if let Some(tag) = git(&["tag", "--list", "v*", "--sort=-v:refname"])?
        .lines()
        .map(str::trim)
        .find(|tag| !tag.is_empty() && *tag != current)
    {
        return Ok(tag.to_owned());
    }
    for rev in git(&["log", "--format=%H", "--", "Cargo.toml"])?.lines() {
        let manifest = git(&["show", &format!("{rev}:Cargo.toml")])?;
        if workspace_version(&manifest).is_ok_and(|v| v != version) {
            return Ok(rev.to_owned());
        }
    }
    Err(format!(
        "no earlier release than {version} in the git history"
    ))
}

fn report(what: &str, problems: &[String]) {
    if problems.is_empty() {
        eprintln!("ok   {what}");
    } else {
        for problem in problems {
            eprintln!("FAIL {what}: {problem}");
        }
    }
}

fn read(path: &std::path::Path) -> Result<String> {
    fs::read_to_string(path).map_err(|err| format!("cannot read {}: {err}", path.display()))
}

/// The value of the first `key = "..."` line of a TOML section.
fn field(toml: &str, section: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    for line in toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == section;
        } else if in_section
            && let Some(rest) = line.strip_prefix(key)
            && let Some(value) = rest.trim_start().strip_prefix('=')
        {
            return Some(value.trim().trim_matches('"').to_owned());
        }
    }
    None
}

fn workspace_version(manifest: &str) -> Result<String> {
    field(manifest, "[workspace.package]", "version")
        .ok_or_else(|| "Cargo.toml has no `version` in [workspace.package]".to_owned())
}

fn packages() -> Result<Vec<Package>> {
    let crates = cmd::root().join("crates");
    let mut packages = Vec::new();
    for entry in
        fs::read_dir(&crates).map_err(|err| format!("cannot list {}: {err}", crates.display()))?
    {
        let path = entry
            .map_err(|err| err.to_string())?
            .path()
            .join("Cargo.toml");
        let manifest = read(&path)?;
        if field(&manifest, "[package]", "publish").as_deref() == Some("false") {
            continue;
        }
        let name = field(&manifest, "[package]", "name")
            .ok_or_else(|| format!("{} has no package name", path.display()))?;
        packages.push(Package { name, manifest });
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(packages)
}

fn check_versions(
    workspace: &str,
    version: &str,
    packages: &[Package],
    problems: &mut Vec<String>,
) {
    for package in packages {
        let inherits = package
            .manifest
            .lines()
            .any(|line| line.trim() == "version.workspace = true");
        let own = field(&package.manifest, "[package]", "version");
        if !inherits && own.as_deref() != Some(version) {
            problems.push(format!(
                "crate `{}` has version {:?}, not the workspace's {version}",
                package.name,
                own.unwrap_or_default()
            ));
        }
        // The entry is keyed by the package name, or renamed (`short = { package = "name", ... }`).
        let line = workspace.lines().find(|line| {
            line.trim_start()
                .starts_with(&format!("{} = {{", package.name))
                || line.contains(&format!("package = \"{}\"", package.name))
        });
        if let Some(line) = line
            && !line.contains(&format!("version = \"{version}\""))
        {
            problems.push(format!(
                "[workspace.dependencies] entry of `{}` does not require version {version}: {}",
                package.name,
                line.trim()
            ));
        }
    }
}

fn check_changelog(changelog: &str, version: &str, problems: &mut Vec<String>) {
    let has_entry = changelog.lines().any(|line| {
        line.starts_with("## ")
            && line
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                .any(|word| word == version)
    });
    if !has_entry {
        problems.push(format!("CHANGELOG.md has no `## {version}` entry"));
    }
}

/// Names already on crates.io belong to someone else unless their repository is ours; say so before publishing.
///
/// Uses `cargo info` (it reads the sparse index, which every registry mirror serves; the search API is not always
/// there), run outside the workspace so that it does not answer with our own local package.
fn check_names(packages: &[Package], problems: &mut Vec<String>) {
    let ours = field(
        &read(&cmd::root().join("Cargo.toml")).unwrap_or_default(),
        "[workspace.package]",
        "repository",
    )
    .unwrap_or_default();
    for package in packages {
        let mut info = cmd::cargo();
        info.args(["info", "--registry", "crates-io", &package.name])
            .current_dir(std::env::temp_dir());
        let out = match info.output() {
            Ok(out) => out,
            Err(err) => {
                problems.push(format!("cannot run `cargo info {}`: {err}", package.name));
                continue;
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !stderr.contains("could not find") {
                problems.push(format!(
                    "cannot check whether `{}` is free on crates.io: {}",
                    package.name,
                    stderr.trim()
                ));
            }
            continue;
        }
        let value = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key))
                .map(|rest| rest.trim().to_owned())
                .unwrap_or_default()
        };
        let (version, repository) = (value("version:"), value("repository:"));
        if repository != ours {
            problems.push(format!(
                "the name `{}` is already taken on crates.io by another crate (version {version}, repository \
                 {repository}): publishing would fail; rename the package (e.g. `byteshelf-{}`) or obtain the name",
                package.name, package.name
            ));
        }
    }
}

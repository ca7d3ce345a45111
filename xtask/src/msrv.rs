//! `cargo xtask msrv` (a step of `ci`): the part of the MSRV promise that can be checked without the old compiler.
//!
//! Only one Rust toolchain can be installed on the project's machines, so the workspace is never compiled by the
//! `rust-version` it declares. What is checked instead:
//! - every package of the resolved graph (dependencies, dev- and build-dependencies, xtask's) declares a
//!   `rust-version` no newer than the workspace's, read from `cargo metadata`;
//! - the standard library items the code calls exist in that version: clippy's `incompatible_msrv` lint, which reads
//!   `rust-version` from the manifests, is denied in `[workspace.lints.clippy]` and runs in the `clippy` step.
//!
//! Language features newer than the MSRV are not caught by either; the CHANGELOG says so.

use std::collections::BTreeMap;

use crate::cmd::{self, Result};

/// Checks the resolved graph against the workspace's `rust-version`.
pub(crate) fn run() -> Result<()> {
    let out = cmd::cargo()
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .map_err(|err| format!("cannot run cargo metadata: {err}"))?;
    if !out.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| "cargo metadata printed non-UTF-8")?;
    let metadata = Json::parse(&text)?;
    let packages = metadata
        .get("packages")
        .and_then(Json::as_array)
        .ok_or("cargo metadata has no packages")?;
    let members: Vec<&str> = metadata
        .get("workspace_members")
        .and_then(Json::as_array)
        .ok_or("cargo metadata has no workspace_members")?
        .iter()
        .filter_map(Json::as_str)
        .collect();

    let mut msrv = None;
    let mut declared = BTreeMap::new();
    let mut undeclared = 0;
    for package in packages {
        let field = |key| package.get(key).and_then(Json::as_str).unwrap_or("?");
        let name = format!("{} {}", field("name"), field("version"));
        let is_member = members.contains(&field("id"));
        match package.get("rust_version").and_then(Json::as_str) {
            Some(version) => {
                let version = parse_version(version)?;
                if is_member {
                    if msrv.is_some_and(|msrv| msrv != version) {
                        return Err(format!(
                            "workspace members declare different rust-versions ({name})"
                        ));
                    }
                    msrv = Some(version);
                } else {
                    declared.insert(name, version);
                }
            }
            None if is_member => {
                return Err(format!("workspace member {name} has no rust-version"));
            }
            None => undeclared += 1,
        }
    }
    let msrv = msrv.ok_or("no workspace member declares a rust-version")?;
    let newer: Vec<String> = declared
        .iter()
        .filter(|(_, version)| **version > msrv)
        .map(|(name, version)| format!("{name} needs {}", show(*version)))
        .collect();
    let newest = declared.iter().max_by_key(|(_, version)| **version);
    eprintln!(
        "msrv {}: {} dependencies declare a rust-version (newest: {}), {undeclared} declare none",
        show(msrv),
        declared.len(),
        newest.map_or("none".to_owned(), |(name, version)| format!(
            "{name} at {}",
            show(*version)
        )),
    );
    if newer.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "dependencies newer than the workspace's rust-version {}: {}",
            show(msrv),
            newer.join(", ")
        ))
    }
}

type Version = (u32, u32, u32);

fn parse_version(text: &str) -> Result<Version> {
    let mut parts = text.split('.').map(str::parse::<u32>);
    let mut next = || {
        parts
            .next()
            .transpose()
            .map_err(|_| format!("bad rust-version {text:?}"))
    };
    let major = next()?.ok_or_else(|| format!("bad rust-version {text:?}"))?;
    Ok((major, next()?.unwrap_or(0), next()?.unwrap_or(0)))
}

fn show((major, minor, patch): Version) -> String {
    format!("{major}.{minor}.{patch}")
}

/// Just enough JSON for `cargo metadata`: xtask has no dependencies.
#[derive(Debug)]
enum Json {
    Null,
    Bool,
    Number,
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn parse(text: &str) -> Result<Self> {
        let mut parser = Parser {
            bytes: text.as_bytes(),
            at: 0,
        };
        let value = parser.value()?;
        parser.skip_space();
        if parser.at != parser.bytes.len() {
            return Err(parser.error("trailing characters"));
        }
        Ok(value)
    }

    fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Self::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_array(&self) -> Option<&[Self]> {
        match self {
            Self::Array(items) => Some(items),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn error(&self, what: &str) -> String {
        format!("cargo metadata: {what} at byte {}", self.at)
    }

    fn skip_space(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        if self.bytes.get(self.at) == Some(&byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn value(&mut self) -> Result<Json> {
        self.skip_space();
        match self.bytes.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut fields = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.skip_space();
                        let key = self.string()?;
                        if !self.eat(b':') {
                            return Err(self.error("expected ':'"));
                        }
                        fields.push((key, self.value()?));
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected ',' or '}'"));
                        }
                    }
                }
                Ok(Json::Object(fields))
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        if !self.eat(b',') {
                            return Err(self.error("expected ',' or ']'"));
                        }
                    }
                }
                Ok(Json::Array(items))
            }
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.literal("true", Json::Bool),
            Some(b'f') => self.literal("false", Json::Bool),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => {
                while self
                    .bytes
                    .get(self.at)
                    .is_some_and(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
                {
                    self.at += 1;
                }
                Ok(Json::Number)
            }
            _ => Err(self.error("expected a value")),
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("bad literal"))
        }
    }

    fn string(&mut self) -> Result<String> {
        if self.bytes.get(self.at) != Some(&b'"') {
            return Err(self.error("expected a string"));
        }
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.bytes.get(self.at) {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.at += 1;
                    break;
                }
                Some(b'\\') => {
                    let escaped = *self
                        .bytes
                        .get(self.at + 1)
                        .ok_or_else(|| self.error("unterminated escape"))?;
                    self.at += 2;
                    match escaped {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            // Names and versions are ASCII; other text is kept as a placeholder.
                            self.at += 4;
                            out.push(b'?');
                        }
                        other => out.push(other),
                    }
                }
                Some(&byte) => {
                    out.push(byte);
                    self.at += 1;
                }
            }
        }
        String::from_utf8(out).map_err(|_| self.error("string is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_cargo_metadata_prints() {
        let json = Json::parse(
            r#"{"packages":[{"name":"a","rust_version":"1.70","deps":[{"name":"x"}],"n":-1.5e3,"t":true,"z":null}],
            "workspace_members":["a 1.0"],"s":"q\"\u00e9\\"}"#,
        )
        .unwrap();
        let package = &json.get("packages").unwrap().as_array().unwrap()[0];
        assert_eq!(package.get("name").unwrap().as_str(), Some("a"));
        assert_eq!(package.get("rust_version").unwrap().as_str(), Some("1.70"));
        assert_eq!(json.get("s").unwrap().as_str(), Some("q\"?\\"));
        assert!(Json::parse("{\"a\":1,}").is_err());
        assert!(Json::parse("[1] 2").is_err());
    }

    #[test]
    fn versions_compare_as_numbers() {
        assert!(parse_version("1.100").unwrap() > parse_version("1.89.0").unwrap());
        assert_eq!(parse_version("1.89").unwrap(), (1, 89, 0));
        assert!(parse_version("1.x").is_err());
    }
}

//! Objects named by URL (feature `object-store`): `s3://bucket/key`, `http(s)://host/path`, `file:///path`, and
//! whatever else object_store's [`parse_url_opts`] knows, turned into a store and an object path. The byteshelf
//! command and the Python wheel both open remote files through this module, so a URL means the same in both.
//!
//! - Credentials, region and endpoint come from the standard `AWS_*` environment variables, as object_store's
//!   `AmazonS3Builder::from_env` reads them (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//!   `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, ...). An `http://` URL allows plain HTTP.
//! - Which schemes work depends on the store features enabled on the `object_store` crate (`aws`, `http`, `fs`,
//!   ...); a scheme whose store is not compiled in is an [`UrlError::Invalid`].
//! - A Roxxel dataset URL ([`ObjectUrl::dataset_spec`], features `roxxel` + `object-store`) is one object, a
//!   prefix ending in `/` (every `*.rox` directly under it), or a glob in its last segment (`s3://b/ds_*.rox`),
//!   listed and put in shard-number order (`ds_9999.rox` before `ds_10000.rox`) as a local glob is.
//!
//! ```
//! use byteshelf::remote::ObjectUrl;
//!
//! assert!(ObjectUrl::parse("data/train.rox")?.is_none()); // a local path
//! let url = ObjectUrl::parse("file:///tmp/data/ds_*.rox")?.expect("a URL");
//! assert_eq!(url.path().as_ref(), "tmp/data/ds_*.rox");
//! assert_eq!(url.glob(), Some(("tmp/data", "ds_*.rox")));
//! # Ok::<(), byteshelf::remote::UrlError>(())
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, parse_url_opts};

/// What can go wrong with a URL: it does not parse or names no store compiled in, its pattern is invalid, or
/// the listing behind a glob fails or matches nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The URL does not parse, or object_store cannot open a store for it (unknown scheme, bad bucket, a store
    /// feature not enabled).
    #[error("{spec}: {reason}")]
    Invalid {
        /// The URL as given.
        spec: String,
        /// Why.
        reason: String,
    },
    /// The last path segment is not a valid glob pattern.
    #[error("{spec}: {source}")]
    Pattern {
        /// The URL as given.
        spec: String,
        /// The pattern's error.
        #[source]
        source: glob::PatternError,
    },
    /// Listing the objects a glob may match failed.
    #[error("{spec}: listing failed: {source}")]
    List {
        /// The URL as given.
        spec: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// A glob matched no object.
    #[error("{spec}: no object matches this pattern")]
    NoMatch {
        /// The URL as given.
        spec: String,
    },
}

/// A store and an object path (or prefix, or glob) in it, parsed from a URL.
#[derive(Clone)]
pub struct ObjectUrl {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    spec: String,
}

impl fmt::Debug for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectUrl")
            .field("spec", &self.spec)
            .field("store", &self.store.to_string())
            .field("path", &self.path)
            .finish()
    }
}

/// Whether `spec` looks like `scheme://...` (an ASCII scheme of letters, digits and `+`; a Windows path such as
/// `C:\data` is not a URL).
fn url_scheme(spec: &str) -> Option<&str> {
    let (scheme, _) = spec.split_once("://")?;
    (!scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+'))
    .then_some(scheme)
}

impl ObjectUrl {
    /// The store and object path `spec` names when it is a URL (`scheme://...`), with the `AWS_*` variables of
    /// the process environment as the store's options; `None` for a local path.
    ///
    /// # Errors
    /// [`UrlError::Invalid`] for a URL that does not parse or that object_store cannot open a store for.
    pub fn parse(spec: &str) -> Result<Option<Self>, UrlError> {
        let options: Vec<(String, String)> = std::env::vars()
            .filter(|(key, _)| key.starts_with("AWS_"))
            .map(|(key, value)| (key.to_ascii_lowercase(), value))
            .collect();
        Self::parse_with(spec, options)
    }

    /// [`parse`](Self::parse) with these store options (object_store's configuration keys, e.g.
    /// `aws_endpoint`, `aws_region`) in place of the environment's.
    ///
    /// # Errors
    /// As [`parse`](Self::parse).
    pub fn parse_with(
        spec: &str,
        options: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Option<Self>, UrlError> {
        if url_scheme(spec).is_none() {
            return Ok(None);
        }
        let invalid = |reason: String| UrlError::Invalid {
            spec: spec.to_owned(),
            reason,
        };
        let url = url::Url::parse(spec).map_err(|e| invalid(e.to_string()))?;
        let mut options: Vec<(String, String)> = options.into_iter().collect();
        if url.scheme() == "http" {
            options.push(("allow_http".to_owned(), "true".to_owned()));
        }
        let (store, path) = parse_url_opts(&url, options).map_err(|e| invalid(e.to_string()))?;
        Ok(Some(Self {
            store: Arc::from(store),
            path,
            spec: spec.to_owned(),
        }))
    }

    /// Whether `spec` is a URL (`scheme://...`) rather than a local path, without opening a store.
    #[must_use]
    pub fn is_url(spec: &str) -> bool {
        url_scheme(spec).is_some()
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object path (or prefix, or glob) in the store.
    #[must_use]
    pub fn path(&self) -> &ObjectPath {
        &self.path
    }

    /// The URL as given.
    #[must_use]
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// Whether the URL ends in `/`: a prefix, not an object.
    #[must_use]
    pub fn is_prefix(&self) -> bool {
        self.spec.ends_with('/')
    }

    /// `(directory, pattern)` when the last path segment is a glob pattern (`*`, `?` or `[`).
    #[must_use]
    pub fn glob(&self) -> Option<(&str, &str)> {
        let path = self.path.as_ref();
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        name.contains(['*', '?', '[']).then_some((dir, name))
    }

    /// The objects directly under the glob's directory whose names match its pattern, in shard-number order
    /// ([`numeric_order`]); just the path itself when it is no glob.
    ///
    /// # Errors
    /// [`UrlError::Pattern`], [`UrlError::List`], or [`UrlError::NoMatch`] when nothing matches.
    pub async fn list_glob(&self) -> Result<Vec<ObjectPath>, UrlError> {
        let Some((dir, pattern)) = self.glob() else {
            return Ok(vec![self.path.clone()]);
        };
        let matcher = glob::Pattern::new(pattern).map_err(|source| UrlError::Pattern {
            spec: self.spec.clone(),
            source,
        })?;
        let prefix = (!dir.is_empty()).then(|| ObjectPath::from(dir));
        let listing = self
            .store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map_err(|source| UrlError::List {
                spec: self.spec.clone(),
                source,
            })?;
        let mut found: Vec<ObjectPath> = listing
            .objects
            .into_iter()
            .map(|meta| meta.location)
            .filter(|location| {
                location
                    .filename()
                    .is_some_and(|name| matcher.matches(name))
            })
            .collect();
        found.sort_by(|a, b| numeric_order(a.as_ref(), b.as_ref()));
        if found.is_empty() {
            return Err(UrlError::NoMatch {
                spec: self.spec.clone(),
            });
        }
        Ok(found)
    }

    /// The Roxxel dataset this URL names: a prefix ending in `/` ([`RemoteSpec::Prefix`]), the objects a glob in
    /// the last segment matches (listed, in shard-number order), or one object.
    ///
    /// [`RemoteSpec::Prefix`]: crate::roxxel::RemoteSpec::Prefix
    ///
    /// # Errors
    /// As [`list_glob`](Self::list_glob) for a glob.
    #[cfg(feature = "roxxel")]
    pub async fn dataset_spec(&self) -> Result<crate::roxxel::RemoteSpec, UrlError> {
        use crate::roxxel::RemoteSpec;
        if self.is_prefix() {
            Ok(RemoteSpec::Prefix(self.path.clone()))
        } else if self.glob().is_some() {
            Ok(RemoteSpec::Paths(self.list_glob().await?))
        } else {
            Ok(RemoteSpec::from(self.path.clone()))
        }
    }
}

/// Names in the order a local dataset sorts its shards: runs of digits compare as numbers (`ds_9999.rox` before
/// `ds_10000.rox`), the rest byte by byte.
#[must_use]
pub fn numeric_order(a: &str, b: &str) -> Ordering {
    fn runs(name: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = name.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &name[start..i]));
                start = i;
            }
        }
        out
    }
    let (a_runs, b_runs) = (runs(a), runs(b));
    for (x, y) in a_runs.iter().zip(&b_runs) {
        let order = match (x, y) {
            ((true, x), (true, y)) => {
                let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                x.len().cmp(&y.len()).then_with(|| x.cmp(y))
            }
            ((_, x), (_, y)) => x.cmp(y),
        };
        if order.is_ne() {
            return order;
        }
    }
    a_runs.len().cmp(&b_runs.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert!(ObjectUrl::parse("data/train.rox").unwrap().is_none());
        assert!(ObjectUrl::parse("C:\\data").unwrap().is_none());
        assert!(!ObjectUrl::is_url("/tmp/x.rox"));
        assert!(ObjectUrl::is_url("s3://bucket/x.rox"));
        let remote = ObjectUrl::parse("file:///tmp/x/ds_0001.rox")
            .unwrap()
            .unwrap();
        assert_eq!(remote.path().as_ref(), "tmp/x/ds_0001.rox");
        assert_eq!(remote.glob(), None);
        assert!(!remote.is_prefix());
        let glob = ObjectUrl::parse("file:///bucket/dir/ds_*.rox")
            .unwrap()
            .unwrap();
        assert_eq!(glob.glob(), Some(("bucket/dir", "ds_*.rox")));
        let top = ObjectUrl::parse("file:///ds_*.rox").unwrap().unwrap();
        assert_eq!(top.glob(), Some(("", "ds_*.rox")));
        assert!(matches!(
            ObjectUrl::parse("nosuchscheme://x/y"),
            Err(UrlError::Invalid { spec, .. }) if spec == "nosuchscheme://x/y"
        ));
    }

    #[test]
    fn numeric_order_puts_10000_after_9999() {
        let mut names = [
            "ds_10000.rox",
            "ds_9999.rox",
            "ds_0002.rox",
            "ds_a.rox",
            "ds_1.rox",
        ];
        names.sort_by(|a, b| numeric_order(a, b));
        assert_eq!(
            names,
            [
                "ds_1.rox",
                "ds_0002.rox",
                "ds_9999.rox",
                "ds_10000.rox",
                "ds_a.rox"
            ]
        );
    }
}

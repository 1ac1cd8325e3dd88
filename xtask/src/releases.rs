//! The pinned release table (`releases.toml` at the repository root) and
//! sendmail's own version ordering (four numeric parts: 8.17.1.9).

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::{cmp::Ordering, fmt, str::FromStr};

const TABLE: &str = include_str!("../../releases.toml");

/// A sendmail version such as `8.18.2` or `8.17.1.9`, compared numerically.
#[derive(Clone, Debug)]
pub struct Version(Vec<u32>);

impl Version {
    pub fn new(parts: &[u32]) -> Version {
        Version(parts.to_vec())
    }
}

impl FromStr for Version {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Version> {
        // Digits only, no leading zeros: the text is also the tarball's
        // top directory name, so `08.18.2` must not pass for 8.18.2.
        let number = |p: &str| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p == "0" || !p.starts_with('0')))
                .then(|| p.parse().ok())
                .flatten()
        };
        let parts: Option<Vec<u32>> = s.split('.').map(number).collect();
        match parts {
            Some(p) if (2..=4).contains(&p.len()) && !s.is_empty() => Ok(Version(p)),
            _ => bail!("`{s}` is not a sendmail version: expected numbers separated by dots, such as 8.18.2"),
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.0.len().max(other.0.len());
        let at = |v: &Vec<u32>, i: usize| v.get(i).copied().unwrap_or(0);
        (0..n).map(|i| at(&self.0, i).cmp(&at(&other.0, i))).find(|o| o.is_ne()).unwrap_or(Ordering::Equal)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&s.join("."))
    }
}

/// One pinned release, as written in `releases.toml`.
#[derive(Clone, Debug, Deserialize)]
pub struct Release {
    pub version: String,
    pub upstream_file: String,
    pub size: u64,
    pub sha256: String,
    pub debian_version: String,
    pub debian_suites: Vec<String>,
    pub signing_key: String,
}

impl Release {
    pub fn version(&self) -> Version {
        self.version.parse().expect("releases.toml holds valid versions (unit-tested)")
    }

    /// A release outside the table, pinned by the user with `--sha256`.
    pub fn user_pinned(version: &Version, sha256: &str) -> Result<Release> {
        let sha256 = normalise_sha256(sha256)?;
        Ok(Release {
            version: version.to_string(),
            upstream_file: format!("sendmail.{version}.tar.gz"),
            size: 0,
            sha256,
            debian_version: String::new(),
            debian_suites: vec!["sid".into()],
            signing_key: String::new(),
        })
    }

    /// The upstream version prefix of Debian source versions carrying it.
    pub fn debian_upstream_version(&self) -> &str {
        &self.version
    }
}

#[derive(Debug, Deserialize)]
pub struct Table {
    pub default: String,
    #[serde(rename = "release")]
    pub releases: Vec<Release>,
}

pub fn table() -> Table {
    toml::from_str(TABLE).expect("releases.toml parses (unit-tested)")
}

impl Table {
    pub fn default_version(&self) -> Version {
        self.default.parse().expect("default version parses (unit-tested)")
    }

    /// The release with exactly this version: 8.18.2.0 is not 8.18.2
    /// (its tarball would be sendmail-8.18.2.0/).
    pub fn find(&self, version: &Version) -> Option<&Release> {
        self.releases.iter().find(|r| r.version().0 == version.0)
    }

    /// The release to use: pinned in the table, or pinned by the user.
    pub fn resolve(&self, version: &Version, user_sha256: Option<&str>) -> Result<Release> {
        match (self.find(version), user_sha256) {
            (Some(r), Some(sum)) => {
                let sum = normalise_sha256(sum)?;
                if sum != r.sha256 {
                    bail!(
                        "--sha256 {sum} contradicts the pinned SHA-256 {} of sendmail {version} in releases.toml; drop --sha256 or fix the table",
                        r.sha256
                    );
                }
                Ok(r.clone())
            }
            (Some(r), None) => Ok(r.clone()),
            (None, Some(sum)) => Release::user_pinned(version, sum),
            (None, None) => {
                let known: Vec<&str> = self.releases.iter().map(|r| r.version.as_str()).collect();
                bail!(
                    "sendmail {version} is not in the pinned release table (known: {}); pin it yourself with --sha256 HEX, or add it to releases.toml",
                    known.join(", ")
                )
            }
        }
    }
}

pub fn normalise_sha256(s: &str) -> Result<String> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("`{s}` is not a SHA-256: expected 64 hexadecimal digits");
    }
    Ok(s)
}

/// Parses a version given on the command line, with context for the error.
pub fn parse_version(s: &str) -> Result<Version> {
    s.parse().with_context(|| format!("reading --version {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        let t = table();
        assert!(t.find(&t.default_version()).is_some(), "default must be pinned");
        for r in &t.releases {
            let v = r.version();
            assert_eq!(r.upstream_file, format!("sendmail.{v}.tar.gz"));
            assert_eq!(normalise_sha256(&r.sha256).unwrap(), r.sha256);
            assert!(r.size > 1_000_000);
            assert!(r.debian_version.starts_with(&format!("{v}-")));
            assert_eq!(r.signing_key.len(), 40);
            assert!(!r.debian_suites.is_empty());
        }
        assert!(t.find(&"8.17.1.9".parse().unwrap()).is_some());
    }

    #[test]
    fn versions_order_numerically() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert!(v("8.17.1.9") < v("8.17.2"));
        assert!(v("8.17.2") < v("8.18.2"));
        assert!(v("8.9.3") < v("8.10.0"));
        assert_eq!(v("8.16.1"), v("8.16.1.0"));
        assert!(v("8.15.1") >= v("8.15.1"));
        assert_eq!(v("8.17.1.9").to_string(), "8.17.1.9");
    }

    #[test]
    fn bad_versions_are_refused() {
        for bad in ["", "8", "8.x.1", "8.18.2-2", "1.2.3.4.5", "8..2", "08.18.2", "8.+18.2", " 8.18.2"] {
            assert!(bad.parse::<Version>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn unknown_version_needs_a_pin() {
        let t = table();
        let v: Version = "8.18.1".parse().unwrap();
        let err = t.resolve(&v, None).unwrap_err().to_string();
        assert!(err.contains("--sha256"), "{err}");
        let r = t.resolve(&v, Some(&"AB".repeat(32))).unwrap();
        assert_eq!(r.sha256, "ab".repeat(32));
        assert!(t.resolve(&t.default_version(), Some(&"00".repeat(32))).is_err());
        assert!(t.resolve(&v, Some("abc")).is_err());
        // Equal in order, but not the same release: refused unless pinned.
        let padded: Version = "8.18.2.0".parse().unwrap();
        assert!(t.find(&padded).is_none());
        assert!(t.resolve(&padded, None).unwrap_err().to_string().contains("not in the pinned release table"));
    }
}

//! The pinned release table (`releases.toml` at the repository root) and
//! sendmail's own version ordering (four numeric parts: 8.17.1.9).

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::{cmp::Ordering, fmt, str::FromStr};

const TABLE: &str = include_str!("../../releases.toml");

/// A sendmail version such as `8.18.2` or `8.17.1.9`, compared numerically.
#[derive(Clone, Debug)]
pub struct Version(Vec<u32>);

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
    /// The tarball's SHA-256, or empty when what was published is a
    /// SHA-512 only; every sum given is checked.
    #[serde(default)]
    pub sha256: String,
    #[serde(default)]
    pub sha512: String,
    /// Empty (both) for a release Debian never carried.
    #[serde(default)]
    pub debian_version: String,
    #[serde(default)]
    pub(crate) debian_suites: Vec<String>,
    /// The primary fingerprint of the key that signs this release; empty
    /// when not pinned (then any of the table's `signing_keys` will do).
    #[serde(default)]
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
            sha512: String::new(),
            debian_version: String::new(),
            debian_suites: vec![],
            signing_key: String::new(),
        })
    }

    /// What names the tarball in stamps and in the work directory: its
    /// SHA-256, or `sha512:` and its SHA-512 when only that is pinned.
    pub(crate) fn source_id(&self) -> String {
        if self.sha256.is_empty() {
            format!("sha512:{}", self.sha512)
        } else {
            self.sha256.clone()
        }
    }

    /// The sums pinned, as the user reads them (`SHA-256 X, SHA-512 Y`).
    pub fn sums(&self) -> String {
        let mut s = vec![];
        if !self.sha256.is_empty() {
            s.push(format!("SHA-256 {}", self.sha256));
        }
        if !self.sha512.is_empty() {
            s.push(format!("SHA-512 {}", self.sha512));
        }
        s.join(", ")
    }

    /// The upstream version prefix of Debian source versions carrying it.
    pub(crate) fn debian_upstream_version(&self) -> &str {
        &self.version
    }
}

#[derive(Debug, Deserialize)]
pub struct Table {
    pub default: String,
    #[serde(rename = "release")]
    pub releases: Vec<Release>,
    #[serde(rename = "compatibility", default)]
    pub rules: Vec<Rule>,
    /// Primary fingerprints of sendmail's signing keys (PGPKEYS).
    #[serde(default)]
    pub signing_keys: Vec<String>,
}

/// One compatibility rule: releases before `before` need an OpenSSL before
/// `openssl_before` and/or a Cyrus SASL before `cyrus_sasl_before`, lack
/// the defines in `lacks`, or carry the flaw `warning` describes.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub before: String,
    pub(crate) openssl_before: Option<String>,
    pub(crate) cyrus_sasl_before: Option<String>,
    /// Defines (as `sendmail -d0.14` lists them) these releases do not have.
    #[serde(default)]
    pub lacks: Vec<String>,
    /// A flaw of these releases that no build option closes: said, not refused.
    pub warning: Option<String>,
    pub fix: String,
}

/// What a release builds and works with, from the rules that cover it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compat {
    /// The first OpenSSL it does not build with, e.g. "3.0.0".
    pub(crate) openssl_before: Option<(String, String)>,
    /// The first Cyrus SASL its AUTH code does not work with, e.g. "2.1.28".
    pub(crate) cyrus_sasl_before: Option<(String, String)>,
    /// Defines it does not have, each with the fix.
    pub lacks: Vec<(String, String)>,
    /// Flaws it carries, each with the fix.
    pub warnings: Vec<(String, String)>,
}

/// "3.0.0" -> (3, 0, 0); missing parts are 0.
fn triple(s: &str) -> (u64, u64, u64) {
    let mut p = s.split('.').map(|x| x.trim().parse::<u64>().unwrap_or(0));
    (p.next().unwrap_or(0), p.next().unwrap_or(0), p.next().unwrap_or(0))
}

/// (major, minor, patch) of an `OPENSSL_VERSION_NUMBER`: 0xMNN00PP0 since
/// 3.0, 0xMNNFFPPS before (1.1.1w is 0x1010117f; the letter is the FF byte).
pub(crate) fn openssl_triple(n: u64) -> (u64, u64, u64) {
    let major = n >> 28;
    if major >= 3 {
        (major, (n >> 20) & 0xff, (n >> 4) & 0xff)
    } else {
        (major, (n >> 20) & 0xff, (n >> 12) & 0xff)
    }
}

impl Compat {
    /// Refuses an OpenSSL (`OPENSSL_VERSION_NUMBER`, its text) and a Cyrus
    /// SASL version (when SASL is on) that this release does not fit.
    pub fn check(&self, version: &Version, openssl: u64, openssl_text: &str, sasl: Option<&str>) -> Result<()> {
        if let Some((limit, fix)) = &self.openssl_before {
            if openssl_triple(openssl) >= triple(limit) {
                bail!(
                    "sendmail {version} does not build with OpenSSL {limit} or later, and the OpenSSL found is {openssl_text}: {fix}"
                );
            }
        }
        if let (Some((limit, fix)), Some(found)) = (&self.cyrus_sasl_before, sasl) {
            if triple(found) >= triple(limit) {
                bail!(
                    "sendmail {version}'s SMTP AUTH does not work with Cyrus SASL {limit} or later (it offers AUTH and every login fails), and the Cyrus SASL found is {found}: {fix}"
                );
            }
        }
        Ok(())
    }

    /// The fix when this release lacks `define`, None when it has it.
    pub(crate) fn lacking(&self, define: &str) -> Option<&str> {
        self.lacks.iter().find(|(d, _)| d == define).map(|(_, fix)| fix.as_str())
    }

    /// One line per flaw of `version` that no build switch closes.
    pub(crate) fn warning_lines(&self, version: &Version) -> Vec<String> {
        self.warnings.iter().map(|(w, fix)| format!("sendmail {version} {w}: {fix}")).collect()
    }
}

pub fn table() -> Table {
    toml::from_str(TABLE).expect("releases.toml parses (unit-tested)")
}

impl Table {
    pub fn default_version(&self) -> Version {
        self.default.parse().expect("default version parses (unit-tested)")
    }

    /// The compatibility of any release, pinned or not.
    pub fn compat(&self, version: &Version) -> Compat {
        let mut c = Compat::default();
        for r in &self.rules {
            let before: Version = r.before.parse().expect("compatibility versions parse (unit-tested)");
            if *version >= before {
                continue;
            }
            if let Some(o) = &r.openssl_before {
                c.openssl_before = Some((o.clone(), r.fix.clone()));
            }
            if let Some(s) = &r.cyrus_sasl_before {
                c.cyrus_sasl_before = Some((s.clone(), r.fix.clone()));
            }
            c.lacks.extend(r.lacks.iter().map(|d| (d.clone(), r.fix.clone())));
            if let Some(w) = &r.warning {
                c.warnings.push((w.clone(), r.fix.clone()));
            }
        }
        c
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
                if r.sha256.is_empty() {
                    // Pinned by SHA-512 alone: the tarball must match both.
                    return Ok(Release { sha256: sum, ..r.clone() });
                }
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

pub(crate) fn normalise_sha256(s: &str) -> Result<String> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("`{s}` is not a SHA-256: expected 64 hexadecimal digits");
    }
    Ok(s)
}

#[cfg(test)]
fn normalise_sha512(s: &str) -> Result<String> {
    let s = s.trim().to_ascii_lowercase();
    if s.len() != 128 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("`{s}` is not a SHA-512: expected 128 hexadecimal digits");
    }
    Ok(s)
}

/// Parses a version given on the command line, with context for the error.
pub(crate) fn parse_version(s: &str) -> Result<Version> {
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
            assert!(!r.sha256.is_empty() || !r.sha512.is_empty(), "{v}: no sum pinned");
            if !r.sha256.is_empty() {
                assert_eq!(normalise_sha256(&r.sha256).unwrap(), r.sha256);
            }
            if !r.sha512.is_empty() {
                assert_eq!(normalise_sha512(&r.sha512).unwrap(), r.sha512);
            }
            assert!(r.size > 1_000_000);
            assert_eq!(r.debian_version.is_empty(), r.debian_suites.is_empty(), "{v}: a Debian version needs suites");
            assert!(r.debian_version.is_empty() || r.debian_version.starts_with(&format!("{v}-")));
            assert!(r.signing_key.is_empty() || t.signing_keys.contains(&r.signing_key), "{v}: unlisted key");
        }
        assert!(t.signing_keys.len() >= 16);
        for k in &t.signing_keys {
            assert!(k.len() == 40 && k.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase()), "{k}");
        }
        assert!(t.find(&"8.17.1.9".parse().unwrap()).is_some());
    }

    #[test]
    fn compatibility_per_release() {
        let t = table();
        let v = |s: &str| s.parse::<Version>().unwrap();
        const SSL3: u64 = 0x3000_0130;
        const SSL111W: u64 = 0x1010_117f;
        for r in &t.rules {
            r.before.parse::<Version>().unwrap();
        }
        // (release, builds with OpenSSL 3.0, builds with 1.1.1, AUTH works with SASL 2.1.28)
        for (rel, ssl3, ssl111, sasl228) in [
            ("8.18.2", true, true, true),
            ("8.18.1", true, true, true),
            ("8.17.2", true, true, true),
            ("8.17.1.9", true, true, true),
            ("8.17.1", true, true, true),
            ("8.16.1", false, true, false),
            ("8.15.2", false, true, false),
        ] {
            let c = t.compat(&v(rel));
            assert_eq!(c.check(&v(rel), SSL3, "OpenSSL 3.0.19", None).is_ok(), ssl3, "{rel} with 3.0");
            assert_eq!(c.check(&v(rel), SSL111W, "OpenSSL 1.1.1w", None).is_ok(), ssl111, "{rel} with 1.1.1w");
            assert_eq!(c.check(&v(rel), SSL111W, "OpenSSL 1.1.1w", Some("2.1.28")).is_ok(), sasl228, "{rel} SASL");
            assert!(c.check(&v(rel), SSL111W, "OpenSSL 1.1.1w", Some("2.1.27")).is_ok(), "{rel} SASL 2.1.27");
        }
        let c = t.compat(&v("8.16.1"));
        let e = c.check(&v("8.16.1"), SSL3, "OpenSSL 3.0.19 27 Jan 2026", None).unwrap_err().to_string();
        assert!(e.contains("OpenSSL 3.0.0 or later") && e.contains("3.0.19") && e.contains("--openssl-prefix"), "{e}");
        let e = c.check(&v("8.16.1"), SSL111W, "x", Some("2.1.28")).unwrap_err().to_string();
        assert!(e.contains("Cyrus SASL 2.1.28") && e.contains("--without sasl"), "{e}");
        // (release, has _FFR_REJECT_NUL_BYTE, closes bare-LF end of data)
        for (rel, nul, eod) in [
            ("8.18.2", true, true),
            ("8.18.1", true, true),
            ("8.17.1.9", true, false),
            ("8.15.2", true, false),
            ("8.14.7", true, false),
            ("8.14.6", false, false),
        ] {
            let c = t.compat(&v(rel));
            assert_eq!(c.lacking("_FFR_REJECT_NUL_BYTE").is_none(), nul, "{rel} NUL");
            assert_eq!(c.warning_lines(&v(rel)).is_empty(), eod, "{rel} end of data");
        }
        let fix = t.compat(&v("8.14.6")).lacking("_FFR_REJECT_NUL_BYTE").unwrap().to_string();
        assert!(fix.contains("--without reject-nul") && fix.contains("CVE-2023-51765"), "{fix}");
        let w = t.compat(&v("8.17.1.9")).warning_lines(&v("8.17.1.9")).join("\n");
        assert!(w.starts_with("sendmail 8.17.1.9 ends DATA at <LF>.<CR><LF>") && w.ends_with("8.18.1 or later"), "{w}");
        for r in &t.releases {
            assert!(
                t.compat(&r.version()).lacking("_FFR_REJECT_NUL_BYTE").is_none(),
                "{}: pinned without it",
                r.version
            );
        }
        assert_eq!(openssl_triple(SSL3), (3, 0, 19));
        assert_eq!(openssl_triple(SSL111W), (1, 1, 1));
        assert_eq!(openssl_triple(0x3050_0010), (3, 5, 1));
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
        let v: Version = "8.17.2".parse().unwrap();
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

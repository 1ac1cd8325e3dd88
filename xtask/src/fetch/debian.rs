//! Debian's source package as a carrier of the upstream tarball.
//!
//! The archive's address is never written here: it is read from the host's
//! own apt sources, and `apt-get` runs against a private state directory so
//! the system's apt configuration is left alone.

use super::Candidate;
use crate::{plan::Plan, proc, tools};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// An archive of the host's apt sources: the main archive (serving plain
/// codenames such as `bookworm`, and `-updates`), or the security archive
/// (serving `bookworm-security`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Archive {
    pub uri: String,
    pub(crate) signed_by: Option<String>,
    pub security: bool,
}

/// Archives from deb822 text.
pub(crate) fn archives_from_deb822(text: &str) -> Vec<Archive> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let mut fields = std::collections::HashMap::new();
        let mut last: Option<String> = None;
        for line in stanza.lines() {
            if line.starts_with('#') {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if let Some(k) = &last {
                    let v: &mut String = fields.entry(k.clone()).or_default();
                    v.push(' ');
                    v.push_str(line.trim());
                }
                continue;
            }
            if let Some((k, v)) = line.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                fields.insert(k.clone(), v.trim().to_string());
                last = Some(k);
            }
        }
        let get = |k: &str| fields.get(k).map(String::as_str).unwrap_or("");
        let types: Vec<&str> = get("types").split_whitespace().collect();
        if !types.contains(&"deb") || get("enabled").eq_ignore_ascii_case("no") {
            continue;
        }
        let Some(security) = archive_kind(get("suites").split_whitespace()) else { continue };
        let signed_by = fields.get("signed-by").filter(|s| !s.contains("BEGIN PGP")).cloned();
        for uri in get("uris").split_whitespace() {
            push_unique(&mut out, Archive { uri: uri.to_string(), signed_by: signed_by.clone(), security });
        }
    }
    out
}

/// Archives from one-line `sources.list` text.
pub(crate) fn archives_from_list(text: &str) -> Vec<Archive> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("deb ") else {
            continue;
        };
        let mut rest = rest.trim();
        let mut signed_by = None;
        if rest.starts_with('[') {
            let Some(end) = rest.find(']') else { continue };
            for opt in rest[1..end].split_whitespace() {
                if let Some(v) = opt.strip_prefix("signed-by=") {
                    signed_by = Some(v.to_string());
                }
            }
            rest = rest[end + 1..].trim();
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        if let Some(security) = archive_kind([suite].into_iter()) {
            push_unique(&mut out, Archive { uri: uri.to_string(), signed_by, security });
        }
    }
    out
}

/// The suite names every Debian archive serves besides the codenames: the
/// archive's own aliases (each has a Release file under dists/).
pub(crate) const ARCHIVE_ALIASES: &[&str] = &["unstable", "testing", "stable", "oldstable"];

/// The plain suites (codenames, no `-updates`/`-security`) the host's
/// sources name, from deb822 `Suites:` fields and one-line `deb` entries.
pub(crate) fn suites_in_sources(text: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let words: Vec<&str> = if let Some(v) = line.strip_prefix("Suites:").or_else(|| line.strip_prefix("suites:")) {
            v.split_whitespace().collect()
        } else if let Some(rest) = line.strip_prefix("deb ") {
            let rest = match rest.trim().strip_prefix('[') {
                Some(r) => r.split_once(']').map_or("", |(_, after)| after),
                None => rest,
            };
            rest.split_whitespace().nth(1).into_iter().collect()
        } else {
            continue;
        };
        for w in words {
            if !w.contains('-') && !w.contains('/') && !out.iter().any(|o| o == w) {
                out.push(w.to_string());
            }
        }
    }
    out
}

/// The suites to search for a release's source package: those given with
/// --debian-suite, else the release's own from the table, else (a release
/// outside the table) the host's own suites and the archive's aliases.
pub(crate) fn suites_to_search(given: &[String], pinned: &[String], host: &[String]) -> Vec<String> {
    if !given.is_empty() {
        return given.to_vec();
    }
    if !pinned.is_empty() {
        return pinned.to_vec();
    }
    let mut out: Vec<String> = host.to_vec();
    for a in ARCHIVE_ALIASES {
        if !out.iter().any(|o| o == a) {
            out.push(a.to_string());
        }
    }
    out
}

/// The host's plain suites, from /etc/apt.
pub(crate) fn host_suites() -> Vec<String> {
    let etc = Path::new("/etc/apt");
    let mut text = std::fs::read_to_string(etc.join("sources.list")).unwrap_or_default();
    if let Ok(dir) = std::fs::read_dir(etc.join("sources.list.d")) {
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            text.push('\n');
            text.push_str(&std::fs::read_to_string(&f).unwrap_or_default());
        }
    }
    suites_in_sources(&text)
}

/// Some(false) for an entry serving a plain codename, Some(true) for one
/// serving only `-security` suites, None for anything else (backports,
/// third-party `stable/` layouts).
fn archive_kind<'a>(mut suites: impl Iterator<Item = &'a str>) -> Option<bool> {
    let suites: Vec<&str> = suites.by_ref().collect();
    if suites.iter().any(|s| !s.contains('-') && !s.contains('/')) {
        Some(false)
    } else if suites.iter().any(|s| s.ends_with("-security")) {
        Some(true)
    } else {
        None
    }
}

fn is_security_suite(s: &str) -> bool {
    s.ends_with("-security")
}

fn push_unique(v: &mut Vec<Archive>, a: Archive) {
    if !v.contains(&a) {
        v.push(a);
    }
}

/// The deb-src stanzas for our private apt state: security suites from the
/// security archive, the others from the main archive.
pub(crate) fn deb_src_stanza(archives: &[Archive], suites: &[String]) -> String {
    let mut s = String::new();
    for a in archives {
        let wanted: Vec<&str> =
            suites.iter().map(String::as_str).filter(|s| is_security_suite(s) == a.security).collect();
        if wanted.is_empty() {
            continue;
        }
        s.push_str("Types: deb-src\n");
        s.push_str(&format!("URIs: {}\n", a.uri));
        s.push_str(&format!("Suites: {}\n", wanted.join(" ")));
        s.push_str("Components: main\n");
        if let Some(k) = &a.signed_by {
            s.push_str(&format!("Signed-By: {k}\n"));
        }
        s.push('\n');
    }
    s
}

/// Source versions of `sendmail` from `apt-cache showsrc` output that carry
/// upstream version `upstream`, the preferred one first.
pub(crate) fn carrying_versions(showsrc: &str, upstream: &str, preferred: &str) -> Vec<String> {
    let mut v: Vec<String> = showsrc
        .lines()
        .filter_map(|l| l.strip_prefix("Version: "))
        .map(|s| s.trim().to_string())
        .filter(|s| {
            let no_epoch = s.split_once(':').map_or(s.as_str(), |(_, r)| r);
            no_epoch.strip_prefix(upstream).is_some_and(|r| r.starts_with('-'))
        })
        .collect();
    v.sort();
    v.dedup();
    v.sort_by_key(|s| s != preferred);
    v
}

/// The host's main archives, from /etc/apt.
pub(crate) fn host_archives() -> Result<Vec<Archive>> {
    let mut out = Vec::new();
    let etc = Path::new("/etc/apt");
    if let Ok(t) = std::fs::read_to_string(etc.join("sources.list")) {
        out.extend(archives_from_list(&t));
    }
    if let Ok(dir) = std::fs::read_dir(etc.join("sources.list.d")) {
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            match f.extension().and_then(|e| e.to_str()) {
                Some("sources") => out.extend(archives_from_deb822(&text)),
                Some("list") => out.extend(archives_from_list(&text)),
                _ => {}
            }
        }
    }
    if out.is_empty() {
        bail!("the host's apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d/) name no Debian main archive to take the source package from");
    }
    Ok(out)
}

/// Downloads the orig tarball (and upstream's .asc) into `into`.
pub fn download(plan: &Plan, into: &Path, given_suites: &[String]) -> Result<Candidate> {
    tools::find(&tools::APT_GET).context("Debian's source package needs apt-get")?;
    let release = &plan.release;
    let archives = host_archives()?;
    let searching = given_suites.is_empty() && release.debian_suites.is_empty();
    let suites = suites_to_search(given_suites, &release.debian_suites, &host_suites());
    let state = plan.cache_dir.join("apt").join(suites.join("+"));
    let parts = state.join("sources.list.d");
    for d in [parts.clone(), state.join("lists/partial"), state.join("cache/archives/partial")] {
        std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    }
    std::fs::write(parts.join("smtls.sources"), deb_src_stanza(&archives, &suites))?;
    let opts = [
        "-q".to_string(),
        "-o".into(),
        "Dir::Etc::SourceList=/dev/null".into(),
        "-o".into(),
        format!("Dir::Etc::SourceParts={}", parts.display()),
        "-o".into(),
        format!("Dir::State::Lists={}", state.join("lists").display()),
        "-o".into(),
        format!("Dir::Cache={}", state.join("cache").display()),
        "-o".into(),
        "APT::Sandbox::User=root".into(),
    ];
    let opts = if tools::is_root() { &opts[..] } else { &opts[..opts.len() - 2] };
    let apt = |tool: &str| {
        let mut c = Command::new(tool);
        c.args(opts);
        c
    };
    crate::progress::info(&format!(
        "apt-get update (deb-src {} from the host's archive, private state in {})",
        suites.join(" "),
        state.display()
    ));
    let out = proc::capture(apt("apt-get").arg("update"))?;
    // Searching, a suite the archive does not serve only costs its lists.
    if !out.status.success() && !searching {
        bail!("apt-get update failed: {}", last_line(&out.stderr));
    }
    // apt-cache's warnings go to the terminal, as apt-get's would.
    let showsrc =
        proc::stdout(apt("apt-cache").args(["showsrc", "sendmail"]).stderr(Stdio::inherit())).unwrap_or_default();
    let versions = carrying_versions(&showsrc, release.debian_upstream_version(), &release.debian_version);
    if versions.is_empty() {
        bail!(
            "no sendmail source package for upstream {} in suites {}{}",
            release.version,
            suites.join(", "),
            if searching { " (searched; name others with --debian-suite SUITE)" } else { "" }
        );
    }
    std::fs::create_dir_all(into)?;
    let spec = format!("sendmail={}", versions[0]);
    crate::progress::info(&format!("apt-get source --download-only {spec}"));
    let out = proc::capture(apt("apt-get").args(["source", "--download-only", &spec]).current_dir(into))?;
    if !out.status.success() {
        bail!("apt-get source {spec} failed: {}", last_line(&out.stderr));
    }
    let orig = into.join(format!("sendmail_{}.orig.tar.gz", release.version));
    if !orig.exists() {
        bail!("apt-get source {spec} did not produce {}", orig.display());
    }
    let asc = into.join(format!("sendmail_{}.orig.tar.gz.asc", release.version));
    Ok(Candidate {
        tarball: orig,
        signature: asc.exists().then_some(asc),
        origin: format!("Debian source package {spec}"),
    })
}

fn last_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_main_archive_only() {
        let text = "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n\n\
Types: deb-src\nURIs: http://other.example/debian\nSuites: sid\n\n\
Types: deb\nEnabled: no\nURIs: http://disabled.example/debian\nSuites: sid\n";
        let a = archives_from_deb822(text);
        let key = Some("/usr/share/keyrings/debian-archive-keyring.gpg".to_string());
        assert_eq!(
            a,
            vec![
                Archive { uri: "http://mirror.example/debian".into(), signed_by: key, security: false },
                Archive { uri: "http://mirror.example/debian-security".into(), signed_by: None, security: true },
            ]
        );
    }

    #[test]
    fn one_line_format() {
        let text = "deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n\
deb http://m.example/debian-security bookworm-security main\n#deb http://x.example/debian sid main\n\
deb-src http://s.example/debian sid main\ndeb http://plain.example/debian trixie main contrib\n";
        let a = archives_from_list(text);
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].signed_by.as_deref(), Some("/k.gpg"));
        assert!(a[1].security);
        assert_eq!(a[2].uri, "http://plain.example/debian");
    }

    #[test]
    fn stanza_for_private_state() {
        let a = vec![
            Archive { uri: "http://m.example/debian".into(), signed_by: Some("/k.gpg".into()), security: false },
            Archive { uri: "http://m.example/debian-security".into(), signed_by: None, security: true },
        ];
        let s = deb_src_stanza(&a, &["sid".into(), "forky".into()]);
        assert_eq!(
            s,
            "Types: deb-src\nURIs: http://m.example/debian\nSuites: sid forky\nComponents: main\nSigned-By: /k.gpg\n\n"
        );
        let s = deb_src_stanza(&a, &["bookworm".into(), "bookworm-security".into()]);
        assert!(s.contains("URIs: http://m.example/debian\nSuites: bookworm\n"), "{s}");
        assert!(s.contains("URIs: http://m.example/debian-security\nSuites: bookworm-security\n"), "{s}");
    }

    #[test]
    fn suites_come_from_the_host_or_the_user() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n";
        assert_eq!(suites_in_sources(deb822), ["bookworm"]);
        let list = "deb [signed-by=/k.gpg] http://m.example/debian trixie main\n# deb http://m.example/debian sid main\ndeb http://m.example/debian trixie-updates main\n";
        assert_eq!(suites_in_sources(list), ["trixie"]);
        let host = vec!["bookworm".to_string()];
        assert_eq!(suites_to_search(&[], &[], &host), ["bookworm", "unstable", "testing", "stable", "oldstable"]);
        assert_eq!(suites_to_search(&[], &["trixie".into()], &host), ["trixie"]);
        assert_eq!(suites_to_search(&["experimental".into()], &["trixie".into()], &host), ["experimental"]);
    }

    #[test]
    fn versions_carrying_upstream() {
        let showsrc = "Package: sendmail\nVersion: 8.18.2-3\n\nPackage: sendmail\nVersion: 8.18.2-2\n\nVersion: 8.18.1-1\nVersion: 8.18.22-1\n";
        assert_eq!(carrying_versions(showsrc, "8.18.2", "8.18.2-2"), vec!["8.18.2-2", "8.18.2-3"]);
        assert_eq!(carrying_versions(showsrc, "8.18.2", "8.18.2-9"), vec!["8.18.2-2", "8.18.2-3"]);
        assert!(carrying_versions(showsrc, "8.17.1.9", "").is_empty());
    }
}

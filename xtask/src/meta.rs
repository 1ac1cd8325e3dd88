//! The package's metadata, set once: its name, maintainer, revision, summary,
//! description and homepage as one value ([`Info`]), resolved before any
//! writer runs, and the texts made from it (the Debian changelog and
//! copyright). Every format, the staged docs, the FreeBSD port and the
//! source packages read it from here; none restates a field.

use crate::{epoch, template};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

/// The package's name in every format.
pub(crate) const PACKAGE_NAME: &str = "smtls-sendmail";
/// Who the packages name as maintainer unless [`MAINTAINER_ENV`] says.
pub const MAINTAINER: &str = "smtls packagers <smtls-packagers@users.noreply.github.com>";
/// The one place a user sets the maintainer ("Name <address>") of every
/// format and of the port.
pub(crate) const MAINTAINER_ENV: &str = "SMTLS_MAINTAINER";
/// The FreeBSD port's origin (category/name): the overlay port in
/// `ports/`, and the `origin` of the .pkg.
pub(crate) const FREEBSD_ORIGIN: &str = "mail/sendmail-tls";
/// The Debian revision appended to the upstream version unless
/// `package --revision` names another.
pub(crate) const DEBIAN_REVISION: &str = "0smtls1";
/// One line about the package.
pub(crate) const SUMMARY: &str = "sendmail MTA with STARTTLS, TLS_EC and full certificate chains";
/// sendmail's home page (the releases come from ftp.sendmail.org).
pub(crate) const HOMEPAGE: &str = "https://www.sendmail.org/";
/// The FreeBSD port's PORTNAME and PKGNAMESUFFIX: a variant of sendmail,
/// named with a suffix as the Porter's Handbook names variants, so the
/// package is called like the port's directory ([`FREEBSD_ORIGIN`]).
pub(crate) const FREEBSD_PORTNAME: &str = "sendmail";
pub(crate) const FREEBSD_PKGNAMESUFFIX: &str = "-tls";
/// PORTNAME and PKGNAMESUFFIX: the port's package and the .pkg's name.
pub(crate) const FREEBSD_PACKAGE_NAME: &str = "sendmail-tls";
/// The FreeBSD MAINTAINER unless [`MAINTAINER_ENV`] says: the Porter's
/// Handbook's address for a port nobody has taken (problem reports reach
/// the ports team, not an unread mailbox).
pub(crate) const FREEBSD_DEFAULT_MAINTAINER: &str = "ports@FreeBSD.org";

/// Everything a package format says about the package, resolved once (the
/// environment read, the relations computed) before any writer runs.
/// Writers take it by reference and read nothing else about the package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Info {
    /// [`PACKAGE_NAME`].
    pub name: String,
    /// The upstream version, e.g. 8.18.2.
    pub version: String,
    /// The Debian revision, e.g. 0smtls1 (formats without one ignore it).
    pub revision: String,
    /// "Name <address>", from [`MAINTAINER_ENV`] or [`MAINTAINER`].
    pub maintainer: String,
    /// One line.
    pub summary: String,
    /// The long description: paragraphs of lines of at most 72
    /// characters, separated by one empty line ([`description`]).
    pub description: String,
    pub(crate) homepage: String,
    /// The FreeBSD port's origin (category/name).
    pub(crate) freebsd_origin: String,
    /// The FreeBSD package's name ([`FREEBSD_PACKAGE_NAME`]).
    pub(crate) freebsd_name: String,
    /// The FreeBSD MAINTAINER address: [`MAINTAINER_ENV`]'s when set, else
    /// [`FREEBSD_DEFAULT_MAINTAINER`].
    pub(crate) freebsd_maintainer: String,
    /// The build options the binaries have, in table order.
    pub options: Vec<String>,
    /// Package relations (Debian's names): what the option table adds,
    /// and Depends once computed from the staged ELF files.
    pub(crate) relations: Relations,
}

/// Debian package relations, each list sorted, each package once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Relations {
    pub(crate) pre_depends: Vec<String>,
    /// Empty until the Depends of the built files are computed
    /// (`package` resolves it before writing a .deb).
    pub depends: Vec<String>,
    pub recommends: Vec<String>,
    pub(crate) suggests: Vec<String>,
    pub conflicts: Vec<String>,
    pub replaces: Vec<String>,
    pub(crate) provides: Vec<String>,
}

impl Info {
    /// The metadata of `version` built with `options`: reads
    /// [`MAINTAINER_ENV`] (once, here), relations left to the caller.
    pub fn new(version: &str, revision: &str, options: &[String]) -> Result<Info> {
        let set = maintainer_from_env()?;
        let freebsd_maintainer = match &set {
            Some(m) => parse_maintainer(m)?.1,
            None => FREEBSD_DEFAULT_MAINTAINER.to_string(),
        };
        Ok(Info {
            name: PACKAGE_NAME.to_string(),
            version: version.to_string(),
            revision: parse_revision(revision)?,
            maintainer: set.unwrap_or_else(|| MAINTAINER.to_string()),
            summary: SUMMARY.to_string(),
            description: description(version, options),
            homepage: HOMEPAGE.to_string(),
            freebsd_origin: FREEBSD_ORIGIN.to_string(),
            freebsd_name: FREEBSD_PACKAGE_NAME.to_string(),
            freebsd_maintainer,
            options: options.to_vec(),
            relations: Relations::default(),
        })
    }

    /// COMMENT of the port and the .pkg: the summary starting with a
    /// capital, as the ports tree's COMMENT does.
    pub(crate) fn freebsd_comment(&self) -> String {
        let mut c = self.summary.chars();
        c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
    }

    /// The Debian version, upstream-revision.
    pub fn debian_version(&self) -> String {
        debian_version(&self.version, &self.revision)
    }
}

/// The long description of `version` built with `options`: what the build
/// proves, where certificates go (/etc/mail/certs on every system), and the
/// options.
pub fn description(version: &str, options: &[String]) -> String {
    let mut long = format!(
        "sendmail {version} built from the pinned, verified upstream release with\n\
         STARTTLS, elliptic-curve key exchange (TLS_EC) and\n\
         _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE, so the server certificate file\n\
         holds the full chain. SSLv3, TLS 1.0 and TLS 1.1 are off.\n\
         \n\
         No certificate is created for you: put host.cert (the full chain),\n\
         host.key (mode 0600) and cacert.pem in /etc/mail/certs."
    );
    if !options.is_empty() {
        let mut words = vec!["Build", "options:"];
        words.extend(options.iter().map(String::as_str));
        long.push_str("\n\n");
        long.push_str(&wrap(&words, 72).join("\n"));
        if options.iter().any(|o| o == "milter") {
            long.push_str(
                "\n\nlibmilter.a and its headers (mfapi.h, mfdef.h) are included for\nbuilding mail filters.",
            );
        }
    }
    long
}

/// Words joined into lines of at most `width` characters.
pub(crate) fn wrap(words: &[&str], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = vec![];
    for w in words {
        match lines.last_mut() {
            Some(l) if l.len() + 1 + w.len() <= width => {
                l.push(' ');
                l.push_str(w);
            }
            _ => lines.push(w.to_string()),
        }
    }
    lines
}

/// The maintainer, "Name <address>": [`MAINTAINER_ENV`] when set, else
/// [`MAINTAINER`].
pub fn maintainer() -> Result<String> {
    Ok(maintainer_from_env()?.unwrap_or_else(|| MAINTAINER.to_string()))
}

/// [`MAINTAINER_ENV`], checked, when it is set and not empty.
fn maintainer_from_env() -> Result<Option<String>> {
    match std::env::var(MAINTAINER_ENV) {
        Ok(m) if !m.trim().is_empty() => {
            parse_maintainer(&m).with_context(|| format!("{MAINTAINER_ENV}={m:?}"))?;
            Ok(Some(m.trim().to_string()))
        }
        _ => Ok(None),
    }
}

/// (name, address) of "Name <address>"; refuses anything else, so every
/// format gets a name and a plausible address.
pub(crate) fn parse_maintainer(m: &str) -> Result<(String, String)> {
    let bad = || format!("the maintainer must look like `Full Name <user@example.org>`, not {m:?}");
    let (name, rest) = m.trim().split_once('<').with_context(bad)?;
    let addr = rest.strip_suffix('>').with_context(bad)?.trim();
    let name = name.trim();
    let (user, host) = addr.split_once('@').with_context(bad)?;
    if name.is_empty() || user.is_empty() || !host.contains('.') || addr.contains(char::is_whitespace) {
        bail!("{}", bad());
    }
    Ok((name.to_string(), addr.to_string()))
}

/// A Debian revision as Policy 5.6.12 allows it: not empty, only ASCII
/// letters, digits and `+ . ~` (no hyphen: the version's last hyphen
/// separates the revision). Returns it as given.
pub(crate) fn parse_revision(r: &str) -> Result<String> {
    let what = "a Debian revision (Policy 5.6.12) is not empty and has only letters, digits, `+`, `.` and `~`, \
                e.g. 0smtls2";
    if r.is_empty() {
        bail!("the revision is empty: {what}");
    }
    if let Some(c) = r.chars().find(|c| !(c.is_ascii_alphanumeric() || "+.~".contains(*c))) {
        bail!("{c:?} is not allowed in the revision {r:?}: {what}");
    }
    Ok(r.to_string())
}

/// The Debian package version for an upstream version and a revision.
pub fn debian_version(upstream: &str, revision: &str) -> String {
    format!("{upstream}-{revision}")
}

/// The Debian changelog of this build.
pub(crate) fn debian_changelog(info: &Info, secs: u64) -> Result<String> {
    let (version, maintainer) = (&info.version, &info.maintainer);
    Ok(format!(
        "{PACKAGE_NAME} ({}) unstable; urgency=medium\n\n  * sendmail {version} built by smtls with STARTTLS, TLS_EC and\n    \
         _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE; certificates are never created\n    \
         automatically (see /etc/mail/sendmail.mc).\n\n -- {maintainer}  {}\n",
        info.debian_version(),
        epoch::rfc2822(secs)
    ))
}

/// The Debian copyright file: sendmail's LICENSE in DEP-5 form.
pub fn copyright(version: &str, license: &str) -> Result<String> {
    let indented: Vec<String> = license
        .lines()
        .map(|l| {
            let l = l.trim_end().replace('\t', "        ");
            if l.trim().is_empty() {
                " .".to_string()
            } else {
                format!(" {l}")
            }
        })
        .collect();
    let text = indented.join("\n");
    template::render("copyright.in", &BTreeMap::from([("VERSION", version.to_string()), ("LICENSE_TEXT", text)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changelog_and_copyright() {
        let info = |r: &str| Info { maintainer: MAINTAINER.into(), ..Info::new("8.18.2", r, &[]).unwrap() };
        let c = debian_changelog(&info(DEBIAN_REVISION), 1_766_793_600).unwrap();
        assert!(c.starts_with("smtls-sendmail (8.18.2-0smtls1) unstable; urgency=medium\n"), "{c}");
        let c = debian_changelog(&info("0smtls2"), 1_766_793_600).unwrap();
        assert!(c.starts_with("smtls-sendmail (8.18.2-0smtls2) unstable; urgency=medium\n"), "{c}");
        assert!(c.ends_with("  Sat, 27 Dec 2025 00:00:00 +0000\n"), "{c}");
        let cr = copyright("8.18.2", "\t\tSENDMAIL LICENSE\n\nterms\n").unwrap();
        assert!(cr.contains("License: Sendmail\n                 SENDMAIL LICENSE\n .\n terms\n"), "{cr}");
    }

    #[test]
    fn one_description() {
        let d = description("8.18.2", &["sasl".into(), "milter".into()]);
        assert!(d.starts_with("sendmail 8.18.2 built from the pinned"), "{d}");
        assert!(d.contains("\n\nBuild options: sasl milter\n\nlibmilter.a"), "{d}");
        assert!(d.lines().all(|l| l.len() <= 72 && !l.ends_with(' ')), "{d}");
        assert!(!description("8.18.2", &[]).contains("Build options"));
        assert_eq!(wrap(&["a", "bb", "ccc"], 4), ["a bb", "ccc"]);
    }

    #[test]
    fn revisions_follow_policy() {
        for good in ["0smtls1", "0smtls2", "1", "0+deb12u1", "1~bpo12+1", "0.1"] {
            assert_eq!(parse_revision(good).unwrap(), good);
        }
        for bad in ["", "0smtls-2", "0 smtls", "0smtls_1", "0:1", "0smtlsé"] {
            let e = parse_revision(bad).unwrap_err().to_string();
            assert!(e.contains("Policy 5.6.12"), "{bad}: {e}");
        }
    }

    #[test]
    fn freebsd_names_follow_the_ports_tree() {
        assert_eq!(FREEBSD_PACKAGE_NAME, format!("{FREEBSD_PORTNAME}{FREEBSD_PKGNAMESUFFIX}"));
        assert_eq!(Some(FREEBSD_PACKAGE_NAME), FREEBSD_ORIGIN.rsplit('/').next(), "named like its directory");
        let info = Info::new("8.18.2", DEBIAN_REVISION, &[]).unwrap();
        assert!(info.freebsd_comment().starts_with("Sendmail MTA "), "{}", info.freebsd_comment());
        assert_eq!(info.freebsd_comment().to_lowercase(), SUMMARY.to_lowercase());
    }

    #[test]
    fn maintainer_has_a_name_and_an_address() {
        assert_eq!(parse_maintainer(MAINTAINER).unwrap().1, "smtls-packagers@users.noreply.github.com");
        assert_eq!(
            parse_maintainer(" Jane Doe <jane@example.org> ").unwrap(),
            ("Jane Doe".to_string(), "jane@example.org".to_string())
        );
        for bad in
            ["jane@example.org", "<jane@example.org>", "Jane <jane>", "Jane <jane@example.org", "Jane <j d@x.org>"]
        {
            assert!(parse_maintainer(bad).is_err(), "{bad}");
        }
    }
}

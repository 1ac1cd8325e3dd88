//! The package's metadata, set once: its name, maintainer, revision, summary
//! and homepage, and the texts made from them (the Debian changelog and
//! copyright). Every format, the staged docs and the FreeBSD port read it
//! from here.

use crate::{epoch, template};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

/// The package's name in every format.
pub const PACKAGE_NAME: &str = "smtls-sendmail";
/// Who the packages name as maintainer unless [`MAINTAINER_ENV`] says.
pub const MAINTAINER: &str = "smtls packagers <smtls-packagers@users.noreply.github.com>";
/// The one place a user sets the maintainer ("Name <address>") of every
/// format and of the port.
pub const MAINTAINER_ENV: &str = "SMTLS_MAINTAINER";
/// The FreeBSD port's origin (category/name): the overlay port in
/// `ports/`, and the `origin` of the .pkg.
pub const FREEBSD_ORIGIN: &str = "mail/sendmail-tls";
/// The Debian revision appended to the upstream version unless
/// `package --revision` names another.
pub const DEBIAN_REVISION: &str = "0smtls1";
/// One line about the package.
pub const SUMMARY: &str = "sendmail MTA with STARTTLS, TLS_EC and full certificate chains";
/// sendmail's home page (the releases come from ftp.sendmail.org).
pub const HOMEPAGE: &str = "https://www.sendmail.org/";
/// The FreeBSD port's PORTNAME and PKGNAMESUFFIX: a variant of sendmail,
/// named with a suffix as the Porter's Handbook names variants, so the
/// package is called like the port's directory ([`FREEBSD_ORIGIN`]).
pub const FREEBSD_PORTNAME: &str = "sendmail";
pub const FREEBSD_PKGNAMESUFFIX: &str = "-tls";
/// The FreeBSD MAINTAINER unless [`MAINTAINER_ENV`] says: the Porter's
/// Handbook's address for a port nobody has taken (problem reports reach
/// the ports team, not an unread mailbox).
pub const FREEBSD_DEFAULT_MAINTAINER: &str = "ports@FreeBSD.org";

/// The FreeBSD package's name: PORTNAME and PKGNAMESUFFIX, the port's and the .pkg's.
pub fn freebsd_package_name() -> String {
    format!("{FREEBSD_PORTNAME}{FREEBSD_PKGNAMESUFFIX}")
}

/// MAINTAINER of the port and the .pkg: [`MAINTAINER_ENV`]'s address when
/// set, else [`FREEBSD_DEFAULT_MAINTAINER`].
pub fn freebsd_maintainer_address() -> Result<String> {
    match std::env::var(MAINTAINER_ENV) {
        Ok(m) if !m.trim().is_empty() => maintainer_address(),
        _ => Ok(FREEBSD_DEFAULT_MAINTAINER.to_string()),
    }
}

/// COMMENT of the port and the .pkg: [`SUMMARY`] starting with a capital,
/// as the ports tree's COMMENT does.
pub fn freebsd_comment() -> String {
    let mut c = SUMMARY.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// The maintainer, "Name <address>": [`MAINTAINER_ENV`] when set, else
/// [`MAINTAINER`].
pub fn maintainer() -> Result<String> {
    match std::env::var(MAINTAINER_ENV) {
        Ok(m) if !m.trim().is_empty() => {
            parse_maintainer(&m).with_context(|| format!("{MAINTAINER_ENV}={m:?}"))?;
            Ok(m.trim().to_string())
        }
        _ => Ok(MAINTAINER.to_string()),
    }
}

/// (name, address) of "Name <address>"; refuses anything else, so every
/// format gets a name and a plausible address.
pub fn parse_maintainer(m: &str) -> Result<(String, String)> {
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

/// The address of [`maintainer`] (what pkg(8) and the port's MAINTAINER show).
pub fn maintainer_address() -> Result<String> {
    Ok(parse_maintainer(&maintainer()?)?.1)
}

/// A Debian revision as Policy 5.6.12 allows it: not empty, only ASCII
/// letters, digits and `+ . ~` (no hyphen: the version's last hyphen
/// separates the revision). Returns it as given.
pub fn parse_revision(r: &str) -> Result<String> {
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
pub fn debian_changelog(version: &str, revision: &str, secs: u64) -> Result<String> {
    let maintainer = maintainer()?;
    Ok(format!(
        "{PACKAGE_NAME} ({}) unstable; urgency=medium\n\n  * sendmail {version} built by smtls with STARTTLS, TLS_EC and\n    \
         _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE; certificates are never created\n    \
         automatically (see /etc/mail/sendmail.mc).\n\n -- {maintainer}  {}\n",
        debian_version(version, revision),
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
        let c = debian_changelog("8.18.2", DEBIAN_REVISION, 1_766_793_600).unwrap();
        assert!(c.starts_with("smtls-sendmail (8.18.2-0smtls1) unstable; urgency=medium\n"), "{c}");
        let c = debian_changelog("8.18.2", "0smtls2", 1_766_793_600).unwrap();
        assert!(c.starts_with("smtls-sendmail (8.18.2-0smtls2) unstable; urgency=medium\n"), "{c}");
        assert!(c.ends_with("  Sat, 27 Dec 2025 00:00:00 +0000\n"), "{c}");
        let cr = copyright("8.18.2", "\t\tSENDMAIL LICENSE\n\nterms\n").unwrap();
        assert!(cr.contains("License: Sendmail\n                 SENDMAIL LICENSE\n .\n terms\n"), "{cr}");
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
        assert_eq!(
            Some(freebsd_package_name().as_str()),
            FREEBSD_ORIGIN.rsplit('/').next(),
            "named like its directory"
        );
        assert!(freebsd_comment().starts_with("Sendmail MTA "), "{}", freebsd_comment());
        assert_eq!(freebsd_comment().to_lowercase(), SUMMARY.to_lowercase());
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

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
/// The Debian revision appended to the upstream version.
pub const DEBIAN_REVISION: &str = "0smtls1";
/// One line about the package.
pub const SUMMARY: &str = "sendmail MTA with STARTTLS, TLS_EC and full certificate chains";
/// Where sendmail comes from (upstream's distribution site).
pub const HOMEPAGE: &str = "https://ftp.sendmail.org/";

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

/// The Debian package version for an upstream version.
pub fn debian_version(upstream: &str) -> String {
    format!("{upstream}-{DEBIAN_REVISION}")
}

/// The Debian changelog of this build.
pub fn debian_changelog(version: &str, secs: u64) -> Result<String> {
    let maintainer = maintainer()?;
    Ok(format!(
        "{PACKAGE_NAME} ({}) unstable; urgency=medium\n\n  * sendmail {version} built by smtls with STARTTLS, TLS_EC and\n    \
         _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE; certificates are never created\n    \
         automatically (see /etc/mail/sendmail.mc).\n\n -- {maintainer}  {}\n",
        debian_version(version),
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
        let c = debian_changelog("8.18.2", 1_766_793_600).unwrap();
        assert!(c.starts_with("smtls-sendmail (8.18.2-0smtls1) unstable; urgency=medium\n"), "{c}");
        assert!(c.ends_with("  Sat, 27 Dec 2025 00:00:00 +0000\n"), "{c}");
        let cr = copyright("8.18.2", "\t\tSENDMAIL LICENSE\n\nterms\n").unwrap();
        assert!(cr.contains("License: Sendmail\n                 SENDMAIL LICENSE\n .\n terms\n"), "{cr}");
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

//! The package's metadata, set once: its name, maintainer, revision, summary
//! and homepage, and the texts made from them (the Debian changelog and
//! copyright). Every format, the staged docs and the FreeBSD port read it
//! from here.

use crate::{epoch, template};
use anyhow::Result;
use std::collections::BTreeMap;

/// The package's name in every format.
pub const PACKAGE_NAME: &str = "smtls-sendmail";
/// Who the packages name as maintainer.
pub const MAINTAINER: &str = "smtls packagers <smtls-packagers@users.noreply.github.com>";
/// The Debian revision appended to the upstream version.
pub const DEBIAN_REVISION: &str = "0smtls1";
/// One line about the package.
pub const SUMMARY: &str = "sendmail MTA with STARTTLS, TLS_EC and full certificate chains";
/// Where sendmail comes from (upstream's distribution site).
pub const HOMEPAGE: &str = "https://ftp.sendmail.org/";

/// The address part of the maintainer (what pkg and the ports want), if it
/// has one.
pub fn maintainer_address() -> Option<&'static str> {
    MAINTAINER.split_once('<').and_then(|(_, r)| r.strip_suffix('>'))
}

/// The Debian package version for an upstream version.
pub fn debian_version(upstream: &str) -> String {
    format!("{upstream}-{DEBIAN_REVISION}")
}

/// The Debian changelog of this build.
pub fn debian_changelog(version: &str, secs: u64) -> String {
    format!(
        "{PACKAGE_NAME} ({}) unstable; urgency=medium\n\n  * sendmail {version} built by smtls with STARTTLS, TLS_EC and\n    \
         _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE; certificates are never created\n    \
         automatically (see /etc/mail/sendmail.mc).\n\n -- {MAINTAINER}  {}\n",
        debian_version(version),
        epoch::rfc2822(secs)
    )
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
        let c = debian_changelog("8.18.2", 1_766_793_600);
        assert!(c.starts_with("smtls-sendmail (8.18.2-0smtls1) unstable; urgency=medium\n"), "{c}");
        assert!(c.ends_with("  Sat, 27 Dec 2025 00:00:00 +0000\n"), "{c}");
        let cr = copyright("8.18.2", "\t\tSENDMAIL LICENSE\n\nterms\n").unwrap();
        assert!(cr.contains("License: Sendmail\n                 SENDMAIL LICENSE\n .\n terms\n"), "{cr}");
    }

    #[test]
    fn maintainer_has_an_address() {
        let a = maintainer_address().unwrap();
        assert!(a.contains('@') && !a.contains('<'), "{a}");
    }
}

//! The control file: fields in dpkg's order, relations from the option
//! table, the long description.

use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The control fields, in dpkg's order.
pub struct Control {
    pub version: String,
    pub arch: String,
    pub installed_size: u64,
    /// "Name <address>" (`stage::maintainer`).
    pub maintainer: String,
    pub depends: Vec<String>,
    pub relations: Relations,
    /// The build options the binaries have.
    pub options: Vec<String>,
    pub upstream: String,
}

/// What the build options add to the control file beyond Depends (which
/// ELF NEEDED gives): from the option table's `debian` facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Relations {
    pub recommends: Vec<String>,
    pub suggests: Vec<String>,
    /// Packages whose files the option's files take over: Conflicts and
    /// Replaces.
    pub replaces: Vec<String>,
}

/// The relations of the options that are on, each package once, sorted.
/// An option the table does not know is an error (a configuration from
/// another smtls).
pub fn relations(options: &[String]) -> Result<Relations> {
    let (mut rec, mut sug, mut rep) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for name in options {
        let spec = crate::configure::options::find(name).with_context(|| {
            format!("the build has option `{name}`, which this smtls does not know: run `cargo xtask configure` again")
        })?;
        rec.extend(spec.debian.recommends.iter().map(|s| s.to_string()));
        sug.extend(spec.debian.suggests.iter().map(|s| s.to_string()));
        rep.extend(spec.debian.replaces.iter().map(|s| s.to_string()));
    }
    Ok(Relations {
        recommends: rec.into_iter().collect(),
        suggests: sug.into_iter().collect(),
        replaces: rep.into_iter().collect(),
    })
}

/// Words joined into lines of at most `width` characters.
fn wrap(words: &[&str], width: usize) -> Vec<String> {
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

/// MTAs conflict with, replace and provide mail-transport-agent (as exim4
/// and postfix do), so dpkg swaps one for another; Debian's own sendmail
/// packages install the same paths.
pub const CONFLICTS: &[&str] = &["mail-transport-agent", "sendmail-base", "sendmail-bin", "sendmail-cf", "vacation"];

pub fn control_text(c: &Control) -> String {
    let mut s = String::new();
    let mut field = |k: &str, v: &str| {
        let _ = writeln!(s, "{k}: {v}");
    };
    field("Package", crate::meta::PACKAGE_NAME);
    field("Version", &c.version);
    field("Architecture", &c.arch);
    field("Maintainer", &c.maintainer);
    field("Installed-Size", &c.installed_size.to_string());
    field("Pre-Depends", &super::shlibdeps::PRE_DEPENDS.join(", "));
    field("Depends", &c.depends.join(", "));
    if !c.relations.recommends.is_empty() {
        field("Recommends", &c.relations.recommends.join(", "));
    }
    if !c.relations.suggests.is_empty() {
        field("Suggests", &c.relations.suggests.join(", "));
    }
    let conflicts: Vec<&str> =
        CONFLICTS.iter().copied().chain(c.relations.replaces.iter().map(String::as_str)).collect();
    field("Conflicts", &conflicts.join(", "));
    let replaces: Vec<&str> =
        std::iter::once("mail-transport-agent").chain(c.relations.replaces.iter().map(String::as_str)).collect();
    field("Replaces", &replaces.join(", "));
    field("Provides", "mail-transport-agent");
    field("Section", "mail");
    field("Priority", "optional");
    field("Homepage", crate::meta::HOMEPAGE);
    field("Description", crate::meta::SUMMARY);
    let long = format!(
        "sendmail {} built from the pinned, verified upstream release with\n\
         STARTTLS, elliptic-curve key exchange (TLS_EC) and\n\
         _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE, so the server certificate file\n\
         holds the full chain. SSLv3, TLS 1.0 and TLS 1.1 are off.\n\
         .\n\
         No certificate is created for you: put host.cert (the full chain),\n\
         host.key (mode 0600) and cacert.pem in /etc/mail/certs.",
        c.upstream
    );
    let mut long = long;
    if !c.options.is_empty() {
        let mut words = vec!["Build", "options:"];
        words.extend(c.options.iter().map(String::as_str));
        long.push_str("\n.\n");
        long.push_str(&wrap(&words, 72).join("\n"));
        if c.options.iter().any(|o| o == "milter") {
            long.push_str(
                "\n.\nlibmilter.a and its headers (mfapi.h, mfdef.h) are included for\nbuilding mail filters.",
            );
        }
    }
    for line in long.lines() {
        let _ = writeln!(s, " {line}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_fields() {
        let c = Control {
            version: "8.18.2-0smtls1".into(),
            arch: "amd64".into(),
            installed_size: 2048,
            maintainer: crate::meta::MAINTAINER.into(),
            depends: vec!["adduser".into(), "libc6 (>= 2.36)".into()],
            relations: relations(&["sasl".into(), "milter".into(), "mta-sts".into()]).unwrap(),
            options: ["sasl", "ipv6", "bdb", "regex", "socketmap", "milter", "dane", "mta-sts"]
                .map(String::from)
                .to_vec(),
            upstream: "8.18.2".into(),
        };
        let t = control_text(&c);
        assert!(t.starts_with("Package: smtls-sendmail\nVersion: 8.18.2-0smtls1\nArchitecture: amd64\n"), "{t}");
        assert!(t.contains("\nDepends: adduser, libc6 (>= 2.36)\n"), "{t}");
        assert!(t.contains("\nProvides: mail-transport-agent\n"), "{t}");
        assert!(t.contains("\nConflicts: mail-transport-agent, sendmail-base, sendmail-bin"), "{t}");
        assert!(t.contains("\n .\n"), "{t}");
        assert!(t.lines().all(|l| !l.ends_with(' ')), "{t}");
        assert!(t.contains("\nDepends: adduser, libc6 (>= 2.36)\nRecommends: libsasl2-modules\nSuggests: postfix-mta-sts-resolver, sasl2-bin\nConflicts: "), "{t}");
        assert!(t.contains(", vacation, libmilter-dev\nReplaces: mail-transport-agent, libmilter-dev\n"), "{t}");
        assert!(t.contains("\n Build options: sasl ipv6 bdb regex socketmap milter dane mta-sts\n"), "{t}");
        assert!(t.contains("\n libmilter.a and its headers"), "{t}");
        assert!(t.lines().filter(|l| l.starts_with(' ')).all(|l| l.len() <= 80), "{t}");
        // Without options: no Recommends, Suggests or extra Replaces.
        let bare = control_text(&Control { relations: Relations::default(), options: vec![], ..c });
        assert!(
            !bare.contains("Recommends") && !bare.contains("Suggests") && !bare.contains("Build options"),
            "{bare}"
        );
        assert!(bare.contains("\nReplaces: mail-transport-agent\n"), "{bare}");
    }

    #[test]
    fn relations_come_from_the_option_table() {
        let r = relations(&["sasl".into(), "ldap".into(), "ipv6".into()]).unwrap();
        assert_eq!(r.recommends, ["libsasl2-modules"]);
        assert_eq!(r.suggests, ["sasl2-bin"]);
        assert!(r.replaces.is_empty());
        assert_eq!(relations(&["ldap".into()]).unwrap(), Relations::default(), "ldap: nothing beyond NEEDED");
        assert_eq!(relations(&["milter".into()]).unwrap().replaces, ["libmilter-dev"]);
        let e = relations(&["nope".into()]).unwrap_err().to_string();
        assert!(e.contains("`nope`") && e.contains("configure"), "{e}");
        assert_eq!(wrap(&["a", "bb", "ccc"], 4), ["a bb", "ccc"]);
    }
}

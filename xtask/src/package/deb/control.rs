//! The control file: fields in dpkg's order, relations from the option
//! table, the long description.

use crate::meta::{Info, Relations};
use anyhow::{Context, Result};
use std::collections::BTreeSet;

/// What only the binary .deb's control file adds to [`crate::meta::Info`].
pub struct Control<'a> {
    pub info: &'a Info,
    /// The package version (upstream-revision).
    pub version: String,
    pub arch: String,
    pub installed_size: Option<u64>,
}

/// The relations of an MTA built with the options that are on, each
/// package once, sorted (Depends left to the ELF files). An option the
/// table does not know is an error (a configuration from another smtls).
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
    // Sorted as dpkg-gencontrol sorts these fields, so a .deb built by
    // debhelper from the source package says the same.
    let conflicts: BTreeSet<String> = CONFLICTS.iter().map(|s| s.to_string()).chain(rep.iter().cloned()).collect();
    let replaces: BTreeSet<String> = std::iter::once("mail-transport-agent".to_string()).chain(rep).collect();
    Ok(Relations {
        pre_depends: super::shlibdeps::PRE_DEPENDS.iter().map(|s| s.to_string()).collect(),
        depends: vec![],
        recommends: rec.into_iter().collect(),
        suggests: sug.into_iter().collect(),
        conflicts: conflicts.into_iter().collect(),
        replaces: replaces.into_iter().collect(),
        provides: vec!["mail-transport-agent".into()],
    })
}

/// MTAs conflict with, replace and provide mail-transport-agent (as exim4
/// and postfix do), so dpkg swaps one for another; Debian's own sendmail
/// packages install the same paths.
pub const CONFLICTS: &[&str] = &["mail-transport-agent", "sendmail-base", "sendmail-bin", "sendmail-cf", "vacation"];

/// The fields that say what the package is and relates to, in dpkg's
/// order after Installed-Size: the binary .deb's control file and the
/// binary stanza of a source package's debian/control share them.
/// `depends` is the Depends value (resolved, or substitution variables).
pub fn relation_fields(info: &Info, depends: &str) -> Vec<(&'static str, String)> {
    let r = &info.relations;
    let mut f = vec![("Pre-Depends", r.pre_depends.join(", ")), ("Depends", depends.to_string())];
    for (k, v) in [("Recommends", &r.recommends), ("Suggests", &r.suggests)] {
        if !v.is_empty() {
            f.push((k, v.join(", ")));
        }
    }
    f.push(("Conflicts", r.conflicts.join(", ")));
    f.push(("Replaces", r.replaces.join(", ")));
    f.push(("Provides", r.provides.join(", ")));
    f
}

/// The Description field: the summary, then the long description with
/// empty lines as ` .`.
pub fn description_field(info: &Info) -> String {
    let mut s = info.summary.clone();
    for line in info.description.lines() {
        s.push_str("\n ");
        s.push_str(if line.is_empty() { "." } else { line });
    }
    s
}

pub fn control_text(c: &Control) -> String {
    let info = c.info;
    let mut fields: Vec<(&str, String)> = vec![
        ("Package", info.name.clone()),
        ("Version", c.version.clone()),
        ("Architecture", c.arch.clone()),
        ("Maintainer", info.maintainer.clone()),
    ];
    if let Some(size) = c.installed_size {
        fields.push(("Installed-Size", size.to_string()));
    }
    fields.extend(relation_fields(info, &info.relations.depends.join(", ")));
    fields.push(("Section", "mail".into()));
    fields.push(("Priority", "optional".into()));
    fields.push(("Homepage", info.homepage.clone()));
    fields.push(("Description", description_field(info)));
    fields.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(options: &[&str]) -> Info {
        let options: Vec<String> = options.iter().map(|s| s.to_string()).collect();
        let mut info =
            Info { maintainer: crate::meta::MAINTAINER.into(), ..Info::new("8.18.2", "0smtls1", &options).unwrap() };
        info.relations = relations(&options).unwrap();
        info.relations.depends = vec!["adduser".into(), "libc6 (>= 2.36)".into()];
        info
    }

    #[test]
    fn control_fields() {
        let full = info(&["sasl", "ipv6", "bdb", "regex", "socketmap", "milter", "dane", "mta-sts"]);
        let c =
            Control { info: &full, version: "8.18.2-0smtls1".into(), arch: "amd64".into(), installed_size: Some(2048) };
        let t = control_text(&c);
        assert!(t.starts_with("Package: smtls-sendmail\nVersion: 8.18.2-0smtls1\nArchitecture: amd64\n"), "{t}");
        assert!(t.contains("\nInstalled-Size: 2048\nPre-Depends: init-system-helpers"), "{t}");
        assert!(t.contains("\nDepends: adduser, libc6 (>= 2.36)\n"), "{t}");
        assert!(t.contains("\nProvides: mail-transport-agent\n"), "{t}");
        assert!(t.contains("\n .\n"), "{t}");
        assert!(t.lines().all(|l| !l.ends_with(' ')), "{t}");
        assert!(t.contains("\nDepends: adduser, libc6 (>= 2.36)\nRecommends: libsasl2-modules\nSuggests: postfix-mta-sts-resolver, sasl2-bin\nConflicts: "), "{t}");
        assert!(t.contains("\nConflicts: libmilter-dev, mail-transport-agent, sendmail-base, sendmail-bin, sendmail-cf, vacation\nReplaces: libmilter-dev, mail-transport-agent\n"), "{t}");
        assert!(t.contains("\n Build options: sasl ipv6 bdb regex socketmap milter dane mta-sts\n"), "{t}");
        assert!(t.contains("\n libmilter.a and its headers"), "{t}");
        assert!(t.lines().filter(|l| l.starts_with(' ')).all(|l| l.len() <= 80), "{t}");
        // Without options: no Recommends, Suggests or extra Replaces.
        let none = info(&[]);
        let bare = control_text(&Control { info: &none, installed_size: None, ..c });
        assert!(
            !bare.contains("Recommends") && !bare.contains("Suggests") && !bare.contains("Build options"),
            "{bare}"
        );
        assert!(bare.contains("\nReplaces: mail-transport-agent\n") && !bare.contains("Installed-Size"), "{bare}");
    }

    #[test]
    fn relations_come_from_the_option_table() {
        let r = relations(&["sasl".into(), "ldap".into(), "ipv6".into()]).unwrap();
        assert_eq!(r.recommends, ["libsasl2-modules"]);
        assert_eq!(r.suggests, ["sasl2-bin"]);
        assert_eq!(r.replaces, ["mail-transport-agent"]);
        assert_eq!(relations(&["ldap".into()]).unwrap(), relations(&[]).unwrap(), "ldap: nothing beyond NEEDED");
        assert_eq!(relations(&["milter".into()]).unwrap().replaces, ["libmilter-dev", "mail-transport-agent"]);
        let e = relations(&["nope".into()]).unwrap_err().to_string();
        assert!(e.contains("`nope`") && e.contains("configure"), "{e}");
    }
}

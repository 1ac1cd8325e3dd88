//! The maintainer scripts: `xtask/templates/deb-{preinst,postinst,prerm,postrm}.in`
//! filled from the contents list (statoverrides, conffiles, the units and
//! the init script it holds). The service logic is what dh_installsystemd
//! and dh_installinit generate; the /etc/aliases and access-map handling
//! follows Debian Policy 11.6 and Debian's sendmail.

use crate::stage::{Contents, Entry, Kind};
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where the package's systemd units and init scripts are.
pub(crate) const UNIT_DIR: &str = "/lib/systemd/system";
pub(crate) const INIT_DIR: &str = "/etc/init.d";

/// Whether data.tar can carry the entry's owner and mode as is.
pub(crate) fn neutral(e: &Entry) -> bool {
    let root = e.owner == "root" && e.group == "root";
    match e.kind {
        Kind::Symlink { .. } => true,
        Kind::Dir => root && e.mode == 0o755,
        _ => root && (e.mode == 0o755 || e.mode == 0o644),
    }
}

/// The mode data.tar carries for an entry that is not [`neutral`].
pub(crate) fn neutral_mode(e: &Entry) -> u32 {
    match e.kind {
        Kind::Dir => 0o755,
        Kind::Symlink { .. } => 0o777,
        _ if e.mode & 0o111 != 0 => 0o755,
        _ => 0o644,
    }
}

/// (owner, group, mode, path) for every entry postinst must override.
pub(crate) fn statoverrides(c: &Contents) -> Vec<(String, String, u32, PathBuf)> {
    c.entries
        .iter()
        .filter(|e| !neutral(e))
        .map(|e| (e.owner.clone(), e.group.clone(), e.mode, e.path.clone()))
        .collect()
}

fn names_in<'a>(c: &'a Contents, dir: &'a str, suffix: &'a str) -> impl Iterator<Item = String> + 'a {
    c.entries
        .iter()
        .filter(move |e| e.path.parent() == Some(Path::new(dir)) && !matches!(e.kind, Kind::Dir))
        .filter_map(|e| e.path.file_name().map(|n| n.to_string_lossy().to_string()))
        .filter(move |n| n.ends_with(suffix))
}

/// The systemd units the package ships (`sendmail.service`, ...).
pub(crate) fn units(c: &Contents) -> Vec<String> {
    names_in(c, UNIT_DIR, ".service").collect()
}

/// The init script the package ships (`sendmail`), if any.
pub(crate) fn init_script(c: &Contents) -> Option<String> {
    names_in(c, INIT_DIR, "").next()
}

/// Every placeholder the four templates use.
pub(crate) fn vars(c: &Contents) -> Result<BTreeMap<&'static str, String>> {
    let mut overrides = String::new();
    for (owner, group, mode, path) in statoverrides(c) {
        let _ = writeln!(overrides, "    override {owner} {group} {mode:04o} {}", path.display());
    }
    let conffiles: Vec<String> = c.config_files().map(|e| e.path.display().to_string()).collect();
    let sendmail = c
        .entries
        .iter()
        .find(|e| e.path == Path::new("/usr/sbin/sendmail"))
        .map_or("/usr/sbin/sendmail".to_string(), |e| e.path.display().to_string());
    let none = BTreeMap::new();
    Ok(BTreeMap::from([
        ("PACKAGE", crate::meta::PACKAGE_NAME.to_string()),
        ("SENDMAIL", sendmail),
        ("STATOVERRIDES", overrides.trim_end().to_string()),
        ("CONFFILES", conffiles.join(" ")),
        ("UNITS", units(c).join(" ")),
        ("INIT", init_script(c).unwrap_or_default()),
        ("ALIASES", crate::template::render("aliases", &none)?.trim_end().to_string()),
        ("ACCESS", crate::template::render("access", &none)?.trim_end().to_string()),
    ]))
}

/// The four scripts, (control member name, text).
pub(crate) fn scripts(c: &Contents) -> Result<Vec<(&'static str, String)>> {
    let v = vars(c)?;
    let mut out = vec![];
    for name in ["postinst", "postrm", "preinst", "prerm"] {
        out.push((name, crate::template::render(&format!("deb-{name}.in"), &v)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::Target;

    fn entry(path: &str, kind: Kind, owner: &str, group: &str, mode: u32) -> Entry {
        let origin = match kind {
            Kind::Dir => crate::stage::Origin::Dir,
            Kind::Symlink { .. } => crate::stage::Origin::Link,
            _ => crate::stage::Origin::Source { rel: path.trim_start_matches('/').into() },
        };
        Entry { path: path.into(), kind, owner: owner.into(), group: group.into(), mode, option: None, origin }
    }

    fn sample() -> Contents {
        let f = || Kind::File { source: "/x".into() };
        let conf = || Kind::Config { source: "/x".into() };
        Contents {
            target: Target::Debian,
            entries: vec![
                entry("/etc/init.d/sendmail", conf(), "root", "root", 0o755),
                entry("/etc/mail/sendmail.mc", conf(), "root", "root", 0o644),
                entry("/lib/systemd/system/sendmail.service", f(), "root", "root", 0o644),
                entry("/lib/systemd/system/sm-msp-queue.service", f(), "root", "root", 0o644),
                entry("/usr/libexec/sendmail/sendmail", f(), "root", "smmsp", 0o2555),
                entry("/usr/sbin/makemap", f(), "root", "root", 0o755),
                entry("/usr/sbin/sendmail", Kind::Symlink { target: "x".into() }, "root", "root", 0o777),
                entry("/var/spool/clientmqueue", Kind::Dir, "smmsp", "smmsp", 0o770),
                entry("/var/spool/mqueue", Kind::Dir, "root", "root", 0o700),
            ],
            options: vec![],
        }
    }

    #[test]
    fn non_root_and_special_modes_become_statoverrides() {
        let c = sample();
        let o = statoverrides(&c);
        assert_eq!(o.len(), 3);
        assert_eq!(o[0], ("root".into(), "smmsp".into(), 0o2555, "/usr/libexec/sendmail/sendmail".into()));
        assert_eq!(neutral_mode(&c.entries[4]), 0o755);
        assert_eq!(neutral_mode(&c.entries[7]), 0o755);
    }

    #[test]
    fn scripts_from_the_templates() {
        let c = sample();
        assert_eq!(units(&c), ["sendmail.service", "sm-msp-queue.service"]);
        assert_eq!(init_script(&c).as_deref(), Some("sendmail"));
        let s: BTreeMap<_, _> = scripts(&c).unwrap().into_iter().collect();
        let p = &s["postinst"];
        assert!(p.contains("    override root smmsp 2555 /usr/libexec/sendmail/sendmail\n"), "{p}");
        assert!(p.contains("    override smmsp smmsp 0770 /var/spool/clientmqueue\n"), "{p}");
        assert!(p.contains("adduser --system"), "{p}");
        assert!(!p.contains("openssl req") && !p.contains("make-certs"), "no certificate is created");
        assert!(p.contains("\npostmaster: root\n") && p.contains("if [ ! -e /etc/aliases ]"), "{p}");
        assert!(
            p.contains("deb-systemd-helper enable") && p.contains("for unit in sendmail.service sm-msp-queue.service")
        );
        assert!(p.contains("invoke-rc.d --skip-systemd-native sendmail $_action"), "{p}");
        assert!(p.contains("SENDMAIL=/usr/sbin/sendmail\n"), "{p}");
        assert!(s["prerm"].contains("invoke-rc.d --skip-systemd-native sendmail stop"));
        assert!(s["prerm"].contains("deb-systemd-invoke stop sendmail.service sm-msp-queue.service"));
        assert!(
            s["postrm"].contains("dpkg-statoverride --remove") && s["postrm"].contains("update-rc.d sendmail remove")
        );
        assert!(s["preinst"].contains("for f in /etc/init.d/sendmail /etc/mail/sendmail.mc; do"), "{}", s["preinst"]);
        for (name, text) in &s {
            assert!(text.starts_with("#!/bin/sh\n") && !text.contains('@'), "{name}:\n{text}");
        }
    }
}

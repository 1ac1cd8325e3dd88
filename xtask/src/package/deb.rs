//! The .deb: an ar archive of `debian-binary`, `control.tar.gz` and
//! `data.tar.gz`, written without dpkg-deb.
//!
//! Owners in data.tar: Debian gives smmsp no fixed uid, and a data.tar
//! cannot name a user that does not exist before the package is unpacked. So
//! data.tar carries every entry as root:root with a neutral mode (0755 for
//! directories and programs, 0644 for files; no setgid), and the postinst
//! creates smmsp, then applies the recorded owner, group and mode with
//! `dpkg-statoverride --update --add`, which dpkg keeps applying on every
//! upgrade. An override the administrator set first is left alone.

use super::{Format, Input, Packager};
use crate::archive::{self, TarData, TarMember};
use crate::stage::{self, Contents, Entry, Kind, Target};
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Deb {
    /// Debian architecture name, e.g. amd64.
    pub arch: String,
}

impl Deb {
    pub fn for_host() -> Result<Deb> {
        Ok(Deb { arch: crate::host::debian_arch()? })
    }
}

/// Whether data.tar can carry the entry's owner and mode as is.
pub fn neutral(e: &Entry) -> bool {
    let root = e.owner == "root" && e.group == "root";
    match e.kind {
        Kind::Symlink { .. } => true,
        Kind::Dir => root && e.mode == 0o755,
        _ => root && (e.mode == 0o755 || e.mode == 0o644),
    }
}

/// The mode data.tar carries for an entry that is not [`neutral`].
fn neutral_mode(e: &Entry) -> u32 {
    match e.kind {
        Kind::Dir => 0o755,
        Kind::Symlink { .. } => 0o777,
        _ if e.mode & 0o111 != 0 => 0o755,
        _ => 0o644,
    }
}

/// (owner, group, mode, path) for every entry postinst must override.
pub fn statoverrides(c: &Contents) -> Vec<(String, String, u32, PathBuf)> {
    c.entries
        .iter()
        .filter(|e| !neutral(e))
        .map(|e| (e.owner.clone(), e.group.clone(), e.mode, e.path.clone()))
        .collect()
}

/// data.tar members: `./` first, then the list in order.
pub fn data_members(input: &Input) -> Result<Vec<TarMember>> {
    let t = input.time;
    let mut out = vec![TarMember { data: TarData::Dir, ..TarMember::file("./", vec![], 0o755, t) }];
    for e in &input.contents.entries {
        let mode = if neutral(e) { e.mode } else { neutral_mode(e) };
        let rel = e.relative().to_string_lossy();
        let (name, data) = match &e.kind {
            Kind::Dir => (format!("./{rel}/"), TarData::Dir),
            Kind::Symlink { target } => (format!("./{rel}"), TarData::Symlink(target.to_string_lossy().into())),
            Kind::File { .. } | Kind::Config { .. } => (format!("./{rel}"), TarData::File(input.bytes(e)?)),
        };
        out.push(TarMember { name, data, ..TarMember::file("", vec![], mode, t) });
    }
    Ok(out)
}

/// `md5sums`: every regular file except conffiles (as dh_md5sums does).
pub fn md5sums(input: &Input) -> Result<String> {
    use md5::Digest;
    let mut s = String::new();
    for e in &input.contents.entries {
        if let Kind::File { .. } = e.kind {
            let sum = md5::Md5::digest(input.bytes(e)?);
            writeln!(s, "{}  {}", crate::digest::hex(&sum), e.relative().display())?;
        }
    }
    Ok(s)
}

pub fn conffiles(c: &Contents) -> String {
    c.config_files().map(|e| format!("{}\n", e.path.display())).collect()
}

/// Installed-Size in KiB as dpkg-gencontrol counts it: each file rounded up
/// to whole KiB, one KiB for every other entry.
pub fn installed_size(input: &Input) -> Result<u64> {
    let mut kib = 0;
    for e in &input.contents.entries {
        kib += match e.kind {
            Kind::File { .. } | Kind::Config { .. } => {
                let len = std::fs::metadata(e.staged(input.root))?.len();
                len.div_ceil(1024)
            }
            _ => 1,
        };
    }
    Ok(kib)
}

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
    field("Package", stage::PACKAGE_NAME);
    field("Version", &c.version);
    field("Architecture", &c.arch);
    field("Maintainer", &c.maintainer);
    field("Installed-Size", &c.installed_size.to_string());
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
    field("Homepage", stage::HOMEPAGE);
    field("Description", stage::SUMMARY);
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

/// The postinst: create smmsp, apply the owners and modes data.tar could
/// not carry, say where certificates go. Creates no certificate.
pub fn postinst(c: &Contents) -> String {
    let mut overrides = String::new();
    for (owner, group, mode, path) in statoverrides(c) {
        let _ = writeln!(overrides, "    override {owner} {group} {mode:04o} {}", path.display());
    }
    format!(
        r#"#!/bin/sh
# postinst of {name}, written by smtls (xtask/src/package/deb.rs).
set -e

STATE=/var/lib/{name}

# Owners and modes data.tar cannot carry (smmsp has no fixed id on Debian).
# An override the administrator set before is left alone; the ones added
# here are recorded so that purge removes only those.
override() {{
    if ! dpkg-statoverride --list "$4" >/dev/null 2>&1; then
        dpkg-statoverride --update --add "$1" "$2" "$3" "$4"
        echo "$4" >>"$STATE/statoverrides"
    fi
}}

if [ "$1" = configure ]; then
    # The user and group of the mail submission program.
    if ! getent group smmsp >/dev/null; then
        addgroup --system --quiet smmsp
    fi
    if ! getent passwd smmsp >/dev/null; then
        adduser --system --quiet --ingroup smmsp --no-create-home \
            --home /var/spool/clientmqueue --shell /usr/sbin/nologin smmsp
    fi
    mkdir -p "$STATE"
{overrides}
    cat <<'EOF'
{name}: no TLS certificate was created. Put yours in /etc/mail/certs:
  host.cert   the server certificate as a full chain (leaf, then intermediates)
  host.key    its private key, owner root, mode 0600
  cacert.pem  the CA certificates you trust; then: openssl rehash /etc/mail/certs
The TLS settings are in /etc/mail/sendmail.mc and submit.mc.
sendmail-certs install --cert LEAF --chain INTERMEDIATE --key KEY checks and installs them.
EOF
fi

exit 0
"#,
        name = stage::PACKAGE_NAME
    )
}

/// The postrm: on purge, remove the statoverrides postinst added and its
/// state directory; the smmsp user stays (files in the queues may still
/// belong to it), and so does anything the administrator made.
pub fn postrm() -> String {
    format!(
        r#"#!/bin/sh
# postrm of {name}, written by smtls (xtask/src/package/deb.rs).
set -e

STATE=/var/lib/{name}

if [ "$1" = purge ]; then
    if [ -f "$STATE/statoverrides" ]; then
        while read -r path; do
            if dpkg-statoverride --list "$path" >/dev/null 2>&1; then
                dpkg-statoverride --remove "$path"
            fi
        done <"$STATE/statoverrides"
        rm -f "$STATE/statoverrides"
    fi
    if [ -d "$STATE" ]; then
        rmdir "$STATE"
    fi
fi

exit 0
"#,
        name = stage::PACKAGE_NAME
    )
}

// ---------------------------------------------------------------------------
// Depends from the libraries actually linked.

/// Splits a soname the way Debian's shlibs files key it:
/// `libssl.so.3` -> (libssl, 3), `libdb-5.3.so` -> (libdb, 5.3).
pub fn shlibs_key(soname: &str) -> Option<(String, String)> {
    if let Some((name, ver)) = soname.split_once(".so.") {
        return Some((name.to_string(), ver.to_string()));
    }
    let stem = soname.strip_suffix(".so")?;
    let (name, ver) = stem.rsplit_once('-')?;
    Some((name.to_string(), ver.to_string()))
}

/// Finds the dependency for (name, version) in a shlibs file's text.
pub fn from_shlibs(text: &str, name: &str, version: &str) -> Option<String> {
    text.lines().filter(|l| !l.starts_with("udeb:") && !l.trim_start().starts_with('#')).find_map(|l| {
        let mut w = l.splitn(3, char::is_whitespace);
        match (w.next(), w.next(), w.next()) {
            (Some(n), Some(v), Some(dep)) if n == name && v == version => Some(dep.trim().to_string()),
            _ => None,
        }
    })
}

/// Used when dpkg is not installed (building on another system): the
/// packages of Debian 12 that provide the libraries sendmail links.
pub const BUILTIN: &[(&str, &str)] = &[
    ("libc.so.6", "libc6 (>= 2.36)"),
    ("libresolv.so.2", "libc6 (>= 2.36)"),
    ("libcrypto.so.3", "libssl3 (>= 3.0.0)"),
    ("libssl.so.3", "libssl3 (>= 3.0.0)"),
    ("libdb-5.3.so", "libdb5.3"),
];

/// Where the dynamic linker finds `soname`, from `ldconfig -p`'s output.
pub fn from_ldconfig(text: &str, soname: &str) -> Option<PathBuf> {
    text.lines().find_map(|l| {
        let (left, path) = l.split_once("=>")?;
        (left.split_whitespace().next()? == soname).then(|| PathBuf::from(path.trim()))
    })
}

fn run_text(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

/// The package that owns a library file; tries the /usr-merged aliases too.
fn dpkg_owner(path: &Path) -> Option<String> {
    let mut candidates = vec![path.to_path_buf()];
    if let Ok(real) = std::fs::canonicalize(path) {
        candidates.push(real);
    }
    for c in candidates.clone() {
        if let Ok(rest) = c.strip_prefix("/usr") {
            candidates.push(Path::new("/").join(rest));
        } else {
            candidates.push(Path::new("/usr").join(c.strip_prefix("/").unwrap_or(&c)));
        }
    }
    candidates.iter().find_map(|c| {
        let text = run_text("dpkg", &["-S", &c.to_string_lossy()])?;
        let line = text.lines().next()?;
        Some(line.split_once(':')?.0.to_string())
    })
}

/// The Depends entry for one NEEDED soname: with dpkg, from the shlibs file
/// of the package that owns the library (what dpkg-shlibdeps uses when no
/// symbols file applies); otherwise from [`BUILTIN`].
pub fn library_dependency(soname: &str, ldconfig: Option<&str>) -> Result<String> {
    let dpkg = which::which("dpkg-query").is_ok();
    if dpkg {
        if let Some(path) = ldconfig.and_then(|t| from_ldconfig(t, soname)) {
            if let Some(pkg) = dpkg_owner(&path) {
                let bare = pkg.split(':').next().unwrap_or(&pkg).to_string();
                let shlibs = run_text("dpkg-query", &["--control-path", &pkg, "shlibs"])
                    .and_then(|p| std::fs::read_to_string(p.trim()).ok());
                if let (Some(text), Some((n, v))) = (shlibs, shlibs_key(soname)) {
                    if let Some(dep) = from_shlibs(&text, &n, &v) {
                        return Ok(dep);
                    }
                }
                return Ok(bare);
            }
        }
    }
    BUILTIN.iter().find(|(s, _)| *s == soname).map(|(_, d)| d.to_string()).with_context(|| {
        format!(
            "cannot tell which Debian package provides {soname}: {}; add it to package::deb::BUILTIN",
            if dpkg { "neither ldconfig -p nor dpkg -S knows it" } else { "dpkg is not installed" }
        )
    })
}

/// Depends: adduser (the postinst uses it) plus one entry per package that
/// provides a library in the DT_NEEDED of a staged ELF file.
pub fn depends(input: &Input) -> Result<Vec<String>> {
    let mut needed = BTreeSet::new();
    for e in &input.contents.entries {
        if let Kind::File { .. } = e.kind {
            let bytes = input.bytes(e)?;
            if bytes.starts_with(b"\x7fELF") {
                let elf = goblin::elf::Elf::parse(&bytes).with_context(|| format!("parsing {}", e.path.display()))?;
                needed.extend(elf.libraries.iter().map(|s| s.to_string()));
            }
        }
    }
    // A library the package carries itself (a bundled OpenSSL) is no
    // dependency.
    for e in &input.contents.entries {
        if let (Kind::File { .. }, Some(name)) = (&e.kind, e.path.file_name().and_then(|n| n.to_str())) {
            if name.contains(".so") {
                needed.remove(name);
            }
        }
    }
    let ldconfig = ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"].iter().find_map(|c| run_text(c, &["-p"]));
    let mut deps = BTreeSet::from(["adduser".to_string()]);
    for soname in &needed {
        deps.insert(library_dependency(soname, ldconfig.as_deref())?);
    }
    Ok(deps.into_iter().collect())
}

impl Packager for Deb {
    fn format(&self) -> Format {
        Format::Deb
    }

    fn target(&self) -> Target {
        Target::Debian
    }

    fn file_name(&self, input: &Input) -> Result<String> {
        Ok(format!("{}_{}_{}.deb", stage::PACKAGE_NAME, Target::Debian.package_version(&input.version), self.arch))
    }

    fn build(&self, input: &Input) -> Result<Vec<u8>> {
        if input.contents.target != Target::Debian {
            bail!("a .deb needs the debian layout, not {}", input.contents.target);
        }
        let t = input.time;
        let control = Control {
            version: Target::Debian.package_version(&input.version),
            arch: self.arch.clone(),
            installed_size: installed_size(input)?,
            maintainer: crate::meta::maintainer()?,
            depends: depends(input)?,
            relations: relations(&input.contents.options)?,
            options: input.contents.options.clone(),
            upstream: input.version.clone(),
        };
        let control_members = vec![
            TarMember { data: TarData::Dir, ..TarMember::file("./", vec![], 0o755, t) },
            TarMember::file("./conffiles", conffiles(input.contents).into_bytes(), 0o644, t),
            TarMember::file("./control", control_text(&control).into_bytes(), 0o644, t),
            TarMember::file("./md5sums", md5sums(input)?.into_bytes(), 0o644, t),
            TarMember::file("./postinst", postinst(input.contents).into_bytes(), 0o755, t),
            TarMember::file("./postrm", postrm().into_bytes(), 0o755, t),
        ];
        let control_tar = archive::gzip(&archive::tar(&control_members)?)?;
        let data_tar = archive::gzip(&archive::tar(&data_members(input)?)?)?;
        archive::ar(&[("debian-binary", b"2.0\n"), ("control.tar.gz", &control_tar), ("data.tar.gz", &data_tar)], t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shlibs_keys_and_lookup() {
        assert_eq!(shlibs_key("libssl.so.3"), Some(("libssl".into(), "3".into())));
        assert_eq!(shlibs_key("libdb-5.3.so"), Some(("libdb".into(), "5.3".into())));
        assert_eq!(shlibs_key("libc.so.6"), Some(("libc".into(), "6".into())));
        assert_eq!(shlibs_key("weird"), None);
        let text =
            "libcrypto 3 libssl3 (>= 3.0.19)\nlibssl 3 libssl3 (>= 3.0.19)\nudeb: libssl 3 libssl3-udeb (>= 3.0.19)\n";
        assert_eq!(from_shlibs(text, "libssl", "3").as_deref(), Some("libssl3 (>= 3.0.19)"));
        assert_eq!(from_shlibs("libdb 5.3 libdb5.3\n", "libdb", "5.3").as_deref(), Some("libdb5.3"));
        assert_eq!(from_shlibs(text, "libssl", "1.1"), None);
    }

    #[test]
    fn ldconfig_lookup() {
        let t = "1234 libs found in cache `/etc/ld.so.cache'\n\tlibssl.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so.3\n\tlibssl.so (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so\n";
        assert_eq!(from_ldconfig(t, "libssl.so.3"), Some(PathBuf::from("/lib/x86_64-linux-gnu/libssl.so.3")));
        assert_eq!(from_ldconfig(t, "libssl.so.1"), None);
    }

    fn entry(path: &str, kind: Kind, owner: &str, group: &str, mode: u32) -> Entry {
        let origin = match kind {
            Kind::Dir => stage::Origin::Dir,
            Kind::Symlink { .. } => stage::Origin::Link,
            _ => stage::Origin::Source { rel: path.trim_start_matches('/').into() },
        };
        Entry { path: path.into(), kind, owner: owner.into(), group: group.into(), mode, option: None, origin }
    }

    #[test]
    fn non_root_and_special_modes_become_statoverrides() {
        let f = || Kind::File { source: "/x".into() };
        let c = Contents {
            target: Target::Debian,
            entries: vec![
                entry("/usr/libexec/sendmail/sendmail", f(), "root", "smmsp", 0o2555),
                entry("/usr/sbin/makemap", f(), "root", "root", 0o755),
                entry("/var/spool/clientmqueue", Kind::Dir, "smmsp", "smmsp", 0o770),
                entry("/var/spool/mqueue", Kind::Dir, "root", "root", 0o700),
            ],
            options: vec![],
        };
        let o = statoverrides(&c);
        assert_eq!(o.len(), 3);
        assert_eq!(o[0], ("root".into(), "smmsp".into(), 0o2555, "/usr/libexec/sendmail/sendmail".into()));
        assert_eq!(neutral_mode(&c.entries[0]), 0o755);
        assert_eq!(neutral_mode(&c.entries[2]), 0o755);
        let p = postinst(&c);
        assert!(p.contains("    override root smmsp 2555 /usr/libexec/sendmail/sendmail\n"), "{p}");
        assert!(p.contains("    override smmsp smmsp 0770 /var/spool/clientmqueue\n"), "{p}");
        assert!(p.contains("    override root root 0700 /var/spool/mqueue\n"), "{p}");
        assert!(p.contains("adduser --system"), "{p}");
        assert!(!p.contains("openssl req") && !p.contains("make-certs"), "no certificate is created");
        assert!(postrm().contains("dpkg-statoverride --remove"));
    }

    #[test]
    fn control_fields() {
        let c = Control {
            version: "8.18.2-0smtls1".into(),
            arch: "amd64".into(),
            installed_size: 2048,
            maintainer: stage::MAINTAINER.into(),
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

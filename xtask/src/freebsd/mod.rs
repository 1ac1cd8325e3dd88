//! FreeBSD: the edit that makes the base system's sendmail TLS-complete,
//! the same edit for the official port, and the generated overlay port.
//!
//! The edits themselves are pure (`base_makefile`, `port_edit`); this
//! module reads and writes the files, prints what it did and the diff.

pub(crate) mod base_makefile;
pub(crate) mod bmake;
pub mod patches;
pub(crate) mod port;
pub(crate) mod port_edit;
pub mod port_options;

use crate::configure::flags::{self, TlsRequest};
use crate::releases::Version;
use crate::{progress, util};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The defines a TLS-enabled sendmail `version` needs (without `-D`), or a
/// refusal naming the first release that has them and what to do.
pub(crate) fn wanted(version: &Version, remedy: &str) -> Result<Vec<String>> {
    let since = |s: &str| s.parse::<Version>().expect("flags.rs holds valid versions");
    if *version < since(flags::CERT_CHAIN_SINCE) {
        bail!(
            "sendmail {version} is older than {}, the first release with _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE: {remedy}",
            flags::CERT_CHAIN_SINCE
        );
    }
    flags::tls_defines(version, &TlsRequest::default(), FREEBSD_OPENSSL)
}

/// The oldest OpenSSL of a supported FreeBSD (13.x base: 1.1.1; 14 and
/// later: 3.0; ports' OpenSSLs and LibreSSL are newer): every one of them
/// keeps its default groups with `TLS_EC=2` (see `flags::ec_define_for`).
pub(crate) const FREEBSD_OPENSSL: u64 = 0x1010_1000;

/// A unified diff of two texts (empty when they are equal), with `a/` and
/// `b/` paths so `patch -p1` and `git apply` take it.
pub(crate) fn unified_diff(old: &str, new: &str, path: &str) -> String {
    if old == new {
        return String::new();
    }
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

fn read(path: &Path, what: &str) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {} ({what})", path.display()))
}

#[derive(clap::Args, Clone, Debug)]
pub struct BaseArgs {
    /// Top of a FreeBSD source tree (the directory holding usr.sbin/ and contrib/), e.g. /usr/src.
    #[arg(long, value_name = "DIR")]
    pub src: PathBuf,
    /// Report what would change (and print the diff) without writing; fails when the edit is still needed.
    #[arg(long)]
    pub check: bool,
    /// The tree's sendmail version, when contrib/sendmail/src/version.c is not there to say it.
    #[arg(long, value_name = "V")]
    pub(crate) sendmail_version: Option<String>,
}

/// The sendmail version of a FreeBSD tree: `version.c`, else `--sendmail-version`,
/// else what the Makefile proves.
pub(crate) fn tree_version(src: &Path, makefile: &str, given: Option<&str>) -> Result<(Version, String)> {
    let version_c = src.join(base_makefile::VERSION_C);
    let given = given.map(crate::releases::parse_version).transpose()?;
    if version_c.is_file() {
        let found = base_makefile::parse_version_c(&read(&version_c, "sendmail's version")?)
            .with_context(|| format!("reading the version from {}", version_c.display()))?;
        if let Some(g) = given.filter(|g| *g != found) {
            bail!("--sendmail-version {g} contradicts {} ({found}): drop the option", version_c.display());
        }
        return Ok((found, base_makefile::VERSION_C.to_string()));
    }
    if let Some(g) = given {
        return Ok((g, "--sendmail-version".into()));
    }
    match base_makefile::version_from_makefile(makefile) {
        Some(v) => {
            let why = format!("no {}; the Makefile spells -DTLS_EC, so {v} or later", base_makefile::VERSION_C);
            Ok((v, why))
        }
        None => bail!(
            "cannot tell which sendmail {} holds: {} is missing and the Makefile does not spell -DTLS_EC; \
             pass --sendmail-version V (see `grep Version contrib/sendmail/src/version.c` on the machine the tree came from)",
            src.display(),
            base_makefile::VERSION_C
        ),
    }
}

pub(crate) fn run_base(args: &BaseArgs) -> Result<()> {
    let path = args.src.join(base_makefile::PATH);
    if !path.is_file() {
        bail!(
            "{} is missing: --src must be the top of a FreeBSD source tree (the directory holding usr.sbin/ and contrib/), such as /usr/src",
            path.display()
        );
    }
    let old = read(&path, "the base system's sendmail Makefile")?;
    let (version, from) = tree_version(&args.src, &old, args.sendmail_version.as_deref())?;
    progress::step(&format!("{}: sendmail {version} ({from})", path.display()));
    let e = base_makefile::edit(&old, &version).with_context(|| format!("editing {}", path.display()))?;
    for d in &e.present {
        progress::info(&format!("line {}: -D{d} already there", e.line));
    }
    for d in &e.added {
        progress::info(&format!("line {}: {} -D{d}", e.line, if args.check { "would add" } else { "adds" }));
    }
    progress::info(
        "lib/libsmutil, lib/libmilter: no change needed (they define STARTTLS already; the EC and chain-file \
         defines are read only by sendmail's own sources)",
    );
    print!("{}", unified_diff(&old, &e.text, base_makefile::PATH));
    finish(args.check, e.changed(), &[(path, e.text)], &rebuild_hint())
}

fn rebuild_hint() -> String {
    "then rebuild and install only sendmail: cd /usr/src/lib/libsm && make obj all; cd ../libsmutil && make obj all; \
     cd /usr/src/usr.sbin/sendmail && make obj all install; service sendmail restart"
        .into()
}

/// Writes the edited files (or, with `--check`, fails when they need the edit).
fn finish(check: bool, changed: bool, files: &[(PathBuf, String)], next: &str) -> Result<()> {
    if !changed {
        progress::info("up to date: nothing to change");
        return Ok(());
    }
    if check {
        bail!("the edit is needed (diff above): run the same command without --check to apply it");
    }
    for (path, text) in files {
        util::edit_in_place(path, text.as_bytes())?;
        progress::info(&format!("wrote {}", path.display()));
    }
    progress::info(next);
    Ok(())
}

#[derive(clap::Args, Clone, Debug)]
pub struct PortEditArgs {
    /// A checkout of the official mail/sendmail port (the directory holding its Makefile and files/).
    #[arg(long, value_name = "DIR")]
    pub port: PathBuf,
    /// Report what would change (and print the diff) without writing; fails when the edit is still needed.
    #[arg(long)]
    pub check: bool,
}

/// Reads the port files the edit needs.
pub(crate) fn read_port(dir: &Path) -> Result<port_edit::PortFiles> {
    let makefile_path = dir.join("Makefile");
    if !makefile_path.is_file() || !dir.join(port_edit::TLS_FRAGMENT).is_file() {
        bail!(
            "{} does not look like the mail/sendmail port: expected Makefile and {} in it",
            dir.display(),
            port_edit::TLS_FRAGMENT
        );
    }
    let makefile = read(&makefile_path, "the port's Makefile")?;
    let tls = read(&dir.join(port_edit::TLS_FRAGMENT), "the port's TLS fragment")?;
    let mut fragments = vec![];
    let files = dir.join("files");
    let mut names: Vec<String> = std::fs::read_dir(&files)
        .with_context(|| format!("listing {}", files.display()))?
        .filter_map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
        .filter(|n| n.starts_with("site.config.m4") && n != "site.config.m4.tls")
        .collect();
    names.sort();
    for n in names {
        let text = read(&files.join(&n), "a site.config.m4 fragment")?;
        fragments.push((n, text));
    }
    Ok(port_edit::PortFiles { makefile, tls, fragments })
}

pub(crate) fn run_port_edit(args: &PortEditArgs) -> Result<()> {
    let files = read_port(&args.port)?;
    let e = port_edit::edit(&files).with_context(|| format!("editing the port in {}", args.port.display()))?;
    progress::step(&format!("{}: mail/sendmail {}", args.port.display(), e.version));
    let verb = if args.check { "would add" } else { "adds" };
    for d in &e.tls_added {
        progress::info(&format!("{}: {verb} -D{d}", port_edit::TLS_FRAGMENT));
    }
    match (&e.chain_option, e.option_enabled) {
        (Some(o), true) => progress::info(&format!(
            "Makefile: {verb} option {o} (it switches the chain-file define on) to OPTIONS_DEFAULT"
        )),
        (Some(o), false) => {
            progress::info(&format!("Makefile: option {o} (the chain-file define) is on by default already"))
        }
        (None, _) => progress::info("Makefile: no option for the chain-file define; the TLS fragment carries it"),
    }
    print!("{}", unified_diff(&files.tls, &e.tls, port_edit::TLS_FRAGMENT));
    print!("{}", unified_diff(&files.makefile, &e.makefile, "Makefile"));
    let out =
        [(args.port.join(port_edit::TLS_FRAGMENT), e.tls.clone()), (args.port.join("Makefile"), e.makefile.clone())];
    let changed: Vec<(PathBuf, String)> = out
        .into_iter()
        .zip([e.tls != files.tls, e.makefile != files.makefile])
        .filter(|(_, c)| *c)
        .map(|(f, _)| f)
        .collect();
    finish(
        args.check,
        e.changed(),
        &changed,
        &format!(
            "then rebuild: make -C {} rmconfig clean install (options saved by `make config` override OPTIONS_DEFAULT)",
            args.port.display()
        ),
    )
}

/// Fixtures written from the documented forms of the FreeBSD files
/// (`tests/fixtures/freebsd/`, each citing its source).
#[cfg(test)]
pub(crate) mod fixtures {
    use std::path::PathBuf;

    pub(crate) fn root() -> PathBuf {
        crate::plan::workspace_root().join("tests/fixtures/freebsd")
    }

    /// Each base-system form with the version its unit tests use.
    pub(crate) const BASE_FORMS: &[(&str, &str)] = &[
        ("tls-ec", "8.18.1"),
        ("ffr-tls-1-8.15", "8.15.2"),
        ("ffr-tls-1-8.16", "8.16.1"),
        ("spaces", "8.18.2"),
        ("old-nocrypt-guard", "8.15.2"),
    ];

    pub(crate) fn base_makefile(name: &str) -> String {
        let p = root().join("base").join(name).join(super::base_makefile::PATH);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    pub(crate) fn port_files(name: &str) -> super::port_edit::PortFiles {
        super::read_port(&root().join("port").join(name)).expect("port fixture")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_follows_the_flag_table() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert_eq!(wanted(&v("8.18.2"), "x").unwrap(), ["STARTTLS", "TLS_EC=2", "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"]);
        assert_eq!(wanted(&v("8.15.1"), "x").unwrap()[1], "_FFR_TLS_EC");
        let e = wanted(&v("8.14.9"), "do this").unwrap_err().to_string();
        assert!(e.contains("8.15.1") && e.ends_with("do this"), "{e}");
    }

    #[test]
    fn tree_versions() {
        let base = fixtures::root().join("base");
        let mk = |n: &str| fixtures::base_makefile(n);
        let (v, from) = tree_version(&base.join("tls-ec"), &mk("tls-ec"), None).unwrap();
        assert_eq!((v.to_string().as_str(), from.as_str()), ("8.18.1", base_makefile::VERSION_C));
        assert!(tree_version(&base.join("tls-ec"), &mk("tls-ec"), Some("8.17.2")).is_err());
        let (v, _) = tree_version(&base.join("no-version"), &mk("no-version"), None).unwrap();
        assert_eq!(v.to_string(), "8.16.1");
        let e = tree_version(&base.join("no-version-ffr"), &mk("no-version-ffr"), None).unwrap_err().to_string();
        assert!(e.contains("--sendmail-version"), "{e}");
        let (v, _) = tree_version(&base.join("no-version-ffr"), &mk("no-version-ffr"), Some("8.15.2")).unwrap();
        assert_eq!(v.to_string(), "8.15.2");
    }

    #[test]
    fn diffs_apply_with_patch() {
        let old = "a\nb\nc\n";
        let new = "a\nB\nc\n";
        let d = unified_diff(old, new, "x/Makefile");
        assert!(d.starts_with("--- a/x/Makefile\n+++ b/x/Makefile\n@@ -1,3 +1,3 @@\n"), "{d}");
        assert_eq!(unified_diff(old, old, "x"), "");
    }
}

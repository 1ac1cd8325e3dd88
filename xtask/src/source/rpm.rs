//! The RPM spec and source RPM: what mock, Koji, Copr and the Open Build
//! Service rebuild. Pure renderers from the shared data (the contents list
//! of the RPM layout with each entry's origin, the option table with its
//! Fedora and openSUSE names, the flag table, the templates, the package
//! metadata), and the thin edge that writes the source RPM with rpmbuild.
//!
//! The spec needs no Rust and no smtls: everything it installs is made by
//! sendmail's own build, copied from the source tree, or shipped in the
//! source RPM as a text file rendered here (the `.mc` files, units,
//! `sendmail-certs`, the sysusers.d file, the site.config.m4 feature
//! fragments, the build's make file). No host flag, path or name is
//! written: compiler flags come from `%set_build_flags` on the farm.

use crate::configure::{flags, options, site_config};
use crate::epoch::BuildTime;
use crate::plan::Plan;
use crate::stage::{self, Contents, Entry, Features, Kind, Origin, Target};
use crate::{build, meta, progress, template, verify};
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The spec's template in `xtask/templates/`.
pub const SPEC_TEMPLATE: &str = "rpm/smtls-sendmail.spec.in";
/// The pinned signing key, alone, as Source2.
pub const KEY_FILE: &str = "sendmail-signing-key.asc";
/// The feature fragments of site.config.m4, shipped in the source RPM.
pub const SITE_CONFIG: &str = "site.config.m4";
/// The make file that runs every subdirectory's Build under one jobserver.
pub const BUILD_MK: &str = "smtls-build.mk";
/// Where %build leaves the generated .cf files (in the unpacked tree).
pub const CF_OUT: &str = "smtls-cf";
/// The sysusers.d file of the smmsp user (a template, and a Source for
/// `%sysusers_create_compat`).
pub const SYSUSERS: &str = "smtls-sendmail.sysusers";
/// The distribution's own sendmail packages: the same paths and daemon.
pub const CONFLICTS: &[&str] = &["sendmail"];
/// The OpenSSL the spec's EC define is chosen for: the oldest of the RPM
/// distributions built for (EL 8 and openSUSE Leap 15: 1.1.1), so TLS_EC=2
/// (`SSL_CTX_set_ecdh_auto`, see `flags::ec_define_for`).
pub const RPM_OPENSSL: u64 = 0x1010_1000;
/// What every build needs, whatever the options: (Fedora, openSUSE). Tools
/// by path, so one name serves every distribution.
pub const BASE_BUILD_REQUIRES: &[(&str, &str)] = &[
    ("gcc", "gcc"),
    ("make", "make"),
    ("/usr/bin/m4", "/usr/bin/m4"),
    ("/usr/bin/gpgv", "/usr/bin/gpgv"),
    ("systemd-rpm-macros", "systemd-rpm-macros"),
];

/// How the spec makes one entry of the contents list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum How {
    /// Installed from this path of the unpacked, built tree (programs under
    /// `obj.`, the cf tree, man pages, docs), gzipped when `gzip`.
    Tree {
        from: String,
        gzip: bool,
    },
    /// Installed from a text file shipped in the source RPM (`%{SOURCEn}`).
    Shipped {
        name: String,
        gzip: bool,
    },
    Dir,
    Link(String),
}

/// How the spec makes `e`, read from its origin: every origin is answered
/// here, so a new one does not compile until the spec knows it.
pub fn how(e: &Entry) -> Result<How> {
    let tree = |from: String| How::Tree { from, gzip: false };
    let shipped = |name: &str| How::Shipped { name: name.to_string(), gzip: false };
    let not_rpm = |what: &str| {
        bail!(
            "{}: {what} has no place in the RPM layout; the layout table lists it, source/rpm.rs cannot make it",
            e.path.display()
        )
    };
    Ok(match &e.origin {
        Origin::Program { name } => tree(format!("obj./{name}/{name}")),
        Origin::Library { built } => tree(format!("obj./{built}")),
        Origin::ManPage { page } => How::Tree { from: page.clone(), gzip: true },
        Origin::Source { rel } | Origin::DocCopy { rel } => tree(rel.display().to_string()),
        Origin::Mc { which } => shipped(&format!("{which}.mc")),
        Origin::Cf { which } => tree(format!("{CF_OUT}/{which}.cf")),
        Origin::CertsScript => shipped(stage::CERTS_SCRIPT),
        Origin::CertsManPage => How::Shipped { name: format!("{}.8", stage::CERTS_SCRIPT), gzip: true },
        Origin::Template { name } => shipped(name),
        Origin::ReleaseNotes => How::Tree { from: "RELEASE_NOTES".into(), gzip: true },
        Origin::Dir => How::Dir,
        Origin::Link => match &e.kind {
            Kind::Symlink { target } => How::Link(target.display().to_string()),
            _ => bail!("{} is a link without a target", e.path.display()),
        },
        Origin::MailerConf => return not_rpm("mailwrapper's table (FreeBSD)"),
        Origin::DebianChangelog => return not_rpm("the Debian changelog"),
        Origin::Copyright => return not_rpm("the Debian copyright file"),
        Origin::Bundled => return not_rpm("a bundled private OpenSSL (a farm builds against its own)"),
    })
}

/// The contents list with how each entry is made.
pub fn plan_entries(entries: &[Entry]) -> Result<Vec<(Entry, How)>> {
    entries.iter().map(|e| Ok((e.clone(), how(e)?))).collect()
}

/// The text files the source RPM ships beside the tarball, its signature
/// and the key, in Source order from Source3: site.config.m4, the make file,
/// then every file the list installs from a shipped text, and the sysusers
/// file `%pre` reads.
pub fn shipped_sources(planned: &[(Entry, How)]) -> Vec<String> {
    let mut names = vec![SITE_CONFIG.to_string(), BUILD_MK.to_string()];
    let mut rest: BTreeSet<String> = planned
        .iter()
        .filter_map(|(_, h)| match h {
            How::Shipped { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    rest.insert(SYSUSERS.to_string());
    names.extend(rest);
    names
}

/// Source number of each shipped file (Source0-2: tarball, signature, key).
pub fn source_numbers(shipped: &[String]) -> BTreeMap<String, usize> {
    shipped.iter().enumerate().map(|(i, n)| (n.clone(), i + 3)).collect()
}

/// The spec's spelling of an install path: the standard directories as
/// their macros, so a reader sees the distribution's own names. Only
/// directories whose macros hold these values on Fedora and openSUSE
/// alike; libexec (openSUSE's was /usr/lib) and the rest stay literal, as
/// the .mc files and units name them.
pub fn macro_path(p: &Path) -> String {
    const MACROS: &[(&str, &str)] = &[
        ("/usr/lib/systemd/system", "%{_unitdir}"),
        ("/usr/lib/sysusers.d", "%{_sysusersdir}"),
        ("/usr/share/man", "%{_mandir}"),
        ("/usr/share/licenses", "%{_defaultlicensedir}"),
        ("/usr/share", "%{_datadir}"),
        ("/usr/sbin", "%{_sbindir}"),
        ("/usr/bin", "%{_bindir}"),
        ("/usr/include", "%{_includedir}"),
        ("/usr/lib64", "%{_libdir}"),
        ("/etc", "%{_sysconfdir}"),
    ];
    for (dir, mac) in MACROS {
        if let Ok(rest) = p.strip_prefix(dir) {
            return if rest.as_os_str().is_empty() { mac.to_string() } else { format!("{mac}/{}", rest.display()) };
        }
    }
    p.display().to_string()
}

fn buildroot(p: &Path) -> String {
    format!("%{{buildroot}}{}", macro_path(p))
}

/// `a \` continuation lines, one word each after the first.
fn words(ws: &[String]) -> String {
    let mut s = ws[0].clone();
    for w in &ws[1..] {
        s.push_str(" \\\n    ");
        s.push_str(w);
    }
    s.push('\n');
    s
}

/// %install: the directories, then files grouped by (mode, directory)
/// where they keep their name, one line each otherwise, then the links.
pub fn render_install(planned: &[(Entry, How)], sources: &BTreeMap<String, usize>) -> Result<String> {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    for (e, h) in planned {
        match h {
            How::Dir => dirs.insert(e.path.clone()),
            _ => dirs.insert(e.path.parent().context("an install path has a parent")?.to_path_buf()),
        };
    }
    let leaves: Vec<String> =
        dirs.iter().filter(|d| !dirs.iter().any(|o| o != *d && o.starts_with(d))).map(|d| buildroot(d)).collect();
    let mut out = String::new();
    let mut mkdir = vec!["mkdir -p".to_string()];
    mkdir.extend(leaves);
    out.push_str(&words(&mkdir));

    let mut groups: BTreeMap<(u32, PathBuf), Vec<String>> = BTreeMap::new();
    let mut single = String::new();
    let mut links = String::new();
    for (e, h) in planned {
        let mode = format!("{:04o}", e.mode & 0o777);
        match h {
            How::Dir => {}
            How::Link(target) => writeln!(links, "ln -s {target} {}", buildroot(&e.path))?,
            How::Tree { from, gzip: true } => {
                writeln!(single, "gzip -9n < {from} > {}", buildroot(&e.path))?;
                writeln!(single, "chmod {mode} {}", buildroot(&e.path))?;
            }
            How::Shipped { name, gzip } => {
                let n = sources.get(name).with_context(|| format!("{name} is not among the shipped sources"))?;
                if *gzip {
                    writeln!(single, "gzip -9n < '%{{SOURCE{n}}}' > {}", buildroot(&e.path))?;
                    writeln!(single, "chmod {mode} {}", buildroot(&e.path))?;
                } else {
                    writeln!(single, "install -p -m {mode} '%{{SOURCE{n}}}' {}", buildroot(&e.path))?;
                }
            }
            How::Tree { from, gzip: false } => {
                if Path::new(from).file_name() == e.path.file_name() {
                    let dir = e.path.parent().context("an install path has a parent")?.to_path_buf();
                    groups.entry((e.mode & 0o777, dir)).or_default().push(from.clone());
                } else {
                    writeln!(single, "install -p -m {mode} {from} {}", buildroot(&e.path))?;
                }
            }
        }
    }
    for ((mode, dir), files) in groups {
        let mut ws = vec![format!("install -p -m {mode:04o}")];
        ws.extend(files);
        ws.push(buildroot(&dir));
        out.push_str(&words(&ws));
    }
    out.push_str(&single);
    out.push_str(&links);
    Ok(out.trim_end().to_string())
}

/// `%{__strip}` of the installed programs, for builds without debuginfo.
pub fn render_strip(planned: &[(Entry, How)]) -> String {
    let programs: Vec<String> = planned
        .iter()
        .filter(|(e, _)| matches!(e.origin, Origin::Program { .. }))
        .map(|(e, _)| buildroot(&e.path))
        .collect();
    if programs.is_empty() {
        return ":".into();
    }
    let mut ws = vec!["%{__strip} --remove-section=.comment --remove-section=.note --strip-unneeded".to_string()];
    ws.extend(programs);
    words(&ws).trim_end().to_string()
}

/// Man pages in %files: `page.8*`, since each distribution compresses
/// them its own way (brp-compress).
fn is_man(p: &Path) -> bool {
    p.starts_with("/usr/share/man")
}

/// %files: every entry of the list with its owner, group and mode;
/// `%config(noreplace)` for configuration, `%license` and `%doc` for what
/// lies under the licence and doc directories, `%dir` for the directories
/// the list owns.
pub fn render_files(planned: &[(Entry, How)]) -> String {
    let mut out = String::from("%defattr(-,root,root,-)\n");
    for (e, h) in planned {
        let mut path = macro_path(&e.path);
        if is_man(&e.path) {
            if let Some(stem) = path.strip_suffix(".gz") {
                path = format!("{stem}*");
            }
        }
        let attr = format!("%attr({:04o},{},{})", e.mode & 0o7777, e.owner, e.group);
        let line = match h {
            How::Dir => format!("%dir {attr} {path}"),
            How::Link(_) => path,
            _ if e.path.starts_with("/usr/share/licenses") => format!("%license {attr} {path}"),
            _ if e.path.starts_with("/usr/share/doc") => format!("%doc {attr} {path}"),
            _ if e.is_config() => format!("%config(noreplace) {attr} {path}"),
            _ => format!("{attr} {path}"),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// BuildRequires: the base list, OpenSSL's headers, and each enabled
/// option's library from the option table; names that differ on openSUSE
/// under `%if 0%{?suse_version}`.
pub fn render_build_requires(enabled: &[String]) -> Result<String> {
    let mut pairs: Vec<(String, String)> =
        BASE_BUILD_REQUIRES.iter().map(|(f, s)| (f.to_string(), s.to_string())).collect();
    let ssl = crate::tools::OPENSSL_HEADERS;
    pairs.push((ssl.fedora.into(), ssl.suse().into()));
    for name in enabled {
        let spec = options::find(name).with_context(|| format!("unknown build option `{name}`"))?;
        if let Some(p) = spec.probe {
            pairs.push((p.need.fedora.into(), p.need.suse().into()));
        }
    }
    let line = |n: &str| format!("BuildRequires:  {n}\n");
    let mut out = String::new();
    let (same, differ): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(f, s)| f == s);
    for (f, _) in same {
        out.push_str(&line(&f));
    }
    if !differ.is_empty() {
        out.push_str("%if 0%{?suse_version}\n");
        for (_, s) in &differ {
            out.push_str(&line(s));
        }
        out.push_str("%else\n");
        for (f, _) in &differ {
            out.push_str(&line(f));
        }
        out.push_str("%endif\n");
    }
    Ok(out.trim_end().to_string())
}

/// The make file of %build: `sh ./Build` in each subdirectory, the
/// libraries before everything that links them (libsm before the other
/// libraries), every recipe a sub-make of the one jobserver (`+`), so
/// `%{?_smp_mflags}` bounds the whole build.
pub fn render_build_mk(subdirs: &[&str]) -> String {
    let libs: Vec<&str> = build::LIBRARIES.to_vec();
    let mut out = String::from(
        "# Generated by smtls: every subdirectory's Build under one make, the\n\
         # libraries first. Build runs $(MAKE) with this make's jobserver.\n\
         .PHONY: all\n",
    );
    out.push_str(&format!("all: {}\n", subdirs.join(" ")));
    for sub in subdirs {
        let deps: Vec<&str> = if *sub == "libsm" {
            vec![]
        } else if libs.contains(sub) {
            vec!["libsm"]
        } else {
            libs.clone()
        };
        out.push_str(&format!(".PHONY: {sub}\n{sub}:{}{}\n", if deps.is_empty() { "" } else { " " }, deps.join(" ")));
        out.push_str(&format!("\t+cd {sub} && MAKE='$(MAKE)' sh ./Build\n"));
    }
    out
}

/// %build's lines that make each .cf from its packaged .mc, as
/// `stage::generate_cf` does: m4 in cf/cf without the user/host/date
/// stamp, then the .mc appended as comments.
pub fn render_build_cf(planned: &[(Entry, How)], sources: &BTreeMap<String, usize>) -> Result<String> {
    let mut out = format!("mkdir -p {CF_OUT}\n");
    for (e, _) in planned {
        let Origin::Cf { which } = &e.origin else { continue };
        let mc = format!("{which}.mc");
        let n = sources.get(&mc).with_context(|| format!("{which}.cf needs {mc}, which the list does not ship"))?;
        let cf = format!("{CF_OUT}/{which}.cf");
        writeln!(out, "(cd cf/cf && m4 -D_NO_MAKEINFO_ ../m4/cf.m4 '%{{SOURCE{n}}}') > {cf}")?;
        writeln!(out, "echo '### {mc} ###' >> {cf}")?;
        writeln!(out, "sed 's/^/# /' '%{{SOURCE{n}}}' >> {cf}")?;
    }
    Ok(out.trim_end().to_string())
}

/// The tokens %check requires in `-d0.14`: the TLS defines of this version
/// (names without values) and each enabled option's token.
pub fn check_tokens(version: &crate::releases::Version, enabled: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = flags::tls_defines(version, &flags::TlsRequest::default(), RPM_OPENSSL)?
        .iter()
        .map(|d| d.split('=').next().unwrap_or(d).to_string())
        .collect();
    for r in verify::REQUIRED {
        if !out.iter().any(|o| o == r) && *r != "TLS_EC" {
            out.push(r.to_string());
        }
    }
    for name in enabled {
        let spec = options::find(name).with_context(|| format!("unknown build option `{name}`"))?;
        out.push(spec.token.to_string());
    }
    Ok(out)
}

/// site.config.m4 of the source RPM: the TLS fragments for this version and
/// each option's fragment (or its off fragment), as `configure` writes them,
/// without anything of the generating host (no hardening flags, build path
/// or OpenSSL prefix: the farm's flags come from `%set_build_flags`).
pub fn render_site_config(version: &crate::releases::Version, enabled: &[String]) -> Result<String> {
    let defines = flags::tls_defines(version, &flags::TlsRequest::default(), RPM_OPENSSL)?;
    let ec = flags::ec_define_for(version, RPM_OPENSSL)?;
    let mut fragments = vec![site_config::builtin("tls.m4")?];
    if defines.contains(&ec) {
        fragments.push(site_config::builtin("ec.m4")?);
    }
    fragments.push(site_config::builtin("cert-chain.m4")?);
    for spec in options::OPTIONS {
        if enabled.iter().any(|e| e == spec.name) {
            fragments.push(site_config::builtin(spec.fragment)?);
        } else if let Some(off) = spec.off_fragment {
            fragments.push(site_config::builtin(off)?);
        }
    }
    let vars = BTreeMap::from([("EC_DEFINE", ec), ("DB_LIBS", "-ldb".to_string())]);
    site_config::generate_with_header(
        "dnl Generated by smtls (cargo xtask source-package --format rpm) from\n\
         dnl site-configs/. %build appends the distribution's compiler and flags.\n",
        &fragments,
        &vars,
    )
}

/// `Sat Dec 27 2025`, as %changelog wants a date.
pub fn changelog_date(secs: u64) -> String {
    // rfc2822: "Sat, 27 Dec 2025 00:00:00 +0000"
    let d = crate::epoch::rfc2822(secs);
    let w: Vec<&str> = d.split_whitespace().collect();
    format!("{} {} {} {}", w[0].trim_end_matches(','), w[2], w[1], w[3])
}

/// The text %post prints on a first install: no certificate was made, and
/// how to install real ones.
pub fn post_install_note() -> String {
    format!(
        "{name}: no TLS certificate or key was created. Install your CA's files:\n  \
         sendmail-certs install --cert LEAF.crt --chain INTERMEDIATE.crt --key LEAF.key\n  \
         systemctl reload-or-restart sendmail\n  \
         sendmail-certs check\n\
         The TLS settings are in /etc/mail/sendmail.mc and submit.mc; the daemon\n\
         listens on 127.0.0.1 only until you open it there (see sendmail-certs(8)).",
        name = meta::PACKAGE_NAME
    )
}

/// What %post does beyond the units: the aliases database when the build
/// has Berkeley DB maps (newaliases fails loudly otherwise).
pub fn render_post(enabled: &[String]) -> String {
    if enabled.iter().any(|o| o == "bdb") {
        "if [ -e /etc/aliases ]; then\n    /usr/sbin/sendmail -bi >/dev/null 2>&1 || \
         echo 'newaliases could not build the aliases database' >&2\nfi"
            .to_string()
    } else {
        ":".to_string()
    }
}

/// Everything the spec says beyond the rendered parts.
#[derive(Clone, Debug)]
pub struct SpecData {
    pub version: crate::releases::Version,
    pub release: String,
    pub maintainer: String,
    pub secs: u64,
    pub tarball: String,
    pub signature: String,
    pub fingerprint: String,
    /// Enabled build options, in table order.
    pub options: Vec<String>,
    /// Names of the man-page patches (`Patch0`...), applied with -p0.
    pub patches: Vec<String>,
}

/// The spec: the template filled from the data and the planned list.
pub fn render_spec(d: &SpecData, planned: &[(Entry, How)]) -> Result<String> {
    let shipped = shipped_sources(planned);
    let numbers = source_numbers(&shipped);
    let tag = |label: String, value: &str| format!("{label:<16}{value}\n");
    let sources: String = shipped.iter().map(|n| tag(format!("Source{}:", numbers[n]), n)).collect();
    let patches: String = d.patches.iter().enumerate().map(|(i, n)| tag(format!("Patch{i}:"), n)).collect();
    let apply: String = (0..d.patches.len()).map(|i| format!("%patch -P {i} -p0\n")).collect();
    let units: Vec<String> = planned
        .iter()
        .filter(|(e, _)| {
            e.path.starts_with("/usr/lib/systemd/system") && e.path.extension().is_some_and(|x| x == "service")
        })
        .filter_map(|(e, _)| e.path.file_name().map(|n| n.to_string_lossy().to_string()))
        .collect();
    if units.is_empty() {
        bail!("the RPM layout lists no systemd unit under /usr/lib/systemd/system");
    }
    let conflicts: String = CONFLICTS.iter().map(|c| format!("Conflicts:      {c}\n")).collect();
    let n = |name: &str| -> Result<String> {
        Ok(numbers.get(name).with_context(|| format!("{name} is not shipped"))?.to_string())
    };
    let version = d.version.to_string();
    let vars = BTreeMap::from([
        ("NAME", meta::PACKAGE_NAME.to_string()),
        ("VERSION", version.clone()),
        ("RELEASE", d.release.clone()),
        ("SUMMARY", meta::SUMMARY.to_string()),
        ("URL", meta::HOMEPAGE.to_string()),
        ("TARBALL", d.tarball.clone()),
        ("SIGNATURE", d.signature.clone()),
        ("FINGERPRINT", d.fingerprint.clone()),
        ("KEY", KEY_FILE.to_string()),
        ("SOURCES", format!("{sources}{patches}").trim_end().to_string()),
        ("BUILD_REQUIRES", render_build_requires(&d.options)?),
        ("CONFLICTS", conflicts.trim_end().to_string()),
        ("DESCRIPTION", description(&d.options)),
        ("APPLY_PATCHES", apply.trim_end().to_string()),
        ("SITE_CONFIG", n(SITE_CONFIG)?),
        ("BUILD_MK", n(BUILD_MK)?),
        ("BUILD_CF", render_build_cf(planned, &numbers)?),
        ("INSTALL", render_install(planned, &numbers)?),
        ("STRIP", render_strip(planned)),
        ("CHECK_TOKENS", check_tokens(&d.version, &d.options)?.join(" ")),
        ("SYSUSERS", n(SYSUSERS)?),
        ("UNITS", units.join(" ")),
        ("POST", render_post(&d.options)),
        ("NOTE", post_install_note()),
        ("FILES", render_files(planned)),
        ("CHANGELOG_DATE", changelog_date(d.secs)),
        ("MAINTAINER", d.maintainer.clone()),
    ]);
    template::render(SPEC_TEMPLATE, &vars)
}

/// %description: what the package is, and the options it was built with.
pub fn description(enabled: &[String]) -> String {
    let mut s = String::from(
        "sendmail built with everything its TLS needs: STARTTLS, elliptic-curve key\n\
         exchange (TLS_EC) and _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE, so ServerCertFile\n\
         and ClientCertFile hold a full chain (the leaf, then its intermediates), the\n\
         way public certificate authorities issue them. No certificate is created at\n\
         install: sendmail-certs installs and checks the ones your CA issued.\n",
    );
    let opts: Vec<String> = options::OPTIONS
        .iter()
        .filter(|o| enabled.iter().any(|e| e == o.name))
        .map(|o| format!("{} ({})", o.name, o.summary))
        .collect();
    if !opts.is_empty() {
        s.push_str(&format!("\nBuild options: {}.", opts.join("; ")));
    }
    s
}

/// The contents list of the RPM layout for the chosen options.
pub fn contents(plan: &Plan, enabled: &[String]) -> Result<Contents> {
    stage::contents_with(plan, Target::Rpm, &Features { options: enabled.to_vec(), multiarch: None })
}

/// Every file of the source RPM but the tarball and its signature:
/// (name, text), the spec first.
pub fn render(
    plan: &Plan,
    enabled: &[String],
    revision: &str,
    secs: u64,
    signature: &str,
) -> Result<Vec<(String, String)>> {
    let version = plan.version.to_string();
    let fingerprint = plan.release.signing_key.clone();
    if fingerprint.is_empty() {
        bail!(
            "sendmail {version} has no pinned signing key in releases.toml: the spec's %prep verifies upstream's \
             signature against it, so pin one (signing_key) first"
        );
    }
    let keys = std::fs::read_to_string(crate::fetch::checksum::keys_file()).context("reading the pinned keys")?;
    let key = super::key::pinned_key(&keys, &fingerprint)?;
    let planned = plan_entries(&contents(plan, enabled)?.entries)?;
    let src = plan.source_dir();
    let read = |rel: &str| {
        let p = src.join(rel);
        std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
    };
    let patches = crate::freebsd::port::render_man_patches(&read)?;
    let data = SpecData {
        version: plan.version.clone(),
        release: revision.to_string(),
        maintainer: meta::maintainer()?,
        secs,
        tarball: plan.release.upstream_file.clone(),
        signature: signature.to_string(),
        fingerprint,
        options: enabled.to_vec(),
        patches: patches.iter().map(|(n, _)| n.clone()).collect(),
    };
    let mut files = vec![(format!("{}.spec", meta::PACKAGE_NAME), render_spec(&data, &planned)?)];
    files.push((KEY_FILE.to_string(), key));
    files.extend(patches);
    for name in shipped_sources(&planned) {
        let text = if name == SITE_CONFIG {
            render_site_config(&plan.version, enabled)?
        } else if name == BUILD_MK {
            let mut subdirs: Vec<&str> = build::LIBRARIES.iter().chain(build::PROGRAMS).copied().collect();
            if enabled.iter().any(|o| o == "milter") {
                subdirs.push("libmilter");
            }
            render_build_mk(&subdirs)
        } else if let Some(stem) = name.strip_suffix(".mc") {
            stage::mc_text(Target::Rpm, stem, &version, enabled)?
        } else if name == stage::CERTS_SCRIPT {
            stage::certs_script(Target::Rpm)?
        } else if name == format!("{}.8", stage::CERTS_SCRIPT) {
            stage::certs_man_page(Target::Rpm)?
        } else {
            template::render(&name, &BTreeMap::new())?
        };
        files.push((name, text));
    }
    Ok(files)
}

/// The name rpmbuild gives the source RPM.
pub fn srpm_name(version: &str, revision: &str) -> String {
    format!("{}-{version}-{revision}.src.rpm", meta::PACKAGE_NAME)
}

/// rpmbuild's arguments for a reproducible `-bs` in the private `topdir`:
/// its own directories, a fixed build host, the build time and every file
/// time from SOURCE_DATE_EPOCH, no %dist of this host, gzip payload.
pub fn rpmbuild_args(topdir: &Path, spec: &Path) -> Vec<String> {
    let d = |k: &str, v: String| ["--define".to_string(), format!("{k} {v}")];
    let t = topdir.display();
    let mut a = vec!["-bs".to_string(), "--nodeps".to_string()];
    for (k, v) in [
        ("_topdir", format!("{t}")),
        ("_sourcedir", format!("{t}/SOURCES")),
        ("_specdir", format!("{t}/SPECS")),
        ("_srcrpmdir", format!("{t}/SRPMS")),
        ("_builddir", format!("{t}/BUILD")),
        ("_buildhost", "reproducible".to_string()),
        ("use_source_date_epoch_as_buildtime", "1".to_string()),
        ("clamp_mtime_to_source_date_epoch", "1".to_string()),
        ("dist", "%{nil}".to_string()),
        ("_source_payload", "w9.gzdio".to_string()),
    ] {
        a.extend(d(k, v));
    }
    a.push(spec.display().to_string());
    a
}

/// `cargo xtask source-package --format rpm`: the spec and the source RPM
/// in `<work>/source/`, both replaced in one step each; a failed run leaves
/// the previous ones whole.
pub fn write(plan: &Plan, enabled: &[String], revision: &str, time: &BuildTime) -> Result<Vec<PathBuf>> {
    let fetched = crate::fetch::run(plan, &crate::fetch::FetchArgs { require_signature: true, ..Default::default() })
        .context("the source RPM ships upstream's signature and %prep checks it: it needs a verified one")?;
    let sig = crate::fetch::cached_signature(&fetched.tarball)
        .with_context(|| format!("no signature beside {}", fetched.tarball.display()))?;
    let sig_name = format!(
        "{}.{}",
        plan.release.upstream_file,
        sig.extension().and_then(|e| e.to_str()).context("the signature has no extension")?
    );
    let files = render(plan, enabled, revision, time.secs, &sig_name)?;
    let rpmbuild = crate::tools::find(&crate::tools::RPMBUILD)?;

    let out = super::out_dir(plan);
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    crate::plan::clean_leftovers(&out)?;
    let topdir = out.join(format!("rpmbuild.partial-{}", std::process::id()));
    let _cleanup = crate::util::RemoveOnDrop(topdir.clone());
    let sources = topdir.join("SOURCES");
    for d in ["SOURCES", "SPECS", "SRPMS", "BUILD"] {
        std::fs::create_dir_all(topdir.join(d))?;
    }
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(time.secs);
    let place = |path: &Path, bytes: &[u8]| -> Result<()> {
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
        std::fs::File::options().write(true).open(path)?.set_modified(when)?;
        Ok(())
    };
    place(&sources.join(&plan.release.upstream_file), &std::fs::read(&fetched.tarball)?)?;
    place(&sources.join(&sig_name), &std::fs::read(&sig)?)?;
    let spec_name = format!("{}.spec", meta::PACKAGE_NAME);
    for (name, text) in &files {
        let dir = if *name == spec_name { topdir.join("SPECS") } else { sources.clone() };
        place(&dir.join(name), text.as_bytes())?;
    }
    let spec = topdir.join("SPECS").join(&spec_name);
    let mut cmd = std::process::Command::new(rpmbuild);
    cmd.args(rpmbuild_args(&topdir, &spec))
        .env("SOURCE_DATE_EPOCH", time.secs.to_string())
        // No ~/.rpmmacros of this user: nothing of the host gets in.
        .env("HOME", &topdir)
        .env("TZ", "UTC")
        .env("LC_ALL", "C");
    crate::proc::output(&mut cmd)?;
    let name = srpm_name(&plan.version.to_string(), revision);
    let built = topdir.join("SRPMS").join(&name);
    if !built.is_file() {
        bail!("rpmbuild -bs wrote no {}", built.display());
    }
    let (spec_out, srpm_out) = (out.join(&spec_name), out.join(&name));
    crate::util::write_atomic(&spec_out, files[0].1.as_bytes())?;
    std::fs::rename(&built, &srpm_out).with_context(|| format!("moving {} into place", srpm_out.display()))?;
    progress::info(&format!("wrote {} and {}", spec_out.display(), srpm_out.display()));
    Ok(vec![spec_out, srpm_out])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: Kind, owner: &str, group: &str, mode: u32, origin: Origin) -> Entry {
        Entry { path: path.into(), kind, owner: owner.into(), group: group.into(), mode, option: None, origin }
    }

    fn file(path: &str, mode: u32, origin: Origin) -> Entry {
        entry(path, Kind::File { source: "/gen/x".into() }, "root", "root", mode, origin)
    }

    /// A small list in the RPM layout's shape.
    fn sample() -> Vec<(Entry, How)> {
        let sendmail = entry(
            "/usr/sbin/sendmail",
            Kind::File { source: "/gen/s".into() },
            "root",
            "smmsp",
            0o2555,
            Origin::Program { name: "sendmail".into() },
        );
        let list = vec![
            entry("/etc/mail", Kind::Dir, "root", "root", 0o755, Origin::Dir),
            entry(
                "/etc/mail/sendmail.cf",
                Kind::Config { source: "/gen/c".into() },
                "root",
                "root",
                0o644,
                Origin::Cf { which: "sendmail".into() },
            ),
            entry(
                "/etc/mail/sendmail.mc",
                Kind::Config { source: "/gen/m".into() },
                "root",
                "root",
                0o644,
                Origin::Mc { which: "sendmail".into() },
            ),
            file("/usr/bin/mailq", 0o777, Origin::Link),
            file(
                "/usr/lib/systemd/system/sendmail.service",
                0o644,
                Origin::Template { name: "sendmail.service".into() },
            ),
            file("/usr/sbin/makemap", 0o755, Origin::Program { name: "makemap".into() }),
            file("/usr/sbin/sendmail-certs", 0o755, Origin::CertsScript),
            sendmail,
            file("/usr/share/doc/smtls-sendmail/RELEASE_NOTES", 0o644, Origin::DocCopy { rel: "RELEASE_NOTES".into() }),
            file("/usr/share/licenses/smtls-sendmail/LICENSE", 0o644, Origin::DocCopy { rel: "LICENSE".into() }),
            file("/usr/share/man/man8/sendmail-certs.8.gz", 0o644, Origin::CertsManPage),
            file("/usr/share/man/man8/sendmail.8.gz", 0o644, Origin::ManPage { page: "sendmail/sendmail.8".into() }),
            file("/usr/share/sendmail/cf/m4/cf.m4", 0o644, Origin::Source { rel: "cf/m4/cf.m4".into() }),
            file("/usr/share/sendmail/cf/m4/proto.m4", 0o644, Origin::Source { rel: "cf/m4/proto.m4".into() }),
            entry("/var/spool/clientmqueue", Kind::Dir, "smmsp", "smmsp", 0o770, Origin::Dir),
        ];
        let list: Vec<Entry> = list
            .into_iter()
            .map(|e| match e.origin {
                Origin::Link => Entry { kind: Kind::Symlink { target: "../sbin/sendmail".into() }, ..e },
                _ => e,
            })
            .collect();
        plan_entries(&list).unwrap()
    }

    #[test]
    fn every_origin_has_a_way_in_or_a_reason() {
        let s = sample();
        let h = |p: &str| s.iter().find(|(e, _)| e.path == Path::new(p)).unwrap().1.clone();
        assert_eq!(h("/usr/sbin/sendmail"), How::Tree { from: "obj./sendmail/sendmail".into(), gzip: false });
        assert_eq!(h("/etc/mail/sendmail.cf"), How::Tree { from: "smtls-cf/sendmail.cf".into(), gzip: false });
        assert_eq!(h("/etc/mail/sendmail.mc"), How::Shipped { name: "sendmail.mc".into(), gzip: false });
        assert_eq!(
            h("/usr/share/man/man8/sendmail.8.gz"),
            How::Tree { from: "sendmail/sendmail.8".into(), gzip: true }
        );
        assert_eq!(
            h("/usr/share/man/man8/sendmail-certs.8.gz"),
            How::Shipped { name: "sendmail-certs.8".into(), gzip: true }
        );
        assert_eq!(h("/usr/bin/mailq"), How::Link("../sbin/sendmail".into()));
        for origin in [Origin::MailerConf, Origin::DebianChangelog, Origin::Copyright, Origin::Bundled] {
            let e = file("/usr/share/x", 0o644, origin);
            assert!(how(&e).unwrap_err().to_string().contains("no place in the RPM layout"));
        }
    }

    #[test]
    fn install_groups_files_and_uses_the_shipped_sources() {
        let s = sample();
        let shipped = shipped_sources(&s);
        assert_eq!(&shipped[..2], [SITE_CONFIG, BUILD_MK]);
        assert!(shipped.contains(&SYSUSERS.to_string()) && shipped.contains(&"sendmail.service".to_string()));
        let nums = source_numbers(&shipped);
        let body = render_install(&s, &nums).unwrap();
        assert!(body.starts_with("mkdir -p \\\n    %{buildroot}%{_sysconfdir}/mail \\\n"), "{body}");
        assert!(body.contains("    %{buildroot}/var/spool/clientmqueue"), "{body}");
        assert!(
            body.contains("install -p -m 0644 \\\n    cf/m4/cf.m4 \\\n    cf/m4/proto.m4 \\\n    %{buildroot}%{_datadir}/sendmail/cf/m4\n"),
            "{body}"
        );
        assert!(
            body.contains("install -p -m 0755 \\\n    obj./makemap/makemap \\\n    %{buildroot}%{_sbindir}\n"),
            "{body}"
        );
        // Modes beyond 0777 (setgid) are %files' %attr.
        assert!(
            body.contains("install -p -m 0555 \\\n    obj./sendmail/sendmail \\\n    %{buildroot}%{_sbindir}\n"),
            "{body}"
        );
        assert!(
            body.contains("gzip -9n < sendmail/sendmail.8 > %{buildroot}%{_mandir}/man8/sendmail.8.gz\n"),
            "{body}"
        );
        let mc = nums["sendmail.mc"];
        assert!(
            body.contains(&format!(
                "install -p -m 0644 '%{{SOURCE{mc}}}' %{{buildroot}}%{{_sysconfdir}}/mail/sendmail.mc\n"
            )),
            "{body}"
        );
        assert!(
            body.contains("install -p -m 0644 \\\n    smtls-cf/sendmail.cf \\\n    %{buildroot}%{_sysconfdir}/mail\n"),
            "{body}"
        );
        assert!(body.ends_with("ln -s ../sbin/sendmail %{buildroot}%{_bindir}/mailq"), "{body}");
        // Each file is installed once.
        for from in ["obj./sendmail/sendmail", "cf/m4/cf.m4", "RELEASE_NOTES", "LICENSE"] {
            assert_eq!(
                body.matches(&format!("    {from} \\\n")).count()
                    + body.matches(&format!(" {from} %{{buildroot}}")).count(),
                1,
                "{from}: {body}"
            );
        }
        let cf = render_build_cf(&s, &nums).unwrap();
        assert!(
            cf.contains(&format!(
                "(cd cf/cf && m4 -D_NO_MAKEINFO_ ../m4/cf.m4 '%{{SOURCE{mc}}}') > smtls-cf/sendmail.cf\n"
            )),
            "{cf}"
        );
        assert!(cf.contains("echo '### sendmail.mc ###' >> smtls-cf/sendmail.cf"), "{cf}");
    }

    #[test]
    fn files_carry_owners_modes_and_markers() {
        let f = render_files(&sample());
        let lines: Vec<&str> = f.lines().collect();
        for want in [
            "%defattr(-,root,root,-)",
            "%dir %attr(0755,root,root) %{_sysconfdir}/mail",
            "%config(noreplace) %attr(0644,root,root) %{_sysconfdir}/mail/sendmail.cf",
            "%attr(2555,root,smmsp) %{_sbindir}/sendmail",
            "%attr(0755,root,root) %{_sbindir}/makemap",
            "%{_bindir}/mailq",
            "%attr(0644,root,root) %{_unitdir}/sendmail.service",
            "%doc %attr(0644,root,root) %{_datadir}/doc/smtls-sendmail/RELEASE_NOTES",
            "%license %attr(0644,root,root) %{_defaultlicensedir}/smtls-sendmail/LICENSE",
            "%attr(0644,root,root) %{_mandir}/man8/sendmail.8*",
            "%dir %attr(0770,smmsp,smmsp) /var/spool/clientmqueue",
        ] {
            assert!(lines.contains(&want), "{want}:\n{f}");
        }
        assert_eq!(lines.len(), sample().len() + 1);
    }

    #[test]
    fn build_requires_follow_the_option_table() {
        let b = render_build_requires(&["sasl".into(), "ldap".into(), "bdb".into(), "milter".into()]).unwrap();
        for want in ["BuildRequires:  gcc", "BuildRequires:  /usr/bin/gpgv", "BuildRequires:  cyrus-sasl-devel"] {
            assert!(b.lines().any(|l| l == want), "{want}: {b}");
        }
        let (suse, fedora) = b.split_once("%else\n").unwrap();
        assert!(
            suse.contains("%if 0%{?suse_version}\n")
                && suse.contains("openldap2-devel")
                && suse.contains("libdb-4_8-devel"),
            "{b}"
        );
        assert!(
            fedora.contains("openldap-devel") && fedora.contains("libdb-devel") && fedora.contains("openssl-devel"),
            "{b}"
        );
        assert!(b.ends_with("%endif"), "{b}");
        assert!(!b.contains("sasl2") && !b.contains("-dev\n"), "Debian names stay out: {b}");
        assert!(render_build_requires(&["nope".into()]).is_err());
    }

    #[test]
    fn build_mk_orders_libraries_first_under_one_jobserver() {
        let mk = render_build_mk(&["libsm", "libsmutil", "libsmdb", "sendmail", "libmilter"]);
        assert!(mk.contains("all: libsm libsmutil libsmdb sendmail libmilter\n"), "{mk}");
        assert!(mk.contains("\nlibsm:\n\t+cd libsm && MAKE='$(MAKE)' sh ./Build\n"), "{mk}");
        assert!(mk.contains("\nlibsmdb: libsm\n"), "{mk}");
        assert!(mk.contains("\nsendmail: libsm libsmutil libsmdb\n"), "{mk}");
        assert!(mk.contains("\nlibmilter: libsm libsmutil libsmdb\n"), "{mk}");
    }

    #[test]
    fn site_config_has_the_features_and_nothing_of_the_host() {
        let v = "8.18.2".parse().unwrap();
        let s = render_site_config(&v, &["sasl".into(), "bdb".into()]).unwrap();
        for want in [
            "`-DSTARTTLS'",
            "`-DTLS_EC=2'",
            "`-D_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE'",
            "`-DSASL=2'",
            "`-DNEWDB'",
            "`-ldb'",
        ] {
            assert!(s.contains(want), "{want}: {s}");
        }
        assert!(s.contains("`-DMILTER=0'"), "milter off is said: {s}");
        for host in ["-ffile-prefix-map", "fstack-protector", "/work", "confLDOPTS", "@"] {
            assert!(!s.contains(host), "{host}: {s}");
        }
        let t = check_tokens(&v, &["sasl".into(), "bdb".into()]).unwrap();
        assert_eq!(t, ["STARTTLS", "TLS_EC", "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE", "SASLv2", "NEWDB"]);
        let old = check_tokens(&"8.15.2".parse().unwrap(), &[]).unwrap();
        assert_eq!(old, ["STARTTLS", "_FFR_TLS_EC", "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"]);
    }

    #[test]
    fn dates_paths_and_texts() {
        assert_eq!(changelog_date(1_766_793_600), "Sat Dec 27 2025");
        assert_eq!(macro_path(Path::new("/usr/lib/systemd/system/x.service")), "%{_unitdir}/x.service");
        assert_eq!(macro_path(Path::new("/usr/libexec/sendmail/smrsh")), "/usr/libexec/sendmail/smrsh");
        assert_eq!(macro_path(Path::new("/etc")), "%{_sysconfdir}");
        assert_eq!(macro_path(Path::new("/usr/lib/sendmail")), "/usr/lib/sendmail");
        let note = post_install_note();
        assert!(note.contains("sendmail-certs install") && !note.contains("openssl req"), "{note}");
        assert_eq!(render_post(&[]), ":");
        assert!(render_post(&["bdb".into()]).contains("sendmail -bi"));
        let s = render_strip(&sample());
        assert!(s.starts_with("%{__strip} ") && s.contains("%{buildroot}%{_sbindir}/sendmail"), "{s}");
    }

    #[test]
    fn the_spec_renders_with_every_placeholder_filled() {
        let d = SpecData {
            version: "8.18.2".parse().unwrap(),
            release: "0smtls1".into(),
            maintainer: meta::MAINTAINER.into(),
            secs: 1_766_793_600,
            tarball: "sendmail.8.18.2.tar.gz".into(),
            signature: "sendmail.8.18.2.tar.gz.sig".into(),
            fingerprint: "032312C7C0C2B1973D5013180C19D37CB7E6543E".into(),
            options: vec!["sasl".into(), "bdb".into()],
            patches: vec!["patch-vacation_vacation.1".into()],
        };
        let s = render_spec(&d, &sample()).unwrap();
        assert!(s.contains("\nName:           smtls-sendmail\n"), "{s}");
        assert!(s.contains("\nRelease:        0smtls1%{?dist}\n"), "{s}");
        assert!(s.contains("\nSource0:        https://ftp.sendmail.org/sendmail.8.18.2.tar.gz\n"), "{s}");
        assert!(s.contains("\nSource3:        site.config.m4\nSource4:        smtls-build.mk\n"), "{s}");
        assert!(s.contains("\nPatch0:         patch-vacation_vacation.1\n"), "{s}");
        assert!(s.contains("\n%patch -P 0 -p0\n"), "{s}");
        assert!(s.contains("\nConflicts:      sendmail\n") && s.contains("\nProvides:       MTA\n"), "{s}");
        assert!(s.contains("%systemd_post sendmail.service\n"), "{s}");
        assert!(s.contains("for flag in STARTTLS TLS_EC _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE SASLv2 NEWDB; do"), "{s}");
        assert!(
            s.contains(
                "\n* Sat Dec 27 2025 smtls packagers <smtls-packagers@users.noreply.github.com> - 8.18.2-0smtls1\n"
            ),
            "{s}"
        );
        assert!(!s.contains("@NAME@") && !s.contains("@FILES@"), "{s}");
        for bad in ["openssl req", "genrsa", "certtool", "req -new"] {
            assert!(!s.contains(bad), "{bad}");
        }
    }
}

//! The Debian source package: `.orig.tar.gz` (upstream's exact bytes),
//! `.orig.tar.gz.asc` (upstream's signature, armored, checked against the
//! pinned key before anything is written), `.debian.tar.xz` and the `.dsc`,
//! all deterministic: the same input gives the same bytes.
//!
//! `debian/` is generated from the one description: control from
//! [`crate::meta::Info`] and the option table, the build from the build
//! graph `build` runs (`debian/smtls/build.mk`: every subdirectory's
//! objects under one jobserver), the install from the contents list (one
//! exhaustive `match` on each entry's [`Origin`]), the maintainer scripts,
//! units and init script from the templates dist's .deb uses.

use super::{openpgp, Generator, Input};
use crate::meta::Info;
use crate::package::deb::{control as debcontrol, scripts, shlibdeps};
use crate::stage::{self, Entry, Kind, Origin, Target};
use crate::{archive, template, verify};
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// The debhelper compatibility level (13: what bookworm's debhelper 13.11
/// supports without experimental flags).
pub const COMPAT: &str = "13";
/// The newest Standards-Version bookworm's lintian knows.
pub const STANDARDS_VERSION: &str = "4.6.2";
/// What the multiarch library directory is called in debian/rules, so no
/// host's triplet ends up in the source.
pub const MULTIARCH: &str = "$(DEB_HOST_MULTIARCH)";
/// Where generated files live inside `debian/`.
const SMTLS: &str = "debian/smtls";

pub struct Debian;

/// One file of `debian/`: path below the source tree, text, mode.
pub type DebianFile = (String, Vec<u8>, u32);

impl Generator for Debian {
    fn target(&self) -> Target {
        Target::Debian
    }

    fn multiarch(&self) -> Option<String> {
        Some(MULTIARCH.to_string())
    }

    fn owns(&self, file: &str) -> bool {
        file.starts_with(&format!("{}_", crate::meta::PACKAGE_NAME))
    }

    fn files(&self, input: &Input) -> Result<Vec<(String, Vec<u8>)>> {
        let info = input.info;
        let orig = format!("{}_{}.orig.tar.gz", info.name, info.version);
        let tarball = &input.upstream.tarball;
        let orig_bytes = std::fs::read(tarball).with_context(|| format!("reading {}", tarball.display()))?;
        let mut files = vec![(orig.clone(), orig_bytes)];
        if let Some(sig) = &input.upstream.signature {
            let bytes = std::fs::read(sig).with_context(|| format!("reading {}", sig.display()))?;
            let asc =
                if openpgp::is_armored(&bytes) { bytes } else { openpgp::armor("PGP SIGNATURE", &bytes).into_bytes() };
            files.push((format!("{orig}.asc"), asc));
        }
        let debian = debian_dir(input)?;
        let tar = debian_tar(&debian, input.time)?;
        files.push((format!("{}_{}.debian.tar.xz", info.name, info.debian_version()), xz(&tar)?));
        let dsc = dsc(info, &build_depends(input)?, &files)?;
        files.push((format!("{}_{}.dsc", info.name, info.debian_version()), dsc.into_bytes()));
        Ok(files)
    }
}

/// Build-Depends: debhelper, m4 (sendmail's build runs it, and the .cf
/// files are made with it), OpenSSL's headers, and each build option's
/// development package from the option table; sorted, each once.
pub fn build_depends(input: &Input) -> Result<Vec<String>> {
    if input.config.openssl.prefix.is_some() {
        bail!(
            "this build uses a private OpenSSL (--openssl-prefix): a source package builds against \
             Debian's libssl-dev; configure without --openssl-prefix first"
        );
    }
    let mut deps: BTreeSet<String> =
        [crate::tools::M4.debian, crate::tools::OPENSSL_HEADERS.debian].iter().map(|s| s.to_string()).collect();
    for name in &input.config.options {
        let spec = crate::configure::options::find(name)
            .with_context(|| format!("the build has option `{name}`, which this smtls does not know"))?;
        if let Some(p) = spec.probe {
            if !p.need.debian.is_empty() {
                deps.insert(p.need.debian.to_string());
            }
        }
    }
    let mut out = vec![format!("debhelper-compat (= {COMPAT})")];
    out.extend(deps);
    Ok(out)
}

/// Every file of `debian/`, sorted by path.
pub fn debian_dir(input: &Input) -> Result<Vec<DebianFile>> {
    let info = input.info;
    let mut out: BTreeMap<String, (Vec<u8>, u32)> = BTreeMap::new();
    let mut put = |path: &str, bytes: Vec<u8>, mode: u32| {
        out.insert(path.to_string(), (bytes, mode));
    };
    put("debian/control", control(input)?.into_bytes(), 0o644);
    put("debian/changelog", crate::meta::debian_changelog(info, input.time)?.into_bytes(), 0o644);
    let license = String::from_utf8((input.read)("LICENSE")?).context("sendmail's LICENSE is not UTF-8")?;
    put("debian/copyright", crate::meta::copyright(&info.version, &license)?.into_bytes(), 0o644);
    put("debian/source/format", b"3.0 (quilt)\n".to_vec(), 0o644);
    put("debian/watch", watch().into_bytes(), 0o644);
    if let Some(key) = &input.upstream.signing_key {
        put("debian/upstream/signing-key.asc", key.clone().into_bytes(), 0o644);
    }
    put("debian/rules", rules(input)?.into_bytes(), 0o755);
    let install = Install::plan(input.contents, &info.version)?;
    put(&format!("{SMTLS}/build.mk"), build_mk(input, &install)?.into_bytes(), 0o644);
    put(&format!("{SMTLS}/objects.mk"), crate::build::OBJECTS_MK.as_bytes().to_vec(), 0o644);
    put(&format!("{SMTLS}/site.config.m4"), site_config(&input.site_config)?.into_bytes(), 0o644);
    for (path, text) in &install.files {
        put(&format!("{SMTLS}/files{path}"), text.clone().into_bytes(), 0o644);
    }
    for (name, text) in scripts::scripts(input.contents)? {
        put(&format!("debian/{}.{name}", info.name), with_debhelper_token(&text).into_bytes(), 0o755);
    }
    if let Some(patch) = man_patch(input)? {
        put("debian/patches/series", b"man-page-fixes.patch\n".to_vec(), 0o644);
        put("debian/patches/man-page-fixes.patch", patch.into_bytes(), 0o644);
    }
    put("debian/tests/control", tests_control().into_bytes(), 0o644);
    put("debian/tests/starttls", template::render("debian-tests-starttls", &BTreeMap::new())?.into_bytes(), 0o755);
    Ok(out.into_iter().map(|(p, (b, m))| (p, b, m)).collect())
}

/// `debian/control`: the source stanza, and the binary stanza with the
/// fields of dist's .deb (Depends from `${shlibs:Depends}`).
pub fn control(input: &Input) -> Result<String> {
    let info = input.info;
    let mut s = String::new();
    writeln!(s, "Source: {}", info.name)?;
    writeln!(s, "Section: mail\nPriority: optional")?;
    writeln!(s, "Maintainer: {}", info.maintainer)?;
    // data.tar holds root:root files only; postinst applies the real
    // owners with dpkg-statoverride, as dist's .deb does.
    writeln!(s, "Rules-Requires-Root: no")?;
    writeln!(s, "Build-Depends:\n {},", build_depends(input)?.join(",\n "))?;
    writeln!(s, "Standards-Version: {STANDARDS_VERSION}")?;
    writeln!(s, "Homepage: {}", info.homepage)?;
    writeln!(s)?;
    writeln!(s, "Package: {}\nArchitecture: any", info.name)?;
    for (k, v) in debcontrol::relation_fields(info, &depends_field()) {
        writeln!(s, "{k}: {v}")?;
    }
    writeln!(s, "Description: {}", debcontrol::description_field(info))?;
    Ok(s)
}

/// Depends as dpkg-gencontrol writes dist's order: the tools sorted with
/// the libraries (`${shlibs:Depends}`, all named lib*) in their place.
pub fn depends_field() -> String {
    let (before, after): (Vec<&str>, Vec<&str>) = shlibdeps::TOOLS.iter().partition(|t| **t < "lib");
    let mut v: Vec<&str> = before;
    v.push("${shlibs:Depends}");
    v.extend(after);
    v.push("${misc:Depends}");
    v.join(", ")
}

/// `debian/watch`: version 4, the upstream site, the signature beside
/// each tarball (`.sig`), checked against debian/upstream/signing-key.asc.
pub fn watch() -> String {
    format!(
        "version=4\nopts=\"pgpsigurlmangle=s/$/.sig/\" \\\n  {} sendmail\\.(\\d[\\d.]*)\\.tar\\.gz\n",
        crate::fetch::upstream::DEFAULT_URL
    )
}

/// `#DEBHELPER#` before the script's final `exit 0`, where debhelper
/// puts what it adds.
/// In the empty line before it, so that the script debhelper writes when
/// it adds nothing is dist's byte for byte.
pub fn with_debhelper_token(script: &str) -> String {
    match script.strip_suffix("\n\nexit 0\n") {
        Some(head) => format!("{head}\n#DEBHELPER#\nexit 0\n"),
        None => format!("{}\n#DEBHELPER#\n", script.trim_end()),
    }
}

/// The feature fragments of the configured site.config.m4: everything but
/// the host's flags (dpkg-buildflags gives them at build time) and its
/// build path, then the flag lines debian/rules fills.
pub fn site_config(configured: &str) -> Result<String> {
    const HOST_ONLY: &[&str] = &["hardening.m4", "reproducible.m4"];
    let mut out = String::from(
        "dnl site.config.m4 of the smtls source package: the feature fragments of\n\
         dnl smtls's configure, then the flags of dpkg-buildflags (debian/rules).\n",
    );
    let mut keep = false;
    for line in configured.lines() {
        if let Some(name) = line.strip_prefix("dnl --- ") {
            if name == "openssl-prefix.m4" {
                bail!("site.config.m4 builds against a private OpenSSL: configure without --openssl-prefix first");
            }
            if name.contains('/') {
                bail!("site.config.m4 has the user fragment {name}: a source package carries smtls's fragments only");
            }
            keep = !HOST_ONLY.contains(&name);
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !out.contains("dnl --- tls.m4") {
        bail!("site.config.m4 has no tls.m4 fragment: run `cargo xtask configure` first");
    }
    out.push_str(
        "dnl --- dpkg-buildflags\n\
         APPENDDEF(`confCCOPTS', `@CFLAGS@')\n\
         APPENDDEF(`confLDOPTS', `@LDFLAGS@')\n",
    );
    Ok(out)
}

/// The install of the contents list: recipe lines, and the generated
/// texts shipped in `debian/smtls/files/` at their install paths.
#[derive(Debug, Default)]
pub struct Install {
    pub lines: Vec<String>,
    pub files: BTreeMap<String, String>,
}

impl Install {
    /// One entry at a time, by its origin; every origin is named.
    pub fn plan(contents: &stage::Contents, version: &str) -> Result<Install> {
        let mut i = Install::default();
        for e in &contents.entries {
            i.entry(contents, e, version)?;
        }
        Ok(i)
    }

    fn entry(&mut self, c: &stage::Contents, e: &Entry, version: &str) -> Result<()> {
        let path = e.path.display().to_string();
        let dest = format!("$(D){path}");
        let mode = if scripts::neutral(e) { e.mode } else { scripts::neutral_mode(e) };
        let file = |from: &str| format!("install -m {mode:04o} {from} {dest}");
        let unsupported = |why: &str| -> Result<()> {
            bail!("{path}: the Debian source package cannot make a {:?} entry ({why})", e.origin)
        };
        let doc = |name: &str| Target::Debian.doc_dir().join(name) == e.path;
        match &e.origin {
            Origin::Dir => self.lines.push(format!("install -d -m {mode:04o} {dest}")),
            Origin::Link => match &e.kind {
                Kind::Symlink { target } => self.lines.push(format!("ln -s {} {dest}", target.display())),
                _ => return unsupported("a link that is not a symlink"),
            },
            Origin::Program { name } => self.lines.push(file(&format!("$(OBJ)/{name}/{name}"))),
            Origin::Library { built } => self.lines.push(file(&format!("$(OBJ)/{built}"))),
            Origin::Source { rel } => self.lines.push(file(&rel.display().to_string())),
            // Installed as patched (debian/patches), compressed by dh_compress.
            Origin::ManPage { page } => self.lines.push(format!(
                "install -m {mode:04o} {page} {}",
                dest.strip_suffix(".gz").context("a man page path ends in .gz")?
            )),
            Origin::Mc { which } => {
                let options = &c.options;
                self.generated(&path, stage::mc_text(Target::Debian, which, version, options)?, mode);
            }
            Origin::Cf { which } => {
                let mc = Target::Debian.mail_config(&format!("{which}.mc")).display().to_string();
                self.lines.push(format!(
                    "cd cf/cf && LC_ALL=C TZ=UTC m4 -D_NO_MAKEINFO_ ../m4/cf.m4 $(SMTLS)/files{mc} >{dest}"
                ));
                self.lines.push(format!("printf '### %s ###\\n' {which}.mc >>{dest}"));
                self.lines.push(format!("sed 's/^/# /' $(SMTLS)/files{mc} >>{dest}"));
                self.lines.push(format!("chmod {mode:04o} {dest}"));
            }
            Origin::CertsScript => self.generated(&path, stage::certs_script(Target::Debian)?, mode),
            Origin::CertsHook => self.generated(&path, stage::certs_hook(Target::Debian)?, mode),
            Origin::CertsManPage => {
                let plain = path.strip_suffix(".gz").context("a man page path ends in .gz")?;
                self.generated(plain, stage::certs_man_page(Target::Debian)?, mode);
            }
            Origin::Template { name } => self.generated(&path, template::render(name, &BTreeMap::new())?, mode),
            // dh_installchangelogs and dh_installdocs install these.
            Origin::ReleaseNotes if doc("changelog.gz") => {}
            Origin::DebianChangelog if doc("changelog.Debian.gz") => {}
            Origin::Copyright if doc("copyright") => {}
            Origin::ReleaseNotes | Origin::DebianChangelog | Origin::Copyright => {
                return unsupported("debhelper installs it under its own name only")
            }
            Origin::DocCopy { .. } | Origin::MailerConf => return unsupported("a FreeBSD file"),
            Origin::Bundled => return unsupported("the source package builds against Debian's libssl-dev"),
        }
        Ok(())
    }

    /// A generated text: shipped in debian/smtls/files, installed from there.
    fn generated(&mut self, path: &str, text: String, mode: u32) {
        self.lines.push(format!("install -m {mode:04o} $(SMTLS)/files{path} $(D){path}"));
        self.files.insert(path.to_string(), text);
    }
}

/// `debian/smtls/build.mk`: the build graph `cargo xtask build` runs, as
/// make rules (configure each subdirectory with its own Build, compile
/// every object under one jobserver, link each once the libraries its
/// Makefile names are linked), the install and the `-d0.14` test.
pub fn build_mk(input: &Input, install: &Install) -> Result<String> {
    let info = input.info;
    let mut s = String::new();
    writeln!(s, "# debian/smtls/build.mk of {}, generated by smtls (cargo xtask source-package)", info.name)?;
    writeln!(s, "# from its build graph and contents list. GNU make; run from the source tree.")?;
    writeln!(s, "OBJ := obj.\nD := $(CURDIR)/debian/{}\nSMTLS := $(CURDIR)/{SMTLS}\n", info.name)?;
    let subs = &input.subdirs;
    let links: Vec<String> = subs.iter().map(|s| format!("smtls-link-{s}")).collect();
    writeln!(s, ".PHONY: smtls-build smtls-install smtls-test {}\n", links.join(" "))?;
    writeln!(s, "smtls-build: {}\n", links.join(" "))?;
    // APPENDDEF expands its argument unquoted, so a comma would split it:
    // -Wl,-z,relro goes in as -Xlinker -z -Xlinker relro.
    writeln!(s, "comma := ,")?;
    writeln!(
        s,
        "SMTLS_LDFLAGS := $(foreach f,$(LDFLAGS),$(if $(filter -Wl$(comma)%,$(f)),\
         $(patsubst %,-Xlinker %,$(subst $(comma), ,$(patsubst -Wl$(comma)%,%,$(f)))),$(f)))"
    )?;
    writeln!(s, "devtools/Site/site.config.m4: {SMTLS}/site.config.m4")?;
    writeln!(
        s,
        "\tsed -e 's|@CFLAGS@|$(CFLAGS) $(CPPFLAGS)|' -e 's|@LDFLAGS@|$(SMTLS_LDFLAGS)|' {SMTLS}/site.config.m4 >$@\n"
    )?;
    for sub in subs {
        let libs = input.links.get(sub).with_context(|| {
            format!("the libraries {sub} links are unknown: run `cargo xtask build` (or dist) first")
        })?;
        writeln!(s, "$(OBJ)/{sub}/Makefile: devtools/Site/site.config.m4")?;
        writeln!(s, "\tmkdir -p $(OBJ)\n\tcd {sub} && MAKE=true sh ./Build -c")?;
        writeln!(s, "smtls-objects-{sub}: $(OBJ)/{sub}/Makefile")?;
        writeln!(s, "\t$(MAKE) -C $(OBJ)/{sub} -f Makefile -f $(SMTLS)/objects.mk smtls-objects")?;
        let deps: Vec<String> = libs.iter().map(|l| format!("smtls-link-{l}")).collect();
        writeln!(
            s,
            "smtls-link-{sub}: smtls-objects-{sub}{}",
            deps.iter().map(|d| format!(" {d}")).collect::<String>()
        )?;
        writeln!(s, "\t$(MAKE) -C $(OBJ)/{sub} all\n")?;
    }
    writeln!(s, ".PHONY: {}\n", subs.iter().map(|s| format!("smtls-objects-{s}")).collect::<Vec<_>>().join(" "))?;
    writeln!(s, "smtls-install:")?;
    for l in &install.lines {
        writeln!(s, "\t{l}")?;
    }
    let expect = verify::Expectations::from_configuration(input.config);
    writeln!(s, "\n# What `cargo xtask verify` proves, from the binary's own -d0.14.")?;
    writeln!(s, "smtls-test:")?;
    writeln!(s, "\ttimeout 30 $(OBJ)/sendmail/sendmail -d0.14 -bt </dev/null >$(OBJ)/d0.14 2>&1 || true")?;
    writeln!(s, "\tcat $(OBJ)/d0.14")?;
    for t in &expect.required {
        writeln!(s, "\tgrep -qw -- '{t}' $(OBJ)/d0.14 || {{ echo 'sendmail -d0.14 does not list {t}'; exit 1; }}")?;
    }
    for t in &expect.absent {
        writeln!(s, "\t! grep -qw -- '{t}' $(OBJ)/d0.14 || {{ echo 'sendmail -d0.14 lists {t}, an option that is off'; exit 1; }}")?;
    }
    Ok(s)
}

/// `debian/rules`.
pub fn rules(input: &Input) -> Result<String> {
    let vars = BTreeMap::from([("PACKAGE", input.info.name.clone())]);
    template::render("debian-rules.in", &vars)
}

/// The quilt patch of the man page fixes `stage` applies, if any applies.
pub fn man_patch(input: &Input) -> Result<Option<String>> {
    let mut body = String::new();
    for (page, _) in stage::man_pages(Target::Debian) {
        let old = (input.read)(page)?;
        let new = stage::fix_man_page(page, old.clone());
        if old == new {
            continue;
        }
        let (old, new) = (String::from_utf8_lossy(&old), String::from_utf8_lossy(&new));
        let diff = similar::TextDiff::from_lines(old.as_ref(), new.as_ref());
        body.push_str(
            &diff.unified_diff().context_radius(3).header(&format!("a/{page}"), &format!("b/{page}")).to_string(),
        );
    }
    if body.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "Description: man page typos that make groff drop words\n \
         The same fixes smtls applies when it packages the man pages itself.\n\
         Author: {}\nForwarded: no\n---\n{body}",
        input.info.maintainer
    )))
}

/// `debian/tests/control`: the installed daemon on 127.0.0.1 serves a
/// full chain over STARTTLS with a throwaway PKI.
pub fn tests_control() -> String {
    "Tests: starttls\nDepends: @, openssl, procps\nRestrictions: needs-root, isolation-container, allow-stderr, breaks-testbed\n"
        .to_string()
}

/// The `.debian.tar.xz`'s tar: `debian/` and its subdirectories, then
/// every file, sorted; root-owned, one mtime.
pub fn debian_tar(files: &[DebianFile], time: u64) -> Result<Vec<u8>> {
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for (p, _, _) in files {
        for a in Path::new(p).ancestors().skip(1) {
            if !a.as_os_str().is_empty() {
                dirs.insert(format!("{}/", a.display()));
            }
        }
    }
    let mut members: Vec<(String, archive::TarMember)> = dirs
        .into_iter()
        .map(|d| {
            let m = archive::TarMember {
                data: archive::TarData::Dir,
                ..archive::TarMember::file(d.clone(), vec![], 0o755, time)
            };
            (d, m)
        })
        .collect();
    for (p, bytes, mode) in files {
        members.push((p.clone(), archive::TarMember::file(p.clone(), bytes.clone(), *mode, time)));
    }
    members.sort_by(|a, b| a.0.cmp(&b.0));
    archive::tar(&members.into_iter().map(|(_, m)| m).collect::<Vec<_>>())
}

/// xz at preset 6 with a CRC64 check, as dpkg-source writes.
pub fn xz(data: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut e = xz2::write::XzEncoder::new(Vec::new(), 6);
    e.write_all(data)?;
    Ok(e.finish()?)
}

/// The `.dsc` (unsigned) for `files` (orig, its signature, debian tar).
pub fn dsc(info: &Info, build_depends: &[String], files: &[(String, Vec<u8>)]) -> Result<String> {
    use sha1::Digest as _;
    let mut s = String::new();
    writeln!(s, "Format: 3.0 (quilt)")?;
    writeln!(s, "Source: {}\nBinary: {}\nArchitecture: any", info.name, info.name)?;
    writeln!(s, "Version: {}", info.debian_version())?;
    writeln!(s, "Maintainer: {}", info.maintainer)?;
    writeln!(s, "Homepage: {}", info.homepage)?;
    writeln!(s, "Standards-Version: {STANDARDS_VERSION}")?;
    writeln!(s, "Build-Depends: {}", build_depends.join(", "))?;
    writeln!(s, "Package-List:\n {} deb mail optional arch=any", info.name)?;
    writeln!(s, "Testsuite: autopkgtest")?;
    writeln!(s, "Checksums-Sha1:")?;
    for (n, b) in files {
        writeln!(s, " {} {} {n}", crate::digest::hex(&sha1::Sha1::digest(b)), b.len())?;
    }
    writeln!(s, "Checksums-Sha256:")?;
    for (n, b) in files {
        writeln!(s, " {} {} {n}", crate::digest::sha256_hex(b), b.len())?;
    }
    writeln!(s, "Files:")?;
    for (n, b) in files {
        use md5::Digest as _;
        writeln!(s, " {} {} {n}", crate::digest::hex(&md5::Md5::digest(b)), b.len())?;
    }
    Ok(s)
}

/// The debian/ files as a map, for tests.
pub fn by_path(files: &[DebianFile]) -> BTreeMap<&str, &[u8]> {
    files.iter().map(|(p, b, _)| (p.as_str(), b.as_slice())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Upstream;
    use std::path::PathBuf;

    const OPTIONS: &[&str] = &["sasl", "ipv6", "bdb", "regex", "socketmap", "milter", "dane"];
    const SITE_CONFIG: &str = "dnl Generated by smtls (cargo xtask configure).\n\
        dnl --- tls.m4\nAPPENDDEF(`conf_sendmail_ENVDEF', `-DSTARTTLS')\n\
        dnl --- sasl.m4\nAPPENDDEF(`conf_sendmail_ENVDEF', `-DSASL=2')\n\
        dnl --- hardening.m4\nAPPENDDEF(`confCCOPTS', `-fstack-protector-strong')\n\
        dnl --- reproducible.m4\nAPPENDDEF(`confCCOPTS', `-ffile-prefix-map=/home/builder/work/src=/usr/src')\n";

    struct Fixture {
        dir: PathBuf,
        plan: crate::plan::Plan,
        info: Info,
        upstream: Upstream,
        contents: stage::Contents,
        config: crate::configure::Configuration,
    }

    fn fixture(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("smtls-debian-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let plan = crate::plan::Plan::from_args(&crate::plan::PlanArgs {
            work_dir: Some(dir.join("work")),
            cache_dir: Some(dir.join("cache")),
            ..Default::default()
        })
        .unwrap();
        let options: Vec<String> = OPTIONS.iter().map(|s| s.to_string()).collect();
        let mut info =
            Info { maintainer: crate::meta::MAINTAINER.into(), ..Info::new("8.18.2", "0smtls1", &options).unwrap() };
        info.relations = debcontrol::relations(&options).unwrap();
        std::fs::write(dir.join("tarball"), b"upstream bytes").unwrap();
        std::fs::write(dir.join("tarball.sig"), [0x89u8, 0x01, 0x33]).unwrap();
        let upstream = Upstream {
            tarball: dir.join("tarball"),
            signature: Some(dir.join("tarball.sig")),
            signing_key: Some("-----BEGIN PGP PUBLIC KEY BLOCK-----\n...\n".into()),
            unsigned_because: None,
        };
        let features = stage::Features { options: options.clone(), multiarch: Some(MULTIARCH.into()) };
        let cf = vec![(PathBuf::from("m4/cf.m4"), false), (PathBuf::from("sh/makeinfo.sh"), true)];
        let contents =
            stage::list(Target::Debian, Path::new("/nonexistent/src"), Path::new("/nonexistent/gen"), &cf, &features)
                .unwrap();
        let config = crate::configure::Configuration {
            version: "8.18.2".into(),
            source_sha256: String::new(),
            request: Default::default(),
            defines: vec!["STARTTLS".into(), "TLS_EC=2".into(), "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE".into()],
            openssl: crate::configure::probe::OpenSsl {
                text: "OpenSSL 3.0".into(),
                compiled: 0x30000160,
                linked: 0x30000160,
                ec: true,
                prefix: None,
            },
            berkeley_db: Some("5.3.28".into()),
            options,
            options_off: vec!["ldap".into()],
            fragments: vec![],
            site_config_sha256: String::new(),
            probed_files: vec![],
            hardening: None,
        };
        Fixture { dir, plan, info, upstream, contents, config }
    }

    fn read(rel: &str) -> Result<Vec<u8>> {
        match rel {
            "LICENSE" => Ok(b"\t\tSENDMAIL LICENSE\n\nterms\n".to_vec()),
            "vacation/vacation.1" => Ok(b".TH VACATION 1\n.SH NAME\n.i vacation\n\\- reply\n.SH SYNOPSIS\n".to_vec()),
            other if stage::MAN_PAGES.iter().any(|(p, _)| *p == other) => Ok(format!(".TH {other}\n").into_bytes()),
            other => bail!("the fixture has no {other}"),
        }
    }

    fn input<'a>(f: &'a Fixture, time: u64) -> Input<'a> {
        let subdirs = ["sendmail", "libsm", "libsmutil", "libmilter"].map(String::from).to_vec();
        let links = BTreeMap::from([
            ("sendmail".to_string(), vec!["libsm".to_string(), "libsmutil".to_string()]),
            ("libsm".to_string(), vec![]),
            ("libsmutil".to_string(), vec![]),
            ("libmilter".to_string(), vec![]),
        ]);
        Input {
            plan: &f.plan,
            info: &f.info,
            upstream: &f.upstream,
            contents: &f.contents,
            config: &f.config,
            time,
            read: &read,
            site_config: SITE_CONFIG.into(),
            subdirs,
            links,
        }
    }

    fn text(files: &[DebianFile], path: &str) -> String {
        String::from_utf8(by_path(files).get(path).unwrap_or_else(|| panic!("no {path}")).to_vec()).unwrap()
    }

    #[test]
    fn same_input_same_bytes_and_the_orig_is_upstreams() {
        let f = fixture("same");
        let a = Debian.files(&input(&f, 1_700_000_000)).unwrap();
        assert_eq!(a, Debian.files(&input(&f, 1_700_000_000)).unwrap());
        let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "smtls-sendmail_8.18.2.orig.tar.gz",
                "smtls-sendmail_8.18.2.orig.tar.gz.asc",
                "smtls-sendmail_8.18.2-0smtls1.debian.tar.xz",
                "smtls-sendmail_8.18.2-0smtls1.dsc"
            ]
        );
        assert_eq!(a[0].1, b"upstream bytes");
        let asc = String::from_utf8(a[1].1.clone()).unwrap();
        assert!(asc.starts_with("-----BEGIN PGP SIGNATURE-----\n\niQEz\n"), "{asc}");
        // Another build time: another changelog date, other bytes.
        assert_ne!(a[2].1, Debian.files(&input(&f, 1_700_086_400)).unwrap()[2].1);
        // Without a checked signature: no .asc and no signing key.
        let unsigned = Fixture {
            upstream: Upstream { signature: None, signing_key: None, unsigned_because: Some("x".into()), ..f.upstream },
            ..fixture("unsigned")
        };
        let u = Debian.files(&input(&unsigned, 1_700_000_000)).unwrap();
        assert!(u.iter().all(|(n, _)| !n.ends_with(".asc")));
        assert!(!by_path(&debian_dir(&input(&unsigned, 1)).unwrap()).contains_key("debian/upstream/signing-key.asc"));
        std::fs::remove_dir_all(&f.dir).unwrap();
        std::fs::remove_dir_all(&unsigned.dir).unwrap();
    }

    #[test]
    fn the_dsc_names_every_file_with_its_sums_and_the_tar_holds_debian() {
        use std::io::Read;
        let f = fixture("dsc");
        let files = Debian.files(&input(&f, 1_700_000_000)).unwrap();
        let dsc = String::from_utf8(files[3].1.clone()).unwrap();
        assert!(dsc.starts_with("Format: 3.0 (quilt)\nSource: smtls-sendmail\nBinary: smtls-sendmail\n"), "{dsc}");
        assert!(dsc.contains("\nBuild-Depends: debhelper-compat (= 13), libdb-dev, libsasl2-dev, libssl-dev, m4\n"));
        for (name, bytes) in &files[..3] {
            let line = format!(" {} {} {name}\n", crate::digest::sha256_hex(bytes), bytes.len());
            assert!(dsc.contains(&line), "{line} in {dsc}");
        }
        assert_eq!(dsc.matches(".debian.tar.xz\n").count(), 3, "Sha1, Sha256, Files");
        let mut tar = vec![];
        xz2::read::XzDecoder::new(files[2].1.as_slice()).read_to_end(&mut tar).unwrap();
        let mut a = tar::Archive::new(tar.as_slice());
        let mut names = vec![];
        for e in a.entries().unwrap() {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!((h.uid().unwrap(), h.gid().unwrap(), h.mtime().unwrap()), (0, 0, 1_700_000_000));
            names.push(e.path().unwrap().display().to_string());
        }
        assert_eq!(names[0], "debian/");
        for want in ["debian/control", "debian/rules", "debian/source/format", "debian/smtls/build.mk"] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        std::fs::remove_dir_all(&f.dir).unwrap();
    }

    #[test]
    fn control_has_dists_fields_and_build_depends_from_the_options() {
        let f = fixture("control");
        let d = debian_dir(&input(&f, 1)).unwrap();
        let c = text(&d, "debian/control");
        assert!(
            c.contains("Build-Depends:\n debhelper-compat (= 13),\n libdb-dev,\n libsasl2-dev,\n libssl-dev,\n m4,\n")
        );
        assert!(c.contains("\nRules-Requires-Root: no\n") && c.contains("\nStandards-Version: 4.6.2\n"), "{c}");
        // The binary stanza says what dist's control file says, Depends
        // left to dpkg-shlibdeps.
        let mut info = f.info.clone();
        info.relations.depends = vec!["adduser".into(), "libc6 (>= 2.36)".into(), "m4".into()];
        let dist = debcontrol::control_text(&debcontrol::Control {
            info: &info,
            version: info.debian_version(),
            arch: "amd64".into(),
            installed_size: None,
        });
        let binary = c.split("\n\n").nth(1).unwrap();
        for line in dist.lines().filter(|l| !l.starts_with("Version:") && !l.starts_with("Maintainer:")) {
            let line = line.replace("Architecture: amd64", "Architecture: any");
            if line.starts_with("Depends:") || line.starts_with("Section:") || line.starts_with("Priority:") {
                continue;
            }
            if line.starts_with("Homepage:") {
                assert!(c.contains(&line), "{line}");
                continue;
            }
            assert!(binary.lines().any(|l| l == line), "{line:?} not in\n{binary}");
        }
        assert!(binary.contains("\nDepends: adduser, ${shlibs:Depends}, m4, netbase, openssl, ${misc:Depends}\n"));
        std::fs::remove_dir_all(&f.dir).unwrap();
    }

    #[test]
    fn rules_build_mk_and_site_config_carry_no_host_fact() {
        let f = fixture("rules");
        let d = debian_dir(&input(&f, 1)).unwrap();
        let rules = text(&d, "debian/rules");
        assert!(rules.starts_with("#!/usr/bin/make -f\n") && rules.contains("\tdh $@\n"), "{rules}");
        assert!(rules.contains("filter nocheck,$(DEB_BUILD_OPTIONS)") && rules.contains("parallel=%"), "{rules}");
        assert_eq!(by_path(&d).len(), d.len());
        assert!(d.iter().any(|(p, _, m)| p == "debian/rules" && *m == 0o755));
        let mk = text(&d, "debian/smtls/build.mk");
        assert!(mk.contains("smtls-link-sendmail: smtls-objects-sendmail smtls-link-libsm smtls-link-libsmutil\n"));
        assert!(mk.contains("\tcd sendmail && MAKE=true sh ./Build -c\n"), "{mk}");
        assert!(mk.contains("$(D)/usr/lib/$(DEB_HOST_MULTIARCH)/libmilter.a"), "{mk}");
        assert!(
            mk.contains("grep -qw -- '_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE'") && mk.contains("! grep -qw -- 'LDAPMAP'")
        );
        assert!(mk
            .contains("m4 -D_NO_MAKEINFO_ ../m4/cf.m4 $(SMTLS)/files/etc/mail/sendmail.mc >$(D)/etc/mail/sendmail.cf"));
        let site = text(&d, "debian/smtls/site.config.m4");
        assert!(site.contains("dnl --- sasl.m4\n") && !site.contains("hardening") && !site.contains("/home/builder"));
        assert!(
            site.ends_with("APPENDDEF(`confCCOPTS', `@CFLAGS@')\nAPPENDDEF(`confLDOPTS', `@LDFLAGS@')\n"),
            "{site}"
        );
        let bad = format!("{SITE_CONFIG}dnl --- openssl-prefix.m4\n");
        assert!(site_config(&bad).unwrap_err().to_string().contains("--openssl-prefix"));
        assert!(site_config("dnl --- /home/me/extra.m4\n").unwrap_err().to_string().contains("user fragment"));
        // No host fact in any file: not this host's triplet, name, home or
        // work directory.
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let home = std::env::var("HOME").unwrap_or_default();
        for (p, b, _) in &d {
            let t = String::from_utf8_lossy(b);
            for bad in [crate::host::multiarch().unwrap_or_default(), host.trim().to_string(), home.clone()] {
                assert!(bad.len() < 2 || !t.contains(&bad), "{p} names {bad:?}");
            }
            assert!(!t.contains(&f.dir.display().to_string()), "{p} names the work directory");
        }
        std::fs::remove_dir_all(&f.dir).unwrap();
    }

    #[test]
    fn changelog_copyright_watch_scripts_patches_and_tests() {
        let f = fixture("texts");
        let d = debian_dir(&input(&f, 1_700_000_000)).unwrap();
        assert_eq!(text(&d, "debian/changelog"), crate::meta::debian_changelog(&f.info, 1_700_000_000).unwrap());
        let copyright = text(&d, "debian/copyright");
        assert!(copyright.starts_with("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"));
        assert!(
            copyright.contains("License: Sendmail\n                 SENDMAIL LICENSE\n .\n terms\n"),
            "{copyright}"
        );
        assert_eq!(text(&d, "debian/source/format"), "3.0 (quilt)\n");
        let watch = text(&d, "debian/watch");
        assert!(watch.starts_with("version=4\nopts=\"pgpsigurlmangle=s/$/.sig/\""), "{watch}");
        assert!(text(&d, "debian/upstream/signing-key.asc").starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        for s in ["preinst", "postinst", "prerm", "postrm"] {
            let t = text(&d, &format!("debian/smtls-sendmail.{s}"));
            assert!(t.starts_with("#!/bin/sh\n") && t.ends_with("\n#DEBHELPER#\nexit 0\n"), "{s}: {t}");
            assert!(!t.contains("DEB_HOST_MULTIARCH"), "{s}");
        }
        assert_eq!(with_debhelper_token("#!/bin/sh\nset -e\n"), "#!/bin/sh\nset -e\n#DEBHELPER#\n");
        // debhelper with nothing to add writes dist's script again.
        let dist = "#!/bin/sh\nset -e\nfi\n\nexit 0\n";
        assert_eq!(with_debhelper_token(dist).replace("#DEBHELPER#", ""), dist);
        let patch = text(&d, "debian/patches/man-page-fixes.patch");
        assert!(patch.contains("--- a/vacation/vacation.1\n+++ b/vacation/vacation.1\n"), "{patch}");
        assert!(patch.contains("\n-.i vacation\n+.I vacation\n"), "{patch}");
        assert_eq!(text(&d, "debian/patches/series"), "man-page-fixes.patch\n");
        let tests = text(&d, "debian/tests/control");
        assert!(tests.starts_with("Tests: starttls\n") && tests.contains("needs-root"), "{tests}");
        let starttls = text(&d, "debian/tests/starttls");
        assert!(starttls.contains("-starttls smtp") && starttls.contains("127.0.0.1"), "{starttls}");
        // The generated texts are the ones dist's .deb carries.
        let mc = text(&d, "debian/smtls/files/etc/mail/sendmail.mc");
        assert_eq!(mc, stage::mc_text(Target::Debian, "sendmail", "8.18.2", &f.config.options).unwrap());
        assert_eq!(
            text(&d, "debian/smtls/files/usr/sbin/sendmail-certs"),
            stage::certs_script(Target::Debian).unwrap()
        );
        std::fs::remove_dir_all(&f.dir).unwrap();
    }

    #[test]
    fn every_origin_is_placed_or_refused_by_name() {
        let f = fixture("origins");
        let mut c = f.contents.clone();
        let e = c.entries.iter_mut().find(|e| e.path.ends_with("usr/sbin/makemap")).unwrap();
        e.origin = Origin::Bundled;
        let err = Install::plan(&c, "8.18.2").unwrap_err().to_string();
        assert!(err.contains("/usr/sbin/makemap") && err.contains("libssl-dev"), "{err}");
        let i = Install::plan(&f.contents, "8.18.2").unwrap();
        assert!(i
            .lines
            .iter()
            .any(|l| l == "install -m 0755 $(OBJ)/sendmail/sendmail $(D)/usr/libexec/sendmail/sendmail"));
        assert!(i.lines.iter().any(|l| l.starts_with("ln -s ../libexec/sendmail/sendmail $(D)/usr/sbin/sendmail")));
        assert!(
            i.lines.iter().any(|l| l == "install -d -m 0755 $(D)/var/spool/mqueue"),
            "neutral modes, postinst overrides"
        );
        assert!(i.lines.iter().all(|l| !l.contains("changelog")), "debhelper installs the changelogs");
        std::fs::remove_dir_all(&f.dir).unwrap();
    }
}

//! The overlay port `ports/mail/sendmail-tls`: pure renderers from data, and
//! the thin edge that gathers the data and writes the files.
//!
//! Every fact comes from its one source: the release (version, file, size,
//! SHA-256) from `releases.toml` checked against the verified tarball; the
//! TLS defines from `site-configs/` through the flag table; the OPTIONS from
//! the option table (`port_options`); the installed files, owners and modes
//! from `stage::contents_with(.., Target::FreeBsd, ..)` with every option
//! the port offers on, each option's files marked for `%%OPT%%` and its own
//! install target; the `.mc` and rc.conf.d texts from `xtask/templates/`;
//! the build order from `build.rs`. The committed port is this module's
//! output, and a test regenerates it byte for byte.
//!
//! distinfo's TIMESTAMP is when the distfile's checksum was taken; to be
//! reproducible it is the newest entry date inside the tarball (the
//! release's own date, as `epoch::newest_entry_mtime` reads it), not now.

use super::port_options;
use crate::configure::{flags, site_config};
use crate::stage::{self, Contents, Entry, Kind, Origin, Target};
use crate::{build, epoch, fetch, meta, plan::Plan, progress, template, util};
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where the port lives in the repository: `ports/` + its origin.
pub fn dir() -> String {
    format!("ports/{}", meta::FREEBSD_ORIGIN)
}
/// SHAREMODE and MANMODE of the ports framework (INSTALL_DATA, INSTALL_MAN,
/// COPYTREE_SHARE), the contents list's FreeBSD data mode.
pub const DATA_MODE: u32 = 0o444;
/// BINMODE of the ports framework (INSTALL_PROGRAM, INSTALL_SCRIPT).
pub const PROGRAM_MODE: u32 = 0o555;
/// CONFLICTS_INSTALL: mail/sendmail's own list of the other MTAs that
/// install `${PREFIX}/sbin/sendmail` (courier, postfix, smail, zmailer,
/// opensmtpd; version-less, as CONFLICTS_INSTALL takes package names), and
/// mail/sendmail with its variants, which install the same files.
pub const CONFLICTS: &[&str] = &[
    "courier",
    "opensmtpd",
    "postfix",
    "postfix-current",
    "sendmail",
    "sendmail+*",
    "sendmail-devel",
    "smail",
    "zmailer",
];
/// The port option that installs the documentation (PORTDOCS).
pub const DOCS_OPTION: &str = "DOCS";
/// The rc.conf.d template, shipped in files/ under the same name.
pub const RC_CONF_D: &str = "rc.conf.d-sendmail";

/// How the port produces one entry of the contents list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum How {
    /// `${INSTALL_PROGRAM}` of a program the build made (stripped).
    Program(String),
    /// `${INSTALL_MAN}` of an uncompressed page; the framework gzips it.
    Man(String),
    /// `${INSTALL_DATA}` (or `${INSTALL_SCRIPT}` for an executable mode),
    /// keeping the file name.
    Data(String),
    /// A configuration sample (the entry's path ends in `.sample`; plist
    /// `@sample`, so pkg copies it to the name without `.sample` unless
    /// that exists).
    Sample(String),
    /// `${INSTALL_DATA}` of a file installed under another name than its
    /// source's (e.g. `${FILESDIR}/sendmail.mc` as `etc/mail/sendmail.mc.sample`).
    Renamed(String),
    /// A `.cf` built in post-build from `${FILESDIR}/<stem>.mc`.
    Cf(String),
    /// A symbolic link with this target.
    Link(String),
    Dir,
}

/// One line of the contents list and how the port makes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortEntry {
    pub entry: Entry,
    pub how: How,
}

fn name_of(path: &Path) -> Result<String> {
    Ok(path.file_name().with_context(|| format!("{} has no file name", path.display()))?.to_string_lossy().into())
}

/// How the port makes `e`: read from the entry's origin, which says how
/// the stage makes it.
pub fn how(e: &Entry) -> Result<How> {
    let name = || name_of(&e.path);
    let wrksrc = |rel: &Path| format!("${{WRKSRC}}/{}", rel.display());
    // A file whose install name is not its source's is installed alone.
    let keep_or_rename = |from: String| -> Result<How> {
        let same = Path::new(&from).file_name().map(|n| n.to_string_lossy().to_string()) == Some(name()?);
        Ok(if same { How::Data(from) } else { How::Renamed(from) })
    };
    let unknown = |why: &str| {
        anyhow::anyhow!(
            "{}: the FreeBSD port cannot make a {:?} entry ({why}): teach `port::how` about it",
            e.path.display(),
            e.origin
        )
    };
    let is_file = matches!(e.kind, Kind::File { .. });
    // Every origin is named: a new one does not compile until the port
    // knows how to make it.
    Ok(match &e.origin {
        Origin::Dir => How::Dir,
        Origin::Link => match &e.kind {
            Kind::Symlink { target } => How::Link(target.display().to_string()),
            _ => return Err(unknown("a link that is not a symlink")),
        },
        Origin::Source { rel } => match e.kind {
            Kind::Config { .. } => How::Sample(wrksrc(rel)),
            _ => keep_or_rename(wrksrc(rel))?,
        },
        Origin::DocCopy { rel } => keep_or_rename(wrksrc(rel))?,
        Origin::Program { name } => How::Program(format!("${{WRKSRC}}/obj./{name}/{name}")),
        // A script written from its template: shipped filled in files/.
        Origin::CertsScript | Origin::CertsHook => How::Data(format!("${{FILESDIR}}/{}", name()?)),
        // Its manual page, filled in files/; the framework compresses it.
        Origin::CertsManPage => How::Man(format!("${{FILESDIR}}/{}", name()?.strip_suffix(".gz").unwrap_or_default())),
        // A library an option builds, stripped for the list; the ports
        // framework installs it as built.
        Origin::Library { built } => How::Data(format!("${{WRKSRC}}/obj./{built}")),
        Origin::ManPage { page } => How::Man(format!("${{WRKSRC}}/{page}")),
        Origin::Template { name } => match e.kind {
            // The rc.conf.d sample: @sample, so pkg activates it.
            Kind::Config { .. } => How::Sample(format!("${{FILESDIR}}/{name}")),
            // The samples of PREFIX/etc/mail: files/ texts installed as NAME.sample.
            Kind::File { .. } => keep_or_rename(format!("${{FILESDIR}}/{name}"))?,
            Kind::Dir | Kind::Symlink { .. } => return Err(unknown("a template that is not a file")),
        },
        Origin::Mc { which } if is_file => How::Renamed(format!("${{FILESDIR}}/{which}.mc")),
        Origin::Cf { which } if is_file => How::Cf(format!("{which}.cf")),
        Origin::Mc { .. } | Origin::Cf { .. } => {
            return Err(unknown("FreeBSD ships .mc and .cf as plain sample files"))
        }
        // %%PREFIX%% filled in by SUB_FILES.
        Origin::MailerConf => How::Data(format!("${{WRKDIR}}/{}", name()?)),
        Origin::ReleaseNotes | Origin::DebianChangelog | Origin::Copyright => {
            return Err(unknown("a Debian document; the port installs LICENSE and RELEASE_NOTES as copies"))
        }
        Origin::Bundled => return Err(unknown("the port links the system's OpenSSL, it bundles none")),
    })
}

/// The list with how each entry is made, in the list's order.
pub fn plan_entries(contents: &Contents) -> Result<Vec<PortEntry>> {
    if contents.target != Target::FreeBsd {
        bail!("the port is generated from the freebsd contents list, not the {} one", contents.target);
    }
    contents.entries.iter().map(|e| Ok(PortEntry { entry: e.clone(), how: how(e)? })).collect()
}

/// The framework's DATADIR, `PREFIX/share/<PORTNAME>`: the cf tree and the helpfile.
pub fn datadir() -> PathBuf {
    Path::new(Target::FreeBsd.prefix()).join("share").join(meta::FREEBSD_PORTNAME)
}

/// The framework's DOCSDIR, `PREFIX/share/doc/<PORTNAME>`, where the list puts the documentation.
pub fn docsdir() -> PathBuf {
    Target::FreeBsd.doc_dir()
}

/// A path of the list as the framework's directory variable it is under
/// (`DATADIR`, `DOCSDIR`) and the rest, or None for a plain PREFIX path.
fn under_framework_dir(path: &Path) -> Option<(&'static str, PathBuf)> {
    // DOCSDIR first: PREFIX/share/doc/... is not under DATADIR, but be exact anyway.
    [("DOCSDIR", docsdir()), ("DATADIR", datadir())]
        .into_iter()
        .find_map(|(var, dir)| path.strip_prefix(&dir).ok().map(|rest| (var, rest.to_path_buf())))
}

/// Relative to PREFIX (`sbin/sendmail`), with `%%DATADIR%%` and
/// `%%DOCSDIR%%` for what is under them: the list holds nothing outside
/// PREFIX (`stage::check` refuses a FreeBSD path outside it).
fn plist_path(path: &Path) -> String {
    let join = |var: &str, rest: &Path| {
        if rest.as_os_str().is_empty() {
            format!("%%{var}%%")
        } else {
            format!("%%{var}%%/{}", rest.display())
        }
    };
    if let Some((var, rest)) = under_framework_dir(path) {
        return join(var, &rest);
    }
    match path.strip_prefix(Target::FreeBsd.prefix()) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => unreachable!("stage::check keeps FreeBSD paths under PREFIX: {}", path.display()),
    }
}

/// The install path inside the stage directory, in make syntax.
fn staged(path: &Path) -> String {
    let var = |v: &str, rest: &Path| {
        if rest.as_os_str().is_empty() {
            format!("${{STAGEDIR}}${{{v}}}")
        } else {
            format!("${{STAGEDIR}}${{{v}}}/{}", rest.display())
        }
    };
    if let Some((v, rest)) = under_framework_dir(path) {
        return var(v, &rest);
    }
    match path.strip_prefix(Target::FreeBsd.prefix()) {
        Ok(rel) => var("PREFIX", rel),
        Err(_) => unreachable!("stage::check keeps FreeBSD paths under PREFIX: {}", path.display()),
    }
}

/// The cf tree (files and directories under the list's cf directory), which
/// do-install copies as a tree with COPYTREE_SHARE.
fn is_cf_tree(pe: &PortEntry) -> bool {
    pe.entry.path.starts_with(Target::FreeBsd.cf_dir())
}

/// The do-install line that copies the source's `cf/` to `${DATADIR}/cf`,
/// leaving out what the list leaves out (`stage::CF_SKIP`). Refuses a cf
/// entry the copy would not make (another source, another name).
fn copy_cf_tree(entries: &[PortEntry]) -> Result<String> {
    let cf_dir = Target::FreeBsd.cf_dir();
    for pe in entries.iter().filter(|pe| is_cf_tree(pe) && !matches!(pe.how, How::Dir)) {
        let rel = pe.entry.path.strip_prefix(&cf_dir).expect("is_cf_tree");
        let want = format!("${{WRKSRC}}/cf/{}", rel.display());
        if from_of(&pe.how).as_deref() != Some(want.as_str()) {
            bail!(
                "{}: the port copies the cf tree as it is in the source, but this entry comes from {:?}",
                pe.entry.path.display(),
                pe.how
            );
        }
    }
    let skip: Vec<String> = stage::CF_SKIP.iter().map(|s| format!("! -path cf/{s}")).collect();
    let dest = staged(cf_dir.parent().expect("the cf directory has a parent"));
    Ok(format!("\tcd ${{WRKSRC}} && ${{COPYTREE_SHARE}} cf {dest} \\\n\t\t\"{}\"\n", skip.join(" ")))
}

/// Documentation: listed under %%PORTDOCS%%, installed by the DOCS option.
fn is_doc(pe: &PortEntry) -> bool {
    pe.entry.path.starts_with(Target::FreeBsd.doc_dir())
}

/// The macro that installs a file, and the mode it leaves.
fn install_macro(pe: &PortEntry) -> Option<(&'static str, u32)> {
    match &pe.how {
        How::Program(_) => Some(("${INSTALL_PROGRAM}", PROGRAM_MODE)),
        How::Man(_) => Some(("${INSTALL_MAN}", DATA_MODE)),
        // The tree copy leaves SHAREMODE, scripts too: the plist says their mode.
        How::Data(_) if is_cf_tree(pe) => Some(("${COPYTREE_SHARE}", DATA_MODE)),
        How::Data(_) if pe.entry.mode & 0o111 != 0 => Some(("${INSTALL_SCRIPT}", PROGRAM_MODE)),
        How::Data(_) | How::Sample(_) | How::Renamed(_) | How::Cf(_) => Some(("${INSTALL_DATA}", DATA_MODE)),
        How::Link(_) | How::Dir => None,
    }
}

/// `@(owner,group,mode) ` when the entry differs from what the install
/// leaves (root, wheel, the macro's mode); empty otherwise.
fn attributes(e: &Entry, staged_mode: u32) -> String {
    if e.owner == "root" && e.group == Target::FreeBsd.root_group() && e.mode == staged_mode {
        String::new()
    } else {
        format!("({},{},{:04o})", e.owner, e.group, e.mode)
    }
}

/// pkg-plist: every entry of the list (all under PREFIX), with
/// `@(owner,group,mode)` where the list differs from what do-install
/// leaves, `@sample` for configuration samples, `@dir` for directories pkg
/// would not otherwise know (empty, or with their own owner or mode),
/// `%%OPT%%` for what an option adds and `%%PORTDOCS%%` for documentation.
pub fn render_plist(entries: &[PortEntry]) -> String {
    let mut out = String::new();
    let root_group = Target::FreeBsd.root_group();
    for pe in entries {
        let e = &pe.entry;
        // An option's entries are listed only when it is on (OPTIONS_SUB).
        let opt = match e.option.as_deref() {
            Some(o) => format!("%%{}%%", port_options::port_name(o).expect("contents options come from the table")),
            None if is_doc(pe) => "%%PORTDOCS%%".to_string(),
            None => String::new(),
        };
        let path = plist_path(&e.path);
        match &pe.how {
            How::Dir => {
                let has_children = entries.iter().any(|o| o.entry.path != e.path && o.entry.path.starts_with(&e.path));
                let special = !(e.owner == "root" && e.group == root_group && e.mode == 0o755);
                if special || !has_children {
                    let attrs = attributes(e, 0o755);
                    out.push_str(&format!("{opt}@dir{attrs} {path}\n"));
                }
            }
            How::Link(_) => out.push_str(&format!("{opt}{path}\n")),
            How::Sample(_) => {
                let attrs = attributes(e, DATA_MODE);
                out.push_str(&format!("{opt}@sample{attrs} {path}\n"));
            }
            How::Program(_) | How::Man(_) | How::Data(_) | How::Renamed(_) | How::Cf(_) => {
                let (_, mode) = install_macro(pe).expect("files have an install macro");
                let attrs = attributes(e, mode);
                if attrs.is_empty() {
                    out.push_str(&format!("{opt}{path}\n"));
                } else {
                    out.push_str(&format!("{opt}@{attrs} {path}\n"));
                }
            }
        }
    }
    out
}

/// Where an entry's bytes come from on the FreeBSD build host.
fn from_of(how: &How) -> Option<String> {
    match how {
        How::Program(f) | How::Man(f) | How::Data(f) | How::Sample(f) | How::Renamed(f) => Some(f.clone()),
        How::Cf(name) => Some(format!("${{WRKDIR}}/{name}")),
        How::Link(_) | How::Dir => None,
    }
}

/// One make command over several words, one word per continuation line.
fn command(words: &[String]) -> String {
    let mut s = String::from("\t");
    s.push_str(&words[0]);
    for w in &words[1..] {
        s.push_str(" \\\n\t\t");
        s.push_str(w);
    }
    s.push('\n');
    s
}

/// The body of do-install: directories, then files grouped by macro and
/// destination directory (install(1) takes several sources), the cf tree
/// copied as a tree, renamed samples one by one, then links.
pub fn render_install(all: &[PortEntry]) -> Result<String> {
    let cf_files = all.iter().any(|pe| is_cf_tree(pe) && !matches!(pe.how, How::Dir));
    let copy_cf = if cf_files { copy_cf_tree(all)? } else { String::new() };
    let entries: Vec<&PortEntry> = all.iter().filter(|pe| !is_cf_tree(pe)).collect();
    // Directories to create in the stage: parents of what is installed, and
    // the package's own directories (the tree copy makes the cf tree's).
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
    if cf_files {
        dirs.insert(Target::FreeBsd.cf_dir().parent().expect("the cf directory has a parent").to_path_buf());
    }
    for pe in &entries {
        match pe.how {
            How::Dir => {
                dirs.insert(pe.entry.path.clone());
            }
            _ => {
                if let Some(parent) = pe.entry.path.parent() {
                    dirs.insert(parent.to_path_buf());
                }
            }
        }
    }
    let leaves: Vec<String> =
        dirs.iter().filter(|d| !dirs.iter().any(|o| o != *d && o.starts_with(d))).map(|d| staged(d)).collect();
    let mut out = String::new();
    if !leaves.is_empty() {
        let mut words = vec!["${MKDIR}".to_string()];
        words.extend(leaves);
        out.push_str(&command(&words));
    }

    // Files: group consecutive entries by (macro, destination directory)
    // when the file keeps its name.
    let mut groups: Vec<((String, PathBuf), Vec<String>)> = vec![];
    let mut single: Vec<String> = vec![];
    let mut links: Vec<String> = vec![];
    for pe in &entries {
        let e = &pe.entry;
        if let How::Link(target) = &pe.how {
            links.push(format!("\t${{LN}} -sf {target} {}\n", staged(&e.path)));
            continue;
        }
        let (Some((mac, _)), Some(from)) = (install_macro(pe), from_of(&pe.how)) else { continue };
        let renamed = match &pe.how {
            How::Sample(_) | How::Renamed(_) | How::Cf(_) => true,
            // The framework compresses man pages itself: same name, no .gz.
            How::Man(_) => false,
            // A source of another name cannot share an install line.
            _ => Path::new(&from).file_name() != e.path.file_name(),
        };
        if renamed {
            single.push(format!("\t{mac} {from} {}\n", staged(&e.path)));
            continue;
        }
        let dir = e.path.parent().expect("install paths have a parent").to_path_buf();
        let key = (mac.to_string(), dir);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, files)) => files.push(from),
            None => groups.push((key, vec![from])),
        }
    }
    for ((mac, dir), files) in groups {
        let mut words = vec![mac];
        words.extend(files);
        words.push(staged(&dir));
        out.push_str(&command(&words));
    }
    out.push_str(&copy_cf);
    for s in single.into_iter().chain(links) {
        out.push_str(&s);
    }
    Ok(out)
}

/// do-install for what every build installs, and a `post-install-<OPT>-on`
/// target (run by the framework only when the option is on) for what each
/// option adds, in table order.
pub fn render_installs(entries: &[PortEntry]) -> Result<(String, String)> {
    let base: Vec<PortEntry> = entries.iter().filter(|pe| pe.entry.option.is_none() && !is_doc(pe)).cloned().collect();
    let mut targets = String::new();
    let docs: Vec<PortEntry> = entries.iter().filter(|pe| pe.entry.option.is_none() && is_doc(pe)).cloned().collect();
    if !docs.is_empty() {
        targets.push_str(&format!("\npost-install-{DOCS_OPTION}-on:\n{}", render_install(&docs)?));
    }
    for spec in crate::configure::options::OPTIONS {
        let sub: Vec<PortEntry> =
            entries.iter().filter(|pe| pe.entry.option.as_deref() == Some(spec.name)).cloned().collect();
        if sub.iter().any(|pe| !matches!(pe.how, How::Dir)) {
            targets.push_str(&format!("\npost-install-{}-on:\n{}", spec.port.name, render_install(&sub)?));
        }
    }
    if let Some(pe) = entries
        .iter()
        .find(|pe| pe.entry.option.as_deref().is_some_and(|o| crate::configure::options::find(o).is_none()))
    {
        bail!(
            "{} belongs to option {:?}, which the option table does not have",
            pe.entry.path.display(),
            pe.entry.option
        );
    }
    Ok((render_install(&base)?, targets))
}

/// Everything the Makefile says that is not the install list.
#[derive(Clone, Debug)]
pub struct MakefileData {
    pub version: String,
    pub master_site: String,
    pub comment: String,
    pub maintainer: String,
    pub www: String,
    /// Subdirectories to build, in order, whatever the options.
    pub build_dirs: Vec<String>,
    /// The OPTIONS block ([`port_options::render_block`]).
    pub options: String,
    /// `.cf` files built from `${FILESDIR}/<stem>.mc`.
    pub cf_files: Vec<String>,
    /// The body of do-install.
    pub install: String,
    /// `post-install-<OPT>-on` targets, each after a blank line.
    pub option_installs: String,
}

pub fn render_makefile(d: &MakefileData) -> Result<String> {
    let mut cf_rules = String::new();
    for cf in &d.cf_files {
        let stem = cf.strip_suffix(".cf").unwrap_or(cf);
        let vars = BTreeMap::from([("STEM", stem.to_string()), ("CF", cf.clone())]);
        cf_rules.push_str(&template::render("port-cf-rule", &vars)?);
    }
    let vars = BTreeMap::from([
        ("VERSION", d.version.clone()),
        ("MASTER_SITE", d.master_site.clone()),
        ("PORTNAME", meta::FREEBSD_PORTNAME.to_string()),
        ("PKGNAMESUFFIX", meta::FREEBSD_PKGNAMESUFFIX.to_string()),
        ("MAINTAINER", d.maintainer.clone()),
        ("COMMENT", d.comment.clone()),
        ("WWW", d.www.clone()),
        ("CONFLICTS", CONFLICTS.join(" ")),
        ("BUILD_DIRS", d.build_dirs.join(" ")),
        ("OPTIONS", d.options.clone()),
        ("CF_RULES", cf_rules),
        ("INSTALL", d.install.clone()),
        ("OPTION_INSTALLS", d.option_installs.clone()),
    ]);
    template::render("port-Makefile", &vars)
}

pub fn render_distinfo(timestamp: u64, file: &str, sha256: &str, size: u64) -> String {
    format!("TIMESTAMP = {timestamp}\nSHA256 ({file}) = {sha256}\nSIZE ({file}) = {size}\n")
}

/// `pkg-descr`: the one long description, without build options (the
/// port's user picks them).
pub fn render_descr(info: &meta::Info) -> String {
    format!("{}\n", info.description)
}

/// `files/pkg-message.in`: the .pkg's install message (one template),
/// with `%%PREFIX%%` for SUB_FILES to fill, in pkg-message's UCL form.
pub fn render_message(version: &str) -> Result<String> {
    let text = crate::package::pkg::message(version, "%%PREFIX%%")?;
    Ok(format!("[\n{{ type: install\n  message: <<EOM\n{text}EOM\n}}\n]\n"))
}

/// `files/mailer.conf.sendmail.in`: the package's mailer.conf.sendmail
/// template with `%%PREFIX%%` for SUB_FILES to fill.
pub fn render_mailer_conf() -> Result<String> {
    stage::mailer_conf("%%PREFIX%%")
}

/// The port's own fragment: the framework's compiler and flags, filled in
/// by do-configure. (Not a site-configs/ fragment: only the port has them.)
pub fn render_ports_fragment() -> String {
    "dnl Generated by smtls (cargo xtask port): the ports framework's compiler and
dnl flags, filled in by do-configure. Man pages are installed unformatted.
define(`confCC', `%%CC%%')
define(`confLD', `%%CC%%')
define(`confOPTIMIZE', `%%CFLAGS%%')
define(`confLDOPTS', `%%LDFLAGS%%')
define(`confNO_MAN_BUILD')
dnl devtools/OS/FreeBSD turns on -DNEWDB and -DMAP_REGEX itself: start from its
dnl NIS alone, so the BDB and REGEX options decide those maps.
define(`confMAPDEF', `-DNIS')
"
    .to_string()
}

/// `files/site.config.m4.tls`: site-configs/tls.m4, ec.m4 and cert-chain.m4,
/// filled for `version` through the flag table.
pub fn render_tls_fragment(version: &crate::releases::Version) -> Result<String> {
    let want = super::wanted(version, "the port needs a newer sendmail")?;
    let mut fragments = vec![site_config::builtin("tls.m4")?];
    let ec = flags::ec_define_for(version, super::FREEBSD_OPENSSL)?;
    if want.contains(&ec) {
        fragments.push(site_config::builtin("ec.m4")?);
    }
    if want.iter().any(|d| d == super::port_edit::CHAIN) {
        fragments.push(site_config::builtin("cert-chain.m4")?);
    }
    let vars = BTreeMap::from([("EC_DEFINE", ec.to_string())]);
    site_config::generate_with_header(
        "dnl Generated by smtls (cargo xtask port) from site-configs/. Do not edit.\n",
        &fragments,
        &vars,
    )
}

/// `files/site.config.m4.ssl`: site-configs/openssl-prefix.m4 for an OpenSSL
/// from ports, its directories filled in by do-configure.
pub fn render_ssl_fragment() -> Result<String> {
    let vars = BTreeMap::from([
        ("OPENSSL_INCDIR", "%%OPENSSLINC%%".to_string()),
        ("OPENSSL_LIBDIR", "%%OPENSSLLIB%%".to_string()),
    ]);
    site_config::generate_with_header(
        "dnl Generated by smtls (cargo xtask port) from site-configs/. Do not edit.\n",
        &[site_config::builtin("openssl-prefix.m4")?],
        &vars,
    )
}

/// `files/patch-*` for the man page fixes the contents list applies
/// (`stage::fix_man_page`), so the port installs the same text: (file name,
/// patch as `make makepatch` writes it). `read` gives a page's text from the
/// source tree, `mtime` its date in the release tarball.
pub fn render_man_patches(
    read: &dyn Fn(&str) -> Result<String>,
    mtime: &dyn Fn(&str) -> Result<u64>,
) -> Result<Vec<(String, String)>> {
    let mut out = vec![];
    for (page, _) in stage::MAN_PAGES {
        let old = read(page)?;
        let new = String::from_utf8(stage::fix_man_page(page, old.clone().into_bytes()))
            .with_context(|| format!("the fixed {page} is not UTF-8"))?;
        if new != old {
            out.push((makepatch_name(page), makepatch(page, &old, &new, mtime(page)?)?));
        }
    }
    Ok(out)
}

/// The file name `make makepatch` gives a patch of `path`: `patch-`, then
/// the path with `_` doubled and `/` as `_` (Mk/Scripts/smart_makepatch.sh).
pub fn makepatch_name(path: &str) -> String {
    format!("patch-{}", path.replace('_', "__").replace('/', "_"))
}

/// A patch as `make makepatch` writes it: `TZ=UTC diff -udp` of
/// `path.orig` and `path` (three lines of context, each hunk header followed
/// by the nearest line above it that starts with a letter, `$` or `_`, cut
/// at 40 bytes), the `.orig`'s time as `YYYY-MM-DD HH:MM:SS UTC` and none
/// on the `+++` line.
pub fn makepatch(path: &str, old: &str, new: &str, orig_mtime: u64) -> Result<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(orig_mtime as i64)
        .with_context(|| format!("{path}: {orig_mtime} is not a date"))?;
    let mut out = format!(
        "--- {path}.orig\t{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC\n+++ {path}\n",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let lines: Vec<&str> = old.split_inclusive('\n').collect();
    let is_function = |l: &str| l.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'$' || b == b'_');
    // diff remembers where its last search for a function line stopped.
    let (mut searched_to, mut last_match): (usize, Option<usize>) = (0, None);
    let diff = similar::TextDiff::from_lines(old, new);
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        let first = hunk.ops().first().map(|op| op.old_range().start).unwrap_or(0);
        let found = (searched_to..first).rev().find(|&i| is_function(&lines[i][..lines[i].len().min(40)]));
        searched_to = first;
        if found.is_some() {
            last_match = found;
        }
        let header = hunk.header().to_string();
        out.push_str(header.trim_end());
        if let Some(i) = last_match {
            let l = lines[i].trim_end_matches('\n').trim_start();
            let cut = &l.as_bytes()[..l.len().min(40)];
            out.push(' ');
            out.push_str(String::from_utf8_lossy(cut).trim_end());
        }
        out.push('\n');
        for change in hunk.iter_changes() {
            out.push_str(&format!("{}{}", change.tag(), change.value()));
            if change.missing_newline() {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
    }
    Ok(out)
}

/// The whole port: relative path -> text. `read` gives a file's text from
/// the source tree, `mtime` its date in the release tarball; `info` is the
/// package's metadata.
pub fn render(
    plan: &Plan,
    info: &meta::Info,
    distinfo: &str,
    entries: &[PortEntry],
    read: &dyn Fn(&str) -> Result<String>,
    mtime: &dyn Fn(&str) -> Result<u64>,
) -> Result<BTreeMap<String, String>> {
    let version = plan.version.to_string();
    let maintainer = info.freebsd_maintainer.clone();
    if entries.iter().any(|pe| is_doc(pe) && pe.entry.option.is_some()) {
        bail!("a documentation file belongs to a build option: the port installs docs under {DOCS_OPTION} only");
    }
    let cf_files: Vec<String> = entries
        .iter()
        .filter_map(|pe| match &pe.how {
            How::Cf(n) => Some(n.clone()),
            _ => None,
        })
        .collect();
    let offered = port_options::offered(&plan.version);
    let (install, option_installs) = render_installs(entries)?;
    let data = MakefileData {
        version: version.clone(),
        master_site: fetch::upstream::DEFAULT_URL.to_string(),
        comment: info.freebsd_comment(),
        maintainer,
        www: info.homepage.clone(),
        build_dirs: build::LIBRARIES.iter().chain(build::PROGRAMS).map(|s| s.to_string()).collect(),
        cf_files: cf_files.clone(),
        options: port_options::render_block(&offered),
        install,
        option_installs,
    };
    let mut files = BTreeMap::from([
        ("Makefile".to_string(), render_makefile(&data)?),
        ("distinfo".to_string(), distinfo.to_string()),
        ("pkg-descr".to_string(), render_descr(info)),
        ("pkg-plist".to_string(), render_plist(entries)),
        ("files/pkg-message.in".to_string(), render_message(&version)?),
        ("files/mailer.conf.sendmail.in".to_string(), render_mailer_conf()?),
        ("files/site.config.m4.ports".to_string(), render_ports_fragment()),
        ("files/site.config.m4.tls".to_string(), render_tls_fragment(&plan.version)?),
        ("files/site.config.m4.ssl".to_string(), render_ssl_fragment()?),
    ]);
    for (name, text) in port_options::render_fragments(&offered)? {
        files.insert(format!("files/{name}"), text);
    }
    // files/ for what the list installs from ${FILESDIR}, and the .mc of each .cf.
    let mut from_files: BTreeSet<String> = entries
        .iter()
        .filter_map(|pe| match &pe.how {
            How::Sample(f) | How::Renamed(f) | How::Data(f) | How::Man(f) => {
                f.strip_prefix("${FILESDIR}/").map(str::to_string)
            }
            _ => None,
        })
        .collect();
    for cf in &cf_files {
        from_files.insert(format!("{}.mc", cf.strip_suffix(".cf").unwrap_or(cf)));
    }
    for name in from_files {
        let text = if let Some(stem) = name.strip_suffix(".mc") {
            stage::mc_text(Target::FreeBsd, stem, &version, &port_options::default_names(&plan.version))?
        } else if name == stage::CERTS_SCRIPT {
            stage::certs_script(Target::FreeBsd)?
        } else if name == stage::CERTS_HOOK {
            stage::certs_hook(Target::FreeBsd)?
        } else if name == format!("{}.8", stage::CERTS_SCRIPT) {
            stage::certs_man_page(Target::FreeBsd)?
        } else if name == RC_CONF_D || template::dir().join(&name).is_file() {
            template::render(&name, &BTreeMap::new())?
        } else {
            bail!("files/{name}: freebsd/port.rs does not know its text");
        };
        files.insert(format!("files/{name}"), text);
    }
    for (name, diff) in render_man_patches(read, mtime)? {
        files.insert(format!("files/{name}"), diff);
    }
    Ok(files)
}

#[derive(clap::Args, Clone, Debug, Default)]
pub struct PortArgs {
    /// Write the port here instead of ports/mail/sendmail-tls in the repository.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Fail if the port differs from what would be generated, without writing.
    #[arg(long)]
    pub check: bool,
}

/// The files of the port for `plan`: the verified tarball, the contents
/// list and the templates, rendered.
pub fn generate(plan: &Plan) -> Result<BTreeMap<String, String>> {
    let fetched = fetch::run(plan, &fetch::FetchArgs::default())?;
    let tarball = &fetched.tarball;
    let size = std::fs::metadata(tarball).with_context(|| format!("reading {}", tarball.display()))?.len();
    fetch::checksum::check_tarball(tarball, &plan.release)
        .with_context(|| format!("{} is not sendmail {} as releases.toml pins it", tarball.display(), plan.version))?;
    // distinfo carries a SHA-256: of the tarball just proven by the pin.
    let sha256 = crate::digest::sha256_file(tarball)?;
    let timestamp = epoch::newest_entry_mtime(tarball)?;
    let distinfo = render_distinfo(timestamp, &plan.release.upstream_file, &sha256, size);
    // Every option the port offers: pkg-plist marks what each one adds.
    let contents = stage::contents_with(plan, Target::FreeBsd, &port_options::features(&plan.version))?;
    let src = plan.source_dir();
    let entries = plan_entries(&contents)?;
    let read = |rel: &str| {
        let p = src.join(rel);
        std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
    };
    // The port has no Debian revision and no fixed build options.
    let info = meta::Info::new(&plan.version.to_string(), meta::DEBIAN_REVISION, &[])?;
    let mtime = |rel: &str| entry_mtime(tarball, rel);
    render(plan, &info, &distinfo, &entries, &read, &mtime)
}

/// The date of `rel` (relative to the release's top directory) in the tarball.
fn entry_mtime(tarball: &Path, rel: &str) -> Result<u64> {
    let f = std::fs::File::open(tarball).with_context(|| format!("opening {}", tarball.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(f)));
    for entry in archive.entries().with_context(|| format!("reading {}", tarball.display()))? {
        let entry = entry.with_context(|| format!("reading an entry of {}", tarball.display()))?;
        let path = entry.path()?.to_path_buf();
        if path.components().skip(1).collect::<PathBuf>() == Path::new(rel) && path.components().count() > 1 {
            return entry.header().mtime().with_context(|| format!("{} in {}", path.display(), tarball.display()));
        }
    }
    bail!("{} has no {rel} under its top directory", tarball.display())
}

/// Files in `dir` (relative paths), for spotting ones the generator does not make.
fn existing(dir: &Path) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    if !dir.exists() {
        return Ok(out);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir)?.to_string_lossy().to_string());
            }
        }
    }
    Ok(out)
}

pub fn run(plan: &Plan, args: &PortArgs) -> Result<()> {
    let t = progress::Timer::start(format!("port mail/sendmail-tls for sendmail {}", plan.version));
    let out = args.out.clone().unwrap_or_else(|| crate::plan::workspace_root().join(dir()));
    let files = generate(plan)?;
    let extra: Vec<String> = existing(&out)?.into_iter().filter(|f| !files.contains_key(f)).collect();
    let mut stale = vec![];
    for (rel, text) in &files {
        let path = out.join(rel);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(text.as_str()) {
            continue;
        }
        stale.push(rel.clone());
        // A local edit is shown, not silently replaced: the diff turns the
        // directory's file into the generated one.
        if let Some(current) = &current {
            print!("{}", super::unified_diff(current, text, rel));
        }
        if !args.check {
            util::write_atomic(&path, text.as_bytes())?;
            progress::info(&format!("wrote {}", path.display()));
        }
    }
    if !extra.is_empty() {
        bail!(
            "{} holds files `cargo xtask port` does not generate ({}): the port directory is generated output; move them away",
            out.display(),
            extra.join(", ")
        );
    }
    if args.check && !stale.is_empty() {
        bail!(
            "{}: {} differ from the generated port (the diff above turns them into it): \
             move a local edit into its source (releases.toml, site-configs/, xtask/templates/, the contents list), \
             then run `cargo xtask port`",
            out.display(),
            stale.join(", ")
        );
    }
    if stale.is_empty() {
        progress::info(&format!("{} is up to date ({} files)", out.display(), files.len()));
    }
    t.done();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: Kind, owner: &str, group: &str, mode: u32) -> Entry {
        let origin = match kind {
            Kind::Dir => Origin::Dir,
            Kind::Symlink { .. } => Origin::Link,
            _ => Origin::Source { rel: path.trim_start_matches('/').into() },
        };
        Entry { path: path.into(), kind, owner: owner.into(), group: group.into(), mode, option: None, origin }
    }

    /// A small contents list in the stage's FreeBSD layout (from stage::list).
    fn sample() -> Vec<PortEntry> {
        let cf = [
            (PathBuf::from("README"), false),
            (PathBuf::from("m4/cf.m4"), false),
            (PathBuf::from("sh/makeinfo.sh"), true),
        ];
        let features = port_options::features(&"8.18.2".parse().unwrap());
        let c = stage::list(Target::FreeBsd, Path::new("/src"), Path::new("/gen"), &cf, &features).unwrap();
        plan_entries(&c).unwrap()
    }

    fn find<'a>(entries: &'a [PortEntry], path: &str) -> &'a PortEntry {
        entries.iter().find(|e| e.entry.path == Path::new(path)).unwrap_or_else(|| panic!("{path}"))
    }

    #[test]
    fn every_entry_of_the_freebsd_list_has_a_way_in() {
        let e = sample();
        assert_eq!(find(&e, "/usr/local/sbin/sendmail").how, How::Program("${WRKSRC}/obj./sendmail/sendmail".into()));
        assert_eq!(
            find(&e, "/usr/local/share/man/man8/sendmail.8.gz").how,
            How::Man("${WRKSRC}/sendmail/sendmail.8".into())
        );
        assert_eq!(
            find(&e, "/usr/local/share/man/man1/vacation.1.gz").how,
            How::Man("${WRKSRC}/vacation/vacation.1".into())
        );
        assert_eq!(
            find(&e, "/usr/local/etc/mail/sendmail.mc.sample").how,
            How::Renamed("${FILESDIR}/sendmail.mc".into())
        );
        assert_eq!(find(&e, "/usr/local/etc/mail/submit.cf.sample").how, How::Cf("submit.cf".into()));
        assert_eq!(find(&e, "/usr/local/share/sendmail/helpfile").how, How::Data("${WRKSRC}/sendmail/helpfile".into()));
        assert_eq!(
            find(&e, "/usr/local/etc/mail/local-host-names.sample").how,
            How::Renamed("${FILESDIR}/local-host-names".into())
        );
        assert_eq!(
            find(&e, "/usr/local/etc/mail/mailer.conf.sendmail").how,
            How::Data("${WRKDIR}/mailer.conf.sendmail".into())
        );
        assert_eq!(
            find(&e, "/usr/local/etc/rc.conf.d/sendmail.sample").how,
            How::Sample(format!("${{FILESDIR}}/{RC_CONF_D}"))
        );
        assert_eq!(find(&e, "/usr/local/bin/rmail").how, How::Program("${WRKSRC}/obj./rmail/rmail".into()));
        assert_eq!(find(&e, "/usr/local/share/man/man8/rmail.8.gz").how, How::Man("${WRKSRC}/rmail/rmail.8".into()));
        assert_eq!(find(&e, "/usr/local/share/sendmail/cf/m4/cf.m4").how, How::Data("${WRKSRC}/cf/m4/cf.m4".into()));
        assert_eq!(find(&e, "/usr/local/share/doc/sendmail/LICENSE").how, How::Data("${WRKSRC}/LICENSE".into()));
        assert_eq!(find(&e, "/usr/local/bin/mailq").how, How::Link("../sbin/sendmail".into()));
        assert!(e.iter().all(|pe| pe.entry.path.starts_with("/usr/local")), "only PREFIX");
        let certs = find(&e, "/usr/local/sbin/sendmail-certs");
        assert_eq!(certs.how, How::Data("${FILESDIR}/sendmail-certs".into()));
        let page = find(&e, "/usr/local/share/man/man8/sendmail-certs.8.gz");
        assert_eq!(page.how, How::Man("${FILESDIR}/sendmail-certs.8".into()));
        assert_eq!(install_macro(certs), Some(("${INSTALL_SCRIPT}", PROGRAM_MODE)));
        assert_eq!(
            find(&e, "/usr/local/lib/libmilter.a").how,
            How::Data("${WRKSRC}/obj./libmilter/libmilter.a".into())
        );
        assert_eq!(
            find(&e, "/usr/local/include/libmilter/mfapi.h").how,
            How::Data("${WRKSRC}/include/libmilter/mfapi.h".into())
        );
    }

    #[test]
    fn entries_the_port_cannot_make_are_refused() {
        let e = Entry {
            origin: Origin::DebianChangelog,
            ..entry(
                "/usr/local/share/doc/x/changelog.Debian.gz",
                Kind::File { source: "/gen/x".into() },
                "root",
                "wheel",
                0o644,
            )
        };
        let err = how(&e).unwrap_err().to_string();
        assert!(err.contains("teach `port::how`"), "{err}");
        let e = Entry {
            origin: Origin::Cf { which: "sendmail".into() },
            ..entry("/usr/local/share/x.cf", Kind::Config { source: "/gen/x.cf".into() }, "root", "wheel", 0o644)
        };
        assert!(how(&e).is_err(), "a .cf that is a configuration file (@sample) on FreeBSD");
    }

    #[test]
    fn plist_lines_carry_attributes_only_where_needed() {
        let e = sample();
        let plist = render_plist(&e);
        let lines: Vec<&str> = plist.lines().collect();
        assert!(lines.contains(&"@(root,smmsp,2555) sbin/sendmail"), "{plist}");
        assert!(lines.contains(&"sbin/makemap"));
        assert!(lines.contains(&"bin/mailq"));
        assert!(lines.contains(&"share/man/man8/sendmail.8.gz"));
        assert!(lines.contains(&"share/man/man8/hoststat.8.gz"));
        // DATADIR and DOCSDIR by their names, so overriding them moves the plist along.
        assert!(lines.contains(&"%%DATADIR%%/cf/m4/cf.m4"));
        assert!(lines.contains(&"@(root,wheel,0555) %%DATADIR%%/cf/sh/makeinfo.sh"), "{plist}");
        assert!(!plist.contains("share/sendmail") && !plist.contains("share/doc/sendmail"), "{plist}");
        assert!(lines.contains(&"etc/mail/sendmail.cf.sample"), "{plist}");
        assert!(lines.contains(&"etc/mail/mailer.conf.sendmail"), "{plist}");
        assert!(lines.contains(&"%%DATADIR%%/helpfile"), "{plist}");
        assert!(lines.contains(&"bin/rmail"), "{plist}");
        assert!(lines.contains(&"@sample etc/rc.conf.d/sendmail.sample"));
        assert_eq!(lines.iter().filter(|l| l.starts_with("@sample")).count(), 1, "{plist}");
        // Nothing of the base system: no absolute path, no @postexec.
        assert!(
            lines.iter().all(|l| !l.contains(" /") && !l.starts_with('/') && !l.starts_with("@postexec")),
            "{plist}"
        );
        assert!(lines.contains(&"%%PORTDOCS%%%%DOCSDIR%%/LICENSE"), "{plist}");
        // What an option adds is listed under its PLIST_SUB (OPTIONS_SUB).
        assert!(lines.contains(&"%%MILTER%%lib/libmilter.a"), "{plist}");
        assert!(lines.contains(&"%%MILTER%%include/libmilter/mfapi.h"), "{plist}");
        assert!(lines.contains(&"%%MILTER%%include/libmilter/mfdef.h"), "{plist}");
        assert_eq!(lines.iter().filter(|l| l.starts_with("%%MILTER%%")).count(), 3, "{plist}");
        // Directories implied by their files are not listed.
        assert!(!lines.iter().any(|l| l.contains("@dir")), "{plist}");
        // One line per file, link and config entry.
        let listed = e.iter().filter(|pe| !matches!(pe.how, How::Dir)).count();
        assert_eq!(listed, lines.len());
    }

    #[test]
    fn empty_or_special_directories_under_prefix_get_dir_lines() {
        let mut e = sample();
        e.push(PortEntry {
            entry: entry("/usr/local/share/sendmail/empty", Kind::Dir, "root", "wheel", 0o755),
            how: How::Dir,
        });
        e.push(PortEntry {
            entry: entry("/usr/local/share/sendmail/private", Kind::Dir, "smmsp", "smmsp", 0o700),
            how: How::Dir,
        });
        let plist = render_plist(&e);
        assert!(plist.contains("\n@dir %%DATADIR%%/empty\n"), "{plist}");
        assert!(plist.contains("\n@dir(smmsp,smmsp,0700) %%DATADIR%%/private\n"), "{plist}");
    }

    #[test]
    fn install_creates_directories_then_groups_files() {
        let body = render_install(&sample()).unwrap();
        assert!(body.starts_with("\t${MKDIR} \\\n"), "{body}");
        assert!(body.contains("\t\t${STAGEDIR}${DATADIR}\n"), "{body}");
        assert!(body.contains("\t\t${STAGEDIR}${PREFIX}/etc/mail \\\n"), "{body}");
        assert!(!body.contains("${STAGEDIR}/"), "only under PREFIX: {body}");
        assert!(!body.contains("${STAGEDIR}${DATADIR}/cf \\\n"), "the tree copy makes the cf tree: {body}");
        assert!(body.contains(
            "\t${INSTALL_PROGRAM} \\\n\t\t${WRKSRC}/obj./editmap/editmap \\\n\t\t${WRKSRC}/obj./mailstats/mailstats \\\n"
        ), "{body}");
        // The cf tree is copied as a tree, without what the list leaves out.
        assert!(
            body.contains(
                "\tcd ${WRKSRC} && ${COPYTREE_SHARE} cf ${STAGEDIR}${DATADIR} \\\n\t\t\"! -path cf/cf/Build ! -path cf/cf/Makefile\"\n"
            ),
            "{body}"
        );
        assert!(!body.contains("${WRKSRC}/cf/"), "no cf file one by one: {body}");
        assert!(
            body.contains("\t${INSTALL_DATA} \\\n\t\t${WRKSRC}/sendmail/helpfile \\\n\t\t${STAGEDIR}${DATADIR}\n"),
            "{body}"
        );
        assert!(
            body.contains("\t${INSTALL_DATA} ${WRKDIR}/sendmail.cf ${STAGEDIR}${PREFIX}/etc/mail/sendmail.cf.sample\n"),
            "{body}"
        );
        assert!(body
            .contains("\t${INSTALL_DATA} ${FILESDIR}/sendmail.mc ${STAGEDIR}${PREFIX}/etc/mail/sendmail.mc.sample\n"));
        assert!(body.contains(
            "\t${INSTALL_DATA} ${FILESDIR}/rc.conf.d-sendmail ${STAGEDIR}${PREFIX}/etc/rc.conf.d/sendmail.sample\n"
        ));
        assert!(body.contains("\t${LN} -sf ../sbin/sendmail ${STAGEDIR}${PREFIX}/bin/mailq\n"));
        assert!(body.contains("\t${LN} -sf sendmail.8.gz ${STAGEDIR}${PREFIX}/share/man/man8/hoststat.8.gz\n"));
        // What options add is installed by their own targets.
        let (base, targets) = render_installs(&sample()).unwrap();
        assert_eq!(
            base,
            render_install(
                &sample().into_iter().filter(|pe| pe.entry.option.is_none() && !is_doc(pe)).collect::<Vec<_>>()
            )
            .unwrap()
        );
        assert!(!base.contains("libmilter") && !base.contains("DOCSDIR"), "{base}");
        assert_eq!(
            targets,
            "\npost-install-DOCS-on:\n\t${MKDIR} \\\n\t\t${STAGEDIR}${DOCSDIR}\n\
             \t${INSTALL_DATA} \\\n\t\t${WRKSRC}/LICENSE \\\n\t\t${WRKSRC}/RELEASE_NOTES \\\n\t\t${STAGEDIR}${DOCSDIR}\n\
             \npost-install-MILTER-on:\n\t${MKDIR} \\\n\t\t${STAGEDIR}${PREFIX}/include/libmilter \\\n\t\t${STAGEDIR}${PREFIX}/lib\n\
             \t${INSTALL_DATA} \\\n\t\t${WRKSRC}/include/libmilter/mfapi.h \\\n\t\t${WRKSRC}/include/libmilter/mfdef.h \\\n\t\t${STAGEDIR}${PREFIX}/include/libmilter\n\
             \t${INSTALL_DATA} \\\n\t\t${WRKSRC}/obj./libmilter/libmilter.a \\\n\t\t${STAGEDIR}${PREFIX}/lib\n"
        );
        // Every file outside the cf tree is installed exactly once.
        let body = format!("{base}{targets}");
        for pe in sample().iter().filter(|pe| !is_cf_tree(pe)) {
            if let Some(from) = from_of(&pe.how) {
                assert_eq!(
                    body.matches(&format!("{from} ")).count() + body.matches(&format!("{from}\n")).count(),
                    1,
                    "{from}"
                );
            }
        }
        // A cf entry the tree copy would not make is refused.
        let mut odd = sample();
        let at = odd.iter().position(|pe| pe.entry.path == Path::new("/usr/local/share/sendmail/cf/README")).unwrap();
        odd[at].how = How::Data("${WRKSRC}/doc/README".into());
        assert!(render_install(&odd).unwrap_err().to_string().contains("copies the cf tree"));
    }

    #[test]
    fn datadir_and_docsdir_are_the_frameworks() {
        assert_eq!(datadir(), Path::new("/usr/local/share/sendmail"));
        assert_eq!(docsdir(), Path::new("/usr/local/share/doc/sendmail"));
        assert!(
            Target::FreeBsd.cf_dir().starts_with(datadir())
                && Path::new(Target::FreeBsd.layout().helpfile).starts_with(datadir())
        );
        assert_eq!(plist_path(Path::new("/usr/local/share/sendmail/cf/m4/cf.m4")), "%%DATADIR%%/cf/m4/cf.m4");
        assert_eq!(plist_path(Path::new("/usr/local/share/doc/sendmail")), "%%DOCSDIR%%");
        assert_eq!(plist_path(Path::new("/usr/local/share/sendmail-x/y")), "share/sendmail-x/y");
        assert_eq!(staged(Path::new("/usr/local/share/doc/sendmail/LICENSE")), "${STAGEDIR}${DOCSDIR}/LICENSE");
        assert_eq!(staged(Path::new("/usr/local/sbin/sendmail")), "${STAGEDIR}${PREFIX}/sbin/sendmail");
    }

    #[test]
    fn man_page_fixes_become_port_patches() {
        let read = |p: &str| -> Result<String> {
            Ok(if p == "vacation/vacation.1" {
                ".TH VACATION 1\n.SH NAME\nvacation\n.SH OPTIONS\n.TP\n.B \\-x\na\nb\ncause\n.i vacation\nto\n".into()
            } else {
                "x\n".into()
            })
        };
        let mtime = |p: &str| -> Result<u64> {
            assert_eq!(p, "vacation/vacation.1");
            Ok(1_700_000_000)
        };
        let patches = render_man_patches(&read, &mtime).unwrap();
        assert_eq!(patches.len(), 1, "{patches:?}");
        assert_eq!(patches[0].0, "patch-vacation_vacation.1");
        // `make makepatch`: the .orig's date in UTC, none on +++, and the
        // nearest line starting with a letter above the hunk (diff -p).
        assert_eq!(
            patches[0].1,
            "--- vacation/vacation.1.orig\t2023-11-14 22:13:20 UTC\n+++ vacation/vacation.1\n\
             @@ -7,5 +7,5 @@ vacation\n a\n b\n cause\n-.i vacation\n+.I vacation\n to\n"
        );
        assert_eq!(makepatch_name("sendmail/sm_os.h"), "patch-sendmail_sm__os.h");
    }

    #[test]
    fn distinfo_has_the_three_lines() {
        assert_eq!(
            render_distinfo(1_700_000_000, "sendmail.8.18.2.tar.gz", "ab", 5),
            "TIMESTAMP = 1700000000\nSHA256 (sendmail.8.18.2.tar.gz) = ab\nSIZE (sendmail.8.18.2.tar.gz) = 5\n"
        );
    }

    #[test]
    fn tls_fragment_carries_every_flag_for_the_version() {
        let f = render_tls_fragment(&"8.18.2".parse().unwrap()).unwrap();
        for want in ["`-DSTARTTLS'", "`-DTLS_EC=2'", "`-D_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE'", "`-lssl -lcrypto'"] {
            assert!(f.contains(want), "{want}: {f}");
        }
        let old = render_tls_fragment(&"8.15.2".parse().unwrap()).unwrap();
        assert!(old.contains("`-D_FFR_TLS_EC'") && !old.contains("`-DTLS_EC'"), "{old}");
        assert!(render_tls_fragment(&"8.14.9".parse().unwrap()).is_err());
        let ssl = render_ssl_fragment().unwrap();
        assert!(ssl.contains("-I%%OPENSSLINC%%") && ssl.contains("-Xlinker -rpath -Xlinker %%OPENSSLLIB%%"), "{ssl}");
        assert!(!ssl.lines().filter(|l| !l.starts_with("dnl")).any(|l| l.matches(',').count() > 1), "{ssl}");
    }
}

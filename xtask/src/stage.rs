//! stage: the ONE list of what a package installs — every path, its kind,
//! owner, group and mode — and a staged tree built from it without root.
//!
//! Packagers (`package/`), the FreeBSD port generator and the tests read
//! this list; none of them re-derives a path, an owner or a mode. Owners and
//! modes live here, not on the staging disk: staging runs unprivileged and
//! writes plain files.
//!
//! Generated files (the `.mc`/`.cf` files, the rc.conf.d file, copyright,
//! changelogs, compressed man pages, stripped binaries) are materialised in
//! `<work>/generated/<target>/<install path>` by [`generate`], so every
//! entry has a source file. Their text comes from `xtask/templates/`.

use crate::{epoch, plan::Plan, progress, tools};
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

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

/// Which system the tree is laid out for.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Debian and derivatives: PREFIX /usr, Debian's own sendmail paths.
    Debian,
    /// FreeBSD packages: PREFIX /usr/local.
    #[value(name = "freebsd")]
    #[serde(rename = "freebsd")]
    FreeBsd,
}

impl Target {
    pub fn prefix(self) -> &'static str {
        match self {
            Target::Debian => "/usr",
            Target::FreeBsd => "/usr/local",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Target::Debian => "debian",
            Target::FreeBsd => "freebsd",
        }
    }

    /// The target of this host: FreeBSD on FreeBSD, Debian everywhere else.
    pub fn host() -> Target {
        if std::env::consts::OS == "freebsd" {
            Target::FreeBsd
        } else {
            Target::Debian
        }
    }

    /// The group of root-owned files: `root` on Debian, `wheel` on FreeBSD
    /// (both gid 0).
    pub fn root_group(self) -> &'static str {
        match self {
            Target::Debian => "root",
            Target::FreeBsd => "wheel",
        }
    }

    /// Mode of an ordinary program: Debian policy wants 0755, the FreeBSD
    /// ports framework installs BINMODE 0555.
    pub fn program_mode(self) -> u32 {
        match self {
            Target::Debian => 0o755,
            Target::FreeBsd => 0o555,
        }
    }

    /// Helper programs not meant for PATH (sendmail itself on Debian,
    /// mail.local, smrsh).
    pub fn libexec(self) -> &'static str {
        match self {
            Target::Debian => "/usr/libexec/sendmail",
            Target::FreeBsd => "/usr/local/libexec",
        }
    }

    pub fn man_dir(self) -> PathBuf {
        Path::new(self.prefix()).join("share/man")
    }

    /// The cf tree (m4 macros for building .cf files).
    pub fn cf_dir(self) -> PathBuf {
        Path::new(self.prefix()).join("share/sendmail/cf")
    }

    /// Where libraries go: Debian's multiarch directory (as libmilter-dev
    /// installs libmilter.a, and where the compiler looks first), FreeBSD's
    /// PREFIX/lib. `multiarch` is Debian's tuple, e.g. x86_64-linux-gnu.
    pub fn lib_dir(self, multiarch: Option<&str>) -> Result<PathBuf> {
        match (self, multiarch) {
            (Target::Debian, Some(m)) => Ok(Path::new("/usr/lib").join(m)),
            (Target::Debian, None) => {
                bail!("no Debian multiarch tuple is known for this host, so the library directory is unknown")
            }
            (Target::FreeBsd, _) => Ok(PathBuf::from("/usr/local/lib")),
        }
    }

    /// Where C headers go.
    pub fn include_dir(self) -> PathBuf {
        Path::new(self.prefix()).join("include")
    }

    pub fn doc_dir(self) -> PathBuf {
        Path::new(self.prefix()).join("share/doc").join(PACKAGE_NAME)
    }

    /// The file rc.subr reads for the sendmail service (FreeBSD only).
    pub fn rc_conf_d(self) -> Option<PathBuf> {
        match self {
            Target::Debian => None,
            Target::FreeBsd => Some(PathBuf::from("/usr/local/etc/rc.conf.d/sendmail")),
        }
    }

    /// The version string the package carries.
    pub fn package_version(self, upstream: &str) -> String {
        match self {
            Target::Debian => format!("{upstream}-{DEBIAN_REVISION}"),
            Target::FreeBsd => upstream.to_string(),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an entry is and where its bytes come from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Kind {
    /// A file, copied from `source`.
    File {
        source: PathBuf,
    },
    /// A configuration file (under /etc): upgrades keep local edits.
    Config {
        source: PathBuf,
    },
    Dir,
    /// A symbolic link; `target` is written as is (relative where possible).
    Symlink {
        target: PathBuf,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// Absolute install path.
    pub path: PathBuf,
    #[serde(flatten)]
    pub kind: Kind,
    pub owner: String,
    pub group: String,
    /// Permission bits including setuid/setgid/sticky (e.g. 0o2555).
    pub mode: u32,
    /// The build option that brings this entry (e.g. `milter` for
    /// libmilter.a); none for what every build installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
}

impl Entry {
    /// The install path without its leading `/`, e.g. `usr/sbin/sendmail`.
    pub fn relative(&self) -> &Path {
        self.path.strip_prefix("/").unwrap_or(&self.path)
    }

    /// Where a file's bytes come from, for files and config files.
    pub fn source(&self) -> Option<&Path> {
        match &self.kind {
            Kind::File { source } | Kind::Config { source } => Some(source),
            _ => None,
        }
    }

    pub fn is_config(&self) -> bool {
        matches!(self.kind, Kind::Config { .. })
    }

    /// The path of this entry in a staged tree.
    pub fn staged(&self, root: &Path) -> PathBuf {
        root.join(self.relative())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contents {
    pub target: Target,
    /// Sorted by path; no path twice.
    pub entries: Vec<Entry>,
    /// The build options the staged binaries have (configure's
    /// `options`), for what packages declare beyond the files.
    #[serde(default)]
    pub options: Vec<String>,
}

impl Contents {
    pub fn get(&self, path: impl AsRef<Path>) -> Option<&Entry> {
        let path = path.as_ref();
        self.entries.binary_search_by(|e| e.path.as_path().cmp(path)).ok().map(|i| &self.entries[i])
    }

    pub fn config_files(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.is_config())
    }
}

/// What [`list`] needs to know of the build beyond the source tree: which
/// build options are on (they add files, e.g. libmilter with `milter`) and
/// where libraries go on Debian.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// Build options switched on, in table order.
    pub options: Vec<String>,
    /// Debian's multiarch tuple, e.g. x86_64-linux-gnu (Debian layout only).
    pub multiarch: Option<String>,
}

impl Features {
    /// The options `configure` switched on for this tree, and this host's
    /// multiarch tuple.
    pub fn configured(plan: &Plan) -> Result<Features> {
        let config = crate::configure::Configuration::load(plan)?;
        Ok(Features { options: config.options, multiarch: crate::host::multiarch() })
    }

    pub fn has(&self, option: &str) -> bool {
        self.options.iter().any(|o| o == option)
    }
}

/// `cargo xtask stage`: build the staged tree and print where it is.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct StageArgs {
    /// Layout to stage (default: this host's: freebsd on FreeBSD, debian elsewhere).
    #[arg(long, value_enum)]
    pub target: Option<Target>,
    /// Print the contents list as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(plan: &Plan, args: &StageArgs) -> Result<(PathBuf, Contents)> {
    let target = args.target.unwrap_or_else(Target::host);
    let t = progress::Timer::start(format!("stage sendmail {} for {target}", plan.version));
    let (root, contents) = stage(plan, target)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&contents)?);
    } else {
        println!("{}", root.display());
    }
    t.done();
    Ok((root, contents))
}

// ---------------------------------------------------------------------------
// The data: what goes where.

/// A built program and its install path per target.
struct Program {
    name: &'static str,
    debian: &'static str,
    freebsd: &'static str,
}

/// The programs, as built by `build::PROGRAMS` (rmail, a UUCP helper, is not
/// packaged).
const PROGRAMS: &[Program] = &[
    Program { name: "sendmail", debian: "/usr/libexec/sendmail/sendmail", freebsd: "/usr/local/sbin/sendmail" },
    Program {
        name: "mail.local",
        debian: "/usr/libexec/sendmail/mail.local",
        freebsd: "/usr/local/libexec/mail.local",
    },
    Program { name: "smrsh", debian: "/usr/libexec/sendmail/smrsh", freebsd: "/usr/local/libexec/smrsh" },
    Program { name: "makemap", debian: "/usr/sbin/makemap", freebsd: "/usr/local/sbin/makemap" },
    Program { name: "editmap", debian: "/usr/sbin/editmap", freebsd: "/usr/local/sbin/editmap" },
    Program { name: "praliases", debian: "/usr/sbin/praliases", freebsd: "/usr/local/sbin/praliases" },
    Program { name: "mailstats", debian: "/usr/sbin/mailstats", freebsd: "/usr/local/sbin/mailstats" },
    Program { name: "vacation", debian: "/usr/bin/vacation", freebsd: "/usr/local/bin/vacation" },
];

/// Names under which sendmail runs in another mode (it looks at argv[0]).
fn sendmail_links(target: Target) -> &'static [&'static str] {
    match target {
        // /usr/sbin/sendmail is what Debian policy requires of an MTA;
        // /usr/lib/sendmail is the traditional compatibility name.
        Target::Debian => &[
            "/usr/sbin/sendmail",
            "/usr/lib/sendmail",
            "/usr/bin/mailq",
            "/usr/bin/newaliases",
            "/usr/sbin/hoststat",
            "/usr/sbin/purgestat",
        ],
        // As the mail/sendmail port installs them.
        Target::FreeBsd => &[
            "/usr/local/bin/mailq",
            "/usr/local/bin/newaliases",
            "/usr/local/bin/hoststat",
            "/usr/local/bin/purgestat",
        ],
    }
}

/// Man pages: (file in the source tree, section).
pub const MAN_PAGES: &[(&str, u8)] = &[
    ("sendmail/sendmail.8", 8),
    ("sendmail/aliases.5", 5),
    ("sendmail/mailq.1", 1),
    ("sendmail/newaliases.1", 1),
    ("mail.local/mail.local.8", 8),
    ("smrsh/smrsh.8", 8),
    ("makemap/makemap.8", 8),
    ("editmap/editmap.8", 8),
    ("praliases/praliases.8", 8),
    ("mailstats/mailstats.8", 8),
    ("vacation/vacation.1", 1),
];

/// Upstream man page typos fixed while compressing: (page, wrong, right).
/// A fix whose text is absent (fixed upstream) is skipped.
const MAN_FIXES: &[(&str, &str, &str)] = &[
    // An undefined lower-case macro: groff warns and the word disappears.
    ("vacation/vacation.1", "\n.i vacation\n", "\n.I vacation\n"),
];

/// The man page text with [`MAN_FIXES`] applied.
pub fn fix_man_page(page: &str, bytes: Vec<u8>) -> Vec<u8> {
    let mut text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return e.into_bytes(),
    };
    for (p, wrong, right) in MAN_FIXES {
        if *p == page {
            text = text.replace(wrong, right);
        }
    }
    text.into_bytes()
}

/// Man page links: hoststat and purgestat are documented in sendmail(8).
const MAN_LINKS: &[(&str, &str)] = &[("man8/hoststat.8.gz", "sendmail.8.gz"), ("man8/purgestat.8.gz", "sendmail.8.gz")];

/// Files of the cf tree that only work inside the source tree (they call
/// ../../devtools).
const CF_SKIP: &[&str] = &["cf/Build", "cf/Makefile"];

/// The configuration files generated from templates, under /etc/mail.
pub const MAIL_CONFIGS: &[&str] = &["sendmail.mc", "sendmail.cf", "submit.mc", "submit.cf"];

/// Where a file an option adds comes from.
#[derive(Clone, Copy, Debug)]
enum From {
    /// Built, under the object directory `obj.`.
    Built(&'static str),
    /// Shipped in the source tree.
    Source(&'static str),
}

/// Where it goes.
#[derive(Clone, Copy, Debug)]
enum To {
    /// [`Target::lib_dir`].
    Lib,
    /// This subdirectory of [`Target::include_dir`], which the package owns.
    Include(&'static str),
}

/// A file that a build option adds to the package.
struct OptionFile {
    option: &'static str,
    from: From,
    to: To,
}

/// Files per build option: `milter` builds libmilter, and milters are
/// compiled against its public headers (as libmilter-dev and the FreeBSD
/// base system install them). A built library is installed as a copy
/// stripped like dh_strip strips static libraries (see [`generate`]).
const OPTION_FILES: &[OptionFile] = &[
    OptionFile { option: "milter", from: From::Built("libmilter/libmilter.a"), to: To::Lib },
    OptionFile { option: "milter", from: From::Source("include/libmilter/mfapi.h"), to: To::Include("libmilter") },
    OptionFile { option: "milter", from: From::Source("include/libmilter/mfdef.h"), to: To::Include("libmilter") },
];

/// The built files (relative to `obj.`) an option adds, e.g.
/// `libmilter/libmilter.a` for `milter`.
pub fn option_built_files(option: &str) -> Vec<&'static str> {
    OPTION_FILES
        .iter()
        .filter(|f| f.option == option)
        .filter_map(|f| match f.from {
            From::Built(rel) => Some(rel),
            From::Source(_) => None,
        })
        .collect()
}

/// The queue and certificate directories, with their fixed owners and modes.
fn special_dirs(target: Target) -> Vec<(&'static str, &'static str, &'static str, u32)> {
    let rg = target.root_group();
    vec![
        ("/etc/mail/certs", "root", rg, 0o755),
        ("/var/spool/clientmqueue", "smmsp", "smmsp", 0o770),
        ("/var/spool/mqueue", "root", rg, 0o700),
    ]
}

/// Where the templates live in the repository.
pub fn templates_dir() -> PathBuf {
    crate::plan::workspace_root().join("xtask").join("templates")
}

/// `<work>/generated/<target>`: generated files, at their install paths.
pub fn generated_dir(plan: &Plan, target: Target) -> PathBuf {
    plan.work_dir.join("generated").join(target.name())
}

/// `<work>/stage/<target>`: `root/` (the staged tree) and `contents.json`.
pub fn stage_dir(plan: &Plan, target: Target) -> PathBuf {
    plan.work_dir.join("stage").join(target.name())
}

// ---------------------------------------------------------------------------
// The list.

/// The list of contents for `target`, for the build options `configure`
/// chose. Reads the configuration and the source tree's cf directory (to
/// list it); generated files are named at their place in
/// [`generated_dir`], which [`generate`] fills.
pub fn contents(plan: &Plan, target: Target) -> Result<Contents> {
    contents_with(plan, target, &Features::configured(plan)?)
}

/// [`contents`] for the given features (the FreeBSD port lists every
/// option it offers, whatever this tree was built with).
pub fn contents_with(plan: &Plan, target: Target, features: &Features) -> Result<Contents> {
    let src = plan.source_dir();
    let cf_src = src.join("cf");
    let cf_files = walk(&cf_src).with_context(|| {
        format!("listing the cf tree {}: run `cargo xtask fetch` (and build) first", cf_src.display())
    })?;
    let cf = cf_files
        .into_iter()
        .filter(|(rel, _)| !CF_SKIP.iter().any(|s| Path::new(s) == rel))
        .map(|(rel, exec)| (rel.clone(), cf_src.join(&rel), exec))
        .collect();
    list(target, &src, &generated_dir(plan, target), cf, features)
}

/// The pure part of [`contents`]: every decision about paths, owners and
/// modes, from the source and generated directories and the cf tree listing
/// (relative path, source path, is a script), and the build's [`Features`].
pub fn list(
    target: Target,
    src: &Path,
    gen: &Path,
    cf: Vec<(PathBuf, PathBuf, bool)>,
    features: &Features,
) -> Result<Contents> {
    let rg = target.root_group();
    let generated = |install: &Path| gen.join(install.strip_prefix("/").unwrap_or(install));
    let mut entries: BTreeMap<PathBuf, Entry> = BTreeMap::new();
    let mut add = |e: Entry| -> Result<()> {
        if let Some(old) = entries.insert(e.path.clone(), e) {
            bail!("{} is listed twice in the {target} contents", old.path.display());
        }
        Ok(())
    };
    let file = |path: PathBuf, source: PathBuf, owner: &str, group: &str, mode: u32| Entry {
        path,
        kind: Kind::File { source },
        owner: owner.into(),
        group: group.into(),
        mode,
        option: None,
    };

    // Programs: stripped copies in the generated directory.
    let mut sendmail_path = PathBuf::new();
    for p in PROGRAMS {
        let path = PathBuf::from(match target {
            Target::Debian => p.debian,
            Target::FreeBsd => p.freebsd,
        });
        let (group, mode) = if p.name == "sendmail" {
            sendmail_path = path.clone();
            ("smmsp", 0o2555)
        } else {
            (rg, target.program_mode())
        };
        add(file(path.clone(), generated(&path), "root", group, mode))?;
    }
    for link in sendmail_links(target) {
        let path = PathBuf::from(link);
        let to = relative_link(&path, &sendmail_path);
        add(Entry {
            path,
            kind: Kind::Symlink { target: to },
            owner: "root".into(),
            group: rg.into(),
            mode: 0o777,
            option: None,
        })?;
    }

    // Man pages, compressed in the generated directory.
    let man = target.man_dir();
    for (page, section) in MAN_PAGES {
        let name = Path::new(page).file_name().context("man page name")?.to_string_lossy().to_string();
        let path = man.join(format!("man{section}")).join(format!("{name}.gz"));
        add(file(path.clone(), generated(&path), "root", rg, 0o644))?;
    }
    for (link, to) in MAN_LINKS {
        add(Entry {
            path: man.join(link),
            kind: Kind::Symlink { target: to.into() },
            owner: "root".into(),
            group: rg.into(),
            mode: 0o777,
            option: None,
        })?;
    }

    // The cf tree, so administrators can rebuild their .cf files.
    let cf_dir = target.cf_dir();
    for (rel, source, script) in cf {
        add(file(cf_dir.join(&rel), source, "root", rg, if script { 0o755 } else { 0o644 }))?;
    }

    // Configuration.
    for name in MAIL_CONFIGS {
        let path = Path::new("/etc/mail").join(name);
        add(Entry {
            kind: Kind::Config { source: generated(&path) },
            path,
            owner: "root".into(),
            group: rg.into(),
            mode: 0o644,
            option: None,
        })?;
    }
    add(Entry {
        path: "/etc/mail/local-host-names".into(),
        kind: Kind::Config { source: generated(Path::new("/etc/mail/local-host-names")) },
        owner: "root".into(),
        group: rg.into(),
        mode: 0o644,
        option: None,
    })?;
    add(Entry {
        path: "/etc/mail/helpfile".into(),
        kind: Kind::Config { source: src.join("sendmail/helpfile") },
        owner: "root".into(),
        group: rg.into(),
        mode: 0o644,
        option: None,
    })?;
    if let Some(rc) = target.rc_conf_d() {
        add(Entry {
            kind: Kind::Config { source: generated(&rc) },
            path: rc,
            owner: "root".into(),
            group: rg.into(),
            mode: 0o644,
            option: None,
        })?;
    }

    // The certificate helper, written from its template.
    let script = certs_script_path(target);
    add(file(script.clone(), generated(&script), "root", rg, target.program_mode()))?;

    // Documentation.
    let doc = target.doc_dir();
    let docs: &[&str] = match target {
        Target::Debian => &["copyright", "changelog.gz", "changelog.Debian.gz"],
        Target::FreeBsd => &["LICENSE", "RELEASE_NOTES"],
    };
    for d in docs {
        let path = doc.join(d);
        add(file(path.clone(), generated(&path), "root", rg, 0o644))?;
    }

    // What the build options add.
    let mut option_dirs = vec![];
    for f in OPTION_FILES.iter().filter(|f| features.has(f.option)) {
        let rel = match f.from {
            From::Built(rel) | From::Source(rel) => rel,
        };
        let name = Path::new(rel).file_name().context("option file name")?;
        let dir = match f.to {
            To::Lib => target.lib_dir(features.multiarch.as_deref()).with_context(|| {
                format!("placing {} of option `{}` in the {target} layout", name.to_string_lossy(), f.option)
            })?,
            To::Include(sub) => {
                let d = target.include_dir().join(sub);
                option_dirs.push(d.clone());
                d
            }
        };
        let path = dir.join(name);
        let source = match f.from {
            // Built libraries: stripped copies in the generated directory.
            From::Built(_) => generated(&path),
            From::Source(rel) => src.join(rel),
        };
        add(Entry { option: Some(f.option.to_string()), ..file(path, source, "root", rg, 0o644) })?;
    }

    // Directories with fixed owners and modes.
    for (path, owner, group, mode) in special_dirs(target) {
        add(Entry {
            path: path.into(),
            kind: Kind::Dir,
            owner: owner.into(),
            group: group.into(),
            mode,
            option: None,
        })?;
    }

    // Other directories: on Debian every parent (a .deb lists them all); on
    // FreeBSD only those the package owns (the cf tree, the doc directory,
    // an option's header directory), never shared ones such as
    // /usr/local/sbin.
    let owned = |d: &Path| match target {
        Target::Debian => true,
        Target::FreeBsd => {
            d.starts_with(cf_dir.parent().unwrap_or(&cf_dir))
                || d.starts_with(&doc)
                || option_dirs.iter().any(|o| d.starts_with(o))
        }
    };
    let parents: Vec<PathBuf> = entries
        .keys()
        .flat_map(|p| p.ancestors().skip(1).map(Path::to_path_buf).collect::<Vec<_>>())
        .filter(|d| d != Path::new("/") && owned(d))
        .collect();
    for d in parents {
        if entries.contains_key(&d) {
            continue;
        }
        // A directory only an option's files need belongs to that option.
        let below: BTreeSet<Option<&String>> =
            entries.values().filter(|e| e.path.starts_with(&d)).map(|e| e.option.as_ref()).collect();
        let option = match below.into_iter().collect::<Vec<_>>()[..] {
            [Some(o)] => Some(o.clone()),
            _ => None,
        };
        entries.insert(
            d.clone(),
            Entry { path: d, kind: Kind::Dir, owner: "root".into(), group: rg.into(), mode: 0o755, option },
        );
    }

    let contents = Contents { target, entries: entries.into_values().collect(), options: features.options.clone() };
    check(&contents)?;
    Ok(contents)
}

/// Invariants every packager relies on.
pub fn check(c: &Contents) -> Result<()> {
    for w in c.entries.windows(2) {
        if w[0].path >= w[1].path {
            bail!("contents are not sorted: {} before {}", w[0].path.display(), w[1].path.display());
        }
    }
    for e in &c.entries {
        if !e.path.is_absolute() || e.path.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)) {
            bail!("{} is not a clean absolute path", e.path.display());
        }
        if e.mode & !0o7777 != 0 {
            bail!("{} has mode {:o}, which has bits beyond 07777", e.path.display(), e.mode);
        }
        if e.is_config() && !e.path.starts_with("/etc") && !e.path.starts_with("/usr/local/etc") {
            bail!("{} is a config file outside /etc", e.path.display());
        }
    }
    Ok(())
}

/// A relative symlink target from `link` to `to` (both absolute), e.g.
/// /usr/sbin/sendmail -> ../libexec/sendmail/sendmail.
pub fn relative_link(link: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = link.parent().unwrap_or(Path::new("/")).components().collect();
    let to_c: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to_c).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to_c[common..] {
        out.push(c);
    }
    out
}

/// Lists the files under `dir` as (relative path, starts with `#!`), sorted.
fn walk(dir: &Path) -> Result<Vec<(PathBuf, bool)>> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, bool)>) -> Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .collect::<std::io::Result<Vec<_>>>()?;
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let p = e.path();
            let ft = e.file_type()?;
            if ft.is_dir() {
                go(root, &p, out)?;
            } else if ft.is_file() {
                let mut head = [0u8; 2];
                let n = std::io::Read::read(&mut std::fs::File::open(&p)?, &mut head)?;
                out.push((p.strip_prefix(root)?.to_path_buf(), n == 2 && &head == b"#!"));
            } else {
                bail!("{} is neither a file nor a directory: the cf tree should hold only those", p.display());
            }
        }
        Ok(())
    }
    let mut out = vec![];
    go(dir, dir, &mut out)?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// Generated files.

/// Fills `@NAME@` placeholders in a template from `xtask/templates/`.
pub fn template(name: &str, vars: &BTreeMap<&str, String>) -> Result<String> {
    let path = templates_dir().join(name);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading template {}", path.display()))?;
    crate::configure::site_config::fill(&crate::configure::site_config::Fragment { name: name.into(), text }, vars)
}

/// The text of `/etc/mail/sendmail.mc` or `submit.mc` for `target`.
pub fn mc_text(target: Target, which: &str, version: &str) -> Result<String> {
    let (file, stanza) = match (which, target) {
        ("sendmail", Target::Debian) => ("sendmail-debian.mc.in", "tls-server.mc"),
        ("sendmail", Target::FreeBsd) => ("sendmail-freebsd.mc.in", "tls-server.mc"),
        ("submit", _) => ("submit.mc.in", "tls-submit.mc"),
        _ => bail!("no template for {which}.mc"),
    };
    let stanza = template(stanza, &BTreeMap::new())?;
    let vars = BTreeMap::from([
        ("VERSION", version.to_string()),
        ("CF_DIR", target.cf_dir().display().to_string()),
        ("LIBEXEC", target.libexec().to_string()),
        ("TLS_STANZA", stanza.trim_end().to_string()),
    ]);
    template(file, &vars)
}

/// The certificate helper's name, its template being `<name>.in`.
pub const CERTS_SCRIPT: &str = "sendmail-certs";

/// Where the certificate helper is installed: PREFIX/sbin.
pub fn certs_script_path(target: Target) -> PathBuf {
    Path::new(target.prefix()).join("sbin").join(CERTS_SCRIPT)
}

/// The TLS files the packaged sendmail.mc names, as its stanza
/// (`tls-server.mc`) defines them: the certificate directory and the names
/// of the files in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub dir: PathBuf,
    pub ca: String,
    pub cert: String,
    pub key: String,
    pub dh: String,
}

/// Reads [`TlsFiles`] from a stanza's `define(`NAME', `VALUE')dnl` lines;
/// every file must be in the `confCACERT_PATH` directory.
pub fn tls_files(stanza: &str) -> Result<TlsFiles> {
    let value = |name: &str| -> Result<String> {
        let head = format!("define(`{name}', `");
        stanza
            .lines()
            .find_map(|l| l.strip_prefix(&head)?.strip_suffix("')dnl"))
            .map(str::to_string)
            .with_context(|| format!("the TLS stanza defines no {name}"))
    };
    let dir = PathBuf::from(value("confCACERT_PATH")?);
    let in_dir = |name: &str| -> Result<String> {
        let v = value(name)?;
        match Path::new(&v).strip_prefix(&dir).ok().and_then(|r| r.to_str()) {
            Some(file) if !file.is_empty() && !file.contains('/') => Ok(file.to_string()),
            _ => bail!("{name} is {v}, not a file directly in confCACERT_PATH {}", dir.display()),
        }
    };
    let files = TlsFiles {
        ca: in_dir("confCACERT")?,
        cert: in_dir("confSERVER_CERT")?,
        key: in_dir("confSERVER_KEY")?,
        dh: in_dir("confDH_PARAMETERS")?,
        dir: dir.clone(),
    };
    for (client, server) in [("confCLIENT_CERT", &files.cert), ("confCLIENT_KEY", &files.key)] {
        if &in_dir(client)? != server {
            bail!("{client} names another file than the server's {server}: sendmail-certs installs one pair");
        }
    }
    Ok(files)
}

/// The `sendmail-certs` script for `target`: its template with the file
/// names and directory of the packaged TLS stanza, the stanza itself (for
/// `sendmail-certs mc`), the sendmail.cf path and the RFC 7919 ffdhe2048
/// group from `ffdhe2048.pem`.
pub fn certs_script(target: Target) -> Result<String> {
    let stanza = template("tls-server.mc", &BTreeMap::new())?;
    let files = tls_files(&stanza)?;
    let ffdhe = template("ffdhe2048.pem", &BTreeMap::new())?;
    let vars = BTreeMap::from([
        ("TARGET", target.name().to_string()),
        ("CERT_DIR", files.dir.display().to_string()),
        ("CERT_FILE", files.cert),
        ("KEY_FILE", files.key),
        ("CA_FILE", files.ca),
        ("DH_FILE", files.dh),
        ("SENDMAIL_CF", Path::new("/etc/mail").join("sendmail.cf").display().to_string()),
        ("FFDHE2048", ffdhe.trim_end().to_string()),
        ("TLS_STANZA", stanza.trim_end().to_string()),
    ]);
    for (name, value) in &vars {
        if value.contains('\'') && !matches!(*name, "TLS_STANZA" | "FFDHE2048") {
            bail!("@{name}@ = {value:?} cannot go inside the script's single quotes");
        }
    }
    template(&format!("{CERTS_SCRIPT}.in"), &vars)
}

/// Generates a `.cf` from `.mc` text with the built tree's own m4 macros:
/// `m4 -D_NO_MAKEINFO_ ../m4/cf.m4 FILE.mc` inside `cf/cf`, as cf/cf/Makefile
/// does but without the user/host/date stamp, then the .mc appended as
/// comments like upstream's rule. Any m4 diagnostic is an error.
/// `mc` is written outside the source tree (so the cf tree stays as
/// shipped); its path must not, and does not, end up in the output.
pub fn generate_cf(cf_cf: &Path, mc: &Path, mc_text: &str, installed_mc: &str) -> Result<String> {
    let m4 = tools::find(&tools::M4)?;
    std::fs::write(mc, mc_text).with_context(|| format!("writing {}", mc.display()))?;
    let mc_name = mc.display().to_string();
    let cf_dir = cf_cf.parent().context("cf/cf has a parent")?;
    let (mut cf, stderr) = crate::cf::run_m4(&m4, cf_dir, mc)
        .with_context(|| format!("fix the template in {}", templates_dir().display()))?;
    if !stderr.trim().is_empty() {
        bail!(
            "m4 warned while generating the .cf from {mc_name}:\n{stderr}\nfix the template in {}",
            templates_dir().display()
        );
    }
    let dir = mc.parent().unwrap_or(mc).display().to_string();
    if cf.contains(&dir) || cf.contains(&cf_cf.display().to_string()) {
        bail!("the .cf generated from {mc_name} names a build directory, so it would not reproduce");
    }
    cf.push_str(&format!("### {installed_mc} ###\n"));
    for line in mc_text.lines() {
        cf.push_str(&format!("# {line}\n"));
    }
    Ok(cf)
}

/// The Debian changelog of this build.
pub fn debian_changelog(version: &str, secs: u64) -> String {
    format!(
        "{PACKAGE_NAME} ({}) unstable; urgency=medium\n\n  * sendmail {version} built by smtls with STARTTLS, TLS_EC and\n    \
         _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE; certificates are never created\n    \
         automatically (see /etc/mail/sendmail.mc).\n\n -- {MAINTAINER}  {}\n",
        Target::Debian.package_version(version),
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
    template("copyright.in", &BTreeMap::from([("VERSION", version.to_string()), ("LICENSE_TEXT", text)]))
}

/// Writes every generated file of `target` into [`generated_dir`]; returns
/// that directory. Needs a built tree (the binaries, cf/cf, and what the
/// `features` build, e.g. libmilter).
pub fn generate(plan: &Plan, target: Target, features: &Features, time: &epoch::BuildTime) -> Result<PathBuf> {
    let src = plan.source_dir();
    let gen = generated_dir(plan, target);
    let partial = gen.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let at = |install: &str| partial.join(install.trim_start_matches('/'));
    let put = |install: &str, bytes: &[u8]| -> Result<()> {
        let p = at(install);
        std::fs::create_dir_all(p.parent().context("no parent")?)?;
        std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))
    };
    let version = plan.version.to_string();

    // Stripped programs, like dh_strip and the ports framework.
    let strip = tools::find(&tools::STRIP)?;
    for p in PROGRAMS {
        let built = plan.program(p.name);
        if !built.is_file() {
            bail!("{} is missing: run `cargo xtask build` (or dist) first", built.display());
        }
        let install = match target {
            Target::Debian => p.debian,
            Target::FreeBsd => p.freebsd,
        };
        strip_into(
            &strip,
            &["--remove-section=.comment", "--remove-section=.note", "--strip-unneeded"],
            &built,
            &at(install),
        )?;
    }

    // Static libraries of the options, stripped like dh_strip does (debug
    // information and .comment out; .note.GNU-stack stays), members kept
    // deterministic.
    for f in OPTION_FILES.iter().filter(|f| features.has(f.option)) {
        let (From::Built(rel), To::Lib) = (f.from, f.to) else { continue };
        let built = plan.obj_dir().join(rel);
        if !built.is_file() {
            bail!(
                "{} is missing although option `{}` is on: run `cargo xtask build` (or dist) again",
                built.display(),
                f.option
            );
        }
        let name = Path::new(rel).file_name().context("library name")?;
        let install = target.lib_dir(features.multiarch.as_deref())?.join(name);
        let args = ["--strip-debug", "--remove-section=.comment", "--enable-deterministic-archives"];
        strip_into(&strip, &args, &built, &at(&install.to_string_lossy()))?;
    }

    // Man pages.
    for (page, section) in MAN_PAGES {
        let from = src.join(page);
        let bytes = std::fs::read(&from).with_context(|| format!("reading man page {}", from.display()))?;
        let bytes = fix_man_page(page, bytes);
        let name = Path::new(page).file_name().context("man page name")?.to_string_lossy().to_string();
        let install = target.man_dir().join(format!("man{section}")).join(format!("{name}.gz"));
        put(&install.to_string_lossy(), &crate::archive::gzip(&bytes)?)?;
    }

    // .mc and .cf files.
    let cf_cf = src.join("cf/cf");
    for which in ["sendmail", "submit"] {
        let mc = mc_text(target, which, &version)?;
        put(&format!("/etc/mail/{which}.mc"), mc.as_bytes())?;
        let mc_path = partial.join(format!("{which}.mc.m4-input"));
        let cf = generate_cf(&cf_cf, &mc_path, &mc, &format!("{which}.mc"))?;
        std::fs::remove_file(&mc_path)?;
        put(&format!("/etc/mail/{which}.cf"), cf.as_bytes())?;
    }
    put(&certs_script_path(target).to_string_lossy(), certs_script(target)?.as_bytes())?;
    // DOMAIN(generic) reads class w from this file; sendmail errors without it.
    put("/etc/mail/local-host-names", template("local-host-names", &BTreeMap::new())?.as_bytes())?;
    if let Some(rc) = target.rc_conf_d() {
        put(&rc.to_string_lossy(), template("rc.conf.d-sendmail", &BTreeMap::new())?.as_bytes())?;
    }

    // Documentation.
    let license = std::fs::read_to_string(src.join("LICENSE")).context("reading sendmail's LICENSE")?;
    let notes = std::fs::read(src.join("RELEASE_NOTES")).context("reading sendmail's RELEASE_NOTES")?;
    let doc = target.doc_dir();
    let doc = |name: &str| doc.join(name).to_string_lossy().to_string();
    match target {
        Target::Debian => {
            put(&doc("copyright"), copyright(&version, &license)?.as_bytes())?;
            put(&doc("changelog.gz"), &crate::archive::gzip(&notes)?)?;
            put(&doc("changelog.Debian.gz"), &crate::archive::gzip(debian_changelog(&version, time.secs).as_bytes())?)?;
        }
        Target::FreeBsd => {
            put(&doc("LICENSE"), license.as_bytes())?;
            put(&doc("RELEASE_NOTES"), &notes)?;
        }
    }

    if gen.exists() {
        std::fs::remove_dir_all(&gen).with_context(|| format!("removing the old {}", gen.display()))?;
    }
    std::fs::rename(&partial, &gen).with_context(|| format!("moving {} into place", gen.display()))?;
    Ok(gen)
}

/// Generates the files, lists the contents and builds the staged tree in
/// `<work>/stage/<target>/root`, plus `contents.json` beside it. Files get
/// their mode without setuid/setgid bits and without any owner change:
/// the real owners and modes are in the returned list.
/// Writes a stripped copy of `built` to `out` (`strip ARGS -o OUT BUILT`).
fn strip_into(strip: &Path, args: &[&str], built: &Path, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out.parent().context("no parent")?)?;
    let status = Command::new(strip)
        .args(args)
        .arg("-o")
        .arg(out)
        .arg(built)
        .status()
        .with_context(|| format!("running strip on {}", built.display()))?;
    if !status.success() {
        bail!("strip {} failed ({status})", built.display());
    }
    Ok(())
}

pub fn stage(plan: &Plan, target: Target) -> Result<(PathBuf, Contents)> {
    let time = epoch::from_environment(&plan.cached_tarball())?;
    stage_at(plan, target, &time)
}

/// [`stage`] with an explicit build time.
pub fn stage_at(plan: &Plan, target: Target, time: &epoch::BuildTime) -> Result<(PathBuf, Contents)> {
    use std::os::unix::fs::PermissionsExt;
    progress::info(&format!("staging the {target} layout (PREFIX {})", target.prefix()));
    let features = Features::configured(plan)?;
    generate(plan, target, &features, time)?;
    let contents = contents_with(plan, target, &features)?;
    let dir = stage_dir(plan, target);
    let root = dir.join("root");
    let partial = dir.join(format!("root.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
    for e in &contents.entries {
        let to = e.staged(&partial);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match &e.kind {
            Kind::Dir => std::fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?,
            Kind::File { source } | Kind::Config { source } => {
                std::fs::copy(source, &to).with_context(|| {
                    format!("staging {}: cannot copy {} (was it built?)", e.path.display(), source.display())
                })?;
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode((e.mode & 0o777) | 0o200))?;
            }
            Kind::Symlink { target } => {
                std::os::unix::fs::symlink(target, &to).with_context(|| format!("creating symlink {}", to.display()))?
            }
        }
    }
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("removing the old {}", root.display()))?;
    }
    std::fs::rename(&partial, &root)?;
    crate::util::write_atomic(&dir.join("contents.json"), serde_json::to_string_pretty(&contents)?.as_bytes())?;
    progress::info(&format!("staged {} entries in {}", contents.entries.len(), root.display()));
    Ok((root, contents))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default option set on an amd64 Debian host.
    fn defaults() -> Features {
        Features {
            options: crate::configure::options::OPTIONS
                .iter()
                .filter(|o| o.default)
                .map(|o| o.name.to_string())
                .collect(),
            multiarch: Some("x86_64-linux-gnu".into()),
        }
    }

    fn sample(target: Target) -> Contents {
        sample_with(target, &defaults())
    }

    fn sample_with(target: Target, features: &Features) -> Contents {
        let cf = vec![
            (PathBuf::from("README"), PathBuf::from("/src/cf/README"), false),
            (PathBuf::from("m4/cf.m4"), PathBuf::from("/src/cf/m4/cf.m4"), false),
            (PathBuf::from("sh/makeinfo.sh"), PathBuf::from("/src/cf/sh/makeinfo.sh"), true),
        ];
        list(target, Path::new("/src"), Path::new("/gen"), cf, features).unwrap()
    }

    #[test]
    fn milter_adds_libmilter_and_its_headers() {
        let c = sample(Target::Debian);
        let a = c.get("/usr/lib/x86_64-linux-gnu/libmilter.a").unwrap();
        assert_eq!(a.source(), Some(Path::new("/gen/usr/lib/x86_64-linux-gnu/libmilter.a")));
        assert_eq!((a.owner.as_str(), a.group.as_str(), a.mode), ("root", "root", 0o644));
        assert_eq!(a.option.as_deref(), Some("milter"));
        let h = c.get("/usr/include/libmilter/mfapi.h").unwrap();
        assert_eq!(h.source(), Some(Path::new("/src/include/libmilter/mfapi.h")));
        assert!(c.get("/usr/include/libmilter/mfdef.h").is_some());
        // Directories only libmilter needs belong to the option; shared ones do not.
        assert_eq!(c.get("/usr/include/libmilter").unwrap().option.as_deref(), Some("milter"));
        assert_eq!(c.get("/usr/lib/x86_64-linux-gnu").unwrap().option.as_deref(), Some("milter"));
        assert_eq!(c.get("/usr/lib").unwrap().option, None, "/usr/lib/sendmail is there too");
        assert_eq!(c.get("/usr/sbin/makemap").unwrap().option, None);
        assert!(c.options.contains(&"milter".to_string()));

        let f = sample(Target::FreeBsd);
        assert!(f.get("/usr/local/lib/libmilter.a").is_some());
        assert_eq!(f.get("/usr/local/include/libmilter/mfdef.h").unwrap().group, "wheel");
        let d = f.get("/usr/local/include/libmilter").unwrap();
        assert_eq!((&d.kind, d.option.as_deref()), (&Kind::Dir, Some("milter")));
        assert!(f.get("/usr/local/include").is_none() && f.get("/usr/local/lib").is_none(), "shared directories");

        // Without milter: none of it.
        let without = Features { options: vec!["sasl".into()], ..defaults() };
        for t in [Target::Debian, Target::FreeBsd] {
            let c = sample_with(t, &without);
            assert!(c.entries.iter().all(|e| e.option.is_none() && !e.path.to_string_lossy().contains("milter")));
            assert_eq!(c.options, ["sasl"]);
        }
        // The Debian layout needs the multiarch tuple only when it places a library.
        let err = list(
            Target::Debian,
            Path::new("/src"),
            Path::new("/gen"),
            vec![],
            &Features { multiarch: None, ..defaults() },
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("multiarch"), "{err:#}");
        assert!(list(
            Target::FreeBsd,
            Path::new("/src"),
            Path::new("/gen"),
            vec![],
            &Features { multiarch: None, ..defaults() }
        )
        .is_ok());
    }

    #[test]
    fn relative_links() {
        let l = |a: &str, b: &str| relative_link(Path::new(a), Path::new(b));
        assert_eq!(
            l("/usr/sbin/sendmail", "/usr/libexec/sendmail/sendmail"),
            Path::new("../libexec/sendmail/sendmail")
        );
        assert_eq!(l("/usr/local/bin/mailq", "/usr/local/sbin/sendmail"), Path::new("../sbin/sendmail"));
        assert_eq!(l("/usr/lib/sendmail", "/usr/libexec/sendmail/sendmail"), Path::new("../libexec/sendmail/sendmail"));
    }

    #[test]
    fn debian_layout_owners_and_modes() {
        let c = sample(Target::Debian);
        check(&c).unwrap();
        let e = c.get("/usr/libexec/sendmail/sendmail").unwrap();
        assert_eq!((e.owner.as_str(), e.group.as_str(), e.mode), ("root", "smmsp", 0o2555));
        assert_eq!(e.source(), Some(Path::new("/gen/usr/libexec/sendmail/sendmail")));
        let q = c.get("/var/spool/clientmqueue").unwrap();
        assert_eq!((q.owner.as_str(), q.group.as_str(), q.mode, &q.kind), ("smmsp", "smmsp", 0o770, &Kind::Dir));
        let m = c.get("/var/spool/mqueue").unwrap();
        assert_eq!((m.owner.as_str(), m.mode), ("root", 0o700));
        assert_eq!(c.get("/etc/mail/certs").unwrap().mode, 0o755);
        assert_eq!(
            c.get("/usr/sbin/sendmail").unwrap().kind,
            Kind::Symlink { target: "../libexec/sendmail/sendmail".into() }
        );
        for name in ["/usr/bin/mailq", "/usr/bin/newaliases", "/usr/sbin/hoststat", "/usr/sbin/purgestat"] {
            assert!(matches!(c.get(name).unwrap().kind, Kind::Symlink { .. }), "{name}");
        }
        for p in ["smrsh", "mail.local"] {
            assert!(c.get(format!("/usr/libexec/sendmail/{p}")).is_some());
        }
        assert_eq!(c.get("/usr/share/sendmail/cf/sh/makeinfo.sh").unwrap().mode, 0o755);
        assert_eq!(c.get("/usr/share/sendmail/cf/m4/cf.m4").unwrap().mode, 0o644);
        let configs: Vec<_> = c.config_files().map(|e| e.path.to_string_lossy().to_string()).collect();
        assert_eq!(
            configs,
            [
                "/etc/mail/helpfile",
                "/etc/mail/local-host-names",
                "/etc/mail/sendmail.cf",
                "/etc/mail/sendmail.mc",
                "/etc/mail/submit.cf",
                "/etc/mail/submit.mc"
            ]
        );
        assert!(c.get("/usr/share/doc/smtls-sendmail/copyright").is_some());
        assert!(c.get("/usr/share/doc/smtls-sendmail/changelog.gz").is_some());
        // Every parent directory is listed, root-owned 0755 unless special.
        for e in &c.entries {
            for d in e.path.ancestors().skip(1).filter(|d| *d != Path::new("/")) {
                let de = c.get(d).unwrap_or_else(|| panic!("{} has no entry", d.display()));
                assert_eq!(de.kind, Kind::Dir);
            }
        }
        assert!(c.entries.iter().all(|e| e.group != "wheel"));
        assert!(c.get("/usr/local/etc/rc.conf.d/sendmail").is_none());
    }

    #[test]
    fn freebsd_layout() {
        let c = sample(Target::FreeBsd);
        check(&c).unwrap();
        let e = c.get("/usr/local/sbin/sendmail").unwrap();
        assert_eq!((e.owner.as_str(), e.group.as_str(), e.mode), ("root", "smmsp", 0o2555));
        assert_eq!(c.get("/usr/local/sbin/makemap").unwrap().mode, 0o555);
        assert_eq!(c.get("/usr/local/sbin/makemap").unwrap().group, "wheel");
        let rc = c.get("/usr/local/etc/rc.conf.d/sendmail").unwrap();
        assert!(rc.is_config());
        assert_eq!(rc.source(), Some(Path::new("/gen/usr/local/etc/rc.conf.d/sendmail")));
        assert_eq!(c.get("/usr/local/bin/mailq").unwrap().kind, Kind::Symlink { target: "../sbin/sendmail".into() });
        // Only owned directories: not the shared /usr/local/sbin.
        assert!(c.get("/usr/local/sbin").is_none());
        assert!(c.get("/usr/local/share/sendmail/cf/m4").is_some());
        assert!(c.get("/usr/local/share/sendmail").is_some());
        assert!(c.get("/usr/local/share/doc/smtls-sendmail").is_some());
        assert_eq!(c.get("/var/spool/mqueue").unwrap().group, "wheel");
        assert!(c.get("/var/spool").is_none());
        assert!(c.entries.iter().all(|e| e.path.starts_with("/usr/local")
            || e.path.starts_with("/etc/mail")
            || e.path.starts_with("/var/spool")));
    }

    #[test]
    fn templates_fill_and_carry_the_tls_stanza() {
        for t in [Target::Debian, Target::FreeBsd] {
            let mc = mc_text(t, "sendmail", "8.18.2").unwrap();
            assert!(!mc.contains('@'), "{mc}");
            assert!(mc.contains("define(`confSERVER_CERT', `/etc/mail/certs/host.cert')dnl"), "{mc}");
            assert!(mc.contains("+SSL_OP_NO_SSLv3 +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1"), "{mc}");
            assert!(mc.contains(&format!("{}/mail.local", t.libexec())), "{mc}");
            let submit = mc_text(t, "submit", "8.18.2").unwrap();
            assert!(submit.contains("confCACERT_PATH") && !submit.contains("confSERVER_KEY"), "{submit}");
        }
        let rc = template("rc.conf.d-sendmail", &BTreeMap::new()).unwrap();
        assert!(rc.lines().any(|l| l == "sendmail_cert_create=\"NO\""), "{rc}");
    }

    #[test]
    fn the_certs_script_is_filled_from_the_packaged_stanza() {
        let stanza = template("tls-server.mc", &BTreeMap::new()).unwrap();
        let files = tls_files(&stanza).unwrap();
        assert_eq!(files.dir, Path::new("/etc/mail/certs"));
        assert_eq!(
            [files.cert.as_str(), files.key.as_str(), files.ca.as_str(), files.dh.as_str()],
            ["host.cert", "host.key", "cacert.pem", "dhparams.pem"]
        );
        for t in [Target::Debian, Target::FreeBsd] {
            let s = certs_script(t).unwrap();
            assert!(s.starts_with("#!/bin/sh\n"), "{s}");
            assert!(s.contains("DEFAULT_DIR='/etc/mail/certs'\nCERT_NAME='host.cert'\n"), "{s}");
            assert!(s.contains("SENDMAIL_CF='/etc/mail/sendmail.cf'"));
            assert!(s.contains(stanza.trim_end()) && s.contains("-----BEGIN DH PARAMETERS-----"));
            assert!(!s.lines().any(|l| l.contains("@CERT_") || l.contains("@TLS_STANZA@")), "placeholders left");
            assert!(s.contains(&format!("for {}.", t.name())));
        }
        assert_eq!(certs_script_path(Target::Debian), Path::new("/usr/sbin/sendmail-certs"));
        assert_eq!(certs_script_path(Target::FreeBsd), Path::new("/usr/local/sbin/sendmail-certs"));
        let d = sample(Target::Debian);
        let e = d.get("/usr/sbin/sendmail-certs").unwrap();
        assert_eq!((e.mode, e.source()), (0o755, Some(Path::new("/gen/usr/sbin/sendmail-certs"))));
        assert_eq!(sample(Target::FreeBsd).get("/usr/local/sbin/sendmail-certs").unwrap().mode, 0o555);
    }

    #[test]
    fn tls_files_refuses_a_stanza_it_cannot_serve() {
        let good = template("tls-server.mc", &BTreeMap::new()).unwrap();
        let moved = good.replace("`/etc/mail/certs/host.key'", "`/etc/ssl/private/host.key'");
        assert!(tls_files(&moved).unwrap_err().to_string().contains("not a file directly in confCACERT_PATH"));
        let split =
            good.replace("confCLIENT_CERT', `/etc/mail/certs/host.cert'", "confCLIENT_CERT', `/etc/mail/certs/c.pem'");
        assert!(tls_files(&split).unwrap_err().to_string().contains("sendmail-certs installs one pair"));
        let none = good.lines().filter(|l| !l.contains("confDH_PARAMETERS")).collect::<Vec<_>>().join("\n");
        assert!(tls_files(&none).unwrap_err().to_string().contains("defines no confDH_PARAMETERS"));
    }

    #[test]
    fn man_fixes() {
        let fixed = fix_man_page("vacation/vacation.1", b"cause\n.i vacation\nto".to_vec());
        assert_eq!(fixed, b"cause\n.I vacation\nto");
        assert_eq!(fix_man_page("sendmail/sendmail.8", b"\n.i vacation\n".to_vec()), b"\n.i vacation\n");
    }

    #[test]
    fn changelog_and_copyright() {
        let c = debian_changelog("8.18.2", 1_766_793_600);
        assert!(c.starts_with("smtls-sendmail (8.18.2-0smtls1) unstable; urgency=medium\n"), "{c}");
        assert!(c.ends_with("  Sat, 27 Dec 2025 00:00:00 +0000\n"), "{c}");
        let cr = copyright("8.18.2", "\t\tSENDMAIL LICENSE\n\nterms\n").unwrap();
        assert!(cr.contains("License: Sendmail\n                 SENDMAIL LICENSE\n .\n terms\n"), "{cr}");
    }
}

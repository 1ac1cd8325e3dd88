//! The list: every installed path of a layout with its kind, owner, group,
//! mode and origin, decided from tables, the cf tree's listing and the
//! build's features. Pure but for [`contents`], which reads the source
//! tree's cf directory and the configuration.

use super::layout::{Configs, Doc};
use super::{Contents, Entry, Features, Kind, Origin, Target};
use crate::plan::Plan;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// The tables: what goes where.

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
    ("rmail/rmail.8", 8),
];

/// The man pages of a layout: those of the programs it installs (a page's
/// directory names its program; sendmail/ holds aliases.5 and mailq.1 too).
pub fn man_pages(target: Target) -> impl Iterator<Item = &'static (&'static str, u8)> {
    let programs = target.layout().programs;
    MAN_PAGES.iter().filter(move |(page, _)| {
        let program = page.split('/').next().unwrap_or_default();
        programs.iter().any(|(name, _)| *name == program)
    })
}

/// Man page links: hoststat and purgestat are documented in sendmail(8).
const MAN_LINKS: &[(&str, &str)] = &[("man8/hoststat.8.gz", "sendmail.8.gz"), ("man8/purgestat.8.gz", "sendmail.8.gz")];

/// Files of the cf tree that only work inside the source tree (they call
/// ../../devtools).
pub const CF_SKIP: &[&str] = &["cf/Build", "cf/Makefile"];

/// The configuration files generated from templates
/// ([`Target::mail_config`] places them).
pub const MAIL_CONFIGS: &[&str] = &["sendmail.mc", "sendmail.cf", "submit.mc", "submit.cf", "local-host-names"];
/// Where the helpfile is installed, and what the `.mc` names.
pub fn helpfile_path(target: Target) -> PathBuf {
    PathBuf::from(target.layout().helpfile)
}

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

impl Features {
    /// The options `configure` switched on for this tree, and this host's
    /// multiarch tuple.
    pub fn configured(config: &crate::configure::Configuration) -> Features {
        Features { options: config.options.clone(), multiarch: crate::host::multiarch() }
    }
}

/// The list of contents for `target`, for the build options `configure`
/// chose. Reads the configuration and the source tree's cf directory (to
/// list it); generated files are named at their place in
/// [`generated_dir`], which [`generate`] fills.
pub fn contents(plan: &Plan, target: Target, config: &crate::configure::Configuration) -> Result<Contents> {
    contents_with(plan, target, &Features::configured(config))
}

/// [`contents`] for the given features (the FreeBSD port lists every
/// option it offers, whatever this tree was built with).
pub fn contents_with(plan: &Plan, target: Target, features: &Features) -> Result<Contents> {
    let src = plan.source_dir();
    let cf_src = src.join("cf");
    let cf_files = walk(&cf_src).with_context(|| {
        format!("listing the cf tree {}: run `cargo xtask fetch` (and build) first", cf_src.display())
    })?;
    let cf: Vec<(PathBuf, bool)> =
        cf_files.into_iter().filter(|(rel, _)| !CF_SKIP.iter().any(|s| Path::new(s) == rel)).collect();
    list(target, &src, &generated_dir(plan, target), &cf, features)
}

/// The pure part of [`contents`]: every decision about paths, owners,
/// modes and origins, from the source and generated directories, the cf
/// tree listing (path relative to `cf/`, is a script) and the build's
/// [`Features`].
pub fn list(target: Target, src: &Path, gen: &Path, cf: &[(PathBuf, bool)], features: &Features) -> Result<Contents> {
    let mut l = Listing { target, src: src.to_path_buf(), gen: gen.to_path_buf(), entries: BTreeMap::new() };
    programs(&mut l)?;
    man_page_entries(&mut l)?;
    cf_tree(&mut l, cf)?;
    configuration(&mut l)?;
    // The certificate helper, written from its template.
    let script = super::certs_script_path(target);
    l.add(Entry { mode: target.program_mode(), ..l.file(script, Origin::CertsScript) })?;
    l.add(l.file(super::certs_man_path(target), Origin::CertsManPage))?;
    l.add(Entry { mode: target.program_mode(), ..l.file(super::certs_hook_path(target), Origin::CertsHook) })?;
    docs(&mut l)?;
    let option_dirs = option_files(&mut l, features)?;
    for (path, owner, group, mode) in target.layout().special_dirs {
        l.add(Entry { owner: (*owner).into(), group: (*group).into(), mode: *mode, ..l.dir(path.into()) })?;
    }
    parents(&mut l, &option_dirs);
    let contents = Contents { target, entries: l.entries.into_values().collect(), options: features.options.clone() };
    super::check(&contents)?;
    Ok(contents)
}

/// The entries listed so far, by path, and what entries are made from.
struct Listing {
    target: Target,
    src: PathBuf,
    gen: PathBuf,
    entries: BTreeMap<PathBuf, Entry>,
}

impl Listing {
    fn add(&mut self, e: Entry) -> Result<()> {
        if let Some(old) = self.entries.insert(e.path.clone(), e) {
            bail!("{} is listed twice in the {} contents", old.path.display(), self.target);
        }
        Ok(())
    }

    /// Where the bytes of an entry of this origin are: in the source tree,
    /// or at its install path in the generated directory.
    fn source(&self, path: &Path, origin: &Origin) -> PathBuf {
        match origin {
            Origin::Source { rel } => self.src.join(rel),
            _ => self.gen.join(path.strip_prefix("/").unwrap_or(path)),
        }
    }

    /// A root-owned file, the target's data mode unless changed.
    fn file(&self, path: PathBuf, origin: Origin) -> Entry {
        let source = self.source(&path, &origin);
        self.entry(path, Kind::File { source }, self.target.data_mode(), origin)
    }

    /// A root-owned configuration file, the target's data mode.
    fn config(&self, path: PathBuf, origin: Origin) -> Entry {
        let source = self.source(&path, &origin);
        self.entry(path, Kind::Config { source }, self.target.data_mode(), origin)
    }

    fn link(&self, path: PathBuf, target: PathBuf) -> Entry {
        self.entry(path, Kind::Symlink { target }, 0o777, Origin::Link)
    }

    /// A root-owned directory, mode 0755 unless changed.
    fn dir(&self, path: PathBuf) -> Entry {
        self.entry(path, Kind::Dir, 0o755, Origin::Dir)
    }

    fn entry(&self, path: PathBuf, kind: Kind, mode: u32, origin: Origin) -> Entry {
        Entry { path, kind, owner: "root".into(), group: self.target.root_group().into(), mode, option: None, origin }
    }
}

/// The programs, stripped copies in the generated directory, and the links
/// under which sendmail runs in another mode.
fn programs(l: &mut Listing) -> Result<()> {
    let target = l.target;
    let mut sendmail_path = PathBuf::new();
    for (name, path) in target.layout().programs {
        let path = PathBuf::from(path);
        let e = l.file(path.clone(), Origin::Program { name: name.to_string() });
        let e = if *name == "sendmail" {
            sendmail_path = path;
            Entry { group: "smmsp".into(), mode: 0o2555, ..e }
        } else {
            Entry { mode: target.program_mode(), ..e }
        };
        l.add(e)?;
    }
    for link in target.layout().sendmail_links {
        let path = PathBuf::from(link);
        let to = relative_link(&path, &sendmail_path);
        l.add(l.link(path, to))?;
    }
    Ok(())
}

/// The man pages, compressed in the generated directory, and their links.
fn man_page_entries(l: &mut Listing) -> Result<()> {
    let man = l.target.man_dir();
    for (page, section) in man_pages(l.target) {
        let name = Path::new(page).file_name().context("man page name")?.to_string_lossy().to_string();
        let path = man.join(format!("man{section}")).join(format!("{name}.gz"));
        l.add(l.file(path, Origin::ManPage { page: page.to_string() }))?;
    }
    for (link, to) in MAN_LINKS {
        l.add(l.link(man.join(link), to.into()))?;
    }
    Ok(())
}

/// The cf tree, so administrators can rebuild their .cf files.
fn cf_tree(l: &mut Listing, cf: &[(PathBuf, bool)]) -> Result<()> {
    let cf_dir = l.target.cf_dir();
    for (rel, script) in cf {
        let e = l.file(cf_dir.join(rel), Origin::Source { rel: Path::new("cf").join(rel) });
        l.add(Entry { mode: if *script { l.target.program_mode() } else { l.target.data_mode() }, ..e })?;
    }
    Ok(())
}

/// The configuration: Debian's conffiles in /etc/mail; on FreeBSD samples
/// under PREFIX (plain files the administrator copies), the helpfile where
/// mail/sendmail puts it, mailwrapper's mailer.conf for this sendmail, and
/// the rc.conf.d file as a sample its install script activates.
fn configuration(l: &mut Listing) -> Result<()> {
    let target = l.target;
    let conf = |l: &Listing, path: PathBuf, origin: Origin| match target.layout().configs {
        Configs::Conffiles { .. } => l.config(path, origin),
        Configs::Samples { .. } => l.file(path, origin),
    };
    for name in MAIL_CONFIGS {
        let origin = match name.rsplit_once('.') {
            Some((stem, "mc")) => Origin::Mc { which: stem.into() },
            Some((stem, "cf")) => Origin::Cf { which: stem.into() },
            _ => Origin::Template { name: name.to_string() },
        };
        l.add(conf(l, target.mail_config(name), origin))?;
    }
    l.add(conf(l, helpfile_path(target), Origin::Source { rel: "sendmail/helpfile".into() }))?;
    if let Some(path) = target.layout().mailer_conf {
        l.add(l.file(path.into(), Origin::MailerConf))?;
    }
    if let Some(rc) = target.rc_conf_d() {
        l.add(l.config(super::sample_of(&rc), Origin::Template { name: "rc.conf.d-sendmail".into() }))?;
    }
    for s in target.layout().services {
        let origin = Origin::Template { name: s.template.to_string() };
        let e = if s.config { l.config(s.path.into(), origin) } else { l.file(s.path.into(), origin) };
        l.add(Entry { mode: s.mode, ..e })?;
    }
    Ok(())
}

/// The documentation: Debian's copyright and changelogs, or FreeBSD's
/// copies of LICENSE and RELEASE_NOTES.
fn docs(l: &mut Listing) -> Result<()> {
    let doc = l.target.doc_dir();
    for (name, d) in l.target.layout().docs {
        let origin = match d {
            Doc::Copyright => Origin::Copyright,
            Doc::ReleaseNotes => Origin::ReleaseNotes,
            Doc::DebianChangelog => Origin::DebianChangelog,
            Doc::Copy(rel) => Origin::DocCopy { rel: rel.into() },
            Doc::Template(name) => Origin::Template { name: (*name).into() },
        };
        l.add(l.file(doc.join(name), origin))?;
    }
    Ok(())
}

/// What the build options add; returns the header directories the package
/// owns for them.
fn option_files(l: &mut Listing, features: &Features) -> Result<Vec<PathBuf>> {
    let target = l.target;
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
        let origin = match f.from {
            // Built libraries: stripped copies in the generated directory.
            From::Built(rel) => Origin::Library { built: rel.into() },
            From::Source(rel) => Origin::Source { rel: rel.into() },
        };
        l.add(Entry { option: Some(f.option.to_string()), ..l.file(dir.join(name), origin) })?;
    }
    Ok(option_dirs)
}

/// The other directories: on Debian every parent (a .deb lists them all);
/// on FreeBSD only those the package owns (the cf tree, the doc directory,
/// an option's header directory), never shared ones such as
/// /usr/local/sbin.
fn parents(l: &mut Listing, option_dirs: &[PathBuf]) {
    let target = l.target;
    let (cf_dir, doc) = (target.cf_dir(), target.doc_dir());
    let owned = |d: &Path| {
        target.layout().owns_all_parents
            || target.layout().owned_dirs.iter().any(|o| d.starts_with(o))
            || d.starts_with(cf_dir.parent().unwrap_or(&cf_dir))
            || d.starts_with(&doc)
            || option_dirs.iter().any(|o| d.starts_with(o))
    };
    let parents: Vec<PathBuf> = l
        .entries
        .keys()
        .flat_map(|p| p.ancestors().skip(1).map(Path::to_path_buf).collect::<Vec<_>>())
        .filter(|d| d != Path::new("/") && owned(d))
        .collect();
    for d in parents {
        if l.entries.contains_key(&d) {
            continue;
        }
        // A directory only an option's files need belongs to that option.
        let below: BTreeSet<Option<&String>> =
            l.entries.values().filter(|e| e.path.starts_with(&d)).map(|e| e.option.as_ref()).collect();
        let option = match below.into_iter().collect::<Vec<_>>()[..] {
            [Some(o)] => Some(o.clone()),
            _ => None,
        };
        let e = Entry { option, ..l.dir(d.clone()) };
        l.entries.insert(d, e);
    }
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

    /// The layout for `target`, which must pass the stage's own checks.
    fn checked(target: Target) -> Contents {
        let c = sample(target);
        super::super::check(&c).unwrap();
        c
    }

    /// Owner, group and mode of the entry at `path`.
    fn owner_group_mode<'a>(c: &'a Contents, path: &str) -> (&'a str, &'a str, u32) {
        let e = c.get(path).unwrap_or_else(|| panic!("{path} has no entry"));
        (e.owner.as_str(), e.group.as_str(), e.mode)
    }

    /// What a Debian package marks as conffiles (the package test checks
    /// the .deb against it too).
    const DEBIAN_CONFFILES: &str = include_str!("../testdata/debian-conffiles.txt");

    fn sample_with(target: Target, features: &Features) -> Contents {
        let cf = [
            (PathBuf::from("README"), false),
            (PathBuf::from("m4/cf.m4"), false),
            (PathBuf::from("sh/makeinfo.sh"), true),
        ];
        list(target, Path::new("/src"), Path::new("/gen"), &cf, features).unwrap()
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
            &[],
            &Features { multiarch: None, ..defaults() },
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("multiarch"), "{err:#}");
        assert!(list(
            Target::FreeBsd,
            Path::new("/src"),
            Path::new("/gen"),
            &[],
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
        let c = checked(Target::Debian);
        assert_eq!(owner_group_mode(&c, "/usr/libexec/sendmail/sendmail"), ("root", "smmsp", 0o2555));
        let e = c.get("/usr/libexec/sendmail/sendmail").unwrap();
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
        assert_eq!(configs, DEBIAN_CONFFILES.lines().collect::<Vec<_>>());
        assert!(c.get("/usr/share/doc/smtls-sendmail/copyright").is_some());
        assert!(c.get("/usr/share/doc/smtls-sendmail/changelog.gz").is_some());
        assert_eq!(c.get("/etc/init.d/sendmail").unwrap().mode, 0o755);
        let unit = c.get("/lib/systemd/system/sendmail.service").unwrap();
        assert!(matches!(unit.kind, Kind::File { .. }), "{unit:?}");
        assert_eq!(unit.origin, Origin::Template { name: "sendmail.service".into() });
        assert!(c.get("/lib/systemd/system/sm-msp-queue.service").is_some());
        // Every parent directory is listed, root-owned 0755 unless special.
        for e in &c.entries {
            for d in e.path.ancestors().skip(1).filter(|d| *d != Path::new("/")) {
                let de = c.get(d).unwrap_or_else(|| panic!("{} has no entry", d.display()));
                assert_eq!(de.kind, Kind::Dir);
            }
        }
        assert!(c.entries.iter().all(|e| e.group != "wheel"));
        assert!(c.get("/usr/local/etc/rc.conf.d/sendmail").is_none());
        // rmail is Debian's own package's, and nothing of FreeBSD's layout leaks in.
        assert!(c.entries.iter().all(|e| !e.path.to_string_lossy().contains("rmail")));
        assert!(
            c.get(super::super::layout::FREEBSD.mailer_conf.unwrap()).is_none()
                && c.get("/usr/share/sendmail/helpfile").is_none()
        );
    }

    #[test]
    fn rpm_layout() {
        let c = checked(Target::Rpm);
        assert_eq!(owner_group_mode(&c, "/usr/sbin/sendmail"), ("root", "smmsp", 0o2555));
        assert_eq!(c.get("/usr/sbin/sendmail").unwrap().origin, Origin::Program { name: "sendmail".into() });
        assert_eq!(owner_group_mode(&c, "/var/spool/clientmqueue"), ("smmsp", "smmsp", 0o770));
        assert_eq!(owner_group_mode(&c, "/var/spool/mqueue"), ("root", "root", 0o700));
        for link in ["/usr/lib/sendmail", "/usr/bin/mailq", "/usr/bin/newaliases", "/usr/sbin/hoststat"] {
            assert!(matches!(c.get(link).unwrap().kind, Kind::Symlink { .. }), "{link}");
        }
        assert_eq!(c.get("/usr/bin/mailq").unwrap().kind, Kind::Symlink { target: "../sbin/sendmail".into() });
        assert!(c.get("/usr/libexec/sendmail/mail.local").is_some() && c.get("/usr/libexec/sendmail/smrsh").is_some());
        for unit in ["sendmail.service", "sm-msp-queue.service"] {
            let e = c.get(format!("/usr/lib/systemd/system/{unit}")).unwrap();
            assert_eq!(e.origin, Origin::Template { name: unit.into() });
            assert!(!e.is_config());
        }
        assert!(c.get("/usr/lib/sysusers.d/smtls-sendmail.conf").is_some());
        assert!(c.get("/etc/mail/access").unwrap().is_config());
        assert!(c.get("/etc/mail/sendmail.cf").unwrap().is_config());
        assert!(c.get("/usr/share/licenses/smtls-sendmail/LICENSE").is_some());
        assert!(c.get("/usr/share/doc/smtls-sendmail/RELEASE_NOTES").is_some());
        assert_eq!(c.get("/usr/lib64/libmilter.a").unwrap().option.as_deref(), Some("milter"));
        // Only its own directories: never those of the filesystem or systemd.
        for shared in
            ["/usr", "/usr/sbin", "/usr/bin", "/usr/lib/systemd/system", "/usr/lib64", "/etc", "/usr/share/man/man8"]
        {
            assert!(c.get(shared).is_none(), "{shared} is not the package's");
        }
        for own in [
            "/etc/mail",
            "/etc/mail/certs",
            "/usr/libexec/sendmail",
            "/usr/share/licenses/smtls-sendmail",
            "/usr/share/sendmail/cf/m4",
            "/usr/include/libmilter",
        ] {
            assert_eq!(c.get(own).unwrap().kind, Kind::Dir, "{own}");
        }
        // Nothing Debian- or FreeBSD-only.
        assert!(c.entries.iter().all(|e| !e.path.starts_with("/etc/init.d") && !e.path.starts_with("/lib/systemd")));
        assert!(c.entries.iter().all(|e| !e.path.to_string_lossy().contains("rmail") && e.group != "wheel"));
        assert!(c
            .entries
            .iter()
            .all(|e| !matches!(e.origin, Origin::DebianChangelog | Origin::Copyright | Origin::MailerConf)));
    }

    #[test]
    fn services_only_in_the_debian_layout() {
        let c = sample(Target::FreeBsd);
        assert!(c.entries.iter().all(|e| !e.path.starts_with("/lib/systemd") && !e.path.starts_with("/etc/init.d")));
    }

    #[test]
    fn freebsd_layout() {
        let c = checked(Target::FreeBsd);
        assert_eq!(owner_group_mode(&c, "/usr/local/sbin/sendmail"), ("root", "smmsp", 0o2555));
        assert_eq!(owner_group_mode(&c, "/usr/local/sbin/makemap"), ("root", "wheel", 0o555));
        let rc = c.get("/usr/local/etc/rc.conf.d/sendmail.sample").unwrap();
        assert!(rc.is_config());
        assert_eq!(rc.source(), Some(Path::new("/gen/usr/local/etc/rc.conf.d/sendmail.sample")));
        // The samples and mailwrapper's table under PREFIX; the helpfile
        // where mail/sendmail puts it; rmail as mail/sendmail installs it.
        for name in MAIL_CONFIGS {
            let e = c.get(format!("/usr/local/etc/mail/{name}.sample")).unwrap_or_else(|| panic!("{name}"));
            assert!(!e.is_config() && e.mode == 0o444, "{name}: a plain sample file (SHAREMODE)");
        }
        assert_eq!(c.get(super::super::layout::FREEBSD.mailer_conf.unwrap()).unwrap().origin, Origin::MailerConf);
        assert_eq!(
            c.get(super::super::layout::FREEBSD.helpfile).unwrap().origin,
            Origin::Source { rel: "sendmail/helpfile".into() }
        );
        assert_eq!(c.get("/usr/local/bin/rmail").unwrap().mode, 0o555);
        assert!(c.get("/usr/local/share/man/man8/rmail.8.gz").is_some());
        assert_eq!(c.config_files().count(), 1, "only the rc.conf.d sample is activated at install");
        assert!(c.get("/usr/local/etc/mail").is_none() && c.get("/usr/local/etc/rc.conf.d").is_none(), "shared dirs");
        assert_eq!(c.get("/usr/local/bin/mailq").unwrap().kind, Kind::Symlink { target: "../sbin/sendmail".into() });
        // Only owned directories: not the shared /usr/local/sbin.
        assert!(c.get("/usr/local/sbin").is_none());
        assert!(c.get("/usr/local/share/sendmail/cf/m4").is_some());
        assert!(c.get("/usr/local/share/sendmail").is_some());
        assert!(c.get("/usr/local/share/doc/sendmail").is_some(), "the port's DOCSDIR");
        // Never the base system's directories or files: only PREFIX, and
        // a path outside it is refused.
        assert!(c.entries.iter().all(|e| e.path.starts_with("/usr/local")), "only PREFIX");
        let mut bad = c.clone();
        bad.entries.insert(0, Entry { path: "/etc/mail/x".into(), ..bad.entries[0].clone() });
        assert!(super::super::check(&bad).unwrap_err().to_string().contains("outside PREFIX"));
    }
}

//! package: write the staged contents list as .deb, FreeBSD .pkg and
//! .tar.gz, byte-identical on every rebuild.
//!
//! Every format is a [`Packager`]: it decides only how its format writes
//! the shared list ([`crate::stage::Contents`]); paths, owners and modes come
//! from the list. The archive writers in [`crate::archive`] are deterministic: one
//! build time ([`crate::epoch`]), entries in list order (sorted by path),
//! numeric owners as recorded, gzip with mtime 0 and no file name.

pub(crate) mod bundle;
pub(crate) mod deb;
pub mod elf_abi;
pub mod pkg;
pub(crate) mod tarball;

use crate::stage::{self, Contents, Target};
use crate::{archive, configure::Configuration, epoch, meta, plan::Plan, progress, util};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A package format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Format {
    /// Debian binary package (.deb).
    Deb,
    /// FreeBSD pkg(8) package (.pkg).
    Pkg,
    /// The staged tree as .tar.gz, owners and modes in the headers.
    Tar,
}

#[derive(clap::Args, Clone, Debug, Default)]
pub struct PackageArgs {
    /// Formats, comma-separated [default: tar, plus deb on Debian-family hosts and pkg on FreeBSD].
    #[arg(long = "format", value_enum, value_delimiter = ',', value_name = "deb,pkg,tar")]
    pub formats: Vec<Format>,
    /// Output directory [default: <work-dir>/<version>/packages].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Label the .pkg with this ABI (e.g. FreeBSD:14:amd64) although its programs are not FreeBSD
    /// programs: for testing the package format only [default: what the programs' ELF notes say].
    #[arg(long, value_name = "ABI", value_parser = crate::host::abi_arg)]
    pub abi: Option<String>,
    /// Layout of the .tar.gz [default: freebsd on FreeBSD, debian elsewhere].
    #[arg(long, value_enum, value_name = "TARGET")]
    pub tar_target: Option<Target>,
    /// The Debian revision of the .deb (Policy 5.6.12: letters, digits, `+ . ~`); a later
    /// revision of the same build upgrades an earlier one [default: 0smtls1].
    #[arg(long, value_name = "R", value_parser = crate::meta::parse_revision)]
    pub revision: Option<String>,
    /// With --openssl-prefix: carry that OpenSSL's libraries in the Debian
    /// layout (/usr/lib/<multiarch>/smtls-sendmail) with a run path to them.
    #[arg(long)]
    pub bundle_openssl: bool,
    /// Test use (`repro`): change one staged file on purpose, so the
    /// comparison must fail.
    #[arg(long, hide = true)]
    pub inject_difference: bool,
}

impl PackageArgs {
    /// The Debian revision: `--revision`, else [`crate::meta::DEBIAN_REVISION`].
    pub fn revision(&self) -> &str {
        self.revision.as_deref().unwrap_or(crate::meta::DEBIAN_REVISION)
    }

    /// The formats to write: those asked for (sorted, once each), else
    /// this host's defaults.
    pub fn formats(&self) -> Vec<Format> {
        if self.formats.is_empty() {
            return default_formats(crate::tools::Os::detect());
        }
        let mut f = self.formats.clone();
        f.sort();
        f.dedup();
        f
    }
}

/// What can be refused before anything is built: a `--revision` only a
/// .deb carries, when no .deb is written.
pub fn precheck(args: &PackageArgs) -> Result<()> {
    if let (Some(r), false) = (&args.revision, args.formats().contains(&Format::Deb)) {
        bail!(
            "--revision {r} sets the Debian revision of the .deb, but no .deb is written (formats: {}); \
             add --format deb or drop --revision",
            args.formats().iter().map(|f| format!("{f:?}").to_lowercase()).collect::<Vec<_>>().join(",")
        );
    }
    Ok(())
}

/// The formats written when none are asked for.
pub fn default_formats(os: crate::tools::Os) -> Vec<Format> {
    match os {
        crate::tools::Os::DebianLike => vec![Format::Deb, Format::Tar],
        crate::tools::Os::FreeBsd => vec![Format::Pkg, Format::Tar],
        _ => vec![Format::Tar],
    }
}

/// What a packager gets: the list, the staged tree, the package's
/// metadata (resolved: Depends computed, the environment read), the build
/// time. A packager reads nothing else.
pub struct Input<'a> {
    pub contents: &'a Contents,
    /// The staged tree; an entry's bytes are at `entry.staged(root)`.
    pub root: &'a Path,
    pub info: &'a meta::Info,
    /// Seconds since the epoch, for every timestamp in the archive.
    pub time: u64,
}

impl Input<'_> {
    /// The bytes of a file entry, from the staged tree.
    pub fn bytes(&self, e: &stage::Entry) -> Result<Vec<u8>> {
        let p = e.staged(self.root);
        std::fs::read(&p).with_context(|| format!("reading staged {}", p.display()))
    }
}

/// One package format.
pub trait Packager {
    fn format(&self) -> Format;
    /// The layout this format installs.
    fn target(&self) -> Target;
    fn file_name(&self, input: &Input) -> Result<String>;
    /// The whole artifact; pure given the input (no clock, no umask, no
    /// locale, no environment, no other process).
    fn build(&self, input: &Input) -> Result<Vec<u8>>;
}

/// The package's metadata for the staged `layout` at `root`, resolved
/// before any writer runs: the maintainer from the environment, the
/// relations from the option table, and, for a .deb, Depends from
/// dpkg-shlibdeps over the staged ELF files.
pub fn resolve_info(
    version: &str,
    revision: &str,
    contents: &Contents,
    root: &Path,
    with_depends: bool,
) -> Result<meta::Info> {
    let mut info = meta::Info::new(version, revision, &contents.options)?;
    info.relations = deb::control::relations(&contents.options)?;
    if with_depends {
        let scratch = root.parent().unwrap_or(root).join(format!("shlibdeps-{}", std::process::id()));
        info.relations.depends = deb::shlibdeps::depends(contents, root, &scratch)?;
    }
    Ok(info)
}

/// The packager for each requested format.
pub fn packagers(formats: &[Format], args: &PackageArgs) -> Result<Vec<Box<dyn Packager>>> {
    let mut out: Vec<Box<dyn Packager>> = vec![];
    for f in formats {
        out.push(match f {
            Format::Deb => Box::new(deb::Deb::for_host()?),
            Format::Pkg => Box::new(pkg::Pkg::new(args.abi.clone())?),
            Format::Tar => Box::new(tarball::Tarball { target: args.tar_target.unwrap_or_else(Target::host) }),
        });
    }
    Ok(out)
}

/// Before anything is staged or written: the built programs must be
/// FreeBSD programs for a .pkg, unless `--abi` overrides (said aloud).
pub fn check_pkg_abi(plan: &Plan, args: &PackageArgs) -> Result<()> {
    let mut files = vec![];
    for name in crate::build::PROGRAMS {
        let p = plan.program(name);
        let bytes = std::fs::read(&p)
            .with_context(|| format!("reading {}: run `cargo xtask build` (or dist) first", p.display()))?;
        files.push((p, bytes));
    }
    let elf = elf_abi::read_all(files.iter().map(|(p, b)| (p.as_path(), b.clone())))?;
    let (abi, note) = pkg::decide_abi(&elf, args.abi.as_deref())?;
    match note {
        Some(n) => progress::info(&format!("warning: {n}")),
        None => progress::info(&format!("the programs are {abi} programs: the .pkg says so")),
    }
    Ok(())
}

/// Numeric ids recorded in archives for the names the contents list uses:
/// root and wheel are 0; smmsp is 25, as in FreeBSD's base system.
pub fn numeric_id(name: &str) -> Result<u64> {
    match name {
        "root" | "wheel" => Ok(0),
        "smmsp" => Ok(25),
        other => bail!("no numeric id is known for {other:?}: add it to package::numeric_id"),
    }
}

/// The file `--inject-difference` changes: the sendmail.mc of the layout
/// (`/etc/mail/sendmail.mc`, or its sample under PREFIX on FreeBSD).
pub const INJECT_NAME: &str = "sendmail.mc";

/// An artifact written by [`run`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct Artifact {
    pub format: String,
    pub path: PathBuf,
    pub sha256: String,
}

/// What the packages depend on, for `dist` to skip packaging when nothing
/// changed: the verified build, the configuration (options change the
/// contents), the templates, the build time and the arguments.
pub fn stamp_inputs(plan: &Plan, args: &PackageArgs) -> Result<crate::stamp::Inputs> {
    let mut i = crate::stamp::Inputs::new("package");
    let verified = crate::stamp::load(&plan.work_dir, "verify")
        .map_or_else(|| "no verified build".into(), |s| format!("sha256:{}", s.digest));
    i.add("verify", verified);
    i.add_file_content("configuration", &plan.configuration_file());
    let dir = crate::template::dir();
    let mut templates: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    templates.sort();
    for t in &templates {
        i.add_file_content(&format!("template {}", t.display()), t);
    }
    i.add("SOURCE_DATE_EPOCH", std::env::var("SOURCE_DATE_EPOCH").unwrap_or_default());
    i.add("maintainer", crate::meta::maintainer()?);
    i.add("Debian revision", args.revision().to_string());
    i.add("arguments", format!("{args:?}"));
    Ok(i)
}

/// The output directory's SHA256SUMS and every artifact it names.
pub fn outputs(plan: &Plan, args: &PackageArgs) -> Vec<PathBuf> {
    let out_dir = args.out.clone().unwrap_or_else(|| plan.work_dir.join("packages"));
    let sums = out_dir.join("SHA256SUMS");
    let mut v: Vec<PathBuf> = std::fs::read_to_string(&sums)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(_, name)| out_dir.join(name)))
        .collect();
    v.push(sums);
    v
}

/// Stages each layout the formats need and writes the packages, for the
/// build `configure` described and the one build time.
pub fn run(plan: &Plan, args: &PackageArgs, config: &Configuration, time: &epoch::BuildTime) -> Result<Vec<Artifact>> {
    precheck(args)?;
    crate::stamp::forget(&plan.work_dir, "package")?;
    let formats = args.formats();
    let out_dir = args.out.clone().unwrap_or_else(|| plan.work_dir.join("packages"));
    let names: Vec<String> = formats.iter().map(|f| format!("{f:?}").to_lowercase()).collect();
    let t = progress::Timer::start(format!("package sendmail {} as {}", plan.version, names.join(", ")));
    progress::info(&format!("build time {}", time.describe()));
    let packagers = packagers(&formats, args)?;
    if formats.contains(&Format::Pkg) {
        check_pkg_abi(plan, args)?;
    }
    bundle::check(config, &formats, args.bundle_openssl)?;

    let version = plan.version.to_string();
    // The changelog the stage writes names the version and the maintainer.
    let stage_info = meta::Info::new(&version, args.revision(), &config.options)?;
    let mut staged: BTreeMap<Target, (PathBuf, Contents, meta::Info)> = BTreeMap::new();
    for p in &packagers {
        if let std::collections::btree_map::Entry::Vacant(slot) = staged.entry(p.target()) {
            let (root, mut contents) = stage::stage(plan, p.target(), config, time, &stage_info)?;
            if let (Some(prefix), true, Target::Debian) = (&config.openssl.prefix, args.bundle_openssl, p.target()) {
                let multiarch =
                    crate::host::multiarch().context("--bundle-openssl: no multiarch triplet for this host")?;
                let private = bundle::private_dir(&multiarch);
                let lib = crate::configure::probe::prefix_flags(prefix).1;
                for f in bundle::bundle(&root, &mut contents, &lib, &private)? {
                    progress::info(&format!(
                        "bundled {} (RUNPATH {} in the staged programs)",
                        f.display(),
                        private.display()
                    ));
                }
            }
            if args.inject_difference {
                inject_difference(&root, &contents)?;
            }
            let debs = packagers.iter().any(|q| q.format() == Format::Deb && q.target() == p.target());
            let info = resolve_info(&version, args.revision(), &contents, &root, debs)?;
            slot.insert((root, contents, info));
        }
    }
    // Every artifact and SHA256SUMS go into a fresh directory beside the
    // output directory, which then replaces it in one step: SHA256SUMS
    // always matches what lies beside it, whenever the run stops.
    let out_dir = real_out_dir(&out_dir)?;
    let parent = out_dir.parent().context("the output directory has no parent")?.to_path_buf();
    std::fs::create_dir_all(&parent).with_context(|| format!("creating {}", parent.display()))?;
    let out_name = out_dir.file_name().and_then(|n| n.to_str()).context("output directory name")?.to_string();
    remove_stale_outputs(&parent, &out_name)?;
    crate::plan::clean_leftovers(&out_dir)?;
    let fresh = parent.join(format!(".{out_name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    let _guard = util::RemoveOnDrop(fresh.clone());
    std::fs::create_dir(&fresh).with_context(|| format!("creating {}", fresh.display()))?;
    let build_deps = formats
        .contains(&Format::Deb)
        .then(|| deb::buildinfo::installed(&deb::buildinfo::build_packages(&config.options)));
    let mut artifacts = vec![];
    for p in &packagers {
        let (root, contents, info) = &staged[&p.target()];
        let input = Input { contents, root, info, time: time.secs };
        let name = p.file_name(&input)?;
        let bytes = p.build(&input).with_context(|| format!("writing {name}"))?;
        util::write_atomic(&fresh.join(&name), &bytes)?;
        let sha256 = crate::digest::sha256_hex(&bytes);
        let path = out_dir.join(&name);
        progress::info(&format!("{sha256}  {} ({} bytes)", path.display(), bytes.len()));
        artifacts.push(Artifact { format: format!("{:?}", p.format()).to_lowercase(), path, sha256 });
        if let (Format::Deb, Some(installed)) = (p.format(), &build_deps) {
            // A rebuilder's record of what made this .deb.
            let arch = crate::host::debian_arch()?;
            let name = format!("{}.buildinfo", name.trim_end_matches(".deb"));
            let text = deb::buildinfo::text(info, &arch, &p.file_name(&input)?, &bytes, installed, time.secs)?;
            util::write_atomic(&fresh.join(&name), text.as_bytes())?;
            let sha256 = crate::digest::sha256_hex(text.as_bytes());
            artifacts.push(Artifact { format: "buildinfo".into(), path: out_dir.join(&name), sha256 });
        }
    }
    let sums: String = artifacts
        .iter()
        .map(|a| format!("{}  {}\n", a.sha256, a.path.file_name().unwrap_or_default().to_string_lossy()))
        .collect();
    util::write_atomic(&fresh.join("SHA256SUMS"), sums.as_bytes())?;
    let ours: Vec<String> =
        artifacts.iter().map(|a| a.path.file_name().unwrap_or_default().to_string_lossy().into()).collect();
    keep_foreign_files(&out_dir, &fresh, &ours)?;
    util::replace_dir(&fresh, &out_dir)?;
    crate::stamp::record(&plan.work_dir, &stamp_inputs(plan, args)?, &format!("{} artifacts", artifacts.len()))?;
    t.done();
    Ok(artifacts)
}

/// The output directory with a link at its own name resolved (the user may
/// point `--out` at a link; the swap must replace the real directory).
fn real_out_dir(dir: &Path) -> Result<PathBuf> {
    let dir = std::path::absolute(dir).with_context(|| format!("making {} absolute", dir.display()))?;
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(&dir).with_context(|| format!("resolving the link {}", dir.display()))
        }
        Ok(m) if !m.is_dir() => bail!("--out {} is not a directory", dir.display()),
        _ => Ok(dir),
    }
}

/// Removes `.<out>.partial-PID` directories (and the old one set aside by
/// a non-Linux swap) whose process is gone.
fn remove_stale_outputs(parent: &Path, out_name: &str) -> Result<()> {
    let prefix = format!(".{out_name}.");
    let Ok(rd) = std::fs::read_dir(parent) else { return Ok(()) };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with(&prefix) {
            continue;
        }
        let Some(pid) = util::leftover_pid(&name) else { continue };
        if !util::process_alive(pid) {
            util::make_writable_and_remove(&e.path()).with_context(|| format!("removing {}", e.path().display()))?;
            progress::info(&format!("removed {}, left by process {pid} which is gone", e.path().display()));
        }
    }
    Ok(())
}

/// Files in the output directory that this run does not write and the last
/// SHA256SUMS did not name (the user's own) are carried over into the new
/// directory by hard link; the last run's artifacts are not. A foreign
/// subdirectory is refused: the output directory is replaced whole.
fn keep_foreign_files(out_dir: &Path, fresh: &Path, ours: &[String]) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(out_dir) else { return Ok(()) };
    let previous: Vec<String> = std::fs::read_to_string(out_dir.join("SHA256SUMS"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(_, n)| n.to_string()))
        .collect();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "SHA256SUMS" || ours.contains(&name) || previous.contains(&name) {
            continue;
        }
        let ft = e.file_type()?;
        if ft.is_dir() {
            bail!(
                "the output directory {} holds a directory {name} that smtls did not write; the package step \
                 replaces the output directory whole, so give --out a directory of its own",
                out_dir.display()
            );
        }
        std::fs::hard_link(e.path(), fresh.join(&name))
            .with_context(|| format!("keeping {} in the new output directory", e.path().display()))?;
    }
    Ok(())
}

/// What a contents entry is in a tar archive: a directory, a symbolic
/// link, or a regular file with the bytes `read` gives (called only then).
pub fn tar_data(e: &stage::Entry, read: impl FnOnce() -> Result<Vec<u8>>) -> Result<archive::TarData> {
    Ok(match &e.kind {
        stage::Kind::Dir => archive::TarData::Dir,
        stage::Kind::Symlink { target } => archive::TarData::Symlink(target.to_string_lossy().into()),
        stage::Kind::File { .. } | stage::Kind::Config { .. } => archive::TarData::File(read()?),
    })
}

/// A member's name in the .deb's data.tar and the .tar.gz: `./<path>`,
/// with a trailing `/` for a directory.
pub fn member_name(e: &stage::Entry) -> String {
    let rel = e.relative().to_string_lossy();
    match e.kind {
        stage::Kind::Dir => format!("./{rel}/"),
        _ => format!("./{rel}"),
    }
}

/// One contents entry as a tar member called `name` with `data`, and the
/// owner, group and mode the list records (numeric ids as on FreeBSD).
pub fn tar_member(input: &Input, e: &stage::Entry, name: String, data: archive::TarData) -> Result<archive::TarMember> {
    Ok(archive::TarMember {
        name,
        data,
        meta: archive::Meta {
            mode: e.mode,
            uid: numeric_id(&e.owner)?,
            gid: numeric_id(&e.group)?,
            uname: e.owner.clone(),
            gname: e.group.clone(),
            mtime: input.time,
        },
    })
}

fn inject_difference(root: &Path, contents: &Contents) -> Result<()> {
    use std::io::Write;
    let e = contents
        .entries
        .iter()
        .find(|e| {
            let name = e.path.file_name().unwrap_or_default().to_string_lossy();
            name == INJECT_NAME || name == format!("{INJECT_NAME}.sample")
        })
        .with_context(|| format!("the {} layout has no {INJECT_NAME}", contents.target))?;
    let p = e.staged(root);
    progress::info(&format!("--inject-difference: changing {} on purpose", p.display()));
    let mut f =
        std::fs::OpenOptions::new().append(true).open(&p).with_context(|| format!("opening {}", p.display()))?;
    f.write_all(b"dnl difference injected by smtls repro --inject-difference\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_per_host() {
        use crate::tools::Os;
        assert_eq!(default_formats(Os::DebianLike), [Format::Deb, Format::Tar]);
        assert_eq!(default_formats(Os::FreeBsd), [Format::Pkg, Format::Tar]);
        assert_eq!(default_formats(Os::FedoraLike), [Format::Tar]);
    }

    #[test]
    fn ids() {
        assert_eq!(numeric_id("wheel").unwrap(), 0);
        assert_eq!(numeric_id("smmsp").unwrap(), 25);
        assert!(numeric_id("nobody").is_err());
    }
}

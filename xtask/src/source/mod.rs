//! source: source packages a build farm rebuilds with its own tools alone
//! (no Rust, no smtls, no network): Debian's `.dsc` for buildd, sbuild and
//! OBS; others beside it.
//!
//! Everything a generator needs is resolved here first ([`Input`]: the
//! verified upstream tarball and its signature, the package's metadata,
//! the contents list, the build options); a generator is a pure function
//! from that input to named files ([`Generator`]). The files go into a
//! fresh directory that replaces `<work>/source/` in one step, so a failed
//! run leaves the previous outputs whole.
//!
//! Adding a format: a module with a [`Generator`], one variant of
//! [`Format`] and one arm in [`generator`].

pub mod debian;
pub mod openpgp;
pub mod rpm;

use crate::stage::{self, Contents, Target};
use crate::{configure::Configuration, epoch, fetch, meta, plan::Plan, progress, util};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A source package format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Format {
    /// Debian source package (.dsc, .orig.tar.gz, .debian.tar.xz) for buildd, sbuild, OBS.
    Debian,
    /// RPM spec and source RPM for mock, Koji, Copr, OBS.
    Rpm,
}

/// `cargo xtask source-package`.
#[derive(clap::Args, Clone, Debug)]
pub struct SourceArgs {
    /// The source package format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The Debian revision (Policy 5.6.12: letters, digits, `+ . ~`) [default: 0smtls1].
    #[arg(long, value_name = "R", value_parser = crate::meta::parse_revision)]
    pub revision: Option<String>,
    /// Output directory [default: <work-dir>/<version>/source].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The upstream release as fetched and proven.
pub struct Upstream {
    /// The verified tarball (its bytes are the pinned SHA-256).
    pub tarball: PathBuf,
    /// Its detached signature, when one was checked good against the pinned key.
    pub signature: Option<PathBuf>,
    /// The key that made that signature, alone, armored (what
    /// debian/upstream/signing-key.asc holds).
    pub signing_key: Option<String>,
    /// Why there is no checked signature, when there is none.
    pub unsigned_because: Option<String>,
}

/// What a generator gets, resolved before it runs.
pub struct Input<'a> {
    pub plan: &'a Plan,
    pub info: &'a meta::Info,
    pub upstream: &'a Upstream,
    /// The contents list of the format's layout, for the build options on.
    pub contents: &'a Contents,
    pub config: &'a Configuration,
    /// Seconds since the epoch (the changelog's date, every mtime).
    pub time: u64,
    /// A file of the verified, unpacked source tree (path relative to it).
    pub read: &'a dyn Fn(&str) -> Result<Vec<u8>>,
    /// The configured site.config.m4 (its fragments are the features).
    pub site_config: String,
    /// Every subdirectory to build, in `build`'s priority order.
    pub subdirs: Vec<String>,
    /// The libraries each subdirectory links (from its configured Makefile).
    pub links: BTreeMap<String, Vec<String>>,
}

/// One source package format: named files from the input, nothing else read.
pub trait Generator {
    /// The layout whose contents list the package installs.
    fn target(&self) -> Target;
    /// What the contents list names the multiarch directory (a variable of
    /// the farm's build, never this host's triplet).
    fn multiarch(&self) -> Option<String>;
    /// (file name, bytes) of every output file.
    fn files(&self, input: &Input) -> Result<Vec<(String, Vec<u8>)>>;
    /// Whether an output file of this name is this format's, so a rerun
    /// replaces it; the other formats' files in the directory are kept.
    fn owns(&self, file: &str) -> bool;
}

/// The generator of a format.
pub fn generator(format: Format) -> Box<dyn Generator> {
    match format {
        Format::Debian => Box::new(debian::Debian),
        Format::Rpm => Box::new(rpm::Rpm),
    }
}

/// `cargo xtask source-package`: resolve, generate, replace the outputs.
pub fn run(plan: &Plan, args: &SourceArgs, config: &Configuration, time: &epoch::BuildTime) -> Result<Vec<PathBuf>> {
    let out = args.out.clone().unwrap_or_else(|| plan.work_dir.join("source"));
    let t = progress::Timer::start(format!("source package of sendmail {} ({:?})", plan.version, args.format));
    let gen = generator(args.format);
    let upstream = upstream(plan)?;
    if let Some(why) = &upstream.unsigned_because {
        progress::info(&format!(
            "warning: no verified upstream signature ({why}): the source package will have no \
             .orig.tar.gz.asc, so dpkg-source and uscan cannot check the tarball against the pinned key"
        ));
    }
    let features = stage::Features { options: config.options.clone(), multiarch: gen.multiarch() };
    let contents = stage::contents_with(plan, gen.target(), &features)?;
    let revision = args.revision.as_deref().unwrap_or(meta::DEBIAN_REVISION);
    let mut info = meta::Info::new(&plan.version.to_string(), revision, &config.options)?;
    info.relations = crate::package::deb::control::relations(&config.options)?;
    let src = plan.source_dir();
    let read = |rel: &str| -> Result<Vec<u8>> {
        let p = src.join(rel);
        std::fs::read(&p)
            .with_context(|| format!("reading sendmail's {rel} ({}): run `cargo xtask fetch`", p.display()))
    };
    let site_config =
        String::from_utf8(read("devtools/Site/site.config.m4")?).context("site.config.m4 is not UTF-8")?;
    let subdirs: Vec<String> =
        crate::build::in_priority_order(&crate::build::subdirs(config)).iter().map(|s| s.to_string()).collect();
    let mut links = BTreeMap::new();
    for sub in &subdirs {
        let mk = plan.obj_dir().join(sub).join("Makefile");
        if let Ok(text) = std::fs::read_to_string(&mk) {
            if let Some(libs) = crate::build::graph::smdeplibs(&text, sub) {
                links.insert(sub.clone(), libs);
            }
        }
    }
    let input = Input {
        plan,
        info: &info,
        upstream: &upstream,
        contents: &contents,
        config,
        time: time.secs,
        read: &read,
        site_config,
        subdirs,
        links,
    };
    let files = gen.files(&input)?;
    let written = write_all(&out, &files, |f| gen.owns(f))?;
    for p in &written {
        progress::info(&p.display().to_string());
    }
    t.done();
    Ok(written)
}

/// The verified tarball (unpacked, for the contents list) and, when its
/// signature checked good, the signature and the key that made it.
fn upstream(plan: &Plan) -> Result<Upstream> {
    let fetched = fetch::run(plan, &fetch::FetchArgs::default())?;
    let sig = fetch::cached_signature(&fetched.tarball);
    let (signature, unsigned_because, by) = match (&fetched.signature, sig) {
        (fetch::checksum::Signature::Verified(by), Some(s)) => (Some(s), None, by.clone()),
        (fetch::checksum::Signature::Verified(_), None) => {
            (None, Some("the checked signature is not cached".to_string()), String::new())
        }
        (fetch::checksum::Signature::NotChecked(why), _) => (None, Some(why.clone()), String::new()),
    };
    let signing_key = match &signature {
        Some(_) => {
            let fpr = signer(&by).with_context(|| format!("no key fingerprint in the signature check's {by:?}"))?;
            Some(openpgp::pinned_key(&fpr)?)
        }
        None => None,
    };
    Ok(Upstream { tarball: fetched.tarball, signature, signing_key, unsigned_because })
}

/// The 40-hex-digit fingerprint in the signature check's "by ... KEY" text.
pub fn signer(by: &str) -> Option<String> {
    by.split(|c: char| !c.is_ascii_hexdigit()).find(|w| w.len() == 40).map(|w| w.to_ascii_uppercase())
}

/// Writes `files` into a fresh directory beside `out`, with the files of
/// `out` that are not `ours` carried over, then swaps it in: `out` holds
/// either the previous outputs or all the new ones, and another format's
/// outputs stay.
pub fn write_all(out: &Path, files: &[(String, Vec<u8>)], ours: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let out = std::path::absolute(out).with_context(|| format!("making {} absolute", out.display()))?;
    let parent = out.parent().context("the output directory has no parent")?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    crate::plan::clean_leftovers(parent)?;
    let name = out.file_name().and_then(|n| n.to_str()).context("output directory name")?;
    let fresh = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    let _guard = util::RemoveOnDrop(fresh.clone());
    std::fs::create_dir(&fresh).with_context(|| format!("creating {}", fresh.display()))?;
    for (file, bytes) in files {
        if file.is_empty() || file.contains('/') || file.starts_with('.') {
            bail!("{file:?} is not a plain file name: a generator names files of the output directory only");
        }
        util::write_atomic(&fresh.join(file), bytes)?;
    }
    carry_over(&out, &fresh, ours)?;
    util::replace_dir(&fresh, &out)?;
    Ok(files.iter().map(|(f, _)| out.join(f)).collect())
}

/// Copies the plain files of `out` that are not `ours` into `fresh`.
fn carry_over(out: &Path, fresh: &Path, ours: impl Fn(&str) -> bool) -> Result<()> {
    let entries = match std::fs::read_dir(out) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", out.display())),
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", out.display()))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let kept = fresh.join(&name);
        if ours(&name) || kept.exists() || !entry.file_type()?.is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path()).with_context(|| format!("reading {}", entry.path().display()))?;
        util::write_atomic(&kept, &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_leaves_the_previous_outputs() {
        let dir = std::env::temp_dir().join(format!("smtls-source-{}", std::process::id()));
        let out = dir.join("source");
        let all = |_: &str| true;
        write_all(&out, &[("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())], all).unwrap();
        // A name that cannot be written fails the run half way.
        let bad = [("a".to_string(), b"new".to_vec()), ("no/such/dir/c".to_string(), vec![])];
        assert!(write_all(&out, &bad, all).is_err());
        assert_eq!(std::fs::read(out.join("a")).unwrap(), b"1");
        assert_eq!(std::fs::read(out.join("b")).unwrap(), b"2");
        write_all(&out, &[("c".into(), b"3".to_vec())], all).unwrap();
        assert!(!out.join("a").exists(), "a rerun replaces the outputs as a whole");
        // Another format's run keeps what is not its own.
        write_all(&out, &[("d".into(), b"4".to_vec())], |f| f == "d").unwrap();
        assert_eq!(std::fs::read(out.join("c")).unwrap(), b"3");
        assert_eq!(std::fs::read(out.join("d")).unwrap(), b"4");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, [std::ffi::OsString::from("source")], "no partial directory is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

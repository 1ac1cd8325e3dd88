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
pub mod key;
pub mod rpm;

use crate::stage::{self, Contents, Target};
use crate::{configure::Configuration, epoch, fetch, meta, plan::Plan, progress, util};
use anyhow::{bail, Context, Result};
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
}

/// One source package format: named files from the input, nothing else read.
pub trait Generator {
    /// The layout whose contents list the package installs.
    fn target(&self) -> Target;
    /// (file name, bytes) of every output file.
    fn files(&self, input: &Input) -> Result<Vec<(String, Vec<u8>)>>;
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
    let contents = stage::contents(plan, gen.target(), config)?;
    let revision = args.revision.as_deref().unwrap_or(meta::DEBIAN_REVISION);
    let mut info = meta::Info::new(&plan.version.to_string(), revision, &config.options)?;
    info.relations = crate::package::deb::control::relations(&config.options)?;
    let input = Input { plan, info: &info, upstream: &upstream, contents: &contents, config, time: time.secs };
    let files = gen.files(&input)?;
    let written = write_all(&out, &files)?;
    for p in &written {
        progress::info(&p.display().to_string());
    }
    t.done();
    Ok(written)
}

/// The verified tarball and, when checked good, its signature.
fn upstream(plan: &Plan) -> Result<Upstream> {
    let fetched = fetch::obtain(plan, &fetch::FetchArgs::default())?;
    let sig = fetch::cached_signature(&fetched.tarball);
    let (signature, unsigned_because) = match (&fetched.signature, sig) {
        (fetch::checksum::Signature::Verified(_), Some(s)) => (Some(s), None),
        (fetch::checksum::Signature::Verified(_), None) => (None, Some("the checked signature is not cached".into())),
        (fetch::checksum::Signature::NotChecked(why), _) => (None, Some(why.clone())),
    };
    Ok(Upstream { tarball: fetched.tarball, signature, unsigned_because })
}

/// Writes `files` into a fresh directory beside `out`, then swaps it in:
/// `out` holds either the previous outputs or all the new ones.
pub fn write_all(out: &Path, files: &[(String, Vec<u8>)]) -> Result<Vec<PathBuf>> {
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
    util::replace_dir(&fresh, &out)?;
    Ok(files.iter().map(|(f, _)| out.join(f)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_run_leaves_the_previous_outputs() {
        let dir = std::env::temp_dir().join(format!("smtls-source-{}", std::process::id()));
        let out = dir.join("source");
        write_all(&out, &[("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())]).unwrap();
        // A name that cannot be written fails the run half way.
        let bad = [("a".to_string(), b"new".to_vec()), ("no/such/dir/c".to_string(), vec![])];
        assert!(write_all(&out, &bad).is_err());
        assert_eq!(std::fs::read(out.join("a")).unwrap(), b"1");
        assert_eq!(std::fs::read(out.join("b")).unwrap(), b"2");
        write_all(&out, &[("c".into(), b"3".to_vec())]).unwrap();
        assert!(!out.join("a").exists(), "a rerun replaces the outputs as a whole");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, [std::ffi::OsString::from("source")], "no partial directory is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

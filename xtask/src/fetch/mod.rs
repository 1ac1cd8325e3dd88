//! fetch: get the pinned tarball from the first source that has it, prove
//! it is the right one, then unpack it.

pub mod checksum;
pub mod debian;
pub mod local;
pub mod unpack;
pub mod upstream;

use crate::{plan::Plan, progress};
use anyhow::{bail, Context, Result};
use checksum::Signature;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Clone, Debug)]
pub struct FetchArgs {
    /// Where to get the tarball: auto (cache, upstream, Debian, then --mirror
    /// locations), cache, upstream, debian, or a file, directory or URL.
    #[arg(long, default_value = "auto", value_name = "SOURCE")]
    pub from: String,
    /// Extra file, directory (ports DISTDIR) or URL tried last by `auto`.
    #[arg(long, value_name = "PATH|URL")]
    pub mirror: Vec<String>,
    /// Base URL of sendmail's distribution site.
    #[arg(long, env = "SMTLS_UPSTREAM_URL", default_value = upstream::DEFAULT_URL, value_name = "URL")]
    pub(crate) upstream_url: String,
    /// Fail unless the upstream OpenPGP signature is checked and good.
    #[arg(long)]
    pub(crate) require_signature: bool,
    /// Debian suite to look for the source package in (repeatable) [default:
    /// the release's from releases.toml; for others, the host's suites and
    /// the archive's unstable, testing, stable, oldstable].
    #[arg(long = "debian-suite", value_name = "SUITE")]
    pub(crate) debian_suites: Vec<String>,
}

impl Default for FetchArgs {
    fn default() -> Self {
        FetchArgs {
            from: "auto".into(),
            mirror: vec![],
            upstream_url: upstream_url_default(),
            require_signature: false,
            debian_suites: vec![],
        }
    }
}

fn upstream_url_default() -> String {
    std::env::var("SMTLS_UPSTREAM_URL").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| upstream::DEFAULT_URL.into())
}

/// One way of obtaining the tarball.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Cache,
    Upstream(String),
    Debian,
    Location(String),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Cache => "cache".into(),
            Source::Upstream(u) => format!("upstream {u}"),
            Source::Debian => "debian".into(),
            Source::Location(l) => l.clone(),
        }
    }
}

/// The sources to try, in order, for `--from`.
pub fn chain(args: &FetchArgs) -> Vec<Source> {
    let up = Source::Upstream(args.upstream_url.clone());
    match args.from.as_str() {
        "auto" => {
            let mut v = vec![Source::Cache, up, Source::Debian];
            v.extend(args.mirror.iter().cloned().map(Source::Location));
            v
        }
        "cache" => vec![Source::Cache],
        "upstream" => vec![up],
        "debian" => vec![Source::Debian],
        other => vec![Source::Location(other.to_string())],
    }
}

/// A downloaded, not yet trusted, tarball.
pub struct Candidate {
    pub tarball: PathBuf,
    pub signature: Option<PathBuf>,
    pub origin: String,
}

#[derive(Debug, serde::Serialize)]
pub struct Fetched {
    pub tarball: PathBuf,
    pub origin: String,
    pub signature: Signature,
}

/// Obtains and verifies the tarball in the cache; nothing is unpacked.
pub(crate) fn obtain(plan: &Plan, args: &FetchArgs) -> Result<Fetched> {
    let cached = plan.cached_tarball();
    let distfiles = cached.parent().expect("cached tarball has a parent").to_path_buf();
    let _lock =
        crate::plan::lock(&distfiles.join(format!("{}.lock", plan.release.upstream_file)), "the download cache")?;
    remove_dead_scratch(&plan.cache_dir.join("tmp"));
    let mut failures = Vec::new();
    for source in chain(args) {
        match attempt(plan, args, &source) {
            Ok(f) => {
                if source != Source::Cache {
                    progress::info(&format!("verified and cached {}", f.tarball.display()));
                }
                return Ok(f);
            }
            Err(e) => {
                let line = format!("{}: {e:#}", source.name());
                progress::info(&format!("tried {line}"));
                failures.push(line);
            }
        }
    }
    bail!(
        "could not obtain a verified sendmail {} tarball ({}, {}); every source failed:\n  - {}",
        plan.version,
        plan.release.upstream_file,
        plan.release.sums(),
        failures.join("\n  - ")
    )
}

fn attempt(plan: &Plan, args: &FetchArgs, source: &Source) -> Result<Fetched> {
    let cached = plan.cached_tarball();
    if *source == Source::Cache {
        if !cached.exists() {
            bail!("{} is not there yet", cached.display());
        }
        if let Err(e) = checksum::check_tarball(&cached, &plan.release) {
            let aside = cached.with_extension("gz.corrupt");
            let _ = std::fs::rename(&cached, &aside);
            bail!("{e:#}; refused and moved aside to {}", aside.display());
        }
        let sig = cached_signature(&cached);
        let scratch = plan.cache_dir.join("tmp");
        std::fs::create_dir_all(&scratch)?;
        let signature = checked_signature(plan, args, &cached, sig.as_deref(), &scratch)?;
        return Ok(Fetched { tarball: cached, origin: "cache".into(), signature });
    }
    let scratch = plan.cache_dir.join("tmp").join(format!("{}-{}", std::process::id(), nanos()));
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let result = (|| {
        let cand = match source {
            Source::Upstream(base) => upstream::download(plan, base, &scratch)?,
            Source::Debian => debian::download(plan, &scratch, &args.debian_suites)?,
            Source::Location(l) => local::fetch(plan, l, &scratch)?,
            Source::Cache => unreachable!(),
        };
        checksum::check_tarball(&cand.tarball, &plan.release)?;
        let signature = checked_signature(plan, args, &cand.tarball, cand.signature.as_deref(), &scratch)?;
        if let Some(sig) = &cand.signature {
            let ext = sig.extension().and_then(|e| e.to_str()).unwrap_or("sig");
            for old in ["sig", "asc"] {
                let _ = std::fs::remove_file(format!("{}.{old}", cached.display()));
            }
            std::fs::rename(sig, format!("{}.{ext}", cached.display()))?;
        }
        std::fs::rename(&cand.tarball, &cached).with_context(|| format!("moving into {}", cached.display()))?;
        Ok(Fetched { tarball: cached.clone(), origin: cand.origin, signature })
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn checked_signature(
    plan: &Plan,
    args: &FetchArgs,
    file: &Path,
    sig: Option<&Path>,
    scratch: &Path,
) -> Result<Signature> {
    let s = checksum::check_signature(file, sig, &plan.release, scratch)?;
    if let (Signature::NotChecked(why), true) = (&s, args.require_signature) {
        bail!("--require-signature: the OpenPGP signature was not checked: {why}");
    }
    Ok(s)
}

/// The detached signature (`.sig` or `.asc`) cached beside the tarball.
pub(crate) fn cached_signature(cached: &Path) -> Option<PathBuf> {
    ["sig", "asc"].iter().map(|e| PathBuf::from(format!("{}.{e}", cached.display()))).find(|p| p.is_file())
}

/// Download scratch directories (`PID-NANOS`) of runs that are gone: a
/// killed download leaves its directory behind.
fn remove_dead_scratch(tmp: &Path) {
    let Ok(rd) = std::fs::read_dir(tmp) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split_once('-').and_then(|(p, _)| p.parse::<u32>().ok()) else { continue };
        if !crate::util::process_alive(pid) && crate::util::make_writable_and_remove(&e.path()).is_ok() {
            progress::info(&format!("removed {}, left by a download that is gone", e.path().display()));
        }
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// Unpacks the verified tarball into the work directory, unless the same
/// tarball is unpacked there already. The tarball is verified again first.
pub(crate) fn ensure_unpacked(plan: &Plan, fetched: &Fetched) -> Result<PathBuf> {
    let src_root = plan.work_dir.join("src");
    let stamp = crate::plan::source_sha256_file(&plan.work_dir);
    let source_dir = plan.source_dir();
    let stamp_is_file = std::fs::symlink_metadata(&stamp).map(|m| m.is_file()).unwrap_or(false);
    if stamp_is_file
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(plan.release.source_id().as_str())
        && source_dir.is_dir()
    {
        progress::info(&format!("source already unpacked in {}", source_dir.display()));
        return Ok(source_dir);
    }
    checksum::check_tarball(&fetched.tarball, &plan.release)?;
    std::fs::create_dir_all(&plan.work_dir).with_context(|| format!("creating {}", plan.work_dir.display()))?;
    crate::plan::clean_leftovers(&plan.work_dir)?;
    let partial = plan.work_dir.join(format!("src.partial-{}", std::process::id()));
    let _ = crate::util::make_writable_and_remove(&partial);
    let top = format!("sendmail-{}", plan.version);
    let n = unpack::unpack(&fetched.tarball, &partial, Some(&top))
        .with_context(|| format!("unpacking {}", fetched.tarball.display()))?;
    let finish = || -> Result<()> {
        let build = partial.join(&top).join("Build");
        if !std::fs::symlink_metadata(&build).map(|m| m.is_file()).unwrap_or(false) {
            bail!(
                "{} does not hold {top}/Build as a file: not a sendmail {} source tarball (does its top directory \
                 match --version?)",
                fetched.tarball.display(),
                plan.version
            );
        }
        crate::util::write_in_tree(
            &partial,
            &partial.join(".smtls-source-sha256"),
            plan.release.source_id().as_bytes(),
        )?;
        crate::util::require_real_dir(&src_root)?;
        if src_root.exists() {
            crate::util::make_writable_and_remove(&src_root)
                .with_context(|| format!("removing the old {}", src_root.display()))?;
        }
        std::fs::rename(&partial, &src_root).with_context(|| format!("moving into {}", src_root.display()))
    };
    if let Err(e) = finish() {
        let _ = crate::util::make_writable_and_remove(&partial);
        return Err(e);
    }
    progress::info(&format!("unpacked {n} entries into {}", source_dir.display()));
    Ok(source_dir)
}

/// The cached tarball, checked again (size and SHA-256) for a step that
/// reads it after fetch; a file changed or damaged since is refused with
/// the fix.
pub(crate) fn verified_tarball(plan: &Plan) -> Result<PathBuf> {
    let cached = plan.cached_tarball();
    checksum::check_tarball(&cached, &plan.release).with_context(|| {
        format!(
            "the cached source tarball no longer matches what fetch verified: run `cargo xtask fetch` again (a \
             damaged cache file is moved aside and fetched anew){}",
            if cached.exists() { String::new() } else { format!("; {} is missing", cached.display()) }
        )
    })?;
    Ok(cached)
}

/// The build time for a step that needs it: SOURCE_DATE_EPOCH, or the
/// newest entry of the verified tarball.
pub(crate) fn build_time(plan: &Plan) -> Result<crate::epoch::BuildTime> {
    if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
        return crate::epoch::from_environment(&plan.cached_tarball());
    }
    crate::epoch::from_environment(&verified_tarball(plan)?)
}

/// What fetch's output (the unpacked tree) depends on: the pinned tarball,
/// and whether its signature had to be checked. Where it came from does not
/// matter: it is the same tarball, byte for byte.
pub(crate) fn stamp_inputs(plan: &Plan, args: &FetchArgs) -> crate::stamp::Inputs {
    let mut i = crate::stamp::Inputs::new("fetch");
    i.add("source", format!("sendmail {} {}", plan.version, plan.release.source_id()));
    i.add("signature required", args.require_signature.to_string());
    i
}

/// What fetch leaves: the unpacked tree.
pub(crate) fn outputs(plan: &Plan) -> Vec<PathBuf> {
    vec![plan.source_dir().join("devtools/bin/Build"), plan.work_dir.join("src").join(".smtls-source-sha256")]
}

pub fn run(plan: &Plan, args: &FetchArgs) -> Result<Fetched> {
    let t = progress::Timer::start(format!("fetch sendmail {} ({})", plan.version, args.from));
    crate::stamp::forget(&plan.work_dir, "fetch")?;
    let fetched = obtain(plan, args)?;
    match &fetched.signature {
        Signature::Verified(by) => progress::info(&format!("signature: good, {by}")),
        Signature::NotChecked(why) => progress::info(&format!("signature: not checked ({why})")),
    }
    progress::info(&format!("SHA-256 and size match releases.toml (from {})", fetched.origin));
    ensure_unpacked(plan, &fetched)?;
    let signature = match &fetched.signature {
        Signature::Verified(by) => format!("signature good, {by}"),
        Signature::NotChecked(_) => "signature not checked".into(),
    };
    let note = format!("sendmail {} unpacked, {}, {signature}", plan.version, plan.release.sums());
    crate::stamp::record(&plan.work_dir, &stamp_inputs(plan, args), &note)?;
    t.done();
    Ok(fetched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_chain_order() {
        let args = FetchArgs { mirror: vec!["/distfiles".into()], ..FetchArgs::default() };
        let c = chain(&args);
        assert_eq!(c[0], Source::Cache);
        assert!(matches!(c[1], Source::Upstream(_)));
        assert_eq!(c[2], Source::Debian);
        assert_eq!(c[3], Source::Location("/distfiles".into()));
        let one = FetchArgs { from: "/tmp/x.tar.gz".into(), ..FetchArgs::default() };
        assert_eq!(chain(&one), vec![Source::Location("/tmp/x.tar.gz".into())]);
    }
}

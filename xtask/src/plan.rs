//! The plan: which release, where its files live, and how to build it. One
//! plan flows fetch -> configure -> build -> verify -> stage -> package.

use crate::releases::{self, Release, Version};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Options shared by every command that works on one sendmail release.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PlanArgs {
    /// sendmail version to work on (default: the table's default, see releases.toml).
    #[arg(long = "version", value_name = "V", global = true)]
    pub version: Option<String>,
    /// Pin a tarball that is not in releases.toml by its SHA-256.
    #[arg(long, value_name = "HEX", global = true)]
    pub sha256: Option<String>,
    /// Download cache [env: SMTLS_CACHE_DIR; default: $XDG_CACHE_HOME/smtls or ~/.cache/smtls].
    #[arg(long, value_name = "DIR", global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Where sources are unpacked and built, one subdirectory per version
    /// [env: SMTLS_WORK_DIR; default: target/smtls in the workspace].
    #[arg(long, value_name = "DIR", global = true)]
    pub work_dir: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub release: Release,
    pub version: Version,
    pub cache_dir: PathBuf,
    /// Everything for this version: `<work-dir>/<version>`.
    pub work_dir: PathBuf,
}

impl Plan {
    pub fn from_args(args: &PlanArgs) -> Result<Plan> {
        let table = releases::table();
        let version = match &args.version {
            Some(v) => releases::parse_version(v)?,
            None => table.default_version(),
        };
        let work_root = match &args.work_dir {
            Some(d) => d.clone(),
            None => match std::env::var_os("SMTLS_WORK_DIR") {
                Some(d) if !d.is_empty() => PathBuf::from(d),
                _ => workspace_root().join("target").join("smtls"),
            },
        };
        let work_root = absolute(&work_root)?;
        // A release outside the table, pinned once with --sha256: the work
        // directory that unpacked it remembers the sum, so verify, smoke,
        // port and a second dist need no --sha256 again.
        let remembered = match (&args.sha256, table.find(&version)) {
            (None, None) => std::fs::read_to_string(source_sha256_file(&work_root.join(version.to_string())))
                .ok()
                .map(|s| s.trim().to_string()),
            _ => None,
        };
        let release = table.resolve(&version, args.sha256.as_deref().or(remembered.as_deref()))?;
        let cache_dir = match &args.cache_dir {
            Some(d) => d.clone(),
            None => default_cache_dir()?,
        };
        let cache_dir = absolute(&cache_dir)?;
        Ok(Plan { work_dir: work_root.join(version.to_string()), release, version, cache_dir })
    }

    /// Where the verified tarball lives in the cache, under its upstream name.
    pub fn cached_tarball(&self) -> PathBuf {
        self.cache_dir.join("distfiles").join(&self.release.upstream_file)
    }

    /// The unpacked source tree: `<work>/src/sendmail-<version>`.
    pub fn source_dir(&self) -> PathBuf {
        self.work_dir.join("src").join(format!("sendmail-{}", self.version))
    }

    pub(crate) fn logs_dir(&self) -> PathBuf {
        self.work_dir.join("logs")
    }

    /// The stable object root: Build picks a pre-created `obj.` directory.
    pub(crate) fn obj_dir(&self) -> PathBuf {
        self.source_dir().join("obj.")
    }

    /// The configuration chosen by `configure`, read by later steps.
    pub(crate) fn configuration_file(&self) -> PathBuf {
        self.work_dir.join("configuration.json")
    }

    pub fn site_config(&self) -> PathBuf {
        self.source_dir().join("devtools/Site/site.config.m4")
    }

    /// A built program, e.g. `program("sendmail")`.
    pub fn program(&self, name: &str) -> PathBuf {
        self.obj_dir().join(name).join(name)
    }
}

/// Where a version's work directory records the SHA-256 of the tarball it
/// unpacked (written by `fetch`).
pub(crate) fn source_sha256_file(version_dir: &Path) -> PathBuf {
    version_dir.join("src").join(".smtls-source-sha256")
}

pub use crate::util::workspace_root;

pub(crate) fn default_cache_dir() -> Result<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = env("SMTLS_CACHE_DIR") {
        return Ok(d);
    }
    if let Some(d) = env("XDG_CACHE_HOME") {
        return Ok(d.join("smtls"));
    }
    let home = env("HOME").context("neither SMTLS_CACHE_DIR, XDG_CACHE_HOME nor HOME is set: pass --cache-dir DIR")?;
    Ok(home.join(".cache").join("smtls"))
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).with_context(|| format!("making {} absolute", p.display()))
}

/// Holds an exclusive lock on a file until dropped: parallel commands and
/// tests that share a cache or a work directory take turns.
pub struct Lock(std::fs::File);

impl Lock {
    /// The lock's file descriptor (handed to the guard process).
    pub(crate) fn fd(&self) -> i32 {
        std::os::unix::io::AsRawFd::as_raw_fd(&self.0)
    }
}

pub fn lock(path: &Path, what: &str) -> Result<Lock> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening lock file {}", path.display()))?;
    if f.try_lock().is_err() {
        crate::progress::info(&format!("waiting for another smtls process using {what} ({})", path.display()));
        f.lock().with_context(|| format!("locking {}", path.display()))?;
    }
    Ok(Lock(f))
}

impl Plan {
    /// Locks this version's work directory for the duration of a command.
    pub(crate) fn lock_work(&self) -> Result<Lock> {
        lock(&self.work_dir.join(".lock"), "the work directory")
    }
}

/// Removes what killed or failed runs left in `dir` (`*.partial-PID`,
/// `*.tmp-PID` whose process is gone), saying so.
pub(crate) fn clean_leftovers(dir: &Path) -> Result<()> {
    for p in crate::util::remove_stale_leftovers(dir)? {
        crate::progress::info(&format!("removed {}, left by a run that is gone", p.display()));
    }
    Ok(())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_work_dir_remembers_the_sum_of_an_unpinned_release() {
        let root = std::env::temp_dir().join(format!("smtls-plan-{}", std::process::id()));
        let args = PlanArgs {
            version: Some("8.17.2".into()),
            work_dir: Some(root.clone()),
            cache_dir: Some(root.join("cache")),
            ..Default::default()
        };
        let e = Plan::from_args(&args).unwrap_err().to_string();
        assert!(e.contains("--sha256"), "{e}");
        let sum = "ab".repeat(32);
        let file = source_sha256_file(&root.join("8.17.2"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &sum).unwrap();
        let plan = Plan::from_args(&args).unwrap();
        assert_eq!(plan.release.sha256, sum);
        // An explicit --sha256 still wins, and a pinned release ignores the file.
        let other = "cd".repeat(32);
        let plan = Plan::from_args(&PlanArgs { sha256: Some(other.clone()), ..args.clone() }).unwrap();
        assert_eq!(plan.release.sha256, other);
        let _ = std::fs::remove_dir_all(&root);
    }
}

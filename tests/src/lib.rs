//! Shared fixtures for the integration tests: the real xtask binary, private
//! scratch directories, and one verified build per version that every test
//! binary can reuse (built once, under a lock).

pub mod certs;
pub mod chroot;
pub mod openssl;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub mod hostile;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the workspace").to_path_buf()
}

/// Where tests keep their files: under target/, whose parents are not
/// world-writable (sendmail refuses files below such directories).
pub fn tests_root() -> PathBuf {
    workspace_root().join("target").join("smtls-tests")
}

/// The cache shared by tests that do not test fetching itself.
pub fn shared_cache() -> PathBuf {
    tests_root().join("cache")
}

/// A fresh private directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = tests_root().join("scratch").join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a scratch directory");
    dir
}

/// The xtask binary, built once per test process.
pub fn xtask_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "--package", "xtask"])
            .current_dir(workspace_root())
            .status()
            .expect("running cargo build -p xtask");
        assert!(status.success(), "cargo build -p xtask failed");
        let target =
            std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"));
        target.join("debug").join("xtask")
    })
    .clone()
}

/// Runs `xtask ARGS` and returns its output (stdout, stderr, status).
pub fn xtask(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(xtask_bin());
    cmd.args(args).current_dir(workspace_root()).env("SMTLS_NO_INSTALL", "1");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("running xtask");
    eprintln!(
        "$ xtask {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Fails with the command's output unless it succeeded.
pub fn ok(out: Output) -> Output {
    assert!(out.status.success(), "xtask failed:\n{}", text(&out));
    out
}

/// A verified build of `version` (default configuration) shared by all tests:
/// `<tests_root>/shared/<version>`. Returns the work root to pass as
/// `--work-dir`.
pub fn shared_build(version: &str) -> Result<PathBuf> {
    let root = tests_root().join("shared");
    std::fs::create_dir_all(&root)?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(root.join(format!("{version}.build-lock")))?;
    lock.lock().context("locking the shared build")?;
    let cache = shared_cache();
    let (w, c) = (root.to_str().unwrap(), cache.to_str().unwrap());
    // `dist` is incremental: when nothing changed it skips every step.
    let out = xtask(&["--version", version, "--work-dir", w, "--cache-dir", c, "dist"], &[]);
    if !out.status.success() {
        bail!("shared build of {version} failed:\n{}", text(&out));
    }
    Ok(root)
}

/// The configuration of the shared build of `version` (its build options).
pub fn shared_configuration(version: &str) -> xtask::configure::Configuration {
    let root = shared_build(version).expect("shared build");
    let path = root.join(version).join("configuration.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("reading configuration.json")).expect("parsing it")
}

/// Packages the shared verified build of `version` into a fresh scratch
/// directory named `name`; returns that directory.
pub fn shared_packages(version: &str, name: &str, formats: &str, envs: &[(&str, &str)]) -> PathBuf {
    shared_packages_with(version, name, &["--format", formats], envs)
}

/// [`shared_packages`] with any `package` arguments. A format list with
/// pkg gets [`pkg_abi_args`].
pub fn shared_packages_with(version: &str, name: &str, args: &[&str], envs: &[(&str, &str)]) -> PathBuf {
    let root = shared_build(version).expect("shared build");
    let out = scratch(name);
    let (w, o) = (root.to_str().unwrap().to_string(), out.to_str().unwrap().to_string());
    let mut all = vec!["--version", version, "--work-dir", &w, "package", "--out", &o];
    all.extend(args);
    let abi = pkg_abi_args();
    let wants_pkg = args.windows(2).any(|w| w[0] == "--format" && w[1].split(',').any(|f| f == "pkg"));
    if wants_pkg && !args.contains(&"--abi") {
        all.extend(abi.iter().map(String::as_str));
    }
    ok(xtask(&all, envs));
    out
}

/// What a .pkg of this host's build needs: nothing on FreeBSD; elsewhere
/// `--abi FreeBSD:14:<arch>`, since the programs are not FreeBSD programs
/// and packaging them as such is only a test of the format.
pub fn pkg_abi_args() -> Vec<String> {
    if std::env::consts::OS == "freebsd" {
        vec![]
    } else {
        vec!["--abi".into(), xtask::package::pkg::example_abi()]
    }
}

/// The one file in `dir` whose name ends with `suffix`.
pub fn artifact(dir: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("reading the output directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(found.len(), 1, "expected one *{suffix} in {}: {found:?}", dir.display());
    found[0].clone()
}

/// Runs a system command and returns its stdout; panics with its output on failure.
pub fn sh(cmd: &str, args: &[&str]) -> String {
    sh_in(Path::new("."), cmd, args)
}

/// [`sh`] in the directory `dir`.
pub fn sh_in(dir: &Path, cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("running {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {} failed: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The SHA-256 of a file, in hex.
pub fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Every path below `dir` (links not followed) with its kind, size and
/// content digest: compared before and after a run to prove nothing changed.
pub fn listing(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, p: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(p) else { return };
        let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            let rel = e.strip_prefix(base).unwrap().display().to_string();
            let m = std::fs::symlink_metadata(&e).unwrap();
            if m.file_type().is_symlink() {
                out.push(format!("{rel} -> {}", std::fs::read_link(&e).unwrap().display()));
            } else if m.is_dir() {
                out.push(format!("{rel}/"));
                walk(base, &e, out);
            } else {
                out.push(format!("{rel} {} {}", m.len(), sha256_of(&e)));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

/// The end-of-data checks a release before 8.18.1 fails (releases.toml's
/// warning): it ends DATA at a bare LF beside the dot and queues the
/// smuggled message.
pub const BARE_LF_SMUGGLING: [&str; 3] = ["eod-lf-dot-crlf", "eod-lf-dot-lf", "eod-crlf-dot-lf"];

/// The names of smoke's FAIL lines.
pub fn failed_checks(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("FAIL ")?.split(": ").next().map(str::to_string))
        .collect()
}

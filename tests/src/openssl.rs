//! A non-system OpenSSL for the `--openssl-prefix` tests: OpenSSL 1.1.1
//! built as shared libraries from the source the `openssl-src` crate ships
//! (its own `Build` makes static libraries only, and a private OpenSSL in
//! the real world is a shared one with a run path). The built prefix is
//! cached under target/, keyed by the crate's version, under a file lock:
//! it takes minutes on two cores.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// `111.28.2+1.1.1w`: the crate's version names the OpenSSL inside it.
pub fn crate_version() -> &'static str {
    openssl_src::version()
}

/// The prefix holding include/ and lib/ of the shared OpenSSL 1.1.1,
/// built on first use.
pub fn openssl111_prefix() -> Result<PathBuf> {
    let root = crate::workspace_root().join("target").join("openssl-src");
    std::fs::create_dir_all(&root)?;
    let key = crate_version().replace('+', "-");
    let prefix = root.join(format!("prefix-{key}"));
    let lock =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(root.join(format!("{key}.lock")))?;
    lock.lock().context("locking the OpenSSL build")?;
    if prefix.join("lib/libssl.so.1.1").is_file() && prefix.join("include/openssl/ssl.h").is_file() {
        return Ok(prefix);
    }
    eprintln!("building OpenSSL {} (shared) into {} — a few minutes, once", crate_version(), prefix.display());
    let build = root.join(format!("build-{key}"));
    let _ = std::fs::remove_dir_all(&build);
    copy_tree(&openssl_src::source_dir(), &build)?;
    let staging = root.join(format!("prefix-{key}.partial"));
    let _ = std::fs::remove_dir_all(&staging);
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get()).to_string();
    run(
        Command::new("perl")
            .current_dir(&build)
            .args(["./Configure", "shared", "no-tests", "--libdir=lib"])
            .arg(format!("--prefix={}", prefix.display()))
            .arg(format!("--openssldir={}/ssl", prefix.display()))
            .arg(configure_target()?),
        "Configure",
    )?;
    run(Command::new("make").current_dir(&build).args(["-j", &jobs, "build_libs"]), "make build_libs")?;
    // install_dev puts headers and libraries (with their .so.1.1 names)
    // under DESTDIR + prefix; then the tree is moved into place at once.
    run(
        Command::new("make").current_dir(&build).arg(format!("DESTDIR={}", staging.display())).arg("install_dev"),
        "make install_dev",
    )?;
    let installed = staging.join(prefix.strip_prefix("/").expect("absolute prefix"));
    let _ = std::fs::remove_dir_all(&prefix);
    std::fs::rename(&installed, &prefix).with_context(|| format!("moving {} into place", installed.display()))?;
    let _ = std::fs::remove_dir_all(&staging);
    let _ = std::fs::remove_dir_all(&build);
    Ok(prefix)
}

fn configure_target() -> Result<&'static str> {
    Ok(match std::env::consts::ARCH {
        "x86_64" => "linux-x86_64",
        "aarch64" => "linux-aarch64",
        "x86" => "linux-x86",
        other => bail!("no OpenSSL Configure target known for {other}"),
    })
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running OpenSSL's {what}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(20).collect();
        bail!("OpenSSL's {what} failed:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let status = Command::new("cp").arg("-R").arg(from).arg(to).status().context("running cp -R")?;
    if !status.success() {
        bail!("cp -R {} {} failed", from.display(), to.display());
    }
    Ok(())
}

/// A private copy of the system's own OpenSSL (headers and shared
/// libraries) under `dir`: a prefix that is not the system's, with the
/// same library the host has.
pub fn system_copy(dir: &Path) -> Result<PathBuf> {
    let multiarch = String::from_utf8(
        Command::new("gcc").arg("-print-multiarch").output().context("running gcc -print-multiarch")?.stdout,
    )?
    .trim()
    .to_string();
    let inc = dir.join("include");
    let lib = dir.join("lib");
    std::fs::create_dir_all(&inc)?;
    std::fs::create_dir_all(&lib)?;
    copy_tree(Path::new("/usr/include/openssl"), &inc.join("openssl"))?;
    // opensslconf.h and configuration.h live in the multiarch include dir.
    let arch_inc = Path::new("/usr/include").join(&multiarch).join("openssl");
    for e in std::fs::read_dir(&arch_inc).with_context(|| format!("reading {}", arch_inc.display()))? {
        let e = e?;
        std::fs::copy(e.path(), inc.join("openssl").join(e.file_name()))?;
    }
    let sys = Path::new("/usr/lib").join(&multiarch);
    for name in ["libssl.so.3", "libcrypto.so.3"] {
        std::fs::copy(sys.join(name), lib.join(name))?;
        let dev = name.trim_end_matches(".3");
        std::os::unix::fs::symlink(name, lib.join(dev))?;
    }
    Ok(dir.to_path_buf())
}

//! A non-system OpenSSL for the `--openssl-prefix` tests: OpenSSL 1.1.1
//! built as shared libraries from the source the `openssl-src` crate ships
//! (its own `Build` makes static libraries only, and a private OpenSSL in
//! the real world is a shared one with a run path). Only the libraries and
//! headers are built and installed (no `openssl` program, engines, tests or
//! manuals: the tests link sendmail against the libraries and nothing
//! else), leaving out algorithms sendmail never asks for. The built prefix
//! is cached under target/, keyed by the crate's version and the Configure
//! options, under a file lock; progress goes straight to stderr, since it
//! takes minutes on two cores and the test harness holds back `eprintln!`.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// OpenSSL's Configure options: shared libraries. What stays is what sendmail's TLS
/// code touches (SSL/TLS 1.0-1.3, RSA, DH, EC incl. X25519, DES for
/// encrypted PEM keys, OCSP, engines since sendmail compiles its
/// `SSLEngine` support only when OpenSSL has them); what goes is ciphers,
/// digests and protocols it never names (DTLS, SRP, PSK, national and
/// legacy ciphers) and the parts the tests do not use. `-O0` (after
/// OpenSSL's own -O3, so it wins; what its debug targets use) nearly
/// halves the compile time; the tests need the library's interface and
/// behaviour, not its speed, and the hot paths stay assembler.
pub const CONFIGURE_OPTIONS: &[&str] = &[
    "shared",
    "-O0",
    "no-tests",
    "no-comp",
    "no-dtls",
    "no-srp",
    "no-psk",
    "no-srtp",
    "no-idea",
    "no-mdc2",
    "no-rc5",
    "no-camellia",
    "no-seed",
    "no-whirlpool",
    "no-bf",
    "no-cast",
    "no-gost",
    "no-sm2",
    "no-sm3",
    "no-sm4",
    "no-aria",
    "no-blake2",
    "no-siphash",
    "no-scrypt",
    "no-cms",
    "no-ts",
    "no-rfc3779",
];

/// `111.28.2+1.1.1w`: the crate's version names the OpenSSL inside it.
pub fn crate_version() -> &'static str {
    openssl_src::version()
}

/// The cache key: the crate version and a digest of the Configure options,
/// so a changed option list builds a new prefix instead of reusing one.
pub fn cache_key(version: &str, options: &[&str]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(options.join(" ").as_bytes());
    let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{short}", version.replace('+', "-"))
}

/// Progress the harness does not capture: written to stderr directly.
fn progress(msg: &str) {
    let _ = writeln!(std::io::stderr(), "[openssl-src] {msg}");
}

/// The prefix holding include/ and lib/ of the shared OpenSSL 1.1.1,
/// built on first use.
pub fn openssl111_prefix() -> Result<PathBuf> {
    let root = crate::workspace_root().join("target").join("openssl-src");
    std::fs::create_dir_all(&root)?;
    let key = cache_key(crate_version(), CONFIGURE_OPTIONS);
    let prefix = root.join(format!("prefix-{key}"));
    let lock_path = root.join(format!("{key}.lock"));
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)?;
    if lock.try_lock().is_err() {
        progress(&format!("waiting for {} (another test is building OpenSSL)", lock_path.display()));
        lock.lock().context("locking the OpenSSL build")?;
    }
    if prefix.join("lib/libssl.so.1.1").is_file() && prefix.join("include/openssl/ssl.h").is_file() {
        return Ok(prefix);
    }
    let started = Instant::now();
    progress(&format!("building OpenSSL {} (shared) into {}: minutes, once", crate_version(), prefix.display()));
    let build = root.join(format!("build-{key}"));
    let _ = std::fs::remove_dir_all(&build);
    copy_tree(&openssl_src::source_dir(), &build)?;
    let staging = root.join(format!("prefix-{key}.partial"));
    let _ = std::fs::remove_dir_all(&staging);
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get()).to_string();
    run(
        Command::new("perl")
            .current_dir(&build)
            .arg("./Configure")
            .args(CONFIGURE_OPTIONS)
            .arg("--libdir=lib")
            .arg(format!("--prefix={}", prefix.display()))
            .arg(format!("--openssldir={}/ssl", prefix.display()))
            .arg(configure_target()?),
        "Configure",
        &build,
        None,
    )?;
    // build_libs is only libcrypto and libssl (both .a and .so) and the
    // headers generated for them; the object count gives the progress.
    let objects = library_objects(&build.join("Makefile"))?;
    run(
        Command::new("make").current_dir(&build).args(["-j", &jobs, "build_libs"]),
        &format!("make -j{jobs} build_libs"),
        &build,
        Some(objects),
    )?;
    // install_dev puts headers and libraries (with their .so.1.1 names)
    // under DESTDIR + prefix; then the tree is moved into place at once.
    run(
        Command::new("make").current_dir(&build).arg(format!("DESTDIR={}", staging.display())).arg("install_dev"),
        "make install_dev",
        &build,
        None,
    )?;
    let installed = staging.join(prefix.strip_prefix("/").expect("absolute prefix"));
    let _ = std::fs::remove_dir_all(&prefix);
    std::fs::rename(&installed, &prefix).with_context(|| format!("moving {} into place", installed.display()))?;
    let _ = std::fs::remove_dir_all(&staging);
    let _ = std::fs::remove_dir_all(&build);
    progress(&format!("OpenSSL built in {} s", started.elapsed().as_secs()));
    Ok(prefix)
}

/// The objects of libcrypto and libssl the Makefile builds: the
/// `crypto/...o:` and `ssl/...o:` rules.
fn library_objects(makefile: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(makefile).with_context(|| format!("reading {}", makefile.display()))?;
    Ok(object_rules(&text).into_iter().map(PathBuf::from).collect())
}

/// The targets of object rules under crypto/ and ssl/ in Makefile text.
pub fn object_rules(makefile: &str) -> Vec<&str> {
    let mut v: Vec<&str> = makefile
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(t, _)| t))
        .filter(|t| t.ends_with(".o") && (t.starts_with("crypto/") || t.starts_with("ssl/")))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn configure_target() -> Result<&'static str> {
    Ok(match std::env::consts::ARCH {
        "x86_64" => "linux-x86_64",
        "aarch64" => "linux-aarch64",
        "x86" => "linux-x86",
        other => bail!("no OpenSSL Configure target known for {other}"),
    })
}

/// Runs one step with its output in `build/<step>.log`, reporting every
/// 30 s how far it got (objects compiled, when `objects` is given).
fn run(cmd: &mut Command, what: &str, build: &Path, objects: Option<Vec<PathBuf>>) -> Result<()> {
    let log = build.join(format!("{}.log", what.split_whitespace().last().unwrap_or("step")));
    let out = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    progress(&format!("{what} (log: {})", log.display()));
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("running OpenSSL's {what}"))?;
    let mut next_report = started + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().with_context(|| format!("waiting for OpenSSL's {what}"))? {
            break s;
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(30);
            let done = objects.as_ref().map(|o| {
                let n = o.iter().filter(|p| build.join(p).is_file()).count();
                format!(": {n} of {} library objects compiled", o.len())
            });
            progress(&format!("{what}: {} s{}", started.elapsed().as_secs(), done.unwrap_or_default()));
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(20).collect();
        bail!(
            "OpenSSL's {what} failed ({status}); last lines of {}:\n{}",
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    progress(&format!("{what}: done in {} s", started.elapsed().as_secs()));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_rules_are_the_library_objects_only() {
        let mk = "crypto/aes/aes_core.o: crypto/aes/aes_core.c\n\
                  ssl/s3_lib.o: ssl/s3_lib.c\n\
                  apps/openssl.o: apps/openssl.c\n\
                  crypto/aes/aes_core.o: include/openssl/aes.h\n\
                  crypto/aes/aes_core.d: x\n";
        assert_eq!(object_rules(mk), ["crypto/aes/aes_core.o", "ssl/s3_lib.o"]);
    }

    #[test]
    fn the_cache_key_changes_with_the_options() {
        let a = cache_key("111.28.2+1.1.1w", &["shared"]);
        assert!(a.starts_with("111.28.2-1.1.1w-") && !a.contains('+'), "{a}");
        assert_ne!(a, cache_key("111.28.2+1.1.1w", &["shared", "no-asm"]));
        assert_ne!(a, cache_key("111.28.3+1.1.1w", &["shared"]));
    }
}

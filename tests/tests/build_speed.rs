//! The fast build for real: its programs are byte-identical to a serial
//! upstream `sh Build` of the same configuration, `dist` skips exactly the
//! steps whose inputs did not change, and a failing compile is reported
//! with its log. No timing here: `cargo xtask bench` measures.

use smtls_tests::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const V: &str = "8.18.2";
const PROGRAMS: &[&str] =
    &["sendmail", "editmap", "mail.local", "mailstats", "makemap", "praliases", "rmail", "smrsh", "vacation"];

fn global<'a>(work: &'a str, cache: &'a str) -> Vec<&'a str> {
    vec!["--version", V, "--work-dir", work, "--cache-dir", cache]
}

fn source_dir(work: &Path) -> PathBuf {
    work.join(V).join("src").join(format!("sendmail-{V}"))
}

fn program(work: &Path, name: &str) -> PathBuf {
    source_dir(work).join("obj.").join(name).join(name)
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).and_then(|m| m.modified()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The lines dist printed for each step (`==> fetch: ...`).
fn step_lines(out: &str) -> Vec<&str> {
    out.lines()
        .filter(|l| ["fetch:", "configure:", "build:", "verify:"].iter().any(|s| l.starts_with(&format!("==> {s}"))))
        .collect()
}

fn assert_step(out: &str, step: &str, state: &str) {
    let lines = step_lines(out);
    let line = lines.iter().find(|l| l.starts_with(&format!("==> {step}:"))).unwrap_or_else(|| {
        panic!("no line for {step} in:\n{out}");
    });
    assert!(line.contains(state), "{step}: expected `{state}`, got `{line}`");
}

#[test]
fn parallel_build_is_byte_identical_to_a_serial_upstream_build() {
    let dir = scratch("identical");
    let cache = shared_cache();
    let (w, c) = (dir.to_str().unwrap(), cache.to_str().unwrap());
    let mut args = global(w, c);
    args.push("dist");
    let out = ok(xtask(&args, &[]));
    assert!(text(&out).contains("jobs shared by all subdirectories"), "the parallel graph built it");

    let ours: Vec<(&str, Vec<u8>)> = PROGRAMS.iter().map(|p| (*p, std::fs::read(program(&dir, p)).unwrap())).collect();
    let src = source_dir(&dir);
    // Nothing of the build directory ends up in a program.
    let needle = src.to_str().unwrap().as_bytes();
    for (name, bytes) in &ours {
        assert!(!bytes.windows(needle.len()).any(|w| w == needle), "{name} contains the path {}", src.display());
    }

    // Upstream's own top-level Build, serial, in the same tree and the same
    // obj. directory: it cleans and rebuilds every subdirectory.
    let log = dir.join("upstream-build.log");
    let f = std::fs::File::create(&log).unwrap();
    let status = Command::new("sh")
        .args(["Build", "-c"])
        .current_dir(&src)
        .env("LC_ALL", "C")
        .env("TZ", "UTC")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .env_remove("CARGO_MAKEFLAGS")
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .status()
        .unwrap();
    let upstream_log = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "upstream sh Build failed:\n{upstream_log}");
    for p in PROGRAMS {
        let obj = src.join("obj.").join(p);
        assert!(
            upstream_log.contains(&format!("Clearing out existing {}", obj.display())),
            "upstream did not rebuild {p} in {}:\n{upstream_log}",
            obj.display()
        );
    }
    let mut differ = vec![];
    for (name, bytes) in &ours {
        let theirs = std::fs::read(program(&dir, name)).unwrap();
        if &theirs != bytes {
            differ.push(*name);
        }
    }
    assert!(differ.is_empty(), "programs differ from upstream's serial build: {differ:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dist_skips_unchanged_steps_and_redoes_what_a_changed_fragment_touches() {
    let dir = scratch("incremental");
    let cache = shared_cache();
    let (w, c) = (dir.to_str().unwrap(), cache.to_str().unwrap());
    let fragment = dir.join("extra.m4");
    std::fs::write(&fragment, "APPENDDEF(`confENVDEF', `-DSMTLS_TEST_FRAGMENT=1')\n").unwrap();
    let f = fragment.to_str().unwrap();
    let mut args = global(w, c);
    args.extend(["dist", "--site-config", f]);

    let first = text(&ok(xtask(&args, &[])));
    for s in ["fetch", "configure", "build", "verify"] {
        assert_step(&first, s, "running");
    }
    let sendmail = program(&dir, "sendmail");
    let built = mtime(&sendmail);
    let site = std::fs::read_to_string(source_dir(&dir).join("devtools/Site/site.config.m4")).unwrap();
    assert!(site.contains("-DSMTLS_TEST_FRAGMENT=1"), "{site}");

    // Nothing changed: nothing runs.
    let again = text(&ok(xtask(&args, &[])));
    for s in ["fetch", "configure", "build", "verify"] {
        assert_step(&again, s, "up to date, skipped");
    }
    assert_eq!(mtime(&sendmail), built, "a no-op dist left the binary alone");

    // The fragment changes: configure, build and verify again, not fetch.
    std::fs::write(&fragment, "APPENDDEF(`confENVDEF', `-DSMTLS_TEST_FRAGMENT=2')\n").unwrap();
    let explained = text(&ok(xtask(&[args.clone(), vec!["--explain"]].concat(), &[])));
    assert_step(&explained, "fetch", "up to date, skipped");
    assert_step(&explained, "configure", &format!("would run: fragment {f} changed"));
    assert_step(&explained, "build", "decided after the steps before it have run");
    assert_eq!(mtime(&sendmail), built, "--explain runs nothing");

    let changed = text(&ok(xtask(&args, &[])));
    assert_step(&changed, "fetch", "up to date, skipped");
    assert_step(&changed, "configure", &format!("running: fragment {f} changed"));
    assert_step(&changed, "build", "running: site.config.m4 changed");
    assert_step(&changed, "verify", "build changed");
    assert_ne!(mtime(&sendmail), built, "the build ran again");

    // The same text written again (a newer file, same content): up to date.
    std::fs::write(&fragment, "APPENDDEF(`confENVDEF', `-DSMTLS_TEST_FRAGMENT=2')\n").unwrap();
    let same = text(&ok(xtask(&args, &[])));
    for s in ["fetch", "configure", "build", "verify"] {
        assert_step(&same, s, "up to date, skipped");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A private OpenSSL prefix: copies of the system's headers, links to its
/// libraries. Touching a header there is a change configure must notice.
fn openssl_prefix(dir: &Path) -> Option<PathBuf> {
    let system = Path::new("/usr/include/openssl");
    let lib = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"]
        .iter()
        .map(Path::new)
        .find(|d| d.join("libssl.so").exists())?;
    let prefix = dir.join("openssl");
    std::fs::create_dir_all(prefix.join("include/openssl")).unwrap();
    std::fs::create_dir_all(prefix.join("lib")).unwrap();
    for e in std::fs::read_dir(system).ok()? {
        let p = e.unwrap().path();
        std::fs::copy(&p, prefix.join("include/openssl").join(p.file_name().unwrap())).unwrap();
    }
    for l in ["libssl.so", "libcrypto.so"] {
        std::os::unix::fs::symlink(lib.join(l), prefix.join("lib").join(l)).unwrap();
    }
    Some(prefix)
}

#[test]
fn configure_is_redone_when_a_probed_openssl_header_changes() {
    let dir = scratch("probed-files");
    let Some(prefix) = openssl_prefix(&dir) else {
        panic!("no system OpenSSL (libssl-dev) to copy headers from");
    };
    let cache = shared_cache();
    let (w, c, p) = (dir.to_str().unwrap(), cache.to_str().unwrap(), prefix.to_str().unwrap());
    let configure = [global(w, c), vec!["configure", "--openssl-prefix", p]].concat();
    ok(xtask(&[global(w, c), vec!["fetch"]].concat(), &[]));
    ok(xtask(&configure, &[]));
    // A private OpenSSL has no Debian package: dist packages it as a tarball.
    let explain = [global(w, c), vec!["dist", "--explain", "--openssl-prefix", p, "--format", "tar"]].concat();
    let before = text(&ok(xtask(&explain, &[])));
    assert_step(&before, "configure", "up to date, skipped");

    let header = prefix.join("include/openssl/opensslv.h");
    let f = std::fs::OpenOptions::new().append(true).open(&header).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5)).unwrap();
    drop(f);
    let after = text(&ok(xtask(&explain, &[])));
    assert_step(&after, "configure", &format!("would run: probed {} changed", header.display()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failing_compile_names_its_subdirectory_and_log() {
    let dir = scratch("failing");
    let cache = shared_cache();
    let (w, c) = (dir.to_str().unwrap(), cache.to_str().unwrap());
    let fragment = dir.join("broken.m4");
    std::fs::write(&fragment, "APPENDDEF(`confCCOPTS', `-include smtls-no-such-header.h')\n").unwrap();
    let args = [global(w, c), vec!["dist", "--site-config", fragment.to_str().unwrap()]].concat();
    let out = xtask(&args, &[]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("make smtls-objects in") && t.contains("failed"), "{t}");
    assert!(t.contains("smtls-no-such-header.h"), "the log's tail is in the error: {t}");
    assert!(t.contains("/logs/build-"), "the log is named: {t}");
    assert!(
        !dir.join(V).join("stamps").join("build.json").exists(),
        "a failed build leaves no stamp saying it finished"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

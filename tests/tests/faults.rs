//! Faults a hostile reviewer tried (issue 11, items 2 to 10): each asserts
//! the message and the state left behind, and where it applies that the
//! next correct run gives the same SHA256SUMS as a clean run.

use smtls_tests::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const V: &str = "8.18.2";
const SDE: &str = "1700000000";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn sums(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// Every file SHA256SUMS names is beside it with that digest (`sha256sum -c`).
fn sums_match(dir: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join("SHA256SUMS")).map_err(|e| e.to_string())?;
    for line in text.lines() {
        let (sum, name) = line.split_once("  ").ok_or(format!("bad line {line}"))?;
        let p = dir.join(name);
        if !p.is_file() || sha256_of(&p) != sum {
            return Err(format!("{name} does not match SHA256SUMS in {}", dir.display()));
        }
    }
    Ok(())
}

/// SHA256SUMS of a clean package run of the shared build (formats, SOURCE_DATE_EPOCH).
fn clean_sums(name: &str, formats: &str, envs: &[(&str, &str)]) -> String {
    let dir = shared_packages(V, name, formats, envs);
    let s = sums(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    s
}

fn package(work: &Path, out: &Path, formats: &str, envs: &[(&str, &str)]) -> std::process::Output {
    xtask(&["--version", V, "--work-dir", s(work), "package", "--format", formats, "--out", s(out)], envs)
}

/// A private work root with the source fetched and configured (fast).
fn configured(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let work = dir.join("work");
    let cache = shared_cache();
    ok(xtask(&["--version", V, "--work-dir", s(&work), "--cache-dir", s(&cache), "fetch"], &[]));
    ok(xtask(&["--version", V, "--work-dir", s(&work), "--cache-dir", s(&cache), "configure"], &[]));
    (dir, work)
}

// Item 2: SOURCE_DATE_EPOCH of 13 to 19 digits panicked in the ar writer,
// after the whole build.
#[test]
fn item2_an_out_of_range_source_date_epoch_is_refused_before_any_work() {
    let dir = scratch("fault-sde");
    let work = dir.join("work");
    for value in ["1000000000000", "9999999999999999999", "8589934592"] {
        for cmd in [&["dist"][..], &["dist", "--explain"], &["package"]] {
            let mut args = vec!["--version", V, "--work-dir", s(&work)];
            args.extend_from_slice(cmd);
            let out = xtask(&args, &[("SOURCE_DATE_EPOCH", value)]);
            let t = text(&out);
            assert_eq!(out.status.code(), Some(1), "{t}");
            assert!(t.contains(&format!("SOURCE_DATE_EPOCH={value} is out of range")), "{t}");
            assert!(t.contains("at most 8589934591"), "{t}");
            assert!(!t.contains("panicked"), "{t}");
            assert!(!work.exists(), "work was done before the check: {}", work.display());
        }
    }
    // The next correct run gives what a clean run gives.
    let root = shared_build(V).unwrap();
    let out = dir.join("out");
    let bad = package(&root, &out, "tar", &[("SOURCE_DATE_EPOCH", "99999999999999")]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(!out.exists(), "the refused run wrote {}", out.display());
    ok(package(&root, &out, "tar", &[("SOURCE_DATE_EPOCH", SDE)]));
    assert_eq!(sums(&out), clean_sums("fault-sde-clean", "tar", &[("SOURCE_DATE_EPOCH", SDE)]));
    let _ = std::fs::remove_dir_all(&dir);
}

// Item 3: partial files were never cleaned; after "No space left on
// device" a rerun with more room still failed.
#[test]
fn item3_a_rerun_after_enospc_succeeds_and_leftovers_of_dead_runs_go() {
    let root = shared_build(V).unwrap();
    let dir = scratch("fault-enospc");
    let mnt = dir.join("small");
    std::fs::create_dir_all(&mnt).unwrap();
    let bin = xtask_bin();
    // A private mount namespace: the tmpfs is seen by this shell and its
    // children only, and is gone with them.
    let script = format!(
        "set -e
mount -t tmpfs -o size=256k smtls-test '{m}'
if SMTLS_NO_INSTALL=1 SOURCE_DATE_EPOCH={SDE} '{x}' --version {V} --work-dir '{w}' package --format deb,tar --out '{m}/out' 2>'{d}/first.err'; then
  echo 'the first run did not fail'; exit 1
fi
echo \"left: $(ls -A '{m}')\"
mount -o remount,size=64m '{m}'
SMTLS_NO_INSTALL=1 SOURCE_DATE_EPOCH={SDE} '{x}' --version {V} --work-dir '{w}' package --format deb,tar --out '{m}/out' >/dev/null 2>&1
cp -a '{m}/out' '{d}/out'
",
        m = mnt.display(),
        x = bin.display(),
        w = root.display(),
        d = dir.display()
    );
    let out =
        Command::new("unshare").args(["--mount", "--propagation", "private", "sh", "-c", &script]).output().unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let first = std::fs::read_to_string(dir.join("first.err")).unwrap();
    assert!(first.contains("No space left on device"), "{first}");
    // Nothing half-written left on the full disk: no out, no partial.
    assert!(t.contains("left: \n") || t.trim_end().ends_with("left:"), "{t}");
    sums_match(&dir.join("out")).unwrap();
    assert_eq!(sums(&dir.join("out")), clean_sums("fault-enospc-clean", "deb,tar", &[("SOURCE_DATE_EPOCH", SDE)]));

    // What a killed run leaves (its process is gone) is removed by the next.
    let dead = 999_999_999u32;
    let w = root.join(V);
    let out_dir = dir.join("out2");
    std::fs::create_dir_all(w.join(format!("src.partial-{dead}/sendmail-{V}"))).unwrap();
    std::fs::create_dir_all(w.join(format!("generated/debian.partial-{dead}"))).unwrap();
    std::fs::create_dir_all(out_dir.join(format!(".x.deb.tmp-{dead}"))).unwrap();
    std::fs::create_dir_all(dir.join(format!(".out2.partial-{dead}"))).unwrap();
    let t = text(&ok(package(&root, &out_dir, "tar", &[("SOURCE_DATE_EPOCH", SDE)])));
    assert!(t.contains(&format!("src.partial-{dead}, left by a run that is gone")), "{t}");
    for p in [
        w.join(format!("src.partial-{dead}")),
        w.join(format!("generated/debian.partial-{dead}")),
        out_dir.join(format!(".x.deb.tmp-{dead}")),
        dir.join(format!(".out2.partial-{dead}")),
    ] {
        assert!(!p.exists(), "{} is still there", p.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// Item 4: SIGKILL at the right moment left a new .deb beside the old
// SHA256SUMS.
#[test]
fn item4_sha256sums_always_matches_what_is_beside_it() {
    let root = shared_build(V).unwrap();
    let dir = scratch("fault-kill-package");
    let out = dir.join("out");
    // An older set of packages (another build time) in the output directory.
    ok(package(&root, &out, "deb,tar", &[("SOURCE_DATE_EPOCH", "1600000000")]));
    // Kill runs at spread moments; after each, SHA256SUMS matches its files.
    for ms in [300u64, 800, 1500, 2500, 4000, 6000] {
        let mut child = Command::new(xtask_bin())
            .args(["--version", V, "--work-dir", s(&root), "package", "--format", "deb,tar", "--out", s(&out)])
            .env("SOURCE_DATE_EPOCH", SDE)
            .env("SMTLS_NO_INSTALL", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        let _ = child.kill();
        let _ = child.wait();
        sums_match(&out).unwrap_or_else(|e| panic!("killed after {ms} ms: {e}"));
    }
    ok(package(&root, &out, "deb,tar", &[("SOURCE_DATE_EPOCH", SDE)]));
    sums_match(&out).unwrap();
    assert_eq!(sums(&out), clean_sums("fault-kill-package-clean", "deb,tar", &[("SOURCE_DATE_EPOCH", SDE)]));
    let names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["out"], "partial directories left beside the output");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Processes (not zombies) whose working directory is under `dir`.
fn processes_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cwd) = std::fs::read_link(e.path().join("cwd")) else { continue };
        if cwd.starts_with(dir) {
            let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
            found.push(format!("{name} {}", comm.trim()));
        }
    }
    found
}

// Item 5: SIGKILL of xtask alone left make and the compilers running while
// the work-dir lock was already free.
#[test]
fn item5_killing_xtask_ends_the_build_before_the_lock_is_free() {
    let (dir, work) = configured("fault-kill-build");
    let mut child = Command::new(xtask_bin())
        .args(["--version", V, "--work-dir", s(&work), "build", "--jobs", "2"])
        .env("SMTLS_NO_INSTALL", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let p = processes_under(&work);
        if p.iter().any(|l| l.ends_with(" make") || l.ends_with(" cc1") || l.ends_with(" cc")) {
            break;
        }
        assert!(Instant::now() < deadline, "no make or compiler started");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let lock = std::fs::OpenOptions::new().write(true).open(work.join(V).join(".lock")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Whenever the lock can be taken, nothing of the build may run.
        let alive_before = processes_under(&work);
        if lock.try_lock().is_ok() {
            let alive = processes_under(&work);
            assert!(alive.is_empty(), "the lock is free while the build still runs: {alive:?}");
            lock.unlock().unwrap();
            break;
        }
        assert!(Instant::now() < deadline, "the lock is still held; running: {alive_before:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(processes_under(&work).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A program standing in for sendmail that floods its output and leaves a
/// background child; writes the pids it started to `pids`.
fn flooding_program(dir: &Path) -> (PathBuf, PathBuf) {
    let pids = dir.join("pids");
    let prog = dir.join("flood");
    std::fs::write(
        &prog,
        format!(
            "#!/bin/sh\necho $$ > '{p}'\nsleep 300 &\necho $! >> '{p}'\nexec yes smtls-flood\n",
            p = pids.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&prog, std::fs::Permissions::from_mode(0o755)).unwrap();
    (prog, pids)
}

fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

// Item 6: `verify --binary` / `smoke --binary` on a program that keeps
// printing never stopped, and its children were left running.
#[test]
fn item6_a_probed_program_that_keeps_printing_is_stopped_with_its_children() {
    let dir = scratch("fault-flood");
    let (prog, pids) = flooding_program(&dir);
    let work = dir.join("work");
    for cmd in ["verify", "smoke"] {
        let _ = std::fs::remove_file(&pids);
        let cache = shared_cache();
        let out =
            xtask(&["--version", V, "--work-dir", s(&work), "--cache-dir", s(&cache), cmd, "--binary", s(&prog)], &[]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{t}");
        assert!(t.contains("-d0.14 -bt printed more than 1048576 bytes; it was stopped"), "{cmd}: {t}");
        let started = std::fs::read_to_string(&pids).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while started.lines().any(alive) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in started.lines() {
            assert!(!alive(pid), "{cmd}: process {pid} of the probed program survived");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// Item 7: --jobs 0 silently meant 1; --jobs 100000 failed after the build
// was wiped; 8.18.2.0 matched 8.18.2; dist --explain validated nothing.
#[test]
fn item7_jobs_versions_and_explain_are_checked_before_work() {
    let root = shared_build(V).unwrap();
    let sendmail = root.join(V).join(format!("src/sendmail-{V}/obj./sendmail/sendmail"));
    let before = std::fs::metadata(&sendmail).unwrap().modified().unwrap();
    for (cmd, n) in [("build", "0"), ("build", "100000"), ("dist", "1025")] {
        let out = xtask(&["--version", V, "--work-dir", s(&root), cmd, "--jobs", n], &[]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(t.contains(&format!("expected a number of jobs from 1 to 1024, got `{n}`")), "{t}");
    }
    let out = xtask(&["--version", V, "--work-dir", s(&root), "dist", "--explain", "--jobs", "0"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(std::fs::metadata(&sendmail).unwrap().modified().unwrap(), before, "the build was touched");

    let dir = scratch("fault-version");
    let work = dir.join("work");
    let out = xtask(&["--version", "8.18.2.0", "--work-dir", s(&work), "dist", "--explain"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("sendmail 8.18.2.0 is not in the pinned release table"), "{t}");
    assert!(xtask(&["--version", "08.18.2", "--work-dir", s(&work), "fetch"], &[]).status.code() == Some(1));
    // Pinned with --sha256, the tarball's top directory must match.
    let tarball = shared_cache().join("distfiles").join(format!("sendmail.{V}.tar.gz"));
    let sum = sha256_of(&tarball);
    let out = xtask(
        &["--version", "8.18.2.0", "--sha256", &sum, "--work-dir", s(&work), "--cache-dir", s(&dir.join("cache"))]
            .into_iter()
            .chain(["fetch", "--from", s(&tarball)])
            .collect::<Vec<_>>(),
        &[],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("every entry must be under sendmail-8.18.2.0/"), "{t}");
    let left: Vec<_> = std::fs::read_dir(work.join("8.18.2.0")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, [".lock"], "left behind: {left:?}");
    // dist --explain runs the same checks as dist.
    let out = xtask(&["--work-dir", s(&work), "dist", "--explain", "--site-config", "/nonexistent.m4"], &[]);
    assert!(text(&out).contains("--site-config /nonexistent.m4: cannot read it"), "{}", text(&out));
    let out = xtask(&["--version", "8.14.7", "--sha256", &sum, "--work-dir", s(&work), "dist", "--explain"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

// Item 8: the package step read a corrupted cached tarball and failed with
// "numeric field was not a number", no hint to fetch again.
#[test]
fn item8_a_corrupted_cache_is_caught_with_the_fix() {
    let root = shared_build(V).unwrap();
    let dir = scratch("fault-corrupt-cache");
    let cache = dir.join("cache");
    let name = format!("sendmail.{V}.tar.gz");
    let good = shared_cache().join("distfiles").join(&name);
    std::fs::create_dir_all(cache.join("distfiles")).unwrap();
    let mut bytes = std::fs::read(&good).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(cache.join("distfiles").join(&name), &bytes).unwrap();
    let out_dir = dir.join("out");
    let run = |cache: &Path| {
        xtask(
            &["--version", V, "--work-dir", s(&root), "--cache-dir", s(cache), "package", "--format", "tar", "--out"]
                .into_iter()
                .chain([s(&out_dir)])
                .collect::<Vec<_>>(),
            &[],
        )
    };
    let out = run(&cache);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("the cached source tarball no longer matches what fetch verified"), "{t}");
    assert!(t.contains("run `cargo xtask fetch` again"), "{t}");
    assert!(!t.contains("numeric field"), "{t}");
    assert!(!out_dir.exists());
    // The fix the message names: fetch again (the damaged file is moved aside).
    let w2 = dir.join("work");
    ok(xtask(&["--version", V, "--work-dir", s(&w2), "--cache-dir", s(&cache), "fetch", "--from", s(&good)], &[]));
    ok(run(&cache));
    assert_eq!(sums(&out_dir), clean_sums("fault-corrupt-clean", "tar", &[]));
    let _ = std::fs::remove_dir_all(&dir);
}

// Item 9: freebsd-base replaced the Makefile: mode and owner lost, a
// symlinked Makefile became a plain file while the real one stayed unedited.
#[test]
fn item9_freebsd_edits_keep_links_modes_and_owners() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let fixtures = workspace_root().join("tests/fixtures/freebsd");
    let dir = scratch("fault-freebsd-inplace");
    let copy = |from: &Path, to: &Path| {
        assert!(Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap().success());
    };
    for (cmd, flag, fixture, rel) in [
        ("freebsd-base", "--src", "base/ffr-tls-1-8.16", "usr.sbin/sendmail/Makefile"),
        ("freebsd-port-edit", "--port", "port/chain-option", "Makefile"),
    ] {
        let plain = dir.join(format!("{cmd}-plain"));
        let linked = dir.join(format!("{cmd}-linked"));
        copy(&fixtures.join(fixture), &plain);
        copy(&fixtures.join(fixture), &linked);
        ok(xtask(&[cmd, flag, s(&plain)], &[]));
        // The Makefile is a link to a file elsewhere, mode 0640, another owner.
        let real = dir.join(format!("{cmd}-real-Makefile"));
        std::fs::rename(linked.join(rel), &real).unwrap();
        std::os::unix::fs::symlink(&real, linked.join(rel)).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let me = std::fs::metadata(&real).unwrap();
        let owner = if me.uid() == 0 { (4321, 4321) } else { (me.uid(), me.gid()) };
        std::os::unix::fs::chown(&real, Some(owner.0), Some(owner.1)).unwrap();
        ok(xtask(&[cmd, flag, s(&linked)], &[]));
        assert!(std::fs::symlink_metadata(linked.join(rel)).unwrap().file_type().is_symlink(), "{cmd}: link replaced");
        assert_eq!(std::fs::read(&real).unwrap(), std::fs::read(plain.join(rel)).unwrap(), "{cmd}: target not edited");
        let m = std::fs::metadata(&real).unwrap();
        assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o640, owner.0, owner.1), "{cmd}");
        let tmp: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(tmp.is_empty(), "{tmp:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// Item 10: a failed build showed the last lines of the log (warnings), not
// the one `error:` line above them.
#[test]
fn item10_a_failed_build_shows_the_first_error_and_the_failed_target() {
    let (dir, work) = configured("fault-build-error");
    let src = work.join(V).join(format!("src/sendmail-{V}/sendmail/main.c"));
    let mut text_c = std::fs::read_to_string(&src).unwrap();
    text_c.push_str("\nint smtls_injected(void) { return smtls_undeclared_symbol; }\n");
    std::fs::write(&src, text_c).unwrap();
    let out = xtask(&["--version", V, "--work-dir", s(&work), "build"], &[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let err = &t[t.find("error: sendmail: make").unwrap_or_else(|| panic!("{t}"))..];
    let first = err.find("first error").unwrap_or_else(|| panic!("{t}"));
    let line = err.find("main.c:").unwrap_or_else(|| panic!("{t}"));
    let target = err.find("failed make target:").unwrap_or_else(|| panic!("{t}"));
    let log = err.find("full log: ").unwrap_or_else(|| panic!("{t}"));
    assert!(first < line && line < target && target < log, "{t}");
    assert!(err.contains("'smtls_undeclared_symbol' undeclared"), "{t}");
    assert!(err.contains("main.o] Error"), "{t}");
    let log_path = err[log + "full log: ".len()..].lines().next().unwrap().trim();
    assert!(std::fs::read_to_string(log_path).unwrap().contains("smtls_undeclared_symbol"));
    let _ = std::fs::remove_dir_all(&dir);
}

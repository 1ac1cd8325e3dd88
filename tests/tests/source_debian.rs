//! The Debian source package for real: `source-package --format debian`
//! on the shared build, `dpkg-source -x` (the upstream signature checked
//! without a warning), then `dpkg-buildpackage` in clean bookworm chroots
//! that hold only build-essential and the Build-Depends, with no network
//! and no Rust, twice from different build paths at once (the .debs must
//! be identical); the farm's .deb compared with dist's (control fields,
//! file list with modes and owners, sums of the files that are not
//! built), lintian on the .dsc and the .changes, the extracted tree
//! grepped for the generating host's facts, and the farm's .deb installed
//! in a clean chroot.

use anyhow::Result;
use smtls_tests::chroot::{self, Chroot};
use smtls_tests::{artifact, ok, scratch, sh, shared_build, shared_packages, xtask};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const VERSION: &str = "8.18.2";

/// Build-Depends of the .dsc, read back from it.
fn build_depends(dsc: &str) -> Vec<String> {
    let line = dsc.lines().find_map(|l| l.strip_prefix("Build-Depends: ")).expect("Build-Depends in the .dsc");
    line.split(", ").map(|d| d.split_whitespace().next().unwrap().to_string()).collect()
}

/// `dpkg-source -x` then `dpkg-buildpackage -b` inside a fresh copy of the
/// build chroot, at `/build/<path>`, without network; the results (.deb,
/// .buildinfo, .changes) copied to `out`. Returns the build's log.
fn farm_build(name: &str, base: &Path, source: &Path, path: &str, jobs: usize, out: &Path) -> Result<String> {
    let c = Chroot::unpack(name, base)?;
    let inside = format!("/build/{path}");
    std::fs::create_dir_all(c.path(&inside))?;
    for e in std::fs::read_dir(source)? {
        let p = e?.path();
        std::fs::copy(&p, c.path(&inside).join(p.file_name().unwrap()))?;
    }
    let script = format!(
        "cd {inside} && dpkg-source -x *.dsc src >dpkg-source.log 2>&1 && cd src && \
         DEB_BUILD_OPTIONS=parallel={jobs} dpkg-buildpackage -us -uc -b 2>&1"
    );
    let o = c.run_isolated(&script)?;
    let log = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    anyhow::ensure!(o.status.success(), "the farm build in {inside} failed:\n{log}");
    std::fs::create_dir_all(out)?;
    for e in std::fs::read_dir(c.path(&inside))? {
        let p = e?.path();
        let n = p.file_name().unwrap().to_string_lossy().to_string();
        if n.ends_with(".deb") || n.ends_with(".buildinfo") || n.ends_with(".changes") {
            std::fs::copy(&p, out.join(&n))?;
        }
    }
    Ok(log)
}

/// A .deb's members: path -> (mode and owner column, link target, sha256
/// of the bytes; of the uncompressed bytes for .gz, which another gzip
/// writes differently).
fn members(deb: &Path, dir: &Path) -> BTreeMap<String, (String, String, Option<String>)> {
    std::fs::create_dir_all(dir).unwrap();
    sh("dpkg-deb", &["-x", deb.to_str().unwrap(), dir.to_str().unwrap()]);
    let mut out = BTreeMap::new();
    for line in sh("dpkg-deb", &["-c", deb.to_str().unwrap()]).lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        let (perm, owner, name) = (w[0], w[1], w[5].trim_start_matches('.'));
        let link = if perm.starts_with('l') { w[7].to_string() } else { String::new() };
        let file = dir.join(name.trim_start_matches('/'));
        let sum = (perm.starts_with('-')).then(|| {
            let bytes = std::fs::read(&file).unwrap();
            if bytes.starts_with(b"\x7fELF") || name.ends_with(".a") {
                "built".to_string()
            } else if name.ends_with(".gz") {
                let mut plain = vec![];
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut plain).unwrap();
                hex(&plain)
            } else {
                hex(&bytes)
            }
        });
        out.insert(name.trim_end_matches('/').to_string(), (format!("{perm} {owner}"), link, sum));
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The control fields of a .deb, Installed-Size aside (the built files'
/// sizes differ by a few bytes).
fn control(deb: &Path) -> Vec<String> {
    sh("dpkg-deb", &["-f", deb.to_str().unwrap()])
        .lines()
        .filter(|l| !l.starts_with("Installed-Size:"))
        .map(str::to_string)
        .collect()
}

fn lintian(file: &Path) -> String {
    let o = Command::new("lintian")
        .args(["--pedantic", "-I", "--no-tag-display-limit"])
        .arg(file)
        .output()
        .expect("running lintian");
    let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    eprintln!("lintian {}:\n{said}", file.display());
    said
}

#[test]
fn the_farm_builds_the_dsc_into_dists_deb_twice_the_same() {
    if let Some(why) = chroot::unavailable() {
        panic!("{why}");
    }
    // dist's .deb and the source package, from the same shared build.
    let root = shared_build(VERSION).unwrap();
    let dist = artifact(&shared_packages(VERSION, "source-debian-dist", "deb", &[]), ".deb");
    let source = scratch("source-debian");
    let (w, s) = (root.to_str().unwrap(), source.to_str().unwrap());
    ok(xtask(&["--version", VERSION, "--work-dir", w, "source-package", "--format", "debian", "--out", s], &[]));
    let dsc = artifact(&source, ".dsc");
    let dsc_text = std::fs::read_to_string(&dsc).unwrap();
    assert!(source.join(format!("smtls-sendmail_{VERSION}.orig.tar.gz.asc")).is_file(), "no upstream signature");

    // dpkg-source checks the upstream signature against
    // debian/upstream/signing-key.asc: no warning about it.
    let x = scratch("source-debian-x");
    let o = Command::new("dpkg-source").arg("-x").arg(&dsc).arg(x.join("src")).output().unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    eprintln!("dpkg-source -x:\n{said}");
    assert!(o.status.success(), "{said}");
    assert!(!said.to_lowercase().contains("signature"), "dpkg-source said something about a signature:\n{said}");
    // No fact of the generating host in what the generator wrote.
    let tree = x.join("src");
    let host = sh("hostname", &["-f"]).trim().to_string();
    let home = std::env::var("HOME").unwrap();
    // (Upstream's files are upstream's pinned bytes: a short host name
    // such as "vm" is a word of them; the generated debian/ must not
    // have it.)
    for (what, needle, dir) in [
        ("the work directory", w.to_string(), tree.clone()),
        ("the host name", host.clone(), tree.join("debian")),
        ("$HOME", home.clone(), tree.join("debian")),
    ] {
        let o = Command::new("grep").args(["-rlwF", "--", &needle]).arg(&dir).output().unwrap();
        assert!(o.stdout.is_empty(), "{what} ({needle}) is in {}", String::from_utf8_lossy(&o.stdout));
    }

    // The farm: build-essential and the Build-Depends from bookworm main,
    // nothing else; two builds from different paths at once.
    let mut packages = vec!["build-essential".to_string()];
    packages.extend(build_depends(&dsc_text).into_iter().filter(|d| d != "debhelper-compat"));
    packages.push("debhelper".into());
    let refs: Vec<&str> = packages.iter().map(String::as_str).collect();
    let base = chroot::cached_tarball("buildd", &refs).unwrap();
    let (a_out, b_out) = (scratch("source-debian-a"), scratch("source-debian-b"));
    let started = std::time::Instant::now();
    let (a, b) = std::thread::scope(|t| {
        let a = t.spawn(|| farm_build("farm-a", &base, &source, "src", 1, &a_out));
        let b = t.spawn(|| farm_build("farm-b", &base, &source, "other/longer/path", 1, &b_out));
        (a.join().unwrap(), b.join().unwrap())
    });
    let log = a.unwrap();
    b.unwrap();
    eprintln!("two farm builds in {:.0} s; the first one's tail:\n{}", started.elapsed().as_secs_f64(), {
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(12)..].join("\n")
    });
    assert!(log.contains("obj./sendmail/sendmail -d0.14 -bt"), "dh_auto_test did not run -d0.14:\n{log}");
    let farm = artifact(&a_out, ".deb");
    assert_eq!(
        std::fs::read(&farm).unwrap(),
        std::fs::read(artifact(&b_out, ".deb")).unwrap(),
        "two farm builds from different paths differ: diffoscope {} {}",
        farm.display(),
        artifact(&b_out, ".deb").display()
    );
    let buildinfo = std::fs::read_to_string(artifact(&a_out, ".buildinfo")).unwrap();
    assert!(buildinfo.contains("Installed-Build-Depends:") && buildinfo.contains(" libssl-dev (="), "{buildinfo}");

    // The same package as dist's.
    assert_eq!(control(&farm), control(&dist), "control fields");
    let (f, d) = (members(&farm, &scratch("source-debian-farm-x")), members(&dist, &scratch("source-debian-dist-x")));
    let names = |m: &BTreeMap<String, _>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&f), names(&d), "file lists");
    for (path, farm_entry) in &f {
        assert_eq!(farm_entry, &d[path], "{path}: (mode owner, link, sum of what is not built)");
    }
    let (fc, dc) = (scratch("source-debian-ctl-farm"), scratch("source-debian-ctl-dist"));
    sh("dpkg-deb", &["-e", farm.to_str().unwrap(), fc.to_str().unwrap()]);
    sh("dpkg-deb", &["-e", dist.to_str().unwrap(), dc.to_str().unwrap()]);
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        let read = |d: &Path| std::fs::read_to_string(d.join(script)).unwrap();
        assert_eq!(read(&fc), read(&dc), "{script}: debhelper's differs from dist's");
    }
    for member in ["conffiles", "md5sums"] {
        let listed = |deb: &Path| {
            let t = scratch(&format!("source-debian-ctl-{member}"));
            sh("dpkg-deb", &["-e", deb.to_str().unwrap(), t.to_str().unwrap()]);
            let text = std::fs::read_to_string(t.join(member)).unwrap();
            let mut v: Vec<String> = text.lines().map(|l| l.split_whitespace().last().unwrap().to_string()).collect();
            v.sort();
            v
        };
        assert_eq!(listed(&farm), listed(&dist), "{member}");
    }

    // Debian's own checks: no error, no warning.
    let changes = artifact(&a_out, ".changes");
    for file in [&dsc, &changes] {
        let said = lintian(file);
        let bad: Vec<&str> = said.lines().filter(|l| l.starts_with("E:") || l.starts_with("W:")).collect();
        assert!(bad.is_empty(), "lintian {}: {bad:#?}", file.display());
    }

    // The farm's .deb installs in a clean chroot and its sendmail proves
    // its TLS build.
    let c = Chroot::new("source-debian-install").unwrap();
    let inside = c.copy_in(&farm, "/tmp").unwrap();
    c.ok(&format!("apt-get install -y {inside} </dev/null")).unwrap();
    let d0 = c.ok("timeout 30 sendmail -d0.14 -bt </dev/null || true").unwrap();
    for token in ["STARTTLS", "TLS_EC", "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"] {
        assert!(d0.split_whitespace().any(|w| w == token), "{token} missing from:\n{d0}");
    }
    c.ok("test \"$(stat -c %U:%G:%a /usr/libexec/sendmail/sendmail)\" = root:smmsp:2555").unwrap();
}

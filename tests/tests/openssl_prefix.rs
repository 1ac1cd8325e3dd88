//! `--openssl-prefix`: a non-system OpenSSL builds, links with a run path
//! into the prefix, verifies and passes smoke; a .deb bundles it; releases
//! that do not fit the host's OpenSSL or SASL are refused before fetching.

use smtls_tests::{failed_checks, ok, openssl, scratch, shared_cache, text, xtask, BARE_LF_SMUGGLING};
use std::path::Path;

/// The 1.1.1w prefix built from the openssl-src crate: 8.17.1.9 builds
/// against it, links it through its RUNPATH, verifies and passes smoke's
/// TLS checks.
#[test]
fn sendmail_builds_verifies_and_smokes_with_openssl_111() {
    let prefix = openssl::openssl111_prefix().expect("building OpenSSL 1.1.1 from openssl-src");
    let work = scratch("prefix111");
    let (w, c, p) = (work.to_str().unwrap(), shared_cache(), prefix.to_str().unwrap());
    let base = ["--version", "8.17.1.9", "--work-dir", w, "--cache-dir", c.to_str().unwrap()];
    let out = ok(xtask(&[&base[..], &["dist", "--openssl-prefix", p, "--format", "tar"]].concat(), &[]));
    let log = text(&out);
    let lib = prefix.join("lib");
    assert!(log.contains(&format!("pass RUNPATH into the OpenSSL prefix: RUNPATH {}", lib.display())), "{log}");
    assert!(log.contains("pass linked OpenSSL is the prefix's: linked 0x1010117f"), "{log}");
    assert!(log.contains("pass define TLS_EC"), "{log}");
    // The Makefiles carry the whole run path (m4 once cut it at a comma).
    let mk = std::fs::read_to_string(work.join("8.17.1.9/src/sendmail-8.17.1.9/obj./sendmail/Makefile")).unwrap();
    let libdirs = mk.lines().find(|l| l.starts_with("LIBDIRS=")).expect("a LIBDIRS line");
    assert!(libdirs.contains(&format!("-Xlinker -rpath -Xlinker {}", lib.display())), "{libdirs}");
    let d = xtask::verify::dynamic(&work.join("8.17.1.9/src/sendmail-8.17.1.9/obj./sendmail/sendmail")).unwrap();
    assert_eq!(d.runpath, [lib.display().to_string()]);
    assert!(d.needed.contains(&"libssl.so.1.1".to_string()), "{:?}", d.needed);
    let conf = std::fs::read_to_string(work.join("8.17.1.9/configuration.json")).unwrap();
    assert!(conf.contains("TLS_EC=2"), "1.1.1 is 1.1.0 or later: {conf}");
    // 8.17.1.9 predates 8.18.1's end-of-data fix: smoke fails exactly the
    // bare-LF smuggling checks, and every TLS check passes.
    let out = xtask(&[&base[..], &["smoke"]].concat(), &[]);
    let log = text(&out);
    assert!(log.contains("pass ecdhe") && log.contains("over X25519 without HelloRetryRequest"), "{log}");
    assert_eq!(failed_checks(&out), BARE_LF_SMUGGLING, "{log}");
    let _ = std::fs::remove_dir_all(&work);
}

/// A private copy of the system's OpenSSL: 8.18.2 links it through its
/// RUNPATH; a .deb refuses it unless asked to bundle, and then carries the
/// libraries in a private directory with a run path to it.
#[test]
fn a_deb_bundles_a_private_openssl_or_refuses() {
    let work = scratch("prefix-copy");
    let prefix = openssl::system_copy(&work.join("ssl")).expect("copying the system OpenSSL");
    let (w, c, p) = (work.to_str().unwrap(), shared_cache(), prefix.to_str().unwrap());
    let base = ["--version", "8.18.2", "--work-dir", w, "--cache-dir", c.to_str().unwrap()];
    let out = xtask(&[&base[..], &["dist", "--openssl-prefix", p, "--format", "deb"]].concat(), &[]);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("--bundle-openssl") && log.contains("--format tar"), "{log}");
    assert!(!log.contains("package::deb") && !log.contains("BUILTIN"), "{log}");
    let pkgs = work.join("out");
    let o = pkgs.to_str().unwrap();
    let out = ok(xtask(
        &[&base[..], &["dist", "--openssl-prefix", p, "--format", "deb", "--bundle-openssl", "--out", o]].concat(),
        &[],
    ));
    assert!(text(&out).contains("pass RUNPATH into the OpenSSL prefix"), "{}", text(&out));
    let deb = smtls_tests::artifact(&pkgs, ".deb");
    let listing = smtls_tests::sh("dpkg-deb", &["-c", deb.to_str().unwrap()]);
    let multiarch = smtls_tests::sh("dpkg-architecture", &["-qDEB_HOST_MULTIARCH"]).trim().to_string();
    let private = format!("/usr/lib/{multiarch}/smtls-sendmail");
    for lib in ["libssl.so.3", "libcrypto.so.3"] {
        assert!(listing.contains(&format!(".{private}/{lib}")), "{lib} missing:\n{listing}");
    }
    let x = work.join("x");
    smtls_tests::sh("dpkg-deb", &["-x", deb.to_str().unwrap(), x.to_str().unwrap()]);
    let sendmail = find_sendmail(&x).expect("sendmail in the package");
    let d = xtask::verify::dynamic(&sendmail).unwrap();
    assert_eq!(d.runpath, [private.as_str()], "the packaged binary must find the bundled libraries");
    assert!(d.rpath.is_empty());
    // No packaged program keeps a run path into the build machine's prefix
    // (the Makefiles give every program the same LIBDIRS).
    let files = smtls_tests::sh("find", &[x.to_str().unwrap(), "-type", "f"]);
    for f in files.lines() {
        if let Ok(d) = xtask::verify::dynamic(Path::new(f)) {
            assert!(d.runpath.iter().all(|p| *p == private) && d.rpath.is_empty(), "{f}: {d:?}");
        }
    }
    let control = smtls_tests::sh("dpkg-deb", &["-f", deb.to_str().unwrap(), "Depends"]);
    assert!(!control.contains("libssl"), "the bundled OpenSSL is not a dependency: {control}");
    let _ = std::fs::remove_dir_all(&work);
}

fn find_sendmail(root: &Path) -> Option<std::path::PathBuf> {
    ["usr/sbin/sendmail", "usr/libexec/sendmail/sendmail", "usr/lib/sm.bin/sendmail"]
        .iter()
        .map(|p| root.join(p))
        .find(|p| p.is_file() && !p.is_symlink())
}

/// Releases that do not fit this host's OpenSSL 3 or Cyrus SASL 2.1.28 are
/// refused from the table, before anything is fetched.
#[test]
fn releases_that_do_not_fit_are_refused_before_fetching() {
    let work = scratch("compat");
    let (w, c) = (work.to_str().unwrap(), work.join("cache"));
    let base = ["--work-dir", w, "--cache-dir", c.to_str().unwrap()];
    let out = xtask(&[&base[..], &["--version", "8.16.1", "--sha256", &"ab".repeat(32), "dist"]].concat(), &[]);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("sendmail 8.16.1 does not build with OpenSSL 3.0.0 or later"), "{log}");
    assert!(log.contains("--openssl-prefix"), "{log}");
    let out = xtask(&[&base[..], &["--version", "8.15.2", "dist", "--without", "sasl"]].concat(), &[]);
    assert!(text(&out).contains("sendmail 8.15.2 does not build with OpenSSL 3.0.0"), "{}", text(&out));
    // Too old for the flags asked for: refused from the flag and option tables.
    let out = xtask(&[&base[..], &["--version", "8.14.9", "--sha256", &"ab".repeat(32), "dist"]].concat(), &[]);
    assert!(text(&out).contains("_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE (it arrived in 8.15.1)"), "{}", text(&out));
    let out = xtask(&[&base[..], &["--version", "8.15.2", "dist", "--with", "cdb"]].concat(), &[]);
    assert!(text(&out).contains("option `cdb` cannot be built: sendmail 8.15.2 predates it"), "{}", text(&out));
    for v in ["8.16.1", "8.15.2", "8.14.9"] {
        assert!(!work.join(v).join("src").exists(), "{v}: nothing fetched");
    }
    assert!(!c.join("distfiles").exists(), "nothing downloaded");
    let _ = std::fs::remove_dir_all(&work);
}

/// With a fitting OpenSSL (1.1.1), the SASL rule speaks: Cyrus SASL 2.1.28
/// needs 8.17.1 or later.
#[test]
fn sasl_2_1_28_host_refuses_old_sasl_code_with_the_fix() {
    let sasl = smtls_tests::sh("sh", &["-c", "dpkg-query -W -f='${Version}' libsasl2-2 2>/dev/null || true"]);
    assert!(
        sasl.starts_with("2.1.28") || sasl.starts_with("2.1.29") || sasl.starts_with("2.1.3"),
        "this test needs a host with Cyrus SASL 2.1.28 or later (Debian bookworm's libsasl2-2); this one has {sasl:?}"
    );
    let prefix = openssl::openssl111_prefix().expect("building OpenSSL 1.1.1");
    let work = scratch("compat-sasl");
    let (w, c) = (work.to_str().unwrap(), work.join("cache"));
    let base = ["--work-dir", w, "--cache-dir", c.to_str().unwrap(), "--version", "8.15.2"];
    let out = xtask(&[&base[..], &["dist", "--openssl-prefix", prefix.to_str().unwrap()]].concat(), &[]);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("does not work with Cyrus SASL 2.1.28 or later") && log.contains("--without sasl"), "{log}");
    assert!(!c.join("distfiles").exists(), "nothing downloaded");
    let _ = std::fs::remove_dir_all(&work);
}

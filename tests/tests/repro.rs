//! `cargo xtask repro` for real: two full fetch-configure-build-package runs
//! in different directories, umasks, time zones and locales give identical
//! artifacts; and a difference injected into the second run is caught and
//! named down to the tar member.

use smtls_tests::*;

#[test]
fn repro_passes_and_catches_an_injected_difference() {
    let dir = scratch("repro");
    let cache = shared_cache();
    let (d, c) = (dir.to_str().unwrap(), cache.to_str().unwrap());
    // Make sure the tarball is in the shared cache (built once for all tests).
    shared_build("8.18.2").unwrap();
    // This host's formats, and a .pkg (with --abi where the programs are not FreeBSD's).
    let abi = pkg_abi_args();
    let mut args = vec!["--work-dir", d, "--cache-dir", c, "repro", "--dir", d, "--format", "deb,pkg,tar"];
    args.extend(abi.iter().map(String::as_str));
    let out = ok(xtask(&args, &[]));
    let t = text(&out);
    assert!(t.contains("artifacts are byte-identical across the two runs"), "{t}");
    let sums = String::from_utf8_lossy(&out.stdout).to_string();
    for suffix in [".deb", ".pkg", ".tar.gz"] {
        assert!(sums.lines().any(|l| l.len() > 66 && l.ends_with(suffix)), "no sum for *{suffix}:\n{sums}");
    }

    // The same two builds, packaged again with one file changed in the second run.
    let mut args =
        vec!["--work-dir", d, "--cache-dir", c, "repro", "--dir", d, "--reuse-builds", "--inject-difference"];
    args.extend(["--format", "deb,pkg,tar"]);
    args.extend(abi.iter().map(String::as_str));
    let bad = xtask(&args, &[]);
    let t = text(&bad);
    assert!(!bad.status.success(), "an injected difference went unnoticed:\n{t}");
    assert!(
        t.contains("ar member data.tar.gz: tar member ./etc/mail/sendmail.mc: content differs"),
        "the report does not name the member:\n{t}"
    );
    assert!(t.contains("tar member ./etc/mail/sendmail.mc: content differs"), "{t}");
    assert!(t.contains("not reproducible"), "{t}");
}

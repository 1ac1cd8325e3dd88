//! The main job for real: fetch, configure, build and verify with the
//! system's compiler and OpenSSL.

use smtls_tests::*;

#[test]
fn dist_8_18_2_builds_and_verifies() {
    let root = shared_build("8.18.2").unwrap();
    let w = root.to_str().unwrap();
    let out = ok(xtask(&["--version", "8.18.2", "--work-dir", w, "verify", "--json"], &[]));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], true);
    let compiled: Vec<&str> =
        report["info"]["compiled_with"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(compiled.contains(&"STARTTLS") && compiled.contains(&"TLS_EC"), "{compiled:?}");
    let ffr: Vec<&str> =
        report["info"]["ffr_defines"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(ffr.contains(&"_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"), "{ffr:?}");
    assert!(report["needed"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().starts_with("libssl.so")));
}

#[test]
fn dist_8_17_1_9_builds_and_verifies() {
    let root = shared_build("8.17.1.9").unwrap();
    let out = ok(xtask(&["--version", "8.17.1.9", "--work-dir", root.to_str().unwrap(), "verify"], &[]));
    let t = text(&out);
    assert!(t.contains("pass define _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"), "{t}");
}

#[test]
fn verify_fails_on_a_binary_without_the_flags() {
    // Debian's own sendmail, when installed, lacks the chain-file flag; any
    // non-sendmail ELF lacks everything. Use the xtask binary itself.
    let bin = xtask_bin();
    let out = xtask(&["verify", "--binary", bin.to_str().unwrap()], &[]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    // It failed for the flags and the libraries, not for want of the binary.
    assert!(t.contains(&format!("{} failed verification:", bin.display())), "{t}");
    for check in [
        "FAIL define STARTTLS",
        "FAIL define TLS_EC",
        "FAIL define _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE",
        "FAIL ELF NEEDED libssl",
    ] {
        assert!(t.contains(check), "{check} missing:\n{t}");
    }
}

#[test]
fn impossible_configuration_is_refused() {
    let root = shared_build("8.18.2").unwrap();
    // Configure in a copy-free way: the shared tree is only read, since the
    // error comes before anything is written.
    let before = std::fs::read(root.join("8.18.2/src/sendmail-8.18.2/devtools/Site/site.config.m4")).unwrap();
    let out = xtask(&["--work-dir", root.to_str().unwrap(), "configure", "--define", "NO_DH"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("NO_DH cannot be combined with TLS_EC"), "{}", text(&out));
    let after = std::fs::read(root.join("8.18.2/src/sendmail-8.18.2/devtools/Site/site.config.m4")).unwrap();
    assert_eq!(before, after, "a refused configuration writes nothing");
}

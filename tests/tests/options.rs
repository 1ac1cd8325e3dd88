//! Build options (issue: SASL, IPv6, maps, DANE, MTA-STS): real probes, real
//! builds, and verify's proof in `-d0.14` output.

use smtls_tests::*;

#[test]
fn options_lists_every_option_with_its_state() {
    let out = ok(xtask(&["options", "--json"], &[]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v.as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    for n in ["sasl", "ipv6", "ldap", "bdb", "cdb", "regex", "socketmap", "tcpwrappers", "milter", "dane", "mta-sts"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    for d in v.as_array().unwrap() {
        assert!(["enabled", "disabled", "unavailable", "missing"].contains(&d["state"].as_str().unwrap()), "{d}");
        assert!(d["why"].as_str().is_some_and(|w| !w.is_empty()), "every state says why: {d}");
    }
    // The default set is the table's, the same on every host: each option
    // says whether it is in it, and a default is never silently dropped.
    let defaults: Vec<&str> =
        v.as_array().unwrap().iter().filter(|d| d["default"] == true).map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(
        defaults,
        [
            "sasl",
            "ipv6",
            "bdb",
            "regex",
            "socketmap",
            "milter",
            "dane",
            "reject-nul",
            "tls-altnames",
            "badrcpt-shutdown"
        ]
    );
    for d in v.as_array().unwrap().iter().filter(|d| d["default"] == true) {
        assert!(["enabled", "missing"].contains(&d["state"].as_str().unwrap()), "{d}");
    }
    let t = text(&ok(xtask(&["options"], &[])));
    assert!(t.contains("sasl") && t.contains("[package: libsasl2-dev]"), "{t}");
    let sasl = t.lines().find(|l| l.trim_start().starts_with("sasl ")).unwrap();
    assert!(sasl.contains(" default "), "{sasl}");
    let ldap = t.lines().find(|l| l.trim_start().starts_with("ldap ")).unwrap();
    assert!(ldap.contains("not in the default set"), "{ldap}");
    let t = text(&ok(xtask(&["options", "--without", "sasl"], &[])));
    let sasl = t.lines().find(|l| l.trim_start().starts_with("sasl ")).unwrap();
    assert!(sasl.contains("disabled") && sasl.contains("--without (it is in the default set)"), "{sasl}");
}

#[test]
fn an_unavailable_option_names_its_package() {
    // Find an option whose library this host really lacks (CI leaves
    // libwrap0-dev out on purpose), then ask for it.
    let out = ok(xtask(&["options", "--json", "--with", "sasl"], &[]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let probe_all = ok(xtask(&["options", "--json"], &[]));
    let all: serde_json::Value = serde_json::from_slice(&probe_all.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), all.as_array().unwrap().len());
    let dir = scratch("options-unavailable");
    let w = dir.to_str().unwrap();
    let mut tried = vec![];
    for name in ["tcpwrappers", "cdb", "ldap"] {
        let out = xtask(&["--work-dir", w, "options", "--with", name], &[]);
        if out.status.success() {
            tried.push(name);
            continue;
        }
        let t = text(&out);
        let pkg = match name {
            "tcpwrappers" => "libwrap0-dev",
            "cdb" => "libcdb-dev",
            _ => "libldap-dev",
        };
        assert!(t.contains(&format!("option `{name}` cannot be built here")), "{t}");
        assert!(t.contains(&format!("apt-get install {pkg}")), "{t}");
        std::fs::remove_dir_all(&dir).unwrap();
        return;
    }
    panic!("every optional library ({tried:?}) is installed here: uninstall libwrap0-dev to run this test");
}

#[test]
fn too_old_a_version_is_refused_before_anything_runs() {
    let out = xtask(&["--version", "8.16.1", "--sha256", &"0".repeat(64), "options", "--with", "mta-sts"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("predates it (since 8.17.1)"), "{}", text(&out));
}

#[test]
fn default_build_lists_its_options_and_libmilter() {
    let root = shared_build("8.18.2").unwrap();
    let out = ok(xtask(&["--work-dir", root.to_str().unwrap(), "verify", "--json"], &[]));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("8.18.2/configuration.json")).unwrap()).unwrap();
    let on: Vec<&str> = config["options"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    assert!(on.contains(&"milter") && on.contains(&"ipv6"), "{on:?}");
    let checks = r["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["ok"] == true), "{checks:?}");
    assert!(checks.iter().any(|c| c["name"] == "define NETINET6"), "{checks:?}");
    assert!(root.join("8.18.2/src/sendmail-8.18.2/obj./libmilter/libmilter.a").is_file());
}

#[test]
fn options_switched_off_are_gone_from_the_binary() {
    let dir = scratch("options-off");
    let (w, c) = (dir.to_str().unwrap().to_string(), shared_cache());
    let off = "sasl,ipv6,bdb,regex,socketmap,milter,dane,reject-nul";
    let out = ok(xtask(&["--work-dir", &w, "--cache-dir", c.to_str().unwrap(), "dist", "--without", off], &[]));
    let t = text(&out);
    for token in ["SASLv2", "NETINET6", "NEWDB", "MAP_REGEX", "SOCKETMAP", "MILTER", "DANE", "_FFR_REJECT_NUL_BYTE"] {
        assert!(t.contains(&format!("pass option off: {token}")), "{token}: {t}");
    }
    assert!(!t.contains("define _FFR_REJECT_NUL_BYTE"), "off, so not required: {t}");
    assert!(!dir.join("8.18.2/src/sendmail-8.18.2/obj./libmilter").exists());
    // Without the define the shipped .cf must not name RejectNUL (sendmail
    // would call it unknown); the .mc says why it is missing.
    let etc = dir.join("8.18.2/stage/debian/root/etc/mail");
    let cf = std::fs::read_to_string(etc.join("sendmail.cf")).unwrap();
    assert!(!cf.lines().any(|l| l.starts_with("O RejectNUL")), "{cf}");
    let mc = std::fs::read_to_string(etc.join("sendmail.mc")).unwrap();
    assert!(mc.contains("built without _FFR_REJECT_NUL_BYTE (--without reject-nul)"), "{mc}");

    // The same build, smoked: the TLS checks pass, the SMTP AUTH checks are
    // reported as skipped (one line, with the reason), not left out, and
    // the NUL check fails saying the binary cannot refuse NUL bytes.
    let out = xtask(&["--work-dir", &w, "--cache-dir", c.to_str().unwrap(), "smoke"], &[]);
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(failed_checks(&out), ["nul-refused"], "{}", text(&out));
    let so = String::from_utf8_lossy(&out.stdout).into_owned();
    let passed: Vec<&str> =
        so.lines().filter_map(|l| l.strip_prefix("pass ")).filter_map(|l| l.split(':').next()).collect();
    assert_eq!(&passed[..5], ["starttls-chain", "ecdhe", "no-tls1.1", "smtps", "delivery"], "{so}");
    assert_eq!(passed.len(), 5 + 8, "the end-of-data section follows, all but the NUL check: {so}");
    let skips: Vec<&str> = so.lines().filter(|l| l.starts_with("skip ")).collect();
    assert_eq!(skips.len(), 1, "{so}");
    assert!(skips[0].starts_with("skip auth-before-tls, auth-after-tls, auth-login: "), "{so}");
    assert!(skips[0].contains("was built without SASL") && skips[0].contains("no SASLv2"), "{so}");
    let nul = so.lines().find(|l| l.starts_with("FAIL nul-refused: ")).unwrap();
    assert!(nul.contains("was built without _FFR_REJECT_NUL_BYTE (not in its -d0.14 FFR list)"), "{nul}");
    assert!(!text(&out).contains("SASL_CONF_PATH"), "no SASL setup without SASL: {}", text(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_release_without_reject_nul_is_refused_before_fetching() {
    // releases.toml: _FFR_REJECT_NUL_BYTE was not found before 8.14.7, so a
    // default build of 8.14.6 is refused before anything is fetched.
    let dir = scratch("reject-nul-too-old");
    let (w, c) = (dir.join("work"), dir.join("cache"));
    let zero = "0".repeat(64);
    let base = ["--version", "8.14.6", "--sha256", &zero, "--work-dir", w.to_str().unwrap()];
    let base = [&base[..], &["--cache-dir", c.to_str().unwrap(), "dist", "--no-ec", "--no-cert-chain"]].concat();
    let out = xtask(&base, &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("sendmail 8.14.6 has no _FFR_REJECT_NUL_BYTE (option `reject-nul`)"), "{t}");
    assert!(t.contains("--without reject-nul") && t.contains("CVE-2023-51765"), "{t}");
    assert!(!c.join("distfiles").exists(), "nothing is fetched: {t}");
    std::fs::remove_dir_all(&dir).unwrap();
}

//! `cargo xtask smoke` for real: the built sendmail as a daemon on
//! 127.0.0.1, checked by a real TLS client; and the controls that prove the
//! checks can fail.

use smtls_tests::*;
use std::path::Path;
use std::process::Output;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The check lines, as (pass, name, detail).
fn checks(out: &Output) -> Vec<(bool, String, String)> {
    stdout(out)
        .lines()
        .filter_map(|l| {
            let (pass, rest) = match l.split_once(' ')? {
                ("pass", r) => (true, r),
                ("FAIL", r) => (false, r),
                _ => return None,
            };
            let (name, detail) = rest.split_once(": ")?;
            Some((pass, name.to_string(), detail.to_string()))
        })
        .collect()
}

fn check<'a>(all: &'a [(bool, String, String)], name: &str) -> &'a (bool, String, String) {
    all.iter().find(|c| c.1 == name).unwrap_or_else(|| panic!("no {name} line in {all:?}"))
}

/// The pid and ports the run reported ("sendmail -bD (pid N...) starting:
/// SMTP on 127.0.0.1:P, SMTPS on 127.0.0.1:Q").
fn daemon_facts(err: &str) -> (i32, Vec<u16>) {
    let line = err.lines().find(|l| l.contains("sendmail -bD (pid ")).expect("a daemon start line");
    let pid = line.split("(pid ").nth(1).unwrap().split([',', ')']).next().unwrap().parse().unwrap();
    let ports = line
        .split("127.0.0.1:")
        .skip(1)
        .map(|p| p.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap())
        .collect();
    (pid, ports)
}

/// The five TLS checks, the three SMTP AUTH checks, then the end-of-data
/// section (tests/tests/eod.rs looks at it in detail).
const ALL_CHECKS: [&str; 17] = [
    "starttls-chain",
    "ecdhe",
    "no-tls1.1",
    "smtps",
    "delivery",
    "auth-before-tls",
    "auth-after-tls",
    "auth-login",
    "eod-control",
    "eod-lf-dot-crlf",
    "eod-lf-dot-lf",
    "eod-crlf-dot-lf",
    "eod-cr-dot-cr",
    "eod-cr-dot-crlf",
    "eod-crlf-nul-dot-crlf",
    "eod-crlf-dot-nul-crlf",
    "nul-refused",
];

/// The system-wide places Cyrus SASL looks for Sendmail.conf (Debian):
/// whether each exists, and its bytes.
fn system_sasl_files() -> Vec<(String, Option<Vec<u8>>)> {
    ["/etc/sasl2/Sendmail.conf", "/etc/sasl/Sendmail.conf", "/usr/lib/sasl2/Sendmail.conf"]
        .iter()
        .map(|p| (p.to_string(), std::fs::read(p).ok()))
        .chain(std::iter::once(("/etc/sasldb2".to_string(), std::fs::read("/etc/sasldb2").ok())))
        .collect()
}

fn assert_nothing_left(work: &Path, pid: i32, ports: &[u16]) {
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "sendmail pid {pid} still exists");
    for p in ports {
        assert!(std::net::TcpStream::connect(("127.0.0.1", *p)).is_err(), "port {p} still accepts");
    }
    let left: Vec<_> = std::fs::read_dir(work)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("smoke-"))
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "smoke directories left behind: {left:?}");
}

#[test]
fn smoke_8_18_2_passes_every_check_and_leaves_nothing_behind() {
    // The default build has SASL: the five TLS checks and the three AUTH
    // checks, against a private sasldb that no system file points to.
    let root = shared_build("8.18.2").unwrap();
    let system_before = system_sasl_files();
    let out = xtask(&["--version", "8.18.2", "--work-dir", root.to_str().unwrap(), "smoke"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let all = checks(&out);
    let names: Vec<&str> = all.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(names, ALL_CHECKS, "{}", text(&out));
    assert!(all.iter().all(|c| c.0), "{}", text(&out));
    assert!(check(&all, "starttls-chain").2.contains("server sent 2 certificates (leaf, intermediate)"));
    assert!(check(&all, "smtps").2.contains("ESMTP Sendmail 8.18.2"));
    assert!(check(&all, "ecdhe").2.contains("TLS_ECDHE_"));
    assert!(check(&all, "delivery").2.contains("body intact"));
    // Before STARTTLS: CRAM-MD5 only, and PLAIN refused with 504.
    let before = &check(&all, "auth-before-tls").2;
    assert!(before.contains("advertises AUTH CRAM-MD5 only (PLAIN, LOGIN withheld"), "{before}");
    assert!(before.contains("refused: 504 5.3.3"), "{before}");
    assert_eq!(
        check(&all, "auth-after-tls").2.split(" (").next(),
        Some("EHLO inside TLS advertises AUTH PLAIN LOGIN CRAM-MD5")
    );
    // The right password: 235 and an authenticated message; a wrong one: 535.
    let login = &check(&all, "auth-login").2;
    assert!(login.contains("AUTH PLAIN as smoke (realm smoke.smtls.test) from the private sasldb: 235 "), "{login}");
    assert!(login.contains("with ESMTPSA (authenticated)") && login.contains("AUTH LOGIN: 235 "), "{login}");
    assert!(login.contains("a wrong password: 535 "), "{login}");
    assert!(!text(&out).contains("skip "), "{}", text(&out));
    assert!(stderr(&out).contains("found by sendmail through SASL_CONF_PATH"), "{}", text(&out));
    assert_eq!(system_sasl_files(), system_before, "a system SASL file was created or changed");
    let (pid, ports) = daemon_facts(&stderr(&out));
    assert_eq!(ports.len(), 2);
    assert_nothing_left(&root.join("8.18.2"), pid, &ports);
}

#[test]
fn smoke_8_17_1_9_passes_tls_and_auth_and_queues_bare_lf_smuggling() {
    // 8.17.1.9 predates 8.18.1's end-of-data fix: the TLS and AUTH checks
    // pass, and the daemon queues the message smuggled behind each bare-LF
    // ending, which the end-of-data checks report (and smoke fails for).
    let root = shared_build("8.17.1.9").unwrap();
    let out = xtask(&["--version", "8.17.1.9", "--work-dir", root.to_str().unwrap(), "smoke"], &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let all = checks(&out);
    let names: Vec<&str> = all.iter().map(|c| c.1.as_str()).collect();
    assert_eq!(names, ALL_CHECKS, "{}", text(&out));
    assert_eq!(failed_checks(&out), BARE_LF_SMUGGLING, "{}", text(&out));
    for name in BARE_LF_SMUGGLING {
        let detail = &check(&all, name).2;
        assert!(detail.contains("the queue holds the smuggled message from <smuggled-"), "{detail}");
    }
    assert!(check(&all, "smtps").2.contains("ESMTP Sendmail 8.17.1.9"), "{}", text(&out));
    assert!(stderr(&out).contains("warning: sendmail 8.17.1.9 ends DATA at <LF>.<CR><LF>"), "{}", text(&out));
    assert!(stderr(&out).contains("3 of 17 smoke checks failed"), "{}", text(&out));
    let (pid, ports) = daemon_facts(&stderr(&out));
    assert_nothing_left(&root.join("8.17.1.9"), pid, &ports);
}

#[test]
fn a_group_readable_key_is_reported_and_sendmail_is_not_started() {
    let root = shared_build("8.18.2").unwrap();
    let out = xtask(&["--work-dir", root.to_str().unwrap(), "smoke", "--key-mode", "644"], &[]);
    assert!(!out.status.success());
    let so = stdout(&out);
    let line = so.lines().find(|l| l.starts_with("FAIL material: ")).unwrap_or_else(|| panic!("{}", text(&out)));
    assert!(line.contains("/certs/host.key: private key") && line.contains("mode 0644"), "{line}");
    assert!(line.contains("fix: chmod 600 ") && line.ends_with("/certs/host.key"), "{line}");
    assert!(!stderr(&out).contains("sendmail -bD"), "the daemon must not start:\n{}", text(&out));
    assert!(stderr(&out).contains("sendmail was not started"));
    assert!(checks(&out).iter().all(|c| c.1 == "material"), "no check runs: {}", text(&out));
    assert_nothing_left(&root.join("8.18.2"), i32::MAX, &[]);
}

#[test]
fn smoke_takes_a_binary_from_outside_the_work_dir() {
    // As the packaging step will: an installed sendmail, and a work dir that
    // holds nothing yet (the cf/ tree is fetched from the shared cache).
    // Installed as packages do, set-group-ID (the FreeBSD port: 2555
    // root:smmsp; here group mail): Cyrus SASL ignores SASL_CONF_PATH in a
    // set-ID process, so the AUTH checks pass only because -C drops those
    // privileges before sendmail reads its .cf.
    let root = shared_build("8.18.2").unwrap();
    let dir = scratch("smoke-binary");
    let bin = dir.join("sbin/sendmail");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(root.join("8.18.2/src/sendmail-8.18.2/obj./sendmail/sendmail"), &bin).unwrap();
    let mail_gid = std::fs::read_to_string("/etc/group")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("mail:x:").and_then(|r| r.split(':').next()?.parse::<u32>().ok()));
    if let (Some(gid), true) = (mail_gid, xtask::tools::is_root()) {
        std::os::unix::fs::chown(&bin, Some(0), Some(gid)).unwrap();
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o2755)).unwrap();
    }
    let work = dir.join("work");
    let cache = shared_cache();
    let out = xtask(
        &[
            "--work-dir",
            work.to_str().unwrap(),
            "--cache-dir",
            cache.to_str().unwrap(),
            "smoke",
            "--binary",
            bin.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(stderr(&out).contains("for its cf/ tree"), "{}", text(&out));
    assert!(stderr(&out).contains(&format!("smoke test of {}", bin.display())));
    let all = checks(&out);
    let passed: Vec<&str> = all.iter().filter(|c| c.0).map(|c| c.1.as_str()).collect();
    assert_eq!(passed, ALL_CHECKS, "{}", text(&out));
    let (pid, ports) = daemon_facts(&stderr(&out));
    assert_nothing_left(&work.join("8.18.2"), pid, &ports);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn negative_control_without_the_chain_flag_fails_check_1() {
    // A build without _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE serves only the
    // first certificate of its chain file: check 1 (and the SMTPS chain)
    // must fail, for that reason, while the other checks still pass. `dist`
    // would stop at verify (correctly), so the steps run one by one.
    let dir = scratch("smoke-no-chain");
    let (w, c) = (dir.to_str().unwrap().to_string(), shared_cache());
    let base = ["--version", "8.18.2", "--work-dir", &w, "--cache-dir", c.to_str().unwrap()];
    let step = |args: &[&str]| ok(xtask(&[&base[..], args].concat(), &[]));
    step(&["fetch"]);
    step(&["configure", "--no-cert-chain"]);
    step(&["build"]);
    let out = xtask(&[&base[..], &["smoke"]].concat(), &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let all = checks(&out);
    let (pass, _, detail) = check(&all, "starttls-chain");
    assert!(!pass, "{}", text(&out));
    assert!(detail.contains("server sent 1 certificate (leaf)"), "{detail}");
    assert!(detail.contains("UnknownIssuer") || detail.contains("unknown issuer"), "{detail}");
    assert!(!check(&all, "smtps").0, "{}", text(&out));
    for name in ["ecdhe", "no-tls1.1", "delivery", "auth-before-tls", "auth-after-tls", "auth-login"] {
        assert!(check(&all, name).0, "{name} does not depend on the chain:\n{}", text(&out));
    }
    assert!(stderr(&out).contains("2 of 17 smoke checks failed: starttls-chain, smtps"), "{}", text(&out));
    let (pid, ports) = daemon_facts(&stderr(&out));
    assert_nothing_left(&dir.join("8.18.2"), pid, &ports);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn negative_control_with_tls_ec_1_fails_the_x25519_check() {
    // TLS_EC=1 (a bare -DTLS_EC, what Debian and FreeBSD base build) pins
    // P-256 with SSL_CTX_set_tmp_ecdh: a client offering X25519 first then
    // needs a HelloRetryRequest, which the ecdhe check refuses; the daemon
    // still works, so every other check passes.
    let dir = scratch("smoke-tls-ec-1");
    let (w, c) = (dir.to_str().unwrap().to_string(), shared_cache());
    let base = ["--version", "8.18.2", "--work-dir", &w, "--cache-dir", c.to_str().unwrap()];
    let step = |args: &[&str]| ok(xtask(&[&base[..], args].concat(), &[]));
    step(&["fetch"]);
    step(&["configure", "--no-ec", "--define", "TLS_EC=1"]);
    step(&["build"]);
    let out = xtask(&[&base[..], &["smoke"]].concat(), &[]);
    assert!(!out.status.success(), "{}", text(&out));
    let all = checks(&out);
    let (pass, _, detail) = check(&all, "ecdhe");
    assert!(!pass, "{}", text(&out));
    assert!(detail.contains("after a HelloRetryRequest") && detail.contains("TLS_EC=2"), "{detail}");
    for name in ["starttls-chain", "no-tls1.1", "smtps", "delivery"] {
        assert!(check(&all, name).0, "{name} does not depend on the EC mode:\n{}", text(&out));
    }
    let (pid, ports) = daemon_facts(&stderr(&out));
    assert_nothing_left(&dir.join("8.18.2"), pid, &ports);
    std::fs::remove_dir_all(&dir).unwrap();
}

//! The .deb installed for real with dpkg on this machine, checked, then
//! purged whatever happens. It refuses to touch a machine that already has
//! another MTA, and takes a system-wide lock so two tests never run dpkg at
//! once.

use smtls_tests::*;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

const PACKAGE: &str = "smtls-sendmail";

/// Installed packages (status "ii" and friends) that are MTAs.
fn installed_mtas() -> Vec<String> {
    let out = Command::new("dpkg-query").args(["-W", "-f", "${db:Status-Abbrev} ${Package}\n"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('i') || l.starts_with('h') || l.starts_with('r'))
        .filter_map(|l| l.split_whitespace().last().map(str::to_string))
        .filter(|p| {
            p != PACKAGE
                && [
                    "sendmail",
                    "exim",
                    "postfix",
                    "nullmailer",
                    "msmtp-mta",
                    "opensmtpd",
                    "dma",
                    "courier-mta",
                    "ssmtp",
                ]
                .iter()
                .any(|m| p.starts_with(m))
        })
        .collect()
}

fn id_exists(db: &str, name: &str) -> bool {
    Command::new("getent").args([db, name]).output().map(|o| o.status.success()).unwrap_or(false)
}

fn gid_of(group: &str) -> u32 {
    sh("getent", &["group", group]).split(':').nth(2).unwrap().trim().parse().unwrap()
}

fn uid_of(user: &str) -> u32 {
    sh("getent", &["passwd", user]).split(':').nth(2).unwrap().trim().parse().unwrap()
}

/// Purges the package and, when the test created them, the smmsp user and
/// group, whatever happens.
struct Purge {
    smmsp_user_existed: bool,
    smmsp_group_existed: bool,
}

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["--purge", PACKAGE]).status();
        if !self.smmsp_user_existed && id_exists("passwd", "smmsp") {
            let _ = Command::new("deluser").args(["--system", "--quiet", "smmsp"]).status();
        }
        if !self.smmsp_group_existed && id_exists("group", "smmsp") {
            let _ = Command::new("delgroup").args(["--system", "--quiet", "smmsp"]).status();
        }
    }
}

fn mode(path: &str) -> (u32, u32, u32) {
    let m = std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

#[test]
fn deb_installs_runs_and_purges_cleanly() {
    if !xtask::tools::is_root() || which::which("dpkg").is_err() {
        eprintln!("SKIPPED: installing a .deb needs root and dpkg");
        return;
    }
    let lock_path = if Path::new("/var/lock").is_dir() {
        Path::new("/var/lock/smtls-dpkg-test.lock").to_path_buf()
    } else {
        tests_root().join("dpkg.lock")
    };
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).unwrap();
    lock.lock().unwrap();

    let mtas = installed_mtas();
    if !mtas.is_empty() {
        eprintln!(
            "\n\n!!!!! SKIPPED deb_installs_runs_and_purges_cleanly: this machine has an MTA installed ({}).\n\
             !!!!! Installing smtls-sendmail would replace it. Run this test on a machine without one.\n",
            mtas.join(", ")
        );
        return;
    }
    if Path::new("/usr/sbin/sendmail").exists()
        && !Command::new("dpkg").args(["-s", PACKAGE]).output().unwrap().status.success()
    {
        eprintln!(
            "\n\n!!!!! SKIPPED: /usr/sbin/sendmail exists and belongs to no package smtls knows; not touching it.\n"
        );
        return;
    }

    let out = shared_packages("8.18.2", "install", "deb", &[]);
    let deb = artifact(&out, ".deb");
    let _purge =
        Purge { smmsp_user_existed: id_exists("passwd", "smmsp"), smmsp_group_existed: id_exists("group", "smmsp") };
    let _ = Command::new("dpkg").args(["--purge", PACKAGE]).status();

    let install = Command::new("dpkg")
        .args(["-i", deb.to_str().unwrap()])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&install.stdout), String::from_utf8_lossy(&install.stderr));
    eprintln!("dpkg -i:\n{said}");
    assert!(install.status.success(), "dpkg -i failed:\n{said}");
    assert!(said.contains("no TLS certificate was created") && said.contains("/etc/mail/certs"), "{said}");

    // Owners and modes from the contents list, applied by the postinst.
    let smmsp = (uid_of("smmsp"), gid_of("smmsp"));
    assert_eq!(mode("/usr/libexec/sendmail/sendmail"), (0, smmsp.1, 0o2555));
    assert_eq!(mode("/var/spool/clientmqueue"), (smmsp.0, smmsp.1, 0o770));
    assert_eq!(mode("/var/spool/mqueue"), (0, 0, 0o700));
    assert_eq!(mode("/etc/mail/certs"), (0, 0, 0o755));
    assert_eq!(std::fs::read_link("/usr/sbin/sendmail").unwrap(), Path::new("../libexec/sendmail/sendmail"));
    assert!(std::fs::read_dir("/etc/mail/certs").unwrap().next().is_none(), "no certificate may be created");
    let overrides = sh("dpkg-statoverride", &["--list"]);
    for p in ["/usr/libexec/sendmail/sendmail", "/var/spool/clientmqueue", "/var/spool/mqueue"] {
        assert!(overrides.contains(p), "{p} has no statoverride:\n{overrides}");
    }

    // With milter on (the default), libmilter is installed and a milter
    // builds against it: the headers from /usr/include/libmilter, the
    // library from the compiler's default search path.
    if shared_configuration("8.18.2").options.iter().any(|o| o == "milter") {
        let multiarch = sh("gcc", &["-print-multiarch"]).trim().to_string();
        let lib = format!("/usr/lib/{multiarch}/libmilter.a");
        for f in [lib.as_str(), "/usr/include/libmilter/mfapi.h", "/usr/include/libmilter/mfdef.h"] {
            assert_eq!(mode(f), (0, 0, 0o644), "{f}");
        }
        let dir = scratch("install-milter");
        std::fs::write(dir.join("m.c"), MILTER_C).unwrap();
        let bin = dir.join("m");
        let cc = Command::new("cc")
            .arg("-o")
            .arg(&bin)
            .arg(dir.join("m.c"))
            .args(["-lmilter", "-lpthread"])
            .output()
            .unwrap();
        assert!(cc.status.success(), "building a milter failed: {}", String::from_utf8_lossy(&cc.stderr));
        let run = Command::new(&bin).output().unwrap();
        let said = String::from_utf8_lossy(&run.stdout);
        assert!(run.status.success(), "{said}");
        assert_eq!(said.trim(), "registered; libmilter 1.0", "{said}");
    }

    // The installed sendmail proves its TLS flags with -d0.14.
    let v = ok(xtask(&["verify", "--binary", "/usr/sbin/sendmail", "--json"], &[]));
    let report: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(report["ok"], true);
    let d0 = xtask::verify::parse_d0(&xtask::verify::capture_d0(Path::new("/usr/sbin/sendmail")).unwrap());
    for flag in xtask::verify::REQUIRED {
        assert!(d0.has(flag), "{flag} missing from the installed sendmail's -d0.14");
    }

    // The installed configuration parses, TLS options included (run with a
    // qualified host name in a private UTS namespace, so it does not wait).
    if which::which("unshare").is_ok() {
        let out = Command::new("timeout")
            .args([
                "20",
                "unshare",
                "-u",
                "sh",
                "-c",
                "hostname smtls-test.example.org && exec /usr/sbin/sendmail -bt -C /etc/mail/sendmail.cf",
            ])
            .stdin(std::process::Stdio::piped())
            .output_with_input(b"$=w\n/quit\n");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        eprintln!("sendmail -bt:\n{text}");
        assert!(out.status.success(), "sendmail -bt with the installed .cf failed:\n{text}");
        assert!(!text.contains("readcf") && !text.to_lowercase().contains("unknown option"), "{text}");
    }

    // The installed sendmail, not the one in the build tree, speaks good TLS.
    let smoke = text(&ok(xtask(&["smoke", "--binary", "/usr/sbin/sendmail"], &[])));
    for check in ["starttls-chain", "ecdhe", "no-tls1.1", "smtps", "delivery"] {
        assert!(smoke.contains(&format!("pass {check}:")), "{check}: {smoke}");
    }

    let purge = Command::new("dpkg").args(["--purge", PACKAGE]).output().unwrap();
    assert!(purge.status.success(), "dpkg --purge failed: {}", String::from_utf8_lossy(&purge.stderr));
    for gone in [
        "/usr/include/libmilter",
        "/usr/libexec/sendmail/sendmail",
        "/usr/sbin/sendmail",
        "/etc/mail/sendmail.cf",
        "/etc/mail/sendmail.mc",
        "/var/lib/smtls-sendmail",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} survived the purge");
    }
    let overrides = sh("dpkg-statoverride", &["--list"]);
    assert!(!overrides.contains("/usr/libexec/sendmail/sendmail"), "statoverride survived the purge:\n{overrides}");
}

/// A milter that registers itself and reports libmilter's version.
const MILTER_C: &str = r#"#include <stdio.h>
#include <libmilter/mfapi.h>

static sfsistat on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void) ctx; (void) host; (void) addr;
	return SMFIS_CONTINUE;
}

int main(void)
{
	struct smfiDesc desc = { 0 };
	unsigned int major, minor, patch;

	desc.xxfi_name = "smtls-test";
	desc.xxfi_version = SMFI_VERSION;
	desc.xxfi_connect = on_connect;
	if (smfi_register(desc) != MI_SUCCESS)
		return 1;
	if (smfi_version(&major, &minor, &patch) != MI_SUCCESS)
		return 2;
	printf("registered; libmilter %u.%u\n", major, minor);
	return 0;
}
"#;

trait OutputWithInput {
    fn output_with_input(&mut self, input: &[u8]) -> std::process::Output;
}

impl OutputWithInput for Command {
    fn output_with_input(&mut self, input: &[u8]) -> std::process::Output {
        use std::io::Write;
        let mut child =
            self.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawning");
        child.stdin.take().expect("stdin").write_all(input).expect("writing stdin");
        child.wait_with_output().expect("waiting")
    }
}

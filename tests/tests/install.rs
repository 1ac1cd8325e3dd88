//! The .deb on a clean Debian 12 (main only), in a throwaway chroot made
//! by tests/src/chroot.rs: never the host's dpkg, users or groups (the old
//! host install test and its cleanup problems are gone with it).
//!
//! Installed with `apt-get install ./file.deb`, so its Depends resolve
//! from the plain bookworm archive as on a user's machine.

use smtls_tests::chroot::{self, check, Chroot};
use smtls_tests::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xtask::smoke::pki;

const PACKAGE: &str = "smtls-sendmail";

/// The .deb of the shared build, in a scratch directory of its own.
fn deb(name: &str) -> PathBuf {
    artifact(&shared_packages("8.18.2", name, "deb", &[]), ".deb")
}

/// Every path in the chroot except what apt, dpkg and the tests change by
/// themselves.
fn snapshot(c: &Chroot) -> BTreeSet<String> {
    let out = c.ok("find / -xdev | sort").unwrap();
    let noise = [
        "/var/lib/dpkg/",
        "/var/lib/apt/",
        "/var/cache/",
        "/var/log/",
        "/tmp/",
        "/var/mail/",
        "/root/",
        "/home/",
        "/etc/ld.so.cache",
    ];
    out.lines()
        .filter(|l| l.starts_with('/'))
        .filter(|l| !noise.iter().any(|n| l.starts_with(n) || format!("{l}/") == *n))
        // Backups of the user and group databases (adduser/useradd).
        .filter(|l| {
            ![
                "/etc/passwd-",
                "/etc/group-",
                "/etc/shadow-",
                "/etc/gshadow-",
                "/etc/subuid-",
                "/etc/subgid-",
                "/run/adduser",
            ]
            .contains(l)
        })
        .map(str::to_string)
        .collect()
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "gave up waiting for {what} after {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default().contains(") Z ")
}

/// The value of `key=` in a unit file.
fn unit_value(unit: &str, key: &str) -> String {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in the unit:\n{unit}"))
        .trim()
        .to_string()
}

/// Starts the daemon with the unit's own ExecStart line, inside the chroot,
/// in private UTS and network namespaces (a qualified host name; 127.0.0.1
/// only). Returns its pid from the unit's PIDFile.
fn start_from_unit(c: &Chroot) -> u32 {
    let unit = c.read("/lib/systemd/system/sendmail.service").unwrap();
    let exec = unit_value(&unit, "ExecStart");
    let pid_file = unit_value(&unit, "PIDFile");
    assert_eq!(unit_value(&unit, "Type"), "forking");
    check(&exec, c.run_isolated(&exec).unwrap()).unwrap();
    let mut pid = 0;
    wait_for("the daemon's pid file", Duration::from_secs(30), || {
        pid = c.read(&pid_file).ok().and_then(|t| t.lines().next()?.trim().parse().ok()).unwrap_or(0);
        pid != 0 && alive(pid)
    });
    // Listening: an SMTP greeting on 127.0.0.1:25 in its namespace.
    wait_for("the SMTP greeting", Duration::from_secs(30), || {
        c.run_beside(pid, "openssl s_client -starttls smtp -connect 127.0.0.1:25 </dev/null >/dev/null 2>&1")
            .is_ok_and(|o| o.status.success())
    });
    pid
}

/// An SMTP session inside the daemon's namespace: STARTTLS verified against
/// `ca`, then one mail to `rcpt` carrying `token`. Returns the transcript.
fn smtp_mail(c: &Chroot, pid: u32, rcpt: &str, token: &str) -> String {
    let script = format!(
        "( sleep 1; printf 'EHLO client.smtls-test.example\\r\\n'; sleep 1; \
           printf 'MAIL FROM:<root@{host}>\\r\\n'; sleep 1; printf 'RCPT TO:<{rcpt}>\\r\\n'; sleep 1; \
           printf 'DATA\\r\\n'; sleep 1; printf 'Subject: {token}\\r\\n\\r\\n{token}\\r\\n.\\r\\n'; sleep 1; \
           printf 'QUIT\\r\\n'; sleep 1 ) | \
         openssl s_client -starttls smtp -connect 127.0.0.1:25 -CAfile /etc/mail/certs/cacert.pem \
           -verify_return_error -quiet -ign_eof 2>&1",
        host = c.hostname
    );
    check("smtp session", c.run_beside(pid, &script).unwrap()).unwrap()
}

fn mailbox_has(c: &Chroot, token: &str) -> bool {
    c.read("/var/mail/root").is_ok_and(|m| m.contains(token))
}

#[test]
fn deb_installs_runs_stops_and_purges_in_a_clean_bookworm() {
    chroot::require();
    let deb = deb("install-deb");
    let c = Chroot::new("install").unwrap();
    c.write("/etc/hosts", &format!("127.0.0.1 localhost\n127.0.1.1 {} mx\n", c.hostname), 0o644).unwrap();
    let before = snapshot(&c);
    let inside = c.copy_in(&deb, "/tmp").unwrap();

    // Installed with apt, dependencies from the plain bookworm archive.
    let said = c.ok(&format!("apt-get install -y {inside}")).unwrap();
    assert!(said.contains("no TLS certificate was created") && said.contains("/etc/mail/certs"), "{said}");
    assert!(said.contains("policy-rc.d denied execution of start"), "policy-rc.d must be asked: {said}");
    assert!(!said.contains("WARNING"), "{said}");

    // Unit and init files, enabled as dh_installsystemd/dh_installinit do;
    // policy-rc.d kept the daemon from starting.
    for f in
        ["/lib/systemd/system/sendmail.service", "/lib/systemd/system/sm-msp-queue.service", "/etc/init.d/sendmail"]
    {
        assert!(c.path(f).is_file(), "{f} missing");
    }
    c.ok(
        "for u in sendmail sm-msp-queue; do \
           test \"$(readlink /etc/systemd/system/multi-user.target.wants/$u.service)\" = /lib/systemd/system/$u.service; \
         done",
    )
    .unwrap();
    c.ok("ls /etc/rc2.d | grep -q '^S..sendmail$'").unwrap();
    assert!(c.processes().is_empty(), "something runs although policy-rc.d forbids it: {:?}", c.processes());

    // Aliases per Policy 11.6 and the access map, with their databases.
    assert!(c.read("/etc/aliases").unwrap().contains("\npostmaster: root\n"));
    for db in ["/etc/aliases.db", "/etc/mail/access.db"] {
        assert!(c.path(db).is_file(), "{db} was not built");
    }
    // Owners and modes from the contents list, applied by the postinst.
    let modes =
        c.ok("stat -c '%U %G %a %n' /usr/libexec/sendmail/sendmail /var/spool/clientmqueue /var/spool/mqueue").unwrap();
    for want in [
        "root smmsp 2555 /usr/libexec/sendmail/sendmail",
        "smmsp smmsp 770 /var/spool/clientmqueue",
        "root root 700 /var/spool/mqueue",
    ] {
        assert!(modes.contains(want), "{want}: {modes}");
    }

    // A certificate chain, as an administrator installs it.
    let p = pki::generate(&c.hostname).unwrap();
    let openssl = which::which("openssl").unwrap();
    pki::install(&p, &pki::Layout::new(c.path("/etc/mail/certs")), &openssl, 0o600).unwrap();

    // The daemon as the unit starts it: bound to 127.0.0.1, STARTTLS with
    // the full chain, mail for postmaster lands in root's mailbox.
    let pid = start_from_unit(&c);
    let chain = check(
        "s_client",
        c.run_beside(
            pid,
            "openssl s_client -starttls smtp -connect 127.0.0.1:25 -CAfile /etc/mail/certs/cacert.pem \
             -showcerts -verify_return_error </dev/null 2>&1",
        )
        .unwrap(),
    )
    .unwrap();
    let sent = pki::pem_certificates(&chain).unwrap();
    let names: Vec<&str> = sent.iter().map(|d| p.name_of(d)).collect();
    assert_eq!(names, ["leaf", "intermediate"], "{chain}");
    assert!(chain.contains("Verify return code: 0 (ok)"), "{chain}");
    let listening = c.run_beside(pid, "cat /proc/net/tcp").unwrap();
    let tcp = String::from_utf8_lossy(&listening.stdout);
    // 0100007F:0019 is 127.0.0.1:25, 0100007F:024B 127.0.0.1:587; no 00000000 (any).
    assert!(tcp.contains("0100007F:0019") && tcp.contains("0100007F:024B"), "{tcp}");
    assert!(!tcp.lines().any(|l| l.contains(" 00000000:0019 ") || l.contains(" 00000000:024B ")), "{tcp}");

    let session = smtp_mail(&c, pid, "postmaster", "smtls-token-root-1");
    assert!(session.contains("250") && !session.contains("verify error"), "{session}");
    wait_for("the mail in /var/mail/root", Duration::from_secs(60), || mailbox_has(&c, "smtls-token-root-1"));

    // A non-root user's submission (the MSP, through submit.cf) is delivered.
    c.ok("useradd -m alice").unwrap();
    let submit = c
        .run_beside(
            pid,
            "printf 'Subject: smtls-token-alice-2\\n\\nfrom alice\\n' | su -s /bin/sh alice -c '/usr/sbin/sendmail root'",
        )
        .unwrap();
    check("submission by alice", submit).unwrap();
    wait_for("alice's mail in /var/mail/root", Duration::from_secs(60), || mailbox_has(&c, "smtls-token-alice-2"));

    // Remove stops the daemon (policy-rc.d lifted, as on a real system).
    c.ok("rm /usr/sbin/policy-rc.d").unwrap();
    let said = c.ok(&format!("apt-get remove -y {PACKAGE}")).unwrap();
    wait_for("the daemon to stop", Duration::from_secs(40), || !alive(pid));
    assert!(c.processes().is_empty(), "left running after remove: {:?}\n{said}", c.processes());
    c.write("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0o755).unwrap();

    // Purge leaves nothing of the package (the smmsp user stays, and
    // /etc/aliases, which is the administrator's: Policy 11.6).
    c.ok(&format!("apt-get purge -y {PACKAGE} && apt-get autoremove --purge -y")).unwrap();
    let after = snapshot(&c);
    // What stays on purpose: /etc/aliases, and the administrator's
    // certificates (with the directories holding them); files of the
    // dependencies apt keeps (netbase is of priority important; its
    // postinst writes /etc/networks).
    let kept =
        |p: &str| p == "/etc/aliases" || p == "/etc/mail" || p.starts_with("/etc/mail/certs") || p == "/etc/networks";
    let new: Vec<&String> = after.difference(&before).filter(|p| !kept(p)).collect();
    let mut left = vec![];
    for p in new {
        if !c.run(&format!("dpkg-query -S '{p}' >/dev/null 2>&1")).unwrap().status.success() {
            left.push(p);
        }
    }
    assert!(left.is_empty(), "purge left: {left:?}");
    assert!(c.path("/etc/mail/certs/host.key").is_file(), "purge must not remove the administrator's key");
    let gone: Vec<&String> = before.difference(&after).collect();
    assert!(gone.is_empty(), "the install/purge cycle removed: {gone:?}");
    let overrides = c.ok("dpkg-statoverride --list || true").unwrap();
    assert!(!overrides.contains("sendmail") && !overrides.contains("mqueue"), "{overrides}");

    // Reinstall works, and keeps the /etc/aliases it finds.
    c.ok("echo 'smtls-kept: root' >> /etc/aliases").unwrap();
    let said = c.ok(&format!("apt-get install -y {inside}")).unwrap();
    assert!(!said.contains("WARNING"), "{said}");
    assert!(c.read("/etc/aliases").unwrap().contains("smtls-kept: root"));
    c.ok("praliases | grep -q '^smtls-kept:root$'").unwrap();
}

/// The .deb of the shared verified build packaged by the toolkit with the
/// Debian revision `revision`, in a scratch directory of its own.
fn deb_with_revision(name: &str, revision: &str) -> PathBuf {
    let dir = shared_packages_with("8.18.2", name, &["--format", "deb", "--revision", revision], &[]);
    let deb = artifact(&dir, ".deb");
    assert!(deb
        .to_string_lossy()
        .ends_with(&format!("_8.18.2-{revision}_{}.deb", sh("dpkg", &["--print-architecture"]).trim())));
    deb
}

#[test]
fn upgrade_keeps_conffiles_aliases_and_the_access_map() {
    chroot::require();
    // Version N and N+1: the same verified build, packaged twice.
    let n = deb_with_revision("upgrade-deb-1", "0smtls1");
    let n1 = deb_with_revision("upgrade-deb-2", "0smtls2");
    let c = Chroot::new("upgrade").unwrap();
    c.write("/etc/hosts", &format!("127.0.0.1 localhost\n127.0.1.1 {} mx\n", c.hostname), 0o644).unwrap();
    let (a, b) = (c.copy_in(&n, "/tmp").unwrap(), c.copy_in(&n1, "/tmp").unwrap());
    c.ok(&format!("apt-get install -y {a}")).unwrap();
    // The administrator's edits.
    c.ok("echo 'dnl local edit' >> /etc/mail/sendmail.mc && echo 'smtls-upgrade: root' >> /etc/aliases && newaliases \
         && printf 'Connect:192.0.2.1\\tREJECT\\n' >> /etc/mail/access \
         && makemap hash /etc/mail/access < /etc/mail/access")
        .unwrap();
    let said = c.ok(&format!("apt-get install -y {b} </dev/null")).unwrap();
    eprintln!("--- upgrade transcript ---\n{said}");
    assert!(said.contains("Preparing to unpack") && said.contains("over (8.18.2-0smtls1)"), "not an upgrade: {said}");
    assert!(!said.contains("WARNING") && !said.contains("no TLS certificate was created"), "{said}");
    let v = c.ok(&format!("dpkg-query -W -f '${{Version}} ${{Status}}' {PACKAGE}")).unwrap();
    assert!(v.starts_with("8.18.2-0smtls2 install ok installed"), "{v}");
    let changelog = c.ok("zcat /usr/share/doc/smtls-sendmail/changelog.Debian.gz | head -1").unwrap();
    assert!(changelog.starts_with("smtls-sendmail (8.18.2-0smtls2) "), "{changelog}");
    assert!(c.read("/etc/mail/sendmail.mc").unwrap().ends_with("dnl local edit\n"), "conffile edit lost");
    assert!(c.read("/etc/aliases").unwrap().contains("smtls-upgrade: root"));
    c.ok("praliases | grep -q '^smtls-upgrade:root$'").unwrap();
    c.ok("makemap -u hash /etc/mail/access | grep -qi '^connect:192.0.2.1'").unwrap();
    let modes = c.ok("stat -c '%U %G %a' /usr/libexec/sendmail/sendmail").unwrap();
    assert!(modes.contains("root smmsp 2555"), "{modes}");
}

#[test]
fn switching_from_debians_sendmail_is_non_interactive_and_keeps_local_data() {
    chroot::require();
    let deb = deb("switch-deb");
    let c = Chroot::new("switch").unwrap();
    c.write("/etc/hosts", &format!("127.0.0.1 localhost\n127.0.1.1 {} mx\n", c.hostname), 0o644).unwrap();
    // Debian's maintainer scripts stop every process called sendmail they
    // can see: in a PID namespace of their own, they see only their own.
    c.ok_alone(
        "apt-get install -y --no-install-recommends sendmail </dev/null && ls -l /etc/aliases /etc/mail/aliases",
    )
    .unwrap();
    c.ok("echo 'smtls-switch: root' >> /etc/aliases && newaliases \
         && printf 'Connect:192.0.2.7\\tREJECT\\n' >> /etc/mail/access \
         && makemap hash /etc/mail/access < /etc/mail/access")
        .unwrap();
    let inside = c.copy_in(&deb, "/tmp").unwrap();
    let said = c.ok_alone(&format!("apt-get install -y {inside} </dev/null")).unwrap();
    assert!(said.contains("REMOVED") || said.contains("Removing sendmail"), "{said}");
    let v = c.ok(&format!("dpkg-query -W -f '${{Status}}' {PACKAGE}")).unwrap();
    assert!(v.contains("install ok installed"), "{v}");
    let others = c.ok("dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n' 'sendmail*'").unwrap();
    assert!(!others.lines().any(|l| l.starts_with("sendmail-bin ii")), "{others}");
    assert!(c.read("/etc/aliases").unwrap().contains("smtls-switch: root"));
    c.ok("praliases | grep -q '^smtls-switch:root$'").unwrap();
    assert!(c.read("/etc/mail/access").unwrap().contains("Connect:192.0.2.7"));
    c.ok("makemap -u hash /etc/mail/access | grep -qi '^connect:192.0.2.7'").unwrap();
    assert!(c.read("/etc/mail/sendmail.mc").unwrap().contains("smtls-sendmail"), "the new .mc is ours");
    assert!(c.path("/etc/mail/sendmail.mc.pre-smtls-sendmail").exists(), "Debian's .mc moved aside");
    // The installed configuration parses with the installed binary.
    c.ok("echo '$=w' | sendmail -bt -C /etc/mail/sendmail.cf").unwrap();
}

/// The shipped units as systemd itself reads them: `systemd-analyze
/// verify` (bookworm's systemd, installed in the chroot beside sysvinit)
/// loads each unit and its dependencies in a test manager, which needs no
/// running systemd, and checks the directives, that ExecStart's program
/// exists and that the Documentation= man page is installed. A broken copy shows the check can fail.
#[test]
fn systemd_analyze_verifies_the_units() {
    chroot::require();
    let deb = deb("units-deb");
    let c = Chroot::new("units").unwrap();
    let inside = c.copy_in(&deb, "/tmp").unwrap();
    // man-db: verify runs `man` on each Documentation= page, which must be
    // one the package ships.
    c.ok(&format!("apt-get install -y --no-install-recommends systemd man-db {inside} </dev/null")).unwrap();
    let units = ["/lib/systemd/system/sendmail.service", "/lib/systemd/system/sm-msp-queue.service"];
    let said =
        c.ok(&format!("systemd-analyze --version | head -1; systemd-analyze verify {}", units.join(" "))).unwrap();
    for u in ["sendmail.service", "sm-msp-queue.service"] {
        assert!(!said.contains(u), "systemd-analyze has something to say about {u}:\n{said}");
    }

    // The check can fail: a unit whose program is missing and whose
    // directive is misspelt.
    let unit = c.read(units[0]).unwrap();
    let broken = unit.replace("/usr/sbin/sendmail", "/usr/sbin/no-such-sendmail").replace("PIDFile=", "PIDFiel=");
    c.write("/etc/systemd/system/smtls-broken.service", &broken, 0o644).unwrap();
    let out = c.run("systemd-analyze verify /etc/systemd/system/smtls-broken.service").unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("broken unit:\n{said}");
    assert!(said.contains("PIDFiel") && said.contains("no-such-sendmail"), "{said}");
}

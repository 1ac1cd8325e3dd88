//! Certificates that renew themselves: Debian's pebble (Let's Encrypt's
//! test ACME server) on 127.0.0.1 with validation relaxed, Debian's certbot
//! and dehydrated each with its state in a scratch directory and pebble's
//! CA trusted for that run only, `sendmail-certs acme-hook` as their hook,
//! and the real daemon (the smoke machinery) serving what they obtained,
//! checked by a rustls client that trusts pebble's root alone, and by
//! `openssl s_client` as the independent DANE verifier.

use smtls_tests::*;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use xtask::smoke::{cf, client, daemon, pki};
use xtask::stage::Target;

const HOST: &str = "mail.acme.test";

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

fn write_exec(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs a command, prints it and its output (for the transcripts), returns it.
fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("running {what}: {e}"));
    eprintln!(
        "$ {what}\n[exit {}]\n{}{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Pebble on two free ports of 127.0.0.1, its HTTPS certificate from a CA
/// made for this run; stopped by pid when dropped.
struct Pebble {
    child: Child,
    /// The ACME directory URL.
    url: String,
    /// The CA of pebble's HTTPS certificate (what the clients trust).
    https_ca: PathBuf,
    /// The root pebble issues under (generated at its start).
    root: PathBuf,
}

impl Pebble {
    fn start(dir: &Path) -> Pebble {
        std::fs::create_dir_all(dir).unwrap();
        let o = |args: &[&str]| sh_in(dir, "openssl", args);
        o(&["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key"]
            .iter()
            .chain(&["-out", "ca.pem", "-subj", "/CN=pebble https test CA", "-days", "2"])
            .copied()
            .collect::<Vec<_>>());
        o(&["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "https.key"]
            .iter()
            .chain(&["-out", "https.csr", "-subj", "/CN=localhost"])
            .copied()
            .collect::<Vec<_>>());
        std::fs::write(dir.join("san.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n").unwrap();
        o(&["x509", "-req", "-in", "https.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"]
            .iter()
            .chain(&["-out", "https.pem", "-days", "2", "-extfile", "san.cnf"])
            .copied()
            .collect::<Vec<_>>());
        let ports = daemon::free_ports(4).unwrap();
        let config = serde_json::json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{}", ports[0]),
            "managementListenAddress": format!("127.0.0.1:{}", ports[1]),
            "certificate": dir.join("https.pem"),
            "privateKey": dir.join("https.key"),
            "httpPort": ports[2],
            "tlsPort": ports[3],
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        std::fs::write(dir.join("pebble.json"), config.to_string()).unwrap();
        let log = std::fs::File::create(dir.join("pebble.log")).unwrap();
        let child = Command::new("pebble")
            .arg("-config")
            .arg(dir.join("pebble.json"))
            .current_dir(dir)
            // Every challenge valid (nothing listens for the validation),
            // no random sleeps, no nonce rejected on purpose.
            .env("PEBBLE_VA_ALWAYS_VALID", "1")
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting pebble (apt-get install pebble)");
        let mut p = Pebble {
            child,
            url: format!("https://127.0.0.1:{}/dir", ports[0]),
            https_ca: dir.join("ca.pem"),
            root: dir.join("pebble-root.pem"),
        };
        // Its root, from the management interface, once it listens.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = Command::new("curl")
                .args(["-sSf", "--cacert", s(&p.https_ca), "-o", s(&p.root)])
                .arg(format!("https://127.0.0.1:{}/roots/0", ports[1]))
                .output()
                .unwrap();
            if got.status.success() && std::fs::read_to_string(&p.root).unwrap_or_default().contains("BEGIN CERT") {
                break;
            }
            if let Ok(Some(st)) = p.child.try_wait() {
                panic!("pebble exited ({st}): {}", std::fs::read_to_string(dir.join("pebble.log")).unwrap());
            }
            assert!(Instant::now() < deadline, "pebble did not serve its root within 60 s");
            std::thread::sleep(Duration::from_millis(200));
        }
        p
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shared build's sendmail serving `certs` on two free ports (SMTP
/// with STARTTLS, SMTPS), from a .cf made by m4 from the release's cf/.
struct Mta {
    daemon: daemon::Daemon,
    dir: PathBuf,
    cf: PathBuf,
    config: cf::SmokeCf,
    cf_tree: PathBuf,
    smtp: SocketAddr,
    smtps: SocketAddr,
    certs: PathBuf,
}

impl Mta {
    fn start(dir: &Path, certs: &Path) -> Mta {
        let root = shared_build("8.18.2").expect("the shared build");
        let src = root.join("8.18.2/src/sendmail-8.18.2");
        let binary = src.join("obj./sendmail/sendmail");
        let queue = dir.join("queue");
        std::fs::create_dir_all(&queue).unwrap();
        std::fs::set_permissions(&queue, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(dir.join("aliases"), "").unwrap();
        let ports = daemon::free_ports(2).unwrap();
        let layout = pki::Layout::new(certs.to_path_buf());
        let config = cf::SmokeCf {
            host: HOST.into(),
            ostype: cf::ostype().into(),
            queue_dir: queue,
            pid_file: dir.join("sendmail.pid"),
            alias_file: dir.join("aliases"),
            cert_dir: layout.cert_dir.clone(),
            ca_file: layout.ca_file(),
            cert_file: layout.cert_file(),
            key_file: layout.key_file(),
            dh_file: layout.dh_file(),
            smtp_port: ports[0],
            smtps_port: ports[1],
            auth: None,
            reject_nul: None,
        };
        let cf_path = dir.join("sendmail.cf");
        let cf_tree = src.join("cf");
        write_cf(&config, &cf_tree, dir, &cf_path);
        let mut d = daemon::Daemon::start(&binary, &cf_path, &dir.join("sendmail.out"), HOST).unwrap();
        let smtp: SocketAddr = ([127, 0, 0, 1], ports[0]).into();
        let smtps: SocketAddr = ([127, 0, 0, 1], ports[1]).into();
        d.wait_ready(&[smtp, smtps], Duration::from_secs(30)).unwrap();
        Mta { daemon: d, dir: dir.to_path_buf(), cf: cf_path, config, cf_tree, smtp, smtps, certs: certs.to_path_buf() }
    }

    /// What `acme-hook --reload` runs: a HUP makes sendmail exec itself
    /// again (same pid), reading its .cf and certificates anew.
    fn reload_command(&self) -> String {
        format!("kill -HUP {}", self.daemon.pid())
    }

    /// Rewrites the daemon's .cf (read at the next reload) to take its
    /// certificates from `other` instead.
    fn point_cf_at(&self, other: &Path) {
        let layout = pki::Layout::new(other.to_path_buf());
        let c = cf::SmokeCf {
            cert_dir: layout.cert_dir.clone(),
            ca_file: layout.ca_file(),
            cert_file: layout.cert_file(),
            key_file: layout.key_file(),
            dh_file: layout.dh_file(),
            ..self.config.clone()
        };
        write_cf(&c, &self.cf_tree, &self.dir, &self.cf);
    }

    /// Proves with the smoke client (rustls, pebble's root alone as trust
    /// anchor, the host name checked) that both listeners serve exactly
    /// the installed leaf and intermediate; returns the checks' lines.
    fn serves_installed_set(&self, pebble_root: &Path) -> String {
        let read = |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let set = pki::Pki::from_installed(
            &read(self.certs.join("host.cert")),
            &read(self.certs.join("host.key")),
            &read(pebble_root.to_path_buf()),
        )
        .unwrap();
        let t = client::Target {
            pki: &set,
            host: HOST,
            smtp: self.smtp,
            smtps: self.smtps,
            queue_dir: self.config.queue_dir.clone(),
            openssl: "openssl".into(),
        };
        let a = client::check_starttls_chain(&t).unwrap_or_else(|e| panic!("STARTTLS: {e:#}"));
        let b = client::check_smtps(&t).unwrap_or_else(|e| panic!("SMTPS: {e:#}"));
        for line in [&a, &b] {
            assert!(line.contains("2 certificates (leaf, intermediate)"), "{line}");
            assert!(line.contains(&format!("verified against the root CA alone as {HOST}")), "{line}");
        }
        eprintln!("served: {a}\nserved: {b}");
        format!("{a}\n{b}")
    }
}

fn write_cf(config: &cf::SmokeCf, cf_tree: &Path, dir: &Path, cf_path: &Path) {
    let mc = dir.join("smoke.mc");
    std::fs::write(&mc, config.mc().unwrap()).unwrap();
    let text = cf::m4(Path::new("m4"), cf_tree, &mc).unwrap();
    cf::check(&text, &config.expected_lines()).unwrap();
    let tmp = cf_path.with_extension("cf.new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::rename(&tmp, cf_path).unwrap();
}

/// The certificate directory `<dir>/etc/certs` (parents 0755, as sendmail
/// wants), and the script as the Debian package installs it.
fn layout(dir: &Path) -> (PathBuf, PathBuf) {
    let etc = dir.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = dir.join("sendmail-certs");
    write_exec(&script, &xtask::stage::certs_script(Target::Debian).unwrap());
    (etc.join("certs"), script)
}

/// The SHA-256 fingerprint of the first certificate of a PEM file.
fn leaf_fingerprint(path: &Path) -> String {
    sh("openssl", &["x509", "-noout", "-fingerprint", "-sha256", "-in", s(path)])
}

fn text_of(out: &Output) -> String {
    text(out)
}

#[test]
fn certbot_renewals_are_served_and_the_tlsa_records_verify() {
    let dir = scratch("acme-certbot");
    let (certs, script) = layout(&dir);
    let pebble = Pebble::start(&dir.join("pebble"));
    let mta = Mta::start(&dir.join("mta"), &certs);
    let cb = dir.join("certbot");
    let certbot = |args: &[&str], envs: &[(&str, &str)], what: &str| {
        let mut c = Command::new("certbot");
        c.args(args)
            .args(["--non-interactive", "--config-dir", s(&cb.join("etc")), "--work-dir", s(&cb.join("work"))])
            .args(["--logs-dir", s(&cb.join("logs")), "--server", &pebble.url])
            .env("REQUESTS_CA_BUNDLE", &pebble.https_ca)
            .envs(envs.iter().copied());
        run(&mut c, what)
    };
    // The hook as an administrator writes it, with options (certbot keeps
    // it in the lineage's renewal configuration).
    let hook = format!(
        "dash {} acme-hook --dir {} --ca {} --cf {} --reload-command '{}'",
        s(&script),
        s(&certs),
        s(&pebble.root),
        s(&mta.cf),
        mta.reload_command()
    );
    let prove = [("SENDMAIL_CERTS_PROVE_SECONDS", "15")];
    let out = certbot(
        &[
            "certonly",
            "--agree-tos",
            "--register-unsafely-without-email",
            "--manual",
            "--manual-auth-hook",
            "true",
            "--preferred-challenges",
            "http",
            "-d",
            HOST,
            "--deploy-hook",
            &hook,
        ],
        &prove,
        "certbot certonly -d mail.acme.test --deploy-hook 'sendmail-certs acme-hook ...'",
    );
    assert!(out.status.success(), "{}", text_of(&out));
    let t = text_of(&out);
    assert!(t.contains("sendmail serves the new set: 127.0.0.1:"), "{t}");
    mta.serves_installed_set(&pebble.root);
    let first = leaf_fingerprint(&certs.join("host.cert"));
    let first_leaf = dir.join("first-leaf.pem");
    std::fs::copy(cb.join(format!("etc/live/{HOST}/cert.pem")), &first_leaf).unwrap();

    // A renewal, as the timer runs it: a new key and leaf, served.
    let renew = ["renew", "--force-renewal", "--no-random-sleep-on-renew"];
    let out = certbot(&renew, &prove, "certbot renew --force-renewal");
    assert!(out.status.success(), "{}", text_of(&out));
    assert!(text_of(&out).contains("sendmail serves the new set"), "{}", text_of(&out));
    let second = leaf_fingerprint(&certs.join("host.cert"));
    assert_ne!(first, second, "the renewal replaced the leaf");
    mta.serves_installed_set(&pebble.root);

    // DANE: the records `tlsa` prints, checked by openssl's DANE verifier
    // against the running daemon; a record of another key is rejected.
    let port = mta.smtp.port().to_string();
    let tlsa = run(
        Command::new("dash").arg(&script).args(["tlsa", "--dir", s(&certs), "--host", HOST, "--port", &port]),
        "sendmail-certs tlsa",
    );
    assert!(tlsa.status.success());
    let zone = String::from_utf8(tlsa.stdout.clone()).unwrap();
    let records: Vec<&str> = zone.lines().filter(|l| !l.starts_with(';')).collect();
    assert_eq!(records.len(), 2, "{zone}");
    let prefix = format!("_{port}._tcp.{HOST}. IN TLSA ");
    let rrdata: Vec<&str> = records.iter().map(|r| r.strip_prefix(&prefix).unwrap_or_else(|| panic!("{r}"))).collect();
    assert!(rrdata[0].starts_with("3 1 1 ") && rrdata[1].starts_with("2 1 1 "), "{zone}");
    let dane = |rr: &str| {
        run(
            Command::new("openssl")
                .args(["s_client", "-connect", &mta.smtp.to_string(), "-starttls", "smtp", "-name", HOST])
                .args(["-dane_tlsa_domain", HOST, "-dane_tlsa_rrdata", rr, "-verify_return_error", "-brief"]),
            &format!("openssl s_client -starttls smtp -dane_tlsa_domain {HOST} -dane_tlsa_rrdata '{rr}'"),
        )
    };
    for rr in &rrdata {
        let out = dane(rr);
        let t = text_of(&out);
        assert!(out.status.success() && t.contains("Verification: OK"), "{rr}: {t}");
        assert!(t.contains(&format!("DANE TLSA {} ", &rr[..5])) && t.contains("matched"), "{rr}: {t}");
    }
    let old_key = sh_in(&dir, "sh", &["-c", &format!(
        "openssl x509 -noout -pubkey -in {} | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1",
        s(&first_leaf)
    )]);
    let other = format!("3 1 1 {}", old_key.trim());
    assert!(!rrdata.contains(&other.as_str()));
    let out = dane(&other);
    assert!(!out.status.success() && !text_of(&out).contains("Verification: OK"), "{}", text_of(&out));

    let live = cb.join(format!("etc/live/{HOST}"));
    // A renewal with a new key whose record is not published (DANE-EE
    // only, the usual choice): refused with the rollover, the set
    // untouched, the daemon still serving it.
    let published = dir.join("published.zone");
    std::fs::write(&published, format!("{}\n", records[0])).unwrap();
    let before = listing(&certs);
    let p = s(&published);
    let out = certbot(&renew, &[("SENDMAIL_CERTS_TLSA_PUBLISHED", p)], "certbot renew (TLSA published)");
    let t = text_of(&out);
    assert!(t.contains("refused: the new key's record _25._tcp.mail.acme.test. IN TLSA 3 1 1 "), "{t}");
    for step in ["DANE rollover: publish that record", "wait two TTLs", "certbot --reuse-key", "PRIVATE_KEY_RENEW=no"] {
        assert!(t.contains(step), "{step}: {t}");
    }
    assert_eq!(listing(&certs), before, "a refusal leaves the set byte for byte");
    assert_eq!(leaf_fingerprint(&certs.join("host.cert")), second);
    mta.serves_installed_set(&pebble.root);

    // A refusal by name: the key of the first issuance with the current
    // leaf. Nothing changes.
    let archive = cb.join(format!("etc/archive/{HOST}"));
    let out = run(
        Command::new("dash")
            .arg(&script)
            .args(["acme-hook", "--cert", s(&live.join("cert.pem")), "--key", s(&archive.join("privkey1.pem"))])
            .args(["--dir", s(&certs), "--host", HOST, "--ca", s(&pebble.root), "--cf", s(&mta.cf), "--reload"]),
        "sendmail-certs acme-hook --cert cert.pem --key privkey1.pem (another key)",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text_of(&out));
    assert!(text_of(&out).contains("does not belong to the certificate"), "{}", text_of(&out));
    assert_eq!(listing(&certs), before);

    // The same files by name (acme.sh's way), the new record published:
    // installed and served.
    let new_key = sh_in(&dir, "sh", &["-c", &format!(
        "openssl x509 -noout -pubkey -in {} | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1",
        s(&live.join("cert.pem"))
    )]);
    std::fs::write(&published, format!("{}\n_25._tcp.{HOST}. IN TLSA 3 1 1 {}\n", records[0], new_key.trim())).unwrap();
    let out = run(
        Command::new("dash")
            .arg(&script)
            .args(["acme-hook", "--fullchain", s(&live.join("fullchain.pem")), "--key", s(&live.join("privkey.pem"))])
            .args(["--dir", s(&certs), "--host", HOST, "--ca", s(&pebble.root), "--cf", s(&mta.cf)])
            .args(["--tlsa-published", p, "--reload-command", &mta.reload_command()])
            .env("SENDMAIL_CERTS_PROVE_SECONDS", "15"),
        "sendmail-certs acme-hook --fullchain ... --tlsa-published ...",
    );
    assert!(out.status.success(), "{}", text_of(&out));
    assert!(text_of(&out).contains("the new key's 3 1 1 record is in"), "{}", text_of(&out));
    assert_ne!(leaf_fingerprint(&certs.join("host.cert")), second);
    mta.serves_installed_set(&pebble.root);
    drop(mta);
    drop(pebble);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn dehydrated_renewals_are_served_and_an_unservable_one_is_rolled_back() {
    let dir = scratch("acme-dehydrated");
    let (certs, script) = layout(&dir);
    let pebble = Pebble::start(&dir.join("pebble"));
    let mta = Mta::start(&dir.join("mta"), &certs);
    let dh = dir.join("dehydrated");
    std::fs::create_dir_all(dh.join("wellknown")).unwrap();
    // The hook the packages ship, pointing at the script under test.
    let shipped = xtask::stage::certs_hook(Target::Debian).unwrap();
    let hook_text = shipped.replace("'/usr/sbin/sendmail-certs'", &format!("'{}'", s(&script)));
    assert_ne!(hook_text, shipped);
    let hook = dh.join("sendmail-certs-hook");
    write_exec(&hook, &hook_text);
    // dehydrated calls its hook without options: the settings are exported
    // in its config, which it sources.
    let config = format!(
        "CA=\"{}\"\nBASEDIR=\"{}\"\nWELLKNOWN=\"{}\"\nCURL_OPTS=\"--cacert {}\"\nHOOK=\"{}\"\n\
         CHALLENGETYPE=http-01\nexport SENDMAIL_CERTS_DIR=\"{}\"\nexport SENDMAIL_CERTS_CA=\"{}\"\n\
         export SENDMAIL_CERTS_CF=\"{}\"\nexport SENDMAIL_CERTS_RELOAD=yes\n\
         export SENDMAIL_CERTS_RELOAD_COMMAND=\"{}\"\nexport SENDMAIL_CERTS_PROVE_SECONDS=8\n",
        pebble.url,
        s(&dh),
        s(&dh.join("wellknown")),
        s(&pebble.https_ca),
        s(&hook),
        s(&certs),
        s(&pebble.root),
        s(&mta.cf),
        mta.reload_command()
    );
    std::fs::write(dh.join("config"), config).unwrap();
    std::fs::write(dh.join("domains.txt"), format!("{HOST}\n")).unwrap();
    let dehydrated = |args: &[&str], what: &str| {
        run(Command::new("dehydrated").arg("--config").arg(dh.join("config")).args(args), what)
    };
    assert!(dehydrated(&["--register", "--accept-terms"], "dehydrated --register").status.success());

    // Every event but deploy_cert: accepted, ignored, nothing printed (the
    // output of generate_csr would be taken for a CSR).
    for event in [&["generate_csr", HOST, "/nonexistent", HOST][..], &["some_future_event"][..]] {
        let out = run(Command::new(&hook).args(event), "sendmail-certs-hook EVENT");
        assert!(out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(), "{event:?}");
    }

    let out = dehydrated(&["--cron"], "dehydrated --cron");
    assert!(out.status.success(), "{}", text_of(&out));
    assert!(text_of(&out).contains("acme-hook: dehydrated deploy_cert for mail.acme.test"), "{}", text_of(&out));
    assert!(text_of(&out).contains("sendmail serves the new set"), "{}", text_of(&out));
    mta.serves_installed_set(&pebble.root);
    let first = leaf_fingerprint(&certs.join("host.cert"));

    let out = dehydrated(&["--cron", "--force"], "dehydrated --cron --force (renewal)");
    assert!(out.status.success(), "{}", text_of(&out));
    assert!(text_of(&out).contains("sendmail serves the new set"), "{}", text_of(&out));
    let second = leaf_fingerprint(&certs.join("host.cert"));
    assert_ne!(first, second);
    mta.serves_installed_set(&pebble.root);

    // Rollback: the daemon's .cf now takes its certificates from another
    // directory (a copy of the served set), so after the next renewal it
    // does not serve the new set. The hook puts the previous one back, the
    // daemon serves it again, and dehydrated fails.
    let elsewhere = dir.join("etc/elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    for f in ["host.cert", "host.key", "cacert.pem", "dhparams.pem"] {
        let dst = elsewhere.join(f);
        std::fs::copy(certs.join(f), &dst).unwrap();
    }
    mta.point_cf_at(&elsewhere);
    let before = listing(&certs);
    let out = dehydrated(&["--cron", "--force"], "dehydrated --cron --force (the daemon serves elsewhere)");
    let t = text_of(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("ROLLED BACK: sendmail did not serve the new set"), "{t}");
    assert!(t.contains("it serves the previous one again"), "{t}");
    assert!(t.contains("deploy_cert hook returned with non-zero exit code"), "{t}");
    assert_eq!(listing(&certs), before, "the previous set is back, byte for byte");
    mta.serves_installed_set(&pebble.root);

    // The daemon stopped: the reload fails, the set is put back all the
    // same, and the hook says that nothing serves it.
    let mut mta = mta;
    let pid = mta.daemon.pid();
    mta.daemon.stop();
    let live = dh.join(format!("certs/{HOST}"));
    let out = run(
        Command::new(&hook)
            .args(["deploy_cert", HOST, s(&live.join("privkey.pem")), s(&live.join("cert.pem"))])
            .args([s(&live.join("fullchain.pem")), s(&live.join("chain.pem")), "0"])
            .env("SENDMAIL_CERTS_DIR", &certs)
            .env("SENDMAIL_CERTS_CA", &pebble.root)
            .env("SENDMAIL_CERTS_CF", &mta.cf)
            .env("SENDMAIL_CERTS_RELOAD", "yes")
            .env("SENDMAIL_CERTS_RELOAD_COMMAND", format!("kill -HUP {pid}"))
            .env("SENDMAIL_CERTS_PROVE_SECONDS", "2"),
        "sendmail-certs-hook deploy_cert ... (daemon stopped)",
    );
    let t = text_of(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("ROLLED BACK, BUT NOT SERVED"), "{t}");
    assert_eq!(listing(&certs), before);
    drop(pebble);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_hook_script_is_clean_and_the_new_commands_have_help_under_dash() {
    let dir = scratch("acme-lint");
    let (_, script) = layout(&dir);
    for t in [Target::Debian, Target::FreeBsd] {
        let hook = dir.join(format!("hook-{}", t.name()));
        write_exec(&hook, &xtask::stage::certs_hook(t).unwrap());
        let out = Command::new("shellcheck").args(["-s", "sh"]).arg(&hook).output().expect("running shellcheck");
        assert!(out.status.success(), "shellcheck: {}", String::from_utf8_lossy(&out.stdout));
        assert!(Command::new("dash").arg("-n").arg(&hook).status().unwrap().success());
    }
    for (cmd, words) in [
        ("acme-hook", &["RENEWED_LINEAGE", "deploy_cert", "SENDMAIL_CERTS_RELOAD", "--tlsa-published"][..]),
        ("tlsa", &["3 1 1", "2 1 1", "--port"][..]),
        ("install", &["--reload-command", "--tlsa-published", "--force"][..]),
    ] {
        let out = run(Command::new("dash").arg(&script).args([cmd, "--help"]), &format!("sendmail-certs {cmd} --help"));
        assert!(out.status.success());
        for w in words {
            assert!(String::from_utf8_lossy(&out.stdout).contains(w), "{cmd} --help lacks {w}");
        }
    }
    // Without a certificate from anywhere: bad usage, status 2.
    let out = run(
        Command::new("dash").arg(&script).arg("acme-hook").env_remove("RENEWED_LINEAGE"),
        "sendmail-certs acme-hook (nothing given)",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text_of(&out).contains("found no certificate"));
    std::fs::remove_dir_all(&dir).unwrap();
}

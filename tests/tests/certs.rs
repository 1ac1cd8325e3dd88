//! `sendmail-certs`, the shell helper every package installs: real PKIs
//! made with the openssl command (root, one or two intermediates, a leaf
//! with subjectAltNames; RSA and ECDSA keys), the script run under dash,
//! the installed set served by the real daemon, every refusal leaving the
//! directory byte for byte as it was.

use smtls_tests::certs::{code, script, snapshot, stderr, stdout};
use smtls_tests::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const HOST: &str = "mail.example.test";

/// Runs the script under dash (the shell of Debian's /bin/sh, and the
/// strictest POSIX shell at hand), with its temporary files in `tmp`.
fn run(script: &Path, tmp: &Path, args: &[&str]) -> Output {
    run_env(script, tmp, args, &[])
}

/// [`run`] with more environment variables.
fn run_env(script: &Path, tmp: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let out = Command::new("dash")
        .arg(script)
        .args(args)
        .env("TMPDIR", tmp)
        .env("OPENSSL", "openssl")
        .envs(envs.iter().copied())
        .output()
        .expect("running dash");
    eprintln!(
        "$ sendmail-certs {}\n[exit {}]\n{}{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    sh_in(dir, "openssl", args)
}

#[derive(Clone, Copy, Debug)]
enum Alg {
    Rsa,
    Ec,
}

const EXTENSIONS: &str = "\
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:mail.example.test, DNS:smtp.example.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ca]
default_ca = test_ca
[test_ca]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
";

/// A PKI in its own directory: root -> intermediates[0] -> ... -> leaf.
struct Pki {
    dir: PathBuf,
    root: PathBuf,
    /// From the root down: the last one issued the leaf.
    intermediates: Vec<PathBuf>,
    leaf: PathBuf,
    key: PathBuf,
}

impl Pki {
    fn new(dir: &Path, alg: Alg, n_intermediates: usize, leaf_days: u32) -> Pki {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("ext.cnf"), EXTENSIONS).unwrap();
        let o = |args: &[&str]| openssl(dir, args);
        let key = |name: &str| {
            let file = format!("{name}.key");
            match alg {
                Alg::Rsa => o(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", &file]),
                Alg::Ec => o(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &file]),
            };
            file
        };
        let rk = key("root");
        o(&["req", "-x509", "-new", "-key", &rk, "-subj", "/O=smtls test/CN=Test Root CA", "-days", "3650"]
            .iter()
            .chain(&["-config", "ext.cnf", "-extensions", "ca_ext", "-out", "root.pem"])
            .copied()
            .collect::<Vec<_>>());
        let mut issuer = ("root.pem".to_string(), rk);
        let mut intermediates = vec![];
        for i in 1..=n_intermediates {
            let k = key(&format!("int{i}"));
            let (csr, pem) = (format!("int{i}.csr"), format!("int{i}.pem"));
            o(&[
                "req",
                "-new",
                "-key",
                &k,
                "-subj",
                &format!("/O=smtls test/CN=Test Intermediate CA {i}"),
                "-out",
                &csr,
            ]);
            o(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                &issuer.0,
                "-CAkey",
                &issuer.1,
                "-set_serial",
                &format!("{}", 100 + i),
            ]
            .iter()
            .chain(&["-days", "1825", "-extfile", "ext.cnf", "-extensions", "ca_ext", "-out", &pem])
            .copied()
            .collect::<Vec<_>>());
            intermediates.push(dir.join(&pem));
            issuer = (pem, k);
        }
        let lk = key("leaf");
        o(&["req", "-new", "-key", &lk, "-subj", &format!("/CN={HOST}"), "-out", "leaf.csr"]);
        o(&["x509", "-req", "-in", "leaf.csr", "-CA", &issuer.0, "-CAkey", &issuer.1, "-set_serial", "7"]
            .iter()
            .chain(&["-days", &leaf_days.to_string(), "-extfile", "ext.cnf", "-extensions", "leaf_ext"])
            .chain(&["-out", "leaf.pem"])
            .copied()
            .collect::<Vec<_>>());
        Pki {
            dir: dir.to_path_buf(),
            root: dir.join("root.pem"),
            intermediates,
            leaf: dir.join("leaf.pem"),
            key: dir.join("leaf.key"),
        }
    }

    /// The issuing intermediate's certificate and key.
    fn issuer(&self) -> (String, String) {
        let n = self.intermediates.len();
        (format!("int{n}.pem"), format!("int{n}.key"))
    }

    /// Another leaf for the same key, made with `openssl ca` for dates the
    /// x509 command cannot set (in the past, in the future).
    fn leaf_dated(&self, name: &str, start: &str, end: &str) -> PathBuf {
        let (cert, key) = self.issuer();
        std::fs::write(self.dir.join("index.txt"), "").unwrap();
        std::fs::write(self.dir.join("serial"), "1000\n").unwrap();
        let out = format!("{name}.pem");
        openssl(
            &self.dir,
            &[
                "ca",
                "-batch",
                "-config",
                "ext.cnf",
                "-cert",
                &cert,
                "-keyfile",
                &key,
                "-in",
                "leaf.csr",
                "-out",
                &out,
                "-startdate",
                start,
                "-enddate",
                end,
                "-extensions",
                "leaf_ext",
                "-extfile",
                "ext.cnf",
                "-notext",
            ],
        );
        self.dir.join(out)
    }

    fn s(p: &Path) -> &str {
        p.to_str().unwrap()
    }

    /// An `install` of this PKI's leaf and key with its intermediates
    /// (root-side first), trusting its root, for HOST.
    fn install(&self) -> Install<'_> {
        Install {
            leaf: &self.leaf,
            key: &self.key,
            more: vec![],
            chain: self.intermediates.iter().map(PathBuf::as_path).collect(),
            ca: &self.root,
            host: HOST,
        }
    }
}

/// The arguments of one `sendmail-certs install`.
struct Install<'a> {
    leaf: &'a Path,
    key: &'a Path,
    /// Right after the key (e.g. `--passin`).
    more: Vec<&'a str>,
    /// Each a `--chain FILE`, in this order.
    chain: Vec<&'a Path>,
    ca: &'a Path,
    host: &'a str,
}

impl<'a> Install<'a> {
    fn args(&self, dir: &'a Path) -> Vec<&'a str> {
        let mut args = vec!["install", "--cert", Pki::s(self.leaf), "--key", Pki::s(self.key)];
        args.extend(&self.more);
        for c in &self.chain {
            args.extend(["--chain", Pki::s(c)]);
        }
        args.extend(["--ca", Pki::s(self.ca), "--host", self.host, "--dir", Pki::s(dir)]);
        args
    }
}

/// The certificates of a PEM file, each as PEM text.
fn certs_of(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split_inclusive("-----END CERTIFICATE-----\n")
        .filter(|c| c.contains("BEGIN CERTIFICATE"))
        .map(String::from)
        .collect()
}

fn pem(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// `key` is the private key of the certificate `cert`.
fn assert_key_of(dir: &Path, key: &Path, cert: &Path) {
    assert_eq!(
        openssl(dir, &["pkey", "-pubout", "-in", Pki::s(key)]),
        openssl(dir, &["x509", "-noout", "-pubkey", "-in", Pki::s(cert)]),
        "{} is not the key of {}",
        key.display(),
        cert.display()
    );
}

/// A private place for the set: `<base>/etc/certs`, parents 0755.
fn cert_dir(base: &Path) -> PathBuf {
    let etc = base.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o755)).unwrap();
    etc.join("certs")
}

#[test]
fn script_is_shellcheck_clean_and_every_command_has_help_under_dash() {
    let dir = scratch("certs-lint");
    let s = script(&dir);
    let out = Command::new("shellcheck").args(["-s", "sh"]).arg(&s).output().expect("running shellcheck");
    assert!(out.status.success(), "shellcheck -s sh:\n{}", String::from_utf8_lossy(&out.stdout));
    let out = Command::new("dash").arg("-n").arg(&s).output().unwrap();
    assert!(out.status.success(), "dash -n: {}", stderr(&out));
    for cmd in ["install", "ca-split", "check", "mc", "export"] {
        let out = run(&s, &dir, &[cmd, "--help"]);
        assert_eq!(code(&out), 0);
        assert!(stdout(&out).starts_with(&format!("Usage: sendmail-certs {cmd}")), "{}", stdout(&out));
    }
    let out = run(&s, &dir, &["--help"]);
    assert_eq!(code(&out), 0);
    for cmd in ["install", "ca-split", "check", "mc", "export"] {
        assert!(stdout(&out).contains(&format!("\n  {cmd} ")), "{cmd} missing from --help");
    }
    // Bad usage is exit status 2, with the fix.
    let out = run(&s, &dir, &["frobnicate"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("unknown command 'frobnicate'"), "{}", stderr(&out));
    let out = run(&s, &dir, &["install", "--key", "k"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("install needs --cert LEAF"));
    let out = run(&s, &dir, &["check", "--warn-days", "soon"]);
    assert_eq!(code(&out), 2);
    let out = run(&s, &dir, &["install", "--cert", "a", "--key", "b", "--dhparam-generate", "1024"]);
    assert_eq!((code(&out), stderr(&out).contains("use 2048 bits or more")), (2, true));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mc_prints_the_packaged_stanza_and_the_optional_listeners() {
    let dir = scratch("certs-mc");
    let s = script(&dir);
    let stanza = std::fs::read_to_string(xtask::stage::templates_dir().join("tls-server.mc")).unwrap();
    let out = run(&s, &dir, &["mc"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), stanza, "mc prints tls-server.mc as the packages ship it");
    let out = run(&s, &dir, &["mc", "--smtps", "--submission", "--dir", "/srv/certs"]);
    let text = stdout(&out);
    assert!(text.starts_with(&stanza.replace("/etc/mail/certs", "/srv/certs")), "{text}");
    for line in [
        "DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl",
        "DAEMON_OPTIONS(`Port=smtps, Name=TLSMTA, M=s')dnl",
        "FEATURE(`no_default_msa')dnl",
        "DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea')dnl",
        "define(`confAUTH_OPTIONS', `A p y')dnl",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
    let out = run(&s, &dir, &["mc", "--dir", "/srv/it's"]);
    assert_eq!(code(&out), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_reversed_chain_is_reordered_and_reported() {
    let dir = scratch("certs-reorder");
    let s = script(&dir);
    let pki = Pki::new(&dir.join("pki"), Alg::Ec, 2, 90);
    let certs = cert_dir(&dir);
    // The intermediates in the wrong order (root-side first), in one file.
    let bundle = dir.join("pki/chain-reversed.pem");
    std::fs::write(&bundle, format!("{}{}", pem(&pki.intermediates[0]), pem(&pki.intermediates[1]))).unwrap();
    let out = run(&s, &dir, &Install { chain: vec![&bundle], ..pki.install() }.args(&certs));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(
            "chain REORDERED: given as Test Intermediate CA 1, Test Intermediate CA 2; served as the leaf, then Test \
             Intermediate CA 2, then Test Intermediate CA 1 (each certificate followed by its issuer)"
        ),
        "{}",
        stdout(&out)
    );
    let served = certs_of(&certs.join("host.cert"));
    assert_eq!(served, [pem(&pki.leaf), pem(&pki.intermediates[1]), pem(&pki.intermediates[0])]);
    // In order already: nothing to report.
    let reversed = vec![pki.intermediates[1].as_path(), &pki.intermediates[0]];
    let out = run(&s, &dir, &Install { chain: reversed, ..pki.install() }.args(&certs));
    assert_eq!(code(&out), 0);
    assert!(!stdout(&out).contains("REORDERED"), "{}", stdout(&out));
    // A fullchain file with the root, plus one intermediate again: the root
    // is not served, the duplicate is no warning, and a root the bundle does
    // not hold is trusted only when given with --ca.
    let full = dir.join("pki/fullchain.pem");
    std::fs::write(
        &full,
        format!("{}{}{}{}", pem(&pki.leaf), pem(&pki.intermediates[1]), pem(&pki.intermediates[0]), pem(&pki.root)),
    )
    .unwrap();
    let base =
        ["install", "--cert", Pki::s(&full), "--chain", Pki::s(&pki.intermediates[0]), "--key", Pki::s(&pki.key)];
    let out = run(&s, &dir, &[&base[..], &["--host", HOST, "--dir", Pki::s(&certs)]].concat());
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains(
            "leads to CN=Test Root CA,O=smtls test (given with the chain), which is not a CA in the system's CA bundle"
        ),
        "{}",
        stderr(&out)
    );
    let out =
        run(&s, &dir, &[&base[..], &["--ca", Pki::s(&pki.root), "--host", HOST, "--dir", Pki::s(&certs)]].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("left out"), "{}", stderr(&out));
    assert_eq!(certs_of(&certs.join("host.cert")).len(), 3, "leaf and two intermediates, no root");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Installs `pki` into `certs` (chain given root-side first) and checks
/// the files; returns the install output.
fn install_and_inspect(s: &Path, tmp: &Path, pki: &Pki, certs: &Path) -> Output {
    let out = run(s, tmp, &Install { host: "smtp.example.test", ..pki.install() }.args(certs));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // host.cert: the leaf, then each certificate's issuer.
    let mut want = vec![pem(&pki.leaf)];
    want.extend(pki.intermediates.iter().rev().map(|i| pem(i)));
    assert_eq!(certs_of(&certs.join("host.cert")), want);
    assert_eq!(pem(&certs.join("cacert.pem")), pem(&pki.root));
    let key = certs.join("host.key");
    let meta = std::fs::metadata(&key).unwrap();
    assert_eq!((meta.mode() & 0o777, meta.uid()), (0o600, unsafe_euid()));
    assert!(pem(&key).starts_with("-----BEGIN PRIVATE KEY-----\n"), "unencrypted PKCS#8");
    assert_key_of(&pki.dir, &key, &pki.leaf);
    let dh = std::fs::read_to_string(xtask::stage::templates_dir().join("ffdhe2048.pem")).unwrap();
    assert_eq!(pem(&certs.join("dhparams.pem")), dh);
    let hash = openssl(&pki.dir, &["x509", "-noout", "-hash", "-in", Pki::s(&pki.root)]).trim().to_string();
    assert_eq!(std::fs::read_link(certs.join(format!("{hash}.0"))).unwrap(), Path::new("cacert.pem"));
    assert_eq!(std::fs::metadata(certs).unwrap().mode() & 0o777, 0o755);
    out
}

fn unsafe_euid() -> u32 {
    std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0)
}

/// A test's scratch directory `name`, the script in it, and a PKI (`alg`,
/// `n` intermediates, a 90-day leaf) installed into `<dir>/etc/certs` and
/// checked: (dir, script, pki, certs).
fn installed_set(name: &str, alg: Alg, n: usize) -> (PathBuf, PathBuf, Pki, PathBuf) {
    let dir = scratch(name);
    let s = script(&dir);
    let pki = Pki::new(&dir.join("pki"), alg, n, 90);
    let certs = cert_dir(&dir);
    install_and_inspect(&s, &dir, &pki, &certs);
    (dir, s, pki, certs)
}

/// `cargo xtask smoke --cert-dir`: the built sendmail serving the set.
fn smoke_the_set(work: &Path, certs: &Path, keep: bool) -> Output {
    let mut args =
        vec!["--version", "8.18.2", "--work-dir", work.to_str().unwrap(), "smoke", "--cert-dir", Pki::s(certs)];
    args.extend(["--host", "smtp.example.test"]);
    if keep {
        args.push("--keep");
    }
    xtask(&args, &[])
}

#[test]
fn installed_sets_are_served_whole_by_the_daemon() {
    let root = shared_build("8.18.2").unwrap();
    let dir = scratch("certs-daemon");
    let s = script(&dir);
    let certs = cert_dir(&dir);

    // ECDSA, one intermediate.
    let ec = Pki::new(&dir.join("ec"), Alg::Ec, 1, 90);
    let out = install_and_inspect(&s, &dir, &ec, &certs);
    assert!(stdout(&out).contains("EC 256 bit (prime256v1), unencrypted, mode 0600"), "{}", stdout(&out));
    assert!(stdout(&out).contains("covers smtp.example.test as smtp.example.test"));
    let reload = stdout(&out).lines().skip_while(|l| !l.contains("run")).nth(1).unwrap_or_default().trim().to_string();
    assert!(!reload.is_empty(), "a reload command is printed:\n{}", stdout(&out));
    // The set is served through a link flipped in one rename (issue 23):
    // sendmail's file checks follow it.
    assert!(std::fs::symlink_metadata(&certs).unwrap().file_type().is_symlink(), "{} is a link", certs.display());
    let smoke = smoke_the_set(&root, &certs, false);
    assert!(smoke.status.success(), "{}", text(&smoke));
    let so = stdout(&smoke);
    for check in ["starttls-chain", "smtps"] {
        let line = so.lines().find(|l| l.starts_with(&format!("pass {check}: "))).unwrap_or_else(|| panic!("{so}"));
        assert!(line.contains("2 certificates (leaf, intermediate)"), "{line}");
        assert!(line.contains("root CA alone") || check == "smtps", "{line}");
    }

    // RSA, two intermediates, replacing the set: the old one is kept.
    let rsa = Pki::new(&dir.join("rsa"), Alg::Rsa, 2, 90);
    let before = snapshot(&certs);
    let out = install_and_inspect(&s, &dir, &rsa, &certs);
    assert!(stdout(&out).contains("RSA 2048 bit, unencrypted"), "{}", stdout(&out));
    let backup = stdout(&out).lines().find_map(|l| l.strip_prefix("previous set kept as ")).map(PathBuf::from).unwrap();
    assert_eq!(snapshot(&backup), before, "the backup is the previous set, unchanged");
    let smoke = smoke_the_set(&root, &certs, true);
    assert!(smoke.status.success(), "{}", text(&smoke));
    let so = stdout(&smoke);
    let line = so.lines().find(|l| l.starts_with("pass starttls-chain: ")).unwrap_or_else(|| panic!("{so}"));
    assert!(line.contains("3 certificates (leaf, intermediate, intermediate)"), "{line}");
    assert!(line.contains("verified against the root CA alone as smtp.example.test"), "{line}");
    assert!(so.lines().any(|l| l.starts_with("pass smtps: ") && l.contains("3 certificates")), "{so}");

    // check against the .cf the daemon ran with: it names these files.
    let kept = stderr(&smoke)
        .lines()
        .find_map(|l| l.trim().strip_prefix("kept ").and_then(|r| r.strip_suffix(" (--keep)")).map(PathBuf::from))
        .unwrap_or_else(|| panic!("{}", text(&smoke)));
    let cf = kept.join("sendmail.cf");
    let out = run(&s, &dir, &["check", "--dir", Pki::s(&certs), "--cf", Pki::s(&cf)]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    for opt in ["ServerCertFile", "ServerKeyFile", "CACertFile", "CACertPath", "DHParameters"] {
        assert!(stdout(&out).contains(&format!(": {opt}={}", certs.display())), "{opt}: {}", stdout(&out));
    }
    assert!(stdout(&out).contains("the chain verifies against cacert.pem alone"));
    std::fs::remove_dir_all(&kept).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_refusal_names_the_problem_and_leaves_the_set_untouched() {
    let (dir, s, pki, certs) = installed_set("certs-refusals", Alg::Ec, 2);
    let other = Pki::new(&dir.join("other"), Alg::Ec, 1, 90);
    let parent = certs.parent().unwrap().to_path_buf();
    let before = snapshot(&parent);

    openssl(&pki.dir, &["pkey", "-in", "leaf.key", "-aes256", "-passout", "pass:s3cret", "-out", "leaf.enc.key"]);
    let expired = pki.leaf_dated("expired", "20200101000000Z", "20200401000000Z");
    let future = pki.leaf_dated("future", "20991231000000Z", "21000101000000Z");
    let (i1, i2, root) = (Pki::s(&pki.intermediates[0]), Pki::s(&pki.intermediates[1]), Pki::s(&pki.root));
    let enc = pki.dir.join("leaf.enc.key");
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "key of another certificate",
            vec!["--cert", Pki::s(&pki.leaf), "--key", Pki::s(&other.key), "--chain", i1, "--chain", i2],
            "does not belong to the certificate",
        ),
        (
            "encrypted key without --passin",
            vec!["--cert", Pki::s(&pki.leaf), "--key", Pki::s(&enc), "--chain", i1, "--chain", i2],
            "is encrypted (it has a passphrase) and sendmail cannot ask for one; give --passin",
        ),
        (
            "encrypted key, wrong passphrase",
            vec!["--cert", Pki::s(&pki.leaf), "--key", Pki::s(&enc), "--passin", "pass:wrong", "--chain", i1, "--chain", i2],
            "cannot decrypt the key",
        ),
        (
            "expired leaf",
            vec!["--cert", Pki::s(&expired), "--key", Pki::s(&pki.key), "--chain", i1, "--chain", i2],
            "has expired (notAfter Apr  1 00:00:00 2020 GMT); ask your CA for a renewed one",
        ),
        (
            "leaf not valid yet",
            vec!["--cert", Pki::s(&future), "--key", Pki::s(&pki.key), "--chain", i1, "--chain", i2],
            "is not valid yet (notBefore Dec 31 00:00:00 2099 GMT)",
        ),
        (
            "wrong host name",
            vec![
                "--cert", Pki::s(&pki.leaf), "--key", Pki::s(&pki.key), "--chain", i1, "--chain", i2, "--host",
                "mx.other.test",
            ],
            "is for mail.example.test, smtp.example.test but not for mx.other.test (--host)",
        ),
        (
            "missing intermediate",
            vec!["--cert", Pki::s(&pki.leaf), "--key", Pki::s(&pki.key), "--chain", i2],
            "it stops at CN=Test Intermediate CA 2,O=smtls test, whose issuer CN=Test Intermediate CA 1,O=smtls test is \
             neither among the certificates given nor in that bundle; give that intermediate with --chain FILE",
        ),
        (
            "no intermediate at all",
            vec!["--cert", Pki::s(&pki.leaf), "--key", Pki::s(&pki.key)],
            "it stops at CN=mail.example.test",
        ),
        (
            "a chain from another CA",
            vec!["--cert", Pki::s(&pki.leaf), "--key", Pki::s(&pki.key), "--chain", Pki::s(&other.intermediates[0])],
            "does not lead from",
        ),
    ];
    for (what, mut args, message) in cases {
        let mut full = vec!["install"];
        full.append(&mut args);
        if !full.contains(&"--host") {
            full.extend(["--host", HOST]);
        }
        full.extend(["--ca", root, "--dir", Pki::s(&certs)]);
        let out = run(&s, &dir, &full);
        assert_eq!(code(&out), 1, "{what}: {}", text(&out));
        assert!(stderr(&out).contains("sendmail-certs: refused: "), "{what}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{what}: expected {message:?} in\n{}", stderr(&out));
        assert_eq!(snapshot(&parent), before, "{what}: the directory changed");
    }
    // With the passphrase, the encrypted key goes in decrypted.
    let certs2 = dir.join("etc/certs2");
    let args = Install { key: &enc, more: vec!["--passin", "env:KEYPASS"], ..pki.install() }.args(&certs2);
    let out = run(&s, &dir, &args);
    assert_ne!(code(&out), 0, "env:KEYPASS is unset: openssl cannot read it");
    let ok = run_env(&s, &dir, &args, &[("KEYPASS", "s3cret")]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(pem(&dir.join("etc/certs2/host.key")).starts_with("-----BEGIN PRIVATE KEY-----"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_flags_an_open_key_a_writable_directory_and_an_expiring_certificate() {
    let (dir, s, _, certs) = installed_set("certs-check", Alg::Rsa, 1);
    let d = Pki::s(&certs);
    let check = |extra: &[&str]| run(&s, &dir, &[&["check", "--dir", d, "--cf", "none"], extra].concat());

    let out = check(&[]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).ends_with("all good\n"));
    assert!(stdout(&out).contains("host.cert holds 2 certificate(s), the leaf first, each followed by its issuer"));
    let out = check(&["--host", "SMTP.example.test"]);
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("ok: the leaf covers smtp.example.test (as smtp.example.test)"), "{}", stdout(&out));
    let out = check(&["--host", "mx.other.test", "--quiet"]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).starts_with(
            "PROBLEM: the leaf is for mail.example.test, smtp.example.test, not mx.other.test: clients connecting to \
             mx.other.test will refuse it\n"
        ),
        "{}",
        stdout(&out)
    );

    let key = certs.join("host.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = check(&[]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains(&format!(
            "PROBLEM: {} has mode 0644: sendmail refuses a key others can read (and serves without STARTTLS); chmod \
             600 {}",
            key.display(),
            key.display()
        )),
        "{}",
        stdout(&out)
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // certs is a link to the set's own directory: that one is named.
    std::fs::set_permissions(&certs, std::fs::Permissions::from_mode(0o775)).unwrap();
    let set = std::fs::canonicalize(&certs).unwrap();
    let out = check(&["--quiet"]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        stdout(&out),
        format!(
            "PROBLEM: {p} is group- or world-writable (mode 0775): sendmail refuses every TLS file below it and serves \
             without STARTTLS; chmod go-w {p}\n1 problem(s) in {d}\n",
            p = set.display()
        )
    );
    std::fs::set_permissions(&certs, std::fs::Permissions::from_mode(0o755)).unwrap();

    // A leaf that expires in 5 days: a problem at the default 30, not at 3.
    let soon = Pki::new(&dir.join("soon"), Alg::Ec, 1, 5);
    let out = run(&s, &dir, &soon.install().args(&certs));
    assert_eq!(code(&out), 0);
    let out = check(&[]);
    assert_eq!(code(&out), 1);
    let line =
        stdout(&out).lines().find(|l| l.starts_with("PROBLEM: CN=mail.example.test")).unwrap_or_default().to_string();
    assert!(
        line.contains("(in host.cert) expires ") && line.contains("in 4 days (less than --warn-days 30)"),
        "{line}"
    );
    assert_eq!(code(&check(&["--warn-days", "3"])), 0);
    // Dates after 2038 count right (awk's %d stops at 2^31 in mawk).
    let far = Pki::new(&dir.join("far"), Alg::Ec, 1, 20000);
    let out = run(&s, &dir, &far.install().args(&certs));
    // Issued for 20000 days: 19999 whole days left once a second has passed,
    // 20000 when the check runs within the second the leaf was signed.
    let days = |s: &str, pat: &str| ["19999", "20000"].iter().any(|n| s.contains(&pat.replace('N', n)));
    assert!(days(&stdout(&out), "in N days)"), "{}", stdout(&out));
    let out = check(&[]);
    assert!(days(&stdout(&out), ": in N days"), "{}", stdout(&out));
    // The active sendmail.cf must name the set; one that does not is a problem.
    let cf = dir.join("sendmail.cf");
    std::fs::write(&cf, "O ServerCertFile=/etc/mail/certs/host.cert\n").unwrap();
    let out = run(&s, &dir, &["check", "--dir", d, "--cf", Pki::s(&cf)]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("has ServerCertFile=/etc/mail/certs/host.cert, not "), "{}", stdout(&out));
    assert!(stdout(&out).contains("sets no ServerKeyFile"), "{}", stdout(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn export_for_xmail_is_the_chain_and_the_matching_key() {
    let (dir, s, pki, certs) = installed_set("certs-xmail", Alg::Ec, 2);
    let mailroot = dir.join("MailRoot");
    std::fs::create_dir(&mailroot).unwrap();
    let out = run(&s, &dir, &["export", "--dir", Pki::s(&certs), "--xmail", Pki::s(&mailroot)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let cert = mailroot.join("server.cert");
    assert_eq!(certs_of(&cert), [pem(&pki.leaf), pem(&pki.intermediates[1]), pem(&pki.intermediates[0])]);
    let key = mailroot.join("server.key");
    assert_eq!(std::fs::metadata(&key).unwrap().mode() & 0o777, 0o600);
    assert_key_of(&pki.dir, &key, &cert);
    let leftovers: Vec<_> = std::fs::read_dir(&mailroot).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "{leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `name` under the shared cache, with its lock held (other tests wait)
/// until the returned file is dropped.
fn locked_cache(name: &str) -> (PathBuf, std::fs::File) {
    let dir = shared_cache().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join("lock")).unwrap();
    lock.lock().unwrap();
    (dir, lock)
}

/// A bundle of 106 self-signed EC certificates: 104 subjects, one subject
/// twice with two keys (a hash collision: .0 and .1), one certificate
/// twice (a duplicate, skipped). Made once and cached under target/.
fn generated_bundle() -> PathBuf {
    let (dir, _lock) = locked_cache("certs-bundle-v1");
    let bundle = dir.join("bundle.pem");
    if bundle.is_file() {
        return bundle;
    }
    let work = dir.join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let mut text = String::new();
    for i in 0..105 {
        let cn = if i == 104 { "Bundle CA 0".to_string() } else { format!("Bundle CA {i}") };
        let out = format!("c{i}.pem");
        openssl(
            &work,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "/dev/null",
                "-subj",
                &format!("/O=smtls bundle/CN={cn}"),
                "-days",
                "3650",
                "-out",
                &out,
            ],
        );
        text.push_str(&pem(&work.join(&out)));
    }
    text.push_str(&pem(&work.join("c5.pem")));
    let partial = dir.join("bundle.pem.partial");
    std::fs::write(&partial, text).unwrap();
    std::fs::rename(&partial, &bundle).unwrap();
    std::fs::remove_dir_all(&work).unwrap();
    bundle
}

/// The hash links of a directory: (name, target), sorted.
fn links(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_symlink())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_link(&p).unwrap().display().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The links `openssl rehash` makes for the regular files of `dir`, in a copy.
fn rehash_links(dir: &Path, copy: &Path) -> Vec<(String, String)> {
    let _ = std::fs::remove_dir_all(copy);
    std::fs::create_dir_all(copy).unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() && !p.is_symlink() {
            std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
        }
    }
    let out = Command::new("openssl").arg("rehash").arg(copy).output().unwrap();
    assert!(out.status.success(), "openssl rehash: {}", String::from_utf8_lossy(&out.stderr));
    links(copy)
}

#[test]
fn ca_split_names_and_links_as_openssl_rehash_does() {
    let (dir, s, _, certs) = installed_set("certs-split", Alg::Ec, 1);
    let bundle = generated_bundle();

    let out = run(&s, &dir, &["ca-split", Pki::s(&bundle), "--dir", Pki::s(&certs)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("105 certificate(s) as ca-*.pem"), "{}", stdout(&out));
    let ours = links(&certs);
    assert_eq!(ours, rehash_links(&certs, &dir.join("rehashed")));
    // 105 bundle certificates and cacert.pem; the collision gets .1.
    assert_eq!(ours.len(), 106, "{ours:?}");
    assert_eq!(ours.iter().filter(|(n, _)| n.ends_with(".1")).count(), 1, "{ours:?}");
    for f in ["host.cert", "host.key", "cacert.pem", "dhparams.pem"] {
        assert!(certs.join(f).is_file(), "{f} kept");
    }
    let run_check = run(&s, &dir, &["check", "--dir", Pki::s(&certs), "--cf", "none"]);
    assert_eq!(code(&run_check), 0, "{}", stdout(&run_check));

    // Split again with 50 of them: the other 55 files and their links go.
    let half: String = certs_of(&bundle).into_iter().take(50).collect();
    let small = dir.join("small.pem");
    std::fs::write(&small, half).unwrap();
    let out = run(&s, &dir, &["ca-split", Pki::s(&small), "--dir", Pki::s(&certs)]);
    assert_eq!(code(&out), 0);
    let ours = links(&certs);
    assert_eq!(ours, rehash_links(&certs, &dir.join("rehashed")));
    assert_eq!(ours.len(), 51);
    let files = std::fs::read_dir(&certs)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("ca-"))
        .count();
    assert_eq!(files, 50);
    // Deterministic: the same bundle gives the same names and links.
    let before = snapshot(&certs);
    assert_eq!(code(&run(&s, &dir, &["ca-split", Pki::s(&small), "--dir", Pki::s(&certs)])), 0);
    assert_eq!(snapshot(&certs), before);

    // The host's CA bundle (Debian's ca-certificates), when there is one.
    let system = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if system.is_file() {
        let sys = dir.join("system");
        let out = run(&s, &dir, &["ca-split", Pki::s(system), "--dir", Pki::s(&sys)]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let ours = links(&sys);
        assert!(ours.len() > 100, "{}", ours.len());
        assert_eq!(ours, rehash_links(&sys, &dir.join("rehashed-system")));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Debian's postfix package, unpacked (never installed) under the shared
/// cache: `apt-get download` then `dpkg-deb -x`. Returns the tree's root.
fn postfix_tree() -> PathBuf {
    let (dir, _lock) = locked_cache("postfix");
    let root = dir.join("root");
    if root.join("usr/sbin/postfix").is_file() {
        return root;
    }
    let out = Command::new("apt-get")
        .args(["download", "postfix"])
        .current_dir(&dir)
        .output()
        .expect("running apt-get download postfix");
    assert!(out.status.success(), "apt-get download postfix: {}", String::from_utf8_lossy(&out.stderr));
    let deb = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("the downloaded postfix .deb");
    let partial = dir.join("root.partial");
    let _ = std::fs::remove_dir_all(&partial);
    sh("dpkg-deb", &["-x", deb.to_str().unwrap(), partial.to_str().unwrap()]);
    // The set-group-ID programs postfix check expects, as postinst makes
    // them (group mail stands in for postdrop: the host has no postdrop).
    for p in ["usr/sbin/postqueue", "usr/sbin/postdrop"] {
        let path = partial.join(p);
        std::os::unix::fs::chown(&path, Some(0), Some(8)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o2755)).unwrap();
    }
    std::fs::rename(&partial, &root).unwrap();
    root
}

#[test]
fn export_for_postfix_passes_postfix_check_and_postfix_serves_the_chain() {
    let (dir, s, pki, certs) = installed_set("certs-postfix", Alg::Rsa, 2);
    let instance = PostfixInstance::new();
    let p = instance.0.clone();
    let r = p.join("tree");
    sh("cp", &["-a", postfix_tree().to_str().unwrap(), r.to_str().unwrap()]);
    for d in ["etc", "spool", "lib", "tls"] {
        std::fs::create_dir_all(p.join(d)).unwrap();
        std::fs::set_permissions(p.join(d), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::os::unix::fs::chown(p.join("lib"), Some(1), None).unwrap();
    // Postfix's own log, shown whenever the instance misbehaves.
    let maillog = p.join("maillog");
    let log = || format!("\n--- {} ---\n{}", maillog.display(), std::fs::read_to_string(&maillog).unwrap_or_default());
    let out = run(&s, &dir, &["export", "--dir", Pki::s(&certs), "--postfix", Pki::s(&p.join("tls"))]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().filter(|l| !l.starts_with('#')).map(String::from).collect();
    let tls = p.join("tls");
    assert_eq!(
        lines[0],
        format!(
            "smtpd_tls_chain_files = {}, {}",
            tls.join("smtpd-key.pem").display(),
            tls.join("smtpd-chain.pem").display()
        )
    );
    assert_eq!(std::fs::metadata(tls.join("smtpd-key.pem")).unwrap().mode() & 0o777, 0o600);
    assert_eq!(certs_of(&tls.join("smtpd-chain.pem")), certs_of(&certs.join("host.cert")));

    // A private instance: every directory in the instance's own directory or
    // its copy of the tree; mail_owner daemon, setgid_group mail (users every Debian has).
    let lib = r.join("usr/lib/postfix");
    std::fs::copy(r.join("etc/postfix/postfix-files"), p.join("etc/postfix-files")).unwrap();
    sh("cp", &["-r", r.join("etc/postfix/postfix-files.d").to_str().unwrap(), p.join("etc").to_str().unwrap()]);
    std::fs::copy(r.join("usr/share/postfix/master.cf.dist"), p.join("etc/master.cf")).unwrap();
    let base = format!(
        "compatibility_level = 3.6\nconfig_directory = {e}\nmeta_directory = {e}\ndaemon_directory = {d}\n\
         command_directory = {c}\nshlib_directory = {l}\nqueue_directory = {q}\ndata_directory = {data}\n\
         mail_owner = daemon\nsetgid_group = mail\ndefault_privs = nobody\nmyhostname = {HOST}\n\
         inet_interfaces = loopback-only\nimport_environment = MAIL_CONFIG TZ LANG=C LD_LIBRARY_PATH={l}\n\
         maillog_file_prefixes = {p}\nmaillog_file = {log}\nalias_maps =\nalias_database =\n",
        p = p.display(),
        log = maillog.display(),
        e = p.join("etc").display(),
        d = r.join("usr/lib/postfix/sbin").display(),
        c = r.join("usr/sbin").display(),
        l = lib.display(),
        q = p.join("spool").display(),
        data = p.join("lib").display(),
    );
    let check = |extra: &str| -> (bool, String, String) {
        std::fs::write(p.join("etc/main.cf"), format!("{base}{extra}")).unwrap();
        // postfix writes its findings to stderr only on a terminal.
        let cmd = format!("{} -c {} check", r.join("usr/sbin/postfix").display(), p.join("etc").display());
        let out =
            Command::new("script").args(["-qec", &cmd, "/dev/null"]).env("LD_LIBRARY_PATH", &lib).output().unwrap();
        let conf = Command::new(r.join("usr/sbin/postconf"))
            .args(["-c", p.join("etc").to_str().unwrap(), "-n"])
            .env("LD_LIBRARY_PATH", &lib)
            .output()
            .unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), said, format!("{}{}", stdout(&conf), stderr(&conf)))
    };
    let (ok, said, _) = check("");
    assert!(ok && said.trim().is_empty(), "the bare instance must pass: {said}");
    let (ok, said, conf) = check(&format!("{}\n", lines.join("\n")));
    assert!(ok, "postfix check: {said}");
    assert!(said.trim().is_empty(), "postfix check complained: {said}");
    assert!(!conf.contains("warning"), "postconf: {conf}");
    for l in &lines {
        assert!(conf.lines().any(|c| c == l), "postconf -n lacks {l}:\n{conf}");
    }
    // The control: a line Postfix does not know is reported.
    let (_, _, conf) = check(&format!("{}\nsmtpd_tls_chain_file = {}\n", lines.join("\n"), tls.display()));
    assert!(conf.contains("unused parameter: smtpd_tls_chain_file="), "{conf}");

    // And Postfix serves them: the instance started (no chroot, smtpd on a
    // free port of 127.0.0.1 only), a real client verifying against the
    // root alone, the master stopped by its pid whatever happens.
    check(&format!("{}\n", lines.join("\n")));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let master_cf = std::fs::read_to_string(p.join("etc/master.cf")).unwrap();
    let master_cf: String = master_cf
        .lines()
        .map(|l| {
            let mut w: Vec<&str> = l.split_whitespace().collect();
            let service = w.len() >= 8 && !l.starts_with(['#', ' ', '\t']);
            if !service {
                return format!("{l}\n");
            }
            let listen = format!("127.0.0.1:{port}");
            if w[0] == "smtp" && w[1] == "inet" {
                w[0] = &listen;
            }
            w[4] = "n";
            format!("{}\n", w.join(" "))
        })
        .collect();
    std::fs::write(p.join("etc/master.cf"), master_cf).unwrap();
    struct Postfix(PathBuf, PathBuf, PathBuf);
    impl Drop for Postfix {
        fn drop(&mut self) {
            let _ = Command::new(self.0.join("usr/sbin/postfix"))
                .args(["-c", self.1.to_str().unwrap(), "stop"])
                .env("LD_LIBRARY_PATH", self.0.join("usr/lib/postfix"))
                .output();
            if let Ok(pid) = std::fs::read_to_string(&self.2) {
                if let Ok(pid) = pid.trim().parse::<i32>() {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    // Only if that pid is still this instance's master.
                    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    if String::from_utf8_lossy(&cmdline).contains("master") {
                        let _ = Command::new("kill").arg(pid.to_string()).output();
                    }
                }
            }
        }
    }
    let started = Command::new(r.join("usr/sbin/postfix"))
        .args(["-c", p.join("etc").to_str().unwrap(), "start"])
        .env("LD_LIBRARY_PATH", &lib)
        .output()
        .unwrap();
    let _running = Postfix(r.clone(), p.join("etc"), p.join("spool/pid/master.pid"));
    assert!(started.status.success(), "postfix start: {}{}", text(&started), log());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "postfix does not listen on 127.0.0.1:{port}{}", log());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let client = Command::new("timeout")
        .args(["30", "openssl", "s_client", "-starttls", "smtp", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-CAfile", Pki::s(&pki.root), "-verify_hostname", HOST, "-verify_return_error", "-showcerts"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let seen = stdout(&client);
    let chain: Vec<&str> =
        seen.lines().filter(|l| l.starts_with(" 0 s:") || l.starts_with(" 1 s:") || l.starts_with(" 2 s:")).collect();
    assert_eq!(
        chain,
        [
            " 0 s:CN = mail.example.test",
            " 1 s:O = smtls test, CN = Test Intermediate CA 2",
            " 2 s:O = smtls test, CN = Test Intermediate CA 1"
        ],
        "{seen}{}",
        log()
    );
    assert!(seen.contains("Verification: OK") && seen.contains("Verify return code: 0 (ok)"), "{seen}");
    drop(_running);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A private Postfix instance's directory. Its unprivileged daemons (user
/// daemon) must enter every directory on the way to their queue and data:
/// the checkout may live where they cannot (under /root, mode 0700), so the
/// instance is a new directory of its own under the system's temporary
/// directory, whose ancestors they can search. Removed when dropped.
struct PostfixInstance(PathBuf);

impl PostfixInstance {
    fn new() -> PostfixInstance {
        let base = std::env::temp_dir();
        let mut a = PathBuf::from("/");
        for c in base.components().skip(1) {
            a.push(c);
            let mode = std::fs::metadata(&a).unwrap().mode();
            assert!(
                mode & 0o001 != 0,
                "Postfix's daemons cannot enter {} (mode {:o}): point TMPDIR at a directory they can reach",
                a.display(),
                mode & 0o7777
            );
        }
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        let dir = base.join(format!("smtls-postfix-{}-{nanos}", std::process::id()));
        // create_dir, not create_dir_all: a name someone planted is an error.
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        PostfixInstance(dir)
    }
}

impl Drop for PostfixInstance {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

//! `sendmail-certs` under the faults of issue 23 (item 0) and its
//! monitoring mode (item 4): concurrent installs, a reader polling the set
//! while it is replaced, signals and SIGKILL at every step of a swap,
//! SIGPIPE, odd paths and names, cross-signed chains, planted links,
//! backups, oversized input, a FIFO passphrase, and the Nagios exit codes.
//! Real openssl, the script under dash; one EC PKI shared by every test.

use smtls_tests::certs::{code, script, snapshot, stderr, stdout};
use smtls_tests::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const HOST: &str = "mail.example.test";

const CNF: &str = "\
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[leaf_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:mail.example.test
[wild_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:*.example.test
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

/// One PKI for every test of this file: a new root and an old one, the
/// new root cross-signed by the old (the long-chain pattern), an
/// intermediate under the new root, and leaves for two keys.
struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn p(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn ossl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("running openssl");
    assert!(out.status.success(), "openssl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = scratch("certs-faults-pki");
        std::fs::write(dir.join("ext.cnf"), CNF).unwrap();
        let o = |args: &[&str]| ossl(&dir, args);
        for k in ["new-root", "old-root", "int", "a", "b"] {
            o(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", &format!("{k}.key")]);
        }
        let selfsigned = |k: &str, cn: &str| {
            o(&["req", "-x509", "-new", "-key", &format!("{k}.key"), "-subj", &format!("/O=smtls test/CN={cn}")]
                .iter()
                .chain(&["-days", "3650", "-config", "ext.cnf", "-extensions", "ca_ext"])
                .chain(&["-out", &format!("{k}.pem")])
                .copied()
                .collect::<Vec<_>>())
        };
        selfsigned("new-root", "New Root");
        selfsigned("old-root", "Old Root");
        // csr, issuer cert, issuer key, extension, days, out, serial
        let sign = |csr: &str, ca: &str, ca_key: &str, ext: &str, days: &str, out: &str, serial: &str| {
            o(&["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-set_serial", serial, "-days", days]
                .iter()
                .chain(&["-extfile", "ext.cnf", "-extensions", ext, "-out", out])
                .copied()
                .collect::<Vec<_>>())
        };
        let csr = |k: &str, subj: &str| {
            o(&["req", "-new", "-key", &format!("{k}.key"), "-subj", subj, "-out", &format!("{k}.csr")])
        };
        csr("new-root", "/O=smtls test/CN=New Root");
        sign("new-root.csr", "old-root.pem", "old-root.key", "ca_ext", "3650", "cross.pem", "11");
        csr("int", "/O=smtls test/CN=Test Intermediate");
        sign("int.csr", "new-root.pem", "new-root.key", "ca_ext", "1825", "int.pem", "12");
        csr("a", &format!("/CN={HOST}"));
        csr("b", &format!("/CN={HOST}"));
        sign("a.csr", "int.pem", "int.key", "leaf_ext", "90", "a.pem", "13");
        sign("b.csr", "int.pem", "int.key", "leaf_ext", "90", "b.pem", "14");
        sign("a.csr", "int.pem", "int.key", "leaf_ext", "5", "a-soon.pem", "15");
        sign("a.csr", "int.pem", "int.key", "wild_ext", "90", "a-wild.pem", "16");
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        o(&["ca", "-batch", "-config", "ext.cnf", "-cert", "int.pem", "-keyfile", "int.key", "-in", "a.csr"]
            .iter()
            .chain(&["-out", "a-expired.pem", "-startdate", "20200101000000Z", "-enddate", "20200401000000Z"])
            .chain(&["-extensions", "leaf_ext", "-extfile", "ext.cnf", "-notext"])
            .copied()
            .collect::<Vec<_>>());
        Fixture { dir }
    })
}

/// A test's world: scratch dir, the script, `etc/` (0755) for the set, a
/// private TMPDIR.
struct World {
    dir: PathBuf,
    script: PathBuf,
    etc: PathBuf,
    tmp: PathBuf,
}

impl World {
    fn new(name: &str) -> World {
        let dir = scratch(name);
        let script = script(&dir);
        let etc = dir.join("etc");
        let tmp = dir.join("tmp");
        for d in [&etc, &tmp] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        World { dir, script, etc, tmp }
    }

    fn certs(&self) -> PathBuf {
        self.etc.join("certs")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("dash");
        c.arg(&self.script).args(args).env("TMPDIR", &self.tmp).env("OPENSSL", "openssl").current_dir(&self.dir);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().expect("running dash");
        eprintln!(
            "$ sendmail-certs {}\n[exit {}]\n{}{}",
            args.join(" "),
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `install` of leaf `leaf` with key `key` (fixture names), the
/// intermediate as chain, the new root as CA.
fn install_args(f: &Fixture, leaf: &str, key: &str, dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["install".into(), "--cert".into(), s(&f.p(leaf)).into(), "--key".into()];
    v.push(s(&f.p(key)).into());
    v.extend(["--chain".into(), s(&f.p("int.pem")).into(), "--ca".into(), s(&f.p("new-root.pem")).into()]);
    v.extend(["--host".into(), HOST.into(), "--dir".into(), s(dir).into()]);
    v.extend(extra.iter().map(|e| e.to_string()));
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Names in `dir` (not following anything).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// The served set is whole: host.cert is leaf `leaf` then the
/// intermediate, host.key its key, cacert.pem the new root; nothing else
/// but dhparams.pem and the hash link; no scratch beside it.
fn assert_whole(f: &Fixture, certs: &Path, leaf: &str, key: &str) {
    let cert = std::fs::read_to_string(certs.join("host.cert")).unwrap();
    let want =
        format!("{}{}", std::fs::read_to_string(f.p(leaf)).unwrap(), std::fs::read_to_string(f.p("int.pem")).unwrap());
    assert_eq!(cert, want, "host.cert of {}", certs.display());
    let pubkey = |args: &[&str]| Command::new("openssl").args(args).output().unwrap().stdout;
    assert_eq!(
        pubkey(&["pkey", "-pubout", "-in", s(&certs.join("host.key"))]),
        pubkey(&["pkey", "-pubout", "-in", s(&f.p(key))]),
        "host.key is {key}"
    );
    assert_eq!(std::fs::read(certs.join("cacert.pem")).unwrap(), std::fs::read(f.p("new-root.pem")).unwrap());
    let inside = names(certs);
    assert_eq!(inside.len(), 5, "host.cert, host.key, cacert.pem, dhparams.pem and one hash link: {inside:?}");
    assert!(inside.iter().all(|n| !n.starts_with('.')), "{inside:?}");
}

/// No scratch or half-made set beside `certs`, nothing in TMPDIR.
fn assert_no_scratch(w: &World) {
    let stray: Vec<String> = names(&w.etc)
        .into_iter()
        .filter(|n| n.contains(".work.") || n.contains(".new.") || n.contains(".link."))
        .collect();
    assert!(stray.is_empty(), "left in {}: {stray:?}", w.etc.display());
    assert!(names(&w.tmp).is_empty(), "left in TMPDIR: {:?}", names(&w.tmp));
}

#[test]
fn two_concurrent_installs_wait_for_each_other_and_leave_one_whole_set() {
    let f = fixture();
    let w = World::new("certs-faults-concurrent");
    let certs = w.certs();
    // A `mv` that, at each run's first rename, waits (up to 3 s) until the
    // other run is at its first rename too: the two swaps meet.
    let bin = w.dir.join("barrier");
    std::fs::create_dir_all(&bin).unwrap();
    let real = sh("sh", &["-c", "command -v mv"]).trim().to_string();
    let meet = w.dir.join("meet");
    std::fs::write(
        bin.join("mv"),
        format!(
            "#!/bin/sh\nif [ ! -e '{m}/at.'$PPID ]; then\n\t: >'{m}/at.'$PPID\n\ti=0\n\twhile [ \"$(ls '{m}' | wc -l)\" \
             -lt 2 ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done\nfi\nexec {real} \"$@\"\n",
            m = meet.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("mv"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for round in 0..2 {
        let _ = std::fs::remove_dir_all(&meet);
        std::fs::create_dir_all(&meet).unwrap();
        let a = install_args(f, "a.pem", "a.key", &certs, &[]);
        let b = install_args(f, "b.pem", "b.key", &certs, &[]);
        let spawn = |args: &[String]| {
            w.cmd(&strs(args)).env("PATH", &path).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
        };
        let (ca, cb) = (spawn(&a), spawn(&b));
        let (oa, ob) = (ca.wait_with_output().unwrap(), cb.wait_with_output().unwrap());
        assert!(oa.status.success() && ob.status.success(), "round {round}: {}{}", stderr(&oa), stderr(&ob));
        // Whichever ran last is served, whole; no set inside the set.
        let cert = std::fs::read_to_string(certs.join("host.cert")).unwrap();
        let last = if cert.starts_with(&std::fs::read_to_string(f.p("a.pem")).unwrap()) { "a" } else { "b" };
        assert_whole(f, &certs, &format!("{last}.pem"), &format!("{last}.key"));
        assert_no_scratch(&w);
    }
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[test]
fn a_reader_never_sees_a_missing_or_partial_set_while_sets_are_replaced() {
    let f = fixture();
    let w = World::new("certs-faults-reader");
    let certs = w.certs();
    let out = w.run(&strs(&install_args(f, "a.pem", "a.key", &certs, &[])));
    assert_eq!(code(&out), 0);
    let whole: Vec<Vec<u8>> = ["a", "b"]
        .iter()
        .map(|l| [std::fs::read(f.p(&format!("{l}.pem"))).unwrap(), std::fs::read(f.p("int.pem")).unwrap()].concat())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let (reads, misses) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let reader = {
        let (stop, reads, misses, cert, key) =
            (stop.clone(), reads.clone(), misses.clone(), certs.join("host.cert"), certs.join("host.key"));
        std::thread::spawn(move || {
            let mut seen = vec![];
            while !stop.load(Ordering::Relaxed) {
                reads.fetch_add(1, Ordering::Relaxed);
                match (std::fs::read(&cert), std::fs::metadata(&key)) {
                    (Ok(c), Ok(k)) if whole.contains(&c) && k.len() > 0 => {}
                    (c, k) => {
                        misses.fetch_add(1, Ordering::Relaxed);
                        if seen.len() < 3 {
                            seen.push(format!("{:?} {:?}", c.map(|c| c.len()), k.map(|k| k.len())));
                        }
                    }
                }
            }
            seen
        })
    };
    for i in 0..8 {
        let l = if i % 2 == 0 { "b" } else { "a" };
        let out = w.run(&strs(&install_args(f, &format!("{l}.pem"), &format!("{l}.key"), &certs, &[])));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    stop.store(true, Ordering::Relaxed);
    let seen = reader.join().unwrap();
    let (r, m) = (reads.load(Ordering::Relaxed), misses.load(Ordering::Relaxed));
    eprintln!("reader: {r} reads of host.cert and host.key during 8 installs, {m} missing or partial");
    assert!(r > 1000, "the reader ran ({r} reads)");
    assert_eq!(m, 0, "the reader saw no set {m} times in {r} reads, e.g. {seen:?}");
    assert!(std::fs::symlink_metadata(&certs).unwrap().file_type().is_symlink(), "the set is served through a link");
    std::fs::remove_dir_all(&w.dir).unwrap();
}

/// A `mv` in front of the real one that sends `sig` to the script on its
/// `at`-th call, before renaming: a signal at every step of a swap.
fn mv_shim(dir: &Path, at: usize, sig: &str) -> PathBuf {
    let bin = dir.join(format!("shim-{sig}-{at}"));
    std::fs::create_dir_all(&bin).unwrap();
    let real = sh("sh", &["-c", "command -v mv"]).trim().to_string();
    let count = bin.join("count");
    let _ = std::fs::remove_file(&count);
    std::fs::write(
        bin.join("mv"),
        format!(
            "#!/bin/sh\nn=$(cat '{c}' 2>/dev/null || echo 0); n=$((n + 1)); echo $n >'{c}'\n[ \"$n\" != {at} ] || kill \
             -{sig} $PPID\nexec {real} \"$@\"\n",
            c = count.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("mv"), std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[test]
fn a_signal_or_a_kill_at_any_step_of_a_swap_leaves_one_whole_set() {
    let f = fixture();
    let w = World::new("certs-faults-signals");
    let certs = w.certs();
    let path = std::env::var("PATH").unwrap();
    let out = w.run(&strs(&install_args(f, "a.pem", "a.key", &certs, &[])));
    assert_eq!(code(&out), 0);
    let b_pem = std::fs::read_to_string(f.p("b.pem")).unwrap();
    let served = || if pem_of(&certs.join("host.cert")).starts_with(&b_pem) { "b" } else { "a" };
    // From a plain directory (an older version's layout, FreeBSD's rc
    // script's): the new set renamed, the old directory moved aside, the
    // link renamed in. From the link: the new set renamed, the link in.
    // TERM and KILL at each of these renames, INT and HUP at the one that
    // leaves no DIR for a moment.
    let mut cases = vec![];
    for (start, steps) in [("plain", 3), ("link", 2)] {
        for at in 1..=steps {
            cases.extend([(start, "TERM", at), (start, "KILL", at)]);
        }
    }
    cases.extend([("plain", "INT", 2), ("plain", "HUP", 2)]);
    for (start, sig, at) in cases {
        let is_link = std::fs::symlink_metadata(&certs).unwrap().file_type().is_symlink();
        if start == "plain" && is_link {
            let set = std::fs::canonicalize(&certs).unwrap();
            std::fs::remove_file(&certs).unwrap();
            std::fs::rename(&set, &certs).unwrap();
        }
        if start == "link" && !is_link {
            // One install from the plain directory makes the link.
            let n = if served() == "a" { "b" } else { "a" };
            assert_eq!(code(&w.run(&strs(&install_args(f, &format!("{n}.pem"), &format!("{n}.key"), &certs, &[])))), 0);
        }
        let (old, new) = if served() == "a" { ("a", "b") } else { ("b", "a") };
        let bin = mv_shim(&w.dir, at, sig);
        let args = install_args(f, &format!("{new}.pem"), &format!("{new}.key"), &certs, &[]);
        let out = w.cmd(&strs(&args)).env("PATH", format!("{}:{path}", bin.display())).output().unwrap();
        let what = format!("{start} dir, {old} served, SIG{sig} at mv #{at}: exit {:?}, {}", out.status, stderr(&out));
        eprintln!("{what}");
        if sig == "KILL" {
            // The next run finishes or drops what the killed one left.
            assert_eq!(out.status.code(), None, "{what}");
            let out = w.run(&strs(&install_args(f, &format!("{old}.pem"), &format!("{old}.key"), &certs, &[])));
            assert_eq!(code(&out), 0, "{what}");
            assert_whole(f, &certs, &format!("{old}.pem"), &format!("{old}.key"));
        } else {
            // Right after: one whole set is served, the old or the new.
            assert_ne!(code(&out), 0, "{what}");
            assert!(stderr(&out).contains(&format!("interrupted by SIG{sig}; {} serves ", s(&certs))), "{what}");
            let now = served();
            assert_whole(f, &certs, &format!("{now}.pem"), &format!("{now}.key"));
        }
        assert_no_scratch(&w);
    }
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[test]
fn a_closed_pipe_or_a_kill_leaves_no_key_outside_a_private_directory() {
    let f = fixture();
    let w = World::new("certs-faults-sigpipe");
    let certs = w.certs();
    let enc = w.dir.join("a.enc.key");
    ossl(&w.dir, &["pkey", "-in", s(&f.p("a.key")), "-aes256", "-passout", "pass:s3cret", "-out", s(&enc)]);
    let mut args = install_args(f, "a.pem", "a.key", &certs, &["--passin", "pass:s3cret"]);
    args[4] = s(&enc).to_string();
    // The reader is gone before the first line: SIGPIPE at the first write.
    let line =
        std::iter::once(s(&w.script).to_string()).chain(args.iter().map(|a| format!("'{a}'"))).collect::<Vec<_>>();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("dash {} | true; exit 0", line.join(" ")))
        .env("TMPDIR", &w.tmp)
        .output()
        .unwrap();
    eprintln!("install | true: {}", stderr(&out));
    assert!(stderr(&out).contains("interrupted by SIGPIPE"), "{}", stderr(&out));
    assert_no_scratch(&w);
    assert_whole(f, &certs, "a.pem", "a.key");
    // SIGKILL once the key is decrypted (at the first rename): the scratch
    // directory is beside the set, mode 0700, and the next run removes it.
    let bin = mv_shim(&w.dir, 1, "KILL");
    let b = install_args(f, "b.pem", "b.key", &certs, &[]);
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = w.cmd(&strs(&b)).env("PATH", path).output().unwrap();
    assert_eq!(out.status.code(), None, "killed");
    assert!(names(&w.tmp).is_empty(), "TMPDIR holds {:?}", names(&w.tmp));
    let work: Vec<String> = names(&w.etc).into_iter().filter(|n| n.starts_with(".certs.work.")).collect();
    assert_eq!(work.len(), 1, "{:?}", names(&w.etc));
    assert_eq!(std::fs::metadata(w.etc.join(&work[0])).unwrap().mode() & 0o777, 0o700);
    let out = w.run(&strs(&install_args(f, "a.pem", "a.key", &certs, &[])));
    assert_eq!(code(&out), 0);
    assert_no_scratch(&w);
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[test]
fn a_trailing_slash_or_dot_names_the_same_directory_and_a_foreign_link_is_refused() {
    let f = fixture();
    let w = World::new("certs-faults-slash");
    let certs = w.certs();
    for d in [format!("{}/", s(&certs)), s(&certs).to_string(), format!("{}/.", s(&certs)), format!("{}//", s(&certs))]
    {
        let leaf = if d.ends_with('.') { "b" } else { "a" };
        let out = w.run(&strs(&install_args(f, &format!("{leaf}.pem"), &format!("{leaf}.key"), Path::new(&d), &[])));
        assert_eq!(code(&out), 0, "--dir {d}: {}", stderr(&out));
        assert_whole(f, &certs, &format!("{leaf}.pem"), &format!("{leaf}.key"));
    }
    // A link the administrator made is refused however it is spelled.
    let mine = w.etc.join("mine");
    std::os::unix::fs::symlink(std::fs::canonicalize(&certs).unwrap(), &mine).unwrap();
    let before = snapshot(&w.etc);
    for d in [s(&mine).to_string(), format!("{}/", s(&mine)), format!("{}/.", s(&mine))] {
        let out = w.run(&strs(&install_args(f, "a.pem", "a.key", Path::new(&d), &[])));
        assert_eq!(code(&out), 1, "--dir {d}");
        assert!(stderr(&out).contains("is a symbolic link: give the directory it points to"), "{}", stderr(&out));
        assert_eq!(snapshot(&w.etc), before, "--dir {d}");
    }
    let out = w.run(&strs(&install_args(f, "a.pem", "a.key", &w.etc.join("x/../certs"), &[])));
    assert_eq!(code(&out), 2, "a .. component is bad usage");
    assert_eq!(snapshot(&w.etc), before);
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[test]
fn export_refuses_a_link_planted_at_a_file_it_writes() {
    let f = fixture();
    let w = World::new("certs-faults-export");
    let certs = w.certs();
    assert_eq!(code(&w.run(&strs(&install_args(f, "a.pem", "a.key", &certs, &[])))), 0);
    let (mailroot, postfix, elsewhere) = (w.dir.join("MailRoot"), w.dir.join("postfix"), w.dir.join("elsewhere"));
    for d in [&mailroot, &postfix, &elsewhere] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(elsewhere.join("stale.pem"), "stale\n").unwrap();
    std::os::unix::fs::symlink(&elsewhere, mailroot.join("server.key")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("stale.pem"), postfix.join("smtpd-chain.pem")).unwrap();
    for (opt, out_dir, name) in [("--xmail", &mailroot, "server.key"), ("--postfix", &postfix, "smtpd-chain.pem")] {
        let before = (snapshot(out_dir), snapshot(&elsewhere));
        let out = w.run(&["export", "--dir", s(&certs), opt, s(out_dir)]);
        assert_eq!(code(&out), 1, "{opt}: {}", stdout(&out));
        assert!(
            stderr(&out).contains(&format!("refused: {}/{name} is a symbolic link", out_dir.display())),
            "{}",
            stderr(&out)
        );
        assert_eq!((snapshot(out_dir), snapshot(&elsewhere)), before, "{opt}: nothing written");
    }
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[test]
fn names_orders_and_spellings_are_read_as_openssl_reads_them() {
    let f = fixture();
    let w = World::new("certs-faults-names");
    let certs = w.certs();
    // A wildcard leaf, with a file in the working directory that the
    // pattern would match if it were globbed (making the leaf "for" it).
    std::fs::write(w.dir.join("mx.example.test"), "").unwrap();
    let mut args = install_args(f, "a-wild.pem", "a.key", &certs, &[]);
    args[10] = "www.example.test".into();
    let out = w.run(&strs(&args));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("covers www.example.test as *.example.test"), "{}", stdout(&out));
    // A fullchain file with the intermediate first, and the same as PKCS#7.
    let pem = |n: &str| std::fs::read_to_string(f.p(n)).unwrap();
    let reversed = w.dir.join("int-first.pem");
    std::fs::write(&reversed, format!("{}{}", pem("int.pem"), pem("b.pem"))).unwrap();
    let p7b = w.dir.join("int-first.p7b");
    ossl(&w.dir, &["crl2pkcs7", "-nocrl", "-certfile", "int-first.pem", "-outform", "DER", "-out", s(&p7b)]);
    for file in [&reversed, &p7b] {
        let (key, root) = (f.p("b.key"), f.p("new-root.pem"));
        let args = ["install", "--cert", s(file), "--key", s(&key), "--ca", s(&root)];
        let out = w.run(&[&args[..], &["--host", HOST, "--dir", s(&certs)]].concat());
        assert_eq!(code(&out), 0, "{}: {}", file.display(), stderr(&out));
        assert_whole(f, &certs, "b.pem", "b.key");
        // The second time nothing changes.
    }
    // A BEGIN line with a trailing blank, which openssl reads.
    let spaced = w.dir.join("spaced.pem");
    std::fs::write(
        &spaced,
        pem("a.pem").replacen("-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE----- \n", 1),
    )
    .unwrap();
    ossl(&w.dir, &["x509", "-noout", "-in", "spaced.pem"]);
    let mut args = install_args(f, "a.pem", "a.key", &certs, &[]);
    args[2] = s(&spaced).into();
    let out = w.run(&strs(&args));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_whole(f, &certs, "a.pem", "a.key");
    // Relative names that start with '-'.
    for (from, to) in
        [("b.pem", "-leaf.pem"), ("b.key", "-leaf.key"), ("int.pem", "-int.pem"), ("new-root.pem", "-ca.pem")]
    {
        std::fs::copy(f.p(from), w.dir.join(to)).unwrap();
    }
    let out = w.run(&[
        "install",
        "--cert",
        "-leaf.pem",
        "--key",
        "-leaf.key",
        "--chain",
        "-int.pem",
        "--ca",
        "-ca.pem",
        "--host",
        HOST,
        "--dir",
        "etc/certs",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_whole(f, &certs, "b.pem", "b.key");
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[test]
fn a_cross_signed_chain_verifies_and_cacert_is_the_root_it_reaches() {
    let f = fixture();
    let w = World::new("certs-faults-cross");
    let certs = w.certs();
    let pem = |n: &str| std::fs::read_to_string(f.p(n)).unwrap();
    // leaf, intermediate, the new root cross-signed by the old one.
    let full = w.dir.join("fullchain.pem");
    std::fs::write(&full, format!("{}{}{}", pem("a.pem"), pem("int.pem"), pem("cross.pem"))).unwrap();
    let both = w.dir.join("both-roots.pem");
    std::fs::write(&both, format!("{}{}", pem("old-root.pem"), pem("new-root.pem"))).unwrap();
    let verify = Command::new("openssl")
        .args(["verify", "-no-CApath", "-CAfile", s(&f.p("new-root.pem")), "-untrusted", s(&full), s(&f.p("a.pem"))])
        .output()
        .unwrap();
    assert!(verify.status.success(), "openssl verify accepts the chain with the new root alone");
    for ca in [f.p("new-root.pem"), both] {
        let key = f.p("a.key");
        let args = ["install", "--cert", s(&full), "--key", s(&key), "--ca", s(&ca), "--host", HOST];
        let out = w.run(&[&args[..], &["--dir", s(&certs)]].concat());
        assert_eq!(code(&out), 0, "--ca {}: {}", ca.display(), stderr(&out));
        assert_eq!(
            pem_of(&certs.join("cacert.pem")),
            pem("new-root.pem"),
            "--ca {}: the root verify reaches",
            ca.display()
        );
        assert_eq!(pem_of(&certs.join("host.cert")), format!("{}{}{}", pem("a.pem"), pem("int.pem"), pem("cross.pem")));
        let check = w.run(&["check", "--dir", s(&certs), "--cf", "none"]);
        assert_eq!(code(&check), 0, "{}", stdout(&check));
    }
    std::fs::remove_dir_all(&w.dir).unwrap();
}

fn pem_of(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

/// The sets kept beside `certs`: certs.<time> directories.
fn sets(w: &World) -> Vec<String> {
    names(&w.etc).into_iter().filter(|n| n.starts_with("certs.2")).collect()
}

#[test]
fn backups_are_kept_as_asked_and_not_made_when_nothing_changed() {
    let f = fixture();
    let w = World::new("certs-faults-keep");
    let certs = w.certs();
    let a = install_args(f, "a.pem", "a.key", &certs, &["--keep", "2"]);
    let b = install_args(f, "b.pem", "b.key", &certs, &["--keep", "2"]);
    assert_eq!(code(&w.run(&strs(&a))), 0);
    assert_eq!(sets(&w).len(), 1, "{:?}", sets(&w));
    let before = snapshot(&w.etc);
    let out = w.run(&strs(&a));
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("already holds this set: nothing changed, no backup made"), "{}", stdout(&out));
    assert_eq!(snapshot(&w.etc), before, "the same set again changes nothing");
    for (i, args) in [&b, &a, &b, &a, &b].iter().enumerate() {
        let out = w.run(&strs(args));
        assert_eq!(code(&out), 0);
        assert_eq!(sets(&w).len(), (i + 2).min(3), "the served set and --keep 2: {:?}", sets(&w));
        // Same-second names sort in order of making.
        std::thread::sleep(Duration::from_millis(1100));
    }
    assert_whole(f, &certs, "b.pem", "b.key");
    let served = std::fs::read_link(&certs).unwrap();
    assert!(sets(&w).contains(&served.display().to_string()), "{served:?} in {:?}", sets(&w));
    let out = w.run(&strs(&install_args(f, "a.pem", "a.key", &certs, &["--keep", "0"])));
    assert_eq!(code(&out), 0);
    assert_eq!(sets(&w).len(), 1, "--keep 0: {:?}", sets(&w));
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[test]
fn oversized_input_and_a_fifo_passphrase_are_refused_before_any_work() {
    let f = fixture();
    let w = World::new("certs-faults-input");
    let certs = w.certs();
    assert_eq!(code(&w.run(&strs(&install_args(f, "a.pem", "a.key", &certs, &[])))), 0);
    let before = snapshot(&w.etc);
    // 2 MiB: a certificate with a junk tail.
    let big = w.dir.join("big.pem");
    let mut text = pem_of(&f.p("b.pem"));
    text.push_str(&"#".repeat(2 << 20));
    std::fs::write(&big, text).unwrap();
    let mut args = install_args(f, "b.pem", "b.key", &certs, &[]);
    args[2] = s(&big).into();
    let out = w.run(&strs(&args));
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("bytes, more than the 1048576 bytes"), "{}", stderr(&out));
    assert_eq!(snapshot(&w.etc), before);
    // --passin file:FIFO, nobody writing: openssl would wait for ever.
    let fifo = w.dir.join("pass.fifo");
    sh("mkfifo", &[s(&fifo)]);
    let passin = format!("file:{}", fifo.display());
    let args = install_args(f, "b.pem", "b.key", &certs, &["--passin", &passin]);
    let mut cmd = w.cmd(&strs(&args));
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut waited = 0;
    while child.try_wait().unwrap().is_none() && waited < 200 {
        std::thread::sleep(Duration::from_millis(100));
        waited += 1;
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("install with --passin {passin} still waits after 20 s");
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("is not a readable regular file (openssl would wait for ever on a FIFO)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(snapshot(&w.etc), before);
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[test]
fn check_follows_a_linked_directory_and_catches_a_misdirected_hash_link() {
    let f = fixture();
    let w = World::new("certs-faults-check");
    let certs = w.certs();
    assert_eq!(code(&w.run(&strs(&install_args(f, "a.pem", "a.key", &certs, &[])))), 0);
    // The set is served through a link (mode 0777 as ls shows a link):
    // no false "world-writable" finding.
    let out = w.run(&["check", "--dir", s(&certs), "--cf", "none"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(!stdout(&out).contains("writable"), "{}", stdout(&out));
    // Nor through a linked component of the path.
    std::os::unix::fs::symlink(&w.etc, w.dir.join("etc-link")).unwrap();
    let out = w.run(&["check", "--dir", s(&w.dir.join("etc-link/certs")), "--cf", "none"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(!stdout(&out).contains("writable"), "{}", stdout(&out));
    // A writable directory the link leads into is found.
    let set = std::fs::canonicalize(&certs).unwrap();
    std::fs::set_permissions(&set, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = w.run(&["check", "--dir", s(&certs), "--cf", "none", "--quiet"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains(&format!("PROBLEM: {} is group- or world-writable (mode 0777)", set.display())));
    std::fs::set_permissions(&set, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The CA's hash link pointing at another file.
    let link = names(&certs).into_iter().find(|n| n.ends_with(".0")).unwrap();
    std::fs::remove_file(certs.join(&link)).unwrap();
    std::os::unix::fs::symlink("host.cert", certs.join(&link)).unwrap();
    let out = w.run(&["check", "--dir", s(&certs), "--cf", "none", "--quiet"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!(
            "PROBLEM: the hash link {link} in {} points at host.cert, not at cacert.pem",
            s(&certs)
        )),
        "{}",
        stdout(&out)
    );
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[test]
fn monitoring_mode_exits_as_a_nagios_plugin_with_a_summary_first() {
    let f = fixture();
    let w = World::new("certs-faults-nagios");
    let certs = w.certs();
    let nagios = |days: &str, dir: &Path| w.run(&["check", "--dir", s(dir), "--cf", "none", "--expires-within", days]);
    let first = |out: &Output| stdout(out).lines().next().unwrap_or_default().to_string();
    assert_eq!(code(&w.run(&strs(&install_args(f, "a.pem", "a.key", &certs, &[])))), 0);
    let out = nagios("14", &certs);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(first(&out).starts_with("SENDMAIL-CERTS OK: "), "{}", stdout(&out));
    assert!(first(&out).contains("| days_left=8") && first(&out).ends_with(";14;0"), "{}", first(&out));
    // A leaf that expires in 5 days: WARNING within 14, OK within 3.
    assert_eq!(code(&w.run(&strs(&install_args(f, "a-soon.pem", "a.key", &certs, &[])))), 0);
    let out = nagios("14", &certs);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        first(&out).starts_with("SENDMAIL-CERTS WARNING: CN=mail.example.test (in host.cert) expires "),
        "{}",
        first(&out)
    );
    assert!(first(&out).contains("in 4 days (within --expires-within 14)"), "{}", first(&out));
    assert_eq!(code(&nagios("3", &certs)), 0);
    // Expired (put in place by hand: install refuses it): CRITICAL.
    let set = std::fs::canonicalize(&certs).unwrap();
    std::fs::write(set.join("host.cert"), format!("{}{}", pem_of(&f.p("a-expired.pem")), pem_of(&f.p("int.pem"))))
        .unwrap();
    let out = nagios("14", &certs);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(first(&out).starts_with("SENDMAIL-CERTS CRITICAL: "), "{}", first(&out));
    assert!(
        first(&out).ends_with("| days_left=-2442;14;0") || first(&out).contains("days_left=-24"),
        "{}",
        first(&out)
    );
    assert!(stdout(&out).contains("expires Apr  1 00:00:00 2020 GMT: it has EXPIRED"), "{}", stdout(&out));
    // No such directory, an unreadable one, bad usage: UNKNOWN.
    let out = nagios("14", &w.etc.join("nothing"));
    assert_eq!(code(&out), 3, "{}", stdout(&out));
    assert!(first(&out).starts_with("SENDMAIL-CERTS UNKNOWN: "), "{}", first(&out));
    assert_eq!(code(&nagios("soon", &certs)), 3);
    // nobody must reach the directory's parent and read the script wherever
    // the checkout lives (under /root, mode 0700, it cannot): a directory of
    // its own under the system's temp dir, and the script on stdin.
    let outside = std::env::temp_dir().join(format!("smtls-nagios-{}", std::process::id()));
    let unreadable = outside.join("certs");
    std::fs::create_dir_all(&unreadable).unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o700)).unwrap();
    let as_nobody = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "dash", "-s"])
        .args(["check", "--dir", s(&unreadable), "--cf", "none", "--expires-within", "14"])
        .stdin(std::fs::File::open(&w.script).unwrap())
        .env("TMPDIR", "/tmp")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&outside).unwrap();
    eprintln!("as nobody: {}{}", stdout(&as_nobody), stderr(&as_nobody));
    assert_eq!(code(&as_nobody), 3, "{}", stdout(&as_nobody));
    assert!(
        stdout(&as_nobody).starts_with("SENDMAIL-CERTS UNKNOWN: cannot read the directory"),
        "{}",
        stdout(&as_nobody)
    );
    std::fs::remove_dir_all(&w.dir).unwrap();
}

#[test]
fn check_served_compares_the_running_daemons_chain_with_the_installed_one() {
    let root = shared_build("8.18.2").unwrap();
    let f = fixture();
    let w = World::new("certs-faults-served");
    let certs = w.certs();
    assert_eq!(code(&w.run(&strs(&install_args(f, "a.pem", "a.key", &certs, &[])))), 0);
    // The smoke machinery makes the .cf for this set (and proves the daemon
    // serves it); the test then runs that daemon itself, on 127.0.0.1.
    let smoke = xtask(
        &["--version", "8.18.2", "--work-dir", s(&root), "smoke", "--cert-dir", s(&certs), "--host", HOST, "--keep"],
        &[],
    );
    assert!(smoke.status.success(), "{}", text(&smoke));
    let kept = stderr(&smoke)
        .lines()
        .find_map(|l| l.trim().strip_prefix("kept ").and_then(|r| r.strip_suffix(" (--keep)")).map(PathBuf::from))
        .unwrap_or_else(|| panic!("{}", text(&smoke)));
    let cf = kept.join("sendmail.cf");
    let port: u16 = pem_of(&cf)
        .lines()
        .find_map(|l| l.strip_prefix("O DaemonPortOptions=Port=").filter(|r| r.contains("Name=MTA")))
        .and_then(|r| r.split(',').next())
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no MTA port in {}", cf.display()));
    let binary = root.join("8.18.2/src/sendmail-8.18.2/obj./sendmail/sendmail");
    let mut daemon = xtask::smoke::daemon::Daemon::start(&binary, &cf, &kept.join("served.log"), HOST).unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    daemon.wait_ready(&[addr], Duration::from_secs(60)).unwrap();
    let at = addr.to_string();
    let check =
        |extra: &[&str]| w.run(&[&["check", "--dir", s(&certs), "--cf", "none", "--served", &at], extra].concat());
    let out = check(&[]);
    let served_ok = code(&out) == 0
        && stdout(&out)
            .contains(&format!("ok: the daemon at {at} serves host.cert: 2 certificate(s), the leaf CN={HOST}"));
    // A new set the daemon has not read yet: a problem, CRITICAL for a monitor.
    let b = w.run(&strs(&install_args(f, "b.pem", "b.key", &certs, &[])));
    let stale = check(&[]);
    let nagios = check(&["--expires-within", "14"]);
    daemon.stop();
    std::fs::remove_dir_all(&kept).unwrap();
    assert!(served_ok, "{}", stdout(&out));
    assert_eq!(code(&b), 0);
    assert_eq!(code(&stale), 1, "{}", stdout(&stale));
    assert!(
        stdout(&stale).contains(&format!("PROBLEM: the daemon at {at} serves 2 certificate(s), the leaf CN={HOST}")),
        "{}",
        stdout(&stale)
    );
    assert!(stdout(&stale).contains(", not the 2 of "), "{}", stdout(&stale));
    assert_eq!(code(&nagios), 2, "{}", stdout(&nagios));
    assert!(stdout(&nagios).starts_with("SENDMAIL-CERTS CRITICAL: the daemon at "), "{}", stdout(&nagios));
    // Nothing listening: a problem naming the address.
    let out = w.run(&["check", "--dir", s(&certs), "--cf", "none", "--served", &at]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains(&format!("PROBLEM: no TLS certificate from the daemon at {at}")), "{}", stdout(&out));
    std::fs::remove_dir_all(&w.dir).unwrap();
}

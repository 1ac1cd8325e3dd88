//! `cargo xtask source-package --format rpm`: the spec and source RPM,
//! checked with RPM's own tools: rpmspec parses the spec, rpm reads the
//! source RPM, two generations are byte-identical, `rpmbuild --rebuild`
//! (with a private _topdir, `--nodeps`: no Fedora repository is reachable
//! here) verifies the signature, builds, runs %check and gives a payload
//! equal to the contents list of the RPM layout, and rpmlint reports no
//! errors. The one rebuild is shared by the checks, under a lock, and kept
//! under target/ keyed by the source RPM's SHA-256.

use smtls_tests::{ok, sh, sha256_of, tests_root, text, xtask};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use xtask::stage::{Kind, Target};

const VERSION: &str = "8.18.2";

/// The generated spec and source RPM, and the work root they came from.
struct Generated {
    work: PathBuf,
    spec: PathBuf,
    srpm: PathBuf,
    rpmlintrc: PathBuf,
}

fn lock(name: &str) -> std::fs::File {
    let root = tests_root().join("rpm");
    std::fs::create_dir_all(&root).unwrap();
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(root.join(name)).unwrap();
    f.lock().expect("locking");
    f
}

/// `xtask --version V --work-dir WORK --cache-dir (shared) ARGS`.
fn xtask_in(work: &Path, args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    let (w, c) = (work.to_str().unwrap(), smtls_tests::shared_cache());
    let mut all = vec!["--version", VERSION, "--work-dir", w, "--cache-dir", c.to_str().unwrap()];
    all.extend(args);
    xtask(&all, envs)
}

/// fetch and configure (the options the source package builds with) in
/// `work`; no build is needed.
fn configure_in(work: &Path) {
    ok(xtask_in(work, &["fetch"], &[]));
    ok(xtask_in(work, &["configure"], &[]));
}

fn generate_into(work: &Path, envs: &[(&str, &str)]) -> PathBuf {
    configure_in(work);
    ok(xtask_in(work, &["source-package", "--format", "rpm"], envs));
    work.join(VERSION).join("source")
}

fn generated() -> &'static Generated {
    static G: OnceLock<Generated> = OnceLock::new();
    G.get_or_init(|| {
        let _l = lock("generate.lock");
        let work = tests_root().join("rpm").join("work");
        let dir = generate_into(&work, &[]);
        Generated {
            spec: dir.join("smtls-sendmail.spec"),
            srpm: dir.join(format!("smtls-sendmail-{VERSION}-0smtls1.src.rpm")),
            rpmlintrc: dir.join("smtls-sendmail.rpmlintrc"),
            work,
        }
    })
}

/// The binary RPM of `rpmbuild --rebuild` and the build's log.
struct Rebuilt {
    rpm: PathBuf,
    log: String,
}

fn rebuilt() -> &'static Rebuilt {
    static R: OnceLock<Rebuilt> = OnceLock::new();
    R.get_or_init(|| {
        let g = generated();
        let _l = lock("rebuild.lock");
        let key = sha256_of(&g.srpm);
        let top = tests_root().join("rpm").join(format!("rebuild-{}", &key[..16]));
        let rpm = top
            .join("RPMS")
            .join(std::env::consts::ARCH)
            .join(format!("smtls-sendmail-{VERSION}-0smtls1.{}.rpm", std::env::consts::ARCH));
        let log_path = top.join("rebuild.log");
        if !(rpm.is_file() && log_path.is_file()) {
            let _ = std::fs::remove_dir_all(&top);
            std::fs::create_dir_all(&top).unwrap();
            let start = std::time::Instant::now();
            // What a farm does: its own _topdir and packager; HOME so no
            // ~/.rpmmacros of this user takes part.
            let out = Command::new("rpmbuild")
                .args(["--rebuild", "--nodeps", "--define"])
                .arg(format!("_topdir {}", top.display()))
                .args(["--define", "packager smtls tests <smtls-tests@example.org>"])
                .arg(&g.srpm)
                .env("HOME", &top)
                .output()
                .expect("running rpmbuild");
            let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(out.status.success(), "rpmbuild --rebuild failed:\n{log}");
            eprintln!("rpmbuild --rebuild took {:.0} s", start.elapsed().as_secs_f64());
            std::fs::write(&log_path, &log).unwrap();
        }
        Rebuilt { rpm, log: std::fs::read_to_string(&log_path).unwrap() }
    })
}

#[test]
fn the_spec_parses_and_rpm_reads_the_source_rpm() {
    let g = generated();
    let parsed = sh("rpmspec", &["-P", g.spec.to_str().unwrap()]);
    assert!(parsed.contains("\nName:           smtls-sendmail\n"), "{parsed}");
    // Here (no redhat-rpm-config) the gpgv fallback is what %prep runs.
    assert!(parsed.contains("gpgv --homedir"), "{parsed}");
    // Where the distribution defines the macros (Fedora's redhat-rpm-config
    // and systemd-rpm-macros; stand-ins here), the spec uses them instead.
    let fedora = sh(
        "rpmspec",
        &[
            "-P",
            "--define",
            "gpgverify /usr/lib/rpm/redhat/gpgverify",
            "--define",
            "systemd_post() SYSTEMD-POST %*",
            "--define",
            "systemd_requires Requires(post): systemd",
            "--define",
            "sysusers_create_compat() SYSUSERS-COMPAT %1",
            g.spec.to_str().unwrap(),
        ],
    );
    assert!(fedora.contains("\n/usr/lib/rpm/redhat/gpgverify --keyring='"), "{fedora}");
    assert!(!fedora.contains("gpgv --homedir"), "{fedora}");
    assert!(fedora.contains("\nSYSTEMD-POST sendmail.service sm-msp-queue.service\n"), "{fedora}");
    assert!(fedora.contains("\nSYSUSERS-COMPAT ") && fedora.contains("\nRequires(post): systemd\n"), "{fedora}");
    let info = sh("rpm", &["-qip", g.srpm.to_str().unwrap()]);
    for want in
        ["Name        : smtls-sendmail", "Version     : 8.18.2", "Build Host  : reproducible", "License     : Sendmail"]
    {
        assert!(info.contains(want), "{want}: {info}");
    }
    // A source RPM carries no SOURCERPM tag.
    assert_eq!(sh("rpm", &["-qp", "--qf", "%{SOURCERPM}", g.srpm.to_str().unwrap()]), "(none)");
    let files = sh("rpm", &["-qlp", g.srpm.to_str().unwrap()]);
    for want in [
        "sendmail.8.18.2.tar.gz",
        "sendmail-signing-key.asc",
        "smtls-sendmail.spec",
        "site.config.m4",
        "smtls-build.mk",
        "smtls-sendmail.rpmlintrc",
    ] {
        assert!(files.lines().any(|l| l == want), "{want}: {files}");
    }
    assert!(files.lines().any(|l| l.starts_with("sendmail.8.18.2.tar.gz.")), "the signature: {files}");
}

#[test]
fn two_generations_give_identical_source_rpms() {
    let g = generated();
    let _l = lock("second.lock");
    let work = tests_root().join("rpm").join(format!("second-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    // Another work directory, time zone and locale.
    let dir = generate_into(&work, &[("TZ", "Pacific/Kiritimati"), ("LC_ALL", "C.UTF-8")]);
    let again = dir.join(g.srpm.file_name().unwrap());
    assert_eq!(sha256_of(&g.srpm), sha256_of(&again), "{} and {} differ", g.srpm.display(), again.display());
    assert_eq!(std::fs::read(&g.spec).unwrap(), std::fs::read(dir.join("smtls-sendmail.spec")).unwrap());
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn no_host_path_name_or_flag_in_the_spec_or_source_rpm() {
    let g = generated();
    let header = sh("rpm", &["-qp", "--xml", g.srpm.to_str().unwrap()]);
    let scratch = smtls_tests::scratch("rpm-extract");
    let cpio = Command::new("sh")
        .arg("-c")
        .arg(format!("rpm2cpio '{}' | cpio -idm --quiet", g.srpm.display()))
        .current_dir(&scratch)
        .status()
        .unwrap();
    assert!(cpio.success());
    let mut texts = vec![("header".to_string(), header)];
    for e in std::fs::read_dir(&scratch).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "gz") {
            continue;
        }
        texts.push((p.display().to_string(), String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned()));
    }
    let host = sh("hostname", &[]).trim().to_string();
    let home = std::env::var("HOME").unwrap_or_default();
    let mut needles = vec![
        smtls_tests::workspace_root().display().to_string(),
        g.work.display().to_string(),
        "x86_64-linux-gnu".to_string(),
        "-ffile-prefix-map".to_string(),
        "-fstack-protector".to_string(),
        "_FORTIFY_SOURCE".to_string(),
        "/usr/src/sendmail".to_string(),
    ];
    if home.len() > 1 {
        needles.push(home);
    }
    for (name, text) in &texts {
        for n in &needles {
            assert!(!text.contains(n.as_str()), "{name} holds {n:?}");
        }
        // The host name as a word (it may be short, like `vm`).
        let words: Vec<&str> = text.split(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '.').collect();
        assert!(!words.contains(&host.as_str()), "{name} holds the host name {host:?}");
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn prep_refuses_a_tarball_its_signature_does_not_cover() {
    let g = generated();
    let top = smtls_tests::scratch("rpm-prep");
    for d in ["SOURCES", "SPECS", "BUILD"] {
        std::fs::create_dir_all(top.join(d)).unwrap();
    }
    let cpio = Command::new("sh")
        .arg("-c")
        .arg(format!("rpm2cpio '{}' | cpio -idm --quiet", g.srpm.display()))
        .current_dir(top.join("SOURCES"))
        .status()
        .unwrap();
    assert!(cpio.success());
    let prep = |what: &str| {
        let out = Command::new("rpmbuild")
            .args(["-bp", "--nodeps", "--define"])
            .arg(format!("_topdir {}", top.display()))
            .arg(top.join("SOURCES/smtls-sendmail.spec"))
            .env("HOME", &top)
            .output()
            .unwrap();
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        eprintln!("--- %prep, {what}:\n{log}");
        (out.status.success(), log)
    };
    let (good, log) = prep("as shipped");
    assert!(good && log.contains("Good signature"), "{log}");
    // One byte more: the signature no longer covers it, and %prep stops
    // before anything is unpacked.
    let tarball = top.join("SOURCES").join("sendmail.8.18.2.tar.gz");
    let mut bytes = std::fs::read(&tarball).unwrap();
    bytes.push(0);
    std::fs::write(&tarball, bytes).unwrap();
    std::fs::remove_dir_all(top.join("BUILD")).unwrap();
    let (bad, log) = prep("tampered");
    assert!(!bad && log.contains("BAD signature"), "{log}");
    assert!(!top.join("BUILD/sendmail-8.18.2").exists(), "unpacked despite the bad signature");
    let _ = std::fs::remove_dir_all(&top);
}

/// (mode with file type, owner, group, link target) per path, as rpm
/// reads the payload.
fn payload(rpm: &Path) -> BTreeMap<String, (u32, String, String, String)> {
    let qf = "[%{FILEMODES:octal} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILENAMES}\t%{FILELINKTOS}\n]";
    sh("rpm", &["-qp", "--qf", qf, rpm.to_str().unwrap()])
        .lines()
        .map(|l| {
            let (head, link) = l.split_once('\t').unwrap();
            let w: Vec<&str> = head.splitn(4, ' ').collect();
            (w[3].to_string(), (u32::from_str_radix(w[0], 8).unwrap(), w[1].into(), w[2].into(), link.into()))
        })
        .collect()
}

#[test]
fn the_rebuilt_rpm_is_the_contents_list_of_the_rpm_layout() {
    let g = generated();
    let r = rebuilt();
    assert!(r.log.contains("Good signature from \"Sendmail Signing Key/2025"), "%prep checked the signature");
    // %check ran on the built binary and found every flag.
    assert!(r.log.contains("Executing(%check)") && r.log.contains("OpenSSL: linked"), "{}", r.log);
    assert!(r.log.contains("grep -qw -e _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE d0.14.txt"), "{}", r.log);
    eprintln!("$ rpm -qlvp {}\n{}", r.rpm.display(), sh("rpm", &["-qlvp", r.rpm.to_str().unwrap()]));

    let plan = xtask::plan::Plan::from_args(&xtask::plan::PlanArgs {
        version: Some(VERSION.into()),
        work_dir: Some(g.work.clone()),
        cache_dir: Some(smtls_tests::shared_cache()),
        ..Default::default()
    })
    .unwrap();
    let config = xtask::configure::Configuration::load(&plan).unwrap();
    let contents = xtask::stage::contents(&plan, Target::Rpm, &config).unwrap();
    assert_eq!(contents.target, Target::Rpm);
    let want: BTreeMap<String, (u32, String, String, String)> = contents
        .entries
        .iter()
        .map(|e| {
            let (kind, link) = match &e.kind {
                Kind::Dir => (0o040000, String::new()),
                Kind::Symlink { target } => (0o120000, target.display().to_string()),
                Kind::File { .. } | Kind::Config { .. } => (0o100000, String::new()),
            };
            let (owner, group) = match e.kind {
                Kind::Symlink { .. } => ("root".to_string(), "root".to_string()),
                _ => (e.owner.clone(), e.group.clone()),
            };
            (e.path.display().to_string(), (kind | e.mode, owner, group, link))
        })
        .collect();
    // rpm adds /usr/lib/.build-id links for the ELF files by itself.
    let got: BTreeMap<_, _> =
        payload(&r.rpm).into_iter().filter(|(p, _)| !p.starts_with("/usr/lib/.build-id")).collect();
    let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).collect();
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing from the RPM: {missing:?}\nnot in the list: {extra:?}");
    for (path, w) in &want {
        assert_eq!(&got[path], w, "{path}: (mode, owner, group, link) in the RPM against the contents list");
    }
    assert_eq!(got["/usr/sbin/sendmail"], (0o102555, "root".into(), "smmsp".into(), String::new()), "setgid smmsp");
    // Configuration files are %config(noreplace).
    let configs = sh("rpm", &["-qcp", r.rpm.to_str().unwrap()]);
    let want_configs: Vec<String> = contents.config_files().map(|e| e.path.display().to_string()).collect();
    assert_eq!(configs.lines().collect::<Vec<_>>(), want_configs);
}

#[test]
fn scriptlets_expand_every_macro_and_never_make_keys() {
    let r = rebuilt();
    let scripts = sh("rpm", &["-qp", "--scripts", r.rpm.to_str().unwrap()]);
    eprintln!("{scripts}");
    for w in ["preinstall scriptlet", "postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet"] {
        assert!(scripts.contains(w), "{w}: {scripts}");
    }
    let unexpanded: Vec<&str> = scripts
        .lines()
        .filter(|l| {
            l.match_indices('%').any(|(i, _)| l[i + 1..].starts_with(|c: char| c == '{' || c.is_ascii_alphabetic()))
        })
        .collect();
    assert!(unexpanded.is_empty(), "unexpanded macros: {unexpanded:?}");
    for bad in ["openssl req", "genrsa", "genpkey", "certtool", "req -new", "-x509"] {
        assert!(!scripts.contains(bad), "a scriptlet makes a key or certificate ({bad}):\n{scripts}");
    }
    assert!(scripts.contains("sendmail-certs install"), "the post-install text points to sendmail-certs");
}

#[test]
fn rpmlint_reports_no_errors() {
    let g = generated();
    let r = rebuilt();
    // A farm signs what it builds: the same here, with a throwaway key that
    // only a private rpm database (through HOME's .rpmmacros) trusts.
    let home = smtls_tests::scratch("rpmlint-home");
    let gnupg = home.join("gnupg");
    std::fs::create_dir_all(&gnupg).unwrap();
    std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let g_arg = gnupg.to_str().unwrap();
    sh(
        "gpg",
        &[
            "--homedir",
            g_arg,
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "smtls test signer <t@example.org>",
            "ed25519",
            "sign",
            "never",
        ],
    );
    // Signed copies under their own names (rpmlint compares them with the header).
    std::fs::create_dir_all(home.join("signed")).unwrap();
    let srpm = home.join("signed").join(g.srpm.file_name().unwrap());
    let rpm = home.join("signed").join(r.rpm.file_name().unwrap());
    std::fs::copy(&g.srpm, &srpm).unwrap();
    std::fs::copy(&r.rpm, &rpm).unwrap();
    let signed = Command::new("rpmsign")
        .args(["--define", "__gpg /usr/bin/gpg", "--define"])
        .arg(format!("_gpg_path {g_arg}"))
        .args(["--define", "_gpg_name smtls test signer", "--addsign"])
        .args([&srpm, &rpm])
        .env("HOME", &home)
        .output()
        .unwrap();
    assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
    let pubkey = home.join("pub.asc");
    std::fs::write(&pubkey, sh("gpg", &["--homedir", g_arg, "--export", "--armor"])).unwrap();
    let db = home.join("rpmdb");
    sh("rpm", &["--dbpath", db.to_str().unwrap(), "--initdb"]);
    sh("rpmkeys", &["--dbpath", db.to_str().unwrap(), "--import", pubkey.to_str().unwrap()]);
    let _ = Command::new("gpgconf").args(["--homedir", g_arg, "--kill", "all"]).status();
    std::fs::write(home.join(".rpmmacros"), format!("%_dbpath {}\n", db.display())).unwrap();
    let out = Command::new("rpmlint")
        .arg("-r")
        .arg(&g.rpmlintrc)
        .args([&g.spec, &srpm, &rpm])
        .env("HOME", &home)
        .output()
        .unwrap();
    let report = text_of(&out);
    eprintln!("$ rpmlint -r {} spec srpm rpm\n{report}", g.rpmlintrc.display());
    let errors: Vec<&str> = report.lines().filter(|l| l.contains(": E: ")).collect();
    assert!(errors.is_empty(), "rpmlint errors:\n{}", errors.join("\n"));
    assert!(report.contains(" 0 errors"), "{report}");
    let _ = std::fs::remove_dir_all(&home);
}

fn text_of(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn an_unknown_option_is_refused_before_anything_is_written() {
    let work = tests_root().join("rpm").join(format!("refused-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    configure_in(&work);
    // A configuration naming an option the option table does not have.
    let path = work.join(VERSION).join("configuration.json");
    let mut config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["options"].as_array_mut().unwrap().push("nope".into());
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let out = xtask_in(&work, &["source-package", "--format", "rpm"], &[]);
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("option `nope`"), "{t}");
    assert!(!work.join(VERSION).join("source").exists(), "nothing written: {}", work.display());
    let listing: Vec<String> = std::fs::read_dir(work.join(VERSION))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(listing.iter().all(|n| !n.contains("partial") && !n.contains("rpmbuild")), "leftovers: {listing:?}");
    let _ = std::fs::remove_dir_all(&work);
}

//! The packages for real: the .deb read by dpkg-deb and lintian, the .pkg
//! read back by libarchive (bsdtar) and its manifest checked against its
//! files, the .tar.gz headers, and determinism of a rebuild.

use sha2::{Digest, Sha256};
use smtls_tests::*;
use std::collections::BTreeMap;
use xtask::archive::{read_ar, read_tar, ReadMember};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn members_by_name(m: Vec<ReadMember>) -> BTreeMap<String, ReadMember> {
    m.into_iter().map(|m| (m.name.clone(), m)).collect()
}

#[test]
fn deb_passes_dpkg_deb_and_lintian() {
    let out = shared_packages("8.18.2", "deb-lintian", "deb", &[]);
    let deb = artifact(&out, ".deb");
    let d = deb.to_str().unwrap();
    let info = sh("dpkg-deb", &["--info", d]);
    for want in
        ["Package: smtls-sendmail", "Version: 8.18.2-0smtls1", "Provides: mail-transport-agent", "Section: mail"]
    {
        assert!(info.contains(want), "{want} missing from:\n{info}");
    }
    let depends = info.lines().find(|l| l.trim_start().starts_with("Depends:")).expect("Depends");
    for pkg in ["adduser", "libc6", "libssl3", "libdb5.3"] {
        assert!(depends.contains(pkg), "{pkg} missing from {depends}");
    }
    // What ELF NEEDED cannot say, from the option table, per build option.
    let options = shared_configuration("8.18.2").options;
    let field =
        |name: &str| info.lines().find_map(|l| l.trim_start().strip_prefix(&format!("{name}: ")).map(str::to_string));
    if options.iter().any(|o| o == "sasl") {
        assert!(depends.contains("libsasl2-2"), "{depends}");
        assert_eq!(field("Recommends").as_deref(), Some("libsasl2-modules"), "{info}");
        assert!(field("Suggests").is_some_and(|s| s.split(", ").any(|p| p == "sasl2-bin")), "{info}");
    } else {
        assert!(field("Recommends").is_none(), "{info}");
    }
    assert!(field("Conflicts").is_some_and(|c| c.split(", ").any(|p| p == "mail-transport-agent")), "{info}");
    let milter = options.iter().any(|o| o == "milter");
    for f in ["Conflicts", "Replaces"] {
        let v = field(f).unwrap_or_default();
        assert_eq!(v.split(", ").any(|p| p == "libmilter-dev"), milter, "{f}: {v}");
    }
    // The description wraps at 72 columns: compare its words.
    let words = info.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains(&format!("Build options: {}", options.join(" "))), "{info}");
    let contents = sh("dpkg-deb", &["--contents", d]);
    for want in [
        "./usr/libexec/sendmail/sendmail",
        "./usr/sbin/sendmail -> ../libexec/sendmail/sendmail",
        "./etc/mail/sendmail.cf",
        "./usr/share/sendmail/cf/m4/cf.m4",
        "./usr/share/doc/smtls-sendmail/copyright",
        "./usr/share/doc/smtls-sendmail/changelog.gz",
        "./var/spool/clientmqueue/",
    ] {
        assert!(contents.contains(want), "{want} missing from dpkg-deb --contents");
    }
    // libmilter with milter on (the default): the static library where
    // Debian's libmilter-dev puts it, and the public headers.
    let multiarch = sh("gcc", &["-print-multiarch"]).trim().to_string();
    for want in [
        format!("./usr/lib/{multiarch}/libmilter.a"),
        "./usr/include/libmilter/mfapi.h".into(),
        "./usr/include/libmilter/mfdef.h".into(),
    ] {
        assert_eq!(contents.contains(&want), milter, "{want} (milter on: {milter}) in dpkg-deb --contents");
    }
    assert!(which::which("lintian").is_ok(), "lintian is not installed: apt-get install lintian");
    let lint =
        std::process::Command::new("lintian").args(["--pedantic", "-I", "--no-tag-display-limit", d]).output().unwrap();
    let text = String::from_utf8_lossy(&lint.stdout);
    eprintln!("lintian --pedantic -I:\n{text}{}", String::from_utf8_lossy(&lint.stderr));
    let bad: Vec<&str> = text.lines().filter(|l| l.starts_with("E:") || l.starts_with("W:")).collect();
    assert!(bad.is_empty(), "lintian errors or warnings:\n{}", bad.join("\n"));
    assert!(!text.contains("hardening-"), "lintian hardening tags:\n{text}");
    assert!(lint.status.success(), "lintian failed");
}

#[test]
fn every_elf_file_in_the_deb_passes_hardening_check() {
    assert!(which::which("hardening-check").is_ok(), "hardening-check is not installed: apt-get install devscripts");
    let out = shared_packages("8.18.2", "deb-hardening", "deb", &[]);
    let deb = artifact(&out, ".deb");
    let tree = out.join("tree");
    sh("dpkg-deb", &["-x", deb.to_str().unwrap(), tree.to_str().unwrap()]);
    let mut elves = vec![];
    let mut stack = vec![tree.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() && std::fs::read(e.path()).unwrap().starts_with(b"\x7fELF") {
                elves.push(e.path());
            }
        }
    }
    elves.sort();
    assert!(elves.len() >= 8, "{elves:?}");
    // --nocfprotection: control-flow protection needs every linked object
    // to carry the IBT/SHSTK property, and bookworm's own crt1.o does not
    // (no binary of Debian 12 has it); everything else must pass.
    let out = std::process::Command::new("hardening-check").arg("--nocfprotection").args(&elves).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("hardening-check --nocfprotection:\n{report}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "hardening-check failed:\n{report}");
    let bad: Vec<&str> =
        report.lines().filter(|l| l.contains(": no") && !l.contains("Control flow integrity")).collect();
    assert!(bad.is_empty(), "{report}");
    for want in ["Position Independent Executable: yes", "Stack protected: yes", "Read-only relocations: yes"] {
        assert_eq!(report.matches(want).count(), elves.len(), "{want}:\n{report}");
    }
    assert_eq!(report.matches("Immediate binding: yes").count(), elves.len(), "{report}");
    for e in &elves {
        assert!(report.contains(&format!("{}:", e.display())), "{} not checked", e.display());
    }
    // Stack clash protection: hardening-check says "yes" only when it finds
    // the probe LOOP gcc emits for a variable-length allocation (alloca,
    // VLA), which sendmail has none of; for fixed frames over a page gcc
    // probes each page inline (`sub rsp,0x1000` then `or [rsp],0x0`), and
    // hardening-check calls that "unknown". So the probes are looked for
    // here, in every ELF file, on amd64 where that form is known.
    if std::env::consts::ARCH == "x86_64" {
        for line in report.lines().filter(|l| l.contains("Stack clash protection")) {
            assert!(line.contains(": yes") || line.contains(": unknown"), "{line}");
        }
        let scratch = scratch("stack-clash-control");
        let unprotected = scratch.join("unprotected");
        let src = scratch.join("frame.c");
        std::fs::write(
            &src,
            "#include <stdio.h>\nint main(void) { char b[20000]; return fgets(b, sizeof b, stdin) ? b[0] : 0; }\n",
        )
        .unwrap();
        sh("cc", &["-O2", "-fno-stack-clash-protection", src.to_str().unwrap(), "-o", unprotected.to_str().unwrap()]);
        assert_eq!(stack_clash_probes(&unprotected), 0, "the probe count cannot tell protected code from unprotected");
        for e in &elves {
            let n = stack_clash_probes(e);
            eprintln!("{}: {n} stack clash probes", e.display());
            assert!(n > 0, "{} has no stack clash probes: was it built without -fstack-clash-protection?", e.display());
        }
    }
}

/// How many page probes gcc's -fstack-clash-protection put into an amd64
/// ELF file: `sub rsp,0x1000` directly followed by `or QWORD PTR [rsp],0x0`.
fn stack_clash_probes(elf: &std::path::Path) -> usize {
    let disasm = sh("objdump", &["-d", "--no-show-raw-insn", "-M", "intel", elf.to_str().unwrap()]);
    let ops: Vec<String> = disasm
        .lines()
        .filter_map(|l| l.split_once(":\t").map(|(_, op)| op.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect();
    ops.windows(2).filter(|w| w[0] == "sub rsp,0x1000" && w[1].starts_with("or QWORD PTR [rsp")).count()
}

#[test]
fn deb_members_md5sums_conffiles_and_neutral_data_owners() {
    let out = shared_packages("8.18.2", "deb-members", "deb", &[]);
    let bytes = std::fs::read(artifact(&out, ".deb")).unwrap();
    let ar = read_ar(&bytes).unwrap();
    let names: Vec<&str> = ar.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["debian-binary", "control.tar.gz", "data.tar.gz"]);
    assert_eq!(ar[0].data, b"2.0\n");
    let control = members_by_name(read_tar(&ar[1].data).unwrap());
    let data = read_tar(&ar[2].data).unwrap();
    assert_eq!(data[0].name, "./");
    let count = data.len();
    let data = members_by_name(data);
    assert_eq!(count, data.len(), "no member twice");

    let conffiles = String::from_utf8(control["./conffiles"].data.clone()).unwrap();
    let conf: Vec<&str> = conffiles.lines().collect();
    // The same list the stage test holds the Debian layout to.
    let want: Vec<&str> = include_str!("../../xtask/src/testdata/debian-conffiles.txt").lines().collect();
    assert_eq!(conf, want);
    for c in &conf {
        assert!(data.contains_key(&format!(".{c}")), "conffile {c} not in data.tar");
    }
    // Every regular file that is not a conffile is in md5sums, with the right sum.
    let md5sums = String::from_utf8(control["./md5sums"].data.clone()).unwrap();
    let listed: BTreeMap<String, String> =
        md5sums.lines().map(|l| (format!("./{}", &l[34..]), l[..32].to_string())).collect();
    for (name, m) in &data {
        if m.kind == '0' && !conf.iter().any(|c| format!(".{c}") == *name) {
            let sum = listed.get(name).unwrap_or_else(|| panic!("{name} missing from md5sums"));
            assert_eq!(sum, &hex(&<md5::Md5 as md5::Digest>::digest(&m.data)), "{name}");
        }
    }
    assert_eq!(listed.len(), data.values().filter(|m| m.kind == '0').count() - conf.len());
    // data.tar cannot name smmsp: everything is root:root, no setgid, and
    // the real owner and mode are applied by the postinst.
    for m in data.values() {
        let o = &m.meta;
        assert_eq!((o.uid, o.gid, o.uname.as_str(), o.gname.as_str()), (0, 0, "root", "root"), "{}", m.name);
        assert_eq!(o.mode & 0o7000, 0, "{} has special bits in data.tar", m.name);
    }
    let postinst = String::from_utf8(control["./postinst"].data.clone()).unwrap();
    assert!(postinst.contains("override root smmsp 2555 /usr/libexec/sendmail/sendmail"), "{postinst}");
    assert!(postinst.contains("override smmsp smmsp 0770 /var/spool/clientmqueue"), "{postinst}");
    assert!(postinst.contains("adduser --system"), "{postinst}");
    assert_eq!(control["./postinst"].meta.mode, 0o755);
    // The .cf carries no build stamp and the TLS settings.
    let cf = String::from_utf8(data["./etc/mail/sendmail.cf"].data.clone()).unwrap();
    assert!(!cf.contains("built by"), "build stamp in sendmail.cf");
    for want in [
        "O ServerCertFile=/etc/mail/certs/host.cert",
        "O ServerKeyFile=/etc/mail/certs/host.key",
        "O CACertFile=/etc/mail/certs/cacert.pem",
        "O CACertPath=/etc/mail/certs",
        "O ServerSSLOptions=+SSL_OP_NO_SSLv2 +SSL_OP_NO_SSLv3 +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1",
        // Safe defaults: Policy's aliases file, loopback only, no EXPN/VRFY/VERB,
        // an access map, programs only through smrsh.
        "O AliasFile=/etc/aliases",
        "O DaemonPortOptions=Family=inet, Name=MTA-v4, Port=25, Addr=127.0.0.1",
        "O DaemonPortOptions=Family=inet, Name=MSP-v4, Port=587, M=Ea, Addr=127.0.0.1",
        "O PrivacyOptions=authwarnings,goaway,restrictmailq,restrictqrun",
        "O PidFile=/run/sendmail.pid",
        "Kaccess hash -T<TMPF> -o /etc/mail/access",
    ] {
        assert!(cf.lines().any(|l| l == want), "{want} missing from sendmail.cf");
    }
    assert_eq!(
        cf.lines().filter(|l| l.starts_with("O DaemonPortOptions=")).count(),
        2,
        "only the two loopback daemons"
    );
    assert!(cf.lines().any(|l| l.starts_with("Mprog,") && l.contains("/usr/libexec/sendmail/smrsh")), "prog via smrsh");
    // All members share one timestamp, not 1975 or earlier.
    let times: std::collections::BTreeSet<u64> = data.values().map(|m| m.meta.mtime).collect();
    assert_eq!(times.len(), 1);
    assert!(*times.first().unwrap() > 200_000_000);
}

#[test]
fn pkg_reads_back_with_libarchive_and_its_manifest_matches_its_files() {
    let out = shared_packages("8.18.2", "pkg-readback", "pkg", &[("SOURCE_DATE_EPOCH", "1766793600")]);
    let pkg = artifact(&out, ".pkg");
    let p = pkg.to_str().unwrap();
    assert!(which::which("bsdtar").is_ok(), "bsdtar is not installed: apt-get install libarchive-tools");
    let listing = sh("bsdtar", &["-tf", p]);
    let names: Vec<&str> = listing.lines().collect();
    assert_eq!(&names[..2], ["+COMPACT_MANIFEST", "+MANIFEST"], "manifests first");
    assert!(names[2..].iter().all(|n| n.starts_with('/')), "absolute paths after the manifests");
    let mut sorted = names[2..].to_vec();
    sorted.sort_by(|a, b| std::path::Path::new(a).cmp(std::path::Path::new(b)));
    assert_eq!(sorted, names[2..], "entries sorted by path");
    let verbose = sh("bsdtar", &["-tvf", p]);
    let line = verbose.lines().find(|l| l.ends_with(" /usr/local/sbin/sendmail")).expect("sendmail in bsdtar -tv");
    assert!(line.starts_with("-r-xr-sr-x") && line.contains("root") && line.contains("smmsp"), "{line}");

    let manifest: serde_json::Value = serde_json::from_str(&sh("bsdtar", &["-xOf", p, "+MANIFEST"])).unwrap();
    let compact: serde_json::Value = serde_json::from_str(&sh("bsdtar", &["-xOf", p, "+COMPACT_MANIFEST"])).unwrap();
    for key in xtask::package::pkg::REQUIRED_KEYS {
        assert!(manifest[key].is_string(), "+MANIFEST lacks {key}");
        assert_eq!(manifest[key], compact[key], "{key} differs between the manifests");
    }
    assert!(compact.get("files").is_none());
    assert_eq!(manifest["prefix"], "/usr/local");
    assert_eq!(manifest["origin"], "mail/sendmail-tls");

    let members = members_by_name(read_tar(&std::fs::read(&pkg).unwrap()).unwrap());
    let files = manifest["files"].as_object().unwrap();
    let dirs = manifest["directories"].as_object().unwrap();
    let mut flatsize = 0;
    for (path, f) in files {
        let m = members.get(path).unwrap_or_else(|| panic!("{path} is in the manifest but not in the archive"));
        let hashed: &[u8] = if m.kind == '2' { m.link.as_deref().unwrap().as_bytes() } else { &m.data };
        flatsize += m.data.len();
        assert_eq!(f["sum"], format!("1${}", hex(&Sha256::digest(hashed))), "{path}");
        assert_eq!(f["perm"], format!("{:04o}", m.meta.mode), "{path}");
        assert_eq!(
            (f["uname"].as_str().unwrap(), f["gname"].as_str().unwrap()),
            (&*m.meta.uname, &*m.meta.gname),
            "{path}"
        );
    }
    assert_eq!(manifest["flatsize"], flatsize);
    assert_eq!(files.len() + dirs.len() + 2, members.len(), "every archive member is in the manifest");
    let sendmail = &files["/usr/local/sbin/sendmail"];
    assert_eq!(
        (&sendmail["uname"], &sendmail["gname"], &sendmail["perm"]),
        (&"root".into(), &"smmsp".into(), &"2555".into())
    );
    // libmilter with milter on.
    let milter = shared_configuration("8.18.2").options.iter().any(|o| o == "milter");
    for f in ["/usr/local/lib/libmilter.a", "/usr/local/include/libmilter/mfapi.h"] {
        assert_eq!(files.contains_key(f), milter, "{f}");
    }
    assert_eq!(dirs.contains_key("/usr/local/include/libmilter"), milter);
    assert!(manifest.get("config").is_none(), "samples are handled by the scripts, as @sample does");
    let rc = String::from_utf8(members["/usr/local/etc/rc.conf.d/sendmail.sample"].data.clone()).unwrap();
    let settings: Vec<&str> = rc.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).collect();
    assert_eq!(settings, ["sendmail_cert_create=\"NO\""]);
    assert!(manifest["scripts"]["pre-install"].as_str().unwrap().contains("pw -R \"${root}\" useradd smmsp"));
    let post = manifest["scripts"]["post-install"].as_str().unwrap();
    assert!(
        post.contains("\nsample /usr/local/etc/rc.conf.d/sendmail.sample /usr/local/etc/rc.conf.d/sendmail\n"),
        "{post}"
    );
    let message = manifest["messages"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("cp /usr/local/etc/mail/mailer.conf.sendmail /usr/local/etc/mail/mailer.conf"),
        "{message}"
    );
    assert!(members.values().all(|m| m.meta.mtime == 1_766_793_600), "SOURCE_DATE_EPOCH is every mtime");
}

#[test]
fn tarball_headers_carry_the_recorded_owners_and_modes() {
    let out = shared_packages("8.18.2", "tarball", "tar", &[]);
    let members = members_by_name(read_tar(&std::fs::read(artifact(&out, ".tar.gz")).unwrap()).unwrap());
    let s = &members["./usr/libexec/sendmail/sendmail"].meta;
    assert_eq!((s.mode, s.uid, s.gid, s.uname.as_str(), s.gname.as_str()), (0o2555, 0, 25, "root", "smmsp"));
    let q = &members["./var/spool/clientmqueue/"].meta;
    assert_eq!((q.mode, q.uid, q.gid, q.uname.as_str(), q.gname.as_str()), (0o770, 25, 25, "smmsp", "smmsp"));
    assert_eq!(members["./var/spool/mqueue/"].meta.mode, 0o700);
    assert_eq!(members["./usr/sbin/makemap"].meta.mode, 0o755);
    assert_eq!(members["./usr/sbin/sendmail"].link.as_deref(), Some("../libexec/sendmail/sendmail"));
}

#[test]
fn packaging_twice_gives_identical_bytes_and_a_bad_epoch_is_refused() {
    let a = shared_packages("8.18.2", "twice-a", "deb,pkg,tar", &[]);
    let b = shared_packages("8.18.2", "twice-b", "deb,pkg,tar", &[("TZ", "Asia/Kathmandu"), ("LC_ALL", "C.UTF-8")]);
    let sums = |d: &std::path::Path| std::fs::read_to_string(d.join("SHA256SUMS")).unwrap();
    assert_eq!(sums(&a), sums(&b));
    // .deb, its .buildinfo, .pkg, .tar.gz
    assert_eq!(sums(&a).lines().count(), 4);
    for line in sums(&a).lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        assert_eq!(hex(&Sha256::digest(std::fs::read(a.join(name)).unwrap())), sum, "{name}");
    }

    let root = shared_build("8.18.2").unwrap();
    let out = scratch("bad-epoch");
    for bad in ["1766793600x", "", "-5", " 1766793600"] {
        let r = xtask(
            &["--work-dir", root.to_str().unwrap(), "package", "--format", "tar", "--out", out.to_str().unwrap()],
            &[("SOURCE_DATE_EPOCH", bad)],
        );
        assert!(!r.status.success(), "SOURCE_DATE_EPOCH={bad:?} was accepted");
        assert!(text(&r).contains("SOURCE_DATE_EPOCH") && text(&r).contains("malformed"), "{}", text(&r));
    }
}

#[test]
fn a_revision_off_policy_or_without_a_deb_is_refused_before_any_work() {
    let root = shared_build("8.18.2").unwrap();
    let out = scratch("bad-revision");
    let w = root.to_str().unwrap();
    let o = out.to_str().unwrap();
    for bad in ["0smtls-2", "", "0 smtls2", "0smtls_2"] {
        let r = xtask(&["--work-dir", w, "package", "--format", "deb", "--revision", bad, "--out", o], &[]);
        assert!(!r.status.success(), "--revision {bad:?} was accepted");
        assert!(text(&r).contains("Policy 5.6.12"), "{}", text(&r));
    }
    for cmd in [&["package", "--format", "tar"][..], &["dist", "--format", "pkg,tar"][..]] {
        let mut args = vec!["--work-dir", w];
        args.extend(cmd);
        args.extend(["--revision", "0smtls2", "--out", o]);
        let r = xtask(&args, &[]);
        assert!(!r.status.success() && text(&r).contains("no .deb is written"), "{}", text(&r));
    }
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "something was written");
}

/// The FreeBSD base system's directories (and /etc/mail's files): a .pkg
/// must never own, re-mode or remove them.
const BASE_SYSTEM: &[&str] = &["/etc/mail", "/etc/mail/certs", "/var/spool/mqueue", "/var/spool/clientmqueue"];

#[test]
fn pkg_manifest_installs_under_prefix_only_as_staged_and_labelled_by_its_programs() {
    use xtask::package::elf_abi;
    let root = shared_build("8.18.2").unwrap();
    let w = root.to_str().unwrap();
    let out = shared_packages("8.18.2", "pkg-manifest", "pkg", &[]);
    let pkg = std::fs::read(artifact(&out, ".pkg")).unwrap();
    let members = members_by_name(read_tar(&pkg).unwrap());
    let manifest: serde_json::Value = serde_json::from_slice(&members["+MANIFEST"].data).unwrap();
    let files = manifest["files"].as_object().unwrap();
    let dirs = manifest["directories"].as_object().unwrap();

    // Every path under PREFIX; no directory of the base system, nor a
    // shared one of PREFIX (etc, etc/mail, sbin ...).
    let prefix = manifest["prefix"].as_str().unwrap();
    for p in files.keys().chain(dirs.keys()).chain(members.keys().filter(|k| !k.starts_with('+'))) {
        assert!(p.starts_with(&format!("{prefix}/")), "{p} is outside PREFIX {prefix}");
    }
    for d in BASE_SYSTEM {
        assert!(!dirs.contains_key(*d) && !files.keys().any(|f| f.starts_with(&format!("{d}/"))), "{d}");
    }
    for shared in
        ["/usr/local/etc", "/usr/local/etc/mail", "/usr/local/etc/rc.conf.d", "/usr/local/sbin", "/usr/local/share/man"]
    {
        assert!(!dirs.contains_key(shared), "{shared} belongs to no single package");
    }
    let mut paths: Vec<&String> = files.keys().collect();
    paths.sort();
    let summary: BTreeMap<String, usize> = paths.iter().fold(BTreeMap::new(), |mut m, p| {
        let parent = std::path::Path::new(p.as_str()).parent().unwrap().to_str().unwrap();
        let top: String = parent.split('/').take(5).collect::<Vec<_>>().join("/");
        *m.entry(top).or_default() += 1;
        m
    });
    eprintln!("manifest: {} files, {} directories; by directory:", files.len(), dirs.len());
    for (d, n) in &summary {
        eprintln!("  {n:4}  {d}");
    }
    for want in [
        "/usr/local/sbin/sendmail",
        "/usr/local/bin/rmail",
        "/usr/local/etc/mail/mailer.conf.sendmail",
        "/usr/local/etc/mail/sendmail.mc.sample",
        "/usr/local/etc/mail/submit.mc.sample",
        "/usr/local/etc/mail/sendmail.cf.sample",
        "/usr/local/etc/mail/submit.cf.sample",
        "/usr/local/etc/mail/local-host-names.sample",
        "/usr/local/etc/rc.conf.d/sendmail.sample",
        "/usr/local/share/sendmail/helpfile",
    ] {
        assert!(files.contains_key(want), "{want} missing from the manifest");
    }

    // The .cf sample uses the package's helpfile, and class w from the base system's file.
    let cf = String::from_utf8(members["/usr/local/etc/mail/sendmail.cf.sample"].data.clone()).unwrap();
    assert!(cf.lines().any(|l| l == "O HelpFile=/usr/local/share/sendmail/helpfile"), "HelpFile in sendmail.cf.sample");
    assert!(cf.lines().any(|l| l == "Fw-o /etc/mail/local-host-names"), "class w in sendmail.cf.sample");

    // Sums, owners and modes: those of the staged tree and its contents list.
    let staged = ok(xtask(&["--work-dir", w, "stage", "--target", "freebsd", "--json"], &[]));
    let contents: xtask::stage::Contents = serde_json::from_slice(&staged.stdout).unwrap();
    let stage_root = root.join("8.18.2/stage/freebsd/root");
    assert_eq!(contents.entries.len(), files.len() + dirs.len(), "one manifest entry per list entry");
    let mut elf = vec![];
    for e in &contents.entries {
        let key = e.path.to_str().unwrap();
        let on_disk = e.staged(&stage_root);
        let m = if e.kind == xtask::stage::Kind::Dir { &dirs[key] } else { &files[key] };
        assert_eq!(
            (m["uname"].as_str().unwrap(), m["gname"].as_str().unwrap(), m["perm"].as_str().unwrap()),
            (e.owner.as_str(), e.group.as_str(), format!("{:04o}", e.mode).as_str()),
            "{key}"
        );
        if let xtask::stage::Kind::Symlink { target } = &e.kind {
            assert_eq!(std::fs::read_link(&on_disk).unwrap(), *target, "{key}");
            assert_eq!(m["sum"], format!("1${}", hex(&Sha256::digest(target.to_str().unwrap().as_bytes()))), "{key}");
        } else if e.kind != xtask::stage::Kind::Dir {
            let bytes = std::fs::read(&on_disk).unwrap();
            assert_eq!(m["sum"], format!("1${}", hex(&Sha256::digest(&bytes))), "{key}");
            assert_eq!(members[key].data, bytes, "{key}: archive member and staged file differ");
            if bytes.starts_with(b"\x7fELF") {
                elf.push((e.path.clone(), elf_abi::read(&bytes).unwrap()));
            }
        }
    }

    // abi and arch: what the ELF files say, or the override, said aloud.
    assert!(elf.len() >= 9, "sendmail and its helpers are ELF files: {}", elf.len());
    let abi = manifest["abi"].as_str().unwrap();
    match elf_abi::freebsd_abi(&elf) {
        Ok(from_files) => assert_eq!(abi, from_files),
        Err(_) => assert_eq!(Some(abi.to_string()), pkg_abi_args().get(1).cloned(), "only --abi may label these"),
    }
    eprintln!(
        "abi {abi}, arch {}, shlibs_required {}",
        manifest["arch"].as_str().unwrap(),
        manifest["shlibs_required"]
    );
    let (_, arch) = xtask::host::parse_abi(abi).unwrap();
    assert!(elf.iter().all(|(_, a)| a.arch == arch), "{abi} vs {elf:?}");
    assert_eq!(manifest["arch"], xtask::host::arch_from_abi(abi).unwrap());
    // shlibs_required: the libraries the programs need (NEEDED).
    let shlibs: Vec<&str> =
        manifest["shlibs_required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let needed: std::collections::BTreeSet<&str> =
        elf.iter().flat_map(|(_, a)| a.needed.iter().map(String::as_str)).collect();
    assert!(shlibs.iter().any(|l| l.starts_with("libssl.so")), "{shlibs:?}");
    assert!(shlibs.iter().all(|l| needed.contains(l)), "{shlibs:?} vs {needed:?}");
    if std::env::consts::OS != "freebsd" {
        assert_eq!(shlibs, needed.into_iter().collect::<Vec<_>>());
    }
}

#[test]
#[cfg_attr(target_os = "freebsd", ignore = "on FreeBSD a .pkg of the host's own programs is the real thing")]
fn non_freebsd_host_pkg_of_its_programs_is_refused_unless_abi_says_it_is_a_format_test() {
    let root = shared_build("8.18.2").unwrap();
    let out = scratch("pkg-refused");
    let (w, o) = (root.to_str().unwrap(), out.to_str().unwrap());
    let r = xtask(&["--work-dir", w, "package", "--format", "pkg,tar", "--out", o], &[]);
    let t = text(&r);
    assert!(!r.status.success(), "a .pkg of Linux programs was written:\n{t}");
    for want in
        ["refusing to write a FreeBSD .pkg", "are not FreeBSD programs", "GNU/Linux", "poudriere", "--abi FreeBSD:"]
    {
        assert!(t.contains(want), "{want} missing from:\n{t}");
    }
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0, "nothing written before the refusal");
    let abi = xtask::package::pkg::example_abi();
    let r = ok(xtask(&["--work-dir", w, "package", "--format", "pkg", "--abi", &abi, "--out", o], &[]));
    let t = text(&r);
    assert!(t.contains(&format!("--abi {abi} overrides what the programs are")), "{t}");
    assert!(t.contains("this host's programs") && t.contains("testing the package format only"), "{t}");
    artifact(&out, ".pkg");
    // Without --format, this host's formats: no .pkg, and no failure (the
    // shared build's own `dist` runs the same defaults).
    let defaults = scratch("pkg-refused-defaults");
    ok(xtask(&["--work-dir", w, "package", "--out", defaults.to_str().unwrap()], &[]));
    let names: Vec<String> =
        std::fs::read_dir(&defaults).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert!(names.iter().all(|n| !n.ends_with(".pkg")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".tar.gz")), "{names:?}");
}

/// A `pw` stand-in on PATH: appends its arguments to $PW_LOG, one call per
/// line, each argument in brackets (so a root with a space shows as one); `groupshow`/`usershow` succeed when $PW_HAVE names the object's
/// kind (group, user), and the subcommand in $PW_FAIL fails.
const PW_STANDIN: &str = r#"#!/bin/sh
printf 'pw%s\n' "$(printf ' [%s]' "$@")" >> "$PW_LOG"
[ "$#" -ge 3 ] || exit 64
[ "$1" = "-R" ] || exit 65
case " $PW_FAIL " in *" $3 "*) echo "pw: $3 failed" >&2; exit 67;; esac
case "$3" in
groupshow) case "$PW_HAVE" in *group*) exit 0;; esac; exit 67;;
usershow) case "$PW_HAVE" in *user*) exit 0;; esac; exit 67;;
esac
exit 0
"#;

/// Runs a maintainer script with `shell`, the pw stand-in first on PATH;
/// returns (exit code, pw calls, stderr).
fn run_script(shell: &str, script: &str, dir: &std::path::Path, env: &[(&str, &str)]) -> (i32, Vec<String>, String) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let pw = bin.join("pw");
    std::fs::write(&pw, PW_STANDIN).unwrap();
    std::fs::set_permissions(&pw, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let log = dir.join("pw.log");
    let _ = std::fs::remove_file(&log);
    let mut cmd = std::process::Command::new(shell);
    cmd.arg("-c").arg(script).env_clear().env("PATH", format!("{}:/usr/bin:/bin", bin.display())).env("PW_LOG", &log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let calls = std::fs::read_to_string(&log).unwrap_or_default().lines().map(String::from).collect();
    (out.status.code().unwrap_or(-1), calls, String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn pkg_scripts_use_the_install_root_check_every_step_and_keep_local_files() {
    let out = shared_packages("8.18.2", "pkg-scripts", "pkg", &[]);
    let members = members_by_name(read_tar(&std::fs::read(artifact(&out, ".pkg")).unwrap()).unwrap());
    let manifest: serde_json::Value = serde_json::from_slice(&members["+MANIFEST"].data).unwrap();
    let script = |k: &str| manifest["scripts"][k].as_str().unwrap_or_else(|| panic!("no {k} script")).to_string();
    let (pre, post, deinstall) = (script("pre-install"), script("post-install"), script("pre-deinstall"));
    let dir = scratch("pkg-scripts");
    let useradd = "[useradd] [smmsp] [-u] [25] [-g] [smmsp] [-h] [-] [-c] [Sendmail Submission User] \
                   [-d] [/var/spool/clientmqueue] [-s] [/usr/sbin/nologin]";
    for shell in ["sh", "dash"] {
        assert!(which::which(shell).is_ok(), "{shell} is not installed");
        // A fresh root: group and user created, inside the root pkg -r names.
        for (env, root) in [(vec![], "/"), (vec![("PKG_ROOTDIR", "/tmp/jail root")], "/tmp/jail root")] {
            let (code, calls, err) = run_script(shell, &pre, &dir, &env);
            eprintln!("{shell}, PKG_ROOTDIR {root:?}, no smmsp:\n  {}", calls.join("\n  "));
            assert_eq!(code, 0, "{err}");
            assert_eq!(
                calls,
                [
                    format!("pw [-R] [{root}] [groupshow] [smmsp]"),
                    format!("pw [-R] [{root}] [groupadd] [smmsp] [-g] [25]"),
                    format!("pw [-R] [{root}] [usershow] [smmsp]"),
                    format!("pw [-R] [{root}] {useradd}"),
                ]
            );
        }
        // The base system has smmsp: nothing is created.
        let (code, calls, _) = run_script(shell, &pre, &dir, &[("PW_HAVE", "group user")]);
        eprintln!("{shell}, smmsp exists:\n  {}", calls.join("\n  "));
        assert_eq!(code, 0);
        assert_eq!(calls, ["pw [-R] [/] [groupshow] [smmsp]", "pw [-R] [/] [usershow] [smmsp]"]);
        // A failing pw stops the script with a failure, and nothing after it runs.
        let (code, calls, err) = run_script(shell, &pre, &dir, &[("PW_FAIL", "groupadd")]);
        assert_ne!(code, 0, "a failed groupadd was ignored");
        assert!(err.contains("groupadd smmsp -g 25 failed"), "{err}");
        assert_eq!(calls.len(), 2, "{calls:?}");
        let (code, _, err) = run_script(shell, &pre, &dir, &[("PW_HAVE", "group"), ("PW_FAIL", "useradd")]);
        assert_ne!(code, 0, "a failed useradd was ignored");
        assert!(err.contains("useradd smmsp -u 25 failed"), "{err}");

        // The samples: copied unless present, removed on deinstall only unchanged.
        let root = dir.join(format!("root-{shell}"));
        let _ = std::fs::remove_dir_all(&root);
        let etc = root.join("usr/local/etc/rc.conf.d");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("sendmail.sample"), "sendmail_cert_create=\"NO\"\n").unwrap();
        let env = [("PKG_ROOTDIR", root.to_str().unwrap())];
        assert_eq!(run_script(shell, &post, &dir, &env).0, 0);
        assert_eq!(std::fs::read_to_string(etc.join("sendmail")).unwrap(), "sendmail_cert_create=\"NO\"\n");
        std::fs::write(etc.join("sendmail"), "sendmail_cert_create=\"NO\"\nsendmail_enable=\"YES\"\n").unwrap();
        assert_eq!(run_script(shell, &post, &dir, &env).0, 0);
        assert!(std::fs::read_to_string(etc.join("sendmail")).unwrap().contains("sendmail_enable"), "edit kept");
        assert_eq!(run_script(shell, &deinstall, &dir, &env).0, 0);
        assert!(etc.join("sendmail").exists(), "an edited copy must stay");
        std::fs::copy(etc.join("sendmail.sample"), etc.join("sendmail")).unwrap();
        assert_eq!(run_script(shell, &deinstall, &dir, &env).0, 0);
        assert!(!etc.join("sendmail").exists(), "an unchanged copy is removed");
        // A copy that fails (no sample to copy) fails the script.
        std::fs::remove_file(etc.join("sendmail.sample")).unwrap();
        let (code, _, err) = run_script(shell, &post, &dir, &env);
        assert_ne!(code, 0, "a failed copy was ignored");
        assert!(err.contains("cannot copy"), "{err}");
    }
}

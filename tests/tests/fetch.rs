//! fetch through the real sources: Debian's archive (reachable here), a
//! local HTTP server standing in for ftp.sendmail.org, and a tampered cache.

use smtls_tests::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;

const V: &str = "8.18.2";
const FILE: &str = "sendmail.8.18.2.tar.gz";

fn args<'a>(work: &'a str, cache: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--version", V, "--work-dir", work, "--cache-dir", cache, "fetch"];
    v.extend_from_slice(rest);
    v
}

/// A verified tarball to serve, taken from the shared cache (fetched once
/// through Debian if needed).
fn known_good_tarball() -> std::path::PathBuf {
    let cache = shared_cache();
    let work = scratch("fetch-known-good");
    ok(xtask(&args(work.to_str().unwrap(), cache.to_str().unwrap(), &[]), &[]));
    let _ = std::fs::remove_dir_all(&work);
    cache.join("distfiles").join(FILE)
}

#[test]
fn auto_chain_falls_through_upstream_to_debian() {
    let dir = scratch("fetch-auto");
    let (work, cache) = (dir.join("work"), dir.join("cache"));
    // Upstream is unreachable from this machine; point it at a closed port so
    // the test is the same on a machine that can reach ftp.sendmail.org.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/", closed.local_addr().unwrap().port());
    drop(closed);
    let out = ok(xtask(
        &args(work.to_str().unwrap(), cache.to_str().unwrap(), &["--upstream-url", &url, "--require-signature"]),
        &[],
    ));
    let t = text(&out);
    assert!(t.contains("tried cache:"), "{t}");
    assert!(t.contains(&format!("tried upstream {url}")), "{t}");
    assert!(t.contains("Debian source package sendmail="), "{t}");
    assert!(t.contains("signature: good, by pinned key 032312C7C0C2B1973D5013180C19D37CB7E6543E"), "{t}");
    assert!(work.join(V).join("src/sendmail-8.18.2/Build").is_file());
    assert!(cache.join("distfiles").join(FILE).is_file());
    assert!(cache.join("distfiles").join(format!("{FILE}.asc")).is_file());
    // A second run is served by the cache, verified again.
    let t = text(&ok(xtask(&args(work.to_str().unwrap(), cache.to_str().unwrap(), &[]), &[])));
    assert!(t.contains("(from cache)"), "{t}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Serves `dir` over HTTP/1.0 on 127.0.0.1 for as long as the test runs.
fn serve(dir: &Path) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/", listener.local_addr().unwrap().port());
    let dir = dir.to_path_buf();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(32) {
            let Ok(mut s) = stream else { continue };
            s.set_read_timeout(Some(std::time::Duration::from_secs(10))).ok();
            let mut line = String::new();
            let mut r = BufReader::new(s.try_clone().unwrap());
            if r.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
            seen.lock().unwrap().push(path.clone());
            let file = dir.join(&path);
            let resp = match (!path.contains("..") && file.is_file()).then(|| std::fs::read(&file)) {
                Some(Ok(body)) => {
                    let mut r = format!("HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
                    r.extend(body);
                    r
                }
                _ => b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
            };
            let _ = s.write_all(&resp);
        }
    });
    (url, log)
}

#[test]
fn upstream_site_over_http_with_signature() {
    let good = known_good_tarball();
    let dir = scratch("fetch-upstream");
    let site = dir.join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::copy(&good, site.join(FILE)).unwrap();
    // Upstream publishes a detached signature beside the tarball.
    std::fs::copy(good.with_file_name(format!("{FILE}.asc")), site.join(format!("{FILE}.sig"))).unwrap();
    let (url, log) = serve(&site);
    let (work, cache) = (dir.join("work"), dir.join("cache"));
    let out = ok(xtask(
        &args(
            work.to_str().unwrap(),
            cache.to_str().unwrap(),
            &["--from", "upstream", "--upstream-url", &url, "--require-signature"],
        ),
        &[],
    ));
    let t = text(&out);
    assert!(t.contains(&format!("downloading {url}{FILE}")), "{t}");
    assert!(t.contains("signature: good"), "{t}");
    assert!(log.lock().unwrap().contains(&FILE.to_string()));
    assert!(work.join(V).join("src/sendmail-8.18.2/Build").is_file());

    // A tarball that is not the pinned one is refused and never unpacked.
    let bad_site = dir.join("bad-site");
    std::fs::create_dir_all(&bad_site).unwrap();
    let mut bytes = std::fs::read(&good).unwrap();
    bytes[1000] ^= 1;
    std::fs::write(bad_site.join(FILE), &bytes).unwrap();
    let (bad_url, _) = serve(&bad_site);
    let work2 = dir.join("work2");
    let out = xtask(
        &args(
            work2.to_str().unwrap(),
            dir.join("cache2").to_str().unwrap(),
            &["--from", "upstream", "--upstream-url", &bad_url],
        ),
        &[],
    );
    assert!(!out.status.success());
    let t = text(&out);
    assert!(t.contains("has SHA-256") && t.contains("but sendmail 8.18.2 is pinned at"), "{t}");
    assert!(!work2.join(V).join("src").exists(), "nothing may be unpacked");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// 8.16.1 is pinned by the SHA-512 Gentoo published: a tarball of exactly
/// the pinned size served as upstream's is refused by its SHA-512, names
/// both sums, and is never unpacked.
#[test]
fn a_release_pinned_by_sha512_refuses_a_tarball_with_another_sha512() {
    let table = xtask::releases::table();
    let pinned = table.find(&"8.16.1".parse().unwrap()).expect("8.16.1 is pinned");
    assert!(pinned.sha256.is_empty() && pinned.sha512.len() == 128, "{pinned:?}");
    let dir = scratch("fetch-sha512");
    let site = dir.join("site");
    std::fs::create_dir_all(&site).unwrap();
    let mut bytes = std::fs::read(known_good_tarball()).unwrap();
    bytes.truncate(pinned.size as usize);
    std::fs::write(site.join(&pinned.upstream_file), &bytes).unwrap();
    let (url, log) = serve(&site);
    let work = dir.join("work");
    let out = xtask(
        &[
            "--version",
            "8.16.1",
            "--work-dir",
            work.to_str().unwrap(),
            "--cache-dir",
            dir.join("cache").to_str().unwrap(),
            "fetch",
            "--from",
            "upstream",
            "--upstream-url",
            &url,
        ],
        &[],
    );
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(log.lock().unwrap().contains(&pinned.upstream_file), "the tarball was downloaded: {t}");
    assert!(t.contains("has SHA-512") && t.contains(&format!("pinned at SHA-512 {}", pinned.sha512)), "{t}");
    assert!(!work.join("8.16.1").join("src").exists(), "nothing may be unpacked");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn one_changed_byte_in_the_cache_is_refused_before_unpacking() {
    let good = known_good_tarball();
    let dir = scratch("fetch-tampered");
    let cache = dir.join("cache");
    std::fs::create_dir_all(cache.join("distfiles")).unwrap();
    let mut bytes = std::fs::read(&good).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] = bytes[mid].wrapping_add(1);
    std::fs::write(cache.join("distfiles").join(FILE), &bytes).unwrap();
    let work = dir.join("work");
    let out = xtask(&args(work.to_str().unwrap(), cache.to_str().unwrap(), &["--from", "cache"]), &[]);
    assert!(!out.status.success(), "a tampered cache must be refused");
    let t = text(&out);
    assert!(t.contains("has SHA-256") && t.contains("refused and moved aside"), "{t}");
    assert!(!work.join(V).join("src").exists(), "nothing may be unpacked");
    assert!(!cache.join("distfiles").join(FILE).exists(), "the bad file is moved aside");
    assert!(cache.join("distfiles").join(format!("{FILE}.corrupt")).exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn local_distdir_and_unknown_versions() {
    let good = known_good_tarball();
    let dir = scratch("fetch-local");
    let distdir = dir.join("distfiles");
    std::fs::create_dir_all(&distdir).unwrap();
    std::fs::copy(&good, distdir.join(FILE)).unwrap();
    let (work, cache) = (dir.join("work"), dir.join("cache"));
    let t = text(&ok(xtask(
        &args(work.to_str().unwrap(), cache.to_str().unwrap(), &["--from", distdir.to_str().unwrap()]),
        &[],
    )));
    assert!(t.contains("signature: not checked"), "{t}");
    // --require-signature without a signature available fails.
    let out = xtask(
        &args(
            work.to_str().unwrap(),
            dir.join("c2").to_str().unwrap(),
            &["--from", distdir.to_str().unwrap(), "--require-signature"],
        ),
        &[],
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("--require-signature"));
    // A version outside the table needs --sha256.
    let out = xtask(&["--version", "8.17.2", "--cache-dir", cache.to_str().unwrap(), "fetch"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("pin it yourself with --sha256"), "{}", text(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Real gpgv, real keys, real signatures: a release without a pinned key
/// (any pinned sendmail key counts, and the result says so), the pinned key
/// of another release is refused, and a key missing from the table never
/// counts.
#[test]
fn signatures_of_unpinned_releases_use_any_pinned_sendmail_key() {
    let tarball = known_good_tarball();
    let asc = std::path::PathBuf::from(format!("{}.asc", tarball.display()));
    assert!(asc.is_file(), "the shared cache keeps upstream's .asc");
    let scratch = scratch("fetch-sig");
    let unpinned = xtask::releases::Release::user_pinned(&"8.18.2".parse().unwrap(), &"ab".repeat(32)).unwrap();
    let s = xtask::fetch::checksum::check_signature(&tarball, Some(&asc), &unpinned, &scratch).unwrap();
    let xtask::fetch::checksum::Signature::Verified(by) = s else { panic!("{s:?}") };
    assert!(by.contains("032312C7C0C2B1973D5013180C19D37CB7E6543E") && by.contains("any pinned sendmail key"), "{by}");
    // Pinned to the 2022 key, the 2025 signature is refused.
    let table = xtask::releases::table();
    let mut other = table.find(&"8.18.2".parse().unwrap()).unwrap().clone();
    other.signing_key = "6327DDCB5E7E80E4987EA3B7FD79DC0C81D9210A".into();
    let e = xtask::fetch::checksum::check_signature(&tarball, Some(&asc), &other, &scratch).unwrap_err();
    assert!(e.to_string().contains("not by the key pinned"), "{e}");
    // Every key in the committed file is one of the pinned fingerprints.
    // A private GnuPG home: the host's ~/.gnupg is not touched.
    let home = scratch.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let keys = xtask::fetch::checksum::keys_file();
    let listing =
        sh("gpg", &["--homedir", home.to_str().unwrap(), "--show-keys", "--with-colons", keys.to_str().unwrap()]);
    let fprs: Vec<&str> = listing
        .lines()
        .scan(false, |after_pub, l| {
            let f: Vec<&str> = l.split(':').collect();
            let out = if *after_pub && f[0] == "fpr" { Some(f[9]) } else { None };
            *after_pub = f[0] == "pub";
            Some(out)
        })
        .flatten()
        .collect();
    assert_eq!(fprs.len(), table.signing_keys.len(), "{listing}");
    for f in fprs {
        assert!(table.signing_keys.iter().any(|k| k == f), "{f} is in the .asc but not pinned");
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

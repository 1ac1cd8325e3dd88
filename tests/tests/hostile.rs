//! Hostile tarballs: crafted with link chains, absolute and `..` names,
//! hard links, devices and a directory replaced by a link. Each is fetched
//! as a user-pinned release (`--version 9.9.9 --sha256 SUM --from FILE`);
//! fetch must fail, nothing outside the work directory may change, and no
//! partial directory may be left.

use smtls_tests::hostile::{climbing_chain, write, Entry};
use smtls_tests::*;
use std::path::{Path, PathBuf};

const V: &str = "9.9.9";
const TOP: &str = "sendmail-9.9.9";

struct Site {
    dir: PathBuf,
    parent: PathBuf,
    work: PathBuf,
    marker: PathBuf,
}

/// parent/work (the work root), parent/sibling/victim and parent/sentinel
/// beside it, the cache elsewhere; a marker path in /tmp that a chain to
/// `/` would create.
fn site(name: &str) -> Site {
    let dir = scratch(&format!("hostile-{name}"));
    let parent = dir.join("parent");
    std::fs::create_dir_all(parent.join("work")).unwrap();
    std::fs::create_dir_all(parent.join("sibling")).unwrap();
    std::fs::write(parent.join("sibling/victim"), "precious\n").unwrap();
    std::fs::write(parent.join("sentinel"), "sentinel\n").unwrap();
    let marker = PathBuf::from(format!("/tmp/smtls-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    Site { work: parent.join("work"), parent, dir, marker }
}

/// How many directories `src.partial-PID/sendmail-9.9.9` is below `/`.
fn depth_of_top(s: &Site) -> usize {
    s.work.join(V).join("src.partial-1").join(TOP).components().count() - 1
}

/// Where a chain from the top directory up to `parent` ends: four levels
/// (top -> src.partial-PID -> 9.9.9 -> work -> parent).
const TO_PARENT: usize = 4;

fn fetch(s: &Site, entries: &[Entry]) -> std::process::Output {
    let tgz = s.dir.join("crafted.tar.gz");
    let sum = write(&tgz, entries);
    let (w, c) = (s.work.to_str().unwrap(), s.dir.join("cache"));
    xtask(
        &["--version", V, "--sha256", &sum, "--work-dir", w, "--cache-dir", c.to_str().unwrap(), "fetch", "--from"]
            .into_iter()
            .chain([tgz.to_str().unwrap()])
            .collect::<Vec<_>>(),
        &[],
    )
}

fn outside(s: &Site) -> Vec<String> {
    listing(&s.parent).into_iter().filter(|l| !l.starts_with("work/") && l != "work/").collect()
}

/// Fetching `entries` fails with a message containing `why`; nothing
/// outside the work directory changed; no partial or half-unpacked tree.
fn refused(name: &str, entries: impl Fn(&Site) -> Vec<Entry>, why: &str) {
    let s = site(name);
    let mut all = vec![Entry::Dir(format!("{TOP}/")), Entry::File(format!("{TOP}/Build"), b"#!/bin/sh\n".to_vec())];
    all.extend(entries(&s));
    let before = outside(&s);
    let out = fetch(&s, &all);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains(why), "expected {why:?} in:\n{t}");
    assert_eq!(outside(&s), before, "something outside the work directory changed");
    assert_eq!(std::fs::read_to_string(s.parent.join("sentinel")).unwrap(), "sentinel\n");
    assert!(!s.marker.exists(), "{} was written", s.marker.display());
    let left: Vec<String> = std::fs::read_dir(s.work.join(V))
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    assert!(left.iter().all(|n| n == ".lock"), "left in the work directory: {left:?}");
    let _ = std::fs::remove_dir_all(&s.dir);
}

fn rel(p: &Path) -> String {
    p.strip_prefix("/").unwrap().display().to_string()
}

#[test]
fn a_benign_crafted_tarball_unpacks_with_its_inner_links() {
    let s = site("benign");
    let before = outside(&s);
    let out = fetch(
        &s,
        &[
            Entry::Dir(format!("{TOP}/")),
            Entry::File(format!("{TOP}/Build"), b"#!/bin/sh\n".to_vec()),
            Entry::Symlink(format!("{TOP}/lib"), "libsm".into()),
            Entry::Dir(format!("{TOP}/libsm/")),
            Entry::File(format!("{TOP}/lib/x.c"), b"int x;\n".to_vec()),
            Entry::HardLink(format!("{TOP}/y.c"), format!("{TOP}/libsm/x.c")),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let src = s.work.join(V).join("src").join(TOP);
    assert_eq!(std::fs::read_link(src.join("lib")).unwrap(), Path::new("libsm"));
    assert_eq!(std::fs::read_to_string(src.join("libsm/x.c")).unwrap(), "int x;\n");
    assert_eq!(std::fs::read_to_string(src.join("y.c")).unwrap(), "int x;\n");
    assert_eq!(outside(&s), before);
    let _ = std::fs::remove_dir_all(&s.dir);
}

#[test]
fn a_chain_to_root_followed_by_a_file() {
    refused(
        "root-file",
        |s| {
            let (mut v, last) = climbing_chain(TOP, depth_of_top(s) + 2);
            v.push(Entry::File(format!("{last}/{}", rel(&s.marker)), b"pwned\n".to_vec()));
            v
        },
        "it resolves outside the destination",
    );
}

#[test]
fn a_chain_to_root_followed_by_a_hard_link() {
    refused(
        "root-hardlink",
        |s| {
            // A file in /tmp the chain would reach (the test checks it after).
            let target = PathBuf::from(format!("{}-target", s.marker.display()));
            std::fs::write(&target, "kept\n").unwrap();
            let (mut v, last) = climbing_chain(TOP, depth_of_top(s) + 2);
            v.push(Entry::HardLink(format!("{TOP}/h"), format!("{last}/{}", rel(&target))));
            v.push(Entry::File(format!("{TOP}/h"), b"pwned\n".to_vec()));
            v
        },
        "refusing tar entry",
    );
    let target = format!("/tmp/smtls-hostile-{}-root-hardlink-target", std::process::id());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "kept\n");
    std::fs::remove_file(&target).unwrap();
}

#[test]
fn a_chain_to_root_named_like_the_toolkits_files() {
    refused(
        "root-toolkit-names",
        |s| {
            let (mut v, last) = climbing_chain(TOP, depth_of_top(s) + 2);
            v.push(Entry::Dir(format!("{TOP}/devtools/")));
            v.push(Entry::Symlink(format!("{TOP}/devtools/Site"), format!("../{}", rel(&s.marker))));
            v.push(Entry::Symlink(".smtls-source-sha256".into(), format!("{last}/{}", rel(&s.marker))));
            v
        },
        "it resolves outside the destination",
    );
}

#[test]
fn a_chain_to_a_sibling_of_the_work_dir_followed_by_a_file() {
    refused(
        "sibling-file",
        |_| {
            let (mut v, last) = climbing_chain(TOP, TO_PARENT);
            v.push(Entry::File(format!("{last}/sibling/victim"), b"pwned\n".to_vec()));
            v
        },
        "it resolves outside the destination",
    );
}

#[test]
fn a_chain_to_a_sibling_followed_by_a_hard_link() {
    refused(
        "sibling-hardlink",
        |_| {
            let (mut v, last) = climbing_chain(TOP, TO_PARENT);
            v.push(Entry::HardLink(format!("{TOP}/h"), format!("{last}/sibling/victim")));
            v
        },
        "refusing tar entry",
    );
}

#[test]
fn a_chain_to_a_sibling_named_like_the_toolkits_files() {
    refused(
        "sibling-toolkit-names",
        |_| {
            let (mut v, last) = climbing_chain(TOP, TO_PARENT);
            v.push(Entry::Dir(format!("{TOP}/devtools/")));
            v.push(Entry::Symlink(format!("{TOP}/devtools/Site"), "../l4/sibling".into()));
            v.push(Entry::Symlink(".smtls-source-sha256".into(), format!("{last}/sibling/victim")));
            v
        },
        "it resolves outside the destination",
    );
}

#[test]
fn the_toolkits_stamp_name_outside_the_top_directory() {
    // On its own the link looks harmless (it stays inside); it is refused
    // because the toolkit writes that name itself.
    refused(
        "stamp-name",
        |_| vec![Entry::Symlink(".smtls-source-sha256".into(), format!("{TOP}/Build"))],
        "every entry must be under sendmail-9.9.9/",
    );
}

#[test]
fn absolute_and_dotdot_names() {
    refused("absolute", |s| vec![Entry::File(s.marker.display().to_string(), b"pwned\n".to_vec())], "absolute name");
    refused(
        "dotdot",
        |_| vec![Entry::File(format!("{TOP}/../../../../sibling/victim"), b"pwned\n".to_vec())],
        "`..` in the name",
    );
    refused("absolute-link", |_| vec![Entry::Symlink(format!("{TOP}/etc"), "/etc".into())], "it is absolute");
}

#[test]
fn a_directory_later_replaced_by_a_link() {
    refused(
        "dir-replaced",
        |_| {
            vec![
                Entry::Dir(format!("{TOP}/devtools/")),
                Entry::File(format!("{TOP}/devtools/README"), b"x\n".to_vec()),
                Entry::Symlink(format!("{TOP}/devtools"), ".".into()),
                Entry::File(format!("{TOP}/devtools/Site"), b"x\n".to_vec()),
            ]
        },
        "it replaces the directory sendmail-9.9.9/devtools with a symlink",
    );
}

#[test]
fn hard_links_outside_devices_and_fifos() {
    refused(
        "hard-abs",
        |_| vec![Entry::HardLink(format!("{TOP}/h"), "/etc/passwd".into())],
        "hard link to /etc/passwd: absolute name",
    );
    refused("fifo", |_| vec![Entry::Fifo(format!("{TOP}/fifo"))], "FIFOs are not unpacked");
    refused("device", |_| vec![Entry::CharDevice(format!("{TOP}/null"))], "device files are not unpacked");
}

//! A generator of hostile tarballs: raw names and link targets written
//! straight into the headers (the tar crate's own builder refuses `..` and
//! absolute names, which is exactly what these tarballs need).

use std::path::Path;

/// One entry of a crafted tarball.
#[derive(Clone, Debug)]
pub enum Entry {
    Dir(String),
    File(String, Vec<u8>),
    Symlink(String, String),
    HardLink(String, String),
    Fifo(String),
    CharDevice(String),
}

fn header(name: &str, kind: tar::EntryType, size: u64, link: Option<&str>) -> tar::Header {
    let mut h = tar::Header::new_old();
    let raw = h.as_old_mut();
    assert!(name.len() < 100, "name too long for a raw header: {name}");
    raw.name = [0; 100];
    raw.name[..name.len()].copy_from_slice(name.as_bytes());
    if let Some(l) = link {
        assert!(l.len() < 100, "link too long for a raw header: {l}");
        raw.linkname = [0; 100];
        raw.linkname[..l.len()].copy_from_slice(l.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(if kind == tar::EntryType::Directory { 0o755 } else { 0o644 });
    h.set_mtime(1_700_000_000);
    h.set_uid(0);
    h.set_gid(0);
    h.set_cksum();
    h
}

/// Writes `entries` as a .tar.gz at `path`; returns its SHA-256.
pub fn write(path: &Path, entries: &[Entry]) -> String {
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for e in entries {
        let (h, data): (tar::Header, &[u8]) = match e {
            Entry::Dir(n) => (header(n, tar::EntryType::Directory, 0, None), &[]),
            Entry::File(n, d) => (header(n, tar::EntryType::Regular, d.len() as u64, None), d),
            Entry::Symlink(n, t) => (header(n, tar::EntryType::Symlink, 0, Some(t)), &[]),
            Entry::HardLink(n, t) => (header(n, tar::EntryType::Link, 0, Some(t)), &[]),
            Entry::Fifo(n) => (header(n, tar::EntryType::Fifo, 0, None), &[]),
            Entry::CharDevice(n) => (header(n, tar::EntryType::Char, 0, None), &[]),
        };
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap();
    crate::sha256_of(path)
}

/// Links `top/l0 -> .`, `top/l1 -> l0/..`, ...: each target looks
/// harmless, yet `top/lN` is N directories above `top`. Returns the entries
/// and the name of the last link.
pub fn climbing_chain(top: &str, levels: usize) -> (Vec<Entry>, String) {
    let mut v = vec![Entry::Symlink(format!("{top}/l0"), ".".into())];
    for i in 1..=levels {
        v.push(Entry::Symlink(format!("{top}/l{i}"), format!("l{}/..", i - 1)));
    }
    (v, format!("{top}/l{levels}"))
}

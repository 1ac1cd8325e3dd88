//! Deterministic archive writers (tar, ar, gzip) and the readers the
//! comparison and the tests use. Same input, same bytes: one mtime for every
//! member, owners given explicitly, entries in the order given, gzip headers
//! with mtime 0 and no file name.

use anyhow::{bail, Context, Result};
use std::io::{Read, Write};

/// What a tar member is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TarData {
    File(Vec<u8>),
    Dir,
    Symlink(String),
}

/// The header fields that matter for reproducibility, written and read
/// back alike: mode, owner and group (numeric and by name), mtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meta {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: String,
    pub gname: String,
    pub mtime: u64,
}

impl Meta {
    /// Owned by root:root (0:0).
    pub fn root(mode: u32, mtime: u64) -> Meta {
        Meta { mode, uid: 0, gid: 0, uname: "root".into(), gname: "root".into(), mtime }
    }

    fn write(&self, h: &mut tar::Header) -> Result<()> {
        h.set_mode(self.mode);
        h.set_uid(self.uid);
        h.set_gid(self.gid);
        h.set_mtime(self.mtime);
        h.set_username(&self.uname).with_context(|| format!("user name {:?}", self.uname))?;
        h.set_groupname(&self.gname).with_context(|| format!("group name {:?}", self.gname))?;
        Ok(())
    }

    fn read(h: &tar::Header) -> Result<Meta> {
        Ok(Meta {
            mode: h.mode()?,
            uid: h.uid()?,
            gid: h.gid()?,
            uname: h.username().ok().flatten().unwrap_or("").to_string(),
            gname: h.groupname().ok().flatten().unwrap_or("").to_string(),
            mtime: h.mtime()?,
        })
    }
}

/// One tar member, fully specified: nothing is read from the disk here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TarMember {
    /// The name as written, e.g. `./usr/sbin/` or `/usr/local/sbin/sendmail`.
    pub name: String,
    pub data: TarData,
    pub meta: Meta,
}

impl TarMember {
    pub fn file(name: impl Into<String>, bytes: Vec<u8>, mode: u32, mtime: u64) -> TarMember {
        TarMember { name: name.into(), data: TarData::File(bytes), meta: Meta::root(mode, mtime) }
    }
}

/// Writes `name` into a ustar header's name/prefix fields; false when it
/// does not fit (the caller then adds a PAX `path` record).
fn set_ustar_name(h: &mut tar::Header, name: &[u8]) -> bool {
    let u = h.as_ustar_mut().expect("a ustar header");
    if name.len() <= 100 {
        u.name[..name.len()].copy_from_slice(name);
        return true;
    }
    // Split at a '/' so that prefix <= 155 and name <= 100 bytes.
    for (i, &b) in name.iter().enumerate() {
        if b == b'/' && i <= 155 && name.len() - i - 1 <= 100 && name.len() - i > 1 {
            u.prefix[..i].copy_from_slice(&name[..i]);
            u.name[..name.len() - i - 1].copy_from_slice(&name[i + 1..]);
            return true;
        }
    }
    false
}

/// A ustar archive of `members` (PAX records only for names too long for
/// ustar), ending with the two zero blocks.
pub fn tar(members: &[TarMember]) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for m in members {
        let mut h = tar::Header::new_ustar();
        let (kind, size, link) = match &m.data {
            TarData::File(bytes) => (tar::EntryType::Regular, bytes.len() as u64, None),
            TarData::Dir => (tar::EntryType::Directory, 0, None),
            TarData::Symlink(t) => (tar::EntryType::Symlink, 0, Some(t.as_bytes())),
        };
        h.set_entry_type(kind);
        h.set_size(size);
        m.meta.write(&mut h)?;
        let mut pax: Vec<(&str, &[u8])> = vec![];
        if !set_ustar_name(&mut h, m.name.as_bytes()) {
            pax.push(("path", m.name.as_bytes()));
        }
        if let Some(link) = link {
            if link.len() <= 100 {
                h.as_ustar_mut().expect("ustar").linkname[..link.len()].copy_from_slice(link);
            } else {
                pax.push(("linkpath", link));
            }
        }
        if !pax.is_empty() {
            b.append_pax_extensions(pax).with_context(|| format!("PAX header for {}", m.name))?;
        }
        h.set_cksum();
        match &m.data {
            TarData::File(bytes) => b.append(&h, bytes.as_slice()),
            _ => b.append(&h, std::io::empty()),
        }
        .with_context(|| format!("writing tar member {}", m.name))?;
    }
    Ok(b.into_inner()?)
}

/// gzip at the best level with mtime 0 and no file name (like `gzip -9n`).
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

pub(crate) fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = vec![];
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).context("not a valid gzip stream")?;
    Ok(out)
}

/// A Unix `ar` archive as dpkg-deb writes it: names without the trailing
/// slash, owner 0:0, mode 100644, one mtime.
pub fn ar(members: &[(&str, &[u8])], mtime: u64) -> Result<Vec<u8>> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        if name.len() > 16 || name.contains('/') || name.contains(' ') {
            bail!("ar member name {name:?} must be at most 16 bytes without '/' or spaces");
        }
        let header = format!("{name:<16}{mtime:<12}{:<6}{:<6}{:<8}{:<10}`\n", 0, 0, "100644", data.len());
        if header.len() != 60 {
            bail!("ar header for {name} does not fit in 60 bytes (mtime {mtime}, size {})", data.len());
        }
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    Ok(out)
}

/// An `ar` member read back: name, header fields, data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArMember {
    pub name: String,
    /// The 60-byte header as text (for comparing everything but the data).
    pub header: String,
    pub data: Vec<u8>,
}

pub fn read_ar(bytes: &[u8]) -> Result<Vec<ArMember>> {
    let rest = bytes.strip_prefix(b"!<arch>\n").context("not an ar archive (no !<arch> magic)")?;
    let mut pos = 0;
    let mut out = vec![];
    while pos < rest.len() {
        let header = rest.get(pos..pos + 60).context("truncated ar header")?;
        if &header[58..60] != b"`\n" {
            bail!("bad ar header at offset {}", pos + 8);
        }
        let text = String::from_utf8_lossy(header).to_string();
        let size: usize = text[48..58].trim().parse().context("ar member size")?;
        let name = text[..16].trim_end().trim_end_matches('/').to_string();
        let data = rest.get(pos + 60..pos + 60 + size).context("truncated ar member")?.to_vec();
        out.push(ArMember { name, header: text, data });
        pos += 60 + size + size % 2;
    }
    Ok(out)
}

/// A tar member read back, with every header field that matters for
/// reproducibility.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadMember {
    pub name: String,
    pub kind: char,
    pub meta: Meta,
    pub link: Option<String>,
    pub data: Vec<u8>,
}

/// Reads a tar stream (plain or gzip-compressed, detected by magic).
pub fn read_tar(bytes: &[u8]) -> Result<Vec<ReadMember>> {
    let plain;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        plain = gunzip(bytes)?;
        &plain[..]
    } else {
        bytes
    };
    let mut a = tar::Archive::new(bytes);
    let mut out = vec![];
    for e in a.entries().context("reading tar entries")? {
        let mut e = e.context("reading a tar entry")?;
        let h = e.header().clone();
        let name = String::from_utf8_lossy(&e.path_bytes()).to_string();
        let link = e.link_name_bytes().map(|l| String::from_utf8_lossy(&l).to_string());
        let mut data = vec![];
        e.read_to_end(&mut data)?;
        out.push(ReadMember { name, kind: h.entry_type().as_byte() as char, meta: Meta::read(&h)?, link, data });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members() -> Vec<TarMember> {
        let long = format!("/usr/local/share/sendmail/cf/{}/file.m4", "d".repeat(120));
        let huge = format!("/{}", "x".repeat(300));
        vec![
            TarMember { data: TarData::Dir, ..TarMember::file("./usr/", vec![], 0o755, 1_700_000_000) },
            TarMember {
                meta: Meta { uid: 25, gid: 25, gname: "smmsp".into(), ..Meta::root(0o2555, 1_700_000_000) },
                ..TarMember::file("/usr/local/sbin/sendmail", b"ELF".to_vec(), 0o2555, 1_700_000_000)
            },
            TarMember {
                data: TarData::Symlink("../sbin/sendmail".into()),
                ..TarMember::file("/usr/local/bin/mailq", vec![], 0o777, 1_700_000_000)
            },
            TarMember::file(long, b"dnl".to_vec(), 0o644, 1_700_000_000),
            TarMember::file(huge, b"x".to_vec(), 0o644, 1_700_000_000),
        ]
    }

    #[test]
    fn tar_round_trips_every_field_including_absolute_and_long_names() {
        let bytes = tar(&members()).unwrap();
        assert_eq!(bytes, tar(&members()).unwrap(), "deterministic");
        let back = read_tar(&bytes).unwrap();
        assert_eq!(back.len(), 5);
        assert_eq!(back[0].name, "./usr/");
        assert_eq!(back[0].kind, '5');
        assert_eq!(back[1].name, "/usr/local/sbin/sendmail");
        assert_eq!(
            (back[1].meta.mode, back[1].meta.uid, back[1].meta.gid, back[1].meta.gname.as_str()),
            (0o2555, 25, 25, "smmsp")
        );
        assert_eq!(back[1].data, b"ELF");
        assert_eq!(back[2].link.as_deref(), Some("../sbin/sendmail"));
        assert!(back[3].name.ends_with("/file.m4") && back[3].name.starts_with("/usr/local/share"));
        assert_eq!(back[4].name.len(), 301);
        assert!(back.iter().all(|m| m.meta.mtime == 1_700_000_000));
    }

    #[test]
    fn ar_round_trips_and_pads() {
        let a = ar(&[("debian-binary", b"2.0\n"), ("control.tar.gz", b"odd")], 1_700_000_000).unwrap();
        assert!(a.starts_with(b"!<arch>\ndebian-binary   1700000000  0     0     100644  4         `\n2.0\n"));
        let back = read_ar(&a).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].name, "control.tar.gz");
        assert_eq!(back[1].data, b"odd");
        assert_eq!(a.len() % 2, 0);
        assert!(ar(&[("a/b", b"")], 0).is_err());
    }

    #[test]
    fn gzip_header_has_no_name_and_no_time() {
        let g = gzip(b"abc").unwrap();
        assert_eq!(g[3], 0, "no FNAME/FEXTRA/FCOMMENT flags");
        assert_eq!(&g[4..8], &[0; 4]);
        assert_eq!(gunzip(&g).unwrap(), b"abc");
    }
}

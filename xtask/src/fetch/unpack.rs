//! Unpacking a verified tarball, refusing anything that would write outside
//! the destination: absolute paths, `..`, links that leave the tree,
//! devices.

use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;
use std::path::{Component, Path, PathBuf};
use tar::EntryType;

/// Checks one entry's path and link target; returns the relative path.
pub fn check_entry(path: &Path, kind: EntryType, link: Option<&Path>) -> Result<PathBuf> {
    let rel = normal_relative(path).with_context(|| format!("refusing tar entry {}", path.display()))?;
    match kind {
        EntryType::Regular | EntryType::Directory | EntryType::Continuous => {}
        EntryType::Symlink => {
            let target = link.with_context(|| format!("symlink {} has no target", path.display()))?;
            if target.is_absolute() {
                bail!("refusing symlink {} -> {}: absolute target", path.display(), target.display());
            }
            let parent = rel.parent().unwrap_or(Path::new(""));
            normal_relative(&parent.join(target)).with_context(|| {
                format!("refusing symlink {} -> {}: it leaves the tree", path.display(), target.display())
            })?;
        }
        EntryType::Link => {
            let target = link.with_context(|| format!("hard link {} has no target", path.display()))?;
            normal_relative(target)
                .with_context(|| format!("refusing hard link {} -> {}", path.display(), target.display()))?;
        }
        EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink => {}
        other => bail!("refusing tar entry {} of type {other:?}", path.display()),
    }
    Ok(rel)
}

/// Resolves `.` and `..` lexically; fails if the path is absolute or climbs
/// above its start.
fn normal_relative(path: &Path) -> Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    bail!("`..` climbs out of the tree");
                }
            }
            Component::RootDir | Component::Prefix(_) => bail!("absolute path"),
        }
    }
    Ok(out)
}

/// Extracts `tarball` into the fresh directory `dest` (which must not exist).
pub fn unpack(tarball: &Path, dest: &Path) -> Result<usize> {
    let open = || -> Result<tar::Archive<GzDecoder<std::fs::File>>> {
        let f = std::fs::File::open(tarball).with_context(|| format!("opening {}", tarball.display()))?;
        Ok(tar::Archive::new(GzDecoder::new(f)))
    };
    // First pass: check every entry before anything is written.
    let mut count = 0;
    for entry in open()?.entries().context("reading the tar stream")? {
        let entry = entry.context("reading a tar entry")?;
        let path = entry.path().context("tar entry path")?.into_owned();
        let link = entry.link_name().context("tar link name")?.map(|l| l.into_owned());
        check_entry(&path, entry.header().entry_type(), link.as_deref())?;
        count += 1;
    }
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let mut archive = open()?;
    archive.set_preserve_permissions(true);
    archive.set_preserve_mtime(true);
    archive.set_overwrite(false);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let ok = entry.unpack_in(dest).context("unpacking a tar entry")?;
        if !ok {
            bail!("refusing tar entry {}: it would leave {}", entry.path()?.display(), dest.display());
        }
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_entries_pass() {
        let p = check_entry(Path::new("sendmail-8.18.2/./sendmail/main.c"), EntryType::Regular, None).unwrap();
        assert_eq!(p, Path::new("sendmail-8.18.2/sendmail/main.c"));
        check_entry(Path::new("a/b/link"), EntryType::Symlink, Some(Path::new("../c"))).unwrap();
        check_entry(Path::new("a/hard"), EntryType::Link, Some(Path::new("a/b"))).unwrap();
    }

    #[test]
    fn escaping_entries_are_refused() {
        assert!(check_entry(Path::new("/etc/passwd"), EntryType::Regular, None).is_err());
        assert!(check_entry(Path::new("a/../../x"), EntryType::Regular, None).is_err());
        assert!(check_entry(Path::new("a/l"), EntryType::Symlink, Some(Path::new("../../x"))).is_err());
        assert!(check_entry(Path::new("a/l"), EntryType::Symlink, Some(Path::new("/etc"))).is_err());
        assert!(check_entry(Path::new("a/h"), EntryType::Link, Some(Path::new("../x"))).is_err());
        assert!(check_entry(Path::new("a/dev"), EntryType::Char, None).is_err());
    }

    #[test]
    fn a_tarball_with_dotdot_is_refused_before_writing() {
        let dir = std::env::temp_dir().join(format!("smtls-unpack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let tgz = dir.join("evil.tar.gz");
        {
            let gz = flate2::write::GzEncoder::new(std::fs::File::create(&tgz).unwrap(), flate2::Compression::fast());
            let mut b = tar::Builder::new(gz);
            let mut h = tar::Header::new_gnu();
            h.set_size(2);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, "ok/file", &b"hi"[..]).unwrap();
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(EntryType::Symlink);
            h.set_size(0);
            h.set_cksum();
            b.append_link(&mut h, "ok/escape", "../../outside").unwrap();
            b.into_inner().unwrap().finish().unwrap();
        }
        let dest = dir.join("out");
        let err = unpack(&tgz, &dest).unwrap_err();
        assert!(format!("{err:#}").contains("leaves the tree"), "{err:#}");
        assert!(!dest.exists(), "nothing may be written");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

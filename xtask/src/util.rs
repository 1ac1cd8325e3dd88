//! Small file helpers shared by every step.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// The repository root (this crate's parent directory): templates,
/// fragments, keys and fixtures are read from it.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// Writes `bytes` to a temporary name beside `path`, then renames it into
/// place: readers never see a half-written file. The temporary file is
/// created new with no-follow semantics and the rename replaces whatever
/// `path` was (a planted link included) without following it.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().with_context(|| format!("{} has no parent directory", path.display()))?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_in_dir(dir, path, bytes)
}

fn write_in_dir(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    replace_via_temp(dir, path, "out", 0o644, |f, tmp| {
        f.write_all(bytes).with_context(|| format!("writing {}", tmp.display()))
    })
}

/// Creates `path` new, never through a link planted at its name.
pub(crate) fn create_new_no_follow(path: &Path, mode: u32) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))
}

/// The one way a file is replaced: a temporary name beside `dest` in `dir`
/// is created new (no-follow), filled by `fill`, synced and renamed onto
/// `dest`; on any failure the temporary file is removed.
fn replace_via_temp(
    dir: &Path,
    dest: &Path,
    fallback_name: &str,
    mode: u32,
    fill: impl FnOnce(&mut std::fs::File, &Path) -> Result<()>,
) -> Result<()> {
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or(fallback_name);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut f = create_new_no_follow(&tmp, mode)?;
        fill(&mut f, &tmp)?;
        f.sync_all().with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, dest).with_context(|| format!("renaming {} to {}", tmp.display(), dest.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Replaces the contents of an existing file the user named, in place: a
/// link is followed to the file it names (the link stays a link), the
/// file's mode and owner are kept, and the new contents land in one rename
/// in the file's own directory.
pub(crate) fn edit_in_place(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let real = std::fs::canonicalize(path).with_context(|| format!("resolving {}", path.display()))?;
    let meta = std::fs::metadata(&real).with_context(|| format!("reading {}", real.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", real.display());
    }
    let dir = real.parent().with_context(|| format!("{} has no directory", real.display()))?;
    replace_via_temp(dir, &real, "file", 0o600, |f, tmp| {
        f.write_all(bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::os::unix::fs::fchown(&*f, Some(meta.uid()), Some(meta.gid())).with_context(|| {
            format!(
                "giving {} the owner {}:{} of the file it replaces (run as that user or as root)",
                tmp.display(),
                meta.uid(),
                meta.gid()
            )
        })?;
        f.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        Ok(())
    })
}

/// Like `write_atomic`, for a file inside a tree the toolkit does not fully
/// trust (the unpacked source): every directory from `root` down to the
/// file must be a real directory, never a link, so a link planted in the
/// tree cannot send the write elsewhere.
pub(crate) fn write_in_tree(root: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = real_dir_below(root, path.parent().context("a file without a directory")?)?;
    write_in_dir(&dir, path, bytes)
}

/// Checks that `dir` lies below `root` through real directories only,
/// creating missing ones; returns it.
pub(crate) fn real_dir_below(root: &Path, dir: &Path) -> Result<PathBuf> {
    let rel = dir.strip_prefix(root).with_context(|| format!("{} is not inside {}", dir.display(), root.display()))?;
    real_dirs(root, rel)
}

/// Opens `path` for writing (truncated, or appended) without following a
/// link at its name, in a directory that must be real below `root`.
pub(crate) fn open_in_tree(root: &Path, path: &Path, append: bool) -> Result<std::fs::File> {
    real_dir_below(root, path.parent().context("a file without a directory")?)?;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).custom_flags(libc::O_NOFOLLOW).mode(0o644);
    if append {
        o.append(true);
    } else {
        o.truncate(true);
    }
    o.open(path).with_context(|| {
        format!("opening {} (refused if it is a link: the toolkit never writes through one)", path.display())
    })
}

/// The process id in a name like `src.partial-1234` or `.x.deb.tmp-1234`.
pub(crate) fn leftover_pid(name: &str) -> Option<u32> {
    for marker in [".partial-", ".tmp-"] {
        if let Some(i) = name.rfind(marker) {
            let pid = &name[i + marker.len()..];
            if !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()) {
                return pid.parse().ok();
            }
        }
    }
    None
}

pub(crate) fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Removes `*.partial-PID` and `*.tmp-PID` in `dir` whose process is gone:
/// what a crash, a SIGKILL or a full disk left behind. Returns what was removed.
pub(crate) fn remove_stale_leftovers(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return Ok(removed) };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(leftover_pid) else { continue };
        if process_alive(pid) {
            continue;
        }
        let p = e.path();
        let ft = e.file_type()?;
        if ft.is_dir() {
            make_writable_and_remove(&p).with_context(|| format!("removing {}", p.display()))?;
        } else {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
        removed.push(p);
    }
    Ok(removed)
}

/// Removes a partial directory when dropped: on every error path, and a
/// no-op once the directory has been renamed into place.
pub(crate) struct RemoveOnDrop(pub PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if std::fs::symlink_metadata(&self.0).is_ok() {
            let _ = make_writable_and_remove(&self.0);
        }
    }
}

/// Puts the fresh directory `new` in the place of `dir` in one step: the
/// two are exchanged atomically where the kernel can (Linux
/// `renameat2(RENAME_EXCHANGE)`), so a reader or a crash sees the old
/// directory or the new one, never a mix; the old one is then removed.
/// Elsewhere the old directory is renamed aside first (a crash between the
/// two renames leaves no `dir`, never a mixed one).
pub(crate) fn replace_dir(new: &Path, dir: &Path) -> Result<()> {
    if std::fs::symlink_metadata(dir).is_err() {
        return std::fs::rename(new, dir).with_context(|| format!("renaming {} to {}", new.display(), dir.display()));
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).context("a path with a NUL byte");
        let (a, b) = (c(new)?, c(dir)?);
        // SAFETY: two valid NUL-terminated paths; renameat2 only reads them.
        let r =
            unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
        if r == 0 {
            // `new` now names the old directory.
            make_writable_and_remove(new)
                .with_context(|| format!("removing the old directory, now at {}", new.display()))?;
            return Ok(());
        }
    }
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("dir");
    let old = dir.with_file_name(format!(".{name}.old.partial-{}", std::process::id()));
    std::fs::rename(dir, &old).with_context(|| format!("renaming {} aside", dir.display()))?;
    std::fs::rename(new, dir).with_context(|| format!("renaming {} to {}", new.display(), dir.display()))?;
    make_writable_and_remove(&old).with_context(|| format!("removing {}", old.display()))?;
    Ok(())
}

/// Fails unless `p` is absent or a real directory (not a link).
pub(crate) fn require_real_dir(p: &Path) -> Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.file_type().is_dir() => Ok(()),
        Ok(_) => bail!("{} is not a real directory (a link or a file); refusing to write through it", p.display()),
        Err(_) => Ok(()),
    }
}

/// `root/rel` where every component of `rel` is a real directory (created
/// when missing), never a link: returns the full path.
pub(crate) fn real_dirs(root: &Path, rel: &Path) -> Result<PathBuf> {
    let mut p = root.to_path_buf();
    for c in rel.components() {
        match c {
            Component::Normal(n) => p.push(n),
            Component::CurDir => continue,
            _ => bail!("{}: only plain names may be used below {}", rel.display(), root.display()),
        }
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_dir() => {}
            Ok(_) => bail!("{} is not a real directory (a link or a file); refusing to write through it", p.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&p).with_context(|| format!("creating {}", p.display()))?
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", p.display())),
        }
    }
    Ok(p)
}

/// Removes a tree even where the tarball made directories read-only.
pub(crate) fn make_writable_and_remove(dir: &Path) -> std::io::Result<()> {
    if std::fs::remove_dir_all(dir).is_ok() {
        return Ok(());
    }
    fn open_up(p: &Path) {
        if let Ok(m) = std::fs::symlink_metadata(p) {
            if m.file_type().is_dir() {
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700));
                if let Ok(rd) = std::fs::read_dir(p) {
                    for e in rd.flatten() {
                        open_up(&e.path());
                    }
                }
            }
        }
    }
    open_up(dir);
    std::fs::remove_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty directory of this test process's own under the temporary directory.
    fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("smtls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn leftover_names() {
        assert_eq!(leftover_pid("src.partial-1234"), Some(1234));
        assert_eq!(leftover_pid(".sendmail.deb.tmp-77"), Some(77));
        assert_eq!(leftover_pid("packages.partial-"), None);
        assert_eq!(leftover_pid("x.tmp-12a"), None);
        assert_eq!(leftover_pid("SHA256SUMS"), None);
    }

    #[test]
    fn writes_never_follow_a_planted_link() {
        let dir = fresh_dir("util");
        std::fs::create_dir_all(dir.join("tree/sub")).unwrap();
        std::fs::create_dir_all(dir.join("outside")).unwrap();
        std::fs::write(dir.join("outside/victim"), "keep").unwrap();
        // A link at the file's own name is replaced, not followed.
        std::os::unix::fs::symlink(dir.join("outside/victim"), dir.join("tree/sub/f")).unwrap();
        write_in_tree(&dir.join("tree"), &dir.join("tree/sub/f"), b"new").unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("outside/victim")).unwrap(), "keep");
        assert_eq!(std::fs::read_to_string(dir.join("tree/sub/f")).unwrap(), "new");
        // A link on the way is refused.
        std::os::unix::fs::symlink(dir.join("outside"), dir.join("tree/l")).unwrap();
        let e = write_in_tree(&dir.join("tree"), &dir.join("tree/l/victim"), b"x").unwrap_err();
        assert!(format!("{e:#}").contains("not a real directory"), "{e:#}");
        assert!(open_in_tree(&dir.join("tree"), &dir.join("tree/l/victim"), true).is_err());
        std::os::unix::fs::symlink(dir.join("outside/victim"), dir.join("tree/log")).unwrap();
        assert!(open_in_tree(&dir.join("tree"), &dir.join("tree/log"), true).is_err());
        assert_eq!(std::fs::read_to_string(dir.join("outside/victim")).unwrap(), "keep");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_edit_in_place_keeps_link_mode_and_owner() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = fresh_dir("edit");
        std::fs::create_dir_all(dir.join("real")).unwrap();
        let file = dir.join("real/Makefile");
        std::fs::write(&file, "old\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let me = std::fs::metadata(&file).unwrap();
        // As root, give it another owner: the edit must keep it.
        let owner = if me.uid() == 0 { (4321, 4321) } else { (me.uid(), me.gid()) };
        std::os::unix::fs::chown(&file, Some(owner.0), Some(owner.1)).unwrap();
        std::os::unix::fs::symlink("real/Makefile", dir.join("Makefile")).unwrap();
        edit_in_place(&dir.join("Makefile"), b"new\n").unwrap();
        assert_eq!(std::fs::read_link(dir.join("Makefile")).unwrap(), Path::new("real/Makefile"));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new\n");
        let m = std::fs::metadata(&file).unwrap();
        assert_eq!((m.mode() & 0o7777, m.uid(), m.gid()), (0o640, owner.0, owner.1));
        assert_eq!(std::fs::read_dir(dir.join("real")).unwrap().count(), 1, "no temporary file left");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_is_replaced_whole() {
        let dir = fresh_dir("replace");
        std::fs::create_dir_all(dir.join("out")).unwrap();
        std::fs::write(dir.join("out/old"), "").unwrap();
        std::fs::create_dir_all(dir.join("new")).unwrap();
        std::fs::write(dir.join("new/fresh"), "").unwrap();
        replace_dir(&dir.join("new"), &dir.join("out")).unwrap();
        assert!(dir.join("out/fresh").exists() && !dir.join("out/old").exists());
        assert!(!dir.join("new").exists());
        std::fs::create_dir_all(dir.join("new2")).unwrap();
        {
            let _g = RemoveOnDrop(dir.join("new2"));
        }
        assert!(!dir.join("new2").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_leftovers_of_dead_processes_are_removed() {
        let dir = fresh_dir("stale");
        std::fs::create_dir_all(dir.join("src.partial-999999999/x")).unwrap();
        std::fs::write(dir.join(".a.deb.tmp-999999999"), "").unwrap();
        let mine = format!("src.partial-{}", std::process::id());
        std::fs::create_dir_all(dir.join(&mine)).unwrap();
        let removed = remove_stale_leftovers(&dir).unwrap();
        assert_eq!(removed.len(), 2);
        assert!(dir.join(&mine).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

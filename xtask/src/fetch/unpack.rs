//! Unpacking a verified tarball as if it were hostile. Every entry's path
//! and every link's target is resolved component by component against the
//! tree as it is being built, following the links the tarball has already
//! made; anything that resolves outside the destination is refused, and so
//! are hard links to anything but a file already unpacked, devices, FIFOs,
//! absolute and `..` names, and an entry that replaces an earlier one (a
//! directory replaced by a link in particular).
//!
//! The whole tarball is checked against a model of the tree first; only a
//! tarball that passes is written, each write to a path made of real
//! directories only, with no-follow semantics. On any failure the partial
//! destination is removed.

use crate::util::{create_new_no_follow, make_writable_and_remove, real_dirs};
use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use tar::EntryType;

/// How many links one resolution may follow (Linux's own limit).
const MAX_LINKS: usize = 40;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File,
    Symlink(PathBuf),
}

/// What one entry does, once checked: paths are relative to the
/// destination and made of real directories only (every link followed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Dir(PathBuf),
    File(PathBuf),
    Symlink(PathBuf, PathBuf),
    HardLink(PathBuf, PathBuf),
    /// Metadata entries (pax, GNU long names) write nothing.
    Skip,
}

/// The tree a tarball builds, as far as it has been read.
#[derive(Default)]
pub(crate) struct Model {
    nodes: BTreeMap<PathBuf, Node>,
}

impl Model {
    pub(crate) fn new() -> Model {
        Model::default()
    }

    /// Resolves `rel` (relative to `base`, a resolved directory) following
    /// every link, the last component's too when `follow_last`. Names that
    /// do not exist yet are taken as they are, but a `..` after such a name
    /// is refused: a link made later under that name would change where it
    /// leads.
    fn resolve(&self, base: &Path, rel: &Path, follow_last: bool, hops: &mut usize) -> Result<PathBuf> {
        let mut at: Vec<std::ffi::OsString> = base.iter().map(|c| c.to_os_string()).collect();
        let mut missing = false;
        let comps: Vec<Component> = rel.components().collect();
        for (i, c) in comps.iter().enumerate() {
            let last = i + 1 == comps.len();
            match c {
                Component::RootDir | Component::Prefix(_) => bail!("it is absolute"),
                Component::CurDir => {}
                Component::ParentDir => {
                    if missing {
                        bail!("`..` follows a name that does not exist yet");
                    }
                    if at.pop().is_none() {
                        bail!("it resolves outside the destination");
                    }
                }
                Component::Normal(name) => {
                    let here: PathBuf = at.iter().collect::<PathBuf>().join(name);
                    match self.nodes.get(&here) {
                        Some(Node::Symlink(target)) if follow_last || !last => {
                            *hops += 1;
                            if *hops > MAX_LINKS {
                                bail!("more than {MAX_LINKS} links in a row (a loop?)");
                            }
                            let parent: PathBuf = at.iter().collect();
                            let r = self.resolve(&parent, target, true, hops)?;
                            at = r.iter().map(|c| c.to_os_string()).collect();
                        }
                        Some(Node::File) if !last => bail!("{} is a file, not a directory", here.display()),
                        Some(_) => at.push(name.to_os_string()),
                        None => {
                            missing = true;
                            at.push(name.to_os_string());
                        }
                    }
                }
            }
        }
        Ok(at.iter().collect())
    }

    /// Resolves the directory an entry is created in and returns the
    /// entry's resolved path; every directory on the way must be a real
    /// directory (or not exist yet: it is created).
    fn place(&mut self, name: &Path) -> Result<PathBuf> {
        let parent = name.parent().unwrap_or(Path::new(""));
        let file = name.file_name().context("an entry with an empty name")?;
        let dir = self.resolve(Path::new(""), parent, true, &mut 0)?;
        // Every component of the resolved directory is real: create the missing ones.
        let mut p = PathBuf::new();
        for c in dir.iter() {
            p.push(c);
            match self.nodes.get(&p) {
                None => {
                    self.nodes.insert(p.clone(), Node::Dir);
                }
                Some(Node::Dir) => {}
                Some(Node::Symlink(_)) => bail!("{} is a link to a name that does not exist", p.display()),
                Some(Node::File) => bail!("{} is a file, not a directory", p.display()),
            }
        }
        Ok(dir.join(file))
    }

    /// Checks one entry against the tree so far and records it.
    pub(crate) fn add(&mut self, path: &Path, kind: EntryType, link: Option<&Path>) -> Result<Action> {
        let what = || format!("refusing tar entry {}", path.display());
        match kind {
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink => {
                return Ok(Action::Skip)
            }
            EntryType::Regular | EntryType::Continuous | EntryType::Directory => {}
            EntryType::Symlink | EntryType::Link => {}
            EntryType::Char | EntryType::Block => bail!("{}: device files are not unpacked", what()),
            EntryType::Fifo => bail!("{}: FIFOs are not unpacked", what()),
            other => bail!("{}: entries of type {other:?} are not unpacked", what()),
        }
        plain_name(path).with_context(what)?;
        let at = self.place(path).with_context(what)?;
        let existing = self.nodes.get(&at).cloned();
        let action = match kind {
            EntryType::Directory => match existing {
                None | Some(Node::Dir) => Action::Dir(at.clone()),
                Some(_) => bail!("{}: it replaces the earlier entry {}", what(), at.display()),
            },
            _ if existing == Some(Node::Dir) => {
                bail!("{}: it replaces the directory {} with a {}", what(), at.display(), kind_name(kind))
            }
            _ if existing.is_some() => bail!("{}: it replaces the earlier entry {}", what(), at.display()),
            EntryType::Symlink => {
                let target = link.with_context(|| format!("{}: a symlink without a target", what()))?;
                let parent = at.parent().unwrap_or(Path::new("")).to_path_buf();
                // The link may point at a name that comes later; where it
                // leads through the links made so far must stay inside.
                self.resolve(&parent, target, true, &mut 0)
                    .with_context(|| format!("{} -> {}", what(), target.display()))?;
                Action::Symlink(at.clone(), target.to_path_buf())
            }
            EntryType::Link => {
                let target = link.with_context(|| format!("{}: a hard link without a target", what()))?;
                plain_name(target).with_context(|| format!("{}: hard link to {}", what(), target.display()))?;
                let resolved = self
                    .resolve(Path::new(""), target, false, &mut 0)
                    .with_context(|| format!("{}: hard link to {}", what(), target.display()))?;
                if self.nodes.get(&resolved) != Some(&Node::File) {
                    bail!("{}: a hard link must name a file unpacked before it, not {}", what(), target.display());
                }
                Action::HardLink(at.clone(), resolved)
            }
            _ => Action::File(at.clone()),
        };
        let node = match &action {
            Action::Dir(_) => Node::Dir,
            Action::Symlink(_, t) => Node::Symlink(t.clone()),
            _ => Node::File,
        };
        self.nodes.insert(at, node);
        Ok(action)
    }

    /// After the last entry: every link, followed through the final tree,
    /// still resolves inside.
    pub(crate) fn finish(&self) -> Result<()> {
        for (at, node) in &self.nodes {
            if let Node::Symlink(target) = node {
                let parent = at.parent().unwrap_or(Path::new(""));
                self.resolve(parent, target, true, &mut 0).with_context(|| {
                    format!("refusing symlink {} -> {} in the finished tree", at.display(), target.display())
                })?;
            }
        }
        Ok(())
    }
}

fn kind_name(kind: EntryType) -> &'static str {
    match kind {
        EntryType::Symlink => "symlink",
        EntryType::Link => "hard link",
        _ => "file",
    }
}

/// An entry name: relative, no `..`.
fn plain_name(path: &Path) -> Result<()> {
    for c in path.components() {
        match c {
            Component::RootDir | Component::Prefix(_) => bail!("absolute name"),
            Component::ParentDir => bail!("`..` in the name"),
            _ => {}
        }
    }
    if path.components().all(|c| c == Component::CurDir) {
        bail!("empty name");
    }
    Ok(())
}

/// Checks every entry of `tarball` and returns what to do; writes nothing.
/// Every entry must lie under `top/` when `top` is given.
pub(crate) fn plan_unpack(tarball: &Path, top: Option<&str>) -> Result<Vec<(Action, u32, u64)>> {
    let f = std::fs::File::open(tarball).with_context(|| format!("opening {}", tarball.display()))?;
    let mut archive = tar::Archive::new(GzDecoder::new(std::io::BufReader::new(f)));
    let mut model = Model::new();
    let mut actions = Vec::new();
    for entry in archive.entries().context("reading the tar stream")? {
        let entry = entry.context("reading a tar entry")?;
        let path = entry.path().context("tar entry path")?.into_owned();
        let link = entry.link_name().context("tar link name")?.map(|l| l.into_owned());
        let mut kind = entry.header().entry_type();
        // Old (v7) archives, sendmail's among them, mark a directory only
        // by the trailing slash of a "regular" entry's name.
        if matches!(kind, EntryType::Regular | EntryType::Continuous) && entry.path_bytes().ends_with(b"/") {
            kind = EntryType::Directory;
        }
        plain_name(&path).with_context(|| format!("refusing tar entry {}", path.display()))?;
        if let (Some(top), false) = (top, matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader)) {
            let first = path.components().find(|c| *c != Component::CurDir);
            if first != Some(Component::Normal(top.as_ref())) {
                bail!("refusing tar entry {}: every entry must be under {top}/", path.display());
            }
        }
        let action = model.add(&path, kind, link.as_deref())?;
        let mode = entry.header().mode().unwrap_or(0o644);
        let mtime = entry.header().mtime().unwrap_or(0);
        actions.push((action, mode, mtime));
    }
    model.finish()?;
    Ok(actions)
}

/// Extracts `tarball` into the fresh directory `dest` (which must not
/// exist); on any failure `dest` is removed. Entries must lie under `top/`
/// when given. Returns the number of entries.
pub fn unpack(tarball: &Path, dest: &Path, top: Option<&str>) -> Result<usize> {
    let actions = plan_unpack(tarball, top)?;
    std::fs::create_dir(dest).with_context(|| format!("creating {}", dest.display()))?;
    match write(tarball, dest, &actions) {
        Ok(()) => Ok(actions.len()),
        Err(e) => {
            let _ = make_writable_and_remove(dest);
            Err(e)
        }
    }
}

fn write(tarball: &Path, dest: &Path, actions: &[(Action, u32, u64)]) -> Result<()> {
    let f = std::fs::File::open(tarball).with_context(|| format!("opening {}", tarball.display()))?;
    let mut archive = tar::Archive::new(GzDecoder::new(std::io::BufReader::new(f)));
    let mut dirs = Vec::new();
    let mut entries = archive.entries().context("reading the tar stream")?;
    for (action, mode, mtime) in actions {
        let mut entry =
            entries.next().context("the tarball changed while it was unpacked")?.context("reading a tar entry")?;
        // Only permission bits; never set-id bits from a download.
        let mode = mode & 0o777;
        match action {
            Action::Skip => {}
            Action::Dir(rel) => {
                let p = real_dirs(dest, rel)?;
                dirs.push((p, mode, *mtime));
            }
            Action::File(rel) => {
                let parent = real_dirs(dest, rel.parent().unwrap_or(Path::new("")))?;
                let p = parent.join(rel.file_name().context("file name")?);
                let mut out = create_new_no_follow(&p, 0o600)?;
                let size = entry.header().size().unwrap_or(0);
                let copied = std::io::copy(&mut (&mut entry).take(size), &mut out)
                    .with_context(|| format!("writing {}", p.display()))?;
                if copied != size {
                    bail!("{}: the tarball ended inside this entry", p.display());
                }
                out.set_permissions(std::fs::Permissions::from_mode(mode))?;
                out.set_modified(epoch(*mtime))?;
            }
            Action::Symlink(rel, target) => {
                let parent = real_dirs(dest, rel.parent().unwrap_or(Path::new("")))?;
                let p = parent.join(rel.file_name().context("link name")?);
                std::os::unix::fs::symlink(target, &p).with_context(|| format!("creating the link {}", p.display()))?;
            }
            Action::HardLink(rel, target) => {
                let parent = real_dirs(dest, rel.parent().unwrap_or(Path::new("")))?;
                let p = parent.join(rel.file_name().context("link name")?);
                let t = real_dirs(dest, target.parent().unwrap_or(Path::new("")))?
                    .join(target.file_name().context("link target")?);
                if !std::fs::symlink_metadata(&t)?.file_type().is_file() {
                    bail!("hard link {} -> {}: not a file", p.display(), t.display());
                }
                std::fs::hard_link(&t, &p).with_context(|| format!("linking {} to {}", p.display(), t.display()))?;
            }
        }
    }
    // Directories last (deepest first): a read-only one must not stop what goes in it.
    for (p, mode, mtime) in dirs.iter().rev() {
        let d = std::fs::File::open(p)?;
        d.set_permissions(std::fs::Permissions::from_mode(mode | 0o700))?;
        d.set_modified(epoch(*mtime))?;
    }
    Ok(())
}

fn epoch(secs: u64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(m: &mut Model, path: &str, kind: EntryType, link: Option<&str>) -> Result<Action> {
        m.add(Path::new(path), kind, link.map(Path::new))
    }

    #[test]
    fn safe_entries_pass() {
        let mut m = Model::new();
        add(&mut m, "s/", EntryType::Directory, None).unwrap();
        let a = add(&mut m, "s/./sendmail/main.c", EntryType::Regular, None).unwrap();
        assert_eq!(a, Action::File("s/sendmail/main.c".into()));
        add(&mut m, "s/b/link", EntryType::Symlink, Some("../sendmail/main.c")).unwrap();
        add(&mut m, "s/hard", EntryType::Link, Some("s/sendmail/main.c")).unwrap();
        // A link to a name that comes later, and a write through a link.
        add(&mut m, "s/lib", EntryType::Symlink, Some("libsm")).unwrap();
        add(&mut m, "s/libsm/", EntryType::Directory, None).unwrap();
        assert_eq!(add(&mut m, "s/lib/x.c", EntryType::Regular, None).unwrap(), Action::File("s/libsm/x.c".into()));
        m.finish().unwrap();
    }

    fn refused(entries: &[(&str, EntryType, Option<&str>)]) -> String {
        let mut m = Model::new();
        for (p, k, l) in entries {
            if let Err(e) = add(&mut m, p, *k, *l) {
                return format!("{e:#}");
            }
        }
        match m.finish() {
            Err(e) => format!("{e:#}"),
            Ok(()) => panic!("accepted: {entries:?}"),
        }
    }

    #[test]
    fn escaping_names_and_kinds_are_refused() {
        use EntryType::*;
        assert!(refused(&[("/etc/passwd", Regular, None)]).contains("absolute"));
        assert!(refused(&[("a/../../x", Regular, None)]).contains("`..`"));
        assert!(refused(&[("a/../b", Regular, None)]).contains("`..`"));
        assert!(refused(&[("a/l", Symlink, Some("../../x"))]).contains("outside"));
        assert!(refused(&[("a/l", Symlink, Some("/etc"))]).contains("absolute"));
        assert!(refused(&[("a/h", Link, Some("../x"))]).contains("`..`"));
        assert!(refused(&[("a/h", Link, Some("a/missing"))]).contains("file unpacked before"));
        assert!(refused(&[("a/dev", Char, None)]).contains("device"));
        assert!(refused(&[("a/fifo", Fifo, None)]).contains("FIFO"));
    }

    #[test]
    fn a_chain_of_harmless_looking_links_is_refused() {
        use EntryType::*;
        let t = refused(&[
            ("s/a", Symlink, Some(".")),
            ("s/b", Symlink, Some("a/..")),
            ("s/c", Symlink, Some("b/..")),
            ("s/d", Symlink, Some("c/..")),
        ]);
        assert!(t.contains("s/c -> b/..") && t.contains("outside"), "{t}");
        // Through a link, a file and a hard link are placed where the chain leads.
        let t = refused(&[("s/a", Symlink, Some(".")), ("s/b", Symlink, Some("a/..")), ("s/b/../x", Regular, None)]);
        assert!(t.contains("`..`"), "{t}");
        let t = refused(&[("s/a", Symlink, Some("..")), ("s/a/a2", Symlink, Some("..")), ("s/a/a2/x", Regular, None)]);
        assert!(t.contains("outside"), "{t}");
    }

    #[test]
    fn a_link_made_later_cannot_redirect_an_earlier_one() {
        use EntryType::*;
        // `x` does not exist when L is checked; made a link later, `x/..`
        // would climb one level higher than it looked.
        let t = refused(&[("s/L", Symlink, Some("x/../..")), ("s/x", Symlink, Some("."))]);
        assert!(t.contains("does not exist yet"), "{t}");
        let t = refused(&[("s/L", Symlink, Some("x/y")), ("s/x", Symlink, Some("..")), ("y", Symlink, Some(".."))]);
        assert!(t.contains("refusing tar entry y -> ..") && t.contains("outside"), "{t}");
    }

    #[test]
    fn replacing_an_entry_is_refused() {
        use EntryType::*;
        let t = refused(&[("s/d/", Directory, None), ("s/d/f", Regular, None), ("s/d", Symlink, Some("."))]);
        assert!(t.contains("replaces the directory s/d with a symlink"), "{t}");
        let t = refused(&[("s/f", Regular, None), ("s/f", Regular, None)]);
        assert!(t.contains("replaces the earlier entry"), "{t}");
        let t = refused(&[("s/f", Regular, None), ("s/f/g", Regular, None)]);
        assert!(t.contains("not a directory"), "{t}");
    }

    #[test]
    fn real_dirs_refuses_a_link_on_the_way() {
        let dir = std::env::temp_dir().join(format!("smtls-realdirs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::os::unix::fs::symlink("/tmp", dir.join("a/l")).unwrap();
        assert!(real_dirs(&dir, Path::new("a/new/deeper")).unwrap().is_dir());
        let e = real_dirs(&dir, Path::new("a/l/x")).unwrap_err();
        assert!(format!("{e:#}").contains("not a real directory"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

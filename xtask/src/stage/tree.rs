//! The staged tree: the list's files copied (or linked, or created) under
//! `<work>/stage/<target>/root`, without root, and `contents.json` beside it.

use super::{contents, generate, stage_dir, Contents, Kind, Target};
use crate::{configure::Configuration, epoch, plan::Plan, progress};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Generates the files, lists the contents and builds the staged tree in
/// `<work>/stage/<target>/root`, plus `contents.json` beside it. Files get
/// their mode without setuid/setgid bits and without any owner change:
/// the real owners and modes are in the returned list. `info` is the
/// package's metadata, resolved once by the caller.
pub fn stage(
    plan: &Plan,
    target: Target,
    config: &Configuration,
    time: &epoch::BuildTime,
    info: &crate::meta::Info,
) -> Result<(PathBuf, Contents)> {
    use std::os::unix::fs::PermissionsExt;
    progress::info(&format!("staging the {target} layout (PREFIX {})", target.prefix()));
    let contents = contents(plan, target, config)?;
    generate(plan, &contents, time, info)?;
    let dir = stage_dir(plan, target);
    let root = dir.join("root");
    crate::plan::clean_leftovers(&dir)?;
    let partial = dir.join(format!("root.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let _partial_guard = crate::util::RemoveOnDrop(partial.clone());
    std::fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
    for e in &contents.entries {
        let to = e.staged(&partial);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)?;
        }
        match &e.kind {
            Kind::Dir => std::fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?,
            Kind::File { source } | Kind::Config { source } => {
                std::fs::copy(source, &to).with_context(|| {
                    format!("staging {}: cannot copy {} (was it built?)", e.path.display(), source.display())
                })?;
                std::fs::set_permissions(&to, std::fs::Permissions::from_mode((e.mode & 0o777) | 0o200))?;
            }
            Kind::Symlink { target } => {
                std::os::unix::fs::symlink(target, &to).with_context(|| format!("creating symlink {}", to.display()))?
            }
        }
    }
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("removing the old {}", root.display()))?;
    }
    std::fs::rename(&partial, &root)?;
    crate::util::write_atomic(&dir.join("contents.json"), serde_json::to_string_pretty(&contents)?.as_bytes())?;
    progress::info(&format!("staged {} entries in {}", contents.entries.len(), root.display()));
    Ok((root, contents))
}

//! Probe results kept between runs, so a `dist` with nothing to do runs no
//! compiler and no dpkg-buildflags. An entry is keyed by everything its
//! result depends on that can be read without running anything (the probe's
//! source and arguments, the compiler's identity, the environment the
//! compiler and dpkg-buildflags read, their configuration files), and holds
//! the files the probe read (headers, libraries): it is used only while
//! each of those still has the identity it had. Only successes are kept: a
//! missing library leaves no file to watch for its arrival.

use crate::stamp::{self, Inputs};
use anyhow::Result;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

static DIR: OnceLock<PathBuf> = OnceLock::new();

/// Where this process keeps the entries (`<work>/probe-cache`); set once
/// by configure's entry points. Without it nothing is cached.
pub(crate) fn use_dir(work_dir: &Path) {
    let _ = DIR.set(work_dir.join("probe-cache"));
}

#[derive(Serialize, Deserialize)]
struct Entry<T> {
    key: Inputs,
    /// Each file the probe read, with its identity then.
    files: Vec<(PathBuf, String)>,
    value: T,
}

/// `compute`'s result for `key`, from the cache while every file it read
/// is unchanged; `files` gains the files it read either way.
pub(super) fn cached<T: Serialize + DeserializeOwned>(
    key: &Inputs,
    files: &mut BTreeSet<PathBuf>,
    compute: impl FnOnce(&mut BTreeSet<PathBuf>) -> Result<T>,
) -> Result<T> {
    let Some(dir) = DIR.get() else { return compute(files) };
    let path = dir.join(format!("{}-{}.json", key.step, &key.digest()[..16]));
    if let Some(e) = load::<T>(&path, key) {
        files.extend(e.files.into_iter().map(|(p, _)| p));
        return Ok(e.value);
    }
    let mut read = BTreeSet::new();
    let value = compute(&mut read)?;
    let entry =
        Entry { key: key.clone(), files: read.iter().map(|p| (p.clone(), stamp::identity(p))).collect(), value };
    // A cache that cannot be written only costs the next run a probe.
    let _ = std::fs::create_dir_all(dir)
        .map_err(anyhow::Error::from)
        .and_then(|_| Ok(serde_json::to_vec(&entry)?))
        .and_then(|bytes| crate::util::write_atomic(&path, &bytes));
    files.extend(read);
    Ok(entry.value)
}

fn load<T: DeserializeOwned>(path: &Path, key: &Inputs) -> Option<Entry<T>> {
    let e: Entry<T> = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let fresh = e.key == *key && e.files.iter().all(|(p, id)| stamp::identity(p) == *id);
    fresh.then_some(e)
}

/// The environment a C compiler run by the `cc` crate, and dpkg-buildflags,
/// read: compiler and flag variables, search paths, and DEB_* (such as
/// DEB_BUILD_MAINT_OPTIONS and DEB_CFLAGS_APPEND).
pub(crate) fn compiler_environment() -> String {
    let mut vars: Vec<String> = std::env::vars()
        .filter(|(k, _)| {
            ["CC", "CFLAGS", "CPPFLAGS", "LDFLAGS", "TARGET_", "HOST_", "CRATE_CC", "DEB_", "DPKG_"]
                .iter()
                .any(|p| k.starts_with(p))
                || ["CPATH", "C_INCLUDE_PATH", "LIBRARY_PATH", "LD_LIBRARY_PATH"].contains(&k.as_str())
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    vars.sort();
    vars.join("\n")
}

/// The compiler a probe runs: `cc` on PATH, or the one `CC` names, by
/// identity (path, size, mtime after links), so an upgraded compiler is
/// a new key.
pub(crate) fn compiler_identity() -> String {
    let mut id = stamp::command_identity("cc");
    if let Some(cc) = std::env::var("CC").ok().and_then(|c| c.split_whitespace().next().map(str::to_string)) {
        id.push('\n');
        id.push_str(&stamp::command_identity(&cc));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_used_only_while_its_key_and_files_are_unchanged() {
        let dir = std::env::temp_dir().join(format!("smtls-cache-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        use_dir(&dir);
        let header = dir.join("probed.h");
        std::fs::write(&header, "1").unwrap();
        let mut key = Inputs::new("probe-test");
        key.add("source", "int main(void) { return 0; }");
        let mut runs = 0;
        let mut probe = |key: &Inputs| {
            let mut files = BTreeSet::new();
            let v: String = cached(key, &mut files, |f| {
                runs += 1;
                f.insert(header.clone());
                Ok(std::fs::read_to_string(&header)?)
            })
            .unwrap();
            assert_eq!(files, BTreeSet::from([header.clone()]));
            v
        };
        assert_eq!(probe(&key), "1");
        assert_eq!(probe(&key), "1");
        // A file the probe read changed (size): probed again.
        std::fs::write(&header, "22").unwrap();
        assert_eq!(probe(&key), "22");
        // Another key (another compiler, say): probed again.
        key.add("compiler", "another");
        assert_eq!(probe(&key), "22");
        assert_eq!(probe(&key), "22");
        assert_eq!(runs, 3);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

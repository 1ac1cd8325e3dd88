//! Helpers of the `sendmail-certs` tests (certs.rs, certs_faults.rs).

use crate::sha256_of;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

/// The Debian `sendmail-certs`, filled from its template, written into `dir`.
pub fn script(dir: &Path) -> PathBuf {
    let path = dir.join("sendmail-certs");
    let text = xtask::stage::certs_script(xtask::stage::Target::Debian).expect("filling the template");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// The exit code, or -1 when killed by a signal.
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// Every path under `dir` with its mode, owner and content hash (links not
/// followed): what a refusal must leave unchanged.
pub fn snapshot(dir: &Path) -> Vec<String> {
    fn go(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            let m = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let what = if m.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&p).unwrap().display())
            } else if m.is_dir() {
                "dir".to_string()
            } else {
                format!("sha256 {}", sha256_of(&p))
            };
            out.push(format!("{rel} {:o} {}:{} {what}", m.mode(), m.uid(), m.gid()));
            if m.is_dir() {
                go(root, &p, out);
            }
        }
    }
    let mut out = vec![];
    go(dir, dir, &mut out);
    out
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

//! stamp: what each step was last run from, so `dist` can skip a step whose
//! inputs have not changed and whose outputs are still there.
//!
//! A step describes its inputs as named values (`Inputs`): short text, or a
//! digest of something long (a file's content, a list of file identities).
//! After a successful run the step records them in
//! `<work>/stamps/<step>.json`; before running it forgets the old stamp, so a
//! failed or interrupted run is never mistaken for a finished one. `dist`
//! compares the inputs it computes now with the recorded ones and says which
//! changed. Any step (package, smoke, ...) can take part: it needs a name, a
//! function that computes its inputs cheaply, and its outputs.

use crate::digest::hex;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The values a step's output depends on, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Inputs {
    pub step: String,
    pub values: BTreeMap<String, String>,
}

impl Inputs {
    pub(crate) fn new(step: &str) -> Inputs {
        let mut i = Inputs { step: step.to_string(), values: BTreeMap::new() };
        i.add("toolkit", toolkit_version());
        i
    }

    /// A short value, kept as text so a change can be shown.
    pub(crate) fn add(&mut self, name: &str, value: impl Into<String>) -> &mut Inputs {
        self.values.insert(name.to_string(), value.into());
        self
    }

    /// A long value, kept as its SHA-256.
    pub(crate) fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> &mut Inputs {
        self.add(name, format!("sha256:{}", hex(&Sha256::digest(bytes))))
    }

    /// A file's content (its SHA-256), or "missing".
    pub(crate) fn add_file_content(&mut self, name: &str, path: &Path) -> &mut Inputs {
        match std::fs::read(path) {
            Ok(bytes) => self.add_bytes(name, &bytes),
            Err(_) => self.add(name, "missing"),
        }
    }

    /// A file's identity without reading it: path, size and modification
    /// time (after symbolic links), or "missing".
    pub(crate) fn add_file_identity(&mut self, name: &str, path: &Path) -> &mut Inputs {
        self.add(name, identity(path))
    }

    /// One digest of everything: what a later step keys on.
    pub(crate) fn digest(&self) -> String {
        let mut h = Sha256::new();
        for (k, v) in &self.values {
            h.update(k.as_bytes());
            h.update(b"\0");
            h.update(v.as_bytes());
            h.update(b"\n");
        }
        hex(&h.finalize())
    }
}

/// `path size mtime` of a file after symbolic links, or `path missing`.
pub(crate) fn identity(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => format!("{} size={} mtime={}.{:09}", path.display(), m.size(), m.mtime(), m.mtime_nsec()),
        Err(_) => format!("{} missing", path.display()),
    }
}

/// The environment variable naming the compiler a timing wrapper first on
/// PATH as `cc` runs (`bench` sets it): stamps key on that compiler, not on
/// the wrapper.
pub(crate) const TIMED_CC_VAR: &str = "SMTLS_TIMED_CC";

/// The identity of a command on PATH (e.g. `cc`), its symbolic links
/// resolved: a new or upgraded compiler is a new identity. Under `bench`,
/// whose timing wrapper is first on PATH as `cc`, it is the compiler the
/// wrapper runs.
pub(crate) fn command_identity(name: &str) -> String {
    if name == "cc" {
        if let Some(real) = std::env::var_os(TIMED_CC_VAR).filter(|v| !v.is_empty()) {
            let real = PathBuf::from(real);
            return identity(&std::fs::canonicalize(&real).unwrap_or(real));
        }
    }
    match which::which(name) {
        Ok(p) => identity(&std::fs::canonicalize(&p).unwrap_or(p)),
        Err(_) => format!("{name} not found on PATH"),
    }
}

/// The toolkit's own version: the crate version and a digest of its sources
/// (computed by build.rs), so a changed toolkit redoes every step.
pub(crate) fn toolkit_version() -> String {
    format!("{}+{}", env!("CARGO_PKG_VERSION"), env!("SMTLS_TOOLKIT_HASH"))
}

/// What was recorded after the step last succeeded.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Stamp {
    pub inputs: Inputs,
    pub digest: String,
    /// A line for the user when the step is skipped, e.g. the verify summary.
    pub(crate) note: String,
}

pub(crate) fn stamps_dir(work_dir: &Path) -> PathBuf {
    work_dir.join("stamps")
}

fn path(work_dir: &Path, step: &str) -> PathBuf {
    stamps_dir(work_dir).join(format!("{step}.json"))
}

pub(crate) fn load(work_dir: &Path, step: &str) -> Option<Stamp> {
    let text = std::fs::read_to_string(path(work_dir, step)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Records a successful run of `inputs.step`.
pub(crate) fn record(work_dir: &Path, inputs: &Inputs, note: &str) -> Result<()> {
    let stamp = Stamp { inputs: inputs.clone(), digest: inputs.digest(), note: note.to_string() };
    let p = path(work_dir, &inputs.step);
    crate::util::write_atomic(&p, serde_json::to_string_pretty(&stamp)?.as_bytes())
        .with_context(|| format!("recording the {} stamp", inputs.step))
}

/// Forgets a step's stamp: called before the step changes its outputs.
pub(crate) fn forget(work_dir: &Path, step: &str) -> Result<()> {
    match std::fs::remove_file(path(work_dir, step)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing the {step} stamp"))
        }
        _ => Ok(()),
    }
}

/// Whether a step can be skipped, and if not, why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Inputs unchanged and outputs present; the recorded note.
    Fresh(String),
    /// What changed, one reason per entry.
    Stale(Vec<String>),
}

/// Compares the inputs now with the recorded stamp and checks the outputs.
pub(crate) fn check(work_dir: &Path, inputs: &Inputs, outputs: &[PathBuf]) -> Verdict {
    let Some(stamp) = load(work_dir, &inputs.step) else {
        return Verdict::Stale(vec!["no record of a finished run".into()]);
    };
    let mut reasons = changes(&stamp.inputs, inputs);
    for o in outputs {
        if !o.exists() {
            reasons.push(format!("{} is missing", o.display()));
        }
    }
    if reasons.is_empty() {
        Verdict::Fresh(stamp.note)
    } else {
        Verdict::Stale(reasons)
    }
}

/// The inputs that differ, as "NAME changed (OLD -> NEW)" when both are
/// short enough to read, else "NAME changed".
pub(crate) fn changes(old: &Inputs, new: &Inputs) -> Vec<String> {
    let mut out = vec![];
    for (k, v) in &new.values {
        match old.values.get(k) {
            None => out.push(format!("{k} is a new input")),
            Some(o) if o == v => {}
            Some(o) => out.push(describe_change(k, o, v)),
        }
    }
    for k in old.values.keys() {
        if !new.values.contains_key(k) {
            out.push(format!("{k} is no longer an input"));
        }
    }
    out
}

fn describe_change(name: &str, old: &str, new: &str) -> String {
    let shown = |s: &str| s.len() <= 100 && !s.starts_with("sha256:");
    if shown(old) && shown(new) {
        format!("{name} changed ({old} -> {new})")
    } else {
        format!("{name} changed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("smtls-stamp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn records_checks_and_explains() {
        let dir = scratch("explain");
        let out = dir.join("out");
        std::fs::write(&out, "x").unwrap();
        let outs = vec![out.clone()];
        let mut a = Inputs::new("build");
        a.add("compiler", "gcc 12").add_bytes("site.config.m4", b"dnl one\n");
        assert_eq!(check(&dir, &a, &outs), Verdict::Stale(vec!["no record of a finished run".into()]));
        record(&dir, &a, "built").unwrap();
        assert_eq!(check(&dir, &a, &outs), Verdict::Fresh("built".into()));

        let mut b = a.clone();
        b.add("compiler", "gcc 13").add_bytes("site.config.m4", b"dnl two\n").add("openssl", "3.0");
        let Verdict::Stale(why) = check(&dir, &b, &outs) else { panic!("stale expected") };
        assert_eq!(why, ["compiler changed (gcc 12 -> gcc 13)", "openssl is a new input", "site.config.m4 changed"],);
        assert_ne!(a.digest(), b.digest());

        std::fs::remove_file(&out).unwrap();
        let Verdict::Stale(why) = check(&dir, &a, &outs) else { panic!("stale expected") };
        assert_eq!(why, [format!("{} is missing", out.display())]);

        forget(&dir, "build").unwrap();
        forget(&dir, "build").unwrap();
        assert!(load(&dir, "build").is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn identities_follow_content_changes_without_reading() {
        let dir = scratch("identity");
        let f = dir.join("ssl.h");
        assert!(identity(&f).ends_with("missing"));
        std::fs::write(&f, "a").unwrap();
        let one = identity(&f);
        std::fs::write(&f, "ab").unwrap();
        assert_ne!(one, identity(&f));
        let mut i = Inputs::new("configure");
        i.add_file_identity("header", &f).add_file_content("text", &f);
        assert!(i.values["text"].starts_with("sha256:"));
        assert!(i.values["toolkit"].starts_with(env!("CARGO_PKG_VERSION")));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

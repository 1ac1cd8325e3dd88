// Records the target triple so the OpenSSL probe can drive the `cc` crate
// outside a build script, and a digest of the toolkit's own sources (the
// Rust code and the release table compiled into it) so that stamps made by
// one toolkit are not trusted by another (see src/stamp.rs).
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    println!("cargo:rustc-env=SMTLS_TARGET={target}");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = vec![manifest.join("Cargo.toml"), manifest.join("build.rs"), manifest.join("../releases.toml")];
    collect(&manifest.join("src"), &mut files);
    files.sort();
    let mut h = Sha256::new();
    for f in &files {
        let rel = f.strip_prefix(&manifest).unwrap_or(f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update(b"\0");
        h.update(std::fs::read(f).unwrap_or_default());
        h.update(b"\0");
    }
    let digest: String = h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    println!("cargo:rustc-env=SMTLS_TOOLKIT_HASH={digest}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=../releases.toml");
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

//! Depends: what the staged ELF files need, as `dpkg-shlibdeps` computes
//! it from the libraries' symbols files (the lowest version that has every
//! symbol used, so a package built on an up-to-date host installs on a
//! plain release); without dpkg-shlibdeps, the shlibs file of the package
//! owning each library, or a built-in table. Plus what the scripts and the
//! documented commands run.

use crate::{proc, stage::Contents, stage::Kind};
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Packages the maintainer scripts and the documented commands need:
/// adduser (smmsp), m4 (rebuilding the .cf as the .mc header says),
/// netbase (/etc/services: the .mc's commented listeners name services, as
/// Debian's sendmail-base depends on it) and openssl (`openssl rehash
/// /etc/mail/certs`, as postinst says).
pub(crate) const TOOLS: &[&str] = &["adduser", "m4", "netbase", "openssl"];

/// Pre-Depends: the scripts call `invoke-rc.d --skip-systemd-native`,
/// which init-system-helpers has since 1.54 (and deb-systemd-helper,
/// update-rc.d); prerm may run before Depends are configured.
pub(crate) const PRE_DEPENDS: &[&str] = &["init-system-helpers (>= 1.54~)"];

/// Splits a soname the way Debian's shlibs files key it:
/// `libssl.so.3` -> (libssl, 3), `libdb-5.3.so` -> (libdb, 5.3).
pub(crate) fn shlibs_key(soname: &str) -> Option<(String, String)> {
    if let Some((name, ver)) = soname.split_once(".so.") {
        return Some((name.to_string(), ver.to_string()));
    }
    let stem = soname.strip_suffix(".so")?;
    let (name, ver) = stem.rsplit_once('-')?;
    Some((name.to_string(), ver.to_string()))
}

/// Finds the dependency for (name, version) in a shlibs file's text.
pub(crate) fn from_shlibs(text: &str, name: &str, version: &str) -> Option<String> {
    text.lines().filter(|l| !l.starts_with("udeb:") && !l.trim_start().starts_with('#')).find_map(|l| {
        let mut w = l.splitn(3, char::is_whitespace);
        match (w.next(), w.next(), w.next()) {
            (Some(n), Some(v), Some(dep)) if n == name && v == version => Some(dep.trim().to_string()),
            _ => None,
        }
    })
}

/// Used when dpkg is not installed (building on another system): the
/// packages of Debian 12 that provide the libraries sendmail links.
pub(crate) const BUILTIN: &[(&str, &str)] = &[
    ("libc.so.6", "libc6 (>= 2.36)"),
    ("libresolv.so.2", "libc6 (>= 2.36)"),
    ("libcrypto.so.3", "libssl3 (>= 3.0.0)"),
    ("libssl.so.3", "libssl3 (>= 3.0.0)"),
    ("libdb-5.3.so", "libdb5.3"),
];

/// Where the dynamic linker finds `soname`, from `ldconfig -p`'s output.
pub(crate) fn from_ldconfig(text: &str, soname: &str) -> Option<PathBuf> {
    text.lines().find_map(|l| {
        let (left, path) = l.split_once("=>")?;
        (left.split_whitespace().next()? == soname).then(|| PathBuf::from(path.trim()))
    })
}

fn run_text(cmd: &str, args: &[&str]) -> Option<String> {
    proc::probe(Command::new(cmd).args(args))
}

/// The package that owns a library file; tries the /usr-merged aliases too.
fn dpkg_owner(path: &Path) -> Option<String> {
    let mut candidates = vec![path.to_path_buf()];
    if let Ok(real) = std::fs::canonicalize(path) {
        candidates.push(real);
    }
    for c in candidates.clone() {
        if let Ok(rest) = c.strip_prefix("/usr") {
            candidates.push(Path::new("/").join(rest));
        } else {
            candidates.push(Path::new("/usr").join(c.strip_prefix("/").unwrap_or(&c)));
        }
    }
    candidates.iter().find_map(|c| {
        let text = run_text("dpkg", &["-S", &c.to_string_lossy()])?;
        let line = text.lines().next()?;
        Some(line.split_once(':')?.0.to_string())
    })
}

/// The Depends entry for one NEEDED soname: with dpkg, from the shlibs file
/// of the package that owns the library (what dpkg-shlibdeps uses when no
/// symbols file applies); otherwise from [`BUILTIN`].
pub(crate) fn library_dependency(soname: &str, ldconfig: Option<&str>) -> Result<String> {
    let dpkg = which::which("dpkg-query").is_ok();
    if dpkg {
        if let Some(path) = ldconfig.and_then(|t| from_ldconfig(t, soname)) {
            if let Some(pkg) = dpkg_owner(&path) {
                let bare = pkg.split(':').next().unwrap_or(&pkg).to_string();
                let shlibs = run_text("dpkg-query", &["--control-path", &pkg, "shlibs"])
                    .and_then(|p| std::fs::read_to_string(p.trim()).ok());
                if let (Some(text), Some((n, v))) = (shlibs, shlibs_key(soname)) {
                    if let Some(dep) = from_shlibs(&text, &n, &v) {
                        return Ok(dep);
                    }
                }
                return Ok(bare);
            }
        }
    }
    BUILTIN.iter().find(|(s, _)| *s == soname).map(|(_, d)| d.to_string()).with_context(|| {
        format!(
            "cannot tell which Debian package provides {soname}: {}; add it to package::deb::shlibdeps::BUILTIN",
            if dpkg { "neither ldconfig -p nor dpkg -S knows it" } else { "dpkg is not installed" }
        )
    })
}

/// The staged ELF files (install path, bytes).
fn elf_files(contents: &Contents, root: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut out = vec![];
    for e in &contents.entries {
        if let Kind::File { .. } = e.kind {
            let p = e.staged(root);
            let bytes = std::fs::read(&p).with_context(|| format!("reading staged {}", p.display()))?;
            if bytes.starts_with(b"\x7fELF") {
                out.push((e.path.clone(), bytes));
            }
        }
    }
    Ok(out)
}

/// Parses `dpkg-shlibdeps -O`'s `shlibs:Depends=a, b (>= 1)` line.
pub(crate) fn parse_shlibdeps(out: &str) -> Option<Vec<String>> {
    let line = out.lines().find_map(|l| l.strip_prefix("shlibs:Depends="))?;
    Some(line.split(',').map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect())
}

/// `dpkg-shlibdeps` as dh_shlibdeps runs it: the ELF files under
/// `debian/PACKAGE/` of a scratch directory with a minimal debian/control.
pub(crate) fn from_dpkg_shlibdeps(contents: &Contents, root: &Path, scratch: &Path) -> Result<Vec<String>> {
    let _ = std::fs::remove_dir_all(scratch);
    let pkg_dir = scratch.join("debian").join(crate::meta::PACKAGE_NAME);
    std::fs::create_dir_all(&pkg_dir).with_context(|| format!("creating {}", pkg_dir.display()))?;
    std::fs::write(
        scratch.join("debian/control"),
        format!("Source: {0}\n\nPackage: {0}\nArchitecture: any\n", crate::meta::PACKAGE_NAME),
    )?;
    let mut args = vec!["-O".to_string()];
    for (path, bytes) in elf_files(contents, root)? {
        let rel = path.strip_prefix("/").unwrap_or(&path);
        let dest = pkg_dir.join(rel);
        std::fs::create_dir_all(dest.parent().context("no parent")?)?;
        std::fs::write(&dest, bytes)?;
        args.push(format!("-edebian/{}/{}", crate::meta::PACKAGE_NAME, rel.display()));
    }
    let out = proc::capture(Command::new("dpkg-shlibdeps").args(&args).current_dir(scratch))?;
    let _ = std::fs::remove_dir_all(scratch);
    let stdout = String::from_utf8_lossy(&out.stdout);
    match parse_shlibdeps(&stdout) {
        Some(deps) if out.status.success() => Ok(deps),
        _ => bail!("dpkg-shlibdeps failed ({}):\n{}{}", out.status, stdout, String::from_utf8_lossy(&out.stderr)),
    }
}

/// Without dpkg-shlibdeps: one entry per package that provides a library
/// in the DT_NEEDED of a staged ELF file.
pub(crate) fn from_needed(contents: &Contents, root: &Path) -> Result<Vec<String>> {
    let mut needed = BTreeSet::new();
    for (path, bytes) in elf_files(contents, root)? {
        let elf = goblin::elf::Elf::parse(&bytes).with_context(|| format!("parsing {}", path.display()))?;
        needed.extend(elf.libraries.iter().map(|s| s.to_string()));
    }
    for lib in bundled(contents) {
        needed.remove(&lib);
    }
    let ldconfig = ["ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"].iter().find_map(|c| run_text(c, &["-p"]));
    let mut deps = vec![];
    for soname in &needed {
        deps.push(library_dependency(soname, ldconfig.as_deref())?);
    }
    Ok(deps)
}

/// Shared libraries the package carries itself (a bundled OpenSSL): no
/// dependency, and dpkg-shlibdeps would find no shlibs for them, so such
/// a package takes the fallback.
fn bundled(contents: &Contents) -> Vec<String> {
    contents
        .entries
        .iter()
        .filter(|e| matches!(e.kind, Kind::File { .. }))
        .filter_map(|e| e.path.file_name().and_then(|n| n.to_str()).map(str::to_string))
        .filter(|n| n.contains(".so"))
        .collect()
}

/// Depends: [`TOOLS`] plus the libraries', each package once, sorted.
/// `root` is the staged tree; `scratch` is a private directory
/// dpkg-shlibdeps may use.
pub(crate) fn depends(contents: &Contents, root: &Path, scratch: &Path) -> Result<Vec<String>> {
    let libs = if which::which("dpkg-shlibdeps").is_ok() && bundled(contents).is_empty() {
        from_dpkg_shlibdeps(contents, root, scratch)?
    } else {
        from_needed(contents, root)?
    };
    let mut deps: BTreeSet<String> = TOOLS.iter().map(|s| s.to_string()).collect();
    deps.extend(libs);
    Ok(deps.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shlibs_keys_and_lookup() {
        assert_eq!(shlibs_key("libssl.so.3"), Some(("libssl".into(), "3".into())));
        assert_eq!(shlibs_key("libdb-5.3.so"), Some(("libdb".into(), "5.3".into())));
        assert_eq!(shlibs_key("libc.so.6"), Some(("libc".into(), "6".into())));
        assert_eq!(shlibs_key("weird"), None);
        let text =
            "libcrypto 3 libssl3 (>= 3.0.19)\nlibssl 3 libssl3 (>= 3.0.19)\nudeb: libssl 3 libssl3-udeb (>= 3.0.19)\n";
        assert_eq!(from_shlibs(text, "libssl", "3").as_deref(), Some("libssl3 (>= 3.0.19)"));
        assert_eq!(from_shlibs("libdb 5.3 libdb5.3\n", "libdb", "5.3").as_deref(), Some("libdb5.3"));
        assert_eq!(from_shlibs(text, "libssl", "1.1"), None);
    }

    #[test]
    fn ldconfig_lookup() {
        let t = "1234 libs found in cache `/etc/ld.so.cache'\n\tlibssl.so.3 (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so.3\n\tlibssl.so (libc6,x86-64) => /lib/x86_64-linux-gnu/libssl.so\n";
        assert_eq!(from_ldconfig(t, "libssl.so.3"), Some(PathBuf::from("/lib/x86_64-linux-gnu/libssl.so.3")));
        assert_eq!(from_ldconfig(t, "libssl.so.1"), None);
    }

    #[test]
    fn shlibdeps_output() {
        let out = "shlibs:Depends=libc6 (>= 2.34), libssl3 (>= 3.0.0)\n";
        assert_eq!(parse_shlibdeps(out).unwrap(), ["libc6 (>= 2.34)", "libssl3 (>= 3.0.0)"]);
        assert_eq!(parse_shlibdeps("warning only\n"), None);
    }
}

//! A private OpenSSL (`--openssl-prefix`) in a .deb: no Debian package
//! provides it, so either the package carries those libraries in a private
//! directory, `/usr/lib/<multiarch>/smtls-sendmail/`, with the staged
//! binaries' RUNPATH pointing there (`--bundle-openssl`), or packaging
//! refuses and names the choices.

use super::Format;
use crate::stage::{Contents, Entry, Kind, Origin};
use crate::{configure::Configuration, tools};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The private library directory of the Debian package.
pub(crate) fn private_dir(multiarch: &str) -> PathBuf {
    Path::new("/usr/lib").join(multiarch).join(crate::meta::PACKAGE_NAME)
}

/// Refuses a .deb of a build against a private OpenSSL unless bundling was
/// asked for, and bundling without a private OpenSSL.
pub(crate) fn check(config: &Configuration, formats: &[Format], bundle: bool) -> Result<()> {
    check_choice(config.openssl.prefix.as_deref(), formats, bundle)
}

/// [`check`] from the arguments alone, so `dist` refuses before building.
pub(crate) fn check_choice(prefix: Option<&Path>, formats: &[Format], bundle: bool) -> Result<()> {
    match (prefix, formats.contains(&Format::Deb), bundle) {
        (Some(prefix), true, false) => bail!(
            "this sendmail links the OpenSSL in {}, which no Debian package provides, so a .deb of it would not \
             run elsewhere: pass --bundle-openssl to carry those libraries in the package (in /usr/lib/<multiarch>/smtls-sendmail, \
             with a run path to them), or --format tar to package for this machine only, or build against the system's \
             OpenSSL (without --openssl-prefix)",
            prefix.display()
        ),
        (None, _, true) => {
            bail!("--bundle-openssl bundles a private OpenSSL, but this build uses the system's: drop it, or configure with --openssl-prefix DIR")
        }
        _ => Ok(()),
    }
}

/// What a staged ELF file says: the OpenSSL sonames it needs, and whether
/// its run path names the prefix's library directory.
fn inspect(bytes: &[u8], lib_dir: &str) -> Option<(Vec<String>, bool)> {
    let elf = goblin::elf::Elf::parse(bytes).ok()?;
    let needed = elf
        .libraries
        .iter()
        .filter(|l| l.starts_with("libssl.so") || l.starts_with("libcrypto.so"))
        .map(|s| s.to_string())
        .collect();
    let names_prefix = elf.runpaths.iter().chain(&elf.rpaths).flat_map(|p| p.split(':')).any(|p| p == lib_dir);
    Some((needed, names_prefix))
}

/// Copies the OpenSSL libraries the staged binaries need from `lib_dir`
/// into the private directory of the staged tree and adds them to the
/// contents. Every staged ELF file that needs them (and the libraries
/// themselves) gets a RUNPATH to that directory; any other whose run path
/// named the prefix (the Makefiles give every program the same LIBDIRS)
/// loses it. Only the staged copies change.
pub(crate) fn bundle(root: &Path, contents: &mut Contents, lib_dir: &Path, private: &Path) -> Result<Vec<PathBuf>> {
    let patchelf = tools::find(&tools::PATCHELF)?;
    let lib_text = lib_dir.display().to_string();
    let mut sonames = std::collections::BTreeSet::new();
    let mut users = vec![];
    let mut strays = vec![];
    for e in &contents.entries {
        if let Kind::File { .. } = e.kind {
            let staged = e.staged(root);
            let bytes = std::fs::read(&staged).with_context(|| format!("reading {}", staged.display()))?;
            match inspect(&bytes, &lib_text) {
                Some((needed, _)) if !needed.is_empty() => {
                    users.push(staged);
                    sonames.extend(needed);
                }
                Some((_, true)) => strays.push(staged),
                _ => {}
            }
        }
    }
    if sonames.is_empty() {
        bail!("--bundle-openssl: no staged program needs libssl or libcrypto");
    }
    let rel = private.strip_prefix("/").unwrap_or(private);
    std::fs::create_dir_all(root.join(rel))?;
    let mut added = vec![];
    for soname in &sonames {
        let from = std::fs::canonicalize(lib_dir.join(soname))
            .with_context(|| format!("--bundle-openssl: {} is not in {}", soname, lib_dir.display()))?;
        let path = private.join(soname);
        let staged = root.join(rel).join(soname);
        std::fs::copy(&from, &staged).with_context(|| format!("copying {} into the package", from.display()))?;
        contents.entries.push(Entry {
            path: path.clone(),
            kind: Kind::File { source: from },
            owner: "root".into(),
            group: "root".into(),
            mode: 0o644,
            option: None,
            origin: Origin::Bundled,
        });
        users.push(staged);
        added.push(path);
    }
    for dir in private.ancestors().take_while(|d| *d != Path::new("/") && *d != Path::new("/usr")) {
        if !contents.entries.iter().any(|e| e.path == dir) {
            contents.entries.push(Entry {
                path: dir.to_path_buf(),
                kind: Kind::Dir,
                owner: "root".into(),
                group: "root".into(),
                mode: 0o755,
                option: None,
                origin: Origin::Dir,
            });
        }
    }
    contents.entries.sort_by(|a, b| a.path.cmp(&b.path));
    let run = |args: &[&std::ffi::OsStr], file: &Path| -> Result<()> {
        crate::proc::output(Command::new(&patchelf).args(args).arg(file))?;
        Ok(())
    };
    for file in &users {
        run(&["--set-rpath".as_ref(), private.as_os_str()], file)?;
    }
    for file in &strays {
        run(&["--remove-rpath".as_ref()], file)?;
    }
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configure::probe::OpenSsl;

    fn config(prefix: Option<&str>) -> Configuration {
        let openssl = OpenSsl {
            text: "OpenSSL 1.1.1w  11 Sep 2023".into(),
            compiled: 0x1010_117f,
            linked: 0x1010_117f,
            ec: true,
            prefix: prefix.map(PathBuf::from),
        };
        Configuration {
            version: "8.18.2".into(),
            source_sha256: String::new(),
            request: Default::default(),
            defines: vec![],
            openssl,
            berkeley_db: None,
            options: vec![],
            options_off: vec![],
            fragments: vec![],
            site_config_sha256: String::new(),
            probed_files: vec![],
            hardening: None,
        }
    }

    #[test]
    fn a_private_openssl_needs_a_choice_for_a_deb() {
        let e = check(&config(Some("/opt/ssl")), &[Format::Deb], false).unwrap_err().to_string();
        assert!(e.contains("--bundle-openssl") && e.contains("--format tar") && e.contains("/opt/ssl"), "{e}");
        assert!(!e.contains("package::"), "no pointer into the source: {e}");
        assert!(check(&config(Some("/opt/ssl")), &[Format::Deb], true).is_ok());
        assert!(check(&config(Some("/opt/ssl")), &[Format::Tar], false).is_ok());
        assert!(check(&config(None), &[Format::Deb], false).is_ok());
        assert!(check(&config(None), &[Format::Deb], true).unwrap_err().to_string().contains("--openssl-prefix"));
        assert_eq!(private_dir("x86_64-linux-gnu"), Path::new("/usr/lib/x86_64-linux-gnu/smtls-sendmail"));
    }
}

//! The certificate helper `sendmail-certs`: where it is installed and its
//! text, its template filled with the names the packaged TLS stanza uses.

use super::Target;
use crate::template;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The certificate helper's name, its template being `<name>.in`.
pub const CERTS_SCRIPT: &str = "sendmail-certs";

/// Where the certificate helper is installed: PREFIX/sbin.
pub fn certs_script_path(target: Target) -> PathBuf {
    Path::new(target.prefix()).join("sbin").join(CERTS_SCRIPT)
}

/// dehydrated's hook (it runs its HOOK as one file): a two-line script
/// that hands every event to `sendmail-certs acme-hook`.
pub const CERTS_HOOK: &str = "sendmail-certs-hook";

/// Where the hook is installed: beside the programs only other programs
/// run (Debian /usr/libexec/sendmail, FreeBSD PREFIX/libexec), since only
/// the ACME client runs it.
pub fn certs_hook_path(target: Target) -> PathBuf {
    Path::new(target.libexec()).join(CERTS_HOOK)
}

/// The hook's text: its template with the path of the helper.
pub fn certs_hook(target: Target) -> Result<String> {
    let vars = BTreeMap::from([
        ("TARGET", target.name().to_string()),
        ("CERTS_SCRIPT", certs_script_path(target).display().to_string()),
    ]);
    template::render(&format!("{CERTS_HOOK}.in"), &vars)
}

/// The TLS files the packaged sendmail.mc names, as its stanza
/// (`tls-server.mc`) defines them: the certificate directory and the names
/// of the files in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub dir: PathBuf,
    pub ca: String,
    pub cert: String,
    pub key: String,
    pub dh: String,
}

/// Reads [`TlsFiles`] from a stanza's `define(`NAME', `VALUE')dnl` lines;
/// every file must be in the `confCACERT_PATH` directory.
pub fn tls_files(stanza: &str) -> Result<TlsFiles> {
    let value = |name: &str| -> Result<String> {
        let head = format!("define(`{name}', `");
        stanza
            .lines()
            .find_map(|l| l.strip_prefix(&head)?.strip_suffix("')dnl"))
            .map(str::to_string)
            .with_context(|| format!("the TLS stanza defines no {name}"))
    };
    let dir = PathBuf::from(value("confCACERT_PATH")?);
    let in_dir = |name: &str| -> Result<String> {
        let v = value(name)?;
        match Path::new(&v).strip_prefix(&dir).ok().and_then(|r| r.to_str()) {
            Some(file) if !file.is_empty() && !file.contains('/') => Ok(file.to_string()),
            _ => bail!("{name} is {v}, not a file directly in confCACERT_PATH {}", dir.display()),
        }
    };
    let files = TlsFiles {
        ca: in_dir("confCACERT")?,
        cert: in_dir("confSERVER_CERT")?,
        key: in_dir("confSERVER_KEY")?,
        dh: in_dir("confDH_PARAMETERS")?,
        dir: dir.clone(),
    };
    for (client, server) in [("confCLIENT_CERT", &files.cert), ("confCLIENT_KEY", &files.key)] {
        if &in_dir(client)? != server {
            bail!("{client} names another file than the server's {server}: sendmail-certs installs one pair");
        }
    }
    Ok(files)
}

/// The `sendmail-certs` script for `target`: its template with the file
/// names and directory of the packaged TLS stanza, the stanza itself (for
/// `sendmail-certs mc`), the sendmail.cf path and the RFC 7919 ffdhe2048
/// group from `ffdhe2048.pem`.
pub fn certs_script(target: Target) -> Result<String> {
    template::render(&format!("{CERTS_SCRIPT}.in"), &certs_vars(target)?)
}

/// Its manual page, `sendmail-certs.8` (uncompressed), filled the same way.
pub fn certs_man_page(target: Target) -> Result<String> {
    template::render(&format!("{CERTS_SCRIPT}.8.in"), &certs_vars(target)?)
}

/// Where the manual page is installed (compressed).
pub fn certs_man_path(target: Target) -> PathBuf {
    target.man_dir().join("man8").join(format!("{CERTS_SCRIPT}.8.gz"))
}

fn certs_vars(target: Target) -> Result<BTreeMap<&'static str, String>> {
    let stanza = template::render("tls-server.mc", &BTreeMap::new())?;
    let files = tls_files(&stanza)?;
    let ffdhe = template::render("ffdhe2048.pem", &BTreeMap::new())?;
    let vars = BTreeMap::from([
        ("TARGET", target.name().to_string()),
        ("CERT_DIR", files.dir.display().to_string()),
        ("CERT_FILE", files.cert),
        ("KEY_FILE", files.key),
        ("CA_FILE", files.ca),
        ("DH_FILE", files.dh),
        ("SENDMAIL_CF", Path::new("/etc/mail").join("sendmail.cf").display().to_string()),
        ("CERTS_HOOK", certs_hook_path(target).display().to_string()),
        ("FFDHE2048", ffdhe.trim_end().to_string()),
        ("TLS_STANZA", stanza.trim_end().to_string()),
    ]);
    for (name, value) in &vars {
        if value.contains('\'') && !matches!(*name, "TLS_STANZA" | "FFDHE2048") {
            bail!("@{name}@ = {value:?} cannot go inside the script's single quotes");
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::Features;

    #[test]
    fn the_certs_script_is_filled_from_the_packaged_stanza() {
        let stanza = template::render("tls-server.mc", &BTreeMap::new()).unwrap();
        let files = tls_files(&stanza).unwrap();
        assert_eq!(files.dir, Path::new("/etc/mail/certs"));
        assert_eq!(
            [files.cert.as_str(), files.key.as_str(), files.ca.as_str(), files.dh.as_str()],
            ["host.cert", "host.key", "cacert.pem", "dhparams.pem"]
        );
        for t in [Target::Debian, Target::FreeBsd] {
            let s = certs_script(t).unwrap();
            assert!(s.starts_with("#!/bin/sh\n"), "{s}");
            assert!(s.contains("DEFAULT_DIR='/etc/mail/certs'\nCERT_NAME='host.cert'\n"), "{s}");
            assert!(s.contains("SENDMAIL_CF='/etc/mail/sendmail.cf'"));
            assert!(s.contains(stanza.trim_end()) && s.contains("-----BEGIN DH PARAMETERS-----"));
            assert!(!s.lines().any(|l| l.contains("@CERT_") || l.contains("@TLS_STANZA@")), "placeholders left");
            assert!(s.contains(&format!("for {}.", t.name())));
        }
        assert_eq!(certs_script_path(Target::Debian), Path::new("/usr/sbin/sendmail-certs"));
        assert_eq!(certs_script_path(Target::FreeBsd), Path::new("/usr/local/sbin/sendmail-certs"));
        let sample =
            |t| super::super::list(t, Path::new("/src"), Path::new("/gen"), &[], &Features::default()).unwrap();
        let d = sample(Target::Debian);
        let e = d.get("/usr/sbin/sendmail-certs").unwrap();
        assert_eq!((e.mode, e.source()), (0o755, Some(Path::new("/gen/usr/sbin/sendmail-certs"))));
        assert_eq!(sample(Target::FreeBsd).get("/usr/local/sbin/sendmail-certs").unwrap().mode, 0o555);
        let m = d.get("/usr/share/man/man8/sendmail-certs.8.gz").unwrap();
        assert_eq!((m.mode, &m.origin), (0o644, &crate::stage::Origin::CertsManPage));
        let hook = d.get("/usr/libexec/sendmail/sendmail-certs-hook").unwrap();
        assert_eq!((hook.mode, &hook.origin), (0o755, &crate::stage::Origin::CertsHook));
        assert_eq!(sample(Target::FreeBsd).get("/usr/local/libexec/sendmail-certs-hook").unwrap().mode, 0o555);
        let text = certs_hook(Target::FreeBsd).unwrap();
        assert!(text.starts_with("#!/bin/sh\n"), "{text}");
        assert!(text.ends_with("exec '/usr/local/sbin/sendmail-certs' acme-hook \"$@\"\n"), "{text}");
        let page = certs_man_page(Target::FreeBsd).unwrap();
        assert!(page.starts_with(".TH SENDMAIL-CERTS 8 ") && page.contains(".IR /etc/mail/certs :"), "{page}");
    }

    #[test]
    fn tls_files_refuses_a_stanza_it_cannot_serve() {
        let good = template::render("tls-server.mc", &BTreeMap::new()).unwrap();
        let moved = good.replace("`/etc/mail/certs/host.key'", "`/etc/ssl/private/host.key'");
        assert!(tls_files(&moved).unwrap_err().to_string().contains("not a file directly in confCACERT_PATH"));
        let split =
            good.replace("confCLIENT_CERT', `/etc/mail/certs/host.cert'", "confCLIENT_CERT', `/etc/mail/certs/c.pem'");
        assert!(tls_files(&split).unwrap_err().to_string().contains("sendmail-certs installs one pair"));
        let none = good.lines().filter(|l| !l.contains("confDH_PARAMETERS")).collect::<Vec<_>>().join("\n");
        assert!(tls_files(&none).unwrap_err().to_string().contains("defines no confDH_PARAMETERS"));
    }
}

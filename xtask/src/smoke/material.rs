//! The certificate material checked before sendmail starts, with sendmail's
//! own rules (libsmutil/safefile.c, sendmail/tls.c): no group- or
//! world-writable directory on the path, no group- or world-writable file,
//! a private key readable by its owner only. sendmail merely logs a
//! violation and then serves without STARTTLS; here it is an error that
//! names the file and the fix.

use super::pki::{self, Layout};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What a path is for, which decides the rules it must follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A directory above the certificate directory.
    Parent,
    CertDir,
    PrivateKey,
    /// Certificates and DH parameters: public, but nobody else may change them.
    PublicFile,
}

/// What `stat` said about one path (None: it does not exist).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Facts {
    pub path: PathBuf,
    pub(crate) role: Role,
    pub stat: Option<Stat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    pub mode: u32,
    pub uid: u32,
    pub is_dir: bool,
    pub is_file: bool,
}

/// One thing wrong, with the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    pub what: String,
    pub fix: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}; fix: {}", self.path.display(), self.what, self.fix)
    }
}

/// Judges the facts against sendmail's rules for a daemon running as `euid`.
pub(crate) fn judge(facts: &[Facts], euid: u32) -> Vec<Problem> {
    let mut problems = vec![];
    for f in facts {
        let p = &f.path;
        let shown = p.display();
        let problem = |what: String, fix: String| Problem { path: p.clone(), what, fix };
        let Some(st) = f.stat else {
            problems.push(problem("missing".into(), "create it (see the smoke output above)".into()));
            continue;
        };
        let perm = st.mode & 0o7777;
        match f.role {
            Role::Parent | Role::CertDir => {
                if !st.is_dir {
                    problems.push(problem("not a directory".into(), format!("make {shown} a directory")));
                } else if perm & 0o022 != 0 {
                    let who = if perm & 0o002 != 0 { "world" } else { "group" };
                    problems.push(problem(
                        format!(
                            "{who}-writable directory (mode {perm:04o}) on the path to the certificates: sendmail \
                             refuses every TLS file below it and serves without STARTTLS"
                        ),
                        format!("chmod go-w {shown}, or keep the certificates elsewhere"),
                    ));
                }
                if f.role == Role::CertDir && st.uid != euid && st.uid != 0 {
                    problems.push(problem(
                        format!("owned by uid {}, not by root or the user running sendmail (uid {euid})", st.uid),
                        format!("chown root {shown}"),
                    ));
                }
            }
            Role::PrivateKey | Role::PublicFile => {
                if !st.is_file {
                    problems.push(problem("not a regular file".into(), format!("make {shown} a regular file")));
                    continue;
                }
                if f.role == Role::PrivateKey && perm & 0o077 != 0 {
                    problems.push(problem(
                        format!(
                            "private key is accessible to group or others (mode {perm:04o}): sendmail logs it as \
                             unsafe and serves without STARTTLS"
                        ),
                        format!("chmod 600 {shown}"),
                    ));
                } else if perm & 0o022 != 0 {
                    problems.push(problem(
                        format!("writable by group or others (mode {perm:04o}): sendmail refuses it"),
                        format!("chmod go-w {shown}"),
                    ));
                }
                if f.role == Role::PrivateKey && st.uid != euid {
                    problems.push(problem(
                        format!("owned by uid {}, not by the user running sendmail (uid {euid})", st.uid),
                        format!("chown {euid} {shown}"),
                    ));
                }
            }
        }
    }
    problems
}

/// Content checks that need no process: the chain file holds the leaf then
/// at least one more certificate.
pub(crate) fn judge_chain(path: &Path, text: &str, pki: &pki::Pki) -> Vec<Problem> {
    let problem = |what: String| Problem {
        path: path.to_path_buf(),
        what,
        fix: "write the server certificate first, then its intermediate(s), into this one file".into(),
    };
    match pki::pem_certificates(text) {
        Err(e) => vec![problem(format!("unreadable: {e:#}"))],
        Ok(certs) => {
            let names: Vec<&str> = certs.iter().map(|c| pki.name_of(c)).collect();
            if names.first() != Some(&"leaf") || !names.contains(&"intermediate") {
                vec![problem(format!("holds {names:?}, expected the leaf then the intermediate"))]
            } else {
                vec![]
            }
        }
    }
}

/// The hash link must resolve to the CA file.
pub(crate) fn judge_hash_link(link: &Path, resolved: Option<&Path>, ca_file: &Path) -> Vec<Problem> {
    if resolved == Some(ca_file) {
        return vec![];
    }
    vec![Problem {
        path: link.to_path_buf(),
        what: match resolved {
            None => "missing: OpenSSL finds CA certificates in confCACERT_PATH by this name".into(),
            Some(r) => format!("points to {}, not to the CA file", r.display()),
        },
        fix: format!(
            "ln -sf {} {}",
            ca_file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            link.display()
        ),
    }]
}

/// Collects the facts for the installed layout (the edge: stat calls).
pub(crate) fn inspect(layout: &Layout) -> Vec<Facts> {
    let stat = |p: &Path| {
        std::fs::metadata(p).ok().map(|m| Stat {
            mode: m.mode(),
            uid: m.uid(),
            is_dir: m.is_dir(),
            is_file: m.is_file(),
        })
    };
    let mut facts = vec![];
    let dir = std::fs::canonicalize(&layout.cert_dir).unwrap_or_else(|_| layout.cert_dir.clone());
    let mut parents: Vec<&Path> = dir.ancestors().skip(1).collect();
    parents.reverse();
    for p in parents {
        facts.push(Facts { path: p.to_path_buf(), role: Role::Parent, stat: stat(p) });
    }
    facts.push(Facts { path: layout.cert_dir.clone(), role: Role::CertDir, stat: stat(&layout.cert_dir) });
    facts.push(Facts { path: layout.key_file(), role: Role::PrivateKey, stat: stat(&layout.key_file()) });
    for p in [layout.cert_file(), layout.ca_file(), layout.dh_file()] {
        let s = stat(&p);
        facts.push(Facts { path: p, role: Role::PublicFile, stat: s });
    }
    facts
}

/// DH parameters of fewer than 2048 bits are refused.
pub(crate) fn judge_dh(path: &Path, bits: Result<u32, String>) -> Vec<Problem> {
    let what = match bits {
        Ok(b) if b >= 2048 => return vec![],
        Ok(b) => format!("DH parameters of {b} bits, fewer than 2048"),
        Err(e) => format!("no readable DH parameters: {e}"),
    };
    vec![Problem {
        path: path.to_path_buf(),
        what,
        fix: format!("openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out {}", path.display()),
    }]
}

/// Every check on the installed material; empty when sendmail will use it.
pub fn check(layout: &Layout, pki: &pki::Pki, hash: &str, openssl: &Path) -> Vec<Problem> {
    let mut problems = judge(&inspect(layout), unsafe { libc::geteuid() });
    let chain = layout.cert_file();
    if let Ok(text) = std::fs::read_to_string(&chain) {
        problems.extend(judge_chain(&chain, &text, pki));
    }
    let link = layout.hash_link(hash);
    let resolved = std::fs::canonicalize(&link).ok();
    let ca = std::fs::canonicalize(layout.ca_file()).unwrap_or_else(|_| layout.ca_file());
    problems.extend(judge_hash_link(&link, resolved.as_deref(), &ca));
    let dh = layout.dh_file();
    problems.extend(judge_dh(&dh, pki::dh_bits(openssl, &dh).map_err(|e| format!("{e:#}"))));
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(path: &str, role: Role, mode: u32, uid: u32) -> Facts {
        let is_dir = matches!(role, Role::Parent | Role::CertDir);
        Facts { path: path.into(), role, stat: Some(Stat { mode, uid, is_dir, is_file: !is_dir }) }
    }

    fn good() -> Vec<Facts> {
        vec![
            fact("/", Role::Parent, 0o40755, 0),
            fact("/etc/mail", Role::Parent, 0o40755, 0),
            fact("/etc/mail/certs", Role::CertDir, 0o40700, 0),
            fact("/etc/mail/certs/host.key", Role::PrivateKey, 0o100600, 0),
            fact("/etc/mail/certs/host.cert", Role::PublicFile, 0o100644, 0),
        ]
    }

    #[test]
    fn the_documented_layout_passes() {
        assert_eq!(judge(&good(), 0), vec![]);
    }

    #[test]
    fn a_group_readable_key_is_named_with_the_fix() {
        let mut f = good();
        f[3] = fact("/etc/mail/certs/host.key", Role::PrivateKey, 0o100644, 0);
        let p = judge(&f, 0);
        assert_eq!(p.len(), 1, "{p:?}");
        let s = p[0].to_string();
        assert!(s.starts_with("/etc/mail/certs/host.key: private key"), "{s}");
        assert!(s.contains("mode 0644") && s.contains("chmod 600 /etc/mail/certs/host.key"), "{s}");
        f[3] = fact("/etc/mail/certs/host.key", Role::PrivateKey, 0o100640, 0);
        assert_eq!(judge(&f, 0).len(), 1);
    }

    #[test]
    fn writable_directories_on_the_path_are_refused() {
        let mut f = good();
        f[1] = fact("/etc/mail", Role::Parent, 0o41777, 0);
        let p = judge(&f, 0);
        assert!(p.len() == 1 && p[0].what.starts_with("world-writable directory (mode 1777)"), "{p:?}");
        let mut f = good();
        f[2] = fact("/etc/mail/certs", Role::CertDir, 0o40775, 0);
        let p = judge(&f, 0);
        assert!(p.len() == 1 && p[0].what.starts_with("group-writable"), "{p:?}");
        assert!(p[0].fix.contains("chmod go-w /etc/mail/certs"));
    }

    #[test]
    fn writable_certificates_missing_files_and_foreign_keys_are_refused() {
        let mut f = good();
        f[4] = fact("/etc/mail/certs/host.cert", Role::PublicFile, 0o100666, 0);
        assert!(judge(&f, 0)[0].what.starts_with("writable by group or others"));
        let mut f = good();
        f[4].stat = None;
        assert_eq!(judge(&f, 0)[0].what, "missing");
        let mut f = good();
        f[3] = fact("/etc/mail/certs/host.key", Role::PrivateKey, 0o100600, 1000);
        assert!(judge(&f, 0)[0].what.contains("owned by uid 1000"));
    }

    #[test]
    fn chain_and_hash_link_rules() {
        let pki = pki::generate("smoke.smtls.test").unwrap();
        assert_eq!(judge_chain(Path::new("c"), &pki.chain_pem(), &pki), vec![]);
        let only_leaf = judge_chain(Path::new("c"), &pki.leaf_pem, &pki);
        assert!(only_leaf[0].what.contains("[\"leaf\"]"), "{only_leaf:?}");
        let reversed = format!("{}{}", pki.intermediate_pem, pki.leaf_pem);
        assert_eq!(judge_chain(Path::new("c"), &reversed, &pki).len(), 1);

        let (link, ca) = (Path::new("/c/abcd1234.0"), Path::new("/c/cacert.pem"));
        assert_eq!(judge_hash_link(link, Some(ca), ca), vec![]);
        let p = judge_hash_link(link, None, ca);
        assert_eq!(p[0].fix, "ln -sf cacert.pem /c/abcd1234.0");
        assert!(judge_hash_link(link, Some(Path::new("/c/other.pem")), ca)[0].what.contains("/c/other.pem"));

        assert_eq!(judge_dh(Path::new("dh"), Ok(2048)), vec![]);
        assert!(judge_dh(Path::new("dh"), Ok(1024))[0].what.contains("1024 bits"));
        assert!(judge_dh(Path::new("dh"), Err("x".into()))[0].fix.contains("ffdhe2048"));
    }
}

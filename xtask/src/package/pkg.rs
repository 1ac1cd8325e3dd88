//! The FreeBSD .pkg: a (gzip-compressed) tar whose first members are
//! `+COMPACT_MANIFEST` and `+MANIFEST` (JSON, keys sorted), then every
//! entry under its absolute path. The manifest carries owner and group by
//! name (pkg resolves them at install time, after the pre-install script
//! has created smmsp) and each file's `1$<sha256>` sum.
//!
//! The manifest declares no `deps`, although pkg allows them: a dependency
//! names the origin and exact version of the installed package
//! (`security/cyrus-sasl2` at whatever version the builder's ports tree
//! has), which only a FreeBSD host knows. Packages of the port
//! (`ports/mail/sendmail-tls`) get them from its `<OPT>_LIB_DEPENDS`.

use super::{Format, Input, Packager};
use crate::archive::{self, TarMember};
use crate::meta;
use crate::stage::{Kind, Target};
use anyhow::{bail, Result};
use serde_json::{json, Map, Value};

pub struct Pkg {
    /// e.g. FreeBSD:14:amd64
    pub abi: String,
}

impl Pkg {
    pub fn new(abi: String) -> Result<Pkg> {
        crate::host::arch_from_abi(&abi)?;
        Ok(Pkg { abi })
    }
}

/// The keys every manifest has (pkg refuses a package without them).
pub const REQUIRED_KEYS: &[&str] =
    &["abi", "arch", "comment", "desc", "maintainer", "name", "origin", "prefix", "version", "www"];

fn perm(mode: u32) -> String {
    format!("{mode:04o}")
}

/// The pre-install script: create smmsp (uid and gid 25, as FreeBSD's base
/// system has them) when missing, so pkg can give files to it.
pub const PRE_INSTALL: &str = r#"# smtls-sendmail: the submission user and group, as in FreeBSD's base system.
if ! pw groupshow smmsp >/dev/null 2>&1; then
	pw groupadd smmsp -g 25
fi
if ! pw usershow smmsp >/dev/null 2>&1; then
	pw useradd smmsp -u 25 -g smmsp -c "Sendmail Submission User" \
	    -d /var/spool/clientmqueue -s /usr/sbin/nologin
fi
"#;

pub const MESSAGE: &str = "smtls-sendmail creates no TLS certificate, and its rc.conf.d file \
(/usr/local/etc/rc.conf.d/sendmail) sets sendmail_cert_create=\"NO\" so /etc/rc.d/sendmail does not \
either. Put yours in /etc/mail/certs: host.cert (the full chain), host.key (mode 0600), cacert.pem.";

/// The manifest; `compact` leaves out files, directories, config and scripts
/// (that is `+COMPACT_MANIFEST`).
pub fn manifest(input: &Input, abi: &str, compact: bool) -> Result<Value> {
    let c = input.contents;
    if c.target != Target::FreeBsd {
        bail!("a .pkg needs the freebsd layout, not {}", c.target);
    }
    let mut files = Map::new();
    let mut dirs = Map::new();
    let mut flatsize = 0u64;
    for e in &c.entries {
        let key = e.path.to_string_lossy().to_string();
        match &e.kind {
            Kind::File { .. } | Kind::Config { .. } => {
                let bytes = input.bytes(e)?;
                flatsize += bytes.len() as u64;
                let sum = format!("1${}", crate::digest::sha256_hex(&bytes));
                files.insert(key, json!({"sum": sum, "uname": e.owner, "gname": e.group, "perm": perm(e.mode)}));
            }
            Kind::Symlink { target } => {
                let t = target.to_string_lossy();
                let sum = format!("1${}", crate::digest::sha256_hex(t.as_bytes()));
                files.insert(key, json!({"sum": sum, "uname": e.owner, "gname": e.group, "perm": perm(e.mode)}));
            }
            Kind::Dir => {
                dirs.insert(key, json!({"uname": e.owner, "gname": e.group, "perm": perm(e.mode)}));
            }
        }
    }
    let mut m = Map::new();
    m.insert("name".into(), json!(meta::PACKAGE_NAME));
    m.insert("origin".into(), json!(format!("mail/{}", meta::PACKAGE_NAME)));
    m.insert("version".into(), json!(Target::FreeBsd.package_version(&input.version)));
    m.insert("comment".into(), json!(meta::SUMMARY));
    m.insert("maintainer".into(), json!(maintainer_email()));
    m.insert("www".into(), json!(meta::HOMEPAGE));
    m.insert("abi".into(), json!(abi));
    m.insert("arch".into(), json!(crate::host::arch_from_abi(abi)?));
    m.insert("prefix".into(), json!(Target::FreeBsd.prefix()));
    m.insert("flatsize".into(), json!(flatsize));
    m.insert("licenselogic".into(), json!("single"));
    m.insert("licenses".into(), json!(["Sendmail"]));
    m.insert("categories".into(), json!(["mail"]));
    m.insert(
        "desc".into(),
        json!(format!(
            "sendmail {} built with STARTTLS, TLS_EC and _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE:\n\
             the server certificate file holds the full chain. SSLv3, TLS 1.0 and TLS 1.1\n\
             are off. No certificate is created automatically.",
            input.version
        )),
    );
    if !compact {
        m.insert("files".into(), Value::Object(files));
        m.insert("directories".into(), Value::Object(dirs));
        let config: Vec<String> = c.config_files().map(|e| e.path.to_string_lossy().to_string()).collect();
        m.insert("config".into(), json!(config));
        m.insert("scripts".into(), json!({"pre-install": PRE_INSTALL}));
        m.insert("messages".into(), json!([{"message": MESSAGE}]));
    }
    Ok(Value::Object(m))
}

/// The address part of the maintainer, which is what pkg shows.
pub fn maintainer_email() -> String {
    crate::meta::maintainer_address().unwrap_or(crate::meta::MAINTAINER).to_string()
}

/// Every tar member: the two manifests, then the list in order.
pub fn members(input: &Input, abi: &str) -> Result<Vec<TarMember>> {
    let t = input.time;
    let manifest_member = |name: &str, v: &Value| -> Result<TarMember> {
        Ok(TarMember { gname: "wheel".into(), ..TarMember::file(name, serde_json::to_vec(v)?, 0o644, t) })
    };
    let mut out = vec![
        manifest_member("+COMPACT_MANIFEST", &manifest(input, abi, true)?)?,
        manifest_member("+MANIFEST", &manifest(input, abi, false)?)?,
    ];
    for e in &input.contents.entries {
        out.push(super::tar_member(input, e, e.path.to_string_lossy().to_string())?);
    }
    Ok(out)
}

impl Packager for Pkg {
    fn format(&self) -> Format {
        Format::Pkg
    }

    fn target(&self) -> Target {
        Target::FreeBsd
    }

    fn file_name(&self, input: &Input) -> Result<String> {
        Ok(format!("{}-{}.pkg", meta::PACKAGE_NAME, Target::FreeBsd.package_version(&input.version)))
    }

    fn build(&self, input: &Input) -> Result<Vec<u8>> {
        archive::gzip(&archive::tar(&members(input, &self.abi)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_abi_is_refused() {
        for bad in ["FreeBSD:14", "Linux:6:amd64", "FreeBSD:x:amd64", "FreeBSD:14:amd64:extra", ""] {
            assert!(Pkg::new(bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn maintainer_is_an_address() {
        assert!(maintainer_email().contains('@') && !maintainer_email().contains('<'));
    }

    #[test]
    fn pre_install_creates_smmsp_only_when_missing() {
        assert!(PRE_INSTALL.contains("pw groupshow smmsp") && PRE_INSTALL.contains("pw useradd smmsp -u 25"));
        assert!(!PRE_INSTALL.contains("userdel") && !PRE_INSTALL.contains("rm "));
    }
}

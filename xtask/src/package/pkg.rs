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

use super::archive::{self, TarMember};
use super::{Format, Input, Packager};
use crate::stage::{self, Kind, Target};
use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub struct Pkg {
    /// e.g. FreeBSD:14:amd64
    pub abi: String,
}

impl Pkg {
    pub fn new(abi: String) -> Result<Pkg> {
        arch_from_abi(&abi)?;
        Ok(Pkg { abi })
    }
}

/// The keys every manifest has (pkg refuses a package without them).
pub const REQUIRED_KEYS: &[&str] =
    &["abi", "arch", "comment", "desc", "maintainer", "name", "origin", "prefix", "version", "www"];

/// The ABI of this host: `FreeBSD:<major>:<arch>` from uname on FreeBSD;
/// elsewhere FreeBSD 14 on the host's architecture (the binaries inside are
/// then the host's: such a .pkg is for testing the format, not for FreeBSD).
pub fn host_abi() -> Result<String> {
    if std::env::consts::OS == "freebsd" {
        let uname = |flag: &str| -> Result<String> {
            let out = std::process::Command::new("uname").arg(flag).output().context("running uname")?;
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        };
        let release = uname("-r")?;
        let major = release.split('.').next().unwrap_or("14").to_string();
        return Ok(format!("FreeBSD:{major}:{}", uname("-p")?));
    }
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "i386",
        other => other,
    };
    Ok(format!("FreeBSD:14:{arch}"))
}

/// The old-style `arch` key pkg still wants: FreeBSD:14:amd64 ->
/// freebsd:14:x86:64.
pub fn arch_from_abi(abi: &str) -> Result<String> {
    let parts: Vec<&str> = abi.split(':').collect();
    let [os, major, arch] = parts[..] else {
        bail!("--abi {abi:?} is not of the form FreeBSD:<major>:<arch>, e.g. FreeBSD:14:amd64");
    };
    if os != "FreeBSD" || major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) || arch.is_empty() {
        bail!("--abi {abi:?} is not of the form FreeBSD:<major>:<arch>, e.g. FreeBSD:14:amd64");
    }
    let old = match arch {
        "amd64" => "x86:64".to_string(),
        "i386" => "x86:32".to_string(),
        "aarch64" | "arm64" => "aarch64:64".to_string(),
        "armv7" => "armv7:32:el:eabi:hardfp".to_string(),
        "powerpc64" => "powerpc:64:eb".to_string(),
        "powerpc64le" => "powerpc:64:el".to_string(),
        "riscv64" => "riscv:64:hf".to_string(),
        other => other.to_string(),
    };
    Ok(format!("freebsd:{major}:{old}"))
}

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
                let sum = format!("1${}", crate::fetch::checksum::hex(&Sha256::digest(&bytes)));
                files.insert(key, json!({"sum": sum, "uname": e.owner, "gname": e.group, "perm": perm(e.mode)}));
            }
            Kind::Symlink { target } => {
                let t = target.to_string_lossy();
                let sum = format!("1${}", crate::fetch::checksum::hex(&Sha256::digest(t.as_bytes())));
                files.insert(key, json!({"sum": sum, "uname": e.owner, "gname": e.group, "perm": perm(e.mode)}));
            }
            Kind::Dir => {
                dirs.insert(key, json!({"uname": e.owner, "gname": e.group, "perm": perm(e.mode)}));
            }
        }
    }
    let mut m = Map::new();
    m.insert("name".into(), json!(stage::PACKAGE_NAME));
    m.insert("origin".into(), json!(format!("mail/{}", stage::PACKAGE_NAME)));
    m.insert("version".into(), json!(Target::FreeBsd.package_version(&input.version)));
    m.insert("comment".into(), json!(stage::SUMMARY));
    m.insert("maintainer".into(), json!(maintainer_email()));
    m.insert("www".into(), json!(stage::HOMEPAGE));
    m.insert("abi".into(), json!(abi));
    m.insert("arch".into(), json!(arch_from_abi(abi)?));
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
    let m = stage::MAINTAINER;
    m.split_once('<').and_then(|(_, r)| r.strip_suffix('>')).unwrap_or(m).to_string()
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
        Ok(format!("{}-{}.pkg", stage::PACKAGE_NAME, Target::FreeBsd.package_version(&input.version)))
    }

    fn build(&self, input: &Input) -> Result<Vec<u8>> {
        archive::gzip(&archive::tar(&members(input, &self.abi)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_and_arch() {
        assert_eq!(arch_from_abi("FreeBSD:14:amd64").unwrap(), "freebsd:14:x86:64");
        assert_eq!(arch_from_abi("FreeBSD:13:aarch64").unwrap(), "freebsd:13:aarch64:64");
        for bad in ["FreeBSD:14", "Linux:6:amd64", "FreeBSD:x:amd64", "FreeBSD:14:amd64:extra", ""] {
            assert!(Pkg::new(bad.into()).is_err(), "{bad}");
        }
        let h = host_abi().unwrap();
        assert!(h.starts_with("FreeBSD:") && arch_from_abi(&h).is_ok(), "{h}");
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

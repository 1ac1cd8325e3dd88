//! System tools and libraries the toolkit runs or links, the package that
//! provides each on every supported OS, and installing them where allowed.

pub(crate) use crate::host::Os;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// Something the toolkit needs from the system, and who provides it.
#[derive(Clone, Copy, Debug)]
pub struct Need {
    /// A command looked up on PATH, or "" for a library.
    pub command: &'static str,
    pub what: &'static str,
    pub debian: &'static str,
    pub fedora: &'static str,
    /// The name on openSUSE where it differs from Fedora's (an RPM spec's
    /// BuildRequires under `%if 0%{?suse_version}`); empty when the same.
    pub(crate) suse: &'static str,
    pub freebsd: &'static str,
}

impl Need {
    pub fn package(&self, os: Os) -> &'static str {
        match os {
            Os::DebianLike | Os::Other => self.debian,
            Os::FedoraLike => self.fedora,
            Os::FreeBsd => self.freebsd,
        }
    }

    /// The package on openSUSE.
    pub(crate) fn suse(&self) -> &'static str {
        if self.suse.is_empty() {
            self.fedora
        } else {
            self.suse
        }
    }
}

const fn tool(command: &'static str, debian: &'static str, fedora: &'static str, freebsd: &'static str) -> Need {
    Need { command, what: command, debian, fedora, suse: "", freebsd }
}

pub(crate) const CC: Need = tool("cc", "gcc", "gcc", "llvm (base system)");
pub(crate) const MAKE: Need = tool("make", "make", "make", "(base system)");
pub(crate) const M4: Need = tool("m4", "m4", "m4", "(base system)");
pub(crate) const CURL: Need = tool("curl", "curl", "curl", "ftp/curl");
pub(crate) const GPGV: Need = tool("gpgv", "gpgv", "gnupg2", "security/gnupg");
pub(crate) const APT_GET: Need = tool("apt-get", "apt", "", "");
pub(crate) const PATCHELF: Need = tool("patchelf", "patchelf", "patchelf", "sysutils/patchelf");
pub(crate) const STRIP: Need = tool("strip", "binutils", "binutils", "(base system)");
pub const OPENSSL: Need = tool("openssl", "openssl", "openssl", "security/openssl");
/// The source RPM is written by RPM's own rpmbuild.
pub(crate) const RPMBUILD: Need = tool("rpmbuild", "rpm", "rpm-build", "archivers/rpm4");
pub(crate) const UNSHARE: Need = tool("unshare", "util-linux", "util-linux", "(none)");
pub(crate) const OPENSSL_HEADERS: Need = Need {
    command: "",
    what: "OpenSSL headers (<openssl/ssl.h>)",
    debian: "libssl-dev",
    fedora: "openssl-devel",
    suse: "libopenssl-devel",
    freebsd: "security/openssl",
};
pub(crate) const BERKELEY_DB: Need = Need {
    command: "",
    what: "Berkeley DB headers and library (<db.h>, -ldb)",
    debian: "libdb-dev",
    fedora: "libdb-devel",
    suse: "libdb-4_8-devel",
    freebsd: "databases/db5",
};

pub(crate) const SASLPASSWD2: Need = tool("saslpasswd2", "sasl2-bin", "cyrus-sasl", "security/cyrus-sasl2");
/// The PLAIN, LOGIN and CRAM-MD5 plugins the smoke test's AUTH checks use.
pub(crate) const SASL_MODULES: Need = Need {
    command: "",
    what: "Cyrus SASL PLAIN, LOGIN and CRAM-MD5 plugins",
    debian: "libsasl2-modules",
    fedora: "cyrus-sasl-plain cyrus-sasl-md5",
    suse: "",
    freebsd: "security/cyrus-sasl2",
};

/// What `cargo xtask setup` installs on a Debian-family host: everything
/// the main job and the tests run.
pub(crate) const SETUP_DEBIAN: &[&str] = &[
    "gcc",
    "make",
    "m4",
    "libc6-dev",
    "libssl-dev",
    "libdb-dev",
    "openssl",
    "curl",
    "gpgv",
    "libsasl2-dev",
    "libldap-dev",
    "libcdb-dev",
    "sasl2-bin",
    "libsasl2-modules",
    "binutils",
    "lintian",
    "libarchive-tools",
    "patch",
    "dpkg-dev",
    "patchelf",
    // tests/certs: the sendmail-certs script is linted and run under dash.
    "shellcheck",
    "dash",
    // The install tests: a throwaway bookworm chroot (mmdebstrap; unshare,
    // nsenter and chroot come with util-linux and coreutils, mount with
    // mount, absent from a minimal root; ip with iproute2), hardening-check
    // from devscripts.
    "mmdebstrap",
    "mount",
    "iproute2",
    "devscripts",
    // tests/freebsd: bmake parses the generated port against a stub framework.
    "bmake",
    // HTTPS for curl (ftp.sendmail.org) and apt.
    "ca-certificates",
    // tests/source_rpm: the spec and source RPM are parsed, built and linted
    // with RPM's own tools.
    "rpm",
    "rpmlint",
    // tests/acme: Let's Encrypt's test ACME server and two real clients
    // renewing through `sendmail-certs acme-hook`.
    "pebble",
    "certbot",
    "dehydrated",
];

/// The path of a command, or an error naming the package that provides it.
pub fn find(need: &Need) -> Result<PathBuf> {
    if let Ok(p) = which::which(need.command) {
        return Ok(p);
    }
    let os = Os::detect();
    if may_install(os) {
        install(&[need.package(os)])?;
        if let Ok(p) = which::which(need.command) {
            return Ok(p);
        }
    }
    bail!("{}", missing_message(need, os))
}

pub(crate) fn missing_message(need: &Need, os: Os) -> String {
    let pkg = need.package(os);
    let how = match os {
        Os::DebianLike | Os::Other => {
            format!("apt-get install {pkg}  (or run `cargo xtask setup` as root)")
        }
        Os::FedoraLike => format!("dnf install {pkg}"),
        Os::FreeBsd => format!("pkg install {pkg}"),
    };
    format!("{} is not installed: it comes with the package {pkg}; install it with: {how}", need.what)
}

/// Installing is allowed for root on a Debian-family host, unless
/// SMTLS_NO_INSTALL is set.
pub(crate) fn may_install(os: Os) -> bool {
    os == Os::DebianLike
        && is_root()
        && std::env::var_os("SMTLS_NO_INSTALL").is_none()
        && which::which("apt-get").is_ok()
}

pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false)
}

/// Which of `packages` dpkg does not have installed (in their order).
pub(crate) fn not_installed<'a>(packages: &[&'a str]) -> Result<Vec<&'a str>> {
    // dpkg-query fails for a package it has never heard of, and still lists
    // the others: its status is not the answer, its output is.
    let out = crate::proc::capture(
        Command::new("dpkg-query").args(["-W", "-f", "${Package} ${db:Status-Abbrev}\\n"]).args(packages),
    )?;
    Ok(missing_from_status(packages, &String::from_utf8_lossy(&out.stdout)))
}

/// The packages not listed as installed (`ii`) in dpkg-query's output.
pub(crate) fn missing_from_status<'a>(packages: &[&'a str], status: &str) -> Vec<&'a str> {
    let installed: std::collections::BTreeSet<&str> = status
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, st)| st.trim_end() == "ii")
        .map(|(p, _)| p.split(':').next().unwrap_or(p))
        .collect();
    packages.iter().copied().filter(|p| !installed.contains(p)).collect()
}

/// `apt-get install` the given packages (after one `apt-get update`).
pub fn install(packages: &[&str]) -> Result<()> {
    crate::progress::step(&format!("installing {} with apt-get (running as root)", packages.join(" ")));
    static UPDATED: std::sync::Once = std::sync::Once::new();
    let mut update = Ok(());
    UPDATED.call_once(|| update = crate::proc::run(Command::new("apt-get").args(["update", "-q"])));
    update.context("apt-get update failed")?;
    crate::proc::run(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
    .with_context(|| format!("apt-get install {} failed", packages.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_not_installed_or_half_installed_are_missing() {
        let status = "gcc ii \nlibc6-dev:amd64 ii \nlintian rc \nmake iU \n";
        let want = ["gcc", "libc6-dev", "lintian", "make", "bmake"];
        assert_eq!(missing_from_status(&want, status), ["lintian", "make", "bmake"]);
    }

    #[test]
    fn missing_message_names_the_package() {
        let m = missing_message(&OPENSSL_HEADERS, Os::DebianLike);
        assert!(m.contains("libssl-dev") && m.contains("apt-get install"), "{m}");
        assert!(missing_message(&OPENSSL_HEADERS, Os::FedoraLike).contains("openssl-devel"));
        assert!(missing_message(&OPENSSL_HEADERS, Os::FreeBsd).contains("security/openssl"));
    }
}

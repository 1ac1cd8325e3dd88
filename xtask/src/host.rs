//! The host the toolkit runs on: its OS family, its Debian architecture and
//! multiarch tuple, and the FreeBSD pkg ABI. A leaf: every step may ask.

use crate::proc;
use anyhow::{bail, Context, Result};
use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    DebianLike,
    FedoraLike,
    FreeBsd,
    Other,
}

impl Os {
    pub(crate) fn detect() -> Os {
        if std::env::consts::OS == "freebsd" {
            return Os::FreeBsd;
        }
        let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        os_from_release(&text)
    }
}

/// Classifies an `/etc/os-release` by its ID and ID_LIKE fields.
pub(crate) fn os_from_release(text: &str) -> Os {
    let ids: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("ID=").or_else(|| l.strip_prefix("ID_LIKE=")))
        .flat_map(|v| v.trim_matches('"').split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let has = |names: &[&str]| ids.iter().any(|i| names.contains(&i.as_str()));
    if has(&["debian", "ubuntu"]) {
        Os::DebianLike
    } else if has(&["fedora", "rhel", "centos"]) {
        Os::FedoraLike
    } else {
        Os::Other
    }
}

/// `dpkg --print-architecture`, or the Debian name of Rust's target arch.
pub(crate) fn debian_arch() -> Result<String> {
    if let Some(arch) = proc::probe(Command::new("dpkg").arg("--print-architecture")) {
        return Ok(arch);
    }
    Ok(match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "i386",
        "arm" => "armhf",
        "powerpc64" => "ppc64el",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        other => bail!("no Debian architecture name is known for {other}"),
    }
    .to_string())
}

/// Debian's multiarch tuple for a Debian architecture name.
pub(crate) fn multiarch_of(debian_arch: &str) -> Option<&'static str> {
    Some(match debian_arch {
        "amd64" => "x86_64-linux-gnu",
        "arm64" => "aarch64-linux-gnu",
        "armhf" => "arm-linux-gnueabihf",
        "armel" => "arm-linux-gnueabi",
        "i386" => "i386-linux-gnu",
        "ppc64el" => "powerpc64le-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        "riscv64" => "riscv64-linux-gnu",
        "mips64el" => "mips64el-linux-gnuabi64",
        "loong64" => "loongarch64-linux-gnu",
        _ => return None,
    })
}

/// This host's multiarch tuple: from the table, else dpkg-architecture.
pub fn multiarch() -> Option<String> {
    let arch = debian_arch().ok()?;
    if let Some(m) = multiarch_of(&arch) {
        return Some(m.to_string());
    }
    proc::probe(Command::new("dpkg-architecture").args(["-qDEB_HOST_MULTIARCH"]))
}

/// The ABI of this host: `FreeBSD:<major>:<arch>` from uname on FreeBSD;
/// elsewhere FreeBSD 14 on the host's architecture. Only an example for
/// messages and `--abi` in format tests: a .pkg's ABI comes from its
/// programs (`package::elf_abi`).
pub fn freebsd_abi() -> Result<String> {
    if std::env::consts::OS == "freebsd" {
        let uname = |flag: &str| proc::stdout(Command::new("uname").arg(flag));
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

/// `FreeBSD:<major>:<arch>` split into its major version and architecture.
pub fn parse_abi(abi: &str) -> Result<(u32, &str)> {
    let parts: Vec<&str> = abi.split(':').collect();
    let bad = || format!("--abi {abi:?} is not of the form FreeBSD:<major>:<arch>, e.g. FreeBSD:14:amd64");
    let [os, major, arch] = parts[..] else { bail!("{}", bad()) };
    let major: u32 = major.parse().ok().filter(|_| os == "FreeBSD" && !arch.is_empty()).with_context(bad)?;
    Ok((major, arch))
}

/// A clap value parser for `--abi`: refused when the command line is read.
pub(crate) fn abi_arg(abi: &str) -> Result<String> {
    parse_abi(abi).map(|_| abi.to_string())
}

/// The old-style `arch` key pkg still wants: FreeBSD:14:amd64 ->
/// freebsd:14:x86:64.
pub fn arch_from_abi(abi: &str) -> Result<String> {
    let (major, arch) = parse_abi(abi)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_classification() {
        assert_eq!(os_from_release("ID=debian\nVERSION_ID=\"12\"\n"), Os::DebianLike);
        assert_eq!(os_from_release("ID=ubuntu\nID_LIKE=debian\n"), Os::DebianLike);
        assert_eq!(os_from_release("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"), Os::FedoraLike);
        assert_eq!(os_from_release("ID=alpine\n"), Os::Other);
    }

    #[test]
    fn multiarch_tuples() {
        assert_eq!(multiarch_of("amd64"), Some("x86_64-linux-gnu"));
        assert_eq!(multiarch_of("arm64"), Some("aarch64-linux-gnu"));
        assert_eq!(multiarch_of("hurd-i386"), None);
    }

    #[test]
    fn abi_and_arch() {
        assert_eq!(arch_from_abi("FreeBSD:14:amd64").unwrap(), "freebsd:14:x86:64");
        assert_eq!(arch_from_abi("FreeBSD:13:aarch64").unwrap(), "freebsd:13:aarch64:64");
        for bad in ["FreeBSD:14", "Linux:6:amd64", "FreeBSD:x:amd64", "FreeBSD:14:amd64:extra", ""] {
            assert!(arch_from_abi(bad).is_err(), "{bad}");
        }
        let h = freebsd_abi().unwrap();
        assert!(h.starts_with("FreeBSD:") && arch_from_abi(&h).is_ok(), "{h}");
    }
}

//! The .buildinfo of dist's .deb, in Debian's format (what
//! dpkg-genbuildinfo writes beside a farm's .deb): the package's checksums,
//! the build's environment and the build dependencies with the versions
//! installed when it was built, so a rebuilder can reproduce it and tell
//! which environment made which .deb.

use crate::meta::Info;
use anyhow::Result;
use std::fmt::Write as _;

/// The packages a build of `options` compiles and links with: the
/// toolchain, the C library, OpenSSL and each option's -dev package
/// (what the source package's Build-Depends name), with their libraries.
pub fn build_packages(options: &[String]) -> Vec<String> {
    let mut v: Vec<String> =
        ["binutils", "gcc", "libc6", "libc6-dev", "libssl-dev", "libssl3", "m4", "make"].map(String::from).to_vec();
    for name in options {
        if let Some(p) = crate::configure::options::find(name).and_then(|s| s.probe) {
            if !p.need.debian.is_empty() {
                v.push(p.need.debian.to_string());
            }
        }
    }
    v.sort();
    v.dedup();
    v
}

/// The installed version of each package (those not installed left out),
/// as `dpkg-query` says; read before the writer runs.
pub fn installed(packages: &[String]) -> Vec<(String, String)> {
    packages
        .iter()
        .filter_map(|p| {
            let v = crate::proc::probe(std::process::Command::new("dpkg-query").args([
                "-W",
                "-f",
                "${Version}",
                &format!("{p}:native"),
            ]))
            .or_else(|| {
                crate::proc::probe(std::process::Command::new("dpkg-query").args(["-W", "-f", "${Version}", p]))
            })?;
            let v = v.trim().to_string();
            (!v.is_empty()).then(|| (p.clone(), v))
        })
        .collect()
}

/// The .buildinfo text for the .deb `deb_name` with bytes `deb`.
pub fn text(
    info: &Info,
    arch: &str,
    deb_name: &str,
    deb: &[u8],
    installed: &[(String, String)],
    time: u64,
) -> Result<String> {
    use md5::Digest as _;
    let mut s = String::new();
    writeln!(s, "Format: 1.0\nSource: {}\nBinary: {}", info.name, info.name)?;
    writeln!(s, "Architecture: {arch}\nVersion: {}", info.debian_version())?;
    writeln!(s, "Checksums-Md5:\n {} {} {deb_name}", crate::digest::hex(&md5::Md5::digest(deb)), deb.len())?;
    writeln!(s, "Checksums-Sha1:\n {} {} {deb_name}", crate::digest::hex(&sha1::Sha1::digest(deb)), deb.len())?;
    writeln!(s, "Checksums-Sha256:\n {} {} {deb_name}", crate::digest::sha256_hex(deb), deb.len())?;
    writeln!(s, "Build-Origin: smtls (cargo xtask package)\nBuild-Architecture: {arch}")?;
    writeln!(s, "Build-Date: {}", crate::epoch::rfc2822(time))?;
    writeln!(s, "Environment:\n SOURCE_DATE_EPOCH=\"{time}\"")?;
    let deps: Vec<String> = installed.iter().map(|(p, v)| format!(" {p} (= {v})")).collect();
    writeln!(s, "Installed-Build-Depends:\n{}", deps.join(",\n"))?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildinfo_names_the_deb_and_the_versions_it_was_built_with() {
        let info = Info { maintainer: crate::meta::MAINTAINER.into(), ..Info::new("8.18.2", "0smtls1", &[]).unwrap() };
        let installed =
            vec![("gcc".to_string(), "4:12.2.0-3".to_string()), ("libssl-dev".into(), "3.0.17-1~deb12u2".into())];
        let t = text(&info, "amd64", "x_1_amd64.deb", b"deb", &installed, 1_700_000_000).unwrap();
        assert!(t.starts_with("Format: 1.0\nSource: smtls-sendmail\nBinary: smtls-sendmail\nArchitecture: amd64\n"));
        assert!(t.contains(&format!("\n {} 3 x_1_amd64.deb\n", crate::digest::sha256_hex(b"deb"))), "{t}");
        assert!(
            t.ends_with("Installed-Build-Depends:\n gcc (= 4:12.2.0-3),\n libssl-dev (= 3.0.17-1~deb12u2)\n"),
            "{t}"
        );
        assert!(t.contains("\nEnvironment:\n SOURCE_DATE_EPOCH=\"1700000000\"\n"), "{t}");
        let p = build_packages(&["sasl".into(), "bdb".into()]);
        assert!(p.contains(&"libsasl2-dev".to_string()) && p.contains(&"libdb-dev".to_string()), "{p:?}");
    }
}

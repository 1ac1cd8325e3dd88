//! The .deb: an ar archive of `debian-binary`, `control.tar.gz` and
//! `data.tar.gz`, written without dpkg-deb.
//!
//! Owners in data.tar: Debian gives smmsp no fixed uid, and a data.tar
//! cannot name a user that does not exist before the package is unpacked. So
//! data.tar carries every entry as root:root with a neutral mode (0755 for
//! directories and programs, 0644 for files; no setgid), and the postinst
//! creates smmsp, then applies the recorded owner, group and mode with
//! `dpkg-statoverride --update --add`, which dpkg keeps applying on every
//! upgrade. An override the administrator set first is left alone.

pub mod buildinfo;
pub mod control;
pub mod scripts;
pub mod shlibdeps;

use super::{Format, Input, Packager};
use crate::archive::{self, TarData, TarMember};
use crate::stage::{Contents, Kind, Target};
use anyhow::{bail, Result};
use control::{control_text, Control};
use scripts::{neutral, neutral_mode};
use std::fmt::Write as _;

pub struct Deb {
    /// Debian architecture name, e.g. amd64.
    pub arch: String,
}

impl Deb {
    pub fn for_host() -> Result<Deb> {
        Ok(Deb { arch: crate::host::debian_arch()? })
    }
}

/// data.tar members: `./` first, then the list in order.
pub fn data_members(input: &Input) -> Result<Vec<TarMember>> {
    let t = input.time;
    let mut out = vec![TarMember { data: TarData::Dir, ..TarMember::file("./", vec![], 0o755, t) }];
    for e in &input.contents.entries {
        let mode = if neutral(e) { e.mode } else { neutral_mode(e) };
        let data = super::tar_data(e, || input.bytes(e))?;
        out.push(TarMember { name: super::member_name(e), data, ..TarMember::file("", vec![], mode, t) });
    }
    Ok(out)
}

/// `md5sums`: every regular file except conffiles (as dh_md5sums does).
pub fn md5sums(input: &Input) -> Result<String> {
    use md5::Digest;
    let mut s = String::new();
    for e in &input.contents.entries {
        if let Kind::File { .. } = e.kind {
            let sum = md5::Md5::digest(input.bytes(e)?);
            writeln!(s, "{}  {}", crate::digest::hex(&sum), e.relative().display())?;
        }
    }
    Ok(s)
}

pub fn conffiles(c: &Contents) -> String {
    c.config_files().map(|e| format!("{}\n", e.path.display())).collect()
}

/// Installed-Size in KiB as dpkg-gencontrol counts it: each file rounded up
/// to whole KiB, one KiB for every other entry.
pub fn installed_size(input: &Input) -> Result<u64> {
    let mut kib = 0;
    for e in &input.contents.entries {
        kib += match e.kind {
            Kind::File { .. } | Kind::Config { .. } => {
                let len = std::fs::metadata(e.staged(input.root))?.len();
                len.div_ceil(1024)
            }
            _ => 1,
        };
    }
    Ok(kib)
}

impl Packager for Deb {
    fn format(&self) -> Format {
        Format::Deb
    }

    fn target(&self) -> Target {
        Target::Debian
    }

    fn file_name(&self, input: &Input) -> Result<String> {
        let info = input.info;
        Ok(format!("{}_{}_{}.deb", info.name, Target::Debian.package_version(&info.version, &info.revision), self.arch))
    }

    fn build(&self, input: &Input) -> Result<Vec<u8>> {
        if input.contents.target != Target::Debian {
            bail!("a .deb needs the debian layout, not {}", input.contents.target);
        }
        let t = input.time;
        if input.info.relations.depends.is_empty() {
            bail!("the .deb's Depends were not resolved before writing (package::resolve_info)");
        }
        let control = Control {
            info: input.info,
            version: Target::Debian.package_version(&input.info.version, &input.info.revision),
            arch: self.arch.clone(),
            installed_size: Some(installed_size(input)?),
        };
        let mut control_members = vec![
            TarMember { data: TarData::Dir, ..TarMember::file("./", vec![], 0o755, t) },
            TarMember::file("./conffiles", conffiles(input.contents).into_bytes(), 0o644, t),
            TarMember::file("./control", control_text(&control).into_bytes(), 0o644, t),
            TarMember::file("./md5sums", md5sums(input)?.into_bytes(), 0o644, t),
        ];
        for (name, text) in scripts::scripts(input.contents)? {
            control_members.push(TarMember::file(format!("./{name}"), text.into_bytes(), 0o755, t));
        }
        let control_tar = archive::gzip(&archive::tar(&control_members)?)?;
        let data_tar = archive::gzip(&archive::tar(&data_members(input)?)?)?;
        archive::ar(&[("debian-binary", b"2.0\n"), ("control.tar.gz", &control_tar), ("data.tar.gz", &data_tar)], t)
    }
}

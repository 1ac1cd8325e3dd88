//! The .tar.gz: the staged tree, every entry as `./<path>` with the owner
//! and group names and modes the list records and numeric ids as on
//! FreeBSD (root and wheel 0, smmsp 25). GNU tar and bsdtar, extracting as
//! root, look the names up first and fall back to the numbers.

use super::archive::{self, TarData, TarMember};
use super::{numeric_id, Format, Input, Packager};
use crate::stage::{self, Kind, Target};
use anyhow::Result;

pub struct Tarball {
    pub target: Target,
}

pub fn members(input: &Input) -> Result<Vec<TarMember>> {
    let mut out = vec![];
    for e in &input.contents.entries {
        let rel = e.relative().to_string_lossy();
        let (name, data) = match &e.kind {
            Kind::Dir => (format!("./{rel}/"), TarData::Dir),
            Kind::Symlink { target } => (format!("./{rel}"), TarData::Symlink(target.to_string_lossy().into())),
            Kind::File { .. } | Kind::Config { .. } => (format!("./{rel}"), TarData::File(input.bytes(e)?)),
        };
        out.push(TarMember {
            name,
            data,
            mode: e.mode,
            uid: numeric_id(&e.owner)?,
            gid: numeric_id(&e.group)?,
            uname: e.owner.clone(),
            gname: e.group.clone(),
            mtime: input.time,
        });
    }
    Ok(out)
}

impl Packager for Tarball {
    fn format(&self) -> Format {
        Format::Tar
    }

    fn target(&self) -> Target {
        self.target
    }

    fn file_name(&self, input: &Input) -> Result<String> {
        Ok(format!("{}-{}-{}-{}.tar.gz", stage::PACKAGE_NAME, input.version, self.target, std::env::consts::ARCH))
    }

    fn build(&self, input: &Input) -> Result<Vec<u8>> {
        archive::gzip(&archive::tar(&members(input)?)?)
    }
}

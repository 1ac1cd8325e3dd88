//! The .tar.gz: the staged tree, every entry as `./<path>` with the owner
//! and group names and modes the list records and numeric ids as on
//! FreeBSD (root and wheel 0, smmsp 25). GNU tar and bsdtar, extracting as
//! root, look the names up first and fall back to the numbers.

use super::{Format, Input, Packager};
use crate::archive::{self, TarMember};
use crate::stage::Target;
use anyhow::Result;

pub(crate) struct Tarball {
    pub target: Target,
}

pub(crate) fn members(input: &Input) -> Result<Vec<TarMember>> {
    let mut out = vec![];
    for e in &input.contents.entries {
        let data = super::tar_data(e, || input.bytes(e))?;
        out.push(super::tar_member(input, e, super::member_name(e), data)?);
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
        let info = input.info;
        Ok(format!("{}-{}-{}-{}.tar.gz", info.name, info.version, self.target, std::env::consts::ARCH))
    }

    fn build(&self, input: &Input) -> Result<Vec<u8>> {
        archive::gzip(&archive::tar(&members(input)?)?)
    }
}

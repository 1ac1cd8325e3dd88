//! The Debian source package: `.orig.tar.gz` (upstream's exact bytes),
//! `.orig.tar.gz.asc` (upstream's signature, checked against the pinned
//! key), `.debian.tar.xz` and the `.dsc`, all deterministic.

use super::{Generator, Input};
use crate::stage::Target;
use anyhow::{Context, Result};

pub struct Debian;

impl Debian {
    /// `smtls-sendmail_8.18.2.orig.tar.gz`
    pub fn orig_name(input: &Input) -> String {
        format!("{}_{}.orig.tar.gz", input.info.name, input.info.version)
    }
}

impl Generator for Debian {
    fn target(&self) -> Target {
        Target::Debian
    }

    fn files(&self, input: &Input) -> Result<Vec<(String, Vec<u8>)>> {
        let orig = Debian::orig_name(input);
        let tarball = &input.upstream.tarball;
        let mut files =
            vec![(orig.clone(), std::fs::read(tarball).with_context(|| format!("reading {}", tarball.display()))?)];
        if let Some(sig) = &input.upstream.signature {
            files.push((
                format!("{orig}.asc"),
                std::fs::read(sig).with_context(|| format!("reading {}", sig.display()))?,
            ));
        }
        Ok(files)
    }
}

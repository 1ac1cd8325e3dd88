//! A location the user names: a file, a directory such as a ports DISTDIR,
//! or a URL of a mirror.

use super::{upstream, Candidate};
use crate::plan::Plan;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

pub fn fetch(plan: &Plan, location: &str, into: &Path) -> Result<Candidate> {
    if location.contains("://") && !location.starts_with("file://") {
        return from_url(plan, location, into);
    }
    let path = PathBuf::from(location.strip_prefix("file://").unwrap_or(location));
    let names = file_names(plan);
    let tarball = if path.is_dir() {
        names
            .iter()
            .map(|n| path.join(n))
            .find(|p| p.is_file())
            .with_context(|| format!("{} holds none of {}", path.display(), names.join(", ")))?
    } else if path.is_file() {
        path
    } else {
        bail!("{} does not exist", path.display());
    };
    let copy = into.join(&plan.release.upstream_file);
    std::fs::copy(&tarball, &copy).with_context(|| format!("copying {}", tarball.display()))?;
    let signature = ["sig", "asc"]
        .iter()
        .map(|ext| PathBuf::from(format!("{}.{ext}", tarball.display())))
        .find(|p| p.is_file())
        .map(|sig| -> Result<PathBuf> {
            let dest = into.join(sig.file_name().unwrap_or_default());
            std::fs::copy(&sig, &dest)?;
            Ok(dest)
        })
        .transpose()?;
    Ok(Candidate { tarball: copy, signature, origin: tarball.display().to_string() })
}

fn from_url(plan: &Plan, url: &str, into: &Path) -> Result<Candidate> {
    if url.ends_with(".tar.gz") || url.ends_with(".tgz") {
        let tarball = into.join(&plan.release.upstream_file);
        upstream::download_url(url, &tarball)?;
        let sig = into.join(format!("{}.sig", plan.release.upstream_file));
        let signature = upstream::download_url(&format!("{url}.sig"), &sig).is_ok().then_some(sig);
        Ok(Candidate { tarball, signature, origin: url.to_string() })
    } else {
        upstream::download(plan, url, into)
    }
}

/// The names a tarball of this release goes by: upstream's and Debian's.
fn file_names(plan: &Plan) -> Vec<String> {
    vec![plan.release.upstream_file.clone(), format!("sendmail_{}.orig.tar.gz", plan.version)]
}

//! sendmail's own distribution site, the primary source for real users.

use super::Candidate;
use crate::{plan::Plan, tools};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

pub(crate) const DEFAULT_URL: &str = "https://ftp.sendmail.org/";

/// Downloads the tarball and, when published, its detached signature.
pub fn download(plan: &Plan, base: &str, into: &Path) -> Result<Candidate> {
    let file = &plan.release.upstream_file;
    let url = join_url(base, file);
    let tarball = into.join(file);
    crate::progress::info(&format!("downloading {url}"));
    download_url(&url, &tarball)?;
    let mut signature = None;
    for ext in ["sig", "asc"] {
        let sig = into.join(format!("{file}.{ext}"));
        if download_url(&format!("{url}.{ext}"), &sig).is_ok() {
            signature = Some(sig);
            break;
        }
    }
    Ok(Candidate { tarball, signature, origin: url })
}

pub(crate) fn join_url(base: &str, file: &str) -> String {
    format!("{}/{file}", base.trim_end_matches('/'))
}

/// Fetches one URL to `dest` with curl, or fetch(1) on FreeBSD.
pub(crate) fn download_url(url: &str, dest: &Path) -> Result<()> {
    let out = if let Ok(curl) = which::which("curl") {
        crate::proc::capture(
            Command::new(curl)
                .args(["--fail", "--location", "--silent", "--show-error"])
                .args(["--connect-timeout", "15", "--max-time", "600", "--output"])
                .arg(dest)
                .arg(url),
        )?
    } else if let Ok(fetch) = which::which("fetch") {
        crate::proc::capture(Command::new(fetch).args(["-q", "-T", "60", "-o"]).arg(dest).arg(url))?
    } else {
        bail!("{}", tools::missing_message(&tools::CURL, tools::Os::detect()));
    };
    if !out.status.success() {
        let _ = std::fs::remove_file(dest);
        let err = String::from_utf8_lossy(&out.stderr);
        bail!("{url}: {}", err.trim().lines().last().unwrap_or("download failed"));
    }
    std::fs::metadata(dest).with_context(|| format!("{url} produced no file"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(super::join_url("https://ftp.sendmail.org/", "a.tgz"), "https://ftp.sendmail.org/a.tgz");
        assert_eq!(super::join_url("http://127.0.0.1:8080", "a.tgz"), "http://127.0.0.1:8080/a.tgz");
    }
}

//! Proving a tarball is the pinned one: size, SHA-256, and the upstream
//! OpenPGP signature checked against the pinned key fingerprint.

use crate::{
    digest::{sha256_file, sha512_file},
    plan::workspace_root,
    releases::Release,
    tools,
};
use anyhow::{bail, Context, Result};
use base64::Engine;
use std::path::Path;
use std::process::Command;

/// Fails unless `path` has the release's size (when pinned) and every sum
/// pinned (SHA-256, SHA-512).
pub(crate) fn check_tarball(path: &Path, release: &Release) -> Result<()> {
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if release.size != 0 && size != release.size {
        bail!(
            "{} has {size} bytes, but sendmail {} is pinned at {} bytes",
            path.display(),
            release.version,
            release.size
        );
    }
    if release.sha256.is_empty() && release.sha512.is_empty() {
        bail!("sendmail {} has no pinned sum: pin it with --sha256 HEX", release.version);
    }
    if !release.sha256.is_empty() {
        let sum = sha256_file(path)?;
        if sum != release.sha256 {
            bail!(
                "{} has SHA-256 {sum}, but sendmail {} is pinned at {}",
                path.display(),
                release.version,
                release.sha256
            );
        }
    }
    if !release.sha512.is_empty() {
        let sum = sha512_file(path)?;
        if sum != release.sha512 {
            bail!(
                "{} has SHA-512 {sum}, but sendmail {} is pinned at SHA-512 {}",
                path.display(),
                release.version,
                release.sha512
            );
        }
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "kebab-case")]
pub enum Signature {
    /// Good signature, and by which key ("by pinned key FPR").
    Verified(String),
    /// Not checked, and why.
    NotChecked(String),
}

/// Checks `sig` over `file` with gpgv against the committed sendmail keys,
/// then insists that the signing key is the one pinned for the release, or,
/// for a release without one, one of sendmail's pinned signing keys.
pub fn check_signature(file: &Path, sig: Option<&Path>, release: &Release, scratch: &Path) -> Result<Signature> {
    let Some(sig) = sig else {
        return Ok(Signature::NotChecked("no .sig or .asc was available from this source".into()));
    };
    let Ok(gpgv) = which::which("gpgv") else {
        return Ok(Signature::NotChecked(tools::missing_message(&tools::GPGV, tools::Os::detect())));
    };
    let keyring = scratch.join("sendmail-keys.gpg");
    std::fs::write(&keyring, dearmor(&std::fs::read_to_string(keys_file())?)?)
        .with_context(|| format!("writing {}", keyring.display()))?;
    let out = crate::proc::capture(
        Command::new(gpgv).args(["--status-fd", "1", "--keyring"]).arg(&keyring).arg(sig).arg(file),
    )?;
    let _ = std::fs::remove_file(&keyring);
    let status = String::from_utf8_lossy(&out.stdout);
    let Some(fpr) = valid_signer(&status) else {
        bail!(
            "the OpenPGP signature {} does not verify {}: {}",
            sig.display(),
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )
    };
    judge_signer(&fpr, release, &crate::releases::table().signing_keys)
}

/// Whether a good signature by `fpr` counts for `release`.
pub(crate) fn judge_signer(fpr: &str, release: &Release, pinned: &[String]) -> Result<Signature> {
    let fpr = fpr.to_ascii_uppercase();
    if !release.signing_key.is_empty() {
        if fpr.eq_ignore_ascii_case(&release.signing_key) {
            return Ok(Signature::Verified(format!("by pinned key {fpr}")));
        }
        bail!("signed by key {fpr}, not by the key pinned for sendmail {} ({})", release.version, release.signing_key);
    }
    if pinned.iter().any(|k| k.eq_ignore_ascii_case(&fpr)) {
        return Ok(Signature::Verified(format!(
            "by sendmail signing key {fpr} (no key is pinned for {}: any pinned sendmail key is accepted)",
            release.version
        )));
    }
    bail!("signed by key {fpr}, which is not one of sendmail's pinned signing keys (releases.toml signing_keys)")
}

pub fn keys_file() -> std::path::PathBuf {
    workspace_root().join("keys/sendmail-signing-keys.asc")
}

/// The primary key fingerprint from gpgv's `VALIDSIG` status line, if any.
pub(crate) fn valid_signer(status: &str) -> Option<String> {
    status
        .lines()
        .filter_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "))
        .filter_map(|rest| rest.split_whitespace().last().map(str::to_owned))
        .next()
}

/// Decodes an ASCII-armored OpenPGP block (gpgv reads only binary keyrings).
pub(crate) fn dearmor(text: &str) -> Result<Vec<u8>> {
    let mut body = String::new();
    let mut in_block = false;
    let mut in_headers = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with("-----BEGIN PGP") {
            in_block = true;
            in_headers = true;
        } else if line.starts_with("-----END PGP") {
            break;
        } else if in_block && in_headers {
            in_headers = !line.is_empty() && line.contains(':');
            if !in_headers && !line.is_empty() {
                body.push_str(line);
            }
        } else if in_block && !line.starts_with('=') {
            body.push_str(line);
        }
    }
    if body.is_empty() {
        bail!("no ASCII-armored OpenPGP block found");
    }
    base64::engine::general_purpose::STANDARD.decode(body).context("decoding the armored OpenPGP block")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signers_are_judged_against_the_pins() {
        let t = crate::releases::table();
        let pinned = t.find(&"8.18.2".parse().unwrap()).unwrap().clone();
        let k2025 = "032312C7C0C2B1973D5013180C19D37CB7E6543E";
        let k2022 = "6327DDCB5E7E80E4987EA3B7FD79DC0C81D9210A";
        assert_eq!(
            judge_signer(k2025, &pinned, &t.signing_keys).unwrap(),
            Signature::Verified(format!("by pinned key {k2025}"))
        );
        assert!(judge_signer(k2022, &pinned, &t.signing_keys)
            .unwrap_err()
            .to_string()
            .contains("not by the key pinned"));
        let unpinned = Release::user_pinned(&"8.17.2".parse().unwrap(), &"ab".repeat(32)).unwrap();
        let Signature::Verified(by) = judge_signer(&k2022.to_lowercase(), &unpinned, &t.signing_keys).unwrap() else {
            panic!()
        };
        assert!(by.contains(k2022) && by.contains("any pinned sendmail key"), "{by}");
        let stranger = "0000000000000000000000000000000000000000";
        assert!(judge_signer(stranger, &unpinned, &t.signing_keys).unwrap_err().to_string().contains("not one of"));
    }

    #[test]
    fn validsig_gives_primary_fingerprint() {
        let status = "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 0C19D37CB7E6543E Sendmail Signing Key/2025\n\
[GNUPG:] VALIDSIG 032312C7C0C2B1973D5013180C19D37CB7E6543E 2025-12-27 1766823694 0 4 0 1 2 00 032312C7C0C2B1973D5013180C19D37CB7E6543E\n";
        assert_eq!(valid_signer(status).as_deref(), Some("032312C7C0C2B1973D5013180C19D37CB7E6543E"));
        assert_eq!(valid_signer("[GNUPG:] BADSIG 0C19D37CB7E6543E x\n"), None);
    }

    #[test]
    fn committed_keys_dearmor_to_openpgp_packets() {
        let bin = dearmor(&std::fs::read_to_string(keys_file()).unwrap()).unwrap();
        // An OpenPGP public-key packet starts with tag 6 (old: 0x99, new: 0xc6).
        assert!(matches!(bin[0], 0x99 | 0xc6), "first byte {:#x}", bin[0]);
        assert!(bin.len() > 2000);
    }

    #[test]
    fn size_and_sum_are_both_checked() {
        let dir = std::env::temp_dir().join(format!("smtls-checksum-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.tar.gz");
        std::fs::write(&f, b"hello").unwrap();
        let mut r = crate::releases::Release::user_pinned(&"8.18.2".parse().unwrap(), &"00".repeat(32)).unwrap();
        assert!(check_tarball(&f, &r).unwrap_err().to_string().contains("SHA-256"));
        r.sha256 = sha256_file(&f).unwrap();
        check_tarball(&f, &r).unwrap();
        r.size = 6;
        assert!(check_tarball(&f, &r).unwrap_err().to_string().contains("5 bytes"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_release_pinned_by_sha512_alone_is_checked_by_it() {
        let dir = std::env::temp_dir().join(format!("smtls-checksum512-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("t.tar.gz");
        std::fs::write(&f, b"hello").unwrap();
        let mut r = crate::releases::Release::user_pinned(&"8.16.1".parse().unwrap(), &"00".repeat(32)).unwrap();
        r.sha256 = String::new();
        r.sha512 = "00".repeat(64);
        let e = check_tarball(&f, &r).unwrap_err().to_string();
        assert!(e.contains("SHA-512") && e.contains("pinned at SHA-512"), "{e}");
        // sha512sum of "hello", computed independently of this crate.
        r.sha512 = "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043".into();
        check_tarball(&f, &r).unwrap();
        assert_eq!(r.source_id(), format!("sha512:{}", r.sha512));
        // A --sha256 given too must hold as well.
        r.sha256 = "00".repeat(32);
        assert!(check_tarball(&f, &r).unwrap_err().to_string().contains("SHA-256"));
        r.sha256 = String::new();
        r.sha512 = String::new();
        assert!(check_tarball(&f, &r).unwrap_err().to_string().contains("no pinned sum"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

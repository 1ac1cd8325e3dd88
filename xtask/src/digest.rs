//! SHA-256 and hex: the one digest every step, stamp and package uses
//! (and SHA-512, for a release whose published sum is one).

use anyhow::{Context, Result};
use sha2::{Digest, Sha256, Sha512};
use std::{io::Read, path::Path};

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `bytes`, in hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The SHA-256 of a file's content, in hex, read in blocks.
pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    file_digest::<Sha256>(path)
}

/// The SHA-512 of a file's content, in hex, read in blocks.
pub(crate) fn sha512_file(path: &Path) -> Result<String> {
    file_digest::<Sha512>(path)
}

fn file_digest<D: Digest>(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = D::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(hex(&[0, 0x0f, 0xff]), "000fff");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        let f = std::env::temp_dir().join(format!("smtls-digest-{}", std::process::id()));
        std::fs::write(&f, b"abc").unwrap();
        assert_eq!(sha256_file(&f).unwrap(), sha256_hex(b"abc"));
        std::fs::remove_file(&f).unwrap();
    }
}

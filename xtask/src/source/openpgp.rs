//! The little OpenPGP a source package needs, without gpg: ASCII armor
//! (RFC 4880 6.2, with its CRC-24), and one key taken out of a keyring by
//! its v4 fingerprint (so `debian/upstream/signing-key.asc` holds the
//! pinned key only).

use anyhow::{bail, Context, Result};
use base64::Engine;
use sha1::Digest;

/// CRC-24 of RFC 4880 6.1.
pub fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0xB704CE;
    for &b in data {
        crc ^= (b as u32) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x1000000 != 0 {
                crc ^= 0x1864CFB;
            }
        }
    }
    crc & 0xFFFFFF
}

/// `data` armored as `kind` ("PGP SIGNATURE", "PGP PUBLIC KEY BLOCK"):
/// no headers, 64 columns, the checksum line.
pub fn armor(kind: &str, data: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b64.encode(data);
    let mut s = format!("-----BEGIN {kind}-----\n\n");
    for chunk in body.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        s.push('\n');
    }
    let crc = crc24(data).to_be_bytes();
    s.push_str(&format!("={}\n-----END {kind}-----\n", b64.encode(&crc[1..])));
    s
}

/// The pinned key `fpr` alone, cut out of the committed keyring and
/// armored: what a source package ships to check upstream's signature.
pub fn pinned_key(fpr: &str) -> Result<String> {
    let path = crate::fetch::checksum::keys_file();
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let ring = crate::fetch::checksum::dearmor(&text)?;
    Ok(armor("PGP PUBLIC KEY BLOCK", &extract_key(&ring, fpr)?))
}

/// Whether `bytes` are already armored text.
pub fn is_armored(bytes: &[u8]) -> bool {
    bytes.starts_with(b"-----BEGIN PGP")
}

/// One packet: tag, the whole packet's bytes, its body's range in them.
struct Packet<'a> {
    tag: u8,
    whole: &'a [u8],
    body: &'a [u8],
}

fn packets(data: &[u8]) -> Result<Vec<Packet<'_>>> {
    let mut out = vec![];
    let mut i = 0;
    while i < data.len() {
        let h = data[i];
        if h & 0x80 == 0 {
            bail!("byte {i} of the keyring is not an OpenPGP packet header");
        }
        let at = |k: usize| data.get(k).copied().map(usize::from).context("the keyring ends inside a packet header");
        let (tag, len, hdr) = if h & 0x40 != 0 {
            let o1 = at(i + 1)?;
            match o1 {
                0..=191 => (h & 0x3f, o1, 2),
                192..=223 => (h & 0x3f, ((o1 - 192) << 8) + at(i + 2)? + 192, 3),
                255 => (h & 0x3f, (at(i + 2)? << 24) | (at(i + 3)? << 16) | (at(i + 4)? << 8) | at(i + 5)?, 6),
                _ => bail!("partial body lengths do not occur in a keyring"),
            }
        } else {
            let tag = (h >> 2) & 0x0f;
            match h & 3 {
                0 => (tag, at(i + 1)?, 2),
                1 => (tag, (at(i + 1)? << 8) | at(i + 2)?, 3),
                2 => (tag, (at(i + 1)? << 24) | (at(i + 2)? << 16) | (at(i + 3)? << 8) | at(i + 4)?, 5),
                _ => bail!("indeterminate packet lengths do not occur in a keyring"),
            }
        };
        let end = i + hdr + len;
        if end > data.len() {
            bail!("a packet of the keyring runs past its end");
        }
        out.push(Packet { tag, whole: &data[i..end], body: &data[i + hdr..end] });
        i = end;
    }
    Ok(out)
}

/// The v4 fingerprint of a public-key packet body, upper-case hex.
pub fn fingerprint(body: &[u8]) -> String {
    let mut h = sha1::Sha1::new();
    h.update([0x99]);
    h.update((body.len() as u16).to_be_bytes());
    h.update(body);
    crate::digest::hex(&h.finalize()).to_ascii_uppercase()
}

/// The transferable public key (primary key, user ids, signatures,
/// subkeys) whose primary fingerprint is `fpr`, out of a binary keyring.
pub fn extract_key(keyring: &[u8], fpr: &str) -> Result<Vec<u8>> {
    let mut out = vec![];
    let mut taking = false;
    let mut found = false;
    for p in packets(keyring)? {
        if p.tag == 6 {
            taking = fingerprint(p.body).eq_ignore_ascii_case(fpr);
            found |= taking;
        }
        if taking {
            out.extend_from_slice(p.whole);
        }
    }
    if !found {
        bail!("the keyring has no key with fingerprint {fpr}");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc24_and_armor() {
        // RFC 4880's initial value is the CRC of nothing.
        assert_eq!(crc24(b""), 0xB704CE);
        let a = armor("PGP SIGNATURE", &[0u8; 100]);
        assert!(a.starts_with("-----BEGIN PGP SIGNATURE-----\n\nAAAA"), "{a}");
        assert!(a.ends_with("-----END PGP SIGNATURE-----\n") && a.lines().all(|l| l.len() <= 64), "{a}");
        // What gpg's own dearmoring reads back.
        let text = a.lines().filter(|l| !l.starts_with("-----") && !l.starts_with('=')).collect::<String>();
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(text).unwrap(), vec![0u8; 100]);
        assert!(is_armored(a.as_bytes()) && !is_armored(&[0x89, 1]));
    }

    #[test]
    fn the_pinned_key_alone_comes_out_of_the_committed_keyring() {
        let table = crate::releases::table();
        let ring_text = std::fs::read_to_string(crate::fetch::checksum::keys_file()).unwrap();
        let ring = crate::fetch::checksum::dearmor(&ring_text).unwrap();
        let pinned = &table.signing_keys[table.signing_keys.len() - 1];
        let key = extract_key(&ring, pinned).unwrap();
        let primaries: Vec<String> =
            packets(&key).unwrap().iter().filter(|p| p.tag == 6).map(|p| fingerprint(p.body)).collect();
        assert_eq!(&primaries, std::slice::from_ref(pinned));
        assert!(key.len() < ring.len());
        let all: Vec<String> =
            packets(&ring).unwrap().iter().filter(|p| p.tag == 6).map(|p| fingerprint(p.body)).collect();
        assert_eq!(all.len(), table.signing_keys.len(), "{all:?}");
        assert!(extract_key(&ring, "0000000000000000000000000000000000000000").is_err());
        assert!(packets(&[0x12]).is_err(), "not a packet");
    }
}

//! The pinned signing key alone, cut out of the committed keyring
//! (`keys/sendmail-signing-keys.asc`, every sendmail key since 2010), so a
//! source package ships exactly the key its release is signed with.
//!
//! Pure: OpenPGP packets are split at each public-key packet (RFC 4880
//! 4.2, 11.1), a v4 key is identified by its fingerprint (SHA-1 of 0x99,
//! the two-octet length and the packet body, 12.2), and the chosen key is
//! armored again with its CRC-24 (6.1) and no header, so the bytes depend
//! on the keyring alone.

use anyhow::{bail, Context, Result};
use base64::Engine;
use sha1::Digest;

/// One packet: its tag and the whole packet (header and body).
struct Packet<'a> {
    tag: u8,
    body: &'a [u8],
    whole: &'a [u8],
}

fn packets(data: &[u8]) -> Result<Vec<Packet<'_>>> {
    let mut out = vec![];
    let mut at = 0;
    while at < data.len() {
        let start = at;
        let ctb = data[at];
        if ctb & 0x80 == 0 {
            bail!("byte {at} of the keyring is not an OpenPGP packet header ({ctb:#04x})");
        }
        let byte = |i: usize| data.get(i).copied().context("the keyring ends inside a packet header");
        let (tag, len, header) = if ctb & 0x40 != 0 {
            let o1 = byte(at + 1)? as usize;
            match o1 {
                0..=191 => (ctb & 0x3f, o1, 2),
                192..=223 => (ctb & 0x3f, ((o1 - 192) << 8) + byte(at + 2)? as usize + 192, 3),
                255 => {
                    let n = u32::from_be_bytes([byte(at + 2)?, byte(at + 3)?, byte(at + 4)?, byte(at + 5)?]);
                    (ctb & 0x3f, n as usize, 6)
                }
                _ => bail!("a partial-length packet at byte {at}: not a keyring"),
            }
        } else {
            let tag = (ctb >> 2) & 0x0f;
            match ctb & 3 {
                0 => (tag, byte(at + 1)? as usize, 2),
                1 => (tag, u16::from_be_bytes([byte(at + 1)?, byte(at + 2)?]) as usize, 3),
                2 => {
                    let n = u32::from_be_bytes([byte(at + 1)?, byte(at + 2)?, byte(at + 3)?, byte(at + 4)?]);
                    (tag, n as usize, 5)
                }
                _ => bail!("an indeterminate-length packet at byte {at}: not a keyring"),
            }
        };
        let end = at + header + len;
        if end > data.len() {
            bail!("the packet at byte {at} runs past the end of the keyring");
        }
        out.push(Packet { tag, body: &data[at + header..end], whole: &data[start..end] });
        at = end;
    }
    Ok(out)
}

/// The v4 fingerprint (upper-case hex) of a public-key packet body; None
/// for other versions.
fn fingerprint(body: &[u8]) -> Option<String> {
    if body.first() != Some(&4) {
        return None;
    }
    let len = u16::try_from(body.len()).ok()?;
    let mut h = sha1::Sha1::new();
    h.update([0x99]);
    h.update(len.to_be_bytes());
    h.update(body);
    Some(h.finalize().iter().map(|b| format!("{b:02X}")).collect())
}

/// The packets of the key whose primary fingerprint is `fpr` (binary).
pub fn select(keyring: &[u8], fpr: &str) -> Result<Vec<u8>> {
    const PUBLIC_KEY: u8 = 6;
    let mut out: Option<Vec<u8>> = None;
    let mut taking = false;
    let mut seen = vec![];
    for p in packets(keyring)? {
        if p.tag == PUBLIC_KEY {
            let this = fingerprint(p.body).unwrap_or_default();
            taking = this.eq_ignore_ascii_case(fpr);
            seen.push(this);
            if taking && out.is_some() {
                bail!("the keyring holds key {fpr} twice");
            }
            if taking {
                out = Some(vec![]);
            }
        }
        if taking {
            out.as_mut().expect("set when taking starts").extend_from_slice(p.whole);
        }
    }
    out.with_context(|| format!("the keyring has no key {fpr} (it has {})", seen.join(", ")))
}

/// OpenPGP's CRC-24 (RFC 4880 6.1).
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00b7_04ce;
    for b in data {
        crc ^= (*b as u32) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4cfb;
            }
        }
    }
    crc & 0x00ff_ffff
}

/// An armored public key block without headers: the BEGIN line, a blank
/// line, the body in lines of 64, `=` and the CRC, the END line.
pub fn armor(packets: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let body = b64.encode(packets);
    let mut out = String::from("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push('=');
    out.push_str(&b64.encode(&crc24(packets).to_be_bytes()[1..]));
    out.push_str("\n-----END PGP PUBLIC KEY BLOCK-----\n");
    out
}

/// The key `fpr` of the armored keyring `armored`, armored alone.
pub fn pinned_key(armored: &str, fpr: &str) -> Result<String> {
    let binary = crate::fetch::checksum::dearmor(armored)?;
    Ok(armor(&select(&binary, fpr)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K2025: &str = "032312C7C0C2B1973D5013180C19D37CB7E6543E";

    fn committed() -> String {
        std::fs::read_to_string(crate::fetch::checksum::keys_file()).unwrap()
    }

    #[test]
    fn the_pinned_key_is_cut_out_whole() {
        let all = crate::fetch::checksum::dearmor(&committed()).unwrap();
        let one = select(&all, K2025).unwrap();
        assert!(one.len() < all.len() / 4, "{} of {}", one.len(), all.len());
        let ps = packets(&one).unwrap();
        assert_eq!(ps[0].tag, 6);
        assert_eq!(fingerprint(ps[0].body).as_deref(), Some(K2025));
        assert_eq!(ps.iter().filter(|p| p.tag == 6).count(), 1, "one primary key");
        assert!(ps.iter().any(|p| p.tag == 13), "its user id");
        assert!(ps.iter().any(|p| p.tag == 2), "its self-signature");
        // Lower case works too; an unknown key is named with the ones there are.
        assert_eq!(select(&all, &K2025.to_lowercase()).unwrap(), one);
        let e = select(&all, "0000000000000000000000000000000000000000").unwrap_err().to_string();
        assert!(e.contains("has no key") && e.contains(K2025), "{e}");
    }

    #[test]
    fn armor_round_trips_with_its_checksum() {
        let a = pinned_key(&committed(), K2025).unwrap();
        assert!(a.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"), "{a}");
        assert!(a.ends_with("\n-----END PGP PUBLIC KEY BLOCK-----\n"), "{a}");
        assert!(a.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        let back = crate::fetch::checksum::dearmor(&a).unwrap();
        assert_eq!(back, select(&crate::fetch::checksum::dearmor(&committed()).unwrap(), K2025).unwrap());
        // RFC 4880's CRC-24 of nothing is its initial value; of "123456789" the known check value.
        assert_eq!(crc24(b""), 0xb704ce);
        assert_eq!(crc24(b"123456789"), 0x21cf02);
    }

    #[test]
    fn broken_keyrings_are_refused() {
        assert!(packets(&[0x00]).is_err());
        assert!(packets(&[0x99, 0x00]).is_err(), "cut short");
        assert!(packets(&[0xc6, 0xe0]).is_err(), "partial length");
    }
}

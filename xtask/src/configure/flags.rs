//! Which preprocessor defines give a TLS-enabled sendmail, per version.

use crate::releases::Version;
use anyhow::{bail, Result};

/// What the user asked for; STARTTLS is always on.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub(crate) struct TlsRequest {
    pub ec: bool,
    pub(crate) cert_chain: bool,
    /// Extra defines for sendmail itself, such as `NO_DH`.
    pub extra: Vec<String>,
}

impl Default for TlsRequest {
    fn default() -> Self {
        TlsRequest { ec: true, cert_chain: true, extra: vec![] }
    }
}

fn v(s: &str) -> Version {
    s.parse().expect("literal version")
}

/// The first version with `_FFR_TLS_EC`.
pub(crate) const EC_FFR_SINCE: &str = "8.14.8";
/// Since this version the EC flag is spelled `TLS_EC`.
pub(crate) const EC_OFFICIAL_SINCE: &str = "8.16.1";
/// The first version with `_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE`.
pub(crate) const CERT_CHAIN_SINCE: &str = "8.15.1";
/// Since this version `NO_DH` together with `TLS_EC` is an `#error`.
pub(crate) const NO_DH_WITH_EC_ERROR_SINCE: &str = "8.17.2";

/// The first OpenSSL (version number) where `SSL_CTX_set_ecdh_auto` leaves
/// OpenSSL's own list of groups on: 1.1.0.
pub(crate) const ECDH_AUTO_OPENSSL: u64 = 0x1010_0000;

/// The EC define with its value, for this version and the OpenSSL it is
/// built against (`OPENSSL_VERSION_NUMBER`).
///
/// `TLS_EC=1` (what a bare `-DTLS_EC` means) calls
/// `SSL_CTX_set_tmp_ecdh(P-256)`: on OpenSSL 1.1.0 and later that replaces
/// the default groups by P-256 alone, so a client that offers X25519 first
/// (most do) needs a HelloRetryRequest. `TLS_EC=2` calls
/// `SSL_CTX_set_ecdh_auto`, which leaves OpenSSL's defaults (X25519, P-256,
/// P-384, P-521, X448) in place. Before 1.1.0 automatic selection was
/// opt-in and less proven, so 1 stays there. `_FFR_TLS_EC` (before 8.16.1)
/// knows only the fixed curve.
pub(crate) fn ec_define_for(version: &Version, openssl: u64) -> Result<String> {
    let name = ec_define(version)?;
    Ok(match name {
        "TLS_EC" if openssl >= ECDH_AUTO_OPENSSL => "TLS_EC=2".to_string(),
        "TLS_EC" => "TLS_EC=1".to_string(),
        other => other.to_string(),
    })
}

/// The name of the EC define for this version.
pub(crate) fn ec_define(version: &Version) -> Result<&'static str> {
    if *version < v(EC_FFR_SINCE) {
        bail!("sendmail {version} has no elliptic-curve key exchange (it arrived in {EC_FFR_SINCE} as _FFR_TLS_EC); use a newer release or --no-ec");
    }
    Ok(if *version < v(EC_OFFICIAL_SINCE) { "_FFR_TLS_EC" } else { "TLS_EC" })
}

/// Every spelling that turns elliptic curves on in this version: the
/// official name first. Since `TLS_EC` became official, `tls.h` still maps
/// `_FFR_TLS_EC` onto it, so a build file that already says either needs no
/// change.
pub(crate) fn ec_spellings(version: &Version) -> Result<Vec<&'static str>> {
    let official = ec_define(version)?;
    Ok(if official == "TLS_EC" { vec!["TLS_EC", "_FFR_TLS_EC"] } else { vec![official] })
}

/// The defines (without `-D`) for sendmail, in the order they are passed,
/// for a build against OpenSSL `openssl` (`OPENSSL_VERSION_NUMBER`).
pub(crate) fn tls_defines(version: &Version, req: &TlsRequest, openssl: u64) -> Result<Vec<String>> {
    let mut out = vec!["STARTTLS".to_string()];
    if req.ec {
        out.push(ec_define_for(version, openssl)?);
    }
    if req.cert_chain {
        if *version < v(CERT_CHAIN_SINCE) {
            bail!("sendmail {version} has no _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE (it arrived in {CERT_CHAIN_SINCE}); use a newer release or --no-cert-chain");
        }
        out.push("_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE".to_string());
    }
    for d in &req.extra {
        let name = d.split('=').next().unwrap_or(d);
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("--define {d}: expected NAME or NAME=VALUE with a C identifier as NAME");
        }
        if name == "NO_DH" && req.ec && *version >= v(NO_DH_WITH_EC_ERROR_SINCE) {
            bail!("--define NO_DH cannot be combined with TLS_EC in sendmail {version} (an #error since {NO_DH_WITH_EC_ERROR_SINCE}); drop NO_DH or pass --no-ec");
        }
        if !out.iter().any(|o| o == d) {
            out.push(d.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENSSL3: u64 = 0x3000_0130;

    fn defines(ver: &str, req: &TlsRequest) -> Result<Vec<String>> {
        tls_defines(&ver.parse().unwrap(), req, OPENSSL3)
    }

    #[test]
    fn every_pinned_release_gets_its_flags() {
        let t = crate::releases::table();
        let req = TlsRequest::default();
        let mut seen = vec![];
        for (rel, ec) in [
            ("8.18.2", "TLS_EC=2"),
            ("8.18.1", "TLS_EC=2"),
            ("8.17.1.9", "TLS_EC=2"),
            ("8.17.1", "TLS_EC=2"),
            ("8.16.1", "TLS_EC=2"),
            ("8.15.2", "_FFR_TLS_EC"),
        ] {
            let v: Version = rel.parse().unwrap();
            assert!(t.find(&v).is_some(), "{rel} pinned");
            let d = tls_defines(&v, &req, OPENSSL3).unwrap();
            assert_eq!(d, ["STARTTLS", ec, "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"], "{rel}");
            seen.push(rel);
        }
        assert_eq!(seen.len(), t.releases.len(), "a pinned release without its answer here");
    }

    #[test]
    fn ec_mode_follows_the_openssl() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert_eq!(ec_define_for(&v("8.18.2"), OPENSSL3).unwrap(), "TLS_EC=2");
        assert_eq!(ec_define_for(&v("8.17.1.9"), 0x1010_117f).unwrap(), "TLS_EC=2");
        assert_eq!(ec_define_for(&v("8.16.1"), 0x1010_0000).unwrap(), "TLS_EC=2");
        assert_eq!(ec_define_for(&v("8.16.1"), 0x1000_2150).unwrap(), "TLS_EC=1", "1.0.2u");
        assert_eq!(ec_define_for(&v("8.15.2"), OPENSSL3).unwrap(), "_FFR_TLS_EC");
        assert_eq!(ec_define_for(&v("8.15.2"), 0x1000_2150).unwrap(), "_FFR_TLS_EC");
        assert!(ec_define_for(&v("8.14.7"), OPENSSL3).is_err());
    }

    #[test]
    fn ec_spelling_follows_the_version() {
        let r = TlsRequest::default();
        assert_eq!(defines("8.18.2", &r).unwrap(), ["STARTTLS", "TLS_EC=2", "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"]);
        assert_eq!(defines("8.17.1.9", &r).unwrap(), ["STARTTLS", "TLS_EC=2", "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"]);
        assert_eq!(defines("8.16.1", &r).unwrap()[1], "TLS_EC=2");
        assert_eq!(defines("8.15.2", &r).unwrap()[1], "_FFR_TLS_EC");
        assert_eq!(defines("8.15.1", &r).unwrap()[2], "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE");
    }

    #[test]
    fn ec_aliases_follow_the_version() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert_eq!(ec_spellings(&v("8.18.2")).unwrap(), ["TLS_EC", "_FFR_TLS_EC"]);
        assert_eq!(ec_spellings(&v("8.15.2")).unwrap(), ["_FFR_TLS_EC"]);
        assert!(ec_spellings(&v("8.14.7")).is_err());
    }

    #[test]
    fn impossible_combinations_are_refused() {
        let r = TlsRequest::default();
        let e = defines("8.15.0", &r).unwrap_err().to_string();
        assert!(e.contains("8.15.1") && e.contains("--no-cert-chain"), "{e}");
        let e = defines("8.14.7", &TlsRequest { cert_chain: false, ..r.clone() }).unwrap_err().to_string();
        assert!(e.contains("--no-ec"), "{e}");
        let no_dh = TlsRequest { extra: vec!["NO_DH".into()], ..r.clone() };
        assert!(defines("8.17.2", &no_dh).unwrap_err().to_string().contains("NO_DH"));
        assert!(defines("8.18.2", &no_dh).is_err());
        assert!(defines("8.17.1.9", &no_dh).is_ok(), "the #error arrived in 8.17.2");
        assert!(defines("8.18.2", &TlsRequest { ec: false, ..no_dh }).is_ok());
        assert!(defines("8.18.2", &TlsRequest { extra: vec!["A B".into()], ..r }).is_err());
    }

    #[test]
    fn switches_drop_their_flag() {
        let r = TlsRequest { ec: false, cert_chain: false, extra: vec![] };
        assert_eq!(defines("8.18.2", &r).unwrap(), ["STARTTLS"]);
    }

    #[test]
    fn each_pinned_release_gets_its_flags() {
        // (Moved here from releases.rs: releases sits below configure.)
        let t = crate::releases::table();
        let v = |s: &str| s.parse::<crate::releases::Version>().unwrap();
        let req = TlsRequest::default();
        for (rel, ec) in [
            ("8.18.2", "TLS_EC=2"),
            ("8.18.1", "TLS_EC=2"),
            ("8.17.1.9", "TLS_EC=2"),
            ("8.17.1", "TLS_EC=2"),
            ("8.16.1", "TLS_EC=2"),
            ("8.15.2", "_FFR_TLS_EC"),
        ] {
            assert!(t.find(&v(rel)).is_some(), "{rel} pinned");
            let d = tls_defines(&v(rel), &req, 0x3000_0130).unwrap();
            assert_eq!(d, ["STARTTLS", ec, "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"], "{rel}");
        }
    }
}

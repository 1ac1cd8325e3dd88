//! A throwaway PKI (root CA -> intermediate CA -> server leaf) made with
//! rcgen, and its installation the way sendmail's documentation tells
//! administrators to lay out `CERT_DIR`.

use anyhow::{bail, Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::CertificateDer;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Common names, so that output and test failures say which certificate is which.
pub(crate) const ROOT_CN: &str = "smtls smoke root CA";
pub(crate) const INTERMEDIATE_CN: &str = "smtls smoke intermediate CA";

/// Certificates and keys of one throwaway PKI, in memory.
pub struct Pki {
    pub(crate) root_pem: String,
    pub(crate) root_der: CertificateDer<'static>,
    pub(crate) intermediate_pem: String,
    pub(crate) intermediate_der: CertificateDer<'static>,
    pub(crate) leaf_pem: String,
    pub(crate) leaf_der: CertificateDer<'static>,
    pub(crate) leaf_key_pem: String,
    /// Further intermediates above the first, in chain order (an
    /// administrator's set may have two; the throwaway PKI has none).
    pub(crate) more_intermediates: Vec<CertificateDer<'static>>,
}

impl Pki {
    /// The server certificate file: the leaf, then the intermediate.
    pub(crate) fn chain_pem(&self) -> String {
        format!("{}{}", self.leaf_pem, self.intermediate_pem)
    }

    /// Every intermediate, the one that issued the leaf first.
    pub fn intermediates(&self) -> Vec<CertificateDer<'static>> {
        std::iter::once(self.intermediate_der.clone()).chain(self.more_intermediates.iter().cloned()).collect()
    }

    /// An installed set (`sendmail-certs install`, or by hand): the chain
    /// file (leaf, then at least one intermediate), the key, and the root
    /// CA a client trusts. The files are taken as they are: the smoke
    /// checks judge them.
    pub fn from_installed(chain_pem: &str, key_pem: &str, root_pem: &str) -> Result<Pki> {
        let chain = pem_certificates(chain_pem)?;
        let roots = pem_certificates(root_pem)?;
        let (Some(leaf), Some(intermediate), Some(root)) = (chain.first(), chain.get(1), roots.first()) else {
            bail!(
                "an installed set needs a chain file with the leaf and at least one intermediate ({} certificate(s) \
                 found), and a root CA ({} found)",
                chain.len(),
                roots.len()
            );
        };
        let pem = |der: &CertificateDer| {
            use base64::Engine;
            let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
            let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or("")).collect();
            format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
        };
        Ok(Pki {
            root_pem: pem(root),
            root_der: root.clone(),
            intermediate_pem: pem(intermediate),
            intermediate_der: intermediate.clone(),
            leaf_pem: pem(leaf),
            leaf_der: leaf.clone(),
            leaf_key_pem: key_pem.to_string(),
            more_intermediates: chain[2..].to_vec(),
        })
    }

    /// Names a certificate the server sent: "leaf", "intermediate", "root" or "unknown".
    pub fn name_of(&self, der: &[u8]) -> &'static str {
        if der == self.leaf_der.as_ref() {
            "leaf"
        } else if der == self.intermediate_der.as_ref() || self.more_intermediates.iter().any(|i| der == i.as_ref()) {
            "intermediate"
        } else if der == self.root_der.as_ref() {
            "root"
        } else {
            "unknown"
        }
    }
}

/// Makes a root CA, an intermediate CA (path length 0) and a server leaf
/// for `host` (subjectAltName DNS, serverAuth and clientAuth, since
/// sendmail also uses it as its client certificate). ECDSA P-256 keys,
/// valid from yesterday for 30 days.
pub fn generate(host: &str) -> Result<Pki> {
    let now = time::OffsetDateTime::now_utc();
    let validity = |p: &mut CertificateParams| {
        p.not_before = now - time::Duration::days(1);
        p.not_after = now + time::Duration::days(30);
    };

    let mut root = CertificateParams::new(Vec::<String>::new())?;
    root.distinguished_name.push(DnType::CommonName, ROOT_CN);
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut root);
    let root = CertifiedIssuer::self_signed(root, KeyPair::generate()?).context("making the root CA")?;

    let mut int = CertificateParams::new(Vec::<String>::new())?;
    int.distinguished_name.push(DnType::CommonName, INTERMEDIATE_CN);
    int.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    int.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut int);
    let int = CertifiedIssuer::signed_by(int, KeyPair::generate()?, &root).context("making the intermediate CA")?;

    let mut leaf = CertificateParams::new(vec![host.to_string()]).with_context(|| format!("{host} as a DNS name"))?;
    leaf.distinguished_name.push(DnType::CommonName, host);
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
    validity(&mut leaf);
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf.signed_by(&leaf_key, &int).context("making the server certificate")?;

    Ok(Pki {
        root_pem: root.pem(),
        root_der: root.der().clone(),
        intermediate_pem: int.pem(),
        intermediate_der: int.der().clone(),
        leaf_pem: leaf.pem(),
        leaf_der: leaf.der().clone(),
        leaf_key_pem: leaf_key.serialize_pem(),
        more_intermediates: vec![],
    })
}

/// Where each file of the installed material lives.
#[derive(Clone, Debug)]
pub struct Layout {
    pub cert_dir: PathBuf,
}

impl Layout {
    pub fn new(cert_dir: PathBuf) -> Layout {
        Layout { cert_dir }
    }
    /// `confCACERT`: the root CA alone.
    pub fn ca_file(&self) -> PathBuf {
        self.cert_dir.join("cacert.pem")
    }
    /// `confSERVER_CERT` and `confCLIENT_CERT`: leaf then intermediate.
    pub fn cert_file(&self) -> PathBuf {
        self.cert_dir.join("host.cert")
    }
    /// `confSERVER_KEY` and `confCLIENT_KEY`.
    pub fn key_file(&self) -> PathBuf {
        self.cert_dir.join("host.key")
    }
    /// `confDH_PARAMETERS`.
    pub fn dh_file(&self) -> PathBuf {
        self.cert_dir.join("dhparams.pem")
    }
    /// The `HASH.0` link to the CA file in `confCACERT_PATH`.
    pub(crate) fn hash_link(&self, hash: &str) -> PathBuf {
        self.cert_dir.join(format!("{hash}.0"))
    }
}

/// Installs the PKI into `layout.cert_dir` (created 0700): CA file,
/// `HASH.0` link, chain file, key with `key_mode` (0600 unless a test asks
/// otherwise), 2048-bit DH parameters. Returns the subject hash.
pub fn install(pki: &Pki, layout: &Layout, openssl: &Path, key_mode: u32) -> Result<String> {
    let dir = &layout.cert_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    set_mode(dir, 0o700)?;
    write_mode(&layout.ca_file(), pki.root_pem.as_bytes(), 0o644)?;
    write_mode(&layout.cert_file(), pki.chain_pem().as_bytes(), 0o644)?;
    write_mode(&layout.key_file(), pki.leaf_key_pem.as_bytes(), key_mode)?;

    let hash = subject_hash(openssl, &layout.ca_file())?;
    let link = layout.hash_link(&hash);
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink("cacert.pem", &link).with_context(|| format!("linking {}", link.display()))?;

    write_mode(&layout.dh_file(), ffdhe2048()?.as_bytes(), 0o644)?;
    Ok(hash)
}

/// The RFC 7919 group ffdhe2048: a published, vetted 2048-bit safe prime,
/// instead of minutes of `openssl dhparam 2048`. One copy, in
/// `xtask/templates/ffdhe2048.pem`, which `sendmail-certs` carries too.
pub fn ffdhe2048() -> Result<String> {
    crate::template::render("ffdhe2048.pem", &Default::default())
}

/// `openssl x509 -hash -noout -in FILE`: the name OpenSSL looks up in a
/// CA directory (`confCACERT_PATH`).
pub(crate) fn subject_hash(openssl: &Path, cert: &Path) -> Result<String> {
    let out = run(openssl, &["x509", "-hash", "-noout", "-in", &cert.to_string_lossy()])?;
    let hash = out.trim().to_string();
    if hash.len() != 8 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("openssl x509 -hash printed {hash:?}, expected 8 hex digits");
    }
    Ok(hash)
}

fn run(openssl: &Path, args: &[&str]) -> Result<String> {
    let out = crate::proc::output(Command::new(openssl).args(args))?;
    String::from_utf8(out.stdout).context("openssl printed non-UTF-8 text")
}

fn write_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    crate::util::write_atomic(path, bytes)?;
    set_mode(path, mode)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

/// The size of DH parameters, from `openssl pkeyparam -noout -text`.
pub(crate) fn dh_bits(openssl: &Path, file: &Path) -> Result<u32> {
    let out = run(openssl, &["pkeyparam", "-noout", "-text", "-in", &file.to_string_lossy()])?;
    parse_dh_bits(&out).with_context(|| format!("openssl pkeyparam printed no DH size for {}:\n{out}", file.display()))
}

/// "DH Parameters: (2048 bit)" -> 2048.
pub(crate) fn parse_dh_bits(text: &str) -> Option<u32> {
    let rest = text.lines().find_map(|l| l.trim().strip_prefix("DH Parameters: ("))?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The certificates in a PEM file, in order.
pub fn pem_certificates(text: &str) -> Result<Vec<CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(text.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("reading PEM certificates: {e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::client::danger::ServerCertVerifier;
    use rustls::client::WebPkiServerVerifier;
    use rustls::RootCertStore;
    use rustls_pki_types::{ServerName, UnixTime};
    use std::sync::Arc;

    fn verify(pki: &Pki, intermediates: &[CertificateDer<'static>], name: &str) -> Result<(), rustls::Error> {
        let mut roots = RootCertStore::empty();
        roots.add(pki.root_der.clone()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let v = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider).build().unwrap();
        let name = ServerName::try_from(name.to_string()).unwrap();
        v.verify_server_cert(&pki.leaf_der, intermediates, &name, &[], UnixTime::now()).map(drop)
    }

    #[test]
    fn leaf_verifies_through_the_intermediate_only() {
        let pki = generate("smoke.smtls.test").unwrap();
        verify(&pki, std::slice::from_ref(&pki.intermediate_der), "smoke.smtls.test").unwrap();
        // Without the intermediate the root alone cannot vouch for the leaf:
        // this is what check 1 relies on.
        let e = verify(&pki, &[], "smoke.smtls.test").unwrap_err();
        assert!(format!("{e:?}").contains("UnknownIssuer"), "{e:?}");
        // And the name matters.
        assert!(verify(&pki, std::slice::from_ref(&pki.intermediate_der), "other.smtls.test").is_err());
    }

    #[test]
    fn the_ffdhe2048_template_is_openssls_rfc_7919_group() {
        let openssl = crate::tools::find(&crate::tools::OPENSSL).unwrap();
        let ours = ffdhe2048().unwrap();
        let theirs =
            run(&openssl, &["genpkey", "-genparam", "-algorithm", "DH", "-pkeyopt", "group:ffdhe2048"]).unwrap();
        assert_eq!(ours, theirs);
        assert!(ours.starts_with("-----BEGIN DH PARAMETERS-----\n"), "PKCS#3, as PEM_read_bio_DHparams reads it");
    }

    #[test]
    fn the_layout_has_the_names_of_the_packaged_stanza() {
        // The names sendmail-certs installs and sendmail.mc uses.
        let stanza = crate::template::render("tls-server.mc", &Default::default()).unwrap();
        let files = crate::stage::tls_files(&stanza).unwrap();
        let l = Layout::new("/c".into());
        for (ours, theirs) in [
            (l.cert_file(), &files.cert),
            (l.key_file(), &files.key),
            (l.ca_file(), &files.ca),
            (l.dh_file(), &files.dh),
        ] {
            assert_eq!(ours, Path::new("/c").join(theirs));
        }
    }

    #[test]
    fn an_installed_set_with_two_intermediates() {
        let a = generate("a.smtls.test").unwrap();
        let b = generate("b.smtls.test").unwrap();
        // b's intermediate stands in for a second one: names only.
        let chain = format!("{}{}{}", a.leaf_pem, a.intermediate_pem, b.intermediate_pem);
        let p = Pki::from_installed(&chain, &a.leaf_key_pem, &a.root_pem).unwrap();
        assert_eq!(p.leaf_der, a.leaf_der);
        assert_eq!(p.root_der, a.root_der);
        assert_eq!(p.name_of(&b.intermediate_der), "intermediate");
        assert_eq!(p.intermediates().len(), 2);
        let e = Pki::from_installed(&a.leaf_pem, "", &a.root_pem).err().unwrap();
        assert!(e.to_string().contains("1 certificate(s) found"), "{e}");
    }

    #[test]
    fn dh_size_from_openssl_text() {
        assert_eq!(parse_dh_bits("DH Parameters: (2048 bit)\nGROUP: ffdhe2048\n"), Some(2048));
        assert_eq!(parse_dh_bits("    DH Parameters: (1024 bit)\n"), Some(1024));
        assert_eq!(parse_dh_bits("EC-Parameters: (256 bit)\n"), None);
    }

    #[test]
    fn chain_file_is_leaf_then_intermediate() {
        let pki = generate("smoke.smtls.test").unwrap();
        let certs = pem_certificates(&pki.chain_pem()).unwrap();
        let names: Vec<_> = certs.iter().map(|c| pki.name_of(c)).collect();
        assert_eq!(names, ["leaf", "intermediate"]);
        assert_eq!(pki.name_of(&pki.root_der), "root");
        assert_eq!(pki.name_of(b"junk"), "unknown");
        assert!(pki.leaf_key_pem.contains("PRIVATE KEY"));
    }
}

//! The five checks, as a real client would make them: SMTP by hand, TLS
//! with rustls (a root store holding only the test root CA), and
//! `openssl s_client` for the one thing rustls cannot speak (TLS 1.1).

use super::pki::Pki;
use anyhow::{anyhow, bail, Context, Result};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme, StreamOwned};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Socket timeouts: every read and write is bounded.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(15);

/// What every check needs to know.
pub struct Target<'a> {
    pub pki: &'a Pki,
    pub host: &'a str,
    pub smtp: SocketAddr,
    pub smtps: SocketAddr,
    pub queue_dir: PathBuf,
    pub openssl: PathBuf,
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub name: &'static str,
    pub pass: bool,
    pub detail: String,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", if self.pass { "pass" } else { "FAIL" }, self.name, self.detail)
    }
}

type CheckFn = fn(&Target) -> Result<String>;

pub(crate) const CHECKS: [&str; 5] = ["starttls-chain", "ecdhe", "no-tls1.1", "smtps", "delivery"];

/// Runs every check in order; a check that cannot even run is a FAIL with
/// the reason.
pub(crate) fn run_all(t: &Target) -> Vec<Outcome> {
    let checks: [(&'static str, CheckFn); 5] = [
        (CHECKS[0], check_starttls_chain),
        (CHECKS[1], check_ecdhe),
        (CHECKS[2], check_no_tls11),
        (CHECKS[3], check_smtps),
        (CHECKS[4], check_delivery),
    ];
    checks
        .iter()
        .map(|(name, f)| {
            let r = f(t);
            let o = match r {
                Ok(detail) => Outcome { name, pass: true, detail },
                Err(e) => Outcome { name, pass: false, detail: format!("{e:#}") },
            };
            println!("{o}");
            o
        })
        .collect()
}

// ---------------------------------------------------------------- SMTP

/// An SMTP reply: the code and the text of each line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    pub(crate) fn text(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / "))
    }
}

/// Splits "250-SIZE" / "250 OK" into (250, more lines follow, "SIZE").
pub(crate) fn parse_reply_line(line: &str) -> Result<(u16, bool, &str)> {
    let line = line.trim_end_matches(['\r', '\n']);
    let code = line.get(..3).and_then(|c| c.parse::<u16>().ok()).filter(|c| (200..600).contains(c));
    let Some(code) = code else { bail!("not an SMTP reply line: {line:?}") };
    match line.as_bytes().get(3) {
        None => Ok((code, false, "")),
        Some(b' ') => Ok((code, false, &line[4..])),
        Some(b'-') => Ok((code, true, &line[4..])),
        _ => bail!("not an SMTP reply line: {line:?}"),
    }
}

/// The EHLO keywords (upper case, without parameters), from the lines after the greeting line.
pub(crate) fn ehlo_keywords(reply: &Reply) -> Vec<String> {
    reply.lines.iter().skip(1).filter_map(|l| l.split_whitespace().next()).map(|k| k.to_ascii_uppercase()).collect()
}

/// Reads one line byte by byte, so nothing past the reply is consumed
/// (after STARTTLS the next bytes belong to TLS).
fn read_line(s: &mut impl Read) -> Result<String> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    loop {
        let n = s.read(&mut b).context("reading from the server")?;
        if n == 0 {
            bail!("the server closed the connection (after {:?})", String::from_utf8_lossy(&line));
        }
        line.push(b[0]);
        if b[0] == b'\n' {
            return Ok(String::from_utf8_lossy(&line).into_owned());
        }
        if line.len() > 4096 {
            bail!("reply line longer than 4096 bytes");
        }
    }
}

pub(crate) fn read_reply(s: &mut impl Read) -> Result<Reply> {
    let mut lines = vec![];
    loop {
        let line = read_line(s)?;
        let (code, more, text) = parse_reply_line(&line)?;
        lines.push(text.to_string());
        if !more {
            return Ok(Reply { code, lines });
        }
    }
}

/// Sends a command, reads the reply, and insists on `want` (e.g. 250).
pub(super) fn command(s: &mut (impl Read + Write), cmd: &str, want: u16) -> Result<Reply> {
    s.write_all(format!("{cmd}\r\n").as_bytes()).with_context(|| format!("sending {cmd}"))?;
    s.flush()?;
    let r = read_reply(s).with_context(|| format!("reading the reply to {cmd}"))?;
    if r.code != want {
        bail!("{cmd} was answered {}, expected {want}", r.text());
    }
    Ok(r)
}

pub(super) fn expect(s: &mut impl Read, want: u16, what: &str) -> Result<Reply> {
    let r = read_reply(s).with_context(|| format!("reading the {what}"))?;
    if r.code != want {
        bail!("the {what} was {}, expected {want}", r.text());
    }
    Ok(r)
}

pub(super) fn connect(addr: SocketAddr) -> Result<TcpStream> {
    let s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).with_context(|| format!("connecting to {addr}"))?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(s)
}

/// Connects to the plain port, says EHLO, and issues STARTTLS (which EHLO
/// must advertise). Returns the socket, ready for the TLS handshake.
pub(super) fn starttls(addr: SocketAddr) -> Result<TcpStream> {
    let mut s = connect(addr)?;
    expect(&mut s, 220, "greeting")?;
    let ehlo = command(&mut s, "EHLO client.smtls.test", 250)?;
    let kw = ehlo_keywords(&ehlo);
    if !kw.iter().any(|k| k == "STARTTLS") {
        bail!(
            "EHLO on {addr} does not advertise STARTTLS (keywords: {}): sendmail found no usable certificate and \
             key, or was built without STARTTLS; it logs the reason to syslog",
            kw.join(" ")
        );
    }
    command(&mut s, "STARTTLS", 220)?;
    Ok(s)
}

// ---------------------------------------------------------------- TLS

/// Verifies like rustls' WebPKI verifier with the given roots, and records
/// which certificates the server sent. `extra` intermediates are supplied
/// by the client (for checks that are not about the chain).
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    extra: Vec<CertificateDer<'static>>,
    seen: Mutex<Vec<CertificateDer<'static>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = std::iter::once(end_entity).chain(intermediates).map(|c| c.clone().into_owned()).collect();
        }
        let mut all: Vec<CertificateDer<'_>> = intermediates.to_vec();
        all.extend(self.extra.iter().cloned());
        self.inner.verify_server_cert(end_entity, &all, server_name, ocsp, now)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Versions {
    Any,
    Tls12Only,
}

/// Whether the client brings the intermediate itself (so that a check is
/// not also a test of the chain).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Chain {
    FromServer,
    ClientHasIntermediate,
}

/// The key-exchange groups the client offers, in order (it sends a key
/// share for the first one only, as browsers and mail clients do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Groups {
    /// rustls' defaults: X25519, P-256, P-384.
    X25519First,
    /// P-256 alone: a client that a server pinned to X25519 would lose.
    P256Only,
}

/// What a completed handshake negotiated.
#[derive(Clone, Debug)]
pub(super) struct Session {
    pub version: String,
    pub suite: String,
    pub group: String,
    /// The server asked for another key share (HelloRetryRequest).
    pub(crate) retried: bool,
    pub certs: Vec<CertificateDer<'static>>,
}

pub(super) type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A TLS handshake over `sock` that verifies against the test root CA
/// alone and the host name.
pub(super) fn handshake(t: &Target, sock: TcpStream, versions: Versions, chain: Chain) -> Result<(Tls, Session)> {
    handshake_with(t, sock, versions, chain, Groups::X25519First)
}

pub(super) fn handshake_with(
    t: &Target,
    sock: TcpStream,
    versions: Versions,
    chain: Chain,
    groups: Groups,
) -> Result<(Tls, Session)> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.kx_groups = match groups {
        Groups::X25519First => {
            use rustls::crypto::ring::kx_group;
            vec![kx_group::X25519, kx_group::SECP256R1, kx_group::SECP384R1]
        }
        Groups::P256Only => vec![rustls::crypto::ring::kx_group::SECP256R1],
    };
    let provider = Arc::new(provider);
    let mut roots = RootCertStore::empty();
    roots.add(t.pki.root_der.clone()).context("adding the root CA")?;
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build()?;
    let extra = match chain {
        Chain::FromServer => vec![],
        Chain::ClientHasIntermediate => t.pki.intermediates(),
    };
    let verifier = Arc::new(Recording { inner, extra, seen: Mutex::new(vec![]) });
    let builder = ClientConfig::builder_with_provider(provider);
    let builder = match versions {
        Versions::Any => builder.with_protocol_versions(rustls::ALL_VERSIONS)?,
        Versions::Tls12Only => builder.with_protocol_versions(&[&rustls::version::TLS12])?,
    };
    let config = builder.dangerous().with_custom_certificate_verifier(verifier.clone()).with_no_client_auth();
    let name = ServerName::try_from(t.host.to_string()).context("the host name as a TLS server name")?;
    let conn = ClientConnection::new(Arc::new(config), name)?;
    let mut tls = StreamOwned::new(conn, sock);
    let mut result = Ok(());
    while tls.conn.is_handshaking() {
        if let Err(e) = tls.conn.complete_io(&mut tls.sock) {
            result = Err(e);
            break;
        }
    }
    let certs = verifier.seen.lock().map(|s| s.clone()).unwrap_or_default();
    if let Err(e) = result {
        let sent = describe_chain(t.pki, &certs);
        let mut msg = format!("TLS handshake failed: {e}; server sent {sent}");
        if certs.len() == 1 && t.pki.name_of(&certs[0]) == "leaf" {
            msg.push_str(
                ": the intermediate is missing, so the root CA alone cannot verify the leaf (a sendmail built \
                 without _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE sends only the first certificate of ServerCertFile)",
            );
        }
        return Err(anyhow!(msg));
    }
    let c = &tls.conn;
    let session = Session {
        // "TLSv1.3", as OpenSSL and sendmail write it (rustls: TLSv1_3).
        version: c.protocol_version().map(|v| format!("{v:?}").replace('_', ".")).unwrap_or_default(),
        suite: c.negotiated_cipher_suite().map(|s| format!("{:?}", s.suite())).unwrap_or_default(),
        group: c.negotiated_key_exchange_group().map(|g| format!("{:?}", g.name())).unwrap_or_default(),
        retried: c.handshake_kind() == Some(rustls::HandshakeKind::FullWithHelloRetryRequest),
        certs,
    };
    Ok((tls, session))
}

/// "2 certificates (leaf, intermediate)".
pub(crate) fn describe_chain(pki: &Pki, certs: &[CertificateDer<'_>]) -> String {
    let names: Vec<&str> = certs.iter().map(|c| pki.name_of(c)).collect();
    match certs.len() {
        0 => "no certificate".into(),
        1 => format!("1 certificate ({})", names[0]),
        n => format!("{n} certificates ({})", names.join(", ")),
    }
}

/// The chain a server must send: the leaf, then the intermediate.
fn require_full_chain(pki: &Pki, certs: &[CertificateDer<'_>]) -> Result<()> {
    let names: Vec<&str> = certs.iter().map(|c| pki.name_of(c)).collect();
    if names.first() != Some(&"leaf") || !names.contains(&"intermediate") {
        bail!("server sent {}, expected the leaf then the intermediate", describe_chain(pki, certs));
    }
    Ok(())
}

pub(super) fn quit(s: &mut (impl Read + Write)) {
    let _ = command(s, "QUIT", 221);
}

// ---------------------------------------------------------------- checks

/// 1. EHLO advertises STARTTLS; the handshake verifies against the root CA
///    alone (the intermediate must come from the server) and the host name.
pub fn check_starttls_chain(t: &Target) -> Result<String> {
    let sock = starttls(t.smtp)?;
    let (mut tls, s) = handshake(t, sock, Versions::Any, Chain::FromServer)?;
    require_full_chain(t.pki, &s.certs)?;
    let ehlo = command(&mut tls, "EHLO client.smtls.test", 250).context("EHLO inside TLS")?;
    if ehlo_keywords(&ehlo).iter().any(|k| k == "STARTTLS") {
        bail!("EHLO inside TLS still advertises STARTTLS (RFC 3207 forbids it)");
    }
    quit(&mut tls);
    Ok(format!(
        "EHLO on {} advertises STARTTLS; server sent {}; verified against the root CA alone as {}; {} {}",
        t.smtp,
        describe_chain(t.pki, &s.certs),
        t.host,
        s.version,
        s.suite
    ))
}

/// Whether a negotiated session used an (EC)DHE key exchange on an elliptic
/// curve: an ECDHE suite in TLS 1.2, an EC group in TLS 1.3.
pub(crate) fn is_ecdhe(version: &str, suite: &str, group: &str) -> bool {
    let ec_group = ["secp256r1", "secp384r1", "secp521r1", "X25519", "X448", "X25519MLKEM768"].contains(&group);
    match version {
        "TLSv1.2" => suite.starts_with("TLS_ECDHE_") && ec_group,
        "TLSv1.3" => ec_group,
        _ => false,
    }
}

/// 2. The key exchange is ECDHE: an ECDHE suite when TLS 1.2 is forced;
///    by default a client offering X25519 first (key share for X25519
///    alone) gets X25519 without a HelloRetryRequest (a server built with
///    TLS_EC=1 pins P-256 and forces the retry); a client offering only
///    P-256 still succeeds.
pub(crate) fn check_ecdhe(t: &Target) -> Result<String> {
    let run = |v: Versions, g: Groups| -> Result<Session> {
        let sock = starttls(t.smtp)?;
        let (mut tls, s) = handshake_with(t, sock, v, Chain::ClientHasIntermediate, g)?;
        quit(&mut tls);
        Ok(s)
    };
    let s12 = run(Versions::Tls12Only, Groups::X25519First).context("with TLS 1.2 forced")?;
    if !is_ecdhe(&s12.version, &s12.suite, &s12.group) {
        bail!("with TLS 1.2 forced the server chose {} {} over {:?}: not ECDHE", s12.version, s12.suite, s12.group);
    }
    let s = run(Versions::Any, Groups::X25519First).context("with the default versions, X25519 first")?;
    judge_x25519(&s.version, &s.suite, &s.group, s.retried)?;
    let p256 = run(Versions::Any, Groups::P256Only).context("offering P-256 only")?;
    if p256.group != "secp256r1" {
        bail!("offering P-256 only, the server negotiated {:?}", p256.group);
    }
    Ok(format!(
        "TLS 1.2 forced: {} over {}; X25519 first: {} {} over {} without HelloRetryRequest; P-256 only: {} over {}",
        s12.suite, s12.group, s.version, s.suite, s.group, p256.version, p256.group
    ))
}

/// A client that offers X25519 first must get it at once.
pub(crate) fn judge_x25519(version: &str, suite: &str, group: &str, retried: bool) -> Result<()> {
    if !is_ecdhe(version, suite, group) {
        bail!("by default the server chose {version} {suite} over {group:?}: not ECDHE");
    }
    if version == "TLSv1.3" && (group != "X25519" || retried) {
        bail!(
            "a client offering X25519 first got {group}{}: the server's groups exclude X25519 (sendmail built with TLS_EC=1, which pins P-256 on OpenSSL 1.1.0 and later; build with TLS_EC=2)",
            if retried { " after a HelloRetryRequest" } else { "" }
        );
    }
    Ok(())
}

/// Runs `openssl s_client` against the plain port with STARTTLS; stdin is
/// empty, so it ends after the handshake. Killed after 20 s.
fn s_client(t: &Target, args: &[&str]) -> Result<String> {
    let mut child = Command::new(&t.openssl)
        .args(["s_client", "-connect", &t.smtp.to_string(), "-starttls", "smtp"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {} s_client", t.openssl.display()))?;
    let read_all = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read_all(Box::new(child.stdout.take().context("s_client stdout")?));
    let err = read_all(Box::new(child.stderr.take().context("s_client stderr")?));
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("openssl s_client {} did not finish within 20 s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(out.join().unwrap_or_default() + &err.join().unwrap_or_default())
}

/// From `openssl s_client` output: the negotiated protocol, or None when
/// the handshake did not complete ("New, (NONE), Cipher is (NONE)").
pub(crate) fn s_client_protocol(out: &str) -> Option<String> {
    out.lines().find_map(|l| {
        let rest = l.strip_prefix("New, ")?;
        let (proto, _) = rest.split_once(", Cipher is ")?;
        (proto != "(NONE)").then(|| proto.to_string())
    })
}

/// Judges the TLS 1.1 attempt (and the TLS 1.2 attempt of the same client
/// as the control that the client itself works).
pub(crate) fn judge_tls11(out11: &str, out12: &str) -> Result<String> {
    if let Some(p) = s_client_protocol(out11) {
        bail!("a client limited to TLS 1.1 completed a handshake ({p}): the server accepts TLS 1.1");
    }
    let server_refused = out11.contains("alert protocol version") || out11.contains("SSL alert number 70");
    if !server_refused {
        let why = out11
            .lines()
            .find(|l| l.contains(":error:") || l.contains("errno"))
            .unwrap_or("no error line")
            .trim()
            .to_string();
        bail!("the TLS 1.1 handshake failed, but not with the server's protocol_version alert: {why}");
    }
    match s_client_protocol(out12) {
        Some(p) if p == "TLSv1.2" => {}
        other => bail!(
            "control failed: the same client limited to TLS 1.2 did not complete a handshake ({other:?}), so the \
             TLS 1.1 refusal proves nothing"
        ),
    }
    Ok("a client limited to TLS 1.1 (openssl s_client -tls1_1, SECLEVEL=0) gets the server's protocol_version \
        alert (70); the same client limited to TLS 1.2 completes its handshake"
        .into())
}

/// 3. A client limited to TLS 1.1 is refused, by the server.
pub(crate) fn check_no_tls11(t: &Target) -> Result<String> {
    // OpenSSL 3 refuses TLS 1.1 on its own side at the default security
    // level; level 0 makes the refusal provably the server's.
    let cipher = ["-cipher", "DEFAULT:@SECLEVEL=0"];
    let out11 = s_client(t, &[&["-tls1_1"][..], &cipher[..]].concat())?;
    let out12 = s_client(t, &[&["-tls1_2"][..], &cipher[..]].concat())?;
    judge_tls11(&out11, &out12)
}

/// 4. The SMTPS port speaks TLS from the first byte, with the same chain.
pub fn check_smtps(t: &Target) -> Result<String> {
    let sock = connect(t.smtps)?;
    let (mut tls, s) = handshake(t, sock, Versions::Any, Chain::FromServer)?;
    require_full_chain(t.pki, &s.certs)?;
    let greeting = expect(&mut tls, 220, "greeting inside TLS")?;
    command(&mut tls, "EHLO client.smtls.test", 250).context("EHLO inside TLS")?;
    quit(&mut tls);
    Ok(format!(
        "TLS from the first byte on {}: {} {}; server sent {}; verified against the root CA alone as {}; \
         greeting \"{}\"",
        t.smtps,
        s.version,
        s.suite,
        describe_chain(t.pki, &s.certs),
        t.host,
        greeting.lines.first().map(String::as_str).unwrap_or("")
    ))
}

/// The test message body, line by line: a dot-leading line (dot-stuffed
/// on the wire), trailing white space, an empty line.
pub(crate) fn body_lines(token: &str) -> Vec<String> {
    vec![
        format!("smtls smoke test message {token}"),
        ".a line that starts with a dot".into(),
        "..and one with two".into(),
        String::new(),
        "trailing white space stays \t ".into(),
        format!("end {token}"),
    ]
}

/// The DATA payload: headers, blank line, body; CRLF line ends, leading
/// dots doubled, ended by a lone dot.
pub(crate) fn data_payload(headers: &[String], body: &[String]) -> String {
    let mut s = String::new();
    for l in headers.iter().chain(std::iter::once(&String::new())).chain(body) {
        if l.starts_with('.') {
            s.push('.');
        }
        s.push_str(l);
        s.push_str("\r\n");
    }
    s.push_str(".\r\n");
    s
}

/// The queue id from "250 2.0.0 6ANHkrCh018791 Message accepted for delivery".
pub(crate) fn queue_id(reply: &Reply) -> Option<String> {
    let line = reply.lines.last()?;
    let mut words = line.split_whitespace().peekable();
    if words.peek().is_some_and(|w| w.split('.').count() == 3 && w.chars().all(|c| c.is_ascii_digit() || c == '.')) {
        words.next();
    }
    let id = words.next()?;
    (id.len() >= 8 && id.chars().all(|c| c.is_ascii_alphanumeric())).then(|| id.to_string())
}

/// The TLS part sendmail wrote into its Received: header, e.g.
/// "version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NO".
pub(crate) fn received_tls(qf: &str) -> Option<String> {
    let start = qf.find("(version=")? + 1;
    let end = qf[start..].find(')')? + start;
    Some(qf[start..end].split_whitespace().collect::<Vec<_>>().join(" "))
}

/// 5. A message sent inside the TLS session is accepted and queued with its
///    body intact.
pub(crate) fn check_delivery(t: &Target) -> Result<String> {
    let token = format!("{}-{}", std::process::id(), nanos());
    let sock = starttls(t.smtp)?;
    let (mut tls, s) = handshake(t, sock, Versions::Any, Chain::ClientHasIntermediate)?;
    command(&mut tls, "EHLO client.smtls.test", 250)?;
    let rcpt = format!("root@{}", t.host);
    command(&mut tls, &format!("MAIL FROM:<smoke@{}>", t.host), 250)?;
    command(&mut tls, &format!("RCPT TO:<{rcpt}>"), 250)?;
    command(&mut tls, "DATA", 354)?;
    let headers = vec![
        format!("From: smtls smoke <smoke@{}>", t.host),
        format!("To: <{rcpt}>"),
        format!("Subject: smtls smoke {token}"),
        format!("Message-ID: <{token}@{}>", t.host),
    ];
    let body = body_lines(&token);
    tls.write_all(data_payload(&headers, &body).as_bytes())?;
    tls.flush()?;
    let accepted = expect(&mut tls, 250, "reply to the message")?;
    quit(&mut tls);
    let id = queue_id(&accepted).with_context(|| format!("no queue id in {:?}", accepted.text()))?;

    let df = t.queue_dir.join(format!("df{id}"));
    let qf = t.queue_dir.join(format!("qf{id}"));
    let got = std::fs::read_to_string(&df).with_context(|| format!("reading the queued body {}", df.display()))?;
    let want: String = body.iter().map(|l| format!("{l}\n")).collect();
    if got != want {
        bail!("the queued body {} differs from what was sent:\n--- sent\n{want}--- queued\n{got}", df.display());
    }
    let qf_text =
        String::from_utf8_lossy(&std::fs::read(&qf).with_context(|| format!("reading {}", qf.display()))?).into_owned();
    if !qf_text.lines().any(|l| l.starts_with('r') && l.ends_with(&rcpt)) {
        bail!("{} does not list the recipient {rcpt}", qf.display());
    }
    let recorded = received_tls(&qf_text)
        .with_context(|| format!("the Received: header in {} records no TLS session", qf.display()))?;
    if !recorded.contains(&format!("version={} ", s.version)) {
        bail!("sendmail recorded ({recorded}), but the client negotiated {}", s.version);
    }
    Ok(format!(
        "{} over {}: queued as {id}; {} holds the {}-line body intact; sendmail recorded ({recorded})",
        accepted.text(),
        s.version,
        df.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        body.len()
    ))
}

pub(super) fn nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lines() {
        assert_eq!(parse_reply_line("250-STARTTLS\r\n").unwrap(), (250, true, "STARTTLS"));
        assert_eq!(parse_reply_line("250 HELP\r\n").unwrap(), (250, false, "HELP"));
        assert_eq!(parse_reply_line("354\r\n").unwrap(), (354, false, ""));
        assert!(parse_reply_line("hello").is_err());
        assert!(parse_reply_line("250x").is_err());
        let mut input: &[u8] = b"250-smoke.smtls.test Hello\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 HELP\r\nleft";
        let r = read_reply(&mut input).unwrap();
        assert_eq!(ehlo_keywords(&r), ["PIPELINING", "STARTTLS", "HELP"]);
        assert_eq!(input, b"left", "nothing past the reply is consumed");
    }

    #[test]
    fn payload_is_dot_stuffed_with_crlf() {
        let p = data_payload(&["Subject: x".into()], &[".dot".into(), "plain".into()]);
        assert_eq!(p, "Subject: x\r\n\r\n..dot\r\nplain\r\n.\r\n");
    }

    #[test]
    fn queue_ids_and_received_headers() {
        let r = Reply { code: 250, lines: vec!["2.0.0 6ANHkrCh018791 Message accepted for delivery".into()] };
        assert_eq!(queue_id(&r).as_deref(), Some("6ANHkrCh018791"));
        let r = Reply { code: 250, lines: vec!["Ok".into()] };
        assert_eq!(queue_id(&r), None);
        let qf = "H??Received: from client.smtls.test (localhost [127.0.0.1])\n\t(version=TLSv1.3 \
                  cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NO)\n\tby smoke.smtls.test";
        assert_eq!(
            received_tls(qf).as_deref(),
            Some("version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NO")
        );
        assert_eq!(received_tls("H??Received: from x by y"), None);
    }

    #[test]
    fn x25519_judgement() {
        let s = "TLS13_AES_256_GCM_SHA384";
        assert!(judge_x25519("TLSv1.3", s, "X25519", false).is_ok());
        let e = judge_x25519("TLSv1.3", s, "secp256r1", true).unwrap_err().to_string();
        assert!(e.contains("HelloRetryRequest") && e.contains("TLS_EC=2"), "{e}");
        assert!(judge_x25519("TLSv1.3", s, "X25519", true).is_err());
        assert!(judge_x25519("TLSv1.3", s, "FFDHE2048", false).is_err());
    }

    #[test]
    fn ecdhe_judgement() {
        assert!(is_ecdhe("TLSv1.2", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "secp256r1"));
        assert!(!is_ecdhe("TLSv1.2", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "FFDHE2048"));
        assert!(is_ecdhe("TLSv1.3", "TLS13_AES_256_GCM_SHA384", "X25519"));
        assert!(!is_ecdhe("TLSv1.3", "TLS13_AES_256_GCM_SHA384", "FFDHE2048"));
        assert!(!is_ecdhe("TLSv1.1", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "secp256r1"));
    }

    // Real `openssl s_client` output (OpenSSL 3.0) against sendmail 8.18.2.
    const S11_REFUSED: &str = include_str!("../testdata/s_client-tls1_1-refused.txt");
    const S12_OK: &str = include_str!("../testdata/s_client-tls1_2-ok.txt");

    #[test]
    fn tls11_judgement_on_real_output() {
        assert_eq!(s_client_protocol(S12_OK).as_deref(), Some("TLSv1.2"));
        assert_eq!(s_client_protocol(S11_REFUSED), None);
        assert!(judge_tls11(S11_REFUSED, S12_OK).is_ok());
        // Accepted TLS 1.1: fail.
        let accepted = S12_OK.replace("TLSv1.2", "TLSv1.1");
        assert!(judge_tls11(&accepted, S12_OK).unwrap_err().to_string().contains("accepts TLS 1.1"));
        // Refused by the client itself: not proof.
        let client_side = "CONNECTED(00000003)\n40F7:error:0A0000BF:SSL routines:tls_setup_handshake:no protocols \
                           available:../ssl/statem/statem_lib.c:104:\nNew, (NONE), Cipher is (NONE)\n";
        assert!(judge_tls11(client_side, S12_OK).unwrap_err().to_string().contains("no protocols available"));
        // The control must work.
        assert!(judge_tls11(S11_REFUSED, S11_REFUSED).unwrap_err().to_string().contains("control failed"));
    }
}

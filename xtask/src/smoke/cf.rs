//! The test sendmail.cf: an .mc with a TLS stanza, turned into a .cf by m4
//! and the release's own `cf/` tree, then checked line by line.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// Cipher suites for TLS 1.2 and below: ECDHE key exchange with AEAD
/// ciphers only (TLS 1.3 suites are all forward-secret AEAD already).
pub(crate) const CIPHER_LIST: &str = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL";
/// SSLv3, TLS 1.0 and TLS 1.1 off (SSLv2 is gone from OpenSSL altogether).
pub(crate) const SERVER_SSL_OPTIONS: &str = "+SSL_OP_NO_SSLv3 +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1";

/// Everything the test configuration names.
#[derive(Clone, Debug)]
pub struct SmokeCf {
    /// `$j`, the name in the greeting and in the server certificate.
    pub host: String,
    /// The `cf/ostype/*.m4` for this system (see [`ostype`]).
    pub ostype: String,
    pub queue_dir: PathBuf,
    pub pid_file: PathBuf,
    pub alias_file: PathBuf,
    pub cert_dir: PathBuf,
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub dh_file: PathBuf,
    pub smtp_port: u16,
    pub smtps_port: u16,
    /// SMTP AUTH, for a sendmail built with SASL (a binary without it
    /// warns about every AUTH option).
    pub auth: Option<AuthCf>,
    /// The RejectNUL stanza every shipped .mc carries (`reject-nul.mc`),
    /// with `O RejectNUL=False` when false (its documented opt-out); None
    /// for a binary without `_FFR_REJECT_NUL_BYTE`, which would call the
    /// option unknown.
    pub reject_nul: Option<bool>,
}

/// The SMTP AUTH stanza.
#[derive(Clone, Debug)]
pub struct AuthCf {
    /// `confAUTH_OPTIONS`, e.g. `A p y`.
    pub options: String,
    /// `confAUTH_MECHANISMS`, also `TRUST_AUTH_MECH` (the mechanisms that
    /// allow relaying).
    pub(crate) mechanisms: Vec<String>,
    /// `confAUTH_REALM`: the realm of the accounts in the sasldb.
    pub realm: String,
    /// The directory holding the Cyrus SASL `Sendmail.conf`: put into
    /// sendmail's environment as `SASL_CONF_PATH` by an `E` line.
    pub(crate) sasl_conf_dir: PathBuf,
}

impl AuthCf {
    fn env_line(&self) -> String {
        format!("ESASL_CONF_PATH={}", self.sasl_conf_dir.display())
    }
}

impl SmokeCf {
    /// The .mc text. File names inside `CERT_DIR` are written relative to
    /// it, as cf/README shows administrators.
    pub fn mc(&self) -> Result<String> {
        let q = |p: &Path| quote(&p.to_string_lossy());
        let in_cert_dir = |p: &Path| -> Result<String> {
            let name = p.strip_prefix(&self.cert_dir).with_context(|| {
                format!("{} is not inside the certificate directory {}", p.display(), self.cert_dir.display())
            })?;
            quote(&format!("CERT_DIR/{}", name.display()))
        };
        let mut s = String::new();
        let mut line = |l: String| {
            s.push_str(&l);
            s.push('\n');
        };
        line("divert(-1)".into());
        line("# smtls smoke test: generated, do not edit".into());
        line("divert(0)dnl".into());
        line("VERSIONID(`smtls smoke test')dnl".into());
        line(format!("OSTYPE({})dnl", quote(&self.ostype)?));
        line(format!("define(`confDOMAIN_NAME', {})dnl", quote(&self.host)?));
        line(format!("define(`QUEUE_DIR', {})dnl", q(&self.queue_dir)?));
        line(format!("define(`confPID_FILE', {})dnl", q(&self.pid_file)?));
        line(format!("define(`ALIAS_FILE', {})dnl", q(&self.alias_file)?));
        // Accepted mail stays in the queue, where the test reads it back.
        line("define(`confDELIVERY_MODE', `queueonly')dnl".into());
        line("dnl TLS".into());
        line(format!("define(`CERT_DIR', {})dnl", q(&self.cert_dir)?));
        line("define(`confCACERT_PATH', `CERT_DIR')dnl".into());
        line(format!("define(`confCACERT', {})dnl", in_cert_dir(&self.ca_file)?));
        line(format!("define(`confSERVER_CERT', {})dnl", in_cert_dir(&self.cert_file)?));
        line(format!("define(`confSERVER_KEY', {})dnl", in_cert_dir(&self.key_file)?));
        line(format!("define(`confCLIENT_CERT', {})dnl", in_cert_dir(&self.cert_file)?));
        line(format!("define(`confCLIENT_KEY', {})dnl", in_cert_dir(&self.key_file)?));
        line(format!("define(`confDH_PARAMETERS', {})dnl", in_cert_dir(&self.dh_file)?));
        line(format!("define(`confSERVER_SSL_OPTIONS', `{SERVER_SSL_OPTIONS}')dnl"));
        line(format!("define(`confCIPHER_LIST', `{CIPHER_LIST}')dnl"));
        if let Some(a) = &self.auth {
            line("dnl SMTP AUTH (Cyrus SASL)".into());
            line(format!("define(`confAUTH_OPTIONS', `{}')dnl", words(&a.options)?));
            line(format!("define(`confAUTH_MECHANISMS', `{}')dnl", words(&a.mechanisms.join(" "))?));
            line(format!("define(`confAUTH_REALM', {})dnl", quote(&a.realm)?));
            line(format!("TRUST_AUTH_MECH(`{}')dnl", words(&a.mechanisms.join(" "))?));
        }
        line("FEATURE(`no_default_msa')dnl".into());
        line(format!("DAEMON_OPTIONS(`Port={}, Addr=127.0.0.1, Name=MTA')dnl", self.smtp_port));
        line(format!("DAEMON_OPTIONS(`Port={}, Addr=127.0.0.1, Name=TLSMTA, M=s')dnl", self.smtps_port));
        line("MAILER(`local')dnl".into());
        line("MAILER(`smtp')dnl".into());
        if let Some(on) = self.reject_nul {
            line(reject_nul_stanza(on)?);
        }
        if let Some(a) = &self.auth {
            // Cyrus SASL reads Sendmail.conf from $SASL_CONF_PATH; sendmail
            // empties its environment at start and restores E lines.
            line("LOCAL_CONFIG".into());
            line(quote(&a.env_line())?);
        }
        Ok(s)
    }

    /// The lines the .cf must contain, exactly: m4 expands words inside
    /// values, so a path that happens to contain a macro name is caught here
    /// rather than by a confused daemon.
    pub fn expected_lines(&self) -> Vec<String> {
        let d = |p: &Path| p.display().to_string();
        let mut lines = vec![
            format!("Dj{}", self.host),
            format!("O QueueDirectory={}", d(&self.queue_dir)),
            format!("O PidFile={}", d(&self.pid_file)),
            format!("O AliasFile={}", d(&self.alias_file)),
            "O DeliveryMode=queueonly".into(),
            format!("O CACertPath={}", d(&self.cert_dir)),
            format!("O CACertFile={}", d(&self.ca_file)),
            format!("O ServerCertFile={}", d(&self.cert_file)),
            format!("O ServerKeyFile={}", d(&self.key_file)),
            format!("O ClientCertFile={}", d(&self.cert_file)),
            format!("O ClientKeyFile={}", d(&self.key_file)),
            format!("O DHParameters={}", d(&self.dh_file)),
            format!("O ServerSSLOptions={SERVER_SSL_OPTIONS}"),
            format!("O CipherList={CIPHER_LIST}"),
            format!("O DaemonPortOptions=Port={}, Addr=127.0.0.1, Name=MTA", self.smtp_port),
            format!("O DaemonPortOptions=Port={}, Addr=127.0.0.1, Name=TLSMTA, M=s", self.smtps_port),
        ];
        if let Some(on) = self.reject_nul {
            lines.push(format!("O RejectNUL={}", if on { "True" } else { "False" }));
        }
        if let Some(a) = &self.auth {
            lines.extend([
                format!("O AuthOptions={}", a.options),
                format!("O AuthMechanisms={}", a.mechanisms.join(" ")),
                format!("O AuthRealm={}", a.realm),
                format!("C{{TrustAuthMech}}{}", a.mechanisms.join(" ")),
                a.env_line(),
            ]);
        }
        lines
    }
}

/// The packages' RejectNUL stanza; with `on` false, its O line replaced by
/// the commented opt-out line it documents, without the `dnl`.
pub(crate) fn reject_nul_stanza(on: bool) -> Result<String> {
    let stanza = crate::stage::reject_nul_stanza(&["reject-nul".to_string()])?;
    if on {
        return Ok(stanza);
    }
    let on_line = crate::stage::REJECT_NUL_CF_LINE;
    let off_line = "O RejectNUL=False";
    if !stanza.lines().any(|l| l == on_line) || !stanza.lines().any(|l| l == format!("dnl {off_line}")) {
        bail!("reject-nul.mc no longer has `{on_line}` and the commented `dnl {off_line}`: update smoke/cf.rs");
    }
    Ok(stanza.lines().map(|l| if l == on_line { off_line } else { l }).collect::<Vec<_>>().join("\n"))
}

/// The `OSTYPE` for the system running the test.
pub fn ostype() -> &'static str {
    match std::env::consts::OS {
        "freebsd" => "freebsd6",
        "openbsd" => "openbsd",
        "netbsd" => "bsd4.4",
        "macos" => "darwin",
        "solaris" | "illumos" => "solaris11",
        _ => "linux",
    }
}

/// Quotes a value for m4, refusing what cannot be quoted safely.
pub(crate) fn quote(value: &str) -> Result<String> {
    if let Some(c) =
        value.chars().find(|c| matches!(c, '`' | '\'' | '\n' | '\r' | ',' | '(' | ')' | '#') || c.is_whitespace())
    {
        bail!(
            "{value:?} contains {c:?}, which does not survive m4 and sendmail.cf: use a work directory \
             (--work-dir) whose path has only letters, digits and / . _ - +"
        );
    }
    Ok(format!("`{value}'"))
}

/// Checks a list of words for m4: letters, digits, `-`, `_` and single
/// spaces only (mechanism names and option letters).
pub fn words(value: &str) -> Result<&str> {
    if value.split(' ').any(|w| w.is_empty() || !w.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')) {
        bail!("{value:?} is not a list of words separated by single spaces");
    }
    Ok(value)
}

/// Checks the generated .cf: every expected line present, as written.
pub fn check(cf: &str, expected: &[String]) -> Result<()> {
    let missing: Vec<&String> = expected.iter().filter(|e| !cf.lines().any(|l| l == e.as_str())).collect();
    if !missing.is_empty() {
        bail!(
            "the generated sendmail.cf lacks these lines (m4 expanded or dropped them):\n{}",
            missing.iter().map(|m| format!("    {m}")).collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

/// The .cf text for `mc` (see [`crate::cf::run_m4`]).
pub fn m4(m4: &Path, cf_dir: &Path, mc: &Path) -> Result<String> {
    Ok(crate::cf::run_m4(m4, cf_dir, mc)?.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SmokeCf {
        let d = PathBuf::from("/srv/smoke-1");
        let c = d.join("certs");
        SmokeCf {
            host: "smoke.smtls.test".into(),
            ostype: "linux".into(),
            queue_dir: d.join("queue"),
            pid_file: d.join("sendmail.pid"),
            alias_file: d.join("aliases"),
            ca_file: c.join("cacert.pem"),
            cert_file: c.join("host.cert"),
            key_file: c.join("host.key"),
            dh_file: c.join("dhparams.pem"),
            cert_dir: c,
            smtp_port: 40025,
            smtps_port: 40465,
            auth: None,
            reject_nul: None,
        }
    }

    #[test]
    fn reject_nul_follows_the_packages_stanza_and_its_opt_out() {
        let on = SmokeCf { reject_nul: Some(true), ..sample() };
        let mc = on.mc().unwrap();
        assert!(mc.contains("LOCAL_CONFIG\nO RejectNUL=True\n") && mc.contains("dnl O RejectNUL=False"), "{mc}");
        assert!(on.expected_lines().contains(&"O RejectNUL=True".to_string()));
        let off = SmokeCf { reject_nul: Some(false), ..sample() };
        let mc = off.mc().unwrap();
        assert!(mc.contains("LOCAL_CONFIG\nO RejectNUL=False\n") && !mc.contains("RejectNUL=True"), "{mc}");
        assert!(off.expected_lines().contains(&"O RejectNUL=False".to_string()));
        assert!(!sample().mc().unwrap().contains("RejectNUL"));
    }

    fn with_auth() -> SmokeCf {
        SmokeCf {
            auth: Some(AuthCf {
                options: "A p y".into(),
                mechanisms: vec!["PLAIN".into(), "LOGIN".into(), "CRAM-MD5".into()],
                realm: "smoke.smtls.test".into(),
                sasl_conf_dir: "/srv/smoke-1/sasl".into(),
            }),
            ..sample()
        }
    }

    #[test]
    fn the_auth_stanza_is_there_only_with_sasl() {
        let mc = with_auth().mc().unwrap();
        for want in [
            "define(`confAUTH_OPTIONS', `A p y')dnl",
            "define(`confAUTH_MECHANISMS', `PLAIN LOGIN CRAM-MD5')dnl",
            "define(`confAUTH_REALM', `smoke.smtls.test')dnl",
            "TRUST_AUTH_MECH(`PLAIN LOGIN CRAM-MD5')dnl",
            "LOCAL_CONFIG",
            "`ESASL_CONF_PATH=/srv/smoke-1/sasl'",
        ] {
            assert!(mc.lines().any(|l| l == want), "missing {want}\n{mc}");
        }
        // LOCAL_CONFIG text goes last, after the MAILERs.
        assert!(mc.find("MAILER(`smtp')").unwrap() < mc.find("LOCAL_CONFIG").unwrap());
        let lines = with_auth().expected_lines();
        for want in [
            "O AuthOptions=A p y",
            "O AuthMechanisms=PLAIN LOGIN CRAM-MD5",
            "O AuthRealm=smoke.smtls.test",
            "C{TrustAuthMech}PLAIN LOGIN CRAM-MD5",
            "ESASL_CONF_PATH=/srv/smoke-1/sasl",
        ] {
            assert!(lines.iter().any(|l| l == want), "missing {want} in {lines:?}");
        }
        let plain = sample();
        assert!(!plain.mc().unwrap().contains("AUTH") && !plain.mc().unwrap().contains("SASL"));
        assert!(!plain.expected_lines().iter().any(|l| l.contains("Auth") || l.contains("SASL")));
    }

    #[test]
    fn auth_values_that_m4_would_mangle_are_refused() {
        let mut c = with_auth();
        c.auth.as_mut().unwrap().options = "A p' y".into();
        assert!(c.mc().unwrap_err().to_string().contains("not a list of words"));
        let mut c = with_auth();
        c.auth.as_mut().unwrap().sasl_conf_dir = "/srv/a b/sasl".into();
        assert!(c.mc().unwrap_err().to_string().contains("does not survive m4"));
        assert!(words("PLAIN  LOGIN").is_err() && words("").is_err() && words("CRAM-MD5 PLAIN").is_ok());
    }

    #[test]
    fn mc_has_the_tls_stanza_and_both_listeners() {
        let mc = sample().mc().unwrap();
        for want in [
            "define(`CERT_DIR', `/srv/smoke-1/certs')dnl",
            "define(`confCACERT_PATH', `CERT_DIR')dnl",
            "define(`confCACERT', `CERT_DIR/cacert.pem')dnl",
            "define(`confSERVER_CERT', `CERT_DIR/host.cert')dnl",
            "define(`confSERVER_KEY', `CERT_DIR/host.key')dnl",
            "define(`confCLIENT_CERT', `CERT_DIR/host.cert')dnl",
            "define(`confCLIENT_KEY', `CERT_DIR/host.key')dnl",
            "define(`confDH_PARAMETERS', `CERT_DIR/dhparams.pem')dnl",
            "define(`confSERVER_SSL_OPTIONS', `+SSL_OP_NO_SSLv3 +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1')dnl",
            "define(`confCIPHER_LIST', `ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL')dnl",
            "define(`confDOMAIN_NAME', `smoke.smtls.test')dnl",
            "FEATURE(`no_default_msa')dnl",
            "DAEMON_OPTIONS(`Port=40025, Addr=127.0.0.1, Name=MTA')dnl",
            "DAEMON_OPTIONS(`Port=40465, Addr=127.0.0.1, Name=TLSMTA, M=s')dnl",
        ] {
            assert!(mc.lines().any(|l| l == want), "missing {want}\n{mc}");
        }
        // OSTYPE comes before the definitions and MAILERs come last, as cf/README requires.
        assert!(mc.find("OSTYPE").unwrap() < mc.find("CERT_DIR").unwrap());
        assert!(mc.trim_end().ends_with("MAILER(`smtp')dnl"));
    }

    #[test]
    fn unquotable_paths_are_refused() {
        let mut c = sample();
        c.queue_dir = "/srv/it's/queue".into();
        assert!(c.mc().unwrap_err().to_string().contains("does not survive m4"));
        assert!(quote("/a b").is_err() && quote("/a,b").is_err() && quote("/a/b-c_d.e+f").is_ok());
        let mut c = sample();
        c.key_file = "/elsewhere/host.key".into();
        assert!(c.mc().unwrap_err().to_string().contains("not inside the certificate directory"));
    }

    #[test]
    fn cf_check_names_missing_or_mangled_lines() {
        let c = sample();
        let expected = c.expected_lines();
        let good = expected.join("\n");
        check(&good, &expected).unwrap();
        // A path word that m4 expanded ("dnl" ate the rest of the line).
        let bad = good.replace("O QueueDirectory=/srv/smoke-1/queue", "O QueueDirectory=/srv/");
        let e = check(&bad, &expected).unwrap_err().to_string();
        assert!(e.contains("O QueueDirectory=/srv/smoke-1/queue") && !e.contains("PidFile"), "{e}");
    }
}

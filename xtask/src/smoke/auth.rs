//! The SMTP AUTH checks, for a sendmail built with SASL: the plaintext
//! mechanisms withheld before STARTTLS (`confAUTH_OPTIONS` `p`), every
//! configured mechanism offered inside TLS, and a real login with the
//! throwaway account of the private sasldb, right and wrong.

use super::client::{
    self, command, connect, data_payload, expect, handshake, queue_id, quit, read_reply, starttls, Chain, Outcome,
    Reply, Session, Target, Tls, Versions,
};
use super::sasl::{Account, PLAINTEXT};
use anyhow::{bail, Context, Result};
use base64::Engine;
use std::io::{Read, Write};
use std::path::PathBuf;

pub(crate) const CHECKS: [&str; 3] = ["auth-before-tls", "auth-after-tls", "auth-login"];

/// What the AUTH checks need beyond the TLS target.
pub(crate) struct AuthTarget<'a> {
    pub(crate) account: &'a Account,
    /// `confAUTH_MECHANISMS`, as configured.
    pub(crate) mechanisms: Vec<String>,
    /// The Cyrus SASL configuration sendmail was pointed at (for messages).
    pub(crate) conf_file: PathBuf,
}

type CheckFn = fn(&Target, &AuthTarget) -> Result<String>;

/// Runs the three checks in order, printing one line each.
pub(crate) fn run_all(t: &Target, a: &AuthTarget) -> Vec<Outcome> {
    let checks: [(&'static str, CheckFn); 3] =
        [(CHECKS[0], check_before_tls), (CHECKS[1], check_after_tls), (CHECKS[2], check_login)];
    checks
        .iter()
        .map(|(name, f)| {
            let o = match f(t, a) {
                Ok(detail) => Outcome { name, pass: true, detail },
                Err(e) => Outcome { name, pass: false, detail: format!("{e:#}") },
            };
            println!("{o}");
            o
        })
        .collect()
}

/// The line printed instead of the checks when the binary has no SASL.
pub(crate) fn skipped_line(reason: &str) -> String {
    format!("skip {}: {reason}", CHECKS.join(", "))
}

/// The mechanisms an EHLO reply advertises on its AUTH line (upper case,
/// in order), or None when it has no AUTH line.
pub(crate) fn auth_mechanisms(ehlo: &Reply) -> Option<Vec<String>> {
    ehlo.lines.iter().skip(1).find_map(|l| {
        let mut words = l.split_whitespace();
        let kw = words.next()?;
        kw.eq_ignore_ascii_case("AUTH").then(|| words.map(|w| w.to_ascii_uppercase()).collect())
    })
}

fn is_plaintext(mech: &str) -> bool {
    PLAINTEXT.iter().any(|p| p.eq_ignore_ascii_case(mech))
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.iter().all(|m| b.contains(m)) && b.iter().all(|m| a.contains(m))
}

fn shown(mechs: &[String]) -> String {
    if mechs.is_empty() {
        "(none)".into()
    } else {
        mechs.join(" ")
    }
}

/// Judges the EHLO and the `AUTH PLAIN` attempt made before STARTTLS.
/// With `p`, sendmail asks Cyrus SASL for SASL_SEC_NOPLAINTEXT while no
/// TLS layer is active: PLAIN and LOGIN disappear from AUTH, and the other
/// configured mechanisms stay (so AUTH itself is absent only when nothing
/// else is configured). A PLAIN attempt is then answered 504.
pub(crate) fn judge_before_tls(
    before: Option<&[String]>,
    configured: &[String],
    plain_attempt: &Reply,
) -> Result<String> {
    let expected: Vec<String> = configured.iter().filter(|m| !is_plaintext(m)).cloned().collect();
    let offered = before.unwrap_or(&[]);
    let leaked: Vec<&String> = offered.iter().filter(|m| is_plaintext(m)).collect();
    if !leaked.is_empty() {
        bail!(
            "EHLO before STARTTLS advertises AUTH {}: {} offered without TLS, although AuthOptions has p",
            shown(offered),
            leaked.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" and ")
        );
    }
    match before {
        Some(_) if expected.is_empty() => {
            bail!("EHLO before STARTTLS advertises AUTH {}, expected no AUTH line at all", shown(offered))
        }
        None if !expected.is_empty() => bail!(
            "EHLO before STARTTLS advertises no AUTH, expected AUTH {} (the configured mechanisms that do not send \
             the password in the clear): SASL does not work at all before TLS",
            shown(&expected)
        ),
        Some(o) if !same_set(o, &expected) => bail!(
            "EHLO before STARTTLS advertises AUTH {}, expected exactly {} (the configured mechanisms without {})",
            shown(o),
            shown(&expected),
            PLAINTEXT.join(" and ")
        ),
        _ => {}
    }
    match plain_attempt.code {
        504 => {}
        235 => bail!(
            "AUTH PLAIN before STARTTLS was accepted ({}): the server takes passwords in the clear",
            plain_attempt.text()
        ),
        _ => bail!(
            "AUTH PLAIN before STARTTLS was answered {}, expected 504 (mechanism not available)",
            plain_attempt.text()
        ),
    }
    let advertised = match before {
        Some(o) => format!("advertises AUTH {} only", shown(o)),
        None => "advertises no AUTH".into(),
    };
    Ok(format!(
        "EHLO before STARTTLS {advertised} ({} withheld: AuthOptions {}); AUTH PLAIN with the right password is \
         refused: {}",
        PLAINTEXT.join(", "),
        super::sasl::AUTH_OPTIONS,
        plain_attempt.text()
    ))
}

/// Judges the AUTH line of EHLO inside TLS: exactly the configured mechanisms.
pub(crate) fn judge_after_tls(after: Option<&[String]>, configured: &[String]) -> Result<String> {
    let Some(after) = after else {
        bail!("EHLO inside TLS advertises no AUTH, expected AUTH {}", shown(configured));
    };
    let missing: Vec<String> = configured.iter().filter(|m| !after.contains(m)).cloned().collect();
    if !missing.is_empty() {
        bail!("EHLO inside TLS advertises AUTH {}, which lacks {}", shown(after), shown(&missing));
    }
    let extra: Vec<String> = after.iter().filter(|m| !configured.contains(m)).cloned().collect();
    if !extra.is_empty() {
        bail!("EHLO inside TLS advertises AUTH {}, beyond the configured {}", shown(after), shown(configured));
    }
    Ok(format!("EHLO inside TLS advertises AUTH {}", shown(after)))
}

/// Whether a queued message's qf file records an authenticated session:
/// the protocol `ESMTPSA` (RFC 3848: TLS and AUTH) and sendmail's
/// "(authenticated" clause in its Received: header.
pub(crate) fn judge_queued_auth(qf: &str) -> Result<()> {
    let proto = qf.lines().find_map(|l| l.strip_prefix("$r")).unwrap_or("(none)");
    if proto != "ESMTPSA" {
        bail!("sendmail recorded the protocol {proto}, expected ESMTPSA (TLS and AUTH)");
    }
    if !qf.contains("(authenticated") {
        bail!("the Received: header does not say the client was authenticated");
    }
    Ok(())
}

/// `AUTH PLAIN` with the initial response: authzid empty, authcid, password.
pub(crate) fn plain_response(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"))
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Sends a line that holds credentials; errors name only `shown`.
fn secret(s: &mut (impl Read + Write), line: &str, shown: &str) -> Result<Reply> {
    s.write_all(format!("{line}\r\n").as_bytes()).with_context(|| format!("sending {shown}"))?;
    s.flush()?;
    read_reply(s).with_context(|| format!("reading the reply to {shown}"))
}

/// A TLS session on the plain port after STARTTLS, and its EHLO.
fn tls_ehlo(t: &Target) -> Result<(Tls, Session, Reply)> {
    let sock = starttls(t.smtp)?;
    let (mut tls, s) = handshake(t, sock, Versions::Any, Chain::ClientHasIntermediate)?;
    let ehlo = command(&mut tls, "EHLO client.smtls.test", 250).context("EHLO inside TLS")?;
    Ok((tls, s, ehlo))
}

/// 6. Before STARTTLS: no PLAIN or LOGIN, and a PLAIN attempt is refused.
pub(crate) fn check_before_tls(t: &Target, a: &AuthTarget) -> Result<String> {
    let mut s = connect(t.smtp)?;
    expect(&mut s, 220, "greeting")?;
    let ehlo = command(&mut s, "EHLO client.smtls.test", 250)?;
    let before = auth_mechanisms(&ehlo);
    let acc = a.account;
    let attempt = secret(
        &mut s,
        &format!("AUTH PLAIN {}", plain_response(&acc.user, &acc.password)),
        "AUTH PLAIN (before STARTTLS)",
    )?;
    quit(&mut s);
    judge_before_tls(before.as_deref(), &a.mechanisms, &attempt).map(|d| format!("on {}: {d}", t.smtp))
}

/// 7. Inside TLS: every configured mechanism, PLAIN and LOGIN included.
pub(crate) fn check_after_tls(t: &Target, a: &AuthTarget) -> Result<String> {
    let (mut tls, s, ehlo) = tls_ehlo(t)?;
    quit(&mut tls);
    let after = auth_mechanisms(&ehlo);
    judge_after_tls(after.as_deref(), &a.mechanisms).map(|d| format!("{d} ({} {})", s.version, s.suite)).with_context(
        || {
            let plugins = crate::tools::SASL_MODULES;
            format!(
                "Cyrus SASL offers the mechanisms listed in {} whose plugins it finds ({}: package {}); sendmail \
                 logs what it could not load to syslog",
                a.conf_file.display(),
                plugins.what,
                plugins.package(crate::tools::Os::detect())
            )
        },
    )
}

/// 8. Inside TLS: AUTH PLAIN with the right password is accepted (235)
///    and the message sent then is queued as authenticated; AUTH LOGIN too;
///    a wrong password is refused (535).
pub(crate) fn check_login(t: &Target, a: &AuthTarget) -> Result<String> {
    let acc = a.account;
    let who = format!("{} (realm {})", acc.user, acc.realm);
    let hint = || {
        format!(
            "the account is in the sasldb named by {}; sendmail and Cyrus SASL log the reason to syslog",
            a.conf_file.display()
        )
    };

    // The right password, with PLAIN, then a message.
    let (mut tls, s, _) = tls_ehlo(t)?;
    let ok = secret(&mut tls, &format!("AUTH PLAIN {}", plain_response(&acc.user, &acc.password)), "AUTH PLAIN")?;
    if ok.code != 235 {
        bail!("AUTH PLAIN as {who} with the right password was answered {}, expected 235; {}", ok.text(), hint());
    }
    let token = format!("auth-{}-{}", std::process::id(), client::nanos());
    let rcpt = format!("root@{}", t.host);
    command(&mut tls, &format!("MAIL FROM:<smoke@{}>", t.host), 250)?;
    command(&mut tls, &format!("RCPT TO:<{rcpt}>"), 250)?;
    command(&mut tls, "DATA", 354)?;
    let headers = vec![format!("Subject: smtls smoke {token}"), format!("Message-ID: <{token}@{}>", t.host)];
    tls.write_all(data_payload(&headers, &[format!("authenticated {token}")]).as_bytes())?;
    tls.flush()?;
    let accepted = expect(&mut tls, 250, "reply to the message")?;
    quit(&mut tls);
    let id = queue_id(&accepted).with_context(|| format!("no queue id in {:?}", accepted.text()))?;
    let qf = t.queue_dir.join(format!("qf{id}"));
    let qf_text =
        String::from_utf8_lossy(&std::fs::read(&qf).with_context(|| format!("reading {}", qf.display()))?).into_owned();
    judge_queued_auth(&qf_text).with_context(|| format!("after 235, in {}", qf.display()))?;

    // The right password, with LOGIN (username and password each asked for).
    let (mut tls, _, _) = tls_ehlo(t)?;
    command(&mut tls, "AUTH LOGIN", 334)?;
    let r = secret(&mut tls, &b64(&acc.user), "the AUTH LOGIN user name")?;
    if r.code != 334 {
        bail!("AUTH LOGIN: the user name was answered {}, expected 334 (password prompt)", r.text());
    }
    let login = secret(&mut tls, &b64(&acc.password), "the AUTH LOGIN password")?;
    quit(&mut tls);
    if login.code != 235 {
        bail!("AUTH LOGIN as {who} with the right password was answered {}, expected 235; {}", login.text(), hint());
    }

    // A wrong password.
    let (mut tls, _, _) = tls_ehlo(t)?;
    let wrong =
        secret(&mut tls, &format!("AUTH PLAIN {}", plain_response(&acc.user, &acc.wrong_password())), "AUTH PLAIN")?;
    quit(&mut tls);
    if wrong.code != 535 {
        bail!(
            "AUTH PLAIN as {who} with a wrong password was answered {}, expected 535: the server does not check \
             passwords",
            wrong.text()
        );
    }

    Ok(format!(
        "inside {}: AUTH PLAIN as {who} from the private sasldb: {}; the message sent then was queued as {id} with \
         ESMTPSA (authenticated); AUTH LOGIN: {}; a wrong password: {}",
        s.version,
        ok.text(),
        login.text(),
        wrong.text()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(code: u16, lines: &[&str]) -> Reply {
        Reply { code, lines: lines.iter().map(|l| l.to_string()).collect() }
    }

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|m| m.to_string()).collect()
    }

    // Real EHLO replies of sendmail 8.18.2 with AuthOptions `A p y` and
    // AuthMechanisms `PLAIN LOGIN CRAM-MD5`.
    const BEFORE: &[&str] = &[
        "smoke.smtls.test Hello localhost [127.0.0.1], pleased to meet you",
        "ENHANCEDSTATUSCODES",
        "PIPELINING",
        "8BITMIME",
        "SIZE",
        "DSN",
        "ETRN",
        "AUTH CRAM-MD5",
        "STARTTLS",
        "DELIVERBY",
        "HELP",
    ];

    fn configured() -> Vec<String> {
        v(&["PLAIN", "LOGIN", "CRAM-MD5"])
    }

    #[test]
    fn auth_lines_are_parsed() {
        assert_eq!(auth_mechanisms(&reply(250, BEFORE)), Some(v(&["CRAM-MD5"])));
        let after = reply(250, &["x Hello", "PIPELINING", "AUTH PLAIN LOGIN cram-md5", "HELP"]);
        assert_eq!(auth_mechanisms(&after), Some(v(&["PLAIN", "LOGIN", "CRAM-MD5"])));
        // The greeting line is not a keyword, and AUTH must be a word of its own.
        assert_eq!(auth_mechanisms(&reply(250, &["AUTH x", "AUTHX PLAIN"])), None);
    }

    #[test]
    fn before_tls_the_plaintext_mechanisms_must_be_withheld() {
        let refused = reply(504, &["5.3.3 AUTH mechanism PLAIN not available"]);
        let d = judge_before_tls(Some(&v(&["CRAM-MD5"])), &configured(), &refused).unwrap();
        assert!(d.contains("advertises AUTH CRAM-MD5 only") && d.contains("504 5.3.3"), "{d}");
        // PLAIN offered in the clear.
        let e = judge_before_tls(Some(&configured()), &configured(), &refused).unwrap_err().to_string();
        assert!(e.contains("PLAIN and LOGIN offered without TLS"), "{e}");
        // SASL dead before TLS.
        let e = judge_before_tls(None, &configured(), &refused).unwrap_err().to_string();
        assert!(e.contains("expected AUTH CRAM-MD5"), "{e}");
        // Only plaintext mechanisms configured: no AUTH line at all.
        assert!(judge_before_tls(None, &v(&["PLAIN", "LOGIN"]), &refused).unwrap().contains("advertises no AUTH"));
        let e = judge_before_tls(Some(&v(&[])), &v(&["PLAIN"]), &refused).unwrap_err().to_string();
        assert!(e.contains("expected no AUTH line"), "{e}");
        // A password in the clear accepted, or another refusal.
        let accepted = reply(235, &["2.0.0 OK Authenticated"]);
        let e = judge_before_tls(Some(&v(&["CRAM-MD5"])), &configured(), &accepted).unwrap_err().to_string();
        assert!(e.contains("takes passwords in the clear"), "{e}");
        let e = judge_before_tls(Some(&v(&["CRAM-MD5"])), &configured(), &reply(503, &["x"])).unwrap_err();
        assert!(e.to_string().contains("expected 504"));
    }

    #[test]
    fn after_tls_every_configured_mechanism_and_no_other() {
        assert_eq!(
            judge_after_tls(Some(&v(&["PLAIN", "LOGIN", "CRAM-MD5"])), &configured()).unwrap(),
            "EHLO inside TLS advertises AUTH PLAIN LOGIN CRAM-MD5"
        );
        let e = judge_after_tls(Some(&v(&["CRAM-MD5"])), &configured()).unwrap_err().to_string();
        assert!(e.ends_with("which lacks PLAIN LOGIN"), "{e}");
        let e = judge_after_tls(Some(&v(&["PLAIN", "LOGIN", "CRAM-MD5", "ANONYMOUS"])), &configured()).unwrap_err();
        assert!(e.to_string().contains("beyond the configured"));
        assert!(judge_after_tls(None, &configured()).unwrap_err().to_string().contains("no AUTH"));
    }

    #[test]
    fn queued_messages_record_the_authentication() {
        // From a real qf file written by sendmail 8.18.2 after AUTH PLAIN.
        let qf = "V8\nT1795458217\n$_localhost [127.0.0.1]\n$rESMTPSA\n$sx\nS<a@smoke.smtls.test>\n\
                  H??Received: from x (localhost [127.0.0.1])\n\t(authenticated bits=0)\n\tby smoke.smtls.test \
                  (8.18.2/8.18.2) with ESMTPSA id 6ANINbku021690\n";
        judge_queued_auth(qf).unwrap();
        let plain = qf.replace("$rESMTPSA", "$rESMTPS");
        assert!(judge_queued_auth(&plain).unwrap_err().to_string().contains("protocol ESMTPS,"));
        let unsaid = qf.replace("(authenticated bits=0)", "");
        assert!(judge_queued_auth(&unsaid).is_err());
    }

    #[test]
    fn plain_initial_response() {
        // RFC 4616: [authzid] NUL authcid NUL passwd.
        assert_eq!(plain_response("smoke", "secret-pw"), "AHNtb2tlAHNlY3JldC1wdw==");
        assert_eq!(b64("smoke"), "c21va2U=");
        assert!(skipped_line("no SASL").starts_with("skip auth-before-tls, auth-after-tls, auth-login: no SASL"));
    }
}

//! The end of DATA, against the real daemon: SMTP smuggling
//! (CVE-2023-51765). A message ended by something other than CRLF . CRLF,
//! followed by a second transaction with its own MAIL FROM, must never
//! leave that second message in the queue; a message holding a NUL byte is
//! refused (RejectNUL), unless the .cf opts out. Plain SMTP on the MTA
//! port: smuggling needs no TLS, and the daemon treats both alike.

use super::client::{self, Outcome, Reply, Target};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;

/// A way of ending a message that a lenient server may take for the end of
/// DATA, with its name in the report.
pub struct Ending {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

/// The sequences of the SMTP smuggling research (SEC Consult, 2023) and
/// Debian's NUL variants (bug #1070190).
pub const ENDINGS: [Ending; 7] = [
    Ending { name: "eod-lf-dot-crlf", bytes: b"\n.\r\n" },
    Ending { name: "eod-lf-dot-lf", bytes: b"\n.\n" },
    Ending { name: "eod-crlf-dot-lf", bytes: b"\r\n.\n" },
    Ending { name: "eod-cr-dot-cr", bytes: b"\r.\r" },
    Ending { name: "eod-cr-dot-crlf", bytes: b"\r.\r\n" },
    Ending { name: "eod-crlf-nul-dot-crlf", bytes: b"\r\n\0.\r\n" },
    Ending { name: "eod-crlf-dot-nul-crlf", bytes: b"\r\n.\0\r\n" },
];

/// What the .cf says about NUL bytes, and so what the NUL check expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Nul {
    /// `O RejectNUL=True`, as every shipped .mc sets it.
    Refused,
    /// `O RejectNUL=False`, the documented opt-out (the negative control).
    Accepted,
    /// The binary lacks `_FFR_REJECT_NUL_BYTE`: the check fails with this.
    Unavailable(String),
}

/// The report names, in order: the control, one per ending, the NUL check.
pub fn names(nul: &Nul) -> Vec<&'static str> {
    let last = if *nul == Nul::Accepted { "nul-accepted" } else { "nul-refused" };
    std::iter::once("eod-control").chain(ENDINGS.iter().map(|e| e.name)).chain([last]).collect()
}

/// Runs the section, printing one line per check.
pub(crate) fn run_all(t: &Target, nul: &Nul) -> Vec<Outcome> {
    let names = names(nul);
    let mut results = vec![(names[0], control(t))];
    for (name, e) in names[1..].iter().zip(&ENDINGS) {
        results.push((name, smuggle(t, e)));
    }
    results.push((names[names.len() - 1], nul_check(t, nul)));
    results
        .into_iter()
        .map(|(name, r)| {
            let o = match r {
                Ok(detail) => Outcome { name, pass: true, detail },
                Err(e) => Outcome { name, pass: false, detail: format!("{e:#}") },
            };
            println!("{o}");
            o
        })
        .collect()
}

/// The control: a plain, well-ended message is accepted and queued. Were it
/// refused, a refused smuggling attempt would prove nothing.
fn control(t: &Target) -> Result<String> {
    let token = token();
    let sender = format!("control-{token}@{}", t.host);
    let mut s = open_data(t, &sender)?;
    s.write_all(&message(&token, b"\r\n.\r\n"))?;
    let r = client::expect(&mut s, 250, "reply to the plain message")?;
    client::quit(&mut s);
    let held = queued_from(&t.queue_dir, &sender)?;
    if held.is_empty() {
        bail!("{} but no queue file in {} names the sender {sender}", r.text(), t.queue_dir.display());
    }
    Ok(format!("{} (a CRLF . CRLF message from {sender}, queued as {})", r.text(), held.join(", ")))
}

/// A carrier message ended by `e`, then a whole second transaction from a
/// sender of its own: whatever the daemon answers, no queue file may carry
/// that sender.
fn smuggle(t: &Target, e: &Ending) -> Result<String> {
    let token = token();
    let sender = format!("carrier-{token}@{}", t.host);
    let smuggled = format!("smuggled-{token}@{}", t.host);
    let mut s = open_data(t, &sender)?;
    let mut payload = message(&token, e.bytes);
    payload.extend(
        format!(
            "MAIL FROM:<{smuggled}>\r\nRCPT TO:<root@{host}>\r\nDATA\r\nFrom: <{smuggled}>\r\nSubject: smuggled \
             {token}\r\n\r\nsmuggled {token}\r\n.\r\n",
            host = t.host
        )
        .as_bytes(),
    );
    s.write_all(&payload)?;
    s.flush()?;
    let replies = replies_until_noop(&mut s)?;
    let held = queued_from(&t.queue_dir, &smuggled)?;
    let answered: Vec<String> = replies.iter().map(Reply::text).collect();
    if !held.is_empty() {
        bail!(
            "{}: the queue holds the smuggled message from <{smuggled}> ({}); the daemon answered: {}",
            shown(e.bytes),
            held.join(", "),
            answered.join(" | ")
        );
    }
    let carriers = queued_from(&t.queue_dir, &sender)?;
    let carried = match carriers.first() {
        Some(qf) if df_of(&t.queue_dir, qf).windows(smuggled.len()).any(|w| w == smuggled.as_bytes()) => format!(
            " (the carrier, queued as {qf}, holds the second transaction in its body: relayed on to a server that \
             takes this ending for the end of DATA, it would become a message)"
        ),
        _ => String::new(),
    };
    Ok(format!("{}: {}; no queue file names <{smuggled}>{carried}", shown(e.bytes), answered.join(" | ")))
}

/// The body (`df…`) of the queue file `qf`; empty when unreadable.
fn df_of(queue_dir: &Path, qf: &str) -> Vec<u8> {
    std::fs::read(queue_dir.join(format!("d{}", &qf[1..]))).unwrap_or_default()
}

/// A message with a NUL byte in its body: refused with a 5xx and not
/// queued, or (the opt-out) accepted with the NUL kept.
fn nul_check(t: &Target, nul: &Nul) -> Result<String> {
    if let Nul::Unavailable(why) = nul {
        bail!("{why}");
    }
    let token = token();
    let sender = format!("nul-{token}@{}", t.host);
    let mut s = open_data(t, &sender)?;
    let mut body = format!("Subject: nul {token}\r\n\r\nbefore the NUL ").into_bytes();
    body.extend(b"\0 after it\r\n.\r\n");
    s.write_all(&body)?;
    let r = client::read_reply(&mut s).context("reading the reply to the message with a NUL byte")?;
    client::quit(&mut s);
    let held = queued_from(&t.queue_dir, &sender)?;
    match nul {
        Nul::Refused if (500..600).contains(&r.code) && held.is_empty() => {
            Ok(format!("{} (RejectNUL=True); nothing from {sender} queued", r.text()))
        }
        Nul::Refused => bail!(
            "a message holding a NUL byte was answered {} (queue files: {:?}): RejectNUL is not in effect, so the NUL \
             variant of SMTP smuggling is open",
            r.text(),
            held
        ),
        _ if r.code == 250 && !held.is_empty() => {
            if !df_of(&t.queue_dir, &held[0]).contains(&0) {
                bail!("{} but the body of {} lost the NUL byte", r.text(), held[0]);
            }
            Ok(format!("{} (RejectNUL=False, the opt-out): queued as {} with the NUL byte", r.text(), held[0]))
        }
        _ => bail!(
            "with RejectNUL=False a message holding a NUL byte was answered {} (queue files: {held:?}): the opt-out \
             does not work",
            r.text()
        ),
    }
}

fn token() -> String {
    format!("{}-{}", std::process::id(), client::nanos())
}

/// Connects to the MTA port and runs a transaction up to the 354.
fn open_data(t: &Target, sender: &str) -> Result<TcpStream> {
    let mut s = client::connect(t.smtp)?;
    client::expect(&mut s, 220, "greeting")?;
    client::command(&mut s, "EHLO client.smtls.test", 250)?;
    client::command(&mut s, &format!("MAIL FROM:<{sender}>"), 250)?;
    client::command(&mut s, &format!("RCPT TO:<root@{}>", t.host), 250)?;
    client::command(&mut s, "DATA", 354)?;
    Ok(s)
}

/// A short message ended by `ending`.
fn message(token: &str, ending: &[u8]) -> Vec<u8> {
    let mut m = format!("Subject: carrier {token}\r\n\r\ncarrier {token}").into_bytes();
    m.extend(ending);
    m
}

/// Every reply the daemon sends until it answers a NOOP (sent once the
/// first reply is in, so no command is pipelined behind the data) or
/// closes the connection.
fn replies_until_noop(s: &mut TcpStream) -> Result<Vec<Reply>> {
    let mut out = vec![client::read_reply(s).context("reading the reply to the data")?];
    if s.write_all(b"NOOP\r\n").is_err() {
        return Ok(out);
    }
    while out.len() < 10 {
        match client::read_reply(s) {
            Ok(r) if r.code == 250 && r.lines.last().is_some_and(|l| l == "2.0.0 OK") => break,
            Ok(r) => out.push(r),
            Err(_) => break,
        }
    }
    client::quit(s);
    Ok(out)
}

/// The queue files (`qf…`) whose envelope sender line names `sender`.
pub(crate) fn queued_from(queue_dir: &Path, sender: &str) -> Result<Vec<String>> {
    let mut found = vec![];
    for entry in std::fs::read_dir(queue_dir).with_context(|| format!("listing {}", queue_dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("qf") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(entry.path())?).into_owned();
        if text.lines().any(|l| l.starts_with('S') && l.contains(sender)) {
            found.push(name);
        }
    }
    found.sort();
    Ok(found)
}

/// `\r\n.\0\r\n` for the report.
pub fn shown(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| match b {
            b'\r' => "\\r".to_string(),
            b'\n' => "\\n".to_string(),
            0 => "\\0".to_string(),
            b => (*b as char).to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endings_are_the_issues_seven() {
        let shown: Vec<String> = ENDINGS.iter().map(|e| shown(e.bytes)).collect();
        assert_eq!(
            shown,
            ["\\n.\\r\\n", "\\n.\\n", "\\r\\n.\\n", "\\r.\\r", "\\r.\\r\\n", "\\r\\n\\0.\\r\\n", "\\r\\n.\\0\\r\\n"]
        );
        assert_eq!(names(&Nul::Refused).len(), 9);
        assert_eq!(names(&Nul::Accepted).last(), Some(&"nul-accepted"));
        assert!(names(&Nul::Refused).iter().all(|n| !n.contains(' ') && !n.contains(':')));
    }

    #[test]
    fn queue_files_are_found_by_their_sender_line() {
        let dir = std::env::temp_dir().join(format!("smtls-eod-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("qfAB12"), "V8\nS<smuggled-1@h>\nrRFC822; root@h\n").unwrap();
        std::fs::write(dir.join("dfAB12"), "S<carrier-1@h>\n").unwrap();
        std::fs::write(dir.join("qfCD34"), "V8\nS<carrier-1@h>\nH??Subject: smuggled-1@h\n").unwrap();
        assert_eq!(queued_from(&dir, "smuggled-1@h").unwrap(), ["qfAB12"]);
        assert_eq!(queued_from(&dir, "carrier-1@h").unwrap(), ["qfCD34"]);
        assert!(queued_from(&dir, "nobody@h").unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! smoke's end-of-data section against the real 8.18.2 daemon (issue: the
//! NUL variant of SMTP smuggling, CVE-2023-51765): with the shipped
//! `O RejectNUL=True` no ending smuggles a second message into the queue
//! and a NUL byte is refused; with the documented opt-out
//! (`smoke --allow-nul`) the NUL message is accepted, the negative control.
//! 8.17.1.9, which does queue smuggled messages, is in smoke.rs.

use smtls_tests::*;
use std::process::Output;

/// The end-of-data lines, as (pass, name, detail).
fn eod_lines(out: &Output) -> Vec<(bool, String, String)> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (pass, rest) =
                l.strip_prefix("pass ").map(|r| (true, r)).or(l.strip_prefix("FAIL ").map(|r| (false, r)))?;
            let (name, detail) = rest.split_once(": ")?;
            (name.starts_with("eod-") || name.starts_with("nul-")).then(|| (pass, name.to_string(), detail.to_string()))
        })
        .collect()
}

fn smoke(extra: &[&str]) -> Output {
    let root = shared_build("8.18.2").unwrap();
    xtask(&[&["--version", "8.18.2", "--work-dir", root.to_str().unwrap(), "smoke"], extra].concat(), &[])
}

const ENDINGS: [(&str, &str); 7] = [
    ("eod-lf-dot-crlf", "\\n.\\r\\n"),
    ("eod-lf-dot-lf", "\\n.\\n"),
    ("eod-crlf-dot-lf", "\\r\\n.\\n"),
    ("eod-cr-dot-cr", "\\r.\\r"),
    ("eod-cr-dot-crlf", "\\r.\\r\\n"),
    ("eod-crlf-nul-dot-crlf", "\\r\\n\\0.\\r\\n"),
    ("eod-crlf-dot-nul-crlf", "\\r\\n.\\0\\r\\n"),
];

#[test]
fn the_default_build_refuses_every_smuggling_ending_and_nul() {
    let out = smoke(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let lines = eod_lines(&out);
    let names: Vec<&str> = lines.iter().map(|l| l.1.as_str()).collect();
    let want: Vec<&str> =
        ["eod-control"].into_iter().chain(ENDINGS.iter().map(|e| e.0)).chain(["nul-refused"]).collect();
    assert_eq!(names, want, "{}", text(&out));
    assert!(lines.iter().all(|l| l.0), "{}", text(&out));
    // The control: a CRLF . CRLF message is queued.
    assert!(lines[0].2.starts_with("250 2.0.0 ") && lines[0].2.contains("queued as qf"), "{:?}", lines[0]);
    for ((_, shown), (_, name, detail)) in ENDINGS.iter().zip(&lines[1..8]) {
        assert!(detail.starts_with(&format!("{shown}: ")), "{name}: {detail}");
        assert!(detail.contains("no queue file names <smuggled-"), "{name}: {detail}");
        // 8.18.2 closes the connection on a bare CR or LF, and refuses the
        // NUL endings as a whole: nothing of the carrier is queued either.
        let refusal = if name.contains("nul") {
            "554 5.6.1 NUL byte not allowed"
        } else if shown.replace("\\r\\n", "").contains("\\n") {
            "421 4.5.0 Bare linefeed (LF) not allowed"
        } else {
            "421 4.5.0 Bare carriage return (CR) not allowed"
        };
        assert!(detail.contains(refusal), "{name}: {detail}");
    }
    let nul = &lines[8].2;
    assert!(nul.starts_with("554 5.6.1 NUL byte not allowed (RejectNUL=True); nothing from nul-"), "{nul}");
}

#[test]
fn with_the_opt_out_a_nul_message_is_accepted() {
    let out = smoke(&["--allow-nul"]);
    assert!(out.status.success(), "{}", text(&out));
    let lines = eod_lines(&out);
    assert!(lines.iter().all(|l| l.0), "{}", text(&out));
    let last = lines.last().unwrap();
    assert_eq!(last.1, "nul-accepted", "{}", text(&out));
    assert!(last.2.contains("Message accepted for delivery (RejectNUL=False, the opt-out)"), "{}", last.2);
    assert!(last.2.ends_with("with the NUL byte"), "{}", last.2);
    // The NUL endings are no end of DATA for 8.18.2 either, but the carrier
    // is now queued with the smuggled commands inside: what a relay would
    // pass on to a server that drops the NUL.
    for name in ["eod-crlf-nul-dot-crlf", "eod-crlf-dot-nul-crlf"] {
        let detail = &lines.iter().find(|l| l.1 == name).unwrap().2;
        assert!(detail.contains("Message accepted for delivery; no queue file names <smuggled-"), "{detail}");
        assert!(detail.contains("holds the second transaction in its body"), "{detail}");
    }
    assert!(!text(&out).contains("RejectNUL=True"), "{}", text(&out));
}

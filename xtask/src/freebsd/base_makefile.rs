//! The edit of FreeBSD's `usr.sbin/sendmail/Makefile`: text in, text out
//! or a refusal that says what was looked for.
//!
//! The stock Makefile compiles STARTTLS inside its OpenSSL conditional:
//!
//! ```text
//! .if ${MK_OPENSSL} != "no"
//! # STARTTLS support
//! CFLAGS+=<TAB>-DSTARTTLS -DTLS_EC
//! LIBADD+=<TAB>ssl crypto
//! .endif
//! ```
//!
//! (older trees: `-DSTARTTLS -D_FFR_TLS_1`, some with more flags on the line,
//! and the guard `.if !defined(NOCRYPT) && !defined(NO_OPENSSL) ...`). The
//! edit appends the defines the flag table (`configure::flags`) asks for and
//! the line lacks to the end of that one line; every other line stays byte
//! for byte, flags it does not know stay, and a second run changes nothing.
//!
//! Only this Makefile needs the edit. `lib/libsmutil` and `lib/libmilter`
//! already define STARTTLS in their own OpenSSL blocks, and the EC and
//! chain-file defines are read only by sendmail's own sources (`conf.c`,
//! `tls.c`; `sendmail.h` only refuses the chain flag without STARTTLS):
//! no header declares anything that depends on them, so the libraries built
//! without them link the same. The integration test
//! `freebsd::tls_defines_stay_in_sendmail` checks this against the source.

use super::bmake::{self, Directive};
use crate::configure::flags;
use crate::releases::Version;
use anyhow::{bail, Result};

/// The file this edit is for, relative to a FreeBSD source tree.
pub(crate) const PATH: &str = "usr.sbin/sendmail/Makefile";
/// Where a FreeBSD source tree keeps sendmail's version.
pub(crate) const VERSION_C: &str = "contrib/sendmail/src/version.c";

/// What the edit found and did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BaseEdit {
    /// The edited text; the input itself when nothing was missing.
    pub text: String,
    /// 1-based number of the line carrying `-DSTARTTLS`.
    pub line: usize,
    /// Wanted defines already on the line, as spelled there.
    pub present: Vec<String>,
    /// Defines appended to the line (without `-D`), in order.
    pub added: Vec<String>,
}

impl BaseEdit {
    pub(crate) fn changed(&self) -> bool {
        !self.added.is_empty()
    }
}

/// Reads `char Version[] = "8.18.1";` from sendmail's `version.c`.
pub(crate) fn parse_version_c(text: &str) -> Result<Version> {
    for line in text.lines() {
        let Some(rest) = line.split_once("Version[]").map(|(_, r)| r) else { continue };
        let Some(quoted) = rest.split('"').nth(1) else { continue };
        return quoted.parse();
    }
    bail!("found no line like `char Version[] = \"8.18.1\";`")
}

/// The version to assume when the tree has no `version.c`: a Makefile that
/// already spells `-DTLS_EC` was written for a sendmail that knows it
/// (8.16.1 or later, hence one with the chain-file flag too); for any
/// other there is no telling.
pub(crate) fn version_from_makefile(text: &str) -> Option<Version> {
    let block = find_block(text).ok()?;
    let l = bmake::lines(text);
    let spells_tls_ec = (block.0..block.1).any(|i| bmake::defines(&bmake::words(l[i])).contains(&"TLS_EC"));
    spells_tls_ec.then(|| flags::EC_OFFICIAL_SINCE.parse().expect("flags.rs holds valid versions"))
}

const LOOKED_FOR: &str = "looked for an OpenSSL conditional such as `.if ${MK_OPENSSL} != \"no\"` (or the older \
     `.if !defined(NO_OPENSSL)`) holding a line such as `CFLAGS+=\t-DSTARTTLS -DTLS_EC`";

/// The OpenSSL conditional: the indices of its `.if` and its `.endif`.
fn find_block(text: &str) -> Result<(usize, usize)> {
    let l = bmake::lines(text);
    let opens: Vec<usize> = l
        .iter()
        .enumerate()
        .filter(|(_, line)| {
            matches!(bmake::directive(line), Some(Directive::If(c)) if c.contains("MK_OPENSSL") || c.contains("NO_OPENSSL"))
        })
        .map(|(i, _)| i)
        .collect();
    match opens.as_slice() {
        [] => bail!("found no OpenSSL conditional: {LOOKED_FOR}"),
        [i] => match bmake::block_end(&l, *i) {
            Some(end) => Ok((*i, end)),
            None => bail!("the OpenSSL conditional at line {} has no matching `.endif`", bmake::line_no(*i)),
        },
        many => bail!(
            "found {} OpenSSL conditionals (lines {}) where the sendmail Makefile has one: edit it by hand or with a patch from patches/",
            many.len(),
            many.iter().map(|i| bmake::line_no(*i).to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Edits the Makefile text for a tree whose sendmail is `version`.
pub(crate) fn edit(text: &str, version: &Version) -> Result<BaseEdit> {
    let l = bmake::lines(text);
    if !l.iter().any(|line| bmake::assignment(line) == Some(("PROG", "=")) && bmake::words(line) == ["sendmail"]) {
        bail!("this is not FreeBSD's {PATH}: found no `PROG=\tsendmail` line");
    }
    let want = super::wanted(version, "update the source tree (contrib/sendmail) first")?;
    let spellings = flags::ec_spellings(version)?;
    let (open, close) = find_block(text)?;

    // The logical CFLAGS lines of the block, and the physical line with -DSTARTTLS.
    let mut starttls = vec![];
    let mut have: Vec<&str> = vec![];
    // Every -D word with its value (`TLS_EC=2`), and the line it is on.
    let mut spelled: Vec<(usize, &str)> = vec![];
    for range in bmake::logical(&l, open + 1, close) {
        if !matches!(bmake::assignment(l[range.start]), Some(("CFLAGS", "+=" | "="))) {
            continue;
        }
        for i in range {
            let words = bmake::words(l[i]);
            let defs = bmake::defines(&words);
            if defs.contains(&"STARTTLS") {
                starttls.push(i);
            }
            have.extend(defs);
            spelled.extend(words.iter().filter_map(|w| w.strip_prefix("-D")).map(|d| (i, d)));
        }
    }
    let at = match starttls.as_slice() {
        [i] => *i,
        [] => bail!(
            "the OpenSSL conditional (lines {}-{}) has no CFLAGS line with -DSTARTTLS: {LOOKED_FOR}; found:\n{}",
            bmake::line_no(open),
            bmake::line_no(close),
            l[open..=close].iter().map(|s| format!("    | {}", bmake::body(s))).collect::<Vec<_>>().join("\n")
        ),
        many => bail!(
            "-DSTARTTLS appears on {} lines of the OpenSSL conditional (lines {}): expected one line to extend",
            many.len(),
            many.iter().map(|i| bmake::line_no(*i).to_string()).collect::<Vec<_>>().join(", ")
        ),
    };

    let mut present = vec![];
    let mut added = vec![];
    // (line, old word, new word): a define present with another value
    // (`-DTLS_EC` where the table wants `TLS_EC=2`) is rewritten in place.
    let mut rewrite: Vec<(usize, String, String)> = vec![];
    for d in &want {
        let (name, value) = d.split_once('=').map_or((d.as_str(), None), |(n, v)| (n, Some(v)));
        if value.is_some() {
            let same_name = spelled.iter().find(|(_, w)| w.split('=').next() == Some(name));
            match same_name {
                Some((_, w)) if *w == d.as_str() => present.push(d.clone()),
                Some((i, w)) => {
                    rewrite.push((*i, format!("-D{w}"), format!("-D{d}")));
                    added.push(d.clone());
                }
                // Another spelling (`_FFR_TLS_EC`) does not carry the value:
                // tls.h lets an explicit TLS_EC win over it.
                None => added.push(d.clone()),
            }
            continue;
        }
        let accepted: Vec<&str> = if spellings.contains(&name) { spellings.clone() } else { vec![name] };
        match accepted.iter().find(|a| have.contains(a)) {
            Some(found) => present.push(found.to_string()),
            None => added.push(d.clone()),
        }
    }
    // Rewritten in place, not appended.
    let appended: Vec<&String> = added
        .iter()
        .filter(|d| !rewrite.iter().any(|(_, _, new)| new.strip_prefix("-D") == Some(d.as_str())))
        .collect();
    let mut out = String::with_capacity(text.len() + 64);
    for (i, line) in l.iter().enumerate() {
        let mut edited = line.to_string();
        for (_, old, new) in rewrite.iter().filter(|(at, _, _)| *at == i) {
            edited = replace_word(&edited, old, new);
        }
        let line = edited.as_str();
        if i == at && !appended.is_empty() {
            let end = bmake::content_end(line);
            out.push_str(&line[..end]);
            for d in &appended {
                out.push_str(" -D");
                out.push_str(d);
            }
            out.push_str(&line[end..]);
        } else {
            out.push_str(line);
        }
    }
    Ok(BaseEdit { text: out, line: bmake::line_no(at), present, added })
}

/// `line` with the whitespace-separated word `old` replaced by `new`.
fn replace_word(line: &str, old: &str, new: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(old) {
        let before_ok = at == 0 || rest[..at].ends_with([' ', '\t']);
        let after = &rest[at + old.len()..];
        let after_ok = after.is_empty() || after.starts_with([' ', '\t', '\n', '\r', '\\']);
        out.push_str(&rest[..at]);
        out.push_str(if before_ok && after_ok { new } else { old });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freebsd::fixtures;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    /// The lines that differ, as (old, new) pairs; the line count must not change.
    fn changed_lines(old: &str, new: &str) -> Vec<(String, String)> {
        let (a, b) = (bmake::lines(old), bmake::lines(new));
        assert_eq!(a.len(), b.len(), "the edit adds or removes lines");
        a.iter().zip(&b).filter(|(x, y)| x != y).map(|(x, y)| (x.to_string(), y.to_string())).collect()
    }

    fn check_form(name: &str, version: &str, before: &str, after: &str) {
        let text = fixtures::base_makefile(name);
        let e = edit(&text, &v(version)).unwrap();
        assert_eq!(changed_lines(&text, &e.text), vec![(before.to_string(), after.to_string())], "{name}");
        // Idempotent: the edited file needs nothing more.
        let again = edit(&e.text, &v(version)).unwrap();
        assert!(!again.changed(), "{name}: second run added {:?}", again.added);
        assert_eq!(again.text, e.text);
    }

    #[test]
    fn current_form_gains_the_chain_flag() {
        check_form(
            "tls-ec",
            "8.18.1",
            "CFLAGS+=\t-DSTARTTLS -DTLS_EC\n",
            "CFLAGS+=\t-DSTARTTLS -DTLS_EC=2 -D_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE\n",
        );
    }

    #[test]
    fn ffr_tls_1_form_gains_ec_and_chain_spelled_for_the_version() {
        check_form(
            "ffr-tls-1-8.16",
            "8.16.1",
            "CFLAGS+=\t-DSTARTTLS -D_FFR_TLS_1\n",
            "CFLAGS+=\t-DSTARTTLS -D_FFR_TLS_1 -DTLS_EC=2 -D_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE\n",
        );
        check_form(
            "ffr-tls-1-8.15",
            "8.15.2",
            "CFLAGS+=\t-DSTARTTLS -D_FFR_TLS_1\n",
            "CFLAGS+=\t-DSTARTTLS -D_FFR_TLS_1 -D_FFR_TLS_EC -D_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE\n",
        );
    }

    #[test]
    fn other_flags_on_the_line_are_kept() {
        check_form(
            "old-nocrypt-guard",
            "8.15.2",
            "CFLAGS+=\t-DSTARTTLS -D_FFR_TLS_1 -D_FFR_DEAL_WITH_ERROR_SSL\n",
            "CFLAGS+=\t-DSTARTTLS -D_FFR_TLS_1 -D_FFR_DEAL_WITH_ERROR_SSL -D_FFR_TLS_EC -D_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE\n",
        );
    }

    #[test]
    fn spaces_and_comments_are_kept() {
        check_form(
            "spaces",
            "8.18.2",
            "CFLAGS+= -DSTARTTLS -DTLS_EC   # STARTTLS with EC\n",
            "CFLAGS+= -DSTARTTLS -DTLS_EC=2 -D_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE   # STARTTLS with EC\n",
        );
    }

    #[test]
    fn every_other_byte_is_untouched() {
        for (name, ver) in fixtures::BASE_FORMS {
            let text = fixtures::base_makefile(name);
            let e = edit(&text, &v(ver)).unwrap();
            let (a, b) = (bmake::lines(&text), bmake::lines(&e.text));
            let differ: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
            assert_eq!(differ, vec![e.line - 1], "{name}");
            // The changed line only grows, by the added words, at one place.
            let (old, new) = (a[e.line - 1], b[e.line - 1]);
            let cut = bmake::content_end(old);
            assert!(new.starts_with(&old[..cut]) && new.ends_with(&old[cut..]), "{name}: {new:?}");
        }
    }

    #[test]
    fn ffr_ec_alias_counts_as_present_since_tls_ec_is_official() {
        let text = fixtures::base_makefile("tls-ec").replace("-DTLS_EC", "-D_FFR_TLS_EC");
        let e = edit(&text, &v("8.18.2")).unwrap();
        // _FFR_TLS_EC means the fixed P-256 (mode 1): an explicit TLS_EC=2
        // joins it, and tls.h lets TLS_EC win.
        assert_eq!(e.added, ["TLS_EC=2", "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"]);
        assert_eq!(e.present, ["STARTTLS"]);
        // Before 8.16.1 TLS_EC means nothing: the FFR name is added, TLS_EC kept.
        let e = edit(&fixtures::base_makefile("tls-ec"), &v("8.15.2")).unwrap();
        assert_eq!(e.added, ["_FFR_TLS_EC", "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"]);
    }

    #[test]
    fn continuation_lines_are_understood() {
        let text = fixtures::base_makefile("tls-ec")
            .replace("CFLAGS+=\t-DSTARTTLS -DTLS_EC\n", "CFLAGS+=\t-DSTARTTLS \\\n\t-DTLS_EC\n");
        let e = edit(&text, &v("8.18.2")).unwrap();
        assert_eq!(e.added, ["TLS_EC=2", "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"]);
        assert!(
            e.text.contains("CFLAGS+=\t-DSTARTTLS -D_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE \\\n\t-DTLS_EC=2\n"),
            "{}",
            e.text
        );
        assert!(!edit(&e.text, &v("8.18.2")).unwrap().changed());
    }

    #[test]
    fn unrecognised_makefiles_are_refused_with_what_was_looked_for() {
        let tls_ec = fixtures::base_makefile("tls-ec");
        let err = |t: &str| edit(t, &v("8.18.2")).unwrap_err().to_string();

        let e = err(&tls_ec.replace("PROG=\tsendmail", "PROG=\tpostfix"));
        assert!(e.contains("PROG=") && e.contains("not FreeBSD's usr.sbin/sendmail/Makefile"), "{e}");

        let e = err(&tls_ec.replace(".if ${MK_OPENSSL} != \"no\"", ".if ${MK_TCP} != \"no\""));
        assert!(e.contains("found no OpenSSL conditional") && e.contains("MK_OPENSSL"), "{e}");

        let e = err(&tls_ec.replace("-DSTARTTLS -DTLS_EC", "${TLS_CFLAGS}"));
        assert!(e.contains("no CFLAGS line with -DSTARTTLS") && e.contains("${TLS_CFLAGS}"), "{e}");

        let e = err(&tls_ec.replace("CFLAGS+=\t-DSTARTTLS -DTLS_EC\n", "CFLAGS+=\t-DSTARTTLS\nCFLAGS+=\t-DSTARTTLS\n"));
        assert!(e.contains("on 2 lines"), "{e}");

        let twice =
            tls_ec.replace(".if ${MK_TCP_WRAPPERS}", ".if ${MK_OPENSSL} == \"yes\"\n.endif\n.if ${MK_TCP_WRAPPERS}");
        assert!(err(&twice).contains("found 2 OpenSSL conditionals"));

        let open = tls_ec.replacen(".endif\n\n.if ${MK_TCP_WRAPPERS}", "\n.if ${MK_TCP_WRAPPERS}", 1);
        let cut = open.find(".if ${MK_TCP_WRAPPERS}").unwrap();
        assert!(err(&open[..cut]).contains("no matching `.endif`"));
    }

    #[test]
    fn trees_too_old_are_refused() {
        let e = edit(&fixtures::base_makefile("old-nocrypt-guard"), &v("8.13.1")).unwrap_err().to_string();
        assert!(e.contains("8.13.1") && e.contains("8.15.1") && e.contains("update the source tree"), "{e}");
    }

    #[test]
    fn versions_are_read_from_version_c_or_the_makefile() {
        assert_eq!(parse_version_c("SM_RCSID(\"x\")\n\nchar\tVersion[] = \"8.18.1\";\n").unwrap(), v("8.18.1"));
        assert!(parse_version_c("int x;\n").unwrap_err().to_string().contains("Version[]"));
        assert_eq!(version_from_makefile(&fixtures::base_makefile("tls-ec")), Some(v("8.16.1")));
        assert_eq!(version_from_makefile(&fixtures::base_makefile("ffr-tls-1-8.15")), None);
    }
}

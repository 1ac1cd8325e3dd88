//! The same edit for a checkout of the official `mail/sendmail` port, for
//! maintainers who keep it: texts in, texts out or a refusal.
//!
//! The port assembles `devtools/Site/site.config.m4` from
//! `files/site.config.m4.*` fragments; with its TLS option on,
//! `files/site.config.m4.tls` adds STARTTLS and `-lssl -lcrypto`. The edit:
//!
//! - adds the EC define (spelled for the port's PORTVERSION, from the flag
//!   table) to `files/site.config.m4.tls` unless some spelling of it is there;
//! - when the port has an option that switches the chain-file define on (a
//!   `.if ${PORT_OPTIONS:MX}` block or an `X_...` options helper whose line
//!   names the define, or names a `files/` fragment that does), adds that
//!   option to OPTIONS_DEFAULT, so the switch stays in the port's menu;
//! - otherwise adds the chain-file define to `files/site.config.m4.tls`.
//!
//! The lines added to the fragment are the project's own fragments
//! (`site-configs/ec.m4`, `site-configs/cert-chain.m4`), so the port and the
//! xtask build say the same thing. A second run changes nothing.

use super::bmake::{self, Directive};
use crate::configure::{flags, site_config};
use crate::releases::Version;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;

pub(crate) const CHAIN: &str = "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE";
/// The fragment edited, relative to the port directory.
pub(crate) const TLS_FRAGMENT: &str = "files/site.config.m4.tls";

/// The port files the edit reads.
#[derive(Clone, Debug)]
pub(crate) struct PortFiles {
    pub makefile: String,
    pub tls: String,
    /// The other `files/site.config.m4*` fragments: (file name, text).
    pub fragments: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PortEdit {
    pub version: Version,
    pub makefile: String,
    pub tls: String,
    /// Defines added to `files/site.config.m4.tls`.
    pub(crate) tls_added: Vec<String>,
    /// The option that switches the chain-file define on, if the port has one.
    pub(crate) chain_option: Option<String>,
    /// True when that option was added to OPTIONS_DEFAULT.
    pub(crate) option_enabled: bool,
}

impl PortEdit {
    pub(crate) fn changed(&self) -> bool {
        !self.tls_added.is_empty() || self.option_enabled
    }
}

/// PORTVERSION (or DISTVERSION) of the port Makefile.
pub(crate) fn port_version(makefile: &str) -> Result<Version> {
    let l = bmake::lines(makefile);
    for name in ["PORTVERSION", "DISTVERSION"] {
        if let Some(line) = l.iter().find(|line| matches!(bmake::assignment(line), Some((n, "=" | "?=")) if n == name))
        {
            let words = bmake::words(line);
            let word = words.first().with_context(|| format!("{name} is empty"))?;
            return word.parse().with_context(|| {
                format!("{name}={word} is not a plain sendmail version: set it to the release, e.g. 8.18.1")
            });
        }
    }
    bail!("found no PORTVERSION= (or DISTVERSION=) line: is this the mail/sendmail port's Makefile?")
}

/// The `-D` names a site.config.m4 text hands to sendmail (through
/// `conf_sendmail_ENVDEF` or `confENVDEF`).
pub(crate) fn m4_defines(text: &str) -> Vec<String> {
    m4_defines_spelled(text).iter().map(|d| d.split('=').next().unwrap_or(d).to_string()).collect()
}

/// [`m4_defines`] with their values, as written (`TLS_EC=2`).
pub(crate) fn m4_defines_spelled(text: &str) -> Vec<String> {
    let mut out = vec![];
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("dnl") || !(t.contains("conf_sendmail_ENVDEF") || t.contains("`confENVDEF'")) {
            continue;
        }
        // The quoted value: the text between the second backtick and its quote.
        for quoted in t.split('`').skip(2) {
            let value = quoted.split('\'').next().unwrap_or("");
            out.extend(value.split_whitespace().filter_map(|w| w.strip_prefix("-D")).map(str::to_string));
        }
    }
    out
}

/// The option whose lines switch the chain-file define on, found by what the
/// lines do: they name the define, or a `files/` fragment carrying it.
pub(crate) fn chain_option(makefile: &str, fragments: &[(String, String)]) -> Result<Option<String>> {
    let carriers: Vec<&str> =
        fragments.iter().filter(|(_, t)| m4_defines(t).iter().any(|d| d == CHAIN)).map(|(n, _)| n.as_str()).collect();
    let l = bmake::lines(makefile);
    let mentions = |line: &str| line.contains(CHAIN) || carriers.iter().any(|c| line.contains(&format!("/{c}")));
    let options = option_names(&l);
    let mut found: Vec<String> = vec![];
    for (i, line) in l.iter().enumerate() {
        if !mentions(line) {
            continue;
        }
        let option = helper_option(line, &options).or_else(|| enclosing_option(&l, i));
        match option {
            Some(Ok(o)) => {
                if !found.contains(&o) {
                    found.push(o)
                }
            }
            Some(Err(cond)) => bail!(
                "line {} switches {CHAIN} on under `.if {cond}`: expected `.if ${{PORT_OPTIONS:MNAME}}`; edit the port by hand",
                bmake::line_no(i)
            ),
            None => bail!(
                "line {} names {CHAIN} (or a fragment carrying it) outside any option: expected it inside \
                 `.if ${{PORT_OPTIONS:MNAME}}` or on a NAME_... options helper line",
                bmake::line_no(i)
            ),
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => bail!("{} options switch {CHAIN} on ({}): expected one", found.len(), found.join(", ")),
    }
}

/// Every option the port declares (OPTIONS_DEFINE and friends).
fn option_names(l: &[&str]) -> Vec<String> {
    let mut out = vec![];
    for r in bmake::logical(l, 0, l.len()) {
        if let Some((name, _)) = bmake::assignment(l[r.start]) {
            if name.starts_with("OPTIONS_DEFINE")
                || name.starts_with("OPTIONS_GROUP_")
                || name.starts_with("OPTIONS_RADIO_")
            {
                out.extend(r.flat_map(|i| bmake::words(l[i])).map(str::to_string));
            }
        }
    }
    out
}

/// `X_VARS+= ...` and other options helpers: the option is the longest
/// declared name the variable starts with, followed by `_`.
fn helper_option(line: &str, options: &[String]) -> Option<Result<String, String>> {
    let (var, _) = bmake::assignment(line)?;
    options
        .iter()
        .filter(|o| var.len() > o.len() && var.starts_with(o.as_str()) && var.as_bytes()[o.len()] == b'_')
        .max_by_key(|o| o.len())
        .map(|o| Ok(o.clone()))
}

/// The innermost conditional around line `at`: Ok(option) for
/// `.if ${PORT_OPTIONS:MX}`, Err(condition) for any other.
fn enclosing_option(l: &[&str], at: usize) -> Option<Result<String, String>> {
    let mut depth = 0usize;
    for i in (0..at).rev() {
        match bmake::directive(l[i]) {
            Some(Directive::Endif) => depth += 1,
            Some(Directive::If(cond)) => {
                if depth == 0 {
                    return Some(match cond.strip_prefix("${PORT_OPTIONS:M").and_then(|r| r.strip_suffix('}')) {
                        Some(name)
                            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                        {
                            Ok(name.to_string())
                        }
                        _ => Err(cond.to_string()),
                    });
                }
                depth -= 1;
            }
            _ => {}
        }
    }
    None
}

/// Adds `option` to the first OPTIONS_DEFAULT assignment, at the end of its
/// logical line; None when it is there already.
fn enable_option(makefile: &str, option: &str) -> Result<Option<String>> {
    let l = bmake::lines(makefile);
    let defaults: Vec<std::ops::Range<usize>> = bmake::logical(&l, 0, l.len())
        .into_iter()
        .filter(|r| matches!(bmake::assignment(l[r.start]), Some(("OPTIONS_DEFAULT", _))))
        .collect();
    if defaults.iter().any(|r| r.clone().any(|i| bmake::words(l[i]).contains(&option))) {
        return Ok(None);
    }
    let Some(first) = defaults.first() else {
        bail!("found no OPTIONS_DEFAULT= line to add {option} to: add `OPTIONS_DEFAULT+= {option}` by hand")
    };
    let at = first.end - 1;
    let mut out = String::with_capacity(makefile.len() + option.len() + 1);
    for (i, line) in l.iter().enumerate() {
        if i == at {
            let end = bmake::content_end(line);
            out.push_str(&line[..end]);
            out.push(' ');
            out.push_str(option);
            out.push_str(&line[end..]);
        } else {
            out.push_str(line);
        }
    }
    Ok(Some(out))
}

/// The project's fragment text for one define, filled for `version`.
fn fragment_for(define: &str, version: &Version) -> Result<String> {
    let ec = flags::ec_spellings(version)?;
    let (name, vars) = if ec.contains(&define.split('=').next().unwrap_or(define)) {
        ("ec.m4", BTreeMap::from([("EC_DEFINE", define.to_string())]))
    } else if define == CHAIN {
        ("cert-chain.m4", BTreeMap::new())
    } else {
        bail!("no site-configs fragment carries -D{define}")
    };
    site_config::fill(&site_config::builtin(name)?, &vars)
}

/// Inserts `text` after the last line that hands sendmail a define.
fn insert_after_defines(tls: &str, text: &str) -> Result<String> {
    let l = bmake::lines(tls);
    let Some(last) = l.iter().rposition(|line| !m4_defines(line).is_empty()) else {
        bail!("{TLS_FRAGMENT} hands sendmail no define")
    };
    let mut out = String::new();
    for (i, line) in l.iter().enumerate() {
        out.push_str(line);
        if i == last {
            if !line.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(text);
        }
    }
    Ok(out)
}

pub(crate) fn edit(files: &PortFiles) -> Result<PortEdit> {
    let version = port_version(&files.makefile)?;
    let want = super::wanted(&version, "update the port to a newer sendmail first")?;
    let have = m4_defines(&files.tls);
    let spelled = m4_defines_spelled(&files.tls);
    if !have.iter().any(|d| d == "STARTTLS") {
        bail!("{TLS_FRAGMENT} has no `APPENDDEF(`conf_sendmail_ENVDEF', `-DSTARTTLS')` line: is this the mail/sendmail port's TLS fragment?");
    }
    let chain_option = chain_option(&files.makefile, &files.fragments)?;
    let spellings = flags::ec_spellings(&version)?;
    let mut tls_added = vec![];
    for d in &want {
        let accepted: Vec<&str> = if spellings.contains(&d.as_str()) { spellings.clone() } else { vec![d.as_str()] };
        // A define with a value (`TLS_EC=2`) is present only as spelled; an
        // APPENDDEF after `-DTLS_EC` or `-D_FFR_TLS_EC` wins over it.
        let present =
            if d.contains('=') { spelled.contains(d) } else { accepted.iter().any(|a| have.iter().any(|h| h == a)) };
        let by_option = d == CHAIN && chain_option.is_some();
        if !present && !by_option {
            tls_added.push(d.clone());
        }
    }
    let mut tls = files.tls.clone();
    if !tls_added.is_empty() {
        let text = tls_added.iter().map(|d| fragment_for(d, &version)).collect::<Result<Vec<_>>>()?.concat();
        tls = insert_after_defines(&tls, &text)?;
    }
    let (makefile, option_enabled) = match &chain_option {
        Some(o) => match enable_option(&files.makefile, o)? {
            Some(m) => (m, true),
            None => (files.makefile.clone(), false),
        },
        None => (files.makefile.clone(), false),
    };
    Ok(PortEdit { version, makefile, tls, tls_added, chain_option, option_enabled })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::freebsd::fixtures;

    #[test]
    fn official_port_without_an_option_gets_both_defines_in_the_fragment() {
        let files = fixtures::port_files("official-8.15");
        let e = edit(&files).unwrap();
        assert_eq!(e.version.to_string(), "8.15.2");
        assert_eq!(e.tls_added, ["_FFR_TLS_EC", CHAIN]);
        assert_eq!(e.chain_option, None);
        assert_eq!(e.makefile, files.makefile, "the Makefile is untouched");
        // The old lines stay, in order, first; the project's fragments follow the defines.
        assert!(e.tls.starts_with(&files.tls.lines().take(3).map(|l| format!("{l}\n")).collect::<String>()));
        assert!(e.tls.contains("APPENDDEF(`conf_sendmail_ENVDEF', `-D_FFR_TLS_EC')\n"), "{}", e.tls);
        assert!(e.tls.contains(&format!("APPENDDEF(`conf_sendmail_ENVDEF', `-D{CHAIN}')\n")));
        assert!(e.tls.ends_with("APPENDDEF(`conf_sendmail_LIBS', `-lssl -lcrypto')\n"));
        assert_eq!(m4_defines(&e.tls), ["STARTTLS", "_FFR_TLS_1", "_FFR_SSL", "_FFR_TLS_EC", CHAIN]);
        let again = edit(&PortFiles { tls: e.tls.clone(), ..files }).unwrap();
        assert!(!again.changed() && again.tls == e.tls);
    }

    #[test]
    fn a_chain_option_is_switched_on_by_default_instead() {
        let files = fixtures::port_files("chain-option");
        let e = edit(&files).unwrap();
        assert_eq!(e.chain_option.as_deref(), Some("CERT_CHAIN"));
        assert!(e.option_enabled);
        assert_eq!(e.tls_added, ["TLS_EC=2"]);
        let old: Vec<&str> = files.makefile.lines().collect();
        let new: Vec<&str> = e.makefile.lines().collect();
        let diff: Vec<(&str, &str)> = old.iter().zip(&new).filter(|(a, b)| a != b).map(|(a, b)| (*a, *b)).collect();
        assert_eq!(old.len(), new.len());
        assert_eq!(diff, [("\t\t\tPICKY_HELO_CHECK MILTER", "\t\t\tPICKY_HELO_CHECK MILTER CERT_CHAIN")]);
        let again = edit(&PortFiles { makefile: e.makefile.clone(), tls: e.tls.clone(), ..files }).unwrap();
        assert!(!again.changed(), "{again:?}");
    }

    #[test]
    fn options_helpers_and_fragment_files_are_recognised() {
        let mut files = fixtures::port_files("official-8.15");
        files.makefile = files.makefile.replace(
            "TLS_USES=\tssl\n",
            "TLS_USES=\tssl\nPICKY_HELO_CHECK_VARS=\tSITE+=${FILESDIR}/site.config.m4.chain\n",
        );
        files
            .fragments
            .push(("site.config.m4.chain".into(), format!("APPENDDEF(`conf_sendmail_ENVDEF', `-D{CHAIN}')\n")));
        let e = edit(&files).unwrap();
        assert_eq!(e.chain_option.as_deref(), Some("PICKY_HELO_CHECK"));
        assert!(!e.option_enabled, "already on by default");
        assert_eq!(e.tls_added, ["_FFR_TLS_EC"]);
    }

    #[test]
    fn unrecognised_ports_are_refused() {
        let files = fixtures::port_files("chain-option");
        let e = edit(&PortFiles { tls: "APPENDDEF(`confLIBS', `-lssl')\n".into(), ..files.clone() }).unwrap_err();
        assert!(e.to_string().contains("-DSTARTTLS"), "{e}");
        let e = edit(&PortFiles {
            makefile: files.makefile.replace("PORTVERSION=\t8.18.1", "PORTVERSION=\t${V}"),
            ..files.clone()
        })
        .unwrap_err();
        assert!(format!("{e:#}").contains("not a plain sendmail version"), "{e:#}");
        let e = edit(&PortFiles { makefile: files.makefile.replace("PORTVERSION=", "XVERSION="), ..files.clone() })
            .unwrap_err();
        assert!(e.to_string().contains("PORTVERSION"), "{e}");
        // The chain lines moved out of their option block, to the end of do-configure.
        let start = files.makefile.find(".if ${PORT_OPTIONS:MCERT_CHAIN}\n").unwrap();
        let end = start + files.makefile[start..].find(".endif\n").unwrap() + ".endif\n".len();
        let block = &files.makefile[start..end];
        let body = block.lines().skip(1).take(3).map(|l| format!("{l}\n")).collect::<String>();
        let bare = files
            .makefile
            .replace(block, "")
            .replace("\n.include <bsd.port.pre.mk>", &format!("{body}\n.include <bsd.port.pre.mk>"));
        let e = edit(&PortFiles { makefile: bare, ..files.clone() }).unwrap_err();
        assert!(e.to_string().contains("outside any option"), "{e}");
        let other = files.makefile.replace(".if ${PORT_OPTIONS:MCERT_CHAIN}", ".if defined(WITH_CHAIN)");
        let e = edit(&PortFiles { makefile: other, ..files.clone() }).unwrap_err();
        assert!(e.to_string().contains("defined(WITH_CHAIN)"), "{e}");
        let no_default = files.makefile.replace("OPTIONS_DEFAULT?=", "OPTIONS_XDEFAULT?=");
        let e = edit(&PortFiles { makefile: no_default, ..files }).unwrap_err();
        assert!(e.to_string().contains("OPTIONS_DEFAULT"), "{e}");
    }

    #[test]
    fn m4_defines_reads_grouped_and_single_defines() {
        let t = "dnl APPENDDEF(`conf_sendmail_ENVDEF', `-DNOPE')\nAPPENDDEF(`conf_sendmail_ENVDEF', `-DSTARTTLS -D_FFR_TLS_1 -DX=2')dnl\nAPPENDDEF(`confENVDEF', `-DNETINET6')\nAPPENDDEF(`confLIBS', `-DNOT')\n";
        assert_eq!(m4_defines(t), ["STARTTLS", "_FFR_TLS_1", "X", "NETINET6"]);
    }
}

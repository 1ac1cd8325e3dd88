//! verify: prove what the binary was built with, from its own `-d0.14`
//! output and its ELF dynamic section.

use crate::{configure::probe::OpenSsl, configure::Configuration, plan::Plan, progress};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct VerifyArgs {
    /// Verify this sendmail binary instead of the one built in the work directory.
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The defines smtls exists to deliver: the three TLS ones, and the one
/// that lets RejectNUL close the NUL variant of SMTP smuggling
/// (CVE-2023-51765), which every shipped .mc sets.
pub(crate) const REQUIRED: &[&str] =
    &["STARTTLS", "TLS_EC", "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE", "_FFR_REJECT_NUL_BYTE"];

/// What `sendmail -d0.14` says about itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct D0Info {
    pub version: Option<String>,
    pub compiled_with: Vec<String>,
    pub(crate) os_defines: Vec<String>,
    pub(crate) libsm_defines: Vec<String>,
    pub ffr_defines: Vec<String>,
    pub(crate) openssl_compiled: Option<u64>,
    pub(crate) openssl_linked: Option<u64>,
}

impl D0Info {
    /// Whether `name` (or `name=value`) is among the compile-time defines.
    pub fn has(&self, name: &str) -> bool {
        self.compiled_with.iter().chain(&self.ffr_defines).any(|d| d == name || d.split('=').next() == Some(name))
    }
}

/// Parses `-d0.14` output; lists wrap onto tab-indented lines.
pub(crate) fn parse_d0(text: &str) -> D0Info {
    let mut info = D0Info::default();
    let mut current: Option<&str> = None;
    for line in text.lines() {
        if line.starts_with('\t') {
            let words = line.split_whitespace().map(str::to_owned);
            match current {
                Some("Compiled with") => info.compiled_with.extend(words),
                Some("OS Defines") => info.os_defines.extend(words),
                Some("libsm Defines") => info.libsm_defines.extend(words),
                Some("FFR Defines") => info.ffr_defines.extend(words),
                _ => {}
            }
            continue;
        }
        let trimmed = line.trim();
        if let Some(v) = trimmed.strip_prefix("Version ") {
            info.version.get_or_insert_with(|| v.trim().to_string());
            current = None;
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            current = None;
            continue;
        };
        let words = value.split_whitespace().map(str::to_owned);
        current = None;
        match key {
            "Compiled with" => (info.compiled_with.extend(words), current = Some("Compiled with")).0,
            "OS Defines" => (info.os_defines.extend(words), current = Some("OS Defines")).0,
            "libsm Defines" => (info.libsm_defines.extend(words), current = Some("libsm Defines")).0,
            "FFR Defines" => (info.ffr_defines.extend(words), current = Some("FFR Defines")).0,
            "OpenSSL" => {
                let mut w = value.split_whitespace();
                let (which, num) =
                    (w.next(), w.next().and_then(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok()));
                match which {
                    Some("compiled") => info.openssl_compiled = num,
                    Some("linked") => info.openssl_linked = num,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    info
}

/// Runs `BINARY -d0.14 -bt` and returns its output up to the OpenSSL lines.
///
/// On a host whose name is not fully qualified sendmail prints everything
/// and then sleeps 60 s; we read as it streams and end it by pid once the
/// `OpenSSL: linked` line (or a second of silence after output) is in.
pub(crate) fn capture_d0(binary: &Path) -> Result<String> {
    // Whatever the program does, it is stopped within the time limit and
    // after the output cap, its whole process group with it.
    const LIMIT: Duration = Duration::from_secs(15);
    const MAX_BYTES: usize = 1 << 20;
    let mut cmd = Command::new(binary);
    cmd.args(["-d0.14", "-bt"]);
    let done =
        |out: &[u8]| out.ends_with(b"\n") && out.windows(b"OpenSSL: linked".len()).any(|w| w == b"OpenSSL: linked");
    let what = format!("{} -d0.14 -bt", binary.display());
    let b = crate::proc::run_bounded(&mut cmd, LIMIT, MAX_BYTES, Some(Duration::from_secs(1)), &done)
        .with_context(|| format!("running {what}"))?;
    crate::proc::require_complete(&b, &what, LIMIT, MAX_BYTES)?;
    Ok(String::from_utf8_lossy(&b.stdout).into_owned())
}

/// What the dynamic section says about finding libraries.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Dynamic {
    pub needed: Vec<String>,
    /// DT_RUNPATH entries (colon-separated lists split), in order.
    pub runpath: Vec<String>,
    /// DT_RPATH entries: searched before LD_LIBRARY_PATH, deprecated.
    pub rpath: Vec<String>,
}

pub fn dynamic(binary: &Path) -> Result<Dynamic> {
    let bytes = std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let elf = goblin::elf::Elf::parse(&bytes).with_context(|| format!("{} is not an ELF file", binary.display()))?;
    let split = |v: &[&str]| v.iter().flat_map(|s| s.split(':')).filter(|s| !s.is_empty()).map(str::to_owned).collect();
    Ok(Dynamic {
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        runpath: split(&elf.runpaths),
        rpath: split(&elf.rpaths),
    })
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub binary: PathBuf,
    pub info: D0Info,
    pub needed: Vec<String>,
    pub checks: Vec<Check>,
    pub ok: bool,
}

impl Report {
    pub fn summary(&self) -> String {
        let passed = self.checks.iter().filter(|c| c.ok).count();
        format!("sendmail {} — {passed}/{} checks pass", self.info.version.as_deref().unwrap_or("?"), self.checks.len())
    }

    pub fn text(&self) -> String {
        let mut s = format!("{}\n", self.binary.display());
        for c in &self.checks {
            s.push_str(&format!("  {} {}: {}\n", if c.ok { "pass" } else { "FAIL" }, c.name, c.detail));
        }
        s
    }
}

/// Judges the evidence: pure, so it is unit-tested on real output.
/// What a configuration promises: defines and option tokens that must be
/// listed, tokens that must not be (an option switched off), and libraries
/// that must be linked.
#[derive(Clone, Debug, Default)]
pub(crate) struct Expectations {
    pub required: Vec<String>,
    pub(crate) absent: Vec<String>,
    /// (option, ELF NEEDED prefix)
    pub links: Vec<(String, String)>,
    /// With --openssl-prefix: the library directory the run path must name
    /// and the OpenSSL number the configure probe found there.
    pub openssl_prefix: Option<(PathBuf, u64)>,
}

impl Expectations {
    pub(crate) fn baseline() -> Expectations {
        Expectations { required: REQUIRED.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    pub(crate) fn from_configuration(c: &Configuration) -> Expectations {
        let mut e = Expectations::baseline();
        for d in &c.defines {
            let name = d.split('=').next().unwrap_or(d).to_string();
            if !e.required.contains(&name) {
                e.required.push(name);
            }
        }
        for name in &c.options {
            if let Some(spec) = crate::configure::options::find(name) {
                e.required.push(spec.token.to_string());
                if let Some(lib) = spec.links {
                    e.links.push((name.clone(), lib.to_string()));
                }
            }
        }
        for name in &c.options_off {
            if let Some(spec) = crate::configure::options::find(name) {
                e.absent.push(spec.token.to_string());
            }
        }
        // A build --without reject-nul: the define must be absent, not required.
        let absent = e.absent.clone();
        e.required.retain(|r| !absent.contains(r));
        if let Some(p) = &c.openssl.prefix {
            e.openssl_prefix = Some((crate::configure::probe::prefix_flags(p).1, c.openssl.linked));
        }
        e
    }
}

/// The EC define's spellings: sendmail lists `TLS_EC` under "Compiled
/// with", the older `_FFR_TLS_EC` under "FFR Defines".
const EC_NAMES: [&str; 2] = ["TLS_EC", "_FFR_TLS_EC"];

/// The required defines with the EC one once, under the name the binary
/// shows (the expected name when it shows neither).
fn required_names(info: &D0Info, required: &[String]) -> Vec<String> {
    let shown_ec = EC_NAMES.iter().find(|n| info.has(n));
    let mut out: Vec<String> = vec![];
    for d in required {
        let name = match shown_ec {
            Some(shown) if EC_NAMES.contains(&d.as_str()) => shown.to_string(),
            _ => d.clone(),
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

pub(crate) fn judge(binary: &Path, info: D0Info, dynamic: Dynamic, expect: &Expectations) -> Report {
    let needed = dynamic.needed.clone();
    let mut checks = vec![];
    let mut check = |name: String, ok: bool, detail: String| checks.push(Check { name, ok, detail });
    for d in required_names(&info, &expect.required) {
        let ok = info.has(&d);
        let place =
            if info.ffr_defines.contains(&d) || d.starts_with("_FFR_") { "FFR Defines" } else { "Compiled with" };
        check(
            format!("define {d}"),
            ok,
            if ok { format!("listed under {place}") } else { format!("missing from {place}") },
        );
    }
    match (info.openssl_compiled, info.openssl_linked) {
        (Some(c), Some(l)) => {
            let ok = OpenSsl::major_minor(c) == OpenSsl::major_minor(l);
            let (cm, cn) = OpenSsl::major_minor(c);
            let (lm, ln) = OpenSsl::major_minor(l);
            check(
                "OpenSSL compiled = linked (major.minor)".into(),
                ok,
                format!("compiled {c:#x} ({cm}.{cn}), linked {l:#x} ({lm}.{ln})"),
            );
        }
        _ => check(
            "OpenSSL compiled = linked (major.minor)".into(),
            false,
            "no `OpenSSL: compiled/linked` lines: built without STARTTLS?".into(),
        ),
    }
    if let Some((lib, probed)) = &expect.openssl_prefix {
        let want = lib.display().to_string();
        let ok = dynamic.runpath.contains(&want);
        let detail = match (ok, dynamic.runpath.is_empty(), dynamic.rpath.is_empty()) {
            (true, _, _) => format!("RUNPATH {}", dynamic.runpath.join(":")),
            (false, true, false) => {
                format!("only a DT_RPATH {} (LD_LIBRARY_PATH cannot override it)", dynamic.rpath.join(":"))
            }
            (false, true, true) => "no RUNPATH: the system's OpenSSL would be loaded".to_string(),
            (false, false, _) => format!("RUNPATH {} does not name {want}", dynamic.runpath.join(":")),
        };
        check("RUNPATH into the OpenSSL prefix".into(), ok, detail);
        let linked = info.openssl_linked;
        check(
            "linked OpenSSL is the prefix's".into(),
            linked == Some(*probed),
            match linked {
                Some(l) => format!("linked {l:#x}, the prefix's library is {probed:#x}"),
                None => "no `OpenSSL: linked` line".into(),
            },
        );
    }
    for d in &expect.absent {
        let ok = !info.has(d);
        let detail =
            if ok { "not listed, as configured".to_string() } else { "listed although the option is off".to_string() };
        check(format!("option off: {d}"), ok, detail);
    }
    let mut libs: Vec<(&str, &str)> = vec![("libssl", "libssl.so"), ("libcrypto", "libcrypto.so")];
    for (name, prefix) in &expect.links {
        libs.push((name.as_str(), prefix.as_str()));
    }
    for (name, prefix) in libs {
        let found = needed.iter().find(|n| n.starts_with(prefix));
        check(
            format!("ELF NEEDED {name}"),
            found.is_some(),
            found.map_or_else(|| format!("not among {}", needed.join(", ")), |f| f.clone()),
        );
    }
    let ok = checks.iter().all(|c| c.ok);
    Report { binary: binary.to_path_buf(), info, needed, checks, ok }
}

/// What verifying the built binary depends on: the build (its stamp) and
/// the binary itself.
pub(crate) fn stamp_inputs(plan: &Plan) -> crate::stamp::Inputs {
    let mut i = crate::stamp::Inputs::new("verify");
    let build = crate::stamp::load(&plan.work_dir, "build")
        .map_or_else(|| "no finished build".into(), |s| format!("sha256:{}", s.digest));
    i.add("build", build);
    i.add_file_identity("binary", &plan.program("sendmail"));
    i
}

/// Verifies `--binary`, or the build `config` describes (what it expects
/// comes from the configuration's options and OpenSSL).
pub fn run(plan: &Plan, args: &VerifyArgs, config: Option<&Configuration>) -> Result<Report> {
    let (binary, config) = match &args.binary {
        Some(b) => (b.clone(), None),
        None => (
            plan.program("sendmail"),
            Some(config.context("verifying the build needs its configuration: run `cargo xtask configure`")?),
        ),
    };
    if !binary.is_file() {
        bail!("{} does not exist: run `cargo xtask build` first, or pass --binary PATH", binary.display());
    }
    let t = progress::Timer::start(format!("verify {}", binary.display()));
    if args.binary.is_none() {
        crate::stamp::forget(&plan.work_dir, "verify")?;
    }
    let info = parse_d0(&capture_d0(&binary)?);
    let dynamic = dynamic(&binary)?;
    let expect = match &config {
        Some(c) => Expectations::from_configuration(c),
        None => Expectations::baseline(),
    };
    let report = judge(&binary, info, dynamic, &expect);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    if !report.ok {
        let failed: Vec<&str> = report.checks.iter().filter(|c| !c.ok).map(|c| c.name.as_str()).collect();
        bail!("{} failed verification: {}", binary.display(), failed.join("; "));
    }
    if args.binary.is_none() {
        crate::stamp::record(&plan.work_dir, &stamp_inputs(plan), &report.summary())?;
    }
    t.done();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = include_str!("testdata/d0.14-8.18.2.txt");

    fn dynamic_of(needed: Vec<String>) -> Dynamic {
        Dynamic { needed, ..Default::default() }
    }

    #[test]
    fn ffr_ec_is_reported_once_under_its_own_name() {
        // 8.15.2 lists only _FFR_TLS_EC, under FFR Defines.
        let text = "Version 8.15.2\n Compiled with: DNSMAP LOG STARTTLS\n   FFR Defines: _FFR_REJECT_NUL_BYTE _FFR_TLS_EC _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE\n       OpenSSL: compiled 0x1010117f\n       OpenSSL: linked   0x1010117f\n";
        let mut e = Expectations::baseline();
        e.required.push("_FFR_TLS_EC".into());
        let r = judge(
            Path::new("s"),
            parse_d0(text),
            dynamic_of(vec!["libssl.so.1.1".into(), "libcrypto.so.1.1".into()]),
            &e,
        );
        let ec: Vec<&Check> = r.checks.iter().filter(|c| c.name.contains("TLS_EC")).collect();
        assert_eq!(ec.len(), 1, "{}", r.text());
        assert_eq!(ec[0].name, "define _FFR_TLS_EC");
        assert_eq!(ec[0].detail, "listed under FFR Defines");
        assert!(r.ok, "{}", r.text());
    }

    #[test]
    fn a_prefix_build_needs_its_runpath_and_its_library() {
        let text = REAL.replace("0x30000160", "0x1010117f");
        let mut e = Expectations::baseline();
        e.openssl_prefix = Some((PathBuf::from("/opt/ssl/lib"), 0x1010_117f));
        let libs = vec!["libssl.so.1.1".to_string(), "libcrypto.so.1.1".to_string()];
        let good = Dynamic { needed: libs.clone(), runpath: vec!["/opt/ssl/lib".into()], rpath: vec![] };
        let r = judge(Path::new("s"), parse_d0(&text), good, &e);
        assert!(r.ok, "{}", r.text());
        let rpath_only = Dynamic { needed: libs.clone(), runpath: vec![], rpath: vec!["/opt/ssl/lib".into()] };
        let r = judge(Path::new("s"), parse_d0(&text), rpath_only, &e);
        assert!(r.text().contains("only a DT_RPATH"), "{}", r.text());
        // The system's 3.0 got loaded: the linked number gives it away.
        let r = judge(
            Path::new("s"),
            parse_d0(REAL),
            Dynamic { needed: libs, runpath: vec!["/opt/ssl/lib".into()], rpath: vec![] },
            &e,
        );
        let failed: Vec<&str> = r.checks.iter().filter(|c| !c.ok).map(|c| c.name.as_str()).collect();
        assert_eq!(failed, ["linked OpenSSL is the prefix's"]);
    }

    #[test]
    fn parses_real_output_with_wrapped_lines() {
        let i = parse_d0(REAL);
        assert_eq!(i.version.as_deref(), Some("8.18.2"));
        assert_eq!(i.compiled_with.first().map(String::as_str), Some("DANE"));
        for d in ["STARTTLS", "TLS_EC", "MTA_HAVE_TLSv1_3", "XDEBUG", "NEWDB"] {
            assert!(i.has(d), "{d} missing: {:?}", i.compiled_with);
        }
        assert_eq!(
            i.ffr_defines,
            [
                "_FFR_BADRCPT_SHUTDOWN",
                "_FFR_REJECT_NUL_BYTE",
                "_FFR_TLS_ALTNAMES",
                "_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE",
                "_FFR_M_ONLY_IPV4"
            ]
        );
        assert!(i.os_defines.contains(&"USE_SIGLONGJMP".to_string()));
        assert!(i.libsm_defines.contains(&"SM_OS=sm_os_linux".to_string()));
        assert_eq!(i.openssl_compiled, Some(0x3000_0160));
        assert_eq!(i.openssl_linked, Some(0x3000_0160));
        assert!(!i.has("NEWD"), "prefixes are not names");
    }

    #[test]
    fn judges_real_output() {
        let needed = vec!["libssl.so.3".into(), "libcrypto.so.3".into(), "libdb-5.3.so".into(), "libc.so.6".into()];
        let mut e = Expectations::baseline();
        e.links.push(("bdb".into(), "libdb".into()));
        e.required.push("NEWDB".into());
        e.absent.push("LDAPMAP".into());
        let r = judge(Path::new("sendmail"), parse_d0(REAL), dynamic_of(needed), &e);
        assert!(r.ok, "{}", r.text());
        assert_eq!(r.checks.len(), 10);
        e.absent.push("MILTER".into());
        let r = judge(Path::new("sendmail"), parse_d0(REAL), dynamic_of(r.needed), &e);
        assert!(!r.ok, "MILTER is listed, so an option said to be off has silently stayed on");
    }

    #[test]
    fn missing_chain_flag_and_mismatched_openssl_fail() {
        let text = REAL
            .replace("_FFR_TLS_USE_CERTIFICATE_CHAIN_FILE", "")
            .replace("_FFR_REJECT_NUL_BYTE", "")
            .replace("linked   0x30000160", "linked   0x30500010");
        let r = judge(Path::new("s"), parse_d0(&text), dynamic_of(vec!["libc.so.6".into()]), &Expectations::baseline());
        assert!(!r.ok);
        let failed: Vec<&str> = r.checks.iter().filter(|c| !c.ok).map(|c| c.name.as_str()).collect();
        assert_eq!(
            failed,
            [
                "define _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE",
                "define _FFR_REJECT_NUL_BYTE",
                "OpenSSL compiled = linked (major.minor)",
                "ELF NEEDED libssl",
                "ELF NEEDED libcrypto"
            ]
        );
    }

    #[test]
    fn debians_own_sendmail_lacks_only_the_chain_flag() {
        let debian = parse_d0(include_str!("testdata/d0.14-debian-8.17.1.9.txt"));
        assert_eq!(debian.version.as_deref(), Some("8.17.1.9"));
        for d in ["SASLv2", "NETINET6", "LDAPMAP", "TCPWRAPPERS", "NEWDB", "MAP_REGEX", "SOCKETMAP", "_FFR_MTA_STS"] {
            assert!(debian.has(d), "{d}");
        }
        let needed = vec!["libssl.so.3".into(), "libcrypto.so.3".into()];
        let r = judge(Path::new("sendmail"), debian, dynamic_of(needed), &Expectations::baseline());
        let failed: Vec<&str> = r.checks.iter().filter(|c| !c.ok).map(|c| c.name.as_str()).collect();
        assert_eq!(failed, ["define _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE"]);
    }

    #[test]
    fn without_starttls_there_are_no_openssl_lines() {
        let text = "Version 8.18.2\n Compiled with: DNSMAP LOG\n   FFR Defines: _FFR_M_ONLY_IPV4\n";
        let i = parse_d0(text);
        assert!(!i.has("STARTTLS"));
        assert_eq!(i.openssl_linked, None);
    }
}

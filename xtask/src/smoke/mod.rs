//! smoke: prove the built sendmail speaks good TLS and ends DATA safely. A
//! throwaway PKI, installed as administrators are told to; a sendmail.cf
//! made by m4 from the release's cf/ tree; the real daemon on 127.0.0.1;
//! five checks by a real TLS client, three SMTP AUTH checks when the
//! binary has SASL (a private Cyrus SASL setup, see [`sasl`]), and the
//! end-of-data section (SMTP smuggling, see [`eod`]). One `pass`/`FAIL`
//! line per check on stdout, or one `skip` line for the AUTH checks.

pub mod auth;
pub mod cf;
pub mod client;
pub mod daemon;
pub mod eod;
pub mod material;
pub mod pki;
pub mod sasl;

use crate::{fetch, plan::Plan, progress, releases, tools, verify};
use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The name the test server answers to (`$j`, the leaf's subjectAltName).
pub const HOST: &str = "smoke.smtls.test";

#[derive(clap::Args, Clone, Debug, Default)]
pub struct SmokeArgs {
    /// Smoke this sendmail binary (e.g. an installed /usr/sbin/sendmail)
    /// instead of the one built in the work directory; the .cf is still made
    /// from the release's cf/ tree (fetched when missing).
    #[arg(long, value_name = "PATH")]
    pub binary: Option<PathBuf>,
    /// Keep the smoke directory (PKI, sendmail.cf, queue, daemon output) for
    /// inspection. The daemon is stopped all the same.
    #[arg(long)]
    pub keep: bool,
    /// Negative control for the material check: install the server key with
    /// this octal mode instead of 600 (e.g. 644 must be refused).
    #[arg(long, value_name = "OCTAL", hide = true, value_parser = parse_mode, conflicts_with = "cert_dir")]
    pub(crate) key_mode: Option<u32>,
    /// Serve an installed certificate set instead of a throwaway PKI: the
    /// directory `sendmail-certs install` wrote (host.cert with the leaf and
    /// its intermediates, host.key, cacert.pem, dhparams.pem). Needs --host.
    #[arg(long, value_name = "DIR", requires = "host")]
    pub cert_dir: Option<PathBuf>,
    /// The name the daemon answers to and its certificate must cover
    /// (default smoke.smtls.test, the throwaway leaf's name).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// The root CA the client trusts, alone (default: cacert.pem of
    /// --cert-dir).
    #[arg(long, value_name = "FILE", requires = "cert_dir")]
    pub trust: Option<PathBuf>,
    /// The opt-out, as a negative control: the .cf says `O RejectNUL=False`
    /// (the commented line of every shipped .mc), and the NUL check expects
    /// a message holding a NUL byte to be accepted.
    #[arg(long)]
    pub(crate) allow_nul: bool,
}

fn parse_mode(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8).ok().filter(|m| *m <= 0o777).ok_or_else(|| format!("{s:?} is not an octal file mode"))
}

/// The smoke directory: private (0700), removed on drop unless kept.
struct SmokeDir {
    path: PathBuf,
    keep: bool,
}

impl SmokeDir {
    fn create(parent: &Path, keep: bool) -> Result<SmokeDir> {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let path = parent.join(format!("smoke-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).with_context(|| format!("removing a stale {}", path.display()))?;
        }
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))?;
        if !keep {
            daemon::register_dir(&path);
        }
        Ok(SmokeDir { path, keep })
    }
}

impl Drop for SmokeDir {
    fn drop(&mut self) {
        if self.keep {
            progress::info(&format!("kept {} (--keep)", self.path.display()));
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
            daemon::unregister_dir(&self.path);
        }
    }
}

/// The binary to test and the cf/ tree to configure it with.
fn inputs(plan: &Plan, args: &SmokeArgs) -> Result<(PathBuf, PathBuf)> {
    let cf_dir = plan.source_dir().join("cf");
    let binary = match &args.binary {
        Some(b) => {
            let b = std::path::absolute(b)?;
            if !b.is_file() {
                bail!("--binary {}: no such file", b.display());
            }
            if !cf_dir.join("m4/cf.m4").is_file() {
                progress::info(&format!(
                    "{} is missing; fetching sendmail {} for its cf/ tree",
                    cf_dir.display(),
                    plan.version
                ));
                fetch::run(plan, &fetch::FetchArgs::default())?;
            }
            b
        }
        None => {
            let b = plan.program("sendmail");
            if !b.is_file() {
                bail!(
                    "no sendmail built in {} ({} is missing): run `cargo xtask dist` first, or pass --binary PATH",
                    plan.work_dir.display(),
                    b.display()
                );
            }
            b
        }
    };
    if !cf_dir.join("m4/cf.m4").is_file() {
        bail!("{} holds no cf/m4/cf.m4: run `cargo xtask fetch`", cf_dir.display());
    }
    Ok((binary, cf_dir))
}

pub fn run(plan: &Plan, args: &SmokeArgs) -> Result<()> {
    let openssl = tools::find(&tools::OPENSSL)?;
    let m4 = tools::find(&tools::M4)?;
    let (binary, cf_dir) = inputs(plan, args)?;
    let t = progress::Timer::start(format!("smoke test of {} (TLS on 127.0.0.1)", binary.display()));
    let dir = SmokeDir::create(&plan.work_dir, args.keep)?;
    let host = args.host.as_deref().unwrap_or(HOST);
    let (layout, pki, hash) = certificates(&dir.path, host, args, &openssl)?;
    check_material(&layout, &pki, &hash, &openssl)?;
    let d0 = verify::parse_d0(&verify::capture_d0(&binary)?);
    say_release_warnings(&d0);
    let sasl = sasl_if_built(&d0, &dir.path, host)?;
    let nul = nul_expectation(&d0, &binary, args.allow_nul);
    let config = smoke_cf(&dir.path, host, &layout, sasl.as_ref(), &nul)?;
    let cf_path = write_cf(&dir.path, &m4, &cf_dir, &config)?;
    let (mut d, smtp, smtps) = start_daemon(&binary, &cf_path, &dir.path, host, &config)?;
    let target = client::Target { pki: &pki, host, smtp, smtps, queue_dir: config.queue_dir.clone(), openssl };
    let outcomes = run_checks(&target, sasl.as_ref(), &binary, &nul);
    let stopped = stop_daemon(&mut d, &[smtp, smtps]);
    if args.keep {
        print_rerun_hint(&binary, &cf_path, host);
    }
    drop(dir);
    judge(&stopped, &outcomes)?;
    t.done();
    Ok(())
}

/// A throwaway PKI installed as administrators are told to, or the
/// installed set of --cert-dir.
fn certificates(dir: &Path, host: &str, args: &SmokeArgs, openssl: &Path) -> Result<(pki::Layout, pki::Pki, String)> {
    let Some(cert_dir) = &args.cert_dir else {
        let layout = pki::Layout::new(dir.join("certs"));
        progress::info(&format!(
            "throwaway PKI (root CA, intermediate CA, leaf for {host}) in {}",
            layout.cert_dir.display()
        ));
        let pki = pki::generate(host)?;
        let hash = pki::install(&pki, &layout, openssl, args.key_mode.unwrap_or(0o600))?;
        return Ok((layout, pki, hash));
    };
    installed_set(cert_dir, host, args.trust.as_deref(), openssl)
}

/// Refuses to start sendmail on unsafe material: it would only log that
/// and serve without STARTTLS.
fn check_material(layout: &pki::Layout, pki: &pki::Pki, hash: &str, openssl: &Path) -> Result<()> {
    let problems = material::check(layout, pki, hash, openssl);
    if !problems.is_empty() {
        for p in &problems {
            println!("FAIL material: {p}");
        }
        bail!(
            "the certificate material is unsafe ({} problem(s) above); sendmail was not started, since it would only \
             log this and serve without STARTTLS",
            problems.len()
        );
    }
    progress::info("certificate material: directory private, key 0600, chain leaf+intermediate, hash link, DH 2048");
    Ok(())
}

/// The release table's warnings for the binary's version (a flaw no build
/// switch closes, such as ending DATA at a bare LF before 8.18.1).
fn say_release_warnings(d0: &verify::D0Info) {
    let Some(version) = d0.version.as_deref().and_then(|v| v.parse::<releases::Version>().ok()) else { return };
    for w in releases::table().compat(&version).warning_lines(&version) {
        progress::info(&format!("warning: {w}"));
    }
}

/// The private SASL setup when the binary has SASL; otherwise the AUTH
/// checks are reported as skipped.
fn sasl_if_built(d0: &verify::D0Info, dir: &Path, host: &str) -> Result<Option<SaslSetup>> {
    if d0.has("SASLv2") {
        return sasl_setup(dir, host).map(Some);
    }
    progress::info("no SASLv2 in the binary's -d0.14 \"Compiled with\" list: the SMTP AUTH checks are skipped");
    Ok(None)
}

/// What the NUL check expects: refused, as every shipped .mc sets it, or
/// accepted with --allow-nul (the opt-out); a binary without the define
/// cannot refuse at all.
fn nul_expectation(d0: &verify::D0Info, binary: &Path, allow_nul: bool) -> eod::Nul {
    match (d0.has("_FFR_REJECT_NUL_BYTE"), allow_nul) {
        (false, _) => eod::Nul::Unavailable(format!(
            "{} was built without _FFR_REJECT_NUL_BYTE (not in its -d0.14 FFR list), so it accepts NUL bytes whatever \
             the .cf says: build it with the default option reject-nul",
            binary.display()
        )),
        (true, false) => eod::Nul::Refused,
        (true, true) => eod::Nul::Accepted,
    }
}

/// The test configuration: everything in `dir`, two free ports.
fn smoke_cf(
    dir: &Path,
    host: &str,
    layout: &pki::Layout,
    sasl: Option<&SaslSetup>,
    nul: &eod::Nul,
) -> Result<cf::SmokeCf> {
    let queue_dir = dir.join("queue");
    std::fs::create_dir(&queue_dir)?;
    std::fs::set_permissions(&queue_dir, std::fs::Permissions::from_mode(0o700))?;
    let alias_file = dir.join("aliases");
    crate::util::write_atomic(&alias_file, b"")?;
    let ports = daemon::free_ports(2)?;
    Ok(cf::SmokeCf {
        host: host.into(),
        ostype: cf::ostype().into(),
        queue_dir,
        pid_file: dir.join("sendmail.pid"),
        alias_file,
        cert_dir: layout.cert_dir.clone(),
        ca_file: layout.ca_file(),
        cert_file: layout.cert_file(),
        key_file: layout.key_file(),
        dh_file: layout.dh_file(),
        smtp_port: ports[0],
        smtps_port: ports[1],
        auth: sasl.map(|s| cf::AuthCf {
            options: sasl::AUTH_OPTIONS.into(),
            mechanisms: sasl::MECHANISMS.iter().map(|m| m.to_string()).collect(),
            realm: s.account.realm.clone(),
            sasl_conf_dir: s.layout.dir.clone(),
        }),
        reject_nul: match nul {
            eod::Nul::Refused => Some(true),
            eod::Nul::Accepted => Some(false),
            eod::Nul::Unavailable(_) => None,
        },
    })
}

/// The .mc, the .cf made from it by m4 and checked line by line.
fn write_cf(dir: &Path, m4: &Path, cf_dir: &Path, config: &cf::SmokeCf) -> Result<PathBuf> {
    let mc_path = dir.join("smoke.mc");
    crate::util::write_atomic(&mc_path, config.mc()?.as_bytes())?;
    let cf_text = cf::m4(m4, cf_dir, &mc_path)?;
    cf::check(&cf_text, &config.expected_lines())?;
    let cf_path = dir.join("sendmail.cf");
    crate::util::write_atomic(&cf_path, cf_text.as_bytes())?;
    std::fs::set_permissions(&cf_path, std::fs::Permissions::from_mode(0o644))?;
    progress::info(&format!("sendmail.cf from {} with m4: {}", cf_dir.display(), cf_path.display()));
    Ok(cf_path)
}

/// `sendmail -bD`, waited for until both ports accept.
fn start_daemon(
    binary: &Path,
    cf_path: &Path,
    dir: &Path,
    host: &str,
    config: &cf::SmokeCf,
) -> Result<(daemon::Daemon, SocketAddr, SocketAddr)> {
    let mut d = daemon::Daemon::start(binary, cf_path, &dir.join("sendmail.out"), host)?;
    let smtp: SocketAddr = ([127, 0, 0, 1], config.smtp_port).into();
    let smtps: SocketAddr = ([127, 0, 0, 1], config.smtps_port).into();
    let timeout = match &d.host_name {
        daemon::HostName::Machine(m) if daemon::host_name_is_unqualified(m) => Duration::from_secs(100),
        _ => Duration::from_secs(30),
    };
    progress::info(&format!(
        "sendmail -bD (pid {}{}) starting: SMTP on {smtp}, SMTPS on {smtps}",
        d.pid(),
        match &d.host_name {
            daemon::HostName::Private(h) => format!(", private host name {h}"),
            daemon::HostName::Machine(_) => String::new(),
        }
    ));
    d.wait_ready(&[smtp, smtps], timeout)?;
    progress::info(&format!("sendmail (pid {}) accepts on both ports", d.pid()));
    Ok((d, smtp, smtps))
}

/// The TLS checks, the SMTP AUTH checks (or one skip line), the end-of-data
/// section.
fn run_checks(
    target: &client::Target,
    sasl: Option<&SaslSetup>,
    binary: &Path,
    nul: &eod::Nul,
) -> Vec<client::Outcome> {
    let mut outcomes = client::run_all(target);
    match sasl {
        Some(s) => {
            let a = auth::AuthTarget {
                account: &s.account,
                mechanisms: sasl::MECHANISMS.iter().map(|m| m.to_string()).collect(),
                conf_file: s.layout.conf_file(),
            };
            outcomes.extend(auth::run_all(target, &a));
        }
        None => {
            let why = format!(
                "{} was built without SASL (its -d0.14 \"Compiled with\" list has no SASLv2); build with --with sasl \
                 to test SMTP AUTH",
                binary.display()
            );
            println!("{}", auth::skipped_line(&why));
        }
    }
    outcomes.extend(eod::run_all(target, nul));
    outcomes
}

/// Stops the daemon by pid and reports whether its group and ports are gone.
fn stop_daemon(d: &mut daemon::Daemon, addrs: &[SocketAddr]) -> (daemon::Stopped, bool) {
    let stopped = d.stop();
    let ports_closed =
        addrs.iter().all(|a| std::net::TcpStream::connect_timeout(a, Duration::from_millis(500)).is_err());
    let ports: Vec<String> = addrs.iter().map(|a| a.port().to_string()).collect();
    progress::info(&format!(
        "sendmail (pid {}) stopped ({}); {}; ports {} {}",
        stopped.pid,
        stopped.status,
        if stopped.group_gone { "no process of its group left" } else { "SOME PROCESS OF ITS GROUP IS STILL RUNNING" },
        ports.join(" and "),
        if ports_closed { "closed" } else { "STILL OPEN" }
    ));
    (stopped, ports_closed)
}

fn print_rerun_hint(binary: &Path, cf_path: &Path, host: &str) {
    progress::info(&format!(
        "to run it again by hand: {} -bD -C {} (as root, in a UTS namespace named {HOST} if the host name is \
         not fully qualified: unshare -u sh -c 'hostname {host}; exec ...')",
        binary.display(),
        cf_path.display()
    ));
}

/// Fails when the daemon did not stop cleanly or any check failed.
fn judge((stopped, ports_closed): &(daemon::Stopped, bool), outcomes: &[client::Outcome]) -> Result<()> {
    if !stopped.group_gone || !ports_closed {
        bail!("sendmail (pid {}) could not be stopped cleanly", stopped.pid);
    }
    let failed: Vec<&str> = outcomes.iter().filter(|o| !o.pass).map(|o| o.name).collect();
    if !failed.is_empty() {
        bail!("{} of {} smoke checks failed: {}", failed.len(), outcomes.len(), failed.join(", "));
    }
    Ok(())
}

/// An installed set in `cert_dir`, read for the client: the leaf and its
/// intermediates from the chain file, the root from `trust` (default the
/// set's CA file), and the CA file's subject hash.
fn installed_set(
    cert_dir: &Path,
    host: &str,
    trust: Option<&Path>,
    openssl: &Path,
) -> Result<(pki::Layout, pki::Pki, String)> {
    let cert_dir = std::path::absolute(cert_dir)?;
    let layout = pki::Layout::new(cert_dir.clone());
    let read = |p: &Path| std::fs::read_to_string(p).with_context(|| format!("reading {} of --cert-dir", p.display()));
    let trust = trust.map(Path::to_path_buf).unwrap_or_else(|| layout.ca_file());
    let pki = pki::Pki::from_installed(&read(&layout.cert_file())?, &read(&layout.key_file())?, &read(&trust)?)
        .with_context(|| format!("the certificate set in {}", cert_dir.display()))?;
    let hash = pki::subject_hash(openssl, &layout.ca_file())?;
    progress::info(&format!(
        "installed set in {} (leaf and {} intermediate(s) for {host}; the client trusts {} alone)",
        cert_dir.display(),
        pki.intermediates().len(),
        trust.display()
    ));
    Ok((layout, pki, hash))
}

/// The private SASL setup of one smoke run.
struct SaslSetup {
    layout: sasl::Layout,
    account: sasl::Account,
}

/// Creates the sasldb and Sendmail.conf in the smoke directory and checks
/// them by sendmail's rules. Nothing system-wide is read or written.
fn sasl_setup(dir: &Path, host: &str) -> Result<SaslSetup> {
    let saslpasswd2 = tools::find(&tools::SASLPASSWD2)?;
    let layout = sasl::Layout::new(dir.join("sasl"));
    let account = sasl::Account::new(host)?;
    sasl::install(&layout, &account, &saslpasswd2)?;
    let problems = sasl::check(&layout);
    if !problems.is_empty() {
        for p in &problems {
            println!("FAIL material: {p}");
        }
        bail!("the SASL files are unsafe ({} problem(s) above); sendmail was not started", problems.len());
    }
    progress::info(&format!(
        "SMTP AUTH: private Cyrus SASL setup in {} (sasldb 0600 with the account {}@{}, {} with mech_list {}), found \
         by sendmail through SASL_CONF_PATH from an E line of its .cf; no system SASL file is read or written",
        layout.dir.display(),
        account.user,
        account.realm,
        layout.conf_file().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        sasl::MECHANISMS.join(" ")
    ));
    Ok(SaslSetup { layout, account })
}

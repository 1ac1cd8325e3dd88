//! The command line: parse, build the plan, dispatch to each step's `run`.

use crate::{
    bench, build, configure, dist, epoch, fetch, freebsd, package, plan, repro, smoke, source, stage, tools, verify,
};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "smtls: a TLS-enabled sendmail, fetched, proven, built, verified and packaged"
)]
pub struct Cli {
    #[command(flatten)]
    pub plan: plan::PlanArgs,
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fetch the pinned tarball, prove it (size, SHA-256, signature) and unpack it.
    Fetch(fetch::FetchArgs),
    /// Probe OpenSSL and the build options' libraries; write devtools/Site/site.config.m4.
    Configure(configure::ConfigureArgs),
    /// Compile with sendmail's own Build.
    Build(build::BuildArgs),
    /// Prove the built binary has STARTTLS, TLS_EC and the chain-file flag.
    Verify(verify::VerifyArgs),
    /// List the build options (SASL, IPv6, maps, DANE, ...) and whether this host can build them.
    Options(configure::OptionsArgs),
    /// Prove the built sendmail speaks good TLS: real daemon on 127.0.0.1, five checks.
    Smoke(smoke::SmokeArgs),
    /// Lay out the install tree (no root needed) and write its contents list.
    Stage(stage::StageArgs),
    /// Write .deb, FreeBSD .pkg and .tar.gz packages of the built tree, reproducibly.
    Package(package::PackageArgs),
    /// Write a source package a build farm rebuilds with its own tools (Debian: .dsc for buildd, sbuild, OBS; RPM: spec and .src.rpm for mock, Koji, Copr, OBS).
    SourcePackage(source::SourceArgs),
    /// Everything with defaults: fetch, configure, build, verify, package.
    Dist(Box<dist::DistArgs>),
    /// Build and package twice (different directory, umask, TZ, locale) and compare every artifact byte for byte.
    Repro(repro::ReproArgs),
    /// Time cold builds, upstream's serial sh Build against the toolkit's, and a no-op dist; prints `ratio: X.XX`.
    Bench(bench::BenchArgs),
    /// Install what the toolkit and its tests need (Debian-family hosts, as root).
    Setup,
    /// The whole test suite: installs what it needs first (as root), then `cargo test --workspace ARGS`.
    Test(TestArgs),
    /// FreeBSD: regenerate the overlay port ports/mail/sendmail-tls (distinfo, PORTVERSION, pkg-plist ...).
    Port(freebsd::port::PortArgs),
    /// FreeBSD base system: edit usr.sbin/sendmail/Makefile so stock sendmail gets EC and chain files.
    FreebsdBase(freebsd::BaseArgs),
    /// FreeBSD: the same edit for a checkout of the official mail/sendmail port.
    FreebsdPortEdit(freebsd::PortEditArgs),
    /// Regenerate patches/freebsd-base/*.diff (the base edit as diffs) from the fixtures.
    FreebsdPatches(freebsd::patches::PatchesArgs),
    /// Internal: the guard that ends the build's processes when xtask dies.
    #[command(hide = true)]
    Guard,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli);
    crate::proc::stop_guard();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub fn run(cli: Cli) -> Result<()> {
    // Commands that work on files the user names, not on a sendmail release.
    match &cli.command {
        Command::Setup => return setup(),
        Command::Test(a) => return test(a),
        Command::FreebsdBase(a) => return freebsd::run_base(a),
        Command::FreebsdPortEdit(a) => return freebsd::run_port_edit(a),
        Command::FreebsdPatches(a) => return freebsd::patches::run(a),
        Command::Guard => crate::proc::guard_main(),
        _ => {}
    }
    let plan = plan::Plan::from_args(&cli.plan)?;
    // Everything a later step would refuse is refused now, before any work.
    if matches!(
        cli.command,
        Command::Dist(_) | Command::Package(_) | Command::Stage(_) | Command::Repro(_) | Command::SourcePackage(_)
    ) {
        crate::epoch::check_environment()?;
    }
    if matches!(
        cli.command,
        Command::Dist(_)
            | Command::Package(_)
            | Command::Stage(_)
            | Command::Repro(_)
            | Command::Port(_)
            | Command::SourcePackage(_)
    ) {
        crate::meta::maintainer()?;
    }
    let _lock = plan.lock_work()?;
    // What a killed or failed run left (`src.partial-PID` and the like), now
    // that no other run can be using this work directory.
    crate::plan::clean_leftovers(&plan.work_dir)?;
    // Ends this run's processes if it dies, and holds the lock until then.
    if let Err(e) = crate::proc::start_guard(_lock.fd()) {
        crate::progress::info(&format!(
            "warning: {e:#}; a build killed now may leave its processes running after the lock is free"
        ));
    }
    match cli.command {
        Command::Fetch(a) => fetch::run(&plan, &a).map(drop),
        Command::Configure(a) => configure::run(&plan, &a).map(drop),
        Command::Build(a) => build::run(&plan, &configured(&plan)?, &a).map(drop),
        Command::Verify(a) => {
            let config = if a.binary.is_none() { Some(configured(&plan)?) } else { None };
            verify::run(&plan, &a, config.as_ref()).map(drop)
        }
        Command::Stage(a) => stage::run(&plan, &a, &configured(&plan)?, &build_time(&plan)?).map(drop),
        Command::Package(a) => package::run(&plan, &a, &configured(&plan)?, &build_time(&plan)?).map(drop),
        Command::Port(a) => freebsd::port::run(&plan, &a),
        Command::SourcePackage(a) => source::run(&plan, &a, &configured(&plan)?, &build_time(&plan)?).map(drop),
        Command::Dist(a) => dist::run(&plan, &a),
        Command::Options(a) => configure::report(&plan, &a).map(drop),
        Command::Smoke(a) => smoke::run(&plan, &a).map(drop),
        Command::Repro(a) => repro::run(&plan, &a),
        Command::Bench(a) => {
            // The child xtask processes take the work directory's lock.
            drop(_lock);
            crate::proc::stop_guard();
            bench::run(&plan, &a)
        }
        Command::Setup
        | Command::Test(_)
        | Command::FreebsdBase(_)
        | Command::FreebsdPortEdit(_)
        | Command::FreebsdPatches(_)
        | Command::Guard => {
            unreachable!("handled above")
        }
    }
}

/// What `configure` chose for this tree, loaded once for the command.
fn configured(plan: &plan::Plan) -> Result<configure::Configuration> {
    configure::Configuration::load(plan)
}

/// The one build time of the command's artifacts (from the cached
/// tarball, checked again, when SOURCE_DATE_EPOCH is unset).
fn build_time(plan: &plan::Plan) -> Result<epoch::BuildTime> {
    fetch::build_time(plan)
}

fn setup() -> Result<()> {
    let os = tools::Os::detect();
    if !tools::may_install(os) {
        anyhow::bail!(
            "setup installs with apt-get: it must run as root on a Debian-family host with SMTLS_NO_INSTALL unset; otherwise install: {}",
            tools::SETUP_DEBIAN.join(" ")
        );
    }
    tools::install(tools::SETUP_DEBIAN)
}

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Passed on to `cargo test --workspace` (a filter, `--no-fail-fast`, `-- --nocapture` ...).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// The README's test command: every package the tests use is there (root
/// installs what is missing; anyone else is told the one command to run
/// before anything runs), then the whole suite.
fn test(args: &TestArgs) -> Result<()> {
    let os = tools::Os::detect();
    if os != tools::Os::DebianLike {
        anyhow::bail!(
            "the test suite needs a Debian-family host (it runs apt, dpkg and a bookworm chroot); this is {os:?}"
        );
    }
    let missing = tools::not_installed(tools::SETUP_DEBIAN)?;
    if !missing.is_empty() {
        if !tools::may_install(os) {
            anyhow::bail!(
                "the tests need these packages, which are not installed: {m}; install them with: \
                 sudo apt-get install --no-install-recommends {m}  (or run this command as root)",
                m = missing.join(" ")
            );
        }
        tools::install(&missing)?;
    }
    if !tools::is_root() {
        crate::progress::info(
            "note: not root: the install and chroot tests will fail, saying so (they need root for a bookworm chroot)",
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    crate::proc::run(std::process::Command::new(cargo).args(["test", "--workspace"]).args(pass_through(args)))
}

/// The arguments after `test` exactly as given: clap drops the first `--`,
/// which `cargo test` needs to tell its own options from the test binaries'.
fn pass_through(args: &TestArgs) -> Vec<String> {
    let raw: Vec<String> = std::env::args().skip_while(|a| a != "test").skip(1).collect();
    if raw.iter().filter(|a| *a != "--").eq(args.args.iter().filter(|a| *a != "--")) {
        raw
    } else {
        args.args.clone()
    }
}

//! The command line: parse, build the plan, dispatch to each step's `run`.

use crate::{bench, build, configure, dist, fetch, freebsd, package, plan, repro, smoke, stage, tools, verify};
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
    /// Everything with defaults: fetch, configure, build, verify, package.
    Dist(dist::DistArgs),
    /// Build and package twice (different directory, umask, TZ, locale) and compare every artifact byte for byte.
    Repro(repro::ReproArgs),
    /// Time cold builds, upstream's serial sh Build against the toolkit's, and a no-op dist; prints `ratio: X.XX`.
    Bench(bench::BenchArgs),
    /// Install what the toolkit and its tests need (Debian-family hosts, as root).
    Setup,
    /// FreeBSD: regenerate the overlay port ports/mail/sendmail-tls (distinfo, PORTVERSION, pkg-plist ...).
    Port(freebsd::port::PortArgs),
    /// FreeBSD base system: edit usr.sbin/sendmail/Makefile so stock sendmail gets EC and chain files.
    FreebsdBase(freebsd::BaseArgs),
    /// FreeBSD: the same edit for a checkout of the official mail/sendmail port.
    FreebsdPortEdit(freebsd::PortEditArgs),
    /// Regenerate patches/freebsd-base/*.diff (the base edit as diffs) from the fixtures.
    FreebsdPatches(freebsd::patches::PatchesArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
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
        Command::FreebsdBase(a) => return freebsd::run_base(a),
        Command::FreebsdPortEdit(a) => return freebsd::run_port_edit(a),
        Command::FreebsdPatches(a) => return freebsd::patches::run(a),
        _ => {}
    }
    let plan = plan::Plan::from_args(&cli.plan)?;
    let _lock = plan.lock_work()?;
    match cli.command {
        Command::Fetch(a) => fetch::run(&plan, &a).map(drop),
        Command::Configure(a) => configure::run(&plan, &a).map(drop),
        Command::Build(a) => build::run(&plan, &a).map(drop),
        Command::Verify(a) => verify::run(&plan, &a).map(drop),
        Command::Stage(a) => stage::run(&plan, &a).map(drop),
        Command::Package(a) => package::run(&plan, &a).map(drop),
        Command::Port(a) => freebsd::port::run(&plan, &a),
        Command::Dist(a) => dist::run(&plan, &a),
        Command::Options(a) => configure::report(&plan, &a).map(drop),
        Command::Smoke(a) => smoke::run(&plan, &a).map(drop),
        Command::Repro(a) => repro::run(&plan, &a),
        Command::Bench(a) => {
            // The child xtask processes take the work directory's lock.
            drop(_lock);
            bench::run(&plan, &a)
        }
        Command::Setup | Command::FreebsdBase(_) | Command::FreebsdPortEdit(_) | Command::FreebsdPatches(_) => {
            unreachable!("handled above")
        }
    }
}

fn setup() -> Result<()> {
    let os = tools::Os::detect();
    if !tools::may_install(os) {
        anyhow::bail!(
            "setup installs with apt-get and must run as root on a Debian-family host; otherwise install: {}",
            tools::SETUP_DEBIAN.join(" ")
        );
    }
    tools::install(tools::SETUP_DEBIAN)
}

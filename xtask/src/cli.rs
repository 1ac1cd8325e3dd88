//! The command line: parse, build the plan, dispatch to each step's `run`.

use crate::{bench, build, configure, dist, fetch, plan, tools, verify};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "cargo xtask", about = "smtls: a TLS-enabled sendmail, fetched, proven, built, verified and packaged")]
pub struct Cli {
    #[command(flatten)]
    pub plan: plan::PlanArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fetch the pinned tarball, prove it (size, SHA-256, signature) and unpack it.
    Fetch(fetch::FetchArgs),
    /// Probe OpenSSL and Berkeley DB and write devtools/Site/site.config.m4.
    Configure(configure::ConfigureArgs),
    /// Compile with sendmail's own Build.
    Build(build::BuildArgs),
    /// Prove the built binary has STARTTLS, TLS_EC and the chain-file flag.
    Verify(verify::VerifyArgs),
    /// Everything with defaults: fetch, configure, build, verify.
    Dist(dist::DistArgs),
    /// Time cold builds, upstream's serial sh Build against the toolkit's, and a no-op dist; prints `ratio: X.XX`.
    Bench(bench::BenchArgs),
    /// Install what the toolkit and its tests need (Debian-family hosts, as root).
    Setup,
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
    if let Command::Setup = cli.command {
        return setup();
    }
    let plan = plan::Plan::from_args(&cli.plan)?;
    let _lock = plan.lock_work()?;
    match cli.command {
        Command::Fetch(a) => fetch::run(&plan, &a).map(drop),
        Command::Configure(a) => configure::run(&plan, &a).map(drop),
        Command::Build(a) => build::run(&plan, &a).map(drop),
        Command::Verify(a) => verify::run(&plan, &a).map(drop),
        Command::Dist(a) => dist::run(&plan, &a),
        Command::Bench(a) => {
            // The child xtask processes take the work directory's lock.
            drop(_lock);
            bench::run(&plan, &a)
        }
        Command::Setup => unreachable!(),
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

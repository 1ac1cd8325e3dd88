//! dist: the main job with defaults: fetch, configure, build, verify, package.

use crate::{build, configure, fetch, package, plan::Plan, progress, verify};
use anyhow::Result;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct DistArgs {
    #[command(flatten)]
    pub fetch: fetch::FetchArgs,
    #[command(flatten)]
    pub configure: configure::ConfigureArgs,
    #[command(flatten)]
    pub build: build::BuildArgs,
    #[command(flatten)]
    pub package: package::PackageArgs,
}

pub fn run(plan: &Plan, args: &DistArgs) -> Result<()> {
    let t = progress::Timer::start(format!("dist sendmail {} in {}", plan.version, plan.work_dir.display()));
    fetch::run(plan, &args.fetch)?;
    configure::run(plan, &args.configure)?;
    build::run(plan, &args.build)?;
    let report = verify::run(plan, &verify::VerifyArgs::default())?;
    progress::info(&format!("verified: {}", report.summary()));
    package::run(plan, &args.package)?;
    t.done();
    Ok(())
}

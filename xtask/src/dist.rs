//! dist: the main job with defaults: fetch, configure, build, verify.
//!
//! Each step is skipped when its stamp says its inputs are unchanged and its
//! outputs are there (see `stamp`); the line printed for it says so, or says
//! what changed.

use crate::{build, configure, fetch, plan::Plan, progress, stamp, verify};
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct DistArgs {
    #[command(flatten)]
    pub fetch: fetch::FetchArgs,
    #[command(flatten)]
    pub configure: configure::ConfigureArgs,
    #[command(flatten)]
    pub build: build::BuildArgs,
    /// Run every step, even those whose inputs have not changed.
    #[arg(long)]
    pub force: bool,
}

/// Runs `run` unless the step is up to date; says which and why.
pub fn step(
    plan: &Plan,
    force: bool,
    inputs: &stamp::Inputs,
    outputs: &[PathBuf],
    run: impl FnOnce() -> Result<()>,
) -> Result<bool> {
    let name = &inputs.step;
    if force {
        progress::step(&format!("{name}: running (--force)"));
        run()?;
        return Ok(true);
    }
    match stamp::check(&plan.work_dir, inputs, outputs) {
        stamp::Verdict::Fresh(note) => {
            progress::step(&format!("{name}: up to date, skipped ({note})"));
            Ok(false)
        }
        stamp::Verdict::Stale(why) => {
            progress::step(&format!("{name}: running: {}", why.join("; ")));
            run()?;
            Ok(true)
        }
    }
}

pub fn run(plan: &Plan, args: &DistArgs) -> Result<()> {
    let t = progress::Timer::start(format!("dist sendmail {} in {}", plan.version, plan.work_dir.display()));
    let f = args.force;
    step(plan, f, &fetch::stamp_inputs(plan, &args.fetch), &fetch::outputs(plan), || {
        fetch::run(plan, &args.fetch).map(drop)
    })?;
    step(plan, f, &configure::stamp_inputs(plan, &args.configure)?, &configure::outputs(plan), || {
        configure::run(plan, &args.configure).map(drop)
    })?;
    step(plan, f, &build::stamp_inputs(plan)?, &build::outputs(plan), || build::run(plan, &args.build).map(drop))?;
    step(plan, f, &verify::stamp_inputs(plan), &[plan.program("sendmail")], || {
        let report = verify::run(plan, &verify::VerifyArgs::default())?;
        progress::info(&format!("verified: {}", report.summary()));
        Ok(())
    })?;
    t.done();
    Ok(())
}

//! dist: the main job with defaults: fetch, configure, build, verify, package.
//!
//! Each step is skipped when its stamp says its inputs are unchanged and its
//! outputs are there (see `stamp`); the line printed for it says so, or says
//! what changed.

use crate::{build, configure, fetch, package, plan::Plan, progress, stamp, verify};
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
    #[command(flatten)]
    pub package: package::PackageArgs,
    /// Run every step, even those whose inputs have not changed.
    #[arg(long)]
    pub force: bool,
    /// Say which steps would run and why, and run none.
    #[arg(long, conflicts_with = "force")]
    pub explain: bool,
}

/// How `step` treats a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Skip it when up to date.
    Normal,
    /// Run it whatever its stamp says.
    Force,
    /// Only say what would happen; `true` once an earlier step would run,
    /// since later steps' inputs are then not known yet.
    Explain(bool),
}

/// Runs `run` unless the step is up to date; says which and why. Returns
/// whether it ran (or, explaining, would run).
pub(crate) fn step(
    plan: &Plan,
    mode: Mode,
    inputs: &stamp::Inputs,
    outputs: &[PathBuf],
    run: impl FnOnce() -> Result<()>,
) -> Result<bool> {
    let name = &inputs.step;
    match mode {
        Mode::Force => {
            progress::step(&format!("{name}: running (--force)"));
            run()?;
            return Ok(true);
        }
        Mode::Explain(true) => {
            progress::step(&format!("{name}: decided after the steps before it have run"));
            return Ok(true);
        }
        _ => {}
    }
    match (stamp::check(&plan.work_dir, inputs, outputs), mode) {
        (stamp::Verdict::Fresh(note), _) => {
            progress::step(&format!("{name}: up to date, skipped ({note})"));
            Ok(false)
        }
        (stamp::Verdict::Stale(why), Mode::Explain(_)) => {
            progress::step(&format!("{name}: would run: {}", why.join("; ")));
            Ok(true)
        }
        (stamp::Verdict::Stale(why), _) => {
            progress::step(&format!("{name}: running: {}", why.join("; ")));
            run()?;
            Ok(true)
        }
    }
}

/// The steps of one `dist`, in order: each is skipped, run or explained
/// according to the mode. Another step (e.g. packaging) joins with one more
/// `steps.run(...)` line.
pub(crate) struct Steps<'a> {
    plan: &'a Plan,
    mode: Mode,
}

impl<'a> Steps<'a> {
    pub(crate) fn new(plan: &'a Plan, mode: Mode) -> Steps<'a> {
        Steps { plan, mode }
    }

    pub(crate) fn run(
        &mut self,
        inputs: &stamp::Inputs,
        outputs: &[PathBuf],
        run: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let ran = step(self.plan, self.mode, inputs, outputs, run)?;
        if let (Mode::Explain(_), true) = (self.mode, ran) {
            // Explaining, a step that would run leaves the later ones undecided.
            self.mode = Mode::Explain(true);
        }
        Ok(())
    }
}

/// What can be checked before any step runs, `--explain` included: the
/// build time (SOURCE_DATE_EPOCH), the user's site.config fragments, a
/// `--revision` without a .deb, then configure's own precheck (defines, OpenSSL, SASL). (`--jobs` and
/// `--version` are checked when the command line is read.)
pub(crate) fn validate(plan: &Plan, args: &DistArgs) -> Result<()> {
    crate::epoch::check_environment()?;
    for f in &args.configure.site_configs {
        configure::site_config::user(f)?;
    }
    package::precheck(&args.package)?;
    configure::precheck(plan, &args.configure)
}

pub(crate) fn run(plan: &Plan, args: &DistArgs) -> Result<()> {
    // Refuse what cannot work before fetching or building anything.
    validate(plan, args)?;
    let t = progress::Timer::start(format!("dist sendmail {} in {}", plan.version, plan.work_dir.display()));
    let mode = match (args.force, args.explain) {
        (true, _) => Mode::Force,
        (_, true) => Mode::Explain(false),
        _ => Mode::Normal,
    };
    let formats = match args.package.formats.is_empty() {
        true => package::default_formats(crate::tools::Os::detect()),
        false => args.package.formats.clone(),
    };
    package::bundle::check_choice(args.configure.openssl_prefix.as_deref(), &formats, args.package.bundle_openssl)?;
    let mut steps = Steps::new(plan, mode);
    steps.run(&fetch::stamp_inputs(plan, &args.fetch), &fetch::outputs(plan), || {
        fetch::run(plan, &args.fetch).map(drop)
    })?;
    // The configuration is read once: the one on disk keys the configure
    // step; the later steps get the one configure returns, or, when it was
    // skipped, that same one.
    let previous = configure::Configuration::load(plan);
    let mut configured = None;
    steps.run(
        &configure::stamp_inputs(plan, &args.configure, previous.as_ref().ok())?,
        &configure::outputs(plan),
        || {
            configured = Some(configure::run(plan, &args.configure)?);
            Ok(())
        },
    )?;
    let config = configured.map_or(previous, Ok);
    let config = config.as_ref();
    let need = || config.map_err(|e| anyhow::anyhow!("{e:#}"));
    steps.run(&build::stamp_inputs(plan, config.ok())?, &build::outputs(plan, config.ok()), || {
        build::run(plan, need()?, &args.build).map(drop)
    })?;
    steps.run(&verify::stamp_inputs(plan), &[plan.program("sendmail")], || {
        let report = verify::run(plan, &verify::VerifyArgs::default(), Some(need()?))?;
        progress::info(&format!("verified: {}", report.summary()));
        Ok(())
    })?;
    steps.run(&package::stamp_inputs(plan, &args.package)?, &package::outputs(plan, &args.package), || {
        let time = fetch::build_time(plan)?;
        package::run(plan, &args.package, need()?, &time).map(drop)
    })?;
    t.done();
    Ok(())
}

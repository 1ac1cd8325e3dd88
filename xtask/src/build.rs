//! build: sendmail's own `Build` in each subdirectory, with a stable object
//! directory, a log per step and a progress line per subdirectory.

use crate::{configure::Configuration, plan::Plan, progress, tools};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Built first, in this order: everything else links them.
pub const LIBRARIES: &[&str] = &["libsm", "libsmutil", "libsmdb"];
/// The programs, as upstream's top-level Makefile lists them.
pub const PROGRAMS: &[&str] =
    &["sendmail", "editmap", "mail.local", "mailstats", "makemap", "praliases", "rmail", "smrsh", "vacation"];

#[derive(clap::Args, Clone, Debug, Default)]
pub struct BuildArgs {
    /// Parallel make jobs inside each subdirectory (default: the CPU count).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
}

impl BuildArgs {
    pub fn jobs(&self) -> usize {
        self.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1)
    }
}

/// The environment every compiler run sees: no locale or time zone leaks
/// into the output.
pub fn build_env(cmd: &mut Command, jobs: usize) {
    cmd.env("LC_ALL", "C").env("TZ", "UTC").env("MAKEFLAGS", format!("-j{jobs}")).env_remove("MAKELEVEL");
}

/// Every subdirectory to build, in order: libmilter too when milters are on.
pub fn subdirs(config: &Configuration) -> Vec<&'static str> {
    let mut all: Vec<&str> = LIBRARIES.iter().chain(PROGRAMS).copied().collect();
    if config.options.iter().any(|o| o == "milter") {
        all.push("libmilter");
    }
    all
}

/// Runs `sh ./Build ARGS` in `dir`, output to `log`; on failure the error
/// carries the log's last lines and path.
pub fn run_build(dir: &Path, args: &[&str], jobs: usize, log: &Path) -> Result<()> {
    let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = Command::new("sh");
    cmd.arg("./Build").args(args).current_dir(dir).stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
    build_env(&mut cmd, jobs);
    let status = cmd.status().with_context(|| format!("running sh ./Build in {}", dir.display()))?;
    if !status.success() {
        bail!(
            "sh ./Build {} in {} failed ({status}); last lines of {}:\n{}",
            args.join(" "),
            dir.display(),
            log.display(),
            tail(log, 25)
        );
    }
    Ok(())
}

pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| format!("    | {l}")).collect::<Vec<_>>().join("\n")
}

/// Checks the configuration is current; returns it.
pub fn check_configured(plan: &Plan) -> Result<Configuration> {
    let config = Configuration::load(plan)?;
    let site = std::fs::read(plan.site_config())
        .with_context(|| format!("{} is missing: run `cargo xtask configure`", plan.site_config().display()))?;
    let sum = crate::fetch::checksum::hex(&<sha2::Sha256 as sha2::Digest>::digest(&site));
    if sum != config.site_config_sha256 {
        bail!("{} changed since `cargo xtask configure` wrote it: run configure again", plan.site_config().display());
    }
    Ok(config)
}

pub fn run(plan: &Plan, args: &BuildArgs) -> Result<Vec<PathBuf>> {
    let jobs = args.jobs();
    let t = progress::Timer::start(format!("build sendmail {} (make -j{jobs} in each subdirectory)", plan.version));
    let config = check_configured(plan)?;
    for need in [&tools::CC, &tools::M4, &tools::MAKE] {
        tools::find(need)?;
    }
    let src = plan.source_dir();
    let logs = plan.logs_dir();
    std::fs::create_dir_all(&logs)?;
    // A pre-created `obj.` wins over obj.<uname -s>.<uname -r>.<uname -m>,
    // so the path does not change with the kernel.
    let obj = plan.obj_dir();
    if obj.exists() {
        std::fs::remove_dir_all(&obj).with_context(|| format!("cleaning {}", obj.display()))?;
    }
    std::fs::create_dir_all(&obj)?;
    let all = subdirs(&config);
    for (i, sub) in all.iter().enumerate() {
        let log = logs.join(format!("build-{sub}.log"));
        let start = std::time::Instant::now();
        progress::info(&format!("[{:>2}/{}] {sub}: compiling (log: {})", i + 1, all.len(), log.display()));
        run_build(&src.join(sub), &["-c"], jobs, &log)?;
        progress::info(&format!("[{:>2}/{}] {sub}: ok in {:.1} s", i + 1, all.len(), start.elapsed().as_secs_f64()));
    }
    let mut built = vec![];
    for p in PROGRAMS {
        let path = plan.program(p);
        if !path.is_file() {
            bail!("Build finished but {} is missing; see the logs in {}", path.display(), logs.display());
        }
        built.push(path);
    }
    t.done();
    Ok(built)
}

//! source: generators of what build farms rebuild from source, each
//! written under `<work>/source/` from the shared description (the contents
//! list, the option table, the templates, the metadata):
//!
//! - `rpm`: the RPM spec and source RPM (mock, Koji, Copr, OBS);
//! - `key`: the pinned signing key alone, shipped in each.

pub mod key;
pub mod rpm;

use crate::{configure::options, plan::Plan, progress};
use anyhow::Result;
use std::path::PathBuf;

/// The formats `source-package` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The RPM spec and source RPM.
    Rpm,
}

#[derive(clap::Args, Clone, Debug)]
pub struct SourceArgs {
    /// Formats to write, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', required = true)]
    pub format: Vec<Format>,
    /// Build options to switch on in the farm's build (see `cargo xtask options`).
    #[arg(long = "with", value_name = "OPT,...")]
    pub with: Vec<String>,
    /// Build options to switch off.
    #[arg(long = "without", value_name = "OPT,...")]
    pub without: Vec<String>,
    /// The package revision (RPM Release).
    #[arg(long, default_value = crate::meta::DEBIAN_REVISION, value_parser = crate::meta::parse_revision)]
    pub revision: String,
}

/// `<work>/source`: where the source packages are written.
pub fn out_dir(plan: &Plan) -> PathBuf {
    plan.work_dir.join("source")
}

/// The build options of the farm's build: the table's defaults with
/// `--with`/`--without`, never what this host happens to have (the farm
/// installs what BuildRequires names). Unknown names are refused here,
/// before anything is fetched or written.
pub fn chosen_options(plan: &Plan, args: &SourceArgs) -> Result<Vec<String>> {
    let with = options::parse_list(&args.with)?;
    let without = options::parse_list(&args.without)?;
    let decisions = options::resolve(&plan.version, &with, &without, crate::tools::Os::FedoraLike, &mut |_| Ok(()))?;
    Ok(decisions.iter().filter(|d| d.enabled()).map(|d| d.name.to_string()).collect())
}

pub fn run(plan: &Plan, args: &SourceArgs) -> Result<Vec<PathBuf>> {
    let enabled = chosen_options(plan, args)?;
    let time = crate::fetch::build_time(plan).or_else(|_| -> Result<_> {
        crate::fetch::run(plan, &crate::fetch::FetchArgs::default())?;
        crate::fetch::build_time(plan)
    })?;
    let mut out = vec![];
    for f in &args.format {
        let t = progress::Timer::start(format!("source package ({f:?}) of sendmail {}", plan.version));
        out.extend(match f {
            Format::Rpm => rpm::write(plan, &enabled, &args.revision, &time)?,
        });
        t.done();
    }
    for p in &out {
        println!("{}", p.display());
    }
    Ok(out)
}

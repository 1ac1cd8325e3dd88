//! stage: the ONE list of what a package installs — every path, its kind,
//! owner, group, mode and origin — and a staged tree built from it without
//! root.
//!
//! Packagers (`package/`), the FreeBSD port generator and the tests read
//! this list; none of them re-derives a path, an owner, a mode or how a
//! file is made. Owners and modes live here, not on the staging disk:
//! staging runs unprivileged and writes plain files.
//!
//! - `layout`: the layouts as data, one [`layout::Layout`] value per system;
//! - `types`: [`Target`] (which names a layout), entries, their [`Origin`], [`check`];
//! - `list`: the tables and the list, split by concern (programs, man
//!   pages, cf tree, configuration, docs, option files, directories);
//! - `generate`: the files made rather than copied (stripped binaries,
//!   compressed man pages, `.mc`/`.cf`, templates, changelogs), materialised
//!   in `<work>/generated/<target>/<install path>` so every entry has a
//!   source file, by one `match` on the origin;
//! - `certs`: the `sendmail-certs` helper, filled from the TLS stanza;
//! - `tree`: the staged tree and `contents.json`.

mod certs;
mod generate;
pub mod layout;
mod list;
mod tree;
mod types;

pub use certs::{
    certs_hook, certs_hook_path, certs_man_page, certs_man_path, certs_script, certs_script_path, tls_files, TlsFiles,
    CERTS_HOOK, CERTS_SCRIPT,
};
pub use generate::{
    fix_man_page, generate, mailer_conf, man_page_patches, mc_text, reject_nul_stanza, REJECT_NUL_CF_LINE,
};
pub use list::{
    contents, contents_with, generated_dir, helpfile_path, list, man_pages, option_built_files, stage_dir, CF_SKIP,
    MAIL_CONFIGS, MAN_PAGES,
};
pub use tree::stage;
pub use types::{check, sample_of, Contents, Entry, Features, Kind, Origin, Target};

// For the tests in tests/, which see `stage` but not `template`.
pub use crate::template::{dir as templates_dir, render as template};

use crate::{plan::Plan, progress};
use anyhow::Result;
use std::path::PathBuf;

/// `cargo xtask stage`: build the staged tree and print where it is.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct StageArgs {
    /// Layout to stage (default: this host's: freebsd on FreeBSD, debian elsewhere).
    #[arg(long, value_enum)]
    pub target: Option<Target>,
    /// Print the contents list as JSON instead of a summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(
    plan: &Plan,
    args: &StageArgs,
    config: &crate::configure::Configuration,
    time: &crate::epoch::BuildTime,
) -> Result<(PathBuf, Contents)> {
    let target = args.target.unwrap_or_else(Target::host);
    let t = progress::Timer::start(format!("stage sendmail {} for {target}", plan.version));
    let info = crate::meta::Info::new(&plan.version.to_string(), crate::meta::DEBIAN_REVISION, &config.options)?;
    let (root, contents) = stage(plan, target, config, time, &info)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&contents)?);
    } else {
        println!("{}", root.display());
    }
    t.done();
    Ok((root, contents))
}

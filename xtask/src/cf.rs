//! Turning an .mc into a .cf with the release's own `cf/` tree, the one way
//! smtls does it (smoke's test .cf and the packaged .cf files alike).

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Runs `m4 -D_NO_MAKEINFO_ ../m4/cf.m4 MC` inside `CFDIR/cf`, as
/// `cf/cf/Build` does (`_NO_MAKEINFO_`: no user, host or date stamp), with
/// a fixed locale and time zone. Returns the .cf text and whatever m4 said on
/// stderr; fails when m4 fails or reports an ERROR.
pub(crate) fn run_m4(m4: &Path, cf_dir: &Path, mc: &Path) -> Result<(String, String)> {
    let cf_cf = cf_dir.join("cf");
    if !cf_dir.join("m4/cf.m4").is_file() {
        bail!("{} is missing: the release's cf/ tree is needed to generate a .cf", cf_dir.join("m4/cf.m4").display());
    }
    let mut cmd = Command::new(m4);
    let cmd =
        cmd.arg("-D_NO_MAKEINFO_").arg("../m4/cf.m4").arg(mc).current_dir(&cf_cf).env("LC_ALL", "C").env("TZ", "UTC");
    let out = crate::proc::capture(cmd).with_context(|| format!("in {}", cf_cf.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() || stderr.contains("ERROR") {
        bail!(
            "m4 -D_NO_MAKEINFO_ ../m4/cf.m4 {} in {} failed ({}):\n{}",
            mc.display(),
            cf_cf.display(),
            out.status,
            stderr.trim()
        );
    }
    Ok((String::from_utf8(out.stdout).context("m4 printed non-UTF-8 text")?, stderr))
}

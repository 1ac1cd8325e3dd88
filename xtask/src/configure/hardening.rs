//! Hardening flags as Debian builds its packages: what `dpkg-buildflags`
//! prints under `DEB_BUILD_MAINT_OPTIONS=hardening=+all` (fortify,
//! stack-protector-strong, format-security, relro, bindnow; PIE is the
//! compiler's default on Debian), or, without dpkg, the same flags each
//! probed against the compiler; plus what later dpkg versions add (stack
//! clash and branch protection) when the compiler takes it. They reach the build as the
//! `hardening.m4` fragment (confCCOPTS, confLDOPTS), so they are in the
//! site.config.m4 that `bench` copies to its upstream side and in the
//! configure stamp.

use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;

/// What dpkg-buildflags gives under hardening=+all only from dpkg 1.22
/// and hardening-check looks for: stack clash protection (the
/// `stackclash` feature, `-fstack-clash-protection`) and branch protection
/// (`branch`: `-fcf-protection` on amd64, `-mbranch-protection=standard` on
/// arm64). Each is added when dpkg-buildflags did not give it (bookworm's
/// dpkg 1.21 does not) and the compiler takes it without a word: gcc
/// warns about stack clash protection on targets without it, and refuses
/// the other architecture's branch flag.
pub(crate) const DPKG_1_22_FLAGS: &[&str] =
    &["-fstack-clash-protection", "-fcf-protection", "-mbranch-protection=standard"];

/// What the fallback asks the compiler for, as dpkg-buildflags would give it.
pub(crate) const FALLBACK_CFLAGS: &[&str] =
    &["-fstack-protector-strong", "-Wformat", "-Werror=format-security", "-D_FORTIFY_SOURCE=2", "-fPIE"];
pub(crate) const FALLBACK_LDFLAGS: &[&str] = &["-Wl,-z,relro", "-Wl,-z,now", "-pie"];

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hardening {
    /// Compiler flags (CPPFLAGS and CFLAGS together).
    pub(crate) cflags: Vec<String>,
    pub(crate) ldflags: Vec<String>,
    /// Where they came from, for the log and the stamp.
    pub source: String,
}

/// Keeps what hardens; drops what the build decides for itself (debug
/// info, optimisation level, path maps: reproducible.m4 has its own).
pub fn keep(flag: &str) -> bool {
    !(flag == "-g"
        || flag.starts_with("-O")
        || flag.starts_with("-ffile-prefix-map=")
        || flag.starts_with("-fdebug-prefix-map=")
        || flag.starts_with("-fmacro-prefix-map="))
}

/// The hardening flags from dpkg-buildflags' `--get` outputs.
pub(crate) fn from_buildflags(cppflags: &str, cflags: &str, ldflags: &str) -> Hardening {
    let split = |s: &str| s.split_whitespace().filter(|f| keep(f)).map(str::to_string).collect::<Vec<_>>();
    let mut c = split(cppflags);
    c.extend(split(cflags));
    Hardening { cflags: c, ldflags: split(ldflags), source: "dpkg-buildflags (hardening=+all)".into() }
}

fn buildflags(which: &str) -> Option<String> {
    crate::proc::stdout(
        Command::new("dpkg-buildflags").args(["--get", which]).env("DEB_BUILD_MAINT_OPTIONS", "hardening=+all"),
    )
    .ok()
}

/// The flags as sendmail's m4 build can carry them: a comma would split
/// the macro's arguments, so `-Wl,-z,now` becomes the equivalent
/// `-Xlinker -z -Xlinker now`; any other comma is refused.
pub(crate) fn for_m4(flags: &[String]) -> Result<String> {
    let mut out = vec![];
    for f in flags {
        if let Some(args) = f.strip_prefix("-Wl,") {
            for a in args.split(',') {
                out.push(format!("-Xlinker {a}"));
            }
        } else if f.contains(',') || f.contains('`') || f.contains('\'') {
            anyhow::bail!("the hardening flag `{f}` has a comma or an m4 quote, which site.config.m4 cannot carry");
        } else {
            out.push(f.clone());
        }
    }
    Ok(out.join(" "))
}

/// What dpkg-buildflags' answer depends on besides the environment: the
/// program, its modules and the configuration files it reads.
const DPKG_BUILDFLAGS_FILES: &[&str] = &[
    "/etc/dpkg/buildflags.conf",
    "/etc/dpkg/origins/default",
    "/usr/share/perl5/Dpkg/BuildFlags.pm",
    "/usr/share/perl5/Dpkg/Vendor/Debian.pm",
    "/usr/share/perl5/Dpkg/Vendor/Ubuntu.pm",
];

/// The flags for this host (see [`probe`]), from the probe cache while the
/// compiler, dpkg-buildflags, their configuration and environment are the
/// same.
pub(crate) fn detect(scratch: &Path) -> Result<Hardening> {
    let mut key = crate::stamp::Inputs::new("hardening");
    key.add("compiler", super::cache::compiler_identity())
        .add("environment", super::cache::compiler_environment())
        .add("dpkg-buildflags", crate::stamp::command_identity("dpkg-buildflags"));
    for f in DPKG_BUILDFLAGS_FILES {
        key.add_file_identity(f, Path::new(f));
    }
    let user = std::env::var_os("XDG_CONFIG_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")));
    if let Some(dir) = user {
        key.add_file_identity("user buildflags.conf", &dir.join("dpkg/buildflags.conf"));
    }
    super::cache::cached(&key, &mut Default::default(), |_| probe(scratch))
}

/// The flags for this host: dpkg-buildflags when installed, else the
/// fallback flags the compiler accepts (each tried on a small program).
fn probe(scratch: &Path) -> Result<Hardening> {
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let src = scratch.join("harden.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\nint main(void) { char b[8]; snprintf(b, sizeof b, \"%d\", 1); puts(b); return 0; }\n",
    )?;
    let accepts = |cflags: &[&str], ldflags: &[&str]| {
        crate::proc::capture(
            Command::new("cc").args(["-O2"]).args(cflags).arg(&src).arg("-o").arg(scratch.join("harden")).args(ldflags),
        )
        .is_ok_and(|o| o.status.success() && o.stderr.is_empty())
    };
    let mut h =
        if let (Some(cpp), Some(c), Some(ld)) = (buildflags("CPPFLAGS"), buildflags("CFLAGS"), buildflags("LDFLAGS")) {
            from_buildflags(&cpp, &c, &ld)
        } else {
            Hardening {
                cflags: FALLBACK_CFLAGS.iter().filter(|f| accepts(&[f], &[])).map(|f| f.to_string()).collect(),
                ldflags: FALLBACK_LDFLAGS.iter().filter(|f| accepts(&["-fPIE"], &[f])).map(|f| f.to_string()).collect(),
                source: "probed against cc (no dpkg-buildflags)".into(),
            }
        };
    for f in DPKG_1_22_FLAGS {
        let given = h.cflags.iter().any(|c| c.starts_with(f));
        if !given && accepts(&[f], &[]) {
            h.cflags.push(f.to_string());
            h.source.push_str(&format!(", {f} probed"));
        }
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_hardens() {
        let h = from_buildflags(
            "-Wdate-time -D_FORTIFY_SOURCE=2",
            "-g -O2 -ffile-prefix-map=/w=. -fstack-protector-strong -Wformat -Werror=format-security",
            "-Wl,-z,relro -Wl,-z,now",
        );
        assert_eq!(
            h.cflags,
            ["-Wdate-time", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong", "-Wformat", "-Werror=format-security"]
        );
        assert_eq!(h.ldflags, ["-Wl,-z,relro", "-Wl,-z,now"]);
        assert_eq!(for_m4(&h.ldflags).unwrap(), "-Xlinker -z -Xlinker relro -Xlinker -z -Xlinker now");
        assert!(for_m4(&["-fsanitize=a,b".to_string()]).is_err());
    }

    #[test]
    fn this_host_gives_bindnow_and_fortify() {
        let dir = std::env::temp_dir().join(format!("smtls-harden-{}", std::process::id()));
        let h = detect(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(h.ldflags.iter().any(|f| f == "-Wl,-z,now"), "{h:?}");
        assert!(h.cflags.iter().any(|f| f.starts_with("-D_FORTIFY_SOURCE=")), "{h:?}");
        assert!(h.cflags.iter().any(|f| f == "-fstack-protector-strong"), "{h:?}");
        if std::env::consts::ARCH == "x86_64" {
            assert!(h.cflags.iter().any(|f| f.starts_with("-fcf-protection")), "{h:?}");
            assert!(h.cflags.iter().any(|f| f == "-fstack-clash-protection"), "{h:?}");
        }
    }
}

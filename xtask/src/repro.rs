//! repro: build and package twice, in two different directories with a
//! different umask, time zone and locale, and compare every artifact byte
//! for byte. A difference is reported down to the first differing member
//! (ar member, then tar member and the header field or content), and
//! diffoscope is run on it when installed.

use crate::archive;
use crate::package::Format;
use crate::{plan::Plan, progress};
use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(clap::Args, Clone, Debug, Default)]
pub struct ReproArgs {
    /// Where the two runs live [default: <work-dir>/repro].
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Formats to compare [default: this host's package formats, plus pkg with --abi].
    #[arg(long = "format", value_enum, value_delimiter = ',', value_name = "deb,pkg,tar")]
    pub formats: Vec<Format>,
    /// Passed to `package --abi`: a .pkg of this host's programs, for testing the format.
    #[arg(long, value_name = "ABI", value_parser = crate::host::abi_arg)]
    pub abi: Option<String>,
    /// Only package again the builds a previous `repro` left in DIR (skip fetch, configure, build).
    #[arg(long)]
    pub(crate) reuse_builds: bool,
    /// Test use: change one file in the second run, which must then fail.
    #[arg(long, hide = true)]
    pub(crate) inject_difference: bool,
}

/// How one run differs from the other.
pub(crate) struct Run {
    pub name: &'static str,
    pub(crate) umask: &'static str,
    pub(crate) tz: &'static str,
    pub locale: &'static str,
}

pub(crate) const RUNS: [Run; 2] = [
    Run { name: "first", umask: "022", tz: "UTC", locale: "C" },
    // A longer path, a strict umask, an odd UTC offset, a UTF-8 locale.
    Run { name: "second-run-elsewhere", umask: "077", tz: "Pacific/Chatham", locale: "C.UTF-8" },
];

pub(crate) fn run(plan: &Plan, args: &ReproArgs) -> Result<()> {
    let work_root = plan.work_dir.parent().context("work directory has no parent")?.to_path_buf();
    let dir = args.dir.clone().unwrap_or_else(|| work_root.join("repro"));
    let dir = std::path::absolute(&dir)?;
    let formats = if args.formats.is_empty() {
        let mut f = crate::package::default_formats(crate::tools::Os::detect());
        if args.abi.is_some() && !f.contains(&Format::Pkg) {
            f.push(Format::Pkg);
            f.sort();
        }
        f
    } else {
        args.formats.clone()
    };
    let formats: Vec<String> = formats.iter().map(|f| format!("{f:?}").to_lowercase()).collect();
    let t = progress::Timer::start(format!("repro: two runs of sendmail {} in {}", plan.version, dir.display()));
    let exe = std::env::current_exe().context("finding the xtask binary")?;
    let mut outs = vec![];
    for (i, r) in RUNS.iter().enumerate() {
        let work = dir.join(r.name);
        let out = work.join("out");
        if out.exists() {
            std::fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
        }
        let step = if args.reuse_builds { "package" } else { "dist" };
        if args.reuse_builds && !work.join(plan.version.to_string()).join("configuration.json").is_file() {
            bail!("--reuse-builds: {} holds no build from an earlier repro run; run without it first", work.display());
        }
        progress::info(&format!(
            "run {}/2: {step} in {} (umask {}, TZ={}, LC_ALL={})",
            i + 1,
            work.display(),
            r.umask,
            r.tz,
            r.locale
        ));
        std::fs::create_dir_all(&work)?;
        let log = dir.join(format!("{}.log", r.name));
        let file = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "umask \"$1\" && shift && exec \"$@\"", "sh", r.umask])
            .arg(&exe)
            .args(["--version", &plan.version.to_string()])
            // A release pinned by SHA-512 alone needs no --sha256 (the table has it).
            .args(if plan.release.sha256.is_empty() { vec![] } else { vec!["--sha256", plan.release.sha256.as_str()] })
            .arg("--work-dir")
            .arg(&work)
            .arg("--cache-dir")
            .arg(&plan.cache_dir)
            .args([step, "--format", &formats.join(",")])
            .arg("--out")
            .arg(&out)
            .args(args.abi.iter().flat_map(|a| ["--abi", a.as_str()]))
            .env("TZ", r.tz)
            .env("LC_ALL", r.locale)
            .env("LANG", r.locale)
            .env_remove("SMTLS_WORK_DIR")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        if args.inject_difference && i == 1 {
            cmd.arg("--inject-difference");
        }
        let start = std::time::Instant::now();
        let status = crate::proc::status(&mut cmd).with_context(|| format!("running {}", exe.display()))?;
        if !status.success() {
            bail!(
                "run {} failed ({status}); last lines of {}:\n{}",
                i + 1,
                log.display(),
                crate::build::tail(&log, 25)
            );
        }
        progress::info(&format!(
            "run {}/2 done in {:.1} s (log: {})",
            i + 1,
            start.elapsed().as_secs_f64(),
            log.display()
        ));
        outs.push(out);
    }
    let report = compare_dirs(&outs[0], &outs[1])?;
    for (name, sum) in &report.same {
        println!("{sum}  {name}");
    }
    if let Some(d) = report.differences.first() {
        for d in &report.differences {
            eprintln!("DIFFERS: {d}");
        }
        if let Some(name) = &report.first_differing_file {
            diffoscope(&outs[0].join(name), &outs[1].join(name));
        }
        bail!("not reproducible: {d}");
    }
    progress::info(&format!("all {} artifacts are byte-identical across the two runs", report.same.len()));
    t.done();
    Ok(())
}

/// What comparing two output directories found.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// (file name, sha256) of identical artifacts.
    pub same: Vec<(String, String)>,
    pub(crate) differences: Vec<String>,
    pub(crate) first_differing_file: Option<String>,
}

pub(crate) fn compare_dirs(a: &Path, b: &Path) -> Result<Report> {
    let names = |d: &Path| -> Result<BTreeSet<String>> {
        Ok(std::fs::read_dir(d)
            .with_context(|| format!("reading {}", d.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().to_string())
            .collect())
    };
    let (na, nb) = (names(a)?, names(b)?);
    let mut report = Report::default();
    if na.is_empty() {
        bail!("{} holds no artifacts", a.display());
    }
    // The artifacts first, the checksum file (which only restates them) last.
    let mut all: Vec<&String> = na.union(&nb).collect();
    all.sort_by_key(|n| (n.as_str() == "SHA256SUMS", n.as_str()));
    for name in all {
        let (pa, pb) = (a.join(name), b.join(name));
        if !pa.exists() || !pb.exists() {
            report.differences.push(format!("{name} exists in only one run"));
            report.first_differing_file.get_or_insert(name.clone());
            continue;
        }
        let (ba, bb) = (std::fs::read(&pa)?, std::fs::read(&pb)?);
        if ba == bb {
            report.same.push((name.clone(), crate::digest::sha256_hex(&ba)));
        } else {
            report.differences.push(format!("{name}: {}", first_difference(name, &ba, &bb)));
            report.first_differing_file.get_or_insert(name.clone());
        }
    }
    Ok(report)
}

/// Names the first differing member of two archives (recursing into the
/// tar members of a .deb), or the first differing byte of other files.
pub(crate) fn first_difference(name: &str, a: &[u8], b: &[u8]) -> String {
    if a.starts_with(b"!<arch>\n") && b.starts_with(b"!<arch>\n") {
        if let (Ok(ma), Ok(mb)) = (archive::read_ar(a), archive::read_ar(b)) {
            for (x, y) in ma.iter().zip(&mb) {
                if x.name != y.name {
                    return format!("ar member {:?} in one run, {:?} in the other", x.name, y.name);
                }
                if x.data != y.data {
                    return format!("ar member {}: {}", x.name, first_difference(&x.name, &x.data, &y.data));
                }
                if x.header != y.header {
                    return format!("ar member {}: header differs ({:?} vs {:?})", x.name, x.header, y.header);
                }
            }
            return format!("ar archives have {} and {} members", ma.len(), mb.len());
        }
    }
    let tarish = name.ends_with(".tar.gz") || name.ends_with(".pkg") || name.ends_with(".tar");
    if tarish {
        if let (Ok(ta), Ok(tb)) = (archive::read_tar(a), archive::read_tar(b)) {
            for (i, (x, y)) in ta.iter().zip(&tb).enumerate() {
                if x.name != y.name {
                    return format!("tar member #{i} is {} in one run, {} in the other", x.name, y.name);
                }
                if x.data != y.data {
                    return format!("tar member {}: content differs ({})", x.name, first_byte(&x.data, &y.data));
                }
                if x != y {
                    return format!("tar member {}: header differs ({x:?} vs {y:?})", x.name);
                }
            }
            if ta.len() != tb.len() {
                return format!("tar archives have {} and {} members", ta.len(), tb.len());
            }
            return "every tar member matches, but the compressed stream differs".into();
        }
    }
    first_byte(a, b)
}

fn first_byte(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("first differing byte at offset {i}"),
        None => format!("{} vs {} bytes, the shorter a prefix of the longer", a.len(), b.len()),
    }
}

/// Shows diffoscope's report when it is installed (bounded in time).
fn diffoscope(a: &Path, b: &Path) {
    let Ok(exe) = which::which("diffoscope") else {
        progress::info("diffoscope is not installed (apt-get install diffoscope-minimal for a full report)");
        return;
    };
    progress::info(&format!("diffoscope {} {}", a.display(), b.display()));
    let child = crate::proc::capture(Command::new("timeout").arg("300").arg(exe).arg(a).arg(b));
    if let Ok(out) = child {
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().take(200).collect();
        eprintln!("{}", lines.join("\n"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{ar, gzip, tar, TarMember};

    fn deb(content: &[u8]) -> Vec<u8> {
        let data = gzip(
            &tar(&[
                TarMember::file("./etc/mail/helpfile", b"help".to_vec(), 0o644, 1),
                TarMember::file("./etc/mail/sendmail.mc", content.to_vec(), 0o644, 1),
            ])
            .unwrap(),
        )
        .unwrap();
        ar(&[("debian-binary", b"2.0\n"), ("control.tar.gz", b"same"), ("data.tar.gz", &data)], 1).unwrap()
    }

    #[test]
    fn names_the_first_differing_member_inside_a_deb() {
        let d = first_difference("x.deb", &deb(b"dnl a\n"), &deb(b"dnl a\ndnl injected\n"));
        assert!(d.starts_with("ar member data.tar.gz: tar member ./etc/mail/sendmail.mc: content differs"), "{d}");
    }

    #[test]
    fn names_header_differences_in_a_tarball() {
        let t = |mode| gzip(&tar(&[TarMember::file("./a", b"x".to_vec(), mode, 1)]).unwrap()).unwrap();
        let d = first_difference("p.tar.gz", &t(0o644), &t(0o600));
        assert!(d.starts_with("tar member ./a: header differs"), "{d}");
        assert_eq!(first_difference("f", b"abc", b"abd"), "first differing byte at offset 2");
    }

    #[test]
    fn compares_directories() {
        let root = std::env::temp_dir().join(format!("smtls-repro-{}", std::process::id()));
        let (a, b) = (root.join("a"), root.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(a.join("x.deb"), deb(b"1")).unwrap();
        std::fs::write(b.join("x.deb"), deb(b"1")).unwrap();
        std::fs::write(a.join("only-a"), b"").unwrap();
        let r = compare_dirs(&a, &b).unwrap();
        assert_eq!(r.same.len(), 1);
        assert_eq!(r.differences, ["only-a exists in only one run"]);
        std::fs::write(a.join("SHA256SUMS"), b"1").unwrap();
        std::fs::write(b.join("SHA256SUMS"), b"2").unwrap();
        std::fs::write(b.join("only-a"), b"x").unwrap();
        let r = compare_dirs(&a, &b).unwrap();
        assert_eq!(r.first_differing_file.as_deref(), Some("only-a"), "artifacts before SHA256SUMS");
        assert_eq!(r.differences[1], "SHA256SUMS: first differing byte at offset 0");
        std::fs::remove_dir_all(&root).unwrap();
    }
}

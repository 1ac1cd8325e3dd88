//! bench: how much faster the toolkit builds than upstream's own `sh Build`,
//! and what a `dist` with nothing to do costs. A benchmark, not a test.
//!
//! In one run it alternates, N times each, a cold upstream `sh Build -c` at
//! the top of a separate copy of the same unpacked source (the same
//! generated site.config.m4; serial, as upstream builds) and a cold
//! `xtask build` of the work tree; then times no-op `dist` runs. Every build
//! runs with a tiny timing wrapper first on PATH as `cc`: it runs the real
//! compiler and appends that process tree's CPU time to a log, which splits
//! each build's CPU into compiler and linker processes and everything else.
//!
//! Figures, per build: wall time; the part of it during which no compiler
//! or linker ran (the union of the compiler runs' intervals, from the
//! wrapper, subtracted from the wall time: start-up, Build configuring
//! object directories, make's own work, manual
//! pages, waiting); CPU time of the whole process tree (from /proc/PID/stat
//! of the finished child, read before it is reaped), split into compiler and
//! linker processes and the rest, and the started process's own CPU (for
//! the toolkit, xtask itself).
//!
//! Printed at the end: the medians; the toolkit's overhead, as the share of
//! its cold build's wall time that ran no compiler or linker; the no-op
//! `dist` times; whether the programs of both builds are byte-identical; and
//! `ratio: X.XX` = toolkit cold build wall / upstream cold build wall
//! (medians).

use crate::{build, plan::Plan, progress, stamp, tools};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

#[derive(clap::Args, Clone, Debug)]
pub struct BenchArgs {
    /// Cold builds of each kind (upstream and toolkit), alternating.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub runs: usize,
    /// Jobs for the toolkit's builds (default: the CPU count).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
}

const CC_LOG_VAR: &str = "SMTLS_CC_TIMES";

/// Runs the real compiler, waits for it, appends a line `start end user
/// sys` (CLOCK_MONOTONIC seconds, and the CPU seconds of its whole process
/// tree) to $SMTLS_CC_TIMES, and exits as it did.
const WRAPPER_C: &str = r#"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}
int main(int argc, char **argv) {
    const char *real = getenv("SMTLS_TIMED_CC"), *log = getenv("SMTLS_CC_TIMES");
    struct rusage ru;
    int status;
    pid_t pid;
    double start = now(), end;
    (void) argc;
    if (real == NULL) { fprintf(stderr, "cc timing wrapper: SMTLS_TIMED_CC is not set\n"); return 127; }
    pid = fork();
    if (pid < 0) { perror("cc timing wrapper: fork"); return 127; }
    if (pid == 0) { argv[0] = (char *) real; execv(real, argv); perror(real); _exit(127); }
    if (wait4(pid, &status, 0, &ru) < 0) { perror("cc timing wrapper: wait4"); return 127; }
    end = now();
    if (log != NULL) {
        char line[160];
        int fd = open(log, O_WRONLY | O_APPEND | O_CREAT, 0644);
        int n = snprintf(line, sizeof line, "%.6f %.6f %ld.%06ld %ld.%06ld\n", start, end, (long) ru.ru_utime.tv_sec,
            (long) ru.ru_utime.tv_usec, (long) ru.ru_stime.tv_sec, (long) ru.ru_stime.tv_usec);
        if (fd >= 0) { if (write(fd, line, (size_t) n) != n) perror("cc timing wrapper: write"); close(fd); }
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}
"#;

/// What one measured build cost.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Measured {
    pub(crate) wall: f64,
    /// The started process itself (for the toolkit: xtask).
    pub(crate) own_cpu: f64,
    /// Everything it waited for (make, sh, compilers, ...).
    pub(crate) children_cpu: f64,
    /// CPU of compiler and linker processes, from the wrapper's log.
    pub(crate) compiler_cpu: f64,
    /// Wall time during which at least one compiler or linker ran.
    pub(crate) compiler_busy: f64,
}

impl Measured {
    pub(crate) fn cpu(&self) -> f64 {
        self.own_cpu + self.children_cpu
    }

    /// CPU outside compiler and linker processes.
    pub(crate) fn other_cpu(&self) -> f64 {
        (self.cpu() - self.compiler_cpu).max(0.0)
    }

    pub(crate) fn other_cpu_share(&self) -> f64 {
        if self.cpu() > 0.0 {
            self.other_cpu() / self.cpu()
        } else {
            0.0
        }
    }

    /// Wall time with no compiler or linker running: start-up, Build
    /// configuring object directories, make deciding, manual pages, waits.
    pub(crate) fn overhead(&self) -> f64 {
        (self.wall - self.compiler_busy).max(0.0)
    }

    pub(crate) fn overhead_share(&self) -> f64 {
        if self.wall > 0.0 {
            self.overhead() / self.wall
        } else {
            0.0
        }
    }

    pub(crate) fn line(&self) -> String {
        format!(
            "{:6.2} s wall ({:.2} s = {:.1}% with no compiler running), {:6.2} s CPU (compilers and linkers {:.2} s, other {:.2} s, this process {:.2} s)",
            self.wall,
            self.overhead(),
            100.0 * self.overhead_share(),
            self.cpu(),
            self.compiler_cpu,
            self.other_cpu(),
            self.own_cpu
        )
    }
}

/// The wrapper's log: the total CPU of the compiler runs and their
/// `(start, end)` intervals.
pub(crate) fn parse_cc_times(text: &str) -> (f64, Vec<(f64, f64)>) {
    let mut cpu = 0.0;
    let mut spans = vec![];
    for line in text.lines() {
        let f: Vec<f64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        if let [start, end, user, sys] = f[..] {
            cpu += user + sys;
            spans.push((start, end));
        }
    }
    (cpu, spans)
}

/// The length of the union of intervals, clipped to `[from, to]`.
pub(crate) fn covered(spans: &[(f64, f64)], from: f64, to: f64) -> f64 {
    let mut v: Vec<(f64, f64)> = spans.iter().map(|&(a, b)| (a.max(from), b.min(to))).filter(|(a, b)| b > a).collect();
    v.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (a, b) in v {
        current = match current {
            Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    total + current.map_or(0.0, |(a, b)| b - a)
}

fn monotonic() -> f64 {
    // SAFETY: clock_gettime writes into the timespec we pass.
    unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
        ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
    }
}

pub(crate) fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// (own, children) CPU seconds from /proc/PID/stat: fields 14-17 (utime,
/// stime, cutime, cstime) in clock ticks.
pub(crate) fn parse_proc_stat(text: &str, ticks_per_second: f64) -> Option<(f64, f64)> {
    let after = &text[text.rfind(')')? + 1..];
    let f: Vec<f64> = after.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    // `after` starts at field 3 (the state letter, which does not parse).
    let field = |n: usize| f.get(n - 4).copied();
    Some(((field(14)? + field(15)?) / ticks_per_second, (field(16)? + field(17)?) / ticks_per_second))
}

/// Runs `cmd` to the end and measures it. The child is waited for with
/// WNOWAIT first, so its /proc entry (own and children's CPU) can be read
/// before it is reaped.
pub(crate) fn measure(cmd: &mut Command, cc_log: &Path, what: &str) -> Result<Measured> {
    let _ = std::fs::remove_file(cc_log);
    let start = Instant::now();
    let from = monotonic();
    let mut child = cmd.spawn().with_context(|| format!("starting {what}"))?;
    let pid = child.id();
    // SAFETY: waitid on our own child, not reaping it (WNOWAIT).
    let waited = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT)
    };
    let wall = start.elapsed().as_secs_f64();
    let to = monotonic();
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let stat = if waited == 0 { std::fs::read_to_string(format!("/proc/{pid}/stat")).ok() } else { None };
    let status = child.wait().with_context(|| format!("waiting for {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    let (own_cpu, children_cpu) = stat
        .as_deref()
        .and_then(|s| parse_proc_stat(s, ticks))
        .context("reading the finished child's CPU times from /proc (bench needs Linux /proc)")?;
    let (compiler_cpu, spans) = parse_cc_times(&std::fs::read_to_string(cc_log).unwrap_or_default());
    if spans.is_empty() {
        bail!("{what}: the cc timing wrapper logged no compiler run to {}", cc_log.display());
    }
    Ok(Measured { wall, own_cpu, children_cpu, compiler_cpu, compiler_busy: covered(&spans, from, to) })
}

/// Global options that point a child xtask at the same plan.
fn plan_args(plan: &Plan) -> Vec<String> {
    vec![
        "--version".into(),
        plan.version.to_string(),
        "--work-dir".into(),
        plan.work_dir.parent().expect("work dir has a parent").display().to_string(),
        "--cache-dir".into(),
        plan.cache_dir.display().to_string(),
    ]
}

fn xtask(plan: &Plan, args: &[&str], log: &Path) -> Result<Command> {
    let exe = std::env::current_exe().context("finding the xtask binary")?;
    let mut cmd = Command::new(exe);
    cmd.args(plan_args(plan)).args(args);
    quiet(&mut cmd, log)?;
    Ok(cmd)
}

fn quiet(cmd: &mut Command, log: &Path) -> Result<()> {
    let f = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    cmd.stdin(Stdio::null()).stdout(f.try_clone()?).stderr(f);
    Ok(())
}

/// Copies the unpacked source, without object directories, to `dest`.
fn copy_source(src: &Path, dest: &Path) -> Result<()> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).with_context(|| format!("removing {}", dest.display()))?;
    }
    std::fs::create_dir_all(dest)?;
    let mut entries: Vec<PathBuf> = std::fs::read_dir(src)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("obj.")))
        .collect();
    entries.sort();
    crate::proc::run(Command::new("cp").arg("-pPR").args(&entries).arg(dest))
        .with_context(|| format!("copying {} to {}", src.display(), dest.display()))
}

/// The object directory upstream's Build made in `tree` (obj.<os>.<rel>.<arch>).
fn upstream_obj_dir(tree: &Path) -> Result<PathBuf> {
    std::fs::read_dir(tree)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.is_dir() && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("obj.")))
        .with_context(|| format!("upstream's Build left no obj.* directory in {}", tree.display()))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

pub(crate) fn run(plan: &Plan, args: &BenchArgs) -> Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let jobs = build::BuildArgs { jobs: args.jobs, one_by_one: false }.jobs();
    let t = progress::Timer::start(format!(
        "bench sendmail {}: {} cold builds each, upstream sh Build -c (serial) and xtask build (-j{jobs})",
        plan.version, args.runs
    ));
    let load_before = load_average();
    let dir = plan.work_dir.join("bench");
    std::fs::create_dir_all(&dir)?;
    prepare(plan, &dir)?;
    let timer = Timer::install(&dir)?;
    let upstream_tree = copy_upstream(plan, &dir)?;
    let (upstream, toolkit) = cold_builds(plan, args.runs, jobs, &dir, &upstream_tree, &timer)?;
    let theirs = upstream_obj_dir(&upstream_tree)?;
    let differ = programs_differing(plan, &theirs);
    let noop = noop_dists(plan, &dir)?;
    report(plan, jobs, &load_before, &upstream, &toolkit, &noop);
    report_programs(&differ, &theirs);
    println!("ratio: {:.2}", median_of(&toolkit, |m| m.wall) / median_of(&upstream, |m| m.wall));
    t.done();
    if !differ.is_empty() {
        bail!("the toolkit's programs differ from upstream's: {}", differ.join(" "));
    }
    Ok(())
}

/// `xtask dist` once, so the work tree is fetched, configured and built.
fn prepare(plan: &Plan, dir: &Path) -> Result<()> {
    progress::info("preparing: xtask dist (fetch, configure, build, verify unless up to date)");
    let log = dir.join("prepare.log");
    if !xtask(plan, &["dist"], &log)?.status()?.success() {
        bail!("xtask dist failed; see {}", log.display());
    }
    Ok(())
}

/// The timing wrapper, compiled, and what puts it first on PATH as `cc`.
struct Timer {
    path: std::ffi::OsString,
    real_cc: PathBuf,
    log: PathBuf,
}

impl Timer {
    fn install(dir: &Path) -> Result<Timer> {
        let real_cc = tools::find(&tools::CC)?;
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin)?;
        std::fs::write(dir.join("cc-timer.c"), WRAPPER_C)?;
        let out = crate::proc::capture(
            Command::new(&real_cc).args(["-O2", "-o"]).arg(bin.join("cc")).arg(dir.join("cc-timer.c")),
        )
        .context("compiling the cc timing wrapper")?;
        if !out.status.success() {
            bail!("compiling the cc timing wrapper failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let path = std::env::join_paths(
            std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
        )?;
        Ok(Timer { path, real_cc, log: dir.join("cc-times.log") })
    }

    fn apply(&self, cmd: &mut Command) {
        cmd.env("PATH", &self.path).env(stamp::TIMED_CC_VAR, &self.real_cc).env(CC_LOG_VAR, &self.log);
    }
}

/// A copy of the unpacked source (same site.config.m4) for upstream's Build.
fn copy_upstream(plan: &Plan, dir: &Path) -> Result<PathBuf> {
    let tree = dir.join("upstream").join(format!("sendmail-{}", plan.version));
    progress::info(&format!("copying the source (same site.config.m4) to {}", tree.display()));
    copy_source(&plan.source_dir(), &tree)?;
    Ok(tree)
}

/// `runs` cold builds of each kind, alternating: upstream's serial
/// `sh Build -c`, then `xtask build`.
fn cold_builds(
    plan: &Plan,
    runs: usize,
    jobs: usize,
    dir: &Path,
    upstream_tree: &Path,
    timer: &Timer,
) -> Result<(Vec<Measured>, Vec<Measured>)> {
    let jobs_arg = jobs.to_string();
    let (mut upstream, mut toolkit) = (vec![], vec![]);
    for i in 1..=runs {
        let log = dir.join(format!("upstream-{i}.log"));
        let mut cmd = Command::new("sh");
        cmd.args(["Build", "-c"]).current_dir(upstream_tree);
        quiet(&mut cmd, &log)?;
        build::clean_env(&mut cmd);
        timer.apply(&mut cmd);
        let m =
            measure(&mut cmd, &timer.log, "upstream sh Build -c").with_context(|| format!("see {}", log.display()))?;
        progress::info(&format!("run {i}/{runs}: upstream sh Build -c  {}", m.line()));
        upstream.push(m);

        let log = dir.join(format!("toolkit-{i}.log"));
        let mut cmd = xtask(plan, &["build", "--jobs", &jobs_arg], &log)?;
        timer.apply(&mut cmd);
        let m = measure(&mut cmd, &timer.log, "xtask build").with_context(|| format!("see {}", log.display()))?;
        progress::info(&format!("run {i}/{runs}: xtask build         {}", m.line()));
        toolkit.push(m);
    }
    Ok((upstream, toolkit))
}

/// The programs that differ from upstream's build of the same
/// configuration in another directory (they must not).
fn programs_differing(plan: &Plan, theirs: &Path) -> Vec<&'static str> {
    build::PROGRAMS
        .iter()
        .copied()
        .filter(|p| {
            let a = std::fs::read(plan.program(p)).ok();
            a.is_none() || a != std::fs::read(theirs.join(p).join(p)).ok()
        })
        .collect()
}

/// No-op `dist` times: as the xtask binary (the first run, untimed,
/// settles the verify stamp for the new binary), and as `cargo xtask dist`.
struct Noop {
    binary: Vec<f64>,
    via_cargo: Vec<f64>,
    skipped: usize,
}

fn noop_dists(plan: &Plan, dir: &Path) -> Result<Noop> {
    let log = dir.join("noop.log");
    let dist = || -> Result<f64> {
        let start = Instant::now();
        if !xtask(plan, &["dist"], &log)?.status()?.success() {
            bail!("xtask dist failed; see {}", log.display());
        }
        Ok(start.elapsed().as_secs_f64())
    };
    dist()?;
    let binary = (0..5).map(|_| dist()).collect::<Result<Vec<_>>>()?;
    let skipped = std::fs::read_to_string(&log).unwrap_or_default().matches("up to date, skipped").count();
    let mut via_cargo = vec![];
    if let Some(cargo) = std::env::var_os("CARGO").map(PathBuf::from).or_else(|| which::which("cargo").ok()) {
        for _ in 0..3 {
            let mut cmd = Command::new(&cargo);
            cmd.args(["xtask"]).args(plan_args(plan)).arg("dist").current_dir(crate::plan::workspace_root());
            quiet(&mut cmd, &log)?;
            let start = Instant::now();
            if cmd.status().context("running cargo xtask dist")?.success() {
                via_cargo.push(start.elapsed().as_secs_f64());
            }
        }
    }
    Ok(Noop { binary, via_cargo, skipped })
}

fn median_of(v: &[Measured], f: fn(&Measured) -> f64) -> f64 {
    median(&v.iter().map(f).collect::<Vec<_>>())
}

/// The medians of the cold builds, the toolkit's overhead and the no-op
/// `dist` figures.
fn report(plan: &Plan, jobs: usize, load_before: &str, upstream: &[Measured], toolkit: &[Measured], noop: &Noop) {
    let med = median_of;
    let tk_wall = med(toolkit, |m| m.wall);
    println!("sendmail {} on {} CPUs; load average before {load_before}, after {}", plan.version, jobs, load_average());
    for (name, v) in [("upstream sh Build -c (serial)", upstream), ("xtask build (parallel)", toolkit)] {
        println!(
            "{name:<30} median {:6.2} s wall, {:5.2} s of it with no compiler running ({:4.1}%); CPU {:6.2} s, compilers and linkers {:6.2} s, other {:5.2} s ({:4.1}%)",
            med(v, |m| m.wall),
            med(v, Measured::overhead),
            100.0 * med(v, Measured::overhead_share),
            med(v, Measured::cpu),
            med(v, |m| m.compiler_cpu),
            med(v, Measured::other_cpu),
            100.0 * med(v, Measured::other_cpu_share)
        );
    }
    println!(
        "toolkit overhead: {:.1}% of the cold build's wall time ran no compiler or linker ({:.2} s: xtask start-up, Build configuring object directories, make, manual pages, waits); xtask itself used {:.2} s CPU; everything outside compilers and linkers used {:.1}% of the CPU",
        100.0 * med(toolkit, Measured::overhead_share),
        med(toolkit, Measured::overhead),
        med(toolkit, |m| m.own_cpu),
        100.0 * med(toolkit, Measured::other_cpu_share)
    );
    println!(
        "cores busy during the toolkit's build: {:.0}% of {jobs} x {:.2} s",
        100.0 * med(toolkit, Measured::cpu) / (jobs as f64 * tk_wall),
        tk_wall
    );
    println!(
        "no-op dist: median {:.3} s (xtask binary, {} runs, {} of 4 steps skipped){}",
        median(&noop.binary),
        noop.binary.len(),
        noop.skipped,
        if noop.via_cargo.is_empty() {
            String::new()
        } else {
            format!("; {:.3} s as `cargo xtask dist` (cargo's own start-up included)", median(&noop.via_cargo))
        }
    );
}

fn report_programs(differ: &[&str], theirs: &Path) {
    if differ.is_empty() {
        println!("programs: all {} byte-identical to upstream's build in {}", build::PROGRAMS.len(), theirs.display());
    } else {
        println!("programs: DIFFERENT from upstream's build in {}: {}", theirs.display(), differ.join(" "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn reads_cpu_times_from_proc_stat() {
        // A real line of a finished `make` (comm with a space and a paren).
        let line = "4242 (ma ke) Z 1 4242 4242 0 -1 4227084 120 3310 0 0 7 3 2510 402 20 0 1 0 1234 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        let (own, children) = parse_proc_stat(line, 100.0).unwrap();
        assert!((own - 0.10).abs() < 1e-9, "{own}");
        assert!((children - 29.12).abs() < 1e-9, "{children}");
        assert!(parse_proc_stat("garbage", 100.0).is_none());
    }

    #[test]
    fn reads_the_wrappers_log() {
        let (cpu, spans) = parse_cc_times("10.0 12.0 1.500000 0.100000\n11.0 11.5 0.250000 0.050000\ngarbage\n");
        assert!((cpu - 1.9).abs() < 1e-9);
        assert_eq!(spans, [(10.0, 12.0), (11.0, 11.5)]);
        assert_eq!(parse_cc_times(""), (0.0, vec![]));
    }

    #[test]
    fn covered_time_is_the_union_of_the_compiler_runs() {
        let spans = [(1.0, 3.0), (2.0, 4.0), (6.0, 7.0), (6.5, 6.7), (-5.0, 0.5), (9.0, 20.0)];
        assert!((covered(&spans, 0.0, 10.0) - (0.5 + 3.0 + 1.0 + 1.0)).abs() < 1e-9);
        assert_eq!(covered(&[], 0.0, 10.0), 0.0);
        let m = Measured {
            wall: 10.0,
            own_cpu: 0.5,
            children_cpu: 19.5,
            compiler_cpu: 19.0,
            compiler_busy: covered(&spans, 0.0, 10.0),
        };
        assert!((m.overhead() - 4.5).abs() < 1e-9);
        assert!((m.other_cpu_share() - 0.05).abs() < 1e-9);
        assert!(m.line().contains("45.0% with no compiler running"), "{}", m.line());
    }
}

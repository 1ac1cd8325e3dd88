//! build: sendmail's own `Build` and Makefiles, with a stable object
//! directory and a log per subdirectory, run as one parallel graph.
//!
//! Upstream's top-level `sh Build` runs each subdirectory's Build one after
//! another, each of them first running `make depend` (a `cc -M` over every
//! file) and then `make` without parallelism. Here each subdirectory's
//! Build only configures its object directory (`MAKE=true sh ./Build -c`:
//! Build calls `${MAKE-make}` for both `depend` and the build), then GNU
//! make compiles the objects of all subdirectories at once under one shared
//! jobserver, and each subdirectory links as soon as the libraries its
//! Makefile names are linked (see `graph`). The compile and link commands
//! are the Makefiles' own, so the programs are byte-identical to a serial
//! upstream build of the same site.config.m4 (tests/tests/build_speed.rs).

pub(crate) mod errors;
pub(crate) mod graph;
pub(crate) mod jobs;

use crate::{configure::Configuration, plan::Plan, progress, stamp, tools};
use anyhow::{bail, Context, Result};
use graph::{Graph, Stage, Task};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Built first by upstream, in this order: everything else links them.
pub const LIBRARIES: &[&str] = &["libsm", "libsmutil", "libsmdb"];
/// The programs, as upstream's top-level Makefile lists them.
pub const PROGRAMS: &[&str] =
    &["sendmail", "editmap", "mail.local", "mailstats", "makemap", "praliases", "rmail", "smrsh", "vacation"];

/// The order in which ready tasks get a job slot: the longest chain first
/// (sendmail's objects are three quarters of the work), then the libraries
/// everything links, then the small programs; any other subdirectory (e.g.
/// libmilter) after these.
pub const PRIORITY: &[&str] = &[
    "sendmail",
    "libsm",
    "libsmutil",
    "libsmdb",
    "mail.local",
    "vacation",
    "makemap",
    "praliases",
    "rmail",
    "editmap",
    "mailstats",
    "smrsh",
];

#[derive(clap::Args, Clone, Debug, Default)]
pub struct BuildArgs {
    /// Compiler jobs at once, shared by all subdirectories (default: the CPU count).
    #[arg(long, short = 'j', value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Run upstream's Build in each subdirectory one after another, each
    /// with make -jN (the way before the parallel graph; chosen by itself
    /// when make is not GNU make).
    #[arg(long)]
    pub one_by_one: bool,
}

/// `subdirs` in the order of `PRIORITY`, the ones it does not name last.
pub fn in_priority_order<'a>(subdirs: &[&'a str]) -> Vec<&'a str> {
    let mut v = subdirs.to_vec();
    v.sort_by_key(|s| PRIORITY.iter().position(|p| p == s).unwrap_or(PRIORITY.len()));
    v
}

/// The most jobs one build runs: the make jobserver holds a token per job
/// in a pipe, and far more compilers than this would only thrash.
pub const MAX_JOBS: usize = 1024;

/// `--jobs N`: 1 to [`MAX_JOBS`], checked when the command line is read,
/// before anything is wiped.
pub fn parse_jobs(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_JOBS).contains(&n) => Ok(n),
        _ => Err(format!("expected a number of jobs from 1 to {MAX_JOBS}, got `{s}`")),
    }
}

impl BuildArgs {
    pub fn jobs(&self) -> usize {
        self.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1)
    }
}

/// The environment every build process sees: no locale or time zone leaks
/// into the output, and no make settings from whoever started us.
pub fn clean_env(cmd: &mut Command) {
    cmd.env("LC_ALL", "C").env("TZ", "UTC");
    for v in ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CARGO_MAKEFLAGS", "MAKE", "MAKEFILES"] {
        cmd.env_remove(v);
    }
}

/// The environment of the one-by-one build: make -jN in each subdirectory.
pub fn build_env(cmd: &mut Command, jobs: usize) {
    clean_env(cmd);
    cmd.env("MAKEFLAGS", format!("-j{jobs}"));
}

/// Runs `sh ./Build ARGS` in `dir`, output to `log`; on failure the error
/// carries the log's last lines and path.
pub fn run_build(dir: &Path, args: &[&str], jobs: usize, log: &Path) -> Result<()> {
    let file = crate::util::open_in_tree(log.parent().and_then(Path::parent).unwrap_or(Path::new("/")), log, false)?;
    let mut cmd = Command::new("sh");
    cmd.arg("./Build").args(args).current_dir(dir).stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
    build_env(&mut cmd, jobs);
    let status = crate::proc::status(&mut cmd).with_context(|| format!("running sh ./Build in {}", dir.display()))?;
    if !status.success() {
        bail!(
            "sh ./Build {} in {} failed ({status}); {}\nfull log: {}",
            args.join(" "),
            dir.display(),
            failure_summary(log),
            log.display()
        );
    }
    Ok(())
}

/// The first errors and the failed make target of a build log.
pub fn failure_summary(log: &Path) -> String {
    errors::summarize(&String::from_utf8_lossy(&std::fs::read(log).unwrap_or_default()))
}

pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| format!("    | {l}")).collect::<Vec<_>>().join("\n")
}

/// Checks the configuration is current: site.config.m4 is the one
/// `configure` wrote.
fn check_configured(plan: &Plan, config: &Configuration) -> Result<()> {
    let site = std::fs::read(plan.site_config())
        .with_context(|| format!("{} is missing: run `cargo xtask configure`", plan.site_config().display()))?;
    let sum = crate::digest::sha256_hex(&site);
    if sum != config.site_config_sha256 {
        bail!("{} changed since `cargo xtask configure` wrote it: run configure again", plan.site_config().display());
    }
    Ok(())
}

/// What the build's output depends on (see `stamp`): the source, the
/// generated site.config.m4, the compiler, the OpenSSL (and Berkeley DB)
/// the configuration found (none before the first configure), and the
/// toolkit.
pub fn stamp_inputs(plan: &Plan, config: Option<&Configuration>) -> Result<stamp::Inputs> {
    let mut i = stamp::Inputs::new("build");
    i.add("source", format!("sendmail {} {}", plan.version, plan.release.source_id()));
    i.add_file_content("site.config.m4", &plan.site_config());
    i.add("compiler", stamp::command_identity("cc"));
    match config {
        Some(c) => {
            i.add(
                "openssl",
                format!("{} (headers {:#x}, library {:#x})", c.openssl.text, c.openssl.compiled, c.openssl.linked),
            );
            i.add("berkeley db", c.berkeley_db.clone().unwrap_or_else(|| "off".into()));
            i.add("probed files", c.probed_files_digest());
        }
        None => {
            i.add("openssl", "not configured");
        }
    }
    Ok(i)
}

/// Every subdirectory to build: libmilter too when milters are on.
pub fn subdirs(config: &Configuration) -> Vec<&'static str> {
    let mut all: Vec<&str> = LIBRARIES.iter().chain(PROGRAMS).copied().collect();
    if config.options.iter().any(|o| o == "milter") {
        all.push("libmilter");
    }
    all
}

/// The files a finished build leaves: every program and library.
pub fn outputs(plan: &Plan, config: Option<&Configuration>) -> Vec<PathBuf> {
    let obj = plan.obj_dir();
    let libraries = match config {
        Some(c) => subdirs(c).into_iter().filter(|s| s.starts_with("lib")).collect(),
        None => LIBRARIES.to_vec(),
    };
    PROGRAMS
        .iter()
        .map(|p| plan.program(p))
        .chain(libraries.iter().map(|l| obj.join(l).join(format!("{l}.a"))))
        .collect()
}

/// Whether `make` is GNU make (whose jobserver the parallel graph needs).
fn gnu_make() -> bool {
    crate::proc::probe(Command::new("make").arg("--version")).is_some_and(|v| v.starts_with("GNU Make"))
}

pub fn run(plan: &Plan, config: &Configuration, args: &BuildArgs) -> Result<Vec<PathBuf>> {
    let jobs = args.jobs();
    check_configured(plan, config)?;
    for need in [&tools::CC, &tools::M4, &tools::MAKE] {
        tools::find(need)?;
    }
    let one_by_one = args.one_by_one || !gnu_make();
    let how = if one_by_one {
        format!("upstream Build in each subdirectory in turn, make -j{jobs} in each")
    } else {
        format!("{jobs} jobs shared by all subdirectories")
    };
    let t = progress::Timer::start(format!("build sendmail {} ({how})", plan.version));
    stamp::forget(&plan.work_dir, "build")?;
    let logs = crate::util::real_dir_below(&plan.work_dir, &plan.logs_dir())?;
    // A pre-created `obj.` wins over obj.<uname -s>.<uname -r>.<uname -m>,
    // so the path does not change with the kernel.
    let obj = plan.obj_dir();
    crate::util::require_real_dir(&obj)?;
    if obj.exists() {
        std::fs::remove_dir_all(&obj).with_context(|| format!("cleaning {}", obj.display()))?;
    }
    crate::util::real_dir_below(&plan.work_dir, &obj)?;
    let all = subdirs(config);
    if one_by_one {
        build_one_by_one(plan, jobs, &all)?;
    } else {
        build_graph(plan, jobs, &in_priority_order(&all))?;
    }
    let mut built = vec![];
    for p in outputs(plan, Some(config)) {
        if !p.is_file() {
            bail!("the build finished but {} is missing; see the logs in {}", p.display(), logs.display());
        }
        if PROGRAMS.iter().any(|name| p == plan.program(name)) {
            built.push(p);
        }
    }
    stamp::record(&plan.work_dir, &stamp_inputs(plan, Some(config))?, &format!("{} programs built", built.len()))?;
    t.done();
    Ok(built)
}

fn build_one_by_one(plan: &Plan, jobs: usize, all: &[&str]) -> Result<()> {
    for (i, sub) in all.iter().enumerate() {
        let log = plan.logs_dir().join(format!("build-{sub}.log"));
        let start = std::time::Instant::now();
        progress::info(&format!("[{:>2}/{}] {sub}: compiling (log: {})", i + 1, all.len(), log.display()));
        run_build(&plan.source_dir().join(sub), &["-c"], jobs, &log)?;
        progress::info(&format!("[{:>2}/{}] {sub}: ok in {:.1} s", i + 1, all.len(), start.elapsed().as_secs_f64()));
    }
    Ok(())
}

/// A make fragment read after a subdirectory's Makefile: a goal for the
/// generated headers and objects only, the largest sources first (so the
/// last compiles to finish are short ones and both ends of the build stay
/// busy); objects without a same-named source follow in the Makefile's order.
///
/// Upstream's `all: ${BEFORE} ${LINKS} ${PROG}` only makes `sm_os.h` and the
/// other BEFORE/LINKS files first because its make runs one job at a time,
/// and without `make depend` no object names them as prerequisites. Under
/// the jobserver a goal's prerequisites start together, so every object
/// waits for them explicitly (order-only: a newer link does not make an
/// object out of date, as in upstream's Makefile).
pub const OBJECTS_MK: &str = "# Read after a sendmail Makefile by smtls: the objects, without linking,\n\
# largest sources first, each after the files BEFORE and LINKS make.\n\
smtls-by-size := $(patsubst %.c,%.o,$(shell ls -LS $(OBJS:.o=.c) 2>/dev/null))\n\
smtls-objects: $(BEFORE) $(LINKS) $(filter $(OBJS),$(smtls-by-size)) $(OBJS)\n\
$(OBJS): | $(BEFORE) $(LINKS)\n";

/// Builds `subdirs` (in priority order) as one graph.
fn build_graph(plan: &Plan, jobs: usize, subdirs: &[&str]) -> Result<()> {
    let src = plan.source_dir();
    let obj = plan.obj_dir();
    let logs = plan.logs_dir();
    let objects_mk = plan.work_dir.join("smtls-objects.mk");
    crate::util::write_atomic(&objects_mk, OBJECTS_MK.as_bytes())?;
    let mut graph = Graph::new(subdirs);
    let total = graph.subdirs.len();
    progress::info(&format!("{total} subdirectories; logs in {}", logs.display()));
    let log_of = |sub: &str| logs.join(format!("build-{sub}.log"));

    let exec = |task: Task, client: &jobserver::Client, children: &jobs::Children| -> Result<jobs::Outcome> {
        let sub = subdirs[task.sub];
        let log_path = log_of(sub);
        let log = crate::util::open_in_tree(&plan.work_dir, &log_path, true)?;
        if task.stage == Stage::Configure {
            log.set_len(0)?;
        }
        let (dir, mut cmd, what) = match task.stage {
            Stage::Configure => {
                let mut cmd = Command::new("sh");
                cmd.args(["./Build", "-c"]);
                clean_env(&mut cmd);
                // Build runs ${MAKE-make} for `depend` and for the build:
                // here it only makes the object directory and its Makefile.
                cmd.env("MAKE", "true");
                (src.join(sub), cmd, "MAKE=true sh ./Build -c")
            }
            Stage::Objects => {
                let mut cmd = Command::new("make");
                cmd.args(["-f", "Makefile", "-f"]).arg(&objects_mk).arg("smtls-objects");
                clean_env(&mut cmd);
                client.configure_make(&mut cmd);
                (obj.join(sub), cmd, "make smtls-objects")
            }
            Stage::Link => {
                let mut cmd = Command::new("make");
                clean_env(&mut cmd);
                client.configure_make(&mut cmd);
                (obj.join(sub), cmd, "make all")
            }
        };
        use std::io::Write;
        writeln!(&log, "==> smtls: {what} in {}", dir.display())?;
        cmd.current_dir(&dir).stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log.try_clone()?);
        let status = children.run(task, &mut cmd).with_context(|| format!("running {what} in {}", dir.display()))?;
        if !status.success() {
            bail!(
                "{sub}: {what} in {} failed ({status}); {}\nfull log: {}",
                dir.display(),
                failure_summary(&log_path),
                log_path.display()
            );
        }
        let libraries = if task.stage == Stage::Configure {
            let mk = obj.join(sub).join("Makefile");
            let text =
                std::fs::read_to_string(&mk).with_context(|| format!("{sub}: Build made no {}", mk.display()))?;
            let libs = graph::smdeplibs(&text, sub).with_context(|| {
                format!("{}: no `{sub}SMDEPLIBS=` line, so the libraries {sub} links are unknown", mk.display())
            })?;
            Some(libs)
        } else {
            None
        };
        Ok(jobs::Outcome { libraries })
    };

    let mut took = vec![[0f64; 3]; total];
    let mut linked = 0;
    let mut on_done = |g: &Graph, f: jobs::Finished| {
        took[f.task.sub][f.task.stage as usize] = f.took.as_secs_f64();
        if f.task.stage == Stage::Link {
            linked += 1;
            let [c, o, l] = took[f.task.sub];
            let libs = g.libraries(f.task.sub).unwrap_or_default();
            let with = if libs.is_empty() { String::new() } else { format!(", with {}", libs.join(" ")) };
            progress::info(&format!(
                "[{linked:>2}/{total}] {}: ok (configure {c:.1} s, objects {o:.1} s, link {l:.1} s{with})",
                g.subdirs[f.task.sub]
            ));
        }
    };
    jobs::run(&mut graph, jobs, &exec, &mut on_done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_range_checked() {
        assert_eq!(parse_jobs("1"), Ok(1));
        assert_eq!(parse_jobs("1024"), Ok(1024));
        for bad in ["0", "1025", "100000", "-1", "x", ""] {
            assert!(parse_jobs(bad).unwrap_err().contains("from 1 to 1024"), "{bad}");
        }
    }

    #[test]
    fn the_priority_order_holds_every_subdirectory_once() {
        let mut want: Vec<&str> = LIBRARIES.iter().chain(PROGRAMS).copied().collect();
        let mut got = PRIORITY.to_vec();
        want.sort();
        got.sort();
        assert_eq!(got, want);
    }

    /// The fragment under a real GNU make with spare job slots, after a
    /// Makefile shaped like upstream's (no dependency lines, the header a
    /// BEFORE link that is slow to appear, as on a loaded machine): every
    /// object must see the header. Before the order-only line, `cc` started
    /// alongside the link and failed with `sm_os.h: No such file or
    /// directory`, as editmap once did.
    #[test]
    fn objects_compile_only_after_their_before_and_links_files() {
        let dir = std::env::temp_dir().join(format!("smtls-objects-mk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let makefile = "BEFORE= sm_os.h\nLINKS= conf.h\nOBJS= a.o b.o\nCFLAGS= -I.\n\
            all: ${BEFORE} ${LINKS} ${OBJS}\n\
            sm_os.h: os.h\n\tsleep 1; ln -f -s os.h sm_os.h\n\
            conf.h:\n\tsleep 1; echo 'int conf;' > conf.h\n";
        for (name, text) in [
            ("Makefile", makefile),
            ("os.h", "int os;\n"),
            ("a.c", "#include \"sm_os.h\"\n#include \"conf.h\"\nint a;\n"),
            ("b.c", "#include \"sm_os.h\"\nint b;\n"),
            ("objects.mk", OBJECTS_MK),
        ] {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let mut cmd = Command::new("make");
        cmd.args(["-j4", "-f", "Makefile", "-f", "objects.mk", "smtls-objects"]).current_dir(&dir);
        clean_env(&mut cmd);
        let out = cmd.output().expect("running make");
        let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(out.status.success(), "{log}");
    }

    #[test]
    fn subdirectories_are_ordered_by_priority_and_others_come_last() {
        assert_eq!(
            in_priority_order(&["libsm", "libmilter", "rmail", "sendmail", "libsmutil"]),
            ["sendmail", "libsm", "libsmutil", "rmail", "libmilter"]
        );
    }
}

//! Child processes that die with the toolkit.
//!
//! Every build process (sh ./Build, make, and through them the compilers)
//! runs in a process group of its own, with `PR_SET_PDEATHSIG` on Linux.
//! A guard process, started once per command in a session of its own and
//! deaf to SIGINT/SIGTERM/SIGHUP, is told each group as it starts and ends;
//! when the toolkit dies (even by SIGKILL) the guard reads end-of-file,
//! ends every group still registered (SIGTERM, then SIGKILL), and only then
//! exits. The guard holds the work directory's lock too, so the next run
//! cannot start while anything of this one is still running.
//!
//! Probed programs (`verify --binary`, `smoke --binary`) run with
//! [`run_bounded`]: output capped, total time bounded, whole group killed.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static GUARD: Mutex<Option<ChildStdin>> = Mutex::new(None);
static GUARD_PROCESS: Mutex<Option<Child>> = Mutex::new(None);

/// Starts the guard, handing it `lock_fd` (the work directory's lock) to
/// hold until every registered group is gone.
pub(crate) fn start_guard(lock_fd: i32) -> Result<()> {
    let exe = std::env::current_exe().context("finding the xtask executable for the guard")?;
    let mut cmd = Command::new(exe);
    cmd.arg("guard").stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            // Keep the lock open across exec.
            let flags = libc::fcntl(lock_fd, libc::F_GETFD);
            if flags >= 0 {
                libc::fcntl(lock_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().context("starting the guard process")?;
    *GUARD.lock().expect("guard lock") = child.stdin.take();
    *GUARD_PROCESS.lock().expect("guard lock") = Some(child);
    Ok(())
}

/// At the end of a command: the guard ends what is left and exits; we wait
/// for it, so the lock is free when we return.
pub(crate) fn stop_guard() {
    if let Ok(mut g) = GUARD.lock() {
        g.take();
    }
    if let Some(mut child) = GUARD_PROCESS.lock().ok().and_then(|mut g| g.take()) {
        let _ = child.wait();
    }
}

fn tell_guard(line: &str) {
    if let Ok(mut g) = GUARD.lock() {
        if let Some(stdin) = g.as_mut() {
            let _ = writeln!(stdin, "{line}");
            let _ = stdin.flush();
        }
    }
}

/// Makes `cmd` start a process group of its own that dies with us.
pub(crate) fn own_group(cmd: &mut Command) {
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl and getppid are async-signal-safe.
        let parent = unsafe { libc::getpid() };
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // We may have died between fork and prctl.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
    }
}

/// Spawns `cmd` in a group of its own, registered with the guard.
pub(crate) fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    own_group(cmd);
    let child = cmd.spawn()?;
    tell_guard(&format!("+{}", child.id()));
    Ok(child)
}

/// Waits for a child from [`spawn`]; then ends whatever it left in its
/// group and unregisters it.
pub(crate) fn wait(child: &mut Child) -> std::io::Result<ExitStatus> {
    let status = child.wait();
    let pgid = child.id() as i32;
    kill_group(pgid, libc::SIGKILL);
    tell_guard(&format!("-{pgid}"));
    status
}

/// [`spawn`] then [`wait`].
pub(crate) fn status(cmd: &mut Command) -> std::io::Result<ExitStatus> {
    let mut child = spawn(cmd)?;
    wait(&mut child)
}

/// Caps every file the child writes at `bytes` (RLIMIT_FSIZE: past it the
/// write fails and the program gets SIGXFSZ), so a runaway log cannot fill
/// the disk.
pub(crate) fn cap_file_size(cmd: &mut Command, bytes: u64) {
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit { rlim_cur: bytes as libc::rlim_t, rlim_max: bytes as libc::rlim_t };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            Ok(())
        });
    }
}

/// Registers a group started elsewhere (the smoke daemon) with the guard.
pub(crate) fn register(pgid: i32) {
    tell_guard(&format!("+{pgid}"));
}

pub(crate) fn unregister(pgid: i32) {
    tell_guard(&format!("-{pgid}"));
}

pub(crate) fn kill_group(pgid: i32, signal: i32) {
    if pgid > 1 {
        // SAFETY: a negative pid names the group we created.
        unsafe { libc::kill(-pgid, signal) };
    }
}

pub(crate) fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks.
    pgid > 1 && unsafe { libc::kill(-pgid, 0) } == 0
}

/// The guard itself (`xtask guard`): reads `+PGID` / `-PGID` lines; at
/// end of input ends every group still registered.
pub(crate) fn guard_main() -> ! {
    // SAFETY: setting signal dispositions to SIG_IGN.
    unsafe {
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
            libc::signal(s, libc::SIG_IGN);
        }
    }
    let mut groups: Vec<i32> = Vec::new();
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let (sign, n) = line.split_at(line.len().min(1));
        let Ok(pgid) = n.parse::<i32>() else { continue };
        match sign {
            "+" => groups.push(pgid),
            "-" => groups.retain(|g| *g != pgid),
            _ => {}
        }
    }
    end_groups(&groups);
    std::process::exit(0)
}

/// SIGTERM to every group, SIGKILL to what is left after 2 s; waits
/// (bounded) until they are gone.
pub(crate) fn end_groups(groups: &[i32]) {
    let alive = |gs: &[i32]| gs.iter().copied().filter(|g| group_alive(*g)).collect::<Vec<_>>();
    for g in groups {
        kill_group(*g, libc::SIGTERM);
    }
    let wait = |limit: Duration| {
        let deadline = Instant::now() + limit;
        while !alive(groups).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait(Duration::from_secs(2));
    for g in alive(groups) {
        kill_group(g, libc::SIGKILL);
    }
    wait(Duration::from_secs(10));
}

/// What a bounded run of a probed program gave.
pub(crate) struct Bounded {
    pub stdout: Vec<u8>,
    /// Whether the output reached the cap (the program was then stopped).
    pub(crate) capped: bool,
    /// Whether the time limit ended it.
    pub(crate) timed_out: bool,
}

/// Runs `cmd` (stdin null, stderr discarded) in a group of its own and
/// reads its stdout until `stop` says enough, `max_bytes` are read, the
/// program ends, or `limit` has passed, whatever it prints; then the whole
/// group is killed and reaped.
/// `quiet_after`: stop once output has come and then nothing for this long.
pub(crate) fn run_bounded(
    cmd: &mut Command,
    limit: Duration,
    max_bytes: usize,
    quiet_after: Option<Duration>,
    stop: &dyn Fn(&[u8]) -> bool,
) -> Result<Bounded> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = spawn(cmd)?;
    let pgid = child.id() as i32;
    let mut stdout = child.stdout.take().context("no stdout")?;
    // Bounded: a program that prints faster than we read waits on its pipe
    // instead of filling our memory.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + limit;
    let mut out = Vec::new();
    let (mut capped, mut timed_out) = (false, false);
    let mut last = Instant::now();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            timed_out = true;
            break;
        }
        match rx.recv_timeout(left.min(Duration::from_millis(100))) {
            Ok(chunk) => {
                last = Instant::now();
                out.extend_from_slice(&chunk);
                if out.len() >= max_bytes {
                    out.truncate(max_bytes);
                    capped = true;
                    break;
                }
                if stop(&out) {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let quiet = quiet_after.is_some_and(|q| !out.is_empty() && last.elapsed() >= q);
                if quiet || stop(&out) {
                    break;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    kill_group(pgid, libc::SIGKILL);
    let _ = child.wait();
    let deadline = Instant::now() + Duration::from_secs(5);
    while group_alive(pgid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    tell_guard(&format!("-{pgid}"));
    Ok(Bounded { stdout: out, capped, timed_out })
}

/// Fails when `b` was cut off, naming the program and the bound.
pub(crate) fn require_complete(b: &Bounded, what: &str, limit: Duration, max_bytes: usize) -> Result<()> {
    if b.capped {
        bail!("{what} printed more than {max_bytes} bytes; it was stopped (is it really sendmail?)");
    }
    if b.timed_out && b.stdout.is_empty() {
        bail!("{what} printed nothing within {} s; it was stopped", limit.as_secs());
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Short commands whose output is wanted (host probes, strip): run, capture,
// and fail naming the command line, its status and the end of its stderr.

/// The command line as the user would type it (program and arguments).
pub(crate) fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` with no input and captures stdout and stderr, whatever its
/// exit status (for a caller that judges the output itself); fails only
/// when it cannot be started, naming the command line.
pub(crate) fn capture(cmd: &mut Command) -> Result<std::process::Output> {
    let line = describe(cmd);
    cmd.stdin(Stdio::null()).output().with_context(|| format!("running {line}"))
}

/// Fails unless `out` is a success, naming the command line `line`, its
/// exit status and the last lines of its stderr.
pub(crate) fn check(line: &str, out: &std::process::Output) -> Result<()> {
    if !out.status.success() {
        bail!("{line} failed ({}){}", out.status, stderr_tail(&out.stderr));
    }
    Ok(())
}

/// `: ` and the last five lines of `stderr`, or nothing when it is empty.
pub(crate) fn stderr_tail(stderr: &[u8]) -> String {
    let err = String::from_utf8_lossy(stderr);
    let tail: Vec<&str> = err.trim_end().lines().rev().take(5).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    if tail.is_empty() {
        String::new()
    } else {
        format!(": {}", tail.join("\n"))
    }
}

/// Runs `cmd` with no input, captures stdout and stderr, and fails unless it
/// exits 0.
pub(crate) fn output(cmd: &mut Command) -> Result<std::process::Output> {
    let line = describe(cmd);
    let out = capture(cmd)?;
    check(&line, &out)?;
    Ok(out)
}

/// Runs `cmd` with no input and its output on the terminal (a long command
/// the user watches, like apt-get install); fails unless it exits 0, naming
/// the command line and its status.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let line = describe(cmd);
    let status = cmd.stdin(Stdio::null()).status().with_context(|| format!("running {line}"))?;
    if !status.success() {
        bail!("{line} failed ({status}); its messages are above");
    }
    Ok(())
}

/// [`output`]'s stdout as text, surrounding whitespace trimmed.
pub(crate) fn stdout(cmd: &mut Command) -> Result<String> {
    Ok(String::from_utf8_lossy(&output(cmd)?.stdout).trim().to_string())
}

/// The trimmed stdout of a command that may be missing or may fail (a
/// probe of the host): `None` then, or when it prints nothing.
pub(crate) fn probe(cmd: &mut Command) -> Option<String> {
    stdout(cmd).ok().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_keeps_printing_is_capped_and_its_group_killed() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 300 & yes"]);
        let start = Instant::now();
        let b = run_bounded(&mut cmd, Duration::from_secs(20), 1 << 20, None, &|_| false).unwrap();
        assert!(b.capped && b.stdout.len() == 1 << 20);
        // Memory stays near the cap (it reached gigabytes with an unbounded channel).
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let hwm: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(hwm < 512 * 1024, "peak memory {hwm} kB");
        assert!(start.elapsed() < Duration::from_secs(10));
        let e = require_complete(&b, "yes", Duration::from_secs(20), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("more than 1048576 bytes"), "{e}");
    }

    #[test]
    fn a_program_that_prints_slowly_forever_is_stopped_in_time() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "while :; do echo x; sleep 0.05; done"]);
        let start = Instant::now();
        let b =
            run_bounded(&mut cmd, Duration::from_secs(2), 1 << 20, Some(Duration::from_secs(1)), &|_| false).unwrap();
        assert!(b.timed_out && !b.capped && !b.stdout.is_empty());
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_group_is_gone_after_wait() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 300 & exit 3"]);
        let mut child = spawn(&mut cmd).unwrap();
        let pgid = child.id() as i32;
        assert_eq!(wait(&mut child).unwrap().code(), Some(3));
        let deadline = Instant::now() + Duration::from_secs(5);
        while group_alive(pgid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!group_alive(pgid), "the background sleep survived");
    }

    #[test]
    fn success_failure_and_missing() {
        assert_eq!(stdout(Command::new("sh").args(["-c", "echo ' hi '"])).unwrap(), "hi");
        let err = output(Command::new("sh").args(["-c", "echo oops >&2; exit 3"])).unwrap_err().to_string();
        assert!(err.contains("sh -c echo oops >&2; exit 3 failed") && err.contains("oops"), "{err}");
        assert_eq!(probe(&mut Command::new("/nonexistent/smtls-no-such-tool")), None);
        assert_eq!(probe(Command::new("sh").args(["-c", "true"])), None);
        let out = capture(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 4"])).unwrap();
        assert_eq!((out.status.code(), &out.stdout[..], &out.stderr[..]), (Some(4), &b"out\n"[..], &b"err\n"[..]));
        let err = check("sh x", &out).unwrap_err().to_string();
        assert!(err.starts_with("sh x failed (exit status: 4): err"), "{err}");
        let err = capture(&mut Command::new("/nonexistent/smtls-no-such-tool")).unwrap_err().to_string();
        assert!(err.contains("running /nonexistent/smtls-no-such-tool"), "{err}");
        let err = run(Command::new("sh").args(["-c", "exit 2"])).unwrap_err().to_string();
        assert!(err.contains("sh -c exit 2 failed (exit status: 2)"), "{err}");
    }
}

//! The sendmail daemon under test: started in the foreground (`-bD`) in a
//! process group of its own, waited for until its ports accept, and stopped
//! by process group id whatever happens (Drop, Ctrl-C), bounded in time.

use crate::proc::{group_alive, kill_group};
use anyhow::{bail, Context, Result};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `n` distinct free TCP ports on 127.0.0.1: all bound at once (so no two
/// are the same), then released for sendmail.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").context("binding a free port on 127.0.0.1"))
        .collect::<Result<Vec<_>>>()?;
    listeners.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// This machine's host name, as sendmail sees it at start.
pub(crate) fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates
    // on success (we also keep a NUL at the end).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return String::new();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

/// sendmail sleeps 60 s at start when the host name has no dot and cannot
/// be qualified (sendmail/daemon.c, myhostname): before it reads any
/// option, so confDOMAIN_NAME does not help.
pub(crate) fn host_name_is_unqualified(name: &str) -> bool {
    !name.contains('.')
}

/// Set once an interrupt arrived: the daemon's end is then no surprise.
static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Process groups to end and directories to remove if we are interrupted.
static CLEANUP: Mutex<Vec<(i32, Option<PathBuf>)>> = Mutex::new(Vec::new());

/// Installs a SIGINT/SIGTERM/SIGHUP handler (once) that stops every daemon
/// still registered and removes its directory, then exits.
pub(crate) fn install_interrupt_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
            let list = CLEANUP.lock().map(|l| l.clone()).unwrap_or_default();
            for (pgid, dir) in list {
                kill_group_and_wait(pgid, None, Duration::from_secs(2));
                if let Some(d) = dir {
                    let _ = std::fs::remove_dir_all(d);
                }
            }
            eprintln!("smoke: interrupted; sendmail stopped");
            std::process::exit(130);
        });
    });
}

/// Registers a directory for removal on interrupt (the smoke directory).
pub(crate) fn register_dir(dir: &Path) {
    if let Ok(mut l) = CLEANUP.lock() {
        l.push((0, Some(dir.to_path_buf())));
    }
}

pub(crate) fn unregister_dir(dir: &Path) {
    if let Ok(mut l) = CLEANUP.lock() {
        l.retain(|(pgid, d)| *pgid != 0 || d.as_deref() != Some(dir));
    }
}

fn register_group(pgid: i32) {
    if let Ok(mut l) = CLEANUP.lock() {
        l.insert(0, (pgid, None));
    }
}

fn unregister_group(pgid: i32) {
    crate::proc::unregister(pgid);
    if let Ok(mut l) = CLEANUP.lock() {
        l.retain(|(p, _)| *p != pgid);
    }
}

/// SIGTERM to the group, SIGKILL after `grace`; waits (bounded) until no
/// process of the group is left, reaping the leader on the way when we
/// have it (an unreaped leader still counts as a member of its group).
fn kill_group_and_wait(pgid: i32, mut leader: Option<&mut Child>, grace: Duration) -> bool {
    if pgid <= 1 {
        return true;
    }
    let mut wait = |limit: Duration| {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(c) = leader.as_deref_mut() {
                let _ = c.try_wait();
            }
            if !group_alive(pgid) || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    kill_group(pgid, libc::SIGTERM);
    wait(grace);
    if group_alive(pgid) {
        kill_group(pgid, libc::SIGKILL);
        wait(Duration::from_secs(5));
    }
    !group_alive(pgid)
}

/// Makes the child start in a new UTS namespace whose host name is `name`
/// (Linux; needs CAP_SYS_ADMIN, i.e. root).
#[cfg(target_os = "linux")]
fn private_host_name(cmd: &mut Command, name: &str) -> Result<()> {
    let name = std::ffi::CString::new(name)?;
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWUTS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::sethostname(name.as_ptr(), name.as_bytes().len()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn private_host_name(_cmd: &mut Command, _name: &str) -> Result<()> {
    bail!("private host names need Linux UTS namespaces")
}

/// The most any file the daemon writes may hold (its log, queue files).
pub(crate) const MAX_FILE_BYTES: u64 = 64 << 20;

/// How the daemon was started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum HostName {
    /// In a private UTS namespace with this fully qualified host name.
    Private(String),
    /// With the machine's own host name.
    Machine(String),
}

/// A running `sendmail -bD`; stopped when dropped.
pub struct Daemon {
    child: Child,
    pid: i32,
    pub log: PathBuf,
    pub(crate) host_name: HostName,
    stopped: bool,
}

/// What stopping found.
#[derive(Clone, Debug)]
pub struct Stopped {
    pub pid: i32,
    pub status: String,
    pub(crate) group_gone: bool,
}

impl Daemon {
    /// Starts `BINARY -bD -C CF`, output to `log`. When the machine's host
    /// name is unqualified and we may, the daemon gets a private UTS
    /// namespace named `host` so that it does not sleep 60 s first.
    pub fn start(binary: &Path, cf: &Path, log: &Path, host: &str) -> Result<Daemon> {
        install_interrupt_handler();
        let machine = host_name();
        if cfg!(target_os = "linux") && host_name_is_unqualified(&machine) {
            match Self::spawn(binary, cf, log, Some(host)) {
                Ok(d) => return Ok(d),
                Err(e) => crate::progress::info(&format!(
                    "could not give sendmail a private host name ({e:#}); the host name {machine:?} is not fully \
                     qualified, so sendmail sleeps 60 s before it listens (needs root with CAP_SYS_ADMIN, or set a fully qualified \
                     host name)"
                )),
            }
        }
        Self::spawn(binary, cf, log, None)
    }

    fn spawn(binary: &Path, cf: &Path, log: &Path, private: Option<&str>) -> Result<Daemon> {
        let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new(binary);
        cmd.arg("-bD").arg("-C").arg(cf).stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        // Its own group that dies with us; no file it writes (its log
        // included) grows past the cap, whatever it prints.
        crate::proc::own_group(&mut cmd);
        crate::proc::cap_file_size(&mut cmd, MAX_FILE_BYTES);
        if let Some(name) = private {
            private_host_name(&mut cmd, name)?;
        }
        let child = cmd.spawn().with_context(|| format!("starting {} -bD -C {}", binary.display(), cf.display()))?;
        let pid = child.id() as i32;
        register_group(pid);
        crate::proc::register(pid);
        let host_name = match private {
            Some(h) => HostName::Private(h.to_string()),
            None => HostName::Machine(host_name()),
        };
        Ok(Daemon { child, pid, log: log.to_path_buf(), host_name, stopped: false })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Waits until every address accepts a connection; fails early if the
    /// daemon exits, and after `timeout`.
    pub fn wait_ready(&mut self, addrs: &[SocketAddr], timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut pending: Vec<SocketAddr> = addrs.to_vec();
        while !pending.is_empty() {
            if let Some(status) = self.child.try_wait()? {
                self.stopped = true;
                unregister_group(self.pid);
                if INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst) {
                    bail!("interrupted; sendmail (pid {}) stopped", self.pid);
                }
                bail!("sendmail exited before it listened ({status}); its output:\n{}", self.log_tail());
            }
            pending.retain(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_err());
            if pending.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "sendmail (pid {}) did not accept connections on {} within {} s; its output:\n{}",
                    self.pid,
                    pending.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
                    timeout.as_secs(),
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    pub(crate) fn log_tail(&self) -> String {
        let t = crate::build::tail(&self.log, 20);
        if t.trim().is_empty() {
            "    (nothing; sendmail logs to syslog)".into()
        } else {
            t
        }
    }

    /// Stops the daemon and everything it forked (SIGTERM to its process
    /// group, SIGKILL after 5 s) and reaps it.
    pub fn stop(&mut self) -> Stopped {
        let group_gone = if self.stopped {
            true
        } else {
            kill_group_and_wait(self.pid, Some(&mut self.child), Duration::from_secs(5))
        };
        let status = match self.child.try_wait() {
            Ok(Some(s)) => s.to_string(),
            _ => {
                let _ = self.child.kill();
                self.child.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string())
            }
        };
        let group_gone = group_gone && !group_alive(self.pid);
        self.stopped = true;
        unregister_group(self.pid);
        Stopped { pid: self.pid, status, group_gone }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if !self.stopped {
            self.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_name_qualification() {
        assert!(host_name_is_unqualified("vm"));
        assert!(!host_name_is_unqualified("smoke.smtls.test"));
        assert!(!host_name().is_empty());
    }

    #[test]
    fn free_ports_are_distinct() {
        // Held together while chosen, so never the same port twice. (That a
        // port is still free when sendmail binds it is proven by the smoke
        // integration tests; re-binding here raced other tests' sockets.)
        for _ in 0..20 {
            let p = free_ports(3).unwrap();
            assert!(p.iter().all(|&x| x > 0), "{p:?}");
            assert!(p[0] != p[1] && p[1] != p[2] && p[0] != p[2], "{p:?}");
        }
    }

    #[test]
    fn a_process_group_is_stopped_with_its_children() {
        // A real stand-in daemon: a shell that forks a child and waits.
        let dir = std::env::temp_dir().join(format!("smtls-daemon-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("d.sh");
        std::fs::write(&script, "#!/bin/sh\nsleep 300 &\nsleep 300\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let mut d = Daemon::spawn(&script, Path::new("/dev/null"), &dir.join("log"), None).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(group_alive(d.pid()));
        let s = d.stop();
        assert!(s.group_gone, "{s:?}");
        assert!(!group_alive(s.pid));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! A throwaway Debian bookworm chroot for install tests, so that no test
//! touches the host's dpkg database, users or groups.
//!
//! The base is made once with mmdebstrap from the host's OWN apt sources
//! (the URI of the entry that serves the plain `bookworm` suite; `main`
//! only, no -security or -updates, so a package must install on a plain
//! bookworm), cached as a tarball under `target/` keyed by the sources and
//! the package list, and made under a file lock. Each test unpacks a fresh
//! copy into its own scratch directory.
//!
//! Commands run through `unshare --mount --uts --fork`: /proc is mounted
//! inside a private mount namespace, so the host never sees a mount under
//! the chroot and removing the directory cannot reach through one. A
//! policy-rc.d that exits 101 forbids maintainer scripts to start daemons,
//! as in image builds. Processes left running in the chroot are ended by
//! process id when the chroot is dropped.

use crate::{scratch, tests_root};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The suite and component every test chroot has.
pub const SUITE: &str = "bookworm";
pub const COMPONENT: &str = "main";

/// Packages in the base beyond mmdebstrap's `apt` variant: an init system
/// (sysvinit: systemd cannot run in a chroot, and without any init
/// invoke-rc.d refuses every action), and what the tests run inside (not
/// what the .deb depends on: apt resolves that, as on a user's machine).
pub const BASE_PACKAGES: &[&str] = &["sysvinit-core", "ca-certificates", "openssl", "procps"];

/// The URI of the host's apt entry that serves `suite` itself, from deb822
/// `.sources` text (`Types: deb`, `Suites:` containing the suite).
pub fn uri_from_deb822(text: &str, suite: &str) -> Option<String> {
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim().eq_ignore_ascii_case(name)).then(|| v.trim().to_string())
            })
        };
        let types = field("Types").unwrap_or_default();
        let suites = field("Suites").unwrap_or_default();
        if types.split_whitespace().any(|t| t == "deb") && suites.split_whitespace().any(|s| s == suite) {
            if let Some(uri) = field("URIs").and_then(|u| u.split_whitespace().next().map(str::to_string)) {
                return Some(uri);
            }
        }
    }
    None
}

/// The same from one-line `sources.list` text: `deb [opts] URI SUITE COMP...`.
pub fn uri_from_list(text: &str, suite: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let l = l.split('#').next()?.trim();
        let mut w = l.split_whitespace().peekable();
        if w.next()? != "deb" {
            return None;
        }
        if w.peek()?.starts_with('[') {
            while !w.next()?.ends_with(']') {}
        }
        let uri = w.next()?;
        (w.next()? == suite).then(|| uri.to_string())
    })
}

/// The host's mirror for the plain suite, read from its apt configuration.
pub fn host_mirror(suite: &str) -> Result<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("/etc/apt/sources.list.d")
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files.insert(0, PathBuf::from("/etc/apt/sources.list"));
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        let name = f.to_string_lossy();
        let found = if name.ends_with(".sources") {
            uri_from_deb822(&text, suite)
        } else if name.ends_with(".list") {
            uri_from_list(&text, suite)
        } else {
            None
        };
        if let Some(uri) = found {
            return Ok(uri);
        }
    }
    bail!("no apt source of this host serves the suite {suite} (looked in /etc/apt/sources.list and sources.list.d)")
}

/// Fails the calling test with the reason when the chroot tests cannot run
/// here: a run that did not test something must not report it as passed.
pub fn require() {
    if let Some(why) = unavailable() {
        panic!("this test cannot run here: {why}; run the suite as root with `cargo xtask test`");
    }
}

/// Why a chroot test cannot run here, if it cannot.
pub fn unavailable() -> Option<String> {
    if !xtask::tools::is_root() {
        return Some("chroot tests need root (mmdebstrap, chroot, unshare)".into());
    }
    for tool in ["mmdebstrap", "unshare", "chroot", "tar"] {
        if which::which(tool).is_err() {
            return Some(format!("{tool} is not installed (cargo xtask setup installs it)"));
        }
    }
    None
}

/// The cached base tarball, made once (under a lock) from the host's mirror.
pub fn base_tarball() -> Result<PathBuf> {
    cached_tarball("apt", BASE_PACKAGES)
}

/// A bookworm tarball of mmdebstrap's `variant` plus `packages`, made once
/// (under a lock) from the host's mirror and cached under `target/`, keyed
/// by the mirror, suite, component, package list and variant. The
/// `buildd` variant holds build-essential: with the Build-Depends, what a
/// build farm's chroot holds.
pub fn cached_tarball(variant: &str, packages: &[&str]) -> Result<PathBuf> {
    let mirror = host_mirror(SUITE)?;
    let key = {
        use sha2::Digest;
        let text = format!("{mirror}\n{SUITE}\n{COMPONENT}\n{}\nvariant={variant}\n", packages.join(","));
        sha2::Sha256::digest(text.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect::<String>()
    };
    let dir = tests_root().join("chroot");
    std::fs::create_dir_all(&dir)?;
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("base.lock"))?;
    lock.lock().context("locking the chroot base")?;
    let name = if variant == "apt" { SUITE.to_string() } else { format!("{SUITE}-{variant}") };
    let tarball = dir.join(format!("{name}-{key}.tar"));
    if tarball.is_file() {
        return Ok(tarball);
    }
    let partial = dir.join(format!(".{name}-{key}.tar.partial-{}", std::process::id()));
    eprintln!("making the {name} chroot with mmdebstrap (once; about two minutes)");
    let out = Command::new("mmdebstrap")
        .args([&format!("--variant={variant}"), "--mode=root", "--format=tar", "--aptopt=Acquire::Languages \"none\""])
        .arg(format!("--include={}", packages.join(",")))
        .arg(format!("--components={COMPONENT}"))
        .arg(SUITE)
        .arg(&partial)
        .arg(format!("deb {mirror} {SUITE} {COMPONENT}"))
        .stdin(Stdio::null())
        .output()
        .context("running mmdebstrap")?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&partial);
        bail!("mmdebstrap failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    std::fs::rename(&partial, &tarball)?;
    Ok(tarball)
}

/// One throwaway chroot, removed on drop.
pub struct Chroot {
    dir: PathBuf,
    pub root: PathBuf,
    /// The fully qualified host name commands see (private UTS namespace).
    pub hostname: String,
}

impl Chroot {
    /// A fresh chroot from the base, in scratch directory `name`; apt lists
    /// refreshed (mmdebstrap removes them), policy-rc.d forbidding daemons.
    pub fn new(name: &str) -> Result<Chroot> {
        let c = Chroot::unpack(name, &base_tarball()?)?;
        c.write("/usr/sbin/policy-rc.d", "#!/bin/sh\nexit 101\n", 0o755)?;
        c.ok("apt-get update -q")?;
        Ok(c)
    }

    /// A fresh chroot from `base` (a [`cached_tarball`]) in scratch
    /// directory `name`, as it is: no apt lists, nothing added.
    pub fn unpack(name: &str, base: &Path) -> Result<Chroot> {
        let dir = scratch(name);
        let root = dir.join("root");
        std::fs::create_dir(&root)?;
        let out = Command::new("tar")
            .args(["-x", "-p", "--same-owner", "--numeric-owner", "-f"])
            .arg(base)
            .arg("-C")
            .arg(&root)
            .output()?;
        if !out.status.success() {
            bail!("unpacking {}: {}", base.display(), String::from_utf8_lossy(&out.stderr));
        }
        Ok(Chroot { dir, root, hostname: "mx.smtls-test.example".into() })
    }

    /// A path inside the chroot, as the host sees it.
    pub fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    pub fn write(&self, inside: &str, text: &str, mode: u32) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let p = self.path(inside);
        std::fs::create_dir_all(p.parent().unwrap())?;
        std::fs::write(&p, text)?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))?;
        Ok(())
    }

    pub fn read(&self, inside: &str) -> Result<String> {
        std::fs::read_to_string(self.path(inside)).with_context(|| format!("reading {inside} in the chroot"))
    }

    /// Copies a host file into the chroot; returns its path inside.
    pub fn copy_in(&self, host: &Path, inside_dir: &str) -> Result<String> {
        let name = host.file_name().context("a file name")?.to_string_lossy().to_string();
        let inside = format!("{}/{name}", inside_dir.trim_end_matches('/'));
        std::fs::create_dir_all(self.path(inside_dir))?;
        std::fs::copy(host, self.path(&inside)).with_context(|| format!("copying {}", host.display()))?;
        Ok(inside)
    }

    fn command(&self, script: &str, private_net: bool, private_pids: bool) -> Command {
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--uts", "--fork"]);
        if private_net {
            cmd.arg("--net");
        }
        if private_pids {
            cmd.arg("--pid");
        }
        let lo = if private_net { "ip link set lo up && " } else { "" };
        cmd.args(["--", "/bin/sh", "-c"])
            .arg(format!(
                "mount -t proc proc \"$1/proc\" && hostname \"$2\" && {lo}exec chroot \"$1\" /bin/sh -c \"$3\""
            ))
            .arg("sh")
            .arg(&self.root)
            .arg(&self.hostname)
            .arg(script)
            .env_clear()
            .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .env("LC_ALL", "C.UTF-8")
            .env("HOME", "/root")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `script` with /bin/sh inside, sharing the host's network (apt).
    pub fn run(&self, script: &str) -> Result<Output> {
        self.command(script, false, false).output().context("running unshare")
    }

    /// [`Chroot::ok`] in a PID namespace of its own: the /proc inside shows
    /// only the script's processes, so a maintainer script that stops
    /// daemons by name (Debian's sendmail-bin postinst ends with
    /// `start-stop-daemon --stop --name sendmail`) cannot reach another
    /// test's daemon or the host's. Whatever it leaves running ends with it.
    pub fn ok_alone(&self, script: &str) -> Result<String> {
        let out = self.command(script, false, true).output().context("running unshare")?;
        check(script, out)
    }

    /// The same in a private network namespace with only 127.0.0.1, so a
    /// daemon on port 25 cannot meet another test's or the host's.
    pub fn run_isolated(&self, script: &str) -> Result<Output> {
        self.command(script, true, false).output().context("running unshare")
    }

    /// Runs `script` inside the namespaces of process `pid` (a daemon
    /// started by [`Chroot::run_isolated`]), in the chroot.
    pub fn run_beside(&self, pid: u32, script: &str) -> Result<Output> {
        Command::new("nsenter")
            .args(["--target", &pid.to_string(), "--mount", "--uts", "--net", "--"])
            .arg("chroot")
            .arg(&self.root)
            .args(["/bin/sh", "-c", script])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("LC_ALL", "C.UTF-8")
            .env("HOME", "/root")
            .stdin(Stdio::null())
            .output()
            .context("running nsenter")
    }

    /// [`Chroot::run`], failing with the transcript unless it succeeded;
    /// returns stdout and stderr together, and echoes them.
    pub fn ok(&self, script: &str) -> Result<String> {
        let out = self.run(script)?;
        check(script, out)
    }

    /// Processes whose root directory is this chroot.
    pub fn processes(&self) -> Vec<u32> {
        let root = std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        let mut found = vec![];
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
            if std::fs::read_link(e.path().join("root")).is_ok_and(|r| r == root) {
                found.push(pid);
            }
        }
        found
    }
}

/// The transcript of a command: `# script` then its output.
pub fn check(script: &str, out: Output) -> Result<String> {
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("chroot# {script}\n{said}");
    if !out.status.success() {
        bail!("`{script}` failed in the chroot ({}):\n{said}", out.status);
    }
    Ok(said)
}

/// Whether any mount of the host's namespace lies under `dir`.
fn mounted_under(dir: &Path) -> bool {
    let dir = dir.to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| m == dir || m.starts_with(&format!("{dir}/")))
}

impl Drop for Chroot {
    fn drop(&mut self) {
        for pid in self.processes() {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        for _ in 0..50 {
            if self.processes().is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if mounted_under(&self.dir) {
            eprintln!("NOT removing {}: something is still mounted under it", self.dir.display());
            return;
        }
        if std::env::var_os("SMTLS_KEEP_CHROOT").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_from_deb822() {
        let t = "Types: deb\nURIs: http://m.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n\
                 Types: deb\nURIs: http://m.example/debian-security\nSuites: bookworm-security\nComponents: main\n";
        assert_eq!(uri_from_deb822(t, "bookworm").as_deref(), Some("http://m.example/debian"));
        assert_eq!(uri_from_deb822(t, "bookworm-security").as_deref(), Some("http://m.example/debian-security"));
        assert_eq!(uri_from_deb822(t, "trixie"), None);
        assert_eq!(uri_from_deb822("Types: deb-src\nURIs: http://x\nSuites: bookworm\n", "bookworm"), None);
    }

    #[test]
    fn mirror_from_list() {
        let t = "# comment\ndeb-src http://src.example/debian bookworm main\n\
                 deb [arch=amd64 signed-by=/k.gpg] http://m.example/debian bookworm main\n";
        assert_eq!(uri_from_list(t, "bookworm").as_deref(), Some("http://m.example/debian"));
        assert_eq!(uri_from_list("deb http://a.example/d bookworm-updates main\n", "bookworm"), None);
    }
}

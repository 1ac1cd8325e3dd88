//! The SMTP AUTH backend of the smoke test: a private Cyrus SASL setup (a
//! sasldb holding one throwaway account, and the application
//! configuration `Sendmail.conf`) in the smoke directory, found by
//! sendmail without any system-wide file.
//!
//! How sendmail finds `Sendmail.conf` (8.18.2, read in sendmail/main.c,
//! srvrsmtp.c, readcf.c and usersmtp.c): the server calls
//! `sasl_server_init(srvcallbacks, "Sendmail")` with only the VERIFYFILE
//! and PROXY_POLICY callbacks, no SASL_CB_GETCONFPATH, so Cyrus SASL
//! searches its default configuration path: `$SASL_CONF_PATH` when the
//! process is not set-ID (`getuid() == geteuid() && getgid() == getegid()`,
//! lib/common.c), else the compiled-in list (`/etc/sasl2:/etc/sasl:
//! /usr/lib/x86_64-linux-gnu/sasl2:/usr/lib/sasl2` on Debian 12). sendmail
//! empties its own environment at start ("clear sendmail's environment"),
//! so the variable cannot come from the caller; but an `E` line in
//! sendmail.cf (`ESASL_CONF_PATH=DIR`) is put back into sendmail's own
//! environment by readcf (`sm_setuserenv`, which calls `putenv`) before
//! `sasl_server_init` runs. sendmail's own cf sets `OPENSSL_CONF` the same
//! way (`confOPENSSL_CNF`). No `_FFR_` knob or `confAUTH_` option names the
//! file. A set-ID binary (the FreeBSD port installs sendmail 2555
//! root:smmsp) would make Cyrus ignore the variable, but `-C FILE`, which
//! the smoke test always passes, drops sendmail's set-ID privileges to the
//! real uid and gid first (main.c, `case 'C'`: `drop_privileges(true)`).

use super::material::{Problem, Stat};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The Cyrus SASL application name sendmail registers: its configuration
/// file is `<APP>.conf`.
pub(crate) const APP: &str = "Sendmail";
/// The mechanisms offered, in `confAUTH_MECHANISMS` and `mech_list` alike.
pub(crate) const MECHANISMS: [&str; 3] = ["PLAIN", "LOGIN", "CRAM-MD5"];
/// The mechanisms that send the password in the clear (Cyrus marks them
/// NOPLAINTEXT-unsafe): with `p` they are offered only inside TLS.
pub(crate) const PLAINTEXT: [&str; 2] = ["PLAIN", "LOGIN"];
/// `A`: the AUTH= parameter of MAIL only from authenticated clients; `p`:
/// no plaintext mechanism without a security layer (TLS); `y`: no
/// anonymous mechanism.
pub(crate) const AUTH_OPTIONS: &str = "A p y";
/// The test account's user name (its realm is the server's `$j`).
pub(crate) const USER: &str = "smoke";

/// The throwaway account: `user@realm` in the sasldb.
#[derive(Clone, Debug)]
pub struct Account {
    pub user: String,
    pub realm: String,
    pub password: String,
}

impl Account {
    /// A new account with a random 24-hex-digit password.
    pub fn new(realm: &str) -> Result<Account> {
        let mut bytes = [0u8; 12];
        rustls::crypto::ring::default_provider()
            .secure_random
            .fill(&mut bytes)
            .map_err(|_| anyhow::anyhow!("the system random number generator failed"))?;
        let password = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Account { user: USER.into(), realm: realm.into(), password })
    }

    /// A password that is certainly not the account's.
    pub(crate) fn wrong_password(&self) -> String {
        format!("{}-wrong", self.password)
    }
}

/// Where the SASL files live: one private directory.
#[derive(Clone, Debug)]
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn new(dir: PathBuf) -> Layout {
        Layout { dir }
    }
    pub(crate) fn conf_file(&self) -> PathBuf {
        self.dir.join(format!("{APP}.conf"))
    }
    pub fn sasldb(&self) -> PathBuf {
        self.dir.join("sasldb2")
    }
}

/// The Cyrus SASL application configuration: passwords checked by the
/// auxprop plugin `sasldb` in our file, and only our mechanisms loaded.
pub(crate) fn app_conf(sasldb: &Path, mechanisms: &[&str]) -> String {
    format!(
        "# smtls smoke test: generated, do not edit\n\
         pwcheck_method: auxprop\n\
         auxprop_plugin: sasldb\n\
         sasldb_path: {}\n\
         mech_list: {}\n",
        sasldb.display(),
        mechanisms.join(" ")
    )
}

/// Creates the directory (0700), the sasldb with the account
/// (`saslpasswd2 -f FILE -c -p -u REALM USER`, the password on stdin; then
/// 0600) and the configuration (0644).
pub fn install(layout: &Layout, account: &Account, saslpasswd2: &Path) -> Result<()> {
    std::fs::create_dir(&layout.dir).with_context(|| format!("creating {}", layout.dir.display()))?;
    std::fs::set_permissions(&layout.dir, std::fs::Permissions::from_mode(0o700))?;
    let db = layout.sasldb();
    let mut child = Command::new(saslpasswd2)
        .arg("-f")
        .arg(&db)
        .args(["-c", "-p", "-u", &account.realm, &account.user])
        // saslpasswd2 is a SASL application too: it reads no system file.
        .env("SASL_CONF_PATH", &layout.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", saslpasswd2.display()))?;
    child.stdin.take().context("saslpasswd2 stdin")?.write_all(account.password.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() || !db.is_file() {
        bail!(
            "{} -f {} -c -p -u {} {} failed ({}): {}",
            saslpasswd2.display(),
            db.display(),
            account.realm,
            account.user,
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600))?;
    let conf = layout.conf_file();
    crate::util::write_atomic(&conf, app_conf(&db, &MECHANISMS).as_bytes())?;
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644))?;
    Ok(())
}

/// What a SASL file is, which decides sendmail's rules for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The directory holding both files (on the configuration path).
    Dir,
    /// The application configuration: nobody else may change it.
    Conf,
    /// The password database: nobody else may even read it.
    Sasldb,
}

/// What `stat` said about one SASL file (None: missing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Facts {
    pub path: PathBuf,
    pub kind: Kind,
    pub stat: Option<Stat>,
}

/// Judges the SASL files by sendmail's `safesaslfile` rules
/// (sendmail/usersmtp.c: SFF_SAFEDIRPATH, no group- or world-writable
/// files, and for password files (SASL_VRFY_PASSWD) no group- or
/// world-readable ones unless DontBlameSendmail says
/// GroupReadableSASLDBFile), for a daemon running as `euid`. (Cyrus SASL
/// 2.1.28 checks the sasldb once, at plugin initialisation, with its own
/// always-yes callback instead of sendmail's: a 0640 sasldb was accepted
/// when tried by hand. The documented rule is enforced here all the same.)
pub(crate) fn judge(facts: &[Facts], euid: u32) -> Vec<Problem> {
    let mut problems = vec![];
    for f in facts {
        let shown = f.path.display();
        let mut problem = |what: String, fix: String| problems.push(Problem { path: f.path.clone(), what, fix });
        let Some(st) = f.stat else {
            problem("missing".into(), "create it (see the smoke output above)".into());
            continue;
        };
        let perm = st.mode & 0o7777;
        match f.kind {
            Kind::Dir if !st.is_dir => problem("not a directory".into(), format!("make {shown} a directory")),
            Kind::Dir if perm & 0o022 != 0 => problem(
                format!("group- or world-writable directory (mode {perm:04o}): sendmail refuses the SASL files in it"),
                format!("chmod go-w {shown}"),
            ),
            Kind::Dir => {}
            _ if !st.is_file => problem("not a regular file".into(), format!("make {shown} a regular file")),
            Kind::Sasldb if perm & 0o077 != 0 => problem(
                format!(
                    "password database accessible to group or others (mode {perm:04o}): sendmail refuses \
                     group- or world-readable SASL password files"
                ),
                format!("chmod 600 {shown}"),
            ),
            _ if perm & 0o022 != 0 => problem(
                format!("writable by group or others (mode {perm:04o}): sendmail refuses it"),
                format!("chmod go-w {shown}"),
            ),
            _ => {}
        }
        if st.uid != euid && st.uid != 0 {
            problem(
                format!("owned by uid {}, not by root or the user running sendmail (uid {euid})", st.uid),
                format!("chown {euid} {shown}"),
            );
        }
    }
    problems
}

/// Collects the facts for the installed files (the edge: stat calls).
pub(crate) fn inspect(layout: &Layout) -> Vec<Facts> {
    let stat = |p: &Path| {
        std::fs::metadata(p).ok().map(|m| Stat {
            mode: m.mode(),
            uid: m.uid(),
            is_dir: m.is_dir(),
            is_file: m.is_file(),
        })
    };
    [(layout.dir.clone(), Kind::Dir), (layout.conf_file(), Kind::Conf), (layout.sasldb(), Kind::Sasldb)]
        .into_iter()
        .map(|(path, kind)| {
            let stat = stat(&path);
            Facts { path, kind, stat }
        })
        .collect()
}

/// Every check on the installed SASL files; empty when sendmail will use them.
pub fn check(layout: &Layout) -> Vec<Problem> {
    judge(&inspect(layout), unsafe { libc::geteuid() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(path: &str, kind: Kind, mode: u32, uid: u32) -> Facts {
        let is_dir = kind == Kind::Dir;
        Facts { path: path.into(), kind, stat: Some(Stat { mode, uid, is_dir, is_file: !is_dir }) }
    }

    fn good() -> Vec<Facts> {
        vec![
            fact("/s/sasl", Kind::Dir, 0o40700, 0),
            fact("/s/sasl/Sendmail.conf", Kind::Conf, 0o100644, 0),
            fact("/s/sasl/sasldb2", Kind::Sasldb, 0o100600, 0),
        ]
    }

    #[test]
    fn the_app_conf_names_our_sasldb_and_mechanisms() {
        let c = app_conf(Path::new("/s/sasl/sasldb2"), &MECHANISMS);
        for want in [
            "pwcheck_method: auxprop",
            "auxprop_plugin: sasldb",
            "sasldb_path: /s/sasl/sasldb2",
            "mech_list: PLAIN LOGIN CRAM-MD5",
        ] {
            assert!(c.lines().any(|l| l == want), "missing {want}:\n{c}");
        }
        assert_eq!(Layout::new("/s/sasl".into()).conf_file(), Path::new("/s/sasl/Sendmail.conf"));
    }

    #[test]
    fn accounts_get_fresh_passwords() {
        let (a, b) = (Account::new("r").unwrap(), Account::new("r").unwrap());
        assert_eq!(a.password.len(), 24);
        assert!(a.password.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.password, b.password);
        assert_ne!(a.wrong_password(), a.password);
        assert_eq!((a.user.as_str(), a.realm.as_str()), ("smoke", "r"));
    }

    #[test]
    fn the_private_layout_passes_and_a_readable_sasldb_does_not() {
        assert_eq!(judge(&good(), 0), vec![]);
        let mut f = good();
        f[2] = fact("/s/sasl/sasldb2", Kind::Sasldb, 0o100640, 0);
        let p = judge(&f, 0);
        assert_eq!(p.len(), 1, "{p:?}");
        let s = p[0].to_string();
        assert!(s.starts_with("/s/sasl/sasldb2: password database") && s.contains("mode 0640"), "{s}");
        assert!(s.ends_with("fix: chmod 600 /s/sasl/sasldb2"), "{s}");
    }

    #[test]
    fn writable_files_and_directories_foreign_owners_and_missing_files_are_refused() {
        let mut f = good();
        f[0] = fact("/s/sasl", Kind::Dir, 0o40777, 0);
        assert!(judge(&f, 0)[0].what.starts_with("group- or world-writable directory"));
        let mut f = good();
        f[1] = fact("/s/sasl/Sendmail.conf", Kind::Conf, 0o100664, 0);
        assert!(judge(&f, 0)[0].what.starts_with("writable by group or others"));
        let mut f = good();
        f[2] = fact("/s/sasl/sasldb2", Kind::Sasldb, 0o100600, 1000);
        assert!(judge(&f, 0)[0].what.contains("owned by uid 1000"));
        assert_eq!(judge(&f, 1000), vec![]);
        let mut f = good();
        f[2].stat = None;
        assert_eq!(judge(&f, 0)[0].what, "missing");
    }
}

//! The data of the stage: layouts, entries and their origin, and the
//! invariants every packager relies on.

use super::layout::{self, Configs, Layout, LibDir};
use crate::meta;
use anyhow::{bail, Result};
use std::path::{Component, Path, PathBuf};

/// Which system the tree is laid out for.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// Debian and derivatives: PREFIX /usr, Debian's own sendmail paths.
    Debian,
    /// FreeBSD packages: PREFIX /usr/local.
    #[value(name = "freebsd")]
    #[serde(rename = "freebsd")]
    FreeBsd,
    /// RPM distributions (Fedora, RHEL/EPEL rebuilds, openSUSE): PREFIX /usr.
    Rpm,
}

impl Target {
    /// The layout's data: the one place a layout is matched.
    pub fn layout(self) -> &'static Layout {
        match self {
            Target::Debian => &layout::DEBIAN,
            Target::FreeBsd => &layout::FREEBSD,
            Target::Rpm => &layout::RPM,
        }
    }

    pub fn prefix(self) -> &'static str {
        self.layout().prefix
    }

    pub fn name(self) -> &'static str {
        self.layout().name
    }

    /// The target of this host: FreeBSD on FreeBSD, Debian everywhere else.
    pub fn host() -> Target {
        if std::env::consts::OS == "freebsd" {
            Target::FreeBsd
        } else {
            Target::Debian
        }
    }

    /// The group of root-owned files (gid 0).
    pub fn root_group(self) -> &'static str {
        self.layout().root_group
    }

    /// Mode of an ordinary program.
    pub fn program_mode(self) -> u32 {
        self.layout().program_mode
    }

    /// Mode of data files and manual pages.
    pub fn data_mode(self) -> u32 {
        self.layout().data_mode
    }

    /// Helper programs not meant for PATH (sendmail itself on Debian,
    /// mail.local, smrsh).
    pub fn libexec(self) -> &'static str {
        self.layout().libexec
    }

    pub fn man_dir(self) -> PathBuf {
        Path::new(self.prefix()).join("share/man")
    }

    /// The cf tree (m4 macros for building .cf files).
    pub fn cf_dir(self) -> PathBuf {
        Path::new(self.prefix()).join("share/sendmail/cf")
    }

    /// Where libraries go. `multiarch` is Debian's tuple, e.g. x86_64-linux-gnu.
    pub fn lib_dir(self, multiarch: Option<&str>) -> Result<PathBuf> {
        match (self.layout().lib_dir, multiarch) {
            (LibDir::Multiarch { base }, Some(m)) => Ok(Path::new(base).join(m)),
            (LibDir::Multiarch { .. }, None) => {
                bail!("no Debian multiarch tuple is known for this host, so the library directory is unknown")
            }
            (LibDir::Fixed(d), _) => Ok(PathBuf::from(d)),
        }
    }

    /// Where C headers go.
    pub fn include_dir(self) -> PathBuf {
        Path::new(self.prefix()).join("include")
    }

    /// The package's documentation, `PREFIX/share/doc/<doc_name>`.
    pub fn doc_dir(self) -> PathBuf {
        Path::new(self.prefix()).join("share/doc").join(self.layout().doc_name)
    }

    /// Where a sendmail configuration file (`sendmail.mc` ...) is
    /// installed: a conffile at its place, or `PREFIX/DIR/NAME.sample` for
    /// the administrator to build the real one from ([`Configs`]).
    pub fn mail_config(self, name: &str) -> PathBuf {
        match self.layout().configs {
            Configs::Conffiles { dir } => Path::new(dir).join(name),
            Configs::Samples { dir } => Path::new(self.prefix()).join(dir).join(format!("{name}.sample")),
        }
    }

    /// The file rc.subr reads for the sendmail service (FreeBSD only); the
    /// package installs it as `.sample`, and its install script copies it
    /// to this name unless it exists (what the port's `@sample` does).
    pub fn rc_conf_d(self) -> Option<PathBuf> {
        self.layout().rc_conf_d.map(PathBuf::from)
    }

    /// The version string the package carries (`revision`: the Debian
    /// revision, where the layout's packages carry one).
    pub fn package_version(self, upstream: &str, revision: &str) -> String {
        if self.layout().versioned_with_revision {
            meta::debian_version(upstream, revision)
        } else {
            upstream.to_string()
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an entry is and where its bytes come from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Kind {
    /// A file, copied from `source`.
    File {
        source: PathBuf,
    },
    /// A configuration file (under /etc): upgrades keep local edits.
    Config {
        source: PathBuf,
    },
    Dir,
    /// A symbolic link; `target` is written as is (relative where possible).
    Symlink {
        target: PathBuf,
    },
}

/// Where an entry comes from: the one answer to "how is this file made?",
/// read by generation (`generate`) and by the FreeBSD port generator.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum Origin {
    /// A program sendmail's build makes, `obj./<name>/<name>`, installed
    /// stripped.
    Program { name: String },
    /// A library an option builds (path under `obj.`), installed stripped
    /// like dh_strip strips static libraries.
    Library { built: String },
    /// A man page of the source tree (e.g. `sendmail/sendmail.8`), with
    /// the man page fixes applied, compressed.
    ManPage { page: String },
    /// A file of the source tree installed as shipped (path relative to
    /// the source tree): the cf tree, helpfile, an option's headers.
    Source { rel: PathBuf },
    /// `/etc/mail/<which>.mc` from its template and the TLS stanza.
    Mc { which: String },
    /// `/etc/mail/<which>.cf`, generated with the built tree's m4 from the
    /// `.mc` of the same stem.
    Cf { which: String },
    /// The certificate helper, from its template (`certs::certs_script`).
    CertsScript,
    /// Its manual page (`certs::certs_man_page`), compressed.
    CertsManPage,
    /// dehydrated's hook script (`certs::certs_hook`).
    CertsHook,
    /// A template of `xtask/templates/` without placeholders, as is.
    Template { name: String },
    /// mailwrapper's table for this sendmail (FreeBSD), from its template
    /// with PREFIX filled in.
    MailerConf,
    /// A file of the source tree copied under the doc directory.
    DocCopy { rel: PathBuf },
    /// sendmail's RELEASE_NOTES compressed as the Debian changelog.gz.
    ReleaseNotes,
    /// The Debian changelog of this build (`meta::debian_changelog`), compressed.
    DebianChangelog,
    /// The Debian copyright file (`meta::copyright`) from sendmail's LICENSE.
    Copyright,
    /// A library of a private OpenSSL copied into the package at packaging
    /// time (`--bundle-openssl`), never generated.
    Bundled,
    /// A directory.
    Dir,
    /// A symbolic link.
    Link,
}

impl Origin {
    /// Whether the entry's bytes are made by `generate` (as opposed to
    /// copied from the source tree, or not a file at all).
    pub fn is_generated(&self) -> bool {
        !matches!(self, Origin::Source { .. } | Origin::Bundled | Origin::Dir | Origin::Link)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// Absolute install path.
    pub path: PathBuf,
    #[serde(flatten)]
    pub kind: Kind,
    pub owner: String,
    pub group: String,
    /// Permission bits including setuid/setgid/sticky (e.g. 0o2555).
    pub mode: u32,
    /// The build option that brings this entry (e.g. `milter` for
    /// libmilter.a); none for what every build installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<String>,
    /// How the file is made: what generation does for it, and what the
    /// FreeBSD port does instead.
    pub origin: Origin,
}

impl Entry {
    /// The install path without its leading `/`, e.g. `usr/sbin/sendmail`.
    pub fn relative(&self) -> &Path {
        self.path.strip_prefix("/").unwrap_or(&self.path)
    }

    /// Where a file's bytes come from, for files and config files.
    pub fn source(&self) -> Option<&Path> {
        match &self.kind {
            Kind::File { source } | Kind::Config { source } => Some(source),
            _ => None,
        }
    }

    pub fn is_config(&self) -> bool {
        matches!(self.kind, Kind::Config { .. })
    }

    /// The path of this entry in a staged tree.
    pub fn staged(&self, root: &Path) -> PathBuf {
        root.join(self.relative())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Contents {
    pub target: Target,
    /// Sorted by path; no path twice.
    pub entries: Vec<Entry>,
    /// The build options the staged binaries have (configure's
    /// `options`), for what packages declare beyond the files.
    #[serde(default)]
    pub options: Vec<String>,
}

impl Contents {
    pub fn get(&self, path: impl AsRef<Path>) -> Option<&Entry> {
        let path = path.as_ref();
        self.entries.binary_search_by(|e| e.path.as_path().cmp(path)).ok().map(|i| &self.entries[i])
    }

    pub fn config_files(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.is_config())
    }
}

/// What [`list`] needs to know of the build beyond the source tree: which
/// build options are on (they add files, e.g. libmilter with `milter`) and
/// where libraries go on Debian.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// Build options switched on, in table order.
    pub options: Vec<String>,
    /// Debian's multiarch tuple, e.g. x86_64-linux-gnu (Debian layout only).
    pub multiarch: Option<String>,
}

impl Features {
    pub fn has(&self, option: &str) -> bool {
        self.options.iter().any(|o| o == option)
    }
}

/// `PATH.sample`: how a configuration file the package must not overwrite
/// is shipped on FreeBSD.
pub fn sample_of(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".sample");
    PathBuf::from(s)
}

/// Invariants every packager relies on.
pub fn check(c: &Contents) -> Result<()> {
    for w in c.entries.windows(2) {
        if w[0].path >= w[1].path {
            bail!("contents are not sorted: {} before {}", w[0].path.display(), w[1].path.display());
        }
    }
    for e in &c.entries {
        if !e.path.is_absolute() || e.path.components().any(|c| matches!(c, Component::ParentDir | Component::CurDir)) {
            bail!("{} is not a clean absolute path", e.path.display());
        }
        if e.mode & !0o7777 != 0 {
            bail!("{} has mode {:o}, which has bits beyond 07777", e.path.display(), e.mode);
        }
        if e.is_config() && !e.path.starts_with("/etc") && !e.path.starts_with("/usr/local/etc") {
            bail!("{} is a config file outside /etc", e.path.display());
        }
        // A FreeBSD package installs under PREFIX only: the base system
        // owns /etc/mail, the queues and the certificate directory.
        let prefix = c.target.prefix();
        if c.target.layout().under_prefix_only && !e.path.starts_with(prefix) {
            bail!("{} is outside PREFIX {prefix}: a {} package installs under PREFIX only", e.path.display(), c.target);
        }
    }
    Ok(())
}

//! The layouts as data: one [`Layout`] value per system says where every
//! kind of file goes, who owns it, and how configuration is shipped. The
//! list (`list.rs`), generation, the checks and every format read these
//! values; nothing matches on the layout elsewhere. A new layout (RPM, say)
//! is one new value here and one arm in [`super::Target::layout`].

/// How configuration files are shipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Configs {
    /// Conffiles at their real place (`dir/NAME`): upgrades keep local
    /// edits (Debian's conffiles, RPM's `%config(noreplace)`).
    Conffiles { dir: &'static str },
    /// `PREFIX/dir/NAME.sample` plain files the administrator copies,
    /// because the base system owns the real directory (FreeBSD).
    Samples { dir: &'static str },
}

/// Where an option's libraries go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibDir {
    /// `base/<multiarch tuple>` (Debian's multiarch directory).
    Multiarch { base: &'static str },
    /// A fixed directory.
    Fixed(&'static str),
}

/// A documentation file of the layout and how it is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doc {
    /// The Debian copyright file (`meta::copyright`).
    Copyright,
    /// sendmail's RELEASE_NOTES, compressed.
    ReleaseNotes,
    /// The Debian changelog of this build, compressed.
    DebianChangelog,
    /// A file of the source tree, copied.
    Copy(&'static str),
    /// A text of xtask/templates/, as it is.
    Template(&'static str),
}

/// A service file from its template: (install path, template, mode,
/// shipped as configuration).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    pub path: &'static str,
    pub template: &'static str,
    pub mode: u32,
    pub config: bool,
}

/// Everything that differs between two systems' packages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The name on the command line and in directory names.
    pub name: &'static str,
    pub prefix: &'static str,
    /// The group of root-owned files (gid 0).
    pub root_group: &'static str,
    /// Mode of an ordinary program.
    pub program_mode: u32,
    /// Mode of data files and manual pages.
    pub data_mode: u32,
    /// Helper programs not meant for PATH.
    pub libexec: &'static str,
    pub lib_dir: LibDir,
    /// Each built program installed, and where (a program not named is
    /// not installed, nor its man pages).
    pub programs: &'static [(&'static str, &'static str)],
    /// Names under which sendmail runs in another mode (it looks at argv[0]).
    pub sendmail_links: &'static [&'static str],
    pub configs: Configs,
    /// sendmail's SMTP HELP text, and what the `.mc` names.
    pub helpfile: &'static str,
    /// The `.mc` template of sendmail.mc.
    pub sendmail_mc: &'static str,
    /// mailwrapper's table for this sendmail, if the system has mailwrapper.
    pub mailer_conf: Option<&'static str>,
    /// The file rc.subr reads for the service, shipped as a sample its
    /// install script activates (FreeBSD).
    pub rc_conf_d: Option<&'static str>,
    pub services: &'static [Service],
    /// The queue and certificate directories the package owns: (path,
    /// owner, group, mode). Empty where the base system owns them.
    pub special_dirs: &'static [(&'static str, &'static str, &'static str, u32)],
    /// The documentation under the doc directory, `PREFIX/share/doc/<doc_name>`.
    pub docs: &'static [(&'static str, Doc)],
    pub doc_name: &'static str,
    /// Whether the package lists every parent directory (a .deb does) or
    /// only those it owns (FreeBSD: never /usr/local/sbin).
    pub owns_all_parents: bool,
    /// Directories the package owns, with everything below, beyond the cf
    /// tree, the docs and an option's headers (where it does not own every
    /// parent).
    pub owned_dirs: &'static [&'static str],
    /// Whether every path must be under PREFIX (FreeBSD: the base system
    /// owns /etc/mail, the queues, smmsp).
    pub under_prefix_only: bool,
    /// Whether the package version carries the Debian revision.
    pub versioned_with_revision: bool,
}

pub const DEBIAN: Layout = Layout {
    name: "debian",
    prefix: "/usr",
    root_group: "root",
    // Debian policy wants 0755.
    program_mode: 0o755,
    data_mode: 0o644,
    libexec: "/usr/libexec/sendmail",
    // As libmilter-dev installs libmilter.a, and where the compiler looks first.
    lib_dir: LibDir::Multiarch { base: "/usr/lib" },
    // rmail (the UUCP helper) is a Debian package of its own: left out.
    programs: &[
        ("sendmail", "/usr/libexec/sendmail/sendmail"),
        ("mail.local", "/usr/libexec/sendmail/mail.local"),
        ("smrsh", "/usr/libexec/sendmail/smrsh"),
        ("makemap", "/usr/sbin/makemap"),
        ("editmap", "/usr/sbin/editmap"),
        ("praliases", "/usr/sbin/praliases"),
        ("mailstats", "/usr/sbin/mailstats"),
        ("vacation", "/usr/bin/vacation"),
    ],
    // /usr/sbin/sendmail is what Debian policy requires of an MTA;
    // /usr/lib/sendmail is the traditional compatibility name.
    sendmail_links: &[
        "/usr/sbin/sendmail",
        "/usr/lib/sendmail",
        "/usr/bin/mailq",
        "/usr/bin/newaliases",
        "/usr/sbin/hoststat",
        "/usr/sbin/purgestat",
    ],
    configs: Configs::Conffiles { dir: "/etc/mail" },
    helpfile: "/etc/mail/helpfile",
    sendmail_mc: "sendmail-debian.mc.in",
    mailer_conf: None,
    rc_conf_d: None,
    // The maintainer scripts find the units and the init script in the
    // contents list.
    services: &[
        Service { path: "/etc/init.d/sendmail", template: "sendmail.init", mode: 0o755, config: true },
        Service {
            path: "/lib/systemd/system/sendmail.service",
            template: "sendmail.service",
            mode: 0o644,
            config: false,
        },
        Service {
            path: "/lib/systemd/system/sm-msp-queue.service",
            template: "sm-msp-queue.service",
            mode: 0o644,
            config: false,
        },
    ],
    special_dirs: &[
        ("/etc/mail/certs", "root", "root", 0o755),
        ("/var/spool/clientmqueue", "smmsp", "smmsp", 0o770),
        ("/var/spool/mqueue", "root", "root", 0o700),
    ],
    docs: &[
        ("copyright", Doc::Copyright),
        ("changelog.gz", Doc::ReleaseNotes),
        ("changelog.Debian.gz", Doc::DebianChangelog),
        // Where the certificate helper and ACME renewals are described.
        ("README.Debian", Doc::Template("README.Debian")),
    ],
    // Debian Policy 12.3: /usr/share/doc/<package>.
    doc_name: crate::meta::PACKAGE_NAME,
    owns_all_parents: true,
    owned_dirs: &[],
    under_prefix_only: false,
    versioned_with_revision: true,
};

pub const FREEBSD: Layout = Layout {
    name: "freebsd",
    prefix: "/usr/local",
    root_group: "wheel",
    // The ports framework installs BINMODE 0555, SHAREMODE and MANMODE 0444.
    program_mode: 0o555,
    data_mode: 0o444,
    libexec: "/usr/local/libexec",
    lib_dir: LibDir::Fixed("/usr/local/lib"),
    // As the mail/sendmail port installs them.
    programs: &[
        ("sendmail", "/usr/local/sbin/sendmail"),
        ("mail.local", "/usr/local/libexec/mail.local"),
        ("smrsh", "/usr/local/libexec/smrsh"),
        ("makemap", "/usr/local/sbin/makemap"),
        ("editmap", "/usr/local/sbin/editmap"),
        ("praliases", "/usr/local/sbin/praliases"),
        ("mailstats", "/usr/local/sbin/mailstats"),
        ("vacation", "/usr/local/bin/vacation"),
        ("rmail", "/usr/local/bin/rmail"),
    ],
    sendmail_links: &[
        "/usr/local/bin/mailq",
        "/usr/local/bin/newaliases",
        "/usr/local/bin/hoststat",
        "/usr/local/bin/purgestat",
    ],
    configs: Configs::Samples { dir: "etc/mail" },
    // Where mail/sendmail installs it (the base system's
    // /etc/mail/helpfile is not the package's).
    helpfile: "/usr/local/share/sendmail/helpfile",
    sendmail_mc: "sendmail-freebsd.mc.in",
    mailer_conf: Some("/usr/local/etc/mail/mailer.conf.sendmail"),
    rc_conf_d: Some("/usr/local/etc/rc.conf.d/sendmail"),
    services: &[],
    special_dirs: &[],
    docs: &[("LICENSE", Doc::Copy("LICENSE")), ("RELEASE_NOTES", Doc::Copy("RELEASE_NOTES"))],
    // The port's DOCSDIR as the framework sets it: share/doc/<PORTNAME>.
    doc_name: crate::meta::FREEBSD_PORTNAME,
    owns_all_parents: false,
    owned_dirs: &[],
    under_prefix_only: true,
    versioned_with_revision: false,
};

/// RPM distributions (Fedora, RHEL/EPEL rebuilds, openSUSE), built by the
/// spec `source-package --format rpm` writes: sendmail is /usr/sbin/sendmail
/// as in Fedora's package, the units where %{_unitdir} is, smmsp from a
/// sysusers.d file, the licence where %license puts it, and only the
/// package's own directories (the filesystem and systemd packages own
/// /usr/sbin, %{_unitdir}, %{_libdir}).
pub const RPM: Layout = Layout {
    name: "rpm",
    prefix: "/usr",
    root_group: "root",
    program_mode: 0o755,
    data_mode: 0o644,
    libexec: "/usr/libexec/sendmail",
    // %{_libdir} of Fedora and openSUSE.
    lib_dir: LibDir::Fixed(if cfg!(target_pointer_width = "64") { "/usr/lib64" } else { "/usr/lib" }),
    programs: &[
        ("sendmail", "/usr/sbin/sendmail"),
        ("mail.local", "/usr/libexec/sendmail/mail.local"),
        ("smrsh", "/usr/libexec/sendmail/smrsh"),
        ("makemap", "/usr/sbin/makemap"),
        ("editmap", "/usr/sbin/editmap"),
        ("praliases", "/usr/sbin/praliases"),
        ("mailstats", "/usr/sbin/mailstats"),
        ("vacation", "/usr/bin/vacation"),
    ],
    sendmail_links: &[
        "/usr/lib/sendmail",
        "/usr/bin/mailq",
        "/usr/bin/newaliases",
        "/usr/sbin/hoststat",
        "/usr/sbin/purgestat",
    ],
    configs: Configs::Conffiles { dir: "/etc/mail" },
    helpfile: "/etc/mail/helpfile",
    // The same Linux configuration: /etc/aliases, /run/sendmail.pid,
    // mail.local and smrsh in /usr/libexec/sendmail.
    sendmail_mc: "sendmail-debian.mc.in",
    mailer_conf: None,
    rc_conf_d: None,
    services: &[
        // The access map as configuration (the .deb's postinst writes it).
        Service { path: "/etc/mail/access", template: "access", mode: 0o644, config: true },
        Service {
            path: "/usr/lib/systemd/system/sendmail.service",
            template: "sendmail.service",
            mode: 0o644,
            config: false,
        },
        Service {
            path: "/usr/lib/systemd/system/sm-msp-queue.service",
            template: "sm-msp-queue.service",
            mode: 0o644,
            config: false,
        },
        Service {
            path: "/usr/lib/sysusers.d/smtls-sendmail.conf",
            template: "smtls-sendmail.sysusers",
            mode: 0o644,
            config: false,
        },
    ],
    special_dirs: &[
        ("/etc/mail/certs", "root", "root", 0o755),
        ("/var/spool/clientmqueue", "smmsp", "smmsp", 0o770),
        ("/var/spool/mqueue", "root", "root", 0o700),
    ],
    // An absolute name is placed as is: the licence where %license puts it.
    docs: &[
        ("RELEASE_NOTES", Doc::Copy("RELEASE_NOTES")),
        ("/usr/share/licenses/smtls-sendmail/LICENSE", Doc::Copy("LICENSE")),
    ],
    // %doc: /usr/share/doc/<package>.
    doc_name: crate::meta::PACKAGE_NAME,
    owns_all_parents: false,
    owned_dirs: &["/etc/mail", "/usr/libexec/sendmail", "/usr/share/licenses/smtls-sendmail"],
    under_prefix_only: false,
    versioned_with_revision: true,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The layouts place programs; which programs exist is build's list
    /// alone: a layout names only programs that are built, and every
    /// program built is installed by some layout.
    #[test]
    fn layouts_place_only_the_programs_build_builds() {
        for layout in [&DEBIAN, &FREEBSD, &RPM] {
            for (name, _) in layout.programs {
                assert!(crate::build::PROGRAMS.contains(name), "{name} is placed but not built");
            }
        }
        for p in crate::build::PROGRAMS {
            assert!(
                [&DEBIAN, &FREEBSD, &RPM].iter().any(|l| l.programs.iter().any(|(n, _)| n == p)),
                "{p} is built but no layout installs it"
            );
        }
    }
}

//! Build options, like the FreeBSD port's OPTIONS: each is one fragment in
//! `site-configs/`, a probe of the host, the versions that have it, and the
//! token that proves it in `sendmail -d0.14`.

use crate::releases::Version;
use crate::tools::{self, Need};
use anyhow::{bail, Result};

/// How the host is probed for an option: a C program that must compile,
/// link and run.
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    pub code: &'static str,
    pub(crate) libs: &'static [&'static str],
    pub need: Need,
}

#[derive(Clone, Copy, Debug)]
pub struct Spec {
    pub name: &'static str,
    pub summary: &'static str,
    /// Fragment in site-configs/ when on.
    pub fragment: &'static str,
    /// Fragment when off, for what sendmail enables by itself.
    pub off_fragment: Option<&'static str>,
    /// The first sendmail version that has it.
    pub since: Option<&'static str>,
    /// As listed by `sendmail -d0.14` (the part before any `=`).
    pub token: &'static str,
    /// A library the binary then links (an ELF NEEDED prefix).
    pub links: Option<&'static str>,
    pub probe: Option<Probe>,
    /// Options this one needs; they are switched on with it.
    pub requires: &'static [&'static str],
    /// On unless the user says otherwise (and the host can build it).
    pub default: bool,
    /// What a .deb of a build with this option says beyond the Depends
    /// that the binaries' ELF NEEDED entries give.
    pub debian: DebianRelations,
    /// How the FreeBSD port offers this option.
    pub port: PortOption,
}

/// Debian package relationships an option adds (package names in Debian's
/// archive). Libraries the binaries link are not listed here: Depends
/// follows ELF NEEDED (`package::deb::shlibdeps::depends`).
#[derive(Clone, Copy, Debug, Default)]
pub struct DebianRelations {
    /// Packages that make the option useful at run time (Recommends).
    pub recommends: &'static [&'static str],
    /// Packages that help (Suggests).
    pub(crate) suggests: &'static [&'static str],
    /// Packages that ship the same files the option adds (Conflicts and
    /// Replaces: the .deb takes their place).
    pub replaces: &'static [&'static str],
}

/// The option in the FreeBSD port (`ports/mail/sendmail-tls`).
#[derive(Clone, Copy, Debug)]
pub struct PortOption {
    /// The OPTIONS_DEFINE name, in capitals.
    pub name: &'static str,
    /// Ports framework knobs when the option is on, as (suffix, value):
    /// ("LIB_DEPENDS", "libsasl2.so:security/cyrus-sasl2") becomes
    /// `SASL_LIB_DEPENDS= libsasl2.so:security/cyrus-sasl2`. A library from
    /// ports lives under LOCALBASE, which the compiler does not search:
    /// `USES=localbase:ldflags` adds it to CFLAGS and LDFLAGS, which the
    /// port's site.config.m4 passes to sendmail's build.
    pub knobs: &'static [(&'static str, &'static str)],
}

const fn port(name: &'static str) -> PortOption {
    PortOption { name, knobs: &[] }
}

const NO_RELATIONS: DebianRelations = DebianRelations { recommends: &[], suggests: &[], replaces: &[] };

/// A library's development package on Debian, Fedora, openSUSE (empty:
/// Fedora's name) and FreeBSD: the packages `configure` installs, the
/// Debian Build-Depends and the RPM spec's BuildRequires.
const fn dev(
    what: &'static str,
    debian: &'static str,
    fedora: &'static str,
    suse: &'static str,
    freebsd: &'static str,
) -> Need {
    Need { command: "", what, debian, fedora, suse, freebsd }
}

pub(crate) const SASL_DEV: Need = dev(
    "Cyrus SASL v2 headers and library (<sasl/sasl.h>, -lsasl2)",
    "libsasl2-dev",
    "cyrus-sasl-devel",
    "",
    "security/cyrus-sasl2",
);
pub(crate) const LDAP_DEV: Need = dev(
    "OpenLDAP client headers and library (<ldap.h>, -lldap)",
    "libldap-dev",
    "openldap-devel",
    "openldap2-devel",
    "net/openldap26-client",
);
pub(crate) const CDB_DEV: Need =
    dev("tinycdb headers and library (<cdb.h>, -lcdb)", "libcdb-dev", "tinycdb-devel", "", "databases/tinycdb");
pub(crate) const ICU_DEV: Need =
    dev("ICU headers and library (<unicode/ucasemap.h>, -licuuc)", "libicu-dev", "libicu-devel", "", "devel/icu");
pub(crate) const WRAP_DEV: Need = dev(
    "TCP wrappers headers and library (<tcpd.h>, -lwrap)",
    "libwrap0-dev",
    "tcp_wrappers-devel",
    "tcpd-devel",
    "(base system)",
);

/// The option table: the one place these facts live.
pub const OPTIONS: &[Spec] = &[
    Spec {
        name: "sasl",
        summary: "SMTP AUTH with Cyrus SASL v2",
        fragment: "sasl.m4",
        off_fragment: None,
        since: None,
        token: "SASLv2",
        links: Some("libsasl2.so"),
        probe: Some(Probe {
            code: "#include <sasl/sasl.h>\nint main(void){const char*i;sasl_version_info(&i,0,0,0,0,0);return 0;}\n",
            libs: &["-lsasl2"],
            need: SASL_DEV,
        }),
        requires: &[],
        default: true,
        debian: DebianRelations {
            // The PLAIN and LOGIN mechanisms are plugins; without them AUTH
            // offers nothing a mail client uses.
            recommends: &["libsasl2-modules"],
            // saslpasswd2 and saslauthd.
            suggests: &["sasl2-bin"],
            replaces: &[],
        },
        port: PortOption {
            name: "SASL",
            knobs: &[("LIB_DEPENDS", "libsasl2.so:security/cyrus-sasl2"), ("USES", "localbase:ldflags")],
        },
    },
    Spec {
        name: "ipv6",
        summary: "IPv6 sockets",
        fragment: "ipv6.m4",
        off_fragment: None,
        since: None,
        token: "NETINET6",
        links: None,
        probe: None,
        requires: &[],
        default: true,
        debian: NO_RELATIONS,
        port: port("IPV6"),
    },
    Spec {
        name: "ldap",
        summary: "LDAP maps and ldap_routing",
        fragment: "ldap.m4",
        off_fragment: None,
        since: None,
        token: "LDAPMAP",
        links: Some("libldap"),
        probe: Some(Probe {
            code: "#define LDAP_DEPRECATED 1\n#include <ldap.h>\nint main(void){return ldap_init(\"localhost\",389)?0:0;}\n",
            libs: &["-lldap", "-llber"],
            need: LDAP_DEV,
        }),
        requires: &[],
        default: false,
        debian: NO_RELATIONS,
        port: PortOption { name: "LDAP", knobs: &[("USES", "ldap localbase:ldflags")] },
    },
    Spec {
        name: "bdb",
        summary: "Berkeley DB hash and btree maps (makemap hash, aliases.db)",
        fragment: "bdb.m4",
        off_fragment: None,
        since: None,
        token: "NEWDB",
        links: Some("libdb"),
        probe: Some(Probe {
            code: "#include <db.h>\nint main(void){int a,b,c;db_version(&a,&b,&c);return 0;}\n",
            libs: &["-ldb"],
            need: tools::BERKELEY_DB,
        }),
        requires: &[],
        default: true,
        debian: NO_RELATIONS,
        // FreeBSD's libc has Berkeley DB 1.85, which base sendmail, makemap
        // and newaliases use: no dependency, and maps stay readable by both.
        port: port("BDB1"),
    },
    Spec {
        name: "cdb",
        summary: "Constant DataBase maps (tinycdb)",
        fragment: "cdb.m4",
        off_fragment: None,
        since: Some("8.16.1"),
        token: "CDB",
        links: Some("libcdb.so"),
        probe: Some(Probe {
            code: "#include <cdb.h>\nint main(void){struct cdb c; (void)c; return 0;}\nvoid *use = (void *)cdb_init;\n",
            libs: &["-lcdb"],
            need: CDB_DEV,
        }),
        requires: &[],
        default: false,
        debian: NO_RELATIONS,
        port: PortOption {
            name: "CDB",
            knobs: &[("LIB_DEPENDS", "libcdb.so:databases/tinycdb"), ("USES", "localbase:ldflags")],
        },
    },
    Spec {
        name: "regex",
        summary: "regular-expression maps",
        fragment: "regex.m4",
        off_fragment: None,
        since: None,
        token: "MAP_REGEX",
        links: None,
        probe: None,
        requires: &[],
        default: true,
        debian: NO_RELATIONS,
        port: port("REGEX"),
    },
    Spec {
        name: "socketmap",
        summary: "socket maps (external lookup servers)",
        fragment: "socketmap.m4",
        off_fragment: None,
        since: None,
        token: "SOCKETMAP",
        links: None,
        probe: None,
        requires: &[],
        default: true,
        debian: NO_RELATIONS,
        port: port("SOCKETMAP"),
    },
    Spec {
        name: "tcpwrappers",
        summary: "TCP wrappers access control (hosts.allow)",
        fragment: "tcpwrappers.m4",
        off_fragment: None,
        since: None,
        token: "TCPWRAPPERS",
        links: Some("libwrap.so"),
        probe: Some(Probe {
            code: "#include <tcpd.h>\nint allow_severity, deny_severity;\nint main(void){return hosts_ctl(\"a\",\"b\",\"c\",\"d\")?0:0;}\n",
            libs: &["-lwrap"],
            need: WRAP_DEV,
        }),
        requires: &[],
        default: false,
        debian: NO_RELATIONS,
        // libwrap is in FreeBSD's base system. mail/sendmail has no such
        // option; TCP_WRAPPERS is the ports framework's standard name.
        port: port("TCP_WRAPPERS"),
    },
    Spec {
        name: "milter",
        summary: "mail filters; libmilter built and packaged",
        fragment: "milter.m4",
        off_fragment: Some("no-milter.m4"),
        since: None,
        token: "MILTER",
        links: None,
        probe: None,
        requires: &[],
        default: true,
        debian: DebianRelations {
            recommends: &[],
            suggests: &[],
            // Debian's libmilter-dev ships the same headers and libmilter.a.
            replaces: &["libmilter-dev"],
        },
        port: port("MILTER"),
    },
    Spec {
        name: "dane",
        summary: "DANE: TLSA records authenticate TLS peers",
        fragment: "dane.m4",
        off_fragment: None,
        since: Some("8.16.1"),
        token: "DANE",
        links: None,
        probe: None,
        requires: &[],
        default: true,
        debian: NO_RELATIONS,
        port: port("DANE"),
    },
    Spec {
        name: "reject-nul",
        summary: "RejectNUL: refuse mail holding a NUL byte",
        fragment: "reject-nul.m4",
        off_fragment: None,
        // Which releases have it: releases.toml's compatibility rules.
        since: None,
        token: "_FFR_REJECT_NUL_BYTE",
        links: None,
        probe: None,
        requires: &[],
        default: true,
        debian: NO_RELATIONS,
        port: port("REJECT_NUL"),
    },
    Spec {
        name: "tls-altnames",
        summary: "SetCertAltnames: check TLS peer altnames",
        fragment: "tls-altnames.m4",
        off_fragment: None,
        // Read in 8.17.1.9 and 8.18.2; older sources were not checked.
        since: Some("8.17.1"),
        token: "_FFR_TLS_ALTNAMES",
        links: None,
        probe: None,
        requires: &[],
        default: true,
        debian: NO_RELATIONS,
        port: port("TLS_ALTNAMES"),
    },
    Spec {
        name: "badrcpt-shutdown",
        summary: "BadRcptShutdown: end RCPT floods",
        fragment: "badrcpt-shutdown.m4",
        off_fragment: None,
        // Read in 8.17.1.9 and 8.18.2; older sources were not checked.
        since: Some("8.17.1"),
        token: "_FFR_BADRCPT_SHUTDOWN",
        links: None,
        probe: None,
        requires: &[],
        default: true,
        debian: NO_RELATIONS,
        port: port("BADRCPT_SHUTDOWN"),
    },
    Spec {
        name: "mta-sts",
        summary: "MTA-STS policies (experimental)",
        fragment: "mta-sts.m4",
        off_fragment: None,
        since: Some("8.17.1"),
        token: "_FFR_MTA_STS",
        links: None,
        probe: None,
        requires: &["regex", "socketmap", "tls-altnames"],
        default: false,
        debian: DebianRelations {
            recommends: &[],
            // The resolver FEATURE(`sts') asks through its socket map.
            suggests: &["postfix-mta-sts-resolver"],
            replaces: &[],
        },
        // mail/sendmail's name.
        port: port("MTA_STS"),
    },
    Spec {
        name: "picky-helo-check",
        summary: "warn in a header on a HELO name mismatch",
        fragment: "picky-helo-check.m4",
        off_fragment: None,
        since: None,
        token: "PICKY_HELO_CHECK",
        links: None,
        probe: None,
        requires: &[],
        default: false,
        debian: NO_RELATIONS,
        port: port("PICKY_HELO_CHECK"),
    },
    Spec {
        name: "smtputf8",
        summary: "SMTPUTF8: UTF-8 addresses (experimental)",
        fragment: "smtputf8.m4",
        off_fragment: None,
        since: Some("8.17.1"),
        token: "USE_EAI",
        links: Some("libicuuc"),
        probe: Some(Probe {
            code: "#include <unicode/ucasemap.h>\nint main(void){UErrorCode e=U_ZERO_ERROR; UCaseMap *m=ucasemap_open(\"\",0,&e); ucasemap_close(m); return 0;}\n",
            libs: &["-licuuc"],
            need: ICU_DEV,
        }),
        requires: &[],
        default: false,
        debian: NO_RELATIONS,
        port: PortOption {
            name: "SMTPUTF8",
            knobs: &[("LIB_DEPENDS", "libicuuc.so:devel/icu"), ("USES", "localbase:ldflags")],
        },
    },
];

pub fn find(name: &str) -> Option<&'static Spec> {
    OPTIONS.iter().find(|s| s.name == name)
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", content = "why", rename_all = "lowercase")]
pub enum State {
    Enabled(String),
    Disabled(String),
    /// This sendmail version cannot have it (the same on every host).
    Unavailable(String),
    /// In the default set, but its library is not installed: configure
    /// installs it where smtls may install, and otherwise fails (see
    /// [`require_defaults`]), so two hosts never build different defaults.
    Missing(String),
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Decision {
    pub name: &'static str,
    #[serde(flatten)]
    pub state: State,
    /// The package that provides what the option needs, if any.
    pub package: Option<&'static str>,
    /// Whether the option is in the default set.
    pub default: bool,
    #[serde(skip)]
    pub spec: &'static Spec,
}

impl Decision {
    pub fn enabled(&self) -> bool {
        matches!(self.state, State::Enabled(_))
    }
}

/// Splits `--with a,b --with c` into names, refusing unknown ones.
pub(crate) fn parse_list(lists: &[String]) -> Result<Vec<String>> {
    let mut out = vec![];
    for name in lists.iter().flat_map(|l| l.split(',')).map(str::trim).filter(|s| !s.is_empty()) {
        if find(name).is_none() {
            let known: Vec<&str> = OPTIONS.iter().map(|s| s.name).collect();
            bail!("unknown option `{name}`; known options: {}", known.join(", "));
        }
        if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

/// Decides every option. `available` probes the host: Err(why) when it
/// cannot build the option. Pure apart from that closure.
pub fn resolve(
    version: &Version,
    with: &[String],
    without: &[String],
    os: tools::Os,
    available: &mut dyn FnMut(&Spec) -> std::result::Result<(), String>,
) -> Result<Vec<Decision>> {
    if let Some(both) = with.iter().find(|w| without.contains(w)) {
        bail!("option `{both}` is both in --with and --without: pick one");
    }
    // Requirements of what is asked for (or on by default) join the set.
    let mut wanted: Vec<String> = with.to_vec();
    let mut i = 0;
    while i < wanted.len() {
        let spec = find(&wanted[i]).expect("parse_list checked the names");
        for r in spec.requires {
            if without.iter().any(|w| w == r) {
                bail!("option `{}` needs `{r}`, which --without turns off", spec.name);
            }
            if !wanted.iter().any(|w| w == r) {
                wanted.push(r.to_string());
            }
        }
        i += 1;
    }
    let compat = crate::releases::table().compat(version);
    let mut out = vec![];
    for spec in OPTIONS {
        let asked = wanted.iter().any(|w| w == spec.name);
        let off = without.iter().any(|w| w == spec.name);
        if let (Some(fix), false, true) = (compat.lacking(spec.token), off, asked || spec.default) {
            bail!("sendmail {version} has no {} (option `{}`): {fix}", spec.token, spec.name);
        }
        let package = spec.probe.map(|p| p.need.package(os));
        let too_old = spec.since.and_then(|s| {
            let since: Version = s.parse().expect("table versions parse");
            (*version < since).then(|| format!("sendmail {version} predates it (since {s})"))
        });
        let state = if off {
            State::Disabled(if spec.default { "--without (it is in the default set)" } else { "--without" }.into())
        } else if let Some(why) = too_old {
            if asked {
                bail!("option `{}` cannot be built: {why}; drop it or use a newer release", spec.name);
            }
            State::Unavailable(why)
        } else if asked || spec.default {
            match available(spec) {
                Ok(()) => State::Enabled(if asked { "--with".to_string() } else { "default".to_string() }),
                Err(why) if asked => bail!("option `{}` cannot be built here: {why}", spec.name),
                Err(why) => State::Missing(why),
            }
        } else {
            State::Disabled("not in the default set (--with enables it)".into())
        };
        out.push(Decision { name: spec.name, state, package, default: spec.default, spec });
    }
    Ok(out)
}

/// Fails when a default option's library is missing, naming every such
/// package and the two ways out, as for a missing tool such as m4.
pub(crate) fn require_defaults(decisions: &[Decision], os: tools::Os) -> Result<()> {
    let missing: Vec<&Decision> = decisions.iter().filter(|d| matches!(d.state, State::Missing(_))).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().filter_map(|d| d.package).collect();
    let names: Vec<&str> = missing.iter().map(|d| d.name).collect();
    let mut msg = String::from("the default build options need libraries this host lacks:\n");
    for d in &missing {
        if let State::Missing(why) = &d.state {
            msg.push_str(&format!("  {:<10} {why}\n", d.name));
        }
    }
    let install = match os {
        tools::Os::DebianLike => format!("apt-get install {}", packages.join(" ")),
        _ => format!("install {}", packages.join(", ")),
    };
    msg.push_str(&format!(
        "install them ({install}, or run `sudo cargo xtask setup`; as root without SMTLS_NO_INSTALL smtls does it \
         itself), or build without them: --without {}",
        names.join(",")
    ));
    bail!(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    fn names(d: &[Decision]) -> Vec<&str> {
        d.iter().filter(|d| d.enabled()).map(|d| d.name).collect()
    }

    fn all_ok(_: &Spec) -> std::result::Result<(), String> {
        Ok(())
    }

    #[test]
    fn table_is_consistent() {
        let dir = crate::configure::site_config::fragments_dir();
        for s in OPTIONS {
            assert!(dir.join(s.fragment).is_file(), "{} has no fragment {}", s.name, s.fragment);
            if let Some(f) = s.off_fragment {
                assert!(dir.join(f).is_file());
            }
            for r in s.requires {
                assert!(find(r).is_some(), "{} requires unknown {r}", s.name);
            }
            if let Some(since) = s.since {
                since.parse::<Version>().unwrap();
            }
        }
    }

    #[test]
    fn default_set_on_a_host_that_has_everything() {
        let d = resolve(&v("8.18.2"), &[], &[], tools::Os::DebianLike, &mut all_ok).unwrap();
        assert_eq!(
            names(&d),
            [
                "sasl",
                "ipv6",
                "bdb",
                "regex",
                "socketmap",
                "milter",
                "dane",
                "reject-nul",
                "tls-altnames",
                "badrcpt-shutdown"
            ]
        );
    }

    #[test]
    fn a_release_without_reject_nul_is_refused_unless_the_build_opts_out() {
        let e = resolve(&v("8.14.6"), &[], &[], tools::Os::DebianLike, &mut all_ok).unwrap_err().to_string();
        assert!(e.starts_with("sendmail 8.14.6 has no _FFR_REJECT_NUL_BYTE (option `reject-nul`): "), "{e}");
        assert!(e.contains("--without reject-nul") && e.contains("8.14.7 or later"), "{e}");
        let d = resolve(&v("8.14.6"), &[], &["reject-nul".into()], tools::Os::DebianLike, &mut all_ok).unwrap();
        assert!(!names(&d).contains(&"reject-nul"));
        let d = resolve(&v("8.15.2"), &[], &[], tools::Os::DebianLike, &mut all_ok).unwrap();
        assert!(names(&d).contains(&"reject-nul") && !names(&d).contains(&"tls-altnames"), "{:?}", names(&d));
    }

    #[test]
    fn missing_defaults_fail_naming_the_package_and_requests_fail() {
        let mut no_sasl = |s: &Spec| if s.name == "sasl" { Err("no <sasl/sasl.h>".to_string()) } else { Ok(()) };
        let d = resolve(&v("8.18.2"), &[], &[], tools::Os::DebianLike, &mut no_sasl).unwrap();
        assert!(!names(&d).contains(&"sasl"));
        assert_eq!(d[0].state, State::Missing("no <sasl/sasl.h>".into()));
        assert_eq!(d[0].package, Some("libsasl2-dev"));
        assert!(d[0].default);
        // A missing default is an error naming the package and the opt-out.
        let e = require_defaults(&d, tools::Os::DebianLike).unwrap_err().to_string();
        assert!(e.contains("apt-get install libsasl2-dev") && e.contains("--without sasl"), "{e}");
        assert!(e.contains("no <sasl/sasl.h>"), "{e}");
        // --without opts out: nothing is missing then.
        let d = resolve(&v("8.18.2"), &[], &["sasl".into()], tools::Os::DebianLike, &mut no_sasl).unwrap();
        assert!(require_defaults(&d, tools::Os::DebianLike).is_ok());
        assert_eq!(d[0].state, State::Disabled("--without (it is in the default set)".into()));
        let e = resolve(&v("8.18.2"), &["sasl".into()], &[], tools::Os::DebianLike, &mut no_sasl).unwrap_err();
        assert!(e.to_string().contains("no <sasl/sasl.h>"), "{e}");
    }

    #[test]
    fn versions_limit_options() {
        let d = resolve(&v("8.15.2"), &[], &[], tools::Os::DebianLike, &mut all_ok).unwrap();
        assert!(!names(&d).contains(&"dane"));
        let e = resolve(&v("8.16.1"), &["mta-sts".into()], &[], tools::Os::DebianLike, &mut all_ok).unwrap_err();
        assert!(e.to_string().contains("since 8.17.1"), "{e}");
    }

    #[test]
    fn requirements_follow_and_conflicts_are_refused() {
        let d = resolve(&v("8.18.2"), &["mta-sts".into()], &["regex".into()], tools::Os::DebianLike, &mut all_ok);
        assert!(d.unwrap_err().to_string().contains("needs `regex`"));
        let d = resolve(
            &v("8.18.2"),
            &["mta-sts".into()],
            &[
                "sasl".into(),
                "dane".into(),
                "milter".into(),
                "ipv6".into(),
                "bdb".into(),
                "reject-nul".into(),
                "badrcpt-shutdown".into(),
            ],
            tools::Os::DebianLike,
            &mut all_ok,
        )
        .unwrap();
        assert_eq!(names(&d), ["regex", "socketmap", "tls-altnames", "mta-sts"]);
        assert!(resolve(&v("8.18.2"), &["ldap".into()], &["ldap".into()], tools::Os::DebianLike, &mut all_ok).is_err());
    }

    #[test]
    fn lists_parse_and_unknown_names_are_refused() {
        assert_eq!(parse_list(&["sasl,ipv6".into(), "bdb, sasl".into()]).unwrap(), ["sasl", "ipv6", "bdb"]);
        let e = parse_list(&["sasl,nope".into()]).unwrap_err().to_string();
        assert!(e.contains("unknown option `nope`") && e.contains("mta-sts"), "{e}");
    }
}

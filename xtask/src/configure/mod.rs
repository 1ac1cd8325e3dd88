//! configure: decide the defines, probe OpenSSL and Berkeley DB, and write
//! `devtools/Site/site.config.m4` from the fragments.

mod cache;
pub(crate) mod flags;
pub mod hardening;
pub mod options;
pub(crate) mod probe;
pub mod site_config;

use crate::{plan::Plan, progress, stamp, tools};
use anyhow::{bail, Context, Result};
use flags::TlsRequest;
use probe::OpenSsl;
use site_config::Fragment;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args, Clone, Debug, Default)]
pub struct ConfigureArgs {
    /// Use the OpenSSL installed under DIR (DIR/include, DIR/lib) instead of the system's.
    #[arg(long, value_name = "DIR")]
    pub openssl_prefix: Option<PathBuf>,
    /// Append your own site.config.m4 fragment (repeatable, in order).
    #[arg(long = "site-config", value_name = "FILE")]
    pub(crate) site_configs: Vec<PathBuf>,
    /// Build without elliptic-curve key exchange (TLS_EC / _FFR_TLS_EC).
    #[arg(long)]
    pub(crate) no_ec: bool,
    /// Build without _FFR_TLS_USE_CERTIFICATE_CHAIN_FILE (a negative control: the server then sends only its leaf).
    #[arg(long)]
    pub(crate) no_cert_chain: bool,
    /// Extra define for sendmail, NAME or NAME=VALUE (repeatable), e.g. NO_DH.
    #[arg(long = "define", value_name = "NAME[=VALUE]")]
    pub defines: Vec<String>,
    /// Build options to switch on, comma-separated (see `cargo xtask options`).
    #[arg(long = "with", value_name = "OPT,...")]
    pub with: Vec<String>,
    /// Build options to switch off, comma-separated.
    #[arg(long = "without", value_name = "OPT,...")]
    pub without: Vec<String>,
}

/// What configure decided; written to `configuration.json` for later steps.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Configuration {
    pub version: String,
    pub(crate) source_sha256: String,
    pub(crate) request: TlsRequest,
    /// The defines sendmail is compiled with (without -D).
    pub defines: Vec<String>,
    pub openssl: OpenSsl,
    /// Berkeley DB version, when its maps are enabled.
    pub(crate) berkeley_db: Option<String>,
    /// Build options switched on, in table order.
    #[serde(default)]
    pub options: Vec<String>,
    /// Build options off or unavailable (their -d0.14 token must be absent).
    #[serde(default)]
    pub(crate) options_off: Vec<String>,
    /// The fragments, in order.
    pub fragments: Vec<String>,
    pub(crate) site_config_sha256: String,
    /// Every header and library the probes read: when none of them changed,
    /// probing again would find the same (see `stamp_inputs`).
    #[serde(default)]
    pub(crate) probed_files: Vec<PathBuf>,
    /// The hardening flags compiled and linked with.
    #[serde(default)]
    pub hardening: Option<hardening::Hardening>,
}

impl Configuration {
    pub fn load(plan: &Plan) -> Result<Configuration> {
        let path = plan.configuration_file();
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("{} is missing: run `cargo xtask configure` first", path.display()))?;
        let c: Configuration = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if c.version != plan.version.to_string() {
            bail!(
                "{} is for sendmail {}, not {}: run `cargo xtask configure` again",
                path.display(),
                c.version,
                plan.version
            );
        }
        Ok(c)
    }

    /// One digest of the probed files' identities (path, size, mtime).
    pub(crate) fn probed_files_digest(&self) -> String {
        let ids: String = self.probed_files.iter().map(|p| stamp::identity(p) + "\n").collect();
        crate::digest::sha256_hex(ids.as_bytes())
    }
}

/// What configure's output depends on, cheap to compute (no compiler runs):
/// the arguments, every fragment's text, the compiler, the compiler
/// variables the probes obey, and the identity of every file the last probes
/// read (and, when Berkeley DB was not found, of the directories holding
/// them, where installing it would add files).
pub(crate) fn stamp_inputs(
    plan: &Plan,
    args: &ConfigureArgs,
    previous: Option<&Configuration>,
) -> Result<stamp::Inputs> {
    cache::use_dir(&plan.work_dir);
    let mut i = stamp::Inputs::new("configure");
    i.add(
        "source",
        format!("sendmail {} {} in {}", plan.version, plan.release.source_id(), plan.source_dir().display()),
    );
    // Every field of the arguments, so an option added later is keyed too.
    i.add("arguments", format!("{args:?}"));
    let dir = site_config::fragments_dir();
    let mut builtin: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "m4"))
        .collect();
    builtin.sort();
    for f in builtin.iter().chain(&args.site_configs) {
        i.add_file_content(&format!("fragment {}", f.display()), f);
    }
    i.add("compiler", stamp::command_identity("cc"));
    let scratch = plan.work_dir.join(format!("probe-hardening-{}", std::process::id()));
    let h = hardening::detect(&scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    i.add("hardening", format!("{:?}", h?));
    let env: Vec<String> = std::env::vars()
        .filter(|(k, _)| k == "CC" || k.starts_with("CC_") || k.starts_with("CFLAGS") || k.starts_with("TARGET_C"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    i.add("compiler variables", env.join(" "));
    if let Some(c) = previous {
        for p in &c.probed_files {
            i.add_file_identity(&format!("probed {}", p.display()), p);
        }
        // An option's library looked for and not found: installing it adds
        // headers and libraries beside those found, which changes those
        // directories.
        if !c.options_off.is_empty() {
            let dirs: std::collections::BTreeSet<&std::path::Path> =
                c.probed_files.iter().filter_map(|p| p.parent()).collect();
            for d in dirs {
                i.add_file_identity(&format!("probed directory {}", d.display()), d);
            }
        }
    }
    Ok(i)
}

/// What configure leaves: the site.config.m4 and configuration.json.
pub(crate) fn outputs(plan: &Plan) -> Vec<PathBuf> {
    vec![plan.site_config(), plan.configuration_file()]
}

pub fn run(plan: &Plan, args: &ConfigureArgs) -> Result<Configuration> {
    cache::use_dir(&plan.work_dir);
    let t = progress::Timer::start(format!("configure sendmail {}", plan.version));
    require_source_and_tools(plan)?;
    let request = TlsRequest { ec: !args.no_ec, cert_chain: !args.no_cert_chain, extra: args.defines.clone() };
    // The version alone can already refuse (no EC before 8.14.8, ...).
    flags::tls_defines(&plan.version, &request, 0)?;
    let found = probe_host(plan, args, &request)?;
    let (fragments, vars) = fragments_for(plan, args, &request, &found)?;
    let text = write_site_config(plan, &fragments, &vars, &found.defines)?;
    let config = Configuration {
        version: plan.version.to_string(),
        source_sha256: plan.release.source_id(),
        request,
        defines: found.defines,
        openssl: found.openssl,
        berkeley_db: found.berkeley_db,
        options: found.decisions.iter().filter(|d| d.enabled()).map(|d| d.name.to_string()).collect(),
        options_off: found.decisions.iter().filter(|d| !d.enabled()).map(|d| d.name.to_string()).collect(),
        fragments: fragments.iter().map(|f| f.name.clone()).collect(),
        site_config_sha256: crate::digest::sha256_hex(text.as_bytes()),
        probed_files: found.probed.into_iter().collect(),
        hardening: Some(found.hardening),
    };
    record(plan, args, &config)?;
    t.done();
    Ok(config)
}

fn require_source_and_tools(plan: &Plan) -> Result<()> {
    let source = plan.source_dir();
    if !source.join("devtools/bin/Build").is_file() {
        bail!("{} holds no unpacked sendmail source: run `cargo xtask fetch` first", source.display());
    }
    for need in [&tools::CC, &tools::M4, &tools::MAKE] {
        tools::find(need)?;
    }
    Ok(())
}

/// What the probes found on this host, and the defines that follows.
struct Found {
    openssl: OpenSsl,
    defines: Vec<String>,
    decisions: Vec<options::Decision>,
    berkeley_db: Option<String>,
    hardening: hardening::Hardening,
    probed: std::collections::BTreeSet<PathBuf>,
}

/// Probes OpenSSL (installing its headers where smtls may), decides the
/// build options, checks the release fits what was found, and reads the
/// hardening flags; says what it found.
fn probe_host(plan: &Plan, args: &ConfigureArgs, request: &TlsRequest) -> Result<Found> {
    let scratch = plan.work_dir.join("probe");
    if tools::may_install(tools::Os::detect())
        && args.openssl_prefix.is_none()
        && !std::path::Path::new("/usr/include/openssl/ssl.h").exists()
    {
        tools::install(&[tools::OPENSSL_HEADERS.debian])?;
    }
    let mut probed = std::collections::BTreeSet::new();
    let openssl = probe::openssl(args.openssl_prefix.as_deref(), &scratch, &mut probed)?;
    progress::info(&format!(
        "OpenSSL: {} (headers {:#x}, library {:#x}), EC key generation: {}",
        openssl.text,
        openssl.compiled,
        openssl.linked,
        if openssl.ec { "works" } else { "unavailable" }
    ));
    let defines = flags::tls_defines(&plan.version, request, openssl.compiled)?;
    if request.ec && !openssl.ec {
        bail!("this OpenSSL cannot make P-256 keys (built with no-ec?), so TLS_EC cannot work: use an OpenSSL with EC or pass --no-ec");
    }
    let decisions = decide_options(plan, args, &scratch, &mut probed)?;
    options::require_defaults(&decisions, tools::Os::detect())?;
    for d in &decisions {
        progress::info(&format!("option {:<12} {}", d.name, describe(&d.state)));
    }
    let enabled = |n: &str| decisions.iter().any(|d| d.name == n && d.enabled());
    let sasl = if enabled("sasl") { probe::cyrus_sasl(&scratch, &mut probed).ok() } else { None };
    check_compatibility(plan, &openssl, sasl.as_deref())?;
    let berkeley_db = if enabled("bdb") { probe::berkeley_db(&scratch, &mut probed).ok() } else { None };
    let harden = hardening::detect(&scratch.join("hardening"));
    let _ = std::fs::remove_dir_all(&scratch);
    let hardening = harden?;
    progress::info(&format!(
        "hardening from {}: {} | {}",
        hardening.source,
        hardening.cflags.join(" "),
        hardening.ldflags.join(" ")
    ));
    Ok(Found { openssl, defines, decisions, berkeley_db, hardening, probed })
}

/// The fragments of site.config.m4, in order, and the values of their
/// placeholders.
fn fragments_for(
    plan: &Plan,
    args: &ConfigureArgs,
    request: &TlsRequest,
    found: &Found,
) -> Result<(Vec<Fragment>, BTreeMap<&'static str, String>)> {
    let mut fragments = vec![site_config::builtin("tls.m4")?];
    let mut vars = BTreeMap::new();
    if request.ec {
        fragments.push(site_config::builtin("ec.m4")?);
        vars.insert("EC_DEFINE", flags::ec_define_for(&plan.version, found.openssl.compiled)?);
    }
    if request.cert_chain {
        fragments.push(site_config::builtin("cert-chain.m4")?);
    }
    if let Some(p) = &args.openssl_prefix {
        let (inc, lib) = probe::prefix_flags(p);
        fragments.push(site_config::builtin("openssl-prefix.m4")?);
        vars.insert("OPENSSL_INCDIR", inc.display().to_string());
        vars.insert("OPENSSL_LIBDIR", lib.display().to_string());
    }
    for d in &found.decisions {
        match (d.enabled(), d.spec.off_fragment) {
            (true, _) => fragments.push(site_config::builtin(d.spec.fragment)?),
            (false, Some(off)) => fragments.push(site_config::builtin(off)?),
            (false, None) => {}
        }
    }
    fragments.push(site_config::builtin("hardening.m4")?);
    vars.insert("HARDENING_CFLAGS", hardening::for_m4(&found.hardening.cflags)?);
    vars.insert("HARDENING_LDFLAGS", hardening::for_m4(&found.hardening.ldflags)?);
    fragments.push(site_config::builtin("reproducible.m4")?);
    // Berkeley DB 4 and later (the probe found <db.h> and -ldb).
    vars.insert("DB_LIBS", "-ldb".to_string());
    vars.insert("SOURCE_DIR", plan.source_dir().display().to_string());
    vars.insert("VERSION", plan.version.to_string());
    if !request.extra.is_empty() {
        let text: String =
            request.extra.iter().map(|d| format!("APPENDDEF(`conf_sendmail_ENVDEF', `-D{d}')\n")).collect();
        fragments.push(Fragment { name: "--define".into(), text });
    }
    for f in &args.site_configs {
        fragments.push(site_config::user(f)?);
    }
    Ok((fragments, vars))
}

/// Generates site.config.m4 from the fragments and writes it (the old
/// stamp forgotten first); returns its text.
fn write_site_config(
    plan: &Plan,
    fragments: &[Fragment],
    vars: &BTreeMap<&'static str, String>,
    defines: &[String],
) -> Result<String> {
    let text = site_config::generate(fragments, vars)?;
    stamp::forget(&plan.work_dir, "configure")?;
    crate::util::write_in_tree(&plan.work_dir, &plan.site_config(), text.as_bytes())?;
    progress::info(&format!("wrote {} ({} fragments)", plan.site_config().display(), fragments.len()));
    progress::info(&format!(
        "sendmail defines: {}",
        defines.iter().map(|d| format!("-D{d}")).collect::<Vec<_>>().join(" ")
    ));
    Ok(text)
}

/// Writes configuration.json and the configure stamp.
fn record(plan: &Plan, args: &ConfigureArgs, config: &Configuration) -> Result<()> {
    crate::util::write_atomic(&plan.configuration_file(), serde_json::to_string_pretty(config)?.as_bytes())?;
    let note = format!(
        "{}, Berkeley DB {}, {} probed files unchanged",
        config.openssl.text,
        config.berkeley_db.as_deref().unwrap_or("off"),
        config.probed_files.len()
    );
    stamp::record(&plan.work_dir, &stamp_inputs(plan, args, Some(config))?, &note)
}

/// Refuses an OpenSSL or Cyrus SASL that this release does not fit (the
/// compatibility rules in releases.toml).
pub(crate) fn check_compatibility(plan: &Plan, openssl: &OpenSsl, sasl: Option<&str>) -> Result<()> {
    let compat = crate::releases::table().compat(&plan.version);
    compat.check(&plan.version, openssl.compiled, &openssl.text, sasl)?;
    for w in compat.warning_lines(&plan.version) {
        progress::info(&format!("warning: {w}"));
    }
    if let Some(v) = sasl {
        progress::info(&format!("Cyrus SASL {v}: fits sendmail {}", plan.version));
    }
    Ok(())
}

/// What can be refused before anything is fetched: defines the release
/// lacks, and an OpenSSL or Cyrus SASL it does not fit (both probed here,
/// without the source).
pub(crate) fn precheck(plan: &Plan, args: &ConfigureArgs) -> Result<()> {
    cache::use_dir(&plan.work_dir);
    let request = TlsRequest { ec: !args.no_ec, cert_chain: !args.no_cert_chain, extra: args.defines.clone() };
    flags::tls_defines(&plan.version, &request, 0)?;
    let without = options::parse_list(&args.without)?;
    // Without probing: what the release cannot have (an option asked for
    // that predates it, a default define the release table says it lacks).
    options::resolve(&plan.version, &options::parse_list(&args.with)?, &without, tools::Os::detect(), &mut |_| Ok(()))?;
    let compat = crate::releases::table().compat(&plan.version);
    if compat.openssl_before.is_none() && compat.cyrus_sasl_before.is_none() {
        return Ok(());
    }
    let scratch = plan.work_dir.join(format!("precheck-{}", std::process::id()));
    let mut probed = Default::default();
    let result = (|| {
        let openssl = probe::openssl(args.openssl_prefix.as_deref(), &scratch, &mut probed)?;
        let sasl =
            if without.iter().any(|w| w == "sasl") { None } else { probe::cyrus_sasl(&scratch, &mut probed).ok() };
        check_compatibility(plan, &openssl, sasl.as_deref())
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn describe(state: &options::State) -> String {
    match state {
        options::State::Enabled(why) => format!("enabled ({why})"),
        options::State::Disabled(why) => format!("disabled ({why})"),
        options::State::Unavailable(why) => format!("unavailable: {why}"),
        options::State::Missing(why) => format!("missing: {why}"),
    }
}

/// Probes the host for each option that would be on and decides them all.
/// An option asked for with --with, or in the default set, whose library is
/// missing is installed first where smtls may install (root on Debian,
/// SMTLS_NO_INSTALL unset); the defaults are the same on every host.
pub(crate) fn decide_options(
    plan: &Plan,
    args: &ConfigureArgs,
    scratch: &std::path::Path,
    probed: &mut std::collections::BTreeSet<PathBuf>,
) -> Result<Vec<options::Decision>> {
    let with = options::parse_list(&args.with)?;
    let without = options::parse_list(&args.without)?;
    let os = tools::Os::detect();
    let mut available = |spec: &options::Spec| -> std::result::Result<(), String> {
        let Some(p) = spec.probe else { return Ok(()) };
        let first = probe::library(spec.name, p.code, p.libs, &p.need, scratch, probed);
        let wanted = spec.default || with.iter().any(|w| w == spec.name);
        if first.is_err() && wanted && tools::may_install(os) {
            tools::install(&[p.need.package(os)]).map_err(|e| format!("{e:#}"))?;
            return probe::library(spec.name, p.code, p.libs, &p.need, scratch, probed);
        }
        first
    };
    options::resolve(&plan.version, &with, &without, os, &mut available)
}

#[derive(clap::Args, Clone, Debug, Default)]
pub struct OptionsArgs {
    #[command(flatten)]
    pub configure: ConfigureArgs,
    /// Print the decisions as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `cargo xtask options`: every option, whether it would be on, and why.
pub fn report(plan: &Plan, args: &OptionsArgs) -> Result<Vec<options::Decision>> {
    cache::use_dir(&plan.work_dir);
    let scratch = plan.work_dir.join(format!("probe-options-{}", std::process::id()));
    let decisions = decide_options(plan, &args.configure, &scratch, &mut Default::default());
    let _ = std::fs::remove_dir_all(&scratch);
    let decisions = decisions?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&decisions)?);
    } else {
        println!("build options for sendmail {} on this host:", plan.version);
        for d in &decisions {
            let (state, why) = match &d.state {
                options::State::Enabled(w) => ("enabled", w.clone()),
                options::State::Disabled(w) => ("disabled", w.clone()),
                options::State::Unavailable(w) => ("unavailable", w.clone()),
                options::State::Missing(w) => (
                    "missing",
                    format!("{w}; configure installs it as root, else fails (or pass --without {})", d.name),
                ),
            };
            let pkg = d.package.map(|p| format!(" [package: {p}]")).unwrap_or_default();
            let default = if d.default { "default" } else { "" };
            println!("  {:<12} {:<12} {:<8} {:<55} {why}{pkg}", d.name, state, default, d.spec.summary);
        }
    }
    Ok(decisions)
}

//! Probing the system for real: tiny C programs compiled with the `cc`
//! crate's idea of the host compiler, linked and run.

use crate::tools;
use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const OPENSSL_PROBE: &str = r#"
#include <stdio.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <openssl/crypto.h>
#ifndef OPENSSL_NO_EC
#include <openssl/evp.h>
#include <openssl/ec.h>
#endif
int main(void) {
    printf("compiled=%#lx\n", (unsigned long) OPENSSL_VERSION_NUMBER);
    printf("linked=%#lx\n", (unsigned long) OpenSSL_version_num());
    printf("text=%s\n", OpenSSL_version(OPENSSL_VERSION));
#ifdef OPENSSL_NO_EC
    printf("ec=no\n");
#else
    {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
        EVP_PKEY *key = NULL;
        int ok = ctx && EVP_PKEY_keygen_init(ctx) > 0
            && EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) > 0
            && EVP_PKEY_keygen(ctx, &key) > 0;
        printf("ec=%s\n", ok ? "yes" : "no");
        EVP_PKEY_free(key);
        EVP_PKEY_CTX_free(ctx);
    }
#endif
    return 0;
}
"#;

const SASL_PROBE: &str = r#"
#include <stdio.h>
#include <sasl/sasl.h>
int main(void) {
    int major, minor, step;
    sasl_version_info(NULL, NULL, &major, &minor, &step, NULL);
    printf("version=%d.%d.%d\n", major, minor, step);
    return 0;
}
"#;

const DB_PROBE: &str = r#"
#include <stdio.h>
#include <db.h>
int main(void) {
    int major, minor, patch;
    db_version(&major, &minor, &patch);
    printf("version=%d.%d.%d\n", major, minor, patch);
    return 0;
}
"#;

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpenSsl {
    pub text: String,
    /// OPENSSL_VERSION_NUMBER of the headers.
    pub compiled: u64,
    /// OpenSSL_version_num() of the library the probe ran with.
    pub linked: u64,
    pub ec: bool,
    pub prefix: Option<PathBuf>,
}

impl OpenSsl {
    /// "3.0" for 0x30000130.
    pub(crate) fn major_minor(n: u64) -> (u64, u64) {
        // 0xMNN00PP0 since 3.0; 0xMNNFFPPS before (1.1.1w is 0x1010117f).
        (n >> 28, (n >> 20) & 0xff)
    }
}

/// Parses the probe's `key=value` lines.
pub(crate) fn parse_kv(out: &str) -> BTreeMap<String, String> {
    out.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect()
}

fn parse_hex(s: &str) -> Result<u64> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).with_context(|| format!("`{s}` is not a hex number"))
}

pub(crate) fn parse_openssl(out: &str, prefix: Option<&Path>) -> Result<OpenSsl> {
    let kv = parse_kv(out);
    let get = |k: &str| kv.get(k).with_context(|| format!("the OpenSSL probe printed no {k}= line: {out}"));
    Ok(OpenSsl {
        text: get("text")?.clone(),
        compiled: parse_hex(get("compiled")?)?,
        linked: parse_hex(get("linked")?)?,
        ec: get("ec")? == "yes",
        prefix: prefix.map(Path::to_path_buf),
    })
}

/// Compiles `source` into an executable and runs it; Err carries the
/// compiler's or the program's complaint. The headers the compiler read
/// (`-MD`) and the files the linker opened (`--trace`) are added to `files`:
/// what a later `dist` compares to know whether probing again could find
/// something else.
/// `compile`'s output, from the probe cache while the compiler, its
/// environment and every file the probe read are unchanged.
fn compile_and_run(
    source: &str,
    name: &str,
    args: &[String],
    scratch: &Path,
    files: &mut BTreeSet<PathBuf>,
) -> Result<String> {
    let mut key = crate::stamp::Inputs::new(name);
    key.add("source", source)
        .add("arguments", args.join(" "))
        .add("target", env!("SMTLS_TARGET"))
        .add("compiler", super::cache::compiler_identity())
        .add("environment", super::cache::compiler_environment());
    super::cache::cached(&key, files, |files| compile(source, name, args, scratch, files))
}

/// Compiles `source` with `args`, runs it and returns its stdout; `files`
/// gains the headers and libraries the compiler and linker read.
fn compile(source: &str, name: &str, args: &[String], scratch: &Path, files: &mut BTreeSet<PathBuf>) -> Result<String> {
    std::fs::create_dir_all(scratch)?;
    let c = scratch.join(format!("{name}.c"));
    let exe = scratch.join(name);
    let deps = scratch.join(format!("{name}.d"));
    std::fs::write(&c, source)?;
    let target = env!("SMTLS_TARGET");
    let compiler = cc::Build::new()
        .target(target)
        .host(target)
        .opt_level(0)
        .debug(false)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_get_compiler()
        .context("finding a C compiler (the cc crate looks at CC, then cc)")?;
    let mut cmd = compiler.to_command();
    cmd.arg(&c).arg("-o").arg(&exe).arg("-MD").arg("-MF").arg(&deps).arg("-Wl,--trace").args(args);
    let out = crate::proc::capture(&mut cmd)
        .with_context(|| format!("running the C compiler {}", compiler.path().display()))?;
    if !out.status.success() {
        bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let headers = std::fs::read_to_string(&deps).unwrap_or_default();
    let used = parse_depfile(&headers).into_iter().chain(parse_trace(&String::from_utf8_lossy(&out.stdout)));
    files.extend(used.filter(|p| !p.starts_with(scratch) && p.is_file()));
    let run = crate::proc::capture(&mut std::process::Command::new(&exe))?;
    if !run.status.success() {
        bail!("{} exited with {}: {}", exe.display(), run.status, String::from_utf8_lossy(&run.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&run.stdout).into_owned())
}

/// The absolute paths a `-MD` dependency file names as prerequisites.
pub(crate) fn parse_depfile(text: &str) -> Vec<PathBuf> {
    let body = text.split_once(": ").map_or("", |(_, b)| b);
    body.split_whitespace().filter(|w| w.starts_with('/')).map(PathBuf::from).collect()
}

/// The files `ld --trace` reports: one per line, either a path or
/// `-lname (path)`.
pub(crate) fn parse_trace(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            let p = match (l.rfind('('), l.strip_suffix(')')) {
                (Some(open), Some(inner)) => &inner[open + 1..],
                _ => l,
            };
            (p.starts_with('/') && !p.contains(": ")).then(|| PathBuf::from(p))
        })
        .collect()
}

/// Compiler and linker flags for an OpenSSL under `prefix`.
pub(crate) fn prefix_flags(prefix: &Path) -> (PathBuf, PathBuf) {
    let lib =
        ["lib64", "lib"].iter().map(|l| prefix.join(l)).find(|p| p.is_dir()).unwrap_or_else(|| prefix.join("lib"));
    (prefix.join("include"), lib)
}

pub(crate) fn openssl(prefix: Option<&Path>, scratch: &Path, files: &mut BTreeSet<PathBuf>) -> Result<OpenSsl> {
    let mut args = vec![];
    if let Some(p) = prefix {
        if !p.join("include/openssl/ssl.h").is_file() {
            bail!("--openssl-prefix {}: no include/openssl/ssl.h there; point it at the directory holding include/ and lib/", p.display());
        }
        let (inc, lib) = prefix_flags(p);
        args.extend([
            format!("-I{}", inc.display()),
            format!("-L{}", lib.display()),
            format!("-Wl,-rpath,{}", lib.display()),
        ]);
    }
    args.extend(["-lssl".into(), "-lcrypto".into()]);
    let out = compile_and_run(OPENSSL_PROBE, "openssl-probe", &args, scratch, files).map_err(|e| {
        let msg = format!("{e:#}");
        if msg.contains("openssl/") && (msg.contains("No such file") || msg.contains("not found")) {
            anyhow::anyhow!(
                "{}\n(compiler said: {})",
                tools::missing_message(&tools::OPENSSL_HEADERS, tools::Os::detect()),
                first_line(&msg)
            )
        } else {
            e.context("the OpenSSL probe (compile, link with -lssl -lcrypto, run) failed")
        }
    })?;
    parse_openssl(&out, prefix)
}

/// Whether a library can be used: `code` must compile, link with `libs`
/// and run. Err carries why, and the package that would provide it.
pub(crate) fn library(
    name: &str,
    code: &str,
    libs: &[&str],
    need: &tools::Need,
    scratch: &Path,
    files: &mut BTreeSet<PathBuf>,
) -> std::result::Result<(), String> {
    let libs: Vec<String> = libs.iter().map(|s| s.to_string()).collect();
    compile_and_run(code, &format!("{name}-probe"), &libs, scratch, files).map(drop).map_err(|e| {
        format!("{}: {}", first_line(&format!("{e:#}")), tools::missing_message(need, tools::Os::detect()))
    })
}

/// The Cyrus SASL library's own version (`sasl_version_info`), or why it
/// cannot be used.
pub(crate) fn cyrus_sasl(scratch: &Path, files: &mut BTreeSet<PathBuf>) -> std::result::Result<String, String> {
    match compile_and_run(SASL_PROBE, "sasl-version-probe", &["-lsasl2".into()], scratch, files) {
        Ok(out) => parse_kv(&out).get("version").cloned().ok_or_else(|| format!("the probe printed: {out}")),
        Err(e) => Err(first_line(&format!("{e:#}")).to_string()),
    }
}

/// Berkeley DB's version, or why it is not usable.
pub(crate) fn berkeley_db(scratch: &Path, files: &mut BTreeSet<PathBuf>) -> std::result::Result<String, String> {
    match compile_and_run(DB_PROBE, "db-probe", &["-ldb".into()], scratch, files) {
        Ok(out) => parse_kv(&out).get("version").cloned().ok_or_else(|| format!("the probe printed: {out}")),
        Err(e) => Err(format!(
            "not found ({}); {}",
            first_line(&format!("{e:#}")),
            tools::missing_message(&tools::BERKELEY_DB, tools::Os::detect())
        )),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| l.contains("error") || l.contains("No such")).unwrap_or_else(|| s.lines().next().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_probe_output() {
        let o =
            parse_openssl("compiled=0x30000130\nlinked=0x30000130\ntext=OpenSSL 3.0.19 27 Jan 2026\nec=yes\n", None)
                .unwrap();
        assert_eq!(o.compiled, 0x3000_0130);
        assert!(o.ec);
        assert_eq!(OpenSsl::major_minor(o.linked), (3, 0));
        assert_eq!(OpenSsl::major_minor(0x1010_117f), (1, 1));
        assert_eq!(OpenSsl::major_minor(0x3050_0010), (3, 5));
        assert!(parse_openssl("compiled=0x1\n", None).is_err());
    }

    #[test]
    fn parses_what_compiler_and_linker_read() {
        let d = "/s/openssl-probe: /s/openssl-probe.c /usr/include/stdc-predef.h \\\n /usr/include/openssl/ssl.h /usr/include/openssl/opensslv.h\n";
        assert_eq!(
            parse_depfile(d),
            [
                "/s/openssl-probe.c",
                "/usr/include/stdc-predef.h",
                "/usr/include/openssl/ssl.h",
                "/usr/include/openssl/opensslv.h"
            ]
            .map(PathBuf::from)
        );
        let t = "/usr/bin/ld: mode elf_x86_64\n/usr/lib/x86_64-linux-gnu/crti.o\n-lssl (/usr/lib/x86_64-linux-gnu/libssl.so)\n/tmp/cc1.o\n";
        assert_eq!(
            parse_trace(t),
            ["/usr/lib/x86_64-linux-gnu/crti.o", "/usr/lib/x86_64-linux-gnu/libssl.so", "/tmp/cc1.o"]
                .map(PathBuf::from)
        );
    }
}

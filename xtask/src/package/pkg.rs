//! The FreeBSD .pkg: a (gzip-compressed) tar whose first members are
//! `+COMPACT_MANIFEST` and `+MANIFEST` (JSON, keys sorted), then every
//! entry under its absolute path. The manifest carries owner and group by
//! name (pkg resolves them at install time, after the pre-install script
//! has created smmsp) and each file's `1$<sha256>` sum.
//!
//! The manifest declares no `deps`, although pkg allows them: a dependency
//! names the origin and exact version of the installed package
//! (`security/cyrus-sasl2` at whatever version the builder's ports tree
//! has), which only a FreeBSD host knows. Packages of the port
//! (`ports/mail/sendmail-tls`) get them from its `<OPT>_LIB_DEPENDS`.

use super::{elf_abi, Format, Input, Packager};
use crate::archive::{self, TarMember};
use crate::meta;
use crate::stage::{Contents, Kind, Target};
use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) struct Pkg {
    /// `--abi`: the ABI to write whatever the programs are (format tests
    /// only); None takes it from the programs' ELF notes.
    pub(crate) abi_override: Option<String>,
}

impl Pkg {
    pub(crate) fn new(abi_override: Option<String>) -> Result<Pkg> {
        if let Some(abi) = &abi_override {
            crate::host::parse_abi(abi)?;
        }
        Ok(Pkg { abi_override })
    }
}

/// The keys every manifest has (pkg refuses a package without them).
pub const REQUIRED_KEYS: &[&str] =
    &["abi", "arch", "comment", "desc", "maintainer", "name", "origin", "prefix", "version", "www"];

/// An example ABI for messages and format tests: this host's FreeBSD ABI
/// on FreeBSD, FreeBSD 14 on this machine elsewhere ([`crate::host::freebsd_abi`]).
pub fn example_abi() -> String {
    crate::host::freebsd_abi().unwrap_or_else(|_| "FreeBSD:14:amd64".into())
}

/// The ABI a .pkg of these ELF files carries, and the notice to print when
/// `--abi` overrode what the files say. Refuses programs that are not
/// FreeBSD programs unless overridden, and an override that contradicts
/// FreeBSD programs.
pub(crate) fn decide_abi(
    files: &[(PathBuf, elf_abi::ElfAbi)],
    abi_override: Option<&str>,
) -> Result<(String, Option<String>)> {
    match (elf_abi::freebsd_abi(files), abi_override) {
        (Ok(abi), None) => Ok((abi, None)),
        (Ok(abi), Some(o)) if o == abi => Ok((abi, None)),
        (Ok(abi), Some(o)) => bail!("--abi {o} contradicts the programs, which are {abi} programs: drop --abi"),
        (Err(why), Some(o)) => Ok((
            o.to_string(),
            Some(format!(
                "--abi {o} overrides what the programs are: {why}; they are this host's programs. This .pkg is \
                 for testing the package format only: FreeBSD cannot run it."
            )),
        )),
        (Err(why), None) => bail!(
            "refusing to write a FreeBSD .pkg: {why}. A .pkg labelled FreeBSD must hold FreeBSD programs: build on \
             FreeBSD (`cargo xtask dist` there) or through the port ports/mail/sendmail-tls (e.g. with poudriere). \
             To test the package format only, pass --abi {} (the programs stay this host's).",
            example_abi()
        ),
    }
}

/// The bytes of every regular file of the list, read once for the ABI, the
/// manifest's sums and the archive.
pub struct Files<'a>(BTreeMap<&'a Path, Vec<u8>>);

impl<'a> Files<'a> {
    pub fn read(input: &'a Input) -> Result<Files<'a>> {
        let mut m = BTreeMap::new();
        for e in &input.contents.entries {
            if let Kind::File { .. } | Kind::Config { .. } = e.kind {
                m.insert(e.path.as_path(), input.bytes(e)?);
            }
        }
        Ok(Files(m))
    }

    fn get(&self, e: &crate::stage::Entry) -> Result<&[u8]> {
        self.0.get(e.path.as_path()).map(Vec::as_slice).with_context(|| format!("{} was not read", e.path.display()))
    }

    /// The ELF files among the programs (not the configuration): (install
    /// path, what they say).
    pub fn elf(&self, input: &Input) -> Result<Vec<(PathBuf, elf_abi::ElfAbi)>> {
        let programs = input.contents.entries.iter().filter(|e| matches!(e.kind, Kind::File { .. }));
        elf_abi::read_all(programs.map(|e| Ok((e.path.as_path(), self.get(e)?.to_vec()))).collect::<Result<Vec<_>>>()?)
    }
}

fn perm(mode: u32) -> String {
    format!("{mode:04o}")
}

/// `sample SAMPLE TARGET` lines for the sample-copy scripts: each
/// configuration entry (installed as `NAME.sample`) and its real name.
pub(crate) fn sample_calls(c: &Contents) -> String {
    c.config_files()
        .filter_map(|e| {
            let p = e.path.to_string_lossy();
            p.strip_suffix(".sample").map(|t| format!("sample {p} {t}\n"))
        })
        .collect()
}

/// A maintainer script from `xtask/templates/pkg-<name>`, filled.
pub fn script(name: &str, c: &Contents) -> Result<String> {
    let vars = BTreeMap::from([("PACKAGE", meta::FREEBSD_PACKAGE_NAME.to_string()), ("SAMPLES", sample_calls(c))]);
    crate::template::render(&format!("pkg-{name}"), &vars)
}

/// The install message (`xtask/templates/pkg-message`) for PREFIX `prefix`.
pub fn message(version: &str, prefix: &str) -> Result<String> {
    let t = Target::FreeBsd;
    let under = |p: PathBuf| {
        let rel = p.strip_prefix(t.prefix()).map(Path::to_path_buf).unwrap_or(p);
        format!("{prefix}/{}", rel.display())
    };
    let vars = BTreeMap::from([
        ("PACKAGE", meta::FREEBSD_PACKAGE_NAME.to_string()),
        ("VERSION", version.to_string()),
        ("PREFIX", prefix.to_string()),
        ("CF_DIR", under(t.cf_dir())),
        ("RC_CONF_D", under(t.rc_conf_d().context("FreeBSD has an rc.conf.d file")?)),
    ]);
    crate::template::render("pkg-message", &vars)
}

/// The keys of `+MANIFEST` that `+COMPACT_MANIFEST` leaves out.
const NOT_COMPACT: &[&str] = &["files", "directories", "scripts", "messages"];

/// `+MANIFEST`; `+COMPACT_MANIFEST` is it without [`NOT_COMPACT`].
pub fn manifest(input: &Input, files_read: &Files, abi: &str, shlibs: &[String]) -> Result<Value> {
    let c = input.contents;
    if c.target != Target::FreeBsd {
        bail!("a .pkg needs the freebsd layout, not {}", c.target);
    }
    let mut files = Map::new();
    let mut dirs = Map::new();
    let mut flatsize = 0u64;
    for e in &c.entries {
        let key = e.path.to_string_lossy().to_string();
        match &e.kind {
            Kind::File { .. } | Kind::Config { .. } => {
                let bytes = files_read.get(e)?;
                flatsize += bytes.len() as u64;
                let sum = format!("1${}", crate::digest::sha256_hex(bytes));
                files.insert(key, json!({"sum": sum, "uname": e.owner, "gname": e.group, "perm": perm(e.mode)}));
            }
            Kind::Symlink { target } => {
                let t = target.to_string_lossy();
                let sum = format!("1${}", crate::digest::sha256_hex(t.as_bytes()));
                files.insert(key, json!({"sum": sum, "uname": e.owner, "gname": e.group, "perm": perm(e.mode)}));
            }
            Kind::Dir => {
                dirs.insert(key, json!({"uname": e.owner, "gname": e.group, "perm": perm(e.mode)}));
            }
        }
    }
    let info = input.info;
    let mut m = Map::new();
    m.insert("name".into(), json!(info.freebsd_name));
    m.insert("origin".into(), json!(info.freebsd_origin));
    m.insert("version".into(), json!(Target::FreeBsd.package_version(&info.version, &info.revision)));
    m.insert("comment".into(), json!(info.freebsd_comment()));
    m.insert("maintainer".into(), json!(info.freebsd_maintainer));
    m.insert("www".into(), json!(info.homepage));
    m.insert("abi".into(), json!(abi));
    m.insert("arch".into(), json!(crate::host::arch_from_abi(abi)?));
    m.insert("prefix".into(), json!(Target::FreeBsd.prefix()));
    m.insert("flatsize".into(), json!(flatsize));
    m.insert("licenselogic".into(), json!("single"));
    m.insert("licenses".into(), json!(["Sendmail"]));
    m.insert("categories".into(), json!(["mail"]));
    m.insert("desc".into(), json!(info.description));
    m.insert("shlibs_required".into(), json!(shlibs));
    m.insert("files".into(), Value::Object(files));
    m.insert("directories".into(), Value::Object(dirs));
    // No `config` key: the configuration entries are samples, handled by
    // the scripts below as the port's `@sample` is, not by pkg's merge.
    m.insert(
        "scripts".into(),
        json!({
            "pre-install": script("pre-install", c)?,
            "post-install": script("post-install", c)?,
            "pre-deinstall": script("pre-deinstall", c)?,
        }),
    );
    m.insert(
        "messages".into(),
        json!([{"message": message(&info.version, Target::FreeBsd.prefix())?, "type": "install"}]),
    );
    Ok(Value::Object(m))
}

/// `+COMPACT_MANIFEST` from `+MANIFEST`.
pub fn compact(manifest: &Value) -> Value {
    let mut m = manifest.clone();
    if let Some(o) = m.as_object_mut() {
        o.retain(|k, _| !NOT_COMPACT.contains(&k.as_str()));
    }
    m
}

/// Every tar member: the two manifests, then the list in order.
pub fn members(input: &Input, files: &Files, abi: &str, shlibs: &[String]) -> Result<Vec<TarMember>> {
    let t = input.time;
    let manifest_member = |name: &str, v: &Value| -> Result<TarMember> {
        let mut m = TarMember::file(name, serde_json::to_vec(v)?, 0o644, t);
        m.meta.gname = "wheel".into();
        Ok(m)
    };
    let full = manifest(input, files, abi, shlibs)?;
    let mut out = vec![manifest_member("+COMPACT_MANIFEST", &compact(&full))?, manifest_member("+MANIFEST", &full)?];
    for e in &input.contents.entries {
        let data = super::tar_data(e, || Ok(files.get(e)?.to_vec()))?;
        out.push(super::tar_member(input, e, e.path.to_string_lossy().to_string(), data)?);
    }
    Ok(out)
}

impl Packager for Pkg {
    fn format(&self) -> Format {
        Format::Pkg
    }

    fn target(&self) -> Target {
        Target::FreeBsd
    }

    fn file_name(&self, input: &Input) -> Result<String> {
        let info = input.info;
        Ok(format!("{}-{}.pkg", info.freebsd_name, Target::FreeBsd.package_version(&info.version, &info.revision)))
    }

    fn build(&self, input: &Input) -> Result<Vec<u8>> {
        let files = Files::read(input)?;
        let elf = files.elf(input)?;
        let (abi, _) = decide_abi(&elf, self.abi_override.as_deref())?;
        let shlibs = elf_abi::shlibs_required(&elf, &elf_abi::in_freebsd_base);
        archive::gzip(&archive::tar(&members(input, &files, &abi, &shlibs)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elf_abi::{ElfAbi, Os};

    #[test]
    fn bad_abi_is_refused() {
        for bad in ["FreeBSD:14", "Linux:6:amd64", "FreeBSD:x:amd64", "FreeBSD:14:amd64:extra", ""] {
            assert!(Pkg::new(Some(bad.into())).is_err(), "{bad}");
        }
        assert!(crate::host::arch_from_abi(&example_abi()).is_ok());
    }

    #[test]
    fn the_programs_decide_the_abi() {
        let fb = vec![(
            PathBuf::from("/usr/local/sbin/sendmail"),
            ElfAbi { os: Os::FreeBsd { major: Some(14) }, arch: "amd64".into(), needed: vec![] },
        )];
        assert_eq!(decide_abi(&fb, None).unwrap(), ("FreeBSD:14:amd64".into(), None));
        assert_eq!(decide_abi(&fb, Some("FreeBSD:14:amd64")).unwrap().0, "FreeBSD:14:amd64");
        assert!(decide_abi(&fb, Some("FreeBSD:13:amd64")).unwrap_err().to_string().contains("contradicts"));
        let linux = vec![(
            PathBuf::from("/usr/local/sbin/sendmail"),
            ElfAbi { os: Os::Other("GNU/Linux 3.2.0".into()), arch: "amd64".into(), needed: vec![] },
        )];
        let err = decide_abi(&linux, None).unwrap_err().to_string();
        assert!(err.contains("refusing") && err.contains("poudriere") && err.contains("--abi"), "{err}");
        let (abi, note) = decide_abi(&linux, Some("FreeBSD:14:amd64")).unwrap();
        assert_eq!(abi, "FreeBSD:14:amd64");
        let note = note.unwrap();
        assert!(
            note.contains("overrides") && note.contains("GNU/Linux 3.2.0") && note.contains("this host's"),
            "{note}"
        );
    }
}

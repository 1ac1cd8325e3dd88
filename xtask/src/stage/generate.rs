//! Generation: the files of the list that are made rather than copied,
//! written at their install paths under `<work>/generated/<target>`, one
//! `match` on each entry's [`Origin`].

use super::{generated_dir, Contents, Entry, Origin, Target};
use crate::{archive, epoch, meta, plan::Plan, proc, template, tools};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Upstream man page typos fixed while compressing: (page, wrong, right).
/// A fix whose text is absent (fixed upstream) is skipped.
const MAN_FIXES: &[(&str, &str, &str)] = &[
    // An undefined lower-case macro: groff warns and the word disappears.
    ("vacation/vacation.1", "\n.i vacation\n", "\n.I vacation\n"),
];

/// The man page text with [`MAN_FIXES`] applied.
pub fn fix_man_page(page: &str, bytes: Vec<u8>) -> Vec<u8> {
    let mut text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => return e.into_bytes(),
    };
    for (p, wrong, right) in MAN_FIXES {
        if *p == page {
            text = text.replace(wrong, right);
        }
    }
    text.into_bytes()
}

/// The man page fixes as patches for a build from the unpacked tarball
/// (the FreeBSD port, the RPM spec): (file name, unified diff applied with
/// -p0 from the top of the tree, in the ports' `make makepatch` form).
/// `read` gives a page's text from the source tree.
pub fn man_page_patches(read: &dyn Fn(&str) -> Result<String>) -> Result<Vec<(String, String)>> {
    let mut out = vec![];
    for (page, _) in super::MAN_PAGES {
        let old = read(page)?;
        let new = String::from_utf8(fix_man_page(page, old.clone().into_bytes()))
            .with_context(|| format!("the fixed {page} is not UTF-8"))?;
        if new != old {
            let diff = similar::TextDiff::from_lines(&old, &new)
                .unified_diff()
                .context_radius(3)
                .header(&format!("{page}.orig"), page)
                .to_string();
            out.push((format!("patch-{}", page.replace('_', "__").replace('/', "_")), diff));
        }
    }
    Ok(out)
}

/// Writes every generated file of `contents` into [`generated_dir`];
/// returns that directory. Needs a built tree (the binaries, cf/cf, and the
/// libraries of the options on).
/// `info` is the package's metadata (the changelog's version and maintainer).
pub fn generate(
    plan: &Plan,
    contents: &Contents,
    time: &epoch::BuildTime,
    info: &meta::Info,
) -> Result<std::path::PathBuf> {
    let gen = generated_dir(plan, contents.target);
    if let Some(parent) = gen.parent() {
        crate::plan::clean_leftovers(parent)?;
    }
    let partial = gen.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    // Removed on any error; a no-op once renamed into place.
    let _partial_guard = crate::util::RemoveOnDrop(partial.clone());
    let strip = tools::find(&tools::STRIP)?;
    for e in contents.entries.iter().filter(|e| e.origin.is_generated()) {
        if e.source() != Some(e.staged(&gen).as_path()) {
            bail!("{}: a generated file whose source is not in {}", e.path.display(), gen.display());
        }
        let out = e.staged(&partial);
        std::fs::create_dir_all(out.parent().context("no parent")?)?;
        if let Some(bytes) = make(plan, contents, e, time, info, &strip, &partial)? {
            std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
        } else if !out.is_file() {
            bail!("{}: generation wrote nothing", e.path.display());
        }
    }
    if gen.exists() {
        std::fs::remove_dir_all(&gen).with_context(|| format!("removing the old {}", gen.display()))?;
    }
    std::fs::rename(&partial, &gen).with_context(|| format!("moving {} into place", gen.display()))?;
    Ok(gen)
}

/// The bytes of one generated entry, or `None` when it was written in
/// place (stripped binaries). `partial` is the directory being filled.
fn make(
    plan: &Plan,
    contents: &Contents,
    e: &Entry,
    time: &epoch::BuildTime,
    info: &meta::Info,
    strip: &Path,
    partial: &Path,
) -> Result<Option<Vec<u8>>> {
    let (target, options) = (contents.target, &contents.options);
    let src = plan.source_dir();
    let version = plan.version.to_string();
    let read = |rel: &str| std::fs::read(src.join(rel)).with_context(|| format!("reading sendmail's {rel}"));
    Ok(Some(match &e.origin {
        // Stripped programs, like dh_strip and the ports framework.
        Origin::Program { name } => {
            let built = plan.program(name);
            if !built.is_file() {
                bail!("{} is missing: run `cargo xtask build` (or dist) first", built.display());
            }
            let args = ["--remove-section=.comment", "--remove-section=.note", "--strip-unneeded"];
            strip_into(strip, &args, &built, &e.staged(partial))?;
            return Ok(None);
        }
        // Static libraries of the options, stripped like dh_strip does (debug
        // information and .comment out; .note.GNU-stack stays), members kept
        // deterministic.
        Origin::Library { built } => {
            let built = plan.obj_dir().join(built);
            if !built.is_file() {
                bail!(
                    "{} is missing although option `{}` is on: run `cargo xtask build` (or dist) again",
                    built.display(),
                    e.option.as_deref().unwrap_or("?")
                );
            }
            let args = ["--strip-debug", "--remove-section=.comment", "--enable-deterministic-archives"];
            strip_into(strip, &args, &built, &e.staged(partial))?;
            return Ok(None);
        }
        Origin::ManPage { page } => {
            let from = src.join(page);
            let bytes = std::fs::read(&from).with_context(|| format!("reading man page {}", from.display()))?;
            archive::gzip(&fix_man_page(page, bytes))?
        }
        Origin::Mc { which } => mc_text(target, which, &version, options)?.into_bytes(),
        Origin::Cf { which } => {
            let mc = mc_text(target, which, &version, options)?;
            let mc_path = partial.join(format!("{which}.mc.m4-input"));
            let cf = generate_cf(&src.join("cf/cf"), &mc_path, &mc, &format!("{which}.mc"))?;
            if options.iter().any(|o| o == "reject-nul") && !cf.lines().any(|l| l == REJECT_NUL_CF_LINE) {
                bail!("the {which}.cf generated from the templates lacks `{REJECT_NUL_CF_LINE}`: fix reject-nul.mc");
            }
            std::fs::remove_file(&mc_path)?;
            cf.into_bytes()
        }
        Origin::CertsScript => super::certs_script(target)?.into_bytes(),
        Origin::CertsHook => super::certs_hook(target)?.into_bytes(),
        Origin::CertsManPage => archive::gzip(super::certs_man_page(target)?.as_bytes())?,
        // local-host-names: DOMAIN(generic) reads class w from it, and
        // sendmail errors without it.
        Origin::Template { name } => template::render(name, &BTreeMap::new())?.into_bytes(),
        Origin::DocCopy { rel } => read(&rel.to_string_lossy())?,
        Origin::ReleaseNotes => archive::gzip(&read("RELEASE_NOTES")?)?,
        Origin::DebianChangelog => archive::gzip(meta::debian_changelog(info, time.secs)?.as_bytes())?,
        Origin::MailerConf => mailer_conf(&target_prefix(target))?.into_bytes(),
        Origin::Copyright => {
            let license = String::from_utf8(read("LICENSE")?).context("sendmail's LICENSE is not UTF-8")?;
            meta::copyright(&version, &license)?.into_bytes()
        }
        Origin::Source { .. } | Origin::Bundled | Origin::Dir | Origin::Link => {
            bail!("{} is not generated", e.path.display())
        }
    }))
}

/// The access map line of the Debian .mc: a hash map when the build has
/// Berkeley DB (postinst builds an empty one at install).
pub fn access_db_line(options: &[String]) -> &'static str {
    if options.iter().any(|o| o == "bdb") {
        "FEATURE(`access_db', `hash -T<TMPF> -o /etc/mail/access')dnl"
    } else {
        "dnl No access map: this sendmail was built without Berkeley DB (--without bdb), so it has no hash maps."
    }
}

/// The RejectNUL stanza of every .mc (`reject-nul.mc`) when the build has
/// the `reject-nul` option; without it sendmail would call the option
/// unknown, so a comment says why it is missing.
pub fn reject_nul_stanza(options: &[String]) -> Result<String> {
    if options.iter().any(|o| o == "reject-nul") {
        Ok(template::render("reject-nul.mc", &BTreeMap::new())?.trim_end().to_string())
    } else {
        Ok("dnl No RejectNUL: this sendmail was built without _FFR_REJECT_NUL_BYTE (--without reject-nul), so it \
            accepts NUL bytes in mail (SMTP smuggling, CVE-2023-51765)."
            .to_string())
    }
}

/// The line a .cf made from an .mc with [`reject_nul_stanza`] must hold.
pub const REJECT_NUL_CF_LINE: &str = "O RejectNUL=True";

/// The text of `/etc/mail/sendmail.mc` or `submit.mc` for `target`.
/// `options` are the build's: without `bdb` there are no hash maps, so the
/// access map is left out (a comment says why).
pub fn mc_text(target: Target, which: &str, version: &str, options: &[String]) -> Result<String> {
    let (file, stanza) = match (which, target) {
        ("sendmail", _) => (target.layout().sendmail_mc, "tls-server.mc"),
        ("submit", _) => ("submit.mc.in", "tls-submit.mc"),
        _ => bail!("no template for {which}.mc"),
    };
    let stanza = template::render(stanza, &BTreeMap::new())?;
    let vars = BTreeMap::from([
        ("VERSION", version.to_string()),
        // The Linux template serves the Debian and the RPM layouts.
        ("LAYOUT", target.name().to_string()),
        ("CF_DIR", target.cf_dir().display().to_string()),
        ("LIBEXEC", target.libexec().to_string()),
        ("TLS_STANZA", stanza.trim_end().to_string()),
        ("ACCESS_DB", access_db_line(options).to_string()),
        ("REJECT_NUL", reject_nul_stanza(options)?),
        ("HELPFILE", super::helpfile_path(target).display().to_string()),
    ]);
    template::render(file, &vars)
}

fn target_prefix(target: Target) -> String {
    target.prefix().to_string()
}

/// `mailer.conf.sendmail`: mailwrapper's table pointing at this sendmail
/// under `prefix` (`%%PREFIX%%` in the port, filled by SUB_FILES).
pub fn mailer_conf(prefix: &str) -> Result<String> {
    let vars = BTreeMap::from([("PACKAGE", meta::PACKAGE_NAME.to_string()), ("PREFIX", prefix.to_string())]);
    template::render("mailer.conf.sendmail", &vars)
}

/// Generates a `.cf` from `.mc` text with the built tree's own m4 macros:
/// `m4 -D_NO_MAKEINFO_ ../m4/cf.m4 FILE.mc` inside `cf/cf`, as cf/cf/Makefile
/// does but without the user/host/date stamp, then the .mc appended as
/// comments like upstream's rule. Any m4 diagnostic is an error.
/// `mc` is written outside the source tree (so the cf tree stays as
/// shipped); its path must not, and does not, end up in the output.
pub fn generate_cf(cf_cf: &Path, mc: &Path, mc_text: &str, installed_mc: &str) -> Result<String> {
    let m4 = tools::find(&tools::M4)?;
    std::fs::write(mc, mc_text).with_context(|| format!("writing {}", mc.display()))?;
    let mc_name = mc.display().to_string();
    let cf_dir = cf_cf.parent().context("cf/cf has a parent")?;
    let (mut cf, stderr) = crate::cf::run_m4(&m4, cf_dir, mc)
        .with_context(|| format!("fix the template in {}", template::dir().display()))?;
    if !stderr.trim().is_empty() {
        bail!(
            "m4 warned while generating the .cf from {mc_name}:\n{stderr}\nfix the template in {}",
            template::dir().display()
        );
    }
    let dir = mc.parent().unwrap_or(mc).display().to_string();
    if cf.contains(&dir) || cf.contains(&cf_cf.display().to_string()) {
        bail!("the .cf generated from {mc_name} names a build directory, so it would not reproduce");
    }
    cf.push_str(&format!("### {installed_mc} ###\n"));
    for line in mc_text.lines() {
        cf.push_str(&format!("# {line}\n"));
    }
    Ok(cf)
}

/// Writes a stripped copy of `built` to `out` (`strip ARGS -o OUT BUILT`).
fn strip_into(strip: &Path, args: &[&str], built: &Path, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out.parent().context("no parent")?)?;
    proc::output(Command::new(strip).args(args).arg("-o").arg(out).arg(built))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_and_carry_the_tls_stanza() {
        for t in [Target::Debian, Target::FreeBsd] {
            let mc = mc_text(t, "sendmail", "8.18.2", &["bdb".to_string()]).unwrap();
            assert!(!mc.contains('@'), "{mc}");
            assert!(mc.contains("define(`confSERVER_CERT', `/etc/mail/certs/host.cert')dnl"), "{mc}");
            assert!(mc.contains("+SSL_OP_NO_SSLv3 +SSL_OP_NO_TLSv1 +SSL_OP_NO_TLSv1_1"), "{mc}");
            assert!(mc.contains(&format!("{}/mail.local", t.libexec())), "{mc}");
            if t == Target::FreeBsd {
                assert!(mc.contains("define(`HELP_FILE', `/usr/local/share/sendmail/helpfile')dnl"), "{mc}");
            }
            let submit = mc_text(t, "submit", "8.18.2", &[]).unwrap();
            assert!(submit.contains("confCACERT_PATH") && !submit.contains("confSERVER_KEY"), "{submit}");
            // RejectNUL on, with the commented opt-out, in both .mc files
            // of a build with the option; a comment without it.
            for which in ["sendmail", "submit"] {
                let mc = mc_text(t, which, "8.18.2", &["reject-nul".to_string()]).unwrap();
                let lines: Vec<&str> = mc.lines().collect();
                let at = lines.iter().position(|l| *l == REJECT_NUL_CF_LINE).unwrap_or_else(|| panic!("{mc}"));
                assert_eq!(lines[at - 1], "LOCAL_CONFIG", "{mc}");
                assert!(lines.contains(&"dnl O RejectNUL=False"), "{mc}");
                let without = mc_text(t, which, "8.18.2", &[]).unwrap();
                assert!(!without.contains("RejectNUL=") && without.contains("--without reject-nul"), "{without}");
            }
        }
        let rc = template::render("rc.conf.d-sendmail", &BTreeMap::new()).unwrap();
        assert!(rc.lines().any(|l| l == "sendmail_cert_create=\"NO\""), "{rc}");
    }

    #[test]
    fn man_fixes() {
        let fixed = fix_man_page("vacation/vacation.1", b"cause\n.i vacation\nto".to_vec());
        assert_eq!(fixed, b"cause\n.I vacation\nto");
        assert_eq!(fix_man_page("sendmail/sendmail.8", b"\n.i vacation\n".to_vec()), b"\n.i vacation\n");
    }
}

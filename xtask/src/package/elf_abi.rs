//! What system an ELF file was built for, from the file itself: the
//! OS/ABI byte of its header (EI_OSABI), its ABI note (`.note.tag` with
//! owner "FreeBSD" on FreeBSD, `.note.ABI-tag` with owner "GNU" on
//! GNU/Linux), its machine, and the libraries it needs (DT_NEEDED).
//!
//! A .pkg's `abi` and `arch` are derived from these, never from a default:
//! pkg(8) does not look inside the files, so a wrong label installs
//! programs that cannot run.

use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// EI_OSABI values (elf(5)).
const ELFOSABI_SYSV: u8 = 0;
const ELFOSABI_GNU: u8 = 3;
const ELFOSABI_FREEBSD: u8 = 9;
/// Note type of the FreeBSD ABI tag: the descriptor is __FreeBSD_version.
const NT_FREEBSD_ABI_TAG: u32 = 1;
/// Note type of the GNU ABI tag: OS (0 = Linux), major, minor, subminor.
const NT_GNU_ABI_TAG: u32 = 1;

/// The system an ELF file says it is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Os {
    /// FreeBSD, with the major version of its ABI note (e.g. 14 for
    /// __FreeBSD_version 1400097); None when it carries no note.
    FreeBsd { major: Option<u32> },
    /// Anything else, described for messages (e.g. "GNU/Linux 3.2.0").
    Other(String),
}

/// One ELF file's system, machine and needed libraries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfAbi {
    pub os: Os,
    /// FreeBSD's name of the machine (`uname -p`), e.g. amd64, aarch64.
    pub arch: String,
    /// DT_NEEDED, in file order.
    pub needed: Vec<String>,
}

impl std::fmt::Display for ElfAbi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.os {
            Os::FreeBsd { major: Some(m) } => write!(f, "FreeBSD {m} {}", self.arch),
            Os::FreeBsd { major: None } => write!(f, "FreeBSD (no ABI note) {}", self.arch),
            Os::Other(what) => write!(f, "{what} {}", self.arch),
        }
    }
}

/// FreeBSD's name for an ELF machine (and, for 64-bit PowerPC, its byte order).
fn freebsd_arch(machine: u16, little_endian: bool, is_64: bool) -> String {
    use goblin::elf::header::*;
    match machine {
        EM_X86_64 => "amd64".into(),
        EM_386 => "i386".into(),
        EM_AARCH64 => "aarch64".into(),
        EM_ARM => "armv7".into(),
        EM_PPC64 if little_endian => "powerpc64le".into(),
        EM_PPC64 => "powerpc64".into(),
        EM_PPC => "powerpc".into(),
        EM_RISCV if is_64 => "riscv64".into(),
        other => format!("machine-{other}"),
    }
}

/// Reads an ELF file's system, machine and needed libraries.
pub fn read(bytes: &[u8]) -> Result<ElfAbi> {
    let elf = goblin::elf::Elf::parse(bytes).context("not a readable ELF file")?;
    let osabi = elf.header.e_ident[goblin::elf::header::EI_OSABI];
    let mut freebsd_note = None;
    let mut gnu_note = None;
    if let Some(notes) = elf.iter_note_sections(bytes, None) {
        for note in notes.flatten() {
            let word = |i: usize| -> Option<u32> {
                let b = note.desc.get(i * 4..i * 4 + 4)?;
                let a: [u8; 4] = b.try_into().ok()?;
                Some(if elf.little_endian { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) })
            };
            match (note.name, note.n_type) {
                ("FreeBSD", NT_FREEBSD_ABI_TAG) => freebsd_note = word(0),
                ("GNU", NT_GNU_ABI_TAG) => {
                    gnu_note = Some((word(0).unwrap_or(u32::MAX), word(1), word(2), word(3)));
                }
                _ => {}
            }
        }
    }
    let os = if let Some(version) = freebsd_note {
        Os::FreeBsd { major: Some(version / 100_000) }
    } else if osabi == ELFOSABI_FREEBSD {
        Os::FreeBsd { major: None }
    } else {
        let gnu = match gnu_note {
            Some((0, Some(a), Some(b), Some(c))) => format!("GNU/Linux {a}.{b}.{c} (.note.ABI-tag)"),
            Some((os, ..)) => format!("GNU ABI note for OS {os}"),
            None => String::new(),
        };
        let header = match osabi {
            ELFOSABI_SYSV => "OS/ABI SYSV".to_string(),
            ELFOSABI_GNU => "OS/ABI GNU/Linux".to_string(),
            n => format!("OS/ABI {n}"),
        };
        let interp = elf.interpreter.map(|i| format!(", interpreter {i}")).unwrap_or_default();
        Os::Other(if gnu.is_empty() { format!("{header}{interp}") } else { format!("{gnu}, {header}{interp}") })
    };
    Ok(ElfAbi {
        os,
        arch: freebsd_arch(elf.header.e_machine, elf.little_endian, elf.is_64),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
    })
}

/// The ELF files among `files` (install path, bytes), read.
pub(crate) fn read_all<'a>(files: impl IntoIterator<Item = (&'a Path, Vec<u8>)>) -> Result<Vec<(PathBuf, ElfAbi)>> {
    let mut out = vec![];
    for (path, bytes) in files {
        if bytes.starts_with(b"\x7fELF") {
            out.push((path.to_path_buf(), read(&bytes).with_context(|| format!("reading {}", path.display()))?));
        }
    }
    Ok(out)
}

/// What the ELF files of a package say as one pkg(8) ABI
/// (`FreeBSD:<major>:<arch>`): Ok when every file is a FreeBSD program of
/// the same major version and machine; Err(why) naming the files that are
/// not, or disagree.
pub fn freebsd_abi(files: &[(PathBuf, ElfAbi)]) -> std::result::Result<String, String> {
    if files.is_empty() {
        return Err("the package holds no ELF file to take an ABI from".into());
    }
    let foreign: Vec<String> = files
        .iter()
        .filter(|(_, a)| !matches!(a.os, Os::FreeBsd { .. }))
        .map(|(p, a)| format!("{}: {a}", p.file_name().unwrap_or(p.as_os_str()).to_string_lossy()))
        .collect();
    if let Some(first) = foreign.first() {
        return Err(format!(
            "{} of its {} ELF files are not FreeBSD programs (e.g. {first})",
            foreign.len(),
            files.len(),
        ));
    }
    let seen: BTreeSet<(Option<u32>, &str)> = files
        .iter()
        .map(|(_, a)| match a.os {
            Os::FreeBsd { major } => (major, a.arch.as_str()),
            Os::Other(_) => unreachable!("refused above"),
        })
        .collect();
    let majors: BTreeSet<u32> = seen.iter().filter_map(|(m, _)| *m).collect();
    let arches: BTreeSet<&str> = seen.iter().map(|(_, a)| *a).collect();
    if majors.len() != 1 || arches.len() != 1 {
        let each: Vec<String> = files.iter().map(|(p, a)| format!("{}: {a}", p.display())).collect();
        return Err(format!(
            "its ELF files do not agree on one FreeBSD version and machine (or none carries a .note.tag): {}",
            each.join("; ")
        ));
    }
    let major = majors.into_iter().next().expect("one");
    let arch = arches.into_iter().next().expect("one");
    Ok(format!("FreeBSD:{major}:{arch}"))
}

/// The libraries the ELF files need that the package does not ship itself
/// and that `is_base` does not call the base system's (pkg(8) leaves
/// those out of `shlibs_required` too), sorted.
pub fn shlibs_required(files: &[(PathBuf, ElfAbi)], is_base: &dyn Fn(&str) -> bool) -> Vec<String> {
    let shipped: BTreeSet<String> =
        files.iter().filter_map(|(p, _)| p.file_name()).map(|n| n.to_string_lossy().to_string()).collect();
    let needed: BTreeSet<String> = files
        .iter()
        .flat_map(|(_, a)| a.needed.iter().cloned())
        .filter(|n| !shipped.contains(n) && !is_base(n))
        .collect();
    needed.into_iter().collect()
}

/// A library of FreeBSD's base system, on a FreeBSD host: in /lib or /usr/lib.
pub(crate) fn in_freebsd_base(soname: &str) -> bool {
    std::env::consts::OS == "freebsd" && ["/lib", "/usr/lib"].iter().any(|d| Path::new(d).join(soname).exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abi(os: Os, arch: &str, needed: &[&str]) -> ElfAbi {
        ElfAbi { os, arch: arch.into(), needed: needed.iter().map(|s| s.to_string()).collect() }
    }

    /// A minimal 64-bit little-endian ELF header with one note section.
    fn elf_with_note(osabi: u8, machine: u16, owner: &str, n_type: u32, desc: &[u8]) -> Vec<u8> {
        let mut name = owner.as_bytes().to_vec();
        name.push(0);
        let pad = |v: &mut Vec<u8>| {
            while !v.len().is_multiple_of(4) {
                v.push(0)
            }
        };
        let mut note = vec![];
        note.extend((name.len() as u32).to_le_bytes());
        note.extend((desc.len() as u32).to_le_bytes());
        note.extend(n_type.to_le_bytes());
        note.extend(&name);
        pad(&mut note);
        note.extend(desc);
        pad(&mut note);
        let shstrtab = b"\0.note.tag\0.shstrtab\0".to_vec();
        let note_off = 64u64;
        let strtab_off = note_off + note.len() as u64;
        let sh_off = (strtab_off + shstrtab.len() as u64).div_ceil(8) * 8;
        let mut f = vec![0x7f, b'E', b'L', b'F', 2, 1, 1, osabi];
        f.extend([0u8; 8]);
        f.extend(2u16.to_le_bytes()); // ET_EXEC
        f.extend(machine.to_le_bytes());
        f.extend(1u32.to_le_bytes());
        f.extend(0u64.to_le_bytes()); // entry
        f.extend(0u64.to_le_bytes()); // phoff
        f.extend(sh_off.to_le_bytes());
        f.extend(0u32.to_le_bytes()); // flags
        f.extend(64u16.to_le_bytes());
        f.extend(56u16.to_le_bytes());
        f.extend(0u16.to_le_bytes());
        f.extend(64u16.to_le_bytes());
        f.extend(3u16.to_le_bytes()); // shnum
        f.extend(2u16.to_le_bytes()); // shstrndx
        f.extend(&note);
        f.extend(&shstrtab);
        f.resize(sh_off as usize, 0);
        let section = |name: u32, ty: u32, off: u64, size: u64| {
            let mut s = vec![];
            s.extend(name.to_le_bytes());
            s.extend(ty.to_le_bytes());
            s.extend(0u64.to_le_bytes()); // flags
            s.extend(0u64.to_le_bytes()); // addr
            s.extend(off.to_le_bytes());
            s.extend(size.to_le_bytes());
            s.extend(0u32.to_le_bytes());
            s.extend(0u32.to_le_bytes());
            s.extend(4u64.to_le_bytes());
            s.extend(0u64.to_le_bytes());
            s
        };
        f.extend(section(0, 0, 0, 0));
        f.extend(section(1, 7, note_off, note.len() as u64)); // SHT_NOTE
        f.extend(section(11, 3, strtab_off, shstrtab.len() as u64)); // SHT_STRTAB
        f
    }

    #[test]
    fn notes_and_header_tell_the_system() {
        let fb = elf_with_note(ELFOSABI_FREEBSD, 62, "FreeBSD", 1, &1_400_097u32.to_le_bytes());
        let a = read(&fb).unwrap();
        assert_eq!((a.os.clone(), a.arch.as_str()), (Os::FreeBsd { major: Some(14) }, "amd64"));
        let mut desc = vec![];
        for w in [0u32, 3, 2, 0] {
            desc.extend(w.to_le_bytes());
        }
        let linux = elf_with_note(ELFOSABI_SYSV, 183, "GNU", 1, &desc);
        let a = read(&linux).unwrap();
        assert_eq!(a.arch, "aarch64");
        assert!(matches!(&a.os, Os::Other(s) if s.contains("GNU/Linux 3.2.0") && s.contains("SYSV")), "{a:?}");
        // The header alone says FreeBSD, without a version.
        let bare = elf_with_note(ELFOSABI_FREEBSD, 62, "Other", 9, &[]);
        assert_eq!(read(&bare).unwrap().os, Os::FreeBsd { major: None });
        assert!(read(b"\x7fELFjunk").is_err());
    }

    #[test]
    fn this_hosts_own_programs_are_read() {
        let exe = std::env::current_exe().unwrap();
        let a = read(&std::fs::read(&exe).unwrap()).unwrap();
        if std::env::consts::OS == "freebsd" {
            assert!(matches!(a.os, Os::FreeBsd { major: Some(_) }), "{a:?}");
        } else {
            assert!(matches!(a.os, Os::Other(_)), "{a:?}");
        }
        if std::env::consts::ARCH == "x86_64" {
            assert_eq!(a.arch, "amd64");
        }
    }

    #[test]
    fn one_abi_from_agreeing_freebsd_files_only() {
        let fb = |m| abi(Os::FreeBsd { major: Some(m) }, "amd64", &["libc.so.7", "libssl.so.30"]);
        let files = vec![(PathBuf::from("/usr/local/sbin/sendmail"), fb(14)), ("/usr/local/bin/x".into(), fb(14))];
        assert_eq!(freebsd_abi(&files).unwrap(), "FreeBSD:14:amd64");
        let mixed = vec![files[0].clone(), ("/usr/local/bin/y".into(), fb(13))];
        assert!(freebsd_abi(&mixed).unwrap_err().contains("do not agree"));
        let linux = vec![
            files[0].clone(),
            ("/usr/local/bin/z".into(), abi(Os::Other("GNU/Linux 3.2.0".into()), "amd64", &["libc.so.6"])),
        ];
        let err = freebsd_abi(&linux).unwrap_err();
        assert!(err.contains("1 of its 2") && err.contains("e.g. z: GNU/Linux 3.2.0 amd64"), "{err}");
        assert!(freebsd_abi(&[]).is_err());
        let none = vec![(PathBuf::from("/a"), abi(Os::FreeBsd { major: None }, "amd64", &[]))];
        assert!(freebsd_abi(&none).is_err());
    }

    #[test]
    fn shlibs_leave_out_shipped_and_base_libraries() {
        let files = vec![
            (
                PathBuf::from("/usr/local/sbin/sendmail"),
                abi(Os::Other("x".into()), "amd64", &["libssl.so.3", "libc.so.6"]),
            ),
            ("/usr/local/lib/libfoo.so.1".into(), abi(Os::Other("x".into()), "amd64", &["libc.so.6"])),
            ("/usr/local/bin/v".into(), abi(Os::Other("x".into()), "amd64", &["libfoo.so.1", "libdb-5.3.so"])),
        ];
        assert_eq!(shlibs_required(&files, &|_| false), ["libc.so.6", "libdb-5.3.so", "libssl.so.3"]);
        assert_eq!(shlibs_required(&files, &|n| n.starts_with("libc.")), ["libdb-5.3.so", "libssl.so.3"]);
    }

    #[test]
    fn abi_form() {
        assert_eq!(crate::host::parse_abi("FreeBSD:14:amd64").unwrap(), (14, "amd64"));
        for bad in ["FreeBSD:14", "Linux:6:amd64", "FreeBSD:x:amd64", "FreeBSD:14:amd64:extra", "", "FreeBSD:14:"] {
            assert!(crate::host::parse_abi(bad).is_err(), "{bad}");
        }
    }
}

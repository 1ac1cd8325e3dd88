//! The one build time of a package run: `SOURCE_DATE_EPOCH` when set
//! (strictly parsed), otherwise derived from the source release itself, so
//! every rebuild of the same release stamps the same time.

use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;
use std::path::Path;

/// Where the build time came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Environment,
    /// The newest modification time among the source tarball's entries.
    SourceRelease,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildTime {
    pub(crate) secs: u64,
    pub origin: Origin,
}

impl BuildTime {
    pub(crate) fn describe(&self) -> String {
        let how = match self.origin {
            Origin::Environment => "from SOURCE_DATE_EPOCH",
            Origin::SourceRelease => "from the source release (SOURCE_DATE_EPOCH unset)",
        };
        format!("{} ({}, {how})", self.secs, rfc2822(self.secs))
    }
}

/// The latest time every archive header the packages use can hold: a
/// ustar header's mtime is 11 octal digits (8^11 - 1, in the year 2242),
/// tighter than `ar`'s 12 decimal digits; gzip headers carry 0 and the pkg
/// manifest a plain integer.
pub(crate) const MAX_SECS: u64 = 0o77_777_777_777;

/// Parses a SOURCE_DATE_EPOCH value: ASCII digits only (no sign, space or
/// fraction), no later than [`MAX_SECS`]. Anything else is an error, as the
/// reproducible-builds specification asks.
pub(crate) fn parse_source_date_epoch(value: &str) -> Result<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        bail!(
            "SOURCE_DATE_EPOCH={value:?} is malformed: expected a non-negative integer number of seconds since \
             1970-01-01 UTC (digits only, e.g. 1735689600); unset it to use the source release's own date"
        );
    }
    match value.parse::<u64>() {
        Ok(secs) if secs <= MAX_SECS => Ok(secs),
        _ => bail!(
            "SOURCE_DATE_EPOCH={value} is out of range: the packages' archive headers (ustar mtime, 11 octal \
             digits) hold at most {MAX_SECS} ({}); use a time no later than that, or unset it",
            rfc2822(MAX_SECS)
        ),
    }
}

/// Checks SOURCE_DATE_EPOCH in the environment, if set, before any work.
pub(crate) fn check_environment() -> Result<()> {
    match std::env::var_os("SOURCE_DATE_EPOCH") {
        None => Ok(()),
        Some(v) => match v.to_str() {
            Some(s) => parse_source_date_epoch(s).map(drop),
            None => bail!("SOURCE_DATE_EPOCH is not valid UTF-8: expected digits only"),
        },
    }
}

/// The newest mtime among the entries of a `.tar.gz`; never 0.
pub(crate) fn newest_entry_mtime(tarball: &Path) -> Result<u64> {
    let f = std::fs::File::open(tarball).with_context(|| {
        format!(
            "opening the source tarball {} to derive the build time from it: run `cargo xtask fetch`, \
             or set SOURCE_DATE_EPOCH",
            tarball.display()
        )
    })?;
    let mut archive = tar::Archive::new(GzDecoder::new(std::io::BufReader::new(f)));
    let mut newest = 0;
    for entry in archive.entries().with_context(|| format!("reading {}", tarball.display()))? {
        let entry = entry.with_context(|| format!("reading an entry of {}", tarball.display()))?;
        newest = newest.max(entry.header().mtime().unwrap_or(0));
    }
    if newest == 0 {
        bail!(
            "{} has no dated entries, so no build time can be derived from it: set SOURCE_DATE_EPOCH",
            tarball.display()
        );
    }
    Ok(newest)
}

/// SOURCE_DATE_EPOCH if set (malformed is an error), else the tarball's
/// newest entry.
pub(crate) fn build_time(env: Option<&str>, tarball: &Path) -> Result<BuildTime> {
    match env {
        Some(v) => Ok(BuildTime { secs: parse_source_date_epoch(v)?, origin: Origin::Environment }),
        None => Ok(BuildTime { secs: newest_entry_mtime(tarball)?, origin: Origin::SourceRelease }),
    }
}

/// The build time for this process: reads SOURCE_DATE_EPOCH from the
/// environment; a value that is not valid UTF-8 is malformed too.
pub(crate) fn from_environment(tarball: &Path) -> Result<BuildTime> {
    match std::env::var_os("SOURCE_DATE_EPOCH") {
        None => build_time(None, tarball),
        Some(v) => match v.to_str() {
            Some(s) => build_time(Some(s), tarball),
            None => bail!("SOURCE_DATE_EPOCH is not valid UTF-8: expected digits only"),
        },
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// RFC 2822 date in UTC, as Debian changelogs want it:
/// `Sat, 27 Dec 2025 00:00:00 +0000`.
pub(crate) fn rfc2822(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} +0000",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parsing() {
        assert_eq!(parse_source_date_epoch("1735689600").unwrap(), 1_735_689_600);
        assert_eq!(parse_source_date_epoch("0").unwrap(), 0);
        for bad in ["", " 1", "1 ", "+1", "-1", "1.5", "1e9", "0x10", "１"] {
            let e = parse_source_date_epoch(bad).unwrap_err().to_string();
            assert!(e.contains("malformed"), "{bad:?}: {e}");
        }
        assert_eq!(parse_source_date_epoch("8589934591").unwrap(), MAX_SECS);
        for big in ["8589934592", "1000000000000", "9999999999999999999", "12345678901234567890"] {
            let e = parse_source_date_epoch(big).unwrap_err().to_string();
            assert!(e.contains("out of range") && e.contains("8589934591"), "{big}: {e}");
        }
    }

    #[test]
    fn the_latest_time_fits_every_header() {
        let mut h = tar::Header::new_ustar();
        h.set_mtime(MAX_SECS);
        assert_eq!(&h.as_ustar().unwrap().mtime, b"77777777777\0");
        let a = crate::archive::ar(&[("x", b"")], MAX_SECS).unwrap();
        assert_eq!(&a[8 + 16..8 + 28], b"8589934591  ");
    }

    #[test]
    fn dates() {
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc2822(951_782_400), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(rfc2822(1_766_793_600 + 3661), "Sat, 27 Dec 2025 01:01:01 +0000");
        assert_eq!(rfc2822(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 +0000");
        assert_eq!(rfc2822(MAX_SECS), "Wed, 16 Mar 2242 12:56:31 +0000");
    }

    #[test]
    fn newest_mtime_of_a_tarball() {
        let dir = std::env::temp_dir().join(format!("smtls-epoch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.tar.gz");
        let gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, mtime) in [("a", 1_600_000_000u64), ("b", 1_700_000_000), ("c", 1_650_000_000)] {
            let mut h = tar::Header::new_ustar();
            h.set_size(0);
            h.set_mtime(mtime);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, &[][..]).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
        assert_eq!(newest_entry_mtime(&path).unwrap(), 1_700_000_000);
        let t = build_time(None, &path).unwrap();
        assert_eq!(t.origin, Origin::SourceRelease);
        assert_eq!(build_time(Some("42"), &path).unwrap(), BuildTime { secs: 42, origin: Origin::Environment });
        assert!(build_time(Some("42 "), &path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

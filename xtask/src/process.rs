//! Running a process and capturing what it says: one way, with errors that
//! name the command line, its exit status and the end of its stderr.

use anyhow::{bail, Context, Result};
use std::process::{Command, Output, Stdio};

/// The command line as the user would type it (program and arguments).
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` with no input, captures stdout and stderr, and fails unless it
/// exits 0.
pub fn output(cmd: &mut Command) -> Result<Output> {
    let line = describe(cmd);
    let out = cmd.stdin(Stdio::null()).output().with_context(|| format!("running {line}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.trim_end().lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "{line} failed ({}){}",
            out.status,
            if tail.is_empty() { String::new() } else { format!(": {}", tail.join("\n")) }
        );
    }
    Ok(out)
}

/// [`output`]'s stdout as text, surrounding whitespace trimmed.
pub fn stdout(cmd: &mut Command) -> Result<String> {
    Ok(String::from_utf8_lossy(&output(cmd)?.stdout).trim().to_string())
}

/// The trimmed stdout of a command that may be missing or may fail (a
/// probe of the host): `None` then, or when it prints nothing.
pub fn probe(cmd: &mut Command) -> Option<String> {
    stdout(cmd).ok().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_failure_and_missing() {
        assert_eq!(stdout(Command::new("sh").args(["-c", "echo ' hi '"])).unwrap(), "hi");
        let err = output(Command::new("sh").args(["-c", "echo oops >&2; exit 3"])).unwrap_err().to_string();
        assert!(err.contains("sh -c echo oops >&2; exit 3 failed") && err.contains("oops"), "{err}");
        assert_eq!(probe(&mut Command::new("/nonexistent/smtls-no-such-tool")), None);
        assert_eq!(probe(Command::new("sh").args(["-c", "true"])), None);
    }
}

//! The one template mechanism: text files in `xtask/templates/` (and the
//! m4 fragments of `site-configs/`) with `@NAME@` placeholders, filled from
//! named values. A placeholder the caller does not give is an error.

use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where the templates live in the repository.
pub fn dir() -> PathBuf {
    crate::util::workspace_root().join("xtask").join("templates")
}

/// The template `name` of [`dir`], filled.
pub(crate) fn render(name: &str, vars: &BTreeMap<&str, String>) -> Result<String> {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading template {}", path.display()))?;
    fill(name, &text, vars)
}

/// Fills `@NAME@` placeholders; an unknown one is an error.
pub(crate) fn fill(name: &str, text: &str, vars: &BTreeMap<&str, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('@') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('@') {
            Some(end) if is_placeholder(&after[..end]) => {
                let key = &after[..end];
                let value = vars
                    .get(key)
                    .with_context(|| format!("fragment {name} uses @{key}@, which the generator does not know"))?;
                out.push_str(value);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('@');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_placeholder(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_refused() {
        let vars = BTreeMap::from([("NAME", "x".to_string())]);
        assert_eq!(fill("t", "a @NAME@ b@c.d @@ @lower@", &vars).unwrap(), "a x b@c.d @@ @lower@");
        let err = fill("t", "@OTHER@", &vars).unwrap_err().to_string();
        assert!(err.contains("@OTHER@") && err.contains('t'), "{err}");
    }
}

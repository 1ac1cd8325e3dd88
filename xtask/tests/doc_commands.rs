//! Every `cargo xtask ...` command the README and docs/*.md show must exist:
//! the real binary's `<command> --help` exits 0, and every long option shown
//! with it appears in that help.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn docs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf();
    let mut files = vec![root.join("README.md")];
    let mut more: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ exists")
        .map(|e| e.expect("readable docs/").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    more.sort();
    files.extend(more);
    files
}

/// The commands shown in a Markdown text: (subcommand, long options), from
/// code spans and code blocks. Global options before the subcommand count
/// for it.
fn commands(text: &str) -> Vec<(String, Vec<String>)> {
    let mut snippets = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            snippets.push(line.split(" #").next().unwrap_or("").to_string());
        } else {
            snippets.extend(line.split('`').skip(1).step_by(2).map(str::to_string));
        }
    }
    let mut out = Vec::new();
    for s in snippets {
        let mut rest = s.as_str();
        while let Some(at) = rest.find("cargo xtask") {
            rest = &rest[at + "cargo xtask".len()..];
            let end = rest.find(['&', ';', '|', '`']).map_or(rest.len(), |e| {
                // `\|` inside a table cell is an alternative, not a pipe.
                if rest[..e].ends_with('\\') {
                    rest.len()
                } else {
                    e
                }
            });
            let words: Vec<&str> = rest[..end].split_whitespace().collect();
            let mut sub = None;
            let mut flags = Vec::new();
            let mut i = 0;
            while i < words.len() {
                let w = words[i].trim_start_matches('[');
                if let Some(flag) = w.strip_prefix("--") {
                    let flag: String = flag.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
                    flags.push(format!("--{flag}"));
                } else if sub.is_none() && w.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && !w.contains('/')
                {
                    // A global option's value (e.g. `--work-dir DIR`) is upper case or a path.
                    if i == 0 || !words[i - 1].starts_with("--") || words[i - 1].contains('=') {
                        sub = Some(w.to_string());
                    }
                }
                i += 1;
            }
            if let Some(sub) = sub {
                out.push((sub, flags));
            }
        }
    }
    out
}

#[test]
fn every_command_in_the_docs_parses() {
    let mut shown: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for file in docs() {
        let text = std::fs::read_to_string(&file).expect("readable doc");
        let name = file.file_name().expect("a file").to_string_lossy().to_string();
        for (sub, flags) in commands(&text) {
            let entry = shown.entry(sub).or_default();
            entry.push((name.clone(), String::new()));
            entry.extend(flags.into_iter().map(|f| (name.clone(), f)));
        }
    }
    assert!(shown.contains_key("dist") && shown.contains_key("smoke"), "README shows dist and smoke: {shown:?}");
    let mut failures = Vec::new();
    for (sub, uses) in &shown {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask")).args([sub.as_str(), "--help"]).output().expect("run xtask");
        if !out.status.success() {
            let files: Vec<&str> = uses.iter().map(|(f, _)| f.as_str()).collect();
            failures.push(format!("`cargo xtask {sub} --help` fails (shown in {files:?})"));
            continue;
        }
        let help = String::from_utf8_lossy(&out.stdout);
        for (file, flag) in uses.iter().filter(|(_, f)| !f.is_empty()) {
            if !help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).any(|w| w == flag) {
                failures.push(format!("{file}: `cargo xtask {sub}` has no option {flag}"));
            }
        }
    }
    assert!(failures.is_empty(), "commands in the docs that do not parse:\n{}", failures.join("\n"));
}

#[test]
fn commands_are_read_from_spans_and_blocks() {
    let text = "run `cargo xtask fetch [--from auto\\|cache]` then\n```sh\ncargo xtask --work-dir DIR dist --force   # all\n```\n";
    assert_eq!(
        commands(text),
        vec![
            ("fetch".to_string(), vec!["--from".to_string()]),
            ("dist".to_string(), vec!["--work-dir".to_string(), "--force".to_string()])
        ]
    );
}

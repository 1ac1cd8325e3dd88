//! No test passes without testing: none prints that it skipped and then
//! counts as passed, none returns before its first assertion. A test that
//! cannot run where it is run fails with the reason, or is
//! `#[ignore = "reason"]` so the runner reports it as ignored.

use std::path::{Path, PathBuf};

#[test]
fn no_test_prints_skipped_or_returns_before_asserting() {
    let root = smtls_tests::workspace_root();
    let mut files = Vec::new();
    for dir in ["tests/tests", "tests/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 10, "the test sources were not found under {}", root.display());
    let mut found = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f.strip_prefix(&root).unwrap().display().to_string();
        found.extend(findings(&name, &text));
    }
    assert!(found.is_empty(), "tests that can pass without testing:\n{}", found.join("\n"));
}

/// The control: the check finds both kinds in a crafted source, and lets a
/// return after an assertion and a return inside a helper pass.
#[test]
fn the_check_finds_a_skip_print_and_an_early_return() {
    let skip = ["SKIP", "PED"].concat();
    let src = format!(
        "#[test]\nfn a() {{\n    if x() {{\n        eprintln!(\"{skip}: no root\");\n        return;\n    }}\n    assert!(y());\n}}\n\
         #[test]\nfn b() -> Result<()> {{\n    let s = \"{{ return; }}\";\n    if z() {{ return Ok(()); }}\n    assert_eq!(1, 1);\n    Ok(())\n}}\n\
         #[test]\nfn c() {{\n    for i in 0..3 {{\n        assert!(i < 3);\n        return;\n    }}\n}}\n\
         fn helper() {{\n    if q() {{\n        return;\n    }}\n}}\n"
    );
    let f = findings("fixture.rs", &src);
    assert_eq!(f.len(), 3, "{f:#?}");
    assert!(f[0].starts_with("fixture.rs:4: prints that it skipped"), "{f:#?}");
    assert!(f[1].starts_with("fixture.rs:5: test `a` returns before"), "{f:#?}");
    assert!(f[2].starts_with("fixture.rs:12: test `b` returns before"), "{f:#?}");
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// What in one source file lets a test pass untested, as `file:line: why`.
fn findings(name: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let skip = ["SKIP", "PED"].concat();
    for (i, l) in text.lines().enumerate() {
        let print = ["println!(", "eprintln!(", "print!(", "eprint!("].iter().any(|p| l.trim_start().starts_with(p));
        if print && (l.contains(&skip) || l.to_lowercase().contains("\"skipping")) {
            out.push(format!("{name}:{}: prints that it skipped and passes: {}", i + 1, l.trim()));
        }
    }
    let code = blank_literals(text);
    let line_of = |pos: usize| text[..pos].matches('\n').count() + 1;
    let mut at = 0;
    while let Some(off) = code[at..].find("#[test]") {
        let attr = at + off;
        at = attr + 7;
        let Some(fn_off) = code[at..].find("fn ") else { break };
        let fn_at = at + fn_off;
        let fn_name: String = code[fn_at + 3..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let Some(open) = code[fn_at..].find('{').map(|o| fn_at + o) else { break };
        let close = matching_brace(&code, open);
        let body = &code[open..close];
        let first_assert = ["assert!", "assert_eq!", "assert_ne!", "panic!"]
            .iter()
            .filter_map(|a| body.find(a))
            .min()
            .unwrap_or(body.len());
        let mut r = 0;
        while let Some(o) = body[r..].find("return") {
            let pos = r + o;
            r = pos + 6;
            let before_ok = pos == 0 || !is_ident(body.as_bytes()[pos - 1]);
            let after = body[pos + 6..].trim_start();
            let bare = after.starts_with(';') || after.starts_with("Ok(())");
            if before_ok && bare && pos < first_assert {
                out.push(format!(
                    "{name}:{}: test `{fn_name}` returns before its first assertion",
                    line_of(open + pos)
                ));
            }
        }
        at = close;
    }
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The index of the `}` closing the `{` at `open` (or the end).
fn matching_brace(code: &str, open: usize) -> usize {
    let mut depth = 0;
    for (i, b) in code.bytes().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// The source with the insides of comments, strings and character literals
/// replaced by spaces (same length, same lines), so braces and words in
/// them are not taken for code.
fn blank_literals(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(b.len(), |e| i + e);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
                blank(&mut out, i, end);
                i = end;
            }
            b'r' if (b.get(i + 1) == Some(&b'#') || b.get(i + 1) == Some(&b'"')) && (i == 0 || !is_ident(b[i - 1])) => {
                let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let start = i + 2 + hashes;
                let end = text[start..].find(&close).map_or(b.len(), |e| start + e + close.len());
                blank(&mut out, start, end - close.len());
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1, j);
                i = j + 1;
            }
            b'\'' => {
                // A character literal ('x', '\n', '\''), not a lifetime.
                let len = if b.get(i + 1) == Some(&b'\\') {
                    b[i + 2..].iter().position(|c| *c == b'\'').map(|p| p + 3)
                } else {
                    let ch = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (b.get(i + 1 + ch) == Some(&b'\'')).then_some(ch + 2)
                };
                match len {
                    Some(n) => {
                        blank(&mut out, i + 1, i + n - 1);
                        i += n;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8: only ASCII spaces replace whole literals")
}

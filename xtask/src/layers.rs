//! The layering rule of docs/architecture.md, checked: a module imports only
//! modules of a lower row of the table there. The table is read from that
//! file, so it is written down once.

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
    }

    /// Module name -> row, from the `layers` block of docs/architecture.md.
    fn rows(doc: &str) -> BTreeMap<String, usize> {
        let block = doc.split("<!-- layers:").nth(1).expect("docs/architecture.md has a `<!-- layers:` block");
        let body = block.split("```text").nth(1).and_then(|b| b.split("```").next()).expect("a ```text block");
        let mut rows = BTreeMap::new();
        for (row, line) in body.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            for m in line.split_whitespace() {
                assert!(rows.insert(m.to_string(), row).is_none(), "{m} is in two rows of the layer table");
            }
        }
        rows
    }

    /// The top-level modules a source text names: `crate::x` anywhere, and
    /// each name of a `use crate::{a, b::c}` group.
    fn imports(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
        let mut rest = code.as_str();
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().last();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // e.g. `xtask_crate::`, not ours
            }
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0usize;
                let mut item = String::new();
                let mut at_start = true;
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            if at_start && !item.is_empty() {
                                out.push(std::mem::take(&mut item));
                            }
                            at_start = true;
                            continue;
                        }
                        _ => {}
                    }
                    if depth == 0 && at_start {
                        if c.is_alphanumeric() || c == '_' {
                            item.push(c);
                        } else if !item.is_empty() {
                            out.push(std::mem::take(&mut item));
                            at_start = false;
                        }
                    }
                }
                if at_start && !item.is_empty() {
                    out.push(item);
                }
            } else {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
        out
    }

    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("readable source dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn no_module_imports_one_above_it() {
        let doc = std::fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md");
        let rows = rows(&doc);
        let src = root().join("xtask/src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        files.sort();
        let mut broken = Vec::new();
        for f in &files {
            let rel = f.strip_prefix(&src).expect("under src");
            let first = rel.components().next().expect("a path").as_os_str().to_string_lossy().to_string();
            let module = first.trim_end_matches(".rs").to_string();
            if matches!(module.as_str(), "lib" | "main" | "layers") {
                continue;
            }
            let Some(&row) = rows.get(&module) else {
                broken.push(format!("{}: module `{module}` is not in the layer table", rel.display()));
                continue;
            };
            let text = std::fs::read_to_string(f).expect("readable source");
            for used in imports(&text) {
                if used == module {
                    continue;
                }
                match rows.get(&used) {
                    None => {
                        broken.push(format!("{}: imports `{used}`, which is not in the layer table", rel.display()))
                    }
                    Some(&r) if r >= row => broken.push(format!(
                        "{}: `{module}` (row {}) imports `{used}` (row {}): only lower rows may be imported",
                        rel.display(),
                        row + 1,
                        r + 1
                    )),
                    Some(_) => {}
                }
            }
        }
        assert!(broken.is_empty(), "the layering of docs/architecture.md is broken:\n{}", broken.join("\n"));
    }

    #[test]
    fn imports_are_read_from_paths_and_groups() {
        let text = "use crate::{plan::Plan, progress, util::{a, b}};\n// crate::bench\nlet x = crate::digest::hex(y);";
        assert_eq!(imports(text), vec!["plan", "progress", "util", "digest"]);
        let table = rows("<!-- layers: -->\n```text\na b\nc\n```\n");
        assert_eq!(table.get("b"), Some(&0));
        assert_eq!(table.get("c"), Some(&1));
    }
}

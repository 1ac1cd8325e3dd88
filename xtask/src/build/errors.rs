//! What a failed build says first: the compiler's or linker's first
//! `error:` lines and the make target that failed, not the last lines of a
//! log that end in warnings.

/// The most error lines shown (the first ones: later errors often follow
/// from the first).
const MAX_ERRORS: usize = 5;
/// Lines shown when the log holds no recognisable error.
const FALLBACK_TAIL: usize = 15;

fn is_error(line: &str) -> bool {
    let l = line.trim_start();
    l.contains(": error:")
        || l.contains(": fatal error:")
        || l.starts_with("error:")
        || l.contains("undefined reference to")
        || l.starts_with("collect2: error")
        || l.starts_with("ERROR:")
        || (l.starts_with("m4:") && l.contains("ERROR"))
        || l.contains("No rule to make target")
}

/// A make line naming the target that failed (`make[1]: *** [Makefile:12: x.o] Error 1`).
fn is_make_failure(line: &str) -> bool {
    let l = line.trim_start();
    (l.starts_with("make") || l.starts_with("gmake") || l.starts_with("bmake")) && l.contains("***")
}

/// gcc's source excerpt under an error: `   12 |   x = 1;` and the caret line.
fn is_excerpt(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('|') || t.split_once(" |").is_some_and(|(n, _)| n.trim().bytes().all(|b| b.is_ascii_digit()))
}

/// The summary of a failed build's log: the first error lines (with gcc's
/// excerpt under the first), the first make failure line, or the log's
/// last lines when neither is there. Each line indented `    | `.
pub(crate) fn summarize(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let mut out = Vec::new();
    let mut errors = 0;
    let mut i = 0;
    while i < lines.len() && errors < MAX_ERRORS {
        if is_error(lines[i]) {
            out.push(format!("    | {}", lines[i]));
            errors += 1;
            if errors == 1 {
                for l in lines[i + 1..].iter().take(2).take_while(|l| is_excerpt(l)) {
                    out.push(format!("    | {l}"));
                }
            }
        }
        i += 1;
    }
    let make: Vec<&str> = lines.iter().copied().filter(|l| is_make_failure(l)).collect();
    if errors == 0 && make.is_empty() {
        let tail = &lines[lines.len().saturating_sub(FALLBACK_TAIL)..];
        return format!(
            "no error line found; last lines:\n{}",
            tail.iter().map(|l| format!("    | {l}")).collect::<Vec<_>>().join("\n")
        );
    }
    let mut text = String::new();
    if errors > 0 {
        let more = lines.iter().filter(|l| is_error(l)).count().saturating_sub(errors);
        let and_more = if more > 0 { format!(" ({more} more in the log)") } else { String::new() };
        text.push_str(&format!("first error{}{and_more}:\n{}", if errors > 1 { "s" } else { "" }, out.join("\n")));
    }
    if let Some(first) = make.first() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&format!("failed make target:\n    | {}", first.trim()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy_log() -> String {
        let mut log = String::from("cc -O2 -c main.c\n");
        log.push_str("main.c:42:9: error: 'tls_ctx' undeclared (first use in this function)\n");
        log.push_str("   42 |         tls_ctx = NULL;\n");
        log.push_str("      |         ^~~~~~~\n");
        for i in 0..30 {
            log.push_str(&format!(
                "tls.c:{i}:3: warning: 'SSL_CTX_set_tmp_dh' is deprecated [-Wdeprecated-declarations]\n"
            ));
        }
        log.push_str("make[1]: *** [Makefile:120: main.o] Error 1\n");
        log.push_str("make: *** [Makefile:5: all] Error 2\n");
        log
    }

    #[test]
    fn the_first_error_and_the_failed_target_come_first_not_the_warnings() {
        let s = summarize(&noisy_log());
        assert!(s.starts_with("first error:\n    | main.c:42:9: error: 'tls_ctx' undeclared"), "{s}");
        assert!(s.contains("    |    42 |         tls_ctx = NULL;"), "{s}");
        assert!(s.contains("failed make target:\n    | make[1]: *** [Makefile:120: main.o] Error 1"), "{s}");
        assert!(!s.contains("deprecated"), "{s}");
    }

    #[test]
    fn linker_errors_and_many_errors() {
        let mut log = String::new();
        for i in 0..8 {
            log.push_str(&format!(
                "ld: sendmail.o: in function `f{i}':\nx.c:(.text+0x1): undefined reference to `SSL_new'\n"
            ));
        }
        log.push_str("collect2: error: ld returned 1 exit status\n");
        let s = summarize(&log);
        assert!(s.starts_with("first errors (4 more in the log):"), "{s}");
        assert_eq!(s.matches("undefined reference").count(), 5);
    }

    #[test]
    fn without_an_error_line_the_tail_is_shown() {
        let log: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let s = summarize(&log);
        assert!(s.starts_with("no error line found; last lines:"), "{s}");
        assert!(s.contains("line 39") && !s.contains("line 24\n"), "{s}");
    }
}

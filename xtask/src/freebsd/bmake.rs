//! Just enough of bmake's line syntax for careful edits: physical lines
//! kept with their endings (joining them gives the text back byte for
//! byte), conditional directives and their matching `.endif`, variable
//! assignments, continuation lines, and where on a line new words go.

/// The physical lines, each with its line ending.
pub(crate) fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// A conditional directive (`.if`, `. ifdef`, `.endif` ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Directive<'a> {
    /// `.if`, `.ifdef`, `.ifndef`, `.ifmake`, `.ifnmake` and the condition.
    If(&'a str),
    /// `.else`, `.elif` and friends.
    Else,
    Endif,
    /// Any other directive (`.include`, `.for` ...).
    Other,
}

/// Classifies a line that starts with `.` and a directive keyword; `None`
/// for everything else (including targets such as `.PATH:`).
pub(crate) fn directive(line: &str) -> Option<Directive<'_>> {
    let rest = line.strip_prefix('.')?.trim_start_matches([' ', '\t']);
    let end = rest.find(|c: char| !c.is_ascii_lowercase()).unwrap_or(rest.len());
    let (word, cond) = rest.split_at(end);
    if word.is_empty() {
        return None;
    }
    Some(match word {
        "if" | "ifdef" | "ifndef" | "ifmake" | "ifnmake" => Directive::If(cond.trim()),
        "endif" => Directive::Endif,
        w if w.starts_with("el") => Directive::Else,
        _ => Directive::Other,
    })
}

/// The index of the `.endif` closing the conditional opened at `start`.
pub(crate) fn block_end(lines: &[&str], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, l) in lines.iter().enumerate().skip(start) {
        match directive(l) {
            Some(Directive::If(_)) => depth += 1,
            Some(Directive::Endif) => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// A line without its ending (`\n` or `\r\n`).
pub(crate) fn body(line: &str) -> &str {
    line.trim_end_matches('\n').trim_end_matches('\r')
}

/// True when the line continues on the next one (an odd number of
/// trailing backslashes).
pub(crate) fn continues(line: &str) -> bool {
    let b = body(line);
    (b.len() - b.trim_end_matches('\\').len()) % 2 == 1
}

/// Groups physical lines `from..to` into logical lines: index ranges of
/// lines joined by trailing backslashes.
pub(crate) fn logical(lines: &[&str], from: usize, to: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = vec![];
    let mut i = from;
    while i < to {
        let start = i;
        while i + 1 < to && continues(lines[i]) {
            i += 1;
        }
        i += 1;
        out.push(start..i);
    }
    out
}

/// A variable assignment's name and operator (`CFLAGS`, `+=`).
pub(crate) fn assignment(line: &str) -> Option<(&str, &str)> {
    let name_end = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(line.len());
    if name_end == 0 {
        return None;
    }
    let (name, rest) = line.split_at(name_end);
    let rest = rest.trim_start_matches([' ', '\t']);
    ["+=", "?=", ":=", "!=", "="].into_iter().find(|op| rest.starts_with(op)).map(|op| (name, op))
}

/// The words of a line's value part: after the operator of an assignment
/// (or the whole line for a continuation), before a comment and a
/// trailing backslash.
pub(crate) fn words(line: &str) -> Vec<&str> {
    let content = &line[..content_end(line)];
    let value = match assignment(content) {
        Some((_, op)) => {
            let at = content.find(op).expect("the operator was found in this line");
            &content[at + op.len()..]
        }
        None => content,
    };
    value.split_whitespace().collect()
}

/// Where the last word of a line ends: before a comment (an unescaped
/// `#`), a trailing backslash, blanks and the line ending. New words are
/// inserted here.
pub(crate) fn content_end(line: &str) -> usize {
    let b = body(line);
    let mut end = b.len();
    let bytes = b.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        if c == b'#' && (i == 0 || bytes[i - 1] != b'\\') {
            end = i;
            break;
        }
    }
    let mut s = &b[..end];
    if end == b.len() && continues(line) {
        s = &s[..s.len() - 1];
    }
    s.trim_end_matches([' ', '\t']).len()
}

/// The names defined by `-DNAME` or `-DNAME=VALUE` words.
pub(crate) fn defines<'a>(words: &[&'a str]) -> Vec<&'a str> {
    words.iter().filter_map(|w| w.strip_prefix("-D")).map(|d| d.split('=').next().unwrap_or(d)).collect()
}

/// 1-based line numbers for messages.
pub(crate) fn line_no(index: usize) -> usize {
    index + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        let t = "a\r\nb\n\nc";
        assert_eq!(lines(t).concat(), t);
        assert_eq!(lines(t), ["a\r\n", "b\n", "\n", "c"]);
    }

    #[test]
    fn directives() {
        assert_eq!(directive(".if ${MK_OPENSSL} != \"no\"\n"), Some(Directive::If("${MK_OPENSSL} != \"no\"")));
        assert_eq!(directive(".  ifdef X\n"), Some(Directive::If("X")));
        assert_eq!(directive(".endif\n"), Some(Directive::Endif));
        assert_eq!(directive(".else\n"), Some(Directive::Else));
        assert_eq!(directive(".include <bsd.prog.mk>\n"), Some(Directive::Other));
        assert_eq!(directive(".PATH: ${SMDIR}\n"), None);
        assert_eq!(directive("CFLAGS+= -DX\n"), None);
    }

    #[test]
    fn nested_blocks_match() {
        let l = lines(".if A\n.if B\nx\n.endif\ny\n.endif\n.endif\n");
        assert_eq!(block_end(&l, 0), Some(5));
        assert_eq!(block_end(&l, 1), Some(3));
        assert_eq!(block_end(&lines(".if A\n"), 0), None);
    }

    #[test]
    fn assignments_and_words() {
        assert_eq!(assignment("CFLAGS+=\t-DSTARTTLS"), Some(("CFLAGS", "+=")));
        assert_eq!(assignment("PROG=\tsendmail"), Some(("PROG", "=")));
        assert_eq!(assignment("BINMODE ?= 2555"), Some(("BINMODE", "?=")));
        assert_eq!(assignment("\t-DX \\"), None);
        assert_eq!(words("CFLAGS+=\t-DSTARTTLS -DTLS_EC # tls\n"), ["-DSTARTTLS", "-DTLS_EC"]);
        assert_eq!(words("CFLAGS+= -DA \\\n"), ["-DA"]);
        assert_eq!(words("\t-DB\n"), ["-DB"]);
        assert_eq!(defines(&["-DA=1", "-I.", "-DB"]), ["A", "B"]);
    }

    #[test]
    fn content_end_skips_comments_continuations_and_blanks() {
        let l = "CFLAGS+= -DA  # c\n";
        assert_eq!(&l[..content_end(l)], "CFLAGS+= -DA");
        let l = "CFLAGS+= -DA \\\r\n";
        assert_eq!(&l[..content_end(l)], "CFLAGS+= -DA");
        let l = "X= a\\#b\n";
        assert_eq!(&l[..content_end(l)], "X= a\\#b");
        assert!(continues("a \\\n") && !continues("a \\\\\n") && !continues("a\n"));
        let l = lines("A= 1 \\\n 2\nB= 3\n");
        assert_eq!(logical(&l, 0, l.len()), vec![0..2, 2..3]);
    }
}

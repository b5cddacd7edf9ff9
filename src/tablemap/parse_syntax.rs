//! TOML syntax problems explained: a duplicate key names its first definition, a look-alike
//! Unicode character in a key is named, a duplicate table does not also report every key in
//! it; plus the layout helpers the structural check uses for its hints (which `[table]` a key
//! landed in, a direction written the wrong way).

use std::ops::Range;

use super::{Diagnostic, SourceFile, lookalike};

/// The diagnostics for the TOML parser's errors (`span`, `message`), explained.
pub(crate) fn problems(src: &SourceFile, errors: &[(Range<usize>, String)]) -> Vec<Diagnostic> {
    let lines = Lines::of(src);
    let mut out = Vec::new();
    // Lines of `[table]` headers that repeat an earlier one: the keys under them are not
    // reported again, they are duplicates only because their table is.
    let mut repeated_headers: Vec<usize> = Vec::new();
    for (span, message) in errors {
        let (line, _) = src.line_col(span.start);
        if message.contains("duplicate key") {
            let key = unquote(src.text.get(span.clone()).unwrap_or("").trim());
            if lines.is_header(line) {
                repeated_headers.push(line);
                let d = match lines.header_before(line, key) {
                    Some((first, col)) => src
                        .error(
                            span.clone(),
                            format!(
                                "TOML syntax: duplicate table `[{key}]`: first defined at {}:{first}:{col}",
                                src.path.display()
                            ),
                        )
                        .with_hint(format!(
                            "merge the two `[{key}]` tables into one; a table is written once"
                        )),
                    None => src
                        .error(span.clone(), format!("TOML syntax: duplicate table `[{key}]`"))
                        .with_hint(format!("merge the `[{key}]` tables into one; a table is written once")),
                };
                out.push(d);
                continue;
            }
            let section = lines.section_of(line);
            if section.is_some_and(|h| repeated_headers.contains(&h)) {
                continue;
            }
            let d = match lines.key_before(section.unwrap_or(0), line, key) {
                Some((first, col)) => src.error(
                    span.clone(),
                    format!(
                        "TOML syntax: duplicate key `{key}`: first defined at {}:{first}:{col}",
                        src.path.display()
                    ),
                ),
                None => src.error(span.clone(), format!("TOML syntax: duplicate key `{key}`")),
            };
            out.push(d.with_hint("a key is set once per table; keep one of the two"));
            continue;
        }
        let odd = src
            .text
            .get(span.start..)
            .and_then(|t| t.chars().next())
            .filter(|c| !c.is_ascii());
        if let Some(c) = odd {
            let what = lookalike::describe(&c.to_string()).unwrap_or_default();
            let key = lines.key_text(line);
            let ascii = lookalike::to_ascii(key);
            let hint = if ascii.is_ascii() && !ascii.is_empty() {
                format!("retype it in plain ASCII: `{ascii}`")
            } else {
                "retype it in plain ASCII letters, digits, `_` and `-`".to_string()
            };
            out.push(
                src.error(span.clone(), format!("TOML syntax: {message}: {what}"))
                    .with_hint(hint),
            );
            continue;
        }
        out.push(
            src.error(span.clone(), format!("TOML syntax: {message}"))
                .with_hint("fix the TOML syntax first; the map is checked once it parses"),
        );
    }
    out
}

/// The hint for a direction written in another notation (`<>`, `->`, `both`), when the
/// allowed values are the three directions.
pub(crate) fn direction_hint(written: &str, choices: &[&str]) -> Option<String> {
    let mut sorted = choices.to_vec();
    sorted.sort();
    if sorted != ["<", "=", ">"] {
        return None;
    }
    let w = written.trim().to_ascii_lowercase();
    let meant = if (w.contains('<') && w.contains('>')) || w == "==" || w.contains("both") || w.contains("two") {
        "="
    } else if w.contains('>') || w.contains("acc") {
        ">"
    } else if w.contains('<') || w.contains("op") {
        "<"
    } else {
        return None;
    };
    let means = match meant {
        "=" => "both ways",
        ">" => "operational to accounting",
        _ => "accounting to operational",
    };
    Some(format!(
        "did you mean \"{meant}\" ({means})? the directions are \">\" operational to accounting, \"<\" accounting to operational and \"=\" both ways"
    ))
}

/// The `[table]` or `[[table]]` header line that `offset` lies under: its 1-based line
/// number and its text. `None` at the top level.
pub(crate) fn table_header_before(src: &SourceFile, offset: usize) -> Option<(usize, String)> {
    let (line, _) = src.line_col(offset);
    let lines = Lines::of(src);
    let h = lines.section_of(line)?;
    Some((h, src.line_text(h).trim().to_string()))
}

/// A map file's lines, with which are table headers (outside multi-line strings).
struct Lines<'a> {
    src: &'a SourceFile,
    /// Per line (index = line - 1): whether it is a table header.
    headers: Vec<bool>,
    /// Per line: whether it starts inside a multi-line string.
    in_string: Vec<bool>,
}

impl<'a> Lines<'a> {
    fn of(src: &'a SourceFile) -> Self {
        let mut headers = Vec::new();
        let mut in_string = Vec::new();
        let mut open: Option<&str> = None;
        for text in src.text.split('\n') {
            in_string.push(open.is_some());
            headers.push(open.is_none() && text.trim_start().starts_with('['));
            for quote in ["\"\"\"", "'''"] {
                if open.is_none_or(|o| o == quote) && text.matches(quote).count() % 2 == 1 {
                    open = if open.is_some() { None } else { Some(quote) };
                }
            }
        }
        Lines {
            src,
            headers,
            in_string,
        }
    }

    fn is_header(&self, line: usize) -> bool {
        self.headers.get(line - 1).copied().unwrap_or(false)
    }

    /// The header line whose table holds `line` (the line itself if it is a header).
    fn section_of(&self, line: usize) -> Option<usize> {
        (1..=line).rev().find(|&l| self.is_header(l))
    }

    /// The line and column of an earlier `[key]` header.
    fn header_before(&self, line: usize, key: &str) -> Option<(usize, usize)> {
        (1..line).find_map(|l| {
            let text = self.src.line_text(l);
            let trimmed = text.trim();
            let name = trimmed.strip_prefix('[')?.split(']').next()?.trim();
            (self.is_header(l) && !trimmed.starts_with("[[") && unquote(name) == key)
                .then(|| (l, column_of(text, name)))
        })
    }

    /// The line and column where `key` is set in the table that starts at `from`, before `line`.
    fn key_before(&self, from: usize, line: usize, key: &str) -> Option<(usize, usize)> {
        (from.max(1)..line).find_map(|l| {
            if self.is_header(l) || self.in_string.get(l - 1).copied().unwrap_or(true) {
                return None;
            }
            let written = self.key_text(l);
            (unquote(written) == key).then(|| (l, column_of(self.src.line_text(l), written)))
        })
    }

    /// The key written on `line` (the text before `=`, trimmed), or the header's name.
    fn key_text(&self, line: usize) -> &'a str {
        let text = self.src.line_text(line).trim();
        match text.strip_prefix('[') {
            Some(rest) => rest.trim_start_matches('[').split(']').next().unwrap_or("").trim(),
            None => text.split('=').next().unwrap_or("").trim(),
        }
    }
}

fn unquote(key: &str) -> &str {
    key.strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .or_else(|| key.strip_prefix('\'').and_then(|k| k.strip_suffix('\'')))
        .unwrap_or(key)
}

/// The 1-based character column of `part` (a sub-slice or substring) within `line`.
fn column_of(line: &str, part: &str) -> usize {
    let byte = line.find(part).unwrap_or(0);
    line[..byte].chars().count() + 1
}

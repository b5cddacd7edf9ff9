//! Problems found in map files, and how they are shown to people: `file:line:column`, the
//! offending line with a caret under the exact spot, and a hint saying what to do.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A map file's text, with what is needed to turn byte offsets into lines and columns.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let column = self.text[start..offset].chars().count() + 1;
        (line + 1, column)
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts[line - 1];
        let end = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// A diagnostic pointing at `span` in this file.
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.line_col(span.start);
        let source_line = self.line_text(line).to_string();
        let end_col = if span.end > span.start {
            let (end_line, end_column) = self.line_col(span.end);
            if end_line == line {
                end_column
            } else {
                source_line.chars().count() + 1
            }
        } else {
            column + 1
        };
        Diagnostic {
            file: self.path.clone(),
            line,
            column,
            width: end_col.saturating_sub(column).max(1),
            source_line,
            message: message.into(),
            hint: None,
            notes: Vec::new(),
        }
    }
}

/// One problem in one map file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// How many characters the caret underlines.
    pub width: usize,
    /// The offending line as written.
    pub source_line: String,
    pub message: String,
    pub hint: Option<String>,
    /// Further places that take part in the problem, each `file:line:column` and what is there
    /// (for example every edge of a dependency cycle).
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_hint_opt(mut self, hint: Option<String>) -> Self {
        self.hint = hint;
        self
    }

    /// `file:line:column`, the location admins paste into their editor.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", display_path(&self.file), self.line, self.column)
    }
}

fn display_path(path: &Path) -> String {
    path.display().to_string()
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: error: {}", self.location(), self.message)?;
        let gutter = self.line.to_string().len();
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{} | {}", self.line, self.source_line)?;
        // Keep tabs so the caret lines up under the same characters.
        let pad: String = self
            .source_line
            .chars()
            .take(self.column - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        write!(f, "{:gutter$} | {pad}{}", "", "^".repeat(self.width))?;
        for note in &self.notes {
            write!(f, "\n{:gutter$} = note: {note}", "")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n{:gutter$} = hint: {hint}", "")?;
        }
        Ok(())
    }
}

/// The closest of `candidates` to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_line_and_caret() {
        let src = SourceFile::new("maps/a.toml", "name = \"a\"\nkye = [\"id\"]\n");
        let d = src.error(11..14, "unknown key `kye`").with_hint("did you mean `key`?");
        assert_eq!(d.location(), "maps/a.toml:2:1");
        assert_eq!(
            d.to_string(),
            "maps/a.toml:2:1: error: unknown key `kye`\n  |\n2 | kye = [\"id\"]\n  | ^^^\n  = hint: did you mean `key`?"
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let src = SourceFile::new("a.toml", "title = \"Café\" x\n");
        assert_eq!(src.line_col(16), (1, 16));
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(did_you_mean("entitty", ["entity", "key"]), Some("entity"));
        assert_eq!(did_you_mean("zzzzzz", ["entity", "key"]), None);
    }
}

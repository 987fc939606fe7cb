//! Error values: a fatal [`ParseError`] (strict mode, pull parser) and the
//! [`BadLine`] record that lenient mode keeps instead.

use super::lexer::is_py_space;

/// Longest excerpt kept for an error or a skipped line, in characters.
pub const EXCERPT_CHARS: usize = 80;

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    #[error("invalid metric name")]
    InvalidMetricName,
    #[error("invalid label name")]
    InvalidLabelName,
    #[error("reserved label name (names starting with `__` are reserved)")]
    ReservedLabelName,
    #[error("duplicate label name `{0}`")]
    DuplicateLabel(String),
    #[error("expected `=` after the label name")]
    ExpectedEquals,
    #[error("expected a quoted label value")]
    ExpectedLabelValue,
    #[error("unterminated label value")]
    UnterminatedLabelValue,
    #[error("invalid escape sequence in label value (only \\\\, \\\" and \\n are allowed)")]
    InvalidEscape,
    #[error("expected `,` or `}}` after the label value")]
    ExpectedLabelSeparator,
    #[error("unterminated label set (missing `}}`)")]
    UnterminatedLabelSet,
    #[error("missing sample value")]
    ExpectedValue,
    #[error("invalid sample value `{0}`")]
    InvalidNumber(String),
    #[error("invalid timestamp (expected integer milliseconds)")]
    InvalidTimestamp,
    #[error("unexpected text after the timestamp")]
    TrailingGarbage,
    #[error("`# HELP` line without a metric name")]
    InvalidHelpLine,
    #[error("`# TYPE` line needs a metric name and a type")]
    InvalidTypeLine,
    #[error("unknown metric type `{0}` (expected counter, gauge, histogram, summary or untyped)")]
    UnknownMetricType(String),
    #[error("second `# TYPE` line for the same family")]
    DuplicateType,
}

/// A line that could not be parsed, with enough context to find it.
///
/// Displays as ``line 9, column 62: unterminated label value near `...` ``.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {kind} near `{excerpt}`")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters, of the offending position.
    pub column: usize,
    /// At most [`EXCERPT_CHARS`] characters of the line around the error.
    pub excerpt: String,
    pub kind: ParseErrorKind,
}

impl ParseError {
    /// Builds an error at byte `offset` of `raw_line` (the line without its
    /// `\n`). Offsets that are out of range or inside a character are clamped,
    /// so a wrong offset can only blur the column, never panic.
    pub(crate) fn at(line: usize, raw_line: &str, offset: usize, kind: ParseErrorKind) -> Self {
        let text = raw_line.trim_end_matches(is_py_space);
        let column = text.char_indices().take_while(|&(i, _)| i < offset).count() + 1;
        ParseError {
            line,
            column,
            excerpt: excerpt(text, column),
            kind,
        }
    }
}

/// A line skipped by [`Mode::Lenient`](super::Mode::Lenient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number.
    pub line: usize,
    /// At most [`EXCERPT_CHARS`] characters of the line, cut on a character boundary.
    pub excerpt: String,
    /// Why it was skipped, with the column: `column 62: unterminated label value`.
    pub reason: String,
}

impl From<ParseError> for BadLine {
    fn from(e: ParseError) -> Self {
        BadLine {
            line: e.line,
            reason: format!("column {}: {}", e.column, e.kind),
            excerpt: e.excerpt,
        }
    }
}

/// The line itself when short; otherwise an [`EXCERPT_CHARS`] window that
/// starts at the line start, or slides right just enough to show `column`
/// with some trailing context (errors deep in vLLM's 1 KB info lines).
fn excerpt(text: &str, column: usize) -> String {
    const TAIL: usize = 10;
    let skip = (column + TAIL).saturating_sub(EXCERPT_CHARS);
    text.chars().skip(skip).take(EXCERPT_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_format() {
        let e = ParseError::at(9, "foo{a=\"x", 6, ParseErrorKind::UnterminatedLabelValue);
        assert_eq!(
            e.to_string(),
            "line 9, column 7: unterminated label value near `foo{a=\"x`"
        );
        let bad = BadLine::from(e);
        assert_eq!(bad.reason, "column 7: unterminated label value");
    }

    #[test]
    fn excerpt_is_bounded_and_char_safe() {
        let line: String = "é".repeat(300);
        let e = ParseError::at(1, &line, 2 * 250, ParseErrorKind::InvalidMetricName);
        assert_eq!(e.column, 251);
        assert_eq!(e.excerpt.chars().count(), EXCERPT_CHARS);
        // Offsets past the end or inside a character are clamped.
        let e = ParseError::at(1, "aé", 2, ParseErrorKind::InvalidMetricName);
        assert_eq!(e.column, 3);
        let e = ParseError::at(1, "ab", 99, ParseErrorKind::InvalidMetricName);
        assert_eq!(e.column, 3);
    }

    #[test]
    fn excerpt_window_keeps_the_error_visible() {
        let line = format!("{}!{}", "a".repeat(200), "b".repeat(200));
        let e = ParseError::at(1, &line, 200, ParseErrorKind::InvalidMetricName);
        assert_eq!(e.column, 201);
        assert!(e.excerpt.contains('!'));
        assert!(e.excerpt.ends_with(&"b".repeat(10)));
        let short = ParseError::at(1, "abc\r", 0, ParseErrorKind::InvalidMetricName);
        assert_eq!(short.excerpt, "abc");
    }
}

//! The pull parser: one pass over the text, one [`Entry`] per meaningful line.
//!
//! Nothing is allocated except for errors, HELP texts that contain escapes,
//! and label sets of more than 32 labels in unsorted order (duplicate check).

use std::borrow::Cow;

use super::error::{ParseError, ParseErrorKind};
use super::labels::RawLabels;
use super::lexer::{lex_line, trim_line, LexError, Memo};
use super::metric_type::MetricType;

/// One meaningful line of an exposition. Blank lines yield nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<'a> {
    /// `# HELP name text`; `text` is unescaped (`\\`, `\n`), borrowed when
    /// it contains no backslash.
    Help {
        name: &'a str,
        text: Cow<'a, str>,
    },
    /// `# TYPE name type`.
    Type {
        name: &'a str,
        metric_type: MetricType,
    },
    /// Any other line starting with `#` (the whole trimmed line).
    Comment(&'a str),
    Sample(RawSample<'a>),
}

/// A sample line, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawSample<'a> {
    /// Metric name as written, e.g. `vllm:e2e_request_latency_seconds_bucket`.
    pub name: &'a str,
    /// The validated label block; iterate it for `(name, value)` pairs.
    pub labels: RawLabels<'a>,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

impl<'a> RawSample<'a> {
    /// Value of the label `name`, unescaped.
    pub fn label(&self, name: &str) -> Option<Cow<'a, str>> {
        self.labels.get(name)
    }
}

/// Pull parser over text format 0.0.4.
///
/// Yields `Ok(Entry)` per HELP/TYPE/comment/sample line and `Err` for a bad
/// line, then carries on with the next line, so callers choose between
/// stopping at the first error and skipping bad lines.
///
/// ```
/// use vllm_grafana::exposition::{Entry, Parser};
/// let text = "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"m\"} 3\n";
/// let mut running = 0.0;
/// for entry in Parser::new(text) {
///     if let Ok(Entry::Sample(s)) = entry {
///         running += s.value;
///     }
/// }
/// assert_eq!(running, 3.0);
/// ```
#[derive(Debug, Clone)]
pub struct Parser<'a> {
    text: &'a str,
    /// Start of the next line.
    pos: usize,
    /// Number of the line last read (1-based; 0 before the first).
    line: usize,
    line_start: usize,
    line_end: usize,
    memo: Memo<'a>,
}

impl<'a> Parser<'a> {
    pub fn new(text: &'a str) -> Self {
        Parser {
            text,
            pos: 0,
            line: 0,
            line_start: 0,
            line_end: 0,
            memo: Memo::default(),
        }
    }

    /// 1-based number of the line that produced the last item.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Raw text of that line, without its `\n`.
    pub fn line_text(&self) -> &'a str {
        self.text.get(self.line_start..self.line_end).unwrap_or("")
    }

    /// An error about the current line, pointing at `at`, which must be a
    /// slice of [`Parser::line_text`] (e.g. a name from the last entry);
    /// otherwise the error points at column 1.
    pub fn error_at(&self, at: &str, kind: ParseErrorKind) -> ParseError {
        let line = self.line_text();
        let offset = (at.as_ptr() as usize)
            .checked_sub(line.as_ptr() as usize)
            .filter(|&o| o <= line.len())
            .unwrap_or(0);
        ParseError::at(self.line, line, offset, kind)
    }

    /// Out of line: keeps the error's construction off the hot path.
    #[cold]
    #[inline(never)]
    fn lex_error(&self, raw: &str, offset: usize, e: LexError) -> ParseError {
        ParseError::at(self.line, raw, offset + e.offset, e.kind)
    }
}

impl<'a> Iterator for Parser<'a> {
    type Item = Result<Entry<'a>, ParseError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let bytes = self.text.as_bytes();
        loop {
            let start = self.pos;
            let rest = bytes.get(start..).filter(|r| !r.is_empty())?;
            let end = match memchr::memchr(b'\n', rest) {
                Some(n) => start + n,
                None => bytes.len(),
            };
            self.pos = end + 1;
            self.line += 1;
            self.line_start = start;
            self.line_end = end;
            let raw = self.text.get(start..end).unwrap_or("");
            let (offset, line) = trim_line(raw);
            if line.is_empty() {
                continue;
            }
            return Some(match lex_line(line, &mut self.memo) {
                Ok(entry) => Ok(entry),
                Err(e) => Err(self.lex_error(raw, offset, e)),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_line_numbers_and_recovery() {
        let text = "\n# HELP a x\n\n# TYPE a gauge\na 1\nbad line\n   \n# c\na{b=\"\\\"\"} 2 3\r\n";
        let mut p = Parser::new(text);
        let mut seen = Vec::new();
        while let Some(item) = p.next() {
            let kind = match item {
                Ok(Entry::Help { .. }) => "help",
                Ok(Entry::Type { .. }) => "type",
                Ok(Entry::Comment(_)) => "comment",
                Ok(Entry::Sample(_)) => "sample",
                Err(_) => "error",
            };
            seen.push((p.line(), kind));
        }
        assert_eq!(
            seen,
            [
                (2, "help"),
                (4, "type"),
                (5, "sample"),
                (6, "error"),
                (8, "comment"),
                (9, "sample")
            ]
        );
    }

    #[test]
    fn consecutive_names_sharing_a_prefix() {
        // The lexer reuses the previous sample's name when a line starts with
        // it; a longer or broken name must still be read in full.
        let text = "h_bucket 1\nh_bucket{le=\"1\"} 2\nh 3\nh_bucketx 4\nh_bucketx-y 5\nvllm:a 6\nvllm:a: 7\nvllm:a\n";
        let got: Vec<Result<&str, (usize, usize)>> = Parser::new(text)
            .map(|r| match r {
                Ok(Entry::Sample(s)) => Ok(s.name),
                Ok(other) => panic!("{other:?}"),
                Err(e) => Err((e.line, e.column)),
            })
            .collect();
        assert_eq!(
            got,
            [
                Ok("h_bucket"),
                Ok("h_bucket"),
                Ok("h"),
                Ok("h_bucketx"),
                Err((5, 10)),
                Ok("vllm:a"),
                Ok("vllm:a:"),
                Err((8, 7)),
            ]
        );
    }

    #[test]
    fn errors_report_raw_columns() {
        let text = "ok 1\n  \tm{a=\"x} 1\n";
        let err = Parser::new(text)
            .find_map(Result::err)
            .map(|e| (e.line, e.column));
        // The opening quote of the unterminated value, counting the indentation.
        assert_eq!(err, Some((2, 8)));
    }

    #[test]
    fn last_line_without_newline_and_empty_input() {
        assert_eq!(Parser::new("").count(), 0);
        assert_eq!(Parser::new("\n\n").count(), 0);
        let v: Vec<_> = Parser::new("a 1\nb 2").collect();
        assert_eq!(v.len(), 2);
        assert!(v.iter().all(Result::is_ok));
    }

    #[test]
    fn error_at_points_into_the_line() {
        let text = "x 1\n# TYPE foo gauge\n";
        let mut p = Parser::new(text);
        p.next();
        let Some(Ok(Entry::Type { name, .. })) = p.next() else {
            panic!("expected a TYPE entry");
        };
        let e = p.error_at(name, ParseErrorKind::DuplicateType);
        assert_eq!((e.line, e.column), (2, 8));
        let e = p.error_at("elsewhere", ParseErrorKind::DuplicateType);
        assert_eq!(e.column, 1);
    }
}

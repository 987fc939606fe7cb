//! Lexing of one line (already split off and trimmed) into an [`Entry`].
//!
//! Everything here works on bytes and only slices the `&str` right after an
//! ASCII byte, so slices always fall on character boundaries; slicing still
//! goes through `str::get`, so even a logic slip yields an empty name or a
//! parse error rather than a panic.

use std::borrow::Cow;
use std::collections::HashSet;

use super::error::ParseErrorKind;
use super::labels::{LabelIter, RawLabels};
use super::metric_type::MetricType;
use super::number::{parse_timestamp, parse_value_prefix};
use super::pull::{Entry, RawSample};
use super::scan::{find_quote_or_backslash, not_name_bytes, skip_name, starts_with};

/// A lexing failure at a byte offset of the trimmed line.
#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) offset: usize,
    pub(crate) kind: ParseErrorKind,
}

type LexResult<T> = Result<T, LexError>;

#[cold]
#[inline(never)]
fn fail<T>(offset: usize, kind: ParseErrorKind) -> LexResult<T> {
    Err(LexError { offset, kind })
}

// First-byte classes; the rest of a name is scanned by `scan::skip_name`.
const NAME_START: u8 = 1; // [a-zA-Z_:]
const LABEL_START: u8 = 2; // [a-zA-Z_]

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_alphabetic() || b == b'_' {
            t[c] = NAME_START | LABEL_START;
        } else if b == b':' {
            t[c] = NAME_START;
        }
        c += 1;
    }
    t
};

#[inline(always)]
fn class(b: u8) -> u8 {
    CLASS[b as usize]
}

/// Token separators inside a line: Go's "blank" (space and tab).
#[inline(always)]
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Whitespace as Python's `str.strip()` sees it (`str.isspace`), used to trim
/// whole lines exactly like prometheus_client does (so `\r` of CRLF files,
/// and the trailing spaces vLLM leaves after some HELP texts, disappear).
pub(crate) fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\x1c'..='\x20'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Trims a raw line; returns the byte offset of the kept part and the part.
#[inline]
pub(crate) fn trim_line(raw: &str) -> (usize, &str) {
    let b = raw.as_bytes();
    // Fast path: printable ASCII at both ends is never whitespace.
    if let (Some(&first), Some(&last)) = (b.first(), b.last()) {
        if (0x21..0x7f).contains(&first) && (0x21..0x7f).contains(&last) {
            return (0, raw);
        }
    }
    let start = raw.trim_start_matches(is_py_space);
    (raw.len() - start.len(), start.trim_end_matches(is_py_space))
}

#[inline(always)]
fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if !is_blank(c) {
            break;
        }
        i += 1;
    }
    i
}

#[inline(always)]
fn find_blank(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if is_blank(c) {
            break;
        }
        i += 1;
    }
    i
}

#[inline(always)]
fn sub(s: &str, start: usize, end: usize) -> &str {
    s.get(start..end).unwrap_or("")
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
pub fn is_valid_metric_name(name: &str) -> bool {
    let b = name.as_bytes();
    matches!(b.first(), Some(&c) if class(c) & NAME_START != 0) && skip_name(b, 0, true) == b.len()
}

/// `[a-zA-Z_][a-zA-Z0-9_]*` (names starting with `__` are valid but reserved).
pub fn is_valid_label_name(name: &str) -> bool {
    let b = name.as_bytes();
    matches!(b.first(), Some(&c) if class(c) & LABEL_START != 0)
        && skip_name(b, 0, false) == b.len()
}

/// What the lexer remembers from the previous sample line: samples of a
/// family follow each other and mostly share their metric name, which then
/// needs a word-wise comparison instead of validation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Memo<'a> {
    name: &'a [u8],
}

impl Memo<'_> {
    /// Length of the remembered name if `b` starts with it as a whole name.
    #[inline(always)]
    fn name_len(&self, b: &[u8]) -> Option<usize> {
        let n = self.name.len();
        let continues = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_' || *c == b':';
        (n > 0 && starts_with(b, self.name) && !b.get(n).is_some_and(continues)).then_some(n)
    }
}

/// Lexes a non-empty trimmed line.
#[inline]
pub(crate) fn lex_line<'a>(line: &'a str, memo: &mut Memo<'a>) -> LexResult<Entry<'a>> {
    if line.as_bytes().first() == Some(&b'#') {
        lex_comment(line)
    } else {
        lex_sample(line, memo)
    }
}

/// `# HELP name text`, `# TYPE name type`, or any other comment.
///
/// Only `#`, blanks, then the word `HELP` or `TYPE` is special (as in Go):
/// `#HELP x`, `# HELPx` and `## HELP x` are plain comments.
fn lex_comment(line: &str) -> LexResult<Entry<'_>> {
    let b = line.as_bytes();
    if !is_blank(byte(b, 1)) {
        return Ok(Entry::Comment(line));
    }
    let kw_start = skip_blanks(b, 1);
    let kw_end = find_blank(b, kw_start);
    let is_help = match sub(line, kw_start, kw_end) {
        "HELP" => true,
        "TYPE" => false,
        _ => return Ok(Entry::Comment(line)),
    };
    let missing = if is_help {
        ParseErrorKind::InvalidHelpLine
    } else {
        ParseErrorKind::InvalidTypeLine
    };
    let name_start = skip_blanks(b, kw_end);
    if name_start >= b.len() {
        return fail(name_start, missing);
    }
    let name_end = find_blank(b, name_start);
    let name = sub(line, name_start, name_end);
    if !is_valid_metric_name(name) {
        let bad = if b
            .get(name_start)
            .is_some_and(|&c| class(c) & NAME_START != 0)
        {
            skip_name(b, name_start, true)
        } else {
            name_start
        };
        return fail(bad, ParseErrorKind::InvalidMetricName);
    }
    let rest_start = skip_blanks(b, name_end);
    let rest = sub(line, rest_start, b.len());
    if is_help {
        return Ok(Entry::Help {
            name,
            text: unescape_help(rest),
        });
    }
    if rest.is_empty() {
        return fail(rest_start, missing);
    }
    match MetricType::from_keyword(rest) {
        Some(metric_type) => Ok(Entry::Type { name, metric_type }),
        None => fail(
            rest_start,
            ParseErrorKind::UnknownMetricType(rest.to_owned()),
        ),
    }
}

/// `name [{labels}] value [timestamp]`
#[inline]
fn lex_sample<'a>(line: &'a str, memo: &mut Memo<'a>) -> LexResult<Entry<'a>> {
    let b = line.as_bytes();
    let name_end = match memo.name_len(b) {
        Some(n) => n,
        None => {
            if class(byte(b, 0)) & NAME_START == 0 {
                return fail(0, ParseErrorKind::InvalidMetricName);
            }
            let end = skip_name(b, 1, true);
            memo.name = b.get(..end).unwrap_or_default();
            end
        }
    };
    let name = sub(line, 0, name_end);

    let mut i = skip_blanks(b, name_end);
    let mut labels = RawLabels::EMPTY;
    match b.get(i) {
        Some(b'{') => {
            let close = scan_label_block(line, i)?;
            labels = RawLabels::new(sub(line, i + 1, close));
            i = skip_blanks(b, close + 1);
        }
        // A byte that is neither a name byte nor a separator.
        Some(_) if i == name_end => return fail(i, ParseErrorKind::InvalidMetricName),
        _ => {}
    }

    if i >= b.len() {
        return fail(i, ParseErrorKind::ExpectedValue);
    }
    // The number parser stops where the number ends; it is valid only if
    // that is the end of the token (saves a separate scan for the blank).
    let value_end;
    let value = match parse_value_prefix(b.get(i..).unwrap_or_default()) {
        Some((value, len)) if matches!(b.get(i + len), None | Some(b' ' | b'\t')) => {
            value_end = i + len;
            value
        }
        _ => {
            let token = sub(line, i, find_blank(b, i));
            return fail(i, ParseErrorKind::InvalidNumber(token.to_owned()));
        }
    };

    i = skip_blanks(b, value_end);
    let mut timestamp_ms = None;
    if i < b.len() {
        let ts_end = find_blank(b, i);
        match parse_timestamp(sub(line, i, ts_end)) {
            Some(ts) => timestamp_ms = Some(ts),
            None => return fail(i, ParseErrorKind::InvalidTimestamp),
        }
        i = skip_blanks(b, ts_end);
        if i < b.len() {
            return fail(i, ParseErrorKind::TrailingGarbage);
        }
    }

    Ok(Entry::Sample(RawSample {
        name,
        labels,
        value,
        timestamp_ms,
    }))
}

/// Validates the label set whose `{` is at `open` and returns the index of
/// its `}`. After this, [`LabelIter`] can walk the block without checks.
///
/// Grammar: `{` (label (`,` label)* `,`?)? `}` with blanks allowed around
/// every token, label = name `=` `"` value `"`. The common unspaced form is
/// checked byte by byte; blanks take a slower detour.
#[inline]
fn scan_label_block(line: &str, open: usize) -> LexResult<usize> {
    let b = line.as_bytes();
    let end_or = |i: usize, kind: ParseErrorKind| {
        if i >= b.len() {
            fail(open, ParseErrorKind::UnterminatedLabelSet)
        } else {
            fail(i, kind)
        }
    };
    // Duplicate detection without allocating: a name above the largest one
    // so far is new, and vLLM (like most exporters) sorts its labels, so
    // the fallbacks below are rare. Names compare by their first eight bytes
    // first, which spares a `memcmp` call per label.
    let mut max_name: &[u8] = b"";
    let mut max_key = 0u64;
    let mut count = 0usize;
    let mut seen: Option<HashSet<&[u8]>> = None;
    let mut i = open + 1;
    loop {
        let mut c = byte(b, i);
        if is_blank(c) {
            i = skip_blanks(b, i);
            c = byte(b, i);
        }
        if c == b'}' {
            return Ok(i);
        }
        if class(c) & LABEL_START == 0 {
            return end_or(i, ParseErrorKind::InvalidLabelName);
        }
        let name_start = i;
        let (name_end, key) = scan_label_name(b, i);
        i = name_end;
        let name = b.get(name_start..name_end).unwrap_or_default();
        if key >> 48 == u64::from(u16::from_be_bytes(*b"__")) {
            return fail(name_start, ParseErrorKind::ReservedLabelName);
        }
        count += 1;
        let order = key.cmp(&max_key).then_with(|| name.cmp(max_name));
        if order.is_gt() && seen.is_none() {
            max_name = name;
            max_key = key;
        } else if order.is_eq() && seen.is_none()
            || is_duplicate(line, open, name_start, name, count, &mut seen)
        {
            let name = String::from_utf8_lossy(name).into_owned();
            return fail(name_start, ParseErrorKind::DuplicateLabel(name));
        }

        c = byte(b, i);
        if c != b'=' {
            i = skip_blanks(b, i);
            c = byte(b, i);
            if c != b'=' {
                return end_or(i, ParseErrorKind::ExpectedEquals);
            }
        }
        i += 1;
        c = byte(b, i);
        if c != b'"' {
            i = skip_blanks(b, i);
            c = byte(b, i);
            if c != b'"' {
                return end_or(i, ParseErrorKind::ExpectedLabelValue);
            }
        }
        i = scan_label_value(b, i + 1, i)?;

        c = byte(b, i);
        if is_blank(c) {
            i = skip_blanks(b, i);
            c = byte(b, i);
        }
        match c {
            b',' => i += 1,
            b'}' => return Ok(i),
            _ => return end_or(i, ParseErrorKind::ExpectedLabelSeparator),
        }
    }
}

/// Byte at `i`, or 0 past the end (callers recheck the length on errors).
#[inline(always)]
fn byte(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

/// End of the label name starting at `start` (first byte already checked)
/// and its [`order_key`], both from the same first word.
#[inline(always)]
fn scan_label_name(b: &[u8], start: usize) -> (usize, u64) {
    match b.get(start..).and_then(<[u8]>::first_chunk::<8>) {
        Some(word) => {
            let x = u64::from_le_bytes(*word);
            let stop = not_name_bytes(x, false);
            let key = x.swap_bytes();
            if stop != 0 {
                let len = (stop.trailing_zeros() / 8) as usize;
                // `len >= 1`: the first byte is a valid name byte.
                (start + len, key & !(u64::MAX >> (8 * len)))
            } else {
                (skip_name(b, start + 8, false), key)
            }
        }
        None => {
            let end = skip_name(b, start, false);
            (end, order_key(b, start, end))
        }
    }
}

/// Slow path of the duplicate check, for a name that is not above all
/// earlier ones. Switches to a hash set (kept in `seen`) on long label sets.
#[cold]
fn is_duplicate<'a>(
    line: &'a str,
    open: usize,
    name_start: usize,
    name: &'a [u8],
    count: usize,
    seen: &mut Option<HashSet<&'a [u8]>>,
) -> bool {
    if let Some(set) = seen.as_mut() {
        return !set.insert(name);
    }
    let mut earlier = LabelIter::new(sub(line, open + 1, name_start))
        .names()
        .map(str::as_bytes);
    if count <= RESCAN_LIMIT {
        return earlier.any(|n| n == name);
    }
    // Hostile input (many unsorted labels): one allocation keeps the line
    // linear instead of quadratic.
    let mut set: HashSet<&[u8]> = earlier.collect();
    let duplicate = !set.insert(name);
    *seen = Some(set);
    duplicate
}

/// Scans a label value starting after its opening quote (at `quote`);
/// returns the index after the closing quote.
#[inline(always)]
fn scan_label_value(b: &[u8], mut i: usize, quote: usize) -> LexResult<usize> {
    loop {
        let Some(j) = find_quote_or_backslash(b, i) else {
            return fail(quote, ParseErrorKind::UnterminatedLabelValue);
        };
        if byte(b, j) == b'"' {
            return Ok(j + 1);
        }
        match byte(b, j + 1) {
            b'\\' | b'"' | b'n' => i = j + 2,
            _ if j + 1 >= b.len() => return fail(quote, ParseErrorKind::UnterminatedLabelValue),
            _ => return fail(j, ParseErrorKind::InvalidEscape),
        }
    }
}

/// The first eight bytes of the name `b[start..end]`, big-endian and
/// zero-padded: for names (which hold no NUL) comparing keys orders like
/// comparing the names, up to ties.
fn order_key(b: &[u8], start: usize, end: usize) -> u64 {
    b.get(start..end)
        .unwrap_or_default()
        .iter()
        .take(8)
        .enumerate()
        .fold(0, |key, (k, &c)| key | u64::from(c) << (56 - 8 * k))
}

/// Label count up to which an out-of-order name is checked by rescanning the
/// (already validated) earlier labels; past it a hash set takes over.
const RESCAN_LIMIT: usize = 32;

/// Unescapes a validated label value (`\\`, `\"`, `\n`). Unknown escapes,
/// which validation rejects, are kept verbatim.
pub(crate) fn unescape_label_value(raw: &str) -> String {
    unescape(raw, true)
}

/// Unescapes HELP text: `\\` and `\n` only; any other backslash sequence is
/// kept as written (prometheus_client's behaviour, harmless for docs).
pub(crate) fn unescape_help(raw: &str) -> Cow<'_, str> {
    if !raw.as_bytes().contains(&b'\\') {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(unescape(raw, false))
}

fn unescape(raw: &str, quote: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.clone().next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote => out.push('"'),
            _ => {
                out.push('\\');
                continue;
            }
        }
        chars.next();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(line: &str) -> RawSample<'_> {
        match lex_line(line, &mut Memo::default()) {
            Ok(Entry::Sample(s)) => s,
            other => panic!("{line:?} gave {other:?}"),
        }
    }

    fn error(line: &str) -> (usize, ParseErrorKind) {
        match lex_line(line, &mut Memo::default()) {
            Err(e) => (e.offset, e.kind),
            Ok(entry) => panic!("{line:?} unexpectedly gave {entry:?}"),
        }
    }

    fn labels<'a>(s: &RawSample<'a>) -> Vec<(&'a str, String)> {
        s.labels.iter().map(|(k, v)| (k, v.into_owned())).collect()
    }

    #[test]
    fn colon_names_and_labels() {
        let s = sample(
            r#"vllm:num_requests_running{engine="0",model_name="Qwen/Qwen1.5-0.5B-Chat"} 0.0"#,
        );
        assert_eq!(s.name, "vllm:num_requests_running");
        assert_eq!(
            labels(&s),
            [
                ("engine", "0".to_owned()),
                ("model_name", "Qwen/Qwen1.5-0.5B-Chat".to_owned())
            ]
        );
        assert_eq!(s.value, 0.0);
        assert_eq!(s.timestamp_ms, None);
    }

    #[test]
    fn quoted_specials_do_not_end_the_label_set() {
        let s = sample(r##"m{a="}",b=",",c="=",d="{",e="# x"} 1"##);
        let got: Vec<_> = labels(&s).into_iter().map(|(_, v)| v).collect();
        assert_eq!(got, ["}", ",", "=", "{", "# x"]);
    }

    #[test]
    fn escapes_borrow_only_when_clean() {
        let s = sample(r#"m{a="plain",b="q\"q",c="back\\slash",d="nl\nx",e="\\n"} 1"#);
        let v: Vec<_> = s.labels.iter().collect();
        assert!(matches!(v[0].1, Cow::Borrowed("plain")));
        assert_eq!(v[1].1, "q\"q");
        assert_eq!(v[2].1, "back\\slash");
        assert_eq!(v[3].1, "nl\nx");
        // `\\n` is an escaped backslash followed by a plain `n`.
        assert_eq!(v[4].1, "\\n");
        assert!(matches!(v[1].1, Cow::Owned(_)));
    }

    #[test]
    fn escaped_quote_then_backslash_at_value_end() {
        let s = sample(r#"m{a="x\\"} 1"#);
        assert_eq!(labels(&s), [("a", "x\\".to_owned())]);
        // `\"` does not close the value, so this one is unterminated.
        assert_eq!(
            error(r#"m{a="x\"} 1"#),
            (4, ParseErrorKind::UnterminatedLabelValue)
        );
    }

    #[test]
    fn blanks_trailing_comma_and_empty_sets() {
        let s = sample("m { a = \"1\" ,\tb=\"2\" , }\t3\t-7");
        assert_eq!(labels(&s), [("a", "1".to_owned()), ("b", "2".to_owned())]);
        assert_eq!((s.value, s.timestamp_ms), (3.0, Some(-7)));
        assert!(sample("m{} 1").labels.is_empty());
        assert!(sample("m{ } 1").labels.is_empty());
        assert_eq!(sample(r#"m{a="b"}1"#).value, 1.0);
        assert_eq!(sample("m\t\t2  1000").timestamp_ms, Some(1000));
    }

    #[test]
    fn special_values() {
        assert!(sample("m NaN").value.is_nan());
        assert_eq!(sample("m +Inf").value, f64::INFINITY);
        assert_eq!(sample("m -Inf").value, f64::NEG_INFINITY);
        assert_eq!(sample("m 1e-3").value, 0.001);
    }

    #[test]
    fn error_positions() {
        use ParseErrorKind::*;
        assert_eq!(error("m{a=\"x\" 1"), (8, ExpectedLabelSeparator));
        assert_eq!(error("m{a=\"x\""), (1, UnterminatedLabelSet));
        assert_eq!(error("m{a=\"x\","), (1, UnterminatedLabelSet));
        assert_eq!(error("m{a=\"x\\q\"} 1"), (6, InvalidEscape));
        assert_eq!(error("m{a=x} 1"), (4, ExpectedLabelValue));
        assert_eq!(error("m{a \"x\"} 1"), (4, ExpectedEquals));
        assert_eq!(error("m{,a=\"x\"} 1"), (2, InvalidLabelName));
        assert_eq!(error("m{a=\"1\",,b=\"2\"} 1"), (8, InvalidLabelName));
        assert_eq!(error("m{a:b=\"1\"} 1"), (3, ExpectedEquals));
        assert_eq!(error("m{__name__=\"m\"} 1"), (2, ReservedLabelName));
        assert_eq!(
            error("m{a=\"1\",a=\"2\"} 1"),
            (8, DuplicateLabel("a".into()))
        );
        assert_eq!(
            error("m{b=\"1\",a=\"2\",b=\"3\"} 1"),
            (14, DuplicateLabel("b".into()))
        );
        assert_eq!(error("m"), (1, ExpectedValue));
        assert_eq!(error("m{}"), (3, ExpectedValue));
        assert_eq!(error("m 1.2.3"), (2, InvalidNumber("1.2.3".into())));
        assert_eq!(error("m 1 2.5"), (4, InvalidTimestamp));
        assert_eq!(error("m 1 2 3"), (6, TrailingGarbage));
        assert_eq!(error("m-x 1"), (1, InvalidMetricName));
        assert_eq!(error("1m 1"), (0, InvalidMetricName));
        assert_eq!(error("{a=\"b\"} 1"), (0, InvalidMetricName));
        assert_eq!(error("<html>"), (0, InvalidMetricName));
    }

    #[test]
    fn unsorted_labels_without_duplicates() {
        let s = sample(r#"m{z="1",b="2",y="3",a="4"} 1"#);
        assert_eq!(s.labels.iter().count(), 4);
        // Past the rescan limit the hash-set path decides.
        let many: Vec<String> = (0..100).rev().map(|i| format!("l{i:03}=\"v\"")).collect();
        let line = format!("m{{{}}} 1", many.join(","));
        assert_eq!(sample(&line).labels.iter().count(), 100);
        let dup = format!("m{{{},l050=\"x\"}} 1", many.join(","));
        assert!(matches!(error(&dup).1, ParseErrorKind::DuplicateLabel(n) if n == "l050"));
    }

    #[test]
    fn comment_lines() {
        let help = lex_line("# HELP m a \\\\ b \\n c \\\" d", &mut Memo::default());
        match help {
            Ok(Entry::Help { name, text }) => {
                assert_eq!(name, "m");
                assert_eq!(text, "a \\ b \n c \\\" d");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(lex_line("# HELP m", &mut Memo::default()), Ok(Entry::Help { text, .. }) if text.is_empty())
        );
        assert!(matches!(
            lex_line("#\tTYPE  vllm:x_total \t counter", &mut Memo::default()),
            Ok(Entry::Type {
                name: "vllm:x_total",
                metric_type: MetricType::Counter
            })
        ));
        for comment in ["#", "#HELP m x", "# HELPx m", "# foo bar", "## HELP m x"] {
            assert!(
                matches!(
                    lex_line(comment, &mut Memo::default()),
                    Ok(Entry::Comment(_))
                ),
                "{comment:?}"
            );
        }
        use ParseErrorKind::*;
        assert_eq!(error("# HELP"), (6, InvalidHelpLine));
        assert_eq!(error("# TYPE m"), (8, InvalidTypeLine));
        assert_eq!(
            error("# TYPE m info"),
            (9, UnknownMetricType("info".into()))
        );
        assert_eq!(
            error("# TYPE m gauge x"),
            (9, UnknownMetricType("gauge x".into()))
        );
        assert_eq!(error("# HELP 9m x"), (7, InvalidMetricName));
        assert_eq!(error("# TYPE m-x gauge"), (8, InvalidMetricName));
    }

    #[test]
    fn line_trimming_follows_python() {
        assert_eq!(trim_line("abc"), (0, "abc"));
        assert_eq!(trim_line("  m 1\r"), (2, "m 1"));
        assert_eq!(trim_line("\u{a0}m 1\u{3000}\x1f"), (2, "m 1"));
        assert_eq!(trim_line("m 1\u{200b}"), (0, "m 1\u{200b}"));
        assert_eq!(trim_line(" \t\r"), (3, ""));
        assert_eq!(trim_line(""), (0, ""));
    }

    #[test]
    fn name_validation() {
        assert!(is_valid_metric_name("vllm:x_1") && is_valid_metric_name(":a"));
        assert!(!is_valid_metric_name("") && !is_valid_metric_name("1a"));
        assert!(!is_valid_metric_name("a-b") && !is_valid_metric_name("é"));
        assert!(is_valid_label_name("_a1") && !is_valid_label_name("a:b"));
    }
}

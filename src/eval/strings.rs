//! PromQL string literals as Prometheus reads them.
//!
//! The parser hands back a literal's text between its quotes exactly as
//! typed, escapes included, and its lexer treats a backslash as an escape
//! inside backticks too. Prometheus instead decodes Go escapes in `"…"` and
//! `'…'` and reads `` `…` `` raw. So before parsing, [`requote`] rewrites
//! every backtick literal as the equivalent double-quoted one, and after
//! parsing [`unquote`] decodes each literal's text; `"Qwen2\\.5"` and
//! `` `Qwen2\.5` `` then both mean the regex `Qwen2\.5`.

use std::borrow::Cow;

/// `expr` with each backtick string rewritten as a double-quoted string of
/// the same value; comments and other strings are copied unchanged.
pub fn requote(expr: &str) -> Cow<'_, str> {
    if !expr.contains('`') {
        return Cow::Borrowed(expr);
    }
    let mut out = String::with_capacity(expr.len() + 8);
    let mut chars = expr.chars();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                out.push(c);
                for c in chars.by_ref() {
                    out.push(c);
                    if c == '\n' {
                        break;
                    }
                }
            }
            '"' | '\'' => {
                out.push(c);
                while let Some(inner) = chars.next() {
                    out.push(inner);
                    if inner == '\\' {
                        if let Some(escaped) = chars.next() {
                            out.push(escaped);
                        }
                    } else if inner == c {
                        break;
                    }
                }
            }
            '`' => {
                out.push('"');
                let mut closed = false;
                for c in chars.by_ref() {
                    match c {
                        '`' => {
                            closed = true;
                            break;
                        }
                        '\\' => out.push_str("\\\\"),
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
                // An unterminated literal stays unterminated for the
                // parser to report.
                if closed {
                    out.push('"');
                }
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A literal's text with Go's escapes decoded (`\n`, `\\`, `\"`, `\'`,
/// `\x41`, `\101`, `\u00e9`, `\U0001F600`, …). The lexer has already
/// refused unknown escapes, so anything left over is kept as written.
pub fn unquote(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        let Some((&e, tail)) = rest.split_first() else {
            bytes.push(b'\\');
            break;
        };
        let simple = match e {
            b'a' => Some(0x07),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(0x0b),
            b'\\' | b'"' | b'\'' | b'`' => Some(e),
            _ => None,
        };
        if let Some(byte) = simple {
            bytes.push(byte);
            rest = tail;
            continue;
        }
        let (digits, radix) = match e {
            b'x' => (2, 16),
            b'u' => (4, 16),
            b'U' => (8, 16),
            b'0'..=b'7' => (3, 8),
            _ => (0, 0),
        };
        let skip = usize::from(radix == 16);
        let code = rest
            .get(skip..skip + digits)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, radix).ok());
        match (e, code) {
            (b'x', Some(v)) => bytes.push(v as u8),
            (b'0'..=b'7', Some(v)) if v <= 0xff => bytes.push(v as u8),
            (b'u' | b'U', Some(v)) => match char::from_u32(v) {
                Some(c) => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                None => bytes.extend_from_slice("\u{fffd}".as_bytes()),
            },
            _ => {
                // Not an escape the lexer lets through: keep it as typed.
                bytes.push(b'\\');
                continue;
            }
        }
        rest = &rest[skip + digits..];
    }
    Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_decode_as_in_go() {
        for (raw, want) in [
            (r"plain", "plain"),
            (r"Qwen2\\.5", r"Qwen2\.5"),
            (r#"say \"hi\""#, r#"say "hi""#),
            (r"it\'s", "it's"),
            (r"a\tb\nc", "a\tb\nc"),
            (r"\x41\101\u00e9\U0001F600", "AAé😀"),
            (r"tail\\", r"tail\"),
        ] {
            assert_eq!(unquote(raw), want, "{raw}");
        }
    }

    #[test]
    fn backticks_become_double_quotes_of_the_same_value() {
        for (expr, want) in [
            (r#"up{a=~`Qwen2\.5`}"#, r#"up{a=~"Qwen2\\.5"}"#),
            (r#"x{a=`say "hi"`}"#, r#"x{a="say \"hi\""}"#),
            ("x{a=``}", r#"x{a=""}"#),
            // Backticks inside other strings and comments stay as they are.
            (r#"x{a="`"} # `c`"#, r#"x{a="`"} # `c`"#),
            (r#"x{a='\'`'}"#, r#"x{a='\'`'}"#),
        ] {
            assert_eq!(requote(expr), want, "{expr}");
        }
        // Unterminated: left for the parser to refuse.
        assert_eq!(requote("x{a=`abc"), "x{a=\"abc");
    }

    #[test]
    fn a_requoted_literal_unquotes_to_the_raw_text() {
        let raw = r#"a\.b"c\\d"#;
        let expr = format!("x{{l=`{raw}`}}");
        let requoted = requote(&expr);
        let text = requoted
            .strip_prefix("x{l=\"")
            .and_then(|s| s.strip_suffix("\"}"))
            .expect("requoted literal");
        assert_eq!(unquote(text), raw);
    }
}

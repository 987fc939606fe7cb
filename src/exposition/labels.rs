//! Borrowed label sets: validated once by the lexer, walked lazily after.

use std::borrow::Cow;

use super::lexer::unescape_label_value;
use super::scan::{find_quote_or_backslash, skip_name};

/// The text between `{` and `}` of a sample, already validated.
///
/// Iterating yields `(name, value)` pairs in written order; values borrow
/// from the input unless they contain an escape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RawLabels<'a> {
    raw: &'a str,
}

impl<'a> RawLabels<'a> {
    pub(crate) const EMPTY: RawLabels<'static> = RawLabels { raw: "" };

    /// Only the lexer builds these, after validating `raw`.
    #[inline]
    pub(crate) fn new(raw: &'a str) -> Self {
        RawLabels { raw }
    }

    /// The block as written, without the braces (escapes not processed).
    pub fn as_str(&self) -> &'a str {
        self.raw
    }

    /// True for a sample without labels (or with `{}`).
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// Walks the labels in written order without allocating.
    #[inline]
    pub fn iter(&self) -> LabelIter<'a> {
        LabelIter::new(self.raw)
    }

    /// Value of the first label called `name`.
    pub fn get(&self, name: &str) -> Option<Cow<'a, str>> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

impl<'a> IntoIterator for RawLabels<'a> {
    type Item = (&'a str, Cow<'a, str>);
    type IntoIter = LabelIter<'a>;
    fn into_iter(self) -> LabelIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &RawLabels<'a> {
    type Item = (&'a str, Cow<'a, str>);
    type IntoIter = LabelIter<'a>;
    fn into_iter(self) -> LabelIter<'a> {
        self.iter()
    }
}

/// Non-allocating walk over a validated label block.
///
/// It trusts the lexer's validation for speed, but stays panic-free: on
/// malformed text it simply stops.
#[derive(Debug, Clone)]
pub struct LabelIter<'a> {
    block: &'a str,
    pos: usize,
}

impl<'a> LabelIter<'a> {
    #[inline]
    pub(crate) fn new(block: &'a str) -> Self {
        LabelIter { block, pos: 0 }
    }

    /// Next `(name, raw value, has escapes)`, the value still escaped.
    #[inline]
    fn next_raw(&mut self) -> Option<(&'a str, &'a str, bool)> {
        let b = self.block.as_bytes();
        let mut i = self.pos;
        while matches!(b.get(i), Some(b' ' | b'\t' | b',')) {
            i += 1;
        }
        let name_start = i;
        let name_end = skip_name(b, i, false);
        i = name_end;
        while matches!(b.get(i), Some(b' ' | b'\t' | b'=')) {
            i += 1;
        }
        if name_end == name_start || b.get(i) != Some(&b'"') {
            self.pos = b.len();
            return None;
        }
        i += 1;
        let value_start = i;
        let mut escaped = false;
        loop {
            match find_quote_or_backslash(b, i) {
                Some(j) if b.get(j) == Some(&b'"') => {
                    i = j;
                    break;
                }
                Some(j) => {
                    escaped = true;
                    i = j + 2;
                }
                None => {
                    self.pos = b.len();
                    return None;
                }
            }
        }
        self.pos = i + 1;
        let name = self.block.get(name_start..name_end)?;
        let value = self.block.get(value_start..i)?;
        Some((name, value, escaped))
    }

    /// Only the names (used for duplicate checks, no unescaping).
    pub(crate) fn names(mut self) -> impl Iterator<Item = &'a str> {
        std::iter::from_fn(move || self.next_raw().map(|(n, _, _)| n))
    }
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = (&'a str, Cow<'a, str>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.next_raw().map(|(name, raw, escaped)| {
            let value = if escaped {
                Cow::Owned(unescape_label_value(raw))
            } else {
                Cow::Borrowed(raw)
            };
            (name, value)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_and_looks_up() {
        let l = RawLabels::new(r#" a = "1" ,b="x\"y", c="" ,"#);
        let v: Vec<_> = l.iter().collect();
        assert_eq!(v.len(), 3);
        assert_eq!(v[1], ("b", Cow::Borrowed("x\"y")));
        assert_eq!(l.get("c").as_deref(), Some(""));
        assert_eq!(l.get("zz"), None);
        assert!(!l.is_empty());
        assert!(RawLabels::EMPTY.is_empty());
        assert!(RawLabels::new(" ").is_empty());
    }

    #[test]
    fn malformed_blocks_stop_without_panicking() {
        for raw in [
            "a",
            "a=",
            "a=\"",
            "a=\"x\\",
            "=\"x\"",
            "a=\"x\"junk,b=\"y\"",
            "é=\"x\"",
            "a=\"é\\",
        ] {
            let n = LabelIter::new(raw).count();
            assert!(n <= 2, "{raw:?}");
        }
    }
}

//! Sample values and timestamps.

/// Parses the number at the start of `b` and returns it with the bytes it
/// used. The caller accepts it only if the token ends right there, which
/// gives exactly the grammar Go's `strconv.ParseFloat` and Python's
/// `float()` agree on (optional sign, digits with optional fraction and
/// exponent, `NaN`/`Inf`/`Infinity` in any case; no `_`, no hex) without
/// first scanning for the token's end.
#[inline]
pub(crate) fn parse_value_prefix(b: &[u8]) -> Option<(f64, usize)> {
    fast_float2::parse_partial::<f64, _>(b).ok()
}

/// A whole token as a sample value.
#[cfg(test)]
fn parse_value(token: &str) -> Option<f64> {
    match parse_value_prefix(token.as_bytes()) {
        Some((v, len)) if len == token.len() => Some(v),
        _ => None,
    }
}

/// Parses a timestamp: integer milliseconds, optional sign, like Go's
/// `strconv.ParseInt(s, 10, 64)`.
#[inline]
pub(crate) fn parse_timestamp(token: &str) -> Option<i64> {
    token.parse::<i64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_go_and_python_floats() {
        let cases: &[(&str, f64)] = &[
            ("0", 0.0),
            ("0.0", 0.0),
            ("-1.0", -1.0),
            ("+5", 5.0),
            ("1.5e3", 1500.0),
            ("1.5E+3", 1500.0),
            ("2e-3", 0.002),
            (".5", 0.5),
            ("5.", 5.0),
            ("1.7624384230434499e+09", 1.7624384230434499e9),
            ("+Inf", f64::INFINITY),
            ("Inf", f64::INFINITY),
            ("inf", f64::INFINITY),
            ("-Inf", f64::NEG_INFINITY),
            ("-infinity", f64::NEG_INFINITY),
            ("+Infinity", f64::INFINITY),
            ("12345678901234567890123", 1.2345678901234568e22),
        ];
        for &(token, want) in cases {
            assert_eq!(parse_value(token), Some(want), "{token:?}");
        }
        for nan in ["NaN", "nan", "+NaN", "-nan", "NAN"] {
            assert!(parse_value(nan).is_some_and(f64::is_nan), "{nan:?}");
        }
        assert!(parse_value("-0.0").is_some_and(|v| v == 0.0 && v.is_sign_negative()));
    }

    #[test]
    fn rejects_garbage() {
        for token in [
            "", "+", "-", ".", "e5", "1e", "1e+", "1.2.3", "abc", "1_000", "0x10", "0x1p3", "1,5",
            "in", "infinit", "info", "nana", "++1", "1 ", " 1", "１", "1f",
        ] {
            assert_eq!(parse_value(token), None, "{token:?}");
        }
    }

    #[test]
    fn timestamps_are_integers() {
        assert_eq!(parse_timestamp("1395066363000"), Some(1_395_066_363_000));
        assert_eq!(parse_timestamp("-5"), Some(-5));
        assert_eq!(parse_timestamp("+5"), Some(5));
        for token in ["", "1.5", "1e3", "NaN", "99999999999999999999", "12a"] {
            assert_eq!(parse_timestamp(token), None, "{token:?}");
        }
    }
}

//! Number and string formatting exactly as Python's prometheus_client prints
//! them, so simulated scrapes are byte-compatible with real vLLM ones.

use std::fmt::Write;

/// Python's `repr(float)`: the shortest round-trip digits, in positional
/// notation unless the decimal exponent is below -4 or at least 16.
pub fn python_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    // Rust's `{:e}` yields the same shortest round-trip digits as Python,
    // e.g. "1.234567e6" or "-1e-5"; only the layout differs.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(digits.len() + 8);
    out.push_str(sign);
    if !(-4..16).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
        return out;
    }
    // Position of the decimal point relative to the first digit.
    let point = exp + 1;
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else {
        let point = point as usize;
        if point >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// prometheus_client's `floatToGoString`: sample values and `le` bounds.
/// Go switches to exponent notation sooner than Python, so positive values
/// with more than six integer digits become `d.ddde+XX`.
pub fn go_float(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let repr = python_repr(x);
    match repr.find('.') {
        Some(dot) if x > 0.0 && dot > 6 => {
            let mut mantissa = String::with_capacity(repr.len() + 1);
            mantissa.push_str(&repr[..1]);
            mantissa.push('.');
            mantissa.push_str(&repr[1..dot]);
            mantissa.push_str(&repr[dot + 1..]);
            let mantissa = mantissa.trim_end_matches(['0', '.']);
            format!("{mantissa}e+{:02}", dot - 1)
        }
        _ => repr,
    }
}

/// Escapes a label value the way the text format requires.
pub fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Escapes a HELP text (backslash and newline only, as prometheus_client does).
pub fn escape_help(out: &mut String, help: &str) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_repr_matches_cpython() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (12.0, "12.0"),
            (0.25, "0.25"),
            (0.1, "0.1"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (1.5e-7, "1.5e-07"),
            (123456.0, "123456.0"),
            (1234567.0, "1234567.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e100, "1e+100"),
            (-2.5, "-2.5"),
            (5.07568359375, "5.07568359375"),
            (1762438423.0434499, "1762438423.0434499"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ];
        for (x, want) in cases {
            assert_eq!(python_repr(x), want, "repr({x:?})");
        }
    }

    #[test]
    fn go_float_matches_prometheus_client() {
        let cases = [
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.25, "0.25"),
            (1e-5, "1e-05"),
            (123456.0, "123456.0"),
            (1234567.0, "1.234567e+06"),
            (1e6, "1e+06"),
            (1048576.0, "1.048576e+06"),
            (4294967296.0, "4.294967296e+09"),
            (1762438423.0434499, "1.7624384230434499e+09"),
            (1762438367.32, "1.76243836732e+09"),
            (1e15, "1e+15"),
            (1e16, "1e+16"),
            (-1234567.0, "-1234567.0"),
            (-1.0, "-1.0"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ];
        for (x, want) in cases {
            assert_eq!(go_float(x), want, "floatToGoString({x:?})");
        }
    }

    #[test]
    fn escapes_label_values_and_help() {
        let mut s = String::new();
        escape_label_value(&mut s, "a\"b\\c\nd");
        assert_eq!(s, r#"a\"b\\c\nd"#);
        let mut h = String::new();
        escape_help(&mut h, "q\"\\\n");
        assert_eq!(h, "q\"\\\\\\n");
    }
}

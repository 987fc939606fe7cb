//! Malformed input: strict mode must stop at the right line and column,
//! lenient mode must keep every good sample and list every bad line, and
//! nothing may panic, whatever the bytes.

mod common {
    pub mod inputs;
}

use common::inputs::{XorShift, CAPTURE_01, CAPTURE_06, CAPTURE_08};
use vllm_grafana::exposition::{
    parse, Entry, Exposition, Mode, ParseError, ParseErrorKind, Parser, EXCERPT_CHARS,
};

fn strict_err(text: &str) -> ParseError {
    match parse(text, Mode::Strict) {
        Err(e) => e,
        Ok(exp) => panic!("strict mode accepted {text:?}: {exp:?}"),
    }
}

fn lenient(text: &str) -> Exposition<'_> {
    parse(text, Mode::Lenient).expect("lenient mode never fails")
}

fn bad_line_numbers(exp: &Exposition<'_>) -> Vec<usize> {
    exp.bad_lines.iter().map(|b| b.line).collect()
}

#[test]
fn capture_06_cut_mid_label() {
    let e = strict_err(CAPTURE_06);
    assert_eq!((e.line, e.column), (9, 62));
    assert_eq!(e.kind, ParseErrorKind::UnterminatedLabelValue);
    assert_eq!(
        e.to_string(),
        "line 9, column 62: unterminated label value near \
         `vllm:time_to_first_token_seconds_bucket{le=\"0.08\",model_name=\"/se`"
    );
    let exp = lenient(CAPTURE_06);
    assert_eq!(exp.families.len(), 1);
    assert_eq!(exp.sample_count(), 6);
    assert_eq!(bad_line_numbers(&exp), [9]);
    assert_eq!(
        exp.bad_lines[0].reason,
        "column 62: unterminated label value"
    );
}

#[test]
fn capture_08_cut_mid_label() {
    let e = strict_err(CAPTURE_08);
    assert_eq!((e.line, e.column), (14, 54));
    assert_eq!(e.kind, ParseErrorKind::UnterminatedLabelValue);
    let exp = lenient(CAPTURE_08);
    // The cut sample's family keeps its HELP/TYPE and no samples.
    assert_eq!(exp.families.len(), 5);
    assert_eq!(exp.sample_count(), 3);
    assert_eq!(bad_line_numbers(&exp), [14]);
    let last = exp.families.last().expect("families");
    assert_eq!(last.name, "vllm:avg_generation_throughput_toks_per_s");
    assert!(last.samples.is_empty());
}

/// One bad line between good ones: (line, column, kind) in strict mode; in
/// lenient mode both good samples stay in their family.
#[test]
fn single_bad_lines() {
    use ParseErrorKind::*;
    let cases: &[(&str, usize, ParseErrorKind)] = &[
        ("m 1.2.3", 3, InvalidNumber("1.2.3".into())),
        ("m abc", 3, InvalidNumber("abc".into())),
        ("m{a=\"1\"} 0x10", 10, InvalidNumber("0x10".into())),
        ("m 1_000", 3, InvalidNumber("1_000".into())),
        ("m{a=\"x} 1", 5, UnterminatedLabelValue),
        ("m{a=\"x\\\"} 1", 5, UnterminatedLabelValue),
        ("m{a=\"x\\q\"} 1", 7, InvalidEscape),
        ("m{a=\"x\\", 5, UnterminatedLabelValue),
        ("m{a=\"x\"}", 9, ExpectedValue),
        ("m", 2, ExpectedValue),
        ("m{a=\"x\" 1", 9, ExpectedLabelSeparator),
        ("m{a=\"x\",", 2, UnterminatedLabelSet),
        ("m{a=1} 1", 5, ExpectedLabelValue),
        ("m{a} 1", 4, ExpectedEquals),
        ("m{1a=\"x\"} 1", 3, InvalidLabelName),
        ("m{,a=\"x\"} 1", 3, InvalidLabelName),
        ("m{__name__=\"m\"} 1", 3, ReservedLabelName),
        ("m{a=\"1\",a=\"2\"} 1", 9, DuplicateLabel("a".into())),
        ("m 1 2 3", 7, TrailingGarbage),
        ("m 1 1.5", 5, InvalidTimestamp),
        ("m 1 # comment", 5, InvalidTimestamp),
        ("m-1 1", 2, InvalidMetricName),
        ("9m 1", 1, InvalidMetricName),
        ("  {a=\"b\"} 1", 3, InvalidMetricName),
        ("nan", 4, ExpectedValue),
        ("# TYPE m gauges", 10, UnknownMetricType("gauges".into())),
        ("# TYPE m", 9, InvalidTypeLine),
        ("# TYPE", 7, InvalidTypeLine),
        ("# HELP", 7, InvalidHelpLine),
        ("# HELP 1m text", 8, InvalidMetricName),
        ("m 1\u{0}", 3, InvalidNumber("1\u{0}".into())),
    ];
    for (bad, column, kind) in cases {
        let text = format!("# TYPE good gauge\ngood 1\n{bad}\ngood 2\n");
        let e = strict_err(&text);
        assert_eq!(
            (e.line, e.column, &e.kind),
            (3, *column, kind),
            "{bad:?} -> {e}"
        );
        assert!(e.excerpt.chars().count() <= EXCERPT_CHARS);
        let exp = lenient(&text);
        assert_eq!(bad_line_numbers(&exp), [3], "{bad:?}");
        assert_eq!(exp.families.len(), 1, "{bad:?}");
        assert_eq!(exp.families[0].samples.len(), 2, "{bad:?}");
        assert!(exp.bad_lines[0]
            .reason
            .starts_with(&format!("column {column}: ")));
    }
}

#[test]
fn many_bad_lines_in_one_document() {
    let text = "\
# HELP vllm:num_requests_running Running.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name=\"a\"} 1
vllm:num_requests_running{model_name=\"b} 2
vllm:num_requests_running{model_name=\"c\"} 3
# TYPE vllm:num_requests_running counter
vllm:num_requests_running{model_name=\"d\"} four
# HELP vllm:e2e_request_latency_seconds Latency.
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{le=\"1\",model_name=\"a\"} 1
vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\",model_name=\"a\"} 2 3 4
vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\",model_name=\"a\"} 2
vllm:e2e_request_latency_seconds_count{model_name=\"a\"} 2
vllm:e2e_request_latency_seconds_sum{model_name=\"a\"}
";
    let e = strict_err(text);
    assert_eq!((e.line, e.column), (4, 38));
    let exp = lenient(text);
    assert_eq!(bad_line_numbers(&exp), [4, 6, 7, 11, 14]);
    let reasons: Vec<&str> = exp.bad_lines.iter().map(|b| b.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "column 38: unterminated label value",
            "column 8: second `# TYPE` line for the same family",
            "column 43: invalid sample value `four`",
            "column 71: unexpected text after the timestamp",
            "column 53: missing sample value",
        ]
    );
    assert_eq!(exp.families.len(), 2);
    let running = exp.family("vllm:num_requests_running").expect("gauge");
    assert_eq!(running.samples.len(), 2);
    assert_eq!(
        running.metric_type,
        vllm_grafana::exposition::MetricType::Gauge
    );
    assert_eq!(exp.families[1].samples.len(), 3);
}

#[test]
fn error_pages_instead_of_metrics() {
    let nginx = "\
<html>
<head><title>500 Internal Server Error</title></head>
<body>
<center><h1>500 Internal Server Error</h1></center>
<hr><center>nginx/1.18.0</center>
</body>
</html>
";
    let e = strict_err(nginx);
    assert_eq!(
        (e.line, e.column, e.kind),
        (1, 1, ParseErrorKind::InvalidMetricName)
    );
    let exp = lenient(nginx);
    assert_eq!(exp.sample_count(), 0);
    assert!(exp.families.is_empty());
    assert_eq!(bad_line_numbers(&exp), [1, 2, 3, 4, 5, 6, 7]);

    // uvicorn/FastAPI's plain-text 500 body.
    let e = strict_err("Internal Server Error");
    assert_eq!((e.line, e.column), (1, 10));
    assert_eq!(e.kind, ParseErrorKind::InvalidNumber("Server".into()));

    // A JSON error body.
    let e = strict_err("{\"detail\":\"Not Found\"}");
    assert_eq!(
        (e.line, e.column, e.kind),
        (1, 1, ParseErrorKind::InvalidMetricName)
    );
}

#[test]
fn empty_and_blank_inputs() {
    for text in ["", "\n", "\n\n\n", "   \t  \n\r\n", "# only a comment\n"] {
        let exp = parse(text, Mode::Strict).expect("valid");
        assert!(
            exp.families.is_empty() && exp.bad_lines.is_empty(),
            "{text:?}"
        );
    }
}

#[test]
fn huge_lines() {
    // 4 MB label value that never ends.
    let text = format!("ok 1\nm{{a=\"{}", "x".repeat(4 << 20));
    let e = strict_err(&text);
    assert_eq!((e.line, e.column), (2, 5));
    assert!(e.excerpt.chars().count() <= EXCERPT_CHARS);
    assert_eq!(lenient(&text).sample_count(), 1);

    // A 40 000-label line in descending order is valid and stays fast.
    let labels: Vec<String> = (0..40_000)
        .rev()
        .map(|i| format!("l{i:05}=\"v\""))
        .collect();
    let text = format!("m{{{}}} 1\n", labels.join(","));
    let exp = parse(&text, Mode::Strict).expect("valid");
    assert_eq!(exp.families[0].samples[0].labels.len(), 40_000);
    let dup = format!("m{{{},l12345=\"w\"}} 1\n", labels.join(","));
    assert!(matches!(strict_err(&dup).kind, ParseErrorKind::DuplicateLabel(n) if n == "l12345"));

    // A 1 MB metric name followed by nothing.
    let text = "a".repeat(1 << 20);
    assert_eq!(strict_err(&text).kind, ParseErrorKind::ExpectedValue);
}

#[test]
fn invalid_utf8_converted_lossily() {
    let bytes = b"m{a=\"\xff\xfe\"} 1\n\xffm 2\nm{a=\"ok\"} 3\n";
    let text = String::from_utf8_lossy(bytes);
    let e = strict_err(&text);
    assert_eq!((e.line, e.column), (2, 1));
    let exp = lenient(&text);
    assert_eq!(exp.sample_count(), 2);
    assert_eq!(
        exp.families[0].samples[0].label("a"),
        Some("\u{fffd}\u{fffd}")
    );
    assert_eq!(bad_line_numbers(&exp), [2]);
}

/// Checks that hold for any input; returns the lenient result's sample count.
fn check_invariants(text: &str) -> usize {
    let lines = text.split('\n').count();
    let strict = parse(text, Mode::Strict);
    let exp = lenient(text);

    let mut last = 0;
    for bad in &exp.bad_lines {
        assert!(bad.line > last && bad.line <= lines, "{bad:?} in {text:?}");
        assert!(bad.excerpt.chars().count() <= EXCERPT_CHARS);
        assert!(!bad.reason.is_empty());
        last = bad.line;
    }
    match &strict {
        Ok(s) => {
            assert!(
                exp.bad_lines.is_empty(),
                "strict ok but lenient skipped lines: {text:?}"
            );
            // Compared through Debug: NaN values are not `==` to themselves.
            assert_eq!(format!("{s:?}"), format!("{exp:?}"));
        }
        Err(e) => {
            assert_eq!(
                exp.bad_lines.first().map(|b| b.line),
                Some(e.line),
                "{text:?}"
            );
            assert!(e.column >= 1 && e.excerpt.chars().count() <= EXCERPT_CHARS);
        }
    }
    // parse() keeps exactly the samples the pull parser accepts, and the
    // pull parser reports every line that lenient mode skipped.
    let mut pull_samples = 0;
    let mut pull_errors = Vec::new();
    for item in Parser::new(text) {
        match item {
            Ok(Entry::Sample(s)) => {
                pull_samples += 1;
                assert!(s.labels.iter().count() <= s.labels.as_str().len());
            }
            Ok(_) => {}
            Err(e) => pull_errors.push(e.line),
        }
    }
    assert_eq!(exp.sample_count(), pull_samples, "{text:?}");
    let duplicate_types = exp
        .bad_lines
        .iter()
        .filter(|b| b.reason.contains("second `# TYPE`"))
        .count();
    assert_eq!(exp.bad_lines.len(), pull_errors.len() + duplicate_types);
    exp.sample_count()
}

/// Fragments that make random inputs reach deep parser states.
const PIECES: &[&str] = &[
    "vllm:num_requests_running",
    "_bucket",
    "_sum",
    "_count",
    "{",
    "}",
    "=",
    "\"",
    ",",
    "\\",
    "\\\"",
    "\\n",
    "\\\\",
    " ",
    "\t",
    "\n",
    "\r\n",
    "# HELP ",
    "# TYPE ",
    "#",
    "counter",
    "gauge",
    "histogram",
    "summary",
    "untyped",
    "le=\"+Inf\"",
    "model_name=\"m\"",
    "1",
    "0.5",
    "-1e-3",
    "NaN",
    "+Inf",
    "-Inf",
    "1395066363000",
    "é",
    "✓",
    "\u{0}",
    "\u{fffd}",
    "__name__",
    "a",
    "x y",
];

fn pick<'a>(rng: &mut XorShift, from: &[&'a str]) -> &'a str {
    from[rng.below(from.len())]
}

/// A plausible line (sample, HELP, TYPE or comment), or token soup.
fn random_line(rng: &mut XorShift) -> String {
    const NAMES: &[&str] = &[
        "vllm:num_requests_running",
        "h_bucket",
        "h_sum",
        "h",
        "c_total",
        "x",
    ];
    const LABELS: &[&str] = &[
        "le=\"+Inf\"",
        "model_name=\"m\"",
        "a=\"\\\"\"",
        "b=\"é\\n\"",
        "a=\"1\"",
    ];
    const VALUES: &[&str] = &[
        "1", "0.5", "-1e-3", "NaN", "+Inf", "-Inf", ".5", "1.2.3", "",
    ];
    const TYPES: &[&str] = &[
        "counter",
        "gauge",
        "histogram",
        "summary",
        "untyped",
        "info",
    ];
    let mut line = match rng.below(4) {
        0 | 1 => {
            let mut l = pick(rng, NAMES).to_owned();
            let n = rng.below(4);
            if n > 0 {
                let labels: Vec<&str> = (0..n).map(|_| pick(rng, LABELS)).collect();
                l += &format!("{{{}}}", labels.join(","));
            }
            l += " ";
            l += pick(rng, VALUES);
            if rng.below(4) == 0 {
                l += " 1395066363000";
            }
            l
        }
        2 => {
            let kw = if rng.below(2) == 0 { "HELP" } else { "TYPE" };
            format!("# {kw} {} {}", pick(rng, NAMES), pick(rng, TYPES))
        }
        _ => (0..rng.below(12)).map(|_| pick(rng, PIECES)).collect(),
    };
    // Corrupt some lines by inserting a random piece.
    for _ in 0..rng.below(3) {
        let mut at = rng.below(line.len() + 1);
        while !line.is_char_boundary(at) {
            at -= 1;
        }
        line.insert_str(at, pick(rng, PIECES));
    }
    line
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = XorShift::new(0x5eed_cafe_f00d_0001);
    let (mut total_samples, mut total_bad) = (0, 0);
    for round in 0..2000 {
        let text = if round % 2 == 0 {
            // Raw bytes, as a caller would receive them, converted lossily.
            let bytes: Vec<u8> = (0..rng.below(300)).map(|_| rng.next_u64() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            let lines: Vec<String> = (0..rng.below(16)).map(|_| random_line(&mut rng)).collect();
            lines.join(if rng.below(4) == 0 { "\r\n" } else { "\n" })
        };
        total_samples += check_invariants(&text);
        total_bad += lenient(&text).bad_lines.len();
    }
    // The generator reaches both good and bad paths a lot.
    assert!(total_samples > 500, "only {total_samples} samples");
    assert!(total_bad > 2000, "only {total_bad} bad lines");
}

#[test]
fn truncated_capture_01() {
    let mut rng = XorShift::new(42);
    let full = lenient(CAPTURE_01).sample_count();
    for _ in 0..400 {
        let mut cut = rng.below(CAPTURE_01.len() + 1);
        while !CAPTURE_01.is_char_boundary(cut) {
            cut -= 1;
        }
        let text = &CAPTURE_01[..cut];
        let samples = check_invariants(text);
        let exp = lenient(text);
        // Only the cut line can be bad.
        let last_line = text.split('\n').count();
        assert!(
            bad_line_numbers(&exp).iter().all(|&l| l == last_line),
            "cut at {cut}: {:?}",
            exp.bad_lines
        );
        // Every complete sample line before the cut is kept.
        let complete = text
            .rsplit_once('\n')
            .map_or("", |(head, _)| head)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count();
        assert!(
            samples == complete || samples == complete + 1,
            "cut at {cut}"
        );
        assert!(samples <= full);
    }
}

#[test]
fn mutated_capture_01() {
    assert!(CAPTURE_01.is_ascii());
    let mut rng = XorShift::new(7);
    let full = lenient(CAPTURE_01).sample_count();
    let replacements = b"{}=\",\\ \t#x0.-+e_:\x00\x7f";
    for round in 0..600 {
        let mut bytes = CAPTURE_01.as_bytes().to_vec();
        let at = rng.below(bytes.len());
        let line = CAPTURE_01[..at].matches('\n').count() + 1;
        let insert_newline = round % 5 == 0;
        if insert_newline {
            bytes.insert(at, b'\n');
        } else {
            if bytes[at] == b'\n' {
                continue;
            }
            bytes[at] = replacements[rng.below(replacements.len())];
        }
        let text = String::from_utf8(bytes).expect("ASCII stays UTF-8");
        let samples = check_invariants(&text);
        let exp = lenient(&text);
        let allowed = if insert_newline {
            line..=line + 1
        } else {
            line..=line
        };
        assert!(
            bad_line_numbers(&exp).iter().all(|l| allowed.contains(l)),
            "mutation at byte {at} (line {line}): {:?}",
            exp.bad_lines
        );
        // A split line can turn into two samples, a broken one loses one.
        assert!(
            samples + 1 >= full && samples <= full + 1,
            "mutation at {at}"
        );
    }
}

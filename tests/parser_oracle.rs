//! Differential tests: our parser against Python's prometheus_client 0.26.0
//! (`text_string_to_metric_families`), through `tests/oracle/prom_dump.py`.
//!
//! Both sides produce the same canonical JSON (see the script's docstring)
//! and must match exactly: family order, names, types, HELP, and per sample
//! the name, sorted labels, value and timestamp.
//!
//! One documented normalisation is applied to our side: prometheus_client
//! renames counters the OpenMetrics way. A counter family `X_total` is
//! reported as `X`; a counter family `X` (no `_total`, as in capture 08)
//! keeps its name but its samples are renamed `X_total`. We keep names as
//! written, so the dump of our result applies that same renaming.
//!
//! Python is required: a missing `python3` or `prometheus_client` fails the
//! tests with instructions instead of skipping them.

mod common {
    pub mod inputs;
}

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::inputs::{
    multi_model, XorShift, CAPTURE_01, CAPTURE_02, CAPTURE_03, CAPTURE_06, CAPTURE_08,
};
use serde_json::{json, Value};
use vllm_grafana::exposition::{parse, Exposition, MetricType, Mode};

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the oracle on a file and returns its JSON.
fn python_dump_file(path: &Path) -> Value {
    let script = manifest_dir().join("tests/oracle/prom_dump.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(path)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `python3` ({e}); the oracle tests need Python 3 with \
                 prometheus_client 0.26.0 (`python3 -m pip install prometheus_client==0.26.0`)"
            )
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(3) => panic!("oracle unavailable: {stderr}"),
        _ => panic!(
            "oracle failed on {} ({}): {stderr}",
            path.display(),
            output.status
        ),
    }
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("oracle printed invalid JSON for {}: {e}", path.display()))
}

/// Runs the oracle on text, through a temporary file.
fn python_dump(text: &str) -> Value {
    let mut file = tempfile::NamedTempFile::new().expect("create temp file");
    file.write_all(text.as_bytes()).expect("write temp file");
    file.flush().expect("flush temp file");
    python_dump_file(file.path())
}

/// Shortest round-trip digits and exponent: `-12345e-9`; same as the script.
fn canon_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let mut exp: i64 = exp.parse().expect("integer exponent");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits = format!("{int}{frac}");
    exp -= frac.len() as i64;
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
        exp += 1;
    }
    if digits == "0" {
        exp = 0;
    }
    format!("{sign}{digits}e{exp}")
}

/// Our result in the oracle's canonical form (see the module docs).
fn our_dump(exp: &Exposition<'_>) -> Value {
    let families: Vec<Value> = exp
        .families
        .iter()
        .map(|f| {
            let counter = f.metric_type == MetricType::Counter;
            let (name, sample_suffix) = match f.name.strip_suffix("_total") {
                Some(stripped) if counter => (stripped, ""),
                _ if counter => (f.name, "_total"),
                _ => (f.name, ""),
            };
            let samples: Vec<Value> = f
                .samples
                .iter()
                .map(|s| {
                    let mut labels: Vec<(&str, &str)> =
                        s.labels.iter().map(|(k, v)| (*k, v.as_ref())).collect();
                    labels.sort();
                    json!({
                        "name": format!("{}{sample_suffix}", s.name),
                        "labels": labels,
                        "value": canon_float(s.value),
                        "timestamp": s.timestamp_ms.map(|ms| canon_float(ms as f64 / 1000.0)),
                    })
                })
                .collect();
            json!({
                "name": name,
                "type": f.metric_type.as_str(),
                "help": f.help.as_deref().unwrap_or(""),
                "samples": samples,
            })
        })
        .collect();
    json!({ "families": families })
}

/// Asserts equality, reporting the first differing family/sample readably.
fn assert_same(input: &str, ours: &Value, theirs: &Value) {
    let empty = Vec::new();
    let fams = |v: &Value| v["families"].as_array().unwrap_or(&empty).clone();
    let (a, b) = (fams(ours), fams(theirs));
    for (i, (fa, fb)) in a.iter().zip(&b).enumerate() {
        for key in ["name", "type", "help"] {
            assert_eq!(
                fa[key], fb[key],
                "{input}: family #{i} differs in {key}\n ours:   {fa:.300}\n python: {fb:.300}"
            );
        }
        let (sa, sb) = (
            fa["samples"].as_array().unwrap_or(&empty),
            fb["samples"].as_array().unwrap_or(&empty),
        );
        for (j, (x, y)) in sa.iter().zip(sb).enumerate() {
            assert_eq!(
                x, y,
                "{input}: family #{i} ({}) sample #{j} differs",
                fa["name"]
            );
        }
        assert_eq!(
            sa.len(),
            sb.len(),
            "{input}: family #{i} ({}) sample count",
            fa["name"]
        );
    }
    assert_eq!(a.len(), b.len(), "{input}: family count");
    assert_eq!(ours, theirs, "{input}: dumps differ");
}

fn sample_total(v: &Value) -> usize {
    v["families"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|f| f["samples"].as_array().map_or(0, Vec::len))
                .sum()
        })
        .unwrap_or(0)
}

/// Strict parse of `text` must equal Python's view of the same text.
/// Returns (families, samples) for extra assertions.
fn check_strict(input: &str, text: &str) -> (usize, usize) {
    let exp = parse(text, Mode::Strict).unwrap_or_else(|e| panic!("{input}: {e}"));
    let ours = our_dump(&exp);
    let theirs = python_dump(text);
    assert_same(input, &ours, &theirs);
    // Lenient mode must agree on valid input.
    let lenient = parse(text, Mode::Lenient).expect("lenient never fails");
    assert!(
        lenient.bad_lines.is_empty(),
        "{input}: {:?}",
        lenient.bad_lines
    );
    // Through Debug, where NaN equals NaN.
    assert_eq!(
        format!("{lenient:?}"),
        format!("{exp:?}"),
        "{input}: lenient differs from strict"
    );
    (exp.families.len(), exp.sample_count())
}

#[test]
fn capture_01_full_v1_engine() {
    assert_eq!(check_strict("capture 01", CAPTURE_01), (62, 379));
}

#[test]
fn capture_02_full_metal() {
    assert_eq!(check_strict("capture 02", CAPTURE_02), (76, 399));
}

#[test]
fn capture_03_cut_inside_a_histogram() {
    // Cut before `+Inf`/`_count`, but every line is complete: both parsers
    // accept it and keep the partial histogram.
    assert_eq!(check_strict("capture 03", CAPTURE_03), (14, 29));
}

#[test]
fn generated_1_model() {
    let (families, samples) = check_strict("multi_model(1)", &multi_model(1));
    assert_eq!((families, samples), (76, 399));
}

#[test]
fn generated_16_models() {
    let (families, samples) = check_strict("multi_model(16)", &multi_model(16));
    // 35 non-vLLM samples once, 364 vLLM samples per model.
    assert_eq!((families, samples), (76, 35 + 16 * 364));
}

#[test]
fn generated_256_models() {
    let (families, samples) = check_strict("multi_model(256)", &multi_model(256));
    assert_eq!((families, samples), (76, 35 + 256 * 364));
}

#[test]
fn hand_written_edge_cases() {
    let path = manifest_dir().join("tests/oracle/edge_cases.prom");
    let text = std::fs::read_to_string(&path).expect("read edge_cases.prom");
    let exp = parse(&text, Mode::Strict).unwrap_or_else(|e| panic!("edge cases: {e}"));
    assert_same("edge cases", &our_dump(&exp), &python_dump_file(&path));
    // Spot checks that the file exercises what it claims.
    let esc = exp.family("esc:labels").expect("esc family");
    assert_eq!(
        esc.samples[0].label("msg"),
        Some("Cannot find file:\n\"FILE.TXT\"")
    );
    assert_eq!(esc.samples[0].label("both"), Some("\\n"));
    assert!(exp
        .family("help_only")
        .is_some_and(|f| f.samples.is_empty()));
    assert!(exp
        .family("type_only")
        .is_some_and(|f| f.samples.is_empty()));
    assert_eq!(
        exp.families
            .iter()
            .filter(|f| f.name == "untyped_sample")
            .count(),
        3
    );
    let created = exp
        .family("vllm:prompt_tokens_created")
        .expect("created family");
    assert_eq!(created.metric_type, MetricType::Gauge);
}

#[test]
fn line_endings_and_trailing_whitespace() {
    let text = "# HELP c Help with a trailing no-break space\u{a0}\r\n\
                # TYPE c gauge\r\n\
                c{x=\"1\"} 3 \t\r\n\
                \u{3000}c{x=\"2\"} 4\x0c\n\
                \r\n\
                d 5\x0b\n\
                e 6";
    check_strict("CRLF and odd whitespace", text);
}

/// Captures 06 and 08 end in a cut line, which makes Python raise. Python
/// gets the text without that line; our lenient parse of the whole text
/// must match it and report exactly that line.
fn check_cut_capture(input: &str, text: &str, last_line: usize) {
    let cut_at = text.rfind('\n').expect("several lines");
    let head = &text[..=cut_at];
    let theirs = python_dump(head);

    let exp = parse(text, Mode::Lenient).expect("lenient never fails");
    assert_same(input, &our_dump(&exp), &theirs);
    assert_eq!(exp.bad_lines.len(), 1, "{input}: {:?}", exp.bad_lines);
    let bad = &exp.bad_lines[0];
    assert_eq!(bad.line, last_line, "{input}");
    assert_eq!(
        bad.excerpt,
        text[cut_at + 1..].chars().take(80).collect::<String>()
    );
    assert!(
        bad.reason.contains("unterminated label value"),
        "{}",
        bad.reason
    );
    assert_eq!(exp.sample_count(), sample_total(&theirs));

    let err = parse(text, Mode::Strict).expect_err("strict rejects the cut line");
    assert_eq!(err.line, last_line, "{input}");
}

#[test]
fn capture_06_cut_mid_label() {
    check_cut_capture("capture 06", CAPTURE_06, 9);
}

#[test]
fn capture_08_cut_mid_label() {
    check_cut_capture("capture 08", CAPTURE_08, 14);
}

/// Random documents from a grammar on which both parsers should agree
/// (everything both accept, plus lines both reject; the documented
/// deviations are left out). All go to Python in one batch.
#[test]
fn random_documents_agree_with_python() {
    let mut rng = XorShift::new(0x0b5e_55ed_0fca_fe01);
    let docs: Vec<String> = (0..400).map(|_| random_document(&mut rng)).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let paths: Vec<PathBuf> = docs
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let path = dir.path().join(format!("doc{i}.prom"));
            std::fs::write(&path, doc).expect("write doc");
            path
        })
        .collect();
    let output = Command::new("python3")
        .arg(manifest_dir().join("tests/oracle/prom_dump.py"))
        .arg("--batch")
        .args(&paths)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `python3` ({e}); see the module docs"));
    assert!(
        output.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).expect("oracle JSON list");
    assert_eq!(results.len(), docs.len());

    let (mut accepted, mut rejected) = (0, 0);
    for (i, (doc, theirs)) in docs.iter().zip(&results).enumerate() {
        let ours = parse(doc, Mode::Strict);
        match (&ours, theirs.get("error")) {
            (Ok(exp), None) => {
                assert_same(&format!("random doc #{i}:\n{doc}"), &our_dump(exp), theirs);
                accepted += 1;
            }
            (Err(_), Some(_)) => rejected += 1,
            (Ok(_), Some(e)) => panic!("random doc #{i}: Python rejects ({e}), we accept:\n{doc}"),
            (Err(e), None) => panic!("random doc #{i}: we reject ({e}), Python accepts:\n{doc}"),
        }
    }
    // Both outcomes are exercised in quantity.
    assert!(
        accepted > 300 && rejected > 20,
        "{accepted} accepted, {rejected} rejected"
    );
}

fn pick<'a>(rng: &mut XorShift, from: &[&'a str]) -> &'a str {
    from[rng.below(from.len())]
}

/// Blanks between tokens: usually one space, sometimes tabs or several.
fn blank(rng: &mut XorShift) -> &'static str {
    pick(rng, &[" ", " ", " ", "\t", "  ", " \t"])
}

/// Optional blanks (inside label sets).
fn maybe_blank(rng: &mut XorShift) -> &'static str {
    pick(rng, &["", "", "", "", " ", "\t"])
}

fn random_document(rng: &mut XorShift) -> String {
    const FAMILIES: &[&str] = &["a", "h", "s", "vllm:x", "vllm:x_total", "c_total"];
    const SUFFIXES: &[&str] = &["", "", "_bucket", "_sum", "_count", "_total", "_created"];
    const TYPES: &[&str] = &["counter", "gauge", "histogram", "summary", "untyped"];
    const HELP: &[&str] = &[
        "Plain help.",
        "back\\\\slash",
        "new\\nline",
        "kept \\t and \\x",
        "say \"hi\"",
        "{braces} = , #",
        "ünïcödé ✓",
        "",
    ];
    const LABELS: &[&str] = &["a", "b", "le", "model_name", "quantile", "_x", "x1"];
    const VALUES: &[&str] = &[
        "",
        "x",
        "0.5",
        "+Inf",
        "Qwen/Qwen2.5-0.5B",
        "q\\\"q",
        "back\\\\",
        "nl\\n",
        "} , = { #",
        "ü ✓",
        "a b",
    ];
    const NUMBERS: &[&str] = &[
        "0",
        "1",
        "-1",
        "1.5",
        "+2",
        ".5",
        "5.",
        "1e3",
        "-2.5E-3",
        "NaN",
        "+Inf",
        "-Inf",
        "Inf",
        "inf",
        "-infinity",
        "12345678901234567890",
        "0.1000000000000000055511151231257827",
        "1.7624384230434499e+09",
    ];
    const TIMESTAMPS: &[&str] = &["1395066363000", "-17", "+5", "0"];
    // Lines both parsers reject.
    const BAD: &[&str] = &[
        "m{a=\"x} 1",
        "m abc",
        "m 1.2.3",
        "m 1_0",
        "m 0x10",
        "m",
        "m{a=\"1\"}",
        "m{a=\"1\",a=\"2\"} 1",
        "m{__a=\"1\"} 1",
        "m{a=1} 1",
        "9m 1",
        "# TYPE m",
        "# TYPE m bogus",
        "m{a=\"1\",,b=\"2\"} 1",
        "m{a=\"1\" b=\"2\"} 1",
    ];

    // Mirror of the grouping state, only to avoid a second TYPE line for
    // the open family (prometheus_client takes it, we reject it).
    let mut open: Option<(&str, &str, bool)> = None;
    let mut lines = Vec::new();
    let bad_at = if rng.below(8) == 0 {
        Some(rng.below(12))
    } else {
        None
    };
    for n in 0..rng.below(14) + 1 {
        if bad_at == Some(n) {
            lines.push(pick(rng, BAD).to_owned());
            continue;
        }
        let family = pick(rng, FAMILIES);
        let line = match rng.below(10) {
            0 | 1 => {
                match open {
                    Some((name, t, typed)) if name == family => open = Some((name, t, typed)),
                    _ => open = Some((family, "untyped", false)),
                }
                format!(
                    "# HELP{}{family}{}{}",
                    blank(rng),
                    blank(rng),
                    pick(rng, HELP)
                )
            }
            2 | 3 => {
                let t = pick(rng, TYPES);
                match open {
                    Some((name, _, true)) if name == family => continue,
                    _ => open = Some((family, t, true)),
                }
                format!("# TYPE{}{family}{}{t}", blank(rng), blank(rng))
            }
            4 => pick(rng, &["", "   ", "# a comment", "#", "#HELP x y", "\t"]).to_owned(),
            _ => {
                let name = format!("{family}{}", pick(rng, SUFFIXES));
                let fits = open.is_some_and(|(f, t, _)| match name.strip_prefix(f) {
                    Some(sfx) => match t {
                        "histogram" => matches!(sfx, "_bucket" | "_sum" | "_count"),
                        "summary" => matches!(sfx, "" | "_sum" | "_count"),
                        _ => sfx.is_empty(),
                    },
                    None => false,
                });
                if !fits {
                    open = None;
                }
                let mut line = name;
                if rng.below(3) > 0 {
                    line += pick(rng, &["", "", " "]);
                    line.push('{');
                    let mut names: Vec<&str> = LABELS.to_vec();
                    let count = rng.below(4);
                    for k in 0..count {
                        let label = names.remove(rng.below(names.len()));
                        if k > 0 {
                            line += &format!("{},{}", maybe_blank(rng), maybe_blank(rng));
                        }
                        line += &format!(
                            "{label}{}={}\"{}\"",
                            maybe_blank(rng),
                            maybe_blank(rng),
                            pick(rng, VALUES)
                        );
                    }
                    // A trailing comma needs a label before it: Python
                    // also takes `{,}`, we do not (documented).
                    if count > 0 {
                        line += pick(rng, &["", "", ",", " "]);
                    }
                    line.push('}');
                    line += pick(rng, &[" ", " ", "\t", ""]);
                } else {
                    line += blank(rng);
                }
                line += pick(rng, NUMBERS);
                if rng.below(4) == 0 {
                    line += blank(rng);
                    line += pick(rng, TIMESTAMPS);
                }
                line
            }
        };
        let indent = pick(rng, &["", "", "", " ", "\t"]);
        let trail = pick(rng, &["", "", "", " ", "\t", "\u{a0}", "\r"]);
        lines.push(format!("{indent}{line}{trail}"));
    }
    let mut doc = lines.join(if rng.below(5) == 0 { "\r\n" } else { "\n" });
    if rng.below(2) == 0 {
        doc.push('\n');
    }
    doc
}

/// The comparison is not vacuous: a one-digit change is caught.
#[test]
fn oracle_detects_a_changed_value() {
    let theirs = python_dump(CAPTURE_01);
    let changed = CAPTURE_01.replacen("11299.0", "11299.5", 1);
    assert_ne!(changed, CAPTURE_01);
    let exp = parse(&changed, Mode::Strict).expect("still valid");
    let ours = our_dump(&exp);
    assert_ne!(ours, theirs);
    let result = std::panic::catch_unwind(|| assert_same("changed", &ours, &theirs));
    assert!(result.is_err(), "assert_same must fail on a changed value");
}

#[test]
fn canonical_floats() {
    assert_eq!(canon_float(0.0), "0e0");
    assert_eq!(canon_float(-0.0), "-0e0");
    assert_eq!(canon_float(100.0), "1e2");
    assert_eq!(canon_float(12.5), "125e-1");
    assert_eq!(canon_float(1.7624384230434499e9), "17624384230434499e-7");
    assert_eq!(canon_float(f64::NEG_INFINITY), "-Inf");
    assert_eq!(canon_float(5e-324), "5e-324");
}

//! Entry points shared by the `cargo fuzz` targets (`fuzz/`) and their
//! regression tests (`tests/fuzz_regressions.rs`). Not a stable API.
//!
//! Each entry point takes raw bytes, feeds them to one input path of the
//! plugin the way production does, checks invariants that must hold for
//! any input (a violated one panics, which the fuzzer reports), and returns
//! what happened as an [`Outcome`].
//!
//! Inputs may start with a header line `#!{...}` (a JSON object) that sets
//! the non-body parts of a request: the datasource URL and secure fields
//! for settings, the time range and interval for queries. Without it,
//! defaults are used and the whole input is the body.

use crate::eval::{self, EvalError, EvalOptions, Value};
use crate::exposition::{self, Entry, Mode, Parser};
use crate::scrape::ScrapeSamples;
use crate::store::{Matcher, Store, StoreConfig, TargetKey};

pub use crate::plugin::fuzzing::{query, settings};

/// What an input led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; a short summary of the result.
    Accepted(String),
    /// Refused with this error message (never empty).
    Rejected(String),
}

impl Outcome {
    /// Checks that a rejection says why, and returns the outcome.
    pub(crate) fn rejected(message: String) -> Outcome {
        assert!(
            !message.trim().is_empty(),
            "an error must say what is wrong"
        );
        Outcome::Rejected(message)
    }
}

/// Splits off an optional `#!{...}` header line: `(header JSON, body)`.
pub(crate) fn split_header(data: &[u8]) -> (Option<&[u8]>, &[u8]) {
    match data.strip_prefix(b"#!") {
        Some(rest) => match rest.iter().position(|&b| b == b'\n') {
            Some(n) => (rest.get(..n), rest.get(n + 1..).unwrap_or_default()),
            None => (Some(rest), &[]),
        },
        None => (None, data),
    }
}

/// The scrape path: the pull parser, family grouping in strict and lenient
/// mode, then ingestion of the samples into a store, as the direct-mode
/// scraper does, and a lookup of everything stored.
pub fn exposition(data: &[u8]) -> Outcome {
    let Ok(text) = std::str::from_utf8(data) else {
        // The scraper refuses such a body before parsing.
        return Outcome::rejected("the metrics page is not UTF-8 text".to_string());
    };

    let lines = text.split('\n').count();
    let mut samples = 0usize;
    let mut errors = 0usize;
    let mut parser = Parser::new(text);
    while let Some(item) = parser.next() {
        assert!(parser.line() >= 1 && parser.line() <= lines);
        match item {
            Ok(Entry::Sample(s)) => {
                samples += 1;
                for (name, _) in s.labels.iter() {
                    assert!(exposition::is_valid_label_name(name), "label {name:?}");
                }
                assert!(
                    exposition::is_valid_metric_name(s.name),
                    "name {:?}",
                    s.name
                );
            }
            Ok(_) => {}
            Err(e) => {
                errors += 1;
                assert_eq!(e.line, parser.line());
                assert!(!e.to_string().is_empty());
            }
        }
    }

    let strict = exposition::parse(text, Mode::Strict);
    let lenient = match exposition::parse(text, Mode::Lenient) {
        Ok(l) => l,
        Err(e) => panic!("lenient parsing must not fail, got {e}"),
    };
    assert_eq!(lenient.sample_count(), samples, "every good sample is kept");
    assert!(lenient.bad_lines.len() >= errors);
    for bad in &lenient.bad_lines {
        assert!(bad.line >= 1 && bad.line <= lines && !bad.reason.is_empty());
    }
    match &strict {
        // Compared as text: NaN values are not equal to themselves.
        Ok(s) => assert!(
            lenient.bad_lines.is_empty() && format!("{s:?}") == format!("{lenient:?}"),
            "strict and lenient agree on a good exposition"
        ),
        Err(e) => assert_eq!(
            lenient.bad_lines.first().map(|b| b.line),
            Some(e.line),
            "strict stops at the first line lenient skips"
        ),
    }

    let store = Store::new(StoreConfig::default());
    let target = TargetKey::new("fuzz", "localhost:8000");
    for ts in [1_000, 16_000] {
        if let Err(e) = store.ingest(&target, ts, ScrapeSamples::new(text)) {
            return Outcome::rejected(format!("cannot store the scrape: {e}"));
        }
    }
    if let Err(e) = store.mark_down(&target, 31_000) {
        return Outcome::rejected(format!("cannot mark the target down: {e}"));
    }
    let all = match Matcher::regex(crate::store::METRIC_NAME, ".+") {
        Ok(m) => store.select(&[m], 0, 40_000),
        Err(e) => panic!("a fixed regex compiles: {e}"),
    };
    match strict {
        Ok(_) => Outcome::Accepted(format!("{samples} samples, {} series", all.len())),
        Err(e) => Outcome::rejected(e.to_string()),
    }
}

/// Start of the history [`eval_store`] builds (Unix ms).
pub const EVAL_START_MS: i64 = 1_700_000_000_000;
/// Scrape interval of that history.
pub const EVAL_SCRAPE_MS: i64 = 15_000;
/// Scrapes per target in that history.
pub const EVAL_SCRAPES: i64 = 20;

/// A small store for [`eval`]: `captures` (real `/metrics` pages) scraped
/// every 15 s, [`EVAL_SCRAPES`] times, counters growing with each scrape;
/// the last target goes down for the last two scrapes (staleness markers).
pub fn eval_store(captures: &[&str]) -> Store {
    let store = Store::new(StoreConfig::default());
    for (n, text) in captures.iter().enumerate() {
        let target = TargetKey::new("vllm", format!("host{n}:8000"));
        let exp = match exposition::parse(text, Mode::Lenient) {
            Ok(e) => e,
            Err(e) => panic!("lenient parsing must not fail, got {e}"),
        };
        for i in 0..EVAL_SCRAPES {
            let ts = EVAL_START_MS + i * EVAL_SCRAPE_MS;
            if n + 1 == captures.len() && i >= EVAL_SCRAPES - 2 {
                let _ = store.mark_down(&target, ts);
                continue;
            }
            let growth = (i + 1) as f64;
            let samples = exp.samples().map(|s| {
                let grows = ["_total", "_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| s.name.ends_with(suffix));
                let v = if grows { s.value * growth } else { s.value };
                (s.name, s.labels.iter().map(|(k, v)| (*k, v.as_ref())), v)
            });
            if let Err(e) = store.ingest(&target, ts, samples) {
                panic!("a real capture is stored: {e}");
            }
        }
    }
    store
}

/// Limits for fuzzed queries: the production defaults, with a sample
/// budget that keeps one evaluation well under a second.
pub fn eval_options() -> EvalOptions {
    EvalOptions {
        max_samples: 1_000_000,
        ..EvalOptions::default()
    }
}

/// PromQL: the input is an expression, evaluated as an instant query at
/// the end of the history of `store` (see [`eval_store`]) and as a range
/// query over it with a 30 s step.
pub fn eval(store: &Store, data: &[u8]) -> Outcome {
    let Ok(expr) = std::str::from_utf8(data) else {
        return Outcome::rejected("the query is not UTF-8 text".to_string());
    };
    let opts = eval_options();
    let end = EVAL_START_MS + (EVAL_SCRAPES - 1) * EVAL_SCRAPE_MS;
    let start = EVAL_START_MS - 60_000;
    let step = 30_000;
    let instant = eval::instant_with(store, expr, end, &opts);
    let range = eval::range_with(store, expr, start, end, step, &opts);
    let steps = ((end - start) / step + 1) as usize;
    if let Ok(m) = &range {
        for s in m {
            assert!(s.points.len() <= steps, "at most one point per step");
            assert!(
                s.points.windows(2).all(|w| w[0].0 < w[1].0),
                "points in order"
            );
            assert!(s.points.iter().all(|(t, _)| (start..=end).contains(t)));
        }
    }
    let check = |e: &EvalError| assert!(!e.to_string().trim().is_empty());
    match (instant, range) {
        (Ok(i), Ok(r)) => Outcome::Accepted(format!("{}; {} series", describe(&i), r.len())),
        (Ok(i), Err(e)) => {
            check(&e);
            Outcome::Accepted(format!("{}; range: {e}", describe(&i)))
        }
        (Err(e), Ok(r)) => {
            check(&e);
            Outcome::Accepted(format!("instant: {e}; {} series", r.len()))
        }
        (Err(e), Err(f)) => {
            check(&f);
            Outcome::rejected(e.to_string())
        }
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Scalar { v, .. } => format!("scalar {v}"),
        Value::String(s) => format!("string of {} bytes", s.len()),
        Value::Vector(v) => format!("vector of {}", v.len()),
        Value::Matrix(m) => format!("matrix of {}", m.len()),
    }
}

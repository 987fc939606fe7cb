//! Regression inputs of the fuzz targets (`fuzz/`, `scripts/fuzz.sh`):
//! every file in `tests/fixtures/fuzz/<target>/` goes through the same
//! entry point as the fuzz target and must give a result or an error,
//! quickly, without a panic. Add each input a fuzz run saves in
//! `fuzz/artifacts/<target>/` here, named after what it did, with its fix.
//!
//! The files so far are edge inputs written with the harness (extreme
//! numbers, deep nesting, huge ranges and intervals); `step-times-factor-*`
//! and `rate-interval-overflow` panicked before the interval fix. Their
//! expected outcomes, where pinned, are checked below.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use vllm_grafana::fuzzing::{self, Outcome};
use vllm_grafana::store::Store;

/// Far above what any of these inputs takes; the fuzzers allow 10 s.
const BUDGET: Duration = Duration::from_secs(5);

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, data)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "{} holds no inputs", dir.display());
    out
}

/// Runs every input of `target`, checks each outcome is sensible and
/// quick, and returns them by file name.
fn run(target: &str, entry: impl Fn(&[u8]) -> Outcome) -> Vec<(String, Outcome)> {
    inputs(target)
        .into_iter()
        .map(|(name, data)| {
            let started = Instant::now();
            let outcome = entry(&data);
            let took = started.elapsed();
            assert!(took < BUDGET, "{target}/{name} took {took:?}");
            if let Outcome::Rejected(message) = &outcome {
                assert!(!message.trim().is_empty(), "{target}/{name}: empty error");
            }
            println!("{target}/{name}: {outcome:?}");
            (name, outcome)
        })
        .collect()
}

fn outcome<'a>(all: &'a [(String, Outcome)], name: &str) -> &'a Outcome {
    all.iter()
        .find(|(n, _)| n == name)
        .map(|(_, o)| o)
        .unwrap_or_else(|| panic!("no input {name}"))
}

fn eval_store() -> &'static Store {
    static STORE: OnceLock<Store> = OnceLock::new();
    STORE.get_or_init(|| {
        fuzzing::eval_store(&[
            include_str!("fixtures/vllm-metrics/01-v1-0.11-full-hardware-aware-router.txt"),
            include_str!("fixtures/vllm-metrics/03-v0-0.7-aibrix-runtime-doc.txt"),
        ])
    })
}

#[test]
fn exposition_inputs() {
    run("exposition", fuzzing::exposition);
}

#[test]
fn settings_inputs() {
    run("settings", fuzzing::settings);
}

#[test]
fn query_inputs() {
    let all = run("query", fuzzing::query);
    // Once a panic: a 99-year min step times intervalFactor overflowed
    // `Duration`; a step over 100 years is now an invalid interval.
    match outcome(&all, "step-times-factor-too-large") {
        Outcome::Rejected(e) => assert!(e.contains("intervalFactor 4294967295"), "{e}"),
        other => panic!("{other:?}"),
    }
    // Once a panic: `$__rate_interval` added two huge durations.
    match outcome(&all, "rate-interval-overflow") {
        Outcome::Rejected(e) => assert!(e.contains("580000000000y"), "{e}"),
        other => panic!("{other:?}"),
    }
    // A UTC offset beyond a day (here the smallest i64) is refused.
    match outcome(&all, "edge-extreme-range") {
        Outcome::Rejected(e) => assert!(e.contains("utcOffsetSec"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn eval_inputs() {
    let all = run("eval", |data| fuzzing::eval(eval_store(), data));
    // The message once held all 301 digits of 1e300.
    match outcome(&all, "edge-topk-huge-k") {
        Outcome::Rejected(e) => assert_eq!(e, "Scalar value 1e300 overflows int64"),
        other => panic!("{other:?}"),
    }
    match outcome(&all, "edge-deep-nesting") {
        Outcome::Rejected(e) => assert!(e.contains("nests deeper"), "{e}"),
        other => panic!("{other:?}"),
    }
}

/// The entry points themselves see good input as good: a fuzz run that
/// only ever hits the error paths would find little.
#[test]
fn seeds_of_each_kind_are_accepted() {
    let capture = include_bytes!("fixtures/vllm-metrics/03-v0-0.7-aibrix-runtime-doc.txt");
    match fuzzing::exposition(capture) {
        Outcome::Accepted(summary) => assert!(summary.contains("series"), "{summary}"),
        other => panic!("{other:?}"),
    }
    let settings = b"#!{\"url\":\"http://prom:9090\"}\n{\"timeInterval\":\"10s\"}";
    assert!(matches!(fuzzing::settings(settings), Outcome::Accepted(_)));
    let query = b"{\"expr\":\"rate(up[$__rate_interval])\"}";
    assert!(matches!(fuzzing::query(query), Outcome::Accepted(_)));
    let expr = b"sum by (instance) (rate(vllm:prompt_tokens_total[1m]))";
    match fuzzing::eval(eval_store(), expr) {
        Outcome::Accepted(summary) => assert!(summary.starts_with("vector of 2;"), "{summary}"),
        other => panic!("{other:?}"),
    }
}

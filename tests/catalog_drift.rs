//! `scripts/catalog-drift.sh` on two small source trees shaped like vLLM's
//! (`tests/fixtures/catalog-drift/`): `clean` defines thirteen families
//! exactly as the catalog states them for 0.34.0, with the constructor
//! patterns vLLM uses (`self._gauge_cls(name=...)`, positional arguments,
//! names from class constants and f-strings, specs looped over, bucket helper
//! functions, metric metadata keyed by name); `drift` is the same tree with
//! one family added, one removed, a wrong label, a wrong bucket bound, a wrong
//! HELP, a wrong type and labels only known at run time. The catalog is the one
//! the built `vllm-grafana catalog` prints, reduced to those families.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vllm_grafana::catalog::names;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_vllm-grafana");

/// The families the fixture trees define.
const FAMILIES: [&str; 13] = [
    names::NUM_REQUESTS_RUNNING,
    names::REQUEST_SUCCESS,
    names::REQUEST_PROMPT_TOKENS,
    names::TIME_TO_FIRST_TOKEN,
    names::SPEC_DECODE_NUM_DRAFTS,
    names::SPEC_DECODE_NUM_DRAFT_TOKENS,
    names::SPEC_DECODE_NUM_ACCEPTED_TOKENS,
    names::SLEEP_MODE_OPERATION_DURATION,
    names::SLEEP_MODE_OPERATIONS_IN_FLIGHT,
    names::REQUEST_RENDER_DURATION,
    names::KV_OFFLOAD_TIERING_DEFERRED_RELEASE_CHUNKS,
    names::KV_OFFLOAD_TIERING_DEFERRED_RELEASE_HOLD,
    names::KV_OFFLOAD_STORE_BYTES,
];

fn fixture(name: &str) -> PathBuf {
    Path::new(ROOT)
        .join("tests/fixtures/catalog-drift")
        .join(name)
}

/// Runs the script with `args`; the catalog comes from `bin`.
fn drift(args: &[&str], bin: &str) -> (i32, String, String) {
    let out: Output = Command::new("bash")
        .arg(Path::new(ROOT).join("scripts/catalog-drift.sh"))
        .args(args)
        .env("VLLM_GRAFANA_BIN", bin)
        .output()
        .unwrap_or_else(|e| panic!("bash is required for this test and could not run: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `vllm-grafana catalog`, reduced to [`FAMILIES`], written into `dir`.
fn fixture_catalog(dir: &Path) -> String {
    let out = Command::new(BIN)
        .arg("catalog")
        .output()
        .expect("run vllm-grafana catalog");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("catalog JSON");
    let kept: Vec<&serde_json::Value> = all
        .iter()
        .filter(|m| m["name"].as_str().is_some_and(|n| FAMILIES.contains(&n)))
        .collect();
    assert_eq!(
        kept.len(),
        FAMILIES.len(),
        "every fixture family is in the catalog"
    );
    let path = dir.join("catalog.json");
    std::fs::write(&path, serde_json::to_vec(&kept).expect("encode")).expect("write catalog");
    path.to_string_lossy().into_owned()
}

fn source(tree: &str) -> String {
    fixture(tree).to_string_lossy().into_owned()
}

#[test]
fn the_clean_tree_agrees_with_the_catalog() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let catalog = fixture_catalog(tmp.path());
    let (code, out, err) = drift(
        &[
            "--catalog",
            &catalog,
            "--source",
            &source("clean"),
            "0.34.0",
        ],
        BIN,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "vLLM 0.34.0: the source defines 13 vllm: metrics; the catalog lists 13 for this release\n\nno drift\n"
    );
}

#[test]
fn the_clean_tree_agrees_with_the_built_catalog_filtered_by_only() {
    // The whole catalog from the binary, as the release step runs it, with
    // --only keeping the fixture's families on both sides.
    let only = format!("^({})$", FAMILIES.join("|"));
    let (code, out, err) = drift(
        &["--only", &only, "--source", &source("clean"), "0.34"],
        BIN,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("\nno drift\n"), "{out}");
}

#[test]
fn the_drift_tree_reports_each_deliberate_drift() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let catalog = fixture_catalog(tmp.path());
    let (code, out, err) = drift(
        &[
            "--catalog",
            &catalog,
            "--source",
            &source("drift"),
            "0.34.0",
        ],
        BIN,
    );
    assert_eq!(code, 1, "{out}{err}");
    let expected =
        std::fs::read_to_string(fixture("drift.expected")).expect("drift.expected fixture");
    assert_eq!(out, expected);
    // The same findings, stated with the catalog's names.
    for line in [
        format!("  {}  labels: catalog engine, finished_reason, model_name; source engine, finish_reason, model_name", names::REQUEST_SUCCESS),
        format!("  {}  type: catalog gauge, source histogram", names::SLEEP_MODE_OPERATIONS_IN_FLIGHT),
        format!("  {}  HELP: catalog \"Number of draft tokens.\"; source \"Number of drafted tokens.\"", names::SPEC_DECODE_NUM_DRAFT_TOKENS),
        format!("  {}  buckets: catalog [0.001, ", names::TIME_TO_FIRST_TOKEN),
        format!("  {}\n", names::NUM_REQUESTS_RUNNING),
        format!("  {}  labels not resolved in the source", names::REQUEST_RENDER_DURATION),
    ] {
        assert!(out.contains(&line), "missing {line:?} in\n{out}");
    }
    assert!(out.contains("160, 640, 2560]; source [") && out.contains("160, 640, 2500]"));
    assert!(out.contains("missing from the catalog (1):\n"), "{out}");
    assert!(out.ends_with("\ndrift: 6 findings\n"), "{out}");
}

#[test]
fn families_newer_than_the_release_are_drift() {
    // 0.33 has no render histogram and no deferred releases: a source that
    // defines them is not 0.33's, or the catalog dates them wrong.
    let tmp = tempfile::tempdir().expect("temp dir");
    let catalog = fixture_catalog(tmp.path());
    let (code, out, err) = drift(
        &["--catalog", &catalog, "--source", &source("clean"), "0.33"],
        BIN,
    );
    assert_eq!(code, 1, "{out}{err}");
    for name in [
        names::REQUEST_RENDER_DURATION,
        names::KV_OFFLOAD_TIERING_DEFERRED_RELEASE_CHUNKS,
        names::KV_OFFLOAD_TIERING_DEFERRED_RELEASE_HOLD,
    ] {
        let line = format!(
            "  {name}  release: the catalog has it from 0.34.0 (V1); this source defines it"
        );
        assert!(out.contains(&line), "missing {line:?} in\n{out}");
    }
    assert!(out.ends_with("\ndrift: 3 findings\n"), "{out}");
}

/// Exit status 2 with one clear line, never a traceback.
fn assert_usage_error(args: &[&str], bin: &str, says: &str) {
    let (code, out, err) = drift(args, bin);
    assert_eq!(code, 2, "{args:?}: {out}{err}");
    assert!(err.starts_with("catalog-drift: error: "), "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: want {says:?} in {err}");
    assert!(!err.contains("Traceback"), "{args:?}: {err}");
    assert!(
        out.is_empty(),
        "{args:?}: nothing compared, nothing printed: {out}"
    );
}

#[test]
fn usage_build_and_download_errors_exit_2() {
    let clean = source("clean");
    assert_usage_error(&[], BIN, "VERSION");
    assert_usage_error(&["latest"], BIN, "invalid vLLM version 'latest'");
    assert_usage_error(&["--bogus", "0.34"], BIN, "unrecognized arguments: --bogus");
    assert_usage_error(
        &["--only", "(", "--source", &clean, "0.34"],
        BIN,
        "not a regular expression",
    );

    let tmp = tempfile::tempdir().expect("temp dir");
    let missing = tmp.path().join("nowhere").to_string_lossy().into_owned();
    assert_usage_error(&["--source", &missing, "0.34"], BIN, "no such directory");
    let empty = tmp.path().to_string_lossy().into_owned();
    assert_usage_error(&["--source", &empty, "0.34"], BIN, "no vllm/ package in it");

    // A build that cannot run, and one that prints something else.
    assert_usage_error(&["--source", &clean, "0.34"], &missing, "cannot run");
    assert_usage_error(
        &["--source", &clean, "0.34"],
        "false",
        "failed with status 1",
    );
    assert_usage_error(&["--source", &clean, "0.34"], "echo", "is not JSON");

    // A broken wheel in the cache is reported, not downloaded over or
    // half-unpacked (no network is used: the cached file is found first).
    let cache = tmp.path().join("cache");
    std::fs::create_dir_all(cache.join("wheels")).expect("mkdir");
    std::fs::write(
        cache.join("wheels/vllm-9.9.9-cp38-abi3-manylinux_2_28_x86_64.whl"),
        b"not a zip",
    )
    .expect("write wheel");
    let cache = cache.to_string_lossy().into_owned();
    assert_usage_error(&["--cache", &cache, "9.9.9"], BIN, "cannot unpack");
    assert!(!Path::new(&cache).join("src/9.9.9").exists());
}

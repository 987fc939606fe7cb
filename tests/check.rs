//! `vllm-grafana check` end to end: the real binary against the real captures,
//! the simulator over loopback HTTP, and broken endpoints written for the test.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::process::Command;
use std::time::Duration;

mod common {
    pub mod http;
}
use common::http::{fixed, silent};
use vllm_grafana::catalog::names;
use vllm_grafana::check::{check_all, report_for_text};

const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/vllm-metrics");

fn capture(prefix: &str) -> String {
    let dir = std::fs::read_dir(CAPTURES).expect("fixtures dir");
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) {
            return entry.path().display().to_string();
        }
    }
    panic!("no capture {prefix}");
}

fn run_cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vllm-grafana"))
        .args(args)
        .output()
        .expect("run vllm-grafana");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A loopback port with nothing listening on it.
fn closed_port() -> SocketAddr {
    let l = StdListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    drop(l);
    addr
}

#[test]
fn capture_01_is_healthy_v0_11_with_its_values() {
    let (code, out) = run_cli(&["check", "--json", &capture("01-")]);
    assert_eq!(code, 0, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    let r = &json[0];
    assert_eq!(r["healthy"], true);
    assert_eq!(r["sniffed"]["oldest"], "0.11.0");
    assert_eq!(r["sniffed"]["newest"], "0.11.0");
    assert_eq!(r["sniffed"]["engine"], "V1");
    assert_eq!(r["sniffed"]["models"][0], "Qwen/Qwen1.5-0.5B-Chat");
    assert_eq!(r["key_values"]["requests_running"], 0.0);
    assert_eq!(r["key_values"]["kv_cache_usage"], 0.0);
    // The deprecated per-token name is still served by 0.11 and flagged.
    let retiring = r["deprecated_or_removed"].as_array().expect("array");
    assert!(retiring
        .iter()
        .any(|d| d["name"] == names::TIME_PER_OUTPUT_TOKEN
            && d["successor"] == names::INTER_TOKEN_LATENCY));
    // Per family: type, sample count and sum.
    let fam = &r["families"][names::REQUEST_SUCCESS];
    assert_eq!(fam["type"], "counter");
    assert_eq!(fam["samples"], 3);
    assert_eq!(fam["sum"], 0.0);
}

#[test]
fn cut_captures_report_their_bad_line_and_fail() {
    let (code, out) = run_cli(&["check", "--json", &capture("06-"), &capture("08-")]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json[0]["bad_line_count"], 1);
    assert_eq!(json[0]["bad_lines"][0]["line"], 9);
    assert_eq!(json[1]["bad_line_count"], 1);
    assert_eq!(json[1]["bad_lines"][0]["line"], 14);
    // Every good sample before the cut is still read.
    assert_eq!(
        json[0]["families"][names::TIME_TO_FIRST_TOKEN]["samples"],
        6
    );
}

#[test]
fn text_output_names_release_models_and_problems() {
    let (code, out) = run_cli(&["check", &capture("03-")]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("V0 engine"), "{out}");
    let note = format!(
        "{} is removed in 0.12.0; use {}",
        names::GPU_CACHE_USAGE_PERC,
        names::KV_CACHE_USAGE_PERC
    );
    assert!(out.contains(&note), "{out}");
}

#[tokio::test]
async fn unreachable_targets_say_why() {
    let refused = closed_port();
    let hang = silent().await;
    // A plain-HTTP server asked for TLS.
    let plain = fixed("200 OK", "text/plain", "up 1\n").await;
    let targets = vec![
        format!("http://{refused}/metrics"),
        format!("http://{hang}/metrics"),
        "http://no-such-host.invalid:8000/metrics".to_string(),
        format!("https://{plain}/metrics"),
    ];
    let reports = check_all(&targets, Duration::from_millis(800)).await;
    let kinds: Vec<String> = reports
        .iter()
        .map(|r| {
            assert!(!r.reachable && !r.healthy, "{}", r.target);
            serde_json::to_value(&r.error).expect("json")["kind"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(kinds, ["refused", "timeout", "dns", "tls"]);
    assert!(
        reports[3].problems[0].starts_with("TLS failed"),
        "{}",
        reports[3].problems[0]
    );
}

// Multi-threaded: the servers answer while the CLI run below blocks a thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_that_answer_something_else_are_reachable_but_not_prometheus() {
    let html = fixed(
        "200 OK",
        "text/html",
        "<html><head><title>Sign in</title></head><body>login</body></html>",
    )
    .await;
    let json = fixed(
        "200 OK",
        "application/json",
        "{\"object\":\"list\",\"data\":[]}",
    )
    .await;
    let garbage = fixed("200 OK", "text/plain", "hello world\nthis is not metrics\n").await;
    let binary = fixed("200 OK", "text/plain", "\u{0}\u{1}\u{2}binary").await;
    let status = fixed("503 Service Unavailable", "text/plain", "down").await;
    let targets: Vec<String> = [html, json, garbage, binary, status]
        .iter()
        .map(|a| format!("http://{a}/metrics"))
        .collect();
    let reports = check_all(&targets, Duration::from_secs(5)).await;
    let got: Vec<(bool, String)> = reports
        .iter()
        .map(|r| (r.reachable && !r.healthy, r.problems[0].clone()))
        .collect();
    let want = [
        "reachable, but not Prometheus text (got HTML (a page titled \"Sign in\"))",
        "reachable, but not Prometheus text (got JSON)",
        "reachable, but not Prometheus text (got text with no valid sample; line 1, column",
        "reachable, but not Prometheus text (got binary data)",
        "HTTP 503 Service Unavailable: down",
    ];
    for ((ok, problem), want) in got.iter().zip(want) {
        assert!(ok, "{problem}");
        assert!(
            problem.starts_with(want),
            "{problem:?} does not start with {want:?}"
        );
    }
    // The text output says the same, without "unreachable".
    let (code, out) = run_cli(&["check", "--timeout", "5", &targets[1]]);
    assert_eq!(code, 1);
    assert!(
        out.contains("  reachable, but not Prometheus text (got JSON)"),
        "{out}"
    );
    assert!(!out.contains("unreachable"), "{out}");
}

#[test]
fn hosts_and_files_are_told_apart_on_the_command_line() {
    // A bare host is an endpoint (port 8000), not a file name.
    let (code, out) = run_cli(&["check", "--timeout", "2", "no-such-host.invalid"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("== http://no-such-host.invalid:8000/metrics"),
        "{out}"
    );
    assert!(out.contains("DNS lookup failed"), "{out}");
    let (code, out) = run_cli(&["check", "missing-scrape.txt"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("cannot read file: missing-scrape.txt"),
        "{out}"
    );
}

#[test]
fn non_vllm_prometheus_text_is_not_healthy() {
    let r = report_for_text("x".into(), "# TYPE up gauge\nup 1\n", 0.0);
    assert!(r.reachable);
    assert!(!r.healthy);
    assert!(r.problems[0].contains("no vllm: metrics"));
    let garbage = report_for_text("y".into(), "\u{0}\u{1}garbage{{{\n", 0.0);
    assert!(!garbage.healthy);
}

#[test]
fn closed_port_via_cli_exits_nonzero() {
    let addr = closed_port();
    let (code, out) = run_cli(&["check", "--timeout", "2", &addr.to_string()]);
    assert_eq!(code, 1);
    assert!(out.contains("connection refused"), "{out}");
}

/// Start a simulator of `version` on a free loopback port.
async fn simulator(version: &str) -> SocketAddr {
    let cfg = vllm_grafana::simulator::SimConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        version: version.parse().expect("version"),
        models: 2,
        engines: 2,
        ..Default::default()
    };
    let server = vllm_grafana::simulator::bind(cfg)
        .await
        .expect("bind simulator");
    let addr = server.local_addr();
    tokio::spawn(server.run(std::future::pending()));
    addr
}

#[tokio::test]
async fn simulated_releases_are_recognised() {
    for (version, engine) in [("0.33", "V1"), ("0.11", "V1"), ("0.7", "V0")] {
        let addr = simulator(version).await;
        let reports = check_all(&[addr.to_string()], Duration::from_secs(5)).await;
        let r = serde_json::to_value(&reports[0]).expect("json");
        assert_eq!(r["healthy"], true, "{version}: {r}");
        let s = &r["sniffed"];
        assert_eq!(s["engine"], engine, "{version}");
        let want: vllm_grafana::catalog::Version = version.parse().expect("version");
        let oldest: vllm_grafana::catalog::Version = s["oldest"]
            .as_str()
            .expect("oldest")
            .parse()
            .expect("version");
        let newest: vllm_grafana::catalog::Version = s["newest"]
            .as_str()
            .expect("newest")
            .parse()
            .expect("version");
        assert!(
            oldest <= want && want <= newest,
            "{version}: sniffed {oldest} – {newest}"
        );
        assert_eq!(s["models"].as_array().map(Vec::len), Some(2), "{version}");
        assert_eq!(
            r["missing"].as_array().map(Vec::len),
            Some(0),
            "{version}: {}",
            r["missing"]
        );
        if engine == "V1" {
            assert_eq!(s["engines"], serde_json::json!(["0", "1"]), "{version}");
        }
    }
}

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

// --- NVIDIA's DCGM exporter --------------------------------------------------

/// Saved from the simulator's exporter (`simulate --dcgm --engines 2
/// --gpus-per-engine 2 --dcgm-pod-labels`): four H100s of two vLLM pods.
const DCGM_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/dcgm-exporter/simulated-h100-tp2-pods.txt"
);

#[test]
fn a_saved_dcgm_scrape_is_a_healthy_exporter_not_a_broken_vllm() {
    let (code, out) = run_cli(&["check", "--json", DCGM_FIXTURE]);
    assert_eq!(code, 0, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    let r = &json[0];
    assert_eq!(r["healthy"], true, "{r}");
    assert_eq!(r["endpoint"], "dcgm");
    assert_eq!(r["problems"], serde_json::json!([]));
    assert_eq!(r["sniffed"]["is_vllm"], false);
    assert_eq!(r["missing"], serde_json::json!([]));
    let d = &r["dcgm"];
    assert_eq!(d["gpu_count"], 4);
    assert_eq!(d["models"], serde_json::json!(["NVIDIA H100 80GB HBM3"]));
    assert_eq!(d["hostnames"], serde_json::json!(["gpu-node-01"]));
    // One series per GPU here, so the totals are the families' sums.
    let family_sum = |name: &str| r["families"][name]["sum"].as_f64().expect("sum");
    assert_eq!(
        d["fb_used_mib"].as_f64(),
        Some(family_sum(names::DCGM_FB_USED))
    );
    assert_eq!(
        d["fb_free_mib"].as_f64(),
        Some(family_sum(names::DCGM_FB_FREE))
    );
    let power = d["power_w_total"].as_f64().expect("power");
    assert!((power - family_sum(names::DCGM_POWER_USAGE)).abs() < 1e-6);
    let util = d["utilization_percent_avg"].as_f64().expect("util");
    assert!((util - family_sum(names::DCGM_GPU_UTIL) / 4.0).abs() < 1e-9);
    let gpus = d["gpus"].as_array().expect("gpus");
    assert_eq!(gpus.len(), 4);
    assert_eq!(
        gpus[0]["pods"],
        serde_json::json!(["llm-serving/vllm-llama-3-1-8b-instruct-0"])
    );
    assert!(gpus
        .iter()
        .all(|g| g["uuid"].as_str().is_some_and(|u| u.starts_with("GPU-"))));

    let (code, text) = run_cli(&["check", DCGM_FIXTURE]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("DCGM exporter: 4 GPUs (NVIDIA H100 80GB HBM3) on gpu-node-01"),
        "{text}"
    );
    let headline = text
        .lines()
        .find(|l| l.trim_start().starts_with("utilisation "))
        .unwrap_or_else(|| panic!("no utilisation line in\n{text}"));
    for part in [
        "avg",
        "framebuffer used",
        "/ free",
        "temperature",
        "°C max",
        "power",
        "W total",
    ] {
        assert!(headline.contains(part), "{part}: {headline}");
    }
    assert!(!text.contains("vLLM release"), "{text}");
    assert!(!text.contains("no vllm:"), "{text}");
    assert!(!text.contains("PROBLEM"), "{text}");
}

#[test]
fn xid_errors_and_the_new_host_label_are_understood() {
    let saved = std::fs::read_to_string(DCGM_FIXTURE).expect("fixture");
    let text: String = saved
        .replace("Hostname=", "hostname=")
        .lines()
        .map(|l| {
            if l.starts_with(names::DCGM_XID_ERRORS) && l.contains("gpu=\"2\"") {
                format!("{} 79", l.rsplit_once(' ').map_or(l, |(head, _)| head))
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let r = report_for_text("gpu-node".into(), &text, 0.0);
    assert!(r.healthy, "{:?}", r.problems);
    let d = r.dcgm.as_ref().expect("dcgm report");
    assert_eq!(d.hostnames, ["gpu-node-01"]);
    assert_eq!(d.gpus[2].last_xid, Some(79.0));
    let out = vllm_grafana::check::render_text(&[r]);
    assert!(
        out.contains("warning: gpu 2 reported XID error 79"),
        "{out}"
    );
    assert_eq!(out.matches("XID").count(), 1, "{out}");
}

#[test]
fn gpu_series_without_gpu_labels_are_a_problem() {
    let text = format!("# TYPE {n} gauge\n{n} 5\n", n = names::DCGM_GPU_UTIL);
    let r = report_for_text("x".into(), &text, 0.0);
    assert!(!r.healthy);
    assert!(
        r.problems[0].contains("reports no GPUs"),
        "{:?}",
        r.problems
    );
    // Other non-vLLM text is still refused as before, and named unknown.
    let other = report_for_text("y".into(), "# TYPE up gauge\nup 1\n", 0.0);
    let json = serde_json::to_value(&other).expect("json");
    assert_eq!(json["endpoint"], "unknown");
    assert!(json.get("dcgm").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_exporter_and_its_vllm_are_told_apart() {
    let cfg = vllm_grafana::simulator::SimConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        dcgm_listen: "127.0.0.1:0".parse().expect("addr"),
        gpus_per_engine: 2,
        ..Default::default()
    };
    let server = vllm_grafana::simulator::bind(cfg)
        .await
        .expect("bind simulator");
    let vllm = server.local_addr();
    let gpu = server.dcgm_addr().expect("exporter");
    tokio::spawn(server.run(std::future::pending()));
    let targets = [format!("http://{gpu}/metrics"), vllm.to_string()];
    let reports = check_all(&targets, Duration::from_secs(5)).await;
    let json = serde_json::to_value(&reports).expect("json");
    assert_eq!(json[0]["endpoint"], "dcgm", "{}", json[0]);
    assert_eq!(json[0]["healthy"], true, "{}", json[0]);
    assert_eq!(json[0]["dcgm"]["gpu_count"], 2);
    assert_eq!(json[1]["endpoint"], "vllm");
    assert_eq!(json[1]["healthy"], true, "{}", json[1]);
    assert!(json[1].get("dcgm").is_none());
    let text = vllm_grafana::check::render_text(&reports);
    assert!(
        text.contains("DCGM exporter: 2 GPUs (NVIDIA H100 80GB HBM3)"),
        "{text}"
    );
    assert!(text.contains("vLLM release: 0.34.0"), "{text}");
}

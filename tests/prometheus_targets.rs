//! `vllm-grafana config --targets` end to end with a real Prometheus: an
//! https target on a custom path with a query parameter (served with the
//! test CA's certificate) and a plain host:port target are written to the
//! file_sd list, the stack's `prometheus.yml` passes `promtool check config`,
//! and Prometheus scrapes both with the scheme, path and parameter kept.

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::server::{Data, Prometheus};
use support::tls::{acceptor, CA_PATH};
use support::vllm::Simulator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vllm_grafana::catalog::names;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const CAPTURE: &str =
    include_str!("fixtures/vllm-metrics/01-v1-0.11-full-hardware-aware-router.txt");

/// An https server answering every request with a real vLLM capture;
/// returns its port and the request lines it has seen.
async fn https_vllm() -> (u16, Arc<Mutex<Vec<String>>>) {
    let acceptor = acceptor(None).expect("TLS acceptor");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(conn).await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let Ok(n) = tls.read(&mut buf).await else {
                    return;
                };
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let line = head.lines().next().unwrap_or("").to_string();
                log.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{CAPTURE}",
                    CAPTURE.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, seen)
}

/// `text` with `from` replaced by `to`, which must occur.
fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.contains(from),
        "{from:?} not in the stack's prometheus.yml"
    );
    text.replacen(from, to, 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_https_targets_with_their_path_and_parameters() {
    let (tls_port, seen) = https_vllm().await;
    let sim = Simulator::start(1, 1).await.expect("simulator");
    let tmp = tempfile::tempdir().expect("tempdir");
    let https = format!("https://127.0.0.1:{tls_port}/custom/metrics?token=abc");
    let list = format!("{https},{},{https}", sim.addr);
    let out = Command::new(env!("CARGO_BIN_EXE_vllm-grafana"))
        .args(["config", "--targets", &list, "--root"])
        .arg(tmp.path())
        .output()
        .expect("run vllm-grafana");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The stack's configuration, made fast, with the test CA and the
    // written target list (absolute paths, as the file lives elsewhere).
    let stack = std::fs::read_to_string(Path::new(ROOT).join("prometheus/prometheus.yml"))
        .expect("prometheus.yml");
    let targets_glob = tmp.path().join("prometheus/targets/*.json");
    let mut config = replace(&stack, "scrape_interval: 10s", "scrape_interval: 1s");
    config = replace(&config, "scrape_timeout: 5s", "scrape_timeout: 1s");
    config = replace(
        &config,
        "rule_files:\n  - rules.yml\n  - recording.yml\n",
        "",
    );
    config = replace(
        &config,
        "- targets/*.json",
        &format!("- {}", targets_glob.display()),
    );
    config = replace(
        &config,
        "    metrics_path: /metrics\n",
        &format!("    metrics_path: /metrics\n    tls_config:\n      ca_file: {CA_PATH}\n"),
    );
    let config_path = tmp.path().join("prometheus/test.yml");
    std::fs::write(&config_path, &config).expect("write config");
    let check = Command::new("promtool")
        .args(["check", "config"])
        .arg(&config_path)
        .output()
        .expect("promtool must be installed");
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    let prom = tokio::task::spawn_blocking(move || Prometheus::launch(&config, Data::Fresh, &[]))
        .await
        .expect("joined")
        .unwrap_or_else(|e| panic!("{e}"));
    let https_instance = format!("127.0.0.1:{tls_port}");
    let expr = format!(
        "count by (instance) ({}{{job=\"vllm\"}}) and on (instance) up == 1",
        names::NUM_REQUESTS_RUNNING
    );
    let mut last = serde_json::Value::Null;
    for _ in 0..300 {
        last = prom.query(&expr).unwrap_or_else(|e| panic!("{e}"));
        let instances: Vec<&str> = last["result"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|s| s["metric"]["instance"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        if instances.contains(&https_instance.as_str())
            && instances.contains(&sim.addr.to_string().as_str())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let result = last["result"].as_array().map_or(0, Vec::len);
    assert_eq!(result, 2, "{last}\n{}", prom.log());
    let lines = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("GET /custom/metrics?token=abc ")),
        "{lines:?}"
    );
}

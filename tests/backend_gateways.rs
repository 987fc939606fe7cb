//! Prometheus mode behind the gateways fleets put in front of their
//! storage: a Mimir-style query frontend under a path prefix that needs a
//! tenant header, and Thanos-style query parameters whose partial answers
//! come back with warnings. The server here records what it receives and
//! answers as those backends document their API (they are not installable
//! here); the plugin is driven over gRPC as Grafana drives it.

mod support;

use grafana_plugin_sdk::pluginv2::check_health_response::HealthStatus;
use serde_json::json;
use std::sync::{Arc, Mutex};
use support::frames;
use support::grafana::{promql_query, Datasource, Plugin};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vllm_grafana::catalog::names;

const PARTIAL: &str = "partial response: store gateway 10.0.0.9:10901 unavailable";

/// One request as received: the request line, lower-cased headers, body.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The answer for a path under `/prometheus/api/v1/`.
fn answer(path: &str) -> (u16, String) {
    let now = support::now_ms() as f64 / 1000.0;
    let vllm = json!({"job": "vllm", "instance": "gpu-1:8000", "model_name": "m"});
    match path {
        "status/buildinfo" => (
            200,
            json!({"status": "success", "data": {"application": "Grafana Mimir", "version": "2.14.0"}})
                .to_string(),
        ),
        "query" => (
            200,
            json!({"status": "success", "warnings": [PARTIAL],
                   "data": {"resultType": "vector", "result": [{"metric": vllm, "value": [now, "3"]}]}})
            .to_string(),
        ),
        "query_range" => (
            200,
            json!({"status": "success", "warnings": [PARTIAL],
                   "data": {"resultType": "matrix", "result": [{"metric": vllm, "values": [[now - 1.0, "2"], [now, "3"]]}]}})
            .to_string(),
        ),
        _ => (404, "404 page not found".to_string()),
    }
}

async fn gateway() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // The head, then as much body as Content-Length says.
                let (head, body) = loop {
                    let Ok(n) = conn.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let head = text[..end].to_string();
                    let length = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0usize);
                    if buf.len() >= end + 4 + length {
                        break (head, text[end + 4..].to_string());
                    }
                };
                let mut lines = head.lines();
                let line = lines.next().unwrap_or("").to_string();
                let headers = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let target = line.split(' ').nth(1).unwrap_or("").to_string();
                let path = target.split('?').next().unwrap_or("");
                let (status, text) = match path.strip_prefix("/prometheus/api/v1/") {
                    Some(api) => answer(api),
                    None => (404, "404 page not found".to_string()),
                };
                log.lock().unwrap_or_else(|e| e.into_inner()).push(Seen {
                    line,
                    headers,
                    body,
                });
                let reply = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}/prometheus"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_prefixes_parameters_and_partial_answers() {
    let (url, seen) = gateway().await;
    let plugin = Plugin::start().await.expect("plugin");
    let ds = Datasource::prometheus(&url)
        .uid("gateway")
        .json("httpHeaderName1", json!("X-Scope-OrgID"))
        .secure("httpHeaderValue1", "tenant-a")
        .json(
            "customQueryParameters",
            json!("dedup=true&partial_response=true"),
        );

    let health = plugin.check_health(&ds).await.expect("health answered");
    assert_eq!(health.status, HealthStatus::Ok as i32, "{}", health.message);
    let head = format!("Grafana Mimir 2.14.0 at {url}: 1 vLLM target");
    assert!(health.message.starts_with(&head), "{}", health.message);

    let expr = format!("sum({})", names::NUM_REQUESTS_RUNNING);
    let resp = plugin
        .query(
            &ds,
            vec![
                promql_query("A", &expr, false),
                promql_query("B", &expr, true),
            ],
        )
        .await
        .expect("QueryData");
    for ref_id in ["A", "B"] {
        let frames = frames::frames_of(&resp, ref_id)
            .unwrap_or_else(|e| panic!("{ref_id}: {e}: {}", frames::error_of(&resp, ref_id)));
        let notices = frames[0].meta["notices"].to_string();
        assert!(
            notices.contains(PARTIAL),
            "{ref_id}: the warning is not shown: {notices}"
        );
    }

    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let queries: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.line.contains("/api/v1/query"))
        .collect();
    assert!(queries.len() >= 3, "{seen:?}");
    for s in &seen {
        assert_eq!(s.header("x-scope-orgid"), Some("tenant-a"), "{}", s.line);
        assert!(s.line.contains(" /prometheus/api/v1/"), "{}", s.line);
        // Every API call carries the custom parameters (in the form body or the URL).
        let params = format!("{} {}", s.line, s.body);
        assert!(
            params.contains("dedup=true") && params.contains("partial_response=true"),
            "{params}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_parameter_that_would_change_the_query_is_a_settings_error() {
    let (url, seen) = gateway().await;
    let plugin = Plugin::start().await.expect("plugin");
    let ds = Datasource::prometheus(&url)
        .uid("bad-params")
        .json("customQueryParameters", json!("query=up"));
    let health = plugin.check_health(&ds).await.expect("health answered");
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(
        health
            .message
            .contains("`customQueryParameters` \"query\" is set by the plugin"),
        "{}",
        health.message
    );
    assert!(seen.lock().unwrap_or_else(|e| e.into_inner()).is_empty());
}

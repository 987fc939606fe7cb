//! Prometheus mode behind the gateways fleets put in front of their
//! storage: a Mimir-style query frontend under a path prefix that needs a
//! tenant header, Thanos-style query parameters whose partial answers come
//! back with warnings, and VictoriaMetrics cluster's vmselect, whose API
//! lives under `/select/<tenant>/prometheus`. The server here records what
//! it receives and answers as those backends document their API (they are
//! not installable here); the plugin is driven over gRPC as Grafana drives
//! it, queries, health checks and resources (Prometheus' API under
//! `api/v1/`, and the plugin's own lookups) alike.

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

/// Which gateway the recording server plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// Grafana Mimir's query frontend under `/prometheus`, tenant in
    /// `X-Scope-OrgID`; its build info names the application.
    Mimir,
    /// VictoriaMetrics cluster's vmselect, tenant in the path; its build
    /// info has empty `data` (as the single-node server answers), and it
    /// serves `status/active_queries`, which Prometheus does not.
    VmCluster,
}

impl Shape {
    fn prefix(self) -> &'static str {
        match self {
            Shape::Mimir => "/prometheus",
            Shape::VmCluster => "/select/42/prometheus",
        }
    }
}

/// The answer for a path under the shape's `<prefix>/api/v1/`.
fn answer(shape: Shape, path: &str) -> (u16, String) {
    let now = support::now_ms() as f64 / 1000.0;
    let vllm = json!({"job": "vllm", "instance": "gpu-1:8000", "model_name": "m"});
    match path {
        "status/buildinfo" if shape == Shape::Mimir => (
            200,
            json!({"status": "success", "data": {"application": "Grafana Mimir", "version": "2.14.0"}})
                .to_string(),
        ),
        "status/buildinfo" => (200, json!({"status": "success", "data": {}}).to_string()),
        "status/active_queries" if shape == Shape::VmCluster => {
            (200, json!({"status": "ok", "data": []}).to_string())
        }
        "labels" => (
            200,
            json!({"status": "success", "data": ["__name__", "instance", "job", "model_name"]})
                .to_string(),
        ),
        "label/model_name/values" => {
            (200, json!({"status": "success", "data": ["m"]}).to_string())
        }
        "series" => (200, json!({"status": "success", "data": [vllm]}).to_string()),
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
    gateway_as(Shape::Mimir).await
}

/// A recording server playing `shape` on a loopback port: the datasource
/// URL and what it received.
async fn gateway_as(shape: Shape) -> (String, Arc<Mutex<Vec<Seen>>>) {
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
                let api = path
                    .strip_prefix(shape.prefix())
                    .and_then(|p| p.strip_prefix("/api/v1/"));
                let (status, text) = match api {
                    Some(api) => answer(shape, api),
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
    (format!("http://{addr}{}", shape.prefix()), seen)
}

/// Prometheus mode at `url` as tenant `tenant-a`, with Thanos's
/// deduplication and partial-response parameters.
fn tenant_a(url: &str, uid: &str) -> Datasource {
    Datasource::prometheus(url)
        .uid(uid)
        .json("httpHeaderName1", json!("X-Scope-OrgID"))
        .secure("httpHeaderValue1", "tenant-a")
        .json(
            "customQueryParameters",
            json!("dedup=true&partial_response=true"),
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_prefixes_parameters_and_partial_answers() {
    let (url, seen) = gateway().await;
    let plugin = Plugin::start().await.expect("plugin");
    let ds = tenant_a(&url, "gateway");

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

/// The parameters of a recorded request: its query string and form body.
fn params_of(s: &Seen) -> Vec<(String, String)> {
    let target = s.line.split(' ').nth(1).unwrap_or("");
    let query = target.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(query.as_bytes())
        .chain(url::form_urlencoded::parse(s.body.as_bytes()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_api_resources_carry_tenant_prefix_and_parameters() {
    let (url, seen) = gateway().await;
    let plugin = Plugin::start().await.expect("plugin");
    let ds = tenant_a(&url, "gateway-api")
        .json("basicAuthUser", json!("reader"))
        .secure("basicAuthPassword", "s3cret");
    let health = plugin.check_health(&ds).await.expect("health answered");
    let details: serde_json::Value = serde_json::from_slice(&health.json_details).expect("details");
    assert_eq!(details["server"], "mimir", "{details}");
    assert_eq!(details["prometheusVersion"], "2.14.0", "{details}");

    let sel = format!("{}{{model_name=\"m\"}}", names::NUM_REQUESTS_RUNNING);
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let window = "start=1700000000&end=1700000600";
    // GET with a query string; `evil` is no API parameter and stays behind.
    let path = format!(
        "api/v1/labels?match[]={}&{window}&limit=5&evil=1",
        enc(&sel)
    );
    let (code, _, body) = plugin
        .resource_call(&ds, "GET", &path, None)
        .await
        .expect("labels");
    let labels: serde_json::Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(code, 200, "{labels}");
    assert_eq!(labels["data"][3], "model_name", "{labels}");
    let calls = [
        (
            "GET",
            format!("api/v1/label/model_name/values?{window}"),
            None,
        ),
        (
            "POST",
            "api/v1/series".to_string(),
            Some(format!("match%5B%5D={}&{window}", enc(&sel))),
        ),
        (
            "POST",
            "api/v1/query_range".to_string(),
            Some(format!("query={}&{window}&step=15", enc(&sel))),
        ),
    ];
    for (method, path, form) in &calls {
        let (code, _, body) = plugin
            .resource_call(&ds, method, path, form.as_deref())
            .await
            .expect("answered");
        assert_eq!(
            code,
            200,
            "{method} {path}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    // Paths outside the API never reach the server.
    for path in ["api/v1/status/flags", "api/v1/admin/tsdb/clean_tombstones"] {
        let (code, _, _) = plugin
            .resource_call(&ds, "GET", path, None)
            .await
            .expect("answered");
        assert_eq!(code, 404, "{path}");
    }

    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let api: Vec<&Seen> = seen
        .iter()
        .filter(|s| {
            params_of(s)
                .iter()
                .any(|(k, v)| k == "start" && v == "1700000000")
        })
        .collect();
    assert_eq!(api.len(), 4, "{seen:?}");
    for s in &seen {
        assert!(
            !s.line.contains("flags") && !s.line.contains("admin"),
            "{}",
            s.line
        );
    }
    for s in &api {
        let params = params_of(s);
        let has = |k: &str, v: &str| params.iter().any(|(pk, pv)| pk == k && pv == v);
        assert_eq!(s.header("x-scope-orgid"), Some("tenant-a"), "{}", s.line);
        // reader:s3cret
        assert_eq!(
            s.header("authorization"),
            Some("Basic cmVhZGVyOnMzY3JldA=="),
            "{}",
            s.line
        );
        assert!(s.line.contains(" /prometheus/api/v1/"), "{}", s.line);
        assert!(
            has("dedup", "true") && has("partial_response", "true"),
            "{s:?}"
        );
        assert!(has("end", "1700000600"), "{s:?}");
        assert!(!params.iter().any(|(k, _)| k == "evil"), "{s:?}");
        if s.line.contains("/labels") {
            assert!(has("match[]", &sel) && has("limit", "5"), "{s:?}");
            assert!(s.line.starts_with("GET "), "{}", s.line);
        }
        if s.line.contains("/series") || s.line.contains("/query_range") {
            // POST stays POST where Prometheus takes a form.
            assert!(s.line.starts_with("POST "), "{}", s.line);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoriametrics_cluster_answers_under_its_select_prefix() {
    let (url, seen) = gateway_as(Shape::VmCluster).await;
    assert!(url.ends_with("/select/42/prometheus"), "{url}");
    let plugin = Plugin::start().await.expect("plugin");
    let ds = Datasource::prometheus(&url).uid("vm-cluster");

    let health = plugin.check_health(&ds).await.expect("health answered");
    assert_eq!(health.status, HealthStatus::Ok as i32, "{}", health.message);
    let head = format!("VictoriaMetrics at {url}: 1 vLLM target");
    assert!(health.message.starts_with(&head), "{}", health.message);
    let details: serde_json::Value = serde_json::from_slice(&health.json_details).expect("details");
    assert_eq!(details["server"], "victoriametrics", "{details}");

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
        frames::frames_of(&resp, ref_id)
            .unwrap_or_else(|e| panic!("{ref_id}: {e}: {}", frames::error_of(&resp, ref_id)));
    }
    for path in [
        "labels",
        "label-values?label=model_name",
        "api/v1/labels",
        "api/v1/label/model_name/values",
        "api/v1/series?match[]=up",
    ] {
        let (code, body) = plugin.resource(&ds, path).await.expect("answered");
        assert_eq!(code, 200, "{path}: {body}");
    }

    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let paths: Vec<&str> = seen
        .iter()
        .filter_map(|s| s.line.split(' ').nth(1)?.split('?').next())
        .collect();
    for wanted in [
        "status/buildinfo",
        "query",
        "query_range",
        "labels",
        "label/model_name/values",
        "series",
    ] {
        let path = format!("/select/42/prometheus/api/v1/{wanted}");
        assert!(paths.contains(&path.as_str()), "{wanted}: {paths:?}");
    }
    for s in &seen {
        assert!(
            s.line.contains(" /select/42/prometheus/api/v1/"),
            "{}",
            s.line
        );
    }
}

//! The frontend editors in a real browser against the real plugin backend.
//!
//! This test (no libtest harness) builds the test page of `tests/browser/`
//! with vite, starts two vLLM simulators and the `gpx_vllm` executable (over
//! gRPC, as Grafana starts it), and serves on a loopback port a small bridge
//! that speaks the HTTP API Grafana's frontend uses with a backend
//! datasource:
//!
//! - `GET|PUT /api/datasources/uid/<uid>`: the datasource's settings; a PUT
//!   (what "Save & test" sends) replaces `url`, `jsonData` and the given
//!   `secureJsonData` keys and bumps the settings' update time, so the
//!   plugin builds a new instance, as it does under Grafana;
//! - `GET /api/datasources/uid/<uid>/health`: CheckHealth, 200 when OK and
//!   400 otherwise, with `{status, message}`;
//! - `/api/datasources/uid/<uid>/resources/<path>`: CallResource with the
//!   method, query string, headers and body passed through;
//! - `POST /api/ds/query`: QueryData, answered as `results.<refId>` with the
//!   frames as data frame JSON (read back from the plugin's Arrow with an
//!   independent reader), 400 when a query failed.
//!
//! Then it runs `tests/browser/suite.mjs` (playwright-core driving Debian's
//! Chromium, `/usr/bin/chromium` or `$CHROMIUM`) against that page and
//! fails when the suite does. Screenshots go to a temporary directory, or to
//! `docs/img/` with `UPDATE_SCREENSHOTS=1`.
//!
//! `BROWSER_BRIDGE_SERVE=1 cargo test --test browser` only serves (for
//! working on the page by hand) and prints the address.

mod support;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use grafana_plugin_sdk::pluginv2::{self, resource_client::ResourceClient};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::frames::{self, Column};
use support::grafana::{Datasource, Plugin};
use support::vllm::Simulator;

const UID: &str = "vllm-browser";
const PLUGIN_ID: &str = "vllm-grafana-datasource";
/// The whole browser suite must finish within this.
const SUITE_LIMIT: Duration = Duration::from_secs(300);
/// Building the test page with vite.
const BUILD_LIMIT: Duration = Duration::from_secs(300);

struct Bridge {
    plugin: Plugin,
    ds: Mutex<Datasource>,
    page: PathBuf,
}

type Shared = Arc<Bridge>;

fn main() {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("browser: cannot start tokio: {e}");
            std::process::exit(1);
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => println!("browser: the editors passed in Chromium"),
        Err(e) => {
            eprintln!("browser: FAILED: {e}");
            std::process::exit(1);
        }
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Everything the suite needs, or what is missing and how to get it.
fn check_prerequisites() -> Result<(), String> {
    let browser = chromium();
    if !browser.is_file() {
        return Err(format!(
            "no Chromium at {} (install Debian's package: apt-get install chromium, or set CHROMIUM)",
            browser.display()
        ));
    }
    let node = Command::new("node")
        .arg("--version")
        .output()
        .map_err(|e| format!("node is required ({e})"))?;
    if !node.status.success() {
        return Err("node --version failed".into());
    }
    for needed in ["node_modules/playwright-core", "node_modules/.bin/vite"] {
        if !repo().join(needed).exists() {
            return Err(format!(
                "{needed} is missing: install the frontend's packages first (npm ci)"
            ));
        }
    }
    Ok(())
}

/// Runs `cmd` to completion within `limit`, output passed through.
fn run_bounded(mut cmd: Command, what: &str, limit: Duration) -> Result<(), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return if status.success() {
                Ok(())
            } else {
                Err(format!("{what} failed: {status}"))
            };
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} did not finish within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn build_page(out: &FsPath) -> Result<(), String> {
    let mut cmd = Command::new(repo().join("node_modules/.bin/vite"));
    cmd.current_dir(repo())
        .args(["build", "--logLevel", "warn", "--config"])
        .arg("tests/browser/vite.config.ts")
        .arg("--outDir")
        .arg(out);
    run_bounded(cmd, "vite build of the test page", BUILD_LIMIT)
}

async fn run() -> Result<(), String> {
    check_prerequisites()?;
    let work = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
    let page = work.path().join("page");
    build_page(&page)?;

    let sims = [Simulator::start(2, 1).await?, Simulator::start(1, 2).await?];
    let targets: Vec<String> = sims
        .iter()
        .map(|s| format!("http://{}/metrics", s.addr))
        .collect();
    let plugin = Plugin::start().await?;
    let ds = Datasource::prometheus("")
        .uid(UID)
        .json("timeInterval", Value::Null);
    let bridge = Arc::new(Bridge {
        plugin,
        ds: Mutex::new(ds),
        page,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let app = router(Arc::clone(&bridge));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let result = if std::env::var_os("BROWSER_BRIDGE_SERVE").is_some() {
        println!("browser: serving {base}/ (targets {})", targets.join(" "));
        let _ = tokio::signal::ctrl_c().await;
        Ok(())
    } else {
        let shots = if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
            repo().join("docs/img")
        } else {
            work.path().join("screenshots")
        };
        let mut cmd = Command::new("node");
        cmd.current_dir(repo())
            .arg("tests/browser/suite.mjs")
            .env("BRIDGE_URL", &base)
            .env("BRIDGE_UID", UID)
            .env("SIMULATOR_TARGETS", targets.join(","))
            .env("SCREENSHOT_DIR", &shots)
            .env("FAILURE_DIR", work.path().join("failures"))
            .env("CHROMIUM", chromium());
        tokio::task::spawn_blocking(move || run_bounded(cmd, "the browser suite", SUITE_LIMIT))
            .await
            .map_err(|e| e.to_string())?
    };
    server.abort();
    let _ = server.await;
    let bridge = match Arc::try_unwrap(bridge) {
        Ok(b) => b,
        Err(_) => return result.and(Err("the bridge is still in use".into())),
    };
    let stderr = bridge.plugin.stderr();
    let stopped = bridge.plugin.stop().await;
    if result.is_err() {
        eprintln!("plugin stderr:\n{}", stderr.join("\n"));
        // Keep the screenshots of the failed steps.
        let kept = work.keep();
        eprintln!(
            "browser: screenshots of the failures kept in {}",
            kept.join("failures").display()
        );
    }
    result?;
    stopped.map(|_| ())
}

fn router(bridge: Shared) -> Router {
    Router::new()
        .route("/api/ds/query", post(query))
        .route("/api/datasources/uid/{uid}", get(settings).put(save))
        .route("/api/datasources/uid/{uid}/health", get(health))
        .route(
            "/api/datasources/uid/{uid}/resources/{*path}",
            any(resource),
        )
        .fallback(get(static_file))
        .with_state(bridge)
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

/// `None` for the bridge's datasource, else Grafana's 404.
fn unknown(uid: &str) -> Option<Response> {
    (uid != UID).then(|| error(StatusCode::NOT_FOUND, "Data source not found"))
}

fn current(bridge: &Bridge) -> Datasource {
    bridge
        .ds
        .lock()
        .map(|d| d.clone())
        .unwrap_or_else(|p| p.into_inner().clone())
}

/// The settings as Grafana's datasource API returns them (secrets only as
/// `secureJsonFields`).
fn settings_json(ds: &Datasource) -> Value {
    let fields: Map<String, Value> = ds
        .secure
        .keys()
        .map(|k| (k.clone(), Value::Bool(true)))
        .collect();
    json!({
        "id": 1,
        "uid": ds.uid,
        "orgId": 1,
        "name": "vLLM",
        "type": PLUGIN_ID,
        "typeName": "vLLM",
        "access": "proxy",
        "url": ds.url,
        "basicAuth": false,
        "withCredentials": false,
        "isDefault": true,
        "jsonData": ds.json,
        "secureJsonFields": fields,
        "version": 1,
        "readOnly": false,
    })
}

async fn settings(State(b): State<Shared>, Path(uid): Path<String>) -> Response {
    if let Some(r) = unknown(&uid) {
        return r;
    }
    Json(settings_json(&current(&b))).into_response()
}

async fn save(
    State(b): State<Shared>,
    Path(uid): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = unknown(&uid) {
        return r;
    }
    let Ok(mut ds) = b.ds.lock() else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "settings lock poisoned");
    };
    ds.url = body["url"].as_str().unwrap_or("").to_string();
    ds.json = match &body["jsonData"] {
        Value::Object(o) => Value::Object(o.clone()),
        _ => json!({}),
    };
    if let Value::Object(secrets) = &body["secureJsonData"] {
        for (k, v) in secrets {
            match v.as_str() {
                Some(s) if !s.is_empty() => {
                    ds.secure.insert(k.clone(), s.to_string());
                }
                _ => {
                    ds.secure.remove(k);
                }
            }
        }
    }
    ds.updated_ms = support::now_ms().max(ds.updated_ms + 1);
    Json(json!({ "message": "Datasource updated", "datasource": settings_json(&ds) }))
        .into_response()
}

async fn health(State(b): State<Shared>, Path(uid): Path<String>) -> Response {
    if let Some(r) = unknown(&uid) {
        return r;
    }
    let ds = current(&b);
    match b.plugin.check_health(&ds).await {
        Ok(h) => {
            // pluginv2.CheckHealthResponse.HealthStatus: 1 OK, 2 ERROR.
            let (status, code) = match h.status {
                1 => ("OK", StatusCode::OK),
                2 => ("ERROR", StatusCode::BAD_REQUEST),
                _ => ("UNKNOWN", StatusCode::BAD_REQUEST),
            };
            let mut payload = json!({ "status": status, "message": h.message });
            if let Ok(details) = serde_json::from_slice::<Value>(&h.json_details) {
                payload["details"] = details;
            }
            (code, Json(payload)).into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

async fn resource(
    State(b): State<Shared>,
    Path((uid, path)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = unknown(&uid) {
        return r;
    }
    let ds = current(&b);
    let url = match &query {
        Some(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.clone(),
    };
    let mut sent = HashMap::new();
    for (name, value) in &headers {
        if let Ok(v) = value.to_str() {
            sent.entry(name.as_str().to_string())
                .or_insert_with(|| pluginv2::StringList { values: Vec::new() })
                .values
                .push(v.to_string());
        }
    }
    let call = ResourceClient::new(b.plugin.channel())
        .call_resource(pluginv2::CallResourceRequest {
            plugin_context: Some(ds.context()),
            path,
            method: method.as_str().to_string(),
            url,
            headers: sent,
            body,
        })
        .await;
    let mut stream = match call {
        Ok(r) => r.into_inner(),
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("CallResource: {e}"),
            )
        }
    };
    let mut code = 0;
    let mut out_headers = HeaderMap::new();
    let mut out = Vec::new();
    loop {
        match stream.message().await {
            Ok(Some(part)) => {
                if part.code != 0 {
                    code = part.code;
                }
                for (name, list) in &part.headers {
                    let lower = name.to_ascii_lowercase();
                    if lower == "content-length" || lower == "transfer-encoding" {
                        continue;
                    }
                    for v in &list.values {
                        if let (Ok(n), Ok(v)) = (
                            axum::http::HeaderName::from_bytes(lower.as_bytes()),
                            HeaderValue::from_str(v),
                        ) {
                            out_headers.append(n, v);
                        }
                    }
                }
                out.extend_from_slice(&part.body);
            }
            Ok(None) => break,
            Err(e) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("CallResource: {e}"),
                )
            }
        }
    }
    let status = u16::try_from(code)
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::OK);
    (status, out_headers, out).into_response()
}

fn epoch_ms(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// One frame as Grafana's data frame JSON.
fn frame_json(f: &frames::Frame) -> Value {
    let mut fields = Vec::new();
    let mut values = Vec::new();
    let mut entities = Vec::new();
    let mut any_entity = false;
    for field in &f.fields {
        let (kind, info) = match &field.column {
            Column::Time(_) => ("time", "time.Time"),
            Column::Number(_) => ("number", "float64"),
            Column::Text(_) => ("string", "string"),
        };
        let mut schema = json!({
            "name": field.name,
            "type": kind,
            "typeInfo": { "frame": info, "nullable": field.nullable },
        });
        if let Some(labels) = &field.labels {
            schema["labels"] = json!(labels);
        }
        if !field.config.is_null() {
            schema["config"] = field.config.clone();
        }
        fields.push(schema);
        let mut special: Map<String, Value> = Map::new();
        let column = match &field.column {
            Column::Time(ns) => ns.iter().map(|t| json!(t / 1_000_000)).collect(),
            Column::Text(s) => s.iter().map(|t| json!(t)).collect(),
            Column::Number(n) => n
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Some(x) if x.is_finite() => json!(x),
                    Some(x) => {
                        let key = if x.is_nan() {
                            "NaN"
                        } else if *x > 0.0 {
                            "Inf"
                        } else {
                            "NegInf"
                        };
                        if let Value::Array(a) = special.entry(key).or_insert(json!([])) {
                            a.push(json!(i));
                        }
                        Value::Null
                    }
                    None => Value::Null,
                })
                .collect::<Vec<Value>>(),
        };
        values.push(Value::Array(column));
        if special.is_empty() {
            entities.push(Value::Null);
        } else {
            any_entity = true;
            entities.push(Value::Object(special));
        }
    }
    let mut schema = json!({ "name": f.name, "refId": f.ref_id, "fields": fields });
    if !f.meta.is_null() {
        schema["meta"] = f.meta.clone();
    }
    let mut data = json!({ "values": values });
    if any_entity {
        data["entities"] = Value::Array(entities);
    }
    json!({ "schema": schema, "data": data })
}

async fn query(State(b): State<Shared>, Json(body): Json<Value>) -> Response {
    let (Some(from), Some(to)) = (epoch_ms(&body["from"]), epoch_ms(&body["to"])) else {
        return error(
            StatusCode::BAD_REQUEST,
            "from and to must be Unix milliseconds",
        );
    };
    let Some(list) = body["queries"].as_array() else {
        return error(StatusCode::BAD_REQUEST, "no queries");
    };
    let mut queries = Vec::new();
    for q in list {
        if q["datasource"]["uid"].as_str().is_some_and(|u| u != UID) {
            return error(StatusCode::NOT_FOUND, "Data source not found");
        }
        queries.push(pluginv2::DataQuery {
            ref_id: q["refId"].as_str().unwrap_or("A").to_string(),
            max_data_points: q["maxDataPoints"].as_i64().unwrap_or(1000),
            interval_ms: q["intervalMs"].as_i64().unwrap_or(1000),
            time_range: Some(pluginv2::TimeRange {
                from_epoch_ms: from,
                to_epoch_ms: to,
            }),
            json: serde_json::to_vec(q).unwrap_or_default(),
            query_type: q["queryType"].as_str().unwrap_or("").to_string(),
        });
    }
    let ds = current(&b);
    let resp = match b.plugin.query(&ds, queries).await {
        Ok(r) => r,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    let mut results = Map::new();
    let mut failed = false;
    for (ref_id, r) in &resp.responses {
        let mut out = json!({ "status": if r.status == 0 { 200 } else { r.status } });
        if !r.error.is_empty() {
            failed = true;
            out["error"] = json!(r.error);
            if r.status == 0 {
                out["status"] = json!(400);
            }
        }
        let mut list = Vec::new();
        for bytes in &r.frames {
            match frames::decode(bytes) {
                Ok(f) => list.push(frame_json(&f)),
                Err(e) => {
                    return error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("frame of {ref_id} unreadable: {e}"),
                    )
                }
            }
        }
        out["frames"] = Value::Array(list);
        results.insert(ref_id.clone(), out);
    }
    let status = if failed {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, Json(json!({ "results": results }))).into_response()
}

fn content_type(path: &FsPath) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json" | "map") => "application/json",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("ttf") => "font/ttf",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// The built test page; `/` and unknown routes are `index.html`.
async fn static_file(State(b): State<Shared>, uri: axum::http::Uri) -> Response {
    let rel = uri.path().trim_start_matches('/');
    let safe = !rel.split('/').any(|p| p == ".." || p.starts_with('.'));
    let mut file = b.page.join(if rel.is_empty() || !safe {
        "index.html"
    } else {
        rel
    });
    if !file.is_file() {
        if rel.starts_with("api/") || FsPath::new(rel).extension().is_some() {
            return error(StatusCode::NOT_FOUND, "Not found");
        }
        file = b.page.join("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => ([("content-type", content_type(&file))], bytes).into_response(),
        Err(e) => error(StatusCode::NOT_FOUND, &format!("{}: {e}", file.display())),
    }
}

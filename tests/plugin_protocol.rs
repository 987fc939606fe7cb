//! The plugin executable as Grafana sees it: go-plugin handshake, hclog
//! logs on stderr, gRPC health, Shutdown, settings validation, secrets.
//! No Prometheus needed: failures are against loopback servers.

mod support;

use grafana_plugin_sdk::pluginv2::check_health_response::HealthStatus;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::grafana::{
    data_query, grafana_env, Datasource, Plugin, EXECUTABLE, MAX_PORT, MIN_PORT,
};
use support::{frames, stubs};
use vllm_grafana::catalog;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_is_the_first_and_only_stdout_line_and_logs_are_hclog_json() {
    let plugin = Plugin::start().await.expect("plugin starts");
    let parts: Vec<&str> = plugin.handshake.split('|').collect();
    assert_eq!(parts.len(), 5, "{}", plugin.handshake);
    assert_eq!(
        (parts[0], parts[1], parts[2], parts[4]),
        ("1", "2", "tcp", "grpc")
    );
    let addr: std::net::SocketAddr = parts[3].parse().expect("address");
    assert!(addr.ip().is_loopback(), "listens on {addr}");
    assert!(
        (MIN_PORT..=MAX_PORT).contains(&addr.port()),
        "port {} outside go-plugin's range",
        addr.port()
    );
    // Exercise a request so something gets logged.
    let ds = Datasource::prometheus(&format!(
        "http://{}",
        stubs::closed_port().await.expect("port")
    ));
    plugin.check_health(&ds).await.expect("health answered");
    let stderr = plugin.stderr();
    assert!(!stderr.is_empty(), "nothing logged");
    for line in &stderr {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stderr line is not JSON ({e}): {line}"));
        for key in ["@level", "@message", "@timestamp"] {
            assert!(v.get(key).is_some(), "no {key} in {line}");
        }
    }
    assert!(
        plugin.stdout_after_handshake().is_empty(),
        "stdout after the handshake: {:?}",
        plugin.stdout_after_handshake()
    );
    plugin.stop().await.expect("clean stop");
}

#[test]
fn run_by_hand_it_explains_itself_and_exits() {
    let out = Command::new(EXECUTABLE)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "stdout: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Grafana starts it"), "{err}");
}

#[test]
fn an_unsupported_protocol_version_is_refused() {
    let out = Command::new(EXECUTABLE)
        .env_clear()
        .envs(grafana_env())
        .env("PLUGIN_PROTOCOL_VERSIONS", "1")
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("speaks version 2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafanas_stop_sequence_ends_the_process_cleanly() {
    let plugin = Plugin::start().await.expect("plugin starts");
    let status = plugin.stop().await.expect("exits within 2 s of Shutdown");
    assert!(status.success(), "exit status {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_also_stops_it() {
    let mut plugin = Plugin::start().await.expect("plugin starts");
    let killed = Command::new("kill")
        .args(["-TERM", &plugin.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = plugin
        .wait_exit(Duration::from_secs(5))
        .expect("exits on SIGTERM");
    assert!(status.success(), "exit status {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_health_reports_the_plugin_and_its_services_serving() {
    use tonic_health::pb::{
        health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest,
    };
    let plugin = Plugin::start().await.expect("plugin starts");
    let mut health = HealthClient::new(plugin.channel());
    for service in [
        "plugin",
        "pluginv2.Data",
        "pluginv2.Diagnostics",
        "pluginv2.Resource",
    ] {
        let resp = health
            .check(HealthCheckRequest {
                service: service.to_string(),
            })
            .await
            .unwrap_or_else(|e| panic!("{service}: {e}"))
            .into_inner();
        assert_eq!(resp.status, ServingStatus::Serving as i32, "{service}");
    }
    plugin.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_health_names_every_invalid_setting() {
    let plugin = Plugin::start().await.expect("plugin starts");
    let ds = Datasource::prometheus("prometheus:9090")
        .json("timeout", json!("soon"))
        .json("tlsSkipVerify", json!("maybe"))
        .json("timeInterval", json!("often"))
        .json("httpHeaderName1", json!("X-Scope-OrgID"))
        .secure("tlsCACert", "not a certificate");
    let resp = plugin.check_health(&ds).await.expect("answered");
    assert_eq!(resp.status, HealthStatus::Error as i32);
    for field in [
        "`url`",
        "`timeout`",
        "`tlsSkipVerify`",
        "`timeInterval`",
        "`httpHeaderValue1`",
        "`tlsCACert`",
    ] {
        assert!(
            resp.message.contains(field),
            "{field} not named in: {}",
            resp.message
        );
    }
    assert!(
        resp.message.contains("\"prometheus:9090\" is not"),
        "{}",
        resp.message
    );
    // Every query of the datasource reports the same, each under its refId.
    let queries = vec![
        data_query("A", json!({"expr": "up"}), 0, 60_000),
        data_query("B", json!({"expr": "up"}), 0, 60_000),
    ];
    let out = plugin.query(&ds, queries).await.expect("answered");
    for r in ["A", "B"] {
        assert!(
            frames::error_of(&out, r).contains("`timeout`"),
            "{r}: {}",
            frames::error_of(&out, r)
        );
    }
    plugin.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_mode_without_targets_says_what_to_set() {
    let plugin = Plugin::start().await.expect("plugin starts");
    let ds = Datasource::prometheus("").json("mode", json!("direct"));
    let resp = plugin.check_health(&ds).await.expect("answered");
    assert_eq!(resp.status, HealthStatus::Error as i32);
    assert!(resp.message.contains("no targets"), "{}", resp.message);
    // Nothing scraped: queries answer empty, lookups answer empty lists.
    let out = plugin
        .query(&ds, vec![data_query("A", json!({"expr": "up"}), 0, 60_000)])
        .await
        .expect("answered");
    assert_eq!(
        out.responses["A"].status,
        200,
        "{}",
        frames::error_of(&out, "A")
    );
    let (code, body) = plugin.resource(&ds, "labels").await.expect("answered");
    assert_eq!(code, 200, "{body}");
    let (code, body) = plugin.resource(&ds, "targets").await.expect("answered");
    assert_eq!((code, body), (200, json!([])));
    plugin.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_the_logs_or_the_answers() {
    let password = "pw-9f2c1e7a-not-for-logs";
    let header_value = "hv-4b8d0c33-not-for-logs";
    let token = "tok-71aa5e02-not-for-logs";
    let plugin = Plugin::start_with_env(&[("RUST_LOG", "trace")])
        .await
        .expect("plugin starts");
    let unauthorized = stubs::fixed(401, "text/plain", "Unauthorized")
        .await
        .expect("stub");
    let basic = Datasource::prometheus(&unauthorized.url())
        .uid("basic")
        .json("basicAuthUser", json!("grafana"))
        .json("httpHeaderName1", json!("X-Scope-OrgID"))
        .secure("basicAuthPassword", password)
        .secure("httpHeaderValue1", header_value);
    // Basic auth and a bearer token together: invalid, and named without values.
    let both = basic.clone().uid("both").secure("bearerToken", token);
    let mut answers = Vec::new();
    for ds in [&basic, &both] {
        let health = plugin.check_health(ds).await.expect("answered");
        answers.push(health.message.clone());
        answers.push(String::from_utf8_lossy(&health.json_details).to_string());
        let out = plugin
            .query(ds, vec![data_query("A", json!({"expr": "up"}), 0, 60_000)])
            .await
            .expect("answered");
        answers.push(frames::error_of(&out, "A"));
        let (_, body) = plugin.resource(ds, "labels").await.expect("answered");
        answers.push(body.to_string());
    }
    assert!(
        answers[0].contains("401"),
        "the stub was reached: {answers:?}"
    );
    assert!(answers[4].contains("`bearerToken`"), "{answers:?}");
    let logs = plugin.stderr().join("\n");
    for secret in [password, header_value, token] {
        assert!(!logs.contains(secret), "{secret} logged:\n{logs}");
        for a in &answers {
            assert!(!a.contains(secret), "{secret} returned: {a}");
        }
    }
    plugin.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_resource_lists_every_metric_with_a_query_that_parses() {
    let plugin = Plugin::start().await.expect("plugin starts");
    // The catalog needs no backend: it answers even with a dead URL.
    let ds = Datasource::prometheus(&format!(
        "http://{}",
        stubs::closed_port().await.expect("port")
    ));
    let (code, body) = plugin.resource(&ds, "catalog").await.expect("answered");
    assert_eq!(code, 200);
    let entries = body.as_array().expect("an array");
    let names: Vec<&str> = entries.iter().filter_map(|e| e["name"].as_str()).collect();
    let expected: Vec<&str> = catalog::METRICS.iter().map(|m| m.name).collect();
    assert_eq!(names, expected);
    for e in entries {
        let q = e["suggestedQuery"].as_str().expect("suggestedQuery");
        vllm_grafana::promql::inspect::parse(q).unwrap_or_else(|err| panic!("{q}: {err}"));
        for key in ["type", "unit", "grafanaUnit", "meaning", "labels"] {
            assert!(!e[key].is_null(), "{key} missing in {e}");
        }
    }
    let (code, body) = plugin.resource(&ds, "nope").await.expect("answered");
    assert_eq!(code, 404, "{body}");
    assert!(body["error"]
        .as_str()
        .is_some_and(|m| m.contains("catalog")));
    plugin.stop().await.expect("clean stop");
}

/// `^[0-9a-z]+-([0-9a-z]+-)?datasource$`, Grafana's rule for datasource ids.
fn valid_datasource_id(id: &str) -> bool {
    let Some(prefix) = id.strip_suffix("-datasource") else {
        return false;
    };
    let parts: Vec<&str> = prefix.split('-').collect();
    (1..=2).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        })
}

#[test]
fn plugin_json_describes_this_backend_for_grafana() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("plugin.json")).expect("plugin.json at the root");
    let p: Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(p["type"], "datasource");
    assert_eq!(p["id"], vllm_grafana::dashboard::PLUGIN_ID);
    assert!(valid_datasource_id(p["id"].as_str().unwrap_or("")));
    assert!(
        !valid_datasource_id("vllm-grafana-plugin-datasource")
            && !valid_datasource_id("VLLM-datasource")
    );
    for flag in ["backend", "alerting", "metrics"] {
        assert_eq!(p[flag], true, "{flag}");
    }
    // Grafana runs <executable>_<os>_<arch>; Cargo builds the binary under the same name.
    let exe = std::path::Path::new(EXECUTABLE)
        .file_name()
        .and_then(|n| n.to_str());
    assert_eq!(p["executable"].as_str(), exe);
    assert_eq!(p["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(p["info"]["author"]["name"], "vllm-grafana");
    assert!(p["info"]["description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    assert!(p["name"].as_str().is_some_and(|n| !n.is_empty()));
    assert_eq!(p["dependencies"]["grafanaDependency"], ">=10.4.0");
    for size in ["small", "large"] {
        let logo = p["info"]["logos"][size].as_str().expect("logo path");
        assert_eq!(logo, "img/logo.svg");
        let svg = std::fs::read_to_string(root.join(logo)).expect("logo exists");
        assert!(svg.contains("<svg"), "{logo} is an SVG");
    }
    assert!(
        p.get("routes").is_none(),
        "the backend talks to Prometheus itself: no proxy routes"
    );
    let script = root.join("scripts/build-plugin.sh");
    let mode = std::fs::metadata(&script)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()));
    assert!(
        mode.is_ok_and(|m| m & 0o111 != 0),
        "scripts/build-plugin.sh is executable"
    );
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .expect("bash");
    assert!(syntax.success());
}

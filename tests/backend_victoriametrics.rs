//! Prometheus mode against a real VictoriaMetrics (Debian's
//! `victoria-metrics`, single node) scraping a vLLM simulator: Save & test
//! names the server, and queries through the plugin give the same series and
//! values as VictoriaMetrics' own API at the same time. What differs from
//! Prometheus by design is in docs/BACKENDS.md.

mod support;

use grafana_plugin_sdk::pluginv2::check_health_response::HealthStatus;
use serde_json::json;
use std::time::Duration;
use support::answers::{from_api, from_frames};
use support::grafana::{data_query, Datasource, Plugin};
use support::victoria::Victoria;
use support::vllm::Simulator;
use support::{eventually, frames};
use vllm_grafana::catalog::names;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn victoriametrics_is_recognised_and_answers_through_the_plugin() {
    let sim = Simulator::start(2, 1).await.expect("simulator");
    let target = sim.addr.to_string();
    // A 1 s latency offset instead of the default 30 s: the newest samples
    // show at once (docs/BACKENDS.md explains the default).
    let vm = tokio::task::spawn_blocking(move || {
        Victoria::start("vllm", &[target], "1s", &["-search.latencyOffset=1s"])
    })
    .await
    .expect("joined")
    .unwrap_or_else(|e| panic!("{e}"));
    let vm = std::sync::Arc::new(vm);
    let running = names::NUM_REQUESTS_RUNNING;
    let probe = std::sync::Arc::clone(&vm);
    eventually(
        "VictoriaMetrics has scraped vLLM",
        Duration::from_secs(30),
        || {
            let vm = std::sync::Arc::clone(&probe);
            async move {
                let now = support::now_ms() as f64 / 1000.0;
                let data = tokio::task::spawn_blocking(move || vm.query_at(running, now))
                    .await
                    .ok()?
                    .ok()?;
                (from_api(&data).len() == 2).then_some(())
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));

    let plugin = Plugin::start().await.expect("plugin");
    let ds = Datasource::prometheus(&vm.url()).uid("vm");
    let health = plugin.check_health(&ds).await.expect("health answered");
    assert_eq!(health.status, HealthStatus::Ok as i32, "{}", health.message);
    let head = format!("VictoriaMetrics at {}: 1 vLLM target", vm.url());
    assert!(health.message.starts_with(&head), "{}", health.message);
    let details: serde_json::Value = serde_json::from_slice(&health.json_details).expect("details");
    assert_eq!(details["server"], json!("victoriametrics"));
    assert!(
        !health.message.contains("latencyOffset"),
        "a 1 s offset is current: {}",
        health.message
    );

    // The editor's lookups (labels, label values, metric names), with the
    // time range Grafana sends.
    let now_s = support::now_ms() / 1000;
    let range = format!("start={}&end={now_s}", now_s - 3600);
    let (code, body) = plugin
        .resource(&ds, &format!("label-values?label=model_name&{range}"))
        .await
        .expect("answered");
    assert_eq!(code, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(2), "two models: {body}");
    let (code, body) = plugin
        .resource(&ds, &format!("metric-names?{range}"))
        .await
        .expect("answered");
    assert_eq!(code, 200, "{body}");
    assert!(
        body.as_array()
            .is_some_and(|names| names.contains(&json!(running))),
        "{body}"
    );
    let (code, body) = plugin
        .resource(&ds, &format!("labels?{range}"))
        .await
        .expect("answered");
    assert_eq!(code, 200, "{body}");
    for label in ["job", "instance", "model_name"] {
        assert!(
            body.as_array().is_some_and(|l| l.contains(&json!(label))),
            "{label}: {body}"
        );
    }

    // The same instant, through the plugin and straight from the API.
    let t_ms = support::now_ms() - 2_000;
    for expr in [
        format!("sum by (model_name) ({running})"),
        names::KV_CACHE_USAGE_PERC.to_string(),
        format!(
            "sum by (model_name) (rate({}[30s]))",
            names::GENERATION_TOKENS
        ),
    ] {
        let query = data_query(
            "A",
            json!({"expr": expr, "instant": true, "range": false}),
            t_ms - 60_000,
            t_ms,
        );
        let resp = plugin.query(&ds, vec![query]).await.expect("QueryData");
        let frames = frames::frames_of(&resp, "A")
            .unwrap_or_else(|e| panic!("{expr}: {e}: {}", frames::error_of(&resp, "A")));
        let through_plugin = from_frames(&frames);
        let api = {
            let vm = std::sync::Arc::clone(&vm);
            let expr = expr.clone();
            tokio::task::spawn_blocking(move || vm.query_at(&expr, t_ms as f64 / 1000.0))
                .await
                .expect("joined")
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let direct = from_api(&api);
        assert!(!direct.is_empty(), "{expr}: VictoriaMetrics has no answer");
        assert_eq!(through_plugin, direct, "{expr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn save_and_test_names_the_default_latency_offset() {
    let sim = Simulator::start(1, 1).await.expect("simulator");
    let target = sim.addr.to_string();
    // VictoriaMetrics' defaults: the newest 30 s are hidden.
    let vm = tokio::task::spawn_blocking(move || Victoria::start("vllm", &[target], "1s", &[]))
        .await
        .expect("joined")
        .unwrap_or_else(|e| panic!("{e}"));
    let plugin = Plugin::start().await.expect("plugin");
    let ds = Datasource::prometheus(&vm.url()).uid("vm-default");

    // Right after the start it has scraped, but shows nothing yet.
    let health = plugin.check_health(&ds).await.expect("health answered");
    assert_eq!(
        health.status,
        HealthStatus::Error as i32,
        "{}",
        health.message
    );
    assert!(
        health.message.contains("-search.latencyOffset=5s"),
        "{}",
        health.message
    );

    // Once samples show, they are about 30 s old, and Save & test says why.
    let message = eventually(
        "VictoriaMetrics shows vLLM series",
        Duration::from_secs(60),
        || {
            let (plugin, ds) = (&plugin, &ds);
            async move {
                let h = plugin.check_health(ds).await.ok()?;
                (h.status == HealthStatus::Ok as i32).then_some(h.message)
            }
        },
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));
    assert!(
        message.contains("Warning: its newest vLLM sample is"),
        "{message}"
    );
    assert!(message.contains("-search.latencyOffset=5s"), "{message}");
}

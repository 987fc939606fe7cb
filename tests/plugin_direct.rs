//! The plugin in direct mode: the real `gpx_vllm` driven over gRPC like
//! Grafana drives it, scraping two vLLM simulators and one closed port.

mod support;

use grafana_plugin_sdk::pluginv2::{self, check_health_response::HealthStatus};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use support::frames;
use support::grafana::{promql_query, Datasource, Plugin};
use support::vllm::Simulator;
use support::{eventually, stubs};

/// A value field's labels and its numbers.
type Numbers = (Option<BTreeMap<String, String>>, Vec<f64>);
use vllm_grafana::catalog::names;

fn direct(targets: &[String]) -> Datasource {
    Datasource::direct("direct", targets)
}

fn range(ref_id: &str, expr: &str) -> pluginv2::DataQuery {
    promql_query(ref_id, expr, false)
}

fn instant(ref_id: &str, expr: &str) -> pluginv2::DataQuery {
    promql_query(ref_id, expr, true)
}

/// The numbers of every frame of `ref_id`, with each frame's value field labels.
fn numbers(resp: &pluginv2::QueryDataResponse, ref_id: &str) -> Vec<Numbers> {
    let frames = frames::frames_of(resp, ref_id)
        .unwrap_or_else(|e| panic!("{ref_id}: {e}: {}", frames::error_of(resp, ref_id)));
    frames
        .iter()
        .flat_map(|f| f.fields.iter())
        .filter(|f| !f.numbers().is_empty())
        .map(|f| {
            (
                f.labels.clone(),
                f.numbers().into_iter().flatten().collect(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn direct_mode_scrapes_queries_and_reports_targets() {
    let a = Simulator::start(2, 1).await.expect("simulator a");
    let b = Simulator::start(1, 1).await.expect("simulator b");
    let closed = stubs::closed_port().await.expect("closed port");
    let plugin = Plugin::start().await.expect("plugin starts");
    let targets = vec![
        format!("http://{}/metrics", a.addr),
        // Without a path: /metrics is added.
        format!("http://{}", b.addr),
        format!("http://{closed}/metrics"),
    ];
    let ds = direct(&targets);

    // The first query scrapes at once: instant values show immediately.
    let running = format!("sum({})", names::NUM_REQUESTS_RUNNING);
    let out = plugin
        .query(&ds, vec![instant("S", &running), instant("U", "up")])
        .await
        .expect("answered");
    let sum = numbers(&out, "S");
    assert_eq!(sum.len(), 1, "{sum:?}");
    assert!(sum[0].1.iter().all(|v| v.is_finite()), "{sum:?}");
    let up = numbers(&out, "U");
    assert_eq!(up.len(), 3, "{up:?}");
    for (labels, values) in &up {
        let labels = labels.clone().unwrap_or_default();
        let instance = labels.get("instance").cloned().unwrap_or_default();
        assert_eq!(labels.get("job").map(String::as_str), Some("vllm"));
        let expected = if instance == closed.to_string() {
            0.0
        } else {
            1.0
        };
        assert_eq!(values, &vec![expected], "{instance}");
    }

    // A dashboard rate over $__rate_interval fills in after a few scrapes.
    let rate = format!(
        "sum by (model_name) (rate({}[$__rate_interval]))",
        names::GENERATION_TOKENS
    );
    let models = eventually("rates of both simulators", Duration::from_secs(20), || {
        let plugin = &plugin;
        let ds = &ds;
        let rate = rate.clone();
        async move {
            let out = plugin.query(ds, vec![range("R", &rate)]).await.ok()?;
            let series = frames::frames_of(&out, "R").ok()?;
            let with_points = series
                .iter()
                .flat_map(|f| f.fields.iter())
                .filter(|f| f.numbers().iter().flatten().any(|v| v.is_finite()))
                .count();
            (with_points >= 1).then_some(with_points)
        }
    })
    .await
    .expect("rate");
    let distinct: std::collections::BTreeSet<&String> = a.models.iter().chain(&b.models).collect();
    assert_eq!(models, distinct.len());

    // A range `up` of the closed port is 0 throughout; an unknown function is that query's error.
    let out = plugin
        .query(
            &ds,
            vec![
                range("D", &format!("up{{instance=\"{closed}\"}}")),
                range("E", "nosuchfunction(up)"),
            ],
        )
        .await
        .expect("answered");
    let down = numbers(&out, "D");
    assert!(!down.is_empty() && down.iter().all(|(_, v)| v.iter().all(|x| *x == 0.0)));
    assert!(!frames::error_of(&out, "E").is_empty());

    // Health: OK (two vLLM endpoints), the closed port named with its error.
    let health = plugin.check_health(&ds).await.expect("answered");
    assert_eq!(health.status, HealthStatus::Ok as i32, "{}", health.message);
    assert!(health.message.contains("2 of 3"), "{}", health.message);
    assert!(
        health.message.contains(&closed.to_string()),
        "{}",
        health.message
    );
    let details: Value = serde_json::from_slice(&health.json_details).expect("json");
    let listed = details["targets"].as_array().expect("targets");
    assert_eq!(listed.len(), 3);
    assert_eq!(listed[2]["reachable"], json!(false));
    assert!(listed[0]["release"].is_string(), "{details}");

    // The targets resource.
    let (code, body) = plugin.resource(&ds, "targets").await.expect("answered");
    assert_eq!(code, 200, "{body}");
    let list = body.as_array().expect("list");
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["state"], json!("up"));
    assert_eq!(list[1]["url"], json!(format!("http://{}/metrics", b.addr)));
    assert_eq!(list[2]["state"], json!("down"));
    assert!(list[2]["lastError"].is_string(), "{body}");

    // Lookups come from the store.
    let (code, body) = plugin
        .resource(&ds, "label-values?label=model_name")
        .await
        .expect("answered");
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body.as_array().map(Vec::len),
        Some(distinct.len()),
        "{body}"
    );
    let (code, body) = plugin
        .resource(&ds, "metric-names")
        .await
        .expect("answered");
    assert_eq!(code, 200);
    assert!(body
        .as_array()
        .expect("list")
        .contains(&json!(names::NUM_REQUESTS_RUNNING)));

    // A settings change replaces the scraper: only the new target is listed.
    let mut changed = direct(&targets[..1]);
    changed.updated_ms += 1;
    let out = plugin
        .query(&changed, vec![instant("U", "up")])
        .await
        .expect("answered");
    assert_eq!(numbers(&out, "U").len(), 1);
    let (_, body) = plugin
        .resource(&changed, "targets")
        .await
        .expect("answered");
    assert_eq!(body.as_array().map(Vec::len), Some(1), "{body}");
    plugin.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_direct_targets_are_named() {
    let plugin = Plugin::start().await.expect("plugin starts");
    let ds = direct(&["ftp://x/metrics".to_string()]);
    let health = plugin.check_health(&ds).await.expect("answered");
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(health.message.contains("targets[0]"), "{}", health.message);
    plugin.stop().await.expect("clean stop");
}

/// Range queries never step below the scrape interval, however small the
/// `intervalMs` Grafana sends (a narrow range on a wide panel).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_queries_step_no_finer_than_the_scrape_interval() {
    let sim = Simulator::start(1, 1).await.expect("simulator");
    let plugin = Plugin::start().await.expect("plugin starts");
    let ds = Datasource::direct("min-step", &[format!("http://{}/metrics", sim.addr)]);
    let now = support::now_ms();
    let query = support::grafana::data_query_every(
        "A",
        json!({"expr": "up", "range": true, "instant": false, "interval": ""}),
        now - 30_000,
        now + 5_000,
        20,
    );
    eventually("three scrapes", Duration::from_secs(15), || async {
        let resp = plugin.query(&ds, vec![query.clone()]).await.ok()?;
        let frames = frames::frames_of(&resp, "A").ok()?;
        let times: Vec<i64> = frames
            .iter()
            .flat_map(|f| f.fields.iter())
            .flat_map(|f| f.times())
            .collect();
        if times.len() < 3 {
            return None;
        }
        let gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        // Frame times are in nanoseconds.
        assert!(
            gaps.iter().all(|&g| g >= 1_000_000_000),
            "steps below the 1 s scrape interval: {gaps:?}"
        );
        Some(())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    plugin.stop().await.expect("clean stop");
}

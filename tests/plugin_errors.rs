//! Bad input never takes more than its own query down: each failure is a
//! clear error on that query's response, the other queries are answered,
//! and the plugin process keeps serving (a later QueryData against a real
//! Prometheus works).

mod support;

use grafana_plugin_sdk::pluginv2::{self, check_health_response::HealthStatus};
use serde_json::json;
use std::time::{Duration, Instant};
use support::frames;
use support::grafana::{data_query, raw_query, Datasource, Plugin};
use support::prometheus::Prometheus;
use support::{now_ms, stubs};

/// A Prometheus with nothing to scrape: `vector(1)` still answers.
async fn prometheus() -> Prometheus {
    Prometheus::start(&[], Duration::from_secs(1))
        .await
        .expect("prometheus")
}

fn range() -> (i64, i64) {
    let to = now_ms();
    (to - 60_000, to)
}

fn good(ref_id: &str, value: i32) -> pluginv2::DataQuery {
    let (from, to) = range();
    data_query(
        ref_id,
        json!({"expr": format!("vector({value})"), "instant": true}),
        from,
        to,
    )
}

/// The plugin is alive and answers a real query correctly.
async fn assert_still_serving(plugin: &mut Plugin, prom: &Prometheus) {
    assert!(plugin.is_running(), "the plugin process died");
    let ds = Datasource::prometheus(&prom.url()).uid("still-serving");
    let resp = plugin
        .query(&ds, vec![good("OK", 7)])
        .await
        .expect("QueryData");
    let frames = frames::frames_of(&resp, "OK").expect("a later query works");
    assert_eq!(frames[0].fields[1].numbers(), vec![Some(7.0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_fail_alone_with_their_own_message() {
    let prom = prometheus().await;
    let mut plugin = Plugin::start().await.expect("plugin");
    let ds = Datasource::prometheus(&prom.url());
    let (from, to) = range();
    let queries = vec![
        good("A", 1),
        raw_query(
            "MALFORMED",
            br#"{"expr": "vector(2)", "instant": tru"#.to_vec(),
            from,
            to,
        ),
        good("C", 3),
        data_query(
            "FORMAT",
            json!({"expr": "vector(4)", "format": "graph"}),
            from,
            to,
        ),
        data_query("SYNTAX", json!({"expr": "sum(rate(x[5m])"}), from, to),
        data_query(
            "TYPE",
            json!({"expr": "vector(5)", "instant": "yes"}),
            from,
            to,
        ),
        data_query("EMPTY", json!({"expr": ""}), from, to),
        data_query(
            "STEP",
            json!({"expr": "vector(6)", "interval": "every now and then"}),
            from,
            to,
        ),
        // Both series end up without labels: Prometheus fails the evaluation.
        data_query(
            "EVAL",
            json!({"expr": r#"label_replace(vector(1) or label_replace(vector(2), "a", "b", "", ""), "a", "", "", "")"#, "instant": true}),
            from,
            to,
        ),
    ];
    let resp = plugin.query(&ds, queries).await.expect("QueryData");
    for (ref_id, want) in [("A", 1.0), ("C", 3.0)] {
        let frames = frames::frames_of(&resp, ref_id).unwrap_or_else(|e| panic!("{ref_id}: {e}"));
        assert_eq!(frames[0].fields[1].numbers(), vec![Some(want)], "{ref_id}");
    }
    let expect = [
        ("MALFORMED", "the query JSON is malformed", 400),
        ("FORMAT", "unknown format \"graph\"", 400),
        ("SYNTAX", "bad_data: ", 400),
        (
            "TYPE",
            "query field `instant` must be true or false, got \"yes\"",
            400,
        ),
        ("EMPTY", "`expr` is empty", 400),
        (
            "STEP",
            "min step `interval`: invalid interval \"every now and then\"",
            400,
        ),
    ];
    for (ref_id, message, status) in expect {
        let r = &resp.responses[ref_id];
        assert!(r.error.contains(message), "{ref_id}: {:?}", r.error);
        assert_eq!(r.status, status, "{ref_id}");
    }
    // Prometheus' own message, verbatim.
    assert!(frames::error_of(&resp, "SYNTAX").contains("parse error"));
    // Evaluation errors come back from Prometheus the same way.
    let eval = frames::error_of(&resp, "EVAL");
    assert!(
        eval.starts_with("execution: ") && eval.contains("same labelset"),
        "{eval}"
    );
    assert_eq!(resp.responses["EVAL"].status, 422);
    // The query inspector still sees what was sent.
    let sent = frames::decode(&resp.responses["SYNTAX"].frames[0]).expect("frame");
    assert_eq!(
        sent.meta["executedQueryString"],
        "Expr: sum(rate(x[5m])\nStep: 1s"
    );
    assert_still_serving(&mut plugin, &prom).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_down_is_a_clear_error_for_each_query() {
    let prom = prometheus().await;
    let mut plugin = Plugin::start().await.expect("plugin");
    let dead = stubs::closed_port().await.expect("port");
    let ds = Datasource::prometheus(&format!("http://{dead}")).uid("down");
    let resp = plugin
        .query(&ds, vec![good("A", 1), good("B", 2)])
        .await
        .expect("QueryData");
    for ref_id in ["A", "B"] {
        let e = frames::error_of(&resp, ref_id);
        assert!(
            e.contains(&format!("cannot reach Prometheus at http://{dead}")),
            "{e}"
        );
        assert!(e.to_lowercase().contains("connection refused"), "{e}");
        assert_eq!(resp.responses[ref_id].status, 502);
    }
    let health = plugin.check_health(&ds).await.expect("CheckHealth");
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(
        health.message.contains("cannot reach Prometheus"),
        "{}",
        health.message
    );
    assert_still_serving(&mut plugin, &prom).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_that_never_answers_times_out_per_query() {
    let prom = prometheus().await;
    let mut plugin = Plugin::start().await.expect("plugin");
    let silent = stubs::silent().await.expect("stub");
    let ds = Datasource::prometheus(&silent.url())
        .uid("silent")
        .json("timeout", json!(1));
    let started = Instant::now();
    let resp = plugin
        .query(&ds, vec![good("A", 1), good("B", 2)])
        .await
        .expect("QueryData");
    let took = started.elapsed();
    for ref_id in ["A", "B"] {
        let e = frames::error_of(&resp, ref_id);
        assert!(e.contains("did not answer within 1 s"), "{e}");
        assert_eq!(resp.responses[ref_id].status, 504);
    }
    assert!(
        took < Duration::from_secs(4),
        "timed out after {took:?}, not ~1 s"
    );
    let health = plugin.check_health(&ds).await.expect("CheckHealth");
    assert!(
        health.message.contains("did not answer within 1 s"),
        "{}",
        health.message
    );
    assert_still_serving(&mut plugin, &prom).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_names_the_credentials_to_check() {
    let prom = prometheus().await;
    let mut plugin = Plugin::start().await.expect("plugin");
    let proxy = stubs::fixed(401, "text/plain", "401 Unauthorized")
        .await
        .expect("stub");
    let ds = Datasource::prometheus(&proxy.url())
        .uid("auth")
        .json("basicAuthUser", json!("grafana"))
        .secure("basicAuthPassword", "wrong");
    let resp = plugin
        .query(&ds, vec![good("A", 1)])
        .await
        .expect("QueryData");
    let e = frames::error_of(&resp, "A");
    assert!(
        e.contains("answered HTTP 401") && e.contains("basic auth"),
        "{e}"
    );
    assert_eq!(resp.responses["A"].status, 401);
    let health = plugin.check_health(&ds).await.expect("CheckHealth");
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(health.message.contains("HTTP 401"), "{}", health.message);
    let (code, body) = plugin.resource(&ds, "labels").await.expect("resource");
    assert_eq!(code, 401, "{body}");
    assert_still_serving(&mut plugin, &prom).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_page_at_the_url_is_not_taken_for_prometheus() {
    let prom = prometheus().await;
    let mut plugin = Plugin::start().await.expect("plugin");
    let page = stubs::fixed(
        200,
        "text/html; charset=utf-8",
        "<!DOCTYPE html><html><head><title>Grafana</title></head><body>Login</body></html>",
    )
    .await
    .expect("stub");
    let ds = Datasource::prometheus(&page.url()).uid("html");
    let resp = plugin
        .query(&ds, vec![good("A", 1)])
        .await
        .expect("QueryData");
    let e = frames::error_of(&resp, "A");
    assert!(
        e.contains("an HTML page, not the Prometheus HTTP API"),
        "{e}"
    );
    assert!(e.contains("base URL"), "{e}");
    let health = plugin.check_health(&ds).await.expect("CheckHealth");
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(
        health.message.contains("an HTML page"),
        "{}",
        health.message
    );
    assert_still_serving(&mut plugin, &prom).await;
}

/// A Prometheus that accepts connections and never answers, with the
/// default 30 s timeout: Save & test still answers before Grafana's 30 s
/// deadline, saying what happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn save_and_test_answers_within_grafanas_deadline_when_prometheus_hangs() {
    let plugin = Plugin::start().await.expect("plugin");
    let silent = stubs::silent().await.expect("stub");
    let ds = Datasource::prometheus(&silent.url()).uid("hung-prometheus");
    let started = Instant::now();
    let health = plugin.check_health(&ds).await.expect("health answered");
    let took = started.elapsed();
    eprintln!("CheckHealth against a hung Prometheus took {took:?}");
    assert!(took < Duration::from_secs(25), "{took:?}");
    assert_eq!(health.status, HealthStatus::Error as i32);
    assert!(
        health.message.contains("gave up after 20 s") && health.message.contains(&silent.url()),
        "{}",
        health.message
    );
    plugin.stop().await.expect("clean stop");
}

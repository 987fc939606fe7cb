//! The plugin in Prometheus mode against a real Prometheus scraping the
//! vLLM simulator: every frame value must equal what Prometheus' own HTTP
//! API returns for the same query, range and step.

mod support;

use grafana_plugin_sdk::pluginv2::{self, check_health_response::HealthStatus};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::frames::{self, Frame};
use support::grafana::{data_query, data_query_every, Datasource, Plugin};
use support::prometheus::Prometheus;
use support::vllm::Simulator;
use support::{now_ms, stubs};
use vllm_grafana::catalog::names;
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::promql::{self, inspect, Expr, Selector};

type Labels = BTreeMap<String, String>;
/// Series by label set: (unix ms, value bits) per point.
type SeriesSet = BTreeMap<Labels, Vec<(i64, u64)>>;

const SCRAPE: Duration = Duration::from_secs(1);
/// The window every comparison uses, ending two seconds ago (all scrapes in).
const WINDOW_MS: i64 = 20_000;

struct Stack {
    sim: Simulator,
    prom: Prometheus,
    plugin: Plugin,
    ds: Datasource,
}

/// Simulator (2 models x 2 engines) scraped every second by a real
/// Prometheus, at least `scrapes` times, and the plugin pointed at it.
async fn stack(scrapes: usize) -> Stack {
    let sim = Simulator::start(2, 2).await.expect("simulator");
    let prom = Prometheus::start(&[sim.addr.to_string()], SCRAPE)
        .await
        .expect("prometheus");
    prom.wait_for_scrapes(scrapes, Duration::from_secs(60))
        .await
        .expect("scrapes");
    let plugin = Plugin::start().await.expect("plugin");
    let ds = Datasource::prometheus(&prom.url());
    Stack {
        sim,
        prom,
        plugin,
        ds,
    }
}

/// A window of whole seconds ending two seconds ago.
fn window() -> (i64, i64) {
    let end = (now_ms() / 1000 - 2) * 1000;
    (end - WINDOW_MS, end)
}

fn secs(ms: i64) -> String {
    format!("{}", ms / 1000)
}

/// The built-ins as Grafana expands them for the test window: step 1 s
/// (intervalMs 1 s, scrape interval 1 s), rate interval max(1 s + 1 s, 4 x 1 s).
fn expand_builtins(expr: &str) -> String {
    expr.replace("$__rate_interval", "4s")
        .replace("$__interval", "1s")
        .replace("$__range", "20s")
}

/// Dashboard variables as a user might set them; built-ins are left for the plugin.
fn dashboard_variables(name: &str) -> Option<String> {
    if name.starts_with("__") {
        return None;
    }
    dashboard::default_value(name)
}

fn parse_value(v: &Value) -> u64 {
    let f: f64 = v
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("sample value");
    canonical(f)
}

fn canonical(f: f64) -> u64 {
    if f.is_nan() {
        f64::NAN.to_bits()
    } else {
        f.to_bits()
    }
}

fn point(p: &Value) -> (i64, u64) {
    let t = p[0].as_f64().expect("timestamp");
    ((t * 1000.0).round() as i64, parse_value(&p[1]))
}

fn labels_of(metric: &Value) -> Labels {
    serde_json::from_value(metric.clone()).expect("labels")
}

/// Prometheus' matrix or vector as a series set.
fn expected(data: &Value) -> SeriesSet {
    let mut out = SeriesSet::new();
    for s in data["result"].as_array().expect("result") {
        let points = match (s.get("values"), s.get("value")) {
            (Some(values), _) => values
                .as_array()
                .expect("values")
                .iter()
                .map(point)
                .collect(),
            (None, Some(value)) => vec![point(value)],
            _ => Vec::new(),
        };
        out.insert(labels_of(&s["metric"]), points);
    }
    out
}

/// The plugin's per-series frames as a series set, checking their shape.
fn actual(frames: &[Frame], kind: &str) -> SeriesSet {
    let mut out = SeriesSet::new();
    for f in frames {
        if f.fields.is_empty() {
            continue;
        }
        assert_eq!(f.kind(), Some(kind), "frame type: {:?}", f.meta);
        assert_eq!(f.meta["typeVersion"], json!([0, 1]));
        assert_eq!(f.fields.len(), 2, "Time and Value only");
        let (time, value) = (&f.fields[0], &f.fields[1]);
        assert_eq!(time.name, "Time");
        assert_eq!(value.name, "Value");
        assert!(!value.nullable);
        let labels = value
            .labels
            .clone()
            .expect("the value field keeps its labels");
        let times = time.times();
        let values = value.numbers();
        assert_eq!(times.len(), values.len());
        let points = times
            .iter()
            .zip(values)
            .map(|(t, v)| (t / 1_000_000, canonical(v.expect("no nulls"))))
            .collect();
        assert!(out.insert(labels, points).is_none(), "duplicate series");
    }
    out
}

/// Range queries: each `(expr, legend)` through the plugin in one request,
/// against Prometheus' `query_range` for the same window and step.
async fn assert_range_matches(s: &Stack, exprs: &[(String, &str)]) {
    let (from, to) = window();
    let queries: Vec<pluginv2::DataQuery> = exprs
        .iter()
        .enumerate()
        .map(|(i, (expr, legend))| {
            data_query(
                &format!("Q{i}"),
                json!({"expr": expr, "legendFormat": legend, "range": true, "instant": false}),
                from,
                to,
            )
        })
        .collect();
    let resp = s.plugin.query(&s.ds, queries).await.expect("QueryData");
    assert_eq!(resp.responses.len(), exprs.len());
    let mut non_empty = 0;
    for (i, (expr, legend)) in exprs.iter().enumerate() {
        let ref_id = format!("Q{i}");
        let frames = frames::frames_of(&resp, &ref_id).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let sent = expand_builtins(expr);
        assert!(!sent.contains('$'), "unexpanded variable in {sent}");
        assert_eq!(
            frames[0].meta["executedQueryString"],
            format!("Expr: {sent}\nStep: 1s"),
            "{expr}"
        );
        for f in &frames {
            assert_eq!(f.ref_id, ref_id);
            if let Some(value) = f.fields.get(1) {
                let labels = value.labels.clone().unwrap_or_default();
                let name = value.display_name().map(str::to_string);
                assert_eq!(
                    name.clone().unwrap_or_default(),
                    f.name,
                    "frame named after its legend"
                );
                if *legend == "{{model_name}}" && labels.contains_key("model_name") {
                    assert_eq!(name.as_deref(), Some(labels["model_name"].as_str()));
                }
                if legend.is_empty() && !labels.is_empty() {
                    let name = name.expect("a default name");
                    assert!(labels.values().all(|v| name.contains(v.as_str())), "{name}");
                }
            }
        }
        let want = expected(
            &s.prom
                .query_range(&sent, &secs(from), &secs(to), "1")
                .await
                .expect("Prometheus"),
        );
        let got = actual(&frames, "timeseries-multi");
        assert_eq!(got, want, "{expr}");
        if !want.is_empty() {
            non_empty += 1;
        }
    }
    assert!(
        non_empty * 2 > exprs.len(),
        "most queries should have data ({non_empty}/{})",
        exprs.len()
    );
}

fn sel(name: &str) -> Selector {
    Selector::bare(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_frames_equal_prometheus_for_a_query_corpus() {
    let s = stack(5).await;
    let by_model = [promql::labels::MODEL_NAME];
    let corpus: Vec<(String, &str)> = vec![
        (promql::rate(&sel(names::PROMPT_TOKENS)).into(), ""),
        (
            promql::sum_rate(&sel(names::GENERATION_TOKENS), &by_model).into(),
            "{{model_name}}",
        ),
        (
            promql::sum(
                &["model_name", "engine"],
                Expr::select(&sel(names::NUM_REQUESTS_RUNNING)),
            )
            .into(),
            "{{model_name}} {{engine}}",
        ),
        (
            promql::histogram_quantile(0.95, &sel(names::TIME_TO_FIRST_TOKEN), &by_model).into(),
            "{{model_name}}",
        ),
        (
            promql::histogram_mean(&sel(names::E2E_REQUEST_LATENCY), &[]).into(),
            "__auto",
        ),
        (
            promql::version_proof_all(
                [names::PREFIX_CACHE_HITS, names::PREFIX_CACHE_QUERIES],
                |[h, q]| promql::sum_rate(&sel(h), &[]) / promql::sum_rate(&sel(q), &[]),
            )
            .into(),
            "hit rate",
        ),
        (
            promql::version_proof(names::KV_CACHE_USAGE_PERC, |m| {
                promql::max(&by_model, Expr::select(&sel(m)))
            })
            .into(),
            "{{model_name}}",
        ),
        (
            promql::increase(&sel(names::REQUEST_SUCCESS)).into(),
            "{{finished_reason}}",
        ),
        (
            format!("sum(increase({}[$__range]))", names::GENERATION_TOKENS),
            "",
        ),
        (format!("scalar(sum({}))", names::NUM_REQUESTS_RUNNING), ""),
        (format!("{} > 1e9", names::NUM_REQUESTS_WAITING), ""),
        (names::UP.to_string(), "{{instance}}"),
        (format!("topk(1, {})", names::KV_CACHE_USAGE_PERC), ""),
        (
            format!(
                "avg_over_time({}[$__interval])",
                names::NUM_REQUESTS_RUNNING
            ),
            "{{engine}}",
        ),
    ];
    assert_range_matches(&s, &corpus).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn range_frames_equal_prometheus_for_the_dashboard_queries() {
    let s = stack(5).await;
    let queries = dashboard::panels_queries(&dashboard::overview(DatasourceFlavor::Prometheus));
    let exprs: Vec<(String, &str)> = queries
        .iter()
        .filter(|q| !q.instant)
        .map(|q| (inspect::interpolate(&q.expr, dashboard_variables), ""))
        .collect();
    assert!(
        exprs.len() > 20,
        "the dashboard has {} range queries",
        exprs.len()
    );
    assert_range_matches(&s, &exprs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instant_frames_equal_prometheus_vectors() {
    let s = stack(5).await;
    let (from, to) = window();
    let queries = dashboard::panels_queries(&dashboard::overview(DatasourceFlavor::Prometheus));
    let exprs: Vec<String> = queries
        .iter()
        .filter(|q| q.instant)
        .map(|q| inspect::interpolate(&q.expr, dashboard_variables))
        .chain([
            format!("sum({})", names::NUM_REQUESTS_RUNNING),
            "vector(1.5)".to_string(),
        ])
        .collect();
    let request: Vec<pluginv2::DataQuery> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            data_query(
                &format!("I{i}"),
                json!({"expr": e, "instant": true, "range": false, "legendFormat": "__auto"}),
                from,
                to,
            )
        })
        .collect();
    let resp = s.plugin.query(&s.ds, request).await.expect("QueryData");
    for (i, e) in exprs.iter().enumerate() {
        let frames =
            frames::frames_of(&resp, &format!("I{i}")).unwrap_or_else(|err| panic!("{e}: {err}"));
        let sent = expand_builtins(e);
        // Instant queries run at the end of the range, unaligned.
        let want = expected(
            &s.prom
                .query(&sent, Some(&secs(to)))
                .await
                .expect("Prometheus"),
        );
        let got = actual(&frames, "numeric-multi");
        assert_eq!(got, want, "{e}");
        for f in &frames {
            assert_eq!(f.meta["custom"]["resultType"], "vector");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_frames_have_time_label_columns_and_named_values() {
    let s = stack(5).await;
    let (from, to) = window();
    let running = promql::sum(
        &["instance", "model_name", "engine"],
        Expr::select(&sel(names::NUM_REQUESTS_RUNNING)),
    );
    let throughput = promql::sum_rate(&sel(names::GENERATION_TOKENS), &["model_name"]);
    let table = |expr: &Expr, instant: bool| json!({"expr": expr.as_str(), "format": "table", "instant": instant, "range": !instant, "legendFormat": "__auto"});
    // Two table queries in one request: Grafana names the columns "Value #<refId>".
    let resp = s
        .plugin
        .query(
            &s.ds,
            vec![
                data_query("A", table(&running, true), from, to),
                data_query("B", table(&throughput, true), from, to),
            ],
        )
        .await
        .expect("QueryData");
    for (ref_id, expr) in [("A", &running), ("B", &throughput)] {
        let frames = frames::frames_of(&resp, ref_id).expect("frames");
        assert_eq!(frames.len(), 1, "one table frame");
        let f = &frames[0];
        assert_eq!(f.kind(), Some("numeric-long"));
        let want = expected(
            &s.prom
                .query(&expand_builtins(expr.as_str()), Some(&secs(to)))
                .await
                .expect("Prometheus"),
        );
        let label_keys: Vec<String> = want
            .keys()
            .flat_map(|l| l.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let names: Vec<&str> = f.fields.iter().map(|f| f.name.as_str()).collect();
        let value_name = format!("Value #{ref_id}");
        let mut expected_names = vec!["Time"];
        expected_names.extend(label_keys.iter().map(String::as_str));
        expected_names.push(&value_name);
        assert_eq!(names, expected_names);
        let rows = rows_of(f, &label_keys, &value_name);
        let want_rows: SeriesSet = want;
        assert_eq!(rows, want_rows, "{expr}");
    }
    // A range query in table format: one row per point, ordered by time.
    let resp = s
        .plugin
        .query(
            &s.ds,
            vec![data_query("R", table(&running, false), from, to)],
        )
        .await
        .expect("QueryData");
    let frames = frames::frames_of(&resp, "R").expect("frames");
    let f = &frames[0];
    assert_eq!(f.kind(), Some("timeseries-long"));
    assert!(
        f.field("Value").is_some(),
        "a lone table query's column is \"Value\""
    );
    let times = f.fields[0].times();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "rows ordered by time"
    );
    let want = expected(
        &s.prom
            .query_range(running.as_str(), &secs(from), &secs(to), "1")
            .await
            .expect("Prometheus"),
    );
    let keys: Vec<String> = vec!["engine".into(), "instance".into(), "model_name".into()];
    assert_eq!(rows_of(f, &keys, "Value"), want);
}

/// A table frame's rows regrouped as series by their label columns.
fn rows_of(f: &Frame, label_keys: &[String], value_name: &str) -> SeriesSet {
    let times = f.fields[0].times();
    let values = f.field(value_name).expect("value column").numbers();
    let columns: Vec<Vec<String>> = label_keys
        .iter()
        .map(|k| f.field(k).expect("label column").texts())
        .collect();
    let mut out = SeriesSet::new();
    for row in 0..times.len() {
        let labels: Labels = label_keys
            .iter()
            .zip(&columns)
            .filter(|(_, col)| !col[row].is_empty())
            .map(|(k, col)| (k.clone(), col[row].clone()))
            .collect();
        out.entry(labels).or_default().push((
            times[row] / 1_000_000,
            canonical(values[row].expect("value")),
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heatmap_buckets_are_fields_sorted_by_le_and_de_accumulated() {
    let s = stack(5).await;
    let (from, to) = window();
    let expr = promql::sum(
        &["le"],
        promql::rate(&sel(names::TIME_TO_FIRST_TOKEN).bucket()),
    );
    let resp = s
        .plugin
        .query(
            &s.ds,
            vec![data_query(
                "H",
                json!({"expr": expr.as_str(), "format": "heatmap", "legendFormat": "{{le}}"}),
                from,
                to,
            )],
        )
        .await
        .expect("QueryData");
    let frames = frames::frames_of(&resp, "H").expect("frames");
    assert_eq!(frames.len(), 1);
    let f = &frames[0];
    assert_eq!(f.kind(), Some("heatmap-rows"));
    let data = s
        .prom
        .query_range(&expand_builtins(expr.as_str()), &secs(from), &secs(to), "1")
        .await
        .expect("Prometheus");
    let mut buckets: Vec<(f64, String, BTreeMap<i64, f64>)> = data["result"]
        .as_array()
        .expect("result")
        .iter()
        .map(|s| {
            let le = s["metric"]["le"].as_str().expect("le").to_string();
            let points = s["values"]
                .as_array()
                .expect("values")
                .iter()
                .map(|p| (point(p).0, f64::from_bits(point(p).1)))
                .collect();
            (le.parse::<f64>().expect("numeric le"), le, points)
        })
        .collect();
    assert!(buckets.len() > 3, "the histogram has buckets");
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let names: Vec<&str> = f.fields[1..].iter().map(|f| f.name.as_str()).collect();
    let want_names: Vec<&str> = buckets.iter().map(|b| b.1.as_str()).collect();
    assert_eq!(names, want_names, "buckets sorted by le");
    let times: Vec<i64> = f.fields[0].times().iter().map(|t| t / 1_000_000).collect();
    for (i, field) in f.fields[1..].iter().enumerate() {
        assert_eq!(field.display_name(), Some(buckets[i].1.as_str()));
        for (row, got) in field.numbers().iter().enumerate() {
            let t = times[row];
            let here = buckets[i].2.get(&t).copied();
            let below = if i == 0 {
                Some(0.0)
            } else {
                buckets[i - 1].2.get(&t).copied().or(Some(0.0))
            };
            let want = here.map(|h| h - below.unwrap_or(0.0));
            assert_eq!(
                got.map(canonical),
                want.map(canonical),
                "bucket {} at {t}",
                buckets[i].1
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builtin_variables_expand_like_grafana() {
    let s = stack(1).await;
    let (from, to) = window();
    let instant = |ref_id: &str, expr: &str, extra: Value| {
        let mut model = json!({"expr": expr, "instant": true, "range": false});
        if let (Some(m), Some(e)) = (model.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        data_query(ref_id, model, from, to)
    };
    let cases = [
        ("A", "vector($__range_s)", json!({}), 20.0),
        ("B", "vector(${__range_ms})", json!({}), 20_000.0),
        ("C", "vector($__interval_ms)", json!({}), 1000.0),
        ("D", "vector(${__rate_interval_ms})", json!({}), 4000.0),
        // A min step of 5 s: step 5 s, rate interval max(1 s + 5 s, 4 x 5 s).
        (
            "E",
            "vector($__interval_ms)",
            json!({"interval": "5s"}),
            5000.0,
        ),
        (
            "F",
            "vector($__rate_interval_ms)",
            json!({"interval": "5s"}),
            20_000.0,
        ),
    ];
    let resp = s
        .plugin
        .query(
            &s.ds,
            cases
                .iter()
                .map(|(r, e, x, _)| instant(r, e, x.clone()))
                .collect(),
        )
        .await
        .expect("QueryData");
    for (ref_id, expr, _, want) in cases {
        let frames = frames::frames_of(&resp, ref_id).expect("frames");
        let got = frames[0].fields[1].numbers();
        assert_eq!(got, vec![Some(want)], "{expr}");
    }
    // A week at 1000 points: Grafana's interval is 604.8 s rounded to 10 minutes.
    let week = 7 * 86_400_000;
    let resp = s
        .plugin
        .query(
            &s.ds,
            vec![data_query_every(
                "W",
                json!({"expr": "rate(up[$__rate_interval])"}),
                to - week,
                to,
                600_000,
            )],
        )
        .await
        .expect("QueryData");
    let frames = frames::frames_of(&resp, "W").expect("frames");
    assert_eq!(
        frames[0].meta["executedQueryString"], "Expr: rate(up[10m1s])\nStep: 10m0s",
        "rate interval = max(10m + 1s, 4 x 1s)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_health_reports_version_targets_and_models() {
    let s = stack(1).await;
    let resp = s.plugin.check_health(&s.ds).await.expect("CheckHealth");
    assert_eq!(resp.status, HealthStatus::Ok as i32, "{}", resp.message);
    assert!(resp.message.contains("Prometheus 2."), "{}", resp.message);
    assert!(resp.message.contains("1 vLLM target"), "{}", resp.message);
    assert!(resp.message.contains("2 models"), "{}", resp.message);
    for model in &s.sim.models {
        assert!(
            resp.message.contains(model.as_str()),
            "{model}: {}",
            resp.message
        );
    }
    let details: Value = serde_json::from_slice(&resp.json_details).expect("details");
    assert_eq!(
        details["vllmTargets"][0]["instance"],
        s.sim.addr.to_string()
    );
    let mut models = s.sim.models.clone();
    models.sort();
    assert_eq!(details["models"], json!(models));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_health_says_what_to_fix_without_vllm_series() {
    let plugin = Plugin::start().await.expect("plugin");
    // Nothing scraped at all.
    let empty = Prometheus::start(&[], SCRAPE).await.expect("prometheus");
    let resp = plugin
        .check_health(&Datasource::prometheus(&empty.url()))
        .await
        .expect("CheckHealth");
    assert_eq!(resp.status, HealthStatus::Error as i32);
    assert!(
        resp.message.contains("check the scrape config"),
        "{}",
        resp.message
    );
    // A target that does not answer.
    let dead = stubs::closed_port().await.expect("port");
    let down = Prometheus::start(&[dead.to_string()], SCRAPE)
        .await
        .expect("prometheus");
    down.wait_for_scrapes(1, Duration::from_secs(30))
        .await
        .expect("scraped");
    let resp = plugin
        .check_health(&Datasource::prometheus(&down.url()).uid("down"))
        .await
        .expect("CheckHealth");
    assert_eq!(resp.status, HealthStatus::Error as i32);
    assert!(
        resp.message.contains("1 scrape target is down"),
        "{}",
        resp.message
    );
    assert!(resp.message.contains(&dead.to_string()), "{}", resp.message);
    assert!(
        resp.message.contains("connection refused"),
        "{}",
        resp.message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_answer_from_prometheus() {
    let s = stack(1).await;
    let (code, labels) = s.plugin.resource(&s.ds, "labels").await.expect("labels");
    assert_eq!(code, 200, "{labels}");
    for l in ["model_name", "engine", "job", "instance", "__name__"] {
        assert!(
            labels.as_array().expect("array").iter().any(|v| v == l),
            "{l} in {labels}"
        );
    }
    let (code, models) = s
        .plugin
        .resource(&s.ds, "label-values?label=model_name")
        .await
        .expect("label values");
    assert_eq!(code, 200);
    let mut want = s.sim.models.clone();
    want.sort();
    assert_eq!(models, json!(want));
    let matcher = format!(
        "{}{{model_name=\"{}\"}}",
        names::NUM_REQUESTS_RUNNING,
        want[0]
    );
    let url = reqwest::Url::parse_with_params(
        "http://x/label-values",
        &[("label", "model_name"), ("match[]", matcher.as_str())],
    )
    .expect("url");
    let (code, one) = s
        .plugin
        .resource(
            &s.ds,
            &format!("label-values?{}", url.query().unwrap_or("")),
        )
        .await
        .expect("filtered");
    assert_eq!(code, 200);
    assert_eq!(one, json!([want[0]]));
    let (code, metrics) = s
        .plugin
        .resource(&s.ds, "metric-names")
        .await
        .expect("metric names");
    assert_eq!(code, 200);
    let metrics = metrics.as_array().expect("array");
    for name in [names::NUM_REQUESTS_RUNNING, names::UP] {
        assert!(metrics.iter().any(|m| m == name), "{name}");
    }
    let (code, err) = s
        .plugin
        .resource(&s.ds, "label-values?label=a/b")
        .await
        .expect("answered");
    assert_eq!(code, 400, "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_datasource_is_rebuilt_when_grafana_says_its_settings_changed() {
    let s = stack(1).await;
    let (from, to) = window();
    let q = || {
        vec![data_query(
            "A",
            json!({"expr": "vector(1)", "instant": true}),
            from,
            to,
        )]
    };
    let dead = stubs::closed_port().await.expect("port");
    let mut ds = Datasource::prometheus(&format!("http://{dead}")).uid("rebuild");
    let resp = s.plugin.query(&ds, q()).await.expect("QueryData");
    assert!(frames::error_of(&resp, "A").contains("cannot reach Prometheus"));
    // Same `updated`: the cached instance (old URL) still answers.
    ds.url = s.prom.url();
    let resp = s.plugin.query(&ds, q()).await.expect("QueryData");
    assert!(frames::error_of(&resp, "A").contains("cannot reach Prometheus"));
    // Grafana bumps `updated` when the settings are saved.
    ds.updated_ms += 1;
    let resp = s.plugin.query(&ds, q()).await.expect("QueryData");
    let frames = frames::frames_of(&resp, "A").expect("works after the update");
    assert_eq!(frames[0].fields[1].numbers(), vec![Some(1.0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queries_of_one_request_run_concurrently() {
    let s = stack(1).await;
    let delay = Duration::from_millis(600);
    let slow = stubs::delaying_proxy(s.prom.addr(), delay)
        .await
        .expect("proxy");
    let ds = Datasource::prometheus(&slow.url()).uid("slow");
    let (from, to) = window();
    let queries: Vec<pluginv2::DataQuery> = (0..4)
        .map(|i| {
            data_query(
                &format!("Q{i}"),
                json!({"expr": format!("vector({i})"), "instant": true}),
                from,
                to,
            )
        })
        .collect();
    let started = Instant::now();
    let resp = s.plugin.query(&ds, queries).await.expect("QueryData");
    let took = started.elapsed();
    for i in 0..4 {
        let frames = frames::frames_of(&resp, &format!("Q{i}")).expect("frames");
        assert_eq!(frames[0].fields[1].numbers(), vec![Some(f64::from(i))]);
    }
    assert!(
        took < delay * 2,
        "4 queries behind a {delay:?} delay took {took:?}: they did not run concurrently"
    );
}

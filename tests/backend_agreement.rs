//! Prometheus 2.42 and VictoriaMetrics (Debian's packages) loaded with the
//! same samples answer every dashboard panel query and every alert rule
//! alike. Evaluated on a scrape timestamp, the answers are the same series
//! with the same values (within 1e-7: sums are added in another order). Evaluated between two scrapes, they
//! are the same series, but a range function's window holds different
//! samples in the two: Prometheus extrapolates the samples inside the
//! window to its edges, VictoriaMetrics also uses the last sample before the
//! window (docs/BACKENDS.md); the largest difference is printed.
//! Prometheus gets the samples through promtool, VictoriaMetrics through its
//! import API. Every query also runs through the plugin in Prometheus mode
//! against VictoriaMetrics, as Grafana sends it, and answers as
//! VictoriaMetrics' own API does.

mod support;

use serde_json::json;
use std::time::Duration;
use support::answers::{from_api, from_frames, Answers};
use support::grafana::{data_query, Datasource, Plugin};
use support::server::{Data, Prometheus, NO_SCRAPES};
use support::victoria::Victoria;
use support::vllm::history_openmetrics;
use vllm_grafana::alerts::{self, AlertConfig};
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::promql::inspect::interpolate;

const EVERY: Duration = Duration::from_secs(15);

fn windowed(expr: &str) -> bool {
    ["rate(", "increase(", "_over_time(", "irate(", "delta("]
        .iter()
        .any(|f| expr.contains(f))
}

/// Grafana's values for a 15 s scrape interval with everything selected.
fn variable(name: &str) -> Option<String> {
    match name {
        "job" => Some("vllm".to_string()),
        "instance" | "model_name" | "engine" => Some(".*".to_string()),
        "__rate_interval" => Some("1m".to_string()),
        "__interval" => Some("15s".to_string()),
        "__range" => Some("1h".to_string()),
        other => dashboard::default_value(other),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_and_victoriametrics_agree_on_every_dashboard_and_alert_query() {
    tokio::task::block_in_place(compare_backends);
}

/// Instant answers through the plugin (Prometheus mode on `url`) at `at_ms`,
/// NaN left out as VictoriaMetrics does.
async fn through_plugin(
    plugin: &Plugin,
    url: &str,
    exprs: &[&str],
    at_ms: i64,
) -> Vec<Result<Answers, String>> {
    let ds = Datasource::prometheus(url).uid("agreement");
    let mut out = Vec::new();
    for chunk in exprs.chunks(20) {
        let queries = chunk
            .iter()
            .enumerate()
            .map(|(i, e)| {
                data_query(
                    &format!("Q{i}"),
                    json!({"expr": e, "instant": true, "range": false}),
                    at_ms - 60_000,
                    at_ms,
                )
            })
            .collect();
        let resp = plugin.query(&ds, queries).await;
        for i in 0..chunk.len() {
            let ref_id = format!("Q{i}");
            out.push(match &resp {
                Err(e) => Err(e.to_string()),
                Ok(resp) => support::frames::frames_of(resp, &ref_id)
                    .map_err(|e| format!("{e}: {}", support::frames::error_of(resp, &ref_id)))
                    .map(|frames| {
                        from_frames(&frames)
                            .into_iter()
                            .filter(|(_, v)| !v.is_nan())
                            .collect()
                    }),
            });
        }
    }
    out
}

fn compare_backends() {
    let now_ms = support::now_ms();
    let end_ms = (now_ms - 10 * 60_000) / 15_000 * 15_000;
    let span = Duration::from_secs(40 * 60);
    let mut history = String::new();
    for instance in ["gpu-1:8000", "gpu-2:8000"] {
        let text = history_openmetrics(2, 2, end_ms, span, EVERY, instance, "vllm")
            .unwrap_or_else(|e| panic!("{e}"));
        history.push_str(text.trim_end().trim_end_matches("# EOF"));
    }
    history.push_str("# EOF\n");

    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("history.om");
    std::fs::write(&input, &history).expect("write history");
    let prom = Prometheus::launch(
        NO_SCRAPES,
        Data::Import(&input),
        &["--storage.tsdb.retention.time=100y"],
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // VictoriaMetrics' text import takes millisecond timestamps.
    let import = support::victoria::to_import_text(&history);
    // vllm:cache_config_info has more labels than VictoriaMetrics keeps by
    // default (30); docs/BACKENDS.md gives this flag.
    let vm = Victoria::start(
        "vllm",
        &[],
        "15s",
        &["-retentionPeriod=100y", "-maxLabelsPerTimeseries=40"],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    vm.import(&import)
        .unwrap_or_else(|e| panic!("{e}\n{}", vm.log()));

    let mut queries: Vec<(String, String)> = Vec::new();
    // Every dashboard but the one on recording rules, which neither
    // evaluates here.
    for (name, board) in dashboard::all(DatasourceFlavor::Prometheus) {
        for q in dashboard::panels_queries(&board) {
            let expr = interpolate(&q.expr, variable);
            if !expr.contains(":rate") {
                queries.push((format!("{name} \"{}\" {}", q.panel_title, q.ref_id), expr));
            }
        }
    }
    let cfg = AlertConfig::default();
    for rule in alerts::rules(&cfg) {
        queries.push((rule.name.to_string(), rule.query(&cfg)));
    }

    let mut failures = Vec::new();
    let (mut compared, mut worst) = (0, 0.0_f64);
    // On a scrape timestamp (values must agree), and between two (series
    // must agree; values differ where a window's samples do).
    let on_scrape = end_ms - 150_000;
    let times = [on_scrape, on_scrape - 7_500];
    for (what, expr, at_ms) in queries
        .iter()
        .flat_map(|(w, e)| times.iter().map(move |t| (w, e, *t)))
    {
        let at = at_ms as f64 / 1000.0;
        let at_text = format!("{at:.3}");
        let p = prom.query_at(expr, Some(&at_text));
        let v = vm.query_at(expr, at);
        let (p, v) = match (p, v) {
            (Ok(p), Ok(v)) => (from_api(&p), from_api(&v)),
            (p, v) => {
                failures.push(format!(
                    "{what}: Prometheus {:?}, VictoriaMetrics {:?}: {expr}",
                    p.err(),
                    v.err()
                ));
                continue;
            }
        };
        // VictoriaMetrics leaves NaN results out of its answers.
        let p: Answers = p.into_iter().filter(|(_, x)| !x.is_nan()).collect();
        let v: Answers = v.into_iter().filter(|(_, x)| !x.is_nan()).collect();
        if p.keys().ne(v.keys()) {
            failures.push(format!(
                "{what}: series differ: Prometheus {:?}, VictoriaMetrics {:?}: {expr}",
                p.keys().collect::<Vec<_>>(),
                v.keys().collect::<Vec<_>>()
            ));
            continue;
        }
        compared += 1;
        for (k, a) in &p {
            let b = v[k];
            if a == &b {
                continue;
            }
            let rel = (a - b).abs() / a.abs().max(b.abs()).max(1e-12);
            if at_ms != on_scrape && windowed(expr) {
                worst = worst.max(rel);
                continue;
            }
            // Sums are added up in a different order.
            if rel > 1e-7 {
                failures.push(format!(
                    "{what} {{{k}}} at {at_text}: Prometheus {a}, VictoriaMetrics {b}: {expr}"
                ));
            }
        }
    }
    // Through the plugin, as Grafana asks, at the scrape timestamp.
    let runtime = tokio::runtime::Handle::current();
    let exprs: Vec<&str> = queries.iter().map(|(_, e)| e.as_str()).collect();
    let plugin_answers = runtime.block_on(async {
        let plugin = Plugin::start().await.expect("plugin");
        through_plugin(&plugin, &vm.url(), &exprs, on_scrape).await
    });
    let mut through = 0;
    for ((what, expr), got) in queries.iter().zip(plugin_answers) {
        let direct: Answers = vm
            .query_at(expr, on_scrape as f64 / 1000.0)
            .map(|d| from_api(&d))
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, v)| !v.is_nan())
            .collect();
        match got {
            Ok(got) if got.keys().eq(direct.keys()) => {
                through += 1;
                for (k, a) in &got {
                    let b = direct[k];
                    if (a - b).abs() > 1e-9 * a.abs().max(b.abs()).max(1e-12) {
                        failures.push(format!("{what} {{{k}}}: plugin {a}, VictoriaMetrics {b}"));
                    }
                }
            }
            Ok(got) => failures.push(format!(
                "{what}: through the plugin {:?}, VictoriaMetrics {:?}",
                got.keys().collect::<Vec<_>>(),
                direct.keys().collect::<Vec<_>>()
            )),
            Err(e) => failures.push(format!("{what}: the plugin failed: {e}: {expr}")),
        }
    }
    println!(
        "{compared} query runs of {} queries at 2 times compared; between scrapes, the largest relative difference of a range function's value: {worst:.3}; {through} answered alike through the plugin",
        queries.len()
    );
    assert!(compared > 160, "only {compared} query runs compared");
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

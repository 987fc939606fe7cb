//! QueryData through the plugin (gRPC to the real `gpx_vllm` binary, which
//! asks Prometheus and returns Arrow frames) against the raw `query_range`
//! HTTP call to the same Prometheus for the same query, window and step,
//! measured in the same run and interleaved. Target: plugin ≤ 1.10× raw.
//!
//! The bench starts its own simulator and Prometheus, backfilled with an
//! hour of simulated history (one scrape every 15 s), and queries that hour
//! as a dashboard panel does (1000 points wide: a 5 s step).
//!
//! `cargo bench --bench plugin` (needs `prometheus` and `promtool`).

#[path = "../tests/support/mod.rs"]
mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::grafana::{data_query_every, Datasource, Plugin};
use support::prometheus::{Prometheus, JOB};
use support::vllm::{history_openmetrics, Simulator};
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::promql::inspect;

const MODELS: usize = 2;
const ENGINES: usize = 2;
const HISTORY: Duration = Duration::from_secs(3600);
const HISTORY_EVERY: Duration = Duration::from_secs(15);
/// Grafana's interval for one hour at 1000 points (3.6 s, rounded).
const INTERVAL_MS: i64 = 5000;
const WARMUP: usize = 3;
const ROUNDS: usize = 40;
/// Stop measuring after this long, whatever the round.
const BUDGET: Duration = Duration::from_secs(120);

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Timing {
    label: String,
    raw: Vec<f64>,
    plugin: Vec<f64>,
}

impl Timing {
    fn stats(v: &[f64]) -> (f64, f64) {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        (percentile(&s, 0.5), percentile(&s, 0.9))
    }
}

/// The query as the plugin will send it: Grafana's expansion for the window.
fn expand(expr: &str) -> String {
    // Step 5 s; rate interval max(5 s + 15 s, 4 x 15 s).
    expr.replace("$__rate_interval", "1m0s")
        .replace("$__interval", "5s")
        .replace("$__range", "3600s")
}

async fn raw_query_range(
    http: &reqwest::Client,
    url: &str,
    expr: &str,
    start: i64,
    end: i64,
) -> Result<usize, String> {
    let params = [
        ("query", expr.to_string()),
        ("start", (start / 1000).to_string()),
        ("end", (end / 1000).to_string()),
        ("step", (INTERVAL_MS / 1000).to_string()),
    ];
    let resp = http
        .post(format!("{url}/api/v1/query_range"))
        .form(&params)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    Ok(body.len())
}

async fn run() -> Result<(), String> {
    let sim = Simulator::start(MODELS, ENGINES).await?;
    let now = support::now_ms();
    // History up to a minute ago; live scrapes take over from there.
    let history = history_openmetrics(
        MODELS,
        ENGINES,
        now - 60_000,
        HISTORY,
        HISTORY_EVERY,
        &sim.addr.to_string(),
        JOB,
    )?;
    let prom = Prometheus::start_with_history(
        &[sim.addr.to_string()],
        Duration::from_secs(1),
        Some(&history),
    )
    .await?;
    drop(history);
    prom.wait_for_scrapes(3, Duration::from_secs(60)).await?;
    let plugin = Plugin::start().await?;
    let ds = Datasource::prometheus(&prom.url()).json("timeInterval", json!("15s"));
    let http = reqwest::Client::new();

    // Window: the last hour, in whole steps (Grafana aligns to the step).
    let end = (support::now_ms() - 2000) / INTERVAL_MS * INTERVAL_MS;
    let start = end - HISTORY.as_millis() as i64;
    let picks = [
        "Generation throughput",
        "TTFT p95",
        "KV-cache usage by engine",
        "Token throughput",
        "Finished requests by reason",
        "Inter-token latency",
        "Time to first token distribution",
        "Prefix-cache hit rate",
    ];
    let all = dashboard::panels_queries(&dashboard::overview(DatasourceFlavor::Prometheus));
    let exprs: Vec<(String, String)> = all
        .iter()
        .filter(|q| !q.instant && picks.contains(&q.panel_title.as_str()))
        .map(|q| {
            let expr = inspect::interpolate(&q.expr, |name| match name {
                n if n.starts_with("__") => None,
                _ => Some(".*".to_string()),
            });
            (format!("{} {}", q.panel_title, q.ref_id), expr)
        })
        .collect();

    // Same answer size on both paths, checked once.
    for (label, expr) in &exprs {
        let q = data_query_every("A", json!({"expr": expr}), start, end, INTERVAL_MS);
        let resp = plugin.query(&ds, vec![q]).await?;
        let frames = support::frames::frames_of(&resp, "A").map_err(|e| format!("{label}: {e}"))?;
        let sent = frames[0].meta["executedQueryString"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if sent != format!("Expr: {}\nStep: 5s", expand(expr)) {
            return Err(format!("{label}: the plugin sent {sent:?}"));
        }
        raw_query_range(&http, &prom.url(), &expand(expr), start, end).await?;
    }

    let mut timings: Vec<Timing> = exprs
        .iter()
        .map(|(label, _)| Timing {
            label: label.clone(),
            raw: Vec::new(),
            plugin: Vec::new(),
        })
        .collect();
    let mut together = Timing {
        label: format!("all {} in one request", exprs.len()),
        raw: Vec::new(),
        plugin: Vec::new(),
    };
    let began = Instant::now();
    for round in 0..WARMUP + ROUNDS {
        if began.elapsed() > BUDGET {
            eprintln!("time budget reached after {round} rounds");
            break;
        }
        let keep = round >= WARMUP;
        for ((_, expr), timing) in exprs.iter().zip(&mut timings) {
            // Alternate which side goes first so drift hits both.
            let plugin_first = round % 2 == 0;
            for side in 0..2 {
                let plugin_turn = (side == 0) == plugin_first;
                let t = Instant::now();
                if plugin_turn {
                    let q = data_query_every("A", json!({"expr": expr}), start, end, INTERVAL_MS);
                    let resp = plugin.query(&ds, vec![q]).await?;
                    if !resp.responses["A"].error.is_empty() {
                        return Err(resp.responses["A"].error.clone());
                    }
                } else {
                    raw_query_range(&http, &prom.url(), &expand(expr), start, end).await?;
                }
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if keep {
                    if plugin_turn {
                        timing.plugin.push(ms);
                    } else {
                        timing.raw.push(ms);
                    }
                }
            }
        }
        // A whole panel row at once: concurrent on both sides.
        let t = Instant::now();
        let queries = exprs
            .iter()
            .enumerate()
            .map(|(i, (_, e))| {
                data_query_every(
                    &format!("Q{i}"),
                    json!({"expr": e}),
                    start,
                    end,
                    INTERVAL_MS,
                )
            })
            .collect();
        plugin.query(&ds, queries).await?;
        let plugin_ms = t.elapsed().as_secs_f64() * 1000.0;
        let t = Instant::now();
        let url = prom.url();
        let raws = exprs.iter().map(|(_, e)| {
            let sent = expand(e);
            let (http, url) = (&http, &url);
            async move { raw_query_range(http, url, &sent, start, end).await }
        });
        for r in futures_util::future::join_all(raws).await {
            r?;
        }
        let raw_ms = t.elapsed().as_secs_f64() * 1000.0;
        if keep {
            together.plugin.push(plugin_ms);
            together.raw.push(raw_ms);
        }
    }
    timings.push(together);

    println!(
        "QueryData via the plugin vs raw query_range, same Prometheus, 1 h window, 5 s step ({} rounds)",
        timings[0].raw.len()
    );
    println!(
        "{:<46} {:>10} {:>9} {:>13} {:>11} {:>7}",
        "query", "raw p50 ms", "raw p90", "plugin p50 ms", "plugin p90", "ratio"
    );
    let mut ratios = Vec::new();
    for t in &timings {
        let (r50, r90) = Timing::stats(&t.raw);
        let (p50, p90) = Timing::stats(&t.plugin);
        let ratio = p50 / r50;
        ratios.push(ratio);
        println!(
            "{:<46} {:>10.2} {:>9.2} {:>13.2} {:>11.2} {:>6.2}x",
            t.label, r50, r90, p50, p90, ratio
        );
    }
    let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
    println!("geometric mean ratio {geo:.2}x (target <= 1.10x)");
    plugin.stop().await?;
    drop(sim);
    Ok(())
}

fn main() {
    support::bench_main("plugin", run());
}

//! Direct mode beside targets that never answer: CheckHealth ("Save &
//! test") and the first QueryData of a fresh datasource with 10 targets that
//! accept connections and stay silent next to 2 healthy vLLM simulators,
//! against the same requests with only the 2 healthy targets (the baseline),
//! measured in the same run. Targets: health <= 10 s and first query <= 2 s
//! with the silent targets (Grafana gives up on a request after 30 s).
//!
//! Every measurement uses a new datasource (a new uid), as after "Save".
//! Default settings: scrape interval 10 s, so the scrape timeout is 10 s.
//!
//! `cargo bench --bench hung`

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};
use support::grafana::{promql_query, Datasource, Plugin};
use support::stubs;
use support::vllm::Simulator;

const SILENT: usize = 10;
const ROUNDS: usize = 3;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn datasource(uid: &str, targets: &[String]) -> Datasource {
    Datasource::direct(uid, targets)
        .json("scrapeInterval", serde_json::json!("10s"))
        .json("timeout", serde_json::Value::Null)
}

/// Seconds taken by CheckHealth and by the first query on fresh datasources.
async fn measure(
    plugin: &Plugin,
    name: &str,
    round: usize,
    targets: &[String],
) -> Result<(f64, f64), String> {
    let ds = datasource(&format!("{name}-health-{round}"), targets);
    let t = Instant::now();
    let health = plugin.check_health(&ds).await?;
    let health_s = t.elapsed().as_secs_f64();
    if !health.message.contains("2 of ") {
        return Err(format!("unexpected health answer: {}", health.message));
    }
    let ds = datasource(&format!("{name}-query-{round}"), targets);
    let t = Instant::now();
    plugin
        .query(&ds, vec![promql_query("A", "sum by (instance) (up)", true)])
        .await?;
    Ok((health_s, t.elapsed().as_secs_f64()))
}

async fn run() -> Result<(), String> {
    let a = Simulator::start(1, 1).await?;
    let b = Simulator::start(1, 1).await?;
    let mut silent = Vec::new();
    for _ in 0..SILENT {
        silent.push(stubs::silent().await?);
    }
    let healthy = vec![
        format!("http://{}/metrics", a.addr),
        format!("http://{}/metrics", b.addr),
    ];
    let mut hung: Vec<String> = silent
        .iter()
        .map(|s| format!("{}/metrics", s.url()))
        .collect();
    hung.extend(healthy.iter().cloned());
    let plugin = Plugin::start().await?;
    let (mut base_health, mut base_query, mut hung_health, mut hung_query) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (h, q) = measure(&plugin, "base", round, &healthy).await?;
        base_health.push(h);
        base_query.push(q);
        let (h, q) = measure(&plugin, "hung", round, &hung).await?;
        hung_health.push(h);
        hung_query.push(q);
    }
    println!("Direct mode, fresh datasource, {SILENT} silent + 2 healthy targets vs 2 healthy ({ROUNDS} rounds, medians)");
    println!(
        "{:<22} {:>12} {:>14} {:>9} {:>8}",
        "request", "baseline s", "with silent s", "ratio", "target"
    );
    for (what, base, with, target) in [
        (
            "CheckHealth",
            median(base_health),
            median(hung_health),
            "<= 10 s",
        ),
        (
            "first QueryData",
            median(base_query),
            median(hung_query),
            "<= 2 s",
        ),
    ] {
        println!(
            "{what:<22} {base:>12.3} {with:>14.3} {:>8.1}x {target:>8}",
            with / base
        );
    }
    plugin.stop().await?;
    tokio::time::sleep(Duration::from_millis(10)).await;
    Ok(())
}

fn main() {
    support::bench_main("hung", run());
}

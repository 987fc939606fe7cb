//! The plugin under dashboard load, in direct mode.
//!
//! The real `gpx_vllm` process scrapes 16 simulated vLLM servers on loopback
//! every second; after a warm-up that gives the store history, 200 clients
//! send QueryData over one gRPC connection (as Grafana does) for
//! `LOAD_SECONDS` (default 60), each query one of the plugin-flavour
//! overview dashboard's queries, range and instant as the panels ask. Two
//! identical runs back to back: latency p50/p99, throughput and errors
//! (must be 0) of each, the plugin's peak memory (VmHWM) and its resident
//! memory after each run (growth = last run - run 1; the scrapes keep
//! adding history meanwhile). Baseline, measured in the same process before the
//! load: the same queries one at a time.
//!
//! Each query asks for the last `LOAD_WINDOW_SECONDS` (default 60) at a 1 s
//! interval; the warm-up (`LOAD_WARMUP_SECONDS`, default window + 10 s)
//! fills that window with history first, so every run does the same work.
//!
//! `cargo bench --bench load`; `LOAD_SECONDS=10` for a short run,
//! `LOAD_CLIENTS` to change the 200, `LOAD_RUNS` (2 to 10) for more
//! identical runs, `LOAD_PLUGIN_ENV=K=V,...` for the plugin's environment.
//! The store's own growth in this setup is about 0.4 MiB a minute.

#[path = "../tests/support/mod.rs"]
mod support;

use grafana_plugin_sdk::pluginv2::{self, data_client::DataClient};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::grafana::{data_query_every, Datasource, Plugin};
use support::procfs;
use support::vllm::Simulator;
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::promql::inspect;

const TARGETS: usize = 16;
/// Grafana's interval for the panels' window.
const INTERVAL_MS: i64 = 1000;
/// Upper bound on requests per run, whatever the time.
const MAX_REQUESTS: usize = 2_000_000;
/// Sequential baseline: this many passes over the queries, at most this long.
const BASELINE_PASSES: usize = 5;
const BASELINE_BUDGET: Duration = Duration::from_secs(30);

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default),
    )
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// One dashboard query: its label, the panel's JSON model.
#[derive(Clone)]
struct Query {
    label: String,
    model: serde_json::Value,
}

/// The plugin-flavour overview dashboard's queries, variables set to "all"
/// (Grafana's `.*`), the `$__` built-ins left for the plugin to expand.
fn dashboard_queries() -> Vec<Query> {
    let all = dashboard::panels_queries(&dashboard::overview(DatasourceFlavor::Plugin));
    all.iter()
        .map(|q| {
            let expr = inspect::interpolate(&q.expr, |name| match name {
                n if n.starts_with("__") => None,
                dashboard::TTFT_SLO => Some(dashboard::TTFT_SLO_DEFAULT.to_string()),
                dashboard::ITL_SLO => Some(dashboard::ITL_SLO_DEFAULT.to_string()),
                _ => Some(".*".to_string()),
            });
            Query {
                label: format!("{} {}", q.panel_title, q.ref_id),
                model: json!({
                    "expr": expr,
                    "range": !q.instant,
                    "instant": q.instant,
                    "legendFormat": "__auto",
                }),
            }
        })
        .collect()
}

fn request(ds: &Datasource, q: &Query, window_ms: i64) -> pluginv2::QueryDataRequest {
    let to = support::now_ms();
    pluginv2::QueryDataRequest {
        plugin_context: Some(ds.context()),
        headers: HashMap::new(),
        queries: vec![data_query_every(
            "A",
            q.model.clone(),
            to - window_ms,
            to,
            INTERVAL_MS,
        )],
    }
}

/// One QueryData; its latency in ms, or what went wrong.
async fn one(
    client: &mut DataClient<tonic::transport::Channel>,
    ds: &Datasource,
    q: &Query,
    window_ms: i64,
) -> Result<f64, String> {
    let started = Instant::now();
    let resp = client
        .query_data(request(ds, q, window_ms))
        .await
        .map_err(|e| format!("{}: gRPC {e}", q.label))?
        .into_inner();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match resp.responses.get("A") {
        Some(r) if r.error.is_empty() && r.status == 200 => Ok(ms),
        Some(r) => Err(format!("{}: {} {}", q.label, r.status, r.error)),
        None => Err(format!("{}: no response", q.label)),
    }
}

struct RunResult {
    latencies: Vec<f64>,
    errors: Vec<String>,
    elapsed: Duration,
}

impl RunResult {
    fn print(&self, name: &str) -> (f64, f64) {
        let mut s = self.latencies.clone();
        s.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&s, 0.5), percentile(&s, 0.99));
        let qps = s.len() as f64 / self.elapsed.as_secs_f64();
        println!(
            "{name:<28} {:>8} {:>9.2} {:>9.2} {:>9.1} {:>7}",
            s.len(),
            p50,
            p99,
            qps,
            self.errors.len()
        );
        for e in self.errors.iter().take(5) {
            println!("  error: {e}");
        }
        (p50, qps)
    }
}

/// `clients` concurrent loops over the queries until `duration` or
/// [`MAX_REQUESTS`] is reached.
async fn load(
    channel: &tonic::transport::Channel,
    ds: &Datasource,
    queries: &Arc<Vec<Query>>,
    clients: usize,
    duration: Duration,
    window_ms: i64,
) -> RunResult {
    let sent = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let mut client = DataClient::new(channel.clone()).max_decoding_message_size(usize::MAX);
            let (ds, queries, sent) = (ds.clone(), Arc::clone(queries), Arc::clone(&sent));
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = Vec::new();
                let mut i = c;
                while Instant::now() < deadline
                    && sent.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS
                {
                    let q = &queries[i % queries.len()];
                    i += 1;
                    match one(&mut client, &ds, q, window_ms).await {
                        Ok(ms) => latencies.push(ms),
                        Err(e) => errors.push(e),
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut out = RunResult {
        latencies: Vec::new(),
        errors: Vec::new(),
        elapsed: Duration::ZERO,
    };
    for t in tasks {
        match t.await {
            Ok((l, e)) => {
                out.latencies.extend(l);
                out.errors.extend(e);
            }
            Err(e) => out.errors.push(format!("client task: {e}")),
        }
    }
    out.elapsed = started.elapsed();
    out
}

async fn run() -> Result<(), String> {
    let seconds = env_secs("LOAD_SECONDS", 60);
    let window = env_secs("LOAD_WINDOW_SECONDS", 60).max(Duration::from_secs(10));
    // History must cover the window before measuring, so every run does the same work.
    let warmup = env_secs("LOAD_WARMUP_SECONDS", window.as_secs() + 10);
    let window_ms = window.as_millis() as i64;
    let clients = procfs::env_usize("LOAD_CLIENTS", 200).max(1);
    let repeats = procfs::env_usize("LOAD_RUNS", 2).clamp(2, 10);
    let mut sims = Vec::with_capacity(TARGETS);
    for _ in 0..TARGETS {
        sims.push(Simulator::start(1, 1).await?);
    }
    let targets: Vec<String> = sims
        .iter()
        .map(|s| format!("http://{}/metrics", s.addr))
        .collect();
    // Extra environment for the plugin, e.g. LOAD_PLUGIN_ENV=MALLOC_ARENA_MAX=2.
    let extra = std::env::var("LOAD_PLUGIN_ENV").unwrap_or_default();
    let extra: Vec<(&str, &str)> = extra
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let plugin = Plugin::start_with_env(&extra).await?;
    let pid = plugin.pid();
    let ds = Datasource::prometheus("")
        .uid("load")
        .json("mode", json!("direct"))
        .json("timeInterval", serde_json::Value::Null)
        .json("targets", json!(targets))
        .json("scrapeInterval", json!("1s"))
        .json("timeout", json!(5));
    let queries = Arc::new(dashboard_queries());
    let ranges = queries
        .iter()
        .filter(|q| q.model["range"] == json!(true))
        .count();
    let channel = plugin.channel();
    let mut client = DataClient::new(channel.clone()).max_decoding_message_size(usize::MAX);

    // Warm-up: the first query starts the scraping; then history accrues.
    one(&mut client, &ds, &queries[0], window_ms).await?;
    eprintln!(
        "warming up: {} s of scrapes of {TARGETS} targets",
        warmup.as_secs()
    );
    tokio::time::sleep(warmup).await;
    // Every query must answer before it is measured.
    for q in queries.iter() {
        one(&mut client, &ds, q, window_ms).await?;
    }

    // Baseline: one at a time.
    let started = Instant::now();
    let mut baseline = RunResult {
        latencies: Vec::new(),
        errors: Vec::new(),
        elapsed: Duration::ZERO,
    };
    'passes: for _ in 0..BASELINE_PASSES {
        for q in queries.iter() {
            if started.elapsed() > BASELINE_BUDGET {
                break 'passes;
            }
            match one(&mut client, &ds, q, window_ms).await {
                Ok(ms) => baseline.latencies.push(ms),
                Err(e) => baseline.errors.push(e),
            }
        }
    }
    baseline.elapsed = started.elapsed();
    let rss_before = procfs::status_kib(pid, "VmRSS");

    let ticks = procfs::clock_ticks();
    let cpu0 = procfs::process_cpu_seconds(pid, ticks).ok();
    let mut runs = Vec::with_capacity(repeats);
    let mut rss_after = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        runs.push(load(&channel, &ds, &queries, clients, seconds, window_ms).await);
        rss_after.push(procfs::status_kib(pid, "VmRSS"));
    }
    let cpu = cpu0
        .zip(procfs::process_cpu_seconds(pid, ticks).ok())
        .map(|(a, b)| b - a);
    let hwm = procfs::status_kib(pid, "VmHWM");

    println!(
        "direct mode, {TARGETS} simulated targets scraped every 1 s, {} dashboard queries ({ranges} range, {} instant), {} s window, {} s of history",
        queries.len(),
        queries.len() - ranges,
        window.as_secs(),
        warmup.as_secs()
    );
    println!(
        "{:<28} {:>8} {:>9} {:>9} {:>9} {:>7}",
        "run", "requests", "p50 ms", "p99 ms", "req/s", "errors"
    );
    let (base_p50, base_qps) = baseline.print("baseline: one at a time");
    for (i, run) in runs.iter().enumerate() {
        let (p50, qps) = run.print(&format!("run {}: {clients} concurrent", i + 1));
        println!(
            "  vs one at a time: throughput {:.2}x, p50 latency {:.1}x",
            qps / base_qps,
            p50 / base_p50
        );
    }
    if let Some(cpu) = cpu {
        let requests = runs.iter().map(|r| r.latencies.len()).sum::<usize>().max(1);
        let wall: f64 = runs.iter().map(|r| r.elapsed.as_secs_f64()).sum();
        println!(
            "plugin CPU during the runs: {cpu:.1} s in {wall:.1} s ({:.2} cores; {:.2} ms per request, scraping included)",
            cpu / wall,
            cpu * 1000.0 / requests as f64
        );
    }
    let growth = match (
        rss_after.first().copied().flatten(),
        rss_after.last().copied().flatten(),
    ) {
        (Some(a), Some(b)) => format!("{:+.1} MiB", (b as f64 - a as f64) / 1024.0),
        _ => "?".to_string(),
    };
    let after: Vec<String> = rss_after.iter().map(|k| procfs::mib(*k)).collect();
    println!(
        "plugin memory: peak (VmHWM) {}, RSS before load {}, after each run {} (growth run 1 -> run {repeats}: {growth}; the store keeps growing with the scrapes)",
        procfs::mib(hwm),
        procfs::mib(rss_before),
        after.join(", ")
    );
    plugin.stop().await?;
    drop(sims);
    let errors = baseline.errors.len() + runs.iter().map(|r| r.errors.len()).sum::<usize>();
    if errors > 0 {
        return Err(format!("{errors} queries failed"));
    }
    Ok(())
}

fn main() {
    support::bench_main("load", run());
}

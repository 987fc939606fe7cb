//! The embedded history and the PromQL evaluator of direct mode, measured
//! against Prometheus 2.42 on the same samples in the same run:
//! bytes per sample, ingest throughput, and the whole overview dashboard
//! (1 h at a 15 s step over 16 simulated vLLM targets) evaluated directly
//! versus answered by Prometheus over HTTP.
//!
//! Memory is weighed three ways: the store's own estimate, the heap it
//! really holds (a counting global allocator: live bytes before dropping the
//! store minus after), and, as a baseline built in the same run, the heap of
//! the plain representation of the same label sets (owned `(String,
//! String)` pairs per series, no lookup tables), which is what the store
//! held per series before label interning.
//!
//! Run with `cargo bench --bench store`; needs `prometheus` and `promtool`.

#[path = "alloc/mod.rs"]
mod alloc;
#[path = "../tests/common/prometheus.rs"]
mod prometheus;

#[global_allocator]
static HEAP: alloc::Counting = alloc::Counting;

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::{Duration, Instant};
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::eval;
use vllm_grafana::exposition::{Entry, Parser};
use vllm_grafana::promql::inspect::interpolate;
use vllm_grafana::scrape::{is_created_series, ScrapeSamples};
use vllm_grafana::simulator::{SimConfig, Simulator};
use vllm_grafana::store::{Store, StoreConfig, TargetKey};

const TARGETS: usize = 16;
const SCRAPES: i64 = 240; // one hour at 15 s
const STEP_MS: i64 = 15_000;
const BASE_MS: i64 = 1_700_000_000_000;
const RUNS: usize = 3;
/// Target for the store's bytes per sample, label index included.
const TARGET_BYTES_PER_SAMPLE: f64 = 2.0;

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn value(v: f64) -> String {
    match v {
        v if v.is_nan() => "NaN".into(),
        f64::INFINITY => "+Inf".into(),
        f64::NEG_INFINITY => "-Inf".into(),
        v => format!("{v:?}"),
    }
}

/// Appends one scrape to the OpenMetrics file Prometheus will import.
fn openmetrics(out: &mut String, text: &str, key: &TargetKey, ts: i64) {
    for entry in Parser::new(text) {
        let Ok(Entry::Sample(s)) = entry else {
            continue;
        };
        if is_created_series(s.name) {
            continue;
        }
        let _ = write!(
            out,
            "{}{{job=\"{}\",instance=\"{}\"",
            s.name, key.job, key.instance
        );
        for (k, v) in s.labels.iter() {
            let _ = write!(out, ",{k}=\"{}\"", escape(&v));
        }
        let _ = writeln!(out, "}} {} {}.{:03}", value(s.value), ts / 1000, ts % 1000);
    }
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        last = Some(r);
    }
    (best, last.expect("at least one run"))
}

/// `targets` simulated servers, one model and two engines each, cycling
/// through `versions`.
fn simulators(versions: &[&str], targets: usize) -> Vec<(TargetKey, Simulator)> {
    (0..targets)
        .map(|i| {
            let cfg = SimConfig {
                version: versions[i % versions.len()].parse().expect("known release"),
                models: 1,
                engines: 2,
                seed: i as u64 + 1,
                requests_per_second: 4.0,
                ..SimConfig::default()
            };
            (
                TargetKey::new("vllm", format!("gpu-{i:02}:8000")),
                Simulator::new(&cfg).expect("valid config"),
            )
        })
        .collect()
}

/// Bytes per sample of a store past its first blocks: `targets` targets
/// scraped for three sealed blocks and a bit of the open one, weighed by
/// the counting allocator. Returns (bytes/sample, bytes/series).
fn steady_state(versions: &[&str], targets: usize) -> (f64, f64) {
    let mut sims = simulators(versions, targets);
    let store = Store::new(StoreConfig::default());
    let rows = 3 * vllm_grafana::store::BLOCK_ROWS as i64 + 20;
    for i in 0..rows {
        for (n, (key, sim)) in sims.iter_mut().enumerate() {
            sim.advance(Duration::from_millis(STEP_MS as u64));
            let ts = BASE_MS + i * STEP_MS + (n as i64 * 53) % 400;
            let text = sim.render();
            store
                .ingest(key, ts, ScrapeSamples::new(&text))
                .expect("in order");
        }
    }
    let stats = store.stats();
    let heap = alloc::weigh(store) as f64;
    (
        heap / stats.samples.max(1) as f64,
        heap / stats.series.max(1) as f64,
    )
}

fn main() {
    let versions = ["0.33", "0.11", "0.20", "0.7"];
    let steady = steady_state(&versions, 4);
    let mut sims = simulators(&versions, TARGETS);

    let dir = tempfile::tempdir().expect("tempdir");
    let om_path = dir.path().join("history.om");
    let mut om = std::io::BufWriter::new(std::fs::File::create(&om_path).expect("create"));
    let store = Store::new(StoreConfig::default());
    let (mut ingest_time, mut ingested) = (Duration::ZERO, 0usize);
    let mut buf = String::new();
    for i in 0..SCRAPES {
        for (n, (key, sim)) in sims.iter_mut().enumerate() {
            sim.advance(Duration::from_millis(STEP_MS as u64));
            let ts = BASE_MS + i * STEP_MS + (n as i64 * 53) % 400;
            let text = sim.render();
            let t = Instant::now();
            let stats = store
                .ingest(key, ts, ScrapeSamples::new(&text))
                .expect("in order");
            ingest_time += t.elapsed();
            ingested += stats.samples;
            buf.clear();
            openmetrics(&mut buf, &text, key, ts);
            om.write_all(buf.as_bytes()).expect("write");
        }
    }
    om.write_all(b"# EOF\n").expect("write");
    drop(om);
    let stats = store.stats();

    let data = dir.path().join("data");
    let t = Instant::now();
    prometheus::create_blocks(&om_path, &data).unwrap_or_else(|e| panic!("{e}"));
    let import = t.elapsed();
    let prom = prometheus::Prometheus::start_on_data(&data);

    let board = dashboard::overview(DatasourceFlavor::Prometheus);
    let queries: Vec<String> = dashboard::panels_queries(&board)
        .iter()
        .map(|q| interpolate(&q.expr, dashboard::default_value))
        .collect();
    let (start, end) = (BASE_MS, BASE_MS + (SCRAPES - 1) * STEP_MS);
    // Warm both up once (Prometheus loads block indexes lazily).
    for q in &queries {
        let _ = prom.query_range(q, start, end, STEP_MS);
        let _ = eval::range(&store, q, start, end, STEP_MS);
    }
    let (direct, direct_points) = best_of(RUNS, || {
        queries
            .iter()
            .map(|q| {
                eval::range(&store, q, start, end, STEP_MS)
                    .map(|m| m.iter().map(|s| s.points.len()).sum::<usize>())
                    .unwrap_or(0)
            })
            .sum::<usize>()
    });
    let (prometheus, prom_points) = best_of(RUNS, || {
        queries
            .iter()
            .map(|q| {
                prom.query_range(q, start, end, STEP_MS)
                    .ok()
                    .and_then(|v| {
                        v["result"].as_array().map(|r| {
                            r.iter()
                                .map(|s| s["values"].as_array().map_or(0, Vec::len))
                                .sum::<usize>()
                        })
                    })
                    .unwrap_or(0)
            })
            .sum::<usize>()
    });

    // The same label sets held the plain way, then the store itself.
    let naive_labels = {
        let all = store.select(&[], i64::MIN, i64::MAX);
        let sets: Vec<Vec<(String, String)>> = all
            .iter()
            .map(|s| {
                s.labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .collect();
        drop(all);
        alloc::weigh(sets)
    };
    let store_heap = alloc::weigh(store);
    let series = stats.series.max(1) as f64;
    let samples = stats.samples.max(1) as f64;
    let estimate = (stats.chunk_bytes + stats.index_bytes) as f64;

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("direct mode: store and evaluator vs Prometheus 2.42, same samples");
    println!("{TARGETS} targets x {SCRAPES} scrapes at 15 s (vLLM {versions:?}, 1 model x 2 engines each)");
    println!("{:<44} {:>14}", "measure", "value");
    println!("{:<44} {:>14}", "samples stored", stats.samples);
    println!("{:<44} {:>14}", "series", stats.series);
    println!(
        "{:<44} {:>14.3}",
        "bytes/sample (compressed chunks)",
        stats.bytes_per_sample()
    );
    println!(
        "{:<44} {:>14.3}",
        "bytes/sample incl. label index (estimate)",
        estimate / samples
    );
    println!(
        "{:<44} {:>14.3}",
        "bytes/sample, whole store heap (counted)",
        store_heap as f64 / samples
    );
    println!(
        "{:<44} {:>14}",
        "target bytes/sample incl. index",
        format!(
            "<= {TARGET_BYTES_PER_SAMPLE} {}",
            if store_heap as f64 / samples <= TARGET_BYTES_PER_SAMPLE {
                "met"
            } else {
                "MISSED"
            }
        )
    );
    println!(
        "{:<44} {:>14.3}",
        "same, 4 targets x 3 sealed blocks + 20 rows", steady.0
    );
    println!(
        "{:<44} {:>14.0}",
        "index bytes/series (estimate)",
        stats.index_bytes as f64 / series
    );
    println!(
        "{:<44} {:>14.0}",
        "store heap bytes/series (counted)",
        store_heap as f64 / series
    );
    println!(
        "{:<44} {:>14}",
        "interned strings (all targets)", stats.interned_strings
    );
    println!(
        "{:<44} {:>14.0}",
        "baseline: plain label sets alone, B/series",
        naive_labels as f64 / series
    );
    println!(
        "{:<44} {:>13.2}x",
        "plain label sets / whole store index",
        naive_labels as f64 / stats.index_bytes.max(1) as f64
    );
    println!(
        "{:<44} {:>14.0}",
        "ingest: text -> store (samples/s)",
        ingested as f64 / ingest_time.as_secs_f64()
    );
    println!(
        "{:<44} {:>14.1}",
        "promtool import (ms, for reference)",
        ms(import)
    );
    println!(
        "{:<44} {:>14}",
        "dashboard queries (1 h, step 15 s)",
        queries.len()
    );
    println!(
        "{:<44} {:>14}",
        "points returned (direct / Prometheus)",
        format!("{direct_points} / {prom_points}")
    );
    println!(
        "{:<44} {:>14.1}",
        "direct evaluation, all queries (ms)",
        ms(direct)
    );
    println!(
        "{:<44} {:>14.1}",
        "Prometheus query_range, all queries (ms)",
        ms(prometheus)
    );
    println!(
        "{:<44} {:>13.2}x",
        "speed-up (target >= 2x)",
        prometheus.as_secs_f64() / direct.as_secs_f64()
    );
}

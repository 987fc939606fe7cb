//! The Fleet dashboard on recording rules against the same panels on raw
//! series, on one real Prometheus holding a day of a large fleet:
//! 64 data-parallel engines (16 simulated vLLM servers × 4 engines, 4
//! models), 24 h scraped every 30 s, imported with promtool, and the
//! recording rules backfilled over the same day with
//! `promtool tsdb create-blocks-from rules`.
//!
//! For each dashboard, every panel query runs as Grafana sends it
//! (`query_range`, 24 h at a 60 s step, `stats=all`); the bench prints the
//! whole dashboard's wall time, Prometheus's evaluation time and the
//! samples it touched, and the raw/recorded ratios. The raw panels use
//! Grafana's `$__rate_interval` for that step (90 s).
//!
//! `cargo bench --bench recording` (about 5–10 minutes on 2 cores; smaller
//! with `VLLM_BENCH_SERVERS=4 VLLM_BENCH_HOURS=6`).

#[path = "../tests/common/prometheus.rs"]
mod prometheus;

use prometheus::{create_blocks, Data, Prometheus, NO_SCRAPES};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use vllm_grafana::alerts::{recording, AlertConfig};
use vllm_grafana::catalog::names;
use vllm_grafana::dashboard::{self, fleet::Source};
use vllm_grafana::promql::inspect::interpolate;
use vllm_grafana::simulator::{SimConfig, Simulator};

const ENGINES_PER_SERVER: usize = 4;
const MODELS: usize = 4;
const SCRAPE: Duration = Duration::from_secs(30);
const STEP_S: i64 = 60;
/// Grafana's `$__rate_interval` for a 60 s step and a 30 s scrape interval:
/// max(step + scrape, 4 × scrape).
const RATE_INTERVAL: &str = "90s";
const ROUNDS: usize = 3;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Families the Fleet dashboard reads, raw.
fn wanted(series: &str) -> bool {
    let name = series.split('{').next().unwrap_or(series);
    let recorded = recording::recorded();
    recorded.iter().any(|r| {
        let m = r.metric();
        name == m
            || vllm_grafana::promql::counterpart(r.base)
                .is_some_and(|old| name == format!("{old}{}", r.suffix))
    }) || [names::NUM_REQUESTS_RUNNING, names::NUM_REQUESTS_WAITING].contains(&name)
}

/// Writes the fleet's history as OpenMetrics; returns the sample count.
fn write_history(path: &Path, servers: usize, start_ms: i64, end_ms: i64) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut samples = 0;
    let scrapes = (end_ms - start_ms) / SCRAPE.as_millis() as i64;
    let mut sims: Vec<(Simulator, String)> = (0..servers)
        .map(|i| {
            let cfg = SimConfig {
                models: 1,
                engines: ENGINES_PER_SERVER,
                requests_per_second: 8.0,
                seed: i as u64 + 1,
                ..SimConfig::default()
            };
            let start = UNIX_EPOCH + Duration::from_millis(start_ms as u64);
            let sim = Simulator::new(&cfg)
                .expect("simulator")
                .with_start_time(start);
            let model = sim.model_names()[0].clone();
            (sim, model)
        })
        .collect();
    for step in 1..=scrapes {
        let t_ms = start_ms + step * SCRAPE.as_millis() as i64;
        let ts = format!("{}.{:03}", t_ms / 1000, t_ms % 1000);
        for (i, (sim, model)) in sims.iter_mut().enumerate() {
            sim.advance(SCRAPE);
            let target = format!("instance=\"gpu-{i:02}:8000\",job=\"vllm\"");
            let served = format!("model_name=\"model-{}\"", i % MODELS);
            for line in sim.render().lines() {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let Some((series, value)) = line.rsplit_once(' ') else {
                    continue;
                };
                if !wanted(series) {
                    continue;
                }
                let series = series.replace(&format!("model_name=\"{model}\""), &served);
                let series = match series.split_once('{') {
                    Some((name, labels)) => format!("{name}{{{target},{labels}"),
                    None => format!("{series}{{{target}}}"),
                };
                writeln!(out, "{series} {value} {ts}")?;
                samples += 1;
            }
        }
    }
    writeln!(out, "# EOF")?;
    out.flush()?;
    Ok(samples)
}

struct Totals {
    wall_s: f64,
    eval_s: f64,
    samples: f64,
    queries: usize,
}

/// Runs every panel query of `d` over [start, end] once.
fn run_dashboard(prom: &Prometheus, d: &dashboard::Dashboard, start_s: i64, end_s: i64) -> Totals {
    let mut t = Totals {
        wall_s: 0.0,
        eval_s: 0.0,
        samples: 0.0,
        queries: 0,
    };
    for q in dashboard::panels_queries(d) {
        let expr = interpolate(&q.expr, |v| match v {
            "job" | "instance" | "model_name" | "engine" => Some(".*".to_string()),
            "__rate_interval" => Some(RATE_INTERVAL.to_string()),
            _ => None,
        });
        let begin = Instant::now();
        let data = prom
            .api(
                "query_range",
                &[
                    ("query", expr.clone()),
                    ("start", start_s.to_string()),
                    ("end", end_s.to_string()),
                    ("step", STEP_S.to_string()),
                    ("stats", "all".to_string()),
                ],
            )
            .unwrap_or_else(|e| panic!("{}: {e}", q.panel_title));
        t.wall_s += begin.elapsed().as_secs_f64();
        t.eval_s += data["stats"]["timings"]["evalTotalTime"]
            .as_f64()
            .unwrap_or(0.0);
        t.samples += data["stats"]["samples"]["totalQueryableSamples"]
            .as_f64()
            .unwrap_or(0.0);
        t.queries += 1;
        if data["result"].as_array().is_none_or(Vec::is_empty) {
            eprintln!("note: {} ({}) has no series", q.panel_title, q.ref_id);
        }
    }
    t
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let servers = env_or("VLLM_BENCH_SERVERS", 16);
    let hours = env_or("VLLM_BENCH_HOURS", 24) as i64;
    let now_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    // Whole hours, an hour back: promtool writes no block that reaches now.
    let end_s = (now_s / 3600 - 1) * 3600;
    let start_s = end_s - hours * 3600;
    let dir = tempfile::tempdir().expect("tempdir");

    let begin = Instant::now();
    let history = dir.path().join("history.om");
    let samples = write_history(&history, servers, start_s * 1000, end_s * 1000).expect("history");
    println!(
        "fleet: {servers} servers × {ENGINES_PER_SERVER} engines = {} engines, {MODELS} models, {hours} h every {}s: {samples} raw samples written in {:.0} s",
        servers * ENGINES_PER_SERVER,
        SCRAPE.as_secs(),
        begin.elapsed().as_secs_f64()
    );
    let data = dir.path().join("data");
    let begin = Instant::now();
    create_blocks(&history, &data).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(&history).ok();
    println!(
        "imported with promtool in {:.0} s",
        begin.elapsed().as_secs_f64()
    );

    // Backfill the 5m rules the dashboard reads, evaluated every 30 s.
    let rules = dir.path().join("recording.yml");
    let five =
        recording::recording_rules_yaml_over(&AlertConfig::default(), &[dashboard::fleet::WINDOW])
            .expect("rules");
    std::fs::write(&rules, five).expect("rules");
    let out = dir.path().join("rule-blocks");
    let begin = Instant::now();
    {
        let prom = Prometheus::launch(
            NO_SCRAPES,
            Data::Existing(&data),
            &["--storage.tsdb.retention.time=100y"],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let promtool = prometheus::binary().with_file_name("promtool");
        let run = Command::new(&promtool)
            .args(["tsdb", "create-blocks-from", "rules"])
            .arg(format!("--start={start_s}"))
            .arg(format!("--end={end_s}"))
            .arg(format!("--output-dir={}", out.display()))
            .arg(format!("--eval-interval={}", recording::INTERVAL))
            .arg(format!("--url={}", prom.url()))
            .arg(&rules)
            .output()
            .expect("promtool");
        assert!(
            run.status.success(),
            "rule backfill failed: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    for entry in std::fs::read_dir(&out).expect("rule blocks") {
        let entry = entry.expect("entry");
        std::fs::rename(entry.path(), data.join(entry.file_name())).expect("move block");
    }
    println!(
        "recording rules backfilled in {:.0} s",
        begin.elapsed().as_secs_f64()
    );

    let prom = Prometheus::launch(
        NO_SCRAPES,
        Data::Existing(&data),
        &["--storage.tsdb.retention.time=100y"],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let raw = dashboard::fleet(Source::Raw);
    let recorded = dashboard::fleet(Source::Recorded);
    // One warm-up round each, then the measured rounds.
    run_dashboard(&prom, &raw, start_s, end_s);
    run_dashboard(&prom, &recorded, start_s, end_s);
    let mut results = Vec::new();
    for (name, d) in [("raw series", &raw), ("recording rules", &recorded)] {
        let rounds: Vec<Totals> = (0..ROUNDS)
            .map(|_| run_dashboard(&prom, d, start_s, end_s))
            .collect();
        let wall = median(rounds.iter().map(|t| t.wall_s).collect());
        let eval = median(rounds.iter().map(|t| t.eval_s).collect());
        let samples = rounds[0].samples;
        println!(
            "{name:>16}: {} queries, whole dashboard {wall:.3} s wall, {eval:.3} s evaluation, {samples:.0} samples touched (median of {ROUNDS})",
            rounds[0].queries
        );
        results.push((wall, eval, samples));
    }
    let (raw_r, rec_r) = (results[0], results[1]);
    println!(
        "raw / recorded: wall {:.1}×, evaluation {:.1}×, samples {:.1}×",
        raw_r.0 / rec_r.0,
        raw_r.1 / rec_r.1,
        raw_r.2 / rec_r.2
    );
}

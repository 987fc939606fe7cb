//! Direct mode's scrape fan-out: the real `gpx_vllm` process scrapes 1000
//! loopback targets every 5 s. Measured: the plugin's CPU seconds per round
//! (utime + stime from /proc/<pid>/stat over several rounds, minus its idle
//! CPU measured before), which must fit in one core's 5 s, and its memory.
//! Baseline, measured in the same run: parsing and ingesting the same 1000
//! bodies in-process into a store, without HTTP.
//!
//! The 1000 targets are served by this process: one listener each on
//! 127.0.0.1, answering with pre-rendered simulated vLLM 0.33 pages (one
//! model, one engine), a different page every scrape (16 pages 5 s of
//! simulated time apart), so counters move as on a real server.
//!
//! Memory: the plugin's resident set per stored series (target: at most
//! 1 KiB at 1000 targets), and the baseline store's heap per series,
//! weighed exactly with a counting global allocator (live bytes before
//! dropping the store minus after).
//!
//! `cargo bench --bench fanout`; `FANOUT_ROUNDS` (default 6),
//! `FANOUT_TARGETS` (default 1000). Needs `ulimit -n` above 2 x targets.

#[path = "alloc/mod.rs"]
mod alloc;
#[path = "../tests/support/mod.rs"]
mod support;

#[global_allocator]
static HEAP: alloc::Counting = alloc::Counting;

use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::grafana::{data_query, Datasource, Plugin};
use support::procfs;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vllm_grafana::scrape::ScrapeSamples;
use vllm_grafana::simulator::{SimConfig, Simulator};
use vllm_grafana::store::{Store, StoreConfig, TargetKey};

const INTERVAL: Duration = Duration::from_secs(5);
const PAGES: usize = 16;
/// Target for the plugin's resident bytes per series at 1000 targets.
const TARGET_RSS_PER_SERIES: f64 = 1024.0;

/// The soft limit on open files of this process.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// Each page as a complete HTTP answer.
type Answers = Arc<Vec<Vec<u8>>>;

/// The pages, and each as a complete HTTP answer.
fn pages() -> Result<(Vec<String>, Answers), String> {
    let cfg = SimConfig {
        models: 1,
        engines: 1,
        requests_per_second: 20.0,
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(&cfg).map_err(|e| e.to_string())?;
    sim.advance(Duration::from_secs(3600));
    let mut texts = Vec::with_capacity(PAGES);
    let mut answers = Vec::with_capacity(PAGES);
    for _ in 0..PAGES {
        sim.advance(INTERVAL);
        let body = sim.render();
        let mut answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        answer.extend_from_slice(body.as_bytes());
        texts.push(body);
        answers.push(answer);
    }
    Ok((texts, Arc::new(answers)))
}

/// Serves the pages on `listener`, keep-alive, the next page each request.
async fn serve(listener: TcpListener, answers: Answers, offset: usize) {
    while let Ok((mut conn, _)) = listener.accept().await {
        let answers = Arc::clone(&answers);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut n = offset;
            loop {
                // One request head (GET, no body), possibly in several reads.
                let mut have = 0;
                loop {
                    match conn.read(&mut buf[have..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => have += k,
                    }
                    if buf[..have].windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                    if have == buf.len() {
                        return;
                    }
                }
                if conn.write_all(&answers[n % answers.len()]).await.is_err() {
                    return;
                }
                n += 1;
            }
        });
    }
}

/// The one value of an instant query, or why there is none.
async fn scalar(plugin: &Plugin, ds: &Datasource, expr: &str) -> Result<f64, String> {
    let now = support::now_ms();
    let resp = plugin
        .query(
            ds,
            vec![data_query(
                "A",
                json!({"expr": expr, "instant": true}),
                now - 60_000,
                now,
            )],
        )
        .await?;
    let frames = support::frames::frames_of(&resp, "A")
        .map_err(|e| format!("{expr}: {e}: {}", support::frames::error_of(&resp, "A")))?;
    frames
        .first()
        .and_then(|f| f.fields.get(1))
        .and_then(|f| f.numbers().first().copied().flatten())
        .ok_or_else(|| format!("{expr}: no value"))
}

/// What the in-process baseline measured.
struct Baseline {
    /// Median CPU seconds of one round.
    cpu_per_round: f64,
    series: usize,
    store_mib: f64,
    rss_growth_kib: Option<i64>,
    /// The store's heap, counted by the allocator.
    store_heap: usize,
}

/// Parse + ingest of `targets` bodies per round, in-process on one thread.
fn in_process(
    texts: &[String],
    targets: usize,
    rounds: usize,
    ticks: f64,
) -> Result<Baseline, String> {
    let rss_before = procfs::status_kib(std::process::id(), "VmRSS");
    let store = Store::new(StoreConfig::default());
    let keys: Vec<TargetKey> = (0..targets)
        .map(|i| TargetKey::new("vllm", format!("127.0.0.1:{}", 20_000 + i)))
        .collect();
    let base = support::now_ms();
    let mut per_round = Vec::with_capacity(rounds);
    for round in 0..rounds + 1 {
        let ts = base + (round as i64) * INTERVAL.as_millis() as i64;
        let started = procfs::cpu_seconds("/proc/thread-self/stat", ticks)?;
        for (i, key) in keys.iter().enumerate() {
            let text = &texts[(i + round) % texts.len()];
            // As the scraper does: count against the limit, then ingest.
            let samples = ScrapeSamples::new(text).count();
            std::hint::black_box(samples);
            store
                .ingest(key, ts, ScrapeSamples::new(text))
                .map_err(|e| format!("ingest: {e}"))?;
        }
        // The first round creates the series; the scraper's steady state is the rest.
        if round > 0 {
            per_round.push(procfs::cpu_seconds("/proc/thread-self/stat", ticks)? - started);
        }
    }
    per_round.sort_by(f64::total_cmp);
    let stats = store.stats();
    let rss_after = procfs::status_kib(std::process::id(), "VmRSS");
    let store_heap = alloc::weigh(store);
    Ok(Baseline {
        cpu_per_round: per_round[per_round.len() / 2],
        series: stats.series,
        store_mib: (stats.chunk_bytes + stats.index_bytes) as f64 / (1 << 20) as f64,
        rss_growth_kib: rss_before.zip(rss_after).map(|(a, b)| b as i64 - a as i64),
        store_heap,
    })
}

async fn run() -> Result<(), String> {
    let targets = procfs::env_usize("FANOUT_TARGETS", 1000).max(1);
    let rounds = procfs::env_usize("FANOUT_ROUNDS", 6).max(1);
    let needed = 2 * targets as u64 + 200;
    match open_files_limit() {
        Some(n) if n < needed => {
            return Err(format!(
                "open files limit {n} is below {needed}: raise it (ulimit -n 20000)"
            ))
        }
        _ => {}
    }
    let ticks = procfs::clock_ticks();
    let (texts, answers) = pages()?;
    let bytes = texts[0].len();
    let samples = ScrapeSamples::new(&texts[0]).count();

    let mut urls = Vec::with_capacity(targets);
    let mut servers = Vec::with_capacity(targets);
    for i in 0..targets {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("bind listener {i}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        urls.push(format!("http://{addr}/metrics"));
        servers.push(tokio::spawn(serve(listener, Arc::clone(&answers), i)));
    }

    let plugin = Plugin::start().await?;
    let pid = plugin.pid();
    // Idle: the plugin serving nothing.
    let idle_window = Duration::from_secs(3);
    let c0 = procfs::process_cpu_seconds(pid, ticks)?;
    tokio::time::sleep(idle_window).await;
    let idle_per_sec = (procfs::process_cpu_seconds(pid, ticks)? - c0) / idle_window.as_secs_f64();

    let ds = Datasource::prometheus("")
        .uid("fanout")
        .json("mode", json!("direct"))
        .json("timeInterval", serde_json::Value::Null)
        .json("targets", json!(urls))
        .json("scrapeInterval", json!("5s"))
        .json("timeout", json!(5));
    // The first query scrapes every target once and starts the 5 s loop.
    let first = Instant::now();
    let up = scalar(&plugin, &ds, "count(up == 1)").await?;
    let first_round = first.elapsed();
    if up as usize != targets {
        return Err(format!(
            "{up} of {targets} targets up after the first scrape"
        ));
    }
    // One more round with the connections open, then measure.
    tokio::time::sleep(INTERVAL).await;
    let window = INTERVAL * rounds as u32;
    let start_ms = support::now_ms();
    let c1 = procfs::process_cpu_seconds(pid, ticks)?;
    let t1 = Instant::now();
    tokio::time::sleep(window).await;
    let c2 = procfs::process_cpu_seconds(pid, ticks)?;
    let elapsed = t1.elapsed().as_secs_f64();
    let end_ms = support::now_ms();
    let busy = (c2 - c1) - idle_per_sec * elapsed;
    // How many scrapes really happened in the window, and how they went.
    let span_s = ((end_ms - start_ms) / 1000).max(1);
    let scrapes = scalar(
        &plugin,
        &ds,
        &format!("sum(count_over_time(up[{span_s}s]))"),
    )
    .await?;
    let up_scrapes = scalar(&plugin, &ds, &format!("sum(sum_over_time(up[{span_s}s]))")).await?;
    let failed = scrapes - up_scrapes;
    let slowest = scalar(&plugin, &ds, "max(scrape_duration_seconds)").await?;
    let stored = scalar(&plugin, &ds, "sum(scrape_samples_scraped)").await?;
    let measured_rounds = scrapes / targets as f64;
    let per_round = busy / measured_rounds.max(1.0);
    let hwm = procfs::status_kib(pid, "VmHWM");
    let rss = procfs::status_kib(pid, "VmRSS");
    plugin.stop().await?;
    for s in &servers {
        s.abort();
    }

    let texts_for_baseline = texts.clone();
    let baseline = tokio::task::spawn_blocking(move || {
        in_process(&texts_for_baseline, targets, rounds, ticks)
    })
    .await
    .map_err(|e| e.to_string())??;
    println!(
        "direct mode scrape fan-out: {targets} loopback targets every 5 s, {bytes} bytes and {samples} samples per page (simulated vLLM 0.33, 1 model)"
    );
    println!(
        "first round (query-triggered, new connections): {:.2} s wall; slowest scrape last round {:.3} s; {stored} samples per round stored",
        first_round.as_secs_f64(),
        slowest
    );
    println!(
        "measured {elapsed:.1} s: {scrapes} scrapes ({measured_rounds:.2} rounds, {failed} failed), plugin CPU {:.2} s, idle {:.4} CPU s/s",
        c2 - c1,
        idle_per_sec
    );
    println!(
        "plugin CPU per round: {per_round:.3} s of the 5 s one core has ({:.0}% of a core); {}",
        per_round / INTERVAL.as_secs_f64() * 100.0,
        if per_round < INTERVAL.as_secs_f64() {
            "fits"
        } else {
            "DOES NOT FIT"
        }
    );
    println!(
        "baseline, parse + ingest of the same {targets} pages in-process (one thread, no HTTP): {:.3} CPU s per round; plugin / baseline {:.2}x",
        baseline.cpu_per_round,
        per_round / baseline.cpu_per_round
    );
    println!(
        "baseline store after {} rounds: {} series, {:.1} MiB by its own estimate, bench RSS growth {}",
        rounds + 1,
        baseline.series,
        baseline.store_mib,
        procfs::mib(baseline.rss_growth_kib.map(|k| k.max(0) as u64))
    );
    println!(
        "baseline store heap (counting allocator): {:.1} MiB, {:.0} bytes per series",
        baseline.store_heap as f64 / (1 << 20) as f64,
        baseline.store_heap as f64 / baseline.series.max(1) as f64
    );
    println!(
        "plugin memory: peak (VmHWM) {}, RSS after {} rounds {}",
        procfs::mib(hwm),
        measured_rounds.round() as usize + 2,
        procfs::mib(rss)
    );
    if let Some(rss) = rss {
        // The plugin stores the same series as the baseline (plus a few
        // synthetic ones per target, left out here).
        let per_series = rss as f64 * 1024.0 / baseline.series.max(1) as f64;
        println!(
            "plugin resident bytes per series: {per_series:.0} (target <= {TARGET_RSS_PER_SERIES:.0}: {})",
            if per_series <= TARGET_RSS_PER_SERIES {
                "met"
            } else {
                "MISSED"
            }
        );
    }
    if per_round >= INTERVAL.as_secs_f64() {
        return Err("a scrape round does not fit in one core's 5 s".to_string());
    }
    if failed > 0.0 {
        return Err(format!("{failed} scrapes failed"));
    }
    Ok(())
}

fn main() {
    support::bench_main("fanout", run());
}

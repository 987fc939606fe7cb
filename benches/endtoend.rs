//! The whole Overview dashboard, end to end, on the same samples in one run:
//! direct mode (QueryData over gRPC to the real `gpx_vllm`, Arrow frames
//! back), Prometheus 2.42's `query_range` and the plugin in Prometheus mode
//! in front of it, VictoriaMetrics' `query_range` and the plugin in front of
//! it. Two windows, as Grafana asks: 1 h at a 15 s step and 24 h at a 60 s
//! step, over 16 targets.
//!
//! The samples: one OpenMetrics file written from 16 simulated vLLM servers
//! (one model, one engine each; a scrape every 15 s for 24 h; only the
//! families the dashboard reads, plus `up`). Prometheus imports it with
//! `promtool tsdb create-blocks-from openmetrics` (24 h blocks),
//! VictoriaMetrics with its text import API (millisecond timestamps, the
//! same digits), and direct mode with the plugin's test hook
//! `VLLM_GRAFANA_DIRECT_HISTORY` (`src/plugin/history.rs`), which stores
//! every line under its target as a scrape would; the targets are 16 live
//! simulators on loopback, so the scrape loops run during the measurement
//! as they would in production (their samples land after the windows).
//! VictoriaMetrics runs with `-search.disableCache` (its rollup cache would
//! answer every repeated refresh from memory; neither Prometheus nor direct
//! mode has one) and `-search.latencyOffset=0`. Before timing, the bench
//! checks that all of them hold the same number of samples and answer a few
//! panels with the same series, and aborts if not.
//!
//! One refresh = every panel of the dashboard, one request per panel (its
//! queries together, as Grafana sends them), `VLLM_BENCH_IN_FLIGHT`
//! (default 6, a browser's connections per host) panels at a time; the raw
//! paths send each panel's queries concurrently, as the plugin runs them.
//! Rounds interleave the paths (rotating which goes first) and the
//! windows; printed are the median and p90 per path and the ratios to
//! Prometheus' raw `query_range`, measured in the same rounds. Also printed:
//! direct mode's evaluation in this process on the same samples (the same
//! concurrency, and one query at a time), without gRPC or frames.
//!
//! `cargo bench --bench endtoend` (needs `prometheus`, `promtool` and
//! Debian's `victoria-metrics`; about 10-15 minutes on 2 cores, about 4 GB
//! of temporary disk). Smaller: `VLLM_BENCH_TARGETS=4 VLLM_BENCH_HOURS=2`;
//! `VLLM_BENCH_ROUNDS` (default 10) and `VLLM_BENCH_BUDGET_SECONDS`
//! (default 420, the measured rounds stop after it) bound the timing.

#[path = "../tests/support/mod.rs"]
mod support;

use futures_util::{StreamExt, TryStreamExt};
use grafana_plugin_sdk::pluginv2;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};
use support::grafana::{data_query_every, Datasource, Plugin};
use support::server::{Data, Prometheus, NO_SCRAPES};
use support::victoria::Victoria;
use support::vllm::Simulator;
use vllm_grafana::catalog::names;
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::eval;
use vllm_grafana::plugin::history;
use vllm_grafana::plugin::interval::{self, StepInputs};
use vllm_grafana::promql::inspect;
use vllm_grafana::simulator::{self, SimConfig};
use vllm_grafana::store::{Store, StoreConfig, TargetKey};

const JOB: &str = "vllm";
const SCRAPE: Duration = Duration::from_secs(15);
const MODELS: usize = 4;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A dashboard time range as Grafana sends it.
#[derive(Clone, Copy)]
struct Window {
    label: &'static str,
    start_ms: i64,
    end_ms: i64,
    step_ms: i64,
    /// Panel width: enough points that the step is `step_ms`.
    max_data_points: i64,
}

impl Window {
    fn new(label: &'static str, end_ms: i64, span: Duration, step: Duration) -> Window {
        let span_ms = span.as_millis() as i64;
        let step_ms = step.as_millis() as i64;
        Window {
            label,
            start_ms: end_ms - span_ms,
            end_ms,
            step_ms,
            max_data_points: span_ms / step_ms + 60,
        }
    }

    /// The expression the plugin sends for `expr` (Grafana's `$__` variables).
    fn expand(&self, expr: &str) -> String {
        let scrape = format!("{}s", SCRAPE.as_secs());
        let inputs = StepInputs {
            from_ms: self.start_ms,
            to_ms: self.end_ms,
            interval_ms: self.step_ms,
            max_data_points: self.max_data_points,
            min_step: "",
            interval_factor: 0,
            scrape_interval: &scrape,
        };
        let step = Duration::from_millis(self.step_ms as u64);
        interval::expand_variables(expr, &inputs, step)
    }

    fn query(&self, ref_id: &str, model: Value) -> pluginv2::DataQuery {
        let mut q = data_query_every(ref_id, model, self.start_ms, self.end_ms, self.step_ms);
        q.max_data_points = self.max_data_points;
        if let Ok(mut m) = serde_json::from_slice::<Value>(&q.json) {
            m["maxDataPoints"] = json!(self.max_data_points);
            q.json = serde_json::to_vec(&m).unwrap_or_default();
        }
        q
    }
}

/// One query of a panel: Grafana's model (user variables filled in) and
/// the expression with `$__` variables expanded, per window.
struct Query {
    label: String,
    ref_id: String,
    instant: bool,
    model: Value,
    sent: Vec<String>,
}

struct Panel {
    queries: Vec<Query>,
}

/// Grafana's values with every job, instance, model and engine selected.
fn variable(name: &str) -> Option<String> {
    match name {
        n if n.starts_with("__") => None,
        "job" | "instance" | "model_name" | "engine" => Some(".*".to_string()),
        other => dashboard::default_value(other),
    }
}

fn overview_panels(windows: &[Window]) -> Vec<Panel> {
    let board = dashboard::overview(DatasourceFlavor::Prometheus);
    dashboard::panels(&board)
        .filter(|p| !p.targets.is_empty())
        .map(|p| Panel {
            queries: p
                .targets
                .iter()
                .map(|t| {
                    let expr = inspect::interpolate(&t.expr, variable);
                    let mut model = serde_json::to_value(t).expect("target JSON");
                    model["expr"] = json!(expr);
                    Query {
                        label: format!("{} {}", p.title, t.ref_id),
                        ref_id: t.ref_id.clone(),
                        instant: t.instant,
                        sent: windows.iter().map(|w| w.expand(&expr)).collect(),
                        model,
                    }
                })
                .collect(),
        })
        .collect()
}

/// Writes the history of `instances` (one simulated server each) over
/// `[end - span, end]`, a scrape every [`SCRAPE`], only the series of the
/// families in `wanted`, plus `up`; returns the sample count.
fn write_history(
    path: &Path,
    instances: &[String],
    end_ms: i64,
    span: Duration,
    wanted: &BTreeSet<String>,
) -> Result<u64, String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let every_ms = SCRAPE.as_millis() as i64;
    let start_ms = end_ms - span.as_millis() as i64;
    let mut sims: Vec<(simulator::Simulator, String)> = (0..instances.len())
        .map(|i| {
            let cfg = SimConfig {
                models: 1,
                engines: 1,
                requests_per_second: 8.0,
                seed: i as u64 + 1,
                ..SimConfig::default()
            };
            let sim = simulator::Simulator::new(&cfg)
                .expect("simulator")
                .with_start_time(UNIX_EPOCH + Duration::from_millis(start_ms as u64));
            let model = sim.model_names()[0].clone();
            (sim, model)
        })
        .collect();
    let mut samples = 0;
    let mut line = String::new();
    for step in 1..=(end_ms - start_ms) / every_ms {
        let t_ms = start_ms + step * every_ms;
        let ts = format!("{}.{:03}", t_ms / 1000, t_ms % 1000);
        for (i, (sim, model)) in sims.iter_mut().enumerate() {
            sim.advance(SCRAPE);
            let target = format!("instance=\"{}\",job=\"{JOB}\"", instances[i]);
            let from = format!("model_name=\"{model}\"");
            let to = format!("model_name=\"model-{}\"", i % MODELS);
            for sample in sim.render().lines() {
                if sample.is_empty() || sample.starts_with('#') {
                    continue;
                }
                let Some((series, value)) = sample.rsplit_once(' ') else {
                    continue;
                };
                let name = series.split('{').next().unwrap_or(series);
                if !wanted.contains(name) {
                    continue;
                }
                line.clear();
                match series.split_once('{') {
                    Some((name, labels)) => {
                        line.push_str(name);
                        line.push('{');
                        line.push_str(&target);
                        line.push(',');
                        line.push_str(&labels.replace(&from, &to));
                    }
                    None => {
                        line.push_str(series);
                        line.push('{');
                        line.push_str(&target);
                        line.push('}');
                    }
                }
                writeln!(out, "{line} {value} {ts}").map_err(|e| e.to_string())?;
                samples += 1;
            }
            // As a scrape would add it.
            writeln!(out, "{}{{{target}}} 1 {ts}", names::UP).map_err(|e| e.to_string())?;
            samples += 1;
        }
    }
    writeln!(out, "# EOF").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    Ok(samples)
}

/// `promtool tsdb create-blocks-from openmetrics` with 24 h blocks (a
/// Prometheus that ran for a day holds a few compacted blocks, not twelve
/// of 2 h); returns the block count.
fn create_blocks(input: &Path, data: &Path) -> Result<usize, String> {
    let promtool = support::server::binary().with_file_name("promtool");
    let out = std::process::Command::new(&promtool)
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg("--max-block-duration=24h")
        .arg(input)
        .arg(data)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", promtool.display()))?;
    if !out.status.success() {
        return Err(format!(
            "promtool failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(std::fs::read_dir(data)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .filter(|e| e.path().join("meta.json").exists())
        .count())
}

/// The paths a dashboard refresh can take.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Route {
    Direct,
    PromRaw,
    PromPlugin,
    VmRaw,
    VmPlugin,
    InProcess,
    InProcessSerial,
}

impl Route {
    const ALL: [Route; 7] = [
        Route::Direct,
        Route::PromRaw,
        Route::PromPlugin,
        Route::VmRaw,
        Route::VmPlugin,
        Route::InProcess,
        Route::InProcessSerial,
    ];

    fn label(self) -> &'static str {
        match self {
            Route::Direct => "direct mode, QueryData over gRPC",
            Route::PromRaw => "Prometheus query_range (raw)",
            Route::PromPlugin => "plugin -> Prometheus",
            Route::VmRaw => "VictoriaMetrics query_range (raw)",
            Route::VmPlugin => "plugin -> VictoriaMetrics",
            Route::InProcess => "direct evaluation in-process",
            Route::InProcessSerial => "  the same, one query at a time",
        }
    }
}

struct Bench {
    plugin: Plugin,
    direct: Datasource,
    via_prom: Datasource,
    via_vm: Datasource,
    prom_url: String,
    vm_url: String,
    http: reqwest::Client,
    store: Arc<Store>,
    panels: Vec<Panel>,
    in_flight: usize,
}

/// A raw API call; the body, whole.
async fn raw(
    http: &reqwest::Client,
    base: &str,
    q: &Query,
    sent: &str,
    w: &Window,
) -> Result<impl AsRef<[u8]>, String> {
    let (path, params) = if q.instant {
        (
            "query",
            vec![
                ("query", sent.to_string()),
                ("time", (w.end_ms / 1000).to_string()),
            ],
        )
    } else {
        (
            "query_range",
            vec![
                ("query", sent.to_string()),
                ("start", (w.start_ms / 1000).to_string()),
                ("end", (w.end_ms / 1000).to_string()),
                ("step", (w.step_ms / 1000).to_string()),
            ],
        )
    };
    let resp = http
        .post(format!("{base}/api/v1/{path}"))
        .form(&params)
        .send()
        .await
        .map_err(|e| format!("{}: {e}", q.label))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "{}: HTTP {status}: {}",
            q.label,
            String::from_utf8_lossy(&body)
        ));
    }
    Ok(body)
}

fn in_process(store: &Store, q: &Query, sent: &str, w: &Window) -> Result<usize, String> {
    if q.instant {
        eval::instant(store, sent, w.end_ms)
            .map(|v| match v {
                eval::Value::Vector(v) => v.len(),
                eval::Value::Matrix(m) => m.len(),
                _ => 1,
            })
            .map_err(|e| format!("{}: {e}", q.label))
    } else {
        eval::range(store, sent, w.start_ms, w.end_ms, w.step_ms)
            .map(|m| m.len())
            .map_err(|e| format!("{}: {e}", q.label))
    }
}

impl Bench {
    fn datasource(&self, path: Route) -> &Datasource {
        match path {
            Route::PromPlugin => &self.via_prom,
            Route::VmPlugin => &self.via_vm,
            _ => &self.direct,
        }
    }

    /// One panel's request on `path`.
    async fn panel(&self, path: Route, p: &Panel, wi: usize, w: &Window) -> Result<(), String> {
        match path {
            Route::Direct | Route::PromPlugin | Route::VmPlugin => {
                let queries = p
                    .queries
                    .iter()
                    .map(|q| w.query(&q.ref_id, q.model.clone()))
                    .collect();
                let resp = self.plugin.query(self.datasource(path), queries).await?;
                for q in &p.queries {
                    match resp.responses.get(&q.ref_id) {
                        Some(r) if r.error.is_empty() => {}
                        Some(r) => return Err(format!("{}: {}", q.label, r.error)),
                        None => return Err(format!("{}: no response", q.label)),
                    }
                }
                Ok(())
            }
            Route::PromRaw | Route::VmRaw => {
                let base = if path == Route::PromRaw {
                    &self.prom_url
                } else {
                    &self.vm_url
                };
                let calls = p
                    .queries
                    .iter()
                    .map(|q| raw(&self.http, base, q, &q.sent[wi], w));
                for r in futures_util::future::join_all(calls).await {
                    r?;
                }
                Ok(())
            }
            Route::InProcess => {
                let calls = p.queries.iter().map(|q| {
                    let store = Arc::clone(&self.store);
                    let (q, sent, w) = (
                        Query {
                            label: q.label.clone(),
                            ref_id: q.ref_id.clone(),
                            instant: q.instant,
                            model: Value::Null,
                            sent: Vec::new(),
                        },
                        q.sent[wi].clone(),
                        *w,
                    );
                    tokio::task::spawn_blocking(move || in_process(&store, &q, &sent, &w))
                });
                for r in futures_util::future::join_all(calls).await {
                    r.map_err(|e| e.to_string())??;
                }
                Ok(())
            }
            Route::InProcessSerial => {
                for q in &p.queries {
                    in_process(&self.store, q, &q.sent[wi], w)?;
                }
                Ok(())
            }
        }
    }

    /// One dashboard refresh on `path`: its wall time.
    async fn refresh(&self, path: Route, wi: usize, w: &Window) -> Result<f64, String> {
        let began = Instant::now();
        if path == Route::InProcessSerial {
            let store = Arc::clone(&self.store);
            let work: Vec<(Query, String)> = self
                .panels
                .iter()
                .flat_map(|p| p.queries.iter())
                .map(|q| {
                    (
                        Query {
                            label: q.label.clone(),
                            ref_id: q.ref_id.clone(),
                            instant: q.instant,
                            model: Value::Null,
                            sent: Vec::new(),
                        },
                        q.sent[wi].clone(),
                    )
                })
                .collect();
            let w = *w;
            let began = Instant::now();
            tokio::task::spawn_blocking(move || {
                for (q, sent) in &work {
                    in_process(&store, q, sent, &w)?;
                }
                Ok::<(), String>(())
            })
            .await
            .map_err(|e| e.to_string())??;
            return Ok(began.elapsed().as_secs_f64() * 1000.0);
        }
        futures_util::stream::iter(self.panels.iter())
            .map(|p| self.panel(path, p, wi, w))
            .buffer_unordered(self.in_flight)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(began.elapsed().as_secs_f64() * 1000.0)
    }

    /// Series with at least one number (NaN left out, as VictoriaMetrics
    /// leaves it out) that `path` answers for `q`, asked as a time series.
    async fn series(&self, path: Route, q: &Query, wi: usize, w: &Window) -> Result<usize, String> {
        let finite = |v: &Value| {
            v.as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .is_some_and(|x| !x.is_nan())
        };
        match path {
            Route::Direct | Route::PromPlugin | Route::VmPlugin => {
                // The panel's own model, its answer as series.
                let mut model = q.model.clone();
                model["format"] = json!("time_series");
                let resp = self
                    .plugin
                    .query(self.datasource(path), vec![w.query("A", model)])
                    .await?;
                let frames = support::frames::frames_of(&resp, "A")
                    .map_err(|e| format!("{} ({path:?}): {e}", q.label))?;
                if let Some(executed) = frames
                    .first()
                    .and_then(|f| f.meta["executedQueryString"].as_str())
                {
                    let expr = executed
                        .strip_prefix("Expr: ")
                        .and_then(|e| e.split("\nStep: ").next())
                        .unwrap_or(executed);
                    if expr != q.sent[wi] {
                        return Err(format!(
                            "{} ({path:?}): the plugin sent {expr:?}, the raw paths send {:?}",
                            q.label, q.sent[wi]
                        ));
                    }
                }
                Ok(frames
                    .iter()
                    .flat_map(|f| f.fields.iter())
                    .filter(|f| f.numbers().iter().flatten().any(|x| !x.is_nan()))
                    .count())
            }
            Route::PromRaw | Route::VmRaw => {
                let base = if path == Route::PromRaw {
                    &self.prom_url
                } else {
                    &self.vm_url
                };
                let body = raw(&self.http, base, q, &q.sent[wi], w).await?;
                let v: Value = serde_json::from_slice(body.as_ref()).map_err(|e| e.to_string())?;
                let result = &v["data"]["result"];
                Ok(match v["data"]["resultType"].as_str() {
                    Some("scalar") => usize::from(finite(&result[1])),
                    Some("matrix") => result
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|s| {
                            s["values"]
                                .as_array()
                                .is_some_and(|vs| vs.iter().any(|p| finite(&p[1])))
                        })
                        .count(),
                    _ => result
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|s| finite(&s["value"][1]))
                        .count(),
                })
            }
            Route::InProcess | Route::InProcessSerial => {
                if q.instant {
                    return in_process(&self.store, q, &q.sent[wi], w);
                }
                eval::range(&self.store, &q.sent[wi], w.start_ms, w.end_ms, w.step_ms)
                    .map(|m| {
                        m.iter()
                            .filter(|s| s.points.iter().any(|(_, v)| !v.is_nan()))
                            .count()
                    })
                    .map_err(|e| format!("{}: {e}", q.label))
            }
        }
    }

    /// A one-number instant query on every path (the sample-count checks).
    async fn number(&self, path: Route, expr: &str, w: &Window) -> Result<f64, String> {
        let q = Query {
            label: expr.to_string(),
            ref_id: "A".to_string(),
            instant: true,
            model: json!({"expr": expr, "instant": true, "range": false}),
            sent: vec![expr.to_string()],
        };
        match path {
            Route::Direct | Route::PromPlugin | Route::VmPlugin => {
                let resp = self
                    .plugin
                    .query(self.datasource(path), vec![w.query("A", q.model.clone())])
                    .await?;
                let frames = support::frames::frames_of(&resp, "A")?;
                Ok(support::answers::from_frames(&frames).values().sum())
            }
            Route::PromRaw | Route::VmRaw => {
                let base = if path == Route::PromRaw {
                    &self.prom_url
                } else {
                    &self.vm_url
                };
                let body = raw(&self.http, base, &q, expr, w).await?;
                let v: Value = serde_json::from_slice(body.as_ref()).map_err(|e| e.to_string())?;
                Ok(support::answers::from_api(&v["data"]).values().sum())
            }
            Route::InProcess | Route::InProcessSerial => {
                match eval::instant(&self.store, expr, w.end_ms).map_err(|e| e.to_string())? {
                    eval::Value::Vector(v) => Ok(v.iter().map(|s| s.v).sum()),
                    eval::Value::Scalar { v, .. } => Ok(v),
                    other => Err(format!("{expr}: {other:?}")),
                }
            }
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn stats(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (percentile(&s, 0.5), percentile(&s, 0.9))
}

async fn run() -> Result<(), String> {
    let targets = env_or("VLLM_BENCH_TARGETS", 16).max(1);
    let hours = env_or("VLLM_BENCH_HOURS", 24).max(1) as u64;
    let rounds = env_or("VLLM_BENCH_ROUNDS", 10).max(1);
    let budget = Duration::from_secs(env_or("VLLM_BENCH_BUDGET_SECONDS", 420) as u64);
    let in_flight = env_or("VLLM_BENCH_IN_FLIGHT", 6).max(1);
    let setup = Instant::now();

    // Live targets: direct mode scrapes them during the run.
    let mut sims = Vec::new();
    for _ in 0..targets {
        sims.push(Simulator::start(1, 1).await?);
    }
    let instances: Vec<String> = sims.iter().map(|s| s.addr.to_string()).collect();

    // Windows end two minutes ago, on a whole minute (every step divides it).
    let end_ms = (support::now_ms() / 60_000 - 2) * 60_000;
    let long = Duration::from_secs(hours * 3600);
    let windows = [
        Window::new("1 h, 15 s step", end_ms, Duration::from_secs(3600), SCRAPE),
        Window::new(
            if hours == 24 {
                "24 h, 60 s step"
            } else {
                "long, 60 s step"
            },
            end_ms,
            long,
            Duration::from_secs(60),
        ),
    ];
    let panels = overview_panels(&windows);
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for q in panels.iter().flat_map(|p| p.queries.iter()) {
        let parsed = inspect::parse(&q.sent[0]).map_err(|e| format!("{}: {e}", q.label))?;
        wanted.extend(inspect::metric_names(&parsed));
    }

    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let file = dir.path().join("history.om");
    let began = Instant::now();
    let samples = {
        let (file, instances, wanted) = (file.clone(), instances.clone(), wanted.clone());
        tokio::task::spawn_blocking(move || write_history(&file, &instances, end_ms, long, &wanted))
            .await
            .map_err(|e| e.to_string())??
    };
    let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    println!(
        "history: {targets} targets x {hours} h, a scrape every {} s, {} families: {samples} samples ({:.2} GB) written in {:.0} s",
        SCRAPE.as_secs(),
        wanted.len(),
        bytes as f64 / 1e9,
        began.elapsed().as_secs_f64()
    );

    // Direct mode: the plugin reads the file when the datasource is created.
    let file_text = file.display().to_string();
    let plugin = Plugin::start_with_env(&[(history::ENV, &file_text)]).await?;
    let target_urls: Vec<String> = instances
        .iter()
        .map(|i| format!("http://{i}/metrics"))
        .collect();
    let direct = Datasource::direct("endtoend-direct", &target_urls)
        .json("scrapeInterval", json!(format!("{}s", SCRAPE.as_secs())))
        .json("timeout", json!(5))
        .json("retention", json!(format!("{}h", hours * 2 + 2)));
    let began = Instant::now();
    let created = {
        let probe = windows[0].query("A", json!({"expr": "vector(1)", "instant": true}));
        let channel = plugin.channel();
        let ctx = direct.context();
        tokio::spawn(async move {
            let mut client = pluginv2::data_client::DataClient::new(channel);
            client
                .query_data(pluginv2::QueryDataRequest {
                    plugin_context: Some(ctx),
                    headers: HashMap::new(),
                    queries: vec![probe],
                })
                .await
                .map(|_| Instant::now())
                .map_err(|e| e.to_string())
        })
    };

    let data = dir.path().join("prometheus");
    let t = Instant::now();
    let blocks = {
        let (file, data) = (file.clone(), data.clone());
        tokio::task::spawn_blocking(move || create_blocks(&file, &data))
            .await
            .map_err(|e| e.to_string())??
    };
    println!(
        "Prometheus: promtool imported it in {:.0} s ({blocks} blocks)",
        t.elapsed().as_secs_f64()
    );
    let prom = {
        let data = data.clone();
        tokio::task::spawn_blocking(move || {
            Prometheus::launch(
                NO_SCRAPES,
                Data::Existing(&data),
                &["--storage.tsdb.retention.time=100y"],
            )
        })
        .await
        .map_err(|e| e.to_string())??
    };

    let t = Instant::now();
    let vm = Victoria::start(
        JOB,
        &[],
        "15s",
        &[
            "-retentionPeriod=100y",
            "-maxLabelsPerTimeseries=40",
            "-search.disableCache",
            "-search.latencyOffset=0",
        ],
    )?;
    let vm = {
        let file = file.clone();
        tokio::task::spawn_blocking(move || {
            vm.import_openmetrics_file(&file, 32 << 20)
                .map(|lines| (vm, lines))
        })
        .await
        .map_err(|e| e.to_string())??
    };
    let (vm, vm_lines) = vm;
    println!(
        "VictoriaMetrics: {vm_lines} lines imported in {:.0} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let store = Arc::new(Store::new(StoreConfig {
        retention: Duration::from_secs((hours * 2 + 2) * 3600),
        ..StoreConfig::default()
    }));
    let keys: Vec<TargetKey> = instances
        .iter()
        .map(|i| TargetKey::new(JOB, i.clone()))
        .collect();
    let loaded = {
        let (store, file) = (Arc::clone(&store), file.clone());
        tokio::task::spawn_blocking(move || history::load_file(&store, &file, &keys))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    let st = store.stats();
    println!(
        "in-process store: {} samples, {} scrapes in {:.0} s ({} series, {:.2} bytes/sample)",
        loaded.samples,
        loaded.scrapes,
        t.elapsed().as_secs_f64(),
        st.series,
        st.bytes_per_sample()
    );
    let done = created.await.map_err(|e| e.to_string())??;
    println!(
        "direct mode: the plugin's datasource answered after loading the file, {:.0} s after its creation",
        (done - began).as_secs_f64()
    );
    drop(std::fs::remove_file(&file));

    let bench = Bench {
        via_prom: Datasource::prometheus(&prom.url())
            .uid("endtoend-prometheus")
            .json("timeInterval", json!(format!("{}s", SCRAPE.as_secs()))),
        via_vm: Datasource::prometheus(&vm.url())
            .uid("endtoend-victoria")
            .json("timeInterval", json!(format!("{}s", SCRAPE.as_secs()))),
        plugin,
        direct,
        prom_url: prom.url(),
        vm_url: vm.url(),
        http: reqwest::Client::new(),
        store,
        panels,
        in_flight,
    };

    // Same samples everywhere, and the same series for a few panels.
    let paths = Route::ALL;
    let compared = [
        Route::Direct,
        Route::PromRaw,
        Route::PromPlugin,
        Route::VmRaw,
        Route::VmPlugin,
        Route::InProcess,
    ];
    let long_s = long.as_secs();
    let counts = [
        format!("sum(count_over_time({}[{long_s}s]))", names::UP),
        format!(
            "sum(count_over_time({}_bucket[{long_s}s]))",
            names::TIME_TO_FIRST_TOKEN
        ),
        format!("count({{job=\"{JOB}\"}})"),
    ];
    for expr in &counts {
        let mut got = Vec::new();
        for path in compared {
            got.push(bench.number(path, expr, &windows[1]).await?);
        }
        println!("check {expr}: {got:?}");
        if got.iter().any(|v| *v != got[0] || v.is_nan()) {
            return Err(format!(
                "the backends hold different samples: {expr} answers {got:?} on {compared:?}"
            ));
        }
    }
    let picks = [
        "Running and waiting by engine A",
        "Finished requests by reason A",
        "Time to first token distribution A",
        "API server memory A",
        "Engines A",
        "Token throughput A",
    ];
    let mut differing = Vec::new();
    let mut checked = 0;
    for (wi, w) in windows.iter().enumerate() {
        for q in bench.panels.iter().flat_map(|p| p.queries.iter()) {
            let mut got = Vec::new();
            for path in compared {
                got.push(bench.series(path, q, wi, w).await?);
            }
            checked += 1;
            if got.iter().all(|n| *n == got[0]) {
                continue;
            }
            if picks.contains(&q.label.as_str()) {
                return Err(format!(
                    "{} over {}: series counts differ, {got:?} on {compared:?}",
                    q.label, w.label
                ));
            }
            differing.push(format!("{} over {}: {got:?}", q.label, w.label));
        }
    }
    println!(
        "{checked} query answers compared on {compared:?}: {} with different series counts (those with points only where a backend computes NaN, which VictoriaMetrics leaves out){}",
        differing.len(),
        if differing.is_empty() {
            String::new()
        } else {
            format!(":\n  {}", differing.join("\n  "))
        }
    );
    let queries = bench.panels.iter().map(|p| p.queries.len()).sum::<usize>();
    println!(
        "setup took {:.0} s; {} panels, {queries} queries, {in_flight} panels in flight",
        setup.elapsed().as_secs_f64(),
        bench.panels.len()
    );
    println!("load before timing: {}", load_average());

    // Warm-up: one refresh per path and window.
    for (wi, w) in windows.iter().enumerate() {
        for path in paths {
            bench.refresh(path, wi, w).await?;
        }
    }
    // Where direct mode's evaluation goes: each query alone, beside
    // Prometheus answering the same query alone.
    for (wi, w) in windows.iter().enumerate() {
        let mut each = Vec::new();
        for q in bench.panels.iter().flat_map(|p| p.queries.iter()) {
            let t = Instant::now();
            in_process(&bench.store, q, &q.sent[wi], w)?;
            let direct_ms = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            raw(&bench.http, &bench.prom_url, q, &q.sent[wi], w).await?;
            each.push((direct_ms, t.elapsed().as_secs_f64() * 1000.0, &q.label));
        }
        each.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (d, p) = each.iter().fold((0.0, 0.0), |(d, p), e| (d + e.0, p + e.1));
        println!(
            "{}: queries one at a time, direct evaluation {d:.0} ms, Prometheus query_range {p:.0} ms; the slowest in direct mode:",
            w.label
        );
        for (d, p, label) in each.iter().take(8) {
            println!("  {label:<48} direct {d:>8.1} ms  Prometheus {p:>8.1} ms");
        }
    }

    let mut times: HashMap<(usize, usize), Vec<f64>> = HashMap::new();
    let began = Instant::now();
    let mut done = 0;
    for round in 0..rounds {
        if round > 0 && began.elapsed() > budget {
            eprintln!("time budget reached after {round} rounds");
            break;
        }
        for (wi, w) in windows.iter().enumerate() {
            for k in 0..paths.len() {
                let pi = (k + round) % paths.len();
                let ms = bench.refresh(paths[pi], wi, w).await?;
                times.entry((wi, pi)).or_default().push(ms);
            }
        }
        done += 1;
    }
    println!("load after timing: {}", load_average());

    println!();
    println!(
        "Overview dashboard, whole refresh ({} panels, {queries} queries), {targets} targets, same samples; median and p90 of {done} interleaved rounds",
        bench.panels.len()
    );
    println!(
        "{:<16} {:<36} {:>10} {:>10} {:>22}",
        "window", "path", "p50 ms", "p90 ms", "Prometheus raw / this"
    );
    for (wi, w) in windows.iter().enumerate() {
        let base = stats(&times[&(wi, 1)]).0;
        for (pi, path) in paths.iter().enumerate() {
            let (p50, p90) = stats(&times[&(wi, pi)]);
            println!(
                "{:<16} {:<36} {:>10.1} {:>10.1} {:>21.2}x",
                if pi == 0 { w.label } else { "" },
                path.label(),
                p50,
                p90,
                base / p50
            );
        }
    }
    println!();
    for (wi, w) in windows.iter().enumerate() {
        let p = |pi: usize| stats(&times[&(wi, pi)]).0;
        let target = if wi == 0 { 3.0 } else { 2.0 };
        println!("{}:", w.label);
        println!(
            "  direct over gRPC vs Prometheus query_range: {:.2}x faster (issue 17 target >= {target}x)",
            p(1) / p(0)
        );
        println!(
            "  direct in-process evaluation vs Prometheus query_range: {:.2}x faster; end to end over gRPC {:.1} ms against {:.1} ms evaluated in-process at the same concurrency ({:.1} ms one query at a time)",
            p(1) / p(5),
            p(0),
            p(5),
            p(6)
        );
        println!(
            "  VictoriaMetrics vs Prometheus, raw: {:.2}x faster; through the plugin: {:.2}x faster",
            p(1) / p(3),
            p(2) / p(4)
        );
        println!(
            "  plugin in front, over raw: Prometheus {:.2}x, VictoriaMetrics {:.2}x",
            p(2) / p(1),
            p(4) / p(3)
        );
    }
    bench.plugin.stop().await.map(|_| ())?;
    drop((prom, vm, sims));
    Ok(())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() {
    support::bench_main("endtoend", run());
}

//! The contract of direct mode: on identical samples, the embedded store and
//! evaluator answer every dashboard query, every alert rule and a corpus of
//! edge cases exactly as Prometheus 2.42 does (same series, same labels,
//! same points, values within 1e-9 relative).
//!
//! Both sides load one deterministic timeline of simulator scrapes: vLLM
//! 0.33 (speculative decoding, LoRA), 0.11 and 0.7 (V0 engine), a target
//! that is down for eight minutes (only `up` = 0 is recorded) and one whose
//! server restarts (counters reset).
//!
//! Two loads of that timeline, two tests:
//! * without staleness: Prometheus gets the timeline through `promtool tsdb
//!   create-blocks-from openmetrics` and the store through `Store::backfill`;
//!   series end by the 5-minute lookback on both sides.
//! * with staleness: the store ingests every scrape as the scraper does
//!   (`ingest`, `mark_down`, `scrape::record_report`), writing its own staleness
//!   markers; Prometheus receives the same samples over remote write, with
//!   the staleness markers its scrape loop would have written (a series
//!   missing from a scrape, every series of a failed scrape). One model of
//!   one target also vanishes from its scrapes for six minutes.

#[allow(dead_code)] // Only part of the shared helper is used here.
mod common {
    pub mod prometheus;
    pub mod remote_write;
}

use common::prometheus::{Data, Prometheus, NO_SCRAPES};
use common::remote_write::{self, SeriesLabels};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{Duration, Instant};
use vllm_grafana::alerts::{self, AlertConfig};
use vllm_grafana::catalog::{self, names};
use vllm_grafana::dashboard::{self, DatasourceFlavor};
use vllm_grafana::eval::{self, EvalError};
use vllm_grafana::exposition::{Entry, Parser};
use vllm_grafana::promql::inspect::interpolate;
use vllm_grafana::scrape::{is_created_series, record_report, ScrapeReport};
use vllm_grafana::simulator::{SimConfig, Simulator};
use vllm_grafana::store::{is_stale, stale_nan, Store, StoreConfig, TargetKey};

const BASE_MS: i64 = 1_700_000_000_000;
const SCRAPE_MS: i64 = 15_000;
const MINUTES: i64 = 40;

type Raw = (String, Vec<(String, String)>, f64);

struct Scrape {
    target: TargetKey,
    ts: i64,
    samples: Vec<Raw>,
}

struct Spec {
    job: &'static str,
    instance: &'static str,
    cfg: SimConfig,
    /// Minutes `[from, to)` during which scrapes fail.
    down: Option<(i64, i64)>,
    /// Minute at which the server restarts.
    restart: Option<i64>,
}

fn version(s: &str) -> catalog::Version {
    s.parse().expect("known release")
}

fn specs() -> Vec<Spec> {
    let cfg = |v: &str, models, engines, seed| SimConfig {
        version: version(v),
        models,
        engines,
        seed,
        requests_per_second: 3.0,
        ..SimConfig::default()
    };
    vec![
        Spec {
            job: "vllm",
            instance: "gpu-a:8000",
            cfg: SimConfig {
                spec_decode: true,
                lora: true,
                ..cfg("0.33", 2, 2, 1)
            },
            down: None,
            restart: None,
        },
        Spec {
            job: "vllm",
            instance: "gpu-b:8000",
            cfg: cfg("0.11", 2, 2, 2),
            down: None,
            restart: None,
        },
        Spec {
            job: "vllm",
            instance: "gpu-c:8000",
            cfg: cfg("0.7", 2, 1, 3),
            down: Some((14, 22)),
            restart: None,
        },
        Spec {
            job: "vllm-canary",
            instance: "gpu-d:8000",
            cfg: cfg("0.33", 1, 2, 4),
            down: None,
            restart: Some(25),
        },
    ]
}

/// Every scrape of every target, in time order.
fn timeline() -> Vec<Scrape> {
    let specs = specs();
    let mut sims: Vec<Simulator> = specs
        .iter()
        .map(|s| Simulator::new(&s.cfg).expect("valid config"))
        .collect();
    let mut out = Vec::new();
    for i in 0..(MINUTES * 60_000 / SCRAPE_MS) {
        for (n, (spec, sim)) in specs.iter().zip(sims.iter_mut()).enumerate() {
            let minute = i * SCRAPE_MS / 60_000;
            if spec.restart == Some(minute) && i * SCRAPE_MS % 60_000 == 0 {
                let cfg = SimConfig {
                    seed: spec.cfg.seed + 100,
                    ..spec.cfg.clone()
                };
                *sim = Simulator::new(&cfg).expect("valid config");
            }
            sim.advance(Duration::from_millis(SCRAPE_MS as u64));
            let ts = BASE_MS + i * SCRAPE_MS + (i * 37 + n as i64 * 101) % 250;
            let target = TargetKey::new(spec.job, spec.instance);
            let is_down = spec.down.is_some_and(|(a, b)| (a..b).contains(&minute));
            let mut samples = Vec::new();
            if !is_down {
                for entry in Parser::new(&sim.render()) {
                    let Ok(Entry::Sample(s)) = entry else {
                        continue;
                    };
                    if is_created_series(s.name) {
                        continue;
                    }
                    let labels = s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.into_owned()))
                        .collect();
                    samples.push((s.name.to_string(), labels, s.value));
                }
            }
            let scraped = samples.len() as f64;
            samples.push((
                names::UP.to_string(),
                Vec::new(),
                if is_down { 0.0 } else { 1.0 },
            ));
            samples.push((
                names::SCRAPE_SAMPLES_SCRAPED.to_string(),
                Vec::new(),
                scraped,
            ));
            out.push(Scrape {
                target,
                ts,
                samples,
            });
        }
    }
    out
}

fn om_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v:?}")
    }
}

fn om_escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The timeline as OpenMetrics text with `job`/`instance` and timestamps.
fn openmetrics(scrapes: &[Scrape]) -> String {
    let mut out = String::new();
    for s in scrapes {
        for (name, labels, v) in &s.samples {
            let mut l = format!(
                "job=\"{}\",instance=\"{}\"",
                om_escape(&s.target.job),
                om_escape(&s.target.instance)
            );
            for (k, val) in labels {
                let _ = write!(l, ",{k}=\"{}\"", om_escape(val));
            }
            let _ = writeln!(
                out,
                "{name}{{{l}}} {} {}.{:03}",
                om_value(*v),
                s.ts / 1000,
                s.ts % 1000
            );
        }
    }
    out.push_str("# EOF\n");
    out
}

/// Samples as the store's ingest takes them.
fn borrowed(
    samples: &[Raw],
) -> impl Iterator<Item = (&str, impl Iterator<Item = (&str, &str)> + Clone, f64)> {
    samples.iter().map(|(n, l, v)| {
        (
            n.as_str(),
            l.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            *v,
        )
    })
}

fn load_store(scrapes: &[Scrape]) -> Store {
    let store = Store::new(StoreConfig::default());
    for s in scrapes {
        store
            .backfill(&s.target, s.ts, borrowed(&s.samples))
            .expect("in order");
    }
    store
}

fn edge_cases() -> Vec<String> {
    let run = names::NUM_REQUESTS_RUNNING;
    let wait = names::NUM_REQUESTS_WAITING;
    let gen = names::GENERATION_TOKENS;
    let kv = names::KV_CACHE_USAGE_PERC;
    let ttft = names::TIME_TO_FIRST_TOKEN;
    let e2e = names::E2E_REQUEST_LATENCY;
    let succ = names::REQUEST_SUCCESS;
    let cpu = names::PROCESS_CPU_SECONDS;
    let up = names::UP;
    let scraped = names::SCRAPE_SAMPLES_SCRAPED;
    let rate_ttft = format!("rate({ttft}_bucket[5m])");
    let sum_le = format!("sum by (le) ({rate_ttft})");
    vec![
        // Counters: rates, resets (gpu-d restarts), offsets, short windows.
        format!("rate({gen}[5m])"),
        format!("rate({gen}[30s])"),
        format!("irate({gen}[1m])"),
        format!("increase({gen}[10m])"),
        format!("increase({gen}{{instance=\"gpu-d:8000\"}}[20m])"),
        format!("resets({gen}[40m])"),
        format!("changes({run}[10m])"),
        format!("delta({kv}[5m])"),
        format!("idelta({kv}[2m])"),
        format!("rate({gen}[5m] offset 10m)"),
        format!("{run} offset 5m"),
        format!("sum by (instance) (rate({cpu}[5m]))"),
        // *_over_time.
        format!("avg_over_time({kv}[5m])"),
        format!("min_over_time({kv}[5m])"),
        format!("max_over_time({kv}[5m])"),
        format!("sum_over_time({run}[5m])"),
        format!("count_over_time({up}[5m])"),
        format!("last_over_time({run}[1m])"),
        format!("present_over_time({run}[1m])"),
        format!("stddev_over_time({kv}[10m])"),
        format!("stdvar_over_time({kv}[10m])"),
        format!("quantile_over_time(0.9, {kv}[10m])"),
        // Histograms: per series, grouped, every quantile edge.
        format!("histogram_quantile(0.9, {rate_ttft})"),
        format!("histogram_quantile(0.5, sum by (le, instance) (rate({ttft}_bucket[2m])))"),
        format!("histogram_quantile(0, {sum_le})"),
        format!("histogram_quantile(1, {sum_le})"),
        format!("histogram_quantile(-0.5, {sum_le})"),
        format!("histogram_quantile(1.5, {sum_le})"),
        format!("histogram_quantile(NaN, {sum_le})"),
        format!("histogram_quantile(0.5, rate({ttft}_bucket{{le=\"+Inf\"}}[5m]))"),
        format!("histogram_quantile(0.5, rate({ttft}_bucket{{le!=\"+Inf\"}}[5m]))"),
        format!("histogram_quantile(0.99, sum by (le) ({e2e}_bucket))"),
        format!("histogram_quantile(0.5, rate({e2e}_bucket[30s]))"),
        // Functions.
        format!("clamp_min({kv}, 0.5)"),
        format!("clamp_max({kv}, 0.5)"),
        format!("clamp({kv}, 0.2, 0.6)"),
        format!("clamp({kv}, 0.6, 0.2)"),
        format!("abs(-{kv})"),
        format!("ceil({kv} * 10)"),
        format!("floor({kv} * 10)"),
        format!("round({kv}, 0.1)"),
        format!("round({run})"),
        "vector(1)".to_string(),
        format!("scalar(sum({run}))"),
        format!("scalar({run})"),
        "time()".to_string(),
        format!("absent({run}{{job=\"nope\", instance=\"x\"}})"),
        format!("absent({run})"),
        format!("absent({run}{{job=\"nope\", job=~\"n.*\"}})"),
        format!("label_replace({run}, \"org\", \"$1\", \"model_name\", \"([^/]*)/.*\")"),
        format!("label_replace({run}, \"model_name\", \"\", \"model_name\", \"Qwen.*\")"),
        format!("label_replace({run}, \"instance\", \"\", \"instance\", \".*\")"),
        format!("sort_desc(sum by (instance) ({run}))"),
        // Aggregations.
        format!("avg by (instance) ({kv})"),
        format!("min without (engine) ({kv})"),
        format!("max by (model_name) ({kv})"),
        format!("count by (job) ({run})"),
        format!("sum({kv}) by (model_name)"),
        format!("group by (instance) ({run})"),
        format!("stddev({kv})"),
        format!("stdvar by (job) ({kv})"),
        format!("quantile(0.5, {kv})"),
        format!("quantile by (instance) (0.9, rate({gen}[5m]))"),
        format!("topk(2, {kv})"),
        format!("bottomk(1, {kv})"),
        format!("topk by (instance) (1, {kv})"),
        format!("topk(3, rate({gen}[5m]))"),
        format!("sum without (instance, job) (rate({gen}[5m]))"),
        // Vector matching.
        format!("{run} / on(instance, model_name, engine) {wait}"),
        format!("{run} + ignoring(nothing) {wait}"),
        format!("{run} - {wait}"),
        format!("{run} * on(job, instance) group_left() {up}"),
        format!("{run} * on(job, instance) group_left({scraped}) {up}"),
        format!("{up} * on(job, instance) group_right() {run}"),
        format!("{up} > on(job, instance) group_right() {run}"),
        format!("{run} * on(job) {wait}"),
        format!("{run} * on(job) group_left() {up}"),
        format!("{kv} atan2 {kv}"),
        // Comparisons.
        format!("{run} > bool 1"),
        format!("{run} > 1"),
        format!("1 < {run}"),
        format!("2 >= bool {run}"),
        format!("{run} == bool {wait}"),
        format!("{run} >= {wait}"),
        format!("{up} == 0"),
        format!("count({up} == 0) or vector(0)"),
        // Set operators.
        format!("{run} and {wait}"),
        format!("{run} or {wait}"),
        format!("{run} unless on(model_name) {wait} > 3"),
        format!("{run} and on(instance) ({up} == 1)"),
        format!("{run}{{instance=\"gpu-a:8000\"}} or {wait}"),
        // Arithmetic and literals.
        format!("2 * 3 + {run}"),
        "2 ^ 3".to_string(),
        "0 / 0".to_string(),
        format!("{run} % 3"),
        format!("-{run}"),
        format!("{run} / 0"),
        format!("({run} - {run}) / ({run} - {run})"),
        format!("-({run} - 1) ^ 2"),
        // Matchers.
        format!("{run}{{model_name=~\"Qwen.*\"}}"),
        format!("{run}{{model_name!~\".*Llama.*\"}}"),
        format!("{{__name__=~\"{}|{}\"}}", run, wait),
        format!("{run}{{instance!=\"gpu-a:8000\"}}"),
        format!("{run}{{job=~\"vll\"}}"),
        format!("{run}{{job=~\"vllm|vllm-.*\"}}"),
        format!("{succ}{{finished_reason=~\"stop|length\"}}"),
        format!("count by (__name__) ({{__name__=~\"vllm:.*_seconds_count\"}})"),
        format!("max_over_time({up}[10m])"),
    ]
}

fn corpus() -> Vec<(String, String)> {
    let mut queries = Vec::new();
    let board = dashboard::overview(DatasourceFlavor::Prometheus);
    for q in dashboard::panels_queries(&board) {
        queries.push((
            format!("panel {:?} {}", q.panel_title, q.ref_id),
            interpolate(&q.expr, dashboard::default_value),
        ));
    }
    let cfg = AlertConfig::default();
    for r in alerts::rules(&cfg) {
        queries.push((format!("alert {}", r.name), r.expr(&cfg)));
    }
    for (i, q) in edge_cases().into_iter().enumerate() {
        queries.push((format!("edge case {i}"), q));
    }
    queries
}

type Points = Vec<(i64, f64)>;

fn prometheus_matrix(
    v: &serde_json::Value,
) -> Result<BTreeMap<Vec<(String, String)>, Points>, String> {
    let result = v["result"]
        .as_array()
        .ok_or_else(|| format!("no result in {v}"))?;
    let mut out = BTreeMap::new();
    for s in result {
        let mut labels: Vec<(String, String)> = s["metric"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        labels.sort();
        let points = s["values"]
            .as_array()
            .ok_or("no values")?
            .iter()
            .map(|p| {
                let t = (p[0].as_f64().unwrap_or(f64::NAN) * 1000.0).round() as i64;
                let v: f64 = p[1]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(f64::MIN);
                (t, v)
            })
            .collect();
        out.insert(labels, points);
    }
    Ok(out)
}

fn same_value(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Compares one query's answers; returns the number of points compared.
fn compare(
    prom: Result<serde_json::Value, String>,
    ours: Result<eval::Matrix, EvalError>,
) -> Result<usize, String> {
    let (prom, ours) = match (prom, ours) {
        (Err(_), Err(_)) => return Ok(0),
        (Err(p), Ok(_)) => return Err(format!("Prometheus failed, direct mode did not: {p}")),
        (Ok(_), Err(o)) => return Err(format!("direct mode failed, Prometheus did not: {o}")),
        (Ok(p), Ok(o)) => (prometheus_matrix(&p)?, o),
    };
    let ours: BTreeMap<Vec<(String, String)>, Points> = ours
        .into_iter()
        .map(|s| (s.labels.into_vec(), s.points))
        .collect();
    let only = |a: &BTreeMap<Vec<(String, String)>, Points>,
                b: &BTreeMap<Vec<(String, String)>, Points>| {
        a.keys()
            .filter(|k| !b.contains_key(*k))
            .cloned()
            .collect::<Vec<_>>()
    };
    let (p_only, o_only) = (only(&prom, &ours), only(&ours, &prom));
    if !p_only.is_empty() || !o_only.is_empty() {
        return Err(format!(
            "series differ: only Prometheus {p_only:?}; only direct {o_only:?}"
        ));
    }
    let mut n = 0;
    for (labels, pp) in &prom {
        let op = &ours[labels];
        if pp.len() != op.len() || pp.iter().zip(op).any(|(a, b)| a.0 != b.0) {
            let pt: Vec<i64> = pp.iter().map(|p| p.0).collect();
            let ot: Vec<i64> = op.iter().map(|p| p.0).collect();
            return Err(format!(
                "{labels:?}: timestamps differ\n  prometheus {pt:?}\n  direct     {ot:?}"
            ));
        }
        for (a, b) in pp.iter().zip(op) {
            if !same_value(a.1, b.1) {
                return Err(format!(
                    "{labels:?} at {}: Prometheus {} direct {}",
                    a.0, a.1, b.1
                ));
            }
        }
        n += pp.len();
    }
    Ok(n)
}

#[test]
fn direct_mode_answers_like_prometheus() {
    let t0 = Instant::now();
    let scrapes = timeline();
    let dir = tempfile::tempdir().expect("tempdir");
    let om = dir.path().join("timeline.om");
    std::fs::write(&om, openmetrics(&scrapes)).expect("write OpenMetrics");
    let prom = Prometheus::launch(
        NO_SCRAPES,
        Data::Import(&om),
        &["--storage.tsdb.retention.time=100y"],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let store = load_store(&scrapes);
    let samples: usize = scrapes.iter().map(|s| s.samples.len()).sum();
    println!(
        "timeline: {} scrapes, {samples} samples, prepared in {:?}",
        scrapes.len(),
        t0.elapsed()
    );

    let grids = [
        // Aligned with scrapes, starting before the data and ending 10 min after it.
        (BASE_MS - 120_000, BASE_MS + (MINUTES + 10) * 60_000, 15_000),
        // Off the scrape grid, coarser.
        (
            BASE_MS + 7_000,
            BASE_MS + (MINUTES + 6) * 60_000 + 7_000,
            60_000,
        ),
    ];
    let queries = corpus();
    let outcome = run_corpus(&prom, &store, &queries, &grids);
    outcome.assert_all_equal(queries.len() * grids.len(), 100_000);
    sort_orders_like_prometheus(&prom, &store);
}

/// `sort` and `sort_desc` at the top of an instant query: the same values in
/// the same order (series with equal values may come in either order: their
/// order is not defined in Prometheus).
fn sort_orders_like_prometheus(prom: &Prometheus, store: &Store) {
    let gen = names::GENERATION_TOKENS;
    let run = names::NUM_REQUESTS_RUNNING;
    let kv = names::KV_CACHE_USAGE_PERC;
    let exprs = [
        format!("sort(sum by (instance, model_name) (rate({gen}[5m])))"),
        format!("sort_desc(sum by (instance, model_name) (rate({gen}[5m])))"),
        format!("sort_desc({kv})"),
        format!("sort({run} / 0)"),
        format!("(sort_desc(max by (instance) ({run})))"),
    ];
    let mut compared = 0;
    for minute in [10, 25, 38] {
        let t_ms = BASE_MS + minute * 60_000 + 7_000;
        for expr in &exprs {
            let data = prom
                .query_at(expr, Some(&format!("{:.3}", t_ms as f64 / 1000.0)))
                .unwrap_or_else(|e| panic!("{expr}: {e}"));
            let theirs: Vec<(Vec<(String, String)>, f64)> = data["result"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let mut labels: Vec<(String, String)> =
                        serde_json::from_value::<BTreeMap<String, String>>(s["metric"].clone())
                            .unwrap_or_default()
                            .into_iter()
                            .collect();
                    labels.sort();
                    let v = s["value"][1]
                        .as_str()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(f64::MIN);
                    (labels, v)
                })
                .collect();
            let ours: Vec<(Vec<(String, String)>, f64)> = match eval::instant(store, expr, t_ms) {
                Ok(eval::Value::Vector(v)) => {
                    v.into_iter().map(|s| (s.labels.into_vec(), s.v)).collect()
                }
                other => panic!("{expr}: {other:?}"),
            };
            assert!(
                theirs.len() > 1,
                "{expr} at minute {minute}: too few series: {data}"
            );
            assert_eq!(theirs.len(), ours.len(), "{expr}");
            for (i, ((tl, tv), (ol, ov))) in theirs.iter().zip(&ours).enumerate() {
                assert!(
                    same_value(*tv, *ov),
                    "{expr} at {i}: Prometheus {theirs:?}\ndirect {ours:?}"
                );
                let tied = theirs.iter().filter(|(_, v)| same_value(*v, *tv)).count() > 1;
                assert!(
                    tied || tl == ol,
                    "{expr} at {i}: Prometheus {tl:?}, direct {ol:?}"
                );
            }
            compared += 1;
        }
    }
    println!("sort order: {compared} instant answers in the same order");
}

/// What running a corpus through both sides gave.
struct Outcome {
    compared: usize,
    points: usize,
    errors_agreed: usize,
    failures: Vec<String>,
}

impl Outcome {
    fn assert_all_equal(&self, runs: usize, min_points: usize) {
        println!(
            "compared {} of {runs} query runs, {} points; {} runs failed on both sides",
            self.compared, self.points, self.errors_agreed
        );
        assert!(
            self.failures.is_empty(),
            "{} of {runs} runs differ:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(
            self.points > min_points,
            "the corpus must compare real data ({} points)",
            self.points
        );
    }
}

fn run_corpus(
    prom: &Prometheus,
    store: &Store,
    queries: &[(String, String)],
    grids: &[(i64, i64, i64)],
) -> Outcome {
    let mut out = Outcome {
        compared: 0,
        points: 0,
        errors_agreed: 0,
        failures: Vec::new(),
    };
    for (name, expr) in queries {
        for &(start, end, step) in grids {
            let p = prom.query_range(expr, start, end, step);
            let o = eval::range(store, expr, start, end, step);
            let both_failed = p.is_err() && o.is_err();
            match compare(p, o) {
                Ok(n) => {
                    out.compared += 1;
                    out.points += n;
                    out.errors_agreed += both_failed as usize;
                }
                Err(e) => out
                    .failures
                    .push(format!("{name} (step {step} ms): {expr}\n  {e}")),
            }
        }
    }
    out
}

/// `scrape_duration_seconds` of every scrape in the staleness test.
const SCRAPE_SECONDS: f64 = 0.05;
/// Minutes `[from, to)` during which gpu-b's second model is not in its scrapes.
const VANISHED: (i64, i64) = (18, 24);
const VANISHING_INSTANCE: &str = "gpu-b:8000";

/// One scrape as the scraper sees it: whether it worked and what it read.
struct ScrapeResult {
    target: TargetKey,
    ts: i64,
    up: bool,
    samples: Vec<Raw>,
}

/// [`timeline`] as scrape results, with one model of gpu-b gone for a while.
fn scrape_results() -> Vec<ScrapeResult> {
    let spec = specs()
        .into_iter()
        .find(|s| s.instance == VANISHING_INSTANCE)
        .expect("gpu-b is in the timeline");
    let models = Simulator::new(&spec.cfg).expect("valid").model_names();
    let vanishing = models.get(1).expect("gpu-b serves two models").clone();
    timeline()
        .into_iter()
        .map(|s| {
            let up = s
                .samples
                .iter()
                .any(|(n, _, v)| n == names::UP && *v == 1.0);
            let minute = (s.ts - BASE_MS) / 60_000;
            let gone = s.target.instance == VANISHING_INSTANCE
                && (VANISHED.0..VANISHED.1).contains(&minute);
            let samples = s
                .samples
                .into_iter()
                .filter(|(n, labels, _)| {
                    n != names::UP
                        && n != names::SCRAPE_SAMPLES_SCRAPED
                        && !(gone
                            && labels
                                .iter()
                                .any(|(k, v)| k == "model_name" && *v == vanishing))
                })
                .collect();
            ScrapeResult {
                target: s.target,
                ts: s.ts,
                up,
                samples,
            }
        })
        .collect()
}

/// The store as the scraper fills it: its own staleness markers.
fn scraped_store(scrapes: &[ScrapeResult]) -> Store {
    let store = Store::new(StoreConfig::default());
    for s in scrapes {
        if s.up {
            store
                .ingest(&s.target, s.ts, borrowed(&s.samples))
                .expect("in order");
        } else {
            store.mark_down(&s.target, s.ts).expect("in order");
        }
        let report = ScrapeReport {
            up: s.up,
            duration_seconds: SCRAPE_SECONDS,
            samples_scraped: s.samples.len(),
        };
        record_report(&store, &s.target, s.ts, &report).expect("in order");
    }
    store
}

fn series_labels(name: &str, target: &TargetKey, labels: &[(String, String)]) -> SeriesLabels {
    let mut l: SeriesLabels = labels.to_vec();
    l.push(("__name__".into(), name.into()));
    l.push(("job".into(), target.job.clone()));
    l.push(("instance".into(), target.instance.clone()));
    l.sort();
    l
}

/// What Prometheus's scrape loop would append for `scrapes`, including its
/// staleness markers, in remote-write requests of `per_request` scrapes.
fn remote_write_requests(
    scrapes: &[ScrapeResult],
    per_request: usize,
) -> Vec<BTreeMap<SeriesLabels, Vec<(i64, f64)>>> {
    let mut previous: BTreeMap<String, BTreeSet<SeriesLabels>> = BTreeMap::new();
    let mut requests = Vec::new();
    for chunk in scrapes.chunks(per_request) {
        let mut request: BTreeMap<SeriesLabels, Vec<(i64, f64)>> = BTreeMap::new();
        for s in chunk {
            let mut seen = BTreeSet::new();
            if s.up {
                for (name, labels, v) in &s.samples {
                    let l = series_labels(name, &s.target, labels);
                    request.entry(l.clone()).or_default().push((s.ts, *v));
                    seen.insert(l);
                }
            }
            let before = previous.entry(s.target.instance.clone()).or_default();
            for gone in before.difference(&seen) {
                request
                    .entry(gone.clone())
                    .or_default()
                    .push((s.ts, stale_nan()));
            }
            *before = seen;
            for (name, v) in [
                (names::UP, if s.up { 1.0 } else { 0.0 }),
                (names::SCRAPE_DURATION_SECONDS, SCRAPE_SECONDS),
                (names::SCRAPE_SAMPLES_SCRAPED, s.samples.len() as f64),
            ] {
                let l = series_labels(name, &s.target, &[]);
                request.entry(l).or_default().push((s.ts, v));
            }
        }
        requests.push(request);
    }
    requests
}

/// Queries whose answers depend on where series end.
fn staleness_cases() -> Vec<String> {
    let run = names::NUM_REQUESTS_RUNNING;
    let gen = names::GENERATION_TOKENS;
    let kv = names::KV_CACHE_USAGE_PERC;
    let dur = names::SCRAPE_DURATION_SECONDS;
    vec![
        format!("{run}"),
        format!("{run}{{instance=\"{VANISHING_INSTANCE}\"}}"),
        format!("count by (instance, model_name) ({run})"),
        format!("count by (instance) ({{__name__=~\"vllm:.*\"}})"),
        format!("last_over_time({run}[2m])"),
        format!("count_over_time({kv}[3m])"),
        format!("max_over_time({kv}[1m])"),
        format!("rate({gen}[1m])"),
        format!("increase({gen}[3m])"),
        format!("irate({gen}[1m])"),
        format!("absent({run}{{instance=\"gpu-c:8000\"}})"),
        format!("{run} offset 3m"),
        format!("{run} and on(instance) {dur}"),
        format!("sum by (instance) ({dur})"),
    ]
}

#[test]
fn staleness_answers_like_prometheus() {
    let scrapes = scrape_results();
    let prom = Prometheus::start_receiver();
    let requests = remote_write_requests(&scrapes, 40);
    let markers: usize = requests
        .iter()
        .flat_map(|r| r.values())
        .flatten()
        .filter(|(_, v)| is_stale(*v))
        .count();
    for (i, request) in requests.iter().enumerate() {
        prom.remote_write(&remote_write::encode(request))
            .unwrap_or_else(|e| panic!("remote-write request {i} refused: {e}"));
    }
    let store = scraped_store(&scrapes);
    println!(
        "{} scrapes, {} remote-write requests, {markers} staleness markers",
        scrapes.len(),
        requests.len()
    );
    assert!(
        markers > 1_000,
        "the timeline must go stale ({markers} markers)"
    );

    // Staleness must show: a minute into gpu-c's outage its series are gone
    // (the 5-minute lookback alone would still show them).
    let during_outage = BASE_MS + 15 * 60_000;
    let gpu_c = format!("{}{{instance=\"gpu-c:8000\"}}", names::NUM_REQUESTS_RUNNING);
    let answer = prom
        .query_range(&gpu_c, during_outage, during_outage, 15_000)
        .expect("Prometheus answers");
    assert_eq!(answer["result"], serde_json::json!([]), "{answer}");
    let ours = eval::range(&store, &gpu_c, during_outage, during_outage, 15_000)
        .expect("direct mode answers");
    assert!(ours.is_empty(), "direct mode still shows {ours:?}");

    let grids = [
        (BASE_MS - 60_000, BASE_MS + (MINUTES + 6) * 60_000, 15_000),
        (
            BASE_MS + 7_000,
            BASE_MS + (MINUTES + 6) * 60_000 + 7_000,
            60_000,
        ),
    ];
    let mut queries = corpus();
    for (i, q) in staleness_cases().into_iter().enumerate() {
        queries.push((format!("staleness case {i}"), q));
    }
    let outcome = run_corpus(&prom, &store, &queries, &grids);
    outcome.assert_all_equal(queries.len() * grids.len(), 100_000);
}

//! The contract of direct mode: on identical samples, the embedded store and
//! evaluator answer every dashboard query, every alert rule, a corpus of
//! edge cases (subqueries, `@`, every function and aggregation) and
//! thousands of generated expressions exactly as Prometheus 2.42 does (same
//! series, same labels, same points, values within 1e-9 relative; instant
//! answers in the same order where Prometheus defines one; both refuse or
//! both answer).
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
//!
//! A third test runs 5,000 expressions from a seeded generator
//! (`EVAL_GENERATED_SEED`, `EVAL_GENERATED_COUNT` to explore further) as a
//! range and an instant query each. Two kinds of difference are
//! Prometheus's own and accepted there, each shown by a test: answers that
//! change with the last bit of transcendental functions (`sin`, `exp`,
//! `^`, ...), which Go's math library computes to a bit of its own (a
//! `count_values` label, `sin` of a huge power); and sums or variances
//! whose inputs Prometheus takes in a Go map's order in range queries.

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
        // String literals as Prometheus reads them: Go escapes decoded in
        // double and single quotes, backticks raw.
        format!("{run}{{model_name=~\"Qwen/Qwen2\\\\.5.*\"}}"),
        format!("{run}{{model_name=~`Qwen/Qwen2\\.5.*`}}"),
        format!("{run}{{model_name=~'Qwen/Qwen2\\\\.5-\\\\d+B.*'}}"),
        format!("{run}{{instance=\"gpu\\x2da:8000\"}}"),
        format!("{run}{{instance=\"gpu\\u002da:8000\"}}"),
        format!("{run}{{instance!~`gpu-a:\\d+`}}"),
        format!("label_replace({run}, \"org\", \"$1\", \"model_name\", \"([^/]*)\\\\/.*\")"),
        format!("label_replace({run}, \"quote\", \"say \\\"hi\\\"\\tthere\", \"\", \"\")"),
        format!("label_replace({run}, \"raw\", `C:\\path`, \"\", \"\")"),
    ]
}

/// Subqueries, `@`, and the functions and aggregations added for them,
/// with their edge cases: empty windows, counter resets, NaN and
/// infinities, label collisions.
fn new_constructs() -> Vec<String> {
    let run = names::NUM_REQUESTS_RUNNING;
    let gen = names::GENERATION_TOKENS;
    let kv = names::KV_CACHE_USAGE_PERC;
    let up = names::UP;
    // An `@` time inside the timeline, off the scrape grid.
    let at = BASE_MS / 1000 + 20 * 60 + 7;
    let early = BASE_MS / 1000 - 3600;
    vec![
        // Subqueries: steps, default step, offsets, nesting.
        format!("max_over_time(rate({gen}[1m])[10m:1m])"),
        format!("avg_over_time({kv}[5m:])"),
        format!("min_over_time({kv}[7m:45s])"),
        format!("count_over_time({run}[1m:7s])"),
        format!("rate({gen}[5m:30s])"),
        format!("increase({gen}[10m:1m])"),
        format!("sum_over_time({run}[10m:1m] offset 5m)"),
        format!("max_over_time({run}[5m:1m] offset -2m)"),
        format!("max_over_time(avg_over_time({kv}[3m:30s])[10m:1m])"),
        format!("last_over_time(({run} > 1)[5m:30s])"),
        format!("quantile_over_time(0.9, rate({gen}[2m])[10m:1m])"),
        format!("deriv({kv}[10m:1m])"),
        format!("stddev_over_time(sum by (instance) ({run})[15m:2m])"),
        format!("changes(max by (instance) ({run})[10m:15s])"),
        format!("max_over_time(vector(1)[5m:1m])"),
        format!("sum_over_time(vector(scalar(sum({run})))[3m:1m])"),
        // `@`: selectors, ranges, subqueries, start() and end().
        format!("{run} @ {at}"),
        format!("{run} @ {at} offset 5m"),
        format!("{run} offset 5m @ {at}"),
        format!("{run} @ start()"),
        format!("{run} @ end()"),
        format!("{run} @ {early}"),
        format!("rate({gen}[5m] @ {at})"),
        format!("rate({gen}[5m] @ end() offset 10m)"),
        format!("sum by (instance) ({run} @ {at})"),
        format!("{run} @ {at} - {run}"),
        format!("{run} @ start() / on(instance, model_name, engine) {run} @ end()"),
        format!("max_over_time({run}[10m:1m] @ {at})"),
        format!("max_over_time({run}[10m:1m] @ {at} offset 2m)"),
        format!("max_over_time(({run} @ {at})[10m:1m])"),
        format!("max_over_time({run}[10m:1m] @ start())"),
        format!("avg_over_time(rate({gen}[1m] @ {at})[5m:1m] @ end())"),
        format!("absent({run} @ {early})"),
        format!("-({run} @ {at})"),
        // Prometheus's own answers where it rewrites `@` per evaluation:
        // windows under predict_linear slide, parameters of an invariant
        // aggregation are read once, start() in a parameter is ignored.
        format!("predict_linear({kv}[10m] @ {at}, 60)"),
        format!("topk(scalar(count({run}) or vector(0)) - 5, {run} @ {at})"),
        format!("topk(scalar(count({run} @ start()) or vector(1)), {run})"),
        format!("quantile_over_time(scalar(max({kv})), {kv}[5m] @ {at})"),
        // timestamp().
        format!("timestamp({run})"),
        format!("timestamp(({run} offset 3m))"),
        format!("timestamp({run} @ {at})"),
        format!("timestamp({run} @ {at} offset 1m)"),
        format!("timestamp(sum by (instance) ({run}))"),
        format!("timestamp(-{run})"),
        // Linear regression and smoothing, with gpu-d's counter reset.
        format!("deriv({kv}[5m])"),
        format!("deriv({gen}[10m])"),
        format!("deriv({run}[1m])"),
        format!("predict_linear({gen}[10m], 600)"),
        format!("predict_linear({kv}[5m], -60)"),
        format!("predict_linear({kv}[5m] offset 2m, 0)"),
        format!("holt_winters({kv}[10m], 0.3, 0.6)"),
        format!("holt_winters({gen}[5m], 0.5, 0.1)"),
        format!("holt_winters({kv}[5m], 1.5, 0.5)"),
        format!("holt_winters({kv}{{job=\"nope\"}}[5m], 1.5, 0.5)"),
        format!("holt_winters({kv}[5m], NaN, 0.5)"),
        // absent_over_time.
        format!("absent_over_time({run}{{job=\"nope\", instance=\"x\"}}[5m])"),
        format!("absent_over_time({run}[5m])"),
        format!("absent_over_time({run}{{instance=\"gpu-c:8000\"}}[1m])"),
        format!("absent_over_time({run}{{job=\"nope\"}}[5m:1m])"),
        // label_join, collisions included.
        format!("label_join({run}, \"joined\", \"/\", \"instance\", \"model_name\")"),
        format!("label_join({run}, \"instance\", \"\", \"job\")"),
        format!("label_join({run}, \"model_name\", \",\")"),
        format!("label_join({run}, \"job\", \"-\", \"job\", \"job\")"),
        format!("label_join({run}, \"1bad\", \",\", \"job\")"),
        format!("label_join({run}, \"ok\", \",\", \"bad-src\")"),
        // Dates, of the evaluation time and of values (NaN, ±Inf, huge).
        "hour() + minute() / 100".to_string(),
        "day_of_week() * 100 + day_of_month()".to_string(),
        "day_of_year() + days_in_month() / 100 + month() / 10000 + year()".to_string(),
        format!("hour(timestamp({run}))"),
        format!("day_of_week({run} * 86400 * 3)"),
        format!("year({run} / 0)"),
        format!("minute(-{run} / 0)"),
        format!("month({kv} * 1e10)"),
        format!("days_in_month(({run} - 1) * 86400 * 31)"),
        format!("day_of_year({kv} * 1e20)"),
        "days_in_month(vector(951782400))".to_string(),
        // Trigonometry and friends, inside and outside their domains.
        format!("sin({kv}) + cos({run}) + tan({kv})"),
        format!("asin({kv}) - acos({kv}) + atan({run})"),
        format!("sinh({kv}) + cosh({kv}) - tanh({run})"),
        format!("asinh({run})"),
        format!("acosh({run})"),
        format!("atanh({kv})"),
        format!("atanh({run})"),
        format!("asin({run})"),
        format!("deg({kv}) + rad({run})"),
        "pi()".to_string(),
        format!("sin({run} / 0)"),
        format!("sgn({run} - 2)"),
        format!("clamp({kv}, NaN, 1)"),
        // Native-histogram functions: no native histograms here.
        format!("histogram_count({run})"),
        format!("histogram_sum({run})"),
        format!("histogram_fraction(0, 1, {run})"),
        // count_values, its label replacing or joining the grouping.
        format!("count_values(\"val\", {run})"),
        format!("count_values by (instance) (\"v\", {run})"),
        format!("count_values without (instance) (\"v\", {run})"),
        format!("count_values(\"model_name\", {run})"),
        format!("count_values without (model_name) (\"model_name\", {run})"),
        format!("count_values(\"v\", {kv} / 0)"),
        format!("count_values(\"v\", rate({gen}[5m]))"),
        format!("count_values(\"1v\", {run})"),
        format!("count_values by (v) (\"v\", {up})"),
        // Other aggregations at their edges.
        format!("quantile(NaN, {kv})"),
        format!("topk(NaN, {kv})"),
        format!("topk(9223372036854775808, {kv})"),
        format!("bottomk(2, -{kv})"),
        format!("stddev by (instance) ({run} / 0)"),
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
    for (i, q) in new_constructs().into_iter().enumerate() {
        queries.push((format!("construct {i}"), q));
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

type SeriesMap = BTreeMap<Vec<(String, String)>, Points>;

/// One point of one series: labels, time, Prometheus's value, direct mode's.
type ValueDiff = (Vec<(String, String)>, i64, f64, f64);

/// How two answers of a range query differ.
enum Diff {
    Series(String),
    Times(String),
    /// Same series and times: `(labels, time, Prometheus, direct)`.
    Values(Vec<ValueDiff>),
}

impl Diff {
    fn message(&self) -> String {
        match self {
            Diff::Series(m) | Diff::Times(m) => m.clone(),
            Diff::Values(v) => v
                .iter()
                .take(3)
                .map(|(l, t, p, o)| format!("{l:?} at {t}: Prometheus {p} direct {o}"))
                .collect::<Vec<_>>()
                .join("\n  "),
        }
    }
}

fn compare_series(prom: &SeriesMap, ours: &SeriesMap) -> Result<usize, Diff> {
    let only = |a: &SeriesMap, b: &SeriesMap| {
        a.keys()
            .filter(|k| !b.contains_key(*k))
            .cloned()
            .collect::<Vec<_>>()
    };
    let (p_only, o_only) = (only(prom, ours), only(ours, prom));
    if !p_only.is_empty() || !o_only.is_empty() {
        return Err(Diff::Series(format!(
            "series differ: only Prometheus {p_only:?}; only direct {o_only:?}"
        )));
    }
    let mut n = 0;
    let mut values = Vec::new();
    for (labels, pp) in prom {
        let op = &ours[labels];
        if pp.len() != op.len() || pp.iter().zip(op).any(|(a, b)| a.0 != b.0) {
            let pt: Vec<i64> = pp.iter().map(|p| p.0).collect();
            let ot: Vec<i64> = op.iter().map(|p| p.0).collect();
            return Err(Diff::Times(format!(
                "{labels:?}: timestamps differ\n  prometheus {pt:?}\n  direct     {ot:?}"
            )));
        }
        for (a, b) in pp.iter().zip(op) {
            if !same_value(a.1, b.1) {
                values.push((labels.clone(), a.0, a.1, b.1));
            }
        }
        n += pp.len();
    }
    if values.is_empty() {
        Ok(n)
    } else {
        Err(Diff::Values(values))
    }
}

fn direct_series(m: eval::Matrix) -> SeriesMap {
    m.into_iter()
        .map(|s| (s.labels.into_vec(), s.points))
        .collect()
}

/// Compares one query's answers; returns the number of points compared.
fn compare(
    prom: Result<serde_json::Value, String>,
    ours: Result<eval::Matrix, EvalError>,
) -> Result<usize, String> {
    match (prom, ours) {
        (Err(_), Err(_)) => Ok(0),
        (Err(p), Ok(_)) => Err(format!("Prometheus failed, direct mode did not: {p}")),
        (Ok(_), Err(o)) => Err(format!("direct mode failed, Prometheus did not: {o}")),
        (Ok(p), Ok(o)) => {
            compare_series(&prometheus_matrix(&p)?, &direct_series(o)).map_err(|d| d.message())
        }
    }
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
    instant_orders_like_prometheus(&prom, &store);
    quirks_like_prometheus(&prom, &store);
}

/// An instant answer, in the form both sides can be compared in.
#[derive(Debug)]
enum Answer {
    Scalar(f64),
    String(String),
    /// In the order answered.
    Vector(Vec<(Vec<(String, String)>, f64)>),
    Matrix(BTreeMap<Vec<(String, String)>, Points>),
}

fn sorted_labels(metric: &serde_json::Value) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> =
        serde_json::from_value::<BTreeMap<String, String>>(metric.clone())
            .unwrap_or_default()
            .into_iter()
            .collect();
    labels.sort();
    labels
}

fn json_value(v: &serde_json::Value) -> f64 {
    v.as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::MIN)
}

fn prometheus_answer(data: &serde_json::Value) -> Result<Answer, String> {
    let result = &data["result"];
    Ok(match data["resultType"].as_str() {
        Some("scalar") => Answer::Scalar(json_value(&result[1])),
        Some("string") => Answer::String(result[1].as_str().unwrap_or_default().to_string()),
        Some("vector") => Answer::Vector(
            result
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| (sorted_labels(&s["metric"]), json_value(&s["value"][1])))
                .collect(),
        ),
        Some("matrix") => Answer::Matrix(prometheus_matrix(data)?),
        other => return Err(format!("unknown result type {other:?}")),
    })
}

fn direct_answer(v: eval::Value) -> Answer {
    match v {
        eval::Value::Scalar { v, .. } => Answer::Scalar(v),
        eval::Value::String(s) => Answer::String(s),
        eval::Value::Vector(v) => {
            Answer::Vector(v.into_iter().map(|s| (s.labels.into_vec(), s.v)).collect())
        }
        eval::Value::Matrix(m) => Answer::Matrix(
            m.into_iter()
                .map(|s| (s.labels.into_vec(), s.points))
                .collect(),
        ),
    }
}

/// Compares instant answers: the same series with the same values and,
/// when `ordered`, in the same order, except among equal values (whose
/// order Prometheus leaves undefined). Returns the number of values.
fn compare_instant(
    prom: Result<serde_json::Value, String>,
    ours: Result<eval::Value, EvalError>,
    ordered: bool,
) -> Result<usize, String> {
    match (prom, ours) {
        (Err(_), Err(_)) => Ok(0),
        (Err(p), Ok(_)) => Err(format!("Prometheus failed, direct mode did not: {p}")),
        (Ok(_), Err(o)) => Err(format!("direct mode failed, Prometheus did not: {o}")),
        (Ok(p), Ok(o)) => compare_answers(&prometheus_answer(&p)?, &direct_answer(o), ordered),
    }
}

fn compare_answers(theirs: &Answer, ours: &Answer, ordered: bool) -> Result<usize, String> {
    match (theirs, ours) {
        (Answer::Scalar(a), Answer::Scalar(b)) if same_value(*a, *b) => Ok(1),
        (Answer::String(a), Answer::String(b)) if a == b => Ok(1),
        (Answer::Matrix(a), Answer::Matrix(b)) => {
            if a.len() != b.len() {
                return Err(format!("Prometheus {a:?}\ndirect     {b:?}"));
            }
            let mut n = 0;
            for ((la, pa), (lb, pb)) in a.iter().zip(b) {
                let same = la == lb
                    && pa.len() == pb.len()
                    && pa
                        .iter()
                        .zip(pb)
                        .all(|(x, y)| x.0 == y.0 && same_value(x.1, y.1));
                if !same {
                    return Err(format!(
                        "Prometheus {la:?} {pa:?}\ndirect     {lb:?} {pb:?}"
                    ));
                }
                n += pa.len();
            }
            Ok(n)
        }
        (Answer::Vector(t), Answer::Vector(o)) => {
            let by_labels = |v: &[(Vec<(String, String)>, f64)]| -> BTreeMap<_, f64> {
                v.iter().cloned().collect()
            };
            let (tm, om) = (by_labels(t), by_labels(o));
            let same = tm.len() == om.len()
                && tm.len() == t.len()
                && tm
                    .iter()
                    .zip(&om)
                    .all(|((la, a), (lb, b))| la == lb && same_value(*a, *b));
            if !same {
                return Err(format!("Prometheus {t:?}\ndirect     {o:?}"));
            }
            if ordered {
                for (i, ((tl, tv), (ol, ov))) in t.iter().zip(o).enumerate() {
                    let tied = t.iter().filter(|(_, v)| same_value(*v, *tv)).count() > 1;
                    if !same_value(*tv, *ov) || !(tied || tl == ol) {
                        return Err(format!(
                            "order differs at {i}:\nPrometheus {t:?}\ndirect     {o:?}"
                        ));
                    }
                }
            }
            Ok(t.len())
        }
        _ => Err(format!("Prometheus {theirs:?}\ndirect     {ours:?}")),
    }
}

fn prometheus_instant(
    prom: &Prometheus,
    expr: &str,
    t_ms: i64,
) -> Result<serde_json::Value, String> {
    prom.query_at(
        expr,
        Some(&format!(
            "{}.{:03}",
            t_ms.div_euclid(1000),
            t_ms.rem_euclid(1000)
        )),
    )
}

/// Instant answers whose order Prometheus defines: `sort`, `sort_desc`,
/// `topk`/`bottomk` (best first within each group, groups in order of
/// appearance), aggregation groups in order of appearance, and orders
/// kept through element-wise operations.
fn instant_orders_like_prometheus(prom: &Prometheus, store: &Store) {
    let gen = names::GENERATION_TOKENS;
    let run = names::NUM_REQUESTS_RUNNING;
    let kv = names::KV_CACHE_USAGE_PERC;
    let exprs = [
        format!("sort(sum by (instance, model_name) (rate({gen}[5m])))"),
        format!("sort_desc(sum by (instance, model_name) (rate({gen}[5m])))"),
        format!("sort_desc({kv})"),
        format!("sort({run} / 0)"),
        format!("(sort_desc(max by (instance) ({run})))"),
        format!("sort_desc({kv}) * 100"),
        format!("-sort({kv})"),
        format!("topk(3, {kv})"),
        format!("bottomk(3, {kv})"),
        format!("topk by (instance) (1, {kv})"),
        format!("bottomk without (engine) (2, {run})"),
        format!("bottomk(4, {kv} / 0)"),
        format!("topk(20, {run})"),
        format!("sort(topk(5, {kv}))"),
        format!("sum by (model_name) ({run})"),
        format!("count_values(\"v\", {run})"),
        format!("{run} and on(instance) ({run} > 0)"),
        format!("{run} or {kv}"),
    ];
    let mut compared = 0;
    for minute in [10, 25, 38] {
        let t_ms = BASE_MS + minute * 60_000 + 7_000;
        for expr in &exprs {
            let p = prometheus_instant(prom, expr, t_ms);
            if let Ok(data) = &p {
                assert!(
                    data["result"].as_array().is_some_and(|r| r.len() > 1),
                    "{expr} at minute {minute}: too few series: {data}"
                );
            }
            compare_instant(p, eval::instant(store, expr, t_ms), true)
                .unwrap_or_else(|e| panic!("{expr} at minute {minute}: {e}"));
            compared += 1;
        }
    }
    println!("instant order: {compared} answers in the same order");
}

/// Where Prometheus 2.42's answer follows from how its engine rewrites `@`
/// into offsets rather than from `@`'s definition, direct mode answers the
/// same. Each check first shows the quirk on Prometheus's side.
fn quirks_like_prometheus(prom: &Prometheus, store: &Store) {
    let run = names::NUM_REQUESTS_RUNNING;
    let kv = names::KV_CACHE_USAGE_PERC;
    let at_s = BASE_MS / 1000 + 20 * 60 + 7;
    let at_ms = at_s * 1000;
    let range = |expr: &str, start: i64, end: i64, step: i64| {
        let p = prom
            .query_range(expr, start, end, step)
            .unwrap_or_else(|e| panic!("{expr}: {e}"));
        let theirs = prometheus_matrix(&p).unwrap_or_else(|e| panic!("{expr}: {e}"));
        compare(Ok(p), eval::range(store, expr, start, end, step))
            .unwrap_or_else(|e| panic!("{expr}: {e}"));
        theirs
    };
    let instant = |expr: &str, t_ms: i64| {
        let p = prometheus_instant(prom, expr, t_ms).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let n = p["result"].as_array().map_or(0, Vec::len);
        compare_instant(Ok(p), eval::instant(store, expr, t_ms), false)
            .unwrap_or_else(|e| panic!("{expr}: {e}"));
        n
    };

    // 1. predict_linear is evaluated at every step even over `x[r] @ t`:
    // its window moves with the step while the samples stay those up to t.
    let slid = range(
        &format!("predict_linear({kv}[10m] @ {at_s}, 0)"),
        at_ms,
        at_ms + 12 * 60_000,
        60_000,
    );
    assert!(
        slid.values()
            .any(|p| p.len() < 13 && p.windows(2).any(|w| w[0].1 != w[1].1)),
        "predict_linear over @ no longer slides: {slid:?}"
    );

    // 2. An aggregation over an `@` selector is evaluated once, with its
    // parameter's value at the first step (here before any data: k < 1).
    let start = BASE_MS - 120_000;
    let end = BASE_MS + 30 * 60_000;
    let once = range(
        &format!("topk(scalar(count({run}) or vector(0)) - 5, {run} @ {at_s})"),
        start,
        end,
        60_000,
    );
    let per_step = range(
        &format!("topk(scalar(count({run}) or vector(0)) - 5, {run})"),
        start,
        end,
        60_000,
    );
    assert!(once.is_empty() && !per_step.is_empty(), "{once:?}");

    // 3. `@ start()` inside an aggregation parameter is not resolved.
    let ignored = range(
        &format!("topk(scalar(count({run} @ start()) or vector(1)), {run})"),
        start,
        end,
        60_000,
    );
    let plain = range(
        &format!("topk(scalar(count({run}) or vector(1)), {run})"),
        start,
        end,
        60_000,
    );
    assert_eq!(ignored, plain);

    // 4. timestamp(x @ t offset o) looks back from t, not t - o, among the
    // samples up to t - o: gpu-c's last sample before its outage is found
    // by the selector but not by timestamp().
    let gpu_c = format!("{run}{{instance=\"gpu-c:8000\"}} @ {at_s} offset 4m");
    assert!(instant(&gpu_c, at_ms) > 0);
    assert_eq!(instant(&format!("timestamp({gpu_c})"), at_ms), 0);

    // 5. `@` inside a subquery whose aligned start equals the query's keeps
    // offsets computed for the query: with offset -5m it reads 5 minutes
    // early, outside the samples selected for it.
    let sub = format!("max_over_time(({run} @ {at_s})[5m:1m] offset -5m)");
    let aligned = BASE_MS + 20 * 60_000 + 40_000;
    assert_eq!(aligned % 60_000, 0);
    assert_eq!(instant(&sub, aligned), 0);
    assert!(instant(&sub, aligned + 7_000) > 0);

    // 6. Go's math library is not correctly rounded: Prometheus's sin(2.5)
    // is one bit below the platform's, and count_values turns that bit
    // into its label (direct mode computes logarithms as Go does, not the
    // other functions). Values agree within 1e-9.
    let sin = "count_values(\"v\", sin(vector(2.5)))";
    let theirs = match prometheus_instant(prom, sin, at_ms).map(|d| prometheus_answer(&d)) {
        Ok(Ok(Answer::Vector(v))) => v,
        other => panic!("{sin}: {other:?}"),
    };
    let ours = match eval::instant(store, sin, at_ms).map(direct_answer) {
        Ok(Answer::Vector(v)) => v,
        other => panic!("{sin}: {other:?}"),
    };
    let label = |v: &[(Vec<(String, String)>, f64)]| -> f64 {
        v.first()
            .and_then(|(l, _)| l.first())
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(f64::NAN)
    };
    let (a, b) = (label(&theirs), label(&ours));
    assert_eq!(a, 0.5984721441039564, "{theirs:?}");
    assert_eq!(b.to_bits(), a.to_bits() + 1, "{ours:?}");
    let ln3 = "count_values(\"v\", ln(vector(3)))";
    compare_instant(
        prometheus_instant(prom, ln3, at_ms),
        eval::instant(store, ln3, at_ms),
        true,
    )
    .unwrap_or_else(|e| panic!("{ln3}: {e}"));

    // 7. The order a step's inputs come in changes a variance of sample
    // times beyond 1e-9: Prometheus's own instant answers for the same
    // samples in two orders differ (direct mode gives both). In range
    // queries Prometheus takes them in a Go map's order, which changes
    // between runs, so the generated test compares such values at instants.
    let gen = names::GENERATION_TOKENS;
    let scalar_of = |expr: &str| -> f64 {
        let p = prometheus_instant(prom, expr, at_ms).unwrap_or_else(|e| panic!("{expr}: {e}"));
        let v = match prometheus_answer(&p) {
            Ok(Answer::Vector(v)) if v.len() == 1 => v[0].1,
            other => panic!("{expr}: {other:?}"),
        };
        compare_instant(Ok(p), eval::instant(store, expr, at_ms), false)
            .unwrap_or_else(|e| panic!("{expr}: {e}"));
        v
    };
    let by_labels = scalar_of(&format!("stddev(timestamp({gen}))"));
    let by_value = scalar_of(&format!("stddev(sort_desc(timestamp({gen})))"));
    assert!(!same_value(by_labels, by_value), "{by_labels} {by_value}");
    println!("Prometheus 2.42 quirks: 5 answered alike, 2 documented");
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
            if both_failed && step == grids[0].2 {
                if let Err(e) = &o {
                    println!("both refuse {name}: {expr}: {e}");
                }
            }
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

/// A seeded generator of well-typed PromQL over the timeline's metrics:
/// selectors with matchers, `offset` and `@`, subqueries, every function
/// and aggregation, binary operators with `on`/`ignoring` and
/// `group_left`/`group_right`. Binary operands are parenthesised, so
/// precedence never changes what was generated.
#[derive(Clone)]
struct ExprGen {
    state: u64,
    /// A metric every selector of the current subtree uses (so both sides
    /// of a binary operator have series that match).
    metric: Option<&'static str>,
    /// Nudge what Go's math library computes (`ln`, `sin`, `^`, ...) by a
    /// bit or two, as Go's results may differ (see [`Accepted::LastBit`]).
    nudge: bool,
}

/// 2^-52.
const NUDGE: &str = "2.220446049250313e-16";

const GEN_GAUGES: [&str; 5] = [
    names::NUM_REQUESTS_RUNNING,
    names::NUM_REQUESTS_WAITING,
    names::KV_CACHE_USAGE_PERC,
    names::UP,
    names::SCRAPE_SAMPLES_SCRAPED,
];
const GEN_COUNTERS: [&str; 4] = [
    names::GENERATION_TOKENS,
    names::PROMPT_TOKENS,
    names::REQUEST_SUCCESS,
    names::PROCESS_CPU_SECONDS,
];
const GEN_LABELS: [&str; 7] = [
    "instance",
    "job",
    "model_name",
    "engine",
    "le",
    "__name__",
    "x",
];
const GEN_MATCHERS: [&str; 11] = [
    "job=\"vllm\"",
    "job!=\"vllm\"",
    "job=~\"vllm.*\"",
    "instance=~\"gpu-[ab].*\"",
    "instance!=\"gpu-c:8000\"",
    "model_name=~\".*Qwen.*\"",
    "model_name!~\"meta.*\"",
    "engine=\"0\"",
    "le=\"+Inf\"",
    "le!=\"+Inf\"",
    "x=\"\"",
];
const GEN_SCALARS: [&str; 15] = [
    "0", "1", "2", "3", "0.5", "-1", "10", "100", "0.001", "NaN", "Inf", "-Inf", "0.25", "60",
    "600",
];

impl ExprGen {
    fn new(seed: u64) -> ExprGen {
        ExprGen {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            metric: None,
            nudge: false,
        }
    }

    /// xorshift64*.
    fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() >> 33) as usize % n.max(1)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    /// `e`, or in the nudged twin `e` with each value changed in its last
    /// bits, relatively and (for values near 0) by about 2^-52 absolutely,
    /// by amounts that depend on its digits: what a math library that is
    /// not correctly rounded may give (Go's `acos` next to 1 is off by bits
    /// of pi/2). NaN and infinities stay; the metric name goes (`atan2`
    /// keeps it: answers are compared without it).
    fn nudged(&self, e: String, vector: bool) -> String {
        if !self.nudge {
            return e;
        }
        let digits = format!("(({e}) * 1000003 % 3)");
        let factor = if vector {
            // `> -4` drops NaN remainders, `or` gives those series 1.
            format!("((1 + {NUDGE} * ({digits} > -4)) or ((({e}) > bool -Inf) * 0 + 1))")
        } else {
            format!("(1 + {NUDGE} * (({digits} > bool 1) + ({digits} > bool 2)))")
        };
        format!("((({e}) + 1) * {factor} - 1)")
    }

    /// An `@` time: inside the timeline (on and off the minute), before and
    /// after it, fractional, `start()`, `end()`.
    fn at(&mut self) -> String {
        let base = BASE_MS / 1000;
        match self.below(8) {
            0 => format!("{}", base + 20 * 60 + 7),
            1 => format!("{}", base + 10 * 60 + 40),
            2 => format!("{}", base - 3600),
            3 => format!("{}", base + 50 * 60),
            4 => format!("{}.5", base + 15 * 60),
            5 => "start()".to_string(),
            6 => "end()".to_string(),
            _ => format!("{}", base + 30 * 60),
        }
    }

    fn modifiers(&mut self) -> String {
        let offset = if self.chance(20) {
            let o = self.pick(&["1m", "5m", "30s", "90s", "-1m", "-3m", "10m", "1h"]);
            format!(" offset {o}")
        } else {
            String::new()
        };
        let at = if self.chance(15) {
            format!(" @ {}", self.at())
        } else {
            String::new()
        };
        if self.chance(50) {
            format!("{offset}{at}")
        } else {
            format!("{at}{offset}")
        }
    }

    fn labels(&mut self) -> String {
        let n = self.below(3);
        let mut chosen: Vec<&str> = Vec::new();
        for _ in 0..n {
            let l = self.pick(&GEN_LABELS);
            if !chosen.contains(&l) {
                chosen.push(l);
            }
        }
        chosen.join(", ")
    }

    fn name(&mut self) -> &'static str {
        if let Some(m) = self.metric {
            return m;
        }
        match self.below(10) {
            0..=4 => self.pick(&GEN_GAUGES),
            5..=8 => self.pick(&GEN_COUNTERS),
            _ => {
                if self.chance(50) {
                    "vllm:time_to_first_token_seconds_bucket"
                } else {
                    "vllm:e2e_request_latency_seconds_bucket"
                }
            }
        }
    }

    fn selector_text(&mut self) -> String {
        let name = self.name();
        let mut matchers: Vec<&str> = Vec::new();
        for _ in 0..self.below(3) {
            matchers.push(self.pick(&GEN_MATCHERS));
        }
        if matchers.is_empty() {
            name.to_string()
        } else {
            format!("{name}{{{}}}", matchers.join(", "))
        }
    }

    fn selector(&mut self) -> String {
        let s = self.selector_text();
        format!("{s}{}", self.modifiers())
    }

    fn scalar(&mut self, depth: u32) -> String {
        if depth == 0 || self.chance(45) {
            return self.pick(&GEN_SCALARS).to_string();
        }
        match self.below(7) {
            0 | 1 => format!("scalar({})", self.vector(depth - 1)),
            2 => "time()".to_string(),
            3 => "pi()".to_string(),
            4 => format!("-({})", self.scalar(depth - 1)),
            5 => {
                let op = self.pick(&["==", "!=", ">", "<", ">=", "<="]);
                format!(
                    "({}) {op} bool ({})",
                    self.scalar(depth - 1),
                    self.scalar(depth - 1)
                )
            }
            _ => {
                let op = self.pick(&["+", "-", "*", "/", "%", "^", "atan2"]);
                let e = format!(
                    "({}) {op} ({})",
                    self.scalar(depth - 1),
                    self.scalar(depth - 1)
                );
                if op == "^" || op == "atan2" {
                    self.nudged(e, false)
                } else {
                    e
                }
            }
        }
    }

    /// A range vector: a range selector or a subquery.
    fn range(&mut self, depth: u32) -> String {
        if depth == 0 || self.chance(70) {
            let r = self.pick(&["30s", "1m", "2m", "5m", "10m"]);
            let s = self.selector_text();
            return format!("{s}[{r}]{}", self.modifiers());
        }
        let r = self.pick(&["2m", "5m", "10m"]);
        let step = self.pick(&["", "15s", "30s", "1m", "45s", "2m"]);
        let inner = self.vector(depth - 1);
        format!("({inner})[{r}:{step}]{}", self.modifiers())
    }

    fn range_call(&mut self, depth: u32) -> String {
        let f = self.pick(&[
            "rate",
            "increase",
            "delta",
            "irate",
            "idelta",
            "deriv",
            "changes",
            "resets",
            "avg_over_time",
            "min_over_time",
            "max_over_time",
            "sum_over_time",
            "count_over_time",
            "last_over_time",
            "present_over_time",
            "absent_over_time",
            "stddev_over_time",
            "stdvar_over_time",
            "quantile_over_time",
            "predict_linear",
            "holt_winters",
        ]);
        let r = self.range(depth);
        match f {
            "quantile_over_time" => {
                let q = self.pick(&["0", "0.5", "0.9", "1", "-1", "2", "NaN"]);
                format!("quantile_over_time({q}, {r})")
            }
            "predict_linear" => format!("predict_linear({r}, {})", self.scalar(depth - 1)),
            "holt_winters" => {
                let sf = self.pick(&["0.1", "0.5", "0.9", "1.5"]);
                let tf = self.pick(&["0.1", "0.5", "0.9"]);
                format!("holt_winters({r}, {sf}, {tf})")
            }
            _ => format!("{f}({r})"),
        }
    }

    fn instant_call(&mut self, depth: u32) -> String {
        let v = self.vector(depth - 1);
        match self.below(16) {
            0..=4 => {
                let f = self.pick(&[
                    "abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "sgn", "sin",
                    "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
                    "atanh", "deg", "rad",
                ]);
                let e = format!("{f}({v})");
                if ["abs", "ceil", "floor", "sqrt", "sgn", "deg", "rad"].contains(&f) {
                    e
                } else {
                    self.nudged(e, true)
                }
            }
            5 => format!("round({v})"),
            6 => format!("round({v}, {})", self.scalar(depth - 1)),
            7 => format!(
                "clamp({v}, {}, {})",
                self.scalar(depth - 1),
                self.scalar(depth - 1)
            ),
            8 => {
                let f = self.pick(&["clamp_min", "clamp_max"]);
                format!("{f}({v}, {})", self.scalar(depth - 1))
            }
            9 => format!("timestamp({v})"),
            10 => {
                let f = self.pick(&[
                    "hour",
                    "minute",
                    "month",
                    "year",
                    "day_of_month",
                    "day_of_week",
                    "day_of_year",
                    "days_in_month",
                ]);
                if self.chance(30) {
                    format!("{f}()")
                } else {
                    format!("{f}({v})")
                }
            }
            11 => match self.below(4) {
                0 => format!("label_replace({v}, \"dst\", \"$1\", \"instance\", \"(.*):.*\")"),
                1 => format!(
                    "label_replace({v}, \"model_name\", \"x\", \"model_name\", \".*Qwen.*\")"
                ),
                2 => format!("label_replace({v}, \"instance\", \"\", \"instance\", \".*\")"),
                _ => format!("label_replace({v}, \"__name__\", \"renamed\", \"job\", \"vllm\")"),
            },
            12 => match self.below(3) {
                0 => format!("label_join({v}, \"j\", \"-\", \"instance\", \"job\")"),
                1 => format!("label_join({v}, \"model_name\", \"\", \"job\")"),
                _ => format!("label_join({v}, \"x\", \",\")"),
            },
            13 => format!("{}({v})", self.pick(&["sort", "sort_desc", "absent"])),
            14 => {
                let q = self.pick(&["0.5", "0.9", "0.99", "0", "1", "NaN", "-1"]);
                let b = self.pick(&[
                    "vllm:time_to_first_token_seconds_bucket",
                    "vllm:e2e_request_latency_seconds_bucket",
                ]);
                let buckets = match self.below(4) {
                    0 => format!("rate({b}[5m])"),
                    1 => format!("sum by (le) (rate({b}[2m]))"),
                    2 => format!("sum by (le, instance) ({b})"),
                    _ => v,
                };
                format!("histogram_quantile({q}, {buckets})")
            }
            _ => format!("vector({})", self.scalar(depth - 1)),
        }
    }

    fn aggregation(&mut self, depth: u32) -> String {
        let op = self.pick(&[
            "sum",
            "avg",
            "min",
            "max",
            "count",
            "group",
            "stddev",
            "stdvar",
            "quantile",
            "count_values",
        ]);
        let modifier = match self.below(10) {
            0..=3 => String::new(),
            4..=6 => format!(" by ({})", self.labels()),
            _ => format!(" without ({})", self.labels()),
        };
        let param = match op {
            "quantile" => format!("{}, ", self.pick(&["0.5", "0.9", "0", "1", "2", "NaN"])),
            "count_values" => format!("{}, ", self.pick(&["\"v\"", "\"model_name\"", "\"le\""])),
            _ => String::new(),
        };
        let v = self.vector(depth - 1);
        if self.chance(50) {
            format!("{op}{modifier} ({param}{v})")
        } else {
            format!("{op}({param}{v}){modifier}")
        }
    }

    /// `topk`/`bottomk` over a selector or a range function of one: where
    /// Prometheus's order of equal values is its storage order, not a map's.
    fn top(&mut self) -> String {
        let op = self.pick(&["topk", "bottomk"]);
        let k = self.pick(&["1", "2", "3", "5", "0", "NaN", "scalar(count(up))"]);
        let modifier = match self.below(4) {
            0 => format!(" by ({})", self.labels()),
            1 => format!(" without ({})", self.labels()),
            _ => String::new(),
        };
        let input = if self.chance(50) {
            self.selector()
        } else {
            let f = self.pick(&["rate", "max_over_time", "deriv", "last_over_time"]);
            let r = self.pick(&["1m", "5m"]);
            format!("{f}({}[{r}]{})", self.selector_text(), self.modifiers())
        };
        format!("{op}{modifier} ({k}, {input})")
    }

    fn binary(&mut self, depth: u32) -> String {
        if self.chance(40) {
            let v = self.vector(depth - 1);
            let s = self.scalar(depth - 1);
            let op = self.pick(&[
                "+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=",
            ]);
            let bool_ = if ["==", "!=", ">", "<", ">=", "<="].contains(&op) && self.chance(40) {
                " bool"
            } else {
                ""
            };
            let e = if self.chance(50) {
                format!("({v}) {op}{bool_} ({s})")
            } else {
                format!("({s}) {op}{bool_} ({v})")
            };
            return if op == "^" || op == "atan2" {
                self.nudged(e, true)
            } else {
                e
            };
        }
        let shared = self.metric;
        if shared.is_none() && self.chance(50) {
            self.metric = Some(if self.chance(50) {
                self.pick(&GEN_GAUGES)
            } else {
                self.pick(&GEN_COUNTERS)
            });
        }
        let l = self.vector(depth - 1);
        let r = self.vector(depth - 1);
        self.metric = shared;
        let op = self.pick(&[
            "+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or",
            "unless",
        ]);
        let set = ["and", "or", "unless"].contains(&op);
        let comparison = ["==", "!=", ">", "<", ">=", "<="].contains(&op);
        let mut modifier = String::new();
        if comparison && self.chance(40) {
            modifier.push_str(" bool");
        }
        match self.below(3) {
            0 => modifier.push_str(&format!(" on({})", self.labels())),
            1 => modifier.push_str(&format!(" ignoring({})", self.labels())),
            _ => {}
        }
        if !set && !modifier.ends_with("bool") && !modifier.is_empty() && self.chance(30) {
            let side = self.pick(&["group_left", "group_right"]);
            modifier.push_str(&format!(" {side}({})", self.labels()));
        }
        let e = format!("({l}) {op}{modifier} ({r})");
        if op == "^" || op == "atan2" {
            self.nudged(e, true)
        } else {
            e
        }
    }

    fn vector(&mut self, depth: u32) -> String {
        if depth == 0 {
            return self.selector();
        }
        match self.below(100) {
            0..=14 => self.selector(),
            15..=36 => self.range_call(depth),
            37..=52 => self.instant_call(depth),
            53..=66 => self.aggregation(depth),
            67..=71 => self.top(),
            72..=93 => self.binary(depth),
            94..=96 => format!("-({})", self.vector(depth - 1)),
            _ => format!("({})", self.vector(depth - 1)),
        }
    }

    /// One expression, and whether its instant answer's order is defined:
    /// sorted at the top, or the best of a `topk`/`bottomk`.
    fn expression(&mut self) -> (String, bool) {
        let depth = 1 + self.below(3) as u32;
        match self.below(100) {
            0..=5 => (self.scalar(depth), false),
            6..=8 => (self.range(depth), false),
            9..=13 => {
                let f = self.pick(&["sort", "sort_desc"]);
                (format!("{f}({})", self.vector(depth)), true)
            }
            14..=18 => (self.top(), true),
            _ => (self.vector(depth), false),
        }
    }
}

/// Label values that are numbers (`count_values`' labels) rounded to 12
/// significant digits: Go's math library is not correctly rounded, so a
/// transcendental function's result may differ from direct mode's in the
/// last bit, and `count_values` turns that bit into a different label.
fn rounded_labels(labels: &[(String, String)]) -> Vec<(String, String)> {
    labels
        .iter()
        .map(|(k, v)| match v.parse::<f64>() {
            Ok(f) if f.is_finite() => (k.clone(), format!("{f:.11e}")),
            _ => (k.clone(), v.clone()),
        })
        .collect()
}

fn float_labels_rounded(m: &SeriesMap) -> SeriesMap {
    m.iter()
        .map(|(labels, points)| (rounded_labels(labels), points.clone()))
        .collect()
}

fn answer_labels_rounded(a: &Answer) -> Answer {
    match a {
        Answer::Vector(v) => Answer::Vector(
            v.iter()
                .map(|(labels, value)| (rounded_labels(labels), *value))
                .collect(),
        ),
        Answer::Matrix(m) => Answer::Matrix(float_labels_rounded(m)),
        Answer::Scalar(v) => Answer::Scalar(*v),
        Answer::String(s) => Answer::String(s.clone()),
    }
}

/// [`compare_instant`] for generated queries, accepting number labels
/// that differ in their last bits ([`Accepted::NumberLabels`]).
fn compare_generated_instant(
    prom: Result<serde_json::Value, String>,
    ours: Result<eval::Value, EvalError>,
    ordered: bool,
) -> Result<(usize, Option<Accepted>), String> {
    let (p, o) = match (prom, ours) {
        (Ok(p), Ok(o)) => (prometheus_answer(&p)?, direct_answer(o)),
        (p, o) => return compare_instant(p, o, ordered).map(|n| (n, None)),
    };
    match compare_answers(&p, &o, ordered) {
        Ok(n) => Ok((n, None)),
        Err(e) => {
            let (pr, or) = (answer_labels_rounded(&p), answer_labels_rounded(&o));
            match compare_answers(&pr, &or, ordered) {
                Ok(n) if p.len() == pr.len() && o.len() == or.len() => {
                    Ok((n, Some(Accepted::NumberLabels)))
                }
                _ => Err(e),
            }
        }
    }
}

impl Answer {
    /// Distinct series, for telling a rounding that merged labels.
    fn len(&self) -> usize {
        match self {
            Answer::Vector(v) => v.iter().map(|x| &x.0).collect::<BTreeSet<_>>().len(),
            Answer::Matrix(m) => m.len(),
            _ => 1,
        }
    }
}

/// Why a generated query's answers were accepted although not equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Accepted {
    /// Number labels within the last bits (see [`float_labels_rounded`]).
    NumberLabels,
    /// An answer that changes when the results of transcendental
    /// functions (`ln`, `sin`, `^`, `atan2`, ...) change in their last bit
    /// or two ([`ExprGen::nudge`]): Go's math library, which Prometheus
    /// uses, is not correctly rounded, so such an answer cannot be expected
    /// to match (`sin` of a huge power, `log2` of a value next to 1, the
    /// variance of `atan2`s next to pi/2).
    LastBit,
    /// A range answer's values that depend on the order Prometheus sums
    /// (or averages, or folds into a variance) a step's inputs in: the
    /// order of a Go map of series, which changes between runs, and with
    /// ill-conditioned inputs (variances of timestamps) changes more than
    /// 1e-9. An instant query at the same time has a defined order: there
    /// both sides agree, and direct mode's range answer is the same.
    SummationOrder,
}

/// [`compare`] for generated range queries, accepting the two differences
/// Prometheus's own answers show between runs or platforms ([`Accepted`]).
fn compare_generated_range(
    prom: &Prometheus,
    store: &Store,
    expr: &str,
    p: Result<serde_json::Value, String>,
    o: Result<eval::Matrix, EvalError>,
) -> Result<(usize, Option<Accepted>), String> {
    let (pm, om) = match (p, o) {
        (Ok(p), Ok(o)) => (prometheus_matrix(&p)?, direct_series(o)),
        (p, o) => return compare(p, o).map(|n| (n, None)),
    };
    let diff = match compare_series(&pm, &om) {
        Ok(n) => return Ok((n, None)),
        Err(d) => d,
    };
    match diff {
        Diff::Series(_) => {
            let (pr, or) = (float_labels_rounded(&pm), float_labels_rounded(&om));
            if pr.len() == pm.len() && or.len() == om.len() {
                if let Ok(n) = compare_series(&pr, &or) {
                    return Ok((n, Some(Accepted::NumberLabels)));
                }
            }
            Err(diff.message())
        }
        Diff::Values(ref values) => {
            let order_sensitive = ["sum", "avg", "stddev", "stdvar"]
                .iter()
                .any(|op| expr.contains(&format!("{op}(")) || expr.contains(&format!("{op} ")));
            if !order_sensitive {
                return Err(diff.message());
            }
            for (labels, t, _, ours) in values {
                let answer = prometheus_instant(prom, expr, *t)?;
                let theirs = match prometheus_answer(&answer)? {
                    Answer::Vector(v) => v.into_iter().find(|(l, _)| l == labels).map(|x| x.1),
                    Answer::Scalar(v) => Some(v),
                    _ => None,
                };
                let instant_ok = compare_instant(Ok(answer), eval::instant(store, expr, *t), false);
                if instant_ok.is_err() || !theirs.is_some_and(|v| same_value(v, *ours)) {
                    return Err(format!(
                        "{}\n  and at {t} as an instant query: {instant_ok:?}",
                        diff.message()
                    ));
                }
            }
            Ok((0, Some(Accepted::SummationOrder)))
        }
        Diff::Times(_) => Err(diff.message()),
    }
}

fn without_names(labels: &[(String, String)]) -> Vec<(String, String)> {
    labels
        .iter()
        .filter(|(k, _)| k != "__name__")
        .cloned()
        .collect()
}

/// Direct mode's answer with the metric names dropped; `None` when that
/// would merge series.
fn nameless(a: Answer) -> Option<Answer> {
    Some(match a {
        Answer::Vector(v) => {
            let n = v.len();
            let v: Vec<_> = v.iter().map(|(l, x)| (without_names(l), *x)).collect();
            let distinct: BTreeSet<_> = v.iter().map(|x| &x.0).collect();
            if distinct.len() != n {
                return None;
            }
            Answer::Vector(v)
        }
        Answer::Matrix(m) => {
            let n = m.len();
            let m: SeriesMap = m
                .iter()
                .map(|(l, p)| (without_names(l), p.clone()))
                .collect();
            if m.len() != n {
                return None;
            }
            Answer::Matrix(m)
        }
        other => other,
    })
}

/// Whether direct mode's answer to `expr` changes when its transcendental
/// results are nudged by a bit or two (`nudged`, see [`Accepted::LastBit`]).
fn depends_on_last_bits(
    expr: &str,
    nudged: &str,
    answer: impl Fn(&str) -> Result<Answer, EvalError>,
) -> bool {
    if expr == nudged {
        return false;
    }
    match (answer(expr), answer(nudged)) {
        (Ok(a), Ok(b)) => match (nameless(a), nameless(b)) {
            (Some(a), Some(b)) => compare_answers(&a, &b, false).is_err(),
            _ => false,
        },
        // A nudged query that fails proves nothing.
        _ => false,
    }
}

/// A failure message short enough to read.
fn clip(s: &str) -> String {
    match s.char_indices().nth(1500) {
        Some((i, _)) => format!("{} ...", &s[..i]),
        None => s.to_string(),
    }
}

#[test]
fn generated_expressions_answer_like_prometheus() {
    let count: usize = std::env::var("EVAL_GENERATED_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let seed: u64 = std::env::var("EVAL_GENERATED_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(42);
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
    let started = Instant::now();

    let minute_aligned = BASE_MS - BASE_MS % 60_000;
    let grids = [
        (
            BASE_MS + 5 * 60_000 + 7_000,
            BASE_MS + 35 * 60_000 + 7_000,
            60_000,
        ),
        (minute_aligned, minute_aligned + 45 * 60_000, 90_000),
        (BASE_MS + 10 * 60_000, BASE_MS + 20 * 60_000, 15_000),
    ];
    let instants = [
        BASE_MS + 10 * 60_000 + 7_000,
        minute_aligned + 21 * 60_000,
        BASE_MS + 15 * 60_000 + 3_000,
        BASE_MS + 39 * 60_000 + 59_000,
        BASE_MS + 45 * 60_000,
    ];
    let mut gen = ExprGen::new(seed);
    let mut failures = Vec::new();
    let mut accepted = Vec::new();
    let (mut answered, mut refused, mut values) = (0, 0, 0);
    for i in 0..count {
        let mut twin = gen.clone();
        twin.nudge = true;
        let (expr, ordered) = gen.expression();
        let (nudged, _) = twin.expression();
        let &(start, end, step) = &grids[i % grids.len()];
        let p = prom.query_range(&expr, start, end, step);
        let o = eval::range(&store, &expr, start, end, step);
        let both_refused = p.is_err() && o.is_err();
        match compare_generated_range(&prom, &store, &expr, p, o) {
            Ok((n, relaxed)) => {
                values += n;
                if both_refused {
                    refused += 1;
                } else {
                    answered += 1;
                }
                if let Some(why) = relaxed {
                    accepted.push((why, format!("#{i} range (step {step} ms): {expr}")));
                }
            }
            Err(_)
                if depends_on_last_bits(&expr, &nudged, |e| {
                    eval::range(&store, e, start, end, step)
                        .map(|m| Answer::Matrix(direct_series(m)))
                }) =>
            {
                accepted.push((
                    Accepted::LastBit,
                    format!("#{i} range (step {step} ms): {expr}"),
                ))
            }
            Err(e) => failures.push(format!(
                "#{i} range (step {step} ms): {expr}\n  {}",
                clip(&e)
            )),
        }
        let t = instants[i % instants.len()];
        let p = prometheus_instant(&prom, &expr, t);
        let o = eval::instant(&store, &expr, t);
        let both_refused = p.is_err() && o.is_err();
        match compare_generated_instant(p, o, ordered) {
            Ok((n, relaxed)) => {
                values += n;
                if both_refused {
                    refused += 1;
                } else {
                    answered += 1;
                }
                if let Some(why) = relaxed {
                    accepted.push((why, format!("#{i} instant at {t}: {expr}")));
                }
            }
            Err(_)
                if depends_on_last_bits(&expr, &nudged, |e| {
                    eval::instant(&store, e, t).map(direct_answer)
                }) =>
            {
                accepted.push((Accepted::LastBit, format!("#{i} instant at {t}: {expr}")))
            }
            Err(e) => failures.push(format!("#{i} instant at {t}: {expr}\n  {}", clip(&e))),
        }
    }
    println!(
        "{count} generated expressions (seed {seed}): {answered} answers alike, {refused} refused by both, {values} values, {} differ, in {:?}",
        failures.len(),
        started.elapsed()
    );
    accepted.sort();
    for (why, what) in &accepted {
        println!("accepted ({why:?}): {what}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs differ:\n{}",
        failures.len(),
        2 * count,
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(answered > count, "too few answers to compare: {answered}");
}

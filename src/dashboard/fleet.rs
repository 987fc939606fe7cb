//! "vLLM / Fleet": per-model and per-instance traffic, latency and errors
//! for fleets too large for the Overview's per-engine queries. Its queries
//! read the recording rules of `prometheus/recording.yml`
//! ([`crate::alerts::recording`]), so a panel sums a few pre-aggregated
//! series instead of every engine's raw samples.
//!
//! The same panels can be built on raw series ([`Source::Raw`]); the
//! recording benchmark measures the two against each other.

use super::build::{units, PanelSpec};
use super::layout::Layout;
use super::model::*;
use super::variables::{variables, DATASOURCE};
use crate::alerts::recording::{Level, Recorded};
use crate::catalog::names;
use crate::promql::{self, histogram_quantile, labels, sum, vars, Expr, Selector};

/// Where the rates come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Raw counters and buckets, `rate(...[$__rate_interval])`.
    Raw,
    /// The recorded 5m rates.
    Recorded,
}

/// The recorded window the panels read.
pub const WINDOW: &str = "5m";

const BY_MODEL: &[&str] = &["model_name"];
const BY_INSTANCE: &[&str] = &["instance"];

/// The selector of `name` filtered by the dashboard's variables at `level`.
fn scoped(name: &str, level: Level) -> Selector {
    let sel = Selector::bare(name)
        .re(labels::JOB, vars::JOB)
        .re(labels::MODEL_NAME, vars::MODEL_NAME);
    match level {
        Level::Model => sel,
        Level::Instance => sel.re(labels::INSTANCE, vars::INSTANCE),
    }
}

/// Builds the queries of one source.
#[derive(Clone, Copy)]
struct Rates {
    source: Source,
}

impl Rates {
    /// `sum by (by) (rate of base+suffix)` at `level`, with `filter`
    /// applied to the selector (e.g. a `finished_reason` matcher).
    fn sum(
        self,
        level: Level,
        base: &'static str,
        suffix: &'static str,
        by: &[&str],
        filter: impl Fn(Selector) -> Selector,
    ) -> Expr {
        match self.source {
            Source::Raw => promql::version_proof(base, |b| {
                sum(
                    by,
                    promql::rate(&filter(scoped(&format!("{b}{suffix}"), level))),
                )
            }),
            Source::Recorded => {
                let r = Recorded {
                    base,
                    suffix,
                    keep: &[],
                };
                sum(
                    by,
                    Expr::select(&filter(scoped(&r.record(level, WINDOW), level))),
                )
            }
        }
    }

    fn counter(self, level: Level, base: &'static str, by: &[&str]) -> Expr {
        self.sum(level, base, "", by, |s| s)
    }

    /// `histogram_quantile(q, ...)` of a histogram grouped by `by`.
    fn quantile(self, q: f64, level: Level, base: &'static str, by: &[&str]) -> Expr {
        match self.source {
            Source::Raw => {
                promql::version_proof(base, |b| histogram_quantile(q, &scoped(b, level), by))
            }
            Source::Recorded => {
                let mut with_le = vec!["le"];
                with_le.extend_from_slice(by);
                promql::quantile_of_buckets(q, self.sum(level, base, "_bucket", &with_le, |s| s))
            }
        }
    }

    /// Share of finished requests that ended in abort or error.
    fn failed_share(self, level: Level, by: &[&str]) -> Expr {
        let failed = self.sum(level, names::REQUEST_SUCCESS, "", by, |s| {
            s.re("finished_reason", "abort|error")
        });
        failed / self.counter(level, names::REQUEST_SUCCESS, by)
    }

    fn mean(self, level: Level, base: &'static str, by: &[&str]) -> Expr {
        self.sum(level, base, "_sum", by, |s| s) / self.sum(level, base, "_count", by, |s| s)
    }
}

/// A gauge summed by `by`, with the Overview's filters (gauges are cheap:
/// one sample per series and step).
fn gauge(name: &'static str, by: &[&str]) -> Expr {
    promql::version_proof(name, |m| sum(by, Expr::select(&Selector::standard(m))))
}

fn by_model(l: &mut Layout, r: Rates) {
    l.row("Fleet by model", false);
    l.add(
        PanelSpec::timeseries("Requests finished", 8)
            .about("Requests finished per second per model, over every instance and engine.")
            .query(
                r.counter(Level::Model, names::REQUEST_SUCCESS, BY_MODEL),
                "{{model_name}}",
            )
            .unit(units::REQUESTS_PER_SECOND),
    );
    l.add(
        PanelSpec::timeseries("Aborted or failed", 8)
            .about("Share of finished requests that ended with abort (the client gave up) or error (the engine failed), per model. Gaps read \"idle\".")
            .query(r.failed_share(Level::Model, BY_MODEL), "{{model_name}}")
            .unit(units::RATIO)
            .warn_at(0.01, 0.05)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::timeseries("Token throughput", 8)
            .about("Prompt (prefill) and generated tokens per second per model, summed over every instance and engine. Generation falling while requests wait means the fleet is saturated.")
            .query(
                r.counter(Level::Model, names::PROMPT_TOKENS, BY_MODEL),
                "{{model_name}} prompt",
            )
            .query(
                r.counter(Level::Model, names::GENERATION_TOKENS, BY_MODEL),
                "{{model_name}} generation",
            )
            .unit(units::TOKENS_PER_SECOND),
    );
    l.add(
        PanelSpec::timeseries("Time to first token", 8)
            .about("p50, p95 and p99 time to first token per model, over the whole fleet. Gaps read \"idle\".")
            .query(r.quantile(0.5, Level::Model, names::TIME_TO_FIRST_TOKEN, BY_MODEL), "{{model_name}} p50")
            .query(r.quantile(0.95, Level::Model, names::TIME_TO_FIRST_TOKEN, BY_MODEL), "{{model_name}} p95")
            .query(r.quantile(0.99, Level::Model, names::TIME_TO_FIRST_TOKEN, BY_MODEL), "{{model_name}} p99")
            .unit(units::SECONDS)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::timeseries("Inter-token latency", 8)
            .about("p95 and mean time between generated tokens per model. Gaps read \"idle\".")
            .query(
                r.quantile(0.95, Level::Model, names::INTER_TOKEN_LATENCY, BY_MODEL),
                "{{model_name}} p95",
            )
            .query(
                r.mean(Level::Model, names::INTER_TOKEN_LATENCY, BY_MODEL),
                "{{model_name}} mean",
            )
            .unit(units::SECONDS)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::timeseries("End-to-end latency", 8)
            .about("p95 and mean request latency per model, from arrival to the last token. Gaps read \"idle\".")
            .query(r.quantile(0.95, Level::Model, names::E2E_REQUEST_LATENCY, BY_MODEL), "{{model_name}} p95")
            .query(r.mean(Level::Model, names::E2E_REQUEST_LATENCY, BY_MODEL), "{{model_name}} mean")
            .unit(units::SECONDS)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::timeseries("Requests running and waiting", 8)
            .about("Requests in the engines' batches and in their queues, per model, summed over the fleet.")
            .query(gauge(names::NUM_REQUESTS_RUNNING, BY_MODEL), "{{model_name}} running")
            .query(gauge(names::NUM_REQUESTS_WAITING, BY_MODEL), "{{model_name}} waiting")
            .unit(units::COUNT),
    );
    l.add(
        PanelSpec::timeseries("Preemptions", 8)
            .about("Requests preempted per second per model: KV cache too small for the load.")
            .query(
                r.counter(Level::Model, names::NUM_PREEMPTIONS, BY_MODEL),
                "{{model_name}}",
            )
            .unit(units::OPS),
    );
    l.add(
        PanelSpec::timeseries("Prefix-cache hit ratio", 8)
            .about("Share of prompt tokens served from the prefix cache, per model. \"No data\" on the V0 engine (before vLLM 0.8), which has no prefix-cache counters.")
            .query(
                r.counter(Level::Model, names::PREFIX_CACHE_HITS, BY_MODEL)
                    / r.counter(Level::Model, names::PREFIX_CACHE_QUERIES, BY_MODEL),
                "{{model_name}}",
            )
            .unit(units::RATIO)
            .range(0.0, 1.0)
            .idle_is_nan()
            .conditional("the V1 engine"),
    );
}

fn by_instance(l: &mut Layout, r: Rates) {
    l.row("By instance", false);
    l.add(
        PanelSpec::timeseries("Generated tokens by instance", 8)
            .about("Generated tokens per second of each server. A server far below its peers gets less traffic or runs slower.")
            .query(r.counter(Level::Instance, names::GENERATION_TOKENS, BY_INSTANCE), "{{instance}}")
            .unit(units::TOKENS_PER_SECOND),
    );
    l.add(
        PanelSpec::timeseries("Time to first token p95 by instance", 8)
            .about("p95 time to first token of each server. One server far above the others is overloaded or slower (hardware, configuration, uneven routing). Gaps read \"idle\".")
            .query(
                r.quantile(
                    0.95,
                    Level::Instance,
                    names::TIME_TO_FIRST_TOKEN,
                    BY_INSTANCE,
                ),
                "{{instance}}",
            )
            .unit(units::SECONDS)
            .idle_is_nan(),
    );
    l.add(
        PanelSpec::timeseries("Aborted or failed by instance", 8)
            .about("Share of finished requests that ended with abort or error, per server. Gaps read \"idle\".")
            .query(r.failed_share(Level::Instance, BY_INSTANCE), "{{instance}}")
            .unit(units::RATIO)
            .warn_at(0.01, 0.05)
            .idle_is_nan(),
    );
}

/// The Fleet dashboard on `source` (the generated file uses
/// [`Source::Recorded`]).
pub fn dashboard(source: Source, datasource_type: &str, uid: &str, title: &str) -> Dashboard {
    let mut layout = Layout::new(DataSourceRef {
        kind: datasource_type.to_string(),
        uid: format!("${{{DATASOURCE}}}"),
    });
    let rates = Rates { source };
    by_model(&mut layout, rates);
    by_instance(&mut layout, rates);
    let keep = [
        DATASOURCE,
        labels::JOB,
        labels::INSTANCE,
        labels::MODEL_NAME,
        // The gauges use the standard selector, which reads `$engine`.
        labels::ENGINE,
        super::variables::FILTERS,
    ];
    let description = match source {
        Source::Recorded => format!(
            "Per-model and per-instance traffic, latency and errors of a vLLM fleet, read from the recording rules (prometheus/recording.yml, {WINDOW} rates; on Kubernetes the vllm-recording PrometheusRule). Without those rules every rate panel reads \"No data\"."
        ),
        Source::Raw => "Per-model and per-instance traffic, latency and errors of a vLLM fleet, computed from raw series.".to_string(),
    };
    Dashboard {
        uid: uid.to_string(),
        title: title.to_string(),
        description,
        tags: vec!["vllm".to_string(), "llm".to_string()],
        editable: true,
        graph_tooltip: 1,
        timezone: "browser".to_string(),
        time: TimeRange {
            from: "now-6h".to_string(),
            to: "now".to_string(),
        },
        refresh: "1m".to_string(),
        schema_version: SCHEMA_VERSION,
        version: 1,
        annotations: super::kit::annotations(),
        links: Vec::new(),
        templating: Templating {
            list: variables(datasource_type)
                .into_iter()
                .filter(|v| keep.contains(&v.name.as_str()))
                .collect(),
        },
        panels: layout.finish(),
    }
}

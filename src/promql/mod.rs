//! PromQL building blocks shared by the dashboards and the alert rules.
//!
//! Every query is built from [`catalog::names`](crate::catalog::names)
//! constants through these helpers, so a selector is written once:
//! [`Selector::standard`] scopes a metric by the dashboard variables, the
//! functions in this module wrap it in `rate`, aggregations and quantiles,
//! and [`version_proof`] bridges metrics vLLM renamed, pairing names found
//! by [`counterpart`] in the catalog.

mod expr;
pub mod gpu;
pub mod inspect;
mod rename;
mod scoping;
mod selector;

pub use expr::{
    aggregate, count, fallback, histogram_mean, histogram_quantile, increase, label_replace, max,
    over_time, over_time_of, quantile_of_buckets, rate, scalar, share_at_most, sum, sum_rate, time,
    topk, vector, version_proof, version_proof_all, Cmp, Expr, Many,
};
pub use rename::{counterpart, is_successor};
pub use scoping::Scoping;
pub use selector::{MatchOp, Matcher, Selector};

use crate::catalog::names;

/// Labels the standard selector matches on.
pub mod labels {
    pub const JOB: &str = "job";
    pub const INSTANCE: &str = "instance";
    pub const MODEL_NAME: &str = "model_name";
    pub const ENGINE: &str = "engine";
}

/// Grafana variable references used in queries.
pub mod vars {
    pub const JOB: &str = "$job";
    pub const INSTANCE: &str = "$instance";
    pub const MODEL_NAME: &str = "$model_name";
    pub const ENGINE: &str = "$engine";
    /// Grafana's rate window: at least four scrape intervals, so `rate`
    /// always sees two samples.
    pub const RATE_INTERVAL: &str = "$__rate_interval";
}

/// Dashboard variables that hold a number (typed by the user) rather than
/// a label regex; queries use them as `$name` operands.
pub mod number_vars {
    /// The price of one GPU-hour.
    pub const GPU_HOUR_COST: &str = "gpu_hour_cost";
    /// GPUs per vLLM server where no DCGM exporter counts them.
    pub const GPUS_PER_INSTANCE: &str = "gpus_per_instance";
    pub const ALL: &[&str] = &[GPU_HOUR_COST, GPUS_PER_INSTANCE];
}

/// Series Prometheus itself adds for every scrape target; always present,
/// so not part of the vLLM catalog.
pub const SCRAPE_SERIES: &[&str] = &[
    names::UP,
    names::SCRAPE_DURATION_SECONDS,
    names::SCRAPE_SAMPLES_SCRAPED,
];

//! The metric catalog: every metric a vLLM server has exposed from 0.2 to today,
//! with its type, unit, labels, meaning and history.
//!
//! This is the single source of truth for metric names. The simulator, the
//! checker, the dashboards, the alert rules and the query editor all read names
//! from [`names`] and facts from [`METRICS`]; no other module types a metric name.
//! The GPU metrics of NVIDIA's DCGM exporter, served beside vLLM by their own
//! endpoint, live apart in [`dcgm`].

mod buckets;
pub mod dcgm;
mod json;
mod markdown;
pub mod names;
mod runtime;
pub mod sniff;
mod version;
mod vllm;

pub use buckets::{BucketBounds, Buckets};
pub use json::Fact;
pub use markdown::markdown;
pub use version::{
    v, Version, VersionParseError, ENGINE_LABEL_FROM, LATEST, RELEASES, V0_LAST, V1_DEFAULT_FROM,
    V1_METRICS_FROM,
};

use serde::Serialize;

/// Prometheus metric type as exposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

/// What a value measures; dashboards map it to a Grafana unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Seconds,
    Milliseconds,
    Tokens,
    Requests,
    /// A fraction 0..1 (vLLM's `*_perc` gauges are fractions too).
    Ratio,
    Bytes,
    /// A Unix timestamp in seconds.
    Timestamp,
    /// An info-style series whose labels carry the data and whose value is 1.
    Info,
    Count,
    Flops,
}

impl Unit {
    /// The Grafana unit id for panels showing this quantity.
    pub fn grafana(self) -> &'static str {
        match self {
            Unit::Seconds => "s",
            Unit::Milliseconds => "ms",
            Unit::Tokens | Unit::Requests | Unit::Count | Unit::Info => "short",
            Unit::Ratio => "percentunit",
            Unit::Bytes => "bytes",
            Unit::Timestamp => "dateTimeAsIso",
            Unit::Flops => "flops",
        }
    }
}

/// Which vLLM engine generation serves a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Engine {
    /// The original engine (`vllm/engine/metrics.py`), default until 0.7.x.
    V0,
    /// The V1 engine (`vllm/v1/metrics/loggers.py`), default from 0.8.0.
    V1,
}

impl Engine {
    /// The engine a release runs by default.
    pub fn default_for(version: Version) -> Engine {
        if version >= V1_DEFAULT_FROM {
            Engine::V1
        } else {
            Engine::V0
        }
    }
}

/// The life of a metric in one engine generation. Versions are the first
/// release where the event is visible in the published wheel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Span {
    pub added: Version,
    /// HELP text starts saying `DEPRECATED`.
    pub deprecated: Option<Version>,
    /// Only exposed with `--show-hidden-metrics-for-version`.
    pub hidden: Option<Version>,
    /// First release without it.
    pub removed: Option<Version>,
}

impl Span {
    pub const fn since(added: Version) -> Span {
        Span {
            added,
            deprecated: None,
            hidden: None,
            removed: None,
        }
    }

    pub const fn until(added: Version, removed: Version) -> Span {
        Span {
            added,
            deprecated: None,
            hidden: None,
            removed: Some(removed),
        }
    }

    pub const fn retired(
        added: Version,
        deprecated: Version,
        hidden: Version,
        removed: Version,
    ) -> Span {
        Span {
            added,
            deprecated: Some(deprecated),
            hidden: Some(hidden),
            removed: Some(removed),
        }
    }

    /// Does the release expose the metric (hidden counts as not exposed
    /// unless `show_hidden` is set)?
    pub fn exposed_at(&self, version: Version, show_hidden: bool) -> bool {
        if version < self.added || self.removed.is_some_and(|r| version >= r) {
            return false;
        }
        show_hidden || self.hidden.is_none_or(|h| version < h)
    }

    pub fn deprecated_at(&self, version: Version) -> bool {
        self.deprecated.is_some_and(|d| version >= d)
    }
}

/// Something that must be configured for a metric to appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// `--speculative-config`.
    SpecDecode,
    /// `--enable-lora`.
    Lora,
    /// A single API server (`--api-server-count 1`, the default): prometheus_client's
    /// default collectors and `_created` series exist only then.
    SingleApiServer,
    /// `process_*` read `/proc`: Linux only.
    Linux,
    /// A KV connector other than the offloading one (NIXL, Mooncake, HF3FS,
    /// HiSparse, UMBP, the simple CPU offload connector, ...).
    KvConnector,
    /// The offloading connector (`OffloadingConnector`, `--kv-offloading-backend native`).
    KvOffload,
    /// The offloading connector with secondary tiers (its tiering spec).
    KvOffloadTiering,
    /// The instance consumes KV from another (`kv_transfer_config.is_kv_consumer`).
    KvConsumer,
    /// `--kv-cache-metrics`.
    KvCacheMetrics,
    /// `watermark_config`.
    Watermark,
    /// Env `VLLM_COMPUTE_NANS_IN_LOGITS`.
    NanCheck,
    /// A diffusion language model.
    Diffusion,
    /// The realtime speech-to-text task.
    Realtime,
    /// The sleep-mode API has been used.
    SleepMode,
    /// The RL weight-update API has been used.
    RlWeightUpdate,
    /// `--tool-call-parser`.
    ToolCallParser,
    /// The series is created lazily on the first request of its label set.
    Traffic,
}

/// A label beyond the common ones, with the values vLLM uses and the release
/// that introduced each value (`None` when values are free-form).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LabelDef {
    pub name: &'static str,
    pub values: &'static [(&'static str, Version)],
}

/// Which common labels a metric carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// `model_name`, plus `engine` on V1 from 0.8.3.
    Engine,
    /// `model_name` only.
    Model,
    /// Only the labels listed in `extra_labels`.
    Own,
    /// `engine` plus one label per cache-config key (`vllm:cache_config_info`).
    CacheConfig,
}

/// Everything known about one exposed metric family. Its JSON form (see
/// `json.rs`) adds the facts each release's source defines.
#[derive(Clone, Copy, Debug)]
pub struct MetricDef {
    /// The name as used in PromQL: counters end in `_total`, histograms are the
    /// base of `_bucket`/`_sum`/`_count`.
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Unit,
    pub scope: Scope,
    pub extra_labels: &'static [LabelDef],
    /// HELP text of the newest release that has the metric.
    pub help: &'static str,
    /// Older V1 HELP texts: `(first release using the newer text, text before it)`.
    pub older_help: &'static [(Version, &'static str)],
    /// The V0 engine's HELP text when it differs from the V1 one.
    pub v0_help: Option<&'static str>,
    /// What it means for an operator.
    pub meaning: &'static str,
    pub v0: Option<Span>,
    pub v1: Option<Span>,
    pub successor: Option<&'static str>,
    pub requires: &'static [Condition],
    pub buckets: Option<Buckets>,
}

/// Base for the tables: every field empty.
pub(crate) const BLANK: MetricDef = MetricDef {
    name: "",
    kind: Kind::Gauge,
    unit: Unit::Count,
    scope: Scope::Engine,
    extra_labels: &[],
    help: "",
    older_help: &[],
    v0_help: None,
    meaning: "",
    v0: None,
    v1: None,
    successor: None,
    requires: &[],
    buckets: None,
};

impl MetricDef {
    pub fn span(&self, engine: Engine) -> Option<&Span> {
        match engine {
            Engine::V0 => self.v0.as_ref(),
            Engine::V1 => self.v1.as_ref(),
        }
    }

    /// Does `version` running `engine` expose this metric?
    pub fn exposed_at(&self, version: Version, engine: Engine, show_hidden: bool) -> bool {
        self.span(engine)
            .is_some_and(|s| s.exposed_at(version, show_hidden))
    }

    /// Exposed at some release of either engine but not at `version`/`engine`,
    /// because it was removed or hidden by then.
    pub fn retired_by(&self, version: Version, engine: Engine) -> bool {
        self.span(engine).is_some_and(|s| {
            version >= s.added && !s.exposed_at(version, false)
                || s.removed.is_some_and(|r| version >= r)
        })
    }

    pub fn deprecated_at(&self, version: Version, engine: Engine) -> bool {
        self.span(engine).is_some_and(|s| s.deprecated_at(version))
    }

    /// The HELP text `version` running `engine` prints.
    pub fn help_at(&self, version: Version, engine: Engine) -> &'static str {
        if let (Engine::V0, Some(text)) = (engine, self.v0_help) {
            return text;
        }
        self.older_help
            .iter()
            .find(|(until, _)| version < *until)
            .map_or(self.help, |(_, text)| text)
    }

    /// Sample names in the exposition (`_bucket`, `_sum`, `_count` for
    /// histograms and summaries).
    pub fn sample_names(&self) -> Vec<String> {
        match self.kind {
            Kind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", self.name))
                .collect(),
            Kind::Summary => ["_sum", "_count"]
                .iter()
                .map(|s| format!("{}{s}", self.name))
                .collect(),
            _ => vec![self.name.to_string()],
        }
    }

    /// Does prometheus_client print a `<base>_created` gauge family beside it?
    pub fn has_created_series(&self) -> bool {
        // Custom collectors (python_*, process_*) have none; library metrics do.
        matches!(self.kind, Kind::Counter | Kind::Histogram | Kind::Summary)
            && (self.name.starts_with("vllm:") || self.name.starts_with("http_"))
    }

    /// The `_created` family name (`vllm:prompt_tokens_total` → `vllm:prompt_tokens_created`).
    pub fn created_name(&self) -> String {
        let base = match self.kind {
            Kind::Counter => self.name.strip_suffix("_total").unwrap_or(self.name),
            _ => self.name,
        };
        format!("{base}_created")
    }

    /// Common labels at `version` on `engine`, in exposition order.
    pub fn common_labels(&self, version: Version, engine: Engine) -> &'static [&'static str] {
        match self.scope {
            Scope::Engine if engine == Engine::V1 && version >= ENGINE_LABEL_FROM => {
                &["engine", "model_name"]
            }
            Scope::Engine | Scope::Model => &["model_name"],
            Scope::Own => &[],
            Scope::CacheConfig if engine == Engine::V1 && version >= ENGINE_LABEL_FROM => {
                &["engine"]
            }
            Scope::CacheConfig => &[],
        }
    }

    /// The values of `label` valid at `version`.
    pub fn label_values_at(&self, label: &str, version: Version) -> Vec<&'static str> {
        self.extra_labels
            .iter()
            .filter(|l| l.name == label)
            .flat_map(|l| l.values.iter())
            .filter(|(_, since)| version >= *since)
            .map(|(value, _)| *value)
            .collect()
    }
}

/// The whole catalog, in the order a vLLM server prints it: the Python runtime
/// collectors, the engine metrics, then the HTTP layer.
pub static METRICS: std::sync::LazyLock<Vec<MetricDef>> = std::sync::LazyLock::new(|| {
    runtime::PROCESS
        .iter()
        .chain(vllm::METRICS.iter())
        .chain(runtime::HTTP.iter())
        .copied()
        .collect()
});

/// Look a metric up by its PromQL name or by any of its sample names.
pub fn lookup(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| {
        m.name == name
            || matches!(m.kind, Kind::Histogram | Kind::Summary)
                && name
                    .strip_prefix(m.name)
                    .is_some_and(|s| matches!(s, "_bucket" | "_sum" | "_count"))
    })
}

/// Name prefixes of connector families that are recognised as vLLM's without
/// listing each of their many members.
pub const CONNECTOR_PREFIXES: &[&str] = names::CONNECTOR_PREFIXES;

/// The features of a deployment that decide which conditional metrics appear.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Features {
    pub spec_decode: bool,
    pub lora: bool,
    /// More than one API server: no `python_*`, `process_*`, `_created`.
    pub multi_api_server: bool,
    /// `process_*` are exposed (Linux).
    pub linux: bool,
    /// Lazily created label sets have been hit by traffic.
    pub traffic: bool,
    /// The offloading connector, with a CPU primary tier and one secondary tier.
    pub kv_offload: bool,
}

impl Features {
    /// Is `condition` satisfied by this deployment?
    pub fn satisfies(&self, condition: Condition) -> bool {
        match condition {
            Condition::SpecDecode => self.spec_decode,
            Condition::Lora => self.lora,
            Condition::SingleApiServer => !self.multi_api_server,
            Condition::Linux => self.linux,
            Condition::Traffic => self.traffic,
            Condition::KvOffload | Condition::KvOffloadTiering => self.kv_offload,
            _ => false,
        }
    }
}

/// The metrics `version` running `engine` exposes with `features`.
pub fn metrics_at(
    version: Version,
    engine: Engine,
    features: Features,
) -> impl Iterator<Item = &'static MetricDef> {
    METRICS.iter().filter(move |m| {
        m.exposed_at(version, engine, false) && m.requires.iter().all(|c| features.satisfies(*c))
    })
}

#[cfg(test)]
mod tests;

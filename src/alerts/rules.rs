//! The alert rules themselves, independent of the file format they end up in.

use crate::catalog::dcgm::labels as dcgm;
use crate::catalog::names;
use crate::promql::{
    self, histogram_quantile, max, sum, sum_rate, version_proof, Cmp, Expr, Scoping, Selector,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the runbooks are, relative to the repository root, unless a
/// deployment publishes them elsewhere.
pub const DEFAULT_RUNBOOK_BASE: &str = "docs/runbooks.md";

/// Settings shared by every rule.
#[derive(Clone, Debug)]
pub struct AlertConfig {
    /// Regex for the `job` label of the vLLM scrape job(s).
    pub job_regex: String,
    /// Window of `rate()` in the rules.
    pub rate_window: String,
    /// Prefix of each rule's `runbook_url`; the rule's anchor is appended.
    pub runbook_base: String,
    /// Extra matchers and the instance label of the deployment.
    pub scoping: Scoping,
    /// Per-alert changes to threshold, `for` and severity, by alert name.
    pub overrides: BTreeMap<String, AlertOverride>,
    /// Service-level objectives, when configured.
    pub slo: Option<super::slo::SloConfig>,
    /// GPU-hour price and GPUs per server for the GPUs & cost dashboard.
    pub cost: crate::dashboard::CostConfig,
}

/// What a deployment changes in one alert.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertOverride {
    pub threshold: Option<f64>,
    #[serde(rename = "for")]
    pub for_: Option<String>,
    pub severity: Option<Severity>,
}

impl AlertOverride {
    /// Whether the rule's promtool cases still hold (they are written for
    /// the default threshold and `for`).
    pub fn keeps_cases(&self) -> bool {
        self.threshold.is_none() && self.for_.is_none()
    }
}

impl AlertConfig {
    /// What the SLI expressions select and keep under this configuration.
    pub fn slo_scope(&self) -> super::slo::Scope {
        let extra: Vec<&str> = self
            .scoping
            .extra
            .iter()
            .map(|m| m.label.as_str())
            .collect();
        super::slo::Scope::new(&self.job_regex, &extra)
    }
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            job_regex: "vllm".to_string(),
            rate_window: "5m".to_string(),
            runbook_base: DEFAULT_RUNBOOK_BASE.to_string(),
            scoping: Scoping::default(),
            overrides: BTreeMap::new(),
            slo: None,
            cost: crate::dashboard::CostConfig::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Critical,
}

/// How the value is shown in the description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueFormat {
    Percent,
    Seconds,
    PerSecond,
    Count,
}

/// One alert, before it is written as a Prometheus or a Grafana rule.
#[derive(Clone, Debug)]
pub struct AlertRule {
    pub name: &'static str,
    /// The series to watch (with Grafana's `$__rate_interval`); the alert
    /// fires where `query cmp threshold`.
    pub query: Expr,
    /// What Grafana-managed copies query instead, where `query` reads
    /// recording rules that only Prometheus evaluates.
    pub grafana_query: Option<Expr>,
    pub cmp: Cmp,
    pub threshold: f64,
    pub for_: String,
    pub severity: Severity,
    pub summary: &'static str,
    /// Text with `{value}`, `{instance}` and `{model}` placeholders.
    pub description: &'static str,
    pub value_format: ValueFormat,
    /// Labels the query keeps (the alert's identity).
    pub by: &'static [&'static str],
}

impl AlertRule {
    /// The watched series with the configured rate window.
    pub fn query(&self, cfg: &AlertConfig) -> String {
        concrete(cfg, &self.query)
    }

    /// The query of the Grafana-managed copy.
    pub fn grafana_query(&self, cfg: &AlertConfig) -> String {
        concrete(cfg, self.grafana_query.as_ref().unwrap_or(&self.query))
    }

    /// `query cmp threshold`, as Prometheus evaluates it.
    pub fn expr(&self, cfg: &AlertConfig) -> String {
        let full = self.query.clone().cmp(self.cmp, Expr::num(self.threshold));
        concrete(cfg, &full)
    }

    /// The description as a Go template; `value` is the template expression
    /// holding the alert's value (`$value` in Prometheus, `$values.A.Value`
    /// in Grafana).
    pub fn description_template(&self, cfg: &AlertConfig, value: &str) -> String {
        let shown = match self.value_format {
            ValueFormat::Percent => format!("{{{{ humanizePercentage {value} }}}}"),
            ValueFormat::Seconds => format!("{{{{ printf \"%.2f\" {value} }}}}s"),
            ValueFormat::PerSecond => format!("{{{{ printf \"%.2f\" {value} }}}}/s"),
            ValueFormat::Count => format!("{{{{ humanize {value} }}}}"),
        };
        let instance = cfg.scoping.text("{{ $labels.instance }}");
        self.description_with(&shown, &instance, "{{ $labels.model_name }}")
            .replace("{gpu}", "{{ $labels.gpu }}")
    }

    /// The description with placeholders replaced by the given texts
    /// (`{gpu}`, in GPU alerts, is left for the caller).
    pub fn description_with(&self, value: &str, instance: &str, model: &str) -> String {
        self.description
            .replace("{value}", value)
            .replace("{instance}", instance)
            .replace("{model}", model)
    }

    pub fn runbook_url(&self, cfg: &AlertConfig) -> String {
        format!("{}#{}", cfg.runbook_base, self.name.to_lowercase())
    }
}

const BY_MODEL: &[&str] = &["job", "instance", "model_name"];
/// One GPU as the DCGM exporter names it: its scrape target (or, with pod
/// mapping and a pod instance label, the pod using it), index and node.
const BY_GPU: &[&str] = &["job", "instance", dcgm::GPU, dcgm::HOSTNAME];
const BY_ENGINE: &[&str] = &["job", "instance", "model_name", "engine"];

/// A selector scoped to the vLLM job(s) only: alerts watch every instance,
/// model and engine.
fn sel(cfg: &AlertConfig, name: &str) -> Selector {
    Selector::bare(name).re("job", &cfg.job_regex)
}

/// The builders write Grafana's `$__rate_interval`; rules use a fixed
/// window. The deployment's scoping is applied last.
fn concrete(cfg: &AlertConfig, e: &Expr) -> String {
    let text = promql::inspect::interpolate(e.as_str(), |var| {
        (var == "__rate_interval").then(|| cfg.rate_window.clone())
    });
    cfg.scoping.expr(&text)
}

/// The names of every rule, for validating a configuration.
pub fn rule_names() -> Vec<&'static str> {
    rules(&AlertConfig::default())
        .iter()
        .map(|r| r.name)
        .collect()
}

/// Every rule, with the deployment's overrides applied.
pub fn rules(cfg: &AlertConfig) -> Vec<AlertRule> {
    let mut all = default_rules(cfg);
    // The configuration is validated when it is read.
    if let Some(slo) = &cfg.slo {
        all.extend(super::slo::alert_rules(slo, &cfg.slo_scope()).unwrap_or_default());
    }
    for rule in &mut all {
        if let Some(o) = cfg.overrides.get(rule.name) {
            rule.threshold = o.threshold.unwrap_or(rule.threshold);
            rule.for_ = o.for_.clone().unwrap_or(rule.for_.clone());
            rule.severity = o.severity.unwrap_or(rule.severity);
        }
    }
    all
}

fn default_rules(cfg: &AlertConfig) -> Vec<AlertRule> {
    let waiting = sum(
        BY_MODEL,
        Expr::select(&sel(cfg, names::NUM_REQUESTS_WAITING)),
    );
    let kv_usage = max(
        BY_ENGINE,
        version_proof(names::KV_CACHE_USAGE_PERC, |m| Expr::select(&sel(cfg, m))),
    );
    let ttft_p95 = histogram_quantile(0.95, &sel(cfg, names::TIME_TO_FIRST_TOKEN), BY_MODEL);
    let failed = sum_rate(
        &sel(cfg, names::REQUEST_SUCCESS).re("finished_reason", "abort|error"),
        BY_MODEL,
    );
    let finished = sum_rate(&sel(cfg, names::REQUEST_SUCCESS), BY_MODEL);
    let preemptions = sum_rate(&sel(cfg, names::NUM_PREEMPTIONS), BY_MODEL);
    let busy = sum(
        BY_ENGINE,
        Expr::select(&sel(cfg, names::NUM_REQUESTS_RUNNING))
            + Expr::select(&sel(cfg, names::NUM_REQUESTS_WAITING)),
    );
    let generating = sum_rate(&sel(cfg, names::GENERATION_TOKENS), BY_ENGINE);
    // DCGM exporter series: its own job, so not scoped by the vLLM job.
    let gpu = |name: &str| Expr::select(&Selector::bare(name));
    let fb_used = max(
        BY_GPU,
        gpu(names::DCGM_FB_USED) / (gpu(names::DCGM_FB_USED) + gpu(names::DCGM_FB_FREE)),
    );
    let gpu_temp = max(BY_GPU, gpu(names::DCGM_GPU_TEMP));
    vec![
        AlertRule {
            name: "VllmHighRequestQueue",
            query: waiting,
            grafana_query: None,
            cmp: Cmp::Gt,
            threshold: 10.0,
            for_: "5m".into(),
            severity: Severity::Warning,
            summary: "vLLM request queue is building up",
            description: "{value} requests are waiting on {instance} for model {model}: demand exceeds capacity. Add replicas, lower max_tokens, or shed load.",
            value_format: ValueFormat::Count,
            by: BY_MODEL,
        },
        AlertRule {
            name: "VllmKvCacheNearlyFull",
            query: kv_usage,
            grafana_query: None,
            cmp: Cmp::Gt,
            threshold: 0.9,
            for_: "5m".into(),
            severity: Severity::Warning,
            summary: "vLLM KV cache is nearly full",
            description: "KV-cache usage is {value} on {instance} (model {model}); new requests queue and running ones get preempted. Raise gpu_memory_utilization, reduce max_num_seqs or context length, or add capacity.",
            value_format: ValueFormat::Percent,
            by: BY_ENGINE,
        },
        AlertRule {
            name: "VllmTimeToFirstTokenHigh",
            query: ttft_p95,
            grafana_query: None,
            cmp: Cmp::Gt,
            threshold: 2.0,
            for_: "10m".into(),
            severity: Severity::Warning,
            summary: "vLLM time to first token p95 is high",
            description: "p95 time to first token is {value} on {instance} for model {model}. Check the queue and prompt lengths; enable chunked prefill or add capacity.",
            value_format: ValueFormat::Seconds,
            by: BY_MODEL,
        },
        AlertRule {
            name: "VllmRequestFailureRatioHigh",
            query: failed / finished,
            grafana_query: None,
            cmp: Cmp::Gt,
            threshold: 0.05,
            for_: "10m".into(),
            severity: Severity::Critical,
            summary: "Many vLLM requests abort or fail",
            description: "{value} of finished requests on {instance} (model {model}) ended with abort or error. Aborts mean clients gave up (timeouts, slow TTFT); errors mean the engine failed: read the server log.",
            value_format: ValueFormat::Percent,
            by: BY_MODEL,
        },
        AlertRule {
            name: "VllmPreemptionStorm",
            query: preemptions,
            grafana_query: None,
            cmp: Cmp::Gt,
            threshold: 0.5,
            for_: "10m".into(),
            severity: Severity::Warning,
            summary: "vLLM is preempting requests continuously",
            description: "{value} preemptions per second on {instance} (model {model}): the KV cache is too small for the load, and preempted requests are recomputed.",
            value_format: ValueFormat::PerSecond,
            by: BY_MODEL,
        },
        AlertRule {
            name: "VllmTargetDown",
            query: Expr::select(&sel(cfg, names::UP)),
            grafana_query: None,
            cmp: Cmp::Lt,
            threshold: 1.0,
            for_: "2m".into(),
            severity: Severity::Critical,
            summary: "vLLM metrics endpoint is unreachable",
            description: "Scraping {instance} fails: the vLLM server is down, restarting, or unreachable. Run `vllm-grafana check` against it.",
            value_format: ValueFormat::Count,
            by: &["job", "instance"],
        },
        AlertRule {
            name: "VllmEngineStalled",
            query: busy.and(generating.cmp(Cmp::Eq, Expr::num(0.0))),
            grafana_query: None,
            cmp: Cmp::Gt,
            threshold: 0.0,
            for_: "5m".into(),
            severity: Severity::Critical,
            summary: "vLLM engine has requests but generates no tokens",
            description: "{value} requests are running or waiting on {instance} (model {model}) but no token was generated for the whole window: the engine is stuck. Restart it and read its log.",
            value_format: ValueFormat::Count,
            by: BY_ENGINE,
        },
        // vLLM claims --gpu-memory-utilization (0.9) of every GPU at start,
        // so ~90% used is its normal state; only the last few percent mean
        // the next allocation fails.
        AlertRule {
            name: "VllmGpuMemoryNearlyFull",
            query: fb_used,
            grafana_query: None,
            cmp: Cmp::Gt,
            threshold: 0.98,
            for_: "10m".into(),
            severity: Severity::Warning,
            summary: "GPU memory is nearly exhausted",
            description: "GPU {gpu} of {instance} has {value} of its usable memory in use, beyond what vLLM reserves (--gpu-memory-utilization, 0.9 by default): the next allocation fails with CUDA out of memory. Look for other processes on the GPU or lower --gpu-memory-utilization.",
            value_format: ValueFormat::Percent,
            by: BY_GPU,
        },
        AlertRule {
            name: "VllmGpuTemperatureHigh",
            query: gpu_temp,
            grafana_query: None,
            cmp: Cmp::Gt,
            threshold: 85.0,
            for_: "10m".into(),
            severity: Severity::Warning,
            summary: "GPU is hot enough to throttle",
            description: "GPU {gpu} of {instance} is at {value} °C, near the slowdown temperature of datacenter GPUs: the driver lowers its clocks and tokens come slower. Check the node's cooling, fans and airflow.",
            value_format: ValueFormat::Count,
            by: BY_GPU,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_parses_and_uses_the_fixed_window() {
        for r in rules(&AlertConfig::default()) {
            let expr = r.expr(&AlertConfig::default());
            assert!(!expr.contains('$'), "{}: {expr}", r.name);
            promql_parser::parser::parse(&expr)
                .unwrap_or_else(|e| panic!("{}: {e}: {expr}", r.name));
        }
    }

    #[test]
    fn renamed_kv_cache_metric_is_covered_by_both_names() {
        let rules = rules(&AlertConfig::default());
        let kv = rules
            .iter()
            .find(|r| r.name == "VllmKvCacheNearlyFull")
            .expect("rule");
        let q = kv.query(&AlertConfig::default());
        assert!(q.contains(names::KV_CACHE_USAGE_PERC));
        assert!(q.contains(names::GPU_CACHE_USAGE_PERC));
    }
}

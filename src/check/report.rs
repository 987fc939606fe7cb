//! What `check` says about one target, built from its parsed scrape.

use super::gpu::{self, DcgmReport};
use crate::catalog::sniff::Sniffed;
use crate::catalog::{lookup, metrics_at, names, Condition, Features};
use crate::exposition::{Exposition, Family};
use crate::scrape::ScrapeFailure;
use serde::Serialize;
use std::collections::BTreeMap;

/// One family's numbers, for `--json`.
#[derive(Debug, Serialize)]
pub struct FamilySummary {
    #[serde(rename = "type")]
    pub metric_type: &'static str,
    pub samples: usize,
    /// Sum of all sample values (`_bucket` samples excluded, NaN skipped).
    pub sum: f64,
}

/// The headline numbers an operator looks at first.
#[derive(Debug, Default, Serialize)]
pub struct KeyValues {
    pub requests_running: Option<f64>,
    pub requests_waiting: Option<f64>,
    /// Highest KV-cache usage over engines, as a fraction 0..1.
    pub kv_cache_usage: Option<f64>,
    pub prompt_tokens_total: Option<f64>,
    pub generation_tokens_total: Option<f64>,
    pub preemptions_total: Option<f64>,
    pub requests_by_finished_reason: BTreeMap<String, f64>,
}

/// What answered at a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoint {
    /// A vLLM server (`vllm:` families).
    Vllm,
    /// NVIDIA's DCGM exporter (`DCGM_FI_` families).
    Dcgm,
    /// Neither, or nothing readable.
    Unknown,
}

/// A metric name in use that a newer release renamed or dropped.
#[derive(Debug, Serialize)]
pub struct Retiring {
    pub name: &'static str,
    pub note: String,
    pub successor: Option<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct BadLineReport {
    pub line: usize,
    pub reason: String,
    pub excerpt: String,
}

#[derive(Debug, Serialize)]
pub struct TargetReport {
    pub target: String,
    pub reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ScrapeFailure>,
    pub fetch_ms: f64,
    pub bytes: usize,
    pub sniffed: Option<Sniffed>,
    pub key_values: KeyValues,
    pub deprecated_or_removed: Vec<Retiring>,
    pub missing: Vec<&'static str>,
    pub bad_line_count: usize,
    pub bad_lines: Vec<BadLineReport>,
    pub families: BTreeMap<String, FamilySummary>,
    /// What the target is: `vllm`, `dcgm` (NVIDIA's DCGM exporter) or `unknown`.
    pub endpoint: Endpoint,
    /// The GPUs, when the target is a DCGM exporter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dcgm: Option<DcgmReport>,
    /// Reachable, parsed cleanly, and looks like vLLM (or a DCGM exporter
    /// reporting GPUs).
    pub healthy: bool,
    pub problems: Vec<String>,
}

/// At most this many bad lines are listed (all are counted).
const BAD_LINES_SHOWN: usize = 10;

impl TargetReport {
    /// A source that could not be read or is not Prometheus text; `reachable`
    /// says whether a server answered at all.
    pub fn failed(target: String, error: ScrapeFailure, fetch_ms: f64) -> TargetReport {
        TargetReport {
            problems: vec![error.to_string()],
            target,
            reachable: error.server_answered(),
            error: Some(error),
            fetch_ms,
            bytes: 0,
            sniffed: None,
            key_values: KeyValues::default(),
            deprecated_or_removed: Vec::new(),
            missing: Vec::new(),
            bad_line_count: 0,
            bad_lines: Vec::new(),
            families: BTreeMap::new(),
            endpoint: Endpoint::Unknown,
            dcgm: None,
            healthy: false,
        }
    }

    pub fn from_scrape(
        target: String,
        exp: &Exposition<'_>,
        sniffed: Sniffed,
        bytes: usize,
        fetch_ms: f64,
    ) -> TargetReport {
        let mut problems = Vec::new();
        let dcgm = gpu::is_dcgm(exp).then(|| gpu::dcgm_report(exp));
        let endpoint = if sniffed.is_vllm {
            Endpoint::Vllm
        } else if dcgm.is_some() {
            Endpoint::Dcgm
        } else {
            Endpoint::Unknown
        };
        if dcgm.as_ref().is_some_and(|d| d.gpu_count == 0) {
            problems.push(
                "DCGM exporter reports no GPUs: no GPU visible to it, or DCGM is not running"
                    .to_string(),
            );
        }
        if !sniffed.is_vllm && dcgm.is_none() {
            if exp.families.is_empty() {
                problems.push("no metrics at all: not Prometheus text".to_string());
            } else {
                problems.push(
                    "no vllm: metrics: not a vLLM server, or stats logging is off (--disable-log-stats)"
                        .to_string(),
                );
            }
        }
        if !exp.bad_lines.is_empty() {
            problems.push(format!(
                "{} malformed line(s), first at line {}",
                exp.bad_lines.len(),
                exp.bad_lines[0].line
            ));
        }
        let families = exp
            .families
            .iter()
            .map(|f| (f.name.to_string(), summarize(f)))
            .collect();
        let deprecated_or_removed = retiring(&sniffed);
        let missing = missing(&sniffed);
        let healthy = problems.is_empty();
        TargetReport {
            target,
            reachable: true,
            error: None,
            fetch_ms,
            bytes,
            key_values: key_values(exp),
            deprecated_or_removed,
            missing,
            bad_line_count: exp.bad_lines.len(),
            bad_lines: exp
                .bad_lines
                .iter()
                .take(BAD_LINES_SHOWN)
                .map(|b| BadLineReport {
                    line: b.line,
                    reason: b.reason.clone(),
                    excerpt: b.excerpt.clone(),
                })
                .collect(),
            families,
            endpoint,
            dcgm,
            sniffed: Some(sniffed),
            healthy,
            problems,
        }
    }
}

fn summarize(f: &Family<'_>) -> FamilySummary {
    FamilySummary {
        metric_type: f.metric_type.as_str(),
        samples: f.samples.len(),
        sum: f
            .samples
            .iter()
            .filter(|s| !s.name.ends_with("_bucket") && !s.value.is_nan())
            .map(|s| s.value)
            .sum(),
    }
}

/// Sum of a family's plain samples (counter or gauge), if present.
fn total(exp: &Exposition<'_>, name: &str) -> Option<f64> {
    let f = exp.family(name)?;
    Some(
        f.samples
            .iter()
            .map(|s| s.value)
            .filter(|v| !v.is_nan())
            .sum(),
    )
}

fn max(exp: &Exposition<'_>, name: &str) -> Option<f64> {
    exp.family(name)?
        .samples
        .iter()
        .map(|s| s.value)
        .filter(|v| !v.is_nan())
        .reduce(f64::max)
}

fn key_values(exp: &Exposition<'_>) -> KeyValues {
    let mut by_reason = BTreeMap::new();
    if let Some(f) = exp.family(names::REQUEST_SUCCESS) {
        for s in &f.samples {
            if let Some(r) = s.label("finished_reason") {
                *by_reason.entry(r.to_string()).or_insert(0.0) += s.value;
            }
        }
    }
    KeyValues {
        requests_running: total(exp, names::NUM_REQUESTS_RUNNING),
        requests_waiting: total(exp, names::NUM_REQUESTS_WAITING),
        kv_cache_usage: max(exp, names::KV_CACHE_USAGE_PERC)
            .or_else(|| max(exp, names::GPU_CACHE_USAGE_PERC)),
        prompt_tokens_total: total(exp, names::PROMPT_TOKENS),
        generation_tokens_total: total(exp, names::GENERATION_TOKENS),
        preemptions_total: total(exp, names::NUM_PREEMPTIONS),
        requests_by_finished_reason: by_reason,
    }
}

/// Names in use that are deprecated at the sniffed release or gone from the latest.
fn retiring(sniffed: &Sniffed) -> Vec<Retiring> {
    let latest = crate::catalog::LATEST;
    let mut out = Vec::new();
    for name in &sniffed.present {
        let Some(def) = lookup(name) else { continue };
        let span = def.v1.or(def.v0);
        let Some(span) = span else { continue };
        let note = match (span.deprecated, span.removed) {
            (_, Some(r)) if r <= latest => format!("removed in {r}"),
            (Some(d), _) => format!("deprecated since {d}"),
            _ => continue,
        };
        out.push(Retiring {
            name: def.name,
            note,
            successor: def.successor,
        });
    }
    out
}

/// Families the sniffed release always serves but the scrape lacks.
fn missing(sniffed: &Sniffed) -> Vec<&'static str> {
    let Some((version, engine)) = sniffed.assumed() else {
        return Vec::new();
    };
    if !sniffed.complete {
        return Vec::new(); // a cut scrape lacks families for no fault of the server
    }
    let features = Features {
        spec_decode: sniffed.features.spec_decode,
        lora: sniffed.features.lora,
        multi_api_server: sniffed.features.multi_api_server,
        linux: false,
        traffic: false,
        kv_offload: false,
    };
    metrics_at(version, engine, features)
        .filter(|m| !m.requires.contains(&Condition::Linux))
        .filter(|m| !sniffed.present.contains(&m.name))
        .map(|m| m.name)
        .collect()
}
